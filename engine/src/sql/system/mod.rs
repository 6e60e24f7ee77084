//! `pg_catalog` and `information_schema`: PostgreSQL's system catalogs as
//! read-only virtual tables computed from RustyDB's own catalog.
//!
//! Clients learn about a database by querying these (psql's `\d` family,
//! drivers' metadata calls, ORMs), so each relation here has PostgreSQL's
//! name, column names and column meanings, filled from the transaction's
//! [`Catalog`]: a table created in the current transaction shows up, one
//! dropped does not. Each relation is bound as a constant row set
//! ([`Plan::Values`]), so everything the SQL engine does with a table
//! (joins, filters, aggregates, subqueries) works on them unchanged.
//!
//! Object ids: tables, indexes, sequences and views keep their catalog id;
//! a primary key has no object of its own, so its index gets
//! `PK_OID_BASE + table id`, above every 32-bit id. Column types use the
//! engine's `bigint` for `oid` and `text` for `name` and `"char"`.

mod describe;
mod owners;
mod relations;
mod stats;

use sqlparser::ast;

use crate::catalog::Catalog;
use crate::types::{DataType, Value};

use super::error::{SqlError, SqlResult};
use super::expr::Expr;
use super::plan::{Column, Plan};

/// `pg_catalog`'s namespace oid.
pub(crate) const PG_CATALOG_OID: i64 = 11;
/// `public`'s namespace oid.
pub(crate) const PUBLIC_OID: i64 = 2200;
/// `information_schema`'s namespace oid.
pub(crate) const INFORMATION_SCHEMA_OID: i64 = 13_000;
/// The object id of a table's primary-key index is this plus the table id.
pub(crate) const PK_OID_BASE: i64 = 1 << 32;

/// A relation's rows, built column by column name and type.
pub(crate) struct Relation {
    columns: Vec<(&'static str, DataType)>,
    rows: Vec<Vec<Value>>,
}

impl Relation {
    fn new(columns: &[(&'static str, DataType)]) -> Relation {
        Relation {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    fn push(&mut self, row: Vec<Value>) -> SqlResult<()> {
        if row.len() != self.columns.len() {
            return Err(SqlError::Internal(format!(
                "system relation row has {} values for {} columns",
                row.len(),
                self.columns.len()
            )));
        }
        self.rows.push(row);
        Ok(())
    }

    fn into_plan(self) -> Plan {
        let columns = self
            .columns
            .iter()
            .map(|(name, ty)| Column {
                name: (*name).to_owned(),
                table: None,
                ty: *ty,
            })
            .collect();
        let types: Vec<DataType> = self.columns.iter().map(|(_, t)| *t).collect();
        let rows = self
            .rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .zip(&types)
                    .map(|(v, t)| Expr::Literal(v, *t))
                    .collect()
            })
            .collect();
        Plan::Values { rows, columns }
    }
}

/// The system relation `name` refers to, if any. A name qualified with
/// `pg_catalog` or `information_schema` is always a system relation; an
/// unqualified one is when no table, view or sequence of the user has
/// that name (PostgreSQL searches `pg_catalog` first; RustyDB lets user
/// objects win so that creating, say, a table `tables` keeps working).
pub(crate) fn relation(catalog: &Catalog, name: &ast::ObjectName) -> SqlResult<Option<Plan>> {
    let parts: Vec<String> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident())
        .map(super::binder::ident)
        .collect();
    let (schema, rel) = match parts.as_slice() {
        [rel] => (None, rel.as_str()),
        [schema, rel] => (Some(schema.as_str()), rel.as_str()),
        [_db, schema, rel] => (Some(schema.as_str()), rel.as_str()),
        _ => return Ok(None),
    };
    if schema.is_none() && catalog.relation_exists(rel) {
        return Ok(None);
    }
    let built = match schema {
        Some("pg_catalog") | None => match relations::pg_catalog(catalog, rel)? {
            Some(r) => Some(r),
            None => describe::pg_catalog(catalog, rel)?,
        },
        Some("information_schema") => relations::information_schema(catalog, rel)?,
        Some(_) => None,
    };
    Ok(built.map(Relation::into_plan))
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn oid(n: impl Into<i64>) -> Value {
    Value::Int8(n.into())
}

/// The `pg_type` name of a type (`int4`, `varchar`), as opposed to its SQL
/// name (`integer`, `character varying`).
pub(crate) fn type_name(ty: DataType) -> &'static str {
    match ty {
        DataType::Bool => "bool",
        DataType::Int2 => "int2",
        DataType::Int4 => "int4",
        DataType::Int8 => "int8",
        DataType::Float4 => "float4",
        DataType::Float8 => "float8",
        DataType::Numeric { .. } => "numeric",
        DataType::Text => "text",
        DataType::Varchar(_) => "varchar",
        DataType::Char(_) => "bpchar",
        DataType::Bytea => "bytea",
        DataType::Date => "date",
        DataType::Timestamp => "timestamp",
        DataType::TimestampTz => "timestamptz",
        DataType::Interval => "interval",
        DataType::Json => "json",
        DataType::Jsonb => "jsonb",
    }
}

/// Every type, unmodified, for `pg_type` and for `format_type`.
pub(crate) const TYPES: [DataType; 17] = [
    DataType::Bool,
    DataType::Int2,
    DataType::Int4,
    DataType::Int8,
    DataType::Float4,
    DataType::Float8,
    DataType::Numeric {
        precision: None,
        scale: None,
    },
    DataType::Text,
    DataType::Varchar(None),
    DataType::Char(None),
    DataType::Bytea,
    DataType::Date,
    DataType::Timestamp,
    DataType::TimestampTz,
    DataType::Interval,
    DataType::Json,
    DataType::Jsonb,
];

/// `format_type(type oid, typmod)`: the SQL name of a type with its
/// modifier (`character varying(10)`, `numeric(10,2)`), NULL for an
/// unknown oid as PostgreSQL's `???` is of no use to a client.
pub fn format_type(type_oid: i64, typmod: i64) -> Option<String> {
    let base = TYPES
        .iter()
        .find(|t| i64::from(t.oid()) == type_oid)
        .copied()?;
    // A modifier is stored with the 4-byte varlena header added.
    let m = typmod - 4;
    let ty = match base {
        DataType::Varchar(None) if m >= 0 => DataType::Varchar(u32::try_from(m).ok()),
        DataType::Char(None) if m >= 0 => DataType::Char(u32::try_from(m).ok()),
        DataType::Numeric { .. } if m >= 0 => DataType::Numeric {
            precision: u32::try_from(m >> 16).ok(),
            scale: u32::try_from(m & 0xffff).ok(),
        },
        other => other,
    };
    Some(ty.to_string())
}
