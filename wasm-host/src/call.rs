//! One call: a fresh store and instance under the call's limits.
//!
//! Every call runs on an instance no call has used before, in its own store
//! — one the module's warm pool made ahead of time, or one instantiated now
//! from its `InstancePre` (`pool.rs`) — and drops it afterwards rather than
//! reusing it. That is what makes failures harmless — a trapped instance is
//! poisoned and simply dropped with its store — and what keeps calls from
//! seeing each other's memory, which matters once two tenants' sessions call
//! the same module.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use rustydb_engine::extension::{
    CallLimits, ErrorCode, ExtensionError, HostSql, Notice, RoutineKind, Row,
};
use rustydb_engine::types::Value;
use wasmtime::component::{Instance, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;

use crate::error::call_failure;
use crate::host_api::CallState;
use crate::limits::{CallBudget, Limiter, Limits};
use crate::output::Output;
use crate::registry::{Exports, Module};
use crate::runtime::Runtime;
use crate::stats::{CallUsage, Ending};

/// How a call ended, with what it used and printed.
pub(crate) struct Outcome<R> {
    pub(crate) result: Result<R, ExtensionError>,
    pub(crate) ending: Ending,
    pub(crate) usage: CallUsage,
    pub(crate) notices: Vec<Notice>,
}

/// What the body of a call returns: `Err` for a trap or limit (the instance
/// is then dead), `Ok(Err)` for an SQL error the routine returned.
pub(crate) type GuestResult<R> = wasmtime::Result<Result<R, ExtensionError>>;

pub(crate) fn run<R>(
    runtime: &Runtime,
    module: &Module,
    sql: Option<Arc<dyn HostSql>>,
    caller: &CallLimits,
    cancel: Arc<AtomicBool>,
    body: impl FnOnce(&mut Store<CallState>, &Instance, &Exports) -> GuestResult<R>,
) -> Outcome<R> {
    let started = Instant::now();
    let budget = runtime.limits.budget(caller);
    let (result, usage, notices) = match runtime.pool.instance_for_call(
        &module.warm,
        &budget,
        &caller.concurrency,
        sql,
        cancel,
    ) {
        Ok(mut fresh) => {
            let result = body(&mut fresh.store, &fresh.instance, &module.exports);
            let fuel_left = fresh.store.get_fuel().unwrap_or(0);
            let usage = CallUsage {
                fuel: budget.fuel.saturating_sub(fuel_left),
                time: started.elapsed(),
                peak_memory: fresh.store.data().limiter.peak_memory(),
            };
            let notices = fresh.output.take_notices();
            runtime.pool.retire(fresh, &module.warm);
            (result, usage, notices)
        }
        Err(e) => {
            let usage = CallUsage {
                fuel: 0,
                time: started.elapsed(),
                peak_memory: 0,
            };
            (Err(e), usage, Vec::new())
        }
    };
    let (result, ending) = match result {
        Ok(Ok(value)) => (Ok(value), Ending::Ok),
        Ok(Err(e)) => (Err(e), Ending::Error),
        Err(trap) => (Err(call_failure(&trap, &budget)), Ending::Trap),
    };
    Outcome {
        result,
        ending,
        usage,
        notices,
    }
}

/// A store under `budget`: fuel, deadline, memory cap, WASI with nothing
/// but the captured output streams.
pub(crate) fn store_for(
    engine: &Engine,
    limits: &Limits,
    budget: &CallBudget,
    output: &Output,
    sql: Option<Arc<dyn HostSql>>,
    cancel: Arc<AtomicBool>,
) -> Store<CallState> {
    // No preopens, sockets, environment, arguments or stdin: the guest gets
    // only what `wit/` grants.
    let wasi = WasiCtxBuilder::new()
        .stdout(output.stdout())
        .stderr(output.stderr())
        .build();
    let state = CallState {
        wasi,
        table: ResourceTable::new(),
        limiter: Limiter::new(limits, budget),
        output: output.clone(),
        sql,
        deadline: Instant::now() + budget.time,
        time_limit: budget.time,
        cancel,
        live: None,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    // Fuel is always enabled in the engine's config, so this cannot fail.
    let _ = store.set_fuel(budget.fuel);
    // Checked at every tick: the exact deadline and the cancel flag, both
    // read from the store so one callback serves every call.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|ctx| match ctx.data().interrupted() {
        Some(hit) => Err(hit.into()),
        None => Ok(UpdateDeadline::Continue(1)),
    });
    store
}

/// Runs `body` on a statement's long-lived instance under the whole budget
/// again — the fuel and deadline a call on a fresh instance would get — and
/// measures what it used.
pub(crate) fn metered<R>(
    store: &mut Store<CallState>,
    budget: &CallBudget,
    body: impl FnOnce(&mut Store<CallState>) -> R,
) -> (R, CallUsage) {
    let started = Instant::now();
    // Fuel is enabled for every store of the engine, so setting it succeeds.
    let _ = store.set_fuel(budget.fuel);
    store.data_mut().deadline = started + budget.time;
    let result = body(store);
    let fuel_left = store.get_fuel().unwrap_or(0);
    let usage = CallUsage {
        fuel: budget.fuel.saturating_sub(fuel_left),
        time: started.elapsed(),
        peak_memory: store.data().limiter.peak_memory(),
    };
    (result, usage)
}

/// The SQL word for a routine kind, as messages use it.
pub(crate) fn kind_name(kind: RoutineKind) -> &'static str {
    match kind {
        RoutineKind::Procedure => "procedure",
        RoutineKind::Scalar => "function",
        RoutineKind::Aggregate => "aggregate",
        RoutineKind::Table => "table function",
        RoutineKind::Trigger => "trigger function",
        RoutineKind::Model => "model",
    }
}

/// The interface of `kind`, which deploy guaranteed for any described
/// routine; the error is a host bug, so it traps rather than lying.
pub(crate) fn export<T>(indices: &Option<T>, kind: RoutineKind) -> wasmtime::Result<&T> {
    indices.as_ref().ok_or_else(|| {
        wasmtime::format_err!("module does not export the {} interface", kind_name(kind))
    })
}

pub(crate) fn one_per_row(
    values: Vec<Value>,
    rows: usize,
    what: &str,
) -> Result<Vec<Value>, ExtensionError> {
    if values.len() == rows {
        Ok(values)
    } else {
        Err(ExtensionError::new(
            ErrorCode::EXTERNAL_ROUTINE_INVOCATION,
            format!("{what} returned {} values for {rows} rows", values.len()),
        ))
    }
}

pub(crate) fn rows_to_wit(rows: &[Row]) -> Vec<Vec<crate::bindings::types::Value>> {
    rows.iter().map(|r| crate::convert::row_to_wit(r)).collect()
}
