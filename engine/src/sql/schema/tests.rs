//! Schema privileges as PostgreSQL 15 has them, seen by two roles that are
//! not superusers. Routines in schemas are covered with the Wasm host in
//! `tests/wasm_security`.

use std::sync::Arc;

use crate::catalog::memkv::MemKv;
use crate::sql::Database;
use crate::sql::tests::{error, query};

/// A table of the bootstrap superuser that alice may read, and two roles.
fn db() -> Database {
    let db = Database::with_store(Arc::new(MemKv::default()));
    db.session()
        .execute(
            "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1); \
             CREATE ROLE alice; CREATE ROLE bob; GRANT SELECT ON t TO alice",
        )
        .unwrap();
    db
}

#[test]
fn public_grants_usage_to_everyone_and_create_to_no_one() {
    let db = db();
    let mut alice = db.session_as("alice");
    assert_eq!(query(&mut alice, "SELECT id FROM t"), ["1"]);
    for sql in [
        "CREATE TABLE mine (x int)",
        "CREATE SEQUENCE ids",
        "CREATE VIEW v AS SELECT 1",
    ] {
        assert_eq!(
            error(&mut alice, sql),
            "42501 permission denied for schema public",
            "{sql}"
        );
    }
    assert_eq!(
        query(
            &mut alice,
            "SELECT has_schema_privilege('public', 'USAGE'), \
             has_schema_privilege('public', 'CREATE'), \
             has_schema_privilege('rustydb', 'public', 'usage, create')"
        ),
        ["t f t"]
    );

    let mut owner = db.session();
    owner
        .execute("GRANT CREATE ON SCHEMA public TO alice")
        .unwrap();
    alice
        .execute("CREATE TABLE mine (x int); CREATE SEQUENCE ids; CREATE VIEW v AS SELECT 1")
        .unwrap();
    assert_eq!(
        error(&mut db.session_as("bob"), "CREATE TABLE his (x int)"),
        "42501 permission denied for schema public"
    );

    // Without USAGE on public nothing in it is reachable, not even what
    // alice owns or was granted.
    owner
        .execute("REVOKE USAGE ON SCHEMA public FROM PUBLIC")
        .unwrap();
    for sql in [
        "SELECT id FROM t",
        "SELECT x FROM mine",
        "INSERT INTO mine VALUES (1)",
        "SELECT nextval('ids')",
    ] {
        assert_eq!(
            error(&mut alice, sql),
            "42501 permission denied for schema public",
            "{sql}"
        );
    }
    assert_eq!(query(&mut owner, "SELECT id FROM t"), ["1"]);
    owner
        .execute("GRANT USAGE ON SCHEMA public TO alice")
        .unwrap();
    assert_eq!(query(&mut alice, "SELECT id FROM t"), ["1"]);
}

#[test]
fn a_schema_is_its_owners_and_only_superusers_create_one() {
    let db = db();
    let mut owner = db.session();
    owner
        .execute("CREATE SCHEMA app AUTHORIZATION alice; CREATE SCHEMA AUTHORIZATION bob")
        .unwrap();
    assert_eq!(
        query(
            &mut owner,
            "SELECT schema_name, schema_owner FROM information_schema.schemata ORDER BY 1"
        ),
        [
            "app alice",
            "bob bob",
            "information_schema rustydb",
            "pg_catalog rustydb",
            "public rustydb"
        ]
    );
    let mut alice = db.session_as("alice");
    assert_eq!(
        error(&mut alice, "CREATE SCHEMA other"),
        "42501 permission denied for database rustydb"
    );
    assert_eq!(
        error(&mut owner, "CREATE SCHEMA app"),
        "42P06 schema \"app\" already exists"
    );
    owner.execute("CREATE SCHEMA IF NOT EXISTS app").unwrap();
    assert_eq!(
        owner.take_notices()[0].message,
        "schema \"app\" already exists, skipping"
    );
    assert_eq!(
        error(&mut owner, "CREATE SCHEMA pg_mine"),
        "42939 unacceptable schema name \"pg_mine\""
    );
    assert_eq!(
        error(&mut owner, "CREATE SCHEMA s AUTHORIZATION nobody"),
        "42704 role \"nobody\" does not exist"
    );

    // A new schema grants nothing to others: its owner grants.
    assert_eq!(
        query(
            &mut db.session_as("bob"),
            "SELECT has_schema_privilege('app', 'USAGE'), has_schema_privilege('alice', 'app', 'CREATE')"
        ),
        ["f t"]
    );
    assert_eq!(
        error(
            &mut db.session_as("bob"),
            "GRANT USAGE ON SCHEMA app TO bob"
        ),
        "42501 permission denied for schema app"
    );
    alice
        .execute("GRANT USAGE ON SCHEMA app TO bob; GRANT ALL PRIVILEGES ON SCHEMA app TO PUBLIC")
        .unwrap();
    assert_eq!(
        query(
            &mut owner,
            "SELECT r.rolname, n.nspacl FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner \
             WHERE n.nspname IN ('app', 'public') ORDER BY n.nspname"
        ),
        [
            "alice {alice=UC/alice,bob=U/alice,=UC/alice}",
            "rustydb {rustydb=UC/rustydb,=U/rustydb}"
        ]
    );
    alice
        .execute("REVOKE ALL ON SCHEMA app FROM PUBLIC; REVOKE USAGE ON SCHEMA app FROM bob")
        .unwrap();
    assert_eq!(
        query(
            &mut owner,
            "SELECT nspacl FROM pg_namespace WHERE nspname = 'app'"
        ),
        ["{alice=UC/alice}"]
    );
    assert_eq!(
        error(&mut alice, "GRANT SELECT ON SCHEMA app TO bob"),
        "0LP01 invalid privilege type SELECT for schema"
    );
    assert_eq!(
        error(&mut owner, "GRANT USAGE ON SCHEMA missing TO bob"),
        "3F000 schema \"missing\" does not exist"
    );
    assert_eq!(
        error(&mut owner, "SELECT has_schema_privilege('app', 'SELECT')"),
        "22023 unrecognized privilege type: \"SELECT\""
    );
}

#[test]
fn only_the_owner_drops_renames_or_gives_away_a_schema() {
    let db = db();
    let mut owner = db.session();
    owner
        .execute("CREATE SCHEMA app AUTHORIZATION alice; CREATE SCHEMA spare")
        .unwrap();
    let (mut alice, mut bob) = (db.session_as("alice"), db.session_as("bob"));
    assert_eq!(
        error(&mut bob, "DROP SCHEMA app"),
        "42501 must be owner of schema app"
    );
    assert_eq!(
        error(&mut bob, "ALTER SCHEMA app OWNER TO bob"),
        "42501 must be owner of schema app"
    );
    // Giving it away takes membership in the new owner, which roles here
    // never have; renaming takes CREATE on the database.
    assert_eq!(
        error(&mut alice, "ALTER SCHEMA app OWNER TO bob"),
        "42501 must be member of role \"bob\""
    );
    assert_eq!(
        error(&mut alice, "ALTER SCHEMA app RENAME TO application"),
        "42501 permission denied for database rustydb"
    );
    owner
        .execute("ALTER SCHEMA app RENAME TO application; ALTER SCHEMA application OWNER TO bob")
        .unwrap();
    assert_eq!(
        query(
            &mut owner,
            "SELECT schema_name, schema_owner FROM information_schema.schemata \
             WHERE schema_name IN ('app', 'application')"
        ),
        ["application bob"]
    );
    assert_eq!(
        error(&mut owner, "ALTER SCHEMA spare RENAME TO application"),
        "42P06 schema \"application\" already exists"
    );
    bob.execute("DROP SCHEMA application RESTRICT").unwrap();
    assert_eq!(
        error(&mut owner, "DROP SCHEMA application"),
        "3F000 schema \"application\" does not exist"
    );
    owner
        .execute("DROP SCHEMA IF EXISTS application, spare CASCADE")
        .unwrap();
    assert_eq!(
        owner.take_notices()[0].message,
        "schema \"application\" does not exist, skipping"
    );

    assert_eq!(
        error(&mut owner, "DROP SCHEMA pg_catalog"),
        "2BP01 cannot drop schema pg_catalog because it is required by the database system"
    );
    assert_eq!(
        error(&mut owner, "DROP SCHEMA public"),
        "0A000 cannot drop schema public: every table, view and sequence lives in it"
    );
    assert_eq!(
        error(&mut owner, "CREATE TABLE information_schema.x (a int)"),
        "0A000 creating a table, view or sequence in schema information_schema: they all live in schema public"
    );
    assert_eq!(
        error(&mut owner, "CREATE TABLE nowhere.x (a int)"),
        "3F000 schema \"nowhere\" does not exist"
    );
    owner.execute("CREATE TABLE public.x (a int)").unwrap();
}

#[test]
fn schema_ddl_and_grants_are_transactional() {
    let db = db();
    let mut owner = db.session();
    owner
        .execute("BEGIN; CREATE SCHEMA gone; GRANT CREATE ON SCHEMA public TO alice; ROLLBACK")
        .unwrap();
    assert_eq!(
        query(
            &mut owner,
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'gone'"
        ),
        ["0"]
    );
    assert_eq!(
        error(&mut db.session_as("alice"), "CREATE TABLE mine (x int)"),
        "42501 permission denied for schema public"
    );
}
