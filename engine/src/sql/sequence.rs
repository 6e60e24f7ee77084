//! Sequences: CREATE / DROP SEQUENCE, `serial` columns, and `nextval`,
//! `currval`, `setval`. Who may call which is `sequence_privilege.rs`.
//!
//! A sequence's definition is a catalog record (transactional like any
//! DDL); its position is not. As in PostgreSQL, a value handed out is
//! never handed out again, even when the transaction that took it rolls
//! back: `nextval` and `setval` write the position in a short transaction
//! of their own, at REPEATABLE READ so two sessions racing for the next
//! value conflict (40001) and the loser retries instead of both taking it.
//!
//! That write is durable, so one per value made a serial column cost a
//! sync per row. Like PostgreSQL (which logs 32 values ahead), `nextval`
//! stores the position [`BLOCK`] values ahead and hands out the values in
//! between from memory ([`SequenceBlocks`], shared by the database's
//! sessions). A crash skips what was reserved and not handed out, which
//! PostgreSQL allows too.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use sqlparser::ast;

use super::binder::{data_type, object_name};
use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::privilege::{not_owner, owns};
use super::session::StatementResult;
use crate::SqlState;
use crate::catalog::{
    Acl, Catalog, CatalogWriter, Isolation, KvStore, SequenceDef, TableDef, TxnConfig,
    sequence_value_key,
};
use crate::types::DataType;

/// What expressions can do to sequences.
pub trait SequenceOps {
    /// Advances the sequence and returns the new value.
    fn nextval(&self, sequence: u32) -> SqlResult<i64>;
    /// The value `nextval` last returned in this session.
    fn currval(&self, sequence: u32) -> SqlResult<i64>;
    /// The sequence `nextval` last advanced in this session (`lastval`
    /// is its `currval`).
    fn last_used(&self) -> Option<u32>;
    /// Sets the position: the next `nextval` returns `value` (not called)
    /// or the value after it (called).
    fn setval(&self, sequence: u32, value: i64, is_called: bool) -> SqlResult<i64>;
}

/// A bare `nextval` function serves where no session is around (tests,
/// other embedders); `currval` and `setval` then are not available.
impl<F: Fn(u32) -> SqlResult<i64>> SequenceOps for F {
    fn nextval(&self, sequence: u32) -> SqlResult<i64> {
        self(sequence)
    }
    fn currval(&self, _: u32) -> SqlResult<i64> {
        Err(SqlError::unsupported("currval is not available here"))
    }
    fn last_used(&self) -> Option<u32> {
        None
    }
    fn setval(&self, _: u32, _: i64, _: bool) -> SqlResult<i64> {
        Err(SqlError::unsupported("setval is not available here"))
    }
}

/// The sequences as one session sees them.
pub(crate) struct SessionSequences {
    pub(crate) kv: Arc<dyn KvStore>,
    pub(crate) catalog: Arc<Catalog>,
    /// The session's `currval` of each sequence it used.
    pub(crate) current: Arc<Mutex<SessionValues>>,
    /// The database's reserved values.
    pub(crate) blocks: Arc<SequenceBlocks>,
}

/// What one session took from sequences.
#[derive(Default)]
pub(crate) struct SessionValues {
    /// The value `nextval` (or `setval` with `is_called`) last gave each
    /// sequence.
    current: HashMap<u32, i64>,
    /// The sequence `nextval` last advanced.
    last: Option<u32>,
}

/// How many values one durable write of a position reserves.
const BLOCK: u32 = 32;

/// The values of each sequence stored as taken but not handed out yet,
/// for all sessions of one database.
#[derive(Default)]
pub(crate) struct SequenceBlocks(Mutex<HashMap<u32, Reserved>>);

/// A sequence's last value handed out; the stored position is `left`
/// steps past it.
#[derive(Clone, Copy)]
struct Reserved {
    last: i64,
    left: u32,
}

/// The value after `last` (`called`: `last` was handed out), or `None`
/// past the limit of a sequence that does not cycle.
fn step(def: &SequenceDef, last: i64, called: bool) -> Option<i64> {
    if !called {
        return Some(last);
    }
    match last
        .checked_add(def.increment)
        .filter(|n| (def.min..=def.max).contains(n))
    {
        Some(n) => Some(n),
        None if def.cycle => Some(if def.increment > 0 { def.min } else { def.max }),
        None => None,
    }
}

fn limit_reached(def: &SequenceDef) -> SqlError {
    let (which, limit) = if def.increment > 0 {
        ("maximum", def.max)
    } else {
        ("minimum", def.min)
    };
    SqlError::Data {
        state: SqlState::SEQUENCE_LIMIT_EXCEEDED,
        message: format!(
            "nextval: reached {which} value of sequence \"{}\" ({limit})",
            def.name
        ),
    }
}

const RETRIES: usize = 1000;

impl SessionSequences {
    fn def(&self, id: u32) -> SqlResult<&SequenceDef> {
        self.catalog
            .sequences()
            .find(|s| s.id == id)
            .ok_or_else(|| SqlError::Internal(format!("sequence {id} is gone")))
    }

    /// Runs `f` over the stored (last value, is_called) in a transaction
    /// of its own, retrying on write conflicts; `f` returns the position to
    /// store and the function's result.
    fn update<T>(
        &self,
        def: &SequenceDef,
        f: &dyn Fn(i64, bool) -> SqlResult<((i64, bool), T)>,
    ) -> SqlResult<T> {
        let key = sequence_value_key(def.id);
        let mut last_err = None;
        for _ in 0..RETRIES {
            let mut txn = self.kv.begin(TxnConfig {
                isolation: Isolation::RepeatableRead,
                read_only: false,
            });
            let attempt = (|| -> SqlResult<T> {
                let (last, called) = match txn.get(&key)? {
                    Some(v) if v.len() == 9 => {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&v[..8]);
                        (i64::from_be_bytes(b), v[8] != 0)
                    }
                    Some(_) => return Err(SqlError::Internal("corrupt sequence position".into())),
                    None => (def.start, false),
                };
                let ((new_last, new_called), out) = f(last, called)?;
                let mut v = new_last.to_be_bytes().to_vec();
                v.push(u8::from(new_called));
                txn.put(&key, &v)?;
                Ok(out)
            })();
            match attempt {
                Ok(out) => {
                    txn.commit()?;
                    return Ok(out);
                }
                Err(e) if e.sqlstate() == SqlState::SERIALIZATION_FAILURE => {
                    txn.rollback();
                    last_err = Some(e);
                }
                Err(e) => {
                    txn.rollback();
                    return Err(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| SqlError::Internal("sequence retries".into())))
    }
}

impl SequenceOps for SessionSequences {
    fn nextval(&self, sequence: u32) -> SqlResult<i64> {
        let def = self.def(sequence)?.clone();
        // Held across the store write, so two sessions never reserve the
        // same values.
        let mut blocks = self.blocks.0.lock();
        let reserved = match blocks.get(&sequence).copied() {
            Some(r) if r.left > 0 => Reserved {
                last: step(&def, r.last, true).ok_or_else(|| limit_reached(&def))?,
                left: r.left - 1,
            },
            _ => {
                let (last, left) = self.update(&def, &|last, called| {
                    let first = step(&def, last, called).ok_or_else(|| limit_reached(&def))?;
                    let (mut end, mut left) = (first, 0);
                    while left + 1 < BLOCK {
                        match step(&def, end, true) {
                            Some(n) => (end, left) = (n, left + 1),
                            None => break,
                        }
                    }
                    Ok(((end, true), (first, left)))
                })?;
                Reserved { last, left }
            }
        };
        blocks.insert(sequence, reserved);
        drop(blocks);
        let mut values = self.current.lock();
        values.current.insert(sequence, reserved.last);
        values.last = Some(sequence);
        Ok(reserved.last)
    }

    fn currval(&self, sequence: u32) -> SqlResult<i64> {
        match self.current.lock().current.get(&sequence) {
            Some(v) => Ok(*v),
            None => Err(SqlError::Data {
                state: SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                message: format!(
                    "currval of sequence \"{}\" is not yet defined in this session",
                    self.def(sequence)?.name
                ),
            }),
        }
    }

    fn last_used(&self) -> Option<u32> {
        self.current.lock().last
    }

    fn setval(&self, sequence: u32, value: i64, is_called: bool) -> SqlResult<i64> {
        let def = self.def(sequence)?.clone();
        if !(def.min..=def.max).contains(&value) {
            return Err(SqlError::Data {
                state: SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                message: format!(
                    "setval: value {value} is out of bounds for sequence \"{}\" ({}..{})",
                    def.name, def.min, def.max
                ),
            });
        }
        // The reserved values go: the next nextval starts from `value`.
        let mut blocks = self.blocks.0.lock();
        self.update(&def, &|_, _| Ok(((value, is_called), ())))?;
        blocks.remove(&sequence);
        drop(blocks);
        if is_called {
            self.current.lock().current.insert(sequence, value);
        }
        Ok(value)
    }
}

/// A sequence's definition from CREATE SEQUENCE options (PostgreSQL's
/// defaults: ascending from 1 up to the type's maximum).
fn sequence_def(
    id: u32,
    name: String,
    ty: DataType,
    options: &[ast::SequenceOptions],
    owned_by: Option<u32>,
) -> SqlResult<SequenceDef> {
    let int = |e: &ast::Expr| -> SqlResult<i64> {
        let text = e.to_string().replace(' ', "");
        text.parse::<i64>()
            .map_err(|_| SqlError::Syntax(format!("invalid sequence option value {text}")))
    };
    let type_max = match ty {
        DataType::Int2 => i64::from(i16::MAX),
        DataType::Int4 => i64::from(i32::MAX),
        DataType::Int8 => i64::MAX,
        other => {
            return Err(SqlError::DatatypeMismatch(format!(
                "sequence type must be smallint, integer, or bigint, not {}",
                other.name()
            )));
        }
    };
    let (mut increment, mut min, mut max, mut start, mut cycle) = (1, None, None, None, false);
    for o in options {
        match o {
            ast::SequenceOptions::IncrementBy(e, _) => increment = int(e)?,
            ast::SequenceOptions::MinValue(e) => min = e.as_ref().map(int).transpose()?,
            ast::SequenceOptions::MaxValue(e) => max = e.as_ref().map(int).transpose()?,
            ast::SequenceOptions::StartWith(e, _) => start = Some(int(e)?),
            ast::SequenceOptions::Cache(_) => {}
            ast::SequenceOptions::Cycle(no) => cycle = !*no,
        }
    }
    if increment == 0 {
        return Err(SqlError::Data {
            state: SqlState::INVALID_PARAMETER_VALUE,
            message: "INCREMENT must not be zero".into(),
        });
    }
    let min = min.unwrap_or(if increment > 0 { 1 } else { -type_max - 1 });
    let max = max.unwrap_or(if increment > 0 { type_max } else { -1 });
    let start = start.unwrap_or(if increment > 0 { min } else { max });
    if min >= max || !(min..=max).contains(&start) {
        return Err(SqlError::Data {
            state: SqlState::INVALID_PARAMETER_VALUE,
            message: format!(
                "START value ({start}) cannot be outside MINVALUE ({min}) and MAXVALUE ({max})"
            ),
        });
    }
    Ok(SequenceDef {
        id,
        name,
        owned_by,
        start,
        increment,
        min,
        max,
        cycle,
    })
}

/// `CREATE SEQUENCE [IF NOT EXISTS] name [AS type] [options]`.
pub(crate) fn create_sequence(
    name: &ast::ObjectName,
    if_not_exists: bool,
    ty: Option<&ast::DataType>,
    options: &[ast::SequenceOptions],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    super::schema::check_create_relation(cx.catalog, cx.user, name)?;
    let name = object_name(name)?;
    if cx.catalog.relation_exists(&name) {
        if if_not_exists {
            return Ok(StatementResult::Command("CREATE SEQUENCE".into()));
        }
        return Err(SqlError::DuplicateTable(name));
    }
    let ty = ty.map(data_type).transpose()?.unwrap_or(DataType::Int8);
    let mut w = CatalogWriter::new(cx.txn);
    let def = sequence_def(w.allocate_id()?, name, ty, options, None)?;
    w.put_sequence(&def)?;
    w.put_acl(def.id, &Acl::table_of(cx.user))?;
    Ok(StatementResult::Command("CREATE SEQUENCE".into()))
}

/// `DROP SEQUENCE [IF EXISTS] name, ...`.
pub(crate) fn drop_sequence(
    names: &[ast::ObjectName],
    if_exists: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    for n in names {
        let name = object_name(n)?;
        match cx.catalog.sequence(&name) {
            Some(s) => {
                if !owns(cx.catalog, cx.user, s.id) {
                    return Err(not_owner("sequence", &name));
                }
                CatalogWriter::new(cx.txn).drop_sequence(s)?;
            }
            None if if_exists => {}
            None => {
                return Err(SqlError::Semantic {
                    state: SqlState::UNDEFINED_TABLE,
                    message: format!("sequence \"{name}\" does not exist"),
                });
            }
        }
    }
    Ok(StatementResult::Command("DROP SEQUENCE".into()))
}

/// The integer type of a `smallserial` / `serial` / `bigserial` column
/// type, `None` for any other type.
pub(crate) fn serial_type(t: &ast::DataType) -> Option<DataType> {
    match t.to_string().to_lowercase().as_str() {
        "smallserial" | "serial2" => Some(DataType::Int2),
        "serial" | "serial4" => Some(DataType::Int4),
        "bigserial" | "serial8" => Some(DataType::Int8),
        _ => None,
    }
}

/// Creates the sequence behind serial column `column` of `table` (named
/// `table_column_seq` as in PostgreSQL) and returns the column's DEFAULT.
pub(crate) fn create_serial(
    table: &TableDef,
    column: &str,
    ty: DataType,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<String> {
    let mut name = format!("{}_{column}_seq", table.name);
    let mut n = 0;
    while cx.catalog.relation_exists(&name) {
        n += 1;
        name = format!("{}_{column}_seq{n}", table.name);
    }
    let mut w = CatalogWriter::new(cx.txn);
    let def = sequence_def(w.allocate_id()?, name.clone(), ty, &[], Some(table.id))?;
    w.put_sequence(&def)?;
    // The table being created is the current user's; so is its sequence.
    w.put_acl(def.id, &Acl::table_of(cx.user))?;
    Ok(format!("nextval('{name}')"))
}

/// Drops the sequences a table owns through its serial columns.
pub(crate) fn drop_owned(table: &TableDef, cx: &mut ExecCtx<'_>) -> SqlResult<()> {
    let owned: Vec<SequenceDef> = cx
        .catalog
        .sequences()
        .filter(|s| s.owned_by == Some(table.id))
        .cloned()
        .collect();
    for s in &owned {
        CatalogWriter::new(cx.txn).drop_sequence(s)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::catalog::memkv::MemKv;
    use crate::sql::Database;
    use crate::sql::tests::{error, query};

    fn nextval(s: &mut crate::sql::Session) -> i64 {
        let v = query(s, "SELECT nextval('s')");
        v[0].parse().unwrap_or_else(|e| panic!("{v:?}: {e}"))
    }

    #[test]
    fn sessions_share_the_reserved_values_without_repeating_one() {
        let db = Database::with_store(Arc::new(MemKv::default()));
        let (mut a, mut b) = (db.session(), db.session());
        query(&mut a, "CREATE SEQUENCE s; SELECT 1");
        let taken: Vec<i64> = (0..40)
            .map(|i| {
                if i % 3 == 0 {
                    nextval(&mut b)
                } else {
                    nextval(&mut a)
                }
            })
            .collect();
        assert_eq!(taken, (1..=40).collect::<Vec<_>>());
    }

    #[test]
    fn a_restart_skips_the_reserved_values_and_never_repeats() {
        let kv = Arc::new(MemKv::default());
        let mut s = Database::with_store(kv.clone()).session();
        query(&mut s, "CREATE SEQUENCE s; SELECT 1");
        assert_eq!([nextval(&mut s), nextval(&mut s)], [1, 2]);
        // A new database over the same store has none of the reserved
        // values in memory: it continues after the block PostgreSQL-style.
        let mut after = Database::with_store(kv).session();
        assert_eq!(nextval(&mut after), 33);
    }

    #[test]
    fn setval_drops_the_reserved_values_for_every_session() {
        let db = Database::with_store(Arc::new(MemKv::default()));
        let (mut a, mut b) = (db.session(), db.session());
        query(&mut a, "CREATE SEQUENCE s; SELECT 1");
        assert_eq!(nextval(&mut a), 1);
        query(&mut b, "SELECT setval('s', 100)");
        assert_eq!([nextval(&mut a), nextval(&mut b)], [101, 102]);
        query(&mut b, "SELECT setval('s', 7, false)");
        assert_eq!(nextval(&mut a), 7);
    }

    #[test]
    fn lastval_is_the_sessions_last_nextval_of_any_sequence() {
        let db = Database::with_store(Arc::new(MemKv::default()));
        let mut s = db.session();
        let undefined = "55000 lastval is not yet defined in this session";
        s.execute("CREATE SEQUENCE s; CREATE SEQUENCE other START 50")
            .unwrap();
        assert_eq!(error(&mut s, "SELECT lastval()"), undefined);
        assert_eq!(nextval(&mut s), 1);
        assert_eq!(
            query(&mut s, "SELECT nextval('other'), lastval()"),
            ["50 50"]
        );
        // setval moves currval, not which sequence lastval follows.
        query(&mut s, "SELECT setval('s', 9)");
        assert_eq!(query(&mut s, "SELECT lastval()"), ["50"]);
        assert_eq!(error(&mut db.session(), "SELECT lastval()"), undefined);
        s.execute("DROP SEQUENCE other").unwrap();
        assert_eq!(error(&mut s, "SELECT lastval()"), undefined);
    }

    #[test]
    fn a_block_stops_at_the_limit_and_cycles_past_it() {
        let db = Database::with_store(Arc::new(MemKv::default()));
        let mut s = db.session();
        query(
            &mut s,
            "CREATE SEQUENCE s MINVALUE 1 MAXVALUE 3 CYCLE; SELECT 1",
        );
        let taken: Vec<i64> = (0..7).map(|_| nextval(&mut s)).collect();
        assert_eq!(taken, [1, 2, 3, 1, 2, 3, 1]);
        query(
            &mut s,
            "DROP SEQUENCE s; CREATE SEQUENCE s MAXVALUE 2; SELECT 1",
        );
        assert_eq!([nextval(&mut s), nextval(&mut s)], [1, 2]);
        let e = s.execute("SELECT nextval('s')").unwrap_err();
        assert_eq!(e.sqlstate().code(), "2200H");
    }
}
