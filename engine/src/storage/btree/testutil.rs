//! An in-memory page layer that counts allocations and catches misuse.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use crate::storage::error::{StorageError, StorageResult};
use crate::storage::page::{PAGE_USABLE, PageAccess, PageId};

/// Pages in a `HashMap`. Freed ids are reused (most recent first) so that
/// stale page references show up as wrong content, and a page closure that
/// nests another access to the same map panics on the `RefCell`.
#[derive(Default)]
pub(super) struct MemPages {
    pages: RefCell<HashMap<PageId, Box<[u8]>>>,
    free: RefCell<Vec<PageId>>,
    next: Cell<PageId>,
    pub(super) allocs: Cell<u64>,
    pub(super) frees: Cell<u64>,
}

impl MemPages {
    pub(super) fn new() -> Self {
        let pages = MemPages::default();
        // Ids 0..3 belong to the file header, state page and directory root.
        pages.next.set(3);
        pages
    }

    pub(super) fn live(&self) -> u64 {
        self.allocs.get() - self.frees.get()
    }

    pub(super) fn ids(&self) -> Vec<PageId> {
        let mut ids: Vec<_> = self.pages.borrow().keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub(super) fn corrupt_byte(&self, id: PageId, offset: usize, xor: u8) {
        if let Some(page) = self.pages.borrow_mut().get_mut(&id) {
            page[offset % PAGE_USABLE] ^= xor;
        }
    }

    fn missing(id: PageId) -> StorageError {
        StorageError::CorruptPage {
            page: id,
            reason: "page not allocated",
        }
    }
}

impl PageAccess for MemPages {
    fn read_page<R>(&self, id: PageId, f: impl FnOnce(&[u8]) -> R) -> StorageResult<R> {
        let pages = self.pages.borrow();
        let page = pages.get(&id).ok_or_else(|| Self::missing(id))?;
        Ok(f(page))
    }

    fn write_page<R>(&self, id: PageId, f: impl FnOnce(&mut [u8]) -> R) -> StorageResult<R> {
        let mut pages = self.pages.borrow_mut();
        let page = pages.get_mut(&id).ok_or_else(|| Self::missing(id))?;
        Ok(f(page))
    }

    fn allocate_page(&self) -> StorageResult<PageId> {
        let id = self.free.borrow_mut().pop().unwrap_or_else(|| {
            let id = self.next.get();
            self.next.set(id + 1);
            id
        });
        self.pages
            .borrow_mut()
            .insert(id, vec![0; PAGE_USABLE].into_boxed_slice());
        self.allocs.set(self.allocs.get() + 1);
        Ok(id)
    }

    fn free_page(&self, id: PageId) -> StorageResult<()> {
        self.pages
            .borrow_mut()
            .remove(&id)
            .ok_or_else(|| Self::missing(id))?;
        self.free.borrow_mut().push(id);
        self.frees.set(self.frees.get() + 1);
        Ok(())
    }
}
