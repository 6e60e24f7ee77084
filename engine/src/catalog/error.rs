//! The catalog's errors.

use crate::SqlState;

/// A catalog read or write failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The transaction or store below failed; its SQLSTATE is kept.
    #[error(transparent)]
    Kv(Box<crate::Error>),
    /// A catalog record does not decode (XX001).
    #[error("corrupt catalog: {0}")]
    Corrupt(&'static str),
    /// 42P07
    #[error("relation \"{0}\" already exists")]
    DuplicateRelation(String),
}

/// A result whose error is [`CatalogError`].
pub type CatalogResult<T> = std::result::Result<T, CatalogError>;

impl CatalogError {
    /// The SQLSTATE a client receives.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            CatalogError::Kv(e) => e.sqlstate(),
            CatalogError::Corrupt(_) => SqlState::DATA_CORRUPTED,
            CatalogError::DuplicateRelation(_) => SqlState::DUPLICATE_TABLE,
        }
    }
}

impl From<crate::Error> for CatalogError {
    fn from(e: crate::Error) -> Self {
        CatalogError::Kv(Box::new(e))
    }
}
