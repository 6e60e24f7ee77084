//! The JavaScript `ledger` module (`sdk-examples/js/ledger`): its triggers
//! fired by SQL writes and its scalar function, each beside the Rust
//! example it ports.

use super::{deploy_bytes, deploy_handle, int8_rows, interest, outcome};
use crate::languages_support;
use crate::wasm_support::{self, limits, open, rows};
use rustydb::engine::types::Value;

/// Runs `statements` in order and records what a user sees of each, then
/// the rows of `check` after each one.
fn play(s: &mut rustydb::engine::sql::Session, statements: &[&str], check: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for sql in statements {
        seen.push(format!("{sql} -> {:?}", outcome(s, sql)));
        seen.push(format!("{check} -> {:?}", outcome(s, check)));
    }
    seen
}

/// The `audit` scenario against a module deployed as `audit`: every
/// operation, row and statement level, values of every type in record text,
/// and a failing log insert that aborts the write.
fn audit_scenario(module: &[u8]) -> Vec<String> {
    let t = open(limits());
    let mut s = t.db.session();
    s.execute(
        "CREATE TABLE audit_log (id serial, tbl text, op text, old_row text, new_row text);
         CREATE TABLE things (id int PRIMARY KEY, s smallint, b bigint, r real,
             d double precision, n numeric, flag boolean, t text, raw bytea,
             day date, at timestamp, atz timestamptz, span interval, doc jsonb);",
    )
    .unwrap();
    deploy_bytes(&mut s, "audit", module);
    play(
        &mut s,
        &[
            "CREATE TRIGGER things_audit AFTER INSERT OR UPDATE OR DELETE ON things \
             FOR EACH ROW EXECUTE FUNCTION audit.audit_row('stuff')",
            "CREATE TRIGGER things_truncated BEFORE TRUNCATE ON things \
             FOR EACH STATEMENT EXECUTE FUNCTION audit.audit_row()",
            "INSERT INTO things VALUES (1, -3, 9000000000, 0.1, 1e21, -12.50, true, \
             'a b', '\\x00ff', '2024-02-29', '2000-01-01 00:00:01', \
             '1999-12-31 23:59:59+00', '1 mon 2 days 00:00:03', '{\"k\": [1, 2]}')",
            "INSERT INTO things (id, r, d, t) VALUES (2, 3.4028235e38, 1.5e-7, ''), \
             (3, '-0', '-Infinity', 'say \"hi\"'), (4, 'NaN', 123456789.125, 'x,y(z)\\\\')",
            "INSERT INTO things (id) VALUES (5)",
            "UPDATE things SET t = 'plain', d = -0.0 WHERE id = 2",
            "DELETE FROM things WHERE id = 3",
            "TRUNCATE things",
            "DROP TABLE audit_log",
            "INSERT INTO things (id) VALUES (6)",
            "SELECT count(*) FROM things",
        ],
        "SELECT tbl, op, old_row, new_row FROM audit_log ORDER BY id",
    )
}

#[test]
fn js_audit_row_logs_every_write_exactly_as_the_rust_audit_does() {
    let js = audit_scenario(languages_support::js_ledger());
    let rust = audit_scenario(&wasm_support::component("audit"));
    assert_eq!(js, rust);
    let all = js.join("\n");
    // The scenario reached every operation and the failing insert.
    for op in ["INSERT", "UPDATE", "DELETE", "TRUNCATE", "42P01"] {
        assert!(all.contains(op), "no {op} in {js:#?}");
    }
    assert!(all.contains("(5,,,,,,,,,,,,,)"), "{js:#?}");
}

/// The `guard` scenario against a module deployed as `guard`: refused,
/// normalised and skipped rows, as an INSERT and an UPDATE see them.
fn guard_scenario(module: &[u8]) -> Vec<String> {
    let t = open(limits());
    let mut s = t.db.session();
    s.execute(
        "CREATE TABLE people (id int PRIMARY KEY, owner text NOT NULL, balance bigint);
         CREATE TABLE prices (id int PRIMARY KEY, label text, amount numeric, weight real);",
    )
    .unwrap();
    deploy_bytes(&mut s, "guard", module);
    let mut seen = play(
        &mut s,
        &[
            "CREATE TRIGGER people_guard BEFORE INSERT OR UPDATE ON people FOR EACH ROW \
             EXECUTE FUNCTION guard.guard_row('balance', 'owner')",
            "INSERT INTO people VALUES (1, '  Alice ', 10), (2, '   ', 20), (3, 'bob', 30)",
            "INSERT INTO people VALUES (4, 'dan', -1)",
            "UPDATE people SET owner = 'CAROL' WHERE id = 3",
            "UPDATE people SET owner = '' WHERE id = 1",
            "UPDATE people SET balance = balance - 20",
            // NEL and NBSP are Unicode white space, U+FEFF is not (only a
            // trailing one here: componentize-js drops a leading U+FEFF of
            // every string it receives); a Σ ending a word lowers to ς.
            "INSERT INTO people VALUES (5, E'\\u0085\\u00a0ΟΔΥΣΣΕΥΣ ΣΑΣ\\u3000', 0), \
             (6, E'Eve\\ufeff', 1)",
        ],
        "SELECT id, owner, balance FROM people ORDER BY id",
    );
    seen.extend(play(
        &mut s,
        &[
            "CREATE TRIGGER prices_guard BEFORE INSERT ON prices FOR EACH ROW \
             EXECUTE FUNCTION guard.guard_row('amount', 'label')",
            "CREATE TRIGGER prices_weight BEFORE UPDATE ON prices FOR EACH ROW \
             EXECUTE FUNCTION guard.guard_row('weight')",
            "INSERT INTO prices VALUES (1, ' Tea ', 2.50, 1), (2, NULL, 0, -1)",
            "INSERT INTO prices VALUES (3, 'x', -0.01, 1)",
            "UPDATE prices SET weight = -0.5 WHERE id = 1",
            "UPDATE prices SET weight = 0.5, label = ' Kept '",
        ],
        "SELECT id, label, amount, weight FROM prices ORDER BY id",
    ));
    seen
}

#[test]
fn js_guard_row_refuses_normalises_and_skips_exactly_as_the_rust_guard_does() {
    let js = guard_scenario(languages_support::js_ledger());
    let rust = guard_scenario(&wasm_support::component("guard"));
    assert_eq!(js, rust);
    let all = js.join("\n");
    assert!(all.contains("INSERT 0 2"), "{js:#?}");
    assert!(all.contains("P0001"), "{js:#?}");
    assert!(
        all.contains("people_guard rejected a row of people"),
        "{js:#?}"
    );
    assert!(all.contains("Text(\\\"alice\\\")"), "{js:#?}");
    assert!(all.contains("οδυσσευς σας"), "{js:#?}");
}

#[test]
fn js_interest_answers_exactly_as_the_rust_interest_does() {
    let t = open(limits());
    let js = deploy_handle(&t, "ledger", languages_support::js_ledger());
    let rust = deploy_handle(&t, "bank", &wasm_support::component("bank"));
    let mut nulls = int8_rows(&[(7, 7)]);
    nulls.push(vec![Value::Null, Value::Int8(3)]);
    let batches = [
        int8_rows(&[(10_000, 250), (-12_345, 175), (1, 1), (0, 9_999)]),
        int8_rows(&[(i64::MAX / 2, 1), (999_999_999, 10_000), (i64::MIN, 1)]),
        int8_rows(&[(5, 5), (i64::MAX, 2)]),
        nulls,
        Vec::new(),
    ];
    for batch in &batches {
        assert_eq!(
            interest(&t, &js, batch),
            interest(&t, &rust, batch),
            "{batch:?}"
        );
    }
    assert_eq!(
        interest(&t, &js, &batches[0]),
        Ok(vec![
            Value::Int8(250),
            Value::Int8(-216),
            Value::Int8(0),
            Value::Int8(0)
        ])
    );
    assert_eq!(interest(&t, &js, &batches[2]).unwrap_err().0, "22003");
    assert_eq!(interest(&t, &js, &batches[3]).unwrap()[1], Value::Null);
}

#[test]
fn a_js_module_describes_its_triggers_and_scalar_function() {
    let t = open(limits());
    let mut s = t.db.session();
    deploy_bytes(&mut s, "ledger", languages_support::js_ledger());
    let modules = rows(&mut s, "SELECT name, exports FROM rustydb_modules");
    assert_eq!(modules.len(), 1, "{modules:?}");
    let exports = modules[0][1].to_pg_text().unwrap_or_default();
    for name in ["audit_row", "guard_row", "interest"] {
        assert!(exports.contains(name), "{exports}");
    }
}
