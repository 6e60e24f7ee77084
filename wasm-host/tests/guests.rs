#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

//! The example guests, deployed into a registry and called through the
//! engine's `RoutineInvoker`, with `common::Bank` standing in for SQL.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{Bank, component, registry, test_limits};
use rustydb_engine::extension::{
    CallLimits, ErrorCode, NoticeLevel, RoutineInvoker, RoutineKind, RoutineRef, Volatility,
};
use rustydb_engine::types::{DataType, Value};
use rustydb_wasm_host::{DeployError, Limits, ModuleRegistry, WasmInvoker};

fn invoker(limits: Limits, modules: &[&str]) -> WasmInvoker {
    let registry = registry(limits);
    for m in modules {
        registry.deploy(m, &component(m), false).unwrap();
    }
    WasmInvoker::new(registry)
}

fn call(
    inv: &WasmInvoker,
    bank: &Arc<Bank>,
    module: &str,
    name: &str,
    args: &[Value],
) -> Result<(), ErrorCode> {
    inv.call_procedure(&bank.ctx(), RoutineRef::new(module, name), args)
        .map(drop)
        .map_err(|e| e.code)
}

fn still_works(inv: &WasmInvoker) {
    let bank = Bank::with(&[]);
    call(inv, &bank, "hostile", "ok", &[]).unwrap();
}

#[test]
fn transfer_moves_money_and_keeps_the_total() {
    let inv = invoker(test_limits(), &["bank"]);
    let bank = Bank::with(&[(1, 500), (2, 100)]);
    let args = [Value::Int8(1), Value::Int8(2), Value::Int8(120)];
    inv.call_procedure(&bank.ctx(), RoutineRef::new("bank", "transfer"), &args)
        .unwrap();
    assert_eq!((bank.balance(1), bank.balance(2)), (380, 220));
    assert_eq!(bank.total(), 600);
    assert_eq!(bank.executed.lock().unwrap().len(), 2);

    let stats = inv.stats("bank", "transfer").unwrap();
    assert_eq!((stats.calls, stats.traps, stats.errors), (1, 0, 0));
    assert!(stats.fuel > 0 && stats.peak_memory > 0);
}

#[test]
fn insufficient_funds_is_p0001_and_executes_nothing() {
    let inv = invoker(test_limits(), &["bank"]);
    let bank = Bank::with(&[(1, 50), (2, 100)]);
    let args = [Value::Int8(1), Value::Int8(2), Value::Int8(120)];
    let err = inv
        .call_procedure(&bank.ctx(), RoutineRef::new("bank", "transfer"), &args)
        .unwrap_err();
    assert_eq!(err.code.as_str(), "P0001");
    assert_eq!(err.message, "insufficient funds");
    assert!(err.detail.unwrap().contains("has 50"));
    assert!(bank.executed.lock().unwrap().is_empty());
    assert_eq!((bank.balance(1), bank.balance(2)), (50, 100));
    assert_eq!(inv.stats("bank", "transfer").unwrap().errors, 1);
}

#[test]
fn statement_returns_the_account_rows() {
    let inv = invoker(test_limits(), &["bank"]);
    let bank = Bank::with(&[(7, 42)]);
    let rs = inv
        .call_procedure(
            &bank.ctx(),
            RoutineRef::new("bank", "statement"),
            &[Value::Int8(7)],
        )
        .unwrap();
    let names: Vec<_> = rs.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "balance"]);
    assert_eq!(rs.columns[1].data_type, DataType::Int8);
    assert_eq!(rs.rows.len(), 1);
    assert_eq!(rs.rows[0][1].to_pg_text().as_deref(), Some("42"));
}

#[test]
fn scalar_functions_run_over_a_batch_and_honour_strict() {
    let inv = invoker(test_limits(), &["bank"]);
    let bank = Bank::with(&[]);
    let rows = vec![
        vec![Value::Int8(10_000), Value::Int8(250)],
        vec![Value::Null, Value::Int8(250)],
        vec![Value::Int4(400), Value::Int8(500)],
    ];
    let out = inv
        .call_scalar(&bank.ctx(), RoutineRef::new("bank", "interest"), &rows)
        .unwrap();
    let text: Vec<_> = out.iter().map(|v| v.to_string()).collect();
    assert_eq!(text, ["250", "NULL", "20"]);

    let overflow = vec![vec![Value::Int8(i64::MAX), Value::Int8(2)]];
    let err = inv
        .call_scalar(&bank.ctx(), RoutineRef::new("bank", "interest"), &overflow)
        .unwrap_err();
    assert_eq!(err.code.as_str(), "22003");
}

#[test]
fn describe_is_generated_from_the_rust_signatures() {
    let inv = invoker(test_limits(), &["bank"]);
    let routines = inv.describe("bank").unwrap();
    let transfer = routines.iter().find(|r| r.name == "transfer").unwrap();
    assert_eq!(transfer.kind, RoutineKind::Procedure);
    let params: Vec<_> = transfer
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.data_type))
        .collect();
    assert_eq!(
        params,
        [
            ("src", DataType::Int8),
            ("dst", DataType::Int8),
            ("amount", DataType::Int8)
        ]
    );
    let interest = routines.iter().find(|r| r.name == "interest").unwrap();
    assert_eq!(interest.kind, RoutineKind::Scalar);
    assert_eq!(interest.volatility, Volatility::Immutable);
    assert!(interest.strict);
    assert_eq!(interest.returns[0].data_type, DataType::Int8);
    assert_eq!(routines.len(), 3);
}

#[test]
fn unknown_modules_and_routines_are_42883() {
    let inv = invoker(test_limits(), &["bank"]);
    let bank = Bank::with(&[]);
    assert_eq!(
        call(&inv, &bank, "nope", "transfer", &[]),
        Err(ErrorCode::UNDEFINED_FUNCTION)
    );
    assert_eq!(
        call(&inv, &bank, "bank", "nope", &[]),
        Err(ErrorCode::UNDEFINED_FUNCTION)
    );
    // `interest` is a function, not a procedure.
    assert_eq!(
        call(&inv, &bank, "bank", "interest", &[]),
        Err(ErrorCode::UNDEFINED_FUNCTION)
    );
}

#[test]
fn spin_runs_out_of_fuel_then_the_next_call_works() {
    let limits = Limits {
        fuel_per_call: 20_000_000,
        time_per_call: Duration::from_secs(60),
        ..test_limits()
    };
    let inv = invoker(limits, &["hostile"]);
    let bank = Bank::with(&[]);
    let started = Instant::now();
    let err = inv
        .call_procedure(&bank.ctx(), RoutineRef::new("hostile", "spin"), &[])
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::PROGRAM_LIMIT_EXCEEDED);
    assert!(
        err.message.contains("fuel limit of 20000000"),
        "{}",
        err.message
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let stats = inv.stats("hostile", "spin").unwrap();
    assert_eq!(stats.traps, 1);
    assert_eq!(stats.fuel, 20_000_000);
    still_works(&inv);
}

/// The test limits with fuel out of reach, for tests where only a deadline
/// or a cancel may stop `spin`: an idle machine burns the default billion
/// units of fuel in well under 100 ms.
fn unmetered_limits() -> Limits {
    Limits {
        fuel_per_call: u64::MAX / 2,
        ..test_limits()
    }
}

#[test]
fn spin_hits_a_short_deadline_as_57014() {
    let inv = invoker(unmetered_limits(), &["hostile"]);
    let bank = Bank::with(&[]);
    let mut ctx = bank.ctx();
    ctx.limits = CallLimits {
        time: Some(Duration::from_millis(100)),
        ..CallLimits::default()
    };
    let started = Instant::now();
    let err = inv
        .call_procedure(&ctx, RoutineRef::new("hostile", "spin"), &[])
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.code, ErrorCode::QUERY_CANCELED);
    assert!(err.message.contains("time limit"), "{}", err.message);
    assert!(
        took >= Duration::from_millis(100) && took < Duration::from_secs(2),
        "{took:?}"
    );
    still_works(&inv);
}

#[test]
fn a_sleeping_guest_is_woken_at_its_deadline() {
    let inv = invoker(test_limits(), &["hostile"]);
    let bank = Bank::with(&[]);
    let mut ctx = bank.ctx();
    ctx.limits.time = Some(Duration::from_millis(200));
    let started = Instant::now();
    let err = inv
        .call_procedure(&ctx, RoutineRef::new("hostile", "sleepy"), &[])
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.code, ErrorCode::QUERY_CANCELED, "{}", err.message);
    assert!(took < Duration::from_secs(2), "{took:?}");
    still_works(&inv);
}

#[test]
fn a_cancel_request_stops_a_running_call() {
    let inv = invoker(unmetered_limits(), &["hostile"]);
    let bank = Bank::with(&[]);
    let ctx = bank.ctx();
    let cancel = Arc::clone(&ctx.cancel);
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        cancel.store(true, Ordering::Relaxed);
    });
    let err = inv
        .call_procedure(&ctx, RoutineRef::new("hostile", "spin"), &[])
        .unwrap_err();
    canceller.join().unwrap();
    assert_eq!(err.code, ErrorCode::QUERY_CANCELED);
    assert!(err.message.contains("user request"), "{}", err.message);
    still_works(&inv);
}

#[test]
fn hog_stops_at_its_memory_cap() {
    let limits = Limits {
        memory_per_instance: 16 << 20,
        ..test_limits()
    };
    let inv = invoker(limits, &["hostile"]);
    let bank = Bank::with(&[]);
    let err = inv
        .call_procedure(&bank.ctx(), RoutineRef::new("hostile", "hog"), &[])
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::OUT_OF_MEMORY);
    assert!(err.message.contains("16777216"), "{}", err.message);
    assert!(inv.stats("hostile", "hog").unwrap().peak_memory <= 16 << 20);

    // A resource group may tighten the cap further.
    let mut ctx = bank.ctx();
    ctx.limits.memory = Some(4 << 20);
    let err = inv
        .call_procedure(&ctx, RoutineRef::new("hostile", "hog"), &[])
        .unwrap_err();
    assert!(err.message.contains("4194304"), "{}", err.message);
    still_works(&inv);
}

#[test]
fn deep_recursion_is_a_stack_overflow_54001() {
    let inv = invoker(test_limits(), &["hostile"]);
    let bank = Bank::with(&[]);
    assert_eq!(
        call(
            &inv,
            &bank,
            "hostile",
            "recurse",
            &[Value::Int8(10_000_000)]
        ),
        Err(ErrorCode::STATEMENT_TOO_COMPLEX)
    );
    call(&inv, &bank, "hostile", "recurse", &[Value::Int8(100)]).unwrap();
}

#[test]
fn a_panic_is_a_trap_38000() {
    let inv = invoker(test_limits(), &["hostile"]);
    let bank = Bank::with(&[]);
    assert_eq!(
        call(&inv, &bank, "hostile", "boom", &[]),
        Err(ErrorCode::EXTERNAL_ROUTINE_EXCEPTION)
    );
    still_works(&inv);
}

#[test]
fn output_becomes_notices_capped_per_call() {
    let limits = Limits {
        output_per_call: 1000,
        ..test_limits()
    };
    let inv = invoker(limits, &["hostile"]);
    let bank = Bank::with(&[]);
    call(&inv, &bank, "hostile", "chatty", &[Value::Int8(2)]).unwrap();
    {
        let notices = bank.notices.lock().unwrap();
        assert_eq!(notices[0].message, "line 0\nline 1");
        assert_eq!(notices[0].level, NoticeLevel::Notice);
        assert_eq!(notices[1].message, "done");
        assert_eq!(notices.len(), 2);
    }
    let bank = Bank::with(&[]);
    call(&inv, &bank, "hostile", "chatty", &[Value::Int8(100_000)]).unwrap();
    let notices = bank.notices.lock().unwrap();
    let kept: usize = notices.iter().map(|n| n.message.len()).sum();
    assert!(kept < 1100, "{kept}");
    assert!(notices.last().unwrap().message.contains("truncated"));
}

#[test]
fn a_forbidden_import_is_refused_with_42p17() {
    let registry = registry(test_limits());
    let err = registry
        .deploy("evil", &component("forbidden"), false)
        .unwrap_err();
    assert!(
        matches!(&err, DeployError::ForbiddenImport { import, .. } if import.starts_with("acme:net/raw")),
        "{err}"
    );
    assert_eq!(err.code(), ErrorCode::INVALID_OBJECT_DEFINITION);
    assert!(registry.get("evil").is_none());

    let err = registry
        .deploy("junk", b"\0asm not really", false)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::INVALID_OBJECT_DEFINITION);
}

#[test]
fn names_are_not_replaced_without_or_replace() {
    let registry = registry(test_limits());
    registry.deploy("b", &component("bank"), false).unwrap();
    let err = registry.deploy("b", &component("bank"), false).unwrap_err();
    assert_eq!(err.code().as_str(), "42710");
    registry.drop_module("b").unwrap();
    assert_eq!(
        registry.drop_module("b").unwrap_err().code(),
        ErrorCode::UNDEFINED_FUNCTION
    );
}

#[test]
fn the_artifact_cache_skips_compilation_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = component("bank");

    let first = ModuleRegistry::open(test_limits(), dir.path()).unwrap();
    let started = Instant::now();
    first.deploy("bank", &bytes, false).unwrap();
    let cold = started.elapsed();
    assert_eq!(first.compilations(), 1);
    drop(first);

    let second = ModuleRegistry::open(test_limits(), dir.path()).unwrap();
    let started = Instant::now();
    second.deploy("bank", &bytes, false).unwrap();
    let warm = started.elapsed();
    assert_eq!(second.compilations(), 0);
    println!("deploy bank: compile {cold:?}, from cache {warm:?}");
    assert!(
        warm < cold,
        "cached deploy {warm:?} not faster than compiling {cold:?}"
    );

    // A damaged artifact is detected and recompiled, never loaded.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let mut data = std::fs::read(&path).unwrap();
        let mid = data.len() / 2;
        data[mid] ^= 0xff;
        std::fs::write(&path, data).unwrap();
    }
    let third = ModuleRegistry::open(test_limits(), dir.path()).unwrap();
    third.deploy("bank", &bytes, false).unwrap();
    assert_eq!(third.compilations(), 1);
}

#[test]
fn a_replaced_module_serves_new_calls_while_an_old_call_finishes() {
    let registry = registry(test_limits());
    registry.deploy("m", &component("hostile"), false).unwrap();
    let inv = Arc::new(WasmInvoker::new(Arc::clone(&registry)));
    let old_version = registry.get("m").unwrap().version();

    let in_flight = {
        let inv = Arc::clone(&inv);
        std::thread::spawn(move || {
            let bank = Bank::with(&[]);
            let args = [Value::Int8(60_000_000)];
            inv.call_procedure(&bank.ctx(), RoutineRef::new("m", "busy"), &args)
        })
    };
    std::thread::sleep(Duration::from_millis(30));
    registry.deploy("m", &component("bank"), true).unwrap();
    assert!(registry.get("m").unwrap().version() > old_version);

    let bank = Bank::with(&[(3, 9)]);
    let rs = inv
        .call_procedure(
            &bank.ctx(),
            RoutineRef::new("m", "statement"),
            &[Value::Int8(3)],
        )
        .unwrap();
    assert_eq!(rs.rows.len(), 1);
    let old = in_flight.join().unwrap().unwrap();
    assert!(
        !in_flight_finished_early(&inv),
        "the busy call should have overlapped the replace"
    );
    assert_eq!(old.rows[0][0].to_string(), "hostile");
    // The new version has no `busy`.
    assert_eq!(
        call(&inv, &bank, "m", "busy", &[Value::Int8(1)]),
        Err(ErrorCode::UNDEFINED_FUNCTION)
    );
}

/// Whether the long call was already over when the replacement's first call
/// ended: its recorded time must exceed the sleep before the replace.
fn in_flight_finished_early(inv: &WasmInvoker) -> bool {
    inv.stats("m", "busy").unwrap().time < Duration::from_millis(30)
}
