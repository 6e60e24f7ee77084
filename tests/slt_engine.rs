//! The SQL logic tests of `tests/sql/*.slt` run against the embedded engine:
//! each file gets a fresh database in a temporary directory, and every
//! `connection <name>` a new session on that database.
//!
//! The corpus does not pass whole yet. `tests/sql/engine/known_failures.txt`
//! lists the records (`file.slt:line`) allowed to fail; the test fails on
//! any other failing record (a regression) and reports the listed ones that
//! pass now, so the list only shrinks. `RUSTYDB_SLT_WRITE_KNOWN=1` rewrites
//! the list from the run (review the diff!); `RUSTYDB_SLT_FILTER=word` keeps
//! the files whose name contains `word`.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod slt_support;

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use rustydb::engine::sql::{Database, DatabaseOptions, Session, StatementResult};
use slt_support::{DefaultColumnType, SltError};
use sqllogictest::{DB, DBOutput, Record, Runner};

/// One session of the database under test.
struct Engine {
    session: Session,
}

impl Engine {
    fn execute(&mut self, sql: &str) -> Result<Vec<StatementResult>, SltError> {
        // A panic is an engine bug, but turning it into a failing record
        // keeps the rest of the file running and the report complete.
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.session.execute(sql))) {
            Ok(Ok(results)) => Ok(results),
            Ok(Err(e)) => Err(SltError::new(
                Some(e.sqlstate().code().to_string()),
                e.to_string(),
            )),
            Err(panic) => {
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                    .unwrap_or_default();
                Err(SltError::new(None, format!("engine panicked: {text}")))
            }
        }
    }
}

/// The affected-row count at the end of a command tag (`INSERT 0 3` → 3).
fn tag_count(tag: &str) -> u64 {
    tag.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl DB for Engine {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let results = self.execute(sql)?;
        let mut types = None;
        let mut rows = Vec::new();
        let mut count = 0;
        for result in &results {
            match result {
                StatementResult::Rows {
                    columns,
                    rows: values,
                    tag,
                } => {
                    types = Some(
                        columns
                            .iter()
                            .map(|c| slt_support::column_type_for(c.ty.name()))
                            .collect::<Vec<_>>(),
                    );
                    rows.extend(values.iter().map(|row| {
                        row.iter()
                            .map(|v| slt_support::format_value(v.to_pg_text().as_deref()))
                            .collect()
                    }));
                    count = tag_count(tag);
                }
                StatementResult::Command(tag) => count = tag_count(tag),
                // COPY needs a client to move its data; .slt files do not
                // use it.
                StatementResult::CopyIn(_) | StatementResult::CopyOut { .. } => {}
            }
        }
        Ok(match types {
            Some(types) => DBOutput::Rows { types, rows },
            None => DBOutput::StatementComplete(count),
        })
    }

    fn engine_name(&self) -> &str {
        "rustydb"
    }

    fn error_sql_state(err: &SltError) -> Option<String> {
        err.sqlstate.clone()
    }
}

/// How many records of `path` run (statements and queries before a halt).
fn record_count(path: &Path) -> usize {
    let Ok(records) = sqllogictest::parse_file::<DefaultColumnType>(path) else {
        return 0;
    };
    records
        .iter()
        .take_while(|r| !matches!(r, Record::Halt { .. }))
        .filter(|r| matches!(r, Record::Statement { .. } | Record::Query { .. }))
        .count()
}

/// `file.slt:line` of a failure report, whose location line is
/// `at <path>:<line>`.
fn failure_key(path: &Path, failure: &str) -> String {
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let full = path.display().to_string();
    failure
        .lines()
        .filter_map(|l| l.strip_prefix("at "))
        .find_map(|loc| loc.strip_prefix(&full)?.strip_prefix(':'))
        .map_or_else(|| format!("{file}:?"), |line| format!("{file}:{line}"))
}

fn known_failures_path() -> PathBuf {
    slt_support::sql_dir()
        .join("engine")
        .join("known_failures.txt")
}

fn read_known_failures() -> BTreeSet<String> {
    std::fs::read_to_string(known_failures_path())
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

async fn run_file(path: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut options = DatabaseOptions::default();
    // A test database needs neither durability at each commit nor a large
    // buffer pool.
    options.store.synchronous_commit = false;
    options.store.buffer_pool_bytes = 8 << 20;
    let database = Database::open(dir.path(), options).unwrap();
    let mut runner = Runner::new(move || {
        let session = database.session();
        async move { Ok(Engine { session }) }
    });
    slt_support::configure(&mut runner);
    let failures = slt_support::run_file_collecting(&mut runner, path).await;
    runner.shutdown_async().await;
    failures
}

#[test]
fn sql_logic_tests_on_the_engine() {
    let mut files = slt_support::slt_files(&slt_support::sql_dir()).unwrap();
    assert!(!files.is_empty(), "no .slt file in tests/sql");
    // RustyDB-only records (EXPLAIN output, which depends on the planner
    // and so cannot be verified against PostgreSQL) live in tests/sql/engine.
    files.extend(slt_support::slt_files(&slt_support::sql_dir().join("engine")).unwrap());
    let known = read_known_failures();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut regressions = Vec::new();
    let mut failing_now = BTreeSet::new();
    let mut now_passing = Vec::new();
    let (mut passed, mut total) = (0, 0);
    for path in &files {
        let failures = runtime.block_on(run_file(path));
        let records = record_count(path);
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let keys: BTreeSet<String> = failures.iter().map(|f| failure_key(path, f)).collect();
        println!(
            "{file}: {}/{records} records pass",
            records.saturating_sub(failures.len())
        );
        passed += records.saturating_sub(failures.len());
        total += records;
        now_passing.extend(
            known
                .iter()
                .filter(|k| k.starts_with(&format!("{file}:")) && !keys.contains(*k))
                .cloned(),
        );
        let unexpected: Vec<String> = failures
            .into_iter()
            .filter(|f| !known.contains(&failure_key(path, f)))
            .collect();
        regressions.push((path.clone(), unexpected));
        failing_now.extend(keys);
    }
    let rate = if total == 0 {
        0.0
    } else {
        100.0 * passed as f64 / total as f64
    };
    println!("sqllogictest on the engine: {passed}/{total} records pass ({rate:.1}%)");
    if !now_passing.is_empty() {
        println!(
            "{} records of known_failures.txt pass now; remove them from the list:\n{}",
            now_passing.len(),
            now_passing.join("\n")
        );
    }
    if std::env::var("RUSTYDB_SLT_WRITE_KNOWN").is_ok_and(|v| v == "1") {
        assert!(
            std::env::var("RUSTYDB_SLT_FILTER").is_err(),
            "write the known failures from a run of every file"
        );
        let mut text = String::from(
            "# Records of tests/sql/*.slt the engine does not pass yet (file:line),\n\
             # written by RUSTYDB_SLT_WRITE_KNOWN=1 cargo test -p rustydb --test slt_engine.\n",
        );
        for key in &failing_now {
            text.push_str(key);
            text.push('\n');
        }
        std::fs::write(known_failures_path(), text).unwrap();
        return;
    }
    slt_support::report(&regressions, files.len());
}
