//! PostgreSQL's type rules for bound expressions: which values convert
//! to which types implicitly or on assignment, how two operands meet on a
//! common type, and how untyped constants and parameters take the type
//! their context asks for.

use super::{Binder, base_type, mismatch, promote};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::Expr;
use crate::types::{DataType, Value, parse};

pub(super) const NUMERIC: DataType = DataType::Numeric {
    precision: None,
    scale: None,
};

pub(super) fn is_number(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int2
            | DataType::Int4
            | DataType::Int8
            | DataType::Float4
            | DataType::Float8
            | DataType::Numeric { .. }
    )
}

/// Whether PostgreSQL converts a `from` value stored into a `to` column
/// implicitly or by an assignment cast: between numbers, between dates and
/// timestamps, between json and jsonb, and from anything into a string.
fn assignable(from: DataType, to: DataType) -> bool {
    let temporal = |t: &DataType| {
        matches!(
            t,
            DataType::Date | DataType::Timestamp | DataType::TimestampTz
        )
    };
    base_type(from) == base_type(to)
        || (is_number(&from) && is_number(&to))
        || (temporal(&from) && temporal(&to))
        || to.is_string()
}

/// Whether `e` is an untyped constant (a string literal or NULL) or a
/// parameter, which takes the type its context asks for, as PostgreSQL's
/// `unknown` does.
pub(super) fn is_unknown(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Literal(Value::Text(_) | Value::Null, DataType::Text)
    ) || matches!(e, Expr::Param(..))
}

impl Binder<'_> {
    /// Makes `e` a value of `ty`: untyped constants are parsed as `ty`,
    /// parameters take it, other expressions get a cast when their type
    /// differs.
    pub(crate) fn coerce(&mut self, e: Expr, ty: DataType) -> SqlResult<Expr> {
        Ok(match e {
            Expr::Literal(Value::Null, _) => Expr::Literal(Value::Null, ty),
            Expr::Literal(Value::Text(s), DataType::Text) if ty != DataType::Text => {
                Expr::Literal(parse(&s, &ty)?, ty)
            }
            Expr::Param(i, _) => {
                // The first context a parameter meets types it (what
                // Describe reports); later ones cast it.
                if self.params.len() <= i {
                    self.params.resize(i + 1, None);
                }
                match &mut self.params[i] {
                    Some(known) => Expr::Cast(Box::new(Expr::Param(i, *known)), ty),
                    slot => {
                        *slot = Some(ty);
                        Expr::Param(i, ty)
                    }
                }
            }
            e if matches!(e.ty(), DataType::Char(_))
                && matches!(ty, DataType::Text | DataType::Varchar(_)) =>
            {
                match char_to_text(e) {
                    trimmed if ty == DataType::Text => trimmed,
                    trimmed => Expr::Cast(Box::new(trimmed), ty),
                }
            }
            // json and jsonb compute alike, but a jsonb value is the
            // normalized document: the conversion does work.
            e if matches!(
                (e.ty(), ty),
                (DataType::Json, DataType::Jsonb) | (DataType::Jsonb, DataType::Json)
            ) =>
            {
                Expr::Cast(Box::new(e), ty)
            }
            e if base_type(e.ty()) == base_type(ty) => e,
            e => Expr::Cast(Box::new(e), ty),
        })
    }

    /// The operands of a comparison involving `char(n)`: PostgreSQL
    /// compares two of them without their padding (`bpchareq`), and one
    /// against text as text, whose cast from `char(n)` drops the padding.
    pub(super) fn unpad_for_comparison(l: Expr, r: Expr) -> (Expr, Expr) {
        use DataType as T;
        match (l.ty(), r.ty()) {
            (T::Char(a), T::Char(b)) if a != b => (char_to_text(l), char_to_text(r)),
            (T::Char(_), T::Text | T::Varchar(_)) => (char_to_text(l), r),
            (T::Text | T::Varchar(_), T::Char(_)) => (l, char_to_text(r)),
            _ => (l, r),
        }
    }

    /// Coerces a value stored into column `column` of type `ty`, refusing
    /// (42804) a typed expression PostgreSQL has no assignment cast for,
    /// such as an integer into a boolean.
    pub(crate) fn assign_to_column(
        &mut self,
        e: Expr,
        ty: DataType,
        column: &str,
    ) -> SqlResult<Expr> {
        if !is_unknown(&e) && !assignable(e.ty(), ty) {
            return Err(SqlError::DatatypeMismatch(format!(
                "column \"{column}\" is of type {} but expression is of type {}",
                ty.name(),
                e.ty().name()
            )));
        }
        self.coerce(e, ty)
    }

    /// `e` as a float8, a constant converted here so that index paths
    /// still see a literal.
    fn float8_operand(&mut self, e: Expr) -> SqlResult<Expr> {
        match e {
            Expr::Literal(v, _) => Ok(Expr::Literal(v.cast(&DataType::Float8)?, DataType::Float8)),
            e => self.coerce(e, DataType::Float8),
        }
    }

    pub(super) fn bool_operand(&mut self, e: Expr, op: &str) -> SqlResult<Expr> {
        if is_unknown(&e) {
            return self.coerce(e, DataType::Bool);
        }
        if e.ty() != DataType::Bool {
            return Err(SqlError::DatatypeMismatch(format!(
                "argument of {op} must be type boolean, not type {}",
                e.ty().name()
            )));
        }
        Ok(e)
    }

    /// Makes two operands comparable: an untyped side takes the other's
    /// type; numbers compare across types; otherwise the families must
    /// match.
    pub(super) fn unify(&mut self, l: Expr, r: Expr, op: &str) -> SqlResult<(Expr, Expr)> {
        let (lt, rt) = (base_type(l.ty()), base_type(r.ty()));
        if is_unknown(&l) && !is_unknown(&r) {
            let l = self.coerce(l, rt)?;
            return Ok((l, r));
        }
        if is_unknown(&r) && !is_unknown(&l) {
            let r = self.coerce(r, lt)?;
            return Ok((l, r));
        }
        // PostgreSQL compares a float with a numeric as floats (numeric
        // casts to float8 implicitly, not the other way): 6850.7::float8
        // equals 6850.7, whose exact binary value a numeric would not.
        let float = |t: &DataType| matches!(t, DataType::Float4 | DataType::Float8);
        let numeric = |t: &DataType| matches!(t, DataType::Numeric { .. });
        if float(&lt) && numeric(&rt) {
            return Ok((l, self.float8_operand(r)?));
        }
        if numeric(&lt) && float(&rt) {
            return Ok((self.float8_operand(l)?, r));
        }
        if lt == rt || (is_number(&lt) && is_number(&rt)) {
            return Ok((l, r));
        }
        let temporal = |t: &DataType| {
            matches!(
                t,
                DataType::Date | DataType::Timestamp | DataType::TimestampTz
            )
        };
        if temporal(&lt) && temporal(&rt) {
            return Ok((l, r));
        }
        Err(mismatch(op, l.ty(), r.ty()))
    }

    /// PostgreSQL's UNION/CASE type resolution: the first known type,
    /// promoted across numbers; everything is coerced to it.
    pub(crate) fn common_type(
        &mut self,
        exprs: Vec<Expr>,
        what: &str,
    ) -> SqlResult<(DataType, Vec<Expr>)> {
        let mut ty: Option<DataType> = None;
        for e in &exprs {
            if is_unknown(e) {
                continue;
            }
            let t = base_type(e.ty());
            ty = Some(match ty {
                None => t,
                Some(cur) if cur == t => cur,
                Some(cur) if is_number(&cur) && is_number(&t) => promote(cur, t),
                Some(cur) => {
                    return Err(SqlError::DatatypeMismatch(format!(
                        "{what} types {} and {} cannot be matched",
                        cur.name(),
                        t.name()
                    )));
                }
            });
        }
        let ty = ty.unwrap_or(DataType::Text);
        let mut out = Vec::with_capacity(exprs.len());
        for e in exprs {
            out.push(self.coerce(e, ty)?);
        }
        Ok((ty, out))
    }
}

/// Whether the type carries a length or precision a cast must apply.
pub(super) fn has_typmod(ty: DataType) -> bool {
    matches!(
        ty,
        DataType::Varchar(Some(_))
            | DataType::Char(Some(_))
            | DataType::Numeric {
                precision: Some(_),
                ..
            }
    )
}

/// A `char(n)` value as text: PostgreSQL's cast drops the padding.
pub(super) fn char_to_text(e: Expr) -> Expr {
    Expr::Func(crate::sql::expr::Func::Rtrim, vec![e], DataType::Text)
}
