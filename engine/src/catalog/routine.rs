//! Catalog records of modules and routines.
//!
//! A module is catalog data like a table: its record and its component
//! bytes are written in the caller's transaction, so `CREATE MODULE`
//! inside a block that rolls back leaves nothing, and other sessions see a
//! new module (or a replacement) only once it commits. The routine host
//! keeps prepared copies keyed by a version handle; the catalog decides
//! which version a call runs.
//!
//! Key layout, beside the table records of `catalog/mod.rs` (outside the
//! range [`Catalog::load`](super::Catalog::load) reads, so these records
//! are read on demand rather than with every catalog decode):
//!
//! ```text
//! 00 10 <name>                    module record
//! 00 11 <schema> 00 <name>        routine record
//! 00 12 <sha-256, 32 bytes>       component bytes, shared by identical modules
//! 00 13 <schema> 00 <name>        a model's parameters (CREATE MODEL … PARAMETERS)
//! ```
//!
//! Every write here also marks the catalog changed, and
//! [`Catalog::load`](super::Catalog::load) decodes the module and routine
//! records (not the bytes nor model parameters) into the cached catalog, so
//! the binder resolves `m.f(…)` without reading the store.
//!
//! A routine is keyed by schema and name only: overloading by argument
//! types is not supported yet, and a second routine of the same name
//! replaces or conflicts with the first as the DDL says.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use super::error::{CatalogError, CatalogResult};
use super::kv::KvTxn;
use super::privilege::Acl;
use super::role::BOOTSTRAP_SUPERUSER;
use super::{CatalogWriter, codec, prefix_end};
use crate::extension::{ColumnDescription, RoutineKind, Volatility};
use crate::types::DataType;

const CATALOG: u8 = 0x00;
const MODULE: u8 = 0x10;
const ROUTINE: u8 = 0x11;
const MODULE_BYTES: u8 = 0x12;
const MODEL_PARAMETERS: u8 = 0x13;

/// A deployed module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleDef {
    /// Its name, also the schema its described routines live in.
    pub name: String,
    /// 1 at creation, one more at each `CREATE OR REPLACE`.
    pub version: u64,
    /// The SHA-256 of the component bytes, lower-case hex; the bytes are
    /// stored under it ([`module_bytes`]).
    pub sha256: String,
    /// The component's size in bytes.
    pub size: u64,
    /// The routines the module describes, by export name.
    pub exports: Vec<String>,
    /// When this version was created: microseconds since 2000-01-01 UTC.
    pub created: i64,
    /// The routine host's handle for this version, remembered so a call can
    /// find the prepared module without preparing it again.
    pub handle: String,
    /// The role that created the module: only it (or a superuser)
    /// replaces or drops it.
    pub owner: String,
}

/// Where a routine came from, which decides what `DROP MODULE` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutineOrigin {
    /// Registered by `CREATE MODULE` from the module's own description;
    /// dropped and re-registered with the module.
    Described,
    /// Bound by `CREATE PROCEDURE` (or, later, FUNCTION / AGGREGATE / …).
    Explicit,
}

/// A routine: a procedure today; functions, aggregates, table functions,
/// triggers and models use the same record with their own `kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutineDef {
    /// The schema: the module's name for described routines, `public` for
    /// unqualified explicit ones.
    pub schema: String,
    /// The routine's SQL name.
    pub name: String,
    /// How it is called.
    pub kind: RoutineKind,
    /// The module implementing it.
    pub module: String,
    /// The export within the module.
    pub export: String,
    /// Its parameters in order.
    pub params: Vec<ColumnDescription>,
    /// Its result columns (for a procedure, the rows it returns, if fixed).
    pub returns: Vec<ColumnDescription>,
    /// What the planner may assume (functions).
    pub volatility: Volatility,
    /// `STRICT`: NULL in, NULL out.
    pub strict: bool,
    /// `SECURITY DEFINER`: its guest SQL runs with the owner's privileges
    /// rather than the caller's.
    pub security_definer: bool,
    /// How it was created.
    pub origin: RoutineOrigin,
    /// Its owner (the role that created it) and who may execute it.
    pub acl: Acl,
}

impl RoutineDef {
    /// `schema.name`, as messages print it.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// The role whose privileges the routine's SQL runs with when `caller`
    /// calls it: the owner for SECURITY DEFINER, the caller otherwise.
    pub fn runs_as<'a>(&'a self, caller: &'a str) -> &'a str {
        if self.security_definer {
            &self.acl.owner
        } else {
            caller
        }
    }
}

fn module_key(name: &str) -> Vec<u8> {
    let mut k = vec![CATALOG, MODULE];
    k.extend_from_slice(name.as_bytes());
    k
}

fn routine_key(schema: &str, name: &str) -> Vec<u8> {
    let mut k = vec![CATALOG, ROUTINE];
    k.extend_from_slice(schema.as_bytes());
    k.push(0);
    k.extend_from_slice(name.as_bytes());
    k
}

fn parameters_key(schema: &str, name: &str) -> Vec<u8> {
    let mut k = routine_key(schema, name);
    k[1] = MODEL_PARAMETERS;
    k
}

fn bytes_key(sha256: &str) -> Vec<u8> {
    let mut k = vec![CATALOG, MODULE_BYTES];
    k.extend_from_slice(sha256.as_bytes());
    k
}

/// Every value under `prefix`, in key order.
fn scan_prefix(txn: &mut dyn KvTxn, prefix: &[u8]) -> CatalogResult<Vec<Vec<u8>>> {
    let upper = prefix_end(prefix);
    let mut lower = Bound::Included(prefix.to_vec());
    let mut out = Vec::new();
    loop {
        let chunk = txn.scan_chunk(lower.clone(), upper.clone(), false, 256)?;
        let Some((last, _)) = chunk.last() else { break };
        lower = Bound::Excluded(last.clone());
        out.extend(chunk.into_iter().map(|(_, v)| v));
    }
    Ok(out)
}

/// The module named `name`, as `txn` sees it.
///
/// # Errors
/// Storage errors, and a corrupt record.
pub fn module(txn: &mut dyn KvTxn, name: &str) -> CatalogResult<Option<ModuleDef>> {
    txn.get(&module_key(name))?
        .map(|v| decode_module(&v))
        .transpose()
}

/// Every module, by name.
///
/// # Errors
/// Storage errors, and a corrupt record.
pub fn modules(txn: &mut dyn KvTxn) -> CatalogResult<Vec<ModuleDef>> {
    scan_prefix(txn, &[CATALOG, MODULE])?
        .iter()
        .map(|v| decode_module(v))
        .collect()
}

/// The component bytes with this SHA-256.
///
/// # Errors
/// Storage errors.
pub fn module_bytes(txn: &mut dyn KvTxn, sha256: &str) -> CatalogResult<Option<Vec<u8>>> {
    Ok(txn.get(&bytes_key(sha256))?)
}

/// Creates or replaces a module's record and stores its bytes.
///
/// # Errors
/// Storage errors (a component over the store's value limit is 54000).
pub fn put_module(txn: &mut dyn KvTxn, module: &ModuleDef, bytes: &[u8]) -> CatalogResult<()> {
    CatalogWriter::new(txn).mark_changed()?;
    txn.put(&bytes_key(&module.sha256), bytes)?;
    txn.put(&module_key(&module.name), &encode_module(module))?;
    Ok(())
}

/// Rewrites a module's record (a new owner), its bytes as they are.
///
/// # Errors
/// Storage errors.
pub fn put_module_record(txn: &mut dyn KvTxn, module: &ModuleDef) -> CatalogResult<()> {
    CatalogWriter::new(txn).mark_changed()?;
    txn.put(&module_key(&module.name), &encode_module(module))?;
    Ok(())
}

/// Removes a module's record, and its bytes unless another module has the
/// same ones.
///
/// # Errors
/// Storage errors, and a corrupt record.
pub fn delete_module(txn: &mut dyn KvTxn, module: &ModuleDef) -> CatalogResult<()> {
    CatalogWriter::new(txn).mark_changed()?;
    txn.delete(&module_key(&module.name))?;
    if !modules(txn)?.iter().any(|m| m.sha256 == module.sha256) {
        txn.delete(&bytes_key(&module.sha256))?;
    }
    Ok(())
}

/// The routine `schema.name`.
///
/// # Errors
/// Storage errors, and a corrupt record.
pub fn routine(txn: &mut dyn KvTxn, schema: &str, name: &str) -> CatalogResult<Option<RoutineDef>> {
    txn.get(&routine_key(schema, name))?
        .map(|v| decode_routine(&v))
        .transpose()
}

/// Every routine, by schema and name.
///
/// # Errors
/// Storage errors, and a corrupt record.
pub fn routines(txn: &mut dyn KvTxn) -> CatalogResult<Vec<RoutineDef>> {
    scan_prefix(txn, &[CATALOG, ROUTINE])?
        .iter()
        .map(|v| decode_routine(v))
        .collect()
}

/// Creates or replaces a routine.
///
/// # Errors
/// Storage errors.
pub fn put_routine(txn: &mut dyn KvTxn, routine: &RoutineDef) -> CatalogResult<()> {
    CatalogWriter::new(txn).mark_changed()?;
    txn.put(
        &routine_key(&routine.schema, &routine.name),
        &encode_routine(routine),
    )?;
    Ok(())
}

/// Removes a routine, and a model's parameters with it; whether it
/// existed.
///
/// # Errors
/// Storage errors.
pub fn delete_routine(txn: &mut dyn KvTxn, schema: &str, name: &str) -> CatalogResult<bool> {
    CatalogWriter::new(txn).mark_changed()?;
    txn.delete(&parameters_key(schema, name))?;
    Ok(txn.delete(&routine_key(schema, name))?)
}

/// The trained parameters of model `schema.name`.
///
/// # Errors
/// Storage errors.
pub fn model_parameters(
    txn: &mut dyn KvTxn,
    schema: &str,
    name: &str,
) -> CatalogResult<Option<Vec<u8>>> {
    Ok(txn.get(&parameters_key(schema, name))?)
}

/// Stores the trained parameters of model `schema.name`.
///
/// # Errors
/// Storage errors (a blob over the store's value limit is 54000).
pub fn put_model_parameters(
    txn: &mut dyn KvTxn,
    schema: &str,
    name: &str,
    parameters: &[u8],
) -> CatalogResult<()> {
    Ok(txn.put(&parameters_key(schema, name), parameters)?)
}

/// The module and routine records as `txn` sees them, for the decoded
/// catalog: modules by name, routines by (schema, name).
pub(super) fn load(
    txn: &mut dyn KvTxn,
    modules_out: &mut HashMap<String, Arc<ModuleDef>>,
    routines_out: &mut HashMap<(String, String), Arc<RoutineDef>>,
) -> CatalogResult<()> {
    for m in modules(txn)? {
        modules_out.insert(m.name.clone(), Arc::new(m));
    }
    for r in routines(txn)? {
        routines_out.insert((r.schema.clone(), r.name.clone()), Arc::new(r));
    }
    Ok(())
}

// ---- encoding: length-prefixed fields in a fixed order; new fields go at
// the end, read as absent by older records.

#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn len(&mut self, n: usize) {
        self.0
            .extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
    fn columns(&mut self, cols: &[ColumnDescription]) {
        self.len(cols.len());
        for c in cols {
            self.str(&c.name);
            self.str(&c.data_type.to_string());
        }
    }
}

struct Dec<'a>(&'a [u8]);

impl<'a> Dec<'a> {
    fn take(&mut self, n: usize) -> CatalogResult<&'a [u8]> {
        if self.0.len() < n {
            return Err(CatalogError::Corrupt("truncated routine record"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u64(&mut self) -> CatalogResult<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn len(&mut self) -> CatalogResult<usize> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    fn count(&mut self) -> CatalogResult<usize> {
        let n = self.len()?;
        if n > self.0.len() {
            return Err(CatalogError::Corrupt("routine record list too long"));
        }
        Ok(n)
    }
    fn str(&mut self) -> CatalogResult<String> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| CatalogError::Corrupt("routine record string is not UTF-8"))
    }
    fn u8(&mut self) -> CatalogResult<u8> {
        Ok(self.take(1)?[0])
    }
    fn bytes(&mut self) -> CatalogResult<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }
    fn columns(&mut self) -> CatalogResult<Vec<ColumnDescription>> {
        let n = self.count()?;
        (0..n)
            .map(|_| {
                let name = self.str()?;
                let data_type: DataType = self
                    .str()?
                    .parse()
                    .map_err(|_| CatalogError::Corrupt("unknown type in routine record"))?;
                Ok(ColumnDescription { name, data_type })
            })
            .collect()
    }
}

fn encode_module(m: &ModuleDef) -> Vec<u8> {
    let mut e = Enc::default();
    e.str(&m.name);
    e.u64(m.version);
    e.str(&m.sha256);
    e.u64(m.size);
    e.len(m.exports.len());
    for x in &m.exports {
        e.str(x);
    }
    e.u64(m.created.cast_unsigned());
    e.str(&m.handle);
    e.str(&m.owner);
    e.0
}

fn decode_module(bytes: &[u8]) -> CatalogResult<ModuleDef> {
    let mut d = Dec(bytes);
    let name = d.str()?;
    let version = d.u64()?;
    let sha256 = d.str()?;
    let size = d.u64()?;
    let n = d.count()?;
    let exports = (0..n).map(|_| d.str()).collect::<CatalogResult<_>>()?;
    let created = d.u64()?.cast_signed();
    let handle = d.str()?;
    // Records written before owners were recorded end here.
    let owner = if d.0.is_empty() {
        BOOTSTRAP_SUPERUSER.to_owned()
    } else {
        d.str()?
    };
    Ok(ModuleDef {
        name,
        version,
        sha256,
        size,
        exports,
        created,
        handle,
        owner,
    })
}

fn kind_byte(k: RoutineKind) -> u8 {
    match k {
        RoutineKind::Procedure => 0,
        RoutineKind::Scalar => 1,
        RoutineKind::Aggregate => 2,
        RoutineKind::Table => 3,
        RoutineKind::Trigger => 4,
        RoutineKind::Model => 5,
    }
}

fn kind_from(b: u8) -> CatalogResult<RoutineKind> {
    Ok(match b {
        0 => RoutineKind::Procedure,
        1 => RoutineKind::Scalar,
        2 => RoutineKind::Aggregate,
        3 => RoutineKind::Table,
        4 => RoutineKind::Trigger,
        5 => RoutineKind::Model,
        _ => return Err(CatalogError::Corrupt("unknown routine kind")),
    })
}

fn encode_routine(r: &RoutineDef) -> Vec<u8> {
    let mut e = Enc::default();
    e.str(&r.schema);
    e.str(&r.name);
    e.u8(kind_byte(r.kind));
    e.str(&r.module);
    e.str(&r.export);
    e.columns(&r.params);
    e.columns(&r.returns);
    e.u8(match r.volatility {
        Volatility::Immutable => 0,
        Volatility::Stable => 1,
        Volatility::Volatile => 2,
    });
    e.u8(u8::from(r.strict));
    e.u8(u8::from(r.security_definer));
    e.u8(match r.origin {
        RoutineOrigin::Described => 0,
        RoutineOrigin::Explicit => 1,
    });
    e.bytes(&codec::encode_acl(&r.acl));
    e.0
}

fn decode_routine(bytes: &[u8]) -> CatalogResult<RoutineDef> {
    let mut d = Dec(bytes);
    Ok(RoutineDef {
        schema: d.str()?,
        name: d.str()?,
        kind: kind_from(d.u8()?)?,
        module: d.str()?,
        export: d.str()?,
        params: d.columns()?,
        returns: d.columns()?,
        volatility: match d.u8()? {
            0 => Volatility::Immutable,
            1 => Volatility::Stable,
            2 => Volatility::Volatile,
            _ => return Err(CatalogError::Corrupt("unknown volatility")),
        },
        strict: d.u8()? != 0,
        security_definer: d.u8()? != 0,
        origin: match d.u8()? {
            0 => RoutineOrigin::Described,
            1 => RoutineOrigin::Explicit,
            _ => return Err(CatalogError::Corrupt("unknown routine origin")),
        },
        // Records written before owners were recorded end here: their
        // routines belong to the bootstrap superuser, executable by all.
        acl: if d.0.is_empty() {
            Acl::routine_of(BOOTSTRAP_SUPERUSER)
        } else {
            codec::decode_acl(d.bytes()?)?
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::kv::{KvStore, TxnConfig};
    use super::super::memkv::MemKv;
    use super::*;

    fn bank() -> ModuleDef {
        ModuleDef {
            name: "bank".into(),
            version: 1,
            sha256: "ab".repeat(32),
            size: 3,
            exports: vec!["transfer".into(), "statement".into()],
            created: -5,
            handle: "bank@abab".into(),
            owner: "alice".into(),
        }
    }

    fn transfer() -> RoutineDef {
        RoutineDef {
            schema: "bank".into(),
            name: "transfer".into(),
            kind: RoutineKind::Procedure,
            module: "bank".into(),
            export: "transfer".into(),
            params: vec![ColumnDescription::new("src", DataType::Int8)],
            returns: vec![],
            volatility: Volatility::Volatile,
            strict: false,
            security_definer: false,
            origin: RoutineOrigin::Described,
            acl: Acl::routine_of("alice"),
        }
    }

    #[test]
    fn records_round_trip_and_roll_back_with_their_transaction() {
        let kv = MemKv::default();
        let mut t = kv.begin(TxnConfig::default());
        put_module(t.as_mut(), &bank(), b"abc").unwrap();
        put_routine(t.as_mut(), &transfer()).unwrap();
        assert_eq!(module(t.as_mut(), "bank").unwrap(), Some(bank()));
        assert_eq!(modules(t.as_mut()).unwrap(), vec![bank()]);
        assert_eq!(
            routine(t.as_mut(), "bank", "transfer").unwrap(),
            Some(transfer())
        );
        assert_eq!(
            module_bytes(t.as_mut(), &bank().sha256).unwrap(),
            Some(b"abc".to_vec())
        );
        t.rollback();
        let mut t = kv.begin(TxnConfig::default());
        assert!(modules(t.as_mut()).unwrap().is_empty());
        assert!(routines(t.as_mut()).unwrap().is_empty());
    }

    #[test]
    fn bytes_are_kept_while_another_module_shares_them() {
        let kv = MemKv::default();
        let mut t = kv.begin(TxnConfig::default());
        let twin = ModuleDef {
            name: "twin".into(),
            ..bank()
        };
        put_module(t.as_mut(), &bank(), b"abc").unwrap();
        put_module(t.as_mut(), &twin, b"abc").unwrap();
        delete_module(t.as_mut(), &bank()).unwrap();
        assert!(module_bytes(t.as_mut(), &twin.sha256).unwrap().is_some());
        delete_module(t.as_mut(), &twin).unwrap();
        assert!(module_bytes(t.as_mut(), &twin.sha256).unwrap().is_none());
    }

    #[test]
    fn corrupt_records_are_errors() {
        let bytes = encode_routine(&transfer());
        let without_acl = bytes.len() - 4 - codec::encode_acl(&transfer().acl).len();
        for n in (0..bytes.len()).filter(|n| *n != without_acl) {
            assert!(decode_routine(&bytes[..n]).is_err(), "{n} bytes");
        }
        let bytes = encode_module(&bank());
        let without_owner = bytes.len() - 4 - "alice".len();
        for n in (0..bytes.len()).filter(|n| *n != without_owner) {
            assert!(decode_module(&bytes[..n]).is_err(), "{n} bytes");
        }
        let old = decode_module(&bytes[..without_owner]).unwrap();
        assert_eq!(old.owner, BOOTSTRAP_SUPERUSER);
    }

    #[test]
    fn a_record_from_before_owners_belongs_to_the_bootstrap_superuser() {
        let bytes = encode_routine(&transfer());
        let old = &bytes[..bytes.len() - 4 - codec::encode_acl(&transfer().acl).len()];
        let decoded = decode_routine(old).unwrap();
        assert_eq!(decoded.acl, Acl::routine_of(BOOTSTRAP_SUPERUSER));
        assert_eq!(decoded.runs_as("bob"), "bob");
        let definer = RoutineDef {
            security_definer: true,
            ..decoded
        };
        assert_eq!(definer.runs_as("bob"), BOOTSTRAP_SUPERUSER);
    }
}
