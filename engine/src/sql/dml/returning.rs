//! RETURNING: a select list over each row a statement wrote, bound in the
//! statement's row scope (the target's columns, and for UPDATE ... FROM
//! and DELETE ... USING the other items' columns too).

use sqlparser::ast;

use crate::sql::binder::{Binder, ident, object_name, output_name};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::{ExecCtx, Row};
use crate::sql::expr::{Expr, eval};
use crate::sql::plan::Column;
use crate::sql::session::{ColumnDesc, StatementResult};

/// A bound RETURNING list.
#[derive(Clone)]
pub(crate) struct Returning {
    exprs: Vec<Expr>,
    columns: Vec<ColumnDesc>,
    rows: Vec<Row>,
}

impl Returning {
    /// Binds `items` over `scope`; `visible` is how many leading columns of
    /// the scope `*` expands to (hidden ones such as `ctid` are left out).
    pub(crate) fn bind(
        b: &mut Binder<'_>,
        items: &[ast::SelectItem],
        scope: &[Column],
        hidden: &[usize],
    ) -> SqlResult<Returning> {
        b.scopes = vec![scope.to_vec()];
        let mut exprs = Vec::new();
        let mut columns = Vec::new();
        let star = |exprs: &mut Vec<Expr>, columns: &mut Vec<ColumnDesc>, table: Option<&str>| {
            let mut any = false;
            for (i, c) in scope.iter().enumerate() {
                if hidden.contains(&i) || table.is_some_and(|t| c.table.as_deref() != Some(t)) {
                    continue;
                }
                any = true;
                exprs.push(Expr::Column(i, c.ty));
                columns.push(ColumnDesc {
                    name: c.name.clone(),
                    ty: c.ty,
                });
            }
            any
        };
        for item in items {
            match item {
                ast::SelectItem::Wildcard(_) => {
                    star(&mut exprs, &mut columns, None);
                }
                ast::SelectItem::QualifiedWildcard(
                    ast::SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => {
                    let t = object_name(n)?;
                    if !star(&mut exprs, &mut columns, Some(&t)) {
                        return Err(SqlError::Semantic {
                            state: crate::SqlState::UNDEFINED_TABLE,
                            message: format!("missing FROM-clause entry for table \"{t}\""),
                        });
                    }
                }
                ast::SelectItem::UnnamedExpr(e) => {
                    let bound = b.bind_expr(e)?;
                    columns.push(ColumnDesc {
                        name: output_name(e),
                        ty: bound.ty(),
                    });
                    exprs.push(bound);
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    let bound = b.bind_expr(expr)?;
                    columns.push(ColumnDesc {
                        name: ident(alias),
                        ty: bound.ty(),
                    });
                    exprs.push(bound);
                }
                other => {
                    return Err(SqlError::unsupported(format!(
                        "RETURNING {other} is not supported"
                    )));
                }
            }
        }
        Ok(Returning {
            exprs,
            columns,
            rows: Vec::new(),
        })
    }

    /// The columns it returns.
    pub(crate) fn columns(&self) -> Vec<ColumnDesc> {
        self.columns.clone()
    }

    /// Computes the list for one written row.
    pub(crate) fn push(
        &mut self,
        row: &[crate::types::Value],
        cx: &mut ExecCtx<'_>,
    ) -> SqlResult<()> {
        let mut out = Vec::with_capacity(self.exprs.len());
        for e in &self.exprs {
            out.push(eval(e, row, cx)?);
        }
        self.rows.push(out);
        Ok(())
    }

    /// The statement's result: the rows, under the command's tag.
    pub(crate) fn finish(self, tag: String) -> StatementResult {
        StatementResult::Rows {
            columns: self.columns,
            rows: self.rows,
            tag,
        }
    }
}

/// The result of a DML statement: its RETURNING rows if it has a
/// RETURNING list, else its tag.
pub(crate) fn result(returning: Option<Returning>, tag: String) -> StatementResult {
    match returning {
        Some(r) => r.finish(tag),
        None => StatementResult::Command(tag),
    }
}
