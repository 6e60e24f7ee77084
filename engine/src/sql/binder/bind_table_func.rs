//! Functions in FROM that return rows. Built in: `generate_series` over
//! integers and numerics; and Wasm table functions (`textkit.split_words('a
//! b')`), which may read the columns of the FROM items before them
//! (`FROM t, LATERAL m.f(t.x)`; as in PostgreSQL, a function in FROM is
//! lateral even without the keyword).

use std::sync::Arc;

use sqlparser::ast;

use super::bind_routine::RoutineName;
use super::{Binder, bind_constant_expr, ident, object_name, promote};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::Expr;
use crate::sql::plan::{Column, Plan};
use crate::types::{DataType, Value};

/// The Wasm table function a FROM item calls, if it is one.
pub(super) fn wasm_table_function(
    b: &Binder<'_>,
    f: &ast::TableFactor,
) -> Option<Arc<crate::catalog::routine::RoutineDef>> {
    let name = match f {
        ast::TableFactor::Table {
            name,
            args: Some(_),
            ..
        }
        | ast::TableFactor::Function { name, .. } => name,
        _ => return None,
    };
    let n = RoutineName::of(name).ok()?;
    b.find_routine(&n)
        .filter(|d| d.kind == crate::extension::RoutineKind::Table)
}

/// Binds a call of Wasm table function `def` in FROM, over the rows of
/// `left` when FROM items come before it (each `left` row is followed by
/// the function's rows for it).
pub(super) fn bind_wasm_table_function(
    b: &mut Binder<'_>,
    def: Arc<crate::catalog::routine::RoutineDef>,
    f: &ast::TableFactor,
    left: Option<Plan>,
) -> SqlResult<Plan> {
    let (args, alias) = match f {
        ast::TableFactor::Table {
            args: Some(args),
            alias,
            ..
        } => (&args.args, alias.as_ref()),
        ast::TableFactor::Function { args, alias, .. } => (args, alias.as_ref()),
        _ => return Err(SqlError::Internal("not a function in FROM".into())),
    };
    let left_columns = left.as_ref().map(Plan::columns).unwrap_or_default();
    // The arguments see the earlier FROM items' columns as this query's
    // own row (the operator evaluates them over each left row).
    let saved = std::mem::replace(
        b.scopes
            .last_mut()
            .ok_or_else(|| SqlError::Internal("no scope".into()))?,
        left_columns.clone(),
    );
    let bound = args
        .iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => b.bind_expr(e),
            other => Err(SqlError::unsupported(format!(
                "argument {other} of a function in FROM is not supported"
            ))),
        })
        .collect::<SqlResult<Vec<Expr>>>();
    if let Some(scope) = b.scopes.last_mut() {
        *scope = saved;
    }
    let args = b.routine_args(&def, bound?)?;
    let qualifier = alias.map_or_else(|| def.name.clone(), |a| ident(&a.name));
    let names = alias.map_or(&[][..], |a| a.columns.as_slice());
    if names.len() > def.returns.len() {
        return Err(SqlError::Syntax(format!(
            "table \"{qualifier}\" has {} columns available but {} columns specified",
            def.returns.len(),
            names.len()
        )));
    }
    let mut columns = left_columns;
    columns.extend(def.returns.iter().enumerate().map(|(i, c)| {
        Column {
            name: names
                .get(i)
                .map_or_else(|| c.name.clone(), |n| ident(&n.name)),
            table: Some(qualifier.clone()),
            ty: c.data_type,
        }
    }));
    let ty = def.returns.first().map_or(DataType::Text, |c| c.data_type);
    Ok(Plan::TableFunction {
        call: Arc::new(crate::sql::expr::RoutineCall { def, ty }),
        args,
        input: left.map(Box::new),
        left_join: None,
        columns,
    })
}

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
    if let Some(plan) =
        super::bind_json_from::bind(&fname, &mut bound, alias, with_ordinality, &mut |e, ty| {
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
