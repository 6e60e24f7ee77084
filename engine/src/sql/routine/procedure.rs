//! `CREATE [OR REPLACE] PROCEDURE … LANGUAGE wasm AS 'module', 'export'`
//! and `DROP PROCEDURE`.
//!
//! An explicit procedure binds a name of the user's choosing to an export
//! the module describes. The declared parameter types must be the
//! described ones (modifiers aside): the guest decodes its arguments by
//! those types, so a mismatch is refused here (42P13) rather than failing
//! at every call.

use sqlparser::ast;

use crate::SqlState;
use crate::catalog::routine::{self as records, RoutineDef, RoutineOrigin};
use crate::extension::{ColumnDescription, RoutineKind, Volatility};

use super::super::binder::{data_type, ident};
use super::super::error::{SqlError, SqlResult};
use super::super::parser::CreateProcedure;
use super::super::session::{Session, StatementResult};
use super::{split_name, txn};

fn invalid_definition(message: String) -> SqlError {
    SqlError::Semantic {
        state: SqlState::from_code("42P13").unwrap_or(SqlState::INTERNAL_ERROR),
        message,
    }
}

/// `CREATE [OR REPLACE] PROCEDURE`
pub(super) fn create(session: &mut Session, p: &CreateProcedure) -> SqlResult<StatementResult> {
    match p.language.as_ref().map(|l| l.value.to_lowercase()) {
        Some(l) if l == "wasm" => {}
        Some(l) => {
            return Err(SqlError::Semantic {
                state: SqlState::UNDEFINED_OBJECT,
                message: format!("language \"{l}\" does not exist"),
            });
        }
        None => return Err(invalid_definition("no language specified".into())),
    }
    let (schema, name) = split_name(&p.name)?;
    let params: Vec<ColumnDescription> = p
        .params
        .iter()
        .map(|a| {
            Ok(ColumnDescription {
                name: a.name.as_ref().map(ident).unwrap_or_default(),
                data_type: data_type(&a.data_type)?,
            })
        })
        .collect::<SqlResult<_>>()?;
    let txn = txn(session)?;
    if records::module(txn, &p.module)?.is_none() {
        return Err(SqlError::Semantic {
            state: SqlState::UNDEFINED_OBJECT,
            message: format!("module \"{}\" does not exist", p.module),
        });
    }
    let described = records::routine(txn, &p.module, &p.export)?
        .filter(|r| r.origin == RoutineOrigin::Described && r.kind == RoutineKind::Procedure)
        .ok_or_else(|| {
            SqlError::UndefinedFunction(format!(
                "module \"{}\" has no procedure \"{}\"",
                p.module, p.export
            ))
        })?;
    let declared: Vec<&str> = params.iter().map(|c| c.data_type.name()).collect();
    let expected: Vec<&str> = described
        .params
        .iter()
        .map(|c| c.data_type.name())
        .collect();
    if declared != expected {
        return Err(invalid_definition(format!(
            "procedure {name}({}) does not match {}.{}({})",
            declared.join(", "),
            p.module,
            p.export,
            expected.join(", ")
        )));
    }
    if let Some(existing) = records::routine(txn, &schema, &name)? {
        if !p.or_replace {
            return Err(SqlError::Semantic {
                state: SqlState::from_code("42723").unwrap_or(SqlState::DUPLICATE_OBJECT),
                message: format!("procedure \"{name}\" already exists"),
            });
        }
        if existing.origin == RoutineOrigin::Described {
            return Err(SqlError::Semantic {
                state: SqlState::DUPLICATE_OBJECT,
                message: format!(
                    "\"{schema}.{name}\" is a routine of module \"{schema}\"; replace the module instead"
                ),
            });
        }
    }
    records::put_routine(
        txn,
        &RoutineDef {
            schema,
            name,
            kind: RoutineKind::Procedure,
            module: p.module.clone(),
            export: p.export.clone(),
            params,
            returns: described.returns,
            volatility: Volatility::Volatile,
            strict: false,
            security_definer: p.security_definer,
            origin: RoutineOrigin::Explicit,
        },
    )?;
    Ok(StatementResult::Command("CREATE PROCEDURE".into()))
}

/// `DROP PROCEDURE [IF EXISTS] name [(args)] [, …]`
pub(super) fn drop(
    session: &mut Session,
    if_exists: bool,
    procs: &[ast::FunctionDesc],
) -> SqlResult<StatementResult> {
    for desc in procs {
        let (schema, name) = split_name(&desc.name)?;
        let txn = txn(session)?;
        let found = records::routine(txn, &schema, &name)?
            .filter(|r| r.kind == RoutineKind::Procedure)
            .is_some();
        if found {
            records::delete_routine(txn, &schema, &name)?;
        } else if !if_exists {
            return Err(SqlError::UndefinedFunction(format!(
                "procedure {} does not exist",
                desc.name
            )));
        }
    }
    Ok(StatementResult::Command("DROP PROCEDURE".into()))
}
