//! SQL: parsing, binding, planning and execution.
//!
//! Follow `SELECT name, count(*) FROM t WHERE a > 1 GROUP BY name` through
//! the layer:
//!
//! 1. [`parser`] turns the text into sqlparser's syntax tree (wrapped in
//!    our [`parser::Statement`], which also has RustyDB's own statements).
//! 2. The binder resolves `t` in the [`Catalog`](crate::catalog::Catalog)
//!    the transaction sees, turns `name` and `a` into column positions with
//!    types, gives the literal `1` the type it is compared with, and finds
//!    `count(*)`. The result is a [`plan::Plan`]: Scan(t, filter `a > 1`)
//!    → Aggregate(group by `name`, `count(*)`) → Project.
//! 3. While binding, a WHERE predicate over one table moves into the scan
//!    (so rows that fail it are dropped as they are decoded), and join
//!    conditions yield the equality keys a hash join uses.
//! 4. The executor builds one streaming operator per node; the scan pages
//!    through the table's key range a chunk at a time, the aggregate
//!    hashes groups, and rows are pulled up to the caller one by one.
//!
//! Expressions carry their types after binding, with implicit casts made
//! explicit, so evaluation ([`expr::eval`]) never decides a type and the
//! errors of type resolution (42883, 42804) come before any row is read.

mod analyze;
pub(crate) mod binder;
mod copy;
mod ddl;
mod dml;
pub mod error;
pub mod exec;
mod explain;
pub mod expr;
mod hooks;
mod index_ddl;
pub mod parser;
pub mod plan;
mod planner;
mod prepared;
mod privilege;
mod resource_group;
mod role;
mod role_membership;
mod role_owned;
mod routine;
mod schema;
mod sequence;
mod sequence_privilege;
mod session;
mod settings;
mod shared_txn;
mod statement;
mod system;
mod timeout;

pub use copy::{CopyFileFormat, CopyInTarget, CopyOptions};
pub use error::{SqlError, SqlResult};
pub use prepared::Prepared;
#[cfg(test)]
mod tests;

pub use session::{
    ColumnDesc, Database, DatabaseOptions, Session, StatementResult, TransactionStatus,
};
