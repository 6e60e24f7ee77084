//! Who owns what, who may use it, and the routines, as `pg_catalog` shows
//! them: `relowner` and `relacl` of `pg_class`, the owners in `pg_tables`
//! and `pg_views`, `pg_namespace`, and `pg_proc`.
//!
//! Roles keep their catalog oid. Schemas and routines have no id of
//! their own in the catalog (they are keyed by name), so they get an oid
//! derived from the name: the same across restarts and sessions, in ranges
//! above every 32-bit id and apart from each other, so a join on `oid`
//! never mistakes one kind of object for another.

use crate::catalog::routine::RoutineDef;
use crate::catalog::{Catalog, Privileges};
use crate::extension::{RoutineKind, Volatility};
use crate::types::{DataType, Value};

use super::super::error::SqlResult;
use super::super::expr::ROLE_OID;
use super::{INFORMATION_SCHEMA_OID, PG_CATALOG_OID, PUBLIC_OID, Relation, oid, text};

use DataType as T;

/// Schemas' oids (but the system's and `public`) are this plus a hash of
/// the name.
const SCHEMA_OID_BASE: i64 = 2 << 32;
/// Routines' oids are this plus a hash of `schema.name`.
const ROUTINE_OID_BASE: i64 = 3 << 32;

/// `pg_type` oids of the pseudo-types routines return.
const VOID_OID: i64 = 2278;
const RECORD_OID: i64 = 2249;
const TRIGGER_OID: i64 = 2279;

/// FNV-1a: stable across builds and platforms, unlike std's hasher.
fn name_hash(name: &str) -> i64 {
    let h = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    i64::from(h)
}

/// The oid of the role named `name`; the bootstrap superuser's for a
/// role since dropped, as PostgreSQL never leaves an owner dangling.
pub(super) fn role_oid(catalog: &Catalog, name: &str) -> i64 {
    catalog.role(name).map_or(ROLE_OID, |r| i64::from(r.oid))
}

/// `relacl` of table, view or sequence `id`, whose owner holds `all`:
/// NULL while no grant was ever made (the owner's defaults), else
/// PostgreSQL's `aclitem[]` text.
pub(super) fn relacl(catalog: &Catalog, id: u32, all: Privileges) -> Value {
    let acl = catalog.acl(id);
    if acl.grants.is_empty() {
        Value::Null
    } else {
        text(acl.text(all))
    }
}

/// The namespace oid of schema `name`: PostgreSQL's for the system's
/// schemas and `public`, one derived from the name for the others.
fn schema_oid(name: &str) -> i64 {
    match name {
        "pg_catalog" => PG_CATALOG_OID,
        "public" => PUBLIC_OID,
        "information_schema" => INFORMATION_SCHEMA_OID,
        _ => SCHEMA_OID_BASE + name_hash(name),
    }
}

/// One `pg_namespace` row per schema, by name: oid, name, owner oid and
/// `nspacl`.
pub(super) fn pg_namespace(catalog: &Catalog) -> SqlResult<Relation> {
    let mut r = Relation::new(&[
        ("oid", T::Int8),
        ("nspname", T::Text),
        ("nspowner", T::Int8),
        ("nspacl", T::Text),
    ]);
    for s in catalog.schemas() {
        r.push(vec![
            oid(schema_oid(&s.name)),
            text(s.name.clone()),
            oid(role_oid(catalog, &s.acl.owner)),
            text(s.acl.text(Privileges::ALL_SCHEMA)),
        ])?;
    }
    Ok(r)
}

/// `pg_proc`: one row per routine, modules' and `CREATE FUNCTION`'s.
pub(super) fn pg_proc(catalog: &Catalog) -> SqlResult<Relation> {
    let mut r = Relation::new(&[
        ("oid", T::Int8),
        ("proname", T::Text),
        ("pronamespace", T::Int8),
        ("proowner", T::Int8),
        ("prokind", T::Text),
        ("prosecdef", T::Bool),
        ("proisstrict", T::Bool),
        ("proretset", T::Bool),
        ("provolatile", T::Text),
        ("pronargs", T::Int2),
        ("prorettype", T::Int8),
        ("proacl", T::Text),
    ]);
    let mut routines: Vec<&RoutineDef> = catalog.routines().map(AsRef::as_ref).collect();
    routines.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    for p in routines {
        let kind = match p.kind {
            RoutineKind::Procedure => "p",
            RoutineKind::Aggregate => "a",
            RoutineKind::Scalar
            | RoutineKind::Table
            | RoutineKind::Trigger
            | RoutineKind::Model => "f",
        };
        let volatile = match p.volatility {
            Volatility::Immutable => "i",
            Volatility::Stable => "s",
            Volatility::Volatile => "v",
        };
        let returns = match (p.kind, p.returns.as_slice()) {
            (RoutineKind::Trigger, _) => TRIGGER_OID,
            (_, []) => VOID_OID,
            (RoutineKind::Procedure | RoutineKind::Table, [_, _, ..]) => RECORD_OID,
            (_, [first, ..]) => i64::from(first.data_type.oid()),
        };
        r.push(vec![
            oid(ROUTINE_OID_BASE + name_hash(&p.qualified_name())),
            text(p.name.clone()),
            oid(schema_oid(&p.schema)),
            oid(role_oid(catalog, &p.acl.owner)),
            text(kind),
            Value::Bool(p.security_definer),
            Value::Bool(p.strict),
            Value::Bool(p.kind == RoutineKind::Table),
            text(volatile),
            Value::Int2(i16::try_from(p.params.len()).unwrap_or(i16::MAX)),
            oid(returns),
            text(p.acl.text(Privileges::EXECUTE)),
        ])?;
    }
    Ok(r)
}
