//! Builds the guests written in other languages (`sdk-examples/python`,
//! `sdk-examples/js`, `sdk-examples/c`) with their own toolchains.
//!
//! A missing tool fails the test with the command that installs it: "any
//! Wasm language" is a claim the suite checks, so it must never pass by
//! skipping. `.ci/run` installs every tool named here.

#![allow(dead_code, clippy::unwrap_used)] // each test uses a part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use rustydb::engine::extension::{CallContext, ExtensionError, HostSql, Notice, RowCursor};
use rustydb::engine::types::Value;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guests");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `program args` in `cwd`, failing with `install` when the program is
/// not installed and with its output when it fails.
fn run_tool(program: &str, args: &[&str], cwd: &Path, install: &str) {
    let output = match Command::new(program).args(args).current_dir(cwd).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`{program}` is not installed; install it with: {install}")
        }
        Err(e) => panic!("cannot run `{program}`: {e}"),
    };
    assert!(
        output.status.success(),
        "`{program} {}` failed in {}:\n{}\n{}",
        args.join(" "),
        cwd.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The Python `bank` module (`sdk-examples/python/bank/app.py`), built once
/// per test binary with componentize-py against `wit/`'s `extension` world.
pub fn python_bank() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let out = out_dir().join("python-bank.wasm");
        let wit = repo().join("wit");
        run_tool(
            "componentize-py",
            &[
                "-d",
                wit.to_str().unwrap(),
                "-w",
                "extension",
                "componentize",
                "app",
                "-o",
                out.to_str().unwrap(),
            ],
            &repo().join("sdk-examples/python/bank"),
            "pip install componentize-py==0.25.1",
        );
        std::fs::read(&out).unwrap()
    })
}

/// The JavaScript `ledger` module (`sdk-examples/js/ledger/ledger.js`),
/// built once per test binary with componentize-js (AOT off, WASI HTTP
/// disabled so the component imports only what the host links), from the
/// example's own `npm ci` install.
pub fn js_ledger() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = repo().join("sdk-examples/js/ledger");
        let cli = dir.join("node_modules/@bytecodealliance/componentize-js/src/cli.js");
        assert!(
            cli.is_file(),
            "componentize-js is not installed for sdk-examples/js/ledger; install it with: \
             npm ci --prefix sdk-examples/js/ledger"
        );
        let out = out_dir().join("js-ledger.wasm");
        run_tool(
            "node",
            &[
                cli.to_str().unwrap(),
                "ledger.js",
                "--wit",
                "wit",
                "--world-name",
                "js-ledger",
                "--disable",
                "http",
                "fetch-event",
                "--out",
                out.to_str().unwrap(),
            ],
            &dir,
            "apt-get install nodejs npm",
        );
        std::fs::read(&out).unwrap()
    })
}

/// The C `stats` module (`sdk-examples/c/stats/stats.c`), built once per
/// test binary: wit-bindgen's C bindings, clang for wasm32-wasi, and the WASI
/// reactor adapter (`tools/guest-build`).
pub fn c_stats() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = repo().join("sdk-examples/c/stats");
        let guest = rustydb_guest_build::CGuest {
            wit_dir: dir.join("wit"),
            world: "c-stats".to_owned(),
            sources: vec![dir.join("stats.c")],
        };
        guest
            .build(&out_dir().join("c-stats"))
            .unwrap_or_else(|e| panic!("building sdk-examples/c/stats: {e}"))
    })
}

/// The caller's SQL for routines that must not issue any: scalar functions
/// and aggregates are pure, so any statement they run is a test failure.
pub struct NoSql;

impl HostSql for NoSql {
    fn query(&self, sql: &str, _: &[Value]) -> Result<Box<dyn RowCursor>, ExtensionError> {
        panic!("a pure routine ran {sql:?}")
    }

    fn execute(&self, sql: &str, _: &[Value]) -> Result<u64, ExtensionError> {
        panic!("a pure routine ran {sql:?}")
    }

    fn notice(&self, notice: Notice) {
        panic!("a pure routine printed {notice:?}")
    }
}

/// A call context over [`NoSql`].
pub fn pure_ctx() -> CallContext {
    CallContext::new(std::sync::Arc::new(NoSql))
}
