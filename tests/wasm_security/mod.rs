//! Whose privileges guest SQL runs with (issue 5): the caller's for a
//! SECURITY INVOKER routine (the default), the owner's for a SECURITY
//! DEFINER one, as in PostgreSQL; and who may EXECUTE a routine.

use rustydb::engine::sql::Session;
use rustydb::engine::types::Value;

use super::wasm_support::{balances, bank, deploy, limits, open, rows, run, sqlstate};

mod resource_groups;
mod schemas;

fn text(rows: Vec<Vec<Value>>) -> Vec<String> {
    rows.into_iter()
        .map(|r| {
            r.iter()
                .map(|v| v.to_pg_text().unwrap_or_else(|| "NULL".into()))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// `accounts` and `bank` owned by the superuser, and a role `alice` that
/// holds no privilege on `accounts` but may create objects in `public`
/// (which PostgreSQL 15 grants to no one by default).
fn bank_and_alice(owner: &mut Session) {
    owner
        .execute(
            "CREATE ROLE alice LOGIN; GRANT CREATE ON SCHEMA public TO alice; \
             CREATE PROCEDURE pay(src bigint, dst bigint, amount bigint) \
               SECURITY DEFINER LANGUAGE wasm AS 'bank', 'transfer'; \
             CREATE PROCEDURE pay_as_caller(src bigint, dst bigint, amount bigint) \
               LANGUAGE wasm AS 'bank', 'transfer'",
        )
        .unwrap();
}

#[test]
fn a_definer_procedure_runs_with_its_owners_privileges_an_invoker_one_with_the_callers() {
    let t = open(limits());
    let mut owner = bank(&t.db);
    bank_and_alice(&mut owner);
    let mut alice = t.db.session_as("alice");
    let err = run(&mut alice, "SELECT * FROM accounts").unwrap_err();
    assert_eq!(err.sqlstate().code(), "42501");
    assert_eq!(err.to_string(), "permission denied for table accounts");

    run(&mut alice, "CALL pay(1, 2, 30)").unwrap();
    assert_eq!(balances(&mut owner), vec![(1, 70), (2, 80)]);

    // The guest's SELECT runs as alice: refused, and the CALL with it.
    let err = run(&mut alice, "CALL pay_as_caller(1, 2, 30)").unwrap_err();
    assert_eq!(err.sqlstate().code(), "42501");
    assert_eq!(err.to_string(), "permission denied for table accounts");
    assert_eq!(
        sqlstate(&mut alice, "CALL bank.transfer(1, 2, 30)"),
        "42501"
    );
    assert_eq!(balances(&mut owner), vec![(1, 70), (2, 80)]);

    owner
        .execute("GRANT SELECT, UPDATE ON accounts TO alice")
        .unwrap();
    run(&mut alice, "CALL pay_as_caller(1, 2, 30)").unwrap();
    assert_eq!(balances(&mut owner), vec![(1, 40), (2, 110)]);
}

#[test]
fn current_user_inside_a_definer_routine_is_its_owner_and_session_user_stays() {
    let t = open(limits());
    let mut owner = bank(&t.db);
    bank_and_alice(&mut owner);
    // Every change to accounts is logged with the roles its SQL ran as:
    // the log's defaults are evaluated by the audit trigger's INSERT.
    owner
        .execute(
            "CREATE TABLE audit_log (id serial, tbl text, op text, old_row text, new_row text, \
               who text DEFAULT current_user, sess text DEFAULT session_user)",
        )
        .unwrap();
    deploy(&mut owner, "audit", "audit", false);
    owner
        .execute(
            "CREATE TRIGGER accounts_audit AFTER UPDATE ON accounts \
             FOR EACH ROW EXECUTE FUNCTION audit.audit_row()",
        )
        .unwrap();
    run(&mut t.db.session_as("alice"), "CALL pay(1, 2, 5)").unwrap();
    assert_eq!(
        text(rows(
            &mut owner,
            "SELECT op, who, sess FROM audit_log ORDER BY id"
        )),
        ["UPDATE rustydb alice", "UPDATE rustydb alice"]
    );
}

#[test]
fn a_definer_trigger_function_writes_where_the_writer_may_not() {
    let t = open(limits());
    let mut owner = t.db.session();
    owner
        .execute(
            "CREATE ROLE alice LOGIN; \
             CREATE TABLE notes (id int PRIMARY KEY, body text); \
             GRANT INSERT ON notes TO alice; \
             CREATE TABLE audit_log (id serial, tbl text, op text, old_row text, new_row text, \
               who text DEFAULT current_user, sess text DEFAULT session_user)",
        )
        .unwrap();
    deploy(&mut owner, "audit", "audit", false);
    owner
        .execute(
            "CREATE TRIGGER notes_audit AFTER INSERT ON notes \
             FOR EACH ROW EXECUTE FUNCTION audit.audit_row()",
        )
        .unwrap();
    let mut alice = t.db.session_as("alice");
    // The described trigger function is SECURITY INVOKER: its INSERT into
    // audit_log runs as alice, who may not, and her INSERT fails with it.
    let err = run(&mut alice, "INSERT INTO notes VALUES (1, 'hi')").unwrap_err();
    assert_eq!(err.to_string(), "permission denied for table audit_log");
    // A trigger's function runs as whoever writes, so only the table's
    // owner attaches or removes one.
    assert_eq!(
        run(&mut alice, "DROP TRIGGER notes_audit ON notes")
            .unwrap_err()
            .to_string(),
        "must be owner of table notes"
    );
    assert_eq!(
        run(
            &mut alice,
            "CREATE TRIGGER mine BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION audit.audit_row()"
        )
        .unwrap_err()
        .to_string(),
        "permission denied for table notes"
    );

    owner
        .execute(
            "DROP TRIGGER notes_audit ON notes; \
             CREATE FUNCTION audit_definer() RETURNS trigger SECURITY DEFINER \
               LANGUAGE wasm AS 'audit', 'audit_row'; \
             CREATE TRIGGER notes_audit AFTER INSERT ON notes \
             FOR EACH ROW EXECUTE FUNCTION audit_definer()",
        )
        .unwrap();
    run(&mut alice, "INSERT INTO notes VALUES (1, 'hi')").unwrap();
    assert_eq!(
        text(rows(
            &mut owner,
            "SELECT tbl, new_row, who, sess FROM audit_log"
        )),
        ["notes (1,hi) rustydb alice"]
    );
}

#[test]
fn execute_is_public_until_revoked_and_only_owners_redefine() {
    let t = open(limits());
    let mut owner = bank(&t.db);
    bank_and_alice(&mut owner);
    let mut alice = t.db.session_as("alice");
    owner
        .execute("REVOKE EXECUTE ON PROCEDURE pay FROM PUBLIC")
        .unwrap();
    let err = run(&mut alice, "CALL pay(1, 2, 5)").unwrap_err();
    assert_eq!(err.sqlstate().code(), "42501");
    assert_eq!(err.to_string(), "permission denied for procedure pay");
    owner
        .execute("GRANT EXECUTE ON PROCEDURE pay TO alice")
        .unwrap();
    run(&mut alice, "CALL pay(1, 2, 5)").unwrap();

    // Functions in queries are checked as they bind.
    owner
        .execute("REVOKE EXECUTE ON FUNCTION bank.interest FROM PUBLIC")
        .unwrap();
    let err = run(&mut alice, "SELECT bank.interest(100, 5)").unwrap_err();
    assert_eq!(err.to_string(), "permission denied for function interest");

    // Only the owner replaces or drops what it owns: a replacement keeps
    // the owner, so otherwise anyone could put their code behind a
    // SECURITY DEFINER name.
    let err = run(
        &mut alice,
        "CREATE OR REPLACE PROCEDURE pay(src bigint, dst bigint, amount bigint) \
         LANGUAGE wasm AS 'bank', 'transfer'",
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "must be owner of procedure pay");
    assert_eq!(
        run(&mut alice, "DROP PROCEDURE pay")
            .unwrap_err()
            .to_string(),
        "must be owner of procedure pay"
    );
    assert_eq!(
        run(&mut alice, "DROP MODULE bank CASCADE")
            .unwrap_err()
            .to_string(),
        "must be owner of module bank"
    );
    // Her own definer routine over a module she does not own would run the
    // module owner's code with her privileges: refused.
    assert_eq!(
        run(
            &mut alice,
            "CREATE PROCEDURE mine(src bigint, dst bigint, amount bigint) \
             SECURITY DEFINER LANGUAGE wasm AS 'bank', 'transfer'",
        )
        .unwrap_err()
        .to_string(),
        "must be owner of module bank"
    );
}

#[test]
fn rustydb_routines_shows_owner_security_and_grants() {
    let t = open(limits());
    let mut owner = bank(&t.db);
    bank_and_alice(&mut owner);
    owner
        .execute(
            "REVOKE EXECUTE ON PROCEDURE pay FROM PUBLIC; GRANT EXECUTE ON PROCEDURE pay TO alice",
        )
        .unwrap();
    assert_eq!(
        text(rows(
            &mut owner,
            "SELECT schema, name, kind, owner, security, acl FROM rustydb_routines \
             WHERE module = 'bank' ORDER BY schema, name"
        )),
        [
            "bank interest function rustydb invoker {rustydb=X/rustydb,=X/rustydb}",
            "bank statement procedure rustydb invoker {rustydb=X/rustydb,=X/rustydb}",
            "bank transfer procedure rustydb invoker {rustydb=X/rustydb,=X/rustydb}",
            "public pay procedure rustydb definer {rustydb=X/rustydb,alice=X/rustydb}",
            "public pay_as_caller procedure rustydb invoker {rustydb=X/rustydb,=X/rustydb}",
        ]
    );
    assert_eq!(
        text(rows(&mut owner, "SELECT name, owner FROM rustydb_modules")),
        ["bank rustydb"]
    );
}

#[test]
fn pg_catalog_shows_routines_owners_and_grants() {
    let t = open(limits());
    let mut owner = bank(&t.db);
    bank_and_alice(&mut owner);
    owner
        .execute(
            "REVOKE EXECUTE ON PROCEDURE pay FROM PUBLIC; GRANT EXECUTE ON PROCEDURE pay TO alice; \
             GRANT SELECT, UPDATE ON accounts TO alice",
        )
        .unwrap();
    // pg_proc joins to pg_namespace (a module's schema is there) and
    // pg_roles, as psql's \df and drivers' metadata queries do.
    assert_eq!(
        text(rows(
            &mut owner,
            "SELECT n.nspname, p.proname, p.prokind, r.rolname, p.prosecdef, p.pronargs, p.proacl \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             JOIN pg_roles r ON r.oid = p.proowner ORDER BY 1, 2"
        )),
        [
            "bank interest f rustydb f 2 {rustydb=X/rustydb,=X/rustydb}",
            "bank statement p rustydb f 1 {rustydb=X/rustydb,=X/rustydb}",
            "bank transfer p rustydb f 3 {rustydb=X/rustydb,=X/rustydb}",
            "public pay p rustydb t 3 {rustydb=X/rustydb,alice=X/rustydb}",
            "public pay_as_caller p rustydb f 3 {rustydb=X/rustydb,=X/rustydb}",
        ]
    );
    // A table alice creates is hers; relacl is NULL until a grant is made.
    let mut alice = t.db.session_as("alice");
    alice
        .execute("CREATE TABLE notes (x int); CREATE SEQUENCE ids; GRANT USAGE ON SEQUENCE ids TO PUBLIC")
        .unwrap();
    assert_eq!(
        text(rows(
            &mut owner,
            "SELECT c.relname, r.rolname, c.relacl FROM pg_class c \
             JOIN pg_roles r ON r.oid = c.relowner \
             WHERE c.relname IN ('accounts', 'accounts_pkey', 'ids', 'notes') ORDER BY 1"
        )),
        [
            "accounts rustydb {rustydb=arwdD/rustydb,alice=rw/rustydb}",
            "accounts_pkey rustydb NULL",
            "ids alice {alice=rwU/alice,=U/alice}",
            "notes alice NULL",
        ]
    );
    assert_eq!(
        text(rows(
            &mut owner,
            "SELECT tablename, tableowner FROM pg_tables ORDER BY 1"
        )),
        ["accounts rustydb", "notes alice"]
    );
}
