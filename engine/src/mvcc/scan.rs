//! [`TxnScan`]: a transaction's view of a key range, streamed.
//!
//! Two sorted streams are merged: the committed rows visible in the
//! snapshot, resolved from the version chains as the store scan passes
//! them, and the transaction's own pending writes in the range, which take
//! precedence (a pending delete hides the committed row). Neither side is
//! collected; the store scan holds no lock between its leaves.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::collections::btree_map::Range;
use std::ops::Bound;

use super::db::Shared;
use super::error::TxnError;
use super::key;
use crate::storage::wal::Lsn;
use crate::storage::{Direction, ScanIter};

type Row = (Vec<u8>, Vec<u8>);

/// Rows of a range as a transaction sees them; an iterator of
/// `Result<(key, value), TxnError>` that stops after the first error.
pub struct TxnScan<'t> {
    committed: Option<Committed>,
    writes: Option<Range<'t, Vec<u8>, Option<Vec<u8>>>>,
    backward: bool,
    head_committed: Option<Row>,
    head_write: Option<(&'t Vec<u8>, &'t Option<Vec<u8>>)>,
    failed: bool,
}

impl<'t> TxnScan<'t> {
    pub(crate) fn new(
        shared: &Shared,
        snapshot: Lsn,
        writes: &'t BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        dir: Direction,
    ) -> TxnScan<'t> {
        let backward = matches!(dir, Direction::Backward);
        if key::is_empty_range(&lower, &upper) {
            return TxnScan {
                committed: None,
                writes: None,
                backward,
                head_committed: None,
                head_write: None,
                failed: false,
            };
        }
        let scan = shared.store.scan(
            shared.tree,
            key::lower_bound(&lower),
            key::upper_bound(&upper),
            dir,
        );
        let range = writes.range::<[u8], _>((
            lower.as_ref().map(Vec::as_slice),
            upper.as_ref().map(Vec::as_slice),
        ));
        TxnScan {
            committed: Some(Committed {
                scan,
                snapshot,
                backward,
                current: None,
                decided: false,
                best: None,
            }),
            writes: Some(range),
            backward,
            head_committed: None,
            head_write: None,
            failed: false,
        }
    }

    fn fill(&mut self) -> Result<(), TxnError> {
        if self.head_committed.is_none()
            && let Some(committed) = &mut self.committed
        {
            self.head_committed = committed.next_row()?;
            if self.head_committed.is_none() {
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
}

impl Iterator for TxnScan<'_> {
    type Item = Result<Row, TxnError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            if let Err(e) = self.fill() {
                self.failed = true;
                return Some(Err(e));
            }
            let take_write = match (&self.head_committed, &self.head_write) {
                (None, None) => return None,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((committed, _)), Some((write, _))) => {
                    let order = write.as_slice().cmp(committed);
                    let order = if self.backward {
                        order.reverse()
                    } else {
                        order
                    };
                    match order {
                        Ordering::Less => true,
                        Ordering::Equal => {
                            self.head_committed = None;
                            true
                        }
                        Ordering::Greater => false,
                    }
                }
            };
            if !take_write {
                return self.head_committed.take().map(Ok);
            }
            if let Some((key, Some(row))) = self.head_write.take() {
                return Some(Ok((key.clone(), row.clone())));
            }
        }
    }
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
    /// `current` so far, `Some(None)` for a tombstone.
    best: Option<Option<Vec<u8>>>,
}

impl Committed {
    fn next_row(&mut self) -> Result<Option<Row>, TxnError> {
        if self.backward {
            self.next_backward()
        } else {
            self.next_forward()
        }
    }

    /// Versions arrive newest first: the first one in the snapshot decides.
    fn next_forward(&mut self) -> Result<Option<Row>, TxnError> {
        while let Some((stored, value)) = self.scan.next_entry()? {
            let (escaped, lsn) = key::split(stored)?;
            if self.current.as_deref() != Some(escaped) {
                // One buffer for the whole scan: a copy per key would be an
                // allocation per row.
                let current = self.current.get_or_insert_with(Vec::new);
                current.clear();
                current.extend_from_slice(escaped);
                self.decided = false;
            }
            if self.decided || lsn > self.snapshot {
                continue;
            }
            self.decided = true;
            if let Some(row) = key::decode_value(value)? {
                return Ok(Some((key::unescape(escaped)?, row.to_vec())));
            }
        }
        Ok(None)
    }

    /// Versions arrive oldest first: a key is decided when the next key
    /// (or the end) shows up.
    fn next_backward(&mut self) -> Result<Option<Row>, TxnError> {
        loop {
            let Some((stored, value)) = self.scan.next_entry()? else {
                let last = self.current.take();
                return match (last, self.best.take()) {
                    (Some(escaped), Some(Some(row))) => Ok(Some((key::unescape(&escaped)?, row))),
                    _ => Ok(None),
                };
            };
            let (escaped, lsn) = key::split(stored)?;
            let mut finished = None;
            if self.current.as_deref() != Some(escaped) {
                let previous = self.current.replace(escaped.to_vec());
                if let (Some(previous), Some(Some(row))) = (previous, self.best.take()) {
                    finished = Some((key::unescape(&previous)?, row));
                }
                self.best = None;
            }
            if lsn <= self.snapshot {
                self.best = Some(key::decode_value(value)?.map(<[u8]>::to_vec));
            }
            if finished.is_some() {
                return Ok(finished);
            }
        }
    }
}
