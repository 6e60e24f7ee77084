//! Checkpoints and the double-write file.
//!
//! A checkpoint makes the page file equal to the in-memory state as of one
//! LSN, so the WAL before that LSN can go. Pages are written in place, and a
//! crash in the middle of an 8 KiB write can leave a page half old, half new
//! (a torn page) that no checksum can repair. So every checkpoint first writes
//! all its pages, already sealed, to the double-write file and fsyncs it; only
//! then are they written to their places. At open, a complete double-write
//! file (its trailing CRC covers every byte) is copied back over the page
//! file; an incomplete one means the crash came before any in-place write and
//! is discarded. Either way the page file is a whole checkpoint, never a mix.
//!
//! File layout: a 32-byte header (magic, page count, checkpoint LSN), then
//! per page its id (u64) and its sealed 8 KiB, then a CRC-32 of everything
//! before it and an end magic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::codec::{self, Cipher};
use super::error::{StorageError, StorageResult};
use super::io::{Vfs, VfsFile};
use super::page::{PAGE_SIZE, PageId};
use super::wal::Lsn;

const DW_MAGIC: &[u8; 8] = b"RDBDWB01";
const DW_END: &[u8; 8] = b"RDBDWEND";
const HEADER_LEN: u64 = 32;
const ENTRY_LEN: u64 = 8 + PAGE_SIZE as u64;
const TRAILER_LEN: u64 = 12;
/// Pages per write call: large sequential writes, bounded memory.
const WRITE_CHUNK_PAGES: usize = 128;

/// One dirty page captured by a checkpoint: id, version in the pool, bytes.
pub(crate) type SnapshotPage = (PageId, u64, Box<[u8]>);

/// The double-write file.
#[derive(Debug)]
pub(crate) struct DoubleWrite {
    file: Box<dyn VfsFile>,
    path: PathBuf,
}

impl DoubleWrite {
    pub fn open(vfs: &dyn Vfs, path: &Path) -> StorageResult<DoubleWrite> {
        let file = vfs
            .open(path, true)
            .map_err(|e| StorageError::io("open", path, e))?;
        Ok(DoubleWrite {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Copies a complete double-write batch back into the page file and
    /// empties the file. Returns how many pages were restored.
    pub fn recover(&self, data: &dyn VfsFile, data_path: &Path) -> StorageResult<usize> {
        let len = self.len()?;
        if len == 0 {
            return Ok(0);
        }
        let restored = match self.validate(len)? {
            Some(count) => {
                let mut page = vec![0u8; PAGE_SIZE];
                let mut id_buf = [0u8; 8];
                for i in 0..count {
                    let at = HEADER_LEN + i * ENTRY_LEN;
                    self.read(&mut id_buf, at)?;
                    self.read(&mut page, at + 8)?;
                    let id = u64::from_le_bytes(id_buf);
                    data.write_all_at(&page, id * PAGE_SIZE as u64)
                        .map_err(|e| StorageError::io("write", data_path, e))?;
                }
                data.sync()
                    .map_err(|e| StorageError::io("fsync", data_path, e))?;
                count as usize
            }
            None => 0,
        };
        self.clear()?;
        Ok(restored)
    }

    /// Returns the page count of a complete batch, `None` for a torn one.
    fn validate(&self, len: u64) -> StorageResult<Option<u64>> {
        if len < HEADER_LEN + TRAILER_LEN {
            return Ok(None);
        }
        let mut header = [0u8; HEADER_LEN as usize];
        self.read(&mut header, 0)?;
        if &header[..8] != DW_MAGIC {
            return Ok(None);
        }
        let count = u64::from_le_bytes(header[8..16].try_into().unwrap_or_default());
        let expected = count
            .checked_mul(ENTRY_LEN)
            .and_then(|b| b.checked_add(HEADER_LEN + TRAILER_LEN));
        if expected != Some(len) {
            return Ok(None);
        }
        let mut crc = crc32fast::Hasher::new();
        let body = len - TRAILER_LEN;
        let mut buf = vec![0u8; 1 << 20];
        let mut at = 0;
        while at < body {
            let n = (body - at).min(buf.len() as u64) as usize;
            self.read(&mut buf[..n], at)?;
            crc.update(&buf[..n]);
            at += n as u64;
        }
        let mut trailer = [0u8; TRAILER_LEN as usize];
        self.read(&mut trailer, body)?;
        let stored = u32::from_le_bytes(trailer[..4].try_into().unwrap_or_default());
        Ok((stored == crc.finalize() && &trailer[4..] == DW_END).then_some(count))
    }

    /// Writes the sealed pages to the double-write file and fsyncs it.
    fn write(&self, pages: &[(PageId, &[u8])], lsn: Lsn) -> StorageResult<()> {
        let mut crc = crc32fast::Hasher::new();
        let mut header = [0u8; HEADER_LEN as usize];
        header[..8].copy_from_slice(DW_MAGIC);
        header[8..16].copy_from_slice(&(pages.len() as u64).to_le_bytes());
        header[16..24].copy_from_slice(&lsn.to_le_bytes());
        crc.update(&header);
        self.write_at(&header, 0)?;
        let mut at = HEADER_LEN;
        let mut buf = Vec::with_capacity(WRITE_CHUNK_PAGES * ENTRY_LEN as usize);
        for chunk in pages.chunks(WRITE_CHUNK_PAGES) {
            buf.clear();
            for (id, bytes) in chunk {
                buf.extend_from_slice(&id.to_le_bytes());
                buf.extend_from_slice(bytes);
            }
            crc.update(&buf);
            self.write_at(&buf, at)?;
            at += buf.len() as u64;
        }
        let mut trailer = [0u8; TRAILER_LEN as usize];
        trailer[..4].copy_from_slice(&crc.finalize().to_le_bytes());
        trailer[4..].copy_from_slice(DW_END);
        self.write_at(&trailer, at)?;
        self.file
            .sync()
            .map_err(|e| StorageError::io("fsync", &self.path, e))
    }

    fn clear(&self) -> StorageResult<()> {
        self.file
            .set_len(0)
            .map_err(|e| StorageError::io("truncate", &self.path, e))?;
        self.file
            .sync()
            .map_err(|e| StorageError::io("fsync", &self.path, e))
    }

    fn len(&self) -> StorageResult<u64> {
        self.file
            .len()
            .map_err(|e| StorageError::io("stat", &self.path, e))
    }

    fn read(&self, buf: &mut [u8], at: u64) -> StorageResult<()> {
        self.file
            .read_exact_at(buf, at)
            .map_err(|e| StorageError::io("read", &self.path, e))
    }

    fn write_at(&self, buf: &[u8], at: u64) -> StorageResult<()> {
        self.file
            .write_all_at(buf, at)
            .map_err(|e| StorageError::io("write", &self.path, e))
    }
}

/// Writes a snapshot of dirty pages durably: seal, double-write, write in
/// place, fsync, empty the double-write file. Returns the (id, version) pairs
/// written, for the pool to mark clean.
pub(crate) fn write_snapshot(
    dw: &DoubleWrite,
    data: &dyn VfsFile,
    data_path: &Path,
    cipher: Option<&Arc<Cipher>>,
    mut snapshot: Vec<SnapshotPage>,
    lsn: Lsn,
) -> StorageResult<Vec<(PageId, u64)>> {
    // Sorted by id, the in-place writes sweep the file once.
    snapshot.sort_unstable_by_key(|(id, _, _)| *id);
    for (id, _, bytes) in &mut snapshot {
        codec::seal_page(cipher.map(Arc::as_ref), *id, bytes)?;
    }
    let sealed: Vec<(PageId, &[u8])> = snapshot
        .iter()
        .map(|(id, _, bytes)| (*id, &bytes[..]))
        .collect();
    dw.write(&sealed, lsn)?;
    for (id, bytes) in &sealed {
        data.write_all_at(bytes, id * PAGE_SIZE as u64)
            .map_err(|e| StorageError::io("write", data_path, e))?;
    }
    data.sync()
        .map_err(|e| StorageError::io("fsync", data_path, e))?;
    dw.clear()?;
    Ok(snapshot.iter().map(|(id, v, _)| (*id, *v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::io::OsVfs;

    fn page(fill: u8) -> Box<[u8]> {
        vec![fill; PAGE_SIZE].into_boxed_slice()
    }

    #[test]
    fn a_complete_batch_is_restored_and_a_torn_one_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let vfs = OsVfs;
        let data_path = dir.path().join("data");
        let data = vfs.open(&data_path, true).unwrap();
        let dw = DoubleWrite::open(&vfs, &dir.path().join("dw")).unwrap();

        let pages: Vec<(PageId, &[u8])> = vec![(0, &[1u8; PAGE_SIZE][..]), (3, &[2u8; PAGE_SIZE])];
        dw.write(&pages, 7).unwrap();
        assert_eq!(dw.recover(&*data, &data_path).unwrap(), 2);
        let mut buf = vec![0u8; PAGE_SIZE];
        data.read_exact_at(&mut buf, 3 * PAGE_SIZE as u64).unwrap();
        assert!(buf.iter().all(|&b| b == 2));
        assert_eq!(dw.len().unwrap(), 0, "recovery empties the file");

        // A batch cut anywhere is not applied.
        let p = page(9);
        dw.write(&[(5, &p[..])], 8).unwrap();
        let full = dw.len().unwrap();
        for cut in [1, HEADER_LEN, HEADER_LEN + 100, full - 1] {
            dw.write(&[(5, &p[..])], 8).unwrap();
            dw.file.set_len(cut).unwrap();
            assert_eq!(dw.recover(&*data, &data_path).unwrap(), 0);
        }
        assert_eq!(data.len().unwrap(), 4 * PAGE_SIZE as u64);
    }

    #[test]
    fn a_flipped_byte_voids_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let vfs = OsVfs;
        let data_path = dir.path().join("data");
        let data = vfs.open(&data_path, true).unwrap();
        let dw = DoubleWrite::open(&vfs, &dir.path().join("dw")).unwrap();
        let p = page(4);
        dw.write(&[(1, &p[..])], 1).unwrap();
        dw.file.write_all_at(&[0xff], 100).unwrap();
        assert_eq!(dw.recover(&*data, &data_path).unwrap(), 0);
        assert_eq!(data.len().unwrap(), 0);
    }
}
