//! Transactions over time as specifications: a concurrent bank whose money
//! is conserved across a reopen, version reclamation by vacuum, and
//! commits across a power cut.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod txn_support;

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rustydb_engine::mvcc::{Mvcc, MvccOptions, Transaction, TxnError};
use rustydb_engine::storage::io::SimVfs;
use rustydb_engine::storage::{Direction, Store};

use txn_support::*;

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
