//! `DROP RESOURCE GROUP` and attaching groups: `ALTER ROLE r SET RESOURCE
//! GROUP g` and `ALTER DATABASE d SET RESOURCE GROUP g` (DESIGN §5);
//! `NONE` detaches. CREATE and ALTER RESOURCE GROUP are in `extensions.rs`.

use sqlparser::ast::Ident;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};

use super::functions::word_at;

/// What a resource group is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupTarget {
    /// `ALTER ROLE name` / `ALTER USER name`
    Role(Ident),
    /// `ALTER DATABASE name`
    Database(Ident),
}

/// Whether the parser is at `ALTER ROLE | USER | DATABASE name SET
/// RESOURCE GROUP`.
pub(super) fn is_attach(parser: &Parser<'_>) -> bool {
    word_at(parser, 3, "set") && word_at(parser, 4, "resource") && word_at(parser, 5, "group")
}

/// Parses `ALTER ROLE | USER | DATABASE name SET RESOURCE GROUP g | NONE`,
/// the parser at ALTER: the target and the group (`None` for NONE).
pub(super) fn parse_attach(
    parser: &mut Parser<'_>,
) -> Result<(GroupTarget, Option<Ident>), ParserError> {
    parser.expect_keyword_is(Keyword::ALTER)?;
    let database =
        parser.expect_one_of_keywords(&[Keyword::ROLE, Keyword::USER, Keyword::DATABASE])?
            == Keyword::DATABASE;
    let name = parser.parse_identifier()?;
    parser.expect_keyword_is(Keyword::SET)?;
    parser.next_token();
    parser.expect_keyword_is(Keyword::GROUP)?;
    let group = if parser.parse_keyword(Keyword::NONE) {
        None
    } else {
        Some(parser.parse_identifier()?)
    };
    let target = if database {
        GroupTarget::Database(name)
    } else {
        GroupTarget::Role(name)
    };
    Ok((target, group))
}

/// Parses `DROP RESOURCE GROUP [IF EXISTS] name`, the parser at DROP.
pub(super) fn parse_drop(parser: &mut Parser<'_>) -> Result<(Ident, bool), ParserError> {
    parser.expect_keyword_is(Keyword::DROP)?;
    parser.next_token();
    parser.expect_keyword_is(Keyword::GROUP)?;
    let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    Ok((parser.parse_identifier()?, if_exists))
}
