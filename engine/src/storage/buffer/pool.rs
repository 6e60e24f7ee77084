//! The frame array, the page table and the latching protocol.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

use super::clock::Clock;
use super::policy::{EvictionKind, EvictionPolicy, FrameId};
use super::two_q::TwoQ;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::page::{PAGE_SIZE, PAGE_USABLE, PageId};

/// Where misses are loaded from: the store implements this (read one page
/// from the data file, verify or decrypt it).
pub trait PageSource {
    /// Fills `buf` (exactly [`PAGE_SIZE`] bytes) with page `id`.
    ///
    /// # Errors
    /// Whatever reading or verifying the page fails with; the pool passes it
    /// on unchanged and forgets the half-filled frame.
    fn load(&self, id: PageId, buf: &mut [u8]) -> StorageResult<()>;
}

/// Counters describing a pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Accesses that found their page resident.
    pub hits: u64,
    /// Accesses that had to load their page.
    pub misses: u64,
    /// Resident pages dropped to make room.
    pub evictions: u64,
    /// Frames in the pool.
    pub capacity: usize,
    /// Frames holding a page.
    pub resident: usize,
    /// Frames holding a page changed since the last checkpoint.
    pub dirty: usize,
}

impl PoolStats {
    /// Fraction of accesses that were hits; 0 before the first access.
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

/// Low bit of [`Frame::state`]; the rest is the frame's version.
const DIRTY: u64 = 1;
/// One version step in [`Frame::state`].
const VERSION_STEP: u64 = 2;

#[derive(Debug)]
struct FrameData {
    /// The page these bytes are, or `None` while a load is under way or after
    /// one failed. Checked under the latch, so nobody reads a half-loaded page.
    page: Option<PageId>,
    bytes: Box<[u8]>,
}

#[derive(Debug)]
struct Frame {
    data: RwLock<FrameData>,
    /// Threads that found this frame in the table and have not finished with
    /// it. Only raised under the table mutex, so a frame seen unpinned under
    /// that mutex has no latch holder and cannot gain one until released.
    pins: AtomicU32,
    /// `version << 1 | dirty` in one word, so `mark_clean` can clear the bit
    /// only if no write slipped in since the snapshot, without latching.
    /// Versions never go back, not even across the pages a frame holds, which
    /// makes `(frame, version)` name one exact content.
    state: AtomicU64,
}

impl Frame {
    fn is_dirty(&self) -> bool {
        self.state.load(Ordering::Acquire) & DIRTY != 0
    }
}

#[derive(Debug)]
struct Table {
    pages: HashMap<PageId, FrameId>,
    owner: Vec<Option<PageId>>,
    free: Vec<FrameId>,
    policy: Box<dyn EvictionPolicy>,
}

/// Unpins its frame when dropped, so every exit path (errors included)
/// releases it.
struct Pin<'a>(&'a Frame);

impl Drop for Pin<'_> {
    fn drop(&mut self) {
        self.0.pins.fetch_sub(1, Ordering::Release);
    }
}

/// Returns a frame whose load did not complete to the free list.
struct Unmap<'a> {
    pool: &'a BufferPool,
    fid: FrameId,
    id: PageId,
    armed: bool,
}

impl Drop for Unmap<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut table = self.pool.table.lock();
        table.pages.remove(&self.id);
        table.owner[self.fid] = None;
        table.policy.on_remove(self.fid);
        table.free.push(self.fid);
    }
}

/// A fixed-size, no-steal page cache shared by all threads of a store.
///
/// Lock order: the table mutex may be taken while holding a frame latch, and
/// a frame latch is only taken under the table mutex when the frame is
/// unpinned (so it cannot block). User closures run with no mutex held.
pub struct BufferPool {
    frames: Box<[Frame]>,
    table: Mutex<Table>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    dirty: AtomicUsize,
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl BufferPool {
    /// A pool of `capacity_pages` frames, all allocated now, using `kind`.
    pub fn new(capacity_pages: usize, kind: EvictionKind) -> BufferPool {
        let policy: Box<dyn EvictionPolicy> = match kind {
            EvictionKind::Clock => Box::new(Clock::new(capacity_pages)),
            EvictionKind::TwoQ => Box::new(TwoQ::new(capacity_pages)),
        };
        BufferPool::with_policy(capacity_pages, policy)
    }

    /// A pool using a caller-supplied policy sized for `capacity_pages`.
    pub fn with_policy(capacity_pages: usize, policy: Box<dyn EvictionPolicy>) -> BufferPool {
        let frames = (0..capacity_pages)
            .map(|_| Frame {
                data: RwLock::new(FrameData {
                    page: None,
                    bytes: vec![0u8; PAGE_SIZE].into_boxed_slice(),
                }),
                pins: AtomicU32::new(0),
                state: AtomicU64::new(0),
            })
            .collect();
        BufferPool {
            frames,
            table: Mutex::new(Table {
                pages: HashMap::with_capacity(capacity_pages),
                owner: vec![None; capacity_pages],
                // Reversed so frames are handed out in index order.
                free: (0..capacity_pages).rev().collect(),
                policy,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            dirty: AtomicUsize::new(0),
        }
    }

    /// Runs `f` over the page's first [`PAGE_USABLE`] bytes under a shared
    /// latch, loading the page from `src` on a miss.
    ///
    /// # Errors
    /// [`StorageError::BufferPoolFull`] when a miss finds every frame pinned
    /// or dirty; any error of `src`.
    pub fn read<R>(
        &self,
        id: PageId,
        src: &dyn PageSource,
        f: impl FnOnce(&[u8]) -> R,
    ) -> StorageResult<R> {
        loop {
            let pin = self.pin(id, src)?;
            let data = pin.0.data.read();
            if data.page == Some(id) {
                return Ok(f(&data.bytes[..PAGE_USABLE]));
            }
            // Another thread's load of this page failed while we waited.
        }
    }

    /// Like [`BufferPool::read`] under an exclusive latch; the page becomes
    /// dirty and its version advances.
    ///
    /// # Errors
    /// As for [`BufferPool::read`].
    pub fn write<R>(
        &self,
        id: PageId,
        src: &dyn PageSource,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> StorageResult<R> {
        loop {
            let pin = self.pin(id, src)?;
            let mut data = pin.0.data.write();
            if data.page == Some(id) {
                let result = f(&mut data.bytes[..PAGE_USABLE]);
                self.mark_dirty(pin.0);
                return Ok(result);
            }
        }
    }

    /// Installs page `id` as all zeroes and dirty without reading it: the
    /// page was just allocated, so whatever the file holds there is garbage.
    ///
    /// # Errors
    /// [`StorageError::BufferPoolFull`] when every frame is pinned or dirty.
    pub fn create(&self, id: PageId) -> StorageResult<()> {
        loop {
            let mut table = self.table.lock();
            if let Some(&fid) = table.pages.get(&id) {
                let pin = self.pin_frame(fid);
                table.policy.on_access(fid);
                drop(table);
                let mut data = pin.0.data.write();
                if data.page == Some(id) {
                    data.bytes.fill(0);
                    self.mark_dirty(pin.0);
                    return Ok(());
                }
                continue;
            }
            let fid = self.claim_frame(&mut table)?;
            let pin = self.pin_frame(fid);
            // Unpinned until just now, so nobody holds or waits for the latch
            // except readers of a failed load, which never need the mutex.
            let mut data = pin.0.data.write();
            data.bytes.fill(0);
            data.page = Some(id);
            self.mark_dirty(pin.0);
            table.pages.insert(id, fid);
            table.owner[fid] = Some(id);
            table.policy.on_insert(fid, id);
            return Ok(());
        }
    }

    /// Copies of every dirty page as `(id, version, PAGE_SIZE bytes)`.
    ///
    /// Each copy is consistent (taken under the page's shared latch), but the
    /// set is only a consistent cut if the caller keeps writers out.
    pub fn dirty_snapshot(&self) -> Vec<(PageId, u64, Box<[u8]>)> {
        let pinned: Vec<Pin<'_>> = {
            let table = self.table.lock();
            table
                .owner
                .iter()
                .enumerate()
                .filter(|&(fid, owner)| owner.is_some() && self.frames[fid].is_dirty())
                .map(|(fid, _)| self.pin_frame(fid))
                .collect()
        };
        let mut out = Vec::with_capacity(pinned.len());
        for pin in &pinned {
            let data = pin.0.data.read();
            let state = pin.0.state.load(Ordering::Acquire);
            if let (Some(page), true) = (data.page, state & DIRTY != 0) {
                out.push((page, state >> 1, data.bytes.clone()));
            }
        }
        out
    }

    /// Marks each `(page, version)` clean if the page still has exactly that
    /// version, i.e. was not written again after the snapshot was taken.
    pub fn mark_clean(&self, written: &[(PageId, u64)]) {
        let table = self.table.lock();
        for &(id, version) in written {
            let Some(&fid) = table.pages.get(&id) else {
                continue;
            };
            let dirty = (version << 1) | DIRTY;
            if self.frames[fid]
                .state
                .compare_exchange(dirty, dirty & !DIRTY, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                self.dirty.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// Pages changed since they were last marked clean.
    pub fn dirty_count(&self) -> usize {
        self.dirty.load(Ordering::Acquire)
    }

    /// Number of frames.
    pub fn capacity(&self) -> usize {
        self.frames.len()
    }

    /// Current counters.
    pub fn stats(&self) -> PoolStats {
        let resident = self.table.lock().pages.len();
        PoolStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            capacity: self.capacity(),
            resident,
            dirty: self.dirty_count(),
        }
    }

    /// Must be called with the table mutex held (that is what makes the
    /// unpinned-means-unlatched invariant hold).
    fn pin_frame(&self, fid: FrameId) -> Pin<'_> {
        let frame = &self.frames[fid];
        frame.pins.fetch_add(1, Ordering::Acquire);
        Pin(frame)
    }

    /// Pins the frame holding `id`, loading it on a miss. The frame's
    /// `page` may still turn out not to be `id` if a concurrent load failed.
    fn pin(&self, id: PageId, src: &dyn PageSource) -> StorageResult<Pin<'_>> {
        let mut table = self.table.lock();
        if let Some(&fid) = table.pages.get(&id) {
            let pin = self.pin_frame(fid);
            table.policy.on_access(fid);
            drop(table);
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(pin);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let fid = self.claim_frame(&mut table)?;
        let pin = self.pin_frame(fid);
        let mut data = pin.0.data.write();
        data.page = None;
        table.pages.insert(id, fid);
        table.owner[fid] = Some(id);
        table.policy.on_insert(fid, id);
        // Publish the mapping before loading so concurrent readers of `id`
        // wait on the latch instead of loading a second copy; the I/O itself
        // runs with only the frame latch held.
        drop(table);
        // Declared after `data`, so on any exit (error or a panicking
        // source) the mapping is withdrawn before the latch is released.
        let mut unmap = Unmap {
            pool: self,
            fid,
            id,
            armed: true,
        };
        data.bytes.fill(0);
        src.load(id, &mut data.bytes)?;
        unmap.armed = false;
        data.page = Some(id);
        pin.0.state.fetch_add(VERSION_STEP, Ordering::AcqRel);
        drop(unmap);
        drop(data);
        Ok(pin)
    }

    /// A frame to reuse: a free one, or the policy's victim among unpinned
    /// clean frames (no steal: a dirty page waits for the checkpoint).
    fn claim_frame(&self, table: &mut Table) -> StorageResult<FrameId> {
        if let Some(fid) = table.free.pop() {
            return Ok(fid);
        }
        let frames = &self.frames;
        let evictable = |fid: FrameId| {
            frames
                .get(fid)
                .is_some_and(|f| f.pins.load(Ordering::Acquire) == 0 && !f.is_dirty())
        };
        let fid = table
            .policy
            .victim(&evictable)
            .ok_or(StorageError::BufferPoolFull)?;
        if let Some(old) = table.owner.get_mut(fid).and_then(Option::take) {
            table.pages.remove(&old);
        }
        self.evictions.fetch_add(1, Ordering::Relaxed);
        Ok(fid)
    }

    fn mark_dirty(&self, frame: &Frame) {
        let (Ok(prev) | Err(prev)) =
            frame
                .state
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                    Some((s | DIRTY).wrapping_add(VERSION_STEP))
                });
        if prev & DIRTY == 0 {
            self.dirty.fetch_add(1, Ordering::AcqRel);
        }
    }
}
