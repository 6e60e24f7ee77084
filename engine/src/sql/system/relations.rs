//! The rows of each system relation.

use std::sync::Arc;

use crate::catalog::{Catalog, Privileges, TableDef};
use crate::types::{DataType as T, Value};

use super::super::error::SqlResult;
use super::super::expr::{ROLE_OID, UTF8_ENCODING};
use super::owners;
use super::{PG_CATALOG_OID, PK_OID_BASE, PUBLIC_OID, Relation, TYPES, oid, text, type_name};

/// The names `pg_catalog` answers to, for `pg_class`.
const PG_CATALOG_RELATIONS: [&str; 17] = [
    "pg_am",
    "pg_attrdef",
    "pg_attribute",
    "pg_auth_members",
    "pg_class",
    "pg_constraint",
    "pg_database",
    "pg_description",
    "pg_index",
    "pg_namespace",
    "pg_proc",
    "pg_roles",
    "pg_settings",
    "pg_tables",
    "pg_type",
    "pg_user",
    "pg_views",
];

const HEAP_AM: i64 = 2;
const BTREE_AM: i64 = 403;
const DATABASE_OID: i64 = 1;

fn sorted_tables(catalog: &Catalog) -> Vec<&Arc<TableDef>> {
    let mut tables: Vec<&Arc<TableDef>> = catalog.tables().collect();
    tables.sort_by_key(|t| t.id);
    tables
}

/// One index of a table as `pg_index` and `pg_class` see it: the primary
/// key's and the secondary ones.
struct IndexRow {
    oid: i64,
    name: String,
    columns: Vec<usize>,
    unique: bool,
    primary: bool,
    constraint: bool,
}

fn indexes(t: &TableDef) -> Vec<IndexRow> {
    let mut out = Vec::new();
    if let Some(pk) = &t.primary_key {
        out.push(IndexRow {
            oid: PK_OID_BASE + i64::from(t.id),
            name: pk.name.clone(),
            columns: pk.columns.clone(),
            unique: true,
            primary: true,
            constraint: true,
        });
    }
    for i in &t.indexes {
        out.push(IndexRow {
            oid: i64::from(i.id),
            name: i.name.clone(),
            columns: i.columns.clone(),
            unique: i.unique,
            primary: false,
            constraint: i.constraint,
        });
    }
    out
}

/// `pg_catalog.<name>`, or `None` when there is no such relation.
pub(super) fn pg_catalog(catalog: &Catalog, name: &str) -> SqlResult<Option<Relation>> {
    Ok(Some(match name {
        "pg_namespace" => owners::pg_namespace(catalog)?,
        "pg_class" => pg_class(catalog)?,
        // Role membership (`GRANT role TO role`) is not supported, so no role
        // is a member of another.
        "pg_auth_members" => {
            let mut r = Relation::new(&[
                ("roleid", T::Int8),
                ("member", T::Int8),
                ("grantor", T::Int8),
                ("admin_option", T::Bool),
            ]);
            for member in catalog.roles() {
                for m in &member.member_of {
                    r.push(vec![
                        Value::Int8(owners::role_oid(catalog, &m.role)),
                        oid(member.oid),
                        Value::Int8(owners::role_oid(catalog, &m.grantor)),
                        Value::Bool(m.admin),
                    ])?;
                }
            }
            r
        }
        "pg_am" => {
            let mut r =
                Relation::new(&[("oid", T::Int8), ("amname", T::Text), ("amtype", T::Text)]);
            r.push(vec![oid(HEAP_AM), text("heap"), text("t")])?;
            r.push(vec![oid(BTREE_AM), text("btree"), text("i")])?;
            r
        }
        "pg_attribute" => pg_attribute(catalog)?,
        "pg_attrdef" => {
            let mut r = Relation::new(&[
                ("oid", T::Int8),
                ("adrelid", T::Int8),
                ("adnum", T::Int2),
                ("adbin", T::Text),
            ]);
            for t in sorted_tables(catalog) {
                for (i, c) in t.columns.iter().enumerate() {
                    if let Some(d) = &c.default {
                        let num = i16::try_from(i + 1).unwrap_or(i16::MAX);
                        // The default's oid is not stored; derive a stable one.
                        let o = (i64::from(t.id) << 16) | i64::from(num);
                        r.push(vec![oid(o), oid(t.id), Value::Int2(num), text(d.clone())])?;
                    }
                }
            }
            r
        }
        "pg_index" => {
            let mut r = Relation::new(&[
                ("indexrelid", T::Int8),
                ("indrelid", T::Int8),
                ("indnatts", T::Int2),
                ("indisunique", T::Bool),
                ("indisprimary", T::Bool),
                ("indisclustered", T::Bool),
                ("indisvalid", T::Bool),
                ("indkey", T::Text),
                ("indnkeyatts", T::Int2),
                ("indisreplident", T::Bool),
                ("indimmediate", T::Bool),
                ("indnullsnotdistinct", T::Bool),
                ("indisexclusion", T::Bool),
                ("indexprs", T::Text),
                ("indpred", T::Text),
            ]);
            for t in sorted_tables(catalog) {
                for i in indexes(t) {
                    let key: Vec<String> = i.columns.iter().map(|c| (c + 1).to_string()).collect();
                    let natts = Value::Int2(i16::try_from(i.columns.len()).unwrap_or(i16::MAX));
                    r.push(vec![
                        oid(i.oid),
                        oid(t.id),
                        natts.clone(),
                        Value::Bool(i.unique),
                        Value::Bool(i.primary),
                        Value::Bool(false),
                        Value::Bool(true),
                        text(key.join(" ")),
                        natts,
                        Value::Bool(false),
                        // Uniqueness is checked at once, never deferred.
                        Value::Bool(true),
                        Value::Bool(false),
                        Value::Bool(false),
                        Value::Null,
                        Value::Null,
                    ])?;
                }
            }
            r
        }
        "pg_constraint" => pg_constraint(catalog)?,
        "pg_type" => {
            let mut r = Relation::new(&[
                ("oid", T::Int8),
                ("typname", T::Text),
                ("typnamespace", T::Int8),
                ("typowner", T::Int8),
                ("typlen", T::Int2),
                ("typtype", T::Text),
                ("typrelid", T::Int8),
                ("typelem", T::Int8),
                ("typcollation", T::Int8),
            ]);
            for ty in TYPES {
                r.push(vec![
                    oid(ty.oid()),
                    text(type_name(ty)),
                    oid(PG_CATALOG_OID),
                    oid(ROLE_OID),
                    Value::Int2(-1),
                    text("b"),
                    oid(0),
                    oid(0),
                    oid(0),
                ])?;
            }
            r
        }
        "pg_database" => {
            let mut r = Relation::new(&[
                ("oid", T::Int8),
                ("datname", T::Text),
                ("datdba", T::Int8),
                ("encoding", T::Int4),
                ("datlocprovider", T::Text),
                ("datistemplate", T::Bool),
                ("datallowconn", T::Bool),
                ("datconnlimit", T::Int4),
                ("datcollate", T::Text),
                ("datctype", T::Text),
                ("daticulocale", T::Text),
                ("datacl", T::Text),
            ]);
            r.push(vec![
                oid(DATABASE_OID),
                text("rustydb"),
                oid(ROLE_OID),
                Value::Int4(i32::try_from(UTF8_ENCODING).unwrap_or(6)),
                text("c"),
                Value::Bool(false),
                Value::Bool(true),
                Value::Int4(-1),
                text("C"),
                text("C"),
                Value::Null,
                Value::Null,
            ])?;
            r
        }
        "pg_roles" | "pg_authid" => {
            let mut r = Relation::new(&[
                ("oid", T::Int8),
                ("rolname", T::Text),
                ("rolsuper", T::Bool),
                ("rolinherit", T::Bool),
                ("rolcreaterole", T::Bool),
                ("rolcreatedb", T::Bool),
                ("rolcanlogin", T::Bool),
                ("rolreplication", T::Bool),
                ("rolconnlimit", T::Int4),
                ("rolvaliduntil", T::TimestampTz),
                ("rolbypassrls", T::Bool),
            ]);
            for role in catalog.roles() {
                r.push(vec![
                    oid(role.oid),
                    text(role.name.clone()),
                    Value::Bool(role.superuser),
                    Value::Bool(role.inherit),
                    Value::Bool(role.create_role),
                    Value::Bool(role.create_db),
                    Value::Bool(role.login),
                    Value::Bool(false),
                    Value::Int4(role.connection_limit),
                    Value::Null,
                    Value::Bool(role.superuser),
                ])?;
            }
            r
        }
        "pg_user" => {
            let mut r = Relation::new(&[
                ("usename", T::Text),
                ("usesysid", T::Int8),
                ("usecreatedb", T::Bool),
                ("usesuper", T::Bool),
            ]);
            for role in catalog.roles().into_iter().filter(|r| r.login) {
                r.push(vec![
                    text(role.name.clone()),
                    oid(role.oid),
                    Value::Bool(role.create_db),
                    Value::Bool(role.superuser),
                ])?;
            }
            r
        }
        "pg_stats" => super::stats::pg_stats(catalog)?,
        "pg_tables" => {
            let mut r = Relation::new(&[
                ("schemaname", T::Text),
                ("tablename", T::Text),
                ("tableowner", T::Text),
                ("hasindexes", T::Bool),
            ]);
            for t in sorted_tables(catalog) {
                r.push(vec![
                    text("public"),
                    text(t.name.clone()),
                    text(catalog.owner(t.id)),
                    Value::Bool(!indexes(t).is_empty()),
                ])?;
            }
            r
        }
        "pg_views" => {
            let mut r = Relation::new(&[
                ("schemaname", T::Text),
                ("viewname", T::Text),
                ("viewowner", T::Text),
                ("definition", T::Text),
            ]);
            for v in catalog.views() {
                r.push(vec![
                    text("public"),
                    text(v.name.clone()),
                    text(catalog.owner(v.id)),
                    text(v.query.clone()),
                ])?;
            }
            r
        }
        "pg_proc" => owners::pg_proc(catalog)?,
        // Comments are not kept yet: this is empty, with PostgreSQL's
        // columns so that queries over it bind.
        "pg_description" => Relation::new(&[
            ("objoid", T::Int8),
            ("classoid", T::Int8),
            ("objsubid", T::Int4),
            ("description", T::Text),
        ]),
        "pg_settings" => Relation::new(&[("name", T::Text), ("setting", T::Text)]),
        _ => return Ok(None),
    }))
}

fn pg_class(catalog: &Catalog) -> SqlResult<Relation> {
    let mut r = Relation::new(&[
        ("oid", T::Int8),
        ("relname", T::Text),
        ("relnamespace", T::Int8),
        ("reltype", T::Int8),
        ("relowner", T::Int8),
        ("relam", T::Int8),
        ("relkind", T::Text),
        ("relpersistence", T::Text),
        ("relnatts", T::Int2),
        ("relchecks", T::Int2),
        ("relhasindex", T::Bool),
        ("relhasrules", T::Bool),
        ("relhastriggers", T::Bool),
        ("relrowsecurity", T::Bool),
        ("relforcerowsecurity", T::Bool),
        ("relispartition", T::Bool),
        ("relreplident", T::Text),
        ("reltablespace", T::Int8),
        ("reltoastrelid", T::Int8),
        ("reltuples", T::Float4),
        ("reloptions", T::Text),
        ("relacl", T::Text),
        ("reloftype", T::Int8),
        ("relpartbound", T::Text),
    ]);
    let small = |n: usize| Value::Int2(i16::try_from(n).unwrap_or(i16::MAX));
    let mut push = |o: i64,
                    name: &str,
                    ns: i64,
                    am: i64,
                    kind: &str,
                    natts: usize,
                    checks: usize,
                    has_index: bool,
                    owner: i64,
                    acl: Value| {
        r.push(vec![
            oid(o),
            text(name),
            oid(ns),
            oid(0),
            oid(owner),
            oid(am),
            text(kind),
            text("p"),
            small(natts),
            small(checks),
            Value::Bool(has_index),
            Value::Bool(false),
            Value::Bool(false),
            Value::Bool(false),
            Value::Bool(false),
            Value::Bool(false),
            text("d"),
            oid(0),
            oid(0),
            Value::Float4(-1.0),
            Value::Null,
            acl,
            oid(0),
            Value::Null,
        ])
    };
    for t in sorted_tables(catalog) {
        let idx = indexes(t);
        let table_owner = owners::role_oid(catalog, catalog.owner(t.id));
        push(
            i64::from(t.id),
            &t.name,
            PUBLIC_OID,
            HEAP_AM,
            "r",
            t.columns.len(),
            t.checks.len(),
            !idx.is_empty(),
            table_owner,
            owners::relacl(catalog, t.id, Privileges::ALL_TABLE),
        )?;
        // An index belongs to its table's owner and has no grants.
        for i in idx {
            push(
                i.oid,
                &i.name,
                PUBLIC_OID,
                BTREE_AM,
                "i",
                i.columns.len(),
                0,
                false,
                table_owner,
                Value::Null,
            )?;
        }
    }
    for v in catalog.views() {
        push(
            i64::from(v.id),
            &v.name,
            PUBLIC_OID,
            0,
            "v",
            v.columns.len(),
            0,
            false,
            owners::role_oid(catalog, catalog.owner(v.id)),
            owners::relacl(catalog, v.id, Privileges::ALL_TABLE),
        )?;
    }
    for s in catalog.sequences() {
        push(
            i64::from(s.id),
            &s.name,
            PUBLIC_OID,
            0,
            "S",
            3,
            0,
            false,
            owners::role_oid(catalog, catalog.owner(s.id)),
            owners::relacl(catalog, s.id, Privileges::ALL_SEQUENCE),
        )?;
    }
    let system = PG_CATALOG_RELATIONS.iter().chain(&super::describe::NAMES);
    for (n, name) in system.enumerate() {
        // System relations get small fixed oids below the user range.
        let o = 1000 + i64::try_from(n).unwrap_or(0);
        push(
            o,
            name,
            PG_CATALOG_OID,
            HEAP_AM,
            "v",
            0,
            0,
            false,
            ROLE_OID,
            Value::Null,
        )?;
    }
    // PostgreSQL enforces foreign keys with triggers on both tables, and
    // psql looks for a table's foreign keys only when relhastriggers is set.
    let mut with_keys = std::collections::HashSet::new();
    for t in catalog.tables() {
        for fk in &t.foreign_keys {
            with_keys.insert(i64::from(t.id));
            with_keys.insert(i64::from(fk.ref_table));
        }
    }
    for row in &mut r.rows {
        if let (Some(Value::Int8(o)), Some(Value::Text(kind))) = (row.first(), row.get(6))
            && kind == "r"
            && with_keys.contains(o)
            && let Some(v) = row.get_mut(12)
        {
            *v = Value::Bool(true);
        }
    }
    Ok(r)
}

fn pg_attribute(catalog: &Catalog) -> SqlResult<Relation> {
    let mut r = Relation::new(&[
        ("attrelid", T::Int8),
        ("attname", T::Text),
        ("atttypid", T::Int8),
        ("attnum", T::Int2),
        ("atttypmod", T::Int4),
        ("attnotnull", T::Bool),
        ("atthasdef", T::Bool),
        ("attisdropped", T::Bool),
        ("attidentity", T::Text),
        ("attgenerated", T::Text),
        ("attcollation", T::Int8),
        ("attlen", T::Int2),
        ("attstorage", T::Text),
        ("attcompression", T::Text),
        ("attstattarget", T::Int4),
    ]);
    for t in sorted_tables(catalog) {
        // A table's columns, then each index's: PostgreSQL describes an
        // index's key columns as attributes of the index.
        let mut relations = vec![(i64::from(t.id), (0..t.columns.len()).collect::<Vec<_>>())];
        relations.extend(indexes(t).into_iter().map(|i| (i.oid, i.columns)));
        for (rel, columns) in relations {
            let is_table = rel == i64::from(t.id);
            for (n, &i) in columns.iter().enumerate() {
                let Some(c) = t.columns.get(i) else { continue };
                // Fixed-width values are stored plain, the rest may be
                // compressed ("extended"), as PostgreSQL's defaults say.
                let storage = if c.ty.typlen() > 0 { "p" } else { "x" };
                r.push(vec![
                    oid(rel),
                    text(c.name.clone()),
                    oid(c.ty.oid()),
                    Value::Int2(i16::try_from(n + 1).unwrap_or(i16::MAX)),
                    Value::Int4(c.ty.typmod()),
                    Value::Bool(c.not_null && is_table),
                    Value::Bool(c.default.is_some() && is_table),
                    Value::Bool(false),
                    text(""),
                    text(""),
                    oid(0),
                    Value::Int2(-1),
                    text(storage),
                    text(""),
                    Value::Int4(-1),
                ])?;
            }
        }
    }
    for (view, columns) in super::describe::view_columns(catalog) {
        for (n, (name, ty)) in columns.into_iter().enumerate() {
            r.push(vec![
                oid(view),
                text(name),
                oid(ty.oid()),
                Value::Int2(i16::try_from(n + 1).unwrap_or(i16::MAX)),
                Value::Int4(ty.typmod()),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(false),
                text(""),
                text(""),
                oid(0),
                Value::Int2(-1),
                text(if ty.typlen() > 0 { "p" } else { "x" }),
                text(""),
                Value::Int4(-1),
            ])?;
        }
    }
    Ok(r)
}

fn pg_constraint(catalog: &Catalog) -> SqlResult<Relation> {
    let mut r = Relation::new(&[
        ("oid", T::Int8),
        ("conname", T::Text),
        ("connamespace", T::Int8),
        ("contype", T::Text),
        ("conrelid", T::Int8),
        ("conindid", T::Int8),
        ("confrelid", T::Int8),
        ("conkey", T::Text),
        ("consrc", T::Text),
        ("confkey", T::Text),
        ("condeferrable", T::Bool),
        ("condeferred", T::Bool),
        ("convalidated", T::Bool),
        ("conparentid", T::Int8),
    ]);
    // Constraints are checked at once and valid; none is inherited.
    let tail = |confkey: Value| {
        [
            confkey,
            Value::Bool(false),
            Value::Bool(false),
            Value::Bool(true),
            oid(0),
        ]
    };
    let key = |cols: &[usize]| {
        let k: Vec<String> = cols.iter().map(|c| (c + 1).to_string()).collect();
        text(format!("{{{}}}", k.join(",")))
    };
    for t in sorted_tables(catalog) {
        for i in indexes(t).into_iter().filter(|i| i.constraint) {
            let kind = if i.primary { "p" } else { "u" };
            r.push(
                vec![
                    oid(i.oid),
                    text(i.name.clone()),
                    oid(PUBLIC_OID),
                    text(kind),
                    oid(t.id),
                    oid(i.oid),
                    oid(0),
                    key(&i.columns),
                    Value::Null,
                ]
                .into_iter()
                .chain(tail(Value::Null))
                .collect(),
            )?;
        }
        for (n, c) in t.checks.iter().enumerate() {
            let o = (i64::from(t.id) << 20) | i64::try_from(n).unwrap_or(0);
            r.push(
                vec![
                    oid(o),
                    text(c.name.clone()),
                    oid(PUBLIC_OID),
                    text("c"),
                    oid(t.id),
                    oid(0),
                    oid(0),
                    Value::Null,
                    text(c.expr.clone()),
                ]
                .into_iter()
                .chain(tail(Value::Null))
                .collect(),
            )?;
        }
        for (n, fk) in t.foreign_keys.iter().enumerate() {
            let o = (i64::from(t.id) << 20) | (1 << 19) | i64::try_from(n).unwrap_or(0);
            r.push(
                vec![
                    oid(o),
                    text(fk.name.clone()),
                    oid(PUBLIC_OID),
                    text("f"),
                    oid(t.id),
                    oid(0),
                    oid(fk.ref_table),
                    key(&fk.columns),
                    Value::Null,
                ]
                .into_iter()
                .chain(tail(key(&fk.ref_columns)))
                .collect(),
            )?;
        }
    }
    Ok(r)
}

/// `information_schema.<name>`.
pub(super) fn information_schema(catalog: &Catalog, name: &str) -> SqlResult<Option<Relation>> {
    Ok(Some(match name {
        "tables" => {
            let mut r = Relation::new(&[
                ("table_catalog", T::Text),
                ("table_schema", T::Text),
                ("table_name", T::Text),
                ("table_type", T::Text),
            ]);
            for t in sorted_tables(catalog) {
                r.push(vec![
                    text("rustydb"),
                    text("public"),
                    text(t.name.clone()),
                    text("BASE TABLE"),
                ])?;
            }
            for v in catalog.views() {
                r.push(vec![
                    text("rustydb"),
                    text("public"),
                    text(v.name.clone()),
                    text("VIEW"),
                ])?;
            }
            r
        }
        "columns" => {
            let mut r = Relation::new(&[
                ("table_catalog", T::Text),
                ("table_schema", T::Text),
                ("table_name", T::Text),
                ("column_name", T::Text),
                ("ordinal_position", T::Int4),
                ("column_default", T::Text),
                ("is_nullable", T::Text),
                ("data_type", T::Text),
                ("character_maximum_length", T::Int4),
            ]);
            for t in sorted_tables(catalog) {
                for (i, c) in t.columns.iter().enumerate() {
                    let max_len = match c.ty {
                        T::Varchar(Some(n)) | T::Char(Some(n)) => {
                            i32::try_from(n).map_or(Value::Null, Value::Int4)
                        }
                        _ => Value::Null,
                    };
                    r.push(vec![
                        text("rustydb"),
                        text("public"),
                        text(t.name.clone()),
                        text(c.name.clone()),
                        Value::Int4(i32::try_from(i + 1).unwrap_or(i32::MAX)),
                        c.default.clone().map_or(Value::Null, Value::Text),
                        text(if c.not_null { "NO" } else { "YES" }),
                        text(c.ty.name()),
                        max_len,
                    ])?;
                }
            }
            r
        }
        "schemata" => {
            let mut r = Relation::new(&[
                ("catalog_name", T::Text),
                ("schema_name", T::Text),
                ("schema_owner", T::Text),
            ]);
            for s in catalog.schemas() {
                r.push(vec![text("rustydb"), text(s.name), text(s.acl.owner)])?;
            }
            r
        }
        _ => return Ok(None),
    }))
}
