//! The seam between the pool and its replacement policy.
//!
//! The pool owns frames, pins and dirtiness; a policy only orders frames by
//! how much it would regret losing them. Keeping that split narrow means a
//! policy never needs to know about latches or I/O: it hears about every
//! insertion, access and removal, and when asked for a victim it is handed a
//! predicate that says which frames the pool is able to give up right now
//! (unpinned and clean — the pool never steals dirty pages).

use std::fmt;
use std::str::FromStr;

use crate::storage::error::StorageError;
use crate::storage::page::PageId;

/// Index of a frame in the pool's fixed frame array.
pub type FrameId = usize;

/// A page-replacement policy. All calls happen under the pool's table mutex,
/// so implementations need no synchronisation of their own.
pub trait EvictionPolicy: Send + fmt::Debug {
    /// `frame` now holds `page` (after a load or a fresh allocation).
    fn on_insert(&mut self, frame: FrameId, page: PageId);

    /// The page in `frame` was used again.
    fn on_access(&mut self, frame: FrameId);

    /// `frame` was emptied without being chosen as a victim (a failed load).
    fn on_remove(&mut self, frame: FrameId);

    /// Picks a frame to reuse among those for which `evictable` holds and
    /// forgets it, or `None` when no tracked frame qualifies.
    fn victim(&mut self, evictable: &dyn Fn(FrameId) -> bool) -> Option<FrameId>;
}

/// Which replacement policy a pool uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvictionKind {
    /// Second-chance CLOCK: cheap, but a long scan flushes the working set.
    Clock,
    /// Johnson & Shasha's full 2Q: scan-resistant, the default.
    #[default]
    TwoQ,
}

impl fmt::Display for EvictionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EvictionKind::Clock => "clock",
            EvictionKind::TwoQ => "2q",
        })
    }
}

impl FromStr for EvictionKind {
    type Err = StorageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("clock") {
            Ok(EvictionKind::Clock)
        } else if s.eq_ignore_ascii_case("2q") {
            Ok(EvictionKind::TwoQ)
        } else {
            Err(StorageError::InvalidOption(format!(
                "unknown eviction policy {s:?} (expected \"clock\" or \"2q\")"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_round_trips_through_text() {
        for kind in [EvictionKind::Clock, EvictionKind::TwoQ] {
            assert_eq!(kind.to_string().parse::<EvictionKind>().ok(), Some(kind));
        }
        assert_eq!(
            "CLOCK".parse::<EvictionKind>().ok(),
            Some(EvictionKind::Clock)
        );
        assert!("lru".parse::<EvictionKind>().is_err());
        assert_eq!(EvictionKind::default(), EvictionKind::TwoQ);
    }
}
