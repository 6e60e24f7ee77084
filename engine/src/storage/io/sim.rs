//! Filled in by its own change.
pub struct SimVfs;
