//! The buffer pool: a bounded page cache between the B+trees and the file.
//!
//! Memory is fixed at open: `capacity` frames of [`PAGE_SIZE`] bytes each,
//! allocated up front, so a store's footprint does not grow with its data.
//! A page table maps page ids to frames; it and the replacement policy's
//! bookkeeping share one mutex, held only for lookups and bookkeeping, never
//! while a caller's closure runs. Each frame's bytes sit behind their own
//! reader-writer latch, and a pin count keeps a frame from being reused
//! while anyone is between looking it up and releasing its latch.
//!
//! The pool is **no-steal**: a dirty page is never evicted. Writing it back
//! would put a page on disk that the WAL might not yet cover and would tear
//! the checkpoint's atomicity (see [`crate::storage`]). Instead, a miss that
//! finds every frame pinned or dirty fails with
//! [`StorageError::BufferPoolFull`], and the store answers by checkpointing
//! — [`BufferPool::dirty_snapshot`], write the copies, then
//! [`BufferPool::mark_clean`] with the versions that were written — and
//! retrying. Versions make that hand-off safe without stopping the world
//! for the whole write: a page changed again after its copy was taken keeps
//! its dirty bit.
//!
//! Which clean page to drop is a pluggable [`EvictionPolicy`]. Two come with
//! the pool: [`Clock`] and the scan-resistant [`TwoQ`], the default, which
//! keeps a one-off table scan from flushing the working set of index pages.
//!
//! [`PAGE_SIZE`]: crate::storage::page::PAGE_SIZE
//! [`StorageError::BufferPoolFull`]: crate::storage::error::StorageError::BufferPoolFull

mod clock;
mod policy;
mod pool;
mod two_q;

#[cfg(test)]
mod tests;

pub use clock::Clock;
pub use policy::{EvictionKind, EvictionPolicy, FrameId};
pub use pool::{BufferPool, PageSource, PoolStats};
pub use two_q::TwoQ;
