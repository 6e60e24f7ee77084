//! `CREATE [OR REPLACE] FUNCTION | AGGREGATE | MODEL … LANGUAGE wasm AS
//! 'module', 'export'` and their `DROP`s.
//!
//! As with procedures, an explicit binding names an export the module
//! describes, of the kind the statement implies (`RETURNS TABLE` a table
//! function, `RETURNS trigger` a trigger function), and the declared
//! parameter and result types must be the described ones: the guest decodes
//! values by those types. A model's trained parameters are stored beside
//! its record and handed to the guest with every scoring batch.

use sqlparser::ast;

use crate::SqlState;
use crate::catalog::Acl;
use crate::catalog::routine::{self as records, RoutineDef, RoutineOrigin};
use crate::extension::{ColumnDescription, Notice, NoticeLevel, RoutineKind, Volatility};
use crate::types::Value;

use super::super::binder::{data_type, ident};
use super::super::error::{SqlError, SqlResult};
use super::super::parser::{
    CreateFunction, FunctionKind, FunctionReturns, RoutineParam, VolatilityClause,
};
use super::super::privilege::{not_owner, session_acts_as};
use super::super::session::{Session, StatementResult};
use super::{module_bytes, split_name, txn};

fn invalid_definition(message: String) -> SqlError {
    SqlError::Semantic {
        state: SqlState::from_code("42P13").unwrap_or(SqlState::INTERNAL_ERROR),
        message,
    }
}

/// The SQL word for a routine kind, as messages and command tags use it.
fn noun(kind: RoutineKind) -> &'static str {
    match kind {
        RoutineKind::Procedure => "procedure",
        RoutineKind::Aggregate => "aggregate",
        RoutineKind::Model => "model",
        RoutineKind::Scalar | RoutineKind::Table | RoutineKind::Trigger => "function",
    }
}

fn columns(params: &[RoutineParam]) -> SqlResult<Vec<ColumnDescription>> {
    params
        .iter()
        .map(|a| {
            Ok(ColumnDescription {
                name: a.name.as_ref().map(ident).unwrap_or_default(),
                data_type: data_type(&a.data_type)?,
            })
        })
        .collect()
}

fn type_list(cols: &[ColumnDescription]) -> String {
    cols.iter()
        .map(|c| c.data_type.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the statement declares: the routine's kind and result columns.
fn declared_shape(f: &CreateFunction) -> SqlResult<(RoutineKind, Vec<ColumnDescription>)> {
    let one = |t: &ast::DataType| -> SqlResult<Vec<ColumnDescription>> {
        Ok(vec![ColumnDescription::new(String::new(), data_type(t)?)])
    };
    Ok(match (f.kind, &f.returns) {
        (FunctionKind::Function, FunctionReturns::Type(t)) => (RoutineKind::Scalar, one(t)?),
        (FunctionKind::Function, FunctionReturns::Table(cols)) => {
            (RoutineKind::Table, columns(cols)?)
        }
        (FunctionKind::Function, FunctionReturns::Trigger) => (RoutineKind::Trigger, Vec::new()),
        (FunctionKind::Aggregate, FunctionReturns::Type(t)) => (RoutineKind::Aggregate, one(t)?),
        (FunctionKind::Model, FunctionReturns::Type(t)) => (RoutineKind::Model, one(t)?),
        (kind, _) => {
            return Err(invalid_definition(format!(
                "{} must return a single type",
                match kind {
                    FunctionKind::Aggregate => "an aggregate",
                    _ => "a model",
                }
            )));
        }
    })
}

/// `CREATE [OR REPLACE] FUNCTION | AGGREGATE | MODEL`
pub(super) fn create(
    session: &mut Session,
    f: &CreateFunction,
    values: &[Value],
) -> SqlResult<StatementResult> {
    let language = f.language.value.to_lowercase();
    if language != "wasm" {
        return Err(SqlError::Semantic {
            state: SqlState::UNDEFINED_OBJECT,
            message: format!("language \"{language}\" does not exist"),
        });
    }
    let (schema, name) = split_name(&f.name)?;
    let (kind, returns) = declared_shape(f)?;
    let params = columns(&f.params)?;
    if kind == RoutineKind::Trigger && !params.is_empty() {
        return Err(invalid_definition(
            "trigger functions cannot have declared arguments".into(),
        ));
    }
    let parameters = f
        .parameters
        .as_ref()
        .map(|source| module_bytes(source, values))
        .transpose()?;
    let user = session.user.clone();
    let Some(module) = records::module(txn(session)?, &f.module)? else {
        return Err(SqlError::Semantic {
            state: SqlState::UNDEFINED_OBJECT,
            message: format!("module \"{}\" does not exist", f.module),
        });
    };
    let existing = records::routine(txn(session)?, &schema, &name)?;
    super::procedure::check_may_define(
        session,
        &schema,
        existing.as_ref().filter(|_| f.or_replace),
        f.security_definer,
        &module,
    )?;
    let txn = txn(session)?;
    let described = records::routine(txn, &f.module, &f.export)?
        .filter(|r| r.origin == RoutineOrigin::Described && r.kind == kind)
        .ok_or_else(|| {
            SqlError::UndefinedFunction(format!(
                "module \"{}\" has no {} \"{}\"",
                f.module,
                describe_kind(kind),
                f.export
            ))
        })?;
    let same = |a: &[ColumnDescription], b: &[ColumnDescription]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.data_type.name() == y.data_type.name())
    };
    if !same(&params, &described.params) || !same(&returns, &described.returns) {
        return Err(invalid_definition(format!(
            "{} {name}({}) returning ({}) does not match {}.{}({}) returning ({})",
            noun(kind),
            type_list(&params),
            type_list(&returns),
            f.module,
            f.export,
            type_list(&described.params),
            type_list(&described.returns),
        )));
    }
    if let Some(existing) = &existing {
        if !f.or_replace {
            return Err(SqlError::Semantic {
                state: SqlState::from_code("42723").unwrap_or(SqlState::DUPLICATE_OBJECT),
                message: format!("{} \"{name}\" already exists", noun(existing.kind)),
            });
        }
        if existing.origin == RoutineOrigin::Described {
            return Err(SqlError::Semantic {
                state: SqlState::DUPLICATE_OBJECT,
                message: format!(
                    "\"{schema}.{name}\" is a routine of module \"{schema}\"; replace the module instead"
                ),
            });
        }
        if existing.kind != kind {
            return Err(SqlError::Semantic {
                state: SqlState::from_code("42809").unwrap_or(SqlState::DUPLICATE_OBJECT),
                message: format!(
                    "cannot change routine kind: \"{name}\" is a {}",
                    describe_kind(existing.kind)
                ),
            });
        }
    }
    let volatility = match f.volatility {
        Some(VolatilityClause::Immutable) => Volatility::Immutable,
        Some(VolatilityClause::Stable) => Volatility::Stable,
        Some(VolatilityClause::Volatile) => Volatility::Volatile,
        None => described.volatility,
    };
    records::delete_routine(txn, &schema, &name)?;
    records::put_routine(
        txn,
        &RoutineDef {
            schema: schema.clone(),
            name: name.clone(),
            kind,
            module: f.module.clone(),
            export: f.export.clone(),
            params,
            returns: if kind == RoutineKind::Scalar
                || kind == RoutineKind::Aggregate
                || kind == RoutineKind::Model
            {
                described.returns
            } else {
                returns
            },
            volatility,
            strict: f.strict || described.strict,
            security_definer: f.security_definer,
            origin: RoutineOrigin::Explicit,
            // A replacement keeps the owner and grants, as in PostgreSQL.
            acl: existing.map_or_else(|| Acl::routine_of(&user), |e| e.acl),
        },
    )?;
    if let Some(bytes) = parameters {
        records::put_model_parameters(txn, &schema, &name, &bytes)?;
    }
    Ok(StatementResult::Command(format!(
        "CREATE {}",
        noun(kind).to_uppercase()
    )))
}

fn describe_kind(kind: RoutineKind) -> &'static str {
    match kind {
        RoutineKind::Procedure => "procedure",
        RoutineKind::Scalar => "scalar function",
        RoutineKind::Aggregate => "aggregate",
        RoutineKind::Table => "table function",
        RoutineKind::Trigger => "trigger function",
        RoutineKind::Model => "model",
    }
}

/// `DROP FUNCTION | AGGREGATE | MODEL [IF EXISTS] name [, …] [CASCADE]`;
/// the noun decides which routine kinds a name may refer to. A trigger
/// function that triggers use is kept (2BP01) unless CASCADE drops them.
pub(super) fn drop(
    session: &mut Session,
    kind: FunctionKind,
    names: &[&ast::ObjectName],
    if_exists: bool,
    cascade: bool,
) -> SqlResult<StatementResult> {
    let (word, covers): (&str, &[RoutineKind]) = match kind {
        FunctionKind::Function => (
            "function",
            &[
                RoutineKind::Scalar,
                RoutineKind::Table,
                RoutineKind::Trigger,
            ],
        ),
        FunctionKind::Aggregate => ("aggregate", &[RoutineKind::Aggregate]),
        FunctionKind::Model => ("model", &[RoutineKind::Model]),
    };
    for n in names {
        let (schema, name) = split_name(n)?;
        match records::routine(txn(session)?, &schema, &name)? {
            Some(r) if covers.contains(&r.kind) => {
                if !session_acts_as(session, &r.acl.owner)? {
                    return Err(not_owner(word, &n.to_string()));
                }
                if r.origin == RoutineOrigin::Described {
                    return Err(SqlError::Semantic {
                        state: SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                        message: format!(
                            "cannot drop {word} {n} because module {} requires it",
                            r.module
                        ),
                    });
                }
                if r.kind == RoutineKind::Trigger {
                    drop_dependent_triggers(session, &format!("{word} {n}()"), &r, cascade)?;
                }
                records::delete_routine(super::txn(session)?, &schema, &name)?;
            }
            _ if if_exists => session.notices.push(Notice {
                level: NoticeLevel::Notice,
                message: format!("{word} {n} does not exist, skipping"),
            }),
            _ => {
                return Err(SqlError::UndefinedFunction(format!(
                    "{word} {n} does not exist"
                )));
            }
        }
    }
    Ok(StatementResult::Command(format!(
        "DROP {}",
        word.to_uppercase()
    )))
}

/// Before trigger function `r` goes: the triggers that call it block the
/// drop (2BP01, each named in the DETAIL as PostgreSQL does) or, with
/// CASCADE, go first, each with a NOTICE.
pub(crate) fn drop_dependent_triggers(
    session: &mut Session,
    shown: &str,
    r: &RoutineDef,
    cascade: bool,
) -> SqlResult<()> {
    let dependents = super::super::hooks::routine_dependents(session, &r.schema, &r.name, cascade)?;
    if dependents.is_empty() {
        return Ok(());
    }
    if !cascade {
        return Err(SqlError::Routine {
            state: SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
            message: format!("cannot drop {shown} because other objects depend on it"),
            detail: Some(
                dependents
                    .iter()
                    .map(|d| format!("{d} depends on {shown}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        });
    }
    for d in dependents {
        session.notices.push(Notice {
            level: NoticeLevel::Notice,
            message: format!("drop cascades to {d}"),
        });
    }
    Ok(())
}
