//! Privileges on sequences: `GRANT … ON SEQUENCE` and the checks the
//! sequence functions make.
//!
//! As in PostgreSQL 15: a sequence has USAGE, SELECT and UPDATE. `nextval`
//! needs USAGE or UPDATE, `currval` and `lastval` USAGE or SELECT,
//! `setval` UPDATE. The
//! checks run when the function is evaluated, as the current user, so an
//! INSERT that takes a serial column's DEFAULT needs USAGE on its sequence
//! and one that gives the column a value does not.

use sqlparser::ast;

use crate::SqlState;
use crate::catalog::{Acl, Catalog, CatalogWriter, Privileges};

use super::binder::object_name;
use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::privilege::{denied, owns};

/// What a sequence function does to its sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SequenceUse {
    /// `nextval`
    Advance,
    /// `currval`, `lastval`
    Read,
    /// `setval`
    Set,
}

impl SequenceUse {
    /// Each privilege that alone allows this use.
    fn allowed_by(self) -> &'static [Privileges] {
        match self {
            SequenceUse::Advance => &[Privileges::USAGE, Privileges::UPDATE],
            SequenceUse::Read => &[Privileges::USAGE, Privileges::SELECT],
            SequenceUse::Set => &[Privileges::UPDATE],
        }
    }
}

/// Fails with 42501 unless `user` may put sequence `id` to `what` (and
/// reach `public`, where it lives).
pub(crate) fn check_use(
    catalog: &Catalog,
    user: &str,
    id: u32,
    what: SequenceUse,
) -> SqlResult<()> {
    super::schema::check_usage(catalog, user, crate::catalog::PUBLIC_SCHEMA)?;
    if what.allowed_by().iter().any(|p| catalog.may(user, id, *p)) {
        return Ok(());
    }
    let name = catalog
        .sequences()
        .find(|s| s.id == id)
        .map_or_else(|| id.to_string(), |s| s.name.clone());
    Err(denied("sequence", &name))
}

/// What a privilege list means for a sequence.
pub(super) fn wanted(privileges: &ast::Privileges) -> SqlResult<Privileges> {
    let actions = match privileges {
        ast::Privileges::All { .. } => return Ok(Privileges::ALL_SEQUENCE),
        ast::Privileges::Actions(actions) => actions,
    };
    let mut out = Privileges::NONE;
    for a in actions {
        out = out.with(match a {
            ast::Action::Usage => Privileges::USAGE,
            ast::Action::Select { columns: None } => Privileges::SELECT,
            ast::Action::Update { columns: None } => Privileges::UPDATE,
            other => {
                return Err(SqlError::Semantic {
                    state: super::privilege::invalid_grant_operation(),
                    message: format!("invalid privilege type {other} for sequence"),
                });
            }
        });
    }
    Ok(out)
}

/// `GRANT` (`grant`) or `REVOKE` of `p` on each sequence of `names` to or
/// from `grantees` (`None` for PUBLIC).
pub(super) fn change(
    names: &[ast::ObjectName],
    p: Privileges,
    grantees: &[Option<String>],
    grant: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<()> {
    for n in names {
        let name = object_name(n)?;
        let Some(seq) = cx.catalog.sequence(&name) else {
            if cx.catalog.relation_exists(&name) {
                return Err(SqlError::Semantic {
                    state: SqlState::WRONG_OBJECT_TYPE,
                    message: format!("\"{name}\" is not a sequence"),
                });
            }
            return Err(SqlError::UndefinedTable(name));
        };
        // As for tables: a grantor that is not the owner is refused.
        if !owns(cx.catalog, cx.user, seq.id) {
            return Err(denied("sequence", &name));
        }
        let mut acl: Acl = cx.catalog.acl(seq.id);
        super::privilege::apply(&mut acl, grantees, p, grant);
        CatalogWriter::new(cx.txn).put_acl(seq.id, &acl)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::catalog::memkv::MemKv;
    use crate::sql::Database;
    use crate::sql::tests::{error, query};

    const DENIED: &str = "42501 permission denied for sequence s";

    fn db() -> Database {
        let db = Database::with_store(Arc::new(MemKv::default()));
        db.session()
            .execute("CREATE SEQUENCE s; CREATE ROLE alice; CREATE ROLE bob")
            .unwrap();
        db
    }

    #[test]
    fn a_role_without_grants_may_not_use_a_sequence() {
        let db = db();
        let mut alice = db.session_as("alice");
        for sql in [
            "SELECT nextval('s')",
            "SELECT currval('s')",
            "SELECT setval('s', 5)",
        ] {
            assert_eq!(error(&mut alice, sql), DENIED, "{sql}");
        }
        assert_eq!(
            error(&mut alice, "DROP SEQUENCE s"),
            "42501 must be owner of sequence s"
        );
        assert_eq!(
            error(&mut alice, "GRANT USAGE ON SEQUENCE s TO alice"),
            DENIED,
            "only the owner grants"
        );
        // The owner and a superuser need no grant.
        let mut owner = db.session();
        assert_eq!(query(&mut owner, "SELECT nextval('s')"), ["1"]);
        owner.execute("CREATE ROLE root SUPERUSER").unwrap();
        assert_eq!(
            query(&mut db.session_as("root"), "SELECT nextval('s')"),
            ["2"]
        );
    }

    #[test]
    fn each_sequence_function_needs_its_own_privileges() {
        let db = db();
        let mut owner = db.session();
        let mut alice = db.session_as("alice");

        owner.execute("GRANT USAGE ON SEQUENCE s TO alice").unwrap();
        assert_eq!(query(&mut alice, "SELECT nextval('s')"), ["1"]);
        assert_eq!(query(&mut alice, "SELECT currval('s')"), ["1"]);
        assert_eq!(query(&mut alice, "SELECT lastval()"), ["1"]);
        assert_eq!(error(&mut alice, "SELECT setval('s', 5)"), DENIED);
        // setval is strict: given NULL it is not called, so not refused.
        assert_eq!(query(&mut alice, "SELECT setval('s', NULL)"), ["NULL"]);

        owner
            .execute("REVOKE USAGE ON SEQUENCE s FROM alice; GRANT SELECT ON SEQUENCE s TO alice")
            .unwrap();
        assert_eq!(query(&mut alice, "SELECT currval('s')"), ["1"]);
        assert_eq!(query(&mut alice, "SELECT lastval()"), ["1"]);
        assert_eq!(error(&mut alice, "SELECT nextval('s')"), DENIED);
        assert_eq!(error(&mut alice, "SELECT setval('s', 5)"), DENIED);

        owner
            .execute("REVOKE SELECT ON SEQUENCE s FROM alice; GRANT UPDATE ON SEQUENCE s TO alice")
            .unwrap();
        assert_eq!(query(&mut alice, "SELECT setval('s', 5)"), ["5"]);
        assert_eq!(query(&mut alice, "SELECT nextval('s')"), ["6"]);
        assert_eq!(error(&mut alice, "SELECT currval('s')"), DENIED);
        assert_eq!(error(&mut alice, "SELECT lastval()"), DENIED);

        owner
            .execute("REVOKE ALL ON SEQUENCE s FROM alice")
            .unwrap();
        for sql in [
            "SELECT nextval('s')",
            "SELECT currval('s')",
            "SELECT lastval()",
            "SELECT setval('s', 5)",
        ] {
            assert_eq!(error(&mut alice, sql), DENIED, "{sql}");
        }
    }

    #[test]
    fn public_grants_count_for_every_role() {
        let db = db();
        let mut owner = db.session();
        owner
            .execute("GRANT ALL PRIVILEGES ON SEQUENCE s TO PUBLIC")
            .unwrap();
        let (mut alice, mut bob) = (db.session_as("alice"), db.session_as("bob"));
        assert_eq!(query(&mut alice, "SELECT nextval('s')"), ["1"]);
        assert_eq!(query(&mut bob, "SELECT setval('s', 10)"), ["10"]);
        // Revoking from one role leaves what it holds through PUBLIC.
        owner.execute("REVOKE ALL ON SEQUENCE s FROM bob").unwrap();
        assert_eq!(query(&mut bob, "SELECT nextval('s')"), ["11"]);
        owner
            .execute("REVOKE UPDATE, USAGE ON SEQUENCE s FROM PUBLIC")
            .unwrap();
        assert_eq!(error(&mut bob, "SELECT nextval('s')"), DENIED);
        assert_eq!(query(&mut bob, "SELECT currval('s')"), ["11"]);
    }

    #[test]
    fn inserting_a_serial_default_needs_usage_on_its_sequence() {
        let db = Database::with_store(Arc::new(MemKv::default()));
        let mut owner = db.session();
        owner
            .execute(
                "CREATE TABLE t (id serial PRIMARY KEY, v int); CREATE ROLE alice; \
                 GRANT INSERT ON t TO alice",
            )
            .unwrap();
        let mut alice = db.session_as("alice");
        assert_eq!(
            error(&mut alice, "INSERT INTO t (v) VALUES (1)"),
            "42501 permission denied for sequence t_id_seq"
        );
        // A value given for the column takes nothing from the sequence.
        alice.execute("INSERT INTO t VALUES (100, 2)").unwrap();
        owner
            .execute("GRANT USAGE ON SEQUENCE t_id_seq TO alice")
            .unwrap();
        alice.execute("INSERT INTO t (v) VALUES (3)").unwrap();
        assert_eq!(
            query(&mut owner, "SELECT id, v FROM t ORDER BY id"),
            ["1 3", "100 2"]
        );
    }

    #[test]
    fn a_grant_on_a_table_name_reaches_a_sequence() {
        let db = db();
        let mut owner = db.session();
        let mut alice = db.session_as("alice");
        owner.execute("GRANT USAGE ON s TO alice").unwrap();
        assert_eq!(query(&mut alice, "SELECT nextval('s')"), ["1"]);
        // What a sequence lacks (INSERT) is left out; UPDATE is granted.
        owner
            .execute("GRANT INSERT, UPDATE ON TABLE s TO alice")
            .unwrap();
        assert_eq!(query(&mut alice, "SELECT setval('s', 9)"), ["9"]);
        owner.execute("REVOKE ALL ON TABLE s FROM alice").unwrap();
        assert_eq!(error(&mut alice, "SELECT nextval('s')"), DENIED);
        owner.execute("CREATE TABLE t (x int)").unwrap();
        assert_eq!(
            error(&mut owner, "GRANT USAGE ON t TO alice"),
            "0LP01 invalid privilege type USAGE for table"
        );
    }

    #[test]
    fn grants_on_sequences_are_checked() {
        let db = db();
        let mut owner = db.session();
        owner.execute("CREATE TABLE t (x int)").unwrap();
        assert_eq!(
            error(&mut owner, "GRANT INSERT ON SEQUENCE s TO alice"),
            "0LP01 invalid privilege type INSERT for sequence"
        );
        assert_eq!(
            error(&mut owner, "GRANT USAGE ON SEQUENCE t TO alice"),
            "42809 \"t\" is not a sequence"
        );
        assert_eq!(
            error(&mut owner, "GRANT USAGE ON SEQUENCE missing TO alice"),
            "42P01 relation \"missing\" does not exist"
        );
        assert_eq!(
            error(&mut owner, "GRANT USAGE ON SEQUENCE s TO nobody"),
            "42704 role \"nobody\" does not exist"
        );
        // A sequence a role creates is its own, and a new sequence of an old
        // name starts without the old one's grants.
        owner
            .execute("GRANT CREATE ON SCHEMA public TO alice")
            .unwrap();
        let mut alice = db.session_as("alice");
        alice
            .execute("CREATE SEQUENCE mine; GRANT USAGE ON SEQUENCE mine TO bob")
            .unwrap();
        assert_eq!(
            query(&mut db.session_as("bob"), "SELECT nextval('mine')"),
            ["1"]
        );
        alice
            .execute("DROP SEQUENCE mine; CREATE SEQUENCE mine")
            .unwrap();
        assert_eq!(
            error(&mut db.session_as("bob"), "SELECT nextval('mine')"),
            "42501 permission denied for sequence mine"
        );
    }
}
