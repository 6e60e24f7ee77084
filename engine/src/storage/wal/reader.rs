//! Replay: reading the log back in LSN order for recovery.

use crate::storage::codec;
use crate::storage::error::{StorageError, StorageResult};

use super::segment::{self, SegmentReader, Step};
use super::{Lsn, Wal};

impl Wal {
    /// Calls `f(lsn, payload)` for every record with `lsn > after`, in
    /// order, decrypting payloads when the log is encrypted.
    ///
    /// `after` is the checkpoint LSN: every record after it must still be in
    /// the log. Records are read again and re-verified rather than trusted
    /// from [`Wal::open`]'s scan.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] when records after `after` are missing, a
    /// record fails verification or decryption (wrong key, tampering), or a
    /// segment changed since open; I/O errors; any error of `f`, which stops
    /// the replay.
    pub fn replay(
        &self,
        after: Lsn,
        mut f: impl FnMut(Lsn, Vec<u8>) -> StorageResult<()>,
    ) -> StorageResult<()> {
        let first_available = self.segments.first().map_or(self.next_lsn, |s| s.first_lsn);
        if after.saturating_add(1) < first_available {
            return Err(StorageError::Corrupt(format!(
                "the WAL starts at LSN {first_available}, but recovery needs every record after LSN {after}"
            )));
        }
        let cipher = self.cipher.as_deref();
        let last = self.segments.len().saturating_sub(1);
        for (i, meta) in self.segments.iter().enumerate() {
            if meta.end_lsn <= after.saturating_add(1) {
                continue;
            }
            let reopened;
            let file = match self.current.as_deref() {
                Some(current) if i == last => current,
                _ => {
                    reopened = self
                        .vfs
                        .open(&meta.path, false)
                        .map_err(|e| StorageError::io("open WAL segment", &meta.path, e))?;
                    &*reopened
                }
            };
            let changed = |what: String| {
                StorageError::Corrupt(format!(
                    "WAL segment {} changed since it was opened: {what}",
                    meta.path.display()
                ))
            };
            let mut reader = SegmentReader::new(file, &meta.path, meta.len);
            let mut expected = meta.first_lsn;
            loop {
                match reader.next()? {
                    Step::Record { lsn, offset } => {
                        segment::check_sequence(&meta.path, offset, lsn, expected)?;
                        expected = segment::next_lsn(expected)?;
                        if lsn > after {
                            let payload =
                                codec::open_record_owned(cipher, lsn, reader.payload().to_vec())?;
                            f(lsn, payload)?;
                        }
                    }
                    Step::End if expected == meta.end_lsn => break,
                    Step::End => {
                        return Err(changed(format!("it ends before LSN {}", meta.end_lsn)));
                    }
                    Step::Invalid { offset, reason } => {
                        return Err(changed(format!("{reason} at offset {offset}")));
                    }
                }
            }
        }
        Ok(())
    }
}
