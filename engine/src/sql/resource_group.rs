//! Resource groups (DESIGN §5): `CREATE | ALTER | DROP RESOURCE GROUP`,
//! and attaching one to the database or a role with `ALTER DATABASE |
//! ROLE … SET RESOURCE GROUP g | NONE`.
//!
//! A group lowers the per-call limits of the Wasm routines called under
//! it: fuel, linear memory, wall-clock time; and with
//! `max_concurrent_calls` caps how many of its calls run at once (the
//! host keeps the count, `wasm-host/src/concurrency.rs`). A call runs under every group
//! that applies — the database's, the session user's and the current
//! user's — and `statement_timeout`, the tightest of each limit winning;
//! the host's own limits stay the ceiling (`wasm-host/src/limits.rs`).
//! Only a superuser manages groups, as PostgreSQL keeps resource settings
//! for superusers.

use std::time::Duration;

use sqlparser::ast;

use crate::SqlState;
use crate::catalog::{Catalog, CatalogWriter, ResourceGroupDef};
use crate::extension::{CallLimits, ConcurrencyLimit};

use super::binder::ident;
use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::parser::{GroupTarget, ResourceOption};
use super::session::StatementResult;

/// The one database a data directory holds, as `current_database()`
/// names it.
const DATABASE: &str = "rustydb";

fn semantic(state: SqlState, message: impl Into<String>) -> SqlError {
    SqlError::Semantic {
        state,
        message: message.into(),
    }
}

fn undefined(name: &str) -> SqlError {
    semantic(
        SqlState::UNDEFINED_OBJECT,
        format!("resource group \"{name}\" does not exist"),
    )
}

fn superuser_only(cx: &ExecCtx<'_>, action: &str) -> SqlResult<()> {
    if cx.catalog.role(cx.user).is_some_and(|r| r.superuser) {
        Ok(())
    } else {
        Err(semantic(
            SqlState::INSUFFICIENT_PRIVILEGE,
            format!("must be superuser to {action} resource groups"),
        ))
    }
}

/// The limits of one call made by `user` in a session of `session_user`
/// whose `statement_timeout` is `timeout`.
pub(crate) fn call_limits(
    catalog: &Catalog,
    user: &str,
    session_user: &str,
    timeout: Option<Duration>,
) -> CallLimits {
    let groups = [
        catalog.database_group(DATABASE),
        catalog
            .role(session_user)
            .and_then(|r| r.resource_group.as_deref()),
        catalog.role(user).and_then(|r| r.resource_group.as_deref()),
    ];
    let mut limits = CallLimits {
        time: timeout,
        ..CallLimits::default()
    };
    for g in groups
        .into_iter()
        .flatten()
        .filter_map(|g| catalog.resource_group(g))
    {
        limits.fuel = tighter(limits.fuel, g.fuel_per_call);
        limits.memory = tighter(limits.memory, g.memory_per_instance);
        limits.time = tighter(limits.time, g.time_per_call);
        if let Some(max) = g.max_concurrent_calls {
            // The database's group may be a role's too: one place each.
            if !limits.concurrency.iter().any(|c| c.group == g.name) {
                limits.concurrency.push(ConcurrencyLimit {
                    group: g.name.clone(),
                    max,
                });
            }
        }
    }
    limits
}

/// The lower of two limits, either of which may be unset.
fn tighter<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `CREATE RESOURCE GROUP name WITH (…)`
pub(crate) fn create(
    name: &ast::Ident,
    options: &[ResourceOption],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    superuser_only(cx, "create")?;
    let name = ident(name);
    if cx.catalog.resource_group(&name).is_some() {
        return Err(semantic(
            SqlState::DUPLICATE_OBJECT,
            format!("resource group \"{name}\" already exists"),
        ));
    }
    let mut group = ResourceGroupDef {
        name,
        fuel_per_call: None,
        memory_per_instance: None,
        time_per_call: None,
        max_concurrent_calls: None,
    };
    apply(&mut group, options)?;
    CatalogWriter::new(cx.txn).put_resource_group(&group)?;
    Ok(StatementResult::Command("CREATE RESOURCE GROUP".into()))
}

/// `ALTER RESOURCE GROUP name SET (…)`: the options named change, the
/// others stay.
pub(crate) fn alter(
    name: &ast::Ident,
    options: &[ResourceOption],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    superuser_only(cx, "alter")?;
    let name = ident(name);
    let mut group = cx
        .catalog
        .resource_group(&name)
        .cloned()
        .ok_or_else(|| undefined(&name))?;
    apply(&mut group, options)?;
    CatalogWriter::new(cx.txn).put_resource_group(&group)?;
    Ok(StatementResult::Command("ALTER RESOURCE GROUP".into()))
}

/// `DROP RESOURCE GROUP [IF EXISTS] name`: refused while anything is
/// attached to it.
pub(crate) fn drop(
    name: &ast::Ident,
    if_exists: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    superuser_only(cx, "drop")?;
    let name = ident(name);
    if cx.catalog.resource_group(&name).is_none() {
        if if_exists {
            return Ok(StatementResult::Command("DROP RESOURCE GROUP".into()));
        }
        return Err(undefined(&name));
    }
    let attached: Vec<String> = cx
        .catalog
        .databases_in_group(&name)
        .into_iter()
        .map(|d| format!("database {d}"))
        .chain(
            cx.catalog
                .roles()
                .into_iter()
                .filter(|r| r.resource_group.as_deref() == Some(&name))
                .map(|r| format!("role {}", r.name)),
        )
        .collect();
    if !attached.is_empty() {
        return Err(SqlError::Routine {
            state: SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
            message: format!("resource group \"{name}\" cannot be dropped because it is in use"),
            detail: Some(attached.join("\n")),
        });
    }
    CatalogWriter::new(cx.txn).drop_resource_group(&name)?;
    Ok(StatementResult::Command("DROP RESOURCE GROUP".into()))
}

/// `ALTER ROLE | DATABASE name SET RESOURCE GROUP group | NONE`
pub(crate) fn attach(
    target: &GroupTarget,
    group: Option<&ast::Ident>,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<StatementResult> {
    superuser_only(cx, "attach")?;
    let group = group.map(ident);
    if let Some(g) = &group
        && cx.catalog.resource_group(g).is_none()
    {
        return Err(undefined(g));
    }
    match target {
        GroupTarget::Role(role) => {
            let name = ident(role);
            let mut role = cx.catalog.role(&name).cloned().ok_or_else(|| {
                semantic(
                    SqlState::UNDEFINED_OBJECT,
                    format!("role \"{name}\" does not exist"),
                )
            })?;
            role.resource_group = group;
            CatalogWriter::new(cx.txn).put_role(&role)?;
            Ok(StatementResult::Command("ALTER ROLE".into()))
        }
        GroupTarget::Database(database) => {
            let name = ident(database);
            if name != DATABASE {
                return Err(semantic(
                    SqlState::from_code("3D000").unwrap_or(SqlState::UNDEFINED_OBJECT),
                    format!("database \"{name}\" does not exist"),
                ));
            }
            CatalogWriter::new(cx.txn).set_database_group(&name, group.as_deref())?;
            Ok(StatementResult::Command("ALTER DATABASE".into()))
        }
    }
}

/// Sets the group's limits from `options`.
fn apply(group: &mut ResourceGroupDef, options: &[ResourceOption]) -> SqlResult<()> {
    for option in options {
        let key = ident(&option.key);
        let value = literal(&option.value)?;
        match key.as_str() {
            "fuel_per_call" => group.fuel_per_call = Some(count(&key, &value)?),
            "memory_per_instance" => group.memory_per_instance = Some(bytes(&key, &value)?),
            "time_per_call" => group.time_per_call = Some(duration(&key, &value)?),
            "max_concurrent_calls" => {
                let n = count(&key, &value)?;
                group.max_concurrent_calls =
                    Some(u32::try_from(n).map_err(|_| invalid_value(&key, &value))?);
            }
            "cpu_weight" => {
                return Err(SqlError::unsupported(format!(
                    "resource group option \"{key}\""
                )));
            }
            _ => {
                return Err(semantic(
                    SqlState::INVALID_PARAMETER_VALUE,
                    format!("unrecognized resource group option \"{key}\""),
                ));
            }
        }
    }
    Ok(())
}

/// An option's value as written: a number or a string.
fn literal(e: &ast::Expr) -> SqlResult<String> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => Ok(n.clone()),
            ast::Value::SingleQuotedString(s) => Ok(s.clone()),
            _ => Err(invalid_value("option", &e.to_string())),
        },
        _ => Err(invalid_value("option", &e.to_string())),
    }
}

fn invalid_value(key: &str, value: &str) -> SqlError {
    semantic(
        SqlState::INVALID_PARAMETER_VALUE,
        format!("invalid value for resource group option \"{key}\": \"{value}\""),
    )
}

/// A positive whole number.
fn count(key: &str, value: &str) -> SqlResult<u64> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| invalid_value(key, value))
}

/// A number and its unit, split.
fn number_and_unit(value: &str) -> Option<(f64, String)> {
    let text = value.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().ok()?;
    (n > 0.0 && n.is_finite()).then(|| (n, unit.trim().to_owned()))
}

/// Bytes, as PostgreSQL writes memory sizes: a number of bytes, or with
/// `kB`, `MB`, `GB`, `TB` (powers of 1024).
fn bytes(key: &str, value: &str) -> SqlResult<u64> {
    let (n, unit) = number_and_unit(value).ok_or_else(|| invalid_value(key, value))?;
    let scale = match unit.as_str() {
        "" | "B" => 1.0,
        "kB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(invalid_value(key, value)),
    };
    let b = (n * scale).round();
    (b >= 1.0 && b < u64::MAX as f64)
        .then_some(b as u64)
        .ok_or_else(|| invalid_value(key, value))
}

/// A duration, as PostgreSQL writes times (`settings::parse_duration`).
fn duration(key: &str, value: &str) -> SqlResult<Duration> {
    super::settings::parse_duration(value)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| invalid_value(key, value))
}
