//! DISTINCT, DISTINCT ON and UNION / INTERSECT / EXCEPT, by hashing whole
//! rows or their keys (under grouping equality, where NULLs are equal).

use std::collections::{HashMap, HashSet};

use super::{ExecCtx, Operator, Row};
use crate::sql::error::SqlResult;
use crate::sql::plan::SetOpKind;
use crate::types::Value;

pub(super) struct Distinct {
    input: Box<dyn Operator>,
    seen: HashSet<Row>,
}

impl Distinct {
    pub(super) fn new(input: Box<dyn Operator>) -> Self {
        Distinct {
            input,
            seen: HashSet::new(),
        }
    }
}

impl Operator for Distinct {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        while let Some(row) = self.input.next(cx)? {
            if self.seen.insert(row.clone()) {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}

pub(super) struct DistinctOn {
    input: Box<dyn Operator>,
    keys: Vec<usize>,
    seen: HashSet<Vec<Value>>,
}

impl DistinctOn {
    pub(super) fn new(input: Box<dyn Operator>, keys: Vec<usize>) -> Self {
        DistinctOn {
            input,
            keys,
            seen: HashSet::new(),
        }
    }
}

impl Operator for DistinctOn {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        while let Some(row) = self.input.next(cx)? {
            let key: Vec<Value> = self
                .keys
                .iter()
                .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
                .collect();
            if self.seen.insert(key) {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}

pub(super) struct SetOp {
    kind: SetOpKind,
    all: bool,
    left: Box<dyn Operator>,
    right: Box<dyn Operator>,
    /// Right-side row counts (INTERSECT/EXCEPT), built on the first call.
    counts: Option<HashMap<Row, usize>>,
    emitted: HashSet<Row>,
    left_done: bool,
}

impl SetOp {
    pub(super) fn new(
        kind: SetOpKind,
        all: bool,
        left: Box<dyn Operator>,
        right: Box<dyn Operator>,
    ) -> Self {
        SetOp {
            kind,
            all,
            left,
            right,
            counts: None,
            emitted: HashSet::new(),
            left_done: false,
        }
    }

    fn first_time(&self, row: &Row) -> bool {
        !self.emitted.contains(row)
    }
}

impl Operator for SetOp {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        if self.kind == SetOpKind::Union {
            loop {
                let row = if self.left_done {
                    self.right.next(cx)?
                } else {
                    match self.left.next(cx)? {
                        Some(r) => Some(r),
                        None => {
                            self.left_done = true;
                            continue;
                        }
                    }
                };
                let Some(row) = row else { return Ok(None) };
                if self.all || self.first_time(&row) {
                    if !self.all {
                        self.emitted.insert(row.clone());
                    }
                    return Ok(Some(row));
                }
            }
        }
        if self.counts.is_none() {
            let mut counts = HashMap::new();
            while let Some(row) = self.right.next(cx)? {
                *counts.entry(row).or_insert(0) += 1;
            }
            self.counts = Some(counts);
        }
        while let Some(row) = self.left.next(cx)? {
            let counts = self.counts.get_or_insert_with(HashMap::new);
            let n = counts.get(&row).copied().unwrap_or(0);
            let keep = match (self.kind, self.all) {
                (SetOpKind::Intersect, true) => {
                    if n > 0 {
                        counts.insert(row.clone(), n - 1);
                    }
                    n > 0
                }
                (SetOpKind::Except, true) => {
                    if n > 0 {
                        counts.insert(row.clone(), n - 1);
                    }
                    n == 0
                }
                (SetOpKind::Intersect, false) => n > 0 && self.first_time(&row),
                _ => n == 0 && self.first_time(&row),
            };
            if keep {
                if !self.all {
                    self.emitted.insert(row.clone());
                }
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}
