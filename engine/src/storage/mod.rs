//! The storage engine: a durable, ordered key-value store.
//!
//! A [`Store`] is a directory holding one page file (`data.rdb`), a
//! double-write file (`data.dwb`) and a write-ahead log (`wal/`). Inside the
//! page file live any number of named B+trees; keys and values are bytes,
//! ordered by `memcmp`. Higher layers encode rows and index entries into such
//! keys (see [`crate::types::keycode`]).
//!
//! # The life of a commit
//!
//! 1. The caller builds a [`WriteBatch`] (puts, deletes, tree creation) and
//!    hands it to [`Store::commit`].
//! 2. The batch joins the group-commit queue. The first committer to find no
//!    flush under way becomes the leader: it takes every queued batch, gives
//!    each an LSN, appends them to the WAL as checksummed records in one write
//!    and fsyncs once for the whole group — which is why four concurrent
//!    writers pay for about one fsync, not four.
//! 3. Only then does the leader apply the batches, in LSN order, to the
//!    B+trees in the buffer pool. Readers therefore never see data that a
//!    crash could take back, and no reader sees half a batch.
//! 4. Pages changed since the last checkpoint stay in memory ("no steal").
//!    A checkpoint — in the background every few seconds, or when the WAL or
//!    the dirty set grows — copies the dirty pages, writes them first to the
//!    double-write file (fsync), then to their places in the page file
//!    (fsync), and then drops WAL segments it no longer needs. A crash during
//!    the page writes leaves a complete copy in the double-write file, which
//!    recovery writes back: that is the torn-page protection.
//! 5. Recovery at open restores the double-write file if it is complete, then
//!    replays every WAL record after the checkpoint's LSN. Replay is logical
//!    (put/delete of keys) and every operation is idempotent, so it is correct
//!    from any state between two checkpoints. The log ends at the first record
//!    whose checksum fails: that is the tail a crash tore, never acknowledged.
//!
//! Any failed write or fsync on these paths stops the store
//! ([`StorageError::Poisoned`]): after a failed fsync the kernel may have
//! dropped the dirty data, so retrying could acknowledge a lie. Reopening
//! recovers from what is really on disk.

pub mod btree;
pub mod buffer;
pub mod codec;
pub mod error;
pub mod io;
pub mod page;
pub mod wal;

mod batch;
mod checkpoint;
mod commit;
mod directory;
mod pages;
mod state;
mod store;

pub use batch::{BatchOp, STAMP_LEN, TreeId, WriteBatch, stamp_lsn, version_stamp};
pub use buffer::{EvictionKind, PoolStats};
pub use codec::Cipher;
pub use error::{StorageError, StorageResult};
pub use store::{Direction, IntegrityReport, ScanIter, Store, StoreOptions, StoreStats};
