//! Errors of the storage layer.
//!
//! Every failure below the SQL layer is one of these variants. They say what
//! went wrong in storage terms; [`crate::Error`] maps them to SQLSTATEs.

use std::io;
use std::path::PathBuf;

use super::page::PageId;

/// A storage-layer result.
pub type StorageResult<T> = Result<T, StorageError>;

/// What can go wrong in the storage engine.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An operating-system I/O call failed.
    #[error("I/O error during {op} on {path}: {source}")]
    Io {
        /// What the engine was doing (`"write"`, `"fsync"`, …).
        op: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A page failed its checksum or authentication tag: the file is damaged,
    /// was written by something else, or was tampered with.
    #[error("page {page} is corrupted: {reason}")]
    CorruptPage {
        /// The page that failed verification.
        page: PageId,
        /// Which check failed.
        reason: &'static str,
    },
    /// A structure other than a single page (WAL, double-write file, file
    /// header, B+tree invariants) is inconsistent.
    #[error("data corruption: {0}")]
    Corrupt(String),
    /// The encryption key does not open this database, or a key is missing
    /// or was supplied for an unencrypted database.
    #[error("encryption key error: {0}")]
    Key(String),
    /// An earlier write or fsync failed. The engine stops rather than risk
    /// acknowledging data it cannot prove durable; reopening runs recovery.
    #[error(
        "storage is stopped after an earlier I/O failure ({0}); reopen the database to recover"
    )]
    Poisoned(String),
    /// A key longer than [`super::page::MAX_KEY_LEN`] bytes.
    #[error("key of {len} bytes exceeds the maximum of {max} bytes")]
    KeyTooLarge {
        /// The offending length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A value longer than [`super::page::MAX_VALUE_LEN`] bytes.
    #[error("value of {len} bytes exceeds the maximum of {max} bytes")]
    ValueTooLarge {
        /// The offending length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Every buffer-pool frame is pinned or dirty. The store answers this by
    /// checkpointing, so callers above the store never see it.
    #[error("buffer pool exhausted: every frame is pinned or dirty")]
    BufferPoolFull,
    /// No tree of that name or id.
    #[error("no such tree: {0}")]
    NoSuchTree(String),
    /// A tree of that name exists already.
    #[error("tree already exists: {0}")]
    TreeExists(String),
    /// Another store (in this or another process) has the directory open.
    #[error("the data directory {0} is in use by another process")]
    InUse(PathBuf),
    /// A configuration value is out of range.
    #[error("invalid storage option: {0}")]
    InvalidOption(String),
}

impl StorageError {
    /// Wraps an [`io::Error`] with what was being done to which file.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
