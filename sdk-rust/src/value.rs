//! Values, SQL types and errors, and the conversions the macros use.

use crate::bindings::rustydb::extension::types;

pub use types::{Column, DataType, Interval, Rows, SqlError, Value};

impl SqlError {
    /// An error with SQLSTATE `sqlstate` (five characters of `0-9A-Z`; the
    /// host turns a malformed code into 38000).
    pub fn new(sqlstate: &str, message: impl Into<String>) -> SqlError {
        SqlError {
            sqlstate: sqlstate.to_owned(),
            message: message.into(),
            detail: None,
        }
    }

    /// PL/pgSQL's `RAISE EXCEPTION`: SQLSTATE P0001.
    pub fn raise(message: impl Into<String>) -> SqlError {
        SqlError::new("P0001", message)
    }

    /// Adds a DETAIL line.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> SqlError {
        self.detail = Some(detail.into());
        self
    }
}

impl Rows {
    /// No columns and no rows: what a procedure returns when it returns
    /// nothing.
    pub fn empty() -> Rows {
        Rows {
            columns: Vec::new(),
            rows: Vec::new(),
        }
    }
}

/// A Rust type with a SQL type, for the `describe` export.
pub trait SqlType {
    /// The SQL type of values of this Rust type.
    const DATA_TYPE: DataType;
}

/// Conversion from a SQL value, for arguments and query results.
pub trait FromValue: Sized {
    /// `value` as `Self`: exact types, integers widened, `float4` as
    /// `float8`, `json` as `String`.
    ///
    /// # Errors
    /// 22004 for NULL into a non-`Option`, 42804 for a value of another type.
    fn from_value(value: Value) -> Result<Self, SqlError>;
}

/// Conversion into a SQL value, for results and query parameters.
pub trait IntoValue {
    /// `self` as a SQL value.
    fn into_value(self) -> Value;
}

fn mismatch(expected: &str, got: &Value) -> SqlError {
    if matches!(got, Value::Null) {
        return SqlError::new("22004", format!("null value where {expected} is required"));
    }
    SqlError::new("42804", format!("expected {expected}, got {got:?}"))
}

macro_rules! scalar_type {
    ($t:ty, $dt:ident, $name:literal, $into:ident, [$($from:ident($v:ident) => $e:expr),+]) => {
        impl SqlType for $t {
            const DATA_TYPE: DataType = DataType::$dt;
        }
        impl FromValue for $t {
            fn from_value(value: Value) -> Result<Self, SqlError> {
                match value {
                    $(Value::$from($v) => Ok($e),)+
                    other => Err(mismatch($name, &other)),
                }
            }
        }
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::$into(self)
            }
        }
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$into(v)
            }
        }
    };
}

scalar_type!(bool, Boolean, "boolean", Boolean, [Boolean(v) => v]);
scalar_type!(i16, Int2, "smallint", Int2, [Int2(v) => v]);
scalar_type!(i32, Int4, "integer", Int4, [Int4(v) => v, Int2(v) => i32::from(v)]);
scalar_type!(i64, Int8, "bigint", Int8,
    [Int8(v) => v, Int4(v) => i64::from(v), Int2(v) => i64::from(v)]);
scalar_type!(f32, Float4, "real", Float4, [Float4(v) => v]);
scalar_type!(f64, Float8, "double precision", Float8, [Float8(v) => v, Float4(v) => f64::from(v)]);
scalar_type!(String, Text, "text", Text, [Text(v) => v, Json(v) => v]);
scalar_type!(Vec<u8>, Bytea, "bytea", Bytea, [Bytea(v) => v]);

/// A `numeric` value in PostgreSQL's text form (`-12.50`), so a guest
/// keeps every digit without agreeing on a binary decimal layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numeric(pub String);

impl SqlType for Numeric {
    const DATA_TYPE: DataType = DataType::Numeric;
}

impl FromValue for Numeric {
    fn from_value(value: Value) -> Result<Self, SqlError> {
        match value {
            Value::Numeric(v) => Ok(Numeric(v)),
            other => Err(mismatch("numeric", &other)),
        }
    }
}

impl IntoValue for Numeric {
    fn into_value(self) -> Value {
        Value::Numeric(self.0)
    }
}

impl From<Numeric> for Value {
    fn from(v: Numeric) -> Value {
        Value::Numeric(v.0)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl<T: SqlType> SqlType for Option<T> {
    const DATA_TYPE: DataType = T::DATA_TYPE;
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self, SqlError> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> Value {
        self.map_or(Value::Null, IntoValue::into_value)
    }
}

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self, SqlError> {
        Ok(value)
    }
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}
