//! SQL that user code runs, inside the caller's transaction.

use super::describe::ColumnDescription;
use super::error::{ErrorCode, ExtensionError};
use crate::types::Value;

/// A row of values, one per column.
pub type Row = Vec<Value>;

/// Rows with their columns, as a procedure returns them to the client.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    /// The columns; empty when there is no result.
    pub columns: Vec<ColumnDescription>,
    /// The rows, each as long as `columns`.
    pub rows: Vec<Row>,
}

/// The severity of a notice, PostgreSQL's `RAISE` levels below `ERROR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeLevel {
    /// `DEBUG`
    Debug,
    /// `INFO`
    Info,
    /// `NOTICE`; also what captured guest stdout and stderr become.
    Notice,
    /// `WARNING`
    Warning,
}

/// A message from user code for the server log and the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// How severe it is.
    pub level: NoticeLevel,
    /// The text.
    pub message: String,
}

/// SQL on behalf of a running routine, implemented by the SQL layer.
///
/// A call gets one `HostSql` bound to the caller's session: statements run
/// in its transaction, with its privileges (the definer's for `SECURITY
/// DEFINER`) and its snapshot rules. Errors are returned, not raised, so user
/// code may handle them; the transaction is the caller's to abort.
pub trait HostSql: Send + Sync {
    /// Runs a query with `$1`, `$2`, … bound from `params`, and returns its
    /// rows as a cursor to be read in batches.
    ///
    /// # Errors
    /// Any SQL error, with its SQLSTATE.
    fn query(&self, sql: &str, params: &[Value]) -> Result<Box<dyn RowCursor>, ExtensionError>;

    /// Runs a statement that returns no rows and returns how many rows it
    /// affected.
    ///
    /// # Errors
    /// Any SQL error, with its SQLSTATE.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, ExtensionError>;

    /// Runs one INSERT, UPDATE or DELETE once per row of `params`, in order
    /// (as JDBC's batches do), and returns how many rows the runs affected
    /// together. Each parameter row is a statement of its own to the
    /// statement's triggers; the batch as a whole succeeds or is undone.
    ///
    /// # Errors
    /// The first failing row's SQL error, with its SQLSTATE and the row's
    /// place in the batch; nothing of the batch remains then. A host that
    /// cannot undo a batch refuses it with 0A000, as this default does.
    fn execute_batch(&self, sql: &str, params: &[Vec<Value>]) -> Result<u64, ExtensionError> {
        let _ = (sql, params);
        Err(ExtensionError::new(
            ErrorCode::from(crate::SqlState::FEATURE_NOT_SUPPORTED),
            "this host does not run statement batches",
        ))
    }

    /// Delivers a notice (a `log` call or captured stdout/stderr) to the
    /// server log and the client. Never fails: a notice nobody can receive
    /// is dropped.
    fn notice(&self, notice: Notice);
}

/// The rows of a query, produced on demand.
pub trait RowCursor: Send {
    /// The result columns.
    fn columns(&self) -> &[ColumnDescription];

    /// Up to `max_rows` (at least one when any remain) further rows, or
    /// `None` once exhausted.
    ///
    /// # Errors
    /// An error met while producing rows; the cursor is finished after it.
    fn next_batch(&mut self, max_rows: usize) -> Result<Option<Vec<Row>>, ExtensionError>;
}
