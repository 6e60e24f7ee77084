//! The statement's transaction shared by the executor and the trigger
//! functions' nested session while a writing statement runs (see
//! `hooks.rs`): every operation is forwarded under a mutex, which the two
//! take in turn on one thread.

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use parking_lot::Mutex;

use super::error::SqlError;
use crate::catalog::{KvTxn, LockStrength, LockWait, RowLock, ScanKey};

/// A handle to a transaction several holders use in turn.
#[derive(Clone)]
pub(crate) struct SharedTxn(Arc<Mutex<Option<Box<dyn KvTxn>>>>);

impl SharedTxn {
    pub(super) fn new(txn: Box<dyn KvTxn>) -> SharedTxn {
        SharedTxn(Arc::new(Mutex::new(Some(txn))))
    }

    /// The transaction, out of every handle.
    pub(super) fn take(&self) -> Option<Box<dyn KvTxn>> {
        self.0.lock().take()
    }

    fn with<R>(&self, f: impl FnOnce(&mut dyn KvTxn) -> crate::Result<R>) -> crate::Result<R> {
        match self.0.lock().as_mut() {
            Some(t) => f(t.as_mut()),
            None => Err(crate::Error::from(SqlError::Internal(
                "the statement's transaction is gone".into(),
            ))),
        }
    }
}

impl KvTxn for SharedTxn {
    fn begin_statement(&mut self) {
        if let Some(t) = self.0.lock().as_mut() {
            t.begin_statement();
        }
    }

    fn get(&mut self, key: &[u8]) -> crate::Result<Option<Vec<u8>>> {
        self.with(|t| t.get(key))
    }

    fn scan_chunk(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
    ) -> crate::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.with(|t| t.scan_chunk(lower, upper, reverse, limit))
    }

    fn scan_visit(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
        visit: &mut dyn FnMut(ScanKey<'_>, &[u8]) -> bool,
    ) -> crate::Result<usize> {
        self.with(|t| t.scan_visit(lower, upper, reverse, limit, visit))
    }

    fn scan_chunk_current(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        limit: usize,
    ) -> crate::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.with(|t| t.scan_chunk_current(lower, upper, limit))
    }

    fn get_current(&mut self, key: &[u8]) -> crate::Result<Option<Vec<u8>>> {
        self.with(|t| t.get_current(key))
    }

    fn lock_shared(&mut self, key: &[u8], nowait: bool) -> crate::Result<Option<Vec<u8>>> {
        self.with(|t| t.lock_shared(key, nowait))
    }

    fn lock_row(
        &mut self,
        key: &[u8],
        strength: LockStrength,
        wait: LockWait,
    ) -> crate::Result<RowLock> {
        self.with(|t| t.lock_row(key, strength, wait))
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> crate::Result<()> {
        self.with(|t| t.put(key, value))
    }

    fn insert(&mut self, key: &[u8], value: &[u8]) -> crate::Result<bool> {
        self.with(|t| t.insert(key, value))
    }

    fn insert_fresh(&mut self, key: &[u8], value: Vec<u8>) -> crate::Result<()> {
        self.with(|t| t.insert_fresh(key, value))
    }

    fn seed_fresh(
        &mut self,
        prefix: &[u8],
        seed: &mut dyn FnMut(Option<&[u8]>) -> crate::Result<()>,
    ) -> crate::Result<()> {
        self.with(|t| t.seed_fresh(prefix, seed))
    }

    fn delete(&mut self, key: &[u8]) -> crate::Result<bool> {
        self.with(|t| t.delete(key))
    }

    fn savepoint(&mut self, name: &str) {
        if let Some(t) = self.0.lock().as_mut() {
            t.savepoint(name);
        }
    }

    fn rollback_to(&mut self, name: &str) -> crate::Result<()> {
        self.with(|t| t.rollback_to(name))
    }

    fn release(&mut self, name: &str) -> crate::Result<()> {
        self.with(|t| t.release(name))
    }

    fn set_cancel(&mut self, flag: Arc<AtomicBool>) {
        if let Some(t) = self.0.lock().as_mut() {
            t.set_cancel(flag);
        }
    }

    fn set_lock_timeout(&mut self, timeout: Option<Duration>) {
        if let Some(t) = self.0.lock().as_mut() {
            t.set_lock_timeout(timeout);
        }
    }

    // A handle is lent to nested sessions, which run inside a block and
    // never end it; the owner ends the transaction after taking it back.
    fn commit(self: Box<Self>) -> crate::Result<()> {
        Err(crate::Error::from(SqlError::Internal(
            "a nested session cannot commit its caller's transaction".into(),
        )))
    }

    fn rollback(self: Box<Self>) {}
}
