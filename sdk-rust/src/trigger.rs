//! Trigger functions: what `#[rustydb::trigger]` functions receive and
//! return.

use crate::bindings::exports::rustydb::extension::trigger as wit;
use crate::value::{Column, SqlError, Value};

pub use wit::{Level, Operation, Timing};

/// What PL/pgSQL exposes as `TG_*`, `OLD` and `NEW`.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// `TG_NAME`
    pub name: String,
    /// `TG_WHEN`
    pub timing: Timing,
    /// `TG_OP`
    pub op: Operation,
    /// `TG_LEVEL`
    pub level: Level,
    /// `TG_TABLE_SCHEMA`
    pub table_schema: String,
    /// `TG_TABLE_NAME`
    pub table_name: String,
    /// The table's columns: the shape of `old` and `new`.
    pub columns: Vec<Column>,
    /// `OLD`: the row before an UPDATE or DELETE (row triggers only).
    pub old: Option<Vec<Value>>,
    /// `NEW`: the row an INSERT or UPDATE writes (row triggers only).
    pub new: Option<Vec<Value>>,
    /// `TG_ARGV`: the literals of `EXECUTE FUNCTION f('a', 'b')`.
    pub args: Vec<String>,
}

/// What a trigger function tells the statement. Only BEFORE row triggers
/// can change or skip a row; for the others only errors count.
#[derive(Debug, Clone)]
pub enum TriggerAction {
    /// Go on with the row as it is (`RETURN NEW`).
    Keep,
    /// Go on with this row instead, one value per column.
    Modify(Vec<Value>),
    /// Leave the row alone (`RETURN NULL`).
    Skip,
}

impl Trigger {
    /// The position of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// `NEW.name`
    pub fn new_value(&self, name: &str) -> Option<&Value> {
        let i = self.column(name)?;
        self.new.as_ref()?.get(i)
    }

    /// `OLD.name`
    pub fn old_value(&self, name: &str) -> Option<&Value> {
        let i = self.column(name)?;
        self.old.as_ref()?.get(i)
    }

    /// `TG_OP` as PL/pgSQL spells it: `INSERT`, `UPDATE`, `DELETE`,
    /// `TRUNCATE`.
    pub fn op_name(&self) -> &'static str {
        self.op.name()
    }

    /// `NEW` with column `name` set to `value`, for [`TriggerAction::Modify`].
    ///
    /// # Errors
    /// 42703 when the table has no such column, 55000 without a NEW row.
    pub fn new_with(&self, name: &str, value: Value) -> Result<Vec<Value>, SqlError> {
        let i = self.column(name).ok_or_else(|| {
            SqlError::new("42703", format!("record \"new\" has no field \"{name}\""))
        })?;
        let mut row = self
            .new
            .clone()
            .ok_or_else(|| SqlError::new("55000", "record \"new\" is not assigned yet"))?;
        if let Some(slot) = row.get_mut(i) {
            *slot = value;
        }
        Ok(row)
    }
}

impl From<wit::TriggerData> for Trigger {
    fn from(d: wit::TriggerData) -> Trigger {
        Trigger {
            name: d.name,
            timing: d.timing,
            op: d.operation,
            level: d.level,
            table_schema: d.table_schema,
            table_name: d.table_name,
            columns: d.columns,
            old: d.old,
            new: d.new,
            args: d.args,
        }
    }
}

impl From<TriggerAction> for wit::TriggerResult {
    fn from(a: TriggerAction) -> wit::TriggerResult {
        match a {
            TriggerAction::Keep => wit::TriggerResult::Keep,
            TriggerAction::Modify(row) => wit::TriggerResult::Modified(row),
            TriggerAction::Skip => wit::TriggerResult::Skip,
        }
    }
}

/// What a trigger function body may return.
pub trait TriggerReturn {
    /// The action for the host.
    fn into_action(self) -> Result<TriggerAction, SqlError>;
}

impl TriggerReturn for TriggerAction {
    fn into_action(self) -> Result<TriggerAction, SqlError> {
        Ok(self)
    }
}

impl TriggerReturn for () {
    fn into_action(self) -> Result<TriggerAction, SqlError> {
        Ok(TriggerAction::Keep)
    }
}

impl<T: TriggerReturn> TriggerReturn for Result<T, SqlError> {
    fn into_action(self) -> Result<TriggerAction, SqlError> {
        self.and_then(TriggerReturn::into_action)
    }
}

impl Operation {
    /// `TG_OP` as PL/pgSQL spells it: `INSERT`, `UPDATE`, `DELETE`,
    /// `TRUNCATE`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Insert => "INSERT",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Truncate => "TRUNCATE",
        }
    }
}
