//! A guest's statement batches (`host.execute-batch`), on the engine's
//! side: one INSERT, UPDATE or DELETE run once per parameter row, in order,
//! succeeding or undone as a whole — through the fake host's procedure
//! `m.batch(sql, n)`, which runs `sql` with `$1` = 1 … n and reports what
//! the batch affected or the error it handled.

#![allow(clippy::unwrap_used)]

mod routines;

use std::sync::Arc;

use routines::fake::{Fake, open};
use routines::rows;
use rustydb_engine::Session;

fn session() -> (tempfile::TempDir, rustydb_engine::Database, Session) {
    let (dir, db) = open(Arc::new(Fake::default()));
    let s = db.session();
    (dir, db, s)
}

#[test]
fn a_batch_runs_its_rows_in_order_and_counts_them() {
    let (_dir, _db, mut s) = session();
    s.execute("CREATE TABLE b (id serial, x int8)").unwrap();
    assert_eq!(
        rows(
            &mut s,
            "CALL m.batch('INSERT INTO b (x) VALUES ($1 * 10)', 5)"
        ),
        ["5 NULL"]
    );
    assert_eq!(
        rows(&mut s, "SELECT id, x FROM b ORDER BY id"),
        ["1 10", "2 20", "3 30", "4 40", "5 50"]
    );
    // Each row sees the rows before it: the second run finds what the
    // first one changed.
    assert_eq!(
        rows(
            &mut s,
            "CALL m.batch('UPDATE b SET x = (SELECT max(x) FROM b) + $1 WHERE id = $1', 2)"
        ),
        ["2 NULL"]
    );
    assert_eq!(
        rows(&mut s, "SELECT x FROM b WHERE id <= 2 ORDER BY id"),
        ["51", "53"]
    );
    assert_eq!(
        rows(&mut s, "CALL m.batch('DELETE FROM b WHERE id = $1 + 2', 5)"),
        ["3 NULL"]
    );
}

#[test]
fn an_error_in_the_third_of_five_rows_undoes_the_whole_batch() {
    let (_dir, _db, mut s) = session();
    s.execute("CREATE TABLE c (x int8 CHECK (x <> 3))").unwrap();
    s.execute("BEGIN").unwrap();
    s.execute("INSERT INTO c VALUES (100)").unwrap();
    let [result] = &rows(&mut s, "CALL m.batch('INSERT INTO c VALUES ($1)', 5)")[..] else {
        panic!("one result row");
    };
    assert!(
        result.starts_with("NULL 23514: row 3 of 5 of the batch: "),
        "{result}"
    );
    // The procedure handled the error, so its transaction goes on with
    // what came before the batch and none of the batch's rows.
    assert_eq!(rows(&mut s, "SELECT x FROM c"), ["100"]);
    s.execute("COMMIT").unwrap();
    assert_eq!(rows(&mut s, "SELECT x FROM c"), ["100"]);
}

#[test]
fn only_insert_update_and_delete_run_as_a_batch() {
    let (_dir, _db, mut s) = session();
    s.execute("CREATE TABLE d (x int8)").unwrap();
    for sql in ["SELECT $1", "CREATE TABLE e (y int8)"] {
        let [result] = &rows(&mut s, &format!("CALL m.batch('{sql}', 2)"))[..] else {
            panic!("one result row");
        };
        assert!(result.starts_with("NULL 0A000: "), "{sql}: {result}");
    }
    assert_eq!(rows(&mut s, "SELECT count(*) FROM d"), ["0"]);
    // An empty batch runs nothing and affects nothing.
    assert_eq!(
        rows(&mut s, "CALL m.batch('INSERT INTO d VALUES ($1)', 0)"),
        ["0 NULL"]
    );
}

#[test]
fn a_batch_of_inserts_counts_what_each_row_wrote() {
    let (_dir, _db, mut s) = session();
    s.execute("CREATE TABLE u (id int8 PRIMARY KEY, n int8)")
        .unwrap();
    s.execute("INSERT INTO u VALUES (2, 0)").unwrap();
    // An upsert counts the row it inserted or updated.
    assert_eq!(
        rows(
            &mut s,
            "CALL m.batch('INSERT INTO u VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET n = u.n + 5', 3)"
        ),
        ["3 NULL"]
    );
    assert_eq!(
        rows(&mut s, "SELECT id, n FROM u ORDER BY id"),
        ["1 1", "2 5", "3 1"]
    );
    // A row that wrote nothing counts nothing.
    assert_eq!(
        rows(
            &mut s,
            "CALL m.batch('INSERT INTO u VALUES ($1, 0) ON CONFLICT DO NOTHING', 4)"
        ),
        ["1 NULL"]
    );
    // RETURNING changes nothing in the count.
    assert_eq!(
        rows(
            &mut s,
            "CALL m.batch('INSERT INTO u VALUES ($1 + 10, 0) RETURNING id', 2)"
        ),
        ["2 NULL"]
    );
    assert_eq!(rows(&mut s, "SELECT count(*) FROM u"), ["6"]);
}

#[test]
fn a_batch_runs_with_the_callers_privileges_checked_for_its_statement() {
    let (_dir, db, mut s) = session();
    s.execute("CREATE TABLE p (x int8); CREATE ROLE alice LOGIN")
        .unwrap();
    let mut alice = db.session_as("alice");
    let [result] = &rows(&mut alice, "CALL m.batch('INSERT INTO p VALUES ($1)', 3)")[..] else {
        panic!("one result row");
    };
    assert!(
        result.starts_with("NULL 42501: row 1 of 3 of the batch: "),
        "{result}"
    );
    s.execute("GRANT INSERT ON p TO alice").unwrap();
    assert_eq!(
        rows(&mut alice, "CALL m.batch('INSERT INTO p VALUES ($1)', 3)"),
        ["3 NULL"]
    );
    assert_eq!(rows(&mut s, "SELECT count(*) FROM p"), ["3"]);
}
