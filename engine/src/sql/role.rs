//! `CREATE ROLE` / `CREATE USER`, `ALTER ROLE` / `ALTER USER` and
//! `DROP ROLE` / `DROP USER`.
//!
//! A password is turned into a SCRAM-SHA-256 verifier here, before it
//! reaches the catalog, so the catalog (and a backup of it) never holds a
//! password; a verifier given as the password (`SCRAM-SHA-256$…`, what
//! `pg_dumpall` writes) is stored as it is. Privileges follow PostgreSQL:
//! a superuser or a `CREATEROLE` role manages roles, only a superuser
//! creates or changes a superuser, and any role may change its own
//! password.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SecureRandom;
use ring::{digest, hmac, pbkdf2};
use sqlparser::ast;

use crate::SqlState;
use crate::catalog::{
    Acl, BOOTSTRAP_SUPERUSER_OID, Catalog, CatalogWriter, Isolation, RoleDef, TxnConfig,
};

use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::session::{Database, Session, StatementResult};

/// PostgreSQL's default `scram_iterations`.
const SCRAM_ITERATIONS: u32 = 4096;
const SALT_LEN: usize = 16;

impl Database {
    /// The role named `name` as last committed: what a server checks a
    /// login against.
    ///
    /// # Errors
    /// Storage errors reading the catalog.
    pub fn role(&self, name: &str) -> crate::Result<Option<RoleDef>> {
        Ok(self.committed_roles()?.into_iter().find(|r| r.name == name))
    }

    /// Whether any role has a password: from then on a server asks every
    /// connection for one (DESIGN §8).
    ///
    /// # Errors
    /// Storage errors reading the catalog.
    pub fn any_password(&self) -> crate::Result<bool> {
        Ok(self.committed_roles()?.iter().any(|r| r.password.is_some()))
    }

    /// Every role as last committed, in object id order.
    ///
    /// # Errors
    /// Storage errors reading the catalog.
    pub fn committed_roles(&self) -> crate::Result<Vec<RoleDef>> {
        let mut txn = self.kv.begin(TxnConfig {
            isolation: Isolation::ReadCommitted,
            read_only: true,
        });
        let catalog = self.catalog.get(txn.as_mut()).map_err(SqlError::from);
        txn.rollback();
        Ok(catalog?.roles().into_iter().cloned().collect())
    }
}

impl Session {
    /// The role that connected (`session_user`).
    pub fn session_user(&self) -> &str {
        &self.session_user
    }
}

/// Runs a role statement, or returns `None` for any other statement.
pub(crate) fn execute(
    stmt: &ast::Statement,
    cx: &mut ExecCtx<'_>,
) -> Option<SqlResult<StatementResult>> {
    Some(match stmt {
        ast::Statement::CreateRole { .. } => create(stmt, cx),
        ast::Statement::AlterRole { name, operation } => alter(name, operation, cx),
        ast::Statement::Drop {
            object_type: object_type @ (ast::ObjectType::Role | ast::ObjectType::User),
            if_exists,
            names,
            ..
        } => drop(names, *if_exists, *object_type, cx),
        _ => return None,
    })
}

fn semantic(state: SqlState, message: impl Into<String>) -> SqlError {
    SqlError::Semantic {
        state,
        message: message.into(),
    }
}

fn role_name(name: &ast::ObjectName) -> SqlResult<String> {
    match name.0.as_slice() {
        [part] => part
            .as_ident()
            .map(super::binder::ident)
            .ok_or_else(|| semantic(SqlState::SYNTAX_ERROR, format!("invalid role name {name}"))),
        _ => Err(semantic(
            SqlState::SYNTAX_ERROR,
            format!("role name \"{name}\" must not be qualified"),
        )),
    }
}

/// The session's own role; a role dropped under a live session has none.
fn current<'c>(cx: &'c ExecCtx<'_>) -> SqlResult<&'c RoleDef> {
    cx.catalog.role(cx.user).ok_or_else(|| {
        semantic(
            SqlState::INVALID_AUTHORIZATION,
            format!("role \"{}\" does not exist", cx.user),
        )
    })
}

fn may_manage(cx: &ExecCtx<'_>, action: &str, target_superuser: bool) -> SqlResult<()> {
    let me = current(cx)?;
    let allowed = me.superuser || (me.create_role && !target_superuser);
    if allowed {
        Ok(())
    } else {
        Err(semantic(
            SqlState::INSUFFICIENT_PRIVILEGE,
            format!("permission denied to {action} role"),
        ))
    }
}

fn create(stmt: &ast::Statement, cx: &mut ExecCtx<'_>) -> SqlResult<StatementResult> {
    let ast::Statement::CreateRole {
        names,
        if_not_exists,
        login,
        inherit,
        bypassrls,
        password,
        superuser,
        create_db,
        create_role,
        replication,
        connection_limit,
        valid_until,
        in_role,
        in_group,
        role: members,
        user: users,
        admin,
        authorization_owner,
    } = stmt
    else {
        return Err(SqlError::Internal("not CREATE ROLE".into()));
    };
    if bypassrls.is_some()
        || replication.is_some()
        || valid_until.is_some()
        || authorization_owner.is_some()
    {
        return Err(SqlError::unsupported(
            "role options BYPASSRLS, REPLICATION, VALID UNTIL and AUTHORIZATION",
        ));
    }
    may_manage(cx, "create", superuser.unwrap_or(false))?;
    let groups: Vec<String> = in_role
        .iter()
        .chain(in_group)
        .map(super::binder::ident)
        .collect();
    for group in &groups {
        super::role_membership::may_administer(cx.catalog, cx.user, group)?;
    }
    // The new roles and their first memberships (`IN ROLE` groups, then
    // `ROLE` / `USER` and `ADMIN` members) go through one set of edits,
    // which refuses a membership loop as GRANT does.
    let mut edits = super::role_membership::Edits::new(cx.catalog);
    for name in names {
        let name = role_name(name)?;
        if cx.catalog.role(&name).is_some() {
            if *if_not_exists {
                continue;
            }
            return Err(semantic(
                SqlState::DUPLICATE_OBJECT,
                format!("role \"{name}\" already exists"),
            ));
        }
        let role = RoleDef {
            oid: CatalogWriter::new(cx.txn).allocate_id()?,
            name,
            superuser: superuser.unwrap_or(false),
            create_db: create_db.unwrap_or(false),
            create_role: create_role.unwrap_or(false),
            login: login.unwrap_or(false),
            connection_limit: match connection_limit {
                Some(e) => limit(e)?,
                None => -1,
            },
            password: match password {
                Some(p) => verifier(p)?,
                None => None,
            },
            inherit: inherit.unwrap_or(true),
            member_of: Vec::new(),
            resource_group: None,
        };
        let new = role.name.clone();
        edits.add_role(role);
        for group in &groups {
            edits.grant(group, &new, false, cx.user)?;
        }
        let listed = members
            .iter()
            .chain(users)
            .map(|m| (m, false))
            .chain(admin.iter().map(|m| (m, true)));
        for (member, with_admin) in listed {
            let member = super::binder::ident(member);
            if cx.catalog.role(&member).is_none() {
                return Err(semantic(
                    SqlState::UNDEFINED_OBJECT,
                    format!("role \"{member}\" does not exist"),
                ));
            }
            edits.grant(&new, &member, with_admin, cx.user)?;
        }
    }
    edits.write(cx.txn)?;
    Ok(StatementResult::Command("CREATE ROLE".into()))
}

fn alter(
    name: &ast::Ident,
    operation: &ast::AlterRoleOperation,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    let name = super::binder::ident(name);
    let Some(existing) = cx.catalog.role(&name) else {
        return Err(semantic(
            SqlState::UNDEFINED_OBJECT,
            format!("role \"{name}\" does not exist"),
        ));
    };
    let ast::AlterRoleOperation::WithOptions { options } = operation else {
        return Err(SqlError::unsupported(format!(
            "ALTER ROLE {operation} is not supported yet"
        )));
    };
    let own_password_only = name == cx.user
        && options
            .iter()
            .all(|o| matches!(o, ast::RoleOption::Password(_)));
    if !own_password_only {
        let grants_superuser = options
            .iter()
            .any(|o| matches!(o, ast::RoleOption::SuperUser(true)));
        may_manage(cx, "alter", existing.superuser || grants_superuser)?;
    }
    let mut role = existing.clone();
    for option in options {
        match option {
            ast::RoleOption::Password(p) => role.password = verifier(p)?,
            ast::RoleOption::SuperUser(v) => role.superuser = *v,
            ast::RoleOption::CreateDB(v) => role.create_db = *v,
            ast::RoleOption::CreateRole(v) => role.create_role = *v,
            ast::RoleOption::Login(v) => role.login = *v,
            ast::RoleOption::ConnectionLimit(e) => role.connection_limit = limit(e)?,
            ast::RoleOption::Inherit(v) => role.inherit = *v,
            ast::RoleOption::BypassRLS(_)
            | ast::RoleOption::Replication(_)
            | ast::RoleOption::ValidUntil(_) => {
                return Err(SqlError::unsupported(format!(
                    "role option {option} is not supported yet"
                )));
            }
        }
    }
    if role.oid == BOOTSTRAP_SUPERUSER_OID && !role.superuser {
        return Err(semantic(
            SqlState::FEATURE_NOT_SUPPORTED,
            "permission denied: bootstrap user must be superuser",
        ));
    }
    CatalogWriter::new(cx.txn).put_role(&role)?;
    Ok(StatementResult::Command("ALTER ROLE".into()))
}

fn drop(
    names: &[ast::ObjectName],
    if_exists: bool,
    object_type: ast::ObjectType,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    for name in names {
        let name = role_name(name)?;
        let Some(role) = cx.catalog.role(&name) else {
            if if_exists {
                continue;
            }
            return Err(semantic(
                SqlState::UNDEFINED_OBJECT,
                format!("role \"{name}\" does not exist"),
            ));
        };
        if name == cx.user {
            return Err(semantic(
                SqlState::OBJECT_IN_USE,
                "current user cannot be dropped",
            ));
        }
        if name == cx.session_user {
            return Err(semantic(
                SqlState::OBJECT_IN_USE,
                "session user cannot be dropped",
            ));
        }
        if role.oid == BOOTSTRAP_SUPERUSER_OID {
            return Err(semantic(
                SqlState::OBJECT_IN_USE,
                format!("cannot drop role {name} because it is required by the database system"),
            ));
        }
        may_manage(cx, "drop", role.superuser)?;
        let dependents = dependents(cx.catalog, &name);
        if !dependents.is_empty() {
            return Err(SqlError::Routine {
                state: SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                message: format!(
                    "role \"{name}\" cannot be dropped because some objects depend on it"
                ),
                detail: Some(dependents.join("\n")),
            });
        }
        let mut edits = super::role_membership::Edits::new(cx.catalog);
        edits.forget(&name)?;
        edits.write(cx.txn)?;
        CatalogWriter::new(cx.txn).drop_role(&name)?;
    }
    let tag = match object_type {
        ast::ObjectType::User => "DROP USER",
        _ => "DROP ROLE",
    };
    Ok(StatementResult::Command(tag.into()))
}

/// What keeps role `name` from being dropped, as PostgreSQL's DETAIL
/// lines: the objects it owns and those it holds privileges on.
fn dependents(catalog: &Catalog, name: &str) -> Vec<String> {
    let mut owned = Vec::new();
    let mut privileges = Vec::new();
    let mut note = |acl: &Acl, what: String| {
        if acl.owner == name {
            owned.push(format!("owner of {what}"));
        }
        if acl
            .grants
            .iter()
            .any(|g| g.grantee.as_deref() == Some(name))
        {
            privileges.push(format!("privileges for {what}"));
        }
    };
    for (id, kind, relation) in super::role_owned::relations(catalog) {
        note(&catalog.acl(id), format!("{kind} {relation}"));
    }
    for schema in catalog.schemas() {
        note(&schema.acl, format!("schema {}", schema.name));
    }
    let mut routines: Vec<_> = catalog.routines().collect();
    routines.sort_by_key(|r| r.qualified_name());
    for r in routines {
        let what = format!(
            "{} {}",
            super::privilege::routine_noun(r.kind),
            r.qualified_name()
        );
        note(&r.acl, what);
    }
    let mut modules: Vec<_> = catalog.modules().filter(|m| m.owner == name).collect();
    modules.sort_by(|a, b| a.name.cmp(&b.name));
    owned.extend(
        modules
            .iter()
            .map(|m| format!("owner of module {}", m.name)),
    );
    owned.extend(privileges);
    owned
}

fn limit(e: &ast::Expr) -> SqlResult<i32> {
    let invalid = || {
        semantic(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("invalid connection limit: {e}"),
        )
    };
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.parse::<i32>().ok().filter(|n| *n >= -1),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(invalid)
}

/// The verifier `PASSWORD …` stores; `PASSWORD NULL` removes it.
fn verifier(password: &ast::Password) -> SqlResult<Option<String>> {
    let ast::Password::Password(expr) = password else {
        return Ok(None);
    };
    let text = match expr {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => s,
            _ => return Err(password_literal_expected()),
        },
        _ => return Err(password_literal_expected()),
    };
    if text.is_empty() {
        // PostgreSQL refuses to store an empty password and leaves the
        // role without one.
        return Ok(None);
    }
    if text.starts_with("SCRAM-SHA-256$") {
        return if is_verifier(text) {
            Ok(Some(text.clone()))
        } else {
            Err(semantic(
                SqlState::INVALID_PARAMETER_VALUE,
                "malformed SCRAM-SHA-256 verifier",
            ))
        };
    }
    let mut salt = [0u8; SALT_LEN];
    ring::rand::SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| SqlError::Internal("no randomness for a password salt".into()))?;
    Ok(Some(scram_verifier(text, &salt, SCRAM_ITERATIONS)))
}

fn password_literal_expected() -> SqlError {
    semantic(
        SqlState::SYNTAX_ERROR,
        "PASSWORD takes a string literal or NULL",
    )
}

/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` of RFC 5802
/// and 7677, exactly as PostgreSQL computes and writes it.
pub(crate) fn scram_verifier(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut salted = [0u8; digest::SHA256_OUTPUT_LEN];
    let rounds = std::num::NonZeroU32::new(iterations).unwrap_or(std::num::NonZeroU32::MIN);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        salt,
        password.as_bytes(),
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    let server_key = hmac::sign(&key, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key.as_ref()),
        STANDARD.encode(server_key.as_ref())
    )
}

fn is_verifier(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("SCRAM-SHA-256$") else {
        return false;
    };
    let Some((params, keys)) = rest.split_once('$') else {
        return false;
    };
    let Some((iterations, salt)) = params.split_once(':') else {
        return false;
    };
    let Some((stored, server)) = keys.split_once(':') else {
        return false;
    };
    let key_len = |k: &str| STANDARD.decode(k).map(|b| b.len()).ok();
    iterations.parse::<u32>().is_ok_and(|i| i > 0)
        && STANDARD.decode(salt).is_ok()
        && key_len(stored) == Some(digest::SHA256_OUTPUT_LEN)
        && key_len(server) == Some(digest::SHA256_OUTPUT_LEN)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog::memkv::MemKv;
    use crate::sql::tests::{error, query};

    #[test]
    fn roles_are_catalog_records_listed_by_pg_roles() {
        let db = Database::with_store(Arc::new(MemKv::default()));
        let mut s = db.session();
        s.execute("CREATE ROLE reader; CREATE USER alice WITH PASSWORD 'wonderland' CREATEDB")
            .unwrap();
        assert_eq!(
            query(
                &mut s,
                "SELECT rolname, rolsuper, rolcreatedb, rolcanlogin FROM pg_roles ORDER BY oid"
            ),
            ["rustydb t t t", "reader f f f", "alice f t t"]
        );
        assert_eq!(
            query(&mut s, "SELECT usename FROM pg_user ORDER BY usename"),
            ["alice", "rustydb"]
        );
        let alice = db.role("alice").unwrap().unwrap();
        let stored = alice.password.unwrap();
        assert!(stored.starts_with("SCRAM-SHA-256$4096:"), "{stored}");
        assert!(!stored.contains("wonderland"));
        assert!(db.any_password().unwrap());

        assert_eq!(
            error(&mut s, "CREATE ROLE alice"),
            "42710 role \"alice\" already exists"
        );
        s.execute("CREATE ROLE IF NOT EXISTS alice").unwrap();
        assert_eq!(
            error(&mut s, "DROP ROLE nobody"),
            "42704 role \"nobody\" does not exist"
        );
        s.execute("DROP ROLE IF EXISTS nobody; DROP USER alice")
            .unwrap();
        assert_eq!(db.role("alice").unwrap(), None);
        assert!(!db.any_password().unwrap());
        assert_eq!(
            error(&mut s, "DROP ROLE rustydb"),
            "55006 current user cannot be dropped"
        );
    }

    #[test]
    fn role_changes_roll_back_with_their_transaction() {
        let db = Database::with_store(Arc::new(MemKv::default()));
        let mut s = db.session();
        s.execute("BEGIN; CREATE ROLE temp LOGIN; ALTER ROLE rustydb PASSWORD 'x'")
            .unwrap();
        assert_eq!(db.role("temp").unwrap(), None);
        s.execute("ROLLBACK").unwrap();
        assert_eq!(db.role("temp").unwrap(), None);
        assert!(!db.any_password().unwrap());
        s.execute("ALTER ROLE rustydb PASSWORD 'x'").unwrap();
        assert!(db.any_password().unwrap());
        s.execute("ALTER ROLE rustydb PASSWORD NULL").unwrap();
        assert!(!db.any_password().unwrap());
    }

    #[test]
    fn only_privileged_roles_manage_roles_but_anyone_sets_their_password() {
        let db = Database::with_store(Arc::new(MemKv::default()));
        db.session()
            .execute("CREATE USER alice; CREATE USER admin CREATEROLE")
            .unwrap();
        let mut alice = db.session_as("alice");
        assert_eq!(
            query(&mut alice, "SELECT current_user, session_user"),
            ["alice alice"]
        );
        assert_eq!(
            error(&mut alice, "CREATE ROLE bob"),
            "42501 permission denied to create role"
        );
        assert_eq!(
            error(&mut alice, "ALTER ROLE alice CREATEDB"),
            "42501 permission denied to alter role"
        );
        alice.execute("ALTER USER alice PASSWORD 'mine'").unwrap();
        assert!(db.role("alice").unwrap().unwrap().password.is_some());

        let mut admin = db.session_as("admin");
        admin.execute("CREATE ROLE bob; DROP ROLE bob").unwrap();
        assert_eq!(
            error(&mut admin, "CREATE ROLE boss SUPERUSER"),
            "42501 permission denied to create role"
        );
        assert_eq!(
            error(&mut admin, "ALTER ROLE rustydb PASSWORD 'stolen'"),
            "42501 permission denied to alter role"
        );
        assert_eq!(
            error(&mut admin, "DROP ROLE rustydb"),
            "55006 cannot drop role rustydb because it is required by the database system"
        );
        assert_eq!(
            error(&mut db.session(), "ALTER ROLE rustydb NOSUPERUSER"),
            "0A000 permission denied: bootstrap user must be superuser"
        );
        assert_eq!(
            error(
                &mut db.session(),
                "CREATE ROLE x CONNECTION LIMIT 99999999999"
            ),
            "22023 invalid connection limit: 99999999999"
        );
    }

    #[test]
    fn a_verifier_given_as_password_is_stored_as_it_is() {
        let db = Database::with_store(Arc::new(MemKv::default()));
        let v = scram_verifier("pw", b"saltsaltsaltsalt", 4096);
        db.session()
            .execute(&format!("CREATE USER carol PASSWORD '{v}'"))
            .unwrap();
        assert_eq!(db.role("carol").unwrap().unwrap().password, Some(v));
        assert_eq!(
            error(
                &mut db.session(),
                "CREATE USER dave PASSWORD 'SCRAM-SHA-256$1:x$y:z'"
            ),
            "22023 malformed SCRAM-SHA-256 verifier"
        );
    }

    #[test]
    fn verifiers_have_postgres_text_form_and_depend_on_the_password() {
        let v = scram_verifier("pencil", b"0123456789abcdef", 4096);
        assert!(v.starts_with("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$"));
        assert!(is_verifier(&v));
        assert_ne!(v, scram_verifier("pencil2", b"0123456789abcdef", 4096));
        assert!(!is_verifier("SCRAM-SHA-256$4096:abc$short:keys"));
        assert!(!is_verifier("md5deadbeef"));
    }
}
