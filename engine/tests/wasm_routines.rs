//! Wasm functions and models in queries, on the engine's side: how rows
//! cross the boundary (batches), STRICT, volatility folding, name
//! resolution and error SQLSTATEs — against a fake routine host that counts
//! every guest call.

#![allow(clippy::unwrap_used)]

mod routines;

use std::sync::Arc;

use routines::fake::{Fake, GuestCall, open};
use routines::rows;
use rustydb_engine::Session;

fn one(s: &mut Session, sql: &str) -> String {
    let r = rows(s, sql);
    assert_eq!(r.len(), 1, "{sql}: {r:?}");
    r[0].clone()
}

fn sqlstate(s: &mut Session, sql: &str) -> String {
    match s.execute(sql) {
        Ok(r) => panic!("{sql} succeeded: {r:?}"),
        Err(e) => e.sqlstate().to_string(),
    }
}

/// Batches of `routine` as (calls, rows).
fn batches(calls: &[GuestCall], routine: &str) -> Vec<usize> {
    calls
        .iter()
        .filter(|c| c.routine == routine && c.entry != "load")
        .map(|c| c.rows)
        .collect()
}

fn with_table(fake: &Arc<Fake>, n: i64) -> (tempfile::TempDir, Session) {
    let (dir, db) = open(Arc::clone(fake));
    let mut s = db.session();
    s.execute("CREATE TABLE t (id int8 PRIMARY KEY, x int8)")
        .unwrap();
    s.execute(&format!(
        "INSERT INTO t SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE g END FROM generate_series(1, {n}) g"
    ))
    .unwrap();
    fake.take();
    (dir, s)
}

#[test]
fn a_scan_sends_rows_in_batches_of_1024() {
    let fake = Arc::new(Fake::default());
    let (_dir, mut s) = with_table(&fake, 3000);
    // sum over non-NULL x of 2x, plus -1 for each of the 300 NULLs
    // (double is not STRICT, so NULL reaches it).
    let expected: i64 = (1..=3000)
        .filter(|g| g % 10 != 0)
        .map(|g| 2 * g)
        .sum::<i64>()
        - 300;
    assert_eq!(
        one(&mut s, "SELECT sum(m.double(x)) FROM t"),
        expected.to_string()
    );
    assert_eq!(batches(&fake.take(), "double"), [1024, 1024, 952]);

    assert_eq!(
        one(&mut s, "SELECT count(*) FROM t WHERE m.double(x) > 5000"),
        (2501..=3000).filter(|g| g % 10 != 0).count().to_string()
    );
    assert_eq!(
        batches(&fake.take(), "double"),
        [1024, 1024, 952],
        "a WHERE predicate is evaluated a batch at a time too"
    );

    let r = rows(
        &mut s,
        "SELECT id, m.label(id) FROM t ORDER BY m.double(id) DESC LIMIT 2",
    );
    assert_eq!(r, ["3000 <3000>", "2999 <2999>"]);
    let calls = fake.take();
    assert_eq!(batches(&calls, "label"), [1024, 1024, 952]);
    assert_eq!(batches(&calls, "double"), [1024, 1024, 952]);
}

#[test]
fn wasm_functions_work_in_every_expression_position() {
    let fake = Arc::new(Fake::default());
    let (_dir, mut s) = with_table(&fake, 20);
    assert_eq!(
        rows(
            &mut s,
            "SELECT m.double(id % 3) AS k, count(*) FROM t GROUP BY m.double(id % 3) \
             HAVING m.double(count(*)) > 12 ORDER BY k"
        ),
        ["2 7", "4 7"],
        "HAVING drops the group whose doubled count is 12"
    );
    assert_eq!(
        one(
            &mut s,
            "SELECT count(*) FROM t a JOIN t b ON m.double(a.id) = b.id"
        ),
        "10"
    );
    assert_eq!(rows(&mut s, "VALUES (m.double(4)), (m.inc(4))"), ["8", "5"]);
    s.execute("CREATE TABLE u (v int8)").unwrap();
    s.execute("INSERT INTO u VALUES (m.double(5)), (m.inc(NULL))")
        .unwrap();
    s.execute("UPDATE u SET v = m.double(v) WHERE m.inc(v) = 11")
        .unwrap();
    assert_eq!(rows(&mut s, "SELECT v FROM u ORDER BY v"), ["20", "NULL"]);
    assert_eq!(
        one(
            &mut s,
            "SELECT CASE WHEN id > 100 THEN m.fail(id) ELSE m.inc(id) END FROM t WHERE id = 1"
        ),
        "2",
        "a CASE branch no row reaches is never called"
    );
    assert_eq!(one(&mut s, "SELECT m.double(m.inc(m.double(3)))"), "14");
}

#[test]
fn strict_functions_never_see_null() {
    let fake = Arc::new(Fake::default());
    let (_dir, mut s) = with_table(&fake, 100);
    assert_eq!(one(&mut s, "SELECT count(m.inc(x)) FROM t"), "90");
    assert_eq!(
        batches(&fake.take(), "inc"),
        [90],
        "the 10 NULL rows get NULL without crossing"
    );
    assert_eq!(one(&mut s, "SELECT m.inc(NULL)"), "NULL");
    assert!(batches(&fake.take(), "inc").is_empty());
    assert_eq!(
        one(&mut s, "SELECT m.double(NULL)"),
        "-1",
        "a non-STRICT function is called"
    );
}

#[test]
fn a_scan_row_that_is_the_argument_row_crosses_as_a_copied_one_does() {
    let fake = Arc::new(Fake::default());
    let (_dir, db) = open(Arc::clone(&fake));
    let mut s = db.session();
    s.execute("CREATE TABLE w (x int8)").unwrap();
    s.execute(
        "INSERT INTO w SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE g END FROM generate_series(1, 3000) g",
    )
    .unwrap();
    fake.take();
    let expected: i64 = (1..=3000).filter(|g| g % 10 != 0).map(|g| g + 1).sum();
    // `m.inc(x)` over `w`'s one column sends the scan's rows themselves;
    // `m.inc(x + 0)` has each argument row built. STRICT leaves out the
    // NULL rows either way.
    let mut sent = Vec::new();
    for arg in ["x", "x + 0"] {
        let sql = format!("SELECT sum(m.inc({arg})), count(m.double({arg})) FROM w");
        assert_eq!(one(&mut s, &sql), format!("{expected} 3000"), "{sql}");
        let calls = fake.take();
        assert_eq!(batches(&calls, "double"), [1024, 1024, 952], "{sql}");
        sent.push(batches(&calls, "inc"));
    }
    assert_eq!(sent[0], [922, 922, 856], "the 300 NULLs do not cross");
    assert_eq!(sent[0], sent[1]);
}

#[test]
fn immutable_calls_on_constants_fold_and_volatile_ones_never_do() {
    let fake = Arc::new(Fake::default());
    let (_dir, mut s) = with_table(&fake, 2000);
    assert_eq!(rows(&mut s, "SELECT DISTINCT m.double(21) FROM t"), ["42"]);
    assert_eq!(
        batches(&fake.take(), "double"),
        [1],
        "folded: one row, once per statement"
    );
    assert_eq!(
        one(&mut s, "SELECT count(DISTINCT m.tick(1)) FROM t"),
        "2000"
    );
    assert_eq!(
        batches(&fake.take(), "tick"),
        [1024, 976],
        "VOLATILE is called for every row, still in batches"
    );
}

#[test]
fn routines_resolve_by_schema_search_path_and_create_function() {
    let fake = Arc::new(Fake::default());
    let (_dir, db) = open(Arc::clone(&fake));
    let mut s = db.session();
    assert_eq!(
        sqlstate(&mut s, "SELECT double(2)"),
        "42883",
        "m is not on the search path"
    );
    s.execute("SET search_path = m, public").unwrap();
    assert_eq!(one(&mut s, "SELECT double(2)"), "4");
    assert_eq!(
        one(&mut s, "SELECT abs(-3)"),
        "3",
        "built-ins still come first"
    );
    s.execute("SET search_path = public").unwrap();
    s.execute("CREATE FUNCTION twice(bigint) RETURNS bigint LANGUAGE wasm AS 'm', 'double'")
        .unwrap();
    assert_eq!(one(&mut s, "SELECT twice(5), public.twice(6)"), "10 12");
    assert_eq!(sqlstate(&mut s, "SELECT m.nope(1)"), "42883");
    assert_eq!(sqlstate(&mut s, "SELECT nomodule.f(1)"), "42883");
    assert_eq!(
        sqlstate(&mut s, "SELECT m.double(1, 2)"),
        "42883",
        "wrong arity"
    );
    assert_eq!(
        sqlstate(&mut s, "SELECT m.double(upper('x'))"),
        "42883",
        "no implicit cast"
    );
    assert_eq!(
        one(&mut s, "SELECT m.double(7::int4)"),
        "14",
        "int4 widens to int8"
    );
    s.execute("DROP FUNCTION twice").unwrap();
    assert_eq!(
        sqlstate(&mut s, "SELECT twice(5)"),
        "42883",
        "the catalog forgot it"
    );
}

#[test]
fn a_routine_error_aborts_the_statement_with_its_sqlstate() {
    let fake = Arc::new(Fake::default());
    let (_dir, mut s) = with_table(&fake, 10);
    assert_eq!(sqlstate(&mut s, "SELECT m.fail(x) FROM t"), "22R01");
    assert_eq!(
        sqlstate(&mut s, "SELECT id FROM t WHERE m.fail(id) = 1"),
        "22R01"
    );
    assert_eq!(
        sqlstate(&mut s, "INSERT INTO t VALUES (100, m.fail(1))"),
        "22R01"
    );
    assert_eq!(
        one(&mut s, "SELECT count(*) FROM t"),
        "10",
        "nothing was written"
    );
}

#[test]
fn models_score_in_batches_and_load_parameters_once_per_statement() {
    let fake = Arc::new(Fake::with_sessions());
    let (_dir, mut s) = with_table(&fake, 2500);
    s.execute(
        "CREATE MODEL lin(a float8, b float8) RETURNS float8 LANGUAGE wasm AS 'm', 'linear' \
         PARAMETERS '\\x322c33'",
    )
    .unwrap();
    fake.take();
    let opened = fake.sessions_opened();
    assert_eq!(one(&mut s, "SELECT lin(1.5, 2) FROM t WHERE id = 1"), "9");
    // 2 * id + 3 * 1 summed over 2500 rows.
    let expected = 2 * (2500 * 2501 / 2) + 3 * 2500;
    assert_eq!(
        one(&mut s, "SELECT sum(lin(id::float8, 1)) FROM t"),
        expected.to_string()
    );
    let calls = fake.take();
    assert_eq!(
        calls.iter().filter(|c| c.entry == "load").count(),
        2,
        "parameters are loaded once per statement's instance: {calls:?}"
    );
    assert_eq!(batches(&calls, "linear"), [1, 1024, 1024, 452]);
    assert_eq!(
        fake.sessions_opened() - opened,
        2,
        "one instance per module per statement"
    );
    assert_eq!(
        one(
            &mut s,
            "SELECT m.double(id) + m.inc(id) FROM t WHERE id = 7"
        ),
        "22"
    );
    assert_eq!(
        fake.sessions_opened() - opened,
        3,
        "two functions of one module share it"
    );
}

#[test]
fn aggregates_fold_batches_per_group_with_distinct_and_filter() {
    let fake = Arc::new(Fake::default());
    let (_dir, mut s) = with_table(&fake, 3000);
    let non_null: i64 = (1..=3000).filter(|g| g % 10 != 0).sum();
    assert_eq!(
        one(&mut s, "SELECT m.total(x) FROM t"),
        non_null.to_string()
    );
    let calls = fake.take();
    assert_eq!(
        batches(&calls, "total"),
        [1, 1024, 1024, 652, 1],
        "init, three accumulate batches of the 2700 non-NULL rows, finish: {calls:?}"
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT id % 2, m.total(x) FILTER (WHERE x < 100), m.total(DISTINCT x % 7) \
             FROM t GROUP BY id % 2 ORDER BY 1"
        ),
        [
            format!(
                "0 {} 21",
                (1..100).filter(|g| g % 2 == 0 && g % 10 != 0).sum::<i64>()
            ),
            format!("1 {} 21", (1..100).filter(|g| g % 2 == 1).sum::<i64>()),
        ]
    );
    assert_eq!(
        one(&mut s, "SELECT m.total(x) FROM t WHERE id < 0"),
        "NULL",
        "an empty group is the guest's finish of its initial state"
    );
}

#[test]
fn table_functions_in_from_and_lateral_over_earlier_items() {
    let fake = Arc::new(Fake::default());
    let (_dir, mut s) = with_table(&fake, 3);
    assert_eq!(
        rows(&mut s, "SELECT * FROM m.upto(3)"),
        ["1 #1", "2 #2", "3 #3"]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT u.n, u.t FROM m.upto(2) AS u(n, t) WHERE u.n > 1"
        ),
        ["2 #2"]
    );
    fake.take();
    assert_eq!(
        rows(
            &mut s,
            "SELECT t.id, u.tag FROM t, LATERAL m.upto(t.id) u ORDER BY t.id, u.i"
        ),
        ["1 #1", "2 #1", "2 #2", "3 #1", "3 #2", "3 #3"]
    );
    assert_eq!(fake.take().len(), 3, "one call per outer row");
    assert_eq!(
        rows(
            &mut s,
            "SELECT t.id, count(*) FROM t CROSS JOIN m.upto(t.id) GROUP BY t.id ORDER BY 1"
        ),
        ["1 1", "2 2", "3 3"]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT t.id, i FROM t JOIN m.upto(2) ON i = t.id ORDER BY 1"
        ),
        ["1 1", "2 2"]
    );
    assert_eq!(
        one(&mut s, "SELECT count(*) FROM m.upto(NULL)"),
        "0",
        "STRICT: no rows"
    );
    assert_eq!(sqlstate(&mut s, "SELECT m.upto(3)"), "0A000");
}

#[test]
fn explain_analyze_reports_each_routine() {
    let fake = Arc::new(Fake::default());
    let (_dir, mut s) = with_table(&fake, 2000);
    let lines = rows(
        &mut s,
        "EXPLAIN ANALYZE SELECT m.double(x), m.inc(id) FROM t",
    );
    let routine: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("Wasm Routine"))
        .collect();
    assert_eq!(routine.len(), 2, "{lines:?}");
    assert!(
        routine[0].starts_with("Wasm Routine: m.double  calls=2 rows=2000 "),
        "{lines:?}"
    );
    assert!(
        routine[1].starts_with("Wasm Routine: m.inc  calls=2 rows=2000 "),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l == "Rows: 2000"), "{lines:?}");
}
