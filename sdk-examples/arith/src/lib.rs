//! `arith`: the Wasm side of `benches/udf.sh`'s first comparison, the same
//! logic as the SQL expression `x * 2 + 1` (and PL/pgSQL's), overflow
//! included.

use rustydb::SqlError;

/// `x * 2 + 1`, failing with 22003 where PostgreSQL's bigint arithmetic
/// does.
#[rustydb::function(immutable, strict)]
pub fn twice_plus_one(x: i64) -> Result<i64, SqlError> {
    x.checked_mul(2)
        .and_then(|y| y.checked_add(1))
        .ok_or_else(|| SqlError::new("22003", "bigint out of range"))
}

rustydb::export!(twice_plus_one);
