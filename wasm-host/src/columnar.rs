//! Scalar batches as columns, for modules that export `scalar-columnar`.
//!
//! Through `call-scalar` a batch of a thousand rows is a list of a thousand
//! lists of variants: lowering it makes the guest allocate once per row and
//! the guest reads every argument through a variant. `call-columns` sends
//! each argument as one typed list, chosen by the parameter's declared
//! type, so a `bigint` argument crosses as one `list<s64>` copied in one
//! piece. A value that does not fit the declared type (the engine coerces
//! arguments, so it should not happen) sends that column as `values`
//! rather than failing, and the guest decides.

use rustydb_engine::extension::{ColumnDescription, ErrorCode, ExtensionError, RoutineKind, Row};
use rustydb_engine::types::{DataType, Value};
use wasmtime::Store;
use wasmtime::component::Instance;

use crate::bindings::scalar_columnar::{ColumnData, ValueColumn};
use crate::call::{GuestResult, export, one_per_row, rows_to_wit};
use crate::convert::{self, error_from_wit};
use crate::host_api::CallState;
use crate::registry::{Exports, Module};

/// Calls scalar function `name` over `args` (one row per call, one value
/// per parameter of `params`), through `call-columns` when the module
/// exports it and `call-scalar` otherwise.
pub(crate) fn call_scalar(
    store: &mut Store<CallState>,
    instance: &Instance,
    exports: &Exports,
    name: &str,
    params: &[ColumnDescription],
    args: &[Row],
) -> GuestResult<Vec<Value>> {
    let kind = RoutineKind::Scalar;
    let Some(columnar) = &exports.scalar_columnar else {
        let batch = rows_to_wit(args);
        let guest = export(&exports.scalar, kind)?.load(&mut *store, instance)?;
        return Ok(match guest.call_call_scalar(&mut *store, name, &batch)? {
            Ok(values) => convert::values_from_wit(values)
                .and_then(|v| one_per_row(v, args.len(), "function")),
            Err(e) => Err(error_from_wit(e)),
        });
    };
    let columns = match to_columns(params, args) {
        Ok(columns) => columns,
        Err(e) => return Ok(Err(e)),
    };
    let Ok(rows) = u32::try_from(args.len()) else {
        return Ok(Err(ExtensionError::new(
            ErrorCode::PROGRAM_LIMIT_EXCEEDED,
            format!("a batch of {} rows is too large", args.len()),
        )));
    };
    let guest = columnar.load(&mut *store, instance)?;
    Ok(
        match guest.call_call_columns(&mut *store, name, rows, &columns)? {
            Ok(column) => from_column(column, args.len()),
            Err(e) => Err(error_from_wit(e)),
        },
    )
}

/// The declared parameters of scalar function `name` (none when the
/// module has no such function, which the call then reports).
pub(crate) fn params<'m>(module: &'m Module, name: &str) -> &'m [ColumnDescription] {
    module
        .routine(RoutineKind::Scalar, name)
        .map_or(&[], |r| r.params.as_slice())
}

/// One column per parameter, each as long as `rows`.
fn to_columns(
    params: &[ColumnDescription],
    rows: &[Row],
) -> Result<Vec<ValueColumn>, ExtensionError> {
    if let Some(row) = rows.iter().find(|r| r.len() != params.len()) {
        return Err(ExtensionError::new(
            ErrorCode::EXTERNAL_ROUTINE_INVOCATION,
            format!(
                "function takes {} arguments, got {}",
                params.len(),
                row.len()
            ),
        ));
    }
    Ok(params
        .iter()
        .enumerate()
        .map(|(i, p)| to_column(&p.data_type, rows.iter().map(|r| &r[i]), rows.len()))
        .collect())
}

/// A typed list for the types that have one, when every value is of it.
fn to_column<'a>(
    t: &DataType,
    values: impl Iterator<Item = &'a Value> + Clone,
    len: usize,
) -> ValueColumn {
    let typed_column = match t {
        DataType::Int8 => typed(values.clone(), len, |v| match v {
            Value::Int8(i) => Some(*i),
            _ => None,
        })
        .map(|(d, n)| (ColumnData::Int8(d), n)),
        DataType::Int4 => typed(values.clone(), len, |v| match v {
            Value::Int4(i) => Some(*i),
            _ => None,
        })
        .map(|(d, n)| (ColumnData::Int4(d), n)),
        DataType::Float8 => typed(values.clone(), len, |v| match v {
            Value::Float8(f) => Some(*f),
            _ => None,
        })
        .map(|(d, n)| (ColumnData::Float8(d), n)),
        DataType::Bool => typed(values.clone(), len, |v| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        })
        .map(|(d, n)| (ColumnData::Boolean(d), n)),
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => {
            typed(values.clone(), len, |v| match v {
                Value::Text(s) => Some(s.clone()),
                _ => None,
            })
            .map(|(d, n)| (ColumnData::Text(d), n))
        }
        _ => None,
    };
    match typed_column {
        Some((data, nulls)) => ValueColumn { nulls, data },
        // `values` carries its NULLs itself.
        None => ValueColumn {
            nulls: Vec::new(),
            data: ColumnData::Values(values.map(convert::value_to_wit).collect()),
        },
    }
}

/// The values as `T` (a default for NULL) and, when any is NULL, one flag
/// per row; `None` when one is of another type. One pass: each value of a
/// row-major batch is likely a cache miss, and reading them twice (once
/// for the flags) made `sum(geo.haversine(…))` over 1M rows 7–15% slower
/// (`benches/udf.sh`).
fn typed<'a, T: Default>(
    values: impl Iterator<Item = &'a Value>,
    len: usize,
    pick: impl Fn(&Value) -> Option<T>,
) -> Option<(Vec<T>, Vec<bool>)> {
    let mut out = Vec::with_capacity(len);
    let mut nulls: Vec<bool> = Vec::new();
    for (i, v) in values.enumerate() {
        if let Value::Null = v {
            if nulls.is_empty() {
                nulls.reserve(len);
                nulls.resize(i, false);
            }
            nulls.push(true);
            out.push(T::default());
        } else {
            if !nulls.is_empty() {
                nulls.push(false);
            }
            out.push(pick(v)?);
        }
    }
    Some((out, nulls))
}

/// The guest's result column as values, checked to be `rows` long.
fn from_column(column: ValueColumn, rows: usize) -> Result<Vec<Value>, ExtensionError> {
    let ValueColumn { nulls, data } = column;
    let values: Vec<Value> = match data {
        ColumnData::Int8(v) => v.into_iter().map(Value::Int8).collect(),
        ColumnData::Int4(v) => v.into_iter().map(Value::Int4).collect(),
        ColumnData::Float8(v) => v.into_iter().map(Value::Float8).collect(),
        ColumnData::Boolean(v) => v.into_iter().map(Value::Bool).collect(),
        ColumnData::Text(v) => v.into_iter().map(Value::Text).collect(),
        ColumnData::Values(v) => convert::values_from_wit(v)?,
    };
    let mut values = one_per_row(values, rows, "function")?;
    if !nulls.is_empty() {
        if nulls.len() != rows {
            return Err(ExtensionError::new(
                ErrorCode::EXTERNAL_ROUTINE_INVOCATION,
                format!(
                    "function returned {} NULL flags for {rows} rows",
                    nulls.len()
                ),
            ));
        }
        for (v, null) in values.iter_mut().zip(nulls) {
            if null {
                *v = Value::Null;
            }
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(types: &[DataType]) -> Vec<ColumnDescription> {
        types
            .iter()
            .map(|t| ColumnDescription::new("", *t))
            .collect()
    }

    #[test]
    fn declared_types_with_their_values_become_typed_lists_with_null_flags() {
        let rows = vec![
            vec![Value::Int8(1), Value::Text("a".into()), Value::Float8(0.5)],
            vec![Value::Null, Value::Text("b".into()), Value::Float8(1.5)],
            vec![Value::Int8(3), Value::Text("c".into()), Value::Null],
        ];
        let params = described(&[DataType::Int8, DataType::Varchar(Some(3)), DataType::Float8]);
        let cols = to_columns(&params, &rows).unwrap();
        assert_eq!(cols[0].nulls, vec![false, true, false]);
        assert!(matches!(&cols[0].data, ColumnData::Int8(v) if v == &[1, 0, 3]));
        assert!(cols[1].nulls.is_empty());
        assert!(matches!(&cols[1].data, ColumnData::Text(v) if v == &["a", "b", "c"]));
        assert_eq!(cols[2].nulls, vec![false, false, true]);
        assert!(matches!(&cols[2].data, ColumnData::Float8(v) if v == &[0.5, 1.5, 0.0]));
    }

    #[test]
    fn other_types_and_stray_values_cross_as_values() {
        let rows = vec![
            vec![Value::Int4(7), Value::Date(3)],
            vec![Value::Null, Value::Null],
        ];
        let cols = to_columns(&described(&[DataType::Int8, DataType::Date]), &rows).unwrap();
        for col in &cols {
            assert!(col.nulls.is_empty());
            assert!(matches!(&col.data, ColumnData::Values(v) if v.len() == 2));
        }
    }

    #[test]
    fn a_row_of_the_wrong_arity_is_39000() {
        let err = to_columns(&described(&[DataType::Int8]), &[vec![]]).unwrap_err();
        assert_eq!(err.code, ErrorCode::EXTERNAL_ROUTINE_INVOCATION);
    }

    #[test]
    fn the_result_column_is_one_value_per_row_with_its_nulls() {
        let col = ValueColumn {
            nulls: vec![false, true],
            data: ColumnData::Int8(vec![3, 0]),
        };
        assert_eq!(
            from_column(col, 2).unwrap(),
            vec![Value::Int8(3), Value::Null]
        );
        let short = ValueColumn {
            nulls: Vec::new(),
            data: ColumnData::Int8(vec![3]),
        };
        assert_eq!(
            from_column(short, 2).unwrap_err().code,
            ErrorCode::EXTERNAL_ROUTINE_INVOCATION
        );
        let bad_flags = ValueColumn {
            nulls: vec![true],
            data: ColumnData::Boolean(vec![true, false]),
        };
        assert_eq!(
            from_column(bad_flags, 2).unwrap_err().code,
            ErrorCode::EXTERNAL_ROUTINE_INVOCATION
        );
    }
}
