//! `ANALYZE [VERBOSE] [table [(column, …)] [, …]]`: reads each table once
//! and records planner statistics in the catalog (`catalog::stats`).
//!
//! Every row is counted and its non-NULL values compared for the minimum
//! and maximum; distinct values and the most common ones come from a
//! uniform sample of at most [`SAMPLE_ROWS`] rows (reservoir sampling with
//! a fixed seed, so a rerun over the same data gives the same numbers).
//! When the sample is not the whole table, the number of distinct values
//! is extrapolated with the Haas–Stokes estimator, as PostgreSQL does.
//! A column list is accepted, but every column is analyzed: the record is
//! per table. The statistics are written in the statement's transaction.

use std::collections::HashMap;
use std::sync::Arc;

use sqlparser::ast::ObjectName;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{IsOptional, Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::binder::object_name;
use super::dml::target::table_scope;
use super::error::{SqlError, SqlResult};
use super::exec::{ExecCtx, build};
use super::parser::Statement;
use super::plan::Plan;
use super::session::StatementResult;
use crate::catalog::{CatalogWriter, ColumnStats, TableDef, TableStats};
use crate::types::Value;

/// Rows kept in the sample the per-value statistics are computed from.
pub(crate) const SAMPLE_ROWS: usize = 30_000;
/// Most common values kept per column.
const MCV_LIMIT: usize = 10;

/// Parses ANALYZE; the parser stands on `ANALYZE`. sqlparser's form is
/// Hive's (one table, required), PostgreSQL's takes none or a list.
pub(crate) fn parse_analyze(parser: &mut Parser<'_>) -> Result<Statement, ParserError> {
    parser.expect_keyword(Keyword::ANALYZE)?;
    if parser.consume_token(&Token::LParen) {
        // `(VERBOSE [bool], SKIP_LOCKED …)`: options change nothing here.
        loop {
            parser.parse_identifier()?;
            if !matches!(parser.peek_token().token, Token::Comma | Token::RParen) {
                parser.next_token();
            }
            if !parser.consume_token(&Token::Comma) {
                break;
            }
        }
        parser.expect_token(&Token::RParen)?;
    }
    let _ = parser.parse_keyword(Keyword::VERBOSE);
    let mut tables = Vec::new();
    if matches!(parser.peek_token().token, Token::Word(_)) {
        loop {
            tables.push(parser.parse_object_name(false)?);
            let _ = parser.parse_parenthesized_column_list(IsOptional::Optional, false)?;
            if !parser.consume_token(&Token::Comma) {
                break;
            }
        }
    }
    Ok(Statement::Analyze { tables })
}

/// Runs ANALYZE over `tables`, or every table when none is named.
pub(crate) fn execute(tables: &[ObjectName], cx: &mut ExecCtx<'_>) -> SqlResult<StatementResult> {
    let targets: Vec<Arc<TableDef>> = if tables.is_empty() {
        let mut all: Vec<Arc<TableDef>> = cx.catalog.tables().cloned().collect();
        all.sort_by_key(|t| t.id);
        all
    } else {
        tables
            .iter()
            .map(|n| {
                let name = object_name(n)?;
                cx.catalog
                    .table(&name)
                    .cloned()
                    .ok_or(SqlError::UndefinedTable(name))
            })
            .collect::<SqlResult<_>>()?
    };
    for t in targets {
        let stats = analyze_table(&t, cx)?;
        CatalogWriter::new(cx.txn).put_stats(t.id, &stats)?;
    }
    Ok(StatementResult::Command("ANALYZE".into()))
}

/// A small deterministic generator (xorshift64*) for the reservoir.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// One pass over the table: exact count, NULLs, min and max; a sample.
pub(crate) fn analyze_table(table: &Arc<TableDef>, cx: &mut ExecCtx<'_>) -> SqlResult<TableStats> {
    let width = table.columns.len();
    let scan = Plan::Scan {
        table: table.clone(),
        alias: table.name.clone(),
        filter: None,
        columns: table_scope(table, &table.name),
    };
    let mut op = build(&scan);
    let mut rows: u64 = 0;
    let mut nulls = vec![0u64; width];
    let mut min: Vec<Option<Value>> = vec![None; width];
    let mut max: Vec<Option<Value>> = vec![None; width];
    let mut sample: Vec<Vec<Value>> = Vec::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    while let Some(row) = op.next(cx)? {
        cx.check_cancel()?;
        rows += 1;
        for (i, v) in row.iter().enumerate().take(width) {
            if v.is_null() {
                nulls[i] += 1;
                continue;
            }
            if min[i].as_ref().is_none_or(|m| v.total_cmp(m).is_lt()) {
                min[i] = Some(v.clone());
            }
            if max[i].as_ref().is_none_or(|m| v.total_cmp(m).is_gt()) {
                max[i] = Some(v.clone());
            }
        }
        if sample.len() < SAMPLE_ROWS {
            sample.push(row);
        } else {
            let j = rng.below(rows) as usize;
            if let Some(slot) = sample.get_mut(j) {
                *slot = row;
            }
        }
    }
    let complete = sample.len() as u64 == rows;
    let columns = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let null_frac = if rows == 0 {
                0.0
            } else {
                nulls[i] as f64 / rows as f64
            };
            let (n_distinct, most_common) = distinct(
                sample.iter().filter_map(|r| r.get(i)),
                rows - nulls[i],
                complete,
                rows,
            );
            Some(ColumnStats {
                name: c.name.clone(),
                ty: c.ty,
                null_frac,
                n_distinct,
                min: min[i].take(),
                max: max[i].take(),
                most_common,
            })
        })
        .collect();
    Ok(TableStats {
        row_count: rows,
        columns,
    })
}

/// Distinct values and most common values of one column's sample.
/// `total` is the column's non-NULL count over the whole table.
fn distinct<'a>(
    values: impl Iterator<Item = &'a Value>,
    total: u64,
    complete: bool,
    rows: u64,
) -> (f64, Vec<(Value, f64)>) {
    let mut counts: HashMap<&Value, u64> = HashMap::new();
    let mut n: u64 = 0;
    for v in values.filter(|v| !v.is_null()) {
        *counts.entry(v).or_default() += 1;
        n += 1;
    }
    if n == 0 {
        return (0.0, Vec::new());
    }
    let d = counts.len() as f64;
    let f1 = counts.values().filter(|c| **c == 1).count() as f64;
    let (nf, big_n) = (n as f64, total as f64);
    let n_distinct = if complete {
        d
    } else if f1 >= nf {
        // Every sampled value was unique: assume the column is.
        big_n
    } else {
        // Haas–Stokes: n·d / (n − f1 + f1·n/N).
        (nf * d / (nf - f1 + f1 * nf / big_n)).clamp(d, big_n)
    };
    // A value is common when it repeats and beats the average frequency
    // by a quarter (PostgreSQL's rule); only those sharpen estimates.
    let average = nf / d;
    let mut common: Vec<(&Value, u64)> = counts
        .into_iter()
        .filter(|(_, c)| *c > 1 && *c as f64 > average * 1.25 || complete && d <= MCV_LIMIT as f64)
        .collect();
    common.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.total_cmp(b.0)));
    common.truncate(MCV_LIMIT);
    // Each value's share of all rows: of the sampled non-NULL values,
    // scaled by the non-NULL fraction of the table.
    let rows = rows.max(1) as f64;
    let most_common = common
        .into_iter()
        .map(|(v, c)| (v.clone(), c as f64 * big_n / (nf * rows)))
        .collect();
    (n_distinct, most_common)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_counts_are_exact_over_a_complete_sample() {
        let vals: Vec<Value> = [1, 1, 1, 2, 3].iter().map(|i| Value::Int4(*i)).collect();
        let (d, mcv) = distinct(vals.iter(), 5, true, 5);
        assert_eq!(d, 3.0);
        assert_eq!(mcv[0], (Value::Int4(1), 0.6));
        assert_eq!(mcv.len(), 3);
    }

    #[test]
    fn distinct_counts_extrapolate_from_a_partial_sample() {
        // A sample of 100 all-different values out of 10 000 rows.
        let vals: Vec<Value> = (0..100).map(Value::Int4).collect();
        let (d, mcv) = distinct(vals.iter(), 10_000, false, 10_000);
        assert_eq!(d, 10_000.0);
        assert!(mcv.is_empty());
        // 100 rows over 10 values, each seen 10 times: few distinct.
        let vals: Vec<Value> = (0..100).map(|i| Value::Int4(i % 10)).collect();
        let (d, _) = distinct(vals.iter(), 10_000, false, 10_000);
        assert!((10.0..11.0).contains(&d), "{d}");
    }
}
