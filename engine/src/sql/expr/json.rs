//! The json and jsonb operators (`->`, `->>`, `#>`, `#>>`, `@>`, `<@`,
//! `?`, `?|`, `?&`, jsonb `||` and `-`) and functions (`jsonb_typeof`,
//! `jsonb_array_length`, `jsonb_build_object`, `to_jsonb`, `jsonb_pretty`,
//! `jsonb_extract_path`, ...), on the document tree of `types::Json`.
//!
//! Both types are `Value::Json` text; a jsonb value's text is already the
//! normalized document, so each call parses its arguments and a jsonb
//! result is normalized before it is printed. A json result is printed
//! the jsonb way too (`{"a": 1}`), where PostgreSQL would keep the spacing
//! of the input's slice.

use sqlparser::ast::BinaryOperator;

use super::arith::is_numeric;
use super::functions::Func;
use crate::SqlState;
use crate::sql::error::{SqlError, SqlResult};
use crate::types::{DataType, Json, JsonError, TypeError, Value};

/// A json/jsonb operator or function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonFunc {
    /// `doc -> 'key'`
    Field,
    /// `doc ->> 'key'`
    FieldText,
    /// `doc -> n`
    Element,
    /// `doc ->> n`
    ElementText,
    /// `doc #> '{a,1}'`
    PathArray,
    /// `doc #>> '{a,1}'`
    PathArrayText,
    /// `jsonb_extract_path(doc, VARIADIC steps)`
    ExtractPath,
    /// `jsonb_extract_path_text(doc, VARIADIC steps)`
    ExtractPathText,
    /// `a @> b` (`a <@ b` swaps its operands)
    Contains,
    /// `doc ? key`
    Exists,
    /// `doc ?| '{a,b}'`
    ExistsAny,
    /// `doc ?& '{a,b}'`
    ExistsAll,
    /// jsonb `a || b`
    Concat,
    /// jsonb `doc - 'key'`
    DeleteKey,
    /// jsonb `doc - n`
    DeleteIndex,
    /// `jsonb_typeof` / `json_typeof`
    Typeof,
    /// `jsonb_array_length` / `json_array_length`
    ArrayLength,
    /// `jsonb_build_object` / `json_build_object`
    BuildObject,
    /// `to_jsonb` / `to_json`
    ToJson,
    /// `jsonb_pretty`
    Pretty,
    /// How many rows `jsonb_object_keys` (`json_object_keys` when `jsonb`
    /// is false) returns: the object's keys, one per member of a json
    /// object, duplicates included.
    ObjectKeyCount {
        /// Which of the two the error messages name.
        jsonb: bool,
    },
    /// The object's `n`th key (from 1), the `n`th row of
    /// `jsonb_object_keys`.
    ObjectKeyAt,
}

impl JsonFunc {
    /// Whether NULL in gives NULL out; `jsonb_build_object` makes NULL a
    /// JSON null instead.
    pub fn is_strict(self) -> bool {
        self != JsonFunc::BuildObject
    }
}

fn is_json(t: DataType) -> bool {
    matches!(t, DataType::Json | DataType::Jsonb)
}

/// What `l op r` is when it is a json operator: the function, its result
/// type and the types the operands are cast to.
pub(crate) fn operator(
    op: &BinaryOperator,
    l: DataType,
    r: DataType,
) -> Option<(JsonFunc, DataType, [Option<DataType>; 2])> {
    use BinaryOperator as B;
    use DataType as T;
    let text = Some(T::Text);
    let jsonb = Some(T::Jsonb);
    Some(match op {
        B::Arrow | B::LongArrow if is_json(l) => {
            let long = matches!(op, B::LongArrow);
            let ty = if long { T::Text } else { l };
            if is_numeric(&r) {
                let f = if long {
                    JsonFunc::ElementText
                } else {
                    JsonFunc::Element
                };
                (f, ty, [None, Some(T::Int8)])
            } else {
                let f = if long {
                    JsonFunc::FieldText
                } else {
                    JsonFunc::Field
                };
                (f, ty, [None, text])
            }
        }
        B::HashArrow if is_json(l) => (JsonFunc::PathArray, l, [None, text]),
        B::HashLongArrow if is_json(l) => (JsonFunc::PathArrayText, T::Text, [None, text]),
        B::AtArrow | B::ArrowAt if l == T::Jsonb || r == T::Jsonb => {
            (JsonFunc::Contains, T::Bool, [jsonb, jsonb])
        }
        B::Question if l == T::Jsonb => (JsonFunc::Exists, T::Bool, [None, text]),
        B::QuestionPipe if l == T::Jsonb => (JsonFunc::ExistsAny, T::Bool, [None, text]),
        B::QuestionAnd if l == T::Jsonb => (JsonFunc::ExistsAll, T::Bool, [None, text]),
        B::StringConcat if l == T::Jsonb || r == T::Jsonb => {
            (JsonFunc::Concat, T::Jsonb, [jsonb, jsonb])
        }
        B::Minus if l == T::Jsonb && is_numeric(&r) => {
            (JsonFunc::DeleteIndex, T::Jsonb, [None, Some(T::Int8)])
        }
        B::Minus if l == T::Jsonb => (JsonFunc::DeleteKey, T::Jsonb, [None, text]),
        _ => return None,
    })
}

/// Resolves the json/jsonb function names.
pub(crate) fn resolve(
    name: &str,
    args: &[DataType],
) -> Option<(Func, DataType, Vec<Option<DataType>>)> {
    use DataType as T;
    let (base, ty) = match name.strip_prefix("jsonb_") {
        Some(rest) => (rest, T::Jsonb),
        None => (name.strip_prefix("json_")?, T::Json),
    };
    let f = Func::Json;
    let doc = Some(ty);
    Some(match (base, args) {
        ("typeof", [_]) => (f(JsonFunc::Typeof), T::Text, vec![doc]),
        ("array_length", [_]) => (f(JsonFunc::ArrayLength), T::Int4, vec![doc]),
        ("pretty", [_]) if ty == T::Jsonb => (f(JsonFunc::Pretty), T::Text, vec![doc]),
        ("build_object", _) => (f(JsonFunc::BuildObject), ty, vec![None; args.len()]),
        ("extract_path", [_, ..]) => {
            let mut casts = vec![Some(T::Text); args.len()];
            casts[0] = doc;
            (f(JsonFunc::ExtractPath), ty, casts)
        }
        ("extract_path_text", [_, ..]) => {
            let mut casts = vec![Some(T::Text); args.len()];
            casts[0] = doc;
            (f(JsonFunc::ExtractPathText), T::Text, casts)
        }
        _ => return None,
    })
}

/// `to_jsonb(x)` / `to_json(x)`, which have no prefix to strip.
pub(crate) fn resolve_to_json(
    name: &str,
    args: &[DataType],
) -> Option<(Func, DataType, Vec<Option<DataType>>)> {
    let ty = match name {
        "to_jsonb" => DataType::Jsonb,
        "to_json" => DataType::Json,
        _ => return None,
    };
    (args.len() == 1).then(|| (Func::Json(JsonFunc::ToJson), ty, vec![None]))
}

fn doc(v: &Value) -> SqlResult<Json> {
    match v {
        Value::Json(text) => Json::parse(text).map_err(|e| match e {
            JsonError::NulEscape => SqlError::Type(TypeError::JsonNulEscape),
            JsonError::Syntax => SqlError::Type(TypeError::InvalidText {
                type_name: "json",
                input: text.clone(),
            }),
        }),
        other => Err(SqlError::Internal(format!("json function on {other:?}"))),
    }
}

fn json_value(doc: Json) -> Value {
    Value::Json(doc.normalize().to_text())
}

fn optional_json(doc: Option<&Json>) -> Value {
    doc.map_or(Value::Null, |d| json_value(d.clone()))
}

fn optional_text(doc: Option<&Json>) -> Value {
    doc.and_then(Json::as_text).map_or(Value::Null, Value::Text)
}

/// The elements of a one-dimensional text array literal, `{a,"b c",1}`
/// (the form text arrays take until the engine has array types), read by
/// the catalog functions' array parser; a NULL element is the key `NULL`.
fn text_array(literal: &str) -> SqlResult<Vec<String>> {
    Ok(super::pg_describe::parse_array(literal)?
        .into_iter()
        .map(|e| e.unwrap_or_else(|| "NULL".to_owned()))
        .collect())
}

/// A SQL value as a JSON document (`to_jsonb`, `jsonb_build_object`'s
/// values): numbers and booleans as themselves, json as its document,
/// anything else as the string of its text form.
fn to_json(v: &Value) -> SqlResult<Json> {
    Ok(match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Json(_) => doc(v)?,
        Value::Float4(f) if !f.is_finite() => Json::String(v.to_string()),
        Value::Float8(f) if !f.is_finite() => Json::String(v.to_string()),
        Value::Int2(_)
        | Value::Int4(_)
        | Value::Int8(_)
        | Value::Float4(_)
        | Value::Float8(_)
        | Value::Numeric(_) => Json::Number(v.to_string()),
        Value::Text(s) => Json::String(s.clone()),
        other => Json::String(other.to_pg_text().unwrap_or_default()),
    })
}

/// `jsonb_build_object(k1, v1, k2, v2, ...)`.
fn build_object(args: &[Value]) -> SqlResult<Value> {
    if !args.len().is_multiple_of(2) {
        return Err(SqlError::data(
            SqlState::INVALID_PARAMETER_VALUE,
            "argument list must have even number of elements",
        ));
    }
    let mut members = Vec::with_capacity(args.len() / 2);
    for (i, pair) in args.chunks_exact(2).enumerate() {
        let key = match &pair[0] {
            Value::Null => {
                return Err(SqlError::data(
                    SqlState::INVALID_PARAMETER_VALUE,
                    format!("argument {}: key must not be null", 2 * i + 1),
                ));
            }
            Value::Text(s) => s.clone(),
            other => other.to_pg_text().unwrap_or_default(),
        };
        members.push((key, to_json(&pair[1])?));
    }
    Ok(json_value(Json::Object(members)))
}

/// Computes a json function; strict ones get non-NULL arguments only.
pub(crate) fn call(f: JsonFunc, args: &[Value]) -> SqlResult<Value> {
    if f == JsonFunc::BuildObject {
        return build_object(args);
    }
    let text = |i: usize| match args.get(i) {
        Some(Value::Text(s)) => s.as_str(),
        _ => "",
    };
    let int = |i: usize| match args.get(i) {
        Some(Value::Int8(n)) => *n,
        _ => 0,
    };
    if f == JsonFunc::ToJson {
        return Ok(json_value(to_json(&args[0])?));
    }
    let d = doc(&args[0])?;
    Ok(match f {
        JsonFunc::Field => optional_json(d.field(text(1))),
        JsonFunc::FieldText => optional_text(d.field(text(1))),
        JsonFunc::Element => optional_json(d.element(int(1))),
        JsonFunc::ElementText => optional_text(d.element(int(1))),
        JsonFunc::PathArray => optional_json(d.path(&text_array(text(1))?)),
        JsonFunc::PathArrayText => optional_text(d.path(&text_array(text(1))?)),
        JsonFunc::ExtractPath | JsonFunc::ExtractPathText => {
            let steps: Vec<String> = (1..args.len()).map(|i| text(i).to_owned()).collect();
            let found = d.path(&steps);
            if f == JsonFunc::ExtractPath {
                optional_json(found)
            } else {
                optional_text(found)
            }
        }
        JsonFunc::Contains => Value::Bool(d.normalize().contains(&doc(&args[1])?.normalize())),
        JsonFunc::Exists => Value::Bool(d.has_key(text(1))),
        JsonFunc::ExistsAny => Value::Bool(text_array(text(1))?.iter().any(|k| d.has_key(k))),
        JsonFunc::ExistsAll => Value::Bool(text_array(text(1))?.iter().all(|k| d.has_key(k))),
        JsonFunc::Concat => json_value(d.concat(doc(&args[1])?)),
        JsonFunc::DeleteKey => json_value(match d {
            Json::Object(members) => {
                Json::Object(members.into_iter().filter(|(k, _)| k != text(1)).collect())
            }
            Json::Array(items) => Json::Array(
                items
                    .into_iter()
                    .filter(|i| !matches!(i, Json::String(s) if s == text(1)))
                    .collect(),
            ),
            _ => return Err(cannot_delete()),
        }),
        JsonFunc::DeleteIndex => json_value(match d {
            Json::Array(mut items) => {
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let i = if int(1) < 0 { len + int(1) } else { int(1) };
                if let Ok(i) = usize::try_from(i)
                    && i < items.len()
                {
                    items.remove(i);
                }
                Json::Array(items)
            }
            Json::Object(_) => {
                return Err(SqlError::data(
                    SqlState::INVALID_PARAMETER_VALUE,
                    "cannot delete from object using integer index",
                ));
            }
            _ => return Err(cannot_delete()),
        }),
        JsonFunc::Typeof => Value::Text(d.type_name().to_owned()),
        JsonFunc::ArrayLength => match &d {
            Json::Array(items) => Value::Int4(i32::try_from(items.len()).unwrap_or(i32::MAX)),
            Json::Object(_) => {
                return Err(SqlError::data(
                    SqlState::INVALID_PARAMETER_VALUE,
                    "cannot get array length of a non-array",
                ));
            }
            _ => {
                return Err(SqlError::data(
                    SqlState::INVALID_PARAMETER_VALUE,
                    "cannot get array length of a scalar",
                ));
            }
        },
        JsonFunc::Pretty => Value::Text(d.normalize().to_pretty()),
        JsonFunc::ObjectKeyCount { jsonb } => match &d {
            Json::Object(members) => Value::Int4(i32::try_from(members.len()).unwrap_or(i32::MAX)),
            other => {
                let prefix = if jsonb { "jsonb" } else { "json" };
                let what = if matches!(other, Json::Array(_)) {
                    "an array"
                } else {
                    "a scalar"
                };
                return Err(SqlError::data(
                    SqlState::INVALID_PARAMETER_VALUE,
                    format!("cannot call {prefix}_object_keys on {what}"),
                ));
            }
        },
        JsonFunc::ObjectKeyAt => {
            let key = match &d {
                Json::Object(members) => usize::try_from(int(1) - 1)
                    .ok()
                    .and_then(|i| members.get(i)),
                _ => None,
            };
            key.map_or(Value::Null, |(k, _)| Value::Text(k.clone()))
        }
        JsonFunc::BuildObject | JsonFunc::ToJson => {
            return Err(SqlError::Internal(format!("{f:?} computed above")));
        }
    })
}

fn cannot_delete() -> SqlError {
    SqlError::data(
        SqlState::INVALID_PARAMETER_VALUE,
        "cannot delete from scalar",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_array_literals_split_like_postgres() {
        assert_eq!(text_array("{a,1, b }").unwrap(), ["a", "1", "b"]);
        assert_eq!(text_array(r#"{"x,y","q\"r"}"#).unwrap(), ["x,y", "q\"r"]);
        assert!(text_array("{}").unwrap().is_empty());
        assert!(text_array("a,b").is_err());
        assert!(text_array("{a,,b}").is_err());
    }

    #[test]
    fn build_object_makes_sql_null_json_null() {
        let args = [
            Value::Text("b".into()),
            Value::Null,
            Value::Text("a".into()),
            Value::Int4(1),
        ];
        assert_eq!(
            build_object(&args).unwrap().to_string(),
            r#"{"a": 1, "b": null}"#
        );
        let odd = build_object(&args[..3]).unwrap_err();
        assert_eq!(odd.sqlstate().code(), "22023");
    }
}
