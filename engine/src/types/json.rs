//! JSON documents: the syntax check of `json` input (whose values stay the
//! text they came as), and the document tree `jsonb` normalises to and its
//! operators work on.

use std::fmt::Write;

/// Nesting beyond this is rejected rather than risking the stack.
const MAX_DEPTH: usize = 1000;

/// Whether `text` is one JSON value (RFC 8259) with optional surrounding
/// whitespace.
pub(crate) fn is_valid_json(text: &str) -> bool {
    let mut p = Parser {
        bytes: text.as_bytes(),
        pos: 0,
    };
    p.value(0).is_some() && {
        p.skip_ws();
        p.pos == p.bytes.len()
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.bump()? == b).then_some(())
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        match self.peek()? {
            b'{' => self.container(depth, b'}', true),
            b'[' => self.container(depth, b']', false),
            b'"' => self.string(),
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            _ => self.number(),
        }
    }

    fn container(&mut self, depth: usize, close: u8, object: bool) -> Option<()> {
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Some(());
        }
        loop {
            if object {
                self.skip_ws();
                self.string()?;
                self.skip_ws();
                self.expect(b':')?;
            }
            self.value(depth + 1)?;
            self.skip_ws();
            match self.bump()? {
                b',' => {}
                b if b == close => return Some(()),
                _ => return None,
            }
        }
    }

    fn word(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        (self.bytes.get(self.pos..end)? == word).then(|| self.pos = end)
    }

    fn string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        loop {
            match self.bump()? {
                b'"' => return Some(()),
                b'\\' => match self.bump()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            self.bump().filter(u8::is_ascii_hexdigit)?;
                        }
                    }
                    _ => return None,
                },
                0..=0x1f => return None,
                _ => {}
            }
        }
    }

    fn digits(&mut self) -> Option<()> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        (self.pos > start).then_some(())
    }

    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        if self.peek() == Some(b'0') {
            self.pos += 1;
        } else {
            self.digits()?;
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits()?;
        }
        Some(())
    }
}

/// A parsed JSON document.
///
/// As `jsonb` keeps it: numbers are `numeric` text (`1e3` is `1000`),
/// strings are unescaped, and after [`Json::normalize`] every object has
/// each key once (the last one written wins), ordered as PostgreSQL orders
/// jsonb keys: shorter first, then bytewise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// A number as `numeric` prints it.
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Why text is no jsonb document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not JSON at all.
    Syntax,
    /// `\u0000`, which PostgreSQL text cannot hold.
    NulEscape,
}

impl Json {
    /// Parses one JSON value with optional surrounding whitespace.
    pub(crate) fn parse(text: &str) -> Result<Json, JsonError> {
        let mut p = Parser {
            bytes: text.as_bytes(),
            pos: 0,
        };
        let value = p.tree(0)?;
        p.skip_ws();
        if p.pos == p.bytes.len() {
            Ok(value)
        } else {
            Err(JsonError::Syntax)
        }
    }

    /// The document as jsonb stores it: object keys deduplicated and in
    /// jsonb order, at every depth.
    pub(crate) fn normalize(self) -> Json {
        match self {
            Json::Array(items) => Json::Array(items.into_iter().map(Json::normalize).collect()),
            Json::Object(members) => {
                let mut kept = members;
                // A stable sort keeps equal keys in input order, so the
                // last of each run is the one written last, which wins.
                kept.sort_by(|(a, _), (b, _)| key_order(a, b));
                kept.reverse();
                kept.dedup_by(|later, earlier| later.0 == earlier.0);
                kept.reverse();
                Json::Object(
                    kept.into_iter()
                        .map(|(key, value)| (key, value.normalize()))
                        .collect(),
                )
            }
            other => other,
        }
    }

    /// jsonb's text form: `{"a": 1, "b": [1, 2]}`.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => write_string(out, s),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_string(out, key);
                    out.push_str(": ");
                    value.write(out);
                }
                out.push('}');
            }
        }
    }

    /// `jsonb_pretty`'s form: four spaces of indent per level, one member
    /// per line, and (as PostgreSQL has it) a line break inside an empty
    /// container too.
    pub(crate) fn to_pretty(&self) -> String {
        let mut out = String::new();
        self.write_pretty(&mut out, 0);
        out
    }

    fn write_pretty(&self, out: &mut String, depth: usize) {
        let indent = |out: &mut String, depth: usize| {
            out.push('\n');
            out.extend(std::iter::repeat_n("    ", depth));
        };
        match self {
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    indent(out, depth + 1);
                    item.write_pretty(out, depth + 1);
                }
                indent(out, depth);
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    indent(out, depth + 1);
                    write_string(out, key);
                    out.push_str(": ");
                    value.write_pretty(out, depth + 1);
                }
                indent(out, depth);
                out.push('}');
            }
            other => other.write(out),
        }
    }

    /// `jsonb_typeof`: `object`, `array`, `string`, `number`, `boolean` or
    /// `null`.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }

    /// `doc -> 'key'`: the member's value, `None` if there is none or this
    /// is no object.
    pub(crate) fn field(&self, key: &str) -> Option<&Json> {
        match self {
            // The last one wins, for a json document not normalized.
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// `doc -> n`: the array element, counting from the end when
    /// negative.
    pub(crate) fn element(&self, index: i64) -> Option<&Json> {
        match self {
            Json::Array(items) => {
                let len = i64::try_from(items.len()).ok()?;
                let i = if index < 0 { len + index } else { index };
                usize::try_from(i).ok().and_then(|i| items.get(i))
            }
            _ => None,
        }
    }

    /// `doc #> path`: each step a key of an object or an index (its text)
    /// of an array.
    pub(crate) fn path<'a>(&'a self, steps: &[String]) -> Option<&'a Json> {
        steps.iter().try_fold(self, |doc, step| match doc {
            Json::Object(_) => doc.field(step),
            Json::Array(_) => doc.element(step.trim().parse().ok()?),
            _ => None,
        })
    }

    /// The text `->>` yields: a string's own text, `None` for JSON null,
    /// any other value's JSON text.
    pub(crate) fn as_text(&self) -> Option<String> {
        match self {
            Json::Null => None,
            Json::String(s) => Some(s.clone()),
            other => Some(other.to_text()),
        }
    }

    /// `a @> b` (both normalized): every member of `b`'s objects is in
    /// `a`'s with a containing value, every element of `b`'s arrays is
    /// contained in some element of `a`'s; at the top level only, an array
    /// also contains a scalar it has as an element.
    pub(crate) fn contains(&self, other: &Json) -> bool {
        match (self, other) {
            (Json::Array(a), scalar) if !matches!(scalar, Json::Array(_) | Json::Object(_)) => {
                a.iter().any(|item| item.same_scalar(scalar))
            }
            _ => self.contains_nested(other),
        }
    }

    fn contains_nested(&self, other: &Json) -> bool {
        match (self, other) {
            (Json::Object(a), Json::Object(b)) => b.iter().all(|(key, bv)| {
                a.iter()
                    .find(|(k, _)| k == key)
                    .is_some_and(|(_, av)| av.contains_nested(bv))
            }),
            (Json::Array(a), Json::Array(b)) => b.iter().all(|bv| match bv {
                Json::Array(_) | Json::Object(_) => a.iter().any(|av| av.contains_nested(bv)),
                scalar => a.iter().any(|item| item.same_scalar(scalar)),
            }),
            (a, b) => a.same_scalar(b),
        }
    }

    /// Equality of two values as containment sees them: numbers by value
    /// (`1.0` is `1`), as jsonb's numerics compare.
    fn same_scalar(&self, other: &Json) -> bool {
        match (self, other) {
            (Json::Number(a), Json::Number(b)) => {
                match (
                    super::parse::parse_numeric(a),
                    super::parse::parse_numeric(b),
                ) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => a == b,
                }
            }
            (a, b) => a == b,
        }
    }

    /// `doc ? key`: a top-level object key, a string element of a
    /// top-level array, or the string itself.
    pub(crate) fn has_key(&self, key: &str) -> bool {
        match self {
            Json::Object(members) => members.iter().any(|(k, _)| k == key),
            Json::Array(items) => items
                .iter()
                .any(|i| matches!(i, Json::String(s) if s == key)),
            Json::String(s) => s == key,
            _ => false,
        }
    }

    /// `a || b`: objects merge (`b`'s keys win), arrays concatenate, and a
    /// side that is no array counts as a one-element array.
    pub(crate) fn concat(self, other: Json) -> Json {
        match (self, other) {
            (Json::Object(mut a), Json::Object(b)) => {
                a.extend(b);
                Json::Object(a).normalize()
            }
            (a, b) => {
                let mut items = match a {
                    Json::Array(items) => items,
                    scalar => vec![scalar],
                };
                match b {
                    Json::Array(more) => items.extend(more),
                    scalar => items.push(scalar),
                }
                Json::Array(items)
            }
        }
    }
}

/// jsonb's key order: shorter keys first, equal lengths bytewise.
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// A JSON string literal as PostgreSQL's `escape_json` writes it.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Parser<'_> {
    fn tree(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::Syntax);
        }
        self.skip_ws();
        let start = self.pos;
        match self.peek().ok_or(JsonError::Syntax)? {
            open @ (b'{' | b'[') => {
                let object = open == b'{';
                let close = if object { b'}' } else { b']' };
                self.pos += 1;
                let mut items = Vec::new();
                let mut members = Vec::new();
                self.skip_ws();
                if self.peek() == Some(close) {
                    self.pos += 1;
                } else {
                    loop {
                        if object {
                            self.skip_ws();
                            let key = self.string_value()?;
                            self.skip_ws();
                            self.expect(b':').ok_or(JsonError::Syntax)?;
                            members.push((key, self.tree(depth + 1)?));
                        } else {
                            items.push(self.tree(depth + 1)?);
                        }
                        self.skip_ws();
                        match self.bump() {
                            Some(b',') => {}
                            Some(b) if b == close => break,
                            _ => return Err(JsonError::Syntax),
                        }
                    }
                }
                Ok(if object {
                    Json::Object(members)
                } else {
                    Json::Array(items)
                })
            }
            b'"' => Ok(Json::String(self.string_value()?)),
            b't' => self.literal(b"true", Json::Bool(true)),
            b'f' => self.literal(b"false", Json::Bool(false)),
            b'n' => self.literal(b"null", Json::Null),
            _ => {
                self.number().ok_or(JsonError::Syntax)?;
                let text = std::str::from_utf8(&self.bytes[start..self.pos])
                    .map_err(|_| JsonError::Syntax)?;
                Ok(Json::Number(numeric_text_of(text)))
            }
        }
    }

    fn literal(&mut self, word: &[u8], value: Json) -> Result<Json, JsonError> {
        self.word(word).map(|()| value).ok_or(JsonError::Syntax)
    }

    /// A string literal, unescaped.
    fn string_value(&mut self) -> Result<String, JsonError> {
        let start = self.pos;
        self.string().ok_or(JsonError::Syntax)?;
        let raw = std::str::from_utf8(&self.bytes[start + 1..self.pos - 1])
            .map_err(|_| JsonError::Syntax)?;
        if !raw.contains('\\') {
            return Ok(raw.to_owned());
        }
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('b') => out.push('\u{8}'),
                Some('f') => out.push('\u{c}'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('u') => out.push(unicode_escape(&mut chars)?),
                Some(other) => out.push(other),
                None => return Err(JsonError::Syntax),
            }
        }
        Ok(out)
    }
}

/// The character of a `\uXXXX` escape (the `\u` already read), with the
/// low half of a surrogate pair read too.
fn unicode_escape(chars: &mut std::str::Chars<'_>) -> Result<char, JsonError> {
    let unit = hex4(chars)?;
    let code = if (0xd800..0xdc00).contains(&unit) {
        if chars.next() != Some('\\') || chars.next() != Some('u') {
            return Err(JsonError::Syntax);
        }
        let low = hex4(chars)?;
        if !(0xdc00..0xe000).contains(&low) {
            return Err(JsonError::Syntax);
        }
        0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
    } else {
        unit
    };
    if code == 0 {
        return Err(JsonError::NulEscape);
    }
    char::from_u32(code).ok_or(JsonError::Syntax)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Result<u32, JsonError> {
    let digits: String = chars.take(4).collect();
    if digits.len() != 4 {
        return Err(JsonError::Syntax);
    }
    u32::from_str_radix(&digits, 16).map_err(|_| JsonError::Syntax)
}

/// A JSON number as jsonb's `numeric` prints it; numbers beyond what the
/// engine's `numeric` holds keep their text.
fn numeric_text_of(text: &str) -> String {
    match super::parse::parse_numeric(text) {
        Ok(d) => super::value::numeric_text(d),
        Err(_) => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects() {
        for ok in [
            "0",
            " -1.5e+3 ",
            "\"a\\u00e9\\n\"",
            "[]",
            "{}",
            "[1,[2,{\"a\":null}]]",
            "true",
        ] {
            assert!(is_valid_json(ok), "{ok}");
        }
        for bad in [
            "",
            "01",
            "1.",
            "[1,]",
            "{\"a\"}",
            "{a:1}",
            "\"\\x\"",
            "tru",
            "1 2",
            "\"\u{1}\"",
        ] {
            assert!(!is_valid_json(bad), "{bad}");
        }
        assert!(!is_valid_json(&"[".repeat(5000)));
        assert!(is_valid_json(&format!(
            "{}{}",
            "[".repeat(500),
            "]".repeat(500)
        )));
    }

    #[test]
    fn jsonb_normalizes_keys_numbers_and_strings() {
        let jsonb = |t: &str| Json::parse(t).unwrap().normalize().to_text();
        assert_eq!(
            jsonb(r#"{"b": 2, "a": 1, "aa": {"y":1,"x":[1,2]}, "a": 3}"#),
            r#"{"a": 3, "b": 2, "aa": {"x": [1, 2], "y": 1}}"#
        );
        assert_eq!(
            jsonb(r#"[1e3, 1.50, -0, 0.0, 1E-2, "\u00e9\n\/"]"#),
            r#"[1000, 1.50, 0, 0.0, 0.01, "é\n/"]"#
        );
        assert_eq!(jsonb(r#" "\ud83d\ude00" "#), "\"\u{1f600}\"");
        assert_eq!(jsonb("{}"), "{}");
        let pretty = Json::parse(r#"{"a": [1, {}], "b": []}"#)
            .unwrap()
            .to_pretty();
        assert_eq!(
            pretty,
            "{\n    \"a\": [\n        1,\n        {\n        }\n    ],\n    \"b\": [\n    ]\n}"
        );
        assert_eq!(Json::parse(r#""\u0000""#), Err(JsonError::NulEscape));
        assert_eq!(Json::parse("[1,]"), Err(JsonError::Syntax));
    }

    #[test]
    fn containment_follows_postgres() {
        let doc = |t: &str| Json::parse(t).unwrap().normalize();
        let a = doc(r#"{"a": 1, "b": [1, 2, {"c": 3}], "d": {"e": true}}"#);
        assert!(a.contains(&doc(r#"{"b": [2]}"#)));
        assert!(a.contains(&doc(r#"{"b": [{"c": 3}], "d": {}}"#)));
        assert!(!a.contains(&doc(r#"{"a": 2}"#)));
        assert!(!a.contains(&doc(r#"{"b": 1}"#)));
        assert!(doc("[1, 2]").contains(&doc("1")));
        // Numbers compare by value, as numerics.
        assert!(a.contains(&doc(r#"{"a": 1.0, "b": [2.00]}"#)));
        assert!(!doc("1").contains(&doc("[1]")));
    }
}
