//! `set_config()` in the statements the DML hooks run and in CALL's
//! arguments: as in a SELECT, the session keeps the change when the
//! statement succeeds.

use rustydb::engine::types::Value;

use super::super::wasm_support::{deploy, limits, open, rows, run};

fn settings(s: &mut rustydb::engine::sql::Session) -> Vec<Value> {
    rows(
        s,
        "SELECT current_setting('app.note'), current_setting('app.rounds', true)",
    )
    .remove(0)
}

#[test]
fn set_config_in_a_write_or_a_call_argument_reaches_the_session() {
    let t = open(limits());
    let mut s = t.db.session();
    deploy(&mut s, "hostile", "hostile", false);
    s.execute("CREATE TABLE notes (v text)").unwrap();
    run(
        &mut s,
        "INSERT INTO notes VALUES (set_config('app.note', 'written', false))",
    )
    .unwrap();
    run(
        &mut s,
        "CALL hostile.busy(set_config('app.rounds', '10', false)::bigint)",
    )
    .unwrap();
    assert_eq!(
        settings(&mut s),
        [Value::Text("written".into()), Value::Text("10".into())]
    );
    // A write that fails keeps nothing of its set_config calls.
    let err = run(
        &mut s,
        "INSERT INTO notes VALUES (set_config('app.note', 'lost', false)), ((1 / 0)::text)",
    )
    .unwrap_err();
    assert_eq!(err.sqlstate().code(), "22012", "{err}");
    assert_eq!(settings(&mut s)[0], Value::Text("written".into()));
}
