//! `ALTER TABLE … ADD CONSTRAINT` (CHECK, UNIQUE) and `DROP CONSTRAINT`.
//!
//! A constraint added to a table with rows is checked against all of
//! them first, as PostgreSQL does: a CHECK some row violates fails with
//! 23514, a UNIQUE over duplicate values with 23505, and nothing changes.
//! A UNIQUE constraint is a unique index marked as backing a constraint;
//! its entries are built in the statement's transaction.

use crate::catalog::{CatalogWriter, CheckDef, IndexDef, TableDef, index_prefix};
use crate::types::Value;

use super::super::dml::insert_index_entries;
use super::super::dml::target::bind_checks;
use super::super::error::{SqlError, SqlResult};
use super::super::exec::ExecCtx;
use super::super::expr::eval;
use super::all_rows;

/// `ADD [CONSTRAINT name] CHECK (expr)`.
pub(super) fn add_check(
    mut table: TableDef,
    name: Option<String>,
    expr: String,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<TableDef> {
    let first = table.columns.first().map_or("", |c| c.name.as_str());
    let name = name.unwrap_or_else(|| format!("{}_{first}_check", table.name));
    if table.checks.iter().any(|c| c.name == name) {
        return Err(duplicate(&name, &table.name));
    }
    let check = CheckDef {
        name: name.clone(),
        expr,
    };
    // Bound alone so only the new constraint is evaluated per row.
    let mut only = table.clone();
    only.checks = vec![check.clone()];
    let bound = bind_checks(&only, cx)?;
    for (n, (_, row)) in all_rows(&table, cx)?.iter().enumerate() {
        if n % 1024 == 0 {
            cx.check_cancel()?;
        }
        for (_, e) in &bound {
            if matches!(eval(e, row, cx)?, Value::Bool(false)) {
                return Err(SqlError::Semantic {
                    state: crate::SqlState::CHECK_VIOLATION,
                    message: format!(
                        "check constraint \"{name}\" of relation \"{}\" is violated by some row",
                        table.name
                    ),
                });
            }
        }
    }
    table.checks.push(check);
    CatalogWriter::new(cx.txn).put_table(&table)?;
    Ok(table)
}

/// `ADD [CONSTRAINT name] UNIQUE (cols)`.
pub(super) fn add_unique(
    mut table: TableDef,
    name: Option<String>,
    columns: &[String],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<TableDef> {
    let mut positions = Vec::with_capacity(columns.len());
    for c in columns {
        positions.push(table.column_index(c).ok_or_else(|| {
            SqlError::UndefinedColumn(format!("column \"{c}\" named in key does not exist"))
        })?);
    }
    let name = name.unwrap_or_else(|| format!("{}_{}_key", table.name, columns.join("_")));
    if cx.catalog.relation_exists(&name) || table.indexes.iter().any(|i| i.name == name) {
        return Err(SqlError::DuplicateTable(name));
    }
    let index = IndexDef {
        id: CatalogWriter::new(cx.txn).allocate_id()?,
        name,
        columns: positions,
        expressions: Vec::new(),
        unique: true,
        constraint: true,
    };
    let mut only = table.clone();
    only.indexes = vec![index.clone()];
    for (n, (key, row)) in all_rows(&table, cx)?.iter().enumerate() {
        if n % 1024 == 0 {
            cx.check_cancel()?;
        }
        insert_index_entries(&only, row, key, cx)?;
    }
    table.indexes.push(index);
    CatalogWriter::new(cx.txn).put_table(&table)?;
    Ok(table)
}

/// `DROP CONSTRAINT [IF EXISTS] name`: a CHECK, a UNIQUE constraint (and
/// its index) or a FOREIGN KEY of this table.
pub(super) fn drop_constraint(
    mut table: TableDef,
    name: &str,
    if_exists: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<TableDef> {
    if let Some(i) = table.checks.iter().position(|c| c.name == name) {
        table.checks.remove(i);
    } else if let Some(i) = table.foreign_keys.iter().position(|f| f.name == name) {
        table.foreign_keys.remove(i);
    } else if let Some(i) = table
        .indexes
        .iter()
        .position(|x| x.constraint && x.name == name)
    {
        let index = table.indexes.remove(i);
        CatalogWriter::new(cx.txn).delete_prefix(&index_prefix(index.id))?;
    } else if table.primary_key.as_ref().is_some_and(|k| k.name == name) {
        return Err(SqlError::unsupported(
            "dropping a primary key constraint is not supported yet",
        ));
    } else if !if_exists {
        return Err(SqlError::Semantic {
            state: crate::SqlState::UNDEFINED_OBJECT,
            message: format!(
                "constraint \"{name}\" of relation \"{}\" does not exist",
                table.name
            ),
        });
    }
    CatalogWriter::new(cx.txn).put_table(&table)?;
    Ok(table)
}

fn duplicate(name: &str, table: &str) -> SqlError {
    SqlError::Semantic {
        state: crate::SqlState::DUPLICATE_OBJECT,
        message: format!("constraint \"{name}\" for relation \"{table}\" already exists"),
    }
}
