//! Triggers as Wasm (issue 7): the `audit`, `guard` and `counters`
//! examples attached with SQL DDL, fired by every kind of write.

use rustydb::engine::sql::Session;
use rustydb::engine::types::Value;

mod batches;
mod functions;
mod settings;
mod views;

use super::wasm_support::{bank, deploy, limits, open, rows, run, sqlstate};

/// `audit_log` and the `audit` module, in a session that has `accounts`
/// and `bank` too.
fn audited(s: &mut Session) {
    s.execute("CREATE TABLE audit_log (id serial, tbl text, op text, old_row text, new_row text)")
        .unwrap();
    deploy(s, "audit", "audit", false);
}

/// The log as (tbl, op, old_row, new_row), oldest first; NULL as "-".
fn log(s: &mut Session) -> Vec<[String; 4]> {
    rows(
        s,
        "SELECT tbl, op, old_row, new_row FROM audit_log ORDER BY id",
    )
    .into_iter()
    .map(|r| {
        let t = |v: &Value| v.to_pg_text().unwrap_or_else(|| "-".into());
        [t(&r[0]), t(&r[1]), t(&r[2]), t(&r[3])]
    })
    .collect()
}

fn line(tbl: &str, op: &str, old: &str, new: &str) -> [String; 4] {
    [tbl.into(), op.into(), old.into(), new.into()]
}

fn count(s: &mut Session, sql: &str) -> i64 {
    match rows(s, sql)[0][0] {
        Value::Int8(n) => n,
        ref other => panic!("not a count: {other:?}"),
    }
}

#[test]
fn an_after_row_trigger_sees_each_tg_op_with_old_and_new() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    run(
        &mut s,
        "CREATE TRIGGER accounts_audit AFTER INSERT OR UPDATE OR DELETE ON accounts \
         FOR EACH ROW EXECUTE FUNCTION audit.audit_row('acct')",
    )
    .unwrap();
    run(&mut s, "INSERT INTO accounts VALUES (3, 7)").unwrap();
    run(&mut s, "UPDATE accounts SET balance = 8 WHERE id = 3").unwrap();
    run(&mut s, "DELETE FROM accounts WHERE id = 3").unwrap();
    assert_eq!(
        log(&mut s),
        vec![
            line("acct", "INSERT", "-", "(3,7)"),
            line("acct", "UPDATE", "(3,7)", "(3,8)"),
            line("acct", "DELETE", "(3,8)", "-"),
        ]
    );
}

#[test]
fn truncate_fires_statement_triggers_only() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE TRIGGER t AFTER TRUNCATE ON accounts FOR EACH ROW \
             EXECUTE FUNCTION audit.audit_row()"
        ),
        "0A000"
    );
    run(
        &mut s,
        "CREATE TRIGGER accounts_truncated BEFORE TRUNCATE ON accounts \
         FOR EACH STATEMENT EXECUTE FUNCTION audit.audit_row()",
    )
    .unwrap();
    run(&mut s, "TRUNCATE accounts").unwrap();
    assert_eq!(log(&mut s), vec![line("accounts", "TRUNCATE", "-", "-")]);
    assert_eq!(count(&mut s, "SELECT count(*) FROM accounts"), 0);
}

#[test]
fn when_filters_the_rows_a_trigger_fires_for() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    run(
        &mut s,
        "CREATE TRIGGER big_changes AFTER UPDATE ON accounts FOR EACH ROW \
         WHEN (NEW.balance - OLD.balance > 10) EXECUTE FUNCTION audit.audit_row()",
    )
    .unwrap();
    run(
        &mut s,
        "UPDATE accounts SET balance = balance + 5 WHERE id = 1",
    )
    .unwrap();
    run(&mut s, "UPDATE accounts SET balance = balance + 50").unwrap();
    assert_eq!(
        log(&mut s),
        vec![
            line("accounts", "UPDATE", "(1,105)", "(1,155)"),
            line("accounts", "UPDATE", "(2,50)", "(2,100)"),
        ]
    );
    // PostgreSQL's rules on what WHEN may name.
    let bad = [
        (
            "CREATE TRIGGER x AFTER INSERT ON accounts FOR EACH ROW \
             WHEN (OLD.balance > 0) EXECUTE FUNCTION audit.audit_row()",
            "42P17",
        ),
        (
            "CREATE TRIGGER x AFTER INSERT ON accounts FOR EACH STATEMENT \
             WHEN (NEW.balance > 0) EXECUTE FUNCTION audit.audit_row()",
            "0A000",
        ),
        (
            "CREATE TRIGGER x AFTER UPDATE ON accounts FOR EACH ROW \
             WHEN (NEW.nope > 0) EXECUTE FUNCTION audit.audit_row()",
            "42703",
        ),
    ];
    for (sql, state) in bad {
        assert_eq!(sqlstate(&mut s, sql), state, "{sql}");
    }
}

#[test]
fn update_of_fires_only_when_a_listed_column_is_assigned() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    s.execute("ALTER TABLE accounts ADD COLUMN note text")
        .unwrap();
    run(
        &mut s,
        "CREATE TRIGGER balance_changes AFTER UPDATE OF balance ON accounts \
         FOR EACH ROW EXECUTE FUNCTION audit.audit_row()",
    )
    .unwrap();
    run(&mut s, "UPDATE accounts SET note = 'x' WHERE id = 1").unwrap();
    assert!(log(&mut s).is_empty());
    run(&mut s, "UPDATE accounts SET balance = 1 WHERE id = 1").unwrap();
    assert_eq!(log(&mut s).len(), 1);
}

/// `people(id, owner, balance)` guarded by `guard.guard_row('balance',
/// 'owner')`.
fn guarded(s: &mut Session) {
    s.execute("CREATE TABLE people (id int PRIMARY KEY, owner text NOT NULL, balance bigint)")
        .unwrap();
    deploy(s, "guard", "guard", false);
    run(
        s,
        "CREATE TRIGGER people_guard BEFORE INSERT OR UPDATE ON people FOR EACH ROW \
         EXECUTE FUNCTION guard.guard_row('balance', 'owner')",
    )
    .unwrap();
}

#[test]
fn a_before_trigger_modifies_and_skips_rows() {
    let t = open(limits());
    let mut s = t.db.session();
    guarded(&mut s);
    let r = run(
        &mut s,
        "INSERT INTO people VALUES (1, '  Alice ', 10), (2, '   ', 20), (3, 'bob', 30)",
    )
    .unwrap();
    // The blank row was skipped, so it is not counted.
    assert_eq!(
        r,
        rustydb::engine::sql::StatementResult::Command("INSERT 0 2".into())
    );
    let people = rows(&mut s, "SELECT id, owner FROM people ORDER BY id");
    assert_eq!(
        people,
        vec![
            vec![Value::Int4(1), Value::Text("alice".into())],
            vec![Value::Int4(3), Value::Text("bob".into())],
        ]
    );
    // An UPDATE is normalised the same way; one the trigger skips is
    // neither written nor counted.
    run(&mut s, "UPDATE people SET owner = 'CAROL' WHERE id = 3").unwrap();
    let r = run(&mut s, "UPDATE people SET owner = '' WHERE id = 1").unwrap();
    assert_eq!(
        r,
        rustydb::engine::sql::StatementResult::Command("UPDATE 0".into())
    );
    assert_eq!(
        rows(&mut s, "SELECT owner FROM people ORDER BY id"),
        vec![
            vec![Value::Text("alice".into())],
            vec![Value::Text("carol".into())]
        ]
    );
}

#[test]
fn constraints_are_checked_after_before_triggers() {
    let t = open(limits());
    let mut s = t.db.session();
    s.execute("CREATE TABLE tagged (id int PRIMARY KEY, tag text CHECK (tag = lower(tag)), balance bigint)")
        .unwrap();
    deploy(&mut s, "guard", "guard", false);
    run(
        &mut s,
        "CREATE TRIGGER tagged_guard BEFORE INSERT ON tagged FOR EACH ROW \
         EXECUTE FUNCTION guard.guard_row('balance', 'tag')",
    )
    .unwrap();
    // The CHECK would refuse 'ABC'; the trigger lower-cases it first.
    run(&mut s, "INSERT INTO tagged VALUES (1, 'ABC', 0)").unwrap();
    assert_eq!(
        rows(&mut s, "SELECT tag FROM tagged"),
        vec![vec![Value::Text("abc".into())]]
    );
}

#[test]
fn rejecting_the_third_of_five_rows_rolls_back_the_whole_statement() {
    let t = open(limits());
    let mut s = t.db.session();
    guarded(&mut s);
    audited(&mut s);
    run(
        &mut s,
        "CREATE TRIGGER people_audit AFTER INSERT ON people FOR EACH ROW \
         EXECUTE FUNCTION audit.audit_row()",
    )
    .unwrap();
    let err = run(
        &mut s,
        "INSERT INTO people VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', -3), (4, 'd', 4), (5, 'e', 5)",
    )
    .unwrap_err();
    assert_eq!(err.sqlstate().code(), "P0001");
    assert_eq!(err.to_string(), "balance must not be negative");
    assert_eq!(count(&mut s, "SELECT count(*) FROM people"), 0);
    assert!(log(&mut s).is_empty());
    // Inside a block the statement fails the block, and the rows before it
    // survive a rollback to a savepoint taken before it.
    s.execute("BEGIN; INSERT INTO people VALUES (9, 'z', 9); SAVEPOINT sp;")
        .unwrap();
    assert_eq!(
        sqlstate(
            &mut s,
            "INSERT INTO people VALUES (10, 'y', 1), (11, 'x', -1)"
        ),
        "P0001"
    );
    s.execute("ROLLBACK TO SAVEPOINT sp; COMMIT;").unwrap();
    assert_eq!(count(&mut s, "SELECT count(*) FROM people"), 1);
    assert_eq!(log(&mut s), vec![line("people", "INSERT", "-", "(9,z,9)")]);
}

#[test]
fn triggers_fire_in_name_order() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    for name in ["c_third", "a_first", "b_second"] {
        run(
            &mut s,
            &format!(
                "CREATE TRIGGER {name} AFTER INSERT ON accounts FOR EACH ROW \
                 EXECUTE FUNCTION audit.audit_row('{name}')"
            ),
        )
        .unwrap();
    }
    run(&mut s, "INSERT INTO accounts VALUES (3, 3), (4, 4)").unwrap();
    let order: Vec<String> = log(&mut s).into_iter().map(|l| l[0].clone()).collect();
    assert_eq!(
        order,
        [
            "a_first", "b_second", "c_third", "a_first", "b_second", "c_third"
        ]
    );
}

#[test]
fn a_trigger_cascade_past_the_depth_limit_is_54001_and_undoes_everything() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    // Every line the trigger writes fires it again.
    run(
        &mut s,
        "CREATE TRIGGER echo AFTER INSERT ON audit_log FOR EACH ROW \
         EXECUTE FUNCTION audit.audit_row()",
    )
    .unwrap();
    let err = run(
        &mut s,
        "INSERT INTO audit_log (tbl, op) VALUES ('seed', 'INSERT')",
    )
    .unwrap_err();
    assert_eq!(err.sqlstate().code(), "54001");
    assert_eq!(count(&mut s, "SELECT count(*) FROM audit_log"), 0);
    // The session goes on; a disabled trigger no longer fires.
    run(&mut s, "ALTER TABLE audit_log DISABLE TRIGGER echo").unwrap();
    run(
        &mut s,
        "INSERT INTO audit_log (tbl, op) VALUES ('seed', 'INSERT')",
    )
    .unwrap();
    assert_eq!(count(&mut s, "SELECT count(*) FROM audit_log"), 1);
}

#[test]
fn copy_on_conflict_and_wasm_procedures_fire_triggers() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    run(
        &mut s,
        "CREATE TRIGGER accounts_audit AFTER INSERT OR UPDATE ON accounts \
         FOR EACH ROW EXECUTE FUNCTION audit.audit_row()",
    )
    .unwrap();

    // COPY FROM STDIN: one INSERT event per row.
    let target = match run(&mut s, "COPY accounts FROM STDIN").unwrap() {
        rustydb::engine::sql::StatementResult::CopyIn(target) => target,
        other => panic!("{other:?}"),
    };
    let copied = s
        .copy_in(&target, vec![vec![Value::Int8(5), Value::Int8(55)]])
        .unwrap();
    assert_eq!(copied, 1);

    // ON CONFLICT DO UPDATE: an UPDATE for the row that existed, an INSERT
    // for the one that did not.
    run(
        &mut s,
        "INSERT INTO accounts VALUES (1, 1), (6, 66) \
         ON CONFLICT (id) DO UPDATE SET balance = excluded.balance",
    )
    .unwrap();

    // DML a Wasm procedure runs: the transfer's two UPDATEs.
    run(&mut s, "CALL bank.transfer(1, 2, 1)").unwrap();
    assert_eq!(
        log(&mut s),
        vec![
            line("accounts", "INSERT", "-", "(5,55)"),
            line("accounts", "UPDATE", "(1,100)", "(1,1)"),
            line("accounts", "INSERT", "-", "(6,66)"),
            line("accounts", "UPDATE", "(1,1)", "(1,0)"),
            line("accounts", "UPDATE", "(2,50)", "(2,51)"),
        ]
    );
}

#[test]
fn writing_ctes_fire_the_triggers_of_the_tables_they_change() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    run(
        &mut s,
        "CREATE TRIGGER accounts_audit AFTER INSERT OR UPDATE OR DELETE ON accounts \
         FOR EACH ROW EXECUTE FUNCTION audit.audit_row()",
    )
    .unwrap();
    run(
        &mut s,
        "WITH gone AS (DELETE FROM accounts WHERE id = 2 RETURNING id, balance) \
         INSERT INTO accounts SELECT id + 10, balance FROM gone",
    )
    .unwrap();
    run(
        &mut s,
        "WITH paid AS (UPDATE accounts SET balance = 0 WHERE id = 1 RETURNING id) \
         SELECT count(*) FROM paid",
    )
    .unwrap();
    assert_eq!(
        log(&mut s),
        vec![
            line("accounts", "DELETE", "(2,50)", "-"),
            line("accounts", "INSERT", "-", "(12,50)"),
            line("accounts", "UPDATE", "(1,100)", "(1,0)"),
        ]
    );
}

#[test]
fn statement_triggers_read_transition_tables() {
    let t = open(limits());
    let mut s = t.db.session();
    s.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, amount bigint);
         CREATE TABLE totals (tbl text PRIMARY KEY, n bigint, amount bigint);",
    )
    .unwrap();
    deploy(&mut s, "counters", "counters", false);
    run(
        &mut s,
        "CREATE TRIGGER orders_added AFTER INSERT ON orders REFERENCING NEW TABLE AS added \
         FOR EACH STATEMENT EXECUTE FUNCTION counters.tally('added', '+')",
    )
    .unwrap();
    run(
        &mut s,
        "CREATE TRIGGER orders_removed AFTER DELETE ON orders REFERENCING OLD TABLE AS removed \
         FOR EACH STATEMENT EXECUTE FUNCTION counters.tally('removed', '-')",
    )
    .unwrap();
    // More rows than one cursor batch.
    run(
        &mut s,
        "INSERT INTO orders SELECT g, g FROM generate_series(1, 1000) AS g",
    )
    .unwrap();
    run(&mut s, "DELETE FROM orders WHERE id <= 10").unwrap();
    assert_eq!(
        rows(&mut s, "SELECT tbl, n, amount FROM totals"),
        vec![vec![
            Value::Text("orders".into()),
            Value::Int8(990),
            Value::Int8(500_500 - 55),
        ]]
    );
    // The transition tables exist only while the trigger runs.
    assert_eq!(sqlstate(&mut s, "SELECT * FROM added"), "42P01");
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE TRIGGER x BEFORE INSERT ON orders REFERENCING NEW TABLE AS n \
             FOR EACH STATEMENT EXECUTE FUNCTION counters.tally('n')"
        ),
        "42P17"
    );
}

#[test]
fn trigger_ddl_follows_postgres() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    let create = "CREATE TRIGGER a AFTER INSERT ON accounts FOR EACH ROW \
                  EXECUTE FUNCTION audit.audit_row('one')";
    run(&mut s, create).unwrap();
    assert_eq!(sqlstate(&mut s, create), "42710");
    run(
        &mut s,
        "CREATE OR REPLACE TRIGGER a AFTER INSERT ON accounts FOR EACH ROW \
         EXECUTE FUNCTION audit.audit_row('two')",
    )
    .unwrap();
    run(&mut s, "INSERT INTO accounts VALUES (3, 3)").unwrap();
    assert_eq!(log(&mut s)[0][0], "two");

    let errors = [
        (
            "CREATE TRIGGER b AFTER INSERT ON nowhere FOR EACH ROW EXECUTE FUNCTION audit.audit_row()",
            "42P01",
        ),
        (
            "CREATE TRIGGER b AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION audit.nope()",
            "42883",
        ),
        (
            "CREATE TRIGGER b AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION bank.transfer()",
            "42P17",
        ),
        (
            "CREATE TRIGGER b INSTEAD OF INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION audit.audit_row()",
            "42809",
        ),
        ("DROP TRIGGER nope ON accounts", "42704"),
        ("ALTER TABLE accounts ENABLE TRIGGER nope", "42704"),
    ];
    for (sql, state) in errors {
        assert_eq!(sqlstate(&mut s, sql), state, "{sql}");
    }
    run(&mut s, "DROP TRIGGER IF EXISTS nope ON accounts").unwrap();

    // DISABLE / ENABLE ALL, and DROP.
    run(&mut s, "ALTER TABLE accounts DISABLE TRIGGER ALL").unwrap();
    run(&mut s, "INSERT INTO accounts VALUES (4, 4)").unwrap();
    assert_eq!(log(&mut s).len(), 1);
    run(&mut s, "ALTER TABLE accounts ENABLE TRIGGER ALL").unwrap();
    run(&mut s, "INSERT INTO accounts VALUES (5, 5)").unwrap();
    assert_eq!(log(&mut s).len(), 2);
    run(&mut s, "DROP TRIGGER a ON accounts").unwrap();
    run(&mut s, "INSERT INTO accounts VALUES (6, 6)").unwrap();
    assert_eq!(log(&mut s).len(), 2);

    // DDL is transactional: a rolled-back CREATE TRIGGER leaves nothing.
    s.execute(&format!("BEGIN; {create}; ROLLBACK;")).unwrap();
    run(&mut s, "INSERT INTO accounts VALUES (7, 7)").unwrap();
    assert_eq!(log(&mut s).len(), 2);
}
