//! Catalog records of schemas: who owns each and who may use it.
//!
//! Tables, views and sequences all live in `public`; routines live in
//! `public`, in the schema named after their module, or in a schema made
//! with `CREATE SCHEMA`. Some schemas exist without a record:
//!
//! * `pg_catalog` and `information_schema`, the bootstrap superuser's, with
//!   USAGE for PUBLIC;
//! * `public`, the bootstrap superuser's (PostgreSQL 15's
//!   `pg_database_owner`: the one database is the bootstrap superuser's),
//!   with USAGE for PUBLIC and, as in PostgreSQL 15, no CREATE;
//! * each module's schema, the module owner's, with USAGE for PUBLIC so
//!   that a deployed module's routines, EXECUTE for PUBLIC by default, are
//!   callable by everyone until the owner revokes something.
//!
//! A record (written by `CREATE SCHEMA`, or when GRANT, REVOKE or ALTER
//! SCHEMA changes one of the schemas above) replaces those defaults.
//!
//! Key layout, beside the records of `catalog/mod.rs`:
//!
//! ```text
//! 00 09 <name>   schema record: owner and grants
//! ```

use std::collections::HashMap;
use std::ops::Bound;

use super::error::{CatalogError, CatalogResult};
use super::kv::KvTxn;
use super::privilege::{Acl, Grant, Privileges};
use super::role::BOOTSTRAP_SUPERUSER;
use super::{CATALOG, Catalog, CatalogWriter, codec, prefix_end};

const SCHEMA: u8 = 0x09;

/// The schemas the system provides, which cannot be dropped or renamed.
pub const SYSTEM_SCHEMAS: [&str; 2] = ["pg_catalog", "information_schema"];

/// The schema every table, view and sequence lives in.
pub const PUBLIC_SCHEMA: &str = "public";

/// A schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaDef {
    /// Its name.
    pub name: String,
    /// Its owner, and what others were granted (USAGE, CREATE).
    pub acl: Acl,
    /// The module whose routines it holds, if it is a module's schema.
    pub module: Option<String>,
}

impl SchemaDef {
    /// Whether the system or a module made it rather than `CREATE SCHEMA`.
    pub fn is_builtin(&self) -> bool {
        self.module.is_some()
            || self.name == PUBLIC_SCHEMA
            || SYSTEM_SCHEMAS.contains(&self.name.as_str())
    }
}

/// The owner `owner`, and USAGE for PUBLIC.
fn usable_by_all(owner: &str) -> Acl {
    Acl {
        owner: owner.to_owned(),
        grants: vec![Grant {
            grantee: None,
            privileges: Privileges::USAGE,
        }],
    }
}

fn schema_key(name: &str) -> Vec<u8> {
    let mut k = vec![CATALOG, SCHEMA];
    k.extend_from_slice(name.as_bytes());
    k
}

/// Reads every schema record.
pub(super) fn load(txn: &mut dyn KvTxn, schemas: &mut HashMap<String, Acl>) -> CatalogResult<()> {
    let prefix = vec![CATALOG, SCHEMA];
    let upper = prefix_end(&prefix);
    let mut lower = Bound::Included(prefix);
    loop {
        let chunk = txn.scan_chunk(lower.clone(), upper.clone(), false, 256)?;
        let Some((last, _)) = chunk.last() else {
            return Ok(());
        };
        lower = Bound::Excluded(last.clone());
        for (key, value) in &chunk {
            let name = key
                .get(2..)
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or(CatalogError::Corrupt("schema key"))?;
            schemas.insert(name.to_owned(), codec::decode_acl(value)?);
        }
    }
}

impl Catalog {
    /// The owner of schema `name` while it has no record, if it is one of
    /// those that exist without one.
    fn default_owner(&self, name: &str) -> Option<&str> {
        match self.module(name) {
            Some(m) => Some(&m.owner),
            None if name == PUBLIC_SCHEMA || SYSTEM_SCHEMAS.contains(&name) => {
                Some(BOOTSTRAP_SUPERUSER)
            }
            None => None,
        }
    }

    /// The schema named `name`, with or without a record of its own.
    pub fn schema(&self, name: &str) -> Option<SchemaDef> {
        let acl = match self.schemas.get(name) {
            Some(acl) => acl.clone(),
            None => usable_by_all(self.default_owner(name)?),
        };
        Some(SchemaDef {
            name: name.to_owned(),
            acl,
            module: self.module(name).map(|m| m.name.clone()),
        })
    }

    /// Every schema, by name.
    pub fn schemas(&self) -> Vec<SchemaDef> {
        let mut names: Vec<&str> = SYSTEM_SCHEMAS.to_vec();
        names.push(PUBLIC_SCHEMA);
        names.extend(self.modules().map(|m| m.name.as_str()));
        names.extend(self.schemas.keys().map(String::as_str));
        names.sort_unstable();
        names.dedup();
        names.into_iter().filter_map(|n| self.schema(n)).collect()
    }

    /// Whether role `user` holds `wanted` on schema `name`; false when
    /// there is no such schema. Every table reference asks this, so it
    /// copies nothing.
    pub fn may_use_schema(&self, user: &str, name: &str, wanted: Privileges) -> bool {
        let who = self.privileged(user);
        match self.schemas.get(name) {
            Some(acl) => acl.allows(&who, wanted),
            None => self.default_owner(name).is_some_and(|owner| {
                who.includes(owner) || (who.covers(None) && Privileges::USAGE.contains(wanted))
            }),
        }
    }
}

impl CatalogWriter<'_> {
    /// Creates or replaces the owner and grants of schema `name`.
    pub fn put_schema(&mut self, name: &str, acl: &Acl) -> CatalogResult<()> {
        self.touch()?;
        self.txn.put(&schema_key(name), &codec::encode_acl(acl))?;
        Ok(())
    }

    /// Removes schema `name`'s record (a module's schema goes back to its
    /// defaults, which the module's own records decide).
    pub fn drop_schema(&mut self, name: &str) -> CatalogResult<()> {
        self.touch()?;
        self.txn.delete(&schema_key(name))?;
        Ok(())
    }
}
