//! ALTER TABLE ... ALTER COLUMN: SET / DROP NOT NULL and SET / DROP
//! DEFAULT change only the catalog record (SET NOT NULL first checks that
//! no stored row has a NULL there, 23502 as in PostgreSQL); TYPE rewrites
//! every row with the column's value cast to the new type.

use sqlparser::ast;

use crate::catalog::{CatalogWriter, TableDef};
use crate::types::encode_row;

use super::super::binder::data_type;
use super::super::dml::target::bind_defaults;
use super::super::error::{SqlError, SqlResult};
use super::super::exec::ExecCtx;
use super::all_rows;

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
            | Op::SetDataType { using: None, .. }
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
            Op::SetDataType { data_type: t, .. } => {
                let ty = data_type(t)?;
                // Keys are encoded by type: a key column would need its
                // rows and entries re-keyed, which is not done yet.
                let keyed = table
                    .primary_key
                    .iter()
                    .map(|k| &k.columns)
                    .chain(table.indexes.iter().map(|x| &x.columns))
                    .any(|cols| cols.contains(&i));
                if keyed {
                    return Err(SqlError::unsupported(
                        "changing the type of a key or indexed column is not supported yet",
                    ));
                }
                for (key, mut row) in all_rows(&table, cx)? {
                    cx.check_cancel()?;
                    if let Some(v) = row.get_mut(i) {
                        *v = v.cast(&ty)?;
                    }
                    let mut bytes = Vec::new();
                    encode_row(&row, &mut bytes);
                    cx.txn.put(&key, &bytes)?;
                }
                table.columns[i].ty = ty;
            }
            _ => table.columns[i].default = None,
        }
        CatalogWriter::new(cx.txn).put_table(&table)?;
        Ok(table)
    })())
}
