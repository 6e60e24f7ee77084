#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! COPY FROM STDIN and COPY TO STDOUT against the real engine, through a
//! real client (tokio-postgres `copy_in` / `copy_out`) over loopback; and
//! the simple protocol keeping the results of statements before an error.

use std::sync::Arc;

use bytes::Bytes;
use futures::{SinkExt, StreamExt, pin_mut};
use rustydb::engine_backend::EngineBackend;
use rustydb::server::{Server, ServerOptions};

/// A server over a fresh engine in a temporary directory.
struct EngineServer {
    port: u16,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start() -> EngineServer {
    let dir = tempfile::tempdir().unwrap();
    let backend = EngineBackend::open(dir.path(), 64 << 20, false).unwrap();
    let server = Server::bind("127.0.0.1:0", Arc::new(backend), ServerOptions::default())
        .await
        .unwrap();
    let port = server.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    EngineServer {
        port,
        _dir: dir,
        _stop: tx,
    }
}

async fn connect(port: u16) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=rustydb dbname=rustydb"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    client
}

/// Sends `data` as the body of `statement` and returns the row count.
async fn copy_in(client: &tokio_postgres::Client, statement: &str, data: &str) -> u64 {
    try_copy_in(client, statement, data).await.unwrap()
}

async fn try_copy_in(
    client: &tokio_postgres::Client,
    statement: &str,
    data: &str,
) -> Result<u64, tokio_postgres::Error> {
    let sink = client.copy_in::<_, Bytes>(statement).await?;
    pin_mut!(sink);
    // Two messages that split a row: rows are not cut at message borders.
    let (a, b) = data.split_at(data.len() / 2);
    sink.send(Bytes::copy_from_slice(a.as_bytes())).await?;
    sink.send(Bytes::copy_from_slice(b.as_bytes())).await?;
    sink.finish().await
}

async fn copy_out(client: &tokio_postgres::Client, statement: &str) -> String {
    let stream = client.copy_out(statement).await.unwrap();
    pin_mut!(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    String::from_utf8(out).unwrap()
}

async fn rows(client: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    client
        .simple_query(sql)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("NULL").to_owned())
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_from_stdin_text_stores_rows_with_defaults_and_nulls() {
    let server = start().await;
    let client = connect(server.port).await;
    client
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, name text, score int DEFAULT 7, note text)",
        )
        .await
        .unwrap();
    let n = copy_in(
        &client,
        "COPY t (id, name, note) FROM STDIN",
        "1\talice\t\\N\n2\tbob\ttab\\there\n3\t\\N\tx\n",
    )
    .await;
    assert_eq!(n, 3);
    assert_eq!(
        rows(&client, "SELECT id, name, score, note FROM t ORDER BY id").await,
        vec!["1|alice|7|NULL", "2|bob|7|tab\there", "3|NULL|7|x"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_from_stdin_csv_with_header_delimiter_and_null_options() {
    let server = start().await;
    let client = connect(server.port).await;
    client
        .batch_execute("CREATE TABLE t (id int, name text, city text)")
        .await
        .unwrap();
    let n = copy_in(
        &client,
        "COPY t FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';', NULL 'none')",
        "id;name;city\n1;\"Smith; John\";none\n2;\"multi\nline\";\"\"\n",
    )
    .await;
    assert_eq!(n, 2);
    assert_eq!(
        rows(&client, "SELECT id, name, city FROM t ORDER BY id").await,
        vec!["1|Smith; John|NULL", "2|multi\nline|"]
    );
    // The pre-9.0 spelling is accepted too.
    let n = copy_in(&client, "COPY t FROM STDIN CSV", "3,c,d\n").await;
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_from_stdin_checks_constraints_and_stores_nothing_on_error() {
    let server = start().await;
    let client = connect(server.port).await;
    client
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL CHECK (v > 0)); INSERT INTO t VALUES (1, 1)",
        )
        .await
        .unwrap();
    for (data, code) in [
        ("2\t5\n1\t5\n", "23505"),   // duplicate primary key
        ("2\t5\n3\t\\N\n", "23502"), // NULL into NOT NULL
        ("2\t5\n3\t-1\n", "23514"),  // CHECK
        ("2\t5\n3\tabc\n", "22P02"), // not an integer
        ("2\t5\n3\n", "22P04"),      // missing column
    ] {
        let err = try_copy_in(&client, "COPY t FROM STDIN", data)
            .await
            .unwrap_err();
        assert_eq!(
            err.code().map(|c| c.code()),
            Some(code),
            "{data:?}: {err:?}"
        );
    }
    assert_eq!(rows(&client, "SELECT id, v FROM t").await, vec!["1|1"]);
    // Errors of the statement itself come before any data is asked for.
    for (sql, code) in [
        ("COPY missing FROM STDIN", "42P01"),
        ("COPY t (nope) FROM STDIN", "42703"),
        ("COPY t (id, id) FROM STDIN", "42701"),
        ("COPY t FROM STDIN (FORMAT xml)", "22023"),
    ] {
        let err = client.batch_execute(sql).await.unwrap_err();
        assert_eq!(err.code().map(|c| c.code()), Some(code), "{sql}: {err:?}");
    }
    // The connection is still usable.
    assert_eq!(rows(&client, "SELECT count(*) FROM t").await, vec!["1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_in_a_transaction_block_commits_or_rolls_back_with_it() {
    let server = start().await;
    let client = connect(server.port).await;
    client
        .batch_execute("CREATE TABLE t (a int); BEGIN")
        .await
        .unwrap();
    copy_in(&client, "COPY t FROM STDIN", "1\n2\n").await;
    assert_eq!(rows(&client, "SELECT count(*) FROM t").await, vec!["2"]);
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(rows(&client, "SELECT count(*) FROM t").await, vec!["0"]);
    client.batch_execute("BEGIN").await.unwrap();
    copy_in(&client, "COPY t FROM STDIN", "3\n").await;
    client.batch_execute("COMMIT").await.unwrap();
    assert_eq!(rows(&client, "SELECT a FROM t").await, vec!["3"]);
    // Bad data fails the COPY and, as any failed statement, the block.
    client.batch_execute("BEGIN").await.unwrap();
    assert!(
        try_copy_in(&client, "COPY t FROM STDIN", "x\n")
            .await
            .is_err()
    );
    let err = client.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("25P02"));
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(rows(&client, "SELECT a FROM t").await, vec!["3"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_to_stdout_in_text_and_csv_from_tables_and_queries() {
    let server = start().await;
    let client = connect(server.port).await;
    client
        .batch_execute(
            "CREATE TABLE t (id int, name text, note text); \
             INSERT INTO t VALUES (1, 'a b', NULL), (2, 'x,y', 'q\"t')",
        )
        .await
        .unwrap();
    assert_eq!(
        copy_out(&client, "COPY t TO STDOUT").await,
        "1\ta b\t\\N\n2\tx,y\tq\"t\n"
    );
    assert_eq!(
        copy_out(
            &client,
            "COPY t (name, id) TO STDOUT WITH (FORMAT csv, HEADER)"
        )
        .await,
        "name,id\na b,1\n\"x,y\",2\n"
    );
    assert_eq!(
        copy_out(
            &client,
            "COPY (SELECT id * 10 AS ten, note FROM t ORDER BY id DESC) TO STDOUT WITH (DELIMITER '|', NULL 'null')"
        )
        .await,
        "20|q\"t\n10|null\n"
    );
    // Round trip: what COPY TO writes, COPY FROM reads back.
    client
        .batch_execute("CREATE TABLE u (id int, name text, note text)")
        .await
        .unwrap();
    let csv = copy_out(&client, "COPY t TO STDOUT (FORMAT csv)").await;
    copy_in(&client, "COPY u FROM STDIN (FORMAT csv)", &csv).await;
    assert_eq!(
        rows(&client, "SELECT id, name, note FROM u ORDER BY id").await,
        rows(&client, "SELECT id, name, note FROM t ORDER BY id").await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_refuses_server_files_and_programs() {
    let server = start().await;
    let client = connect(server.port).await;
    client
        .batch_execute("CREATE TABLE t (a int)")
        .await
        .unwrap();
    for sql in ["COPY t FROM '/etc/passwd'", "COPY t TO PROGRAM 'id'"] {
        let err = client.batch_execute(sql).await.unwrap_err();
        assert_eq!(err.code().unwrap().code(), "0A000", "{sql}");
    }
}

/// PostgreSQL sends the results of the statements before a failing one in
/// a simple query, then the error; the statements after it do not run.
#[tokio::test(flavor = "multi_thread")]
async fn simple_query_keeps_results_before_an_error() {
    let server = start().await;
    let client = connect(server.port).await;
    client
        .batch_execute("CREATE TABLE t (a int)")
        .await
        .unwrap();
    let messages = client
        .simple_query("SELECT 1; INSERT INTO t VALUES (1); SELECT 1/0; INSERT INTO t VALUES (2)")
        .await;
    // tokio-postgres reports the error; the rows before it were received
    // (the protocol would have desynchronised otherwise) and the first
    // INSERT ran, the last did not.
    let err = messages.unwrap_err();
    assert_eq!(err.code().unwrap().code(), "22012");
    assert_eq!(rows(&client, "SELECT a FROM t").await, vec!["1"]);
}

/// What `pgbench -i` sends before its benchmark: fillfactor, TRUNCATE of
/// several tables, COPY with FREEZE, VACUUM ANALYZE and ADD PRIMARY KEY.
#[tokio::test(flavor = "multi_thread")]
async fn pgbench_initialisation_statements() {
    let server = start().await;
    let client = connect(server.port).await;
    client
        .batch_execute(
            "drop table if exists pgbench_accounts, pgbench_branches; \
             create table pgbench_branches(bid int not null,bbalance int,filler char(88)) with (fillfactor=100); \
             create table pgbench_accounts(aid int not null,bid int,abalance int,filler char(84)) with (fillfactor=100); \
             begin; truncate table pgbench_accounts, pgbench_branches; \
             insert into pgbench_branches(bid,bbalance) values(1,0)",
        )
        .await
        .unwrap();
    let data: String = (1..=100).map(|i| format!("{i}\t1\t0\t\n")).collect();
    assert_eq!(
        copy_in(
            &client,
            "copy pgbench_accounts from stdin with (freeze on)",
            &data
        )
        .await,
        100
    );
    client
        .batch_execute(
            "commit; vacuum analyze pgbench_branches; vacuum analyze pgbench_accounts; \
             alter table pgbench_branches add primary key (bid); \
             alter table pgbench_accounts add primary key (aid)",
        )
        .await
        .unwrap();
    let err = client
        .batch_execute("insert into pgbench_accounts values (5, 1, 0, '')")
        .await
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "23505");
    assert_eq!(
        rows(&client, "select count(*), sum(aid) from pgbench_accounts").await,
        vec!["100|5050"]
    );
    // Re-keying fails on duplicates and leaves the table as it was.
    client
        .batch_execute("create table d (a int, b text); insert into d values (1, 'x'), (1, 'y')")
        .await
        .unwrap();
    let err = client
        .batch_execute("alter table d add primary key (a)")
        .await
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "23505");
    client
        .batch_execute("insert into d values (1, 'z'); alter table d add column c int default 3; alter table d rename to e")
        .await
        .unwrap();
    assert_eq!(
        rows(&client, "select a, b, c from e order by b").await,
        vec!["1|x|3", "1|y|3", "1|z|3"]
    );
    let err = client.batch_execute("vacuum missing").await.unwrap_err();
    assert_eq!(err.code().unwrap().code(), "42P01");
    client.batch_execute("truncate e").await.unwrap();
    assert_eq!(rows(&client, "select count(*) from e").await, vec!["0"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn timestamptz_text_follows_each_sessions_time_zone() {
    let server = start().await;
    let new_york = connect(server.port).await;
    let paris = connect(server.port).await;
    new_york
        .batch_execute("SET TIME ZONE 'America/New_York'; CREATE TABLE events (at timestamptz)")
        .await
        .unwrap();
    paris
        .batch_execute("SET timezone = 'Europe/Paris'")
        .await
        .unwrap();
    let instant = "SELECT TIMESTAMPTZ '2024-07-01 12:00:00+00'";
    // Rows are encoded, and COPY data read, off the statement's thread, and
    // the blocking threads serve both sessions: each must see its own zone.
    for _ in 0..3 {
        assert_eq!(rows(&new_york, instant).await, ["2024-07-01 08:00:00-04"]);
        assert_eq!(rows(&paris, instant).await, ["2024-07-01 14:00:00+02"]);
    }
    // A wall-clock time without an offset is New York's.
    copy_in(&new_york, "COPY events FROM STDIN", "2024-01-15 09:00:00\n").await;
    assert_eq!(
        copy_out(&paris, "COPY events TO STDOUT").await,
        "2024-01-15 15:00:00+01\n"
    );
    assert_eq!(
        rows(&paris, "SELECT current_setting('TimeZone')").await,
        ["Europe/Paris"]
    );
    let e = paris
        .batch_execute("SET TIME ZONE 'Mars/Olympus'")
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22023");
}
