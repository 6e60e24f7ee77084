//! "Any Wasm language": the same routines written in Python, JavaScript and
//! C, built with each language's own toolchain against `wit/`, deployed with
//! SQL, and checked to answer exactly as their Rust versions do.
//!
//! Every scenario runs twice, once on the Rust module and once on the other
//! language's, and compares what a user sees: rows, SQLSTATEs and messages.

#![allow(clippy::unwrap_used)]

mod languages_support;
mod wasm_support;

use rustydb::engine::sql::Session;
use rustydb::engine::types::Value;
use wasm_support::{balances, limits, open, run};

/// Deploys `bytes` as module `name` through `$1`.
fn deploy_bytes(session: &mut Session, name: &str, bytes: &[u8]) {
    let prepared = session
        .prepare(&format!("CREATE MODULE {name} FROM $1"))
        .unwrap();
    session
        .execute_prepared(&prepared, &[Value::Bytea(bytes.to_vec())])
        .unwrap();
}

/// What a user sees of a statement: its result, or its SQLSTATE and message.
fn outcome(session: &mut Session, sql: &str) -> Result<String, (String, String)> {
    run(session, sql)
        .map(|r| format!("{r:?}"))
        .map_err(|e| (e.sqlstate().code().to_owned(), e.to_string()))
}

/// Runs the `bank` scenario against module `module` in a fresh database:
/// accepted, refused and failing transfers, then the account statement.
fn bank_scenario(bytes: &[u8]) -> Vec<String> {
    let t = open(limits());
    let mut s = t.db.session();
    s.execute(
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
         INSERT INTO accounts VALUES (1, 100), (2, 50);",
    )
    .unwrap();
    deploy_bytes(&mut s, "bank", bytes);
    let mut seen = Vec::new();
    for sql in [
        "CALL bank.transfer(1, 2, 30)",
        "CALL bank.transfer(2, 1, 81)",
        "CALL bank.transfer(1, 9, 10)",
        "CALL bank.transfer(1, 2, -5)",
        "CALL bank.transfer(7, 2, 5)",
        "CALL bank.transfer(2, 1, 80)",
        "CALL bank.statement(1)",
        "CALL bank.statement(3)",
        "CALL bank.transfer(1, 2)",
    ] {
        seen.push(format!("{sql} -> {:?}", outcome(&mut s, sql)));
        seen.push(format!("balances {:?}", balances(&mut s)));
    }
    seen
}

#[test]
fn python_bank_transfers_exactly_as_the_rust_bank_does() {
    let python = bank_scenario(languages_support::python_bank());
    let rust = bank_scenario(&wasm_support::component("bank"));
    assert_eq!(python, rust);
    // The scenario did exercise both outcomes.
    assert!(python.iter().any(|l| l.contains("P0001")), "{python:#?}");
    assert!(
        python
            .iter()
            .any(|l| l.contains("balances [(1, 70), (2, 80)]"))
    );
}
