//! Row-returning functions in FROM that catalog queries use:
//! `unnest(array)` over an array's text form (psql's `\d+` reads
//! `reloptions` with it), and `pg_partition_ancestors(relation)`, which
//! for a relation that is not a partition (none is) is the relation alone.

use sqlparser::ast;

use super::ident;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{DescribeFunc, Expr, Func, PgFunc};
use crate::sql::plan::{Column, Plan};
use crate::types::{DataType, Value};

/// The output column names: the alias's list, else the alias, else the
/// function's name; WITH ORDINALITY adds `ordinality`.
pub(super) fn names(
    fname: &str,
    alias: Option<&ast::TableAlias>,
    with_ordinality: bool,
) -> (String, Vec<String>) {
    let table = alias.map_or_else(|| fname.to_owned(), |a| ident(&a.name));
    let listed: Vec<String> = alias
        .map(|a| a.columns.iter().map(|c| ident(&c.name)).collect())
        .unwrap_or_default();
    let mut out = vec![listed.first().cloned().unwrap_or_else(|| table.clone())];
    if with_ordinality {
        out.push(
            listed
                .get(1)
                .cloned()
                .unwrap_or_else(|| "ordinality".to_owned()),
        );
    }
    (table, out)
}

/// Binds `fname(args)` when it is one of this module's functions.
pub(super) fn bind(
    fname: &str,
    args: &mut Vec<Expr>,
    alias: Option<&ast::TableAlias>,
    with_ordinality: bool,
    coerce: &mut dyn FnMut(Expr, DataType) -> SqlResult<Expr>,
) -> SqlResult<Option<Plan>> {
    if !matches!(fname, "unnest" | "pg_partition_ancestors") {
        return Ok(None);
    }
    if args.len() != 1 {
        return Err(SqlError::UndefinedFunction(format!(
            "function {fname} with {} arguments does not exist",
            args.len()
        )));
    }
    let arg = args.remove(0);
    let (table, names) = names(fname, alias, with_ordinality);
    let column = |name: &String, ty| Column {
        name: name.clone(),
        table: Some(table.clone()),
        ty,
    };
    let int = |n: i32| Expr::Literal(Value::Int4(n), DataType::Int4);
    if fname == "pg_partition_ancestors" {
        let relid = coerce(arg, DataType::Int8)?;
        let mut row = vec![relid];
        let mut columns = vec![column(&names[0], DataType::Int8)];
        if with_ordinality {
            row.push(Expr::Literal(Value::Int8(1), DataType::Int8));
            columns.push(column(&names[1], DataType::Int8));
        }
        return Ok(Some(Plan::Values {
            rows: vec![row],
            columns,
        }));
    }
    // unnest: positions 1..=n, each projected to its element.
    let array = coerce(arg, DataType::Text)?;
    let upper = Expr::Func(
        Func::Pg(PgFunc::Describe(DescribeFunc::ArrayUpper)),
        vec![array.clone(), int(1)],
        DataType::Int4,
    );
    let series = Plan::Series {
        start: int(1),
        stop: Expr::Func(Func::Coalesce, vec![upper, int(0)], DataType::Int4),
        step: int(1),
        columns: vec![column(&"i".to_owned(), DataType::Int4)],
    };
    let position = Expr::Column(0, DataType::Int4);
    let mut exprs = vec![Expr::Func(
        Func::Pg(PgFunc::Describe(DescribeFunc::ArraySubscript)),
        vec![array, position.clone()],
        DataType::Text,
    )];
    let mut columns = vec![column(&names[0], DataType::Text)];
    if with_ordinality {
        exprs.push(Expr::Cast(Box::new(position), DataType::Int8));
        columns.push(column(&names[1], DataType::Int8));
    }
    Ok(Some(Plan::Project {
        input: Box::new(series),
        exprs,
        columns,
    }))
}
