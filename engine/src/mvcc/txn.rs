//! [`Transaction`]: reads through a snapshot, writes kept in memory until
//! commit, row locks, savepoints.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::db::Shared;
use super::error::TxnError;
use super::key;
use super::lock::{LockMode, WaitLimits};
use super::scan::TxnScan;
use super::serializable::ReadSet;
use super::vacuum;
use crate::storage::page::MAX_KEY_LEN;
use crate::storage::wal::Lsn;
use crate::storage::{Direction, STAMP_LEN, StorageError, WriteBatch};

/// How much of other transactions' work a transaction sees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum IsolationLevel {
    /// Each statement sees what was committed before it began.
    #[default]
    ReadCommitted,
    /// The whole transaction sees what was committed before its first
    /// statement (snapshot isolation): lost updates are prevented, write
    /// skew is not.
    RepeatableRead,
    /// REPEATABLE READ whose commit also fails if anything it read changed
    /// since its snapshot (`serializable.rs`): write skew is prevented.
    Serializable,
}

/// How a transaction is started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxnOptions {
    /// The isolation level.
    pub isolation: IsolationLevel,
    /// Refuse writes and row locks (`SET TRANSACTION READ ONLY`).
    pub read_only: bool,
    /// How long one lock wait may last (`lock_timeout`); `None` waits until
    /// the lock is free, a deadlock is found or the cancel flag is set.
    pub lock_timeout: Option<Duration>,
}

/// What [`Transaction::lock_row`] found of the row it locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowVersion {
    /// Nobody changed the row since the statement's snapshot.
    Unchanged,
    /// Under READ COMMITTED, the version a transaction committed since the
    /// snapshot (`None`: it deleted the row).
    Changed(Option<Vec<u8>>),
}

/// A key and its write-set entry before a write (`None`: it had none).
type Undo = (Vec<u8>, Option<Pending>);

/// A pending write of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    /// The row, or `None` for a delete.
    pub(crate) row: Option<Vec<u8>>,
    /// No version of the key is stored at all: committing it needs no
    /// look at older versions to vacuum, and a delete of it writes nothing.
    /// Kept here rather than with the key's lock, since a key only this
    /// transaction can know (see [`Transaction::insert_fresh`]) has none.
    fresh: bool,
}

/// What a transaction knows of a key it holds the lock on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Locked in shared mode only (`lock_shared`): a write must upgrade.
    Shared,
    /// Locked only.
    Locked,
    /// The REPEATABLE READ check passed for it.
    Checked,
}

/// One transaction. Nothing it writes reaches the store before
/// [`Transaction::commit`]; dropping it unfinished rolls it back.
pub struct Transaction {
    shared: Arc<Shared>,
    id: u64,
    opts: TxnOptions,
    snapshot: Lsn,
    statement_begun: bool,
    /// Pending writes.
    writes: BTreeMap<Vec<u8>, Pending>,
    /// Previous write-set entries, recorded only while a savepoint is open.
    undo: Vec<Undo>,
    /// Open savepoints and the undo length at their creation.
    savepoints: Vec<(String, usize)>,
    /// Locks held, each with what this transaction learnt of the key under
    /// it: no one else can commit the key until we end.
    held: HashMap<Vec<u8>, Held, foldhash::fast::RandomState>,
    /// Key prefixes known to be seeded on this store (see
    /// [`Transaction::seed_fresh`]), so a row's insert asks no shared map.
    seeded: Vec<Vec<u8>>,
    cancel: Option<Arc<AtomicBool>>,
    /// What a SERIALIZABLE transaction read; `None` at other levels.
    reads: Option<ReadSet>,
    ended: bool,
}

impl Transaction {
    pub(crate) fn new(shared: Arc<Shared>, id: u64, opts: TxnOptions) -> Transaction {
        let snapshot = shared.snapshots.take(id, &shared.store);
        Transaction {
            shared,
            id,
            opts,
            snapshot,
            statement_begun: false,
            writes: BTreeMap::new(),
            undo: Vec::new(),
            savepoints: Vec::new(),
            held: HashMap::default(),
            seeded: Vec::new(),
            cancel: None,
            reads: (opts.isolation == IsolationLevel::Serializable).then(ReadSet::default),
            ended: false,
        }
    }

    /// The transaction's id, unique within its [`super::Mvcc`].
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The isolation level.
    pub fn isolation(&self) -> IsolationLevel {
        self.opts.isolation
    }

    /// The current snapshot: versions committed at or before it are seen.
    pub fn snapshot(&self) -> Lsn {
        self.snapshot
    }

    /// Marks the start of a statement: a new snapshot under READ COMMITTED,
    /// the transaction's one snapshot under REPEATABLE READ if this is its
    /// first statement.
    pub fn begin_statement(&mut self) {
        if self.opts.isolation == IsolationLevel::ReadCommitted || !self.statement_begun {
            self.snapshot = self.shared.snapshots.take(self.id, &self.shared.store);
        }
        self.statement_begun = true;
    }

    /// Sets the flag that, once true, ends this transaction's lock waits
    /// with [`TxnError::Canceled`] (a client's cancel request).
    pub fn set_cancel(&mut self, flag: Arc<AtomicBool>) {
        self.cancel = Some(flag);
    }

    /// How long each lock wait from now on may last (`lock_timeout`).
    pub fn set_lock_timeout(&mut self, timeout: Option<Duration>) {
        self.opts.lock_timeout = timeout;
    }

    /// The value of `key` as this transaction sees it: its own write if
    /// any, else the newest version in its snapshot.
    ///
    /// # Errors
    /// Storage errors.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, TxnError> {
        if let Some(write) = self.writes.get(key) {
            return Ok(write.row.clone());
        }
        if let Some(reads) = &mut self.reads {
            reads.read_key(key);
        }
        Ok(self
            .shared
            .version_at(key, self.snapshot)?
            .and_then(|(_, row)| row))
    }

    /// Keys and values between the bounds as this transaction sees them, in
    /// `dir` order, streamed. An empty or inverted range yields nothing.
    pub fn scan(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        dir: Direction,
    ) -> TxnScan<'_> {
        if let Some(reads) = &mut self.reads {
            reads.read_range(&lower, &upper);
        }
        TxnScan::new(&self.shared, self.snapshot, &self.writes, lower, upper, dir)
    }

    /// Sets `key` to `value`, locking it first.
    ///
    /// # Errors
    /// `ReadOnly`; lock errors (`Deadlock`, `Canceled`, `LockTimeout`);
    /// `SerializationFailure` under REPEATABLE READ if a transaction this
    /// one cannot see committed the key; a storage error for a key too long.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), TxnError> {
        self.lock_for_update(key)?;
        self.record(key, Some(value.to_vec()), false);
        Ok(())
    }

    /// Adds `key`, which must not exist: neither visible to this
    /// transaction nor committed by another since its snapshot.
    ///
    /// # Errors
    /// `KeyExists`; otherwise as [`Transaction::put`].
    pub fn insert(&mut self, key: &[u8], value: &[u8]) -> Result<(), TxnError> {
        self.take_lock(key, false)?;
        let fresh = match self.writes.get(key) {
            Some(Pending { row: Some(_), .. }) => return Err(TxnError::KeyExists),
            // Deleted by this transaction, which locked and checked it then.
            Some(Pending { row: None, .. }) => false,
            None => {
                let fresh = match self.shared.version_at(key, Lsn::MAX)? {
                    Some((_, Some(_))) => return Err(TxnError::KeyExists),
                    Some((lsn, None)) => {
                        self.check_not_updated_since_snapshot(lsn)?;
                        false
                    }
                    None => true,
                };
                if let Some(h) = self.held.get_mut(key) {
                    *h = Held::Checked;
                }
                fresh
            }
        };
        self.record(key, Some(value.to_vec()), fresh);
        Ok(())
    }

    /// Adds `key`, a name no other transaction can know until this one
    /// commits and of which no version is stored — a hidden row id drawn
    /// from a process-wide counter that [`Transaction::seed_fresh`] pushed
    /// past every stored id — without taking its lock or looking at the
    /// store: no one else can write or lock a row they cannot see, and no
    /// other transaction draws the same id.
    ///
    /// Locking it was a fifth of a trigger's INSERT into a table without a
    /// primary key (an audit log), and its release an eighth of the commit;
    /// the look for stored versions that replaced the lock was a tenth of
    /// what the trigger added.
    ///
    /// # Errors
    /// `ReadOnly`; a storage error for a key too long.
    pub fn insert_fresh(&mut self, key: &[u8], value: Vec<u8>) -> Result<(), TxnError> {
        self.check_writable(key)?;
        debug_assert!(
            !self.writes.contains_key(key)
                && matches!(self.shared.version_at(key, Lsn::MAX), Ok(None)),
            "a fresh key is neither written nor stored"
        );
        self.record(key, Some(value), true);
        Ok(())
    }

    /// Runs `seed` with the greatest key starting with `prefix` of which any
    /// version is stored (live, deleted, or committed by a transaction this
    /// one cannot see), unless it already ran to success for `prefix` on
    /// this store since it was opened. A caller that draws keys under
    /// `prefix` from a counter `seed` pushes past that key draws keys no
    /// version of is stored: the store holds no key under the prefix above
    /// it, and every key added since came from the counter. That is what
    /// [`Transaction::insert_fresh`] relies on, whatever the clock did.
    ///
    /// Concurrent first calls may each run `seed`; it must only ever push
    /// the counter up.
    ///
    /// # Errors
    /// Storage errors, and whatever `seed` returns.
    pub fn seed_fresh<E: From<TxnError>>(
        &mut self,
        prefix: &[u8],
        seed: impl FnOnce(Option<&[u8]>) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.seeded.iter().any(|p| p == prefix) {
            return Ok(());
        }
        if !self.shared.seeded.lock().contains(prefix) {
            let last = self.shared.last_stored_key(prefix)?;
            seed(last.as_deref())?;
            // Only once the counter is past `last`: a caller that finds
            // the prefix marked draws without seeding.
            self.shared.seeded.lock().insert(prefix.to_vec());
        }
        self.seeded.push(prefix.to_vec());
        Ok(())
    }

    /// Deletes `key` if it is live, locking it either way. Returns whether
    /// it was.
    ///
    /// Holding the lock, the newest committed version is the one a write
    /// acts on: under REPEATABLE READ it is the snapshot's (anything newer
    /// failed the lock), under READ COMMITTED it may be newer — a row a
    /// foreign key's CASCADE found committed since the statement began.
    ///
    /// # Errors
    /// As [`Transaction::put`].
    pub fn delete(&mut self, key: &[u8]) -> Result<bool, TxnError> {
        self.lock_for_update(key)?;
        let live = self.latest_committed(key)?.is_some();
        if live {
            self.record(key, None, false);
        }
        Ok(live)
    }

    /// Locks `key` as a write would (`SELECT … FOR UPDATE`, or a name such
    /// as a unique-index value), without writing it.
    ///
    /// # Errors
    /// As [`Transaction::put`].
    pub fn lock(&mut self, key: &[u8]) -> Result<(), TxnError> {
        self.lock_for_update(key)
    }

    /// Takes a shared lock on `key` (`SELECT … FOR SHARE`, a foreign key
    /// holding its referenced row), and returns the row the lock protects:
    /// the newest committed one under READ COMMITTED, the snapshot's at
    /// REPEATABLE READ and above, where a version newer than the snapshot
    /// fails instead. Writers of the key wait until this transaction ends;
    /// other shared lockers do not. With `nowait`, a lock held in
    /// exclusive mode fails at once.
    ///
    /// # Errors
    /// `LockNotAvailable` (with `nowait`); otherwise as [`Transaction::put`].
    pub fn lock_shared(&mut self, key: &[u8], nowait: bool) -> Result<Option<Vec<u8>>, TxnError> {
        self.check_writable(key)?;
        if !self.held.contains_key(key) {
            let limits = self.wait_limits(nowait);
            self.shared
                .locks
                .acquire_mode(self.id, key, LockMode::Shared, limits)?;
            self.held.insert(key.to_vec(), Held::Shared);
        }
        self.get_current(key)
    }

    /// Locks a row a statement found in its snapshot before the statement
    /// changes it or returns it locked (UPDATE, DELETE, `SELECT … FOR
    /// UPDATE | FOR SHARE`), and says whether a transaction that committed
    /// after the snapshot changed it meanwhile. Under READ COMMITTED the
    /// statement then goes on with that newer version, as PostgreSQL does;
    /// at REPEATABLE READ and above a newer version fails instead
    /// (first-updater-wins). With `nowait`, a lock another transaction
    /// holds fails at once.
    ///
    /// # Errors
    /// `LockNotAvailable` (with `nowait`); `SerializationFailure`;
    /// otherwise as [`Transaction::put`].
    pub fn lock_row(
        &mut self,
        key: &[u8],
        mode: LockMode,
        nowait: bool,
    ) -> Result<RowVersion, TxnError> {
        if self.writes.contains_key(key) {
            // This transaction wrote the row, so it holds it exclusively
            // and its own version is the newest.
            return Ok(RowVersion::Unchanged);
        }
        match mode {
            LockMode::Exclusive => self.lock_exclusive(key, nowait)?,
            LockMode::Shared => {
                self.lock_shared(key, nowait)?;
            }
        }
        if self.opts.isolation != IsolationLevel::ReadCommitted {
            return Ok(RowVersion::Unchanged);
        }
        Ok(match self.shared.version_at(key, Lsn::MAX)? {
            Some((lsn, row)) if lsn > self.snapshot => RowVersion::Changed(row),
            _ => RowVersion::Unchanged,
        })
    }

    /// What a constraint check must see of `key`, as
    /// [`Transaction::scan_current`] does for a range.
    ///
    /// # Errors
    /// As [`Transaction::scan_current`].
    pub fn get_current(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, TxnError> {
        if self.opts.isolation == IsolationLevel::ReadCommitted {
            return self.latest_committed(key);
        }
        if !self.writes.contains_key(key)
            && let Some((lsn, _)) = self.shared.version_at(key, Lsn::MAX)?
        {
            self.check_not_updated_since_snapshot(lsn)?;
        }
        self.get(key)
    }

    /// The rows of a range as a constraint check must see them (the rows
    /// referencing a parent being deleted): under READ COMMITTED what is
    /// committed now, even after the statement's snapshot; at REPEATABLE
    /// READ and above the snapshot's, failing if anything in the range was
    /// committed since, as PostgreSQL's foreign-key checks do.
    ///
    /// # Errors
    /// `SerializationFailure`; storage errors.
    pub fn scan_current(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        dir: Direction,
    ) -> Result<TxnScan<'_>, TxnError> {
        if self.opts.isolation == IsolationLevel::ReadCommitted {
            return Ok(TxnScan::new(
                &self.shared,
                Lsn::MAX,
                &self.writes,
                lower,
                upper,
                dir,
            ));
        }
        if super::serializable::changed_since(&self.shared, &lower, &upper, self.snapshot)? {
            return Err(TxnError::SerializationFailure);
        }
        Ok(self.scan(lower, upper, dir))
    }

    /// The newest version of `key`: this transaction's own write if any,
    /// else the newest committed one, visible or not. After locking a row
    /// under READ COMMITTED, the SQL layer re-checks its WHERE clause on
    /// this, as PostgreSQL's EvalPlanQual does.
    ///
    /// # Errors
    /// Storage errors.
    pub fn latest_committed(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, TxnError> {
        if let Some(write) = self.writes.get(key) {
            return Ok(write.row.clone());
        }
        Ok(self
            .shared
            .version_at(key, Lsn::MAX)?
            .and_then(|(_, row)| row))
    }

    /// Opens a savepoint. A name may repeat; the latest one is then the one
    /// named.
    pub fn savepoint(&mut self, name: &str) {
        self.savepoints.push((name.to_owned(), self.undo.len()));
    }

    /// Undoes the writes made since savepoint `name`, which stays open;
    /// later savepoints close. Locks taken since are kept until the
    /// transaction ends.
    ///
    /// # Errors
    /// `NoSuchSavepoint`.
    pub fn rollback_to(&mut self, name: &str) -> Result<(), TxnError> {
        let at = self.find_savepoint(name)?;
        let mark = self.savepoints.get(at).map_or(0, |(_, mark)| *mark);
        while self.undo.len() > mark {
            let Some((key, previous)) = self.undo.pop() else {
                break;
            };
            match previous {
                Some(write) => self.writes.insert(key, write),
                None => self.writes.remove(&key),
            };
        }
        self.savepoints.truncate(at + 1);
        Ok(())
    }

    /// Closes savepoint `name` and every later one, keeping their writes.
    ///
    /// # Errors
    /// `NoSuchSavepoint`.
    pub fn release(&mut self, name: &str) -> Result<(), TxnError> {
        let at = self.find_savepoint(name)?;
        self.savepoints.truncate(at);
        if self.savepoints.is_empty() {
            self.undo.clear();
        }
        Ok(())
    }

    /// Writes everything out as one atomic, durable batch and releases the
    /// locks. Returns the commit's LSN, or the snapshot if nothing was
    /// written.
    ///
    /// # Errors
    /// Storage errors; under SERIALIZABLE, `ReadWriteConflict` if a
    /// transaction committed since the snapshot wrote what this one read.
    /// The transaction is then rolled back.
    pub fn commit(mut self) -> Result<Lsn, TxnError> {
        let result = match self.reads.take() {
            Some(reads) => {
                let shared = Arc::clone(&self.shared);
                let _serial = shared.serializable_commit.lock();
                reads
                    .validate(&shared, self.snapshot)
                    .and_then(|()| self.write_out())
            }
            None => self.write_out(),
        };
        self.end();
        result
    }

    /// Discards the writes and releases the locks.
    pub fn rollback(mut self) {
        self.end();
    }

    fn write_out(&mut self) -> Result<Lsn, TxnError> {
        if self.writes.is_empty() {
            return Ok(self.snapshot);
        }
        let shared = &self.shared;
        let horizon = shared.snapshots.horizon(&shared.store);
        let mut batch = WriteBatch::with_capacity(self.writes.len());
        // Committing ends the transaction, so its rows become the stored
        // values in place instead of being copied.
        for (key, Pending { row, fresh }) in std::mem::take(&mut self.writes) {
            if fresh {
                if let Some(row) = row {
                    batch.put_stamped(
                        shared.tree,
                        key::escape(&key),
                        key::into_stored_value(Some(row)),
                    );
                }
                continue;
            }
            let versions = vacuum::version_list(shared.versions(&key))?;
            let obsolete = vacuum::obsolete(&versions, horizon);
            for &lsn in &obsolete {
                batch.delete(shared.tree, key::version_key(&key, lsn));
            }
            // A tombstone over nothing anyone can see would only be
            // vacuumed later.
            if row.is_some() || obsolete.len() < versions.len() {
                batch.put_stamped(shared.tree, key::escape(&key), key::into_stored_value(row));
            }
        }
        if batch.is_empty() {
            return Ok(self.snapshot);
        }
        Ok(shared.store.commit(batch)?)
    }

    fn end(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.writes.clear();
        self.undo.clear();
        self.shared.locks.release(self.id, self.held.keys());
        self.held.clear();
        self.shared.snapshots.end(self.id);
    }

    fn find_savepoint(&self, name: &str) -> Result<usize, TxnError> {
        self.savepoints
            .iter()
            .rposition(|(n, _)| n == name)
            .ok_or_else(|| TxnError::NoSuchSavepoint(name.to_owned()))
    }

    /// Enters a write of `key`; `fresh` if no version of it is stored. A
    /// key once fresh stays so for the transaction.
    fn record(&mut self, key: &[u8], row: Option<Vec<u8>>, fresh: bool) {
        let previous = match self.writes.get_mut(key) {
            Some(write) => {
                let fresh = fresh || write.fresh;
                Some(std::mem::replace(write, Pending { row, fresh }))
            }
            None => {
                self.writes.insert(key.to_vec(), Pending { row, fresh });
                None
            }
        };
        if !self.savepoints.is_empty() {
            self.undo.push((key.to_vec(), previous));
        }
    }

    /// Takes the lock for a write: refuses in a read-only transaction or for
    /// a key too long to store, waits for the lock, and applies
    /// first-updater-wins under REPEATABLE READ.
    fn lock_for_update(&mut self, key: &[u8]) -> Result<(), TxnError> {
        self.lock_exclusive(key, false)
    }

    /// [`Transaction::lock_for_update`], failing at once with `nowait`
    /// instead of waiting for another holder.
    fn lock_exclusive(&mut self, key: &[u8], nowait: bool) -> Result<(), TxnError> {
        self.take_lock(key, nowait)?;
        let checked = matches!(self.held.get(key), Some(Held::Checked));
        if checked || self.opts.isolation == IsolationLevel::ReadCommitted {
            return Ok(());
        }
        if let Some((lsn, _)) = self.shared.version_at(key, Lsn::MAX)? {
            self.check_not_updated_since_snapshot(lsn)?;
        }
        if let Some(h) = self.held.get_mut(key) {
            *h = Held::Checked;
        }
        Ok(())
    }

    /// Refuses a write in a read-only transaction or of a key too long to
    /// store.
    fn check_writable(&self, key: &[u8]) -> Result<(), TxnError> {
        if self.opts.read_only {
            return Err(TxnError::ReadOnly);
        }
        let stored_len = key::escaped_len(key) + STAMP_LEN;
        if stored_len > MAX_KEY_LEN {
            return Err(StorageError::KeyTooLarge {
                len: stored_len,
                max: MAX_KEY_LEN,
            }
            .into());
        }
        Ok(())
    }

    fn take_lock(&mut self, key: &[u8], nowait: bool) -> Result<(), TxnError> {
        self.check_writable(key)?;
        if self.held.get(key).is_some_and(|h| *h != Held::Shared) {
            return Ok(());
        }
        let limits = self.wait_limits(nowait);
        self.shared.locks.acquire(self.id, key, limits)?;
        self.held.insert(key.to_vec(), Held::Locked);
        Ok(())
    }

    fn wait_limits(&self, nowait: bool) -> WaitLimits<'_> {
        WaitLimits {
            cancel: self.cancel.as_deref(),
            deadline: self.opts.lock_timeout.map(|t| Instant::now() + t),
            nowait,
        }
    }

    fn check_not_updated_since_snapshot(&self, newest: Lsn) -> Result<(), TxnError> {
        if self.opts.isolation != IsolationLevel::ReadCommitted && newest > self.snapshot {
            return Err(TxnError::SerializationFailure);
        }
        Ok(())
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        self.end();
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("id", &self.id)
            .field("opts", &self.opts)
            .field("snapshot", &self.snapshot)
            .field("writes", &self.writes.len())
            .finish_non_exhaustive()
    }
}
