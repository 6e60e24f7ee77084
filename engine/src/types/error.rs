//! The errors of type checking, conversion and decoding.
//!
//! Each variant carries what PostgreSQL puts in its message, so the text a
//! client sees matches PostgreSQL's word for word, and [`TypeError::sqlstate`]
//! picks the code.

use crate::SqlState;

/// A value did not fit its type, text did not parse, or bytes did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    /// Text that is not a value of the type (22P02).
    #[error("invalid input syntax for type {type_name}: \"{input}\"")]
    InvalidText {
        /// The type as PostgreSQL names it in this message.
        type_name: &'static str,
        /// The rejected text.
        input: String,
    },
    /// An integer literal beyond its type's range (22003).
    #[error("value \"{input}\" is out of range for type {type_name}")]
    InputOutOfRange {
        /// `smallint`, `integer` or `bigint`.
        type_name: &'static str,
        /// The rejected text.
        input: String,
    },
    /// A float literal that overflows or underflows its type (22003).
    #[error("\"{input}\" is out of range for type {type_name}")]
    FloatInputOutOfRange {
        /// `real` or `double precision`.
        type_name: &'static str,
        /// The rejected text.
        input: String,
    },
    /// A conversion result beyond the target's range, e.g. `integer out of
    /// range` (22003).
    #[error("{type_name} out of range")]
    OutOfRange {
        /// The target type.
        type_name: &'static str,
    },
    /// A narrowing float conversion that overflowed or underflowed (22003).
    #[error("value out of range: {0}")]
    FloatOutOfRange(&'static str),
    /// A number that rounds to too many integer digits for `numeric(p,s)`
    /// (22003); [`TypeError::detail`] explains the bound.
    #[error("numeric field overflow")]
    NumericFieldOverflow {
        /// The column's precision.
        precision: u32,
        /// The column's scale.
        scale: u32,
    },
    /// A number beyond what a `numeric` value can hold (22003).
    #[error("value overflows numeric format")]
    NumericOverflow,
    /// A string longer than its `varchar(n)` or `char(n)` on assignment
    /// (22001).
    #[error("value too long for type {type_name}")]
    TooLong {
        /// The full type, e.g. `character varying(3)`.
        type_name: String,
    },
    /// Date, time or interval text that does not parse (22007).
    #[error("invalid input syntax for type {type_name}: \"{input}\"")]
    InvalidDatetime {
        /// `date`, `timestamp`, `timestamp with time zone` or `interval`.
        type_name: &'static str,
        /// The rejected text.
        input: String,
    },
    /// A date or time field out of its range, like month 13 (22008).
    #[error("date/time field value out of range: \"{input}\"")]
    DatetimeFieldOverflow {
        /// The rejected text.
        input: String,
    },
    /// A date, timestamp or interval beyond the type's range (22008; 22015
    /// for an interval).
    #[error("{type_name} out of range")]
    DatetimeOutOfRange {
        /// `date`, `timestamp` or `interval`.
        type_name: &'static str,
    },
    /// A `\u0000` escape in `jsonb` input (22P05).
    #[error("unsupported Unicode escape sequence")]
    JsonNulEscape,
    /// A time zone name that is no abbreviation, database zone or POSIX
    /// specification (22023).
    #[error("time zone \"{0}\" not recognized")]
    UnknownTimeZone(String),
    /// Bytea text with a bad hex digit or an odd number of them.
    #[error("{0}")]
    InvalidBytea(String),
    /// A string with a NUL character, which PostgreSQL text cannot hold
    /// (22021).
    #[error("invalid byte sequence for encoding \"UTF8\": 0x00")]
    NulCharacter,
    /// No cast exists between the two types.
    #[error("cannot cast type {from} to {to}")]
    CannotCast {
        /// The source type.
        from: String,
        /// The target type.
        to: String,
    },
    /// A type name that names no supported type.
    #[error("type \"{0}\" does not exist")]
    UnknownType(String),
    /// A type modifier out of its range, e.g. `varchar(0)`.
    #[error("{0}")]
    InvalidTypeModifier(String),
    /// Something PostgreSQL has that this engine does not (0A000).
    #[error("{0} is not supported")]
    Unsupported(&'static str),
    /// Stored bytes that do not decode: a bug or corruption, never user input
    /// (XX001).
    #[error("corrupt encoded value: {0}")]
    Corrupt(&'static str),
}

impl TypeError {
    /// The SQLSTATE a client receives.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            TypeError::InvalidText { .. } => SqlState::INVALID_TEXT_REPRESENTATION,
            TypeError::InputOutOfRange { .. }
            | TypeError::FloatInputOutOfRange { .. }
            | TypeError::OutOfRange { .. }
            | TypeError::FloatOutOfRange(_)
            | TypeError::NumericFieldOverflow { .. }
            | TypeError::NumericOverflow => SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            TypeError::TooLong { .. } => SqlState::STRING_DATA_RIGHT_TRUNCATION,
            TypeError::InvalidDatetime { .. } => SqlState::INVALID_DATETIME_FORMAT,
            TypeError::DatetimeOutOfRange {
                type_name: "interval",
            } => SqlState::INTERVAL_FIELD_OVERFLOW,
            TypeError::DatetimeFieldOverflow { .. } | TypeError::DatetimeOutOfRange { .. } => {
                SqlState::DATETIME_FIELD_OVERFLOW
            }
            TypeError::InvalidBytea(_) | TypeError::UnknownTimeZone(_) => {
                SqlState::INVALID_PARAMETER_VALUE
            }
            TypeError::NulCharacter => SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            TypeError::JsonNulEscape => SqlState::UNTRANSLATABLE_CHARACTER,
            TypeError::CannotCast { .. } => SqlState::CANNOT_COERCE,
            TypeError::UnknownType(_) => SqlState::UNDEFINED_OBJECT,
            TypeError::InvalidTypeModifier(_) => SqlState::INVALID_PARAMETER_VALUE,
            TypeError::Unsupported(_) => SqlState::FEATURE_NOT_SUPPORTED,
            TypeError::Corrupt(_) => SqlState::DATA_CORRUPTED,
        }
    }

    /// PostgreSQL's DETAIL line, for the errors that have one.
    pub fn detail(&self) -> Option<String> {
        match self {
            TypeError::NumericFieldOverflow { precision, scale } => Some(format!(
                "A field with precision {precision}, scale {scale} must round to an absolute value less than 10^{}.",
                precision.saturating_sub(*scale)
            )),
            _ => None,
        }
    }
}
