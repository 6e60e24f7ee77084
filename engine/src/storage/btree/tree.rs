//! Lookups and the write paths: insert with splits, delete with merges and
//! redistribution, root growth and collapse in place.

use crate::storage::error::{StorageError, StorageResult};
use crate::storage::page::{MAX_KEY_LEN, MAX_VALUE_LEN, PageAccess, PageId};

use super::node::{
    CAPACITY, Entry, INLINE_MAX, MAX_DEPTH, MIN_FILL, Node, NodeView, OverflowRef, Value,
    ValueView, corrupt, leaf_cell,
};
use super::overflow;
use super::splice::splice;

/// A B+tree, identified by its root page, which never moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BTree {
    root: PageId,
}

/// What one page of a lookup yields: overflow values are read only after
/// the leaf is released, so a lookup never holds two pages.
enum Found {
    Child(PageId),
    Value(Option<Vec<u8>>),
    Overflow(OverflowRef),
}

/// One internal node on the way down and the child taken there.
#[derive(Debug, Clone, Copy)]
pub(super) struct Step {
    pub(super) page: PageId,
    pub(super) child: usize,
}

fn check_key(key: &[u8]) -> StorageResult<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(StorageError::KeyTooLarge {
            len: key.len(),
            max: MAX_KEY_LEN,
        });
    }
    Ok(())
}

pub(super) fn read_node<P: PageAccess>(pages: &P, id: PageId) -> StorageResult<Node> {
    pages.read_page(id, |buf| Node::decode(id, buf))?
}

fn write_node<P: PageAccess>(pages: &P, id: PageId, node: &Node) -> StorageResult<()> {
    pages.write_page(id, |buf| node.encode(id, buf))?
}

impl BTree {
    /// Allocates an empty leaf as the root of a new tree.
    ///
    /// # Errors
    /// Failure of the page layer.
    pub fn create<P: PageAccess>(pages: &P) -> StorageResult<BTree> {
        let root = pages.allocate_page()?;
        write_node(pages, root, &Node::Leaf(Vec::new()))?;
        Ok(BTree { root })
    }

    /// The tree whose root is `root`, as returned by [`BTree::root`].
    pub fn open(root: PageId) -> BTree {
        BTree { root }
    }

    /// The root page, stable for the tree's lifetime.
    pub fn root(&self) -> PageId {
        self.root
    }

    /// The value stored under `key`.
    ///
    /// # Errors
    /// [`StorageError::KeyTooLarge`], a corrupted tree, or failure of the page
    /// layer.
    pub fn get<P: PageAccess>(&self, pages: &P, key: &[u8]) -> StorageResult<Option<Vec<u8>>> {
        check_key(key)?;
        let mut page = self.root;
        for _ in 0..MAX_DEPTH {
            let found = pages.read_page(page, |buf| -> StorageResult<Found> {
                let view = NodeView::new(page, buf)?;
                if !view.is_leaf() {
                    return Ok(Found::Child(view.child(view.child_index(key)?)?));
                }
                let Ok(i) = view.search(key)? else {
                    return Ok(Found::Value(None));
                };
                Ok(match view.entry(i)?.1 {
                    ValueView::Inline(v) => Found::Value(Some(v.to_vec())),
                    ValueView::Overflow(r) => Found::Overflow(r),
                })
            })??;
            match found {
                Found::Child(child) => page = child,
                Found::Value(v) => return Ok(v),
                Found::Overflow(r) => return overflow::read(pages, r, None).map(Some),
            }
        }
        Err(corrupt(
            self.root,
            "tree deeper than possible (child pointer cycle?)",
        ))
    }

    /// The first entry whose key starts with `prefix`, if any: a point
    /// probe for a family of keys (a row's versions) that costs a descent,
    /// or two when the family starts in the next leaf.
    ///
    /// # Errors
    /// [`StorageError::KeyTooLarge`], a corrupted tree, or failure of the page
    /// layer.
    pub fn first_with_prefix<P: PageAccess>(
        &self,
        pages: &P,
        prefix: &[u8],
    ) -> StorageResult<Option<(Vec<u8>, Vec<u8>)>> {
        check_key(prefix)?;
        let mut from = prefix.to_vec();
        for _ in 0..=MAX_DEPTH {
            let (leaf, fence) = self.descend_fenced(pages, &from)?;
            let found = pages.read_page(leaf, |buf| -> StorageResult<_> {
                let view = NodeView::new(leaf, buf)?;
                let (Ok(i) | Err(i)) = view.search(&from)?;
                if i >= view.count() {
                    return Ok(None);
                }
                let (key, value) = view.entry(i)?;
                if !key.starts_with(prefix) {
                    return Ok(Some(None));
                }
                let value = match value {
                    ValueView::Inline(v) => Ok(v.to_vec()),
                    ValueView::Overflow(r) => Err(r),
                };
                Ok(Some(Some((key.to_vec(), value))))
            })??;
            match found {
                Some(None) => return Ok(None),
                Some(Some((key, Ok(value)))) => return Ok(Some((key, value))),
                Some(Some((key, Err(r)))) => {
                    return Ok(Some((key, overflow::read(pages, r, None)?)));
                }
                // Past the leaf's last key: the next leaf starts at its
                // fence, which is above `from`, so this moves on.
                None => match fence {
                    Some(fence) if fence.starts_with(prefix) => from = fence,
                    _ => return Ok(None),
                },
            }
        }
        Err(corrupt(
            self.root,
            "tree deeper than possible (child pointer cycle?)",
        ))
    }

    /// Inserts or overwrites `key`. Returns whether the key existed.
    ///
    /// # Errors
    /// [`StorageError::KeyTooLarge`], [`StorageError::ValueTooLarge`], a
    /// corrupted tree, or failure of the page layer.
    pub fn put<P: PageAccess>(&self, pages: &P, key: &[u8], value: &[u8]) -> StorageResult<bool> {
        check_key(key)?;
        if value.len() > MAX_VALUE_LEN {
            return Err(StorageError::ValueTooLarge {
                len: value.len(),
                max: MAX_VALUE_LEN,
            });
        }
        let (path, leaf_id, _) = self.descend(pages, key)?;
        let value = if value.len() > INLINE_MAX {
            Value::Overflow(overflow::write(pages, value)?)
        } else {
            Value::Inline(value.to_vec())
        };
        let cell = leaf_cell(key, &value)?;
        let is_root = path.is_empty();
        if let Some(done) = pages.write_page(leaf_id, |buf| {
            splice(leaf_id, buf, key, Some(&cell), is_root)
        })?? {
            if let Some(old) = done.orphan {
                overflow::free(pages, old)?;
            }
            return Ok(done.existed);
        }
        let Node::Leaf(mut entries) = read_node(pages, leaf_id)? else {
            return Err(corrupt(leaf_id, "expected a leaf"));
        };
        let existed = match entries.binary_search_by(|e| e.key.as_slice().cmp(key)) {
            Ok(i) => {
                if let Value::Overflow(old) = std::mem::replace(&mut entries[i].value, value) {
                    overflow::free(pages, old)?;
                }
                true
            }
            Err(i) => {
                entries.insert(
                    i,
                    Entry {
                        key: key.to_vec(),
                        value,
                    },
                );
                false
            }
        };
        self.settle(pages, path, leaf_id, Node::Leaf(entries))?;
        Ok(existed)
    }

    /// Removes `key`. Returns whether it existed.
    ///
    /// # Errors
    /// [`StorageError::KeyTooLarge`], a corrupted tree, or failure of the page
    /// layer.
    pub fn delete<P: PageAccess>(&self, pages: &P, key: &[u8]) -> StorageResult<bool> {
        check_key(key)?;
        let (path, leaf_id, present) = self.descend(pages, key)?;
        if !present {
            return Ok(false);
        }
        let is_root = path.is_empty();
        if let Some(done) =
            pages.write_page(leaf_id, |buf| splice(leaf_id, buf, key, None, is_root))??
        {
            if let Some(old) = done.orphan {
                overflow::free(pages, old)?;
            }
            return Ok(done.existed);
        }
        let Node::Leaf(mut entries) = read_node(pages, leaf_id)? else {
            return Err(corrupt(leaf_id, "expected a leaf"));
        };
        let Ok(i) = entries.binary_search_by(|e| e.key.as_slice().cmp(key)) else {
            return Ok(false);
        };
        if let Value::Overflow(old) = entries.remove(i).value {
            overflow::free(pages, old)?;
        }
        self.settle(pages, path, leaf_id, Node::Leaf(entries))?;
        Ok(true)
    }

    /// Frees every page of the tree, root included.
    ///
    /// # Errors
    /// A corrupted tree or failure of the page layer; pages already freed stay
    /// freed.
    pub fn destroy<P: PageAccess>(self, pages: &P) -> StorageResult<()> {
        let mut stack = vec![(self.root, 0usize)];
        // A corrupt child pointer can make the tree a graph; without this a
        // page reachable twice is freed twice, and a cycle multiplies the
        // stack at every level until memory runs out.
        let mut seen = std::collections::HashSet::new();
        while let Some((page, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(corrupt(self.root, "tree deeper than possible"));
            }
            if !seen.insert(page) {
                return Err(corrupt(page, "page reachable twice in the tree"));
            }
            let chains = pages.read_page(page, |buf| {
                let view = NodeView::new(page, buf)?;
                let mut chains = Vec::new();
                if view.is_leaf() {
                    for i in 0..view.count() {
                        if let ValueView::Overflow(r) = view.entry(i)?.1 {
                            chains.push(r);
                        }
                    }
                } else {
                    for i in 0..=view.count() {
                        stack.push((view.child(i)?, depth + 1));
                    }
                }
                Ok::<_, StorageError>(chains)
            })??;
            for r in chains {
                overflow::free(pages, r)?;
            }
            pages.free_page(page)?;
        }
        Ok(())
    }

    /// The internal nodes down to the leaf that holds or would hold `key`,
    /// that leaf, and whether it holds `key`.
    pub(super) fn descend<P: PageAccess>(
        &self,
        pages: &P,
        key: &[u8],
    ) -> StorageResult<(Vec<Step>, PageId, bool)> {
        let mut path = Vec::new();
        let mut page = self.root;
        while path.len() <= MAX_DEPTH {
            let next = pages.read_page(page, |buf| -> StorageResult<Result<_, bool>> {
                let view = NodeView::new(page, buf)?;
                if view.is_leaf() {
                    return Ok(Err(view.search(key)?.is_ok()));
                }
                let i = view.child_index(key)?;
                Ok(Ok((i, view.child(i)?)))
            })??;
            match next {
                Err(present) => return Ok((path, page, present)),
                Ok((child, next)) => {
                    path.push(Step { page, child });
                    page = next;
                }
            }
        }
        Err(corrupt(
            self.root,
            "tree deeper than possible (child pointer cycle?)",
        ))
    }

    /// Writes a modified node back, splitting it if it overflows and
    /// rebalancing it if it underflows, and repeats for every parent that
    /// changes as a consequence.
    pub(super) fn settle<P: PageAccess>(
        &self,
        pages: &P,
        mut path: Vec<Step>,
        mut page: PageId,
        mut node: Node,
    ) -> StorageResult<()> {
        loop {
            let used = node.used();
            let Some(step) = path.pop() else {
                return self.settle_root(pages, node);
            };
            if (MIN_FILL..=CAPACITY).contains(&used) {
                return write_node(pages, page, &node);
            }
            let (mut keys, mut children) = match read_node(pages, step.page)? {
                Node::Internal { keys, children } => (keys, children),
                Node::Leaf(_) => return Err(corrupt(step.page, "expected an internal node")),
            };
            if children.get(step.child) != Some(&page) {
                return Err(corrupt(step.page, "child pointer changed under the path"));
            }
            if used > CAPACITY {
                let (left, sep, right) = node.split(page)?;
                let right_id = pages.allocate_page()?;
                write_node(pages, page, &left)?;
                write_node(pages, right_id, &right)?;
                keys.insert(step.child, sep);
                children.insert(step.child + 1, right_id);
            } else {
                rebalance(pages, &mut keys, &mut children, step.child, node)?;
            }
            page = step.page;
            node = Node::Internal { keys, children };
        }
    }

    /// The root may hold any amount, but it grows by pushing its content
    /// down into two new children, and shrinks by pulling up its only child,
    /// so that its page id never changes.
    fn settle_root<P: PageAccess>(&self, pages: &P, node: Node) -> StorageResult<()> {
        if node.used() > CAPACITY {
            let (left, sep, right) = node.split(self.root)?;
            let left_id = pages.allocate_page()?;
            let right_id = pages.allocate_page()?;
            write_node(pages, left_id, &left)?;
            write_node(pages, right_id, &right)?;
            let root = Node::Internal {
                keys: vec![sep],
                children: vec![left_id, right_id],
            };
            return write_node(pages, self.root, &root);
        }
        match node {
            Node::Internal { keys, children } if keys.is_empty() => {
                let &[only] = children.as_slice() else {
                    return Err(corrupt(self.root, "internal node short of children"));
                };
                let content = read_node(pages, only)?;
                write_node(pages, self.root, &content)?;
                pages.free_page(only)
            }
            node => write_node(pages, self.root, &node),
        }
    }
}

/// Fixes the underflowing child `idx` of an internal node (given as its keys
/// and children) by merging it with an adjacent sibling if both fit one
/// page, or else by sharing their cells evenly. Writes the children; the
/// caller writes the parent.
fn rebalance<P: PageAccess>(
    pages: &P,
    keys: &mut Vec<Vec<u8>>,
    children: &mut Vec<PageId>,
    idx: usize,
    node: Node,
) -> StorageResult<()> {
    let page = children.get(idx).copied().unwrap_or_default();
    // Prefer the left sibling: the rightmost child has no right one.
    let (sep_idx, sibling_idx) = if idx > 0 { (idx - 1, idx - 1) } else { (0, 1) };
    let (Some(&sibling_id), Some(sep)) = (children.get(sibling_idx), keys.get(sep_idx)) else {
        return Err(corrupt(page, "non-root node without a sibling"));
    };
    let sibling = read_node(pages, sibling_id)?;
    let ((left_id, left), (right_id, right)) = if idx > 0 {
        ((sibling_id, sibling), (page, node))
    } else {
        ((page, node), (sibling_id, sibling))
    };
    let union = match (left, right) {
        (Node::Leaf(mut l), Node::Leaf(r)) => {
            l.extend(r);
            Node::Leaf(l)
        }
        (
            Node::Internal {
                keys: mut lk,
                children: mut lc,
            },
            Node::Internal {
                keys: rk,
                children: rc,
            },
        ) => {
            lk.push(sep.clone());
            lk.extend(rk);
            lc.extend(rc);
            Node::Internal {
                keys: lk,
                children: lc,
            }
        }
        _ => return Err(corrupt(page, "siblings at different depths")),
    };
    if union.used() <= CAPACITY {
        write_node(pages, left_id, &union)?;
        pages.free_page(right_id)?;
        keys.remove(sep_idx);
        children.remove(sep_idx + 1);
    } else {
        let (left, sep, right) = union.split(page)?;
        write_node(pages, left_id, &left)?;
        write_node(pages, right_id, &right)?;
        keys[sep_idx] = sep;
    }
    Ok(())
}
