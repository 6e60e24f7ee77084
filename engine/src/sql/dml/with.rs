//! WITH queries that write rows: a CTE that is an INSERT, UPDATE or
//! DELETE (`WITH moved AS (DELETE … RETURNING …) INSERT INTO archive
//! SELECT … FROM moved`), or a WITH list in front of one. Each writing CTE
//! runs exactly once, in list order and before the statement it feeds,
//! however often that statement reads it; its RETURNING rows are what the
//! name stands for. PostgreSQL runs all the parts on one snapshot, so
//! there the main statement does not see the CTEs' changes to the tables
//! it reads; here it does.

use std::sync::Arc;

use sqlparser::ast;

use super::{bind, not_dml, run};
use crate::sql::binder::{Binder, bind_cte, bind_query, ident};
use crate::sql::error::SqlResult;
use crate::sql::exec::{ExecCtx, collect};
use crate::sql::expr::Expr;
use crate::sql::hooks::Firing;
use crate::sql::plan::{Column, Plan};
use crate::sql::routine::views::{self, SystemViews};
use crate::sql::session::{ColumnDesc, StatementResult};

/// The statement a query body or CTE is when it writes rows.
fn writing(body: &ast::SetExpr) -> Option<&ast::Statement> {
    match body {
        ast::SetExpr::Insert(s) | ast::SetExpr::Update(s) | ast::SetExpr::Delete(s) => Some(s),
        _ => None,
    }
}

/// Whether `q` writes rows: its body or one of its CTEs does.
pub(crate) fn writes(q: &ast::Query) -> bool {
    writing(&q.body).is_some()
        || q.with.as_ref().is_some_and(|w| {
            w.cte_tables
                .iter()
                .any(|c| writing(&c.query.body).is_some())
        })
}

fn binder<'a, 'c: 'a>(
    cx: &ExecCtx<'c>,
    ctes: &[(String, Plan)],
    views: Option<&'a SystemViews>,
) -> Binder<'a> {
    let mut b = Binder::for_statement(cx, views);
    b.ctes = ctes.to_vec();
    b
}

/// Runs `q` (for which [`writes`] holds).
pub(crate) fn execute(
    q: &ast::Query,
    cx: &mut ExecCtx<'_>,
    fire: &mut Firing<'_, '_>,
) -> SqlResult<StatementResult> {
    let invoker = cx.routines.map(|r| Arc::clone(r.invoker()));
    let views = views::for_query(q, cx.txn, cx.catalog, invoker.as_ref())?;
    let views = views.as_ref();
    let mut ctes: Vec<(String, Plan)> = Vec::new();
    if let Some(with) = &q.with {
        for cte in &with.cte_tables {
            let name = ident(&cte.alias.name);
            let plan = match writing(&cte.query.body) {
                Some(stmt) => {
                    let result = write(stmt, &ctes, views, cx, fire)?;
                    returned(result, &name, &cte.alias.columns)
                }
                None => bind_cte(&mut binder(cx, &ctes, views), cte, with.recursive)?,
            };
            ctes.push((name, plan));
        }
    }
    if let Some(stmt) = writing(&q.body) {
        return write(stmt, &ctes, views, cx, fire);
    }
    let mut body = q.clone();
    body.with = None;
    let plan = bind_query(&mut binder(cx, &ctes, views), &body)?;
    let rows = collect(&plan, cx)?;
    let columns = ColumnDesc::of_plan(&plan);
    let tag = format!("SELECT {}", rows.len());
    Ok(StatementResult::Rows { columns, rows, tag })
}

/// The result columns of `q` (for which [`writes`] holds), bound with
/// `b` and run nowhere: what describing a prepared statement needs.
pub(crate) fn describe(q: &ast::Query, b: &mut Binder<'_>) -> SqlResult<Vec<ColumnDesc>> {
    let mark = b.ctes.len();
    let result = describe_in(q, b);
    b.ctes.truncate(mark);
    result
}

fn describe_in(q: &ast::Query, b: &mut Binder<'_>) -> SqlResult<Vec<ColumnDesc>> {
    let returning = |b: &mut Binder<'_>, stmt| {
        Ok::<_, crate::sql::error::SqlError>(
            bind(b, stmt)?
                .map(|d| d.returning_columns())
                .unwrap_or_default(),
        )
    };
    if let Some(with) = &q.with {
        for cte in &with.cte_tables {
            let name = ident(&cte.alias.name);
            let plan = match writing(&cte.query.body) {
                Some(stmt) => {
                    let columns = returning(b, stmt)?;
                    let result = StatementResult::Rows {
                        columns,
                        rows: Vec::new(),
                        tag: String::new(),
                    };
                    returned(result, &name, &cte.alias.columns)
                }
                None => bind_cte(b, cte, with.recursive)?,
            };
            b.ctes.push((name, plan));
        }
    }
    if let Some(stmt) = writing(&q.body) {
        return returning(b, stmt);
    }
    let mut body = q.clone();
    body.with = None;
    Ok(ColumnDesc::of_plan(&bind_query(b, &body)?))
}

/// Binds and runs one writing statement with the CTEs before it in scope.
fn write(
    stmt: &ast::Statement,
    ctes: &[(String, Plan)],
    views: Option<&SystemViews>,
    cx: &mut ExecCtx<'_>,
    fire: &mut Firing<'_, '_>,
) -> SqlResult<StatementResult> {
    crate::sql::privilege::check_dml(stmt, cx)?;
    let bound = bind(&mut binder(cx, ctes, views), stmt)?.ok_or_else(not_dml)?;
    run(bound, cx, fire)
}

/// The RETURNING rows of a writing CTE as the rows its name reads; none
/// when it has no RETURNING list.
fn returned(result: StatementResult, name: &str, aliases: &[ast::TableAliasColumnDef]) -> Plan {
    let (columns, rows) = match result {
        StatementResult::Rows { columns, rows, .. } => (columns, rows),
        _ => (Vec::new(), Vec::new()),
    };
    let columns: Vec<Column> = columns
        .into_iter()
        .enumerate()
        .map(|(i, c)| Column {
            name: aliases.get(i).map_or(c.name, |a| ident(&a.name)),
            table: Some(name.to_owned()),
            ty: c.ty,
        })
        .collect();
    let rows = rows
        .into_iter()
        .map(|r| {
            r.into_iter()
                .zip(&columns)
                .map(|(v, c)| Expr::Literal(v, c.ty))
                .collect()
        })
        .collect();
    Plan::Values { rows, columns }
}
