//! What the engine asks of a routine host about whole modules: prepare a
//! component for calls, forget it, and report usage.
//!
//! The catalog, not the host, is the source of truth for which modules
//! exist: a module's bytes are catalog data, created and dropped inside
//! transactions. The host only keeps *prepared* modules (validated,
//! compiled, ready to instantiate), each under a [`LoadedModule::handle`]
//! that names one exact version. So a rolled-back `CREATE MODULE` leaves
//! at worst a prepared module nobody calls, and a host that restarted (or
//! forgot a module) is given the bytes again from the catalog at the next
//! call.

use std::time::Duration;

use super::describe::RoutineDescription;

/// A module the host validated and prepared for calls.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedModule {
    /// What calls pass as [`RoutineRef::module`](super::RoutineRef): names
    /// this exact version (the same name and bytes give the same handle),
    /// so a replacement never changes what an earlier handle runs.
    pub handle: String,
    /// The SHA-256 of the component bytes, lower-case hex.
    pub sha256: String,
    /// The routines the module describes (may be empty).
    pub routines: Vec<RoutineDescription>,
}

/// Cumulative usage of one routine of one module version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutineUsage {
    /// The module's handle ([`LoadedModule::handle`]).
    pub handle: String,
    /// The module's name (the one it was loaded as).
    pub module: String,
    /// The export name.
    pub routine: String,
    /// Calls made, successful or not.
    pub calls: u64,
    /// Calls that ended in an error the routine returned.
    pub errors: u64,
    /// Calls the sandbox stopped (traps and limits).
    pub traps: u64,
    /// Fuel consumed.
    pub fuel: u64,
    /// Wall-clock time, instantiation included.
    pub time: Duration,
    /// The largest linear memory one call reached, in bytes.
    pub peak_memory: u64,
}
