//! The plan a statement runs: a tree of relational operators over bound
//! expressions. Each node knows its output columns; the executor turns the
//! tree into streaming operators one to one.

use std::sync::Arc;

use crate::catalog::{IndexDef, TableDef};
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
    /// `stddev`, `stddev_samp`
    StddevSamp,
    /// `stddev_pop`
    StddevPop,
    /// `variance`, `var_samp`
    VarSamp,
    /// `var_pop`
    VarPop,
    /// A Wasm aggregate ([`AggCall::routine`]): init / accumulate in
    /// batches / finish over an opaque state.
    Wasm,
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
    /// `agg(x ORDER BY k)`: the order the rows reach the aggregate in;
    /// each key's expression is over the input row.
    pub order: Vec<SortKey>,
    /// Result type.
    pub ty: DataType,
    /// The routine of a [`AggFunc::Wasm`] aggregate.
    pub routine: Option<Arc<super::expr::RoutineCall>>,
}

/// A window function ([`Plan::Window`]).
#[derive(Debug, Clone)]
pub enum WindowFunc {
    /// `row_number()`
    RowNumber,
    /// `rank()`
    Rank,
    /// `dense_rank()`
    DenseRank,
    /// `percent_rank()`
    PercentRank,
    /// `cume_dist()`
    CumeDist,
    /// `ntile(buckets)`
    Ntile,
    /// `lag(value [, offset [, default]])`
    Lag,
    /// `lead(value [, offset [, default]])`
    Lead,
    /// `first_value(value)` of the frame
    FirstValue,
    /// `last_value(value)` of the frame
    LastValue,
    /// `nth_value(value, n)` of the frame
    NthValue,
    /// An aggregate over the frame.
    Aggregate(Box<AggCall>),
}

/// Where a window frame starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameBound {
    /// The partition's first row.
    UnboundedPreceding,
    /// `n PRECEDING` (ROWS only).
    Preceding(u64),
    /// The current row (ROWS), or its first / last peer (RANGE).
    CurrentRow,
    /// `n FOLLOWING` (ROWS only).
    Following(u64),
    /// The partition's last row.
    UnboundedFollowing,
}

/// A window frame: the rows around the current one that frame functions
/// and aggregates see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// ROWS counts rows; RANGE (the default) treats peers (rows equal in
    /// the window's ORDER BY) as one.
    pub rows: bool,
    /// Start.
    pub start: FrameBound,
    /// End.
    pub end: FrameBound,
}

/// One window function call: its arguments, evaluated over the input row,
/// and its window.
#[derive(Debug, Clone)]
pub struct WindowCall {
    /// The function.
    pub func: WindowFunc,
    /// Its arguments (an aggregate's are in its [`AggCall`]).
    pub args: Vec<Expr>,
    /// PARTITION BY
    pub partition_by: Vec<Expr>,
    /// The window's ORDER BY.
    pub order_by: Vec<SortKey>,
    /// The frame.
    pub frame: Frame,
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

/// The rows of the previous round of a recursive CTE, shared between the
/// node that computes the CTE and the scans of its recursive term.
#[derive(Debug, Clone, Default)]
pub struct WorkTable(pub(crate) Arc<parking_lot::Mutex<Vec<Vec<crate::types::Value>>>>);

/// A plan node.
#[derive(Debug, Clone)]
pub enum Plan {
    /// A Wasm table function in FROM: its rows for one argument row, or,
    /// over `input` (LATERAL, or a later FROM item), each input row
    /// followed by the rows the function returns for it; the arguments are
    /// evaluated over the input row.
    TableFunction {
        /// The routine (its `ty` is unused: the columns say the shape).
        call: Arc<super::expr::RoutineCall>,
        /// Its arguments, cast to the parameter types.
        args: Vec<Expr>,
        /// The rows the arguments read (LATERAL), if any.
        input: Option<Box<Plan>>,
        /// `LEFT JOIN LATERAL f(…) ON cond`: `cond` over the input's and the
        /// function's columns; an input row none of whose function rows
        /// meet it comes out once, with NULL function columns.
        left_join: Option<Expr>,
        /// The input's columns, then the function's.
        columns: Vec<Column>,
    },
    /// WITH RECURSIVE: the anchor's rows, then the step's rows over the
    /// previous round's until a round adds none (UNION drops rows seen
    /// before, UNION ALL keeps them).
    RecursiveCte {
        /// The non-recursive term.
        anchor: Box<Plan>,
        /// The recursive term, reading `work`.
        step: Box<Plan>,
        /// UNION ALL
        all: bool,
        /// The previous round's rows.
        work: WorkTable,
        /// Output columns (the anchor's).
        columns: Vec<Column>,
    },
    /// The previous round's rows of a recursive CTE.
    WorkTableScan {
        /// Shared with the RecursiveCte node.
        work: WorkTable,
        /// Output columns.
        columns: Vec<Column>,
    },
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
    /// Rows of a table found through an index: the primary key's B+tree
    /// (the table itself) or a secondary index, between key bounds.
    IndexScan {
        /// The table.
        table: Arc<TableDef>,
        /// Name it is referred to by.
        alias: String,
        /// The index walked.
        index: IndexChoice,
        /// Where in the index to look.
        bounds: Box<IndexBounds>,
        /// Walk the index backwards (ORDER BY ... DESC).
        reverse: bool,
        /// The whole WHERE predicate over the table's columns, checked on
        /// every row the index yields: bounds only narrow the search.
        filter: Option<Expr>,
        /// The conjuncts the bounds came from (EXPLAIN's Index Cond).
        index_cond: Vec<Expr>,
        /// Output columns (the table's).
        columns: Vec<Column>,
    },
    /// `generate_series(start, stop [, step])` in FROM: integers or
    /// numerics produced one at a time.
    Series {
        /// First value.
        start: Expr,
        /// Last value (inclusive).
        stop: Expr,
        /// Step (1 if not given).
        step: Expr,
        /// The one output column.
        columns: Vec<Column>,
    },
    /// A table scan (`Scan` or `IndexScan`) whose rows carry their
    /// storage key as a last `ctid` column: how UPDATE and DELETE find
    /// the rows they change, through joins with FROM / USING items.
    KeyedScan {
        /// The scan.
        input: Box<Plan>,
        /// Its columns, then `ctid` (bytea).
        columns: Vec<Column>,
    },
    /// `SELECT … FOR UPDATE | FOR SHARE`: locks the rows each input row
    /// was made of before passing it on. An input row is the query's
    /// output columns (and hidden sort keys), then from `from` on the whole
    /// FROM row they were computed from. Under READ COMMITTED a row a
    /// concurrent transaction changed while this one waited is read again:
    /// it is dropped if deleted or if it no longer meets the WHERE, and the
    /// output columns are computed again over it, as in PostgreSQL.
    LockRows {
        /// Input.
        input: Box<Plan>,
        /// The tables whose rows are locked.
        targets: Vec<LockTarget>,
        /// Where the FROM row starts in an input row.
        from: usize,
        /// The WHERE over the FROM row.
        recheck: Option<Expr>,
        /// The input's first `from` columns, over the FROM row.
        outputs: Vec<Expr>,
    },
    /// Window functions: each input row with one column per call after
    /// its own, computed over the row's partition (PostgreSQL's WindowAgg).
    Window {
        /// Input.
        input: Box<Plan>,
        /// The calls.
        calls: Vec<WindowCall>,
        /// The input's columns, then one per call.
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
    /// A join that reads the inner table through an index once per outer
    /// row (index nested loop): `inner` is an index scan whose probes read
    /// the outer row as `Expr::Outer { depth: 1, .. }`.
    IndexJoin {
        /// INNER or LEFT.
        kind: JoinKind,
        /// Outer input.
        outer: Box<Plan>,
        /// The inner index scan.
        inner: Box<Plan>,
        /// Condition over outer ‖ inner still to check per joined row.
        on: Option<Expr>,
        /// Output columns (outer ‖ inner).
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
    /// ORDER BY ... LIMIT without an index: keeps only the best
    /// `offset + limit` rows in a bounded heap instead of sorting all.
    TopN {
        /// Input.
        input: Box<Plan>,
        /// Keys, most significant first.
        keys: Vec<SortKey>,
        /// LIMIT.
        limit: Expr,
        /// OFFSET.
        offset: Option<Expr>,
    },
    /// Removal of duplicate rows.
    Distinct {
        /// Input.
        input: Box<Plan>,
    },
    /// `DISTINCT ON`: the first row of each set of rows with equal values
    /// (NULLs equal) in the `keys` columns, in input order.
    DistinctOn {
        /// Input, sorted with the keys leading.
        input: Box<Plan>,
        /// Column indexes.
        keys: Vec<usize>,
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

/// One table a `SELECT … FOR UPDATE | FOR SHARE` locks the rows of, as
/// [`Plan::LockRows`] finds it in the FROM row.
#[derive(Debug, Clone)]
pub struct LockTarget {
    /// The table.
    pub table: Arc<TableDef>,
    /// The name it is referred to by (EXPLAIN).
    pub alias: String,
    /// Its first column in the FROM row.
    pub start: usize,
    /// Its row's storage key (the `?ctid` column after its own) in the
    /// FROM row.
    pub key: usize,
    /// Exclusive or shared.
    pub strength: crate::catalog::LockStrength,
    /// What to do when another transaction holds a row.
    pub wait: crate::catalog::LockWait,
}

/// The B+tree an index scan walks.
#[derive(Debug, Clone)]
pub enum IndexChoice {
    /// The table itself, keyed by its primary key.
    Primary,
    /// A secondary index, whose entries point at rows by primary key.
    Secondary(IndexDef),
}

/// Key bounds of an index scan over its columns in key order: equality on
/// a leading prefix, then on the next column either a list of
/// alternatives (IN) or a range. Probe expressions read no column of the
/// scanned table (literals, parameters, outer references), so they are
/// evaluated once when the scan starts.
#[derive(Debug, Clone, Default)]
pub struct IndexBounds {
    /// One value per leading index column.
    pub eq: Vec<Expr>,
    /// Alternatives for the column after `eq` (`IN (...)`).
    pub any_of: Vec<Expr>,
    /// Inclusive lower bound for the column after `eq`.
    pub lower: Option<Expr>,
    /// Inclusive upper bound for the column after `eq`.
    pub upper: Option<Expr>,
}

impl IndexBounds {
    /// Whether the bounds restrict the scan at all.
    pub fn is_empty(&self) -> bool {
        self.eq.is_empty() && self.any_of.is_empty() && self.lower.is_none() && self.upper.is_none()
    }
}

impl Plan {
    /// An inner join of `left` and `right`; its row is `left ‖ right`.
    pub(crate) fn inner_join(
        left: Plan,
        right: Plan,
        on: Option<Expr>,
        equi: Vec<(Expr, Expr)>,
    ) -> Plan {
        let mut columns = left.columns();
        columns.extend(right.columns());
        Plan::Join {
            kind: JoinKind::Inner,
            left: Box::new(left),
            right: Box::new(right),
            on,
            equi,
            columns,
        }
    }

    /// The node's output columns.
    pub fn columns(&self) -> Vec<Column> {
        match self {
            Plan::Values { columns, .. }
            | Plan::Scan { columns, .. }
            | Plan::IndexScan { columns, .. }
            | Plan::KeyedScan { columns, .. }
            | Plan::Series { columns, .. }
            | Plan::TableFunction { columns, .. }
            | Plan::RecursiveCte { columns, .. }
            | Plan::WorkTableScan { columns, .. }
            | Plan::Project { columns, .. }
            | Plan::Join { columns, .. }
            | Plan::IndexJoin { columns, .. }
            | Plan::Window { columns, .. }
            | Plan::Aggregate { columns, .. } => columns.clone(),
            Plan::Filter { input, .. }
            | Plan::LockRows { input, .. }
            | Plan::Sort { input, .. }
            | Plan::TopN { input, .. }
            | Plan::Limit { input, .. }
            | Plan::Distinct { input }
            | Plan::DistinctOn { input, .. } => input.columns(),
            Plan::SetOp { left, .. } => left.columns(),
        }
    }

    /// Whether the plan, run as a subquery, reads a row of a query around
    /// it: an outer reference reaching past every subquery and index join
    /// it sits in. A plan that reads none yields the same rows however
    /// often it runs within one execution, so it is run once (PostgreSQL's
    /// InitPlan). The rows of a recursive CTE's previous round change
    /// between runs, so a plan reading them counts as correlated.
    pub(crate) fn is_correlated(&self) -> bool {
        self.reads_outer(0)
    }

    /// [`Plan::is_correlated`] for a plan `level` row pushes below the
    /// subquery being judged.
    fn reads_outer(&self, level: usize) -> bool {
        let exprs = |mut es: &mut dyn Iterator<Item = &Expr>| {
            Iterator::any(&mut es, |e| expr_reads_outer(e, level))
        };
        let sort_keys = |keys: &[SortKey]| keys.iter().any(|k| expr_reads_outer(&k.expr, level));
        match self {
            Plan::WorkTableScan { .. } => true,
            Plan::TableFunction {
                args,
                input,
                left_join,
                ..
            } => {
                exprs(&mut args.iter().chain(left_join))
                    || input.as_ref().is_some_and(|p| p.reads_outer(level))
            }
            Plan::RecursiveCte { anchor, step, .. } => {
                anchor.reads_outer(level) || step.reads_outer(level)
            }
            Plan::Values { rows, .. } => exprs(&mut rows.iter().flatten()),
            Plan::Scan { filter, .. } => exprs(&mut filter.iter()),
            Plan::IndexScan {
                bounds,
                filter,
                index_cond,
                ..
            } => exprs(
                &mut bounds
                    .eq
                    .iter()
                    .chain(&bounds.any_of)
                    .chain(&bounds.lower)
                    .chain(&bounds.upper)
                    .chain(filter)
                    .chain(index_cond),
            ),
            Plan::Series {
                start, stop, step, ..
            } => exprs(&mut [start, stop, step].into_iter()),
            Plan::Filter { input, predicate } => {
                expr_reads_outer(predicate, level) || input.reads_outer(level)
            }
            Plan::Project {
                input, exprs: es, ..
            } => exprs(&mut es.iter()) || input.reads_outer(level),
            Plan::Join {
                left,
                right,
                on,
                equi,
                ..
            } => {
                exprs(&mut on.iter().chain(equi.iter().flat_map(|(l, r)| [l, r])))
                    || left.reads_outer(level)
                    || right.reads_outer(level)
            }
            // The inner scan runs with the outer row pushed: its outer
            // references of depth 1 read that row, not an enclosing query's.
            Plan::IndexJoin {
                outer, inner, on, ..
            } => exprs(&mut on.iter()) || outer.reads_outer(level) || inner.reads_outer(level + 1),
            Plan::Aggregate {
                input,
                group_by,
                aggs,
                ..
            } => {
                exprs(&mut group_by.iter())
                    || aggs
                        .iter()
                        .any(|a| exprs(&mut a.args.iter().chain(&a.filter)) || sort_keys(&a.order))
                    || input.reads_outer(level)
            }
            Plan::Sort { input, keys } => sort_keys(keys) || input.reads_outer(level),
            Plan::Limit {
                input,
                limit,
                offset,
            } => exprs(&mut limit.iter().chain(offset)) || input.reads_outer(level),
            Plan::TopN {
                input,
                keys,
                limit,
                offset,
            } => {
                sort_keys(keys)
                    || exprs(&mut std::iter::once(limit).chain(offset))
                    || input.reads_outer(level)
            }
            Plan::LockRows {
                input,
                recheck,
                outputs,
                ..
            } => exprs(&mut recheck.iter().chain(outputs)) || input.reads_outer(level),
            Plan::Window { input, calls, .. } => {
                calls.iter().any(|c| {
                    let agg = match &c.func {
                        WindowFunc::Aggregate(a) => exprs(&mut a.args.iter().chain(&a.filter)),
                        _ => false,
                    };
                    agg || exprs(&mut c.args.iter().chain(&c.partition_by))
                        || sort_keys(&c.order_by)
                }) || input.reads_outer(level)
            }
            Plan::KeyedScan { input, .. }
            | Plan::Distinct { input }
            | Plan::DistinctOn { input, .. } => input.reads_outer(level),
            Plan::SetOp { left, right, .. } => left.reads_outer(level) || right.reads_outer(level),
        }
    }
}

/// Whether `e`, evaluated `level` row pushes below the subquery being
/// judged, reads a row from outside it.
fn expr_reads_outer(e: &Expr, level: usize) -> bool {
    let mut found = false;
    e.walk(&mut |n| match n {
        Expr::Outer { depth, .. } => found |= *depth > level,
        // A nested subquery runs with one more row pushed.
        Expr::Subquery(plan, ..) => found |= plan.reads_outer(level + 1),
        _ => {}
    });
    found
}
