//! The log itself: opening with torn-tail repair, group appends, syncing,
//! rotation and removal of segments a checkpoint made obsolete.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::storage::codec::Cipher;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::io::{Vfs, VfsFile};

use super::record;
use super::segment::{self, SegmentMeta};
use super::{Lsn, WalOptions};

/// The write-ahead log of a store.
///
/// Not synchronised beyond `&mut self`: the store serialises access. After
/// any failed write, fsync or removal the log refuses further changes with
/// [`StorageError::Poisoned`] — what reached the disk is unknown, and only
/// reopening (which rescans the files) establishes it again.
pub struct Wal {
    pub(super) vfs: Arc<dyn Vfs>,
    pub(super) dir: PathBuf,
    pub(super) cipher: Option<Arc<Cipher>>,
    opts: WalOptions,
    /// Oldest first; their LSN ranges are contiguous.
    pub(super) segments: Vec<SegmentMeta>,
    /// The last segment, open for appending. `None` until the first append
    /// after open on an empty log, after [`Wal::rotate`], or after
    /// [`Wal::ensure_next_lsn_after`] moved the LSN: segments are created
    /// lazily so that their name is the LSN of a record they really hold.
    pub(super) current: Option<Box<dyn VfsFile>>,
    pub(super) next_lsn: Lsn,
    /// A segment was created and the directory not synced since.
    dir_dirty: bool,
    bytes_since_rotate: u64,
    broken: Option<String>,
    /// Reused across appends to build one group.
    buf: Vec<u8>,
}

impl fmt::Debug for Wal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("encrypted", &self.cipher.is_some())
            .field("segments", &self.segments.len())
            .field("next_lsn", &self.next_lsn)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Wal {
    /// Opens (creating if absent) the log in `dir`, scans every segment and
    /// cuts off a torn tail.
    ///
    /// The log ends at the first invalid record (bad length or CRC) of the
    /// last segment: a crash tore it, so it was never acknowledged. The bytes
    /// from there on are truncated and the truncation synced, so that later
    /// appends never sit behind garbage. Records before a checkpoint may be
    /// absent (their segments removed); records must otherwise be contiguous.
    ///
    /// # Errors
    /// [`StorageError::Io`]; [`StorageError::Corrupt`] for an invalid record
    /// in any segment but the last (those were fsynced before the next
    /// segment was created), for LSNs that are not contiguous, or for a stray
    /// `.wal` file; [`StorageError::InvalidOption`] for `segment_bytes == 0`.
    pub fn open(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        cipher: Option<Arc<Cipher>>,
        opts: WalOptions,
    ) -> StorageResult<Wal> {
        if opts.segment_bytes == 0 {
            return Err(StorageError::InvalidOption(
                "WAL segment size must be positive".into(),
            ));
        }
        let existed = vfs.exists(dir);
        vfs.create_dir_all(dir)
            .map_err(|e| StorageError::io("create WAL directory", dir, e))?;
        if !existed {
            // The directory's own entry must be durable before segments in it
            // are relied on.
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                vfs.sync_dir(parent)
                    .map_err(|e| StorageError::io("fsync directory", parent, e))?;
            }
        }

        let listed = segment::list_segments(&*vfs, dir)?;
        let count = listed.len();
        let mut segments = Vec::with_capacity(count);
        let mut current = None;
        let mut end_lsn = None;
        for (i, (first_lsn, path)) in listed.into_iter().enumerate() {
            if let Some(expected) = end_lsn
                && first_lsn != expected
            {
                return Err(StorageError::Corrupt(format!(
                    "WAL segment {} starts at LSN {first_lsn}, but the previous segment ends before {expected}",
                    path.display()
                )));
            }
            let file = vfs
                .open(&path, false)
                .map_err(|e| StorageError::io("open WAL segment", &path, e))?;
            let len = file
                .len()
                .map_err(|e| StorageError::io("stat WAL segment", &path, e))?;
            let scan = segment::scan(&*file, &path, first_lsn, len)?;
            let is_last = i + 1 == count;
            if let Some((offset, reason)) = scan.invalid {
                if !is_last {
                    return Err(StorageError::Corrupt(format!(
                        "WAL segment {} has an invalid record at offset {offset} ({reason}) and is not the last segment",
                        path.display()
                    )));
                }
                tracing::warn!(
                    segment = %path.display(),
                    offset,
                    reason,
                    dropped_bytes = len - offset,
                    "cutting off the torn tail of the write-ahead log"
                );
                file.set_len(offset)
                    .map_err(|e| StorageError::io("truncate WAL segment", &path, e))?;
                file.sync()
                    .map_err(|e| StorageError::io("fsync", &path, e))?;
            }
            end_lsn = Some(scan.end_lsn);
            segments.push(SegmentMeta {
                first_lsn,
                end_lsn: scan.end_lsn,
                path,
                len: scan.valid_len,
            });
            if is_last {
                current = Some(file);
            }
        }

        Ok(Wal {
            vfs,
            dir: dir.to_path_buf(),
            cipher,
            opts,
            bytes_since_rotate: segments.iter().map(|s| s.len).sum(),
            segments,
            current,
            next_lsn: end_lsn.unwrap_or(1),
            dir_dirty: false,
            broken: None,
            buf: Vec::new(),
        })
    }

    /// LSN the next appended record will get.
    #[must_use]
    pub fn next_lsn(&self) -> Lsn {
        self.next_lsn
    }

    /// Log bytes appended since the last explicit [`Wal::rotate`]; right
    /// after open, every byte in the log. Automatic segment switches do not
    /// reset it: the store uses it to decide when to checkpoint.
    #[must_use]
    pub fn bytes_since_rotate(&self) -> u64 {
        self.bytes_since_rotate
    }

    /// Makes the next record get `lsn + 1` if it would otherwise get less.
    ///
    /// Meant for a log that is empty because a checkpoint at `lsn` removed
    /// every segment. If the log still holds records, the caller vouches that
    /// they are all covered by that checkpoint: the next append removes them
    /// before starting a segment at `lsn + 1`, so the log stays contiguous.
    pub fn ensure_next_lsn_after(&mut self, lsn: Lsn) {
        if lsn >= self.next_lsn {
            self.next_lsn = lsn.saturating_add(1);
            self.current = None;
        }
    }

    /// Appends `payloads` as consecutive records with one write call and
    /// returns the LSN of the last one (of the last existing record when
    /// `payloads` is empty). Does not sync, except that switching to a new
    /// segment once the current one holds `segment_bytes` syncs the old one.
    ///
    /// # Errors
    /// [`StorageError::Io`] (the log is then unusable);
    /// [`StorageError::ValueTooLarge`] for a payload over
    /// [`super::MAX_RECORD_LEN`] (nothing is written; the log stays usable);
    /// [`StorageError::Poisoned`] after an earlier failure.
    pub fn append(&mut self, payloads: &[&[u8]]) -> StorageResult<Lsn> {
        self.check_usable()?;
        let first = self.next_lsn;
        if payloads.is_empty() {
            return Ok(first.saturating_sub(1));
        }
        let end = first
            .checked_add(payloads.len() as u64)
            .ok_or_else(|| StorageError::Corrupt("WAL sequence numbers exhausted".into()))?;
        let last = end - 1;
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let encoded = record::encode_group(self.cipher.as_deref(), first, payloads, &mut buf);
        let written = encoded.and_then(|()| self.guard(|wal| wal.write_group(&buf, end)));
        self.buf = buf;
        written?;
        Ok(last)
    }

    fn write_group(&mut self, group: &[u8], end: Lsn) -> StorageResult<()> {
        let full = self
            .segments
            .last()
            .is_some_and(|s| s.len > 0 && s.len >= self.opts.segment_bytes);
        if self.current.is_some() && full {
            self.close_current()?;
        }
        if self.current.is_none() {
            self.start_segment()?;
        }
        let (Some(file), Some(meta)) = (self.current.as_deref(), self.segments.last_mut()) else {
            return Err(StorageError::Corrupt("WAL has no current segment".into()));
        };
        file.write_all_at(group, meta.len)
            .map_err(|e| StorageError::io("write", &meta.path, e))?;
        meta.len += group.len() as u64;
        meta.end_lsn = end;
        self.next_lsn = end;
        self.bytes_since_rotate += group.len() as u64;
        Ok(())
    }

    /// Creates the segment whose first record will be `next_lsn`.
    fn start_segment(&mut self) -> StorageResult<()> {
        if self
            .segments
            .last()
            .is_some_and(|s| s.end_lsn != self.next_lsn)
        {
            // Only `ensure_next_lsn_after` opens a gap, and only over
            // records a checkpoint covers: drop them so no gap reaches disk.
            tracing::warn!(
                next_lsn = self.next_lsn,
                "removing WAL segments older than the checkpoint before a gap in LSNs"
            );
            while !self.segments.is_empty() {
                self.remove_oldest()?;
            }
        }
        let path = segment::segment_path(&self.dir, self.next_lsn);
        let file = self
            .vfs
            .open(&path, true)
            .map_err(|e| StorageError::io("create WAL segment", &path, e))?;
        let existing = file
            .len()
            .map_err(|e| StorageError::io("stat WAL segment", &path, e))?;
        if existing != 0 {
            return Err(StorageError::Corrupt(format!(
                "WAL segment {} exists already with {existing} bytes",
                path.display()
            )));
        }
        self.dir_dirty = true;
        self.segments.push(SegmentMeta {
            first_lsn: self.next_lsn,
            end_lsn: self.next_lsn,
            path,
            len: 0,
        });
        self.current = Some(file);
        Ok(())
    }

    /// fsyncs the current segment, and the directory if a segment was
    /// created since the last sync.
    ///
    /// # Errors
    /// [`StorageError::Io`] (the log is then unusable);
    /// [`StorageError::Poisoned`] after an earlier failure.
    pub fn sync(&mut self) -> StorageResult<()> {
        self.check_usable()?;
        self.guard(Wal::sync_inner)
    }

    fn sync_inner(&mut self) -> StorageResult<()> {
        if let (Some(file), Some(meta)) = (self.current.as_deref(), self.segments.last()) {
            file.sync()
                .map_err(|e| StorageError::io("fsync", &meta.path, e))?;
        }
        if self.dir_dirty {
            self.vfs
                .sync_dir(&self.dir)
                .map_err(|e| StorageError::io("fsync directory", &self.dir, e))?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Syncs and closes the current segment. A segment is complete and
    /// durable before a later one exists: that is why an invalid record
    /// anywhere but in the last segment is corruption, not a torn tail.
    fn close_current(&mut self) -> StorageResult<()> {
        self.sync_inner()?;
        self.current = None;
        Ok(())
    }

    /// Ends the current segment (after fsyncing it): the next append starts
    /// a new one. Resets [`Wal::bytes_since_rotate`]. A current segment that
    /// holds no record is kept.
    ///
    /// # Errors
    /// [`StorageError::Io`] (the log is then unusable);
    /// [`StorageError::Poisoned`] after an earlier failure.
    pub fn rotate(&mut self) -> StorageResult<()> {
        self.check_usable()?;
        let empty = self.segments.last().is_some_and(|s| s.len == 0);
        if self.current.is_some() && !empty {
            self.guard(Wal::close_current)?;
        }
        self.bytes_since_rotate = 0;
        Ok(())
    }

    /// Deletes, oldest first, every segment all of whose records are
    /// `<= lsn`, except the current one, syncing the directory after each
    /// removal so that a crash never leaves a hole in the middle of the log.
    ///
    /// # Errors
    /// [`StorageError::Io`] (the log is then unusable);
    /// [`StorageError::Poisoned`] after an earlier failure.
    pub fn remove_upto(&mut self, lsn: Lsn) -> StorageResult<()> {
        self.check_usable()?;
        self.guard(|wal| {
            let keep = usize::from(wal.current.is_some());
            while wal.segments.len() > keep && wal.segments[0].end_lsn <= lsn.saturating_add(1) {
                wal.remove_oldest()?;
            }
            Ok(())
        })
    }

    fn remove_oldest(&mut self) -> StorageResult<()> {
        let Some(oldest) = self.segments.first() else {
            return Ok(());
        };
        match self.vfs.remove(&oldest.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StorageError::io("remove WAL segment", &oldest.path, e)),
        }
        self.vfs
            .sync_dir(&self.dir)
            .map_err(|e| StorageError::io("fsync directory", &self.dir, e))?;
        self.segments.remove(0);
        Ok(())
    }

    fn check_usable(&self) -> StorageResult<()> {
        match &self.broken {
            None => Ok(()),
            Some(cause) => Err(StorageError::Poisoned(cause.clone())),
        }
    }

    /// Runs an operation that touches the disk; if it fails, the log's
    /// state on disk is unknown and the log is marked unusable.
    fn guard(&mut self, op: impl FnOnce(&mut Wal) -> StorageResult<()>) -> StorageResult<()> {
        let result = op(self);
        if let Err(e) = &result {
            self.broken = Some(format!("write-ahead log: {e}"));
        }
        result
    }
}
