//! `SELECT … FOR UPDATE | FOR SHARE [OF table] [NOWAIT | SKIP LOCKED]`.
//!
//! While the FROM clause of a locking SELECT binds, each base table a
//! clause names (every one, without `OF`) is read with its rows' storage
//! keys, in a hidden `?ctid` column after its own that `SELECT *` does not
//! show. The select list then carries the whole FROM row past the sort to
//! a [`Plan::LockRows`] node, which locks those keys (see
//! `exec/lock_rows.rs`). Functions, CTEs and VALUES in FROM are left
//! unlocked, as PostgreSQL leaves them; rows of views and subqueries are
//! not locked here, so a clause that would reach into one is refused
//! rather than silently ignored.

use std::sync::Arc;

use sqlparser::ast;

use super::{Binder, object_name};
use crate::SqlState;
use crate::catalog::{LockStrength, LockWait, Privileges, TableDef};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::expr::Expr;
use crate::sql::plan::{Column, JoinKind, LockTarget, Plan};
use crate::sql::privilege::check_table;
use crate::types::DataType;

/// The name of the hidden column holding a locked table's row key.
const LOCK_KEY: &str = "?ctid";

/// Whether `c` is a locked table's hidden row key, which `*` skips.
pub(super) fn is_lock_key(c: &Column) -> bool {
    c.name == LOCK_KEY
}

/// One `FOR …` clause.
struct Clause {
    strength: LockStrength,
    wait: LockWait,
    /// `OF name`; `None` locks every table.
    of: Option<String>,
    /// Whether `of` named a table this query reads.
    found: bool,
}

/// The locking clauses of the SELECT being bound, and the tables of its
/// FROM clause they lock.
pub(crate) struct RowLocks {
    clauses: Vec<Clause>,
    /// Tables locked so far: alias, table, strength, wait.
    tables: Vec<(String, Arc<TableDef>, LockStrength, LockWait)>,
}

impl RowLocks {
    pub(super) fn new(locks: &[ast::LockClause]) -> SqlResult<RowLocks> {
        let clauses = locks
            .iter()
            .map(|l| {
                Ok(Clause {
                    strength: match l.lock_type {
                        ast::LockType::Update => LockStrength::Update,
                        ast::LockType::Share => LockStrength::Share,
                    },
                    wait: match l.nonblock {
                        None => LockWait::Block,
                        Some(ast::NonBlock::Nowait) => LockWait::NoWait,
                        Some(ast::NonBlock::SkipLocked) => LockWait::SkipLocked,
                    },
                    of: l.of.as_ref().map(object_name).transpose()?,
                    found: false,
                })
            })
            .collect::<SqlResult<_>>()?;
        Ok(RowLocks {
            clauses,
            tables: Vec::new(),
        })
    }

    /// How the clauses lock the FROM item called `alias`: as PostgreSQL
    /// combines them, the strongest lock and the least patient wait
    /// (NOWAIT over SKIP LOCKED over waiting).
    fn applying(&mut self, alias: &str) -> Option<(LockStrength, LockWait)> {
        let mut out: Option<(LockStrength, LockWait)> = None;
        for c in &mut self.clauses {
            if c.of.as_deref().is_some_and(|n| n != alias) {
                continue;
            }
            c.found |= c.of.is_some();
            let (strength, wait) = out.get_or_insert((c.strength, c.wait));
            if c.strength == LockStrength::Update {
                *strength = LockStrength::Update;
            }
            *wait = match (*wait, c.wait) {
                (LockWait::NoWait, _) | (_, LockWait::NoWait) => LockWait::NoWait,
                (LockWait::SkipLocked, _) | (_, LockWait::SkipLocked) => LockWait::SkipLocked,
                _ => LockWait::Block,
            };
        }
        out
    }

    /// `FOR UPDATE` or `FOR SHARE`, as PostgreSQL's messages name the
    /// clause.
    fn name(&self) -> &'static str {
        match self.clauses.first().map(|c| c.strength) {
            Some(LockStrength::Share) => "FOR SHARE",
            _ => "FOR UPDATE",
        }
    }

    /// The 0A000 for a query shape the clause cannot lock rows of.
    pub(super) fn not_allowed(&self, with: &str) -> SqlError {
        SqlError::unsupported(format!("{} is not allowed with {with}", self.name()))
    }
}

/// Reads `table` (scanned by `scan` under `alias`) with its row keys if
/// the SELECT being bound locks it; `scan` unchanged otherwise.
pub(super) fn keyed_if_locked(
    b: &mut Binder<'_>,
    scan: Plan,
    alias: &str,
    table: &Arc<TableDef>,
) -> SqlResult<Plan> {
    let Some(locks) = b.row_locks.as_mut() else {
        return Ok(scan);
    };
    let Some((strength, wait)) = locks.applying(alias) else {
        return Ok(scan);
    };
    if let Some(user) = b.user {
        // PostgreSQL asks for UPDATE as well, FOR SHARE included.
        check_table(b.catalog, user, table.id, &table.name, Privileges::UPDATE)?;
    }
    locks
        .tables
        .push((alias.to_owned(), table.clone(), strength, wait));
    let mut columns = scan.columns();
    columns.push(Column {
        name: LOCK_KEY.into(),
        table: Some(alias.to_owned()),
        ty: DataType::Bytea,
    });
    Ok(Plan::KeyedScan {
        input: Box::new(scan),
        columns,
    })
}

/// Refuses a clause that would lock rows of the FROM item `alias`, `what`
/// (a view or a subquery), which this binder cannot lock.
pub(super) fn refuse_inside(b: &mut Binder<'_>, alias: &str, what: &str) -> SqlResult<()> {
    let Some(locks) = b.row_locks.as_mut() else {
        return Ok(());
    };
    if locks.applying(alias).is_none() {
        return Ok(());
    }
    Err(SqlError::unsupported(format!(
        "{} on {what} is not supported",
        locks.name()
    )))
}

/// PostgreSQL's refusal to lock the side of an outer join that may be
/// NULL-extended, where there may be no row to lock.
pub(super) fn check_outer_join(
    kind: JoinKind,
    left: &[Column],
    right: &[Column],
    locks: Option<&RowLocks>,
) -> SqlResult<()> {
    let Some(locks) = locks else { return Ok(()) };
    let nullable = match kind {
        JoinKind::Inner => false,
        JoinKind::Left => right.iter().any(is_lock_key),
        JoinKind::Right => left.iter().any(is_lock_key),
        JoinKind::Full => left.iter().chain(right).any(is_lock_key),
    };
    if nullable {
        return Err(SqlError::unsupported(format!(
            "{} cannot be applied to the nullable side of an outer join",
            locks.name()
        )));
    }
    Ok(())
}

/// What [`carry_from_row`] needs of a bound locking SELECT.
pub(super) struct Locking {
    targets: Vec<LockTarget>,
    /// The WHERE, over the FROM row.
    recheck: Option<Expr>,
    from_cols: Vec<Column>,
}

/// The lock targets of a SELECT whose FROM clause bound to `from_cols`,
/// once every clause's `OF` table was found.
pub(super) fn locking(
    locks: RowLocks,
    from_cols: &[Column],
    recheck: Option<Expr>,
) -> SqlResult<Locking> {
    if let Some(c) = locks.clauses.iter().find(|c| c.of.is_some() && !c.found) {
        return Err(SqlError::Semantic {
            state: SqlState::UNDEFINED_TABLE,
            message: format!(
                "relation \"{}\" in {} clause not found in FROM clause",
                c.of.as_deref().unwrap_or_default(),
                locks.name()
            ),
        });
    }
    let targets = locks
        .tables
        .into_iter()
        .map(|(alias, table, strength, wait)| {
            let key = from_cols
                .iter()
                .position(|c| is_lock_key(c) && c.table.as_deref() == Some(alias.as_str()))
                .ok_or_else(|| SqlError::Internal(format!("row key of {alias} not in FROM")))?;
            let start = key
                .checked_sub(table.columns.len())
                .ok_or_else(|| SqlError::Internal(format!("columns of {alias} not in FROM")))?;
            Ok(LockTarget {
                table,
                alias,
                start,
                key,
                strength,
                wait,
            })
        })
        .collect::<SqlResult<_>>()?;
    Ok(Locking {
        targets,
        recheck,
        from_cols: from_cols.to_vec(),
    })
}

/// Appends the FROM row to a locking SELECT's computed columns (`exprs`,
/// `columns`), and returns how to put the LockRows node over the sorted
/// rows.
pub(super) fn carry_from_row(
    l: Locking,
    exprs: &mut Vec<Expr>,
    columns: &mut Vec<Column>,
) -> impl FnOnce(Plan) -> Plan + use<> {
    let from = exprs.len();
    let outputs = exprs.clone();
    for (i, c) in l.from_cols.iter().enumerate() {
        exprs.push(Expr::Column(i, c.ty));
        columns.push(c.clone());
    }
    move |input| Plan::LockRows {
        input: Box::new(input),
        targets: l.targets,
        from,
        recheck: l.recheck,
        outputs,
    }
}
