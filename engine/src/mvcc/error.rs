//! Errors of the transaction layer, worded like PostgreSQL's so the SQL
//! layer can pass them through unchanged.

use crate::error::SqlState;
use crate::storage::StorageError;

/// What can go wrong in a transaction.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    /// The store below failed (I/O, corruption, a key too large).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A REPEATABLE READ transaction tried to write or lock a key that a
    /// transaction it cannot see changed first (first-updater-wins).
    #[error("could not serialize access due to concurrent update")]
    SerializationFailure,
    /// A SERIALIZABLE transaction read something that a transaction
    /// committed after its snapshot wrote: committing would not be
    /// equivalent to any serial order.
    #[error("could not serialize access due to read/write dependencies among transactions")]
    ReadWriteConflict,
    /// Waiting for the lock would have closed a cycle of waiting
    /// transactions; this one was chosen to break it.
    #[error("deadlock detected")]
    Deadlock,
    /// `insert` found a live version of the key, visible or committed
    /// concurrently.
    #[error("duplicate key value violates unique constraint")]
    KeyExists,
    /// A write or row lock in a read-only transaction.
    #[error("cannot execute a write in a read-only transaction")]
    ReadOnly,
    /// The caller's cancel flag ended a lock wait.
    #[error("canceling statement due to user request")]
    Canceled,
    /// A `NOWAIT` lock request found the lock held.
    #[error("could not obtain lock on row")]
    LockNotAvailable,
    /// The transaction's lock timeout ended a lock wait.
    #[error("canceling statement due to lock timeout")]
    LockTimeout,
    /// `rollback_to` or `release` named a savepoint that is not open.
    #[error("savepoint \"{0}\" does not exist")]
    NoSuchSavepoint(String),
}

impl TxnError {
    /// The SQLSTATE of this error; `None` for [`TxnError::Storage`], whose
    /// code the storage mapping in [`crate::Error::sqlstate`] decides.
    pub fn sqlstate(&self) -> Option<SqlState> {
        Some(match self {
            TxnError::Storage(_) => return None,
            TxnError::SerializationFailure | TxnError::ReadWriteConflict => {
                SqlState::SERIALIZATION_FAILURE
            }
            TxnError::Deadlock => SqlState::DEADLOCK_DETECTED,
            TxnError::KeyExists => SqlState::UNIQUE_VIOLATION,
            TxnError::ReadOnly => SqlState::READ_ONLY_SQL_TRANSACTION,
            TxnError::Canceled => SqlState::QUERY_CANCELED,
            TxnError::LockTimeout | TxnError::LockNotAvailable => SqlState::LOCK_NOT_AVAILABLE,
            TxnError::NoSuchSavepoint(_) => SqlState::INVALID_SAVEPOINT_SPECIFICATION,
        })
    }

    /// Whether retrying the whole transaction may succeed (40001, 40P01):
    /// what a client's retry loop tests.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TxnError::SerializationFailure | TxnError::ReadWriteConflict | TxnError::Deadlock
        )
    }
}

pub(crate) fn corrupt(what: &str) -> TxnError {
    TxnError::Storage(StorageError::Corrupt(format!("MVCC version: {what}")))
}
