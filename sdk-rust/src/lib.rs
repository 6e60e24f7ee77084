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
//! for functions the batch entry point the host calls with many rows at
//! once. A routine fails with `Err(SqlError)` and a SQLSTATE of its choice;
//! a panic is a trap, which the host reports as 38000.
//!
//! A trigger function takes the firing's [`Trigger`] (`TG_*`, `OLD`, `NEW`,
//! arguments) and returns a [`TriggerAction`] (or `()`, meaning keep):
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
//! Shipped today: `#[procedure]`, `#[function]` and `#[trigger]`.
//! Aggregates, table functions and models are in the WIT contract and the
//! host, and a module written against the bindings can export them, but
//! their attributes (`#[aggregate]`, `#[model]`) come later; a module built
//! with `export!` answers those interfaces with 42883.

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "rustydb:extension/extension",
        pub_export_macro: true,
        export_macro_name: "__export_extension",
        default_bindings_module: "::rustydb::__private::bindings",
    });
}

mod dispatch;
mod sql;
mod trigger;
mod value;

pub use rustydb_sdk_macros::{export, function, procedure, trigger};
pub use sql::{Cursor, LogLevel, execute, log, query};
pub use trigger::{Level, Operation, Timing, Trigger, TriggerAction, TriggerReturn};
pub use value::{Column, DataType, FromValue, Interval, IntoValue, Rows, SqlError, SqlType, Value};

#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use crate::bindings::__export_extension;
    pub use crate::dispatch::*;
}
