//! Support for the routine tests: a fake routine host.
pub mod fake;
