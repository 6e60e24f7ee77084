//! Filled in by its own change.
use crate::SqlState;
/// Type errors.
#[derive(Debug, thiserror::Error)]
#[error("type error")]
pub struct TypeError;
impl TypeError {
    pub fn sqlstate(&self) -> SqlState {
        SqlState::DATATYPE_MISMATCH
    }
}
