//! Cost-based ordering of inner joins.
//!
//! A tree of inner joins (with the WHERE above it) is flattened into its
//! inputs — tables, subqueries, outer joins — and the conjuncts of all its
//! conditions. A conjunct that reads one input moves into it (and so into
//! its index choice); the others are join conditions. The order is then
//! chosen by dynamic programming over subsets of inputs (left-deep: each
//! step joins what is built so far with one more input), up to
//! [`DP_LIMIT`] inputs, and greedily beyond: start from the smallest
//! input and add the cheapest next one. Cross products are considered
//! only where no input connects by a condition.
//!
//! Each step picks the cheapest of: a hash join building on the new input
//! or on the part built so far, a nested loop when no equality connects
//! them, or an index nested loop when the new input is a table whose
//! primary key or an index is bounded by the equalities. Estimates come
//! from [`cardinality`](super::cardinality). The joined columns are put
//! back in the order the query wrote them by a projection, so nothing
//! above the joins sees the change.
//!
//! A conjunct holding a subquery may read the joined row by position; it
//! stays above the joins, where positions are the original ones (a
//! subtree to the right of another input, whose positions start later,
//! is left whole when its conditions hold one).

use super::access::split_and;
use super::cardinality::Estimator;
use super::join::{and_all, equi_keys};
use super::{optimize, push_filter, table_access};
use crate::catalog::Catalog;
use crate::sql::expr::{BinOp, Expr};
use crate::sql::plan::{Column, JoinKind, Plan};

/// Inputs up to which every left-deep order is considered.
const DP_LIMIT: usize = 8;
/// Building a hash table costs a little more per row than probing it.
const BUILD_FACTOR: f64 = 1.2;

struct Leaf {
    /// Before access-path selection (a table scan still carrying its
    /// filter, from which an index join can derive its probe).
    raw: Plan,
    width: usize,
    /// Where its columns start in the query's layout.
    offset: usize,
}

struct Conjunct {
    /// Over the query's layout.
    expr: Expr,
    /// The inputs it reads.
    mask: u32,
    /// The fraction of the cross product it keeps.
    selectivity: f64,
}

/// A join of a subset of the inputs.
#[derive(Clone)]
struct Entry {
    plan: Plan,
    /// The inputs in the order their columns appear.
    order: Vec<usize>,
    rows: f64,
    cost: f64,
}

/// The inner-join tree `plan` (a `Join`, possibly under a `Filter`) in
/// its cheapest order.
pub(super) fn order_joins(plan: Plan, catalog: &Catalog) -> Plan {
    let columns = plan.columns();
    let mut leaves = Vec::new();
    let mut conj = Vec::new();
    let mut keep = Vec::new();
    flatten(plan, 0, &mut leaves, &mut conj, &mut keep);
    let est = Estimator { catalog };
    let locate = |pos: usize| {
        leaves
            .iter()
            .position(|l: &Leaf| pos >= l.offset && pos < l.offset + l.width)
    };
    // Each conjunct to its input, or kept as a join condition.
    let mut joins: Vec<(Expr, u32)> = Vec::new();
    let mut local: Vec<Vec<Expr>> = leaves.iter().map(|_| Vec::new()).collect();
    for c in conj {
        let mut cols = Vec::new();
        c.columns(&mut cols);
        let mut mask = 0u32;
        for p in &cols {
            match locate(*p) {
                Some(i) => mask |= 1 << i,
                None => mask = u32::MAX,
            }
        }
        if mask == u32::MAX {
            keep.push(c);
        } else if mask.count_ones() == 1 {
            let i = mask.trailing_zeros() as usize;
            let off = leaves[i].offset;
            let mut c = c;
            c.map_columns(&|p| p - off);
            local[i].push(c);
        } else {
            joins.push((c, mask));
        }
    }
    for (leaf, preds) in leaves.iter_mut().zip(local) {
        if let Some(p) = and_all(preds) {
            let raw = std::mem::replace(
                &mut leaf.raw,
                Plan::Values {
                    rows: vec![],
                    columns: vec![],
                },
            );
            leaf.raw = push_filter(raw, p);
        }
    }
    let singles: Vec<Entry> = leaves
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let plan = optimize(l.raw.clone(), catalog);
            Entry {
                rows: est.rows(&l.raw).max(1.0),
                cost: est.cost(&plan),
                plan,
                order: vec![i],
            }
        })
        .collect();
    let conjuncts: Vec<Conjunct> = joins
        .into_iter()
        .map(|(expr, mask)| Conjunct {
            selectivity: join_selectivity(&expr, &leaves, &singles, &est),
            expr,
            mask,
        })
        .collect();
    let planner = Planner {
        leaves: &leaves,
        conjuncts: &conjuncts,
        singles: &singles,
        est,
    };
    let best = if leaves.len() <= DP_LIMIT {
        planner.dynamic()
    } else {
        planner.greedy()
    };
    let Some(best) = best else {
        return Plan::Values {
            rows: vec![],
            columns,
        };
    };
    let mut plan = restore_layout(best, &leaves, columns);
    if let Some(p) = and_all(keep) {
        plan = Plan::Filter {
            input: Box::new(plan),
            predicate: p,
        };
    }
    plan
}

/// Splits the tree into inputs and conjuncts (over the query's layout),
/// setting aside those that must stay above the joins.
fn flatten(
    plan: Plan,
    offset: usize,
    leaves: &mut Vec<Leaf>,
    conj: &mut Vec<Expr>,
    keep: &mut Vec<Expr>,
) {
    let movable = |e: &Expr| offset == 0 || !e.has_subquery();
    match plan {
        Plan::Filter { input, predicate }
            if matches!(
                input.as_ref(),
                Plan::Join {
                    kind: JoinKind::Inner,
                    ..
                }
            ) && movable(&predicate) =>
        {
            flatten(*input, offset, leaves, conj, keep);
            add_conjuncts(&predicate, offset, conj, keep);
        }
        Plan::Join {
            kind: JoinKind::Inner,
            left,
            right,
            on,
            ..
        } if on.as_ref().is_none_or(movable) => {
            let lw = left.columns().len();
            flatten(*left, offset, leaves, conj, keep);
            flatten(*right, offset + lw, leaves, conj, keep);
            if let Some(on) = on {
                add_conjuncts(&on, offset, conj, keep);
            }
        }
        other => leaves.push(Leaf {
            width: other.columns().len(),
            raw: other,
            offset,
        }),
    }
}

fn add_conjuncts(e: &Expr, offset: usize, conj: &mut Vec<Expr>, keep: &mut Vec<Expr>) {
    let mut parts = Vec::new();
    split_and(e, &mut parts);
    for p in parts {
        let mut p = p.clone();
        p.map_columns(&|i| i + offset);
        let mut cols = Vec::new();
        p.columns(&mut cols);
        if p.has_subquery() || cols.is_empty() {
            keep.push(p);
        } else {
            conj.push(p);
        }
    }
}

/// The fraction of the cross product of its inputs a join condition
/// keeps: for `a = b` one over the larger number of distinct values.
fn join_selectivity(e: &Expr, leaves: &[Leaf], singles: &[Entry], est: &Estimator<'_>) -> f64 {
    let Expr::Binary(BinOp::Eq, a, b, _) = e else {
        return 1.0 / 3.0;
    };
    let distinct = |x: &Expr| -> f64 {
        let Expr::Column(p, _) = x else {
            return 200.0;
        };
        let Some(i) = leaves
            .iter()
            .position(|l| *p >= l.offset && *p < l.offset + l.width)
        else {
            return 200.0;
        };
        let rows = singles[i].rows;
        let col = p - leaves[i].offset;
        match base_table(&leaves[i].raw) {
            Some(t) => est.distinct(t, col).min(rows.max(1.0)),
            None => rows.clamp(1.0, 200.0),
        }
    };
    1.0 / distinct(a).max(distinct(b)).max(1.0)
}

/// The table a scan input reads.
fn base_table(plan: &Plan) -> Option<&crate::catalog::TableDef> {
    match plan {
        Plan::Scan { table, .. } | Plan::IndexScan { table, .. } => Some(table),
        Plan::KeyedScan { input, .. } | Plan::Filter { input, .. } => base_table(input),
        _ => None,
    }
}

struct Planner<'p> {
    leaves: &'p [Leaf],
    conjuncts: &'p [Conjunct],
    singles: &'p [Entry],
    est: Estimator<'p>,
}

impl Planner<'_> {
    fn dynamic(&self) -> Option<Entry> {
        let n = self.leaves.len();
        let full = (1u32 << n) - 1;
        let mut best: Vec<Option<Entry>> = vec![None; 1 << n];
        for (i, e) in self.singles.iter().enumerate() {
            best[1 << i] = Some(e.clone());
        }
        for size in 2..=n as u32 {
            for mask in 1..=full {
                if mask.count_ones() != size {
                    continue;
                }
                let connected_exists = (0..n)
                    .any(|r| mask & (1 << r) != 0 && self.connects(mask & !(1 << r), r, mask));
                let mut winner: Option<Entry> = None;
                // The last input first: with equal costs the query's own
                // order (each input joined to those before it) wins.
                for r in (0..n).rev() {
                    if mask & (1 << r) == 0 {
                        continue;
                    }
                    let rest = mask & !(1 << r);
                    if connected_exists && !self.connects(rest, r, mask) {
                        continue;
                    }
                    let Some(left) = &best[rest as usize] else {
                        continue;
                    };
                    if let Some(e) = self.join(left, rest, r)
                        && winner.as_ref().is_none_or(|w| e.cost < w.cost - 1e-9)
                    {
                        winner = Some(e);
                    }
                }
                best[mask as usize] = winner;
            }
        }
        best[full as usize].take()
    }

    fn greedy(&self) -> Option<Entry> {
        let n = self.leaves.len();
        let singles = self.singles;
        let start = (0..n).min_by(|a, b| singles[*a].rows.total_cmp(&singles[*b].rows))?;
        let mut mask = 1u32 << start;
        let mut current = singles[start].clone();
        while mask.count_ones() < n as u32 {
            let candidates: Vec<usize> = (0..n).filter(|r| mask & (1 << r) == 0).collect();
            let connected: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|r| self.connects(mask, *r, mask | (1 << r)))
                .collect();
            let pool = if connected.is_empty() {
                candidates
            } else {
                connected
            };
            let mut winner: Option<(usize, Entry)> = None;
            for r in pool {
                if let Some(e) = self.join(&current, mask, r)
                    && winner.as_ref().is_none_or(|(_, w)| e.cost < w.cost - 1e-9)
                {
                    winner = Some((r, e));
                }
            }
            let (r, e) = winner?;
            mask |= 1 << r;
            current = e;
        }
        Some(current)
    }

    /// Whether a condition within `within` links input `r` to `rest`.
    fn connects(&self, rest: u32, r: usize, within: u32) -> bool {
        self.conjuncts
            .iter()
            .any(|c| c.mask & (1 << r) != 0 && c.mask & rest != 0 && c.mask & !within == 0)
    }

    /// The cheapest join of `left` (inputs `rest`) with input `r`.
    fn join(&self, left: &Entry, rest: u32, r: usize) -> Option<Entry> {
        let mask = rest | (1 << r);
        let conds: Vec<&Expr> = self
            .conjuncts
            .iter()
            .filter(|c| c.mask & (1 << r) != 0 && c.mask & !mask == 0)
            .map(|c| &c.expr)
            .collect();
        let selectivity: f64 = self
            .conjuncts
            .iter()
            .filter(|c| c.mask & (1 << r) != 0 && c.mask & !mask == 0)
            .map(|c| c.selectivity)
            .product();
        let right = &self.singles[r];
        let out = (left.rows * right.rows * selectivity).max(1.0);
        let mut order = left.order.clone();
        order.push(r);
        let on = and_all(conds.iter().map(|c| self.remap(c, &order)).collect());
        let lw = self.width(&left.order);
        let equi = on.as_ref().map(|e| equi_keys(e, lw)).unwrap_or_default();
        let base = left.cost + right.cost + out;
        let mut best = if equi.is_empty() {
            Entry {
                cost: base + left.rows * right.rows,
                plan: Plan::inner_join(left.plan.clone(), right.plan.clone(), on.clone(), equi),
                order: order.clone(),
                rows: out,
            }
        } else {
            Entry {
                cost: base + BUILD_FACTOR * right.rows + left.rows,
                plan: Plan::inner_join(left.plan.clone(), right.plan.clone(), on.clone(), equi),
                order: order.clone(),
                rows: out,
            }
        };
        // Hash on what is built so far, probe with the new input.
        let mut flipped = vec![r];
        flipped.extend(&left.order);
        let on_flipped = and_all(conds.iter().map(|c| self.remap(c, &flipped)).collect());
        let rw = self.leaves[r].width;
        let equi_flipped = on_flipped
            .as_ref()
            .map(|e| equi_keys(e, rw))
            .unwrap_or_default();
        if !equi_flipped.is_empty() {
            let cost = base + BUILD_FACTOR * left.rows + right.rows;
            if cost < best.cost - 1e-9 {
                best = Entry {
                    cost,
                    plan: Plan::inner_join(
                        right.plan.clone(),
                        left.plan.clone(),
                        on_flipped,
                        equi_flipped,
                    ),
                    order: flipped,
                    rows: out,
                };
            }
        }
        if let Some((inner, residual)) = self.index_probe(r, &conds, &order, lw) {
            let cost = left.cost + left.rows * self.est.cost(&inner) + out;
            if cost < best.cost - 1e-9 {
                let mut columns = left.plan.columns();
                columns.extend(inner.columns());
                best = Entry {
                    cost,
                    plan: Plan::IndexJoin {
                        kind: JoinKind::Inner,
                        outer: Box::new(left.plan.clone()),
                        inner: Box::new(inner),
                        on: residual,
                        columns,
                    },
                    order,
                    rows: out,
                };
            }
        }
        Some(best)
    }

    /// Input `r` read through an index probed with values of the outer
    /// row, when its table has one the join's equalities bound; and the
    /// conditions left to check on the joined row.
    fn index_probe(
        &self,
        r: usize,
        conds: &[&Expr],
        order: &[usize],
        outer_width: usize,
    ) -> Option<(Plan, Option<Expr>)> {
        let Plan::Scan {
            table,
            alias,
            filter,
            columns,
        } = &self.leaves[r].raw
        else {
            return None;
        };
        if filter.as_ref().is_some_and(Expr::has_subquery) {
            return None;
        }
        let mut probes = Vec::new();
        let mut residual = Vec::new();
        for c in conds {
            let e = self.remap(c, order);
            match probe_term(&e, outer_width) {
                Some(t) => probes.push(t),
                None => residual.push(e),
            }
        }
        if probes.is_empty() {
            return None;
        }
        let mut parts: Vec<Expr> = filter.iter().cloned().collect();
        parts.extend(probes.iter().cloned());
        let (inner, _) = table_access(
            table.clone(),
            alias.clone(),
            and_all(parts),
            columns.clone(),
            None,
        );
        let Plan::IndexScan { index_cond, .. } = &inner else {
            return None;
        };
        // The index must be bounded by the outer row, not only by the
        // input's own conditions.
        if !index_cond.iter().any(Expr::has_subquery) {
            return None;
        }
        // Probe terms the index did not use are checked by the scan's
        // filter, which holds them all; nothing of them is left over.
        Some((inner, and_all(residual)))
    }

    fn width(&self, order: &[usize]) -> usize {
        order.iter().map(|i| self.leaves[*i].width).sum()
    }

    /// `e` (over the query's layout) over the layout of `order`.
    fn remap(&self, e: &Expr, order: &[usize]) -> Expr {
        let mut starts = vec![usize::MAX; self.leaves.len()];
        let mut at = 0;
        for i in order {
            starts[*i] = at;
            at += self.leaves[*i].width;
        }
        let leaves = self.leaves;
        let mut e = e.clone();
        e.map_columns(&|p| {
            leaves
                .iter()
                .enumerate()
                .find(|(_, l)| p >= l.offset && p < l.offset + l.width)
                .map_or(p, |(i, l)| starts[i].saturating_add(p - l.offset))
        });
        e
    }
}

/// `inner_column = outer_expr` (over outer ‖ inner) as a condition on the
/// inner table alone, the outer side read as the outer row.
fn probe_term(e: &Expr, outer_width: usize) -> Option<Expr> {
    let Expr::Binary(BinOp::Eq, a, b, ty) = e else {
        return None;
    };
    let reads_outer_only = |x: &Expr| {
        let mut cols = Vec::new();
        x.columns(&mut cols);
        !cols.is_empty() && cols.iter().all(|c| *c < outer_width) && !x.has_subquery()
    };
    let (col, other) = match (a.as_ref(), b.as_ref()) {
        (Expr::Column(c, _), o) if *c >= outer_width && reads_outer_only(o) => (*c, o),
        (o, Expr::Column(c, _)) if *c >= outer_width && reads_outer_only(o) => (*c, o),
        _ => return None,
    };
    if other.ty() != a.ty() || other.ty() != b.ty() {
        return None;
    }
    let mut probe = other.clone();
    probe.walk_mut(&mut |x| {
        if let Expr::Column(i, t) = x {
            *x = Expr::Outer {
                depth: 1,
                index: *i,
                ty: *t,
            };
        }
    });
    Some(Expr::Binary(
        BinOp::Eq,
        Box::new(Expr::Column(col - outer_width, other.ty())),
        Box::new(probe),
        *ty,
    ))
}

/// The joined row in the query's column order.
fn restore_layout(best: Entry, leaves: &[Leaf], columns: Vec<Column>) -> Plan {
    let identity = best.order.iter().enumerate().all(|(k, i)| k == *i);
    if identity {
        return best.plan;
    }
    let mut starts = vec![0; leaves.len()];
    let mut at = 0;
    for i in &best.order {
        starts[*i] = at;
        at += leaves[*i].width;
    }
    let exprs = columns
        .iter()
        .enumerate()
        .map(|(p, c)| {
            let pos = leaves
                .iter()
                .enumerate()
                .find(|(_, l)| p >= l.offset && p < l.offset + l.width)
                .map_or(p, |(i, l)| starts[i] + (p - l.offset));
            Expr::Column(pos, c.ty)
        })
        .collect();
    Plan::Project {
        input: Box::new(best.plan),
        exprs,
        columns,
    }
}
