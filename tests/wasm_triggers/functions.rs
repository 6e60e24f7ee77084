//! Trigger functions bound with `CREATE FUNCTION … RETURNS trigger`, and
//! what dropping a function (or its module) does to the triggers using it.

use rustydb::engine::sql::Session;

use super::super::wasm_support::{bank, limits, open, run, sqlstate};
use super::{audited, line, log};

/// `audit_row()` bound by name in `public`, and a trigger calling it.
fn bound(s: &mut Session) {
    audited(s);
    run(
        s,
        "CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE wasm AS 'audit', 'audit_row'",
    )
    .unwrap();
    run(
        s,
        "CREATE TRIGGER accounts_audit AFTER INSERT OR DELETE ON accounts \
         FOR EACH ROW EXECUTE FUNCTION audit_row('bound')",
    )
    .unwrap();
}

#[test]
fn a_create_function_returns_trigger_function_runs_as_a_trigger() {
    let t = open(limits());
    let mut s = bank(&t.db);
    bound(&mut s);
    // Schema-qualified, the same function.
    run(
        &mut s,
        "CREATE TRIGGER accounts_audit2 AFTER INSERT ON accounts \
         FOR EACH ROW EXECUTE FUNCTION public.audit_row('qualified')",
    )
    .unwrap();
    run(&mut s, "INSERT INTO accounts VALUES (3, 7)").unwrap();
    run(&mut s, "DELETE FROM accounts WHERE id = 3").unwrap();
    assert_eq!(
        log(&mut s),
        vec![
            line("bound", "INSERT", "-", "(3,7)"),
            line("qualified", "INSERT", "-", "(3,7)"),
            line("bound", "DELETE", "(3,7)", "-"),
        ]
    );
}

#[test]
fn execute_function_must_name_an_existing_trigger_function() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    run(
        &mut s,
        "CREATE FUNCTION interest(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'bank', 'interest'",
    )
    .unwrap();
    let cases = [
        // Unqualified names are looked up in public (the search path).
        ("EXECUTE FUNCTION audit_row()", "42883"),
        ("EXECUTE FUNCTION nope.audit_row()", "42883"),
        // PostgreSQL: "function interest must return type trigger".
        ("EXECUTE FUNCTION interest()", "42P17"),
        ("EXECUTE FUNCTION bank.interest()", "42P17"),
    ];
    for (tail, state) in cases {
        let sql = format!("CREATE TRIGGER t AFTER INSERT ON accounts FOR EACH ROW {tail}");
        assert_eq!(sqlstate(&mut s, &sql), state, "{sql}");
    }
    let err = run(
        &mut s,
        "CREATE TRIGGER t AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION interest()",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "function interest must return type trigger"
    );
}

#[test]
fn dropping_a_function_a_trigger_uses_needs_cascade() {
    let t = open(limits());
    let mut s = bank(&t.db);
    bound(&mut s);
    let err = run(&mut s, "DROP FUNCTION audit_row()").unwrap_err();
    assert_eq!(err.sqlstate().code(), "2BP01");
    assert_eq!(
        err.to_string(),
        "cannot drop function audit_row() because other objects depend on it"
    );
    // The trigger still fires.
    run(&mut s, "INSERT INTO accounts VALUES (3, 3)").unwrap();
    assert_eq!(log(&mut s).len(), 1);

    // CASCADE drops the trigger with the function, and says so.
    let results = s.execute("DROP FUNCTION audit_row() CASCADE").unwrap();
    assert_eq!(
        results,
        vec![rustydb::engine::sql::StatementResult::Command(
            "DROP FUNCTION".into()
        )]
    );
    let notices: Vec<String> = s.take_notices().into_iter().map(|n| n.message).collect();
    assert_eq!(
        notices,
        vec!["drop cascades to trigger accounts_audit on table accounts".to_owned()]
    );
    run(&mut s, "INSERT INTO accounts VALUES (4, 4)").unwrap();
    assert_eq!(log(&mut s).len(), 1);
    assert_eq!(
        sqlstate(&mut s, "DROP TRIGGER accounts_audit ON accounts"),
        "42704"
    );
}

#[test]
fn dropping_a_module_whose_trigger_functions_are_used_needs_cascade() {
    let t = open(limits());
    let mut s = bank(&t.db);
    audited(&mut s);
    run(
        &mut s,
        "CREATE TRIGGER accounts_audit AFTER INSERT ON accounts \
         FOR EACH ROW EXECUTE FUNCTION audit.audit_row()",
    )
    .unwrap();
    assert_eq!(sqlstate(&mut s, "DROP MODULE audit"), "2BP01");
    run(&mut s, "INSERT INTO accounts VALUES (3, 3)").unwrap();
    assert_eq!(log(&mut s).len(), 1);
    run(&mut s, "DROP MODULE audit CASCADE").unwrap();
    // Without its trigger the table takes rows again.
    run(&mut s, "INSERT INTO accounts VALUES (4, 4)").unwrap();
    assert_eq!(log(&mut s).len(), 1);
}
