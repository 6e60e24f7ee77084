//! The trigger statements: `CREATE [OR REPLACE] TRIGGER` and `DROP
//! TRIGGER`, parsed with sqlparser's primitives.
//!
//! sqlparser has a `CREATE TRIGGER`, but it reads the function's arguments
//! as typed parameters, so PostgreSQL's `EXECUTE FUNCTION audit('t', 2)`
//! does not parse. The pieces around it — timing, events, `REFERENCING`,
//! `WHEN` — are sqlparser's own. `ALTER TABLE … ENABLE / DISABLE TRIGGER`
//! is sqlparser's, turned into [`TriggerDdl::SetEnabled`] by the executor.

use sqlparser::ast::{
    Expr, Ident, ObjectName, TriggerEvent, TriggerPeriod, TriggerReferencingType,
};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

/// `FOR EACH ROW` or `FOR EACH STATEMENT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerScope {
    /// `FOR EACH ROW`
    Row,
    /// `FOR EACH STATEMENT` (also the default when `FOR EACH` is left out)
    Statement,
}

/// `CREATE [OR REPLACE] TRIGGER name {BEFORE | AFTER | INSTEAD OF} events
/// ON table [REFERENCING …] [FOR [EACH] {ROW | STATEMENT}] [WHEN (cond)]
/// EXECUTE {FUNCTION | PROCEDURE} f(args)`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTrigger {
    /// `OR REPLACE`
    pub or_replace: bool,
    /// The trigger's name, unique per table.
    pub name: Ident,
    /// `BEFORE`, `AFTER` or `INSTEAD OF`.
    pub timing: TriggerPeriod,
    /// The events joined with `OR`; `UPDATE OF a, b` lists its columns.
    pub events: Vec<TriggerEvent>,
    /// The table (or view) it is attached to.
    pub table: ObjectName,
    /// `REFERENCING OLD TABLE AS x NEW TABLE AS y`, in the order written.
    pub referencing: Vec<(TriggerReferencingType, Ident)>,
    /// `FOR EACH ROW` or `STATEMENT`.
    pub scope: TriggerScope,
    /// `WHEN (condition)`
    pub condition: Option<Expr>,
    /// The trigger function.
    pub function: ObjectName,
    /// Its arguments, PostgreSQL's `TG_ARGV`: literals, kept as text.
    pub args: Vec<String>,
}

/// A trigger DDL statement, handed to the trigger machinery.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerDdl {
    /// `CREATE [OR REPLACE] TRIGGER`
    Create(Box<CreateTrigger>),
    /// `DROP TRIGGER [IF EXISTS] name ON table [CASCADE | RESTRICT]`
    Drop {
        /// The trigger.
        name: Ident,
        /// Its table.
        table: ObjectName,
        /// `IF EXISTS`
        if_exists: bool,
    },
    /// `ALTER TABLE table {ENABLE | DISABLE} TRIGGER {name | ALL}`
    SetEnabled {
        /// The table.
        table: ObjectName,
        /// The trigger; `None` for `ALL` (and `USER`).
        trigger: Option<Ident>,
        /// `ENABLE` or `DISABLE`.
        enabled: bool,
    },
}

/// After `CREATE [OR REPLACE] TRIGGER`.
pub(super) fn parse_create_trigger(
    parser: &mut Parser<'_>,
    or_replace: bool,
) -> Result<TriggerDdl, ParserError> {
    let name = parser.parse_identifier()?;
    let timing = parser.parse_trigger_period()?;
    if timing == TriggerPeriod::For {
        return parser.expected("BEFORE, AFTER or INSTEAD OF", parser.peek_token());
    }
    let events = parser.parse_keyword_separated(Keyword::OR, Parser::parse_trigger_event)?;
    parser.expect_keyword_is(Keyword::ON)?;
    let table = parser.parse_object_name(false)?;
    let mut referencing = Vec::new();
    if parser.parse_keyword(Keyword::REFERENCING) {
        while let Some(r) = parser.parse_trigger_referencing()? {
            let [part] = r.transition_relation_name.0.as_slice() else {
                return parser.expected("a transition table name", parser.peek_token());
            };
            let Some(ident) = part.as_ident() else {
                return parser.expected("a transition table name", parser.peek_token());
            };
            referencing.push((r.refer_type, ident.clone()));
        }
        if referencing.is_empty() {
            return parser.expected("OLD TABLE or NEW TABLE", parser.peek_token());
        }
    }
    let mut scope = TriggerScope::Statement;
    if parser.parse_keyword(Keyword::FOR) {
        let _ = parser.parse_keyword(Keyword::EACH);
        scope = match parser.expect_one_of_keywords(&[Keyword::ROW, Keyword::STATEMENT])? {
            Keyword::ROW => TriggerScope::Row,
            _ => TriggerScope::Statement,
        };
    }
    let condition = if parser.parse_keyword(Keyword::WHEN) {
        // PostgreSQL requires the parentheses.
        parser.expect_token(&Token::LParen)?;
        let e = parser.parse_expr()?;
        parser.expect_token(&Token::RParen)?;
        Some(e)
    } else {
        None
    };
    parser.expect_keyword_is(Keyword::EXECUTE)?;
    parser.expect_one_of_keywords(&[Keyword::FUNCTION, Keyword::PROCEDURE])?;
    let function = parser.parse_object_name(false)?;
    parser.expect_token(&Token::LParen)?;
    let mut args = Vec::new();
    if !parser.consume_token(&Token::RParen) {
        loop {
            args.push(parse_argument(parser)?);
            if parser.consume_token(&Token::RParen) {
                break;
            }
            parser.expect_token(&Token::Comma)?;
        }
    }
    Ok(TriggerDdl::Create(Box::new(CreateTrigger {
        or_replace,
        name,
        timing,
        events,
        table,
        referencing,
        scope,
        condition,
        function,
        args,
    })))
}

/// One trigger argument: a string, a number or a bare word, as text.
fn parse_argument(parser: &mut Parser<'_>) -> Result<String, ParserError> {
    let token = parser.next_token();
    match &token.token {
        Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => Ok(s.clone()),
        Token::Number(n, _) => Ok(n.clone()),
        Token::Minus => match parser.next_token().token {
            Token::Number(n, _) => Ok(format!("-{n}")),
            _ => parser.expected("a number", token),
        },
        Token::Word(w) => Ok(w.value.clone()),
        _ => parser.expected("a literal trigger argument", token),
    }
}

/// After `DROP TRIGGER`.
pub(super) fn parse_drop_trigger(parser: &mut Parser<'_>) -> Result<TriggerDdl, ParserError> {
    let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let name = parser.parse_identifier()?;
    parser.expect_keyword_is(Keyword::ON)?;
    let table = parser.parse_object_name(false)?;
    let _ = parser.parse_one_of_keywords(&[Keyword::CASCADE, Keyword::RESTRICT]);
    Ok(TriggerDdl::Drop {
        name,
        table,
        if_exists,
    })
}
