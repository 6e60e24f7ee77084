//! Queries: WITH, set operations, SELECT (FROM, WHERE, GROUP BY, HAVING,
//! the select list, DISTINCT), ORDER BY, LIMIT and OFFSET.

use sqlparser::ast;

use super::bind_from::bind_from;
use super::bind_func::has_aggregate;
use super::bind_locking::{Locking, RowLocks, carry_from_row, is_lock_key, locking};
use super::bind_window::{WindowContext, place_windows};
use super::{AggContext, Binder, bind_constant_expr, ident, object_name};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::Expr;
use crate::sql::plan::{Column, Plan, SetOpKind, SortKey};
use crate::sql::planner::{optimize, push_filter};
use crate::types::DataType;

/// Binds a query to a plan.
pub(crate) fn bind_query(b: &mut Binder<'_>, q: &ast::Query) -> SqlResult<Plan> {
    // A query nested in a locking SELECT (a subquery, a view's) locks
    // only by its own clauses.
    let outer_locks = b.row_locks.take();
    let cte_mark = b.ctes.len();
    if let Some(with) = &q.with {
        for cte in &with.cte_tables {
            let plan = super::bind_recursive::bind_cte(b, cte, with.recursive)?;
            b.ctes.push((ident(&cte.alias.name), plan));
        }
    }
    let result = bind_query_body(b, q);
    b.ctes.truncate(cte_mark);
    b.row_locks = outer_locks;
    result.map(|p| optimize(p, b.catalog))
}

fn bind_query_body(b: &mut Binder<'_>, q: &ast::Query) -> SqlResult<Plan> {
    if let Some(expanded) = super::bind_grouping_sets::expand(q)? {
        return bind_query_body(b, &expanded);
    }
    if let ast::SetExpr::Select(s) = q.body.as_ref() {
        let grouped = !matches!(&s.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty());
        let aggregating = grouped
            || s.having.is_some()
            || s.projection.iter().any(|p| match p {
                ast::SelectItem::UnnamedExpr(e)
                | ast::SelectItem::ExprWithAlias { expr: e, .. } => has_aggregate(e, b),
                _ => false,
            });
        if let Some(expanded) = super::bind_srf::expand(q, aggregating)? {
            return bind_query_body(b, &expanded);
        }
    }
    let order_by: &[ast::OrderByExpr] = match &q.order_by {
        Some(ast::OrderBy {
            kind: ast::OrderByKind::Expressions(e),
            ..
        }) => e,
        Some(_) => return Err(SqlError::unsupported("ORDER BY ALL is not supported")),
        None => &[],
    };
    if !q.locks.is_empty() {
        let locks = RowLocks::new(&q.locks)?;
        if !matches!(q.body.as_ref(), ast::SetExpr::Select(_)) {
            return Err(locks.not_allowed("UNION/INTERSECT/EXCEPT"));
        }
        b.row_locks = Some(locks);
    }
    let mut plan = match q.body.as_ref() {
        ast::SetExpr::Select(select) => bind_select(b, select, order_by)?,
        body => {
            let plan = bind_set_expr(b, body)?;
            if order_by.is_empty() {
                plan
            } else {
                let columns = plan.columns();
                let mut keys = Vec::new();
                for o in order_by {
                    let expr = output_ref(&o.expr, &columns)?.ok_or_else(|| {
                        SqlError::unsupported(
                            "ORDER BY on a set operation must name an output column",
                        )
                    })?;
                    keys.push(sort_key(expr, &o.options));
                }
                Plan::Sort {
                    input: Box::new(plan),
                    keys,
                }
            }
        }
    };
    let (mut limit, offset) = match &q.limit_clause {
        Some(ast::LimitClause::LimitOffset { limit, offset, .. }) => {
            (limit.clone(), offset.as_ref().map(|o| o.value.clone()))
        }
        Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
            (Some(limit.clone()), Some(offset.clone()))
        }
        None => (None, None),
    };
    // FETCH FIRST n ROWS ONLY is the standard's LIMIT n (n defaults to 1).
    if let Some(fetch) = &q.fetch {
        if fetch.with_ties || fetch.percent {
            return Err(SqlError::unsupported(
                "FETCH FIRST ... WITH TIES / PERCENT is not supported",
            ));
        }
        limit = Some(
            fetch
                .quantity
                .clone()
                .unwrap_or_else(|| ast::Expr::value(ast::Value::Number("1".into(), false))),
        );
    }
    if limit.is_some() || offset.is_some() {
        let limit = limit.map(|e| bind_constant_expr(b, &e)).transpose()?;
        let offset = offset.map(|e| bind_constant_expr(b, &e)).transpose()?;
        plan = Plan::Limit {
            input: Box::new(plan),
            limit,
            offset,
        };
    }
    Ok(plan)
}

pub(super) fn bind_set_expr(b: &mut Binder<'_>, body: &ast::SetExpr) -> SqlResult<Plan> {
    match body {
        ast::SetExpr::Select(s) => bind_select(b, s, &[]),
        ast::SetExpr::Query(q) => bind_query(b, q),
        ast::SetExpr::Values(v) => bind_values(b, v),
        ast::SetExpr::SetOperation {
            op,
            set_quantifier,
            left,
            right,
        } => {
            let l = bind_set_expr(b, left)?;
            let r = bind_set_expr(b, right)?;
            let kind = match op {
                ast::SetOperator::Union => SetOpKind::Union,
                ast::SetOperator::Intersect => SetOpKind::Intersect,
                ast::SetOperator::Except | ast::SetOperator::Minus => SetOpKind::Except,
            };
            let (lc, rc) = (l.columns(), r.columns());
            let name = format!("{kind:?}").to_uppercase();
            if lc.len() != rc.len() {
                return Err(SqlError::Syntax(format!(
                    "each {name} query must have the same number of columns"
                )));
            }
            let mut l_exprs = Vec::new();
            let mut r_exprs = Vec::new();
            let mut columns = Vec::new();
            for (i, (a, c)) in lc.iter().zip(&rc).enumerate() {
                // A branch's bare NULL or string literal is still of
                // unknown type and takes the other branch's, as in
                // PostgreSQL (`SELECT NULL UNION SELECT 1`).
                let (l_unknown, r_unknown) = (unknown_output(&l, i), unknown_output(&r, i));
                let probe = |u: &Option<Expr>, ty| u.clone().unwrap_or(Expr::Column(i, ty));
                let (ty, _) = b.common_type(
                    vec![probe(&l_unknown, a.ty), probe(&r_unknown, c.ty)],
                    &name,
                )?;
                for (unknown, from, out) in [
                    (&l_unknown, a.ty, &mut l_exprs),
                    (&r_unknown, c.ty, &mut r_exprs),
                ] {
                    let column = Expr::Column(i, from);
                    out.push(if unknown.is_some() && ty != from {
                        Expr::Cast(Box::new(column), ty)
                    } else {
                        b.coerce(column, ty)?
                    });
                }
                columns.push(Column {
                    name: a.name.clone(),
                    table: None,
                    ty,
                });
            }
            let all = matches!(set_quantifier, ast::SetQuantifier::All);
            Ok(Plan::SetOp {
                kind,
                all,
                left: Box::new(Plan::Project {
                    input: Box::new(l),
                    exprs: l_exprs,
                    columns: columns.clone(),
                }),
                right: Box::new(Plan::Project {
                    input: Box::new(r),
                    exprs: r_exprs,
                    columns,
                }),
            })
        }
        other => Err(SqlError::unsupported(format!("{other} is not supported"))),
    }
}

/// The `i`th output of `plan` when it is a literal of unknown type (a
/// NULL or a string) in a select list.
fn unknown_output(plan: &Plan, i: usize) -> Option<Expr> {
    match plan {
        Plan::Project { exprs, .. } => exprs
            .get(i)
            .filter(|e| matches!(e, Expr::Literal(..)) && super::bind_coerce::is_unknown(e))
            .cloned(),
        _ => None,
    }
}

/// `VALUES (...), (...)`: columns `column1`, `column2`, ... typed by the
/// common type of each column.
pub(crate) fn bind_values(b: &mut Binder<'_>, v: &ast::Values) -> SqlResult<Plan> {
    let width = v.rows.first().map_or(0, Vec::len);
    let mut rows = Vec::with_capacity(v.rows.len());
    for row in &v.rows {
        if row.len() != width {
            return Err(SqlError::Syntax(
                "VALUES lists must all be the same length".into(),
            ));
        }
        let mut out = Vec::with_capacity(width);
        for e in row {
            out.push(bind_constant_expr(b, e)?);
        }
        rows.push(out);
    }
    let mut columns = Vec::with_capacity(width);
    for i in 0..width {
        let col: Vec<Expr> = rows.iter().map(|r| r[i].clone()).collect();
        let (ty, col) = b.common_type(col, "VALUES")?;
        for (r, e) in rows.iter_mut().zip(col) {
            r[i] = e;
        }
        columns.push(Column {
            name: format!("column{}", i + 1),
            table: None,
            ty,
        });
    }
    Ok(Plan::Values { rows, columns })
}

/// An ORDER BY item that names an output column by alias or position.
fn output_ref(e: &ast::Expr, columns: &[Column]) -> SqlResult<Option<Expr>> {
    match e {
        ast::Expr::Value(v) => {
            if let ast::Value::Number(n, _) = &v.value {
                let pos: usize = n.parse().unwrap_or(0);
                if pos == 0 || pos > columns.len() {
                    return Err(SqlError::Semantic {
                        state: crate::SqlState::INVALID_COLUMN_REFERENCE,
                        message: format!("ORDER BY position {n} is not in select list"),
                    });
                }
                return Ok(Some(Expr::Column(pos - 1, columns[pos - 1].ty)));
            }
            Ok(None)
        }
        ast::Expr::Identifier(id) => {
            let name = ident(id);
            Ok(columns
                .iter()
                .position(|c| c.name == name)
                .map(|i| Expr::Column(i, columns[i].ty)))
        }
        _ => Ok(None),
    }
}

pub(super) fn sort_key(expr: Expr, o: &ast::OrderByOptions) -> SortKey {
    let desc = o.asc == Some(false);
    SortKey {
        expr,
        desc,
        nulls_first: o.nulls_first.unwrap_or(desc),
    }
}

fn bind_select(
    b: &mut Binder<'_>,
    s: &ast::Select,
    order_by: &[ast::OrderByExpr],
) -> SqlResult<Plan> {
    // The select list of a query around this one is not this one's.
    let outer_windows = b.windows.take();
    let plan = bind_from(b, &s.from);
    let row_locks = b.row_locks.take();
    let mut plan = match plan {
        Ok(plan) => plan,
        Err(e) => {
            b.windows = outer_windows;
            return Err(e);
        }
    };
    let from_cols = plan.columns();
    let saved_scope = std::mem::replace(
        b.scopes
            .last_mut()
            .ok_or_else(|| SqlError::Internal("no scope".into()))?,
        from_cols.clone(),
    );
    let result = (|| -> SqlResult<Plan> {
        let mut where_pred = None;
        if let Some(w) = &s.selection {
            if has_aggregate(w, b) {
                return Err(SqlError::Grouping(
                    "aggregate functions are not allowed in WHERE".into(),
                ));
            }
            let pred = b.bind_expr(w)?;
            // An untyped NULL (or '...' literal) is read as a boolean here.
            let pred = match pred {
                Expr::Literal(
                    crate::types::Value::Null | crate::types::Value::Text(_),
                    DataType::Text,
                ) => b.coerce(pred, DataType::Bool)?,
                other => other,
            };
            if pred.ty() != DataType::Bool {
                return Err(SqlError::DatatypeMismatch(format!(
                    "argument of WHERE must be type boolean, not type {}",
                    pred.ty().name()
                )));
            }
            if row_locks.is_some() {
                where_pred = Some(pred.clone());
            }
            plan = push_filter(plan, pred);
        }
        let group_exprs: Vec<ast::Expr> = match &s.group_by {
            ast::GroupByExpr::Expressions(e, _) => e.clone(),
            ast::GroupByExpr::All(_) => {
                return Err(SqlError::unsupported("GROUP BY ALL is not supported"));
            }
        };
        let aggregating = !group_exprs.is_empty()
            || s.having.is_some()
            || s.projection.iter().any(|p| match p {
                ast::SelectItem::UnnamedExpr(e)
                | ast::SelectItem::ExprWithAlias { expr: e, .. } => has_aggregate(e, b),
                _ => false,
            })
            || order_by.iter().any(|o| has_aggregate(&o.expr, b));
        let locking = match row_locks {
            None => None,
            Some(locks) => {
                if !group_exprs.is_empty() {
                    return Err(locks.not_allowed("GROUP BY clause"));
                }
                if s.having.is_some() {
                    return Err(locks.not_allowed("HAVING clause"));
                }
                if aggregating {
                    return Err(locks.not_allowed("aggregate functions"));
                }
                if s.distinct.is_some() {
                    return Err(locks.not_allowed("DISTINCT clause"));
                }
                Some(locking(locks, &from_cols, where_pred)?)
            }
        };
        // The select list, expanded, with output names.
        let mut items: Vec<(Option<ast::Expr>, Option<Expr>, String)> = Vec::new();
        for p in &s.projection {
            match p {
                ast::SelectItem::Wildcard(_) => {
                    if aggregating {
                        return Err(SqlError::Grouping(
                            "column must appear in the GROUP BY clause or be used in an aggregate function".into(),
                        ));
                    }
                    for (i, c) in from_cols.iter().enumerate() {
                        if !is_lock_key(c) {
                            items.push((None, Some(Expr::Column(i, c.ty)), c.name.clone()));
                        }
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, _) => {
                    let t = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) => object_name(n)?,
                        ast::SelectItemQualifiedWildcardKind::Expr(e) => e.to_string(),
                    };
                    let mut any = false;
                    for (i, c) in from_cols.iter().enumerate() {
                        if c.table.as_deref() == Some(t.as_str()) && !is_lock_key(c) {
                            any = true;
                            items.push((None, Some(Expr::Column(i, c.ty)), c.name.clone()));
                        }
                    }
                    if !any {
                        return Err(SqlError::Semantic {
                            state: crate::SqlState::UNDEFINED_TABLE,
                            message: format!("missing FROM-clause entry for table \"{t}\""),
                        });
                    }
                }
                ast::SelectItem::UnnamedExpr(e) => {
                    items.push((Some(e.clone()), None, output_name(e)));
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    items.push((Some(expr.clone()), None, ident(alias)));
                }
            }
        }
        if aggregating {
            let mut group_types = Vec::new();
            let mut group_bound = Vec::new();
            for g in &group_exprs {
                // GROUP BY may name an output column or position.
                let g = resolve_group_ref(g, &items, &from_cols)?;
                let e = b.bind_expr(&g)?;
                group_types.push(e.ty());
                group_bound.push(e);
            }
            let group_keys = group_exprs
                .iter()
                .map(|g| resolve_group_ref(g, &items, &from_cols))
                .collect::<SqlResult<Vec<_>>>()?;
            b.agg = Some(AggContext {
                group_keys,
                group_types,
                aggs: Vec::new(),
                input: from_cols.clone(),
            });
            let bound = (|| -> SqlResult<_> {
                b.windows = Some(WindowContext::new(&s.named_window));
                let mut exprs = Vec::new();
                for (ast_e, _, _) in &items {
                    if let Some(e) = ast_e {
                        exprs.push(b.bind_expr(e)?);
                    }
                }
                // HAVING filters groups before windows are computed.
                let windows = b.windows.take();
                let having = s.having.as_ref().map(|h| b.bind_expr(h)).transpose()?;
                b.windows = windows;
                let mut order = Vec::new();
                for o in order_by.iter().map(|o| &o.expr).chain(distinct_on(s)) {
                    if output_ref_name(o, &items).is_none() {
                        order.push(Some(b.bind_expr(o)?));
                    } else {
                        order.push(None);
                    }
                }
                Ok((exprs, having, order, b.windows.take()))
            })();
            let ctx = b.agg.take();
            let (mut exprs, having, mut order, windows) = bound?;
            let ctx = ctx.ok_or_else(|| SqlError::Internal("aggregate context lost".into()))?;
            let types = ctx.output_types();
            let columns = types
                .iter()
                .enumerate()
                .map(|(i, ty)| Column {
                    name: format!("?agg{i}"),
                    table: None,
                    ty: *ty,
                })
                .collect();
            plan = Plan::Aggregate {
                input: Box::new(plan),
                group_by: group_bound,
                aggs: ctx.aggs,
                columns,
            };
            if let Some(h) = having {
                plan = Plan::Filter {
                    input: Box::new(plan),
                    predicate: h,
                };
            }
            if let Some(w) = windows {
                plan = place_windows(w, plan, exprs.iter_mut().chain(order.iter_mut().flatten()));
            }
            let mut exprs = exprs.into_iter();
            let select: Vec<(Expr, String)> = items
                .into_iter()
                .map(|(_, e, name)| {
                    (
                        e.or_else(|| exprs.next()).unwrap_or(Expr::bool(false)),
                        name,
                    )
                })
                .collect();
            return finish(b, plan, select, s, order_by, order, None);
        }
        let mut select = Vec::new();
        b.windows = Some(WindowContext::new(&s.named_window));
        for (ast_e, bound, name) in items {
            let e = match (bound, ast_e) {
                (Some(e), _) => e,
                (None, Some(a)) => b.bind_expr(&a)?,
                (None, None) => Expr::bool(false),
            };
            select.push((e, name));
        }
        let names: Vec<(Option<ast::Expr>, Option<Expr>, String)> = select
            .iter()
            .map(|(_, n)| (None, None, n.clone()))
            .collect();
        let mut order = Vec::new();
        for o in order_by.iter().map(|o| &o.expr).chain(distinct_on(s)) {
            if output_ref_name(o, &names).is_none() {
                order.push(Some(b.bind_expr(o)?));
            } else {
                order.push(None);
            }
        }
        if let Some(w) = b.windows.take() {
            plan = place_windows(
                w,
                plan,
                select
                    .iter_mut()
                    .map(|(e, _)| e)
                    .chain(order.iter_mut().flatten()),
            );
        }
        finish(b, plan, select, s, order_by, order, locking)
    })();
    if let Some(scope) = b.scopes.last_mut() {
        *scope = saved_scope;
    }
    b.windows = outer_windows;
    result
}

/// GROUP BY names an output column by position, or by its name when no
/// input column has that name (input columns win, as in PostgreSQL).
fn resolve_group_ref(
    g: &ast::Expr,
    items: &[(Option<ast::Expr>, Option<Expr>, String)],
    input: &[Column],
) -> SqlResult<ast::Expr> {
    if let ast::Expr::Identifier(id) = g {
        let name = ident(id);
        if !input.iter().any(|c| c.name == name)
            && let Some((Some(e), _, _)) = items.iter().find(|(_, _, n)| *n == name)
        {
            return Ok(e.clone());
        }
    }
    if let ast::Expr::Value(v) = g
        && let ast::Value::Number(n, _) = &v.value
    {
        let pos: usize = n.parse().unwrap_or(0);
        return match items.get(pos.wrapping_sub(1)).and_then(|i| i.0.clone()) {
            Some(e) => Ok(e),
            None => Err(SqlError::Semantic {
                state: crate::SqlState::INVALID_COLUMN_REFERENCE,
                message: format!("GROUP BY position {n} is not in select list"),
            }),
        };
    }
    Ok(g.clone())
}

fn output_ref_name(
    e: &ast::Expr,
    items: &[(Option<ast::Expr>, Option<Expr>, String)],
) -> Option<usize> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.parse::<usize>().ok().map(|p| p.wrapping_sub(1)),
            _ => None,
        },
        ast::Expr::Identifier(id) => {
            let name = ident(id);
            items.iter().position(|(_, _, n)| *n == name)
        }
        _ => None,
    }
}

/// The expressions of `DISTINCT ON (...)`, none for other selects.
fn distinct_on(s: &ast::Select) -> impl Iterator<Item = &ast::Expr> {
    let on: &[ast::Expr] = match &s.distinct {
        Some(ast::Distinct::On(exprs)) => exprs,
        _ => &[],
    };
    on.iter()
}

/// The output column an ORDER BY or DISTINCT ON item names: a visible one
/// by name or position (`bound` is `None`), or one computing `bound`,
/// added as a hidden extra column unless the select list has it.
fn sort_column(
    item: &ast::Expr,
    bound: Option<Expr>,
    exprs: &mut Vec<Expr>,
    columns: &mut Vec<Column>,
    visible: usize,
    distinct: bool,
) -> SqlResult<usize> {
    match bound {
        None => {
            let names: Vec<(Option<ast::Expr>, Option<Expr>, String)> = columns[..visible]
                .iter()
                .map(|c| (None, None, c.name.clone()))
                .collect();
            let i = output_ref_name(item, &names).unwrap_or(usize::MAX);
            if i >= visible {
                return Err(SqlError::Semantic {
                    state: crate::SqlState::INVALID_COLUMN_REFERENCE,
                    message: format!("ORDER BY position {item} is not in select list"),
                });
            }
            Ok(i)
        }
        Some(e) => {
            // Visible columns come first; a hidden one an earlier item
            // added serves again, so ORDER BY and DISTINCT ON share it.
            if let Some(i) = exprs.iter().position(|x| same_expr(x, &e)) {
                return Ok(i);
            }
            if distinct {
                return Err(SqlError::Semantic {
                    state: crate::SqlState::INVALID_COLUMN_REFERENCE,
                    message: "for SELECT DISTINCT, ORDER BY expressions must appear in select list"
                        .into(),
                });
            }
            columns.push(Column {
                name: "?sort".into(),
                table: None,
                ty: e.ty(),
            });
            exprs.push(e);
            Ok(exprs.len() - 1)
        }
    }
}

/// Projection, DISTINCT (ON) and ORDER BY: sort keys that are not output
/// columns are computed as hidden extra columns and dropped after the sort.
/// `order` holds the bound ORDER BY items, then the DISTINCT ON ones.
fn finish(
    _b: &mut Binder<'_>,
    input: Plan,
    select: Vec<(Expr, String)>,
    s: &ast::Select,
    order_by: &[ast::OrderByExpr],
    order: Vec<Option<Expr>>,
    locking: Option<Locking>,
) -> SqlResult<Plan> {
    let visible = select.len();
    let mut exprs: Vec<Expr> = select.iter().map(|(e, _)| e.clone()).collect();
    let mut columns: Vec<Column> = select
        .iter()
        .map(|(e, n)| Column {
            name: n.clone(),
            table: None,
            ty: e.ty(),
        })
        .collect();
    let distinct = matches!(s.distinct, Some(ast::Distinct::Distinct));
    let mut order = order.into_iter();
    let mut keys = Vec::new();
    for o in order_by {
        let bound = order.next().flatten();
        let i = sort_column(&o.expr, bound, &mut exprs, &mut columns, visible, distinct)?;
        keys.push(sort_key(Expr::Column(i, columns[i].ty), &o.options));
    }
    let mut on = Vec::new();
    for item in distinct_on(s) {
        let bound = order.next().flatten();
        let i = sort_column(item, bound, &mut exprs, &mut columns, visible, false)?;
        if !on.contains(&i) {
            on.push(i);
        }
    }
    if !on.is_empty() {
        // PostgreSQL keeps the first row of each group in ORDER BY order,
        // so the ORDER BY must start with the DISTINCT ON expressions; the
        // ones it leaves out are sorted on after it.
        let leading = keys.len().min(on.len());
        let matches = keys[..leading]
            .iter()
            .all(|k| matches!(k.expr, Expr::Column(i, _) if on.contains(&i)));
        if !matches {
            return Err(SqlError::Semantic {
                state: crate::SqlState::INVALID_COLUMN_REFERENCE,
                message: "SELECT DISTINCT ON expressions must match initial ORDER BY expressions"
                    .into(),
            });
        }
        for &i in &on {
            let sorted = keys[..leading]
                .iter()
                .any(|k| matches!(k.expr, Expr::Column(j, _) if j == i));
            if !sorted {
                keys.push(SortKey {
                    expr: Expr::Column(i, columns[i].ty),
                    desc: false,
                    nulls_first: false,
                });
            }
        }
    }
    let lock_rows = locking.map(|l| carry_from_row(l, &mut exprs, &mut columns));
    let mut plan = Plan::Project {
        input: Box::new(input),
        exprs,
        columns: columns.clone(),
    };
    if distinct {
        plan = Plan::Distinct {
            input: Box::new(plan),
        };
    }
    if !keys.is_empty() {
        plan = Plan::Sort {
            input: Box::new(plan),
            keys,
        };
    }
    if !on.is_empty() {
        plan = Plan::DistinctOn {
            input: Box::new(plan),
            keys: on,
        };
    }
    if let Some(lock_rows) = lock_rows {
        plan = lock_rows(plan);
    }
    if columns.len() > visible {
        plan = Plan::Project {
            input: Box::new(plan),
            exprs: columns[..visible]
                .iter()
                .enumerate()
                .map(|(i, c)| Expr::Column(i, c.ty))
                .collect(),
            columns: columns[..visible].to_vec(),
        };
    }
    Ok(plan)
}

fn same_expr(a: &Expr, b: &Expr) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// The column name PostgreSQL gives an unaliased select-list item.
pub(crate) fn output_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(i) => ident(i),
        ast::Expr::CompoundIdentifier(parts) => parts.last().map_or("?column?".into(), ident),
        ast::Expr::Function(f) => object_name(&f.name).unwrap_or_else(|_| "?column?".into()),
        ast::Expr::Cast {
            expr, data_type, ..
        } => match output_name(expr).as_str() {
            "?column?" => super::data_type(data_type)
                .map(|t| cast_name(&t))
                .unwrap_or_else(|_| "?column?".into()),
            other => other.to_owned(),
        },
        ast::Expr::Nested(inner) => output_name(inner),
        ast::Expr::Case { .. } => "case".into(),
        ast::Expr::Exists { .. } => "exists".into(),
        ast::Expr::Substring { .. } => "substring".into(),
        ast::Expr::Trim { .. } => "btrim".into(),
        ast::Expr::Position { .. } => "position".into(),
        ast::Expr::Ceil { .. } => "ceil".into(),
        ast::Expr::Floor { .. } => "floor".into(),
        ast::Expr::Value(v) if matches!(v.value, ast::Value::Boolean(_)) => "bool".into(),
        _ => "?column?".into(),
    }
}

fn cast_name(t: &DataType) -> String {
    match t {
        DataType::Int2 => "int2",
        DataType::Int4 => "int4",
        DataType::Int8 => "int8",
        DataType::Float4 => "float4",
        DataType::Float8 => "float8",
        DataType::Bool => "bool",
        DataType::Varchar(_) => "varchar",
        DataType::Char(_) => "bpchar",
        DataType::Timestamp => "timestamp",
        DataType::TimestampTz => "timestamptz",
        other => other.name(),
    }
    .to_owned()
}
