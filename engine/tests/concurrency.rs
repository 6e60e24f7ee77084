//! Concurrent use of one store: writers committing through group commit while
//! readers look up and scan. Every acknowledged commit is visible the moment
//! it returns, no reader sees half a batch, and concurrent commits share
//! fsyncs.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustydb_engine::storage::{Direction, StorageError, Store, StoreOptions, WriteBatch};

const WRITERS: u64 = 4;
const COMMITS: u64 = 150;

#[test]
fn writers_and_readers_share_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open(
            dir.path(),
            StoreOptions {
                buffer_pool_bytes: 128 * 8192,
                ..StoreOptions::default()
            },
        )
        .unwrap(),
    );
    let t = store.create_tree("t").unwrap();
    let stop = Arc::new(AtomicBool::new(false));

    // Each commit writes a pair of keys that must always be seen together.
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut scans = 0;
                while !stop.load(Ordering::Relaxed) {
                    let keys: Vec<Vec<u8>> = store
                        .scan(t, Bound::Unbounded, Bound::Unbounded, Direction::Forward)
                        .map(|r| r.unwrap().0)
                        .collect();
                    for k in keys.iter().filter(|k| k.ends_with(b"/a")) {
                        let mut b = k.clone();
                        *b.last_mut().unwrap() = b'b';
                        assert!(keys.contains(&b), "half a batch visible");
                    }
                    scans += 1;
                }
                scans
            })
        })
        .collect();

    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let store = &store;
            s.spawn(move || {
                for i in 0..COMMITS {
                    let prefix = format!("w{w}-{i:05}");
                    let mut b = WriteBatch::new();
                    b.put(t, format!("{prefix}/a"), vec![w as u8; 40]);
                    b.put(t, format!("{prefix}/b"), vec![i as u8; 40]);
                    store.commit(b).unwrap();
                    // Visible as soon as the commit returns.
                    assert!(
                        store
                            .get(t, format!("{prefix}/b").as_bytes())
                            .unwrap()
                            .is_some()
                    );
                }
            });
        }
    });
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    let report = store.check_integrity().unwrap();
    assert_eq!(report.entries, WRITERS * COMMITS * 2);
    let stats = store.stats();
    assert!(
        stats.wal_flushes < stats.commits,
        "group commit shares fsyncs: {} flushes for {} commits",
        stats.wal_flushes,
        stats.commits
    );
}

#[test]
fn a_directory_is_opened_by_one_store_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let second = Store::open(dir.path(), StoreOptions::default());
    assert!(matches!(second, Err(StorageError::InUse(_))), "{second:?}");
    drop(first);
    Store::open(dir.path(), StoreOptions::default()).unwrap();
}
