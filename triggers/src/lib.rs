//! RustyDB's triggers: catalog, DDL and firing semantics following
//! PostgreSQL (issue 7), plugged into the engine's row and statement hooks.
//!
//! The engine knows nothing of triggers. It parses the trigger DDL, and
//! around every write it asks a [`DmlHooks`] what should happen; this crate
//! is that `DmlHooks`:
//!
//! * `catalog.rs` — trigger records in the engine's transactional store
//!   (key range `00 20 <table id>`), cached by catalog version so a write
//!   to a table without triggers costs one map lookup.
//! * `ddl.rs` — `CREATE [OR REPLACE] TRIGGER`, `DROP TRIGGER`, `ALTER
//!   TABLE … {ENABLE | DISABLE} TRIGGER {name | ALL}`.
//! * `fire.rs` — what fires when, in which order, with which rows.
//!
//! Trigger functions are routines of kind `trigger` (a module's
//! `#[rustydb::trigger]` routines, or `CREATE FUNCTION … RETURNS trigger`),
//! called through the engine's [`HookContext`], which runs them in the
//! statement's transaction.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn open(db: rustydb_engine::Database) -> rustydb_engine::Database {
//! db.with_dml_hooks(Arc::new(rustydb_triggers::Triggers::default()))
//! # }
//! ```

mod catalog;
mod ddl;
mod error;
mod fire;

use std::sync::Arc;

use rustydb_engine::catalog::TableDef;
use rustydb_engine::extension::{DmlEvent, DmlHooks, ExtensionError, HookContext, StatementHooks};
use rustydb_engine::sql::parser::TriggerDdl;

pub use catalog::TriggerDef;
pub use error::TriggerError;
pub use fire::MAX_TRIGGER_DEPTH;

/// The trigger machinery of one database.
#[derive(Default)]
pub struct Triggers {
    cache: catalog::TriggerCache,
}

impl Triggers {
    /// The triggers of table `table` as `txn` sees them, in firing (name)
    /// order.
    ///
    /// # Errors
    /// Reading or decoding the records.
    pub fn list(
        txn: &mut dyn rustydb_engine::catalog::KvTxn,
        table: u32,
    ) -> Result<Vec<TriggerDef>, TriggerError> {
        catalog::list(txn, table)
    }
}

impl DmlHooks for Triggers {
    fn statement(
        &self,
        cx: &mut dyn HookContext,
        table: &Arc<TableDef>,
        event: &DmlEvent,
    ) -> Result<Option<Box<dyn StatementHooks>>, ExtensionError> {
        let version = cx.catalog().version;
        let triggers = self.cache.get(cx.txn(), version, table.id)?;
        if triggers.is_empty() {
            return Ok(None);
        }
        Ok(fire::TableFiring::new(cx, table, event, &triggers)?
            .map(|f| Box::new(f) as Box<dyn StatementHooks>))
    }

    fn ddl(&self, cx: &mut dyn HookContext, ddl: &TriggerDdl) -> Result<String, ExtensionError> {
        Ok(ddl::run(cx, ddl)?)
    }

    fn routine_dependents(
        &self,
        cx: &mut dyn HookContext,
        schema: &str,
        name: &str,
        drop: bool,
    ) -> Result<Vec<String>, ExtensionError> {
        Ok(ddl::routine_dependents(cx, schema, name, drop)?)
    }
}
