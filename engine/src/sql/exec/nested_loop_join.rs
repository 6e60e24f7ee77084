//! Joins. The right input is read once into memory; with equality keys it
//! is hashed on them (a hash join), otherwise every left row is tested
//! against every right row (nested loops). Outer joins pad the missing
//! side with NULLs; RIGHT and FULL remember which right rows matched.

use std::collections::HashMap;

use super::{ExecCtx, Operator, Row};
use crate::sql::error::SqlResult;
use crate::sql::expr::{Expr, eval, eval_predicate};
use crate::sql::plan::JoinKind;
use crate::types::Value;

pub(super) struct NestedLoopJoin {
    kind: JoinKind,
    left: Box<dyn Operator>,
    right: Box<dyn Operator>,
    on: Option<Expr>,
    equi: Vec<(Expr, Expr)>,
    right_width: usize,
    left_width: usize,
    right_rows: Option<Vec<Row>>,
    right_matched: Vec<bool>,
    buckets: HashMap<Vec<Value>, Vec<usize>>,
    pending: std::vec::IntoIter<Row>,
    left_done: bool,
}

impl NestedLoopJoin {
    pub(super) fn new(
        kind: JoinKind,
        left: Box<dyn Operator>,
        right: Box<dyn Operator>,
        on: Option<Expr>,
        equi: Vec<(Expr, Expr)>,
        right_width: usize,
        left_width: usize,
    ) -> Self {
        NestedLoopJoin {
            kind,
            left,
            right,
            on,
            equi,
            right_width,
            left_width,
            right_rows: None,
            right_matched: Vec::new(),
            buckets: HashMap::new(),
            pending: Vec::new().into_iter(),
            left_done: false,
        }
    }

    fn build(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<()> {
        let mut rows = Vec::new();
        while let Some(r) = self.right.next(cx)? {
            cx.check_cancel()?;
            if !self.equi.is_empty() {
                let mut key = Vec::with_capacity(self.equi.len());
                for (_, e) in &self.equi {
                    key.push(eval(e, &r, cx)?);
                }
                // A NULL key equals nothing.
                if !key.iter().any(Value::is_null) {
                    self.buckets.entry(key).or_default().push(rows.len());
                }
            }
            rows.push(r);
        }
        self.right_matched = vec![false; rows.len()];
        self.right_rows = Some(rows);
        Ok(())
    }

    fn candidates(&self, left: &Row, cx: &mut ExecCtx<'_>) -> SqlResult<Vec<usize>> {
        let n = self.right_rows.as_ref().map_or(0, Vec::len);
        if self.equi.is_empty() {
            return Ok((0..n).collect());
        }
        let mut key = Vec::with_capacity(self.equi.len());
        for (e, _) in &self.equi {
            key.push(eval(e, left, cx)?);
        }
        Ok(self.buckets.get(&key).cloned().unwrap_or_default())
    }
}

impl Operator for NestedLoopJoin {
    fn next(&mut self, cx: &mut ExecCtx<'_>) -> SqlResult<Option<Row>> {
        if self.right_rows.is_none() {
            self.build(cx)?;
        }
        loop {
            if let Some(row) = self.pending.next() {
                return Ok(Some(row));
            }
            if self.left_done {
                return Ok(None);
            }
            let Some(left) = self.left.next(cx)? else {
                self.left_done = true;
                let mut tail = Vec::new();
                if matches!(self.kind, JoinKind::Right | JoinKind::Full) {
                    let rows = self.right_rows.as_deref().unwrap_or(&[]);
                    for (i, r) in rows.iter().enumerate() {
                        if !self.right_matched[i] {
                            let mut out = vec![Value::Null; self.left_width];
                            out.extend(r.iter().cloned());
                            tail.push(out);
                        }
                    }
                }
                self.pending = tail.into_iter();
                continue;
            };
            cx.check_cancel()?;
            let mut out = Vec::new();
            for i in self.candidates(&left, cx)? {
                let Some(right) = self.right_rows.as_ref().and_then(|r| r.get(i)) else {
                    continue;
                };
                let mut joined = left.clone();
                joined.extend(right.iter().cloned());
                let pass = match &self.on {
                    Some(on) => eval_predicate(on, &joined, cx)?,
                    None => true,
                };
                if pass {
                    self.right_matched[i] = true;
                    out.push(joined);
                }
            }
            if out.is_empty() && matches!(self.kind, JoinKind::Left | JoinKind::Full) {
                let mut joined = left;
                joined.extend(std::iter::repeat_n(Value::Null, self.right_width));
                out.push(joined);
            }
            self.pending = out.into_iter();
        }
    }
}
