//! `pg_stats`: the statistics ANALYZE recorded, one row per analyzed
//! column, in PostgreSQL's layout. Arrays (`most_common_vals`,
//! `most_common_freqs`, `histogram_bounds`) are shown in their text form;
//! the histogram is the single bucket from the column's minimum to its
//! maximum, which is what RustyDB keeps.

use crate::catalog::Catalog;
use crate::types::{DataType as T, Value};

use super::super::error::SqlResult;
use super::{Relation, text};

/// `{a,b,c}` with PostgreSQL's quoting of array elements.
fn array_text(items: impl Iterator<Item = String>) -> String {
    let quoted: Vec<String> = items
        .map(|s| {
            let plain = !s.is_empty()
                && !s.eq_ignore_ascii_case("null")
                && !s.chars().any(|c| "{},\"\\ ".contains(c));
            if plain {
                s
            } else {
                format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
            }
        })
        .collect();
    format!("{{{}}}", quoted.join(","))
}

fn value_text(v: &Value) -> String {
    v.to_pg_text().unwrap_or_default()
}

pub(super) fn pg_stats(catalog: &Catalog) -> SqlResult<Relation> {
    let mut r = Relation::new(&[
        ("schemaname", T::Text),
        ("tablename", T::Text),
        ("attname", T::Text),
        ("inherited", T::Bool),
        ("null_frac", T::Float4),
        ("n_distinct", T::Float4),
        ("most_common_vals", T::Text),
        ("most_common_freqs", T::Text),
        ("histogram_bounds", T::Text),
    ]);
    let mut tables: Vec<_> = catalog.tables().collect();
    tables.sort_by_key(|t| t.id);
    for t in tables {
        let Some(stats) = catalog.stats(t.id) else {
            continue;
        };
        let rows = stats.row_count as f64;
        for (i, col) in t.columns.iter().enumerate() {
            let Some(s) = stats.column(i) else { continue };
            // PostgreSQL shows a count that grows with the table as a
            // negative fraction of the rows (-1: every value distinct).
            let n_distinct = if rows > 0.0 && s.n_distinct >= 0.1 * rows {
                -(s.n_distinct / rows)
            } else {
                s.n_distinct
            };
            let (vals, freqs) = if s.most_common.is_empty() {
                (Value::Null, Value::Null)
            } else {
                (
                    text(array_text(s.most_common.iter().map(|(v, _)| value_text(v)))),
                    text(array_text(
                        s.most_common.iter().map(|(_, f)| format!("{}", *f as f32)),
                    )),
                )
            };
            let histogram = match (&s.min, &s.max) {
                (Some(lo), Some(hi)) => {
                    text(array_text([value_text(lo), value_text(hi)].into_iter()))
                }
                _ => Value::Null,
            };
            r.push(vec![
                text("public"),
                text(t.name.clone()),
                text(col.name.clone()),
                Value::Bool(false),
                Value::Float4(s.null_frac as f32),
                Value::Float4(n_distinct as f32),
                vals,
                freqs,
                histogram,
            ])?;
        }
    }
    Ok(r)
}
