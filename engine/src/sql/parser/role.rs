//! `GRANT role TO member`, `REVOKE role FROM member`, `REASSIGN OWNED`,
//! `DROP OWNED` and `RESET`, which sqlparser does not parse the
//! PostgreSQL way.
//!
//! sqlparser reads `GRANT` as granting privileges `ON` an object; a GRANT
//! or REVOKE with no `ON` before its `TO` / `FROM` is PostgreSQL's role
//! membership form, and is parsed here instead.

use sqlparser::ast::Ident;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

/// A role as a role statement names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSpec {
    /// A role by name.
    Name(Ident),
    /// `CURRENT_ROLE` / `CURRENT_USER`
    CurrentUser,
    /// `SESSION_USER`
    SessionUser,
}

/// `GRANT role [, …] TO member [, …] [WITH ADMIN OPTION] [GRANTED BY r]`
/// or `REVOKE [ADMIN OPTION FOR] role [, …] FROM member [, …]
/// [GRANTED BY r] [CASCADE | RESTRICT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    /// GRANT, or REVOKE.
    pub grant: bool,
    /// The roles granted or revoked.
    pub roles: Vec<Ident>,
    /// Who receives them, or loses them.
    pub members: Vec<RoleSpec>,
    /// GRANT: `WITH ADMIN OPTION`; REVOKE: `ADMIN OPTION FOR` (only the
    /// option is taken away).
    pub admin_option: bool,
    /// `GRANTED BY`
    pub granted_by: Option<RoleSpec>,
}

/// Whether the GRANT or REVOKE at the parser's position has no `ON`
/// before its `TO` / `FROM`: the role membership form.
pub(super) fn is_role_grant(parser: &Parser<'_>) -> bool {
    for n in 1.. {
        match parser.peek_nth_token_ref(n).token {
            Token::EOF | Token::SemiColon => return false,
            Token::Word(ref w) if w.keyword == Keyword::ON => return false,
            Token::Word(ref w) if matches!(w.keyword, Keyword::TO | Keyword::FROM) => {
                return n > 1;
            }
            _ => {}
        }
    }
    false
}

/// Parses a role GRANT or REVOKE, the parser at its first keyword.
pub(super) fn parse_role_grant(parser: &mut Parser<'_>) -> Result<RoleGrant, ParserError> {
    let grant = parser.parse_keyword(Keyword::GRANT);
    if !grant {
        parser.expect_keyword_is(Keyword::REVOKE)?;
    }
    let mut admin_option =
        !grant && parser.parse_keywords(&[Keyword::ADMIN, Keyword::OPTION, Keyword::FOR]);
    let roles = parser.parse_comma_separated(|p| p.parse_identifier())?;
    parser.expect_keyword_is(if grant { Keyword::TO } else { Keyword::FROM })?;
    let members = parser.parse_comma_separated(parse_role_spec)?;
    if grant && parser.parse_keywords(&[Keyword::WITH, Keyword::ADMIN, Keyword::OPTION]) {
        admin_option = true;
    }
    let granted_by = if parser.parse_keywords(&[Keyword::GRANTED, Keyword::BY]) {
        Some(parse_role_spec(parser)?)
    } else {
        None
    };
    // Memberships carry no grant options of their own to cascade to, so
    // CASCADE and RESTRICT revoke the same.
    if !grant {
        let _ = parser.parse_one_of_keywords(&[Keyword::CASCADE, Keyword::RESTRICT]);
    }
    Ok(RoleGrant {
        grant,
        roles,
        members,
        admin_option,
        granted_by,
    })
}

/// `REASSIGN OWNED BY role [, …] TO role` or `DROP OWNED BY role [, …]
/// [CASCADE | RESTRICT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    /// The roles whose objects are meant.
    pub roles: Vec<RoleSpec>,
    /// REASSIGN: the new owner; DROP: `None`.
    pub to: Option<RoleSpec>,
    /// DROP … CASCADE
    pub cascade: bool,
}

/// Parses REASSIGN OWNED or DROP OWNED, the parser at its first word.
pub(super) fn parse_owned(parser: &mut Parser<'_>) -> Result<Owned, ParserError> {
    let reassign = !parser.parse_keyword(Keyword::DROP);
    if reassign {
        parser.next_token();
    }
    parser.expect_keywords(&[Keyword::OWNED, Keyword::BY])?;
    let roles = parser.parse_comma_separated(parse_role_spec)?;
    let mut owned = Owned {
        roles,
        to: None,
        cascade: false,
    };
    if reassign {
        parser.expect_keyword_is(Keyword::TO)?;
        owned.to = Some(parse_role_spec(parser)?);
    } else {
        owned.cascade = matches!(
            parser.parse_one_of_keywords(&[Keyword::CASCADE, Keyword::RESTRICT]),
            Some(Keyword::CASCADE)
        );
    }
    Ok(owned)
}

fn parse_role_spec(parser: &mut Parser<'_>) -> Result<RoleSpec, ParserError> {
    if parser
        .parse_one_of_keywords(&[Keyword::CURRENT_ROLE, Keyword::CURRENT_USER])
        .is_some()
    {
        return Ok(RoleSpec::CurrentUser);
    }
    if parser.parse_keyword(Keyword::SESSION_USER) {
        return Ok(RoleSpec::SessionUser);
    }
    Ok(RoleSpec::Name(parser.parse_identifier()?))
}

/// Parses `RESET name | RESET ALL`, the parser at `RESET`: the name, or
/// `None` for ALL.
pub(super) fn parse_reset(parser: &mut Parser<'_>) -> Result<Option<String>, ParserError> {
    parser.expect_keyword_is(Keyword::RESET)?;
    if parser.parse_keyword(Keyword::ALL) {
        return Ok(None);
    }
    let mut parts = vec![parser.parse_identifier()?.value.to_lowercase()];
    while parser.consume_token(&Token::Period) {
        parts.push(parser.parse_identifier()?.value.to_lowercase());
    }
    // `RESET TIME ZONE`, `RESET SESSION AUTHORIZATION`: two words.
    if let ([first], Token::Word(w)) = (parts.as_slice(), &parser.peek_token_ref().token) {
        let next = w.value.to_lowercase();
        if matches!(
            (first.as_str(), next.as_str()),
            ("time", "zone") | ("session", "authorization")
        ) {
            let name = format!("{first} {next}");
            parser.next_token();
            return Ok(Some(name));
        }
    }
    Ok(Some(parts.join(".")))
}
