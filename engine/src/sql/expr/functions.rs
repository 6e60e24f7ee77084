//! Built-in scalar functions: how a name and argument types resolve to a
//! function and result type, and what each computes.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::arith::{is_numeric, math_error, numeric_significant, to_decimal, to_f64};
use crate::SqlState;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::ExecCtx;
use crate::types::{DataType, Value};

/// A built-in scalar function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `length(text)`, `char_length`
    Length,
    /// `lower(text)`
    Lower,
    /// `upper(text)`
    Upper,
    /// `substr(text, from [, count])`, `substring`
    Substr,
    /// `trim`/`btrim(text [, chars])`
    Btrim,
    /// `ltrim`
    Ltrim,
    /// `rtrim`
    Rtrim,
    /// `replace(text, from, to)`
    Replace,
    /// `lpad(text, length [, fill])`
    Lpad,
    /// `rpad(text, length [, fill])`
    Rpad,
    /// `repeat(text, count)`
    Repeat,
    /// `position(sub IN text)`, `strpos(text, sub)` (arguments normalized
    /// to `(text, sub)`)
    Strpos,
    /// `concat(...)`
    Concat,
    /// `abs(x)`
    Abs,
    /// `round(x [, digits])`
    Round,
    /// `trunc(x)`
    Trunc,
    /// `floor(x)`
    Floor,
    /// `ceil(x)`
    Ceil,
    /// `mod(a, b)`
    Mod,
    /// `power(a, b)`
    Power,
    /// `sqrt(x)`
    Sqrt,
    /// `coalesce(...)`
    Coalesce,
    /// `nullif(a, b)`
    Nullif,
    /// `greatest(...)`
    Greatest,
    /// `least(...)`
    Least,
    /// `now()`, `current_timestamp`
    Now,
    /// `current_date`
    CurrentDate,
    /// `nextval('seq')`: the argument is bound to the sequence id.
    Nextval,
    /// `currval('seq')`: the argument is bound to the sequence id.
    Currval,
    /// `setval('seq', value [, is_called])`: the first argument is bound
    /// to the sequence id.
    Setval,
    /// `lastval()`: the session's last `nextval`, of whichever sequence.
    Lastval,
    /// A PostgreSQL catalog, session or regex function
    /// ([`super::pg_functions`]).
    Pg(super::pg_functions::PgFunc),
    /// A mathematical function or operator ([`super::math`]).
    Math(super::math::MathFunc),
    /// A string function ([`super::strings`]).
    Str(super::strings::StrFunc),
    /// A date/time function ([`super::datetime`]).
    Dt(super::datetime::DtFunc),
    /// A formatting function ([`super::formatting`]).
    Fmt(super::formatting::FmtFunc),
    /// A json/jsonb operator or function ([`super::json`]).
    Json(super::json::JsonFunc),
}

impl Func {
    /// Whether two calls with the same arguments may differ.
    pub fn is_volatile(self) -> bool {
        matches!(
            self,
            Func::Nextval
                | Func::Currval
                | Func::Setval
                | Func::Lastval
                | Func::Now
                | Func::CurrentDate
                | Func::Math(super::math::MathFunc::Random)
                | Func::Str(super::strings::StrFunc::GenRandomUuid)
                | Func::Dt(super::datetime::DtFunc::LocalTimestamp)
                | Func::Pg(super::pg_functions::PgFunc::SetConfig)
        )
    }
}

fn undefined(name: &str, args: &[DataType]) -> SqlError {
    let list: Vec<&str> = args.iter().map(DataType::name).collect();
    SqlError::UndefinedFunction(format!(
        "function {name}({}) does not exist",
        list.join(", ")
    ))
}

/// Resolves `name(args)` to a function and its result type; also returns
/// the types the arguments must be cast to (`None`: keep as is).
pub fn resolve_function(
    name: &str,
    args: &[DataType],
) -> SqlResult<(Func, DataType, Vec<Option<DataType>>)> {
    use DataType as T;
    let n = args.len();
    let text_args = |k: usize| vec![Some(T::Text); k];
    let all_strings = args.iter().all(DataType::is_string);
    let numeric = args.first().is_some_and(is_numeric);
    let same = |f: Func| {
        let ty = args.first().copied().unwrap_or(T::Text);
        (f, ty, vec![None; n])
    };
    let numeric_ty = T::Numeric {
        precision: None,
        scale: None,
    };
    Ok(match (name, n) {
        ("length" | "char_length" | "character_length", 1) if all_strings => {
            (Func::Length, T::Int4, text_args(1))
        }
        ("lower", 1) if all_strings => (Func::Lower, T::Text, text_args(1)),
        ("upper", 1) if all_strings => (Func::Upper, T::Text, text_args(1)),
        ("substr" | "substring", 2 | 3) if args[0].is_string() => {
            let mut casts = vec![Some(T::Text)];
            casts.extend(std::iter::repeat_n(Some(T::Int4), n - 1));
            (Func::Substr, T::Text, casts)
        }
        ("btrim" | "trim", 1 | 2) if all_strings => (Func::Btrim, T::Text, text_args(n)),
        ("ltrim", 1 | 2) if all_strings => (Func::Ltrim, T::Text, text_args(n)),
        ("rtrim", 1 | 2) if all_strings => (Func::Rtrim, T::Text, text_args(n)),
        ("replace", 3) if all_strings => (Func::Replace, T::Text, text_args(3)),
        ("lpad" | "rpad", 2 | 3) if args[0].is_string() && is_numeric(&args[1]) => {
            let mut casts = vec![Some(T::Text), Some(T::Int4)];
            if n == 3 {
                casts.push(Some(T::Text));
            }
            let f = if name == "lpad" {
                Func::Lpad
            } else {
                Func::Rpad
            };
            (f, T::Text, casts)
        }
        ("repeat", 2) if args[0].is_string() && is_numeric(&args[1]) => {
            (Func::Repeat, T::Text, vec![Some(T::Text), Some(T::Int4)])
        }
        ("strpos" | "position", 2) if all_strings => (Func::Strpos, T::Int4, text_args(2)),
        ("concat", _) => (Func::Concat, T::Text, vec![None; n]),
        ("abs", 1) if numeric => same(Func::Abs),
        ("round", 1) if numeric => match args[0] {
            T::Float4 | T::Float8 => (Func::Round, T::Float8, vec![Some(T::Float8)]),
            _ => (Func::Round, numeric_ty, vec![Some(numeric_ty)]),
        },
        ("round", 2) if numeric && is_numeric(&args[1]) => (
            Func::Round,
            numeric_ty,
            vec![Some(numeric_ty), Some(T::Int4)],
        ),
        ("trunc", 1) if numeric => match args[0] {
            T::Float4 | T::Float8 => (Func::Trunc, T::Float8, vec![Some(T::Float8)]),
            _ => (Func::Trunc, numeric_ty, vec![Some(numeric_ty)]),
        },
        ("trunc", 2) if numeric && is_numeric(&args[1]) => (
            Func::Trunc,
            numeric_ty,
            vec![Some(numeric_ty), Some(T::Int4)],
        ),
        ("floor" | "ceil" | "ceiling", 1) if numeric => {
            let f = if name == "floor" {
                Func::Floor
            } else {
                Func::Ceil
            };
            match args[0] {
                T::Float4 | T::Float8 => (f, T::Float8, vec![Some(T::Float8)]),
                _ => (f, numeric_ty, vec![Some(numeric_ty)]),
            }
        }
        ("mod", 2) if numeric && is_numeric(&args[1]) => {
            let ty = super::super::binder::promote(args[0], args[1]);
            (Func::Mod, ty, vec![Some(ty), Some(ty)])
        }
        ("power" | "pow", 2) if numeric && is_numeric(&args[1]) => {
            if args.iter().any(|t| matches!(t, T::Numeric { .. })) {
                (Func::Power, numeric_ty, vec![Some(numeric_ty); 2])
            } else {
                (Func::Power, T::Float8, vec![Some(T::Float8); 2])
            }
        }
        ("sqrt", 1) if numeric => match args[0] {
            T::Numeric { .. } => (Func::Sqrt, numeric_ty, vec![Some(numeric_ty)]),
            _ => (Func::Sqrt, T::Float8, vec![Some(T::Float8)]),
        },
        ("now" | "current_timestamp" | "transaction_timestamp", 0) => {
            (Func::Now, T::TimestampTz, vec![])
        }
        ("current_date", 0) => (Func::CurrentDate, T::Date, vec![]),
        // Names the built-ins do not know may be PostgreSQL's catalog and
        // session functions.
        _ => {
            return super::math::resolve(name, args)
                .or_else(|| super::strings::resolve(name, args))
                .or_else(|| super::datetime::resolve(name, args))
                .or_else(|| super::formatting::resolve(name, args))
                .or_else(|| super::json::resolve(name, args))
                .or_else(|| super::json::resolve_to_json(name, args))
                .or_else(|| super::pg_functions::resolve(name, args))
                .ok_or_else(|| undefined(name, args));
        }
    })
}

/// Computes a function on evaluated arguments.
pub(super) fn call(func: Func, args: Vec<Value>, cx: &ExecCtx<'_>) -> SqlResult<Value> {
    let now = cx.now;
    match func {
        Func::Pg(super::pg_functions::PgFunc::CurrentSetting) => {
            return cx.settings.current_setting(&args);
        }
        Func::Pg(super::pg_functions::PgFunc::SetConfig) => {
            return cx.settings.set_config(&args, cx.catalog, cx.session_user);
        }
        Func::Pg(f) => {
            return super::pg_functions::call(f, &args, (cx.user, cx.session_user), cx.catalog);
        }
        Func::Str(f) if !f.is_strict() => return super::strings::call(f, &args),
        Func::Json(f) if !f.is_strict() => return super::json::call(f, &args),
        Func::Coalesce => {
            return Ok(args
                .into_iter()
                .find(|v| !v.is_null())
                .unwrap_or(Value::Null));
        }
        Func::Concat => {
            let mut s = String::new();
            for a in &args {
                s.push_str(&a.to_pg_text().unwrap_or_default());
            }
            return Ok(Value::Text(s));
        }
        Func::Greatest | Func::Least => {
            let mut best: Option<Value> = None;
            for a in args.into_iter().filter(|v| !v.is_null()) {
                best = Some(match best {
                    None => a,
                    Some(b) => {
                        let ord = a.total_cmp(&b);
                        let take = if func == Func::Greatest {
                            ord.is_gt()
                        } else {
                            ord.is_lt()
                        };
                        if take { a } else { b }
                    }
                });
            }
            return Ok(best.unwrap_or(Value::Null));
        }
        Func::Nullif => {
            let mut it = args.into_iter();
            let a = it.next().unwrap_or(Value::Null);
            let b = it.next().unwrap_or(Value::Null);
            return Ok(if a.sql_cmp(&b).is_some_and(|o| o.is_eq()) {
                Value::Null
            } else {
                a
            });
        }
        Func::Now => return Ok(Value::TimestampTz(now)),
        Func::CurrentDate => {
            let today = crate::types::session_zone().to_local(now);
            return Ok(Value::Date(today.div_euclid(86_400_000_000) as i32));
        }
        _ => {}
    }
    call_strict(func, &args, now)
}

/// Whether `func` is computed by [`call_strict`]: NULL in, NULL out, from
/// borrowed arguments, so a caller may keep them on its stack.
pub(super) fn is_strict(func: Func) -> bool {
    !matches!(
        func,
        Func::Pg(_)
            | Func::Coalesce
            | Func::Concat
            | Func::Greatest
            | Func::Least
            | Func::Nullif
            | Func::Now
            | Func::CurrentDate
            | Func::Nextval
            | Func::Currval
            | Func::Setval
            | Func::Lastval
    ) && !matches!(func, Func::Str(f) if !f.is_strict())
        && !matches!(func, Func::Json(f) if !f.is_strict())
}

/// Computes a strict function (see [`is_strict`]); `now` is the
/// statement's clock.
pub(super) fn call_strict(func: Func, args: &[Value], now: i64) -> SqlResult<Value> {
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let s = |i: usize| match args.get(i) {
        Some(Value::Text(s)) => s.as_str(),
        _ => "",
    };
    let int = |i: usize| match args.get(i) {
        Some(Value::Int4(n)) => i64::from(*n),
        _ => 0,
    };
    Ok(match func {
        Func::Math(f) => super::math::call(f, args)?,
        Func::Dt(f) => super::datetime::call(f, args, now)?,
        Func::Fmt(f) => super::formatting::call(f, args)?,
        Func::Str(f) => super::strings::call(f, args)?,
        Func::Json(f) => super::json::call(f, args)?,
        Func::Length => Value::Int4(s(0).chars().count() as i32),
        Func::Lower => Value::Text(s(0).to_lowercase()),
        Func::Upper => Value::Text(s(0).to_uppercase()),
        Func::Substr => {
            let chars: Vec<char> = s(0).chars().collect();
            let start = int(1);
            let end = if args.len() == 3 {
                let count = int(2);
                if count < 0 {
                    return Err(math_error(
                        SqlState::SUBSTRING_ERROR,
                        "negative substring length not allowed",
                    ));
                }
                start.saturating_add(count)
            } else {
                i64::MAX
            };
            let from = (start.max(1) - 1) as usize;
            let to = (end.max(1) - 1).min(chars.len() as i64) as usize;
            Value::Text(
                chars
                    .get(from..to.max(from))
                    .unwrap_or(&[])
                    .iter()
                    .collect(),
            )
        }
        Func::Btrim | Func::Ltrim | Func::Rtrim => {
            let set: Vec<char> = if args.len() == 2 {
                s(1).chars().collect()
            } else {
                vec![' ']
            };
            let t = s(0);
            let t = match func {
                Func::Ltrim => t.trim_start_matches(set.as_slice()),
                Func::Rtrim => t.trim_end_matches(set.as_slice()),
                _ => t.trim_matches(set.as_slice()),
            };
            Value::Text(t.to_owned())
        }
        Func::Replace => Value::Text(if s(1).is_empty() {
            s(0).to_owned()
        } else {
            s(0).replace(s(1), s(2))
        }),
        Func::Lpad | Func::Rpad => {
            // PostgreSQL pads to `length` characters with the fill
            // repeated, or cuts the string down to it (on the right, for
            // both functions).
            let len = usize::try_from(int(1)).unwrap_or(0);
            if len > (1 << 30) - 1 {
                return Err(math_error(
                    SqlState::PROGRAM_LIMIT_EXCEEDED,
                    "requested length too large",
                ));
            }
            let fill: Vec<char> = if args.len() == 3 {
                s(2).chars().collect()
            } else {
                vec![' ']
            };
            let text: Vec<char> = s(0).chars().collect();
            if text.len() >= len || fill.is_empty() {
                Value::Text(text.iter().take(len).collect())
            } else {
                let pad: String = fill.iter().cycle().take(len - text.len()).collect();
                let text: String = text.into_iter().collect();
                Value::Text(if func == Func::Lpad {
                    pad + &text
                } else {
                    text + &pad
                })
            }
        }
        Func::Repeat => {
            let count = usize::try_from(int(1)).unwrap_or(0);
            let total = s(0).len().saturating_mul(count);
            // A result past PostgreSQL's 1 GB field limit is an error, not
            // an allocation failure.
            if total > (1 << 30) - 1 {
                return Err(math_error(
                    SqlState::PROGRAM_LIMIT_EXCEEDED,
                    "requested length too large",
                ));
            }
            Value::Text(s(0).repeat(count))
        }
        Func::Strpos => Value::Int4(match s(0).find(s(1)) {
            Some(byte) => s(0)[..byte].chars().count() as i32 + 1,
            None => 0,
        }),
        Func::Abs => match &args[0] {
            Value::Int2(i) => Value::Int2(i.checked_abs().ok_or_else(|| range("smallint"))?),
            Value::Int4(i) => Value::Int4(i.checked_abs().ok_or_else(|| range("integer"))?),
            Value::Int8(i) => Value::Int8(i.checked_abs().ok_or_else(|| range("bigint"))?),
            Value::Float4(f) => Value::Float4(f.abs()),
            Value::Float8(f) => Value::Float8(f.abs()),
            Value::Numeric(d) => Value::Numeric(d.abs()),
            _ => Value::Null,
        },
        Func::Round | Func::Trunc | Func::Floor | Func::Ceil => match &args[0] {
            Value::Float8(f) => Value::Float8(match func {
                Func::Round => f.round_ties_even(),
                Func::Trunc => f.trunc(),
                Func::Floor => f.floor(),
                _ => f.ceil(),
            }),
            Value::Numeric(d) => {
                let dp = if args.len() == 2 { int(1) } else { 0 };
                Value::Numeric(round_numeric(*d, func, dp))
            }
            _ => Value::Null,
        },
        Func::Mod => super::arith::arith(super::BinOp::Mod, args[0].clone(), args[1].clone())?,
        Func::Power => match (&args[0], &args[1]) {
            (Value::Float8(a), Value::Float8(b)) => {
                if *a == 0.0 && *b < 0.0 {
                    return Err(math_error(
                        SqlState::INVALID_ARGUMENT_FOR_POWER,
                        "zero raised to a negative power is undefined",
                    ));
                }
                if *a < 0.0 && b.fract() != 0.0 {
                    return Err(math_error(
                        SqlState::INVALID_ARGUMENT_FOR_POWER,
                        "a negative number raised to a non-integer power yields a complex result",
                    ));
                }
                Value::Float8(a.powf(*b))
            }
            (a, b) => {
                let (Some(x), Some(y)) = (to_f64(a), to_f64(b)) else {
                    return Ok(Value::Null);
                };
                let r = Decimal::try_from(x.powf(y)).map_err(|_| {
                    math_error(
                        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                        "value overflows numeric format",
                    )
                })?;
                Value::Numeric(numeric_significant(r)?)
            }
        },
        Func::Sqrt => {
            let x = to_f64(&args[0]).unwrap_or(0.0);
            if x < 0.0 {
                return Err(math_error(
                    SqlState::INVALID_ARGUMENT_FOR_POWER,
                    "cannot take square root of a negative number",
                ));
            }
            match &args[0] {
                Value::Numeric(_) => {
                    let r = to_decimal(&Value::Float8(x.sqrt()))?.unwrap_or_default();
                    Value::Numeric(r.round_dp(16))
                }
                _ => Value::Float8(x.sqrt()),
            }
        }
        Func::Coalesce
        | Func::Concat
        | Func::Greatest
        | Func::Least
        | Func::Nullif
        | Func::Now
        | Func::CurrentDate
        | Func::Pg(_)
        | Func::Nextval
        | Func::Currval
        | Func::Setval
        | Func::Lastval => return Err(SqlError::Internal(format!("{func:?} evaluated here"))),
    })
}

fn range(name: &'static str) -> SqlError {
    SqlError::Type(crate::types::TypeError::OutOfRange { type_name: name })
}

fn round_numeric(d: Decimal, func: Func, dp: i64) -> Decimal {
    let strategy = match func {
        Func::Round => RoundingStrategy::MidpointAwayFromZero,
        Func::Trunc => RoundingStrategy::ToZero,
        Func::Floor => RoundingStrategy::ToNegativeInfinity,
        _ => RoundingStrategy::ToPositiveInfinity,
    };
    if dp >= 0 {
        let dp = dp.min(28) as u32;
        let mut r = d.round_dp_with_strategy(dp, strategy);
        r.rescale(dp);
        r
    } else {
        let factor = Decimal::from(10u64.pow(dp.unsigned_abs().min(18) as u32));
        let r = (d / factor).round_dp_with_strategy(0, strategy) * factor;
        r.to_i128().map_or(r, Decimal::from)
    }
}
