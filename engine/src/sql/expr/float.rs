//! Double-precision expressions evaluated on `f64`s.
//!
//! [`eval`](super::eval) walks the bound tree and passes a [`Value`] (and a
//! `Result` around it) up from every node; over an expression such as the
//! haversine distance — some forty float8 nodes per row — that traffic is
//! most of the query. An operator that evaluates an expression for every
//! row compiles it with [`RowExpr::new`]: when the whole tree is float8
//! columns, constants, the four operators, negation and the float math
//! functions below, it becomes a [`FloatExpr`] whose nodes pass plain
//! `Option<f64>`s (`None` for NULL). Each node keeps `eval`'s semantics:
//! the same operator and function code runs, in the same order, so the
//! same values and errors come out.

use super::arith::float_op;
use super::functions::{self, Func};
use super::math::MathFunc;
use super::{BinOp, Expr, eval};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::ExecCtx;
use crate::types::{DataType, Value};

/// A float8 expression over a row.
#[derive(Debug, Clone)]
pub(crate) enum FloatExpr {
    Column(usize),
    Literal(f64),
    /// `+`, `-`, `*` or `/`.
    Binary(BinOp, Box<FloatExpr>, Box<FloatExpr>),
    Neg(Box<FloatExpr>),
    /// A strict one-argument function from float8 to float8.
    Call(Func, Box<FloatExpr>),
}

impl FloatExpr {
    /// The float form of `e`, if every node of it has one.
    pub(crate) fn compile(e: &Expr) -> Option<FloatExpr> {
        Some(match e {
            Expr::Column(i, DataType::Float8) => FloatExpr::Column(*i),
            Expr::Literal(Value::Float8(x), _) => FloatExpr::Literal(*x),
            Expr::Binary(
                op @ (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div),
                a,
                b,
                DataType::Float8,
            ) => FloatExpr::Binary(
                *op,
                Box::new(Self::compile(a)?),
                Box::new(Self::compile(b)?),
            ),
            Expr::Neg(a) if a.ty() == DataType::Float8 => {
                FloatExpr::Neg(Box::new(Self::compile(a)?))
            }
            Expr::Func(f, args, DataType::Float8) if float_function(*f) => match args.as_slice() {
                [a] => FloatExpr::Call(*f, Box::new(Self::compile(a)?)),
                _ => return None,
            },
            _ => return None,
        })
    }

    /// The value for `row`; `now` is the statement's clock, as functions
    /// get it from [`eval`].
    pub(crate) fn eval(&self, row: &[Value], now: i64) -> SqlResult<Option<f64>> {
        Ok(match self {
            FloatExpr::Column(i) => match row.get(*i) {
                Some(Value::Float8(x)) => Some(*x),
                Some(Value::Null) => None,
                _ => return Err(SqlError::Internal(format!("column {i} is not float8"))),
            },
            FloatExpr::Literal(x) => Some(*x),
            FloatExpr::Binary(op, a, b) => {
                // Both sides run before the NULL test, as in `eval`: the
                // right side's error is raised even when the left is NULL.
                let (x, y) = (a.eval(row, now)?, b.eval(row, now)?);
                match (x, y) {
                    (Some(x), Some(y)) => Some(float_op(*op, x, y)?),
                    _ => None,
                }
            }
            FloatExpr::Neg(a) => a.eval(row, now)?.map(|x| -x),
            FloatExpr::Call(f, a) => match a.eval(row, now)? {
                None => None,
                Some(x) => match functions::call_strict(*f, &[Value::Float8(x)], now)? {
                    Value::Float8(r) => Some(r),
                    Value::Null => None,
                    _ => {
                        return Err(SqlError::Internal(
                            "a float function returned no float".into(),
                        ));
                    }
                },
            },
        })
    }
}

/// Functions known to map a float8 argument to a float8 result (or NULL).
fn float_function(f: Func) -> bool {
    matches!(
        f,
        Func::Sqrt
            | Func::Math(
                MathFunc::Radians | MathFunc::Degrees | MathFunc::Cbrt | MathFunc::Trig(_)
            )
    )
}

/// An expression an operator evaluates for every row, compiled to its
/// float form when it has one.
#[derive(Debug, Clone)]
pub(crate) struct RowExpr {
    expr: Expr,
    float: Option<FloatExpr>,
}

impl RowExpr {
    /// Compiles `expr`, whose constant parts should already be folded.
    pub(crate) fn new(expr: Expr) -> RowExpr {
        RowExpr {
            float: FloatExpr::compile(&expr),
            expr,
        }
    }

    /// As [`eval`] of the expression.
    #[inline]
    pub(crate) fn eval(&self, row: &[Value], cx: &mut ExecCtx<'_>) -> SqlResult<Value> {
        // A bare column (an aggregate's argument, most often) is read here
        // rather than through a call of `eval` per row.
        if let Expr::Column(i, _) = &self.expr
            && let Some(v) = row.get(*i)
        {
            return Ok(v.clone());
        }
        match &self.float {
            Some(f) => Ok(f.eval(row, cx.now)?.map_or(Value::Null, Value::Float8)),
            None => eval(&self.expr, row, cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::expr::Trig;

    fn col(i: usize) -> Expr {
        Expr::Column(i, DataType::Float8)
    }

    fn lit(x: f64) -> Expr {
        Expr::Literal(Value::Float8(x), DataType::Float8)
    }

    fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
        Expr::Binary(op, Box::new(a), Box::new(b), DataType::Float8)
    }

    fn call(f: Func, a: Expr) -> Expr {
        Expr::Func(f, vec![a], DataType::Float8)
    }

    fn run(e: &Expr, row: &[Value]) -> SqlResult<Option<f64>> {
        FloatExpr::compile(e)
            .expect("a float8 expression compiles")
            .eval(row, 0)
    }

    #[test]
    fn arithmetic_and_functions_compute_as_eval_does() {
        // sin(radians(c0 - c1) / 2) * 2 + -c1
        let e = bin(
            BinOp::Add,
            bin(
                BinOp::Mul,
                call(
                    Func::Math(MathFunc::Trig(Trig::Sin)),
                    bin(
                        BinOp::Div,
                        call(
                            Func::Math(MathFunc::Radians),
                            bin(BinOp::Sub, col(0), col(1)),
                        ),
                        lit(2.0),
                    ),
                ),
                lit(2.0),
            ),
            Expr::Neg(Box::new(col(1))),
        );
        let row = [Value::Float8(90.0), Value::Float8(30.0)];
        let want = (60f64.to_radians() / 2.0).sin() * 2.0 - 30.0;
        assert_eq!(run(&e, &row).unwrap(), Some(want));
        assert_eq!(
            run(&call(Func::Sqrt, col(0)), &[Value::Float8(2.25)]).unwrap(),
            Some(1.5)
        );
    }

    #[test]
    fn null_in_gives_null_out() {
        let e = bin(BinOp::Mul, col(0), call(Func::Sqrt, col(1)));
        assert_eq!(run(&e, &[Value::Null, Value::Float8(4.0)]).unwrap(), None);
        assert_eq!(run(&e, &[Value::Float8(3.0), Value::Null]).unwrap(), None);
    }

    #[test]
    fn errors_are_evals_errors() {
        let by_zero = bin(BinOp::Div, col(0), lit(0.0));
        assert!(matches!(
            run(&by_zero, &[Value::Float8(1.0)]),
            Err(SqlError::DivisionByZero)
        ));
        // The right side's error comes even when the left side is NULL.
        let e = bin(BinOp::Add, col(0), call(Func::Sqrt, col(1)));
        let err = run(&e, &[Value::Null, Value::Float8(-1.0)]).unwrap_err();
        assert_eq!(err.sqlstate().code(), "2201F", "square root of a negative");
    }

    #[test]
    fn other_expressions_stay_generic() {
        let int = Expr::Column(0, DataType::Int8);
        assert!(FloatExpr::compile(&int).is_none());
        let with_int = bin(
            BinOp::Add,
            col(0),
            Expr::Cast(Box::new(int), DataType::Float8),
        );
        assert!(FloatExpr::compile(&with_int).is_none());
        let null = Expr::Literal(Value::Null, DataType::Float8);
        assert!(FloatExpr::compile(&null).is_none());
        let two_args = Expr::Func(
            Func::Math(MathFunc::Atan2),
            vec![col(0), col(1)],
            DataType::Float8,
        );
        assert!(FloatExpr::compile(&two_args).is_none());
    }
}
