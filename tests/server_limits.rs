#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Connection limits of the real `rustydb serve`: a role's `CONNECTION
//! LIMIT` and the server's `max_connections`, each refused with 53300 and
//! PostgreSQL's message, each giving its place back when a session ends.

mod binary_support;

use std::time::Duration;

use binary_support::serve;
use tokio_postgres::{Client, NoTls};

async fn connect_as(port: u16, user: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user={user} dbname=rustydb"),
        NoTls,
    )
    .await?;
    tokio::spawn(connection);
    Ok(client)
}

fn refusal(e: &tokio_postgres::Error) -> (String, String) {
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("not a server error: {e:?}"));
    (db.code().code().to_owned(), db.message().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_roles_connection_limit_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = serve(dir.path());
    let admin = connect_as(port, "rustydb").await.unwrap();
    admin
        .batch_execute(
            "CREATE ROLE alice LOGIN CONNECTION LIMIT 2; CREATE ROLE bob LOGIN CONNECTION LIMIT 0",
        )
        .await
        .unwrap();

    let first = connect_as(port, "alice").await.unwrap();
    let second = connect_as(port, "alice").await.unwrap();
    let e = connect_as(port, "alice").await.err().unwrap();
    assert_eq!(
        refusal(&e),
        (
            "53300".into(),
            "too many connections for role \"alice\"".into()
        )
    );
    // Another role is not affected, nor is a superuser (never limited).
    let e = connect_as(port, "bob").await.err().unwrap();
    assert_eq!(refusal(&e).0, "53300");
    admin
        .batch_execute("ALTER ROLE rustydb CONNECTION LIMIT 0")
        .await
        .unwrap();
    let _also_admin = connect_as(port, "rustydb").await.unwrap();

    // A session that ends gives its place back.
    drop(first);
    let mut third = None;
    for _ in 0..50 {
        if let Ok(c) = connect_as(port, "alice").await {
            third = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let third = third.expect("alice's place came back");
    third.simple_query("SELECT 1").await.unwrap();
    second.simple_query("SELECT 1").await.unwrap();

    // Raising the limit takes effect for the next connection.
    admin
        .batch_execute("ALTER ROLE alice CONNECTION LIMIT 3")
        .await
        .unwrap();
    let _fourth = connect_as(port, "alice").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_servers_connection_limit_refuses_with_53300() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("rustydb.toml");
    std::fs::write(&config, "[server]\nmax_connections = 2\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = binary_support::KillOnDrop::spawn(
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
    let _a = connect_as(port, "rustydb").await.unwrap();
    let _b = connect_as(port, "rustydb").await.unwrap();
    let e = connect_as(port, "rustydb").await.err().unwrap();
    assert_eq!(
        refusal(&e),
        ("53300".into(), "sorry, too many clients already".into())
    );
}
