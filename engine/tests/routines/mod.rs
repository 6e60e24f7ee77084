//! Support for the routine tests: a fake routine host.
pub mod fake;

use rustydb_engine::{Session, StatementResult};

/// The rows of `sql`'s last result, each as its columns' text joined by
/// spaces (NULL for null).
pub fn rows(s: &mut Session, sql: &str) -> Vec<String> {
    let results = s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    match results.last() {
        Some(StatementResult::Rows { rows, .. }) => rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| v.to_pg_text().unwrap_or_else(|| "NULL".into()))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect(),
        other => panic!("{sql}: {other:?}"),
    }
}
