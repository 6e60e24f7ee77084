//! Shared by the integration tests: building the example guests, and a test
//! double of the engine's SQL.
//!
//! `Bank` is a test double, not a SQL engine: it knows the four statements
//! the `bank` example issues against an in-memory `accounts` table. The real
//! SQL layer is being built in parallel and will be wired in later.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use rustydb_engine::extension::{
    CallContext, ColumnDescription, ErrorCode, ExtensionError, HostSql, Notice, Row, RowCursor,
};
use rustydb_engine::types::{DataType, Value};
use rustydb_wasm_host::{Limits, ModuleRegistry};

/// Builds `sdk-examples` once per test binary and returns the directory of
/// the `.wasm` files.
pub fn examples() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let manifest = repo.join("sdk-examples/Cargo.toml");
        let out = Command::new(env!("CARGO"))
            .args(["build", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
            .arg(&manifest)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .expect("cannot run cargo to build the example guests");
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let missing = stderr.contains("wasm32-wasip2")
                && (stderr.contains("target may not be installed")
                    || stderr.contains("can't find crate for `core`")
                    || stderr.contains("can't find crate for `std`"));
            if missing {
                panic!(
                    "the wasm32-wasip2 target is missing: run `rustup target add wasm32-wasip2`\n{stderr}"
                );
            }
            panic!("building sdk-examples failed:\n{stderr}");
        }
        repo.join("sdk-examples/target/wasm32-wasip2/release")
    })
}

/// The bytes of example component `name`.
pub fn component(name: &str) -> Vec<u8> {
    std::fs::read(examples().join(format!("{name}.wasm"))).unwrap()
}

/// Limits for tests: the defaults with a small instance pool.
pub fn test_limits() -> Limits {
    Limits {
        concurrent_instances: 16,
        ..Limits::default()
    }
}

/// A registry caching artifacts in a directory shared by the tests of one
/// binary (each artifact is compiled once), or in `dir`.
pub fn registry(limits: Limits) -> Arc<ModuleRegistry> {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = CACHE.get_or_init(|| tempfile::tempdir().unwrap());
    Arc::new(ModuleRegistry::open(limits, dir.path()).unwrap())
}

/// Test double of the engine's SQL: the `accounts` table in memory, and a
/// record of every statement and notice.
#[derive(Default)]
pub struct Bank {
    pub accounts: Mutex<BTreeMap<i64, i64>>,
    pub executed: Mutex<Vec<(String, Vec<Value>)>>,
    pub notices: Mutex<Vec<Notice>>,
}

impl Bank {
    pub fn with(accounts: &[(i64, i64)]) -> Arc<Bank> {
        let bank = Bank::default();
        bank.accounts
            .lock()
            .unwrap()
            .extend(accounts.iter().copied());
        Arc::new(bank)
    }

    pub fn ctx(self: &Arc<Bank>) -> CallContext {
        CallContext::new(Arc::clone(self) as Arc<dyn HostSql>)
    }

    pub fn balance(&self, id: i64) -> i64 {
        self.accounts.lock().unwrap()[&id]
    }

    pub fn total(&self) -> i64 {
        self.accounts.lock().unwrap().values().sum()
    }
}

fn int8(params: &[Value], i: usize) -> Result<i64, ExtensionError> {
    match params.get(i) {
        Some(Value::Int8(v)) => Ok(*v),
        other => Err(ExtensionError::new(
            ErrorCode::INVALID_PARAMETER_VALUE,
            format!("parameter ${} is {other:?}, expected bigint", i + 1),
        )),
    }
}

struct VecCursor {
    columns: Vec<ColumnDescription>,
    rows: std::vec::IntoIter<Row>,
}

impl RowCursor for VecCursor {
    fn columns(&self) -> &[ColumnDescription] {
        &self.columns
    }

    fn next_batch(&mut self, max_rows: usize) -> Result<Option<Vec<Row>>, ExtensionError> {
        let batch: Vec<Row> = self.rows.by_ref().take(max_rows).collect();
        Ok((!batch.is_empty()).then_some(batch))
    }
}

impl HostSql for Bank {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Box<dyn RowCursor>, ExtensionError> {
        let id = int8(params, 0)?;
        let balance = self.accounts.lock().unwrap().get(&id).copied();
        let (columns, rows): (_, Vec<Row>) = match sql {
            "SELECT balance FROM accounts WHERE id = $1" => (
                vec![ColumnDescription::new("balance", DataType::Int8)],
                balance.map(|b| vec![Value::Int8(b)]).into_iter().collect(),
            ),
            "SELECT id, balance FROM accounts WHERE id = $1" => (
                vec![
                    ColumnDescription::new("id", DataType::Int8),
                    ColumnDescription::new("balance", DataType::Int8),
                ],
                balance
                    .map(|b| vec![Value::Int8(id), Value::Int8(b)])
                    .into_iter()
                    .collect(),
            ),
            _ => {
                return Err(ExtensionError::new(
                    ErrorCode::parse("42601").unwrap(),
                    format!("test double cannot run {sql:?}"),
                ));
            }
        };
        Ok(Box::new(VecCursor {
            columns,
            rows: rows.into_iter(),
        }))
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, ExtensionError> {
        self.executed
            .lock()
            .unwrap()
            .push((sql.to_owned(), params.to_vec()));
        let sign = match sql {
            "UPDATE accounts SET balance = balance - $1 WHERE id = $2" => -1,
            "UPDATE accounts SET balance = balance + $1 WHERE id = $2" => 1,
            _ => {
                return Err(ExtensionError::new(
                    ErrorCode::parse("42601").unwrap(),
                    format!("test double cannot run {sql:?}"),
                ));
            }
        };
        let (amount, id) = (int8(params, 0)?, int8(params, 1)?);
        let mut accounts = self.accounts.lock().unwrap();
        Ok(match accounts.get_mut(&id) {
            Some(balance) => {
                *balance += sign * amount;
                1
            }
            None => 0,
        })
    }

    fn notice(&self, notice: Notice) {
        self.notices.lock().unwrap().push(notice);
    }
}
