//! Per-routine usage counters: the data behind `rustydb_stat_wasm` and
//! `EXPLAIN ANALYZE`'s per-routine line.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;

/// Cumulative usage of one routine since the host started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutineStats {
    /// Calls made, successful or not.
    pub calls: u64,
    /// Calls that ended in an SQL error the routine returned.
    pub errors: u64,
    /// Calls the sandbox stopped: traps and limits.
    pub traps: u64,
    /// Fuel consumed, summed over calls.
    pub fuel: u64,
    /// Wall-clock time, summed over calls (instantiation included).
    pub time: Duration,
    /// The largest linear memory one call reached, in bytes.
    pub peak_memory: u64,
}

/// What one call used, as recorded into [`RoutineStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallUsage {
    /// Fuel consumed.
    pub fuel: u64,
    /// Wall-clock time.
    pub time: Duration,
    /// The largest linear memory reached, in bytes.
    pub peak_memory: u64,
}

/// How a call ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Ok,
    Error,
    Trap,
}

/// By module, then routine: a row trigger records once per row, and
/// nested maps find an existing entry by `&str` without building a key.
#[derive(Default)]
pub(crate) struct Stats {
    routines: Mutex<HashMap<String, HashMap<String, RoutineStats>>>,
}

impl Stats {
    pub(crate) fn record(&self, module: &str, routine: &str, usage: CallUsage, ending: Ending) {
        let mut map = self.routines.lock();
        if !map.contains_key(module) {
            map.insert(module.to_owned(), HashMap::new());
        }
        let Some(routines) = map.get_mut(module) else {
            return;
        };
        if !routines.contains_key(routine) {
            routines.insert(routine.to_owned(), RoutineStats::default());
        }
        let Some(s) = routines.get_mut(routine) else {
            return;
        };
        s.calls += 1;
        s.errors += u64::from(ending == Ending::Error);
        s.traps += u64::from(ending == Ending::Trap);
        s.fuel = s.fuel.saturating_add(usage.fuel);
        s.time = s.time.saturating_add(usage.time);
        s.peak_memory = s.peak_memory.max(usage.peak_memory);
    }

    pub(crate) fn get(&self, module: &str, routine: &str) -> Option<RoutineStats> {
        self.routines.lock().get(module)?.get(routine).cloned()
    }

    pub(crate) fn all(&self) -> Vec<(String, String, RoutineStats)> {
        let mut all: Vec<_> = self
            .routines
            .lock()
            .iter()
            .flat_map(|(m, routines)| {
                routines
                    .iter()
                    .map(move |(r, s)| (m.clone(), r.clone(), s.clone()))
            })
            .collect();
        all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_accumulate() {
        let stats = Stats::default();
        let usage = |fuel, mem| CallUsage {
            fuel,
            time: Duration::from_millis(1),
            peak_memory: mem,
        };
        stats.record("bank", "transfer", usage(10, 100), Ending::Ok);
        stats.record("bank", "transfer", usage(5, 300), Ending::Error);
        stats.record("bank", "transfer", usage(1, 200), Ending::Trap);
        let s = stats.get("bank", "transfer");
        assert_eq!(
            s,
            Some(RoutineStats {
                calls: 3,
                errors: 1,
                traps: 1,
                fuel: 16,
                time: Duration::from_millis(3),
                peak_memory: 300,
            })
        );
        assert_eq!(stats.all().len(), 1);
    }
}
