//! Shared pieces of the storage integration tests: a workload whose every
//! acknowledged commit can be checked after a crash, and store options that
//! make checkpoints, evictions and WAL rotation happen within a short test.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use rustydb_engine::storage::io::Vfs;
use rustydb_engine::storage::{Direction, Store, StoreOptions, TreeId, WriteBatch};

/// Options that exercise every mechanism quickly: a tiny pool forces
/// checkpoints from the write path, small WAL limits force rotation.
pub fn small_options(vfs: Arc<dyn Vfs>) -> StoreOptions {
    StoreOptions {
        buffer_pool_bytes: 64 * 8192,
        checkpoint_interval: Duration::from_millis(50),
        checkpoint_wal_bytes: 64 << 10,
        wal_segment_bytes: 32 << 10,
        vfs,
        ..StoreOptions::default()
    }
}

/// [`small_options`] without the periodic background checkpoint, so a
/// single-threaded workload does the same I/O, in the same order, every run.
pub fn deterministic_options(vfs: Arc<dyn Vfs>) -> StoreOptions {
    StoreOptions {
        checkpoint_interval: Duration::from_secs(3600),
        ..small_options(vfs)
    }
}

/// Commit `i` of the workload writes three keys of group `i` (all or none
/// must survive) with values of varied size, some past the inline limit, sets
/// `last` to `i`, and every seventh commit deletes group `i - 5`.
pub fn commit_batch(tree: TreeId, i: u64) -> WriteBatch {
    let mut b = WriteBatch::new();
    for (part, key) in group_keys(i).into_iter().enumerate() {
        b.put(tree, key, value(i, part));
    }
    b.put(tree, b"last".to_vec(), i.to_be_bytes().to_vec());
    if i.is_multiple_of(7) && i >= 5 {
        for key in group_keys(i - 5) {
            b.delete(tree, key);
        }
    }
    b
}

pub fn group_keys(i: u64) -> [Vec<u8>; 3] {
    [b'a', b'b', b'c'].map(|p| format!("g{i:010}/{}", p as char).into_bytes())
}

pub fn value(i: u64, part: usize) -> Vec<u8> {
    let len = match (i + part as u64) % 23 {
        0 => 5000,
        1 => 30_000,
        n => 8 + n as usize * 3,
    };
    (0..len)
        .map(|j| (i as usize * 31 + j * 7 + part) as u8)
        .collect()
}

/// Whether group `j` is deleted once commits up to `upto` are applied.
pub fn deleted_by(j: u64, upto: u64) -> bool {
    let i = j + 5;
    i.is_multiple_of(7) && i <= upto
}

/// Checks a reopened store against the acknowledged commits: every commit up
/// to `acked` is there, and the one in flight (if any) is wholly there or
/// wholly absent. Returns the last commit found.
pub fn verify(store: &Store, acked: Option<u64>) -> u64 {
    let tree = store.tree("t").unwrap().expect("tree t survives");
    let last = store
        .get(tree, b"last")
        .unwrap()
        .map(|v| u64::from_be_bytes(v.try_into().unwrap()));
    if let Some(acked) = acked {
        let last = last.expect("an acknowledged commit set `last`");
        assert!(
            last >= acked,
            "acknowledged commit {acked} lost (last = {last})"
        );
        assert!(
            last <= acked + 1,
            "commit {last} appeared from nowhere (acked {acked})"
        );
    }
    let Some(last) = last else { return 0 };
    let mut expected = BTreeMap::new();
    for j in 0..=last {
        if !deleted_by(j, last) {
            for (part, key) in group_keys(j).into_iter().enumerate() {
                expected.insert(key, value(j, part));
            }
        }
    }
    expected.insert(b"last".to_vec(), last.to_be_bytes().to_vec());
    let found: BTreeMap<Vec<u8>, Vec<u8>> = store
        .scan(tree, Bound::Unbounded, Bound::Unbounded, Direction::Forward)
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        found.len(),
        expected.len(),
        "entry count after commit {last}"
    );
    for (k, v) in &expected {
        assert_eq!(found.get(k), Some(v), "key {}", String::from_utf8_lossy(k));
    }
    let report = store.check_integrity().unwrap();
    assert_eq!(report.entries as usize, expected.len());
    last
}
