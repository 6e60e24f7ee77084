//! Writing statements run with the injected [`DmlHooks`] (the trigger
//! machinery).
//!
//! A trigger function runs SQL of its own in the statement's transaction
//! (an audit trigger inserts into its audit table) while the statement that
//! fired it is between two rows. The executor holds the transaction through
//! its [`ExecCtx`]; so for the length of a writing statement the session's
//! transaction moves into a [`SharedTxn`], a handle that forwards every
//! operation to it under a mutex. The executor writes through one handle,
//! the trigger functions' nested session through another; they take turns
//! on one thread, so the mutex is never contended. When the statement ends
//! the transaction goes back to the session.
//!
//! Per statement, [`HookEnv`] keeps what firing needs across rows: one
//! nested session for every trigger function's SQL, the module handles
//! resolved, and one [`TriggerCalls`] sandbox per module.

use std::collections::HashMap;
use std::sync::Arc;

use sqlparser::ast;

use crate::catalog::routine::{self as records, RoutineDef};
use crate::catalog::{Catalog, KvTxn, TableDef};
use crate::extension::{
    CallContext, DmlEvent, DmlHooks, ErrorCode, ExtensionError, HookContext, HostSql, Notice, Row,
    RowCondition, RowEvent, StatementHooks, TriggerCalls, TriggerData, TriggerOperation,
    TriggerOutcome,
};
use crate::types::{DataType, Value};

use super::binder::Binder;
use super::dml::target::table_scope;
use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::expr::{Expr, eval_predicate};
use super::parser::{Statement, TriggerDdl};
use super::plan::{Column, Plan};
use super::routine::call::{ensure_loaded, statement_timeout};
use super::routine::from_extension;
use super::routine::host_sql::{CallerSql, to_extension};
use super::sequence::SessionSequences;
use super::session::{Session, StatementResult};
use super::shared_txn::SharedTxn;

/// What firing keeps for one statement.
pub(crate) struct HookEnv<'s> {
    hooks: Arc<dyn DmlHooks>,
    session: &'s Session,
    txn: SharedTxn,
    host: Option<Arc<CallerSql>>,
    handles: HashMap<String, String>,
    calls: HashMap<String, Option<Box<dyn TriggerCalls>>>,
}

impl HookEnv<'_> {
    /// The nested session every trigger function's SQL runs in, made at
    /// the first call.
    fn host(&mut self) -> Arc<CallerSql> {
        let (session, txn) = (self.session, &self.txn);
        Arc::clone(self.host.get_or_insert_with(|| {
            Arc::new(CallerSql::new(
                session,
                Box::new(txn.clone()),
                &session.user,
            ))
        }))
    }

    /// Closes the sandboxes and returns the notices the functions sent.
    fn finish(mut self) -> Vec<Notice> {
        self.calls.clear();
        match self.host.take() {
            Some(host) => host.finish().1,
            None => Vec::new(),
        }
    }
}

/// The hooks of a writing statement, handed to its executor.
pub(crate) struct Firing<'e, 's> {
    env: Option<&'e mut HookEnv<'s>>,
}

impl Firing<'static, 'static> {
    /// No hooks: every call below does nothing.
    pub(crate) fn none() -> Firing<'static, 'static> {
        Firing { env: None }
    }
}

impl<'s> Firing<'_, 's> {
    /// The hooks of this statement on `table`.
    pub(crate) fn open(
        &mut self,
        cx: &mut ExecCtx<'_>,
        table: &Arc<TableDef>,
        operations: &[TriggerOperation],
        updated_columns: &[usize],
    ) -> SqlResult<Fire<'_, 's>> {
        let Some(env) = self.env.as_deref_mut() else {
            return Ok(Fire::default());
        };
        let event = DmlEvent {
            operations: operations.to_vec(),
            updated_columns: updated_columns.to_vec(),
        };
        let hooks = Arc::clone(&env.hooks);
        let found = hooks
            .statement(&mut Cx { env, exec: cx }, table, &event)
            .map_err(from_extension)?;
        Ok(match found {
            Some(hooks) => Fire {
                env: self.env.as_deref_mut(),
                hooks: Some(hooks),
                table: Some(Arc::clone(table)),
            },
            None => Fire::default(),
        })
    }
}

/// The hooks of one statement on one table.
#[derive(Default)]
pub(crate) struct Fire<'f, 's> {
    env: Option<&'f mut HookEnv<'s>>,
    hooks: Option<Box<dyn StatementHooks>>,
    table: Option<Arc<TableDef>>,
}

impl Fire<'_, '_> {
    /// `BEFORE … FOR EACH STATEMENT`
    pub(crate) fn before_statement(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<()> {
        let (Some(env), Some(hooks)) = (self.env.as_deref_mut(), self.hooks.as_mut()) else {
            return Ok(());
        };
        hooks
            .before_statement(&mut Cx { env, exec: cx })
            .map_err(from_extension)
    }

    /// `BEFORE … FOR EACH ROW` of an INSERT or UPDATE: the row to write,
    /// with the table's column types, or `None` to skip it.
    pub(crate) fn before_row(
        &mut self,
        cx: &mut ExecCtx<'_>,
        op: TriggerOperation,
        old: Option<&[Value]>,
        new: Row,
    ) -> SqlResult<Option<Row>> {
        let (Some(env), Some(hooks), Some(table)) =
            (self.env.as_deref_mut(), self.hooks.as_mut(), &self.table)
        else {
            return Ok(Some(new));
        };
        if !hooks.has_before_row(op) {
            return Ok(Some(new));
        }
        match hooks
            .before_row(&mut Cx { env, exec: cx }, op, old, Some(&new))
            .map_err(from_extension)?
        {
            TriggerOutcome::Keep => Ok(Some(new)),
            TriggerOutcome::Skip => Ok(None),
            TriggerOutcome::Modified(row) => conform(table, row).map(Some),
        }
    }

    /// `BEFORE DELETE … FOR EACH ROW`: whether to delete the row.
    pub(crate) fn before_delete(&mut self, cx: &mut ExecCtx<'_>, old: &[Value]) -> SqlResult<bool> {
        let (Some(env), Some(hooks)) = (self.env.as_deref_mut(), self.hooks.as_mut()) else {
            return Ok(true);
        };
        if !hooks.has_before_row(TriggerOperation::Delete) {
            return Ok(true);
        }
        let outcome = hooks
            .before_row(
                &mut Cx { env, exec: cx },
                TriggerOperation::Delete,
                Some(old),
                None,
            )
            .map_err(from_extension)?;
        Ok(outcome != TriggerOutcome::Skip)
    }

    /// Whether an `INSTEAD OF … FOR EACH ROW` trigger takes `op` on this
    /// view: without one a view cannot be written.
    pub(crate) fn has_instead_of(&self, op: TriggerOperation) -> bool {
        self.env.is_some()
            && self
                .hooks
                .as_ref()
                .is_some_and(|h| h.has_instead_of_row(op))
    }

    /// `INSTEAD OF … FOR EACH ROW` on a view: the row as the triggers
    /// wrote it (`new`'s place for INSERT and UPDATE, `old` for DELETE),
    /// or `None` when one skipped it.
    pub(crate) fn instead_of_row(
        &mut self,
        cx: &mut ExecCtx<'_>,
        op: TriggerOperation,
        old: Option<&[Value]>,
        new: Option<Row>,
    ) -> SqlResult<Option<Row>> {
        let (Some(env), Some(hooks), Some(table)) =
            (self.env.as_deref_mut(), self.hooks.as_mut(), &self.table)
        else {
            return Err(SqlError::Internal("no INSTEAD OF triggers to fire".into()));
        };
        let outcome = hooks
            .instead_of_row(&mut Cx { env, exec: cx }, op, old, new.as_deref())
            .map_err(from_extension)?;
        let written = new.or_else(|| old.map(<[Value]>::to_vec));
        match outcome {
            TriggerOutcome::Skip => Ok(None),
            TriggerOutcome::Modified(row) if op != TriggerOperation::Delete => {
                conform(table, row).map(Some)
            }
            TriggerOutcome::Keep | TriggerOutcome::Modified(_) => Ok(written),
        }
    }

    /// After a row was written.
    pub(crate) fn after_row(
        &mut self,
        cx: &mut ExecCtx<'_>,
        op: TriggerOperation,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> SqlResult<()> {
        let (Some(env), Some(hooks)) = (self.env.as_deref_mut(), self.hooks.as_mut()) else {
            return Ok(());
        };
        hooks
            .after_row(&mut Cx { env, exec: cx }, op, old, new)
            .map_err(from_extension)
    }

    /// After the last row: queued row triggers, then statement triggers.
    pub(crate) fn after_statement(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<()> {
        let (Some(env), Some(hooks)) = (self.env.as_deref_mut(), self.hooks.as_mut()) else {
            return Ok(());
        };
        hooks
            .after_statement(&mut Cx { env, exec: cx })
            .map_err(from_extension)
    }
}

/// A row a BEFORE trigger returned, checked against the table's shape and
/// assigned its column types (constraints are checked after, as usual).
fn conform(table: &TableDef, row: Row) -> SqlResult<Row> {
    if row.len() != table.columns.len() {
        return Err(SqlError::Routine {
            state: crate::SqlState::from_code("39000").unwrap_or(crate::SqlState::INTERNAL_ERROR),
            message: format!(
                "trigger returned a row of {} columns for table \"{}\" of {}",
                row.len(),
                table.name,
                table.columns.len()
            ),
            detail: None,
        });
    }
    row.into_iter()
        .zip(&table.columns)
        .map(|(v, c)| {
            if v.is_null() {
                Ok(v)
            } else {
                v.assign(&c.ty).map_err(SqlError::from)
            }
        })
        .collect()
}

/// The engine's side of a hook call: the executor's context and the
/// statement's firing state.
struct Cx<'a, 'b, 'c, 's> {
    env: &'a mut HookEnv<'s>,
    exec: &'b mut ExecCtx<'c>,
}

fn ext(e: SqlError) -> ExtensionError {
    to_extension(e)
}

impl HookContext for Cx<'_, '_, '_, '_> {
    fn txn(&mut self) -> &mut dyn KvTxn {
        &mut *self.exec.txn
    }

    fn catalog(&self) -> &Catalog {
        self.exec.catalog
    }

    fn depth(&self) -> u32 {
        self.env.session.call_depth
    }

    fn bind_condition(
        &mut self,
        table: &TableDef,
        condition: &ast::Expr,
    ) -> Result<RowCondition, ExtensionError> {
        let mut b = Binder::new(self.exec.catalog, &[]);
        let mut scope = table_scope(table, "old");
        scope.extend(table_scope(table, "new"));
        b.scopes = vec![scope];
        let e = b.bind_expr(condition).map_err(ext)?;
        if e.ty() != DataType::Bool {
            return Err(ext(SqlError::DatatypeMismatch(format!(
                "argument of WHEN must be type boolean, not type {}",
                e.ty().name()
            ))));
        }
        Ok(RowCondition(e))
    }

    fn view(&mut self, name: &str) -> Result<Option<Arc<TableDef>>, ExtensionError> {
        let catalog = self.exec.catalog;
        catalog
            .view(name)
            .map(|v| super::ddl::view::view_table(catalog, v))
            .transpose()
            .map_err(ext)
    }

    fn eval_condition(
        &mut self,
        condition: &RowCondition,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<bool, ExtensionError> {
        let RowCondition(e) = condition;
        let width = |r: Option<&[Value]>| r.map_or(0, <[Value]>::len);
        let n = width(old).max(width(new));
        let mut row = Vec::with_capacity(2 * n);
        for side in [old, new] {
            match side {
                Some(r) => row.extend_from_slice(r),
                None => row.resize(row.len() + n, Value::Null),
            }
        }
        eval_predicate(e, &row, self.exec).map_err(ext)
    }

    fn call_trigger(
        &mut self,
        function: &RoutineDef,
        data: &TriggerData,
        transition: &[(String, Arc<Vec<Row>>)],
    ) -> Result<TriggerOutcome, ExtensionError> {
        // The common case, once per row: the module's sandbox for this
        // statement is open already, and there are no transition tables to
        // lend the function's SQL.
        if transition.is_empty()
            && let Some(handle) = self.env.handles.get(&function.module)
            && let Some(Some(calls)) = self.env.calls.get_mut(handle)
        {
            if let Some(host) = &self.env.host {
                host.run_as(function.runs_as(&self.env.session.user));
            }
            return calls.call(&function.export, data);
        }
        let invoker = self.env.session.invoker.clone().ok_or_else(|| {
            ExtensionError::new(
                crate::SqlState::FEATURE_NOT_SUPPORTED,
                "Wasm routines are not available: this database was opened without a routine host",
            )
        })?;
        let handle = match self.env.handles.get(&function.module) {
            Some(h) => h.clone(),
            None => {
                let module = records::module(&mut *self.exec.txn, &function.module)
                    .map_err(|e| ext(e.into()))?
                    .ok_or_else(|| {
                        ExtensionError::new(
                            ErrorCode::UNDEFINED_FUNCTION,
                            format!("module \"{}\" does not exist", function.module),
                        )
                    })?;
                let h =
                    ensure_loaded(invoker.as_ref(), &mut *self.exec.txn, &module).map_err(ext)?;
                self.env.handles.insert(function.module.clone(), h.clone());
                h
            }
        };
        let host = self.env.host();
        host.run_as(function.runs_as(&self.env.session.user));
        if !transition.is_empty() {
            host.set_transition_tables(
                transition
                    .iter()
                    .map(|(name, rows)| (name.clone(), transition_plan(data, name, rows)))
                    .collect(),
            );
        }
        let ctx = CallContext {
            sql: Arc::clone(&host) as Arc<dyn HostSql>,
            limits: crate::sql::resource_group::call_limits(
                self.exec.catalog,
                &self.env.session.user,
                &self.env.session.session_user,
                statement_timeout(self.env.session),
            ),
            cancel: self.env.session.cancel.clone(),
        };
        let calls = match self.env.calls.entry(handle.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(invoker.open_trigger_calls(&ctx, &handle)?)
            }
        };
        let result = match calls {
            Some(calls) => calls.call(&function.export, data),
            None => invoker.call_trigger(
                &ctx,
                crate::extension::RoutineRef::new(&handle, &function.export),
                data,
            ),
        };
        if !transition.is_empty() {
            host.set_transition_tables(Vec::new());
        }
        result
    }

    fn call_trigger_rows(
        &mut self,
        function: &RoutineDef,
        data: &TriggerData,
        events: Vec<RowEvent>,
    ) -> Result<(), ExtensionError> {
        let mut events = events.into_iter();
        loop {
            // Once the module's sandbox for this statement is open, it
            // takes the remaining events in one go; the first call opens it.
            if let Some(handle) = self.env.handles.get(&function.module)
                && let Some(Some(calls)) = self.env.calls.get_mut(handle)
            {
                if let Some(host) = &self.env.host {
                    host.run_as(function.runs_as(&self.env.session.user));
                }
                return calls.call_rows(&function.export, data, events.collect());
            }
            let Some(event) = events.next() else {
                return Ok(());
            };
            let mut one = data.clone();
            one.set_event(event);
            self.call_trigger(function, &one, &[])?;
        }
    }
}

/// A transition table as a relation of literal rows, shaped as the table.
fn transition_plan(data: &TriggerData, name: &str, rows: &[Row]) -> Plan {
    let types: Vec<DataType> = data.columns.iter().map(|c| c.data_type).collect();
    Plan::Values {
        rows: rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&types)
                    .map(|(v, t)| Expr::Literal(v.clone(), *t))
                    .collect()
            })
            .collect(),
        columns: data
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.clone(),
                table: Some(name.to_owned()),
                ty: c.data_type,
            })
            .collect(),
    }
}

/// Runs `f` as a writing statement over the session's transaction, with
/// the session's hooks when it has them.
pub(crate) fn with_firing<T>(
    session: &mut Session,
    params: &[Value],
    param_types: &[Option<DataType>],
    f: impl FnOnce(&mut ExecCtx<'_>, &mut Firing<'_, '_>) -> SqlResult<T>,
) -> SqlResult<T> {
    let txn = session
        .txn
        .take()
        .ok_or_else(|| SqlError::Internal("no transaction".into()))?;
    let shared = SharedTxn::new(txn);
    let (result, notices, settings) = run_shared(session, &shared, params, param_types, f);
    session.txn = shared.take();
    session.notices.extend(notices);
    if session.txn.is_none() {
        return Err(SqlError::Internal(
            "a statement lost its transaction".into(),
        ));
    }
    let result = result?;
    super::settings::apply(session, settings)?;
    Ok(result)
}

fn run_shared<T>(
    session: &Session,
    shared: &SharedTxn,
    params: &[Value],
    param_types: &[Option<DataType>],
    f: impl FnOnce(&mut ExecCtx<'_>, &mut Firing<'_, '_>) -> SqlResult<T>,
) -> (SqlResult<T>, Vec<Notice>, Vec<super::settings::Change>) {
    let mut handle = shared.clone();
    let catalog = match session.catalog.get(&mut handle) {
        Ok(c) => c,
        Err(e) => return (Err(e.into()), Vec::new(), Vec::new()),
    };
    let sequences = SessionSequences {
        kv: session.kv.clone(),
        catalog: catalog.clone(),
        current: session.sequence_values.clone(),
        blocks: session.sequence_blocks.clone(),
    };
    let cancel = session.cancel.clone();
    let routines = super::routine::query_calls::for_session(session, &catalog);
    let settings = super::settings::StatementSettings::of(session);
    let mut cx = ExecCtx {
        txn: &mut handle,
        catalog: &catalog,
        params,
        param_types,
        outer: Vec::new(),
        now: session.txn_start,
        cancel: &cancel,
        sequences: &sequences,
        user: &session.user,
        session_user: &session.session_user,
        settings: &settings,
        routines: routines.as_ref(),
        init_plans: Default::default(),
    };
    let routine_notices = |r: &Option<super::routine::query_calls::QueryRoutines>| {
        r.as_ref().map(|r| r.take_notices())
    };
    let Some(hooks) = session.hooks.clone() else {
        let result = f(&mut cx, &mut Firing::none());
        drop(cx);
        return (
            result,
            routine_notices(&routines).unwrap_or_default(),
            settings.take_changes(),
        );
    };
    let mut env = HookEnv {
        hooks,
        session,
        txn: shared.clone(),
        host: None,
        handles: HashMap::new(),
        calls: HashMap::new(),
    };
    let result = f(
        &mut cx,
        &mut Firing {
            env: Some(&mut env),
        },
    );
    let mut notices = env.finish();
    notices.extend(routine_notices(&routines).unwrap_or_default());
    drop(cx);
    (result, notices, settings.take_changes())
}

/// Runs DML statement `s` as [`execute`] does, bound again only when
/// `cache` does not hold it bound for the current catalog.
pub(crate) fn execute_dml_cached(
    session: &mut Session,
    s: &ast::Statement,
    params: &[Value],
    param_types: &[Option<DataType>],
    cache: &mut super::dml::BoundCache,
) -> SqlResult<StatementResult> {
    with_firing(session, params, param_types, |cx, fire| {
        super::dml::execute_cached(s, cx, fire, cache)
    })
}

/// Runs DML statement `s` once per parameter row of `rows` as one writing
/// statement (see [`super::dml::execute_cached_each`]): the transaction
/// handle, catalog and firing state are set up once for the batch. On an
/// error, `failed` is the index of the row that raised it.
pub(crate) fn execute_dml_batch(
    session: &mut Session,
    s: &ast::Statement,
    rows: &[Vec<Value>],
    types: &[Vec<Option<DataType>>],
    cache: &mut super::dml::BoundCache,
    failed: &mut Option<usize>,
) -> SqlResult<u64> {
    with_firing(session, &[], &[], |cx, fire| {
        super::dml::execute_cached_each(s, cx, fire, cache, rows, types).map_err(|(i, e)| {
            *failed = Some(i);
            e
        })
    })
}

/// Runs `s` if it is a statement the hooks take part in: INSERT, UPDATE,
/// DELETE, TRUNCATE, the trigger DDL (and `ALTER TABLE … ENABLE / DISABLE
/// TRIGGER`); `None` otherwise.
pub(crate) fn execute(
    session: &mut Session,
    s: &Statement,
    params: &[Value],
    param_types: &[Option<DataType>],
) -> Option<SqlResult<StatementResult>> {
    use ast::Statement as A;
    let ddl = match s {
        Statement::Trigger(ddl) => Some(ddl.as_ref().clone()),
        Statement::Standard(stmt) => match stmt.as_ref() {
            A::AlterTable {
                name, operations, ..
            } => set_enabled(name, operations),
            A::Insert(_) | A::Update { .. } | A::Delete(_) => {
                return Some(with_firing(session, params, param_types, |cx, fire| {
                    super::dml::execute(stmt, cx, fire)
                }));
            }
            A::Query(q) if super::dml::with::writes(q) => {
                return Some(with_firing(session, params, param_types, |cx, fire| {
                    super::dml::with::execute(q, cx, fire)
                }));
            }
            A::Truncate { .. } => {
                return Some(with_firing(session, params, param_types, |cx, fire| {
                    super::ddl::execute_truncate(stmt, cx, fire)
                }));
            }
            _ => return None,
        },
        _ => return None,
    };
    let ddl = ddl?;
    let Some(hooks) = session.hooks.clone() else {
        return Some(Err(SqlError::unsupported(
            "triggers are not available: this database was opened without the trigger machinery",
        )));
    };
    Some(with_firing(session, params, param_types, |cx, fire| {
        let Some(env) = fire.env.as_deref_mut() else {
            return Err(SqlError::Internal("hooks without a firing state".into()));
        };
        super::privilege::check_trigger_ddl(&ddl, cx)?;
        let tag = hooks
            .ddl(&mut Cx { env, exec: cx }, &ddl)
            .map_err(from_extension)?;
        Ok(StatementResult::Command(tag))
    }))
}

/// `ALTER TABLE t {ENABLE | DISABLE} TRIGGER {name | ALL | USER}`, when
/// that is all the statement does.
fn set_enabled(
    table: &ast::ObjectName,
    operations: &[ast::AlterTableOperation],
) -> Option<TriggerDdl> {
    let [op] = operations else {
        return None;
    };
    let (name, enabled) = match op {
        ast::AlterTableOperation::EnableTrigger { name } => (name, true),
        ast::AlterTableOperation::DisableTrigger { name } => (name, false),
        _ => return None,
    };
    let all = name.quote_style.is_none()
        && (name.value.eq_ignore_ascii_case("all") || name.value.eq_ignore_ascii_case("user"));
    Some(TriggerDdl::SetEnabled {
        table: table.clone(),
        trigger: (!all).then(|| name.clone()),
        enabled,
    })
}

/// The hooks' objects (triggers) that call routine `schema.name`, as
/// `trigger t on table x`; with `drop` they are dropped too. None without
/// hooks.
pub(crate) fn routine_dependents(
    session: &mut Session,
    schema: &str,
    name: &str,
    drop: bool,
) -> SqlResult<Vec<String>> {
    let Some(hooks) = session.hooks.clone() else {
        return Ok(Vec::new());
    };
    with_firing(session, &[], &[], |cx, fire| {
        let Some(env) = fire.env.as_deref_mut() else {
            return Err(SqlError::Internal("hooks without a firing state".into()));
        };
        hooks
            .routine_dependents(&mut Cx { env, exec: cx }, schema, name, drop)
            .map_err(from_extension)
    })
}
