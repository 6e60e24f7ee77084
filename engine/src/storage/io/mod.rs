//! The file-system seam.
//!
//! All file I/O of the engine goes through [`Vfs`] and [`VfsFile`]. The real
//! implementation is [`OsVfs`]; tests swap in [`SimVfs`], which models an OS
//! page cache that loses (or tears) unsynced writes on a simulated power cut,
//! and [`FaultyVfs`], which fails the Nth write or fsync, optionally after a
//! short write. Errors here are plain [`std::io::Error`]s: the storage layer
//! adds what it was doing and to which file.

mod fault;
mod os;
mod sim;

use std::io;
use std::path::{Path, PathBuf};

pub use fault::{FaultPlan, FaultyVfs};
pub use os::OsVfs;
pub use sim::SimVfs;

/// A file system: opening, listing and removing files.
pub trait Vfs: Send + Sync + std::fmt::Debug {
    /// Opens `path` for reading and writing, creating it when `create` is set.
    ///
    /// # Errors
    /// `NotFound` when absent and `create` is false; any OS error.
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn VfsFile>>;

    /// Removes a file.
    ///
    /// # Errors
    /// `NotFound` when absent; any OS error.
    fn remove(&self, path: &Path) -> io::Result<()>;

    /// Renames `from` to `to`, replacing `to` atomically. Durable after
    /// [`Vfs::sync_dir`] of the parent.
    ///
    /// # Errors
    /// Any OS error.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Whether a file or directory exists at `path`.
    fn exists(&self, path: &Path) -> bool;

    /// The files directly inside `dir` (full paths), in no particular order.
    ///
    /// # Errors
    /// Any OS error.
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;

    /// Creates `dir` and its parents.
    ///
    /// # Errors
    /// Any OS error.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;

    /// Takes an exclusive lock on `path` (created if absent) that lasts until
    /// the returned guard is dropped, so two stores never share a directory.
    ///
    /// # Errors
    /// `WouldBlock` when another holder has it; any OS error.
    fn lock_exclusive(&self, path: &Path) -> io::Result<LockGuard>;

    /// Makes creations and removals of entries in `dir` durable.
    ///
    /// # Errors
    /// Any OS error. A failure is fatal to the caller, like a failed fsync.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// Holds a [`Vfs::lock_exclusive`] lock until dropped.
pub type LockGuard = Box<dyn std::any::Any + Send + Sync>;

/// An open file with positional I/O. Implementations are shared across
/// threads; positional calls need no seek state.
// `len` is a file length, an I/O call that can fail; an `is_empty` beside it
// would only invite a second syscall.
#[allow(clippy::len_without_is_empty)]
pub trait VfsFile: Send + Sync + std::fmt::Debug {
    /// Reads up to `buf.len()` bytes at `offset`; fewer at end of file.
    ///
    /// # Errors
    /// Any OS error.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Writes up to `buf.len()` bytes at `offset`, extending the file.
    ///
    /// # Errors
    /// Any OS error (`ENOSPC` included).
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize>;

    /// Makes all written data durable.
    ///
    /// # Errors
    /// Any OS error. After a failed fsync the state of the written data is
    /// unknown: callers must stop, never retry (see `StorageError::Poisoned`).
    fn sync(&self) -> io::Result<()>;

    /// Current length in bytes.
    ///
    /// # Errors
    /// Any OS error.
    fn len(&self) -> io::Result<u64>;

    /// Truncates or extends the file.
    ///
    /// # Errors
    /// Any OS error.
    fn set_len(&self, len: u64) -> io::Result<()>;

    /// Fills `buf` from `offset`, failing with `UnexpectedEof` when the file
    /// ends first.
    ///
    /// # Errors
    /// Any OS error, or `UnexpectedEof`.
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes all of `buf` at `offset`.
    ///
    /// # Errors
    /// Any OS error; `WriteZero` when the file accepts no more bytes.
    fn write_all_at(&self, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write_at(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
