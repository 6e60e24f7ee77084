//! Access-path selection: which B+tree a table is read through and between
//! which keys, from the conjuncts of its WHERE predicate and the order the
//! query wants.
//!
//! A candidate is the primary key (the table itself) or a secondary index.
//! Its bounds are equalities on a leading prefix of its columns, then, on
//! the next column, an IN list or a range. The candidate with the longest
//! equality prefix wins (a primary key fully bound is a point read); ties go
//! to one that also delivers the requested order, then to the primary key,
//! which needs no second lookup per row.

use std::sync::Arc;

use crate::catalog::TableDef;
use crate::sql::binder::base_type;
use crate::sql::expr::{BinOp, Expr};
use crate::sql::plan::{Column, IndexBounds, IndexChoice, Plan};
use crate::types::DataType;

/// One part of an index key: a column of the table, or an expression over
/// its row known by its [`fingerprint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyPart {
    Column(usize),
    Expr(String),
}

/// The identity of a bound expression, compared between an index's key
/// and a query: the same SQL bound over the same table yields the same
/// tree (functions, casts, column positions and types), and so the same
/// text.
pub(crate) fn fingerprint(e: &Expr) -> String {
    format!("{e:?}")
}

/// The order a query asks of a table: key parts, and whether all are
/// descending with NULLs first (else all ascending with NULLs last).
#[derive(Debug, Clone)]
pub(crate) struct WantedOrder {
    pub(crate) columns: Vec<KeyPart>,
    pub(crate) reverse: bool,
    /// A LIMIT follows, so an unbounded walk of a secondary index (one
    /// row lookup per entry) pays off by stopping early.
    pub(crate) limited: bool,
}

/// An index considered for a scan.
struct Candidate {
    /// Fully bound unique key, equality prefix length, narrowed further,
    /// delivers the order, is the primary key: compared in that order.
    score: (usize, usize, bool, bool, bool),
    index: IndexChoice,
    bounds: IndexBounds,
    /// The conjuncts the bounds came from.
    used: Vec<Expr>,
    ordered: bool,
}

/// One usable comparison of a conjunct: `part op probe`.
struct Term<'e> {
    part: KeyPart,
    kind: TermKind<'e>,
    conjunct: &'e Expr,
}

enum TermKind<'e> {
    Eq(&'e Expr),
    Lower(&'e Expr),
    Upper(&'e Expr),
    AnyOf(&'e [Expr]),
}

/// The plan reading `table` with `filter`, through the best index if one
/// helps; `Ok(plan, true)` when it also delivers `order`.
pub(crate) fn table_access(
    table: Arc<TableDef>,
    alias: String,
    filter: Option<Expr>,
    columns: Vec<Column>,
    order: Option<&WantedOrder>,
) -> (Plan, bool) {
    let mut conj = Vec::new();
    if let Some(f) = &filter {
        split_and(f, &mut conj);
    }
    let terms: Vec<Term<'_>> = conj.iter().filter_map(|c| term(c, &table)).collect();
    let columns_of = |cols: &[usize]| cols.iter().map(|c| KeyPart::Column(*c)).collect();
    let mut candidates: Vec<(IndexChoice, Vec<KeyPart>, bool)> = Vec::new();
    if let Some(pk) = &table.primary_key {
        candidates.push((IndexChoice::Primary, columns_of(&pk.columns), true));
    }
    for i in &table.indexes {
        let parts = if i.on_expressions() {
            i.expressions
                .iter()
                .map(|x| KeyPart::Expr(x.fingerprint.clone()))
                .collect()
        } else {
            columns_of(&i.columns)
        };
        candidates.push((IndexChoice::Secondary(i.clone()), parts, i.unique));
    }
    let mut best: Option<Candidate> = None;
    for (choice, cols, unique) in candidates {
        let (bounds, used) = bounds_for(&cols, &terms);
        let primary = matches!(choice, IndexChoice::Primary);
        let ordered = order.is_some_and(|o| {
            (primary || !bounds.is_empty() || o.limited)
                && cols
                    .get(bounds.eq.len()..)
                    .is_some_and(|rest| rest.starts_with(&o.columns))
        });
        if bounds.is_empty() && !ordered {
            continue;
        }
        let full = unique && bounds.eq.len() == cols.len();
        let narrowed =
            !bounds.any_of.is_empty() || bounds.lower.is_some() || bounds.upper.is_some();
        let score = (
            usize::from(full),
            bounds.eq.len(),
            narrowed,
            ordered,
            primary,
        );
        if best.as_ref().is_none_or(|b| score > b.score) {
            best = Some(Candidate {
                score,
                index: choice,
                bounds,
                used,
                ordered,
            });
        }
    }
    match best {
        Some(Candidate {
            index,
            bounds,
            used: index_cond,
            ordered,
            ..
        }) => (
            Plan::IndexScan {
                table,
                alias,
                index,
                bounds: Box::new(bounds),
                reverse: ordered && order.is_some_and(|o| o.reverse),
                filter,
                index_cond,
                columns,
            },
            ordered,
        ),
        None => (
            Plan::Scan {
                table,
                alias,
                filter,
                columns,
            },
            false,
        ),
    }
}

/// The bounds an index over `cols` gets from `terms`, and the conjuncts
/// they came from.
fn bounds_for(cols: &[KeyPart], terms: &[Term<'_>]) -> (IndexBounds, Vec<Expr>) {
    let mut bounds = IndexBounds::default();
    let mut used = Vec::new();
    for col in cols {
        let eq = terms
            .iter()
            .find(|t| t.part == *col && matches!(t.kind, TermKind::Eq(_)));
        match eq {
            Some(Term {
                kind: TermKind::Eq(p),
                conjunct,
                ..
            }) => {
                bounds.eq.push((*p).clone());
                used.push((*conjunct).clone());
            }
            _ => break,
        }
    }
    let Some(next) = cols.get(bounds.eq.len()) else {
        return (bounds, used);
    };
    if let Some(t) = terms
        .iter()
        .find(|t| t.part == *next && matches!(t.kind, TermKind::AnyOf(_)))
    {
        if let TermKind::AnyOf(list) = t.kind {
            bounds.any_of = list.to_vec();
            used.push(t.conjunct.clone());
        }
        return (bounds, used);
    }
    for t in terms.iter().filter(|t| t.part == *next) {
        match t.kind {
            TermKind::Lower(p) if bounds.lower.is_none() => {
                bounds.lower = Some(p.clone());
                used.push(t.conjunct.clone());
            }
            TermKind::Upper(p) if bounds.upper.is_none() => {
                bounds.upper = Some(p.clone());
                used.push(t.conjunct.clone());
            }
            _ => {}
        }
    }
    (bounds, used)
}

/// What an index key part `e` is, when it reads the row: a column, or
/// (when the table has indexes on expressions) an expression.
fn key_part(e: &Expr, table: &TableDef) -> Option<(KeyPart, DataType)> {
    match e {
        Expr::Column(c, _) => Some((KeyPart::Column(*c), table.columns.get(*c)?.ty)),
        _ if e.is_row_independent() || e.has_subquery() => None,
        _ if table.indexes.iter().any(|i| i.on_expressions()) => {
            Some((KeyPart::Expr(fingerprint(e)), e.ty()))
        }
        _ => None,
    }
}

/// `part op probe` (either way round) when an index over the part can
/// answer it.
fn term<'e>(e: &'e Expr, table: &TableDef) -> Option<Term<'e>> {
    match e {
        Expr::Binary(op, a, b, _) => {
            let ((part, ty), probe, op) = match (a.as_ref(), b.as_ref()) {
                (k, p) if is_probe(p) && !is_probe(k) => (key_part(k, table)?, p, *op),
                (p, k) if is_probe(p) => (key_part(k, table)?, p, flip(*op)?),
                _ => return None,
            };
            if !indexable(ty, probe.ty()) {
                return None;
            }
            let kind = match op {
                BinOp::Eq => TermKind::Eq(probe),
                BinOp::Gt | BinOp::GtEq => TermKind::Lower(probe),
                BinOp::Lt | BinOp::LtEq => TermKind::Upper(probe),
                _ => return None,
            };
            Some(Term {
                part,
                kind,
                conjunct: e,
            })
        }
        Expr::InList {
            expr,
            list,
            negated: false,
        } => {
            let (part, ty) = key_part(expr, table)?;
            if list.is_empty() || !list.iter().all(|p| is_probe(p) && indexable(ty, p.ty())) {
                return None;
            }
            Some(Term {
                part,
                kind: TermKind::AnyOf(list),
                conjunct: e,
            })
        }
        _ => None,
    }
}

fn flip(op: BinOp) -> Option<BinOp> {
    Some(match op {
        BinOp::Eq => BinOp::Eq,
        BinOp::Lt => BinOp::Gt,
        BinOp::LtEq => BinOp::GtEq,
        BinOp::Gt => BinOp::Lt,
        BinOp::GtEq => BinOp::LtEq,
        _ => return None,
    })
}

/// Whether `e` can be evaluated once before the scan: it reads no column
/// of the row and is not volatile or a subquery.
fn is_probe(e: &Expr) -> bool {
    e.is_row_independent()
}

/// Whether values of `probe` find keys of a column of type `column` once
/// cast to it. The cast may round (an int column probed with 1.5), which
/// is why bounds are inclusive and the predicate is rechecked per row.
fn indexable(column: DataType, probe: DataType) -> bool {
    let int = |t: DataType| matches!(t, DataType::Int2 | DataType::Int4 | DataType::Int8);
    let (c, p) = (base_type(column), base_type(probe));
    match c {
        // char(n) compares ignoring trailing blanks; its keys do not.
        _ if matches!(column, DataType::Char(_)) => false,
        DataType::Json => false,
        _ if int(c) => int(p) || matches!(p, DataType::Numeric { .. }),
        DataType::Numeric { .. } => int(p) || p == c,
        _ => p == c,
    }
}

/// The conjuncts of an AND tree.
pub(crate) fn split_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::Binary(BinOp::And, a, b, _) => {
            split_and(a, out);
            split_and(b, out);
        }
        other => out.push(other),
    }
}
