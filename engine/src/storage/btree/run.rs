//! Batched puts: a run of ascending keys merged into their leaf at once.
//!
//! A commit's write set arrives sorted, and a bulk INSERT (and the audit
//! rows its triggers write) appends long runs of keys to the end of one
//! tree. Put one at a time, every key paid a descent and an in-place edit
//! that moves every cell before it — for an append, the whole leaf. Here
//! one descent finds the leaf and its upper fence, and as many of the run's
//! keys as belong to that leaf and fit it are merged into one rewrite of
//! the page. A key past the end of a full leaf splits it for appending
//! (`append.rs`); whatever else would need a split, an overflow chain or a
//! replacement goes through [`BTree::put`], one key at a time.

use crate::storage::error::StorageResult;
use crate::storage::page::{MAX_KEY_LEN, PAGE_USABLE, PageAccess, PageId};

use super::BTree;
use super::node::{
    CAPACITY, HEADER, INLINE_MAX, KIND_LEAF, MAX_DEPTH, NodeView, PageWriter, SLOT, check_packed,
    corrupt, leaf_cell_len, read_u16, write_inline_cell,
};

impl BTree {
    /// Stores a prefix of `run` — at least its first entry — as that many
    /// [`BTree::put`]s in order would, and returns its length; only a full
    /// leaf that the first key would extend splits differently (see
    /// `append.rs`). The prefix touches one leaf, or is one split or
    /// ordinary put: callers that bound the pages dirtied by one operation
    /// may treat each call as one.
    /// The prefix ends where keys stop ascending strictly, so any `run`
    /// is accepted; sorted runs are the ones that go fast.
    ///
    /// # Errors
    /// As [`BTree::put`] for the first entry.
    pub fn put_run<P, K, V>(&self, pages: &P, run: &[(K, V)]) -> StorageResult<usize>
    where
        P: PageAccess,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let Some((first, value)) = run.first() else {
            return Ok(0);
        };
        let (first, value) = (first.as_ref(), value.as_ref());
        if first.len() <= MAX_KEY_LEN && value.len() <= INLINE_MAX {
            let (leaf, fence) = self.descend_fenced(pages, first)?;
            let merged =
                pages.write_page(leaf, |buf| merge_run(leaf, buf, run, fence.as_deref()))??;
            if merged > 0 {
                return Ok(merged);
            }
            if self.append_split(pages, first, value)? {
                return Ok(1);
            }
        }
        self.put(pages, first, value)?;
        Ok(1)
    }

    /// The leaf that holds or would hold `key`, and the smallest separator
    /// above it on the way down: every key of that leaf's range is below
    /// it (`None`: the leaf is the last of the tree).
    pub(super) fn descend_fenced<P: PageAccess>(
        &self,
        pages: &P,
        key: &[u8],
    ) -> StorageResult<(PageId, Option<Vec<u8>>)> {
        let mut page = self.root();
        let mut fence = None;
        for _ in 0..=MAX_DEPTH {
            let next = pages.read_page(page, |buf| -> StorageResult<_> {
                let view = NodeView::new(page, buf)?;
                if view.is_leaf() {
                    return Ok(None);
                }
                let i = view.child_index(key)?;
                // Child `i` holds the keys below separator `i`; the last
                // child inherits its parent's bound.
                let upper = (i < view.count()).then(|| view.key(i)).transpose()?;
                Ok(Some((view.child(i)?, upper.map(<[u8]>::to_vec))))
            })??;
            match next {
                None => return Ok((page, fence)),
                Some((child, upper)) => {
                    if upper.is_some() {
                        fence = upper;
                    }
                    page = child;
                }
            }
        }
        Err(corrupt(
            self.root(),
            "tree deeper than possible (child pointer cycle?)",
        ))
    }
}

/// Merges the longest prefix of `run` that is new to the leaf, ascends
/// strictly, stays below `fence`, is inline and fits the page into the
/// leaf in `buf`, rewriting the page once. Returns the prefix's length;
/// 0 leaves the page untouched. Adding cells only fills a leaf, so no
/// fill bound is crossed from below.
fn merge_run<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    page: PageId,
    buf: &mut [u8],
    run: &[(K, V)],
    fence: Option<&[u8]>,
) -> StorageResult<usize> {
    let view = NodeView::new(page, buf)?;
    if !view.is_leaf() {
        return Err(corrupt(page, "expected a leaf"));
    }
    let n = view.count();
    let content_start = read_u16(buf, 4).ok_or_else(|| corrupt(page, "short page"))?;
    if content_start < HEADER + SLOT * n || content_start > PAGE_USABLE || buf.len() != PAGE_USABLE
    {
        return Err(corrupt(page, "content start out of range"));
    }
    let mut used = SLOT * n + (PAGE_USABLE - content_start);
    // Where each merged key goes: the number of old cells below it.
    let mut positions = Vec::new();
    let mut previous: Option<&[u8]> = None;
    for (key, value) in run {
        let (key, value) = (key.as_ref(), value.as_ref());
        let size = SLOT + leaf_cell_len(key.len(), Some(value.len()));
        if key.len() > MAX_KEY_LEN
            || value.len() > INLINE_MAX
            || previous.is_some_and(|p| key <= p)
            || fence.is_some_and(|f| key >= f)
            || used + size > CAPACITY
        {
            break;
        }
        // An append, the common case, needs one comparison.
        let at = match n.checked_sub(1) {
            Some(last) if view.key(last)? < key => n,
            None => 0,
            Some(_) => match view.search(key)? {
                Ok(_) => break,
                Err(at) => at,
            },
        };
        positions.push(at);
        used += size;
        previous = Some(key);
    }
    if positions.is_empty() {
        return Ok(0);
    }
    // Old cells are copied in ranges, which is only right for a canonical
    // page: check it is one before anything is written.
    check_packed(&view, page, content_start, |_| {})?;
    let end_of = |j: usize| if j < n { view.slot(j) } else { Ok(PAGE_USABLE) };

    let count = n + positions.len();
    let start = PAGE_USABLE - (used - SLOT * count);
    let mut out = vec![0; PAGE_USABLE];
    let mut w = PageWriter::new(page, &mut out, 0);
    w.header(KIND_LEAF, count, start, 0)?;
    let mut slot_at = HEADER;
    let mut cell_at = start;
    let mut old = 0;
    let mut copy_old = |w: &mut PageWriter<'_>, slot_at: &mut usize, cell_at: &mut usize, upto| {
        if old == upto {
            return Ok(());
        }
        let (a, b) = (view.slot(old)?, end_of(upto)?);
        for c in old..upto {
            w.seek(*slot_at);
            w.u16(view.slot(c)? - a + *cell_at)?;
            *slot_at += SLOT;
        }
        w.seek(*cell_at);
        w.bytes(
            buf.get(a..b)
                .ok_or_else(|| corrupt(page, "cell beyond the page"))?,
        )?;
        *cell_at += b - a;
        old = upto;
        StorageResult::Ok(())
    };
    for ((key, value), &at) in run.iter().zip(&positions) {
        copy_old(&mut w, &mut slot_at, &mut cell_at, at)?;
        w.seek(slot_at);
        w.u16(cell_at)?;
        slot_at += SLOT;
        w.seek(cell_at);
        write_inline_cell(&mut w, key.as_ref(), value.as_ref())?;
        cell_at = w.pos();
    }
    copy_old(&mut w, &mut slot_at, &mut cell_at, n)?;
    if cell_at != PAGE_USABLE {
        return Err(corrupt(page, "merged cells do not end at the page end"));
    }
    buf.copy_from_slice(&out);
    Ok(positions.len())
}
