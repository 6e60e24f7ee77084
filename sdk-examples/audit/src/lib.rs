//! `audit`: an AFTER trigger that records every change to a table in
//! `audit_log(tbl text, op text, old_row text, new_row text)`.
//!
//! ```sql
//! CREATE TRIGGER accounts_audit AFTER INSERT OR UPDATE OR DELETE ON accounts
//!   FOR EACH ROW EXECUTE FUNCTION audit.audit_row('accounts');
//! ```
//!
//! The first trigger argument names the audited table in the log (the
//! table's own name without one); rows are logged in PostgreSQL's record
//! text form, `(1,100)`, as `OLD::text` and `NEW::text` would give them.
//! As a statement trigger it logs the operation with no rows.

use rustydb::{SqlError, Trigger, Value, execute};

/// Appends one line to `audit_log` for the row (or statement) that fired.
#[rustydb::trigger]
pub fn audit_row(tg: Trigger) -> Result<(), SqlError> {
    let tbl = tg.args.first().cloned().unwrap_or_else(|| tg.table_name.clone());
    let text = |row: &Option<Vec<Value>>| match row {
        Some(r) => Value::Text(record_text(r)),
        None => Value::Null,
    };
    execute(
        "INSERT INTO audit_log (tbl, op, old_row, new_row) VALUES ($1, $2, $3, $4)",
        &[
            Value::Text(tbl),
            Value::Text(tg.op_name().to_owned()),
            text(&tg.old),
            text(&tg.new),
        ],
    )?;
    Ok(())
}

/// A row as PostgreSQL's record output writes it: `(1,abc,)`, NULL empty.
fn record_text(row: &[Value]) -> String {
    let fields: Vec<String> = row.iter().map(field_text).collect();
    format!("({})", fields.join(","))
}

fn field_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Boolean(b) => if *b { "t" } else { "f" }.to_owned(),
        Value::Int2(n) => n.to_string(),
        Value::Int4(n) => n.to_string(),
        Value::Int8(n) => n.to_string(),
        Value::Float4(x) => x.to_string(),
        Value::Float8(x) => x.to_string(),
        Value::Numeric(s) | Value::Json(s) => s.clone(),
        Value::Text(s) => {
            if s.is_empty() || s.contains([',', '(', ')', '"', ' ', '\\']) {
                format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\"\""))
            } else {
                s.clone()
            }
        }
        Value::Bytea(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("\"\\\\x{hex}\"")
        }
        Value::Date(d) => format!("date:{d}"),
        Value::Timestamp(t) | Value::Timestamptz(t) => format!("ts:{t}"),
        Value::Interval(i) => format!("{}m{}d{}us", i.months, i.days, i.micros),
    }
}

rustydb::export!(audit_row);
