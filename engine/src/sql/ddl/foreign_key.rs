//! FOREIGN KEY constraints in DDL: defining one in CREATE TABLE (column
//! `REFERENCES` or table `FOREIGN KEY (...) REFERENCES`), and what DROP
//! TABLE does to the constraints that reference the dropped table.
//! Enforcement on writes is `sql::dml::foreign_key`.

use sqlparser::ast;

use crate::SqlState;
use crate::catalog::{CatalogWriter, ForeignKeyDef, RefAction, TableDef};
use crate::sql::binder::{ident, object_name};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::ExecCtx;
use crate::types::DataType;

/// A FOREIGN KEY as written, resolved once the table's own columns and
/// keys are known (a table may reference itself).
pub(crate) struct PendingForeignKey {
    /// `CONSTRAINT name`, if given.
    pub(crate) name: Option<String>,
    /// The referencing columns' positions in the new table.
    pub(crate) columns: Vec<usize>,
    /// The referenced table's name.
    pub(crate) ref_table: String,
    /// The referenced columns' names; empty means its primary key.
    pub(crate) ref_columns: Vec<String>,
    /// ON DELETE
    pub(crate) on_delete: RefAction,
}

impl PendingForeignKey {
    /// From the parts sqlparser gives a column option or a table constraint.
    pub(crate) fn new(
        name: Option<&ast::Ident>,
        columns: Vec<usize>,
        foreign_table: &ast::ObjectName,
        referred_columns: &[ast::Ident],
        on_delete: Option<&ast::ReferentialAction>,
        on_update: Option<&ast::ReferentialAction>,
    ) -> SqlResult<PendingForeignKey> {
        if let Some(action) = on_update
            && !matches!(
                action,
                ast::ReferentialAction::NoAction | ast::ReferentialAction::Restrict
            )
        {
            return Err(SqlError::unsupported(format!(
                "ON UPDATE {action} is not supported"
            )));
        }
        let on_delete = match on_delete {
            None | Some(ast::ReferentialAction::NoAction | ast::ReferentialAction::Restrict) => {
                RefAction::Restrict
            }
            Some(ast::ReferentialAction::Cascade) => RefAction::Cascade,
            Some(ast::ReferentialAction::SetNull) => RefAction::SetNull,
            Some(other) => {
                return Err(SqlError::unsupported(format!(
                    "ON DELETE {other} is not supported"
                )));
            }
        };
        Ok(PendingForeignKey {
            name: name.map(ident),
            columns,
            ref_table: object_name(foreign_table)?,
            ref_columns: referred_columns.iter().map(ident).collect(),
            on_delete,
        })
    }

    /// The constraint, checked against the referenced table: its columns
    /// must be that table's primary key or carry a UNIQUE constraint (42830).
    pub(crate) fn resolve(self, table: &TableDef, cx: &ExecCtx<'_>) -> SqlResult<ForeignKeyDef> {
        let referenced: &TableDef = if self.ref_table == table.name {
            table
        } else {
            cx.catalog
                .table(&self.ref_table)
                .map(AsRef::as_ref)
                .ok_or_else(|| SqlError::UndefinedTable(self.ref_table.clone()))?
        };
        let ref_columns: Vec<usize> = if self.ref_columns.is_empty() {
            referenced
                .primary_key
                .as_ref()
                .map(|pk| pk.columns.clone())
                .ok_or_else(|| SqlError::Semantic {
                    state: SqlState::INVALID_FOREIGN_KEY,
                    message: format!(
                        "there is no primary key for referenced table \"{}\"",
                        referenced.name
                    ),
                })?
        } else {
            self.ref_columns
                .iter()
                .map(|c| {
                    referenced.column_index(c).ok_or_else(|| {
                        SqlError::UndefinedColumn(format!(
                            "column \"{c}\" referenced in foreign key constraint does not exist"
                        ))
                    })
                })
                .collect::<SqlResult<_>>()?
        };
        if ref_columns.len() != self.columns.len() {
            return Err(SqlError::Semantic {
                state: SqlState::INVALID_FOREIGN_KEY,
                message: "number of referencing and referenced columns for foreign key disagree"
                    .into(),
            });
        }
        let same_set = |key: &[usize]| {
            key.len() == ref_columns.len() && key.iter().all(|c| ref_columns.contains(c))
        };
        let keyed = referenced
            .primary_key
            .as_ref()
            .is_some_and(|pk| same_set(&pk.columns))
            || referenced
                .indexes
                .iter()
                .any(|i| i.unique && !i.on_expressions() && same_set(&i.columns));
        if !keyed {
            return Err(SqlError::Semantic {
                state: SqlState::INVALID_FOREIGN_KEY,
                message: format!(
                    "there is no unique constraint matching given keys for referenced table \"{}\"",
                    referenced.name
                ),
            });
        }
        for (mine, theirs) in self.columns.iter().zip(&ref_columns) {
            let (a, b) = (table.columns[*mine].ty, referenced.columns[*theirs].ty);
            if !comparable(a, b) {
                return Err(SqlError::Semantic {
                    state: SqlState::DATATYPE_MISMATCH,
                    message: format!(
                        "foreign key constraint cannot be implemented: key columns \"{}\" and \"{}\" are of incompatible types: {} and {}",
                        table.columns[*mine].name,
                        referenced.columns[*theirs].name,
                        a.name(),
                        b.name()
                    ),
                });
            }
        }
        let name = self.name.unwrap_or_else(|| {
            let names: Vec<&str> = self
                .columns
                .iter()
                .map(|i| table.columns[*i].name.as_str())
                .collect();
            format!("{}_{}_fkey", table.name, names.join("_"))
        });
        Ok(ForeignKeyDef {
            name,
            columns: self.columns,
            ref_table: referenced.id,
            ref_columns,
            on_delete: self.on_delete,
        })
    }
}

/// Before `table` is dropped: the foreign keys of other tables that
/// reference it block the drop (2BP01), or with CASCADE are dropped
/// themselves (the referencing tables and their rows stay).
pub(crate) fn before_drop_table(
    table: &TableDef,
    cascade: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<()> {
    let dependents: Vec<TableDef> = cx
        .catalog
        .tables()
        .filter(|t| t.id != table.id && t.foreign_keys.iter().any(|f| f.ref_table == table.id))
        .map(|t| (**t).clone())
        .collect();
    let Some(first) = dependents.first() else {
        return Ok(());
    };
    if !cascade {
        let fk = first
            .foreign_keys
            .iter()
            .find(|f| f.ref_table == table.id)
            .map_or("", |f| f.name.as_str());
        return Err(SqlError::Semantic {
            state: SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
            message: format!(
                "cannot drop table {} because other objects depend on it (constraint {fk} on table {} depends on table {})",
                table.name, first.name, table.name
            ),
        });
    }
    for mut t in dependents {
        t.foreign_keys.retain(|f| f.ref_table != table.id);
        CatalogWriter::new(cx.txn).put_table(&t)?;
    }
    Ok(())
}

/// Whether the two ends of a foreign key can be compared: both strings,
/// both numbers, or the same type otherwise.
pub(super) fn comparable(a: DataType, b: DataType) -> bool {
    let family = |t: DataType| match t {
        _ if t.is_string() => 0,
        DataType::Int2
        | DataType::Int4
        | DataType::Int8
        | DataType::Float4
        | DataType::Float8
        | DataType::Numeric { .. } => 1,
        other => 2 + other.oid(),
    };
    family(a) == family(b)
}
