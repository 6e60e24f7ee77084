//! `generate_series(…)` in the select list, PostgreSQL's set-returning
//! function in a target list: each input row comes out once per value.
//!
//! That is a LATERAL join of the FROM row with the series, so the query
//! is rewritten into one: the call moves into FROM as
//! `LATERAL (SELECT * FROM generate_series(…)) AS "?srf"(generate_series)`
//! and the select list reads its column where the call was. Two series in
//! one select list (which PostgreSQL runs in lockstep) and a series over
//! an aggregating query (computed after the grouping in PostgreSQL) are
//! refused rather than given another meaning.

use std::ops::ControlFlow;

use sqlparser::ast::{self, Visit, VisitMut, Visitor, VisitorMut};

use crate::sql::error::{SqlError, SqlResult};

const SERIES: &str = "generate_series";
const ALIAS: &str = "?srf";

fn is_series(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Function(f) if f.over.is_none()
        && f.name.0.len() == 1
        && f.name.to_string().eq_ignore_ascii_case(SERIES))
}

/// Counts the series calls of the select list, not looking into
/// subqueries (their select lists are theirs).
struct Count(usize);

impl Visitor for Count {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &ast::Expr) -> ControlFlow<()> {
        if is_series(e) {
            self.0 += 1;
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, _: &ast::Query) -> ControlFlow<()> {
        ControlFlow::Break(())
    }
}

/// Takes the series call out, leaving a reference to its column.
struct Take(Option<ast::Expr>);

impl VisitorMut for Take {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        if self.0.is_none() && is_series(e) {
            let column = ast::Expr::CompoundIdentifier(vec![
                ast::Ident::with_quote('"', ALIAS),
                ast::Ident::new(SERIES),
            ]);
            self.0 = Some(std::mem::replace(e, column));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, _: &mut ast::Query) -> ControlFlow<()> {
        ControlFlow::Break(())
    }
}

/// `q` with a series in its select list moved into FROM; `None` when it
/// has none.
pub(super) fn expand(q: &ast::Query, aggregating: bool) -> SqlResult<Option<ast::Query>> {
    let ast::SetExpr::Select(select) = q.body.as_ref() else {
        return Ok(None);
    };
    let mut count = Count(0);
    for item in &select.projection {
        // The walk of an item stops at its first subquery (a Break).
        let _ = item.visit(&mut count);
    }
    match count.0 {
        0 => return Ok(None),
        1 => {}
        _ => {
            return Err(SqlError::unsupported(
                "more than one set-returning function in a select list",
            ));
        }
    }
    if aggregating {
        return Err(SqlError::unsupported(
            "set-returning functions in the select list of an aggregating query",
        ));
    }
    let mut select = select.as_ref().clone();
    let mut take = Take(None);
    for item in &mut select.projection {
        let _ = item.visit(&mut take);
    }
    let Some(call) = take.0 else {
        return Ok(None);
    };
    // The series keeps its name as an output column, as in PostgreSQL.
    for item in &mut select.projection {
        if let ast::SelectItem::UnnamedExpr(e @ ast::Expr::CompoundIdentifier(_)) = item
            && e.to_string() == format!("\"{ALIAS}\".{SERIES}")
        {
            *item = ast::SelectItem::ExprWithAlias {
                expr: e.clone(),
                alias: ast::Ident::new(SERIES),
            };
        }
    }
    let ast::Expr::Function(f) = call else {
        return Ok(None);
    };
    let ast::FunctionArguments::List(list) = &f.args else {
        return Err(SqlError::unsupported("generate_series without arguments"));
    };
    let series = ast::TableFactor::Table {
        name: ast::ObjectName::from(vec![ast::Ident::new(SERIES)]),
        alias: None,
        args: Some(ast::TableFunctionArgs {
            args: list.args.clone(),
            settings: None,
        }),
        with_hints: Vec::new(),
        version: None,
        with_ordinality: false,
        partitions: Vec::new(),
        json_path: None,
        sample: None,
        index_hints: Vec::new(),
    };
    let inner = ast::Query {
        with: None,
        body: Box::new(ast::SetExpr::Select(Box::new(ast::Select {
            projection: vec![ast::SelectItem::Wildcard(
                ast::WildcardAdditionalOptions::default(),
            )],
            from: vec![ast::TableWithJoins {
                relation: series,
                joins: Vec::new(),
            }],
            ..empty_select(&select)
        }))),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: Vec::new(),
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: Vec::new(),
    };
    select.from.push(ast::TableWithJoins {
        relation: ast::TableFactor::Derived {
            lateral: true,
            subquery: Box::new(inner),
            alias: Some(ast::TableAlias {
                name: ast::Ident::with_quote('"', ALIAS),
                columns: vec![ast::TableAliasColumnDef::from_name(SERIES)],
            }),
        },
        joins: Vec::new(),
    });
    let mut out = q.clone();
    out.body = Box::new(ast::SetExpr::Select(Box::new(select)));
    Ok(Some(out))
}

/// A SELECT with nothing in it, shaped like `like` (the parser's defaults
/// for the clauses this rewrite does not set).
fn empty_select(like: &ast::Select) -> ast::Select {
    ast::Select {
        distinct: None,
        top: None,
        projection: Vec::new(),
        into: None,
        from: Vec::new(),
        lateral_views: Vec::new(),
        prewhere: None,
        selection: None,
        group_by: ast::GroupByExpr::Expressions(Vec::new(), Vec::new()),
        cluster_by: Vec::new(),
        distribute_by: Vec::new(),
        sort_by: Vec::new(),
        having: None,
        named_window: Vec::new(),
        qualify: None,
        connect_by: None,
        ..like.clone()
    }
}
