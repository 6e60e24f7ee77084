//! The fast path of leaf writes: inserting, replacing or removing one cell
//! directly in the page bytes.
//!
//! Decoding a leaf into owned entries and encoding it again costs two
//! allocations per entry, for every put. Most writes change one cell of a
//! leaf that neither overflows nor underflows, so they shift the cells before
//! it by the size difference and fix the slots instead, keeping the page
//! canonical. Anything that needs a split or rebalance falls back to the
//! owned-node path.

use crate::storage::error::StorageResult;
use crate::storage::page::{PAGE_USABLE, PageId};

use super::node::{
    CAPACITY, HEADER, MIN_FILL, NodeView, OverflowRef, SLOT, ValueView, corrupt, leaf_cell_len,
    read_u16,
};

/// What an in-place edit did.
pub(super) struct Spliced {
    /// The key was present before.
    pub(super) existed: bool,
    /// The overflow chain of the replaced or removed value, now unreferenced.
    pub(super) orphan: Option<OverflowRef>,
}

/// Replaces the cell of `key` (or the gap where it would go) with `cell`,
/// or removes it if `cell` is `None`. Returns `None`, leaving the page
/// untouched, if the leaf would leave its fill bounds; a root leaf has no
/// lower bound.
pub(super) fn splice(
    page: PageId,
    buf: &mut [u8],
    key: &[u8],
    cell: Option<&[u8]>,
    is_root: bool,
) -> StorageResult<Option<Spliced>> {
    let view = NodeView::new(page, buf)?;
    if !view.is_leaf() {
        return Err(corrupt(page, "expected a leaf"));
    }
    let n = view.count();
    let content_start = read_u16(buf, 4).ok_or_else(|| corrupt(page, "short page"))?;
    if content_start < HEADER + SLOT * n || content_start > PAGE_USABLE {
        return Err(corrupt(page, "content start out of range"));
    }
    let end_of = |j: usize| {
        if j < n { view.slot(j) } else { Ok(PAGE_USABLE) }
    };
    // The bytes [a, b) of the old cell (empty when inserting) give way to `cell`.
    let (i, a, b, orphan) = match view.search(key)? {
        Ok(i) => {
            let (key, value) = view.entry(i)?;
            let (inline, orphan) = match value {
                ValueView::Inline(v) => (Some(v.len()), None),
                ValueView::Overflow(r) => (None, Some(r)),
            };
            let a = view.slot(i)?;
            let b = end_of(i + 1)?;
            if b.checked_sub(a) != Some(leaf_cell_len(key.len(), inline)) {
                return Err(corrupt(page, "cells are not packed in slot order"));
            }
            (i, a, b, orphan)
        }
        Err(i) if cell.is_some() => {
            let b = end_of(i)?;
            (i, b, b, None)
        }
        Err(_) => {
            return Ok(Some(Spliced {
                existed: false,
                orphan: None,
            }));
        }
    };
    if b > PAGE_USABLE || buf.len() != PAGE_USABLE {
        return Err(corrupt(page, "cell beyond the page"));
    }
    let existed = a != b;
    // Every cell before `i` moves with the content; check them all before
    // any byte changes. (No list of them is kept: this runs once per put,
    // and collecting the slots was a sixth of a commit's time.)
    if a < content_start {
        return Err(corrupt(page, "cells are not packed in slot order"));
    }
    for j in 0..i {
        let s = view.slot(j)?;
        if s < content_start || s >= a {
            return Err(corrupt(page, "cells are not packed in slot order"));
        }
    }
    let len = cell.map_or(0, <[u8]>::len);
    let slots = match (existed, cell.is_some()) {
        (false, true) => n + 1,
        (true, false) => n - 1,
        _ => n,
    };
    let cells = PAGE_USABLE - content_start - (b - a) + len;
    let used = cells + SLOT * slots;
    if used > CAPACITY || (!is_root && used < MIN_FILL) {
        return Ok(None);
    }

    let new_start = PAGE_USABLE - cells;
    let bad = || corrupt(page, "in-place edit out of bounds");
    buf.copy_within(content_start..a, new_start);
    if let Some(cell) = cell {
        buf.get_mut(b - len..b)
            .ok_or_else(bad)?
            .copy_from_slice(cell);
    }
    if new_start > content_start {
        buf.get_mut(content_start..new_start)
            .ok_or_else(bad)?
            .fill(0);
    }
    let put_u16 = |buf: &mut [u8], at: usize, v: usize| -> StorageResult<()> {
        let v = u16::try_from(v).map_err(|_| bad())?;
        buf.get_mut(at..at + 2)
            .ok_or_else(bad)?
            .copy_from_slice(&v.to_le_bytes());
        Ok(())
    };
    for j in 0..i {
        let at = HEADER + SLOT * j;
        let s = read_u16(buf, at).ok_or_else(bad)?;
        put_u16(buf, at, s + new_start - content_start)?;
    }
    let slot_i = HEADER + SLOT * i;
    let slots_end = HEADER + SLOT * n;
    match (existed, cell.is_some()) {
        (false, true) => {
            buf.copy_within(slot_i..slots_end, slot_i + SLOT);
            put_u16(buf, slot_i, b - len)?;
        }
        (true, false) => {
            buf.copy_within(slot_i + SLOT..slots_end, slot_i);
            buf.get_mut(slots_end - SLOT..slots_end)
                .ok_or_else(bad)?
                .fill(0);
        }
        _ => put_u16(buf, slot_i, b - len)?,
    }
    put_u16(buf, 2, slots)?;
    put_u16(buf, 4, new_start)?;
    Ok(Some(Spliced { existed, orphan }))
}
