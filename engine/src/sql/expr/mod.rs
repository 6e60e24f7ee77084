//! Bound expressions: column references resolved to positions, every node
//! typed, implicit casts made explicit. Binding does the type work once so
//! evaluation only computes.

mod arith;
mod datetime;
mod eval;
mod float;
mod fold;
mod format_picture;
mod formatting;
mod functions;
mod json;
mod math;
mod number_forms;
mod number_picture;
pub(crate) mod pg_describe;
mod pg_functions;
mod strings;
mod subquery;

pub use pg_describe::{DescribeFunc, RegKind};
pub use pg_functions::{PgFunc, regex_operator_function};
pub(crate) use pg_functions::{ROLE_OID, UTF8_ENCODING};

pub(crate) use arith::op_symbol;
pub use arith::{numeric_div, numeric_div_estimate, numeric_significant};

/// `left op right` for a comparison operator, `None` when either is NULL.
pub(crate) fn compare_values(op: BinOp, left: &Value, right: &Value) -> Option<bool> {
    arith::compare(op, left, right)
}

/// `left + right` with SQL's overflow errors.
pub(crate) fn add_values(left: Value, right: Value) -> crate::sql::error::SqlResult<Value> {
    arith::arith(BinOp::Add, left, right)
}
pub use datetime::DtFunc;
pub(crate) use datetime::{at_time_zone, temporal_result};
pub(crate) use eval::no_host;
pub use eval::{eval, eval_predicate};
pub(crate) use float::RowExpr;
pub use formatting::FmtFunc;
pub use functions::{Func, resolve_function};
pub use json::JsonFunc;
pub(crate) use json::operator as json_operator;
pub(crate) use math::numeric_sqrt;
pub use math::{BitOp, MathFunc, Trig};
pub use strings::StrFunc;

use std::sync::Arc;

use crate::types::{DataType, Value};

use super::plan::Plan;

/// Binary operators that survive binding (AND/OR and comparisons with
/// NULL logic included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `||`
    Concat,
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `AND`
    And,
    /// `OR`
    Or,
}

/// What a subquery expression asks of its rows.
#[derive(Debug, Clone)]
pub enum SubqueryKind {
    /// `(SELECT x ...)`: at most one row, its one value.
    Scalar,
    /// `EXISTS (...)`
    Exists,
    /// `ARRAY(SELECT x ...)`: the values of its rows as one array, in
    /// PostgreSQL's text form (`{a,b}`) until the engine has array types.
    Array,
    /// `x [NOT] IN (SELECT ...)`
    In {
        /// The left side.
        expr: Box<Expr>,
        /// `NOT IN`
        negated: bool,
    },
    /// `(x, y, …) [NOT] IN (SELECT a, b, …)`: one left expression per
    /// column of the subquery.
    RowIn {
        /// The left row.
        exprs: Vec<Expr>,
        /// `NOT IN`
        negated: bool,
    },
    /// `x op ANY (SELECT ...)` / `x op ALL (SELECT ...)`
    Quantified {
        /// The left side.
        expr: Box<Expr>,
        /// The comparison.
        op: BinOp,
        /// `ALL` (else `ANY`/`SOME`)
        all: bool,
    },
}

/// A call of a user routine — a Wasm scalar function or a model scored like
/// one — resolved from the catalog when the statement was bound. The
/// executor batches these (`exec/wasm_batch.rs`): rows cross into the guest
/// a batch at a time, not one by one.
#[derive(Debug)]
pub struct RoutineCall {
    /// The routine record: module, export, kind, volatility, STRICT.
    pub def: Arc<crate::catalog::routine::RoutineDef>,
    /// Its result type.
    pub ty: DataType,
}

impl RoutineCall {
    /// Whether a call with constant arguments may be evaluated once per
    /// statement: only IMMUTABLE routines promise the same result.
    pub fn foldable(&self) -> bool {
        self.def.volatility == crate::extension::Volatility::Immutable
    }
}

/// A bound expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A constant.
    Literal(Value, DataType),
    /// A column of the input row.
    Column(usize, DataType),
    /// A column of an enclosing query's row (correlated subqueries):
    /// `depth` 1 is the immediately enclosing query.
    Outer {
        /// How many query levels out.
        depth: usize,
        /// The column's position in that row.
        index: usize,
        /// Its type.
        ty: DataType,
    },
    /// `$n` (zero-based here), with the type inferred for it.
    Param(usize, DataType),
    /// A binary operator; operands already share a type where it matters.
    Binary(BinOp, Box<Expr>, Box<Expr>, DataType),
    /// `NOT`
    Not(Box<Expr>),
    /// Unary minus.
    Neg(Box<Expr>),
    /// `IS [NOT] NULL`
    IsNull(Box<Expr>, bool),
    /// `IS [NOT] DISTINCT FROM`; the flag is `NOT`.
    IsDistinct(Box<Expr>, Box<Expr>, bool),
    /// `IS [NOT] TRUE/FALSE`: (expr, value tested, negated)
    IsBool(Box<Expr>, bool, bool),
    /// An explicit or implicit cast.
    Cast(Box<Expr>, DataType),
    /// `CASE WHEN ... THEN ... ELSE ... END` (a simple CASE is rewritten
    /// to this form).
    Case {
        /// (condition, result) pairs.
        branches: Vec<(Expr, Expr)>,
        /// ELSE
        otherwise: Box<Expr>,
        /// Result type.
        ty: DataType,
    },
    /// A scalar function call.
    Func(Func, Vec<Expr>, DataType),
    /// `x [NOT] IN (a, b, ...)`
    InList {
        /// The tested value.
        expr: Box<Expr>,
        /// The list.
        list: Vec<Expr>,
        /// `NOT IN`
        negated: bool,
    },
    /// `x [NOT] [I]LIKE pattern`
    Like {
        /// The tested string.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// `NOT`
        negated: bool,
        /// `ILIKE`
        case_insensitive: bool,
    },
    /// A subquery, planned; run once per evaluation with the current row
    /// pushed as the outer row.
    Subquery(Arc<Plan>, SubqueryKind, DataType),
    /// A user routine (Wasm scalar function or model) on arguments already
    /// cast to its parameter types.
    Routine(Arc<RoutineCall>, Vec<Expr>),
}

impl Expr {
    /// The type of the value the expression yields.
    pub fn ty(&self) -> DataType {
        match self {
            Expr::Literal(_, ty)
            | Expr::Column(_, ty)
            | Expr::Outer { ty, .. }
            | Expr::Param(_, ty)
            | Expr::Binary(_, _, _, ty)
            | Expr::Cast(_, ty)
            | Expr::Case { ty, .. }
            | Expr::Func(_, _, ty)
            | Expr::Subquery(_, _, ty) => *ty,
            Expr::Routine(call, _) => call.ty,
            Expr::Neg(e) => e.ty(),
            Expr::Not(_)
            | Expr::IsNull(..)
            | Expr::IsDistinct(..)
            | Expr::IsBool(..)
            | Expr::InList { .. }
            | Expr::Like { .. } => DataType::Bool,
        }
    }

    /// A boolean constant.
    pub fn bool(b: bool) -> Expr {
        Expr::Literal(Value::Bool(b), DataType::Bool)
    }

    /// Whether the expression reads no column, parameter or subquery, so
    /// it can be evaluated once at plan time.
    pub fn is_constant(&self) -> bool {
        match self {
            Expr::Literal(..) => true,
            Expr::Column(..) | Expr::Outer { .. } | Expr::Param(..) | Expr::Subquery(..) => false,
            Expr::Binary(_, a, b, _) | Expr::IsDistinct(a, b, _) => {
                a.is_constant() && b.is_constant()
            }
            Expr::Not(e) | Expr::Neg(e) | Expr::IsNull(e, _) | Expr::IsBool(e, ..) => {
                e.is_constant()
            }
            Expr::Cast(e, _) => e.is_constant(),
            Expr::Case {
                branches,
                otherwise,
                ..
            } => {
                branches
                    .iter()
                    .all(|(c, r)| c.is_constant() && r.is_constant())
                    && otherwise.is_constant()
            }
            Expr::Func(f, args, _) => !f.is_volatile() && args.iter().all(Expr::is_constant),
            // Folding needs the routine host, so it happens at execution
            // (once per statement), not at plan time.
            Expr::Routine(..) => false,
            Expr::InList { expr, list, .. } => {
                expr.is_constant() && list.iter().all(Expr::is_constant)
            }
            Expr::Like { expr, pattern, .. } => expr.is_constant() && pattern.is_constant(),
        }
    }

    /// The column positions the expression reads from its own input row.
    pub fn columns(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Column(i, _) => out.push(*i),
            Expr::Literal(..) | Expr::Outer { .. } | Expr::Param(..) => {}
            Expr::Subquery(
                _,
                SubqueryKind::In { expr, .. } | SubqueryKind::Quantified { expr, .. },
                _,
            ) => expr.columns(out),
            Expr::Subquery(_, SubqueryKind::RowIn { exprs, .. }, _) => {
                exprs.iter().for_each(|e| e.columns(out))
            }
            Expr::Subquery(..) => {}
            Expr::Binary(_, a, b, _) | Expr::IsDistinct(a, b, _) => {
                a.columns(out);
                b.columns(out);
            }
            Expr::Not(e) | Expr::Neg(e) | Expr::IsNull(e, _) | Expr::IsBool(e, ..) => {
                e.columns(out)
            }
            Expr::Cast(e, _) => e.columns(out),
            Expr::Case {
                branches,
                otherwise,
                ..
            } => {
                for (c, r) in branches {
                    c.columns(out);
                    r.columns(out);
                }
                otherwise.columns(out);
            }
            Expr::Func(_, args, _) | Expr::Routine(_, args) => {
                args.iter().for_each(|a| a.columns(out))
            }
            Expr::InList { expr, list, .. } => {
                expr.columns(out);
                list.iter().for_each(|a| a.columns(out));
            }
            Expr::Like { expr, pattern, .. } => {
                expr.columns(out);
                pattern.columns(out);
            }
        }
    }

    /// Whether the expression has one value for every row of its input
    /// within a statement: it reads no column of the row, holds no
    /// subquery, and calls nothing that changes per call (`now()` is the
    /// transaction's start, so it qualifies). Index probes must be such.
    pub fn is_row_independent(&self) -> bool {
        let mut independent = true;
        self.walk(&mut |e| {
            independent &= match e {
                Expr::Column(..) | Expr::Subquery(..) => false,
                Expr::Func(f, ..) => !f.is_volatile() || matches!(f, Func::Now | Func::CurrentDate),
                Expr::Routine(call, _) => {
                    call.def.volatility != crate::extension::Volatility::Volatile
                }
                _ => true,
            }
        });
        independent
    }

    /// Whether the expression holds a subquery (which may be correlated
    /// and so cannot move past a join or be evaluated early).
    pub fn has_subquery(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Subquery(..) | Expr::Outer { .. }));
        found
    }

    /// Rewrites every column reference through `f` (when a predicate moves
    /// below a join, its positions shift).
    pub fn map_columns(&mut self, f: &dyn Fn(usize) -> usize) {
        self.walk_mut(&mut |e| {
            if let Expr::Column(i, _) = e {
                *i = f(*i);
            }
        });
    }

    fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Literal(..)
            | Expr::Column(..)
            | Expr::Outer { .. }
            | Expr::Param(..)
            | Expr::Subquery(
                _,
                SubqueryKind::Scalar | SubqueryKind::Exists | SubqueryKind::Array,
                _,
            ) => vec![],
            Expr::Subquery(
                _,
                SubqueryKind::In { expr, .. } | SubqueryKind::Quantified { expr, .. },
                _,
            ) => vec![expr],
            Expr::Subquery(_, SubqueryKind::RowIn { exprs, .. }, _) => exprs.iter().collect(),
            Expr::Binary(_, a, b, _) | Expr::IsDistinct(a, b, _) => vec![a, b],
            Expr::Not(e) | Expr::Neg(e) | Expr::IsNull(e, _) | Expr::IsBool(e, ..) => vec![e],
            Expr::Cast(e, _) => vec![e],
            Expr::Case {
                branches,
                otherwise,
                ..
            } => branches
                .iter()
                .flat_map(|(c, r)| [c, r])
                .chain(std::iter::once(otherwise.as_ref()))
                .collect(),
            Expr::Func(_, args, _) | Expr::Routine(_, args) => args.iter().collect(),
            Expr::InList { expr, list, .. } => std::iter::once(expr.as_ref()).chain(list).collect(),
            Expr::Like { expr, pattern, .. } => vec![expr, pattern],
        }
    }

    pub(crate) fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        for c in self.children() {
            c.walk(f);
        }
    }

    /// Visits every node, parents before children, letting `f` rewrite it.
    pub(crate) fn walk_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        f(self);
        for c in self.children_mut() {
            c.walk_mut(f);
        }
    }

    /// Whether the expression calls a user routine outside any subquery.
    pub fn has_routine(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Routine(..)));
        found
    }

    /// The direct sub-expressions evaluated with this row.
    pub(crate) fn children_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            Expr::Literal(..)
            | Expr::Column(..)
            | Expr::Outer { .. }
            | Expr::Param(..)
            | Expr::Subquery(
                _,
                SubqueryKind::Scalar | SubqueryKind::Exists | SubqueryKind::Array,
                _,
            ) => vec![],
            Expr::Subquery(
                _,
                SubqueryKind::In { expr, .. } | SubqueryKind::Quantified { expr, .. },
                _,
            ) => vec![expr],
            Expr::Subquery(_, SubqueryKind::RowIn { exprs, .. }, _) => exprs.iter_mut().collect(),
            Expr::Binary(_, a, b, _) | Expr::IsDistinct(a, b, _) => vec![a, b],
            Expr::Not(e) | Expr::Neg(e) | Expr::IsNull(e, _) | Expr::IsBool(e, ..) => vec![e],
            Expr::Cast(e, _) => vec![e],
            Expr::Case {
                branches,
                otherwise,
                ..
            } => branches
                .iter_mut()
                .flat_map(|(c, r)| [c, r])
                .chain(std::iter::once(otherwise.as_mut()))
                .collect(),
            Expr::Func(_, args, _) | Expr::Routine(_, args) => args.iter_mut().collect(),
            Expr::InList { expr, list, .. } => std::iter::once(expr.as_mut())
                .chain(list.iter_mut())
                .collect(),
            Expr::Like { expr, pattern, .. } => vec![expr, pattern],
        }
    }
}
