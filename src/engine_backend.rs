//! The engine as the wire server's [`Backend`].
//!
//! The server speaks in its own small vocabulary (`Outcome`, `Column`,
//! `TransactionState`) so that it can be tested without a database; this
//! module is the thin translation from `rustydb_engine::sql` to it. A fresh
//! data directory has the superuser role `rustydb` and the database
//! `rustydb` (DESIGN §8). Roles are the engine's catalog records (`CREATE
//! ROLE`); further databases arrive with the tenancy work, so every other
//! database name is refused the way PostgreSQL refuses an unknown one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use rustydb_engine::extension::NoticeLevel;
use rustydb_engine::sql::{
    CopyFileFormat, CopyInTarget, CopyOptions, Database, DatabaseOptions, Prepared,
    Session as SqlSession, StatementResult, TransactionStatus,
};
use rustydb_engine::storage::StoreOptions;
use rustydb_engine::types::{DataType, Value};

use crate::server::{
    Backend, BackendError, BackendResult, Column, CopyFormat, Notice, Outcome, PasswordVerifier,
    PreparedStatement, Session, TransactionState,
};

/// The superuser and the database a fresh data directory starts with.
pub const DEFAULT_ROLE: &str = rustydb_engine::catalog::BOOTSTRAP_SUPERUSER;
/// See [`DEFAULT_ROLE`].
pub const DEFAULT_DATABASE: &str = "rustydb";

/// An embedded database served over the wire.
pub struct EngineBackend {
    db: Database,
    dir: PathBuf,
    /// Open sessions per role, for `CONNECTION LIMIT`.
    sessions_per_role: Arc<Mutex<HashMap<String, usize>>>,
}

/// A session's place under its role's `CONNECTION LIMIT`, given back when
/// the session ends.
struct RoleSlot {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    role: String,
}

impl RoleSlot {
    /// Takes a slot for `role`, or fails with PostgreSQL's 53300 when
    /// `limit` (-1: none) sessions of it are open already. Superusers are
    /// not limited, as in PostgreSQL.
    fn take(
        counts: &Arc<Mutex<HashMap<String, usize>>>,
        role: &str,
        limit: i32,
        superuser: bool,
    ) -> BackendResult<RoleSlot> {
        let mut map = lock_counts(counts);
        let open = map.entry(role.to_owned()).or_insert(0);
        if let Ok(limit) = usize::try_from(limit)
            && !superuser
            && *open >= limit
        {
            return Err(BackendError::new(
                "53300",
                format!("too many connections for role \"{role}\""),
            ));
        }
        *open += 1;
        Ok(RoleSlot {
            counts: Arc::clone(counts),
            role: role.to_owned(),
        })
    }
}

impl Drop for RoleSlot {
    fn drop(&mut self) {
        let mut map = lock_counts(&self.counts);
        if let Some(n) = map.get_mut(&self.role) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.role);
            }
        }
    }
}

fn lock_counts(
    counts: &Mutex<HashMap<String, usize>>,
) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
    // Only whole increments and decrements happen under the lock, so a
    // panic elsewhere cannot leave a count half-updated.
    counts.lock().unwrap_or_else(|p| p.into_inner())
}

impl EngineBackend {
    /// Opens (creating on first start) the database in `dir`.
    ///
    /// # Errors
    /// Storage errors: a locked, damaged or unreadable data directory.
    pub fn open(
        dir: &Path,
        buffer_pool_bytes: usize,
        synchronous_commit: bool,
    ) -> BackendResult<Self> {
        Self::open_with_limits(
            dir,
            buffer_pool_bytes,
            synchronous_commit,
            crate::wasm::Limits::default(),
        )
    }

    /// [`EngineBackend::open`] with the Wasm host under `limits`.
    ///
    /// # Errors
    /// As [`EngineBackend::open`]; impossible limits.
    pub fn open_with_limits(
        dir: &Path,
        buffer_pool_bytes: usize,
        synchronous_commit: bool,
        limits: crate::wasm::Limits,
    ) -> BackendResult<Self> {
        let options = DatabaseOptions {
            store: StoreOptions {
                buffer_pool_bytes,
                synchronous_commit,
                ..StoreOptions::default()
            },
            ..DatabaseOptions::default()
        };
        let db = crate::wasm::open_database_with_limits(dir, options, limits)
            .map_err(|e| BackendError::new(e.code(), e.to_string()))?;
        Ok(EngineBackend::with_database(db, dir))
    }

    /// Serves a database the caller opened (in `dir`) — with its own
    /// routine host, for instance, as the Wasm benchmark does.
    pub fn with_database(db: Database, dir: &Path) -> EngineBackend {
        EngineBackend {
            db,
            dir: dir.to_path_buf(),
            sessions_per_role: Arc::default(),
        }
    }
}

/// One client's session.
pub struct EngineSession {
    session: SqlSession,
    /// The target of the `COPY … FROM STDIN` whose data the client is
    /// sending, between the statement and its CopyDone.
    copying: Option<CopyInTarget>,
    /// Held for the session's lifetime.
    _slot: RoleSlot,
}

/// A statement prepared by the engine.
pub struct EnginePrepared(Prepared);

impl PreparedStatement for EnginePrepared {
    fn parameter_types(&self) -> Vec<DataType> {
        self.0.param_types.clone()
    }

    fn columns(&self) -> Vec<Column> {
        self.0
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.clone(),
                data_type: c.ty,
            })
            .collect()
    }
}

fn columns(columns: Vec<rustydb_engine::sql::ColumnDesc>) -> Vec<Column> {
    columns
        .into_iter()
        .map(|c| Column {
            name: c.name,
            data_type: c.ty,
        })
        .collect()
}

fn copy_format(options: &CopyOptions) -> CopyFormat {
    match options.format {
        CopyFileFormat::Text => CopyFormat::Text {
            delimiter: options.delimiter,
            null: options.null.clone(),
        },
        CopyFileFormat::Csv => CopyFormat::Csv {
            delimiter: options.delimiter,
            quote: options.quote,
            escape: options.escape,
            null: options.null.clone(),
            header: options.header,
        },
    }
}

impl EngineSession {
    /// Translates a result; a COPY FROM STDIN is remembered for the data
    /// that follows it.
    fn outcome(&mut self, result: StatementResult) -> Outcome {
        match result {
            StatementResult::Rows {
                columns: c,
                rows,
                tag,
            } => Outcome::Rows {
                columns: columns(c),
                rows,
                tag,
            },
            StatementResult::Command(tag) => Outcome::Command { tag },
            StatementResult::CopyIn(target) => {
                let outcome = Outcome::CopyIn {
                    columns: columns(target.columns.clone()),
                    format: copy_format(&target.options),
                };
                self.copying = Some(target);
                outcome
            }
            StatementResult::CopyOut {
                columns: c,
                rows,
                options,
            } => Outcome::CopyOut {
                columns: columns(c),
                format: copy_format(&options),
                rows,
            },
        }
    }
}

impl Session for EngineSession {
    type Prepared = EnginePrepared;

    fn simple_query(&mut self, sql: &str) -> Vec<BackendResult<Outcome>> {
        // Results of the statements before a failing one still reach the
        // client, as PostgreSQL sends them before its ErrorResponse.
        let (results, error) = self.session.execute_script(sql);
        if results.is_empty() && error.is_none() {
            return vec![Ok(Outcome::Empty)];
        }
        let mut out: Vec<BackendResult<Outcome>> =
            results.into_iter().map(|r| Ok(self.outcome(r))).collect();
        if let Some(e) = error {
            out.push(Err(BackendError::from(e)));
        }
        out
    }

    fn prepare(
        &mut self,
        sql: &str,
        _declared: &[Option<DataType>],
    ) -> BackendResult<EnginePrepared> {
        // The engine infers parameter types itself and reports them through
        // `parameter_types`; clients then send values of those types.
        self.session
            .prepare(sql)
            .map(EnginePrepared)
            .map_err(BackendError::from)
    }

    fn execute(&mut self, statement: &EnginePrepared, params: &[Value]) -> BackendResult<Outcome> {
        let result = self
            .session
            .execute_prepared(&statement.0, params)
            .map_err(BackendError::from)?;
        Ok(self.outcome(result))
    }

    fn copy_in(&mut self, rows: Vec<Vec<Value>>) -> BackendResult<u64> {
        let Some(target) = self.copying.take() else {
            return Err(BackendError::new(
                "08P01",
                "COPY data arrived with no COPY FROM STDIN in progress",
            ));
        };
        self.session
            .copy_in(&target, rows)
            .map_err(BackendError::from)
    }

    fn copy_abort(&mut self, _error: &BackendError) {
        // Nothing was stored yet: the rows reach the engine only with
        // CopyDone, so abandoning the COPY is forgetting its target and
        // failing the statement (and with it an open block).
        self.copying = None;
        self.session.copy_failed();
    }

    fn transaction_state(&self) -> TransactionState {
        match self.session.status() {
            TransactionStatus::Idle => TransactionState::Idle,
            TransactionStatus::InBlock => TransactionState::InBlock,
            TransactionStatus::Failed => TransactionState::Failed,
        }
    }

    fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.session.cancel_handle()
    }

    fn take_notices(&mut self) -> Vec<Notice> {
        self.session
            .take_notices()
            .into_iter()
            .map(|n| {
                let (severity, code) = match n.level {
                    NoticeLevel::Debug => ("DEBUG", "00000"),
                    NoticeLevel::Info => ("INFO", "00000"),
                    NoticeLevel::Notice => ("NOTICE", "00000"),
                    NoticeLevel::Warning => ("WARNING", "01000"),
                };
                Notice {
                    severity: severity.into(),
                    code: code.into(),
                    message: n.message,
                }
            })
            .collect()
    }
}

impl Backend for EngineBackend {
    type Session = EngineSession;

    fn connect(&self, user: &str, database: &str) -> BackendResult<EngineSession> {
        let role = self.db.role(user).map_err(BackendError::from)?;
        let role = match role {
            None => {
                return Err(BackendError::new(
                    "28000",
                    format!("role \"{user}\" does not exist"),
                ));
            }
            Some(role) if !role.login => {
                return Err(BackendError::new(
                    "28000",
                    format!("role \"{user}\" is not permitted to log in"),
                ));
            }
            Some(role) => role,
        };
        if database != DEFAULT_DATABASE {
            return Err(BackendError {
                code: "3D000".into(),
                message: format!("database \"{database}\" does not exist"),
                detail: None,
                hint: None,
            });
        }
        let slot = RoleSlot::take(
            &self.sessions_per_role,
            user,
            role.connection_limit,
            role.superuser,
        )?;
        Ok(EngineSession {
            session: self.db.session_as(user),
            copying: None,
            _slot: slot,
        })
    }

    fn passwords_enabled(&self) -> bool {
        // A catalog that cannot be read trusts no one.
        self.db.any_password().unwrap_or(true)
    }

    fn password_verifier(&self, user: &str) -> Option<PasswordVerifier> {
        let role = self.db.role(user).ok()??;
        if !role.login {
            return None;
        }
        PasswordVerifier::parse_pg(role.password.as_deref()?)
    }

    fn description(&self) -> String {
        format!(
            "RustyDB {} with data directory {}",
            env!("CARGO_PKG_VERSION"),
            self.dir.display()
        )
    }

    fn shutdown(&self) -> BackendResult<()> {
        Ok(())
    }
}
