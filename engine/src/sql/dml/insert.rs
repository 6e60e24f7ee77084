//! INSERT [ON CONFLICT] [RETURNING].
//!
//! ON CONFLICT names an arbiter: the primary key or a unique index whose
//! columns are the target's (or the constraint named), or, for DO NOTHING
//! without a target, every unique key. Before a row is inserted its
//! arbiter keys are looked up — a point read each; a live row there makes
//! the row skip (DO NOTHING) or update that row instead (DO UPDATE, with
//! the proposed row as `excluded`). A row updated twice by one statement
//! is an error (21000), as in PostgreSQL.

use std::collections::HashSet;
use std::sync::Arc;

use sqlparser::ast;

use super::index_expr::index_values;
use super::returning::{Returning, result};
use super::target::{checks_of, defaults_of, parse_expr, table_named, table_scope};
use super::update::{apply_sets, bind_assignments};
use super::{check_row, index_key, insert_row, row_key, update_row};
use crate::SqlState;
use crate::catalog::{IndexDef, LockStrength, LockWait, RowLock, TableDef};
use crate::extension::TriggerOperation;
use crate::sql::binder::{Binder, bind_query, ident, object_name};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::exec::{ExecCtx, Row, collect};
use crate::sql::expr::{Expr, eval, eval_predicate};
use crate::sql::hooks::Firing;
use crate::sql::plan::{Column, Plan};
use crate::sql::session::StatementResult;
use crate::types::{Value, decode_row};

/// A unique key an ON CONFLICT clause watches.
#[derive(Clone)]
enum Arbiter {
    Primary,
    Unique(IndexDef),
}

#[derive(Clone)]
enum Conflict {
    Nothing,
    Update {
        sets: Vec<(usize, Expr)>,
        filter: Option<Expr>,
    },
}

/// A bound INSERT.
#[derive(Clone)]
pub(crate) struct BoundInsert {
    pub(crate) table: Arc<TableDef>,
    pub(crate) source: Plan,
    /// For each column of the table, the position in a source row of the
    /// value it is given (`None`: it takes its default).
    sources: Vec<Option<usize>>,
    /// Each column's DEFAULT and the table's CHECKs, bound with the
    /// statement so a cached INSERT does not parse them again.
    defaults: Vec<Option<Expr>>,
    checks: Vec<(String, Expr)>,
    arbiters: Vec<Arbiter>,
    conflict: Option<Conflict>,
    returning: Option<Returning>,
}

impl BoundInsert {
    /// The columns of its RETURNING list (none without one).
    pub(crate) fn returning_columns(&self) -> Vec<crate::sql::session::ColumnDesc> {
        self.returning
            .as_ref()
            .map_or_else(Vec::new, Returning::columns)
    }
}

/// Binds an INSERT statement. A VALUES list is bound with each value
/// coerced to its target column's type, so `$1` in `VALUES ($1)` is typed
/// by the column.
pub(crate) fn bind_insert(b: &mut Binder<'_>, ins: &ast::Insert) -> SqlResult<BoundInsert> {
    let ast::TableObject::TableName(tn) = &ins.table else {
        return Err(SqlError::unsupported("INSERT into a table function"));
    };
    let table = table_named(b.catalog, tn)?;
    let alias = ins
        .table_alias
        .as_ref()
        .map_or_else(|| table.name.clone(), ident);
    let (targets, source) = bind_source(b, ins, &table)?;
    // ON CONFLICT and RETURNING see the target as `alias` and the
    // proposed row as `excluded`.
    let mut scope = table_scope(&table, &alias);
    let (arbiters, conflict) = match &ins.on {
        None => (Vec::new(), None),
        Some(ast::OnInsert::OnConflict(oc)) => {
            let arbiters = arbiters(&table, oc)?;
            let conflict = match &oc.action {
                ast::OnConflictAction::DoNothing => Conflict::Nothing,
                ast::OnConflictAction::DoUpdate(du) => {
                    if oc.conflict_target.is_none() {
                        return Err(SqlError::Syntax(
                            "ON CONFLICT DO UPDATE requires inference specification or constraint name".into(),
                        ));
                    }
                    let mut both = scope.clone();
                    both.extend(table_scope(&table, "excluded"));
                    b.scopes = vec![both];
                    let sets = bind_assignments(b, &table, &du.assignments)?;
                    let filter = du.selection.as_ref().map(|w| b.bind_expr(w)).transpose()?;
                    Conflict::Update { sets, filter }
                }
            };
            (arbiters, Some(conflict))
        }
        Some(_) => return Err(SqlError::unsupported("ON DUPLICATE KEY UPDATE")),
    };
    scope.truncate(table.columns.len());
    let returning = ins
        .returning
        .as_deref()
        .map(|items| Returning::bind(b, items, &scope, &[]))
        .transpose()?;
    let width = source.columns().len();
    let sources = (0..table.columns.len())
        .map(|i| targets.iter().position(|t| *t == i).filter(|p| *p < width))
        .collect();
    Ok(BoundInsert {
        defaults: defaults_of(&table, b.catalog)?,
        checks: checks_of(&table, b.catalog)?,
        table,
        source,
        sources,
        arbiters,
        conflict,
        returning,
    })
}

/// The target columns (positions in `table`) and the plan of the rows an
/// INSERT proposes, before defaults fill the columns it leaves out.
pub(super) fn bind_source(
    b: &mut Binder<'_>,
    ins: &ast::Insert,
    table: &TableDef,
) -> SqlResult<(Vec<usize>, Plan)> {
    let targets: Vec<usize> = if ins.columns.is_empty() {
        (0..table.columns.len()).collect()
    } else {
        let mut seen = Vec::new();
        for c in &ins.columns {
            let n = ident(c);
            let i = table.column_index(&n).ok_or_else(|| {
                SqlError::UndefinedColumn(format!(
                    "column \"{n}\" of relation \"{}\" does not exist",
                    table.name
                ))
            })?;
            if seen.contains(&i) {
                return Err(SqlError::DuplicateColumn(format!(
                    "column \"{n}\" specified more than once"
                )));
            }
            seen.push(i);
        }
        seen
    };
    let source = match ins.source.as_deref() {
        // DEFAULT VALUES: one row of nothing, every column its default.
        None => Plan::Values {
            rows: vec![vec![]],
            columns: vec![],
        },
        Some(source) => match source.body.as_ref() {
            ast::SetExpr::Values(v)
                if source.order_by.is_none() && source.limit_clause.is_none() =>
            {
                bind_values_for(b, v, table, &targets, !ins.columns.is_empty())?
            }
            _ => bind_query(b, source)?,
        },
    };
    let width = source.columns().len();
    if width > targets.len() {
        return Err(SqlError::Syntax(
            "INSERT has more expressions than target columns".into(),
        ));
    }
    Ok((targets, source))
}

/// `VALUES` rows with each value coerced to the column it goes into.
fn bind_values_for(
    b: &mut Binder<'_>,
    v: &ast::Values,
    table: &TableDef,
    targets: &[usize],
    explicit: bool,
) -> SqlResult<Plan> {
    let width = v.rows.first().map_or(0, Vec::len);
    let mut rows = Vec::with_capacity(v.rows.len());
    b.scopes.push(Vec::new());
    let bound = (|| {
        for row in &v.rows {
            if row.len() != width {
                return Err(SqlError::Syntax(
                    "VALUES lists must all be the same length".into(),
                ));
            }
            if row.len() > targets.len() {
                return Err(SqlError::Syntax(
                    "INSERT has more expressions than target columns".into(),
                ));
            }
            // Only a column list written out must be filled; without one,
            // trailing columns take their defaults.
            if explicit && row.len() < targets.len() {
                return Err(SqlError::Syntax(
                    "INSERT has more target columns than expressions".into(),
                ));
            }
            let mut out = Vec::with_capacity(width);
            for (e, t) in row.iter().zip(targets) {
                let ty = table.columns[*t].ty;
                let bound = match e {
                    // The DEFAULT keyword: the column's default, or NULL.
                    ast::Expr::Identifier(i)
                        if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default") =>
                    {
                        match &table.columns[*t].default {
                            Some(d) => b.bind_expr(&parse_expr(d)?)?,
                            None => Expr::Literal(Value::Null, ty),
                        }
                    }
                    e => b.bind_expr(e)?,
                };
                out.push(b.assign_to_column(bound, ty, &table.columns[*t].name)?);
            }
            rows.push(out);
        }
        Ok(())
    })();
    b.scopes.pop();
    bound?;
    let columns = targets
        .iter()
        .take(width)
        .enumerate()
        .map(|(i, t)| Column {
            name: format!("column{}", i + 1),
            table: None,
            ty: table.columns[*t].ty,
        })
        .collect();
    Ok(Plan::Values { rows, columns })
}

/// The unique keys an ON CONFLICT clause arbitrates on.
fn arbiters(table: &TableDef, oc: &ast::OnConflict) -> SqlResult<Vec<Arbiter>> {
    let all = || {
        let mut v = Vec::new();
        if table.primary_key.is_some() {
            v.push(Arbiter::Primary);
        }
        v.extend(
            table
                .indexes
                .iter()
                .filter(|i| i.unique)
                .cloned()
                .map(Arbiter::Unique),
        );
        v
    };
    let none_matches = || SqlError::Semantic {
        state: SqlState::INVALID_COLUMN_REFERENCE,
        message:
            "there is no unique or exclusion constraint matching the ON CONFLICT specification"
                .into(),
    };
    match &oc.conflict_target {
        None => Ok(all()),
        Some(ast::ConflictTarget::Columns(cols)) => {
            let mut wanted = Vec::new();
            for c in cols {
                let n = ident(c);
                wanted.push(table.column_index(&n).ok_or_else(|| {
                    SqlError::UndefinedColumn(format!("column \"{n}\" does not exist"))
                })?);
            }
            wanted.sort_unstable();
            let same = |cols: &[usize]| {
                let mut c = cols.to_vec();
                c.sort_unstable();
                c == wanted
            };
            let mut found = Vec::new();
            if table.primary_key.as_ref().is_some_and(|k| same(&k.columns)) {
                found.push(Arbiter::Primary);
            }
            for i in table
                .indexes
                .iter()
                .filter(|i| i.unique && !i.on_expressions() && same(&i.columns))
            {
                found.push(Arbiter::Unique(i.clone()));
            }
            if found.is_empty() {
                return Err(none_matches());
            }
            Ok(found)
        }
        Some(ast::ConflictTarget::OnConstraint(n)) => {
            let name = object_name(n)?;
            if table.primary_key.as_ref().is_some_and(|k| k.name == name) {
                return Ok(vec![Arbiter::Primary]);
            }
            match table.indexes.iter().find(|i| i.unique && i.name == name) {
                Some(i) => Ok(vec![Arbiter::Unique(i.clone())]),
                None => Err(SqlError::Semantic {
                    state: SqlState::UNDEFINED_OBJECT,
                    message: format!(
                        "constraint \"{name}\" for table \"{}\" does not exist",
                        table.name
                    ),
                }),
            }
        }
    }
}

/// The live row (key, values) that `row` collides with on an arbiter: in
/// the statement's snapshot, or with `current` as a constraint check sees
/// it (under READ COMMITTED also a row committed since the snapshot; above
/// it such a row fails with 40001).
fn find_conflict(
    table: &TableDef,
    arbiters: &[Arbiter],
    row: &[Value],
    current: bool,
    cx: &mut ExecCtx<'_>,
) -> SqlResult<Option<(Vec<u8>, Row)>> {
    let get = |key: &[u8], cx: &mut ExecCtx<'_>| {
        if current {
            cx.txn.get_current(key)
        } else {
            cx.txn.get(key)
        }
    };
    for a in arbiters {
        let key = match a {
            Arbiter::Primary => match row_key(table, row) {
                Some(k) => k,
                None => continue,
            },
            Arbiter::Unique(index) => {
                // Only entries without NULLs are keyed by value alone (and
                // rows with a NULL in the key never conflict).
                let values = index_values(table, index, row, cx)?;
                let (ikey, enforced) = index_key(index, &values, &[]);
                if !enforced {
                    continue;
                }
                match get(&ikey, cx)? {
                    Some(row_key) => row_key,
                    None => continue,
                }
            }
        };
        if let Some(bytes) = get(&key, cx)? {
            let existing = decode_row(&bytes, &table.types())?;
            return Ok(Some((key, existing)));
        }
    }
    Ok(None)
}

/// The rows an INSERT proposes. A VALUES list is evaluated where it lies:
/// the executor's operator would copy every row's expressions first, which
/// a trigger's one-row INSERT, run once per row, paid for each time.
fn source_rows(source: &Plan, cx: &mut ExecCtx<'_>) -> SqlResult<Vec<Row>> {
    let Plan::Values { rows, .. } = source else {
        return collect(source, cx);
    };
    let mut out = Vec::with_capacity(rows.len());
    for exprs in rows {
        cx.check_cancel()?;
        let mut row = Vec::with_capacity(exprs.len());
        for e in exprs {
            row.push(eval(e, &[], cx)?);
        }
        out.push(row);
    }
    Ok(out)
}

/// Runs a bound INSERT. The source is read in full first, so an
/// `INSERT INTO t SELECT ... FROM t` does not see its own rows.
///
/// Triggers fire as in PostgreSQL: BEFORE INSERT row triggers on each
/// proposed row (before its arbiter is looked up, so ON CONFLICT judges
/// the row they return); on a conflict DO UPDATE, the UPDATE triggers of
/// the row it changes instead; constraints after the BEFORE triggers.
pub(crate) fn run_insert(
    ins: &BoundInsert,
    cx: &mut ExecCtx<'_>,
    fire: &mut Firing<'_, '_>,
) -> SqlResult<StatementResult> {
    let (count, returning) = insert_rows(ins, cx, fire)?;
    Ok(result(returning, format!("INSERT 0 {count}")))
}

/// [`run_insert`] without its result: the rows written (inserted or, by
/// ON CONFLICT DO UPDATE, updated) and the RETURNING rows gathered.
pub(crate) fn insert_rows(
    ins: &BoundInsert,
    cx: &mut ExecCtx<'_>,
    fire: &mut Firing<'_, '_>,
) -> SqlResult<(u64, Option<Returning>)> {
    let BoundInsert {
        table,
        source,
        sources,
        defaults,
        checks,
        arbiters,
        conflict,
        returning,
    } = ins;
    let mut returning = returning.clone();
    let (operations, assigned) = match conflict {
        Some(Conflict::Update { sets, .. }) => (
            vec![TriggerOperation::Insert, TriggerOperation::Update],
            sets.iter().map(|(i, _)| *i).collect(),
        ),
        _ => (vec![TriggerOperation::Insert], Vec::new()),
    };
    let mut fire = fire.open(cx, table, &operations, &assigned)?;
    fire.before_statement(cx)?;
    let rows = source_rows(source, cx)?;
    let mut count = 0u64;
    let mut updated: HashSet<Vec<u8>> = HashSet::new();
    let mut inserted: HashSet<Vec<u8>> = HashSet::new();
    for mut src in rows {
        let mut row = Vec::with_capacity(table.columns.len());
        for (i, c) in table.columns.iter().enumerate() {
            let v = match sources[i] {
                // Each source value goes to one column, so it is moved.
                Some(p) => src
                    .get_mut(p)
                    .map_or(Value::Null, |v| std::mem::replace(v, Value::Null)),
                None => match &defaults[i] {
                    Some(d) => eval(d, &[], cx)?,
                    None => Value::Null,
                },
            };
            row.push(if v.is_null() { v } else { v.assign(&c.ty)? });
        }
        let Some(row) = fire.before_row(cx, TriggerOperation::Insert, None, row)? else {
            continue;
        };
        // A row the snapshot does not show may collide with one a
        // concurrent transaction committed (the insert waited for it):
        // then the arbiters are asked again of what is committed now, as
        // PostgreSQL's ON CONFLICT does.
        let mut current = false;
        'arbitrate: loop {
            if let Some(conflict) = conflict
                && let Some((key, existing)) = find_conflict(table, arbiters, &row, current, cx)?
            {
                let Conflict::Update { sets, filter } = conflict else {
                    break 'arbitrate;
                };
                // DO UPDATE changes the newest version of the row (READ
                // COMMITTED) once it holds the row's lock.
                let existing = match cx
                    .txn
                    .lock_row(&key, LockStrength::Update, LockWait::Block)?
                {
                    RowLock::Unchanged | RowLock::Skipped => existing,
                    RowLock::Changed(Some(bytes)) => decode_row(&bytes, &table.types())?,
                    RowLock::Changed(None) => {
                        current = true;
                        continue 'arbitrate;
                    }
                };
                if updated.contains(&key) || inserted.contains(&key) {
                    return Err(SqlError::Data {
                        state: SqlState::CARDINALITY_VIOLATION,
                        message: "ON CONFLICT DO UPDATE command cannot affect row a second time"
                            .into(),
                    });
                }
                let mut both = existing.clone();
                both.extend(row.iter().cloned());
                if let Some(f) = filter
                    && !eval_predicate(f, &both, cx)?
                {
                    break 'arbitrate;
                }
                let new = apply_sets(table, &existing, &both, sets, cx)?;
                let Some(new) =
                    fire.before_row(cx, TriggerOperation::Update, Some(&existing), new)?
                else {
                    break 'arbitrate;
                };
                check_row(table, &new, checks, cx)?;
                update_row(table, &key, &existing, &new, cx)?;
                updated.insert(row_key(table, &new).unwrap_or(key));
                fire.after_row(cx, TriggerOperation::Update, Some(&existing), Some(&new))?;
                if let Some(r) = returning.as_mut() {
                    r.push(&new, cx)?;
                }
                count += 1;
                break 'arbitrate;
            }
            check_row(table, &row, checks, cx)?;
            let Some(key) = insert_row(table, &row, cx)? else {
                if conflict.is_some() && !current {
                    current = true;
                    continue 'arbitrate;
                }
                let name = table
                    .primary_key
                    .as_ref()
                    .map_or_else(String::new, |p| p.name.clone());
                return Err(SqlError::UniqueViolation(name));
            };
            if conflict.is_some() {
                inserted.insert(key);
            }
            fire.after_row(cx, TriggerOperation::Insert, None, Some(&row))?;
            if let Some(r) = returning.as_mut() {
                r.push(&row, cx)?;
            }
            count += 1;
            break 'arbitrate;
        }
    }
    fire.after_statement(cx)?;
    Ok((count, returning))
}
