//! SQL from inside a routine, in the caller's transaction.

use crate::bindings::rustydb::extension::host;
use crate::value::{Column, Rows, SqlError, Value};

/// Rows fetched per host call when iterating a [`Cursor`].
const BATCH: u32 = 256;

/// The rows of a query, fetched from the host in batches.
pub struct Cursor {
    inner: host::Cursor,
    columns: Vec<Column>,
    buffered: std::vec::IntoIter<Vec<Value>>,
    done: bool,
}

impl Cursor {
    /// The result columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The next row, fetching a batch from the host when needed.
    ///
    /// # Errors
    /// An error the query raised while producing rows.
    pub fn next_row(&mut self) -> Result<Option<Vec<Value>>, SqlError> {
        loop {
            if let Some(row) = self.buffered.next() {
                return Ok(Some(row));
            }
            if self.done {
                return Ok(None);
            }
            match self.inner.next_batch(BATCH)? {
                Some(rows) => self.buffered = rows.into_iter(),
                None => self.done = true,
            }
        }
    }

    /// Every remaining row with the columns, e.g. to return from a procedure.
    ///
    /// # Errors
    /// An error the query raised while producing rows.
    pub fn collect_rows(mut self) -> Result<Rows, SqlError> {
        let mut rows = Vec::new();
        while let Some(row) = self.next_row()? {
            rows.push(row);
        }
        Ok(Rows {
            columns: self.columns,
            rows,
        })
    }
}

/// Runs a query with `$1`, `$2`, … bound from `params`.
///
/// # Errors
/// The SQL error, with its SQLSTATE.
pub fn query(sql: &str, params: &[Value]) -> Result<Cursor, SqlError> {
    let inner = host::query(sql, params)?;
    let columns = inner.columns();
    Ok(Cursor {
        inner,
        columns,
        buffered: Vec::new().into_iter(),
        done: false,
    })
}

/// Runs a statement and returns the number of rows it affected.
///
/// # Errors
/// The SQL error, with its SQLSTATE.
pub fn execute(sql: &str, params: &[Value]) -> Result<u64, SqlError> {
    host::execute(sql, params)
}

/// Runs one `INSERT`, `UPDATE` or `DELETE` once per parameter row, in
/// order, at about the cost of one [`execute`]: the statement is parsed,
/// bound and set up once for the batch. Each row is a statement of its own
/// to the target's triggers; the batch succeeds or is undone as a whole.
/// Returns the number of rows affected in all.
///
/// # Errors
/// 0A000 for any other kind of statement; otherwise the first failing
/// row's SQL error, with its SQLSTATE and a message that starts `row N of
/// M of the batch:` (nothing of the batch remains then).
pub fn execute_batch(sql: &str, params: &[Vec<Value>]) -> Result<u64, SqlError> {
    host::execute_batch(sql, params)
}

pub use host::Level as LogLevel;

/// Sends a message to the server log and the client (as a NOTICE).
pub fn log(level: LogLevel, message: &str) {
    host::log(level, message);
}
