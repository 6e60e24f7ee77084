//! AFTER ROW events in batches (`trigger-rows`): the events a statement
//! queued for one trigger cross into the guest in few calls, and each row
//! is still its own run of the function, in order.

use rustydb::engine::types::Value;

use super::super::wasm_support::{TestDb, bank, deploy, limits, open, rows, run};
use super::{audited, count, line, log};

/// Calls into `audit_row` so far: a batch is one call.
fn audit_calls(t: &TestDb) -> u64 {
    t.invoker
        .all_stats()
        .into_iter()
        .find(|(_, routine, _)| routine == "audit_row")
        .map_or(0, |(_, _, stats)| stats.calls)
}

fn audit_inserts(s: &mut rustydb::engine::sql::Session) {
    run(
        s,
        "CREATE TRIGGER accounts_audit AFTER INSERT ON accounts FOR EACH ROW \
         EXECUTE FUNCTION audit.audit_row()",
    )
    .unwrap();
}

#[test]
fn queued_rows_reach_the_function_in_order_in_few_calls() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    audit_inserts(&mut s);
    run(
        &mut s,
        "INSERT INTO accounts SELECT g, 10 * g FROM generate_series(3, 602) AS g",
    )
    .unwrap();
    let expected: Vec<_> = (3..=602)
        .map(|i| line("accounts", "INSERT", "-", &format!("({i},{})", 10 * i)))
        .collect();
    assert_eq!(log(&mut s), expected);
    // The first event opens the statement's instance; the other 599 cross
    // in batches of at most 256.
    assert_eq!(audit_calls(&t), 4);
}

#[test]
fn each_row_of_a_batch_sees_its_own_old_and_new() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    run(
        &mut s,
        "INSERT INTO accounts VALUES (3, 30), (4, 40), (5, 50)",
    )
    .unwrap();
    run(
        &mut s,
        "CREATE TRIGGER accounts_audit AFTER UPDATE OR DELETE ON accounts FOR EACH ROW \
         EXECUTE FUNCTION audit.audit_row()",
    )
    .unwrap();
    run(&mut s, "UPDATE accounts SET balance = balance + id").unwrap();
    run(&mut s, "DELETE FROM accounts WHERE id >= 4").unwrap();
    assert_eq!(
        log(&mut s),
        vec![
            line("accounts", "UPDATE", "(1,100)", "(1,101)"),
            line("accounts", "UPDATE", "(2,50)", "(2,52)"),
            line("accounts", "UPDATE", "(3,30)", "(3,33)"),
            line("accounts", "UPDATE", "(4,40)", "(4,44)"),
            line("accounts", "UPDATE", "(5,50)", "(5,55)"),
            line("accounts", "DELETE", "(4,44)", "-"),
            line("accounts", "DELETE", "(5,55)", "-"),
        ]
    );
}

#[test]
fn an_error_in_the_third_of_five_rows_rolls_back_the_whole_statement() {
    let t = open(limits());
    let mut s = bank(&t.db);
    // The log refuses the third row's line, so the trigger's INSERT for it
    // fails inside the batch, after the first two rows were logged.
    s.execute(
        "CREATE TABLE audit_log (id serial, tbl text, op text, old_row text, \
         new_row text CHECK (new_row <> '(5,50)'))",
    )
    .unwrap();
    deploy(&mut s, "audit", "audit", false);
    audit_inserts(&mut s);
    let err = run(
        &mut s,
        "INSERT INTO accounts VALUES (3, 30), (4, 40), (5, 50), (6, 60), (7, 70)",
    )
    .unwrap_err();
    assert_eq!(err.sqlstate().code(), "23514");
    // The first event opened the instance alone; (5,50) was the second
    // row of the batch that carried the other four, which names it.
    assert!(
        err.to_string().contains("row 2 of 4 of the batch: "),
        "{err}"
    );
    assert_eq!(count(&mut s, "SELECT count(*) FROM accounts"), 2);
    assert!(log(&mut s).is_empty());
    // The same rows without the refused one go through, all logged.
    run(
        &mut s,
        "INSERT INTO accounts VALUES (3, 30), (4, 40), (6, 60), (7, 70)",
    )
    .unwrap();
    assert_eq!(log(&mut s).len(), 4);
}

#[test]
fn the_logs_own_triggers_fire_once_per_row_of_a_batch() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    audit_inserts(&mut s);
    s.execute("CREATE TABLE totals (tbl text PRIMARY KEY, n bigint, amount bigint)")
        .unwrap();
    deploy(&mut s, "counters", "counters", false);
    run(
        &mut s,
        "CREATE TRIGGER log_counted AFTER INSERT ON audit_log REFERENCING NEW TABLE AS added \
         FOR EACH STATEMENT EXECUTE FUNCTION counters.tally('added', '+')",
    )
    .unwrap();
    run(
        &mut s,
        "INSERT INTO accounts SELECT g, g FROM generate_series(3, 602) AS g",
    )
    .unwrap();
    // The audit function logged the 600 rows in 4 calls (1 + 256 + 256 +
    // 87), but each logged row was an INSERT of its own to audit_log's
    // statement trigger, as it is when the function runs row by row.
    assert_eq!(audit_calls(&t), 4);
    let tally_calls = t
        .invoker
        .all_stats()
        .into_iter()
        .find(|(_, routine, _)| routine == "tally")
        .map_or(0, |(_, _, stats)| stats.calls);
    assert_eq!(tally_calls, 600);
    assert_eq!(
        count(&mut s, "SELECT n FROM totals WHERE tbl = 'audit_log'"),
        600
    );
}

#[test]
fn two_after_triggers_still_alternate_row_by_row() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    for name in ["b_second", "a_first"] {
        run(
            &mut s,
            &format!(
                "CREATE TRIGGER {name} AFTER INSERT ON accounts FOR EACH ROW \
                 EXECUTE FUNCTION audit.audit_row('{name}')"
            ),
        )
        .unwrap();
    }
    run(&mut s, "INSERT INTO accounts VALUES (3, 30), (4, 40)").unwrap();
    // PostgreSQL's order: row by row, each row's triggers by name.
    assert_eq!(
        rows(&mut s, "SELECT tbl, new_row FROM audit_log ORDER BY id"),
        [
            ["a_first", "(3,30)"],
            ["b_second", "(3,30)"],
            ["a_first", "(4,40)"],
            ["b_second", "(4,40)"],
        ]
        .map(|r| r.map(|v| Value::Text(v.into())).to_vec())
    );
}
