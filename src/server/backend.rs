//! The seam between the wire server and whatever executes SQL.
//!
//! The server speaks PostgreSQL's protocol; it does not know SQL. Everything
//! it needs from a database is in the two traits below: a [`Backend`] hands
//! out [`Session`]s and answers password questions, and a session runs
//! statements, prepares them, reports its transaction state and notices, and
//! takes the rows of a `COPY ... FROM STDIN`. Values cross the seam as the
//! engine's own [`Value`] and [`DataType`], so the text and binary wire codecs
//! live on this side (`encode.rs`) and the engine never sees wire bytes.
//!
//! Sessions are synchronous: the server runs each call on a blocking thread
//! and interrupts a long statement by setting the session's cancel flag,
//! which the session is expected to poll. The server clears the flag before
//! every call, so a cancel that arrives between statements does not leak
//! into the next one.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rustydb_engine::types::{DataType, Value};

use super::auth::PasswordVerifier;

/// An error a backend reports to a client: a SQLSTATE and PostgreSQL's
/// message fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    /// The five-character SQLSTATE.
    pub code: String,
    /// The primary message.
    pub message: String,
    /// An optional `DETAIL` line.
    pub detail: Option<String>,
    /// An optional `HINT` line.
    pub hint: Option<String>,
}

impl BackendError {
    /// An error with a SQLSTATE and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> BackendError {
        BackendError {
            code: code.into(),
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    /// The same error with a `DETAIL` line.
    pub fn with_detail(mut self, detail: impl Into<String>) -> BackendError {
        self.detail = Some(detail.into());
        self
    }
}

impl From<rustydb_engine::Error> for BackendError {
    fn from(e: rustydb_engine::Error) -> BackendError {
        BackendError::new(e.sqlstate().code(), e.to_string())
    }
}

/// A result whose error is a [`BackendError`].
pub type BackendResult<T> = Result<T, BackendError>;

/// One result column: its name and type, as RowDescription reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name (`?column?` for an unnamed expression).
    pub name: String,
    /// The column's type, with its modifier.
    pub data_type: DataType,
}

impl Column {
    /// A column with a name and a type.
    pub fn new(name: impl Into<String>, data_type: DataType) -> Column {
        Column {
            name: name.into(),
            data_type,
        }
    }
}

/// The file format of a `COPY`, with the options PostgreSQL gives each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyFormat {
    /// The default text format: tab-separated, `\N` for NULL, backslash
    /// escapes.
    Text {
        /// The field delimiter (`DELIMITER`), one character.
        delimiter: char,
        /// The NULL marker (`NULL`).
        null: String,
    },
    /// CSV.
    Csv {
        /// The field delimiter (`DELIMITER`).
        delimiter: char,
        /// The quote character (`QUOTE`).
        quote: char,
        /// The escape character inside quotes (`ESCAPE`).
        escape: char,
        /// The NULL marker (`NULL`, empty by default).
        null: String,
        /// Whether the first line is a header (`HEADER`).
        header: bool,
    },
}

impl CopyFormat {
    /// PostgreSQL's default text format.
    pub fn text() -> CopyFormat {
        CopyFormat::Text {
            delimiter: '\t',
            null: "\\N".to_owned(),
        }
    }

    /// PostgreSQL's default CSV format, with or without a header line.
    pub fn csv(header: bool) -> CopyFormat {
        CopyFormat::Csv {
            delimiter: ',',
            quote: '"',
            escape: '"',
            null: String::new(),
            header,
        }
    }
}

/// What one statement produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A statement that returns rows (`SELECT`, `... RETURNING`, `SHOW`).
    Rows {
        /// The result columns.
        columns: Vec<Column>,
        /// Every row, each with one value per column.
        rows: Vec<Vec<Value>>,
        /// The full command tag as PostgreSQL writes it (`SELECT 5`,
        /// `INSERT 0 3`); the trailing count is recomputed when a portal
        /// returns the rows in several batches.
        tag: String,
    },
    /// A statement without rows; the tag is complete (`CREATE TABLE`,
    /// `UPDATE 4`, `BEGIN`).
    Command {
        /// The command tag.
        tag: String,
    },
    /// An empty statement.
    Empty,
    /// `COPY ... FROM STDIN`: the session now waits for
    /// [`Session::copy_in`] (or [`Session::copy_abort`]).
    CopyIn {
        /// The columns the data fills, in order.
        columns: Vec<Column>,
        /// The format the client sends.
        format: CopyFormat,
    },
    /// `COPY ... TO STDOUT`: the rows to send, encoded by the server.
    CopyOut {
        /// The columns of each row.
        columns: Vec<Column>,
        /// The format to send.
        format: CopyFormat,
        /// The rows.
        rows: Vec<Vec<Value>>,
    },
}

/// A session's transaction state, as `ReadyForQuery` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionState {
    /// Not in a transaction block.
    Idle,
    /// In a transaction block.
    InBlock,
    /// In a failed transaction block: statements are rejected until
    /// `ROLLBACK`.
    Failed,
}

/// A message a statement raised without failing (`NOTICE`, `WARNING`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `NOTICE`, `WARNING`, `INFO`, ...
    pub severity: String,
    /// The SQLSTATE (`00000` for plain notices, `01000` for warnings).
    pub code: String,
    /// The message.
    pub message: String,
}

/// A statement prepared by [`Session::prepare`]: what Describe reports.
pub trait PreparedStatement: Send + Sync + 'static {
    /// The type of each `$n` parameter, in order.
    fn parameter_types(&self) -> Vec<DataType>;
    /// The result columns; empty for a statement that returns no rows.
    fn columns(&self) -> Vec<Column>;
}

/// One client's session: statements, transaction state, cancel flag.
pub trait Session: Send + 'static {
    /// A prepared statement of this session.
    type Prepared: PreparedStatement;

    /// Runs a query string of one or more statements (the simple protocol),
    /// each in its own implicit transaction unless inside a block. Results
    /// come back in order; an `Err`, if any, is the last element, and the
    /// statements after it did not run. A `COPY ... FROM STDIN` also ends
    /// the list: the data it waits for comes before any later statement.
    fn simple_query(&mut self, sql: &str) -> Vec<BackendResult<Outcome>>;

    /// Parses and plans one statement without running it. `param_types`
    /// holds the types the client declared, `None` where it left the
    /// choice to the server.
    fn prepare(
        &mut self,
        sql: &str,
        param_types: &[Option<DataType>],
    ) -> BackendResult<Self::Prepared>;

    /// Runs a prepared statement with one value per parameter.
    fn execute(&mut self, statement: &Self::Prepared, params: &[Value]) -> BackendResult<Outcome>;

    /// Feeds the rows of the `COPY ... FROM STDIN` the last statement started
    /// and returns how many were stored.
    fn copy_in(&mut self, rows: Vec<Vec<Value>>) -> BackendResult<u64>;

    /// Ends a `COPY ... FROM STDIN` the client abandoned or sent bad data
    /// for; the statement fails with `error`.
    fn copy_abort(&mut self, error: &BackendError);

    /// Where the session stands in a transaction.
    fn transaction_state(&self) -> TransactionState;

    /// The flag the session polls while it runs; setting it makes the
    /// running statement fail with 57014 (`query_canceled`).
    fn cancel_flag(&self) -> Arc<AtomicBool>;

    /// The notices raised since the last call, oldest first.
    fn take_notices(&mut self) -> Vec<Notice>;
}

/// A database the server serves: sessions and credentials.
pub trait Backend: Send + Sync + 'static {
    /// A session of this backend.
    type Session: Session;

    /// Opens a session for `user` on `database`; fails with 28000
    /// (unknown role) or 3D000 (unknown database).
    fn connect(&self, user: &str, database: &str) -> BackendResult<Self::Session>;

    /// Whether any role has a password. Until one does, loopback connections
    /// are trusted, as after PostgreSQL's default `initdb`.
    fn passwords_enabled(&self) -> bool;

    /// The SCRAM-SHA-256 verifier of `user`'s password, `None` when the role
    /// does not exist or has no password.
    fn password_verifier(&self, user: &str) -> Option<PasswordVerifier>;

    /// One line saying what this backend is, for the server's start-up log.
    fn description(&self) -> String;

    /// Flushes and closes the database after the last session ended.
    fn shutdown(&self) -> BackendResult<()>;
}
