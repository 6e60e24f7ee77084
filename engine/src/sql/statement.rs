//! Running one statement inside the session's transaction.

use std::sync::Arc;

use sqlparser::ast;

use crate::catalog::{
    CatalogWriter, CheckDef, ColumnDef, IndexDef, KeyConstraint, TableDef, prefix_end, table_prefix,
};
use crate::types::{DataType, Value, decode_row};

use super::binder::{Binder, bind_query, data_type, ident, object_name};
use super::dml;
use super::error::{SqlError, SqlResult};
use super::exec::{ExecCtx, collect};
use super::expr::{Expr, eval, eval_predicate};
use super::parser::Statement;
use super::prepared::{sql_execute_args, sql_execute_lookup};
use super::session::{ColumnDesc, Session, StatementResult};

/// Executes `s` in the session's open transaction.
pub(crate) fn execute(
    session: &mut Session,
    s: &Statement,
    params: &[Value],
    param_types: &[Option<DataType>],
) -> SqlResult<StatementResult> {
    if let Some(result) = super::routine::execute(session, s, params, param_types) {
        return result;
    }
    let stmt = match s {
        Statement::Standard(stmt) => stmt.as_ref(),
        Statement::CreateModule { .. }
        | Statement::DropModule { .. }
        | Statement::CreateProcedure(_) => {
            return Err(SqlError::Internal(
                "routine statements are run by sql::routine".into(),
            ));
        }
        Statement::CreateResourceGroup { .. } | Statement::AlterResourceGroup { .. } => {
            return Err(SqlError::unsupported(
                "resource groups are not supported yet",
            ));
        }
    };
    // EXECUTE runs another statement in this one's place: look it up
    // while the session is free, evaluate the arguments below.
    let executing = match stmt {
        ast::Statement::Execute {
            name: Some(name),
            parameters,
            ..
        } => Some((sql_execute_lookup(session, name, parameters)?, parameters)),
        _ => None,
    };
    let now = session.txn_start;
    let cancel = session.cancel.clone();
    let cache = session.catalog.clone();
    let invoker = session.invoker.clone();
    let txn = session
        .txn
        .as_mut()
        .ok_or_else(|| SqlError::Internal("no transaction".into()))?;
    let catalog = cache.get(txn.as_mut())?;
    let no_sequences = |_: u32| -> SqlResult<i64> {
        Err(SqlError::unsupported("sequences are not supported yet"))
    };
    let mut cx = ExecCtx {
        txn: txn.as_mut(),
        catalog: &catalog,
        params,
        param_types,
        outer: Vec::new(),
        now,
        cancel: &cancel,
        sequences: &no_sequences,
    };
    if let Some((prepared, args)) = executing {
        let values = sql_execute_args(&prepared, args, &mut cx)?;
        let types: Vec<Option<DataType>> = prepared.param_types.iter().copied().map(Some).collect();
        return execute(session, &prepared.statement, &values, &types);
    }
    use ast::Statement as A;
    match stmt {
        A::Query(q) => {
            let views = super::routine::views::for_query(q, cx.txn, invoker.as_ref())?;
            let mut binder = Binder::new(&catalog, param_types);
            binder.system_views = views.as_ref();
            let plan = bind_query(&mut binder, q)?;
            let rows = collect(&plan, &mut cx)?;
            let columns = plan
                .columns()
                .into_iter()
                .map(|c| ColumnDesc {
                    name: c.name,
                    ty: c.ty,
                })
                .collect();
            let tag = format!("SELECT {}", rows.len());
            Ok(StatementResult::Rows { columns, rows, tag })
        }
        A::CreateTable(ct) => create_table(ct, &mut cx),
        A::Drop {
            object_type: ast::ObjectType::Table,
            if_exists,
            names,
            ..
        } => {
            for n in names {
                let name = object_name(n)?;
                match catalog.table(&name) {
                    Some(t) => CatalogWriter::new(cx.txn).drop_table(t)?,
                    None if *if_exists => {}
                    None => {
                        return Err(SqlError::Semantic {
                            state: crate::SqlState::UNDEFINED_TABLE,
                            message: format!("table \"{name}\" does not exist"),
                        });
                    }
                }
            }
            Ok(StatementResult::Command("DROP TABLE".into()))
        }
        A::Insert(ins) => insert(ins, &mut cx),
        A::Delete(del) => delete(del, &mut cx),
        A::Update {
            table,
            assignments,
            selection,
            from: None,
            returning: None,
            ..
        } => update(table, assignments, selection.as_ref(), &mut cx),
        other => Err(SqlError::unsupported(format!(
            "statement is not supported yet: {}",
            other.to_string().chars().take(40).collect::<String>()
        ))),
    }
}

fn table_named(cx: &ExecCtx<'_>, n: &ast::ObjectName) -> SqlResult<Arc<TableDef>> {
    let name = object_name(n)?;
    cx.catalog
        .table(&name)
        .cloned()
        .ok_or(SqlError::UndefinedTable(name))
}

fn create_table(ct: &ast::CreateTable, cx: &mut ExecCtx<'_>) -> SqlResult<StatementResult> {
    let name = object_name(&ct.name)?;
    if cx.catalog.relation_exists(&name) {
        if ct.if_not_exists {
            return Ok(StatementResult::Command("CREATE TABLE".into()));
        }
        return Err(SqlError::DuplicateTable(name));
    }
    let mut w = CatalogWriter::new(cx.txn);
    let id = w.allocate_id()?;
    let mut table = TableDef {
        id,
        name: name.clone(),
        columns: Vec::new(),
        primary_key: None,
        indexes: Vec::new(),
        checks: Vec::new(),
        foreign_keys: Vec::new(),
    };
    let mut uniques: Vec<(Option<String>, Vec<usize>)> = Vec::new();
    for (i, c) in ct.columns.iter().enumerate() {
        let cname = ident(&c.name);
        if table.column_index(&cname).is_some() {
            return Err(SqlError::DuplicateColumn(format!(
                "column \"{cname}\" specified more than once"
            )));
        }
        let mut col = ColumnDef {
            name: cname.clone(),
            ty: data_type(&c.data_type)?,
            not_null: false,
            default: None,
        };
        for opt in &c.options {
            match &opt.option {
                ast::ColumnOption::NotNull => col.not_null = true,
                ast::ColumnOption::Null => {}
                ast::ColumnOption::Default(e) => col.default = Some(e.to_string()),
                ast::ColumnOption::Unique {
                    is_primary: true, ..
                } => {
                    col.not_null = true;
                    set_pk(&mut table, &name, vec![i])?;
                }
                ast::ColumnOption::Unique { .. } => uniques.push((None, vec![i])),
                ast::ColumnOption::Check(e) => table.checks.push(CheckDef {
                    name: opt
                        .name
                        .as_ref()
                        .map_or_else(|| format!("{name}_{cname}_check"), ident),
                    expr: e.to_string(),
                }),
                other => {
                    return Err(SqlError::unsupported(format!(
                        "column option {other} is not supported yet"
                    )));
                }
            }
        }
        table.columns.push(col);
    }
    for c in &ct.constraints {
        let positions = |cols: &[ast::IndexColumn], t: &TableDef| -> SqlResult<Vec<usize>> {
            cols.iter()
                .map(|c| {
                    let n = c.column.expr.to_string().to_lowercase();
                    t.column_index(&n).ok_or_else(|| {
                        SqlError::UndefinedColumn(format!(
                            "column \"{n}\" named in key does not exist"
                        ))
                    })
                })
                .collect()
        };
        match c {
            ast::TableConstraint::PrimaryKey { columns, .. } => {
                let p = positions(columns, &table)?;
                for i in &p {
                    table.columns[*i].not_null = true;
                }
                set_pk(&mut table, &name, p)?;
            }
            ast::TableConstraint::Unique {
                columns, name: cn, ..
            } => {
                let p = positions(columns, &table)?;
                uniques.push((cn.as_ref().map(ident), p));
            }
            ast::TableConstraint::Check { name: cn, expr, .. } => {
                let first = table.columns.first().map_or("", |c| c.name.as_str());
                table.checks.push(CheckDef {
                    name: cn
                        .as_ref()
                        .map_or_else(|| format!("{name}_{first}_check"), ident),
                    expr: expr.to_string(),
                });
            }
            other => {
                return Err(SqlError::unsupported(format!(
                    "constraint {other} is not supported yet"
                )));
            }
        }
    }
    for (cn, cols) in uniques {
        let cname = cn.unwrap_or_else(|| {
            let names: Vec<&str> = cols
                .iter()
                .map(|i| table.columns[*i].name.as_str())
                .collect();
            format!("{name}_{}_key", names.join("_"))
        });
        let index_id = w.allocate_id()?;
        table.indexes.push(IndexDef {
            id: index_id,
            name: cname,
            columns: cols,
            unique: true,
            constraint: true,
        });
    }
    w.put_table(&table)?;
    Ok(StatementResult::Command("CREATE TABLE".into()))
}

fn set_pk(table: &mut TableDef, name: &str, columns: Vec<usize>) -> SqlResult<()> {
    if table.primary_key.is_some() {
        return Err(SqlError::Semantic {
            state: crate::SqlState::INVALID_TABLE_DEFINITION,
            message: format!("multiple primary keys for table \"{name}\" are not allowed"),
        });
    }
    table.primary_key = Some(KeyConstraint {
        name: format!("{name}_pkey"),
        columns,
    });
    Ok(())
}

/// Binds a table's CHECK constraints over its own columns.
fn bind_checks(table: &TableDef, cx: &ExecCtx<'_>) -> SqlResult<Vec<(String, Expr)>> {
    let mut out = Vec::new();
    for c in &table.checks {
        let e = parse_expr(&c.expr)?;
        let mut b = Binder::new(cx.catalog, cx.param_types);
        b.scopes = vec![table_scope(table)];
        out.push((c.name.clone(), b.bind_expr(&e)?));
    }
    Ok(out)
}

fn table_scope(table: &TableDef) -> Vec<super::plan::Column> {
    table
        .columns
        .iter()
        .map(|c| super::plan::Column {
            name: c.name.clone(),
            table: Some(table.name.clone()),
            ty: c.ty,
        })
        .collect()
}

fn parse_expr(text: &str) -> SqlResult<ast::Expr> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| SqlError::Internal(format!("stored expression does not parse: {e}")))
}

fn insert(ins: &ast::Insert, cx: &mut ExecCtx<'_>) -> SqlResult<StatementResult> {
    if ins.on.is_some() || ins.returning.is_some() {
        return Err(SqlError::unsupported(
            "ON CONFLICT and RETURNING are not supported yet",
        ));
    }
    let ast::TableObject::TableName(tn) = &ins.table else {
        return Err(SqlError::unsupported("INSERT into a table function"));
    };
    let table = table_named(cx, tn)?;
    let targets: Vec<usize> = if ins.columns.is_empty() {
        (0..table.columns.len()).collect()
    } else {
        ins.columns
            .iter()
            .map(|c| {
                let n = ident(c);
                table.column_index(&n).ok_or_else(|| {
                    SqlError::UndefinedColumn(format!(
                        "column \"{n}\" of relation \"{}\" does not exist",
                        table.name
                    ))
                })
            })
            .collect::<SqlResult<_>>()?
    };
    let Some(source) = &ins.source else {
        return Err(SqlError::unsupported("INSERT without a source"));
    };
    let mut b = Binder::new(cx.catalog, cx.param_types);
    let plan = bind_query(&mut b, source)?;
    let width = plan.columns().len();
    if width > targets.len() {
        return Err(SqlError::Syntax(
            "INSERT has more expressions than target columns".into(),
        ));
    }
    let defaults = bind_defaults(&table, cx)?;
    let checks = bind_checks(&table, cx)?;
    let rows = collect(&plan, cx)?;
    let mut count = 0u64;
    for src in rows {
        let mut row = Vec::with_capacity(table.columns.len());
        for (i, c) in table.columns.iter().enumerate() {
            let v = match targets.iter().position(|t| *t == i).filter(|p| *p < width) {
                Some(p) => src[p].clone(),
                None => match &defaults[i] {
                    Some(d) => eval(d, &[], cx)?,
                    None => Value::Null,
                },
            };
            row.push(if v.is_null() { v } else { v.assign(&c.ty)? });
        }
        dml::check_row(&table, &row, &checks, cx)?;
        if !dml::insert_row(&table, &row, cx)? {
            let name = table
                .primary_key
                .as_ref()
                .map_or_else(String::new, |p| p.name.clone());
            return Err(SqlError::UniqueViolation(name));
        }
        count += 1;
    }
    Ok(StatementResult::Command(format!("INSERT 0 {count}")))
}

fn bind_defaults(table: &TableDef, cx: &ExecCtx<'_>) -> SqlResult<Vec<Option<Expr>>> {
    table
        .columns
        .iter()
        .map(|c| {
            c.default
                .as_ref()
                .map(|d| {
                    let e = parse_expr(d)?;
                    let mut b = Binder::new(cx.catalog, cx.param_types);
                    b.bind_expr(&e)
                })
                .transpose()
        })
        .collect()
}

/// Every row of `table` with its key, that `filter` (over the table's
/// columns) accepts. Rows are collected before they are changed so a
/// statement never sees its own writes.
fn matching_rows(
    table: &TableDef,
    filter: Option<&Expr>,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Vec<(Vec<u8>, Vec<Value>)>> {
    let types: Vec<DataType> = table.types();
    let prefix = table_prefix(table.id);
    let upper = prefix_end(&prefix);
    let mut lower = std::ops::Bound::Included(prefix);
    let mut out = Vec::new();
    loop {
        cx.check_cancel()?;
        let chunk = cx
            .txn
            .scan_chunk(lower.clone(), upper.clone(), false, 256)?;
        let Some((last, _)) = chunk.last() else { break };
        lower = std::ops::Bound::Excluded(last.clone());
        for (k, v) in chunk {
            let row = decode_row(&v, &types)?;
            if let Some(f) = filter
                && !eval_predicate(f, &row, cx)?
            {
                continue;
            }
            out.push((k, row));
        }
    }
    Ok(out)
}

fn bind_where(
    table: &TableDef,
    selection: Option<&ast::Expr>,
    cx: &ExecCtx<'_>,
) -> SqlResult<Option<Expr>> {
    selection
        .map(|w| {
            let mut b = Binder::new(cx.catalog, cx.param_types);
            b.scopes = vec![table_scope(table)];
            let e = b.bind_expr(w)?;
            if e.ty() != DataType::Bool {
                return Err(SqlError::DatatypeMismatch(format!(
                    "argument of WHERE must be type boolean, not type {}",
                    e.ty().name()
                )));
            }
            Ok(e)
        })
        .transpose()
}

fn delete(del: &ast::Delete, cx: &mut ExecCtx<'_>) -> SqlResult<StatementResult> {
    if del.returning.is_some() || del.using.is_some() {
        return Err(SqlError::unsupported(
            "DELETE ... USING/RETURNING is not supported yet",
        ));
    }
    let from = match &del.from {
        ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
    };
    let Some(ast::TableFactor::Table { name, .. }) = from.first().map(|t| &t.relation) else {
        return Err(SqlError::unsupported("DELETE from this source"));
    };
    let table = table_named(cx, name)?;
    let filter = bind_where(&table, del.selection.as_ref(), cx)?;
    let rows = matching_rows(&table, filter.as_ref(), cx)?;
    for (k, row) in &rows {
        dml::delete_row(&table, k, row, cx)?;
    }
    Ok(StatementResult::Command(format!("DELETE {}", rows.len())))
}

fn update(
    target: &ast::TableWithJoins,
    assignments: &[ast::Assignment],
    selection: Option<&ast::Expr>,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    let ast::TableFactor::Table { name, .. } = &target.relation else {
        return Err(SqlError::unsupported("UPDATE of this target"));
    };
    let table = table_named(cx, name)?;
    let filter = bind_where(&table, selection, cx)?;
    let mut sets = Vec::new();
    for a in assignments {
        let ast::AssignmentTarget::ColumnName(col) = &a.target else {
            return Err(SqlError::unsupported("UPDATE of a column tuple"));
        };
        let cname = object_name(col)?;
        let i = table.column_index(&cname).ok_or_else(|| {
            SqlError::UndefinedColumn(format!(
                "column \"{cname}\" of relation \"{}\" does not exist",
                table.name
            ))
        })?;
        let mut b = Binder::new(cx.catalog, cx.param_types);
        b.scopes = vec![table_scope(&table)];
        let e = b.bind_expr(&a.value)?;
        let e = b.coerce(e, table.columns[i].ty)?;
        sets.push((i, e));
    }
    let checks = bind_checks(&table, cx)?;
    let rows = matching_rows(&table, filter.as_ref(), cx)?;
    for (k, old) in &rows {
        let mut new = old.clone();
        for (i, e) in &sets {
            let v = eval(e, old, cx)?;
            new[*i] = if v.is_null() {
                v
            } else {
                v.assign(&table.columns[*i].ty)?
            };
        }
        dml::check_row(&table, &new, &checks, cx)?;
        dml::update_row(&table, k, old, &new, cx)?;
    }
    Ok(StatementResult::Command(format!("UPDATE {}", rows.len())))
}
