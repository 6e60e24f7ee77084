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

use std::process::Command;

mod binary_support;

use binary_support::{have, serve};

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
