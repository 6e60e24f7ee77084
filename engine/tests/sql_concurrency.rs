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

fn parent_and_child(db: &Database) {
    db.session()
        .execute(
            "CREATE TABLE parent (id int PRIMARY KEY); \
             CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id)); \
             INSERT INTO parent VALUES (1), (2)",
        )
        .unwrap();
}

/// Runs `sql` on a new session on another thread, checks that it is still
/// waiting after a while, then lets `release` end the blocking
/// transaction and returns what `sql` ended with.
fn blocked_until(db: &Database, sql: &str, release: impl FnOnce()) -> Result<(), String> {
    let handle = {
        let db = db.clone();
        let sql = sql.to_owned();
        thread::spawn(move || run(&mut db.session(), &sql))
    };
    thread::sleep(Duration::from_millis(200));
    assert!(!handle.is_finished(), "{sql} did not wait");
    release();
    handle.join().unwrap()
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
