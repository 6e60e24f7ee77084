//! End-to-end SQL over the in-memory store.

use std::sync::Arc;

use super::{Database, Session, StatementResult};
use crate::catalog::memkv::MemKv;

fn session() -> Session {
    Database::with_store(Arc::new(MemKv::default())).session()
}

/// Runs `sql` and renders the last result's rows as PostgreSQL text.
pub(crate) fn query(s: &mut Session, sql: &str) -> Vec<String> {
    let results = s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    match results.last() {
        Some(StatementResult::Rows { rows, .. }) => rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| v.to_pg_text().unwrap_or_else(|| "NULL".into()))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// The SQLSTATE and message `sql` fails with.
pub(crate) fn error(s: &mut Session, sql: &str) -> String {
    let e = s.execute(sql).unwrap_err();
    format!("{} {}", e.sqlstate(), e)
}

#[test]
fn expressions_without_tables() {
    let mut s = session();
    assert_eq!(query(&mut s, "SELECT 1 + 2, 7 / 2, 'a' || 'b'"), ["3 3 ab"]);
    assert_eq!(
        query(&mut s, "SELECT 1::numeric / 3"),
        ["0.33333333333333333333"]
    );
    assert_eq!(
        query(&mut s, "SELECT NULL AND false, NULL OR true"),
        ["f t"]
    );
    assert_eq!(error(&mut s, "SELECT 1 / 0"), "22012 division by zero");
    assert_eq!(
        error(&mut s, "SELECT 2147483647 + 1"),
        "22003 integer out of range"
    );
    assert_eq!(
        query(
            &mut s,
            "SELECT CASE WHEN 1 > 2 THEN 'x' ELSE 'y' END, coalesce(NULL, 5)"
        ),
        ["y 5"]
    );
    assert_eq!(
        query(
            &mut s,
            "SELECT upper('abc'), length('héllo'), 3 IN (1, 2, 3)"
        ),
        ["ABC 5 t"]
    );
}

#[test]
fn tables_constraints_and_queries() {
    let mut s = session();
    s.execute("CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL, n int CHECK (n > 0), u int UNIQUE)")
        .unwrap();
    let r = s
        .execute("INSERT INTO t VALUES (1, 'a', 10, 1), (2, 'b', 20, 2), (3, 'a', NULL, NULL)")
        .unwrap();
    assert_eq!(r, [StatementResult::Command("INSERT 0 3".into())]);
    assert_eq!(
        error(&mut s, "INSERT INTO t VALUES (1, 'x', 1, 9)"),
        "23505 duplicate key value violates unique constraint \"t_pkey\""
    );
    assert_eq!(
        error(&mut s, "INSERT INTO t VALUES (9, 'x', 1, 1)"),
        "23505 duplicate key value violates unique constraint \"t_u_key\""
    );
    assert!(error(&mut s, "INSERT INTO t VALUES (9, NULL, 1, 5)").starts_with("23502"));
    assert!(error(&mut s, "INSERT INTO t VALUES (9, 'x', -1, 5)").starts_with("23514"));
    assert_eq!(
        query(
            &mut s,
            "SELECT name, count(*), sum(n) FROM t GROUP BY name ORDER BY name"
        ),
        ["a 2 10", "b 1 20"]
    );
    assert_eq!(
        query(&mut s, "SELECT avg(n) FROM t"),
        ["15.0000000000000000"]
    );
    assert_eq!(
        query(&mut s, "SELECT id FROM t ORDER BY n DESC"),
        ["3", "2", "1"]
    );
    assert_eq!(
        query(&mut s, "SELECT id FROM t ORDER BY id LIMIT 1 OFFSET 1"),
        ["2"]
    );
    s.execute("UPDATE t SET n = n + 1 WHERE id = 1").unwrap();
    assert_eq!(query(&mut s, "SELECT n FROM t WHERE id = 1"), ["11"]);
    assert_eq!(
        s.execute("DELETE FROM t WHERE name = 'a'").unwrap(),
        [StatementResult::Command("DELETE 2".into())]
    );
    assert_eq!(query(&mut s, "SELECT count(*) FROM t"), ["1"]);
    assert!(error(&mut s, "SELECT * FROM nope").starts_with("42P01"));
    assert!(error(&mut s, "SELECT nope FROM t").starts_with("42703"));
    assert!(error(&mut s, "SELECT name + 1 FROM t").starts_with("42883"));
}

#[test]
fn joins_subqueries_and_set_operations() {
    let mut s = session();
    s.execute("CREATE TABLE a (x int, y text); CREATE TABLE b (x int, z text)")
        .unwrap();
    s.execute("INSERT INTO a VALUES (1, 'one'), (2, 'two'); INSERT INTO b VALUES (2, 'deux'), (3, 'trois')")
        .unwrap();
    assert_eq!(
        query(&mut s, "SELECT y, z FROM a JOIN b ON a.x = b.x"),
        ["two deux"]
    );
    assert_eq!(
        query(
            &mut s,
            "SELECT x, y, z FROM a FULL JOIN b USING (x) ORDER BY x"
        ),
        ["1 one NULL", "2 two deux", "3 NULL trois"]
    );
    assert_eq!(
        query(
            &mut s,
            "SELECT y FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.x = a.x)"
        ),
        ["two"]
    );
    assert_eq!(query(&mut s, "SELECT (SELECT max(x) FROM b)"), ["3"]);
    assert_eq!(
        query(&mut s, "SELECT x FROM a UNION SELECT x FROM b ORDER BY 1"),
        ["1", "2", "3"]
    );
    assert_eq!(
        query(
            &mut s,
            "WITH c AS (SELECT x FROM a WHERE x > 1) SELECT * FROM c"
        ),
        ["2"]
    );
}

#[test]
fn transactions_and_failed_blocks() {
    let db = Database::with_store(Arc::new(MemKv::default()));
    let mut s = db.session();
    s.execute("BEGIN; CREATE TABLE t (a int); INSERT INTO t VALUES (1)")
        .unwrap();
    s.execute("ROLLBACK").unwrap();
    assert!(error(&mut s, "SELECT * FROM t").starts_with("42P01"));
    s.execute("CREATE TABLE t (a int)").unwrap();
    s.execute("BEGIN").unwrap();
    assert!(s.execute("SELECT 1/0").is_err());
    assert!(error(&mut s, "SELECT 1").starts_with("25P02"));
    assert_eq!(
        s.execute("COMMIT").unwrap(),
        [StatementResult::Command("ROLLBACK".into())]
    );
    s.execute("BEGIN; INSERT INTO t VALUES (1); SAVEPOINT p; INSERT INTO t VALUES (2); ROLLBACK TO p; COMMIT")
        .unwrap();
    assert_eq!(query(&mut db.session(), "SELECT a FROM t"), ["1"]);
    assert!(error(&mut s, "CREATE MODULE m FROM FILE '/x'").starts_with("0A000"));
}

#[test]
fn array_of_a_subquery_is_its_values_in_array_text_form() {
    let mut s = session();
    s.execute("CREATE TABLE t (v text); INSERT INTO t VALUES ('a'), ('b c'), (NULL), ('')")
        .unwrap();
    assert_eq!(
        query(
            &mut s,
            "SELECT ARRAY(SELECT v FROM t ORDER BY v NULLS LAST)"
        ),
        [r#"{"",a,"b c",NULL}"#]
    );
    assert_eq!(
        query(&mut s, "SELECT ARRAY(SELECT v FROM t WHERE false)"),
        ["{}"]
    );
    assert!(error(&mut s, "SELECT ARRAY(SELECT v, v FROM t)").contains("only one column"));
}

#[test]
fn uncorrelated_subquery_runs_once_per_statement_execution() {
    let mut s = session();
    s.execute("CREATE SEQUENCE sq; CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)")
        .unwrap();
    let sql = "SELECT (SELECT nextval('sq')) FROM t";
    assert_eq!(query(&mut s, sql), ["1", "1", "1"]);
    assert_eq!(query(&mut s, sql), ["2", "2", "2"]);
    let mut correlated = query(
        &mut s,
        "SELECT (SELECT nextval('sq') WHERE t.id > 0) FROM t",
    );
    correlated.sort();
    assert_eq!(correlated, ["3", "4", "5"]);
    assert_eq!(
        query(
            &mut s,
            "SELECT count(*) FROM t WHERE id IN (SELECT nextval('sq') - 5)"
        ),
        ["1"]
    );
    assert_eq!(query(&mut s, "SELECT currval('sq')"), ["6"]);
}
