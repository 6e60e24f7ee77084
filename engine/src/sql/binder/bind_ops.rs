//! PostgreSQL's operators that are functions underneath (`^`, the bitwise
//! operators, `|/`, `@`), row comparisons (`(a, b) < (c, d)`), `IS [NOT]
//! UNKNOWN`, `pg_typeof`, and the function-call spelling of casts
//! (`int4(x)`, `text(x)`).

use std::sync::Arc;

use sqlparser::ast::{self, BinaryOperator, UnaryOperator};

use super::bind_coerce::{NUMERIC, is_number, is_unknown};
use super::{Binder, base_type, mismatch};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{BinOp, Expr, SubqueryKind};
use crate::types::{DataType, Value};

impl Binder<'_> {
    /// `x [NOT] SIMILAR TO 'pattern' [ESCAPE 'c']`: the SQL pattern as the
    /// anchored regular expression PostgreSQL turns it into, matched as
    /// `~` matches. The pattern must be a literal.
    pub(super) fn similar_to(
        &mut self,
        negated: bool,
        expr: &ast::Expr,
        pattern: &ast::Expr,
        escape: Option<&ast::Value>,
    ) -> SqlResult<Expr> {
        let escape = match escape {
            None => Some('\\'),
            Some(ast::Value::SingleQuotedString(e)) => super::bind_expr::escape_char(e)?,
            Some(other) => {
                return Err(SqlError::unsupported(format!("ESCAPE {other}")));
            }
        };
        let regex = match self.bind_expr(pattern)? {
            Expr::Literal(Value::Text(p), _) => similar_to_regex(&p, escape),
            Expr::Literal(Value::Null, _) => return Ok(Expr::Literal(Value::Null, DataType::Bool)),
            _ => {
                return Err(SqlError::unsupported(
                    "SIMILAR TO with a pattern that is not a literal",
                ));
            }
        };
        let x = self.bind_expr(expr)?;
        let x = self.coerce(x, DataType::Text)?;
        let op = if negated {
            BinaryOperator::PGRegexNotMatch
        } else {
            BinaryOperator::PGRegexMatch
        };
        self.binary(&op, x, Expr::Literal(Value::Text(regex), DataType::Text))
    }

    /// `(a, b) op (c, d)`: `=` when all pairs are equal, `<>` when any
    /// differs, and the orderings compare pair by pair, the first unequal
    /// pair deciding — written out in the pairs' own comparisons, which
    /// gives PostgreSQL's NULL rules (`(1, NULL) < (2, NULL)` is true,
    /// `(1, NULL) = (1, NULL)` null).
    pub(super) fn row_comparison(
        &mut self,
        l: &[ast::Expr],
        op: &BinaryOperator,
        r: &[ast::Expr],
    ) -> SqlResult<Expr> {
        use BinaryOperator as B;
        if l.len() != r.len() {
            return Err(SqlError::Syntax(
                "unequal number of entries in row expressions".into(),
            ));
        }
        let strict = match op {
            B::Eq | B::NotEq => None,
            B::Lt | B::LtEq => Some(B::Lt),
            B::Gt | B::GtEq => Some(B::Gt),
            other => {
                return Err(SqlError::unsupported(format!(
                    "operator {other} is not supported for row expressions"
                )));
            }
        };
        let mut pairs = l.iter().zip(r).rev();
        let Some((last_l, last_r)) = pairs.next() else {
            return Err(SqlError::Syntax("row expressions must not be empty".into()));
        };
        let (a, b) = (self.bind_expr(last_l)?, self.bind_expr(last_r)?);
        let mut out = self.binary(op, a, b)?;
        for (x, y) in pairs {
            let (a, b) = (self.bind_expr(x)?, self.bind_expr(y)?);
            out = match &strict {
                None => {
                    let pair = self.binary(op, a, b)?;
                    let join = if *op == B::Eq { B::And } else { B::Or };
                    self.binary(&join, pair, out)?
                }
                Some(strict) => {
                    let before = self.binary(strict, a, b)?;
                    let (a, b) = (self.bind_expr(x)?, self.bind_expr(y)?);
                    let tie = self.binary(&B::Eq, a, b)?;
                    let rest = self.binary(&B::And, tie, out)?;
                    self.binary(&B::Or, before, rest)?
                }
            };
        }
        Ok(out)
    }

    /// Binds a binary operator the arithmetic and comparison rules do not
    /// cover.
    pub(super) fn function_operator(
        &mut self,
        op: &BinaryOperator,
        l: Expr,
        r: Expr,
    ) -> SqlResult<Expr> {
        use BinaryOperator as B;
        let symbol = op.to_string();
        let (l, r) = match (is_unknown(&l), is_unknown(&r)) {
            (true, true) => (self.coerce(l, NUMERIC)?, self.coerce(r, NUMERIC)?),
            (true, false) => {
                let t = base_type(r.ty());
                (self.coerce(l, t)?, r)
            }
            (false, true) => {
                let t = base_type(l.ty());
                let r = self.coerce(r, t)?;
                (l, r)
            }
            _ => (l, r),
        };
        let (lt, rt) = (base_type(l.ty()), base_type(r.ty()));
        let integers = is_integer(&lt) && is_integer(&rt);
        match op {
            B::PGExp if is_number(&lt) && is_number(&rt) => self.call("power", vec![l, r]),
            B::BitwiseAnd | B::BitwiseOr | B::BitwiseXor | B::PGBitwiseXor if integers => {
                let name = match op {
                    B::BitwiseAnd => "int8and",
                    B::BitwiseOr => "int8or",
                    _ => "int8xor",
                };
                self.call(name, vec![l, r])
            }
            B::PGBitwiseShiftLeft | B::PGBitwiseShiftRight if integers => {
                let name = if matches!(op, B::PGBitwiseShiftLeft) {
                    "int8shl"
                } else {
                    "int8shr"
                };
                self.call(name, vec![l, r])
            }
            B::PGExp
            | B::BitwiseAnd
            | B::BitwiseOr
            | B::BitwiseXor
            | B::PGBitwiseXor
            | B::PGBitwiseShiftLeft
            | B::PGBitwiseShiftRight => Err(mismatch(&symbol, lt, rt)),
            other => Err(SqlError::unsupported(format!(
                "operator {other} is not supported"
            ))),
        }
    }

    /// Binds a prefix operator other than `NOT`, `-` and `+`.
    pub(super) fn function_unary(&mut self, op: &UnaryOperator, e: Expr) -> SqlResult<Expr> {
        let e = if is_unknown(&e) {
            self.coerce(e, NUMERIC)?
        } else {
            e
        };
        let ty = base_type(e.ty());
        let name = match op {
            UnaryOperator::PGSquareRoot => "sqrt",
            UnaryOperator::PGCubeRoot => "cbrt",
            UnaryOperator::PGAbs => "abs",
            UnaryOperator::PGBitwiseNot if is_integer(&ty) => "int8not",
            other => {
                return Err(SqlError::UndefinedFunction(format!(
                    "operator does not exist: {other} {}",
                    ty.name()
                )));
            }
        };
        if !is_number(&ty) {
            return Err(SqlError::UndefinedFunction(format!(
                "operator does not exist: {op} {}",
                ty.name()
            )));
        }
        self.call(name, vec![e])
    }

    /// `(x, y, …) [NOT] IN (SELECT a, b, …)`: each left expression
    /// compared with its column, so the subquery has as many columns.
    pub(super) fn row_in_subquery(
        &mut self,
        items: &[ast::Expr],
        subquery: &ast::Query,
        negated: bool,
    ) -> SqlResult<Expr> {
        let plan = self.subquery(subquery)?;
        let cols = plan.columns();
        if cols.len() != items.len() {
            let which = if cols.len() > items.len() {
                "many"
            } else {
                "few"
            };
            return Err(SqlError::Syntax(format!(
                "subquery has too {which} columns"
            )));
        }
        let mut exprs = Vec::with_capacity(items.len());
        for (item, col) in items.iter().zip(&cols) {
            let x = self.bind_expr(item)?;
            let probe = Expr::Literal(Value::Null, col.ty);
            exprs.push(self.unify(x, probe, "=")?.0);
        }
        Ok(Expr::Subquery(
            Arc::new(plan),
            SubqueryKind::RowIn { exprs, negated },
            DataType::Bool,
        ))
    }

    /// `x op ANY (SELECT ...)`, `x op ALL (SELECT ...)`.
    pub(super) fn quantified(
        &mut self,
        left: &ast::Expr,
        op: &BinaryOperator,
        right: &ast::Expr,
        all: bool,
    ) -> SqlResult<Expr> {
        let bop = match op {
            BinaryOperator::Eq => BinOp::Eq,
            BinaryOperator::NotEq => BinOp::NotEq,
            BinaryOperator::Lt => BinOp::Lt,
            BinaryOperator::LtEq => BinOp::LtEq,
            BinaryOperator::Gt => BinOp::Gt,
            BinaryOperator::GtEq => BinOp::GtEq,
            other => {
                return Err(SqlError::unsupported(format!(
                    "operator {other} with ANY/ALL is not supported"
                )));
            }
        };
        let ast::Expr::Subquery(q) = right else {
            return self.quantified_array(left, bop, right, all);
        };
        let x = self.bind_expr(left)?;
        let plan = self.subquery(q)?;
        let cols = plan.columns();
        if cols.len() != 1 {
            return Err(SqlError::Syntax("subquery has too many columns".into()));
        }
        let probe = Expr::Literal(Value::Null, cols[0].ty);
        let (x, _) = self.unify(x, probe, &op.to_string())?;
        Ok(Expr::Subquery(
            Arc::new(plan),
            SubqueryKind::Quantified {
                expr: Box::new(x),
                op: bop,
                all,
            },
            DataType::Bool,
        ))
    }

    /// `x IS [NOT] UNKNOWN`: the boolean form of `IS [NOT] NULL`.
    pub(super) fn is_unknown_test(&mut self, e: Expr, negated: bool) -> SqlResult<Expr> {
        let e = self.bool_operand(e, "IS UNKNOWN")?;
        Ok(Expr::IsNull(Box::new(e), negated))
    }

    /// Calls that are not functions of values: `pg_typeof(x)` is the
    /// argument's type, known when binding, and a type's name called as a
    /// function is a cast. `None`: an ordinary function.
    pub(super) fn special_call(
        &mut self,
        name: &str,
        args: &mut Vec<Expr>,
    ) -> SqlResult<Option<Expr>> {
        if args.len() != 1 {
            return Ok(None);
        }
        if name == "pg_typeof" {
            let arg = &args[0];
            let ty_name = if is_unknown(arg) && !matches!(arg, Expr::Param(..)) {
                "unknown".to_owned()
            } else {
                arg.ty().name().to_owned()
            };
            return Ok(Some(Expr::Literal(Value::Text(ty_name), DataType::Text)));
        }
        let Some(ty) = cast_function_type(name) else {
            return Ok(None);
        };
        let arg = args.remove(0);
        Ok(Some(match arg {
            Expr::Literal(Value::Text(s), DataType::Text) => {
                Expr::Literal(Value::Text(s).cast(&ty)?, ty)
            }
            other if base_type(other.ty()) == base_type(ty) => other,
            other if is_unknown(&other) => self.coerce(other, ty)?,
            other => Expr::Cast(Box::new(other), ty),
        }))
    }
}

fn is_integer(t: &DataType) -> bool {
    matches!(t, DataType::Int2 | DataType::Int4 | DataType::Int8)
}

/// The type a function-style cast names (PostgreSQL's internal type
/// names, which double as cast functions).
fn cast_function_type(name: &str) -> Option<DataType> {
    Some(match name {
        "int2" => DataType::Int2,
        "int4" | "int" => DataType::Int4,
        "int8" => DataType::Int8,
        "float4" => DataType::Float4,
        "float8" => DataType::Float8,
        "numeric" => NUMERIC,
        "text" => DataType::Text,
        "bool" => DataType::Bool,
        "date" => DataType::Date,
        _ => return None,
    })
}

/// PostgreSQL's translation of a SIMILAR TO pattern (`similar_escape`):
/// `%` and `_` become `.*` and `.`, the regular-expression operators SQL
/// shares (`|`, `*`, `+`, `?`, `{…}`, `(…)`, `[…]`) stay, what is special
/// only to regular expressions (`.`, `^`, `$`, `\\`) is quoted, the escape
/// character quotes the character after it, and the whole must match.
fn similar_to_regex(pattern: &str, escape: Option<char>) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    out.push_str("^(?:");
    let mut escaped = false;
    let mut in_brackets = false;
    for c in pattern.chars() {
        if escaped {
            out.push('\\');
            out.push(c);
            escaped = false;
        } else if Some(c) == escape {
            escaped = true;
        } else if in_brackets {
            if c == ']' {
                in_brackets = false;
            }
            out.push(c);
        } else {
            match c {
                '[' => {
                    in_brackets = true;
                    out.push(c);
                }
                '%' => out.push_str(".*"),
                '_' => out.push('.'),
                '.' | '^' | '$' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
    }
    out.push_str(")$");
    out
}
