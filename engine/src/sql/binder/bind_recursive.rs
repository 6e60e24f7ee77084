//! WITH RECURSIVE: a CTE that names itself is `non-recursive term UNION
//! [ALL] recursive term`; the recursive term reads the rows of the
//! previous round through a work table.

use std::ops::ControlFlow;

use sqlparser::ast::{self, Visit, Visitor};

use super::bind_from::rename;
use super::bind_select::bind_set_expr;
use super::{Binder, bind_query, ident, object_name};
use crate::SqlState;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::Expr;
use crate::sql::plan::{Plan, WorkTable};

/// Binds one CTE of a WITH list; under RECURSIVE, one that references
/// itself becomes a recursive union.
pub(crate) fn bind_cte(b: &mut Binder<'_>, cte: &ast::Cte, recursive: bool) -> SqlResult<Plan> {
    let name = ident(&cte.alias.name);
    if recursive && mentions(&*cte.query, &name) {
        return bind_recursive(b, cte, &name);
    }
    let plan = bind_query(b, &cte.query)?;
    rename(plan, &name, &cte.alias.columns)
}

fn invalid_recursion(message: String) -> SqlError {
    SqlError::Semantic {
        state: SqlState::INVALID_RECURSION,
        message,
    }
}

fn bind_recursive(b: &mut Binder<'_>, cte: &ast::Cte, name: &str) -> SqlResult<Plan> {
    let ast::SetExpr::SetOperation {
        op: ast::SetOperator::Union,
        set_quantifier,
        left,
        right,
    } = cte.query.body.as_ref()
    else {
        return Err(invalid_recursion(format!(
            "recursive query \"{name}\" does not have the form non-recursive-term UNION [ALL] recursive-term"
        )));
    };
    if mentions(&**left, name) {
        return Err(invalid_recursion(format!(
            "recursive reference to query \"{name}\" must not appear within its non-recursive term"
        )));
    }
    let anchor = bind_set_expr(b, left)?;
    let anchor = rename(anchor, name, &cte.alias.columns)?;
    let columns = anchor.columns();
    let work = WorkTable::default();
    b.ctes.push((
        name.to_owned(),
        Plan::WorkTableScan {
            work: work.clone(),
            columns: columns.clone(),
        },
    ));
    let step = bind_set_expr(b, right);
    b.ctes.pop();
    let step = step?;
    let step_columns = step.columns();
    if step_columns.len() != columns.len() {
        return Err(SqlError::Syntax(
            "each UNION query must have the same number of columns".into(),
        ));
    }
    // Rows of both terms share the anchor's types, as the work table does.
    let step = if step_columns.iter().zip(&columns).all(|(s, a)| s.ty == a.ty) {
        step
    } else {
        let mut exprs = Vec::with_capacity(columns.len());
        for (i, (s, a)) in step_columns.iter().zip(&columns).enumerate() {
            exprs.push(b.coerce(Expr::Column(i, s.ty), a.ty)?);
        }
        Plan::Project {
            input: Box::new(step),
            exprs,
            columns: columns.clone(),
        }
    };
    Ok(Plan::RecursiveCte {
        anchor: Box::new(anchor),
        step: Box::new(step),
        all: matches!(set_quantifier, ast::SetQuantifier::All),
        work,
        columns,
    })
}

/// Whether a query (or part of one) reads a relation called `name`.
fn mentions<T: Visit + ?Sized>(node: &T, name: &str) -> bool {
    struct Finder<'n> {
        name: &'n str,
    }
    impl Visitor for Finder<'_> {
        type Break = ();
        fn pre_visit_relation(&mut self, relation: &ast::ObjectName) -> ControlFlow<()> {
            if object_name(relation).is_ok_and(|n| n == self.name) {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    node.visit(&mut Finder { name }).is_break()
}
