//! UPDATE [FROM] [RETURNING].

use std::collections::HashSet;
use std::sync::Arc;

use sqlparser::ast;

use super::recheck::lock_target;
use super::returning::{Returning, result};
use super::target::{TargetRows, alias_of, bind_checks, bind_target_rows, table_named};
use super::{check_row, update_row};
use crate::catalog::TableDef;
use crate::extension::TriggerOperation;
use crate::sql::binder::{Binder, object_name};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::{ExecCtx, collect};
use crate::sql::expr::{Expr, eval};
use crate::sql::hooks::Firing;
use crate::sql::plan::Plan;
use crate::sql::session::StatementResult;
use crate::types::Value;

/// A bound UPDATE: the plan of the rows to change and what to set.
#[derive(Clone)]
pub(crate) struct BoundUpdate {
    pub(crate) table: Arc<TableDef>,
    pub(crate) rows: Plan,
    /// WHERE over a found row, for READ COMMITTED's second look.
    recheck: Option<Expr>,
    sets: Vec<(usize, Expr)>,
    returning: Option<Returning>,
}

impl BoundUpdate {
    /// The columns of its RETURNING list (none without one).
    pub(crate) fn returning_columns(&self) -> Vec<crate::sql::session::ColumnDesc> {
        self.returning
            .as_ref()
            .map_or_else(Vec::new, Returning::columns)
    }
}

/// Binds an UPDATE statement.
pub(crate) fn bind_update(
    b: &mut Binder<'_>,
    target: &ast::TableWithJoins,
    assignments: &[ast::Assignment],
    from: Option<&ast::UpdateTableFromKind>,
    selection: Option<&ast::Expr>,
    returning: Option<&[ast::SelectItem]>,
) -> SqlResult<BoundUpdate> {
    let ast::TableFactor::Table { name, alias, .. } = &target.relation else {
        return Err(SqlError::unsupported("UPDATE of this target"));
    };
    let table = table_named(b.catalog, name)?;
    let alias = alias_of(alias.as_ref(), &table);
    let from = match from {
        None => &[][..],
        Some(ast::UpdateTableFromKind::AfterSet(f) | ast::UpdateTableFromKind::BeforeSet(f)) => f,
    };
    let TargetRows {
        plan: rows,
        recheck,
    } = bind_target_rows(b, &table, &alias, from, selection)?;
    let sets = bind_assignments(b, &table, assignments)?;
    let scope = rows.columns();
    let returning = returning
        .map(|items| Returning::bind(b, items, &scope, &[table.columns.len()]))
        .transpose()?;
    Ok(BoundUpdate {
        table,
        rows,
        recheck,
        sets,
        returning,
    })
}

/// Whether an assigned value is the keyword `DEFAULT` (which sqlparser
/// reads as a bare identifier).
fn is_default_keyword(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
}

/// Binds `SET col = expr, (a, b) = (x, y)` in the binder's current scope,
/// each value coerced to its column's type.
pub(crate) fn bind_assignments(
    b: &mut Binder<'_>,
    table: &TableDef,
    assignments: &[ast::Assignment],
) -> SqlResult<Vec<(usize, Expr)>> {
    let column = |n: &ast::ObjectName| -> SqlResult<usize> {
        let cname = object_name(n)?;
        table.column_index(&cname).ok_or_else(|| {
            SqlError::UndefinedColumn(format!(
                "column \"{cname}\" of relation \"{}\" does not exist",
                table.name
            ))
        })
    };
    let mut sets: Vec<(usize, Expr)> = Vec::new();
    let mut set = |b: &mut Binder<'_>, i: usize, value: &ast::Expr| -> SqlResult<()> {
        if sets.iter().any(|(j, _)| *j == i) {
            return Err(SqlError::Syntax(format!(
                "multiple assignments to same column \"{}\"",
                table.columns[i].name
            )));
        }
        let column = &table.columns[i];
        let e = match (is_default_keyword(value), &column.default) {
            // `SET col = DEFAULT`: the column's default, bound on its own
            // (it cannot see the row), or NULL without one.
            (true, Some(text)) => {
                let mut own = Binder::new(b.catalog, &[]);
                let e = own.bind_expr(&super::target::parse_expr(text)?)?;
                own.coerce(e, column.ty)?
            }
            (true, None) => Expr::Literal(crate::types::Value::Null, column.ty),
            (false, _) => {
                let e = b.bind_expr(value)?;
                b.coerce(e, column.ty)?
            }
        };
        sets.push((i, e));
        Ok(())
    };
    for a in assignments {
        match &a.target {
            ast::AssignmentTarget::ColumnName(col) => set(b, column(col)?, &a.value)?,
            ast::AssignmentTarget::Tuple(cols) => {
                let values = match &a.value {
                    ast::Expr::Tuple(v) => v.as_slice(),
                    ast::Expr::Nested(v) => std::slice::from_ref(v.as_ref()),
                    _ => {
                        return Err(SqlError::unsupported(
                            "assigning a subquery to a column list is not supported",
                        ));
                    }
                };
                if values.len() != cols.len() {
                    return Err(SqlError::Syntax(format!(
                        "number of columns does not match number of values ({} vs {})",
                        cols.len(),
                        values.len()
                    )));
                }
                for (c, v) in cols.iter().zip(values) {
                    set(b, column(c)?, v)?;
                }
            }
        }
    }
    Ok(sets)
}

/// The new version of `old` under `sets` evaluated over `row` (the
/// statement's whole row: target columns first).
pub(crate) fn apply_sets(
    table: &TableDef,
    old: &[Value],
    row: &[Value],
    sets: &[(usize, Expr)],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Vec<Value>> {
    let mut new = old.to_vec();
    for (i, e) in sets {
        let v = eval(e, row, cx)?;
        new[*i] = if v.is_null() {
            v
        } else {
            v.assign(&table.columns[*i].ty)?
        };
    }
    Ok(new)
}

/// Runs a bound UPDATE. The rows to change are all found before the first
/// is written, so the statement never sees its own changes; a row that
/// several FROM rows match is updated once, as PostgreSQL does. BEFORE
/// row triggers see the new row before the constraints do.
pub(crate) fn run_update(
    u: BoundUpdate,
    cx: &mut ExecCtx<'_>,
    fire: &mut Firing<'_, '_>,
) -> SqlResult<StatementResult> {
    let BoundUpdate {
        table,
        rows,
        recheck,
        sets,
        mut returning,
    } = u;
    let width = table.columns.len();
    let checks = bind_checks(&table, cx)?;
    let assigned: Vec<usize> = sets.iter().map(|(i, _)| *i).collect();
    let mut fire = fire.open(cx, &table, &[TriggerOperation::Update], &assigned)?;
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
        let new = apply_sets(&table, old, &row, &sets, cx)?;
        let Some(new) = fire.before_row(cx, TriggerOperation::Update, Some(old), new)? else {
            continue;
        };
        check_row(&table, &new, &checks, cx)?;
        update_row(&table, key, old, &new, cx)?;
        count += 1;
        fire.after_row(cx, TriggerOperation::Update, Some(old), Some(&new))?;
        if let Some(r) = returning.as_mut() {
            let mut out = new;
            out.extend_from_slice(&row[width..]);
            r.push(&out, cx)?;
        }
    }
    fire.after_statement(cx)?;
    Ok(result(returning, format!("UPDATE {count}")))
}
