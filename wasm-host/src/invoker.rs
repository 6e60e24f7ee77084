//! [`WasmInvoker`]: the engine's [`RoutineInvoker`] over deployed modules.
//!
//! Each method looks the routine up in the module's description before
//! instantiating anything (an unknown routine costs no instance), runs one
//! call under the caller's limits, forwards what the guest printed to the
//! caller as notices, records the usage, and converts the guest's answer —
//! checking its shape, since a guest may return anything.

use std::sync::Arc;

use rustydb_engine::extension::{
    CallContext, ErrorCode, ExtensionError, LoadedModule, ResultSet, RoutineDescription,
    RoutineInvoker, RoutineKind, RoutineRef, RoutineUsage, Row, StatementCalls, TriggerCalls,
    TriggerData, TriggerOutcome,
};
use rustydb_engine::types::Value;
use sha2::{Digest, Sha256};
use wasmtime::Store;
use wasmtime::component::Instance;

use crate::call::{self, GuestResult, export, kind_name, one_per_row, rows_to_wit};
use crate::columnar;
use crate::convert::{self, error_from_wit};
use crate::host_api::CallState;
use crate::registry::{Exports, Module, ModuleRegistry};
use crate::statement_calls::QueryCalls;
use crate::stats::{RoutineStats, Stats};
use crate::trigger_calls::StatementCalls as TriggerSession;

/// Runs routines of the modules in a [`ModuleRegistry`] and counts their
/// usage.
pub struct WasmInvoker {
    registry: Arc<ModuleRegistry>,
    stats: Arc<Stats>,
}

impl WasmInvoker {
    /// An invoker over `registry`.
    pub fn new(registry: Arc<ModuleRegistry>) -> WasmInvoker {
        WasmInvoker {
            registry,
            stats: Arc::default(),
        }
    }

    /// The registry calls are resolved in.
    pub fn registry(&self) -> &Arc<ModuleRegistry> {
        &self.registry
    }

    /// Usage of one routine since start-up.
    pub fn stats(&self, module: &str, routine: &str) -> Option<RoutineStats> {
        self.stats.get(module, routine)
    }

    /// Usage of every routine called so far: the rows of
    /// `rustydb_stat_wasm` (module, routine, counters).
    pub fn all_stats(&self) -> Vec<(String, String, RoutineStats)> {
        self.stats.all()
    }

    fn module(
        &self,
        routine: RoutineRef<'_>,
        kind: RoutineKind,
    ) -> Result<Arc<Module>, ExtensionError> {
        let module = self.registry.get(routine.module).ok_or_else(|| {
            ExtensionError::new(
                ErrorCode::UNDEFINED_FUNCTION,
                format!("module \"{}\" does not exist", routine.module),
            )
        })?;
        if module.routine(kind, routine.name).is_none() {
            return Err(ExtensionError::new(
                ErrorCode::UNDEFINED_FUNCTION,
                format!(
                    "module \"{}\" has no {} \"{}\"",
                    routine.module,
                    kind_name(kind),
                    routine.name
                ),
            ));
        }
        Ok(module)
    }

    fn invoke<R>(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        kind: RoutineKind,
        body: impl FnOnce(&mut Store<CallState>, &Instance, &Exports) -> GuestResult<R>,
    ) -> Result<R, ExtensionError> {
        let module = self.module(routine, kind)?;
        self.run(ctx, routine, &module, body)
    }

    /// Runs `body` on a fresh instance of `module`, the one `routine` was
    /// looked up in.
    fn run<R>(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        module: &Module,
        body: impl FnOnce(&mut Store<CallState>, &Instance, &Exports) -> GuestResult<R>,
    ) -> Result<R, ExtensionError> {
        let outcome = call::run(
            &self.registry.runtime,
            module,
            Some(Arc::clone(&ctx.sql)),
            &ctx.limits,
            Arc::clone(&ctx.cancel),
            body,
        );
        for notice in outcome.notices {
            ctx.sql.notice(notice);
        }
        self.stats
            .record(routine.module, routine.name, outcome.usage, outcome.ending);
        outcome.result
    }
}

/// The registry name of one version of module `name`: the name and the
/// SHA-256 of its bytes, so two versions never share an entry and replacing
/// one cannot change what a call holding the other runs.
pub fn version_handle(name: &str, bytes: &[u8]) -> String {
    let sha: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{name}@{sha}")
}

impl RoutineInvoker for WasmInvoker {
    fn load_module(&self, name: &str, bytes: &[u8]) -> Result<LoadedModule, ExtensionError> {
        let handle = version_handle(name, bytes);
        let module = match self.registry.get(&handle) {
            Some(module) => module,
            None => self.registry.deploy(&handle, bytes, true).map_err(|e| {
                // The registry knows the version handle; users know the name.
                let mut err = ExtensionError::from(e);
                err.message = err.message.replace(&handle, name);
                err
            })?,
        };
        Ok(LoadedModule {
            handle,
            sha256: module.sha256_hex(),
            routines: module.routines().to_vec(),
        })
    }

    fn is_loaded(&self, handle: &str) -> bool {
        self.registry.get(handle).is_some()
    }

    fn unload_module(&self, handle: &str) {
        // Absent already is fine: unloading is idempotent.
        let _ = self.registry.drop_module(handle);
    }

    fn usage(&self) -> Vec<RoutineUsage> {
        self.all_stats()
            .into_iter()
            .map(|(handle, routine, s)| RoutineUsage {
                module: handle
                    .rsplit_once('@')
                    .map_or_else(|| handle.clone(), |(name, _)| name.to_owned()),
                handle,
                routine,
                calls: s.calls,
                errors: s.errors,
                traps: s.traps,
                fuel: s.fuel,
                time: s.time,
                peak_memory: s.peak_memory,
            })
            .collect()
    }

    fn describe(&self, module: &str) -> Result<Vec<RoutineDescription>, ExtensionError> {
        self.registry
            .get(module)
            .map(|m| m.routines().to_vec())
            .ok_or_else(|| {
                ExtensionError::new(
                    ErrorCode::UNDEFINED_FUNCTION,
                    format!("module \"{module}\" does not exist"),
                )
            })
    }

    fn call_procedure(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        args: &[Value],
    ) -> Result<ResultSet, ExtensionError> {
        let kind = RoutineKind::Procedure;
        let args = convert::row_to_wit(args);
        self.invoke(ctx, routine, kind, |store, instance, exports| {
            let guest = export(&exports.procedure, kind)?.load(&mut *store, instance)?;
            Ok(
                match guest.call_call_procedure(&mut *store, routine.name, &args)? {
                    Ok(rows) => convert::result_set_from_wit(rows),
                    Err(e) => Err(error_from_wit(e)),
                },
            )
        })
    }

    fn call_scalar(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        args: &[Row],
    ) -> Result<Vec<Value>, ExtensionError> {
        // The parameters and the call come from one lookup, so a module
        // replaced meanwhile cannot pair its exports with old parameters.
        let module = self.module(routine, RoutineKind::Scalar)?;
        let params = columnar::params(&module, routine.name);
        self.run(ctx, routine, &module, |store, instance, exports| {
            columnar::call_scalar(store, instance, exports, routine.name, params, args)
        })
    }

    fn aggregate_init(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
    ) -> Result<Vec<u8>, ExtensionError> {
        let kind = RoutineKind::Aggregate;
        self.invoke(ctx, routine, kind, |store, instance, exports| {
            let guest = export(&exports.aggregate, kind)?.load(&mut *store, instance)?;
            Ok(guest
                .call_init(&mut *store, routine.name)?
                .map_err(error_from_wit))
        })
    }

    fn aggregate_accumulate(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        state: &[u8],
        args: &[Row],
    ) -> Result<Vec<u8>, ExtensionError> {
        let kind = RoutineKind::Aggregate;
        let batch = rows_to_wit(args);
        self.invoke(ctx, routine, kind, |store, instance, exports| {
            let guest = export(&exports.aggregate, kind)?.load(&mut *store, instance)?;
            Ok(guest
                .call_accumulate(&mut *store, routine.name, state, &batch)?
                .map_err(error_from_wit))
        })
    }

    fn aggregate_merge(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        left: &[u8],
        right: &[u8],
    ) -> Result<Vec<u8>, ExtensionError> {
        let kind = RoutineKind::Aggregate;
        self.invoke(ctx, routine, kind, |store, instance, exports| {
            let guest = export(&exports.aggregate, kind)?.load(&mut *store, instance)?;
            Ok(guest
                .call_merge(&mut *store, routine.name, left, right)?
                .map_err(error_from_wit))
        })
    }

    fn aggregate_finish(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        state: &[u8],
    ) -> Result<Value, ExtensionError> {
        let kind = RoutineKind::Aggregate;
        self.invoke(ctx, routine, kind, |store, instance, exports| {
            let guest = export(&exports.aggregate, kind)?.load(&mut *store, instance)?;
            Ok(match guest.call_finish(&mut *store, routine.name, state)? {
                Ok(v) => convert::value_from_wit(v),
                Err(e) => Err(error_from_wit(e)),
            })
        })
    }

    fn call_table(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        args: &[Value],
    ) -> Result<Vec<Row>, ExtensionError> {
        let kind = RoutineKind::Table;
        let args = convert::row_to_wit(args);
        self.invoke(ctx, routine, kind, |store, instance, exports| {
            let guest = export(&exports.table, kind)?.load(&mut *store, instance)?;
            Ok(
                match guest.call_call_table(&mut *store, routine.name, &args)? {
                    Ok(rows) => convert::rows_from_wit(rows),
                    Err(e) => Err(error_from_wit(e)),
                },
            )
        })
    }

    fn call_trigger(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        data: &TriggerData,
    ) -> Result<TriggerOutcome, ExtensionError> {
        let kind = RoutineKind::Trigger;
        let wit_data = convert::trigger_data_to_wit(data);
        self.invoke(ctx, routine, kind, |store, instance, exports| {
            let guest = export(&exports.trigger, kind)?.load(&mut *store, instance)?;
            Ok(
                match guest.call_call_trigger(&mut *store, routine.name, &wit_data)? {
                    Ok(r) => convert::trigger_outcome_from_wit(r, data.columns.len()),
                    Err(e) => Err(error_from_wit(e)),
                },
            )
        })
    }

    fn open_trigger_calls(
        &self,
        ctx: &CallContext,
        module: &str,
    ) -> Result<Option<Box<dyn TriggerCalls>>, ExtensionError> {
        let calls = TriggerSession::open(&self.registry, Arc::clone(&self.stats), ctx, module)?;
        Ok(Some(Box::new(calls)))
    }

    fn open_statement_calls(
        &self,
        ctx: &CallContext,
        module: &str,
    ) -> Result<Option<Box<dyn StatementCalls>>, ExtensionError> {
        let calls = QueryCalls::open(&self.registry, Arc::clone(&self.stats), ctx, module)?;
        Ok(Some(Box::new(calls)))
    }

    fn score_model(
        &self,
        ctx: &CallContext,
        routine: RoutineRef<'_>,
        params: &[u8],
        batch: &[Row],
    ) -> Result<Vec<Value>, ExtensionError> {
        let kind = RoutineKind::Model;
        let rows = rows_to_wit(batch);
        self.invoke(ctx, routine, kind, |store, instance, exports| {
            let guest = export(&exports.model, kind)?.load(&mut *store, instance)?;
            if let Err(e) = guest.call_load(&mut *store, routine.name, params)? {
                return Ok(Err(error_from_wit(e)));
            }
            Ok(match guest.call_score(&mut *store, routine.name, &rows)? {
                Ok(values) => convert::values_from_wit(values)
                    .and_then(|v| one_per_row(v, batch.len(), "model")),
                Err(e) => Err(error_from_wit(e)),
            })
        })
    }
}
