//! The Wasm harness: the example guests built from `sdk-examples`, deployed
//! into an embedded database with SQL, and driven with SQL.
//!
//! Each test reads as a specification of what a user sees: the statements
//! they type and the rows or SQLSTATEs they get back.

#![allow(clippy::unwrap_used)]

mod wasm_functions;
mod wasm_security;
mod wasm_support;
mod wasm_triggers;

use std::time::{Duration, Instant};

use rustydb::engine::extension::NoticeLevel;
use rustydb::engine::sql::{Database, DatabaseOptions, StatementResult};
use rustydb::engine::types::Value;
use wasm_support::{balances, bank, deploy, limits, open, rows, run, sqlstate};

fn text(v: &Value) -> &str {
    match v {
        Value::Text(s) => s,
        other => panic!("not text: {other:?}"),
    }
}

fn int8(v: &Value) -> i64 {
    match v {
        Value::Int8(n) => *n,
        other => panic!("not bigint: {other:?}"),
    }
}

#[test]
fn transfer_moves_money_and_keeps_the_total() {
    let t = open(limits());
    let mut s = bank(&t.db);
    let r = run(&mut s, "CALL bank.transfer(1, 2, 30)").unwrap();
    assert_eq!(r, StatementResult::Command("CALL".into()));
    assert_eq!(balances(&mut s), vec![(1, 70), (2, 80)]);
    let total = rows(&mut s, "SELECT sum(balance) FROM accounts");
    assert_eq!(total[0][0].to_pg_text().as_deref(), Some("150"));
}

#[test]
fn insufficient_funds_is_p0001_and_leaves_both_rows_untouched() {
    let t = open(limits());
    let mut s = bank(&t.db);
    let err = run(&mut s, "CALL bank.transfer(2, 1, 51)").unwrap_err();
    assert_eq!(err.sqlstate().code(), "P0001");
    assert_eq!(err.to_string(), "insufficient funds");
    assert_eq!(balances(&mut s), vec![(1, 100), (2, 50)]);
    // The session goes on.
    run(&mut s, "CALL bank.transfer(2, 1, 50)").unwrap();
    assert_eq!(balances(&mut s), vec![(1, 150), (2, 0)]);
}

#[test]
fn a_failing_call_undoes_only_its_own_changes() {
    let t = open(limits());
    let mut s = bank(&t.db);
    // Account 9 does not exist: the guest debits 1, then fails to credit 9
    // and returns P0002; the debit goes with the CALL statement.
    assert_eq!(sqlstate(&mut s, "CALL bank.transfer(1, 9, 10)"), "P0002");
    assert_eq!(balances(&mut s), vec![(1, 100), (2, 50)]);
    // Inside a block, the statement before the CALL survives a rollback to
    // the savepoint taken before it.
    s.execute("BEGIN; UPDATE accounts SET balance = 0 WHERE id = 2; SAVEPOINT before_call;")
        .unwrap();
    assert_eq!(sqlstate(&mut s, "CALL bank.transfer(1, 9, 10)"), "P0002");
    assert_eq!(sqlstate(&mut s, "SELECT 1"), "25P02");
    s.execute("ROLLBACK TO SAVEPOINT before_call; COMMIT;")
        .unwrap();
    assert_eq!(balances(&mut s), vec![(1, 100), (2, 0)]);
}

#[test]
fn guest_sql_runs_in_the_callers_transaction() {
    let t = open(limits());
    let mut s = bank(&t.db);
    s.execute("BEGIN; INSERT INTO accounts VALUES (3, 500);")
        .unwrap();
    // The guest sees the uncommitted row and its change is part of the block.
    run(&mut s, "CALL bank.transfer(3, 1, 200)").unwrap();
    let mut other = t.db.session();
    assert_eq!(balances(&mut other), vec![(1, 100), (2, 50)]);
    s.execute("ROLLBACK").unwrap();
    assert_eq!(balances(&mut s), vec![(1, 100), (2, 50)]);
}

#[test]
fn a_procedure_returns_rows_to_call() {
    let t = open(limits());
    let mut s = bank(&t.db);
    match run(&mut s, "CALL bank.statement(1)").unwrap() {
        StatementResult::Rows { columns, rows, tag } => {
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, ["id", "balance"]);
            assert_eq!(rows, vec![vec![Value::Int8(1), Value::Int8(100)]]);
            assert_eq!(tag, "CALL");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn spin_runs_out_of_fuel_with_54000_and_the_next_call_works() {
    let t = open(limits());
    let mut s = bank(&t.db);
    deploy(&mut s, "hostile", "hostile", false);
    let started = Instant::now();
    assert_eq!(sqlstate(&mut s, "CALL hostile.spin()"), "54000");
    assert!(started.elapsed() < limits().time_per_call);
    run(&mut s, "CALL hostile.ok()").unwrap();
    run(&mut s, "CALL bank.transfer(1, 2, 1)").unwrap();
}

#[test]
fn statement_timeout_stops_a_running_guest_with_57014() {
    // Fuel and the host's own deadline far away: only statement_timeout can
    // stop `spin`, however slowly a loaded machine runs it.
    let t = open(Limits {
        fuel_per_call: u64::MAX / 2,
        time_per_call: Duration::from_secs(60),
        ..limits()
    });
    let mut s = t.db.session();
    deploy(&mut s, "hostile", "hostile", false);
    s.execute("SET statement_timeout = '50ms'").unwrap();
    for spin_or_sleep in ["CALL hostile.spin()", "CALL hostile.sleepy()"] {
        let started = Instant::now();
        assert_eq!(sqlstate(&mut s, spin_or_sleep), "57014");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{spin_or_sleep}"
        );
    }
    s.execute("SET statement_timeout = 0").unwrap();
    run(&mut s, "CALL hostile.ok()").unwrap();
}

#[test]
fn a_cancel_request_stops_a_running_guest_with_57014() {
    let t = open(Limits {
        fuel_per_call: u64::MAX / 2,
        ..limits()
    });
    let mut s = t.db.session();
    deploy(&mut s, "hostile", "hostile", false);
    let cancel = s.cancel_handle();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let started = Instant::now();
    assert_eq!(sqlstate(&mut s, "CALL hostile.spin()"), "57014");
    assert!(started.elapsed() < Duration::from_secs(3));
    canceller.join().unwrap();
    run(&mut s, "CALL hostile.ok()").unwrap();
}

use rustydb::wasm::Limits;

#[test]
fn hog_fails_at_its_memory_cap_with_53200_and_the_next_call_works() {
    let t = open(limits());
    let mut s = t.db.session();
    deploy(&mut s, "hostile", "hostile", false);
    let err = run(&mut s, "CALL hostile.hog()").unwrap_err();
    assert_eq!(err.sqlstate().code(), "53200", "{err}");
    assert!(err.to_string().contains("memory limit"), "{err}");
    run(&mut s, "CALL hostile.ok()").unwrap();
}

#[test]
fn a_trap_is_38000_and_the_next_call_works() {
    let t = open(limits());
    let mut s = t.db.session();
    deploy(&mut s, "hostile", "hostile", false);
    assert_eq!(sqlstate(&mut s, "CALL hostile.boom()"), "38000");
    assert_eq!(sqlstate(&mut s, "CALL hostile.recurse(100000000)"), "54001");
    run(&mut s, "CALL hostile.recurse(10)").unwrap();
}

#[test]
fn no_caller_sees_what_an_earlier_call_left_in_the_guest() {
    let t = open(limits());
    let mut sessions = [t.db.session(), t.db.session()];
    deploy(&mut sessions[0], "hostile", "hostile", false);
    // `remember` bumps a guest static and appends to a guest heap vector;
    // each call runs on a fresh instance, so each sees only its own write.
    for (who, note) in [(0, "a1"), (1, "b1"), (0, "a2"), (0, "a3")] {
        let sql = format!("CALL hostile.remember('{note}')");
        assert_eq!(
            rows(&mut sessions[who], &sql),
            vec![vec![Value::Int8(1), Value::Text(note.into())]]
        );
    }
}

#[test]
fn guest_output_becomes_notices() {
    let t = open(limits());
    let mut s = t.db.session();
    deploy(&mut s, "hostile", "hostile", false);
    run(&mut s, "CALL hostile.chatty(2)").unwrap();
    let notices = s.take_notices();
    let text: Vec<&str> = notices.iter().map(|n| n.message.as_str()).collect();
    // stdout arrives as NOTICE, stderr as WARNING (wasm-host/src/output.rs).
    let level_of = |needle: &str| {
        notices
            .iter()
            .find(|n| n.message.contains(needle))
            .map(|n| n.level)
    };
    assert_eq!(level_of("line 0"), Some(NoticeLevel::Notice), "{text:?}");
    assert_eq!(level_of("line 1"), Some(NoticeLevel::Notice), "{text:?}");
    assert_eq!(level_of("done"), Some(NoticeLevel::Warning), "{text:?}");
    assert!(s.take_notices().is_empty());
}

#[test]
fn a_replaced_module_serves_new_calls_while_an_old_call_finishes() {
    let t = open(Limits {
        fuel_per_call: u64::MAX / 2,
        time_per_call: Duration::from_secs(60),
        ..limits()
    });
    let mut s = t.db.session();
    deploy(&mut s, "m", "hostile", false);
    let db = t.db.clone();
    let started = Instant::now();
    let old_call = std::thread::spawn(move || {
        let mut s = db.session();
        rows(&mut s, "CALL m.busy(1500000000)")
    });
    std::thread::sleep(Duration::from_millis(200));
    // Replace `m` (the hostile guest) with the bank guest while busy runs.
    deploy(&mut s, "m", "bank", true);
    let replaced_at = started.elapsed();
    assert_eq!(sqlstate(&mut s, "CALL m.busy(1)"), "42883");
    s.execute("CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL); INSERT INTO accounts VALUES (1, 10), (2, 0);").unwrap();
    run(&mut s, "CALL m.transfer(1, 2, 10)").unwrap();
    assert!(
        !old_call.is_finished(),
        "the busy call should still run after the replace (replaced after {replaced_at:?})"
    );
    let served = old_call.join().unwrap();
    assert_eq!(text(&served[0][0]), "hostile");
    let m = rows(
        &mut s,
        "SELECT version, exports FROM rustydb_modules WHERE name = 'm'",
    );
    assert_eq!(int8(&m[0][0]), 2);
    assert_eq!(text(&m[0][1]), "transfer,statement,interest");
}

#[test]
fn module_ddl_commits_and_rolls_back_with_its_transaction() {
    let t = open(limits());
    let mut s = bank(&t.db);
    s.execute("BEGIN").unwrap();
    deploy(&mut s, "b2", "bank", false);
    run(&mut s, "CALL b2.transfer(1, 2, 1)").unwrap();
    // Another session does not see the uncommitted module.
    let mut other = t.db.session();
    assert_eq!(sqlstate(&mut other, "CALL b2.transfer(1, 2, 1)"), "42883");
    s.execute("ROLLBACK").unwrap();
    assert_eq!(sqlstate(&mut s, "CALL b2.transfer(1, 2, 1)"), "42883");
    assert_eq!(balances(&mut s), vec![(1, 100), (2, 50)]);
    let names = rows(&mut s, "SELECT name FROM rustydb_modules ORDER BY name");
    assert_eq!(names, vec![vec![Value::Text("bank".into())]]);

    s.execute("BEGIN; DROP MODULE bank; ROLLBACK;").unwrap();
    run(&mut s, "CALL bank.transfer(1, 2, 1)").unwrap();
    run(&mut s, "DROP MODULE bank").unwrap();
    assert_eq!(sqlstate(&mut s, "CALL bank.transfer(1, 2, 1)"), "42883");
    assert_eq!(sqlstate(&mut s, "DROP MODULE bank"), "42704");
    run(&mut s, "DROP MODULE IF EXISTS bank").unwrap();
}

#[test]
fn rustydb_modules_and_rustydb_stat_wasm_describe_modules_and_usage() {
    let t = open(limits());
    let mut s = bank(&t.db);
    run(&mut s, "CALL bank.transfer(1, 2, 1)").unwrap();
    assert_eq!(sqlstate(&mut s, "CALL bank.transfer(1, 2, 1000)"), "P0001");
    let m = rows(
        &mut s,
        "SELECT name, version, sha256, size, exports FROM rustydb_modules",
    );
    let bytes = wasm_support::component("bank");
    assert_eq!(text(&m[0][0]), "bank");
    assert_eq!(int8(&m[0][1]), 1);
    let handle = rustydb_wasm_host::version_handle("bank", &bytes);
    assert_eq!(Some(text(&m[0][2])), handle.split('@').nth(1));
    assert_eq!(int8(&m[0][3]), bytes.len() as i64);
    assert_eq!(text(&m[0][4]), "transfer,statement,interest");
    let stat = rows(
        &mut s,
        "SELECT calls, errors, traps, fuel > 0, time_ms > 0 FROM rustydb_stat_wasm \
         WHERE module = 'bank' AND routine = 'transfer'",
    );
    assert_eq!(
        stat,
        vec![vec![
            Value::Int8(2),
            Value::Int8(1),
            Value::Int8(0),
            Value::Bool(true),
            Value::Bool(true)
        ]]
    );
}

#[test]
fn explicit_procedures_bind_an_export_and_depend_on_their_module() {
    let t = open(limits());
    let mut s = bank(&t.db);
    run(
        &mut s,
        "CREATE PROCEDURE transfer(src bigint, dst bigint, amount bigint) \
         LANGUAGE wasm AS 'bank', 'transfer'",
    )
    .unwrap();
    run(&mut s, "CALL transfer(1, 2, 25)").unwrap();
    assert_eq!(balances(&mut s), vec![(1, 75), (2, 75)]);
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE PROCEDURE transfer(a bigint, b bigint, c bigint) LANGUAGE wasm AS 'bank', 'transfer'"
        ),
        "42723"
    );
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE PROCEDURE t2(a int) LANGUAGE wasm AS 'bank', 'transfer'"
        ),
        "42P13"
    );
    assert_eq!(
        sqlstate(
            &mut s,
            "CREATE PROCEDURE t3() LANGUAGE wasm AS 'bank', 'nope'"
        ),
        "42883"
    );
    assert_eq!(sqlstate(&mut s, "CALL transfer(1, 2)"), "42883");
    assert_eq!(sqlstate(&mut s, "DROP MODULE bank"), "2BP01");
    run(&mut s, "DROP PROCEDURE transfer").unwrap();
    assert_eq!(sqlstate(&mut s, "CALL transfer(1, 2, 25)"), "42883");
    run(&mut s, "DROP MODULE bank").unwrap();
}

#[test]
fn bad_modules_are_refused_and_leave_nothing() {
    let t = open(limits());
    let mut s = t.db.session();
    let prepared = s.prepare("CREATE MODULE evil FROM $1").unwrap();
    let forbidden = wasm_support::component("forbidden");
    let err = s
        .execute_prepared(&prepared, &[Value::Bytea(forbidden)])
        .unwrap_err();
    assert_eq!(err.sqlstate().code(), "42P17", "{err}");
    assert_eq!(
        sqlstate(&mut s, "CREATE MODULE junk FROM '\\x0061736d'"),
        "42P17"
    );
    assert!(rows(&mut s, "SELECT * FROM rustydb_modules").is_empty());
    deploy(&mut s, "bank", "bank", false);
    let again = s.prepare("CREATE MODULE bank FROM $1").unwrap();
    let err = s
        .execute_prepared(&again, &[Value::Bytea(wasm_support::component("bank"))])
        .unwrap_err();
    assert_eq!(err.sqlstate().code(), "42710");
}

#[test]
fn a_module_from_a_server_file_and_a_bytea_literal() {
    let t = open(limits());
    let mut s = t.db.session();
    let path = wasm_support::examples().join("hostile.wasm");
    run(
        &mut s,
        &format!("CREATE MODULE h1 FROM FILE '{}'", path.display()),
    )
    .unwrap();
    let hex: String = wasm_support::component("hostile")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    run(&mut s, &format!("CREATE MODULE h2 FROM '\\x{hex}'")).unwrap();
    run(&mut s, "CALL h1.ok()").unwrap();
    run(&mut s, "CALL h2.ok()").unwrap();
}

#[test]
fn without_a_routine_host_module_statements_are_0a000() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), DatabaseOptions::default()).unwrap();
    let mut s = db.session();
    assert_eq!(sqlstate(&mut s, "CREATE MODULE m FROM '\\x00'"), "0A000");
    assert_eq!(sqlstate(&mut s, "CALL m.f()"), "0A000");
    run(&mut s, "SELECT 1").unwrap();
}

#[test]
fn modules_survive_a_restart_and_load_from_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = rustydb::wasm::open_database_with_limits(
            dir.path(),
            DatabaseOptions::default(),
            limits(),
        )
        .unwrap();
        let mut s = bank(&db);
        run(&mut s, "CALL bank.transfer(1, 2, 5)").unwrap();
    }
    let db =
        rustydb::wasm::open_database_with_limits(dir.path(), DatabaseOptions::default(), limits())
            .unwrap();
    let mut s = db.session();
    run(&mut s, "CALL bank.transfer(1, 2, 5)").unwrap();
    assert_eq!(balances(&mut s), vec![(1, 90), (2, 60)]);
}

/// Stops a spawned server even when an assertion fails first.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Over the wire: `rustydb serve` has the Wasm host; a client deploys a
/// module as a bytea parameter, CALLs a procedure, receives its output as
/// NOTICEs and its rows as a result set.
#[tokio::test(flavor = "multi_thread")]
async fn call_over_the_wire_delivers_notices_and_rows() {
    use futures::StreamExt;

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_rustydb"))
            .args([
                "serve",
                "--data-dir",
                dir.path().to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .spawn()
            .unwrap(),
    );
    let conn = format!("host=127.0.0.1 port={port} user=rustydb dbname=rustydb");
    let mut connected = None;
    for _ in 0..200 {
        if let Ok(pair) = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await {
            connected = Some(pair);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (client, mut connection) = connected.expect("the server accepts connections");
    let (tx, mut notices) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let stream = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        futures::pin_mut!(stream);
        while let Some(Ok(message)) = stream.next().await {
            if let tokio_postgres::AsyncMessage::Notice(n) = message {
                let _ = tx.send((n.code().code().to_owned(), n.message().to_owned()));
            }
        }
    });

    let hostile = wasm_support::component("hostile");
    client
        .execute("CREATE MODULE hostile FROM $1", &[&hostile])
        .await
        .unwrap();
    client
        .batch_execute("CALL hostile.chatty(1)")
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Ok(Some(n)) = tokio::time::timeout(Duration::from_secs(2), notices.recv()).await {
        got.push(n);
        if got.len() == 2 {
            break;
        }
    }
    assert!(
        got.iter()
            .any(|(c, m)| c == "00000" && m.contains("line 0")),
        "{got:?}"
    );

    let result = client.simple_query("CALL hostile.busy(10)").await.unwrap();
    let row = result
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_owned)),
            _ => None,
        })
        .flatten();
    assert_eq!(row.as_deref(), Some("hostile"));

    let err = client
        .batch_execute("CALL hostile.boom()")
        .await
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "38000");
    client.batch_execute("CALL hostile.ok()").await.unwrap();
}

/// `rustydb deploy FILE --data-dir DIR` deploys into an embedded data
/// directory; `rustydb shell` on it then sees and calls the module.
#[test]
fn deploy_embedded_then_call_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let wasm = wasm_support::examples().join("hostile.wasm");
    let rustydb = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rustydb"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = rustydb(&["deploy", wasm.to_str().unwrap(), "--data-dir", data]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = rustydb(&["deploy", wasm.to_str().unwrap(), "--data-dir", data]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("42710"));
    let out = rustydb(&[
        "shell",
        "--data-dir",
        data,
        "-c",
        "CALL hostile.busy(3); SELECT name, version FROM rustydb_modules;",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("hostile"), "{stdout}");
}
