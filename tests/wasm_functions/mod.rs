//! Functions, aggregates and models bound to module exports with SQL DDL,
//! and called from queries.

use rustydb::engine::types::Value;

use crate::wasm_support::{bank, limits, open, rows, run, sqlstate};

#[test]
fn create_function_binds_a_described_scalar_export_and_depends_on_its_module() {
    let t = open(limits());
    let mut s = bank(&t.db);
    let created = run(
        &mut s,
        "CREATE FUNCTION interest(bigint, bigint) RETURNS bigint \
         LANGUAGE wasm IMMUTABLE STRICT AS 'bank', 'interest'",
    )
    .unwrap();
    assert_eq!(format!("{created:?}"), r#"Command("CREATE FUNCTION")"#);
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE FUNCTION interest(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'bank', 'interest'"
        ),
        "42723",
        "a second function of the same name needs OR REPLACE"
    );
    run(
        &mut s,
        "CREATE OR REPLACE FUNCTION interest(balance bigint, rate bigint) RETURNS bigint \
         LANGUAGE wasm AS 'bank', 'interest'",
    )
    .unwrap();
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE FUNCTION i2(int, bigint) RETURNS bigint LANGUAGE wasm AS 'bank', 'interest'"
        ),
        "42P13",
        "declared argument types must be the described ones"
    );
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE FUNCTION i3(bigint, bigint) RETURNS text LANGUAGE wasm AS 'bank', 'interest'"
        ),
        "42P13",
        "the declared result type must be the described one"
    );
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE FUNCTION i4(bigint, bigint) RETURNS TABLE(x bigint) LANGUAGE wasm AS 'bank', 'interest'"
        ),
        "42883",
        "a scalar export is not a table function"
    );
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE FUNCTION t() RETURNS trigger LANGUAGE wasm AS 'bank', 'transfer'"
        ),
        "42883",
        "a procedure export is not a trigger function"
    );
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE OR REPLACE AGGREGATE interest(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'bank', 'interest'"
        ),
        "42883"
    );
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE FUNCTION f() RETURNS bigint LANGUAGE wasm AS 'nomodule', 'f'"
        ),
        "42704"
    );
    assert_eq!(sqlstate(&mut s, "DROP MODULE bank"), "2BP01");
    assert_eq!(sqlstate(&mut s, "DROP AGGREGATE interest"), "42883");
    run(&mut s, "DROP FUNCTION interest(bigint, bigint)").unwrap();
    assert_eq!(sqlstate(&mut s, "DROP FUNCTION interest"), "42883");
    run(&mut s, "DROP FUNCTION IF EXISTS interest").unwrap();
    assert_eq!(
        s.take_notices()
            .into_iter()
            .map(|n| n.message)
            .collect::<Vec<_>>(),
        ["function interest does not exist, skipping"]
    );
    assert_eq!(
        sqlstate(&mut s, "DROP FUNCTION bank.interest"),
        "2BP01",
        "a routine the module describes goes with the module"
    );
    run(&mut s, "DROP MODULE bank").unwrap();
}

#[test]
fn models_need_parameters_and_drop_with_their_statement() {
    let t = open(limits());
    let mut s = bank(&t.db);
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE MODEL m(a float8) RETURNS float8 LANGUAGE wasm AS 'bank', 'score'"
        ),
        "42601"
    );
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE MODEL m(a float8) RETURNS float8 LANGUAGE wasm AS 'bank', 'score' PARAMETERS '\\x00'"
        ),
        "42883",
        "bank describes no model"
    );
    assert_eq!(sqlstate(&mut s, "DROP MODEL m"), "42883");
    run(&mut s, "DROP MODEL IF EXISTS m").unwrap();
}

/// `bank.interest(balance, rate_bp)` computed in plain SQL.
fn interest_in_sql(balance: i64, rate: i64) -> i64 {
    balance * rate / 10_000
}

#[test]
fn a_wasm_scalar_function_equals_the_same_computation_in_sql() {
    let t = open(limits());
    let mut s = bank(&t.db);
    run(
        &mut s,
        "INSERT INTO accounts SELECT g, g * 37 FROM generate_series(3, 5000) g",
    )
    .unwrap();
    let expected: i64 = (1..=5000)
        .map(|id| match id {
            1 => 100,
            2 => 50,
            g => g * 37,
        })
        .map(|b| interest_in_sql(b, 250))
        .sum();
    let got = rows(
        &mut s,
        "SELECT sum(bank.interest(balance, 250)), sum(balance * 250 / 10000) FROM accounts",
    );
    assert_eq!(
        got,
        [vec![
            Value::Numeric(expected.into()),
            Value::Numeric(expected.into())
        ]]
    );
    let usage = t
        .invoker
        .all_stats()
        .into_iter()
        .find(|(_, r, _)| r == "interest")
        .map(|(_, _, s)| s)
        .unwrap();
    assert_eq!(
        usage.calls, 5,
        "5000 rows cross in 5 batches of at most 1024"
    );

    assert_eq!(
        rows(
            &mut s,
            "SELECT id FROM accounts WHERE bank.interest(balance, 10000) = balance AND id < 4 ORDER BY id"
        ),
        [
            vec![Value::Int8(1)],
            vec![Value::Int8(2)],
            vec![Value::Int8(3)]
        ]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT bank.interest(NULL, 5), bank.interest(100, NULL)"
        ),
        [vec![Value::Null, Value::Null]],
        "STRICT: NULL in, NULL out"
    );
    assert_eq!(
        sqlstate(
            &mut s,
            "SELECT bank.interest(balance, 9223372036854775807) FROM accounts"
        ),
        "22003",
        "the guest's own SQLSTATE aborts the statement"
    );
    assert_eq!(sqlstate(&mut s, "SELECT bank.nope(1)"), "42883");
    run(
        &mut s,
        "CREATE FUNCTION interest(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'bank', 'interest'",
    )
    .unwrap();
    assert_eq!(
        rows(
            &mut s,
            "SELECT interest(balance, 100) FROM accounts WHERE id = 1"
        ),
        [vec![Value::Int8(1)]]
    );
    let explain = rows(
        &mut s,
        "EXPLAIN ANALYZE SELECT bank.interest(balance, 7) FROM accounts",
    );
    let line = explain
        .iter()
        .filter_map(|r| match &r[0] {
            Value::Text(t) if t.starts_with("Wasm Routine: bank.interest") => Some(t.clone()),
            _ => None,
        })
        .next()
        .unwrap_or_else(|| panic!("no routine line in {explain:?}"));
    assert!(line.contains("calls=5 rows=5000"), "{line}");
    assert!(
        !line.contains("fuel=0 ") && !line.contains("fuel=n/a"),
        "{line}"
    );
}
