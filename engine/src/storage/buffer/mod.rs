//! Filled in by its own change.
/// Eviction policy choice.
#[derive(Debug, Clone, Copy)]
pub enum EvictionKind {
    Clock,
    TwoQ,
}
/// Counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolStats;
