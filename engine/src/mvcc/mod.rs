//! Transactions: multi-version concurrency control over the store.
//!
//! [`Mvcc`] is a transactional, ordered key-value store kept in one tree
//! (`"mvcc"`) of a [`crate::storage::Store`]. The SQL layer above builds
//! the keys; nothing here interprets them.
//!
//! # Versions are commits
//!
//! A transaction keeps its writes in memory. [`Transaction::commit`] turns
//! them into one `WriteBatch` of stamped puts — each stored key is the
//! escaped user key followed by the commit's LSN, newest first (see
//! `key.rs`), a delete being a tombstone version — so the commit LSN is the
//! version's timestamp and commit order is log order. Uncommitted data never
//! reaches the store, which is why crash recovery needs nothing from this
//! layer: a transaction that did not commit simply never happened.
//!
//! # Snapshots
//!
//! A snapshot is an LSN: the store's `applied_lsn`, before which every
//! batch is visible and after which none is. A version is visible iff its
//! LSN is at or before the snapshot. READ COMMITTED takes a snapshot per
//! statement ([`Transaction::begin_statement`]), REPEATABLE READ one for
//! the transaction. Reads merge the transaction's own writes over what the
//! snapshot shows.
//!
//! # Writes, locks and conflicts
//!
//! Every write (and [`Transaction::lock`]) first takes an exclusive lock on
//! the key, held until the transaction ends (`lock.rs`: waits with deadlock
//! detection, a cancel flag and a lock timeout). Holding it, the writer
//! looks at the key's newest committed version: if that is newer than its
//! snapshot, a REPEATABLE READ transaction fails with a serialization
//! failure (first-updater-wins, which prevents lost updates); READ
//! COMMITTED goes ahead, and the SQL layer re-checks its WHERE clause on
//! [`Transaction::latest_committed`]. This is snapshot isolation: write
//! skew between transactions that write disjoint keys is not prevented.
//!
//! # SERIALIZABLE
//!
//! A SERIALIZABLE transaction runs as REPEATABLE READ and records the keys
//! and ranges it read; its commit fails with a serialization failure if a
//! transaction committed after its snapshot wrote into them
//! (`serializable.rs`). That makes commit order a serial order among
//! SERIALIZABLE transactions.
//!
//! # Reclaiming versions
//!
//! The horizon is the oldest open snapshot (`snapshot.rs`). Versions older
//! than the newest one at the horizon are dropped by commits, for the keys
//! they write, and by [`Mvcc::vacuum`], which a background thread runs every
//! few seconds (`vacuum.rs`).

mod db;
mod error;
mod key;
mod lock;
mod scan;
mod serializable;
mod snapshot;
mod txn;
mod vacuum;

pub use db::{MVCC_TREE, Mvcc, MvccOptions};
pub use error::TxnError;
pub use lock::LockMode;
pub use scan::{ScanKey, TxnScan};
pub use txn::{IsolationLevel, RowVersion, Transaction, TxnOptions};
pub use vacuum::VacuumStats;
