//! Conformance over the wire: runs sqllogictest files written in SQLite's
//! format (one value a line, `hash-threshold`, `skipif`/`onlyif` labels) with
//! the `sqllogictest` crate against a fresh `rustydb serve` per file, speaking
//! the PostgreSQL protocol, and prints the share of records that pass.
//!
//! ```text
//! rustydb-slt-conformance --server target/release/rustydb [--timeout SECS] [--verbose] PATH...
//! rustydb-slt-conformance --postgres 'host=… user=postgres' PATH...
//! ```
//!
//! `--postgres` runs the same files against a PostgreSQL server instead
//! (each file in a fresh database `slt_conformance`), the reference the
//! figures for RustyDB compare with.
//!
//! A PATH is a `.test`/`.slt` file or a directory searched recursively. The
//! engine name is `postgresql`, so `skipif postgresql` records are skipped and
//! `onlyif postgresql` ones run, as for PostgreSQL itself. Values are written
//! the way SQLite's reference runner writes them for the column types the
//! record declares: `I` as an integer, `R` with three decimals, `T` as text
//! (`(empty)` for the empty string, `@` for unprintable characters), NULL as
//! `NULL`; booleans count as 1 and 0 in numeric columns, as an ODBC client
//! fetching them as numbers would see them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqllogictest::{
    AsyncDB, Condition, DBOutput, DefaultColumnType, Normalizer, QueryExpect, Record, Runner,
};
use tokio_postgres::{CancelToken, Client, Config, NoTls, SimpleQueryMessage};

/// The command line.
struct Args {
    target: Target,
    timeout: Duration,
    verbose: bool,
    paths: Vec<PathBuf>,
}

/// What the files run against.
enum Target {
    /// A fresh `rustydb serve` of this binary per file.
    Server(PathBuf),
    /// A PostgreSQL server, by a superuser's connection string.
    Postgres(Box<Config>),
}

const USAGE: &str = "usage: rustydb-slt-conformance (--server PATH | --postgres CONNINFO) \
     [--timeout SECS] [--verbose] PATH...";

fn parse_args() -> Result<Args, String> {
    let mut target = None;
    let mut timeout = Duration::from_secs(20);
    let mut verbose = false;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--server" => target = args.next().map(|p| Target::Server(PathBuf::from(p))),
            "--postgres" => {
                let conninfo = args.next().ok_or("--postgres takes a connection string")?;
                let config = conninfo
                    .parse::<Config>()
                    .map_err(|e| format!("--postgres: {e}"))?;
                target = Some(Target::Postgres(Box::new(config)));
            }
            "--timeout" => {
                let secs = args
                    .next()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or("--timeout takes a number of seconds")?;
                timeout = Duration::from_secs(secs);
            }
            "--verbose" => verbose = true,
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    let target = target.ok_or("--server or --postgres is required")?;
    if paths.is_empty() {
        return Err("no test file or directory given".into());
    }
    Ok(Args {
        target,
        timeout,
        verbose,
        paths,
    })
}

/// The test files under `paths`, each list sorted so runs are comparable.
fn collect_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "test" || e == "slt") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// A `rustydb serve` on a throwaway data directory; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl Server {
    fn start(binary: &Path) -> std::io::Result<Self> {
        let data = tempfile::tempdir()?;
        // The OS picks a free port; it is released just before the server
        // binds it, a race no other process on a test machine plays.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(binary)
            .arg("serve")
            .arg("--data-dir")
            .arg(data.path().join("data"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Server {
            child,
            port,
            _data: data,
        })
    }

    fn config(&self) -> Config {
        let mut config = Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user("rustydb")
            .dbname("rustydb");
        config
    }

    /// Waits until the server accepts a session (it creates its data
    /// directory first).
    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("rustydb serve exited: {status}"));
            }
            if let Ok((client, connection)) = self.config().connect(NoTls).await {
                drop(client);
                drop(connection);
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("rustydb serve did not accept a connection within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Already exited is the only failure, and then there is nothing to do.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An error with its SQLSTATE, as the server sent it.
#[derive(Debug)]
struct WireError(String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

fn wire_error(e: tokio_postgres::Error) -> WireError {
    match e.as_db_error() {
        Some(db) => WireError(format!("{} {}", db.code().code(), db.message())),
        None => WireError(e.to_string()),
    }
}

/// The column types the record being run declares, read by the session to
/// write values as the file expects them.
type ExpectedTypes = Arc<Mutex<Vec<DefaultColumnType>>>;

/// One session: the simple query protocol, so values arrive as text.
struct Wire {
    client: Client,
    cancel: CancelToken,
    connection: tokio::task::JoinHandle<()>,
    expected: ExpectedTypes,
    timeout: Duration,
}

impl Wire {
    async fn connect(
        config: Config,
        expected: ExpectedTypes,
        timeout: Duration,
    ) -> Result<Self, WireError> {
        let (client, connection) = config.connect(NoTls).await.map_err(wire_error)?;
        let connection = tokio::spawn(async move {
            // The session ends with the file; a broken one fails its records.
            let _ = connection.await;
        });
        let cancel = client.cancel_token();
        Ok(Wire {
            client,
            cancel,
            connection,
            expected,
            timeout,
        })
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// A value as SQLite's reference runner writes it for a column of type `ty`.
fn format_value(value: Option<&str>, ty: &DefaultColumnType) -> String {
    let Some(text) = value else {
        return "NULL".to_string();
    };
    let number = match text {
        "t" => Some(1.0),
        "f" => Some(0.0),
        _ => text.trim().parse::<f64>().ok(),
    };
    match ty {
        DefaultColumnType::Integer => match text.trim().parse::<i64>() {
            Ok(n) => n.to_string(),
            // Truncation toward zero, as a C cast of the value does.
            Err(_) => number.map_or_else(|| text.to_string(), |n| format!("{}", n.trunc() as i64)),
        },
        DefaultColumnType::FloatingPoint => {
            number.map_or_else(|| text.to_string(), |n| format!("{n:.3}"))
        }
        _ if text.is_empty() => "(empty)".to_string(),
        _ => text
            .chars()
            .map(|c| if (' '..='~').contains(&c) { c } else { '@' })
            .collect(),
    }
}

#[async_trait::async_trait]
impl AsyncDB for Wire {
    type Error = WireError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, WireError> {
        let messages = match tokio::time::timeout(self.timeout, self.client.simple_query(sql)).await
        {
            Ok(result) => result.map_err(wire_error)?,
            Err(_) => {
                // The statement goes on in the server until cancelled; the
                // session is usable again once it has answered the cancel.
                let _ = self.cancel.cancel_query(NoTls).await;
                return Err(WireError(format!(
                    "timed out after {} s",
                    self.timeout.as_secs()
                )));
            }
        };
        let expected = self
            .expected
            .lock()
            .map(|types| types.clone())
            .unwrap_or_default();
        let mut columns = None;
        let mut rows = Vec::new();
        let mut count = 0;
        for message in messages {
            match message {
                SimpleQueryMessage::RowDescription(description) => {
                    columns = Some(description.len());
                }
                SimpleQueryMessage::Row(row) => {
                    rows.push(
                        (0..row.len())
                            .map(|i| {
                                let ty = expected.get(i).unwrap_or(&DefaultColumnType::Text);
                                format_value(row.get(i), ty)
                            })
                            .collect(),
                    );
                }
                SimpleQueryMessage::CommandComplete(n) => count = n,
                _ => {}
            }
        }
        match columns {
            Some(n) => {
                let types = (0..n)
                    .map(|i| expected.get(i).cloned().unwrap_or(DefaultColumnType::Any))
                    .collect();
                Ok(DBOutput::Rows { types, rows })
            }
            None => Ok(DBOutput::StatementComplete(count)),
        }
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "postgresql"
    }

    async fn sleep(dur: Duration) {
        tokio::time::sleep(dur).await;
    }
}

/// SQLite's files list one value a line: the result, row by row, flattened.
fn value_wise_validator(
    normalizer: Normalizer,
    actual: &[Vec<String>],
    expected: &[String],
) -> bool {
    let actual: Vec<String> = actual.iter().flatten().map(normalizer).collect();
    let expected: Vec<String> = expected.iter().map(normalizer).collect();
    actual == expected
}

/// What one file gave.
#[derive(Default)]
struct FileResult {
    run: usize,
    passed: usize,
    skipped: usize,
    failures: Vec<String>,
    setup_error: Option<String>,
}

/// SQLite's runner reads only the label of `skipif`/`onlyif` lines, and
/// the files comment some (`onlyif sqlite # empty RHS`); the crate's parser
/// refuses the comment, so it is cut off.
fn without_label_comments(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    for line in script.lines() {
        let is_condition = line.starts_with("skipif ") || line.starts_with("onlyif ");
        match line.split_once('#') {
            Some((before, _)) if is_condition => out.push_str(before.trim_end()),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn skipped_by(conditions: &[Condition]) -> bool {
    conditions.iter().any(|c| match c {
        Condition::OnlyIf { label } => label != "postgresql",
        Condition::SkipIf { label } => label == "postgresql",
    })
}

async fn run_file(args: &Args, path: &Path) -> FileResult {
    let mut result = FileResult::default();
    let script = match std::fs::read_to_string(path) {
        Ok(text) => without_label_comments(&text),
        Err(e) => {
            result.setup_error = Some(format!("cannot read: {e}"));
            return result;
        }
    };
    let name = path.display().to_string();
    let records = match sqllogictest::parse_with_name::<DefaultColumnType>(&script, name) {
        Ok(records) => records,
        Err(e) => {
            result.setup_error = Some(format!("cannot parse: {e}"));
            return result;
        }
    };
    // Kept until the file is done: dropping it stops the server.
    let mut _server = None;
    let config = match &args.target {
        Target::Server(binary) => {
            let mut server = match Server::start(binary) {
                Ok(server) => server,
                Err(e) => {
                    result.setup_error = Some(format!("cannot start {}: {e}", binary.display()));
                    return result;
                }
            };
            if let Err(e) = server.wait_ready().await {
                result.setup_error = Some(e);
                return result;
            }
            let config = server.config();
            _server = Some(server);
            config
        }
        Target::Postgres(admin) => match fresh_postgres_database(admin).await {
            Ok(config) => config,
            Err(e) => {
                result.setup_error = Some(format!("cannot make a database: {e}"));
                return result;
            }
        },
    };
    let expected: ExpectedTypes = Arc::default();
    let session_types = Arc::clone(&expected);
    let timeout = args.timeout;
    let mut runner =
        Runner::new(move || Wire::connect(config.clone(), Arc::clone(&session_types), timeout));
    runner.with_validator(value_wise_validator);
    runner.with_column_validator(sqllogictest::default_column_validator);

    // The crate keeps the conditions before a `halt` but does not attach
    // them to it: they are gathered here so that `onlyif mssql` + `halt`
    // stops only the engines it names.
    let mut pending = Vec::new();
    for record in records {
        let conditions = match &record {
            Record::Condition(condition) => {
                pending.push(condition.clone());
                continue;
            }
            Record::Halt { .. } => {
                if skipped_by(&pending) {
                    pending.clear();
                    continue;
                }
                break;
            }
            Record::Statement { conditions, .. } | Record::Query { conditions, .. } => {
                pending.clear();
                Some(conditions.clone())
            }
            _ => None,
        };
        let types = match &record {
            Record::Query {
                expected: QueryExpect::Results { types, .. },
                ..
            } => types.clone(),
            _ => Vec::new(),
        };
        if let Ok(mut slot) = expected.lock() {
            *slot = types;
        }
        let counted = match &conditions {
            Some(c) if skipped_by(c) => {
                result.skipped += 1;
                false
            }
            Some(_) => true,
            None => false,
        };
        let outcome = runner.run_async(record).await;
        if counted {
            result.run += 1;
            match outcome {
                Ok(_) => result.passed += 1,
                Err(e) => result.failures.push(e.to_string()),
            }
        }
    }
    runner.shutdown_async().await;
    result
}

/// Drops and recreates database `slt_conformance` on the PostgreSQL server
/// `admin` points at, and returns the configuration connecting to it.
async fn fresh_postgres_database(admin: &Config) -> Result<Config, tokio_postgres::Error> {
    const DATABASE: &str = "slt_conformance";
    let (client, connection) = admin.connect(NoTls).await?;
    let connection = tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        .await?;
    client
        .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
        .await?;
    drop(client);
    connection.abort();
    let mut config = admin.clone();
    config.dbname(DATABASE);
    Ok(config)
}

fn percent(passed: usize, run: usize) -> f64 {
    if run == 0 {
        100.0
    } else {
        100.0 * passed as f64 / run as f64
    }
}

async fn run(args: Args) -> Result<bool, String> {
    let files = collect_files(&args.paths).map_err(|e| e.to_string())?;
    if files.is_empty() {
        return Err("no .test or .slt file found".into());
    }
    let (mut run, mut passed, mut skipped, mut broken) = (0, 0, 0, 0);
    for path in &files {
        let started = Instant::now();
        let result = run_file(&args, path).await;
        if let Some(error) = &result.setup_error {
            broken += 1;
            println!("{}: not run: {error}", path.display());
            continue;
        }
        println!(
            "{}: {}/{} passed ({:.1}%), {} skipped, {:.1} s",
            path.display(),
            result.passed,
            result.run,
            percent(result.passed, result.run),
            result.skipped,
            started.elapsed().as_secs_f64()
        );
        if args.verbose {
            for failure in &result.failures {
                println!("  {}", failure.replace('\n', "\n  "));
            }
        }
        run += result.run;
        passed += result.passed;
        skipped += result.skipped;
    }
    println!(
        "total: {passed}/{run} records passed ({:.2}%), {skipped} skipped, {} files, {broken} not run",
        percent(passed, run),
        files.len()
    );
    Ok(broken == 0)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
