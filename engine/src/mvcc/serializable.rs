//! SERIALIZABLE: snapshot isolation plus commit-time backward validation.
//!
//! A SERIALIZABLE transaction reads through one snapshot, as REPEATABLE
//! READ does, and also records what it read: each key it looked up and
//! each key range it scanned (the whole requested range, also when the
//! caller stopped early — a superset only costs a needless retry). At
//! commit it checks that nothing in that read set changed since its
//! snapshot: any stored version of a key in it newer than the snapshot
//! means a transaction it could not see wrote there first, and the commit
//! fails with 40001 instead. What it read was then still current when it
//! committed, so every SERIALIZABLE transaction behaves as if it ran alone
//! at its commit point: commit order is a serial order, which forbids write
//! skew and phantoms alike.
//!
//! Versions newer than an open snapshot are never vacuumed (`snapshot.rs`),
//! so the store itself is the log of what committed since: validation
//! re-reads the read set's versions rather than keeping a log of every
//! commit's writes, and nothing can be trimmed from under it.
//!
//! Validation and the batch's commit run under one mutex shared by the
//! SERIALIZABLE transactions, so two of them cannot both validate before
//! either commits (each missing the other's writes). Transactions at other
//! levels neither wait for it nor are checked against, as in PostgreSQL,
//! where the guarantee holds among SERIALIZABLE transactions.
//!
//! The read set is bounded: past [`MAX_POINTS`] keys or [`MAX_RANGES`]
//! ranges it collapses into the one range covering all of it, which keeps
//! the check sound at the price of more false conflicts.

use std::ops::Bound;

use super::db::Shared;
use super::error::TxnError;
use super::key;
use crate::storage::Direction;
use crate::storage::wal::Lsn;

/// Point reads kept one by one before the read set is coarsened.
const MAX_POINTS: usize = 4096;
/// Scanned ranges kept one by one before the read set is coarsened.
const MAX_RANGES: usize = 256;

type Range = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// What a SERIALIZABLE transaction read, for its commit-time check.
#[derive(Debug, Default)]
pub(crate) struct ReadSet {
    points: Vec<Vec<u8>>,
    ranges: Vec<Range>,
}

impl ReadSet {
    /// Records a lookup of `key`.
    pub fn read_key(&mut self, key: &[u8]) {
        if self.ranges.iter().any(|r| contains(r, key)) {
            return;
        }
        self.points.push(key.to_vec());
        if self.points.len() > MAX_POINTS {
            self.coarsen();
        }
    }

    /// Records a scan of the range between the bounds.
    pub fn read_range(&mut self, lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) {
        if key::is_empty_range(lower, upper) {
            return;
        }
        // A paged scan asks again for the rest of a range it already
        // recorded; a statement run in a loop, for the same range.
        if self
            .ranges
            .iter()
            .any(|r| covers_lower(&r.0, lower) && covers_upper(&r.1, upper))
        {
            return;
        }
        self.ranges.push((lower.clone(), upper.clone()));
        if self.ranges.len() > MAX_RANGES {
            self.coarsen();
        }
    }

    /// Replaces everything with the one range that covers it all.
    fn coarsen(&mut self) {
        let mut lower: Option<Bound<Vec<u8>>> = None;
        let mut upper: Option<Bound<Vec<u8>>> = None;
        let ranges = self.ranges.drain(..);
        let points = self
            .points
            .drain(..)
            .map(|p| (Bound::Included(p.clone()), Bound::Included(p)));
        for (lo, hi) in ranges.chain(points) {
            lower = Some(match lower {
                Some(l) if covers_lower(&l, &lo) => l,
                _ => lo,
            });
            upper = Some(match upper {
                Some(u) if covers_upper(&u, &hi) => u,
                _ => hi,
            });
        }
        if let (Some(lower), Some(upper)) = (lower, upper) {
            self.ranges.push((lower, upper));
        }
    }

    /// Fails if a transaction committed after `snapshot` wrote a key this
    /// read set covers. The caller holds the SERIALIZABLE commit mutex.
    ///
    /// # Errors
    /// `ReadWriteConflict`; storage errors.
    pub fn validate(&self, shared: &Shared, snapshot: Lsn) -> Result<(), TxnError> {
        // Nothing at all committed since the snapshot: the common case of
        // a transaction that ran alone needs no look at the store.
        if shared.store.applied_lsn() == snapshot {
            return Ok(());
        }
        for point in &self.points {
            if shared
                .version_at(point, Lsn::MAX)?
                .is_some_and(|(lsn, _)| lsn > snapshot)
            {
                return Err(TxnError::ReadWriteConflict);
            }
        }
        for (lower, upper) in &self.ranges {
            if changed_since(shared, lower, upper, snapshot)? {
                return Err(TxnError::ReadWriteConflict);
            }
        }
        Ok(())
    }
}

/// Whether a version of a key between the bounds was committed after
/// `snapshot`.
///
/// # Errors
/// Storage errors.
pub(crate) fn changed_since(
    shared: &Shared,
    lower: &Bound<Vec<u8>>,
    upper: &Bound<Vec<u8>>,
    snapshot: Lsn,
) -> Result<bool, TxnError> {
    if key::is_empty_range(lower, upper) {
        return Ok(false);
    }
    let mut scan = shared.store.scan(
        shared.tree,
        key::lower_bound(lower),
        key::upper_bound(upper),
        Direction::Forward,
    );
    while let Some((stored, _)) = scan.next_entry()? {
        if key::split(stored)?.1 > snapshot {
            return Ok(true);
        }
    }
    Ok(false)
}

fn contains((lower, upper): &Range, key: &[u8]) -> bool {
    let above = match lower {
        Bound::Included(l) => key >= l.as_slice(),
        Bound::Excluded(l) => key > l.as_slice(),
        Bound::Unbounded => true,
    };
    let below = match upper {
        Bound::Included(u) => key <= u.as_slice(),
        Bound::Excluded(u) => key < u.as_slice(),
        Bound::Unbounded => true,
    };
    above && below
}

/// Whether lower bound `a` starts at or before `b`.
fn covers_lower(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> bool {
    match (a, b) {
        (Bound::Unbounded, _) => true,
        (_, Bound::Unbounded) => false,
        (Bound::Included(a), Bound::Included(b) | Bound::Excluded(b)) => a <= b,
        (Bound::Excluded(a), Bound::Excluded(b)) => a <= b,
        (Bound::Excluded(a), Bound::Included(b)) => a < b,
    }
}

/// Whether upper bound `a` ends at or after `b`.
fn covers_upper(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> bool {
    match (a, b) {
        (Bound::Unbounded, _) => true,
        (_, Bound::Unbounded) => false,
        (Bound::Included(a), Bound::Included(b) | Bound::Excluded(b)) => a >= b,
        (Bound::Excluded(a), Bound::Excluded(b)) => a >= b,
        (Bound::Excluded(a), Bound::Included(b)) => a > b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(s: &str) -> Bound<Vec<u8>> {
        Bound::Included(s.as_bytes().to_vec())
    }

    fn exc(s: &str) -> Bound<Vec<u8>> {
        Bound::Excluded(s.as_bytes().to_vec())
    }

    #[test]
    fn a_paged_scan_is_recorded_once() {
        let mut reads = ReadSet::default();
        reads.read_range(&inc("a"), &exc("m"));
        reads.read_range(&exc("c"), &exc("m"));
        reads.read_range(&inc("a"), &Bound::Unbounded);
        assert_eq!(reads.ranges.len(), 2, "the second is inside the first");
        reads.read_key(b"b");
        reads.read_key(b"z");
        assert!(reads.points.is_empty(), "b and z are inside scanned ranges");
    }

    #[test]
    fn coarsening_keeps_every_key_covered() {
        let mut reads = ReadSet::default();
        reads.read_range(&exc("k"), &inc("p"));
        for i in 0..=MAX_POINTS {
            reads.read_key(format!("b{i:05}").as_bytes());
        }
        assert!(reads.points.is_empty());
        assert_eq!(reads.ranges.len(), 1);
        for key in ["b00000", "b04096", "k0", "p"] {
            assert!(contains(&reads.ranges[0], key.as_bytes()), "{key}");
        }
        assert!(!contains(&reads.ranges[0], b"a"));
        assert!(!contains(&reads.ranges[0], b"p0"));
    }
}
