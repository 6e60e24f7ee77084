//! The rows of the system views `rustydb_modules`, `rustydb_routines`,
//! `rustydb_stat_wasm` and `rustydb_resource_groups`.
//!
//! The views are not catalog relations: their rows come from the module
//! records the statement's transaction sees and from the routine host's
//! usage counters. The binder has neither (it sees the decoded catalog
//! only), so a query's views are produced *before* binding — [`for_query`]
//! looks at the relations the query names — and the binder turns a name
//! into literal rows with [`bind`]. A user table of the same name wins.
//!
//! | view                | columns                                                     |
//! |---------------------|-------------------------------------------------------------|
//! | `rustydb_modules`   | name, version, sha256, size, exports, created, owner        |
//! | `rustydb_routines`  | schema, name, kind, module, export, owner, security, acl    |
//! | `rustydb_stat_wasm` | module, routine, calls, errors, traps, fuel, time_ms, peak_memory |
//! | `rustydb_resource_groups` | name, fuel_per_call, memory_per_instance, time_per_call_ms, max_concurrent_calls, roles, databases |

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use sqlparser::ast;

use crate::catalog::routine as records;
use crate::catalog::{Catalog, KvTxn, Privileges};
use crate::extension::RoutineInvoker;
use crate::types::{DataType, Value};

use super::super::error::SqlResult;
use super::super::expr::Expr;
use super::super::plan::{Column, Plan};
use super::super::privilege::routine_noun;

const MODULES: &str = "rustydb_modules";
const ROUTINES: &str = "rustydb_routines";
const STAT_WASM: &str = "rustydb_stat_wasm";
const RESOURCE_GROUPS: &str = "rustydb_resource_groups";

/// The rows of the system views one statement names.
#[derive(Debug, Default)]
pub(crate) struct SystemViews {
    views: BTreeMap<&'static str, Vec<Vec<Value>>>,
}

fn columns(view: &str) -> Option<&'static [(&'static str, DataType)]> {
    match view {
        MODULES => Some(&[
            ("name", DataType::Text),
            ("version", DataType::Int8),
            ("sha256", DataType::Text),
            ("size", DataType::Int8),
            ("exports", DataType::Text),
            ("created", DataType::TimestampTz),
            ("owner", DataType::Text),
        ]),
        ROUTINES => Some(&[
            ("schema", DataType::Text),
            ("name", DataType::Text),
            ("kind", DataType::Text),
            ("module", DataType::Text),
            ("export", DataType::Text),
            ("owner", DataType::Text),
            ("security", DataType::Text),
            ("acl", DataType::Text),
        ]),
        STAT_WASM => Some(&[
            ("module", DataType::Text),
            ("routine", DataType::Text),
            ("calls", DataType::Int8),
            ("errors", DataType::Int8),
            ("traps", DataType::Int8),
            ("fuel", DataType::Int8),
            ("time_ms", DataType::Float8),
            ("peak_memory", DataType::Int8),
        ]),
        RESOURCE_GROUPS => Some(&[
            ("name", DataType::Text),
            ("fuel_per_call", DataType::Int8),
            ("memory_per_instance", DataType::Int8),
            ("time_per_call_ms", DataType::Float8),
            ("max_concurrent_calls", DataType::Int8),
            ("roles", DataType::Text),
            ("databases", DataType::Text),
        ]),
        _ => None,
    }
}

fn int8(n: u64) -> Value {
    Value::Int8(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The rows of each system view `query` names; `None` when it names none,
/// so an ordinary query costs one walk over its relations.
pub(crate) fn for_query(
    query: &ast::Query,
    txn: &mut dyn KvTxn,
    catalog: &Catalog,
    invoker: Option<&Arc<dyn RoutineInvoker>>,
) -> SqlResult<Option<SystemViews>> {
    let mut named: Vec<&'static str> = Vec::new();
    let _ = ast::visit_relations(query, |relation| {
        if let [part] = relation.0.as_slice()
            && let Some(id) = part.as_ident()
        {
            let n = super::super::binder::ident(id);
            for view in [MODULES, ROUTINES, STAT_WASM, RESOURCE_GROUPS] {
                if n == view && !named.contains(&view) {
                    named.push(view);
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    if named.is_empty() {
        return Ok(None);
    }
    let mut views = SystemViews::default();
    for view in named {
        let rows = match view {
            MODULES => records::modules(txn)?
                .into_iter()
                .map(|m| {
                    vec![
                        Value::Text(m.name),
                        int8(m.version),
                        Value::Text(m.sha256),
                        int8(m.size),
                        Value::Text(m.exports.join(",")),
                        Value::TimestampTz(m.created),
                        Value::Text(m.owner),
                    ]
                })
                .collect(),
            ROUTINES => records::routines(txn)?
                .into_iter()
                .map(|r| {
                    let acl = r.acl.text(Privileges::EXECUTE);
                    let security = if r.security_definer {
                        "definer"
                    } else {
                        "invoker"
                    };
                    vec![
                        Value::Text(r.schema),
                        Value::Text(r.name),
                        Value::Text(routine_noun(r.kind).into()),
                        Value::Text(r.module),
                        Value::Text(r.export),
                        Value::Text(r.acl.owner),
                        Value::Text(security.into()),
                        Value::Text(acl),
                    ]
                })
                .collect(),
            RESOURCE_GROUPS => group_rows(catalog),
            _ => stat_rows(invoker),
        };
        views.views.insert(view, rows);
    }
    Ok(Some(views))
}

/// Each resource group, its limits (NULL: the host's), and the roles and
/// databases attached to it, comma-separated.
fn group_rows(catalog: &Catalog) -> Vec<Vec<Value>> {
    let opt = |v: Option<u64>| v.map_or(Value::Null, int8);
    catalog
        .resource_groups()
        .into_iter()
        .map(|g| {
            let roles: Vec<&str> = catalog
                .roles()
                .into_iter()
                .filter(|r| r.resource_group.as_deref() == Some(&g.name))
                .map(|r| r.name.as_str())
                .collect();
            vec![
                Value::Text(g.name.clone()),
                opt(g.fuel_per_call),
                opt(g.memory_per_instance),
                g.time_per_call
                    .map_or(Value::Null, |t| Value::Float8(t.as_secs_f64() * 1000.0)),
                opt(g.max_concurrent_calls.map(u64::from)),
                Value::Text(roles.join(",")),
                Value::Text(catalog.databases_in_group(&g.name).join(",")),
            ]
        })
        .collect()
}

/// Usage per module and routine, summed over the versions the host ran.
fn stat_rows(invoker: Option<&Arc<dyn RoutineInvoker>>) -> Vec<Vec<Value>> {
    let mut sums: BTreeMap<(String, String), [u64; 5]> = BTreeMap::new();
    let mut time: BTreeMap<(String, String), f64> = BTreeMap::new();
    for u in invoker.map(|i| i.usage()).unwrap_or_default() {
        let key = (u.module, u.routine);
        let s = sums.entry(key.clone()).or_default();
        s[0] += u.calls;
        s[1] += u.errors;
        s[2] += u.traps;
        s[3] = s[3].saturating_add(u.fuel);
        s[4] = s[4].max(u.peak_memory);
        *time.entry(key).or_default() += u.time.as_secs_f64() * 1000.0;
    }
    sums.into_iter()
        .map(|(key, s)| {
            let ms = time.get(&key).copied().unwrap_or(0.0);
            vec![
                Value::Text(key.0),
                Value::Text(key.1),
                int8(s[0]),
                int8(s[1]),
                int8(s[2]),
                int8(s[3]),
                Value::Float8(ms),
                int8(s[4]),
            ]
        })
        .collect()
}

/// The plan of system view `name` (its rows from `views`), or `None` when
/// `name` is no system view. Without `views` — a statement being described
/// for the extended protocol — the view binds with its columns and no rows.
pub(crate) fn bind(views: Option<&SystemViews>, name: &str) -> Option<Plan> {
    let cols = columns(name)?;
    let rows = views
        .and_then(|v| v.views.get(name))
        .cloned()
        .unwrap_or_default();
    let types: Vec<DataType> = cols.iter().map(|(_, t)| *t).collect();
    Some(Plan::Values {
        rows: rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .zip(&types)
                    .map(|(v, t)| Expr::Literal(v, *t))
                    .collect()
            })
            .collect(),
        columns: cols
            .iter()
            .map(|(n, t)| Column {
                name: (*n).to_owned(),
                table: Some(name.to_owned()),
                ty: *t,
            })
            .collect(),
    })
}
