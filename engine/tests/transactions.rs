//! The transaction layer as specifications: visibility at each isolation
//! level, first-updater-wins, deadlocks, cancellation, savepoints,
//! read-only transactions, unique and fresh inserts.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod txn_support;

use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use rustydb_engine::mvcc::{Mvcc, Transaction, TxnError, TxnOptions};
use rustydb_engine::storage::Direction;
use rustydb_engine::storage::io::SimVfs;

use txn_support::*;

#[test]
fn handles_are_shareable_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Mvcc>();
    send::<Transaction>();
}

#[test]
fn no_dirty_reads_and_own_writes_are_visible() {
    let (_sim, _store, mvcc) = fresh();
    commit_puts(&mvcc, &[("c", "old-c"), ("d", "old-d")]);

    let mut writer = mvcc.begin(RC);
    writer.begin_statement();
    writer.put(b"a", b"new-a").unwrap();
    writer.put(b"d", b"new-d").unwrap();
    assert!(writer.delete(b"c").unwrap(), "c was there to delete");
    assert!(!writer.delete(b"zz").unwrap(), "zz was not");

    let mut reader = mvcc.begin(RC);
    reader.begin_statement();
    assert_eq!(get(&mut reader, "a"), None, "no dirty read");
    assert_eq!(get(&mut reader, "c").as_deref(), Some("old-c"));
    assert_eq!(
        scan_all(&mut reader, Direction::Forward),
        pairs(&[("c", "old-c"), ("d", "old-d")])
    );

    assert_eq!(get(&mut writer, "a").as_deref(), Some("new-a"));
    assert_eq!(get(&mut writer, "c"), None, "own delete visible");
    let expected = pairs(&[("a", "new-a"), ("d", "new-d")]);
    assert_eq!(scan_all(&mut writer, Direction::Forward), expected);
    let mut backward = scan_all(&mut writer, Direction::Backward);
    backward.reverse();
    assert_eq!(backward, expected);
    let bounded: Vec<_> = writer
        .scan(
            Bound::Excluded(b"a".to_vec()),
            Bound::Included(b"d".to_vec()),
            Direction::Backward,
        )
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(bounded, vec![b"d".to_vec()]);
    writer.commit().unwrap();

    assert_eq!(get(&mut reader, "a"), None, "same statement, same snapshot");
    reader.begin_statement();
    assert_eq!(scan_all(&mut reader, Direction::Forward), expected);
}

#[test]
fn read_committed_sees_commits_between_statements_repeatable_read_does_not() {
    let (_sim, _store, mvcc) = fresh();
    commit_puts(&mvcc, &[("x", "1")]);
    let mut rc = mvcc.begin(RC);
    let mut rr = mvcc.begin(RR);
    rc.begin_statement();
    rr.begin_statement();
    assert_eq!(get(&mut rc, "x").as_deref(), Some("1"));
    assert_eq!(get(&mut rr, "x").as_deref(), Some("1"));
    commit_puts(&mvcc, &[("x", "2"), ("y", "new")]);
    rc.begin_statement();
    rr.begin_statement();
    assert_eq!(get(&mut rc, "x").as_deref(), Some("2"));
    assert_eq!(get(&mut rc, "y").as_deref(), Some("new"));
    assert_eq!(get(&mut rr, "x").as_deref(), Some("1"));
    assert_eq!(get(&mut rr, "y"), None);
    assert_eq!(scan_all(&mut rr, Direction::Backward), pairs(&[("x", "1")]));
}

#[test]
fn repeatable_read_snapshot_is_taken_at_the_first_statement() {
    let (_sim, _store, mvcc) = fresh();
    let mut rr = mvcc.begin(RR);
    commit_puts(&mvcc, &[("x", "before first statement")]);
    rr.begin_statement();
    assert!(get(&mut rr, "x").is_some());
}

#[test]
fn lost_update_is_prevented_under_repeatable_read() {
    let (_sim, _store, mvcc) = fresh();
    commit_puts(&mvcc, &[("counter", "0")]);
    let mut t1 = mvcc.begin(RR);
    let mut t2 = mvcc.begin(RR);
    t1.begin_statement();
    t2.begin_statement();
    t1.put(b"counter", b"1").unwrap();

    // t2 blocks on t1's lock, then finds t1's commit newer than its snapshot.
    let mvcc2 = mvcc.clone();
    let waiter = thread::spawn(move || {
        let r = t2.put(b"counter", b"1");
        drop(mvcc2);
        r
    });
    thread::sleep(Duration::from_millis(50));
    t1.commit().unwrap();
    let err = waiter.join().unwrap().unwrap_err();
    assert!(matches!(err, TxnError::SerializationFailure), "{err:?}");
    assert_eq!(
        err.to_string(),
        "could not serialize access due to concurrent update"
    );
    assert_eq!(sqlstate(err), "40001");

    // Without waiting: the commit came first.
    let mut t3 = mvcc.begin(RR);
    t3.begin_statement();
    commit_puts(&mvcc, &[("counter", "2")]);
    assert!(matches!(
        t3.lock(b"counter"),
        Err(TxnError::SerializationFailure)
    ));
}

#[test]
fn read_committed_proceeds_and_sees_the_latest_version() {
    let (_sim, _store, mvcc) = fresh();
    commit_puts(&mvcc, &[("counter", "0")]);
    let mut t1 = mvcc.begin(RC);
    t1.begin_statement();
    assert_eq!(get(&mut t1, "counter").as_deref(), Some("0"));
    commit_puts(&mvcc, &[("counter", "5")]);
    t1.put(b"counter", b"1").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t1.latest_committed(b"counter").unwrap().unwrap(), b"1");
    t1.rollback();
    let mut t2 = mvcc.begin(RC);
    t2.begin_statement();
    assert_eq!(get(&mut t2, "counter").as_deref(), Some("5"));
    commit_puts(&mvcc, &[("counter", "6")]);
    t2.lock(b"counter").unwrap();
    assert_eq!(t2.latest_committed(b"counter").unwrap().unwrap(), b"6");
    assert_eq!(get(&mut t2, "counter").as_deref(), Some("5"), "snapshot");
}

/// Snapshot isolation allows write skew: two on-call doctors each see the
/// other on call and both go off call. SERIALIZABLE, mapped to REPEATABLE
/// READ, does not prevent it.
#[test]
fn write_skew_is_allowed_under_snapshot_isolation() {
    let (_sim, _store, mvcc) = fresh();
    commit_puts(&mvcc, &[("alice", "on"), ("bob", "on")]);
    let mut t1 = mvcc.begin(RR);
    let mut t2 = mvcc.begin(RR);
    t1.begin_statement();
    t2.begin_statement();
    assert_eq!(get(&mut t1, "bob").as_deref(), Some("on"));
    assert_eq!(get(&mut t2, "alice").as_deref(), Some("on"));
    t1.put(b"alice", b"off").unwrap();
    t2.put(b"bob", b"off").unwrap();
    t1.commit().unwrap();
    t2.commit().unwrap();
    let mut t = mvcc.begin(RR);
    assert_eq!(
        scan_all(&mut t, Direction::Forward),
        pairs(&[("alice", "off"), ("bob", "off")])
    );
}

#[test]
fn a_deadlock_fails_exactly_one_transaction() {
    let (_sim, _store, mvcc) = fresh();
    commit_puts(&mvcc, &[("a", "0"), ("b", "0")]);
    let barrier = Arc::new(Barrier::new(2));
    let run = |first: &'static [u8], second: &'static [u8]| {
        let (mvcc, barrier) = (mvcc.clone(), Arc::clone(&barrier));
        thread::spawn(move || {
            let mut t = mvcc.begin(RC);
            t.begin_statement();
            t.put(first, b"1").unwrap();
            barrier.wait();
            match t.put(second, b"1") {
                Ok(()) => t.commit().map(|_| ()),
                // Dropping `t` rolls back and lets the other one go on.
                Err(e) => Err(e),
            }
        })
    };
    let one = run(b"a", b"b");
    let two = run(b"b", b"a");
    let results = [one.join().unwrap(), two.join().unwrap()];
    let deadlocks = results
        .iter()
        .filter(|r| matches!(r, Err(TxnError::Deadlock)))
        .count();
    assert_eq!(deadlocks, 1, "{results:?}");
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    let err = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(err.to_string(), "deadlock detected");
    assert_eq!(sqlstate(err), "40P01");
    assert_eq!(mvcc.locks_held(), 0);
}

#[test]
fn a_cancel_flag_or_lock_timeout_ends_a_lock_wait() {
    let (_sim, _store, mvcc) = fresh();
    let mut holder = mvcc.begin(RC);
    holder.lock(b"row").unwrap();

    let mut waiter = mvcc.begin(RC);
    let flag = Arc::new(AtomicBool::new(false));
    waiter.set_cancel(Arc::clone(&flag));
    let setter = {
        let flag = Arc::clone(&flag);
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            flag.store(true, Ordering::Relaxed);
        })
    };
    let started = Instant::now();
    let err = waiter.put(b"row", b"x").unwrap_err();
    setter.join().unwrap();
    assert!(matches!(err, TxnError::Canceled), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(40));
    assert_eq!(sqlstate(err), "57014");

    let mut impatient = mvcc.begin(TxnOptions {
        lock_timeout: Some(Duration::from_millis(30)),
        ..RC
    });
    let err = impatient.delete(b"row").unwrap_err();
    assert!(matches!(err, TxnError::LockTimeout), "{err:?}");
    assert_eq!(sqlstate(err), "55P03");

    holder.commit().unwrap();
    impatient.put(b"row", b"mine").unwrap();
    impatient.commit().unwrap();
}

#[test]
fn savepoints_nest_roll_back_and_release() {
    let (_sim, _store, mvcc) = fresh();
    commit_puts(&mvcc, &[("base", "0")]);
    let mut t = mvcc.begin(RC);
    t.begin_statement();
    t.put(b"a", b"1").unwrap();
    t.savepoint("s1");
    t.put(b"a", b"2").unwrap();
    t.put(b"b", b"2").unwrap();
    t.savepoint("s2");
    t.delete(b"a").unwrap();
    t.delete(b"base").unwrap();
    assert_eq!(get(&mut t, "a"), None);

    t.rollback_to("s2").unwrap();
    assert_eq!(get(&mut t, "a").as_deref(), Some("2"));
    assert_eq!(get(&mut t, "base").as_deref(), Some("0"));
    // s2 is still open after rolling back to it.
    t.put(b"c", b"3").unwrap();
    t.rollback_to("s2").unwrap();
    assert_eq!(get(&mut t, "c"), None);

    t.rollback_to("s1").unwrap();
    assert_eq!(
        scan_all(&mut t, Direction::Forward),
        pairs(&[("a", "1"), ("base", "0")])
    );
    let err = t.rollback_to("s2").unwrap_err();
    assert_eq!(err.to_string(), "savepoint \"s2\" does not exist");
    assert_eq!(sqlstate(err), "3B001");

    // A repeated name: the latest one is meant, until released.
    t.put(b"d", b"4").unwrap();
    t.savepoint("s1");
    t.put(b"e", b"5").unwrap();
    t.rollback_to("s1").unwrap();
    assert_eq!(get(&mut t, "d").as_deref(), Some("4"));
    assert_eq!(get(&mut t, "e"), None);
    t.release("s1").unwrap();
    t.put(b"f", b"6").unwrap();
    t.release("s1").unwrap();
    assert!(matches!(t.release("s1"), Err(TxnError::NoSuchSavepoint(_))));
    assert!(matches!(
        t.rollback_to("nope"),
        Err(TxnError::NoSuchSavepoint(_))
    ));
    t.commit().unwrap();

    let mut r = mvcc.begin(RC);
    assert_eq!(
        scan_all(&mut r, Direction::Forward),
        pairs(&[("a", "1"), ("base", "0"), ("d", "4"), ("f", "6")])
    );
}

#[test]
fn read_only_transactions_refuse_writes() {
    let (_sim, _store, mvcc) = fresh();
    commit_puts(&mvcc, &[("k", "v")]);
    let mut t = mvcc.begin(TxnOptions {
        read_only: true,
        ..RR
    });
    t.begin_statement();
    assert_eq!(get(&mut t, "k").as_deref(), Some("v"));
    assert!(matches!(t.put(b"k", b"w"), Err(TxnError::ReadOnly)));
    assert!(matches!(t.insert(b"n", b"w"), Err(TxnError::ReadOnly)));
    assert!(matches!(t.delete(b"k"), Err(TxnError::ReadOnly)));
    let err = t.lock(b"k").unwrap_err();
    assert_eq!(sqlstate(err), "25006");
    t.commit().unwrap();
}

#[test]
fn insert_refuses_keys_that_exist_or_were_committed_concurrently() {
    let (_sim, _store, mvcc) = fresh();
    commit_puts(&mvcc, &[("old", "1")]);
    for opts in [RC, RR] {
        let mut t = mvcc.begin(opts);
        t.begin_statement();
        let err = t.insert(b"old", b"2").unwrap_err();
        assert!(matches!(err, TxnError::KeyExists));
        assert_eq!(sqlstate(err), "23505");

        let concurrent = format!("new-{:?}", opts.isolation);
        commit_puts(&mvcc, &[(&concurrent, "theirs")]);
        assert_eq!(get(&mut t, &concurrent), None, "not in the snapshot");
        assert!(matches!(
            t.insert(concurrent.as_bytes(), b"mine"),
            Err(TxnError::KeyExists)
        ));

        t.insert(b"fresh", b"1").unwrap();
        assert!(matches!(t.insert(b"fresh", b"2"), Err(TxnError::KeyExists)));
        t.delete(b"fresh").unwrap();
        t.insert(b"fresh", b"3").unwrap();
        t.rollback();
    }
    // A deleted key can be inserted again.
    let mut t = mvcc.begin(RC);
    assert!(t.delete(b"old").unwrap());
    t.commit().unwrap();
    let mut t = mvcc.begin(RR);
    t.begin_statement();
    t.insert(b"old", b"again").unwrap();
    t.commit().unwrap();
}

#[test]
fn concurrent_inserts_of_one_key_admit_one() {
    let (_sim, _store, mvcc) = fresh();
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (mvcc, barrier) = (mvcc.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                let mut t = mvcc.begin(RC);
                t.begin_statement();
                barrier.wait();
                t.insert(b"unique", &[i])?;
                t.commit().map(|_| ())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(TxnError::KeyExists)))
    );
}

#[test]
fn a_fresh_insert_takes_no_lock() {
    let (_sim, _store, mvcc) = fresh();
    let mut t = mvcc.begin(RC);
    t.begin_statement();
    t.insert_fresh(b"row-7", b"mine".to_vec()).unwrap();
    assert_eq!(mvcc.locks_held(), 0, "a fresh key is never shared");
    assert_eq!(get(&mut t, "row-7"), Some("mine".into()));
    // Its later writes lock it as any write does, and it stays fresh: a
    // delete of it leaves nothing to store.
    t.put(b"row-7", b"changed").unwrap();
    assert_eq!(mvcc.locks_held(), 1);
    t.insert_fresh(b"row-8", b"gone".to_vec()).unwrap();
    assert!(t.delete(b"row-8").unwrap());
    t.commit().unwrap();
    assert_eq!(mvcc.locks_held(), 0);

    // Committed, the row is an ordinary one: others see, lock and change it.
    let mut other = mvcc.begin(RC);
    other.begin_statement();
    assert_eq!(get(&mut other, "row-7"), Some("changed".into()));
    assert_eq!(get(&mut other, "row-8"), None);
    other.put(b"row-7", b"theirs").unwrap();
    assert_eq!(mvcc.locks_held(), 1);
    other.commit().unwrap();
    assert_eq!(mvcc.locks_held(), 0);

    let mut ro = mvcc.begin(TxnOptions {
        read_only: true,
        ..RC
    });
    assert!(matches!(
        ro.insert_fresh(b"row-9", b"x".to_vec()),
        Err(TxnError::ReadOnly)
    ));
}

#[test]
fn a_fresh_insert_rolled_back_to_a_savepoint_is_gone() {
    let (_sim, _store, mvcc) = fresh();
    let mut t = mvcc.begin(RC);
    t.begin_statement();
    t.savepoint("s");
    t.insert_fresh(b"row-1", b"x".to_vec()).unwrap();
    t.rollback_to("s").unwrap();
    assert_eq!(get(&mut t, "row-1"), None);
    t.commit().unwrap();
    let mut r = mvcc.begin(RC);
    r.begin_statement();
    assert_eq!(get(&mut r, "row-1"), None);
}

/// What `seed_fresh` hands its seed: the greatest key under the prefix,
/// or `None`; `Err` if the seed did not run.
fn seed(t: &mut Transaction, prefix: &str) -> Result<Option<String>, TxnError> {
    let mut seen = Err(TxnError::Canceled);
    t.seed_fresh(prefix.as_bytes(), |last| {
        seen = Ok(last.map(|k| String::from_utf8_lossy(k).into_owned()));
        Ok::<(), TxnError>(())
    })?;
    seen
}

#[test]
fn a_seed_sees_the_greatest_stored_key_of_its_prefix_in_any_version() {
    let (_sim, _store, mvcc) = fresh();
    commit_puts(&mvcc, &[("r/1", "a"), ("r/5", "b"), ("s/9", "c")]);
    // r/7 deleted: its tombstone still names an id a new key must pass.
    commit_puts(&mvcc, &[("r/7", "d")]);
    let mut d = mvcc.begin(RC);
    d.begin_statement();
    assert!(d.delete(b"r/7").unwrap());
    d.commit().unwrap();

    // An older snapshot, which cannot see r/8, still seeds past it.
    let mut t = mvcc.begin(RR);
    t.begin_statement();
    commit_puts(&mvcc, &[("r/8", "e")]);
    assert_eq!(seed(&mut t, "r/").unwrap(), Some("r/8".into()));
    assert_eq!(seed(&mut t, "q/").unwrap(), None);
}

#[test]
fn a_prefix_is_seeded_once_per_store_and_again_after_a_failed_seed() {
    let sim = SimVfs::new();
    let (store, mvcc) = open(&sim);
    commit_puts(&mvcc, &[("r/1", "a")]);
    let mut t = mvcc.begin(RC);
    t.begin_statement();
    let failed: Result<(), TxnError> = t.seed_fresh(b"r/", |_| Err(TxnError::Canceled));
    assert!(matches!(failed, Err(TxnError::Canceled)));
    assert_eq!(seed(&mut t, "r/").unwrap(), Some("r/1".into()));
    assert!(seed(&mut t, "r/").is_err(), "seeded: the seed does not run");
    let mut other = mvcc.begin(RC);
    assert!(
        seed(&mut other, "r/").is_err(),
        "nor for another transaction"
    );
    drop((t, other, mvcc, store));

    // Reopened, the store may hold keys from before: it seeds again.
    let (_store, mvcc) = open(&sim);
    let mut t = mvcc.begin(RC);
    t.begin_statement();
    assert_eq!(seed(&mut t, "r/").unwrap(), Some("r/1".into()));
}
