//! `CREATE [OR REPLACE] TRIGGER`, `DROP TRIGGER` and `ALTER TABLE …
//! {ENABLE | DISABLE} TRIGGER`, with PostgreSQL's checks and errors.

use std::ops::ControlFlow;
use std::sync::Arc;

use rustydb_engine::catalog::TableDef;
use rustydb_engine::catalog::routine;
use rustydb_engine::extension::{
    HookContext, RoutineKind, TriggerLevel, TriggerOperation, TriggerTiming,
};
use rustydb_engine::sql::parser::{CreateTrigger, TriggerDdl, TriggerScope};
use sqlparser::ast;

use crate::catalog::{self, TriggerDef};
use crate::error::{TriggerError, TriggerResult};

/// Runs a trigger DDL statement and returns its command tag.
pub(crate) fn run(cx: &mut dyn HookContext, ddl: &TriggerDdl) -> TriggerResult<String> {
    match ddl {
        TriggerDdl::Create(c) => create(cx, c).map(|()| "CREATE TRIGGER".to_owned()),
        TriggerDdl::Drop {
            name,
            table,
            if_exists,
        } => {
            let table = table_named(cx, table)?;
            let name = ident(name);
            if catalog::get(cx.txn(), table.id, &name)?.is_none() {
                if *if_exists {
                    return Ok("DROP TRIGGER".into());
                }
                return Err(TriggerError::UndefinedTrigger {
                    trigger: name,
                    table: table.name.clone(),
                });
            }
            catalog::delete(cx.txn(), table.id, &name)?;
            Ok("DROP TRIGGER".into())
        }
        TriggerDdl::SetEnabled {
            table,
            trigger,
            enabled,
        } => {
            let table = table_named(cx, table)?;
            let defs = match trigger {
                Some(name) => {
                    let name = ident(name);
                    match catalog::get(cx.txn(), table.id, &name)? {
                        Some(d) => vec![d],
                        None => {
                            return Err(TriggerError::UndefinedTrigger {
                                trigger: name,
                                table: table.name.clone(),
                            });
                        }
                    }
                }
                None => catalog::list(cx.txn(), table.id)?,
            };
            for mut d in defs {
                d.enabled = *enabled;
                catalog::put(cx.txn(), &d)?;
            }
            Ok("ALTER TABLE".into())
        }
    }
}

/// The triggers, on any table or view, whose function is `schema.name`,
/// as `trigger t on table x`; with `drop`, dropped too.
pub(crate) fn routine_dependents(
    cx: &mut dyn HookContext,
    schema: &str,
    name: &str,
    drop: bool,
) -> TriggerResult<Vec<String>> {
    let relations: Vec<(u32, String, &'static str)> = cx
        .catalog()
        .tables()
        .map(|t| (t.id, t.name.clone(), "table"))
        .chain(cx.catalog().views().map(|v| (v.id, v.name.clone(), "view")))
        .collect();
    let mut out = Vec::new();
    for (id, relation, kind) in relations {
        for d in catalog::list(cx.txn(), id)? {
            if d.function_schema == schema && d.function_name == name {
                out.push(format!("trigger {} on {kind} {relation}", d.name));
                if drop {
                    catalog::delete(cx.txn(), id, &d.name)?;
                }
            }
        }
    }
    Ok(out)
}

/// An identifier as PostgreSQL folds it: lower case unless quoted.
fn ident(i: &ast::Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

/// `[schema.]name`, with `public` for an unqualified name.
fn qualified(name: &ast::ObjectName) -> TriggerResult<(String, String)> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| {
            p.as_ident()
                .map(ident)
                .ok_or_else(|| TriggerError::InvalidDefinition(format!("invalid name {name}")))
        })
        .collect::<TriggerResult<_>>()?;
    match parts.as_slice() {
        [n] => Ok(("public".to_owned(), n.clone())),
        [s, n] => Ok((s.clone(), n.clone())),
        _ => Err(TriggerError::InvalidDefinition(format!(
            "improper qualified name (too many dotted names): {name}"
        ))),
    }
}

/// The table or view `name`, and whether it is a view (as a table of its
/// output columns, keyed by the view's id).
fn relation_named(
    cx: &mut dyn HookContext,
    name: &ast::ObjectName,
) -> TriggerResult<(Arc<TableDef>, bool)> {
    let (schema, n) = qualified(name)?;
    if schema == "public" {
        if let Some(t) = cx.catalog().table(&n).cloned() {
            return Ok((t, false));
        }
        if let Some(v) = cx.view(&n)? {
            return Ok((v, true));
        }
    }
    Err(TriggerError::UndefinedTable(n))
}

fn table_named(cx: &mut dyn HookContext, name: &ast::ObjectName) -> TriggerResult<Arc<TableDef>> {
    relation_named(cx, name).map(|(t, _)| t)
}

/// PostgreSQL's rules on which triggers a relation may have: INSTEAD OF
/// only on views and only FOR EACH ROW, without WHEN or column lists; on
/// views no BEFORE / AFTER row triggers, TRUNCATE or transition tables.
fn check_relation_kind(
    c: &CreateTrigger,
    relation: &str,
    is_view: bool,
    timing: TriggerTiming,
    level: TriggerLevel,
) -> TriggerResult<()> {
    let wrong = |kind, detail| {
        Err(TriggerError::WrongObjectType {
            relation: relation.to_owned(),
            kind,
            detail,
        })
    };
    if timing == TriggerTiming::InsteadOf {
        if !is_view {
            return wrong("table", "Tables cannot have INSTEAD OF triggers.");
        }
        if level != TriggerLevel::Row {
            return Err(TriggerError::Unsupported(
                "INSTEAD OF triggers must be FOR EACH ROW".into(),
            ));
        }
        if c.condition.is_some() {
            return Err(TriggerError::Unsupported(
                "INSTEAD OF triggers cannot have WHEN conditions".into(),
            ));
        }
        if c.events
            .iter()
            .any(|e| matches!(e, ast::TriggerEvent::Update(cols) if !cols.is_empty()))
        {
            return Err(TriggerError::Unsupported(
                "INSTEAD OF triggers cannot have column lists".into(),
            ));
        }
    }
    if is_view {
        if timing != TriggerTiming::InsteadOf && level == TriggerLevel::Row {
            return wrong(
                "view",
                "Views cannot have row-level BEFORE or AFTER triggers.",
            );
        }
        if c.events.contains(&ast::TriggerEvent::Truncate) {
            return wrong("view", "Views cannot have TRUNCATE triggers.");
        }
        if !c.referencing.is_empty() {
            return wrong("view", "Triggers on views cannot have transition tables.");
        }
    }
    Ok(())
}

fn create(cx: &mut dyn HookContext, c: &CreateTrigger) -> TriggerResult<()> {
    let timing = match c.timing {
        ast::TriggerPeriod::Before => TriggerTiming::Before,
        ast::TriggerPeriod::InsteadOf => TriggerTiming::InsteadOf,
        _ => TriggerTiming::After,
    };
    let level = match c.scope {
        TriggerScope::Row => TriggerLevel::Row,
        TriggerScope::Statement => TriggerLevel::Statement,
    };
    let (table, is_view) = relation_named(cx, &c.table)?;
    check_relation_kind(c, &table.name, is_view, timing, level)?;
    let name = ident(&c.name);

    let mut operations = Vec::new();
    let mut update_columns = Vec::new();
    for e in &c.events {
        let op = match e {
            ast::TriggerEvent::Insert => TriggerOperation::Insert,
            ast::TriggerEvent::Update(cols) => {
                for col in cols {
                    let col = ident(col);
                    if table.column_index(&col).is_none() {
                        return Err(TriggerError::UndefinedColumn {
                            column: col,
                            table: table.name.clone(),
                        });
                    }
                    if !update_columns.contains(&col) {
                        update_columns.push(col);
                    }
                }
                TriggerOperation::Update
            }
            ast::TriggerEvent::Delete => TriggerOperation::Delete,
            ast::TriggerEvent::Truncate => TriggerOperation::Truncate,
        };
        if !operations.contains(&op) {
            operations.push(op);
        }
    }
    if level == TriggerLevel::Row && operations.contains(&TriggerOperation::Truncate) {
        return Err(TriggerError::Unsupported(
            "TRUNCATE FOR EACH ROW triggers are not supported".into(),
        ));
    }

    let (old_table, new_table) = transition_names(c, timing, &operations, &update_columns)?;
    let condition = match &c.condition {
        Some(e) => {
            check_condition_refs(e, level, &operations)?;
            cx.bind_condition(&table, e)?;
            Some(e.to_string())
        }
        None => None,
    };

    let (function_schema, function_name) = qualified(&c.function)?;
    let function = routine::routine(cx.txn(), &function_schema, &function_name)?
        .ok_or_else(|| TriggerError::UndefinedFunction(shown(&function_schema, &function_name)))?;
    if function.kind != RoutineKind::Trigger {
        return Err(TriggerError::NotATriggerFunction(shown(
            &function_schema,
            &function_name,
        )));
    }

    if !c.or_replace && catalog::get(cx.txn(), table.id, &name)?.is_some() {
        return Err(TriggerError::DuplicateTrigger {
            trigger: name,
            table: table.name.clone(),
        });
    }
    catalog::put(
        cx.txn(),
        &TriggerDef {
            name,
            table_id: table.id,
            timing,
            operations,
            update_columns,
            level,
            condition,
            function_schema,
            function_name,
            args: c.args.clone(),
            old_table,
            new_table,
            enabled: true,
        },
    )
}

fn shown(schema: &str, name: &str) -> String {
    if schema == "public" {
        name.to_owned()
    } else {
        format!("{schema}.{name}")
    }
}

/// `REFERENCING OLD TABLE AS a NEW TABLE AS b`, checked as PostgreSQL does.
fn transition_names(
    c: &CreateTrigger,
    timing: TriggerTiming,
    operations: &[TriggerOperation],
    update_columns: &[String],
) -> TriggerResult<(Option<String>, Option<String>)> {
    let mut old = None;
    let mut new = None;
    for (kind, name) in &c.referencing {
        if timing != TriggerTiming::After {
            return Err(TriggerError::InvalidDefinition(
                "transition table name can only be specified for an AFTER trigger".into(),
            ));
        }
        if operations.contains(&TriggerOperation::Truncate) {
            return Err(TriggerError::InvalidDefinition(
                "TRUNCATE triggers with transition tables are not supported".into(),
            ));
        }
        if !update_columns.is_empty() {
            return Err(TriggerError::InvalidDefinition(
                "transition tables cannot be specified for triggers with column lists".into(),
            ));
        }
        let slot = match kind {
            ast::TriggerReferencingType::OldTable => {
                if !operations
                    .iter()
                    .any(|op| matches!(op, TriggerOperation::Update | TriggerOperation::Delete))
                {
                    return Err(TriggerError::InvalidDefinition(
                        "OLD TABLE can only be specified for a DELETE or UPDATE trigger".into(),
                    ));
                }
                &mut old
            }
            ast::TriggerReferencingType::NewTable => {
                if !operations
                    .iter()
                    .any(|op| matches!(op, TriggerOperation::Insert | TriggerOperation::Update))
                {
                    return Err(TriggerError::InvalidDefinition(
                        "NEW TABLE can only be specified for an INSERT or UPDATE trigger".into(),
                    ));
                }
                &mut new
            }
        };
        if slot.is_some() {
            return Err(TriggerError::InvalidDefinition(
                "a transition table may be specified only once per kind".into(),
            ));
        }
        *slot = Some(ident(name));
    }
    if old.is_some() && old == new {
        return Err(TriggerError::InvalidDefinition(
            "OLD TABLE name and NEW TABLE name cannot be the same".into(),
        ));
    }
    Ok((old, new))
}

/// PostgreSQL's rules for what a `WHEN` condition may reference.
fn check_condition_refs(
    e: &ast::Expr,
    level: TriggerLevel,
    operations: &[TriggerOperation],
) -> TriggerResult<()> {
    let mut old = false;
    let mut new = false;
    let mut bare = false;
    let _ = ast::visit_expressions(e, |x| {
        match x {
            ast::Expr::CompoundIdentifier(parts) => match parts.first().map(ident).as_deref() {
                Some("old") => old = true,
                Some("new") => new = true,
                _ => {}
            },
            ast::Expr::Identifier(_) => bare = true,
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    if level == TriggerLevel::Statement && (old || new || bare) {
        return Err(TriggerError::Unsupported(
            "statement trigger's WHEN condition cannot reference column values".into(),
        ));
    }
    if old && operations.contains(&TriggerOperation::Insert) {
        return Err(TriggerError::InvalidDefinition(
            "INSERT trigger's WHEN condition cannot reference OLD values".into(),
        ));
    }
    if new && operations.contains(&TriggerOperation::Delete) {
        return Err(TriggerError::InvalidDefinition(
            "DELETE trigger's WHEN condition cannot reference NEW values".into(),
        ));
    }
    Ok(())
}
