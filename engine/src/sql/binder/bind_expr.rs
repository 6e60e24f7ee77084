//! Expressions: names to column positions, literals to values, operators
//! and functions resolved with PostgreSQL's type rules.

use std::sync::Arc;

use sqlparser::ast::{self, BinaryOperator, UnaryOperator};

use super::bind_coerce::{NUMERIC, char_to_text, has_typmod, is_number, is_unknown};
use super::{AggContext, Binder, base_type, data_type, ident, mismatch, promote};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{BinOp, Expr, SubqueryKind};
use crate::types::{DataType, Value, parse};

impl Binder<'_> {
    /// Binds one expression in the current scope.
    pub(crate) fn bind_expr(&mut self, e: &ast::Expr) -> SqlResult<Expr> {
        if self.agg.is_some()
            && let Some(i) = self.group_key_index(e)
        {
            {
                let ty = self
                    .agg
                    .as_ref()
                    .map_or(DataType::Text, |a| a.group_types[i]);
                return Ok(Expr::Column(i, ty));
            }
        }
        use ast::Expr as E;
        if let E::Cast {
            expr, data_type: t, ..
        } = e
            && let Some(bound) = self.catalog_cast(expr, t)?
        {
            return Ok(bound);
        }
        Ok(match e {
            E::Identifier(id) => self.column(None, &ident(id))?,
            E::CompoundIdentifier(parts) => match parts.as_slice() {
                [t, c] => self.column(Some(&ident(t)), &ident(c))?,
                [_, t, c] => self.column(Some(&ident(t)), &ident(c))?,
                _ => return Err(SqlError::no_column(&e.to_string())),
            },
            E::Value(v) => literal(&v.value)?,
            E::Nested(inner) => self.bind_expr(inner)?,
            // One collation (the default) exists; psql names it explicitly.
            E::Collate { expr, .. } => self.bind_expr(expr)?,
            E::TypedString(ts) => {
                let ty = data_type(&ts.data_type)?;
                let text = ts
                    .value
                    .clone()
                    .into_string()
                    .ok_or_else(|| SqlError::Syntax("expected a string".into()))?;
                Expr::Literal(parse(&text, &ty)?, ty)
            }
            E::CompoundFieldAccess { root, access_chain } => self.subscript(root, access_chain)?,
            E::Cast {
                expr, data_type: t, ..
            } => {
                let ty = data_type(t)?;
                if let (E::Value(v), DataType::Float4 | DataType::Float8) = (expr.as_ref(), ty)
                    && let ast::Value::Number(n, _) = &v.value
                {
                    // PostgreSQL turns a numeric into a float through its
                    // text, so reading the literal's text as the float is
                    // the same value, and works past numeric's 28 digits
                    // (`1e100::float8`).
                    return Ok(Expr::Literal(parse(n, &ty)?, ty));
                }
                let inner = self.bind_expr(expr)?;
                match inner {
                    // `'a'::text` is text, no longer an untyped literal that
                    // would take the type of whatever it meets (CASE and
                    // UNION branches must then match it).
                    Expr::Literal(Value::Text(s), DataType::Text) if ty == DataType::Text => {
                        Expr::Cast(
                            Box::new(Expr::Literal(Value::Text(s), DataType::Text)),
                            DataType::Text,
                        )
                    }
                    // An explicit cast cuts strings to the length and
                    // rounds numbers to the scale the type names.
                    Expr::Literal(Value::Text(s), DataType::Text) => {
                        Expr::Literal(Value::Text(s).cast(&ty)?, ty)
                    }
                    other
                        if !matches!(other, Expr::Param(..))
                            && other.ty() != ty
                            && has_typmod(ty) =>
                    {
                        let other = match (other.ty(), ty) {
                            (DataType::Char(_), DataType::Varchar(_)) => char_to_text(other),
                            _ => other,
                        };
                        Expr::Cast(Box::new(other), ty)
                    }
                    other => self.coerce(other, ty)?,
                }
            }
            // PostgreSQL's unary minus binds tighter than `^` (`-2 ^ 2` is
            // 4); sqlparser reads it as `-(2 ^ 2)`. Parenthesized operands
            // are `Nested`, so an explicit `-(2 ^ 2)` is not rewritten.
            E::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } if matches!(
                expr.as_ref(),
                E::BinaryOp {
                    op: ast::BinaryOperator::PGExp,
                    ..
                }
            ) =>
            {
                self.bind_expr(&minus_into_power(expr))?
            }
            E::UnaryOp { op, expr } => {
                let inner = self.bind_expr(expr)?;
                match op {
                    UnaryOperator::Not => Expr::Not(Box::new(self.bool_operand(inner, "NOT")?)),
                    UnaryOperator::Minus => match inner {
                        Expr::Literal(v, ty) if v.data_type().is_some_and(|t| is_number(&t)) => {
                            let v = negate_literal(v)?;
                            let ty = v.data_type().map_or(ty, base_type);
                            Expr::Literal(v, ty)
                        }
                        inner => {
                            let inner = if is_unknown(&inner) {
                                self.coerce(inner, NUMERIC)?
                            } else {
                                inner
                            };
                            Expr::Neg(Box::new(inner))
                        }
                    },
                    UnaryOperator::Plus => inner,
                    other => self.function_unary(other, inner)?,
                }
            }
            E::BinaryOp { left, op, right } => match (left.as_ref(), right.as_ref()) {
                (E::Tuple(l), E::Tuple(r)) => self.row_comparison(l, op, r)?,
                _ => {
                    let l = self.bind_expr(left)?;
                    let r = self.bind_expr(right)?;
                    self.binary(op, l, r)?
                }
            },
            E::IsNull(x) => Expr::IsNull(Box::new(self.bind_expr(x)?), false),
            E::IsUnknown(x) => {
                let x = self.bind_expr(x)?;
                self.is_unknown_test(x, false)?
            }
            E::IsNotUnknown(x) => {
                let x = self.bind_expr(x)?;
                self.is_unknown_test(x, true)?
            }
            E::IsNotNull(x) => Expr::IsNull(Box::new(self.bind_expr(x)?), true),
            E::IsTrue(x) => self.is_bool(x, true, false)?,
            E::IsNotTrue(x) => self.is_bool(x, true, true)?,
            E::IsFalse(x) => self.is_bool(x, false, false)?,
            E::IsNotFalse(x) => self.is_bool(x, false, true)?,
            E::IsDistinctFrom(a, b) | E::IsNotDistinctFrom(a, b) => {
                let l = self.bind_expr(a)?;
                let r = self.bind_expr(b)?;
                let (l, r) = self.unify(l, r, "=")?;
                Expr::IsDistinct(
                    Box::new(l),
                    Box::new(r),
                    matches!(e, E::IsNotDistinctFrom(..)),
                )
            }
            E::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.bind_expr(expr)?;
                let lo = self.bind_expr(low)?;
                let hi = self.bind_expr(high)?;
                let (x1, lo) = self.unify(x.clone(), lo, ">=")?;
                let (x2, hi) = self.unify(x, hi, "<=")?;
                let both = Expr::Binary(
                    BinOp::And,
                    Box::new(Expr::Binary(
                        BinOp::GtEq,
                        Box::new(x1),
                        Box::new(lo),
                        DataType::Bool,
                    )),
                    Box::new(Expr::Binary(
                        BinOp::LtEq,
                        Box::new(x2),
                        Box::new(hi),
                        DataType::Bool,
                    )),
                    DataType::Bool,
                );
                if *negated {
                    Expr::Not(Box::new(both))
                } else {
                    both
                }
            }
            E::InList {
                expr,
                list,
                negated,
            } => {
                let mut x = self.bind_expr(expr)?;
                let mut items = Vec::with_capacity(list.len());
                for item in list {
                    let item = self.bind_expr(item)?;
                    let (nx, ni) = self.unify(x, item, "=")?;
                    x = nx;
                    items.push(ni);
                }
                Expr::InList {
                    expr: Box::new(x),
                    list: items,
                    negated: *negated,
                }
            }
            E::Like {
                negated,
                expr,
                pattern,
                any: false,
                escape_char,
            }
            | E::ILike {
                negated,
                expr,
                pattern,
                any: false,
                escape_char,
            } => {
                let x = self.bind_expr(expr)?;
                let x = self.coerce(x, DataType::Text)?;
                let p = self.bind_expr(pattern)?;
                let p = self.coerce(p, DataType::Text)?;
                let p = match escape_char {
                    None => p,
                    Some(escape) => like_with_escape(p, escape)?,
                };
                Expr::Like {
                    expr: Box::new(x),
                    pattern: Box::new(p),
                    negated: *negated,
                    case_insensitive: matches!(e, E::ILike { .. }),
                }
            }
            E::SimilarTo {
                negated,
                expr,
                pattern,
                escape_char,
            } => self.similar_to(*negated, expr, pattern, escape_char.as_ref())?,
            E::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(operand.as_deref(), conditions, else_result.as_deref())?,
            E::Exists { subquery, negated } => {
                let plan = self.subquery(subquery)?;
                let ex = Expr::Subquery(Arc::new(plan), SubqueryKind::Exists, DataType::Bool);
                if *negated {
                    Expr::Not(Box::new(ex))
                } else {
                    ex
                }
            }
            E::Subquery(q) => {
                let plan = self.subquery(q)?;
                let cols = plan.columns();
                if cols.len() != 1 {
                    return Err(SqlError::Syntax(
                        "subquery must return only one column".into(),
                    ));
                }
                let ty = cols[0].ty;
                Expr::Subquery(Arc::new(plan), SubqueryKind::Scalar, ty)
            }
            E::InSubquery {
                expr,
                subquery,
                negated,
            } => {
                if let E::Tuple(items) = expr.as_ref() {
                    return self.row_in_subquery(items, subquery, *negated);
                }
                let x = self.bind_expr(expr)?;
                let plan = self.subquery(subquery)?;
                let cols = plan.columns();
                if cols.len() != 1 {
                    return Err(SqlError::Syntax("subquery has too many columns".into()));
                }
                let probe = Expr::Literal(Value::Null, cols[0].ty);
                let (x, _) = self.unify(x, probe, "=")?;
                Expr::Subquery(
                    Arc::new(plan),
                    SubqueryKind::In {
                        expr: Box::new(x),
                        negated: *negated,
                    },
                    DataType::Bool,
                )
            }
            E::AnyOp {
                left,
                compare_op,
                right,
                ..
            } => self.quantified(left, compare_op, right, false)?,
            E::AllOp {
                left,
                compare_op,
                right,
            } => self.quantified(left, compare_op, right, true)?,
            E::Function(f) => self.function(f)?,
            E::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_expr(expr)?];
                args.push(match substring_from {
                    Some(f) => self.bind_expr(f)?,
                    None => Expr::Literal(Value::Int4(1), DataType::Int4),
                });
                if let Some(f) = substring_for {
                    args.push(self.bind_expr(f)?);
                }
                self.call("substr", args)?
            }
            E::Trim {
                expr,
                trim_where,
                trim_what,
                ..
            } => {
                let name = match trim_where {
                    Some(ast::TrimWhereField::Leading) => "ltrim",
                    Some(ast::TrimWhereField::Trailing) => "rtrim",
                    _ => "btrim",
                };
                let mut args = vec![self.bind_expr(expr)?];
                if let Some(w) = trim_what {
                    args.push(self.bind_expr(w)?);
                }
                self.call(name, args)?
            }
            E::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                let mut args = vec![
                    self.bind_expr(expr)?,
                    self.bind_expr(overlay_what)?,
                    self.bind_expr(overlay_from)?,
                ];
                if let Some(f) = overlay_for {
                    args.push(self.bind_expr(f)?);
                }
                self.call("overlay", args)?
            }
            E::Position { expr, r#in } => {
                let sub = self.bind_expr(expr)?;
                let s = self.bind_expr(r#in)?;
                self.call("strpos", vec![s, sub])?
            }
            E::Interval(iv) => self.interval_literal(iv)?,
            E::Extract { field, expr, .. } => self.extract(field, expr)?,
            E::AtTimeZone {
                timestamp,
                time_zone,
            } => self.at_time_zone(timestamp, time_zone)?,
            E::Ceil { expr, .. } => {
                let a = self.bind_expr(expr)?;
                self.call("ceil", vec![a])?
            }
            E::Floor { expr, .. } => {
                let a = self.bind_expr(expr)?;
                self.call("floor", vec![a])?
            }
            other => {
                return Err(SqlError::unsupported(format!(
                    "expression {other} is not supported"
                )));
            }
        })
    }

    fn is_bool(&mut self, x: &ast::Expr, want: bool, negated: bool) -> SqlResult<Expr> {
        let inner = self.bind_expr(x)?;
        let inner = self.bool_operand(inner, "IS TRUE")?;
        Ok(Expr::IsBool(Box::new(inner), want, negated))
    }

    fn group_key_index(&self, e: &ast::Expr) -> Option<usize> {
        let agg = self.agg.as_ref()?;
        agg.group_keys.iter().position(|k| k == e)
    }

    /// Resolves a column name through the scopes, innermost first.
    fn column(&mut self, table: Option<&str>, name: &str) -> SqlResult<Expr> {
        for (depth, scope) in self.scopes.iter().rev().enumerate() {
            let mut found = None;
            for (i, c) in scope.iter().enumerate() {
                let table_ok = table.is_none_or(|t| c.table.as_deref() == Some(t));
                if table_ok && c.name == name {
                    if found.is_some() {
                        return Err(SqlError::AmbiguousColumn(name.to_owned()));
                    }
                    found = Some((i, c.ty));
                }
            }
            if let Some((index, ty)) = found {
                if depth == 0 {
                    if self.agg.is_some() {
                        return Err(SqlError::Grouping(format!(
                            "column \"{}\" must appear in the GROUP BY clause or be used in an aggregate function",
                            match table {
                                Some(t) => format!("{t}.{name}"),
                                None => name.to_owned(),
                            }
                        )));
                    }
                    return Ok(Expr::Column(index, ty));
                }
                return Ok(Expr::Outer { depth, index, ty });
            }
        }
        if let Some(t) = table {
            let known = self
                .scopes
                .iter()
                .flatten()
                .any(|c| c.table.as_deref() == Some(t));
            if !known {
                return Err(SqlError::Semantic {
                    state: crate::SqlState::UNDEFINED_TABLE,
                    message: format!("missing FROM-clause entry for table \"{t}\""),
                });
            }
            return Err(SqlError::no_column(&format!("{t}.{name}")));
        }
        Err(SqlError::no_column(name))
    }

    pub(super) fn binary(&mut self, op: &BinaryOperator, l: Expr, r: Expr) -> SqlResult<Expr> {
        use BinaryOperator as B;
        let cmp = |op| Some(op);
        let comparison = match op {
            B::Eq => cmp(BinOp::Eq),
            B::NotEq => cmp(BinOp::NotEq),
            B::Lt => cmp(BinOp::Lt),
            B::LtEq => cmp(BinOp::LtEq),
            B::Gt => cmp(BinOp::Gt),
            B::GtEq => cmp(BinOp::GtEq),
            _ => None,
        };
        if let Some(bop) = comparison {
            let (l, r) = self.unify(l, r, &op.to_string())?;
            let (l, r) = Self::unpad_for_comparison(l, r);
            return Ok(Expr::Binary(bop, Box::new(l), Box::new(r), DataType::Bool));
        }
        if let Some((f, ty, [lc, rc])) = crate::sql::expr::json_operator(op, l.ty(), r.ty()) {
            let l = match lc {
                Some(t) => self.coerce(l, t)?,
                None => l,
            };
            let r = match rc {
                Some(t) => self.coerce(r, t)?,
                None => r,
            };
            // `a <@ b` is `b @> a`.
            let args = if matches!(op, BinaryOperator::ArrowAt) {
                vec![r, l]
            } else {
                vec![l, r]
            };
            return Ok(Expr::Func(crate::sql::expr::Func::Json(f), args, ty));
        }
        // Regular-expression matches are PostgreSQL's functions behind the
        // operators (sql::expr::pg_functions).
        if let Some(f) = crate::sql::expr::regex_operator_function(op) {
            return self.call(f, vec![l, r]);
        }
        match op {
            B::And | B::Or => {
                let name = if matches!(op, B::And) { "AND" } else { "OR" };
                let l = self.bool_operand(l, name)?;
                let r = self.bool_operand(r, name)?;
                let bop = if matches!(op, B::And) {
                    BinOp::And
                } else {
                    BinOp::Or
                };
                Ok(Expr::Binary(bop, Box::new(l), Box::new(r), DataType::Bool))
            }
            B::StringConcat => {
                let l = if is_unknown(&l) {
                    self.coerce(l, DataType::Text)?
                } else {
                    l
                };
                let r = if is_unknown(&r) {
                    self.coerce(r, DataType::Text)?
                } else {
                    r
                };
                if !base_type(l.ty()).is_string() && !base_type(r.ty()).is_string() {
                    return Err(mismatch("||", l.ty(), r.ty()));
                }
                // `anynonarray || text` casts the other side to text, where
                // a boolean reads `true`, not its output form `t`.
                let l = self.coerce(l, DataType::Text)?;
                let r = self.coerce(r, DataType::Text)?;
                Ok(Expr::Binary(
                    BinOp::Concat,
                    Box::new(l),
                    Box::new(r),
                    DataType::Text,
                ))
            }
            B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo => {
                let bop = match op {
                    B::Plus => BinOp::Add,
                    B::Minus => BinOp::Sub,
                    B::Multiply => BinOp::Mul,
                    B::Divide => BinOp::Div,
                    _ => BinOp::Mod,
                };
                let symbol = op.to_string();
                let (l, r) = match (is_unknown(&l), is_unknown(&r)) {
                    (true, false) => {
                        let t = base_type(r.ty());
                        (self.coerce(l, t)?, r)
                    }
                    (false, true) => {
                        let t = if base_type(l.ty()) == DataType::Date {
                            DataType::Int4
                        } else {
                            base_type(l.ty())
                        };
                        let r = self.coerce(r, t)?;
                        (l, r)
                    }
                    (true, true) => (self.coerce(l, NUMERIC)?, self.coerce(r, NUMERIC)?),
                    _ => (l, r),
                };
                let (lt, rt) = (base_type(l.ty()), base_type(r.ty()));
                if is_number(&lt) && is_number(&rt) {
                    let ty = promote(lt, rt);
                    let l = self.coerce(l, ty)?;
                    let r = self.coerce(r, ty)?;
                    return Ok(Expr::Binary(bop, Box::new(l), Box::new(r), ty));
                }
                match (lt, rt, bop) {
                    (
                        DataType::Date,
                        DataType::Int2 | DataType::Int4 | DataType::Int8,
                        BinOp::Add | BinOp::Sub,
                    ) => {
                        let r = self.coerce(r, DataType::Int4)?;
                        Ok(Expr::Binary(bop, Box::new(l), Box::new(r), DataType::Date))
                    }
                    (DataType::Date, DataType::Date, BinOp::Sub) => {
                        Ok(Expr::Binary(bop, Box::new(l), Box::new(r), DataType::Int4))
                    }
                    _ => self
                        .temporal_binary(bop, l, r)
                        .ok_or_else(|| mismatch(&symbol, lt, rt)),
                }
            }
            other => self.function_operator(other, l, r),
        }
    }

    fn case(
        &mut self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&ast::Expr>,
    ) -> SqlResult<Expr> {
        let operand = operand.map(|o| self.bind_expr(o)).transpose()?;
        let mut branches = Vec::with_capacity(conditions.len());
        for w in conditions {
            let cond = self.bind_expr(&w.condition)?;
            let cond = match &operand {
                Some(x) => {
                    let (l, r) = self.unify(x.clone(), cond, "=")?;
                    Expr::Binary(BinOp::Eq, Box::new(l), Box::new(r), DataType::Bool)
                }
                None => self.bool_operand(cond, "CASE/WHEN")?,
            };
            branches.push((cond, self.bind_expr(&w.result)?));
        }
        let otherwise = match else_result {
            Some(e) => self.bind_expr(e)?,
            None => Expr::Literal(Value::Null, DataType::Text),
        };
        let mut results: Vec<Expr> = branches.iter().map(|(_, r)| r.clone()).collect();
        results.push(otherwise);
        let (ty, results) = self.common_type(results, "CASE")?;
        let mut results = results.into_iter();
        let branches = branches
            .into_iter()
            .map(|(c, _)| (c, results.next().unwrap_or(Expr::Literal(Value::Null, ty))))
            .collect();
        Ok(Expr::Case {
            branches,
            otherwise: Box::new(results.next().unwrap_or(Expr::Literal(Value::Null, ty))),
            ty,
        })
    }

    pub(super) fn subquery(&mut self, q: &ast::Query) -> SqlResult<crate::sql::plan::Plan> {
        let saved = self.agg.take();
        self.outer_aggs.push(saved);
        self.scopes.push(Vec::new());
        let plan = super::bind_query(self, q);
        self.scopes.pop();
        self.agg = self.outer_aggs.pop().flatten();
        plan
    }
}

/// A literal's value; numbers get the narrowest of int4, int8, numeric.
fn literal(v: &ast::Value) -> SqlResult<Expr> {
    Ok(match v {
        ast::Value::Number(n, _) => {
            if let Ok(i) = n.parse::<i32>() {
                Expr::Literal(Value::Int4(i), DataType::Int4)
            } else if let Ok(i) = n.parse::<i64>() {
                Expr::Literal(Value::Int8(i), DataType::Int8)
            } else {
                Expr::Literal(parse(n, &NUMERIC)?, NUMERIC)
            }
        }
        ast::Value::SingleQuotedString(s)
        | ast::Value::EscapedStringLiteral(s)
        | ast::Value::UnicodeStringLiteral(s)
        | ast::Value::DollarQuotedString(ast::DollarQuotedString { value: s, .. }) => {
            Expr::Literal(Value::Text(s.clone()), DataType::Text)
        }
        ast::Value::Boolean(b) => Expr::bool(*b),
        ast::Value::Null => Expr::Literal(Value::Null, DataType::Text),
        ast::Value::Placeholder(p) => {
            let n: usize = p
                .strip_prefix('$')
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| SqlError::Syntax(format!("syntax error at or near \"{p}\"")))?;
            Expr::Param(n - 1, DataType::Text)
        }
        other => {
            return Err(SqlError::unsupported(format!(
                "literal {other} is not supported"
            )));
        }
    })
}

fn negate_literal(v: Value) -> SqlResult<Value> {
    Ok(match v {
        Value::Int4(i) => Value::Int4(-i),
        // -2147483648 is parsed as 2147483648 (an int8) and then negated.
        Value::Int8(i) => match i32::try_from(-i) {
            Ok(small) => Value::Int4(small),
            Err(_) => Value::Int8(-i),
        },
        Value::Numeric(d) => match i64::try_from(-d) {
            Ok(small) if d.scale() == 0 => Value::Int8(small),
            _ => Value::Numeric(-d),
        },
        Value::Float4(f) => Value::Float4(-f),
        Value::Float8(f) => Value::Float8(-f),
        other => other,
    })
}

impl AggContext {
    /// The output columns of the aggregate node.
    pub(crate) fn output_types(&self) -> Vec<DataType> {
        self.group_types
            .iter()
            .copied()
            .chain(self.aggs.iter().map(|a| a.ty))
            .collect()
    }
}

/// `-(a ^ b)` as PostgreSQL groups it: `(-a) ^ b`, down the left operands
/// of a chain of `^` (which associates to the left).
fn minus_into_power(e: &ast::Expr) -> ast::Expr {
    match e {
        ast::Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::PGExp,
            right,
        } => ast::Expr::BinaryOp {
            left: Box::new(minus_into_power(left)),
            op: ast::BinaryOperator::PGExp,
            right: right.clone(),
        },
        other => ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr: Box::new(other.clone()),
        },
    }
}

/// The character of `ESCAPE 'c'`: `None` for `ESCAPE ''` (no escaping),
/// 22025 for more than one character.
pub(super) fn escape_char(escape: &str) -> SqlResult<Option<char>> {
    let mut chars = escape.chars();
    match (chars.next(), chars.next()) {
        (None, _) => Ok(None),
        (Some(c), None) => Ok(Some(c)),
        _ => Err(SqlError::data(
            crate::SqlState::INVALID_ESCAPE_SEQUENCE,
            "invalid escape string",
        )),
    }
}

/// A constant LIKE pattern written with `ESCAPE 'c'`, rewritten to the
/// backslash escapes the matcher reads (`ESCAPE ''` turns escaping off).
fn like_with_escape(pattern: Expr, escape: &ast::Value) -> SqlResult<Expr> {
    let escape = match escape {
        ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => s.as_str(),
        ast::Value::Null => return Ok(Expr::Literal(Value::Null, DataType::Text)),
        _ => return Err(SqlError::Syntax(format!("invalid escape string {escape}"))),
    };
    let escape = escape_char(escape)?;
    let text = match pattern {
        Expr::Literal(Value::Text(text), _) => text,
        Expr::Literal(Value::Null, ty) => return Ok(Expr::Literal(Value::Null, ty)),
        Expr::Cast(inner, DataType::Text)
            if matches!(inner.as_ref(), Expr::Literal(Value::Text(_), _)) =>
        {
            match *inner {
                Expr::Literal(Value::Text(text), _) => text,
                _ => return Err(SqlError::Internal("matched a literal".into())),
            }
        }
        _ => {
            return Err(SqlError::unsupported(
                "LIKE … ESCAPE with a pattern that is not a constant is not supported",
            ));
        }
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            // A trailing escape stays one: it matches nothing, as in
            // PostgreSQL when the text ends before it.
            out.push('\\');
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Ok(Expr::Literal(Value::Text(out), DataType::Text))
}
