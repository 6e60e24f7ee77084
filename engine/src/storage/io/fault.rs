//! A file system that fails on cue.
//!
//! Fail-stop code is only trustworthy if every failure point has been hit.
//! [`FaultyVfs`] wraps another [`Vfs`] and counts each `write_at` and each
//! sync (file `sync` and `sync_dir` alike) across all files it opened; a
//! [`FaultPlan`] makes the Nth of either fail. The intended use is
//! exhaustive: run a workload once without faults to learn how many writes
//! and syncs it performs, then rerun it failing each one in turn.
//!
//! Only the chosen call fails; later calls succeed again. That is on purpose:
//! a real disk that returned EIO once may well accept the next write, and it
//! is the engine's job, not the file system's, to stop after the first
//! failure instead of carrying on as if nothing happened.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::{LockGuard, Vfs, VfsFile};

/// `EIO` on Linux.
const EIO: i32 = 5;
/// `ENOSPC` on Linux.
const ENOSPC: i32 = 28;

/// Which operation of a [`FaultyVfs`] fails, and how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Fail the Nth `write_at` (1-based, counted across all files).
    pub fail_write: Option<u64>,
    /// Fail the Nth file `sync` or `sync_dir` (1-based, across all files).
    pub fail_sync: Option<u64>,
    /// Before failing, the chosen write stores the first half of its bytes.
    pub short_write: bool,
    /// Fail with `ENOSPC` instead of `EIO`.
    pub enospc: bool,
}

impl FaultPlan {
    fn error(&self) -> io::Error {
        io::Error::from_raw_os_error(if self.enospc { ENOSPC } else { EIO })
    }
}

#[derive(Debug, Default)]
struct Counters {
    plan: Mutex<FaultPlan>,
    writes: AtomicU64,
    syncs: AtomicU64,
}

impl Counters {
    /// Counts one sync and says whether it is the one to fail.
    fn sync_fault(&self) -> Option<io::Error> {
        let n = self.syncs.fetch_add(1, Ordering::AcqRel) + 1;
        let plan = *self.plan.lock();
        (plan.fail_sync == Some(n)).then(|| plan.error())
    }
}

/// A [`Vfs`] that injects the failures of its [`FaultPlan`]. Clones share
/// the plan and the counters.
#[derive(Debug, Clone)]
pub struct FaultyVfs {
    inner: Arc<dyn Vfs>,
    counters: Arc<Counters>,
}

impl FaultyVfs {
    /// Wraps `inner`, injecting the faults of `plan`.
    pub fn new(inner: Arc<dyn Vfs>, plan: FaultPlan) -> FaultyVfs {
        FaultyVfs {
            inner,
            counters: Arc::new(Counters {
                plan: Mutex::new(plan),
                ..Counters::default()
            }),
        }
    }

    /// Replaces the plan; the counters keep running.
    pub fn set_plan(&self, plan: FaultPlan) {
        *self.counters.plan.lock() = plan;
    }

    /// The current plan.
    pub fn plan(&self) -> FaultPlan {
        *self.counters.plan.lock()
    }

    /// `write_at` calls so far, failed ones included.
    pub fn writes(&self) -> u64 {
        self.counters.writes.load(Ordering::Acquire)
    }

    /// File syncs and directory syncs so far, failed ones included.
    pub fn syncs(&self) -> u64 {
        self.counters.syncs.load(Ordering::Acquire)
    }
}

impl Vfs for FaultyVfs {
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn VfsFile>> {
        Ok(Box::new(FaultyFile {
            inner: self.inner.open(path, create)?,
            counters: Arc::clone(&self.counters),
        }))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }

    fn lock_exclusive(&self, path: &Path) -> io::Result<LockGuard> {
        self.inner.lock_exclusive(path)
    }

    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        self.inner.list(dir)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        match self.counters.sync_fault() {
            Some(e) => Err(e),
            None => self.inner.sync_dir(dir),
        }
    }
}

#[derive(Debug)]
struct FaultyFile {
    inner: Box<dyn VfsFile>,
    counters: Arc<Counters>,
}

impl VfsFile for FaultyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        let n = self.counters.writes.fetch_add(1, Ordering::AcqRel) + 1;
        let plan = *self.counters.plan.lock();
        if plan.fail_write != Some(n) {
            return self.inner.write_at(buf, offset);
        }
        if plan.short_write {
            // The error reports the fault; whether the half landed is exactly
            // what the caller cannot know, so a failure here is not surfaced.
            let _ = self.inner.write_all_at(&buf[..buf.len() / 2], offset);
        }
        Err(plan.error())
    }

    fn sync(&self) -> io::Result<()> {
        match self.counters.sync_fault() {
            Some(e) => Err(e),
            None => self.inner.sync(),
        }
    }

    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::io::SimVfs;

    fn setup(plan: FaultPlan) -> (SimVfs, FaultyVfs, Box<dyn VfsFile>) {
        let sim = SimVfs::new();
        assert!(sim.create_dir_all(Path::new("/db")).is_ok());
        let vfs = FaultyVfs::new(Arc::new(sim.clone()), plan);
        let Ok(file) = vfs.open(Path::new("/db/a"), true) else {
            panic!("open failed");
        };
        (sim, vfs, file)
    }

    fn read_all(file: &dyn VfsFile) -> Vec<u8> {
        let len = file.len().unwrap_or(0);
        let mut buf = vec![0u8; len as usize];
        assert!(file.read_exact_at(&mut buf, 0).is_ok());
        buf
    }

    #[test]
    fn no_plan_no_faults_and_everything_is_counted() {
        let (_sim, vfs, file) = setup(FaultPlan::default());
        let Ok(other) = vfs.open(Path::new("/db/b"), true) else {
            panic!("open failed");
        };
        for i in 0..5u8 {
            assert!(file.write_all_at(&[i; 10], u64::from(i) * 10).is_ok());
            assert!(other.write_all_at(&[i], 0).is_ok());
        }
        assert!(file.sync().is_ok());
        assert!(vfs.sync_dir(Path::new("/db")).is_ok());
        assert_eq!((vfs.writes(), vfs.syncs()), (10, 2));
        assert_eq!(read_all(&*file).len(), 50);
        assert!(vfs.exists(Path::new("/db/b")));
        assert_eq!(vfs.list(Path::new("/db")).map(|l| l.len()).ok(), Some(2));
        assert!(vfs.remove(Path::new("/db/b")).is_ok());
    }

    #[test]
    fn only_the_nth_write_fails_with_eio() {
        let plan = FaultPlan {
            fail_write: Some(2),
            ..FaultPlan::default()
        };
        let (_sim, vfs, file) = setup(plan);
        assert!(file.write_all_at(b"aaaa", 0).is_ok());
        let err = file.write_all_at(b"bbbb", 4).err();
        assert_eq!(err.and_then(|e| e.raw_os_error()), Some(EIO));
        assert!(file.write_all_at(b"cccc", 8).is_ok());
        assert_eq!(read_all(&*file), b"aaaa\0\0\0\0cccc");
        assert_eq!(vfs.writes(), 3);
    }

    #[test]
    fn short_write_stores_half_then_fails_with_enospc() {
        let plan = FaultPlan {
            fail_write: Some(1),
            short_write: true,
            enospc: true,
            ..FaultPlan::default()
        };
        let (_sim, _vfs, file) = setup(plan);
        let err = file.write_all_at(b"12345678", 0).err();
        assert_eq!(err.and_then(|e| e.raw_os_error()), Some(ENOSPC));
        assert_eq!(read_all(&*file), b"1234");
    }

    #[test]
    fn the_nth_sync_fails_whether_file_or_directory() {
        for n in 1..=3 {
            let plan = FaultPlan {
                fail_sync: Some(n),
                ..FaultPlan::default()
            };
            let (_sim, vfs, file) = setup(plan);
            let results = [
                file.sync().is_ok(),
                vfs.sync_dir(Path::new("/db")).is_ok(),
                file.sync().is_ok(),
            ];
            for (i, ok) in results.into_iter().enumerate() {
                assert_eq!(ok, i as u64 + 1 != n, "sync {} with plan {n}", i + 1);
            }
            assert_eq!(vfs.syncs(), 3);
        }
    }

    #[test]
    fn a_failed_sync_leaves_the_data_undurable() {
        let lost = (0..20).any(|seed| {
            let plan = FaultPlan {
                fail_sync: Some(2),
                ..FaultPlan::default()
            };
            let (sim, vfs, file) = setup(plan);
            assert!(vfs.sync_dir(Path::new("/db")).is_ok());
            assert!(file.write_all_at(&[9; 512], 0).is_ok());
            assert!(file.sync().is_err());
            drop(file);
            sim.crash(seed);
            sim.open(Path::new("/db/a"), false)
                .and_then(|f| f.len())
                .ok()
                == Some(0)
        });
        assert!(lost, "an unsynced write must be losable");
    }

    #[test]
    fn set_plan_applies_to_later_calls_and_clones_share_counters() {
        let (_sim, vfs, file) = setup(FaultPlan::default());
        assert!(file.write_all_at(b"a", 0).is_ok());
        let clone = vfs.clone();
        clone.set_plan(FaultPlan {
            fail_write: Some(2),
            ..FaultPlan::default()
        });
        assert_eq!(vfs.plan().fail_write, Some(2));
        assert!(file.write_all_at(b"b", 1).is_err());
        assert_eq!(clone.writes(), 2);
    }
}
