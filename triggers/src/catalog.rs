//! Trigger records: one per trigger, in the key range the engine reserves
//! for a table's triggers (`00 20 <table id>`), keyed further by name — so
//! a table's triggers read back in name order, which is their firing
//! order, and go with the table when it is dropped.
//!
//! Like every catalog record they are written in the DDL's transaction;
//! each change also marks the catalog changed, which is what
//! [`TriggerCache`] keys its decoded copies by.
//!
//! Record layout (version 1): `01`, then the fields below in order; a
//! string is a `u32` length and UTF-8 bytes, a list a `u32` count and its
//! items, an optional string a `00`/`01` flag and the string.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::Mutex;
use rustydb_engine::catalog::{CatalogWriter, KvTxn, prefix_end, trigger_prefix};
use rustydb_engine::extension::{TriggerLevel, TriggerOperation, TriggerTiming};
use sqlparser::ast;

use crate::error::{TriggerError, TriggerResult};

/// One trigger, as `CREATE TRIGGER` defined it.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerDef {
    /// Its name, unique per table.
    pub name: String,
    /// The table it is attached to.
    pub table_id: u32,
    /// `BEFORE`, `AFTER` or `INSTEAD OF`.
    pub timing: TriggerTiming,
    /// The operations it fires for.
    pub operations: Vec<TriggerOperation>,
    /// `UPDATE OF` columns, by name (empty: any UPDATE).
    pub update_columns: Vec<String>,
    /// `FOR EACH ROW` or `STATEMENT`.
    pub level: TriggerLevel,
    /// `WHEN (…)`, as SQL text.
    pub condition: Option<String>,
    /// The trigger function's schema.
    pub function_schema: String,
    /// The trigger function's name.
    pub function_name: String,
    /// `TG_ARGV`
    pub args: Vec<String>,
    /// `REFERENCING OLD TABLE AS …`
    pub old_table: Option<String>,
    /// `REFERENCING NEW TABLE AS …`
    pub new_table: Option<String>,
    /// `ALTER TABLE … ENABLE / DISABLE TRIGGER`
    pub enabled: bool,
}

/// A trigger as firing uses it: its record and its parsed condition.
#[derive(Debug)]
pub(crate) struct Trigger {
    pub(crate) def: TriggerDef,
    pub(crate) condition: Option<ast::Expr>,
}

fn key(table: u32, name: &str) -> Vec<u8> {
    let mut k = trigger_prefix(table);
    k.extend_from_slice(name.as_bytes());
    k
}

/// The trigger `name` of table `table`.
pub fn get(txn: &mut dyn KvTxn, table: u32, name: &str) -> TriggerResult<Option<TriggerDef>> {
    txn.get(&key(table, name))?
        .map(|v| decode(&v, table))
        .transpose()
}

/// Every trigger of table `table`, in name order.
pub fn list(txn: &mut dyn KvTxn, table: u32) -> TriggerResult<Vec<TriggerDef>> {
    let prefix = trigger_prefix(table);
    let upper = prefix_end(&prefix);
    let mut lower = Bound::Included(prefix);
    let mut out = Vec::new();
    loop {
        let chunk = txn.scan_chunk(lower.clone(), upper.clone(), false, 64)?;
        let Some((last, _)) = chunk.last() else { break };
        lower = Bound::Excluded(last.clone());
        for (_, v) in &chunk {
            out.push(decode(v, table)?);
        }
    }
    Ok(out)
}

/// Creates or replaces a trigger's record.
pub fn put(txn: &mut dyn KvTxn, def: &TriggerDef) -> TriggerResult<()> {
    txn.put(&key(def.table_id, &def.name), &encode(def))?;
    CatalogWriter::new(txn).mark_changed()?;
    Ok(())
}

/// Removes a trigger's record.
pub fn delete(txn: &mut dyn KvTxn, table: u32, name: &str) -> TriggerResult<()> {
    txn.delete(&key(table, name))?;
    CatalogWriter::new(txn).mark_changed()?;
    Ok(())
}

/// Decoded triggers by table, for the catalog version they were read at:
/// records only change together with the version, so a statement that
/// sees the same version sees the same triggers.
#[derive(Default)]
pub(crate) struct TriggerCache {
    last: Mutex<Option<(u64, ByTable)>>,
}

/// The decoded triggers of each table read so far, by table id.
type ByTable = HashMap<u32, Arc<[Trigger]>>;

impl TriggerCache {
    /// The triggers of `table` as a transaction at catalog `version` sees
    /// them.
    pub(crate) fn get(
        &self,
        txn: &mut dyn KvTxn,
        version: u64,
        table: u32,
    ) -> TriggerResult<Arc<[Trigger]>> {
        if let Some((v, tables)) = self.last.lock().as_ref()
            && *v == version
            && let Some(found) = tables.get(&table)
        {
            return Ok(Arc::clone(found));
        }
        let triggers: Arc<[Trigger]> = list(txn, table)?
            .into_iter()
            .map(|def| {
                let condition = def.condition.as_deref().map(parse_condition).transpose()?;
                Ok(Trigger { def, condition })
            })
            .collect::<TriggerResult<Vec<_>>>()?
            .into();
        let mut last = self.last.lock();
        match last.as_mut() {
            Some((v, tables)) if *v == version => {
                tables.insert(table, Arc::clone(&triggers));
            }
            _ => *last = Some((version, HashMap::from([(table, Arc::clone(&triggers))]))),
        }
        Ok(triggers)
    }
}

/// A stored `WHEN` condition back as an expression.
pub(crate) fn parse_condition(text: &str) -> TriggerResult<ast::Expr> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|_| TriggerError::Corrupt("WHEN condition does not parse"))
}

fn timing_byte(t: TriggerTiming) -> u8 {
    match t {
        TriggerTiming::Before => 0,
        TriggerTiming::After => 1,
        TriggerTiming::InsteadOf => 2,
    }
}

fn op_bit(op: TriggerOperation) -> u8 {
    match op {
        TriggerOperation::Insert => 1,
        TriggerOperation::Update => 2,
        TriggerOperation::Delete => 4,
        TriggerOperation::Truncate => 8,
    }
}

const OPERATIONS: [TriggerOperation; 4] = [
    TriggerOperation::Insert,
    TriggerOperation::Update,
    TriggerOperation::Delete,
    TriggerOperation::Truncate,
];

fn encode(d: &TriggerDef) -> Vec<u8> {
    let mut out = vec![1u8];
    put_str(&mut out, &d.name);
    out.push(timing_byte(d.timing));
    out.push(d.operations.iter().fold(0, |m, op| m | op_bit(*op)));
    put_list(&mut out, &d.update_columns);
    out.push(u8::from(d.level == TriggerLevel::Statement));
    put_opt(&mut out, d.condition.as_deref());
    put_str(&mut out, &d.function_schema);
    put_str(&mut out, &d.function_name);
    put_list(&mut out, &d.args);
    put_opt(&mut out, d.old_table.as_deref());
    put_opt(&mut out, d.new_table.as_deref());
    out.push(u8::from(d.enabled));
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_list(out: &mut Vec<u8>, items: &[String]) {
    out.extend_from_slice(&u32::try_from(items.len()).unwrap_or(u32::MAX).to_be_bytes());
    for s in items {
        put_str(out, s);
    }
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
        None => out.push(0),
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> TriggerResult<u8> {
        let (&b, rest) = self.0.split_first().ok_or(TriggerError::Corrupt("short"))?;
        self.0 = rest;
        Ok(b)
    }

    fn len(&mut self) -> TriggerResult<usize> {
        let (head, rest) = self
            .0
            .split_at_checked(4)
            .ok_or(TriggerError::Corrupt("short"))?;
        self.0 = rest;
        let n = u32::from_be_bytes(
            head.try_into()
                .map_err(|_| TriggerError::Corrupt("short"))?,
        );
        usize::try_from(n).map_err(|_| TriggerError::Corrupt("length"))
    }

    fn string(&mut self) -> TriggerResult<String> {
        let n = self.len()?;
        let (head, rest) = self
            .0
            .split_at_checked(n)
            .ok_or(TriggerError::Corrupt("short"))?;
        self.0 = rest;
        String::from_utf8(head.to_vec()).map_err(|_| TriggerError::Corrupt("not UTF-8"))
    }

    fn list(&mut self) -> TriggerResult<Vec<String>> {
        let n = self.len()?;
        if n > self.0.len() {
            return Err(TriggerError::Corrupt("list length"));
        }
        (0..n).map(|_| self.string()).collect()
    }

    fn opt(&mut self) -> TriggerResult<Option<String>> {
        match self.byte()? {
            0 => Ok(None),
            1 => self.string().map(Some),
            _ => Err(TriggerError::Corrupt("option flag")),
        }
    }
}

fn decode(bytes: &[u8], table_id: u32) -> TriggerResult<TriggerDef> {
    let mut r = Reader(bytes);
    if r.byte()? != 1 {
        return Err(TriggerError::Corrupt("unknown record version"));
    }
    let name = r.string()?;
    let timing = match r.byte()? {
        0 => TriggerTiming::Before,
        1 => TriggerTiming::After,
        2 => TriggerTiming::InsteadOf,
        _ => return Err(TriggerError::Corrupt("timing")),
    };
    let mask = r.byte()?;
    let operations = OPERATIONS
        .into_iter()
        .filter(|op| mask & op_bit(*op) != 0)
        .collect();
    let update_columns = r.list()?;
    let level = if r.byte()? == 1 {
        TriggerLevel::Statement
    } else {
        TriggerLevel::Row
    };
    let def = TriggerDef {
        name,
        table_id,
        timing,
        operations,
        update_columns,
        level,
        condition: r.opt()?,
        function_schema: r.string()?,
        function_name: r.string()?,
        args: r.list()?,
        old_table: r.opt()?,
        new_table: r.opt()?,
        enabled: r.byte()? == 1,
    };
    if !r.0.is_empty() {
        return Err(TriggerError::Corrupt("trailing bytes"));
    }
    Ok(def)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TriggerDef {
        TriggerDef {
            name: "audit".into(),
            table_id: 16384,
            timing: TriggerTiming::After,
            operations: vec![TriggerOperation::Insert, TriggerOperation::Delete],
            update_columns: vec!["balance".into()],
            level: TriggerLevel::Row,
            condition: Some("new.balance > 0".into()),
            function_schema: "audit".into(),
            function_name: "audit_row".into(),
            args: vec!["accounts".into(), "2".into()],
            old_table: None,
            new_table: Some("inserted".into()),
            enabled: false,
        }
    }

    #[test]
    fn records_round_trip() {
        let d = sample();
        assert_eq!(decode(&encode(&d), d.table_id).unwrap(), d);
    }

    #[test]
    fn truncated_or_garbled_records_are_errors() {
        let bytes = encode(&sample());
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], 1).is_err(), "prefix of {n} bytes");
        }
        assert!(decode(&[2], 1).is_err());
        assert!(decode(&[0xff; 40], 1).is_err());
    }
}
