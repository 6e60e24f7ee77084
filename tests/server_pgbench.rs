#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! pgbench, unmodified, against the `rustydb` binary: `pgbench -i` (tables
//! with fillfactor, TRUNCATE, COPY FROM STDIN, VACUUM ANALYZE, ALTER TABLE
//! ADD PRIMARY KEY), then the default TPC-B-like script, the select-only
//! script and the prepared and extended protocols, each with zero failed
//! transactions.
//!
//! Skipped, saying why, when `pgbench` is not installed (`.ci/run`
//! installs it). The scale and transaction counts are small so that the
//! test stays quick while `WHERE aid = $1` may still be a full scan.

use std::process::{Command, Stdio};
use std::time::Duration;

/// Stops a spawned server even when an assertion fails first.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A `rustydb serve` on a free loopback port, ready for connections.
fn serve(dir: &std::path::Path) -> (KillOnDrop, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_rustydb"))
            .args([
                "serve",
                "--data-dir",
                dir.to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .spawn()
            .unwrap(),
    );
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, port);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("rustydb serve did not listen on port {port}");
}

fn pgbench(port: u16, args: &[&str]) -> String {
    let port = port.to_string();
    let out = Command::new("pgbench")
        .args(["-h", "127.0.0.1", "-p", &port, "-U", "rustydb"])
        .args(args)
        .arg("rustydb")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "pgbench {args:?} failed:\n{text}");
    text
}

#[test]
fn pgbench_initialises_and_runs_every_mode_without_failures() {
    if !have("pgbench") {
        eprintln!("skipped: the pgbench binary is not installed (postgresql-contrib / postgresql)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = serve(dir.path());

    let init = pgbench(port, &["-i", "-s", "1"]);
    for step in [
        "creating tables",
        "generating data",
        "vacuuming",
        "creating primary keys",
        "done in",
    ] {
        assert!(init.contains(step), "{step} missing from:\n{init}");
    }

    for (mode, transactions) in [
        (&[][..], 10),
        (&["-S"][..], 25),
        (&["-M", "prepared"][..], 10),
        (&["-M", "extended"][..], 10),
    ] {
        let t = transactions.to_string();
        let mut args = vec!["-c", "4", "-j", "2", "-t", &t];
        args.extend_from_slice(mode);
        let out = pgbench(port, &args);
        let expected = format!(
            "number of transactions actually processed: {0}/{0}",
            4 * transactions
        );
        assert!(
            out.contains(&expected),
            "{mode:?}: {expected} missing:\n{out}"
        );
        assert!(
            out.contains("number of failed transactions: 0 (0.000%)"),
            "{mode:?}:\n{out}"
        );
    }
}
