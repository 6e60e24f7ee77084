//! Second-chance CLOCK.
//!
//! Frames sit on a circle with one reference bit each. An access sets the
//! bit; the hand sweeps, clearing set bits and taking the first frame whose
//! bit is already clear. It approximates LRU at the cost of one bit per frame
//! and no list manipulation on hits — but every newly loaded page arrives
//! referenced, so a scan touching more pages than the pool holds sweeps the
//! whole working set out. That weakness is why 2Q is the default.

use super::policy::{EvictionPolicy, FrameId};
use crate::storage::page::PageId;

/// CLOCK state over a fixed number of frames.
#[derive(Debug)]
pub struct Clock {
    resident: Vec<bool>,
    referenced: Vec<bool>,
    hand: usize,
}

impl Clock {
    /// A policy for a pool of `capacity` frames.
    pub fn new(capacity: usize) -> Clock {
        Clock {
            resident: vec![false; capacity],
            referenced: vec![false; capacity],
            hand: 0,
        }
    }

    fn set(&mut self, frame: FrameId, resident: bool, referenced: bool) {
        if let (Some(r), Some(b)) = (self.resident.get_mut(frame), self.referenced.get_mut(frame)) {
            *r = resident;
            *b = referenced;
        }
    }
}

impl EvictionPolicy for Clock {
    fn on_insert(&mut self, frame: FrameId, _page: PageId) {
        self.set(frame, true, true);
    }

    fn on_access(&mut self, frame: FrameId) {
        if let Some(b) = self.referenced.get_mut(frame) {
            *b = true;
        }
    }

    fn on_remove(&mut self, frame: FrameId) {
        self.set(frame, false, false);
    }

    fn victim(&mut self, evictable: &dyn Fn(FrameId) -> bool) -> Option<FrameId> {
        let n = self.resident.len();
        // Two full turns: the first may do nothing but clear reference bits.
        for _ in 0..2 * n {
            let frame = self.hand;
            self.hand = (self.hand + 1) % n;
            if !self.resident[frame] || !evictable(frame) {
                continue;
            }
            if self.referenced[frame] {
                self.referenced[frame] = false;
                continue;
            }
            self.resident[frame] = false;
            return Some(frame);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_chance_spares_recently_used_frames() {
        let mut clock = Clock::new(3);
        for f in 0..3 {
            clock.on_insert(f, f as PageId);
        }
        // All referenced: one sweep clears them, then frame 0 goes.
        assert_eq!(clock.victim(&|_| true), Some(0));
        clock.on_insert(0, 10);
        clock.on_access(1);
        // Frame 1 was touched again, frame 2 was not.
        assert_eq!(clock.victim(&|_| true), Some(2));
    }

    #[test]
    fn respects_the_evictable_predicate() {
        let mut clock = Clock::new(4);
        for f in 0..4 {
            clock.on_insert(f, f as PageId);
        }
        assert_eq!(clock.victim(&|f| f == 3), Some(3));
        assert_eq!(clock.victim(&|f| f == 3), None);
        clock.on_remove(1);
        assert_eq!(clock.victim(&|f| f == 1), None);
        assert_eq!(Clock::new(0).victim(&|_| true), None);
    }
}
