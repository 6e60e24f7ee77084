#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

//! The warm pool: instances made ahead of calls are still fresh — nothing
//! one caller leaves in an instance reaches the next — they carry the
//! caller's limits, and they never take the slots concurrent calls need.

mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{Bank, component, registry, test_limits};
use rustydb_engine::extension::{ErrorCode, RoutineInvoker, RoutineRef};
use rustydb_engine::types::Value;
use rustydb_wasm_host::{Limits, ModuleRegistry, WasmInvoker};

/// Waits until the refiller has made `want` instances (it runs in the
/// background, so a test gives it time rather than racing it).
fn wait_until_ready(registry: &ModuleRegistry, want: u32) {
    let until = Instant::now() + Duration::from_secs(20);
    while registry.ready_instances() < want {
        assert!(
            Instant::now() < until,
            "the pool made {} of {want} instances",
            registry.ready_instances()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `remember(note)` counts its calls in a guest static and appends `note`
/// to a guest heap vector, then returns both.
fn remember(inv: &WasmInvoker, note: &str) -> (i64, String) {
    let bank = Bank::with(&[]);
    let rs = inv
        .call_procedure(
            &bank.ctx(),
            RoutineRef::new("hostile", "remember"),
            &[Value::Text(note.into())],
        )
        .unwrap();
    match (&rs.rows[0][0], &rs.rows[0][1]) {
        (Value::Int8(calls), Value::Text(notes)) => (*calls, notes.clone()),
        other => panic!("unexpected row {other:?}"),
    }
}

#[test]
fn a_guest_static_written_by_one_call_is_not_seen_by_the_next() {
    for warm_instances in [2, 0] {
        let registry = registry(Limits {
            warm_instances,
            ..test_limits()
        });
        registry
            .deploy("hostile", &component("hostile"), false)
            .unwrap();
        let inv = WasmInvoker::new(Arc::clone(&registry));
        for (i, note) in ["alice", "bob", "carol", "dave", "erin"].iter().enumerate() {
            if warm_instances > 0 && i % 2 == 0 {
                // Every other call from an instance the pool made ahead.
                wait_until_ready(&registry, warm_instances);
            }
            assert_eq!(
                remember(&inv, note),
                (1, (*note).to_owned()),
                "call {i} with warm_instances = {warm_instances}"
            );
        }
    }
}

#[test]
fn the_pool_refills_after_calls_and_stays_within_its_bounds() {
    let limits = Limits {
        warm_instances: 3,
        concurrent_instances: 8,
        ..test_limits()
    };
    let registry = registry(limits);
    for m in ["hostile", "bank"] {
        registry.deploy(m, &component(m), false).unwrap();
    }
    // Deploying ran `describe`, which queued the first refills; all modules
    // together keep at most a quarter of the 8 slots.
    wait_until_ready(&registry, 2);
    let inv = WasmInvoker::new(Arc::clone(&registry));
    for _ in 0..5 {
        assert_eq!(remember(&inv, "x").0, 1);
    }
    wait_until_ready(&registry, 2);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(registry.ready_instances(), 2);
}

#[test]
fn ready_instances_give_way_to_concurrent_calls() {
    // 8 slots, 2 of them held by ready instances: 8 calls at once still
    // all run, because a call that finds no slot frees the ready ones.
    let limits = Limits {
        concurrent_instances: 8,
        fuel_per_call: u64::MAX / 2,
        time_per_call: Duration::from_secs(60),
        ..test_limits()
    };
    let registry = registry(limits);
    registry
        .deploy("hostile", &component("hostile"), false)
        .unwrap();
    wait_until_ready(&registry, 2);
    let inv = Arc::new(WasmInvoker::new(Arc::clone(&registry)));
    let start = Arc::new(Barrier::new(8));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (inv, start) = (Arc::clone(&inv), Arc::clone(&start));
            std::thread::spawn(move || {
                let bank = Bank::with(&[]);
                start.wait();
                inv.call_procedure(
                    &bank.ctx(),
                    RoutineRef::new("hostile", "busy"),
                    &[Value::Int8(20_000_000)],
                )
                .map(drop)
                .map_err(|e| e.code)
            })
        })
        .collect();
    for call in calls {
        assert_eq!(call.join().unwrap(), Ok(()));
    }
}

#[test]
fn an_instance_from_the_pool_runs_under_the_callers_limits() {
    let registry = registry(Limits {
        memory_per_instance: 16 << 20,
        ..test_limits()
    });
    registry
        .deploy("hostile", &component("hostile"), false)
        .unwrap();
    wait_until_ready(&registry, 2);
    let inv = WasmInvoker::new(Arc::clone(&registry));
    let bank = Bank::with(&[]);
    // Made under the host's 16 MiB cap, handed to a caller with 4 MiB.
    let mut ctx = bank.ctx();
    ctx.limits.memory = Some(4 << 20);
    let err = inv
        .call_procedure(&ctx, RoutineRef::new("hostile", "hog"), &[])
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::OUT_OF_MEMORY);
    assert!(err.message.contains("4194304"), "{}", err.message);

    // And with the caller's fuel, counted from the hand-over.
    wait_until_ready(&registry, 2);
    let mut ctx = bank.ctx();
    ctx.limits.fuel = Some(1_000_000);
    let err = inv
        .call_procedure(&ctx, RoutineRef::new("hostile", "spin"), &[])
        .unwrap_err();
    assert_eq!(
        err.code,
        ErrorCode::PROGRAM_LIMIT_EXCEEDED,
        "{}",
        err.message
    );
    assert_eq!(inv.stats("hostile", "spin").unwrap().fuel, 1_000_000);
}

#[test]
fn a_replaced_module_never_serves_its_old_ready_instances() {
    let registry = registry(test_limits());
    registry.deploy("m", &component("hostile"), false).unwrap();
    wait_until_ready(&registry, 2);
    registry.deploy("m", &component("bank"), true).unwrap();
    let inv = WasmInvoker::new(Arc::clone(&registry));
    let bank = Bank::with(&[(3, 9)]);
    let rs = inv
        .call_procedure(
            &bank.ctx(),
            RoutineRef::new("m", "statement"),
            &[Value::Int8(3)],
        )
        .unwrap();
    assert_eq!(rs.rows, vec![vec![Value::Int8(3), Value::Int8(9)]]);
    assert_eq!(
        inv.call_procedure(&bank.ctx(), RoutineRef::new("m", "ok"), &[])
            .unwrap_err()
            .code,
        ErrorCode::UNDEFINED_FUNCTION
    );
    // The old version's ready instances went with it.
    wait_until_ready(&registry, 2);
    drop(registry.drop_module("m"));
    let until = Instant::now() + Duration::from_secs(20);
    while registry.ready_instances() > 0 {
        assert!(Instant::now() < until, "{}", registry.ready_instances());
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn back_to_back_calls_that_drain_the_pool_still_each_get_a_fresh_instance() {
    // No waiting between calls: the first ones take the pool's instances,
    // the rest outrun the refiller and instantiate for themselves. Both
    // kinds must start from the module's initial state, print only into
    // their own call's output, and run under their own caller's limits.
    let registry = registry(test_limits());
    registry
        .deploy("hostile", &component("hostile"), false)
        .unwrap();
    wait_until_ready(&registry, 2);
    let inv = WasmInvoker::new(Arc::clone(&registry));
    for i in 0..12 {
        let note = format!("caller {i}");
        assert_eq!(remember(&inv, &note), (1, note), "call {i}");

        let bank = Bank::with(&[]);
        inv.call_procedure(
            &bank.ctx(),
            RoutineRef::new("hostile", "chatty"),
            &[Value::Int8(2)],
        )
        .unwrap();
        let printed: Vec<String> = bank
            .notices
            .lock()
            .unwrap()
            .iter()
            .map(|n| n.message.clone())
            .collect();
        assert_eq!(printed, ["line 0\nline 1", "done"], "call {i}");

        let mut ctx = Bank::with(&[]).ctx();
        ctx.limits.fuel = Some(1_000_000);
        let err = inv
            .call_procedure(&ctx, RoutineRef::new("hostile", "spin"), &[])
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::PROGRAM_LIMIT_EXCEEDED, "call {i}");
    }
    assert_eq!(inv.stats("hostile", "spin").unwrap().fuel, 12 * 1_000_000);
    // The instances the calls made themselves are gone with their calls,
    // and the pool is whole again afterwards.
    wait_until_ready(&registry, 2);
}
