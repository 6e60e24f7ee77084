//! The one wasmtime `Engine` of the process, its linker and its clock.
//!
//! Everything that must be decided once lives here: Cranelift at full
//! optimisation (modules are compiled once and cached, so compile time is
//! paid rarely), fuel metering, epoch interruption driven by a ticker thread,
//! the native stack limit, and a pooling allocator whose slots bound memory,
//! tables and concurrent instances — so a burst of calls can neither exhaust
//! the process's memory nor pay `mmap` per call. The linker offers exactly
//! the contract: WASI 0.2 (with the empty context each call builds) and
//! `rustydb:extension/host`.
//!
//! One WASI function is replaced: a monotonic-clock sleep blocks the thread
//! in host code, where no epoch check runs, so `thread::sleep(1 hour)` would
//! hold the call far past its deadline. Sleeps are cut short at the call's
//! deadline; the guest code that runs next meets the epoch check and stops
//! with 57014.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use wasmtime::StoreContextMut;
use wasmtime::component::{HasSelf, Linker, Resource};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};
use wasmtime_wasi::clocks::WasiClocksView;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock::Host as _;

use crate::bindings::{host, types};
use crate::error::DeployError;
use crate::host_api::CallState;
use crate::limits::Limits;
use crate::pool::Pool;

pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<CallState>,
    pub(crate) limits: Limits,
    pub(crate) pool: Arc<Pool>,
    ticker: Ticker,
}

impl Runtime {
    pub(crate) fn new(limits: Limits) -> Result<Runtime, DeployError> {
        let engine_err = |e: wasmtime::Error| DeployError::Engine(format!("{e:#}"));
        let mut pool = PoolingAllocationConfig::default();
        let per_call = limits.instances_per_call;
        let slots = limits.concurrent_instances;
        let memory = usize::try_from(limits.max_memory_per_instance).unwrap_or(usize::MAX);
        pool.total_component_instances(slots)
            .total_core_instances(slots.saturating_mul(per_call))
            .total_memories(slots.saturating_mul(2))
            .total_tables(slots.saturating_mul(per_call))
            .max_core_instances_per_component(per_call)
            .max_memories_per_component(per_call)
            .max_tables_per_component(per_call)
            .max_memory_size(memory)
            .table_elements(limits.table_elements as usize)
            // A slot is reset when its instance is dropped. By default that
            // is one `madvise` over the whole memory, and the next instance
            // in the slot page-faults every page back in — most of the cost
            // of a short call. Resetting the low megabytes (a Rust guest's
            // data, heap start and stack) with `memset` instead, and only
            // the pages actually touched where the kernel can say which
            // (`PAGEMAP_SCAN`, Linux 6.7), keeps them resident.
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT / 16)
            .pagemap_scan(Enabled::Auto);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .cranelift_opt_level(OptLevel::Speed)
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(limits.max_stack)
            // Instantiation maps the module's initial memory image instead
            // of copying its data segments (the default; relied on here).
            .memory_init_cow(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(engine_err)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_err)?;
        bound_sleeps(&mut linker).map_err(engine_err)?;
        host::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)
            .map_err(engine_err)?;
        types::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)
            .map_err(engine_err)?;

        // Without the ticker no deadline would ever fire: refuse to start.
        let ticker = Ticker::start(engine.clone(), &limits)
            .map_err(|e| DeployError::Engine(format!("cannot start the epoch thread: {e}")))?;
        let pool = Pool::start(engine.clone(), limits.clone())
            .map_err(|e| DeployError::Engine(format!("cannot start the refill thread: {e}")))?;
        Ok(Runtime {
            engine,
            linker,
            limits,
            pool,
            ticker,
        })
    }
}

/// The WASI version whose clock functions are replaced; the linker matches
/// any guest's `wasi:clocks@0.2.x` against it.
const WASI_CLOCKS: &str = "wasi:clocks/monotonic-clock@0.2.12";

fn bound_sleeps(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(WASI_CLOCKS)?;
    clock.func_wrap(
        "subscribe-duration",
        |mut store: StoreContextMut<'_, CallState>, (nanos,): (u64,)| {
            let state = store.data_mut();
            let nanos = nanos.min(state.nanos_to_deadline());
            Ok((state.clocks().subscribe_duration(nanos)?,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |mut store: StoreContextMut<'_, CallState>, (when,): (u64,)| {
            let state = store.data_mut();
            let now = state.clocks().now()?;
            let nanos = when.saturating_sub(now).min(state.nanos_to_deadline());
            let pollable: Resource<DynPollable> = state.clocks().subscribe_duration(nanos)?;
            Ok((pollable,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.pool.stop();
        self.ticker.stop();
    }
}

/// Bytes of each linear memory (and, a sixteenth of it, of each table)
/// reset in place rather than decommitted when a slot is reused.
const KEEP_RESIDENT: usize = 2 << 20;

/// Advances the engine's epoch every `epoch_tick`: each running call's
/// epoch callback then checks its deadline and cancel flag.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine, limits: &Limits) -> std::io::Result<Ticker> {
        let stop = Arc::new(AtomicBool::new(false));
        let tick = limits.epoch_tick;
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("wasm-epoch".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })?;
        Ok(Ticker {
            stop,
            thread: Some(thread),
        })
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
