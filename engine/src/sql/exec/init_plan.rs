//! Results of uncorrelated subqueries, kept for the rest of one execution
//! of a statement: PostgreSQL's InitPlans and hashed SubPlans. A subquery
//! that reads no row of a query around it yields the same rows for every
//! row it is evaluated on, so it runs once — its volatile functions
//! included, as in PostgreSQL — and `x IN (SELECT …)` probes a hash set.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::sql::plan::Plan;
use crate::types::Value;

/// What a subquery's evaluation keeps between rows.
#[derive(Clone)]
pub(crate) enum InitPlan {
    /// It reads an enclosing row: it runs for every row.
    Correlated,
    /// EXISTS, a scalar subquery or ARRAY(…): its value.
    Value(Value),
    /// `x op ANY / ALL (…)`: the values of its rows.
    Rows(Arc<[Value]>),
    /// `x IN (…)`: its values, hashed.
    Set(Arc<InSet>),
    /// `(x, y) IN (…)`: its rows.
    Table(Arc<[Vec<Value>]>),
}

/// The values of an `IN` subquery, for probing with SQL's three-valued
/// logic.
pub(crate) struct InSet {
    values: HashSet<Value>,
    has_null: bool,
}

impl InSet {
    pub(crate) fn new(values: impl Iterator<Item = Value>) -> InSet {
        let mut has_null = false;
        let values = values
            .filter(|v| {
                has_null |= v.is_null();
                !v.is_null()
            })
            .collect();
        InSet { values, has_null }
    }

    /// `v IN (set)`, or `v NOT IN (set)` when `negated`: false for an
    /// empty set whatever `v` is; otherwise true on a match, and NULL when
    /// nothing matched but `v` or a value of the set is NULL.
    pub(crate) fn probe(&self, v: &Value, negated: bool) -> Value {
        if self.values.is_empty() && !self.has_null {
            return Value::Bool(negated);
        }
        if v.is_null() {
            return Value::Null;
        }
        if self.values.contains(v) {
            Value::Bool(!negated)
        } else if self.has_null {
            Value::Null
        } else {
            Value::Bool(negated)
        }
    }
}

/// Which of a subquery's results an entry holds: one plan could be shared
/// by expressions of different kinds.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum InitPlanKind {
    /// EXISTS
    Exists,
    /// A scalar subquery
    Scalar,
    /// ARRAY(…)
    Array,
    /// ANY / ALL
    Rows,
    /// IN
    Set,
    /// Row-valued IN
    Table,
}

/// The entries of one execution, by subquery plan.
#[derive(Default)]
pub(crate) struct InitPlans {
    /// Keyed by the plan's address; the entry holds the plan so that the
    /// address cannot be reused by another plan while the entry lives.
    entries: HashMap<(usize, InitPlanKind), (Arc<Plan>, InitPlan)>,
}

impl InitPlans {
    pub(crate) fn get(&self, plan: &Arc<Plan>, kind: InitPlanKind) -> Option<InitPlan> {
        self.entries
            .get(&(Arc::as_ptr(plan) as usize, kind))
            .map(|(_, e)| e.clone())
    }

    pub(crate) fn insert(&mut self, plan: &Arc<Plan>, kind: InitPlanKind, entry: InitPlan) {
        self.entries
            .insert((Arc::as_ptr(plan) as usize, kind), (plan.clone(), entry));
    }
}

#[cfg(test)]
mod tests {
    use super::InSet;
    use crate::types::Value;

    fn set(values: &[Value]) -> InSet {
        InSet::new(values.iter().cloned())
    }

    #[test]
    fn in_set_follows_three_valued_logic() {
        let with_null = set(&[Value::Int4(1), Value::Null]);
        assert_eq!(with_null.probe(&Value::Int4(1), false), Value::Bool(true));
        assert_eq!(with_null.probe(&Value::Int4(2), false), Value::Null);
        assert_eq!(with_null.probe(&Value::Int4(2), true), Value::Null);
        assert_eq!(with_null.probe(&Value::Null, false), Value::Null);

        let plain = set(&[Value::Int4(1), Value::Int4(3)]);
        assert_eq!(plain.probe(&Value::Int4(3), false), Value::Bool(true));
        assert_eq!(plain.probe(&Value::Int4(2), false), Value::Bool(false));
        assert_eq!(plain.probe(&Value::Int4(2), true), Value::Bool(true));
        assert_eq!(plain.probe(&Value::Null, true), Value::Null);
    }

    #[test]
    fn empty_set_holds_nothing_not_even_null() {
        let empty = set(&[]);
        assert_eq!(empty.probe(&Value::Null, false), Value::Bool(false));
        assert_eq!(empty.probe(&Value::Null, true), Value::Bool(true));
        assert_eq!(empty.probe(&Value::Int4(1), false), Value::Bool(false));
    }

    #[test]
    fn numbers_match_across_types() {
        let s = set(&[Value::Int8(2), Value::Float8(2.5)]);
        assert_eq!(s.probe(&Value::Int4(2), false), Value::Bool(true));
        assert_eq!(
            s.probe(&Value::Numeric("2.50".parse().unwrap()), false),
            Value::Bool(true)
        );
    }
}
