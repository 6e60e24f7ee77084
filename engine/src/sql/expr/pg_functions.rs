//! PostgreSQL's catalog and session functions that clients such as psql
//! call (`pg_catalog.pg_get_userbyid`, `pg_table_is_visible`,
//! `current_database`, `version`, …), and the regular-expression match
//! operators (`~`, `~*`, `!~`, `!~*`, also spelled
//! `OPERATOR(pg_catalog.~)`), which the binder turns into calls of
//! PostgreSQL's own names for them (`textregexeq`, …).
//!
//! Names that [`super::functions`] does not know are resolved here.

use crate::SqlState;
use crate::catalog::{Catalog, Privileges};
use crate::sql::error::{SqlError, SqlResult};
use crate::types::{DataType, Value};

use super::functions::Func;

/// The only database a data directory has so far (DESIGN §8).
const DATABASE: &str = "rustydb";
/// The bootstrap superuser's object id, which owns every object.
pub(crate) const ROLE_OID: i64 = crate::catalog::BOOTSTRAP_SUPERUSER_OID as i64;
/// PostgreSQL's number for the UTF8 encoding.
pub(crate) const UTF8_ENCODING: i64 = 6;

/// A PostgreSQL catalog, session or regular-expression function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgFunc {
    /// `pg_get_userbyid(oid)`: the role's name.
    GetUserById,
    /// `pg_table_is_visible(oid)` and the other `*_is_visible`: every
    /// relation lives in `public`, which is on the search path.
    IsVisible,
    /// `pg_encoding_to_char(int)`
    EncodingToChar,
    /// `current_database()`
    CurrentDatabase,
    /// `current_user`, `user`
    CurrentUser,
    /// `session_user`
    SessionUser,
    /// `current_schema()`
    CurrentSchema,
    /// `current_setting(name [, missing_ok])`, which reads the statement's
    /// settings and so is computed by the caller.
    CurrentSetting,
    /// `set_config(name, value, is_local)`, which changes the statement's
    /// settings and so is computed by the caller.
    SetConfig,
    /// `version()`
    Version,
    /// `obj_description`, `col_description`, `shobj_description`: no
    /// object has a comment yet.
    Description,
    /// `pg_get_function_result(oid)`, `pg_get_function_arguments(oid)`:
    /// NULL, PostgreSQL's answer for an oid that names no routine, and no
    /// routine is stored yet.
    FunctionInfo,
    /// `pg_get_expr(expr, relation)`: stored expressions (defaults) are
    /// kept as SQL text already.
    GetExpr,
    /// `format_type(type oid, typmod)`
    FormatType,
    /// `array_to_string(array, separator)`. Arrays are not a type yet;
    /// the catalog's array columns (`datacl`, …) are text, NULL when
    /// empty, so the text is returned as it is.
    ArrayToString,
    /// `text ~ pattern` (`textregexeq`); the flag is case-insensitivity.
    RegexMatch(bool),
    /// `text !~ pattern` (`textregexne`)
    RegexNotMatch(bool),
    /// What psql's `\d <relation>` needs ([`super::pg_describe`]).
    Describe(super::pg_describe::DescribeFunc),
    /// `has_schema_privilege([role,] schema, privilege)`, by names.
    HasSchemaPrivilege,
    /// `pg_has_role([user,] role, privilege)`, by names.
    PgHasRole,
}

/// The function behind a regular-expression operator, also when spelled
/// `OPERATOR(pg_catalog.~)`.
pub fn regex_operator_function(op: &sqlparser::ast::BinaryOperator) -> Option<&'static str> {
    use sqlparser::ast::BinaryOperator as B;
    Some(match op {
        B::PGRegexMatch => "textregexeq",
        B::PGRegexIMatch => "texticregexeq",
        B::PGRegexNotMatch => "textregexne",
        B::PGRegexNotIMatch => "texticregexne",
        B::PGCustomBinaryOperator(path) => {
            let (last, schema) = path.split_last()?;
            if !schema.iter().all(|s| s == "pg_catalog") {
                return None;
            }
            match last.as_str() {
                "~" => "textregexeq",
                "~*" => "texticregexeq",
                "!~" => "textregexne",
                "!~*" => "texticregexne",
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// Resolves a name the built-in functions do not know.
pub(crate) fn resolve(
    name: &str,
    args: &[DataType],
) -> Option<(Func, DataType, Vec<Option<DataType>>)> {
    use DataType as T;
    let text = |f: PgFunc, casts: Vec<Option<DataType>>| Some((Func::Pg(f), T::Text, casts));
    match (name, args.len()) {
        ("pg_get_userbyid", 1) => text(PgFunc::GetUserById, vec![Some(T::Int8)]),
        ("pg_table_is_visible" | "pg_type_is_visible" | "pg_function_is_visible", 1) => {
            Some((Func::Pg(PgFunc::IsVisible), T::Bool, vec![Some(T::Int8)]))
        }
        ("pg_encoding_to_char", 1) => text(PgFunc::EncodingToChar, vec![Some(T::Int8)]),
        ("current_database", 0) => text(PgFunc::CurrentDatabase, vec![]),
        ("current_user" | "user", 0) => text(PgFunc::CurrentUser, vec![]),
        ("session_user", 0) => text(PgFunc::SessionUser, vec![]),
        ("current_schema", 0) => text(PgFunc::CurrentSchema, vec![]),
        ("current_setting", 1) => text(PgFunc::CurrentSetting, vec![Some(T::Text)]),
        ("current_setting", 2) => text(PgFunc::CurrentSetting, vec![Some(T::Text), Some(T::Bool)]),
        ("set_config", 3) => text(
            PgFunc::SetConfig,
            vec![Some(T::Text), Some(T::Text), Some(T::Bool)],
        ),
        ("version", 0) => text(PgFunc::Version, vec![]),
        ("pg_get_function_result" | "pg_get_function_arguments", 1) => {
            text(PgFunc::FunctionInfo, vec![Some(T::Int8)])
        }
        ("pg_get_expr", 2 | 3) => text(PgFunc::GetExpr, {
            let mut casts = vec![Some(T::Text), Some(T::Int8)];
            casts.resize(args.len(), None);
            casts
        }),
        ("has_schema_privilege", 2 | 3) => Some((
            Func::Pg(PgFunc::HasSchemaPrivilege),
            T::Bool,
            vec![Some(T::Text); args.len()],
        )),
        ("pg_has_role", 2 | 3) => Some((
            Func::Pg(PgFunc::PgHasRole),
            T::Bool,
            vec![Some(T::Text); args.len()],
        )),
        ("format_type", 2) => text(PgFunc::FormatType, vec![Some(T::Int8), Some(T::Int8)]),
        ("array_to_string", 2) => text(PgFunc::ArrayToString, vec![Some(T::Text), Some(T::Text)]),
        ("obj_description" | "col_description", 1 | 2) | ("shobj_description", 2) => {
            text(PgFunc::Description, vec![None; args.len()])
        }
        ("textregexeq" | "texticregexeq" | "textregexne" | "texticregexne", 2) => {
            let insensitive = name.starts_with("texticregex");
            let f = if name.ends_with("eq") {
                PgFunc::RegexMatch(insensitive)
            } else {
                PgFunc::RegexNotMatch(insensitive)
            };
            Some((Func::Pg(f), T::Bool, vec![Some(T::Text), Some(T::Text)]))
        }
        _ => super::pg_describe::resolve(name, args),
    }
}

/// Computes a function on evaluated arguments.
pub(crate) fn call(
    f: PgFunc,
    args: &[Value],
    (user, session_user): (&str, &str),
    catalog: &Catalog,
) -> SqlResult<Value> {
    let text = |s: &str| Ok(Value::Text(s.to_owned()));
    match f {
        PgFunc::CurrentDatabase => return text(DATABASE),
        PgFunc::CurrentUser => return text(user),
        PgFunc::SessionUser => return text(session_user),
        PgFunc::CurrentSchema => return text("public"),
        PgFunc::Version => {
            return Ok(Value::Text(format!(
                "PostgreSQL 15.0 (RustyDB {})",
                env!("CARGO_PKG_VERSION")
            )));
        }
        PgFunc::Description | PgFunc::FunctionInfo => return Ok(Value::Null),
        _ => {}
    }
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let int = |i: usize| match args.get(i) {
        Some(Value::Int8(n)) => *n,
        Some(Value::Int4(n)) => i64::from(*n),
        _ => -1,
    };
    let string = |i: usize| match args.get(i) {
        Some(Value::Text(s)) => s.as_str(),
        _ => "",
    };
    match f {
        PgFunc::GetUserById => {
            let id = int(0);
            let name = catalog
                .roles()
                .into_iter()
                .find(|r| i64::from(r.oid) == id)
                .map(|r| r.name.clone());
            // PostgreSQL's answer for an unknown role id.
            Ok(Value::Text(
                name.unwrap_or_else(|| format!("unknown (OID={id})")),
            ))
        }
        PgFunc::IsVisible => Ok(Value::Bool(true)),
        PgFunc::FormatType => {
            Ok(crate::sql::system::format_type(int(0), int(1)).map_or(Value::Null, Value::Text))
        }
        PgFunc::ArrayToString | PgFunc::GetExpr => text(string(0)),
        PgFunc::EncodingToChar => text(if int(0) == UTF8_ENCODING { "UTF8" } else { "" }),
        PgFunc::RegexMatch(ci) => Ok(Value::Bool(regex_match(string(0), string(1), ci)?)),
        PgFunc::RegexNotMatch(ci) => Ok(Value::Bool(!regex_match(string(0), string(1), ci)?)),
        PgFunc::Describe(d) => super::pg_describe::call(d, args, catalog),
        PgFunc::HasSchemaPrivilege => {
            let (role, schema, wanted) = match args.len() {
                3 => (string(0), string(1), string(2)),
                _ => (user, string(0), string(1)),
            };
            has_schema_privilege(catalog, role, schema, wanted).map(Value::Bool)
        }
        PgFunc::PgHasRole => {
            let (member, role, wanted) = match args.len() {
                3 => (string(0), string(1), string(2)),
                _ => (user, string(0), string(1)),
            };
            pg_has_role(catalog, member, role, wanted).map(Value::Bool)
        }
        PgFunc::CurrentDatabase
        | PgFunc::CurrentUser
        | PgFunc::SessionUser
        | PgFunc::CurrentSchema
        | PgFunc::CurrentSetting
        | PgFunc::SetConfig
        | PgFunc::Version
        | PgFunc::Description
        | PgFunc::FunctionInfo => Err(SqlError::Internal("handled above".into())),
    }
}

/// Whether `role` holds any of the comma-separated privileges `wanted`
/// (`USAGE`, `CREATE`, each optionally `WITH GRANT OPTION`) on `schema`.
/// Grant options are not granted here, so only the owner (and a
/// superuser) holds them, as the owner does in PostgreSQL.
fn has_schema_privilege(
    catalog: &Catalog,
    role: &str,
    schema: &str,
    wanted: &str,
) -> SqlResult<bool> {
    if catalog.role(role).is_none() {
        return Err(SqlError::Semantic {
            state: SqlState::UNDEFINED_OBJECT,
            message: format!("role \"{role}\" does not exist"),
        });
    }
    let who = catalog.privileged(role);
    let Some(s) = catalog.schema(schema) else {
        return Err(crate::sql::schema::undefined(schema));
    };
    let mut held = false;
    for item in wanted.split(',') {
        let item = item.trim();
        let lower = item.to_ascii_lowercase();
        let (name, grant_option) = match lower.strip_suffix("with grant option") {
            Some(rest) => (rest.trim_end(), true),
            None => (lower.as_str(), false),
        };
        let p = match name {
            "usage" => Privileges::USAGE,
            "create" => Privileges::CREATE,
            _ => {
                return Err(SqlError::Data {
                    state: SqlState::INVALID_PARAMETER_VALUE,
                    message: format!("unrecognized privilege type: \"{item}\""),
                });
            }
        };
        held |= if grant_option {
            who.includes(&s.acl.owner)
        } else {
            s.acl.allows(&who, p)
        };
    }
    Ok(held)
}

/// Whether `member` holds `wanted` of `role`: MEMBER (belongs to it, as
/// `SET ROLE` asks), USAGE (holds its privileges now, through INHERIT),
/// `… WITH ADMIN OPTION` (may grant it); several may be listed, any one
/// answers yes.
fn pg_has_role(catalog: &Catalog, member: &str, role: &str, wanted: &str) -> SqlResult<bool> {
    for name in [member, role] {
        if catalog.role(name).is_none() {
            return Err(SqlError::Semantic {
                state: SqlState::UNDEFINED_OBJECT,
                message: format!("role \"{name}\" does not exist"),
            });
        }
    }
    let mut held = false;
    for item in wanted.split(',') {
        let item = item.trim();
        held |= match item.to_ascii_lowercase().as_str() {
            "member" => catalog.is_member_of(member, role),
            "usage" => catalog.privileged(member).includes(role),
            "member with admin option"
            | "usage with admin option"
            | "member with grant option"
            | "usage with grant option" => catalog.has_admin_option(member, role),
            _ => {
                return Err(SqlError::Data {
                    state: SqlState::INVALID_PARAMETER_VALUE,
                    message: format!("unrecognized privilege type: \"{item}\""),
                });
            }
        };
    }
    Ok(held)
}

/// The most compiled-program size a client's pattern may ask for, so a
/// hostile pattern fails with an error instead of exhausting memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// POSIX-style matching as PostgreSQL's `~`: the pattern may match
/// anywhere. The `regex` crate covers the syntax clients use (anchors,
/// classes, alternation, groups); its guaranteed linear-time matching
/// keeps a pattern from stalling the server.
fn regex_match(text: &str, pattern: &str, case_insensitive: bool) -> SqlResult<bool> {
    let re = regex::RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| SqlError::Data {
            state: SqlState::INVALID_REGULAR_EXPRESSION,
            message: format!("invalid regular expression: {e}"),
        })?;
    Ok(re.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_operators_match_anywhere_and_report_bad_patterns() {
        let m = |t: &str, p: &str| regex_match(t, p, false).unwrap();
        assert!(m("pg_toast_1", "^pg_toast"));
        assert!(!m("public", "^pg_toast"));
        assert!(m("accounts", "^(accounts)$"));
        assert!(regex_match("ABC", "b", true).unwrap());
        let e = regex_match("x", "(", false).unwrap_err();
        assert_eq!(e.sqlstate().code(), "2201B");
    }

    #[test]
    fn functions_resolve_by_name_and_arity() {
        assert!(resolve("pg_get_userbyid", &[DataType::Int8]).is_some());
        assert!(resolve("pg_get_userbyid", &[]).is_none());
        let catalog = Catalog::default();
        assert_eq!(
            call(
                PgFunc::EncodingToChar,
                &[Value::Int8(UTF8_ENCODING)],
                ("rustydb", "rustydb"),
                &catalog
            )
            .unwrap(),
            Value::Text("UTF8".into())
        );
    }
}
