//! CREATE [UNIQUE] INDEX and DROP INDEX.
//!
//! A key part may be an expression over the row (`lower(name)`, a Wasm
//! IMMUTABLE function): its SQL is stored and bound again to compute
//! entries, and its bound form's fingerprint lets the planner recognise
//! the same expression in a query (`WHERE lower(name) = $1`).
//!
//! An index is recorded in its table's catalog record, so creating one and
//! filling it with entries for the existing rows is one transactional
//! change: a unique index that finds a duplicate fails with 23505 and
//! leaves nothing behind. Only the table's owner (or a superuser) creates
//! or drops its indexes (42501).

use sqlparser::ast;

use super::binder::{ident, object_name};
use super::dml::index_expr::bind_index_expr;
use super::dml::{access_plan, insert_index_entries};
use super::error::{SqlError, SqlResult};
use super::exec::{ExecCtx, build_keyed};
use super::planner::fingerprint;
use super::privilege::{check_owner, not_owner, owns};
use super::session::StatementResult;
use crate::SqlState;
use crate::catalog::{CatalogWriter, IndexDef, IndexExpr, TableDef, index_prefix};

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
    // An index costs every writer of the table, so only its owner adds
    // one, as in PostgreSQL.
    check_owner(cx.catalog, cx.user, table.id, &table_name)?;
    if ci.predicate.is_some() {
        return Err(SqlError::unsupported("partial indexes are not supported"));
    }
    let mut columns = Vec::with_capacity(ci.columns.len());
    // Every key part as an expression, kept when one of them is more than
    // a column.
    let mut expressions = Vec::with_capacity(ci.columns.len());
    let mut name_parts = Vec::with_capacity(ci.columns.len());
    let mut read = Vec::new();
    for c in &ci.columns {
        // ASC/DESC only choose the physical order of entries; a walk in
        // either direction serves both orders, so all entries are stored
        // ascending.
        let expr = match &c.column.expr {
            ast::Expr::Nested(inner) => inner.as_ref(),
            other => other,
        };
        if let ast::Expr::Identifier(i) = expr {
            let name = ident(i);
            let i = table.column_index(&name).ok_or_else(|| {
                SqlError::UndefinedColumn(format!("column \"{name}\" does not exist"))
            })?;
            columns.push(i);
            name_parts.push(name);
        } else {
            name_parts.push(match expr {
                ast::Expr::Function(f) => f
                    .name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .map_or_else(|| "expr".to_owned(), ident),
                _ => "expr".to_owned(),
            });
        }
        // As pg_get_indexdef prints it: a bare function call, any other
        // expression in parentheses.
        let sql = match expr {
            ast::Expr::Identifier(_) | ast::Expr::Function(_) => expr.to_string(),
            other => format!("({other})"),
        };
        let bound = bind_index_expr(&table, &sql, cx)?;
        bound.columns(&mut read);
        expressions.push(IndexExpr {
            ty: bound.ty(),
            fingerprint: fingerprint(&bound),
            sql,
        });
    }
    if columns.len() < ci.columns.len() {
        read.sort_unstable();
        read.dedup();
        columns = read;
    } else {
        expressions.clear();
    }
    let name = match &ci.name {
        Some(n) => object_name(n)?,
        None => default_name(&table, &name_parts, |n| cx.catalog.relation_exists(n)),
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
        expressions,
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

/// PostgreSQL's name for an unnamed index: `table_col1_col2_idx` (a
/// function call's part is its function name, another expression's
/// `expr`), with a number appended until it is free.
fn default_name(table: &TableDef, parts: &[String], taken: impl Fn(&str) -> bool) -> String {
    let base = format!("{}_{}_idx", table.name, parts.join("_"));
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
        if !owns(cx.catalog, cx.user, table.id) {
            return Err(not_owner("index", &name));
        }
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
