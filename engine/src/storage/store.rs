//! Filled in by its own change.
pub struct Direction; pub struct ScanIter; pub struct Store; pub struct StoreOptions; pub struct StoreStats;
