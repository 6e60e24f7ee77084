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

use rustydb::{Operation, RowEvent, SqlError, Trigger, Value, execute, execute_batch};

const INSERT_LOG: &str =
    "INSERT INTO audit_log (tbl, op, old_row, new_row) VALUES ($1, $2, $3, $4)";

/// Appends one line to `audit_log` for the row (or statement) that fired;
/// a batch of AFTER ROW events goes to `audit_rows`.
#[rustydb::trigger(rows = audit_rows)]
pub fn audit_row(tg: Trigger) -> Result<(), SqlError> {
    execute(INSERT_LOG, &log_line(&tg, tg.op, &tg.old, &tg.new))?;
    Ok(())
}

/// One line per event, in order, in one batch of the same INSERT.
fn audit_rows(tg: &Trigger, events: Vec<RowEvent>) -> Result<(), SqlError> {
    let lines: Vec<Vec<Value>> = events
        .iter()
        .map(|e| log_line(tg, e.operation, &e.old, &e.new))
        .collect();
    execute_batch(INSERT_LOG, &lines)?;
    Ok(())
}

/// The parameters of `INSERT_LOG` for one row (or statement).
fn log_line(
    tg: &Trigger,
    op: Operation,
    old: &Option<Vec<Value>>,
    new: &Option<Vec<Value>>,
) -> Vec<Value> {
    let tbl = tg.args.first().unwrap_or(&tg.table_name);
    let text = |row: &Option<Vec<Value>>| match row {
        Some(r) => Value::Text(record_text(r)),
        None => Value::Null,
    };
    vec![
        Value::Text(tbl.clone()),
        Value::Text(op.name().to_owned()),
        text(old),
        text(new),
    ]
}

/// A row as PostgreSQL's record output writes it: `(1,abc,)`, NULL empty.
/// Written into one string, as a trigger runs once per row.
fn record_text(row: &[Value]) -> String {
    let mut out = String::with_capacity(2 + 8 * row.len());
    out.push('(');
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field_text(v, &mut out);
    }
    out.push(')');
    out
}

fn field_text(v: &Value, out: &mut String) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = match v {
        Value::Null => Ok(()),
        Value::Boolean(b) => write!(out, "{}", if *b { "t" } else { "f" }),
        Value::Int2(n) => write!(out, "{n}"),
        Value::Int4(n) => write!(out, "{n}"),
        Value::Int8(n) => write!(out, "{n}"),
        Value::Float4(x) => write!(out, "{x}"),
        Value::Float8(x) => write!(out, "{x}"),
        Value::Numeric(s) | Value::Json(s) => write!(out, "{s}"),
        Value::Text(s) => {
            if s.is_empty() || s.contains([',', '(', ')', '"', ' ', '\\']) {
                write!(out, "\"{}\"", s.replace('\\', "\\\\").replace('"', "\"\""))
            } else {
                write!(out, "{s}")
            }
        }
        Value::Bytea(b) => {
            out.push_str("\"\\\\x");
            for x in b {
                let _ = write!(out, "{x:02x}");
            }
            write!(out, "\"")
        }
        Value::Date(d) => write!(out, "date:{d}"),
        Value::Timestamp(t) | Value::Timestamptz(t) => write!(out, "ts:{t}"),
        Value::Interval(i) => write!(out, "{}m{}d{}us", i.months, i.days, i.micros),
    };
}

rustydb::export!(audit_row);
