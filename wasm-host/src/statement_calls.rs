//! Function, aggregate, table-function and model calls of one statement
//! into one module, sharing one warm instance.
//!
//! `SELECT geo.haversine(…) FROM t` over a million rows sends about a
//! thousand batches; a fresh instance per batch — the rule for procedures —
//! would spend more on instantiation than on the arithmetic, and a model
//! would parse its parameters a thousand times. [`QueryCalls`] instantiates
//! the module once for the statement, gives every call its own fuel and
//! deadline, loads a model's parameters once per instance (again only if
//! the statement hands different ones), and is poisoned by a trap: nothing
//! runs on a broken instance, and the statement fails with the trap anyway.
//! The instance belongs to one statement of one session and is dropped with
//! it, so no state leaks between statements or tenants.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustydb_engine::extension::{
    CallContext, ErrorCode, ExtensionError, HostSql, RoutineKind, Row, SessionUsage, StatementCalls,
};
use rustydb_engine::types::Value;
use sha2::{Digest, Sha256};
use wasmtime::Store;
use wasmtime::component::Instance;

use crate::call::{GuestResult, export, kind_name, metered, one_per_row, rows_to_wit};
use crate::columnar;
use crate::convert::{self, error_from_wit};
use crate::error::call_failure;
use crate::host_api::CallState;
use crate::limits::CallBudget;
use crate::output::Output;
use crate::registry::{Exports, Module, ModuleRegistry};
use crate::stats::{Ending, Stats};

/// Which parameters a model's instance holds: where the caller's bytes
/// were (the engine hands the same buffer for a whole statement) and their
/// digest, for a caller that copies them.
struct LoadedParams {
    addr: usize,
    len: usize,
    sha256: [u8; 32],
}

/// The live instance of one module for one statement's query calls.
pub(crate) struct QueryCalls {
    module: Arc<Module>,
    handle: String,
    stats: Arc<Stats>,
    sql: Arc<dyn HostSql>,
    budget: CallBudget,
    output: Output,
    store: Store<CallState>,
    /// `None` once a call trapped.
    instance: Option<Instance>,
    /// Instantiation time, charged to the first call.
    pending_time: Duration,
    models: HashMap<String, LoadedParams>,
    usage: HashMap<String, SessionUsage>,
}

impl QueryCalls {
    /// Instantiates module `handle` for `ctx`'s statement.
    pub(crate) fn open(
        registry: &ModuleRegistry,
        stats: Arc<Stats>,
        ctx: &CallContext,
        handle: &str,
    ) -> Result<QueryCalls, ExtensionError> {
        let started = Instant::now();
        let module = registry.get(handle).ok_or_else(|| {
            ExtensionError::new(
                ErrorCode::UNDEFINED_FUNCTION,
                format!("module \"{handle}\" does not exist"),
            )
        })?;
        let budget = registry.runtime.limits.budget(&ctx.limits);
        let pool = &registry.runtime.pool;
        let fresh = pool
            .instance_for_call(
                &module.warm,
                &budget,
                &ctx.limits.concurrency,
                Some(Arc::clone(&ctx.sql)),
                Arc::clone(&ctx.cancel),
            )
            .map_err(|trap| call_failure(&trap, &budget))?;
        // The instance lives as long as the statement and is dropped where
        // it is: ask for its replacement now.
        pool.refill_soon(&module.warm);
        let (store, instance, output) = (fresh.store, fresh.instance, fresh.output);
        Ok(QueryCalls {
            module,
            handle: handle.to_owned(),
            stats,
            sql: Arc::clone(&ctx.sql),
            budget,
            output,
            store,
            instance: Some(instance),
            pending_time: started.elapsed(),
            models: HashMap::new(),
            usage: HashMap::new(),
        })
    }

    /// One guest call of routine `name` of `kind`, under a fresh budget.
    fn call<R>(
        &mut self,
        kind: RoutineKind,
        name: &str,
        body: impl FnOnce(&mut Store<CallState>, &Instance, &Exports) -> GuestResult<R>,
    ) -> Result<R, ExtensionError> {
        if self.module.routine(kind, name).is_none() {
            return Err(ExtensionError::new(
                ErrorCode::UNDEFINED_FUNCTION,
                format!("module has no {} \"{name}\"", kind_name(kind)),
            ));
        }
        let Some(instance) = self.instance else {
            return Err(ExtensionError::new(
                ErrorCode::EXTERNAL_ROUTINE_EXCEPTION,
                "the statement's instance of this module trapped earlier",
            ));
        };
        let exports = &self.module.exports;
        let (result, mut usage) = metered(&mut self.store, &self.budget, |store| {
            body(store, &instance, exports)
        });
        usage.time += std::mem::take(&mut self.pending_time);
        let (result, ending) = match result {
            Ok(Ok(r)) => (Ok(r), Ending::Ok),
            Ok(Err(e)) => (Err(e), Ending::Error),
            Err(trap) => {
                self.instance = None;
                (Err(call_failure(&trap, &self.budget)), Ending::Trap)
            }
        };
        for notice in self.output.take_notices() {
            self.sql.notice(notice);
        }
        self.stats.record(&self.handle, name, usage, ending);
        let mine = self.usage.entry(name.to_owned()).or_default();
        mine.calls += 1;
        mine.fuel = mine.fuel.saturating_add(usage.fuel);
        mine.peak_memory = mine.peak_memory.max(usage.peak_memory);
        mine.time += usage.time;
        result
    }

    /// Loads `params` into model `name` unless the instance holds them.
    fn ensure_model(&mut self, name: &str, params: &[u8]) -> Result<(), ExtensionError> {
        let (addr, len) = (params.as_ptr() as usize, params.len());
        if let Some(l) = self.models.get(name)
            && l.len == len
            && (l.addr == addr || l.sha256 == digest(params))
        {
            return Ok(());
        }
        self.models.remove(name);
        self.call(RoutineKind::Model, name, |store, instance, exports| {
            let guest = export(&exports.model, RoutineKind::Model)?.load(&mut *store, instance)?;
            Ok(guest
                .call_load(&mut *store, name, params)?
                .map_err(error_from_wit))
        })?;
        self.models.insert(
            name.to_owned(),
            LoadedParams {
                addr,
                len,
                sha256: digest(params),
            },
        );
        Ok(())
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl StatementCalls for QueryCalls {
    fn scalar(&mut self, name: &str, args: &[Row]) -> Result<Vec<Value>, ExtensionError> {
        let module = Arc::clone(&self.module);
        let params = columnar::params(&module, name);
        self.call(RoutineKind::Scalar, name, |store, instance, exports| {
            columnar::call_scalar(store, instance, exports, name, params, args)
        })
    }

    fn score(
        &mut self,
        name: &str,
        params: &[u8],
        batch: &[Row],
    ) -> Result<Vec<Value>, ExtensionError> {
        self.ensure_model(name, params)?;
        let kind = RoutineKind::Model;
        let rows = rows_to_wit(batch);
        self.call(kind, name, |store, instance, exports| {
            let guest = export(&exports.model, kind)?.load(&mut *store, instance)?;
            Ok(match guest.call_score(&mut *store, name, &rows)? {
                Ok(values) => convert::values_from_wit(values)
                    .and_then(|v| one_per_row(v, batch.len(), "model")),
                Err(e) => Err(error_from_wit(e)),
            })
        })
    }

    fn aggregate_init(&mut self, name: &str) -> Result<Vec<u8>, ExtensionError> {
        let kind = RoutineKind::Aggregate;
        self.call(kind, name, |store, instance, exports| {
            let guest = export(&exports.aggregate, kind)?.load(&mut *store, instance)?;
            Ok(guest.call_init(&mut *store, name)?.map_err(error_from_wit))
        })
    }

    fn aggregate_accumulate(
        &mut self,
        name: &str,
        state: &[u8],
        args: &[Row],
    ) -> Result<Vec<u8>, ExtensionError> {
        let kind = RoutineKind::Aggregate;
        let batch = rows_to_wit(args);
        self.call(kind, name, |store, instance, exports| {
            let guest = export(&exports.aggregate, kind)?.load(&mut *store, instance)?;
            Ok(guest
                .call_accumulate(&mut *store, name, state, &batch)?
                .map_err(error_from_wit))
        })
    }

    fn aggregate_merge(
        &mut self,
        name: &str,
        left: &[u8],
        right: &[u8],
    ) -> Result<Vec<u8>, ExtensionError> {
        let kind = RoutineKind::Aggregate;
        self.call(kind, name, |store, instance, exports| {
            let guest = export(&exports.aggregate, kind)?.load(&mut *store, instance)?;
            Ok(guest
                .call_merge(&mut *store, name, left, right)?
                .map_err(error_from_wit))
        })
    }

    fn aggregate_finish(&mut self, name: &str, state: &[u8]) -> Result<Value, ExtensionError> {
        let kind = RoutineKind::Aggregate;
        self.call(kind, name, |store, instance, exports| {
            let guest = export(&exports.aggregate, kind)?.load(&mut *store, instance)?;
            Ok(match guest.call_finish(&mut *store, name, state)? {
                Ok(v) => convert::value_from_wit(v),
                Err(e) => Err(error_from_wit(e)),
            })
        })
    }

    fn table(&mut self, name: &str, args: &[Value]) -> Result<Vec<Row>, ExtensionError> {
        let kind = RoutineKind::Table;
        let args = convert::row_to_wit(args);
        self.call(kind, name, |store, instance, exports| {
            let guest = export(&exports.table, kind)?.load(&mut *store, instance)?;
            Ok(match guest.call_call_table(&mut *store, name, &args)? {
                Ok(rows) => convert::rows_from_wit(rows),
                Err(e) => Err(error_from_wit(e)),
            })
        })
    }

    fn usage(&self, name: &str) -> SessionUsage {
        self.usage.get(name).copied().unwrap_or_default()
    }
}
