//! The parts of the SQL logic test runners that do not depend on the database
//! under test: shared by `tests/slt_postgres.rs` (PostgreSQL 15, the reference)
//! and `tests/slt_engine.rs` (RustyDB), so that both read the `.slt` files under
//! the same conventions (see `tests/sql/README.md`):
//!
//! * values in PostgreSQL's text format; SQL NULL is `NULL`, the empty string `(empty)`;
//! * column types `I` (smallint, integer, bigint), `R` (real, double precision,
//!   numeric) and `T` (everything else, boolean included), checked strictly;
//! * an error displays as `<SQLSTATE> <message>`, so `statement error 23505`
//!   (a regex searched in that text) matches on the code;
//! * a file runs to its end, and every failing record is reported.
//!
//! Include it with `mod slt_support;` from a test crate.

#![allow(dead_code)] // each test crate uses the part it needs

use std::fmt;
use std::path::{Path, PathBuf};

pub use sqllogictest::DefaultColumnType;
use sqllogictest::{AsyncDB, MakeConnection, Record, Runner};

/// The directory holding the `.slt` files, `tests/sql` of the root package.
pub fn sql_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("sql")
}

/// The `.slt` files directly in `dir` (not in its subdirectories, so
/// `tests/sql/engine/` is left out of `tests/sql`), sorted by name. When
/// `RUSTYDB_SLT_FILTER` is set, only the files whose name contains it.
pub fn slt_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let filter = std::env::var("RUSTYDB_SLT_FILTER").ok();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_slt = path.is_file() && path.extension().is_some_and(|e| e == "slt");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if is_slt && filter.as_deref().is_none_or(|f| name.contains(f)) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A database name for the `index`-th file: `slt_<index>`.
pub fn database_name(index: usize) -> String {
    format!("slt_{index}")
}

/// An error as the runners display it: `<SQLSTATE> <message>`, or the bare
/// message when there is no SQLSTATE (a lost connection, say).
#[derive(Debug, Clone)]
pub struct SltError {
    pub sqlstate: Option<String>,
    pub message: String,
}

impl SltError {
    pub fn new(sqlstate: Option<String>, message: impl Into<String>) -> Self {
        SltError {
            sqlstate,
            message: message.into(),
        }
    }
}

impl fmt::Display for SltError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sqlstate {
            Some(code) => write!(f, "{code} {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for SltError {}

/// One value in the text format of the files: `NULL` for SQL NULL, `(empty)`
/// for the empty string, else the text itself.
pub fn format_value(value: Option<&str>) -> String {
    match value {
        None => "NULL".to_string(),
        Some("") => "(empty)".to_string(),
        Some(text) => text.to_string(),
    }
}

/// The column type letter for a PostgreSQL type name (`pg_type.typname`, as
/// in `int4`, or the SQL spelling, as in `integer`).
pub fn column_type_for(type_name: &str) -> DefaultColumnType {
    match type_name.to_ascii_lowercase().as_str() {
        "int2" | "int4" | "int8" | "smallint" | "integer" | "int" | "bigint" => {
            DefaultColumnType::Integer
        }
        "float4" | "float8" | "numeric" | "real" | "double precision" | "decimal" => {
            DefaultColumnType::FloatingPoint
        }
        _ => DefaultColumnType::Text,
    }
}

/// Sets the validators of the conventions on a runner: values compared after
/// whitespace normalisation (the crate's default), column types strictly.
pub fn configure<D, M>(runner: &mut Runner<D, M>)
where
    D: AsyncDB<ColumnType = DefaultColumnType>,
    M: MakeConnection<Conn = D>,
{
    runner.with_validator(sqllogictest::default_validator);
    runner.with_normalizer(sqllogictest::default_normalizer);
    runner.with_column_validator(sqllogictest::strict_column_validator);
}

/// Runs every record of `path`, going on after a failure, and returns one
/// report per failing record (the crate's message, with the file and line).
pub async fn run_file_collecting<D, M>(runner: &mut Runner<D, M>, path: &Path) -> Vec<String>
where
    D: AsyncDB<ColumnType = DefaultColumnType>,
    M: MakeConnection<Conn = D>,
{
    let records = match sqllogictest::parse_file::<DefaultColumnType>(path) {
        Ok(records) => records,
        Err(e) => return vec![format!("{}: cannot parse: {e}", path.display())],
    };
    let mut failures = Vec::new();
    for record in records {
        if let Record::Halt { .. } = record {
            break;
        }
        if let Err(e) = runner.run_async(record).await {
            failures.push(e.to_string());
        }
    }
    failures
}

/// Rewrites `path` with the results the database gives (the crate's
/// completion mode), then shortens every expected error to its SQLSTATE.
/// Only ever used against PostgreSQL, to write expected results.
pub async fn complete_file<D, M>(
    runner: &mut Runner<D, M>,
    path: &Path,
) -> Result<(), Box<dyn std::error::Error>>
where
    D: AsyncDB<ColumnType = DefaultColumnType>,
    M: MakeConnection<Conn = D>,
{
    runner
        .update_test_file(
            path,
            " ",
            sqllogictest::default_validator,
            sqllogictest::default_normalizer,
            sqllogictest::strict_column_validator,
        )
        .await?;
    let text = std::fs::read_to_string(path)?;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(&shorten_error_line(line));
        out.push('\n');
    }
    std::fs::write(path, out)?;
    Ok(())
}

/// `statement error 23505 duplicate key …` becomes `statement error 23505`.
fn shorten_error_line(line: &str) -> String {
    for prefix in ["statement error ", "query error "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            let code: String = rest.chars().take(5).collect();
            let is_code = code.len() == 5
                && code
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
            if is_code && (rest.len() == 5 || rest[5..].starts_with(' ')) {
                return format!("{prefix}{code}");
            }
        }
    }
    line.to_string()
}

/// Panics with every failure, grouped by file; does nothing when there is none.
pub fn report(failures: &[(PathBuf, Vec<String>)], files_run: usize) {
    let failing: Vec<_> = failures.iter().filter(|(_, f)| !f.is_empty()).collect();
    let count: usize = failing.iter().map(|(_, f)| f.len()).sum();
    if count == 0 {
        println!("sqllogictest: {files_run} files passed");
        return;
    }
    let mut text = String::new();
    for (path, list) in &failing {
        text.push_str(&format!(
            "\n=== {} ({} failing records)\n",
            path.display(),
            list.len()
        ));
        for failure in list.iter() {
            text.push_str(failure);
            text.push('\n');
        }
    }
    panic!(
        "{count} failing records in {} of {files_run} files:{text}",
        failing.len()
    );
}
