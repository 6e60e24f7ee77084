//! Planner statistics written by ANALYZE: per table a row count, and per
//! column the fraction of NULLs, the number of distinct values, the
//! smallest and largest value and the most common values with their
//! frequencies.
//!
//! A table's statistics are one catalog record (`00 06 <table id>`),
//! written in the ANALYZE's transaction, so they commit or roll back with
//! it and a concurrent session keeps planning with what it saw before.
//! Columns are recorded by name and type: a column dropped, renamed or
//! retyped since the ANALYZE simply has no statistics (the table's row
//! count stays useful).
//!
//! Record layout: the row count (u64), the column count (u32), then per
//! column three length-prefixed rows in the storage row encoding: the
//! header `(name text, type text, null_frac float8, n_distinct float8)`,
//! the values `(min, max, mcv…)` of the column's type, and the MCV
//! frequencies `(float8…)`.

use super::error::{CatalogError, CatalogResult};
use super::schema::TableDef;
use crate::types::{DataType, Value, decode_row, encode_row};

/// What ANALYZE learned about a table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableStats {
    /// Live rows counted.
    pub row_count: u64,
    /// One entry per column of the table, by position; `None` for a
    /// column ANALYZE did not see (added, renamed or retyped later).
    pub columns: Vec<Option<ColumnStats>>,
}

/// What ANALYZE learned about one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnStats {
    /// The column's name when analyzed.
    pub name: String,
    /// Its type when analyzed.
    pub ty: DataType,
    /// Fraction of rows where the column is NULL.
    pub null_frac: f64,
    /// Estimated number of distinct non-NULL values.
    pub n_distinct: f64,
    /// Smallest non-NULL value.
    pub min: Option<Value>,
    /// Largest non-NULL value.
    pub max: Option<Value>,
    /// Most common values, most frequent first, with the fraction of all
    /// rows each one makes up.
    pub most_common: Vec<(Value, f64)>,
}

impl TableStats {
    /// The statistics of column `position`, if ANALYZE saw it.
    pub fn column(&self, position: usize) -> Option<&ColumnStats> {
        self.columns.get(position).and_then(Option::as_ref)
    }
}

fn framed(values: &[Value], out: &mut Vec<u8>) {
    let mut row = Vec::new();
    encode_row(values, &mut row);
    out.extend_from_slice(&u32::try_from(row.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&row);
}

/// The record bytes of `stats`.
pub(super) fn encode(stats: &TableStats) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&stats.row_count.to_be_bytes());
    let present: Vec<&ColumnStats> = stats.columns.iter().flatten().collect();
    out.extend_from_slice(
        &u32::try_from(present.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for c in present {
        framed(
            &[
                Value::Text(c.name.clone()),
                Value::Text(c.ty.to_string()),
                Value::Float8(c.null_frac),
                Value::Float8(c.n_distinct),
            ],
            &mut out,
        );
        let mut values = vec![
            c.min.clone().unwrap_or(Value::Null),
            c.max.clone().unwrap_or(Value::Null),
        ];
        values.extend(c.most_common.iter().map(|(v, _)| v.clone()));
        framed(&values, &mut out);
        let freqs: Vec<Value> = c
            .most_common
            .iter()
            .map(|(_, f)| Value::Float8(*f))
            .collect();
        framed(&freqs, &mut out);
    }
    out
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> CatalogResult<&'a [u8]> {
        if self.0.len() < n {
            return Err(CatalogError::Corrupt("truncated statistics record"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u32(&mut self) -> CatalogResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> CatalogResult<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    fn row(&mut self, types: &[DataType]) -> CatalogResult<Vec<Value>> {
        let n = self.u32()? as usize;
        let bytes = self.take(n)?;
        let row = decode_row(bytes, types)
            .map_err(|_| CatalogError::Corrupt("statistics values do not decode"))?;
        if row.len() != types.len() {
            return Err(CatalogError::Corrupt("statistics row has the wrong width"));
        }
        Ok(row)
    }
    /// The column count of the next framed row, read without consuming it.
    fn peek_width(&self) -> CatalogResult<usize> {
        let body = self
            .0
            .get(4..)
            .ok_or(CatalogError::Corrupt("truncated statistics record"))?;
        // A row starts with its column count as a varint.
        let mut n = 0usize;
        for (i, b) in body.iter().enumerate().take(5) {
            n |= usize::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(CatalogError::Corrupt("bad statistics row width"))
    }
}

fn float(v: &Value) -> f64 {
    match v {
        Value::Float8(f) => *f,
        _ => 0.0,
    }
}

/// Decodes a record for `table` as it is now: columns matched by name and
/// type, the rest left without statistics.
pub(super) fn decode(bytes: &[u8], table: &TableDef) -> CatalogResult<TableStats> {
    let mut c = Cursor(bytes);
    let row_count = c.u64()?;
    let n = c.u32()? as usize;
    if n > bytes.len() {
        return Err(CatalogError::Corrupt("statistics column count"));
    }
    let mut columns = vec![None; table.columns.len()];
    for _ in 0..n {
        let head = c.row(&[
            DataType::Text,
            DataType::Text,
            DataType::Float8,
            DataType::Float8,
        ])?;
        let (Value::Text(name), Value::Text(ty)) = (&head[0], &head[1]) else {
            return Err(CatalogError::Corrupt("statistics column header"));
        };
        let ty: DataType = ty
            .parse()
            .map_err(|_| CatalogError::Corrupt("statistics column type"))?;
        let width = c.peek_width()?;
        if width < 2 || width > bytes.len() {
            return Err(CatalogError::Corrupt("statistics values width"));
        }
        let values = c.row(&vec![ty; width])?;
        let freqs = c.row(&vec![DataType::Float8; width - 2])?;
        let mut values = values.into_iter();
        let min = values.next().filter(|v| !v.is_null());
        let max = values.next().filter(|v| !v.is_null());
        let most_common = values.zip(freqs.iter().map(float)).collect();
        let stats = ColumnStats {
            name: name.clone(),
            ty,
            null_frac: float(&head[2]),
            n_distinct: float(&head[3]),
            min,
            max,
            most_common,
        };
        if let Some(pos) = table
            .columns
            .iter()
            .position(|col| col.name == stats.name && col.ty == stats.ty)
            && let Some(slot) = columns.get_mut(pos)
        {
            *slot = Some(stats);
        }
    }
    Ok(TableStats { row_count, columns })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ColumnDef;

    fn table(cols: &[(&str, DataType)]) -> TableDef {
        TableDef {
            id: 1,
            name: "t".into(),
            columns: cols
                .iter()
                .map(|(n, ty)| ColumnDef {
                    name: (*n).into(),
                    ty: *ty,
                    not_null: false,
                    default: None,
                })
                .collect(),
            primary_key: None,
            indexes: vec![],
            checks: vec![],
            foreign_keys: vec![],
        }
    }

    fn sample() -> TableStats {
        TableStats {
            row_count: 10,
            columns: vec![
                Some(ColumnStats {
                    name: "a".into(),
                    ty: DataType::Int4,
                    null_frac: 0.1,
                    n_distinct: 3.0,
                    min: Some(Value::Int4(1)),
                    max: Some(Value::Int4(9)),
                    most_common: vec![(Value::Int4(2), 0.5), (Value::Int4(1), 0.3)],
                }),
                Some(ColumnStats {
                    name: "b".into(),
                    ty: DataType::Text,
                    null_frac: 1.0,
                    n_distinct: 0.0,
                    min: None,
                    max: None,
                    most_common: vec![],
                }),
            ],
        }
    }

    #[test]
    fn statistics_round_trip() {
        let t = table(&[("a", DataType::Int4), ("b", DataType::Text)]);
        assert_eq!(decode(&encode(&sample()), &t).unwrap(), sample());
    }

    #[test]
    fn columns_match_by_name_and_type_after_ddl() {
        // `a` was retyped and `b` moved behind a new column.
        let t = table(&[
            ("new", DataType::Int4),
            ("a", DataType::Int8),
            ("b", DataType::Text),
        ]);
        let s = decode(&encode(&sample()), &t).unwrap();
        assert_eq!(s.row_count, 10);
        assert!(s.column(0).is_none() && s.column(1).is_none());
        assert_eq!(s.column(2).map(|c| c.null_frac), Some(1.0));
    }

    #[test]
    fn corrupt_records_are_errors() {
        let t = table(&[("a", DataType::Int4), ("b", DataType::Text)]);
        let bytes = encode(&sample());
        for n in 0..bytes.len() {
            let _ = decode(&bytes[..n], &t);
        }
        assert!(decode(&[0xff; 40], &t).is_err());
    }
}
