#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Cancel requests against the real `rustydb serve`: a client's
//! `CancelRequest` (tokio-postgres' `cancel_token`) stops a long-running
//! engine statement and a Wasm guest spinning in a loop, each within
//! 100 ms, with 57014, and the session goes on working.

mod binary_support;
mod wasm_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use binary_support::KillOnDrop;
use tokio_postgres::{Client, NoTls};

async fn connect(port: u16) -> Client {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=rustydb dbname=rustydb"),
        NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    client
}

/// Runs `sql`, sends a cancel request once it has run for `after`, and
/// returns the SQLSTATE it failed with and how long after the request it
/// failed.
async fn cancel_after(
    client: &Arc<Client>,
    sql: &'static str,
    after: Duration,
) -> (String, Duration) {
    let token = client.cancel_token();
    let running = {
        let client = Arc::clone(client);
        tokio::spawn(async move {
            let e = client.simple_query(sql).await.unwrap_err();
            (e.code().map(|c| c.code().to_owned()), Instant::now())
        })
    };
    tokio::time::sleep(after).await;
    if running.is_finished() {
        let (code, _) = running.await.unwrap();
        panic!("{sql} ended with {code:?} before the cancel request");
    }
    let sent = Instant::now();
    token.cancel_query(NoTls).await.unwrap();
    let (code, ended) = running.await.unwrap();
    (code.unwrap_or_default(), ended.duration_since(sent))
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_stops_engine_statements_and_wasm_guests_within_100ms() {
    let dir = tempfile::tempdir().unwrap();
    // Fuel and the per-call deadline far away, so that only the cancel
    // request can stop the guest.
    let config = dir.path().join("rustydb.toml");
    std::fs::write(
        &config,
        "[wasm]\nfuel_per_call = 1000000000000000\ntime_per_call_ms = 600000\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = KillOnDrop::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_rustydb")).args([
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]),
        port,
    );
    let client = Arc::new(connect(port).await);
    client
        .execute(
            "CREATE MODULE hostile FROM $1",
            &[&wasm_support::component("hostile")],
        )
        .await
        .unwrap();

    for sql in [
        // A join of ten billion pairs: minutes of work for the executor.
        "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b",
        // A guest that never returns.
        "CALL hostile.spin()",
    ] {
        let (code, latency) = cancel_after(&client, sql, Duration::from_millis(200)).await;
        assert_eq!(code, "57014", "{sql}");
        assert!(
            latency < Duration::from_millis(100),
            "{sql}: cancel took {latency:?}"
        );
        // The session is usable, and the old request does not cancel the
        // next statement.
        let rows = client.query("SELECT 1 + 1", &[]).await.unwrap();
        assert_eq!(rows[0].get::<_, i32>(0), 2);
    }
    // The guest's module still works after its instance was interrupted.
    client.batch_execute("CALL hostile.ok()").await.unwrap();
}
