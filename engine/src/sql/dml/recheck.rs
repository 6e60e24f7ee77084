//! READ COMMITTED's second look at a row UPDATE or DELETE is about to
//! change.
//!
//! The statement finds its rows in its snapshot, then locks each before
//! changing it. If another transaction held the row and committed a new
//! version meanwhile, changing the snapshot's version would silently undo
//! that commit (a lost update: two concurrent `SET n = n + 1` adding one).
//! PostgreSQL instead goes on with the newest version if it still meets
//! the WHERE, and leaves the row alone if it no longer does or was
//! deleted; so does this. The other FROM / USING rows joined with it are
//! the ones first found, as in PostgreSQL. A row whose primary key the
//! other transaction changed moved to another key: it counts as deleted.
//! At REPEATABLE READ and above the lock itself fails with 40001 instead.

use std::borrow::Cow;

use crate::catalog::{LockStrength, LockWait, RowLock, TableDef};
use crate::sql::error::SqlResult;
use crate::sql::exec::ExecCtx;
use crate::sql::expr::{Expr, eval_predicate};
use crate::types::{Value, decode_row};

/// Locks the target row of `found` (target columns ‖ ctid ‖ the other
/// FROM items' columns, stored at `key`) and returns the row to go on
/// with, or `None` to leave it alone (see the module docs). `recheck` is
/// the statement's WHERE over that row.
pub(crate) fn lock_target<'r>(
    table: &TableDef,
    key: &[u8],
    found: &'r [Value],
    recheck: Option<&Expr>,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Option<Cow<'r, [Value]>>> {
    match cx
        .txn
        .lock_row(key, LockStrength::Update, LockWait::Block)?
    {
        RowLock::Unchanged => Ok(Some(Cow::Borrowed(found))),
        RowLock::Changed(None) | RowLock::Skipped => Ok(None),
        RowLock::Changed(Some(bytes)) => {
            let width = table.columns.len();
            let mut row = decode_row(&bytes, &table.types())?;
            row.extend_from_slice(&found[width..]);
            if let Some(p) = recheck
                && !eval_predicate(p, &row, cx)?
            {
                return Ok(None);
            }
            Ok(Some(Cow::Owned(row)))
        }
    }
}
