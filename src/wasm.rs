//! Wiring the Wasm host and the triggers into the engine.
//!
//! The engine owns the [`RoutineInvoker`] and [`DmlHooks`] traits and knows
//! nothing of wasmtime or triggers; the Wasm host and `rustydb-triggers`
//! implement them. This is the one place that puts them together, for
//! `serve`, `shell` and embedders alike: the trigger machinery, and a
//! [`WasmInvoker`] over a module registry whose compiled artifacts are
//! cached in `<data dir>/wasm-cache` (keyed by SHA-256, so a restart loads
//! instead of recompiling), injected into the [`Database`].
//!
//! ```no_run
//! use rustydb::engine::sql::DatabaseOptions;
//!
//! let db = rustydb::wasm::open_database("./data".as_ref(), DatabaseOptions::default())?;
//! let mut session = db.session();
//! session.execute("CALL bank.transfer(1, 2, 10)")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;
use std::sync::Arc;

use rustydb_engine::extension::{DmlHooks, RoutineInvoker};
use rustydb_engine::sql::{Database, DatabaseOptions};
pub use rustydb_wasm_host::Limits;
use rustydb_wasm_host::{DeployError, ModuleRegistry, WasmInvoker};

/// The directory under the data directory holding compiled artifacts.
pub const CACHE_DIR: &str = "wasm-cache";

/// Why a database with its Wasm host could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The storage engine failed to open the data directory.
    #[error(transparent)]
    Engine(#[from] rustydb_engine::Error),
    /// The Wasm host could not start (impossible limits, unusable cache
    /// directory).
    #[error(transparent)]
    Wasm(#[from] DeployError),
}

impl OpenError {
    /// The SQLSTATE a client would receive.
    pub fn code(&self) -> String {
        match self {
            OpenError::Engine(e) => e.sqlstate().code().to_owned(),
            OpenError::Wasm(e) => e.code().as_str().to_owned(),
        }
    }
}

/// The Wasm host for the database in `data_dir`.
///
/// # Errors
/// [`DeployError`] when the limits are impossible or the cache directory
/// cannot be created.
pub fn wasm_host(data_dir: &Path, limits: Limits) -> Result<Arc<WasmInvoker>, DeployError> {
    let registry = ModuleRegistry::open(limits, data_dir.join(CACHE_DIR))?;
    Ok(Arc::new(WasmInvoker::new(Arc::new(registry))))
}

/// Opens the database in `dir` with a Wasm host under the default
/// [`Limits`].
///
/// # Errors
/// See [`OpenError`].
pub fn open_database(dir: &Path, options: DatabaseOptions) -> Result<Database, OpenError> {
    open_database_with_limits(dir, options, Limits::default())
}

/// Opens the database in `dir` with a Wasm host under `limits`.
///
/// # Errors
/// See [`OpenError`].
pub fn open_database_with_limits(
    dir: &Path,
    options: DatabaseOptions,
    limits: Limits,
) -> Result<Database, OpenError> {
    let db = Database::open(dir, options)?;
    let invoker: Arc<dyn RoutineInvoker> = wasm_host(dir, limits)?;
    Ok(db.with_invoker(invoker).with_dml_hooks(triggers()))
}

/// The trigger machinery (`rustydb-triggers`) as the engine's hooks.
pub fn triggers() -> Arc<dyn DmlHooks> {
    Arc::new(rustydb_triggers::Triggers::default())
}
