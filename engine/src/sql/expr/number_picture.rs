//! PostgreSQL's template patterns for numbers (formatting.c):
//! `to_char(number, text)` and `to_number(text, text)`.
//!
//! `9` is a digit printed as a space while it is a leading zero, `0` one
//! always printed (and every position after it); `.`/`D` is the decimal
//! point and `,`/`G` a group separator, both as in the C locale. Without
//! an explicit sign pattern the number gets a sign position just before
//! its first digit: `-`, or a space. `FM` drops the padding. `PR` puts a
//! negative number in angle brackets, `V` shifts digits past the point
//! (`99V9` prints 12 as `120`), and `L` is the C locale's currency symbol,
//! a space. `RN` and `EEEE` print the whole number their own way
//! ([`super::number_forms`]).

use rust_decimal::{Decimal, RoundingStrategy};

use crate::sql::error::{SqlError, SqlResult};
use crate::types::{TypeError, Value};

/// Where a sign pattern prints a sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignPat {
    /// `S`: `+` or `-`
    Both,
    /// `MI`: `-`, or a space for a positive number
    Minus,
    /// `PL`: `+`, or a space for a negative number
    Plus,
    /// `SG`: `+` or `-`
    Sg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumNode {
    /// `9` (`false`) or `0` (`true`)
    Digit(bool),
    Point,
    Group,
    Sign(SignPat),
    /// `PR`
    AngleBrackets,
    Literal(char),
}

/// A picture that prints the number in a form of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `RN`, `rn`: lower case when `true`
    Roman(bool),
    /// `EEEE`
    Scientific,
}

struct Picture {
    nodes: Vec<NumNode>,
    fill: bool,
    /// How many digit positions follow a `V`.
    shift: Option<usize>,
    form: Option<Form>,
}

fn parse_picture(picture: &str) -> SqlResult<Picture> {
    let mut nodes = Vec::new();
    let mut fill = false;
    let mut seen_point = false;
    let mut shift_at = None;
    let mut form = None;
    let mut rest = picture;
    while let Some(c) = rest.chars().next() {
        let upper2 = rest.get(..2).map(str::to_ascii_uppercase);
        let two = |s: &str| upper2.as_deref() == Some(s);
        let (node, len) = if two("FM") {
            fill = true;
            (None, 2)
        } else if two("MI") {
            (Some(NumNode::Sign(SignPat::Minus)), 2)
        } else if two("PL") {
            (Some(NumNode::Sign(SignPat::Plus)), 2)
        } else if two("SG") {
            (Some(NumNode::Sign(SignPat::Sg)), 2)
        } else if two("PR") {
            (Some(NumNode::AngleBrackets), 2)
        } else if two("RN") {
            form = Some(Form::Roman(rest.starts_with("rn")));
            (None, 2)
        } else if rest
            .get(..4)
            .is_some_and(|e| e.eq_ignore_ascii_case("EEEE"))
        {
            form = Some(Form::Scientific);
            (None, 4)
        } else if two("TH") {
            return Err(SqlError::unsupported(
                "the number pattern TH is not supported",
            ));
        } else {
            let node = match c.to_ascii_uppercase() {
                '9' => NumNode::Digit(false),
                '0' => NumNode::Digit(true),
                '.' | 'D' if !seen_point => {
                    seen_point = true;
                    NumNode::Point
                }
                ',' | 'G' => NumNode::Group,
                'S' => NumNode::Sign(SignPat::Both),
                'V' => {
                    shift_at = Some(nodes.len());
                    rest = &rest[1..];
                    continue;
                }
                // The C locale's currency symbol.
                'L' => NumNode::Literal(' '),
                _ => NumNode::Literal(c),
            };
            (Some(node), c.len_utf8())
        };
        nodes.extend(node);
        rest = &rest[len..];
    }
    let shift = shift_at.map(|at| {
        nodes[at..]
            .iter()
            .filter(|n| matches!(n, NumNode::Digit(_)))
            .count()
    });
    if shift.is_some() && seen_point {
        return Err(SqlError::Syntax(
            "cannot use \"V\" and decimal point together".into(),
        ));
    }
    Ok(Picture {
        nodes,
        fill,
        shift,
        form,
    })
}

/// `v` times 10^`n`, for `V`.
fn shifted(v: &Value, n: usize) -> SqlResult<Value> {
    let exp = i32::try_from(n).unwrap_or(i32::MAX);
    Ok(match v {
        Value::Float4(f) => Value::Float8(f64::from(*f) * 10f64.powi(exp)),
        Value::Float8(f) => Value::Float8(f * 10f64.powi(exp)),
        other => {
            let d = match other {
                Value::Int2(i) => Decimal::from(*i),
                Value::Int4(i) => Decimal::from(*i),
                Value::Int8(i) => Decimal::from(*i),
                Value::Numeric(d) => *d,
                _ => return Err(SqlError::Internal(format!("V of {other:?}"))),
            };
            let factor = u32::try_from(n)
                .ok()
                .and_then(|n| 10i64.checked_pow(n))
                .map(Decimal::from)
                .ok_or(SqlError::Type(TypeError::NumericOverflow))?;
            Value::Numeric(
                d.checked_mul(factor)
                    .ok_or(SqlError::Type(TypeError::NumericOverflow))?,
            )
        }
    })
}

/// The digits of `|v|` rounded to `scale` places, as (integer part,
/// fraction of exactly `scale` digits), and whether `v` is negative.
fn digits_of(v: &Value, scale: usize) -> SqlResult<Option<(String, String, bool)>> {
    let text = match v {
        Value::Int2(n) => Some((i128::from(*n), false)),
        Value::Int4(n) => Some((i128::from(*n), false)),
        Value::Int8(n) => Some((i128::from(*n), false)),
        _ => None,
    }
    .map(|(n, _)| {
        let frac = "0".repeat(scale);
        (n.unsigned_abs().to_string(), frac, n < 0)
    });
    if let Some(t) = text {
        return Ok(Some(t));
    }
    let (s, negative) = match v {
        Value::Numeric(d) => {
            let dp = u32::try_from(scale.min(28)).unwrap_or(28);
            let r = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
            (
                format!("{:.*}", scale, r.abs()),
                d.is_sign_negative() && !r.is_zero(),
            )
        }
        Value::Float4(f) => {
            if !f.is_finite() {
                return Ok(None);
            }
            (format!("{:.*}", scale, f.abs()), *f < 0.0)
        }
        Value::Float8(f) => {
            if !f.is_finite() {
                return Ok(None);
            }
            (format!("{:.*}", scale, f.abs()), *f < 0.0)
        }
        other => {
            return Err(SqlError::Internal(format!(
                "to_char of a number got {other:?}"
            )));
        }
    };
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    Ok(Some((int.to_owned(), frac.to_owned(), negative)))
}

/// `to_char(v, picture)` for a number `v`.
pub(crate) fn number_to_char(v: &Value, picture: &str) -> SqlResult<String> {
    let Picture {
        nodes,
        fill,
        shift,
        form,
    } = parse_picture(picture)?;
    let point = nodes.iter().position(|n| *n == NumNode::Point);
    let is_digit = |n: &NumNode| matches!(n, NumNode::Digit(_));
    match form {
        Some(Form::Roman(lower)) => return super::number_forms::roman(v, lower, fill),
        Some(Form::Scientific) => {
            if fill
                || nodes
                    .iter()
                    .any(|n| !matches!(n, NumNode::Digit(_) | NumNode::Point))
            {
                return Err(SqlError::Syntax(
                    "\"EEEE\" is incompatible with other formats".into(),
                ));
            }
            let post = point.map_or(0, |p| nodes[p..].iter().filter(|n| is_digit(n)).count());
            return super::number_forms::scientific(v, post);
        }
        None => {}
    }
    let shifted_value;
    let v = match shift {
        Some(n) => {
            shifted_value = shifted(v, n)?;
            &shifted_value
        }
        None => v,
    };
    let int_end = point.unwrap_or(nodes.len());
    let pre = nodes[..int_end].iter().filter(|n| is_digit(n)).count();
    let post = nodes[int_end..].iter().filter(|n| is_digit(n)).count();
    let digits = digits_of(v, post)?;
    let negative = digits.as_ref().is_some_and(|d| d.2);
    let (significant, frac, overflow) = match &digits {
        Some((int, frac, _)) => {
            let mut sig = int.trim_start_matches('0').to_owned();
            if sig.is_empty() && point.is_none() {
                sig.push('0');
            }
            let overflow = sig.len() > pre;
            (sig, frac.clone(), overflow)
        }
        // NaN and the infinities fill every digit position with `#`.
        None => (String::new(), String::new(), true),
    };
    let first_digit = nodes.iter().position(is_digit);
    // An `S` before the digits is the number's own sign position.
    let anchored_s = nodes
        .iter()
        .position(|n| *n == NumNode::Sign(SignPat::Both))
        .filter(|s| first_digit.is_none_or(|d| *s < d));
    // PL prints its `+` beside the number's own sign position.
    let explicit_sign = nodes.iter().any(|n| {
        matches!(
            n,
            NumNode::Sign(SignPat::Both | SignPat::Minus | SignPat::Sg)
        )
    });
    let brackets = nodes.contains(&NumNode::AngleBrackets);
    let anchored_sign = if brackets {
        // `PR`: `<` where the sign goes, `>` at the PR.
        if negative {
            Some('<')
        } else {
            (!fill).then_some(' ')
        }
    } else if anchored_s.is_some() {
        Some(if negative { '-' } else { '+' })
    } else if explicit_sign {
        None
    } else if negative {
        Some('-')
    } else if fill {
        None
    } else {
        Some(' ')
    };
    let first_printed = if overflow {
        0
    } else {
        let first_sig = pre - significant.len();
        let zero_start = nodes[..int_end]
            .iter()
            .filter(|n| is_digit(n))
            .position(|n| *n == NumNode::Digit(true))
            .unwrap_or(pre);
        first_sig.min(zero_start)
    };
    // Under FM, trailing fraction zeros at `9` positions go.
    let frac_keep = if fill {
        let frac_nodes: Vec<&NumNode> = nodes[int_end..].iter().filter(|n| is_digit(n)).collect();
        frac.char_indices()
            .rev()
            .find(|(i, c)| *c != '0' || frac_nodes.get(*i) == Some(&&NumNode::Digit(true)))
            .map_or(0, |(i, _)| i + 1)
    } else {
        post
    };
    let int_digits: Vec<char> = {
        let padded = format!("{significant:0>pre$}");
        padded.chars().collect()
    };
    let frac_digits: Vec<char> = frac.chars().collect();
    let mut out = String::new();
    let mut sign_pending = anchored_sign;
    let mut int_pos = 0;
    let mut frac_pos = 0;
    for (i, node) in nodes.iter().enumerate() {
        match *node {
            NumNode::Digit(_) if i < int_end => {
                if int_pos < first_printed {
                    if !fill {
                        out.push(' ');
                    }
                } else {
                    if let Some(s) = sign_pending.take() {
                        out.push(s);
                    }
                    out.push(if overflow {
                        '#'
                    } else {
                        int_digits.get(int_pos).copied().unwrap_or('0')
                    });
                }
                int_pos += 1;
            }
            NumNode::Digit(_) => {
                if frac_pos < frac_keep {
                    out.push(if overflow {
                        '#'
                    } else {
                        frac_digits.get(frac_pos).copied().unwrap_or('0')
                    });
                }
                frac_pos += 1;
            }
            NumNode::Point => {
                if let Some(s) = sign_pending.take() {
                    out.push(s);
                }
                out.push('.');
            }
            NumNode::Group => {
                if i < int_end && int_pos <= first_printed {
                    if !fill {
                        out.push(' ');
                    }
                } else {
                    out.push(',');
                }
            }
            NumNode::Sign(pat) => {
                if anchored_s == Some(i) {
                    continue;
                }
                let c = match (pat, negative) {
                    (SignPat::Both | SignPat::Sg | SignPat::Minus, true) => Some('-'),
                    (SignPat::Both | SignPat::Sg | SignPat::Plus, false) => Some('+'),
                    (SignPat::Minus, false) | (SignPat::Plus, true) => (!fill).then_some(' '),
                };
                out.extend(c);
            }
            NumNode::AngleBrackets => {
                if let Some(s) = sign_pending.take() {
                    out.push(s);
                }
                if negative {
                    out.push('>');
                } else if !fill {
                    out.push(' ');
                }
            }
            NumNode::Literal(c) => out.push(c),
        }
    }
    if let Some(s) = sign_pending {
        out.push(s);
    }
    Ok(out)
}

/// `to_number(input, picture)`: the digits of `input` at the picture's
/// digit positions, with its decimal point and sign; group separators
/// and literal text are skipped.
pub(crate) fn to_number(input: &str, picture: &str) -> SqlResult<Decimal> {
    let Picture { nodes, form, .. } = parse_picture(picture)?;
    if form.is_some() {
        return Err(SqlError::unsupported(
            "to_number with RN or EEEE is not supported",
        ));
    }
    let mut rest = input.trim_start();
    let mut int = String::new();
    let mut frac = String::new();
    let mut in_frac = false;
    let mut negative = false;
    let mut take_sign = |rest: &mut &str| {
        if let Some(r) = rest.strip_prefix('-') {
            negative = true;
            *rest = r;
        } else if let Some(r) = rest.strip_prefix('+') {
            *rest = r;
        }
    };
    for node in nodes {
        match node {
            NumNode::Digit(_) => {
                if int.is_empty() && frac.is_empty() {
                    take_sign(&mut rest);
                }
                match rest.chars().next() {
                    Some(c) if c.is_ascii_digit() => {
                        if in_frac {
                            frac.push(c);
                        } else {
                            int.push(c);
                        }
                        rest = &rest[1..];
                    }
                    Some(' ') => rest = &rest[1..],
                    _ => {}
                }
            }
            NumNode::Point => {
                if let Some(r) = rest.strip_prefix('.') {
                    rest = r;
                }
                in_frac = true;
            }
            NumNode::Group => {
                if let Some(r) = rest.strip_prefix(',') {
                    rest = r;
                }
            }
            NumNode::Sign(_) => take_sign(&mut rest),
            NumNode::AngleBrackets => {
                if let Some(r) = rest.strip_prefix('>') {
                    rest = r;
                }
            }
            NumNode::Literal(_) => {
                if let Some(c) = rest.chars().next() {
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
    }
    if int.is_empty() && frac.is_empty() {
        return Err(SqlError::Type(TypeError::InvalidText {
            type_name: "numeric",
            input: input.to_owned(),
        }));
    }
    let text = format!(
        "{}{}.{}",
        if negative { "-" } else { "" },
        if int.is_empty() { "0" } else { &int },
        frac
    );
    let text = text.trim_end_matches('.');
    text.parse::<Decimal>()
        .map_err(|_| SqlError::Type(TypeError::NumericOverflow))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(v: Value, picture: &str) -> String {
        number_to_char(&v, picture).unwrap()
    }

    #[test]
    fn digits_pad_and_sign() {
        assert_eq!(
            fmt(Value::Numeric(Decimal::new(12345, 1)), "9999.99"),
            " 1234.50"
        );
        assert_eq!(fmt(Value::Int4(42), "000"), " 042");
        assert_eq!(fmt(Value::Int4(-5), "999"), "  -5");
        assert_eq!(fmt(Value::Int4(-5), "000"), "-005");
        assert_eq!(fmt(Value::Int4(1234), "9,999"), " 1,234");
        assert_eq!(fmt(Value::Int4(12345), "999"), " ###");
        assert_eq!(fmt(Value::Float8(-3.5), "FM999.99"), "-3.5");
        assert_eq!(fmt(Value::Int4(7), "S99"), " +7");
        assert_eq!(fmt(Value::Int4(7), "99MI"), " 7 ");
        assert_eq!(fmt(Value::Int4(485), "PL999"), "+ 485");
        assert_eq!(fmt(Value::Int4(-485), "PL999"), " -485");
    }

    #[test]
    fn angle_brackets_shift_and_currency() {
        assert_eq!(fmt(Value::Int4(-485), "999PR"), "<485>");
        assert_eq!(fmt(Value::Int4(485), "999PR"), " 485 ");
        assert_eq!(
            fmt(Value::Numeric(Decimal::new(-4855, 1)), "FM999.9PR"),
            "<485.5>"
        );
        assert_eq!(fmt(Value::Int4(12), "99V9"), " 120");
        assert_eq!(fmt(Value::Numeric(Decimal::new(1245, 2)), "99V99"), " 1245");
        assert_eq!(fmt(Value::Int4(12), "L99"), "  12");
        assert_eq!(fmt(Value::Int4(485), "FML999"), " 485");
        assert_eq!(fmt(Value::Int4(1994), "FMRN"), "MCMXCIV");
    }

    #[test]
    fn to_number_reads_digits_and_skips_separators() {
        assert_eq!(
            to_number("12,345", "99,999").unwrap(),
            Decimal::new(12345, 0)
        );
        assert_eq!(
            to_number("-12.50", "99.99").unwrap(),
            Decimal::new(-1250, 2)
        );
        assert!(to_number("abc", "999").is_err());
    }
}
