//! `COPY`: what a COPY statement means (which table or query, which
//! columns, which options) and storing the rows of a COPY FROM STDIN.
//!
//! The engine never sees COPY's bytes: the wire server parses and encodes
//! the data stream. A `COPY … FROM STDIN` returns
//! [`StatementResult::CopyIn`] naming the target, the caller gathers the
//! rows and hands them to [`Session::copy_in`], which stores them through
//! the same row path as INSERT (defaults, NOT NULL, CHECK, unique keys and
//! index entries) as one statement: all rows or none. `COPY … TO STDOUT`
//! runs its query and returns [`StatementResult::CopyOut`] with the rows.
//!
//! sqlparser's own COPY parser expects the data inline after a semicolon
//! (a psql script) and knows only boolean options spelled TRUE/FALSE, while
//! clients send the bare statement (`copy t from stdin with (freeze on)`);
//! [`parse_copy`] therefore parses COPY with the parser's primitives into
//! sqlparser's `Statement::Copy`, leaving the data to the protocol.

use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{IsOptional, Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::types::Value;

use super::binder::{Binder, bind_query, ident, object_name};
use super::dml;
use super::dml::target::{bind_checks, bind_defaults};
use super::error::{SqlError, SqlResult};
use super::exec::{ExecCtx, collect};
use super::parser::{Statement, parse_sql};
use super::session::{ColumnDesc, Session, StatementResult};

/// The data format of a COPY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFileFormat {
    /// PostgreSQL's text format: delimited, `\N` for NULL, backslash escapes.
    Text,
    /// CSV.
    Csv,
}

/// The options of a COPY, with PostgreSQL's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    /// `FORMAT text | csv`
    pub format: CopyFileFormat,
    /// `DELIMITER`: tab for text, comma for CSV.
    pub delimiter: char,
    /// `NULL`: `\N` for text, the empty string for CSV.
    pub null: String,
    /// `HEADER`: the first line names the columns (CSV only).
    pub header: bool,
    /// `QUOTE` (CSV).
    pub quote: char,
    /// `ESCAPE` (CSV).
    pub escape: char,
}

/// Where the rows of a `COPY … FROM STDIN` go.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyInTarget {
    /// The table's name.
    pub table: String,
    /// The columns the data fills, in the order of the data.
    pub columns: Vec<ColumnDesc>,
    /// The options the data is written in.
    pub options: CopyOptions,
    /// The table's id when the statement ran: a table dropped and created
    /// again meanwhile is a different table.
    table_id: u32,
    /// Column positions in the table, one per data column.
    positions: Vec<usize>,
}

/// Parses a COPY statement; the parser stands on the `COPY` keyword.
pub(crate) fn parse_copy(parser: &mut Parser<'_>) -> Result<ast::Statement, ParserError> {
    parser.expect_keyword(Keyword::COPY)?;
    let source = if parser.consume_token(&Token::LParen) {
        let query = parser.parse_query()?;
        parser.expect_token(&Token::RParen)?;
        ast::CopySource::Query(query)
    } else {
        let table_name = parser.parse_object_name(false)?;
        let columns = parser.parse_parenthesized_column_list(IsOptional::Optional, false)?;
        ast::CopySource::Table {
            table_name,
            columns,
        }
    };
    let to = match parser.parse_one_of_keywords(&[Keyword::FROM, Keyword::TO]) {
        Some(Keyword::TO) => true,
        Some(_) => false,
        None => return parser.expected("FROM or TO", parser.peek_token()),
    };
    let target = if parser.parse_keyword(Keyword::STDIN) {
        ast::CopyTarget::Stdin
    } else if parser.parse_keyword(Keyword::STDOUT) {
        ast::CopyTarget::Stdout
    } else if parser.parse_keyword(Keyword::PROGRAM) {
        ast::CopyTarget::Program {
            command: parser.parse_literal_string()?,
        }
    } else {
        ast::CopyTarget::File {
            filename: parser.parse_literal_string()?,
        }
    };
    let _ = parser.parse_keyword(Keyword::WITH);
    let mut options = Vec::new();
    if parser.consume_token(&Token::LParen) {
        loop {
            options.push(parse_option(parser)?);
            if !parser.consume_token(&Token::Comma) {
                break;
            }
        }
        parser.expect_token(&Token::RParen)?;
    } else {
        // The pre-9.0 spelling: `CSV HEADER`, `DELIMITER ','`, `NULL 'x'`.
        loop {
            match parser.parse_one_of_keywords(&[
                Keyword::CSV,
                Keyword::BINARY,
                Keyword::HEADER,
                Keyword::DELIMITER,
                Keyword::NULL,
                Keyword::QUOTE,
                Keyword::ESCAPE,
            ]) {
                Some(Keyword::CSV) => options.push(ast::CopyOption::Format(ast::Ident::new("csv"))),
                Some(Keyword::BINARY) => {
                    options.push(ast::CopyOption::Format(ast::Ident::new("binary")));
                }
                Some(Keyword::HEADER) => options.push(ast::CopyOption::Header(true)),
                Some(Keyword::DELIMITER) => {
                    let _ = parser.parse_keyword(Keyword::AS);
                    options.push(ast::CopyOption::Delimiter(one_char(parser)?));
                }
                Some(Keyword::NULL) => {
                    let _ = parser.parse_keyword(Keyword::AS);
                    options.push(ast::CopyOption::Null(parser.parse_literal_string()?));
                }
                Some(Keyword::QUOTE) => {
                    let _ = parser.parse_keyword(Keyword::AS);
                    options.push(ast::CopyOption::Quote(one_char(parser)?));
                }
                Some(Keyword::ESCAPE) => {
                    let _ = parser.parse_keyword(Keyword::AS);
                    options.push(ast::CopyOption::Escape(one_char(parser)?));
                }
                _ => break,
            }
        }
    }
    Ok(ast::Statement::Copy {
        source,
        to,
        target,
        options,
        legacy_options: Vec::new(),
        values: Vec::new(),
    })
}

/// One `name [value]` of the parenthesised option list. Boolean options
/// take TRUE/FALSE/ON/OFF/1/0 or nothing (true), as in PostgreSQL.
fn parse_option(parser: &mut Parser<'_>) -> Result<ast::CopyOption, ParserError> {
    let name = parser.parse_identifier()?.value.to_lowercase();
    Ok(match name.as_str() {
        "format" => ast::CopyOption::Format(parser.parse_identifier()?),
        "freeze" => ast::CopyOption::Freeze(parse_bool(parser)?),
        "header" => ast::CopyOption::Header(parse_bool(parser)?),
        "delimiter" => ast::CopyOption::Delimiter(one_char(parser)?),
        "null" => ast::CopyOption::Null(parser.parse_literal_string()?),
        "quote" => ast::CopyOption::Quote(one_char(parser)?),
        "escape" => ast::CopyOption::Escape(one_char(parser)?),
        "encoding" => ast::CopyOption::Encoding(parser.parse_literal_string()?),
        _ => {
            return Err(ParserError::ParserError(format!(
                "option \"{name}\" not recognized"
            )));
        }
    })
}

fn parse_bool(parser: &mut Parser<'_>) -> Result<bool, ParserError> {
    let next = parser.peek_token().token;
    let value = match &next {
        Token::Word(w) => match w.value.to_lowercase().as_str() {
            "true" | "on" => Some(true),
            "false" | "off" => Some(false),
            _ => None,
        },
        Token::Number(n, _) if n == "1" => Some(true),
        Token::Number(n, _) if n == "0" => Some(false),
        _ => None,
    };
    match value {
        Some(v) => {
            parser.next_token();
            Ok(v)
        }
        // A bare option name means true.
        None => Ok(true),
    }
}

fn one_char(parser: &mut Parser<'_>) -> Result<char, ParserError> {
    let s = parser.parse_literal_string()?;
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(ParserError::ParserError(
            "COPY delimiter, quote and escape must be a single one-byte character".into(),
        )),
    }
}

fn copy_options(options: &[ast::CopyOption]) -> SqlResult<CopyOptions> {
    let mut format = CopyFileFormat::Text;
    for o in options {
        if let ast::CopyOption::Format(f) = o {
            format = match f.value.to_lowercase().as_str() {
                "text" => CopyFileFormat::Text,
                "csv" => CopyFileFormat::Csv,
                "binary" => {
                    return Err(SqlError::unsupported("COPY in binary format"));
                }
                other => {
                    return Err(SqlError::Semantic {
                        state: crate::SqlState::INVALID_PARAMETER_VALUE,
                        message: format!("COPY format \"{other}\" not recognized"),
                    });
                }
            };
        }
    }
    let csv = format == CopyFileFormat::Csv;
    let mut out = CopyOptions {
        format,
        delimiter: if csv { ',' } else { '\t' },
        null: if csv { String::new() } else { "\\N".into() },
        header: false,
        quote: '"',
        escape: '"',
    };
    let csv_only = |what: &str| SqlError::Semantic {
        state: crate::SqlState::FEATURE_NOT_SUPPORTED,
        message: format!("COPY {what} available only in CSV mode"),
    };
    for o in options {
        match o {
            ast::CopyOption::Delimiter(c) => out.delimiter = *c,
            ast::CopyOption::Null(n) => out.null.clone_from(n),
            ast::CopyOption::Header(h) if !csv && *h => {
                return Err(SqlError::unsupported(
                    "COPY HEADER is supported only in CSV mode",
                ));
            }
            ast::CopyOption::Header(h) => out.header = *h,
            ast::CopyOption::Quote(q) if csv => out.quote = *q,
            ast::CopyOption::Escape(e) if csv => out.escape = *e,
            ast::CopyOption::Quote(_) => return Err(csv_only("quote")),
            ast::CopyOption::Escape(_) => return Err(csv_only("escape")),
            ast::CopyOption::Encoding(e) if !e.eq_ignore_ascii_case("utf8") => {
                return Err(SqlError::unsupported(format!(
                    "COPY in encoding \"{e}\" (only UTF8 is supported)"
                )));
            }
            // FREEZE is a hint PostgreSQL may ignore too.
            _ => {}
        }
    }
    if out.delimiter == '\n' || out.delimiter == '\r' || out.delimiter == '\\' && !csv {
        return Err(SqlError::Semantic {
            state: crate::SqlState::INVALID_PARAMETER_VALUE,
            message: "COPY delimiter cannot be newline, carriage return or backslash".into(),
        });
    }
    Ok(out)
}

/// Runs a COPY statement up to the point where data moves.
pub(crate) fn execute(stmt: &ast::Statement, cx: &mut ExecCtx<'_>) -> SqlResult<StatementResult> {
    let ast::Statement::Copy {
        source,
        to,
        target,
        options,
        ..
    } = stmt
    else {
        return Err(SqlError::Internal("not a COPY statement".into()));
    };
    match (target, to) {
        (ast::CopyTarget::Stdin, false) | (ast::CopyTarget::Stdout, true) => {}
        _ => {
            // Server-side files and programs are a superuser's business and
            // a security boundary; RustyDB does not open them.
            return Err(SqlError::unsupported(
                "COPY to or from a file or program is not supported; use STDIN or STDOUT",
            ));
        }
    }
    let options = copy_options(options)?;
    if *to {
        let (columns, rows) = match source {
            ast::CopySource::Query(q) => run_query(q, cx)?,
            ast::CopySource::Table {
                table_name,
                columns,
            } => {
                // The table form is the query over the table, so the
                // errors (42P01, 42703) and the column types are SELECT's.
                let list = if columns.is_empty() {
                    "*".to_owned()
                } else {
                    columns
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let sql = format!("SELECT {list} FROM {table_name}");
                let q = match parse_sql(&sql)?.into_iter().next() {
                    Some(Statement::Standard(s)) => match *s {
                        ast::Statement::Query(q) => q,
                        _ => return Err(SqlError::Internal("COPY query".into())),
                    },
                    _ => return Err(SqlError::Internal("COPY query".into())),
                };
                run_query(&q, cx)?
            }
        };
        return Ok(StatementResult::CopyOut {
            columns,
            rows,
            options,
        });
    }
    let ast::CopySource::Table {
        table_name,
        columns,
    } = source
    else {
        return Err(SqlError::Syntax(
            "COPY ... FROM does not support a query as its target".into(),
        ));
    };
    let name = object_name(table_name)?;
    let table = cx
        .catalog
        .table(&name)
        .cloned()
        .ok_or_else(|| SqlError::UndefinedTable(name.clone()))?;
    super::privilege::check_table(
        cx.catalog,
        cx.user,
        table.id,
        &name,
        crate::catalog::Privileges::INSERT,
    )?;
    let positions: Vec<usize> = if columns.is_empty() {
        (0..table.columns.len()).collect()
    } else {
        let mut seen = Vec::new();
        for c in columns {
            let n = ident(c);
            let i = table.column_index(&n).ok_or_else(|| {
                SqlError::UndefinedColumn(format!(
                    "column \"{n}\" of relation \"{name}\" does not exist"
                ))
            })?;
            if seen.contains(&i) {
                return Err(SqlError::DuplicateColumn(format!(
                    "column \"{n}\" specified more than once"
                )));
            }
            seen.push(i);
        }
        seen
    };
    Ok(StatementResult::CopyIn(CopyInTarget {
        table: table.name.clone(),
        columns: positions
            .iter()
            .map(|i| ColumnDesc {
                name: table.columns[*i].name.clone(),
                ty: table.columns[*i].ty,
            })
            .collect(),
        options,
        table_id: table.id,
        positions,
    }))
}

fn run_query(
    q: &ast::Query,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<(Vec<ColumnDesc>, Vec<Vec<Value>>)> {
    let mut binder = Binder::for_statement(cx, None);
    let plan = bind_query(&mut binder, q)?;
    let rows = collect(&plan, cx)?;
    let columns = ColumnDesc::of_plan(&plan);
    Ok((columns, rows))
}

/// Stores rows of a COPY FROM STDIN as one statement, firing INSERT
/// triggers as an INSERT would.
fn store_rows(
    target: &CopyInTarget,
    rows: Vec<Vec<Value>>,
    cx: &mut ExecCtx<'_>,
    fire: &mut super::hooks::Firing<'_, '_>,
) -> SqlResult<u64> {
    let table = cx
        .catalog
        .table(&target.table)
        .filter(|t| t.id == target.table_id)
        .cloned()
        .ok_or_else(|| SqlError::UndefinedTable(target.table.clone()))?;
    let defaults = bind_defaults(&table, cx)?;
    let checks = bind_checks(&table, cx)?;
    let insert = crate::extension::TriggerOperation::Insert;
    let mut fire = fire.open(cx, &table, &[insert], &[])?;
    fire.before_statement(cx)?;
    let mut count = 0u64;
    for (line, src) in rows.into_iter().enumerate() {
        if line % 1024 == 0 {
            cx.check_cancel()?;
        }
        if src.len() != target.positions.len() {
            return Err(SqlError::Data {
                state: crate::SqlState::INVALID_PARAMETER_VALUE,
                message: format!(
                    "COPY row {} has {} values, expected {}",
                    line + 1,
                    src.len(),
                    target.positions.len()
                ),
            });
        }
        let mut row = Vec::with_capacity(table.columns.len());
        for (i, c) in table.columns.iter().enumerate() {
            let v = match target.positions.iter().position(|p| *p == i) {
                Some(p) => src[p].clone(),
                None => match &defaults[i] {
                    Some(d) => super::expr::eval(d, &[], cx)?,
                    None => Value::Null,
                },
            };
            row.push(if v.is_null() { v } else { v.assign(&c.ty)? });
        }
        let Some(row) = fire.before_row(cx, insert, None, row)? else {
            continue;
        };
        dml::check_row(&table, &row, &checks, cx)?;
        if dml::insert_row(&table, &row, cx)?.is_none() {
            let name = table
                .primary_key
                .as_ref()
                .map_or_else(String::new, |p| p.name.clone());
            return Err(SqlError::UniqueViolation(name));
        }
        fire.after_row(cx, insert, None, Some(&row))?;
        count += 1;
    }
    fire.after_statement(cx)?;
    Ok(count)
}

impl Session {
    /// Stores the rows of the `COPY … FROM STDIN` that returned `target`,
    /// each with one value per data column, and returns how many were
    /// stored. The rows are one statement: in the open transaction block,
    /// or in an implicit transaction of their own; any failed row stores
    /// none of them.
    ///
    /// # Errors
    /// The errors of INSERT: 23502, 23505, 23514, value errors, 42P01 when
    /// the table went away, 25P02 in a failed block.
    pub fn copy_in(&mut self, target: &CopyInTarget, rows: Vec<Vec<Value>>) -> crate::Result<u64> {
        if self.status == super::session::TransactionStatus::Failed {
            return Err(SqlError::InFailedTransaction.into());
        }
        Ok(self.in_statement(|session| {
            super::hooks::with_firing(session, &[], &[], |cx, fire| {
                store_rows(target, rows, cx, fire)
            })
        })?)
    }

    /// Ends a `COPY … FROM STDIN` whose data never reached
    /// [`Session::copy_in`] (the client sent CopyFail, or data that does
    /// not parse): the statement failed, so an open transaction block is
    /// failed too, as in PostgreSQL. Nothing was stored.
    pub fn copy_failed(&mut self) {
        if self.txn.is_some() && self.status == super::session::TransactionStatus::InBlock {
            self.status = super::session::TransactionStatus::Failed;
        }
    }

    /// Runs every statement of `sql` in turn (the simple query protocol)
    /// and returns the results of those that ran, and the error that
    /// stopped the rest, if any: unlike [`Session::execute`], the results
    /// before a failing statement are kept, as PostgreSQL sends them. A
    /// `COPY … FROM STDIN` also stops the list, because its data comes
    /// before anything after it.
    pub fn execute_script(&mut self, sql: &str) -> (Vec<StatementResult>, Option<crate::Error>) {
        let statements = match parse_sql(sql) {
            Ok(s) => s,
            Err(e) => return (Vec::new(), Some(e.into())),
        };
        let mut results = Vec::with_capacity(statements.len());
        for s in &statements {
            match self.run(s, &[], &[]) {
                Ok(r) => {
                    let copying = matches!(r, StatementResult::CopyIn(_));
                    results.push(r);
                    if copying {
                        break;
                    }
                }
                Err(e) => return (results, Some(e.into())),
            }
        }
        (results, None)
    }
}
