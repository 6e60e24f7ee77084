//! What the transaction tests share: a store on the simulated disk with an
//! MVCC layer over it, and small readers of keys and ranges.
#![allow(dead_code)] // each test file uses some of these

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use rustydb_engine::mvcc::{IsolationLevel, Mvcc, MvccOptions, Transaction, TxnError, TxnOptions};
use rustydb_engine::storage::io::SimVfs;
use rustydb_engine::storage::{Direction, Store, StoreOptions};

pub const RC: TxnOptions = TxnOptions {
    isolation: IsolationLevel::ReadCommitted,
    read_only: false,
    lock_timeout: None,
};
pub const RR: TxnOptions = TxnOptions {
    isolation: IsolationLevel::RepeatableRead,
    read_only: false,
    lock_timeout: None,
};

pub fn store_options(sim: &SimVfs) -> StoreOptions {
    StoreOptions {
        buffer_pool_bytes: 512 * 8192,
        vfs: Arc::new(sim.clone()),
        ..StoreOptions::default()
    }
}

pub fn open_store(sim: &SimVfs) -> Arc<Store> {
    Arc::new(Store::open(Path::new("/db"), store_options(sim)).unwrap())
}

/// A store and an MVCC layer on it, without the background vacuum so that
/// tests decide when versions go.
pub fn open(sim: &SimVfs) -> (Arc<Store>, Mvcc) {
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

pub fn fresh() -> (SimVfs, Arc<Store>, Mvcc) {
    let sim = SimVfs::new();
    let (store, mvcc) = open(&sim);
    (sim, store, mvcc)
}

pub fn commit_puts(mvcc: &Mvcc, rows: &[(&str, &str)]) -> u64 {
    let mut t = mvcc.begin(RC);
    t.begin_statement();
    for (k, v) in rows {
        t.put(k.as_bytes(), v.as_bytes()).unwrap();
    }
    t.commit().unwrap()
}

pub fn get(t: &mut Transaction, key: &str) -> Option<String> {
    t.get(key.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

pub fn scan_all(t: &mut Transaction, dir: Direction) -> Vec<(String, String)> {
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
pub fn visit_paged(
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

pub fn sqlstate(e: TxnError) -> &'static str {
    rustydb_engine::Error::from(e).sqlstate().code()
}

pub fn pairs(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
