//! ALTER TABLE ... ALTER COLUMN: SET / DROP NOT NULL and SET / DROP
//! DEFAULT change only the catalog record (SET NOT NULL first checks that
//! no stored row has a NULL there, 23502 as in PostgreSQL); TYPE rewrites
//! every row with the column's value converted to the new type.
//!
//! A type change follows PostgreSQL: without USING the old type must have
//! an assignment cast to the new one (42804 otherwise), USING computes the
//! new value from the old row; CHECK constraints are checked again on the
//! rewritten rows; a view that reads the column blocks the change (0A000),
//! and so does a foreign key whose other side would no longer compare
//! (42804). Keys are encoded by type, so when the column is part of the
//! primary key or of an index the table's rows and index entries are
//! stored again under their new keys (23505 if two rows now collide).

use sqlparser::ast;

use crate::SqlState;
use crate::catalog::{CatalogWriter, TableDef};
use crate::types::{DataType, encode_row};

use super::super::binder::{Binder, data_type};
use super::super::dml;
use super::super::dml::target::{bind_checks, bind_defaults, table_scope};
use super::super::error::{SqlError, SqlResult};
use super::super::exec::ExecCtx;
use super::super::expr::eval;
use super::all_rows;
use super::alter::store_again;
use super::foreign_key::comparable;
use super::view::view_reading_column;

/// Applies `ALTER COLUMN name op`; `None` when the operation is not one
/// of these.
pub(super) fn apply(
    mut table: TableDef,
    name: &str,
    op: &ast::AlterColumnOperation,
    cx: &mut ExecCtx<'_>,
) -> Option<SqlResult<TableDef>> {
    use ast::AlterColumnOperation as Op;
    if !matches!(
        op,
        Op::SetNotNull
            | Op::DropNotNull
            | Op::SetDefault { .. }
            | Op::DropDefault
            | Op::SetDataType { .. }
    ) {
        return None;
    }
    Some((|| {
        let i = table.column_index(name).ok_or_else(|| {
            SqlError::UndefinedColumn(format!(
                "column \"{name}\" of relation \"{}\" does not exist",
                table.name
            ))
        })?;
        match op {
            Op::SetNotNull => {
                if !table.columns[i].not_null {
                    let rows = all_rows(&table, cx)?;
                    if rows.iter().any(|(_, row)| row[i].is_null()) {
                        return Err(SqlError::NotNullViolation {
                            column: name.to_owned(),
                            table: table.name.clone(),
                        });
                    }
                    table.columns[i].not_null = true;
                }
            }
            Op::DropNotNull => {
                if table
                    .primary_key
                    .as_ref()
                    .is_some_and(|pk| pk.columns.contains(&i))
                {
                    return Err(SqlError::Semantic {
                        state: crate::SqlState::INVALID_TABLE_DEFINITION,
                        message: format!("column \"{name}\" is in a primary key"),
                    });
                }
                table.columns[i].not_null = false;
            }
            Op::SetDefault { value } => {
                table.columns[i].default = Some(value.to_string());
                // A default that does not bind (unknown function, wrong
                // type) fails now rather than at the next INSERT.
                bind_defaults(&table, cx)?;
            }
            Op::SetDataType {
                data_type: t,
                using,
                ..
            } => return change_type(table, i, data_type(t)?, using.as_ref(), cx),
            _ => table.columns[i].default = None,
        }
        CatalogWriter::new(cx.txn).put_table(&table)?;
        Ok(table)
    })())
}

/// `ALTER COLUMN table.columns[i] TYPE ty [USING using]`.
fn change_type(
    mut table: TableDef,
    i: usize,
    ty: DataType,
    using: Option<&ast::Expr>,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<TableDef> {
    let name = table.columns[i].name.clone();
    let old = table.columns[i].ty;
    let convert = match using {
        Some(e) => {
            // USING sees the row as it is, before the change.
            let mut b = Binder::new(cx.catalog, &[]);
            b.scopes = vec![table_scope(&table, &table.name)];
            Some(b.bind_expr(e)?)
        }
        None if assignment_castable(old, ty) => None,
        None => {
            return Err(SqlError::Semantic {
                state: SqlState::DATATYPE_MISMATCH,
                message: format!(
                    "column \"{name}\" cannot be cast automatically to type {}",
                    ty.name()
                ),
            });
        }
    };
    if let Some(view) = view_reading_column(cx.catalog, &table.name, &name)? {
        return Err(SqlError::Semantic {
            state: SqlState::FEATURE_NOT_SUPPORTED,
            message: format!(
                "cannot alter type of a column used by a view or rule (view {view} depends on column \"{name}\")"
            ),
        });
    }
    check_foreign_keys(&table, i, ty, cx)?;
    let keyed = table
        .primary_key
        .iter()
        .map(|k| &k.columns)
        .chain(table.indexes.iter().map(|x| &x.columns))
        .any(|cols| cols.contains(&i));
    let mut rows = all_rows(&table, cx)?;
    for (n, (_, row)) in rows.iter_mut().enumerate() {
        if n % 1024 == 0 {
            cx.check_cancel()?;
        }
        let value = match &convert {
            Some(e) => eval(e, row, cx)?,
            None => std::mem::replace(&mut row[i], crate::types::Value::Null),
        };
        row[i] = value.assign(&ty)?;
    }
    table.columns[i].ty = ty;
    // The defaults and checks are bound again against the new type: one
    // that no longer makes sense fails the change rather than a later
    // INSERT.
    bind_defaults(&table, cx)?;
    let checks = bind_checks(&table, cx)?;
    for (_, row) in &rows {
        dml::check_row(&table, row, &checks, cx)?;
    }
    if !keyed {
        CatalogWriter::new(cx.txn).put_table(&table)?;
        let mut bytes = Vec::new();
        for (key, row) in &rows {
            bytes.clear();
            encode_row(row, &mut bytes);
            cx.txn.put(key, &bytes)?;
        }
        return Ok(table);
    }
    store_again(&table, &rows, cx)?;
    Ok(table)
}

/// Whether PostgreSQL converts `from` to `to` without USING (an implicit
/// or assignment cast): within the numeric types, within the date and
/// time types, between json and jsonb, and from anything to a string.
fn assignment_castable(from: DataType, to: DataType) -> bool {
    use DataType as T;
    let numeric = |t: T| {
        matches!(
            t,
            T::Int2 | T::Int4 | T::Int8 | T::Float4 | T::Float8 | T::Numeric { .. }
        )
    };
    let datetime = |t: T| matches!(t, T::Date | T::Timestamp | T::TimestampTz);
    let json = |t: T| matches!(t, T::Json | T::Jsonb);
    from == to
        || to.is_string()
        || numeric(from) && numeric(to)
        || datetime(from) && datetime(to)
        || json(from) && json(to)
}

/// A foreign key on either side of the column must still compare its two
/// ends after the change: both strings, both numbers, or the same type.
fn check_foreign_keys(table: &TableDef, i: usize, ty: DataType, cx: &ExecCtx<'_>) -> SqlResult<()> {
    let mut pairs = Vec::new();
    for fk in &table.foreign_keys {
        for (mine, theirs) in fk.columns.iter().zip(&fk.ref_columns) {
            if *mine == i {
                let other = cx.catalog.table_by_id(fk.ref_table);
                pairs.push((fk.name.clone(), other.map(|t| t.columns[*theirs].ty)));
            }
        }
    }
    for child in cx.catalog.tables() {
        for fk in child
            .foreign_keys
            .iter()
            .filter(|fk| fk.ref_table == table.id)
        {
            for (theirs, mine) in fk.columns.iter().zip(&fk.ref_columns) {
                if *mine == i {
                    pairs.push((fk.name.clone(), Some(child.columns[*theirs].ty)));
                }
            }
        }
    }
    for (fk, other) in pairs {
        if other.is_some_and(|o| !comparable(o, ty)) {
            return Err(SqlError::Semantic {
                state: SqlState::DATATYPE_MISMATCH,
                message: format!("foreign key constraint \"{fk}\" cannot be implemented"),
            });
        }
    }
    Ok(())
}
