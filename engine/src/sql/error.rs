//! The SQL layer's errors: each variant is one PostgreSQL error class, and
//! the message is PostgreSQL's wording, so clients and `.slt` files can
//! compare both the SQLSTATE and the text.

use crate::SqlState;
use crate::types::TypeError;

/// An error found while parsing, binding, planning or executing SQL.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// 42601: the text is not SQL we can parse.
    #[error("{0}")]
    Syntax(String),
    /// 42P01
    #[error("relation \"{0}\" does not exist")]
    UndefinedTable(String),
    /// 42703
    #[error("{0}")]
    UndefinedColumn(String),
    /// 42702
    #[error("column reference \"{0}\" is ambiguous")]
    AmbiguousColumn(String),
    /// 42883
    #[error("{0}")]
    UndefinedFunction(String),
    /// 42804
    #[error("{0}")]
    DatatypeMismatch(String),
    /// 42P07
    #[error("relation \"{0}\" already exists")]
    DuplicateTable(String),
    /// 42701
    #[error("{0}")]
    DuplicateColumn(String),
    /// 42803
    #[error("{0}")]
    Grouping(String),
    /// 42P10 and other semantic errors of class 42 with their own code.
    #[error("{message}")]
    Semantic {
        /// The SQLSTATE.
        state: SqlState,
        /// PostgreSQL's message.
        message: String,
    },
    /// 0A000: valid SQL this engine does not (yet) run.
    #[error("{0}")]
    FeatureNotSupported(String),
    /// 23505
    #[error("duplicate key value violates unique constraint \"{0}\"")]
    UniqueViolation(String),
    /// 23502
    #[error(
        "null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"
    )]
    NotNullViolation {
        /// The column.
        column: String,
        /// The table.
        table: String,
    },
    /// 23514
    #[error("new row for relation \"{table}\" violates check constraint \"{constraint}\"")]
    CheckViolation {
        /// The table.
        table: String,
        /// The constraint's name.
        constraint: String,
    },
    /// 23503
    #[error("{0}")]
    ForeignKeyViolation(String),
    /// 22012
    #[error("division by zero")]
    DivisionByZero,
    /// 21000
    #[error("more than one row returned by a subquery used as an expression")]
    CardinalityViolation,
    /// 22xxx data exceptions raised by functions, with their own code.
    #[error("{message}")]
    Data {
        /// The SQLSTATE.
        state: SqlState,
        /// PostgreSQL's message.
        message: String,
    },
    /// 25P02
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    InFailedTransaction,
    /// 25001 and friends: transaction-state misuse.
    #[error("{message}")]
    TransactionState {
        /// The SQLSTATE.
        state: SqlState,
        /// PostgreSQL's message.
        message: String,
    },
    /// 3B001
    #[error("savepoint \"{0}\" does not exist")]
    NoSuchSavepoint(String),
    /// 57014
    #[error("canceling statement due to user request")]
    Canceled,
    /// 57014, by `statement_timeout`.
    #[error("canceling statement due to statement timeout")]
    StatementTimeout,
    /// A value error from the type layer, with its own SQLSTATE.
    #[error(transparent)]
    Type(#[from] TypeError),
    /// An error of a lower layer (storage, transactions), keeping its
    /// SQLSTATE.
    #[error(transparent)]
    Lower(Box<crate::Error>),
    /// A catalog failure.
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    /// An error of a user routine or of the sandbox running it, with the
    /// SQLSTATE the routine chose (P0001, …) or the sandbox's (38000, 54000,
    /// 53200, 57014, …).
    #[error("{message}")]
    Routine {
        /// The SQLSTATE.
        state: SqlState,
        /// The message.
        message: String,
        /// PostgreSQL's DETAIL line, if any.
        detail: Option<String>,
    },
    /// A broken invariant of the engine itself (XX000), never user input.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A result whose error is [`SqlError`].
pub type SqlResult<T> = std::result::Result<T, SqlError>;

impl SqlError {
    /// The SQLSTATE a client receives.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            SqlError::Syntax(_) => SqlState::SYNTAX_ERROR,
            SqlError::UndefinedTable(_) => SqlState::UNDEFINED_TABLE,
            SqlError::UndefinedColumn(_) => SqlState::UNDEFINED_COLUMN,
            SqlError::AmbiguousColumn(_) => SqlState::AMBIGUOUS_COLUMN,
            SqlError::UndefinedFunction(_) => SqlState::UNDEFINED_FUNCTION,
            SqlError::DatatypeMismatch(_) => SqlState::DATATYPE_MISMATCH,
            SqlError::DuplicateTable(_) => SqlState::DUPLICATE_TABLE,
            SqlError::DuplicateColumn(_) => SqlState::DUPLICATE_COLUMN,
            SqlError::Grouping(_) => SqlState::GROUPING_ERROR,
            SqlError::Semantic { state, .. }
            | SqlError::Routine { state, .. }
            | SqlError::Data { state, .. }
            | SqlError::TransactionState { state, .. } => *state,
            SqlError::FeatureNotSupported(_) => SqlState::FEATURE_NOT_SUPPORTED,
            SqlError::UniqueViolation(_) => SqlState::UNIQUE_VIOLATION,
            SqlError::NotNullViolation { .. } => SqlState::NOT_NULL_VIOLATION,
            SqlError::CheckViolation { .. } => SqlState::CHECK_VIOLATION,
            SqlError::ForeignKeyViolation(_) => SqlState::FOREIGN_KEY_VIOLATION,
            SqlError::DivisionByZero => SqlState::DIVISION_BY_ZERO,
            SqlError::CardinalityViolation => SqlState::CARDINALITY_VIOLATION,
            SqlError::InFailedTransaction => SqlState::IN_FAILED_SQL_TRANSACTION,
            SqlError::NoSuchSavepoint(_) => SqlState::INVALID_SAVEPOINT_SPECIFICATION,
            SqlError::Canceled | SqlError::StatementTimeout => SqlState::QUERY_CANCELED,
            SqlError::Type(e) => e.sqlstate(),
            SqlError::Lower(e) => e.sqlstate(),
            SqlError::Catalog(e) => e.sqlstate(),
            SqlError::Internal(_) => SqlState::INTERNAL_ERROR,
        }
    }

    /// A 42703 for `column "x" does not exist`.
    pub(crate) fn no_column(name: &str) -> SqlError {
        SqlError::UndefinedColumn(format!("column \"{name}\" does not exist"))
    }

    /// A 22xxx with the given code.
    pub(crate) fn data(state: SqlState, message: impl Into<String>) -> SqlError {
        SqlError::Data {
            state,
            message: message.into(),
        }
    }

    /// A 0A000.
    pub(crate) fn unsupported(what: impl Into<String>) -> SqlError {
        SqlError::FeatureNotSupported(what.into())
    }
}

impl From<crate::storage::StorageError> for SqlError {
    fn from(e: crate::storage::StorageError) -> SqlError {
        SqlError::Lower(Box::new(crate::Error::Storage(e)))
    }
}

impl From<crate::Error> for SqlError {
    fn from(e: crate::Error) -> SqlError {
        match e {
            crate::Error::Sql(e) => e,
            other => SqlError::Lower(Box::new(other)),
        }
    }
}
