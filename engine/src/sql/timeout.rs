//! `statement_timeout`: one thread for the whole process sets the
//! cancel flag of each statement that runs past its deadline.
//!
//! A statement already stops when its session's cancel flag is set: scans
//! check it every chunk, lock waits and Wasm calls watch it. A timeout is
//! that flag set by a clock, so arming one is an entry in an ordered map
//! and disarming it (the statement ended first, the usual case) removes
//! the entry; no thread is made per statement. The session tells a timeout
//! from a client's cancel request by [`Armed::fired`], to report
//! PostgreSQL's "canceling statement due to statement timeout".

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// The deadlines not yet reached, earliest first.
#[derive(Default)]
struct Deadlines {
    next_id: u64,
    armed: BTreeMap<(Instant, u64), Arc<Fuse>>,
}

struct Fuse {
    cancel: Arc<AtomicBool>,
    fired: AtomicBool,
}

struct Watchdog {
    deadlines: Mutex<Deadlines>,
    changed: Condvar,
}

impl Watchdog {
    /// The process's watchdog, its thread started on first use; `None` if
    /// the thread could not be started (statements then run without a
    /// time limit rather than fail).
    fn get() -> Option<&'static Watchdog> {
        static WATCHDOG: OnceLock<Option<&'static Watchdog>> = OnceLock::new();
        *WATCHDOG.get_or_init(|| {
            let dog: &'static Watchdog = Box::leak(Box::new(Watchdog {
                deadlines: Mutex::new(Deadlines::default()),
                changed: Condvar::new(),
            }));
            std::thread::Builder::new()
                .name("rustydb-statement-timeout".into())
                .spawn(move || dog.run())
                .ok()
                .map(|_| dog)
        })
    }

    fn run(&self) {
        let mut d = self.deadlines.lock();
        loop {
            let now = Instant::now();
            while let Some(entry) = d.armed.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let fuse = entry.remove();
                fuse.fired.store(true, Ordering::Relaxed);
                fuse.cancel.store(true, Ordering::Relaxed);
            }
            match d.armed.keys().next().map(|(at, _)| *at) {
                Some(at) => {
                    self.changed.wait_until(&mut d, at);
                }
                None => self.changed.wait(&mut d),
            }
        }
    }
}

/// A statement's timeout, disarmed when dropped.
pub(crate) struct Armed {
    key: (Instant, u64),
    fuse: Arc<Fuse>,
}

impl Armed {
    /// Sets `cancel` once `limit` has passed, unless dropped before.
    pub(crate) fn arm(limit: Duration, cancel: Arc<AtomicBool>) -> Option<Armed> {
        let dog = Watchdog::get()?;
        let at = Instant::now().checked_add(limit)?;
        let fuse = Arc::new(Fuse {
            cancel,
            fired: AtomicBool::new(false),
        });
        let mut d = dog.deadlines.lock();
        d.next_id += 1;
        let key = (at, d.next_id);
        let earliest = d.armed.keys().next().is_none_or(|first| key < *first);
        d.armed.insert(key, fuse.clone());
        drop(d);
        if earliest {
            dog.changed.notify_one();
        }
        Some(Armed { key, fuse })
    }

    /// Whether the deadline passed and the statement was cancelled by it.
    pub(crate) fn fired(&self) -> bool {
        self.fuse.fired.load(Ordering::Relaxed)
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        if let Some(dog) = Watchdog::get() {
            dog.deadlines.lock().armed.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_that_passes_sets_the_flag_and_says_so() {
        let flag = Arc::new(AtomicBool::new(false));
        let armed = Armed::arm(Duration::from_millis(20), flag.clone());
        let armed = armed.expect("the watchdog thread runs");
        let start = Instant::now();
        while !flag.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(flag.load(Ordering::Relaxed));
        assert!(armed.fired());
    }

    #[test]
    fn a_timeout_dropped_before_its_deadline_never_fires() {
        let flag = Arc::new(AtomicBool::new(false));
        let late = Armed::arm(Duration::from_millis(50), flag.clone());
        drop(late);
        // One armed after it on another flag fires; the dropped one does
        // not, though its deadline passed first.
        let other = Arc::new(AtomicBool::new(false));
        let soon = Armed::arm(Duration::from_millis(100), other.clone());
        std::thread::sleep(Duration::from_millis(300));
        assert!(other.load(Ordering::Relaxed));
        assert!(soon.is_some_and(|s| s.fired()));
        assert!(!flag.load(Ordering::Relaxed));
    }
}
