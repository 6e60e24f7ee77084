//! A routine host that runs no Wasm: module `m`'s routines are Rust
//! closures, and every guest call is counted, so tests can assert how many
//! batches crossed the boundary and how many rows each carried.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use rustydb_engine::extension::{
    CallContext, ColumnDescription, ErrorCode, ExtensionError, LoadedModule, ResultSet,
    RoutineDescription, RoutineInvoker, RoutineKind, RoutineRef, RoutineUsage, Row, SessionUsage,
    StatementCalls, TriggerData, TriggerOutcome, Volatility,
};
use rustydb_engine::types::{DataType, Value};

/// One guest call as the host saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestCall {
    /// `scalar`, `score`, `load`, `init`, `accumulate`, `merge`, `finish`,
    /// `table`.
    pub entry: &'static str,
    /// The export called.
    pub routine: String,
    /// Rows the call carried (1 for calls without a batch).
    pub rows: usize,
}

/// The fake host. `sessions` makes it hand out [`StatementCalls`], as the
/// Wasm host does; without, every batch is a stateless call.
#[derive(Default)]
pub struct Fake {
    pub log: Arc<Log>,
    pub sessions: bool,
}

/// What the fake's routines did, shared with the sessions it opens.
#[derive(Default)]
pub struct Log {
    pub calls: Mutex<Vec<GuestCall>>,
    pub sessions_opened: Mutex<usize>,
    volatile_counter: Mutex<i64>,
}

impl Fake {
    pub fn with_sessions() -> Fake {
        Fake {
            sessions: true,
            ..Fake::default()
        }
    }

    /// The calls recorded so far, forgotten.
    pub fn take(&self) -> Vec<GuestCall> {
        self.log.take()
    }

    /// Sessions opened so far.
    pub fn sessions_opened(&self) -> usize {
        *self.log.sessions_opened.lock()
    }
}

impl Log {
    /// The calls recorded so far, forgotten.
    pub fn take(&self) -> Vec<GuestCall> {
        std::mem::take(&mut *self.calls.lock())
    }

    fn record(&self, entry: &'static str, routine: &str, rows: usize) {
        self.calls.lock().push(GuestCall {
            entry,
            routine: routine.to_owned(),
            rows,
        });
    }

    fn scalar_one(&self, name: &str, args: &[Value]) -> Result<Value, ExtensionError> {
        let int = |v: &Value| match v {
            Value::Int8(i) => Some(*i),
            _ => None,
        };
        Ok(match name {
            // Not STRICT: NULL reaches it, and it answers -1 to show so.
            "double" => args
                .first()
                .and_then(int)
                .map_or(Value::Int8(-1), |x| Value::Int8(x * 2)),
            "inc" => match args.first().and_then(int) {
                Some(x) => Value::Int8(x + 1),
                None => {
                    return Err(ExtensionError::new(
                        ErrorCode::INTERNAL_ERROR,
                        "STRICT inc was called with NULL",
                    ));
                }
            },
            "tick" => {
                let mut c = self.volatile_counter.lock();
                *c += 1;
                Value::Int8(*c)
            }
            "fail" => {
                return Err(ExtensionError::new(
                    ErrorCode::parse("22R01").unwrap_or(ErrorCode::RAISE_EXCEPTION),
                    format!("fail({:?}) refuses", args.first()),
                ));
            }
            "label" => Value::Text(format!("<{}>", args.first().and_then(int).unwrap_or(0))),
            _ => {
                return Err(ExtensionError::new(
                    ErrorCode::UNDEFINED_FUNCTION,
                    format!("no function {name}"),
                ));
            }
        })
    }

    fn scalar_batch(&self, name: &str, rows: &[Row]) -> Result<Vec<Value>, ExtensionError> {
        self.record("scalar", name, rows.len());
        rows.iter().map(|r| self.scalar_one(name, r)).collect()
    }

    /// `total`: the state is the running sum and the row count, 16 bytes.
    fn init(&self) -> Vec<u8> {
        self.record("init", "total", 1);
        vec![0; 16]
    }

    fn accumulate(&self, state: &[u8], rows: &[Row]) -> Result<Vec<u8>, ExtensionError> {
        self.record("accumulate", "total", rows.len());
        let (mut sum, mut n) = decode(state)?;
        for r in rows {
            match r.first() {
                Some(Value::Int8(x)) => sum += x,
                other => {
                    return Err(ExtensionError::new(
                        ErrorCode::INTERNAL_ERROR,
                        format!("STRICT total got {other:?}"),
                    ));
                }
            }
            n += 1;
        }
        Ok(encode(sum, n))
    }

    fn finish(&self, state: &[u8]) -> Result<Value, ExtensionError> {
        self.record("finish", "total", 1);
        let (sum, n) = decode(state)?;
        Ok(if n == 0 {
            Value::Null
        } else {
            Value::Int8(sum)
        })
    }

    fn table(&self, args: &[Value]) -> Result<Vec<Row>, ExtensionError> {
        self.record("table", "upto", 1);
        let n = match args.first() {
            Some(Value::Int8(n)) => *n,
            _ => 0,
        };
        Ok((1..=n)
            .map(|i| vec![Value::Int8(i), Value::Text(format!("#{i}"))])
            .collect())
    }

    fn score(params: &[u8], rows: &[Row]) -> Result<Vec<Value>, ExtensionError> {
        let text = std::str::from_utf8(params).map_err(|_| bad_params())?;
        let weights: Vec<f64> = text
            .split(',')
            .map(|w| w.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad_params())?;
        Ok(rows
            .iter()
            .map(|r| {
                let s: f64 = r
                    .iter()
                    .zip(&weights)
                    .map(|(v, w)| match v {
                        Value::Float8(x) => x * w,
                        _ => 0.0,
                    })
                    .sum();
                Value::Float8(s)
            })
            .collect())
    }
}

fn decode(state: &[u8]) -> Result<(i64, i64), ExtensionError> {
    let bad = || ExtensionError::new(ErrorCode::INTERNAL_ERROR, "bad state");
    let sum = i64::from_be_bytes(
        state
            .get(..8)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    );
    let n = i64::from_be_bytes(
        state
            .get(8..16)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    );
    Ok((sum, n))
}

fn encode(sum: i64, n: i64) -> Vec<u8> {
    let mut v = sum.to_be_bytes().to_vec();
    v.extend_from_slice(&n.to_be_bytes());
    v
}

fn bad_params() -> ExtensionError {
    ExtensionError::new(
        ErrorCode::INVALID_PARAMETER_VALUE,
        "model parameters are not weights",
    )
}

fn scalar(
    name: &str,
    params: &[DataType],
    ret: DataType,
    vol: Volatility,
    strict: bool,
) -> RoutineDescription {
    RoutineDescription {
        name: name.into(),
        kind: RoutineKind::Scalar,
        params: params
            .iter()
            .map(|t| ColumnDescription::new("", *t))
            .collect(),
        returns: vec![ColumnDescription::new(name, ret)],
        volatility: vol,
        strict,
    }
}

/// What module `m` describes.
pub fn described() -> Vec<RoutineDescription> {
    use DataType::{Float8, Int8, Text};
    vec![
        scalar("double", &[Int8], Int8, Volatility::Immutable, false),
        scalar("inc", &[Int8], Int8, Volatility::Immutable, true),
        scalar("tick", &[Int8], Int8, Volatility::Volatile, false),
        scalar("fail", &[Int8], Int8, Volatility::Immutable, false),
        scalar("label", &[Int8], Text, Volatility::Immutable, false),
        RoutineDescription {
            name: "batch".into(),
            kind: RoutineKind::Procedure,
            params: vec![
                ColumnDescription::new("sql", Text),
                ColumnDescription::new("n", Int8),
            ],
            returns: vec![
                ColumnDescription::new("affected", Int8),
                ColumnDescription::new("error", Text),
            ],
            volatility: Volatility::Volatile,
            strict: false,
        },
        RoutineDescription {
            name: "total".into(),
            kind: RoutineKind::Aggregate,
            params: vec![ColumnDescription::new("x", Int8)],
            returns: vec![ColumnDescription::new("total", Int8)],
            volatility: Volatility::Immutable,
            strict: true,
        },
        RoutineDescription {
            name: "upto".into(),
            kind: RoutineKind::Table,
            params: vec![ColumnDescription::new("n", Int8)],
            returns: vec![
                ColumnDescription::new("i", Int8),
                ColumnDescription::new("tag", Text),
            ],
            volatility: Volatility::Immutable,
            strict: true,
        },
        RoutineDescription {
            name: "linear".into(),
            kind: RoutineKind::Model,
            params: vec![
                ColumnDescription::new("a", Float8),
                ColumnDescription::new("b", Float8),
            ],
            returns: vec![ColumnDescription::new("linear", Float8)],
            volatility: Volatility::Immutable,
            strict: false,
        },
    ]
}

impl RoutineInvoker for Fake {
    fn load_module(&self, name: &str, _: &[u8]) -> Result<LoadedModule, ExtensionError> {
        Ok(LoadedModule {
            handle: format!("{name}@1"),
            sha256: "00".repeat(32),
            routines: described(),
        })
    }

    fn is_loaded(&self, _: &str) -> bool {
        true
    }

    fn unload_module(&self, _: &str) {}

    fn usage(&self) -> Vec<RoutineUsage> {
        Vec::new()
    }

    fn describe(&self, _: &str) -> Result<Vec<RoutineDescription>, ExtensionError> {
        Ok(described())
    }

    /// `batch(sql, n)`: `sql` as one statement batch of `n` parameter rows
    /// (`$1` = 1, 2, … n), returning what the batch affected and the error
    /// it met (the procedure handles the error, so the CALL succeeds).
    fn call_procedure(
        &self,
        ctx: &CallContext,
        r: RoutineRef<'_>,
        args: &[Value],
    ) -> Result<ResultSet, ExtensionError> {
        let (Some(Value::Text(sql)), Some(Value::Int8(n))) = (args.first(), args.get(1)) else {
            return Err(ExtensionError::new(
                ErrorCode::UNDEFINED_FUNCTION,
                format!("no procedure {} for {args:?}", r.name),
            ));
        };
        let params: Vec<Row> = (1..=*n).map(|i| vec![Value::Int8(i)]).collect();
        let (affected, error) = match ctx.sql.execute_batch(sql, &params) {
            Ok(k) => (
                Value::Int8(i64::try_from(k).unwrap_or(i64::MAX)),
                Value::Null,
            ),
            Err(e) => (
                Value::Null,
                Value::Text(format!("{}: {}", e.code.as_str(), e.message)),
            ),
        };
        Ok(ResultSet {
            columns: vec![
                ColumnDescription::new("affected", DataType::Int8),
                ColumnDescription::new("error", DataType::Text),
            ],
            rows: vec![vec![affected, error]],
        })
    }

    fn call_scalar(
        &self,
        _: &CallContext,
        r: RoutineRef<'_>,
        args: &[Row],
    ) -> Result<Vec<Value>, ExtensionError> {
        self.log.scalar_batch(r.name, args)
    }

    fn aggregate_init(
        &self,
        _: &CallContext,
        _: RoutineRef<'_>,
    ) -> Result<Vec<u8>, ExtensionError> {
        Ok(self.log.init())
    }

    fn aggregate_accumulate(
        &self,
        _: &CallContext,
        _: RoutineRef<'_>,
        state: &[u8],
        rows: &[Row],
    ) -> Result<Vec<u8>, ExtensionError> {
        self.log.accumulate(state, rows)
    }

    fn aggregate_merge(
        &self,
        _: &CallContext,
        _: RoutineRef<'_>,
        _: &[u8],
        _: &[u8],
    ) -> Result<Vec<u8>, ExtensionError> {
        Err(ExtensionError::new(
            ErrorCode::UNDEFINED_FUNCTION,
            "the engine does not merge yet",
        ))
    }

    fn aggregate_finish(
        &self,
        _: &CallContext,
        _: RoutineRef<'_>,
        state: &[u8],
    ) -> Result<Value, ExtensionError> {
        self.log.finish(state)
    }

    fn call_table(
        &self,
        _: &CallContext,
        _: RoutineRef<'_>,
        args: &[Value],
    ) -> Result<Vec<Row>, ExtensionError> {
        self.log.table(args)
    }

    fn call_trigger(
        &self,
        _: &CallContext,
        _: RoutineRef<'_>,
        _: &TriggerData,
    ) -> Result<TriggerOutcome, ExtensionError> {
        Err(ExtensionError::new(
            ErrorCode::UNDEFINED_FUNCTION,
            "no triggers",
        ))
    }

    fn open_statement_calls(
        &self,
        _: &CallContext,
        _: &str,
    ) -> Result<Option<Box<dyn StatementCalls>>, ExtensionError> {
        if !self.sessions {
            return Ok(None);
        }
        *self.log.sessions_opened.lock() += 1;
        Ok(Some(Box::new(FakeSession {
            log: Arc::clone(&self.log),
            loaded: HashMap::new(),
        })))
    }

    fn score_model(
        &self,
        _: &CallContext,
        r: RoutineRef<'_>,
        params: &[u8],
        batch: &[Row],
    ) -> Result<Vec<Value>, ExtensionError> {
        self.log.record("load", r.name, 1);
        self.log.record("score", r.name, batch.len());
        Log::score(params, batch)
    }
}

/// A statement's session on the fake host; remembers loaded parameters.
struct FakeSession {
    log: Arc<Log>,
    loaded: HashMap<String, Vec<u8>>,
}

impl StatementCalls for FakeSession {
    fn scalar(&mut self, name: &str, args: &[Row]) -> Result<Vec<Value>, ExtensionError> {
        self.log.scalar_batch(name, args)
    }

    fn score(
        &mut self,
        name: &str,
        params: &[u8],
        batch: &[Row],
    ) -> Result<Vec<Value>, ExtensionError> {
        if self.loaded.get(name).map(Vec::as_slice) != Some(params) {
            self.log.record("load", name, 1);
            self.loaded.insert(name.to_owned(), params.to_vec());
        }
        self.log.record("score", name, batch.len());
        Log::score(params, batch)
    }

    fn aggregate_init(&mut self, _: &str) -> Result<Vec<u8>, ExtensionError> {
        Ok(self.log.init())
    }

    fn aggregate_accumulate(
        &mut self,
        _: &str,
        state: &[u8],
        rows: &[Row],
    ) -> Result<Vec<u8>, ExtensionError> {
        self.log.accumulate(state, rows)
    }

    fn aggregate_merge(&mut self, _: &str, _: &[u8], _: &[u8]) -> Result<Vec<u8>, ExtensionError> {
        Err(ExtensionError::new(
            ErrorCode::UNDEFINED_FUNCTION,
            "the engine does not merge yet",
        ))
    }

    fn aggregate_finish(&mut self, _: &str, state: &[u8]) -> Result<Value, ExtensionError> {
        self.log.finish(state)
    }

    fn table(&mut self, _: &str, args: &[Value]) -> Result<Vec<Row>, ExtensionError> {
        self.log.table(args)
    }

    fn usage(&self, _: &str) -> SessionUsage {
        SessionUsage::default()
    }
}

/// A database on a temporary directory with `fake` as its routine host and
/// module `m` deployed.
pub fn open(fake: Arc<Fake>) -> (tempfile::TempDir, rustydb_engine::Database) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = rustydb_engine::Database::open(dir.path(), rustydb_engine::DatabaseOptions::default())
        .expect("open")
        .with_invoker(fake);
    let mut s = db.session();
    s.execute("CREATE MODULE m FROM '\\x00'").expect("deploy m");
    (dir, db)
}
