//! Page geometry and the page-access trait the B+tree is written against.
//!
//! Every file page is [`PAGE_SIZE`] bytes. The last [`PAGE_TRAILER`] bytes
//! belong to the codec ([`super::codec`]): a CRC-32 (IEEE) of the page and its id, or the
//! AES-GCM nonce and tag when encryption is on. Everything above the codec
//! sees only the first [`PAGE_USABLE`] bytes.

use super::error::StorageResult;

/// A page number: the page's byte offset in the data file is `id * PAGE_SIZE`.
pub type PageId = u64;

/// Size of one page on disk and in the buffer pool.
pub const PAGE_SIZE: usize = 8192;
/// Bytes at the end of each page reserved for checksum / nonce + tag.
pub const PAGE_TRAILER: usize = 32;
/// Bytes of a page available to the structures stored in it.
pub const PAGE_USABLE: usize = PAGE_SIZE - PAGE_TRAILER;

/// Longest key a B+tree accepts. Chosen so that any node holding at least
/// three maximal cells must split into halves that each fit a page.
pub const MAX_KEY_LEN: usize = 1024;
/// Longest value the store accepts (values past the inline limit live in
/// zstd-compressed overflow chains).
pub const MAX_VALUE_LEN: usize = 256 * 1024 * 1024;

/// Page 0: the file header, written once at creation (magic, format version,
/// page size, encryption parameters). Never goes through the buffer pool.
pub const HEADER_PAGE: PageId = 0;
/// Page 1: the mutable state page (page count, free-list head, checkpoint LSN,
/// tree-id counter), checkpointed atomically with every other page.
pub const STATE_PAGE: PageId = 1;
/// Page 2: root of the directory tree mapping tree names and ids to roots.
pub const DIRECTORY_ROOT: PageId = 2;

/// What a B+tree needs from the layer that owns pages.
///
/// The store implements it over the buffer pool; unit tests implement it over
/// a `HashMap`. Methods take `&self`: the implementor synchronises internally,
/// and the store guarantees a single writer per tree at a time.
pub trait PageAccess {
    /// Runs `f` over the page's [`PAGE_USABLE`] bytes.
    ///
    /// # Errors
    /// I/O or verification failure while loading the page.
    fn read_page<R>(&self, id: PageId, f: impl FnOnce(&[u8]) -> R) -> StorageResult<R>;

    /// Runs `f` over the page's [`PAGE_USABLE`] bytes for modification; the
    /// page becomes dirty.
    ///
    /// # Errors
    /// I/O or verification failure while loading the page.
    fn write_page<R>(&self, id: PageId, f: impl FnOnce(&mut [u8]) -> R) -> StorageResult<R>;

    /// Allocates a page whose usable bytes are all zero.
    ///
    /// # Errors
    /// I/O failure while reusing a free page.
    fn allocate_page(&self) -> StorageResult<PageId>;

    /// Returns a page to the free list. Its content is lost.
    ///
    /// # Errors
    /// I/O failure while linking the page into the free list.
    fn free_page(&self, id: PageId) -> StorageResult<()>;
}
