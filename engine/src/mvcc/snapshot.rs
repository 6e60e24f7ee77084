//! The registry of open snapshots, and the horizon it implies.
//!
//! A snapshot is the store's `applied_lsn` at the moment it is taken. The
//! horizon is the oldest snapshot any open transaction holds (or the current
//! `applied_lsn` when none is open): no reader, now or later, looks at the
//! database as of an earlier LSN, which is what lets old versions go.
//!
//! Taking a snapshot and computing the horizon both read `applied_lsn`
//! under the registry's mutex. Otherwise a transaction could read LSN 10,
//! a vacuum could then compute a horizon of 12 from an empty registry and
//! delete what the transaction is about to need. With the mutex, the horizon
//! never decreases.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::storage::Store;
use crate::storage::wal::Lsn;

#[derive(Default)]
pub(crate) struct Snapshots {
    open: Mutex<HashMap<u64, Lsn>>,
}

impl Snapshots {
    /// Takes (or replaces) `txn`'s snapshot.
    pub fn take(&self, txn: u64, store: &Store) -> Lsn {
        let mut open = self.open.lock();
        let lsn = store.applied_lsn();
        open.insert(txn, lsn);
        lsn
    }

    /// Forgets `txn`'s snapshot: it no longer holds the horizon back.
    pub fn end(&self, txn: u64) {
        self.open.lock().remove(&txn);
    }

    /// The oldest LSN any reader may still look at.
    pub fn horizon(&self, store: &Store) -> Lsn {
        let open = self.open.lock();
        open.values()
            .copied()
            .min()
            .unwrap_or_else(|| store.applied_lsn())
    }
}
