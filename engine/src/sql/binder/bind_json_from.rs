//! `jsonb_object_keys(doc)` and `json_object_keys(doc)` in FROM: a series
//! of positions 1..=n over the object's keys, each projected to its key, as
//! `unnest` is built (see `bind_catalog_from`).

use super::bind_catalog_from::names;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{Expr, Func, JsonFunc};
use crate::sql::plan::{Column, Plan};
use crate::types::{DataType, Value};

/// Binds `fname(args)` when it is one of this module's functions.
pub(super) fn bind(
    fname: &str,
    args: &mut Vec<Expr>,
    alias: Option<&sqlparser::ast::TableAlias>,
    with_ordinality: bool,
    coerce: &mut dyn FnMut(Expr, DataType) -> SqlResult<Expr>,
) -> SqlResult<Option<Plan>> {
    let (ty, jsonb) = match fname {
        "jsonb_object_keys" => (DataType::Jsonb, true),
        "json_object_keys" => (DataType::Json, false),
        _ => return Ok(None),
    };
    if args.len() != 1 {
        return Err(SqlError::UndefinedFunction(format!(
            "function {fname} with {} arguments does not exist",
            args.len()
        )));
    }
    let doc = coerce(args.remove(0), ty)?;
    let (table, names) = names(fname, alias, with_ordinality);
    let column = |name: &String, ty| Column {
        name: name.clone(),
        table: Some(table.clone()),
        ty,
    };
    let int = |n: i32| Expr::Literal(Value::Int4(n), DataType::Int4);
    let count = Expr::Func(
        Func::Json(JsonFunc::ObjectKeyCount { jsonb }),
        vec![doc.clone()],
        DataType::Int4,
    );
    // A NULL document has no keys: no rows.
    let series = Plan::Series {
        start: int(1),
        stop: Expr::Func(Func::Coalesce, vec![count, int(0)], DataType::Int4),
        step: int(1),
        columns: vec![column(&"i".to_owned(), DataType::Int4)],
    };
    let position = Expr::Cast(Box::new(Expr::Column(0, DataType::Int4)), DataType::Int8);
    let mut exprs = vec![Expr::Func(
        Func::Json(JsonFunc::ObjectKeyAt),
        vec![doc, position.clone()],
        DataType::Text,
    )];
    let mut columns = vec![column(&names[0], DataType::Text)];
    if with_ordinality {
        exprs.push(position);
        columns.push(column(&names[1], DataType::Int8));
    }
    Ok(Some(Plan::Project {
        input: Box::new(series),
        exprs,
        columns,
    }))
}
