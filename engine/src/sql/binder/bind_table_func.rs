//! Functions in FROM that return rows. Built in: `generate_series` over
//! integers and numerics.

use sqlparser::ast;

use super::{Binder, bind_constant_expr, ident, object_name, promote};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::Expr;
use crate::sql::plan::{Column, Plan};
use crate::types::{DataType, Value};

/// Binds `name(args) [AS alias [(column)]]` in FROM.
pub(super) fn bind_table_function(
    b: &mut Binder<'_>,
    name: &ast::ObjectName,
    args: &ast::TableFunctionArgs,
    alias: Option<&ast::TableAlias>,
    with_ordinality: bool,
) -> SqlResult<Plan> {
    let fname = object_name(name)?;
    let mut bound = Vec::new();
    for a in &args.args {
        match a {
            // In the FROM of a subquery the query's own scope is still
            // empty, and binding there keeps references to the enclosing
            // query at their true depth (`unnest(outer.col)`); a scope of
            // its own would put them one level too far out.
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))
                if b.scopes.len() > 1 && b.scopes.last().is_some_and(Vec::is_empty) =>
            {
                bound.push(b.bind_expr(e)?);
            }
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                bound.push(bind_constant_expr(b, e)?);
            }
            other => {
                return Err(SqlError::unsupported(format!(
                    "argument {other} of a function in FROM is not supported"
                )));
            }
        }
    }
    if let Some(plan) =
        super::bind_catalog_from::bind(&fname, &mut bound, alias, with_ordinality, &mut |e, ty| {
            b.coerce(e, ty)
        })?
    {
        return Ok(plan);
    }
    if with_ordinality {
        return Err(SqlError::unsupported(format!(
            "{fname} WITH ORDINALITY is not supported"
        )));
    }
    if fname != "generate_series" || !(2..=3).contains(&bound.len()) {
        let types: Vec<&str> = bound.iter().map(|e| e.ty().name()).collect();
        return Err(SqlError::UndefinedFunction(format!(
            "function {fname}({}) does not exist",
            types.join(", ")
        )));
    }
    let is_number = |t: DataType| {
        matches!(
            t,
            DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Numeric { .. }
        )
    };
    // Untyped literals ('1') read as integers; the series has the type
    // its arguments promote to (int4, int8 or numeric).
    let mut ty = DataType::Int4;
    for e in &bound {
        let t = e.ty();
        if !is_number(t)
            && !matches!(
                e,
                Expr::Literal(Value::Null | Value::Text(_), DataType::Text)
            )
        {
            return Err(SqlError::UndefinedFunction(format!(
                "function generate_series({}) does not exist",
                bound
                    .iter()
                    .map(|e| e.ty().name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if is_number(t) {
            ty = promote(ty, t);
        }
    }
    let mut coerced = Vec::new();
    for e in bound {
        coerced.push(b.coerce(e, ty)?);
    }
    let mut it = coerced.into_iter();
    let (Some(start), Some(stop)) = (it.next(), it.next()) else {
        return Err(SqlError::Internal("generate_series arity".into()));
    };
    let step = it
        .next()
        .unwrap_or(Expr::Literal(Value::Int4(1).cast(&ty)?, ty));
    // With an alias, PostgreSQL names the column after it (or after the
    // alias's column list); without, after the function.
    let column = alias
        .map(|a| {
            a.columns
                .first()
                .map_or_else(|| ident(&a.name), |c| ident(&c.name))
        })
        .unwrap_or_else(|| fname.clone());
    let table = alias.map_or_else(|| fname.clone(), |a| ident(&a.name));
    Ok(Plan::Series {
        start,
        stop,
        step,
        columns: vec![Column {
            name: column,
            table: Some(table),
            ty,
        }],
    })
}
