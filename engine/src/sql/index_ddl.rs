//! CREATE [UNIQUE] INDEX and DROP INDEX.
//!
//! An index is recorded in its table's catalog record, so creating one and
//! filling it with entries for the existing rows is one transactional
//! change: a unique index that finds a duplicate fails with 23505 and
//! leaves nothing behind.

use sqlparser::ast;

use super::binder::{ident, object_name};
use super::dml::{access_plan, insert_index_entries};
use super::error::{SqlError, SqlResult};
use super::exec::{ExecCtx, build_keyed};
use super::session::StatementResult;
use crate::SqlState;
use crate::catalog::{CatalogWriter, IndexDef, TableDef, index_prefix};

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] [name] ON t (cols)`.
pub(crate) fn create_index(
    ci: &ast::CreateIndex,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    let done = || Ok(StatementResult::Command("CREATE INDEX".into()));
    let table_name = object_name(&ci.table_name)?;
    let table = cx
        .catalog
        .table(&table_name)
        .cloned()
        .ok_or(SqlError::UndefinedTable(table_name.clone()))?;
    if ci.predicate.is_some() {
        return Err(SqlError::unsupported("partial indexes are not supported"));
    }
    let mut columns = Vec::with_capacity(ci.columns.len());
    for c in &ci.columns {
        // ASC/DESC only choose the physical order of entries; a walk in
        // either direction serves both orders, so all entries are stored
        // ascending.
        let name = match &c.column.expr {
            ast::Expr::Identifier(i) => ident(i),
            other => {
                return Err(SqlError::unsupported(format!(
                    "indexes on expressions are not supported: {other}"
                )));
            }
        };
        let i = table.column_index(&name).ok_or_else(|| {
            SqlError::UndefinedColumn(format!("column \"{name}\" does not exist"))
        })?;
        columns.push(i);
    }
    let name = match &ci.name {
        Some(n) => object_name(n)?,
        None => default_name(&table, &columns, |n| cx.catalog.relation_exists(n)),
    };
    if cx.catalog.relation_exists(&name) {
        if ci.if_not_exists {
            return done();
        }
        return Err(SqlError::DuplicateTable(name));
    }
    let mut w = CatalogWriter::new(cx.txn);
    let index = IndexDef {
        id: w.allocate_id()?,
        name,
        columns,
        unique: ci.unique,
        constraint: false,
    };
    let mut new_table = table.as_ref().clone();
    new_table.indexes = vec![index.clone()];
    // Entries for the rows already there, streamed from a table scan.
    let mut scan = build_keyed(&access_plan(&table, None))?;
    while let Some((key, row)) = scan.next_keyed(cx)? {
        cx.check_cancel()?;
        insert_index_entries(&new_table, &row, &key, cx)?;
    }
    let mut updated = table.as_ref().clone();
    updated.indexes.push(index);
    CatalogWriter::new(cx.txn).put_table(&updated)?;
    done()
}

/// PostgreSQL's name for an unnamed index: `table_col1_col2_idx`, with a
/// number appended until it is free.
fn default_name(table: &TableDef, columns: &[usize], taken: impl Fn(&str) -> bool) -> String {
    let cols: Vec<&str> = columns
        .iter()
        .filter_map(|i| table.columns.get(*i).map(|c| c.name.as_str()))
        .collect();
    let base = format!("{}_{}_idx", table.name, cols.join("_"));
    let mut name = base.clone();
    let mut n = 0;
    while taken(&name) {
        n += 1;
        name = format!("{base}{n}");
    }
    name
}

/// `DROP INDEX [IF EXISTS] name, ...`.
pub(crate) fn drop_index(
    names: &[ast::ObjectName],
    if_exists: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    for n in names {
        let name = object_name(n)?;
        let Some((table, index)) = cx.catalog.index(&name) else {
            if if_exists {
                continue;
            }
            return Err(SqlError::Semantic {
                state: SqlState::UNDEFINED_OBJECT,
                message: format!("index \"{name}\" does not exist"),
            });
        };
        if index.constraint {
            return Err(SqlError::Semantic {
                state: SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                message: format!(
                    "cannot drop index {name} because constraint {name} on table {} requires it",
                    table.name
                ),
            });
        }
        let mut updated = table.as_ref().clone();
        updated.indexes.retain(|i| i.id != index.id);
        let mut w = CatalogWriter::new(cx.txn);
        w.put_table(&updated)?;
        w.delete_prefix(&index_prefix(index.id))?;
    }
    Ok(StatementResult::Command("DROP INDEX".into()))
}
