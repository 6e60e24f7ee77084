//! Row-count and cost estimates for join ordering.
//!
//! With ANALYZE statistics a table's size is its counted rows, an equality
//! on a column matches the most-common-value frequency of the constant or
//! an even share of the other values, and a range on a numeric column the
//! interpolated fraction between its minimum and maximum. Without them the
//! estimates fall back to PostgreSQL's defaults: 1000 rows, 0.5% for an
//! equality, a third for a range. A fully bound unique key matches at most
//! one row either way, which is what makes point lookups look as cheap as
//! they are.
//!
//! Costs count rows touched: a sequential scan touches every row, an
//! index probe a few pages plus the rows it finds (twice for a secondary
//! index, whose entries lead to the row by one more lookup).

use rust_decimal::prelude::ToPrimitive;

use super::access::split_and;
use crate::catalog::{Catalog, TableDef};
use crate::sql::expr::{BinOp, Expr};
use crate::sql::plan::{IndexChoice, Plan};
use crate::types::Value;

/// Rows assumed for a table never analyzed.
pub(super) const DEFAULT_ROWS: f64 = 1000.0;
/// Selectivity of `column = value` without statistics.
const DEFAULT_EQ: f64 = 0.005;
/// Selectivity of a range without statistics.
const DEFAULT_RANGE: f64 = 1.0 / 3.0;
/// Selectivity of any other condition.
const DEFAULT_OTHER: f64 = 0.25;
/// Distinct values assumed for a column never analyzed.
const DEFAULT_DISTINCT: f64 = 200.0;
/// Cost of descending a B+tree for one probe.
pub(super) const PROBE_COST: f64 = 3.0;

/// Estimates over one catalog's statistics.
#[derive(Clone, Copy)]
pub(super) struct Estimator<'a> {
    pub(super) catalog: &'a Catalog,
}

impl Estimator<'_> {
    /// Rows of `table` (counted by ANALYZE, else the default).
    pub(super) fn table_rows(&self, table: &TableDef) -> f64 {
        self.catalog
            .stats(table.id)
            .map_or(DEFAULT_ROWS, |s| s.row_count as f64)
    }

    /// Distinct non-NULL values of column `col` of `table`.
    pub(super) fn distinct(&self, table: &TableDef, col: usize) -> f64 {
        let rows = self.table_rows(table).max(1.0);
        if unique_column(table, col) {
            return rows;
        }
        match self.catalog.stats(table.id).and_then(|s| s.column(col)) {
            Some(c) => c.n_distinct.max(1.0),
            None => DEFAULT_DISTINCT.min(rows),
        }
    }

    /// Rows a plan yields.
    pub(super) fn rows(&self, plan: &Plan) -> f64 {
        match plan {
            Plan::Scan { table, filter, .. } | Plan::IndexScan { table, filter, .. } => {
                let rows = self.table_rows(table) * self.selectivity(filter.as_ref(), table);
                if point_lookup(table, filter.as_ref()) {
                    rows.min(1.0)
                } else {
                    rows
                }
            }
            Plan::KeyedScan { input, .. } | Plan::Project { input, .. } => self.rows(input),
            Plan::Filter { input, .. } => self.rows(input) * DEFAULT_OTHER,
            Plan::Values { rows, .. } => rows.len() as f64,
            Plan::Aggregate {
                input, group_by, ..
            } => {
                if group_by.is_empty() {
                    1.0
                } else {
                    (self.rows(input) * 0.1).max(1.0)
                }
            }
            Plan::Distinct { input } | Plan::DistinctOn { input, .. } => {
                (self.rows(input) * 0.5).max(1.0)
            }
            Plan::Limit {
                input,
                limit: Some(Expr::Literal(v, _)),
                ..
            }
            | Plan::TopN {
                input,
                limit: Expr::Literal(v, _),
                ..
            } => self.rows(input).min(number(v).unwrap_or(DEFAULT_ROWS)),
            Plan::Sort { input, .. } | Plan::Limit { input, .. } | Plan::TopN { input, .. } => {
                self.rows(input)
            }
            Plan::Join {
                left, right, on, ..
            } => self.rows(left) * self.rows(right) * on.as_ref().map_or(1.0, |_| DEFAULT_EQ),
            Plan::IndexJoin { outer, inner, .. } => self.rows(outer) * self.rows(inner),
            _ => DEFAULT_ROWS,
        }
    }

    /// What reading a plan costs, in rows touched.
    pub(super) fn cost(&self, plan: &Plan) -> f64 {
        match plan {
            Plan::Scan { table, .. } => self.table_rows(table),
            Plan::IndexScan { index, .. } => {
                let per_row = match index {
                    IndexChoice::Primary => 1.0,
                    IndexChoice::Secondary(_) => 2.0,
                };
                PROBE_COST + per_row * self.rows(plan)
            }
            Plan::KeyedScan { input, .. }
            | Plan::Project { input, .. }
            | Plan::Filter { input, .. } => self.cost(input),
            _ => self.rows(plan),
        }
    }

    /// The fraction of `table`'s rows that satisfy `filter`.
    pub(super) fn selectivity(&self, filter: Option<&Expr>, table: &TableDef) -> f64 {
        let Some(f) = filter else { return 1.0 };
        let mut conj = Vec::new();
        split_and(f, &mut conj);
        conj.iter()
            .map(|c| self.conjunct(c, table))
            .product::<f64>()
            .clamp(0.0, 1.0)
    }

    fn conjunct(&self, e: &Expr, table: &TableDef) -> f64 {
        let stats = |col: usize| self.catalog.stats(table.id).and_then(|s| s.column(col));
        match e {
            Expr::Binary(BinOp::Or, a, b, _) => {
                let (x, y) = (self.conjunct(a, table), self.conjunct(b, table));
                x + y - x * y
            }
            Expr::Binary(BinOp::And, ..) => self.selectivity(Some(e), table),
            Expr::Not(inner) => 1.0 - self.conjunct(inner, table),
            Expr::IsNull(inner, negated) => {
                let Expr::Column(col, _) = inner.as_ref() else {
                    return DEFAULT_OTHER;
                };
                let frac = stats(*col).map_or(DEFAULT_EQ, |s| s.null_frac);
                if *negated { 1.0 - frac } else { frac }
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let Expr::Column(col, _) = expr.as_ref() else {
                    return DEFAULT_OTHER;
                };
                let s: f64 = list
                    .iter()
                    .map(|p| self.equality(table, *col, p))
                    .sum::<f64>()
                    .min(1.0);
                if *negated { 1.0 - s } else { s }
            }
            Expr::Binary(op, a, b, _) => {
                let (col, probe, op) = match (a.as_ref(), b.as_ref()) {
                    (Expr::Column(c, _), p) if p.is_row_independent() => (*c, p, *op),
                    (p, Expr::Column(c, _)) if p.is_row_independent() => (*c, p, flip(*op)),
                    _ => {
                        return if *op == BinOp::Eq {
                            DEFAULT_EQ
                        } else {
                            DEFAULT_OTHER
                        };
                    }
                };
                match op {
                    BinOp::Eq => self.equality(table, col, probe),
                    BinOp::NotEq => 1.0 - self.equality(table, col, probe),
                    BinOp::Lt | BinOp::LtEq => self.range(table, col, probe, true),
                    BinOp::Gt | BinOp::GtEq => self.range(table, col, probe, false),
                    _ => DEFAULT_OTHER,
                }
            }
            _ => DEFAULT_OTHER,
        }
    }

    /// Selectivity of `column = probe`.
    fn equality(&self, table: &TableDef, col: usize, probe: &Expr) -> f64 {
        let rows = self.table_rows(table).max(1.0);
        if unique_column(table, col) {
            return 1.0 / rows;
        }
        let Some(s) = self.catalog.stats(table.id).and_then(|s| s.column(col)) else {
            return DEFAULT_EQ;
        };
        if let Expr::Literal(v, _) = probe {
            if let Some((_, f)) = s.most_common.iter().find(|(m, _)| m == v) {
                return *f;
            }
            let common: f64 = s.most_common.iter().map(|(_, f)| f).sum();
            let others = (s.n_distinct - s.most_common.len() as f64).max(1.0);
            return ((1.0 - s.null_frac - common) / others).clamp(0.0, 1.0);
        }
        (1.0 - s.null_frac) / s.n_distinct.max(1.0)
    }

    /// Selectivity of `column < probe` (`below`) or `column > probe`.
    fn range(&self, table: &TableDef, col: usize, probe: &Expr, below: bool) -> f64 {
        let stats = self.catalog.stats(table.id).and_then(|s| s.column(col));
        let (Some(s), Expr::Literal(v, _)) = (stats, probe) else {
            return DEFAULT_RANGE;
        };
        let (Some(lo), Some(hi), Some(x)) = (
            s.min.as_ref().and_then(number),
            s.max.as_ref().and_then(number),
            number(v),
        ) else {
            return DEFAULT_RANGE;
        };
        if hi <= lo {
            return DEFAULT_RANGE;
        }
        let frac = ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
        let share = if below { frac } else { 1.0 - frac };
        // Never quite zero: the bounds are from when ANALYZE ran.
        (share * (1.0 - s.null_frac)).max(0.0001)
    }
}

/// A value on a number line, for interpolating ranges.
fn number(v: &Value) -> Option<f64> {
    Some(match v {
        Value::Int2(i) => f64::from(*i),
        Value::Int4(i) | Value::Date(i) => f64::from(*i),
        Value::Int8(i) | Value::Timestamp(i) | Value::TimestampTz(i) => *i as f64,
        Value::Float4(f) => f64::from(*f),
        Value::Float8(f) => *f,
        Value::Numeric(d) => d.to_f64()?,
        _ => return None,
    })
}

fn flip(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::LtEq => BinOp::GtEq,
        BinOp::Gt => BinOp::Lt,
        BinOp::GtEq => BinOp::LtEq,
        other => other,
    }
}

/// Whether column `col` alone is the primary key or a unique index.
pub(super) fn unique_column(table: &TableDef, col: usize) -> bool {
    table
        .primary_key
        .as_ref()
        .is_some_and(|k| k.columns == [col])
        || table
            .indexes
            .iter()
            .any(|i| i.unique && !i.on_expressions() && i.columns == [col])
}

/// Whether `filter` binds every column of the primary key or of a unique
/// index by equality, so at most one row matches.
fn point_lookup(table: &TableDef, filter: Option<&Expr>) -> bool {
    let Some(f) = filter else { return false };
    let mut conj = Vec::new();
    split_and(f, &mut conj);
    let bound: Vec<usize> = conj
        .iter()
        .filter_map(|c| match c {
            Expr::Binary(BinOp::Eq, a, b, _) => match (a.as_ref(), b.as_ref()) {
                (Expr::Column(c, _), p) | (p, Expr::Column(c, _)) if p.is_row_independent() => {
                    Some(*c)
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    let covers = |cols: &[usize]| !cols.is_empty() && cols.iter().all(|c| bound.contains(c));
    table
        .primary_key
        .as_ref()
        .is_some_and(|k| covers(&k.columns))
        || table
            .indexes
            .iter()
            .any(|i| i.unique && !i.on_expressions() && covers(&i.columns))
}
