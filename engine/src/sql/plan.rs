//! The plan a statement runs: a tree of relational operators over bound
//! expressions. Each node knows its output columns; the executor turns the
//! tree into streaming operators one to one.

use std::sync::Arc;

use crate::catalog::TableDef;
use crate::types::DataType;

use super::expr::Expr;

/// One output column of a plan node.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The name a client sees (and `SELECT *` expands to).
    pub name: String,
    /// The table or alias it can be qualified with.
    pub table: Option<String>,
    /// Its type.
    pub ty: DataType,
}

/// A join's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// INNER and CROSS
    Inner,
    /// LEFT OUTER
    Left,
    /// RIGHT OUTER
    Right,
    /// FULL OUTER
    Full,
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count(*)`
    CountStar,
    /// `count(x)`
    Count,
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `bool_and`
    BoolAnd,
    /// `bool_or`
    BoolOr,
    /// `string_agg(x, sep)`
    StringAgg,
}

/// One aggregate call.
#[derive(Debug, Clone)]
pub struct AggCall {
    /// The function.
    pub func: AggFunc,
    /// Its arguments over the input row.
    pub args: Vec<Expr>,
    /// `DISTINCT`
    pub distinct: bool,
    /// `FILTER (WHERE ...)`
    pub filter: Option<Expr>,
    /// Result type.
    pub ty: DataType,
}

/// One sort key.
#[derive(Debug, Clone)]
pub struct SortKey {
    /// The value sorted on.
    pub expr: Expr,
    /// `DESC`
    pub desc: bool,
    /// `NULLS FIRST`
    pub nulls_first: bool,
}

/// Set operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOpKind {
    /// UNION
    Union,
    /// INTERSECT
    Intersect,
    /// EXCEPT
    Except,
}

/// A plan node.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Literal rows (VALUES, and the one empty row of a FROM-less SELECT).
    Values {
        /// The rows.
        rows: Vec<Vec<Expr>>,
        /// Output columns.
        columns: Vec<Column>,
    },
    /// All rows of a table (in primary-key order), optionally filtered.
    Scan {
        /// The table.
        table: Arc<TableDef>,
        /// Name it is referred to by.
        alias: String,
        /// A predicate over the table's columns.
        filter: Option<Expr>,
        /// Output columns (the table's).
        columns: Vec<Column>,
    },
    /// Rows of the input that satisfy the predicate.
    Filter {
        /// Input.
        input: Box<Plan>,
        /// Predicate.
        predicate: Expr,
    },
    /// Computed columns.
    Project {
        /// Input.
        input: Box<Plan>,
        /// One expression per output column.
        exprs: Vec<Expr>,
        /// Output columns.
        columns: Vec<Column>,
    },
    /// A join, by nested loops or (with equi-keys) hashing.
    Join {
        /// Kind.
        kind: JoinKind,
        /// Left input.
        left: Box<Plan>,
        /// Right input.
        right: Box<Plan>,
        /// Join condition over left ‖ right.
        on: Option<Expr>,
        /// Equality keys (left expr, right expr) usable for a hash join.
        equi: Vec<(Expr, Expr)>,
        /// Output columns (left ‖ right).
        columns: Vec<Column>,
    },
    /// Grouping and aggregation: output is group keys ‖ aggregates.
    Aggregate {
        /// Input.
        input: Box<Plan>,
        /// GROUP BY expressions.
        group_by: Vec<Expr>,
        /// Aggregates.
        aggs: Vec<AggCall>,
        /// Output columns.
        columns: Vec<Column>,
    },
    /// Sorting.
    Sort {
        /// Input.
        input: Box<Plan>,
        /// Keys, most significant first.
        keys: Vec<SortKey>,
    },
    /// LIMIT / OFFSET.
    Limit {
        /// Input.
        input: Box<Plan>,
        /// LIMIT (None: all).
        limit: Option<Expr>,
        /// OFFSET.
        offset: Option<Expr>,
    },
    /// Removal of duplicate rows.
    Distinct {
        /// Input.
        input: Box<Plan>,
    },
    /// UNION / INTERSECT / EXCEPT.
    SetOp {
        /// Which.
        kind: SetOpKind,
        /// `ALL`
        all: bool,
        /// Left input.
        left: Box<Plan>,
        /// Right input.
        right: Box<Plan>,
    },
}

impl Plan {
    /// The node's output columns.
    pub fn columns(&self) -> Vec<Column> {
        match self {
            Plan::Values { columns, .. }
            | Plan::Scan { columns, .. }
            | Plan::Project { columns, .. }
            | Plan::Join { columns, .. }
            | Plan::Aggregate { columns, .. } => columns.clone(),
            Plan::Filter { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Limit { input, .. }
            | Plan::Distinct { input } => input.columns(),
            Plan::SetOp { left, .. } => left.columns(),
        }
    }

    /// The plan as an indented tree, one node a line (EXPLAIN).
    pub fn explain(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.explain_into(0, &mut out);
        out
    }

    fn explain_into(&self, depth: usize, out: &mut Vec<String>) {
        let pad = if depth == 0 {
            String::new()
        } else {
            format!("{}->  ", "  ".repeat(depth * 2 - 1))
        };
        let (line, children): (String, Vec<&Plan>) = match self {
            Plan::Values { rows, .. } => (format!("Values ({} rows)", rows.len()), vec![]),
            Plan::Scan {
                table,
                alias,
                filter,
                ..
            } => {
                let mut l = format!("Seq Scan on {}", table.name);
                if alias != &table.name {
                    l.push_str(&format!(" {alias}"));
                }
                if filter.is_some() {
                    l.push_str(" (filtered)");
                }
                (l, vec![])
            }
            Plan::Filter { input, .. } => ("Filter".into(), vec![input]),
            Plan::Project { input, .. } => ("Project".into(), vec![input]),
            Plan::Join {
                kind,
                left,
                right,
                equi,
                ..
            } => (
                format!(
                    "{} {kind:?} Join",
                    if equi.is_empty() {
                        "Nested Loop"
                    } else {
                        "Hash"
                    }
                ),
                vec![left, right],
            ),
            Plan::Aggregate { input, .. } => ("HashAggregate".into(), vec![input]),
            Plan::Sort { input, .. } => ("Sort".into(), vec![input]),
            Plan::Limit { input, .. } => ("Limit".into(), vec![input]),
            Plan::Distinct { input } => ("Unique".into(), vec![input]),
            Plan::SetOp {
                kind, left, right, ..
            } => (format!("{kind:?}"), vec![left, right]),
        };
        out.push(format!("{pad}{line}"));
        for c in children {
            c.explain_into(depth + 1, out);
        }
    }
}
