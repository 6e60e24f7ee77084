//! TRUNCATE, VACUUM and ALTER TABLE: the DDL that changes or empties an
//! existing table.
//!
//! Every change happens inside the statement's transaction, rows and
//! catalog alike, so a failing ALTER TABLE (a duplicate key met while
//! re-keying a table) leaves neither a half-rewritten table nor a catalog
//! that disagrees with its rows.

mod alter;
mod alter_column;
mod constraint;
pub(crate) mod foreign_key;
pub(crate) mod view;

use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::catalog::{CatalogWriter, TableDef, index_prefix, prefix_end, table_prefix};
use crate::types::{Value, decode_row};

use super::binder::object_name;
use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::session::StatementResult;

/// Parses PostgreSQL's VACUUM; the parser stands on `VACUUM`.
///
/// `VACUUM [ ( option [, …] ) ] [ FULL ] [ FREEZE ] [ VERBOSE ] [ ANALYZE ]
/// [ table [ ( column [, …] ) ] [, …] ]`. sqlparser's VACUUM is Redshift's
/// and would read `ANALYZE` as a table name. The statement keeps the first
/// table only (sqlparser's `VacuumStatement` holds one); VACUUM changes no
/// data here, so the others would only be checked for existence.
pub(crate) fn parse_vacuum(parser: &mut Parser<'_>) -> Result<ast::Statement, ParserError> {
    parser.expect_keyword(Keyword::VACUUM)?;
    let mut full = false;
    if parser.consume_token(&Token::LParen) {
        loop {
            let option = parser.parse_identifier()?.value.to_lowercase();
            full |= option == "full";
            // An option may carry a value: `(ANALYZE true, PARALLEL 2)`.
            if !matches!(parser.peek_token().token, Token::Comma | Token::RParen) {
                parser.next_token();
            }
            if !parser.consume_token(&Token::Comma) {
                break;
            }
        }
        parser.expect_token(&Token::RParen)?;
    }
    while let Some(k) = parser.parse_one_of_keywords(&[
        Keyword::FULL,
        Keyword::FREEZE,
        Keyword::VERBOSE,
        Keyword::ANALYZE,
    ]) {
        full |= k == Keyword::FULL;
    }
    let mut table_name = None;
    if matches!(parser.peek_token().token, Token::Word(_)) {
        loop {
            let name = parser.parse_object_name(false)?;
            let _ = parser
                .parse_parenthesized_column_list(sqlparser::parser::IsOptional::Optional, false)?;
            table_name.get_or_insert(name);
            if !parser.consume_token(&Token::Comma) {
                break;
            }
        }
    }
    Ok(ast::Statement::Vacuum(ast::VacuumStatement {
        full,
        sort_only: false,
        delete_only: false,
        reindex: false,
        recluster: false,
        table_name,
        threshold: None,
        boost: false,
    }))
}

/// Runs TRUNCATE, VACUUM or ALTER TABLE.
pub(crate) fn execute(stmt: &ast::Statement, cx: &mut ExecCtx<'_>) -> SqlResult<StatementResult> {
    match stmt {
        ast::Statement::Truncate { table_names, .. } => {
            truncate(table_names, cx, &mut crate::sql::hooks::Firing::none())
        }
        ast::Statement::Vacuum(v) => {
            // Old row versions are reclaimed by the MVCC layer's background
            // vacuum and whenever a key is written again, and statistics
            // are not kept, so VACUUM [ANALYZE] has nothing left to do
            // beyond naming an existing table.
            if let Some(name) = &v.table_name {
                table(cx, name)?;
            }
            Ok(StatementResult::Command("VACUUM".into()))
        }
        ast::Statement::AlterTable {
            name,
            if_exists,
            operations,
            ..
        } => {
            let n = object_name(name)?;
            if cx.catalog.table(&n).is_none() && *if_exists {
                return Ok(StatementResult::Command("ALTER TABLE".into()));
            }
            let mut current = (*table(cx, name)?).clone();
            crate::sql::privilege::check_owner(cx.catalog, cx.user, current.id, &n)?;
            for op in operations {
                current = alter::apply(current, op, cx)?;
            }
            Ok(StatementResult::Command("ALTER TABLE".into()))
        }
        _ => Err(SqlError::Internal("not a DDL statement of sql::ddl".into())),
    }
}

fn table(cx: &ExecCtx<'_>, name: &ast::ObjectName) -> SqlResult<std::sync::Arc<TableDef>> {
    let n = object_name(name)?;
    cx.catalog
        .table(&n)
        .cloned()
        .ok_or(SqlError::UndefinedTable(n))
}

/// Runs TRUNCATE with its statement triggers.
pub(crate) fn execute_truncate(
    stmt: &ast::Statement,
    cx: &mut ExecCtx<'_>,
    fire: &mut crate::sql::hooks::Firing<'_, '_>,
) -> SqlResult<StatementResult> {
    match stmt {
        ast::Statement::Truncate { table_names, .. } => truncate(table_names, cx, fire),
        _ => Err(SqlError::Internal("not TRUNCATE".into())),
    }
}

/// `TRUNCATE [TABLE] a, b, …`: every named table loses all its rows and
/// index entries, between its BEFORE and AFTER TRUNCATE triggers. As in
/// PostgreSQL, a table referenced by a foreign key of a table not
/// truncated with it cannot be emptied.
fn truncate(
    names: &[ast::TruncateTableTarget],
    cx: &mut ExecCtx<'_>,
    fire: &mut crate::sql::hooks::Firing<'_, '_>,
) -> SqlResult<StatementResult> {
    let tables = names
        .iter()
        .map(|t| table(cx, &t.name))
        .collect::<SqlResult<Vec<_>>>()?;
    for t in &tables {
        crate::sql::privilege::check_table(
            cx.catalog,
            cx.user,
            t.id,
            &t.name,
            crate::catalog::Privileges::TRUNCATE,
        )?;
    }
    for other in cx.catalog.tables() {
        if tables.iter().any(|t| t.id == other.id) {
            continue;
        }
        if let Some(t) = tables
            .iter()
            .find(|t| other.foreign_keys.iter().any(|fk| fk.ref_table == t.id))
        {
            return Err(SqlError::unsupported(format!(
                "cannot truncate a table referenced in a foreign key constraint: \
                 table \"{}\" references \"{}\"",
                other.name, t.name
            )));
        }
    }
    for t in &tables {
        cx.check_cancel()?;
        let mut fire = fire.open(cx, t, &[crate::extension::TriggerOperation::Truncate], &[])?;
        fire.before_statement(cx)?;
        let mut w = CatalogWriter::new(cx.txn);
        w.delete_prefix(&table_prefix(t.id))?;
        for index in &t.indexes {
            w.delete_prefix(&index_prefix(index.id))?;
        }
        fire.after_statement(cx)?;
    }
    Ok(StatementResult::Command("TRUNCATE TABLE".into()))
}

/// Every row of `table` with its storage key, in key order.
pub(crate) fn all_rows(
    table: &TableDef,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Vec<(Vec<u8>, Vec<Value>)>> {
    let types = table.types();
    let prefix = table_prefix(table.id);
    let upper = prefix_end(&prefix);
    let mut out = Vec::new();
    scan_range(cx, std::ops::Bound::Included(prefix), upper, |_, k, v| {
        out.push((k, decode_row(&v, &types)?));
        Ok(())
    })?;
    Ok(out)
}

/// Visits every key and value of the transaction between `lower` and
/// `upper`, in key order, a chunk at a time so a long scan notices a
/// cancel request. The visitor gets the context back to read other keys.
pub(crate) fn scan_range(
    cx: &mut ExecCtx<'_>,
    mut lower: std::ops::Bound<Vec<u8>>,
    upper: std::ops::Bound<Vec<u8>>,
    mut visit: impl FnMut(&mut ExecCtx<'_>, Vec<u8>, Vec<u8>) -> SqlResult<()>,
) -> SqlResult<()> {
    loop {
        cx.check_cancel()?;
        let chunk = cx
            .txn
            .scan_chunk(lower.clone(), upper.clone(), false, 256)?;
        let Some((last, _)) = chunk.last() else {
            return Ok(());
        };
        lower = std::ops::Bound::Excluded(last.clone());
        for (k, v) in chunk {
            visit(cx, k, v)?;
        }
    }
}
