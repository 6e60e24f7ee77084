//! Per-row cost of the executor on the two queries of `benches/udf.sh`,
//! embedded (no wire, no Wasm): `sum(x * 2 + 1)` over a bigint column and
//! the haversine distance as a SQL expression over four double columns,
//! plus a bare `count(*)` for the cost of scanning alone.
//!
//! `cargo bench -p rustydb-engine --bench query_exec` runs it; `BENCH_ROWS`
//! changes the number of rows (default 1,000,000) and `BENCH_REPS` the
//! number of timed runs of each query (default 5; the best counts).

#![allow(clippy::unwrap_used)] // benchmark code: a panic is the failure report

use std::time::{Duration, Instant};

use rustydb_engine::sql::{Database, DatabaseOptions, StatementResult};

const HAVERSINE: &str = "2 * 6371.0088 * asin(sqrt(
    sin(radians(lat2 - lat1) / 2) * sin(radians(lat2 - lat1) / 2)
  + cos(radians(lat1)) * cos(radians(lat2))
    * sin(radians(lon2 - lon1) / 2) * sin(radians(lon2 - lon1) / 2)))";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rows = env("BENCH_ROWS", 1_000_000);
    let reps = env("BENCH_REPS", 5);
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), DatabaseOptions::default()).unwrap();
    let mut s = db.session();
    let load = Instant::now();
    s.execute(&format!(
        "CREATE TABLE t (x bigint);
         INSERT INTO t SELECT g FROM generate_series(1, {rows}) AS g;
         CREATE TABLE h (lat1 double precision, lon1 double precision,
                         lat2 double precision, lon2 double precision);
         INSERT INTO h SELECT (g % 179)::float8 - 89.5, (g % 359)::float8 - 179.5,
                              ((g * 7) % 179)::float8 - 89.5, ((g * 13) % 359)::float8 - 179.5
           FROM generate_series(1, {rows}) AS g;"
    ))
    .unwrap();
    println!("loaded {rows} rows into t and h in {:.1?}", load.elapsed());
    let queries = [
        ("count(*)".to_owned(), "SELECT count(*) FROM t".to_owned()),
        ("sum(x)".to_owned(), "SELECT sum(x) FROM t".to_owned()),
        (
            "sum(x * 2 + 1)".to_owned(),
            "SELECT sum(x * 2 + 1) FROM t".to_owned(),
        ),
        (
            "sum(haversine expression)".to_owned(),
            format!("SELECT sum({HAVERSINE}) FROM h"),
        ),
    ];
    println!(
        "| {:<28} | {:>10} | {:>8} | answer",
        "query", "best ms", "ns/row"
    );
    for (name, sql) in &queries {
        let mut best = Duration::MAX;
        let mut answer = String::new();
        for _ in 0..=reps {
            let t = Instant::now();
            let mut out = s.execute(sql).unwrap();
            best = best.min(t.elapsed());
            if let Some(StatementResult::Rows { rows, .. }) = out.pop() {
                answer = format!("{:?}", rows.first().and_then(|r| r.first()));
            }
        }
        println!(
            "| {:<28} | {:>10.1} | {:>8.0} | {answer}",
            name,
            best.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e9 / rows as f64
        );
    }
}
