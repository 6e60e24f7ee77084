//! FROM: tables, views, CTE references, derived tables and joins (with
//! USING / NATURAL merging their common columns).

use sqlparser::ast;

use super::bind_locking::{check_outer_join, is_lock_key};
use super::bind_select::bind_query;
use super::{Binder, ident, object_name};
use crate::catalog::Privileges;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{BinOp, Expr};
use crate::sql::plan::{Column, JoinKind, Plan};
use crate::sql::planner::equi_keys;
use crate::sql::privilege::check_table;
use crate::types::DataType;

pub(super) fn rename(
    plan: Plan,
    table: &str,
    names: &[ast::TableAliasColumnDef],
) -> SqlResult<Plan> {
    let mut columns = plan.columns();
    if names.len() > columns.len() {
        return Err(SqlError::Syntax(format!(
            "table \"{table}\" has {} columns available but {} columns specified",
            columns.len(),
            names.len()
        )));
    }
    for (i, c) in columns.iter_mut().enumerate() {
        if let Some(n) = names.get(i) {
            c.name = ident(&n.name);
        }
        c.table = Some(table.to_owned());
    }
    let exprs = columns
        .iter()
        .enumerate()
        .map(|(i, c)| Expr::Column(i, c.ty))
        .collect();
    Ok(Plan::Project {
        input: Box::new(plan),
        exprs,
        columns,
    })
}

pub(crate) fn bind_from(b: &mut Binder<'_>, from: &[ast::TableWithJoins]) -> SqlResult<Plan> {
    let mut plan: Option<Plan> = None;
    use super::bind_table_func::{bind_wasm_table_function, wasm_table_function};
    for twj in from {
        // A Wasm table function after other FROM items reads their row
        // (LATERAL): it runs over them rather than beside them.
        if let Some(def) = wasm_table_function(b, &twj.relation) {
            let left = plan.take();
            let mut item = bind_wasm_table_function(b, def, &twj.relation, left)?;
            for j in &twj.joins {
                item = bind_join_item(b, item, j)?;
            }
            plan = Some(item);
            continue;
        }
        let mut item = match (&twj.relation, plan.take()) {
            (
                ast::TableFactor::Derived {
                    lateral: true,
                    subquery,
                    alias,
                },
                Some(left),
            ) => bind_lateral(b, left, subquery, alias.as_ref(), JoinKind::Inner, None)?,
            (relation, left) => {
                plan = left;
                bind_table_factor(b, relation)?
            }
        };
        for j in &twj.joins {
            item = bind_join_item(b, item, j)?;
        }
        plan = Some(match plan {
            None => item,
            Some(left) => Plan::inner_join(left, item, None, vec![]),
        });
    }
    Ok(plan.unwrap_or(Plan::Values {
        rows: vec![vec![]],
        columns: vec![],
    }))
}

/// `left JOIN relation …`; `[CROSS | LEFT] JOIN [LATERAL] f(left.x)` with a
/// Wasm table function runs the function over each left row.
fn bind_join_item(b: &mut Binder<'_>, left: Plan, j: &ast::Join) -> SqlResult<Plan> {
    use super::bind_table_func::{bind_wasm_table_function, wasm_table_function};
    if let Some(def) = wasm_table_function(b, &j.relation) {
        let (on, outer) = match &j.join_operator {
            ast::JoinOperator::CrossJoin(_) => (None, false),
            ast::JoinOperator::Join(ast::JoinConstraint::On(e))
            | ast::JoinOperator::Inner(ast::JoinConstraint::On(e)) => (Some(e), false),
            ast::JoinOperator::Left(ast::JoinConstraint::On(e))
            | ast::JoinOperator::LeftOuter(ast::JoinConstraint::On(e)) => (Some(e), true),
            _ => {
                return Err(SqlError::unsupported(
                    "only CROSS, INNER and LEFT joins with ON with a table function are supported",
                ));
            }
        };
        let mut plan = bind_wasm_table_function(b, def, &j.relation, Some(left))?;
        let Some(on) = on else { return Ok(plan) };
        let columns = plan.columns();
        let saved = std::mem::replace(
            b.scopes
                .last_mut()
                .ok_or_else(|| SqlError::Internal("no scope".into()))?,
            columns,
        );
        let pred = b.bind_expr(on).and_then(|p| b.bool_operand(p, "JOIN/ON"));
        if let Some(scope) = b.scopes.last_mut() {
            *scope = saved;
        }
        let pred = pred?;
        if outer {
            // The condition decides which function rows join, inside the
            // loop: a filter above would drop the NULL-padded rows too.
            if let Plan::TableFunction { left_join, .. } = &mut plan {
                *left_join = Some(pred);
            }
            return Ok(plan);
        }
        return Ok(Plan::Filter {
            input: Box::new(plan),
            predicate: pred,
        });
    }
    if let ast::TableFactor::Derived {
        lateral: true,
        subquery,
        alias,
    } = &j.relation
    {
        let (kind, on) = match &j.join_operator {
            ast::JoinOperator::CrossJoin(_) => (JoinKind::Inner, None),
            ast::JoinOperator::Join(ast::JoinConstraint::On(e))
            | ast::JoinOperator::Inner(ast::JoinConstraint::On(e)) => (JoinKind::Inner, Some(e)),
            ast::JoinOperator::Left(ast::JoinConstraint::On(e))
            | ast::JoinOperator::LeftOuter(ast::JoinConstraint::On(e)) => (JoinKind::Left, Some(e)),
            _ => {
                return Err(SqlError::unsupported(
                    "only CROSS, INNER and LEFT joins with ON with a LATERAL subquery are supported",
                ));
            }
        };
        return bind_lateral(b, left, subquery, alias.as_ref(), kind, on);
    }
    let right = bind_table_factor(b, &j.relation)?;
    bind_join(b, left, right, &j.join_operator)
}

/// `left, LATERAL (subquery)` or `left [LEFT] JOIN LATERAL (subquery) ON
/// …`: the subquery runs once per left row and reads that row's columns
/// as its outer row, the way a correlated subquery reads its query's
/// (a nested loop with the left row pushed, as an index join's probe is).
fn bind_lateral(
    b: &mut Binder<'_>,
    left: Plan,
    subquery: &ast::Query,
    alias: Option<&ast::TableAlias>,
    kind: JoinKind,
    on: Option<&ast::Expr>,
) -> SqlResult<Plan> {
    if let Some(a) = alias {
        super::bind_locking::refuse_inside(b, &ident(&a.name), "a subquery")?;
    }
    // The left row takes this query's place in the scopes (the query's own
    // row is not made yet), so the subquery's outer references count
    // depths as they are at run time: 1 is the left row.
    let saved = std::mem::replace(
        b.scopes
            .last_mut()
            .ok_or_else(|| SqlError::Internal("no scope".into()))?,
        left.columns(),
    );
    b.scopes.push(Vec::new());
    let inner = bind_query(b, subquery);
    b.scopes.pop();
    if let Some(scope) = b.scopes.last_mut() {
        *scope = saved;
    }
    let mut inner = inner?;
    if let Some(a) = alias {
        inner = rename(inner, &ident(&a.name), &a.columns)?;
    }
    let mut columns = left.columns();
    columns.extend(inner.columns());
    let on = match on {
        Some(e) => {
            b.scopes.push(columns.clone());
            let bound = b.bind_expr(e).and_then(|p| b.bool_operand(p, "JOIN/ON"));
            b.scopes.pop();
            Some(bound?)
        }
        None => None,
    };
    Ok(Plan::IndexJoin {
        kind,
        outer: Box::new(left),
        inner: Box::new(inner),
        on,
        columns,
    })
}

fn bind_table_factor(b: &mut Binder<'_>, f: &ast::TableFactor) -> SqlResult<Plan> {
    match f {
        ast::TableFactor::Table {
            name,
            alias,
            args: Some(args),
            with_ordinality,
            ..
        } => super::bind_table_func::bind_table_function(
            b,
            name,
            args,
            alias.as_ref(),
            *with_ordinality,
        ),
        ast::TableFactor::Table { name, alias, .. } => {
            let object = name;
            let name = object_name(name)?;
            let alias_name = alias.as_ref().map(|a| ident(&a.name));
            let alias_cols = alias.as_ref().map_or(&[][..], |a| a.columns.as_slice());
            if let Some((_, plan)) = b.ctes.iter().rev().find(|(n, _)| *n == name) {
                let plan = plan.clone();
                return rename(plan, alias_name.as_deref().unwrap_or(&name), alias_cols);
            }
            if let Some(view) = b.catalog.view(&name) {
                super::bind_locking::refuse_inside(
                    b,
                    alias_name.as_deref().unwrap_or(&name),
                    "a view",
                )?;
                if let Some(user) = b.user {
                    check_table(b.catalog, user, view.id, &name, Privileges::SELECT)?;
                }
                let statements = crate::sql::parser::parse_sql(&view.query)?;
                let Some(crate::sql::parser::Statement::Standard(stmt)) = statements.first() else {
                    return Err(SqlError::Internal("view is not a query".into()));
                };
                let ast::Statement::Query(q) = stmt.as_ref() else {
                    return Err(SqlError::Internal("view is not a query".into()));
                };
                let saved = std::mem::replace(&mut b.scopes, vec![Vec::new()]);
                let owner = b.user.map(|_| b.catalog.owner(view.id));
                let user = std::mem::replace(&mut b.user, owner);
                let plan = bind_query(b, q);
                b.user = user;
                b.scopes = saved;
                let mut plan = plan?;
                if !view.columns.is_empty() {
                    let cols: Vec<ast::TableAliasColumnDef> = view
                        .columns
                        .iter()
                        .map(|c| ast::TableAliasColumnDef::from_name(c.as_str()))
                        .collect();
                    plan = rename(plan, &name, &cols)?;
                }
                return rename(plan, alias_name.as_deref().unwrap_or(&name), alias_cols);
            }
            // pg_catalog and information_schema (sql::system).
            if let Some(plan) = crate::sql::system::relation(b.catalog, object)? {
                return rename(plan, alias_name.as_deref().unwrap_or(&name), alias_cols);
            }
            let Some(table) = b.catalog.table(&name) else {
                return match crate::sql::routine::views::bind(b.system_views, &name) {
                    Some(plan) => rename(plan, alias_name.as_deref().unwrap_or(&name), alias_cols),
                    None => Err(SqlError::UndefinedTable(name)),
                };
            };
            if let Some(user) = b.user {
                check_table(b.catalog, user, table.id, &name, Privileges::SELECT)?;
            }
            let qualifier = alias_name.unwrap_or_else(|| name.clone());
            let columns = table
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| Column {
                    name: alias_cols
                        .get(i)
                        .map_or_else(|| c.name.clone(), |a| ident(&a.name)),
                    table: Some(qualifier.clone()),
                    ty: c.ty,
                })
                .collect();
            let scan = Plan::Scan {
                table: table.clone(),
                alias: qualifier.clone(),
                filter: None,
                columns,
            };
            super::bind_locking::keyed_if_locked(b, scan, &qualifier, table)
        }
        // LATERAL as the first FROM item has nothing before it to read.
        ast::TableFactor::Derived {
            subquery, alias, ..
        } => {
            let name = alias.as_ref().map(|a| ident(&a.name)).unwrap_or_default();
            super::bind_locking::refuse_inside(b, &name, "a subquery")?;
            b.scopes.push(Vec::new());
            let plan = bind_query(b, subquery);
            b.scopes.pop();
            let plan = plan?;
            match alias {
                Some(a) => rename(plan, &ident(&a.name), &a.columns),
                None => Ok(plan),
            }
        }
        ast::TableFactor::NestedJoin {
            table_with_joins,
            alias: None,
        } => bind_from(b, std::slice::from_ref(table_with_joins)),
        other => Err(SqlError::unsupported(format!(
            "FROM item {other} is not supported"
        ))),
    }
}

fn bind_join(
    b: &mut Binder<'_>,
    left: Plan,
    right: Plan,
    op: &ast::JoinOperator,
) -> SqlResult<Plan> {
    use ast::JoinOperator as J;
    let (kind, constraint) = match op {
        J::Join(c) | J::Inner(c) => (JoinKind::Inner, Some(c)),
        J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, Some(c)),
        J::Right(c) | J::RightOuter(c) => (JoinKind::Right, Some(c)),
        J::FullOuter(c) => (JoinKind::Full, Some(c)),
        J::CrossJoin(_) => (JoinKind::Inner, None),
        other => {
            return Err(SqlError::unsupported(format!(
                "join {other:?} is not supported"
            )));
        }
    };
    let lc = left.columns();
    let rc = right.columns();
    check_outer_join(kind, &lc, &rc, b.row_locks.as_ref())?;
    let mut columns = lc.clone();
    columns.extend(rc.iter().cloned());
    let using: Vec<String> = match constraint {
        Some(ast::JoinConstraint::Using(names)) => {
            names.iter().map(object_name).collect::<SqlResult<_>>()?
        }
        Some(ast::JoinConstraint::Natural) => lc
            .iter()
            .filter(|c| !is_lock_key(c) && rc.iter().any(|r| r.name == c.name))
            .map(|c| c.name.clone())
            .collect(),
        _ => vec![],
    };
    let mut on = None;
    if let Some(ast::JoinConstraint::On(e)) = constraint {
        b.scopes.push(columns.clone());
        let bound = b.bind_expr(e);
        b.scopes.pop();
        let bound = bound?;
        if bound.ty() != DataType::Bool {
            return Err(SqlError::DatatypeMismatch(format!(
                "argument of JOIN/ON must be type boolean, not type {}",
                bound.ty().name()
            )));
        }
        on = Some(bound);
    }
    let mut using_pairs = Vec::new();
    for name in &using {
        let li = lc.iter().position(|c| &c.name == name);
        let ri = rc.iter().position(|c| &c.name == name);
        let (Some(li), Some(ri)) = (li, ri) else {
            return Err(SqlError::no_column(&format!(
                "column \"{name}\" specified in USING clause does not exist in left table"
            )))
            .map_err(|_| {
                SqlError::UndefinedColumn(format!(
                    "column \"{name}\" specified in USING clause does not exist in {} table",
                    if li.is_none() { "left" } else { "right" }
                ))
            });
        };
        using_pairs.push((li, ri));
        let cond = Expr::Binary(
            BinOp::Eq,
            Box::new(Expr::Column(li, lc[li].ty)),
            Box::new(Expr::Column(lc.len() + ri, rc[ri].ty)),
            DataType::Bool,
        );
        on = Some(match on {
            None => cond,
            Some(prev) => Expr::Binary(BinOp::And, Box::new(prev), Box::new(cond), DataType::Bool),
        });
    }
    let equi = on
        .as_ref()
        .map(|e| equi_keys(e, lc.len()))
        .unwrap_or_default();
    let join = Plan::Join {
        kind,
        left: Box::new(left),
        right: Box::new(right),
        on,
        equi,
        columns: columns.clone(),
    };
    if using_pairs.is_empty() {
        return Ok(join);
    }
    // USING and NATURAL merge each pair into one column (the non-NULL side
    // for outer joins), listed first, then the remaining columns.
    let mut exprs = Vec::new();
    let mut out = Vec::new();
    for (li, ri) in &using_pairs {
        let l = Expr::Column(*li, lc[*li].ty);
        let r = Expr::Column(lc.len() + ri, rc[*ri].ty);
        let e = match kind {
            JoinKind::Inner | JoinKind::Left => l,
            JoinKind::Right => r,
            JoinKind::Full => b.call("coalesce", vec![l, r])?,
        };
        out.push(Column {
            name: lc[*li].name.clone(),
            table: None,
            ty: e.ty(),
        });
        exprs.push(e);
    }
    for (i, c) in columns.iter().enumerate() {
        let merged = using_pairs
            .iter()
            .any(|(li, ri)| i == *li || i == lc.len() + ri);
        if !merged {
            exprs.push(Expr::Column(i, c.ty));
            out.push(c.clone());
        }
    }
    Ok(Plan::Project {
        input: Box::new(join),
        exprs,
        columns: out,
    })
}
