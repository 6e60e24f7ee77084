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
//!
//! A statement's queued AFTER ROW events go in batches through the
//! module's `trigger-rows` export when it has one: entering the guest and
//! handing it the trigger's names, columns and arguments then happens once
//! per batch instead of once per row. A batch runs under the budget of the
//! calls it replaces together; a module without the export gets one call
//! per event.

use std::sync::Arc;

use rustydb_engine::extension::{
    CallContext, ErrorCode, ExtensionError, HostSql, RoutineKind, RowEvent, TriggerCalls,
    TriggerData, TriggerOutcome,
};
use wasmtime::Store;
use wasmtime::component::Instance;

use crate::bindings::{trigger, trigger_rows, types as wit};
use crate::call::metered;
use crate::convert::{self, error_from_wit};
use crate::error::call_failure;
use crate::host_api::CallState;
use crate::limits::CallBudget;
use crate::output::Output;
use crate::registry::{Module, ModuleRegistry};
use crate::stats::{CallUsage, Ending, Stats};

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
    /// The module's `trigger-rows` export, once a batch needed it.
    batch_guest: Option<trigger_rows::Guest>,
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
                &ctx.limits.concurrency,
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
            batch_guest: None,
            data: None,
        })
    }
}

impl StatementCalls {
    /// The instance and its `trigger` export; refuses a function the
    /// module lacks, or an instance that trapped.
    fn live(&self, name: &str) -> Result<(Instance, trigger::Guest), ExtensionError> {
        if self.module.routine(RoutineKind::Trigger, name).is_none() {
            return Err(ExtensionError::new(
                ErrorCode::UNDEFINED_FUNCTION,
                format!("module has no trigger function \"{name}\""),
            ));
        }
        self.guest.clone().ok_or_else(|| {
            ExtensionError::new(
                ErrorCode::EXTERNAL_ROUTINE_EXCEPTION,
                "the statement's trigger instance trapped earlier",
            )
        })
    }

    /// How a call ended, from what the guest returned; a trap poisons the
    /// instance.
    fn ending<R>(
        &mut self,
        result: wasmtime::Result<Result<R, wit::SqlError>>,
        budget: &CallBudget,
    ) -> (Result<R, ExtensionError>, Ending) {
        match result {
            Ok(Ok(r)) => (Ok(r), Ending::Ok),
            Ok(Err(e)) => (Err(error_from_wit(e)), Ending::Error),
            Err(trap) => {
                self.guest = None;
                (Err(call_failure(&trap, budget)), Ending::Trap)
            }
        }
    }

    /// Passes on the notices the guest printed and counts the call (a
    /// batch is one call into the guest, as a scalar batch is).
    fn record(&mut self, name: &str, usage: CallUsage, ending: Ending) {
        for notice in self.output.take_notices() {
            self.sql.notice(notice);
        }
        self.stats.record(&self.handle, name, usage, ending);
    }

    /// The module's `trigger-rows` export (loaded at the first batch), or
    /// `None` when it has none.
    fn batch_guest(
        &mut self,
        instance: &Instance,
    ) -> wasmtime::Result<Option<trigger_rows::Guest>> {
        if self.batch_guest.is_none()
            && let Some(indices) = &self.module.exports.trigger_rows
        {
            self.batch_guest = Some(indices.load(&mut self.store, instance)?);
        }
        Ok(self.batch_guest.clone())
    }
}

/// `data` in WIT form in `cache`, reusing the last call's names, columns
/// and arguments when it is the same trigger.
fn wit_data<'c>(
    cache: &'c mut Option<trigger::TriggerData>,
    data: &TriggerData,
) -> &'c trigger::TriggerData {
    if !cache
        .as_mut()
        .is_some_and(|w| convert::refresh_trigger_data(w, data))
    {
        *cache = None;
    }
    cache.get_or_insert_with(|| convert::trigger_data_to_wit(data))
}

/// The budget of `calls` calls together: a batch may use the fuel and time
/// that the calls it stands for could have used one by one.
fn budget_of(one: &CallBudget, calls: usize) -> CallBudget {
    let n = u32::try_from(calls).unwrap_or(u32::MAX).max(1);
    CallBudget {
        fuel: one.fuel.saturating_mul(u64::from(n)),
        time: one.time.saturating_mul(n),
        ..*one
    }
}

impl TriggerCalls for StatementCalls {
    fn call(&mut self, name: &str, data: &TriggerData) -> Result<TriggerOutcome, ExtensionError> {
        let (_, guest) = self.live(name)?;
        let wit = wit_data(&mut self.data, data);
        let (result, usage) = metered(&mut self.store, &self.budget, |store| {
            guest.call_call_trigger(store, name, wit)
        });
        let budget = self.budget;
        let (result, ending) = self.ending(result, &budget);
        let result = result.and_then(|r| convert::trigger_outcome_from_wit(r, data.columns.len()));
        let ending = match (&result, ending) {
            (Err(_), Ending::Ok) => Ending::Error,
            (_, e) => e,
        };
        self.record(name, usage, ending);
        result
    }

    fn call_rows(
        &mut self,
        name: &str,
        data: &TriggerData,
        events: Vec<RowEvent>,
    ) -> Result<(), ExtensionError> {
        let (instance, _) = self.live(name)?;
        let batch = match self.batch_guest(&instance) {
            Ok(b) => b,
            Err(trap) => {
                self.guest = None;
                return Err(call_failure(&trap, &self.budget));
            }
        };
        let Some(batch) = batch else {
            // A module built before `trigger-rows`: one call per event.
            let mut one = data.clone();
            for event in events {
                one.set_event(event);
                self.call(name, &one)?;
            }
            return Ok(());
        };
        let budget = budget_of(&self.budget, events.len());
        let wit_events: Vec<_> = events.iter().map(convert::row_event_to_wit).collect();
        let wit = wit_data(&mut self.data, data);
        let (result, usage) = metered(&mut self.store, &budget, |store| {
            batch.call_call_trigger_rows(store, name, wit, &wit_events)
        });
        let (result, ending) = self.ending(result, &budget);
        self.record(name, usage, ending);
        result
    }
}
