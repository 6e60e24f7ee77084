//! Range scans that hold no page between calls.
//!
//! A cursor is only bounds, a direction and the last key it returned. Each
//! [`Cursor::fill`] descends from the root to where the previous chunk ended,
//! so writers may split, merge or free any page between two fills without
//! the cursor noticing. Within one fill the tree is stable (the store holds
//! its read lock), so moving to the next leaf walks back up a remembered path
//! instead of descending from the root again.

use std::ops::Bound;

use crate::storage::error::StorageResult;
use crate::storage::page::{PageAccess, PageId};

use super::BTree;
use super::node::{MAX_DEPTH, NodeView, OverflowRef, ValueView, corrupt};
use super::overflow;

/// Order in which a scan returns keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending keys.
    Forward,
    /// Descending keys.
    Backward,
}

/// One entry of a chunk: ranges into the arena.
#[derive(Debug, Clone, Copy)]
struct Span {
    key: (usize, usize),
    value: (usize, usize),
}

/// A resumable range scan over one tree.
#[derive(Debug, Clone)]
pub struct Cursor {
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    dir: Direction,
    last: Option<Vec<u8>>,
    done: bool,
    arena: Vec<u8>,
    spans: Vec<Span>,
}

/// Whether `key` lies within the bound a scan in direction `forward` ends
/// at (the upper bound forward, the lower one backward).
fn within(forward: bool, lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    if forward {
        match upper {
            Bound::Included(u) => key <= u.as_slice(),
            Bound::Excluded(u) => key < u.as_slice(),
            Bound::Unbounded => true,
        }
    } else {
        match lower {
            Bound::Included(l) => key >= l.as_slice(),
            Bound::Excluded(l) => key > l.as_slice(),
            Bound::Unbounded => true,
        }
    }
}

/// An internal node on the current path, the child taken, and its number of
/// keys.
#[derive(Debug, Clone, Copy)]
struct Level {
    page: PageId,
    child: usize,
    keys: usize,
}

impl Cursor {
    /// A cursor over the keys within `lower..upper`, returned in `dir` order.
    pub fn new(lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>, dir: Direction) -> Cursor {
        Cursor {
            lower,
            upper,
            dir,
            last: None,
            done: false,
            arena: Vec::new(),
            spans: Vec::new(),
        }
    }

    /// Replaces the chunk with up to `max_entries` (at least one) entries
    /// following the last one returned, crossing leaves as needed. Returns
    /// `false`, with an empty chunk, once the range is exhausted.
    ///
    /// # Errors
    /// A corrupted tree or failure of the page layer.
    pub fn fill<P: PageAccess>(
        &mut self,
        tree: &BTree,
        pages: &P,
        max_entries: usize,
    ) -> StorageResult<bool> {
        self.arena.clear();
        self.spans.clear();
        if self.done {
            return Ok(false);
        }
        let max = max_entries.max(1);
        let forward = self.dir == Direction::Forward;
        let start = match (&self.last, forward) {
            (Some(k), _) => Bound::Excluded(k.clone()),
            (None, true) => self.lower.clone(),
            (None, false) => self.upper.clone(),
        };
        let mut path = Vec::new();
        let mut page = tree.root();
        self.descend(pages, &mut path, &mut page, &start)?;
        loop {
            let (end, pending) = self.copy_leaf(pages, page, &start, max)?;
            for (span, r) in pending {
                let value = overflow::read(pages, r, None)?;
                let at = self.arena.len();
                self.arena.extend_from_slice(&value);
                if let Some(s) = self.spans.get_mut(span) {
                    s.value = (at, value.len());
                }
            }
            if end {
                self.done = true;
                break;
            }
            if self.spans.len() >= max {
                break;
            }
            // Climb to the nearest level with a sibling in scan direction;
            // the descent above then follows its outer edge.
            let next = loop {
                let Some(mut level) = path.pop() else {
                    break None;
                };
                let more = if forward {
                    level.child < level.keys
                } else {
                    level.child > 0
                };
                if more {
                    level.child = if forward {
                        level.child + 1
                    } else {
                        level.child - 1
                    };
                    break Some(level);
                }
            };
            let Some(level) = next else {
                self.done = true;
                break;
            };
            page = pages.read_page(level.page, |buf| {
                NodeView::new(level.page, buf)?.child(level.child)
            })??;
            path.push(level);
            // Every key below the sibling is past `start`: follow the outer edge.
            self.descend(pages, &mut path, &mut page, &Bound::Unbounded)?;
        }
        if let Some(s) = self.spans.last() {
            self.last = self
                .arena
                .get(s.key.0..s.key.0 + s.key.1)
                .map(<[u8]>::to_vec);
        }
        Ok(!self.spans.is_empty())
    }

    /// Descends from `page` to the leaf where a scan from `start` begins:
    /// the child that would hold the start key, or the outer edge if unbounded.
    fn descend<P: PageAccess>(
        &self,
        pages: &P,
        path: &mut Vec<Level>,
        page: &mut PageId,
        start: &Bound<Vec<u8>>,
    ) -> StorageResult<()> {
        let forward = self.dir == Direction::Forward;
        loop {
            if path.len() > MAX_DEPTH {
                return Err(corrupt(*page, "tree deeper than possible"));
            }
            let id = *page;
            let step = pages.read_page(id, |buf| -> StorageResult<Option<(Level, PageId)>> {
                let view = NodeView::new(id, buf)?;
                if view.is_leaf() {
                    return Ok(None);
                }
                let child = match start {
                    Bound::Included(k) | Bound::Excluded(k) => view.child_index(k)?,
                    Bound::Unbounded if forward => 0,
                    Bound::Unbounded => view.count(),
                };
                let level = Level {
                    page: id,
                    child,
                    keys: view.count(),
                };
                Ok(Some((level, view.child(child)?)))
            })??;
            let Some((level, child)) = step else {
                return Ok(());
            };
            path.push(level);
            *page = child;
        }
    }

    /// Copies the leaf's entries past `start` and within the far bound into
    /// the chunk, until it holds `max`. Returns whether the far bound was
    /// reached, and the overflow values still to be read (which cannot be
    /// read while the leaf is pinned).
    fn copy_leaf<P: PageAccess>(
        &mut self,
        pages: &P,
        page: PageId,
        start: &Bound<Vec<u8>>,
        max: usize,
    ) -> StorageResult<(bool, Vec<(usize, OverflowRef)>)> {
        let forward = self.dir == Direction::Forward;
        let Cursor {
            lower,
            upper,
            arena,
            spans,
            ..
        } = self;
        pages.read_page(page, |buf| {
            let view = NodeView::new(page, buf)?;
            if !view.is_leaf() {
                return Err(corrupt(page, "expected a leaf"));
            }
            let n = view.count();
            // `first` is the index of the first entry to return in forward
            // order, or one past it in backward order.
            let first = match start {
                Bound::Unbounded => {
                    if forward {
                        0
                    } else {
                        n
                    }
                }
                Bound::Included(k) => match (view.search(k)?, forward) {
                    (Ok(i), true) => i,
                    (Ok(i), false) => i + 1,
                    (Err(i), _) => i,
                },
                Bound::Excluded(k) => match (view.search(k)?, forward) {
                    (Ok(i), true) => i + 1,
                    (Ok(i), false) => i,
                    (Err(i), _) => i,
                },
            };
            // When the leaf's last entry in scan order is within the far
            // bound, so are all its entries (keys of a leaf are sorted; the
            // order check below fails a leaf that is not once the scan
            // reaches the entry out of place): one comparison per leaf
            // instead of one per entry.
            let outer = match (n, forward) {
                (0, _) => None,
                (_, true) => Some(n - 1),
                (_, false) => Some(0),
            };
            let all_inside = match outer {
                Some(o) => within(forward, lower, upper, view.key(o)?),
                None => true,
            };
            let mut pending = Vec::new();
            let mut i = first;
            while spans.len() < max {
                let idx = if forward {
                    if i >= n {
                        return Ok((false, pending));
                    }
                    i += 1;
                    i - 1
                } else {
                    if i == 0 {
                        return Ok((false, pending));
                    }
                    i -= 1;
                    i
                };
                let (key, value) = view.entry(idx)?;
                if !all_inside && !within(forward, lower, upper, key) {
                    return Ok((true, pending));
                }
                // Keys come out strictly in cursor order in a sound tree. A
                // corrupt child pointer can lead back into a leaf already
                // read; going on would return its keys again, and a caller
                // resuming after the last key could cycle for ever.
                let previous = match spans.last() {
                    Some(s) => arena.get(s.key.0..s.key.0 + s.key.1).map(|k| (k, false)),
                    None => match start {
                        Bound::Included(k) => Some((k.as_slice(), true)),
                        Bound::Excluded(k) => Some((k.as_slice(), false)),
                        Bound::Unbounded => None,
                    },
                };
                if let Some((prev, equal_ok)) = previous {
                    let in_order = match key.cmp(prev) {
                        std::cmp::Ordering::Equal => equal_ok,
                        std::cmp::Ordering::Greater => forward,
                        std::cmp::Ordering::Less => !forward,
                    };
                    if !in_order {
                        return Err(corrupt(page, "keys out of order across leaves"));
                    }
                }
                let key_at = arena.len();
                arena.extend_from_slice(key);
                let value_span = match value {
                    ValueView::Inline(v) => {
                        let at = arena.len();
                        arena.extend_from_slice(v);
                        (at, v.len())
                    }
                    ValueView::Overflow(r) => {
                        pending.push((spans.len(), r));
                        (0, 0)
                    }
                };
                spans.push(Span {
                    key: (key_at, key.len()),
                    value: value_span,
                });
            }
            Ok((false, pending))
        })?
    }

    /// Entries of the current chunk, in cursor order.
    pub fn chunk(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.spans.iter().map(|s| {
            let get = |(at, len): (usize, usize)| self.arena.get(at..at + len).unwrap_or_default();
            (get(s.key), get(s.value))
        })
    }

    /// Number of entries in the current chunk.
    pub fn chunk_len(&self) -> usize {
        self.spans.len()
    }

    /// Entry `i` of the current chunk, for callers that walk it by position.
    pub fn chunk_entry(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let s = self.spans.get(i)?;
        let get = |(at, len): (usize, usize)| self.arena.get(at..at + len).unwrap_or_default();
        Some((get(s.key), get(s.value)))
    }
}
