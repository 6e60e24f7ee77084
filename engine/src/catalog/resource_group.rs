//! Catalog records of resource groups (DESIGN §5): named sets of per-call
//! limits for Wasm routines, attached to the database (every call made in
//! it) or to roles (calls their sessions make). Like roles they are shared
//! by the whole data directory and transactional.
//!
//! Key layout, beside the records of `catalog/mod.rs`:
//!
//! ```text
//! 00 0a <name>   resource group record
//! 00 0b <name>   the group a database is attached to, by database name
//! ```
//!
//! A role's group is kept in its role record (`role.rs`).

use std::collections::HashMap;
use std::time::Duration;

use super::error::{CatalogError, CatalogResult};
use super::kv::KvTxn;
use super::{CATALOG, Catalog, CatalogWriter, prefix_end};

const RESOURCE_GROUP: u8 = 0x0a;
const DATABASE_GROUP: u8 = 0x0b;

/// A resource group: each limit it sets lowers the host's for the calls
/// it applies to (a group can never raise one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceGroupDef {
    /// Its name.
    pub name: String,
    /// `fuel_per_call`
    pub fuel_per_call: Option<u64>,
    /// `memory_per_instance`, in bytes.
    pub memory_per_instance: Option<u64>,
    /// `time_per_call`
    pub time_per_call: Option<Duration>,
    /// `max_concurrent_calls`
    pub max_concurrent_calls: Option<u32>,
}

fn key(kind: u8, name: &str) -> Vec<u8> {
    let mut k = vec![CATALOG, kind];
    k.extend_from_slice(name.as_bytes());
    k
}

/// The first byte of a record in the current layout. The first layout
/// had no version byte and began with the `fuel_per_call` flag (0 or 1).
const LAYOUT_2: u8 = 2;

/// `[2] fuel? memory? time? max_concurrent_calls? name`, each `?` a flag
/// byte (0 unset, 1 set) followed, when set, by a big-endian u64; times
/// in microseconds.
fn encode(g: &ResourceGroupDef) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + g.name.len());
    out.push(LAYOUT_2);
    let mut opt = |v: Option<u64>| match v {
        Some(n) => {
            out.push(1);
            out.extend_from_slice(&n.to_be_bytes());
        }
        None => out.push(0),
    };
    opt(g.fuel_per_call);
    opt(g.memory_per_instance);
    opt(g
        .time_per_call
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)));
    opt(g.max_concurrent_calls.map(u64::from));
    out.extend_from_slice(g.name.as_bytes());
    out
}

/// Reads either layout: a record of the first one has no
/// `max_concurrent_calls`.
fn decode(bytes: &[u8]) -> CatalogResult<ResourceGroupDef> {
    let corrupt = || CatalogError::Corrupt("resource group record");
    let (layout_2, mut rest) = match bytes.split_first() {
        Some((&LAYOUT_2, tail)) => (true, tail),
        _ => (false, bytes),
    };
    let mut opt = || -> CatalogResult<Option<u64>> {
        let (&flag, tail) = rest.split_first().ok_or_else(corrupt)?;
        rest = tail;
        if flag == 0 {
            return Ok(None);
        }
        let (n, tail) = rest.split_first_chunk::<8>().ok_or_else(corrupt)?;
        rest = tail;
        Ok(Some(u64::from_be_bytes(*n)))
    };
    let fuel_per_call = opt()?;
    let memory_per_instance = opt()?;
    let time_per_call = opt()?.map(Duration::from_micros);
    let max_concurrent_calls = match layout_2 {
        true => opt()?
            .map(|n| u32::try_from(n).map_err(|_| corrupt()))
            .transpose()?,
        false => None,
    };
    let name = String::from_utf8(rest.to_vec()).map_err(|_| corrupt())?;
    Ok(ResourceGroupDef {
        name,
        fuel_per_call,
        memory_per_instance,
        time_per_call,
        max_concurrent_calls,
    })
}

/// Reads every resource group and database attachment.
pub(super) fn load(
    txn: &mut dyn KvTxn,
    groups: &mut HashMap<String, ResourceGroupDef>,
    databases: &mut HashMap<String, String>,
) -> CatalogResult<()> {
    for kind in [RESOURCE_GROUP, DATABASE_GROUP] {
        let prefix = vec![CATALOG, kind];
        let upper = prefix_end(&prefix);
        let mut lower = std::ops::Bound::Included(prefix);
        loop {
            let chunk = txn.scan_chunk(lower.clone(), upper.clone(), false, 256)?;
            let Some((last, _)) = chunk.last() else { break };
            lower = std::ops::Bound::Excluded(last.clone());
            for (k, value) in &chunk {
                if kind == RESOURCE_GROUP {
                    let g = decode(value)?;
                    groups.insert(g.name.clone(), g);
                } else {
                    let database = String::from_utf8(k[2..].to_vec())
                        .map_err(|_| CatalogError::Corrupt("database resource group key"))?;
                    let group = String::from_utf8(value.clone())
                        .map_err(|_| CatalogError::Corrupt("database resource group"))?;
                    databases.insert(database, group);
                }
            }
        }
    }
    Ok(())
}

impl Catalog {
    /// The resource group named `name`.
    pub fn resource_group(&self, name: &str) -> Option<&ResourceGroupDef> {
        self.resource_groups.get(name)
    }

    /// Every resource group, by name.
    pub fn resource_groups(&self) -> Vec<&ResourceGroupDef> {
        let mut groups: Vec<_> = self.resource_groups.values().collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        groups
    }

    /// The group database `name` is attached to.
    pub fn database_group(&self, name: &str) -> Option<&str> {
        self.database_groups.get(name).map(String::as_str)
    }

    /// The databases attached to group `name`.
    pub fn databases_in_group(&self, name: &str) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .database_groups
            .iter()
            .filter(|(_, g)| *g == name)
            .map(|(d, _)| d.as_str())
            .collect();
        out.sort_unstable();
        out
    }
}

impl CatalogWriter<'_> {
    /// Creates or replaces a resource group.
    pub fn put_resource_group(&mut self, g: &ResourceGroupDef) -> CatalogResult<()> {
        self.touch()?;
        self.txn.put(&key(RESOURCE_GROUP, &g.name), &encode(g))?;
        Ok(())
    }

    /// Removes a resource group.
    pub fn drop_resource_group(&mut self, name: &str) -> CatalogResult<()> {
        self.touch()?;
        self.txn.delete(&key(RESOURCE_GROUP, name))?;
        Ok(())
    }

    /// Attaches database `database` to `group`, or with `None` detaches it.
    pub fn set_database_group(&mut self, database: &str, group: Option<&str>) -> CatalogResult<()> {
        self.touch()?;
        match group {
            Some(g) => self.txn.put(&key(DATABASE_GROUP, database), g.as_bytes())?,
            None => {
                self.txn.delete(&key(DATABASE_GROUP, database))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_with_and_without_limits() {
        let full = ResourceGroupDef {
            name: "small".into(),
            fuel_per_call: Some(10_000_000),
            memory_per_instance: Some(16 << 20),
            time_per_call: Some(Duration::from_millis(500)),
            max_concurrent_calls: Some(4),
        };
        assert_eq!(decode(&encode(&full)).unwrap(), full);
        let empty = ResourceGroupDef {
            name: "none".into(),
            fuel_per_call: None,
            memory_per_instance: None,
            time_per_call: None,
            max_concurrent_calls: None,
        };
        assert_eq!(decode(&encode(&empty)).unwrap(), empty);
        assert!(decode(&[1, 0, 0]).is_err());
        assert!(decode(&[LAYOUT_2, 0, 0, 0]).is_err());
    }

    #[test]
    fn records_of_the_first_layout_still_read() {
        // fuel 7, no memory, time 1 s, then the name: no version byte.
        let mut first = vec![1];
        first.extend_from_slice(&7u64.to_be_bytes());
        first.push(0);
        first.push(1);
        first.extend_from_slice(&1_000_000u64.to_be_bytes());
        first.extend_from_slice(b"old");
        assert_eq!(
            decode(&first).unwrap(),
            ResourceGroupDef {
                name: "old".into(),
                fuel_per_call: Some(7),
                memory_per_instance: None,
                time_per_call: Some(Duration::from_secs(1)),
                max_concurrent_calls: None,
            }
        );
    }
}
