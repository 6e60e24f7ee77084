//! The engine's error type and its SQLSTATE codes.
//!
//! Each layer has its own typed error ([`StorageError`], and the SQL and
//! transaction errors as they arrive); [`Error`] gathers them, and
//! [`Error::sqlstate`] is the one place that decides what a client sees.

use std::fmt;

use crate::mvcc::TxnError;
use crate::storage::StorageError;
use crate::types::TypeError;

/// A result whose error is the engine's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// A PostgreSQL SQLSTATE: five characters, the first two the class.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SqlState(&'static str);

impl SqlState {
    /// 0A000 feature_not_supported
    pub const FEATURE_NOT_SUPPORTED: SqlState = SqlState("0A000");
    /// 22001 string_data_right_truncation
    pub const STRING_DATA_RIGHT_TRUNCATION: SqlState = SqlState("22001");
    /// 22003 numeric_value_out_of_range
    pub const NUMERIC_VALUE_OUT_OF_RANGE: SqlState = SqlState("22003");
    /// 22007 invalid_datetime_format
    pub const INVALID_DATETIME_FORMAT: SqlState = SqlState("22007");
    /// 22008 datetime_field_overflow
    pub const DATETIME_FIELD_OVERFLOW: SqlState = SqlState("22008");
    /// 22015 interval_field_overflow
    pub const INTERVAL_FIELD_OVERFLOW: SqlState = SqlState("22015");
    /// 22023 invalid_parameter_value
    pub const INVALID_PARAMETER_VALUE: SqlState = SqlState("22023");
    /// 22012 division_by_zero
    pub const DIVISION_BY_ZERO: SqlState = SqlState("22012");
    /// 22P02 invalid_text_representation
    pub const INVALID_TEXT_REPRESENTATION: SqlState = SqlState("22P02");
    /// 22021 character_not_in_repertoire
    pub const CHARACTER_NOT_IN_REPERTOIRE: SqlState = SqlState("22021");
    /// 42804 datatype_mismatch
    pub const DATATYPE_MISMATCH: SqlState = SqlState("42804");
    /// 42704 undefined_object
    pub const UNDEFINED_OBJECT: SqlState = SqlState("42704");
    /// 42846 cannot_coerce
    pub const CANNOT_COERCE: SqlState = SqlState("42846");
    /// 42P01 undefined_table
    pub const UNDEFINED_TABLE: SqlState = SqlState("42P01");
    /// 42P07 duplicate_table
    pub const DUPLICATE_TABLE: SqlState = SqlState("42P07");
    /// 53200 out_of_memory
    pub const OUT_OF_MEMORY: SqlState = SqlState("53200");
    /// 54000 program_limit_exceeded
    pub const PROGRAM_LIMIT_EXCEEDED: SqlState = SqlState("54000");
    /// 55006 object_in_use
    pub const OBJECT_IN_USE: SqlState = SqlState("55006");
    /// 58030 io_error
    pub const IO_ERROR: SqlState = SqlState("58030");
    /// 53100 disk_full
    pub const DISK_FULL: SqlState = SqlState("53100");
    /// 57P03 cannot_connect_now: the store stopped after an I/O failure and
    /// must be reopened.
    pub const CANNOT_CONNECT_NOW: SqlState = SqlState("57P03");
    /// 28000 invalid_authorization_specification: a wrong or missing
    /// encryption key.
    pub const INVALID_AUTHORIZATION: SqlState = SqlState("28000");
    /// XX001 data_corrupted
    pub const DATA_CORRUPTED: SqlState = SqlState("XX001");
    /// XX000 internal_error
    pub const INTERNAL_ERROR: SqlState = SqlState("XX000");
    /// 23505 unique_violation
    pub const UNIQUE_VIOLATION: SqlState = SqlState("23505");
    /// 25006 read_only_sql_transaction
    pub const READ_ONLY_SQL_TRANSACTION: SqlState = SqlState("25006");
    /// 25P02 in_failed_sql_transaction
    pub const IN_FAILED_SQL_TRANSACTION: SqlState = SqlState("25P02");
    /// 3B001 invalid_savepoint_specification
    pub const INVALID_SAVEPOINT_SPECIFICATION: SqlState = SqlState("3B001");
    /// 40001 serialization_failure
    pub const SERIALIZATION_FAILURE: SqlState = SqlState("40001");
    /// 40P01 deadlock_detected
    pub const DEADLOCK_DETECTED: SqlState = SqlState("40P01");
    /// 55P03 lock_not_available
    pub const LOCK_NOT_AVAILABLE: SqlState = SqlState("55P03");
    /// 57014 query_canceled
    pub const QUERY_CANCELED: SqlState = SqlState("57014");
    /// F0000 config_file_error
    pub const CONFIG_FILE_ERROR: SqlState = SqlState("F0000");

    /// The five-character code.
    pub fn code(self) -> &'static str {
        self.0
    }

    /// The two-character class (`"23"` for integrity constraint violations).
    pub fn class(self) -> &'static str {
        &self.0[..2]
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SqlState({})", self.0)
    }
}

/// Every error the engine reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A failure in the storage layer.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A value did not fit its type, or a conversion failed.
    #[error(transparent)]
    Type(#[from] TypeError),
    /// A transaction failed: conflict, deadlock, lock wait ended, …
    #[error(transparent)]
    Txn(#[from] TxnError),
}

impl Error {
    /// The SQLSTATE a client receives for this error.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            Error::Storage(e) => storage_sqlstate(e),
            Error::Type(e) => e.sqlstate(),
            Error::Txn(TxnError::Storage(e)) => storage_sqlstate(e),
            Error::Txn(e) => e.sqlstate().unwrap_or(SqlState::INTERNAL_ERROR),
        }
    }
}

fn storage_sqlstate(e: &StorageError) -> SqlState {
    match e {
        StorageError::Io { source, .. } if source.raw_os_error() == Some(28) => SqlState::DISK_FULL,
        StorageError::Io { .. } => SqlState::IO_ERROR,
        StorageError::CorruptPage { .. } | StorageError::Corrupt(_) => SqlState::DATA_CORRUPTED,
        StorageError::Key(_) => SqlState::INVALID_AUTHORIZATION,
        StorageError::Poisoned(_) => SqlState::CANNOT_CONNECT_NOW,
        StorageError::KeyTooLarge { .. } | StorageError::ValueTooLarge { .. } => {
            SqlState::PROGRAM_LIMIT_EXCEEDED
        }
        StorageError::BufferPoolFull => SqlState::OUT_OF_MEMORY,
        StorageError::NoSuchTree(_) => SqlState::UNDEFINED_TABLE,
        StorageError::TreeExists(_) => SqlState::DUPLICATE_TABLE,
        StorageError::InvalidOption(_) => SqlState::CONFIG_FILE_ERROR,
        StorageError::InUse(_) => SqlState::OBJECT_IN_USE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn full_disk_is_53100_and_other_io_is_58030() {
        let full = StorageError::io("write", "/x", io::Error::from_raw_os_error(28));
        assert_eq!(Error::from(full).sqlstate(), SqlState::DISK_FULL);
        let other = StorageError::io("write", "/x", io::Error::other("boom"));
        assert_eq!(Error::from(other).sqlstate().code(), "58030");
    }

    #[test]
    fn corruption_is_class_xx() {
        let e = Error::from(StorageError::CorruptPage {
            page: 7,
            reason: "checksum mismatch",
        });
        assert_eq!(e.sqlstate().class(), "XX");
        assert!(e.to_string().contains("page 7"));
    }
}
