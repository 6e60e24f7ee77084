//! How failures become SQL errors.
//!
//! | failure                                   | SQLSTATE | name                          |
//! |-------------------------------------------|----------|-------------------------------|
//! | the guest returned `sql-error`            | its own  | (e.g. P0001 raise_exception)  |
//! | the guest returned a malformed SQLSTATE   | 38000    | external_routine_exception    |
//! | a trap (unreachable, bad cast, panic)     | 38000    | external_routine_exception    |
//! | fuel exhausted                            | 54000    | program_limit_exceeded        |
//! | table elements over the cap               | 54000    | program_limit_exceeded        |
//! | stack overflow                            | 54001    | statement_too_complex         |
//! | linear memory over the cap                | 53200    | out_of_memory                 |
//! | instances, memories or tables per call    | 54000    | program_limit_exceeded        |
//! | no free instance slot in the pool         | 53300    | too_many_connections          |
//! | deadline passed, or cancel requested      | 57014    | query_canceled                |
//! | no such module or routine                 | 42883    | undefined_function            |
//! | routine answered in the wrong shape       | 39000    | external_routine_invocation   |
//! | invalid module at deploy                  | 42P17    | invalid_object_definition     |
//! | module name taken (without OR REPLACE)    | 42710    | duplicate_object              |
//! | artifact cache unreadable or unwritable   | 58030    | io_error                      |
//!
//! An invalid module is 42P17 rather than 22023: the bytes were a valid
//! `bytea` parameter, it is the object they define that is wrong, as for a
//! function body PostgreSQL cannot accept.

use std::path::PathBuf;

use rustydb_engine::extension::{ErrorCode, ExtensionError};
use wasmtime::{PoolConcurrencyLimitError, Trap};

use crate::limits::{CallBudget, LimitHit};

/// Why a module could not be deployed (or dropped).
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The bytes are not a valid component for this host.
    #[error("invalid module \"{module}\": {reason}")]
    Invalid {
        /// The module name.
        module: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The component imports something outside the contract.
    #[error("module \"{module}\" imports \"{import}\", which RustyDB does not provide")]
    ForbiddenImport {
        /// The module name.
        module: String,
        /// The offending import.
        import: String,
    },
    /// A module of that name exists and replacing was not asked for.
    #[error("module \"{0}\" already exists")]
    Exists(String),
    /// No module of that name.
    #[error("module \"{0}\" does not exist")]
    NotFound(String),
    /// The module's `describe` failed.
    #[error("module \"{module}\" failed to describe itself: {source}")]
    Describe {
        /// The module name.
        module: String,
        /// The failure of the describe call.
        source: ExtensionError,
    },
    /// Reading or writing the artifact cache failed.
    #[error("artifact cache {path}: {source}")]
    Cache {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// wasmtime refused the host's own configuration (a host bug or an
    /// impossible limit).
    #[error("cannot configure the Wasm engine: {0}")]
    Engine(String),
}

impl DeployError {
    /// The SQLSTATE a client receives.
    pub fn code(&self) -> ErrorCode {
        match self {
            DeployError::Invalid { .. } | DeployError::ForbiddenImport { .. } => {
                ErrorCode::INVALID_OBJECT_DEFINITION
            }
            DeployError::Exists(_) => {
                ErrorCode::parse("42710").unwrap_or(ErrorCode::INTERNAL_ERROR)
            }
            DeployError::NotFound(_) => ErrorCode::UNDEFINED_FUNCTION,
            DeployError::Describe { source, .. } => source.code,
            DeployError::Cache { .. } => ErrorCode::IO_ERROR,
            DeployError::Engine(_) => ErrorCode::INTERNAL_ERROR,
        }
    }
}

impl From<DeployError> for ExtensionError {
    fn from(e: DeployError) -> ExtensionError {
        ExtensionError::new(e.code(), e.to_string())
    }
}

/// The SQL error for a call that wasmtime stopped (a trap, a limit, or a
/// failure to instantiate).
pub(crate) fn call_failure(err: &wasmtime::Error, budget: &CallBudget) -> ExtensionError {
    if let Some(hit) = err.downcast_ref::<LimitHit>() {
        let code = match hit {
            LimitHit::Memory { .. } => ErrorCode::OUT_OF_MEMORY,
            LimitHit::Table { .. } => ErrorCode::PROGRAM_LIMIT_EXCEEDED,
            LimitHit::Deadline { .. } | LimitHit::Cancelled => ErrorCode::QUERY_CANCELED,
            LimitHit::Concurrency { .. } => ErrorCode::TOO_MANY_CONNECTIONS,
        };
        return ExtensionError::new(code, hit.to_string());
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => ExtensionError::new(
                ErrorCode::PROGRAM_LIMIT_EXCEEDED,
                format!("fuel limit of {} per call exhausted", budget.fuel),
            ),
            Trap::StackOverflow => ExtensionError::new(
                ErrorCode::STATEMENT_TOO_COMPLEX,
                "stack depth limit exceeded in routine",
            ),
            Trap::Interrupt => ExtensionError::new(
                ErrorCode::QUERY_CANCELED,
                format!("time limit of {:?} per call exceeded", budget.time),
            ),
            other => ExtensionError::new(
                ErrorCode::EXTERNAL_ROUTINE_EXCEPTION,
                format!("routine trapped: {other}"),
            )
            .with_detail(format!("{err:?}")),
        };
    }
    let text = format!("{err:#}");
    if err.is::<PoolConcurrencyLimitError>() {
        return ExtensionError::new(
            ErrorCode::TOO_MANY_CONNECTIONS,
            "no free Wasm instance slot: too many concurrent routine calls",
        )
        .with_detail(text);
    }
    // wasmtime reports the limiter's instance, memory and table counts as
    // "resource limit exceeded: … count too high" without a typed error.
    if text.contains("count too high") {
        return ExtensionError::new(
            ErrorCode::PROGRAM_LIMIT_EXCEEDED,
            "routine creates more instances, memories or tables than allowed per call",
        )
        .with_detail(text);
    }
    ExtensionError::new(
        ErrorCode::EXTERNAL_ROUTINE_EXCEPTION,
        format!("routine failed: {err}"),
    )
    .with_detail(text)
}
