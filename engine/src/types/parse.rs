//! PostgreSQL text input: the type input functions (`int4in`, `boolin`,
//! ...) for the forms clients and dumps actually send.

use rust_decimal::Decimal;

use super::cast::apply_typmod;
use super::datatype::DataType;
use super::datetime::{parse_date, parse_timestamp};
use super::error::TypeError;
use super::interval::parse_interval;
use super::json::{Json, JsonError, is_valid_json};
use super::value::Value;

/// The whitespace C's `isspace` knows, which PostgreSQL trims around
/// numbers, booleans and dates.
pub(crate) fn pg_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
}

/// Parses PostgreSQL text into a value of `ty`, as the type's input function
/// does, including its modifier: `varchar(n)` rejects longer text (22001)
/// and `numeric(p,s)` rounds or rejects (22003).
pub fn parse(text: &str, ty: &DataType) -> Result<Value, TypeError> {
    let value = match ty {
        DataType::Bool => Value::Bool(parse_bool(text)?),
        DataType::Int2 => Value::Int2(parse_int(text, ty)?),
        DataType::Int4 => Value::Int4(parse_int(text, ty)?),
        DataType::Int8 => Value::Int8(parse_int(text, ty)?),
        DataType::Float4 => Value::Float4(parse_float(text, ty)?),
        DataType::Float8 => Value::Float8(parse_float(text, ty)?),
        DataType::Numeric { .. } => Value::Numeric(parse_numeric(text)?),
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => {
            Value::Text(check_text(text)?.to_owned())
        }
        DataType::Bytea => Value::Bytea(parse_bytea(text)?),
        DataType::Date => Value::Date(parse_date(text)?),
        DataType::Timestamp => Value::Timestamp(parse_timestamp(text, false)?),
        DataType::TimestampTz => Value::TimestampTz(parse_timestamp(text, true)?),
        DataType::Interval => Value::Interval(parse_interval(text)?),
        DataType::Json => {
            if !is_valid_json(check_text(text)?) {
                return Err(TypeError::InvalidText {
                    type_name: ty.name(),
                    input: text.to_owned(),
                });
            }
            Value::Json(text.to_owned())
        }
        DataType::Jsonb => Value::Json(parse_jsonb(check_text(text)?)?),
    };
    apply_typmod(value, ty, true)
}

/// PostgreSQL text cannot hold NUL, which a Rust string (say, from a Wasm
/// guest) can.
pub(crate) fn check_text(text: &str) -> Result<&str, TypeError> {
    if text.contains('\0') {
        return Err(TypeError::NulCharacter);
    }
    Ok(text)
}

fn parse_bool(text: &str) -> Result<bool, TypeError> {
    // Any unambiguous prefix of true/false/yes/no, and on/off from two
    // letters, as `boolin` allows.
    match pg_trim(text).to_ascii_lowercase().as_str() {
        "t" | "tr" | "tru" | "true" | "y" | "ye" | "yes" | "on" | "1" => Ok(true),
        "f" | "fa" | "fal" | "fals" | "false" | "n" | "no" | "of" | "off" | "0" => Ok(false),
        _ => Err(TypeError::InvalidText {
            type_name: "boolean",
            input: text.to_owned(),
        }),
    }
}

/// Decimal integers with optional sign, surrounding space and, as in
/// PostgreSQL 16, `_` between digits.
fn parse_int<T: TryFrom<i128>>(text: &str, ty: &DataType) -> Result<T, TypeError> {
    let invalid = || TypeError::InvalidText {
        type_name: ty.name(),
        input: text.to_owned(),
    };
    let bytes = pg_trim(text).as_bytes();
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, bytes),
    };
    let well_formed = digits.first().is_some_and(u8::is_ascii_digit)
        && digits.last().is_some_and(u8::is_ascii_digit)
        && digits.iter().all(|b| b.is_ascii_digit() || *b == b'_')
        && !digits.windows(2).any(|w| w == b"__");
    if !well_formed {
        return Err(invalid());
    }
    // Saturating keeps long digit strings out of range rather than wrapping.
    let magnitude = digits
        .iter()
        .filter(|b| b.is_ascii_digit())
        .fold(0i128, |acc, b| {
            (acc * 10 + i128::from(b - b'0')).min(i128::from(u64::MAX))
        });
    let value = if negative { -magnitude } else { magnitude };
    T::try_from(value).map_err(|_| TypeError::InputOutOfRange {
        type_name: ty.name(),
        input: text.to_owned(),
    })
}

/// Floats as `strtod` reads them, with `Infinity` and `NaN`; a literal too
/// large or too small (but not zero) for the type is out of range.
fn parse_float<T>(text: &str, ty: &DataType) -> Result<T, TypeError>
where
    T: std::str::FromStr + Into<f64> + Copy,
{
    let trimmed = pg_trim(text);
    let value: T = trimmed.parse().map_err(|_| TypeError::InvalidText {
        type_name: ty.name(),
        input: text.to_owned(),
    })?;
    let v: f64 = value.into();
    let lower = trimmed.to_ascii_lowercase();
    let literal_inf = matches!(lower.trim_start_matches(['+', '-']), "inf" | "infinity");
    let mantissa = lower.split('e').next().unwrap_or("");
    let nonzero_digits = mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    if (v.is_infinite() && !literal_inf) || (v == 0.0 && nonzero_digits) {
        return Err(TypeError::FloatInputOutOfRange {
            type_name: ty.name(),
            input: text.to_owned(),
        });
    }
    Ok(value)
}

/// `jsonb` input: the document's normalized text (see [`Json`]).
pub(crate) fn parse_jsonb(text: &str) -> Result<String, TypeError> {
    match Json::parse(text) {
        Ok(doc) => Ok(doc.normalize().to_text()),
        Err(JsonError::NulEscape) => Err(TypeError::JsonNulEscape),
        // PostgreSQL names json, not jsonb, in this message.
        Err(JsonError::Syntax) => Err(TypeError::InvalidText {
            type_name: "json",
            input: text.to_owned(),
        }),
    }
}

/// `numeric` input: sign, digits, point, exponent. The scale written is the
/// scale kept (`1.50` stays `1.50`), down to the 28 digits `Decimal` has.
pub(crate) fn parse_numeric(text: &str) -> Result<Decimal, TypeError> {
    let invalid = || TypeError::InvalidText {
        type_name: "numeric",
        input: text.to_owned(),
    };
    let trimmed = pg_trim(text);
    let lower = trimmed.to_ascii_lowercase();
    if matches!(
        lower.trim_start_matches(['+', '-']),
        "nan" | "inf" | "infinity"
    ) {
        return Err(TypeError::Unsupported("numeric NaN and Infinity"));
    }
    let bytes = trimmed.as_bytes();
    let (negative, rest) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, bytes),
    };
    let mut digits = Vec::new();
    let mut exponent: i64 = 0;
    let mut seen_digit = false;
    let mut seen_point = false;
    let mut i = 0;
    while let Some(&b) = rest.get(i) {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                if !(digits.is_empty() && b == b'0') {
                    digits.push(b - b'0');
                }
                exponent -= i64::from(seen_point);
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if !seen_digit {
        return Err(invalid());
    }
    if let Some(b'e' | b'E') = rest.get(i) {
        i += 1;
        let negative_exp = match rest.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i64 = 0;
        while let Some(d @ b'0'..=b'9') = rest.get(i) {
            e = (e * 10 + i64::from(d - b'0')).min(1_000_000);
            i += 1;
        }
        if i == start {
            return Err(invalid());
        }
        exponent += if negative_exp { -e } else { e };
    }
    if i != rest.len() {
        return Err(invalid());
    }
    decimal_from_digits(negative, &digits, exponent).ok_or(TypeError::NumericOverflow)
}

/// `digits * 10^exponent` as a `Decimal`, rounding half away from zero where
/// there are more digits than it holds; `None` if the integer part does not
/// fit.
fn decimal_from_digits(negative: bool, digits: &[u8], exponent: i64) -> Option<Decimal> {
    const MAX_DIGITS: i64 = 29;
    let build = |m: u128, scale: u32| {
        let m = i128::try_from(m).ok()?;
        let negative = negative && m != 0;
        Decimal::try_from_i128_with_scale(if negative { -m } else { m }, scale).ok()
    };
    let len = i64::try_from(digits.len()).ok()?;
    if exponent >= 0 {
        if digits.is_empty() {
            return Some(Decimal::ZERO);
        }
        if len + exponent > MAX_DIGITS {
            return None;
        }
        let m = digits.iter().fold(0u128, |m, d| m * 10 + u128::from(*d));
        return build(
            m.checked_mul(10u128.checked_pow(u32::try_from(exponent).ok()?)?)?,
            0,
        );
    }
    let mut scale = -exponent;
    let mut keep = len;
    if scale > 28 {
        keep -= scale - 28;
        scale = 28;
    }
    if keep > MAX_DIGITS {
        let extra = (keep - MAX_DIGITS).min(scale);
        keep -= extra;
        scale -= extra;
    }
    loop {
        if keep > MAX_DIGITS {
            return None;
        }
        let kept = usize::try_from(keep.max(0)).ok()?;
        let m = digits
            .get(..kept)?
            .iter()
            .fold(0u128, |m, d| m * 10 + u128::from(*d));
        let round_up = keep >= 0 && digits.get(kept).is_some_and(|d| *d >= 5);
        let m = m + u128::from(round_up);
        if m < 1 << 96 {
            return build(m, u32::try_from(scale).ok()?);
        }
        if scale == 0 {
            return None;
        }
        keep -= 1;
        scale -= 1;
    }
}

/// `\x` hex (whitespace allowed between bytes) or the older escape format
/// with `\\` and `\ooo` octal escapes.
fn parse_bytea(text: &str) -> Result<Vec<u8>, TypeError> {
    if let Some(hex) = text.strip_prefix("\\x") {
        let mut out = Vec::with_capacity(hex.len() / 2);
        let mut chars = hex.chars().filter(|c| !c.is_ascii_whitespace());
        while let Some(hi) = chars.next() {
            let digit = |c: char| {
                c.to_digit(16).ok_or_else(|| {
                    TypeError::InvalidBytea(format!("invalid hexadecimal digit: \"{c}\""))
                })
            };
            let hi = digit(hi)?;
            let lo = chars.next().ok_or_else(|| {
                TypeError::InvalidBytea("invalid hexadecimal data: odd number of digits".to_owned())
            })?;
            out.push((hi * 16 + digit(lo)?) as u8);
        }
        return Ok(out);
    }
    let invalid = || TypeError::InvalidText {
        type_name: "bytea",
        input: text.to_owned(),
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let octal = bytes.get(i + 1..i + 4).ok_or_else(invalid)?;
            let valid = matches!(octal, [b'0'..=b'3', b'0'..=b'7', b'0'..=b'7']);
            if !valid {
                return Err(invalid());
            }
            out.push(octal.iter().fold(0u8, |acc, d| (acc << 3) | (d - b'0')));
            i += 4;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(text: &str, ty: DataType) -> Result<Value, TypeError> {
        parse(text, &ty)
    }

    #[test]
    fn integers() {
        assert_eq!(p(" 42 ", DataType::Int4).unwrap(), Value::Int4(42));
        assert_eq!(p("-32768", DataType::Int2).unwrap(), Value::Int2(-32768));
        assert_eq!(p("1_000", DataType::Int8).unwrap(), Value::Int8(1000));
        assert_eq!(
            p("-9223372036854775808", DataType::Int8).unwrap(),
            Value::Int8(i64::MIN)
        );
        let e = p("abc", DataType::Int4).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid input syntax for type integer: \"abc\""
        );
        assert_eq!(e.sqlstate().code(), "22P02");
        let e = p("2147483648", DataType::Int4).unwrap_err();
        assert_eq!(
            e.to_string(),
            "value \"2147483648\" is out of range for type integer"
        );
        assert_eq!(e.sqlstate().code(), "22003");
        let huge = "9".repeat(100);
        assert_eq!(
            p(&huge, DataType::Int8).unwrap_err().sqlstate().code(),
            "22003"
        );
        for bad in ["", " ", "-", "1_", "_1", "1__0", "1.0", "1e3", "0x10"] {
            assert!(p(bad, DataType::Int4).is_err(), "{bad}");
        }
    }

    #[test]
    fn booleans() {
        for t in ["true", "TRUE", " yes ", "on", "1", "t", "tr", "y"] {
            assert_eq!(p(t, DataType::Bool).unwrap(), Value::Bool(true), "{t}");
        }
        for f in ["false", "no", "off", "of", "0", "f", "N"] {
            assert_eq!(p(f, DataType::Bool).unwrap(), Value::Bool(false), "{f}");
        }
        for bad in ["o", "2", "truee", ""] {
            assert_eq!(
                p(bad, DataType::Bool).unwrap_err().sqlstate().code(),
                "22P02"
            );
        }
    }

    #[test]
    fn floats() {
        assert_eq!(p(" 1.5 ", DataType::Float8).unwrap(), Value::Float8(1.5));
        assert_eq!(
            p("-Infinity", DataType::Float8).unwrap(),
            Value::Float8(f64::NEG_INFINITY)
        );
        assert_eq!(
            p("inf", DataType::Float4).unwrap(),
            Value::Float4(f32::INFINITY)
        );
        assert!(matches!(p("NaN", DataType::Float8).unwrap(), Value::Float8(f) if f.is_nan()));
        assert_eq!(
            p("1e-320", DataType::Float8).unwrap(),
            Value::Float8(1e-320)
        );
        let e = p("1e400", DataType::Float8).unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"1e400\" is out of range for type double precision"
        );
        assert_eq!(
            p("1e-400", DataType::Float8).unwrap_err().sqlstate().code(),
            "22003"
        );
        assert_eq!(
            p("1e39", DataType::Float4).unwrap_err().sqlstate().code(),
            "22003"
        );
        assert_eq!(p("0e999", DataType::Float8).unwrap(), Value::Float8(0.0));
        assert_eq!(
            p("x", DataType::Float4).unwrap_err().to_string(),
            "invalid input syntax for type real: \"x\""
        );
    }

    #[test]
    fn numerics() {
        let n = |s: &str| match p(
            s,
            DataType::Numeric {
                precision: None,
                scale: None,
            },
        ) {
            Ok(v) => v.to_string(),
            Err(e) => e.to_string(),
        };
        assert_eq!(n(" 1.50 "), "1.50");
        assert_eq!(n("-0.0"), "0.0");
        assert_eq!(n("1e3"), "1000");
        assert_eq!(n("1.5e-3"), "0.0015");
        assert_eq!(n(".5"), "0.5");
        assert_eq!(n("5."), "5");
        assert_eq!(n("000123.4500"), "123.4500");
        assert_eq!(
            n("3.14159265358979323846264338327950288"),
            "3.1415926535897932384626433833"
        );
        assert_eq!(
            n("0.00000000000000000000000000005"),
            "0.0000000000000000000000000001"
        );
        assert_eq!(n("1e-40"), "0.0000000000000000000000000000");
        assert_eq!(
            n("79228162514264337593543950335"),
            "79228162514264337593543950335"
        );
        assert_eq!(
            n("79228162514264337593543950336"),
            "value overflows numeric format"
        );
        assert_eq!(n("1e29"), "value overflows numeric format");
        assert_eq!(n("abc"), "invalid input syntax for type numeric: \"abc\"");
        assert_eq!(n("1e"), "invalid input syntax for type numeric: \"1e\"");
        assert_eq!(n("."), "invalid input syntax for type numeric: \".\"");
        assert_eq!(n("NaN"), "numeric NaN and Infinity is not supported");
        let ty = DataType::numeric(5, 2).unwrap();
        assert_eq!(p("3.14159", ty).unwrap().to_string(), "3.14");
        assert_eq!(p("1", ty).unwrap().to_string(), "1.00");
        assert_eq!(p("999.995", ty).unwrap_err().sqlstate().code(), "22003");
    }

    #[test]
    fn strings_and_bytes() {
        assert_eq!(
            p("héllo", DataType::Text).unwrap(),
            Value::Text("héllo".into())
        );
        assert_eq!(
            p("a\0b", DataType::Text).unwrap_err().sqlstate().code(),
            "22021"
        );
        let e = p("abcd", DataType::Varchar(Some(3))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "value too long for type character varying(3)"
        );
        assert_eq!(e.sqlstate().code(), "22001");
        assert_eq!(
            p("abc  ", DataType::Varchar(Some(3))).unwrap(),
            Value::Text("abc".into())
        );
        assert_eq!(
            p("ab", DataType::Char(Some(4))).unwrap(),
            Value::Text("ab  ".into())
        );
        assert_eq!(
            p("\\x0a0B", DataType::Bytea).unwrap(),
            Value::Bytea(vec![10, 11])
        );
        assert_eq!(
            p("\\x0a 0b", DataType::Bytea).unwrap(),
            Value::Bytea(vec![10, 11])
        );
        assert_eq!(
            p("a\\\\b\\001", DataType::Bytea).unwrap(),
            Value::Bytea(b"a\\b\x01".to_vec())
        );
        assert!(p("\\x0", DataType::Bytea).is_err());
        assert!(p("\\xzz", DataType::Bytea).is_err());
        assert!(p("\\9", DataType::Bytea).is_err());
        assert_eq!(
            p("{\"a\": [1, 2.5e3, null]}", DataType::Jsonb).unwrap(),
            Value::Json("{\"a\": [1, 2500, null]}".into())
        );
        assert_eq!(
            p("{a}", DataType::Json).unwrap_err().to_string(),
            "invalid input syntax for type json: \"{a}\""
        );
    }

    fn any_type() -> impl Strategy<Value = DataType> {
        prop_oneof![
            Just(DataType::Bool),
            Just(DataType::Int2),
            Just(DataType::Int4),
            Just(DataType::Int8),
            Just(DataType::Float4),
            Just(DataType::Float8),
            Just(DataType::Numeric {
                precision: None,
                scale: None
            }),
            Just(DataType::Numeric {
                precision: Some(4),
                scale: Some(2)
            }),
            Just(DataType::Varchar(Some(2))),
            Just(DataType::Char(Some(3))),
            Just(DataType::Bytea),
            Just(DataType::Date),
            Just(DataType::Timestamp),
            Just(DataType::TimestampTz),
            Just(DataType::Interval),
            Just(DataType::Json),
        ]
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in ".{0,40}", ty in any_type()) {
            let _ = parse(&text, &ty);
        }

        #[test]
        fn parsers_never_panic_on_likely_shapes(
            text in "[-+ 0-9.:eE_TZtbcBCadysmonhur@\\\\x]{0,30}",
            ty in any_type(),
        ) {
            let _ = parse(&text, &ty);
        }

        #[test]
        fn text_output_parses_back(v in crate::types::keycode::tests::value_of(DataType::Float8)) {
            let text = v.to_pg_text().unwrap();
            prop_assert_eq!(parse(&text, &DataType::Float8).unwrap(), v);
        }
    }
}
