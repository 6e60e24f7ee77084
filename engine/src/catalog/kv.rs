//! The seam between SQL and the transactional key-value store below it.
//!
//! The SQL layer and the catalog need a handful of operations from a
//! transaction; naming them in a trait keeps both independent of how MVCC
//! implements them, and lets their unit tests run over a small in-memory
//! map. The MVCC transaction implements it in production.

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::Result;
use crate::mvcc::ScanKey;

/// Isolation as SQL names it; READ UNCOMMITTED runs as READ COMMITTED, as
/// in PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// A new snapshot for each statement.
    #[default]
    ReadCommitted,
    /// One snapshot for the whole transaction.
    RepeatableRead,
    /// One snapshot, and a commit that fails (40001) if what the
    /// transaction read was changed by one committed since.
    Serializable,
}

/// How a transaction starts.
#[derive(Debug, Clone, Copy, Default)]
pub struct TxnConfig {
    /// Its isolation level.
    pub isolation: Isolation,
    /// `READ ONLY`
    pub read_only: bool,
}

/// The lock `SELECT … FOR UPDATE` or `FOR SHARE` (and a write) takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStrength {
    /// Exclusive: what UPDATE and DELETE take; `FOR [NO KEY] UPDATE`.
    Update,
    /// Shared: other sharers go on, writers wait; `FOR [KEY] SHARE`.
    Share,
}

/// What a row lock does when another transaction holds the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Waits until the holder ends (or a deadlock, timeout or cancel).
    Block,
    /// Fails at once (55P03).
    NoWait,
    /// Leaves the row out (`SKIP LOCKED`).
    SkipLocked,
}

/// What a row lock found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowLock {
    /// The row is as the statement's snapshot has it.
    Unchanged,
    /// READ COMMITTED only: a transaction that committed after the
    /// statement's snapshot changed the row; this is its version (`None`:
    /// it deleted the row), which the statement goes on with if the row
    /// still meets its WHERE. Above READ COMMITTED the lock fails with
    /// 40001 instead.
    Changed(Option<Vec<u8>>),
    /// Another transaction holds the row and the lock was `SKIP LOCKED`.
    Skipped,
}

/// One transaction of the store below.
pub trait KvTxn: Send {
    /// READ COMMITTED: takes a new snapshot for the next statement.
    fn begin_statement(&mut self);
    /// The value at `key`, as this transaction sees it.
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Up to `limit` entries between the bounds, in key order (or reverse).
    /// Callers page through a long range by moving the bound past the last
    /// key they got, so no iterator borrows the transaction across rows.
    fn scan_chunk(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// As [`KvTxn::scan_chunk`], but each entry is lent to `visit` instead
    /// of copied out, which a long scan would pay for with two allocations
    /// per row. `visit` returns whether to go on; the result is the number
    /// of entries visited, so fewer than `limit` without `visit` stopping
    /// means the range is exhausted.
    ///
    /// The key is lent as a [`ScanKey`], turned into the user key only by
    /// a visitor that asks for it.
    ///
    /// No default: a wrapper that fell back to `scan_chunk` would still be
    /// correct but silently lose what this is for.
    fn scan_visit(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
        visit: &mut dyn FnMut(ScanKey<'_>, &[u8]) -> bool,
    ) -> Result<usize>;
    /// As [`KvTxn::scan_chunk`], but what a constraint check must see: at
    /// READ COMMITTED the newest committed entries, also those committed
    /// after the statement's snapshot; above it the snapshot's, failing
    /// (40001) if the range changed since. A store without concurrent
    /// transactions has nothing newer to show.
    fn scan_chunk_current(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scan_chunk(lower, upper, false, limit)
    }
    /// The value at `key` as [`KvTxn::scan_chunk_current`] sees it.
    fn get_current(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(key)
    }
    /// Takes a shared lock on `key` until the transaction ends, so writers
    /// of it wait (`FOR SHARE`, a foreign key's referenced row), and
    /// returns the value it protects, as [`KvTxn::get_current`] sees it.
    /// With `nowait` a held lock fails at once (55P03).
    fn lock_shared(&mut self, key: &[u8], nowait: bool) -> Result<Option<Vec<u8>>> {
        let _ = nowait;
        self.get_current(key)
    }
    /// Locks the row at `key` that the statement found in its snapshot,
    /// before it changes the row or returns it locked (UPDATE, DELETE,
    /// `SELECT … FOR UPDATE | FOR SHARE`), and says what happened to the
    /// row meanwhile: see [`RowLock`].
    fn lock_row(&mut self, key: &[u8], strength: LockStrength, wait: LockWait) -> Result<RowLock>;
    /// Writes `key`, locking it.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()>;
    /// Writes `key` unless a live value is there (also one committed after
    /// this snapshot): `Ok(false)` then, and nothing is written.
    fn insert(&mut self, key: &[u8], value: &[u8]) -> Result<bool>;
    /// As [`KvTxn::insert`] for a key no other transaction can know before
    /// this one commits and of which nothing is stored (a hidden row id
    /// drawn from a counter [`KvTxn::seed_fresh`] seeded), which a store
    /// may then write without locking it or looking for it.
    fn insert_fresh(&mut self, key: &[u8], value: Vec<u8>) -> Result<()> {
        if self.insert(key, &value)? {
            Ok(())
        } else {
            Err(crate::mvcc::TxnError::KeyExists.into())
        }
    }
    /// Runs `seed` with the greatest key starting with `prefix` that the
    /// store holds in any version (also deleted, or committed where this
    /// transaction cannot see it), unless it already ran to success for
    /// `prefix` since the store was opened: keys drawn from a counter that
    /// `seed` pushes past it are fresh for [`KvTxn::insert_fresh`]. `seed`
    /// may run more than once, so it must only push the counter up.
    fn seed_fresh(
        &mut self,
        prefix: &[u8],
        seed: &mut dyn FnMut(Option<&[u8]>) -> Result<()>,
    ) -> Result<()> {
        // A store without the bookkeeping seeds at every call; its default
        // `insert_fresh` checks the key anyway.
        let last = self.scan_chunk(
            Bound::Included(prefix.to_vec()),
            super::prefix_end(prefix),
            true,
            1,
        )?;
        seed(last.first().map(|(k, _)| k.as_slice()))
    }
    /// Deletes `key`; whether there was a value.
    fn delete(&mut self, key: &[u8]) -> Result<bool>;
    /// Marks a savepoint.
    fn savepoint(&mut self, name: &str);
    /// Undoes everything since the savepoint, keeping it.
    fn rollback_to(&mut self, name: &str) -> Result<()>;
    /// Forgets the savepoint (and those after it).
    fn release(&mut self, name: &str) -> Result<()>;
    /// The flag that cancels the transaction's waits.
    fn set_cancel(&mut self, flag: Arc<AtomicBool>);
    /// How long each lock wait from now on may last (`lock_timeout`;
    /// `None`: no limit) before failing with 55P03.
    fn set_lock_timeout(&mut self, timeout: Option<Duration>);
    /// Makes the writes durable and visible.
    fn commit(self: Box<Self>) -> Result<()>;
    /// Throws the writes away.
    fn rollback(self: Box<Self>);
}

/// The store transactions come from.
pub trait KvStore: Send + Sync {
    /// Starts a transaction.
    fn begin(&self, config: TxnConfig) -> Box<dyn KvTxn>;
}
