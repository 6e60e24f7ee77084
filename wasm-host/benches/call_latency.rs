#![allow(clippy::unwrap_used)] // benchmark code: a panic is the failure report

//! Call latency of the Wasm host, printed as a table.
//!
//! * instantiate + call: `WasmInvoker::call_scalar` with one row, and the
//!   `transfer` procedure (two queries' worth of host calls), each on a
//!   fresh instance as every real call is — p50 and p99 over many calls;
//! * warm: the per-row cost inside one batch call of 10 000 rows, which is
//!   how the executor calls a scalar function, next to the same arithmetic
//!   as native Rust.
//!
//! Run with `cargo bench -p rustydb-wasm-host --profile dev` (the root
//! profile already optimises dependencies, wasmtime included).

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{Bank, component, registry, test_limits};
use rustydb_engine::extension::{RoutineInvoker, RoutineRef};
use rustydb_engine::types::Value;
use rustydb_wasm_host::WasmInvoker;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn measure(iterations: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..iterations / 10 {
        f();
    }
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

fn interest(balance: i64, rate_bp: i64) -> Option<i64> {
    balance.checked_mul(rate_bp).map(|x| x / 10_000)
}

fn main() {
    let registry = registry(test_limits());
    registry.deploy("bank", &component("bank"), false).unwrap();
    let inv = WasmInvoker::new(registry);
    let bank = Bank::with(&[(1, 1_000_000_000), (2, 0)]);
    let ctx = bank.ctx();
    let f = RoutineRef::new("bank", "interest");
    let one = vec![vec![Value::Int8(10_000), Value::Int8(250)]];

    let (p50, p99) = measure(5000, || {
        black_box(inv.call_scalar(&ctx, f, &one).unwrap());
    });
    println!("instantiate + call interest(1 row)   p50 {p50:>10.1?}  p99 {p99:>10.1?}");

    let transfer = RoutineRef::new("bank", "transfer");
    let args = [Value::Int8(1), Value::Int8(2), Value::Int8(1)];
    let (p50, p99) = measure(5000, || {
        inv.call_procedure(&ctx, transfer, &args).unwrap();
    });
    println!("instantiate + call transfer           p50 {p50:>10.1?}  p99 {p99:>10.1?}");

    const ROWS: usize = 10_000;
    let batch: Vec<Vec<Value>> = (0..ROWS as i64)
        .map(|i| vec![Value::Int8(i), Value::Int8(250)])
        .collect();
    let (p50, _) = measure(50, || {
        black_box(inv.call_scalar(&ctx, f, &batch).unwrap());
    });
    let wasm_row = p50 / ROWS as u32;
    let (native, _) = measure(50, || {
        for row in &batch {
            let (Value::Int8(b), Value::Int8(r)) = (&row[0], &row[1]) else {
                unreachable!()
            };
            black_box(interest(black_box(*b), black_box(*r)));
        }
    });
    let native_row = native / ROWS as u32;
    println!(
        "warm, per row in a {ROWS}-row batch    wasm {wasm_row:>9.1?}  native {native_row:>9.1?}"
    );
    println!(
        "  (batch call {p50:.1?} incl. one instantiation and value conversion; native loop {native:.1?})"
    );
}
