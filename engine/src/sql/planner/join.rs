//! Joins: WHERE conjuncts above an inner join move to the side they read
//! (and so into that side's scan and its index choice), conjuncts that
//! read both sides join the ON condition, and equalities between one
//! expression of each side become hash-join keys.

use super::access::split_and;
use super::push_filter;
use crate::sql::expr::{BinOp, Expr};
use crate::sql::plan::{JoinKind, Plan};
use crate::types::DataType;

/// `Filter(predicate)` over `join`, with what can move pushed down.
pub(super) fn filter_join(join: Plan, predicate: Expr) -> Plan {
    let Plan::Join {
        kind: JoinKind::Inner,
        left,
        right,
        on,
        columns,
        ..
    } = join
    else {
        return Plan::Filter {
            input: Box::new(join),
            predicate,
        };
    };
    let lw = left.columns().len();
    let mut conj = Vec::new();
    split_and(&predicate, &mut conj);
    let (mut to_left, mut to_right, mut to_on, mut keep) = (vec![], vec![], vec![], vec![]);
    for c in conj {
        // A subquery may refer to this row by position (correlation), so
        // it stays where its positions mean what they say.
        if c.has_subquery() {
            keep.push(c.clone());
            continue;
        }
        let mut cols = Vec::new();
        c.columns(&mut cols);
        if cols.is_empty() {
            keep.push(c.clone());
        } else if cols.iter().all(|i| *i < lw) {
            to_left.push(c.clone());
        } else if cols.iter().all(|i| *i >= lw) {
            let mut c = c.clone();
            c.map_columns(&|i| i - lw);
            to_right.push(c);
        } else {
            to_on.push(c.clone());
        }
    }
    let mut left = *left;
    let mut right = *right;
    if let Some(p) = and_all(to_left) {
        left = push_filter(left, p);
    }
    if let Some(p) = and_all(to_right) {
        right = push_filter(right, p);
    }
    let on = and_all(on.into_iter().chain(to_on).collect());
    let equi = on.as_ref().map(|e| equi_keys(e, lw)).unwrap_or_default();
    let join = Plan::Join {
        kind: JoinKind::Inner,
        left: Box::new(left),
        right: Box::new(right),
        on,
        equi,
        columns,
    };
    match and_all(keep) {
        Some(p) => Plan::Filter {
            input: Box::new(join),
            predicate: p,
        },
        None => join,
    }
}

/// The conjunction of `parts`, `None` when there are none.
pub(super) fn and_all(parts: Vec<Expr>) -> Option<Expr> {
    parts
        .into_iter()
        .reduce(|a, b| Expr::Binary(BinOp::And, Box::new(a), Box::new(b), DataType::Bool))
}

/// The `left = right` conjuncts of a join condition whose sides each read
/// only one input: the keys a hash join can use.
pub(crate) fn equi_keys(on: &Expr, left_width: usize) -> Vec<(Expr, Expr)> {
    let mut conjuncts = Vec::new();
    split_and(on, &mut conjuncts);
    let mut keys = Vec::new();
    for c in conjuncts {
        if let Expr::Binary(BinOp::Eq, a, bb, _) = c {
            if a.has_subquery() || bb.has_subquery() {
                continue;
            }
            let side = |e: &Expr| {
                let mut cols = Vec::new();
                e.columns(&mut cols);
                if cols.is_empty() {
                    None
                } else if cols.iter().all(|c| *c < left_width) {
                    Some(true)
                } else if cols.iter().all(|c| *c >= left_width) {
                    Some(false)
                } else {
                    None
                }
            };
            let shift = |e: &Expr| {
                let mut e = e.clone();
                e.map_columns(&|i| i - left_width);
                e
            };
            // Keys compare by grouping equality, so both sides must have
            // one type for hashing to agree with `=`.
            if a.ty() != bb.ty() {
                continue;
            }
            match (side(a), side(bb)) {
                (Some(true), Some(false)) => keys.push((a.as_ref().clone(), shift(bb))),
                (Some(false), Some(true)) => keys.push((bb.as_ref().clone(), shift(a))),
                _ => {}
            }
        }
    }
    keys
}
