//! An in-memory file system that loses power on demand.
//!
//! Crash-safety claims are only as good as the crashes they were tested
//! against, and a real power cut is both rare and too kind: on a developer's
//! machine the page cache usually gets flushed anyway. [`SimVfs`] keeps, for
//! every file, the bytes that are durable (as of its last `sync`) and the
//! list of writes and length changes made since. [`SimVfs::crash`] then plays
//! the disk controller at its worst: each unsynced operation independently
//! reaches the platter whole, not at all, or torn — only some of its 512-byte
//! sectors written, either a prefix or an arbitrary pattern. The outcome is a
//! pure function of the seed, so a failing crash test replays exactly.
//!
//! Names obey the same rule one level up. Creating or removing a file changes
//! only the live directory; the change becomes durable when the parent
//! directory is synced ([`Vfs::sync_dir`]). So a file that was fsynced but
//! whose directory never was can vanish in a crash, and a removed one can
//! come back. Directories themselves are durable as soon as they are created:
//! the engine creates its directories once, at store creation, and modelling
//! their loss would test nothing it does.
//!
//! A crash invalidates every file handle opened before it — the process that
//! held them is gone. Using one afterwards fails with an error rather than
//! reading or writing the post-crash state through a dead handle. Callers
//! drop the store before crashing and reopen it on the same (cloned)
//! [`SimVfs`], whose state is shared.
//!
//! [`SimVfs::set_disk_limit`] caps the total size of all files; a write or
//! extension past it fails with `ENOSPC` and changes nothing. A single file
//! cannot grow past 4 GiB (`EFBIG`): it all lives in memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{LockGuard, Vfs, VfsFile};

/// Granularity at which a crash may tear a write.
const SECTOR: u64 = 512;
/// `ENOSPC` on Linux.
const ENOSPC: i32 = 28;
/// `EFBIG` on Linux.
const EFBIG: i32 = 27;
/// Largest simulated file. Files live in memory, so an absurd offset must
/// fail like an over-large file rather than abort on a failed allocation.
const MAX_FILE: usize = 1 << 32;

/// A simulated file system with power-loss semantics; clones share state.
#[derive(Debug, Clone, Default)]
pub struct SimVfs {
    state: Arc<Mutex<SimState>>,
}

#[derive(Debug, Default)]
struct SimState {
    /// Ordered so that a crash visits files in a seed-independent order.
    inodes: BTreeMap<u64, Inode>,
    next_inode: u64,
    names: HashMap<PathBuf, u64>,
    durable_names: HashMap<PathBuf, u64>,
    dirs: HashSet<PathBuf>,
    /// Bumped by every crash; handles from an older generation are dead.
    generation: u64,
    disk_limit: Option<u64>,
    /// Sum of the current lengths of all inodes.
    used: u64,
    /// Paths held by `lock_exclusive`.
    locks: HashSet<PathBuf>,
}

#[derive(Debug, Default)]
struct Inode {
    durable: Vec<u8>,
    current: Vec<u8>,
    pending: Vec<Pending>,
    handles: usize,
}

#[derive(Debug)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

/// splitmix64: tiny, good enough to pick crash outcomes, and keeps `rand`
/// out of the engine's runtime dependencies.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

fn write_into(bytes: &mut Vec<u8>, offset: u64, data: &[u8]) {
    // Offsets were bounds-checked against usize when the write was accepted.
    let start = offset as usize;
    let end = start + data.len();
    if bytes.len() < end {
        bytes.resize(end, 0);
    }
    bytes[start..end].copy_from_slice(data);
}

fn end_of(offset: u64, len: usize) -> io::Result<usize> {
    usize::try_from(offset)
        .ok()
        .and_then(|o| o.checked_add(len))
        .filter(|&end| end <= MAX_FILE)
        .ok_or_else(|| io::Error::from_raw_os_error(EFBIG))
}

/// Applies `op` to `bytes` as a crash decided by `rng` would leave it.
fn replay_torn(bytes: &mut Vec<u8>, op: &Pending, rng: &mut SplitMix) {
    match (op, rng.below(3)) {
        (_, 0) => {}
        (Pending::SetLen(len), _) => bytes.resize(*len as usize, 0),
        (Pending::Write { offset, data }, 1) => write_into(bytes, *offset, data),
        (Pending::Write { offset, data }, _) => {
            let mut pieces = Vec::new();
            let mut at = 0usize;
            while at < data.len() {
                let pos = *offset + at as u64;
                let room = (SECTOR - pos % SECTOR) as usize;
                let end = (at + room).min(data.len());
                pieces.push((pos, &data[at..end]));
                at = end;
            }
            let prefix = rng.below(2) == 0;
            let keep = rng.below(pieces.len() as u64) as usize;
            for (i, (pos, piece)) in pieces.into_iter().enumerate() {
                let applied = if prefix { i < keep } else { rng.below(2) == 0 };
                if applied {
                    write_into(bytes, pos, piece);
                }
            }
        }
    }
}

impl SimState {
    fn parent_exists(&self, path: &Path) -> bool {
        match path.parent() {
            None => true,
            Some(p) if p.as_os_str().is_empty() || p.parent().is_none() => true,
            Some(p) => self.dirs.contains(p),
        }
    }

    /// Drops an inode nobody can reach any more: no name, live or durable,
    /// and no open handle.
    fn collect(&mut self, id: u64) {
        let unreachable = self.inodes.get(&id).is_some_and(|i| i.handles == 0)
            && !self.names.values().any(|&n| n == id)
            && !self.durable_names.values().any(|&n| n == id);
        if unreachable && let Some(inode) = self.inodes.remove(&id) {
            self.used -= inode.current.len() as u64;
        }
    }

    fn reserve(&mut self, old_len: usize, new_len: usize) -> io::Result<()> {
        let grow = new_len.saturating_sub(old_len) as u64;
        if let Some(limit) = self.disk_limit
            && self.used + grow > limit
        {
            return Err(io::Error::from_raw_os_error(ENOSPC));
        }
        self.used = self.used + grow - old_len.saturating_sub(new_len) as u64;
        Ok(())
    }
}

impl SimVfs {
    /// An empty file system.
    pub fn new() -> SimVfs {
        SimVfs::default()
    }

    /// Simulates a power cut: every file reverts to its durable bytes plus a
    /// seed-determined selection of its unsynced operations, each applied
    /// whole, skipped, or torn at sector granularity; names revert to the
    /// last `sync_dir` of their directory. Handles opened before are dead.
    pub fn crash(&self, seed: u64) {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        let mut rng = SplitMix(seed);
        state.generation += 1;
        state.locks.clear();
        state.names = state.durable_names.clone();
        let live: HashSet<u64> = state.names.values().copied().collect();
        state.inodes.retain(|id, _| live.contains(id));
        for inode in state.inodes.values_mut() {
            for op in std::mem::take(&mut inode.pending) {
                replay_torn(&mut inode.durable, &op, &mut rng);
            }
            inode.current = inode.durable.clone();
            inode.handles = 0;
        }
        state.used = state.inodes.values().map(|i| i.current.len() as u64).sum();
    }

    /// Caps the total bytes of all files (`None`: unlimited). Lowering the
    /// cap below current usage only makes further growth fail.
    pub fn set_disk_limit(&self, limit: Option<u64>) {
        self.state.lock().disk_limit = limit;
    }

    /// Total current length of all files, removed-but-reachable ones included.
    pub fn used_bytes(&self) -> u64 {
        self.state.lock().used
    }
}

impl Vfs for SimVfs {
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn VfsFile>> {
        let mut state = self.state.lock();
        if state.dirs.contains(path) {
            return Err(io::ErrorKind::IsADirectory.into());
        }
        let id = match state.names.get(path) {
            Some(&id) => id,
            None if create && state.parent_exists(path) => {
                let id = state.next_inode;
                state.next_inode += 1;
                state.inodes.insert(id, Inode::default());
                state.names.insert(path.to_path_buf(), id);
                id
            }
            None => return Err(io::ErrorKind::NotFound.into()),
        };
        if let Some(inode) = state.inodes.get_mut(&id) {
            inode.handles += 1;
        }
        Ok(Box::new(SimFile {
            state: Arc::clone(&self.state),
            inode: id,
            generation: state.generation,
            path: path.to_path_buf(),
        }))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        let id = state
            .names
            .remove(path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        state.collect(id);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        if !state.parent_exists(to) || state.dirs.contains(to) {
            return Err(io::ErrorKind::NotFound.into());
        }
        let id = state
            .names
            .remove(from)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        // Like the name changes of create and remove, a rename is durable
        // only once its directory is synced.
        if let Some(old) = state.names.insert(to.to_path_buf(), id)
            && old != id
        {
            state.collect(old);
        }
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        let state = self.state.lock();
        state.names.contains_key(path) || state.dirs.contains(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let state = self.state.lock();
        if !state.dirs.contains(dir) {
            return Err(io::ErrorKind::NotFound.into());
        }
        Ok(state
            .names
            .keys()
            .chain(state.dirs.iter())
            .filter(|p| p.parent() == Some(dir))
            .cloned()
            .collect())
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        for ancestor in dir.ancestors() {
            if state.names.contains_key(ancestor) {
                return Err(io::ErrorKind::NotADirectory.into());
            }
        }
        for ancestor in dir.ancestors() {
            if !ancestor.as_os_str().is_empty() {
                state.dirs.insert(ancestor.to_path_buf());
            }
        }
        Ok(())
    }

    fn lock_exclusive(&self, path: &Path) -> io::Result<LockGuard> {
        let mut state = self.state.lock();
        if !state.locks.insert(path.to_path_buf()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(Box::new(SimLock {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
        }))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        if !state.dirs.contains(dir) {
            return Err(io::ErrorKind::NotFound.into());
        }
        let mut dropped = Vec::new();
        state.durable_names.retain(|path, id| {
            let keep = path.parent() != Some(dir) || state.names.contains_key(path);
            if !keep {
                dropped.push(*id);
            }
            keep
        });
        for (path, &id) in &state.names {
            if path.parent() == Some(dir)
                && let Some(old) = state.durable_names.insert(path.clone(), id)
                && old != id
            {
                dropped.push(old);
            }
        }
        for id in dropped {
            state.collect(id);
        }
        Ok(())
    }
}

/// A held [`SimVfs`] lock; like a kernel lock it does not survive a crash.
#[derive(Debug)]
struct SimLock {
    state: Arc<Mutex<SimState>>,
    path: PathBuf,
}

impl Drop for SimLock {
    fn drop(&mut self) {
        self.state.lock().locks.remove(&self.path);
    }
}

/// A handle on a [`SimVfs`] file, valid until the next crash.
#[derive(Debug)]
struct SimFile {
    state: Arc<Mutex<SimState>>,
    inode: u64,
    generation: u64,
    path: PathBuf,
}

impl SimFile {
    fn with<R>(&self, f: impl FnOnce(&mut SimState, u64) -> io::Result<R>) -> io::Result<R> {
        let mut state = self.state.lock();
        if state.generation != self.generation || !state.inodes.contains_key(&self.inode) {
            return Err(io::Error::other(format!(
                "{}: handle opened before a simulated crash",
                self.path.display()
            )));
        }
        f(&mut state, self.inode)
    }
}

fn inode(state: &mut SimState, id: u64) -> io::Result<&mut Inode> {
    state
        .inodes
        .get_mut(&id)
        .ok_or_else(|| io::Error::other("simulated inode vanished"))
}

impl VfsFile for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.with(|state, id| {
            let bytes = &inode(state, id)?.current;
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let n = buf.len().min(bytes.len() - start);
            buf[..n].copy_from_slice(&bytes[start..start + n]);
            Ok(n)
        })
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.with(|state, id| {
            let end = end_of(offset, buf.len())?;
            let old_len = inode(state, id)?.current.len();
            state.reserve(old_len, old_len.max(end))?;
            let file = inode(state, id)?;
            write_into(&mut file.current, offset, buf);
            file.pending.push(Pending::Write {
                offset,
                data: buf.to_vec(),
            });
            Ok(buf.len())
        })
    }

    fn sync(&self) -> io::Result<()> {
        self.with(|state, id| {
            let file = inode(state, id)?;
            for op in std::mem::take(&mut file.pending) {
                match op {
                    Pending::Write { offset, data } => write_into(&mut file.durable, offset, &data),
                    Pending::SetLen(len) => file.durable.resize(len as usize, 0),
                }
            }
            Ok(())
        })
    }

    fn len(&self) -> io::Result<u64> {
        self.with(|state, id| Ok(inode(state, id)?.current.len() as u64))
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.with(|state, id| {
            let new_len = end_of(len, 0)?;
            let old_len = inode(state, id)?.current.len();
            state.reserve(old_len, new_len)?;
            let file = inode(state, id)?;
            file.current.resize(new_len, 0);
            file.pending.push(Pending::SetLen(len));
            Ok(())
        })
    }
}

impl Drop for SimFile {
    fn drop(&mut self) {
        let mut state = self.state.lock();
        if state.generation != self.generation {
            return;
        }
        if let Some(inode) = state.inodes.get_mut(&self.inode) {
            inode.handles = inode.handles.saturating_sub(1);
        }
        state.collect(self.inode);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(vfs: &SimVfs, path: &str) -> Box<dyn VfsFile> {
        match vfs.open(Path::new(path), true) {
            Ok(f) => f,
            Err(e) => panic!("open {path}: {e}"),
        }
    }

    fn contents(vfs: &SimVfs, path: &str) -> Option<Vec<u8>> {
        let file = vfs.open(Path::new(path), false).ok()?;
        let len = file.len().ok()?;
        let mut buf = vec![0u8; len as usize];
        file.read_exact_at(&mut buf, 0).ok()?;
        Some(buf)
    }

    fn setup() -> SimVfs {
        let vfs = SimVfs::new();
        assert!(vfs.create_dir_all(Path::new("/db/wal")).is_ok());
        vfs
    }

    #[test]
    fn behaves_like_a_file_system() {
        let vfs = setup();
        assert!(vfs.exists(Path::new("/db")) && vfs.exists(Path::new("/db/wal")));
        assert!(vfs.open(Path::new("/db/a"), false).is_err());
        assert!(vfs.open(Path::new("/nodir/a"), true).is_err());
        let f = open(&vfs, "/db/a");
        assert!(f.write_all_at(b"hello", 3).is_ok());
        assert_eq!(
            contents(&vfs, "/db/a").as_deref(),
            Some(&b"\0\0\0hello"[..])
        );
        let mut buf = [0u8; 10];
        assert_eq!(f.read_at(&mut buf, 6).ok(), Some(2));
        assert_eq!(f.read_at(&mut buf, 100).ok(), Some(0));
        assert!(f.set_len(4).is_ok());
        assert_eq!(f.len().ok(), Some(4));
        assert!(matches!(f.write_at(b"x", u64::MAX), Err(e) if e.raw_os_error() == Some(EFBIG)));
        let mut listed = vfs.list(Path::new("/db")).unwrap_or_default();
        listed.sort();
        assert_eq!(listed, [PathBuf::from("/db/a"), PathBuf::from("/db/wal")]);
        assert!(vfs.remove(Path::new("/db/a")).is_ok());
        assert!(!vfs.exists(Path::new("/db/a")));
        assert!(vfs.remove(Path::new("/db/a")).is_err());
        // An unlinked file stays usable through its open handle.
        assert_eq!(f.len().ok(), Some(4));
    }

    #[test]
    fn synced_data_survives_every_crash() {
        let vfs = setup();
        {
            let f = open(&vfs, "/db/a");
            assert!(f.write_all_at(&[7u8; 3000], 0).is_ok());
            assert!(f.sync().is_ok());
        }
        assert!(vfs.sync_dir(Path::new("/db")).is_ok());
        for seed in 0..20 {
            vfs.crash(seed);
            assert_eq!(contents(&vfs, "/db/a"), Some(vec![7u8; 3000]));
        }
    }

    #[test]
    fn unsynced_writes_land_whole_torn_or_not_at_all() {
        let (mut whole, mut torn, mut lost) = (0, 0, 0);
        for seed in 0..200 {
            let vfs = setup();
            let f = open(&vfs, "/db/a");
            assert!(f.write_all_at(&[1u8; 4096], 0).is_ok());
            assert!(f.sync().is_ok());
            assert!(vfs.sync_dir(Path::new("/db")).is_ok());
            assert!(f.write_all_at(&[2u8; 4096], 0).is_ok());
            drop(f);
            vfs.crash(seed);
            let Some(after) = contents(&vfs, "/db/a") else {
                panic!("a dir-synced file must survive");
            };
            assert_eq!(after.len(), 4096);
            // Tearing happens per 512-byte sector, never inside one.
            for sector in after.chunks(512) {
                assert!(sector.iter().all(|&b| b == sector[0]));
            }
            match (after.iter().all(|&b| b == 2), after.iter().all(|&b| b == 1)) {
                (true, _) => whole += 1,
                (_, true) => lost += 1,
                _ => torn += 1,
            }
        }
        assert!(whole > 0 && torn > 0 && lost > 0, "{whole} {torn} {lost}");
    }

    #[test]
    fn crashes_are_deterministic_per_seed() {
        let run = |seed| {
            let vfs = setup();
            let f = open(&vfs, "/db/a");
            assert!(vfs.sync_dir(Path::new("/db")).is_ok());
            for i in 0..50u8 {
                assert!(f.write_all_at(&[i; 700], u64::from(i) * 300).is_ok());
            }
            drop(f);
            vfs.crash(seed);
            contents(&vfs, "/db/a")
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn names_are_durable_only_after_sync_dir() {
        let vfs = setup();
        let f = open(&vfs, "/db/new");
        assert!(f.write_all_at(b"data", 0).is_ok());
        assert!(f.sync().is_ok());
        drop(f);
        vfs.crash(0);
        assert!(
            !vfs.exists(Path::new("/db/new")),
            "creation was never dir-synced"
        );

        drop(open(&vfs, "/db/kept"));
        assert!(vfs.sync_dir(Path::new("/db")).is_ok());
        assert!(vfs.remove(Path::new("/db/kept")).is_ok());
        vfs.crash(0);
        assert!(
            vfs.exists(Path::new("/db/kept")),
            "removal was never dir-synced"
        );

        assert!(vfs.remove(Path::new("/db/kept")).is_ok());
        assert!(vfs.sync_dir(Path::new("/db")).is_ok());
        vfs.crash(0);
        assert!(!vfs.exists(Path::new("/db/kept")));
        // Syncing one directory says nothing about another.
        drop(open(&vfs, "/db/wal/seg1"));
        assert!(vfs.sync_dir(Path::new("/db")).is_ok());
        vfs.crash(0);
        assert!(!vfs.exists(Path::new("/db/wal/seg1")));
        assert!(vfs.sync_dir(Path::new("/missing")).is_err());
    }

    #[test]
    fn length_changes_are_durable_on_sync() {
        let mut seen = HashSet::new();
        for seed in 0..40 {
            let vfs = setup();
            let f = open(&vfs, "/db/a");
            assert!(vfs.sync_dir(Path::new("/db")).is_ok());
            assert!(f.set_len(10_000).is_ok());
            assert!(f.sync().is_ok());
            assert!(f.set_len(100).is_ok());
            drop(f);
            vfs.crash(seed);
            seen.insert(contents(&vfs, "/db/a").map(|c| c.len()));
        }
        let expected: HashSet<_> = [Some(10_000), Some(100)].into();
        assert_eq!(seen, expected);
    }

    #[test]
    fn handles_from_before_a_crash_are_dead() {
        let vfs = setup();
        let f = open(&vfs, "/db/a");
        assert!(vfs.sync_dir(Path::new("/db")).is_ok());
        let reopened_on = vfs.clone();
        vfs.crash(3);
        assert!(f.write_at(b"x", 0).is_err());
        assert!(f.len().is_err());
        assert!(f.sync().is_err());
        drop(f);
        let g = open(&reopened_on, "/db/a");
        assert!(g.write_all_at(b"y", 0).is_ok());
    }

    #[test]
    fn disk_limit_fails_with_enospc_and_changes_nothing() {
        let vfs = setup();
        vfs.set_disk_limit(Some(1000));
        let f = open(&vfs, "/db/a");
        assert!(f.write_all_at(&[1; 800], 0).is_ok());
        let err = f.write_at(&[2; 300], 800).err();
        assert_eq!(err.and_then(|e| e.raw_os_error()), Some(ENOSPC));
        assert!(f.set_len(1001).is_err());
        // Overwrites inside the file need no space.
        assert!(f.write_all_at(&[3; 800], 0).is_ok());
        assert_eq!(vfs.used_bytes(), 800);
        assert!(f.set_len(0).is_ok());
        assert!(f.write_all_at(&[2; 1000], 0).is_ok());
        vfs.set_disk_limit(None);
        assert!(f.write_all_at(&[2; 1000], 1000).is_ok());
        drop(f);
        assert!(vfs.remove(Path::new("/db/a")).is_ok());
        assert_eq!(vfs.used_bytes(), 0);
    }
}
