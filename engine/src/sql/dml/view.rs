//! INSERT, UPDATE and DELETE on a view.
//!
//! A view stores no rows and RustyDB's views are not automatically
//! updatable, so a write on one is what its `INSTEAD OF … FOR EACH ROW`
//! triggers do with each row, as in PostgreSQL: the statement is bound
//! against the view as a table of its output columns (no defaults, no
//! constraints), the rows to change are the view's rows that WHERE keeps,
//! and per row the INSTEAD OF triggers run in place of the write. A row
//! a trigger skips (returns NULL) is neither counted nor returned; for
//! INSERT and UPDATE, RETURNING shows the row the trigger returned. BEFORE
//! and AFTER statement triggers on the view fire around the statement.
//! Without an INSTEAD OF trigger for the operation the statement fails
//! with 55000, as PostgreSQL's does on a view it cannot update itself.

use std::sync::Arc;

use sqlparser::ast;

use super::insert::bind_source;
use super::returning::{Returning, result};
use super::target::{filtered, table_scope};
use super::update::{apply_sets, bind_assignments};
use crate::SqlState;
use crate::catalog::{Catalog, TableDef};
use crate::extension::TriggerOperation;
use crate::sql::binder::{Binder, bind_from, object_name};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::{ExecCtx, collect};
use crate::sql::expr::Expr;
use crate::sql::hooks::Firing;
use crate::sql::plan::Plan;
use crate::sql::session::StatementResult;
use crate::types::Value;

/// What the statement does to each row of the view.
#[derive(Clone)]
enum Change {
    /// INSERT: the proposed rows and the view columns they fill.
    Insert { source: Plan, targets: Vec<usize> },
    /// UPDATE: the view's rows (‖ FROM items' columns) and the SET list.
    Update {
        rows: Plan,
        sets: Vec<(usize, Expr)>,
    },
    /// DELETE: the view's rows (‖ USING items' columns).
    Delete { rows: Plan },
}

/// A bound INSERT, UPDATE or DELETE on a view.
#[derive(Clone)]
pub(crate) struct BoundViewDml {
    /// The view as a table of its columns.
    pub(crate) table: Arc<TableDef>,
    change: Change,
    returning: Option<Returning>,
}

impl BoundViewDml {
    /// The columns of its RETURNING list (none without one).
    pub(crate) fn returning_columns(&self) -> Vec<crate::sql::session::ColumnDesc> {
        self.returning
            .as_ref()
            .map_or_else(Vec::new, Returning::columns)
    }

    /// EXPLAIN's title and plan: the rows the triggers get.
    pub(crate) fn explained(self) -> (String, Plan) {
        let name = &self.table.name;
        match self.change {
            Change::Insert { source, .. } => (format!("Insert on {name}"), source),
            Change::Update { rows, .. } => (format!("Update on {name}"), rows),
            Change::Delete { rows } => (format!("Delete on {name}"), rows),
        }
    }

    fn operation(&self) -> TriggerOperation {
        match self.change {
            Change::Insert { .. } => TriggerOperation::Insert,
            Change::Update { .. } => TriggerOperation::Update,
            Change::Delete { .. } => TriggerOperation::Delete,
        }
    }
}

/// The view a DML statement writes to, if its target is one.
fn target_view(catalog: &Catalog, stmt: &ast::Statement) -> SqlResult<Option<Arc<TableDef>>> {
    let name = match stmt {
        ast::Statement::Insert(ins) => match &ins.table {
            ast::TableObject::TableName(n) => n,
            ast::TableObject::TableFunction(_) => return Ok(None),
        },
        ast::Statement::Update { table, .. } => match &table.relation {
            ast::TableFactor::Table { name, .. } => name,
            _ => return Ok(None),
        },
        ast::Statement::Delete(del) => {
            let from = match &del.from {
                ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
            };
            match from.as_slice() {
                [
                    ast::TableWithJoins {
                        relation: ast::TableFactor::Table { name, .. },
                        ..
                    },
                ] => name,
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    match catalog.view(&object_name(name)?) {
        Some(v) => crate::sql::ddl::view::view_table(catalog, v).map(Some),
        None => Ok(None),
    }
}

/// Binds `stmt` if it writes to a view; `None` when its target is not one.
pub(crate) fn bind(b: &mut Binder<'_>, stmt: &ast::Statement) -> SqlResult<Option<BoundViewDml>> {
    let Some(table) = target_view(b.catalog, stmt)? else {
        return Ok(None);
    };
    let (change, returning) = match stmt {
        ast::Statement::Insert(ins) => {
            if ins.on.is_some() {
                return Err(SqlError::unsupported(format!(
                    "ON CONFLICT is not supported on view \"{}\"",
                    table.name
                )));
            }
            let (targets, source) = bind_source(b, ins, &table)?;
            let alias = ins
                .table_alias
                .as_ref()
                .map_or_else(|| table.name.clone(), crate::sql::binder::ident);
            let scope = table_scope(&table, &alias);
            let returning = ins
                .returning
                .as_deref()
                .map(|items| Returning::bind(b, items, &scope, &[]))
                .transpose()?;
            (Change::Insert { source, targets }, returning)
        }
        ast::Statement::Update {
            table: target,
            assignments,
            from,
            selection,
            returning,
            ..
        } => {
            let from = match from {
                None => &[][..],
                Some(
                    ast::UpdateTableFromKind::AfterSet(f) | ast::UpdateTableFromKind::BeforeSet(f),
                ) => f,
            };
            let rows = view_rows(b, &target.relation, from, selection.as_ref())?;
            let sets = bind_assignments(b, &table, assignments)?;
            let scope = rows.columns();
            let returning = returning
                .as_deref()
                .map(|items| Returning::bind(b, items, &scope, &[]))
                .transpose()?;
            (Change::Update { rows, sets }, returning)
        }
        ast::Statement::Delete(del) => {
            let from = match &del.from {
                ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
            };
            let [target] = from.as_slice() else {
                return Err(SqlError::unsupported("DELETE from several tables"));
            };
            let using = del.using.as_deref().unwrap_or(&[]);
            let rows = view_rows(b, &target.relation, using, del.selection.as_ref())?;
            let scope = rows.columns();
            let returning = del
                .returning
                .as_deref()
                .map(|items| Returning::bind(b, items, &scope, &[]))
                .transpose()?;
            (Change::Delete { rows }, returning)
        }
        _ => return Ok(None),
    };
    Ok(Some(BoundViewDml {
        table,
        change,
        returning,
    }))
}

/// The rows UPDATE or DELETE hands to the triggers: the view read as a
/// FROM item (under its alias), with the FROM / USING items, filtered by
/// WHERE; `b` is left with that row as its scope.
fn view_rows(
    b: &mut Binder<'_>,
    target: &ast::TableFactor,
    from: &[ast::TableWithJoins],
    selection: Option<&ast::Expr>,
) -> SqlResult<Plan> {
    let mut items = vec![ast::TableWithJoins {
        relation: target.clone(),
        joins: Vec::new(),
    }];
    items.extend(from.iter().cloned());
    let plan = bind_from(b, &items)?;
    // INSTEAD OF triggers change what they like: there is no row of the
    // view to lock or look at again.
    Ok(filtered(b, plan, selection)?.0)
}

/// PostgreSQL's error for a write no INSTEAD OF trigger takes.
fn not_writable(op: TriggerOperation, view: &str) -> SqlError {
    let (verb, noun) = match op {
        TriggerOperation::Insert => ("insert into", "INSERT"),
        TriggerOperation::Update => ("update", "UPDATE"),
        _ => ("delete from", "DELETE"),
    };
    SqlError::Routine {
        state: SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
        message: format!("cannot {verb} view \"{view}\""),
        detail: Some(format!(
            "Views are not automatically updatable; an INSTEAD OF {noun} trigger makes this one take the change."
        )),
    }
}

/// Runs a bound INSERT, UPDATE or DELETE on a view. The rows are all read
/// before the first trigger runs, so the statement never sees what the
/// triggers write.
pub(crate) fn run(
    d: BoundViewDml,
    cx: &mut ExecCtx<'_>,
    fire: &mut Firing<'_, '_>,
) -> SqlResult<StatementResult> {
    let op = d.operation();
    let BoundViewDml {
        table,
        change,
        mut returning,
    } = d;
    let assigned: Vec<usize> = match &change {
        Change::Update { sets, .. } => sets.iter().map(|(i, _)| *i).collect(),
        _ => Vec::new(),
    };
    let mut fire = fire.open(cx, &table, &[op], &assigned)?;
    if !fire.has_instead_of(op) {
        return Err(not_writable(op, &table.name));
    }
    let width = table.columns.len();
    fire.before_statement(cx)?;
    let mut count = 0u64;
    match change {
        Change::Insert { source, targets } => {
            let given = source.columns().len();
            for src in collect(&source, cx)? {
                let mut row = vec![Value::Null; width];
                for (p, t) in targets.iter().enumerate().take(given) {
                    let v = src.get(p).cloned().unwrap_or(Value::Null);
                    row[*t] = if v.is_null() {
                        v
                    } else {
                        v.assign(&table.columns[*t].ty)?
                    };
                }
                let Some(written) = fire.instead_of_row(cx, op, None, Some(row))? else {
                    continue;
                };
                count += 1;
                if let Some(r) = returning.as_mut() {
                    r.push(&written, cx)?;
                }
            }
        }
        Change::Update { rows, sets } => {
            for row in collect(&rows, cx)? {
                let old = &row[..width];
                let new = apply_sets(&table, old, &row, &sets, cx)?;
                let Some(mut written) = fire.instead_of_row(cx, op, Some(old), Some(new))? else {
                    continue;
                };
                count += 1;
                if let Some(r) = returning.as_mut() {
                    written.extend_from_slice(&row[width..]);
                    r.push(&written, cx)?;
                }
            }
        }
        Change::Delete { rows } => {
            for row in collect(&rows, cx)? {
                if fire
                    .instead_of_row(cx, op, Some(&row[..width]), None)?
                    .is_none()
                {
                    continue;
                }
                count += 1;
                if let Some(r) = returning.as_mut() {
                    r.push(&row, cx)?;
                }
            }
        }
    }
    fire.after_statement(cx)?;
    let tag = match op {
        TriggerOperation::Insert => format!("INSERT 0 {count}"),
        TriggerOperation::Update => format!("UPDATE {count}"),
        _ => format!("DELETE {count}"),
    };
    Ok(result(returning, tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_no_trigger_takes_fail_as_in_postgres() {
        let e = not_writable(TriggerOperation::Update, "v");
        assert_eq!(e.to_string(), "cannot update view \"v\"");
        assert_eq!(e.sqlstate().code(), "55000");
    }
}
