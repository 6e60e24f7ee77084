//! `REASSIGN OWNED BY old TO new` and `DROP OWNED BY role`: what an
//! administrator runs before `DROP ROLE`, which refuses while the role
//! owns objects or holds privileges (`role.rs`).
//!
//! REASSIGN rewrites owners in place. DROP OWNED takes away every
//! privilege granted to the role, then drops what it owns by running the
//! ordinary DROP statements (views, tables, sequences, routines, modules,
//! schemas, in that order) inside the same statement, so each keeps its
//! own dependency checks: with RESTRICT, an object something else depends
//! on fails the whole statement, and CASCADE passes CASCADE on.

use std::sync::Arc;

use crate::SqlState;
use crate::catalog::routine::{self as records, RoutineOrigin};
use crate::catalog::{
    Acl, BOOTSTRAP_SUPERUSER, Catalog, CatalogWriter, KvTxn, PUBLIC_SCHEMA, SYSTEM_SCHEMAS,
};
use crate::extension::RoutineKind;

use super::binder::ident;
use super::error::{SqlError, SqlResult};
use super::parser::{Owned, RoleSpec, Statement, parse_sql};
use super::session::{Session, StatementResult};

/// Runs REASSIGN OWNED or DROP OWNED, or returns `None` for any other
/// statement.
pub(crate) fn execute(session: &mut Session, s: &Statement) -> Option<SqlResult<StatementResult>> {
    let Statement::Owned(o) = s else {
        return None;
    };
    Some(run(session, o))
}

fn semantic(state: SqlState, message: impl Into<String>) -> SqlError {
    SqlError::Semantic {
        state,
        message: message.into(),
    }
}

fn txn(session: &mut Session) -> SqlResult<&mut dyn KvTxn> {
    match session.txn.as_mut() {
        Some(t) => Ok(t.as_mut()),
        None => Err(SqlError::Internal("no transaction".into())),
    }
}

fn run(session: &mut Session, o: &Owned) -> SqlResult<StatementResult> {
    let cache = session.catalog.clone();
    let catalog = cache.get(txn(session)?)?;
    let resolve = |spec: &RoleSpec| match spec {
        RoleSpec::Name(i) => ident(i),
        RoleSpec::CurrentUser => session.user.clone(),
        RoleSpec::SessionUser => session.session_user.clone(),
    };
    let roles: Vec<String> = o.roles.iter().map(resolve).collect();
    let to = o.to.as_ref().map(resolve);
    let verb = if to.is_some() { "reassign" } else { "drop" };
    let me = catalog.privileged(&session.user);
    for role in roles.iter().chain(&to) {
        if catalog.role(role).is_none() {
            return Err(semantic(
                SqlState::UNDEFINED_OBJECT,
                format!("role \"{role}\" does not exist"),
            ));
        }
        if !me.includes(role) {
            return Err(semantic(
                SqlState::INSUFFICIENT_PRIVILEGE,
                format!("permission denied to {verb} objects"),
            ));
        }
    }
    if roles.iter().any(|r| r == BOOTSTRAP_SUPERUSER) {
        return Err(semantic(
            SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
            format!(
                "cannot {verb} objects owned by role {BOOTSTRAP_SUPERUSER} because they are required by the database system"
            ),
        ));
    }
    match to {
        Some(to) => {
            reassign(txn(session)?, &catalog, &roles, &to)?;
            Ok(StatementResult::Command("REASSIGN OWNED".into()))
        }
        None => {
            drop_owned(session, &catalog, &roles, o.cascade)?;
            Ok(StatementResult::Command("DROP OWNED".into()))
        }
    }
}

/// Every table, view and sequence: its id, the noun messages and DROP
/// use for its kind (`table`, `view`, `sequence`) and its name, by id.
pub(super) fn relations(catalog: &Catalog) -> Vec<(u32, &'static str, &str)> {
    let mut all: Vec<(u32, &'static str, &str)> = catalog
        .tables()
        .map(|t| (t.id, "table", t.name.as_str()))
        .chain(catalog.views().map(|v| (v.id, "view", v.name.as_str())))
        .chain(
            catalog
                .sequences()
                .map(|q| (q.id, "sequence", q.name.as_str())),
        )
        .collect();
    all.sort_unstable();
    all
}

fn reassign(txn: &mut dyn KvTxn, catalog: &Catalog, roles: &[String], to: &str) -> SqlResult<()> {
    let owned = |acl: &Acl| roles.contains(&acl.owner);
    let with_owner = |acl: &Acl| Acl {
        owner: to.to_owned(),
        grants: acl.grants.clone(),
    };
    for (id, _, _) in relations(catalog) {
        let acl = catalog.acl(id);
        if owned(&acl) {
            CatalogWriter::new(txn).put_acl(id, &with_owner(&acl))?;
        }
    }
    for schema in catalog.schemas() {
        if owned(&schema.acl) && !SYSTEM_SCHEMAS.contains(&schema.name.as_str()) {
            CatalogWriter::new(txn).put_schema(&schema.name, &with_owner(&schema.acl))?;
        }
    }
    for routine in catalog.routines() {
        if owned(&routine.acl) {
            let mut r = (**routine).clone();
            r.acl = with_owner(&r.acl);
            records::put_routine(txn, &r)?;
        }
    }
    for module in catalog.modules() {
        if roles.contains(&module.owner) {
            let mut m = (**module).clone();
            m.owner = to.to_owned();
            records::put_module_record(txn, &m)?;
        }
    }
    Ok(())
}

fn drop_owned(
    session: &mut Session,
    catalog: &Arc<Catalog>,
    roles: &[String],
    cascade: bool,
) -> SqlResult<()> {
    let granted = |acl: &Acl| {
        let mut kept = acl.clone();
        kept.grants
            .retain(|g| g.grantee.as_ref().is_none_or(|n| !roles.contains(n)));
        (kept.grants.len() != acl.grants.len()).then_some(kept)
    };
    let txn = txn(session)?;
    for (id, _, _) in relations(catalog) {
        if let Some(acl) = granted(&catalog.acl(id)) {
            CatalogWriter::new(txn).put_acl(id, &acl)?;
        }
    }
    for schema in catalog.schemas() {
        if let Some(acl) = granted(&schema.acl) {
            CatalogWriter::new(txn).put_schema(&schema.name, &acl)?;
        }
    }
    for routine in catalog.routines() {
        if let Some(acl) = granted(&routine.acl) {
            let mut r = (**routine).clone();
            r.acl = acl;
            records::put_routine(txn, &r)?;
        }
    }
    let statements = drops(catalog, roles, cascade);
    // The IF EXISTS of each DROP is for objects an earlier CASCADE took
    // with it; its "does not exist, skipping" notices mean nothing here.
    let notices = session.notices.len();
    for sql in statements {
        for statement in parse_sql(&sql)? {
            super::statement::execute(session, &statement, &[], &[])?;
        }
    }
    session.notices.truncate(notices);
    Ok(())
}

/// `name` as a quoted identifier: catalog names are exact, so quoting
/// every one keeps its case and any odd character.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The DROP statements for what `roles` own, dependents first.
fn drops(catalog: &Catalog, roles: &[String], cascade: bool) -> Vec<String> {
    let owns = |owner: &str| roles.iter().any(|r| r == owner);
    let tail = if cascade { " CASCADE" } else { "" };
    let mut out = Vec::new();
    // Views first (they may read the tables), then tables and sequences,
    // each kind in creation order.
    let owned: Vec<_> = relations(catalog)
        .into_iter()
        .filter(|(id, _, _)| owns(catalog.owner(*id)))
        .collect();
    for kind in ["view", "table", "sequence"] {
        out.extend(
            owned
                .iter()
                .filter(|(_, k, _)| *k == kind)
                .map(|(_, k, name)| {
                    format!("DROP {} IF EXISTS {}{tail}", k.to_uppercase(), quoted(name))
                }),
        );
    }
    let dropped_modules: Vec<&str> = catalog
        .modules()
        .filter(|m| owns(&m.owner))
        .map(|m| m.name.as_str())
        .collect();
    let mut routines: Vec<_> = catalog
        .routines()
        .filter(|r| owns(&r.acl.owner))
        // A module's own routines go with the module.
        .filter(|r| {
            !(r.origin == RoutineOrigin::Described && dropped_modules.contains(&r.module.as_str()))
        })
        .collect();
    routines.sort_by_key(|r| r.qualified_name());
    out.extend(routines.iter().map(|r| {
        let what = match r.kind {
            RoutineKind::Procedure => "PROCEDURE",
            RoutineKind::Aggregate => "AGGREGATE",
            RoutineKind::Model => "MODEL",
            RoutineKind::Scalar | RoutineKind::Table | RoutineKind::Trigger => "FUNCTION",
        };
        format!(
            "DROP {what} IF EXISTS {}.{}{tail}",
            quoted(&r.schema),
            quoted(&r.name)
        )
    }));
    let mut modules = dropped_modules;
    modules.sort_unstable();
    out.extend(
        modules
            .iter()
            .map(|m| format!("DROP MODULE IF EXISTS {}{tail}", quoted(m))),
    );
    let mut schemas: Vec<String> = catalog
        .schemas()
        .into_iter()
        .filter(|s| owns(&s.acl.owner) && s.module.is_none())
        .filter(|s| s.name != PUBLIC_SCHEMA && !SYSTEM_SCHEMAS.contains(&s.name.as_str()))
        .map(|s| s.name)
        .collect();
    schemas.sort();
    out.extend(
        schemas
            .iter()
            .map(|s| format!("DROP SCHEMA IF EXISTS {}{tail}", quoted(s))),
    );
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::catalog::memkv::MemKv;
    use crate::sql::Database;
    use crate::sql::tests::{error, query};

    #[test]
    fn only_a_role_acting_as_both_may_reassign_or_drop_what_another_owns() {
        let db = Database::with_store(Arc::new(MemKv::default()));
        let mut root = db.session();
        root.execute(
            "CREATE ROLE team; CREATE ROLE erin LOGIN IN ROLE team; CREATE ROLE frank LOGIN; \
             GRANT CREATE ON SCHEMA public TO team; SET ROLE team; CREATE TABLE plans (n int); \
             RESET ROLE",
        )
        .unwrap();
        let mut frank = db.session_as("frank");
        assert_eq!(
            error(&mut frank, "DROP OWNED BY team"),
            "42501 permission denied to drop objects"
        );
        let mut erin = db.session_as("erin");
        assert_eq!(
            error(&mut erin, "REASSIGN OWNED BY team TO frank"),
            "42501 permission denied to reassign objects"
        );
        erin.execute("REASSIGN OWNED BY team TO erin").unwrap();
        assert_eq!(
            query(
                &mut erin,
                "SELECT tableowner FROM pg_tables WHERE tablename = 'plans'"
            ),
            ["erin"]
        );
        assert_eq!(
            error(&mut root, "DROP OWNED BY rustydb"),
            "2BP01 cannot drop objects owned by role rustydb because they are required by the database system"
        );
        erin.execute("DROP OWNED BY erin").unwrap();
        assert_eq!(
            error(&mut erin, "SELECT * FROM plans"),
            "42P01 relation \"plans\" does not exist"
        );
    }
}
