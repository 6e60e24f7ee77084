//! An in-memory [`KvStore`] for unit tests: snapshot isolation by copying
//! the committed map at `begin`, last committer wins. It is only as
//! faithful as the tests above storage need.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use parking_lot::Mutex;

use super::kv::{KvStore, KvTxn, LockStrength, LockWait, RowLock, TxnConfig};
use crate::Result;
use crate::mvcc::ScanKey;

type Map = BTreeMap<Vec<u8>, Vec<u8>>;
type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

#[derive(Default)]
pub struct MemKv {
    committed: Arc<Mutex<Map>>,
}

struct MemTxn {
    committed: Arc<Mutex<Map>>,
    snapshot: Map,
    writes: Writes,
    savepoints: Vec<(String, Writes)>,
}

impl KvStore for MemKv {
    fn begin(&self, _config: TxnConfig) -> Box<dyn KvTxn> {
        Box::new(MemTxn {
            committed: self.committed.clone(),
            snapshot: self.committed.lock().clone(),
            writes: BTreeMap::new(),
            savepoints: Vec::new(),
        })
    }
}

impl MemTxn {
    fn view(&self) -> Map {
        let mut view = self.snapshot.clone();
        for (k, v) in &self.writes {
            match v {
                Some(v) => view.insert(k.clone(), v.clone()),
                None => view.remove(k),
            };
        }
        view
    }
}

impl KvTxn for MemTxn {
    fn begin_statement(&mut self) {
        self.snapshot = self.committed.lock().clone();
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(match self.writes.get(key) {
            Some(v) => v.clone(),
            None => self.snapshot.get(key).cloned(),
        })
    }

    fn scan_chunk(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let view = self.view();
        let range = view.range((lower, upper));
        let take = |it: &mut dyn Iterator<Item = (&Vec<u8>, &Vec<u8>)>| {
            it.take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        Ok(if reverse {
            take(&mut range.rev())
        } else {
            take(&mut range.into_iter())
        })
    }

    fn lock_row(&mut self, _: &[u8], _: LockStrength, _: LockWait) -> Result<RowLock> {
        // Without row locks a writer never waits, so nothing can change a
        // row between a statement's snapshot and its write.
        Ok(RowLock::Unchanged)
    }

    fn scan_visit(
        &mut self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
        visit: &mut dyn FnMut(ScanKey<'_>, &[u8]) -> bool,
    ) -> Result<usize> {
        let view = self.view();
        let range = view.range((lower, upper));
        let mut entries: Box<dyn Iterator<Item = (&Vec<u8>, &Vec<u8>)>> = if reverse {
            Box::new(range.rev())
        } else {
            Box::new(range)
        };
        let mut visited = 0;
        while visited < limit {
            let Some((k, v)) = entries.next() else {
                break;
            };
            visited += 1;
            if !visit(ScanKey::User(k), v) {
                break;
            }
        }
        Ok(visited)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.writes.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn insert(&mut self, key: &[u8], value: &[u8]) -> Result<bool> {
        let exists = match self.writes.get(key) {
            Some(v) => v.is_some(),
            None => self.committed.lock().contains_key(key),
        };
        if exists {
            return Ok(false);
        }
        self.put(key, value)?;
        Ok(true)
    }

    fn delete(&mut self, key: &[u8]) -> Result<bool> {
        let existed = self.get(key)?.is_some();
        self.writes.insert(key.to_vec(), None);
        Ok(existed)
    }

    fn savepoint(&mut self, name: &str) {
        self.savepoints.push((name.to_owned(), self.writes.clone()));
    }

    fn rollback_to(&mut self, name: &str) -> Result<()> {
        if let Some(pos) = self.savepoints.iter().rposition(|(n, _)| n == name) {
            self.savepoints.truncate(pos + 1);
            self.writes = self.savepoints[pos].1.clone();
        }
        Ok(())
    }

    fn release(&mut self, name: &str) -> Result<()> {
        if let Some(pos) = self.savepoints.iter().rposition(|(n, _)| n == name) {
            self.savepoints.truncate(pos);
        }
        Ok(())
    }

    fn set_cancel(&mut self, _flag: Arc<AtomicBool>) {}

    fn commit(self: Box<Self>) -> Result<()> {
        let mut committed = self.committed.lock();
        for (k, v) in self.writes {
            match v {
                Some(v) => committed.insert(k, v),
                None => committed.remove(&k),
            };
        }
        Ok(())
    }

    fn set_lock_timeout(&mut self, _: Option<Duration>) {
        // No locks, no waits.
    }

    fn rollback(self: Box<Self>) {}
}
