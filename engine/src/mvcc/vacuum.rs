//! Reclaiming versions no snapshot can need.
//!
//! Every open snapshot is at or after the horizon (see `snapshot.rs`), and
//! the horizon never moves back. A snapshot at or after it reads, of a key's
//! versions at or before the horizon, only the newest one; so everything
//! older can go. If that newest one is a tombstone it can go too: reading
//! nothing and reading a tombstone are the same, and conflict checks only
//! look at versions newer than a snapshot. Versions after the horizon are
//! kept; a long-running snapshot therefore holds back reclamation, as in
//! PostgreSQL.
//!
//! The rule is applied in two places. A commit prunes the keys it writes
//! (it reads their versions anyway, under their row locks), which bounds an
//! update-heavy workload on its own. [`vacuum`] sweeps the whole tree for
//! the rest — keys deleted and never written again, versions left behind by
//! a long reader — from a background thread and on demand. Both only ever
//! delete versions at or before a horizon, and later commits all get LSNs
//! after it, so neither needs the other's or any row's lock.

use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::db::Shared;
use super::error::TxnError;
use super::key;
use crate::storage::wal::Lsn;
use crate::storage::{Direction, ScanIter, StorageError, WriteBatch, version_stamp};

/// Deletes per vacuum batch: enough to amortise the commit, small enough
/// not to hold the store's apply lock for long.
const VACUUM_BATCH: usize = 512;

/// What a [`vacuum`] pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VacuumStats {
    /// The horizon it used: versions at or before it were candidates.
    pub horizon: Lsn,
    /// Distinct keys seen.
    pub keys: u64,
    /// Versions seen.
    pub versions: u64,
    /// Versions (rows and tombstones) removed.
    pub removed: u64,
}

/// A key's versions, newest first, each with whether it is a tombstone.
pub(crate) fn version_list(mut scan: ScanIter) -> Result<Vec<(Lsn, bool)>, TxnError> {
    let mut versions = Vec::new();
    while let Some((stored, value)) = scan.next_entry()? {
        let (_, lsn) = key::split(stored)?;
        versions.push((lsn, key::decode_value(value)?.is_none()));
    }
    Ok(versions)
}

/// Which of a key's versions (newest first, with their tombstone flags)
/// no snapshot at or after `horizon` can need.
pub(crate) fn obsolete(versions: &[(Lsn, bool)], horizon: Lsn) -> Vec<Lsn> {
    let Some(newest_old) = versions.iter().position(|&(lsn, _)| lsn <= horizon) else {
        return Vec::new();
    };
    let keep = match versions.get(newest_old) {
        Some(&(_, true)) => newest_old,
        _ => newest_old + 1,
    };
    versions.iter().skip(keep).map(|&(lsn, _)| lsn).collect()
}

/// One pass over the whole tree.
pub(crate) fn vacuum(shared: &Shared) -> Result<VacuumStats, TxnError> {
    let _one_at_a_time = shared.vacuum_running.lock();
    let horizon = shared.snapshots.horizon(&shared.store);
    let mut stats = VacuumStats {
        horizon,
        ..VacuumStats::default()
    };
    let mut batch = WriteBatch::new();
    let mut current: Option<Vec<u8>> = None;
    let mut versions: Vec<(Lsn, bool)> = Vec::new();
    let mut scan = shared.store.scan(
        shared.tree,
        std::ops::Bound::Unbounded,
        std::ops::Bound::Unbounded,
        Direction::Forward,
    );
    loop {
        let entry = scan.next_entry()?;
        let next_key = match &entry {
            Some((stored, _)) => Some(key::split(stored)?.0),
            None => None,
        };
        if current.is_some() && current.as_deref() != next_key {
            if let Some(escaped) = &current {
                for lsn in obsolete(&versions, horizon) {
                    let mut stored = escaped.clone();
                    stored.extend_from_slice(&version_stamp(lsn));
                    batch.delete(shared.tree, stored);
                    stats.removed += 1;
                }
            }
            versions.clear();
            // Flush only between keys, so a key's deletions are atomic.
            if batch.len() >= VACUUM_BATCH {
                shared.store.commit(std::mem::take(&mut batch))?;
            }
        }
        let Some((stored, value)) = entry else { break };
        let (escaped, lsn) = key::split(stored)?;
        if current.as_deref() != Some(escaped) {
            current = Some(escaped.to_vec());
            stats.keys += 1;
        }
        versions.push((lsn, key::decode_value(value)?.is_none()));
        stats.versions += 1;
    }
    if !batch.is_empty() {
        shared.store.commit(batch)?;
    }
    Ok(stats)
}

#[derive(Default)]
struct Stop {
    requested: Mutex<bool>,
    wake: Condvar,
}

/// The background vacuum thread; dropping this stops and joins it.
pub(crate) struct Vacuumer {
    stop: Arc<Stop>,
    thread: Option<JoinHandle<()>>,
}

impl Vacuumer {
    /// Starts a thread vacuuming every `interval`, when anything was
    /// committed since its last pass. `None` starts nothing.
    pub fn start(shared: &Arc<Shared>, interval: Option<Duration>) -> Result<Vacuumer, TxnError> {
        let stop = Arc::new(Stop::default());
        let Some(interval) = interval else {
            return Ok(Vacuumer { stop, thread: None });
        };
        // Weak, so the thread never keeps the store open on its own.
        let weak: Weak<Shared> = Arc::downgrade(shared);
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("rustydb-vacuum".into())
            .spawn(move || run(&weak, &signal, interval))
            .map_err(|e| StorageError::io("spawn", "vacuum thread", e))?;
        Ok(Vacuumer {
            stop,
            thread: Some(thread),
        })
    }
}

fn run(shared: &Weak<Shared>, stop: &Stop, interval: Duration) {
    let mut last_seen = None;
    loop {
        {
            let mut requested = stop.requested.lock();
            if !*requested {
                stop.wake.wait_for(&mut requested, interval);
            }
            if *requested {
                return;
            }
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let applied = shared.store.applied_lsn();
        if last_seen == Some(applied) {
            continue;
        }
        match vacuum(&shared) {
            Ok(stats) => {
                if stats.removed > 0 {
                    tracing::debug!(?stats, "vacuum");
                }
                last_seen = Some(shared.store.applied_lsn());
            }
            Err(e) => tracing::warn!(error = %e, "background vacuum failed"),
        }
    }
}

impl Drop for Vacuumer {
    fn drop(&mut self) {
        *self.stop.requested.lock() = true;
        self.stop.wake.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the vacuum thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_version_at_the_horizon_and_everything_after() {
        let live = |lsn| (lsn, false);
        let dead = |lsn| (lsn, true);
        assert_eq!(obsolete(&[live(9), live(7), live(5), live(3)], 6), vec![3]);
        assert_eq!(obsolete(&[live(9), live(7)], 6), Vec::<Lsn>::new());
        assert_eq!(obsolete(&[live(5), live(3), dead(2)], 5), vec![3, 2]);
        assert_eq!(obsolete(&[dead(5), live(3)], 5), vec![5, 3]);
        assert_eq!(obsolete(&[live(8), dead(5), live(3)], 6), vec![5, 3]);
        assert_eq!(obsolete(&[], 6), Vec::<Lsn>::new());
    }
}
