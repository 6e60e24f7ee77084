//! One call: a fresh store and instance under the call's limits.
//!
//! Every call instantiates the module anew from its `InstancePre` (a pooled
//! slot, copy-on-write memory: microseconds) rather than reusing a warm
//! instance. That is what makes failures harmless — a trapped instance is
//! poisoned and simply dropped with its store — and what keeps calls from
//! seeing each other's memory, which matters once two tenants' sessions call
//! the same module.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use rustydb_engine::extension::{CallLimits, ExtensionError, HostSql, Notice};
use wasmtime::component::{Instance, ResourceTable};
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;

use crate::error::call_failure;
use crate::host_api::CallState;
use crate::limits::{CallBudget, Limiter};
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
    let output = Output::new(budget.output);
    let mut store = new_store(runtime, &budget, &output, sql, cancel);

    let result = module
        .pre
        .instantiate(&mut store)
        .and_then(|instance| body(&mut store, &instance, &module.exports));

    let fuel_left = store.get_fuel().unwrap_or(0);
    let usage = CallUsage {
        fuel: budget.fuel.saturating_sub(fuel_left),
        time: started.elapsed(),
        peak_memory: store.data().limiter.peak_memory(),
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
        notices: output.take_notices(),
    }
}

pub(crate) fn new_store(
    runtime: &Runtime,
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
        limiter: Limiter::new(&runtime.limits, budget),
        output: output.clone(),
        sql,
        deadline: Instant::now() + budget.time,
        time_limit: budget.time,
        cancel,
    };
    let mut store = Store::new(&runtime.engine, state);
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
