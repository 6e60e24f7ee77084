//! Shared by the Wasm harness tests: building the example guests and
//! opening embedded databases with the Wasm host injected.

#![allow(dead_code, clippy::unwrap_used)] // each test binary uses a part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use rustydb::engine::extension::RoutineInvoker;
use rustydb::engine::sql::{Database, DatabaseOptions, Session, StatementResult};
use rustydb::engine::types::Value;
use rustydb::wasm::Limits;
use rustydb_wasm_host::{ModuleRegistry, WasmInvoker};

/// Builds `sdk-examples` (its own workspace, for wasm32-wasip2) once per
/// test binary, so `cargo test` alone builds the guests on a fresh machine,
/// and returns the directory of the `.wasm` files.
pub fn examples() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(env!("CARGO"))
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(repo.join("sdk-examples/Cargo.toml"))
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .expect("cannot run cargo to build the example guests");
        assert!(
            out.status.success(),
            "building sdk-examples failed (is the wasm32-wasip2 target installed? \
             `rustup target add wasm32-wasip2`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        repo.join("sdk-examples/target/wasm32-wasip2/release")
    })
}

/// The bytes of example component `name` (`bank`, `hostile`, `forbidden`).
pub fn component(name: &str) -> Vec<u8> {
    std::fs::read(examples().join(format!("{name}.wasm"))).unwrap()
}

/// The limits the harness runs under: small enough that `spin` and `hog`
/// fail fast, large enough for everything else.
pub fn limits() -> Limits {
    Limits {
        fuel_per_call: 300_000_000,
        time_per_call: std::time::Duration::from_secs(5),
        memory_per_instance: 32 << 20,
        concurrent_instances: 16,
        ..Limits::default()
    }
}

/// An embedded database in a fresh directory with the Wasm host injected.
/// Compiled artifacts go to a cache shared by the binary's tests, so each
/// component compiles once.
pub struct TestDb {
    pub db: Database,
    pub invoker: Arc<WasmInvoker>,
    _dir: tempfile::TempDir,
}

pub fn open(limits: Limits) -> TestDb {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    let cache = CACHE.get_or_init(|| tempfile::tempdir().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let registry = ModuleRegistry::open(limits, cache.path()).unwrap();
    let invoker = Arc::new(WasmInvoker::new(Arc::new(registry)));
    let db = Database::open(dir.path(), DatabaseOptions::default())
        .unwrap()
        .with_invoker(Arc::clone(&invoker) as Arc<dyn RoutineInvoker>)
        .with_dml_hooks(rustydb::wasm::triggers());
    TestDb {
        db,
        invoker,
        _dir: dir,
    }
}

/// Deploys example `component` as module `name` through `$1`.
pub fn deploy(session: &mut Session, name: &str, component_name: &str, replace: bool) {
    let verb = if replace {
        "CREATE OR REPLACE"
    } else {
        "CREATE"
    };
    let prepared = session
        .prepare(&format!("{verb} MODULE {name} FROM $1"))
        .unwrap();
    session
        .execute_prepared(&prepared, &[Value::Bytea(component(component_name))])
        .unwrap();
}

/// Runs `sql` (one statement) and returns its result.
pub fn run(session: &mut Session, sql: &str) -> Result<StatementResult, rustydb::engine::Error> {
    session.execute(sql).map(|mut r| r.pop().unwrap())
}

/// The SQLSTATE `sql` fails with.
pub fn sqlstate(session: &mut Session, sql: &str) -> String {
    match run(session, sql) {
        Ok(r) => panic!("{sql} succeeded: {r:?}"),
        Err(e) => e.sqlstate().code().to_owned(),
    }
}

/// The rows of a query.
pub fn rows(session: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    match run(session, sql).unwrap() {
        StatementResult::Rows { rows, .. } => rows,
        other => panic!("{sql} returned {other:?}"),
    }
}

/// A session with `accounts(id, balance)` holding (1, 100) and (2, 50),
/// and module `bank` deployed.
pub fn bank(db: &Database) -> Session {
    let mut s = db.session();
    s.execute(
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
         INSERT INTO accounts VALUES (1, 100), (2, 50);",
    )
    .unwrap();
    deploy(&mut s, "bank", "bank", false);
    s
}

/// Balances by account id.
pub fn balances(session: &mut Session) -> Vec<(i64, i64)> {
    rows(session, "SELECT id, balance FROM accounts ORDER BY id")
        .into_iter()
        .map(|r| match (&r[0], &r[1]) {
            (Value::Int8(a), Value::Int8(b)) => (*a, *b),
            other => panic!("unexpected row {other:?}"),
        })
        .collect()
}
