//! Hidden row ids: the keys of the rows of a table without a primary key.
//!
//! Ids come from one process-wide counter, started at the clock's
//! microseconds so they keep growing across restarts without a stored
//! counter or a lock. Before the first id of a table is drawn on a store,
//! the counter is pushed past the table's greatest stored id
//! ([`crate::catalog::KvTxn::seed_fresh`]); from then on every id drawn for
//! the table is above every id it holds, even if the clock went back since
//! those were drawn, so the store writes the row without looking for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::SqlState;
use crate::catalog::{TableDef, table_prefix};
use crate::types::{DataType, TypeError, Value, decode_key, encode_key};

use super::super::error::{SqlError, SqlResult};
use super::super::exec::ExecCtx;

/// The next id to hand out; 0 until the first use reads the clock.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// The key of a new row of `table`, which has no primary key: a fresh key
/// for [`crate::catalog::KvTxn::insert_fresh`].
///
/// # Errors
/// Storage errors seeding the counter; `XX001` if the table holds a key
/// that is no row id; `54000` once ids run out (past `i64::MAX`).
pub(crate) fn fresh_row_key(table: &TableDef, cx: &mut ExecCtx<'_>) -> SqlResult<Vec<u8>> {
    let mut key = table_prefix(table.id);
    let prefix_len = key.len();
    cx.txn.seed_fresh(&key, &mut |last| {
        start_from_clock();
        if let Some(last) = last {
            let stored = stored_id(last.get(prefix_len..).unwrap_or_default())?;
            NEXT.fetch_max(stored.unsigned_abs() + 1, Ordering::Relaxed);
        }
        Ok(())
    })?;
    start_from_clock();
    let id = i64::try_from(NEXT.fetch_add(1, Ordering::Relaxed)).map_err(|_| SqlError::Data {
        state: SqlState::PROGRAM_LIMIT_EXCEEDED,
        message: format!("hidden row ids of table \"{}\" are exhausted", table.name),
    })?;
    encode_key(&[Value::Int8(id)], &[], &mut key);
    Ok(key)
}

/// Sets the counter to the clock's microseconds if nothing set it yet.
fn start_from_clock() {
    if NEXT.load(Ordering::Relaxed) != 0 {
        return;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_micros()).unwrap_or(1).max(1));
    // Whoever got there first (a seed pushing past stored ids, or another
    // thread's clock) wins: either start is good.
    let _ = NEXT.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
}

/// The id a stored row key (past its table prefix) holds.
fn stored_id(key: &[u8]) -> Result<i64, TypeError> {
    match decode_key(key, &[DataType::Int8], &[])?.as_slice() {
        // Ids are drawn non-negative, so the greatest key holds the
        // greatest id.
        [Value::Int8(id)] if *id >= 0 => Ok(*id),
        _ => Err(TypeError::Corrupt(
            "a row key without a primary key is no row id",
        )),
    }
}

/// The counter's next id, for tests that check ids are drawn above it.
#[cfg(test)]
pub(crate) fn peek_next() -> u64 {
    NEXT.load(Ordering::Relaxed)
}
