//! What INSERT, UPDATE and DELETE share about their target table: looking
//! it up, binding its stored CHECK and DEFAULT expressions, and the plan
//! that finds the rows to change.

use std::sync::Arc;

use sqlparser::ast;

use crate::catalog::{Catalog, TableDef};
use crate::sql::binder::{Binder, bind_from, ident, object_name};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::ExecCtx;
use crate::sql::expr::Expr;
use crate::sql::plan::{Column, Plan};
use crate::sql::planner::{optimize, push_filter};
use crate::types::DataType;

/// The table `n` names.
pub(crate) fn table_named(catalog: &Catalog, n: &ast::ObjectName) -> SqlResult<Arc<TableDef>> {
    let name = object_name(n)?;
    catalog
        .table(&name)
        .cloned()
        .ok_or(SqlError::UndefinedTable(name))
}

/// The table's columns as an expression scope, qualified by `alias`.
pub(crate) fn table_scope(table: &TableDef, alias: &str) -> Vec<Column> {
    table
        .columns
        .iter()
        .map(|c| Column {
            name: c.name.clone(),
            table: Some(alias.to_owned()),
            ty: c.ty,
        })
        .collect()
}

/// Parses an expression stored as SQL text in the catalog.
pub(crate) fn parse_expr(text: &str) -> SqlResult<ast::Expr> {
    let dialect = crate::sql::parser::RustyDialect::default();
    sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| SqlError::Internal(format!("stored expression does not parse: {e}")))
}

/// Binds a table's CHECK constraints over its own columns.
pub(crate) fn bind_checks(table: &TableDef, cx: &ExecCtx<'_>) -> SqlResult<Vec<(String, Expr)>> {
    checks_of(table, cx.catalog)
}

/// [`bind_checks`] at bind time, before there is an executor.
pub(crate) fn checks_of(table: &TableDef, catalog: &Catalog) -> SqlResult<Vec<(String, Expr)>> {
    let mut out = Vec::new();
    for c in &table.checks {
        let e = parse_expr(&c.expr)?;
        let mut b = Binder::new(catalog, &[]);
        b.scopes = vec![table_scope(table, &table.name)];
        out.push((c.name.clone(), b.bind_expr(&e)?));
    }
    Ok(out)
}

/// Binds each column's DEFAULT (no row in scope).
pub(crate) fn bind_defaults(table: &TableDef, cx: &ExecCtx<'_>) -> SqlResult<Vec<Option<Expr>>> {
    defaults_of(table, cx.catalog)
}

/// [`bind_defaults`] at bind time, before there is an executor.
pub(crate) fn defaults_of(table: &TableDef, catalog: &Catalog) -> SqlResult<Vec<Option<Expr>>> {
    table
        .columns
        .iter()
        .map(|c| {
            c.default
                .as_ref()
                .map(|d| {
                    let e = parse_expr(d)?;
                    let mut b = Binder::new(catalog, &[]);
                    let e = b.bind_expr(&e)?;
                    b.coerce(e, c.ty)
                })
                .transpose()
        })
        .collect()
}

/// The name a target table is referred to by in the statement.
pub(crate) fn alias_of(alias: Option<&ast::TableAlias>, table: &TableDef) -> String {
    alias.map_or_else(|| table.name.clone(), |a| ident(&a.name))
}

/// The rows UPDATE or DELETE change, and how to look at one again.
#[derive(Clone)]
pub(crate) struct TargetRows {
    /// The target table read with its row keys (a `ctid` column after its
    /// own), joined with the FROM / USING items, filtered by WHERE,
    /// planned like a query so a `WHERE pk = $1` is one point read.
    /// Output: target columns ‖ ctid ‖ other items' columns.
    pub(crate) plan: Plan,
    /// WHERE over that row, for a target row a concurrent transaction
    /// changed while the statement waited for its lock (see
    /// [`super::recheck`]).
    pub(crate) recheck: Option<Expr>,
}

/// Binds the rows UPDATE or DELETE change (see [`TargetRows`]); `b` is
/// left with their row as its scope (for SET and RETURNING).
pub(crate) fn bind_target_rows(
    b: &mut Binder<'_>,
    table: &Arc<TableDef>,
    alias: &str,
    from: &[ast::TableWithJoins],
    selection: Option<&ast::Expr>,
) -> SqlResult<TargetRows> {
    let scan = Plan::Scan {
        table: table.clone(),
        alias: alias.to_owned(),
        filter: None,
        columns: table_scope(table, alias),
    };
    let mut columns = table_scope(table, alias);
    columns.push(Column {
        name: "ctid".into(),
        table: Some(alias.to_owned()),
        ty: DataType::Bytea,
    });
    let mut plan = Plan::KeyedScan {
        input: Box::new(scan),
        columns,
    };
    if !from.is_empty() {
        let other = bind_from(b, from)?;
        if other
            .columns()
            .iter()
            .any(|c| c.table.as_deref() == Some(alias))
        {
            return Err(SqlError::Semantic {
                state: crate::SqlState::DUPLICATE_ALIAS,
                message: format!("table name \"{alias}\" specified more than once"),
            });
        }
        plan = Plan::inner_join(plan, other, None, vec![]);
    }
    let (plan, recheck) = filtered(b, plan, selection)?;
    Ok(TargetRows { plan, recheck })
}

/// `plan` under WHERE `selection`, optimized: the rows a DML statement
/// changes, and the bound WHERE. `b` is left with `plan`'s row as its
/// scope (for SET and RETURNING).
pub(super) fn filtered(
    b: &mut Binder<'_>,
    mut plan: Plan,
    selection: Option<&ast::Expr>,
) -> SqlResult<(Plan, Option<Expr>)> {
    b.scopes = vec![plan.columns()];
    let mut recheck = None;
    if let Some(w) = selection {
        let pred = b.bind_expr(w)?;
        if pred.ty() != DataType::Bool {
            return Err(SqlError::DatatypeMismatch(format!(
                "argument of WHERE must be type boolean, not type {}",
                pred.ty().name()
            )));
        }
        recheck = Some(pred.clone());
        plan = push_filter(plan, pred);
    }
    Ok((optimize(plan, b.catalog), recheck))
}
