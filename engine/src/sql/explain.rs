//! EXPLAIN: a plan as PostgreSQL prints it with `COSTS OFF` — one node a
//! line, children under `->  `, and each node's conditions (Index Cond,
//! Filter, Sort Key, ...) on lines of their own below it.

use sqlparser::ast;

use crate::types::{DataType, Value};

use super::binder::{Binder, bind_query};
use super::dml::{self, BoundDml};
use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::expr::{BinOp, Expr, SubqueryKind};
use super::plan::{Column, IndexChoice, JoinKind, Plan, SetOpKind, SortKey};
use super::session::{ColumnDesc, StatementResult};

impl Plan {
    /// The plan as PostgreSQL-like text, one line per row of EXPLAIN.
    pub fn explain(&self) -> Vec<String> {
        let mut out = Vec::new();
        node(self, 0, &mut out, &[]);
        out
    }
}

/// `EXPLAIN statement`: its plan, one row per line under `QUERY PLAN`.
pub(crate) fn explain_statement(
    stmt: &ast::Statement,
    analyze: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    let mut b = Binder::for_statement(cx, None);
    if analyze {
        let ast::Statement::Query(q) = stmt else {
            return Err(SqlError::unsupported(
                "EXPLAIN ANALYZE of a statement other than a query is not supported yet",
            ));
        };
        let plan = bind_query(&mut b, q)?;
        let mut lines = plan.explain();
        let started = std::time::Instant::now();
        let rows = super::exec::collect(&plan, cx)?;
        let elapsed = started.elapsed();
        lines.extend(routine_lines(cx));
        lines.push(format!("Rows: {}", rows.len()));
        lines.push(format!(
            "Execution Time: {:.3} ms",
            elapsed.as_secs_f64() * 1000.0
        ));
        return Ok(plan_rows(lines));
    }
    let lines = match stmt {
        ast::Statement::Query(q) => bind_query(&mut b, q)?.explain(),
        other => {
            let (title, plan) = match dml::bind(&mut b, other)? {
                Some(BoundDml::Insert(i)) => (format!("Insert on {}", i.table.name), i.source),
                Some(BoundDml::Update(u)) => (format!("Update on {}", u.table.name), u.rows),
                Some(BoundDml::Delete(d)) => (format!("Delete on {}", d.table.name), d.rows),
                Some(BoundDml::View(v)) => v.explained(),
                None => {
                    return Err(SqlError::unsupported(
                        "EXPLAIN of this statement is not supported",
                    ));
                }
            };
            let mut out = Vec::new();
            write_node(0, title, vec![], &mut out);
            node(&plan, 1, &mut out, &[]);
            out
        }
    };
    Ok(plan_rows(lines))
}

/// The rows of `QUERY PLAN`.
fn plan_rows(lines: Vec<String>) -> StatementResult {
    StatementResult::Rows {
        columns: vec![ColumnDesc {
            name: "QUERY PLAN".into(),
            ty: DataType::Text,
        }],
        rows: lines.into_iter().map(|l| vec![Value::Text(l)]).collect(),
        tag: "EXPLAIN".into(),
    }
}

/// One line per Wasm routine the statement ran: guest calls, rows that
/// crossed, fuel, peak memory and time (the host's fuel and memory when it
/// reports them per statement).
fn routine_lines(cx: &ExecCtx<'_>) -> Vec<String> {
    let Some(routines) = cx.routines else {
        return Vec::new();
    };
    routines
        .runs()
        .into_iter()
        .map(|r| {
            let (fuel, memory) = r.usage.map_or(("n/a".to_owned(), "n/a".to_owned()), |u| {
                (u.fuel.to_string(), format!("{}kB", u.peak_memory / 1024))
            });
            format!(
                "Wasm Routine: {}  calls={} rows={} fuel={} peak memory={} time={:.3} ms",
                r.name,
                r.calls,
                r.rows,
                fuel,
                memory,
                r.time.as_secs_f64() * 1000.0
            )
        })
        .collect()
}

/// Where a node's own lines start: the root at column 0, a child six
/// columns right of its parent, after the `->  ` marker.
fn write_node(depth: usize, title: String, props: Vec<String>, out: &mut Vec<String>) {
    let (head, prop_pad) = if depth == 0 {
        (title, "  ".to_string())
    } else {
        let indent = 6 * depth;
        (
            format!("{}->  {title}", " ".repeat(indent - 4)),
            " ".repeat(indent + 2),
        )
    };
    out.push(head);
    for p in props {
        out.push(format!("{prop_pad}{p}"));
    }
}

/// Renders `plan` at `depth`; `extra` are properties a parent folded into
/// it (a Filter or a projection's HAVING), shown as this node's own.
fn node(plan: &Plan, depth: usize, out: &mut Vec<String>, extra: &[String]) {
    let mut props: Vec<String> = Vec::new();
    let (title, children): (String, Vec<&Plan>) = match plan {
        // PostgreSQL shows neither projections nor its filters as nodes:
        // a projection is invisible, a filter a property of its input.
        Plan::Project { input, .. } | Plan::KeyedScan { input, .. } => {
            return node(input, depth, out, extra);
        }
        Plan::Filter { input, predicate } => {
            let mut more = extra.to_vec();
            more.push(format!("Filter: {}", render(predicate, &input.columns())));
            return node(input, depth, out, &more);
        }
        Plan::Series { .. } => ("Function Scan on generate_series".into(), vec![]),
        Plan::TableFunction {
            call, input: None, ..
        } => (format!("Function Scan on {}", call.def.name), vec![]),
        Plan::TableFunction {
            call,
            input: Some(input),
            left_join,
            columns,
            ..
        } => {
            // The function runs once per input row, inside the loop.
            props.push(format!("Function Call: {}", call.def.qualified_name()));
            match left_join {
                Some(on) => {
                    props.push(format!("Join Filter: {}", render(on, columns)));
                    ("Nested Loop Left Join".into(), vec![input.as_ref()])
                }
                None => ("Nested Loop".into(), vec![input.as_ref()]),
            }
        }
        Plan::RecursiveCte { anchor, step, .. } => (
            "Recursive Union".into(),
            vec![anchor.as_ref(), step.as_ref()],
        ),
        Plan::WorkTableScan { columns, .. } => (
            format!(
                "WorkTable Scan on {}",
                columns
                    .first()
                    .and_then(|c| c.table.as_deref())
                    .unwrap_or("worktable")
            ),
            vec![],
        ),
        Plan::Values { rows, .. } if rows.len() == 1 => ("Result".into(), vec![]),
        Plan::Values { .. } => ("Values Scan on \"*VALUES*\"".into(), vec![]),
        Plan::Scan {
            table,
            alias,
            filter,
            columns,
        } => {
            if let Some(f) = filter {
                props.push(format!("Filter: {}", render(f, columns)));
            }
            (
                format!(
                    "Seq Scan on {}{}",
                    table.name,
                    alias_suffix(alias, &table.name)
                ),
                vec![],
            )
        }
        Plan::IndexScan {
            table,
            alias,
            index,
            reverse,
            filter,
            index_cond,
            columns,
            ..
        } => {
            let name = match index {
                IndexChoice::Primary => table
                    .primary_key
                    .as_ref()
                    .map_or_else(|| format!("{}_pkey", table.name), |k| k.name.clone()),
                IndexChoice::Secondary(i) => i.name.clone(),
            };
            if !index_cond.is_empty() {
                let conds: Vec<String> = index_cond.iter().map(|c| render(c, columns)).collect();
                props.push(format!("Index Cond: {}", and_list(&conds)));
            }
            // The filter holds the index conditions too (they are
            // rechecked); show only the rest, as PostgreSQL does.
            if let Some(f) = filter {
                let rest: Vec<String> = conjuncts(f)
                    .into_iter()
                    .filter(|c| {
                        !index_cond
                            .iter()
                            .any(|i| format!("{i:?}") == format!("{c:?}"))
                    })
                    .map(|c| render(c, columns))
                    .collect();
                if !rest.is_empty() {
                    props.push(format!("Filter: {}", and_list(&rest)));
                }
            }
            (
                format!(
                    "Index Scan{} using {name} on {}{}",
                    if *reverse { " Backward" } else { "" },
                    table.name,
                    alias_suffix(alias, &table.name)
                ),
                vec![],
            )
        }
        Plan::Join {
            kind,
            left,
            right,
            on,
            equi,
            columns,
        } => {
            let kind = match kind {
                JoinKind::Inner => "",
                JoinKind::Left => " Left",
                JoinKind::Right => " Right",
                JoinKind::Full => " Full",
            };
            let title = if equi.is_empty() {
                format!("Nested Loop{kind} Join").replace("Nested Loop Join", "Nested Loop")
            } else {
                format!("Hash{kind} Join")
            };
            if let Some(on) = on {
                let label = if equi.is_empty() {
                    "Join Filter"
                } else {
                    "Hash Cond"
                };
                props.push(format!("{label}: {}", render(on, columns)));
            }
            (title, vec![left.as_ref(), right.as_ref()])
        }
        Plan::IndexJoin {
            kind,
            outer,
            inner,
            on,
            columns,
        } => {
            if let Some(on) = on {
                props.push(format!("Join Filter: {}", render(on, columns)));
            }
            let title = match kind {
                JoinKind::Left => "Nested Loop Left Join",
                _ => "Nested Loop",
            };
            props.extend_from_slice(extra);
            write_node(depth, title.into(), props, out);
            node(outer, depth + 1, out, &[]);
            node(
                &inner_for_explain(inner, &outer.columns()),
                depth + 1,
                out,
                &[],
            );
            return;
        }
        Plan::Aggregate {
            input, group_by, ..
        } => {
            let cols = input.columns();
            if !group_by.is_empty() {
                let keys: Vec<String> = group_by.iter().map(|g| render_bare(g, &cols)).collect();
                props.push(format!("Group Key: {}", keys.join(", ")));
            }
            let title = if group_by.is_empty() {
                "Aggregate"
            } else {
                "HashAggregate"
            };
            (title.into(), vec![input.as_ref()])
        }
        Plan::Sort { input, keys } => {
            props.push(format!("Sort Key: {}", sort_keys(keys, input)));
            ("Sort".into(), vec![input.as_ref()])
        }
        Plan::TopN { input, keys, .. } => {
            // PostgreSQL's plan for this is Limit over a top-N heapsort.
            write_node(depth, "Limit".into(), extra.to_vec(), out);
            write_node(
                depth + 1,
                "Sort".into(),
                vec![format!("Sort Key: {}", sort_keys(keys, input))],
                out,
            );
            node(input, depth + 2, out, &[]);
            return;
        }
        Plan::Limit { input, .. } => ("Limit".into(), vec![input.as_ref()]),
        Plan::Distinct { input } => ("HashAggregate".into(), vec![input.as_ref()]),
        Plan::DistinctOn { input, .. } => ("Unique".into(), vec![input.as_ref()]),
        Plan::SetOp {
            kind, left, right, ..
        } => {
            let title = match kind {
                SetOpKind::Union => "Append",
                SetOpKind::Intersect => "HashSetOp Intersect",
                SetOpKind::Except => "HashSetOp Except",
            };
            (title.into(), vec![left.as_ref(), right.as_ref()])
        }
    };
    props.extend_from_slice(extra);
    write_node(depth, title, props, out);
    for c in children {
        node(c, depth + 1, out, &[]);
    }
}

/// The inner scan of an index join with its references to the outer row
/// turned into columns after its own, so conditions print with the outer
/// table's column names (`b.id = a.bid`).
fn inner_for_explain(inner: &Plan, outer_columns: &[Column]) -> Plan {
    let mut plan = inner.clone();
    if let Plan::IndexScan {
        filter,
        index_cond,
        columns,
        ..
    } = &mut plan
    {
        let width = columns.len();
        let lift = |e: &mut Expr| {
            e.walk_mut(&mut |x| {
                if let Expr::Outer {
                    depth: 1,
                    index,
                    ty,
                } = x
                {
                    *x = Expr::Column(width + *index, *ty);
                }
            })
        };
        if let Some(f) = filter {
            lift(f);
        }
        index_cond.iter_mut().for_each(lift);
        columns.extend(outer_columns.iter().cloned());
    }
    plan
}

fn alias_suffix(alias: &str, table: &str) -> String {
    if alias == table {
        String::new()
    } else {
        format!(" {alias}")
    }
}

/// Sort keys named through the projection below the sort (where hidden
/// sort columns are computed), so they read as the query wrote them.
fn sort_keys(keys: &[SortKey], input: &Plan) -> String {
    let (exprs, cols) = match input {
        Plan::Project { input, exprs, .. } => (Some(exprs), input.columns()),
        other => (None, other.columns()),
    };
    keys.iter()
        .map(|k| {
            let text = match (&k.expr, exprs) {
                (Expr::Column(i, _), Some(exprs)) => exprs
                    .get(*i)
                    .map_or_else(|| "?".into(), |e| render_bare(e, &cols)),
                (e, _) => render_bare(e, &cols),
            };
            let dir = match (k.desc, k.nulls_first) {
                (false, false) => "",
                (false, true) => " NULLS FIRST",
                (true, true) => " DESC",
                (true, false) => " DESC NULLS LAST",
            };
            format!("{text}{dir}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Binary(BinOp::And, a, b, _) => {
            let mut v = conjuncts(a);
            v.extend(conjuncts(b));
            v
        }
        other => vec![other],
    }
}

fn and_list(parts: &[String]) -> String {
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("({})", parts.join(" AND "))
    }
}

/// An expression as a condition line shows it: comparisons parenthesized.
fn render(e: &Expr, cols: &[Column]) -> String {
    let text = render_bare(e, cols);
    if text.starts_with('(') {
        text
    } else {
        format!("({text})")
    }
}

/// An expression in PostgreSQL's deparsed style. Columns are qualified by
/// their table when the input has columns of more than one table.
fn render_bare(e: &Expr, cols: &[Column]) -> String {
    let qualify = cols
        .iter()
        .filter_map(|c| c.table.as_deref())
        .any(|t| Some(t) != cols.first().and_then(|c| c.table.as_deref()));
    let r = |x: &Expr| render_bare(x, cols);
    match e {
        Expr::Column(i, _) => match cols.get(*i) {
            Some(c) => match (&c.table, qualify) {
                (Some(t), true) => format!("{t}.{}", c.name),
                _ => c.name.clone(),
            },
            None => format!("${i}"),
        },
        Expr::Literal(v, ty) => literal(v, ty.name()),
        Expr::Param(i, _) => format!("${}", i + 1),
        Expr::Outer { index, .. } => format!("(outer ${index})"),
        Expr::Binary(op, a, b, _) => {
            format!("({} {} {})", r(a), super::expr::op_symbol(*op), r(b))
        }
        Expr::Not(x) => format!("(NOT {})", r(x)),
        Expr::Neg(x) => format!("(- {})", r(x)),
        Expr::IsNull(x, false) => format!("({} IS NULL)", r(x)),
        Expr::IsNull(x, true) => format!("({} IS NOT NULL)", r(x)),
        Expr::IsDistinct(a, b, negated) => format!(
            "({} IS {}DISTINCT FROM {})",
            r(a),
            if *negated { "NOT " } else { "" },
            r(b)
        ),
        Expr::IsBool(x, want, negated) => format!(
            "({} IS {}{})",
            r(x),
            if *negated { "NOT " } else { "" },
            if *want { "TRUE" } else { "FALSE" }
        ),
        Expr::Cast(x, ty) => format!("({})::{}", r(x), ty.name()),
        Expr::Case { .. } => "CASE ... END".into(),
        Expr::Func(f, args, _) => {
            let args: Vec<String> = args.iter().map(r).collect();
            format!("{}({})", format!("{f:?}").to_lowercase(), args.join(", "))
        }
        Expr::Routine(call, args) => {
            let args: Vec<String> = args.iter().map(r).collect();
            format!("{}({})", call.def.qualified_name(), args.join(", "))
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let items: Vec<String> = list.iter().map(r).collect();
            format!(
                "({} {}IN ({}))",
                r(expr),
                if *negated { "NOT " } else { "" },
                items.join(", ")
            )
        }
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => {
            let op = match (negated, case_insensitive) {
                (false, false) => "~~",
                (true, false) => "!~~",
                (false, true) => "~~*",
                (true, true) => "!~~*",
            };
            format!("({} {op} {})", r(expr), r(pattern))
        }
        Expr::Subquery(_, SubqueryKind::Exists, _) => "(EXISTS (SubPlan))".into(),
        Expr::Subquery(_, SubqueryKind::In { expr, negated }, _) => format!(
            "({} {}IN (SubPlan))",
            r(expr),
            if *negated { "NOT " } else { "" }
        ),
        Expr::Subquery(_, SubqueryKind::RowIn { exprs, negated }, _) => format!(
            "(ROW({}) {}IN (SubPlan))",
            exprs.iter().map(r).collect::<Vec<_>>().join(", "),
            if *negated { "NOT " } else { "" }
        ),
        Expr::Subquery(_, SubqueryKind::Scalar, _) => "(SubPlan)".into(),
        Expr::Subquery(_, SubqueryKind::Quantified { expr, op, all }, _) => format!(
            "({} {} {}(SubPlan))",
            r(expr),
            super::expr::op_symbol(*op),
            if *all { "ALL " } else { "ANY " }
        ),
        Expr::Subquery(_, SubqueryKind::Array, _) => "(ARRAY(SubPlan))".into(),
    }
}

/// A constant as PostgreSQL deparses it: numbers bare, everything else
/// quoted with its type.
fn literal(v: &Value, ty: &str) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) | Value::Numeric(_) => {
            v.to_pg_text().unwrap_or_default()
        }
        other => format!(
            "'{}'::{ty}",
            other.to_pg_text().unwrap_or_default().replace('\'', "''")
        ),
    }
}
