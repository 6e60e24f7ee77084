//! `rustydb-sdk`: write RustyDB procedures and functions in Rust.
//!
//! A module is a crate built for `wasm32-wasip2` as a `cdylib`. Depend on
//! this crate under the name `rustydb` (the macros expand to `::rustydb::…`):
//!
//! ```toml
//! [dependencies]
//! rustydb = { package = "rustydb-sdk", path = "…/sdk-rust" }
//! ```
//!
//! and write plain Rust functions with an attribute each, then list them
//! once with [`export!`]:
//!
//! ```ignore
//! use rustydb::{SqlError, execute};
//!
//! #[rustydb::procedure]
//! fn deposit(id: i64, amount: i64) -> Result<(), SqlError> {
//!     execute("UPDATE accounts SET balance = balance + $1 WHERE id = $2",
//!             &[amount.into(), id.into()])?;
//!     Ok(())
//! }
//!
//! #[rustydb::function(immutable, strict)]
//! fn double(x: i64) -> i64 { x * 2 }
//!
//! rustydb::export!(deposit, double);
//! ```
//!
//! The macros derive everything else from the signatures: the module's
//! `describe` export (names, argument and result types, volatility,
//! strictness — what `CREATE MODULE` registers), argument conversion, and
//! for functions the batch entry points the host calls with many rows at
//! once (as rows of values, and as typed columns: a function of `i64`,
//! `i32`, `f64` and `bool` alone runs in a typed loop over the columns). A
//! routine fails with `Err(SqlError)` and a SQLSTATE of its choice; a panic
//! is a trap, which the host reports as 38000.
//!
//! A trigger function takes the firing's [`Trigger`] (`TG_*`, `OLD`, `NEW`,
//! arguments) and returns a [`TriggerAction`] (or `()`, meaning keep). The
//! host may deliver a statement's AFTER ROW events in batches
//! (`trigger-rows`); the function is still called once per row with that
//! row's `Trigger`, unless it names a batch function with
//! `#[rustydb::trigger(rows = f)]`: `fn f(tg: &Trigger, events:
//! Vec<RowEvent>) -> Result<(), SqlError>` then takes each batch in one
//! call (`tg` carries the names, columns and arguments; each event its
//! operation and rows) and must do for each event what the function does
//! for a row, which [`execute_batch`] makes cheap:
//!
//! ```ignore
//! #[rustydb::trigger]
//! fn no_negative(tg: rustydb::Trigger) -> Result<rustydb::TriggerAction, SqlError> {
//!     match tg.new_value("balance") {
//!         Some(rustydb::Value::Int8(b)) if *b < 0 => Err(SqlError::raise("negative")),
//!         _ => Ok(rustydb::TriggerAction::Keep),
//!     }
//! }
//! ```
//!
//! An aggregate is a state type with `accumulate`, `merge` and `finish`
//! methods; its state crosses the boundary as bytes, through serde
//! (MessagePack) by default or [`BytesState`] with `state = bytes`:
//!
//! ```ignore
//! #[derive(Default, serde::Serialize, serde::Deserialize)]
//! pub struct Total { sum: i64 }
//!
//! #[rustydb::aggregate(immutable, strict)]
//! impl Total {
//!     fn accumulate(&mut self, x: i64) { self.sum += x; }
//!     fn merge(&mut self, other: Total) { self.sum += other.sum; }
//!     fn finish(self) -> i64 { self.sum }
//! }
//! ```
//!
//! A table function returns a `Vec` or an iterator of rows: tuples (name
//! the columns with `columns(…)`), single values, or structs with
//! `#[derive(rustydb::TableRow)]`:
//!
//! ```ignore
//! #[rustydb::table_function(immutable, strict, columns(word, pos))]
//! pub fn words(s: String) -> Vec<(String, i32)> { … }
//! ```
//!
//! A model is loaded once per instance from the bytes of `CREATE MODEL …
//! PARAMETERS` and then scores feature rows in batches:
//!
//! ```ignore
//! #[rustydb::model(name = "score")]
//! impl Linear {
//!     fn load(params: &[u8]) -> Result<Linear, SqlError> { … }
//!     fn score(&self, x: f64, y: f64) -> f64 { self.a * x + self.b * y }
//! }
//! ```
//!
//! Shipped today: `#[procedure]`, `#[function]`, `#[trigger]`,
//! `#[aggregate]`, `#[table_function]` and `#[model]`, covering every
//! routine kind of the WIT contract. An aggregate's or model's SQL name is
//! its type's name in snake case unless `name = "…"` says otherwise;
//! `export!` lists routines by their SQL names.

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "rustydb:extension/extension-columnar",
        pub_export_macro: true,
        export_macro_name: "__export_extension",
        default_bindings_module: "::rustydb::__private::bindings",
    });
}

mod aggregate;
mod columnar;
mod dispatch;
mod model;
mod sql;
mod table;
mod trigger;
mod value;

pub use aggregate::BytesState;
pub use dispatch::RowEvent;
pub use rustydb_sdk_macros::{
    TableRow, aggregate, export, function, model, procedure, table_function, trigger,
};
pub use sql::{Cursor, LogLevel, execute, execute_batch, log, query};
pub use table::TableRow;
pub use trigger::{Level, Operation, Timing, Trigger, TriggerAction, TriggerReturn};
pub use value::{
    Column, DataType, FromValue, Interval, IntoValue, Numeric, Rows, SqlError, SqlType, Value,
};

#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use crate::bindings::__export_extension;
    pub use crate::dispatch::*;
    pub mod columnar {
        pub use crate::columnar::*;
    }
    pub mod aggregate {
        pub use crate::aggregate::*;
    }
    pub mod model {
        pub use crate::model::*;
    }
    pub mod table {
        pub use crate::table::*;
    }
}
