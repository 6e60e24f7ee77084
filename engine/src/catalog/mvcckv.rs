//! The production [`KvStore`]: the MVCC layer's transactions behind the
//! seam the catalog and SQL layer use.
//!
//! Errors keep their transaction-layer type ([`crate::Error::Txn`]) so a
//! client sees 40001, 40P01, 55P03 or 57014 as PostgreSQL would send them;
//! only `KeyExists` becomes the `Ok(false)` of [`KvTxn::insert`], because
//! the SQL layer knows which constraint the key belongs to.

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::kv::{Isolation, KvStore, KvTxn, LockStrength, LockWait, RowLock, TxnConfig};
use crate::Result;
use crate::mvcc::{
    IsolationLevel, LockMode, Mvcc, RowVersion, ScanKey, Transaction, TxnError, TxnOptions,
};
use crate::storage::Direction;

/// A [`KvStore`] over one [`Mvcc`].
#[derive(Clone)]
pub struct MvccKv {
    mvcc: Mvcc,
}

impl MvccKv {
    /// Wraps an opened MVCC layer (open one per store, and share it).
    pub fn new(mvcc: Mvcc) -> MvccKv {
        MvccKv { mvcc }
    }
}

impl KvStore for MvccKv {
    fn begin(&self, config: TxnConfig) -> Box<dyn KvTxn> {
        let isolation = match config.isolation {
            Isolation::ReadCommitted => IsolationLevel::ReadCommitted,
            Isolation::RepeatableRead => IsolationLevel::RepeatableRead,
            Isolation::Serializable => IsolationLevel::Serializable,
        };
        Box::new(MvccTxn(self.mvcc.begin(TxnOptions {
            isolation,
            read_only: config.read_only,
            lock_timeout: None,
        })))
    }
}

struct MvccTxn(Transaction);

fn direction(reverse: bool) -> Direction {
    if reverse {
        Direction::Backward
    } else {
        Direction::Forward
    }
}

impl KvTxn for MvccTxn {
    fn begin_statement(&mut self) {
        self.0.begin_statement();
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.0.get(key)?)
    }

    fn scan_chunk(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let rows = self
            .0
            .scan(lower, upper, direction(reverse))
            .take(limit)
            .collect::<std::result::Result<Vec<_>, TxnError>>()?;
        Ok(rows)
    }

    fn scan_visit(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
        visit: &mut dyn FnMut(ScanKey<'_>, &[u8]) -> bool,
    ) -> Result<usize> {
        Ok(self
            .0
            .scan(lower, upper, direction(reverse))
            .visit(limit, visit)?)
    }

    fn scan_chunk_current(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let rows = self
            .0
            .scan_current(lower, upper, Direction::Forward)?
            .take(limit)
            .collect::<std::result::Result<Vec<_>, TxnError>>()?;
        Ok(rows)
    }

    fn get_current(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.0.get_current(key)?)
    }

    fn lock_shared(&mut self, key: &[u8], nowait: bool) -> Result<Option<Vec<u8>>> {
        Ok(self.0.lock_shared(key, nowait)?)
    }

    fn lock_row(&mut self, key: &[u8], strength: LockStrength, wait: LockWait) -> Result<RowLock> {
        let mode = match strength {
            LockStrength::Update => LockMode::Exclusive,
            LockStrength::Share => LockMode::Shared,
        };
        match self.0.lock_row(key, mode, wait != LockWait::Block) {
            Ok(RowVersion::Unchanged) => Ok(RowLock::Unchanged),
            Ok(RowVersion::Changed(row)) => Ok(RowLock::Changed(row)),
            Err(TxnError::LockNotAvailable) if wait == LockWait::SkipLocked => Ok(RowLock::Skipped),
            Err(e) => Err(e.into()),
        }
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self.0.put(key, value)?)
    }

    fn insert(&mut self, key: &[u8], value: &[u8]) -> Result<bool> {
        match self.0.insert(key, value) {
            Ok(()) => Ok(true),
            Err(TxnError::KeyExists) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn insert_fresh(&mut self, key: &[u8], value: Vec<u8>) -> Result<()> {
        Ok(self.0.insert_fresh(key, value)?)
    }

    fn seed_fresh(
        &mut self,
        prefix: &[u8],
        seed: &mut dyn FnMut(Option<&[u8]>) -> Result<()>,
    ) -> Result<()> {
        self.0.seed_fresh(prefix, seed)
    }

    fn delete(&mut self, key: &[u8]) -> Result<bool> {
        Ok(self.0.delete(key)?)
    }

    fn savepoint(&mut self, name: &str) {
        self.0.savepoint(name);
    }

    fn rollback_to(&mut self, name: &str) -> Result<()> {
        Ok(self.0.rollback_to(name)?)
    }

    fn release(&mut self, name: &str) -> Result<()> {
        Ok(self.0.release(name)?)
    }

    fn set_cancel(&mut self, flag: Arc<AtomicBool>) {
        self.0.set_cancel(flag);
    }

    fn set_lock_timeout(&mut self, timeout: Option<Duration>) {
        self.0.set_lock_timeout(timeout);
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.0.commit()?;
        Ok(())
    }

    fn rollback(self: Box<Self>) {
        self.0.rollback();
    }
}
