#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! psql, unmodified, against the `rustydb` binary: its `\dt`, `\d`, `\l`,
//! `\df` and `\du` meta-commands run the catalog queries psql 15 writes
//! (`pg_catalog.pg_class`, `pg_namespace`, `pg_am`, `pg_database`,
//! `pg_proc`, `pg_get_userbyid`, `pg_table_is_visible`, `!~`,
//! `OPERATOR(pg_catalog.~)`, …), and `information_schema` answers plain
//! SQL. Skipped, saying why, when `psql` is not installed (`.ci/run`
//! installs it).

use std::process::Command;

mod binary_support;

use binary_support::{have, serve};

fn psql(port: u16, command: &str) -> String {
    psql_with(port, command, &[])
}

/// The rows of a query as `psql -At` prints them: one line per row,
/// values separated by `|`.
fn rows(port: u16, sql: &str) -> Vec<String> {
    psql_with(port, sql, &["-A", "-t"])
        .lines()
        .map(str::to_owned)
        .collect()
}

fn psql_with(port: u16, command: &str, extra: &[&str]) -> String {
    let out = psql_as(port, "rustydb", None, command, extra);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "psql -c {command:?} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// psql as `user`, with `password` if given (never prompting for one).
fn psql_as(
    port: u16,
    user: &str,
    password: Option<&str>,
    command: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut cmd = Command::new("psql");
    cmd.args(extra)
        .args([
            "-X",
            "-w",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            user,
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            command,
            "rustydb",
        ])
        .env_remove("PGPASSWORD");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.output().unwrap()
}

/// `-At` output of `command` run as `user` with `password`, which must
/// succeed.
fn rows_as(port: u16, user: &str, password: &str, command: &str) -> Vec<String> {
    let out = psql_as(port, user, Some(password), command, &["-A", "-t"]);
    assert!(
        out.status.success(),
        "psql -U {user} -c {command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// What psql prints on stderr when it cannot connect or run `command`.
fn failure_as(port: u16, user: &str, password: Option<&str>, command: &str) -> String {
    let out = psql_as(port, user, password, command, &[]);
    assert!(!out.status.success(), "psql -U {user} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Roles made in SQL are who may connect: loopback is trusted only until
/// the first password is set, then every connection proves its password
/// with SCRAM-SHA-256 against the verifier in the catalog.
#[test]
fn roles_created_in_sql_log_in_with_scram() {
    if !have("psql") {
        eprintln!("skipped: the psql binary is not installed (postgresql-client)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = serve(dir.path());
    psql(
        port,
        "CREATE USER alice WITH PASSWORD 'wonderland' CREATEDB; CREATE ROLE reader; \
         ALTER ROLE rustydb PASSWORD 'root'",
    );
    assert_eq!(
        rows_as(
            port,
            "alice",
            "wonderland",
            "SELECT current_user, session_user"
        ),
        ["alice|alice"]
    );
    assert_eq!(
        rows_as(
            port,
            "rustydb",
            "root",
            "SELECT rolname, rolsuper, rolcreatedb, rolcanlogin FROM pg_catalog.pg_roles \
             WHERE rolname !~ '^pg_' ORDER BY 1",
        ),
        ["alice|f|t|t", "reader|f|f|f", "rustydb|t|t|t"]
    );

    let wrong = failure_as(port, "alice", Some("rabbit"), "SELECT 1");
    assert!(
        wrong.contains("password authentication failed for user \"alice\""),
        "{wrong}"
    );
    let none = failure_as(port, "rustydb", None, "SELECT 1");
    assert!(none.contains("no password supplied"), "{none}");
    let nologin = failure_as(port, "reader", Some("x"), "SELECT 1");
    assert!(
        nologin.contains("password authentication failed"),
        "{nologin}"
    );
    let denied = failure_as(
        port,
        "alice",
        Some("wonderland"),
        "CREATE ROLE mallory SUPERUSER",
    );
    assert!(
        denied.contains("permission denied to create role"),
        "{denied}"
    );

    // A new password replaces the old one at once.
    rows_as(
        port,
        "alice",
        "wonderland",
        "ALTER USER alice PASSWORD 'looking-glass'",
    );
    assert!(failure_as(port, "alice", Some("wonderland"), "SELECT 1").contains("failed"));
    assert_eq!(
        rows_as(port, "alice", "looking-glass", "SELECT current_user"),
        ["alice"]
    );
    rows_as(port, "rustydb", "root", "DROP USER alice");
    assert!(failure_as(port, "alice", Some("looking-glass"), "SELECT 1").contains("failed"));
}

#[test]
fn psql_meta_commands_list_what_exists() {
    if !have("psql") {
        eprintln!("skipped: the psql binary is not installed (postgresql-client)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = serve(dir.path());
    psql(
        port,
        "CREATE TABLE accounts (id bigint PRIMARY KEY, owner varchar(40) NOT NULL, balance numeric(12,2) DEFAULT 0); \
         CREATE TABLE audit (at timestamp, note text)",
    );

    let dt = psql(port, "\\dt");
    assert!(dt.contains("List of relations"), "{dt}");
    for line in [
        " public | accounts | table | rustydb",
        " public | audit    | table | rustydb",
    ] {
        assert!(dt.contains(line), "{line:?} missing from:\n{dt}");
    }
    assert!(dt.contains("(2 rows)"), "{dt}");
    // \d without a name lists the same relations (and would list views
    // and sequences); system relations stay out of it.
    let d = psql(port, "\\d");
    assert!(d.contains("accounts") && d.contains("audit"), "{d}");
    assert!(!d.contains("pg_class"), "{d}");

    let l = psql(port, "\\l");
    assert!(l.contains("List of databases"), "{l}");
    assert!(l.contains(" rustydb | rustydb | UTF8"), "{l}");

    let df = psql(port, "\\df");
    assert!(df.contains("List of functions"), "{df}");
    assert!(df.contains("(0 rows)"), "{df}");

    // \du lists the roles of the catalog with their attributes.
    psql(port, "CREATE ROLE reader; CREATE USER alice CREATEDB");
    let du = psql(port, "\\du");
    assert!(du.contains("List of roles"), "{du}");
    for line in [
        " alice     | Create DB ",
        " reader    | Cannot login ",
        " rustydb   | Superuser, Create role, Create DB",
    ] {
        assert!(du.contains(line), "{line:?} missing from:\n{du}");
    }

    // A table dropped is gone from the listing.
    psql(port, "DROP TABLE audit");
    let dt = psql(port, "\\dt");
    assert!(!dt.contains("audit") && dt.contains("(1 row)"), "{dt}");
}

#[test]
fn catalog_relations_and_functions_answer_sql() {
    if !have("psql") {
        eprintln!("skipped: the psql binary is not installed (postgresql-client)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = serve(dir.path());
    psql(
        port,
        "CREATE TABLE accounts (id bigint PRIMARY KEY, owner varchar(40) NOT NULL, balance numeric(12,2) DEFAULT 0)",
    );
    assert_eq!(
        rows(
            port,
            "SELECT column_name, data_type, is_nullable, column_default \
             FROM information_schema.columns WHERE table_name = 'accounts' ORDER BY ordinal_position",
        ),
        vec![
            "id|bigint|NO|",
            "owner|character varying|NO|",
            "balance|numeric|YES|0"
        ]
    );
    assert_eq!(
        rows(
            port,
            "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull \
             FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             WHERE c.relname OPERATOR(pg_catalog.~) '^(accounts)$' COLLATE pg_catalog.default \
             ORDER BY a.attnum",
        ),
        vec![
            "id|bigint|t",
            "owner|character varying(40)|t",
            "balance|numeric(12,2)|f"
        ]
    );
    assert_eq!(
        rows(
            port,
            "SELECT c.relname, i.indisprimary, i.indkey FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid",
        ),
        vec!["accounts_pkey|t|1"]
    );
    assert_eq!(
        rows(
            port,
            "SELECT current_database(), current_user, pg_catalog.pg_get_userbyid(10), \
             'abc' ~* '^A', 'abc' !~ 'z', version() LIKE 'PostgreSQL 15%RustyDB%'",
        ),
        vec!["rustydb|rustydb|rustydb|t|t|t"]
    );
    let err = failure_as(port, "rustydb", None, "SELECT 'a' ~ '('");
    assert!(err.contains("invalid regular expression"), "{err}");
}

/// `\d <table>` runs psql 15's dozen catalog queries (`pg_class.reloftype`,
/// `::regclass`, `pg_get_indexdef`, `pg_get_constraintdef`, `= ANY` over
/// catalog arrays, `pg_inherits`, `pg_policy`, `pg_publication`, …) and
/// prints what PostgreSQL prints: columns with types, nullability and
/// defaults, the indexes with their kinds, CHECK and FOREIGN KEY
/// constraints, and the tables referencing this one.
#[test]
fn psql_describes_tables_indexes_and_views() {
    if !have("psql") {
        eprintln!("skipped: the psql binary is not installed (postgresql-client)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = serve(dir.path());
    psql(
        port,
        "CREATE TABLE t (id int PRIMARY KEY, name varchar(20) NOT NULL DEFAULT 'x', \
         v numeric(10,2) UNIQUE); \
         CREATE INDEX t_name ON t (name); \
         CREATE TABLE u (a int REFERENCES t (id) ON DELETE CASCADE, b text CHECK (b <> '')); \
         CREATE VIEW vv AS SELECT id FROM t",
    );

    let d = psql(port, "\\d t");
    for line in [
        "Table \"public.t\"",
        " id     | integer               |           | not null |",
        " name   | character varying(20) |           | not null | 'x'",
        " v      | numeric(10,2)         |           |          |",
        "Indexes:",
        "    \"t_pkey\" PRIMARY KEY, btree (id)",
        "    \"t_name\" btree (name)",
        "    \"t_v_key\" UNIQUE CONSTRAINT, btree (v)",
        "Referenced by:",
        "    TABLE \"u\" CONSTRAINT \"u_a_fkey\" FOREIGN KEY (a) REFERENCES t(id) ON DELETE CASCADE",
    ] {
        assert!(d.contains(line), "{line:?} missing from:\n{d}");
    }

    let d = psql(port, "\\d u");
    for line in [
        "Check constraints:",
        "    \"u_b_check\" CHECK (",
        "Foreign-key constraints:",
        "    \"u_a_fkey\" FOREIGN KEY (a) REFERENCES t(id) ON DELETE CASCADE",
    ] {
        assert!(d.contains(line), "{line:?} missing from:\n{d}");
    }

    // `\d+` adds storage and the access method.
    let d = psql(port, "\\d+ t");
    assert!(d.contains("| Storage  |"), "{d}");
    assert!(
        d.contains(" id     | integer               |           | not null |         | plain    |"),
        "{d}"
    );
    assert!(d.contains("| extended |"), "{d}");
    assert!(d.contains("Access method: heap"), "{d}");

    // An index is described by its key columns and its table.
    let d = psql(port, "\\d t_pkey");
    assert!(d.contains("Index \"public.t_pkey\""), "{d}");
    assert!(d.contains(" id     | integer | yes  | id"), "{d}");
    assert!(
        d.contains("primary key, btree, for table \"public.t\""),
        "{d}"
    );

    let d = psql(port, "\\d vv");
    assert!(d.contains("View \"public.vv\""), "{d}");

    let di = psql(port, "\\di");
    for line in [
        " public | t_name  | index | rustydb | t",
        " public | t_pkey  | index | rustydb | t",
        " public | t_v_key | index | rustydb | t",
    ] {
        assert!(di.contains(line), "{line:?} missing from:\n{di}");
    }
    let dv = psql(port, "\\dv");
    assert!(dv.contains(" public | vv   | view | rustydb"), "{dv}");

    // The object-id types read names and print names.
    assert_eq!(
        rows(
            port,
            "SELECT 't_v_key'::regclass::oid = c.oid, c.oid::regclass, 'int4'::regtype::oid, \
             23::regtype, 'public'::regnamespace::oid FROM pg_class c WHERE relname = 't_v_key'",
        ),
        ["t|t_v_key|23|integer|2200"]
    );
    assert_eq!(
        rows(
            port,
            "SELECT 'd' = ANY (s.kinds), 'x' = ANY (s.kinds), '5' <> ALL (s.kinds), s.kinds[2] \
             FROM (SELECT '{d,f}' AS kinds) s",
        ),
        ["t|f|t|f"]
    );
    let missing = failure_as(port, "rustydb", None, "SELECT 'nope'::regclass");
    assert!(
        missing.contains("relation \"nope\" does not exist"),
        "{missing}"
    );
}
