//! Filled in by its own change.
pub struct FaultPlan;
pub struct FaultyVfs;
