//! Modules and stored procedures from SQL: `CREATE [OR REPLACE] MODULE`,
//! `DROP MODULE`, `CREATE [OR REPLACE] PROCEDURE … LANGUAGE wasm`, `DROP
//! PROCEDURE`, `CALL`, and the system views `rustydb_modules` and
//! `rustydb_stat_wasm`.
//!
//! The engine does not know how user code runs: it owns the catalog records
//! (`catalog::routine`) and calls an injected
//! [`RoutineInvoker`](crate::extension::RoutineInvoker). The catalog decides
//! which version of a module a call runs (the one the caller's transaction
//! sees); the invoker keeps prepared versions under their handles and is
//! given the bytes again from the catalog when it lacks one.
//!
//! * `module.rs` — deploy (validate through the invoker, register described
//!   routines under a schema named after the module) and drop.
//! * `procedure.rs` — explicit bindings of an export to a procedure name.
//! * `function.rs` — the same for functions, aggregates and models.
//! * `call.rs` — `CALL`: resolve, evaluate arguments, hand the caller's
//!   transaction to the guest for the call, take it back.
//! * `host_sql.rs` — the engine's [`HostSql`](crate::extension::HostSql):
//!   guest SQL as statements of a nested session over that transaction.
//! * `query_calls.rs` — Wasm functions and models called from queries: one
//!   warm instance per module per statement, batches, folding, STRICT.
//! * `views.rs` — the rows of the system views.

pub(crate) mod call;
mod function;
pub(crate) mod host_sql;
mod module;
mod procedure;
pub(crate) mod query_calls;
pub(crate) mod views;

use std::sync::Arc;

use sqlparser::ast;

use crate::SqlState;
use crate::catalog::KvTxn;
use crate::extension::{ExtensionError, RoutineInvoker};
use crate::types::{DataType, Value};

use super::binder::ident;
use super::error::{SqlError, SqlResult};
use super::parser::{FunctionKind, ModuleSource, Statement};
use super::session::{Session, StatementResult};

pub(crate) use call::describe_params;
pub(crate) use function::drop_dependent_triggers;

/// Runs `s` if it is a module or routine statement; `None` otherwise.
pub(crate) fn execute(
    session: &mut Session,
    s: &Statement,
    params: &[Value],
    param_types: &[Option<DataType>],
) -> Option<SqlResult<StatementResult>> {
    Some(match s {
        Statement::CreateModule {
            name,
            or_replace,
            source,
        } => module::create(session, &ident(name), *or_replace, source, params),
        Statement::DropModule {
            name,
            if_exists,
            cascade,
        } => module::drop(session, &ident(name), *if_exists, *cascade),
        Statement::CreateProcedure(p) => procedure::create(session, p),
        Statement::CreateFunction(f) => function::create(session, f, params),
        Statement::DropRoutine {
            kind,
            names,
            if_exists,
        } => function::drop(
            session,
            *kind,
            &names.iter().collect::<Vec<_>>(),
            *if_exists,
            false,
        ),
        Statement::Standard(stmt) => match stmt.as_ref() {
            ast::Statement::Call(f) => call::call(session, f, params, param_types),
            ast::Statement::DropProcedure {
                if_exists,
                proc_desc,
                ..
            } => procedure::drop(session, *if_exists, proc_desc),
            ast::Statement::DropFunction {
                if_exists,
                func_desc,
                drop_behavior,
            } => function::drop(
                session,
                FunctionKind::Function,
                &func_desc.iter().map(|d| &d.name).collect::<Vec<_>>(),
                *if_exists,
                matches!(drop_behavior, Some(ast::DropBehavior::Cascade)),
            ),
            _ => return None,
        },
        _ => return None,
    })
}

/// The session's routine host, or 0A000 when the database was opened
/// without one (an embedder that did not inject the Wasm host).
fn invoker(session: &Session) -> SqlResult<Arc<dyn RoutineInvoker>> {
    session.invoker.clone().ok_or_else(|| {
        SqlError::unsupported(
            "Wasm routines are not available: this database was opened without a routine host",
        )
    })
}

/// The session's open transaction (every statement runs in one).
fn txn(session: &mut Session) -> SqlResult<&mut dyn KvTxn> {
    match session.txn.as_mut() {
        Some(t) => Ok(t.as_mut()),
        None => Err(SqlError::Internal("no transaction".into())),
    }
}

/// An error of user code or of its sandbox, keeping its SQLSTATE.
pub(crate) fn from_extension(e: ExtensionError) -> SqlError {
    SqlError::Routine {
        state: SqlState::from_code(e.code.as_str()).unwrap_or(SqlState::INTERNAL_ERROR),
        message: e.message,
        detail: e.detail,
    }
}

/// `schema.name` or `name` (schema `public`), lower-cased unless quoted.
pub(crate) fn split_name(name: &ast::ObjectName) -> SqlResult<(String, String)> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| {
            p.as_ident()
                .map(ident)
                .ok_or_else(|| SqlError::Syntax(format!("invalid routine name {name}")))
        })
        .collect::<SqlResult<_>>()?;
    match parts.as_slice() {
        [n] => Ok(("public".to_owned(), n.clone())),
        [s, n] => Ok((s.clone(), n.clone())),
        _ => Err(SqlError::Syntax(format!(
            "improper qualified name (too many dotted names): {name}"
        ))),
    }
}

/// The component bytes `CREATE MODULE` names.
fn module_bytes(source: &ModuleSource, params: &[Value]) -> SqlResult<Vec<u8>> {
    match source {
        ModuleSource::Parameter(n) => match params.get(n - 1) {
            Some(Value::Bytea(b)) => Ok(b.clone()),
            Some(Value::Text(t)) => bytea_text(t),
            Some(Value::Null) => Err(SqlError::data(
                SqlState::INVALID_PARAMETER_VALUE,
                "the module bytes must not be NULL",
            )),
            Some(other) => Err(SqlError::DatatypeMismatch(format!(
                "the module bytes must be bytea, not {}",
                other.data_type().map_or("unknown", |t| t.name())
            ))),
            None => Err(SqlError::Semantic {
                state: SqlState::UNDEFINED_PARAMETER,
                message: format!("there is no parameter ${n}"),
            }),
        },
        ModuleSource::Literal(text) => bytea_text(text),
        // Superusers only (DESIGN §4); every session is the superuser until
        // roles arrive, so the check lands with them.
        ModuleSource::File(path) => std::fs::read(path).map_err(|e| SqlError::Routine {
            state: SqlState::IO_ERROR,
            message: format!("could not read file \"{path}\": {e}"),
            detail: None,
        }),
    }
}

fn bytea_text(text: &str) -> SqlResult<Vec<u8>> {
    match crate::types::parse(text, &DataType::Bytea)? {
        Value::Bytea(b) => Ok(b),
        _ => Err(SqlError::Internal("bytea input gave another type".into())),
    }
}
