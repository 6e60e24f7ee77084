//! The engine's [`HostSql`]: SQL a guest runs, inside its caller's
//! transaction.
//!
//! For the length of a call the caller's transaction moves out of the
//! caller's session into a *nested session* behind a mutex (the guest calls
//! back from the invoker's thread through `&self`). Each guest statement
//! runs there exactly as a statement of a transaction block: a fresh
//! snapshot under READ COMMITTED, its own statement savepoint, so a failed
//! guest statement is undone alone and returned to the guest as an error it
//! may handle. When the call returns, [`CallerSql::finish`] hands the
//! transaction back; whatever the guest changed is then part of the CALL
//! statement, which commits or rolls back as one.
//!
//! A guest cannot end the transaction it runs in: BEGIN, COMMIT, ROLLBACK
//! and savepoint commands are refused with 2D000.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::catalog::KvTxn;
use crate::extension::{
    ColumnDescription, ErrorCode, ExtensionError, HostSql, Notice, Row, RowCursor,
};
use crate::types::{DataType, Value};

use super::super::dml::{BoundCache, tag_count};
use super::super::error::SqlError;
use super::super::hooks;
use super::super::parser::{Statement, parse_sql};
use super::super::session::{Session, StatementResult, TransactionStatus};

/// SQL on behalf of one call, over the caller's transaction.
pub(crate) struct CallerSql {
    session: Mutex<Session>,
    /// The statements the guest ran so far, parsed (and DML bound), by
    /// text: a row trigger runs the same few statements once per row, and
    /// parsing and binding each again was most of what a trigger call
    /// cost. Bounded, so a guest that builds its SQL text per row only
    /// misses the cache.
    parsed: Mutex<HashMap<String, Arc<Parsed>>>,
}

/// One statement text of the guest's.
struct Parsed {
    statement: Statement,
    /// INSERT, UPDATE and DELETE as last bound.
    bound: Mutex<BoundCache>,
}

/// How many distinct statement texts [`CallerSql`] keeps parsed.
const PARSED_STATEMENTS: usize = 32;

impl CallerSql {
    /// A nested session of `caller` running in `txn` (the caller's, moved
    /// out of it for the call) with the privileges of `user`: the
    /// caller's, or a SECURITY DEFINER routine's owner's.
    pub(crate) fn new(caller: &Session, txn: Box<dyn KvTxn>, user: &str) -> CallerSql {
        CallerSql {
            session: Mutex::new(Session {
                user: user.to_owned(),
                session_user: caller.session_user.clone(),
                kv: caller.kv.clone(),
                catalog: caller.catalog.clone(),
                txn: Some(txn),
                status: TransactionStatus::InBlock,
                cancel: caller.cancel.clone(),
                isolation: caller.isolation,
                txn_start: caller.txn_start,
                savepoints: Vec::new(),
                prepared: std::collections::HashMap::new(),
                settings: caller.settings.clone(),
                txn_settings: Default::default(),
                isolation_name: caller.isolation_name,
                block_isolation: caller.block_isolation,
                block_read_only: caller.block_read_only,
                block_queried: true,
                invoker: caller.invoker.clone(),
                hooks: caller.hooks.clone(),
                notices: Vec::new(),
                call_depth: caller.call_depth + 1,
                sequence_values: caller.sequence_values.clone(),
                sequence_blocks: caller.sequence_blocks.clone(),
                transition_tables: Vec::new(),
            }),
            parsed: Mutex::new(HashMap::new()),
        }
    }

    /// Runs the next calls' SQL with the privileges of `user` (one nested
    /// session serves every trigger function of a statement, each with its
    /// own security).
    pub(crate) fn run_as(&self, user: &str) {
        let mut s = self.session.lock();
        if s.user != user {
            user.clone_into(&mut s.user);
        }
    }

    /// Ends the call: the transaction goes back to the caller with the
    /// notices the call produced.
    pub(crate) fn finish(&self) -> (Option<Box<dyn KvTxn>>, Vec<Notice>) {
        let mut s = self.session.lock();
        (s.txn.take(), std::mem::take(&mut s.notices))
    }

    /// Makes `tables` readable by name in the guest's queries until the
    /// next call (a statement trigger's transition tables).
    pub(crate) fn set_transition_tables(&self, tables: Vec<(String, super::super::plan::Plan)>) {
        self.session.lock().transition_tables = tables;
    }

    /// `sql` parsed as the one statement it must be.
    fn parse(&self, sql: &str) -> Result<Arc<Parsed>, ExtensionError> {
        if let Some(s) = self.parsed.lock().get(sql) {
            return Ok(Arc::clone(s));
        }
        let mut statements = parse_sql(sql).map_err(to_extension)?;
        let statement = match statements.pop() {
            Some(s) if statements.is_empty() => s,
            _ => {
                return Err(ExtensionError::new(
                    ErrorCode::parse("42601").unwrap_or(ErrorCode::INTERNAL_ERROR),
                    "a routine runs exactly one statement per query or execute call",
                ));
            }
        };
        if ends_transaction(&statement) {
            return Err(ExtensionError::new(
                ErrorCode::parse("2D000").unwrap_or(ErrorCode::INTERNAL_ERROR),
                "a routine cannot begin, end or mark its caller's transaction",
            ));
        }
        let statement = Arc::new(Parsed {
            statement,
            bound: Mutex::new(BoundCache::default()),
        });
        let mut parsed = self.parsed.lock();
        if parsed.len() < PARSED_STATEMENTS {
            parsed.insert(sql.to_owned(), Arc::clone(&statement));
        }
        Ok(statement)
    }

    fn run(&self, sql: &str, params: &[Value]) -> Result<StatementResult, ExtensionError> {
        let parsed = self.parse(sql)?;
        let types: Vec<Option<DataType>> = params.iter().map(Value::data_type).collect();
        let mut session = self.session.lock();
        let result = match &parsed.statement {
            Statement::Standard(s) if is_dml(s) => {
                // Out of its mutex while it runs: the statement's own
                // triggers may run guest SQL (through a session of their
                // own, but the same text) before it ends.
                let mut bound = std::mem::take(&mut *parsed.bound.lock());
                let result = session.in_statement(|session| {
                    hooks::execute_dml_cached(session, s, params, &types, &mut bound)
                });
                *parsed.bound.lock() = bound;
                result
            }
            statement => session.run(statement, params, &types),
        };
        // The statement savepoint undid a failed statement; the guest
        // decides whether to go on, so the block stays usable for it.
        if session.status == TransactionStatus::Failed {
            session.status = TransactionStatus::InBlock;
        }
        result.map_err(to_extension)
    }
}

fn is_dml(s: &sqlparser::ast::Statement) -> bool {
    use sqlparser::ast::Statement as A;
    matches!(s, A::Insert(_) | A::Update { .. } | A::Delete(_))
}

fn ends_transaction(s: &Statement) -> bool {
    use sqlparser::ast::Statement as A;
    matches!(
        s,
        Statement::Standard(s) if matches!(
            s.as_ref(),
            A::StartTransaction { .. }
                | A::Commit { .. }
                | A::Rollback { .. }
                | A::Savepoint { .. }
                | A::ReleaseSavepoint { .. }
        )
    )
}

/// A batch runs one INSERT, UPDATE or DELETE again and again; any other
/// statement is refused before it ran.
fn not_batchable() -> ExtensionError {
    to_extension(SqlError::unsupported(
        "a statement batch other than INSERT, UPDATE or DELETE",
    ))
}

/// `COPY … FROM STDIN` reads from the client, which a routine is not: the
/// statement has done nothing yet and is refused.
fn copy_from_client() -> ExtensionError {
    to_extension(SqlError::unsupported("COPY FROM STDIN inside a routine"))
}

pub(crate) fn to_extension(e: SqlError) -> ExtensionError {
    let code = ErrorCode::parse(e.sqlstate().code()).unwrap_or(ErrorCode::INTERNAL_ERROR);
    match e {
        SqlError::Routine {
            message, detail, ..
        } => ExtensionError {
            code,
            message,
            detail,
        },
        other => ExtensionError::new(code, other.to_string()),
    }
}

impl HostSql for CallerSql {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Box<dyn RowCursor>, ExtensionError> {
        let (columns, rows) = match self.run(sql, params)? {
            StatementResult::Rows { columns, rows, .. }
            | StatementResult::CopyOut { columns, rows, .. } => (
                columns
                    .into_iter()
                    .map(|c| ColumnDescription::new(c.name, c.ty))
                    .collect(),
                rows,
            ),
            StatementResult::Command(_) => (Vec::new(), Vec::new()),
            StatementResult::CopyIn(_) => return Err(copy_from_client()),
        };
        Ok(Box::new(Rows {
            columns,
            rows: rows.into_iter(),
        }))
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, ExtensionError> {
        Ok(match self.run(sql, params)? {
            StatementResult::Rows { rows, .. } | StatementResult::CopyOut { rows, .. } => {
                rows.len() as u64
            }
            StatementResult::CopyIn(_) => return Err(copy_from_client()),
            StatementResult::Command(tag) => tag_count(&tag),
        })
    }

    fn execute_batch(&self, sql: &str, params: &[Vec<Value>]) -> Result<u64, ExtensionError> {
        let parsed = self.parse(sql)?;
        let Statement::Standard(s) = &parsed.statement else {
            return Err(not_batchable());
        };
        if !is_dml(s) {
            return Err(not_batchable());
        }
        let types: Vec<Vec<Option<DataType>>> = params
            .iter()
            .map(|row| row.iter().map(Value::data_type).collect())
            .collect();
        let mut session = self.session.lock();
        let mut failed = None;
        // As in `run`: out of its mutex while the rows' triggers may run
        // the same text.
        let mut bound = std::mem::take(&mut *parsed.bound.lock());
        let result = session.in_statement(|session| {
            hooks::execute_dml_batch(session, s, params, &types, &mut bound, &mut failed)
        });
        *parsed.bound.lock() = bound;
        // The batch's one statement savepoint undid every row of it.
        if session.status == TransactionStatus::Failed {
            session.status = TransactionStatus::InBlock;
        }
        result.map_err(|e| {
            let mut e = to_extension(e);
            if let Some(i) = failed {
                e.message = format!(
                    "row {} of {} of the batch: {}",
                    i + 1,
                    params.len(),
                    e.message
                );
            }
            e
        })
    }

    fn notice(&self, notice: Notice) {
        self.session.lock().notices.push(notice);
    }
}

/// A query's rows, materialised by the executor and handed out in batches.
struct Rows {
    columns: Vec<ColumnDescription>,
    rows: std::vec::IntoIter<Row>,
}

impl RowCursor for Rows {
    fn columns(&self) -> &[ColumnDescription] {
        &self.columns
    }

    fn next_batch(&mut self, max_rows: usize) -> Result<Option<Vec<Row>>, ExtensionError> {
        let batch: Vec<Row> = self.rows.by_ref().take(max_rows.max(1)).collect();
        Ok((!batch.is_empty()).then_some(batch))
    }
}
