//! PostgreSQL's string functions beyond the basic ones of
//! [`super::functions`]: resolution by argument types and evaluation.

use std::fmt::Write;

use base64::Engine;

use super::arith::{is_numeric, math_error};
use super::functions::Func;
use crate::SqlState;
use crate::sql::error::{SqlError, SqlResult};
use crate::types::{DataType, Value};

/// A string function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrFunc {
    /// `concat_ws(sep, ...)`
    ConcatWs,
    /// `octet_length(text)`
    OctetLength,
    /// `length(bytea)`, `octet_length(bytea)`
    ByteaLength,
    /// `initcap(text)`
    Initcap,
    /// `reverse(text)`
    Reverse,
    /// `left(text, n)`
    Left,
    /// `right(text, n)`
    Right,
    /// `split_part(text, delimiter, n)`
    SplitPart,
    /// `regexp_replace(text, pattern, replacement [, flags])`
    RegexpReplace,
    /// `ascii(text)`
    Ascii,
    /// `chr(int)`
    Chr,
    /// `md5(text)`
    Md5,
    /// `to_hex(int)`
    ToHex,
    /// `starts_with(text, prefix)`
    StartsWith,
    /// `format(fmt, ...)`
    Format,
    /// `quote_literal(text)`
    QuoteLiteral,
    /// `quote_nullable(text)`
    QuoteNullable,
    /// `quote_ident(text)`
    QuoteIdent,
    /// `translate(text, from, to)`
    Translate,
    /// `overlay(text PLACING text FROM int [FOR int])`
    Overlay,
    /// `encode(bytea, format)`
    Encode,
    /// `decode(text, format)`
    Decode,
    /// `gen_random_uuid()`
    GenRandomUuid,
    /// `num_nulls(...)`
    NumNulls,
    /// `num_nonnulls(...)`
    NumNonNulls,
}

impl StrFunc {
    /// Whether a NULL argument makes the result NULL without a call.
    pub(crate) fn is_strict(self) -> bool {
        !matches!(
            self,
            StrFunc::ConcatWs
                | StrFunc::Format
                | StrFunc::QuoteNullable
                | StrFunc::NumNulls
                | StrFunc::NumNonNulls
        )
    }
}

/// Resolves the names this module knows; `None` for any other.
pub(crate) fn resolve(
    name: &str,
    args: &[DataType],
) -> Option<(Func, DataType, Vec<Option<DataType>>)> {
    use DataType as T;
    let n = args.len();
    let s = |i: usize| args.get(i).is_some_and(DataType::is_string);
    let int = |i: usize| args.get(i).is_some_and(is_numeric);
    let text = |f: StrFunc, casts: Vec<Option<DataType>>| Some((Func::Str(f), T::Text, casts));
    let t = Some(T::Text);
    let i4 = Some(T::Int4);
    match (name, n) {
        ("concat_ws", 1..) if s(0) => text(StrFunc::ConcatWs, {
            let mut c = vec![t];
            c.resize(n, None);
            c
        }),
        // No cast: the padding of a `char(n)` counts (`bpcharoctetlen`).
        ("octet_length", 1) if s(0) => Some((Func::Str(StrFunc::OctetLength), T::Int4, vec![None])),
        ("octet_length" | "length", 1) if args[0] == T::Bytea => {
            Some((Func::Str(StrFunc::ByteaLength), T::Int4, vec![None]))
        }
        ("initcap", 1) if s(0) => text(StrFunc::Initcap, vec![t]),
        ("reverse", 1) if s(0) => text(StrFunc::Reverse, vec![t]),
        ("left" | "right", 2) if s(0) && int(1) => {
            let f = if name == "left" {
                StrFunc::Left
            } else {
                StrFunc::Right
            };
            text(f, vec![t, i4])
        }
        ("split_part", 3) if s(0) && s(1) && int(2) => text(StrFunc::SplitPart, vec![t, t, i4]),
        ("regexp_replace", 3 | 4) if args.iter().all(DataType::is_string) => {
            text(StrFunc::RegexpReplace, vec![t; n])
        }
        ("ascii", 1) if s(0) => Some((Func::Str(StrFunc::Ascii), T::Int4, vec![t])),
        ("chr", 1) if int(0) => text(StrFunc::Chr, vec![i4]),
        ("md5", 1) if s(0) || args[0] == T::Bytea => text(StrFunc::Md5, vec![None]),
        ("to_hex", 1) if matches!(args[0], T::Int2 | T::Int4) => text(StrFunc::ToHex, vec![i4]),
        ("to_hex", 1) if args[0] == T::Int8 => text(StrFunc::ToHex, vec![None]),
        ("starts_with", 2) if s(0) && s(1) => {
            Some((Func::Str(StrFunc::StartsWith), T::Bool, vec![t, t]))
        }
        ("format", 1..) if s(0) => text(StrFunc::Format, {
            let mut c = vec![t];
            c.resize(n, None);
            c
        }),
        ("quote_literal", 1) => text(StrFunc::QuoteLiteral, vec![None]),
        ("quote_nullable", 1) => text(StrFunc::QuoteNullable, vec![None]),
        ("quote_ident", 1) if s(0) => text(StrFunc::QuoteIdent, vec![t]),
        ("translate", 3) if s(0) && s(1) && s(2) => text(StrFunc::Translate, vec![t; 3]),
        ("overlay", 3 | 4) if s(0) && s(1) && int(2) => {
            let mut c = vec![t, t, i4];
            if n == 4 {
                c.push(i4);
            }
            text(StrFunc::Overlay, c)
        }
        ("encode", 2) if args[0] == T::Bytea && s(1) => text(StrFunc::Encode, vec![None, t]),
        ("decode", 2) if s(0) && s(1) => Some((Func::Str(StrFunc::Decode), T::Bytea, vec![t, t])),
        ("gen_random_uuid", 0) => text(StrFunc::GenRandomUuid, vec![]),
        ("num_nulls" | "num_nonnulls", 1..) => {
            let f = if name == "num_nulls" {
                StrFunc::NumNulls
            } else {
                StrFunc::NumNonNulls
            };
            Some((Func::Str(f), T::Int4, vec![None; n]))
        }
        _ => None,
    }
}

fn text_of(v: &Value) -> String {
    v.to_pg_text().unwrap_or_default()
}

/// Computes a function on evaluated arguments (non-NULL ones for strict
/// functions).
pub(crate) fn call(f: StrFunc, args: &[Value]) -> SqlResult<Value> {
    let s = |i: usize| match args.get(i) {
        Some(Value::Text(s)) => s.as_str(),
        _ => "",
    };
    let int = |i: usize| match args.get(i) {
        Some(Value::Int4(n)) => i64::from(*n),
        Some(Value::Int8(n)) => *n,
        _ => 0,
    };
    Ok(match f {
        StrFunc::ConcatWs => {
            if args.first().is_none_or(Value::is_null) {
                return Ok(Value::Null);
            }
            let parts: Vec<String> = args[1..]
                .iter()
                .filter(|v| !v.is_null())
                .map(text_of)
                .collect();
            Value::Text(parts.join(s(0)))
        }
        StrFunc::OctetLength => Value::Int4(s(0).len() as i32),
        StrFunc::ByteaLength => match args.first() {
            Some(Value::Bytea(b)) => Value::Int4(b.len() as i32),
            _ => Value::Null,
        },
        StrFunc::Initcap => Value::Text(initcap(s(0))),
        StrFunc::Reverse => Value::Text(s(0).chars().rev().collect()),
        StrFunc::Left | StrFunc::Right => {
            let chars: Vec<char> = s(0).chars().collect();
            let len = chars.len() as i64;
            let n = int(1);
            let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
            Value::Text(if f == StrFunc::Left {
                chars[..keep].iter().collect()
            } else {
                chars[chars.len() - keep..].iter().collect()
            })
        }
        StrFunc::SplitPart => {
            let n = int(2);
            if n == 0 {
                return Err(math_error(
                    SqlState::INVALID_PARAMETER_VALUE,
                    "field position must not be zero",
                ));
            }
            let parts: Vec<&str> = if s(1).is_empty() {
                vec![s(0)]
            } else {
                s(0).split(s(1)).collect()
            };
            let index = if n > 0 {
                usize::try_from(n - 1).ok()
            } else {
                usize::try_from(parts.len() as i64 + n).ok()
            };
            Value::Text(
                index
                    .and_then(|i| parts.get(i))
                    .map_or_else(String::new, |p| (*p).to_owned()),
            )
        }
        StrFunc::RegexpReplace => {
            let flags = s(3);
            let re = regex::RegexBuilder::new(s(1))
                .case_insensitive(flags.contains('i'))
                .size_limit(1 << 20)
                .build()
                .map_err(|e| SqlError::Data {
                    state: SqlState::INVALID_REGULAR_EXPRESSION,
                    message: format!("invalid regular expression: {e}"),
                })?;
            let replacement = pg_replacement(s(2));
            Value::Text(if flags.contains('g') {
                re.replace_all(s(0), replacement.as_str()).into_owned()
            } else {
                re.replace(s(0), replacement.as_str()).into_owned()
            })
        }
        StrFunc::Ascii => Value::Int4(s(0).chars().next().map_or(0, |c| c as i32)),
        StrFunc::Chr => {
            let code = int(0);
            let c = u32::try_from(code)
                .ok()
                .filter(|c| *c != 0)
                .and_then(char::from_u32)
                .ok_or_else(|| {
                    math_error(
                        SqlState::PROGRAM_LIMIT_EXCEEDED,
                        &format!("requested character not valid for encoding: {code}"),
                    )
                })?;
            Value::Text(c.to_string())
        }
        StrFunc::Md5 => {
            use md5::Digest;
            let bytes: Vec<u8> = match args.first() {
                Some(Value::Bytea(b)) => b.clone(),
                _ => s(0).as_bytes().to_vec(),
            };
            Value::Text(hex(&md5::Md5::digest(&bytes)))
        }
        StrFunc::ToHex => Value::Text(match args.first() {
            Some(Value::Int4(n)) => format!("{:x}", *n as u32),
            Some(Value::Int8(n)) => format!("{:x}", *n as u64),
            _ => String::new(),
        }),
        StrFunc::StartsWith => Value::Bool(s(0).starts_with(s(1))),
        StrFunc::Format => {
            if args.first().is_none_or(Value::is_null) {
                return Ok(Value::Null);
            }
            Value::Text(format(s(0), &args[1..])?)
        }
        StrFunc::QuoteLiteral => Value::Text(quote_literal(&text_of(&args[0]))),
        StrFunc::QuoteNullable => Value::Text(match args.first() {
            Some(v) if !v.is_null() => quote_literal(&text_of(v)),
            _ => "NULL".to_owned(),
        }),
        StrFunc::QuoteIdent => Value::Text(quote_ident(s(0))),
        StrFunc::Translate => {
            let from: Vec<char> = s(1).chars().collect();
            let to: Vec<char> = s(2).chars().collect();
            Value::Text(
                s(0).chars()
                    .filter_map(|c| match from.iter().position(|f| *f == c) {
                        Some(i) => to.get(i).copied(),
                        None => Some(c),
                    })
                    .collect(),
            )
        }
        StrFunc::Overlay => {
            let chars: Vec<char> = s(0).chars().collect();
            let start = int(2);
            let count = if args.len() == 4 {
                int(3)
            } else {
                s(1).chars().count() as i64
            };
            if start < 1 || count < 0 {
                return Err(math_error(
                    SqlState::SUBSTRING_ERROR,
                    "negative substring length not allowed",
                ));
            }
            let from = ((start - 1) as usize).min(chars.len());
            let to = ((start - 1).saturating_add(count) as usize).min(chars.len());
            let mut out: String = chars[..from].iter().collect();
            out.push_str(s(1));
            out.extend(&chars[to..]);
            Value::Text(out)
        }
        StrFunc::Encode => {
            let Some(Value::Bytea(b)) = args.first() else {
                return Ok(Value::Null);
            };
            Value::Text(match s(1).to_lowercase().as_str() {
                "hex" => hex(b),
                "base64" => base64::engine::general_purpose::STANDARD.encode(b),
                "escape" => escape_bytes(b),
                other => return Err(unknown_encoding(other)),
            })
        }
        StrFunc::Decode => Value::Bytea(match s(1).to_lowercase().as_str() {
            "hex" => unhex(s(0))?,
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(s(0).split_whitespace().collect::<String>())
                .map_err(|e| {
                    math_error(
                        SqlState::INVALID_PARAMETER_VALUE,
                        &format!("invalid base64 input: {e}"),
                    )
                })?,
            "escape" => s(0).as_bytes().to_vec(),
            other => return Err(unknown_encoding(other)),
        }),
        StrFunc::GenRandomUuid => {
            let mut b = super::math::random_bytes::<16>()?;
            // Version 4, RFC 4122 variant.
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            let h = hex(&b);
            Value::Text(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        }
        StrFunc::NumNulls => Value::Int4(args.iter().filter(|v| v.is_null()).count() as i32),
        StrFunc::NumNonNulls => Value::Int4(args.iter().filter(|v| !v.is_null()).count() as i32),
    })
}

fn unknown_encoding(name: &str) -> SqlError {
    math_error(
        SqlState::INVALID_PARAMETER_VALUE,
        &format!("unrecognized encoding: \"{name}\""),
    )
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn unhex(s: &str) -> SqlResult<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let bad = || {
        math_error(
            SqlState::INVALID_PARAMETER_VALUE,
            &format!("invalid hexadecimal data: \"{s}\""),
        )
    };
    if !digits.len().is_multiple_of(2) {
        return Err(bad());
    }
    digits
        .chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16).ok_or_else(bad)?;
            let lo = (pair[1] as char).to_digit(16).ok_or_else(bad)?;
            Ok((hi * 16 + lo) as u8)
        })
        .collect()
}

fn escape_bytes(b: &[u8]) -> String {
    let mut out = String::new();
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                let _ = write!(out, "\\{c:03o}");
            }
        }
    }
    out
}

/// Words start after any character that is not a letter or digit.
fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = true;
        }
    }
    out
}

/// PostgreSQL's `\1`…`\9` and `\&` in a replacement, as the regex crate's
/// `${n}`; a literal `$` is escaped.
fn pg_replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(d @ '1'..='9') => {
                    let _ = write!(out, "${{{d}}}");
                }
                Some('&') => out.push_str("${0}"),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn quote_literal(s: &str) -> String {
    let escaped = s.replace('\'', "''");
    if s.contains('\\') {
        format!("E'{}'", escaped.replace('\\', "\\\\"))
    } else {
        format!("'{escaped}'")
    }
}

/// PostgreSQL's reserved key words, which `quote_ident` quotes.
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_catalog",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "initially",
    "intersect",
    "into",
    "lateral",
    "leading",
    "limit",
    "localtime",
    "localtimestamp",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "returning",
    "select",
    "session_user",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

pub(crate) fn quote_ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && !RESERVED.contains(&s) {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// `format()`: `%s`, `%I`, `%L`, `%%`, with optional `n$` positions.
fn format(fmt: &str, args: &[Value]) -> SqlResult<String> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next = 0usize;
    let too_few = || {
        math_error(
            SqlState::INVALID_PARAMETER_VALUE,
            "too few arguments for format()",
        )
    };
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            digits.push(d);
            chars.next();
        }
        let index = if !digits.is_empty() && chars.peek() == Some(&'$') {
            chars.next();
            let n: usize = digits.parse().map_err(|_| too_few())?;
            n.checked_sub(1).ok_or_else(too_few)?
        } else {
            next
        };
        let Some(kind) = chars.next() else {
            return Err(math_error(
                SqlState::INVALID_PARAMETER_VALUE,
                "unterminated format() type specifier",
            ));
        };
        if kind == '%' {
            out.push('%');
            continue;
        }
        let arg = args.get(index).ok_or_else(too_few)?;
        next = index + 1;
        match kind {
            's' => out.push_str(&arg.to_pg_text().unwrap_or_default()),
            'I' => {
                let Some(t) = arg.to_pg_text() else {
                    return Err(math_error(
                        SqlState::NULL_VALUE_NOT_ALLOWED,
                        "null values cannot be formatted as an SQL identifier",
                    ));
                };
                out.push_str(&quote_ident(&t));
            }
            'L' => match arg.to_pg_text() {
                Some(t) => out.push_str(&quote_literal(&t)),
                None => out.push_str("NULL"),
            },
            other => {
                return Err(math_error(
                    SqlState::INVALID_PARAMETER_VALUE,
                    &format!("unrecognized format() type specifier \"{other}\""),
                ));
            }
        }
    }
    Ok(out)
}
