//! `CREATE [OR REPLACE] FUNCTION | AGGREGATE | MODEL … LANGUAGE wasm` and
//! `DROP AGGREGATE | MODEL`, which bind module exports to SQL names.
//!
//! Only the `LANGUAGE wasm` form of `CREATE FUNCTION` is ours: any other
//! language is left to sqlparser (and to the engine's other languages), so
//! the look-ahead in [`is_wasm_function`] decides before consuming a token.

use sqlparser::ast::{DataType, Ident, ObjectName};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::Statement;
use super::extensions::{ModuleSource, RoutineParam, parse_params, parse_source};

/// What `CREATE …` binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// `CREATE FUNCTION`: a scalar, table or trigger function, by its
    /// `RETURNS` clause.
    Function,
    /// `CREATE AGGREGATE`
    Aggregate,
    /// `CREATE MODEL`
    Model,
}

/// The `RETURNS` clause.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionReturns {
    /// `RETURNS type`: a scalar function, aggregate or model.
    Type(DataType),
    /// `RETURNS TABLE(name type, …)`: a table function.
    Table(Vec<RoutineParam>),
    /// `RETURNS trigger`
    Trigger,
}

/// PostgreSQL's volatility keywords as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolatilityClause {
    /// `IMMUTABLE`
    Immutable,
    /// `STABLE`
    Stable,
    /// `VOLATILE`
    Volatile,
}

/// `CREATE [OR REPLACE] FUNCTION | AGGREGATE | MODEL name(params) RETURNS …
/// LANGUAGE wasm AS 'module', 'export' [IMMUTABLE | STABLE | VOLATILE]
/// [STRICT] [SECURITY DEFINER] [PARAMETERS source]`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateFunction {
    /// Which statement.
    pub kind: FunctionKind,
    /// The (optionally schema-qualified) name.
    pub name: ObjectName,
    /// `OR REPLACE`
    pub or_replace: bool,
    /// The parameters in order.
    pub params: Vec<RoutineParam>,
    /// `RETURNS`
    pub returns: FunctionReturns,
    /// `LANGUAGE`, as written.
    pub language: Ident,
    /// The module of `AS 'module', 'export'`.
    pub module: String,
    /// The export of `AS 'module', 'export'`.
    pub export: String,
    /// The volatility, when given.
    pub volatility: Option<VolatilityClause>,
    /// `STRICT` or `RETURNS NULL ON NULL INPUT`
    pub strict: bool,
    /// `SECURITY DEFINER`
    pub security_definer: bool,
    /// `PARAMETERS source` of a model: its trained parameters.
    pub parameters: Option<ModuleSource>,
}

/// Whether the tokens from `start` (just past `FUNCTION`) to the end of the
/// statement say `LANGUAGE wasm`.
pub(super) fn is_wasm_function(parser: &Parser<'_>, start: usize) -> bool {
    let mut depth = 0usize;
    let mut n = start;
    loop {
        match parser.peek_nth_token(n).token {
            Token::EOF => return false,
            Token::SemiColon if depth == 0 => return false,
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Word(w) if w.keyword == Keyword::LANGUAGE => {
                return matches!(
                    parser.peek_nth_token(n + 1).token,
                    Token::Word(l) if l.value.eq_ignore_ascii_case("wasm")
                );
            }
            _ => {}
        }
        n += 1;
    }
}

/// Whether the `n`th token ahead is the unquoted word `word` (for words
/// sqlparser has no keyword for, such as `MODEL` and `PARAMETERS`).
pub(super) fn word_at(parser: &Parser<'_>, n: usize, word: &str) -> bool {
    matches!(
        &parser.peek_nth_token(n).token,
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word)
    )
}

pub(super) fn parse_create_function(
    parser: &mut Parser<'_>,
    kind: FunctionKind,
    or_replace: bool,
) -> Result<Statement, ParserError> {
    let name = parser.parse_object_name(false)?;
    let params = parse_params(parser)?;
    let mut returns = None;
    let mut language = None;
    let mut body = None;
    let mut volatility = None;
    let mut strict = false;
    let mut security_definer = false;
    let mut parameters = None;
    loop {
        if parser.parse_keywords(&[
            Keyword::RETURNS,
            Keyword::NULL,
            Keyword::ON,
            Keyword::NULL,
            Keyword::INPUT,
        ]) || parser.parse_keyword(Keyword::STRICT)
        {
            strict = true;
        } else if parser.parse_keyword(Keyword::RETURNS) {
            returns = Some(parse_returns(parser)?);
        } else if parser.parse_keyword(Keyword::LANGUAGE) {
            language = Some(parser.parse_identifier()?);
        } else if parser.parse_keyword(Keyword::AS) {
            let module = parser.parse_literal_string()?;
            parser.expect_token(&Token::Comma)?;
            let export = parser.parse_literal_string()?;
            body = Some((module, export));
        } else if parser.parse_keyword(Keyword::IMMUTABLE) {
            volatility = Some(VolatilityClause::Immutable);
        } else if parser.parse_keyword(Keyword::STABLE) {
            volatility = Some(VolatilityClause::Stable);
        } else if parser.parse_keyword(Keyword::VOLATILE) {
            volatility = Some(VolatilityClause::Volatile);
        } else if parser.parse_keywords(&[
            Keyword::CALLED,
            Keyword::ON,
            Keyword::NULL,
            Keyword::INPUT,
        ]) {
            strict = false;
        } else if parser.parse_keyword(Keyword::SECURITY) {
            security_definer = parser
                .expect_one_of_keywords(&[Keyword::DEFINER, Keyword::INVOKER])?
                == Keyword::DEFINER;
        } else if kind == FunctionKind::Model && word_at(parser, 0, "parameters") {
            parser.next_token();
            parameters = Some(parse_source(parser)?);
        } else {
            break;
        }
    }
    let Some(returns) = returns else {
        return parser.expected("RETURNS", parser.peek_token());
    };
    let Some(language) = language else {
        return parser.expected("LANGUAGE", parser.peek_token());
    };
    let Some((module, export)) = body else {
        return parser.expected("AS 'module', 'export'", parser.peek_token());
    };
    if kind == FunctionKind::Model && parameters.is_none() {
        return parser.expected("PARAMETERS $n or a bytea literal", parser.peek_token());
    }
    Ok(Statement::CreateFunction(Box::new(CreateFunction {
        kind,
        name,
        or_replace,
        params,
        returns,
        language,
        module,
        export,
        volatility,
        strict,
        security_definer,
        parameters,
    })))
}

fn parse_returns(parser: &mut Parser<'_>) -> Result<FunctionReturns, ParserError> {
    if parser.parse_keyword(Keyword::TABLE) {
        return Ok(FunctionReturns::Table(parse_params(parser)?));
    }
    if word_at(parser, 0, "trigger") {
        parser.next_token();
        return Ok(FunctionReturns::Trigger);
    }
    Ok(FunctionReturns::Type(parser.parse_data_type()?))
}

/// `DROP AGGREGATE | MODEL [IF EXISTS] name [(types)] [, …] [CASCADE |
/// RESTRICT]`, after the two keywords.
pub(super) fn parse_drop(
    parser: &mut Parser<'_>,
    kind: FunctionKind,
) -> Result<Statement, ParserError> {
    let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let names = parser.parse_comma_separated(|p| {
        let name = p.parse_object_name(false)?;
        if p.consume_token(&Token::LParen) && !p.consume_token(&Token::RParen) {
            // The argument types only pick an overload in PostgreSQL; names
            // are unique here, so they are read and not needed.
            p.parse_comma_separated(Parser::parse_data_type)?;
            p.expect_token(&Token::RParen)?;
        }
        Ok(name)
    })?;
    // Nothing can depend on an aggregate or a model yet, so CASCADE and
    // RESTRICT mean the same.
    let _ = parser.parse_one_of_keywords(&[Keyword::CASCADE, Keyword::RESTRICT]);
    Ok(Statement::DropRoutine {
        kind,
        names,
        if_exists,
    })
}
