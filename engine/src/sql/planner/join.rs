//! Join conditions: equalities between one expression of each side
//! become hash-join keys. (Where conjuncts go is `join_order`'s job.)

use super::access::split_and;
use crate::sql::expr::{BinOp, Expr};
use crate::types::DataType;

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
