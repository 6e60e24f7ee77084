//! From SQL text to statements.
//!
//! sqlparser's PostgreSQL dialect does almost all the work. RustyDB adds a
//! few statements of its own (modules, resource groups) that sqlparser does
//! not know; rather than match strings, [`parse_sql`] drives sqlparser's
//! `Parser` token by token: at the start of each statement it looks at the
//! leading keywords, and either parses one of our statements with the
//! parser's own primitives (identifiers, literals, expressions) or hands
//! the parser back to sqlparser for a standard statement. This is how
//! DataFusion layers its `CREATE EXTERNAL TABLE` over the same crate.
//!
//! Parsing never executes: an extension statement parses into
//! [`Statement`] even where the engine cannot yet run it, and the error for
//! that (0A000) comes at execution.

mod dialect;
mod extensions;
mod functions;
mod resource_group;
mod role;
mod trigger;

pub use dialect::RustyDialect;
pub use extensions::{CreateProcedure, ModuleSource, ResourceOption, RoutineParam};
pub use functions::{CreateFunction, FunctionKind, FunctionReturns, VolatilityClause};
pub use resource_group::GroupTarget;
pub use role::{Owned, RoleGrant, RoleSpec};
pub use trigger::{CreateTrigger, TriggerDdl, TriggerScope};

use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::error::{SqlError, SqlResult};

/// sqlparser nests expressions recursively; this bounds the depth so that
/// hostile input fails with an error instead of exhausting the stack.
const RECURSION_LIMIT: usize = 200;

/// One parsed statement: a standard one, or one of RustyDB's extensions.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// Anything sqlparser parses.
    Standard(Box<ast::Statement>),
    /// `CREATE [OR REPLACE] MODULE name FROM source`
    CreateModule {
        /// The module's name.
        name: ast::Ident,
        /// `OR REPLACE`
        or_replace: bool,
        /// Where the component's bytes come from.
        source: ModuleSource,
    },
    /// `DROP MODULE [IF EXISTS] name [CASCADE | RESTRICT]`
    DropModule {
        /// The module's name.
        name: ast::Ident,
        /// `IF EXISTS`
        if_exists: bool,
        /// `CASCADE`
        cascade: bool,
    },
    /// `CREATE [OR REPLACE] PROCEDURE … LANGUAGE wasm AS 'module', 'export'`
    CreateProcedure(Box<CreateProcedure>),
    /// `CREATE [OR REPLACE] FUNCTION | AGGREGATE | MODEL … LANGUAGE wasm`
    CreateFunction(Box<CreateFunction>),
    /// `DROP AGGREGATE | MODEL [IF EXISTS] name [, …]` (`DROP FUNCTION` is
    /// sqlparser's).
    DropRoutine {
        /// `AGGREGATE` or `MODEL`.
        kind: FunctionKind,
        /// The routines.
        names: Vec<ast::ObjectName>,
        /// `IF EXISTS`
        if_exists: bool,
    },
    /// `CREATE RESOURCE GROUP name WITH (key = value, ...)`
    CreateResourceGroup {
        /// The group's name.
        name: ast::Ident,
        /// The limits, in the order written.
        options: Vec<ResourceOption>,
    },
    /// `CREATE [OR REPLACE] TRIGGER …` and `DROP TRIGGER …`, run by the
    /// injected trigger machinery.
    Trigger(Box<TriggerDdl>),
    /// `ANALYZE [VERBOSE] [table [(column, …)] [, …]]`; no table means
    /// every table.
    Analyze {
        /// The tables named.
        tables: Vec<ast::ObjectName>,
    },
    /// `DROP RESOURCE GROUP [IF EXISTS] name`
    DropResourceGroup {
        /// The group's name.
        name: ast::Ident,
        /// `IF EXISTS`
        if_exists: bool,
    },
    /// `ALTER ROLE | DATABASE name SET RESOURCE GROUP group | NONE`
    AttachResourceGroup {
        /// The role or database.
        target: GroupTarget,
        /// The group; `None` detaches.
        group: Option<ast::Ident>,
    },
    /// `GRANT role TO member` / `REVOKE role FROM member`.
    RoleGrant(Box<RoleGrant>),
    /// `REASSIGN OWNED BY … TO …` / `DROP OWNED BY …`.
    Owned(Box<Owned>),
    /// `RESET name`; `None` for `RESET ALL`.
    Reset {
        /// The parameter, lower case.
        name: Option<String>,
    },
    /// `ALTER RESOURCE GROUP name SET (key = value, ...)`
    AlterResourceGroup {
        /// The group's name.
        name: ast::Ident,
        /// The limits to change.
        options: Vec<ResourceOption>,
    },
}

/// Parses a string of zero or more `;`-separated statements.
pub fn parse_sql(sql: &str) -> SqlResult<Vec<Statement>> {
    let dialect = RustyDialect::default();
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| syntax_error(e.into()))?;
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(lock_strengths(tokens));
    let mut statements = Vec::new();
    loop {
        while parser.consume_token(&Token::SemiColon) {}
        if parser.peek_token().token == Token::EOF {
            break;
        }
        let statement = match extensions::try_parse(&mut parser).map_err(syntax_error)? {
            Some(statement) => statement,
            None => Statement::Standard(Box::new(parser.parse_statement().map_err(syntax_error)?)),
        };
        statements.push(statement);
        let next = parser.peek_token();
        if next.token != Token::EOF && next.token != Token::SemiColon {
            return Err(SqlError::Syntax(at_or_near(&next.token.to_string())));
        }
    }
    Ok(statements)
}

/// PostgreSQL's weaker row locks, `FOR NO KEY UPDATE` and `FOR KEY SHARE`,
/// which sqlparser does not know, read as `FOR UPDATE` and `FOR SHARE`:
/// locks at least as strong, so a statement may wait where PostgreSQL's
/// would not (a foreign key check's `KEY SHARE` beside a `NO KEY UPDATE`),
/// but never goes on where PostgreSQL's would wait.
fn lock_strengths(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let is = |i: usize, k: Keyword| matches!(&tokens[i].token, Token::Word(w) if w.keyword == k);
    let words: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let mut dropped = vec![false; tokens.len()];
    for (n, &at) in words.iter().enumerate() {
        if !is(at, Keyword::FOR) {
            continue;
        }
        let next = |k: usize| words.get(n + k).copied();
        match (next(1), next(2), next(3)) {
            (Some(no), Some(key), Some(update))
                if is(no, Keyword::NO) && is(key, Keyword::KEY) && is(update, Keyword::UPDATE) =>
            {
                dropped[no] = true;
                dropped[key] = true;
            }
            (Some(key), Some(share), _) if is(key, Keyword::KEY) && is(share, Keyword::SHARE) => {
                dropped[key] = true;
            }
            _ => {}
        }
    }
    tokens
        .into_iter()
        .zip(dropped)
        .filter_map(|(t, d)| (!d).then_some(t))
        .collect()
}

fn at_or_near(token: &str) -> String {
    if token.is_empty() || token == "EOF" {
        "syntax error at end of input".to_owned()
    } else {
        format!("syntax error at or near \"{token}\"")
    }
}

/// sqlparser's messages name what it expected and the token it found
/// (`Expected: ..., found: x at Line: 1, Column: 8`); PostgreSQL names only
/// the token, so that is what is kept.
fn syntax_error(e: ParserError) -> SqlError {
    match e {
        ParserError::RecursionLimitExceeded => SqlError::Semantic {
            state: crate::SqlState::PROGRAM_LIMIT_EXCEEDED,
            message: "stack depth limit exceeded".to_owned(),
        },
        ParserError::TokenizerError(m) => SqlError::Syntax(m),
        ParserError::ParserError(m) => {
            let found = m.rsplit_once("found: ").map(|(_, rest)| {
                rest.rsplit_once(" at Line:")
                    .map_or(rest, |(token, _)| token)
                    .to_owned()
            });
            match found {
                Some(token) => SqlError::Syntax(at_or_near(&token)),
                None => SqlError::Syntax(m),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Statement {
        let mut statements = parse_sql(sql).unwrap();
        assert_eq!(statements.len(), 1, "{sql}");
        statements.remove(0)
    }

    #[test]
    fn standard_statements_pass_through() {
        assert!(matches!(one("SELECT 1"), Statement::Standard(_)));
        assert_eq!(parse_sql("select 1; select 2;; ").unwrap().len(), 2);
        assert!(parse_sql("").unwrap().is_empty());
    }

    #[test]
    fn create_module_forms() {
        match one("CREATE OR REPLACE MODULE bank FROM $1") {
            Statement::CreateModule {
                name,
                or_replace,
                source,
            } => {
                assert_eq!(name.value, "bank");
                assert!(or_replace);
                assert_eq!(source, ModuleSource::Parameter(1));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            one("create module m from '\\x0061'"),
            Statement::CreateModule {
                name: ast::Ident::new("m"),
                or_replace: false,
                source: ModuleSource::Literal("\\x0061".to_owned()),
            }
        );
        assert!(matches!(
            one("CREATE MODULE m FROM FILE '/tmp/m.wasm'"),
            Statement::CreateModule { source: ModuleSource::File(p), .. } if p == "/tmp/m.wasm"
        ));
    }

    #[test]
    fn drop_module_and_resource_groups() {
        assert_eq!(
            one("DROP MODULE IF EXISTS bank CASCADE"),
            Statement::DropModule {
                name: ast::Ident::new("bank"),
                if_exists: true,
                cascade: true,
            }
        );
        match one(
            "CREATE RESOURCE GROUP small WITH (fuel_per_call = 10000000, memory_per_instance = '16MB')",
        ) {
            Statement::CreateResourceGroup { name, options } => {
                assert_eq!(name.value, "small");
                assert_eq!(options.len(), 2);
                assert_eq!(options[1].key.value, "memory_per_instance");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            one("ALTER RESOURCE GROUP small SET (fuel_per_call = 20000000)"),
            Statement::AlterResourceGroup { .. }
        ));
        // Standard statements that share a first keyword still parse.
        assert!(matches!(one("DROP TABLE t"), Statement::Standard(_)));
        assert!(matches!(
            one("ALTER TABLE t ADD COLUMN c int"),
            Statement::Standard(_)
        ));
    }

    #[test]
    fn create_procedure_binds_an_export() {
        let Statement::CreateProcedure(p) = one(
            "CREATE OR REPLACE PROCEDURE s.transfer(src bigint, dst bigint, float8) \
             LANGUAGE wasm AS 'bank', 'transfer' SECURITY DEFINER",
        ) else {
            panic!("not CREATE PROCEDURE");
        };
        assert!(p.or_replace && p.security_definer);
        assert_eq!(p.name.to_string(), "s.transfer");
        let names: Vec<Option<String>> = p
            .params
            .iter()
            .map(|a| a.name.as_ref().map(|i| i.value.clone()))
            .collect();
        assert_eq!(names, [Some("src".into()), Some("dst".into()), None]);
        assert_eq!((p.module.as_str(), p.export.as_str()), ("bank", "transfer"));
        assert_eq!(p.language.map(|l| l.value), Some("wasm".into()));
        assert!(matches!(
            one("CREATE PROCEDURE p() AS 'm', 'e' LANGUAGE wasm"),
            Statement::CreateProcedure(_)
        ));
        assert!(parse_sql("CREATE PROCEDURE p() LANGUAGE wasm").is_err());
        assert!(matches!(
            one("CALL bank.transfer(1, 2, 3)"),
            Statement::Standard(_)
        ));
        assert!(matches!(one("DROP PROCEDURE p"), Statement::Standard(_)));
    }

    #[test]
    fn create_function_aggregate_and_model_bind_exports() {
        let Statement::CreateFunction(f) = one(
            "CREATE OR REPLACE FUNCTION haversine(float8, float8, float8, float8) RETURNS float8 \
             LANGUAGE wasm IMMUTABLE STRICT AS 'geo', 'haversine'",
        ) else {
            panic!("not CREATE FUNCTION");
        };
        assert!(f.or_replace && f.strict);
        assert_eq!(f.kind, FunctionKind::Function);
        assert_eq!(f.volatility, Some(VolatilityClause::Immutable));
        assert_eq!(f.params.len(), 4);
        assert_eq!((f.module.as_str(), f.export.as_str()), ("geo", "haversine"));
        let Statement::CreateFunction(f) = one(
            "CREATE FUNCTION split_words(text) RETURNS TABLE(word text, pos int) \
             LANGUAGE wasm AS 'textkit', 'split_words'",
        ) else {
            panic!("not CREATE FUNCTION");
        };
        assert!(matches!(&f.returns, FunctionReturns::Table(cols) if cols.len() == 2));
        let Statement::CreateFunction(f) = one(
            "CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE wasm AS 'audit', 'audit_row'",
        ) else {
            panic!("not CREATE FUNCTION");
        };
        assert_eq!(f.returns, FunctionReturns::Trigger);
        let Statement::CreateFunction(f) = one(
            "CREATE AGGREGATE median(float8) RETURNS float8 LANGUAGE wasm AS 'stats', 'median'",
        ) else {
            panic!("not CREATE AGGREGATE");
        };
        assert_eq!(f.kind, FunctionKind::Aggregate);
        let Statement::CreateFunction(f) = one(
            "CREATE OR REPLACE MODEL churn(age float8, balance float8) RETURNS float8 \
             LANGUAGE wasm AS 'gbt', 'score' PARAMETERS $1",
        ) else {
            panic!("not CREATE MODEL");
        };
        assert_eq!(f.kind, FunctionKind::Model);
        assert_eq!(f.parameters, Some(ModuleSource::Parameter(1)));
        assert!(
            parse_sql("CREATE MODEL m(a float8) RETURNS float8 LANGUAGE wasm AS 'g', 's'").is_err()
        );
        // Other languages stay sqlparser's.
        assert!(matches!(
            one("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'"),
            Statement::Standard(_)
        ));
        assert_eq!(
            one("DROP MODEL IF EXISTS churn, m2"),
            Statement::DropRoutine {
                kind: FunctionKind::Model,
                names: vec![
                    ast::ObjectName::from(vec![ast::Ident::new("churn")]),
                    ast::ObjectName::from(vec![ast::Ident::new("m2")]),
                ],
                if_exists: true,
            }
        );
        assert!(matches!(
            one("DROP AGGREGATE median(float8) CASCADE"),
            Statement::DropRoutine {
                kind: FunctionKind::Aggregate,
                ..
            }
        ));
        assert!(matches!(
            one("DROP FUNCTION f(int)"),
            Statement::Standard(_)
        ));
    }

    #[test]
    fn role_grants_are_the_forms_without_on() {
        let Statement::RoleGrant(g) =
            one("GRANT admins, auditors TO alice, CURRENT_USER WITH ADMIN OPTION")
        else {
            panic!("not a role grant");
        };
        assert!(g.grant && g.admin_option);
        assert_eq!(
            g.roles,
            [ast::Ident::new("admins"), ast::Ident::new("auditors")]
        );
        assert_eq!(
            g.members,
            [
                RoleSpec::Name(ast::Ident::new("alice")),
                RoleSpec::CurrentUser
            ]
        );
        let Statement::RoleGrant(g) =
            one("REVOKE ADMIN OPTION FOR admins FROM alice GRANTED BY rustydb CASCADE")
        else {
            panic!("not a role revoke");
        };
        assert!(!g.grant && g.admin_option);
        assert_eq!(
            g.granted_by,
            Some(RoleSpec::Name(ast::Ident::new("rustydb")))
        );
        // Privileges on an object stay sqlparser's.
        assert!(matches!(
            one("GRANT SELECT ON t TO alice"),
            Statement::Standard(_)
        ));
        assert!(matches!(
            one("REVOKE ALL ON t FROM alice"),
            Statement::Standard(_)
        ));
        assert!(parse_sql("GRANT TO alice").is_err());
    }

    #[test]
    fn reassign_and_drop_owned() {
        let Statement::Owned(o) = one("REASSIGN OWNED BY alice, CURRENT_USER TO bob") else {
            panic!("not REASSIGN OWNED");
        };
        assert_eq!(o.to, Some(RoleSpec::Name(ast::Ident::new("bob"))));
        assert_eq!(o.roles.len(), 2);
        let Statement::Owned(o) = one("DROP OWNED BY alice CASCADE") else {
            panic!("not DROP OWNED");
        };
        assert!(o.to.is_none() && o.cascade);
        assert!(parse_sql("REASSIGN OWNED BY alice").is_err());
        assert!(matches!(one("DROP TABLE owned"), Statement::Standard(_)));
    }

    #[test]
    fn resource_groups_attach_to_roles_and_databases() {
        assert_eq!(
            one("ALTER ROLE alice SET RESOURCE GROUP small"),
            Statement::AttachResourceGroup {
                target: GroupTarget::Role(ast::Ident::new("alice")),
                group: Some(ast::Ident::new("small")),
            }
        );
        assert_eq!(
            one("ALTER DATABASE acme SET RESOURCE GROUP NONE"),
            Statement::AttachResourceGroup {
                target: GroupTarget::Database(ast::Ident::new("acme")),
                group: None,
            }
        );
        assert_eq!(
            one("DROP RESOURCE GROUP IF EXISTS small"),
            Statement::DropResourceGroup {
                name: ast::Ident::new("small"),
                if_exists: true,
            }
        );
        // Other ALTER ROLE … SET forms stay sqlparser's.
        assert!(matches!(
            one("ALTER ROLE alice SET search_path = public"),
            Statement::Standard(_)
        ));
    }

    #[test]
    fn reset_names_one_parameter_or_all() {
        assert_eq!(one("RESET ALL"), Statement::Reset { name: None });
        assert_eq!(
            one("reset Role"),
            Statement::Reset {
                name: Some("role".into())
            }
        );
        assert_eq!(
            one("RESET TIME ZONE"),
            Statement::Reset {
                name: Some("time zone".into())
            }
        );
        assert!(parse_sql("RESET").is_err());
    }

    #[test]
    fn errors_are_42601_like_postgres() {
        let e = parse_sql("SELEC 1").unwrap_err();
        assert_eq!(e.sqlstate().code(), "42601");
        assert_eq!(e.to_string(), "syntax error at or near \"SELEC\"");
        assert!(parse_sql("CREATE MODULE m FROM").is_err());
        assert!(parse_sql("DROP MODULE").is_err());
        assert!(parse_sql("SELECT 1 2").is_err());
        let deep = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse_sql(&deep).is_err());
    }
}
