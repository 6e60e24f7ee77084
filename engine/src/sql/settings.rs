//! SET and SHOW of run-time parameters.
//!
//! Parameters are remembered per session so SHOW reads back what SET
//! wrote; transactionally, as in PostgreSQL (the session keeps what undoes
//! a block's SETs, `session::TxnSettings`), with `SET LOCAL` lasting until
//! the block ends. `role` is a parameter too: its value is the current
//! user. The transaction isolation, the time zone, `search_path`,
//! `statement_timeout` and `lock_timeout` change behaviour (date style and
//! the rest are accepted and shown, not yet applied).
//!
//! A name with a dot (`app.tenant`) is a custom parameter, PostgreSQL's
//! placeholder: any session may set one, and once set it stays defined
//! (as `''` after RESET or ROLLBACK) for the rest of the session — which
//! is how applications hand values to row filters and triggers.
//! `set_config(name, value, is_local)` is SET as a function: it runs while
//! a statement evaluates, which cannot reach the session, so the statement
//! keeps the change ([`StatementSettings`]), sees it at once in
//! `current_setting`, and the session takes it when the statement succeeds
//! ([`apply`]).

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;

use sqlparser::ast;

use crate::SqlState;
use crate::catalog::Isolation;
use crate::types::{DataType, Value, Zone};

use super::error::{SqlError, SqlResult};
use super::session::{ColumnDesc, Session, StatementResult};
use crate::extension::{Notice, NoticeLevel};

/// The parameters SET accepts, with their defaults (PostgreSQL's, for a
/// server started with `TimeZone = UTC`).
const PARAMETERS: &[(&str, &str)] = &[
    ("timezone", "UTC"),
    ("datestyle", "ISO, MDY"),
    ("intervalstyle", "postgres"),
    ("statement_timeout", "0"),
    ("lock_timeout", "0"),
    ("search_path", "\"$user\", public"),
    ("client_min_messages", "notice"),
    ("client_encoding", "UTF8"),
    ("application_name", ""),
    ("default_transaction_isolation", "read committed"),
    ("role", "none"),
];

/// A time setting (`statement_timeout`, `lock_timeout`) as a duration:
/// `None` when 0, unset or unreadable.
pub(crate) fn duration(session: &Session, name: &str) -> Option<Duration> {
    parse_duration(session.settings.get(name)?)
}

/// A time as PostgreSQL writes one: a number of milliseconds, or a number
/// with `us`, `ms`, `s`, `min`, `h`; `None` when 0 or unreadable.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let ms = milliseconds(text)?;
    (ms > 0.0).then(|| Duration::try_from_secs_f64(ms / 1000.0).ok())?
}

/// [`parse_duration`]'s reading of `text` in milliseconds, 0 included;
/// `None` when unreadable.
fn milliseconds(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    Some(match unit.trim() {
        "" | "ms" => n,
        "us" => n / 1000.0,
        "s" => n * 1000.0,
        "min" => n * 60_000.0,
        "h" => n * 3_600_000.0,
        _ => return None,
    })
}

/// What the server reports about itself, which SHOW reads and SET may not
/// change (the values the wire server announces at startup).
const REPORTED: &[(&str, &str)] = &[
    ("server_version", "15.0"),
    ("server_version_num", "150000"),
    ("server_encoding", "UTF8"),
    ("standard_conforming_strings", "on"),
    ("integer_datetimes", "on"),
    ("max_identifier_length", "63"),
];

fn known(name: &str) -> SqlResult<&'static str> {
    PARAMETERS
        .iter()
        .chain(REPORTED)
        .find(|(n, _)| *n == name)
        .map(|(_, default)| *default)
        .ok_or_else(|| SqlError::Semantic {
            state: SqlState::UNDEFINED_OBJECT,
            message: format!("unrecognized configuration parameter \"{name}\""),
        })
}

/// Whether `name` is a custom parameter (a placeholder): it has a dot.
fn is_custom(name: &str) -> bool {
    name.contains('.')
}

/// A parameter name as settings are kept: lower case, `time zone` as
/// `timezone`.
///
/// # Errors
/// 42602 for a custom name that is not two or more simple identifiers
/// separated by dots.
pub(crate) fn normalized(raw: &str) -> SqlResult<String> {
    let name = raw.to_lowercase();
    if name == "time zone" {
        return Ok("timezone".to_owned());
    }
    let simple = |part: &str| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    };
    if is_custom(&name) && !name.split('.').all(simple) {
        return Err(SqlError::Routine {
            state: SqlState::INVALID_NAME,
            message: format!("invalid configuration parameter name \"{name}\""),
            detail: Some(
                "Custom parameter names must be two or more simple identifiers separated by dots."
                    .into(),
            ),
        });
    }
    Ok(name)
}

/// Checks that parameter `name` (normalized) may be set or reset.
///
/// # Errors
/// 42704 for an unknown built-in name; 55P02 for one the server reports
/// about itself.
fn settable(name: &str) -> SqlResult<()> {
    if is_custom(name) {
        return Ok(());
    }
    known(name)?;
    if REPORTED.iter().any(|(n, _)| *n == name) {
        return Err(SqlError::Semantic {
            state: SqlState::CANT_CHANGE_RUNTIME_PARAM,
            message: format!("parameter \"{name}\" cannot be changed"),
        });
    }
    Ok(())
}

/// `value` as parameter `name` keeps it, for the parameters whose values
/// have a form (`role` is checked by its callers, against the catalog).
///
/// # Errors
/// 22023 for a value the parameter cannot take.
fn checked(name: &str, value: String) -> SqlResult<String> {
    let invalid = || {
        SqlError::data(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("invalid value for parameter \"{name}\": \"{value}\""),
        )
    };
    match name {
        "default_transaction_isolation" => {
            isolation_of(&value)?;
            Ok(value)
        }
        "timezone" => time_zone_name(&value),
        "statement_timeout" | "lock_timeout" => match milliseconds(&value) {
            Some(_) => Ok(value),
            None => Err(invalid()),
        },
        _ => Ok(value),
    }
}

/// A SET value as text: `'UTC'` is `UTC`, `DEFAULT` resets.
fn value_text(values: &[ast::Expr]) -> String {
    values
        .iter()
        .map(|v| match v {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => s.clone(),
                other => other.to_string(),
            },
            ast::Expr::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn level_name(level: &ast::TransactionIsolationLevel) -> &'static str {
    match level {
        ast::TransactionIsolationLevel::ReadUncommitted => "read uncommitted",
        ast::TransactionIsolationLevel::ReadCommitted => "read committed",
        ast::TransactionIsolationLevel::RepeatableRead => "repeatable read",
        ast::TransactionIsolationLevel::Serializable | ast::TransactionIsolationLevel::Snapshot => {
            "serializable"
        }
    }
}

/// `SET [SESSION | LOCAL] name = value`, `SET TIME ZONE …`, `SET ROLE …`,
/// `SET TRANSACTION …`.
pub(crate) fn set(session: &mut Session, set: &ast::Set) -> SqlResult<StatementResult> {
    let is_local =
        |m: &Option<ast::ContextModifier>| matches!(m, Some(ast::ContextModifier::Local));
    match set {
        ast::Set::SingleAssignment {
            variable,
            values,
            scope,
            ..
        } => {
            let parts: Vec<String> = variable
                .0
                .iter()
                .map(|part| match part.as_ident() {
                    Some(ident) => ident.value.clone(),
                    None => part.to_string(),
                })
                .collect();
            let name = normalized(&parts.join("."))?;
            settable(&name)?;
            let value = value_text(values);
            let value = if value.eq_ignore_ascii_case("default") {
                None
            } else if name == "role" {
                super::role_membership::check_set_role(session, Some(&value))?
            } else {
                Some(checked(&name, value)?)
            };
            assign(session, &name, is_local(scope), value);
        }
        ast::Set::SetTimeZone { value, local } => {
            let value = value_text(std::slice::from_ref(value));
            let value =
                if value.eq_ignore_ascii_case("default") || value.eq_ignore_ascii_case("local") {
                    None
                } else {
                    Some(time_zone_name(&value)?)
                };
            assign(session, "timezone", *local, value);
        }
        ast::Set::SetTransaction {
            modes,
            session: false,
            ..
        } => {
            set_transaction(session, modes)?;
        }
        ast::Set::SetRole {
            context_modifier,
            role_name,
        } => {
            let name = role_name.as_ref().map(super::binder::ident);
            let value = super::role_membership::check_set_role(session, name.as_deref())?;
            assign(session, "role", is_local(context_modifier), value);
        }
        other => {
            return Err(SqlError::unsupported(format!(
                "{other} is not supported yet"
            )));
        }
    }
    Ok(StatementResult::Command("SET".into()))
}

/// Sets (`Some`) or resets (`None`) parameter `name`; with `local`, only
/// until the open block ends (outside one, PostgreSQL only warns).
fn assign(session: &mut Session, name: &str, local: bool, value: Option<String>) {
    if local {
        if session.txn_settings.at_begin.is_none() {
            session.notices.push(Notice {
                level: NoticeLevel::Warning,
                message: "SET LOCAL can only be used in transaction blocks".into(),
            });
            return;
        }
        let before = session.settings.get(name).cloned();
        session
            .txn_settings
            .local_restore
            .entry(name.to_owned())
            .or_insert(before);
    } else {
        session.txn_settings.local_restore.remove(name);
    }
    match value {
        Some(v) => session.settings.insert(name.to_owned(), v),
        // A custom parameter, once defined, stays defined.
        None if is_custom(name) => session.settings.insert(name.to_owned(), String::new()),
        None => session.settings.remove(name),
    };
    settle(session);
}

/// Makes the session follow its settings after they changed: the
/// default isolation, the current user (`role`; a routine's nested
/// session keeps the user it runs as) and the time zone, which must hold
/// from here for the server's reading of the next statement's text
/// parameters too.
pub(crate) fn settle(session: &mut Session) {
    session.isolation = session
        .settings
        .get("default_transaction_isolation")
        .and_then(|v| isolation_of(v).ok())
        .unwrap_or_default();
    if session.call_depth == 0 {
        session.user = session
            .settings
            .get("role")
            .cloned()
            .unwrap_or_else(|| session.session_user.clone());
    }
    crate::types::use_session_zone(session.settings.get("timezone").map(String::as_str));
}

/// `SET TRANSACTION modes`: outside a block PostgreSQL only warns, so it
/// does nothing; inside, the modes hold until the first statement, after
/// which the isolation is fixed (25001).
fn set_transaction(session: &mut Session, modes: &[ast::TransactionMode]) -> SqlResult<()> {
    if session.txn.is_none() {
        return Ok(());
    }
    let level = modes.iter().find_map(|m| match m {
        ast::TransactionMode::IsolationLevel(level) => Some(level),
        ast::TransactionMode::AccessMode(_) => None,
    });
    if session.block_queried && level.is_some() {
        return Err(SqlError::TransactionState {
            state: SqlState::ACTIVE_SQL_TRANSACTION,
            message: "SET TRANSACTION ISOLATION LEVEL must be called before any query".into(),
        });
    }
    let mut isolation = session.block_isolation;
    let mut read_only = session.block_read_only;
    for mode in modes {
        match mode {
            ast::TransactionMode::IsolationLevel(level) => {
                isolation = isolation_of(level_name(level))?;
            }
            ast::TransactionMode::AccessMode(access) => {
                read_only = matches!(access, ast::TransactionAccessMode::ReadOnly);
            }
        }
    }
    let name = level.map(level_name).or(session.isolation_name);
    if !session.block_queried {
        // Nothing has run in the transaction: it starts again with the modes.
        session.begin_txn_with(isolation, read_only);
    }
    session.isolation_name = name;
    Ok(())
}

/// The name a time zone setting is kept (and shown) under: the database's
/// spelling of a zone name, PostgreSQL's `<-05>+05` for a number of hours.
fn time_zone_name(value: &str) -> SqlResult<String> {
    Zone::for_setting(value)
        .map(|zone| zone.name().to_owned())
        .ok_or_else(|| {
            SqlError::data(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("invalid value for parameter \"TimeZone\": \"{value}\""),
            )
        })
}

fn isolation_of(name: &str) -> SqlResult<Isolation> {
    match name.to_lowercase().as_str() {
        "read uncommitted" | "read committed" => Ok(Isolation::ReadCommitted),
        "repeatable read" => Ok(Isolation::RepeatableRead),
        "serializable" => Ok(Isolation::Serializable),
        _ => Err(SqlError::data(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("invalid value for parameter \"default_transaction_isolation\": \"{name}\""),
        )),
    }
}

/// The session's parameters as one statement sees them: what
/// `current_setting` reads, and the schemas its binders look names up in.
/// Taken when the statement starts, since evaluation cannot reach the
/// session; `set_config` calls are kept here, read back by the rest of
/// the statement, and handed to the session by [`apply`] when it succeeds.
#[derive(Debug)]
pub(crate) struct StatementSettings {
    values: HashMap<String, String>,
    transaction_isolation: &'static str,
    /// `search_path` resolved: `$user` replaced, quotes removed.
    pub(crate) search_path: Vec<String>,
    /// The statement's `set_config` calls, in order.
    changes: Mutex<Vec<Change>>,
}

/// One `set_config` call: `value` `None` resets the parameter.
#[derive(Debug)]
pub(crate) struct Change {
    name: String,
    value: Option<String>,
    local: bool,
}

impl StatementSettings {
    pub(crate) fn of(session: &Session) -> StatementSettings {
        let transaction_isolation = session.isolation_name.unwrap_or_else(|| {
            let isolation = match &session.txn {
                Some(_) => session.block_isolation,
                None => session.isolation,
            };
            match isolation {
                Isolation::ReadCommitted => "read committed",
                Isolation::RepeatableRead => "repeatable read",
                Isolation::Serializable => "serializable",
            }
        });
        StatementSettings {
            values: session.settings.clone(),
            transaction_isolation,
            search_path: super::routine::query_calls::search_path(session),
            changes: Mutex::new(Vec::new()),
        }
    }

    /// The value of parameter `name` (lower case), as SHOW gives it.
    ///
    /// # Errors
    /// 42704 for a parameter that does not exist.
    pub(crate) fn value(&self, name: &str) -> SqlResult<String> {
        if name == "transaction_isolation" {
            return Ok(self.transaction_isolation.to_owned());
        }
        let changed = self
            .changes
            .lock()
            .iter()
            .rev()
            .find(|c| c.name == name)
            .map(|c| c.value.clone());
        match changed.or_else(|| self.values.get(name).map(|v| Some(v.clone()))) {
            Some(Some(v)) => Ok(v),
            // A custom parameter set in this statement and reset since.
            Some(None) if is_custom(name) => Ok(String::new()),
            _ => known(name).map(str::to_owned),
        }
    }

    /// `current_setting(name [, missing_ok])`: NULL for an unknown name
    /// when `missing_ok` is true, as in PostgreSQL.
    ///
    /// # Errors
    /// 42704 for an unknown name otherwise.
    pub(crate) fn current_setting(&self, args: &[Value]) -> SqlResult<Value> {
        let (Some(Value::Text(name)), missing_ok) = (args.first(), args.get(1)) else {
            return Ok(Value::Null);
        };
        match self.value(&name.to_lowercase()) {
            Ok(v) => Ok(Value::Text(v)),
            Err(_) if matches!(missing_ok, Some(Value::Bool(true))) => Ok(Value::Null),
            Err(e) => Err(e),
        }
    }

    /// `set_config(name, value, is_local)`: checks the change as SET
    /// would, keeps it for the statement and the session, and returns the
    /// parameter's new value. A NULL value resets the parameter; a NULL
    /// `is_local` is false, as in PostgreSQL. A new `role` must be one the
    /// session user is a member of.
    ///
    /// # Errors
    /// 22004 for a NULL name; 42602, 42704, 55P02 and 22023 as SET; for
    /// `role`, 22023 for no such role and 42501 for one the session user
    /// may not become.
    pub(crate) fn set_config(
        &self,
        args: &[Value],
        catalog: &crate::catalog::Catalog,
        session_user: &str,
    ) -> SqlResult<Value> {
        let Some(Value::Text(name)) = args.first() else {
            return Err(SqlError::data(
                SqlState::NULL_VALUE_NOT_ALLOWED,
                "SET requires parameter name",
            ));
        };
        let name = normalized(name)?;
        settable(&name)?;
        let value = match args.get(1) {
            Some(Value::Text(v)) if name == "role" => {
                super::role_membership::role_to_set(catalog, session_user, Some(v))?
            }
            Some(Value::Text(v)) => Some(checked(&name, v.clone())?),
            _ => None,
        };
        let local = matches!(args.get(2), Some(Value::Bool(true)));
        self.changes.lock().push(Change {
            name: name.clone(),
            value,
            local,
        });
        self.value(&name).map(Value::Text)
    }

    /// The statement's `set_config` calls, for [`apply`].
    pub(crate) fn take_changes(&self) -> Vec<Change> {
        std::mem::take(&mut *self.changes.lock())
    }
}

/// Gives the session a succeeded statement's `set_config` calls, as SETs.
/// A local one outside a block lasted only for its statement, the
/// implicit transaction, so it leaves nothing behind (and, unlike SET
/// LOCAL, no warning — PostgreSQL's behaviour).
///
/// # Errors
/// 0A000 for a change of `role` inside a routine, which SET ROLE refuses too.
pub(crate) fn apply(session: &mut Session, changes: Vec<Change>) -> SqlResult<()> {
    for change in changes {
        if change.name == "role" && session.call_depth > 0 {
            return Err(SqlError::unsupported("SET ROLE inside a routine"));
        }
        if change.local && session.txn_settings.at_begin.is_none() {
            if is_custom(&change.name) && !session.settings.contains_key(&change.name) {
                session.settings.insert(change.name, String::new());
            }
            continue;
        }
        assign(session, &change.name, change.local, change.value);
    }
    Ok(())
}

/// Puts back an earlier state of the session's settings (a ROLLBACK, or
/// the end of a block's SET LOCAL): a custom parameter defined since stays
/// defined, as `''`, as it does in PostgreSQL.
pub(crate) fn put_back(settings: &mut HashMap<String, String>, earlier: HashMap<String, String>) {
    let defined: Vec<String> = settings
        .keys()
        .filter(|name| is_custom(name) && !earlier.contains_key(*name))
        .cloned()
        .collect();
    *settings = earlier;
    for name in defined {
        settings.insert(name, String::new());
    }
}

/// `DISCARD ALL | PLANS | SEQUENCES | TEMP`, as a connection pooler
/// resets a session before handing it to the next client: ALL forgets the
/// prepared statements, resets every parameter and the sequences'
/// `currval` / `lastval`. Plans need no discarding (a prepared statement
/// binds again after any DDL) and there are no temporary tables.
pub(crate) fn discard(
    session: &mut Session,
    what: ast::DiscardObject,
) -> SqlResult<StatementResult> {
    if what == ast::DiscardObject::ALL && session.txn.is_some() {
        return Err(SqlError::TransactionState {
            state: SqlState::ACTIVE_SQL_TRANSACTION,
            message: "DISCARD ALL cannot run inside a transaction block".into(),
        });
    }
    if matches!(
        what,
        ast::DiscardObject::ALL | ast::DiscardObject::SEQUENCES
    ) {
        session.sequence_values = Default::default();
    }
    if what == ast::DiscardObject::ALL {
        session.prepared.clear();
        reset(session, None)?;
    }
    Ok(StatementResult::Command(format!("DISCARD {what}")))
}

/// `RESET name`, or with `None` `RESET ALL`: back to the default (the
/// session user, for `role`).
pub(crate) fn reset(session: &mut Session, name: Option<&str>) -> SqlResult<StatementResult> {
    match name {
        None => {
            super::role_membership::check_set_role(session, None)?;
            let names: Vec<String> = session.settings.keys().cloned().collect();
            for name in names {
                assign(session, &name, false, None);
            }
        }
        Some(name) => {
            let name = normalized(name)?;
            let name = name.as_str();
            settable(name)?;
            if name == "role" {
                super::role_membership::check_set_role(session, None)?;
            }
            assign(session, name, false, None);
        }
    }
    Ok(StatementResult::Command("RESET".into()))
}

/// `SHOW name`.
pub(crate) fn show(session: &mut Session, variable: &[ast::Ident]) -> SqlResult<StatementResult> {
    // sqlparser hands over the words of the name: `time zone` is two of
    // them, `app.tenant` too (without its dot).
    let words: Vec<String> = variable.iter().map(|i| i.value.to_lowercase()).collect();
    let spaced = words.join(" ");
    let name = match spaced.as_str() {
        "time zone" => "timezone".to_owned(),
        "transaction isolation level" => "transaction_isolation".to_owned(),
        _ => normalized(&words.join("."))?,
    };
    let value = StatementSettings::of(session).value(&name)?;
    Ok(StatementResult::Rows {
        columns: vec![ColumnDesc {
            name,
            ty: DataType::Text,
        }],
        rows: vec![vec![Value::Text(value)]],
        tag: "SHOW".into(),
    })
}
