//! The engine as the wire server's [`Backend`].
//!
//! The server speaks in its own small vocabulary (`Outcome`, `Column`,
//! `TransactionState`) so that it can be tested without a database; this
//! module is the thin translation from `rustydb_engine::sql` to it. A fresh
//! data directory has the superuser role `rustydb` and the database
//! `rustydb` (DESIGN §8); roles and further databases arrive with the
//! tenancy work, so every other name is refused the way PostgreSQL refuses
//! an unknown role or database.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rustydb_engine::extension::NoticeLevel;
use rustydb_engine::sql::{
    Database, DatabaseOptions, Prepared, Session as SqlSession, StatementResult, TransactionStatus,
};
use rustydb_engine::storage::StoreOptions;
use rustydb_engine::types::{DataType, Value};

use crate::server::{
    Backend, BackendError, BackendResult, Column, Notice, Outcome, PasswordVerifier,
    PreparedStatement, Session, TransactionState,
};

/// The superuser and the database a fresh data directory starts with.
pub const DEFAULT_ROLE: &str = "rustydb";
/// See [`DEFAULT_ROLE`].
pub const DEFAULT_DATABASE: &str = "rustydb";

/// An embedded database served over the wire.
pub struct EngineBackend {
    db: Database,
    dir: PathBuf,
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
        let options = DatabaseOptions {
            store: StoreOptions {
                buffer_pool_bytes,
                synchronous_commit,
                ..StoreOptions::default()
            },
            ..DatabaseOptions::default()
        };
        let db = crate::wasm::open_database(dir, options)
            .map_err(|e| BackendError::new(e.code(), e.to_string()))?;
        Ok(EngineBackend {
            db,
            dir: dir.to_path_buf(),
        })
    }
}

/// One client's session.
pub struct EngineSession {
    session: SqlSession,
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

fn outcome(result: StatementResult) -> Outcome {
    match result {
        StatementResult::Rows { columns, rows, tag } => Outcome::Rows {
            columns: columns
                .into_iter()
                .map(|c| Column {
                    name: c.name,
                    data_type: c.ty,
                })
                .collect(),
            rows,
            tag,
        },
        StatementResult::Command(tag) => Outcome::Command { tag },
    }
}

fn not_supported(what: &str) -> BackendError {
    BackendError {
        code: "0A000".into(),
        message: format!("{what} is not supported yet"),
        detail: None,
        hint: None,
    }
}

impl Session for EngineSession {
    type Prepared = EnginePrepared;

    fn simple_query(&mut self, sql: &str) -> Vec<BackendResult<Outcome>> {
        match self.session.execute(sql) {
            Ok(results) if results.is_empty() => vec![Ok(Outcome::Empty)],
            Ok(results) => results.into_iter().map(|r| Ok(outcome(r))).collect(),
            Err(e) => vec![Err(BackendError::from(e))],
        }
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
        self.session
            .execute_prepared(&statement.0, params)
            .map(outcome)
            .map_err(BackendError::from)
    }

    fn copy_in(&mut self, _rows: Vec<Vec<Value>>) -> BackendResult<u64> {
        Err(not_supported("COPY"))
    }

    fn copy_abort(&mut self, _error: &BackendError) {}

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
        if user != DEFAULT_ROLE {
            return Err(BackendError {
                code: "28000".into(),
                message: format!("role \"{user}\" does not exist"),
                detail: None,
                hint: Some(format!("connect as \"{DEFAULT_ROLE}\"")),
            });
        }
        if database != DEFAULT_DATABASE {
            return Err(BackendError {
                code: "3D000".into(),
                message: format!("database \"{database}\" does not exist"),
                detail: None,
                hint: None,
            });
        }
        Ok(EngineSession {
            session: self.db.session(),
        })
    }

    fn passwords_enabled(&self) -> bool {
        false
    }

    fn password_verifier(&self, _user: &str) -> Option<PasswordVerifier> {
        None
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
