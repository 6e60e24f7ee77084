//! PostgreSQL's dialect as sqlparser has it, plus the syntax sqlparser
//! lacks and PostgreSQL's grammar rewrites away before analysis.
//!
//! sqlparser asks its dialect before parsing each infix expression; this
//! wrapper answers for `BETWEEN SYMMETRIC` and passes everything else to
//! [`PostgreSqlDialect`]. It reports PostgreSQL's type id, so the places in
//! sqlparser that test for the PostgreSQL dialect treat it as one.

use std::any::TypeId;

use sqlparser::ast::{BinaryOperator, Expr};
use sqlparser::dialect::{Dialect, PostgreSqlDialect, Precedence};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};

/// The dialect every RustyDB statement and stored expression is parsed in.
#[derive(Debug)]
pub struct RustyDialect(PostgreSqlDialect);

impl Default for RustyDialect {
    fn default() -> Self {
        RustyDialect(PostgreSqlDialect {})
    }
}

macro_rules! delegate_flags {
    ($($name:ident),* $(,)?) => {
        $(fn $name(&self) -> bool { self.0.$name() })*
    };
}

impl Dialect for RustyDialect {
    fn dialect(&self) -> TypeId {
        TypeId::of::<PostgreSqlDialect>()
    }

    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        self.0.identifier_quote_style(identifier)
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.0.is_delimited_identifier_start(ch)
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        self.0.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        self.0.is_identifier_part(ch)
    }

    fn is_custom_operator_part(&self, ch: char) -> bool {
        self.0.is_custom_operator_part(ch)
    }

    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        self.0.get_next_precedence(parser)
    }

    fn prec_value(&self, prec: Precedence) -> u8 {
        self.0.prec_value(prec)
    }

    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        _precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        let negated = if parser.parse_keywords(&[Keyword::BETWEEN, Keyword::SYMMETRIC]) {
            false
        } else if parser.parse_keywords(&[Keyword::NOT, Keyword::BETWEEN, Keyword::SYMMETRIC]) {
            true
        } else if parser.parse_keywords(&[Keyword::BETWEEN, Keyword::ASYMMETRIC]) {
            return Some(parser.parse_between(expr.clone(), false));
        } else if parser.parse_keywords(&[Keyword::NOT, Keyword::BETWEEN, Keyword::ASYMMETRIC]) {
            return Some(parser.parse_between(expr.clone(), true));
        } else {
            return None;
        };
        Some(parser.parse_between(expr.clone(), negated).map(symmetric))
    }

    delegate_flags!(
        supports_unicode_string_literal,
        supports_filter_during_aggregation,
        supports_group_by_expr,
        allow_extract_custom,
        allow_extract_single_quotes,
        supports_create_index_with_clause,
        supports_explain_with_utility_options,
        supports_listen_notify,
        supports_factorial_operator,
        supports_comment_on,
        supports_load_extension,
        supports_named_fn_args_with_colon_operator,
        supports_named_fn_args_with_expr_name,
        supports_empty_projections,
        supports_nested_comments,
        supports_string_escape_constant,
        supports_numeric_literal_underscores,
        supports_array_typedef_with_brackets,
        supports_geometric_types,
        supports_set_names,
        supports_alter_column_type_using,
        supports_notnull_operator,
        supports_interval_options,
    );
}

/// `x BETWEEN SYMMETRIC a AND b` as PostgreSQL's grammar rewrites it: the
/// range taken in either order, `x` evaluated once per comparison.
/// Negated, `x` is outside both orders.
fn symmetric(between: Expr) -> Expr {
    let Expr::Between {
        expr,
        negated,
        low,
        high,
    } = between
    else {
        return between;
    };
    let forward = Expr::Between {
        expr: expr.clone(),
        negated,
        low: low.clone(),
        high: high.clone(),
    };
    let backward = Expr::Between {
        expr,
        negated,
        low: high,
        high: low,
    };
    Expr::Nested(Box::new(Expr::BinaryOp {
        left: Box::new(forward),
        op: if negated {
            BinaryOperator::And
        } else {
            BinaryOperator::Or
        },
        right: Box::new(backward),
    }))
}
