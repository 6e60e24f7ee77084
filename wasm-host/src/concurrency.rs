//! Resource groups' `max_concurrent_calls` (DESIGN §5): how many calls
//! may run under one group at once.
//!
//! A call holds a place in each capped group that applies to it
//! ([`ConcurrencyLimit`], from the engine) for as long as its instance is
//! in use — one call's, or a statement's trigger instance for the whole
//! statement. The places are taken before the instance is handed over and
//! go when its store is dropped, so a trap, a limit hit or a cancel frees
//! them like a return does. A call that finds a group full waits, at most
//! its own time limit and while its statement is not cancelled, then fails
//! with 53300 — the SQLSTATE of the host running out of instance slots,
//! which is the same condition seen from the whole host.
//!
//! Places belong to a *statement*, not to each nested call: guest SQL runs
//! under its caller's cancel flag (the engine hands the same flag down), so
//! a procedure whose SQL calls a function of the same group does not wait
//! for itself. A second statement of any session competes like any other.
//! A group's counter stays in the table after the group is dropped (a
//! name and an empty map; the catalog has no hook to say it went).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rustydb_engine::extension::ConcurrencyLimit;

use crate::limits::LimitHit;

/// How often a waiting call looks at its cancel flag.
const CANCEL_CHECK: Duration = Duration::from_millis(5);

/// The places in use per group, across the host.
#[derive(Default)]
pub(crate) struct Gates {
    by_group: Mutex<HashMap<String, Arc<Gate>>>,
}

#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    freed: Condvar,
}

#[derive(Default)]
struct GateState {
    /// Statements holding a place, by their cancel flag's address, with
    /// how many of their instances share it.
    holders: HashMap<usize, u32>,
}

/// One statement's share of one group's place; dropping it gives the
/// place back once the statement's last instance in the group goes.
pub(crate) struct Place {
    gate: Arc<Gate>,
    /// The statement's cancel flag, kept so its address names no other
    /// statement while the place is held.
    statement: Arc<AtomicBool>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let holder = Arc::as_ptr(&self.statement) as usize;
        let mut state = self.gate.state.lock();
        if let Some(n) = state.holders.get_mut(&holder) {
            *n -= 1;
            if *n == 0 {
                state.holders.remove(&holder);
                drop(state);
                self.gate.freed.notify_one();
            }
        }
    }
}

impl Gates {
    /// Takes a place in every group of `limits` for the statement whose
    /// cancel flag is `cancel`, waiting up to `wait` for full groups.
    /// Groups are entered in name order, so two calls entering the same
    /// groups cannot each hold one and wait for the other. Nested calls
    /// under another role (a SECURITY DEFINER routine's owner) enter their
    /// groups later and can still wait on each other; the wait is bounded
    /// by each call's time limit, and then one fails with 53300.
    ///
    /// # Errors
    /// [`LimitHit::Concurrency`] when a group stayed full for `wait`;
    /// [`LimitHit::Cancelled`] when the statement was cancelled meanwhile.
    /// Places already taken are given back either way.
    pub(crate) fn enter(
        &self,
        limits: &[ConcurrencyLimit],
        cancel: &Arc<AtomicBool>,
        wait: Duration,
    ) -> Result<Vec<Place>, LimitHit> {
        if limits.is_empty() {
            return Ok(Vec::new());
        }
        let mut sorted: Vec<&ConcurrencyLimit> = limits.iter().collect();
        sorted.sort_by(|a, b| a.group.cmp(&b.group));
        let holder = Arc::as_ptr(cancel) as usize;
        let until = Instant::now() + wait;
        let mut places = Vec::with_capacity(sorted.len());
        for limit in sorted {
            let gate = Arc::clone(self.by_group.lock().entry(limit.group.clone()).or_default());
            gate.enter(limit, holder, cancel, until)?;
            places.push(Place {
                gate,
                statement: Arc::clone(cancel),
            });
        }
        Ok(places)
    }
}

impl Gate {
    fn enter(
        &self,
        limit: &ConcurrencyLimit,
        holder: usize,
        cancel: &AtomicBool,
        until: Instant,
    ) -> Result<(), LimitHit> {
        let mut state = self.state.lock();
        loop {
            if let Some(n) = state.holders.get_mut(&holder) {
                *n += 1;
                return Ok(());
            }
            // The group's cap may have been lowered while more held a place.
            if state.holders.len() < limit.max as usize {
                state.holders.insert(holder, 1);
                return Ok(());
            }
            if cancel.load(Ordering::Relaxed) {
                return Err(LimitHit::Cancelled);
            }
            let now = Instant::now();
            if now >= until {
                return Err(LimitHit::Concurrency {
                    group: limit.group.clone(),
                    max: limit.max,
                });
            }
            self.freed
                .wait_for(&mut state, (until - now).min(CANCEL_CHECK));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;

    fn cap(group: &str, max: u32) -> Vec<ConcurrencyLimit> {
        vec![ConcurrencyLimit {
            group: group.into(),
            max,
        }]
    }

    fn statement() -> Arc<AtomicBool> {
        Arc::new(AtomicBool::new(false))
    }

    #[test]
    fn a_full_group_makes_the_next_statement_wait_then_fail() {
        let gates = Gates::default();
        let first = gates
            .enter(&cap("small", 1), &statement(), Duration::ZERO)
            .unwrap();
        let started = Instant::now();
        let second = gates.enter(&cap("small", 1), &statement(), Duration::from_millis(30));
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(
            second.err(),
            Some(LimitHit::Concurrency {
                group: "small".into(),
                max: 1
            })
        );
        // Another group is not affected.
        assert!(
            gates
                .enter(&cap("other", 1), &statement(), Duration::ZERO)
                .is_ok()
        );
        drop(first);
        assert!(
            gates
                .enter(&cap("small", 1), &statement(), Duration::ZERO)
                .is_ok()
        );
    }

    #[test]
    fn a_waiting_call_gets_the_place_a_finished_one_frees() {
        let gates = Arc::new(Gates::default());
        let held = gates
            .enter(&cap("g", 1), &statement(), Duration::ZERO)
            .unwrap();
        let waiter = {
            let gates = Arc::clone(&gates);
            thread::spawn(move || {
                gates
                    .enter(&cap("g", 1), &statement(), Duration::from_secs(10))
                    .map(|places| places.len())
            })
        };
        thread::sleep(Duration::from_millis(20));
        drop(held);
        assert_eq!(waiter.join().unwrap(), Ok(1));
    }

    #[test]
    fn nested_calls_of_one_statement_share_its_place() {
        let gates = Gates::default();
        let caller = statement();
        let outer = gates.enter(&cap("g", 1), &caller, Duration::ZERO).unwrap();
        let inner = gates.enter(&cap("g", 1), &caller, Duration::ZERO).unwrap();
        drop(outer);
        // The inner call still holds the statement's place.
        assert!(
            gates
                .enter(&cap("g", 1), &statement(), Duration::ZERO)
                .is_err()
        );
        drop(inner);
        assert!(
            gates
                .enter(&cap("g", 1), &statement(), Duration::ZERO)
                .is_ok()
        );
    }

    #[test]
    fn a_cancel_ends_the_wait() {
        let gates = Arc::new(Gates::default());
        let _held = gates
            .enter(&cap("g", 1), &statement(), Duration::ZERO)
            .unwrap();
        let cancel = statement();
        let waiter = {
            let gates = Arc::clone(&gates);
            let cancel = Arc::clone(&cancel);
            thread::spawn(move || {
                gates
                    .enter(&cap("g", 1), &cancel, Duration::from_secs(10))
                    .err()
            })
        };
        thread::sleep(Duration::from_millis(20));
        cancel.store(true, Ordering::Relaxed);
        assert_eq!(waiter.join().unwrap(), Some(LimitHit::Cancelled));
    }

    #[test]
    fn a_failed_entry_gives_back_the_places_it_took() {
        let gates = Gates::default();
        let _b = gates
            .enter(&cap("b", 1), &statement(), Duration::ZERO)
            .unwrap();
        let both = [
            ConcurrencyLimit {
                group: "a".into(),
                max: 1,
            },
            ConcurrencyLimit {
                group: "b".into(),
                max: 1,
            },
        ];
        assert!(gates.enter(&both, &statement(), Duration::ZERO).is_err());
        // "a" was entered first and given back.
        assert!(
            gates
                .enter(&cap("a", 1), &statement(), Duration::ZERO)
                .is_ok()
        );
    }
}
