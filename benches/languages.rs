//! The per-language report of issue 10: for each guest language, the size
//! of its component, how long `CREATE MODULE` takes to compile it, and what
//! one call costs, beside the Rust version of the same routine.
//!
//! ```sh
//! cargo bench --profile dev --bench languages   # LANG_BENCH_REPS=5 for more runs
//! ```
//!
//! (`--profile dev` reuses the test build; it optimises the dependencies —
//! wasmtime, Cranelift — which do the work measured here.)
//!
//! Every module is built exactly as `tests/wasm_languages.rs` builds it (the
//! same code, included below), so the tools it names must be installed.
//! Figures are medians over the repetitions; absolute numbers depend on the
//! machine, the ratios to Rust are the result.
//!
//! * deploy: `ModuleRegistry::deploy` with an empty artifact cache, that is
//!   validation, Cranelift compilation, linking and `describe`;
//! * scalar call: `interest` over one row, through the invoker, which
//!   instantiates the module for every call (the pooled allocator keeps it
//!   cheap);
//! * per row: `interest` over a batch of 1,000 rows, divided by 1,000;
//! * SQL call: the routine each language has besides `interest`, from SQL
//!   — `CALL bank.transfer` for Rust and Python, an `UPDATE` firing
//!   `audit_row` for Rust and JavaScript — per statement.

#![allow(clippy::unwrap_used, clippy::print_stdout, dead_code)]

#[path = "../tests/languages_support/mod.rs"]
mod languages_support;
#[path = "../tests/wasm_support/mod.rs"]
mod wasm_support;

use std::time::{Duration, Instant};

use rustydb::engine::extension::{RoutineInvoker, RoutineRef, Row};
use rustydb::engine::sql::Session;
use rustydb::engine::types::Value;
use rustydb_wasm_host::{ModuleRegistry, version_handle};

/// One guest: the language, its module's bytes, and what it is deployed as.
struct Guest {
    language: &'static str,
    module: &'static str,
    bytes: Vec<u8>,
    /// The SQL call this language's module answers besides `interest`.
    sql_call: Option<SqlCall>,
}

#[derive(Clone, Copy)]
enum SqlCall {
    Transfer,
    AuditedUpdate,
}

fn reps() -> usize {
    std::env::var("LANG_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(3)
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// `CREATE MODULE`'s compile step with nothing cached.
fn deploy_time(guest: &Guest) -> Duration {
    let times = (0..reps())
        .map(|_| {
            let cache = tempfile::tempdir().unwrap();
            let registry = ModuleRegistry::open(wasm_support::limits(), cache.path()).unwrap();
            let start = Instant::now();
            registry.deploy(guest.module, &guest.bytes, false).unwrap();
            let took = start.elapsed();
            assert_eq!(
                registry.compilations(),
                1,
                "{} came from a cache",
                guest.language
            );
            took
        })
        .collect();
    median(times)
}

/// Mean time of `f` over `n` runs, the median of `reps()` such means.
fn per_run(n: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..n.min(10) {
        f();
    }
    let means = (0..reps())
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed() / n
        })
        .collect();
    median(means)
}

/// (one-row call, per row of a 1,000-row batch) for `interest`.
fn scalar_costs(guest: &Guest) -> (Duration, Duration) {
    let t = wasm_support::open(wasm_support::limits());
    let mut s = t.db.session();
    deploy(&mut s, guest.module, &guest.bytes);
    let handle = version_handle(guest.module, &guest.bytes);
    let ctx = languages_support::pure_ctx();
    let interest = RoutineRef::new(&handle, "interest");
    let batch = |n: i64| -> Vec<Row> {
        (0..n)
            .map(|i| vec![Value::Int8(1_000 + i), Value::Int8(250)])
            .collect()
    };
    let one = batch(1);
    let thousand = batch(1_000);
    let expected = t.invoker.call_scalar(&ctx, interest, &thousand).unwrap();
    assert_eq!(expected[0], Value::Int8(25), "{}", guest.language);
    let single = per_run(200, || {
        t.invoker.call_scalar(&ctx, interest, &one).unwrap();
    });
    let batched = per_run(20, || {
        t.invoker.call_scalar(&ctx, interest, &thousand).unwrap();
    });
    (single, batched / 1_000)
}

fn deploy(s: &mut Session, name: &str, bytes: &[u8]) {
    let prepared = s.prepare(&format!("CREATE MODULE {name} FROM $1")).unwrap();
    s.execute_prepared(&prepared, &[Value::Bytea(bytes.to_vec())])
        .unwrap();
}

/// One SQL statement that calls the guest once, per statement.
fn sql_cost(guest: &Guest, call: SqlCall) -> Duration {
    let t = wasm_support::open(wasm_support::limits());
    let mut s = t.db.session();
    s.execute(
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
         INSERT INTO accounts VALUES (1, 1000000000), (2, 0);
         CREATE TABLE audit_log (id serial, tbl text, op text, old_row text, new_row text);",
    )
    .unwrap();
    // One open transaction, so the figure is the call and not the fsync of
    // an autocommit per statement.
    s.execute("BEGIN").unwrap();
    match call {
        SqlCall::Transfer => {
            deploy(&mut s, "bank", &guest.bytes);
            per_run(200, || {
                s.execute("CALL bank.transfer(1, 2, 1)").unwrap();
            })
        }
        SqlCall::AuditedUpdate => {
            deploy(&mut s, "audit", &guest.bytes);
            s.execute(
                "CREATE TRIGGER accounts_audit AFTER UPDATE ON accounts \
                 FOR EACH ROW EXECUTE FUNCTION audit.audit_row()",
            )
            .unwrap();
            per_run(200, || {
                s.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 2")
                    .unwrap();
            })
        }
    }
}

fn micros(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn ratio(d: Duration, rust: Duration) -> String {
    format!("{:.1}x", d.as_secs_f64() / rust.as_secs_f64())
}

fn main() {
    let guests = [
        Guest {
            language: "Rust",
            module: "bank",
            bytes: wasm_support::component("bank"),
            sql_call: Some(SqlCall::Transfer),
        },
        Guest {
            language: "Python",
            module: "bank",
            bytes: languages_support::python_bank().to_vec(),
            sql_call: Some(SqlCall::Transfer),
        },
        Guest {
            language: "C",
            module: "stats",
            bytes: languages_support::c_stats().to_vec(),
            sql_call: None,
        },
        Guest {
            language: "JavaScript",
            module: "ledger",
            bytes: languages_support::js_ledger().to_vec(),
            sql_call: Some(SqlCall::AuditedUpdate),
        },
    ];
    let rust_audit = Guest {
        language: "Rust",
        module: "audit",
        bytes: wasm_support::component("audit"),
        sql_call: Some(SqlCall::AuditedUpdate),
    };
    // Ratios are to the Rust row, measured first in the same run; the
    // trigger's Rust baseline is measured right before the JavaScript one.
    let mut rust_scalar = None;
    let mut rust_transfer = None;

    println!("repetitions: {} (medians)", reps());
    println!(
        "| language | module | component | deploy (compile) | interest, 1 row | vs Rust \
         | interest, per row of 1,000 | vs Rust | SQL call | per statement | vs Rust |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|");
    for guest in &guests {
        let deploy = deploy_time(guest);
        let (single, row) = scalar_costs(guest);
        let (rust_single, rust_row) = *rust_scalar.get_or_insert((single, row));
        let sql = match guest.sql_call {
            Some(SqlCall::Transfer) => {
                let took = sql_cost(guest, SqlCall::Transfer);
                let rust_transfer = *rust_transfer.get_or_insert(took);
                format!(
                    "`CALL bank.transfer` | {} µs | {}",
                    micros(took),
                    ratio(took, rust_transfer)
                )
            }
            Some(SqlCall::AuditedUpdate) => {
                let rust_trigger = sql_cost(&rust_audit, SqlCall::AuditedUpdate);
                let took = sql_cost(guest, SqlCall::AuditedUpdate);
                format!(
                    "`UPDATE` firing `audit_row` | {} µs | {} (Rust `audit`: {} µs)",
                    micros(took),
                    ratio(took, rust_trigger),
                    micros(rust_trigger)
                )
            }
            None => "— | — | —".to_owned(),
        };
        println!(
            "| {} | {} | {:.2} MiB | {} ms | {} µs | {} | {:.3} µs | {} | {sql} |",
            guest.language,
            guest.module,
            guest.bytes.len() as f64 / f64::from(1u32 << 20),
            deploy.as_millis(),
            micros(single),
            ratio(single, rust_single),
            row.as_secs_f64() * 1e6,
            ratio(row, rust_row),
        );
    }
}
