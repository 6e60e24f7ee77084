//! The store's side of [`PageAccess`]: the buffer pool over the page file,
//! with page allocation through the free list.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use super::buffer::{BufferPool, PageSource};
use super::codec::{self, Cipher};
use super::error::{StorageError, StorageResult};
use super::io::VfsFile;
use super::page::{PAGE_SIZE, PageAccess, PageId, STATE_PAGE};
use super::state::{StoreState, decode_free_page, encode_free_page};

/// Loads pages from the data file, verifying (and decrypting) each one.
#[derive(Debug)]
pub(crate) struct DiskSource {
    pub file: Box<dyn VfsFile>,
    pub path: PathBuf,
    pub cipher: Option<Arc<Cipher>>,
}

impl PageSource for DiskSource {
    fn load(&self, id: PageId, buf: &mut [u8]) -> StorageResult<()> {
        let offset = id
            .checked_mul(PAGE_SIZE as u64)
            .ok_or(StorageError::CorruptPage {
                page: id,
                reason: "page id out of range",
            })?;
        self.file.read_exact_at(buf, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                StorageError::CorruptPage {
                    page: id,
                    reason: "page lies past the end of the data file",
                }
            } else {
                StorageError::io("read", &self.path, e)
            }
        })?;
        codec::open_page(self.cipher.as_deref(), id, buf)
    }
}

/// Page access for one operation. Readers get one without an allocator;
/// the writer applying a batch gets one with the allocation state.
pub(crate) struct PageCtx<'a> {
    pub pool: &'a BufferPool,
    pub src: &'a DiskSource,
    pub alloc: Option<&'a Mutex<StoreState>>,
}

impl PageCtx<'_> {
    fn allocator(&self) -> StorageResult<&Mutex<StoreState>> {
        self.alloc.ok_or_else(|| {
            StorageError::Corrupt("a read-only page context tried to allocate".into())
        })
    }

    /// Writes the allocation state through to page 1, so that every
    /// checkpoint snapshot carries the state matching its pages.
    fn persist(&self, state: &StoreState) -> StorageResult<()> {
        self.pool.write(STATE_PAGE, self.src, |p| state.encode(p))
    }
}

impl PageAccess for PageCtx<'_> {
    fn read_page<R>(&self, id: PageId, f: impl FnOnce(&[u8]) -> R) -> StorageResult<R> {
        self.pool.read(id, self.src, f)
    }

    fn write_page<R>(&self, id: PageId, f: impl FnOnce(&mut [u8]) -> R) -> StorageResult<R> {
        self.pool.write(id, self.src, f)
    }

    fn allocate_page(&self) -> StorageResult<PageId> {
        let mut state = self.allocator()?.lock();
        let id = if state.free_head != 0 {
            let id = state.free_head;
            let next = self
                .pool
                .read(id, self.src, |p| decode_free_page(id, p))??;
            self.pool.write(id, self.src, |p| p.fill(0))?;
            state.free_head = next;
            state.free_count = state.free_count.saturating_sub(1);
            id
        } else {
            let id = state.page_count;
            self.pool.create(id)?;
            state.page_count += 1;
            id
        };
        self.persist(&state)?;
        Ok(id)
    }

    fn free_page(&self, id: PageId) -> StorageResult<()> {
        let mut state = self.allocator()?.lock();
        let next = state.free_head;
        self.pool
            .write(id, self.src, |p| encode_free_page(p, next))?;
        state.free_head = id;
        state.free_count += 1;
        self.persist(&state)
    }
}
