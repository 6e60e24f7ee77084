//! `arith_rows`: `arith`'s `twice_plus_one` written against the plain
//! `scalar-functions` world, without the SDK, so it exports `call-scalar`
//! and not `call-columns`. The tests run both modules over the same rows:
//! the host's row path and its columnar path must give the same answers.

wit_bindgen::generate!({
    path: "../../wit",
    world: "rustydb:extension/scalar-functions",
});

use exports::rustydb::extension::{describe, scalar};
use rustydb::extension::types::{
    Column, DataType, RoutineDescription, RoutineKind, SqlError, Value, Volatility,
};

struct ArithRows;

impl describe::Guest for ArithRows {
    fn routines() -> Vec<RoutineDescription> {
        let column = |name: &str| Column {
            name: name.to_owned(),
            data_type: DataType::Int8,
        };
        vec![RoutineDescription {
            name: "twice_plus_one".to_owned(),
            kind: RoutineKind::Scalar,
            params: vec![column("x")],
            returns: vec![column("twice_plus_one")],
            volatility: Volatility::Immutable,
            strict: true,
        }]
    }
}

impl scalar::Guest for ArithRows {
    fn call_scalar(name: String, args: Vec<Vec<Value>>) -> Result<Vec<Value>, SqlError> {
        let error = |sqlstate: &str, message: String| SqlError {
            sqlstate: sqlstate.to_owned(),
            message,
            detail: None,
        };
        if name != "twice_plus_one" {
            return Err(error("42883", format!("no function \"{name}\"")));
        }
        args.into_iter()
            .map(|row| match row.as_slice() {
                [Value::Null] => Ok(Value::Null),
                [Value::Int8(x)] => x
                    .checked_mul(2)
                    .and_then(|y| y.checked_add(1))
                    .map(Value::Int8)
                    .ok_or_else(|| error("22003", "bigint out of range".to_owned())),
                other => Err(error(
                    "42804",
                    format!("expected one bigint, got {other:?}"),
                )),
            })
            .collect()
    }
}

export!(ArithRows);
