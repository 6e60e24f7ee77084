//! Function calls: built-in scalar functions resolved by name and
//! argument types, sequence functions bound to their sequence, and
//! aggregates collected into the grouping context.

use sqlparser::ast;

use super::bind_coerce::{NUMERIC, is_number, is_unknown};
use super::bind_routine::RoutineName;
use super::{Binder, base_type, object_name};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::{Expr, Func, resolve_function};
use crate::sql::plan::{AggCall, AggFunc};
use crate::types::{DataType, Value};

impl Binder<'_> {
    /// Binds a call of a scalar function by name on bound arguments.
    pub(crate) fn call(&mut self, name: &str, args: Vec<Expr>) -> SqlResult<Expr> {
        match name {
            "coalesce" | "greatest" | "least" if !args.is_empty() => {
                let (ty, args) = self.common_type(args, &name.to_uppercase())?;
                let f = match name {
                    "coalesce" => Func::Coalesce,
                    "greatest" => Func::Greatest,
                    _ => Func::Least,
                };
                return Ok(Expr::Func(f, args, ty));
            }
            "nullif" if args.len() == 2 => {
                let mut it = args.into_iter();
                let (a, b) = (it.next(), it.next());
                if let (Some(a), Some(b)) = (a, b) {
                    let (a, b) = self.unify(a, b, "=")?;
                    let ty = a.ty();
                    return Ok(Expr::Func(Func::Nullif, vec![a, b], ty));
                }
                return Err(SqlError::Internal("nullif arity".into()));
            }
            "lastval" if args.is_empty() => {
                return Ok(Expr::Func(Func::Lastval, args, DataType::Int8));
            }
            "nextval" | "currval" | "setval"
                if (name == "setval" && (2..=3).contains(&args.len())) || args.len() == 1 =>
            {
                let Expr::Literal(Value::Text(seq), _) = &args[0] else {
                    return Err(SqlError::unsupported(format!(
                        "{name} needs a literal sequence name"
                    )));
                };
                let seq = seq.to_lowercase();
                let Some(def) = self.catalog.sequence(&seq) else {
                    return Err(SqlError::UndefinedTable(seq));
                };
                let mut bound = vec![Expr::Literal(
                    Value::Int8(i64::from(def.id)),
                    DataType::Int8,
                )];
                let func = match name {
                    "nextval" => Func::Nextval,
                    "currval" => Func::Currval,
                    _ => {
                        let mut rest = args.into_iter().skip(1);
                        if let Some(v) = rest.next() {
                            bound.push(self.coerce(v, DataType::Int8)?);
                        }
                        if let Some(c) = rest.next() {
                            bound.push(self.coerce(c, DataType::Bool)?);
                        }
                        Func::Setval
                    }
                };
                return Ok(Expr::Func(func, bound, DataType::Int8));
            }
            _ => {}
        }
        let mut args = args;
        if let Some(e) = self.special_call(name, &mut args)? {
            return Ok(e);
        }
        for a in &mut args {
            if is_unknown(a) {
                *a = self.coerce(std::mem::replace(a, Expr::bool(false)), DataType::Text)?;
            }
        }
        let types: Vec<DataType> = args.iter().map(|a| base_type(a.ty())).collect();
        let (func, ty, casts) = resolve_function(name, &types)?;
        let mut bound = Vec::with_capacity(args.len());
        for (a, c) in args.into_iter().zip(casts) {
            bound.push(match c {
                Some(t) => self.coerce(a, t)?,
                None => a,
            });
        }
        Ok(Expr::Func(func, bound, ty))
    }

    pub(super) fn function(&mut self, f: &ast::Function) -> SqlResult<Expr> {
        let name = object_name(&f.name)?;
        let mut order_by: &[ast::OrderByExpr] = &[];
        let (args, distinct, star) = match &f.args {
            ast::FunctionArguments::None => (Vec::new(), false, false),
            ast::FunctionArguments::Subquery(q) if name == "array" => {
                let plan = self.subquery(q)?;
                if plan.columns().len() != 1 {
                    return Err(SqlError::Syntax(
                        "subquery must return only one column".into(),
                    ));
                }
                return Ok(Expr::Subquery(
                    std::sync::Arc::new(plan),
                    crate::sql::expr::SubqueryKind::Array,
                    DataType::Text,
                ));
            }
            ast::FunctionArguments::Subquery(_) => {
                return Err(SqlError::unsupported("subquery function arguments"));
            }
            ast::FunctionArguments::List(list) => {
                let mut args = Vec::new();
                let mut named = Vec::new();
                let mut star = false;
                for a in &list.args {
                    match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))
                            if named.is_empty() =>
                        {
                            args.push(e.clone())
                        }
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                        ast::FunctionArg::Named {
                            name: arg_name,
                            arg: ast::FunctionArgExpr::Expr(e),
                            ..
                        } => named.push((arg_name.value.to_lowercase(), e.clone())),
                        ast::FunctionArg::ExprNamed {
                            name: ast::Expr::Identifier(arg_name),
                            arg: ast::FunctionArgExpr::Expr(e),
                            ..
                        } => named.push((arg_name.value.to_lowercase(), e.clone())),
                        ast::FunctionArg::Unnamed(_) => {
                            return Err(SqlError::Syntax(
                                "positional argument cannot follow named argument".into(),
                            ));
                        }
                        other => {
                            return Err(SqlError::unsupported(format!(
                                "function argument {other}"
                            )));
                        }
                    }
                }
                for c in &list.clauses {
                    match c {
                        ast::FunctionArgumentClause::OrderBy(keys) => order_by = keys,
                        other => {
                            return Err(SqlError::unsupported(format!(
                                "function argument clause {other}"
                            )));
                        }
                    }
                }
                let distinct = matches!(
                    list.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                );
                (with_defaults(&name, args, named)?, distinct, star)
            }
        };
        let routine_name = RoutineName::of(&f.name).ok();
        let routine = match &routine_name {
            Some(RoutineName::Qualified(schema, _)) if schema == "pg_catalog" => None,
            Some(RoutineName::Bare(_)) if agg_func(&name, star).is_some() => None,
            Some(other) => self.find_routine(other),
            None => None,
        };
        if routine.is_none()
            && let Some(RoutineName::Qualified(schema, n)) = &routine_name
            && self.catalog.module(schema).is_some()
        {
            // A module is a schema of its own routines only: `m.abs` is
            // not the built-in abs.
            return Err(SqlError::UndefinedFunction(format!(
                "function {schema}.{n} does not exist"
            )));
        }
        if let Some(over) = &f.over {
            let aggregate = routine.filter(|r| r.kind == crate::extension::RoutineKind::Aggregate);
            return self.window_call(
                &name,
                star,
                aggregate,
                &args,
                distinct,
                f.filter.as_deref(),
                order_by,
                over,
            );
        }
        if let Some(def) = routine {
            if def.kind == crate::extension::RoutineKind::Aggregate {
                let call = Some(def);
                return self.aggregate_call(
                    AggFunc::Wasm,
                    call,
                    &name,
                    &args,
                    distinct,
                    f.filter.as_deref(),
                    order_by,
                );
            }
            let mut bound = Vec::with_capacity(args.len());
            for a in &args {
                bound.push(self.bind_expr(a)?);
            }
            if let Some(RoutineName::Bare(_)) = routine_name {
                // Built-ins come first, as if pg_catalog led the search path.
                match self.call(&name, bound.clone()) {
                    Err(SqlError::UndefinedFunction(_)) => {}
                    other => return other,
                }
            }
            return self.routine_call(def, bound);
        }
        if let Some(func) = agg_func(&name, star) {
            return self.aggregate_call(
                func,
                None,
                &name,
                &args,
                distinct,
                f.filter.as_deref(),
                order_by,
            );
        }
        if !order_by.is_empty() {
            return Err(SqlError::Semantic {
                state: crate::SqlState::WRONG_OBJECT_TYPE,
                message: format!("ORDER BY specified, but {name} is not an aggregate function"),
            });
        }
        let mut bound = Vec::with_capacity(args.len());
        for a in &args {
            bound.push(self.bind_expr(a)?);
        }
        self.call(&name, bound)
    }

    #[allow(clippy::too_many_arguments)]
    fn aggregate_call(
        &mut self,
        func: AggFunc,
        routine: Option<std::sync::Arc<crate::catalog::routine::RoutineDef>>,
        name: &str,
        args: &[ast::Expr],
        distinct: bool,
        filter: Option<&ast::Expr>,
        order_by: &[ast::OrderByExpr],
    ) -> SqlResult<Expr> {
        if self.agg.is_none() && self.belongs_outside(args) {
            return self
                .outer_aggregate_call(func, routine, name, args, distinct, filter, order_by);
        }
        let Some(mut ctx) = self.agg.take() else {
            return Err(SqlError::Grouping(format!(
                "aggregate functions are not allowed here: {name}"
            )));
        };
        let inner = std::mem::replace(
            self.scopes
                .last_mut()
                .ok_or_else(|| SqlError::Internal("no scope".into()))?,
            ctx.input.clone(),
        );
        let result = self.agg_call(func, routine, name, args, distinct, filter, order_by);
        if let Some(scope) = self.scopes.last_mut() {
            *scope = inner;
        }
        let call = result?;
        let ty = call.ty;
        let index = ctx.group_keys.len() + ctx.aggs.len();
        ctx.aggs.push(call);
        self.agg = Some(ctx);
        Ok(Expr::Column(index, ty))
    }

    /// Binds an aggregate call's arguments, FILTER and ORDER BY in the
    /// current scope and types it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn agg_call(
        &mut self,
        func: AggFunc,
        routine: Option<std::sync::Arc<crate::catalog::routine::RoutineDef>>,
        name: &str,
        args: &[ast::Expr],
        distinct: bool,
        filter: Option<&ast::Expr>,
        order_by: &[ast::OrderByExpr],
    ) -> SqlResult<AggCall> {
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            bound.push(self.bind_expr(a)?);
        }
        if let Some(b) = bound.first_mut()
            && is_unknown(b)
        {
            *b = self.coerce(std::mem::replace(b, Expr::bool(false)), DataType::Text)?;
        }
        let filter = filter
            .map(|f| {
                let f = self.bind_expr(f)?;
                self.bool_operand(f, "FILTER")
            })
            .transpose()?;
        let mut order = Vec::with_capacity(order_by.len());
        for o in order_by {
            let key = self.bind_expr(&o.expr)?;
            order.push(super::bind_select::sort_key(key, &o.options));
        }
        if let Some(def) = routine {
            let bound = self.routine_args(&def, bound)?;
            let ty = def
                .returns
                .first()
                .map(|c| c.data_type)
                .ok_or_else(|| SqlError::Internal(format!("{} has no result", def.name)))?;
            return Ok(AggCall {
                func,
                args: bound,
                distinct,
                filter,
                order,
                ty,
                routine: Some(std::sync::Arc::new(crate::sql::expr::RoutineCall {
                    def,
                    ty,
                })),
            });
        }
        let arg_ty = bound.first().map(|a| base_type(a.ty()));
        let arity_ok = match func {
            AggFunc::CountStar => bound.is_empty(),
            AggFunc::StringAgg => bound.len() == 2,
            _ => bound.len() == 1,
        };
        let ty = match (func, arg_ty) {
            _ if !arity_ok => None,
            (AggFunc::CountStar | AggFunc::Count, _) => Some(DataType::Int8),
            (AggFunc::Sum, Some(DataType::Int2 | DataType::Int4)) => Some(DataType::Int8),
            (AggFunc::Sum, Some(DataType::Int8)) => Some(NUMERIC),
            (AggFunc::Sum, Some(t)) if is_number(&t) => Some(t),
            (AggFunc::Sum | AggFunc::Avg, Some(DataType::Interval)) => Some(DataType::Interval),
            (AggFunc::Avg, Some(DataType::Float4 | DataType::Float8)) => Some(DataType::Float8),
            (AggFunc::Avg, Some(t)) if is_number(&t) => Some(NUMERIC),
            (AggFunc::Min | AggFunc::Max, Some(t)) => Some(t),
            (AggFunc::BoolAnd | AggFunc::BoolOr, Some(DataType::Bool)) => Some(DataType::Bool),
            (AggFunc::StringAgg, Some(t)) if t.is_string() => Some(DataType::Text),
            (AggFunc::Wasm, _) => None,
            (
                AggFunc::StddevSamp | AggFunc::StddevPop | AggFunc::VarSamp | AggFunc::VarPop,
                Some(DataType::Float4 | DataType::Float8),
            ) => Some(DataType::Float8),
            (
                AggFunc::StddevSamp | AggFunc::StddevPop | AggFunc::VarSamp | AggFunc::VarPop,
                Some(t),
            ) if is_number(&t) => Some(NUMERIC),
            _ => None,
        };
        let Some(ty) = ty else {
            let list: Vec<&str> = bound.iter().map(|a| a.ty().name()).collect();
            return Err(SqlError::UndefinedFunction(format!(
                "function {name}({}) does not exist",
                list.join(", ")
            )));
        };
        if func == AggFunc::StringAgg {
            let sep = bound
                .pop()
                .unwrap_or(Expr::Literal(Value::Null, DataType::Text));
            let sep = self.coerce(sep, DataType::Text)?;
            bound.push(sep);
        }
        Ok(AggCall {
            func,
            args: bound,
            distinct,
            filter,
            order,
            ty,
            routine: None,
        })
    }
}

impl Binder<'_> {
    /// Whether an aggregate over `args`, met in a query that is not
    /// aggregating, is the enclosing query's: its arguments read that
    /// query's columns and none of this one's, and that query aggregates.
    fn belongs_outside(&self, args: &[ast::Expr]) -> bool {
        matches!(self.outer_aggs.last(), Some(Some(_))) && self.args_level(args) == Some(1)
    }

    /// How many query levels out the nearest column the arguments read
    /// is (`None`: they read no column).
    pub(super) fn args_level(&self, args: &[ast::Expr]) -> Option<usize> {
        use sqlparser::ast::{Visit, Visitor};
        struct Names(Vec<(Option<String>, String)>);
        impl Visitor for Names {
            type Break = ();
            fn pre_visit_expr(&mut self, x: &ast::Expr) -> std::ops::ControlFlow<()> {
                match x {
                    ast::Expr::Identifier(c) => self.0.push((None, super::ident(c))),
                    ast::Expr::CompoundIdentifier(parts) => {
                        if let [.., t, c] = parts.as_slice() {
                            self.0.push((Some(super::ident(t)), super::ident(c)));
                        }
                    }
                    _ => {}
                }
                std::ops::ControlFlow::Continue(())
            }
        }
        let mut names = Names(Vec::new());
        for a in args {
            let _ = a.visit(&mut names);
        }
        names
            .0
            .iter()
            .filter_map(|(table, name)| {
                self.scopes.iter().rev().position(|scope| {
                    scope.iter().any(|c| {
                        c.name == *name
                            && table
                                .as_ref()
                                .is_none_or(|t| c.table.as_deref() == Some(t.as_str()))
                    })
                })
            })
            .min()
    }

    /// An aggregate that [`Self::belongs_outside`]: bound into the
    /// enclosing query's aggregate, and read here as that query's row.
    #[allow(clippy::too_many_arguments)]
    fn outer_aggregate_call(
        &mut self,
        func: AggFunc,
        routine: Option<std::sync::Arc<crate::catalog::routine::RoutineDef>>,
        name: &str,
        args: &[ast::Expr],
        distinct: bool,
        filter: Option<&ast::Expr>,
        order_by: &[ast::OrderByExpr],
    ) -> SqlResult<Expr> {
        let outer = self.outer_aggs.last_mut().and_then(Option::take);
        let scope = self.scopes.pop();
        self.agg = outer;
        let result = self.aggregate_call(func, routine, name, args, distinct, filter, order_by);
        let outer = self.agg.take();
        if let Some(slot) = self.outer_aggs.last_mut() {
            *slot = outer;
        }
        self.scopes.extend(scope);
        Ok(match result? {
            Expr::Column(index, ty) => Expr::Outer {
                depth: 1,
                index,
                ty,
            },
            other => other,
        })
    }
}

pub(super) fn agg_func(name: &str, star: bool) -> Option<AggFunc> {
    Some(match name {
        "count" if star => AggFunc::CountStar,
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "avg" => AggFunc::Avg,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "bool_and" | "every" => AggFunc::BoolAnd,
        "bool_or" => AggFunc::BoolOr,
        "string_agg" => AggFunc::StringAgg,
        "stddev" | "stddev_samp" => AggFunc::StddevSamp,
        "stddev_pop" => AggFunc::StddevPop,
        "variance" | "var_samp" => AggFunc::VarSamp,
        "var_pop" => AggFunc::VarPop,
        _ => return None,
    })
}

/// Whether the expression calls an aggregate of its own query: outside
/// any subquery (an aggregate in a subquery belongs to the subquery's own
/// query) unless it reads only this query's columns from a FROM-less
/// subquery just inside; and not one that reads only the enclosing
/// query's columns (see [`Binder::belongs_outside`]).
pub(crate) fn has_aggregate(e: &ast::Expr, b: &Binder<'_>) -> bool {
    use sqlparser::ast::{Visit, Visitor};
    struct Finder<'b, 'a> {
        /// Per subquery entered: whether it has no FROM.
        from_less: Vec<bool>,
        found: bool,
        binder: &'b Binder<'a>,
    }
    impl Finder<'_, '_> {
        fn ours(&self, f: &ast::Function) -> bool {
            let args = plain_args(f);
            match self.from_less.as_slice() {
                [] => self.binder.agg.is_some() || !self.binder.belongs_outside(&args),
                [true] => self.binder.args_level(&args) == Some(0),
                _ => false,
            }
        }
    }
    impl Visitor for Finder<'_, '_> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &ast::Query) -> std::ops::ControlFlow<()> {
            self.from_less
                .push(matches!(q.body.as_ref(), ast::SetExpr::Select(s) if s.from.is_empty()));
            std::ops::ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _: &ast::Query) -> std::ops::ControlFlow<()> {
            self.from_less.pop();
            std::ops::ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, x: &ast::Expr) -> std::ops::ControlFlow<()> {
            if let ast::Expr::Function(f) = x
                && let Ok(name) = object_name(&f.name)
                && f.over.is_none()
                && (agg_func(&name, false).is_some()
                    || RoutineName::of(&f.name)
                        .ok()
                        .and_then(|n| self.binder.find_routine(&n))
                        .is_some_and(|r| r.kind == crate::extension::RoutineKind::Aggregate))
                && self.ours(f)
            {
                self.found = true;
                return std::ops::ControlFlow::Break(());
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut finder = Finder {
        from_less: Vec::new(),
        found: false,
        binder: b,
    };
    let _ = e.visit(&mut finder);
    finder.found
}

/// The argument expressions of a call, without `*` or names.
fn plain_args(f: &ast::Function) -> Vec<ast::Expr> {
    match &f.args {
        ast::FunctionArguments::List(list) => list
            .args
            .iter()
            .filter_map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The parameters of the built-ins that have names and defaults, as
/// PostgreSQL declares them.
fn builtin_params(name: &str) -> Option<&'static [(&'static str, &'static str)]> {
    match name {
        "make_interval" => Some(&[
            ("years", "0"),
            ("months", "0"),
            ("weeks", "0"),
            ("days", "0"),
            ("hours", "0"),
            ("mins", "0"),
            ("secs", "0.0"),
        ]),
        _ => None,
    }
}

/// The arguments of a call of `name` in declaration order: positional
/// ones first, then those passed by name, the rest the defaults.
fn with_defaults(
    name: &str,
    positional: Vec<ast::Expr>,
    named: Vec<(String, ast::Expr)>,
) -> SqlResult<Vec<ast::Expr>> {
    let Some(params) = builtin_params(name) else {
        if named.is_empty() {
            return Ok(positional);
        }
        return Err(SqlError::UndefinedFunction(format!(
            "function {name} has no parameters named {}",
            named
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    if positional.len() > params.len() {
        return Ok(positional);
    }
    let mut slots: Vec<Option<ast::Expr>> = positional.into_iter().map(Some).collect();
    slots.resize(params.len(), None);
    for (arg_name, e) in named {
        let slot = params
            .iter()
            .position(|(p, _)| *p == arg_name)
            .and_then(|i| slots.get_mut(i))
            .filter(|s| s.is_none())
            .ok_or_else(|| {
                SqlError::UndefinedFunction(format!(
                    "function {name} has no free parameter named {arg_name}"
                ))
            })?;
        *slot = Some(e);
    }
    Ok(slots
        .into_iter()
        .zip(params)
        .map(|(s, (_, default))| {
            s.unwrap_or_else(|| {
                ast::Expr::Value(ast::Value::Number((*default).to_owned(), false).into())
            })
        })
        .collect())
}
