//! Crash consistency under `kill -9`: a child process commits in a loop and
//! reports each acknowledged commit on stdout; the parent kills it at a
//! random moment, reopens the store, and finds every acknowledged commit and
//! no partial one. Twenty-four rounds run on the same directory, so recovery
//! also recovers from states left by earlier recoveries.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::Rng;
use rustydb_engine::storage::Store;
use rustydb_engine::storage::io::OsVfs;

const CHILD_DIR: &str = "RUSTYDB_CRASH_CHILD_DIR";
const ROUNDS: usize = 24;

/// The child: commit forever, printing `acked N` after each commit returns.
#[test]
#[ignore = "run by crash_recovery_under_sigkill in a child process"]
fn crash_child_process() {
    let dir = std::env::var(CHILD_DIR).expect("started by the parent test");
    let store = Store::open(Path::new(&dir), common::small_options(Arc::new(OsVfs))).unwrap();
    let tree = match store.tree("t").unwrap() {
        Some(t) => t,
        None => store.create_tree("t").unwrap(),
    };
    let start = store
        .get(tree, b"last")
        .unwrap()
        .map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()) + 1);
    println!("ready {start}");
    for i in start.. {
        store.commit(common::commit_batch(tree, i)).unwrap();
        println!("acked {i}");
    }
}

#[test]
fn crash_recovery_under_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rng();
    let mut acked: Option<u64> = None;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_process",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Kill at a random moment after the child is up and committing.
        let mut kill_at = None;
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(5)) {
                Ok(line) => {
                    if let Some(n) = line.strip_prefix("acked ") {
                        acked = Some(n.parse().unwrap());
                        if kill_at.is_none() {
                            kill_at = Some(
                                Instant::now() + Duration::from_millis(rng.random_range(5..300)),
                            );
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("child exited early in round {round}")
                }
            }
            if kill_at.is_some_and(|t| Instant::now() >= t) {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // Lines already in the pipe were printed after their commit returned.
        reader.join().unwrap();
        for line in rx.try_iter() {
            if let Some(n) = line.strip_prefix("acked ") {
                acked = Some(n.parse().unwrap());
            }
        }
        let store = Store::open(dir.path(), common::small_options(Arc::new(OsVfs))).unwrap();
        let last = common::verify(&store, acked);
        acked = Some(last);
        drop(store);
    }
    assert!(
        acked.unwrap() > ROUNDS as u64,
        "the child committed in every round"
    );
}
