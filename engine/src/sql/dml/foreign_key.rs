//! FOREIGN KEY enforcement on row writes (MATCH SIMPLE, as PostgreSQL's
//! default): a new or changed referencing row needs its referenced row
//! (23503 otherwise, unless a referencing column is NULL), and a
//! referenced row that goes away takes its ON DELETE action — RESTRICT /
//! NO ACTION fail with 23503, CASCADE deletes the referencing rows, SET
//! NULL nulls their columns. Changing a referenced key that is still
//! referenced fails (ON UPDATE NO ACTION).
//!
//! The referenced row is found through the key that the constraint
//! requires it to have (primary key or UNIQUE index), so a check is one
//! point read; referencing rows are found by a scan of the referencing
//! table, or through an index whose leading columns are the foreign key's.
//!
//! Concurrent transactions: the check of a new referencing row takes a
//! shared lock on the referenced row's key (PostgreSQL takes FOR KEY
//! SHARE), held until the transaction ends, so a DELETE of the referenced
//! row waits for it. The waiting side then looks for referencing rows as
//! they are committed now, not as its snapshot had them (at REPEATABLE
//! READ and above: fails with 40001 if they changed since), and so finds
//! the new row and fails with 23503 rather than leave it orphaned; if the
//! inserter rolled back, the delete goes ahead. The lock is stronger than
//! FOR KEY SHARE: an UPDATE of the referenced row's other columns waits
//! too.

use std::ops::Bound;

use crate::catalog::{ForeignKeyDef, RefAction, TableDef, index_prefix, prefix_end, table_prefix};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::ExecCtx;
use crate::sql::expr::{BinOp, compare_values};
use crate::types::{Value, decode_row, encode_key};

use super::{index_key, row_key};
use crate::sql::ddl::scan_range;

/// Checks every foreign key of `table` for its new row version.
pub(crate) fn check_references(
    table: &TableDef,
    row: &[Value],
    old: Option<&[Value]>,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<()> {
    for fk in &table.foreign_keys {
        let values: Vec<Value> = fk.columns.iter().map(|i| row[*i].clone()).collect();
        if values.iter().any(Value::is_null) {
            continue;
        }
        // An UPDATE that leaves the key alone needs no new check.
        if let Some(old) = old
            && fk
                .columns
                .iter()
                .all(|i| compare_values(BinOp::Eq, &old[*i], &row[*i]) == Some(true))
        {
            continue;
        }
        let referenced = referenced_table(table, fk, cx)?;
        if !referenced_exists(&referenced, &fk.ref_columns, &values, cx)? {
            return Err(SqlError::ForeignKeyViolation(format!(
                "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                table.name, fk.name
            )));
        }
    }
    Ok(())
}

/// After a row of `table` was deleted: the ON DELETE action of every
/// foreign key that references it.
pub(crate) fn after_delete(table: &TableDef, row: &[Value], cx: &mut ExecCtx<'_>) -> SqlResult<()> {
    for (child, fk) in referencing(table, cx) {
        let values: Vec<Value> = fk.ref_columns.iter().map(|i| row[*i].clone()).collect();
        if values.iter().any(Value::is_null) {
            continue;
        }
        let rows = referencing_rows(&child, &fk, &values, cx)?;
        if rows.is_empty() {
            continue;
        }
        match fk.on_delete {
            RefAction::Restrict => return Err(still_referenced(table, &child, &fk)),
            RefAction::Cascade => {
                for (key, r) in rows {
                    super::delete_row(&child, &key, &r, cx)?;
                }
            }
            RefAction::SetNull => {
                for (key, r) in rows {
                    let mut new = r.clone();
                    for i in &fk.columns {
                        if child.columns[*i].not_null {
                            return Err(SqlError::NotNullViolation {
                                column: child.columns[*i].name.clone(),
                                table: child.name.clone(),
                            });
                        }
                        new[*i] = Value::Null;
                    }
                    super::update_row(&child, &key, &r, &new, cx)?;
                }
            }
        }
    }
    Ok(())
}

/// After a row of `table` changed: a referenced key it no longer has must
/// not be referenced any more.
pub(crate) fn after_update(
    table: &TableDef,
    old: &[Value],
    new: &[Value],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<()> {
    for (child, fk) in referencing(table, cx) {
        let unchanged = fk
            .ref_columns
            .iter()
            .all(|i| compare_values(BinOp::Eq, &old[*i], &new[*i]) == Some(true));
        if unchanged {
            continue;
        }
        let values: Vec<Value> = fk.ref_columns.iter().map(|i| old[*i].clone()).collect();
        if values.iter().any(Value::is_null) {
            continue;
        }
        // The old key may live on in another row (a unique key that was
        // swapped between rows); only a key gone for good is a violation.
        let referenced = if child.id == table.id {
            table.clone()
        } else {
            referenced_table(&child, &fk, cx)?
        };
        if referenced_exists(&referenced, &fk.ref_columns, &values, cx)? {
            continue;
        }
        if !referencing_rows(&child, &fk, &values, cx)?.is_empty() {
            return Err(still_referenced(table, &child, &fk));
        }
    }
    Ok(())
}

fn still_referenced(table: &TableDef, child: &TableDef, fk: &ForeignKeyDef) -> SqlError {
    SqlError::ForeignKeyViolation(format!(
        "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\"",
        table.name, fk.name, child.name
    ))
}

fn referenced_table(table: &TableDef, fk: &ForeignKeyDef, cx: &ExecCtx<'_>) -> SqlResult<TableDef> {
    if fk.ref_table == table.id {
        return Ok(table.clone());
    }
    cx.catalog
        .table_by_id(fk.ref_table)
        .map(|t| (**t).clone())
        .ok_or_else(|| SqlError::Internal(format!("foreign key {} lost its table", fk.name)))
}

/// The tables (with the constraint) whose foreign keys reference `table`.
fn referencing(table: &TableDef, cx: &ExecCtx<'_>) -> Vec<(TableDef, ForeignKeyDef)> {
    let mut out = Vec::new();
    for t in cx.catalog.tables() {
        // The statement's own table is used as given: it may be newer than
        // the catalog snapshot (ALTER TABLE rewriting rows).
        let t: &TableDef = if t.id == table.id { table } else { t };
        for fk in &t.foreign_keys {
            if fk.ref_table == table.id {
                out.push((t.clone(), fk.clone()));
            }
        }
    }
    out
}

/// Whether `referenced` has a live row whose `columns` equal `values`.
fn referenced_exists(
    referenced: &TableDef,
    columns: &[usize],
    values: &[Value],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<bool> {
    let mut probe = vec![Value::Null; referenced.columns.len()];
    for (c, v) in columns.iter().zip(values) {
        // The referenced column's type decides the key encoding.
        probe[*c] = v.cast(&referenced.columns[*c].ty)?;
    }
    let covers =
        |key: &[usize]| key.len() == columns.len() && key.iter().all(|c| columns.contains(c));
    if referenced
        .primary_key
        .as_ref()
        .is_some_and(|pk| covers(&pk.columns))
        && let Some(key) = row_key(referenced, &probe)
    {
        return Ok(cx.txn.lock_shared(&key, false)?.is_some());
    }
    if let Some(index) = referenced
        .indexes
        .iter()
        .find(|i| i.unique && !i.on_expressions() && covers(&i.columns))
    {
        let values: Vec<Value> = index.columns.iter().map(|c| probe[*c].clone()).collect();
        let (key, unique) = index_key(index, &values, &[]);
        if unique {
            return Ok(cx.txn.lock_shared(&key, false)?.is_some());
        }
    }
    for (key, _) in scan_matching(referenced, columns, values, Read::Snapshot, cx)? {
        if cx.txn.lock_shared(&key, false)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The rows of `child` whose foreign key columns equal `values`.
fn referencing_rows(
    child: &TableDef,
    fk: &ForeignKeyDef,
    values: &[Value],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Vec<(Vec<u8>, Vec<Value>)>> {
    let mut probe = vec![Value::Null; child.columns.len()];
    for (c, v) in fk.columns.iter().zip(values) {
        probe[*c] = v.cast(&child.columns[*c].ty)?;
    }
    let leading = child.indexes.iter().find(|i| {
        !i.on_expressions()
            && i.columns.len() >= fk.columns.len()
            && i.columns[..fk.columns.len()] == fk.columns[..]
    });
    let Some(index) = leading else {
        return scan_matching(child, &fk.columns, values, Read::Current, cx);
    };
    // Index entries start with the encoded key values; the entry's value
    // is the row's storage key.
    let mut prefix = index_prefix(index.id);
    let key_values: Vec<Value> = fk.columns.iter().map(|c| probe[*c].clone()).collect();
    encode_key(&key_values, &[], &mut prefix);
    let upper = prefix_end(&prefix);
    let types = child.types();
    let mut out = Vec::new();
    Read::Current.scan(cx, Bound::Included(prefix), upper, |cx, _, row_key| {
        if let Some(bytes) = cx.txn.get_current(&row_key)? {
            let row = decode_row(&bytes, &types)?;
            if matches(&row, &fk.columns, values) {
                out.push((row_key, row));
            }
        }
        Ok(())
    })?;
    Ok(out)
}

fn matches(row: &[Value], columns: &[usize], values: &[Value]) -> bool {
    columns
        .iter()
        .zip(values)
        .all(|(c, v)| compare_values(BinOp::Eq, &row[*c], v) == Some(true))
}

/// Which rows a lookup reads.
#[derive(Clone, Copy)]
enum Read {
    /// The statement's snapshot: a referenced row, which the check then
    /// locks and reads again.
    Snapshot,
    /// What is committed now ([`crate::catalog::KvTxn::scan_chunk_current`]):
    /// the rows referencing a key that goes away.
    Current,
}

impl Read {
    fn scan(
        self,
        cx: &mut ExecCtx<'_>,
        mut lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        mut visit: impl FnMut(&mut ExecCtx<'_>, Vec<u8>, Vec<u8>) -> SqlResult<()>,
    ) -> SqlResult<()> {
        if let Read::Snapshot = self {
            return scan_range(cx, lower, upper, visit);
        }
        loop {
            cx.check_cancel()?;
            let chunk = cx
                .txn
                .scan_chunk_current(lower.clone(), upper.clone(), 256)?;
            let Some((last, _)) = chunk.last() else {
                return Ok(());
            };
            lower = Bound::Excluded(last.clone());
            for (k, v) in chunk {
                visit(cx, k, v)?;
            }
        }
    }
}

fn scan_matching(
    table: &TableDef,
    columns: &[usize],
    values: &[Value],
    read: Read,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Vec<(Vec<u8>, Vec<Value>)>> {
    let types = table.types();
    let prefix = table_prefix(table.id);
    let upper = prefix_end(&prefix);
    let mut out = Vec::new();
    read.scan(cx, Bound::Included(prefix), upper, |_, k, v| {
        let row = decode_row(&v, &types)?;
        if matches(&row, columns, values) {
            out.push((k, row));
        }
        Ok(())
    })?;
    Ok(out)
}
