//! Constant folding when an operator is built: an operator or cast whose
//! operands are all constants becomes its value, so `2 * 6371.0088` is not
//! multiplied again and the literal `2` of `x / 2` over doubles is not cast
//! again for every row.

use super::arith::{arith, compare, negate};
use super::{BinOp, Expr};
use crate::types::Value;

impl Expr {
    /// Folds, bottom up, every arithmetic or comparison operator, cast and
    /// unary minus over literals. A node whose evaluation fails stays as it
    /// is: its error belongs to the rows that reach it (a CASE branch that
    /// divides by zero may never run).
    pub(crate) fn fold_constants(&mut self) {
        for c in self.children_mut() {
            c.fold_constants();
        }
        let value = match self {
            Expr::Binary(op, a, b, _) if !matches!(op, BinOp::And | BinOp::Or) => {
                match (a.as_ref(), b.as_ref()) {
                    (Expr::Literal(l, _), Expr::Literal(r, _)) => match op {
                        BinOp::Eq
                        | BinOp::NotEq
                        | BinOp::Lt
                        | BinOp::LtEq
                        | BinOp::Gt
                        | BinOp::GtEq => Some(compare(*op, l, r).map_or(Value::Null, Value::Bool)),
                        _ => arith(*op, l.clone(), r.clone()).ok(),
                    },
                    _ => None,
                }
            }
            Expr::Cast(e, ty) => match e.as_ref() {
                Expr::Literal(Value::Null, _) => Some(Value::Null),
                Expr::Literal(v, _) => v.cast(ty).ok(),
                _ => None,
            },
            Expr::Neg(e) => match e.as_ref() {
                Expr::Literal(v, _) => negate(v.clone()).ok(),
                _ => None,
            },
            _ => None,
        };
        if let Some(v) = value {
            *self = Expr::Literal(v, self.ty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::DataType;

    fn lit(v: Value, ty: DataType) -> Box<Expr> {
        Box::new(Expr::Literal(v, ty))
    }

    #[test]
    fn operators_over_literals_become_their_value() {
        // (2 * 3) + x: the product folds, the sum over a column cannot.
        let mut e = Expr::Binary(
            BinOp::Add,
            Box::new(Expr::Binary(
                BinOp::Mul,
                lit(Value::Int8(2), DataType::Int8),
                lit(Value::Int8(3), DataType::Int8),
                DataType::Int8,
            )),
            Box::new(Expr::Column(0, DataType::Int8)),
            DataType::Int8,
        );
        e.fold_constants();
        let Expr::Binary(BinOp::Add, left, right, _) = e else {
            panic!("the sum was folded away: {e:?}");
        };
        assert!(matches!(
            *left,
            Expr::Literal(Value::Int8(6), DataType::Int8)
        ));
        assert!(matches!(*right, Expr::Column(0, _)));
    }

    #[test]
    fn casts_of_literals_are_made_once() {
        let mut e = Expr::Cast(lit(Value::Int4(2), DataType::Int4), DataType::Float8);
        e.fold_constants();
        assert!(matches!(e, Expr::Literal(Value::Float8(f), DataType::Float8) if f == 2.0));
    }

    #[test]
    fn a_failing_node_is_left_for_the_rows_that_reach_it() {
        let mut e = Expr::Binary(
            BinOp::Div,
            lit(Value::Int4(1), DataType::Int4),
            lit(Value::Int4(0), DataType::Int4),
            DataType::Int4,
        );
        e.fold_constants();
        assert!(matches!(e, Expr::Binary(BinOp::Div, ..)));
    }
}
