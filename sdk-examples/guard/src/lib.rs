//! `guard`: a BEFORE row trigger that rejects, normalises or skips rows.
//!
//! ```sql
//! CREATE TRIGGER accounts_guard BEFORE INSERT OR UPDATE ON accounts
//!   FOR EACH ROW EXECUTE FUNCTION guard.guard_row('balance', 'owner');
//! ```
//!
//! * a negative value in the first argument's column is refused with
//!   P0001, which aborts the whole statement;
//! * the second argument's text column is normalised (trimmed, lower
//!   case), and a row whose text is blank once trimmed is skipped — it is
//!   not written, and the statement goes on with the next row.

use rustydb::{SqlError, Trigger, TriggerAction, Value};

/// Checks and cleans one row before it is written.
#[rustydb::trigger]
pub fn guard_row(tg: Trigger) -> Result<TriggerAction, SqlError> {
    let amount_col = tg.args.first().map_or("balance", String::as_str);
    if let Some(v) = tg.new_value(amount_col) {
        let negative = match v {
            Value::Int2(n) => *n < 0,
            Value::Int4(n) => *n < 0,
            Value::Int8(n) => *n < 0,
            Value::Float4(x) => *x < 0.0,
            Value::Float8(x) => *x < 0.0,
            Value::Numeric(s) => s.starts_with('-'),
            _ => false,
        };
        if negative {
            return Err(SqlError::raise(format!("{amount_col} must not be negative"))
                .with_detail(format!("{} rejected a row of {}", tg.name, tg.table_name)));
        }
    }
    let Some(text_col) = tg.args.get(1) else {
        return Ok(TriggerAction::Keep);
    };
    match tg.new_value(text_col) {
        Some(Value::Text(s)) => {
            let clean = s.trim().to_lowercase();
            if clean.is_empty() {
                Ok(TriggerAction::Skip)
            } else if clean == *s {
                Ok(TriggerAction::Keep)
            } else {
                Ok(TriggerAction::Modify(tg.new_with(text_col, Value::Text(clean))?))
            }
        }
        _ => Ok(TriggerAction::Keep),
    }
}

rustydb::export!(guard_row);
