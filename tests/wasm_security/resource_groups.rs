//! Resource groups (DESIGN §5) lower the limits of the calls made under
//! them: the database's group for every call, a role's for its sessions;
//! the tighter limit wins, and the host's limits stay the ceiling.

use std::time::{Duration, Instant};

use super::super::wasm_support::{deploy, limits, open, run, sqlstate};

#[test]
fn a_roles_group_lowers_fuel_and_memory_for_its_sessions_only() {
    let t = open(limits());
    let mut root = t.db.session();
    deploy(&mut root, "hostile", "hostile", false);
    root.execute(
        "CREATE ROLE tenant LOGIN; \
         CREATE RESOURCE GROUP tiny WITH (fuel_per_call = 100000); \
         ALTER ROLE tenant SET RESOURCE GROUP tiny",
    )
    .unwrap();
    let mut tenant = t.db.session_as("tenant");
    // `spin` exhausts the group's fuel long before the host's 300 million.
    let started = Instant::now();
    assert_eq!(sqlstate(&mut tenant, "CALL hostile.spin()"), "54000");
    assert!(started.elapsed() < Duration::from_secs(2));
    run(&mut tenant, "CALL hostile.ok()").unwrap();
    assert_eq!(sqlstate(&mut tenant, "CALL hostile.busy(1000000)"), "54000");
    // The superuser's session is not in the group: the host's limits.
    run(&mut root, "CALL hostile.busy(1000000)").unwrap();
    // `hog` meets the group's memory cap, not the host's 32 MB.
    root.execute(
        "ALTER RESOURCE GROUP tiny SET (fuel_per_call = 200000000, memory_per_instance = '4MB')",
    )
    .unwrap();
    let err = run(&mut tenant, "CALL hostile.hog()").unwrap_err();
    assert_eq!(err.sqlstate().code(), "53200", "{err}");
    assert!(err.to_string().contains("limit of 4194304 bytes"), "{err}");
    let err = run(&mut root, "CALL hostile.hog()").unwrap_err();
    assert!(err.to_string().contains("limit of 33554432 bytes"), "{err}");

    assert_eq!(
        rows_text(
            &mut root,
            "SELECT name, fuel_per_call, memory_per_instance, roles FROM rustydb_resource_groups"
        ),
        ["tiny 200000000 4194304 tenant"]
    );
    assert_eq!(sqlstate(&mut root, "DROP RESOURCE GROUP tiny"), "2BP01");
    root.execute("ALTER ROLE tenant SET RESOURCE GROUP NONE; DROP RESOURCE GROUP tiny")
        .unwrap();
    // Out of the group, the tenant runs under the host's fuel again.
    run(&mut tenant, "CALL hostile.busy(1000000)").unwrap();
}

#[test]
fn the_databases_group_bounds_every_call_and_the_tighter_time_wins() {
    let t = open(limits());
    let mut s = t.db.session();
    deploy(&mut s, "hostile", "hostile", false);
    s.execute(
        "CREATE RESOURCE GROUP quick WITH (time_per_call = '100ms', fuel_per_call = 1000000000000); \
         ALTER DATABASE rustydb SET RESOURCE GROUP quick",
    )
    .unwrap();
    // The group's time limit stops `sleepy` (no fuel burnt) long before
    // the host's 5 s.
    let started = Instant::now();
    assert_eq!(sqlstate(&mut s, "CALL hostile.sleepy()"), "57014");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The group cannot raise the host's fuel: `spin` still runs out.
    assert_eq!(sqlstate(&mut s, "CALL hostile.spin()"), "54000");
    s.execute("ALTER RESOURCE GROUP quick SET (time_per_call = '30s')")
        .unwrap();
    run(&mut s, "CALL hostile.ok()").unwrap();
    assert_eq!(
        sqlstate(&mut s, "ALTER DATABASE other SET RESOURCE GROUP quick"),
        "3D000"
    );
}

#[test]
fn only_a_superuser_manages_groups_and_bad_options_are_refused() {
    let t = open(limits());
    let mut root = t.db.session();
    root.execute("CREATE ROLE tenant LOGIN").unwrap();
    let mut tenant = t.db.session_as("tenant");
    assert_eq!(
        sqlstate(
            &mut tenant,
            "CREATE RESOURCE GROUP mine WITH (fuel_per_call = 1)"
        ),
        "42501"
    );
    assert_eq!(
        sqlstate(
            &mut root,
            "CREATE RESOURCE GROUP g WITH (fuel_per_call = 0)"
        ),
        "22023"
    );
    assert_eq!(
        sqlstate(
            &mut root,
            "CREATE RESOURCE GROUP g WITH (memory_per_instance = '4 parsecs')"
        ),
        "22023"
    );
    assert_eq!(
        sqlstate(&mut root, "CREATE RESOURCE GROUP g WITH (colour = 'blue')"),
        "22023"
    );
    assert_eq!(
        sqlstate(&mut root, "CREATE RESOURCE GROUP g WITH (cpu_weight = 1)"),
        "0A000"
    );
    assert_eq!(
        sqlstate(
            &mut root,
            "CREATE RESOURCE GROUP g WITH (max_concurrent_calls = 0)"
        ),
        "22023"
    );
    assert_eq!(
        sqlstate(&mut root, "ALTER ROLE tenant SET RESOURCE GROUP nope"),
        "42704"
    );
    root.execute("BEGIN; CREATE RESOURCE GROUP g WITH (fuel_per_call = 5); ROLLBACK")
        .unwrap();
    assert_eq!(
        sqlstate(&mut root, "ALTER RESOURCE GROUP g SET (fuel_per_call = 6)"),
        "42704"
    );
}

#[test]
fn max_concurrent_calls_makes_a_groups_further_calls_wait_for_a_place() {
    let t = open(limits());
    let mut root = t.db.session();
    deploy(&mut root, "hostile", "hostile", false);
    // Every call is in the database's group `single`: one at a time, 600 ms
    // each. The tenant's own group shortens its calls, and so its wait, to
    // 100 ms.
    root.execute(
        "CREATE RESOURCE GROUP single WITH (max_concurrent_calls = 1, time_per_call = '600ms'); \
         ALTER DATABASE rustydb SET RESOURCE GROUP single; \
         CREATE RESOURCE GROUP brief WITH (time_per_call = '100ms'); \
         CREATE ROLE tenant LOGIN; ALTER ROLE tenant SET RESOURCE GROUP brief",
    )
    .unwrap();
    assert_eq!(
        rows_text(
            &mut root,
            "SELECT name, max_concurrent_calls FROM rustydb_resource_groups"
        ),
        ["brief NULL", "single 1"]
    );
    let mut sleeper = t.db.session();
    let mut tenant = t.db.session_as("tenant");
    let mut patient = t.db.session();
    std::thread::scope(|scope| {
        // `sleepy` holds the group's one place until its 600 ms run out.
        let started = Instant::now();
        let holder = scope.spawn(move || sqlstate(&mut sleeper, "CALL hostile.sleepy()"));
        std::thread::sleep(Duration::from_millis(100));
        // The tenant waits its 100 ms for the place, then fails.
        let waited = Instant::now();
        let err = run(&mut tenant, "CALL hostile.ok()").unwrap_err();
        assert_eq!(err.sqlstate().code(), "53300", "{err}");
        assert!(
            err.to_string().contains("resource group \"single\""),
            "{err}"
        );
        assert!(waited.elapsed() >= Duration::from_millis(100));
        // A call that may wait longer gets the place when `sleepy` ends.
        run(&mut patient, "CALL hostile.ok()").unwrap();
        assert!(started.elapsed() >= Duration::from_millis(500));
        assert_eq!(holder.join().unwrap(), "57014");
    });
    // With the place free again, calls run at once.
    run(&mut tenant, "CALL hostile.ok()").unwrap();
    root.execute("ALTER DATABASE rustydb SET RESOURCE GROUP NONE")
        .unwrap();
}

fn rows_text(s: &mut rustydb::engine::sql::Session, sql: &str) -> Vec<String> {
    super::text(super::super::wasm_support::rows(s, sql))
}
