//! SQL sessions on threads, where statements wait for each other: a
//! SERIALIZABLE workload whose invariant snapshot isolation would break,
//! and foreign keys that hold their referenced row against a concurrent
//! DELETE.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::thread;
use std::time::Duration;

use rustydb_engine::sql::{Database, DatabaseOptions, Session, StatementResult};
use rustydb_engine::types::Value;

fn open() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let mut options = DatabaseOptions::default();
    options.store.synchronous_commit = false;
    let db = Database::open(dir.path(), options).unwrap();
    (dir, db)
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int8(n) => *n,
        Value::Int4(n) => i64::from(*n),
        // sum(bigint) is numeric
        Value::Numeric(d) => d.to_string().parse().unwrap(),
        other => panic!("not an integer: {other:?}"),
    }
}

fn ints(session: &mut Session, sql: &str) -> Result<Vec<Vec<i64>>, String> {
    match session.execute(sql) {
        Ok(mut results) => match results.pop() {
            Some(StatementResult::Rows { rows, .. }) => {
                Ok(rows.iter().map(|r| r.iter().map(int).collect()).collect())
            }
            _ => Ok(Vec::new()),
        },
        Err(e) => Err(e.sqlstate().code().to_owned()),
    }
}

fn run(session: &mut Session, sql: &str) -> Result<(), String> {
    ints(session, sql).map(|_| ())
}

/// Overdraft protection by a rule that spans rows: a customer may
/// withdraw from either of two accounts as long as the two together stay
/// non-negative. Each withdrawal checks the sum and updates one row, so
/// two concurrent withdrawals from different accounts are write skew;
/// under SERIALIZABLE, retried on 40001, no customer ever goes below zero
/// and the balances match the withdrawal log.
#[test]
fn serializable_withdrawals_never_overdraw_a_customer() {
    const CUSTOMERS: i64 = 2;
    const THREADS: i64 = 4;
    const WITHDRAWALS: i64 = 25;
    const START: i64 = 100;
    let (_dir, db) = open();
    let mut setup = db.session();
    setup
        .execute(
            "CREATE TABLE accounts (id int PRIMARY KEY, customer int NOT NULL, balance bigint NOT NULL); \
             CREATE TABLE withdrawals (id int PRIMARY KEY, account int NOT NULL, amount bigint NOT NULL)",
        )
        .unwrap();
    for c in 0..CUSTOMERS {
        for a in [2 * c, 2 * c + 1] {
            setup
                .execute(&format!(
                    "INSERT INTO accounts VALUES ({a}, {c}, {})",
                    START / 2
                ))
                .unwrap();
        }
    }

    let retries: i64 = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let db = db.clone();
                s.spawn(move || {
                    let mut session = db.session();
                    let mut retries = 0;
                    for i in 0..WITHDRAWALS {
                        let id = t * 1000 + i;
                        let customer = (t + i) % CUSTOMERS;
                        // Threads 0 and 2 (1 and 3) serve the same customer
                        // from different accounts: write skew if unchecked.
                        let account = 2 * customer + (t / 2) % 2;
                        let amount = 5 + (i % 4) * 5;
                        let attempt = |session: &mut Session| -> Result<(), String> {
                            run(session, "BEGIN ISOLATION LEVEL SERIALIZABLE")?;
                            let total = ints(
                                session,
                                &format!(
                                    "SELECT sum(balance) FROM accounts WHERE customer = {customer}"
                                ),
                            )?[0][0];
                            // Let the others read the same total meanwhile.
                            thread::sleep(Duration::from_millis(2));
                            if total >= amount {
                                run(
                                    session,
                                    &format!(
                                        "UPDATE accounts SET balance = balance - {amount} WHERE id = {account}"
                                    ),
                                )?;
                                run(
                                    session,
                                    &format!(
                                        "INSERT INTO withdrawals VALUES ({id}, {account}, {amount})"
                                    ),
                                )?;
                            }
                            run(session, "COMMIT")
                        };
                        loop {
                            match attempt(&mut session) {
                                Ok(()) => break,
                                Err(code) => {
                                    assert!(
                                        code == "40001" || code == "40P01",
                                        "withdrawal {id} failed with {code}"
                                    );
                                    session.execute("ROLLBACK").unwrap();
                                    retries += 1;
                                }
                            }
                        }
                    }
                    retries
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });

    let mut check = db.session();
    let totals = ints(
        &mut check,
        "SELECT customer, sum(balance) FROM accounts GROUP BY customer ORDER BY customer",
    )
    .unwrap();
    for row in &totals {
        assert!(row[1] >= 0, "customer {} overdrawn: {}", row[0], row[1]);
    }
    let log = ints(&mut check, "SELECT account, amount FROM withdrawals").unwrap();
    let mut expected = vec![START / 2; 2 * CUSTOMERS as usize];
    for r in &log {
        expected[r[0] as usize] -= r[1];
    }
    let balances: Vec<i64> = ints(&mut check, "SELECT balance FROM accounts ORDER BY id")
        .unwrap()
        .into_iter()
        .map(|r| r[0])
        .collect();
    assert_eq!(balances, expected, "balances agree with the withdrawal log");
    assert!(retries > 0, "the workload had conflicts");
    println!("{} withdrawals, {retries} retries", log.len());
}

/// Write skew read through full table scans longer than one scan chunk:
/// each SERIALIZABLE session sums every balance and withdraws from its own
/// account, the one row each changes lies in a different chunk of the
/// other's scan, and the second to commit fails with 40001.
#[test]
fn a_serializable_scan_over_many_chunks_records_what_it_read() {
    const ROWS: i64 = 3000;
    let (_dir, db) = open();
    db.session()
        .execute(&format!(
            "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL); \
             INSERT INTO accounts SELECT g, 1 FROM generate_series(1, {ROWS}) AS g"
        ))
        .unwrap();
    let mut first = db.session();
    let mut second = db.session();
    for s in [&mut first, &mut second] {
        run(s, "BEGIN ISOLATION LEVEL SERIALIZABLE").unwrap();
        assert_eq!(
            ints(s, "SELECT sum(balance) FROM accounts"),
            Ok(vec![vec![ROWS]])
        );
    }
    // The first commits a change to the last chunk of the second's scan.
    run(
        &mut first,
        &format!("UPDATE accounts SET balance = 0 WHERE id = {ROWS}"),
    )
    .unwrap();
    run(&mut second, "UPDATE accounts SET balance = 0 WHERE id = 1").unwrap();
    assert_eq!(run(&mut first, "COMMIT"), Ok(()));
    assert_eq!(run(&mut second, "COMMIT"), Err("40001".to_owned()));
    assert_eq!(
        ints(&mut db.session(), "SELECT sum(balance) FROM accounts"),
        Ok(vec![vec![ROWS - 1]]),
        "only the first withdrawal happened"
    );
}

fn parent_and_child(db: &Database) {
    db.session()
        .execute(
            "CREATE TABLE parent (id int PRIMARY KEY); \
             CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id)); \
             INSERT INTO parent VALUES (1), (2)",
        )
        .unwrap();
}

/// Runs `sql` with `exec` on a new session on another thread, checks that
/// it is still waiting after a while, then lets `release` end the
/// blocking transaction and returns what `sql` ended with.
fn waits_until<T: Send + 'static>(
    db: &Database,
    sql: &str,
    exec: fn(&mut Session, &str) -> Result<T, String>,
    release: impl FnOnce(),
) -> Result<T, String> {
    let handle = {
        let db = db.clone();
        let sql = sql.to_owned();
        thread::spawn(move || exec(&mut db.session(), &sql))
    };
    thread::sleep(Duration::from_millis(200));
    assert!(!handle.is_finished(), "{sql} did not wait");
    release();
    handle.join().unwrap()
}

/// [`waits_until`] for a statement whose result is only success or not.
fn blocked_until(db: &Database, sql: &str, release: impl FnOnce()) -> Result<(), String> {
    waits_until(db, sql, run, release)
}

#[test]
fn deleting_a_parent_waits_for_a_new_child_and_fails_once_it_commits() {
    let (_dir, db) = open();
    parent_and_child(&db);
    let mut child = db.session();
    child.execute("BEGIN").unwrap();
    child.execute("INSERT INTO child VALUES (10, 1)").unwrap();
    let deleted = blocked_until(&db, "DELETE FROM parent WHERE id = 1", || {
        child.execute("COMMIT").unwrap();
    });
    assert_eq!(deleted, Err("23503".to_owned()));
    let mut check = db.session();
    assert_eq!(
        ints(
            &mut check,
            "SELECT c.id FROM child c JOIN parent p ON p.id = c.parent_id"
        ),
        Ok(vec![vec![10]]),
        "no orphan"
    );
}

#[test]
fn deleting_a_parent_succeeds_once_the_new_child_rolls_back() {
    let (_dir, db) = open();
    parent_and_child(&db);
    let mut child = db.session();
    child.execute("BEGIN").unwrap();
    child.execute("INSERT INTO child VALUES (10, 1)").unwrap();
    let deleted = blocked_until(&db, "DELETE FROM parent WHERE id = 1", || {
        child.execute("ROLLBACK").unwrap();
    });
    assert_eq!(deleted, Ok(()));
    assert_eq!(
        ints(&mut db.session(), "SELECT id FROM parent"),
        Ok(vec![vec![2]])
    );
}

#[test]
fn a_child_insert_waits_for_a_parent_delete_and_fails_once_it_commits() {
    let (_dir, db) = open();
    parent_and_child(&db);
    let mut deleter = db.session();
    deleter.execute("BEGIN").unwrap();
    deleter.execute("DELETE FROM parent WHERE id = 1").unwrap();
    let inserted = blocked_until(&db, "INSERT INTO child VALUES (10, 1)", || {
        deleter.execute("COMMIT").unwrap();
    });
    assert_eq!(inserted, Err("23503".to_owned()));
    assert_eq!(
        ints(&mut db.session(), "SELECT count(*) FROM child"),
        Ok(vec![vec![0]])
    );
}

#[test]
fn children_of_one_parent_do_not_wait_for_each_other() {
    let (_dir, db) = open();
    parent_and_child(&db);
    let mut first = db.session();
    first.execute("BEGIN").unwrap();
    first.execute("INSERT INTO child VALUES (10, 1)").unwrap();
    let second = {
        let db = db.clone();
        thread::spawn(move || run(&mut db.session(), "INSERT INTO child VALUES (11, 1)"))
    };
    for _ in 0..100 {
        if second.is_finished() {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        second.is_finished(),
        "the second child waited for the first"
    );
    assert_eq!(second.join().unwrap(), Ok(()));
    first.execute("COMMIT").unwrap();
    assert_eq!(
        ints(&mut db.session(), "SELECT count(*) FROM child"),
        Ok(vec![vec![2]])
    );
}

#[test]
fn a_cascading_delete_takes_a_child_committed_while_it_waited() {
    let (_dir, db) = open();
    db.session()
        .execute(
            "CREATE TABLE parent (id int PRIMARY KEY); \
             CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id) ON DELETE CASCADE); \
             INSERT INTO parent VALUES (1)",
        )
        .unwrap();
    let mut child = db.session();
    child.execute("BEGIN").unwrap();
    child.execute("INSERT INTO child VALUES (10, 1)").unwrap();
    let deleted = blocked_until(&db, "DELETE FROM parent WHERE id = 1", || {
        child.execute("COMMIT").unwrap();
    });
    assert_eq!(deleted, Ok(()));
    assert_eq!(
        ints(&mut db.session(), "SELECT count(*) FROM child"),
        Ok(vec![vec![0]])
    );
}

#[test]
fn a_repeatable_read_delete_of_a_parent_fails_with_40001_on_a_new_child() {
    let (_dir, db) = open();
    parent_and_child(&db);
    let mut deleter = db.session();
    deleter
        .execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")
        .unwrap();
    db.session()
        .execute("INSERT INTO child VALUES (10, 1)")
        .unwrap();
    assert_eq!(
        run(&mut deleter, "DELETE FROM parent WHERE id = 1"),
        Err("40001".to_owned())
    );
}

/// READ COMMITTED, as in PostgreSQL: an UPDATE that waited for another
/// transaction's lock on its row applies itself to the row that
/// transaction committed, so two concurrent increments both count.
#[test]
fn a_read_committed_update_that_waited_applies_to_the_committed_row() {
    let (_dir, db) = open();
    db.session()
        .execute(
            "CREATE TABLE counter (id int PRIMARY KEY, n int); INSERT INTO counter VALUES (1, 0)",
        )
        .unwrap();
    let mut first = db.session();
    first.execute("BEGIN").unwrap();
    first
        .execute("UPDATE counter SET n = n + 1 WHERE id = 1")
        .unwrap();
    let second = blocked_until(&db, "UPDATE counter SET n = n + 1 WHERE id = 1", || {
        first.execute("COMMIT").unwrap();
    });
    assert_eq!(second, Ok(()));
    assert_eq!(
        ints(&mut db.session(), "SELECT n FROM counter"),
        Ok(vec![vec![2]])
    );
}

fn jobs(db: &Database) {
    db.session()
        .execute(
            "CREATE TABLE jobs (id int PRIMARY KEY, prio int); \
             INSERT INTO jobs VALUES (1, 10), (2, 20)",
        )
        .unwrap();
}

/// READ COMMITTED: a `FOR UPDATE` that waited for a writer returns the
/// row as the writer committed it, computed again, and checks the WHERE
/// on it again: a row that no longer qualifies is not returned.
#[test]
fn select_for_update_waits_for_a_writer_and_returns_what_it_committed() {
    let (_dir, db) = open();
    jobs(&db);
    let mut writer = db.session();
    writer.execute("BEGIN").unwrap();
    writer
        .execute("UPDATE jobs SET prio = prio + 1 WHERE id = 1")
        .unwrap();
    writer
        .execute("UPDATE jobs SET prio = 5 WHERE id = 2")
        .unwrap();
    let got = waits_until(
        &db,
        "SELECT id, prio * 2 FROM jobs WHERE prio >= 10 ORDER BY id FOR UPDATE",
        ints,
        || {
            writer.execute("COMMIT").unwrap();
        },
    );
    assert_eq!(got, Ok(vec![vec![1, 22]]));
}

/// A deleted row is gone once its deleter commits.
#[test]
fn select_for_update_skips_a_row_deleted_while_it_waited() {
    let (_dir, db) = open();
    jobs(&db);
    let mut writer = db.session();
    writer.execute("BEGIN").unwrap();
    writer.execute("DELETE FROM jobs WHERE id = 1").unwrap();
    let got = waits_until(
        &db,
        "SELECT id FROM jobs ORDER BY id FOR SHARE",
        ints,
        || {
            writer.execute("COMMIT").unwrap();
        },
    );
    assert_eq!(got, Ok(vec![vec![2]]));
}

/// REPEATABLE READ cannot return a row newer than its snapshot: 40001.
#[test]
fn a_repeatable_read_select_for_update_fails_on_a_concurrent_update() {
    let (_dir, db) = open();
    jobs(&db);
    let mut writer = db.session();
    writer.execute("BEGIN").unwrap();
    writer
        .execute("UPDATE jobs SET prio = 0 WHERE id = 1")
        .unwrap();
    let handle = {
        let db = db.clone();
        thread::spawn(move || {
            let mut s = db.session();
            s.execute("BEGIN ISOLATION LEVEL REPEATABLE READ").unwrap();
            ints(&mut s, "SELECT id FROM jobs WHERE id = 1 FOR UPDATE")
        })
    };
    thread::sleep(Duration::from_millis(200));
    assert!(!handle.is_finished(), "FOR UPDATE did not wait");
    writer.execute("COMMIT").unwrap();
    assert_eq!(handle.join().unwrap(), Err("40001".to_owned()));
}

/// A shared lock holds writers off until its transaction ends, and
/// the rows it returned are the ones the writer then changes.
#[test]
fn a_writer_waits_for_select_for_share() {
    let (_dir, db) = open();
    jobs(&db);
    let mut reader = db.session();
    reader.execute("BEGIN").unwrap();
    assert_eq!(
        ints(&mut reader, "SELECT prio FROM jobs WHERE id = 2 FOR SHARE"),
        Ok(vec![vec![20]])
    );
    let updated = blocked_until(&db, "UPDATE jobs SET prio = prio + 1 WHERE id = 2", || {
        reader.execute("COMMIT").unwrap();
    });
    assert_eq!(updated, Ok(()));
    assert_eq!(
        ints(&mut db.session(), "SELECT prio FROM jobs WHERE id = 2"),
        Ok(vec![vec![21]])
    );
}

/// READ COMMITTED checks the WHERE again on the committed row: a row the
/// other transaction moved out of the condition is left alone.
#[test]
fn a_read_committed_update_that_waited_skips_a_row_that_no_longer_qualifies() {
    let (_dir, db) = open();
    jobs(&db);
    let mut writer = db.session();
    writer.execute("BEGIN").unwrap();
    writer
        .execute("UPDATE jobs SET prio = 0 WHERE id = 1")
        .unwrap();
    let deleted = blocked_until(&db, "DELETE FROM jobs WHERE prio >= 10", || {
        writer.execute("COMMIT").unwrap();
    });
    assert_eq!(deleted, Ok(()));
    assert_eq!(
        ints(&mut db.session(), "SELECT id, prio FROM jobs"),
        Ok(vec![vec![1, 0]])
    );
}

fn error_of(session: &mut Session, sql: &str) -> (String, String) {
    match session.execute(sql) {
        Ok(_) => panic!("{sql} succeeded"),
        Err(e) => (e.sqlstate().code().to_owned(), e.to_string()),
    }
}

/// `statement_timeout` cancels a statement that runs too long (57014, as
/// PostgreSQL words it); the session goes on, and a statement within the
/// limit is untouched.
#[test]
fn statement_timeout_cancels_a_long_statement() {
    let (_dir, db) = open();
    let mut s = db.session();
    s.execute("SET statement_timeout = '100ms'").unwrap();
    let start = std::time::Instant::now();
    let (state, message) = error_of(
        &mut s,
        "SELECT count(*) FROM generate_series(1, 10000000000) AS g",
    );
    assert_eq!(state, "57014");
    assert_eq!(message, "canceling statement due to statement timeout");
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(ints(&mut s, "SELECT 1"), Ok(vec![vec![1]]));
    s.execute("SET statement_timeout = 0").unwrap();
    assert_eq!(
        ints(&mut s, "SELECT count(*) FROM generate_series(1, 1000) AS g"),
        Ok(vec![vec![1000]])
    );
}

/// `lock_timeout` bounds each lock wait (55P03, "canceling statement due
/// to lock timeout"); `SET` inside the transaction applies to its next
/// statement.
#[test]
fn lock_timeout_ends_a_lock_wait() {
    let (_dir, db) = open();
    jobs(&db);
    let mut holder = db.session();
    holder.execute("BEGIN").unwrap();
    holder
        .execute("SELECT id FROM jobs WHERE id = 1 FOR UPDATE")
        .unwrap();
    let mut waiter = db.session();
    waiter.execute("BEGIN").unwrap();
    waiter.execute("SET lock_timeout = '50ms'").unwrap();
    let (state, message) = error_of(&mut waiter, "UPDATE jobs SET prio = 0 WHERE id = 1");
    assert_eq!(state, "55P03");
    assert_eq!(message, "canceling statement due to lock timeout");
    waiter.execute("ROLLBACK").unwrap();
    holder.execute("COMMIT").unwrap();
}

/// An upsert whose key another transaction is inserting waits for it,
/// then (READ COMMITTED) updates the row it committed, as PostgreSQL's
/// ON CONFLICT does, instead of failing with 23505; DO NOTHING then
/// leaves it.
#[test]
fn an_upsert_waits_for_a_concurrent_insert_and_updates_its_row() {
    let (_dir, db) = open();
    db.session()
        .execute("CREATE TABLE hits (page int PRIMARY KEY, n int)")
        .unwrap();
    let mut first = db.session();
    first.execute("BEGIN").unwrap();
    first.execute("INSERT INTO hits VALUES (7, 1)").unwrap();
    let upsert = blocked_until(
        &db,
        "INSERT INTO hits VALUES (7, 1) ON CONFLICT (page) DO UPDATE SET n = hits.n + 1",
        || {
            first.execute("COMMIT").unwrap();
        },
    );
    assert_eq!(upsert, Ok(()));
    let mut check = db.session();
    assert_eq!(
        ints(&mut check, "SELECT page, n FROM hits"),
        Ok(vec![vec![7, 2]])
    );

    let mut second = db.session();
    second.execute("BEGIN").unwrap();
    second.execute("INSERT INTO hits VALUES (8, 1)").unwrap();
    let nothing = blocked_until(
        &db,
        "INSERT INTO hits VALUES (8, 5) ON CONFLICT DO NOTHING",
        || {
            second.execute("COMMIT").unwrap();
        },
    );
    assert_eq!(nothing, Ok(()));
    assert_eq!(
        ints(&mut check, "SELECT n FROM hits WHERE page = 8"),
        Ok(vec![vec![1]])
    );
}

/// Concurrent increments through an upsert never lose one.
#[test]
fn concurrent_upserts_count_every_increment() {
    const THREADS: i64 = 4;
    const EACH: i64 = 25;
    let (_dir, db) = open();
    db.session()
        .execute("CREATE TABLE hits (page int PRIMARY KEY, n int)")
        .unwrap();
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let db = db.clone();
            thread::spawn(move || {
                let mut s = db.session();
                for _ in 0..EACH {
                    run(
                        &mut s,
                        "INSERT INTO hits VALUES (1, 1) ON CONFLICT (page) DO UPDATE SET n = hits.n + 1",
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(
        ints(&mut db.session(), "SELECT n FROM hits"),
        Ok(vec![vec![THREADS * EACH]])
    );
}
