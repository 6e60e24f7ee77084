//! Range reads of a transaction as specifications: what a visited scan
//! lends and sees, against the iterator and against a model.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod txn_support;

use std::collections::BTreeMap;
use std::ops::Bound;

use proptest::prelude::*;
use rustydb_engine::mvcc::Transaction;
use rustydb_engine::storage::Direction;

use txn_support::*;

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
