//! [`Store`]: opening, recovery, reads and the public face of the engine's
//! storage. Commits and checkpoints are in `commit.rs`; see the module essay
//! in `storage/mod.rs` for how the pieces fit.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};

use super::batch::{TreeId, WriteBatch};
use super::btree::{BTree, Cursor};
use super::buffer::{BufferPool, EvictionKind, PoolStats};
use super::checkpoint::DoubleWrite;
use super::codec::{self, Cipher};
use super::commit::{self, CommitQueue};
use super::directory::Directory;
use super::error::{StorageError, StorageResult};
use super::io::{LockGuard, OsVfs, Vfs};
use super::page::{HEADER_PAGE, PAGE_SIZE, PAGE_USABLE, PageId, STATE_PAGE};
use super::pages::{DiskSource, PageCtx};
use super::state::{FileHeader, StoreState, decode_free_page};
use super::wal::{Lsn, Wal, WalOptions};

pub use super::btree::Direction;

const DATA_FILE: &str = "data.rdb";
const DW_FILE: &str = "data.dwb";
const WAL_DIR: &str = "wal";
const LOCK_FILE: &str = "LOCK";

/// How a [`Store`] is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Bytes of page frames in the buffer pool (rounded down to pages; at
    /// least 64 pages).
    pub buffer_pool_bytes: usize,
    /// Which pages the pool evicts first.
    pub eviction: EvictionKind,
    /// fsync the WAL before a commit returns (PostgreSQL's
    /// `synchronous_commit`). Off, a crash can lose the last few hundred
    /// milliseconds of commits but never corrupts.
    pub synchronous_commit: bool,
    /// Time between background checkpoints.
    pub checkpoint_interval: Duration,
    /// WAL bytes since the last checkpoint that trigger the next one.
    pub checkpoint_wal_bytes: u64,
    /// Size at which the WAL starts a new segment file.
    pub wal_segment_bytes: u64,
    /// Encrypts pages and WAL records with AES-256-GCM when set.
    pub cipher: Option<Arc<Cipher>>,
    /// The file system; tests substitute simulated and faulty ones.
    pub vfs: Arc<dyn Vfs>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            buffer_pool_bytes: 128 << 20,
            eviction: EvictionKind::default(),
            synchronous_commit: true,
            checkpoint_interval: Duration::from_secs(30),
            checkpoint_wal_bytes: 64 << 20,
            wal_segment_bytes: 16 << 20,
            cipher: None,
            vfs: Arc::new(OsVfs),
        }
    }
}

impl StoreOptions {
    fn pool_pages(&self) -> usize {
        (self.buffer_pool_bytes / PAGE_SIZE).max(64)
    }
}

/// Counters for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StoreStats {
    /// Buffer pool hits, misses, evictions, residency.
    pub pool: PoolStats,
    /// Batches committed since open.
    pub commits: u64,
    /// WAL flushes (each covering a group of commits).
    pub wal_flushes: u64,
    /// Checkpoints completed since open.
    pub checkpoints: u64,
    /// LSN of the last batch applied.
    pub applied_lsn: Lsn,
}

/// What [`Store::check_integrity`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityReport {
    /// User trees.
    pub trees: usize,
    /// Entries across all user trees.
    pub entries: u64,
    /// Pages of the file.
    pub page_count: u64,
    /// Pages on the free list.
    pub free_pages: u64,
}

/// A durable, ordered key-value store holding named B+trees. See the module
/// documentation for its durability contract.
pub struct Store {
    pub(crate) inner: Arc<Inner>,
    background: Option<JoinHandle<()>>,
    /// The directory lock, released when the store is dropped.
    _lock: LockGuard,
}

/// State shared by the store's handles, scans and background thread.
pub(crate) struct Inner {
    pub opts: StoreOptions,
    pub src: DiskSource,
    pub pool: BufferPool,
    pub dw: DoubleWrite,
    pub wal: Mutex<Wal>,
    /// Held shared by readers, exclusively while applying batches and while
    /// a checkpoint snapshots the pool. Lock order: trees → io → wal.
    pub trees: RwLock<Directory>,
    pub alloc: Mutex<StoreState>,
    /// Serialises checkpoint I/O, taken while `trees` is still held so that
    /// snapshots reach the disk in the order they were taken.
    pub io: Mutex<()>,
    pub queue: Mutex<CommitQueue>,
    pub queue_cv: Condvar,
    /// Wakes a leader gathering its group when a committer queues.
    pub leader_cv: Condvar,
    /// Duration of the last WAL fsync, which sizes the gathering wait.
    pub last_sync_nanos: AtomicU64,
    /// Serialises tree creation so a name is checked and taken atomically.
    pub ddl: Mutex<()>,
    pub next_tree_id: AtomicU64,
    pub applied_lsn: AtomicU64,
    pub poison: Mutex<Option<String>>,
    pub background: Mutex<commit::Background>,
    pub background_cv: Condvar,
    pub commits: AtomicU64,
    pub wal_flushes: AtomicU64,
    pub checkpoints: AtomicU64,
    /// Set while open replays the WAL: checkpoints taken then (when the pool
    /// fills) must leave the log being read alone.
    pub replaying: AtomicBool,
}

impl Store {
    /// Opens the store in `dir`, creating it if absent, and recovers:
    /// restores a complete double-write batch, then replays the WAL after the
    /// last checkpoint.
    ///
    /// # Errors
    /// I/O errors; [`StorageError::Key`] for a missing or wrong key;
    /// [`StorageError::Corrupt`] / `CorruptPage` for damaged files.
    pub fn open(dir: &Path, opts: StoreOptions) -> StorageResult<Store> {
        let vfs = Arc::clone(&opts.vfs);
        vfs.create_dir_all(dir)
            .map_err(|e| StorageError::io("mkdir", dir, e))?;
        let lock = vfs.lock_exclusive(&dir.join(LOCK_FILE)).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                StorageError::InUse(dir.to_path_buf())
            } else {
                StorageError::io("lock", dir.join(LOCK_FILE), e)
            }
        })?;
        let data_path = dir.join(DATA_FILE);
        if !vfs.exists(&data_path) {
            initialize(&*vfs, dir, &data_path, opts.cipher.as_deref())?;
        }
        let file = vfs
            .open(&data_path, false)
            .map_err(|e| StorageError::io("open", &data_path, e))?;
        let src = DiskSource {
            file,
            path: data_path.clone(),
            cipher: opts.cipher.clone(),
        };
        check_header(&src, opts.cipher.as_deref())?;
        let dw = DoubleWrite::open(&*vfs, &dir.join(DW_FILE))?;
        // The double-write file must survive a power cut as a name, not only
        // as data, or a torn page could not be restored.
        vfs.sync_dir(dir)
            .map_err(|e| StorageError::io("fsync", dir, e))?;
        let restored = dw.recover(&*src.file, &data_path)?;
        if restored > 0 {
            tracing::info!(
                pages = restored,
                "restored pages from the double-write file"
            );
        }

        let pool = BufferPool::new(opts.pool_pages(), opts.eviction);
        let state = pool.read(STATE_PAGE, &src, StoreState::decode)??;
        let directory = Directory::load(&PageCtx {
            pool: &pool,
            src: &src,
            alloc: None,
        })?;
        let mut wal = Wal::open(
            Arc::clone(&vfs),
            &dir.join(WAL_DIR),
            opts.cipher.clone(),
            WalOptions {
                segment_bytes: opts.wal_segment_bytes,
            },
        )?;
        wal.ensure_next_lsn_after(state.checkpoint_lsn);

        let inner = Arc::new(Inner {
            src,
            pool,
            dw,
            wal: Mutex::new(wal),
            trees: RwLock::new(directory),
            next_tree_id: AtomicU64::new(state.next_tree_id),
            alloc: Mutex::new(state),
            io: Mutex::new(()),
            queue: Mutex::new(CommitQueue::default()),
            queue_cv: Condvar::new(),
            leader_cv: Condvar::new(),
            last_sync_nanos: AtomicU64::new(0),
            ddl: Mutex::new(()),
            applied_lsn: AtomicU64::new(state.checkpoint_lsn),
            poison: Mutex::new(None),
            background: Mutex::new(commit::Background::default()),
            background_cv: Condvar::new(),
            commits: AtomicU64::new(0),
            wal_flushes: AtomicU64::new(0),
            checkpoints: AtomicU64::new(0),
            replaying: AtomicBool::new(true),
            opts,
        });
        let replayed = inner.replay(state.checkpoint_lsn)?;
        inner.replaying.store(false, Ordering::Release);
        if replayed > 0 {
            tracing::info!(records = replayed, "replayed the write-ahead log");
            inner.checkpoint()?;
        }
        let background = Some(commit::spawn_background(&inner)?);
        Ok(Store {
            inner,
            background,
            _lock: lock,
        })
    }

    /// The id of tree `name`, if it exists.
    ///
    /// # Errors
    /// [`StorageError::Poisoned`] after an I/O failure.
    pub fn tree(&self, name: &str) -> StorageResult<Option<TreeId>> {
        self.inner.check_poison()?;
        Ok(self.inner.trees.read().id(name))
    }

    /// Names and ids of every tree.
    pub fn trees(&self) -> Vec<(String, TreeId)> {
        let trees = self.inner.trees.read();
        let mut all: Vec<_> = trees.iter().map(|(id, _, n)| (n.to_owned(), id)).collect();
        all.sort();
        all
    }

    /// Creates an empty tree, durably.
    ///
    /// # Errors
    /// [`StorageError::TreeExists`]; commit errors.
    pub fn create_tree(&self, name: &str) -> StorageResult<TreeId> {
        let _ddl = self.inner.ddl.lock();
        if self.tree(name)?.is_some() {
            return Err(StorageError::TreeExists(name.to_owned()));
        }
        let id = TreeId(self.inner.next_tree_id.fetch_add(1, Ordering::SeqCst));
        let mut batch = WriteBatch::new();
        batch.push(super::batch::BatchOp::CreateTree {
            name: name.to_owned(),
            id,
        });
        self.commit(batch)?;
        Ok(id)
    }

    /// Drops a tree and frees its pages, durably.
    ///
    /// # Errors
    /// [`StorageError::NoSuchTree`]; commit errors.
    pub fn drop_tree(&self, name: &str) -> StorageResult<()> {
        let _ddl = self.inner.ddl.lock();
        let id = self
            .tree(name)?
            .ok_or_else(|| StorageError::NoSuchTree(name.to_owned()))?;
        let mut batch = WriteBatch::new();
        batch.push(super::batch::BatchOp::DropTree { id });
        self.commit(batch).map(|_| ())
    }

    /// Commits a batch atomically. Returns once it is durable (with
    /// `synchronous_commit`) and visible to readers.
    ///
    /// # Errors
    /// Validation errors (key or value too large, unknown tree) leave the
    /// store untouched; an I/O error stops the store
    /// ([`StorageError::Poisoned`] from then on).
    pub fn commit(&self, batch: WriteBatch) -> StorageResult<Lsn> {
        self.inner.commit(batch)
    }

    /// The value of `key` in `tree`.
    ///
    /// # Errors
    /// [`StorageError::NoSuchTree`], read or verification failures.
    pub fn get(&self, tree: TreeId, key: &[u8]) -> StorageResult<Option<Vec<u8>>> {
        self.inner.check_poison()?;
        let trees = self.inner.trees.read();
        let root = trees
            .root(tree)
            .ok_or_else(|| StorageError::NoSuchTree(format!("id {}", tree.0)))?;
        BTree::open(root).get(&self.inner.reader(), key)
    }

    /// The first entry of `tree` whose key starts with `prefix`: what a
    /// scan of that prefix would return first, without setting one up.
    ///
    /// # Errors
    /// [`StorageError::NoSuchTree`], read or verification failures.
    pub fn first_with_prefix(
        &self,
        tree: TreeId,
        prefix: &[u8],
    ) -> StorageResult<Option<(Vec<u8>, Vec<u8>)>> {
        self.inner.check_poison()?;
        let trees = self.inner.trees.read();
        let root = trees
            .root(tree)
            .ok_or_else(|| StorageError::NoSuchTree(format!("id {}", tree.0)))?;
        BTree::open(root).first_with_prefix(&self.inner.reader(), prefix)
    }

    /// Entries of `tree` between the bounds, in `direction`. The scan sees
    /// each leaf as of the moment it reaches it (it holds no lock between
    /// leaves); higher layers get snapshots from MVCC, not from here.
    pub fn scan(
        &self,
        tree: TreeId,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        direction: Direction,
    ) -> ScanIter {
        ScanIter {
            inner: Arc::clone(&self.inner),
            tree,
            cursor: Cursor::new(lower, upper, direction),
            pos: 0,
            len: 0,
            done: false,
            chunk: FIRST_SCAN_CHUNK,
        }
    }

    /// LSN of the last batch applied: every batch up to it is visible to
    /// readers, none after it. MVCC takes its snapshots here.
    pub fn applied_lsn(&self) -> Lsn {
        self.inner.applied_lsn.load(Ordering::Acquire)
    }

    /// Runs a checkpoint now.
    ///
    /// # Errors
    /// I/O errors, which also stop the store.
    pub fn checkpoint(&self) -> StorageResult<()> {
        self.inner.checkpoint()
    }

    /// Monitoring counters.
    pub fn stats(&self) -> StoreStats {
        let i = &self.inner;
        StoreStats {
            pool: i.pool.stats(),
            commits: i.commits.load(Ordering::Relaxed),
            wal_flushes: i.wal_flushes.load(Ordering::Relaxed),
            checkpoints: i.checkpoints.load(Ordering::Relaxed),
            applied_lsn: i.applied_lsn.load(Ordering::Acquire),
        }
    }

    /// Verifies every tree (order, bounds, overflow chains), the free list,
    /// and that every page of the file is used exactly once.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] naming the first problem found.
    pub fn check_integrity(&self) -> StorageResult<IntegrityReport> {
        self.inner.check_poison()?;
        let trees = self.inner.trees.read();
        let state = *self.inner.alloc.lock();
        let ctx = self.inner.reader();
        let mut owner: HashMap<PageId, String> = HashMap::new();
        let mut claim = |page: PageId, by: &str| -> StorageResult<()> {
            if page >= state.page_count {
                return Err(StorageError::Corrupt(format!(
                    "{by} uses page {page} beyond the file's {} pages",
                    state.page_count
                )));
            }
            if let Some(other) = owner.insert(page, by.to_owned()) {
                return Err(StorageError::Corrupt(format!(
                    "page {page} is used by both {other} and {by}"
                )));
            }
            Ok(())
        };
        claim(HEADER_PAGE, "the file header")?;
        claim(STATE_PAGE, "the state page")?;
        for page in Directory::tree().check(&ctx)?.pages {
            claim(page, "the tree directory")?;
        }
        let mut entries = 0;
        for (_, root, name) in trees.iter() {
            let check = BTree::open(root).check(&ctx)?;
            entries += check.entries;
            for page in check.pages {
                claim(page, &format!("tree {name:?}"))?;
            }
        }
        let mut free = 0;
        let mut next = state.free_head;
        while next != 0 {
            if free >= state.free_count {
                return Err(StorageError::Corrupt(
                    "the free list is longer than its count (a cycle?)".into(),
                ));
            }
            claim(next, "the free list")?;
            free += 1;
            let id = next;
            next = self
                .inner
                .pool
                .read(id, &self.inner.src, |p| decode_free_page(id, p))??;
        }
        if free != state.free_count {
            return Err(StorageError::Corrupt(format!(
                "the free list holds {free} pages, the state says {}",
                state.free_count
            )));
        }
        if let Some(leaked) = (0..state.page_count).find(|p| !owner.contains_key(p)) {
            return Err(StorageError::Corrupt(format!(
                "page {leaked} is neither used nor free"
            )));
        }
        Ok(IntegrityReport {
            trees: trees.len(),
            entries,
            page_count: state.page_count,
            free_pages: free,
        })
    }

    /// Stops the background thread and takes a final checkpoint, so the next
    /// open replays nothing.
    ///
    /// # Errors
    /// I/O errors of the final checkpoint. Data committed before is safe
    /// either way: the WAL still holds it.
    pub fn close(mut self) -> StorageResult<()> {
        self.stop_background();
        self.inner.check_poison()?;
        self.inner.checkpoint()
    }

    fn stop_background(&mut self) {
        commit::stop_background(&self.inner);
        if let Some(handle) = self.background.take()
            && handle.join().is_err()
        {
            tracing::error!("the storage background thread panicked");
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.stop_background();
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Page access for readers (no allocation).
    pub fn reader(&self) -> PageCtx<'_> {
        PageCtx {
            pool: &self.pool,
            src: &self.src,
            alloc: None,
        }
    }

    /// Page access for the writer applying batches.
    pub fn writer(&self) -> PageCtx<'_> {
        PageCtx {
            pool: &self.pool,
            src: &self.src,
            alloc: Some(&self.alloc),
        }
    }

    pub fn check_poison(&self) -> StorageResult<()> {
        match &*self.poison.lock() {
            Some(why) => Err(StorageError::Poisoned(why.clone())),
            None => Ok(()),
        }
    }

    /// Stops the store for good after a failure that may have lost data in
    /// flight (a failed write or fsync). Returns the error for the caller.
    pub fn poison(&self, e: StorageError) -> StorageError {
        let mut poison = self.poison.lock();
        if poison.is_none() {
            tracing::error!(error = %e, "storage stopped");
            *poison = Some(e.to_string());
        }
        e
    }

    /// Replays the WAL after `after`, returning how many records it applied.
    fn replay(&self, after: Lsn) -> StorageResult<u64> {
        let mut count = 0;
        let mut trees = self.trees.write();
        let wal = self.wal.lock();
        wal.replay(after, |lsn, payload| {
            let batch = WriteBatch::decode(&payload)?;
            self.apply(&mut trees, &batch, lsn)?;
            self.applied_lsn.store(lsn, Ordering::Release);
            count += 1;
            Ok(())
        })?;
        Ok(count)
    }
}

/// A range scan. It re-enters the tree once per leaf, holding no lock in
/// between, so a long scan never blocks writers.
pub struct ScanIter {
    inner: Arc<Inner>,
    tree: TreeId,
    cursor: Cursor,
    pos: usize,
    len: usize,
    done: bool,
    /// Entries to copy on the next refill.
    chunk: usize,
}

const FIRST_SCAN_CHUNK: usize = 64;
const MAX_SCAN_CHUNK: usize = 1024;

impl ScanIter {
    /// The next entry, borrowed until the next call.
    ///
    /// # Errors
    /// [`StorageError::NoSuchTree`] if the tree was dropped; read errors.
    pub fn next_entry(&mut self) -> StorageResult<Option<(&[u8], &[u8])>> {
        while self.pos >= self.len {
            if self.done {
                return Ok(None);
            }
            self.inner.check_poison()?;
            let trees = self.inner.trees.read();
            let root = trees
                .root(self.tree)
                .ok_or_else(|| StorageError::NoSuchTree(format!("id {}", self.tree.0)))?;
            // Start small, since most range scans stop early (LIMIT, a join
            // probe), and grow towards a few leaves' worth per refill.
            let more = self
                .cursor
                .fill(&BTree::open(root), &self.inner.reader(), self.chunk)?;
            self.chunk = (self.chunk * 4).min(MAX_SCAN_CHUNK);
            self.len = self.cursor.chunk_len();
            self.pos = 0;
            self.done = !more;
        }
        let entry = self.cursor.chunk_entry(self.pos);
        self.pos += 1;
        Ok(entry)
    }
}

impl Iterator for ScanIter {
    type Item = StorageResult<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_entry() {
            Ok(Some((k, v))) => Some(Ok((k.to_vec(), v.to_vec()))),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                self.len = 0;
                Some(Err(e))
            }
        }
    }
}

/// Reads and checks page 0 against the key we were given.
fn check_header(src: &DiskSource, cipher: Option<&Cipher>) -> StorageResult<()> {
    let mut page = vec![0u8; PAGE_SIZE];
    src.file
        .read_exact_at(&mut page, 0)
        .map_err(|e| StorageError::io("read", &src.path, e))?;
    codec::open_page(None, HEADER_PAGE, &mut page)?;
    let header = FileHeader::decode(&page[..PAGE_USABLE])?;
    match (header.encrypted, cipher) {
        (true, None) => Err(StorageError::Key(
            "the database is encrypted: supply its key file".into(),
        )),
        (false, Some(_)) => Err(StorageError::Key(
            "a key was supplied but the database is not encrypted".into(),
        )),
        (true, Some(c)) => c.verify_key_check(&header.key_check),
        (false, None) => Ok(()),
    }
}

/// Creates a new data file: header, state and an empty directory tree,
/// written to a temporary name and renamed, so a crash mid-way leaves either
/// no database or a whole one.
fn initialize(
    vfs: &dyn Vfs,
    dir: &Path,
    data_path: &Path,
    cipher: Option<&Cipher>,
) -> StorageResult<()> {
    let tmp: PathBuf = dir.join(format!("{DATA_FILE}.init"));
    if vfs.exists(&tmp) {
        vfs.remove(&tmp)
            .map_err(|e| StorageError::io("remove", &tmp, e))?;
    }
    let file = vfs
        .open(&tmp, true)
        .map_err(|e| StorageError::io("create", &tmp, e))?;
    let header = FileHeader {
        encrypted: cipher.is_some(),
        key_check: match cipher {
            Some(c) => c.key_check_block()?,
            None => Vec::new(),
        },
    };
    let mut page = vec![0u8; PAGE_SIZE];
    header.encode(&mut page[..PAGE_USABLE])?;
    codec::seal_page(None, HEADER_PAGE, &mut page)?;
    file.write_all_at(&page, 0)
        .map_err(|e| StorageError::io("write", &tmp, e))?;

    // Build pages 1 and 2 in a scratch pool with the normal code paths, so
    // the directory root is a genuine empty B+tree.
    let src = DiskSource {
        file,
        path: tmp.clone(),
        cipher: None,
    };
    let pool = BufferPool::new(64, EvictionKind::Clock);
    let alloc = Mutex::new(StoreState {
        page_count: super::page::DIRECTORY_ROOT,
        free_head: 0,
        free_count: 0,
        checkpoint_lsn: 0,
        next_tree_id: 1,
    });
    pool.create(STATE_PAGE)?;
    let ctx = PageCtx {
        pool: &pool,
        src: &src,
        alloc: Some(&alloc),
    };
    let root = BTree::create(&ctx)?.root();
    if root != super::page::DIRECTORY_ROOT {
        return Err(StorageError::Corrupt(format!(
            "new directory tree landed on page {root}"
        )));
    }
    for (id, _, mut bytes) in pool.dirty_snapshot() {
        codec::seal_page(cipher, id, &mut bytes)?;
        src.file
            .write_all_at(&bytes, id * PAGE_SIZE as u64)
            .map_err(|e| StorageError::io("write", &tmp, e))?;
    }
    src.file
        .sync()
        .map_err(|e| StorageError::io("fsync", &tmp, e))?;
    drop(src);
    vfs.rename(&tmp, data_path)
        .map_err(|e| StorageError::io("rename", data_path, e))?;
    vfs.sync_dir(dir)
        .map_err(|e| StorageError::io("fsync", dir, e))
}
