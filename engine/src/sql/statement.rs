//! Running one statement inside the session's transaction.

use sqlparser::ast;

use crate::catalog::{CatalogWriter, CheckDef, ColumnDef, IndexDef, KeyConstraint, TableDef};
use crate::types::{DataType, Value};

use super::binder::{Binder, bind_query, data_type, ident, object_name};
use super::ddl::foreign_key::{PendingForeignKey, before_drop_table};
use super::ddl::view::{self, drop_dependent_views};
use super::error::{SqlError, SqlResult};
use super::exec::{ExecCtx, collect};
use super::parser::Statement;
use super::prepared::{sql_execute_args, sql_execute_lookup};
use super::sequence::{self, SessionSequences};
use super::session::{ColumnDesc, Session, StatementResult};
use super::{dml, explain, index_ddl};

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
    if let Some(result) = super::hooks::execute(session, s, params, param_types) {
        return result;
    }
    if let Some(result) = super::schema::execute(session, s) {
        return result;
    }
    if let Some(result) = super::role_membership::execute(session, s) {
        return result;
    }
    if let Some(result) = super::role_owned::execute(session, s) {
        return result;
    }
    let stmt = match s {
        Statement::Standard(stmt) => Some(stmt.as_ref()),
        Statement::Analyze { .. } => None,
        Statement::CreateModule { .. }
        | Statement::DropModule { .. }
        | Statement::CreateProcedure(_)
        | Statement::Trigger(_)
        | Statement::CreateFunction(_)
        | Statement::DropRoutine { .. } => {
            return Err(SqlError::Internal(
                "routine and trigger statements are run by sql::routine and sql::hooks".into(),
            ));
        }
        Statement::CreateResourceGroup { .. }
        | Statement::AlterResourceGroup { .. }
        | Statement::DropResourceGroup { .. }
        | Statement::AttachResourceGroup { .. } => None,
        Statement::RoleGrant(_) | Statement::Owned(_) | Statement::Reset { .. } => {
            return Err(SqlError::Internal(
                "role grants, OWNED and RESET are run by sql::role_membership, role_owned and settings"
                    .into(),
            ));
        }
    };
    // EXECUTE runs another statement in this one's place: look it up
    // while the session is free, evaluate the arguments below.
    let executing = match stmt {
        Some(ast::Statement::Execute {
            name: Some(name),
            parameters,
            ..
        }) => Some((sql_execute_lookup(session, name, parameters)?, parameters)),
        _ => None,
    };
    let now = session.txn_start;
    let cancel = session.cancel.clone();
    let cache = session.catalog.clone();
    let invoker = session.invoker.clone();
    let user = session.user.clone();
    let session_user = session.session_user.clone();
    let transition_tables = session.transition_tables.clone();
    let settings = super::settings::StatementSettings::of(session);
    let txn = session
        .txn
        .as_mut()
        .ok_or_else(|| SqlError::Internal("no transaction".into()))?;
    let catalog = cache.get(txn.as_mut())?;
    let routines = super::routine::query_calls::for_session(session, &catalog);
    let txn = session
        .txn
        .as_mut()
        .ok_or_else(|| SqlError::Internal("no transaction".into()))?;
    let sequences = SessionSequences {
        kv: session.kv.clone(),
        catalog: catalog.clone(),
        current: session.sequence_values.clone(),
        blocks: session.sequence_blocks.clone(),
    };
    let mut cx = ExecCtx {
        txn: txn.as_mut(),
        catalog: &catalog,
        params,
        param_types,
        outer: Vec::new(),
        now,
        cancel: &cancel,
        sequences: &sequences,
        user: &user,
        session_user: &session_user,
        settings: &settings,
        routines: routines.as_ref(),
        init_plans: Default::default(),
    };
    if let Some((prepared, args)) = executing {
        let values = sql_execute_args(&prepared, args, &mut cx);
        drop(cx);
        if let Some(r) = &routines {
            session.notices.extend(r.take_notices());
        }
        let values = values?;
        super::settings::apply(session, settings.take_changes())?;
        let types: Vec<Option<DataType>> = prepared.param_types.iter().copied().map(Some).collect();
        return execute(session, &prepared.statement, &values, &types);
    }
    let result = (|| {
        let Some(stmt) = stmt else {
            return match s {
                Statement::Analyze { tables } => super::analyze::execute(tables, &mut cx),
                Statement::CreateResourceGroup { name, options } => {
                    super::resource_group::create(name, options, &mut cx)
                }
                Statement::AlterResourceGroup { name, options } => {
                    super::resource_group::alter(name, options, &mut cx)
                }
                Statement::DropResourceGroup { name, if_exists } => {
                    super::resource_group::drop(name, *if_exists, &mut cx)
                }
                Statement::AttachResourceGroup { target, group } => {
                    super::resource_group::attach(target, group.as_ref(), &mut cx)
                }
                _ => Err(SqlError::Internal("statement kind not dispatched".into())),
            };
        };
        if let Some(result) = super::role::execute(stmt, &mut cx) {
            return result;
        }
        if let Some(result) = super::privilege::execute(stmt, &mut cx) {
            return result;
        }
        use ast::Statement as A;
        match stmt {
            A::Query(q) => {
                let views =
                    super::routine::views::for_query(q, cx.txn, cx.catalog, invoker.as_ref())?;
                let mut binder = Binder::for_statement(&cx, views.as_ref());
                binder.ctes = transition_tables;
                let plan = bind_query(&mut binder, q)?;
                let rows = collect(&plan, &mut cx)?;
                let columns = ColumnDesc::of_plan(&plan);
                let tag = format!("SELECT {}", rows.len());
                Ok(StatementResult::Rows { columns, rows, tag })
            }
            A::CreateTable(ct) => create_table(ct, &mut cx),
            A::Drop {
                object_type: ast::ObjectType::Table,
                if_exists,
                names,
                cascade,
                ..
            } => {
                for n in names {
                    let name = object_name(n)?;
                    match catalog.table(&name) {
                        Some(t) => {
                            super::privilege::check_owner(&catalog, &user, t.id, &name)?;
                            before_drop_table(t, *cascade, &mut cx)?;
                            drop_dependent_views(&name, *cascade, &mut cx)?;
                            CatalogWriter::new(cx.txn).drop_table(t)?;
                            sequence::drop_owned(t, &mut cx)?;
                        }
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
            A::Insert(_) | A::Delete(_) | A::Update { .. } => {
                dml::execute(stmt, &mut cx, &mut super::hooks::Firing::none())
            }
            A::CreateSequence {
                name,
                if_not_exists,
                data_type,
                sequence_options,
                ..
            } => sequence::create_sequence(
                name,
                *if_not_exists,
                data_type.as_ref(),
                sequence_options,
                &mut cx,
            ),
            A::Drop {
                object_type: ast::ObjectType::Sequence,
                if_exists,
                names,
                ..
            } => sequence::drop_sequence(names, *if_exists, &mut cx),
            A::CreateIndex(ci) => index_ddl::create_index(ci, &mut cx),
            A::CreateView { .. } => view::create_view(stmt, &mut cx),
            A::Drop {
                object_type: ast::ObjectType::View,
                if_exists,
                names,
                cascade,
                ..
            } => view::drop_view(names, *if_exists, *cascade, &mut cx),
            A::Copy { .. } => super::copy::execute(stmt, &mut cx),
            A::Truncate { .. } | A::AlterTable { .. } | A::Vacuum(_) => {
                super::ddl::execute(stmt, &mut cx)
            }
            A::Drop {
                object_type: ast::ObjectType::Index,
                if_exists,
                names,
                ..
            } => index_ddl::drop_index(names, *if_exists, &mut cx),
            A::Explain {
                statement, analyze, ..
            } => explain::explain_statement(statement, *analyze, &mut cx),
            other => Err(SqlError::unsupported(format!(
                "statement is not supported yet: {}",
                other.to_string().chars().take(40).collect::<String>()
            ))),
        }
    })();
    drop(cx);
    // What the statement's Wasm functions logged reaches the client even
    // when the statement failed.
    if let Some(r) = &routines {
        session.notices.extend(r.take_notices());
    }
    let result = result?;
    super::settings::apply(session, settings.take_changes())?;
    Ok(result)
}

fn create_table(ct: &ast::CreateTable, cx: &mut ExecCtx<'_>) -> SqlResult<StatementResult> {
    if ct.temporary {
        // A table that outlived its session would not be temporary.
        return Err(SqlError::unsupported("temporary tables are not supported"));
    }
    super::schema::check_create_relation(cx.catalog, cx.user, &ct.name)?;
    let name = object_name(&ct.name)?;
    if cx.catalog.relation_exists(&name) {
        if ct.if_not_exists {
            return Ok(StatementResult::Command("CREATE TABLE".into()));
        }
        return Err(SqlError::DuplicateTable(name));
    }
    let id = CatalogWriter::new(cx.txn).allocate_id()?;
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
    let mut foreign_keys = Vec::new();
    for (i, c) in ct.columns.iter().enumerate() {
        let cname = ident(&c.name);
        if table.column_index(&cname).is_some() {
            return Err(SqlError::DuplicateColumn(format!(
                "column \"{cname}\" specified more than once"
            )));
        }
        let serial = sequence::serial_type(&c.data_type);
        let mut col = ColumnDef {
            name: cname.clone(),
            ty: match serial {
                Some(t) => t,
                None => data_type(&c.data_type)?,
            },
            not_null: serial.is_some(),
            default: match serial {
                Some(t) => Some(sequence::create_serial(&table, &cname, t, cx)?),
                None => None,
            },
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
                ast::ColumnOption::ForeignKey {
                    foreign_table,
                    referred_columns,
                    on_delete,
                    on_update,
                    ..
                } => foreign_keys.push(PendingForeignKey::new(
                    opt.name.as_ref(),
                    vec![i],
                    foreign_table,
                    referred_columns,
                    on_delete.as_ref(),
                    on_update.as_ref(),
                )?),
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
            ast::TableConstraint::ForeignKey {
                name: cn,
                columns,
                foreign_table,
                referred_columns,
                on_delete,
                on_update,
                ..
            } => {
                let p = columns
                    .iter()
                    .map(|c| {
                        let n = ident(c);
                        table.column_index(&n).ok_or_else(|| {
                            SqlError::UndefinedColumn(format!(
                                "column \"{n}\" referenced in foreign key constraint does not exist"
                            ))
                        })
                    })
                    .collect::<SqlResult<Vec<_>>>()?;
                foreign_keys.push(PendingForeignKey::new(
                    cn.as_ref(),
                    p,
                    foreign_table,
                    referred_columns,
                    on_delete.as_ref(),
                    on_update.as_ref(),
                )?);
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
        let index_id = CatalogWriter::new(cx.txn).allocate_id()?;
        table.indexes.push(IndexDef {
            id: index_id,
            name: cname,
            columns: cols,
            expressions: Vec::new(),
            unique: true,
            constraint: true,
        });
    }
    for fk in foreign_keys {
        let fk = fk.resolve(&table, cx)?;
        table.foreign_keys.push(fk);
    }
    let mut w = CatalogWriter::new(cx.txn);
    w.put_table(&table)?;
    w.put_acl(table.id, &crate::catalog::Acl::table_of(cx.user))?;
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
