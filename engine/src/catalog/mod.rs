//! The catalog: what tables, columns, constraints, indexes, sequences and
//! views exist.
//!
//! The catalog is data like any other. Its records live in the same
//! transactional key-value store as the rows, under a reserved first key
//! byte, so DDL is transactional for free: a `CREATE TABLE` inside a
//! transaction that rolls back leaves nothing, and a concurrent session
//! does not see the table until the creator commits.
//!
//! Reading every record for each statement would be wasteful, so each DDL
//! also writes a fresh *catalog version* (a number no other write uses)
//! and [`CatalogCache`] keeps the last decoded [`Catalog`] with its
//! version. Planning a statement reads one key, the version its
//! transaction sees, and decodes the catalog again only when that differs.
//!
//! Key layout (all big-endian, so ids sort numerically):
//!
//! ```text
//! 00 00            catalog version (u64)
//! 00 01            next object id (u32)
//! 00 02 <id u32>   table record
//! 00 03 <id u32>   sequence record
//! 00 04 <id u32>   view record
//! 00 05 <id u32>   sequence position (i64), written outside user transactions
//! 00 06 <table u32> planner statistics written by ANALYZE (`stats.rs`)
//! 00 07 <name>     role record (`role.rs`)
//! 00 08 <id u32>   owner and grants of a table or view (`privilege.rs`)
//! 00 09 <name>     schema record: owner and grants (`namespace.rs`)
//! 00 0a .. 00 0b   resource groups, databases' groups (`resource_group.rs`)
//! 00 10 .. 00 12   modules, routines, component bytes (`routine.rs`)
//! 00 20 <table u32> <name>   trigger record (written by rustydb-triggers)
//! 01 <table u32> <primary key, or hidden row id>   row
//! 02 <index u32> <index key [‖ primary key]>       index entry
//! ```

mod codec;
mod error;
pub mod kv;
#[cfg(test)]
pub(crate) mod memkv;
mod mvcckv;
mod namespace;
mod privilege;
mod resource_group;
mod role;
pub mod routine;
mod schema;
mod stats;

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

pub use crate::mvcc::ScanKey;
pub use error::{CatalogError, CatalogResult};
pub use kv::{Isolation, KvStore, KvTxn, LockStrength, LockWait, RowLock, TxnConfig};
pub use mvcckv::MvccKv;
pub use namespace::{PUBLIC_SCHEMA, SYSTEM_SCHEMAS, SchemaDef};
pub use privilege::{Acl, Grant, Privileges};
pub use resource_group::ResourceGroupDef;
pub use role::{BOOTSTRAP_SUPERUSER, BOOTSTRAP_SUPERUSER_OID, Membership, Privileged, RoleDef};
pub use schema::{
    CheckDef, ColumnDef, ForeignKeyDef, IndexDef, IndexExpr, KeyConstraint, RefAction, SequenceDef,
    TableDef, ViewDef,
};
pub use stats::{ColumnStats, TableStats};

const CATALOG: u8 = 0x00;
const ROWS: u8 = 0x01;
const INDEXES: u8 = 0x02;

const VERSION: u8 = 0x00;
const NEXT_ID: u8 = 0x01;
const TABLE: u8 = 0x02;
const SEQUENCE: u8 = 0x03;
const VIEW: u8 = 0x04;
const SEQUENCE_VALUE: u8 = 0x05;
const STATS: u8 = 0x06;
const TRIGGER: u8 = 0x20;

/// Object ids below this are reserved for the system.
const FIRST_USER_ID: u32 = 16384;

/// The key prefix of a table's rows.
pub fn table_prefix(table: u32) -> Vec<u8> {
    let mut k = vec![ROWS];
    k.extend_from_slice(&table.to_be_bytes());
    k
}

/// The key prefix of an index's entries.
pub fn index_prefix(index: u32) -> Vec<u8> {
    let mut k = vec![INDEXES];
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// The key prefix of a table's trigger records. The engine only reserves
/// the range (and empties it with the table); the trigger machinery owns
/// what is in it.
pub fn trigger_prefix(table: u32) -> Vec<u8> {
    record_key(TRIGGER, table)
}

/// The key under which a sequence's position is kept.
pub fn sequence_value_key(sequence: u32) -> Vec<u8> {
    record_key(SEQUENCE_VALUE, sequence)
}

fn record_key(kind: u8, id: u32) -> Vec<u8> {
    let mut k = vec![CATALOG, kind];
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// One decoded version of the catalog.
#[derive(Debug, Default)]
pub struct Catalog {
    /// The version this was decoded at.
    pub version: u64,
    tables: HashMap<String, Arc<TableDef>>,
    tables_by_id: HashMap<u32, Arc<TableDef>>,
    sequences: HashMap<String, SequenceDef>,
    views: HashMap<String, ViewDef>,
    roles: HashMap<String, RoleDef>,
    modules: HashMap<String, Arc<routine::ModuleDef>>,
    routines: HashMap<(String, String), Arc<routine::RoutineDef>>,
    stats: HashMap<u32, Arc<TableStats>>,
    acls: HashMap<u32, privilege::Acl>,
    schemas: HashMap<String, privilege::Acl>,
    resource_groups: HashMap<String, resource_group::ResourceGroupDef>,
    database_groups: HashMap<String, String>,
}

impl Catalog {
    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Arc<TableDef>> {
        self.tables.get(name)
    }

    /// The table with id `id`.
    pub fn table_by_id(&self, id: u32) -> Option<&Arc<TableDef>> {
        self.tables_by_id.get(&id)
    }

    /// Every table.
    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableDef>> {
        self.tables.values()
    }

    /// What the last committed (or this transaction's) ANALYZE learned
    /// about table `id`.
    pub fn stats(&self, id: u32) -> Option<&Arc<TableStats>> {
        self.stats.get(&id)
    }

    /// The sequence named `name`.
    pub fn sequence(&self, name: &str) -> Option<&SequenceDef> {
        self.sequences.get(name)
    }

    /// Every sequence.
    pub fn sequences(&self) -> impl Iterator<Item = &SequenceDef> {
        self.sequences.values()
    }

    /// Every view.
    pub fn views(&self) -> impl Iterator<Item = &ViewDef> {
        self.views.values()
    }

    /// The view named `name`.
    pub fn view(&self, name: &str) -> Option<&ViewDef> {
        self.views.get(name)
    }

    /// Whether any relation (table, view, sequence, index) has this name:
    /// PostgreSQL keeps them in one namespace.
    pub fn relation_exists(&self, name: &str) -> bool {
        self.tables.contains_key(name)
            || self.views.contains_key(name)
            || self.sequences.contains_key(name)
            || self.index(name).is_some()
    }

    /// The index named `name` and its table.
    pub fn index(&self, name: &str) -> Option<(&Arc<TableDef>, &IndexDef)> {
        self.tables
            .values()
            .find_map(|t| t.indexes.iter().find(|i| i.name == name).map(|i| (t, i)))
    }

    /// The module named `name`.
    pub fn module(&self, name: &str) -> Option<&Arc<routine::ModuleDef>> {
        self.modules.get(name)
    }

    /// Every module, in no particular order.
    pub fn modules(&self) -> impl Iterator<Item = &Arc<routine::ModuleDef>> {
        self.modules.values()
    }

    /// Every routine, in no particular order.
    pub fn routines(&self) -> impl Iterator<Item = &Arc<routine::RoutineDef>> {
        self.routines.values()
    }

    /// The routine `schema.name` (a module's described routines live in
    /// the schema named after the module).
    pub fn routine(&self, schema: &str, name: &str) -> Option<&Arc<routine::RoutineDef>> {
        self.routines.get(&(schema.to_owned(), name.to_owned()))
    }

    /// Reads the whole catalog as `txn` sees it.
    pub fn load(txn: &mut dyn KvTxn) -> CatalogResult<Catalog> {
        let mut catalog = Catalog {
            version: read_version(txn)?,
            ..Catalog::default()
        };
        let mut lower = Bound::Included(vec![CATALOG, TABLE]);
        let upper = Bound::Excluded(vec![CATALOG, SEQUENCE_VALUE]);
        loop {
            let chunk = txn.scan_chunk(lower.clone(), upper.clone(), false, 256)?;
            let Some((last, _)) = chunk.last() else { break };
            lower = Bound::Excluded(last.clone());
            for (key, value) in &chunk {
                match key.get(1) {
                    Some(&TABLE) => {
                        let t = Arc::new(codec::decode_table(value)?);
                        catalog.tables_by_id.insert(t.id, t.clone());
                        catalog.tables.insert(t.name.clone(), t);
                    }
                    Some(&SEQUENCE) => {
                        let s = codec::decode_sequence(value)?;
                        catalog.sequences.insert(s.name.clone(), s);
                    }
                    Some(&VIEW) => {
                        let v = codec::decode_view(value)?;
                        catalog.views.insert(v.name.clone(), v);
                    }
                    _ => return Err(CatalogError::Corrupt("unknown catalog record")),
                }
            }
        }
        role::load(txn, &mut catalog.roles)?;
        privilege::load(txn, &mut catalog.acls)?;
        namespace::load(txn, &mut catalog.schemas)?;
        routine::load(txn, &mut catalog.modules, &mut catalog.routines)?;
        resource_group::load(
            txn,
            &mut catalog.resource_groups,
            &mut catalog.database_groups,
        )?;
        catalog.load_stats(txn)?;
        Ok(catalog)
    }

    /// Statistics records, after the tables they describe; a record whose
    /// table is gone (it cannot be: DROP removes both) is ignored.
    fn load_stats(&mut self, txn: &mut dyn KvTxn) -> CatalogResult<()> {
        for_each_by_id(txn, STATS, "statistics key", |id, value| {
            if let Some(t) = self.tables_by_id.get(&id) {
                let s = stats::decode(value, t)?;
                self.stats.insert(id, Arc::new(s));
            }
            Ok(())
        })
    }
}

/// Calls `f` with the object id and value of every catalog record of
/// `kind` keyed `CATALOG kind <id: u32 big-endian>`, in key order, a chunk
/// at a time; `what` names the key in the corruption error.
fn for_each_by_id(
    txn: &mut dyn KvTxn,
    kind: u8,
    what: &'static str,
    mut f: impl FnMut(u32, &[u8]) -> CatalogResult<()>,
) -> CatalogResult<()> {
    let mut lower = Bound::Included(vec![CATALOG, kind]);
    let upper = Bound::Excluded(vec![CATALOG, kind + 1]);
    loop {
        let chunk = txn.scan_chunk(lower.clone(), upper.clone(), false, 256)?;
        let Some((last, _)) = chunk.last() else {
            return Ok(());
        };
        lower = Bound::Excluded(last.clone());
        for (key, value) in &chunk {
            let id = key
                .get(2..6)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
                .ok_or(CatalogError::Corrupt(what))?;
            f(id, value)?;
        }
    }
}

fn read_version(txn: &mut dyn KvTxn) -> CatalogResult<u64> {
    Ok(match txn.get(&[CATALOG, VERSION])? {
        Some(v) => u64::from_be_bytes(
            v.as_slice()
                .try_into()
                .map_err(|_| CatalogError::Corrupt("catalog version"))?,
        ),
        None => 0,
    })
}

/// A version number no other catalog change has used: the clock at first
/// use plus a counter, so even two uncommitted DDL transactions never
/// share one and the cache cannot confuse their catalogs.
fn fresh_version() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let _ = NEXT.compare_exchange(
        0,
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| u64::try_from(d.as_nanos()).unwrap_or(1).max(1)),
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The last catalog decoded, shared by all sessions of a database.
#[derive(Default)]
pub struct CatalogCache {
    last: Mutex<Option<Arc<Catalog>>>,
}

impl CatalogCache {
    /// The catalog as `txn` sees it, decoded only if its version changed.
    pub fn get(&self, txn: &mut dyn KvTxn) -> CatalogResult<Arc<Catalog>> {
        let version = read_version(txn)?;
        if let Some(c) = self.last.lock().as_ref().filter(|c| c.version == version) {
            return Ok(c.clone());
        }
        let catalog = Arc::new(Catalog::load(txn)?);
        *self.last.lock() = Some(catalog.clone());
        Ok(catalog)
    }
}

/// Catalog changes, made inside the caller's transaction.
pub struct CatalogWriter<'a> {
    txn: &'a mut dyn KvTxn,
}

impl<'a> CatalogWriter<'a> {
    /// Changes made through this writer are part of `txn`; each one marks
    /// the catalog as changed.
    pub fn new(txn: &'a mut dyn KvTxn) -> Self {
        CatalogWriter { txn }
    }

    fn touch(&mut self) -> CatalogResult<()> {
        self.txn
            .put(&[CATALOG, VERSION], &fresh_version().to_be_bytes())?;
        Ok(())
    }

    /// Marks the catalog as changed without changing a table record, for
    /// records kept outside the decoded catalog (triggers) whose readers
    /// cache them by catalog version.
    pub fn mark_changed(&mut self) -> CatalogResult<()> {
        self.touch()
    }

    /// A new object id for a table, index, sequence or view.
    pub fn allocate_id(&mut self) -> CatalogResult<u32> {
        let id = match self.txn.get(&[CATALOG, NEXT_ID])? {
            Some(v) => u32::from_be_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| CatalogError::Corrupt("next object id"))?,
            ),
            None => FIRST_USER_ID,
        };
        self.txn
            .put(&[CATALOG, NEXT_ID], &id.saturating_add(1).to_be_bytes())?;
        Ok(id)
    }

    /// Creates or replaces a table's record.
    pub fn put_table(&mut self, table: &TableDef) -> CatalogResult<()> {
        self.touch()?;
        self.txn
            .put(&record_key(TABLE, table.id), &codec::encode_table(table))?;
        Ok(())
    }

    /// Removes a table's record and every row and index entry of it.
    pub fn drop_table(&mut self, table: &TableDef) -> CatalogResult<()> {
        self.touch()?;
        self.txn.delete(&record_key(TABLE, table.id))?;
        self.txn.delete(&record_key(STATS, table.id))?;
        self.txn.delete(&record_key(privilege::ACL, table.id))?;
        self.delete_prefix(&table_prefix(table.id))?;
        self.delete_prefix(&trigger_prefix(table.id))?;
        for index in &table.indexes {
            self.delete_prefix(&index_prefix(index.id))?;
        }
        Ok(())
    }

    /// Deletes every key starting with `prefix` (TRUNCATE, DROP).
    pub fn delete_prefix(&mut self, prefix: &[u8]) -> CatalogResult<()> {
        delete_prefix(self.txn, prefix)
    }

    /// Replaces a table's statistics. The catalog version changes too, so
    /// plans made after this see them.
    pub fn put_stats(&mut self, table: u32, stats: &TableStats) -> CatalogResult<()> {
        self.touch()?;
        self.txn
            .put(&record_key(STATS, table), &stats::encode(stats))?;
        Ok(())
    }

    /// Creates or replaces a sequence's record.
    pub fn put_sequence(&mut self, sequence: &SequenceDef) -> CatalogResult<()> {
        self.touch()?;
        self.txn.put(
            &record_key(SEQUENCE, sequence.id),
            &codec::encode_sequence(sequence),
        )?;
        Ok(())
    }

    /// Removes a sequence.
    pub fn drop_sequence(&mut self, sequence: &SequenceDef) -> CatalogResult<()> {
        self.touch()?;
        self.txn.delete(&record_key(SEQUENCE, sequence.id))?;
        self.txn.delete(&record_key(privilege::ACL, sequence.id))?;
        self.txn.delete(&sequence_value_key(sequence.id))?;
        Ok(())
    }

    /// Creates or replaces a view.
    pub fn put_view(&mut self, view: &ViewDef) -> CatalogResult<()> {
        self.touch()?;
        self.txn
            .put(&record_key(VIEW, view.id), &codec::encode_view(view))?;
        Ok(())
    }

    /// Removes a view.
    pub fn drop_view(&mut self, view: &ViewDef) -> CatalogResult<()> {
        self.touch()?;
        self.txn.delete(&record_key(VIEW, view.id))?;
        self.txn.delete(&record_key(privilege::ACL, view.id))?;
        // A view's INSTEAD OF triggers go with it, as a table's do.
        self.delete_prefix(&trigger_prefix(view.id))?;
        Ok(())
    }
}

/// Deletes every key starting with `prefix`.
pub fn delete_prefix(txn: &mut dyn KvTxn, prefix: &[u8]) -> CatalogResult<()> {
    let upper = prefix_end(prefix);
    let mut lower = Bound::Included(prefix.to_vec());
    loop {
        let chunk = txn.scan_chunk(lower, upper.clone(), false, 256)?;
        let Some((last, _)) = chunk.last() else {
            return Ok(());
        };
        // Each chunk starts after the last key deleted: restarting at the
        // prefix would walk over every deleted key again (the store still
        // holds them until commit), which made deleting n keys O(n²).
        lower = Bound::Excluded(last.clone());
        for (key, _) in chunk {
            txn.delete(&key)?;
        }
    }
}

/// The exclusive upper bound of all keys starting with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

#[cfg(test)]
mod tests {
    use super::memkv::MemKv;
    use super::*;
    use crate::types::DataType;

    fn table(id: u32, name: &str) -> TableDef {
        TableDef {
            id,
            name: name.to_owned(),
            columns: vec![ColumnDef {
                name: "a".into(),
                ty: DataType::Varchar(Some(10)),
                not_null: true,
                default: Some("1 + 2".into()),
            }],
            primary_key: Some(KeyConstraint {
                name: format!("{name}_pkey"),
                columns: vec![0],
            }),
            indexes: vec![],
            checks: vec![CheckDef {
                name: "c".into(),
                expr: "a <> ''".into(),
            }],
            foreign_keys: vec![],
        }
    }

    #[test]
    fn ddl_is_transactional_and_cached_by_version() {
        let kv = MemKv::default();
        let cache = CatalogCache::default();
        let mut t1 = kv.begin(TxnConfig::default());
        let id = CatalogWriter::new(t1.as_mut()).allocate_id().unwrap();
        CatalogWriter::new(t1.as_mut())
            .put_table(&table(id, "t"))
            .unwrap();
        let seen = cache.get(t1.as_mut()).unwrap();
        assert_eq!(seen.table("t").unwrap().as_ref(), &table(id, "t"));
        t1.rollback();
        let mut t2 = kv.begin(TxnConfig::default());
        assert!(cache.get(t2.as_mut()).unwrap().table("t").is_none());
        CatalogWriter::new(t2.as_mut())
            .put_table(&table(id, "u"))
            .unwrap();
        t2.commit().unwrap();
        let mut t3 = kv.begin(TxnConfig::default());
        let a = cache.get(t3.as_mut()).unwrap();
        let b = cache.get(t3.as_mut()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.table("u").is_some());
    }

    #[test]
    fn index_expressions_round_trip_and_older_records_read_without_them() {
        let mut t = table(1, "t");
        let plain = IndexDef {
            id: 2,
            name: "t_a_idx".into(),
            columns: vec![0],
            expressions: vec![],
            unique: false,
            constraint: false,
        };
        let on_lower = IndexDef {
            id: 3,
            name: "t_lower_idx".into(),
            columns: vec![0],
            expressions: vec![IndexExpr {
                sql: "lower(a)".into(),
                ty: DataType::Text,
                fingerprint: "Func(Lower, [Column(0, Text)], Text)".into(),
            }],
            unique: true,
            constraint: false,
        };
        t.indexes = vec![plain.clone(), on_lower];
        let bytes = codec::encode_table(&t);
        assert_eq!(codec::decode_table(&bytes).unwrap(), t);
        // A record from before index expressions: no trailing lists.
        t.indexes = vec![plain];
        let mut old = codec::encode_table(&t);
        old.truncate(old.len() - 4);
        assert_eq!(codec::decode_table(&old).unwrap(), t);
    }

    #[test]
    fn corrupt_records_are_errors_not_panics() {
        for n in 0..40 {
            let bytes = codec::encode_table(&table(1, "t"));
            let cut = &bytes[..n.min(bytes.len())];
            let _ = codec::decode_table(cut);
        }
        assert!(codec::decode_table(&[0xff; 64]).is_err());
    }
}
