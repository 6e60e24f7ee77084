//! `CREATE [OR REPLACE] MODULE` and `DROP MODULE`.
//!
//! Deploying validates and prepares the component through the invoker
//! *before* touching the catalog, so a module that breaks the contract
//! (foreign imports, a missing world, a bad description) fails with 42P17
//! and writes nothing. The catalog writes — module record, bytes, one
//! routine record per described routine under the schema named after the
//! module — are part of the caller's transaction: they commit or roll back
//! with it, and other sessions keep calling the version they see until
//! then. A call already running holds its own version and finishes on it.

use crate::SqlState;
use crate::catalog::routine::{self as records, ModuleDef, RoutineDef, RoutineOrigin};
use crate::catalog::{Acl, CatalogWriter};
use crate::extension::{Notice, NoticeLevel, RoutineKind};
use crate::types::Value;

use super::super::error::{SqlError, SqlResult};
use super::super::parser::ModuleSource;
use super::super::privilege::{not_owner, session_acts_as};
use super::super::session::{Session, StatementResult};
use super::{from_extension, invoker, module_bytes, txn};

/// `CREATE [OR REPLACE] MODULE name FROM source`
pub(super) fn create(
    session: &mut Session,
    name: &str,
    or_replace: bool,
    source: &ModuleSource,
    params: &[Value],
) -> SqlResult<StatementResult> {
    let invoker = invoker(session)?;
    let bytes = module_bytes(source, params)?;
    if !or_replace && records::module(txn(session)?, name)?.is_some() {
        return Err(duplicate(name));
    }
    // The module's routines go in a schema of its name, which must not be
    // one the system or CREATE SCHEMA made.
    let cache = session.catalog.clone();
    if cache
        .get(txn(session)?)?
        .schema(name)
        .is_some_and(|s| s.module.is_none())
    {
        return Err(super::super::schema::duplicate(name));
    }
    // Explicit routines bound to the module run its new code, SECURITY
    // DEFINER ones as their owners: only the module's owner replaces it.
    if let Some(old) = records::module(txn(session)?, name)?
        && !session_acts_as(session, &old.owner)?
    {
        return Err(not_owner("module", name));
    }
    let loaded = invoker.load_module(name, &bytes).map_err(from_extension)?;
    let created = session.txn_start;
    let user = session.user.clone();
    let txn = txn(session)?;
    let old = records::module(txn, name)?;
    if old.is_some() && !or_replace {
        return Err(duplicate(name));
    }
    let owner = old.as_ref().map_or(user, |m| m.owner.clone());
    // The described routines of the old version go, their grants kept for
    // the new version's routines of the same name; explicit procedures
    // bound to the module stay and call the new version's exports.
    let mut acls = std::collections::HashMap::new();
    for r in records::routines(txn)? {
        if r.module == name && r.origin == RoutineOrigin::Described {
            records::delete_routine(txn, &r.schema, &r.name)?;
            acls.insert(r.name, r.acl);
        }
    }
    for d in &loaded.routines {
        records::put_routine(
            txn,
            &RoutineDef {
                schema: name.to_owned(),
                name: d.name.clone(),
                kind: d.kind,
                module: name.to_owned(),
                export: d.name.clone(),
                params: d.params.clone(),
                returns: d.returns.clone(),
                volatility: d.volatility,
                strict: d.strict,
                security_definer: false,
                origin: RoutineOrigin::Described,
                acl: acls
                    .remove(&d.name)
                    .unwrap_or_else(|| Acl::routine_of(&owner)),
            },
        )?;
    }
    let module = ModuleDef {
        name: name.to_owned(),
        version: old.as_ref().map_or(1, |m| m.version + 1),
        sha256: loaded.sha256.clone(),
        size: bytes.len() as u64,
        exports: loaded.routines.iter().map(|r| r.name.clone()).collect(),
        created,
        handle: loaded.handle.clone(),
        owner,
    };
    records::put_module(txn, &module, &bytes)?;
    if let Some(old) = old
        && old.handle != loaded.handle
    {
        // Calls in flight keep their version; a session that still sees
        // the old one (before this commits, or if it rolls back) loads it
        // again from the catalog.
        invoker.unload_module(&old.handle);
    }
    Ok(StatementResult::Command("CREATE MODULE".into()))
}

fn duplicate(name: &str) -> SqlError {
    SqlError::Semantic {
        state: SqlState::DUPLICATE_OBJECT,
        message: format!("module \"{name}\" already exists"),
    }
}

/// `DROP MODULE [IF EXISTS] name [CASCADE | RESTRICT]`
pub(super) fn drop(
    session: &mut Session,
    name: &str,
    if_exists: bool,
    cascade: bool,
) -> SqlResult<StatementResult> {
    let invoker = session.invoker.clone();
    let txn = txn(session)?;
    let Some(module) = records::module(txn, name)? else {
        if if_exists {
            session.notices.push(Notice {
                level: NoticeLevel::Notice,
                message: format!("module \"{name}\" does not exist, skipping"),
            });
            return Ok(StatementResult::Command("DROP MODULE".into()));
        }
        return Err(SqlError::Semantic {
            state: SqlState::UNDEFINED_OBJECT,
            message: format!("module \"{name}\" does not exist"),
        });
    };
    if !session_acts_as(session, &module.owner)? {
        return Err(not_owner("module", name));
    }
    let txn = super::txn(session)?;
    let bound: Vec<RoutineDef> = records::routines(txn)?
        .into_iter()
        .filter(|r| r.module == name)
        .collect();
    let dependents: Vec<String> = bound
        .iter()
        .filter(|r| r.origin == RoutineOrigin::Explicit)
        .map(RoutineDef::qualified_name)
        .collect();
    if !dependents.is_empty() && !cascade {
        return Err(SqlError::Routine {
            state: SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
            message: format!("cannot drop module {name} because other objects depend on it"),
            detail: Some(format!(
                "routines {} depend on module {name}; use DROP ... CASCADE to drop them too",
                dependents.join(", ")
            )),
        });
    }
    // Triggers call trigger functions by name: they block the drop, or
    // with CASCADE go with their functions.
    for r in bound.iter().filter(|r| r.kind == RoutineKind::Trigger) {
        let shown = format!("function {}()", r.qualified_name());
        super::function::drop_dependent_triggers(session, &shown, r, cascade)?;
    }
    let txn = super::txn(session)?;
    for r in &bound {
        records::delete_routine(txn, &r.schema, &r.name)?;
    }
    records::delete_module(txn, &module)?;
    // Grants on its schema go with it, as the schema does.
    CatalogWriter::new(txn).drop_schema(name)?;
    if let Some(invoker) = invoker {
        invoker.unload_module(&module.handle);
    }
    Ok(StatementResult::Command("DROP MODULE".into()))
}
