//! Privileges: `GRANT` / `REVOKE` on tables, views, sequences and
//! routines, and the checks statements make before they read, write or
//! call (sequences' own are in `sequence_privilege.rs`, schemas' in
//! `schema.rs`).
//!
//! PostgreSQL's rules: the owner of an object and a superuser may do
//! anything with it; anyone else needs the privilege granted to them or to
//! PUBLIC. A table or view starts with no grants, a routine with EXECUTE
//! for PUBLIC. Only the owner (or a superuser) grants and revokes; `WITH
//! GRANT OPTION` and column privileges are not supported (0A000).
//!
//! Whose privileges apply is the statement's current user: the session's
//! role, or inside a SECURITY DEFINER routine the routine's owner. A view
//! is checked for the current user; the relations it reads are checked
//! for the view's owner, as PostgreSQL does.

use std::ops::ControlFlow;

use sqlparser::ast;

use crate::SqlState;
use crate::catalog::routine::{self as records, RoutineDef};
use crate::catalog::{Acl, Catalog, CatalogWriter, PUBLIC_SCHEMA, Privileges};
use crate::extension::RoutineKind;

use super::binder::object_name;
use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::parser::TriggerDdl;
use super::session::{Session, StatementResult};

fn semantic(state: SqlState, message: String) -> SqlError {
    SqlError::Semantic { state, message }
}

/// 0LP01 invalid_grant_operation
pub(super) fn invalid_grant_operation() -> SqlState {
    SqlState::from_code("0LP01").unwrap_or(SqlState::SYNTAX_ERROR)
}

/// 42501 `permission denied for table t`.
pub(crate) fn denied(noun: &str, name: &str) -> SqlError {
    semantic(
        SqlState::INSUFFICIENT_PRIVILEGE,
        format!("permission denied for {noun} {name}"),
    )
}

/// 42501 `must be owner of table t`.
pub(crate) fn not_owner(noun: &str, name: &str) -> SqlError {
    semantic(
        SqlState::INSUFFICIENT_PRIVILEGE,
        format!("must be owner of {noun} {name}"),
    )
}

/// Whether `user` may act as `owner`: it is the owner, a superuser, or a
/// member of the owner that inherits its privileges.
pub(crate) fn acts_as_owner(catalog: &Catalog, user: &str, owner: &str) -> bool {
    user == owner || catalog.privileged(user).includes(owner)
}

/// Whether `user` owns table or view `id` (or is a superuser).
pub(crate) fn owns(catalog: &Catalog, user: &str, id: u32) -> bool {
    acts_as_owner(catalog, user, catalog.owner(id))
}

/// Fails unless `user` holds `wanted` on table `id` (named `name`), and
/// USAGE on `public`, the schema it lives in.
pub(crate) fn check_table(
    catalog: &Catalog,
    user: &str,
    id: u32,
    name: &str,
    wanted: Privileges,
) -> SqlResult<()> {
    super::schema::check_usage(catalog, user, PUBLIC_SCHEMA)?;
    if catalog.may(user, id, wanted) {
        Ok(())
    } else {
        Err(denied(relation_noun(catalog, name), name))
    }
}

fn relation_noun(catalog: &Catalog, name: &str) -> &'static str {
    if catalog.view(name).is_some() {
        "view"
    } else {
        "table"
    }
}

/// Fails unless `user` owns table or view `id` (or is a superuser).
pub(crate) fn check_owner(catalog: &Catalog, user: &str, id: u32, name: &str) -> SqlResult<()> {
    if owns(catalog, user, id) {
        Ok(())
    } else {
        Err(not_owner(relation_noun(catalog, name), name))
    }
}

/// How messages name a routine of this kind.
pub(crate) fn routine_noun(kind: RoutineKind) -> &'static str {
    match kind {
        RoutineKind::Procedure => "procedure",
        RoutineKind::Aggregate => "aggregate",
        RoutineKind::Model => "model",
        RoutineKind::Scalar | RoutineKind::Table | RoutineKind::Trigger => "function",
    }
}

/// Fails unless `user` may execute routine `r`: USAGE on its schema, then
/// EXECUTE on it, in the order PostgreSQL looks the name up and checks.
pub(crate) fn check_execute(catalog: &Catalog, user: &str, r: &RoutineDef) -> SqlResult<()> {
    super::schema::check_usage(catalog, user, &r.schema)?;
    if r.acl.allows(&catalog.privileged(user), Privileges::EXECUTE) {
        Ok(())
    } else {
        Err(denied(routine_noun(r.kind), &r.name))
    }
}

/// Runs `GRANT` or `REVOKE`, or returns `None` for any other statement.
pub(crate) fn execute(
    stmt: &ast::Statement,
    cx: &mut ExecCtx<'_>,
) -> Option<SqlResult<StatementResult>> {
    Some(match stmt {
        ast::Statement::Grant {
            privileges,
            objects,
            grantees,
            with_grant_option,
            granted_by,
            ..
        } => {
            if *with_grant_option || granted_by.is_some() {
                Err(SqlError::unsupported(
                    "GRANT … WITH GRANT OPTION or GRANTED BY",
                ))
            } else {
                change(privileges, objects.as_ref(), grantees, true, cx)
                    .map(|()| StatementResult::Command("GRANT".into()))
            }
        }
        ast::Statement::Revoke {
            privileges,
            objects,
            grantees,
            granted_by,
            ..
        } => {
            if granted_by.is_some() {
                Err(SqlError::unsupported("REVOKE … GRANTED BY"))
            } else {
                change(privileges, objects.as_ref(), grantees, false, cx)
                    .map(|()| StatementResult::Command("REVOKE".into()))
            }
        }
        _ => return None,
    })
}

/// What a privilege list means for a table (`routine: false`) or routine.
fn wanted(privileges: &ast::Privileges, routine: bool) -> SqlResult<Privileges> {
    let actions = match privileges {
        ast::Privileges::All { .. } if routine => return Ok(Privileges::EXECUTE),
        ast::Privileges::All { .. } => return Ok(Privileges::ALL_TABLE),
        ast::Privileges::Actions(actions) => actions,
    };
    let mut out = Privileges::NONE;
    for a in actions {
        let p = match (a, routine) {
            (ast::Action::Select { columns: None }, false) => Privileges::SELECT,
            (ast::Action::Insert { columns: None }, false) => Privileges::INSERT,
            (ast::Action::Update { columns: None }, false) => Privileges::UPDATE,
            (ast::Action::Delete, false) => Privileges::DELETE,
            (ast::Action::Truncate, false) => Privileges::TRUNCATE,
            // For a sequence named as a table; a table refuses it.
            (ast::Action::Usage, false) => Privileges::USAGE,
            (ast::Action::Execute { .. }, true) => Privileges::EXECUTE,
            (
                ast::Action::Select { columns: Some(_) }
                | ast::Action::Insert { columns: Some(_) }
                | ast::Action::Update { columns: Some(_) },
                false,
            ) => return Err(SqlError::unsupported("column privileges")),
            (ast::Action::Execute { .. }, false) => {
                return Err(semantic(
                    invalid_grant_operation(),
                    "invalid privilege type EXECUTE for relation".into(),
                ));
            }
            (other, true) => {
                return Err(semantic(
                    invalid_grant_operation(),
                    format!("invalid privilege type {other} for function"),
                ));
            }
            (other, false) => {
                return Err(SqlError::unsupported(format!("privilege {other}")));
            }
        };
        out = out.with(p);
    }
    Ok(out)
}

/// The roles named, `None` for PUBLIC; each must exist.
fn grantee_names(grantees: &[ast::Grantee], catalog: &Catalog) -> SqlResult<Vec<Option<String>>> {
    grantees
        .iter()
        .map(|g| {
            if g.grantee_type == ast::GranteesType::Public {
                return Ok(None);
            }
            let Some(ast::GranteeName::ObjectName(name)) = &g.name else {
                return Err(SqlError::unsupported(format!("grantee {g}")));
            };
            let name = object_name(name)?;
            if name == "public" {
                return Ok(None);
            }
            if catalog.role(&name).is_none() {
                return Err(semantic(
                    SqlState::UNDEFINED_OBJECT,
                    format!("role \"{name}\" does not exist"),
                ));
            }
            Ok(Some(name))
        })
        .collect()
}

pub(super) fn apply(acl: &mut Acl, grantees: &[Option<String>], p: Privileges, grant: bool) {
    for g in grantees {
        if grant {
            acl.grant(g.as_deref(), p);
        } else {
            acl.revoke(g.as_deref(), p);
        }
    }
}

fn change(
    privileges: &ast::Privileges,
    objects: Option<&ast::GrantObjects>,
    grantees: &[ast::Grantee],
    grant: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<()> {
    let grantees = grantee_names(grantees, cx.catalog)?;
    match objects {
        Some(ast::GrantObjects::Tables(names) | ast::GrantObjects::Views(names)) => {
            let p = wanted(privileges, false)?;
            let all = matches!(privileges, ast::Privileges::All { .. });
            for n in names {
                let name = object_name(n)?;
                // `ON [TABLE] s` reaches a sequence too, as in PostgreSQL,
                // with what a sequence lacks left out (PostgreSQL warns).
                if cx.catalog.sequence(&name).is_some() {
                    let p = if all {
                        Privileges::ALL_SEQUENCE
                    } else {
                        p.and(Privileges::ALL_SEQUENCE)
                    };
                    super::sequence_privilege::change(
                        std::slice::from_ref(n),
                        p,
                        &grantees,
                        grant,
                        cx,
                    )?;
                    continue;
                }
                let Some(id) = relation_id(cx.catalog, &name) else {
                    return Err(SqlError::UndefinedTable(name));
                };
                if p.contains(Privileges::USAGE) {
                    return Err(semantic(
                        invalid_grant_operation(),
                        "invalid privilege type USAGE for table".into(),
                    ));
                }
                // A grantor without grant options is refused outright
                // (PostgreSQL warns instead when it holds some privilege).
                if !owns(cx.catalog, cx.user, id) {
                    return Err(denied(relation_noun(cx.catalog, &name), &name));
                }
                let mut acl = cx.catalog.acl(id);
                apply(&mut acl, &grantees, p, grant);
                CatalogWriter::new(cx.txn).put_acl(id, &acl)?;
            }
            Ok(())
        }
        Some(
            ast::GrantObjects::Procedure { name, .. } | ast::GrantObjects::Function { name, .. },
        ) => {
            let procedure = matches!(objects, Some(ast::GrantObjects::Procedure { .. }));
            let p = wanted(privileges, true)?;
            let (schema, routine) = super::routine::split_name(name)?;
            let found = records::routine(cx.txn, &schema, &routine)?
                .filter(|r| (r.kind == RoutineKind::Procedure) == procedure);
            let Some(mut r) = found else {
                let noun = if procedure { "procedure" } else { "function" };
                return Err(SqlError::UndefinedFunction(format!(
                    "{noun} {name} does not exist"
                )));
            };
            if !acts_as_owner(cx.catalog, cx.user, &r.acl.owner) {
                return Err(denied(routine_noun(r.kind), &r.name));
            }
            apply(&mut r.acl, &grantees, p, grant);
            records::put_routine(cx.txn, &r)?;
            Ok(())
        }
        Some(ast::GrantObjects::Schemas(names)) => {
            super::schema::change(names, privileges, &grantees, grant, cx)
        }
        Some(ast::GrantObjects::Sequences(names)) => {
            let p = super::sequence_privilege::wanted(privileges)?;
            super::sequence_privilege::change(names, p, &grantees, grant, cx)
        }
        _ => Err(SqlError::unsupported(
            "GRANT and REVOKE on objects other than tables, views, sequences, schemas, procedures and functions",
        )),
    }
}

/// Whether the session's current user may act as `owner`, by the catalog
/// its transaction sees.
pub(crate) fn session_acts_as(session: &mut Session, owner: &str) -> SqlResult<bool> {
    let cache = session.catalog.clone();
    let txn = session
        .txn
        .as_mut()
        .ok_or_else(|| SqlError::Internal("no transaction".into()))?;
    let catalog = cache.get(txn.as_mut())?;
    Ok(acts_as_owner(&catalog, &session.user, owner))
}

/// Whether `e` reads a column (a subquery's own tables are checked when
/// it binds).
fn reads_columns(e: &ast::Expr) -> bool {
    ast::visit_expressions(e, |e| match e {
        ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Before INSERT, UPDATE or DELETE: the target table or view must allow
/// the write for the current user, and SELECT too when the statement
/// reads the target's rows (WHERE, RETURNING, FROM / USING, a SET value
/// that reads a column), as PostgreSQL requires. What the statement reads
/// from other relations is checked as it binds.
pub(crate) fn check_dml(stmt: &ast::Statement, cx: &ExecCtx<'_>) -> SqlResult<()> {
    let (name, mut wanted, reads) = match stmt {
        ast::Statement::Insert(ins) => {
            let ast::TableObject::TableName(name) = &ins.table else {
                return Ok(());
            };
            let upsert = matches!(
                &ins.on,
                Some(ast::OnInsert::OnConflict(ast::OnConflict {
                    action: ast::OnConflictAction::DoUpdate(_),
                    ..
                }))
            );
            let wanted = if upsert {
                Privileges::INSERT.with(Privileges::UPDATE)
            } else {
                Privileges::INSERT
            };
            (name, wanted, ins.returning.is_some())
        }
        ast::Statement::Update {
            table,
            assignments,
            from,
            selection,
            returning,
            ..
        } => {
            let ast::TableFactor::Table { name, .. } = &table.relation else {
                return Ok(());
            };
            let reads = selection.is_some()
                || returning.is_some()
                || from.is_some()
                || assignments.iter().any(|a| reads_columns(&a.value));
            (name, Privileges::UPDATE, reads)
        }
        ast::Statement::Delete(del) => {
            let from = match &del.from {
                ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
            };
            let Some(ast::TableWithJoins {
                relation: ast::TableFactor::Table { name, .. },
                ..
            }) = from.first()
            else {
                return Ok(());
            };
            let reads = del.selection.is_some() || del.returning.is_some() || del.using.is_some();
            (name, Privileges::DELETE, reads)
        }
        _ => return Ok(()),
    };
    if reads {
        wanted = wanted.with(Privileges::SELECT);
    }
    let name = object_name(name)?;
    match relation_id(cx.catalog, &name) {
        Some(id) => check_table(cx.catalog, cx.user, id, &name, wanted),
        // Binding reports the missing relation.
        None => Ok(()),
    }
}

/// The object id of table or view `name`.
pub(crate) fn relation_id(catalog: &Catalog, name: &str) -> Option<u32> {
    catalog
        .table(name)
        .map(|t| t.id)
        .or_else(|| catalog.view(name).map(|v| v.id))
}

/// Before trigger DDL: a trigger runs its function as whoever writes to
/// the table, so only the table's owner attaches, drops or switches one
/// (PostgreSQL's TRIGGER privilege, which only owners hold here).
pub(crate) fn check_trigger_ddl(ddl: &TriggerDdl, cx: &ExecCtx<'_>) -> SqlResult<()> {
    let (table, creating) = match ddl {
        TriggerDdl::Create(c) => (&c.table, true),
        TriggerDdl::Drop { table, .. } | TriggerDdl::SetEnabled { table, .. } => (table, false),
    };
    let name = object_name(table)?;
    let Some(id) = relation_id(cx.catalog, &name) else {
        // The trigger machinery reports the missing relation.
        return Ok(());
    };
    if creating && !owns(cx.catalog, cx.user, id) {
        return Err(denied(relation_noun(cx.catalog, &name), &name));
    }
    check_owner(cx.catalog, cx.user, id, &name)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::catalog::memkv::MemKv;
    use crate::sql::Database;
    use crate::sql::tests::{error, query};

    fn db() -> Database {
        let db = Database::with_store(Arc::new(MemKv::default()));
        // PostgreSQL 15's public grants CREATE to no one: alice may create
        // her own tables there.
        db.session()
            .execute(
                "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 10); \
                 CREATE ROLE alice; CREATE ROLE bob; GRANT CREATE ON SCHEMA public TO alice",
            )
            .unwrap();
        db
    }

    #[test]
    fn a_table_is_its_creators_and_others_need_a_grant() {
        let db = db();
        let mut alice = db.session_as("alice");
        let denied = "42501 permission denied for table t";
        for sql in [
            "SELECT * FROM t",
            "INSERT INTO t VALUES (2, 20)",
            "UPDATE t SET v = 0",
            "DELETE FROM t",
            "TRUNCATE t",
            "COPY t TO STDOUT",
            "EXPLAIN SELECT * FROM t",
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM t)",
        ] {
            assert_eq!(error(&mut alice, sql), denied, "{sql}");
        }
        assert_eq!(
            error(&mut alice, "DROP TABLE t"),
            "42501 must be owner of table t"
        );
        assert_eq!(
            error(&mut alice, "ALTER TABLE t ADD COLUMN w int"),
            "42501 must be owner of table t"
        );
        assert_eq!(
            error(&mut alice, "GRANT SELECT ON t TO alice"),
            denied,
            "only the owner grants"
        );

        let mut owner = db.session();
        owner.execute("GRANT SELECT ON t TO alice").unwrap();
        assert_eq!(query(&mut alice, "SELECT id, v FROM t"), ["1 10"]);
        assert_eq!(error(&mut alice, "INSERT INTO t VALUES (2, 20)"), denied);

        // PUBLIC's grants count for everyone. UPDATE and DELETE that read
        // the table (WHERE, RETURNING, a SET value reading a column) also
        // need SELECT.
        owner
            .execute("GRANT INSERT, UPDATE ON TABLE t TO PUBLIC")
            .unwrap();
        let mut bob = db.session_as("bob");
        bob.execute("INSERT INTO t VALUES (3, 30); UPDATE t SET v = 1")
            .unwrap();
        assert_eq!(error(&mut bob, "UPDATE t SET v = 2 WHERE id = 3"), denied);
        assert_eq!(error(&mut bob, "UPDATE t SET v = v + 1"), denied);
        assert_eq!(
            error(&mut bob, "INSERT INTO t VALUES (4, 40) RETURNING id"),
            denied
        );
        alice
            .execute("UPDATE t SET v = v + 1 WHERE id = 3")
            .unwrap();
        assert_eq!(
            query(&mut owner, "SELECT id, v FROM t ORDER BY id"),
            ["1 1", "3 2"]
        );

        owner.execute("REVOKE SELECT ON t FROM alice").unwrap();
        assert_eq!(error(&mut alice, "SELECT * FROM t"), denied);
        owner.execute("REVOKE ALL ON t FROM PUBLIC").unwrap();
        assert_eq!(error(&mut bob, "INSERT INTO t VALUES (5, 50)"), denied);
    }

    #[test]
    fn what_a_role_creates_is_its_own() {
        let db = db();
        let mut alice = db.session_as("alice");
        alice
            .execute("CREATE TABLE mine (x int); INSERT INTO mine VALUES (7)")
            .unwrap();
        assert_eq!(query(&mut alice, "SELECT x FROM mine"), ["7"]);
        assert_eq!(query(&mut db.session(), "SELECT x FROM mine"), ["7"]);
        let mut bob = db.session_as("bob");
        assert_eq!(
            error(&mut bob, "SELECT x FROM mine"),
            "42501 permission denied for table mine"
        );
        alice.execute("GRANT ALL ON mine TO bob").unwrap();
        bob.execute("DELETE FROM mine WHERE x = 7").unwrap();
        assert_eq!(
            error(&mut bob, "DROP TABLE mine"),
            "42501 must be owner of table mine"
        );
        alice.execute("DROP TABLE mine").unwrap();
    }

    #[test]
    fn only_a_tables_owner_indexes_it() {
        let db = db();
        db.session().execute("GRANT ALL ON t TO alice").unwrap();
        let mut alice = db.session_as("alice");
        assert_eq!(
            error(&mut alice, "CREATE INDEX t_v ON t (v)"),
            "42501 must be owner of table t"
        );
        db.session().execute("CREATE INDEX t_v ON t (v)").unwrap();
        assert_eq!(
            error(&mut alice, "DROP INDEX t_v"),
            "42501 must be owner of index t_v"
        );
        alice.execute("CREATE TABLE mine (x int)").unwrap();
        alice
            .execute("CREATE INDEX mine_x ON mine (x); DROP INDEX mine_x")
            .unwrap();
    }

    #[test]
    fn a_view_reads_with_its_owners_privileges() {
        let db = db();
        let mut owner = db.session();
        owner
            .execute("CREATE VIEW visible AS SELECT v FROM t; GRANT SELECT ON visible TO alice")
            .unwrap();
        let mut alice = db.session_as("alice");
        assert_eq!(query(&mut alice, "SELECT v FROM visible"), ["10"]);
        assert_eq!(
            error(&mut alice, "SELECT * FROM t"),
            "42501 permission denied for table t"
        );
        // A view of her own reads with her privileges.
        alice
            .execute("CREATE VIEW peek AS SELECT v FROM t")
            .unwrap();
        assert_eq!(
            error(&mut alice, "SELECT * FROM peek"),
            "42501 permission denied for table t"
        );
        assert_eq!(
            error(&mut db.session_as("bob"), "SELECT * FROM visible"),
            "42501 permission denied for view visible"
        );
        assert_eq!(
            error(&mut alice, "DROP VIEW visible"),
            "42501 must be owner of view visible"
        );
    }

    #[test]
    fn grants_are_transactional_and_checked() {
        let db = db();
        let mut owner = db.session();
        owner
            .execute("BEGIN; GRANT SELECT ON t TO alice; ROLLBACK")
            .unwrap();
        assert_eq!(
            error(&mut db.session_as("alice"), "SELECT * FROM t"),
            "42501 permission denied for table t"
        );
        assert_eq!(
            error(&mut owner, "GRANT SELECT ON t TO nobody"),
            "42704 role \"nobody\" does not exist"
        );
        assert_eq!(
            error(&mut owner, "GRANT EXECUTE ON t TO alice"),
            "0LP01 invalid privilege type EXECUTE for relation"
        );
        assert_eq!(
            error(&mut owner, "GRANT SELECT ON missing TO alice"),
            "42P01 relation \"missing\" does not exist"
        );
        assert_eq!(
            query(
                &mut db.session_as("alice"),
                "SELECT current_user, session_user"
            ),
            ["alice alice"]
        );
    }
}
