//! RustyDB's own statements, parsed with sqlparser's primitives.

use sqlparser::ast::{DataType, Expr, Ident, ObjectName};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::Statement;
use super::functions::{
    FunctionKind, is_wasm_function, parse_create_function, parse_drop, word_at,
};

/// Where `CREATE MODULE` takes the component from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource {
    /// `$n`: a bytea parameter of the extended protocol.
    Parameter(usize),
    /// A bytea literal, still in its text form (`'\x0061736d...'`).
    Literal(String),
    /// `FILE 'path'`: a file on the server.
    File(String),
}

/// One parameter of `CREATE PROCEDURE`: `[name] type`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutineParam {
    /// Its name, if given.
    pub name: Option<Ident>,
    /// Its type.
    pub data_type: DataType,
}

/// `CREATE [OR REPLACE] PROCEDURE name(params) LANGUAGE lang AS 'module',
/// 'export' [SECURITY DEFINER | SECURITY INVOKER]`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateProcedure {
    /// The procedure's (optionally schema-qualified) name.
    pub name: ObjectName,
    /// `OR REPLACE`
    pub or_replace: bool,
    /// Its parameters in order.
    pub params: Vec<RoutineParam>,
    /// `LANGUAGE`, as written (only `wasm` runs).
    pub language: Option<Ident>,
    /// The module of `AS 'module', 'export'`.
    pub module: String,
    /// The export of `AS 'module', 'export'`.
    pub export: String,
    /// `SECURITY DEFINER`
    pub security_definer: bool,
}

/// One `key = value` of a resource group.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceOption {
    /// The limit's name.
    pub key: Ident,
    /// Its value: a number or a string such as `'16MB'`.
    pub value: Expr,
}

/// Parses one of our statements if the next tokens start one, leaving the
/// parser untouched otherwise.
pub(super) fn try_parse(parser: &mut Parser<'_>) -> Result<Option<Statement>, ParserError> {
    let first = keyword_at(parser, 0);
    let second = keyword_at(parser, 1);
    match (first, second) {
        (Keyword::GRANT | Keyword::REVOKE, _) if super::role::is_role_grant(parser) => Ok(Some(
            Statement::RoleGrant(Box::new(super::role::parse_role_grant(parser)?)),
        )),
        (Keyword::ALTER, Keyword::ROLE | Keyword::USER | Keyword::DATABASE)
            if super::resource_group::is_attach(parser) =>
        {
            let (target, group) = super::resource_group::parse_attach(parser)?;
            Ok(Some(Statement::AttachResourceGroup { target, group }))
        }
        (Keyword::DROP, Keyword::RESOURCE) => {
            let (name, if_exists) = super::resource_group::parse_drop(parser)?;
            Ok(Some(Statement::DropResourceGroup { name, if_exists }))
        }
        (Keyword::DROP, Keyword::OWNED) => Ok(Some(Statement::Owned(Box::new(
            super::role::parse_owned(parser)?,
        )))),
        _ if word_at(parser, 0, "reassign") && keyword_at(parser, 1) == Keyword::OWNED => Ok(Some(
            Statement::Owned(Box::new(super::role::parse_owned(parser)?)),
        )),
        (Keyword::RESET, _) => Ok(Some(Statement::Reset {
            name: super::role::parse_reset(parser)?,
        })),
        // sqlparser reads `CREATE USER` / `ALTER USER` as Snowflake's;
        // in PostgreSQL they are the role statements, CREATE USER with
        // LOGIN unless told otherwise.
        (Keyword::CREATE, Keyword::USER) => {
            parser.next_token();
            parser.next_token();
            let mut role = parser.parse_create_role()?;
            if let sqlparser::ast::Statement::CreateRole { login, .. } = &mut role {
                login.get_or_insert(true);
            }
            Ok(Some(Statement::Standard(Box::new(role))))
        }
        (Keyword::ALTER, Keyword::USER) => {
            parser.next_token();
            parser.next_token();
            Ok(Some(Statement::Standard(Box::new(
                parser.parse_alter_role()?,
            ))))
        }
        (Keyword::CREATE, Keyword::MODULE) => {
            parser.next_token();
            parser.next_token();
            parse_create_module(parser, false).map(Some)
        }
        (Keyword::CREATE, Keyword::OR)
            if keyword_at(parser, 2) == Keyword::REPLACE
                && keyword_at(parser, 3) == Keyword::MODULE =>
        {
            for _ in 0..4 {
                parser.next_token();
            }
            parse_create_module(parser, true).map(Some)
        }
        (Keyword::CREATE, Keyword::PROCEDURE) => {
            parser.next_token();
            parser.next_token();
            parse_create_procedure(parser, false).map(Some)
        }
        (Keyword::CREATE, Keyword::OR)
            if keyword_at(parser, 2) == Keyword::REPLACE
                && keyword_at(parser, 3) == Keyword::PROCEDURE =>
        {
            for _ in 0..4 {
                parser.next_token();
            }
            parse_create_procedure(parser, true).map(Some)
        }
        (Keyword::CREATE, Keyword::TRIGGER) => {
            parser.next_token();
            parser.next_token();
            super::trigger::parse_create_trigger(parser, false)
                .map(|t| Some(Statement::Trigger(Box::new(t))))
        }
        (Keyword::CREATE, Keyword::OR)
            if keyword_at(parser, 2) == Keyword::REPLACE
                && keyword_at(parser, 3) == Keyword::TRIGGER =>
        {
            for _ in 0..4 {
                parser.next_token();
            }
            super::trigger::parse_create_trigger(parser, true)
                .map(|t| Some(Statement::Trigger(Box::new(t))))
        }
        (Keyword::DROP, Keyword::TRIGGER) => {
            parser.next_token();
            parser.next_token();
            super::trigger::parse_drop_trigger(parser)
                .map(|t| Some(Statement::Trigger(Box::new(t))))
        }
        (Keyword::CREATE, Keyword::FUNCTION) if is_wasm_function(parser, 2) => {
            parser.next_token();
            parser.next_token();
            parse_create_function(parser, FunctionKind::Function, false).map(Some)
        }
        (Keyword::CREATE, Keyword::AGGREGATE) => {
            parser.next_token();
            parser.next_token();
            parse_create_function(parser, FunctionKind::Aggregate, false).map(Some)
        }
        (Keyword::CREATE, _) if word_at(parser, 1, "model") => {
            parser.next_token();
            parser.next_token();
            parse_create_function(parser, FunctionKind::Model, false).map(Some)
        }
        (Keyword::CREATE, Keyword::OR) if keyword_at(parser, 2) == Keyword::REPLACE => {
            let kind = match keyword_at(parser, 3) {
                Keyword::FUNCTION if is_wasm_function(parser, 4) => FunctionKind::Function,
                Keyword::AGGREGATE => FunctionKind::Aggregate,
                _ if word_at(parser, 3, "model") => FunctionKind::Model,
                _ => return Ok(None),
            };
            for _ in 0..4 {
                parser.next_token();
            }
            parse_create_function(parser, kind, true).map(Some)
        }
        (Keyword::DROP, Keyword::AGGREGATE) => {
            parser.next_token();
            parser.next_token();
            parse_drop(parser, FunctionKind::Aggregate).map(Some)
        }
        (Keyword::DROP, _) if word_at(parser, 1, "model") => {
            parser.next_token();
            parser.next_token();
            parse_drop(parser, FunctionKind::Model).map(Some)
        }
        (Keyword::DROP, Keyword::MODULE) => {
            parser.next_token();
            parser.next_token();
            let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
            let name = parser.parse_identifier()?;
            let cascade = matches!(
                parser.parse_one_of_keywords(&[Keyword::CASCADE, Keyword::RESTRICT]),
                Some(Keyword::CASCADE)
            );
            Ok(Some(Statement::DropModule {
                name,
                if_exists,
                cascade,
            }))
        }
        (Keyword::CREATE | Keyword::ALTER, Keyword::RESOURCE) => {
            parser.next_token();
            parser.next_token();
            parser.expect_keyword_is(Keyword::GROUP)?;
            let name = parser.parse_identifier()?;
            if first == Keyword::CREATE {
                parser.expect_keyword_is(Keyword::WITH)?;
                let options = parse_options(parser)?;
                Ok(Some(Statement::CreateResourceGroup { name, options }))
            } else {
                parser.expect_keyword_is(Keyword::SET)?;
                let options = parse_options(parser)?;
                Ok(Some(Statement::AlterResourceGroup { name, options }))
            }
        }
        // COPY and VACUUM: sqlparser's forms do not accept what clients
        // send (see `sql::copy` and `sql::ddl`).
        (Keyword::COPY, _) => {
            crate::sql::copy::parse_copy(parser).map(|s| Some(Statement::Standard(Box::new(s))))
        }
        (Keyword::ANALYZE, _) => crate::sql::analyze::parse_analyze(parser).map(Some),
        (Keyword::VACUUM, _) => {
            crate::sql::ddl::parse_vacuum(parser).map(|s| Some(Statement::Standard(Box::new(s))))
        }
        _ => Ok(None),
    }
}

fn keyword_at(parser: &Parser<'_>, n: usize) -> Keyword {
    match parser.peek_nth_token(n).token {
        Token::Word(w) => w.keyword,
        _ => Keyword::NoKeyword,
    }
}

fn parse_create_module(
    parser: &mut Parser<'_>,
    or_replace: bool,
) -> Result<Statement, ParserError> {
    let name = parser.parse_identifier()?;
    parser.expect_keyword_is(Keyword::FROM)?;
    let source = parse_source(parser)?;
    Ok(Statement::CreateModule {
        name,
        or_replace,
        source,
    })
}

/// `$n`, a bytea literal or `FILE 'path'`.
pub(super) fn parse_source(parser: &mut Parser<'_>) -> Result<ModuleSource, ParserError> {
    Ok(if parser.parse_keyword(Keyword::FILE) {
        ModuleSource::File(parser.parse_literal_string()?)
    } else {
        let token = parser.next_token();
        match &token.token {
            Token::Placeholder(p) => match p.strip_prefix('$').and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => ModuleSource::Parameter(n),
                _ => return parser.expected("a parameter such as $1", token),
            },
            Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => {
                ModuleSource::Literal(s.clone())
            }
            _ => return parser.expected("$n, a bytea literal or FILE 'path'", token),
        }
    })
}

fn parse_create_procedure(
    parser: &mut Parser<'_>,
    or_replace: bool,
) -> Result<Statement, ParserError> {
    let name = parser.parse_object_name(false)?;
    let params = parse_params(parser)?;
    let mut language = None;
    let mut body = None;
    let mut security_definer = false;
    loop {
        if parser.parse_keyword(Keyword::LANGUAGE) {
            language = Some(parser.parse_identifier()?);
        } else if parser.parse_keyword(Keyword::AS) {
            let module = parser.parse_literal_string()?;
            parser.expect_token(&Token::Comma)?;
            let export = parser.parse_literal_string()?;
            body = Some((module, export));
        } else if parser.parse_keyword(Keyword::SECURITY) {
            security_definer = parser
                .expect_one_of_keywords(&[Keyword::DEFINER, Keyword::INVOKER])?
                == Keyword::DEFINER;
        } else {
            break;
        }
    }
    let Some((module, export)) = body else {
        return parser.expected("AS 'module', 'export'", parser.peek_token());
    };
    Ok(Statement::CreateProcedure(Box::new(CreateProcedure {
        name,
        or_replace,
        params,
        language,
        module,
        export,
        security_definer,
    })))
}

/// `(name type, type, …)`: a routine's parameter list, parentheses included.
pub(super) fn parse_params(parser: &mut Parser<'_>) -> Result<Vec<RoutineParam>, ParserError> {
    parser.expect_token(&Token::LParen)?;
    Ok(if parser.consume_token(&Token::RParen) {
        Vec::new()
    } else {
        let params = parser.parse_comma_separated(|p| {
            // `name type` unless the type follows directly (`(bigint)`).
            let unnamed = matches!(
                p.peek_nth_token(1).token,
                Token::Comma | Token::RParen | Token::LParen
            );
            let name = if unnamed {
                None
            } else {
                Some(p.parse_identifier()?)
            };
            let data_type = p.parse_data_type()?;
            Ok(RoutineParam { name, data_type })
        })?;
        parser.expect_token(&Token::RParen)?;
        params
    })
}

fn parse_options(parser: &mut Parser<'_>) -> Result<Vec<ResourceOption>, ParserError> {
    parser.expect_token(&Token::LParen)?;
    let options = parser.parse_comma_separated(|p| {
        let key = p.parse_identifier()?;
        p.expect_token(&Token::Eq)?;
        let value = p.parse_expr()?;
        Ok(ResourceOption { key, value })
    })?;
    parser.expect_token(&Token::RParen)?;
    Ok(options)
}
