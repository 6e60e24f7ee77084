//! The trigger machinery's errors, each with PostgreSQL's SQLSTATE.

use rustydb_engine::extension::{ErrorCode, ExtensionError};

/// Why trigger DDL or firing failed.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// 42P01
    #[error("relation \"{0}\" does not exist")]
    UndefinedTable(String),
    /// 42703
    #[error("column \"{column}\" of relation \"{table}\" does not exist")]
    UndefinedColumn {
        /// The column named.
        column: String,
        /// Its table.
        table: String,
    },
    /// 42710
    #[error("trigger \"{trigger}\" for relation \"{table}\" already exists")]
    DuplicateTrigger {
        /// The trigger.
        trigger: String,
        /// Its table.
        table: String,
    },
    /// 42704
    #[error("trigger \"{trigger}\" for table \"{table}\" does not exist")]
    UndefinedTrigger {
        /// The trigger.
        trigger: String,
        /// Its table.
        table: String,
    },
    /// 42883
    #[error("function {0}() does not exist")]
    UndefinedFunction(String),
    /// 42P17: the function is not a trigger function.
    #[error("function {0} must return type trigger")]
    NotATriggerFunction(String),
    /// 42P17: a definition PostgreSQL rejects.
    #[error("{0}")]
    InvalidDefinition(String),
    /// 42809: the kind of relation cannot have this trigger.
    #[error("\"{relation}\" is a {kind}")]
    WrongObjectType {
        /// The relation.
        relation: String,
        /// `table` or `view`.
        kind: &'static str,
        /// PostgreSQL's DETAIL.
        detail: &'static str,
    },
    /// 0A000
    #[error("{0}")]
    Unsupported(String),
    /// 54001: triggers fired triggers too deeply.
    #[error("stack depth limit exceeded")]
    DepthExceeded {
        /// The nesting limit.
        limit: u32,
    },
    /// XX001: a trigger record does not decode.
    #[error("corrupt trigger record: {0}")]
    Corrupt(&'static str),
    /// An error of the engine or of a trigger function, passed on as is.
    #[error(transparent)]
    Engine(#[from] ExtensionError),
}

fn code(s: &str) -> ErrorCode {
    ErrorCode::parse(s).unwrap_or(ErrorCode::INTERNAL_ERROR)
}

impl From<TriggerError> for ExtensionError {
    fn from(e: TriggerError) -> ExtensionError {
        let state = match &e {
            TriggerError::Engine(inner) => return inner.clone(),
            TriggerError::UndefinedTable(_) => "42P01",
            TriggerError::UndefinedColumn { .. } => "42703",
            TriggerError::DuplicateTrigger { .. } => "42710",
            TriggerError::UndefinedTrigger { .. } => "42704",
            TriggerError::UndefinedFunction(_) => "42883",
            TriggerError::NotATriggerFunction(_) | TriggerError::InvalidDefinition(_) => "42P17",
            TriggerError::WrongObjectType { .. } => "42809",
            TriggerError::Unsupported(_) => "0A000",
            TriggerError::DepthExceeded { .. } => "54001",
            TriggerError::Corrupt(_) => "XX001",
        };
        let detail = match &e {
            TriggerError::WrongObjectType { detail, .. } => Some((*detail).to_owned()),
            TriggerError::DepthExceeded { limit } => Some(format!(
                "triggers fired triggers more than {limit} levels deep"
            )),
            _ => None,
        };
        let mut out = ExtensionError::new(code(state), e.to_string());
        out.detail = detail;
        out
    }
}

impl From<rustydb_engine::catalog::CatalogError> for TriggerError {
    fn from(e: rustydb_engine::catalog::CatalogError) -> TriggerError {
        TriggerError::Engine(ExtensionError::new(e.sqlstate(), e.to_string()))
    }
}

impl From<rustydb_engine::Error> for TriggerError {
    fn from(e: rustydb_engine::Error) -> TriggerError {
        TriggerError::Engine(ExtensionError::from(e))
    }
}

/// A result whose error is [`TriggerError`].
pub type TriggerResult<T> = Result<T, TriggerError>;
