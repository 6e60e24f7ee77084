//! Functions, aggregates and models bound to module exports with SQL DDL.

use crate::wasm_support::{bank, limits, open, run, sqlstate};

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
