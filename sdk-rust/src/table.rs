//! Table functions: the row types a `#[rustydb::table_function]` returns.

use crate::value::{DataType, IntoValue, SqlError, SqlType, Value};

/// A row of a table function's result: its columns (for `describe`) and
/// its values.
///
/// Implemented for tuples of SQL types (name their columns with
/// `#[rustydb::table_function(columns(a, b))]`), for single SQL types (one
/// column, named after the function) and, with `#[derive(rustydb::TableRow)]`,
/// for structs with named fields (one column per field, in order).
pub trait TableRow {
    /// Names and types of the columns; an empty name is filled in by the
    /// attribute's `columns(…)` or, for one column, the function's name.
    const COLUMNS: &'static [(&'static str, DataType)];

    /// The row's values, one per column.
    fn into_row(self) -> Vec<Value>;
}

macro_rules! tuple_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: SqlType + IntoValue),+> TableRow for ($($t,)+) {
            const COLUMNS: &'static [(&'static str, DataType)] = &[$(("", $t::DATA_TYPE)),+];
            fn into_row(self) -> Vec<Value> {
                vec![$(self.$i.into_value()),+]
            }
        }
    };
}

tuple_row!(A 0);
tuple_row!(A 0, B 1);
tuple_row!(A 0, B 1, C 2);
tuple_row!(A 0, B 1, C 2, D 3);
tuple_row!(A 0, B 1, C 2, D 3, E 4);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

macro_rules! single_row {
    ($($t:ty),*) => {$(
        impl TableRow for $t {
            const COLUMNS: &'static [(&'static str, DataType)] = &[("", <$t as SqlType>::DATA_TYPE)];
            fn into_row(self) -> Vec<Value> {
                vec![self.into_value()]
            }
        }
        impl TableRow for Option<$t> {
            const COLUMNS: &'static [(&'static str, DataType)] = &[("", <$t as SqlType>::DATA_TYPE)];
            fn into_row(self) -> Vec<Value> {
                vec![self.into_value()]
            }
        }
    )*};
}

single_row!(
    bool,
    i16,
    i32,
    i64,
    f32,
    f64,
    String,
    Vec<u8>,
    crate::value::Numeric
);

/// The type of column `i` of `R`, for `columns(…)` in a `const`.
pub const fn column_type<R: TableRow>(i: usize) -> DataType {
    R::COLUMNS[i].1
}

/// The number of columns of `R`, for the `columns(…)` count check.
pub const fn column_count<R: TableRow>() -> usize {
    R::COLUMNS.len()
}

/// A table function body's result as rows.
///
/// # Errors
/// The body's own error.
pub fn table_rows<I, R>(result: Result<I, SqlError>) -> Result<Vec<Vec<Value>>, SqlError>
where
    I: IntoIterator<Item = R>,
    R: TableRow,
{
    Ok(result?.into_iter().map(TableRow::into_row).collect())
}
