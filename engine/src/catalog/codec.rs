//! The byte format of catalog records: length-prefixed fields in a fixed
//! order. Records are only ever read by the version that wrote them or a
//! later one, so new fields go at the end.

use super::error::{CatalogError, CatalogResult};
use super::privilege::{Acl, Grant, Privileges};
use super::role::{Membership, RoleDef};
use super::schema::{
    CheckDef, ColumnDef, ForeignKeyDef, IndexDef, IndexExpr, KeyConstraint, RefAction, SequenceDef,
    TableDef, ViewDef,
};
use crate::types::DataType;

#[derive(Default)]
pub(super) struct Writer(pub Vec<u8>);

impl Writer {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn len(&mut self, v: usize) {
        self.u32(u32::try_from(v).unwrap_or(u32::MAX));
    }
    fn bool(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_str(&mut self, s: Option<&str>) {
        self.bool(s.is_some());
        if let Some(s) = s {
            self.str(s);
        }
    }
    fn positions(&mut self, v: &[usize]) {
        self.len(v.len());
        for p in v {
            self.len(*p);
        }
    }
}

pub(super) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }
    fn take(&mut self, n: usize) -> CatalogResult<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(CatalogError::Corrupt("truncated catalog record"));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn u32(&mut self) -> CatalogResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self) -> CatalogResult<i64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
    fn len(&mut self) -> CatalogResult<usize> {
        Ok(self.u32()? as usize)
    }
    fn bool(&mut self) -> CatalogResult<bool> {
        Ok(self.take(1)?[0] != 0)
    }
    fn str(&mut self) -> CatalogResult<String> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| CatalogError::Corrupt("catalog string is not UTF-8"))
    }
    fn opt_str(&mut self) -> CatalogResult<Option<String>> {
        Ok(if self.bool()? {
            Some(self.str()?)
        } else {
            None
        })
    }
    fn positions(&mut self) -> CatalogResult<Vec<usize>> {
        let n = self.len()?;
        (0..n).map(|_| self.len()).collect()
    }
    fn data_type(&mut self) -> CatalogResult<DataType> {
        self.str()?
            .parse()
            .map_err(|_| CatalogError::Corrupt("unknown column type in catalog"))
    }
    fn at_end(&self) -> bool {
        self.bytes.is_empty()
    }
    fn count(&mut self) -> CatalogResult<usize> {
        let n = self.len()?;
        // Every element takes at least one byte: a larger count is corrupt
        // and must not reserve memory.
        if n > self.bytes.len() {
            return Err(CatalogError::Corrupt("catalog list longer than its record"));
        }
        Ok(n)
    }
}

pub(super) fn encode_table(t: &TableDef) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(t.id);
    w.str(&t.name);
    w.len(t.columns.len());
    for c in &t.columns {
        w.str(&c.name);
        w.str(&c.ty.to_string());
        w.bool(c.not_null);
        w.opt_str(c.default.as_deref());
    }
    w.bool(t.primary_key.is_some());
    if let Some(pk) = &t.primary_key {
        w.str(&pk.name);
        w.positions(&pk.columns);
    }
    w.len(t.indexes.len());
    for i in &t.indexes {
        w.u32(i.id);
        w.str(&i.name);
        w.positions(&i.columns);
        w.bool(i.unique);
        w.bool(i.constraint);
    }
    w.len(t.checks.len());
    for c in &t.checks {
        w.str(&c.name);
        w.str(&c.expr);
    }
    w.len(t.foreign_keys.len());
    for f in &t.foreign_keys {
        w.str(&f.name);
        w.positions(&f.columns);
        w.u32(f.ref_table);
        w.positions(&f.ref_columns);
        w.0.push(match f.on_delete {
            RefAction::Restrict => 0,
            RefAction::Cascade => 1,
            RefAction::SetNull => 2,
        });
    }
    // Last, so records written before indexes had expressions still read.
    for i in &t.indexes {
        w.len(i.expressions.len());
        for e in &i.expressions {
            w.str(&e.sql);
            w.str(&e.ty.to_string());
            w.str(&e.fingerprint);
        }
    }
    w.0
}

pub(super) fn decode_table(bytes: &[u8]) -> CatalogResult<TableDef> {
    let mut r = Reader::new(bytes);
    let id = r.u32()?;
    let name = r.str()?;
    let mut columns = Vec::new();
    for _ in 0..r.count()? {
        columns.push(ColumnDef {
            name: r.str()?,
            ty: r.data_type()?,
            not_null: r.bool()?,
            default: r.opt_str()?,
        });
    }
    let primary_key = if r.bool()? {
        Some(KeyConstraint {
            name: r.str()?,
            columns: r.positions()?,
        })
    } else {
        None
    };
    let mut indexes = Vec::new();
    for _ in 0..r.count()? {
        indexes.push(IndexDef {
            id: r.u32()?,
            name: r.str()?,
            columns: r.positions()?,
            expressions: Vec::new(),
            unique: r.bool()?,
            constraint: r.bool()?,
        });
    }
    let mut checks = Vec::new();
    for _ in 0..r.count()? {
        checks.push(CheckDef {
            name: r.str()?,
            expr: r.str()?,
        });
    }
    let mut foreign_keys = Vec::new();
    for _ in 0..r.count()? {
        foreign_keys.push(ForeignKeyDef {
            name: r.str()?,
            columns: r.positions()?,
            ref_table: r.u32()?,
            ref_columns: r.positions()?,
            on_delete: match r.take(1)?[0] {
                1 => RefAction::Cascade,
                2 => RefAction::SetNull,
                _ => RefAction::Restrict,
            },
        });
    }
    if !r.bytes.is_empty() {
        for index in &mut indexes {
            for _ in 0..r.count()? {
                index.expressions.push(IndexExpr {
                    sql: r.str()?,
                    ty: r.data_type()?,
                    fingerprint: r.str()?,
                });
            }
        }
    }
    let ncols = columns.len();
    let in_range = |ps: &[usize]| ps.iter().all(|p| *p < ncols);
    if !primary_key.as_ref().is_none_or(|pk| in_range(&pk.columns))
        || !indexes.iter().all(|i| in_range(&i.columns))
        || !foreign_keys.iter().all(|f| in_range(&f.columns))
    {
        return Err(CatalogError::Corrupt(
            "catalog column position out of range",
        ));
    }
    Ok(TableDef {
        id,
        name,
        columns,
        primary_key,
        indexes,
        checks,
        foreign_keys,
    })
}

pub(super) fn encode_sequence(s: &SequenceDef) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(s.id);
    w.str(&s.name);
    w.bool(s.owned_by.is_some());
    w.u32(s.owned_by.unwrap_or(0));
    w.i64(s.start);
    w.i64(s.increment);
    w.i64(s.min);
    w.i64(s.max);
    w.bool(s.cycle);
    w.0
}

pub(super) fn decode_sequence(bytes: &[u8]) -> CatalogResult<SequenceDef> {
    let mut r = Reader::new(bytes);
    let id = r.u32()?;
    let name = r.str()?;
    let owned = r.bool()?;
    let owner = r.u32()?;
    Ok(SequenceDef {
        id,
        name,
        owned_by: owned.then_some(owner),
        start: r.i64()?,
        increment: r.i64()?,
        min: r.i64()?,
        max: r.i64()?,
        cycle: r.bool()?,
    })
}

pub(super) fn encode_view(v: &ViewDef) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(v.id);
    w.str(&v.name);
    w.str(&v.query);
    w.len(v.columns.len());
    for c in &v.columns {
        w.str(c);
    }
    w.0
}

pub(super) fn decode_view(bytes: &[u8]) -> CatalogResult<ViewDef> {
    let mut r = Reader::new(bytes);
    let id = r.u32()?;
    let name = r.str()?;
    let query = r.str()?;
    let mut columns = Vec::new();
    for _ in 0..r.count()? {
        columns.push(r.str()?);
    }
    Ok(ViewDef {
        id,
        name,
        query,
        columns,
    })
}

pub(super) fn encode_acl(acl: &Acl) -> Vec<u8> {
    let mut w = Writer::default();
    w.str(&acl.owner);
    w.len(acl.grants.len());
    for g in &acl.grants {
        w.opt_str(g.grantee.as_deref());
        w.0.push(g.privileges.bits());
    }
    w.0
}

pub(super) fn decode_acl(bytes: &[u8]) -> CatalogResult<Acl> {
    let mut r = Reader::new(bytes);
    let owner = r.str()?;
    let mut grants = Vec::new();
    for _ in 0..r.count()? {
        grants.push(Grant {
            grantee: r.opt_str()?,
            privileges: Privileges::from_bits(r.take(1)?[0]),
        });
    }
    Ok(Acl { owner, grants })
}

pub(super) fn encode_role(role: &RoleDef) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(role.oid);
    w.str(&role.name);
    w.bool(role.superuser);
    w.bool(role.create_db);
    w.bool(role.create_role);
    w.bool(role.login);
    w.i64(i64::from(role.connection_limit));
    w.opt_str(role.password.as_deref());
    w.bool(role.inherit);
    w.len(role.member_of.len());
    for m in &role.member_of {
        w.str(&m.role);
        w.bool(m.admin);
        w.str(&m.grantor);
    }
    w.opt_str(role.resource_group.as_deref());
    w.0
}

pub(super) fn decode_role(bytes: &[u8]) -> CatalogResult<RoleDef> {
    let mut r = Reader::new(bytes);
    Ok(RoleDef {
        oid: r.u32()?,
        name: r.str()?,
        superuser: r.bool()?,
        create_db: r.bool()?,
        create_role: r.bool()?,
        login: r.bool()?,
        connection_limit: i32::try_from(r.i64()?)
            .map_err(|_| CatalogError::Corrupt("role connection limit"))?,
        password: r.opt_str()?,
        // Records written before memberships existed end here.
        inherit: r.at_end() || r.bool()?,
        member_of: if r.at_end() {
            Vec::new()
        } else {
            (0..r.count()?)
                .map(|_| {
                    Ok(Membership {
                        role: r.str()?,
                        admin: r.bool()?,
                        grantor: r.str()?,
                    })
                })
                .collect::<CatalogResult<_>>()?
        },
        resource_group: if r.at_end() { None } else { r.opt_str()? },
    })
}
