//! Conversions between the engine's types and the generated WIT types.
//!
//! Guest → engine conversions are fallible: a guest may send `numeric` text
//! that is not a number or a SQLSTATE that is not one, and those become SQL
//! errors rather than panics.

use rustydb_engine::extension::{
    ColumnDescription, ErrorCode, ExtensionError, ResultSet, RoutineDescription, RoutineKind,
    RowEvent, TriggerData, TriggerLevel, TriggerOperation, TriggerOutcome, TriggerTiming,
    Volatility,
};
use rustydb_engine::types::{DataType, Interval, Value};

use crate::bindings::{trigger as wt, trigger_rows as wr, types as wit};

pub(crate) fn value_to_wit(v: &Value) -> wit::Value {
    match v {
        Value::Null => wit::Value::Null,
        Value::Bool(b) => wit::Value::Boolean(*b),
        Value::Int2(i) => wit::Value::Int2(*i),
        Value::Int4(i) => wit::Value::Int4(*i),
        Value::Int8(i) => wit::Value::Int8(*i),
        Value::Float4(f) => wit::Value::Float4(*f),
        Value::Float8(f) => wit::Value::Float8(*f),
        Value::Numeric(_) => wit::Value::Numeric(v.to_pg_text().unwrap_or_default()),
        Value::Text(s) => wit::Value::Text(s.clone()),
        Value::Bytea(b) => wit::Value::Bytea(b.clone()),
        Value::Date(d) => wit::Value::Date(*d),
        Value::Timestamp(t) => wit::Value::Timestamp(*t),
        Value::TimestampTz(t) => wit::Value::Timestamptz(*t),
        Value::Interval(i) => wit::Value::Interval(wit::Interval {
            months: i.months,
            days: i.days,
            micros: i.micros,
        }),
        Value::Json(s) => wit::Value::Json(s.clone()),
    }
}

pub(crate) fn value_from_wit(v: wit::Value) -> Result<Value, ExtensionError> {
    Ok(match v {
        wit::Value::Null => Value::Null,
        wit::Value::Boolean(b) => Value::Bool(b),
        wit::Value::Int2(i) => Value::Int2(i),
        wit::Value::Int4(i) => Value::Int4(i),
        wit::Value::Int8(i) => Value::Int8(i),
        wit::Value::Float4(f) => Value::Float4(f),
        wit::Value::Float8(f) => Value::Float8(f),
        wit::Value::Numeric(text) => {
            let numeric = DataType::Numeric {
                precision: None,
                scale: None,
            };
            rustydb_engine::types::parse(&text, &numeric)
                .map_err(|e| ExtensionError::new(e.sqlstate(), e.to_string()))?
        }
        wit::Value::Text(s) => Value::Text(s),
        wit::Value::Bytea(b) => Value::Bytea(b),
        wit::Value::Date(d) => Value::Date(d),
        wit::Value::Timestamp(t) => Value::Timestamp(t),
        wit::Value::Timestamptz(t) => Value::TimestampTz(t),
        wit::Value::Interval(i) => Value::Interval(Interval {
            months: i.months,
            days: i.days,
            micros: i.micros,
        }),
        wit::Value::Json(s) => Value::Json(s),
    })
}

pub(crate) fn row_to_wit(row: &[Value]) -> Vec<wit::Value> {
    row.iter().map(value_to_wit).collect()
}

pub(crate) fn row_from_wit(row: Vec<wit::Value>) -> Result<Vec<Value>, ExtensionError> {
    row.into_iter().map(value_from_wit).collect()
}

pub(crate) fn rows_from_wit(rows: Vec<Vec<wit::Value>>) -> Result<Vec<Vec<Value>>, ExtensionError> {
    rows.into_iter().map(row_from_wit).collect()
}

pub(crate) fn values_from_wit(values: Vec<wit::Value>) -> Result<Vec<Value>, ExtensionError> {
    row_from_wit(values)
}

/// The WIT type of an engine type: modifiers dropped, `varchar`/`char` as
/// `text`, `jsonb` as `json`, as the values themselves arrive.
pub(crate) fn data_type_to_wit(t: &DataType) -> wit::DataType {
    match t {
        DataType::Bool => wit::DataType::Boolean,
        DataType::Int2 => wit::DataType::Int2,
        DataType::Int4 => wit::DataType::Int4,
        DataType::Int8 => wit::DataType::Int8,
        DataType::Float4 => wit::DataType::Float4,
        DataType::Float8 => wit::DataType::Float8,
        DataType::Numeric { .. } => wit::DataType::Numeric,
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => wit::DataType::Text,
        DataType::Bytea => wit::DataType::Bytea,
        DataType::Date => wit::DataType::Date,
        DataType::Timestamp => wit::DataType::Timestamp,
        DataType::TimestampTz => wit::DataType::Timestamptz,
        DataType::Interval => wit::DataType::Interval,
        DataType::Json | DataType::Jsonb => wit::DataType::Json,
    }
}

pub(crate) fn data_type_from_wit(t: wit::DataType) -> DataType {
    match t {
        wit::DataType::Boolean => DataType::Bool,
        wit::DataType::Int2 => DataType::Int2,
        wit::DataType::Int4 => DataType::Int4,
        wit::DataType::Int8 => DataType::Int8,
        wit::DataType::Float4 => DataType::Float4,
        wit::DataType::Float8 => DataType::Float8,
        wit::DataType::Numeric => DataType::Numeric {
            precision: None,
            scale: None,
        },
        wit::DataType::Text => DataType::Text,
        wit::DataType::Bytea => DataType::Bytea,
        wit::DataType::Date => DataType::Date,
        wit::DataType::Timestamp => DataType::Timestamp,
        wit::DataType::Timestamptz => DataType::TimestampTz,
        wit::DataType::Interval => DataType::Interval,
        wit::DataType::Json => DataType::Json,
    }
}

pub(crate) fn column_to_wit(c: &ColumnDescription) -> wit::Column {
    wit::Column {
        name: c.name.clone(),
        data_type: data_type_to_wit(&c.data_type),
    }
}

pub(crate) fn column_from_wit(c: wit::Column) -> ColumnDescription {
    ColumnDescription::new(c.name, data_type_from_wit(c.data_type))
}

pub(crate) fn result_set_from_wit(rows: wit::Rows) -> Result<ResultSet, ExtensionError> {
    let columns: Vec<ColumnDescription> = rows.columns.into_iter().map(column_from_wit).collect();
    let rows = rows_from_wit(rows.rows)?;
    if let Some(bad) = rows.iter().find(|r| r.len() != columns.len()) {
        return Err(ExtensionError::new(
            ErrorCode::EXTERNAL_ROUTINE_INVOCATION,
            format!(
                "procedure returned a row of {} values for {} columns",
                bad.len(),
                columns.len()
            ),
        ));
    }
    Ok(ResultSet { columns, rows })
}

pub(crate) fn description_from_wit(d: wit::RoutineDescription) -> RoutineDescription {
    RoutineDescription {
        name: d.name,
        kind: match d.kind {
            wit::RoutineKind::Procedure => RoutineKind::Procedure,
            wit::RoutineKind::Scalar => RoutineKind::Scalar,
            wit::RoutineKind::Aggregate => RoutineKind::Aggregate,
            wit::RoutineKind::Table => RoutineKind::Table,
            wit::RoutineKind::Trigger => RoutineKind::Trigger,
            wit::RoutineKind::Model => RoutineKind::Model,
        },
        params: d.params.into_iter().map(column_from_wit).collect(),
        returns: d.returns.into_iter().map(column_from_wit).collect(),
        volatility: match d.volatility {
            wit::Volatility::Immutable => Volatility::Immutable,
            wit::Volatility::Stable => Volatility::Stable,
            wit::Volatility::Volatile => Volatility::Volatile,
        },
        strict: d.strict,
    }
}

/// A guest's `sql-error`, keeping its SQLSTATE when it is a valid one.
pub(crate) fn error_from_wit(e: wit::SqlError) -> ExtensionError {
    match ErrorCode::parse(&e.sqlstate) {
        Some(code) => ExtensionError {
            code,
            message: e.message,
            detail: e.detail,
        },
        None => ExtensionError::new(
            ErrorCode::EXTERNAL_ROUTINE_EXCEPTION,
            format!(
                "routine raised an error with invalid SQLSTATE {:?}: {}",
                e.sqlstate, e.message
            ),
        ),
    }
}

pub(crate) fn error_to_wit(e: &ExtensionError) -> wit::SqlError {
    wit::SqlError {
        sqlstate: e.code.as_str().to_owned(),
        message: e.message.clone(),
        detail: e.detail.clone(),
    }
}

fn operation_to_wit(op: TriggerOperation) -> wt::Operation {
    match op {
        TriggerOperation::Insert => wt::Operation::Insert,
        TriggerOperation::Update => wt::Operation::Update,
        TriggerOperation::Delete => wt::Operation::Delete,
        TriggerOperation::Truncate => wt::Operation::Truncate,
    }
}

/// `w`, the WIT form of an earlier call's data, made that of `d` by
/// putting in its operation and rows, if `d` is the same trigger on the
/// same table (so its names, columns and arguments are those already in
/// `w`); `false`, `w` untouched, otherwise.
pub(crate) fn refresh_trigger_data(w: &mut wt::TriggerData, d: &TriggerData) -> bool {
    if w.name != d.name
        || w.table_name != d.table_name
        || w.table_schema != d.table_schema
        || w.args != d.args
        || w.columns.len() != d.columns.len()
    {
        return false;
    }
    w.operation = operation_to_wit(d.operation);
    w.old = d.old.as_deref().map(row_to_wit);
    w.new = d.new.as_deref().map(row_to_wit);
    true
}

pub(crate) fn trigger_data_to_wit(d: &TriggerData) -> wt::TriggerData {
    wt::TriggerData {
        name: d.name.clone(),
        timing: match d.timing {
            TriggerTiming::Before => wt::Timing::Before,
            TriggerTiming::After => wt::Timing::After,
            TriggerTiming::InsteadOf => wt::Timing::InsteadOf,
        },
        operation: operation_to_wit(d.operation),
        level: match d.level {
            TriggerLevel::Row => wt::Level::Row,
            TriggerLevel::Statement => wt::Level::Statement,
        },
        table_schema: d.table_schema.clone(),
        table_name: d.table_name.clone(),
        columns: d.columns.iter().map(column_to_wit).collect(),
        old: d.old.as_deref().map(row_to_wit),
        new: d.new.as_deref().map(row_to_wit),
        args: d.args.clone(),
    }
}

/// A queued AFTER ROW event in WIT form.
pub(crate) fn row_event_to_wit(e: &RowEvent) -> wr::RowEvent {
    wr::RowEvent {
        operation: operation_to_wit(e.operation),
        old: e.old.as_deref().map(row_to_wit),
        new: e.new.as_deref().map(row_to_wit),
    }
}

pub(crate) fn trigger_outcome_from_wit(
    r: wt::TriggerResult,
    columns: usize,
) -> Result<TriggerOutcome, ExtensionError> {
    Ok(match r {
        wt::TriggerResult::Keep => TriggerOutcome::Keep,
        wt::TriggerResult::Skip => TriggerOutcome::Skip,
        wt::TriggerResult::Modified(row) => {
            if row.len() != columns {
                return Err(ExtensionError::new(
                    ErrorCode::EXTERNAL_ROUTINE_INVOCATION,
                    format!(
                        "trigger returned a row of {} values for a table of {columns} columns",
                        row.len()
                    ),
                ));
            }
            TriggerOutcome::Modified(row_from_wit(row)?)
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn values_round_trip() {
        let values = [
            Value::Null,
            Value::Bool(true),
            Value::Int2(-2),
            Value::Int4(4),
            Value::Int8(i64::MIN),
            Value::Float4(1.5),
            Value::Float8(-0.25),
            rustydb_engine::types::parse(
                "-12.50",
                &DataType::Numeric {
                    precision: None,
                    scale: None,
                },
            )
            .unwrap(),
            Value::Text("é".into()),
            Value::Bytea(vec![0, 255]),
            Value::Date(-1),
            Value::Timestamp(1),
            Value::TimestampTz(2),
            Value::Interval(Interval {
                months: 1,
                days: 2,
                micros: 3,
            }),
            Value::Json("{}".into()),
        ];
        for v in values {
            let back = value_from_wit(value_to_wit(&v)).unwrap();
            assert_eq!(back.to_pg_text(), v.to_pg_text());
            assert_eq!(back.data_type(), v.data_type());
        }
    }

    #[test]
    fn bad_guest_input_is_an_sql_error() {
        let e = value_from_wit(wit::Value::Numeric("twelve".into())).unwrap_err();
        assert_eq!(e.code.as_str(), "22P02");
        let e = error_from_wit(wit::SqlError {
            sqlstate: "nope".into(),
            message: "m".into(),
            detail: None,
        });
        assert_eq!(e.code, ErrorCode::EXTERNAL_ROUTINE_EXCEPTION);
        let e = error_from_wit(wit::SqlError {
            sqlstate: "P0001".into(),
            message: "insufficient funds".into(),
            detail: Some("d".into()),
        });
        assert_eq!((e.code.as_str(), e.detail.as_deref()), ("P0001", Some("d")));
    }
}
