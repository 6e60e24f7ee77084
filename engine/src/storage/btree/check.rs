//! Whole-tree verification, for tests, `PRAGMA integrity_check`-style tools
//! and free-list cross-checks.

use std::collections::HashSet;

use crate::storage::error::StorageResult;
use crate::storage::page::{PageAccess, PageId};

use super::BTree;
use super::node::{CAPACITY, INLINE_MAX, MAX_DEPTH, MIN_FILL, Node, Value, corrupt};
use super::overflow;
use super::tree::read_node;

/// What [`BTree::check`] found in a sound tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeCheck {
    /// Key-value pairs.
    pub entries: u64,
    /// Levels, counting the root and the leaves (a lone root leaf is 1).
    pub depth: u32,
    /// Every page the tree uses (nodes and overflow chains), ascending.
    pub pages: Vec<PageId>,
    /// Leaf nodes.
    pub leaf_pages: u64,
    /// Overflow-chain pages.
    pub overflow_pages: u64,
}

struct Walk<'p, P> {
    pages: &'p P,
    root: PageId,
    seen: HashSet<PageId>,
    stats: TreeCheck,
}

impl<P: PageAccess> Walk<'_, P> {
    fn claim(&mut self, page: PageId) -> StorageResult<()> {
        if page == 0 || !self.seen.insert(page) {
            return Err(corrupt(page, "page reachable twice (or null) in the tree"));
        }
        self.stats.pages.push(page);
        Ok(())
    }

    /// Checks the subtree at `page`, whose keys must lie in `lo..hi`.
    fn node(
        &mut self,
        page: PageId,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
        level: u32,
    ) -> StorageResult<()> {
        if level as usize > MAX_DEPTH {
            return Err(corrupt(self.root, "tree deeper than possible"));
        }
        self.claim(page)?;
        let node = read_node(self.pages, page)?;
        let used = node.used();
        if used > CAPACITY {
            return Err(corrupt(page, "node overfull"));
        }
        if page != self.root && (used < MIN_FILL || node.len() == 0) {
            return Err(corrupt(page, "non-root node below minimum fill"));
        }
        let keys: Vec<&[u8]> = match &node {
            Node::Leaf(entries) => entries.iter().map(|e| e.key.as_slice()).collect(),
            Node::Internal { keys, .. } => keys.iter().map(Vec::as_slice).collect(),
        };
        if keys.windows(2).any(|w| w[0] >= w[1]) {
            return Err(corrupt(page, "keys out of order"));
        }
        let below = |k: &&[u8]| lo.is_some_and(|lo| *k < lo);
        let above = |k: &&[u8]| hi.is_some_and(|hi| *k >= hi);
        if keys.first().is_some_and(below) || keys.last().is_some_and(above) {
            return Err(corrupt(page, "key outside its separators' bounds"));
        }
        match &node {
            Node::Leaf(entries) => {
                if self.stats.depth == 0 {
                    self.stats.depth = level;
                } else if self.stats.depth != level {
                    return Err(corrupt(page, "leaves at different depths"));
                }
                self.stats.leaf_pages += 1;
                self.stats.entries += entries.len() as u64;
                for e in entries {
                    match &e.value {
                        Value::Inline(v) if v.len() > INLINE_MAX => {
                            return Err(corrupt(page, "inline value over the inline limit"));
                        }
                        Value::Inline(_) => {}
                        Value::Overflow(r) => {
                            if (r.raw_len as usize) <= INLINE_MAX {
                                return Err(corrupt(page, "short value stored in overflow"));
                            }
                            let mut chain = Vec::new();
                            overflow::read(self.pages, *r, Some(&mut chain))?;
                            self.stats.overflow_pages += chain.len() as u64;
                            chain.into_iter().try_for_each(|id| self.claim(id))?;
                        }
                    }
                }
            }
            Node::Internal { keys, children } => {
                if keys.is_empty() {
                    return Err(corrupt(page, "internal node with a single child"));
                }
                for (i, &child) in children.iter().enumerate() {
                    let child_lo = if i == 0 {
                        lo
                    } else {
                        keys.get(i - 1).map(Vec::as_slice)
                    };
                    let child_hi = keys.get(i).map(Vec::as_slice).or(hi);
                    self.node(child, child_lo, child_hi, level + 1)?;
                }
            }
        }
        Ok(())
    }
}

impl BTree {
    /// Walks the whole tree checking every invariant: key order within and
    /// across nodes, separator bounds, node fill, equal leaf depth, overflow
    /// chains readable and decompressible, no page used twice.
    ///
    /// # Errors
    /// [`crate::storage::StorageError::Corrupt`] naming the first broken
    /// invariant, or failure of the page layer.
    pub fn check<P: PageAccess>(&self, pages: &P) -> StorageResult<TreeCheck> {
        let mut walk = Walk {
            pages,
            root: self.root(),
            seen: HashSet::new(),
            stats: TreeCheck::default(),
        };
        walk.node(self.root(), None, None, 1)?;
        walk.stats.pages.sort_unstable();
        Ok(walk.stats)
    }
}
