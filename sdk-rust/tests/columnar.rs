//! The SDK's two scalar entries — `call-scalar` over rows of values and
//! `call-columns` over typed columns, with the typed loop `#[function]`
//! generates where the signature allows — give the same answers: the same
//! values, the same NULLs (STRICT), the same errors.

#![allow(clippy::unwrap_used)]

extern crate rustydb_sdk as rustydb;

use rustydb::__private::{self as p, ColumnData, ValueColumn};
use rustydb::{DataType, SqlError, Value};

/// Typed loop, STRICT, may fail.
#[rustydb::function(immutable, strict)]
fn checked_add(a: i64, b: i64) -> Result<i64, SqlError> {
    a.checked_add(b)
        .ok_or_else(|| SqlError::new("22003", "bigint out of range"))
}

/// Typed loop, not STRICT: a NULL is the per-row 22004.
#[rustydb::function(immutable)]
fn positive(x: f64) -> bool {
    x > 0.0
}

/// No typed loop (an `Option` argument): per-row values from the columns.
#[rustydb::function(immutable)]
fn or_zero(x: Option<i32>) -> i32 {
    x.unwrap_or(0)
}

/// No typed loop (text), STRICT.
#[rustydb::function(immutable, strict)]
fn shout(s: String) -> String {
    s.to_uppercase()
}

const ROUTINES: &[&p::Routine] = &[
    &__rustydb_routine_checked_add,
    &__rustydb_routine_positive,
    &__rustydb_routine_or_zero,
    &__rustydb_routine_shout,
];

/// The columns the host builds: a typed list per declared type, NULL flags
/// only when a row is NULL.
fn columns(types: &[DataType], rows: &[Vec<Value>]) -> Vec<ValueColumn> {
    (0..types.len())
        .map(|i| {
            let col: Vec<&Value> = rows.iter().map(|r| &r[i]).collect();
            let nulls: Vec<bool> = col.iter().map(|v| matches!(v, Value::Null)).collect();
            let nulls = if nulls.contains(&true) {
                nulls
            } else {
                Vec::new()
            };
            let data = match types[i] {
                DataType::Int8 => ColumnData::Int8(
                    col.iter()
                        .map(|v| if let Value::Int8(x) = v { *x } else { 0 })
                        .collect(),
                ),
                DataType::Int4 => ColumnData::Int4(
                    col.iter()
                        .map(|v| if let Value::Int4(x) = v { *x } else { 0 })
                        .collect(),
                ),
                DataType::Float8 => ColumnData::Float8(
                    col.iter()
                        .map(|v| if let Value::Float8(x) = v { *x } else { 0.0 })
                        .collect(),
                ),
                DataType::Text => ColumnData::Text(
                    col.iter()
                        .map(|v| {
                            if let Value::Text(s) = v {
                                s.clone()
                            } else {
                                String::new()
                            }
                        })
                        .collect(),
                ),
                _ => ColumnData::Values(col.into_iter().cloned().collect()),
            };
            ValueColumn { nulls, data }
        })
        .collect()
}

fn values(column: ValueColumn) -> Vec<Value> {
    let mut out: Vec<Value> = match column.data {
        ColumnData::Int8(v) => v.into_iter().map(Value::Int8).collect(),
        ColumnData::Int4(v) => v.into_iter().map(Value::Int4).collect(),
        ColumnData::Float8(v) => v.into_iter().map(Value::Float8).collect(),
        ColumnData::Boolean(v) => v.into_iter().map(Value::Boolean).collect(),
        ColumnData::Text(v) => v.into_iter().map(Value::Text).collect(),
        ColumnData::Values(v) => v,
    };
    for (v, null) in out.iter_mut().zip(column.nulls) {
        if null {
            *v = Value::Null;
        }
    }
    out
}

/// Both entries' answers for `rows`, as `Debug` text (the WIT types have
/// no `PartialEq`), errors as their SQLSTATE.
fn both(name: &str, types: &[DataType], rows: &[Vec<Value>]) -> (String, String) {
    let by_rows = p::call_scalar(ROUTINES, name, rows.to_vec());
    let by_columns = p::columnar::call_columns(
        ROUTINES,
        name,
        u32::try_from(rows.len()).unwrap(),
        columns(types, rows),
    )
    .map(values);
    let show = |r: Result<Vec<Value>, SqlError>| match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("error {}", e.sqlstate),
    };
    (show(by_rows), show(by_columns))
}

fn has_typed_loop(routine: &p::Routine) -> bool {
    matches!(&routine.call, p::Call::Scalar(entry) if entry.columns.is_some())
}

#[test]
fn only_numbers_and_booleans_in_and_out_get_a_typed_loop() {
    assert!(has_typed_loop(&__rustydb_routine_checked_add));
    assert!(has_typed_loop(&__rustydb_routine_positive));
    assert!(!has_typed_loop(&__rustydb_routine_or_zero));
    assert!(!has_typed_loop(&__rustydb_routine_shout));
}

#[test]
fn a_typed_loop_answers_as_the_rows_do_with_strict_nulls_and_errors() {
    let int8 = [DataType::Int8, DataType::Int8];
    let rows: Vec<Vec<Value>> = (0..1500_i64)
        .map(|i| {
            let a = if i % 11 == 0 {
                Value::Null
            } else {
                Value::Int8(i * 1_000_003)
            };
            vec![a, Value::Int8(-i)]
        })
        .collect();
    let (by_rows, by_columns) = both("checked_add", &int8, &rows);
    assert_eq!(by_rows, by_columns);
    assert!(
        by_rows.starts_with("[Value::Null, Value::Int8(1000002), "),
        "{by_rows}"
    );
    let overflow = vec![
        vec![Value::Null, Value::Int8(1)],
        vec![Value::Int8(i64::MAX), Value::Int8(1)],
    ];
    assert_eq!(
        both("checked_add", &int8, &overflow),
        ("error 22003".into(), "error 22003".into())
    );
    assert_eq!(both("checked_add", &int8, &[]), ("[]".into(), "[]".into()));
}

#[test]
fn without_strict_a_null_fails_or_reaches_an_option_as_through_rows() {
    let rows = vec![vec![Value::Float8(1.0)], vec![Value::Float8(-1.0)]];
    let (by_rows, by_columns) = both("positive", &[DataType::Float8], &rows);
    assert_eq!(by_rows, "[Value::Boolean(true), Value::Boolean(false)]");
    assert_eq!(by_rows, by_columns);
    let with_null = vec![vec![Value::Float8(1.0)], vec![Value::Null]];
    assert_eq!(
        both("positive", &[DataType::Float8], &with_null),
        ("error 22004".into(), "error 22004".into())
    );
    let rows = vec![vec![Value::Int4(5)], vec![Value::Null]];
    let (by_rows, by_columns) = both("or_zero", &[DataType::Int4], &rows);
    assert_eq!(by_rows, "[Value::Int4(5), Value::Int4(0)]");
    assert_eq!(by_rows, by_columns);
}

#[test]
fn other_signatures_run_per_row_from_the_columns() {
    let rows = vec![
        vec![Value::Text("abc".into())],
        vec![Value::Null],
        vec![Value::Text("é".into())],
    ];
    let (by_rows, by_columns) = both("shout", &[DataType::Text], &rows);
    assert_eq!(
        by_rows,
        r#"[Value::Text("ABC"), Value::Null, Value::Text("É")]"#
    );
    assert_eq!(by_rows, by_columns);
}

#[test]
fn a_column_of_the_wrong_length_or_count_is_39000() {
    let short = ValueColumn {
        nulls: Vec::new(),
        data: ColumnData::Int8(vec![1]),
    };
    let err = p::columnar::call_columns(ROUTINES, "checked_add", 2, vec![short.clone(), short])
        .unwrap_err();
    assert_eq!(err.sqlstate, "39000");
    let err = p::columnar::call_columns(ROUTINES, "checked_add", 0, Vec::new()).unwrap_err();
    assert_eq!(err.sqlstate, "39000");
    let err = p::columnar::call_columns(ROUTINES, "nope", 0, Vec::new()).unwrap_err();
    assert_eq!(err.sqlstate, "42883");
}
