//! Every limit a guest runs under, in one place.
//!
//! Two kinds of limit exist, and they are set in different places. The
//! *engine-wide* ones shape the wasmtime `Engine` and its pooling allocator
//! and cannot change without a restart: the hard ceiling on one instance's
//! linear memory and table size, how many instances may live at once, the
//! native stack a guest may use. The *per-call* ones are applied to each
//! call's `Store`: fuel, the wall-clock deadline, the memory cap actually
//! enforced (at most the ceiling), and how much stdout/stderr/log output is
//! kept. A resource group can lower a per-call limit for its tenant or role
//! ([`CallLimits`]) but never raise it above the host's.
//!
//! Each limit has its own failure, because a user needs to know which knob
//! to turn: fuel → 54000, deadline or cancel → 57014, memory → 53200, stack
//! → 54001, instance slots or a resource group's `max_concurrent_calls`
//! → 53300 (the table is in `error.rs`; the places: `concurrency.rs`).

use std::time::Duration;

use rustydb_engine::extension::CallLimits;
use wasmtime::ResourceLimiter;

/// The limits of the host. [`Limits::default`] suits a shared server;
/// tests lower them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Fuel per call: roughly one unit per Wasm instruction. Host work
    /// (queries a guest runs) costs no fuel; the deadline bounds it.
    pub fuel_per_call: u64,
    /// Wall-clock time per call, enforced by epoch interruption.
    pub time_per_call: Duration,
    /// Linear memory per instance enforced on each call, in bytes.
    pub memory_per_instance: u64,
    /// Ceiling for `memory_per_instance` and any resource group: the size of
    /// a memory slot in the pooling allocator. Engine-wide.
    pub max_memory_per_instance: u64,
    /// Elements per table (function tables of the guest). Engine-wide.
    pub table_elements: u32,
    /// Core instances, memories and tables one call may create: a component
    /// is several core modules, a Rust guest about five. Engine-wide.
    pub instances_per_call: u32,
    /// Instances alive at once across the host (concurrent calls). Engine-wide.
    pub concurrent_instances: u32,
    /// Native stack for guest frames, in bytes. Engine-wide.
    pub max_stack: usize,
    /// Bytes of stdout, stderr and log messages kept per call; the rest is
    /// dropped and one notice says so.
    pub output_per_call: usize,
    /// How often the epoch ticker advances, the resolution of deadlines and
    /// cancellation. Engine-wide.
    pub epoch_tick: Duration,
    /// Fresh instances each module keeps instantiated ahead of its calls
    /// (`pool.rs`); all modules together keep at most a quarter of
    /// `concurrent_instances`. 0 makes every call instantiate for itself.
    /// On by default: paced alike, calls from the pool have the lower p50
    /// and p99 (why: `pool.rs`; figures in the README). Engine-wide.
    pub warm_instances: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            fuel_per_call: 1_000_000_000,
            time_per_call: Duration::from_secs(10),
            memory_per_instance: 64 << 20,
            max_memory_per_instance: 256 << 20,
            table_elements: 20_000,
            instances_per_call: 16,
            concurrent_instances: 128,
            max_stack: 512 << 10,
            output_per_call: 64 << 10,
            epoch_tick: Duration::from_millis(1),
            warm_instances: 2,
        }
    }
}

/// The limits of one call: the host's, tightened by the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallBudget {
    pub fuel: u64,
    pub time: Duration,
    pub memory: u64,
    pub output: usize,
}

impl Limits {
    /// The tighter of the host's limits and the caller's.
    pub(crate) fn budget(&self, caller: &CallLimits) -> CallBudget {
        let memory = self.memory_per_instance.min(self.max_memory_per_instance);
        CallBudget {
            fuel: caller
                .fuel
                .map_or(self.fuel_per_call, |f| f.min(self.fuel_per_call)),
            time: caller
                .time
                .map_or(self.time_per_call, |t| t.min(self.time_per_call)),
            memory: caller.memory.map_or(memory, |m| m.min(memory)),
            output: self.output_per_call,
        }
    }
}

/// Which limit stopped a call. Raised from the limiter or the epoch callback
/// as a `wasmtime::Error` and recognised again when the call fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LimitHit {
    #[error("memory limit of {limit} bytes per instance exceeded (growing to {desired} bytes)")]
    Memory { limit: u64, desired: u64 },
    #[error("table limit of {limit} elements exceeded")]
    Table { limit: u32 },
    #[error("time limit of {limit:?} per call exceeded")]
    Deadline { limit: Duration },
    #[error("canceling statement due to user request")]
    Cancelled,
    #[error(
        "too many concurrent calls in resource group \"{group}\" (max_concurrent_calls = {max})"
    )]
    Concurrency { group: String, max: u32 },
}

/// The `ResourceLimiter` of one call's store. It refuses growth with an
/// error rather than `Ok(false)`: a guest allocator that sees `memory.grow`
/// fail aborts with an anonymous trap, while an error names the limit.
pub(crate) struct Limiter {
    memory: u64,
    table_elements: u32,
    instances: u32,
    peak_memory: u64,
}

impl Limiter {
    pub(crate) fn new(limits: &Limits, budget: &CallBudget) -> Limiter {
        Limiter {
            memory: budget.memory,
            table_elements: limits.table_elements,
            instances: limits.instances_per_call,
            peak_memory: 0,
        }
    }

    /// Lowers the memory cap to a caller's, once the instance exists: fails
    /// when it is already past the new cap, as growing to its size under
    /// that cap would have.
    pub(crate) fn tighten(&mut self, memory: u64) -> Result<(), LimitHit> {
        self.memory = self.memory.min(memory);
        if self.peak_memory > self.memory {
            return Err(LimitHit::Memory {
                limit: self.memory,
                desired: self.peak_memory,
            });
        }
        Ok(())
    }

    /// The largest linear memory any instance of the call reached.
    pub(crate) fn peak_memory(&self) -> u64 {
        self.peak_memory
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = u64::try_from(desired).unwrap_or(u64::MAX);
        if desired > self.memory {
            return Err(LimitHit::Memory {
                limit: self.memory,
                desired,
            }
            .into());
        }
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements as usize {
            return Err(LimitHit::Table {
                limit: self.table_elements,
            }
            .into());
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances as usize
    }

    fn tables(&self) -> usize {
        self.instances as usize
    }

    fn memories(&self) -> usize {
        self.instances as usize
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn limiter() -> Limiter {
        let limits = Limits {
            memory_per_instance: 1 << 20,
            table_elements: 100,
            instances_per_call: 3,
            ..Limits::default()
        };
        let budget = limits.budget(&CallLimits::default());
        Limiter::new(&limits, &budget)
    }

    #[test]
    fn memory_growth_past_the_cap_is_an_error_naming_the_limit() {
        let mut l = limiter();
        assert!(l.memory_growing(0, 1 << 20, None).unwrap());
        let err = l.memory_growing(1 << 20, 2 << 20, None).unwrap_err();
        assert!(matches!(
            err.downcast_ref::<LimitHit>(),
            Some(LimitHit::Memory {
                limit: 1_048_576,
                ..
            })
        ));
        assert_eq!(l.peak_memory(), 1 << 20);
    }

    #[test]
    fn tightening_below_the_current_size_is_the_memory_error() {
        let mut l = limiter();
        assert!(l.memory_growing(0, 512 << 10, None).unwrap());
        l.tighten(2 << 20).unwrap();
        assert_eq!(
            l.tighten(256 << 10),
            Err(LimitHit::Memory {
                limit: 256 << 10,
                desired: 512 << 10
            })
        );
        // A cap is only ever lowered.
        l.tighten(u64::MAX).unwrap_err();
    }

    #[test]
    fn table_growth_past_the_cap_is_an_error() {
        let mut l = limiter();
        assert!(l.table_growing(0, 100, None).unwrap());
        let err = l.table_growing(100, 101, None).unwrap_err();
        assert_eq!(
            err.downcast_ref::<LimitHit>(),
            Some(&LimitHit::Table { limit: 100 })
        );
    }

    #[test]
    fn instance_counts_are_capped() {
        let l = limiter();
        assert_eq!((l.instances(), l.tables(), l.memories()), (3, 3, 3));
    }

    #[test]
    fn callers_can_only_tighten() {
        let limits = Limits::default();
        let lower = CallLimits {
            fuel: Some(10),
            time: Some(Duration::from_millis(5)),
            memory: Some(1 << 20),
            ..CallLimits::default()
        };
        let b = limits.budget(&lower);
        assert_eq!(
            (b.fuel, b.time, b.memory),
            (10, Duration::from_millis(5), 1 << 20)
        );
        let higher = CallLimits {
            fuel: Some(u64::MAX),
            time: Some(Duration::from_secs(3600)),
            memory: Some(u64::MAX),
            ..CallLimits::default()
        };
        let b = limits.budget(&higher);
        assert_eq!(b.fuel, limits.fuel_per_call);
        assert_eq!(b.time, limits.time_per_call);
        assert_eq!(b.memory, limits.memory_per_instance);
    }
}
