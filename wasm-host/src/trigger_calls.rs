//! Trigger calls sharing one instance for the length of a statement.
//!
//! A row trigger runs once per row, so a fresh instance per call — the rule
//! for every other routine — would make a 100 000-row INSERT instantiate
//! its module 100 000 times. [`StatementCalls`] takes one fresh instance
//! (from the module's warm pool, `pool.rs`) and calls
//! the trigger export again and again, each call with its own fuel and
//! deadline. Isolation still holds where it matters: the instance belongs
//! to one statement of one session and goes with it, and a call that traps
//! poisons it, so nothing runs on a broken instance (the statement fails
//! with that trap anyway).

use std::sync::Arc;

use rustydb_engine::extension::{
    CallContext, ErrorCode, ExtensionError, HostSql, RoutineKind, TriggerCalls, TriggerData,
    TriggerOutcome,
};
use wasmtime::Store;
use wasmtime::component::Instance;

use crate::bindings::trigger;
use crate::call::metered;
use crate::convert::{self, error_from_wit};
use crate::error::call_failure;
use crate::host_api::CallState;
use crate::limits::CallBudget;
use crate::output::Output;
use crate::registry::{Module, ModuleRegistry};
use crate::stats::{Ending, Stats};

/// The live instance of one module for one statement's trigger calls.
pub(crate) struct StatementCalls {
    module: Arc<Module>,
    handle: String,
    stats: Arc<Stats>,
    sql: Arc<dyn HostSql>,
    budget: CallBudget,
    output: Output,
    store: Store<CallState>,
    /// `None` once a call trapped.
    guest: Option<(Instance, trigger::Guest)>,
    /// The last call's data in WIT form: a row trigger's calls differ in
    /// operation and rows only, so names, columns and arguments are
    /// converted once.
    data: Option<trigger::TriggerData>,
}

impl StatementCalls {
    /// Instantiates `module` for `ctx`'s statement.
    pub(crate) fn open(
        registry: &ModuleRegistry,
        stats: Arc<Stats>,
        ctx: &CallContext,
        handle: &str,
    ) -> Result<StatementCalls, ExtensionError> {
        let module = registry.get(handle).ok_or_else(|| {
            ExtensionError::new(
                ErrorCode::UNDEFINED_FUNCTION,
                format!("module \"{handle}\" does not exist"),
            )
        })?;
        let budget = registry.runtime.limits.budget(&ctx.limits);
        let (fresh, guest) = registry
            .runtime
            .pool
            .instance_for_call(
                &module.warm,
                &budget,
                Some(Arc::clone(&ctx.sql)),
                Arc::clone(&ctx.cancel),
            )
            .and_then(|mut fresh| {
                let indices = module.exports.trigger.as_ref().ok_or_else(|| {
                    wasmtime::format_err!("module does not export the trigger interface")
                })?;
                let guest = indices.load(&mut fresh.store, &fresh.instance)?;
                Ok((fresh, guest))
            })
            .map_err(|trap| call_failure(&trap, &budget))?;
        registry.runtime.pool.refill_soon(&module.warm);
        Ok(StatementCalls {
            module,
            handle: handle.to_owned(),
            stats,
            sql: Arc::clone(&ctx.sql),
            budget,
            output: fresh.output,
            store: fresh.store,
            guest: Some((fresh.instance, guest)),
            data: None,
        })
    }
}

impl TriggerCalls for StatementCalls {
    fn call(&mut self, name: &str, data: &TriggerData) -> Result<TriggerOutcome, ExtensionError> {
        if self.module.routine(RoutineKind::Trigger, name).is_none() {
            return Err(ExtensionError::new(
                ErrorCode::UNDEFINED_FUNCTION,
                format!("module has no trigger function \"{name}\""),
            ));
        }
        let Some((_, guest)) = &self.guest else {
            return Err(ExtensionError::new(
                ErrorCode::EXTERNAL_ROUTINE_EXCEPTION,
                "the statement's trigger instance trapped earlier",
            ));
        };
        if !self
            .data
            .as_mut()
            .is_some_and(|w| convert::refresh_trigger_data(w, data))
        {
            self.data = None;
        }
        let wit = self
            .data
            .get_or_insert_with(|| convert::trigger_data_to_wit(data));
        let (result, usage) = metered(&mut self.store, &self.budget, |store| {
            guest.call_call_trigger(store, name, wit)
        });
        let (result, ending) = match result {
            Ok(Ok(r)) => (
                convert::trigger_outcome_from_wit(r, data.columns.len()),
                Ending::Ok,
            ),
            Ok(Err(e)) => (Err(error_from_wit(e)), Ending::Error),
            Err(trap) => {
                self.guest = None;
                (Err(call_failure(&trap, &self.budget)), Ending::Trap)
            }
        };
        for notice in self.output.take_notices() {
            self.sql.notice(notice);
        }
        let ending = match (&result, ending) {
            (Err(_), Ending::Ok) => Ending::Error,
            (_, e) => e,
        };
        self.stats.record(&self.handle, name, usage, ending);
        result
    }
}
