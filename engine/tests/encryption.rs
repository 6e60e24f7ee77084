//! Encryption at rest: pages and WAL records are AES-256-GCM sealed; a
//! wrong key, a missing key or a tampered byte is a clear error, never
//! garbage rows.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use rustydb_engine::storage::io::{OsVfs, Vfs};
use rustydb_engine::storage::{Cipher, Direction, StorageError, Store, StoreOptions, WriteBatch};

const SECRET: &[u8] = b"the-secret-balance-of-account-42";

fn options(key: Option<[u8; 32]>) -> StoreOptions {
    StoreOptions {
        cipher: key.map(|k| Arc::new(Cipher::from_key(&k))),
        ..StoreOptions::default()
    }
}

fn write_secret(dir: &Path, key: [u8; 32], checkpoint: bool) {
    let store = Store::open(dir, options(Some(key))).unwrap();
    let t = store.create_tree("t").unwrap();
    let mut b = WriteBatch::new();
    for i in 0..500u32 {
        b.put(t, i.to_be_bytes().to_vec(), SECRET.to_vec());
    }
    store.commit(b).unwrap();
    if checkpoint {
        store.close().unwrap();
    }
}

fn all_file_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.extend(std::fs::read(p).unwrap())
            }
        }
    }
    out
}

#[test]
fn no_plaintext_reaches_the_disk_and_the_right_key_reads_it_back() {
    for checkpoint in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        write_secret(dir.path(), [7; 32], checkpoint);
        let bytes = all_file_bytes(dir.path());
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET),
            "plaintext found on disk"
        );
        let store = Store::open(dir.path(), options(Some([7; 32]))).unwrap();
        let t = store.tree("t").unwrap().unwrap();
        let rows: Vec<_> = store
            .scan(t, Bound::Unbounded, Bound::Unbounded, Direction::Forward)
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows.len(), 500);
        assert!(rows.iter().all(|(_, v)| v == SECRET));
    }
}

#[test]
fn a_wrong_or_missing_key_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    write_secret(dir.path(), [7; 32], true);
    let wrong = Store::open(dir.path(), options(Some([8; 32]))).unwrap_err();
    assert!(matches!(wrong, StorageError::Key(_)), "{wrong}");
    let missing = Store::open(dir.path(), options(None)).unwrap_err();
    assert!(matches!(missing, StorageError::Key(_)), "{missing}");
    assert!(missing.to_string().contains("encrypted"));
}

#[test]
fn a_key_for_a_plain_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path(), options(None))
        .unwrap()
        .close()
        .unwrap();
    assert!(matches!(
        Store::open(dir.path(), options(Some([1; 32]))),
        Err(StorageError::Key(_))
    ));
}

#[test]
fn a_tampered_page_is_an_error_not_garbage() {
    let dir = tempfile::tempdir().unwrap();
    write_secret(dir.path(), [7; 32], true);
    let data = dir.path().join("data.rdb");
    let len = std::fs::metadata(&data).unwrap().len();
    let file = OsVfs.open(&data, false).unwrap();
    // Flip one byte in every page after the fixed ones.
    let mut offset = 3 * 8192 + 100;
    while offset < len {
        let mut b = [0u8];
        file.read_exact_at(&mut b, offset).unwrap();
        file.write_all_at(&[b[0] ^ 0x40], offset).unwrap();
        offset += 8192;
    }
    drop(file);
    let store = Store::open(dir.path(), options(Some([7; 32]))).unwrap();
    let t = store.tree("t").unwrap().unwrap();
    let err = store
        .scan(t, Bound::Unbounded, Bound::Unbounded, Direction::Forward)
        .find_map(|r| r.err())
        .expect("a tampered page is detected");
    assert!(matches!(err, StorageError::CorruptPage { .. }), "{err}");
    assert!(store.check_integrity().is_err());
}
