//! The expression forms of PostgreSQL's catalog queries (psql's `\d`):
//! casts to the object-id types (`c.oid::regclass`, `'16384'::regclass`),
//! to `oid`, `name` and schema-qualified type names (`pg_catalog.text`),
//! and to array types, `x = ANY (array column)` and `array[i]`.
//!
//! Catalog array columns hold the text form of an array
//! ([`crate::sql::expr::pg_describe`]), so an array cast keeps the text and
//! a subscript yields the element as the column's element type, which is
//! known by the column's name (PostgreSQL's catalogs fix it).

use sqlparser::ast;

use super::Binder;
use super::bind_coerce::is_unknown;
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::pg_describe::{RegKind, reg_oid};
use crate::sql::expr::{BinOp, DescribeFunc, Expr, Func, PgFunc};
use crate::types::{DataType, Value};

/// What a cast's target type is, for the forms only catalogs use.
enum Target {
    /// An object-id type.
    Reg(RegKind),
    /// A type the engine has under another name (`oid`, `name`,
    /// `pg_catalog.int4`).
    Plain(DataType),
    /// An array type: the text form.
    Array,
}

fn target(t: &ast::DataType) -> SqlResult<Option<Target>> {
    if matches!(t, ast::DataType::Array(_)) {
        return Ok(Some(Target::Array));
    }
    let name = t.to_string().to_lowercase();
    let bare = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    if let Some(kind) = RegKind::from_type_name(bare) {
        return Ok(Some(Target::Reg(kind)));
    }
    Ok(match bare {
        "oid" | "regproc" | "xid" => Some(Target::Plain(DataType::Int8)),
        // `"char"` (quoted) is PostgreSQL's one-byte type, which the
        // catalogs hold as text here; unquoted `char` is `char(1)`.
        "name" | "\"char\"" => Some(Target::Plain(DataType::Text)),
        _ if bare != name => Some(Target::Plain(bare.parse::<DataType>()?)),
        _ => None,
    })
}

/// The element type of a catalog array column, by its name.
fn element_type(column: &str) -> DataType {
    match column {
        "indkey" | "conkey" | "confkey" | "stxkeys" | "prattrs" | "indoption" => DataType::Int2,
        "polroles" | "proargtypes" | "indclass" | "indcollation" => DataType::Int8,
        _ => DataType::Text,
    }
}

impl Binder<'_> {
    /// `expr::t` when `t` is one of the catalog-only forms; `None` leaves
    /// the cast to the ordinary rules.
    pub(super) fn catalog_cast(
        &mut self,
        expr: &ast::Expr,
        t: &ast::DataType,
    ) -> SqlResult<Option<Expr>> {
        let Some(target) = target(t)? else {
            return Ok(None);
        };
        let inner = self.bind_expr(expr)?;
        Ok(Some(match target {
            Target::Plain(ty) => self.coerce(inner, ty)?,
            Target::Array => self.coerce(inner, DataType::Text)?,
            // A name (or number) written as a constant is looked up now,
            // as PostgreSQL's input function for the type does.
            Target::Reg(kind) => match inner {
                Expr::Literal(Value::Text(s), DataType::Text) => Expr::Literal(
                    Value::Int8(reg_oid(self.catalog, kind, &s)?),
                    DataType::Int8,
                ),
                other => {
                    let id = self.coerce(other, DataType::Int8)?;
                    Expr::Func(
                        Func::Pg(PgFunc::Describe(DescribeFunc::RegName(kind))),
                        vec![id],
                        DataType::Text,
                    )
                }
            },
        }))
    }

    /// `x = ANY (array)` and `x <> ALL (array)` over an array's text form.
    pub(super) fn quantified_array(
        &mut self,
        left: &ast::Expr,
        op: BinOp,
        right: &ast::Expr,
        all: bool,
    ) -> SqlResult<Expr> {
        let equal = match op {
            BinOp::Eq => true,
            BinOp::NotEq => false,
            _ => {
                return Err(SqlError::unsupported(
                    "only = and <> compare with the elements of an array",
                ));
            }
        };
        let x = self.bind_expr(left)?;
        let x = if is_unknown(&x) {
            self.coerce(x, DataType::Text)?
        } else {
            Expr::Cast(Box::new(x), DataType::Text)
        };
        let array = self.bind_expr(right)?;
        if !is_unknown(&array) && array.ty() != DataType::Text {
            return Err(SqlError::DatatypeMismatch(format!(
                "op ANY/ALL (array) requires array on right side, not type {}",
                array.ty().name()
            )));
        }
        let array = self.coerce(array, DataType::Text)?;
        Ok(Expr::Func(
            Func::Pg(PgFunc::Describe(DescribeFunc::ArrayQuantified {
                equal,
                all,
            })),
            vec![x, array],
            DataType::Bool,
        ))
    }

    /// `array[i]`: one index into a one-dimensional array.
    pub(super) fn subscript(
        &mut self,
        root: &ast::Expr,
        chain: &[ast::AccessExpr],
    ) -> SqlResult<Expr> {
        // `s.kinds[2]` arrives as `s` with the accesses `.kinds` and `[2]`.
        let (last, path) = chain
            .split_last()
            .ok_or_else(|| SqlError::Internal("a field access without accesses".into()))?;
        let ast::AccessExpr::Subscript(ast::Subscript::Index { index }) = last else {
            return Err(SqlError::unsupported(
                "only a single array subscript is supported",
            ));
        };
        let mut parts = match root {
            ast::Expr::Identifier(id) => vec![id.clone()],
            ast::Expr::CompoundIdentifier(parts) => parts.clone(),
            _ if path.is_empty() => Vec::new(),
            _ => return Err(SqlError::unsupported("field access on an expression")),
        };
        for access in path {
            match access {
                ast::AccessExpr::Dot(ast::Expr::Identifier(id)) => parts.push(id.clone()),
                _ => {
                    return Err(SqlError::unsupported(
                        "only a single array subscript is supported",
                    ));
                }
            }
        }
        let column = parts.last().map(super::ident);
        let array = match parts.len() {
            0 => self.bind_expr(root)?,
            1 => self.bind_expr(&ast::Expr::Identifier(parts.remove(0)))?,
            _ => self.bind_expr(&ast::Expr::CompoundIdentifier(parts))?,
        };
        let array = self.coerce(array, DataType::Text)?;
        let i = self.bind_expr(index)?;
        let i = self.coerce(i, DataType::Int4)?;
        let element = Expr::Func(
            Func::Pg(PgFunc::Describe(DescribeFunc::ArraySubscript)),
            vec![array, i],
            DataType::Text,
        );
        let ty = column.as_deref().map_or(DataType::Text, element_type);
        Ok(if ty == DataType::Text {
            element
        } else {
            Expr::Cast(Box::new(element), ty)
        })
    }
}
