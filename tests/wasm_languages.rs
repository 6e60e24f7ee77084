//! "Any Wasm language": the same routines written in Python, JavaScript and
//! C, built with each language's own toolchain against `wit/`, deployed with
//! SQL, and checked to answer exactly as their Rust versions do.
//!
//! Every scenario runs twice, once on the Rust module and once on the other
//! language's, and compares what a user sees: rows, SQLSTATEs and messages.

#![allow(clippy::unwrap_used)]

#[path = "wasm_languages/js.rs"]
mod js;
mod languages_support;
mod wasm_support;

use languages_support::pure_ctx;
use rustydb::engine::extension::{RoutineInvoker, RoutineRef, Row};
use rustydb::engine::sql::Session;
use rustydb::engine::types::Value;
use rustydb_wasm_host::version_handle;
use wasm_support::{TestDb, balances, limits, open, run};

/// Deploys `bytes` as module `name` through `$1`.
fn deploy_bytes(session: &mut Session, name: &str, bytes: &[u8]) {
    let prepared = session
        .prepare(&format!("CREATE MODULE {name} FROM $1"))
        .unwrap();
    session
        .execute_prepared(&prepared, &[Value::Bytea(bytes.to_vec())])
        .unwrap();
}

/// What a user sees of a statement: its result, or its SQLSTATE, message
/// and DETAIL.
fn outcome(session: &mut Session, sql: &str) -> Result<String, (String, String, Option<String>)> {
    run(session, sql)
        .map(|r| format!("{r:?}"))
        .map_err(|e| (e.sqlstate().code().to_owned(), e.to_string(), detail(&e)))
}

/// A routine error's DETAIL line, which a client sees beside the message.
fn detail(e: &rustydb::engine::Error) -> Option<String> {
    match e {
        rustydb::engine::Error::Sql(rustydb::engine::sql::SqlError::Routine { detail, .. }) => {
            detail.clone()
        }
        _ => None,
    }
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

/// Deploys `bytes` as module `name` with SQL and returns the handle the
/// invoker knows that version by, for calls the SQL layer cannot make yet.
fn deploy_handle(t: &TestDb, name: &str, bytes: &[u8]) -> String {
    let mut s = t.db.session();
    deploy_bytes(&mut s, name, bytes);
    let handle = version_handle(name, bytes);
    assert!(t.invoker.is_loaded(&handle), "{name} is not loaded");
    handle
}

/// `interest` over one batch, as values or (SQLSTATE, message).
fn interest(t: &TestDb, handle: &str, rows: &[Row]) -> Result<Vec<Value>, (String, String)> {
    t.invoker
        .call_scalar(&pure_ctx(), RoutineRef::new(handle, "interest"), rows)
        .map_err(|e| (e.code.to_string(), e.message))
}

fn int8_rows(pairs: &[(i64, i64)]) -> Vec<Row> {
    pairs
        .iter()
        .map(|&(b, r)| vec![Value::Int8(b), Value::Int8(r)])
        .collect()
}

#[test]
fn python_interest_answers_exactly_as_the_rust_interest_does() {
    let t = open(limits());
    let python = deploy_handle(&t, "pybank", languages_support::python_bank());
    let rust = deploy_handle(&t, "bank", &wasm_support::component("bank"));
    let mut nulls = int8_rows(&[(7, 7)]);
    nulls.push(vec![Value::Int8(3), Value::Null]);
    let batches = [
        int8_rows(&[(10_000, 250), (-12_345, 175), (1, 1), (0, 9_999)]),
        int8_rows(&[(i64::MAX / 2, 1), (999_999_999, 10_000), (i64::MIN, 1)]),
        int8_rows(&[(5, 5), (i64::MAX, 2)]),
        nulls,
        Vec::new(),
    ];
    for batch in &batches {
        assert_eq!(
            interest(&t, &python, batch),
            interest(&t, &rust, batch),
            "{batch:?}"
        );
    }
    // Python's `//` floors; the module truncates towards zero as Rust does.
    assert_eq!(
        interest(&t, &python, &batches[0]).unwrap()[1],
        Value::Int8(-216)
    );
    assert_eq!(interest(&t, &python, &batches[2]).unwrap_err().0, "22003");
    assert_eq!(interest(&t, &python, &batches[3]).unwrap()[1], Value::Null);
}

#[test]
fn c_interest_answers_exactly_as_the_rust_interest_does() {
    let t = open(limits());
    let c = deploy_handle(&t, "stats", languages_support::c_stats());
    let rust = deploy_handle(&t, "bank", &wasm_support::component("bank"));
    let batches = [
        int8_rows(&[(10_000, 250), (-12_345, 175), (1, 1), (0, 9_999)]),
        int8_rows(&[(i64::MAX / 2, 1), (999_999_999, 10_000)]),
        int8_rows(&[(5, 5), (i64::MAX, 2)]),
        Vec::new(),
    ];
    for batch in &batches {
        assert_eq!(
            interest(&t, &c, batch),
            interest(&t, &rust, batch),
            "{batch:?}"
        );
    }
    assert_eq!(
        interest(&t, &c, &batches[0]),
        Ok(vec![
            Value::Int8(250),
            Value::Int8(-216),
            Value::Int8(0),
            Value::Int8(0)
        ])
    );
    assert_eq!(interest(&t, &c, &batches[2]).unwrap_err().0, "22003");
}

/// The exact median the C aggregate must agree with.
fn reference_median(values: &[f64]) -> Value {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => Value::Null,
        _ if n % 2 == 1 => Value::Float8(sorted[n / 2]),
        _ => Value::Float8((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

#[test]
fn c_median_aggregates_partial_states_and_merges_them_exactly() {
    let t = open(limits());
    let c = deploy_handle(&t, "stats", languages_support::c_stats());
    let median = RoutineRef::new(&c, "median");
    let ctx = pure_ctx();
    let rows = |xs: &[Option<f64>]| -> Vec<Row> {
        xs.iter()
            .map(|x| vec![x.map_or(Value::Null, Value::Float8)])
            .collect()
    };
    let left = [Some(3.5), None, Some(-1.0), Some(10.0)];
    let right = [Some(2.25), Some(7.0), Some(0.5)];
    let mut states = Vec::new();
    for part in [&left[..], &right[..]] {
        let init = t.invoker.aggregate_init(&ctx, median).unwrap();
        let state = t
            .invoker
            .aggregate_accumulate(&ctx, median, &init, &rows(part))
            .unwrap();
        states.push(state);
    }
    let merged = t
        .invoker
        .aggregate_merge(&ctx, median, &states[0], &states[1])
        .unwrap();
    let all: Vec<f64> = left.iter().chain(&right).flatten().copied().collect();
    assert_eq!(
        t.invoker.aggregate_finish(&ctx, median, &merged).unwrap(),
        reference_median(&all)
    );
    assert_eq!(reference_median(&all), Value::Float8(2.875));
    let odd: Vec<f64> = left.iter().flatten().copied().collect();
    assert_eq!(
        t.invoker
            .aggregate_finish(&ctx, median, &states[0])
            .unwrap(),
        reference_median(&odd)
    );
    let empty = t.invoker.aggregate_init(&ctx, median).unwrap();
    assert_eq!(
        t.invoker.aggregate_finish(&ctx, median, &empty).unwrap(),
        Value::Null
    );
    let unknown = t
        .invoker
        .aggregate_init(&ctx, RoutineRef::new(&c, "mode"))
        .unwrap_err();
    assert_eq!(unknown.code.to_string(), "42883");
}

#[test]
fn a_c_module_deploys_and_describes_its_scalar_function_and_aggregate() {
    let t = open(limits());
    let mut s = t.db.session();
    deploy_bytes(&mut s, "stats", languages_support::c_stats());
    let modules = wasm_support::rows(&mut s, "SELECT name, exports FROM rustydb_modules");
    let exports: Vec<String> = modules
        .iter()
        .map(|r| r[1].to_pg_text().unwrap_or_default())
        .collect();
    assert_eq!(modules.len(), 1, "{modules:?}");
    assert_eq!(modules[0][0], Value::Text("stats".into()));
    assert!(exports[0].contains("interest"), "{exports:?}");
    assert!(exports[0].contains("median"), "{exports:?}");
}

#[test]
fn c_median_from_sql_equals_the_reference_per_group() {
    let t = open(limits());
    let mut s = t.db.session();
    deploy_bytes(&mut s, "stats", languages_support::c_stats());
    run(&mut s, "CREATE TABLE m (g int8, x float8)").unwrap();
    run(
        &mut s,
        "INSERT INTO m SELECT i % 3, CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 37 % 101)::float8 / 4 END \
         FROM generate_series(1, 2500) i",
    )
    .unwrap();
    let got = wasm_support::rows(
        &mut s,
        "SELECT g, stats.median(x), stats.median(x) FILTER (WHERE x > 10) FROM m GROUP BY g ORDER BY g",
    );
    for (g, row) in got.iter().enumerate() {
        let xs: Vec<f64> = (1..=2500i64)
            .filter(|i| i % 3 == g as i64 && i % 7 != 0)
            .map(|i| (i * 37 % 101) as f64 / 4.0)
            .collect();
        let big: Vec<f64> = xs.iter().copied().filter(|x| *x > 10.0).collect();
        assert_eq!(row[1], reference_median(&xs), "group {g}");
        assert_eq!(row[2], reference_median(&big), "group {g}");
    }
    assert_eq!(got.len(), 3);
}

#[test]
fn interest_from_sql_answers_identically_in_every_language() {
    let t = open(limits());
    let mut s = t.db.session();
    deploy_bytes(&mut s, "bank", &wasm_support::component("bank"));
    deploy_bytes(&mut s, "pybank", languages_support::python_bank());
    deploy_bytes(&mut s, "stats", languages_support::c_stats());
    deploy_bytes(&mut s, "ledger", languages_support::js_ledger());
    // More rows than one guest batch (1024), negative products, NULLs.
    s.execute(
        "CREATE TABLE loans (id int8, b int8, r int8);
         INSERT INTO loans SELECT i, i * 7919 - 5000000, i % 300 FROM generate_series(1, 2100) i;
         INSERT INTO loans VALUES (0, NULL, 5), (-1, 5, NULL);",
    )
    .unwrap();
    let answers = |s: &mut Session, module: &str| {
        let all = wasm_support::rows(
            s,
            &format!("SELECT id, {module}.interest(b, r) FROM loans ORDER BY id"),
        );
        let overflow = outcome(
            s,
            &format!("SELECT {module}.interest(9223372036854775807, 2)"),
        );
        (all, overflow)
    };
    let rust = answers(&mut s, "bank");
    assert_eq!(rust.0.len(), 2102);
    assert_eq!(rust.0[0][1], Value::Null);
    assert_eq!(rust.1.as_ref().unwrap_err().0, "22003");
    for module in ["pybank", "stats", "ledger"] {
        assert_eq!(answers(&mut s, module), rust, "{module}");
    }
}
