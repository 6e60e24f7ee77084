//! Fresh instances made ahead of the calls that use them.
//!
//! Every call runs on an instance nobody has used before — the rule that
//! makes a trap harmless and keeps one caller's memory from the next — so
//! an instance is instantiated, used by exactly one call (or one
//! statement), and dropped. What this module changes is *when* the
//! instantiating happens: each module keeps a few [`Fresh`] instances
//! ready, and a background thread (the refiller) replaces each one taken,
//! so a call usually starts on an instance that already exists and pays
//! only for handing it over. When none is ready the call instantiates one
//! itself, exactly as if there were no pool. A used instance is dropped by
//! the thread that made it: one from the pool goes back to the refiller
//! with the request to replace it, one the call made is dropped by the call
//! (why: [`Pool::retire`]).
//!
//! A fresh instance is made before anyone knows who will call it, so it is
//! made under the host's limits and *without database access*; the caller's
//! SQL, cancel flag, fuel, deadline and memory cap are attached when it is
//! handed over ([`Fresh::hand_over`]). A call that instantiates for itself
//! does the same, so the two paths behave identically: a guest's start-up
//! code never sees the caller's data.
//!
//! Ready instances hold slots of the pooling allocator, which bound how many
//! calls can run at once. So the ready instances of all modules together
//! are capped at a quarter of the slots, the refiller never instantiates
//! into the last quarter, and a call that finds no free slot drops every
//! ready instance and tries again before failing with 53300.
//!
//! The pool is on by default (`Limits::warm_instances` = 2) because, timed
//! alike, it is faster at both p50 and p99: `benches/wasm_call.rs` paces
//! the calls with and without it the same way (an untimed pause before
//! each), and on a busy 2-core machine the pool's p99 was about 60 % of
//! instantiating per call. A call that follows a pause starts with cold
//! caches, and without the pool it then instantiates too; the earlier
//! reading that the refiller raises p99 came from timing pool-on calls
//! after pauses and pool-off calls back to back. Back to back, the pool
//! drains and calls instantiate for themselves, so the two are alike.
//!
//! The allocator decides the back-to-back tail. An instance made by the
//! refiller is used and retired on the caller's thread while the refiller
//! allocates the next one; with glibc's malloc each free of the other
//! thread's memory takes that thread's arena lock, and the pool's
//! back-to-back p99 was 44–64 µs against 17–41 µs without it. The server's
//! allocator is mimalloc (`src/lib.rs`), which frees across threads
//! without a lock: the same binaries A/B, 18 and 30 µs.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rustydb_engine::extension::{CallLimits, ConcurrencyLimit, HostSql};
use wasmtime::component::{Instance, InstancePre};
use wasmtime::{Engine, PoolConcurrencyLimitError, Store};

use crate::call::store_for;
use crate::concurrency::{Gates, Place};
use crate::host_api::CallState;
use crate::limits::{CallBudget, Limits};
use crate::output::Output;

/// An instance no call has touched yet, in its own store.
pub(crate) struct Fresh {
    pub(crate) store: Store<CallState>,
    pub(crate) instance: Instance,
    pub(crate) output: Output,
    /// Made by the refiller (taken from a module's ready instances) rather
    /// than by the call that uses it: it then goes back to the refiller to
    /// be dropped, and otherwise the caller drops it ([`Pool::retire`]).
    from_pool: bool,
}

/// What one instance made by the pool holds while its store lives: its
/// count among the pool's instances, ready or in use (the refiller checks
/// the count so it never takes the slots calls need), and, once a call
/// has it, the call's places in its resource groups (`concurrency.rs`).
pub(crate) struct Live {
    count: Arc<AtomicU32>,
    places: Vec<Place>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Fresh {
    /// Instantiates `pre` in a new store under the host's own limits, with
    /// no database access and a cancel flag nobody holds.
    fn new(pool: &Pool, pre: &InstancePre<CallState>) -> wasmtime::Result<Fresh> {
        let budget = pool.limits.budget(&CallLimits::default());
        let output = Output::new(budget.output);
        let mut store = store_for(
            &pool.engine,
            &pool.limits,
            &budget,
            &output,
            None,
            Arc::new(AtomicBool::new(false)),
        );
        pool.live.fetch_add(1, Ordering::Relaxed);
        store.data_mut().live = Some(Live {
            count: Arc::clone(&pool.live),
            places: Vec::new(),
        });
        let instance = pre.instantiate(&mut store)?;
        Ok(Fresh {
            store,
            instance,
            output,
            from_pool: false,
        })
    }

    /// Gives the instance to one call: its SQL, cancel flag and budget. The
    /// fuel and deadline start now, so neither the instantiation nor the
    /// time the instance waited counts against the call. Fails with the
    /// memory limit when the instance is already larger than the caller's
    /// cap allows, as instantiating it under that cap would have.
    pub(crate) fn hand_over(
        &mut self,
        budget: &CallBudget,
        sql: Option<Arc<dyn HostSql>>,
        cancel: Arc<AtomicBool>,
    ) -> wasmtime::Result<()> {
        let state = self.store.data_mut();
        state.limiter.tighten(budget.memory)?;
        state.sql = sql;
        state.cancel = cancel;
        state.time_limit = budget.time;
        state.deadline = Instant::now() + budget.time;
        // Fuel is enabled for every store of the engine: this cannot fail.
        let _ = self.store.set_fuel(budget.fuel);
        // Relative to the current epoch, which moved while the instance
        // waited.
        self.store.set_epoch_deadline(1);
        Ok(())
    }
}

/// The ready instances of one module version. A module owns it; the
/// refiller only holds a `Weak`, so a replaced or dropped module's ready
/// instances go with the module.
pub(crate) struct Warm {
    pre: InstancePre<CallState>,
    ready: Mutex<Vec<Fresh>>,
    /// Set while a refill of this module is queued or running, so a burst
    /// of calls queues one refill, not one per call.
    refilling: AtomicBool,
    /// The pool's count of ready instances across modules.
    total: Arc<AtomicU32>,
}

impl Warm {
    fn take(&self) -> Option<Fresh> {
        let mut fresh = self.ready.lock().pop()?;
        self.total.fetch_sub(1, Ordering::Relaxed);
        fresh.from_pool = true;
        Some(fresh)
    }

    fn put(&self, fresh: Fresh) {
        self.ready.lock().push(fresh);
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    fn len(&self) -> usize {
        self.ready.lock().len()
    }

    fn clear(&self) {
        let dropped = std::mem::take(&mut *self.ready.lock());
        self.total
            .fetch_sub(count(dropped.len()), Ordering::Relaxed);
    }
}

impl Drop for Warm {
    fn drop(&mut self) {
        self.total
            .fetch_sub(count(self.ready.get_mut().len()), Ordering::Relaxed);
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The warm pools of all modules, and the thread that refills them.
pub(crate) struct Pool {
    engine: Engine,
    limits: Limits,
    /// Ready instances per module (0: no pool, every call instantiates).
    per_module: usize,
    /// Ready instances of all modules together, at most `max_total`.
    ready_total: Arc<AtomicU32>,
    max_total: u32,
    /// Instances of the pool's making alive, ready or in use; the refiller
    /// stops at `max_live`, three quarters of the slots.
    live: Arc<AtomicU32>,
    max_live: u32,
    /// Set while the refiller instantiates (it holds a slot then).
    refilling_now: AtomicBool,
    /// Used instances sent to the refiller and not yet dropped.
    retiring: AtomicU32,
    max_retiring: u32,
    /// Every module's pool, to free slots when a call finds none.
    all: Mutex<Vec<Weak<Warm>>>,
    /// The calls running under each resource group that caps them.
    gates: Gates,
    requests: Mutex<Option<Sender<Request>>>,
    refiller: Mutex<Option<JoinHandle<()>>>,
}

impl Pool {
    /// A pool over `engine` under `limits`, with its refiller thread.
    pub(crate) fn start(engine: Engine, limits: Limits) -> std::io::Result<Arc<Pool>> {
        let per_module = limits.warm_instances as usize;
        let slots = limits.concurrent_instances;
        let (tx, rx) = mpsc::channel();
        let pool = Arc::new(Pool {
            engine,
            per_module,
            ready_total: Arc::default(),
            max_total: slots / 4,
            live: Arc::default(),
            max_live: slots - slots / 4,
            refilling_now: AtomicBool::new(false),
            retiring: AtomicU32::new(0),
            max_retiring: (slots / 8).max(1),
            all: Mutex::new(Vec::new()),
            gates: Gates::default(),
            requests: Mutex::new(Some(tx)),
            refiller: Mutex::new(None),
            limits,
        });
        // Even with no pool the thread drops used instances off the calls'
        // path. It holds only a `Weak` to the pool, and ends when `stop`
        // drops the sender.
        let weak = Arc::downgrade(&pool);
        let thread = std::thread::Builder::new()
            .name("wasm-refill".to_owned())
            .spawn(move || {
                yield_to_calls();
                refill_loop(&weak, &rx)
            })?;
        *pool.refiller.lock() = Some(thread);
        Ok(pool)
    }

    /// The (empty) warm pool of a newly deployed module.
    pub(crate) fn warm_for(&self, pre: &InstancePre<CallState>) -> Arc<Warm> {
        let warm = Arc::new(Warm {
            pre: pre.clone(),
            ready: Mutex::new(Vec::new()),
            refilling: AtomicBool::new(false),
            total: Arc::clone(&self.ready_total),
        });
        let mut all = self.all.lock();
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&warm));
        warm
    }

    /// A fresh instance of `warm`'s module handed over to one call: a ready
    /// one if there is one, otherwise one instantiated now. The call first
    /// takes its places in the resource groups that cap concurrent calls
    /// (`concurrency`), waiting at most its time limit; the instance holds
    /// them until its store is dropped. Give it back with [`Pool::retire`].
    ///
    /// # Errors
    /// A group stayed full (53300) or the statement was cancelled while
    /// waiting (57014); the instance could not be made or handed over.
    pub(crate) fn instance_for_call(
        &self,
        warm: &Arc<Warm>,
        budget: &CallBudget,
        concurrency: &[ConcurrencyLimit],
        sql: Option<Arc<dyn HostSql>>,
        cancel: Arc<AtomicBool>,
    ) -> wasmtime::Result<Fresh> {
        let places = self
            .gates
            .enter(concurrency, &cancel, budget.time)
            .map_err(wasmtime::Error::new)?;
        let mut fresh = match warm.take() {
            Some(fresh) => fresh,
            None => self.instantiate_now(&warm.pre)?,
        };
        if let Err(e) = fresh.hand_over(budget, sql, cancel) {
            self.retire(fresh, warm);
            return Err(e);
        }
        if let Some(live) = fresh.store.data_mut().live.as_mut() {
            live.places = places;
        }
        Ok(fresh)
    }

    /// Ends a call's use of its instance, and asks the refiller for a new
    /// one when the module's ready instances are short.
    ///
    /// An instance is dropped by the thread that made it. One from the pool
    /// goes back to the refiller (the request that refills the pool carries
    /// it), so its store's allocations are freed where they were made. One
    /// the call instantiated itself — the pool was empty, the caller is
    /// outrunning the refiller — is dropped here. Handing those over too
    /// cost more than dropping them: each hand-over wakes the refiller
    /// (a futex wake and, on an idle core, an inter-processor interrupt),
    /// and the refiller then frees on one core what the caller allocated on
    /// the other, so every `malloc` and `free` of the next instantiation
    /// meets the other thread in the allocator. Back to back on 2 cores,
    /// handing them over made calls slower, not faster: on a quiet machine,
    /// where the refiller kept up with the drops, pool-off calls took 29 µs
    /// at p50; on a loaded one, where it starved and the calls dropped their
    /// own, 12 µs.
    ///
    /// At most `max_retiring` used instances wait for the refiller; past
    /// that the caller drops its own, so a burst of calls cannot fill the
    /// slots with instances waiting to be dropped.
    pub(crate) fn retire(&self, used: Fresh, warm: &Arc<Warm>) {
        let Fresh {
            store: mut used,
            from_pool,
            ..
        } = used;
        // What reaches the caller's session (its SQL handle, cursors over
        // it) goes now, on the caller's thread: the refiller drops the rest
        // whenever it next runs, and must not be what keeps a closed
        // database open meanwhile.
        let state = used.data_mut();
        state.sql = None;
        drop(std::mem::take(&mut state.table));
        if from_pool && self.reserve_retiring() {
            self.send(Some(used), warm);
        } else {
            drop(used);
            self.send(None, warm);
        }
    }

    /// Counts one more used instance waiting for the refiller, unless
    /// `max_retiring` already do.
    fn reserve_retiring(&self) -> bool {
        if self.retiring.fetch_add(1, Ordering::AcqRel) < self.max_retiring {
            return true;
        }
        self.retiring.fetch_sub(1, Ordering::AcqRel);
        false
    }

    /// Queues a refill of `warm` now, for an instance that will live long
    /// (a statement's) and be dropped where it is.
    pub(crate) fn refill_soon(&self, warm: &Arc<Warm>) {
        self.send(None, warm);
    }

    fn send(&self, used: Option<Store<CallState>>, warm: &Arc<Warm>) {
        let wanted = self.per_module > 0
            && self.max_total > 0
            && !warm.refilling.swap(true, Ordering::AcqRel);
        if used.is_none() && !wanted {
            // Nothing for the refiller: do not wake it.
            return;
        }
        let request = Request {
            used,
            refill: wanted.then(|| Arc::downgrade(warm)),
        };
        let unsent = match self.requests.lock().as_ref() {
            Some(tx) => tx.send(request).err().map(|e| e.0),
            None => Some(request),
        };
        if let Some(request) = unsent {
            // The refiller has stopped: drop it here.
            if request.used.is_some() {
                self.retiring.fetch_sub(1, Ordering::AcqRel);
            }
            drop(request.used);
            if request.refill.is_some() {
                warm.refilling.store(false, Ordering::Release);
            }
        }
    }

    fn instantiate_now(&self, pre: &InstancePre<CallState>) -> wasmtime::Result<Fresh> {
        let mut attempts = 0;
        loop {
            match Fresh::new(self, pre) {
                Err(e)
                    if e.is::<PoolConcurrencyLimitError>()
                        && attempts < 3
                        && self.holds_slots() =>
                {
                    // Ready instances are only an optimisation: give their
                    // slots to the call, letting the refiller first finish
                    // the one it is making and drop the used ones queued.
                    // It stops short of the last quarter of the slots, so
                    // it cannot keep taking them.
                    attempts += 1;
                    if self.refilling_now.load(Ordering::Acquire)
                        || self.retiring.load(Ordering::Acquire) > 0
                    {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                    self.clear_all();
                }
                other => return other,
            }
        }
    }

    /// Whether ready instances, one being made or used ones waiting to be
    /// dropped hold slots.
    fn holds_slots(&self) -> bool {
        self.ready_total() > 0
            || self.refilling_now.load(Ordering::Acquire)
            || self.retiring.load(Ordering::Acquire) > 0
    }

    /// Ready instances across all modules.
    pub(crate) fn ready_total(&self) -> u32 {
        self.ready_total.load(Ordering::Relaxed)
    }

    fn clear_all(&self) {
        let all: Vec<Arc<Warm>> = self.all.lock().iter().filter_map(Weak::upgrade).collect();
        for warm in all {
            warm.clear();
        }
    }

    /// Fills `warm` up to the per-module target while the bounds allow.
    fn refill(&self, warm: &Warm) {
        while warm.len() < self.per_module
            && self.ready_total() < self.max_total
            && self.live.load(Ordering::Relaxed) < self.max_live
        {
            self.refilling_now.store(true, Ordering::Release);
            let made = Fresh::new(self, &warm.pre);
            let made_one = match made {
                Ok(fresh) => {
                    warm.put(fresh);
                    true
                }
                // No slot, or the guest's start-up failed: calls will
                // instantiate for themselves (and report the failure).
                Err(_) => false,
            };
            self.refilling_now.store(false, Ordering::Release);
            if !made_one {
                break;
            }
        }
        warm.refilling.store(false, Ordering::Release);
    }

    /// Ends the refiller and drops every ready instance.
    pub(crate) fn stop(&self) {
        drop(self.requests.lock().take());
        if let Some(thread) = self.refiller.lock().take() {
            // The refiller may be the one stopping the pool: a used store it
            // drops can hold the last reference to the runtime (through its
            // caller's session). Joining itself would panic; it ends on its
            // own once the request channel above is closed.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
        self.clear_all();
    }
}

/// What a call leaves to the refiller: its used store, to drop, and the
/// module to refill, unless a refill of it is already queued.
struct Request {
    used: Option<Store<CallState>>,
    refill: Option<Weak<Warm>>,
}

/// Lowers the calling thread to the lowest priority (nice 19). The
/// refiller works for calls to come, never for the one running, yet the
/// call that finds it idle wakes it as it ends: at normal priority the
/// scheduler may run it on the caller's core at once, and the caller then waits while it drops an
/// instance and makes the next — the pool's p99. At nice 19 it never
/// preempts a call; it runs where a core is idle, or in the caller's pauses.
/// On Linux the nice value of `setpriority(PRIO_PROCESS, 0)` is the calling
/// thread's alone. Raising one's own nice value needs no privilege; should
/// it fail anyway, the refiller runs at normal priority, only slower calls.
fn yield_to_calls() {
    if let Err(e) = rustix::process::setpriority_process(None, 19) {
        tracing::debug!("wasm-refill keeps normal priority: {e}");
    }
}

/// How often a busy refiller looks for requests, and how many empty looks
/// make it idle. Calls never wake a busy refiller: waking a thread that
/// sleeps in the channel is a futex call and, for an idle core, an
/// inter-processor interrupt, paid by the call that retires an instance —
/// inside its time. A busy refiller is instead woken by its own timer,
/// off every call's path; only the first call after 100 ms without any
/// wakes it. Timed A/B, alternated on the 2-core VM under a helper's
/// builds (load 1–3): pool-on paced p99 40–51 µs (`interest`) and 32–40
/// µs (`ok`), against 48–60 and 45–56 µs when every retire woke it.
const POLL: Duration = Duration::from_millis(1);
const IDLE_POLLS: u32 = 100;

fn refill_loop(pool: &Weak<Pool>, requests: &Receiver<Request>) {
    let mut empty_polls = 0;
    loop {
        let request = if empty_polls < IDLE_POLLS {
            match requests.try_recv() {
                Ok(request) => request,
                Err(mpsc::TryRecvError::Empty) => {
                    empty_polls += 1;
                    std::thread::sleep(POLL);
                    continue;
                }
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        } else {
            match requests.recv() {
                Ok(request) => request,
                Err(_) => return,
            }
        };
        empty_polls = 0;
        let Some(pool) = pool.upgrade() else {
            continue;
        };
        if let Some(used) = request.used {
            drop(used);
            pool.retiring.fetch_sub(1, Ordering::AcqRel);
        }
        if let Some(warm) = request.refill.as_ref().and_then(Weak::upgrade) {
            pool.refill(&warm);
        }
    }
}
