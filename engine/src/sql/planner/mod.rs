//! The planner: rewrites a bound plan into a cheaper one that returns the
//! same rows. The binder builds the logical shape (scans with their WHERE
//! predicate, joins, projection, sort, limit); this pass picks access
//! paths and physical operators:
//!
//! * a scan whose predicate bounds an index becomes an index scan — a
//!   point read for a fully bound primary key ([`access`]);
//! * a sort the chosen index already delivers is dropped, so
//!   `ORDER BY pk LIMIT n` reads n rows;
//! * a sort under a LIMIT becomes a bounded top-N;
//! * inner joins are reordered by estimated cost and each is a hash join,
//!   a nested loop or an index nested loop ([`join_order`], with the
//!   estimates of [`cardinality`] from ANALYZE's statistics).
//!
//! The pass is idempotent: plans of subqueries and CTEs are optimized
//! when they are bound and again, harmlessly, as part of their parent.

mod access;
mod cardinality;
mod join;
mod join_order;

pub(crate) use access::{KeyPart, WantedOrder, fingerprint, table_access};
pub(crate) use join::equi_keys;

use crate::catalog::Catalog;
use crate::sql::expr::{BinOp, Expr};
use crate::sql::plan::{JoinKind, Plan};
use crate::types::DataType;

/// The cheaper equivalent of `plan`, estimated with the statistics of
/// `catalog`.
pub(crate) fn optimize(plan: Plan, cat: &Catalog) -> Plan {
    match plan {
        Plan::Scan {
            table,
            alias,
            filter,
            columns,
        } => table_access(table, alias, filter, columns, None).0,
        Plan::Limit {
            input,
            limit,
            offset,
        } => limit_node(*input, limit, offset, cat),
        sort @ Plan::Sort { .. } => order(sort, false, cat),
        Plan::Filter { input, predicate } => match *input {
            join @ Plan::Join {
                kind: JoinKind::Inner,
                ..
            } => join_order::order_joins(
                Plan::Filter {
                    input: Box::new(join),
                    predicate,
                },
                cat,
            ),
            other => Plan::Filter {
                input: Box::new(optimize(other, cat)),
                predicate,
            },
        },
        join @ Plan::Join {
            kind: JoinKind::Inner,
            ..
        } => join_order::order_joins(join, cat),
        Plan::Project {
            input,
            exprs,
            columns,
        } => Plan::Project {
            input: Box::new(optimize(*input, cat)),
            exprs,
            columns,
        },
        Plan::KeyedScan { input, columns } => Plan::KeyedScan {
            input: Box::new(optimize(*input, cat)),
            columns,
        },
        Plan::Join {
            kind,
            left,
            right,
            on,
            equi,
            columns,
        } => Plan::Join {
            kind,
            left: Box::new(optimize(*left, cat)),
            right: Box::new(optimize(*right, cat)),
            on,
            equi,
            columns,
        },
        Plan::Aggregate {
            input,
            group_by,
            aggs,
            columns,
        } => Plan::Aggregate {
            input: Box::new(optimize(*input, cat)),
            group_by,
            aggs,
            columns,
        },
        Plan::TopN {
            input,
            keys,
            limit,
            offset,
        } => Plan::TopN {
            input: Box::new(optimize(*input, cat)),
            keys,
            limit,
            offset,
        },
        Plan::Distinct { input } => Plan::Distinct {
            input: Box::new(optimize(*input, cat)),
        },
        Plan::Window {
            input,
            calls,
            columns,
        } => Plan::Window {
            input: Box::new(optimize(*input, cat)),
            calls,
            columns,
        },
        Plan::LockRows {
            input,
            targets,
            from,
            recheck,
            outputs,
        } => Plan::LockRows {
            input: Box::new(optimize(*input, cat)),
            targets,
            from,
            recheck,
            outputs,
        },
        Plan::DistinctOn { input, keys } => Plan::DistinctOn {
            input: Box::new(optimize(*input, cat)),
            keys,
        },
        Plan::TableFunction {
            call,
            args,
            input,
            left_join,
            columns,
        } => Plan::TableFunction {
            call,
            args,
            input: input.map(|i| Box::new(optimize(*i, cat))),
            left_join,
            columns,
        },
        Plan::SetOp {
            kind,
            all,
            left,
            right,
        } => Plan::SetOp {
            kind,
            all,
            left: Box::new(optimize(*left, cat)),
            right: Box::new(optimize(*right, cat)),
        },
        Plan::RecursiveCte {
            anchor,
            step,
            all,
            work,
            columns,
        } => Plan::RecursiveCte {
            anchor: Box::new(optimize(*anchor, cat)),
            step: Box::new(optimize(*step, cat)),
            all,
            work,
            columns,
        },
        // The inner plan was optimized where it was made (an index probe,
        // or a LATERAL subquery bound as a query of its own).
        Plan::IndexJoin {
            kind,
            outer,
            inner,
            on,
            columns,
        } => Plan::IndexJoin {
            kind,
            outer: Box::new(optimize(*outer, cat)),
            inner,
            on,
            columns,
        },
        leaf @ (Plan::Values { .. }
        | Plan::IndexScan { .. }
        | Plan::Series { .. }
        | Plan::WorkTableScan { .. }) => leaf,
    }
}

/// LIMIT over a sort (possibly under the projection that drops hidden
/// sort columns): the sort may go away through an index, or else become a
/// top-N that keeps only `offset + limit` rows.
fn limit_node(input: Plan, limit: Option<Expr>, offset: Option<Expr>, cat: &Catalog) -> Plan {
    let limited = limit.is_some();
    let input = match input {
        sort @ Plan::Sort { .. } => order(sort, limited, cat),
        Plan::Project {
            input: inner,
            exprs,
            columns,
        } if matches!(*inner, Plan::Sort { .. }) => Plan::Project {
            input: Box::new(order(*inner, limited, cat)),
            exprs,
            columns,
        },
        other => optimize(other, cat),
    };
    let Some(limit) = limit else {
        return Plan::Limit {
            input: Box::new(input),
            limit: None,
            offset,
        };
    };
    match input {
        Plan::Sort { input, keys } => Plan::TopN {
            input,
            keys,
            limit,
            offset,
        },
        Plan::Project {
            input: inner,
            exprs,
            columns,
        } => match *inner {
            Plan::Sort { input, keys } => Plan::Project {
                input: Box::new(Plan::TopN {
                    input,
                    keys,
                    limit,
                    offset,
                }),
                exprs,
                columns,
            },
            inner => Plan::Limit {
                input: Box::new(Plan::Project {
                    input: Box::new(inner),
                    exprs,
                    columns,
                }),
                limit: Some(limit),
                offset,
            },
        },
        other => Plan::Limit {
            input: Box::new(other),
            limit: Some(limit),
            offset,
        },
    }
}

/// A sort over a projection of one table: when an index delivers the
/// order, the sort goes and the scan walks that index.
fn order(sort: Plan, limited: bool, cat: &Catalog) -> Plan {
    let Plan::Sort { input, keys } = sort else {
        return optimize(sort, cat);
    };
    let Plan::Project {
        input: below,
        exprs,
        columns,
    } = *input
    else {
        return Plan::Sort {
            input: Box::new(optimize(*input, cat)),
            keys,
        };
    };
    let Plan::Scan {
        table,
        alias,
        filter,
        columns: scan_columns,
    } = *below
    else {
        return Plan::Sort {
            input: Box::new(Plan::Project {
                input: Box::new(optimize(*below, cat)),
                exprs,
                columns,
            }),
            keys,
        };
    };
    let wanted = wanted_order(&keys, &exprs, limited);
    let (scan, ordered) = table_access(table, alias, filter, scan_columns, wanted.as_ref());
    let project = Plan::Project {
        input: Box::new(scan),
        exprs,
        columns,
    };
    if ordered {
        project
    } else {
        Plan::Sort {
            input: Box::new(project),
            keys,
        }
    }
}

/// The key parts and direction sort `keys` ask for, when every key is a
/// column or an expression over the row computed by the projection and
/// all keys run the way one index walk does (ASC NULLS LAST, or DESC NULLS
/// FIRST).
fn wanted_order(
    keys: &[crate::sql::plan::SortKey],
    exprs: &[Expr],
    limited: bool,
) -> Option<WantedOrder> {
    let reverse = keys.first()?.desc;
    let mut columns = Vec::new();
    for k in keys {
        if k.desc != reverse || k.nulls_first != reverse {
            return None;
        }
        let Expr::Column(i, _) = &k.expr else {
            return None;
        };
        columns.push(match exprs.get(*i)? {
            Expr::Column(c, _) => KeyPart::Column(*c),
            e if e.is_row_independent() || e.has_subquery() => return None,
            e => KeyPart::Expr(fingerprint(e)),
        });
    }
    Some(WantedOrder {
        columns,
        reverse,
        limited,
    })
}

/// `pred` applied to `plan`: into a scan's own filter when it is one.
pub(crate) fn push_filter(plan: Plan, pred: Expr) -> Plan {
    match plan {
        Plan::Scan {
            table,
            alias,
            filter,
            columns,
        } => Plan::Scan {
            table,
            alias,
            filter: Some(match filter {
                None => pred,
                Some(f) => Expr::Binary(BinOp::And, Box::new(f), Box::new(pred), DataType::Bool),
            }),
            columns,
        },
        // The key column comes after the scan's own, so a predicate over
        // the scan's columns reads the same positions inside it.
        Plan::KeyedScan { input, columns } => {
            let width = input.columns().len();
            let mut cols = Vec::new();
            pred.columns(&mut cols);
            if cols.iter().all(|c| *c < width) && !pred.has_subquery() {
                Plan::KeyedScan {
                    input: Box::new(push_filter(*input, pred)),
                    columns,
                }
            } else {
                Plan::Filter {
                    input: Box::new(Plan::KeyedScan { input, columns }),
                    predicate: pred,
                }
            }
        }
        other => Plan::Filter {
            input: Box::new(other),
            predicate: pred,
        },
    }
}
