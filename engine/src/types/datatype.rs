//! The SQL types: names, OIDs and wire lengths as PostgreSQL has them.

use std::fmt;
use std::str::FromStr;

use super::error::TypeError;

/// PostgreSQL's limit on `numeric` precision.
const NUMERIC_MAX_PRECISION: u32 = 1000;
/// PostgreSQL's limit on `varchar(n)` and `char(n)`.
const MAX_CHAR_LENGTH: u32 = 10_485_760;

/// A SQL data type, with its type modifier where it has one.
///
/// `serial`, `bigserial` and `smallserial` are not types but column
/// shorthands (an integer plus a sequence default), so the SQL layer maps
/// them; this parser only knows the base types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `boolean`
    Bool,
    /// `smallint`
    Int2,
    /// `integer`
    Int4,
    /// `bigint`
    Int8,
    /// `real`
    Float4,
    /// `double precision`
    Float8,
    /// `numeric(p,s)`; `precision: None` is unconstrained. A precision
    /// always comes with a scale (`numeric(p)` is `numeric(p,0)`).
    Numeric {
        /// Total significant digits, 1 to 1000.
        precision: Option<u32>,
        /// Digits after the point, 0 to `precision`.
        scale: Option<u32>,
    },
    /// `text`
    Text,
    /// `character varying(n)`
    Varchar(Option<u32>),
    /// `character(n)`; `None` is PostgreSQL's `bpchar`, blank-padded without
    /// a length.
    Char(Option<u32>),
    /// `bytea`
    Bytea,
    /// `date`
    Date,
    /// `timestamp without time zone`
    Timestamp,
    /// `timestamp with time zone`
    TimestampTz,
    /// `interval`
    Interval,
    /// `json`
    Json,
    /// `jsonb`
    Jsonb,
}

impl DataType {
    /// `numeric(precision, scale)`, checked as PostgreSQL checks it.
    pub fn numeric(precision: u32, scale: u32) -> Result<DataType, TypeError> {
        if !(1..=NUMERIC_MAX_PRECISION).contains(&precision) {
            return Err(TypeError::InvalidTypeModifier(format!(
                "NUMERIC precision {precision} must be between 1 and {NUMERIC_MAX_PRECISION}"
            )));
        }
        if scale > precision {
            return Err(TypeError::InvalidTypeModifier(format!(
                "NUMERIC scale {scale} must be between 0 and precision {precision}"
            )));
        }
        Ok(DataType::Numeric {
            precision: Some(precision),
            scale: Some(scale),
        })
    }

    /// The PostgreSQL type OID, as sent in RowDescription.
    pub fn oid(&self) -> u32 {
        match self {
            DataType::Bool => 16,
            DataType::Int2 => 21,
            DataType::Int4 => 23,
            DataType::Int8 => 20,
            DataType::Float4 => 700,
            DataType::Float8 => 701,
            DataType::Numeric { .. } => 1700,
            DataType::Text => 25,
            DataType::Varchar(_) => 1043,
            DataType::Char(_) => 1042,
            DataType::Bytea => 17,
            DataType::Date => 1082,
            DataType::Timestamp => 1114,
            DataType::TimestampTz => 1184,
            DataType::Interval => 1186,
            DataType::Json => 114,
            DataType::Jsonb => 3802,
        }
    }

    /// `pg_type.typlen`: the fixed size in bytes, or -1 for variable length.
    pub fn typlen(&self) -> i16 {
        match self {
            DataType::Bool => 1,
            DataType::Int2 => 2,
            DataType::Int4 | DataType::Float4 | DataType::Date => 4,
            DataType::Int8 | DataType::Float8 | DataType::Timestamp | DataType::TimestampTz => 8,
            DataType::Interval => 16,
            _ => -1,
        }
    }

    /// The type modifier as PostgreSQL's wire protocol reports it
    /// (`atttypmod`), -1 when there is none.
    pub fn typmod(&self) -> i32 {
        const VARHDRSZ: i64 = 4;
        let modifier = match self {
            DataType::Varchar(Some(n)) | DataType::Char(Some(n)) => i64::from(*n) + VARHDRSZ,
            DataType::Numeric {
                precision: Some(p),
                scale,
            } => ((i64::from(*p) << 16) | i64::from(scale.unwrap_or(0))) + VARHDRSZ,
            _ => -1,
        };
        i32::try_from(modifier).unwrap_or(-1)
    }

    /// The name PostgreSQL uses for the type in error messages, without a
    /// modifier.
    pub fn name(&self) -> &'static str {
        match self {
            DataType::Bool => "boolean",
            DataType::Int2 => "smallint",
            DataType::Int4 => "integer",
            DataType::Int8 => "bigint",
            DataType::Float4 => "real",
            DataType::Float8 => "double precision",
            DataType::Numeric { .. } => "numeric",
            DataType::Text => "text",
            DataType::Varchar(_) => "character varying",
            DataType::Char(Some(_)) => "character",
            DataType::Char(None) => "bpchar",
            DataType::Bytea => "bytea",
            DataType::Date => "date",
            DataType::Timestamp => "timestamp without time zone",
            DataType::TimestampTz => "timestamp with time zone",
            DataType::Interval => "interval",
            DataType::Json => "json",
            DataType::Jsonb => "jsonb",
        }
    }

    /// Whether values of this type are `Value::Text`.
    pub fn is_string(&self) -> bool {
        matches!(
            self,
            DataType::Text | DataType::Varchar(_) | DataType::Char(_)
        )
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Numeric {
                precision: Some(p),
                scale,
            } => write!(f, "numeric({p},{})", scale.unwrap_or(0)),
            DataType::Varchar(Some(n)) | DataType::Char(Some(n)) => {
                write!(f, "{}({n})", self.name())
            }
            _ => f.write_str(self.name()),
        }
    }
}

impl FromStr for DataType {
    type Err = TypeError;

    /// Parses a type name as written in SQL (`int`, `character varying(10)`,
    /// `timestamp with time zone`, `decimal(10,2)`, ...).
    fn from_str(name: &str) -> Result<DataType, TypeError> {
        let unknown = || TypeError::UnknownType(name.trim().to_owned());
        let lower = name.to_ascii_lowercase();
        let (base, modifiers) = split_modifiers(&lower).ok_or_else(unknown)?;
        let ty = match (base.as_str(), modifiers.as_slice()) {
            ("bool" | "boolean", []) => DataType::Bool,
            ("int2" | "smallint", []) => DataType::Int2,
            ("int4" | "int" | "integer", []) => DataType::Int4,
            ("int8" | "bigint", []) => DataType::Int8,
            ("float4" | "real", []) => DataType::Float4,
            ("float8" | "double precision" | "float", []) => DataType::Float8,
            ("float", [p]) => match p {
                1..=24 => DataType::Float4,
                25..=53 => DataType::Float8,
                _ => {
                    return Err(TypeError::InvalidTypeModifier(format!(
                        "precision for type float must be between 1 and 53, got {p}"
                    )));
                }
            },
            ("numeric" | "decimal", []) => DataType::Numeric {
                precision: None,
                scale: None,
            },
            ("numeric" | "decimal", [p]) => DataType::numeric(*p, 0)?,
            ("numeric" | "decimal", [p, s]) => DataType::numeric(*p, *s)?,
            ("text", []) => DataType::Text,
            ("varchar" | "character varying" | "char varying", []) => DataType::Varchar(None),
            ("varchar" | "character varying" | "char varying", [n]) => {
                DataType::Varchar(Some(char_length("varchar", *n)?))
            }
            ("char" | "character", []) => DataType::Char(Some(1)),
            ("bpchar", []) => DataType::Char(None),
            ("char" | "character" | "bpchar", [n]) => {
                DataType::Char(Some(char_length("char", *n)?))
            }
            ("bytea", []) => DataType::Bytea,
            ("date", []) => DataType::Date,
            ("timestamp" | "timestamp without time zone", []) => DataType::Timestamp,
            ("timestamptz" | "timestamp with time zone", []) => DataType::TimestampTz,
            // Six fractional digits is what every timestamp holds here, so
            // only that precision is honest to accept.
            ("timestamp" | "timestamp without time zone", [6]) => DataType::Timestamp,
            ("timestamptz" | "timestamp with time zone", [6]) => DataType::TimestampTz,
            (
                "timestamp"
                | "timestamptz"
                | "timestamp without time zone"
                | "timestamp with time zone",
                [_],
            ) => {
                return Err(TypeError::Unsupported("timestamp precision other than 6"));
            }
            ("interval", []) => DataType::Interval,
            ("json", []) => DataType::Json,
            ("jsonb", []) => DataType::Jsonb,
            _ => return Err(unknown()),
        };
        Ok(ty)
    }
}

fn char_length(type_name: &str, n: u32) -> Result<u32, TypeError> {
    if n < 1 {
        return Err(TypeError::InvalidTypeModifier(format!(
            "length for type {type_name} must be at least 1"
        )));
    }
    if n > MAX_CHAR_LENGTH {
        return Err(TypeError::InvalidTypeModifier(format!(
            "length for type {type_name} cannot exceed {MAX_CHAR_LENGTH}"
        )));
    }
    Ok(n)
}

/// Splits `timestamp(6) with time zone` into `timestamp with time zone` and
/// `[6]`; the modifier may sit mid-name, so it is cut out wherever it is.
fn split_modifiers(name: &str) -> Option<(String, Vec<u32>)> {
    let (base, modifiers) = match name.find('(') {
        None => (name.to_owned(), Vec::new()),
        Some(open) => {
            let close = open + name.get(open..)?.find(')')?;
            let inner = name.get(open + 1..close)?;
            let modifiers = inner
                .split(',')
                .map(|m| m.trim().parse::<u32>().ok())
                .collect::<Option<Vec<_>>>()?;
            let rest = format!("{} {}", name.get(..open)?, name.get(close + 1..)?);
            if rest.contains(['(', ')']) {
                return None;
            }
            (rest, modifiers)
        }
    };
    let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
    Some((base, modifiers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_display() {
        for name in [
            "boolean",
            "smallint",
            "integer",
            "bigint",
            "real",
            "double precision",
            "numeric",
            "numeric(10,2)",
            "text",
            "character varying",
            "character varying(10)",
            "character(3)",
            "bpchar",
            "bytea",
            "date",
            "timestamp without time zone",
            "timestamp with time zone",
            "interval",
            "json",
            "jsonb",
        ] {
            let ty: DataType = name.parse().unwrap();
            assert_eq!(ty.to_string(), name);
        }
    }

    #[test]
    fn aliases() {
        let p = |s: &str| s.parse::<DataType>().unwrap();
        assert_eq!(p("INT"), DataType::Int4);
        assert_eq!(p("int8"), DataType::Int8);
        assert_eq!(p("float"), DataType::Float8);
        assert_eq!(p("float(10)"), DataType::Float4);
        assert_eq!(p("decimal(5)").to_string(), "numeric(5,0)");
        assert_eq!(p("varchar( 3 )"), DataType::Varchar(Some(3)));
        assert_eq!(p("char"), DataType::Char(Some(1)));
        assert_eq!(p("timestamp(6)  with time zone"), DataType::TimestampTz);
        assert_eq!(p("timestamptz"), DataType::TimestampTz);
        assert!("serial".parse::<DataType>().is_err());
        assert!("varchar(0)".parse::<DataType>().is_err());
        assert!("numeric(3,4)".parse::<DataType>().is_err());
        assert!("numeric(2".parse::<DataType>().is_err());
    }

    #[test]
    fn oids_and_lengths() {
        assert_eq!(DataType::Int8.oid(), 20);
        assert_eq!(DataType::Char(Some(3)).oid(), 1042);
        assert_eq!(DataType::Interval.typlen(), 16);
        assert_eq!(DataType::Text.typlen(), -1);
        assert_eq!(DataType::Varchar(Some(10)).typmod(), 14);
        assert_eq!(
            DataType::numeric(10, 2).unwrap().typmod(),
            (10 << 16 | 2) + 4
        );
        assert_eq!(DataType::Int4.typmod(), -1);
    }
}
