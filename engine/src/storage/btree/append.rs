//! The split of a full leaf that a key past its last one overflows: the
//! shape every split of an ascending append takes.
//!
//! Split at the byte midpoint, an append leaves every leaf behind it half
//! full and splits again after half a leaf of keys; and the owned-node
//! path decoded the leaf and its parent (two allocations per cell) for
//! each split, which was most of what a bulk INSERT's commit spent in the
//! tree. Here the leaf keeps all but the last quarter page of its cells,
//! which move with the new key to a new right sibling that the following
//! keys fill ([`BTree::put_run`]), and the separator goes into the parent
//! in place. Only a parent without room for it is decoded and settled the
//! usual way.

use crate::storage::error::StorageResult;
use crate::storage::page::{PAGE_USABLE, PageAccess, PageId};

use super::BTree;
use super::node::{
    CAPACITY, HEADER, KIND_LEAF, MIN_FILL, Node, NodeView, PageWriter, SLOT, check_packed, corrupt,
    leaf_cell_len, read_u16, shortest_separator, write_inline_cell,
};
use super::tree::read_node;

impl BTree {
    /// Stores `key`, which sorts after every key of the full leaf that
    /// holds its place, by an append split; `false`, having changed
    /// nothing, if the leaf is the root, not full, or `key` is not past its
    /// last key. `value` must be inline.
    pub(super) fn append_split<P: PageAccess>(
        &self,
        pages: &P,
        key: &[u8],
        value: &[u8],
    ) -> StorageResult<bool> {
        let (mut path, leaf, present) = self.descend(pages, key)?;
        let Some(parent) = path.pop() else {
            return Ok(false);
        };
        if present {
            return Ok(false);
        }
        let new_cell = SLOT + leaf_cell_len(key.len(), Some(value.len()));
        let Some(tail) = pages.read_page(leaf, |buf| Tail::find(leaf, buf, key, new_cell))?? else {
            return Ok(false);
        };
        let right = pages.allocate_page()?;
        pages.write_page(right, |buf| tail.write_right(right, buf, key, value))??;
        pages.write_page(leaf, |buf| tail.truncate_left(leaf, buf))??;
        let linked = pages.write_page(parent.page, |buf| {
            insert_child(parent.page, buf, parent.child, leaf, &tail.separator, right)
        })??;
        if linked {
            return Ok(true);
        }
        let Node::Internal {
            mut keys,
            mut children,
        } = read_node(pages, parent.page)?
        else {
            return Err(corrupt(parent.page, "expected an internal node"));
        };
        if children.get(parent.child) != Some(&leaf) {
            return Err(corrupt(parent.page, "child pointer changed under the path"));
        }
        keys.insert(parent.child, tail.separator);
        children.insert(parent.child + 1, right);
        self.settle(pages, path, parent.page, Node::Internal { keys, children })?;
        Ok(true)
    }
}

/// The cells of a leaf that move to its new right sibling.
struct Tail {
    /// The first moving cell.
    from: usize,
    /// The leaf's cell count.
    count: usize,
    /// The moving cells' bytes, as packed at the end of the leaf.
    cells: Vec<u8>,
    /// Each moving cell's offset in `cells`.
    offsets: Vec<usize>,
    /// Between the last key staying and the first moving.
    separator: Vec<u8>,
}

impl Tail {
    /// The shortest run of last cells of the leaf in `buf` that fills a
    /// quarter page, if the leaf is canonical, has no room for a cell of
    /// `new_cell` bytes (slot included) and `key` sorts after its last key.
    fn find(page: PageId, buf: &[u8], key: &[u8], new_cell: usize) -> StorageResult<Option<Tail>> {
        let view = NodeView::new(page, buf)?;
        if !view.is_leaf() {
            return Err(corrupt(page, "expected a leaf"));
        }
        let n = view.count();
        let Some(last) = n.checked_sub(1) else {
            return Ok(None);
        };
        let content_start = read_u16(buf, 4).ok_or_else(|| corrupt(page, "short page"))?;
        if view.key(last)? >= key || buf.len() != PAGE_USABLE {
            return Ok(None);
        }
        // Cells move by byte ranges, which is only right for a canonical
        // page: check it is one before anything is written.
        let mut ends = Vec::with_capacity(n);
        check_packed(&view, page, content_start, |end| ends.push(end))?;
        let used = SLOT * n + (PAGE_USABLE - content_start);
        if used + new_cell <= CAPACITY {
            return Ok(None);
        }
        let mut from = n;
        let mut moving = 0;
        while moving < MIN_FILL && from > 0 {
            from -= 1;
            moving += SLOT + ends[from] - view.slot(from)?;
        }
        // Both sides stay above a quarter page: the leaf was full and no
        // cell is more than three eighths of one.
        if from == 0 || used - moving < MIN_FILL || moving + new_cell > CAPACITY {
            return Ok(None);
        }
        let start = view.slot(from)?;
        let cells = buf
            .get(start..PAGE_USABLE)
            .ok_or_else(|| corrupt(page, "cell beyond the page"))?
            .to_vec();
        let offsets = (from..n)
            .map(|i| Ok(view.slot(i)? - start))
            .collect::<StorageResult<_>>()?;
        let separator = shortest_separator(view.key(from - 1)?, view.key(from)?);
        Ok(Some(Tail {
            from,
            count: n,
            cells,
            offsets,
            separator,
        }))
    }

    /// Writes the new right sibling into the zeroed page `buf`: the moving
    /// cells, then the cell of `key`.
    fn write_right(
        &self,
        page: PageId,
        buf: &mut [u8],
        key: &[u8],
        value: &[u8],
    ) -> StorageResult<()> {
        let new_len = leaf_cell_len(key.len(), Some(value.len()));
        let count = self.offsets.len() + 1;
        let start = PAGE_USABLE - self.cells.len() - new_len;
        let mut w = PageWriter::new(page, buf, 0);
        w.header(KIND_LEAF, count, start, 0)?;
        for &offset in &self.offsets {
            w.u16(start + offset)?;
        }
        let new_at = start + self.cells.len();
        w.u16(new_at)?;
        w.seek(start);
        w.bytes(&self.cells)?;
        write_inline_cell(&mut w, key, value)?;
        if w.pos() != PAGE_USABLE {
            return Err(corrupt(page, "split cells do not end at the page end"));
        }
        Ok(())
    }

    /// Drops the moving cells from the leaf in `buf`, packing the rest
    /// against the end of the page again.
    fn truncate_left(&self, page: PageId, buf: &mut [u8]) -> StorageResult<()> {
        let bad = || corrupt(page, "split out of bounds");
        let content_start = read_u16(buf, 4).ok_or_else(bad)?;
        let stay_end = PAGE_USABLE - self.cells.len();
        let shift = self.cells.len();
        buf.copy_within(content_start..stay_end, content_start + shift);
        buf.get_mut(content_start..content_start + shift)
            .ok_or_else(bad)?
            .fill(0);
        let mut w = PageWriter::new(page, buf, 2);
        w.u16(self.from)?;
        w.u16(content_start + shift)?;
        for i in 0..self.from {
            let at = HEADER + SLOT * i;
            let slot = read_u16(buf, at).ok_or_else(bad)?;
            PageWriter::new(page, buf, at).u16(slot + shift)?;
        }
        buf.get_mut(HEADER + SLOT * self.from..HEADER + SLOT * self.count)
            .ok_or_else(bad)?
            .fill(0);
        Ok(())
    }
}

/// Enters `separator` and the new child `right` after child `at` (which
/// must be `left`) of the internal node in `buf`, in place; `false`,
/// leaving the page untouched, if the cell does not fit.
fn insert_child(
    page: PageId,
    buf: &mut [u8],
    at: usize,
    left: PageId,
    separator: &[u8],
    right: PageId,
) -> StorageResult<bool> {
    let view = NodeView::new(page, buf)?;
    if view.is_leaf() {
        return Err(corrupt(page, "expected an internal node"));
    }
    if view.child(at)? != left {
        return Err(corrupt(page, "child pointer changed under the path"));
    }
    let n = view.count();
    let content_start = read_u16(buf, 4).ok_or_else(|| corrupt(page, "short page"))?;
    if content_start < HEADER + SLOT * n || content_start > PAGE_USABLE || buf.len() != PAGE_USABLE
    {
        return Err(corrupt(page, "content start out of range"));
    }
    // The cells before `at` shift down by the new cell's length; check
    // they are where a canonical page has them before moving them.
    let b = if at < n { view.slot(at)? } else { PAGE_USABLE };
    for i in 0..at {
        let s = view.slot(i)?;
        if s < content_start || s >= b {
            return Err(corrupt(page, "cells are not packed in slot order"));
        }
    }
    let len = 2 + separator.len() + 8;
    if SLOT * (n + 1) + (PAGE_USABLE - content_start) + len > CAPACITY {
        return Ok(false);
    }
    let new_start = content_start - len;
    buf.copy_within(content_start..b, new_start);
    let mut w = PageWriter::new(page, buf, b - len);
    w.u16(separator.len())?;
    w.bytes(separator)?;
    w.u64(right)?;
    let bad = || corrupt(page, "in-place edit out of bounds");
    for i in 0..at {
        let slot_at = HEADER + SLOT * i;
        let s = read_u16(buf, slot_at).ok_or_else(bad)?;
        PageWriter::new(page, buf, slot_at).u16(s - len)?;
    }
    let slot_at = HEADER + SLOT * at;
    buf.copy_within(slot_at..HEADER + SLOT * n, slot_at + SLOT);
    PageWriter::new(page, buf, slot_at).u16(b - len)?;
    let mut w = PageWriter::new(page, buf, 2);
    w.u16(n + 1)?;
    w.u16(new_start)?;
    Ok(true)
}
