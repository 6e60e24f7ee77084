//! The transaction layer as specifications: visibility at each isolation
//! level, first-updater-wins, deadlocks, cancellation, savepoints,
//! read-only transactions, unique inserts, a concurrent bank whose money is
//! conserved across a reopen, version reclamation, and crashes.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
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
    read_only: false,
    lock_timeout: None,
};

fn store_options(sim: &SimVfs) -> StoreOptions {
    StoreOptions {
        buffer_pool_bytes: 512 * 8192,
        vfs: Arc::new(sim.clone()),
        ..StoreOptions::default()
    }
}

fn open_store(sim: &SimVfs) -> Arc<Store> {
    Arc::new(Store::open(Path::new("/db"), store_options(sim)).unwrap())
}

/// A store and an MVCC layer on it, without the background vacuum so that
/// tests decide when versions go.
fn open(sim: &SimVfs) -> (Arc<Store>, Mvcc) {
    let store = open_store(sim);
    let mvcc = Mvcc::open_with(
        Arc::clone(&store),
        MvccOptions {
            vacuum_interval: None,
        },
    )
    .unwrap();
    (store, mvcc)
}

fn fresh() -> (SimVfs, Arc<Store>, Mvcc) {
    let sim = SimVfs::new();
    let (store, mvcc) = open(&sim);
    (sim, store, mvcc)
}

fn commit_puts(mvcc: &Mvcc, rows: &[(&str, &str)]) -> u64 {
    let mut t = mvcc.begin(RC);
    t.begin_statement();
    for (k, v) in rows {
        t.put(k.as_bytes(), v.as_bytes()).unwrap();
    }
    t.commit().unwrap()
}

fn get(t: &mut Transaction, key: &str) -> Option<String> {
    t.get(key.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

fn scan_all(t: &mut Transaction, dir: Direction) -> Vec<(String, String)> {
    t.scan(Bound::Unbounded, Bound::Unbounded, dir)
        .map(|r| {
            let (k, v) = r.unwrap();
            (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap())
        })
        .collect()
}

/// A range read through [`TxnScan::visit`] `page` rows at a time, each
/// page starting past the last key of the one before, as the executor's
/// table scan reads it.
///
/// [`TxnScan::visit`]: rustydb_engine::mvcc::TxnScan::visit
fn visit_paged(
    t: &mut Transaction,
    mut lower: Bound<Vec<u8>>,
    mut upper: Bound<Vec<u8>>,
    backward: bool,
    page: usize,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let dir = if backward {
        Direction::Backward
    } else {
        Direction::Forward
    };
    let mut rows: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    loop {
        let before = rows.len();
        let visited = t
            .scan(lower.clone(), upper.clone(), dir)
            .visit(page, &mut |k, v| {
                rows.push((k.to_vec().unwrap(), v.to_vec()));
                true
            })
            .unwrap();
        assert_eq!(visited, rows.len() - before, "every visited row counted");
        let Some((last, _)) = rows.last() else {
            return rows;
        };
        if visited < page {
            return rows;
        }
        if backward {
            upper = Bound::Excluded(last.clone());
        } else {
            lower = Bound::Excluded(last.clone());
        }
    }
}

#[test]
fn a_visited_scan_sees_the_snapshot_and_own_writes() {
    let (_sim, _store, mvcc) = fresh();
    commit_puts(&mvcc, &[("a", "1"), ("b", "1"), ("c", "1"), ("e", "1")]);
    let mut t = mvcc.begin(RR);
    t.begin_statement();
    // Committed after t's snapshot: t keeps seeing the old versions.
    commit_puts(&mvcc, &[("a", "2"), ("d", "2")]);
    let mut other = mvcc.begin(RC);
    other.begin_statement();
    assert!(other.delete(b"b").unwrap());
    other.commit().unwrap();
    t.put(b"c", b"own").unwrap();
    t.put(b"f", b"own").unwrap();
    assert!(t.delete(b"e").unwrap(), "own delete of a committed row");
    let expected = vec![
        (b"a".to_vec(), b"1".to_vec()),
        (b"b".to_vec(), b"1".to_vec()),
        (b"c".to_vec(), b"own".to_vec()),
        (b"f".to_vec(), b"own".to_vec()),
    ];
    for page in [1, 2, 100] {
        assert_eq!(
            visit_paged(&mut t, Bound::Unbounded, Bound::Unbounded, false, page),
            expected,
            "forward, {page} a page"
        );
        let mut backward = visit_paged(&mut t, Bound::Unbounded, Bound::Unbounded, true, page);
        backward.reverse();
        assert_eq!(backward, expected, "backward, {page} a page");
    }
    assert_eq!(
        visit_paged(
            &mut t,
            Bound::Excluded(b"a".to_vec()),
            Bound::Included(b"c".to_vec()),
            false,
            1
        ),
        expected[1..3],
        "bounds hold"
    );
    let mut first = Vec::new();
    let visited = t
        .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
        .visit(10, &mut |k, _| {
            first.push(k.to_vec().unwrap());
            false
        })
        .unwrap();
    assert_eq!(
        (visited, first),
        (1, vec![b"a".to_vec()]),
        "a visitor that says stop gets no more rows"
    );
}

/// The range as the iterator reads it, which resolves versions one at a
/// time into its own buffers.
fn iterated(
    t: &mut Transaction,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    t.scan(lower, upper, Direction::Forward)
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_visit_without_own_writes_lends_what_the_iterator_returns() {
    let (_sim, _store, mvcc) = fresh();
    // Keys with zero and 0xFF bytes, which the stored form escapes, and
    // many versions of some keys, so versions span leaves.
    let keys: Vec<Vec<u8>> = (0u16..600)
        .map(|i| {
            let mut k = vec![b'k', 0, (i >> 8) as u8, i as u8];
            if i % 7 == 0 {
                k.push(0xFF);
            }
            k
        })
        .collect();
    let write = |rows: &mut dyn Iterator<Item = (&Vec<u8>, Option<Vec<u8>>)>| {
        let mut t = mvcc.begin(RC);
        t.begin_statement();
        for (k, v) in rows {
            match v {
                Some(v) => t.put(k, &v).unwrap(),
                None => assert!(t.delete(k).unwrap()),
            }
        }
        t.commit().unwrap();
    };
    write(&mut keys.iter().map(|k| (k, Some(b"v1".to_vec()))));
    for round in 0..3u8 {
        write(&mut keys.iter().step_by(3).map(|k| (k, Some(vec![b'v', round]))));
    }
    write(&mut keys.iter().skip(1).step_by(5).map(|k| (k, None)));
    let mut reader = mvcc.begin(RR);
    reader.begin_statement();
    let snapshot_view = iterated(&mut reader, Bound::Unbounded, Bound::Unbounded);
    assert_eq!(
        snapshot_view.len(),
        600 - 120,
        "every fifth key, from the second, is deleted"
    );

    // After the reader's snapshot: a commit, a rollback and a transaction
    // still open. None of them may show.
    write(&mut keys.iter().step_by(2).map(|k| (k, Some(b"late".to_vec()))));
    let mut aborted = mvcc.begin(RC);
    aborted.begin_statement();
    aborted.put(&keys[4], b"aborted").unwrap();
    aborted.rollback();
    let mut open = mvcc.begin(RC);
    open.begin_statement();
    open.put(&keys[10], b"uncommitted").unwrap();
    assert!(open.delete(&keys[12]).unwrap());

    for page in [1, 7, 1024] {
        assert_eq!(
            visit_paged(&mut reader, Bound::Unbounded, Bound::Unbounded, false, page),
            snapshot_view,
            "{page} a page"
        );
    }
    let (lower, upper) = (keys[33].clone(), keys[400].clone());
    assert_eq!(
        visit_paged(
            &mut reader,
            Bound::Excluded(lower.clone()),
            Bound::Included(upper.clone()),
            false,
            50
        ),
        iterated(&mut reader, Bound::Excluded(lower), Bound::Included(upper)),
        "within bounds"
    );

    // An own write outside the range leaves the range without pending
    // writes; one inside it is merged in.
    reader.put(b"zz", b"own").unwrap();
    assert_eq!(
        visit_paged(
            &mut reader,
            Bound::Unbounded,
            Bound::Excluded(b"z".to_vec()),
            false,
            64
        ),
        snapshot_view
    );
    reader.put(&keys[1], b"own").unwrap();
    let mut merged = iterated(&mut reader, Bound::Unbounded, Bound::Unbounded);
    assert_eq!(
        visit_paged(&mut reader, Bound::Unbounded, Bound::Unbounded, false, 64),
        merged
    );
    assert!(merged.contains(&(keys[1].clone(), b"own".to_vec())));
    merged.retain(|(k, _)| k != &keys[1] && k.as_slice() != b"zz");
    assert_eq!(merged, snapshot_view, "the rest as before the own writes");
    open.rollback();
}

fn sqlstate(e: TxnError) -> &'static str {
    rustydb_engine::Error::from(e).sqlstate().code()
}

fn pairs(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

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

fn balance(t: &mut Transaction, account: u64) -> Result<i64, TxnError> {
    let v = t.get(format!("acct/{account:03}").as_bytes())?.unwrap();
    Ok(i64::from_be_bytes(v.try_into().unwrap()))
}

fn set_balance(t: &mut Transaction, account: u64, amount: i64) -> Result<(), TxnError> {
    t.put(
        format!("acct/{account:03}").as_bytes(),
        &amount.to_be_bytes(),
    )
}

/// One transfer, logged under a key unique to it, so that the log proves
/// how many transfers committed and what each did.
fn transfer(
    mvcc: &Mvcc,
    worker: u64,
    seq: u64,
    from: u64,
    to: u64,
    amount: i64,
) -> Result<(), TxnError> {
    let mut t = mvcc.begin(RR);
    t.begin_statement();
    let a = balance(&mut t, from)?;
    let b = balance(&mut t, to)?;
    set_balance(&mut t, from, a - amount)?;
    set_balance(&mut t, to, b + amount)?;
    let mut log = Vec::new();
    for n in [from, to, amount as u64] {
        log.extend_from_slice(&n.to_be_bytes());
    }
    t.insert(format!("log/{worker}/{seq:05}").as_bytes(), &log)?;
    t.commit().map(|_| ())
}

#[test]
fn bank_transfers_conserve_money_across_a_reopen() {
    const ACCOUNTS: u64 = 8;
    const WORKERS: u64 = 4;
    const TRANSFERS: u64 = 60;
    const START: i64 = 1000;
    let sim = SimVfs::new();
    let (store, mvcc) = open(&sim);
    let mut t = mvcc.begin(RC);
    for a in 0..ACCOUNTS {
        set_balance(&mut t, a, START).unwrap();
    }
    t.commit().unwrap();

    let retries = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (mvcc, retries) = (mvcc.clone(), Arc::clone(&retries));
            thread::spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(w);
                for seq in 0..TRANSFERS {
                    let from = rng.random_range(0..ACCOUNTS);
                    let to = (from + rng.random_range(1..ACCOUNTS)) % ACCOUNTS;
                    let amount = rng.random_range(1..100);
                    loop {
                        match transfer(&mvcc, w, seq, from, to, amount) {
                            Ok(()) => break,
                            Err(e) if e.is_retryable() => {
                                retries.fetch_add(1, Ordering::Relaxed);
                                thread::yield_now();
                            }
                            Err(e) => panic!("transfer failed: {e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert!(
        retries.load(Ordering::Relaxed) > 0,
        "the workload had conflicts"
    );
    assert_eq!(mvcc.locks_held(), 0);
    drop(mvcc);
    Arc::into_inner(store).unwrap().close().unwrap();

    let (_store, mvcc) = open(&sim);
    let mut t = mvcc.begin(RR);
    t.begin_statement();
    let mut expected = vec![START; ACCOUNTS as usize];
    let logs: Vec<_> = t
        .scan(
            Bound::Included(b"log/".to_vec()),
            Bound::Excluded(b"log0".to_vec()),
            Direction::Forward,
        )
        .map(|r| r.unwrap().1)
        .collect();
    assert_eq!(
        logs.len() as u64,
        WORKERS * TRANSFERS,
        "no transfer lost or doubled"
    );
    for log in logs {
        let n = |i: usize| u64::from_be_bytes(log[i * 8..i * 8 + 8].try_into().unwrap());
        expected[n(0) as usize] -= n(2) as i64;
        expected[n(1) as usize] += n(2) as i64;
    }
    let mut total = 0;
    for a in 0..ACCOUNTS {
        let b = balance(&mut t, a).unwrap();
        assert_eq!(b, expected[a as usize], "account {a}");
        total += b;
    }
    assert_eq!(total, START * ACCOUNTS as i64);
}

fn used_pages(store: &Store) -> u64 {
    let r = store.check_integrity().unwrap();
    r.page_count - r.free_pages
}

#[test]
fn an_update_heavy_load_does_not_grow_the_file() {
    let (_sim, store, mvcc) = fresh();
    // Large enough that the live versions span several leaves.
    let value = vec![7u8; 1500];
    let round = |i: u64| {
        let mut t = mvcc.begin(RC);
        t.begin_statement();
        for k in 0..10u64 {
            let mut v = value.clone();
            v.extend_from_slice(&i.to_be_bytes());
            t.put(&k.to_be_bytes(), &v).unwrap();
        }
        t.commit().unwrap();
    };
    // 10 keys per commit: 1,000 updates, then 20,000.
    for i in 0..100 {
        round(i);
    }
    let after_1k = used_pages(&store);
    for i in 100..2000 {
        round(i);
    }
    let stats = mvcc.vacuum().unwrap();
    assert_eq!(stats.keys, 10);
    let after_20k = used_pages(&store);
    assert!(
        after_20k <= after_1k + 2,
        "used pages grew from {after_1k} to {after_20k}"
    );
    assert_eq!(
        store.check_integrity().unwrap().entries,
        10,
        "one version per key"
    );
}

#[test]
fn vacuum_keeps_what_a_long_reader_needs() {
    let (_sim, store, mvcc) = fresh();
    let keys: Vec<String> = (0..10).map(|k| format!("k{k}")).collect();
    let rows: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "original")).collect();
    commit_puts(&mvcc, &rows);
    commit_puts(&mvcc, &[("doomed", "x")]);

    let mut reader = mvcc.begin(RR);
    reader.begin_statement();
    let before = scan_all(&mut reader, Direction::Forward);
    assert_eq!(before.len(), 11);

    let mut t = mvcc.begin(RC);
    t.delete(b"doomed").unwrap();
    t.commit().unwrap();
    for i in 0..300 {
        let v = format!("update {i}");
        let rows: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), v.as_str())).collect();
        commit_puts(&mvcc, &rows);
        if i % 100 == 0 {
            mvcc.vacuum().unwrap();
        }
    }
    let stats = mvcc.vacuum().unwrap();
    assert_eq!(stats.horizon, reader.snapshot());
    assert_eq!(scan_all(&mut reader, Direction::Forward), before);
    let mut back = scan_all(&mut reader, Direction::Backward);
    back.reverse();
    assert_eq!(back, before);
    assert_eq!(get(&mut reader, "doomed").as_deref(), Some("x"));
    reader.commit().unwrap();

    let stats = mvcc.vacuum().unwrap();
    assert!(stats.removed > 0);
    assert_eq!(
        store.check_integrity().unwrap().entries,
        10,
        "newest versions only"
    );
    let mut t = mvcc.begin(RC);
    assert_eq!(get(&mut t, "k3").as_deref(), Some("update 299"));
    assert_eq!(get(&mut t, "doomed"), None);
}

#[test]
fn the_background_vacuum_reclaims_deleted_keys() {
    let sim = SimVfs::new();
    let store = open_store(&sim);
    let mvcc = Mvcc::open_with(
        Arc::clone(&store),
        MvccOptions {
            vacuum_interval: Some(Duration::from_millis(20)),
        },
    )
    .unwrap();
    commit_puts(&mvcc, &[("a", "1"), ("b", "2")]);
    let mut t = mvcc.begin(RC);
    t.delete(b"a").unwrap();
    t.delete(b"b").unwrap();
    t.commit().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.check_integrity().unwrap().entries > 0 {
        assert!(
            Instant::now() < deadline,
            "the background vacuum did not run"
        );
        thread::sleep(Duration::from_millis(10));
    }
    drop(mvcc);
    // The vacuum thread is gone and no longer holds the store.
    Arc::into_inner(store).unwrap().close().unwrap();
}

#[test]
fn commits_survive_a_power_cut_and_uncommitted_work_leaves_no_trace() {
    let sim = SimVfs::new();
    let (store, mvcc) = open(&sim);
    for i in 0..40 {
        let mut t = mvcc.begin(RC);
        t.insert(format!("row{i:03}").as_bytes(), b"committed")
            .unwrap();
        if i % 5 == 0 && i > 0 {
            t.delete(format!("row{:03}", i - 1).as_bytes()).unwrap();
        }
        t.commit().unwrap();
    }
    // Written but never committed when the power goes: its writes exist
    // only in this process's memory.
    let mut open_txn = mvcc.begin(RC);
    open_txn.put(b"row000", b"uncommitted").unwrap();
    open_txn.put(b"ghost", b"uncommitted").unwrap();
    let entries_before = store.check_integrity().unwrap().entries;
    drop(open_txn);
    drop(mvcc);
    drop(store);
    sim.crash(7);

    let (store, mvcc) = open(&sim);
    let mut t = mvcc.begin(RR);
    let rows = scan_all(&mut t, Direction::Forward);
    let expected: Vec<(String, String)> = (0..40)
        .filter(|i| !(i % 5 == 4 && *i < 39))
        .map(|i| (format!("row{i:03}"), "committed".to_string()))
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(store.check_integrity().unwrap().entries, entries_before);
    assert_eq!(get(&mut t, "ghost"), None);
    store.check_integrity().unwrap();
}

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u8),
    Delete(u8),
    Commit,
    Scan(Bound<u8>, Bound<u8>, bool),
}

fn op() -> impl Strategy<Value = Op> {
    let bound = prop_oneof![
        Just(Bound::Unbounded),
        (0u8..12).prop_map(Bound::Included),
        (0u8..12).prop_map(Bound::Excluded),
    ];
    prop_oneof![
        6 => (0u8..12, any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
        3 => (0u8..12).prop_map(Op::Delete),
        1 => Just(Op::Commit),
        3 => (bound.clone(), bound, any::<bool>()).prop_map(|(l, u, b)| Op::Scan(l, u, b)),
    ]
}

/// Keys with zero bytes and prefixes of one another, where escaping matters.
fn key_bytes(k: u8) -> Vec<u8> {
    let mut v = vec![0u8; (k % 4) as usize];
    v.push(k / 4);
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Scans in both directions, with any bounds, over committed versions
    /// and pending writes agree with a model.
    #[test]
    fn scans_match_a_model(ops in proptest::collection::vec(op(), 1..60)) {
        let (_sim, _store, mvcc) = fresh();
        let mut committed: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut model = committed.clone();
        let mut t = mvcc.begin(RC);
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    t.put(&key_bytes(k), &[v]).unwrap();
                    model.insert(key_bytes(k), vec![v]);
                }
                Op::Delete(k) => {
                    let existed = t.delete(&key_bytes(k)).unwrap();
                    prop_assert_eq!(existed, model.remove(&key_bytes(k)).is_some());
                }
                Op::Commit => {
                    t.commit().unwrap();
                    committed = model.clone();
                    t = mvcc.begin(RC);
                }
                Op::Scan(lower, upper, backward) => {
                    let lower = lower.map(key_bytes);
                    let upper = upper.map(key_bytes);
                    let dir = if backward { Direction::Backward } else { Direction::Forward };
                    let mut got: Vec<_> = t
                        .scan(lower.clone(), upper.clone(), dir)
                        .map(|r| r.unwrap())
                        .collect();
                    if backward {
                        got.reverse();
                    }
                    let valid = match (&lower, &upper) {
                        (Bound::Included(l), Bound::Included(u)) => l <= u,
                        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => l < u,
                        _ => true,
                    };
                    let expected: Vec<_> = if valid {
                        model.range((lower.clone(), upper.clone())).map(|(k, v)| (k.clone(), v.clone())).collect()
                    } else {
                        Vec::new()
                    };
                    prop_assert_eq!(&got, &expected);
                    let mut paged = visit_paged(&mut t, lower, upper, backward, 3);
                    if backward {
                        paged.reverse();
                    }
                    prop_assert_eq!(paged, expected);
                }
            }
        }
        let mut other = mvcc.begin(RC);
        let seen: BTreeMap<_, _> = other
            .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
            .map(|r| r.unwrap())
            .collect();
        prop_assert_eq!(seen, committed);
    }
}
