//! `GROUP BY GROUPING SETS (…) | ROLLUP (…) | CUBE (…)`, as the UNION ALL
//! of one plain grouping per set.
//!
//! A grouping set lists the keys one group of output rows is grouped by;
//! the other keys of the query read as NULL in those rows, and
//! `GROUPING(k, …)` says which (a bit per argument, set when the key is
//! not grouped on). So each set becomes a copy of the SELECT grouped by
//! that set alone, with every other key replaced by NULL wherever the
//! select list and HAVING read it outside an aggregate's arguments, and
//! `GROUPING(…)` by its constant for that set. The copies are joined with
//! UNION ALL, and the query's ORDER BY and LIMIT apply to the whole, so
//! they must name output columns, as on any set operation.

use std::ops::ControlFlow;

use sqlparser::ast::{self, VisitMut, VisitorMut};

use super::bind_func::agg_func;
use crate::sql::error::{SqlError, SqlResult};

/// The grouping sets of `select`'s GROUP BY, or `None` for a plain GROUP
/// BY. Several items multiply: `GROUP BY a, ROLLUP (b)` is the sets
/// `(a, b)` and `(a)`.
fn grouping_sets(select: &ast::Select) -> SqlResult<Option<Vec<Vec<ast::Expr>>>> {
    let ast::GroupByExpr::Expressions(items, _) = &select.group_by else {
        return Ok(None);
    };
    let is_set = |e: &ast::Expr| {
        matches!(
            e,
            ast::Expr::GroupingSets(_) | ast::Expr::Rollup(_) | ast::Expr::Cube(_)
        )
    };
    if !items.iter().any(is_set) {
        return Ok(None);
    }
    let mut sets: Vec<Vec<ast::Expr>> = vec![Vec::new()];
    for item in items {
        let choices: Vec<Vec<ast::Expr>> = match item {
            ast::Expr::GroupingSets(sets) => sets.clone(),
            ast::Expr::Rollup(parts) => (0..=parts.len())
                .rev()
                .map(|n| parts[..n].concat())
                .collect(),
            ast::Expr::Cube(parts) => {
                if parts.len() > 12 {
                    return Err(SqlError::unsupported("CUBE of more than 12 elements"));
                }
                // Largest sets first, as PostgreSQL lists them.
                let mut masks: Vec<u32> = (0..1u32 << parts.len()).collect();
                masks.sort_by_key(|m| std::cmp::Reverse(m.count_ones()));
                masks
                    .into_iter()
                    .map(|m| {
                        (0..parts.len())
                            .filter(|i| m & (1 << (parts.len() - 1 - i)) != 0)
                            .flat_map(|i| parts[i].clone())
                            .collect()
                    })
                    .collect()
            }
            plain => vec![vec![plain.clone()]],
        };
        let mut next = Vec::with_capacity(sets.len() * choices.len());
        for s in &sets {
            for c in &choices {
                let mut combined = s.clone();
                combined.extend(c.iter().cloned());
                next.push(combined);
            }
        }
        if next.len() > 4096 {
            return Err(SqlError::unsupported("more than 4096 grouping sets"));
        }
        sets = next;
    }
    Ok(Some(sets))
}

/// `q` with a SELECT grouped by grouping sets written as the UNION ALL of
/// one SELECT per set; `None` when `q` has none.
pub(super) fn expand(q: &ast::Query) -> SqlResult<Option<ast::Query>> {
    let ast::SetExpr::Select(select) = q.body.as_ref() else {
        return Ok(None);
    };
    let Some(sets) = grouping_sets(select)? else {
        return Ok(None);
    };
    let mut keys: Vec<ast::Expr> = Vec::new();
    for k in sets.iter().flatten() {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    let mut body: Option<ast::SetExpr> = None;
    for set in &sets {
        let mut branch = select.as_ref().clone();
        branch.group_by = ast::GroupByExpr::Expressions(set.clone(), Vec::new());
        let mut rewrite = ForSet {
            absent: keys.iter().filter(|k| !set.contains(k)).cloned().collect(),
            in_aggregate: 0,
        };
        // A key that is a whole select-list item keeps its output name.
        for item in &mut branch.projection {
            if let ast::SelectItem::UnnamedExpr(e) = item
                && rewrite.absent.contains(e)
            {
                let alias = ast::Ident::new(super::bind_select::output_name(e));
                *item = ast::SelectItem::ExprWithAlias {
                    expr: e.clone(),
                    alias,
                };
            }
        }
        let _ = branch.projection.visit(&mut rewrite);
        if let Some(h) = branch.having.as_mut() {
            let _ = h.visit(&mut rewrite);
        }
        let branch = ast::SetExpr::Select(Box::new(branch));
        body = Some(match body {
            None => branch,
            Some(left) => ast::SetExpr::SetOperation {
                op: ast::SetOperator::Union,
                set_quantifier: ast::SetQuantifier::All,
                left: Box::new(left),
                right: Box::new(branch),
            },
        });
    }
    let Some(body) = body else {
        return Ok(None);
    };
    let mut out = q.clone();
    out.body = Box::new(body);
    Ok(Some(out))
}

/// Rewrites one set's copy: absent keys to NULL outside aggregate
/// arguments, `GROUPING(…)` to its constant.
struct ForSet {
    absent: Vec<ast::Expr>,
    in_aggregate: usize,
}

fn is_aggregate(e: &ast::Expr) -> bool {
    let ast::Expr::Function(f) = e else {
        return false;
    };
    let name = f.name.to_string().to_lowercase();
    f.over.is_none() && agg_func(&name, true).or(agg_func(&name, false)).is_some()
}

impl VisitorMut for ForSet {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        if is_aggregate(e) {
            self.in_aggregate += 1;
            return ControlFlow::Continue(());
        }
        if self.in_aggregate > 0 {
            return ControlFlow::Continue(());
        }
        if let ast::Expr::Function(f) = e
            && f.name.to_string().eq_ignore_ascii_case("grouping")
            && let ast::FunctionArguments::List(list) = &f.args
        {
            let mut bits = 0u64;
            for a in &list.args {
                let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arg)) = a else {
                    continue;
                };
                bits = (bits << 1) | u64::from(self.absent.contains(arg));
            }
            *e = ast::Expr::value(ast::Value::Number(bits.to_string(), false));
            return ControlFlow::Continue(());
        }
        if self.absent.contains(e) {
            *e = ast::Expr::value(ast::Value::Null);
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        if is_aggregate(e) {
            self.in_aggregate = self.in_aggregate.saturating_sub(1);
        }
        ControlFlow::Continue(())
    }
}
