//! Databases and sessions: the API the wire server and embedders use.
//!
//! A session runs statements in implicit transactions (one per statement)
//! until BEGIN opens a block; an error inside a block makes it *failed*
//! and every statement but ROLLBACK then fails with 25P02, as in
//! PostgreSQL.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use std::collections::HashMap;
use std::path::Path;

use crate::catalog::{CatalogCache, Isolation, KvStore, KvTxn, MvccKv, TxnConfig};
use crate::extension::{DmlHooks, Notice, RoutineInvoker};
use crate::mvcc::{Mvcc, MvccOptions};
use crate::storage::{Store, StoreOptions};
use crate::types::{DataType, Value};

use super::error::{SqlError, SqlResult};
use super::parser::{Statement, parse_sql};
use super::prepared::{Prepared, sql_deallocate, sql_prepare};

/// One result column as a client sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDesc {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: DataType,
}

impl ColumnDesc {
    /// The result columns of a query plan.
    pub(crate) fn of_plan(plan: &super::plan::Plan) -> Vec<ColumnDesc> {
        plan.columns()
            .into_iter()
            .map(|c| ColumnDesc {
                name: c.name,
                ty: c.ty,
            })
            .collect()
    }
}

/// What a statement returns.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementResult {
    /// Rows, with their columns (SELECT, VALUES, ... RETURNING).
    Rows {
        /// Column descriptions.
        columns: Vec<ColumnDesc>,
        /// The rows.
        rows: Vec<Vec<Value>>,
        /// The command tag (`SELECT 3`, `INSERT 0 1`).
        tag: String,
    },
    /// A command tag only, exactly as PostgreSQL writes it.
    Command(String),
    /// `COPY … FROM STDIN`: the rows go to [`Session::copy_in`].
    CopyIn(super::copy::CopyInTarget),
    /// `COPY … TO STDOUT`: the rows to send, in the given format.
    CopyOut {
        /// Column descriptions.
        columns: Vec<ColumnDesc>,
        /// The rows.
        rows: Vec<Vec<Value>>,
        /// The format and its options.
        options: super::copy::CopyOptions,
    },
}

/// Whether the session is in a transaction block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    /// No block open.
    Idle,
    /// Inside BEGIN ... COMMIT.
    InBlock,
    /// Inside a block that had an error.
    Failed,
}

/// How [`Database::open`] opens its store.
#[derive(Debug, Clone, Default)]
pub struct DatabaseOptions {
    /// The storage engine's options (buffer pool, durability, encryption).
    pub store: StoreOptions,
    /// The MVCC layer's options (background vacuum).
    pub mvcc: MvccOptions,
}

/// A database: the store, the shared catalog cache, and the routine host
/// user code runs in, if any. Cheap to clone; the clones share everything,
/// so each thread can hold one and open sessions.
#[derive(Clone)]
pub struct Database {
    pub(crate) kv: Arc<dyn KvStore>,
    pub(crate) catalog: Arc<CatalogCache>,
    /// Runs Wasm routines. The engine does not depend on the Wasm host
    /// (layers call downward); whoever opens the database injects it.
    /// Without one, module and routine statements fail with 0A000.
    pub(crate) invoker: Option<Arc<dyn RoutineInvoker>>,
    /// Row and statement hooks around writes (triggers), injected like
    /// the invoker; without them no trigger DDL runs (0A000).
    pub(crate) hooks: Option<Arc<dyn DmlHooks>>,
    /// Sequence values reserved in the store, shared by the sessions.
    pub(crate) sequence_blocks: Arc<super::sequence::SequenceBlocks>,
}

impl Database {
    /// Opens (creating if needed) the database stored in `dir`.
    ///
    /// # Errors
    /// Storage errors (I/O, a locked directory, corruption, a wrong
    /// encryption key) and errors starting the transaction layer.
    pub fn open(dir: &Path, options: DatabaseOptions) -> crate::Result<Database> {
        let store = Arc::new(Store::open(dir, options.store)?);
        let mvcc = Mvcc::open_with(store, options.mvcc)?;
        Ok(Database::with_store(Arc::new(MvccKv::new(mvcc))))
    }

    /// A database over a transactional store.
    pub fn with_store(kv: Arc<dyn KvStore>) -> Database {
        Database {
            kv,
            catalog: Arc::new(CatalogCache::default()),
            invoker: None,
            hooks: None,
            sequence_blocks: Arc::default(),
        }
    }

    /// The same database, running user routines (`CREATE MODULE`, `CALL`)
    /// through `invoker`.
    #[must_use]
    pub fn with_invoker(mut self, invoker: Arc<dyn RoutineInvoker>) -> Database {
        self.invoker = Some(invoker);
        self
    }

    /// The same database, calling `hooks` around every write (the trigger
    /// machinery).
    #[must_use]
    pub fn with_dml_hooks(mut self, hooks: Arc<dyn DmlHooks>) -> Database {
        self.hooks = Some(hooks);
        self
    }

    /// The routine host, if one was injected.
    pub fn invoker(&self) -> Option<&Arc<dyn RoutineInvoker>> {
        self.invoker.as_ref()
    }

    /// A new session of the bootstrap superuser.
    pub fn session(&self) -> Session {
        self.session_as(crate::catalog::BOOTSTRAP_SUPERUSER)
    }

    /// A new session of `user`, whom the caller has authenticated.
    pub fn session_as(&self, user: &str) -> Session {
        Session {
            user: user.to_owned(),
            session_user: user.to_owned(),
            kv: self.kv.clone(),
            catalog: self.catalog.clone(),
            txn: None,
            status: TransactionStatus::Idle,
            cancel: Arc::new(AtomicBool::new(false)),
            isolation: Isolation::ReadCommitted,
            txn_start: 0,
            savepoints: Vec::new(),
            prepared: HashMap::new(),
            settings: HashMap::new(),
            txn_settings: TxnSettings::default(),
            isolation_name: None,
            block_isolation: Isolation::ReadCommitted,
            block_queried: false,
            block_read_only: false,
            sequence_values: Arc::default(),
            sequence_blocks: self.sequence_blocks.clone(),
            invoker: self.invoker.clone(),
            hooks: self.hooks.clone(),
            notices: Vec::new(),
            call_depth: 0,
            transition_tables: Vec::new(),
        }
    }
}

/// Settings are transactional, as in PostgreSQL: a block's SETs are
/// undone by its ROLLBACK (and a savepoint's by ROLLBACK TO it), and a
/// `SET LOCAL` lasts until the block ends either way.
#[derive(Debug, Clone, Default)]
pub(crate) struct TxnSettings {
    /// The settings as the open block began; `None` outside a block.
    pub(crate) at_begin: Option<HashMap<String, String>>,
    /// For each parameter SET LOCAL in the block (and not SET since):
    /// the value it goes back to when the block ends, `None` for unset.
    pub(crate) local_restore: HashMap<String, Option<String>>,
}

/// A savepoint of the open block, with the settings as it was taken.
#[derive(Debug, Clone)]
pub(crate) struct Savepoint {
    pub(crate) name: String,
    settings: HashMap<String, String>,
    local_restore: HashMap<String, Option<String>>,
}

/// One connection's state.
pub struct Session {
    /// The current user: whose privileges statements run with. The
    /// session's role, except in the nested session of a SECURITY DEFINER
    /// routine, where it is the routine's owner.
    pub(crate) user: String,
    /// The role that connected (`session_user`).
    pub(crate) session_user: String,
    pub(crate) kv: Arc<dyn KvStore>,
    pub(crate) catalog: Arc<CatalogCache>,
    pub(crate) txn: Option<Box<dyn KvTxn>>,
    pub(crate) status: TransactionStatus,
    pub(crate) cancel: Arc<AtomicBool>,
    pub(crate) isolation: Isolation,
    pub(crate) txn_start: i64,
    pub(crate) savepoints: Vec<Savepoint>,
    /// SQL `PREPARE`d statements by name; not transactional, as in
    /// PostgreSQL.
    pub(crate) prepared: HashMap<String, Prepared>,
    /// Run-time parameters set with SET, by lower-case name.
    pub(crate) settings: HashMap<String, String>,
    /// What undoes the open block's SETs (see [`TxnSettings`]).
    pub(crate) txn_settings: TxnSettings,
    /// `SET TRANSACTION ISOLATION LEVEL` of the open block, as SHOW names it.
    pub(crate) isolation_name: Option<&'static str>,
    /// The isolation the open transaction began with.
    pub(crate) block_isolation: Isolation,
    /// Whether a statement has run in the open transaction: its isolation
    /// can no longer change (SET TRANSACTION refuses with 25001).
    pub(crate) block_queried: bool,
    /// Whether the open transaction is READ ONLY.
    pub(crate) block_read_only: bool,
    /// `currval` of each sequence this session took a value from, and
    /// `lastval`'s sequence; not transactional, as in PostgreSQL.
    pub(crate) sequence_values: Arc<parking_lot::Mutex<super::sequence::SessionValues>>,
    /// The database's reserved sequence values.
    pub(crate) sequence_blocks: Arc<super::sequence::SequenceBlocks>,
    /// The routine host (see [`Database::with_invoker`]).
    pub(crate) invoker: Option<Arc<dyn RoutineInvoker>>,
    /// The trigger machinery (see [`Database::with_dml_hooks`]).
    pub(crate) hooks: Option<Arc<dyn DmlHooks>>,
    /// Notices from user code not yet delivered to the client.
    pub(crate) notices: Vec<Notice>,
    /// 0 for a client's session; n for the session guest SQL runs in
    /// during a call nested n deep.
    pub(crate) call_depth: u32,
    /// The transition tables a statement trigger's function reads while
    /// it runs (`REFERENCING NEW TABLE AS name`), as relations by name.
    pub(crate) transition_tables: Vec<(String, super::plan::Plan)>,
}

/// Microseconds since 2000-01-01 UTC, PostgreSQL's epoch.
fn pg_now() -> i64 {
    const PG_EPOCH_UNIX_SECS: i64 = 946_684_800;
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    unix - PG_EPOCH_UNIX_SECS * 1_000_000
}

impl Session {
    /// The transaction status (for ReadyForQuery).
    pub fn status(&self) -> TransactionStatus {
        self.status
    }

    /// A flag that, once set, cancels the running statement (57014).
    pub fn cancel_handle(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// The notices user code sent since the last call (guest `log` calls
    /// and captured stdout/stderr), oldest first. The wire server sends
    /// them as NoticeResponse before the statement's result.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// Runs every statement of `sql` in turn (the simple query protocol),
    /// stopping at the first error.
    pub fn execute(&mut self, sql: &str) -> crate::Result<Vec<StatementResult>> {
        let statements = parse_sql(sql).map_err(crate::Error::from)?;
        let mut results = Vec::with_capacity(statements.len());
        for s in &statements {
            results.push(self.run(s, &[], &[]).map_err(crate::Error::from)?);
        }
        Ok(results)
    }

    pub(crate) fn run(
        &mut self,
        s: &Statement,
        params: &[Value],
        param_types: &[Option<DataType>],
    ) -> SqlResult<StatementResult> {
        // Guest SQL shares its caller's flag and deadline: a cancel of the
        // CALL must reach it, so only a client's statement starts
        // uncancelled, with its own `statement_timeout`.
        if self.call_depth > 0 {
            return self.run_statement(s, params, param_types);
        }
        self.cancel.store(false, Ordering::Relaxed);
        let timeout = super::settings::duration(self, "statement_timeout")
            .and_then(|limit| super::timeout::Armed::arm(limit, self.cancel.clone()));
        match self.run_statement(s, params, param_types) {
            Err(e)
                if e.sqlstate() == crate::SqlState::QUERY_CANCELED
                    && timeout.as_ref().is_some_and(super::timeout::Armed::fired) =>
            {
                Err(SqlError::StatementTimeout)
            }
            result => result,
        }
    }

    fn run_statement(
        &mut self,
        s: &Statement,
        params: &[Value],
        param_types: &[Option<DataType>],
    ) -> SqlResult<StatementResult> {
        crate::types::use_session_zone(self.settings.get("timezone").map(String::as_str));
        if let Some(r) = self.transaction_control(s)? {
            return Ok(r);
        }
        if self.status == TransactionStatus::Failed {
            return Err(SqlError::InFailedTransaction);
        }
        if let Statement::Reset { name } = s {
            return self.or_fail_block(|s| super::settings::reset(s, name.as_deref()));
        }
        if let Statement::Standard(stmt) = s {
            match stmt.as_ref() {
                sqlparser::ast::Statement::Prepare {
                    name,
                    data_types,
                    statement,
                } => return self.or_fail_block(|s| sql_prepare(s, name, data_types, statement)),
                sqlparser::ast::Statement::Deallocate { name, .. } => {
                    return self.or_fail_block(|s| sql_deallocate(s, name));
                }
                sqlparser::ast::Statement::Set(set) => {
                    return self.or_fail_block(|s| super::settings::set(s, set));
                }
                sqlparser::ast::Statement::ShowVariable { variable } => {
                    return self.or_fail_block(|s| super::settings::show(s, variable));
                }
                sqlparser::ast::Statement::Discard { object_type } => {
                    return self.or_fail_block(|s| super::settings::discard(s, *object_type));
                }
                _ => {}
            }
        }
        self.in_statement(|session| super::statement::execute(session, s, params, param_types))
    }

    /// Runs `f`, failing the open block if it fails.
    fn or_fail_block<T>(&mut self, f: impl FnOnce(&mut Session) -> SqlResult<T>) -> SqlResult<T> {
        let r = f(self);
        if r.is_err() {
            self.status_after_error();
        }
        r
    }

    /// Runs `f` as one statement: in the open block, atomically (its
    /// writes undone if it fails, and the block failed), or else in an
    /// implicit transaction of its own.
    pub(crate) fn in_statement<T>(
        &mut self,
        f: impl FnOnce(&mut Session) -> SqlResult<T>,
    ) -> SqlResult<T> {
        let implicit = self.txn.is_none();
        if implicit {
            self.begin_txn(self.isolation);
        } else if let Some(t) = self.txn.as_mut() {
            t.begin_statement();
        }
        let lock_timeout = super::settings::duration(self, "lock_timeout");
        if let Some(t) = self.txn.as_mut() {
            t.set_lock_timeout(lock_timeout);
        }
        self.block_queried = true;
        let result = match self.txn.as_mut() {
            // A statement in a transaction of its own needs no savepoint:
            // failing, it rolls the whole transaction back. Without one the
            // transaction keeps no undo record per write (a million-row
            // INSERT, or a trigger's writes, would keep one each).
            Some(_) if implicit => f(self),
            Some(t) => {
                t.savepoint("\u{0}statement");
                let r = f(self);
                if let Some(t) = self.txn.as_mut() {
                    if r.is_err() {
                        let _ = t.rollback_to("\u{0}statement");
                    }
                    let _ = t.release("\u{0}statement");
                }
                r
            }
            None => Err(SqlError::Internal("no transaction".into())),
        };
        if implicit {
            let txn = self.txn.take();
            match (&result, txn) {
                (Ok(_), Some(t)) => t.commit()?,
                (Err(_), Some(t)) => t.rollback(),
                _ => {}
            }
        } else if result.is_err() {
            self.status = TransactionStatus::Failed;
        }
        result
    }

    fn begin_txn(&mut self, isolation: Isolation) {
        self.begin_txn_with(isolation, false);
    }

    /// Starts the session's transaction, replacing any open one (which
    /// SET TRANSACTION only does before it has run a statement).
    pub(crate) fn begin_txn_with(&mut self, isolation: Isolation, read_only: bool) {
        if let Some(open) = self.txn.take() {
            open.rollback();
        }
        let mut txn = self.kv.begin(TxnConfig {
            isolation,
            read_only,
        });
        self.block_queried = false;
        self.block_read_only = read_only;
        txn.set_cancel(self.cancel.clone());
        self.txn = Some(txn);
        self.txn_start = pg_now();
        self.isolation_name = None;
        self.block_isolation = isolation;
    }

    fn transaction_control(&mut self, s: &Statement) -> SqlResult<Option<StatementResult>> {
        use sqlparser::ast::Statement as A;
        let Statement::Standard(stmt) = s else {
            return Ok(None);
        };
        let tag = |t: &str| Ok(Some(StatementResult::Command(t.to_owned())));
        match stmt.as_ref() {
            A::StartTransaction { modes, .. } => {
                if self.txn.is_some() {
                    // PostgreSQL warns and carries on.
                    return tag("BEGIN");
                }
                let isolation = modes
                    .iter()
                    .find_map(|m| match m {
                        sqlparser::ast::TransactionMode::IsolationLevel(l) => Some(match l {
                            sqlparser::ast::TransactionIsolationLevel::RepeatableRead => {
                                Isolation::RepeatableRead
                            }
                            sqlparser::ast::TransactionIsolationLevel::Serializable
                            | sqlparser::ast::TransactionIsolationLevel::Snapshot => {
                                Isolation::Serializable
                            }
                            _ => Isolation::ReadCommitted,
                        }),
                        _ => None,
                    })
                    .unwrap_or(self.isolation);
                let read_only = modes.iter().any(|m| {
                    matches!(
                        m,
                        sqlparser::ast::TransactionMode::AccessMode(
                            sqlparser::ast::TransactionAccessMode::ReadOnly
                        )
                    )
                });
                self.begin_txn_with(isolation, read_only);
                self.txn_settings = TxnSettings {
                    at_begin: Some(self.settings.clone()),
                    local_restore: HashMap::new(),
                };
                self.isolation_name = modes.iter().find_map(|m| match m {
                    sqlparser::ast::TransactionMode::IsolationLevel(l) => {
                        Some(super::settings::level_name(l))
                    }
                    _ => None,
                });
                self.status = TransactionStatus::InBlock;
                tag("BEGIN")
            }
            A::Commit { .. } => {
                let failed = self.status == TransactionStatus::Failed;
                self.status = TransactionStatus::Idle;
                self.savepoints.clear();
                self.end_block_settings(!failed);
                match self.txn.take() {
                    Some(t) if failed => {
                        t.rollback();
                        tag("ROLLBACK")
                    }
                    Some(t) => {
                        t.commit()?;
                        tag("COMMIT")
                    }
                    None => tag("COMMIT"),
                }
            }
            A::Rollback {
                savepoint: None, ..
            } => {
                if let Some(t) = self.txn.take() {
                    t.rollback();
                }
                self.status = TransactionStatus::Idle;
                self.savepoints.clear();
                self.end_block_settings(false);
                tag("ROLLBACK")
            }
            A::Rollback {
                savepoint: Some(name),
                ..
            } => {
                if self.txn.is_none() {
                    return Err(SqlError::TransactionState {
                        state: crate::SqlState::NO_ACTIVE_SQL_TRANSACTION,
                        message: "ROLLBACK TO SAVEPOINT can only be used in transaction blocks"
                            .into(),
                    });
                }
                let name = super::binder::ident(name);
                let Some(pos) = self.savepoints.iter().rposition(|p| p.name == name) else {
                    self.status_after_error();
                    return Err(SqlError::NoSuchSavepoint(name));
                };
                self.savepoints.truncate(pos + 1);
                if let Some(t) = self.txn.as_mut() {
                    t.rollback_to(&name)?;
                }
                if let Some(p) = self.savepoints.last() {
                    super::settings::put_back(&mut self.settings, p.settings.clone());
                    self.txn_settings.local_restore = p.local_restore.clone();
                    super::settings::settle(self);
                }
                self.status = TransactionStatus::InBlock;
                tag("ROLLBACK")
            }
            A::Savepoint { name } | A::ReleaseSavepoint { name } => {
                if self.status == TransactionStatus::Failed {
                    return Err(SqlError::InFailedTransaction);
                }
                let Some(t) = self.txn.as_mut() else {
                    return Err(SqlError::TransactionState {
                        state: crate::SqlState::NO_ACTIVE_SQL_TRANSACTION,
                        message: format!(
                            "{} can only be used in transaction blocks",
                            if matches!(stmt.as_ref(), A::Savepoint { .. }) {
                                "SAVEPOINT"
                            } else {
                                "RELEASE SAVEPOINT"
                            }
                        ),
                    });
                };
                let name = super::binder::ident(name);
                if matches!(stmt.as_ref(), A::Savepoint { .. }) {
                    t.savepoint(&name);
                    self.savepoints.push(Savepoint {
                        name,
                        settings: self.settings.clone(),
                        local_restore: self.txn_settings.local_restore.clone(),
                    });
                    tag("SAVEPOINT")
                } else {
                    let Some(pos) = self.savepoints.iter().rposition(|p| p.name == name) else {
                        self.status = TransactionStatus::Failed;
                        return Err(SqlError::NoSuchSavepoint(name));
                    };
                    t.release(&name)?;
                    self.savepoints.truncate(pos);
                    tag("RELEASE")
                }
            }
            _ => Ok(None),
        }
    }

    /// The block ends: a rollback puts back the settings it began with;
    /// either way each `SET LOCAL` goes back to the value before it.
    fn end_block_settings(&mut self, committed: bool) {
        let ended = std::mem::take(&mut self.txn_settings);
        let earlier = if committed {
            let mut earlier = self.settings.clone();
            for (name, value) in ended.local_restore {
                match value {
                    Some(v) => earlier.insert(name, v),
                    None => earlier.remove(&name),
                };
            }
            Some(earlier)
        } else {
            ended.at_begin
        };
        if let Some(earlier) = earlier {
            super::settings::put_back(&mut self.settings, earlier);
        }
        super::settings::settle(self);
    }

    fn status_after_error(&mut self) {
        if self.txn.is_some() {
            self.status = TransactionStatus::Failed;
        }
    }
}
