//! Johnson & Shasha's 2Q ("full version", VLDB 1994).
//!
//! A page seen once is not yet evidence of reuse, so it enters a small FIFO,
//! `A1in` (about a quarter of the frames). When it falls out of `A1in`, only
//! its id is remembered, in the ghost FIFO `A1out` (ids for about half as many
//! pages as there are frames). A page referenced again while its id is still
//! in `A1out` has proven it is reused at a distance longer than a scan's
//! churn, and enters `Am`, an LRU list holding the working set. Re-references
//! while still in `A1in` are deliberately ignored: they are usually the same
//! logical access (a B+tree node read twice by one lookup), not reuse.
//!
//! A sequential scan of never-repeated pages therefore cycles through `A1in`
//! alone and leaves `Am` untouched — the scan resistance CLOCK lacks.
//!
//! Frames are kept on two intrusive doubly-linked lists over per-frame link
//! arrays, so every operation is O(1) apart from skipping pinned or dirty
//! frames while looking for a victim. The ghost queue is a FIFO of
//! `(page, sequence)` pairs with lazy deletion: a page promoted out of
//! `A1out` is dropped from the map at once and from the FIFO when it reaches
//! the front, with an occasional compaction bounding the FIFO's size.

use std::collections::{HashMap, VecDeque};

use super::policy::{EvictionPolicy, FrameId};
use crate::storage::page::PageId;

const NIL: FrameId = FrameId::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queue {
    Untracked,
    A1in,
    Am,
}

/// Head is the newest (most recently used) end, tail the oldest.
#[derive(Debug, Clone, Copy)]
struct Ends {
    head: FrameId,
    tail: FrameId,
    len: usize,
}

impl Ends {
    const EMPTY: Ends = Ends {
        head: NIL,
        tail: NIL,
        len: 0,
    };
}

/// 2Q state over a fixed number of frames.
#[derive(Debug)]
pub struct TwoQ {
    prev: Vec<FrameId>,
    next: Vec<FrameId>,
    queue: Vec<Queue>,
    page: Vec<PageId>,
    a1in: Ends,
    am: Ends,
    kin: usize,
    kout: usize,
    ghosts: HashMap<PageId, u64>,
    ghost_fifo: VecDeque<(PageId, u64)>,
    ghost_seq: u64,
}

impl TwoQ {
    /// A policy for a pool of `capacity` frames, with the paper's suggested
    /// sizes: `A1in` a quarter of the frames, `A1out` half as many ids.
    pub fn new(capacity: usize) -> TwoQ {
        TwoQ {
            prev: vec![NIL; capacity],
            next: vec![NIL; capacity],
            queue: vec![Queue::Untracked; capacity],
            page: vec![0; capacity],
            a1in: Ends::EMPTY,
            am: Ends::EMPTY,
            kin: (capacity / 4).max(1),
            kout: (capacity / 2).max(1),
            ghosts: HashMap::new(),
            ghost_fifo: VecDeque::new(),
            ghost_seq: 0,
        }
    }

    fn ends(&mut self, q: Queue) -> Option<&mut Ends> {
        match q {
            Queue::A1in => Some(&mut self.a1in),
            Queue::Am => Some(&mut self.am),
            Queue::Untracked => None,
        }
    }

    fn push_head(&mut self, frame: FrameId, q: Queue) {
        let Some(ends) = self.ends(q) else { return };
        let old_head = ends.head;
        ends.head = frame;
        if old_head == NIL {
            ends.tail = frame;
        }
        ends.len += 1;
        if old_head != NIL {
            self.prev[old_head] = frame;
        }
        self.prev[frame] = NIL;
        self.next[frame] = old_head;
        self.queue[frame] = q;
    }

    fn unlink(&mut self, frame: FrameId) {
        let q = self.queue[frame];
        let (prev, next) = (self.prev[frame], self.next[frame]);
        let Some(ends) = self.ends(q) else { return };
        if prev == NIL {
            ends.head = next;
        }
        if next == NIL {
            ends.tail = prev;
        }
        ends.len -= 1;
        if prev != NIL {
            self.next[prev] = next;
        }
        if next != NIL {
            self.prev[next] = prev;
        }
        self.prev[frame] = NIL;
        self.next[frame] = NIL;
        self.queue[frame] = Queue::Untracked;
    }

    fn oldest_evictable(&self, q: Queue, evictable: &dyn Fn(FrameId) -> bool) -> Option<FrameId> {
        let mut frame = match q {
            Queue::A1in => self.a1in.tail,
            Queue::Am => self.am.tail,
            Queue::Untracked => NIL,
        };
        while frame != NIL {
            if evictable(frame) {
                return Some(frame);
            }
            frame = self.prev[frame];
        }
        None
    }

    fn remember(&mut self, page: PageId) {
        self.ghost_seq += 1;
        self.ghosts.insert(page, self.ghost_seq);
        self.ghost_fifo.push_back((page, self.ghost_seq));
        while self.ghosts.len() > self.kout {
            let Some((old, seq)) = self.ghost_fifo.pop_front() else {
                break;
            };
            if self.ghosts.get(&old) == Some(&seq) {
                self.ghosts.remove(&old);
            }
        }
        if self.ghost_fifo.len() > 2 * self.kout + 16 {
            let ghosts = &self.ghosts;
            self.ghost_fifo.retain(|(p, s)| ghosts.get(p) == Some(s));
        }
    }

    fn tracks(&self, frame: FrameId) -> bool {
        frame < self.queue.len()
    }
}

impl EvictionPolicy for TwoQ {
    fn on_insert(&mut self, frame: FrameId, page: PageId) {
        if !self.tracks(frame) {
            return;
        }
        self.unlink(frame);
        self.page[frame] = page;
        let q = if self.ghosts.remove(&page).is_some() {
            Queue::Am
        } else {
            Queue::A1in
        };
        self.push_head(frame, q);
    }

    fn on_access(&mut self, frame: FrameId) {
        if self.tracks(frame) && self.queue[frame] == Queue::Am {
            self.unlink(frame);
            self.push_head(frame, Queue::Am);
        }
    }

    fn on_remove(&mut self, frame: FrameId) {
        if self.tracks(frame) {
            self.unlink(frame);
        }
    }

    fn victim(&mut self, evictable: &dyn Fn(FrameId) -> bool) -> Option<FrameId> {
        // The paper's reclaimfor: take from A1in while it is over its share
        // (or Am is empty), else from Am; fall back to the other queue when
        // every frame of the preferred one is pinned or dirty.
        let order = if self.a1in.len > self.kin || self.am.len == 0 {
            [Queue::A1in, Queue::Am]
        } else {
            [Queue::Am, Queue::A1in]
        };
        for q in order {
            if let Some(frame) = self.oldest_evictable(q, evictable) {
                self.unlink(frame);
                if q == Queue::A1in {
                    self.remember(self.page[frame]);
                }
                return Some(frame);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_lists(q: &TwoQ) {
        for (ends, which) in [(q.a1in, Queue::A1in), (q.am, Queue::Am)] {
            let mut n = 0;
            let mut f = ends.head;
            let mut prev = NIL;
            while f != NIL {
                assert_eq!(q.queue[f], which);
                assert_eq!(q.prev[f], prev);
                prev = f;
                f = q.next[f];
                n += 1;
            }
            assert_eq!(prev, ends.tail);
            assert_eq!(n, ends.len);
        }
    }

    #[test]
    fn a_page_reused_after_leaving_a1in_is_promoted_to_am() {
        let mut q = TwoQ::new(8); // kin 2, kout 4
        for f in 0..8 {
            q.on_insert(f, 100 + f as PageId);
        }
        check_lists(&q);
        // A1in holds all eight, over its share: the oldest goes, id remembered.
        assert_eq!(q.victim(&|_| true), Some(0));
        assert!(q.ghosts.contains_key(&100));
        q.on_insert(0, 100);
        assert_eq!(q.queue[0], Queue::Am);
        assert!(!q.ghosts.contains_key(&100));
        check_lists(&q);
    }

    #[test]
    fn ghost_queue_is_bounded_and_skips_unevictable_frames() {
        let mut q = TwoQ::new(8);
        for f in 0..8 {
            q.on_insert(f, f as PageId);
        }
        for page in 8..1000 {
            let Some(f) = q.victim(&|f| f != 3) else {
                panic!("a victim must exist");
            };
            assert_ne!(f, 3);
            q.on_insert(f, page);
            check_lists(&q);
            assert!(q.ghosts.len() <= q.kout);
            assert!(q.ghost_fifo.len() <= 2 * q.kout + 17);
        }
        assert_eq!(q.victim(&|_| false), None);
        q.on_remove(3);
        assert_eq!(q.queue[3], Queue::Untracked);
        check_lists(&q);
    }

    #[test]
    fn am_is_lru_ordered() {
        let mut q = TwoQ::new(8);
        // Force three pages through A1out into Am.
        for page in 0..3 {
            q.remember(page);
        }
        for f in 0..3 {
            q.on_insert(f, f as PageId);
        }
        assert_eq!(q.am.len, 3);
        q.on_access(0);
        // Am's LRU end is now frame 1; A1in is empty so Am is the source.
        assert_eq!(q.victim(&|_| true), Some(1));
        check_lists(&q);
    }
}
