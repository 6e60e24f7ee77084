//! Wasm routines called from a query: the per-statement state every
//! expression evaluation reaches through [`ExecCtx::routines`].
//!
//! One [`QueryRoutines`] lives for one statement. It resolves a routine's
//! module to the version handle the statement's catalog names (loading the
//! bytes into the host when it lacks them), opens one warm instance per
//! module ([`StatementCalls`]) on first use, reads a model's parameters once,
//! remembers IMMUTABLE calls with constant arguments (folded once per
//! statement), and counts calls, rows and time per routine for EXPLAIN
//! ANALYZE. Calls carry the session's cancel flag and `statement_timeout`.
//!
//! STRICT is applied here, for every caller: rows with a NULL argument get
//! NULL and never reach the guest.
//!
//! [`ExecCtx::routines`]: super::super::exec::ExecCtx::routines

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::SqlState;
use crate::catalog::routine::{self as records, RoutineDef};
use crate::catalog::{Catalog, KvTxn};
use crate::extension::{
    CallContext, CallLimits, ErrorCode, ExtensionError, HostSql, Notice, RoutineInvoker,
    RoutineKind, RoutineRef, Row, RowCursor, SessionUsage, StatementCalls,
};
use crate::types::{DataType, Value};

use super::super::error::{SqlError, SqlResult};
use super::call::ensure_loaded;
use super::from_extension;

/// The statement state of `session`'s routine calls, when it has a host,
/// under the limits of its resource groups as `catalog` records them.
pub(crate) fn for_session(
    session: &super::super::session::Session,
    catalog: &crate::catalog::Catalog,
) -> Option<QueryRoutines> {
    let invoker = session.invoker.clone()?;
    let limits = crate::sql::resource_group::call_limits(
        catalog,
        &session.user,
        &session.session_user,
        super::call::statement_timeout(session),
    );
    Some(QueryRoutines::new(invoker, session.cancel.clone(), limits))
}

/// The schemas an unqualified routine name is looked up in, from the
/// session's `search_path` (`"$user"` is the session's role; a module is a
/// schema, so `SET search_path = textkit, public` makes `split_words(…)`
/// resolve). Built-in functions are found first, as if `pg_catalog` led.
pub(crate) fn search_path(session: &super::super::session::Session) -> Vec<String> {
    let text = session
        .settings
        .get("search_path")
        .map_or("\"$user\", public", |s| s.as_str());
    text.split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "\"$user\"" | "$user" => session.user.clone(),
            quoted if quoted.starts_with('"') && quoted.ends_with('"') && quoted.len() >= 2 => {
                quoted[1..quoted.len() - 1].to_owned()
            }
            plain => plain.to_lowercase(),
        })
        .collect()
}

/// Rows per guest call: big enough that the boundary's fixed cost vanishes,
/// small enough to bound the guest's memory for one batch.
pub(crate) const BATCH_ROWS: usize = 1024;

/// What one routine did in one statement (EXPLAIN ANALYZE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoutineRun {
    /// `schema.name` as the query named it.
    pub(crate) name: String,
    /// Guest calls (batches) made.
    pub(crate) calls: u64,
    /// Rows that crossed into the guest.
    pub(crate) rows: u64,
    /// Time spent in the calls, as the engine measured it.
    pub(crate) time: Duration,
    /// Fuel and peak memory, when the host reports them for the statement.
    pub(crate) usage: Option<SessionUsage>,
}

#[derive(Default)]
struct State {
    /// Module name → the handle of the version the statement sees.
    handles: HashMap<String, String>,
    /// Handle → the statement's warm instance (`None`: the host has none).
    sessions: HashMap<String, Option<Box<dyn StatementCalls>>>,
    /// Model `schema.name` → its parameters.
    params: HashMap<String, Arc<Vec<u8>>>,
    /// Folded IMMUTABLE calls, by the address of their bound node.
    folded: HashMap<usize, Value>,
    /// Per routine, in first-call order: (qualified name, handle, export,
    /// calls, rows, time).
    runs: Vec<(String, String, String, u64, u64, Duration)>,
}

/// The routine calls of one statement.
pub(crate) struct QueryRoutines {
    invoker: Arc<dyn RoutineInvoker>,
    ctx: CallContext,
    sql: Arc<QuerySql>,
    state: RefCell<State>,
}

impl QueryRoutines {
    /// The routine host the statement calls into.
    pub(crate) fn invoker(&self) -> &Arc<dyn RoutineInvoker> {
        &self.invoker
    }

    /// The state for one statement, calls limited by `limits` and stopped
    /// by `cancel`.
    pub(crate) fn new(
        invoker: Arc<dyn RoutineInvoker>,
        cancel: Arc<AtomicBool>,
        limits: CallLimits,
    ) -> QueryRoutines {
        let sql = Arc::new(QuerySql::default());
        QueryRoutines {
            invoker,
            ctx: CallContext {
                sql: Arc::clone(&sql) as Arc<dyn HostSql>,
                limits,
                cancel,
            },
            sql,
            state: RefCell::new(State::default()),
        }
    }

    /// The notices the statement's routines sent.
    pub(crate) fn take_notices(&self) -> Vec<Notice> {
        std::mem::take(&mut *self.sql.notices.lock())
    }

    /// The value folded for node `key`, if any.
    pub(crate) fn folded(&self, key: usize) -> Option<Value> {
        self.state.borrow().folded.get(&key).cloned()
    }

    /// Remembers the value of a folded node.
    pub(crate) fn fold(&self, key: usize, value: Value) {
        self.state.borrow_mut().folded.insert(key, value);
    }

    /// What each routine did so far.
    pub(crate) fn runs(&self) -> Vec<RoutineRun> {
        let state = self.state.borrow();
        state
            .runs
            .iter()
            .map(|(name, handle, export, calls, rows, time)| RoutineRun {
                name: name.clone(),
                calls: *calls,
                rows: *rows,
                time: *time,
                usage: state
                    .sessions
                    .get(handle)
                    .and_then(Option::as_ref)
                    .map(|s| s.usage(export)),
            })
            .collect()
    }

    /// Scalar function or model `def` over `rows` of arguments (already of
    /// its parameter types): one value per row, `rows.len() / BATCH_ROWS`
    /// guest calls rounded up. STRICT rows with a NULL get NULL uncalled.
    pub(crate) fn scalar(
        &self,
        txn: &mut dyn KvTxn,
        catalog: &Catalog,
        def: &RoutineDef,
        ty: DataType,
        rows: &[Row],
    ) -> SqlResult<Vec<Value>> {
        let left_out = |r: &Row| def.strict && r.iter().any(Value::is_null);
        let every_row = !rows.iter().any(left_out);
        // The rows sent, by position; only built when some are left out,
        // since a million pushes of positions and references were 3% of
        // `SELECT sum(f(x))`.
        let positions: Vec<usize> = if every_row {
            Vec::new()
        } else {
            (0..rows.len()).filter(|&i| !left_out(&rows[i])).collect()
        };
        let sent = if every_row {
            rows.len()
        } else {
            positions.len()
        };
        // With every row sent the values arrive in row order and are
        // pushed; otherwise they overwrite the left-out rows' NULLs at
        // their positions. Filling a batch with NULLs first was 4% of
        // `SELECT sum(f(x))`.
        let mut out = if every_row {
            Vec::new()
        } else {
            vec![Value::Null; rows.len()]
        };
        if sent == 0 {
            return Ok(out);
        }
        let params = match def.kind {
            RoutineKind::Model => Some(self.model_parameters(txn, def)?),
            _ => None,
        };
        let handle = self.handle(txn, catalog, def)?;
        // With no row left out the batches are slices of `rows`; only a
        // batch with gaps is copied together.
        let mut done = 0;
        while done < sent {
            let n = (sent - done).min(BATCH_ROWS);
            let gathered: Vec<Row>;
            let batch: &[Row] = if every_row {
                &rows[done..done + n]
            } else {
                gathered = positions[done..done + n]
                    .iter()
                    .map(|&p| rows[p].clone())
                    .collect();
                &gathered
            };
            let values = self.timed(def, &handle, batch.len(), |s, invoker, ctx| {
                let r = RoutineRef::new(&handle, &def.export);
                match (s, &params) {
                    (Some(s), Some(p)) => s.score(&def.export, p, batch),
                    (Some(s), None) => s.scalar(&def.export, batch),
                    (None, Some(p)) => invoker.score_model(ctx, r, p, batch),
                    (None, None) => invoker.call_scalar(ctx, r, batch),
                }
            })?;
            if values.len() != batch.len() {
                return Err(SqlError::Routine {
                    state: SqlState::from_code("39000").unwrap_or(SqlState::INTERNAL_ERROR),
                    message: format!(
                        "function {} returned {} values for {} rows",
                        def.qualified_name(),
                        values.len(),
                        batch.len()
                    ),
                    detail: None,
                });
            }
            if every_row {
                // One batch of values all of the declared type (every call
                // from a query operator) is the answer as it came back.
                if n == sent && values.iter().all(|v| fits(v, ty)) {
                    return Ok(values);
                }
                out.reserve(values.len());
                for v in values {
                    out.push(conform(v, ty, def)?);
                }
            } else {
                for (v, &pos) in values.into_iter().zip(&positions[done..]) {
                    out[pos] = conform(v, ty, def)?;
                }
            }
            done += n;
        }
        Ok(out)
    }

    /// The empty state of aggregate `def`.
    pub(crate) fn aggregate_init(
        &self,
        txn: &mut dyn KvTxn,
        catalog: &Catalog,
        def: &RoutineDef,
    ) -> SqlResult<Vec<u8>> {
        let handle = self.handle(txn, catalog, def)?;
        self.timed(def, &handle, 0, |s, invoker, ctx| match s {
            Some(s) => s.aggregate_init(&def.export),
            None => invoker.aggregate_init(ctx, RoutineRef::new(&handle, &def.export)),
        })
    }

    /// `state` with a batch of argument rows folded in (one guest call).
    pub(crate) fn aggregate_accumulate(
        &self,
        txn: &mut dyn KvTxn,
        catalog: &Catalog,
        def: &RoutineDef,
        state: &[u8],
        rows: &[Row],
    ) -> SqlResult<Vec<u8>> {
        let handle = self.handle(txn, catalog, def)?;
        self.timed(def, &handle, rows.len(), |s, invoker, ctx| match s {
            Some(s) => s.aggregate_accumulate(&def.export, state, rows),
            None => invoker.aggregate_accumulate(
                ctx,
                RoutineRef::new(&handle, &def.export),
                state,
                rows,
            ),
        })
    }

    /// The final value of `state`, as the aggregate's declared type.
    pub(crate) fn aggregate_finish(
        &self,
        txn: &mut dyn KvTxn,
        catalog: &Catalog,
        def: &RoutineDef,
        ty: DataType,
        state: &[u8],
    ) -> SqlResult<Value> {
        let handle = self.handle(txn, catalog, def)?;
        let v = self.timed(def, &handle, 0, |s, invoker, ctx| match s {
            Some(s) => s.aggregate_finish(&def.export, state),
            None => invoker.aggregate_finish(ctx, RoutineRef::new(&handle, &def.export), state),
        })?;
        conform(v, ty, def)
    }

    /// The rows of table function `def` for one argument row, each as
    /// long as its declared columns.
    pub(crate) fn table(
        &self,
        txn: &mut dyn KvTxn,
        catalog: &Catalog,
        def: &RoutineDef,
        args: &[Value],
    ) -> SqlResult<Vec<Row>> {
        if def.strict && args.iter().any(Value::is_null) {
            return Ok(Vec::new());
        }
        let handle = self.handle(txn, catalog, def)?;
        let rows = self.timed(def, &handle, 1, |s, invoker, ctx| match s {
            Some(s) => s.table(&def.export, args),
            None => invoker.call_table(ctx, RoutineRef::new(&handle, &def.export), args),
        })?;
        rows.into_iter()
            .map(|r| {
                if r.len() != def.returns.len() {
                    return Err(SqlError::Routine {
                        state: SqlState::from_code("39000").unwrap_or(SqlState::INTERNAL_ERROR),
                        message: format!(
                            "table function {} returned a row of {} columns, not {}",
                            def.qualified_name(),
                            r.len(),
                            def.returns.len()
                        ),
                        detail: None,
                    });
                }
                r.into_iter()
                    .zip(&def.returns)
                    .map(|(v, c)| conform(v, c.data_type, def))
                    .collect()
            })
            .collect()
    }

    /// The handle of `def`'s module as the statement's catalog sees it.
    fn handle(
        &self,
        txn: &mut dyn KvTxn,
        catalog: &Catalog,
        def: &RoutineDef,
    ) -> SqlResult<String> {
        if let Some(h) = self.state.borrow().handles.get(&def.module) {
            return Ok(h.clone());
        }
        let module = catalog
            .module(&def.module)
            .ok_or_else(|| SqlError::Semantic {
                state: SqlState::UNDEFINED_OBJECT,
                message: format!("module \"{}\" does not exist", def.module),
            })?;
        let handle = ensure_loaded(self.invoker.as_ref(), txn, module)?;
        self.state
            .borrow_mut()
            .handles
            .insert(def.module.clone(), handle.clone());
        Ok(handle)
    }

    fn model_parameters(&self, txn: &mut dyn KvTxn, def: &RoutineDef) -> SqlResult<Arc<Vec<u8>>> {
        let key = def.qualified_name();
        if let Some(p) = self.state.borrow().params.get(&key) {
            return Ok(Arc::clone(p));
        }
        // A described model has no parameters of its own until a CREATE
        // MODEL binds it; the guest decides what empty parameters mean.
        let bytes = records::model_parameters(txn, &def.schema, &def.name)?.unwrap_or_default();
        let p = Arc::new(bytes);
        self.state.borrow_mut().params.insert(key, Arc::clone(&p));
        Ok(p)
    }

    /// Runs one guest call of `def` carrying `rows` rows through the
    /// statement's session for `handle` (opened on first use), counting it.
    fn timed<T>(
        &self,
        def: &RoutineDef,
        handle: &str,
        rows: usize,
        call: impl FnOnce(
            Option<&mut Box<dyn StatementCalls>>,
            &dyn RoutineInvoker,
            &CallContext,
        ) -> Result<T, ExtensionError>,
    ) -> SqlResult<T> {
        let started = Instant::now();
        let mut state = self.state.borrow_mut();
        if !state.sessions.contains_key(handle) {
            let session = self
                .invoker
                .open_statement_calls(&self.ctx, handle)
                .map_err(from_extension)?;
            state.sessions.insert(handle.to_owned(), session);
        }
        let session = state.sessions.get_mut(handle).and_then(Option::as_mut);
        let result = call(session, self.invoker.as_ref(), &self.ctx);
        let name = def.qualified_name();
        let elapsed = started.elapsed();
        match state.runs.iter_mut().find(|r| r.0 == name) {
            Some(r) => {
                r.3 += 1;
                r.4 += rows as u64;
                r.5 += elapsed;
            }
            None => state.runs.push((
                name,
                handle.to_owned(),
                def.export.clone(),
                1,
                rows as u64,
                elapsed,
            )),
        }
        drop(state);
        result.map_err(from_extension)
    }
}

/// A guest's value as the routine's declared type: the guest may answer an
/// int4 function with an int8, but not with text that is no number.
#[inline]
fn conform(v: Value, ty: DataType, def: &RoutineDef) -> SqlResult<Value> {
    if fits(&v, ty) {
        return Ok(v);
    }
    conform_cast(v, ty, def)
}

/// Whether `v` is NULL or of type `ty`; the common answers are decided
/// without building the value's type.
#[inline]
fn fits(v: &Value, ty: DataType) -> bool {
    match (v, ty) {
        (Value::Null, _)
        | (Value::Int8(_), DataType::Int8)
        | (Value::Int4(_), DataType::Int4)
        | (Value::Float8(_), DataType::Float8)
        | (Value::Bool(_), DataType::Bool) => true,
        _ => v.data_type() == Some(ty),
    }
}

/// [`conform`] of a value not of the declared type.
#[inline(never)]
fn conform_cast(v: Value, ty: DataType, def: &RoutineDef) -> SqlResult<Value> {
    v.cast(&ty).map_err(|_| SqlError::Routine {
        state: SqlState::from_code("39000").unwrap_or(SqlState::INTERNAL_ERROR),
        message: format!(
            "function {} returned a {} where {} was declared",
            def.qualified_name(),
            v.data_type().map_or("value", |t| t.name()),
            ty.name()
        ),
        detail: None,
    })
}

/// The [`HostSql`] of routines called from a query: notices reach the
/// client; SQL is refused (0A000), because the query's own scan holds the
/// transaction while the routine runs. PostgreSQL lets such a function
/// SELECT; doing so here needs the guest (`HostSql` is `Send + Sync`, on
/// the host's thread) to share the operators' `&mut` transaction in the
/// middle of a scan, or a second reader at the statement's snapshot that
/// also sees the statement's own earlier writes, which the MVCC layer does
/// not offer. Procedures (CALL) own the transaction and run SQL.
#[derive(Default)]
pub(crate) struct QuerySql {
    notices: Mutex<Vec<Notice>>,
}

fn no_sql() -> ExtensionError {
    ExtensionError::new(
        ErrorCode::from(SqlState::FEATURE_NOT_SUPPORTED),
        "functions called from a query cannot run SQL; use a procedure",
    )
}

impl HostSql for QuerySql {
    fn query(&self, _: &str, _: &[Value]) -> Result<Box<dyn RowCursor>, ExtensionError> {
        Err(no_sql())
    }

    fn execute(&self, _: &str, _: &[Value]) -> Result<u64, ExtensionError> {
        Err(no_sql())
    }

    fn execute_batch(&self, _: &str, _: &[Vec<Value>]) -> Result<u64, ExtensionError> {
        Err(no_sql())
    }

    fn notice(&self, notice: Notice) {
        self.notices.lock().push(notice);
    }
}
