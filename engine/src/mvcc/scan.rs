//! [`TxnScan`]: a transaction's view of a key range, streamed.
//!
//! Two sorted streams are merged: the committed rows visible in the
//! snapshot, resolved from the version chains as the store scan passes
//! them, and the transaction's own pending writes in the range, which take
//! precedence (a pending delete hides the committed row). Neither side is
//! collected; the store scan holds no lock between its leaves.
//!
//! The committed side keeps its current row in buffers reused from row to
//! row, so [`TxnScan::visit`] hands rows out borrowed without allocating;
//! the iterator copies each row out of them. A forward visit of a range
//! the transaction has not written to skips even those buffers: each row
//! is lent straight from the store scan, its key still escaped
//! ([`ScanKey`]) until the visitor asks for it.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::collections::btree_map::Range;
use std::ops::Bound;

use super::db::Shared;
use super::error::TxnError;
use super::key;
use super::txn::Pending;
use crate::storage::wal::Lsn;
use crate::storage::{Direction, ScanIter};

type Row = (Vec<u8>, Vec<u8>);

/// Rows of a range as a transaction sees them; an iterator of
/// `Result<(key, value), TxnError>` that stops after the first error.
pub struct TxnScan<'t> {
    committed: Option<Committed>,
    writes: Option<Range<'t, Vec<u8>, Pending>>,
    backward: bool,
    /// Whether `key` and `value` hold a committed row not yet merged.
    head_committed: bool,
    /// The committed side's current row: its user key and value.
    key: Vec<u8>,
    value: Vec<u8>,
    head_write: Option<(&'t Vec<u8>, &'t Pending)>,
    failed: bool,
}

/// The key of a row lent by [`TxnScan::visit`]. A visitor that needs few
/// of the keys (a table scan keeps only the last one, to resume after)
/// does not pay for turning every stored key back into its user key.
#[derive(Clone, Copy)]
pub enum ScanKey<'a> {
    /// The user key itself.
    User(&'a [u8]),
    /// The key as stored, escaped and without its version stamp.
    Escaped(&'a [u8]),
}

impl ScanKey<'_> {
    /// Puts the user key into `out`, replacing what it held.
    ///
    /// # Errors
    /// A corruption error if a stored key was not escaped as the MVCC
    /// layer escapes keys.
    pub fn copy_into(&self, out: &mut Vec<u8>) -> Result<(), TxnError> {
        match self {
            ScanKey::User(k) => {
                out.clear();
                out.extend_from_slice(k);
                Ok(())
            }
            ScanKey::Escaped(e) => key::unescape_into(e, out),
        }
    }

    /// The user key, copied out.
    ///
    /// # Errors
    /// As [`ScanKey::copy_into`].
    pub fn to_vec(&self) -> Result<Vec<u8>, TxnError> {
        let mut out = Vec::new();
        self.copy_into(&mut out)?;
        Ok(out)
    }
}

/// Where the merge's next row is.
enum Next<'t> {
    /// In the scan's `key` and `value` buffers.
    Committed,
    /// A pending write of the transaction.
    Write(&'t [u8], &'t [u8]),
}

impl<'t> TxnScan<'t> {
    pub(crate) fn new(
        shared: &Shared,
        snapshot: Lsn,
        writes: &'t BTreeMap<Vec<u8>, Pending>,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        dir: Direction,
    ) -> TxnScan<'t> {
        let backward = matches!(dir, Direction::Backward);
        let mut scan = TxnScan {
            committed: None,
            writes: None,
            backward,
            head_committed: false,
            key: Vec::new(),
            value: Vec::new(),
            head_write: None,
            failed: false,
        };
        if key::is_empty_range(&lower, &upper) {
            return scan;
        }
        let store_scan = shared.store.scan(
            shared.tree,
            key::lower_bound(&lower),
            key::upper_bound(&upper),
            dir,
        );
        scan.writes = Some(writes.range::<[u8], _>((
            lower.as_ref().map(Vec::as_slice),
            upper.as_ref().map(Vec::as_slice),
        )));
        scan.committed = Some(Committed {
            scan: store_scan,
            snapshot,
            backward,
            current: None,
            decided: false,
            best: Best::Unseen,
            best_value: Vec::new(),
        });
        scan
    }

    /// Calls `visit` with each row's key and value, borrowed, until it
    /// returns `false` or `limit` rows were visited; returns how many were.
    /// Fewer than `limit` without `visit` stopping means the range is
    /// exhausted.
    ///
    /// # Errors
    /// As the iterator: corruption or a storage error.
    pub fn visit(
        mut self,
        limit: usize,
        visit: &mut dyn FnMut(ScanKey<'_>, &[u8]) -> bool,
    ) -> Result<usize, TxnError> {
        if let Some(committed) = &mut self.committed {
            // Each row is at least one stored version: read that many at
            // once rather than ramping up from a short first refill.
            committed.scan.expect_entries(limit);
        }
        let no_writes = self
            .writes
            .as_ref()
            .is_none_or(|w| w.clone().next().is_none());
        if !self.backward && no_writes {
            return match &mut self.committed {
                Some(committed) => committed.visit_forward(limit, visit),
                None => Ok(0),
            };
        }
        let mut visited = 0;
        while visited < limit {
            let more = match self.step()? {
                None => break,
                Some(Next::Committed) => visit(ScanKey::User(&self.key), &self.value),
                Some(Next::Write(k, v)) => visit(ScanKey::User(k), v),
            };
            visited += 1;
            if !more {
                break;
            }
        }
        Ok(visited)
    }

    fn fill(&mut self) -> Result<(), TxnError> {
        if !self.head_committed
            && let Some(committed) = &mut self.committed
        {
            self.head_committed = committed.next_row(&mut self.key, &mut self.value)?;
            if !self.head_committed {
                self.committed = None;
            }
        }
        if self.head_write.is_none()
            && let Some(writes) = &mut self.writes
        {
            self.head_write = if self.backward {
                writes.next_back()
            } else {
                writes.next()
            };
        }
        Ok(())
    }

    /// The next row of the merge, or `None` at the end.
    fn step(&mut self) -> Result<Option<Next<'t>>, TxnError> {
        loop {
            self.fill()?;
            let take_write = match (self.head_committed, &self.head_write) {
                (false, None) => return Ok(None),
                (true, None) => false,
                (false, Some(_)) => true,
                (true, Some((write, _))) => {
                    let order = write.as_slice().cmp(&self.key);
                    let order = if self.backward {
                        order.reverse()
                    } else {
                        order
                    };
                    match order {
                        Ordering::Less => true,
                        Ordering::Equal => {
                            self.head_committed = false;
                            true
                        }
                        Ordering::Greater => false,
                    }
                }
            };
            if !take_write {
                self.head_committed = false;
                return Ok(Some(Next::Committed));
            }
            if let Some((key, Pending { row: Some(row), .. })) = self.head_write.take() {
                return Ok(Some(Next::Write(key, row)));
            }
        }
    }
}

impl Iterator for TxnScan<'_> {
    type Item = Result<Row, TxnError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(None) => None,
            Ok(Some(Next::Committed)) => Some(Ok((self.key.clone(), self.value.clone()))),
            Ok(Some(Next::Write(k, v))) => Some(Ok((k.to_vec(), v.to_vec()))),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// What a backward scan found of the current key's versions so far.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Best {
    /// No version in the snapshot.
    Unseen,
    /// The newest version in the snapshot deletes the key.
    Tombstone,
    /// The newest version in the snapshot is in `best_value`.
    Live,
}

/// Whether two escaped keys are equal, compared from the end: neighbours
/// in a scan share long prefixes (table prefix, high bytes of a row id) and
/// differ near the end, so this decides in a few bytes, without a call of
/// `memcmp` per stored version.
#[inline]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().rev().zip(b.iter().rev()).all(|(x, y)| x == y)
}

/// The committed rows of a store scan visible at `snapshot`.
struct Committed {
    scan: ScanIter,
    snapshot: Lsn,
    backward: bool,
    /// The escaped key whose versions are being passed.
    current: Option<Vec<u8>>,
    /// Forward: whether `current`'s visible version was already met.
    decided: bool,
    /// Backward (oldest version first): the newest visible version of
    /// `current` so far.
    best: Best,
    best_value: Vec<u8>,
}

impl Committed {
    /// Puts the next visible row into `key` and `value`; `false` at the
    /// end of the range.
    fn next_row(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<bool, TxnError> {
        if self.backward {
            self.next_backward(key, value)
        } else {
            self.next_forward(key, value)
        }
    }

    /// As [`TxnScan::visit`] of a forward scan with no pending writes:
    /// each visible row is lent from the store scan where it lies, found as
    /// [`Committed::next_forward`] finds it.
    fn visit_forward(
        &mut self,
        limit: usize,
        visit: &mut dyn FnMut(ScanKey<'_>, &[u8]) -> bool,
    ) -> Result<usize, TxnError> {
        let mut visited = 0;
        while visited < limit {
            let Some((stored, version)) = self.scan.next_entry()? else {
                break;
            };
            let (escaped, lsn) = key::split(stored)?;
            enter_key(&mut self.current, &mut self.decided, escaped);
            if self.decided || lsn > self.snapshot {
                continue;
            }
            self.decided = true;
            if let Some(row) = key::decode_value(version)? {
                visited += 1;
                if !visit(ScanKey::Escaped(escaped), row) {
                    break;
                }
            }
        }
        Ok(visited)
    }

    /// Versions arrive newest first: the first one in the snapshot decides.
    fn next_forward(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<bool, TxnError> {
        while let Some((stored, version)) = self.scan.next_entry()? {
            let (escaped, lsn) = key::split(stored)?;
            enter_key(&mut self.current, &mut self.decided, escaped);
            if self.decided || lsn > self.snapshot {
                continue;
            }
            self.decided = true;
            if let Some(row) = key::decode_value(version)? {
                key::unescape_into(escaped, key)?;
                value.clear();
                value.extend_from_slice(row);
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Versions arrive oldest first: a key is decided when the next key
    /// (or the end) shows up.
    fn next_backward(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<bool, TxnError> {
        loop {
            let Some((stored, version)) = self.scan.next_entry()? else {
                let last = self.current.take();
                let best = std::mem::replace(&mut self.best, Best::Unseen);
                return match last {
                    Some(escaped) if best == Best::Live => {
                        key::unescape_into(&escaped, key)?;
                        std::mem::swap(value, &mut self.best_value);
                        Ok(true)
                    }
                    _ => Ok(false),
                };
            };
            let (escaped, lsn) = key::split(stored)?;
            let mut finished = false;
            if self.current.as_deref() != Some(escaped) {
                if let Some(previous) = &self.current
                    && self.best == Best::Live
                {
                    key::unescape_into(previous, key)?;
                    // The finished row moves out and the buffer it leaves
                    // takes the next key's versions.
                    std::mem::swap(value, &mut self.best_value);
                    finished = true;
                }
                let current = self.current.get_or_insert_with(Vec::new);
                current.clear();
                current.extend_from_slice(escaped);
                self.best = Best::Unseen;
            }
            if lsn <= self.snapshot {
                self.best = match key::decode_value(version)? {
                    Some(row) => {
                        self.best_value.clear();
                        self.best_value.extend_from_slice(row);
                        Best::Live
                    }
                    None => Best::Tombstone,
                };
            }
            if finished {
                return Ok(true);
            }
        }
    }
}

/// Makes `escaped` the scan's current key when it is a new one, so that
/// its first version in the snapshot decides. One buffer serves the whole
/// scan: a copy per key would be an allocation per row.
fn enter_key(current: &mut Option<Vec<u8>>, decided: &mut bool, escaped: &[u8]) {
    if !current.as_deref().is_some_and(|c| same_key(c, escaped)) {
        let current = current.get_or_insert_with(Vec::new);
        current.clear();
        current.extend_from_slice(escaped);
        *decided = false;
    }
}

#[cfg(test)]
mod tests {
    use super::same_key;

    #[test]
    fn same_key_is_equality_of_escaped_keys() {
        let key = b"\x00\x01t\x00\xff\x07\x00\x01".as_slice();
        assert!(same_key(key, key));
        assert!(same_key(b"", b""));
        for other in [
            b"\x01\x01t\x00\xff\x07\x00\x01".as_slice(),
            b"\x00\x01t\x00\xff\x08\x00\x01",
            b"\x00\x01t\x00\xff\x07\x00\x01\x00",
            b"\x01t\x00\xff\x07\x00\x01",
        ] {
            assert!(!same_key(key, other), "{other:?}");
        }
    }
}
