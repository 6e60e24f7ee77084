//! The byte layout of tree pages: a borrowed, bounds-checked view for the
//! read paths and an owned node for the write paths.
//!
//! ```text
//! node page:     kind u8 | 0 u8 | count u16 | content_start u16 | 0 u16 | leftmost child u64
//!                slot array: count × u16 cell offsets, in key order
//!                free space
//!                cells, packed in key order up to the end of the page
//! leaf cell:     key_len u16 | key | 0 u8 | value_len u16 | value
//!                key_len u16 | key | 1 u8 | first page u64 | compressed_len u32 | raw_len u32
//! internal cell: key_len u16 | key | child u64
//! ```
//!
//! All integers are little-endian. Writers always re-encode whole nodes, so a
//! well-formed page is canonical: cells are contiguous, in slot order, and end
//! exactly at the end of the page. [`Node::decode`] insists on that, which
//! makes overlapping or stray cells a detected corruption rather than a
//! silent one.

use crate::storage::error::{StorageError, StorageResult};
use crate::storage::page::{MAX_KEY_LEN, PAGE_USABLE, PageId};

pub(super) const KIND_LEAF: u8 = 1;
pub(super) const KIND_INTERNAL: u8 = 2;
pub(super) const KIND_OVERFLOW: u8 = 3;

/// Bytes before the slot array of a node page (and before the payload of an
/// overflow page).
pub(super) const HEADER: usize = 16;
/// Bytes of a node page available to slots and cells.
pub(super) const CAPACITY: usize = PAGE_USABLE - HEADER;
/// A non-root node using fewer slot and cell bytes than this is rebalanced.
pub(super) const MIN_FILL: usize = PAGE_USABLE / 4;
/// Longest value stored inside a leaf; longer ones go to an overflow chain.
pub(super) const INLINE_MAX: usize = PAGE_USABLE / 4;
/// Deeper than any tree the fill rules allow over a 2^64-page file; reaching
/// it means a cycle among corrupted child pointers.
pub(super) const MAX_DEPTH: usize = 48;

pub(super) const SLOT: usize = 2;
const TAG_INLINE: u8 = 0;
const TAG_OVERFLOW: u8 = 1;
const OVERFLOW_REF_LEN: usize = 16;
const MAX_LEAF_CELL: usize = 2 + MAX_KEY_LEN + 1 + 2 + INLINE_MAX;
const MAX_INTERNAL_CELL: usize = 2 + MAX_KEY_LEN + 8;

// Splitting by bytes puts at most half the total plus half of one cell on
// either side. An overflowing node holds at most CAPACITY plus one cell, so
// both halves fit as long as a cell is at most half the capacity. The same
// bound keeps both halves of a redistribution above MIN_FILL.
const _: () = assert!(2 * (MAX_LEAF_CELL + SLOT) <= CAPACITY);
const _: () = assert!(2 * (MAX_INTERNAL_CELL + SLOT) <= CAPACITY);
const _: () = assert!(CAPACITY / 2 - (MAX_LEAF_CELL + SLOT) / 2 >= MIN_FILL);
// Offsets and inline value lengths are stored as u16.
const _: () = assert!(PAGE_USABLE <= u16::MAX as usize);

pub(super) fn corrupt(page: PageId, what: &str) -> StorageError {
    StorageError::Corrupt(format!("B+tree page {page}: {what}"))
}

#[inline]
pub(super) fn read_u16(buf: &[u8], off: usize) -> Option<usize> {
    let bytes: [u8; 2] = buf.get(off..off.checked_add(2)?)?.try_into().ok()?;
    Some(usize::from(u16::from_le_bytes(bytes)))
}

pub(super) fn read_u32(buf: &[u8], off: usize) -> Option<u32> {
    let bytes: [u8; 4] = buf.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

pub(super) fn read_u64(buf: &[u8], off: usize) -> Option<u64> {
    let bytes: [u8; 8] = buf.get(off..off.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// Sequential writer over a page buffer that fails instead of panicking.
pub(super) struct PageWriter<'a> {
    page: PageId,
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> PageWriter<'a> {
    pub(super) fn new(page: PageId, buf: &'a mut [u8], pos: usize) -> Self {
        PageWriter { page, buf, pos }
    }

    pub(super) fn seek(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// The node header at the writer's position: kind, a reserved byte,
    /// cell count, where the cells start, a reserved u16 and the leftmost
    /// child (0 for a leaf).
    pub(super) fn header(
        &mut self,
        kind: u8,
        count: usize,
        content_start: usize,
        leftmost: u64,
    ) -> StorageResult<()> {
        self.u8(kind)?;
        self.u8(0)?;
        self.u16(count)?;
        self.u16(content_start)?;
        self.u16(0)?;
        self.u64(leftmost)
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    pub(super) fn bytes(&mut self, src: &[u8]) -> StorageResult<()> {
        let end = self.pos + src.len();
        self.buf
            .get_mut(self.pos..end)
            .ok_or_else(|| corrupt(self.page, "encoded node exceeds the page"))?
            .copy_from_slice(src);
        self.pos = end;
        Ok(())
    }

    pub(super) fn u8(&mut self, v: u8) -> StorageResult<()> {
        self.bytes(&[v])
    }

    pub(super) fn u16(&mut self, v: usize) -> StorageResult<()> {
        let v = u16::try_from(v).map_err(|_| corrupt(self.page, "field exceeds u16"))?;
        self.bytes(&v.to_le_bytes())
    }

    pub(super) fn u32(&mut self, v: u32) -> StorageResult<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub(super) fn u64(&mut self, v: u64) -> StorageResult<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub(super) fn zero_to(&mut self, end: usize) -> StorageResult<()> {
        self.buf
            .get_mut(self.pos..end)
            .ok_or_else(|| corrupt(self.page, "encoded node exceeds the page"))?
            .fill(0);
        self.pos = end;
        Ok(())
    }
}

/// Where an overflowing value lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OverflowRef {
    pub(super) first: PageId,
    pub(super) compressed_len: u32,
    pub(super) raw_len: u32,
}

/// A leaf value as stored: borrowed from the page on the read paths.
#[derive(Debug, Clone, Copy)]
pub(super) enum ValueView<'a> {
    Inline(&'a [u8]),
    Overflow(OverflowRef),
}

/// A node page validated just enough that every accessor is bounds-checked;
/// used where speed matters (lookups, scans), so nothing is decoded up front.
#[derive(Clone, Copy)]
pub(super) struct NodeView<'a> {
    page: PageId,
    buf: &'a [u8],
    leaf: bool,
    count: usize,
}

impl<'a> NodeView<'a> {
    pub(super) fn new(page: PageId, buf: &'a [u8]) -> StorageResult<Self> {
        let leaf = match buf.first() {
            Some(&KIND_LEAF) => true,
            Some(&KIND_INTERNAL) => false,
            _ => return Err(corrupt(page, "not a B+tree node")),
        };
        let count = read_u16(buf, 2).ok_or_else(|| corrupt(page, "short page"))?;
        if HEADER + SLOT * count > buf.len() {
            return Err(corrupt(page, "slot array exceeds the page"));
        }
        Ok(NodeView {
            page,
            buf,
            leaf,
            count,
        })
    }

    pub(super) fn is_leaf(&self) -> bool {
        self.leaf
    }

    pub(super) fn count(&self) -> usize {
        self.count
    }

    /// Offset of cell `i`, checked to lie past the slot array.
    #[inline]
    pub(super) fn slot(&self, i: usize) -> StorageResult<usize> {
        if i >= self.count {
            return Err(self.err("cell index out of range"));
        }
        let off = read_u16(self.buf, HEADER + SLOT * i).ok_or_else(|| self.err("bad slot"))?;
        if off < HEADER + SLOT * self.count {
            return Err(self.err("cell overlaps the slot array"));
        }
        Ok(off)
    }

    fn err(&self, what: &str) -> StorageError {
        corrupt(self.page, what)
    }

    /// The key of cell `i` and the offset just past it.
    #[inline]
    fn key_at(&self, i: usize) -> StorageResult<(&'a [u8], usize)> {
        let off = self.slot(i)?;
        let len = read_u16(self.buf, off).ok_or_else(|| self.err("cell beyond the page"))?;
        let start = off + 2;
        let key = self
            .buf
            .get(start..start + len)
            .ok_or_else(|| self.err("key beyond the page"))?;
        Ok((key, start + len))
    }

    pub(super) fn key(&self, i: usize) -> StorageResult<&'a [u8]> {
        Ok(self.key_at(i)?.0)
    }

    /// `Ok(i)` if key `i` equals `key`, else `Err(i)` with `i` the number of
    /// keys below `key`.
    pub(super) fn search(&self, key: &[u8]) -> StorageResult<Result<usize, usize>> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key(mid)?.cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Ok(mid)),
            }
        }
        Ok(Err(lo))
    }

    /// Index of the child whose subtree would hold `key`: separator `i`
    /// is the smallest key of child `i + 1`'s subtree or lower.
    pub(super) fn child_index(&self, key: &[u8]) -> StorageResult<usize> {
        Ok(match self.search(key)? {
            Ok(i) => i + 1,
            Err(i) => i,
        })
    }

    pub(super) fn child(&self, i: usize) -> StorageResult<PageId> {
        let child = if i == 0 {
            read_u64(self.buf, 8)
        } else {
            let (_, end) = self.key_at(i - 1)?;
            read_u64(self.buf, end)
        }
        .ok_or_else(|| self.err("child pointer beyond the page"))?;
        if child == 0 {
            return Err(self.err("null child pointer"));
        }
        Ok(child)
    }

    #[inline]
    pub(super) fn entry(&self, i: usize) -> StorageResult<(&'a [u8], ValueView<'a>)> {
        let (key, end) = self.key_at(i)?;
        let value = match self.buf.get(end) {
            Some(&TAG_INLINE) => {
                let len = read_u16(self.buf, end + 1).ok_or_else(|| self.err("bad value"))?;
                let start = end + 3;
                let bytes = self
                    .buf
                    .get(start..start + len)
                    .ok_or_else(|| self.err("value beyond the page"))?;
                ValueView::Inline(bytes)
            }
            Some(&TAG_OVERFLOW) => {
                let bad = || self.err("bad overflow reference");
                ValueView::Overflow(OverflowRef {
                    first: read_u64(self.buf, end + 1).ok_or_else(bad)?,
                    compressed_len: read_u32(self.buf, end + 9).ok_or_else(bad)?,
                    raw_len: read_u32(self.buf, end + 13).ok_or_else(bad)?,
                })
            }
            _ => return Err(self.err("unknown value tag")),
        };
        Ok((key, value))
    }
}

/// A leaf value as owned by a decoded node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    Inline(Vec<u8>),
    Overflow(OverflowRef),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) key: Vec<u8>,
    pub(super) value: Value,
}

impl Entry {
    fn size(&self) -> usize {
        SLOT + leaf_cell_len(self.key.len(), inline_len(&self.value))
    }
}

fn inline_len(value: &Value) -> Option<usize> {
    match value {
        Value::Inline(v) => Some(v.len()),
        Value::Overflow(_) => None,
    }
}

/// Bytes of a leaf cell, slot excluded; `inline` is the inline value's
/// length, or `None` for an overflow reference.
pub(super) fn leaf_cell_len(key_len: usize, inline: Option<usize>) -> usize {
    2 + key_len + 1 + inline.map_or(OVERFLOW_REF_LEN, |len| 2 + len)
}

/// Checks that a leaf's cells lie packed in slot order from `content_start`
/// to the page end — a canonical page, whose cells can be moved by byte
/// ranges — calling `end` with where each cell ends.
///
/// # Errors
/// A corruption error naming `page` when they do not.
pub(super) fn check_packed(
    view: &NodeView<'_>,
    page: PageId,
    content_start: usize,
    mut end: impl FnMut(usize),
) -> StorageResult<()> {
    let mut expected = content_start;
    for i in 0..view.count() {
        if view.slot(i)? != expected {
            return Err(corrupt(page, "cells are not packed in slot order"));
        }
        let (key, value) = view.entry(i)?;
        let inline = match value {
            ValueView::Inline(v) => Some(v.len()),
            ValueView::Overflow(_) => None,
        };
        expected += leaf_cell_len(key.len(), inline);
        end(expected);
    }
    if expected != PAGE_USABLE {
        return Err(corrupt(page, "cells do not end at the page end"));
    }
    Ok(())
}

fn write_leaf_cell(w: &mut PageWriter<'_>, key: &[u8], value: &Value) -> StorageResult<()> {
    match value {
        Value::Inline(v) => write_inline_cell(w, key, v),
        Value::Overflow(r) => {
            w.u16(key.len())?;
            w.bytes(key)?;
            w.u8(TAG_OVERFLOW)?;
            w.u64(r.first)?;
            w.u32(r.compressed_len)?;
            w.u32(r.raw_len)
        }
    }
}

/// Writes the leaf cell of `key` with the inline value `value`.
pub(super) fn write_inline_cell(
    w: &mut PageWriter<'_>,
    key: &[u8],
    value: &[u8],
) -> StorageResult<()> {
    w.u16(key.len())?;
    w.bytes(key)?;
    w.u8(TAG_INLINE)?;
    w.u16(value.len())?;
    w.bytes(value)
}

/// A leaf cell as bytes, for in-place edits.
pub(super) fn leaf_cell(key: &[u8], value: &Value) -> StorageResult<Vec<u8>> {
    let mut cell = vec![0; leaf_cell_len(key.len(), inline_len(value))];
    write_leaf_cell(&mut PageWriter::new(0, &mut cell, 0), key, value)?;
    Ok(cell)
}

fn internal_cell_size(key: &[u8]) -> usize {
    SLOT + 2 + key.len() + 8
}

/// A decoded node. Internal nodes always have one child more than keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    Leaf(Vec<Entry>),
    Internal {
        keys: Vec<Vec<u8>>,
        children: Vec<PageId>,
    },
}

impl Node {
    /// Slot and cell bytes the node needs; it fits a page iff this is at most
    /// [`CAPACITY`].
    pub(super) fn used(&self) -> usize {
        match self {
            Node::Leaf(entries) => entries.iter().map(Entry::size).sum(),
            Node::Internal { keys, .. } => keys.iter().map(|k| internal_cell_size(k)).sum(),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Node::Leaf(entries) => entries.len(),
            Node::Internal { keys, .. } => keys.len(),
        }
    }

    pub(super) fn decode(page: PageId, buf: &[u8]) -> StorageResult<Node> {
        let view = NodeView::new(page, buf)?;
        let content_start = read_u16(buf, 4).ok_or_else(|| corrupt(page, "short page"))?;
        if content_start < HEADER + SLOT * view.count || content_start > buf.len() {
            return Err(corrupt(page, "content start out of range"));
        }
        let mut expected = content_start;
        let mut node = if view.leaf {
            Node::Leaf(Vec::with_capacity(view.count))
        } else {
            Node::Internal {
                keys: Vec::with_capacity(view.count),
                children: vec![view.child(0)?],
            }
        };
        for i in 0..view.count {
            let off = read_u16(buf, HEADER + SLOT * i).ok_or_else(|| corrupt(page, "bad slot"))?;
            if off != expected {
                return Err(corrupt(page, "cells are not packed in slot order"));
            }
            let size = match &mut node {
                Node::Leaf(entries) => {
                    let (key, value) = view.entry(i)?;
                    let entry = Entry {
                        key: key.to_vec(),
                        value: match value {
                            ValueView::Inline(v) => Value::Inline(v.to_vec()),
                            ValueView::Overflow(r) => Value::Overflow(r),
                        },
                    };
                    let size = entry.size();
                    entries.push(entry);
                    size
                }
                Node::Internal { keys, children } => {
                    let key = view.key(i)?;
                    children.push(view.child(i + 1)?);
                    keys.push(key.to_vec());
                    internal_cell_size(key)
                }
            };
            expected += size - SLOT;
        }
        if expected != buf.len() {
            return Err(corrupt(page, "cells do not end at the page end"));
        }
        let too_long = match &node {
            Node::Leaf(entries) => entries.iter().any(|e| e.key.len() > MAX_KEY_LEN),
            Node::Internal { keys, .. } => keys.iter().any(|k| k.len() > MAX_KEY_LEN),
        };
        if too_long {
            return Err(corrupt(page, "key longer than MAX_KEY_LEN"));
        }
        Ok(node)
    }

    /// Writes the node over a whole page.
    pub(super) fn encode(&self, page: PageId, buf: &mut [u8]) -> StorageResult<()> {
        if buf.len() != PAGE_USABLE || self.used() > CAPACITY {
            return Err(corrupt(page, "node does not fit its page"));
        }
        let count = self.len();
        let cells = self.used() - SLOT * count;
        let mut cell_at = PAGE_USABLE - cells;
        let mut w = PageWriter::new(page, buf, 0);
        let (kind, leftmost) = match self {
            Node::Leaf(_) => (KIND_LEAF, 0),
            Node::Internal { children, .. } => (
                KIND_INTERNAL,
                *children
                    .first()
                    .ok_or_else(|| corrupt(page, "internal node without children"))?,
            ),
        };
        w.header(kind, count, cell_at, leftmost)?;
        let mut slot_at = HEADER;
        for i in 0..count {
            w.seek(slot_at);
            w.u16(cell_at)?;
            slot_at += SLOT;
            w.seek(cell_at);
            match self {
                Node::Leaf(entries) => write_leaf_cell(&mut w, &entries[i].key, &entries[i].value)?,
                Node::Internal { keys, children } => {
                    w.u16(keys[i].len())?;
                    w.bytes(&keys[i])?;
                    let child = children
                        .get(i + 1)
                        .ok_or_else(|| corrupt(page, "internal node short of children"))?;
                    w.u64(*child)?;
                }
            }
            cell_at = w.pos;
        }
        w.seek(slot_at);
        w.zero_to(PAGE_USABLE - cells)
    }

    /// Splits an overfull node (or the union of two siblings) into two that
    /// each fit, balanced by bytes, and returns the separator for the parent.
    pub(super) fn split(self, page: PageId) -> StorageResult<(Node, Vec<u8>, Node)> {
        match self {
            Node::Leaf(mut entries) => {
                if entries.len() < 2 {
                    return Err(corrupt(page, "leaf too small to split"));
                }
                let sizes: Vec<usize> = entries.iter().map(Entry::size).collect();
                let m = balance_point(&sizes, 1..entries.len(), false);
                let right = entries.split_off(m);
                let sep = match (entries.last(), right.first()) {
                    (Some(l), Some(r)) => shortest_separator(&l.key, &r.key),
                    _ => return Err(corrupt(page, "empty half after split")),
                };
                Ok((Node::Leaf(entries), sep, Node::Leaf(right)))
            }
            Node::Internal {
                mut keys,
                mut children,
            } => {
                if keys.len() < 3 || children.len() != keys.len() + 1 {
                    return Err(corrupt(page, "internal node too small to split"));
                }
                let sizes: Vec<usize> = keys.iter().map(|k| internal_cell_size(k)).collect();
                let m = balance_point(&sizes, 1..keys.len() - 1, true);
                let right_keys = keys.split_off(m + 1);
                let right_children = children.split_off(m + 1);
                let up = keys
                    .pop()
                    .ok_or_else(|| corrupt(page, "empty half after split"))?;
                Ok((
                    Node::Internal { keys, children },
                    up,
                    Node::Internal {
                        keys: right_keys,
                        children: right_children,
                    },
                ))
            }
        }
    }
}

/// The index in `candidates` that best balances the bytes on either side:
/// cells `..m` go left, and cells `m..` (or `m + 1..` if cell `m` moves up to
/// the parent) go right.
fn balance_point(sizes: &[usize], candidates: std::ops::Range<usize>, promote: bool) -> usize {
    let total: usize = sizes.iter().sum();
    let mut best = (usize::MAX, candidates.start);
    let mut left: usize = sizes.iter().take(candidates.start).sum();
    for m in candidates {
        let middle = if promote { sizes[m] } else { 0 };
        let worst = left.max(total - left - middle);
        if worst < best.0 {
            best = (worst, m);
        }
        left += sizes[m];
    }
    best.1
}

/// The shortest key `s` with `left < s <= right`: keeps internal nodes small
/// and trees shallow when keys share long prefixes.
pub(super) fn shortest_separator(left: &[u8], right: &[u8]) -> Vec<u8> {
    let common = left.iter().zip(right).take_while(|(a, b)| a == b).count();
    right.get(..=common).unwrap_or(right).to_vec()
}
