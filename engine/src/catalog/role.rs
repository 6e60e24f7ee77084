//! Catalog records of roles.
//!
//! Roles are shared by the whole data directory, as in PostgreSQL, and are
//! catalog data like tables: `CREATE ROLE` in a block that rolls back
//! leaves nothing. The bootstrap superuser exists without a record; its
//! record is written the first time it is altered (`ALTER ROLE rustydb
//! PASSWORD …`), and from then on the record is what counts.
//!
//! A role may be a member of other roles (`GRANT admins TO alice`), as
//! PostgreSQL's `pg_auth_members` records. The memberships are kept in the
//! member's record, so granting and revoking rewrite one record; the
//! graph is small and walked on each privilege check. A member with
//! INHERIT (the default) holds the privileges of the roles it belongs to,
//! transitively through members that inherit too; any member may `SET
//! ROLE` to a role it belongs to, inheriting or not.
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
    /// `INHERIT`: whether it holds the privileges of the roles it is a
    /// member of without `SET ROLE`.
    pub inherit: bool,
    /// The roles it is a direct member of.
    pub member_of: Vec<Membership>,
    /// The resource group its sessions' Wasm calls run under.
    pub resource_group: Option<String>,
}

/// One `GRANT role TO member`, kept in the member's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The role granted.
    pub role: String,
    /// `WITH ADMIN OPTION`: the member may grant the role to others.
    pub admin: bool,
    /// Who granted it.
    pub grantor: String,
}

/// The roles whose privileges a role acts with: itself and every role it
/// inherits from, or everything for a superuser. Building one copies
/// nothing for a role that belongs to no other: every table reference
/// builds one.
#[derive(Debug, Clone)]
pub struct Privileged<'a> {
    /// Whether it is a superuser (who passes every check).
    pub superuser: bool,
    me: Option<&'a str>,
    inherited: Vec<&'a str>,
}

impl Privileged<'_> {
    /// Whether it acts with the privileges of `role`.
    pub fn includes(&self, role: &str) -> bool {
        self.superuser || self.covers(Some(role))
    }

    /// Whether a grant to `grantee` (`None` for PUBLIC) applies to it.
    pub fn covers(&self, grantee: Option<&str>) -> bool {
        match grantee {
            None => self.me.is_some(),
            Some(g) => self.me == Some(g) || self.inherited.contains(&g),
        }
    }
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
            inherit: true,
            member_of: Vec::new(),
            resource_group: None,
        }
    }

    /// The direct membership in `role`, if it has one.
    pub fn membership(&self, role: &str) -> Option<&Membership> {
        self.member_of.iter().find(|m| m.role == role)
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

    /// The roles `user` acts with the privileges of: itself, then the
    /// roles it belongs to through members that INHERIT. A role that does
    /// not exist acts with nobody's.
    pub fn privileged<'a>(&'a self, user: &str) -> Privileged<'a> {
        let Some(me) = self.roles.get(user) else {
            return Privileged {
                superuser: false,
                me: None,
                inherited: Vec::new(),
            };
        };
        let inherited = if me.inherit && !me.member_of.is_empty() {
            self.reachable(me, true).split_off(1)
        } else {
            Vec::new()
        };
        Privileged {
            superuser: me.superuser,
            me: Some(&me.name),
            inherited,
        }
    }

    /// Whether `member` belongs to `role`, directly or through other
    /// roles, whether or not it inherits (what `SET ROLE` asks); a
    /// superuser belongs to every role.
    pub fn is_member_of(&self, member: &str, role: &str) -> bool {
        self.roles
            .get(member)
            .is_some_and(|m| m.superuser || self.reachable(m, false).contains(&role))
    }

    /// Whether `member` may grant `role` to others: a superuser, a
    /// CREATEROLE role for a role that is not a superuser, or a holder of
    /// the admin option.
    pub fn may_administer(&self, member: &str, role: &str) -> bool {
        let target_superuser = self.roles.get(role).is_some_and(|r| r.superuser);
        let create_role = self.roles.get(member).is_some_and(|m| m.create_role);
        (create_role && !target_superuser) || self.has_admin_option(member, role)
    }

    /// Whether `member` is a superuser or holds `role` WITH ADMIN OPTION,
    /// directly or through roles it inherits from.
    pub fn has_admin_option(&self, member: &str, role: &str) -> bool {
        let Some(me) = self.roles.get(member) else {
            return false;
        };
        me.superuser
            || self.reachable(me, true).iter().any(|name| {
                self.roles
                    .get(*name)
                    .and_then(|r| r.membership(role))
                    .is_some_and(|m| m.admin)
            })
    }

    /// `start` and every role reachable from it through memberships,
    /// each once, nearest first. With `inheriting`, the walk goes on only
    /// through roles that INHERIT (`start` included).
    fn reachable<'a>(&'a self, start: &'a RoleDef, inheriting: bool) -> Vec<&'a str> {
        let mut found = vec![start.name.as_str()];
        let mut next = 0;
        while let Some(name) = found.get(next).copied() {
            next += 1;
            let Some(role) = self.roles.get(name) else {
                continue;
            };
            if inheriting && !role.inherit {
                continue;
            }
            for m in &role.member_of {
                if !found.contains(&m.role.as_str()) {
                    found.push(m.role.as_str());
                }
            }
        }
        found
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
