//! Specifications of the B+tree, checked against `std::collections::BTreeMap`.

use std::collections::BTreeMap;
use std::ops::Bound;

use proptest::collection::vec;
use proptest::prelude::*;

use super::node::INLINE_MAX;
use super::testutil::MemPages;
use super::{BTree, Cursor, Direction};
use crate::storage::error::StorageError;
use crate::storage::page::{MAX_KEY_LEN, PageAccess};

pub(super) type Model = BTreeMap<Vec<u8>, Vec<u8>>;
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

fn scan(
    tree: &BTree,
    pages: &MemPages,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    dir: Direction,
    max: usize,
) -> Result<Entries, StorageError> {
    let mut cursor = Cursor::new(lower, upper, dir);
    let mut out = Vec::new();
    while cursor.fill(tree, pages, max)? {
        assert!(cursor.chunk_len() <= max.max(1));
        out.extend(cursor.chunk().map(|(k, v)| (k.to_vec(), v.to_vec())));
    }
    Ok(out)
}

fn model_scan(
    model: &Model,
    lower: &Bound<Vec<u8>>,
    upper: &Bound<Vec<u8>>,
    dir: Direction,
) -> Entries {
    let inside = |k: &Vec<u8>| {
        let above = match lower {
            Bound::Included(l) => k >= l,
            Bound::Excluded(l) => k > l,
            Bound::Unbounded => true,
        };
        let below = match upper {
            Bound::Included(u) => k <= u,
            Bound::Excluded(u) => k < u,
            Bound::Unbounded => true,
        };
        above && below
    };
    let mut out: Vec<_> = model
        .iter()
        .filter(|(k, _)| inside(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if dir == Direction::Backward {
        out.reverse();
    }
    out
}

/// Asserts the tree is sound, holds exactly the model, and owns every live
/// page of the page layer (so nothing leaked).
pub(super) fn assert_matches(tree: &BTree, pages: &MemPages, model: &Model) {
    let check = tree.check(pages).unwrap();
    assert_eq!(check.entries, model.len() as u64);
    assert_eq!(
        check.pages,
        pages.ids(),
        "tree pages differ from live pages"
    );
    let all = model_scan(
        model,
        &Bound::Unbounded,
        &Bound::Unbounded,
        Direction::Forward,
    );
    let forward = scan(
        tree,
        pages,
        Bound::Unbounded,
        Bound::Unbounded,
        Direction::Forward,
        64,
    );
    assert_eq!(forward.unwrap(), all);
}

fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub(super) fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => vec(0u8..4, 0..6),
        3 => (vec(0u8..4, 0..3), 0..=MAX_KEY_LEN, 0u8..4).prop_map(|(mut k, n, b)| {
            k.extend(std::iter::repeat_n(b, n));
            k.truncate(MAX_KEY_LEN);
            k
        }),
        1 => (any::<u64>(), 0..=MAX_KEY_LEN).prop_map(|(s, n)| pseudo_random(s, n)),
    ]
}

pub(super) fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => vec(any::<u8>(), 0..40),
        3 => (any::<u64>(), 0..INLINE_MAX + 400).prop_map(|(s, n)| pseudo_random(s, n)),
        1 => (any::<u8>(), INLINE_MAX + 1..40_000).prop_map(|(b, n)| vec![b; n]),
        1 => (any::<u64>(), 8_000..20_000usize).prop_map(|(s, n)| pseudo_random(s, n)),
    ]
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        Just(Bound::Unbounded),
        key().prop_map(Bound::Included),
        key().prop_map(Bound::Excluded),
    ]
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::Forward), Just(Direction::Backward)]
}

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Get(Vec<u8>),
    Scan(Bound<Vec<u8>>, Bound<Vec<u8>>, Direction, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (key(), value()).prop_map(|(k, v)| Op::Put(k, v)),
        4 => key().prop_map(Op::Delete),
        2 => key().prop_map(Op::Get),
        1 => (bound(), bound(), direction(), 0..40usize).prop_map(|(l, u, d, m)| Op::Scan(l, u, d, m)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Any sequence of operations behaves like an in-memory ordered map, the
    /// tree stays sound throughout, and deleting everything leaves only the
    /// root page allocated.
    #[test]
    fn behaves_like_btreemap(ops in vec(op(), 1..1200)) {
        let pages = MemPages::new();
        let tree = BTree::create(&pages).unwrap();
        let mut model = Model::new();
        for (n, op) in ops.into_iter().enumerate() {
            match op {
                Op::Put(k, v) => {
                    let existed = tree.put(&pages, &k, &v).unwrap();
                    prop_assert_eq!(existed, model.insert(k, v).is_some());
                }
                Op::Delete(k) => {
                    let existed = tree.delete(&pages, &k).unwrap();
                    prop_assert_eq!(existed, model.remove(&k).is_some());
                }
                Op::Get(k) => prop_assert_eq!(tree.get(&pages, &k).unwrap(), model.get(&k).cloned()),
                Op::Scan(l, u, d, m) => {
                    let got = scan(&tree, &pages, l.clone(), u.clone(), d, m).unwrap();
                    prop_assert_eq!(got, model_scan(&model, &l, &u, d));
                }
            }
            if n % 16 == 0 {
                assert_matches(&tree, &pages, &model);
            }
        }
        assert_matches(&tree, &pages, &model);
        let backward = scan(&tree, &pages, Bound::Unbounded, Bound::Unbounded, Direction::Backward, 7);
        prop_assert_eq!(backward.unwrap(), model_scan(&model, &Bound::Unbounded, &Bound::Unbounded, Direction::Backward));
        let keys: Vec<_> = model.keys().cloned().collect();
        // Interleave deletes from both ends so merges happen on both sides.
        let (front, back) = keys.split_at(keys.len() / 2);
        for (i, k) in front.iter().zip(back.iter().rev()).flat_map(|(a, b)| [a, b]).chain(back.first().filter(|_| back.len() > front.len())).enumerate() {
            prop_assert!(tree.delete(&pages, k).unwrap());
            model.remove(k);
            if i % 8 == 0 {
                assert_matches(&tree, &pages, &model);
            }
        }
        assert_matches(&tree, &pages, &model);
        prop_assert_eq!(pages.live(), 1);
        prop_assert_eq!(pages.ids(), vec![tree.root()]);
    }

    /// Flipped bytes anywhere in any page make operations fail with a
    /// corruption error (or go unnoticed), but never panic.
    #[test]
    fn corruption_never_panics(
        flips in vec((any::<prop::sample::Index>(), prop_oneof![0..64usize, 0..8192usize], 1u8..), 1..4),
    ) {
        let pages = MemPages::new();
        let tree = BTree::create(&pages).unwrap();
        for i in 0..300u32 {
            let k = format!("key{:05}", i * 7 % 300).into_bytes();
            let v = if i % 50 == 0 { pseudo_random(u64::from(i), 5000) } else { vec![i as u8; (i % 90) as usize] };
            tree.put(&pages, &k, &v).unwrap();
        }
        let ids = pages.ids();
        for (page, offset, xor) in flips {
            pages.corrupt_byte(*page.get(&ids), offset, xor);
        }
        let acceptable = |r: &Result<_, StorageError>| matches!(r, Ok(_) | Err(StorageError::Corrupt(_) | StorageError::CorruptPage { .. }));
        prop_assert!(acceptable(&tree.check(&pages).map(|_| ())));
        for i in (0..300u32).step_by(13) {
            let k = format!("key{i:05}").into_bytes();
            prop_assert!(acceptable(&tree.get(&pages, &k).map(|_| ())));
        }
        for dir in [Direction::Forward, Direction::Backward] {
            let r = scan(&tree, &pages, Bound::Unbounded, Bound::Unbounded, dir, 50);
            prop_assert!(acceptable(&r.map(|_| ())));
        }
        prop_assert!(acceptable(&tree.put(&pages, b"key00150", &[7; 3000]).map(|_| ())));
        let run = [(b"key00151a", [1; 40]), (b"key00151b", [2; 40])];
        prop_assert!(acceptable(&tree.put_run(&pages, &run).map(|_| ())));
        prop_assert!(acceptable(&tree.first_with_prefix(&pages, b"key0015").map(|_| ())));
        prop_assert!(acceptable(&tree.delete(&pages, b"key00100").map(|_| ())));
        prop_assert!(acceptable(&tree.destroy(&pages)));
    }
}

#[test]
fn root_page_is_stable_across_splits_and_collapse() {
    let pages = MemPages::new();
    let tree = BTree::create(&pages).unwrap();
    let root = tree.root();
    // A long common prefix keeps separators long, so internal nodes split too.
    let key = |i: u32| format!("{}{i:08}", "k".repeat(300)).into_bytes();
    for i in 0..5000 {
        tree.put(&pages, &key(i), &[1; 100]).unwrap();
    }
    let grown = tree.check(&pages).unwrap();
    assert!(grown.depth >= 3, "depth {}", grown.depth);
    assert_eq!(tree.root(), root);
    for i in 0..5000 {
        assert!(tree.delete(&pages, &key(i)).unwrap());
    }
    let shrunk = tree.check(&pages).unwrap();
    assert_eq!(
        (shrunk.depth, shrunk.entries, shrunk.pages.clone()),
        (1, 0, vec![root])
    );
    assert_eq!(pages.live(), 1);
    assert_eq!(BTree::open(root).get(&pages, &key(1)).unwrap(), None);
}

#[test]
fn put_overwrites_and_reports_existence() {
    let pages = MemPages::new();
    let tree = BTree::create(&pages).unwrap();
    assert!(!tree.put(&pages, b"a", b"1").unwrap());
    assert!(tree.put(&pages, b"a", b"2").unwrap());
    assert_eq!(tree.get(&pages, b"a").unwrap(), Some(b"2".to_vec()));
    assert!(tree.delete(&pages, b"a").unwrap());
    assert!(!tree.delete(&pages, b"a").unwrap());
    assert_eq!(tree.get(&pages, b"a").unwrap(), None);
}

#[test]
fn empty_key_and_empty_value_are_ordinary() {
    let pages = MemPages::new();
    let tree = BTree::create(&pages).unwrap();
    tree.put(&pages, b"", b"").unwrap();
    tree.put(&pages, b"\0", b"x").unwrap();
    assert_eq!(tree.get(&pages, b"").unwrap(), Some(Vec::new()));
    let all = scan(
        &tree,
        &pages,
        Bound::Unbounded,
        Bound::Unbounded,
        Direction::Forward,
        1,
    )
    .unwrap();
    assert_eq!(all, vec![(vec![], vec![]), (vec![0], b"x".to_vec())]);
}

#[test]
fn oversized_keys_are_rejected() {
    let pages = MemPages::new();
    let tree = BTree::create(&pages).unwrap();
    let long = vec![0; MAX_KEY_LEN + 1];
    assert!(
        matches!(tree.put(&pages, &long, b"v"), Err(StorageError::KeyTooLarge { len, max }) if len == MAX_KEY_LEN + 1 && max == MAX_KEY_LEN)
    );
    assert!(matches!(
        tree.get(&pages, &long),
        Err(StorageError::KeyTooLarge { .. })
    ));
    assert!(matches!(
        tree.delete(&pages, &long),
        Err(StorageError::KeyTooLarge { .. })
    ));
    tree.put(&pages, &long[..MAX_KEY_LEN], b"v").unwrap();
    assert_eq!(tree.check(&pages).unwrap().entries, 1);
}

#[test]
fn long_values_live_in_compressed_chains_that_are_freed() {
    let pages = MemPages::new();
    let tree = BTree::create(&pages).unwrap();
    let noisy = pseudo_random(42, 50_000);
    tree.put(&pages, b"noisy", &noisy).unwrap();
    tree.put(&pages, b"zeros", &vec![0; 1_000_000]).unwrap();
    let check = tree.check(&pages).unwrap();
    assert!(check.overflow_pages >= 7, "{check:?}");
    assert_eq!(tree.get(&pages, b"noisy").unwrap(), Some(noisy));
    assert_eq!(
        tree.get(&pages, b"zeros").unwrap().map(|v| v.len()),
        Some(1_000_000)
    );
    tree.put(&pages, b"noisy", b"short now").unwrap();
    tree.delete(&pages, b"zeros").unwrap();
    assert_eq!(tree.check(&pages).unwrap().overflow_pages, 0);
    assert_eq!(pages.live(), 1);
}

#[test]
fn destroy_frees_every_page() {
    let pages = MemPages::new();
    let tree = BTree::create(&pages).unwrap();
    for i in 0..2000u32 {
        let v = if i % 100 == 0 {
            vec![3; 10_000]
        } else {
            vec![1; 50]
        };
        tree.put(&pages, &i.to_be_bytes(), &v).unwrap();
    }
    assert!(pages.live() > 10);
    tree.destroy(&pages).unwrap();
    assert_eq!(pages.live(), 0);
}

#[test]
fn corrupted_pages_are_reported() {
    let pages = MemPages::new();
    let tree = BTree::create(&pages).unwrap();
    for i in 0..1000u32 {
        tree.put(&pages, &i.to_be_bytes(), &[5; 40]).unwrap();
    }
    let leaf = pages
        .ids()
        .into_iter()
        .find(|&id| id != tree.root())
        .unwrap();
    // Point the first slot of a leaf past the end of the page.
    pages
        .write_page(leaf, |p| p[16..18].copy_from_slice(&[0xff, 0xff]))
        .unwrap();
    assert!(matches!(tree.check(&pages), Err(StorageError::Corrupt(_))));
    let hits = (0..1000u32)
        .filter(|i| {
            matches!(
                tree.get(&pages, &i.to_be_bytes()),
                Err(StorageError::Corrupt(_))
            )
        })
        .count();
    assert!(hits > 0);
    // An unknown node kind at the root stops every operation.
    pages.write_page(tree.root(), |p| p[0] = 9).unwrap();
    assert!(matches!(
        tree.get(&pages, b"k"),
        Err(StorageError::Corrupt(_))
    ));
    assert!(matches!(
        tree.put(&pages, b"k", b"v"),
        Err(StorageError::Corrupt(_))
    ));
    let r = scan(
        &tree,
        &pages,
        Bound::Unbounded,
        Bound::Unbounded,
        Direction::Backward,
        10,
    );
    assert!(matches!(r, Err(StorageError::Corrupt(_))));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The prefix probe finds what a scan from the prefix would find first,
    /// when that starts with the prefix, also where the family begins in
    /// the leaf after the probe's.
    #[test]
    fn prefix_probe_is_the_first_of_the_family(
        entries in vec((vec(0u8..3, 0..8), vec(any::<u8>(), 0..300)), 0..900),
        prefixes in vec(vec(0u8..3, 0..6), 1..60),
    ) {
        let pages = MemPages::new();
        let tree = BTree::create(&pages).unwrap();
        let mut model = Model::new();
        for (k, v) in entries {
            tree.put(&pages, &k, &v).unwrap();
            model.insert(k, v);
        }
        for prefix in prefixes {
            let expected = model
                .range(prefix.clone()..)
                .next()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(k, v)| (k.clone(), v.clone()));
            prop_assert_eq!(tree.first_with_prefix(&pages, &prefix).unwrap(), expected);
        }
    }
}
