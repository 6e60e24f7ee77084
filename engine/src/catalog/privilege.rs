//! Owners and privileges of tables, views, sequences and routines (those
//! of schemas are in `namespace.rs`).
//!
//! As in PostgreSQL, an object's owner (the role that created it) and a
//! superuser may do anything with it; any other role needs a grant, to
//! itself or to PUBLIC. A table, view or sequence starts with no grants;
//! a routine starts with EXECUTE granted to PUBLIC.
//!
//! Key layout, beside the records of `catalog/mod.rs`:
//!
//! ```text
//! 00 08 <table, view or sequence id u32>   owner and grants
//! ```
//!
//! A table, view or sequence without a record (one created before owners were
//! recorded) belongs to the bootstrap superuser. A routine's owner and
//! grants are part of its own record (`routine.rs`).

use std::collections::HashMap;
use std::fmt::Write as _;

use super::error::CatalogResult;
use super::kv::KvTxn;
use super::role::BOOTSTRAP_SUPERUSER;
use super::role::Privileged;
use super::{Catalog, CatalogWriter, codec, record_key};

pub(super) const ACL: u8 = 0x08;

/// A set of privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Privileges(u8);

impl Privileges {
    /// `SELECT`
    pub const SELECT: Privileges = Privileges(1);
    /// `INSERT`
    pub const INSERT: Privileges = Privileges(2);
    /// `UPDATE`
    pub const UPDATE: Privileges = Privileges(4);
    /// `DELETE`
    pub const DELETE: Privileges = Privileges(8);
    /// `TRUNCATE`
    pub const TRUNCATE: Privileges = Privileges(16);
    /// `EXECUTE` (routines)
    pub const EXECUTE: Privileges = Privileges(32);
    /// `USAGE` (sequences: `nextval` and `currval`; schemas: reaching
    /// what is in them)
    pub const USAGE: Privileges = Privileges(64);
    /// `CREATE` (schemas: creating objects in them)
    pub const CREATE: Privileges = Privileges(128);
    /// Every privilege a table or view has (`ALL` on a table).
    pub const ALL_TABLE: Privileges = Privileges(31);
    /// Every privilege a sequence has: USAGE, SELECT and UPDATE.
    pub const ALL_SEQUENCE: Privileges = Privileges(64 | 4 | 1);
    /// Every privilege a schema has: USAGE and CREATE.
    pub const ALL_SCHEMA: Privileges = Privileges(64 | 128);
    /// None.
    pub const NONE: Privileges = Privileges(0);

    /// Both sets together.
    #[must_use]
    pub fn with(self, other: Privileges) -> Privileges {
        Privileges(self.0 | other.0)
    }

    /// This set less `other`.
    #[must_use]
    pub fn without(self, other: Privileges) -> Privileges {
        Privileges(self.0 & !other.0)
    }

    /// Whether every privilege of `other` is in this set.
    pub fn contains(self, other: Privileges) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The privileges in both sets.
    #[must_use]
    pub fn and(self, other: Privileges) -> Privileges {
        Privileges(self.0 & other.0)
    }

    /// PostgreSQL's one-letter codes, in its order (`arwdDXUC`).
    pub fn letters(self) -> String {
        [
            (Privileges::INSERT, 'a'),
            (Privileges::SELECT, 'r'),
            (Privileges::UPDATE, 'w'),
            (Privileges::DELETE, 'd'),
            (Privileges::TRUNCATE, 'D'),
            (Privileges::EXECUTE, 'X'),
            (Privileges::USAGE, 'U'),
            (Privileges::CREATE, 'C'),
        ]
        .iter()
        .filter(|(p, _)| self.contains(*p))
        .map(|(_, c)| *c)
        .collect()
    }

    pub(super) fn bits(self) -> u8 {
        self.0
    }

    pub(super) fn from_bits(bits: u8) -> Privileges {
        Privileges(bits)
    }
}

/// Privileges granted to one role, or to PUBLIC (`grantee: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The role, or `None` for PUBLIC.
    pub grantee: Option<String>,
    /// What it may do.
    pub privileges: Privileges,
}

/// An object's owner and the grants others hold on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// The role that created the object.
    pub owner: String,
    /// Grants, at most one per grantee.
    pub grants: Vec<Grant>,
}

impl Acl {
    /// A new table, view or sequence of `owner`: nobody else may use it.
    pub fn table_of(owner: &str) -> Acl {
        Acl {
            owner: owner.to_owned(),
            grants: Vec::new(),
        }
    }

    /// A new routine of `owner`: everybody may execute it.
    pub fn routine_of(owner: &str) -> Acl {
        Acl {
            owner: owner.to_owned(),
            grants: vec![Grant {
                grantee: None,
                privileges: Privileges::EXECUTE,
            }],
        }
    }

    /// Whether `who` holds every privilege of `wanted`: as a superuser,
    /// as the owner or one of its members, or through grants to itself,
    /// the roles it inherits from and PUBLIC together.
    pub fn allows(&self, who: &Privileged<'_>, wanted: Privileges) -> bool {
        if who.includes(&self.owner) {
            return true;
        }
        let held = self
            .grants
            .iter()
            .filter(|g| who.covers(g.grantee.as_deref()))
            .fold(Privileges::NONE, |acc, g| acc.with(g.privileges));
        held.contains(wanted)
    }

    /// Adds `privileges` to what `grantee` holds.
    pub fn grant(&mut self, grantee: Option<&str>, privileges: Privileges) {
        if privileges.is_empty() {
            return;
        }
        match self
            .grants
            .iter_mut()
            .find(|g| g.grantee.as_deref() == grantee)
        {
            Some(g) => g.privileges = g.privileges.with(privileges),
            None => self.grants.push(Grant {
                grantee: grantee.map(str::to_owned),
                privileges,
            }),
        }
    }

    /// Takes `privileges` away from `grantee` (what it holds through
    /// PUBLIC stays).
    pub fn revoke(&mut self, grantee: Option<&str>, privileges: Privileges) {
        for g in &mut self.grants {
            if g.grantee.as_deref() == grantee {
                g.privileges = g.privileges.without(privileges);
            }
        }
        self.grants.retain(|g| !g.privileges.is_empty());
    }

    /// PostgreSQL's `aclitem[]` text, the owner's implicit entry first:
    /// `{owner=arwdD/owner,alice=r/owner,=X/owner}`.
    pub fn text(&self, owner_has: Privileges) -> String {
        let mut out = String::from("{");
        let _ = write!(out, "{0}={1}/{0}", self.owner, owner_has.letters());
        for g in &self.grants {
            let _ = write!(
                out,
                ",{}={}/{}",
                g.grantee.as_deref().unwrap_or(""),
                g.privileges.letters(),
                self.owner
            );
        }
        out.push('}');
        out
    }
}

/// Reads every table, view and sequence record of owners and grants.
pub(super) fn load(txn: &mut dyn KvTxn, acls: &mut HashMap<u32, Acl>) -> CatalogResult<()> {
    super::for_each_by_id(txn, ACL, "privileges key", |id, value| {
        acls.insert(id, codec::decode_acl(value)?);
        Ok(())
    })
}

impl Catalog {
    /// The owner and grants of table, view or sequence `id`.
    pub fn acl(&self, id: u32) -> Acl {
        self.acls
            .get(&id)
            .cloned()
            .unwrap_or_else(|| Acl::table_of(BOOTSTRAP_SUPERUSER))
    }

    /// The owner of table, view or sequence `id`.
    pub fn owner(&self, id: u32) -> &str {
        self.acls
            .get(&id)
            .map_or(BOOTSTRAP_SUPERUSER, |a| a.owner.as_str())
    }

    /// Whether role `user` holds `wanted` on table, view or sequence `id`.
    pub fn may(&self, user: &str, id: u32, wanted: Privileges) -> bool {
        let who = self.privileged(user);
        match self.acls.get(&id) {
            Some(acl) => acl.allows(&who, wanted),
            None => who.includes(BOOTSTRAP_SUPERUSER),
        }
    }
}

impl CatalogWriter<'_> {
    /// Creates or replaces the owner and grants of table, view or
    /// sequence `id`.
    pub fn put_acl(&mut self, id: u32, acl: &Acl) -> CatalogResult<()> {
        self.touch()?;
        self.txn
            .put(&record_key(ACL, id), &codec::encode_acl(acl))?;
        Ok(())
    }
}
