//! Fault injection and simulated power loss.
//!
//! A workload runs over a file system that fails its Nth write or fsync
//! (sometimes after writing half the bytes), for every N the workload
//! reaches. The store must stop at the first failure — never acknowledge a
//! commit it could not make durable — and a reopen must find an intact store
//! holding every acknowledged commit. Under `SimVfs` the failure is followed
//! by a power cut that drops or tears every unsynced write.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;

use std::path::Path;
use std::sync::Arc;

use rustydb_engine::storage::io::{FaultPlan, FaultyVfs, OsVfs, SimVfs, Vfs};
use rustydb_engine::storage::{StorageError, Store};

const COMMITS: u64 = 120;

/// Runs the workload until it ends or fails; returns the last acknowledged
/// commit and whether a failure stopped it.
fn run_workload(dir: &Path, vfs: Arc<dyn Vfs>) -> (Option<u64>, bool) {
    let store = match Store::open(dir, common::deterministic_options(vfs)) {
        Ok(s) => s,
        Err(_) => return (None, true),
    };
    let tree = match store.tree("t").unwrap() {
        Some(t) => t,
        None => match store.create_tree("t") {
            Ok(t) => t,
            Err(_) => return (None, true),
        },
    };
    let mut acked = None;
    for i in 0..COMMITS {
        match store.commit(common::commit_batch(tree, i)) {
            Ok(_) => acked = Some(i),
            Err(_) => {
                // Fail-stop: nothing is accepted after a failure.
                let again = store.commit(common::commit_batch(tree, i));
                assert!(
                    matches!(again, Err(StorageError::Poisoned(_))),
                    "a failed store must refuse further commits, got {again:?}"
                );
                return (acked, true);
            }
        }
        if i % 40 == 39 && store.checkpoint().is_err() {
            return (acked, true);
        }
    }
    (acked, false)
}

/// After a failure, a reopen (with a healthy file system) must succeed and
/// hold every acknowledged commit.
fn reopen_and_verify(dir: &Path, vfs: Arc<dyn Vfs>, acked: Option<u64>) {
    let store = Store::open(dir, common::deterministic_options(vfs)).unwrap();
    match store.tree("t").unwrap() {
        Some(_) => {
            common::verify(&store, acked);
        }
        None => assert!(acked.is_none(), "tree lost with commits acknowledged"),
    }
    store.check_integrity().unwrap();
}

fn count_operations() -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let faulty = Arc::new(FaultyVfs::new(Arc::new(OsVfs), FaultPlan::default()));
    let (acked, failed) = run_workload(dir.path(), faulty.clone());
    assert!(!failed && acked == Some(COMMITS - 1));
    (faulty.writes(), faulty.syncs())
}

#[test]
fn every_failed_write_is_survived() {
    let (writes, _) = count_operations();
    assert!(
        writes > 50,
        "the workload writes enough to matter ({writes})"
    );
    for n in 1..=writes {
        let dir = tempfile::tempdir().unwrap();
        let plan = FaultPlan {
            fail_write: Some(n),
            short_write: n.is_multiple_of(2),
            enospc: n.is_multiple_of(3),
            ..FaultPlan::default()
        };
        let faulty = Arc::new(FaultyVfs::new(Arc::new(OsVfs), plan));
        let (acked, failed) = run_workload(dir.path(), faulty);
        assert!(
            failed,
            "write {n} of {writes} failed without the store noticing"
        );
        reopen_and_verify(dir.path(), Arc::new(OsVfs), acked);
    }
}

#[test]
fn every_failed_fsync_is_survived() {
    let (_, syncs) = count_operations();
    assert!(syncs > 20, "the workload syncs enough to matter ({syncs})");
    for n in 1..=syncs {
        let dir = tempfile::tempdir().unwrap();
        let plan = FaultPlan {
            fail_sync: Some(n),
            ..FaultPlan::default()
        };
        let faulty = Arc::new(FaultyVfs::new(Arc::new(OsVfs), plan));
        let (acked, failed) = run_workload(dir.path(), faulty);
        assert!(
            failed,
            "fsync {n} of {syncs} failed without the store noticing"
        );
        reopen_and_verify(dir.path(), Arc::new(OsVfs), acked);
    }
}

/// The harshest case: the Nth write fails and then the power goes, taking
/// or tearing every write not yet synced — in the WAL tail, the
/// double-write file or the page file.
#[test]
fn power_loss_after_any_write_loses_no_acknowledged_commit() {
    let (writes, _) = count_operations();
    let dir = Path::new("/db");
    for n in (1..=writes).step_by(3) {
        let sim = SimVfs::new();
        let plan = FaultPlan {
            fail_write: Some(n),
            short_write: true,
            ..FaultPlan::default()
        };
        let faulty = Arc::new(FaultyVfs::new(Arc::new(sim.clone()), plan));
        let (acked, _) = run_workload(dir, faulty);
        sim.crash(n);
        reopen_and_verify(dir, Arc::new(sim.clone()), acked);
    }
}

#[test]
fn clean_runs_survive_repeated_power_loss() {
    let sim = SimVfs::new();
    let dir = Path::new("/db");
    let mut acked: Option<u64> = None;
    for round in 0..10u64 {
        let store = Store::open(dir, common::deterministic_options(Arc::new(sim.clone()))).unwrap();
        let tree = match store.tree("t").unwrap() {
            Some(t) => t,
            None => store.create_tree("t").unwrap(),
        };
        let start = acked.map_or(0, |a| a + 1);
        for i in start..start + 25 + round * 3 {
            store.commit(common::commit_batch(tree, i)).unwrap();
            acked = Some(i);
        }
        drop(store);
        sim.crash(round * 7919);
        let store = Store::open(dir, common::deterministic_options(Arc::new(sim.clone()))).unwrap();
        acked = Some(common::verify(&store, acked));
    }
}
