//! SERIALIZABLE and shared row locks in the transaction layer, as
//! specifications: write skew and phantoms fail one side with 40001 where
//! REPEATABLE READ lets both commit, a transaction whose reads nobody
//! overwrote commits, shared locks admit each other and hold writers off,
//! and deadlock detection sees shared holders.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rustydb_engine::mvcc::{IsolationLevel, Mvcc, MvccOptions, Transaction, TxnError, TxnOptions};
use rustydb_engine::storage::io::SimVfs;
use rustydb_engine::storage::{Direction, Store, StoreOptions};

const RC: TxnOptions = TxnOptions {
    isolation: IsolationLevel::ReadCommitted,
    read_only: false,
    lock_timeout: None,
};
const RR: TxnOptions = TxnOptions {
    isolation: IsolationLevel::RepeatableRead,
    ..RC
};
const SER: TxnOptions = TxnOptions {
    isolation: IsolationLevel::Serializable,
    ..RC
};

fn fresh() -> Mvcc {
    let sim = SimVfs::new();
    let store = Arc::new(
        Store::open(
            Path::new("/db"),
            StoreOptions {
                buffer_pool_bytes: 512 * 8192,
                vfs: Arc::new(sim),
                ..StoreOptions::default()
            },
        )
        .unwrap(),
    );
    Mvcc::open_with(
        store,
        MvccOptions {
            vacuum_interval: None,
        },
    )
    .unwrap()
}

fn commit_puts(mvcc: &Mvcc, rows: &[(&str, &str)]) {
    let mut t = mvcc.begin(RC);
    t.begin_statement();
    for (k, v) in rows {
        t.put(k.as_bytes(), v.as_bytes()).unwrap();
    }
    t.commit().unwrap();
}

fn begin(mvcc: &Mvcc, opts: TxnOptions) -> Transaction {
    let mut t = mvcc.begin(opts);
    t.begin_statement();
    t
}

/// The doctors on call: keys under `doc/` whose value is `on`.
fn on_call(t: &mut Transaction) -> usize {
    t.scan(
        Bound::Included(b"doc/".to_vec()),
        Bound::Excluded(b"doc0".to_vec()),
        Direction::Forward,
    )
    .map(Result::unwrap)
    .filter(|(_, v)| v == b"on")
    .count()
}

/// Two doctors on call each check that the other is still on call and go
/// off call: the classic write skew.
fn doctors_go_off_call(mvcc: &Mvcc, opts: TxnOptions) -> (Result<(), TxnError>, usize) {
    commit_puts(mvcc, &[("doc/alice", "on"), ("doc/bob", "on")]);
    let mut alice = begin(mvcc, opts);
    let mut bob = begin(mvcc, opts);
    assert_eq!(on_call(&mut alice), 2);
    assert_eq!(on_call(&mut bob), 2);
    alice.put(b"doc/alice", b"off").unwrap();
    bob.put(b"doc/bob", b"off").unwrap();
    alice.commit().unwrap();
    let second = bob.commit().map(|_| ());
    let mut check = begin(mvcc, RC);
    (second, on_call(&mut check))
}

#[test]
fn write_skew_fails_the_second_committer_under_serializable() {
    let (second, left) = doctors_go_off_call(&fresh(), SER);
    let e = second.unwrap_err();
    assert!(matches!(e, TxnError::ReadWriteConflict), "{e:?}");
    assert_eq!(e.sqlstate().unwrap().code(), "40001");
    assert!(e.is_retryable());
    assert_eq!(
        e.to_string(),
        "could not serialize access due to read/write dependencies among transactions"
    );
    assert_eq!(left, 1, "one doctor stays on call");
}

#[test]
fn write_skew_commits_both_under_repeatable_read() {
    let (second, left) = doctors_go_off_call(&fresh(), RR);
    second.unwrap();
    assert_eq!(left, 0, "snapshot isolation lets both go");
}

#[test]
fn a_serializable_transaction_whose_reads_nobody_wrote_commits() {
    let mvcc = fresh();
    commit_puts(&mvcc, &[("a", "1"), ("b", "1"), ("c", "1")]);
    let mut t = begin(&mvcc, SER);
    assert_eq!(t.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
    let scanned = t
        .scan(
            Bound::Included(b"b".to_vec()),
            Bound::Excluded(b"c".to_vec()),
            Direction::Forward,
        )
        .count();
    assert_eq!(scanned, 1);
    t.put(b"a", b"2").unwrap();
    // Others commit outside what `t` read, before and after its reads.
    commit_puts(&mvcc, &[("c", "2"), ("d", "1")]);
    t.commit().unwrap();
    let mut check = begin(&mvcc, RC);
    assert_eq!(check.get(b"a").unwrap().as_deref(), Some(&b"2"[..]));
}

#[test]
fn a_phantom_inserted_into_a_scanned_range_fails_the_scanner() {
    let mvcc = fresh();
    commit_puts(&mvcc, &[("doc/alice", "on")]);
    let mut t = begin(&mvcc, SER);
    assert_eq!(on_call(&mut t), 1);
    t.put(b"summary", b"1 on call").unwrap();
    let mut other = begin(&mvcc, SER);
    other.insert(b"doc/carol", b"on").unwrap();
    other.commit().unwrap();
    assert!(matches!(t.commit(), Err(TxnError::ReadWriteConflict)));
}

#[test]
fn a_read_only_serializable_transaction_is_validated_too() {
    let mvcc = fresh();
    commit_puts(&mvcc, &[("x", "1")]);
    let mut reader = begin(&mvcc, SER);
    reader.get(b"x").unwrap();
    commit_puts(&mvcc, &[("x", "2")]);
    assert!(matches!(reader.commit(), Err(TxnError::ReadWriteConflict)));

    let mut reader = begin(&mvcc, SER);
    reader.get(b"x").unwrap();
    reader.commit().unwrap();
}

#[test]
fn a_serializable_write_of_a_changed_key_fails_at_the_write() {
    let mvcc = fresh();
    commit_puts(&mvcc, &[("x", "1")]);
    let mut t = begin(&mvcc, SER);
    commit_puts(&mvcc, &[("x", "2")]);
    assert!(matches!(
        t.put(b"x", b"3"),
        Err(TxnError::SerializationFailure)
    ));
}

/// The invariant "someone is on call" holds under SERIALIZABLE however
/// the workers interleave, when each retries on 40001.
#[test]
fn concurrent_serializable_workers_keep_someone_on_call() {
    const DOCTORS: u64 = 4;
    const WORKERS: u64 = 4;
    const TURNS: u64 = 40;
    let mvcc = fresh();
    let names: Vec<String> = (0..DOCTORS).map(|d| format!("doc/{d}")).collect();
    let all_on: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "on")).collect();
    commit_puts(&mvcc, &all_on);
    let retries = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (mvcc, retries) = (mvcc.clone(), Arc::clone(&retries));
            thread::spawn(move || {
                for turn in 0..TURNS {
                    let me = format!("doc/{}", (w + turn) % DOCTORS);
                    loop {
                        let mut t = begin(&mvcc, SER);
                        let seen = on_call(&mut t);
                        assert!(seen >= 1, "a snapshot with nobody on call");
                        // Go off call if someone else covers, else come on.
                        let value: &[u8] = if seen >= 2 { b"off" } else { b"on" };
                        let result = t.put(me.as_bytes(), value).and_then(|()| t.commit());
                        match result {
                            Ok(_) => break,
                            Err(e) if e.is_retryable() => {
                                retries.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => panic!("worker {w}: {e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut check = begin(&mvcc, RC);
    assert!(on_call(&mut check) >= 1);
    assert_eq!(mvcc.locks_held(), 0);
    println!("{} retries", retries.load(Ordering::Relaxed));
}

#[test]
fn shared_locks_admit_each_other_and_hold_writers_off() {
    let mvcc = fresh();
    commit_puts(&mvcc, &[("parent", "p")]);
    let mut a = begin(&mvcc, RC);
    let mut b = begin(&mvcc, RC);
    assert_eq!(
        a.lock_shared(b"parent", false).unwrap().as_deref(),
        Some(&b"p"[..])
    );
    assert!(b.lock_shared(b"parent", true).unwrap().is_some());
    let mut writer = begin(
        &mvcc,
        TxnOptions {
            lock_timeout: Some(Duration::from_millis(30)),
            ..RC
        },
    );
    assert!(matches!(
        writer.delete(b"parent"),
        Err(TxnError::LockTimeout)
    ));
    a.commit().unwrap();
    assert!(matches!(
        writer.delete(b"parent"),
        Err(TxnError::LockTimeout)
    ));
    b.rollback();
    assert!(writer.delete(b"parent").unwrap());
    writer.commit().unwrap();
}

#[test]
fn nowait_fails_at_once_on_a_written_key() {
    let mvcc = fresh();
    commit_puts(&mvcc, &[("k", "v")]);
    let mut writer = begin(&mvcc, RC);
    writer.put(b"k", b"w").unwrap();
    let mut t = begin(&mvcc, RC);
    let started = Instant::now();
    let e = t.lock_shared(b"k", true).unwrap_err();
    assert!(matches!(e, TxnError::LockNotAvailable));
    assert_eq!(e.sqlstate().unwrap().code(), "55P03");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn a_shared_lock_waits_for_a_writer_then_sees_its_commit() {
    let mvcc = fresh();
    commit_puts(&mvcc, &[("k", "old")]);
    let mut writer = begin(&mvcc, RC);
    writer.delete(b"k").unwrap();
    let reader = {
        let mvcc = mvcc.clone();
        thread::spawn(move || {
            let mut t = begin(&mvcc, RC);
            t.lock_shared(b"k", false).unwrap()
        })
    };
    thread::sleep(Duration::from_millis(30));
    writer.commit().unwrap();
    assert_eq!(
        reader.join().unwrap(),
        None,
        "READ COMMITTED sees the delete"
    );
}

#[test]
fn a_shared_lock_on_a_key_changed_since_the_snapshot_fails_above_read_committed() {
    let mvcc = fresh();
    commit_puts(&mvcc, &[("k", "old")]);
    let mut t = begin(&mvcc, RR);
    commit_puts(&mvcc, &[("k", "new")]);
    assert!(matches!(
        t.lock_shared(b"k", false),
        Err(TxnError::SerializationFailure)
    ));
}

#[test]
fn a_sole_shared_holder_upgrades_to_write() {
    let mvcc = fresh();
    commit_puts(&mvcc, &[("k", "v")]);
    let mut t = begin(&mvcc, RC);
    t.lock_shared(b"k", false).unwrap();
    t.put(b"k", b"w").unwrap();
    let mut other = begin(&mvcc, RC);
    assert!(matches!(
        other.lock_shared(b"k", true),
        Err(TxnError::LockNotAvailable)
    ));
    t.commit().unwrap();
    assert_eq!(mvcc.locks_held(), 0);
}

#[test]
fn two_shared_holders_upgrading_deadlock_and_one_survives() {
    let mvcc = fresh();
    commit_puts(&mvcc, &[("k", "v")]);
    let holders: Vec<Transaction> = (0..2)
        .map(|_| {
            let mut t = begin(&mvcc, RC);
            t.lock_shared(b"k", false).unwrap();
            t
        })
        .collect();
    let upgrades: Vec<_> = holders
        .into_iter()
        .map(|mut t| {
            thread::spawn(move || match t.put(b"k", b"w") {
                Ok(()) => t.commit().map(|_| true),
                Err(TxnError::Deadlock) => {
                    t.rollback();
                    Ok(false)
                }
                Err(e) => Err(e),
            })
        })
        .collect();
    let committed: Vec<bool> = upgrades
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    assert_eq!(
        committed.iter().filter(|c| **c).count(),
        1,
        "each waits for the other's shared lock: one is the victim"
    );
    assert_eq!(mvcc.locks_held(), 0);
}
