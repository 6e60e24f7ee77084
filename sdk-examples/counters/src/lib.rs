//! `counters`: a statement trigger that keeps
//! `totals(tbl text primary key, n bigint, amount bigint)` up to date from
//! a statement's transition table.
//!
//! ```sql
//! CREATE TRIGGER orders_added AFTER INSERT ON orders
//!   REFERENCING NEW TABLE AS added FOR EACH STATEMENT
//!   EXECUTE FUNCTION counters.tally('added', '+');
//! CREATE TRIGGER orders_removed AFTER DELETE ON orders
//!   REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
//!   EXECUTE FUNCTION counters.tally('removed', '-');
//! ```
//!
//! The first argument names the transition table, which the function reads
//! like any relation — in batches, through a cursor — however many rows
//! the statement changed; the second says whether its rows count up or
//! down. The `amount` column, if the table has one, is summed as well.

use rustydb::{SqlError, Trigger, Value, execute, query};

/// Adds (or subtracts) the transition table's rows and amounts to the
/// table's line in `totals`: one upsert per statement, not per row.
#[rustydb::trigger]
pub fn tally(tg: Trigger) -> Result<(), SqlError> {
    let Some(transition) = tg.args.first() else {
        return Err(SqlError::new(
            "39000",
            "tally needs the transition table's name as its first argument",
        ));
    };
    let sign: i64 = match tg.args.get(1).map(String::as_str) {
        Some("-") => -1,
        _ => 1,
    };
    let mut rows = query(
        &format!("SELECT * FROM \"{}\"", transition.replace('"', "\"\"")),
        &[],
    )?;
    let amount_at = rows.columns().iter().position(|c| c.name == "amount");
    let (mut n, mut amount) = (0i64, 0i64);
    while let Some(row) = rows.next_row()? {
        n += 1;
        if let Some(Value::Int8(a)) = amount_at.and_then(|i| row.get(i)) {
            amount = amount
                .checked_add(*a)
                .ok_or_else(|| SqlError::new("22003", "bigint out of range"))?;
        }
    }
    if n == 0 {
        return Ok(());
    }
    execute(
        "INSERT INTO totals (tbl, n, amount) VALUES ($1, $2, $3) \
         ON CONFLICT (tbl) DO UPDATE SET n = totals.n + excluded.n, \
         amount = totals.amount + excluded.amount",
        &[
            Value::Text(tg.table_name.clone()),
            Value::Int8(sign * n),
            Value::Int8(sign * amount),
        ],
    )?;
    Ok(())
}

rustydb::export!(tally);
