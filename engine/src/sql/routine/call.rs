//! `CALL name(args)`: the life of a call on the engine's side.
//!
//! 1. Resolve `name` (`schema.name`, or `public.name`) to a procedure
//!    record and its module record, as the caller's transaction sees them.
//! 2. Evaluate the arguments and cast them to the parameter types.
//! 3. Make sure the invoker holds that module version (a restart, a
//!    rollback or a replacement may have left it without): if not, give it
//!    the bytes from the catalog again.
//! 4. Move the transaction into a [`CallerSql`] for the call, with the
//!    session's cancel flag and `statement_timeout` as the call's limits.
//! 5. Call, take the transaction and the notices back, whatever happened.
//!    An error leaves the transaction to the statement savepoint around
//!    the CALL, which undoes exactly what the call changed.

use std::sync::Arc;
use std::time::Duration;

use sqlparser::ast;

use crate::SqlState;
use crate::catalog::KvTxn;
use crate::catalog::routine::{self as records, ModuleDef, RoutineDef};
use crate::extension::{CallContext, HostSql, RoutineInvoker, RoutineKind, RoutineRef};
use crate::types::{DataType, Value};

use super::super::binder::Binder;
use super::super::error::{SqlError, SqlResult};
use super::super::exec::ExecCtx;
use super::super::expr::eval;
use super::super::parser::{ModuleSource, Statement};
use super::super::privilege::check_execute;
use super::super::session::{ColumnDesc, Session, StatementResult};
use super::host_sql::CallerSql;
use super::{from_extension, invoker, split_name, txn};

/// Calls nested deeper than this (guest SQL calling procedures calling
/// procedures …) fail with 54001 rather than exhaust threads' stacks.
const MAX_CALL_DEPTH: u32 = 16;

/// `CALL`
pub(super) fn call(
    session: &mut Session,
    f: &ast::Function,
    params: &[Value],
    param_types: &[Option<DataType>],
) -> SqlResult<StatementResult> {
    let invoker = invoker(session)?;
    if session.call_depth >= MAX_CALL_DEPTH {
        return Err(SqlError::Semantic {
            state: SqlState::from_code("54001").unwrap_or(SqlState::PROGRAM_LIMIT_EXCEEDED),
            message: format!("routine calls nested more than {MAX_CALL_DEPTH} deep"),
        });
    }
    let (schema, name) = split_name(&f.name)?;
    let routine = procedure(txn(session)?, &schema, &name)?;
    let cache = session.catalog.clone();
    let catalog = cache.get(txn(session)?)?;
    check_execute(&catalog, &session.user, &routine)?;
    let args = arguments(session, f, &routine, params, param_types)?;
    let txn_ref = txn(session)?;
    let module = records::module(txn_ref, &routine.module)?.ok_or_else(|| SqlError::Semantic {
        state: SqlState::UNDEFINED_OBJECT,
        message: format!("module \"{}\" does not exist", routine.module),
    })?;
    let handle = ensure_loaded(invoker.as_ref(), txn_ref, &module)?;
    let limits = crate::sql::resource_group::call_limits(
        &catalog,
        &session.user,
        &session.session_user,
        statement_timeout(session),
    );

    let txn = session
        .txn
        .take()
        .ok_or_else(|| SqlError::Internal("no transaction".into()))?;
    let host = Arc::new(CallerSql::new(session, txn, routine.runs_as(&session.user)));
    let ctx = CallContext {
        sql: Arc::clone(&host) as Arc<dyn HostSql>,
        limits,
        cancel: session.cancel.clone(),
    };
    let result = invoker.call_procedure(&ctx, RoutineRef::new(&handle, &routine.export), &args);
    drop(ctx);
    let (txn, notices) = host.finish();
    session.txn = txn;
    session.notices.extend(notices);
    if session.txn.is_none() {
        return Err(SqlError::Internal("a call lost its transaction".into()));
    }

    let rows = result.map_err(from_extension)?;
    if rows.columns.is_empty() {
        return Ok(StatementResult::Command("CALL".into()));
    }
    Ok(StatementResult::Rows {
        columns: rows
            .columns
            .into_iter()
            .map(|c| ColumnDesc {
                name: c.name,
                ty: c.data_type,
            })
            .collect(),
        rows: rows.rows,
        tag: "CALL".into(),
    })
}

fn procedure(txn: &mut dyn KvTxn, schema: &str, name: &str) -> SqlResult<RoutineDef> {
    records::routine(txn, schema, name)?
        .filter(|r| r.kind == RoutineKind::Procedure)
        .ok_or_else(|| {
            let shown = if schema == "public" {
                name.to_owned()
            } else {
                format!("{schema}.{name}")
            };
            SqlError::UndefinedFunction(format!("procedure {shown} does not exist"))
        })
}

/// The argument values, cast to the procedure's parameter types.
fn arguments(
    session: &mut Session,
    f: &ast::Function,
    routine: &RoutineDef,
    params: &[Value],
    param_types: &[Option<DataType>],
) -> SqlResult<Vec<Value>> {
    let exprs: Vec<&ast::Expr> = match &f.args {
        ast::FunctionArguments::None => Vec::new(),
        ast::FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e),
                other => Err(SqlError::unsupported(format!(
                    "procedure argument {other} is not supported yet"
                ))),
            })
            .collect::<SqlResult<_>>()?,
        ast::FunctionArguments::Subquery(_) => {
            return Err(SqlError::Syntax(
                "a procedure takes arguments, not a query".into(),
            ));
        }
    };
    if exprs.len() != routine.params.len() {
        let types: Vec<&str> = routine.params.iter().map(|p| p.data_type.name()).collect();
        return Err(SqlError::UndefinedFunction(format!(
            "procedure {}({}) takes {} arguments, {} given",
            routine.qualified_name(),
            types.join(", "),
            routine.params.len(),
            exprs.len()
        )));
    }
    let now = session.txn_start;
    let cancel = session.cancel.clone();
    let cache = session.catalog.clone();
    let user = session.user.clone();
    let session_user = session.session_user.clone();
    let settings = crate::sql::settings::StatementSettings::of(session);
    let txn = txn(session)?;
    let catalog = cache.get(txn)?;
    let no_sequences = |_: u32| -> SqlResult<i64> {
        Err(SqlError::unsupported("sequences are not supported yet"))
    };
    let mut cx = ExecCtx {
        txn,
        catalog: &catalog,
        params,
        param_types,
        outer: Vec::new(),
        now,
        cancel: &cancel,
        sequences: &no_sequences,
        user: &user,
        session_user: &session_user,
        settings: &settings,
        routines: None,
        init_plans: Default::default(),
    };
    let args = exprs
        .into_iter()
        .zip(&routine.params)
        .map(|(e, p)| {
            let mut binder = Binder::for_statement(&cx, None);
            let bound = binder.bind_expr(e)?;
            let v = eval(&bound, &[], &mut cx)?;
            Ok(if v.is_null() {
                v
            } else {
                v.cast(&p.data_type)?
            })
        })
        .collect::<SqlResult<Vec<Value>>>()?;
    drop(cx);
    // `CALL p(set_config(…))`: the routine runs under the new setting.
    crate::sql::settings::apply(session, settings.take_changes())?;
    Ok(args)
}

/// The handle of the module version the caller sees, loading it into the
/// invoker from the catalog's bytes when the invoker does not hold it.
pub(crate) fn ensure_loaded(
    invoker: &dyn RoutineInvoker,
    txn: &mut dyn KvTxn,
    module: &ModuleDef,
) -> SqlResult<String> {
    if invoker.is_loaded(&module.handle) {
        return Ok(module.handle.clone());
    }
    let bytes = records::module_bytes(txn, &module.sha256)?.ok_or_else(|| {
        SqlError::Internal(format!(
            "the bytes of module \"{}\" are missing",
            module.name
        ))
    })?;
    let loaded = invoker
        .load_module(&module.name, &bytes)
        .map_err(from_extension)?;
    Ok(loaded.handle)
}

/// `statement_timeout` as the call's time limit (`None` when 0, unset or
/// unreadable: the host's own limit applies).
pub(crate) fn statement_timeout(session: &Session) -> Option<Duration> {
    crate::sql::settings::duration(session, "statement_timeout")
}

/// The parameter types and result columns of a prepared module or routine
/// statement, which the binder does not see: `$n` of `CREATE MODULE … FROM
/// $n` and of `CREATE MODEL … PARAMETERS $n` is bytea; the arguments of `CALL p($1, …)` have the procedure's
/// parameter types, and its result the rows the procedure declares.
pub(crate) fn describe_params(
    statement: &Statement,
    txn: &mut dyn KvTxn,
    types: &mut Vec<DataType>,
    columns: &mut Vec<ColumnDesc>,
) -> SqlResult<()> {
    match statement {
        Statement::CreateModule {
            source: ModuleSource::Parameter(n),
            ..
        } => bytea_param(types, *n),
        Statement::CreateFunction(f) => {
            if let Some(ModuleSource::Parameter(n)) = f.parameters {
                bytea_param(types, n);
            }
        }
        Statement::Standard(s) => {
            if let ast::Statement::Call(f) = s.as_ref() {
                let (schema, name) = split_name(&f.name)?;
                let Some(routine) = records::routine(txn, &schema, &name)? else {
                    return Ok(());
                };
                if let ast::FunctionArguments::List(list) = &f.args {
                    for (arg, p) in list.args.iter().zip(&routine.params) {
                        if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                            ast::Expr::Value(v),
                        )) = arg
                            && let ast::Value::Placeholder(ph) = &v.value
                            && let Some(i) =
                                ph.strip_prefix('$').and_then(|d| d.parse::<usize>().ok())
                            && i >= 1
                        {
                            if types.len() < i {
                                types.resize(i, DataType::Text);
                            }
                            types[i - 1] = p.data_type;
                        }
                    }
                }
                *columns = routine
                    .returns
                    .iter()
                    .map(|c| ColumnDesc {
                        name: c.name.clone(),
                        ty: c.data_type,
                    })
                    .collect();
            }
        }
        _ => {}
    }
    Ok(())
}

/// Parameter `$n` (1-based, as the parser only accepts) is bytea; those
/// before it that nothing typed stay text.
fn bytea_param(types: &mut Vec<DataType>, n: usize) {
    if n == 0 {
        return;
    }
    if types.len() < n {
        types.resize(n, DataType::Text);
    }
    types[n - 1] = DataType::Bytea;
}
