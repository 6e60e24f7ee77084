//! `bank`: money transfers between rows of
//! `accounts(id bigint primary key, balance bigint not null)`.
//!
//! `transfer` reads before it writes, so a refused transfer changes nothing
//! and issues no UPDATE at all; the two UPDATEs of an accepted one run in the
//! caller's transaction, so they commit or roll back together.

use rustydb::{FromValue, Rows, SqlError, Value, execute, query};

/// Moves `amount` from account `src` to account `dst`.
#[rustydb::procedure]
pub fn transfer(src: i64, dst: i64, amount: i64) -> Result<(), SqlError> {
    if amount <= 0 {
        return Err(SqlError::new("22023", "amount must be positive"));
    }
    let mut cursor = query("SELECT balance FROM accounts WHERE id = $1", &[src.into()])?;
    let Some(row) = cursor.next_row()? else {
        return Err(SqlError::new(
            "P0002",
            format!("account {src} does not exist"),
        ));
    };
    let balance = i64::from_value(row.into_iter().next().unwrap_or(Value::Null))?;
    if balance < amount {
        return Err(SqlError::raise("insufficient funds").with_detail(format!(
            "account {src} has {balance}, the transfer needs {amount}"
        )));
    }
    execute(
        "UPDATE accounts SET balance = balance - $1 WHERE id = $2",
        &[amount.into(), src.into()],
    )?;
    let credited = execute(
        "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
        &[amount.into(), dst.into()],
    )?;
    if credited == 0 {
        // The caller's transaction rolls back the debit with this error.
        return Err(SqlError::new(
            "P0002",
            format!("account {dst} does not exist"),
        ));
    }
    Ok(())
}

/// The account's rows, sent to the client.
#[rustydb::procedure]
pub fn statement(id: i64) -> Result<Rows, SqlError> {
    query(
        "SELECT id, balance FROM accounts WHERE id = $1",
        &[id.into()],
    )?
    .collect_rows()
}

/// Interest in basis points, rounded down: a scalar function for batches.
#[rustydb::function(immutable, strict)]
pub fn interest(balance: i64, rate_bp: i64) -> Result<i64, SqlError> {
    balance
        .checked_mul(rate_bp)
        .map(|x| x / 10_000)
        .ok_or_else(|| SqlError::new("22003", "bigint out of range"))
}

rustydb::export!(transfer, statement, interest);
