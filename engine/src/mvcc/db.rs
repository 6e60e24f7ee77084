//! [`Mvcc`]: the handle that opens the versioned tree and starts
//! transactions, and the state its transactions share.

use std::collections::HashSet;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::error::TxnError;
use super::key;
use super::lock::LockManager;
use super::snapshot::Snapshots;
use super::txn::{Transaction, TxnOptions};
use super::vacuum::{self, VacuumStats, Vacuumer};
use crate::storage::wal::Lsn;
use crate::storage::{Direction, ScanIter, StorageError, Store, TreeId};

/// The store tree holding every version of every key.
pub const MVCC_TREE: &str = "mvcc";

/// How an [`Mvcc`] is opened.
#[derive(Debug, Clone)]
pub struct MvccOptions {
    /// Time between background vacuums; `None` leaves vacuuming to explicit
    /// [`Mvcc::vacuum`] calls (and to pruning at commit).
    pub vacuum_interval: Option<Duration>,
}

impl Default for MvccOptions {
    fn default() -> Self {
        MvccOptions {
            vacuum_interval: Some(Duration::from_secs(5)),
        }
    }
}

/// A transactional, ordered key-value store over one tree of a [`Store`].
/// Cheap to clone; the background vacuum stops when the last clone drops.
#[derive(Clone)]
pub struct Mvcc {
    shared: Arc<Shared>,
    _vacuumer: Arc<Vacuumer>,
}

/// What the transactions of one [`Mvcc`] share.
pub(crate) struct Shared {
    pub store: Arc<Store>,
    pub tree: TreeId,
    pub locks: LockManager,
    pub snapshots: Snapshots,
    next_txn: AtomicU64,
    /// One vacuum at a time: two would only repeat each other's work.
    pub vacuum_running: Mutex<()>,
    /// Held by a SERIALIZABLE transaction from its validation to the end
    /// of its commit (`serializable.rs`).
    pub serializable_commit: Mutex<()>,
    /// The key prefixes [`super::Transaction::seed_fresh`] has seeded since
    /// the store was opened.
    pub seeded: Mutex<HashSet<Vec<u8>>>,
}

/// A committed version: its LSN and its row (`None` for a tombstone).
pub(crate) type Version = (Lsn, Option<Vec<u8>>);

impl Mvcc {
    /// Opens the MVCC layer on `store` with default options, creating its
    /// tree on first use.
    ///
    /// # Errors
    /// Storage errors creating the tree or starting the vacuum thread.
    pub fn open(store: Arc<Store>) -> Result<Mvcc, TxnError> {
        Mvcc::open_with(store, MvccOptions::default())
    }

    /// [`Mvcc::open`] with explicit options.
    ///
    /// # Errors
    /// As [`Mvcc::open`].
    pub fn open_with(store: Arc<Store>, opts: MvccOptions) -> Result<Mvcc, TxnError> {
        let tree = match store.tree(MVCC_TREE)? {
            Some(tree) => tree,
            None => match store.create_tree(MVCC_TREE) {
                Ok(tree) => tree,
                // Another handle created it between our look and our try.
                Err(StorageError::TreeExists(_)) => store
                    .tree(MVCC_TREE)?
                    .ok_or_else(|| StorageError::NoSuchTree(MVCC_TREE.into()))?,
                Err(e) => return Err(e.into()),
            },
        };
        let shared = Arc::new(Shared {
            store,
            tree,
            locks: LockManager::default(),
            snapshots: Snapshots::default(),
            next_txn: AtomicU64::new(1),
            vacuum_running: Mutex::new(()),
            serializable_commit: Mutex::new(()),
            seeded: Mutex::new(HashSet::new()),
        });
        let vacuumer = Vacuumer::start(&shared, opts.vacuum_interval)?;
        Ok(Mvcc {
            shared,
            _vacuumer: Arc::new(vacuumer),
        })
    }

    /// Starts a transaction. Its snapshot is taken now and, under REPEATABLE
    /// READ, retaken once at its first statement.
    pub fn begin(&self, opts: TxnOptions) -> Transaction {
        let id = self.shared.next_txn.fetch_add(1, Ordering::Relaxed);
        Transaction::new(Arc::clone(&self.shared), id, opts)
    }

    /// Removes every version no snapshot can need any more.
    ///
    /// # Errors
    /// Storage errors; what was removed before one stays removed.
    pub fn vacuum(&self) -> Result<VacuumStats, TxnError> {
        vacuum::vacuum(&self.shared)
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }

    /// Number of row locks currently held, for monitoring.
    pub fn locks_held(&self) -> usize {
        self.shared.locks.held()
    }
}

impl std::fmt::Debug for Mvcc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mvcc")
            .field("tree", &self.shared.tree)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// A store scan over the versions of `key`, newest first.
    pub fn versions(&self, key: &[u8]) -> ScanIter {
        self.store.scan(
            self.tree,
            Bound::Included(key::escape(key)),
            Bound::Excluded(key::past_versions(key)),
            Direction::Forward,
        )
    }

    /// The greatest user key starting with `prefix` that has a stored
    /// version of any kind.
    pub fn last_stored_key(&self, prefix: &[u8]) -> Result<Option<Vec<u8>>, TxnError> {
        let (lower, upper) = key::prefix_range(prefix);
        let mut scan = self
            .store
            .scan(self.tree, lower, upper, Direction::Backward);
        let Some((stored, _)) = scan.next_entry()? else {
            return Ok(None);
        };
        let (escaped, _) = key::split(stored)?;
        let mut user = Vec::with_capacity(escaped.len());
        key::unescape_into(escaped, &mut user)?;
        Ok(Some(user))
    }

    /// The newest version of `key` committed at or before `snapshot`
    /// (`Lsn::MAX` for the newest of all).
    pub fn version_at(&self, key: &[u8], snapshot: Lsn) -> Result<Option<Version>, TxnError> {
        // Most probes want the newest version (every insert's existence
        // check), or find it old enough: one point probe, not a scan.
        let Some((stored, value)) = self.store.first_with_prefix(self.tree, &key::escape(key))?
        else {
            return Ok(None);
        };
        let (_, lsn) = key::split(&stored)?;
        if lsn <= snapshot {
            return Ok(Some((lsn, key::decode_value(&value)?.map(<[u8]>::to_vec))));
        }
        let mut scan = self.versions(key);
        while let Some((stored, value)) = scan.next_entry()? {
            let (_, lsn) = key::split(stored)?;
            if lsn <= snapshot {
                return Ok(Some((lsn, key::decode_value(value)?.map(<[u8]>::to_vec))));
            }
        }
        Ok(None)
    }
}
