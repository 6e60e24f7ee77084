//! Indexes on expressions (`CREATE INDEX … ON t (lower(name))`): binding
//! their stored SQL over the table's row, refusing what may change between
//! two evaluations, and the key values of a row.
//!
//! An entry must be found again by the row it came from: an UPDATE or
//! DELETE recomputes the old row's key to remove its entry. Only an
//! expression whose value depends on the row alone — IMMUTABLE, as
//! PostgreSQL demands (42P17) — keeps that promise.

use crate::SqlState;
use crate::catalog::{IndexDef, TableDef};
use crate::extension::Volatility;
use crate::sql::binder::{Binder, has_aggregate};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::ExecCtx;
use crate::sql::expr::{Expr, eval};
use crate::types::Value;

use super::target::{parse_expr, table_scope};

/// `sql` bound over `table`'s row, checked to be usable as an index key.
pub(crate) fn bind_index_expr(table: &TableDef, sql: &str, cx: &ExecCtx<'_>) -> SqlResult<Expr> {
    let parsed = parse_expr(sql)?;
    let mut b = Binder::new(cx.catalog, &[]);
    b.scopes = vec![table_scope(table, &table.name)];
    if has_aggregate(&parsed, &b) {
        return Err(SqlError::Grouping(
            "aggregate functions are not allowed in index expressions".into(),
        ));
    }
    let e = b.bind_expr(&parsed)?;
    let mut immutable = true;
    let mut subquery = false;
    e.walk(&mut |x| match x {
        Expr::Func(f, ..) if f.is_volatile() => immutable = false,
        Expr::Routine(call, _) if call.def.volatility != Volatility::Immutable => {
            immutable = false;
        }
        Expr::Subquery(..) | Expr::Outer { .. } => subquery = true,
        _ => {}
    });
    if subquery {
        return Err(SqlError::unsupported(
            "cannot use subquery in index expression",
        ));
    }
    if !immutable {
        return Err(SqlError::Semantic {
            state: SqlState::INVALID_OBJECT_DEFINITION,
            message: "functions in index expression must be marked IMMUTABLE".into(),
        });
    }
    Ok(e)
}

/// The key values of `index` for `row`: its columns, or its expressions
/// evaluated over the row.
pub(crate) fn index_values(
    table: &TableDef,
    index: &IndexDef,
    row: &[Value],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Vec<Value>> {
    if !index.on_expressions() {
        return Ok(index.columns.iter().map(|i| row[*i].clone()).collect());
    }
    index
        .expressions
        .iter()
        .map(|x| {
            let e = bind_index_expr(table, &x.sql, cx)?;
            let v = eval(&e, row, cx)?;
            Ok(if v.is_null() { v } else { v.cast(&x.ty)? })
        })
        .collect()
}
