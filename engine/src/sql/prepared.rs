//! Prepared statements: [`Session::prepare`] and
//! [`Session::execute_prepared`] for the extended protocol, and SQL
//! `PREPARE` / `EXECUTE` / `DEALLOCATE`, which share them.
//!
//! A statement is parsed once and bound again at each execution, so a
//! prepared statement sees DDL committed since (PostgreSQL re-plans too).
//! Preparing binds it once to report errors early and to learn the types
//! of its parameters and result columns.

use sqlparser::ast;

use crate::types::{DataType, Value};

use super::binder::{Binder, bind_query, data_type, ident};
use super::error::{SqlError, SqlResult};
use super::exec::ExecCtx;
use super::expr::eval;
use super::parser::{Statement, parse_sql};
use super::session::{ColumnDesc, Session, StatementResult};

/// A statement parsed and described, ready to run with parameter values.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub(crate) statement: Statement,
    /// The types of `$1`, `$2`, …: declared, else inferred, else text.
    pub param_types: Vec<DataType>,
    /// The result columns; empty for a statement that returns none.
    pub columns: Vec<ColumnDesc>,
}

impl Session {
    /// Parses and describes one statement without running it.
    ///
    /// # Errors
    /// Syntax errors, more or less than one statement (42601), and the
    /// errors of binding it (undefined tables, columns, functions, …).
    pub fn prepare(&mut self, sql: &str) -> crate::Result<Prepared> {
        let statement = single_statement(sql)?;
        Ok(self.describe(statement, &[])?)
    }

    /// Runs a prepared statement with `params` as `$1`, `$2`, ….
    ///
    /// # Errors
    /// 08P01 for a wrong number of values; otherwise as [`Session::execute`].
    pub fn execute_prepared(
        &mut self,
        prepared: &Prepared,
        params: &[Value],
    ) -> crate::Result<StatementResult> {
        if params.len() != prepared.param_types.len() {
            return Err(SqlError::Semantic {
                state: crate::SqlState::PROTOCOL_VIOLATION,
                message: format!(
                    "bind message supplies {} parameters, but prepared statement requires {}",
                    params.len(),
                    prepared.param_types.len()
                ),
            }
            .into());
        }
        let types: Vec<Option<DataType>> = prepared.param_types.iter().copied().map(Some).collect();
        Ok(self.run(&prepared.statement, params, &types)?)
    }

    /// Binds `statement` in a transaction of its own (or the open block)
    /// to learn its parameter and result types.
    pub(crate) fn describe(
        &mut self,
        statement: Statement,
        declared: &[Option<DataType>],
    ) -> SqlResult<Prepared> {
        let (param_types, columns) = self.in_statement(|session| {
            let cache = session.catalog.clone();
            let txn = session
                .txn
                .as_mut()
                .ok_or_else(|| SqlError::Internal("no transaction".into()))?;
            let catalog = cache.get(txn.as_mut())?;
            let mut binder = Binder::new(&catalog, declared);
            let mut columns = match &statement {
                Statement::Standard(s) => match s.as_ref() {
                    ast::Statement::Query(q) if super::dml::with::writes(q) => {
                        super::dml::with::describe(q, &mut binder)?
                    }
                    ast::Statement::Query(q) => ColumnDesc::of_plan(&bind_query(&mut binder, q)?),
                    // DML binds too: its `$n` get their types from the
                    // columns they meet, and RETURNING gives it columns.
                    other => super::dml::bind(&mut binder, other)?
                        .map(|d| d.returning_columns())
                        .unwrap_or_default(),
                },
                _ => Vec::new(),
            };
            let text = match &statement {
                Statement::Standard(s) => s.to_string(),
                _ => String::new(),
            };
            let count = binder.params.len().max(max_placeholder(&text));
            let mut types = (0..count)
                .map(|i| {
                    binder
                        .params
                        .get(i)
                        .copied()
                        .flatten()
                        .unwrap_or(DataType::Text)
                })
                .collect::<Vec<_>>();
            super::routine::describe_params(&statement, txn.as_mut(), &mut types, &mut columns)?;
            Ok((types, columns))
        })?;
        Ok(Prepared {
            statement,
            param_types,
            columns,
        })
    }
}

fn single_statement(sql: &str) -> SqlResult<Statement> {
    let mut statements = parse_sql(sql)?;
    if statements.len() != 1 {
        return Err(SqlError::Syntax(
            "cannot insert multiple commands into a prepared statement".into(),
        ));
    }
    statements
        .pop()
        .ok_or_else(|| SqlError::Syntax("empty statement".into()))
}

/// The highest `$n` in the statement's text: parameters the binder never
/// met (in a statement it does not describe) still count.
fn max_placeholder(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut max = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let digits: String = text[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse::<usize>() {
                max = max.max(n);
            }
            i += 1 + digits.len();
        } else {
            i += 1;
        }
    }
    max
}

/// SQL `PREPARE name (types) AS statement`.
pub(crate) fn sql_prepare(
    session: &mut Session,
    name: &ast::Ident,
    data_types: &[ast::DataType],
    statement: &ast::Statement,
) -> SqlResult<StatementResult> {
    let name = ident(name);
    if session.prepared.contains_key(&name) {
        return Err(SqlError::Semantic {
            state: crate::SqlState::DUPLICATE_PSTATEMENT,
            message: format!("prepared statement \"{name}\" already exists"),
        });
    }
    let declared = data_types
        .iter()
        .map(|t| data_type(t).map(Some))
        .collect::<SqlResult<Vec<_>>>()?;
    let prepared = session.describe(Statement::Standard(Box::new(statement.clone())), &declared)?;
    session.prepared.insert(name, prepared);
    Ok(StatementResult::Command("PREPARE".into()))
}

/// SQL `DEALLOCATE name` and `DEALLOCATE ALL`.
pub(crate) fn sql_deallocate(
    session: &mut Session,
    name: &ast::Ident,
) -> SqlResult<StatementResult> {
    if name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all") {
        session.prepared.clear();
    } else {
        let name = ident(name);
        if session.prepared.remove(&name).is_none() {
            return Err(no_such_prepared(&name));
        }
    }
    Ok(StatementResult::Command("DEALLOCATE".into()))
}

fn no_such_prepared(name: &str) -> SqlError {
    SqlError::Semantic {
        state: crate::SqlState::INVALID_SQL_STATEMENT_NAME,
        message: format!("prepared statement \"{name}\" does not exist"),
    }
}

/// The prepared statement SQL `EXECUTE name (args)` names.
pub(crate) fn sql_execute_lookup(
    session: &Session,
    name: &ast::ObjectName,
    args: &[ast::Expr],
) -> SqlResult<Prepared> {
    let name = super::binder::object_name(name)?;
    let prepared = session
        .prepared
        .get(&name)
        .cloned()
        .ok_or_else(|| no_such_prepared(&name))?;
    if args.len() != prepared.param_types.len() {
        return Err(SqlError::Syntax(format!(
            "wrong number of parameters for prepared statement \"{name}\""
        )));
    }
    Ok(prepared)
}

/// The values of `EXECUTE`'s arguments: constants, each made a value of
/// its parameter's type (so `'3'` for an int parameter is parsed as one).
pub(crate) fn sql_execute_args(
    prepared: &Prepared,
    args: &[ast::Expr],
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Vec<Value>> {
    let mut values = Vec::with_capacity(args.len());
    for (arg, ty) in args.iter().zip(&prepared.param_types) {
        let mut binder = Binder::for_statement(cx, None);
        let bound = binder.bind_expr(arg)?;
        let bound = binder.coerce(bound, *ty)?;
        values.push(eval(&bound, &[], cx)?);
    }
    Ok(values)
}
