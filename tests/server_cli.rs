#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The `rustydb` binary: help, configuration errors, `serve` and `shell` on
//! the real engine, deploy over the wire (against the test backend), backup
//! and restore.

mod server_support;

use std::process::Command;

use rustydb::cli::DeployArgs;
use rustydb::server::ServerOptions;

fn rustydb(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rustydb"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_lists_every_command_and_flag() {
    let out = rustydb(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for word in ["serve", "shell", "deploy", "backup", "restore"] {
        assert!(text.contains(word), "{word} missing from:\n{text}");
    }
    let serve = String::from_utf8(rustydb(&["serve", "--help"]).stdout).unwrap();
    for flag in ["--data-dir", "--listen", "--config", "--metrics"] {
        assert!(serve.contains(flag), "{flag} missing from:\n{serve}");
    }
    let deploy = String::from_utf8(rustydb(&["deploy", "--help"]).stdout).unwrap();
    for flag in [
        "--name",
        "--replace",
        "--host",
        "--port",
        "--user",
        "--dbname",
    ] {
        assert!(deploy.contains(flag), "{flag} missing from:\n{deploy}");
    }
}

#[test]
fn config_errors_name_the_key_and_fail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rustydb.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:0\"\nmax_conections = 5\n",
    )
    .unwrap();
    let out = rustydb(&["serve", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unknown field `max_conections`"), "{err}");
    assert!(err.contains("rustydb.toml"), "{err}");

    std::fs::write(&path, "[storage]\nbuffer_pool_size = \"lots\"\n").unwrap();
    let out = rustydb(&["serve", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("storage.buffer_pool_size")
    );

    let out = rustydb(&["serve", "--listen", "no-port"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("server.listen")
    );
    // Usage errors are clap's exit code 2.
    assert_eq!(rustydb(&["serve", "--bogus"]).status.code(), Some(2));
}

/// `rustydb serve` on a fresh directory initialises it and serves SQL to a
/// real client as role and database `rustydb`; data outlives a restart.
#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_sql_over_the_wire_and_keeps_it_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let mut child = KillOnDrop(
            Command::new(env!("CARGO_BIN_EXE_rustydb"))
                .args([
                    "serve",
                    "--data-dir",
                    dir.path().to_str().unwrap(),
                    "--listen",
                    &listen,
                ])
                .spawn()
                .unwrap(),
        );
        let conn = format!("host=127.0.0.1 port={port} user=rustydb dbname=rustydb");
        let mut client = None;
        for _ in 0..200 {
            if let Ok((c, connection)) = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await
            {
                tokio::spawn(connection);
                client = Some(c);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let client = client.expect("the server accepts connections");
        if round == 0 {
            client
                .batch_execute("CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL); INSERT INTO accounts VALUES (1, 100), (2, 50)")
                .await
                .unwrap();
        }
        let rows = client
            .query(
                "SELECT id, balance FROM accounts WHERE balance > $1 ORDER BY id",
                // $1 is described as int8, the type of the column it meets.
                &[&10i64],
            )
            .await
            .unwrap();
        let got: Vec<(i64, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(got, vec![(1, 100), (2, 50)]);
        let err = client
            .batch_execute("INSERT INTO accounts VALUES (1, 0)")
            .await
            .unwrap_err();
        assert_eq!(err.code().unwrap().code(), "23505");
        drop(client);
        child.0.kill().unwrap();
        child.0.wait().unwrap();
    }
}

/// Stops a spawned server even when an assertion fails first.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `rustydb shell -c` runs statements on the embedded engine, no server.
#[test]
fn shell_runs_statements_on_the_embedded_engine() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = rustydb(&[
        "shell",
        "--data-dir",
        data,
        "-c",
        "CREATE TABLE t (a int); INSERT INTO t VALUES (41), (1); SELECT sum(a) FROM t;",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8(out.stdout).unwrap().contains("42"));
    let bad = rustydb(&["shell", "--data-dir", data, "-c", "SELECT * FROM missing"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8(bad.stderr)
            .unwrap()
            .contains("relation \"missing\" does not exist")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_sends_the_module_as_bytea() {
    let server = server_support::start(ServerOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scorer.wasm");
    std::fs::write(&file, b"\0asm\x01\0\0\0body").unwrap();
    let port = server.port;
    let args = move |replace| DeployArgs {
        file: file.clone(),
        name: None,
        replace,
        host: "127.0.0.1".into(),
        port,
        user: "rustydb".into(),
        dbname: "rustydb".into(),
        data_dir: None,
    };
    tokio::task::spawn_blocking(move || {
        rustydb::cli::deploy(&args(false)).unwrap();
        let again = rustydb::cli::deploy(&args(false)).unwrap_err();
        assert!(again.to_string().contains("already exists"), "{again}");
        rustydb::cli::deploy(&args(true)).unwrap();
    })
    .await
    .unwrap();
    let store = server.backend.store.lock().unwrap();
    assert_eq!(store.modules["scorer"], b"\0asm\x01\0\0\0body");
}

#[test]
fn backup_and_restore_copy_a_stopped_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("wal")).unwrap();
    std::fs::write(data.join("data.db"), vec![7u8; 100_000]).unwrap();
    std::fs::write(data.join("wal/0001"), b"log").unwrap();
    let backup = dir.path().join("backup");
    let out = rustydb(&[
        "backup",
        "--data-dir",
        data.to_str().unwrap(),
        backup.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = dir.path().join("restored");
    let out = rustydb(&[
        "restore",
        backup.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(restored.join("data.db")).unwrap(),
        vec![7u8; 100_000]
    );
    assert_eq!(std::fs::read(restored.join("wal/0001")).unwrap(), b"log");
    // Restoring over existing data is refused.
    let out = rustydb(&[
        "restore",
        backup.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    // A locked (running) data directory is refused.
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data.join("LOCK"))
        .unwrap();
    lock.try_lock().unwrap();
    let out = rustydb(&[
        "backup",
        "--data-dir",
        data.to_str().unwrap(),
        dir.path().join("b2").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("in use"));
}

/// The prompt reads statements over several lines, each ending at a
/// semicolon outside quotes and comments, and keeps what was run in its
/// history file (`--history`, else `$RUSTYDB_HISTORY`), which the next
/// session reads and extends.
#[test]
fn shell_prompt_reads_multi_line_statements_and_keeps_history() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let history = dir.path().join("history");
    let shell = |input: &str, args: &[&str], env: &[(&str, &std::path::Path)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rustydb"));
        cmd.args(["shell", "--data-dir", data.to_str().unwrap()])
            .args(args)
            .env_remove("RUSTYDB_HISTORY")
            .env("HOME", dir.path().join("no-home"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };

    let (out, err) = shell(
        "CREATE TABLE t (a int);\n\
         INSERT INTO t\n  VALUES (41),\n  (1);\n\
         SELECT sum(a) AS total -- a comment; not the end\n  FROM t; -- the end\n\
         SELECT 'semi;\ncolon' AS s;\n\
         SELECT * FROM missing;\n\
         SELECT count(*) FROM t;\n\
         \\q\n\
         SELECT 'after quit';\n",
        &["--history", history.to_str().unwrap()],
        &[],
    );
    assert!(out.contains("CREATE TABLE"), "{out}");
    assert!(out.contains("INSERT 0 2"), "{out}");
    assert!(out.contains(" total\n-------\n    42\n(1 row)"), "{out}");
    assert!(out.contains("semi;\ncolon"), "{out}");
    // An error is reported and the prompt goes on.
    assert!(err.contains("relation \"missing\" does not exist"), "{err}");
    assert!(out.contains(" count\n-------\n     2\n"), "{out}");
    assert!(!out.contains("after quit"), "{out}");
    let kept = std::fs::read_to_string(&history).unwrap();
    assert!(kept.contains("INSERT INTO t"), "{kept}");
    assert!(kept.contains("FROM t; -- the end"), "{kept}");

    // The next session, pointed at the file by the environment, reads the
    // history and appends to it.
    shell(
        "SELECT 2;\n",
        &[],
        &[("RUSTYDB_HISTORY", history.as_path())],
    );
    let kept = std::fs::read_to_string(&history).unwrap();
    assert!(
        kept.contains("INSERT INTO t") && kept.contains("SELECT 2;"),
        "{kept}"
    );
}
