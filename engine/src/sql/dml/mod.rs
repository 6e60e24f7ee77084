//! Writing rows: the statements INSERT, UPDATE and DELETE (one file
//! each), and here the row-level work they share — keys, constraint
//! checks and index maintenance.

pub(crate) mod delete;
pub(crate) mod foreign_key;
pub(crate) mod index_expr;
pub(crate) mod insert;
mod recheck;
pub(crate) mod returning;
mod row_id;
pub(crate) mod target;
#[cfg(test)]
mod tests;
pub(crate) mod update;
pub(crate) mod view;
pub(crate) mod with;

use std::sync::Arc;

use crate::catalog::{IndexDef, TableDef, index_prefix, table_prefix};
use crate::types::{DataType, Value, encode_key, encode_row};

use sqlparser::ast;

use super::binder::Binder;
use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::expr::{Expr, eval};
use super::hooks::Firing;
use super::plan::Plan;
use super::planner::table_access;
use super::session::StatementResult;
use index_expr::index_values;

/// A bound INSERT, UPDATE or DELETE.
#[derive(Clone)]
pub(crate) enum BoundDml {
    /// INSERT
    Insert(insert::BoundInsert),
    /// UPDATE
    Update(update::BoundUpdate),
    /// DELETE
    Delete(delete::BoundDelete),
    /// Any of them on a view (its INSTEAD OF triggers do the writing).
    View(view::BoundViewDml),
}

impl BoundDml {
    /// The columns of its RETURNING list (none without one).
    pub(crate) fn returning_columns(&self) -> Vec<crate::sql::session::ColumnDesc> {
        match self {
            BoundDml::Insert(i) => i.returning_columns(),
            BoundDml::Update(u) => u.returning_columns(),
            BoundDml::Delete(d) => d.returning_columns(),
            BoundDml::View(v) => v.returning_columns(),
        }
    }
}

/// Binds a DML statement (`None` for any other statement).
pub(crate) fn bind(b: &mut Binder<'_>, stmt: &ast::Statement) -> SqlResult<Option<BoundDml>> {
    if let Some(v) = view::bind(b, stmt)? {
        return Ok(Some(BoundDml::View(v)));
    }
    Ok(Some(match stmt {
        ast::Statement::Insert(ins) => BoundDml::Insert(insert::bind_insert(b, ins)?),
        ast::Statement::Delete(del) => BoundDml::Delete(delete::bind_delete(b, del)?),
        ast::Statement::Update {
            table,
            assignments,
            from,
            selection,
            returning,
            ..
        } => BoundDml::Update(update::bind_update(
            b,
            table,
            assignments,
            from.as_ref(),
            selection.as_ref(),
            returning.as_deref(),
        )?),
        _ => return Ok(None),
    }))
}

/// Binds and runs a DML statement, firing `fire`'s hooks around its rows.
pub(crate) fn execute(
    stmt: &ast::Statement,
    cx: &mut ExecCtx<'_>,
    fire: &mut Firing<'_, '_>,
) -> SqlResult<StatementResult> {
    super::privilege::check_dml(stmt, cx)?;
    let mut b = Binder::for_statement(cx, None);
    let bound = bind(&mut b, stmt)?.ok_or_else(not_dml)?;
    run(bound, cx, fire)
}

fn not_dml() -> SqlError {
    SqlError::Internal("not a DML statement".into())
}

fn run(
    bound: BoundDml,
    cx: &mut ExecCtx<'_>,
    fire: &mut Firing<'_, '_>,
) -> SqlResult<StatementResult> {
    match bound {
        BoundDml::Insert(i) => insert::run_insert(&i, cx, fire),
        BoundDml::Update(u) => update::run_update(u, cx, fire),
        BoundDml::Delete(d) => delete::run_delete(d, cx, fire),
        BoundDml::View(v) => view::run(v, cx, fire),
    }
}

/// A DML statement bound once, for the catalog version, role, search path
/// and parameter types it was bound with: a routine running the same
/// statement again and again (a row trigger's INSERT, once per row) binds
/// it once, as a prepared statement would be planned once. Any DDL changes
/// the catalog version, and the statement is bound again.
#[derive(Default)]
pub(crate) struct BoundCache(Option<CachedDml>);

struct CachedDml {
    version: u64,
    user: String,
    search_path: Vec<String>,
    types: Vec<Option<DataType>>,
    dml: BoundDml,
}

/// [`execute`], binding only when `cache` does not hold the statement
/// bound for this catalog and these parameter types.
pub(crate) fn execute_cached(
    stmt: &ast::Statement,
    cx: &mut ExecCtx<'_>,
    fire: &mut Firing<'_, '_>,
    cache: &mut BoundCache,
) -> SqlResult<StatementResult> {
    super::privilege::check_dml(stmt, cx)?;
    match bound_cached(stmt, cx, cache)? {
        // The common case, run without a copy of the plan.
        BoundDml::Insert(i) => insert::run_insert(i, cx, fire),
        other => run(other.clone(), cx, fire),
    }
}

/// `stmt` bound, from `cache` if it holds it bound for this catalog, role,
/// search path and these parameter types. The caller checks the
/// privileges it needs.
fn bound_cached<'c>(
    stmt: &ast::Statement,
    cx: &mut ExecCtx<'_>,
    cache: &'c mut BoundCache,
) -> SqlResult<&'c BoundDml> {
    let version = cx.catalog.version;
    // Reads are checked while binding, so a plan bound for one role is not
    // reused for another (a SECURITY DEFINER trigger switches roles).
    let fresh = cache.0.as_ref().is_some_and(|c| {
        c.version == version
            && c.user == cx.user
            && c.search_path == cx.settings.search_path
            && c.types.as_slice() == cx.param_types
    });
    if !fresh {
        let mut b = Binder::for_statement(cx, None);
        let dml = bind(&mut b, stmt)?.ok_or_else(not_dml)?;
        cache.0 = Some(CachedDml {
            version,
            user: cx.user.to_string(),
            search_path: cx.settings.search_path.clone(),
            types: cx.param_types.to_vec(),
            dml,
        });
    }
    cache
        .0
        .as_ref()
        .map(|c| &c.dml)
        .ok_or_else(|| SqlError::Internal("a bound statement went missing".into()))
}

/// [`execute_cached`] once per parameter row of `rows` (with `types`, the
/// rows' parameter types), in order: a guest's statement batch. Each row
/// runs as a statement of its own — a fresh snapshot, its own firing of
/// the target's statement and row triggers — over the one catalog and
/// binding of the batch, as a prepared statement's executions share a
/// plan. Returns the rows affected in all; on an error, the index of the
/// row that failed with it (undoing the earlier rows is the caller's).
pub(crate) fn execute_cached_each(
    stmt: &ast::Statement,
    cx: &mut ExecCtx<'_>,
    fire: &mut Firing<'_, '_>,
    cache: &mut BoundCache,
    rows: &[Vec<Value>],
    types: &[Vec<Option<DataType>>],
) -> Result<u64, (usize, SqlError)> {
    let mut affected = 0;
    for (i, (params, param_types)) in rows.iter().zip(types).enumerate() {
        cx.txn.begin_statement();
        let mut row_cx = ExecCtx {
            txn: &mut *cx.txn,
            catalog: cx.catalog,
            params,
            param_types,
            outer: Vec::new(),
            now: cx.now,
            cancel: cx.cancel,
            sequences: cx.sequences,
            user: cx.user,
            session_user: cx.session_user,
            settings: cx.settings,
            routines: cx.routines,
            init_plans: Default::default(),
        };
        // Every row runs with the batch's one catalog and role, so the
        // privilege check, a function of those and the statement alone,
        // gives the first row's verdict for all of them.
        if i == 0 {
            super::privilege::check_dml(stmt, &row_cx).map_err(|e| (i, e))?;
        }
        affected += execute_counted(stmt, &mut row_cx, fire, cache).map_err(|e| (i, e))?;
    }
    Ok(affected)
}

/// [`execute_cached`] for the rows it affected alone: an INSERT's command
/// tag is never formatted to be read back.
fn execute_counted(
    stmt: &ast::Statement,
    cx: &mut ExecCtx<'_>,
    fire: &mut Firing<'_, '_>,
    cache: &mut BoundCache,
) -> SqlResult<u64> {
    Ok(match bound_cached(stmt, cx, cache)? {
        BoundDml::Insert(ins) => insert::insert_rows(ins, cx, fire)?.0,
        other => match run(other.clone(), cx, fire)? {
            StatementResult::Rows { rows, .. } => rows.len() as u64,
            StatementResult::Command(tag) => tag_count(&tag),
            StatementResult::CopyIn(_) | StatementResult::CopyOut { .. } => 0,
        },
    })
}

/// The row count of a command tag, its last word when that is a number:
/// `INSERT 0 3`, `UPDATE 2`; 0 for `CREATE TABLE`.
pub(crate) fn tag_count(tag: &str) -> u64 {
    tag.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// How UPDATE and DELETE find the rows `filter` accepts: the same access
/// path choice as a query's (a point read for `WHERE pk = $1`).
pub(crate) fn access_plan(table: &Arc<TableDef>, filter: Option<Expr>) -> Plan {
    let columns = target::table_scope(table, &table.name);
    table_access(table.clone(), table.name.clone(), filter, columns, None).0
}

/// The storage key of a row.
pub(crate) fn row_key(table: &TableDef, row: &[Value]) -> Option<Vec<u8>> {
    let pk = table.primary_key.as_ref()?;
    let mut key = table_prefix(table.id);
    let values: Vec<Value> = pk.columns.iter().map(|i| row[*i].clone()).collect();
    encode_key(&values, &[], &mut key);
    Some(key)
}

/// The entry key of `index` for key values `values` (see
/// [`index_expr::index_values`]) of the row stored under `row_key`, and
/// whether the entry enforces uniqueness.
pub(crate) fn index_key(index: &IndexDef, values: &[Value], row_key: &[u8]) -> (Vec<u8>, bool) {
    let mut key = index_prefix(index.id);
    encode_key(values, &[], &mut key);
    // Unique entries are keyed by the values alone so a second row with the
    // same values collides; NULLs never collide, so those entries (and all
    // non-unique ones) carry the row key to stay distinct. Every entry's
    // value is the row key, which is how an index scan finds the row.
    let enforce = index.unique && !values.iter().any(Value::is_null);
    if !enforce {
        key.extend_from_slice(row_key);
    }
    (key, enforce)
}

/// Checks NOT NULL and CHECK constraints of a new row version.
pub(crate) fn check_row(
    table: &TableDef,
    row: &[Value],
    checks: &[(String, Expr)],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<()> {
    for (c, v) in table.columns.iter().zip(row) {
        if c.not_null && v.is_null() {
            return Err(SqlError::NotNullViolation {
                column: c.name.clone(),
                table: table.name.clone(),
            });
        }
    }
    for (name, e) in checks {
        // A CHECK passes unless it is false: NULL passes.
        if matches!(eval(e, row, cx)?, Value::Bool(false)) {
            return Err(SqlError::CheckViolation {
                table: table.name.clone(),
                constraint: name.clone(),
            });
        }
    }
    Ok(())
}

/// An empty buffer with about the room `row` takes encoded (and a byte
/// more, which the store's version tag takes at commit), so encoding it
/// does not grow the buffer step by step.
fn row_buffer(row: &[Value]) -> Vec<u8> {
    let payload: usize = row
        .iter()
        .map(|v| match v {
            Value::Text(s) | Value::Json(s) => s.len() + 2,
            Value::Bytea(b) => b.len() + 2,
            _ => 9,
        })
        .sum();
    Vec::with_capacity(3 + row.len().div_ceil(8) + payload)
}

/// Inserts a checked row and returns its key; `Ok(None)` when its primary
/// key exists.
pub(crate) fn insert_row(
    table: &TableDef,
    row: &[Value],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Option<Vec<u8>>> {
    let mut value = row_buffer(row);
    encode_row(row, &mut value);
    let key = match row_key(table, row) {
        Some(k) => {
            if !cx.txn.insert(&k, &value)? {
                return Ok(None);
            }
            k
        }
        None => {
            let k = row_id::fresh_row_key(table, cx)?;
            cx.txn.insert_fresh(&k, value)?;
            k
        }
    };
    insert_index_entries(table, row, &key, cx)?;
    foreign_key::check_references(table, row, None, cx)?;
    Ok(Some(key))
}

pub(crate) fn insert_index_entries(
    table: &TableDef,
    row: &[Value],
    key: &[u8],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<()> {
    for index in &table.indexes {
        let values = index_values(table, index, row, cx)?;
        let (ikey, enforce) = index_key(index, &values, key);
        if enforce {
            if !cx.txn.insert(&ikey, key)? {
                return Err(SqlError::UniqueViolation(index.name.clone()));
            }
        } else {
            cx.txn.put(&ikey, key)?;
        }
    }
    Ok(())
}

/// Deletes a row (by its storage key) and its index entries.
pub(crate) fn delete_row(
    table: &TableDef,
    key: &[u8],
    row: &[Value],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<()> {
    cx.txn.delete(key)?;
    for index in &table.indexes {
        let values = index_values(table, index, row, cx)?;
        let (ikey, _) = index_key(index, &values, key);
        cx.txn.delete(&ikey)?;
    }
    foreign_key::after_delete(table, row, cx)
}

/// Replaces a row: same key in place, a new key as delete plus insert.
pub(crate) fn update_row(
    table: &TableDef,
    old_key: &[u8],
    old: &[Value],
    new: &[Value],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<()> {
    let new_key = row_key(table, new).unwrap_or_else(|| old_key.to_vec());
    for index in &table.indexes {
        let values = index_values(table, index, old, cx)?;
        let (ikey, _) = index_key(index, &values, old_key);
        cx.txn.delete(&ikey)?;
    }
    let mut value = Vec::new();
    encode_row(new, &mut value);
    if new_key == old_key {
        cx.txn.put(&new_key, &value)?;
    } else {
        cx.txn.delete(old_key)?;
        if !cx.txn.insert(&new_key, &value)? {
            let name = table
                .primary_key
                .as_ref()
                .map_or_else(String::new, |p| p.name.clone());
            return Err(SqlError::UniqueViolation(name));
        }
    }
    insert_index_entries(table, new, &new_key, cx)?;
    foreign_key::check_references(table, new, Some(old), cx)?;
    foreign_key::after_update(table, old, new, cx)
}
