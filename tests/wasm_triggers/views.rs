//! INSTEAD OF triggers: how a view takes INSERT, UPDATE and DELETE.

use rustydb::engine::sql::{Session, StatementResult};
use rustydb::engine::types::Value;

use super::super::wasm_support::{deploy, limits, open, rows, run, sqlstate};
use super::{audited, count, line, log};

/// A view `v` over `src` (rows 1 ann 10, 2 bob 20), and the `guard` and
/// `audit` modules.
fn view(s: &mut Session) {
    s.execute(
        "CREATE TABLE src (id int PRIMARY KEY, owner text, balance bigint);
         INSERT INTO src VALUES (1, 'ann', 10), (2, 'bob', 20);
         CREATE VIEW v AS SELECT id, owner, balance FROM src;",
    )
    .unwrap();
    audited(s);
    deploy(s, "guard", "guard", false);
}

/// INSTEAD OF triggers on `v` for `ops`: first `guard` (normalises the
/// owner, skips a blank one, refuses a negative balance), then `audit`,
/// which writes the row it is given to the log, as the view's write.
fn instead_of(s: &mut Session, ops: &str) {
    run(
        s,
        &format!(
            "CREATE TRIGGER a_guard INSTEAD OF {ops} ON v FOR EACH ROW \
             EXECUTE FUNCTION guard.guard_row('balance', 'owner')"
        ),
    )
    .unwrap();
    run(
        s,
        &format!(
            "CREATE TRIGGER b_audit INSTEAD OF {ops} ON v FOR EACH ROW \
             EXECUTE FUNCTION audit.audit_row('v')"
        ),
    )
    .unwrap();
}

fn returned(r: StatementResult) -> (Vec<Vec<Value>>, String) {
    match r {
        StatementResult::Rows { rows, tag, .. } => (rows, tag),
        other => panic!("no rows: {other:?}"),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[test]
fn a_view_without_an_instead_of_trigger_refuses_writes() {
    let t = open(limits());
    let mut s = t.db.session();
    view(&mut s);
    for (sql, message) in [
        (
            "INSERT INTO v VALUES (3, 'c', 3)",
            "cannot insert into view \"v\"",
        ),
        ("UPDATE v SET balance = 0", "cannot update view \"v\""),
        ("DELETE FROM v", "cannot delete from view \"v\""),
    ] {
        let err = run(&mut s, sql).unwrap_err();
        assert_eq!(err.sqlstate().code(), "55000", "{sql}");
        assert_eq!(err.to_string(), message);
    }
    // A trigger for INSERT only makes the view take INSERTs only.
    instead_of(&mut s, "INSERT");
    run(&mut s, "INSERT INTO v VALUES (3, 'c', 3)").unwrap();
    assert_eq!(sqlstate(&mut s, "UPDATE v SET balance = 0"), "55000");
    assert_eq!(count(&mut s, "SELECT count(*) FROM src"), 2);
}

#[test]
fn instead_of_triggers_do_the_inserts_and_count_what_they_did_not_skip() {
    let t = open(limits());
    let mut s = t.db.session();
    view(&mut s);
    instead_of(&mut s, "INSERT OR UPDATE OR DELETE");
    // The blank owner is skipped; RETURNING shows the row as the trigger
    // chain returned it (guard lower-cased it).
    let (out, tag) = returned(
        run(
            &mut s,
            "INSERT INTO v (owner, id, balance) VALUES (' Cid ', 3, 30), ('  ', 4, 40) \
             RETURNING id, owner",
        )
        .unwrap(),
    );
    assert_eq!(tag, "INSERT 0 1");
    assert_eq!(out, vec![vec![Value::Int4(3), text("cid")]]);
    // Columns left out are NULL: a view has no defaults.
    run(&mut s, "INSERT INTO v (id) VALUES (5)").unwrap();
    assert_eq!(
        log(&mut s),
        vec![
            line("v", "INSERT", "-", "(3,cid,30)"),
            line("v", "INSERT", "-", "(5,,)"),
        ]
    );
    // The writes went where the triggers put them: not into `src`.
    assert_eq!(count(&mut s, "SELECT count(*) FROM v"), 2);
}

#[test]
fn instead_of_update_and_delete_get_the_views_rows() {
    let t = open(limits());
    let mut s = t.db.session();
    view(&mut s);
    instead_of(&mut s, "UPDATE OR DELETE");
    let (out, tag) = returned(
        run(
            &mut s,
            "UPDATE v SET owner = ' BO ', balance = balance + 1 WHERE id = 2 RETURNING *",
        )
        .unwrap(),
    );
    assert_eq!(tag, "UPDATE 1");
    assert_eq!(out, vec![vec![Value::Int4(2), text("bo"), Value::Int8(21)]]);
    let r = run(&mut s, "UPDATE v SET owner = '' WHERE id = 1").unwrap();
    assert_eq!(r, StatementResult::Command("UPDATE 0".into()));
    let (out, tag) = returned(
        run(
            &mut s,
            "DELETE FROM v AS x WHERE x.balance > 5 RETURNING x.id",
        )
        .unwrap(),
    );
    assert_eq!(tag, "DELETE 2");
    let mut ids = out;
    ids.sort_by_key(|r| format!("{:?}", r[0]));
    assert_eq!(ids, vec![vec![Value::Int4(1)], vec![Value::Int4(2)]]);
    let mut logged = log(&mut s);
    logged[1..].sort();
    assert_eq!(
        logged,
        vec![
            line("v", "UPDATE", "(2,bob,20)", "(2,bo,21)"),
            line("v", "DELETE", "(1,ann,10)", "-"),
            line("v", "DELETE", "(2,bob,20)", "-"),
        ]
    );
}

#[test]
fn an_error_in_an_instead_of_trigger_undoes_the_statement() {
    let t = open(limits());
    let mut s = t.db.session();
    view(&mut s);
    instead_of(&mut s, "INSERT");
    let err = run(
        &mut s,
        "INSERT INTO v VALUES (3, 'c', 3), (4, 'd', 4), (5, 'e', -5), (6, 'f', 6), (7, 'g', 7)",
    )
    .unwrap_err();
    assert_eq!(err.sqlstate().code(), "P0001");
    assert!(log(&mut s).is_empty());
}

#[test]
fn statement_triggers_on_a_view_fire_around_its_instead_of_triggers() {
    let t = open(limits());
    let mut s = t.db.session();
    view(&mut s);
    instead_of(&mut s, "INSERT");
    run(
        &mut s,
        "CREATE TRIGGER before_v BEFORE INSERT ON v FOR EACH STATEMENT \
         EXECUTE FUNCTION audit.audit_row('before')",
    )
    .unwrap();
    run(
        &mut s,
        "CREATE TRIGGER after_v AFTER INSERT ON v FOR EACH STATEMENT \
         EXECUTE FUNCTION audit.audit_row('after')",
    )
    .unwrap();
    run(&mut s, "INSERT INTO v VALUES (3, 'c', 3), (4, 'd', 4)").unwrap();
    assert_eq!(
        log(&mut s),
        vec![
            line("before", "INSERT", "-", "-"),
            line("v", "INSERT", "-", "(3,c,3)"),
            line("v", "INSERT", "-", "(4,d,4)"),
            line("after", "INSERT", "-", "-"),
        ]
    );
}

#[test]
fn trigger_ddl_on_views_follows_postgres() {
    let t = open(limits());
    let mut s = t.db.session();
    view(&mut s);
    let f = "EXECUTE FUNCTION audit.audit_row()";
    let errors = [
        (
            format!("CREATE TRIGGER x BEFORE INSERT ON v FOR EACH ROW {f}"),
            "42809",
        ),
        (
            format!("CREATE TRIGGER x AFTER UPDATE ON v FOR EACH ROW {f}"),
            "42809",
        ),
        (
            format!("CREATE TRIGGER x INSTEAD OF INSERT ON src FOR EACH ROW {f}"),
            "42809",
        ),
        (
            format!("CREATE TRIGGER x BEFORE TRUNCATE ON v FOR EACH STATEMENT {f}"),
            "42809",
        ),
        (
            format!(
                "CREATE TRIGGER x AFTER INSERT ON v REFERENCING NEW TABLE AS n \
                 FOR EACH STATEMENT {f}"
            ),
            "42809",
        ),
        (
            format!("CREATE TRIGGER x INSTEAD OF INSERT ON v FOR EACH STATEMENT {f}"),
            "0A000",
        ),
        (
            format!("CREATE TRIGGER x INSTEAD OF INSERT ON v FOR EACH ROW WHEN (NEW.id > 0) {f}"),
            "0A000",
        ),
        (
            format!("CREATE TRIGGER x INSTEAD OF UPDATE OF owner ON v FOR EACH ROW {f}"),
            "0A000",
        ),
    ];
    for (sql, state) in &errors {
        assert_eq!(sqlstate(&mut s, sql), *state, "{sql}");
    }
    let err = run(
        &mut s,
        &format!("CREATE TRIGGER x BEFORE INSERT ON v FOR EACH ROW {f}"),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "\"v\" is a view");

    // DROP TRIGGER and ALTER … DISABLE TRIGGER work on a view's triggers.
    instead_of(&mut s, "INSERT");
    run(&mut s, "ALTER TABLE v DISABLE TRIGGER ALL").unwrap();
    assert_eq!(
        sqlstate(&mut s, "INSERT INTO v VALUES (3, 'c', 3)"),
        "55000"
    );
    run(&mut s, "ALTER TABLE v ENABLE TRIGGER ALL").unwrap();
    run(&mut s, "DROP TRIGGER a_guard ON v").unwrap();
    run(&mut s, "INSERT INTO v VALUES (3, ' C ', 3)").unwrap();
    assert_eq!(log(&mut s), vec![line("v", "INSERT", "-", "(3,\" C \",3)")]);

    // Dropping the view drops its triggers: a new view of the same name
    // has none.
    run(&mut s, "DROP VIEW v").unwrap();
    run(
        &mut s,
        "CREATE VIEW v AS SELECT id, owner, balance FROM src",
    )
    .unwrap();
    assert_eq!(
        sqlstate(&mut s, "INSERT INTO v VALUES (4, 'd', 4)"),
        "55000"
    );
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM audit_log"),
        vec![vec![Value::Int8(1)]]
    );
}
