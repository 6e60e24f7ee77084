//! The write-ahead log.
//!
//! Every committed [`WriteBatch`](super::WriteBatch) becomes one record,
//! identified by a log sequence number. LSNs start at 1 and are contiguous,
//! so "every record after the checkpoint" is a complete, checkable notion:
//! a missing record is detected, never skipped.
//!
//! The log is a directory of segment files, each named after the LSN of its
//! first record. The store appends a whole commit group with one
//! [`Wal::append`] (one write call) and makes it durable with one
//! [`Wal::sync`]. A checkpoint [`Wal::rotate`]s, writes its pages, and then
//! [`Wal::remove_upto`]s its LSN: deleting old segments needs no reads
//! because names carry LSNs.
//!
//! Each record is framed by its length, a CRC and its LSN; with encryption the payload is sealed by
//! [`codec::seal_record`](super::codec::seal_record) with the LSN as
//! associated data. At open the log distinguishes two kinds of damage:
//!
//! * An invalid record in the **last** segment is a torn tail: a crash
//!   interrupted an append that had not been synced, hence not
//!   acknowledged. The log ends there; the garbage is truncated away.
//! * An invalid record in an **earlier** segment cannot come from a crash,
//!   because a segment is fsynced before the next one is created. It is
//!   corruption, and the open fails rather than lose acknowledged commits.
//!
//! A failed write or fsync leaves the file in an unknown state, so the log
//! does not retry: it reports the error and refuses further changes with
//! [`StorageError::Poisoned`](super::StorageError::Poisoned); reopening
//! rescans the files and recovers from what is really there.

mod reader;
mod record;
mod segment;
mod writer;

pub use record::MAX_RECORD_LEN;
pub use writer::Wal;

/// A log sequence number.
pub type Lsn = u64;

/// Tuning of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// A new segment is started before an append once the current one holds
    /// at least this many bytes (a commit group is never split, so segments
    /// can exceed it by one group).
    pub segment_bytes: u64,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: 64 << 20,
        }
    }
}

#[cfg(test)]
mod tests;
