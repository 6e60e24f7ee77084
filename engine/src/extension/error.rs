//! Errors of user code and of the machinery around it.

use std::fmt;

use crate::error::SqlState;

/// A SQLSTATE held by value: five characters of `0-9A-Z`.
///
/// The engine's [`SqlState`] names its codes with `'static` strings, but a
/// guest chooses any code at run time, so errors that cross the extension
/// boundary carry this instead. Every [`SqlState`] converts into one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode([u8; 5]);

impl ErrorCode {
    /// P0001 raise_exception: PL/pgSQL's `RAISE EXCEPTION`, the customary
    /// code for a routine's own error.
    pub const RAISE_EXCEPTION: ErrorCode = ErrorCode(*b"P0001");
    /// 38000 external_routine_exception: the routine trapped.
    pub const EXTERNAL_ROUTINE_EXCEPTION: ErrorCode = ErrorCode(*b"38000");
    /// 39000 external_routine_invocation_exception: the routine could not be
    /// called as declared (a missing export, a result of the wrong shape).
    pub const EXTERNAL_ROUTINE_INVOCATION: ErrorCode = ErrorCode(*b"39000");
    /// 54000 program_limit_exceeded: the call ran out of fuel.
    pub const PROGRAM_LIMIT_EXCEEDED: ErrorCode = ErrorCode(*b"54000");
    /// 54001 statement_too_complex: the routine overflowed its stack.
    pub const STATEMENT_TOO_COMPLEX: ErrorCode = ErrorCode(*b"54001");
    /// 53200 out_of_memory: the routine reached its memory cap.
    pub const OUT_OF_MEMORY: ErrorCode = ErrorCode(*b"53200");
    /// 53300 too_many_connections, PostgreSQL's code for running out of a
    /// pooled resource: no free instance slot.
    pub const TOO_MANY_CONNECTIONS: ErrorCode = ErrorCode(*b"53300");
    /// 57014 query_canceled: the deadline passed or the client cancelled.
    pub const QUERY_CANCELED: ErrorCode = ErrorCode(*b"57014");
    /// 42P17 invalid_object_definition: a module that cannot be deployed.
    pub const INVALID_OBJECT_DEFINITION: ErrorCode = ErrorCode(*b"42P17");
    /// 42883 undefined_function: no such module or routine.
    pub const UNDEFINED_FUNCTION: ErrorCode = ErrorCode(*b"42883");
    /// 22023 invalid_parameter_value
    pub const INVALID_PARAMETER_VALUE: ErrorCode = ErrorCode(*b"22023");
    /// 22P02 invalid_text_representation
    pub const INVALID_TEXT_REPRESENTATION: ErrorCode = ErrorCode(*b"22P02");
    /// 58030 io_error
    pub const IO_ERROR: ErrorCode = ErrorCode(*b"58030");
    /// XX000 internal_error
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(*b"XX000");

    /// Parses a code a guest sent: exactly five ASCII digits or upper-case
    /// letters, and not of class `00` (success), which is no error at all.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        let bytes: [u8; 5] = code.as_bytes().try_into().ok()?;
        let valid = bytes
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        (valid && &bytes[..2] != b"00").then_some(ErrorCode(bytes))
    }

    /// The five-character code.
    pub fn as_str(&self) -> &str {
        // Every constructor admits ASCII only.
        std::str::from_utf8(&self.0).unwrap_or("XX000")
    }

    /// The two-character class (`"P0"`, `"38"`).
    pub fn class(&self) -> &str {
        &self.as_str()[..2]
    }
}

impl From<SqlState> for ErrorCode {
    fn from(state: SqlState) -> ErrorCode {
        ErrorCode::parse(state.code()).unwrap_or(ErrorCode::INTERNAL_ERROR)
    }
}

impl PartialEq<SqlState> for ErrorCode {
    fn eq(&self, other: &SqlState) -> bool {
        self.as_str() == other.code()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorCode({})", self.as_str())
    }
}

/// An error raised by user code, by SQL it ran, or by the host running it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExtensionError {
    /// What the client receives as SQLSTATE.
    pub code: ErrorCode,
    /// The primary message.
    pub message: String,
    /// PostgreSQL's optional DETAIL line.
    pub detail: Option<String>,
}

impl ExtensionError {
    /// An error with no detail.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> ExtensionError {
        ExtensionError {
            code: code.into(),
            message: message.into(),
            detail: None,
        }
    }

    /// Adds a DETAIL line.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> ExtensionError {
        self.detail = Some(detail.into());
        self
    }
}

impl From<crate::Error> for ExtensionError {
    fn from(e: crate::Error) -> ExtensionError {
        ExtensionError::new(e.sqlstate(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_codes_are_checked() {
        assert_eq!(ErrorCode::parse("P0001"), Some(ErrorCode::RAISE_EXCEPTION));
        assert_eq!(
            ErrorCode::parse("22P02").map(|c| c.class().to_owned()),
            Some("22".into())
        );
        for bad in ["", "P001", "P00011", "p0001", "00000", "P0-01", "é0001"] {
            assert_eq!(ErrorCode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn engine_states_convert() {
        let code = ErrorCode::from(SqlState::OUT_OF_MEMORY);
        assert_eq!(code, ErrorCode::OUT_OF_MEMORY);
        assert_eq!(code, SqlState::OUT_OF_MEMORY);
        let e = ExtensionError::new(SqlState::DIVISION_BY_ZERO, "x").with_detail("d");
        assert_eq!(e.code.as_str(), "22012");
        assert_eq!(e.to_string(), "x");
    }
}
