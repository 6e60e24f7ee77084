//! Group commit, batch application and checkpoints.
//!
//! Committers queue their encoded batches; whoever finds no flush under way
//! becomes the leader, takes the whole queue, writes it to the WAL with one
//! write and one fsync, applies it, and wakes the others. While it waits for
//! the disk, new committers gather behind it and form the next group, so the
//! number of fsyncs grows with time, not with the number of writers.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use parking_lot::MutexGuard;

use super::batch::{BatchOp, STAMP_LEN, TreeId, WriteBatch, version_stamp};
use super::btree::BTree;
use super::checkpoint::{SnapshotPage, write_snapshot};
use super::directory::Directory;
use super::error::{StorageError, StorageResult};
use super::page::{MAX_KEY_LEN, MAX_VALUE_LEN, PAGE_USABLE, STATE_PAGE};
use super::store::Inner;
use super::wal::Lsn;

/// Batches waiting for the next leader, and what finished groups returned.
#[derive(Default)]
pub(crate) struct CommitQueue {
    next_ticket: u64,
    pending: Vec<Pending>,
    leader_active: bool,
    /// A new leader is waiting for the other recent committers to queue.
    gathering: bool,
    done_upto: u64,
    /// LSN of each finished ticket not yet collected by its committer.
    results: HashMap<u64, Lsn>,
    /// The threads of the last few groups: who is likely to commit again.
    recent_groups: VecDeque<Vec<ThreadId>>,
}

pub(crate) struct Pending {
    ticket: u64,
    thread: ThreadId,
    batch: WriteBatch,
    payload: Vec<u8>,
}

/// Groups remembered to predict how many committers will join the next one.
const RECENT_GROUPS: usize = 3;

/// Control of the background thread.
#[derive(Default)]
pub(crate) struct Background {
    shutdown: bool,
}

/// Frames a single operation may need: a root-to-leaf path split at every
/// level, both halves, plus the directory and state pages.
const ROOM_PER_OP: usize = 32;

impl Inner {
    pub fn commit(&self, batch: WriteBatch) -> StorageResult<Lsn> {
        self.check_poison()?;
        self.validate(&batch)?;
        let mut payload = Vec::new();
        batch.encode_into(&mut payload);

        let mut q = self.queue.lock();
        q.next_ticket += 1;
        let ticket = q.next_ticket;
        q.pending.push(Pending {
            ticket,
            thread: std::thread::current().id(),
            batch,
            payload,
        });
        if q.gathering {
            self.leader_cv.notify_one();
        }
        loop {
            if q.done_upto >= ticket {
                return match q.results.remove(&ticket) {
                    Some(lsn) => Ok(lsn),
                    None => Err(self.poisoned_error()),
                };
            }
            if !q.leader_active {
                q.leader_active = true;
                self.gather(&mut q);
                let group = std::mem::take(&mut q.pending);
                let last = group.last().map_or(q.done_upto, |p| p.ticket);
                q.recent_groups
                    .push_back(group.iter().map(|p| p.thread).collect());
                if q.recent_groups.len() > RECENT_GROUPS {
                    q.recent_groups.pop_front();
                }
                drop(q);
                let outcome = self.flush_group(&group);
                q = self.queue.lock();
                q.leader_active = false;
                q.done_upto = last;
                if let Ok(lsns) = outcome {
                    for (p, lsn) in group.iter().zip(lsns) {
                        q.results.insert(p.ticket, lsn);
                    }
                }
                self.queue_cv.notify_all();
                if q.done_upto >= ticket {
                    // The leader pays for keeping memory bounded: if the
                    // group left too much dirty, checkpoint before returning.
                    // Its own commit is durable either way; a failed
                    // checkpoint has stopped the store for the next caller.
                    drop(q);
                    if let Err(e) = self.maybe_checkpoint() {
                        tracing::error!(error = %e, "checkpoint after commit failed");
                    }
                    q = self.queue.lock();
                }
                continue;
            }
            self.queue_cv.wait(&mut q);
        }
    }

    /// A closed loop of committers falls into groups that alternate between
    /// one and the rest: whoever the last flush released re-queues just after
    /// the next leader took the queue. So a new leader waits, briefly, until
    /// every thread of the last few groups has queued — a fraction of an
    /// fsync, which one fsync for all of them repays many times over. A lone
    /// committer never waits.
    fn gather(&self, q: &mut MutexGuard<'_, CommitQueue>) {
        if !self.opts.synchronous_commit {
            return;
        }
        let expected = q
            .recent_groups
            .iter()
            .flatten()
            .collect::<HashSet<_>>()
            .len();
        if expected <= 1 {
            return;
        }
        let sync = Duration::from_nanos(self.last_sync_nanos.load(Ordering::Relaxed));
        let deadline = Instant::now() + (sync / 2).clamp(MIN_GATHER, MAX_GATHER);
        q.gathering = true;
        while q.pending.len() < expected {
            if self.leader_cv.wait_until(q, deadline).timed_out() {
                break;
            }
        }
        q.gathering = false;
    }

    fn poisoned_error(&self) -> StorageError {
        match &*self.poison.lock() {
            Some(why) => StorageError::Poisoned(why.clone()),
            None => StorageError::Poisoned("commit group failed".into()),
        }
    }

    /// Refuses what could fail half-way through applying, before it is logged.
    fn validate(&self, batch: &WriteBatch) -> StorageResult<()> {
        let trees = self.trees.read();
        for op in batch.ops() {
            let (tree, key, value, extra) = match op {
                BatchOp::Put { tree, key, value } => (*tree, key, Some(value), 0),
                BatchOp::PutStamped { tree, key, value } => (*tree, key, Some(value), STAMP_LEN),
                BatchOp::Delete { tree, key } => (*tree, key, None, 0),
                BatchOp::CreateTree { .. } | BatchOp::DropTree { .. } => continue,
            };
            if trees.root(tree).is_none() {
                return Err(StorageError::NoSuchTree(format!("id {}", tree.0)));
            }
            if key.len() + extra > MAX_KEY_LEN {
                return Err(StorageError::KeyTooLarge {
                    len: key.len() + extra,
                    max: MAX_KEY_LEN,
                });
            }
            if let Some(value) = value {
                let max = MAX_VALUE_LEN.min(self.pool.capacity() / 2 * PAGE_USABLE);
                if value.len() > max {
                    return Err(StorageError::ValueTooLarge {
                        len: value.len(),
                        max,
                    });
                }
            }
        }
        Ok(())
    }

    /// Logs, syncs and applies one group. Any error here stops the store:
    /// the group may be durable without being applied.
    fn flush_group(&self, group: &[Pending]) -> StorageResult<Vec<Lsn>> {
        let result = (|| {
            let payloads: Vec<&[u8]> = group.iter().map(|p| p.payload.as_slice()).collect();
            let last = {
                let mut wal = self.wal.lock();
                self.check_poison()?;
                let last = wal.append(&payloads)?;
                if self.opts.synchronous_commit {
                    let start = Instant::now();
                    wal.sync()?;
                    let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    self.last_sync_nanos.store(nanos, Ordering::Relaxed);
                }
                last
            };
            self.wal_flushes.fetch_add(1, Ordering::Relaxed);
            let first = last + 1 - group.len() as u64;
            let mut trees = self.trees.write();
            let mut lsns = Vec::with_capacity(group.len());
            for (i, p) in group.iter().enumerate() {
                let lsn = first + i as u64;
                self.apply(&mut trees, &p.batch, lsn)?;
                self.applied_lsn.store(lsn, Ordering::Release);
                lsns.push(lsn);
            }
            self.commits
                .fetch_add(group.len() as u64, Ordering::Relaxed);
            Ok(lsns)
        })();
        result.map_err(|e| self.poison(e))
    }

    /// Applies one batch, logged at `lsn`, to the trees. Used by commits and
    /// by WAL replay.
    pub fn apply(&self, trees: &mut Directory, batch: &WriteBatch, lsn: Lsn) -> StorageResult<()> {
        let mut ops = batch.ops();
        while let Some((op, after)) = ops.split_first() {
            if let Some((tree, run)) = put_run(ops, lsn) {
                self.apply_puts(trees, tree, &run)?;
                ops = ops.get(run.len()..).unwrap_or_default();
                continue;
            }
            ops = after;
            let value_pages = match op {
                BatchOp::Put { value, .. } | BatchOp::PutStamped { value, .. } => {
                    value.len() / PAGE_USABLE
                }
                _ => 0,
            };
            self.ensure_room(ROOM_PER_OP + value_pages)?;
            let pages = self.writer();
            match op {
                // Operations on a tree dropped since they were validated are
                // void, the same at commit and at replay.
                BatchOp::Put { tree, key, value } => {
                    if let Some(root) = trees.root(*tree) {
                        BTree::open(root).put(&pages, key, value)?;
                    }
                }
                BatchOp::PutStamped { tree, key, value } => {
                    if let Some(root) = trees.root(*tree) {
                        BTree::open(root).put(&pages, &stamped(key, lsn), value)?;
                    }
                }
                BatchOp::Delete { tree, key } => {
                    if let Some(root) = trees.root(*tree) {
                        BTree::open(root).delete(&pages, key)?;
                    }
                }
                BatchOp::CreateTree { name, id } => {
                    trees.create(&pages, name, *id)?;
                    let mut state = self.alloc.lock();
                    if state.next_tree_id <= id.0 {
                        state.next_tree_id = id.0 + 1;
                        self.pool
                            .write(STATE_PAGE, &self.src, |p| state.encode(p))?;
                    }
                    self.next_tree_id.fetch_max(id.0 + 1, Ordering::SeqCst);
                }
                BatchOp::DropTree { id } => trees.drop_tree(&pages, *id)?,
            }
        }
        Ok(())
    }

    /// Applies a run of puts into one tree (see [`put_run`]) a leaf at a
    /// time: each [`BTree::put_run`] touches one leaf or is one ordinary
    /// put of the run's next entry, so it counts as one operation for
    /// [`Self::ensure_room`].
    fn apply_puts(
        &self,
        trees: &Directory,
        tree: TreeId,
        run: &[PutEntry<'_>],
    ) -> StorageResult<()> {
        let Some(root) = trees.root(tree) else {
            return Ok(());
        };
        let tree = BTree::open(root);
        let mut rest = run;
        while let Some((_, value)) = rest.first() {
            self.ensure_room(ROOM_PER_OP + value.len() / PAGE_USABLE)?;
            let done = tree.put_run(&self.writer(), rest)?;
            rest = rest.get(done..).unwrap_or_default();
        }
        Ok(())
    }

    /// Makes sure `frames` pages can be brought into the pool without
    /// evicting a dirty one, checkpointing first if not. Called between
    /// operations, never inside one, so every snapshot holds whole trees.
    fn ensure_room(&self, frames: usize) -> StorageResult<()> {
        if self.pool.capacity().saturating_sub(self.pool.dirty_count()) >= frames {
            return Ok(());
        }
        let io = self.io.lock();
        let (snapshot, lsn) = self.snapshot()?;
        self.write_out(snapshot, lsn, io)
    }

    fn maybe_checkpoint(&self) -> StorageResult<()> {
        let dirty_heavy = self.pool.dirty_count() * 2 > self.pool.capacity();
        let wal_heavy = self.wal.lock().bytes_since_rotate() > self.opts.checkpoint_wal_bytes;
        if dirty_heavy || wal_heavy {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Writes every page changed so far to the page file and trims the WAL.
    pub fn checkpoint(&self) -> StorageResult<()> {
        self.check_poison()?;
        let trees = self.trees.write();
        let io = self.io.lock();
        let (snapshot, lsn) = self.snapshot()?;
        drop(trees);
        self.write_out(snapshot, lsn, io)
    }

    /// Copies the dirty pages, with the state page recording `lsn` as the
    /// checkpoint. The caller holds the tree lock exclusively.
    fn snapshot(&self) -> StorageResult<(Vec<SnapshotPage>, Lsn)> {
        let lsn = self.applied_lsn.load(Ordering::Acquire);
        let result = (|| {
            {
                let mut state = self.alloc.lock();
                if state.checkpoint_lsn != lsn {
                    state.checkpoint_lsn = lsn;
                    self.pool
                        .write(STATE_PAGE, &self.src, |p| state.encode(p))?;
                }
            }
            if !self.replaying.load(Ordering::Acquire) {
                let mut wal = self.wal.lock();
                if wal.bytes_since_rotate() > 0 {
                    wal.rotate()?;
                }
            }
            Ok(self.pool.dirty_snapshot())
        })();
        result.map(|s| (s, lsn)).map_err(|e| self.poison(e))
    }

    /// The I/O half of a checkpoint, under the io lock.
    fn write_out(
        &self,
        snapshot: Vec<SnapshotPage>,
        lsn: Lsn,
        _io: MutexGuard<'_, ()>,
    ) -> StorageResult<()> {
        if snapshot.is_empty() {
            return Ok(());
        }
        let result = (|| {
            let written = write_snapshot(
                &self.dw,
                &*self.src.file,
                &self.src.path,
                self.opts.cipher.as_ref(),
                snapshot,
                lsn,
            )?;
            self.pool.mark_clean(&written);
            if !self.replaying.load(Ordering::Acquire) {
                self.wal.lock().remove_upto(lsn)?;
            }
            self.checkpoints.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })();
        result.map_err(|e| self.poison(e))
    }
}

/// Longest run of puts [`Inner::apply_puts`] takes at once, which bounds
/// the stamped keys it builds ahead.
const PUT_RUN: usize = 4096;

/// A put of a run: the stored key and the value.
type PutEntry<'a> = (Cow<'a, [u8]>, &'a [u8]);

/// The leading `ops` that are puts into one tree, as stored keys and
/// values, if there are at least two: the runs [`Inner::apply_puts`]
/// applies a leaf at a time.
fn put_run(ops: &[BatchOp], lsn: Lsn) -> Option<(TreeId, Vec<PutEntry<'_>>)> {
    let tree_of = |op: &BatchOp| match op {
        BatchOp::Put { tree, .. } | BatchOp::PutStamped { tree, .. } => Some(*tree),
        _ => None,
    };
    let tree = ops.first().and_then(tree_of)?;
    let len = ops
        .iter()
        .take(PUT_RUN)
        .take_while(|op| tree_of(op) == Some(tree))
        .count();
    if len < 2 {
        return None;
    }
    let entries = ops[..len]
        .iter()
        .filter_map(|op| match op {
            BatchOp::Put { key, value, .. } => {
                Some((Cow::Borrowed(key.as_slice()), value.as_slice()))
            }
            BatchOp::PutStamped { key, value, .. } => {
                Some((Cow::Owned(stamped(key, lsn)), value.as_slice()))
            }
            _ => None,
        })
        .collect();
    Some((tree, entries))
}

/// `key ‖ stamp(lsn)`: the stored key of a stamped put committed at `lsn`.
fn stamped(key: &[u8], lsn: Lsn) -> Vec<u8> {
    let mut stamped = Vec::with_capacity(key.len() + STAMP_LEN);
    stamped.extend_from_slice(key);
    stamped.extend_from_slice(&version_stamp(lsn));
    stamped
}

/// Bounds on how long a new leader waits for the rest of its group.
const MIN_GATHER: Duration = Duration::from_micros(20);
const MAX_GATHER: Duration = Duration::from_millis(1);

/// How often the background thread wakes to flush an asynchronous WAL.
const ASYNC_FLUSH: Duration = Duration::from_millis(200);

/// Starts the thread that takes periodic checkpoints and, with
/// `synchronous_commit` off, flushes the WAL.
pub(crate) fn spawn_background(inner: &Arc<Inner>) -> StorageResult<JoinHandle<()>> {
    let weak = Arc::downgrade(inner);
    let interval = inner.opts.checkpoint_interval;
    let tick = if inner.opts.synchronous_commit {
        interval
    } else {
        interval.min(ASYNC_FLUSH)
    };
    std::thread::Builder::new()
        .name("rustydb-checkpoint".into())
        .spawn(move || {
            let mut last = Instant::now();
            loop {
                let Some(inner) = weak.upgrade() else { return };
                {
                    let mut bg = inner.background.lock();
                    if bg.shutdown {
                        return;
                    }
                    inner.background_cv.wait_for(&mut bg, tick);
                    if bg.shutdown {
                        return;
                    }
                }
                if inner.check_poison().is_err() {
                    return;
                }
                if !inner.opts.synchronous_commit {
                    let synced = inner.wal.lock().sync();
                    if let Err(e) = synced {
                        inner.poison(e);
                        return;
                    }
                }
                if last.elapsed() >= interval {
                    last = Instant::now();
                    if let Err(e) = inner.checkpoint() {
                        tracing::error!(error = %e, "background checkpoint failed");
                    }
                }
            }
        })
        .map_err(|e| StorageError::io("spawn", "checkpoint thread", e))
}

pub(crate) fn stop_background(inner: &Inner) {
    inner.background.lock().shutdown = true;
    inner.background_cv.notify_all();
}
