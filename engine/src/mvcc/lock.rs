//! The lock manager: key locks held until the holder's transaction ends,
//! shared or exclusive, with deadlock detection.
//!
//! A lock is a name (any bytes; rows and unique-index values alike). An
//! exclusive lock (a write, `FOR UPDATE`) has one holder; a shared lock (a
//! foreign key's look at its referenced row) may have many, and an
//! exclusive request waits until every other holder is gone. A sole
//! shared holder may upgrade to exclusive.
//!
//! Deadlock detection follows the waits-for graph from a transaction about
//! to sleep: it waits for each holder its request conflicts with, each of
//! those may wait for the holders of another key, and so on; reaching
//! itself again means the sleep would close a cycle. The check runs under
//! the one mutex every lock operation takes, each time a waiter is about
//! to sleep, so when a cycle forms the first of its members to look finds
//! it, reports `Deadlock` and leaves the graph, and the others see no
//! cycle.
//!
//! A shared request is granted while the lock is shared even if an
//! exclusive request is waiting: simpler than a queue, at the risk of a
//! writer waiting while readers keep overlapping.
//!
//! Waiters sleep on one condition variable woken whenever locks are
//! released, and re-check their cancel flag on a short tick, because the
//! flag is set from another thread without knowing what it should wake.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;
use parking_lot::{Condvar, Mutex};

use super::error::TxnError;

/// How often a waiter looks at its cancel flag.
const CANCEL_TICK: Duration = Duration::from_millis(10);

/// What may end a wait besides getting the lock.
#[derive(Clone, Copy, Default)]
pub(crate) struct WaitLimits<'a> {
    pub cancel: Option<&'a AtomicBool>,
    pub deadline: Option<Instant>,
    /// Fail with `LockNotAvailable` instead of waiting (`NOWAIT`).
    pub nowait: bool,
}

/// How a lock is held or asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    Shared,
    Exclusive,
}

/// Who holds one key.
#[derive(Debug)]
enum Holders {
    Exclusive(u64),
    /// Never empty: the entry goes with its last holder.
    Shared(Vec<u64>),
}

impl Holders {
    /// The holders other than `txn` that a `mode` request by `txn` waits for.
    fn blocking(&self, txn: u64, mode: LockMode) -> impl Iterator<Item = u64> + '_ {
        let ids: &[u64] = match (self, mode) {
            (Holders::Exclusive(h), _) => std::slice::from_ref(h),
            (Holders::Shared(_), LockMode::Shared) => &[],
            (Holders::Shared(hs), LockMode::Exclusive) => hs,
        };
        ids.iter().copied().filter(move |h| *h != txn)
    }
}

#[derive(Default)]
struct Graph {
    holders: HashMap<Vec<u8>, Holders, RandomState>,
    /// The key each blocked transaction waits for, and in which mode.
    waiting: HashMap<u64, (Vec<u8>, LockMode), RandomState>,
}

impl Graph {
    /// Whether `me`, waiting, is part of a cycle.
    fn in_cycle(&self, me: u64) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![me];
        while let Some(txn) = stack.pop() {
            let Some((key, mode)) = self.waiting.get(&txn) else {
                continue;
            };
            let Some(holders) = self.holders.get(key) else {
                continue;
            };
            for holder in holders.blocking(txn, *mode) {
                if holder == me {
                    return true;
                }
                if seen.insert(holder) {
                    stack.push(holder);
                }
            }
        }
        false
    }

    /// Grants `txn` the lock on `key` in `mode` if nothing blocks it.
    /// `Some(newly)`: granted, and whether `txn` lacked it; `None`: wait.
    fn try_grant(&mut self, txn: u64, key: &[u8], mode: LockMode) -> Option<bool> {
        let Some(holders) = self.holders.get_mut(key) else {
            let holders = match mode {
                LockMode::Shared => Holders::Shared(vec![txn]),
                LockMode::Exclusive => Holders::Exclusive(txn),
            };
            self.holders.insert(key.to_vec(), holders);
            return Some(true);
        };
        match holders {
            Holders::Exclusive(h) => (*h == txn).then_some(false),
            Holders::Shared(hs) if mode == LockMode::Shared => {
                if hs.contains(&txn) {
                    return Some(false);
                }
                hs.push(txn);
                Some(true)
            }
            Holders::Shared(hs) => {
                if hs.as_slice() != [txn] {
                    return None;
                }
                *holders = Holders::Exclusive(txn);
                Some(true)
            }
        }
    }
}

/// Key locks shared by all transactions of an `Mvcc`.
#[derive(Default)]
pub(crate) struct LockManager {
    graph: Mutex<Graph>,
    released: Condvar,
}

impl LockManager {
    /// Takes the exclusive lock on `key` for `txn`, waiting while another
    /// transaction holds it. Returns `false` if `txn` held it already.
    ///
    /// # Errors
    /// As [`LockManager::acquire_mode`].
    pub fn acquire(&self, txn: u64, key: &[u8], limits: WaitLimits<'_>) -> Result<bool, TxnError> {
        self.acquire_mode(txn, key, LockMode::Exclusive, limits)
    }

    /// Takes the lock on `key` for `txn` in `mode`, waiting while another
    /// transaction holds it in a conflicting mode. Returns `false` if `txn`
    /// held it already in that mode or a stronger one.
    ///
    /// # Errors
    /// `Deadlock` if waiting would close a cycle, `LockNotAvailable` for a
    /// `nowait` request that would wait, `Canceled` or `LockTimeout` when a
    /// limit ends the wait. The caller keeps its other locks either way.
    pub fn acquire_mode(
        &self,
        txn: u64,
        key: &[u8],
        mode: LockMode,
        limits: WaitLimits<'_>,
    ) -> Result<bool, TxnError> {
        let mut graph = self.graph.lock();
        loop {
            if let Some(newly) = graph.try_grant(txn, key, mode) {
                graph.waiting.remove(&txn);
                return Ok(newly);
            }
            graph
                .waiting
                .entry(txn)
                .or_insert_with(|| (key.to_vec(), mode));
            let stop = if limits.nowait {
                Some(TxnError::LockNotAvailable)
            } else if graph.in_cycle(txn) {
                Some(TxnError::Deadlock)
            } else if limits.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                Some(TxnError::Canceled)
            } else if limits.deadline.is_some_and(|d| Instant::now() >= d) {
                Some(TxnError::LockTimeout)
            } else {
                None
            };
            if let Some(e) = stop {
                graph.waiting.remove(&txn);
                return Err(e);
            }
            let mut tick = CANCEL_TICK;
            if let Some(d) = limits.deadline {
                tick = tick.min(d.saturating_duration_since(Instant::now()));
            }
            self.released.wait_for(&mut graph, tick);
        }
    }

    /// Releases `txn`'s locks on `keys` and wakes the waiters.
    pub fn release<'k>(&self, txn: u64, keys: impl IntoIterator<Item = &'k Vec<u8>>) {
        let mut graph = self.graph.lock();
        for key in keys {
            // One probe per key for the common exclusive lock: a held key
            // is always this transaction's, so the put-back never runs in
            // practice.
            match graph.holders.remove_entry(key.as_slice()) {
                Some((_, Holders::Exclusive(holder))) if holder == txn => {}
                Some((key, Holders::Shared(mut hs))) => {
                    hs.retain(|h| *h != txn);
                    if !hs.is_empty() {
                        graph.holders.insert(key, Holders::Shared(hs));
                    }
                }
                Some((key, other)) => {
                    graph.holders.insert(key, other);
                }
                None => {}
            }
        }
        graph.waiting.remove(&txn);
        drop(graph);
        self.released.notify_all();
    }

    /// Number of keys locked, for tests and monitoring.
    pub fn held(&self) -> usize {
        self.graph.lock().holders.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::mpsc;
    use std::thread;

    fn key(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn locks_are_exclusive_and_reentrant() {
        let m = LockManager::default();
        assert!(m.acquire(1, b"a", WaitLimits::default()).unwrap());
        assert!(!m.acquire(1, b"a", WaitLimits::default()).unwrap());
        let limits = WaitLimits {
            deadline: Some(Instant::now() + Duration::from_millis(30)),
            ..WaitLimits::default()
        };
        assert!(matches!(
            m.acquire(2, b"a", limits),
            Err(TxnError::LockTimeout)
        ));
        m.release(1, &[key("a")]);
        assert!(m.acquire(2, b"a", limits).unwrap());
        assert_eq!(m.held(), 1);
    }

    #[test]
    fn release_wakes_a_waiter() {
        let m = Arc::new(LockManager::default());
        m.acquire(1, b"a", WaitLimits::default()).unwrap();
        let (tx, rx) = mpsc::channel();
        let waiter = {
            let m = Arc::clone(&m);
            thread::spawn(move || {
                tx.send(()).unwrap();
                m.acquire(2, b"a", WaitLimits::default())
            })
        };
        rx.recv().unwrap();
        thread::sleep(Duration::from_millis(20));
        m.release(1, &[key("a")]);
        assert!(waiter.join().unwrap().unwrap());
    }

    #[test]
    fn the_transaction_closing_a_cycle_gets_deadlock() {
        let m = Arc::new(LockManager::default());
        m.acquire(1, b"a", WaitLimits::default()).unwrap();
        m.acquire(2, b"b", WaitLimits::default()).unwrap();
        let first = {
            let m = Arc::clone(&m);
            thread::spawn(move || m.acquire(1, b"b", WaitLimits::default()))
        };
        while m.graph.lock().waiting.is_empty() {
            thread::sleep(Duration::from_millis(1));
        }
        assert!(matches!(
            m.acquire(2, b"a", WaitLimits::default()),
            Err(TxnError::Deadlock)
        ));
        m.release(2, &[key("b")]);
        assert!(first.join().unwrap().unwrap());
    }

    #[test]
    fn a_three_way_cycle_is_found() {
        let m = Arc::new(LockManager::default());
        for (txn, k) in [(1, "a"), (2, "b"), (3, "c")] {
            m.acquire(txn, k.as_bytes(), WaitLimits::default()).unwrap();
        }
        let waiters: Vec<_> = [(1, "b"), (2, "c")]
            .into_iter()
            .map(|(txn, k)| {
                let m = Arc::clone(&m);
                thread::spawn(move || m.acquire(txn, k.as_bytes(), WaitLimits::default()))
            })
            .collect();
        while m.graph.lock().waiting.len() < 2 {
            thread::sleep(Duration::from_millis(1));
        }
        assert!(matches!(
            m.acquire(3, b"a", WaitLimits::default()),
            Err(TxnError::Deadlock)
        ));
        m.release(3, &[key("c")]);
        let mut waiters = waiters.into_iter();
        let (first, second) = (waiters.next().unwrap(), waiters.next().unwrap());
        assert!(second.join().unwrap().unwrap(), "2 gets c");
        m.release(2, &[key("b"), key("c")]);
        assert!(first.join().unwrap().unwrap(), "then 1 gets b");
    }

    #[test]
    fn a_cancel_flag_ends_the_wait() {
        let m = LockManager::default();
        m.acquire(1, b"a", WaitLimits::default()).unwrap();
        let flag = AtomicBool::new(true);
        let limits = WaitLimits {
            cancel: Some(&flag),
            ..WaitLimits::default()
        };
        assert!(matches!(
            m.acquire(2, b"a", limits),
            Err(TxnError::Canceled)
        ));
        assert!(m.graph.lock().waiting.is_empty());
    }
}
