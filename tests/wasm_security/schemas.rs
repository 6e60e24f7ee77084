//! Schema privileges over routines (issue 5): a module's schema is its
//! owner's and grants USAGE to PUBLIC, so deployed routines stay callable
//! by everyone until the owner revokes; a routine in another schema needs
//! USAGE on it to be reached and CREATE on it to be defined, as in
//! PostgreSQL 15.

use rustydb::engine::types::Value;

use super::super::wasm_support::{bank, component, deploy, limits, open, rows, run};
use super::text;

#[test]
fn a_module_schema_is_usable_by_everyone_until_its_owner_revokes() {
    let t = open(limits());
    let mut owner = bank(&t.db);
    owner
        .execute("CREATE ROLE alice LOGIN; GRANT SELECT, UPDATE ON accounts TO alice")
        .unwrap();
    let mut alice = t.db.session_as("alice");
    assert_eq!(
        text(rows(&mut alice, "SELECT bank.interest(10000, 250)")),
        ["250"]
    );
    assert_eq!(
        text(rows(
            &mut owner,
            "SELECT n.nspacl, r.rolname FROM pg_namespace n \
             JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = 'bank'"
        )),
        ["{rustydb=UC/rustydb,=U/rustydb} rustydb"]
    );

    owner
        .execute("REVOKE USAGE ON SCHEMA bank FROM PUBLIC")
        .unwrap();
    for sql in [
        "SELECT bank.interest(10000, 250)",
        "CALL bank.transfer(1, 2, 5)",
    ] {
        assert_eq!(
            run(&mut alice, sql).unwrap_err().to_string(),
            "permission denied for schema bank",
            "{sql}"
        );
    }
    owner
        .execute("GRANT USAGE ON SCHEMA bank TO alice")
        .unwrap();
    run(&mut alice, "CALL bank.transfer(1, 2, 5)").unwrap();

    // Its name is taken by the module, and the schema goes with it: a new
    // deployment starts from the defaults again.
    assert_eq!(
        run(&mut owner, "CREATE SCHEMA bank")
            .unwrap_err()
            .to_string(),
        "schema \"bank\" already exists"
    );
    assert_eq!(
        run(&mut owner, "DROP SCHEMA bank").unwrap_err().to_string(),
        "cannot drop schema bank because module bank requires it"
    );
    owner.execute("DROP MODULE bank").unwrap();
    deploy(&mut owner, "bank", "bank", false);
    assert_eq!(
        text(rows(
            &mut owner,
            "SELECT nspacl FROM pg_namespace WHERE nspname = 'bank'"
        )),
        ["{rustydb=UC/rustydb,=U/rustydb}"]
    );
    owner.execute("CREATE SCHEMA taken").unwrap();
    let prepared = owner.prepare("CREATE MODULE taken FROM $1").unwrap();
    let err = owner
        .execute_prepared(&prepared, &[Value::Bytea(component("bank"))])
        .unwrap_err();
    assert_eq!(err.to_string(), "schema \"taken\" already exists");
}

#[test]
fn a_routine_in_a_schema_needs_create_to_define_and_usage_to_call() {
    let t = open(limits());
    let mut owner = bank(&t.db);
    owner
        .execute(
            "CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; \
             GRANT SELECT, UPDATE ON accounts TO alice, bob; \
             CREATE SCHEMA app AUTHORIZATION alice",
        )
        .unwrap();
    let (mut alice, mut bob) = (t.db.session_as("alice"), t.db.session_as("bob"));
    let define = "CREATE PROCEDURE app.pay(src bigint, dst bigint, amount bigint) \
                  LANGUAGE wasm AS 'bank', 'transfer'";
    assert_eq!(
        run(&mut bob, define).unwrap_err().to_string(),
        "permission denied for schema app"
    );
    assert_eq!(
        run(
            &mut owner,
            "CREATE FUNCTION nowhere.f(a bigint, b bigint) RETURNS bigint \
             LANGUAGE wasm AS 'bank', 'interest'"
        )
        .unwrap_err()
        .to_string(),
        "schema \"nowhere\" does not exist"
    );
    run(&mut alice, define).unwrap();
    run(&mut alice, "CALL app.pay(1, 2, 10)").unwrap();
    // EXECUTE is PUBLIC's, but the schema is alice's alone.
    assert_eq!(
        run(&mut bob, "CALL app.pay(1, 2, 10)")
            .unwrap_err()
            .to_string(),
        "permission denied for schema app"
    );
    alice.execute("GRANT USAGE ON SCHEMA app TO bob").unwrap();
    run(&mut bob, "CALL app.pay(1, 2, 10)").unwrap();

    // Renaming moves the routines; dropping takes CASCADE while any is in it.
    owner
        .execute("ALTER SCHEMA app RENAME TO payments")
        .unwrap();
    run(&mut bob, "CALL payments.pay(1, 2, 10)").unwrap();
    assert_eq!(
        run(&mut alice, "DROP SCHEMA payments")
            .unwrap_err()
            .to_string(),
        "cannot drop schema payments because other objects depend on it"
    );
    alice.execute("DROP SCHEMA payments CASCADE").unwrap();
    assert_eq!(
        alice.take_notices()[0].message,
        "drop cascades to procedure payments.pay"
    );
    assert_eq!(
        text(rows(
            &mut owner,
            "SELECT count(*) FROM rustydb_routines WHERE schema = 'payments'"
        )),
        ["0"]
    );
}
