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
    /// 2201B invalid_regular_expression
    pub const INVALID_REGULAR_EXPRESSION: SqlState = SqlState("2201B");
    /// 22013 invalid_preceding_or_following_size
    pub const INVALID_PRECEDING_OR_FOLLOWING_SIZE: SqlState = SqlState("22013");
    /// 22014 invalid_argument_for_ntile_function
    pub const INVALID_ARGUMENT_FOR_NTILE: SqlState = SqlState("22014");
    /// 22016 invalid_argument_for_nth_value_function
    pub const INVALID_ARGUMENT_FOR_NTH_VALUE: SqlState = SqlState("22016");
    /// 22023 invalid_parameter_value
    pub const INVALID_PARAMETER_VALUE: SqlState = SqlState("22023");
    /// 22012 division_by_zero
    pub const DIVISION_BY_ZERO: SqlState = SqlState("22012");
    /// 22P02 invalid_text_representation
    pub const INVALID_TEXT_REPRESENTATION: SqlState = SqlState("22P02");
    /// 22021 character_not_in_repertoire
    pub const CHARACTER_NOT_IN_REPERTOIRE: SqlState = SqlState("22021");
    /// A JSON `\u0000` escape, which text cannot hold.
    pub const UNTRANSLATABLE_CHARACTER: SqlState = SqlState("22P05");
    /// 22025 invalid_escape_sequence
    pub const INVALID_ESCAPE_SEQUENCE: SqlState = SqlState("22025");
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
    /// 42601 syntax_error
    pub const SYNTAX_ERROR: SqlState = SqlState("42601");
    /// 42703 undefined_column
    pub const UNDEFINED_COLUMN: SqlState = SqlState("42703");
    /// 42702 ambiguous_column
    pub const AMBIGUOUS_COLUMN: SqlState = SqlState("42702");
    /// 42701 duplicate_column
    pub const DUPLICATE_COLUMN: SqlState = SqlState("42701");
    /// 42501 insufficient_privilege
    pub const INSUFFICIENT_PRIVILEGE: SqlState = SqlState("42501");
    /// 42710 duplicate_object
    pub const DUPLICATE_OBJECT: SqlState = SqlState("42710");
    /// 42712 duplicate_alias
    pub const DUPLICATE_ALIAS: SqlState = SqlState("42712");
    /// 2200H sequence_generator_limit_exceeded
    pub const SEQUENCE_LIMIT_EXCEEDED: SqlState = SqlState("2200H");
    /// 55000 object_not_in_prerequisite_state
    pub const OBJECT_NOT_IN_PREREQUISITE_STATE: SqlState = SqlState("55000");
    /// 42883 undefined_function
    pub const UNDEFINED_FUNCTION: SqlState = SqlState("42883");
    /// 42P20 windowing_error
    pub const WINDOWING_ERROR: SqlState = SqlState("42P20");
    /// 42803 grouping_error
    pub const GROUPING_ERROR: SqlState = SqlState("42803");
    /// 42P10 invalid_column_reference
    pub const INVALID_COLUMN_REFERENCE: SqlState = SqlState("42P10");
    /// 42809 wrong_object_type
    pub const WRONG_OBJECT_TYPE: SqlState = SqlState("42809");
    /// 42P16 invalid_table_definition
    pub const INVALID_TABLE_DEFINITION: SqlState = SqlState("42P16");
    /// 42P17 invalid_object_definition
    pub const INVALID_OBJECT_DEFINITION: SqlState = SqlState("42P17");
    /// 2BP01 dependent_objects_still_exist
    pub const DEPENDENT_OBJECTS_STILL_EXIST: SqlState = SqlState("2BP01");
    /// 23505 unique_violation
    pub const UNIQUE_VIOLATION: SqlState = SqlState("23505");
    /// 23502 not_null_violation
    pub const NOT_NULL_VIOLATION: SqlState = SqlState("23502");
    /// 23514 check_violation
    pub const CHECK_VIOLATION: SqlState = SqlState("23514");
    /// 23503 foreign_key_violation
    pub const FOREIGN_KEY_VIOLATION: SqlState = SqlState("23503");
    /// 42830 invalid_foreign_key
    pub const INVALID_FOREIGN_KEY: SqlState = SqlState("42830");
    /// 42P19 invalid_recursion
    pub const INVALID_RECURSION: SqlState = SqlState("42P19");
    /// 21000 cardinality_violation
    pub const CARDINALITY_VIOLATION: SqlState = SqlState("21000");
    /// 2201W invalid_row_count_in_limit_clause
    pub const INVALID_ROW_COUNT_IN_LIMIT: SqlState = SqlState("2201W");
    /// 2201X invalid_row_count_in_result_offset_clause
    pub const INVALID_ROW_COUNT_IN_OFFSET: SqlState = SqlState("2201X");
    /// 42602 invalid_name
    pub const INVALID_NAME: SqlState = SqlState("42602");
    /// 22004 null_value_not_allowed
    pub const NULL_VALUE_NOT_ALLOWED: SqlState = SqlState("22004");
    /// 22011 substring_error
    pub const SUBSTRING_ERROR: SqlState = SqlState("22011");
    /// 2201F invalid_argument_for_power_function
    pub const INVALID_ARGUMENT_FOR_POWER: SqlState = SqlState("2201F");
    /// 2201E invalid_argument_for_logarithm
    pub const INVALID_ARGUMENT_FOR_LOG: SqlState = SqlState("2201E");
    /// 2201G invalid_argument_for_width_bucket_function
    pub const INVALID_ARGUMENT_FOR_WIDTH_BUCKET: SqlState = SqlState("2201G");
    /// 25001 active_sql_transaction
    pub const ACTIVE_SQL_TRANSACTION: SqlState = SqlState("25001");
    /// 25P01 no_active_sql_transaction
    pub const NO_ACTIVE_SQL_TRANSACTION: SqlState = SqlState("25P01");
    /// 25P02 in_failed_sql_transaction
    pub const IN_FAILED_SQL_TRANSACTION: SqlState = SqlState("25P02");
    /// 25006 read_only_sql_transaction
    pub const READ_ONLY_SQL_TRANSACTION: SqlState = SqlState("25006");
    /// 3B001 invalid_savepoint_specification
    pub const INVALID_SAVEPOINT_SPECIFICATION: SqlState = SqlState("3B001");
    /// 57014 query_canceled
    pub const QUERY_CANCELED: SqlState = SqlState("57014");
    /// 42P02 undefined_parameter
    pub const UNDEFINED_PARAMETER: SqlState = SqlState("42P02");
    /// 42P05 duplicate_prepared_statement
    pub const DUPLICATE_PSTATEMENT: SqlState = SqlState("42P05");
    /// 26000 invalid_sql_statement_name
    pub const INVALID_SQL_STATEMENT_NAME: SqlState = SqlState("26000");
    /// 08P01 protocol_violation
    pub const PROTOCOL_VIOLATION: SqlState = SqlState("08P01");
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
    /// 40001 serialization_failure
    pub const SERIALIZATION_FAILURE: SqlState = SqlState("40001");
    /// 40P01 deadlock_detected
    pub const DEADLOCK_DETECTED: SqlState = SqlState("40P01");
    /// 55P02 cant_change_runtime_param
    pub const CANT_CHANGE_RUNTIME_PARAM: SqlState = SqlState("55P02");
    /// 55P03 lock_not_available
    pub const LOCK_NOT_AVAILABLE: SqlState = SqlState("55P03");
    /// 3F000 invalid_schema_name (`schema "s" does not exist`)
    pub const INVALID_SCHEMA_NAME: SqlState = SqlState("3F000");
    /// 42P06 duplicate_schema
    pub const DUPLICATE_SCHEMA: SqlState = SqlState("42P06");
    /// 42939 reserved_name (a `pg_` schema name)
    pub const RESERVED_NAME: SqlState = SqlState("42939");
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

    /// The state for a code known only at run time, such as the one a
    /// guest routine raises (`P0001`, `22023`, …); `None` unless it is five
    /// ASCII digits or upper-case letters.
    ///
    /// States hold `'static` codes, so each distinct code is interned once
    /// for the life of the process. A hostile guest inventing a new code per
    /// call must not grow memory without bound: past 4096 distinct codes a
    /// new one becomes its class's generic code (`XY000`), of which there
    /// are at most 36².
    pub fn from_code(code: &str) -> Option<SqlState> {
        use std::collections::HashSet;
        use std::sync::{Mutex, OnceLock};
        const MAX_INTERNED: usize = 4096;
        static CODES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
        let valid = code.len() == 5
            && code
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        if !valid {
            return None;
        }
        let mut codes = CODES
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(known) = codes.get(code) {
            return Some(SqlState(known));
        }
        let code = if codes.len() < MAX_INTERNED {
            code.to_owned()
        } else {
            format!("{}000", &code[..2])
        };
        if let Some(known) = codes.get(code.as_str()) {
            return Some(SqlState(known));
        }
        let leaked: &'static str = Box::leak(code.into_boxed_str());
        codes.insert(leaked);
        Some(SqlState(leaked))
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
    /// An error of the SQL layer: parsing, binding, constraints, execution.
    #[error(transparent)]
    Sql(#[from] crate::sql::SqlError),
}

impl Error {
    /// The SQLSTATE a client receives for this error.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            Error::Storage(e) => storage_sqlstate(e),
            Error::Type(e) => e.sqlstate(),
            Error::Txn(TxnError::Storage(e)) => storage_sqlstate(e),
            Error::Txn(e) => e.sqlstate().unwrap_or(SqlState::INTERNAL_ERROR),
            Error::Sql(e) => e.sqlstate(),
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
