//! Sequences: CREATE / DROP SEQUENCE, `serial` columns, and `nextval`,
//! `currval`, `setval`.
//!
//! A sequence's definition is a catalog record (transactional like any
//! DDL); its position is not. As in PostgreSQL, a value handed out is
//! never handed out again, even when the transaction that took it rolls
//! back: `nextval` and `setval` write the position in a short transaction
//! of their own, at REPEATABLE READ so two sessions racing for the next
//! value conflict (40001) and the loser retries instead of both taking it.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use sqlparser::ast;

use super::binder::{data_type, object_name};
use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::session::StatementResult;
use crate::SqlState;
use crate::catalog::{
    Catalog, CatalogWriter, Isolation, KvStore, SequenceDef, TableDef, TxnConfig,
    sequence_value_key,
};
use crate::types::DataType;

/// What expressions can do to sequences.
pub trait SequenceOps {
    /// Advances the sequence and returns the new value.
    fn nextval(&self, sequence: u32) -> SqlResult<i64>;
    /// The value `nextval` last returned in this session.
    fn currval(&self, sequence: u32) -> SqlResult<i64>;
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
    fn setval(&self, _: u32, _: i64, _: bool) -> SqlResult<i64> {
        Err(SqlError::unsupported("setval is not available here"))
    }
}

/// The sequences as one session sees them.
pub(crate) struct SessionSequences {
    pub(crate) kv: Arc<dyn KvStore>,
    pub(crate) catalog: Arc<Catalog>,
    /// The session's `currval` of each sequence it used.
    pub(crate) current: Arc<Mutex<HashMap<u32, i64>>>,
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
    fn update(
        &self,
        def: &SequenceDef,
        f: &dyn Fn(i64, bool) -> SqlResult<((i64, bool), i64)>,
    ) -> SqlResult<i64> {
        let key = sequence_value_key(def.id);
        let mut last_err = None;
        for _ in 0..RETRIES {
            let mut txn = self.kv.begin(TxnConfig {
                isolation: Isolation::RepeatableRead,
                read_only: false,
            });
            let attempt = (|| -> SqlResult<i64> {
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
        let v = self.update(&def, &|last, called| {
            if !called {
                return Ok(((last, true), last));
            }
            let next = last
                .checked_add(def.increment)
                .filter(|n| (def.min..=def.max).contains(n));
            let next = match next {
                Some(n) => n,
                None if def.cycle => {
                    if def.increment > 0 {
                        def.min
                    } else {
                        def.max
                    }
                }
                None => {
                    let (which, limit) = if def.increment > 0 {
                        ("maximum", def.max)
                    } else {
                        ("minimum", def.min)
                    };
                    return Err(SqlError::Data {
                        state: SqlState::SEQUENCE_LIMIT_EXCEEDED,
                        message: format!(
                            "nextval: reached {which} value of sequence \"{}\" ({limit})",
                            def.name
                        ),
                    });
                }
            };
            Ok(((next, true), next))
        })?;
        self.current.lock().insert(sequence, v);
        Ok(v)
    }

    fn currval(&self, sequence: u32) -> SqlResult<i64> {
        match self.current.lock().get(&sequence) {
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
        self.update(&def, &|_, _| Ok(((value, is_called), value)))?;
        if is_called {
            self.current.lock().insert(sequence, value);
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
            Some(s) => CatalogWriter::new(cx.txn).drop_sequence(s)?,
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
