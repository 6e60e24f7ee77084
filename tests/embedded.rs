//! The root package as an embedder sees it: the engine re-exported under
//! `rustydb::engine`, opened on a directory, used and reopened.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use rustydb::engine::storage::{Store, StoreOptions, WriteBatch};
use rustydb::engine::{Error, SqlState};

#[test]
fn an_embedded_store_keeps_committed_data_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let accounts = store.create_tree("accounts").unwrap();
        let mut batch = WriteBatch::new();
        batch.put(accounts, b"alice".to_vec(), b"100".to_vec());
        batch.put(accounts, b"bob".to_vec(), b"50".to_vec());
        store.commit(batch).unwrap();
        store.close().unwrap();
    }
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let accounts = store.tree("accounts").unwrap().unwrap();
    assert_eq!(
        store.get(accounts, b"alice").unwrap(),
        Some(b"100".to_vec())
    );
    assert_eq!(store.get(accounts, b"bob").unwrap(), Some(b"50".to_vec()));
}

#[test]
fn storage_errors_reach_the_embedder_with_a_sqlstate() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let t = store.create_tree("t").unwrap();
    let mut batch = WriteBatch::new();
    batch.put(t, vec![0u8; 5000], b"v".to_vec());
    let err = Error::from(store.commit(batch).unwrap_err());
    assert_eq!(err.sqlstate(), SqlState::PROGRAM_LIMIT_EXCEEDED);
}
