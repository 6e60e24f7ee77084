//! Role membership: `GRANT role TO member`, `REVOKE role FROM member`,
//! `SET ROLE` and `RESET ROLE`, as in PostgreSQL 15.
//!
//! Groups are how PostgreSQL users share privileges: grant SELECT to a
//! role `readers`, then `GRANT readers TO alice`. A member that INHERITs
//! (the default) holds its groups' privileges at once, owner rights
//! included; every member may `SET ROLE readers` to act as the group
//! alone (and create objects the group owns). The catalog keeps the
//! memberships and answers who acts as whom (`catalog/role.rs`); this
//! module checks who may change them and refuses membership loops.
//!
//! `SET ROLE` checks the *session* user's memberships, as PostgreSQL
//! does, so a session that has switched to a lesser role can switch back.
//! Like every setting it is transactional: a ROLLBACK undoes it, and
//! `SET LOCAL ROLE` lasts until the block ends.

use std::sync::Arc;

use crate::SqlState;
use crate::catalog::{Catalog, CatalogWriter, Isolation, KvTxn, Membership, RoleDef, TxnConfig};
use crate::extension::{Notice, NoticeLevel};

use super::binder::ident;
use super::error::{SqlError, SqlResult};
use super::parser::{RoleGrant, RoleSpec, Statement};
use super::privilege::invalid_grant_operation;
use super::session::{Session, StatementResult};

fn semantic(state: SqlState, message: impl Into<String>) -> SqlError {
    SqlError::Semantic {
        state,
        message: message.into(),
    }
}

fn undefined_role(name: &str) -> SqlError {
    semantic(
        SqlState::UNDEFINED_OBJECT,
        format!("role \"{name}\" does not exist"),
    )
}

/// Runs a role GRANT or REVOKE, or returns `None` for any other statement.
pub(crate) fn execute(session: &mut Session, s: &Statement) -> Option<SqlResult<StatementResult>> {
    let Statement::RoleGrant(g) = s else {
        return None;
    };
    Some(grant_or_revoke(session, g))
}

fn grant_or_revoke(session: &mut Session, g: &RoleGrant) -> SqlResult<StatementResult> {
    let catalog = open_catalog(session)?;
    let resolve = |spec: &RoleSpec| match spec {
        RoleSpec::Name(i) => ident(i),
        RoleSpec::CurrentUser => session.user.clone(),
        RoleSpec::SessionUser => session.session_user.clone(),
    };
    let user = session.user.clone();
    let superuser = catalog.role(&user).is_some_and(|r| r.superuser);
    let grantor = match &g.granted_by {
        None => user.clone(),
        Some(spec) => {
            let name = resolve(spec);
            if catalog.role(&name).is_none() {
                return Err(undefined_role(&name));
            }
            if name != user && !superuser {
                return Err(semantic(
                    SqlState::INSUFFICIENT_PRIVILEGE,
                    "must be superuser to set grantor",
                ));
            }
            name
        }
    };
    let members: Vec<String> = g.members.iter().map(resolve).collect();
    let mut edits = Edits::new(&catalog);
    let mut notices = Vec::new();
    for role in &g.roles {
        let role = ident(role);
        may_administer(&catalog, &user, &role)?;
        for member in &members {
            if catalog.role(member).is_none() {
                return Err(undefined_role(member));
            }
            if g.grant {
                if !edits.grant(&role, member, g.admin_option, &grantor)? {
                    notices.push((
                        NoticeLevel::Notice,
                        format!("role \"{member}\" is already a member of role \"{role}\""),
                    ));
                }
            } else if !edits.revoke(&role, member, g.admin_option)? {
                notices.push((
                    NoticeLevel::Warning,
                    format!("role \"{member}\" is not a member of role \"{role}\""),
                ));
            }
        }
    }
    let txn = session
        .txn
        .as_mut()
        .ok_or_else(|| SqlError::Internal("no transaction".into()))?;
    edits.write(txn.as_mut())?;
    session.notices.extend(
        notices
            .into_iter()
            .map(|(level, message)| Notice { level, message }),
    );
    Ok(StatementResult::Command(
        if g.grant { "GRANT ROLE" } else { "REVOKE ROLE" }.into(),
    ))
}

/// Fails unless `user` may grant or revoke `role` (which must exist): a
/// superuser for a superuser role; otherwise a CREATEROLE role or a
/// member WITH ADMIN OPTION.
pub(super) fn may_administer(catalog: &Catalog, user: &str, role: &str) -> SqlResult<()> {
    let Some(target) = catalog.role(role) else {
        return Err(undefined_role(role));
    };
    if catalog.may_administer(user, role) {
        return Ok(());
    }
    Err(semantic(
        SqlState::INSUFFICIENT_PRIVILEGE,
        if target.superuser {
            "must be superuser to alter superusers".to_owned()
        } else {
            format!("must have admin option on role \"{role}\"")
        },
    ))
}

/// Membership changes of one statement, over the catalog it started
/// with: each changed role record is written once, and a later change
/// in the statement sees the earlier ones when it looks for loops.
pub(super) struct Edits<'c> {
    catalog: &'c Catalog,
    changed: Vec<RoleDef>,
}

impl<'c> Edits<'c> {
    pub(super) fn new(catalog: &'c Catalog) -> Edits<'c> {
        Edits {
            catalog,
            changed: Vec::new(),
        }
    }

    /// Adds a role created by the statement, for memberships to follow.
    pub(super) fn add_role(&mut self, role: RoleDef) {
        self.changed.push(role);
    }

    fn role(&self, name: &str) -> Option<&RoleDef> {
        self.changed
            .iter()
            .find(|r| r.name == name)
            .or_else(|| self.catalog.role(name))
    }

    fn role_mut(&mut self, name: &str) -> SqlResult<&mut RoleDef> {
        let at = match self.changed.iter().position(|r| r.name == name) {
            Some(at) => at,
            None => {
                let role = self
                    .catalog
                    .role(name)
                    .ok_or_else(|| undefined_role(name))?;
                self.changed.push(role.clone());
                self.changed.len() - 1
            }
        };
        Ok(&mut self.changed[at])
    }

    /// Whether `member` belongs to `role` through memberships alone
    /// (being a superuser does not count: a superuser role can still be
    /// granted without making a loop).
    fn belongs(&self, member: &str, role: &str) -> bool {
        let mut seen = vec![member.to_owned()];
        let mut next = 0;
        while let Some(name) = seen.get(next).cloned() {
            next += 1;
            if name == role {
                return true;
            }
            for m in self.role(&name).map_or(&[][..], |r| &r.member_of[..]) {
                if !seen.contains(&m.role) {
                    seen.push(m.role.clone());
                }
            }
        }
        false
    }

    /// Makes `member` a member of `role`; false if it already was one
    /// (with the admin option, when asked for).
    ///
    /// # Errors
    /// 0LP01 when the membership would make a loop.
    pub(super) fn grant(
        &mut self,
        role: &str,
        member: &str,
        admin: bool,
        grantor: &str,
    ) -> SqlResult<bool> {
        if self.belongs(role, member) {
            return Err(semantic(
                invalid_grant_operation(),
                format!("role \"{role}\" is a member of role \"{member}\""),
            ));
        }
        let record = self.role_mut(member)?;
        Ok(match record.member_of.iter_mut().find(|m| m.role == role) {
            Some(existing) if !admin || existing.admin => false,
            Some(existing) => {
                existing.admin = true;
                true
            }
            None => {
                record.member_of.push(Membership {
                    role: role.to_owned(),
                    admin,
                    grantor: grantor.to_owned(),
                });
                true
            }
        })
    }

    /// Ends `member`'s membership in `role`, or with `admin_only` its
    /// admin option; false if it was no member.
    fn revoke(&mut self, role: &str, member: &str, admin_only: bool) -> SqlResult<bool> {
        if self.role(member).and_then(|r| r.membership(role)).is_none() {
            return Ok(false);
        }
        let record = self.role_mut(member)?;
        if admin_only {
            for m in record.member_of.iter_mut().filter(|m| m.role == role) {
                m.admin = false;
            }
        } else {
            record.member_of.retain(|m| m.role != role);
        }
        Ok(true)
    }

    /// Ends every membership in `role`, which is being dropped.
    pub(super) fn forget(&mut self, role: &str) -> SqlResult<()> {
        let members: Vec<String> = self
            .catalog
            .roles()
            .into_iter()
            .filter(|r| r.membership(role).is_some())
            .map(|r| r.name.clone())
            .collect();
        for member in members {
            self.revoke(role, &member, false)?;
        }
        Ok(())
    }

    /// Writes every changed record.
    pub(super) fn write(self, txn: &mut dyn KvTxn) -> SqlResult<()> {
        let mut writer = CatalogWriter::new(txn);
        for role in &self.changed {
            writer.put_role(role)?;
        }
        Ok(())
    }
}

/// The catalog the session's open transaction sees, or as last committed
/// when none is open.
fn open_catalog(session: &mut Session) -> SqlResult<Arc<Catalog>> {
    let cache = session.catalog.clone();
    if let Some(txn) = session.txn.as_mut() {
        return Ok(cache.get(txn.as_mut())?);
    }
    let mut txn = session.kv.begin(TxnConfig {
        isolation: Isolation::ReadCommitted,
        read_only: true,
    });
    let catalog = cache.get(txn.as_mut());
    txn.rollback();
    Ok(catalog?)
}

/// Checks `SET ROLE name` (`None` or `NONE`: back to the session user)
/// and returns the `role` setting to record (`None` to clear it); the
/// settings module records it, transactionally, and `settle` makes it the
/// current user.
///
/// # Errors
/// 22023 for a role that does not exist, 42501 unless the session user
/// is a member of it, 0A000 inside a routine.
pub(crate) fn check_set_role(
    session: &mut Session,
    name: Option<&str>,
) -> SqlResult<Option<String>> {
    if session.call_depth > 0 {
        return Err(SqlError::unsupported("SET ROLE inside a routine"));
    }
    let Some(name) = name.filter(|n| !n.eq_ignore_ascii_case("none")) else {
        return Ok(None);
    };
    let catalog = open_catalog(session)?;
    role_to_set(&catalog, &session.session_user, Some(name))
}

/// The role `SET ROLE name` (or `set_config('role', name, …)`) makes
/// current: `None` for NONE; otherwise one `session_user` is a member of.
///
/// # Errors
/// 22023 for no such role; 42501 for one the session user is not a
/// member of.
pub(crate) fn role_to_set(
    catalog: &Catalog,
    session_user: &str,
    name: Option<&str>,
) -> SqlResult<Option<String>> {
    let Some(name) = name.filter(|n| !n.eq_ignore_ascii_case("none")) else {
        return Ok(None);
    };
    if catalog.role(name).is_none() {
        return Err(semantic(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("role \"{name}\" does not exist"),
        ));
    }
    if !catalog.is_member_of(session_user, name) {
        return Err(semantic(
            SqlState::INSUFFICIENT_PRIVILEGE,
            format!("permission denied to set role \"{name}\""),
        ));
    }
    Ok(Some(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::catalog::memkv::MemKv;
    use crate::sql::Database;
    use crate::sql::tests::{error, query};

    fn database() -> Database {
        let db = Database::with_store(Arc::new(MemKv::default()));
        db.session()
            .execute(
                "CREATE ROLE staff; CREATE ROLE alice LOGIN IN ROLE staff; CREATE ROLE mallory LOGIN; \
                 CREATE TABLE ledger (n int); GRANT SELECT ON ledger TO staff; \
                 GRANT CREATE ON SCHEMA public TO staff",
            )
            .unwrap();
        db
    }

    #[test]
    fn a_login_role_sets_only_roles_it_belongs_to_and_can_always_go_back() {
        let db = database();
        let mut alice = db.session_as("alice");
        alice.execute("SET ROLE staff").unwrap();
        assert_eq!(
            query(&mut alice, "SELECT current_user, session_user"),
            ["staff alice"]
        );
        // From the group she may not step into another login's role: the
        // session user's memberships decide, not the current role's.
        assert_eq!(
            error(&mut alice, "SET ROLE mallory"),
            "42501 permission denied to set role \"mallory\""
        );
        alice.execute("SET ROLE alice; RESET ROLE").unwrap();
        assert_eq!(query(&mut alice, "SELECT current_user"), ["alice"]);
        let mut mallory = db.session_as("mallory");
        assert_eq!(
            error(&mut mallory, "SELECT * FROM ledger"),
            "42501 permission denied for table ledger"
        );
        assert_eq!(
            error(&mut mallory, "SET ROLE staff"),
            "42501 permission denied to set role \"staff\""
        );
    }

    #[test]
    fn members_of_the_owner_act_as_the_owner() {
        let db = database();
        let mut alice = db.session_as("alice");
        // Created as the group, the table is the group's ...
        alice
            .execute("SET ROLE staff; CREATE TABLE shared (n int); RESET ROLE")
            .unwrap();
        assert_eq!(
            query(
                &mut alice,
                "SELECT tableowner FROM pg_tables WHERE tablename = 'shared'"
            ),
            ["staff"]
        );
        // ... so every member may alter and drop it, and no one else.
        let mut mallory = db.session_as("mallory");
        assert_eq!(
            error(&mut mallory, "DROP TABLE shared"),
            "42501 must be owner of table shared"
        );
        alice
            .execute("ALTER TABLE shared ADD COLUMN m int; DROP TABLE shared")
            .unwrap();
    }

    #[test]
    fn a_grant_needs_the_admin_option_or_createrole() {
        let db = database();
        let mut alice = db.session_as("alice");
        assert_eq!(
            error(&mut alice, "GRANT staff TO mallory"),
            "42501 must have admin option on role \"staff\""
        );
        assert_eq!(
            error(&mut alice, "GRANT rustydb TO mallory"),
            "42501 must be superuser to alter superusers"
        );
        let mut root = db.session();
        root.execute("GRANT staff TO alice WITH ADMIN OPTION")
            .unwrap();
        alice.execute("GRANT staff TO mallory").unwrap();
        assert_eq!(
            error(&mut alice, "GRANT staff TO mallory GRANTED BY rustydb"),
            "42501 must be superuser to set grantor"
        );
        // Granting again only notes that nothing changed.
        root.execute("GRANT staff TO mallory").unwrap();
        let notices: Vec<String> = root.take_notices().into_iter().map(|n| n.message).collect();
        assert_eq!(
            notices,
            ["role \"mallory\" is already a member of role \"staff\""]
        );
        assert_eq!(
            query(
                &mut root,
                "SELECT g.rolname FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.grantor \
                 JOIN pg_roles m ON m.oid = a.member WHERE m.rolname = 'mallory'"
            ),
            ["alice"]
        );
    }

    #[test]
    fn a_membership_in_a_rolled_back_block_is_gone() {
        let db = database();
        let mut root = db.session();
        root.execute("BEGIN; GRANT staff TO mallory; ROLLBACK")
            .unwrap();
        let mut mallory = db.session_as("mallory");
        assert_eq!(
            error(&mut mallory, "SET ROLE staff"),
            "42501 permission denied to set role \"staff\""
        );
    }

    #[test]
    fn drop_role_names_what_depends_on_it() {
        let db = database();
        let mut root = db.session();
        assert_eq!(
            error(&mut root, "DROP ROLE staff"),
            "2BP01 role \"staff\" cannot be dropped because some objects depend on it"
        );
        let detail = match root.execute("DROP ROLE staff") {
            Err(crate::Error::Sql(crate::sql::SqlError::Routine { detail, .. })) => detail,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            detail.as_deref(),
            Some("privileges for table ledger\nprivileges for schema public")
        );
        root.execute("REVOKE SELECT ON ledger FROM staff; REVOKE CREATE ON SCHEMA public FROM staff; DROP ROLE staff")
            .unwrap();
        assert_eq!(
            query(&mut root, "SELECT count(*) FROM pg_auth_members"),
            ["0"]
        );
        let mut alice = db.session_as("alice");
        assert_eq!(
            error(&mut alice, "DROP ROLE alice"),
            "55006 current user cannot be dropped"
        );
    }
}
