//! Calls of user routines in expressions: Wasm scalar functions and models
//! (`geo.haversine(a, b, c, d)`, `m.score(f1, f2)`), resolved from the
//! catalog's routine records.
//!
//! A qualified name `m.f` names routine `f` of schema `m` (a module's
//! described routines live in the schema named after the module, explicit
//! `CREATE FUNCTION` bindings in the schema they were created in). An
//! unqualified name is a built-in first — as in PostgreSQL, where
//! `pg_catalog` is searched before the `search_path` — and otherwise the
//! first routine of that name in the `search_path`'s schemas.
//!
//! Arguments are cast to the parameter types as PostgreSQL's implicit casts
//! allow: untyped literals and `$n` take the parameter's type, numbers
//! widen (int4 to int8 or float8); anything else is no matching function,
//! 42883.

use std::sync::Arc;

use sqlparser::ast;

use super::bind_coerce::{is_number, is_unknown};
use super::{Binder, base_type, ident, promote};
use crate::SqlState;
use crate::catalog::routine::RoutineDef;
use crate::extension::RoutineKind;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{Expr, RoutineCall};

/// How a function name reads: a schema and a name, or a name alone.
pub(super) enum RoutineName {
    /// `schema.name`
    Qualified(String, String),
    /// `name`
    Bare(String),
}

impl RoutineName {
    pub(super) fn of(name: &ast::ObjectName) -> SqlResult<RoutineName> {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| {
                p.as_ident()
                    .map(ident)
                    .ok_or_else(|| SqlError::Syntax(format!("invalid function name {name}")))
            })
            .collect::<SqlResult<_>>()?;
        match parts.as_slice() {
            [n] => Ok(RoutineName::Bare(n.clone())),
            [s, n] => Ok(RoutineName::Qualified(s.clone(), n.clone())),
            _ => Err(SqlError::Syntax(format!(
                "improper qualified name (too many dotted names): {name}"
            ))),
        }
    }
}

impl Binder<'_> {
    /// The routine a function name names, if any: `schema.name` exactly, a
    /// bare name through the search path.
    pub(super) fn find_routine(&self, name: &RoutineName) -> Option<Arc<RoutineDef>> {
        match name {
            RoutineName::Qualified(schema, n) => self.catalog.routine(schema, n).cloned(),
            RoutineName::Bare(n) => self
                .search_path
                .iter()
                .find_map(|schema| self.catalog.routine(schema, n))
                .cloned(),
        }
    }

    /// Binds a call of scalar function or model `def` on bound arguments.
    pub(super) fn routine_call(
        &mut self,
        def: Arc<RoutineDef>,
        args: Vec<Expr>,
    ) -> SqlResult<Expr> {
        match def.kind {
            RoutineKind::Scalar | RoutineKind::Model => {}
            RoutineKind::Procedure => {
                return Err(SqlError::Semantic {
                    state: SqlState::WRONG_OBJECT_TYPE,
                    message: format!(
                        "{} is a procedure; to call a procedure, use CALL",
                        def.qualified_name()
                    ),
                });
            }
            RoutineKind::Table => {
                return Err(SqlError::unsupported(format!(
                    "table function {} must be called in FROM",
                    def.qualified_name()
                )));
            }
            RoutineKind::Trigger => {
                return Err(SqlError::unsupported(format!(
                    "trigger function {} can only be called as a trigger",
                    def.qualified_name()
                )));
            }
            RoutineKind::Aggregate => {
                return Err(SqlError::Grouping(format!(
                    "aggregate functions are not allowed here: {}",
                    def.qualified_name()
                )));
            }
        }
        let ty = def
            .returns
            .first()
            .map(|c| c.data_type)
            .ok_or_else(|| SqlError::Internal(format!("{} has no result", def.name)))?;
        let args = self.routine_args(&def, args)?;
        Ok(Expr::Routine(Arc::new(RoutineCall { def, ty }), args))
    }

    /// `args` cast to `def`'s parameter types, or 42883 naming the call;
    /// 42501 when the current user may not execute `def`.
    pub(super) fn routine_args(
        &mut self,
        def: &RoutineDef,
        args: Vec<Expr>,
    ) -> SqlResult<Vec<Expr>> {
        if let Some(user) = self.user {
            crate::sql::privilege::check_execute(self.catalog, user, def)?;
        }
        let no_match = |args: &[Expr]| {
            let given: Vec<&str> = args.iter().map(|a| a.ty().name()).collect();
            let wanted: Vec<&str> = def.params.iter().map(|p| p.data_type.name()).collect();
            SqlError::UndefinedFunction(format!(
                "function {}({}) does not exist; it takes ({})",
                def.qualified_name(),
                given.join(", "),
                wanted.join(", ")
            ))
        };
        if args.len() != def.params.len() {
            return Err(no_match(&args));
        }
        let fits = args.iter().zip(&def.params).all(|(a, p)| {
            let (from, to) = (base_type(a.ty()), base_type(p.data_type));
            is_unknown(a)
                || matches!(a, Expr::Param(..))
                || from == to
                || (is_number(&from) && is_number(&to) && promote(from, to) == to)
        });
        if !fits {
            return Err(no_match(&args));
        }
        args.into_iter()
            .zip(&def.params)
            .map(|(a, p)| self.coerce(a, p.data_type))
            .collect()
    }
}
