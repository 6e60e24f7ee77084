//! `scalar-columnar.call-columns`: a batch of scalar calls as typed columns.
//!
//! A function whose arguments and result are all `i64`, `i32`, `f64` or
//! `bool` gets a typed loop from `#[function]` (see [`ColumnType`]): it
//! reads the argument lists as slices and writes the result list directly,
//! with no `Value` per row. Every other function, and a typed one that
//! meets a column of another type or a NULL it did not declare STRICT for,
//! runs here through its per-row entry, with rows of values rebuilt from
//! the columns — the same answers as `call-scalar`, only slower.

use crate::bindings::exports::rustydb::extension::scalar_columnar::{ColumnData, ValueColumn};
use crate::dispatch::{Call, Routine, has_null, no_such};
use crate::value::{DataType, SqlError, Value};

/// The typed loop of a function over `rows` rows of argument columns, or
/// `None` when the columns do not suit it and the rows must be walked as
/// values.
pub type ColumnsFn = fn(usize, &[ValueColumn]) -> Option<Result<ValueColumn, SqlError>>;

/// A Rust type with its own case of `column-data`.
pub trait ColumnType: Copy + Default {
    /// The list, when `data` is of this type.
    fn slice(data: &ColumnData) -> Option<&[Self]>;
    /// A list of this type as column data.
    fn column(data: Vec<Self>) -> ColumnData;
}

macro_rules! column_type {
    ($($t:ty => $case:ident),*) => {$(
        impl ColumnType for $t {
            fn slice(data: &ColumnData) -> Option<&[Self]> {
                match data {
                    ColumnData::$case(v) => Some(v),
                    _ => None,
                }
            }
            fn column(data: Vec<Self>) -> ColumnData {
                ColumnData::$case(data)
            }
        }
        impl ColumnResult for $t {
            type Item = $t;
            fn into_item(self) -> Result<$t, SqlError> {
                Ok(self)
            }
        }
        impl ColumnResult for Result<$t, SqlError> {
            type Item = $t;
            fn into_item(self) -> Result<$t, SqlError> {
                self
            }
        }
    )*};
}

/// What a function with a typed loop may return: a [`ColumnType`] or a
/// `Result` of one.
pub trait ColumnResult {
    /// The type of the result list.
    type Item: ColumnType;
    /// The value for the list, or the function's error.
    fn into_item(self) -> Result<Self::Item, SqlError>;
}

column_type!(i64 => Int8, i32 => Int4, f64 => Float8, bool => Boolean);

/// The arguments' `rows`-long lists as `T`, or `None` for another case.
pub fn typed<T: ColumnType>(column: &ValueColumn, rows: usize) -> Option<&[T]> {
    T::slice(&column.data)?.get(..rows)
}

/// Which rows have a NULL in any column: empty when none does.
pub fn any_null(rows: usize, columns: &[ValueColumn]) -> Vec<bool> {
    let mut flags = Vec::new();
    for c in columns.iter().filter(|c| c.nulls.contains(&true)) {
        if flags.is_empty() {
            flags = vec![false; rows];
        }
        for (f, n) in flags.iter_mut().zip(&c.nulls) {
            *f |= *n;
        }
    }
    flags
}

/// `scalar-columnar.call-columns`
pub fn call_columns(
    routines: &[&Routine],
    name: &str,
    rows: u32,
    args: Vec<ValueColumn>,
) -> Result<ValueColumn, SqlError> {
    let Some(routine) = routines.iter().find(|r| r.name == name) else {
        return Err(no_such("function", name));
    };
    let Call::Scalar(entry) = &routine.call else {
        return Err(no_such("function", name));
    };
    let rows = rows as usize;
    if args.len() != routine.params.len() {
        return Err(SqlError::new(
            "39000",
            format!(
                "{name} takes {} arguments, got {}",
                routine.params.len(),
                args.len()
            ),
        ));
    }
    if let Some(c) = args
        .iter()
        .find(|c| data_len(&c.data) != rows || !(c.nulls.is_empty() || c.nulls.len() == rows))
    {
        return Err(SqlError::new(
            "39000",
            format!(
                "{name}: a column of {} values and {} NULL flags for {rows} rows",
                data_len(&c.data),
                c.nulls.len()
            ),
        ));
    }
    if let Some(typed) = entry.columns
        && let Some(result) = typed(rows, &args)
    {
        return result;
    }
    let mut columns: Vec<std::vec::IntoIter<Value>> =
        args.into_iter().map(|c| values(c).into_iter()).collect();
    let mut out = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<Value> = columns
            .iter_mut()
            .map(|c| c.next().unwrap_or(Value::Null))
            .collect();
        out.push(if routine.strict && has_null(&row) {
            Value::Null
        } else {
            (entry.row)(row)?
        });
    }
    let result_type = routine.returns.first().map(|(_, t)| *t);
    Ok(column_of(result_type, out))
}

fn data_len(data: &ColumnData) -> usize {
    match data {
        ColumnData::Int8(v) => v.len(),
        ColumnData::Int4(v) => v.len(),
        ColumnData::Float8(v) => v.len(),
        ColumnData::Boolean(v) => v.len(),
        ColumnData::Text(v) => v.len(),
        ColumnData::Values(v) => v.len(),
    }
}

/// A column as one value per row, NULLs included.
fn values(column: ValueColumn) -> Vec<Value> {
    let ValueColumn { nulls, data } = column;
    let mut values: Vec<Value> = match data {
        ColumnData::Int8(v) => v.into_iter().map(Value::Int8).collect(),
        ColumnData::Int4(v) => v.into_iter().map(Value::Int4).collect(),
        ColumnData::Float8(v) => v.into_iter().map(Value::Float8).collect(),
        ColumnData::Boolean(v) => v.into_iter().map(Value::Boolean).collect(),
        ColumnData::Text(v) => v.into_iter().map(Value::Text).collect(),
        ColumnData::Values(v) => v,
    };
    for (v, null) in values.iter_mut().zip(nulls) {
        if null {
            *v = Value::Null;
        }
    }
    values
}

/// Results as a column: the typed list of the declared result type when
/// every value is of it, else `values`.
fn column_of(result_type: Option<DataType>, values: Vec<Value>) -> ValueColumn {
    let nulls = if values.iter().any(|v| matches!(v, Value::Null)) {
        values.iter().map(|v| matches!(v, Value::Null)).collect()
    } else {
        Vec::new()
    };
    let data = match result_type {
        Some(DataType::Int8) => typed_list(&values, |v| match v {
            Value::Int8(i) => Some(*i),
            _ => None,
        })
        .map(ColumnData::Int8),
        Some(DataType::Int4) => typed_list(&values, |v| match v {
            Value::Int4(i) => Some(*i),
            _ => None,
        })
        .map(ColumnData::Int4),
        Some(DataType::Float8) => typed_list(&values, |v| match v {
            Value::Float8(f) => Some(*f),
            _ => None,
        })
        .map(ColumnData::Float8),
        Some(DataType::Boolean) => typed_list(&values, |v| match v {
            Value::Boolean(b) => Some(*b),
            _ => None,
        })
        .map(ColumnData::Boolean),
        _ => None,
    };
    match data {
        Some(data) => ValueColumn { nulls, data },
        None => ValueColumn {
            nulls: Vec::new(),
            data: ColumnData::Values(values),
        },
    }
}

fn typed_list<T: Default>(values: &[Value], pick: impl Fn(&Value) -> Option<T>) -> Option<Vec<T>> {
    values
        .iter()
        .map(|v| match v {
            Value::Null => Some(T::default()),
            v => pick(v),
        })
        .collect()
}
