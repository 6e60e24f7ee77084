//! Segment files: naming, listing, and reading records back.
//!
//! A segment is named after the LSN of its first record, zero-padded to 20
//! digits (`00000000000000000001.wal`), so that sorting names sorts the log
//! and deciding which segments a checkpoint made obsolete needs no reads.
//! Only the LSN of the *next* segment tells where a segment's records end,
//! which is why the writer keeps each segment's end in memory.

use std::path::{Path, PathBuf};

use crate::storage::error::{StorageError, StorageResult};
use crate::storage::io::{Vfs, VfsFile};

use super::Lsn;
use super::record::{self, HEADER_LEN, Header, MAX_RECORD_LEN};

const EXTENSION: &str = "wal";

/// Bytes read from a segment per call when records are small.
const READ_WINDOW: usize = 256 << 10;

/// What the log knows about one segment file.
#[derive(Debug)]
pub(super) struct SegmentMeta {
    /// LSN of its first record (from the name).
    pub(super) first_lsn: Lsn,
    /// One past the LSN of its last record; `first_lsn` when empty.
    pub(super) end_lsn: Lsn,
    pub(super) path: PathBuf,
    /// Bytes of valid records.
    pub(super) len: u64,
}

pub(super) fn segment_path(dir: &Path, first_lsn: Lsn) -> PathBuf {
    dir.join(format!("{first_lsn:020}.{EXTENSION}"))
}

/// The segments in `dir`, oldest first. Files without the `.wal` extension
/// are not the log's and are left alone; a `.wal` file whose name is not a
/// segment name is corruption, since it may hold records the log needs.
pub(super) fn list_segments(vfs: &dyn Vfs, dir: &Path) -> StorageResult<Vec<(Lsn, PathBuf)>> {
    let entries = vfs
        .list(dir)
        .map_err(|e| StorageError::io("list WAL directory", dir, e))?;
    let mut segments = Vec::new();
    for path in entries {
        if path.extension().and_then(|e| e.to_str()) != Some(EXTENSION) {
            continue;
        }
        let first_lsn = path
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|s| s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<Lsn>().ok())
            .filter(|&lsn| lsn >= 1)
            .ok_or_else(|| {
                StorageError::Corrupt(format!(
                    "unexpected file in the WAL directory: {}",
                    path.display()
                ))
            })?;
        segments.push((first_lsn, path));
    }
    segments.sort_unstable_by_key(|(lsn, _)| *lsn);
    Ok(segments)
}

/// One step through a segment.
#[derive(Debug)]
pub(super) enum Step {
    /// A record whose length and CRC are valid; its sealed payload is
    /// [`SegmentReader::payload`] until the next step.
    Record { lsn: Lsn, offset: u64 },
    /// The end of the bytes to read, exactly at a record boundary.
    End,
    /// The record at `offset` is torn or garbled.
    Invalid { offset: u64, reason: &'static str },
}

/// Reads records sequentially from `[0, end)` of a segment, through a
/// window so that small records do not cost one read call each.
pub(super) struct SegmentReader<'a> {
    file: &'a dyn VfsFile,
    path: &'a Path,
    end: u64,
    pos: u64,
    window: Vec<u8>,
    window_at: u64,
    payload: (usize, usize),
}

impl<'a> SegmentReader<'a> {
    pub(super) fn new(file: &'a dyn VfsFile, path: &'a Path, end: u64) -> Self {
        SegmentReader {
            file,
            path,
            end,
            pos: 0,
            window: Vec::new(),
            window_at: 0,
            payload: (0, 0),
        }
    }

    /// The sealed payload of the record last returned by [`Self::next`].
    pub(super) fn payload(&self) -> &[u8] {
        &self.window[self.payload.0..self.payload.1]
    }

    /// Makes `[at, at + n)` (within `end`) available in the window and
    /// returns its start index there.
    fn fill(&mut self, at: u64, n: usize) -> StorageResult<usize> {
        let window_end = self.window_at + self.window.len() as u64;
        if at >= self.window_at && at + n as u64 <= window_end {
            // In range of a usize: the window is in memory.
            return Ok((at - self.window_at) as usize);
        }
        let left = usize::try_from(self.end - at).unwrap_or(usize::MAX);
        let want = n.max(READ_WINDOW.min(left));
        self.window.resize(want, 0);
        self.window_at = at;
        self.file
            .read_exact_at(&mut self.window, at)
            .map_err(|e| StorageError::io("read WAL segment", self.path, e))?;
        Ok(0)
    }

    pub(super) fn next(&mut self) -> StorageResult<Step> {
        let offset = self.pos;
        let remaining = self.end - offset;
        if remaining == 0 {
            return Ok(Step::End);
        }
        let invalid = |reason| Ok(Step::Invalid { offset, reason });
        if remaining < HEADER_LEN as u64 {
            return invalid("truncated record header");
        }
        let at = self.fill(offset, HEADER_LEN)?;
        let mut raw = [0u8; HEADER_LEN];
        raw.copy_from_slice(&self.window[at..at + HEADER_LEN]);
        let header = Header::parse(&raw);
        if header.len > MAX_RECORD_LEN {
            return invalid("record length out of range");
        }
        if header.len as u64 > remaining - HEADER_LEN as u64 {
            return invalid("record extends past the end of the segment");
        }
        let start = self.fill(offset + HEADER_LEN as u64, header.len)?;
        let range = (start, start + header.len);
        if record::checksum(header.lsn, &self.window[range.0..range.1]) != header.crc {
            return invalid("checksum mismatch");
        }
        self.payload = range;
        self.pos = offset + (HEADER_LEN + header.len) as u64;
        Ok(Step::Record {
            lsn: header.lsn,
            offset,
        })
    }
}

/// What [`scan`] found in a segment.
#[derive(Debug)]
pub(super) struct Scan {
    /// One past the last valid record's LSN.
    pub(super) end_lsn: Lsn,
    /// Bytes of valid records from the start of the file.
    pub(super) valid_len: u64,
    /// Where the valid records stop before the end of the file, and why.
    pub(super) invalid: Option<(u64, &'static str)>,
}

/// Validates the framing of every record of a segment of `len` bytes whose
/// name says it starts at `first_lsn`.
///
/// # Errors
/// I/O errors; [`StorageError::Corrupt`] when a record with a valid CRC has
/// an LSN out of sequence — a torn write cannot produce that.
pub(super) fn scan(
    file: &dyn VfsFile,
    path: &Path,
    first_lsn: Lsn,
    len: u64,
) -> StorageResult<Scan> {
    let mut reader = SegmentReader::new(file, path, len);
    let mut expected = first_lsn;
    let mut valid_len = 0;
    loop {
        match reader.next()? {
            Step::Record { lsn, offset } => {
                check_sequence(path, offset, lsn, expected)?;
                expected = next_lsn(expected)?;
                valid_len = reader.pos;
            }
            Step::End => {
                return Ok(Scan {
                    end_lsn: expected,
                    valid_len,
                    invalid: None,
                });
            }
            Step::Invalid { offset, reason } => {
                return Ok(Scan {
                    end_lsn: expected,
                    valid_len,
                    invalid: Some((offset, reason)),
                });
            }
        }
    }
}

pub(super) fn check_sequence(
    path: &Path,
    offset: u64,
    lsn: Lsn,
    expected: Lsn,
) -> StorageResult<()> {
    if lsn == expected {
        Ok(())
    } else {
        Err(StorageError::Corrupt(format!(
            "WAL segment {} has LSN {lsn} at offset {offset}, expected {expected}",
            path.display()
        )))
    }
}

pub(super) fn next_lsn(lsn: Lsn) -> StorageResult<Lsn> {
    lsn.checked_add(1)
        .ok_or_else(|| StorageError::Corrupt("WAL sequence numbers exhausted".into()))
}
