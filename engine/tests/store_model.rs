//! The store against a model: random operations applied to both a `Store`
//! and a `BTreeMap`, with clean reopens, power cuts and checkpoints between
//! them. After every step, lookups and scans in both directions agree with
//! the model and the integrity check passes.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use rustydb_engine::storage::io::SimVfs;
use rustydb_engine::storage::{Direction, Store, TreeId, WriteBatch};

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    /// Several puts and deletes in one atomic batch.
    Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>),
    Get(Vec<u8>),
    Scan(Bound<Vec<u8>>, Bound<Vec<u8>>, bool),
    Checkpoint,
    Reopen,
    PowerCut(u64),
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(0u8..4, 1..4),
        2 => proptest::collection::vec(any::<u8>(), 0..40),
        1 => proptest::collection::vec(any::<u8>(), 900..1024),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..64),
        2 => proptest::collection::vec(any::<u8>(), 1000..3000),
        1 => proptest::collection::vec(0u8..3, 8000..40_000),
    ]
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        Just(Bound::Unbounded),
        key().prop_map(Bound::Included),
        key().prop_map(Bound::Excluded),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (key(), value()).prop_map(|(k, v)| Op::Put(k, v)),
        10 => key().prop_map(Op::Delete),
        5 => proptest::collection::vec((key(), proptest::option::of(value())), 1..20).prop_map(Op::Batch),
        5 => key().prop_map(Op::Get),
        5 => (bound(), bound(), any::<bool>()).prop_map(|(l, u, r)| Op::Scan(l, u, r)),
        2 => Just(Op::Checkpoint),
        2 => Just(Op::Reopen),
        2 => any::<u64>().prop_map(Op::PowerCut),
    ]
}

fn open(sim: &SimVfs) -> (Store, TreeId) {
    let store = Store::open(
        Path::new("/db"),
        common::deterministic_options(Arc::new(sim.clone())),
    )
    .unwrap();
    let tree = match store.tree("t").unwrap() {
        Some(t) => t,
        None => store.create_tree("t").unwrap(),
    };
    (store, tree)
}

fn scan(
    store: &Store,
    tree: TreeId,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    dir: Direction,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    store
        .scan(tree, lower, upper, dir)
        .map(|r| r.unwrap())
        .collect()
}

fn valid_range(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l <= u,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => l < u,
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_a_btreemap_across_reopens_and_power_cuts(ops in proptest::collection::vec(op(), 1..120)) {
        let sim = SimVfs::new();
        let (mut store, mut tree) = open(&sim);
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    let mut b = WriteBatch::new();
                    b.put(tree, k.clone(), v.clone());
                    store.commit(b).unwrap();
                    model.insert(k, v);
                }
                Op::Delete(k) => {
                    let mut b = WriteBatch::new();
                    b.delete(tree, k.clone());
                    store.commit(b).unwrap();
                    model.remove(&k);
                }
                Op::Batch(items) => {
                    let mut b = WriteBatch::new();
                    for (k, v) in items {
                        match v {
                            Some(v) => { b.put(tree, k.clone(), v.clone()); model.insert(k, v); }
                            None => { b.delete(tree, k.clone()); model.remove(&k); }
                        }
                    }
                    store.commit(b).unwrap();
                }
                Op::Get(k) => prop_assert_eq!(store.get(tree, &k).unwrap(), model.get(&k).cloned()),
                Op::Scan(lower, upper, reverse) => {
                    if valid_range(&lower, &upper) {
                        let expect: Vec<_> = model.range((lower.clone(), upper.clone())).map(|(k, v)| (k.clone(), v.clone())).collect();
                        let dir = if reverse { Direction::Backward } else { Direction::Forward };
                        let mut got = scan(&store, tree, lower, upper, dir);
                        if reverse { got.reverse(); }
                        prop_assert_eq!(got, expect);
                    }
                }
                Op::Checkpoint => store.checkpoint().unwrap(),
                Op::Reopen => {
                    store.close().unwrap();
                    (store, tree) = open(&sim);
                }
                Op::PowerCut(seed) => {
                    drop(store);
                    sim.crash(seed);
                    (store, tree) = open(&sim);
                }
            }
        }
        let all = scan(&store, tree, Bound::Unbounded, Bound::Unbounded, Direction::Forward);
        prop_assert_eq!(all.len(), model.len());
        prop_assert!(all.into_iter().eq(model.clone()));
        let report = store.check_integrity().unwrap();
        prop_assert_eq!(report.entries as usize, model.len());
    }
}

#[test]
fn deleting_everything_returns_pages_to_the_free_list() {
    let sim = SimVfs::new();
    let (store, tree) = open(&sim);
    for round in 0..2 {
        let mut b = WriteBatch::new();
        for i in 0..3000u32 {
            b.put(tree, i.to_be_bytes().to_vec(), vec![round as u8; 200]);
        }
        store.commit(b).unwrap();
        let grown = store.check_integrity().unwrap();
        let mut b = WriteBatch::new();
        for i in 0..3000u32 {
            b.delete(tree, i.to_be_bytes().to_vec());
        }
        store.commit(b).unwrap();
        let emptied = store.check_integrity().unwrap();
        assert_eq!(emptied.entries, 0);
        assert_eq!(emptied.page_count, grown.page_count, "no page leaked");
        assert!(
            emptied.free_pages + 10 > grown.page_count - 4,
            "nearly every page is free again: {emptied:?}"
        );
    }
}

#[test]
fn dropped_trees_give_their_pages_back_and_names_can_be_reused() {
    let sim = SimVfs::new();
    let (store, _) = open(&sim);
    let u = store.create_tree("u").unwrap();
    let mut b = WriteBatch::new();
    for i in 0..2000u32 {
        b.put(u, i.to_be_bytes().to_vec(), vec![1; 100]);
    }
    store.commit(b).unwrap();
    assert!(matches!(
        store.create_tree("u"),
        Err(rustydb_engine::storage::StorageError::TreeExists(_))
    ));
    store.drop_tree("u").unwrap();
    assert_eq!(store.tree("u").unwrap(), None);
    assert!(store.get(u, b"x").is_err(), "the old id is gone");
    let report = store.check_integrity().unwrap();
    assert!(report.free_pages > 20);
    let u2 = store.create_tree("u").unwrap();
    assert_ne!(u, u2, "tree ids are never reused");
    store.close().unwrap();
    let (store, _) = open(&sim);
    assert_eq!(store.tree("u").unwrap(), Some(u2));
}

#[test]
fn stamped_puts_carry_their_commit_lsn_through_replay() {
    let sim = SimVfs::new();
    let (store, tree) = open(&sim);
    let mut lsns = Vec::new();
    for v in [b"one", b"two"] {
        let mut b = WriteBatch::new();
        b.put_stamped(tree, b"row".to_vec(), v.to_vec());
        lsns.push(store.commit(b).unwrap());
    }
    let versions = |store: &Store| -> Vec<(u64, Vec<u8>)> {
        scan(
            store,
            tree,
            Bound::Unbounded,
            Bound::Unbounded,
            Direction::Forward,
        )
        .into_iter()
        .map(|(k, v)| {
            assert_eq!(&k[..3], b"row");
            (rustydb_engine::storage::stamp_lsn(&k[3..]).unwrap(), v)
        })
        .collect()
    };
    let expected = vec![(lsns[1], b"two".to_vec()), (lsns[0], b"one".to_vec())];
    assert_eq!(versions(&store), expected, "newest version first");
    assert_eq!(store.applied_lsn(), lsns[1]);
    drop(store);
    sim.crash(1);
    let (store, _) = open(&sim);
    assert_eq!(versions(&store), expected, "replay stamps the same LSNs");
}
