//! Catalog records of roles.
//!
//! Roles are shared by the whole data directory, as in PostgreSQL, and are
//! catalog data like tables: `CREATE ROLE` in a block that rolls back
//! leaves nothing. The bootstrap superuser exists without a record; its
//! record is written the first time it is altered (`ALTER ROLE rustydb
//! PASSWORD …`), and from then on the record is what counts.
//!
//! Key layout, beside the records of `catalog/mod.rs`:
//!
//! ```text
//! 00 07 <name>   role record
//! ```

use std::collections::HashMap;
use std::ops::Bound;

use super::error::CatalogResult;
use super::kv::KvTxn;
use super::{CATALOG, Catalog, CatalogWriter, codec, prefix_end};

const ROLE: u8 = 0x07;

/// The superuser a fresh data directory starts with (DESIGN §8).
pub const BOOTSTRAP_SUPERUSER: &str = "rustydb";

/// The bootstrap superuser's object id, PostgreSQL's `BOOTSTRAP_SUPERUSERID`.
pub const BOOTSTRAP_SUPERUSER_OID: u32 = 10;

/// A role: who may connect, and what it may do to other roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDef {
    /// Its object id, as `pg_roles.oid` reports it.
    pub oid: u32,
    /// Its name.
    pub name: String,
    /// `SUPERUSER`
    pub superuser: bool,
    /// `CREATEDB`
    pub create_db: bool,
    /// `CREATEROLE`
    pub create_role: bool,
    /// `LOGIN`: whether a connection may authenticate as it.
    pub login: bool,
    /// `CONNECTION LIMIT`, -1 for none.
    pub connection_limit: i32,
    /// The SCRAM-SHA-256 verifier in PostgreSQL's text form; never the
    /// password itself.
    pub password: Option<String>,
}

impl RoleDef {
    /// The bootstrap superuser as a fresh data directory has it: every
    /// privilege, no password.
    pub fn bootstrap() -> RoleDef {
        RoleDef {
            oid: BOOTSTRAP_SUPERUSER_OID,
            name: BOOTSTRAP_SUPERUSER.to_owned(),
            superuser: true,
            create_db: true,
            create_role: true,
            login: true,
            connection_limit: -1,
            password: None,
        }
    }
}

fn role_key(name: &str) -> Vec<u8> {
    let mut k = vec![CATALOG, ROLE];
    k.extend_from_slice(name.as_bytes());
    k
}

/// Reads every role record, adding the bootstrap superuser if it has none.
pub(super) fn load(txn: &mut dyn KvTxn, roles: &mut HashMap<String, RoleDef>) -> CatalogResult<()> {
    let prefix = vec![CATALOG, ROLE];
    let upper = prefix_end(&prefix);
    let mut lower = Bound::Included(prefix);
    loop {
        let chunk = txn.scan_chunk(lower.clone(), upper.clone(), false, 256)?;
        let Some((last, _)) = chunk.last() else { break };
        lower = Bound::Excluded(last.clone());
        for (_, value) in &chunk {
            let role = codec::decode_role(value)?;
            roles.insert(role.name.clone(), role);
        }
    }
    roles
        .entry(BOOTSTRAP_SUPERUSER.to_owned())
        .or_insert_with(RoleDef::bootstrap);
    Ok(())
}

impl Catalog {
    /// The role named `name`.
    pub fn role(&self, name: &str) -> Option<&RoleDef> {
        self.roles.get(name)
    }

    /// Every role, in object id order.
    pub fn roles(&self) -> Vec<&RoleDef> {
        let mut roles: Vec<&RoleDef> = self.roles.values().collect();
        roles.sort_by_key(|r| r.oid);
        roles
    }
}

impl CatalogWriter<'_> {
    /// Creates or replaces a role's record.
    pub fn put_role(&mut self, role: &RoleDef) -> CatalogResult<()> {
        self.touch()?;
        self.txn
            .put(&role_key(&role.name), &codec::encode_role(role))?;
        Ok(())
    }

    /// Removes a role's record.
    pub fn drop_role(&mut self, name: &str) -> CatalogResult<()> {
        self.touch()?;
        self.txn.delete(&role_key(name))?;
        Ok(())
    }
}
