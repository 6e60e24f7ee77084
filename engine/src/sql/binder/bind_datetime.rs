//! Date and time syntax: `INTERVAL '...'` literals, `EXTRACT(field FROM
//! x)`, `x AT TIME ZONE zone`, and the types of arithmetic on dates,
//! timestamps and intervals.

use sqlparser::ast;

use super::Binder;
use super::bind_coerce::is_unknown;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{BinOp, Expr, at_time_zone, temporal_result};
use crate::types::{DataType, Value, parse};

impl Binder<'_> {
    /// `INTERVAL 'text' [field]`: the text, with a trailing unit when the
    /// literal names one (`INTERVAL '3' DAY`), parsed as an interval.
    pub(super) fn interval_literal(&mut self, iv: &ast::Interval) -> SqlResult<Expr> {
        let value = self.bind_expr(&iv.value)?;
        let Expr::Literal(Value::Text(text), DataType::Text) = value else {
            return Err(SqlError::unsupported(
                "INTERVAL needs a string literal".to_string(),
            ));
        };
        let text = match (&iv.leading_field, &iv.last_field) {
            (Some(field), None) if text.trim().parse::<f64>().is_ok() => {
                format!("{text} {field}")
            }
            _ => text,
        };
        Ok(Expr::Literal(
            parse(&text, &DataType::Interval)?,
            DataType::Interval,
        ))
    }

    /// `EXTRACT(field FROM x)`: `extract('field', x)`.
    pub(super) fn extract(&mut self, field: &ast::DateTimeField, e: &ast::Expr) -> SqlResult<Expr> {
        let name = match field {
            ast::DateTimeField::Custom(id) => id.value.clone(),
            other => other.to_string(),
        };
        let x = self.bind_expr(e)?;
        let x = if is_unknown(&x) {
            self.coerce(x, DataType::Timestamp)?
        } else {
            x
        };
        let unit = Expr::Literal(Value::Text(name.to_lowercase()), DataType::Text);
        self.call("extract", vec![unit, x])
    }

    /// `x AT TIME ZONE zone` with a constant zone.
    pub(super) fn at_time_zone(&mut self, ts: &ast::Expr, zone: &ast::Expr) -> SqlResult<Expr> {
        let x = self.bind_expr(ts)?;
        let x = if is_unknown(&x) {
            self.coerce(x, DataType::TimestampTz)?
        } else {
            x
        };
        let zone = match self.bind_expr(zone)? {
            Expr::Literal(Value::Text(z), _) => z,
            _ => {
                return Err(SqlError::unsupported(
                    "AT TIME ZONE needs a constant zone".to_string(),
                ));
            }
        };
        let (x, ty) = match x.ty() {
            DataType::TimestampTz => (x, DataType::Timestamp),
            DataType::Timestamp => (x, DataType::TimestampTz),
            DataType::Date => (self.coerce(x, DataType::Timestamp)?, DataType::TimestampTz),
            other => {
                return Err(SqlError::UndefinedFunction(format!(
                    "function timezone(unknown, {}) does not exist",
                    other.name()
                )));
            }
        };
        // Checks the zone once, at binding.
        at_time_zone(&Value::Timestamp(0), &zone)?;
        Ok(Expr::Func(
            crate::sql::expr::Func::Dt(crate::sql::expr::DtFunc::AtTimeZone),
            vec![x, Expr::Literal(Value::Text(zone), DataType::Text)],
            ty,
        ))
    }

    /// The typed expression of `l op r` on dates, timestamps and
    /// intervals; `None` when the operator does not apply to them.
    pub(super) fn temporal_binary(&mut self, op: BinOp, l: Expr, r: Expr) -> Option<Expr> {
        let ty = temporal_result(op, l.ty(), r.ty())?;
        Some(Expr::Binary(op, Box::new(l), Box::new(r), ty))
    }
}
