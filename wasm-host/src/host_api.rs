//! The `rustydb:extension/host` interface: what a guest may ask of the
//! database while a call runs.
//!
//! Each call's store holds a [`CallState`]; these functions forward to the
//! caller's [`HostSql`] and convert values both ways. SQL failures are
//! returned to the guest as `sql-error`s — it may handle them — while the
//! host traps only when the call's own deadline or cancel flag fires during
//! host work, so a guest cannot dodge its limits by spending time in SQL.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustydb_engine::extension::{ErrorCode, ExtensionError, HostSql, NoticeLevel, RowCursor};
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{host, types as wit};
use crate::convert;
use crate::limits::{LimitHit, Limiter};
use crate::output::Output;

/// The most rows one `next-batch` returns, whatever the guest asks for, so
/// a guest cannot make the host materialise a whole table at once.
const MAX_BATCH_ROWS: u32 = 4096;

/// An open cursor in a call's resource table.
pub struct CursorState {
    cursor: Box<dyn RowCursor>,
    finished: bool,
}

/// The data of one call's store.
pub(crate) struct CallState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) output: Output,
    /// `None` while `describe` or the start-up code of a fresh instance
    /// runs: neither may depend on the data of a caller not yet known.
    pub(crate) sql: Option<Arc<dyn HostSql>>,
    pub(crate) deadline: Instant,
    pub(crate) time_limit: Duration,
    pub(crate) cancel: Arc<AtomicBool>,
    /// Counts this store among the pool's live instances while it exists.
    pub(crate) live: Option<crate::pool::Live>,
}

impl CallState {
    /// The limit that has fired, if any: checked by host functions so time
    /// spent in SQL counts against the call.
    pub(crate) fn interrupted(&self) -> Option<LimitHit> {
        if self.cancel.load(Ordering::Relaxed) {
            Some(LimitHit::Cancelled)
        } else if Instant::now() >= self.deadline {
            Some(LimitHit::Deadline {
                limit: self.time_limit,
            })
        } else {
            None
        }
    }

    /// Nanoseconds until the deadline, zero once it has passed.
    pub(crate) fn nanos_to_deadline(&self) -> u64 {
        let left = self.deadline.saturating_duration_since(Instant::now());
        u64::try_from(left.as_nanos()).unwrap_or(u64::MAX)
    }

    fn check(&self) -> wasmtime::Result<()> {
        match self.interrupted() {
            Some(hit) => Err(hit.into()),
            None => Ok(()),
        }
    }

    fn sql(&self) -> Result<&Arc<dyn HostSql>, wit::SqlError> {
        self.sql.as_ref().ok_or_else(|| {
            convert::error_to_wit(&ExtensionError::new(
                ErrorCode::parse("0A000").unwrap_or(ErrorCode::INTERNAL_ERROR),
                "database access is not available while a module starts up or describes itself",
            ))
        })
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn params_from_wit(
    params: Vec<wit::Value>,
) -> Result<Vec<rustydb_engine::types::Value>, wit::SqlError> {
    convert::values_from_wit(params).map_err(|e| convert::error_to_wit(&e))
}

impl wit::Host for CallState {}

impl host::Host for CallState {
    fn query(
        &mut self,
        sql: String,
        params: Vec<wit::Value>,
    ) -> wasmtime::Result<Result<Resource<CursorState>, wit::SqlError>> {
        self.check()?;
        let result = self.sql().and_then(|host| {
            let params = params_from_wit(params)?;
            host.query(&sql, &params)
                .map_err(|e| convert::error_to_wit(&e))
        });
        self.check()?;
        match result {
            Ok(cursor) => {
                let state = CursorState {
                    cursor,
                    finished: false,
                };
                Ok(Ok(self.table.push(state)?))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    fn execute(
        &mut self,
        sql: String,
        params: Vec<wit::Value>,
    ) -> wasmtime::Result<Result<u64, wit::SqlError>> {
        self.check()?;
        let result = self.sql().and_then(|host| {
            let params = params_from_wit(params)?;
            host.execute(&sql, &params)
                .map_err(|e| convert::error_to_wit(&e))
        });
        self.check()?;
        Ok(result)
    }

    fn execute_batch(
        &mut self,
        sql: String,
        params: Vec<Vec<wit::Value>>,
    ) -> wasmtime::Result<Result<u64, wit::SqlError>> {
        self.check()?;
        let result = self.sql().and_then(|host| {
            let params = params
                .into_iter()
                .map(params_from_wit)
                .collect::<Result<Vec<_>, _>>()?;
            host.execute_batch(&sql, &params)
                .map_err(|e| convert::error_to_wit(&e))
        });
        self.check()?;
        Ok(result)
    }

    fn log(&mut self, level: host::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            host::Level::Debug => NoticeLevel::Debug,
            host::Level::Info => NoticeLevel::Info,
            host::Level::Notice => NoticeLevel::Notice,
            host::Level::Warning => NoticeLevel::Warning,
        };
        self.output.log(level, message);
        Ok(())
    }
}

impl host::HostCursor for CallState {
    fn columns(&mut self, cursor: Resource<CursorState>) -> wasmtime::Result<Vec<wit::Column>> {
        let state = self.table.get(&cursor)?;
        Ok(state
            .cursor
            .columns()
            .iter()
            .map(convert::column_to_wit)
            .collect())
    }

    fn next_batch(
        &mut self,
        cursor: Resource<CursorState>,
        max_rows: u32,
    ) -> wasmtime::Result<Result<Option<Vec<Vec<wit::Value>>>, wit::SqlError>> {
        self.check()?;
        let state = self.table.get_mut(&cursor)?;
        if state.finished {
            return Ok(Ok(None));
        }
        let max = max_rows.clamp(1, MAX_BATCH_ROWS) as usize;
        let result = match state.cursor.next_batch(max) {
            Ok(Some(rows)) => Ok(Some(rows.iter().map(|r| convert::row_to_wit(r)).collect())),
            Ok(None) => {
                state.finished = true;
                Ok(None)
            }
            Err(e) => {
                state.finished = true;
                Err(convert::error_to_wit(&e))
            }
        };
        self.check()?;
        Ok(result)
    }

    fn drop(&mut self, cursor: Resource<CursorState>) -> wasmtime::Result<()> {
        self.table.delete(cursor)?;
        Ok(())
    }
}
