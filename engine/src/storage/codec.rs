//! Filled in by its own change.
/// Page and record cipher (placeholder in the skeleton commit only).
#[derive(Debug)]
pub struct Cipher;
