//! The lock manager: exclusive locks on keys, held until the holder's
//! transaction ends, with deadlock detection.
//!
//! A lock is a name (any bytes; rows and unique-index values alike). Every
//! lock is exclusive, so a waiting transaction waits for exactly one holder
//! and the waits-for graph is a set of chains: following "the key I wait for
//! → its holder → the key that holder waits for → …" from a transaction
//! about to sleep finds any cycle it would close. The check runs under the
//! one mutex every lock operation takes, each time a waiter is about to
//! sleep, so when a cycle forms the first of its members to look finds it,
//! reports `Deadlock` and leaves the graph, and the others see no cycle.
//!
//! Waiters sleep on one condition variable woken whenever locks are
//! released, and re-check their cancel flag on a short tick, because the
//! flag is set from another thread without knowing what it should wake.

use std::collections::HashMap;
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
}

#[derive(Default)]
struct Graph {
    holders: HashMap<Vec<u8>, u64, RandomState>,
    /// The key each blocked transaction waits for.
    waiting: HashMap<u64, Vec<u8>, RandomState>,
}

impl Graph {
    /// Whether `me`, waiting, is part of a cycle.
    fn in_cycle(&self, me: u64) -> bool {
        let mut txn = me;
        // A chain longer than the number of waiters has looped without
        // passing through `me`, which the others' checks will report.
        for _ in 0..=self.waiting.len() {
            let Some(holder) = self.waiting.get(&txn).and_then(|k| self.holders.get(k)) else {
                return false;
            };
            if *holder == me {
                return true;
            }
            txn = *holder;
        }
        false
    }
}

/// Exclusive key locks shared by all transactions of an `Mvcc`.
#[derive(Default)]
pub(crate) struct LockManager {
    graph: Mutex<Graph>,
    released: Condvar,
}

impl LockManager {
    /// Takes the lock on `key` for `txn`, waiting while another transaction
    /// holds it. Returns `false` if `txn` held it already.
    ///
    /// # Errors
    /// `Deadlock` if waiting would close a cycle, `Canceled` or
    /// `LockTimeout` when a limit ends the wait. The caller keeps its other
    /// locks either way.
    pub fn acquire(&self, txn: u64, key: &[u8], limits: WaitLimits<'_>) -> Result<bool, TxnError> {
        let mut graph = self.graph.lock();
        loop {
            match graph.holders.get(key) {
                None => {
                    graph.holders.insert(key.to_vec(), txn);
                    graph.waiting.remove(&txn);
                    return Ok(true);
                }
                Some(&holder) if holder == txn => {
                    graph.waiting.remove(&txn);
                    return Ok(false);
                }
                Some(_) => {}
            }
            graph.waiting.entry(txn).or_insert_with(|| key.to_vec());
            let stop = if graph.in_cycle(txn) {
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
            // One probe per key: a held key is always this transaction's,
            // so the put-back never runs in practice.
            if let Some((key, holder)) = graph.holders.remove_entry(key.as_slice())
                && holder != txn
            {
                graph.holders.insert(key, holder);
            }
        }
        graph.waiting.remove(&txn);
        drop(graph);
        self.released.notify_all();
    }

    /// Number of locks held, for tests and monitoring.
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
            cancel: None,
            deadline: Some(Instant::now() + Duration::from_millis(30)),
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
            deadline: None,
        };
        assert!(matches!(
            m.acquire(2, b"a", limits),
            Err(TxnError::Canceled)
        ));
        assert!(m.graph.lock().waiting.is_empty());
    }
}
