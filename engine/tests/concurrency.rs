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

/// The bank: SQL sessions on threads move money between accounts
/// at REPEATABLE READ, retrying a transfer that fails with 40001 (or
/// 40P01). Each transfer is logged in the same transaction, so the log is
/// the ground truth: the total never changes, every transfer committed
/// exactly once, and each balance is what the log says it must be.
#[test]
fn sql_transfers_at_repeatable_read_lose_and_double_nothing() {
    use rustydb_engine::sql::{Database, DatabaseOptions, StatementResult};
    use rustydb_engine::types::Value;

    const ACCOUNTS: i64 = 6;
    const THREADS: i64 = 4;
    const TRANSFERS: i64 = 30;
    const START: i64 = 1000;

    let dir = tempfile::tempdir().unwrap();
    let mut options = DatabaseOptions::default();
    options.store.synchronous_commit = false;
    let db = Database::open(dir.path(), options).unwrap();
    let mut setup = db.session();
    setup
        .execute(
            "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL); \
             CREATE TABLE transfers (id int PRIMARY KEY, src int NOT NULL, dst int NOT NULL, amount bigint NOT NULL)",
        )
        .unwrap();
    for a in 0..ACCOUNTS {
        setup
            .execute(&format!("INSERT INTO accounts VALUES ({a}, {START})"))
            .unwrap();
    }

    let retries: i64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let db = db.clone();
                s.spawn(move || {
                    let mut session = db.session();
                    let mut retries = 0;
                    for i in 0..TRANSFERS {
                        let id = t * 1000 + i;
                        // Neighbouring accounts, so threads collide often.
                        let src = (t + i) % ACCOUNTS;
                        let dst = (src + 1 + i % 2) % ACCOUNTS;
                        let amount = 1 + (i % 7);
                        let script = format!(
                            "BEGIN ISOLATION LEVEL REPEATABLE READ; \
                             UPDATE accounts SET balance = balance - {amount} WHERE id = {src}; \
                             UPDATE accounts SET balance = balance + {amount} WHERE id = {dst}; \
                             INSERT INTO transfers VALUES ({id}, {src}, {dst}, {amount}); \
                             COMMIT"
                        );
                        loop {
                            match session.execute(&script) {
                                Ok(_) => break,
                                Err(e) => {
                                    let code = e.sqlstate().code();
                                    assert!(
                                        code == "40001" || code == "40P01",
                                        "transfer {id} failed with {code}: {e}"
                                    );
                                    session.execute("ROLLBACK").unwrap();
                                    retries += 1;
                                }
                            }
                        }
                    }
                    retries
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });

    let int = |v: &Value| match v {
        Value::Int8(n) => *n,
        Value::Int4(n) => i64::from(*n),
        // sum(bigint) is numeric
        Value::Numeric(d) => d.to_string().parse().unwrap(),
        other => panic!("not an integer: {other:?}"),
    };
    let rows = |sql: &str, session: &mut rustydb_engine::sql::Session| -> Vec<Vec<i64>> {
        match session.execute(sql).unwrap().pop().unwrap() {
            StatementResult::Rows { rows, .. } => {
                rows.iter().map(|r| r.iter().map(int).collect()).collect()
            }
            other => panic!("no rows: {other:?}"),
        }
    };
    let mut check = db.session();
    assert_eq!(
        rows("SELECT sum(balance) FROM accounts", &mut check),
        vec![vec![ACCOUNTS * START]]
    );
    let log = rows(
        "SELECT id, src, dst, amount FROM transfers ORDER BY id",
        &mut check,
    );
    let expected_ids: Vec<i64> = (0..THREADS)
        .flat_map(|t| (0..TRANSFERS).map(move |i| t * 1000 + i))
        .collect();
    let logged_ids: Vec<i64> = log.iter().map(|r| r[0]).collect();
    assert_eq!(
        logged_ids, expected_ids,
        "every transfer logged exactly once"
    );
    let mut expected = vec![START; ACCOUNTS as usize];
    for r in &log {
        expected[r[1] as usize] -= r[3];
        expected[r[2] as usize] += r[3];
    }
    let balances: Vec<i64> = rows("SELECT balance FROM accounts ORDER BY id", &mut check)
        .into_iter()
        .map(|r| r[0])
        .collect();
    assert_eq!(balances, expected, "balances agree with the transfer log");
    println!("{} transfers, {retries} retries on 40001/40P01", log.len());
}
