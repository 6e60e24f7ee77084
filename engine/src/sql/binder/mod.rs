//! Binding: from sqlparser's syntax tree to plans whose every name is
//! resolved and every expression typed. One file per statement kind;
//! expressions and the type rules they share live here and in
//! `bind_expr.rs`.

mod bind_catalog;
mod bind_catalog_from;
mod bind_coerce;
mod bind_datetime;
mod bind_expr;
mod bind_from;
mod bind_func;
mod bind_ops;
mod bind_recursive;
mod bind_routine;
mod bind_select;
mod bind_table_func;

use sqlparser::ast;

use crate::catalog::Catalog;
use crate::types::DataType;

use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::expr::Expr;
use super::plan::{AggCall, Column};

pub(crate) use bind_from::bind_from;
pub(crate) use bind_func::has_aggregate;
pub(crate) use bind_recursive::bind_cte;
pub(crate) use bind_select::{bind_query, output_name};

/// The state of binding one statement.
pub struct Binder<'a> {
    pub(crate) catalog: &'a Catalog,
    /// Types inferred for `$1`, `$2`, ... (`None`: not yet known).
    pub(crate) params: Vec<Option<DataType>>,
    /// Columns visible to the expression being bound, innermost query
    /// last; all but the last are outer queries (correlation).
    pub(crate) scopes: Vec<Vec<Column>>,
    /// Set while binding the select list, HAVING and ORDER BY of an
    /// aggregating query.
    pub(crate) agg: Option<AggContext>,
    /// The aggregate contexts of the enclosing queries, innermost last
    /// (`None` for one that does not aggregate): an aggregate whose
    /// arguments read only the query just outside belongs to that query.
    pub(crate) outer_aggs: Vec<Option<AggContext>>,
    /// Common table expressions in scope, innermost last.
    pub(crate) ctes: Vec<(String, super::plan::Plan)>,
    /// Rows of the system views the statement names (`sql::routine::views`).
    pub(crate) system_views: Option<&'a super::routine::views::SystemViews>,
    /// The schemas a bare routine name is looked up in (`search_path`).
    pub(crate) search_path: Vec<String>,
    /// The role whose privileges the tables read and routines called must
    /// allow (the statement's current user, a view's owner inside the
    /// view); `None` binds without checks, for plans that only describe
    /// or that the engine makes for itself.
    pub(crate) user: Option<&'a str>,
}

/// How expressions bind above a GROUP BY: group keys and aggregates
/// become columns of the aggregate's output.
pub(crate) struct AggContext {
    /// The GROUP BY expressions as written, to recognise them again.
    pub(crate) group_keys: Vec<ast::Expr>,
    /// Their bound types.
    pub(crate) group_types: Vec<DataType>,
    /// The aggregates found so far.
    pub(crate) aggs: Vec<AggCall>,
    /// The input's columns, for aggregate arguments.
    pub(crate) input: Vec<Column>,
}

impl<'a> Binder<'a> {
    /// A binder over `catalog`, with the parameter types the client gave
    /// (`None` or a shorter list leave them to inference).
    pub fn new(catalog: &'a Catalog, param_types: &[Option<DataType>]) -> Self {
        Binder {
            catalog,
            params: param_types.to_vec(),
            scopes: vec![Vec::new()],
            agg: None,
            outer_aggs: Vec::new(),
            ctes: Vec::new(),
            system_views: None,
            search_path: vec!["public".to_owned()],
            user: None,
        }
    }

    /// The binder of SQL a client wrote, run as part of statement `cx`:
    /// the statement's parameter types, its user's privilege checks, the
    /// session's `search_path`, and the system views the statement names.
    /// Every part of one statement (a writing CTE and the statement it
    /// feeds, EXPLAIN's, COPY's query) binds through here, so each part
    /// resolves names as the others do.
    pub(crate) fn for_statement<'c: 'a>(
        cx: &ExecCtx<'c>,
        system_views: Option<&'a super::routine::views::SystemViews>,
    ) -> Binder<'a> {
        let mut b = Binder::new(cx.catalog, cx.param_types);
        b.user = Some(cx.user);
        b.search_path = cx.settings.search_path.clone();
        b.system_views = system_views;
        b
    }
}

/// The numeric type two numbers promote to (PostgreSQL's implicit
/// casts: int2 < int4 < int8 < numeric < float4 < float8, where a float4
/// meeting anything wider than itself becomes float8).
pub(crate) fn promote(a: DataType, b: DataType) -> DataType {
    fn rank(t: &DataType) -> u8 {
        match t {
            DataType::Int2 => 1,
            DataType::Int4 => 2,
            DataType::Int8 => 3,
            DataType::Numeric { .. } => 4,
            DataType::Float4 => 5,
            DataType::Float8 => 6,
            _ => 0,
        }
    }
    match (a, b) {
        (DataType::Float4, DataType::Float4) => DataType::Float4,
        (DataType::Float4, _) | (_, DataType::Float4) => DataType::Float8,
        (DataType::Numeric { .. }, DataType::Numeric { .. }) => DataType::Numeric {
            precision: None,
            scale: None,
        },
        _ if rank(&a) >= rank(&b) => a,
        _ => b,
    }
}

/// Maps a column's declared type to the type its values compute with
/// (`varchar(n)` computes as text, `numeric(p,s)` as numeric).
pub(crate) fn base_type(t: DataType) -> DataType {
    match t {
        DataType::Varchar(_) | DataType::Char(_) => DataType::Text,
        DataType::Numeric { .. } => DataType::Numeric {
            precision: None,
            scale: None,
        },
        DataType::Jsonb => DataType::Json,
        other => other,
    }
}

/// A 42804/42883-style error for operands that do not go together.
pub(crate) fn mismatch(op: &str, l: DataType, r: DataType) -> SqlError {
    SqlError::UndefinedFunction(format!(
        "operator does not exist: {} {op} {}",
        l.name(),
        r.name()
    ))
}

/// The type named by sqlparser's data type.
pub(crate) fn data_type(t: &ast::DataType) -> SqlResult<DataType> {
    let text = t.to_string().to_lowercase();
    let text = match text.as_str() {
        "int" | "integer" | "int4" => "integer",
        "double" => "double precision",
        other => other,
    };
    Ok(text.parse::<DataType>()?)
}

/// An identifier as PostgreSQL folds it: quoted names keep their case.
pub(crate) fn ident(i: &ast::Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

/// The last part of an object name (schemas are accepted and ignored:
/// there is one, `public`).
pub(crate) fn object_name(n: &ast::ObjectName) -> SqlResult<String> {
    match n.0.last().and_then(|p| p.as_ident()) {
        Some(i) => Ok(ident(i)),
        None => Err(SqlError::Syntax(format!("invalid name {n}"))),
    }
}

/// Binds one expression with no input row (VALUES, LIMIT, defaults).
pub(crate) fn bind_constant_expr(binder: &mut Binder<'_>, e: &ast::Expr) -> SqlResult<Expr> {
    binder.scopes.push(Vec::new());
    let r = binder.bind_expr(e);
    binder.scopes.pop();
    r
}
