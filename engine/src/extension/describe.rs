//! What a module says about its routines, and what `CREATE MODULE`
//! registers from it.

use crate::types::DataType;

/// The kind of a routine, which decides how it is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoutineKind {
    /// `CALL name(...)`, may return rows.
    Procedure,
    /// A scalar function, called over batches of argument rows.
    Scalar,
    /// An aggregate: init / accumulate / merge / finish over opaque state.
    Aggregate,
    /// A set-returning function used in `FROM`.
    Table,
    /// A trigger function.
    Trigger,
    /// An ML model: parameters loaded once, rows scored in batches.
    Model,
}

/// PostgreSQL's function volatility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Volatility {
    /// Same arguments, same result, no database access.
    Immutable,
    /// Same result within a statement; may read the database.
    Stable,
    /// Anything goes.
    Volatile,
}

/// A named, typed column of a result or argument of a routine.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnDescription {
    /// The column or parameter name (may be empty for an unnamed argument).
    pub name: String,
    /// Its type, without modifiers: a guest sees `text` for `varchar(10)`.
    pub data_type: DataType,
}

impl ColumnDescription {
    /// A column called `name` of type `data_type`.
    pub fn new(name: impl Into<String>, data_type: DataType) -> ColumnDescription {
        ColumnDescription {
            name: name.into(),
            data_type,
        }
    }
}

/// One routine of a module, as the module describes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoutineDescription {
    /// The export name, unique within its kind in the module.
    pub name: String,
    /// How it is called.
    pub kind: RoutineKind,
    /// Its arguments in order.
    pub params: Vec<ColumnDescription>,
    /// Its result: one column for scalars, aggregates and models; the row
    /// shape of a table function or of the rows a procedure returns (empty
    /// when it returns none or decides at run time); empty for triggers.
    pub returns: Vec<ColumnDescription>,
    /// What the planner may assume.
    pub volatility: Volatility,
    /// `STRICT`: NULL in, NULL out, without calling the routine.
    pub strict: bool,
}
