//! The attribute macros of `rustydb-sdk`, used as `#[rustydb::procedure]`,
//! `#[rustydb::function]`, `#[rustydb::trigger]`, `#[rustydb::aggregate]`,
//! `#[rustydb::table_function]`, `#[rustydb::model]`,
//! `#[derive(rustydb::TableRow)]` and `rustydb::export!`.
//!
//! Each attribute leaves the user's function as written and adds, beside it,
//! a hidden `const` describing it: its SQL name, argument names and types,
//! result type, volatility and strictness, and an entry point that converts
//! a row of SQL values into the Rust arguments. `export!` gathers those
//! constants into the module's routine table and implements the WIT
//! exports over it, so the description `CREATE MODULE` reads can never
//! drift from the code. The expansions name the SDK as `::rustydb`.

use proc_macro::TokenStream;

mod aggregate;
mod columnar;
mod export;
mod function;
mod model;
mod options;
mod sig;
mod table;
mod trigger;

use function::Kind;

fn finish(result: syn::Result<proc_macro2::TokenStream>) -> TokenStream {
    result.unwrap_or_else(syn::Error::into_compile_error).into()
}

/// A stored procedure: `CALL module.name(args)`.
///
/// The function takes arguments of SQL types (`i64`, `String`, `Option<T>`
/// for nullable ones, …) and returns `()`, [`Rows`](rustydb::Rows) to send
/// rows to the client, or a `Result` of either with a `SqlError`.
#[proc_macro_attribute]
pub fn procedure(attr: TokenStream, item: TokenStream) -> TokenStream {
    finish(function::expand(Kind::Procedure, attr.into(), item.into()))
}

/// A scalar function. Options: `immutable`, `stable` or `volatile` (the
/// default, as in PostgreSQL), and `strict` (NULL in any argument gives NULL
/// without calling the function). The host calls it in batches of rows;
/// the batch loops are generated, for a function of `i64`, `i32`, `f64`
/// and `bool` alone (result too, or a `Result` of one) a typed loop over
/// the batch's columns.
#[proc_macro_attribute]
pub fn function(attr: TokenStream, item: TokenStream) -> TokenStream {
    finish(function::expand(Kind::Function, attr.into(), item.into()))
}

/// A trigger function: `fn f(tg: rustydb::Trigger) -> …` returning a
/// [`TriggerAction`](rustydb::TriggerAction), `()` (keep the row), or a
/// `Result` of either. Bind it with `CREATE TRIGGER … EXECUTE FUNCTION
/// module.f(args)`. With `rows = g`, `fn g(tg: &rustydb::Trigger, events:
/// Vec<rustydb::RowEvent>) -> Result<(), SqlError>` takes a batch of AFTER
/// ROW events in one call instead of the function once per event.
#[proc_macro_attribute]
pub fn trigger(attr: TokenStream, item: TokenStream) -> TokenStream {
    finish(trigger::expand(attr.into(), item.into()))
}

/// An aggregate, on the `impl` block of its state type:
///
/// ```ignore
/// #[rustydb::aggregate(immutable, strict)]
/// impl Total {
///     fn accumulate(&mut self, x: i64) { self.sum += x }   // or -> Result<(), SqlError>
///     fn merge(&mut self, other: Total) { self.sum += other.sum }
///     fn finish(self) -> i64 { self.sum }                   // any scalar result
/// }
/// ```
///
/// The empty state is `Default::default()`, or `fn init() -> Self` when the
/// block has one. The state crosses the boundary through serde
/// (MessagePack), or with `state = bytes` through
/// [`BytesState`](rustydb::BytesState). `accumulate`'s arguments are the
/// aggregate's; with `strict`, rows with a NULL argument are skipped. The
/// SQL name is the type's in snake case, or `name = "…"`. The batch loop,
/// `merge` and `finish` entry points and the description are generated.
#[proc_macro_attribute]
pub fn aggregate(attr: TokenStream, item: TokenStream) -> TokenStream {
    finish(aggregate::expand(attr.into(), item.into()))
}

/// A table function (`SELECT * FROM module.f(args)`): returns a `Vec` or an
/// `impl Iterator` of rows (or a `Result` of either). A row is a tuple
/// (name its columns with `columns(a, b)`), one SQL value (one column named
/// after the function) or a `#[derive(rustydb::TableRow)]` struct. Options as
/// for functions; `strict` gives no rows for a NULL argument.
#[proc_macro_attribute]
pub fn table_function(attr: TokenStream, item: TokenStream) -> TokenStream {
    finish(table::expand(attr.into(), item.into()))
}

/// A model, on the `impl` block of its type:
///
/// ```ignore
/// #[rustydb::model(name = "score")]
/// impl Linear {
///     fn load(params: &[u8]) -> Result<Linear, SqlError> { … }
///     fn score(&self, x: f64, y: f64) -> f64 { … }
/// }
/// ```
///
/// `load` parses the bytes of `CREATE MODEL … PARAMETERS` once per instance
/// (loading the same bytes again is a no-op); `score`'s arguments are the
/// features, and the batch loop is generated.
#[proc_macro_attribute]
pub fn model(attr: TokenStream, item: TokenStream) -> TokenStream {
    finish(model::expand(attr.into(), item.into()))
}

/// A struct with named fields of SQL types as a table function's row: one
/// column per field, named after it.
#[proc_macro_derive(TableRow)]
pub fn derive_table_row(item: TokenStream) -> TokenStream {
    finish(table::derive_row(item.into()))
}

/// Exports the listed routines (`export!(transfer, statement)`) as the
/// module's WIT exports. Use once per module crate.
#[proc_macro]
pub fn export(input: TokenStream) -> TokenStream {
    finish(export::expand(input.into()))
}
