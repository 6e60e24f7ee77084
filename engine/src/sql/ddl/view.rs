//! CREATE [OR REPLACE] VIEW and DROP VIEW [IF EXISTS] [CASCADE]. A view is
//! its query's SQL text in the catalog, bound again wherever FROM names it
//! (`sql::binder::bind_from`); other views that read it depend on it, so
//! dropping it (or the table under it) needs CASCADE, which drops them too.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use sqlparser::ast::{self, Visit, Visitor};

use crate::SqlState;
use crate::catalog::{Catalog, CatalogWriter, ColumnDef, TableDef, ViewDef};
use crate::sql::binder::{Binder, bind_query, ident, object_name};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::ExecCtx;
use crate::sql::parser::{Statement, parse_sql};
use crate::sql::session::StatementResult;

/// Runs CREATE [OR REPLACE] VIEW.
pub(crate) fn create_view(
    stmt: &ast::Statement,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    let ast::Statement::CreateView {
        or_replace,
        materialized,
        temporary,
        name,
        columns,
        query,
        ..
    } = stmt
    else {
        return Err(SqlError::Internal("not CREATE VIEW".into()));
    };
    if *materialized {
        return Err(SqlError::unsupported(
            "materialized views are not supported",
        ));
    }
    if *temporary {
        return Err(SqlError::unsupported("temporary views are not supported"));
    }
    super::super::schema::check_create_relation(cx.catalog, cx.user, name)?;
    let name = object_name(name)?;
    let names: Vec<String> = columns.iter().map(|c| ident(&c.name)).collect();
    // Binding checks the query now, as PostgreSQL does, and gives the
    // view's columns.
    let plan = bind_query(&mut Binder::new(cx.catalog, &[]), query)?;
    let mut output = plan.columns();
    if names.len() > output.len() {
        return Err(SqlError::Syntax(
            "CREATE VIEW specifies more column names than columns".into(),
        ));
    }
    for (c, n) in output.iter_mut().zip(&names) {
        c.name = n.clone();
    }
    let mut seen = HashSet::new();
    for c in &output {
        if !seen.insert(c.name.as_str()) {
            return Err(SqlError::DuplicateColumn(format!(
                "column \"{}\" specified more than once",
                c.name
            )));
        }
    }
    let existing = cx.catalog.view(&name).cloned();
    let id = match &existing {
        Some(old) if *or_replace => {
            crate::sql::privilege::check_owner(cx.catalog, cx.user, old.id, &name)?;
            check_replacement(cx.catalog, old, &output)?;
            old.id
        }
        _ if cx.catalog.relation_exists(&name) => return Err(SqlError::DuplicateTable(name)),
        _ => {
            let mut w = CatalogWriter::new(cx.txn);
            let id = w.allocate_id()?;
            w.put_acl(id, &crate::catalog::Acl::table_of(cx.user))?;
            id
        }
    };
    CatalogWriter::new(cx.txn).put_view(&ViewDef {
        id,
        name,
        query: query.to_string(),
        columns: names,
    })?;
    Ok(StatementResult::Command("CREATE VIEW".into()))
}

/// OR REPLACE keeps the old columns (names and types, in order) and may
/// only add new ones after them, as in PostgreSQL.
fn check_replacement(
    catalog: &Catalog,
    old: &ViewDef,
    new: &[crate::sql::plan::Column],
) -> SqlResult<()> {
    let old_columns = view_columns(catalog, old)?;
    if new.len() < old_columns.len() {
        return Err(SqlError::Semantic {
            state: SqlState::INVALID_TABLE_DEFINITION,
            message: "cannot drop columns from view".into(),
        });
    }
    for (o, n) in old_columns.iter().zip(new) {
        if o.name != n.name {
            return Err(SqlError::Semantic {
                state: SqlState::INVALID_TABLE_DEFINITION,
                message: format!(
                    "cannot change name of view column \"{}\" to \"{}\"",
                    o.name, n.name
                ),
            });
        }
        if o.ty != n.ty {
            return Err(SqlError::Semantic {
                state: SqlState::INVALID_TABLE_DEFINITION,
                message: format!(
                    "cannot change data type of view column \"{}\" from {} to {}",
                    o.name,
                    o.ty.name(),
                    n.ty.name()
                ),
            });
        }
    }
    Ok(())
}

fn view_query(view: &ViewDef) -> SqlResult<Box<ast::Query>> {
    match parse_sql(&view.query)?.into_iter().next() {
        Some(Statement::Standard(stmt)) => match *stmt {
            ast::Statement::Query(q) => Ok(q),
            _ => Err(SqlError::Internal(format!(
                "view {} is not a query",
                view.name
            ))),
        },
        _ => Err(SqlError::Internal(format!(
            "view {} is not a query",
            view.name
        ))),
    }
}

fn view_columns(catalog: &Catalog, view: &ViewDef) -> SqlResult<Vec<crate::sql::plan::Column>> {
    let q = view_query(view)?;
    let mut columns = bind_query(&mut Binder::new(catalog, &[]), &q)?.columns();
    for (c, n) in columns.iter_mut().zip(&view.columns) {
        c.name = n.clone();
    }
    Ok(columns)
}

/// A view as a table of its output columns under the view's id: the
/// shape its INSTEAD OF triggers see and DML on it is bound against. It
/// has no constraints and no defaults (a column not inserted is NULL).
pub(crate) fn view_table(catalog: &Catalog, view: &ViewDef) -> SqlResult<Arc<TableDef>> {
    let columns = view_columns(catalog, view)?
        .into_iter()
        .map(|c| ColumnDef {
            name: c.name,
            ty: c.ty,
            not_null: false,
            default: None,
        })
        .collect();
    Ok(Arc::new(TableDef {
        id: view.id,
        name: view.name.clone(),
        columns,
        primary_key: None,
        indexes: Vec::new(),
        checks: Vec::new(),
        foreign_keys: Vec::new(),
    }))
}

/// Runs DROP VIEW.
pub(crate) fn drop_view(
    names: &[ast::ObjectName],
    if_exists: bool,
    cascade: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    for n in names {
        let name = object_name(n)?;
        match cx.catalog.view(&name).cloned() {
            Some(view) => {
                crate::sql::privilege::check_owner(cx.catalog, cx.user, view.id, &name)?;
                drop_dependent_views(&name, cascade, cx)?;
                CatalogWriter::new(cx.txn).drop_view(&view)?;
            }
            None if cx.catalog.table(&name).is_some() => {
                return Err(SqlError::Semantic {
                    state: SqlState::WRONG_OBJECT_TYPE,
                    message: format!("\"{name}\" is not a view"),
                });
            }
            None if if_exists => {}
            None => {
                return Err(SqlError::Semantic {
                    state: SqlState::UNDEFINED_TABLE,
                    message: format!("view \"{name}\" does not exist"),
                });
            }
        }
    }
    Ok(StatementResult::Command("DROP VIEW".into()))
}

/// Before relation `name` (a table or view) is dropped: the views that
/// read it, directly or through other views, block the drop (2BP01) or
/// with CASCADE go with it.
pub(crate) fn drop_dependent_views(
    name: &str,
    cascade: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<()> {
    let mut dropped: HashSet<String> = HashSet::new();
    let mut pending = vec![name.to_owned()];
    while let Some(target) = pending.pop() {
        let mut dependents = Vec::new();
        for v in cx.catalog.views() {
            if v.name != target && !dropped.contains(&v.name) && reads(&*view_query(v)?, &target) {
                dependents.push(v.clone());
            }
        }
        for v in dependents {
            if !cascade {
                return Err(SqlError::Semantic {
                    state: SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                    message: format!(
                        "cannot drop {name} because other objects depend on it (view {} depends on {target})",
                        v.name
                    ),
                });
            }
            CatalogWriter::new(cx.txn).drop_view(&v)?;
            dropped.insert(v.name.clone());
            pending.push(v.name);
        }
    }
    Ok(())
}

/// The first view whose query may read `column` of relation `table`: it
/// reads the relation and names the column or selects `*`. Views are kept
/// as SQL text, so the test is by name and errs towards "depends" (a
/// column of another relation with the same name counts), which refuses
/// a change PostgreSQL might allow rather than break a view.
pub(crate) fn view_reading_column(
    catalog: &Catalog,
    table: &str,
    column: &str,
) -> SqlResult<Option<String>> {
    for v in catalog.views() {
        let q = view_query(v)?;
        if reads(&q, table) && names_column(&q, column) {
            return Ok(Some(v.name.clone()));
        }
    }
    Ok(None)
}

/// Whether the query mentions a column called `name` or has a `*` item.
fn names_column(q: &ast::Query, name: &str) -> bool {
    struct Finder<'n>(&'n str);
    impl Visitor for Finder<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &ast::Query) -> ControlFlow<()> {
            if has_wildcard(&q.body) {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &ast::Expr) -> ControlFlow<()> {
            let named = match e {
                ast::Expr::Identifier(id) => Some(id),
                ast::Expr::CompoundIdentifier(parts) => parts.last(),
                _ => None,
            };
            if named.is_some_and(|id| ident(id) == self.0) {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    fn has_wildcard(body: &ast::SetExpr) -> bool {
        match body {
            ast::SetExpr::Select(s) => s.projection.iter().any(|item| {
                matches!(
                    item,
                    ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..)
                )
            }),
            ast::SetExpr::SetOperation { left, right, .. } => {
                has_wildcard(left) || has_wildcard(right)
            }
            ast::SetExpr::Query(q) => has_wildcard(&q.body),
            _ => false,
        }
    }
    q.visit(&mut Finder(name)).is_break()
}

/// Whether the query reads a relation called `name`.
fn reads(q: &ast::Query, name: &str) -> bool {
    struct Finder<'n>(&'n str);
    impl Visitor for Finder<'_> {
        type Break = ();
        fn pre_visit_relation(&mut self, relation: &ast::ObjectName) -> ControlFlow<()> {
            if object_name(relation).is_ok_and(|n| n == self.0) {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    q.visit(&mut Finder(name)).is_break()
}
