//! The tree directory: names and ids of the store's B+trees.
//!
//! It is itself a B+tree, rooted at the fixed page [`DIRECTORY_ROOT`], with
//! two kinds of entries: `n<name>` → id, and `i<id>` → root page + name. The
//! in-memory maps mirror it so that lookups on every operation cost no page
//! access; they change only while the writer holds the store's tree lock.

use std::collections::HashMap;
use std::ops::Bound;

use super::batch::TreeId;
use super::btree::{BTree, Cursor, Direction};
use super::error::{StorageError, StorageResult};
use super::page::{DIRECTORY_ROOT, PageAccess, PageId};

#[derive(Debug, Default)]
pub(crate) struct Directory {
    by_name: HashMap<String, TreeId>,
    by_id: HashMap<TreeId, (PageId, String)>,
}

fn name_key(name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + name.len());
    k.push(b'n');
    k.extend_from_slice(name.as_bytes());
    k
}

fn id_key(id: TreeId) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(b'i');
    k.extend_from_slice(&id.0.to_be_bytes());
    k
}

impl Directory {
    /// The directory tree itself.
    pub fn tree() -> BTree {
        BTree::open(DIRECTORY_ROOT)
    }

    /// Reads the directory tree into memory.
    pub fn load(pages: &impl PageAccess) -> StorageResult<Directory> {
        let mut dir = Directory::default();
        let tree = Self::tree();
        let mut cursor = Cursor::new(
            Bound::Included(b"i".to_vec()),
            Bound::Excluded(b"j".to_vec()),
            Direction::Forward,
        );
        let bad = || StorageError::Corrupt("malformed tree directory entry".into());
        while cursor.fill(&tree, pages, 256)? {
            for (key, value) in cursor.chunk() {
                let id = key
                    .get(1..9)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(bad)?;
                let root = value
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_le_bytes)
                    .ok_or_else(bad)?;
                let name = std::str::from_utf8(&value[8..]).map_err(|_| bad())?;
                dir.by_name.insert(name.to_owned(), TreeId(id));
                dir.by_id.insert(TreeId(id), (root, name.to_owned()));
            }
        }
        Ok(dir)
    }

    pub fn root(&self, id: TreeId) -> Option<PageId> {
        self.by_id.get(&id).map(|(root, _)| *root)
    }

    pub fn id(&self, name: &str) -> Option<TreeId> {
        self.by_name.get(name).copied()
    }

    /// Every tree: id, root page, name.
    pub fn iter(&self) -> impl Iterator<Item = (TreeId, PageId, &str)> {
        self.by_id
            .iter()
            .map(|(id, (root, name))| (*id, *root, name.as_str()))
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Creates tree `name` with `id`; does nothing if either is taken, which
    /// is what makes replaying a creation idempotent.
    pub fn create(&mut self, pages: &impl PageAccess, name: &str, id: TreeId) -> StorageResult<()> {
        if self.by_name.contains_key(name) || self.by_id.contains_key(&id) {
            return Ok(());
        }
        let tree = BTree::create(pages)?;
        let dir = Self::tree();
        dir.put(pages, &name_key(name), &id.0.to_be_bytes())?;
        let mut value = tree.root().to_le_bytes().to_vec();
        value.extend_from_slice(name.as_bytes());
        dir.put(pages, &id_key(id), &value)?;
        self.by_name.insert(name.to_owned(), id);
        self.by_id.insert(id, (tree.root(), name.to_owned()));
        Ok(())
    }

    /// Drops tree `id` and frees its pages; a missing tree is not an error.
    pub fn drop_tree(&mut self, pages: &impl PageAccess, id: TreeId) -> StorageResult<()> {
        let Some((root, name)) = self.by_id.remove(&id) else {
            return Ok(());
        };
        self.by_name.remove(&name);
        let dir = Self::tree();
        dir.delete(pages, &name_key(&name))?;
        dir.delete(pages, &id_key(id))?;
        BTree::open(root).destroy(pages)
    }
}
