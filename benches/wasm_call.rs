#![allow(clippy::unwrap_used)] // benchmark code: a panic is the failure report

//! Per-call cost of Wasm routines, each next to the same logic as a native
//! Rust routine behind the same interface, printed as a table of p50/p99.
//!
//! * **instantiate + call**: one call through the engine's
//!   `RoutineInvoker` on a fresh instance, as every call runs — with the
//!   warm pool off (the call instantiates for itself) and on, each both
//!   paced (an untimed pause before every call, the same for both, and
//!   with the pool on until the refiller has refilled it) and back to back
//!   (with the pool on it drains and calls instantiate);
//! * **warm instance**: repeated trigger calls on one statement's instance
//!   (the `guard` trigger), and per row of a 10 000-row scalar batch;
//! * **SQL** (`Session::execute`, embedded) and **over the wire**
//!   (tokio-postgres against a server on 127.0.0.1 in this process):
//!   `CALL bank.transfer(1, 2, 1)` — two reads and two writes in the
//!   caller's transaction — and `CALL hostile.ok()`.
//!
//! The native side is a `RoutineInvoker` that serves a module named
//! `native` itself and hands everything else to the Wasm host: `CREATE
//! MODULE native` takes the bank component's description, so the catalog,
//! the SQL path and the wire are identical and only the routine differs.
//!
//! Run with `cargo bench --bench wasm_call --profile dev` (the dev profile
//! optimises dependencies, wasmtime included) or `cargo bench --bench
//! wasm_call` for a release build. `WASM_CALL_ITERATIONS` changes the
//! number of timed calls per row (default 20 000); `WASM_CALL_ONLY=invoker`
//! runs only the invoker-level rows (instantiate + call, warm instance),
//! which is what A/B runs of the per-call path need.

#[path = "../tests/wasm_support/mod.rs"]
mod wasm_support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustydb::engine::extension::{
    CallContext, ColumnDescription, ErrorCode, ExtensionError, HostSql, LoadedModule, Notice,
    ResultSet, RoutineDescription, RoutineInvoker, RoutineRef, RoutineUsage, Row, RowCursor,
    TriggerCalls, TriggerData, TriggerLevel, TriggerOperation, TriggerOutcome, TriggerTiming,
};
use rustydb::engine::sql::{Database, DatabaseOptions, Session};
use rustydb::engine::types::{DataType, Value};
use rustydb::engine_backend::EngineBackend;
use rustydb::server::{Server, ServerOptions};
use rustydb::wasm::Limits;
use rustydb_wasm_host::{ModuleRegistry, WasmInvoker};

/// p50 and p99 of `iterations` timed runs of `f`, after a tenth as many
/// untimed ones.
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
    percentiles(&mut times)
}

/// The untimed pause before each paced call: long enough for the
/// refiller to drop the used instance and make a new one.
const PACE: Duration = Duration::from_micros(200);

/// Like [`measure`], but each call (untimed ones too) follows a pause of
/// [`PACE`] and then waits until `ready`, so rows with and without the pool
/// are timed under the same pacing.
fn paced(iterations: usize, ready: &dyn Fn() -> bool, f: &mut dyn FnMut()) -> (Duration, Duration) {
    let mut once = || {
        std::thread::sleep(PACE);
        let until = Instant::now() + Duration::from_secs(5);
        while !ready() && Instant::now() < until {
            std::thread::sleep(Duration::from_micros(50));
        }
        let t = Instant::now();
        f();
        t.elapsed()
    };
    for _ in 0..iterations / 10 {
        once();
    }
    let mut times: Vec<Duration> = (0..iterations).map(|_| once()).collect();
    percentiles(&mut times)
}

fn percentiles(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    let at = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.99))
}

/// The table being printed: one line per measurement.
struct Table;

impl Table {
    fn header() {
        println!(
            "| {:<58} | {:>9} | {:>9} | {:>9} | {:>9} |",
            "per call", "wasm p50", "wasm p99", "native p50", "native p99"
        );
        println!(
            "|{:-<60}|{:->11}|{:->11}|{:->12}|{:->12}|",
            "", ":", ":", ":", ":"
        );
    }

    fn row(what: &str, wasm: (Duration, Duration), native: Option<(Duration, Duration)>) {
        let us = |d: Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6);
        let (n50, n99) = native.map_or(("—".to_owned(), "—".to_owned()), |(a, b)| {
            (us(a), us(b))
        });
        println!(
            "| {:<58} | {:>9} | {:>9} | {:>10} | {:>10} |",
            what,
            us(wasm.0),
            us(wasm.1),
            n50,
            n99
        );
    }
}

// ---------------------------------------------------------------------------
// The native routines: bank's and hostile's logic in Rust, behind the same
// RoutineInvoker interface as the Wasm host.

const NATIVE: &str = "native";

/// Serves module `native` in Rust; everything else goes to the Wasm host.
struct WithNative {
    wasm: Arc<WasmInvoker>,
    described: std::sync::Mutex<Vec<RoutineDescription>>,
}

fn native_error(code: &str, message: String) -> ExtensionError {
    ExtensionError::new(ErrorCode::parse(code).unwrap(), message)
}

fn first_int8(cursor: &mut dyn RowCursor) -> Result<Option<i64>, ExtensionError> {
    Ok(match cursor.next_batch(1)? {
        Some(rows) => match rows.first().and_then(|r| r.first()) {
            Some(Value::Int8(v)) => Some(*v),
            _ => None,
        },
        None => None,
    })
}

/// `bank.transfer` in Rust: the same statements in the same order, the
/// same errors.
fn native_transfer(sql: &dyn HostSql, args: &[Value]) -> Result<ResultSet, ExtensionError> {
    let int = |i: usize| match args.get(i) {
        Some(Value::Int8(v)) => *v,
        _ => 0,
    };
    let (src, dst, amount) = (int(0), int(1), int(2));
    if amount <= 0 {
        return Err(native_error("22023", "amount must be positive".into()));
    }
    let mut cursor = sql.query(
        "SELECT balance FROM accounts WHERE id = $1",
        &[Value::Int8(src)],
    )?;
    let Some(balance) = first_int8(cursor.as_mut())? else {
        return Err(native_error(
            "P0002",
            format!("account {src} does not exist"),
        ));
    };
    if balance < amount {
        return Err(native_error("P0001", "insufficient funds".into()));
    }
    sql.execute(
        "UPDATE accounts SET balance = balance - $1 WHERE id = $2",
        &[Value::Int8(amount), Value::Int8(src)],
    )?;
    let credited = sql.execute(
        "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
        &[Value::Int8(amount), Value::Int8(dst)],
    )?;
    if credited == 0 {
        return Err(native_error(
            "P0002",
            format!("account {dst} does not exist"),
        ));
    }
    Ok(ResultSet {
        columns: Vec::new(),
        rows: Vec::new(),
    })
}

/// `bank.interest` in Rust.
fn native_interest(row: &[Value]) -> Result<Value, ExtensionError> {
    match (row.first(), row.get(1)) {
        (Some(Value::Int8(b)), Some(Value::Int8(r))) => b
            .checked_mul(*r)
            .map(|x| Value::Int8(x / 10_000))
            .ok_or_else(|| native_error("22003", "bigint out of range".into())),
        _ => Ok(Value::Null),
    }
}

/// `guard.guard_row` in Rust.
fn native_guard(data: &TriggerData) -> Result<TriggerOutcome, ExtensionError> {
    let col = |name: &str| data.columns.iter().position(|c| c.name == name);
    let new = data.new.as_ref();
    let amount_col = data.args.first().map_or("balance", String::as_str);
    if let Some(Value::Int8(n)) = col(amount_col).and_then(|i| new?.get(i))
        && *n < 0
    {
        return Err(native_error(
            "P0001",
            format!("{amount_col} must not be negative"),
        ));
    }
    let Some(text_col) = data.args.get(1).and_then(|c| col(c)) else {
        return Ok(TriggerOutcome::Keep);
    };
    match new.and_then(|r| r.get(text_col)) {
        Some(Value::Text(s)) => {
            let clean = s.trim().to_lowercase();
            if clean.is_empty() {
                Ok(TriggerOutcome::Skip)
            } else if clean == *s {
                Ok(TriggerOutcome::Keep)
            } else {
                let mut row = new.cloned().unwrap_or_default();
                row[text_col] = Value::Text(clean);
                Ok(TriggerOutcome::Modified(row))
            }
        }
        _ => Ok(TriggerOutcome::Keep),
    }
}

struct NativeGuard;

impl TriggerCalls for NativeGuard {
    fn call(&mut self, _: &str, data: &TriggerData) -> Result<TriggerOutcome, ExtensionError> {
        native_guard(data)
    }
}

impl RoutineInvoker for WithNative {
    fn load_module(&self, name: &str, bytes: &[u8]) -> Result<LoadedModule, ExtensionError> {
        if name != NATIVE {
            return self.wasm.load_module(name, bytes);
        }
        // The catalog learns the routines from the bank component's own
        // description; the calls never reach it.
        let described = self.wasm.load_module("native-description", bytes)?;
        *self.described.lock().unwrap() = described.routines.clone();
        Ok(LoadedModule {
            handle: NATIVE.to_owned(),
            ..described
        })
    }

    fn is_loaded(&self, handle: &str) -> bool {
        handle == NATIVE || self.wasm.is_loaded(handle)
    }

    fn unload_module(&self, handle: &str) {
        self.wasm.unload_module(handle);
    }

    fn usage(&self) -> Vec<RoutineUsage> {
        self.wasm.usage()
    }

    fn describe(&self, module: &str) -> Result<Vec<RoutineDescription>, ExtensionError> {
        if module == NATIVE {
            return Ok(self.described.lock().unwrap().clone());
        }
        self.wasm.describe(module)
    }

    fn call_procedure(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        args: &[Value],
    ) -> Result<ResultSet, ExtensionError> {
        match (routine.module, routine.name) {
            (NATIVE, "transfer") => native_transfer(ctx.sql.as_ref(), args),
            (NATIVE, "ok") => Ok(ResultSet {
                columns: Vec::new(),
                rows: Vec::new(),
            }),
            _ => self.wasm.call_procedure(ctx, routine, args),
        }
    }

    fn call_scalar(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        args: &[Row],
    ) -> Result<Vec<Value>, ExtensionError> {
        if routine.module == NATIVE {
            return args.iter().map(|r| native_interest(r)).collect();
        }
        self.wasm.call_scalar(ctx, routine, args)
    }

    fn aggregate_init(
        &self,
        ctx: &CallContext,
        r: RoutineRef<'_>,
    ) -> Result<Vec<u8>, ExtensionError> {
        self.wasm.aggregate_init(ctx, r)
    }

    fn aggregate_accumulate(
        &self,
        ctx: &CallContext,
        r: RoutineRef<'_>,
        state: &[u8],
        args: &[Row],
    ) -> Result<Vec<u8>, ExtensionError> {
        self.wasm.aggregate_accumulate(ctx, r, state, args)
    }

    fn aggregate_merge(
        &self,
        ctx: &CallContext,
        r: RoutineRef<'_>,
        left: &[u8],
        right: &[u8],
    ) -> Result<Vec<u8>, ExtensionError> {
        self.wasm.aggregate_merge(ctx, r, left, right)
    }

    fn aggregate_finish(
        &self,
        ctx: &CallContext,
        r: RoutineRef<'_>,
        state: &[u8],
    ) -> Result<Value, ExtensionError> {
        self.wasm.aggregate_finish(ctx, r, state)
    }

    fn call_table(
        &self,
        ctx: &CallContext,
        r: RoutineRef<'_>,
        args: &[Value],
    ) -> Result<Vec<Row>, ExtensionError> {
        self.wasm.call_table(ctx, r, args)
    }

    fn call_trigger(
        &self,
        ctx: &CallContext,
        r: RoutineRef<'_>,
        data: &TriggerData,
    ) -> Result<TriggerOutcome, ExtensionError> {
        self.wasm.call_trigger(ctx, r, data)
    }

    fn open_trigger_calls(
        &self,
        ctx: &CallContext,
        module: &str,
    ) -> Result<Option<Box<dyn TriggerCalls>>, ExtensionError> {
        if module == NATIVE {
            return Ok(Some(Box::new(NativeGuard)));
        }
        self.wasm.open_trigger_calls(ctx, module)
    }

    fn score_model(
        &self,
        ctx: &CallContext,
        r: RoutineRef<'_>,
        params: &[u8],
        batch: &[Row],
    ) -> Result<Vec<Value>, ExtensionError> {
        self.wasm.score_model(ctx, r, params, batch)
    }
}

// ---------------------------------------------------------------------------

/// A `HostSql` for invoker-level calls that run no SQL.
struct NoSql;

impl HostSql for NoSql {
    fn query(&self, sql: &str, _: &[Value]) -> Result<Box<dyn RowCursor>, ExtensionError> {
        Err(native_error(
            "0A000",
            format!("no SQL in this benchmark: {sql}"),
        ))
    }

    fn execute(&self, sql: &str, _: &[Value]) -> Result<u64, ExtensionError> {
        Err(native_error(
            "0A000",
            format!("no SQL in this benchmark: {sql}"),
        ))
    }

    fn notice(&self, _: Notice) {}
}

fn host(limits: Limits, cache: &std::path::Path) -> (Arc<ModuleRegistry>, Arc<WasmInvoker>) {
    let registry = Arc::new(ModuleRegistry::open(limits, cache).unwrap());
    let invoker = Arc::new(WasmInvoker::new(Arc::clone(&registry)));
    (registry, invoker)
}

fn guard_row(owner: &str) -> TriggerData {
    TriggerData {
        name: "accounts_guard".into(),
        timing: TriggerTiming::Before,
        operation: TriggerOperation::Insert,
        level: TriggerLevel::Row,
        table_schema: "public".into(),
        table_name: "accounts".into(),
        columns: vec![
            ColumnDescription::new("id", DataType::Int8),
            ColumnDescription::new("balance", DataType::Int8),
            ColumnDescription::new("owner", DataType::Text),
        ],
        old: None,
        new: Some(vec![
            Value::Int8(7),
            Value::Int8(100),
            Value::Text(owner.into()),
        ]),
        args: vec!["balance".into(), "owner".into()],
    }
}

fn invoker_level(iterations: usize, cache: &std::path::Path) {
    let ctx = CallContext::new(Arc::new(NoSql));
    let interest = RoutineRef::new("bank", "interest");
    let ok = RoutineRef::new("hostile", "ok");
    let one = vec![vec![Value::Int8(10_000), Value::Int8(250)]];
    let native = WithNative {
        wasm: host(wasm_support::limits(), cache).1,
        described: std::sync::Mutex::default(),
    };
    let native_interest = measure(iterations, || {
        black_box(
            native
                .call_scalar(&ctx, RoutineRef::new(NATIVE, "interest"), &one)
                .unwrap(),
        );
    });
    let native_ok = measure(iterations, || {
        black_box(
            native
                .call_procedure(&ctx, RoutineRef::new(NATIVE, "ok"), &[])
                .unwrap(),
        );
    });

    // Pool off: each call instantiates for itself.
    let (_, cold) = host(
        Limits {
            warm_instances: 0,
            ..wasm_support::limits()
        },
        cache,
    );
    // load_module deploys under the version handle calls go through.
    let handle = |inv: &WasmInvoker, name: &str| {
        inv.load_module(name, &wasm_support::component(name))
            .unwrap()
            .handle
    };
    let (bank_c, hostile_c) = (handle(&cold, "bank"), handle(&cold, "hostile"));
    let scalar = |inv: &WasmInvoker, bank: &str| {
        black_box(
            inv.call_scalar(&ctx, RoutineRef::new(bank, interest.name), &one)
                .unwrap(),
        );
    };
    let procedure = |inv: &WasmInvoker, hostile: &str| {
        black_box(
            inv.call_procedure(&ctx, RoutineRef::new(hostile, ok.name), &[])
                .unwrap(),
        );
    };
    let always = || true;
    Table::row(
        "pool off, paced: instantiate + call `interest` (1 row)",
        paced(iterations, &always, &mut || scalar(&cold, &bank_c)),
        Some(native_interest),
    );
    Table::row(
        "pool off, paced: instantiate + call `ok` (no-op)",
        paced(iterations, &always, &mut || procedure(&cold, &hostile_c)),
        Some(native_ok),
    );
    Table::row(
        "pool off, back to back: instantiate + call `interest`",
        measure(iterations, || scalar(&cold, &bank_c)),
        Some(native_interest),
    );

    // Pool on: paced as above, each call also waiting until the refiller
    // has refilled both modules' pools, then back to back.
    let (registry, warm) = host(wasm_support::limits(), cache);
    let (bank_w, hostile_w) = (handle(&warm, "bank"), handle(&warm, "hostile"));
    let target = wasm_support::limits().warm_instances * 2;
    let full = || registry.ready_instances() >= target;
    // A module's pool fills after its first call: call both once.
    scalar(&warm, &bank_w);
    procedure(&warm, &hostile_w);
    Table::row(
        "pool on, paced: fresh instance + call `interest`",
        paced(iterations, &full, &mut || scalar(&warm, &bank_w)),
        Some(native_interest),
    );
    Table::row(
        "pool on, paced: fresh instance + call `ok` (no-op)",
        paced(iterations, &full, &mut || procedure(&warm, &hostile_w)),
        Some(native_ok),
    );
    Table::row(
        "pool on, back to back (pool drains) + call `interest`",
        measure(iterations, || scalar(&warm, &bank_w)),
        Some(native_interest),
    );

    // Warm instance: one statement's trigger instance, called row after row.
    warm.load_module("guard", &wasm_support::component("guard"))
        .unwrap();
    let guard_h = handle(&warm, "guard");
    let mut calls = warm.open_trigger_calls(&ctx, &guard_h).unwrap().unwrap();
    let mut native_calls = native.open_trigger_calls(&ctx, NATIVE).unwrap().unwrap();
    let row = guard_row(" Alice ");
    let wasm_guard = measure(iterations, || {
        black_box(calls.call("guard_row", &row).unwrap());
    });
    let native_guard = measure(iterations, || {
        black_box(native_calls.call("guard_row", &row).unwrap());
    });
    Table::row(
        "warm instance: `guard_row` trigger, per row of a statement",
        wasm_guard,
        Some(native_guard),
    );

    const ROWS: usize = 10_000;
    let batch: Vec<Row> = (0..ROWS as i64)
        .map(|i| vec![Value::Int8(i), Value::Int8(250)])
        .collect();
    let per_row = |(a, b): (Duration, Duration)| (a / ROWS as u32, b / ROWS as u32);
    let wasm_batch = measure(200, || {
        black_box(
            warm.call_scalar(&ctx, RoutineRef::new(&bank_w, "interest"), &batch)
                .unwrap(),
        );
    });
    let native_batch = measure(200, || {
        black_box(
            native
                .call_scalar(&ctx, RoutineRef::new(NATIVE, "interest"), &batch)
                .unwrap(),
        );
    });
    Table::row(
        "warm instance: `interest`, per row of a 10 000-row batch",
        per_row(wasm_batch),
        Some(per_row(native_batch)),
    );
}

fn database(dir: &std::path::Path) -> Database {
    let wasm = wasm_support::open(wasm_support::limits()).invoker;
    let invoker = Arc::new(WithNative {
        wasm,
        described: std::sync::Mutex::default(),
    });
    let db = Database::open(dir, DatabaseOptions::default())
        .unwrap()
        .with_invoker(invoker as Arc<dyn RoutineInvoker>);
    let mut s = db.session();
    s.execute(
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
         INSERT INTO accounts VALUES (1, 1000000000000), (2, 0);",
    )
    .unwrap();
    wasm_support::deploy(&mut s, "bank", "bank", false);
    wasm_support::deploy(&mut s, "native", "bank", false);
    wasm_support::deploy(&mut s, "hostile", "hostile", false);
    db
}

fn sql_level(iterations: usize, session: &mut Session) {
    for (what, wasm, native) in [
        (
            "SQL, embedded: CALL transfer(1, 2, 1)",
            "CALL bank.transfer(1, 2, 1)",
            "CALL native.transfer(1, 2, 1)",
        ),
        (
            "SQL, embedded: CALL hostile.ok() / SELECT 1",
            "CALL hostile.ok()",
            "SELECT 1",
        ),
    ] {
        let w = measure(iterations, || {
            session.execute(wasm).unwrap();
        });
        let n = measure(iterations, || {
            session.execute(native).unwrap();
        });
        Table::row(what, w, Some(n));
    }
}

fn wire_level(iterations: usize, db: Database, dir: &std::path::Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let backend = Arc::new(EngineBackend::with_database(db, dir));
        let server = Server::bind("127.0.0.1:0", backend, ServerOptions::default())
            .await
            .unwrap();
        let port = server.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        let (client, connection) = tokio_postgres::connect(
            &format!("host=127.0.0.1 port={port} user=rustydb dbname=rustydb"),
            tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        for (what, wasm, native) in [
            (
                "over the wire: CALL transfer(1, 2, 1)",
                "CALL bank.transfer(1, 2, 1)",
                "CALL native.transfer(1, 2, 1)",
            ),
            (
                "over the wire: CALL hostile.ok() / SELECT 1",
                "CALL hostile.ok()",
                "SELECT 1",
            ),
        ] {
            let timed = |sql: &'static str| {
                let client = &client;
                async move {
                    for _ in 0..iterations / 10 {
                        client.batch_execute(sql).await.unwrap();
                    }
                    let mut times = Vec::with_capacity(iterations);
                    for _ in 0..iterations {
                        let t = Instant::now();
                        client.batch_execute(sql).await.unwrap();
                        times.push(t.elapsed());
                    }
                    percentiles(&mut times)
                }
            };
            let w = timed(wasm).await;
            let n = timed(native).await;
            Table::row(what, w, Some(n));
        }
        drop(client);
        let _ = stop.send(());
        let _ = served.await;
    });
}

fn main() {
    let iterations: usize = std::env::var("WASM_CALL_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let cache = tempfile::tempdir().unwrap();
    // Build the guests before anything is timed.
    wasm_support::examples();
    println!(
        "{iterations} timed calls per row (after {} untimed)\n",
        iterations / 10
    );
    Table::header();
    invoker_level(iterations, cache.path());
    if std::env::var("WASM_CALL_ONLY").is_ok_and(|v| v == "invoker") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let mut session = db.session();
    sql_level(iterations, &mut session);
    drop(session);
    wire_level(iterations, db, dir.path());
}
