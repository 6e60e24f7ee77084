//! ALTER TABLE operations: ADD PRIMARY KEY, ADD COLUMN, DROP COLUMN, RENAME,
//! OWNER TO.

use sqlparser::ast;

use crate::catalog::{
    CatalogWriter, ColumnDef, KeyConstraint, TableDef, index_prefix, table_prefix,
};
use crate::types::{Value, encode_row};

use super::super::binder::{data_type, ident, object_name};
use super::super::dml;
use super::super::dml::target::{bind_checks, bind_defaults};
use super::super::error::{SqlError, SqlResult};
use super::super::exec::ExecCtx;
use super::super::expr::eval;
use super::all_rows;

/// Applies one operation to `table` (as changed by the operations before
/// it in the same statement) and returns the table as it now is.
pub(super) fn apply(
    table: TableDef,
    op: &ast::AlterTableOperation,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<TableDef> {
    use ast::AlterTableOperation as Op;
    match op {
        Op::AddConstraint {
            constraint: ast::TableConstraint::PrimaryKey { name, columns, .. },
            ..
        } => {
            let names = columns
                .iter()
                .map(|c| c.column.expr.to_string().trim_matches('"').to_lowercase())
                .collect::<Vec<_>>();
            add_primary_key(table, name.as_ref().map(ident), &names, cx)
        }
        Op::AddConstraint {
            constraint: ast::TableConstraint::Check { name, expr, .. },
            ..
        } => super::constraint::add_check(table, name.as_ref().map(ident), expr.to_string(), cx),
        Op::AddConstraint {
            constraint: ast::TableConstraint::Unique { name, columns, .. },
            ..
        } => {
            let names = columns
                .iter()
                .map(|c| c.column.expr.to_string().trim_matches('"').to_lowercase())
                .collect::<Vec<_>>();
            super::constraint::add_unique(table, name.as_ref().map(ident), &names, cx)
        }
        Op::DropConstraint {
            if_exists, name, ..
        } => super::constraint::drop_constraint(table, &ident(name), *if_exists, cx),
        Op::AddColumn {
            if_not_exists,
            column_def,
            ..
        } => add_column(table, *if_not_exists, column_def, cx),
        Op::DropColumn {
            column_names,
            if_exists,
            ..
        } => column_names.iter().try_fold(table, |table, name| {
            drop_column(table, &ident(name), *if_exists, cx)
        }),
        Op::RenameTable { table_name } => {
            let (ast::RenameTableNameKind::As(n) | ast::RenameTableNameKind::To(n)) = table_name;
            rename_table(table, &object_name(n)?, cx)
        }
        Op::RenameColumn {
            old_column_name,
            new_column_name,
        } => rename_column(table, &ident(old_column_name), &ident(new_column_name), cx),
        Op::AlterColumn { column_name, op } => {
            super::alter_column::apply(table, &ident(column_name), op, cx).unwrap_or_else(|| {
                Err(SqlError::unsupported(format!(
                    "ALTER TABLE ALTER COLUMN {op} is not supported yet"
                )))
            })
        }
        Op::OwnerTo { new_owner } => {
            owner_to(table.id, new_owner, cx)?;
            Ok(table)
        }
        other => Err(SqlError::unsupported(format!(
            "ALTER TABLE {other} is not supported yet"
        ))),
    }
}

/// `OWNER TO role`: the caller (already checked to own the table) must
/// belong to the new owner, so a role can give a table only to a group
/// it could `SET ROLE` to, and one that may create in its schema, as in
/// PostgreSQL.
fn owner_to(id: u32, owner: &ast::Owner, cx: &mut ExecCtx<'_>) -> SqlResult<()> {
    let owner = match owner {
        ast::Owner::Ident(i) => ident(i),
        ast::Owner::CurrentRole | ast::Owner::CurrentUser => cx.user.to_owned(),
        ast::Owner::SessionUser => cx.session_user.to_owned(),
    };
    if cx.catalog.role(&owner).is_none() {
        return Err(SqlError::Semantic {
            state: crate::SqlState::UNDEFINED_OBJECT,
            message: format!("role \"{owner}\" does not exist"),
        });
    }
    if !cx.catalog.is_member_of(cx.user, &owner) {
        return Err(SqlError::Semantic {
            state: crate::SqlState::INSUFFICIENT_PRIVILEGE,
            message: format!("must be member of role \"{owner}\""),
        });
    }
    let superuser = cx.catalog.role(cx.user).is_some_and(|r| r.superuser);
    if !superuser
        && !cx.catalog.may_use_schema(
            &owner,
            crate::catalog::PUBLIC_SCHEMA,
            crate::catalog::Privileges::CREATE,
        )
    {
        return Err(crate::sql::privilege::denied(
            "schema",
            crate::catalog::PUBLIC_SCHEMA,
        ));
    }
    let mut acl = cx.catalog.acl(id);
    acl.owner = owner;
    CatalogWriter::new(cx.txn).put_acl(id, &acl)?;
    Ok(())
}

/// `ADD [CONSTRAINT name] PRIMARY KEY (cols)`: a table keyed by a hidden
/// row id becomes keyed by its primary key. Rows are stored under their
/// key, so every row is rewritten under its new key and every index entry
/// (which points at the row key) again; two rows with the same key fail
/// with 23505, a NULL in a key column with 23502, as in PostgreSQL.
fn add_primary_key(
    mut table: TableDef,
    name: Option<String>,
    columns: &[String],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<TableDef> {
    if table.primary_key.is_some() {
        return Err(SqlError::Semantic {
            state: crate::SqlState::INVALID_TABLE_DEFINITION,
            message: format!(
                "multiple primary keys for table \"{}\" are not allowed",
                table.name
            ),
        });
    }
    let mut positions = Vec::with_capacity(columns.len());
    for c in columns {
        let i = table.column_index(c).ok_or_else(|| {
            SqlError::UndefinedColumn(format!(
                "column \"{c}\" of relation \"{}\" does not exist",
                table.name
            ))
        })?;
        positions.push(i);
    }
    let name = name.unwrap_or_else(|| format!("{}_pkey", table.name));
    if cx.catalog.relation_exists(&name) {
        return Err(SqlError::DuplicateTable(name));
    }
    let rows = all_rows(&table, cx)?;
    for i in &positions {
        if rows.iter().any(|(_, r)| r[*i].is_null()) {
            return Err(SqlError::Semantic {
                state: crate::SqlState::NOT_NULL_VIOLATION,
                message: format!(
                    "column \"{}\" of relation \"{}\" contains null values",
                    table.columns[*i].name, table.name
                ),
            });
        }
        table.columns[*i].not_null = true;
    }
    table.primary_key = Some(KeyConstraint {
        name,
        columns: positions,
    });
    store_again(&table, &rows, cx)?;
    Ok(table)
}

/// Stores `table`'s definition and every one of `rows` again under the
/// keys the definition gives them, with fresh index entries: for a change
/// of what the keys are made of. Two rows with the same new primary key
/// fail with 23505.
pub(super) fn store_again(
    table: &TableDef,
    rows: &[(Vec<u8>, Vec<Value>)],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<()> {
    let mut w = CatalogWriter::new(cx.txn);
    w.delete_prefix(&table_prefix(table.id))?;
    for index in &table.indexes {
        w.delete_prefix(&index_prefix(index.id))?;
    }
    w.put_table(table)?;
    for (n, (_, row)) in rows.iter().enumerate() {
        if n % 1024 == 0 {
            cx.check_cancel()?;
        }
        if dml::insert_row(table, row, cx)?.is_none() {
            let pk = table.primary_key.as_ref().map(|k| k.name.clone());
            return Err(SqlError::UniqueViolation(pk.unwrap_or_default()));
        }
    }
    Ok(())
}

/// `ADD [COLUMN] [IF NOT EXISTS] name type [NOT NULL] [DEFAULT e]`: every
/// existing row gets the default (or NULL), in place under its key.
fn add_column(
    mut table: TableDef,
    if_not_exists: bool,
    def: &ast::ColumnDef,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<TableDef> {
    let name = ident(&def.name);
    if table.column_index(&name).is_some() {
        if if_not_exists {
            return Ok(table);
        }
        return Err(SqlError::DuplicateColumn(format!(
            "column \"{name}\" of relation \"{}\" already exists",
            table.name
        )));
    }
    let mut column = ColumnDef {
        name,
        ty: data_type(&def.data_type)?,
        not_null: false,
        default: None,
    };
    for opt in &def.options {
        match &opt.option {
            ast::ColumnOption::NotNull => column.not_null = true,
            ast::ColumnOption::Null => {}
            ast::ColumnOption::Default(e) => column.default = Some(e.to_string()),
            other => {
                return Err(SqlError::unsupported(format!(
                    "ALTER TABLE ADD COLUMN with {other} is not supported yet"
                )));
            }
        }
    }
    let rows = all_rows(&table, cx)?;
    table.columns.push(column);
    let defaults = bind_defaults(&table, cx)?;
    let last = table.columns.len() - 1;
    for (key, mut row) in rows {
        let v = match &defaults[last] {
            Some(d) => eval(d, &[], cx)?,
            None => Value::Null,
        };
        let c = &table.columns[last];
        let v = if v.is_null() { v } else { v.assign(&c.ty)? };
        if c.not_null && v.is_null() {
            return Err(SqlError::Semantic {
                state: crate::SqlState::NOT_NULL_VIOLATION,
                message: format!(
                    "column \"{}\" of relation \"{}\" contains null values",
                    c.name, table.name
                ),
            });
        }
        row.push(v);
        let mut value = Vec::new();
        encode_row(&row, &mut value);
        cx.txn.put(&key, &value)?;
    }
    CatalogWriter::new(cx.txn).put_table(&table)?;
    Ok(table)
}

/// `DROP [COLUMN] [IF EXISTS] name`: as in PostgreSQL, the indexes, CHECK
/// and FOREIGN KEY constraints of this table that involve the column go
/// with it, and every row is rewritten without its value. A column another
/// table's foreign key references is refused (2BP01; CASCADE is not
/// supported), as is a primary-key column, whose removal would re-key the
/// table.
fn drop_column(
    mut table: TableDef,
    name: &str,
    if_exists: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<TableDef> {
    let Some(dropped) = table.column_index(name) else {
        if if_exists {
            return Ok(table);
        }
        return Err(SqlError::UndefinedColumn(format!(
            "column \"{name}\" of relation \"{}\" does not exist",
            table.name
        )));
    };
    if table
        .primary_key
        .as_ref()
        .is_some_and(|pk| pk.columns.contains(&dropped))
    {
        return Err(SqlError::unsupported(format!(
            "dropping primary-key column \"{name}\""
        )));
    }
    let referenced = cx.catalog.tables().find_map(|t| {
        t.foreign_keys
            .iter()
            .find(|fk| fk.ref_table == table.id && fk.ref_columns.contains(&dropped))
            .map(|fk| (t.name.clone(), fk.name.clone()))
    });
    if let Some((other, constraint)) = referenced {
        return Err(SqlError::Semantic {
            state: crate::SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
            message: format!(
                "cannot drop column {name} of table {} because constraint {constraint} on table {other} depends on it",
                table.name
            ),
        });
    }
    let rows = all_rows(&table, cx)?;
    let shift = |columns: &mut Vec<usize>| {
        for c in columns.iter_mut() {
            if *c > dropped {
                *c -= 1;
            }
        }
    };
    let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut table.indexes)
        .into_iter()
        .partition(|ix| ix.columns.contains(&dropped));
    for index in &gone {
        CatalogWriter::new(cx.txn).delete_prefix(&index_prefix(index.id))?;
    }
    table.indexes = kept;
    table
        .foreign_keys
        .retain(|fk| !fk.columns.contains(&dropped));
    for index in &mut table.indexes {
        shift(&mut index.columns);
    }
    for fk in &mut table.foreign_keys {
        shift(&mut fk.columns);
    }
    if let Some(pk) = &mut table.primary_key {
        shift(&mut pk.columns);
    }
    // Self-references: this table's foreign keys into itself.
    let id = table.id;
    for fk in table
        .foreign_keys
        .iter_mut()
        .filter(|fk| fk.ref_table == id)
    {
        shift(&mut fk.ref_columns);
    }
    table.columns.remove(dropped);
    // A CHECK is stored as SQL text: the ones that no longer bind named the
    // dropped column.
    let checks = std::mem::take(&mut table.checks);
    for check in checks {
        let mut alone = table.clone();
        alone.checks = vec![check];
        match bind_checks(&alone, cx) {
            Ok(_) => table.checks.append(&mut alone.checks),
            Err(SqlError::UndefinedColumn(_)) => {}
            Err(e) => return Err(e),
        }
    }
    for (n, (key, mut row)) in rows.into_iter().enumerate() {
        if n % 1024 == 0 {
            cx.check_cancel()?;
        }
        row.remove(dropped);
        let mut value = Vec::new();
        encode_row(&row, &mut value);
        cx.txn.put(&key, &value)?;
    }
    CatalogWriter::new(cx.txn).put_table(&table)?;
    Ok(table)
}

fn rename_table(mut table: TableDef, name: &str, cx: &mut ExecCtx<'_>) -> SqlResult<TableDef> {
    if cx.catalog.relation_exists(name) {
        return Err(SqlError::DuplicateTable(name.to_owned()));
    }
    name.clone_into(&mut table.name);
    CatalogWriter::new(cx.txn).put_table(&table)?;
    Ok(table)
}

/// Renames a column. CHECK constraints are stored as SQL text that names
/// columns, so a column a CHECK could mention is refused rather than left
/// with a constraint that no longer binds.
fn rename_column(
    mut table: TableDef,
    old: &str,
    new: &str,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<TableDef> {
    let i = table
        .column_index(old)
        .ok_or_else(|| SqlError::UndefinedColumn(format!("column \"{old}\" does not exist")))?;
    if table.column_index(new).is_some() {
        return Err(SqlError::DuplicateColumn(format!(
            "column \"{new}\" of relation \"{}\" already exists",
            table.name
        )));
    }
    if table.checks.iter().any(|c| c.expr.contains(old)) {
        return Err(SqlError::unsupported(format!(
            "renaming column \"{old}\", which a CHECK constraint uses"
        )));
    }
    if table
        .indexes
        .iter()
        .any(|x| x.columns.contains(&i) && x.on_expressions())
    {
        return Err(SqlError::unsupported(format!(
            "renaming column \"{old}\", which an index expression uses"
        )));
    }
    new.clone_into(&mut table.columns[i].name);
    CatalogWriter::new(cx.txn).put_table(&table)?;
    Ok(table)
}
