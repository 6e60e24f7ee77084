//! What the macros expand to call: the routine table of a module and the
//! entry points that dispatch on a routine's name. Not a stable API.

use crate::bindings::rustydb::extension::types::{
    Column, DataType, RoutineDescription, RoutineKind, Volatility,
};
use crate::value::{FromValue, IntoValue, Rows, SqlError, SqlType, Value};

pub use crate::bindings::exports::rustydb::extension::trigger::{TriggerData, TriggerResult};
pub use crate::bindings::exports::rustydb::extension::trigger_rows::RowEvent;
/// The Guest traits and WIT types the `export!` expansion implements.
pub use crate::bindings::exports::rustydb::extension::{
    aggregate::Guest as AggregateGuest, describe::Guest as DescribeGuest,
    model::Guest as ModelGuest, procedure::Guest as ProcedureGuest, scalar::Guest as ScalarGuest,
    scalar_columnar::ColumnData, scalar_columnar::Guest as ColumnarGuest,
    scalar_columnar::ValueColumn, table_function::Guest as TableGuest,
    trigger::Guest as TriggerGuest, trigger_rows::Guest as TriggerRowsGuest,
};
pub use crate::bindings::rustydb::extension::types::{
    RoutineDescription as Description, Volatility as Vol,
};

/// A table function's rows, or its error.
pub type TableResult = Result<Vec<Vec<Value>>, SqlError>;

/// How a routine is entered.
pub enum Call {
    /// A procedure: one argument row in, a result set out.
    Procedure(fn(Vec<Value>) -> Result<Rows, SqlError>),
    /// A scalar function.
    Scalar(ScalarEntry),
    /// A trigger function.
    Trigger(TriggerEntry),
    /// An aggregate: its four entry points over byte states.
    Aggregate(crate::aggregate::AggregateEntry),
    /// A table function: one argument row in, the result rows out.
    Table(fn(Vec<Value>) -> TableResult),
    /// A model: loading its parameters, and scoring a batch with the loaded
    /// model (type-erased so the routine table stays one `const` slice).
    Model(crate::model::ModelEntry),
}

/// How a scalar function is entered.
pub struct ScalarEntry {
    /// Its per-row body, batched by [`call_scalar`] and, for columns
    /// without a typed loop, by [`call_columns`](crate::columnar::call_columns).
    pub row: fn(Vec<Value>) -> Result<Value, SqlError>,
    /// Its typed loop over columns, for the signatures that have one.
    pub columns: Option<crate::columnar::ColumnsFn>,
}

/// How a trigger function is entered.
pub struct TriggerEntry {
    /// Its body, once per firing.
    pub row: fn(crate::Trigger) -> Result<crate::TriggerAction, SqlError>,
    /// Its batch function (`#[rustydb::trigger(rows = f)]`), which takes a
    /// batch of AFTER ROW events in one call; without one the body runs
    /// once per event.
    pub rows: Option<TriggerRowsFn>,
}

/// A trigger function's batch function: the trigger's names, columns and
/// arguments, and the batch's events in order.
pub type TriggerRowsFn = fn(&crate::Trigger, Vec<RowEvent>) -> Result<(), SqlError>;

/// One routine of a module, as its attribute declares it.
pub struct Routine {
    pub name: &'static str,
    pub params: &'static [(&'static str, DataType)],
    /// The result columns; a column with an empty name is named after the
    /// routine (PostgreSQL's name for a function's single result column).
    pub returns: &'static [(&'static str, DataType)],
    pub volatility: Volatility,
    pub strict: bool,
    pub call: Call,
}

impl Routine {
    fn kind(&self) -> RoutineKind {
        match self.call {
            Call::Procedure(_) => RoutineKind::Procedure,
            Call::Scalar(_) => RoutineKind::Scalar,
            Call::Trigger(_) => RoutineKind::Trigger,
            Call::Aggregate(_) => RoutineKind::Aggregate,
            Call::Table(_) => RoutineKind::Table,
            Call::Model(_) => RoutineKind::Model,
        }
    }

    fn describe(&self) -> RoutineDescription {
        let column = |name: &str, data_type: DataType| Column {
            name: name.to_owned(),
            data_type,
        };
        RoutineDescription {
            name: self.name.to_owned(),
            kind: self.kind(),
            params: self.params.iter().map(|(n, t)| column(n, *t)).collect(),
            returns: self
                .returns
                .iter()
                .map(|(n, t)| column(if n.is_empty() { self.name } else { n }, *t))
                .collect(),
            volatility: self.volatility,
            strict: self.strict,
        }
    }
}

/// The SQL type of a Rust type, in a `const` context.
pub const fn data_type<T: SqlType>() -> DataType {
    T::DATA_TYPE
}

/// The SQL type of a scalar function's result type.
pub const fn return_type<T: ScalarReturn>() -> DataType {
    T::DATA_TYPE
}

/// Every routine of the module.
pub fn describe(routines: &[&Routine]) -> Vec<RoutineDescription> {
    routines.iter().map(|r| r.describe()).collect()
}

pub(crate) fn no_such(kind: &str, name: &str) -> SqlError {
    SqlError::new("42883", format!("this module has no {kind} \"{name}\""))
}

/// Checks the argument count and yields the arguments in order.
pub fn args(
    args: Vec<Value>,
    expected: usize,
    routine: &str,
) -> Result<std::vec::IntoIter<Value>, SqlError> {
    if args.len() != expected {
        return Err(SqlError::new(
            "39000",
            format!("{routine} takes {expected} arguments, got {}", args.len()),
        ));
    }
    Ok(args.into_iter())
}

/// Whether a row has a NULL argument, which a STRICT routine never sees.
pub fn has_null(row: &[Value]) -> bool {
    row.iter().any(|v| matches!(v, Value::Null))
}

/// The routine called `name`, if it is of the kind `pick` accepts.
pub(crate) fn find<'r, T>(
    routines: &'r [&'r Routine],
    name: &str,
    pick: impl Fn(&'r Call) -> Option<T>,
) -> Option<(&'r Routine, T)> {
    let routine = routines.iter().find(|r| r.name == name)?;
    pick(&routine.call).map(|entry| (*routine, entry))
}

/// The next argument as `T`, naming it in the error.
pub fn arg<T: FromValue>(args: &mut std::vec::IntoIter<Value>, name: &str) -> Result<T, SqlError> {
    T::from_value(args.next().unwrap_or(Value::Null)).map_err(|mut e| {
        e.message = format!("argument \"{name}\": {}", e.message);
        e
    })
}

/// `procedure.call-procedure`
pub fn call_procedure(
    routines: &[&Routine],
    name: &str,
    args: Vec<Value>,
) -> Result<Rows, SqlError> {
    match routines.iter().find(|r| r.name == name).map(|r| &r.call) {
        Some(Call::Procedure(f)) => f(args),
        _ => Err(no_such("procedure", name)),
    }
}

/// `scalar.call-scalar`: the batch loop, with STRICT handled here so a
/// routine body never sees the NULLs it declared it does not want.
pub fn call_scalar(
    routines: &[&Routine],
    name: &str,
    batch: Vec<Vec<Value>>,
) -> Result<Vec<Value>, SqlError> {
    let Some(routine) = routines.iter().find(|r| r.name == name) else {
        return Err(no_such("function", name));
    };
    let Call::Scalar(entry) = &routine.call else {
        return Err(no_such("function", name));
    };
    let f = entry.row;
    batch
        .into_iter()
        .map(|row| {
            if routine.strict && has_null(&row) {
                Ok(Value::Null)
            } else {
                f(row)
            }
        })
        .collect()
}

/// `trigger.call-trigger`
pub fn call_trigger(
    routines: &[&Routine],
    name: &str,
    data: TriggerData,
) -> Result<TriggerResult, SqlError> {
    match routines.iter().find(|r| r.name == name).map(|r| &r.call) {
        Some(Call::Trigger(f)) => (f.row)(crate::Trigger::from(data)).map(TriggerResult::from),
        _ => Err(no_such("trigger function", name)),
    }
}

/// `table-function.call-table`: STRICT means no rows for a NULL argument,
/// as for a set-returning function in PostgreSQL.
pub fn call_table(
    routines: &[&Routine],
    name: &str,
    args: Vec<Value>,
) -> Result<Vec<Vec<Value>>, SqlError> {
    let Some((routine, f)) = find(routines, name, |c| match c {
        Call::Table(f) => Some(*f),
        _ => None,
    }) else {
        return Err(no_such("table function", name));
    };
    if routine.strict && has_null(&args) {
        return Ok(Vec::new());
    }
    f(args)
}

/// What a procedure body may return.
pub trait ProcedureReturn {
    /// The result set for the client.
    fn into_rows(self) -> Result<Rows, SqlError>;
}

impl ProcedureReturn for () {
    fn into_rows(self) -> Result<Rows, SqlError> {
        Ok(Rows::empty())
    }
}

impl ProcedureReturn for Rows {
    fn into_rows(self) -> Result<Rows, SqlError> {
        Ok(self)
    }
}

impl<T: ProcedureReturn> ProcedureReturn for Result<T, SqlError> {
    fn into_rows(self) -> Result<Rows, SqlError> {
        self.and_then(ProcedureReturn::into_rows)
    }
}

/// What a scalar function body may return: a value of a SQL type, or a
/// `Result` of one.
pub trait ScalarReturn {
    /// The declared result type.
    const DATA_TYPE: DataType;
    /// The result value.
    fn into_result(self) -> Result<Value, SqlError>;
}

macro_rules! scalar_return {
    ($($t:ty),*) => {$(
        impl ScalarReturn for $t {
            const DATA_TYPE: DataType = <$t as SqlType>::DATA_TYPE;
            fn into_result(self) -> Result<Value, SqlError> {
                Ok(self.into_value())
            }
        }
    )*};
}

scalar_return!(
    bool,
    i16,
    i32,
    i64,
    f32,
    f64,
    String,
    Vec<u8>,
    crate::value::Numeric
);

impl<T: SqlType + IntoValue> ScalarReturn for Option<T> {
    const DATA_TYPE: DataType = T::DATA_TYPE;
    fn into_result(self) -> Result<Value, SqlError> {
        Ok(self.into_value())
    }
}

impl<T: ScalarReturn> ScalarReturn for Result<T, SqlError> {
    const DATA_TYPE: DataType = T::DATA_TYPE;
    fn into_result(self) -> Result<Value, SqlError> {
        self.and_then(ScalarReturn::into_result)
    }
}

/// `trigger-rows.call-trigger-rows`: the function's batch function with
/// every event at once when it has one; otherwise the body once per event,
/// in order, each with its own `Trigger` as `call-trigger` would build it,
/// so a trigger function cannot tell a batch from single calls. The first
/// error ends the batch.
pub fn call_trigger_rows(
    routines: &[&Routine],
    name: &str,
    data: TriggerData,
    events: Vec<RowEvent>,
) -> Result<(), SqlError> {
    let Some(Call::Trigger(f)) = routines.iter().find(|r| r.name == name).map(|r| &r.call) else {
        return Err(no_such("trigger function", name));
    };
    let base = crate::Trigger::from(data);
    if let Some(rows) = f.rows {
        return rows(&base, events);
    }
    for event in events {
        (f.row)(crate::Trigger {
            op: event.operation,
            old: event.old,
            new: event.new,
            ..base.clone()
        })?;
    }
    Ok(())
}
