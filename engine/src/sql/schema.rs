//! Schemas from SQL: `CREATE SCHEMA`, `DROP SCHEMA`, `ALTER SCHEMA …
//! RENAME TO | OWNER TO`, `GRANT` / `REVOKE … ON SCHEMA`, and the checks
//! that reaching or creating an object in a schema makes.
//!
//! PostgreSQL's rules: a schema's owner and a superuser may do anything
//! with it; anyone else needs USAGE to reach what is in it (look a routine
//! up, read a table) and CREATE to create objects in it. `public` grants
//! USAGE to PUBLIC and, since PostgreSQL 15, no CREATE; a new schema
//! grants nothing. Creating, renaming or giving away a schema also needs
//! CREATE on the database, which only its owner, the bootstrap superuser,
//! holds (there is no `GRANT … ON DATABASE`): superusers only.
//!
//! What lives where: tables, views and sequences in `public`; routines in
//! `public`, in their module's schema, or in a schema of `CREATE SCHEMA`.

use std::sync::Arc;

use sqlparser::ast;

use crate::SqlState;
use crate::catalog::routine::{self as records, RoutineDef};
use crate::catalog::{
    Acl, Catalog, CatalogWriter, KvTxn, PUBLIC_SCHEMA, Privileges, SYSTEM_SCHEMAS, SchemaDef,
};
use crate::extension::{Notice, NoticeLevel, RoutineKind};

use super::binder::ident;
use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::parser::Statement;
use super::privilege::{acts_as_owner, denied, invalid_grant_operation, not_owner, routine_noun};
use super::session::{Session, StatementResult};

/// The one database, whose CREATE privilege schema DDL needs.
const DATABASE: &str = "rustydb";

fn semantic(state: SqlState, message: String) -> SqlError {
    SqlError::Semantic { state, message }
}

/// 3F000 `schema "s" does not exist`.
pub(crate) fn undefined(name: &str) -> SqlError {
    semantic(
        SqlState::INVALID_SCHEMA_NAME,
        format!("schema \"{name}\" does not exist"),
    )
}

/// 42P06 `schema "s" already exists`.
pub(crate) fn duplicate(name: &str) -> SqlError {
    semantic(
        SqlState::DUPLICATE_SCHEMA,
        format!("schema \"{name}\" already exists"),
    )
}

/// Fails unless `user` may reach objects in schema `name` (USAGE).
pub(crate) fn check_usage(catalog: &Catalog, user: &str, name: &str) -> SqlResult<()> {
    if catalog.may_use_schema(user, name, Privileges::USAGE) {
        Ok(())
    } else {
        Err(denied("schema", name))
    }
}

/// Fails unless schema `name` exists and `user` may create objects in it
/// (CREATE).
pub(crate) fn check_create(catalog: &Catalog, user: &str, name: &str) -> SqlResult<()> {
    if catalog.schema(name).is_none() {
        return Err(undefined(name));
    }
    if catalog.may_use_schema(user, name, Privileges::CREATE) {
        Ok(())
    } else {
        Err(denied("schema", name))
    }
}

/// Before creating table, view or sequence `name`: they all live in
/// `public`, so another schema is refused, and the user needs CREATE there.
pub(crate) fn check_create_relation(
    catalog: &Catalog,
    user: &str,
    name: &ast::ObjectName,
) -> SqlResult<()> {
    let schema = match name.0.as_slice() {
        [_] => PUBLIC_SCHEMA.to_owned(),
        [s, _] => s
            .as_ident()
            .map(ident)
            .ok_or_else(|| SqlError::Syntax(format!("invalid name {name}")))?,
        _ => {
            return Err(SqlError::Syntax(format!(
                "improper qualified name (too many dotted names): {name}"
            )));
        }
    };
    if schema != PUBLIC_SCHEMA {
        if catalog.schema(&schema).is_none() {
            return Err(undefined(&schema));
        }
        return Err(SqlError::unsupported(format!(
            "creating a table, view or sequence in schema {schema}: they all live in schema public"
        )));
    }
    check_create(catalog, user, PUBLIC_SCHEMA)
}

/// Runs `CREATE`, `DROP` or `ALTER SCHEMA`, or returns `None` for any other
/// statement.
pub(crate) fn execute(session: &mut Session, s: &Statement) -> Option<SqlResult<StatementResult>> {
    let Statement::Standard(stmt) = s else {
        return None;
    };
    Some(match stmt.as_ref() {
        ast::Statement::CreateSchema {
            schema_name,
            if_not_exists,
            with,
            options,
            default_collate_spec,
            clone,
        } => {
            if with.is_some()
                || options.is_some()
                || default_collate_spec.is_some()
                || clone.is_some()
            {
                Err(SqlError::unsupported(
                    "CREATE SCHEMA with options, a collation or CLONE",
                ))
            } else {
                create(session, schema_name, *if_not_exists)
            }
        }
        ast::Statement::Drop {
            object_type: ast::ObjectType::Schema,
            if_exists,
            names,
            cascade,
            ..
        } => drop(session, names, *if_exists, *cascade),
        ast::Statement::AlterSchema(a) => alter(session, a),
        _ => return None,
    })
}

fn txn(session: &mut Session) -> SqlResult<&mut dyn KvTxn> {
    match session.txn.as_mut() {
        Some(t) => Ok(t.as_mut()),
        None => Err(SqlError::Internal("no transaction".into())),
    }
}

/// The catalog as the session's transaction sees it.
fn catalog(session: &mut Session) -> SqlResult<Arc<Catalog>> {
    let cache = session.catalog.clone();
    Ok(cache.get(txn(session)?)?)
}

/// A schema name: one identifier, lower-cased unless quoted.
fn schema_name(name: &ast::ObjectName) -> SqlResult<String> {
    match name.0.as_slice() {
        [part] => part
            .as_ident()
            .map(ident)
            .ok_or_else(|| SqlError::Syntax(format!("invalid schema name {name}"))),
        _ => Err(SqlError::Syntax(format!(
            "improper qualified name (too many dotted names): {name}"
        ))),
    }
}

/// 42939: `pg_` names are the system's, as in PostgreSQL.
fn check_acceptable(name: &str) -> SqlResult<()> {
    if name.starts_with("pg_") {
        Err(SqlError::Routine {
            state: SqlState::RESERVED_NAME,
            message: format!("unacceptable schema name \"{name}\""),
            detail: Some("The prefix \"pg_\" is reserved for system schemas.".into()),
        })
    } else {
        Ok(())
    }
}

/// Schema DDL needs CREATE on the database: superusers only.
fn check_database_create(catalog: &Catalog, user: &str) -> SqlResult<()> {
    if catalog.role(user).is_some_and(|r| r.superuser) {
        Ok(())
    } else {
        Err(denied("database", DATABASE))
    }
}

fn role_must_exist(catalog: &Catalog, role: &str) -> SqlResult<()> {
    if catalog.role(role).is_some() {
        Ok(())
    } else {
        Err(SqlError::Semantic {
            state: SqlState::UNDEFINED_OBJECT,
            message: format!("role \"{role}\" does not exist"),
        })
    }
}

fn notice(session: &mut Session, message: String) {
    session.notices.push(Notice {
        level: NoticeLevel::Notice,
        message,
    });
}

/// `CREATE SCHEMA [IF NOT EXISTS] s [AUTHORIZATION role]`, or
/// `CREATE SCHEMA AUTHORIZATION role` (a schema named after the role).
fn create(
    session: &mut Session,
    name: &ast::SchemaName,
    if_not_exists: bool,
) -> SqlResult<StatementResult> {
    let (name, owner) = match name {
        ast::SchemaName::Simple(n) => (schema_name(n)?, None),
        ast::SchemaName::UnnamedAuthorization(role) => (ident(role), Some(ident(role))),
        ast::SchemaName::NamedAuthorization(n, role) => (schema_name(n)?, Some(ident(role))),
    };
    let catalog = catalog(session)?;
    check_database_create(&catalog, &session.user)?;
    let owner = owner.unwrap_or_else(|| session.user.clone());
    role_must_exist(&catalog, &owner)?;
    if catalog.schema(&name).is_some() {
        if if_not_exists {
            notice(
                session,
                format!("schema \"{name}\" already exists, skipping"),
            );
            return Ok(StatementResult::Command("CREATE SCHEMA".into()));
        }
        return Err(duplicate(&name));
    }
    check_acceptable(&name)?;
    CatalogWriter::new(txn(session)?).put_schema(&name, &Acl::table_of(&owner))?;
    Ok(StatementResult::Command("CREATE SCHEMA".into()))
}

/// The routines in schema `name`, by name.
fn routines_in(session: &mut Session, name: &str) -> SqlResult<Vec<RoutineDef>> {
    let mut found: Vec<RoutineDef> = records::routines(txn(session)?)?
        .into_iter()
        .filter(|r| r.schema == name)
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Refuses to drop or rename a schema the system or a module provides.
fn check_user_schema(schema: &SchemaDef, action: &str) -> SqlResult<()> {
    let name = &schema.name;
    if let Some(module) = &schema.module {
        return Err(SqlError::Routine {
            state: SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
            message: format!("cannot {action} schema {name} because module {module} requires it"),
            detail: Some(format!(
                "The schema holds the routines of module {module}; DROP MODULE {module} drops both."
            )),
        });
    }
    if SYSTEM_SCHEMAS.contains(&name.as_str()) {
        return Err(SqlError::Routine {
            state: SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
            message: format!(
                "cannot {action} schema {name} because it is required by the database system"
            ),
            detail: None,
        });
    }
    if name == PUBLIC_SCHEMA {
        return Err(SqlError::unsupported(format!(
            "cannot {action} schema public: every table, view and sequence lives in it"
        )));
    }
    Ok(())
}

/// `DROP SCHEMA [IF EXISTS] s [, …] [CASCADE | RESTRICT]`: the routines in
/// it block the drop unless CASCADE drops them (and triggers calling them).
fn drop(
    session: &mut Session,
    names: &[ast::ObjectName],
    if_exists: bool,
    cascade: bool,
) -> SqlResult<StatementResult> {
    for n in names {
        let name = schema_name(n)?;
        let catalog = catalog(session)?;
        let Some(schema) = catalog.schema(&name) else {
            if if_exists {
                notice(
                    session,
                    format!("schema \"{name}\" does not exist, skipping"),
                );
                continue;
            }
            return Err(undefined(&name));
        };
        if !acts_as_owner(&catalog, &session.user, &schema.acl.owner) {
            return Err(not_owner("schema", &name));
        }
        check_user_schema(&schema, "drop")?;
        let routines = routines_in(session, &name)?;
        let shown = |r: &RoutineDef| format!("{} {}", routine_noun(r.kind), r.qualified_name());
        if !routines.is_empty() && !cascade {
            return Err(SqlError::Routine {
                state: SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                message: format!("cannot drop schema {name} because other objects depend on it"),
                detail: Some(
                    routines
                        .iter()
                        .map(|r| format!("{} depends on schema {name}", shown(r)))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            });
        }
        for r in &routines {
            if r.kind == RoutineKind::Trigger {
                let what = format!("function {}()", r.qualified_name());
                super::routine::drop_dependent_triggers(session, &what, r, true)?;
            }
            notice(session, format!("drop cascades to {}", shown(r)));
            records::delete_routine(txn(session)?, &r.schema, &r.name)?;
        }
        CatalogWriter::new(txn(session)?).drop_schema(&name)?;
    }
    Ok(StatementResult::Command("DROP SCHEMA".into()))
}

/// `ALTER SCHEMA s RENAME TO t` and `ALTER SCHEMA s OWNER TO role`.
fn alter(session: &mut Session, a: &ast::AlterSchema) -> SqlResult<StatementResult> {
    let name = schema_name(&a.name)?;
    for op in &a.operations {
        let catalog = catalog(session)?;
        let Some(schema) = catalog.schema(&name) else {
            if a.if_exists {
                notice(
                    session,
                    format!("schema \"{name}\" does not exist, skipping"),
                );
                break;
            }
            return Err(undefined(&name));
        };
        if !acts_as_owner(&catalog, &session.user, &schema.acl.owner) {
            return Err(not_owner("schema", &name));
        }
        match op {
            ast::AlterSchemaOperation::Rename { name: to } => {
                check_database_create(&catalog, &session.user)?;
                rename(session, &catalog, &schema, schema_name(to)?)?;
            }
            ast::AlterSchemaOperation::OwnerTo { owner } => {
                let owner = match owner {
                    ast::Owner::Ident(i) => ident(i),
                    ast::Owner::CurrentRole | ast::Owner::CurrentUser => session.user.clone(),
                    ast::Owner::SessionUser => session.session_user.clone(),
                };
                role_must_exist(&catalog, &owner)?;
                // Giving a schema away needs membership in the new owner
                // and CREATE on the database.
                if owner != session.user {
                    if !catalog.is_member_of(&session.user, &owner) {
                        return Err(denied_role(&owner));
                    }
                    check_database_create(&catalog, &session.user)?;
                }
                let mut acl = schema.acl.clone();
                acl.owner = owner;
                CatalogWriter::new(txn(session)?).put_schema(&name, &acl)?;
            }
            other => return Err(SqlError::unsupported(format!("ALTER SCHEMA … {other}"))),
        }
    }
    Ok(StatementResult::Command("ALTER SCHEMA".into()))
}

/// 42501 `must be member of role "r"` (PostgreSQL 15's wording).
fn denied_role(role: &str) -> SqlError {
    SqlError::Semantic {
        state: SqlState::INSUFFICIENT_PRIVILEGE,
        message: format!("must be member of role \"{role}\""),
    }
}

/// Moves the schema's record and routines to the new name. Triggers name
/// their functions by schema, so a schema whose trigger functions are in
/// use keeps its name.
fn rename(
    session: &mut Session,
    catalog: &Catalog,
    schema: &SchemaDef,
    to: String,
) -> SqlResult<()> {
    check_user_schema(schema, "rename")?;
    if catalog.schema(&to).is_some() || catalog.module(&to).is_some() {
        return Err(duplicate(&to));
    }
    check_acceptable(&to)?;
    let routines = routines_in(session, &schema.name)?;
    for r in routines.iter().filter(|r| r.kind == RoutineKind::Trigger) {
        let users = super::hooks::routine_dependents(session, &r.schema, &r.name, false)?;
        if let Some(first) = users.first() {
            return Err(SqlError::unsupported(format!(
                "renaming schema {}: {first} calls function {}",
                schema.name,
                r.qualified_name()
            )));
        }
    }
    let txn = txn(session)?;
    for r in routines {
        let parameters = records::model_parameters(txn, &r.schema, &r.name)?;
        records::delete_routine(txn, &r.schema, &r.name)?;
        let moved = RoutineDef {
            schema: to.clone(),
            ..r
        };
        records::put_routine(txn, &moved)?;
        if let Some(bytes) = parameters {
            records::put_model_parameters(txn, &moved.schema, &moved.name, &bytes)?;
        }
    }
    let mut writer = CatalogWriter::new(txn);
    writer.drop_schema(&schema.name)?;
    writer.put_schema(&to, &schema.acl)?;
    Ok(())
}

/// What a privilege list means for a schema.
fn wanted(privileges: &ast::Privileges) -> SqlResult<Privileges> {
    let actions = match privileges {
        ast::Privileges::All { .. } => return Ok(Privileges::ALL_SCHEMA),
        ast::Privileges::Actions(actions) => actions,
    };
    let mut out = Privileges::NONE;
    for a in actions {
        out = out.with(match a {
            ast::Action::Usage => Privileges::USAGE,
            ast::Action::Create { obj_type: None } => Privileges::CREATE,
            other => {
                return Err(SqlError::Semantic {
                    state: invalid_grant_operation(),
                    message: format!("invalid privilege type {other} for schema"),
                });
            }
        });
    }
    Ok(out)
}

/// `GRANT` / `REVOKE … ON SCHEMA s [, …]`: only the owner (or a
/// superuser) grants.
pub(crate) fn change(
    names: &[ast::ObjectName],
    privileges: &ast::Privileges,
    grantees: &[Option<String>],
    grant: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<()> {
    let p = wanted(privileges)?;
    for n in names {
        let name = schema_name(n)?;
        let Some(schema) = cx.catalog.schema(&name) else {
            return Err(undefined(&name));
        };
        if !acts_as_owner(cx.catalog, cx.user, &schema.acl.owner) {
            return Err(denied("schema", &name));
        }
        let mut acl = schema.acl;
        super::privilege::apply(&mut acl, grantees, p, grant);
        CatalogWriter::new(cx.txn).put_schema(&name, &acl)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
