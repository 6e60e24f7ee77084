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
use crate::catalog::Acl;
use crate::catalog::routine::{self as records, ModuleDef, RoutineDef, RoutineOrigin};
use crate::extension::{ColumnDescription, RoutineKind, Volatility};

use super::super::binder::{data_type, ident};
use super::super::error::{SqlError, SqlResult};
use super::super::parser::CreateProcedure;
use super::super::privilege::{not_owner, routine_noun, session_acts_as};
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
    let user = session.user.clone();
    let Some(module) = records::module(txn(session)?, &p.module)? else {
        return Err(SqlError::Semantic {
            state: SqlState::UNDEFINED_OBJECT,
            message: format!("module \"{}\" does not exist", p.module),
        });
    };
    let existing = records::routine(txn(session)?, &schema, &name)?;
    check_may_define(
        session,
        &schema,
        existing.as_ref().filter(|_| p.or_replace),
        p.security_definer,
        &module,
    )?;
    let txn = txn(session)?;
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
    if let Some(existing) = &existing {
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
            // A replacement keeps the owner and grants, as in PostgreSQL.
            acl: existing.map_or_else(|| Acl::routine_of(&user), |e| e.acl),
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
        let found = records::routine(txn(session)?, &schema, &name)?
            .filter(|r| r.kind == RoutineKind::Procedure);
        if let Some(r) = found {
            if !session_acts_as(session, &r.acl.owner)? {
                return Err(not_owner("procedure", &name));
            }
            records::delete_routine(txn(session)?, &schema, &name)?;
        } else if !if_exists {
            return Err(SqlError::UndefinedFunction(format!(
                "procedure {} does not exist",
                desc.name
            )));
        }
    }
    Ok(StatementResult::Command("DROP PROCEDURE".into()))
}

/// Before `CREATE [OR REPLACE]` of a routine in `schema` over `module`: the
/// user needs CREATE on the schema; only the owner of the routine it
/// replaces may replace it; and a SECURITY DEFINER routine runs its
/// module's code as its owner, so only a role the module belongs to (or a
/// superuser) may define one over it.
pub(super) fn check_may_define(
    session: &mut Session,
    schema: &str,
    existing: Option<&RoutineDef>,
    security_definer: bool,
    module: &ModuleDef,
) -> SqlResult<()> {
    let cache = session.catalog.clone();
    let catalog = cache.get(txn(session)?)?;
    super::super::schema::check_create(&catalog, &session.user, schema)?;
    if let Some(r) = existing
        && !session_acts_as(session, &r.acl.owner)?
    {
        return Err(not_owner(routine_noun(r.kind), &r.name));
    }
    if security_definer && !session_acts_as(session, &module.owner)? {
        return Err(not_owner("module", &module.name));
    }
    Ok(())
}
