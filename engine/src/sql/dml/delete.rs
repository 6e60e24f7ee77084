//! DELETE [USING] [RETURNING].

use std::collections::HashSet;
use std::sync::Arc;

use sqlparser::ast;

use super::delete_row;
use super::recheck::lock_target;
use super::returning::{Returning, result};
use super::target::{TargetRows, alias_of, bind_target_rows, table_named};
use crate::catalog::TableDef;
use crate::extension::TriggerOperation;
use crate::sql::binder::Binder;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::{ExecCtx, collect};
use crate::sql::expr::Expr;
use crate::sql::hooks::Firing;
use crate::sql::plan::Plan;
use crate::sql::session::StatementResult;
use crate::types::Value;

/// A bound DELETE: the plan of the rows to remove.
#[derive(Clone)]
pub(crate) struct BoundDelete {
    pub(crate) table: Arc<TableDef>,
    pub(crate) rows: Plan,
    /// WHERE over a found row, for READ COMMITTED's second look.
    recheck: Option<Expr>,
    returning: Option<Returning>,
}

impl BoundDelete {
    /// The columns of its RETURNING list (none without one).
    pub(crate) fn returning_columns(&self) -> Vec<crate::sql::session::ColumnDesc> {
        self.returning
            .as_ref()
            .map_or_else(Vec::new, Returning::columns)
    }
}

/// Binds a DELETE statement.
pub(crate) fn bind_delete(b: &mut Binder<'_>, del: &ast::Delete) -> SqlResult<BoundDelete> {
    let from = match &del.from {
        ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
    };
    let [target] = from.as_slice() else {
        return Err(SqlError::unsupported("DELETE from several tables"));
    };
    let ast::TableFactor::Table { name, alias, .. } = &target.relation else {
        return Err(SqlError::unsupported("DELETE from this source"));
    };
    let table = table_named(b.catalog, name)?;
    let alias = alias_of(alias.as_ref(), &table);
    let using = del.using.as_deref().unwrap_or(&[]);
    let TargetRows {
        plan: rows,
        recheck,
    } = bind_target_rows(b, &table, &alias, using, del.selection.as_ref())?;
    let scope = rows.columns();
    let returning = del
        .returning
        .as_deref()
        .map(|items| Returning::bind(b, items, &scope, &[table.columns.len()]))
        .transpose()?;
    Ok(BoundDelete {
        table,
        rows,
        recheck,
        returning,
    })
}

/// Runs a bound DELETE; a row that several USING rows match goes once.
/// A row a BEFORE trigger skips stays, and is not counted.
pub(crate) fn run_delete(
    d: BoundDelete,
    cx: &mut ExecCtx<'_>,
    fire: &mut Firing<'_, '_>,
) -> SqlResult<StatementResult> {
    let BoundDelete {
        table,
        rows,
        recheck,
        mut returning,
    } = d;
    let width = table.columns.len();
    let mut fire = fire.open(cx, &table, &[TriggerOperation::Delete], &[])?;
    fire.before_statement(cx)?;
    let found = collect(&rows, cx)?;
    let mut done: HashSet<Vec<u8>> = HashSet::new();
    let mut count = 0u64;
    for row in &found {
        let Some(Value::Bytea(key)) = row.get(width) else {
            return Err(SqlError::Internal("row without its key".into()));
        };
        if !done.insert(key.clone()) {
            continue;
        }
        let Some(row) = lock_target(&table, key, row, recheck.as_ref(), cx)? else {
            continue;
        };
        let old = &row[..width];
        if !fire.before_delete(cx, old)? {
            continue;
        }
        delete_row(&table, key, old, cx)?;
        count += 1;
        fire.after_row(cx, TriggerOperation::Delete, Some(old), None)?;
        if let Some(r) = returning.as_mut() {
            r.push(&row, cx)?;
        }
    }
    fire.after_statement(cx)?;
    Ok(result(returning, format!("DELETE {count}")))
}
