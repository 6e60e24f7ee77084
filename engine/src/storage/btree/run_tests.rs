//! Specifications of [`BTree::put_run`]: a run stores exactly what the same
//! puts one by one would, checked against `std::collections::BTreeMap`.

use proptest::collection::vec;
use proptest::prelude::*;

use super::BTree;
use super::tests::{Model, assert_matches, key, value};
use super::testutil::MemPages;

type Run = Vec<(Vec<u8>, Vec<u8>)>;

/// Stores all of `run` through [`BTree::put_run`], as a commit does;
/// returns the number of calls it took.
fn put_all(tree: &BTree, pages: &MemPages, run: &[(Vec<u8>, Vec<u8>)]) -> usize {
    let mut rest = run;
    let mut calls = 0;
    while !rest.is_empty() {
        let done = tree.put_run(pages, rest).unwrap();
        assert!(
            (1..=rest.len()).contains(&done),
            "stored {done} of {}",
            rest.len()
        );
        rest = &rest[done..];
        calls += 1;
    }
    calls
}

#[derive(Debug, Clone)]
enum Step {
    /// A run as given: unsorted, with repeats.
    Raw(Run),
    /// A run sorted without repeats, as a commit's write set is.
    Sorted(Run),
    /// Keys `prefix ‖ i` for ascending `i`: an append at one place.
    Append(Vec<u8>, u32, usize, usize),
    Delete(Vec<u8>),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => vec((key(), value()), 0..40).prop_map(Step::Raw),
        4 => vec((key(), value()), 0..200).prop_map(|mut run| {
            run.sort_by(|a, b| a.0.cmp(&b.0));
            run.dedup_by(|a, b| a.0 == b.0);
            Step::Sorted(run)
        }),
        3 => (vec(0u8..4, 0..4), any::<u32>(), 1..600usize, 0..300usize)
            .prop_map(|(p, start, n, len)| Step::Append(p, start, n, len)),
        2 => key().prop_map(Step::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Runs of every shape interleaved with deletes leave the tree sound
    /// and holding exactly what the same puts in order would.
    #[test]
    fn runs_behave_like_puts_in_order(steps in vec(step(), 1..40)) {
        let pages = MemPages::new();
        let tree = BTree::create(&pages).unwrap();
        let mut model = Model::new();
        for step in steps {
            let run = match step {
                Step::Raw(run) | Step::Sorted(run) => run,
                Step::Append(prefix, start, n, len) => (0..n)
                    .map(|i| {
                        let mut k = prefix.clone();
                        k.extend_from_slice(&start.wrapping_add(i as u32).to_be_bytes());
                        (k, vec![i as u8; len])
                    })
                    .collect(),
                Step::Delete(k) => {
                    prop_assert_eq!(tree.delete(&pages, &k).unwrap(), model.remove(&k).is_some());
                    continue;
                }
            };
            put_all(&tree, &pages, &run);
            model.extend(run);
            assert_matches(&tree, &pages, &model);
        }
        for k in model.keys() {
            prop_assert!(tree.delete(&pages, k).unwrap());
        }
        prop_assert_eq!(pages.ids(), vec![tree.root()]);
    }
}

#[test]
fn an_append_run_takes_one_call_per_leaf() {
    let pages = MemPages::new();
    let tree = BTree::create(&pages).unwrap();
    let key = |i: u32| format!("audit{i:08}").into_bytes();
    let run: Run = (0..20_000).map(|i| (key(i), vec![7; 60])).collect();
    let calls = put_all(&tree, &pages, &run);
    let check = tree.check(&pages).unwrap();
    let model: Model = run.iter().cloned().collect();
    assert_matches(&tree, &pages, &model);
    // A leaf takes about a hundred of these; each fills one in one call
    // and then splits it in another.
    assert!(
        calls < 20_000 / 20,
        "{calls} calls for {} pages",
        check.pages.len()
    );
    assert_eq!(tree.get(&pages, &key(12_345)).unwrap(), Some(vec![7; 60]));
}

#[test]
fn a_run_stops_where_keys_exist_or_stop_ascending() {
    let pages = MemPages::new();
    let tree = BTree::create(&pages).unwrap();
    tree.put(&pages, b"c", b"old").unwrap();
    let run: Run = [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]
        .map(|(k, v)| (k.into(), v.into()))
        .into();
    assert_eq!(tree.put_run(&pages, &run).unwrap(), 2);
    // The existing key goes through an ordinary put, which replaces it.
    assert_eq!(tree.put_run(&pages, &run[2..]).unwrap(), 1);
    assert_eq!(tree.get(&pages, b"c").unwrap(), Some(b"3".to_vec()));
    let descending: Run = [("z", "1"), ("y", "2")]
        .map(|(k, v)| (k.into(), v.into()))
        .into();
    assert_eq!(tree.put_run(&pages, &descending).unwrap(), 1);
    assert_eq!(tree.put_run(&pages, &Run::new()).unwrap(), 0);
}

#[test]
fn an_append_leaves_the_leaves_behind_it_three_quarters_full() {
    use crate::storage::page::PAGE_USABLE;
    let pages = MemPages::new();
    let tree = BTree::create(&pages).unwrap();
    // Two appends at once, as a trigger's commit makes them: a table's
    // rows, then its audit rows further on in the same tree.
    let run: Run = (0..40_000u32)
        .map(|i| {
            let table = if i < 20_000 { "items" } else { "log" };
            (format!("{table}{i:08}").into_bytes(), vec![7; 60])
        })
        .collect();
    put_all(&tree, &pages, &run);
    let check = tree.check(&pages).unwrap();
    let model: Model = run.iter().cloned().collect();
    assert_matches(&tree, &pages, &model);
    // 80 bytes a cell with its slot; split at the midpoint the leaves would
    // hold half a page each, about 790 of them.
    let bytes = 40_000 * 80;
    assert!(
        check.pages.len() < bytes / (PAGE_USABLE * 7 / 10),
        "{} pages for {bytes} bytes",
        check.pages.len()
    );
    // Whatever comes between keys of the full leaves later still fits.
    let between: Run = (0..2_000u32)
        .map(|i| (format!("items{:08}x", i * 10).into_bytes(), vec![1; 30]))
        .collect();
    put_all(&tree, &pages, &between);
    tree.check(&pages).unwrap();
    let model: Model = run.into_iter().chain(between).collect();
    assert_matches(&tree, &pages, &model);
}
