//! Window function calls: `f(…) OVER (PARTITION BY … ORDER BY … frame)`,
//! `OVER w` with `WINDOW w AS (…)`.
//!
//! Windows are computed after WHERE, GROUP BY and HAVING, over the rows
//! the select list sees, so a call's arguments, partition and order bind
//! in that same scope (over the groups, in an aggregating query). Each
//! call becomes a column of a [`Plan::Window`] node placed under the
//! projection; until the binder knows how wide that node's input is, a
//! call stands for its column as `WINDOW_MARK + k`, which
//! [`place_windows`] moves to its place.

use sqlparser::ast;

use super::bind_func::agg_func;
use super::{Binder, bind_constant_expr, ident};
use crate::SqlState;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::Expr;
use crate::sql::plan::{Column, Frame, FrameBound, Plan, WindowCall, WindowFunc};
use crate::types::{DataType, Value};

/// Column indexes standing for window results while the select list binds.
const WINDOW_MARK: usize = usize::MAX / 2;

/// The window calls of the SELECT being bound, and its named windows.
pub(crate) struct WindowContext {
    calls: Vec<WindowCall>,
    named: Vec<ast::NamedWindowDefinition>,
}

impl WindowContext {
    pub(super) fn new(named: &[ast::NamedWindowDefinition]) -> WindowContext {
        WindowContext {
            calls: Vec::new(),
            named: named.to_vec(),
        }
    }
}

fn windowing(message: impl Into<String>) -> SqlError {
    SqlError::Semantic {
        state: SqlState::WINDOWING_ERROR,
        message: message.into(),
    }
}

/// The calls found while binding `exprs` (the select list and ORDER BY), as
/// a Window node over `plan`, with `exprs` pointed at its columns; `plan`
/// and `exprs` unchanged without calls.
pub(super) fn place_windows<'e>(
    ctx: WindowContext,
    plan: Plan,
    exprs: impl Iterator<Item = &'e mut Expr>,
) -> Plan {
    if ctx.calls.is_empty() {
        return plan;
    }
    let mut columns = plan.columns();
    let base = columns.len();
    for e in exprs {
        e.map_columns(&|c| {
            if c >= WINDOW_MARK {
                base + (c - WINDOW_MARK)
            } else {
                c
            }
        });
    }
    for (k, c) in ctx.calls.iter().enumerate() {
        columns.push(Column {
            name: format!("?window{k}"),
            table: None,
            ty: c.ty,
        });
    }
    Plan::Window {
        input: Box::new(plan),
        calls: ctx.calls,
        columns,
    }
}

impl Binder<'_> {
    /// Binds a call with OVER; `routine` is a Wasm aggregate the name
    /// resolved to.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn window_call(
        &mut self,
        name: &str,
        star: bool,
        routine: Option<std::sync::Arc<crate::catalog::routine::RoutineDef>>,
        args: &[ast::Expr],
        distinct: bool,
        filter: Option<&ast::Expr>,
        order_by: &[ast::OrderByExpr],
        over: &ast::WindowType,
    ) -> SqlResult<Expr> {
        // Taken while the call binds: a window call in its arguments is
        // not allowed.
        let Some(mut ctx) = self.windows.take() else {
            return Err(windowing("window functions are not allowed here"));
        };
        let call = self.bind_window_call(
            &ctx, name, star, routine, args, distinct, filter, order_by, over,
        );
        let result = call.map(|call| {
            let ty = call.ty;
            ctx.calls.push(call);
            Expr::Column(WINDOW_MARK + ctx.calls.len() - 1, ty)
        });
        self.windows = Some(ctx);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn bind_window_call(
        &mut self,
        ctx: &WindowContext,
        name: &str,
        star: bool,
        routine: Option<std::sync::Arc<crate::catalog::routine::RoutineDef>>,
        args: &[ast::Expr],
        distinct: bool,
        filter: Option<&ast::Expr>,
        order_by: &[ast::OrderByExpr],
        over: &ast::WindowType,
    ) -> SqlResult<WindowCall> {
        let spec = resolve_window(ctx, over)?;
        let mut partition_by = Vec::with_capacity(spec.partition_by.len());
        for p in &spec.partition_by {
            partition_by.push(self.bind_expr(p)?);
        }
        let mut order = Vec::with_capacity(spec.order_by.len());
        for o in &spec.order_by {
            let key = self.bind_expr(&o.expr)?;
            order.push(super::bind_select::sort_key(key, &o.options));
        }
        let frame = self.frame(spec.window_frame.as_ref())?;
        // `routine` is a Wasm aggregate (the caller passes no other kind).
        let aggregate = match &routine {
            Some(_) => Some(crate::sql::plan::AggFunc::Wasm),
            None => agg_func(name, star),
        };
        if let Some(func) = aggregate {
            if distinct {
                return Err(SqlError::unsupported(
                    "DISTINCT is not implemented for window functions",
                ));
            }
            if !order_by.is_empty() {
                return Err(SqlError::unsupported(
                    "aggregate ORDER BY is not implemented for window functions",
                ));
            }
            let agg = self.agg_call(func, routine, name, args, false, filter, &[])?;
            return Ok(WindowCall {
                ty: agg.ty,
                func: WindowFunc::Aggregate(Box::new(agg)),
                args: Vec::new(),
                partition_by,
                order_by: order,
                frame,
            });
        }
        if filter.is_some() {
            return Err(SqlError::unsupported(
                "FILTER is not implemented for non-aggregate window functions",
            ));
        }
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            bound.push(self.bind_expr(a)?);
        }
        let arity = |lo: usize, hi: usize| {
            if bound.len() < lo || bound.len() > hi {
                let list: Vec<&str> = bound.iter().map(|a| a.ty().name()).collect();
                return Err(SqlError::UndefinedFunction(format!(
                    "function {name}({}) does not exist",
                    list.join(", ")
                )));
            }
            Ok(())
        };
        let (func, ty) = match name {
            "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" => {
                arity(0, 0)?;
                match name {
                    "row_number" => (WindowFunc::RowNumber, DataType::Int8),
                    "rank" => (WindowFunc::Rank, DataType::Int8),
                    "dense_rank" => (WindowFunc::DenseRank, DataType::Int8),
                    "percent_rank" => (WindowFunc::PercentRank, DataType::Float8),
                    _ => (WindowFunc::CumeDist, DataType::Float8),
                }
            }
            "ntile" => {
                arity(1, 1)?;
                let arg = std::mem::replace(&mut bound[0], Expr::bool(false));
                bound[0] = self.coerce(arg, DataType::Int4)?;
                (WindowFunc::Ntile, DataType::Int4)
            }
            "lag" | "lead" => {
                arity(1, 3)?;
                let ty = bound[0].ty();
                if bound.len() > 1 {
                    let arg = std::mem::replace(&mut bound[1], Expr::bool(false));
                    bound[1] = self.coerce(arg, DataType::Int4)?;
                }
                if bound.len() > 2 {
                    let arg = std::mem::replace(&mut bound[2], Expr::bool(false));
                    bound[2] = self.coerce(arg, ty)?;
                }
                let func = if name == "lag" {
                    WindowFunc::Lag
                } else {
                    WindowFunc::Lead
                };
                (func, ty)
            }
            "first_value" | "last_value" => {
                arity(1, 1)?;
                let func = if name == "first_value" {
                    WindowFunc::FirstValue
                } else {
                    WindowFunc::LastValue
                };
                (func, bound[0].ty())
            }
            "nth_value" => {
                arity(2, 2)?;
                let arg = std::mem::replace(&mut bound[1], Expr::bool(false));
                bound[1] = self.coerce(arg, DataType::Int4)?;
                (WindowFunc::NthValue, bound[0].ty())
            }
            _ => {
                return Err(SqlError::Semantic {
                    state: SqlState::WRONG_OBJECT_TYPE,
                    message: format!(
                        "OVER specified, but {name} is not a window function nor an aggregate function"
                    ),
                });
            }
        };
        Ok(WindowCall {
            func,
            args: bound,
            partition_by,
            order_by: order,
            frame,
            ty,
        })
    }

    /// The frame clause, or the default: RANGE UNBOUNDED PRECEDING to the
    /// current row's last peer (the whole partition without ORDER BY).
    fn frame(&mut self, f: Option<&ast::WindowFrame>) -> SqlResult<Frame> {
        let Some(f) = f else {
            return Ok(Frame {
                rows: false,
                start: FrameBound::UnboundedPreceding,
                end: FrameBound::CurrentRow,
            });
        };
        let rows = match f.units {
            ast::WindowFrameUnits::Rows => true,
            ast::WindowFrameUnits::Range => false,
            ast::WindowFrameUnits::Groups => {
                return Err(SqlError::unsupported("GROUPS frames are not supported"));
            }
        };
        let start = self.frame_bound(&f.start_bound, rows)?;
        let end = match &f.end_bound {
            Some(b) => self.frame_bound(b, rows)?,
            None => FrameBound::CurrentRow,
        };
        if start == FrameBound::UnboundedFollowing {
            return Err(windowing("frame start cannot be UNBOUNDED FOLLOWING"));
        }
        if end == FrameBound::UnboundedPreceding {
            return Err(windowing("frame end cannot be UNBOUNDED PRECEDING"));
        }
        Ok(Frame { rows, start, end })
    }

    fn frame_bound(&mut self, b: &ast::WindowFrameBound, rows: bool) -> SqlResult<FrameBound> {
        let offset = |binder: &mut Self, e: &ast::Expr| -> SqlResult<u64> {
            if !rows {
                return Err(SqlError::unsupported(
                    "RANGE with offset PRECEDING/FOLLOWING is not supported",
                ));
            }
            let bound = bind_constant_expr(binder, e)?;
            let value = match bound {
                Expr::Literal(v, _) => v.cast(&DataType::Int8)?,
                _ => {
                    return Err(windowing("argument of ROWS must not contain variables"));
                }
            };
            match value {
                Value::Int8(n) if n >= 0 => Ok(n.unsigned_abs()),
                Value::Null => Err(SqlError::data(
                    SqlState::NULL_VALUE_NOT_ALLOWED,
                    "frame starting or ending offset must not be null",
                )),
                _ => Err(SqlError::data(
                    SqlState::INVALID_PRECEDING_OR_FOLLOWING_SIZE,
                    "frame starting or ending offset must not be negative",
                )),
            }
        };
        Ok(match b {
            ast::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
            ast::WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
            ast::WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
            ast::WindowFrameBound::Preceding(Some(e)) => FrameBound::Preceding(offset(self, e)?),
            ast::WindowFrameBound::Following(Some(e)) => FrameBound::Following(offset(self, e)?),
        })
    }
}

/// The window an OVER clause names or spells out: a named window's
/// partition, order and frame under what the clause adds.
fn resolve_window(ctx: &WindowContext, over: &ast::WindowType) -> SqlResult<ast::WindowSpec> {
    match over {
        ast::WindowType::NamedWindow(name) => named_window(ctx, name, 0),
        ast::WindowType::WindowSpec(spec) => refine(ctx, spec, 0),
    }
}

/// `spec` with the window it names (if any) under it; `depth` counts the
/// windows passed through, so a cycle of names ends in an error.
fn refine(ctx: &WindowContext, spec: &ast::WindowSpec, depth: usize) -> SqlResult<ast::WindowSpec> {
    let Some(base) = &spec.window_name else {
        return Ok(spec.clone());
    };
    let mut out = named_window(ctx, base, depth + 1)?;
    if !spec.partition_by.is_empty() {
        return Err(windowing(format!(
            "cannot override PARTITION BY clause of window \"{}\"",
            ident(base)
        )));
    }
    if !spec.order_by.is_empty() {
        if !out.order_by.is_empty() {
            return Err(windowing(format!(
                "cannot override ORDER BY clause of window \"{}\"",
                ident(base)
            )));
        }
        out.order_by = spec.order_by.clone();
    }
    if spec.window_frame.is_some() {
        out.window_frame = spec.window_frame.clone();
    }
    Ok(out)
}

fn named_window(
    ctx: &WindowContext,
    name: &ast::Ident,
    depth: usize,
) -> SqlResult<ast::WindowSpec> {
    let wanted = ident(name);
    let def = ctx
        .named
        .iter()
        .find(|d| ident(&d.0) == wanted)
        .filter(|_| depth <= ctx.named.len())
        .ok_or_else(|| SqlError::Semantic {
            state: SqlState::UNDEFINED_OBJECT,
            message: format!("window \"{wanted}\" does not exist"),
        })?;
    match &def.1 {
        ast::NamedWindowExpr::WindowSpec(spec) => refine(ctx, spec, depth),
        ast::NamedWindowExpr::NamedWindow(other) => named_window(ctx, other, depth + 1),
    }
}
