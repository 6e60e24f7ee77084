//! A test double for the server's `Backend`: a tiny in-memory table engine
//! that understands exactly the statements the wire tests send, and nothing
//! more. It exists so the protocol can be tested before the SQL engine is
//! wired in; it is not a database.
//!
//! Understood: `CREATE TABLE t (col type, ...)`, `INSERT INTO t VALUES
//! (...), ...`, `SELECT * FROM t`, `SELECT $1::type, $2::type, ...`,
//! `SELECT generate_series(1, n)`, `SELECT pg_sleep(seconds)` (polls the
//! cancel flag), `NOTICE 'text'`, `BEGIN`/`COMMIT`/`ROLLBACK` (state only),
//! `COPY t FROM STDIN` / `COPY t TO STDOUT` with `(FORMAT csv[, HEADER])`,
//! `ALTER ROLE r PASSWORD 'p'`, `CREATE [OR REPLACE] MODULE m FROM $1`.

#![allow(clippy::unwrap_used, dead_code)] // test code: a panic is the failure report

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustydb::engine::types::{DataType, Value, parse};
use rustydb::server::{
    Backend, BackendError, BackendResult, Column, CopyFormat, Notice, Outcome, PasswordVerifier,
    PreparedStatement, Server, ServerOptions, Session, TransactionState,
};

#[derive(Default)]
pub struct Store {
    tables: HashMap<String, (Vec<Column>, Vec<Vec<Value>>)>,
    passwords: HashMap<String, PasswordVerifier>,
    pub modules: HashMap<String, Vec<u8>>,
}

#[derive(Clone, Default)]
pub struct MemBackend {
    pub store: Arc<Mutex<Store>>,
    pub shut_down: Arc<AtomicBool>,
}

pub struct MemSession {
    store: Arc<Mutex<Store>>,
    state: TransactionState,
    cancel: Arc<AtomicBool>,
    notices: Vec<Notice>,
    copy_target: Option<String>,
}

pub struct MemPrepared {
    sql: String,
    params: Vec<DataType>,
    columns: Vec<Column>,
}

impl PreparedStatement for MemPrepared {
    fn parameter_types(&self) -> Vec<DataType> {
        self.params.clone()
    }
    fn columns(&self) -> Vec<Column> {
        self.columns.clone()
    }
}

fn err(code: &str, message: impl Into<String>) -> BackendError {
    BackendError::new(code, message)
}

/// Splits on `sep` outside quotes and parentheses.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut quoted) = (Vec::new(), String::new(), 0, false);
    for c in s.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            c if c == sep && !quoted && depth == 0 => {
                out.push(std::mem::take(&mut cur).trim().to_owned());
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

fn literal(text: &str, ty: &DataType) -> BackendResult<Value> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("null") {
        return Ok(Value::Null);
    }
    let raw = match text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => text.to_owned(),
    };
    parse(&raw, ty).map_err(|e| err(e.sqlstate().code(), e.to_string()))
}

fn copy_format(options: &str) -> CopyFormat {
    let lower = options.to_ascii_lowercase();
    if lower.contains("csv") {
        CopyFormat::csv(lower.contains("header"))
    } else {
        CopyFormat::text()
    }
}

impl MemSession {
    fn table<R>(
        &self,
        name: &str,
        f: impl FnOnce(&mut (Vec<Column>, Vec<Vec<Value>>)) -> R,
    ) -> BackendResult<R> {
        let mut store = self.store.lock().unwrap();
        let table = store
            .tables
            .get_mut(name)
            .ok_or_else(|| err("42P01", format!("relation \"{name}\" does not exist")))?;
        Ok(f(table))
    }

    /// Parameter types and columns of `SELECT $1::t, $2::t`.
    fn param_select(sql: &str) -> Option<(Vec<DataType>, Vec<Column>)> {
        let list = sql.strip_prefix("SELECT $")?;
        let mut params = Vec::new();
        for (i, item) in split_top(&format!("${list}"), ',').iter().enumerate() {
            let (_, ty) = item.split_once("::")?;
            params.push(ty.trim().parse::<DataType>().ok()?);
            let _ = i;
        }
        let columns = params
            .iter()
            .enumerate()
            .map(|(i, t)| Column::new(format!("p{}", i + 1), *t))
            .collect();
        Some((params, columns))
    }

    fn run(&mut self, sql: &str, params: &[Value]) -> BackendResult<Outcome> {
        let sql = sql.trim().trim_end_matches(';').trim();
        let upper = sql.to_ascii_uppercase();
        if self.state == TransactionState::Failed && upper != "ROLLBACK" && upper != "COMMIT" {
            return Err(err(
                "25P02",
                "current transaction is aborted, commands ignored until end of transaction block",
            ));
        }
        let command = |tag: &str| {
            Ok(Outcome::Command {
                tag: tag.to_owned(),
            })
        };
        match upper.as_str() {
            "BEGIN" | "START TRANSACTION" => {
                self.state = TransactionState::InBlock;
                return command("BEGIN");
            }
            "COMMIT" => {
                let tag = if self.state == TransactionState::Failed {
                    "ROLLBACK"
                } else {
                    "COMMIT"
                };
                self.state = TransactionState::Idle;
                return command(tag);
            }
            "ROLLBACK" => {
                self.state = TransactionState::Idle;
                return command("ROLLBACK");
            }
            "" => return Ok(Outcome::Empty),
            _ => {}
        }
        if let Some(rest) = sql.strip_prefix("NOTICE ") {
            self.notices.push(Notice {
                severity: "NOTICE".into(),
                code: "00000".into(),
                message: rest.trim_matches('\'').to_owned(),
            });
            return command("DO");
        }
        if let Some(rest) = sql.strip_prefix("CREATE TABLE ") {
            let (name, cols) = rest
                .split_once('(')
                .ok_or_else(|| err("42601", "syntax error"))?;
            let cols = cols.trim_end_matches(')');
            let columns = split_top(cols, ',')
                .iter()
                .map(|c| {
                    let (n, t) = c
                        .split_once(' ')
                        .ok_or_else(|| err("42601", "syntax error"))?;
                    let ty = t
                        .parse::<DataType>()
                        .map_err(|e| err("42704", e.to_string()))?;
                    Ok(Column::new(n, ty))
                })
                .collect::<BackendResult<Vec<_>>>()?;
            self.store
                .lock()
                .unwrap()
                .tables
                .insert(name.trim().to_owned(), (columns, Vec::new()));
            return command("CREATE TABLE");
        }
        if let Some(rest) = sql.strip_prefix("INSERT INTO ") {
            let (name, values) = rest
                .split_once(" VALUES ")
                .ok_or_else(|| err("42601", "syntax error"))?;
            let tuples = split_top(values, ',');
            let n = self.table(name.trim(), |(columns, rows)| {
                let mut new_rows = Vec::new();
                for tuple in &tuples {
                    let inner = tuple.trim().trim_start_matches('(').trim_end_matches(')');
                    let items = split_top(inner, ',');
                    if items.len() != columns.len() {
                        return Err(err("42601", "INSERT has the wrong number of expressions"));
                    }
                    new_rows.push(
                        items
                            .iter()
                            .zip(columns.iter())
                            .map(|(item, c)| literal(item, &c.data_type))
                            .collect::<BackendResult<Vec<_>>>()?,
                    );
                }
                let n = new_rows.len();
                rows.extend(new_rows);
                Ok(n)
            })??;
            return command(&format!("INSERT 0 {n}"));
        }
        if let Some(name) = sql.strip_prefix("SELECT * FROM ") {
            let (columns, rows) = self.table(name.trim(), |(c, r)| (c.clone(), r.clone()))?;
            let tag = format!("SELECT {}", rows.len());
            return Ok(Outcome::Rows { columns, rows, tag });
        }
        if let Some(n) = sql
            .strip_prefix("SELECT generate_series(1, ")
            .and_then(|r| r.strip_suffix(')'))
        {
            let n: i32 = n.trim().parse().map_err(|_| err("42601", "syntax error"))?;
            let rows: Vec<Vec<Value>> = (1..=n).map(|i| vec![Value::Int4(i)]).collect();
            return Ok(Outcome::Rows {
                columns: vec![Column::new("generate_series", DataType::Int4)],
                tag: format!("SELECT {}", rows.len()),
                rows,
            });
        }
        if let Some(secs) = sql
            .strip_prefix("SELECT pg_sleep(")
            .and_then(|r| r.strip_suffix(')'))
        {
            let secs: f64 = secs
                .trim()
                .parse()
                .map_err(|_| err("42601", "syntax error"))?;
            let until = Instant::now() + Duration::from_secs_f64(secs);
            while Instant::now() < until {
                if self.cancel.load(Ordering::SeqCst) {
                    return Err(err("57014", "canceling statement due to user request"));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            return Ok(Outcome::Rows {
                columns: vec![Column::new("pg_sleep", DataType::Text)],
                rows: vec![vec![Value::Text(String::new())]],
                tag: "SELECT 1".into(),
            });
        }
        if let Some((_, columns)) = Self::param_select(sql) {
            let row = params.to_vec();
            return Ok(Outcome::Rows {
                columns,
                rows: vec![row],
                tag: "SELECT 1".into(),
            });
        }
        if let Some(rest) = sql.strip_prefix("COPY ") {
            let (name, rest) = rest
                .split_once(' ')
                .ok_or_else(|| err("42601", "syntax error"))?;
            let columns = self.table(name, |(c, _)| c.clone())?;
            if let Some(options) = rest.strip_prefix("FROM STDIN") {
                self.copy_target = Some(name.to_owned());
                return Ok(Outcome::CopyIn {
                    columns,
                    format: copy_format(options),
                });
            }
            if let Some(options) = rest.strip_prefix("TO STDOUT") {
                let rows = self.table(name, |(_, r)| r.clone())?;
                return Ok(Outcome::CopyOut {
                    columns,
                    format: copy_format(options),
                    rows,
                });
            }
        }
        if let Some(rest) = sql.strip_prefix("ALTER ROLE ") {
            let (role, pw) = rest
                .split_once(" PASSWORD ")
                .ok_or_else(|| err("42601", "syntax error"))?;
            let verifier = PasswordVerifier::derive(pw.trim_matches('\''), b"test-salt-1234", 4096);
            self.store
                .lock()
                .unwrap()
                .passwords
                .insert(role.to_owned(), verifier);
            return command("ALTER ROLE");
        }
        let module = sql
            .strip_prefix("CREATE OR REPLACE MODULE ")
            .or_else(|| sql.strip_prefix("CREATE MODULE "));
        if let Some(rest) = module {
            let name = rest
                .strip_suffix(" FROM $1")
                .ok_or_else(|| err("42601", "syntax error"))?;
            let name = name.trim_matches('"').to_owned();
            let Some(Value::Bytea(bytes)) = params.first() else {
                return Err(err("22023", "module body must be bytea"));
            };
            let mut store = self.store.lock().unwrap();
            if !upper.contains("OR REPLACE") && store.modules.contains_key(&name) {
                return Err(err("42710", format!("module \"{name}\" already exists")));
            }
            store.modules.insert(name, bytes.clone());
            return command("CREATE MODULE");
        }
        Err(err(
            "42601",
            format!(
                "syntax error at or near \"{}\"",
                sql.split(' ').next().unwrap_or("")
            ),
        ))
    }

    fn fail(&mut self, e: BackendError) -> BackendError {
        if self.state == TransactionState::InBlock {
            self.state = TransactionState::Failed;
        }
        e
    }
}

impl Session for MemSession {
    type Prepared = MemPrepared;

    fn simple_query(&mut self, sql: &str) -> Vec<BackendResult<Outcome>> {
        let mut out = Vec::new();
        for statement in split_top(sql, ';') {
            let result = self.run(&statement, &[]).map_err(|e| self.fail(e));
            let stop = matches!(result, Err(_) | Ok(Outcome::CopyIn { .. }));
            out.push(result);
            if stop {
                break;
            }
        }
        out
    }

    fn prepare(&mut self, sql: &str, declared: &[Option<DataType>]) -> BackendResult<MemPrepared> {
        let sql = sql.trim().to_owned();
        let (mut params, columns) = if let Some(found) = Self::param_select(&sql) {
            found
        } else if let Some(name) = sql.strip_prefix("SELECT * FROM ") {
            (
                Vec::new(),
                self.table(name.trim(), |(c, _)| c.clone())
                    .map_err(|e| self.fail(e))?,
            )
        } else if sql.starts_with("SELECT generate_series") {
            (
                Vec::new(),
                vec![Column::new("generate_series", DataType::Int4)],
            )
        } else if sql.contains("MODULE") {
            (vec![DataType::Bytea], Vec::new())
        } else if sql.starts_with("SELECT") && !sql.starts_with("SELECT pg_sleep") {
            return Err(self.fail(err("42601", "syntax error")));
        } else {
            (Vec::new(), Vec::new())
        };
        for (i, d) in declared.iter().enumerate() {
            if let (Some(d), Some(p)) = (d, params.get_mut(i)) {
                *p = *d;
            }
        }
        Ok(MemPrepared {
            sql,
            params,
            columns,
        })
    }

    fn execute(&mut self, statement: &MemPrepared, params: &[Value]) -> BackendResult<Outcome> {
        self.run(&statement.sql, params).map_err(|e| self.fail(e))
    }

    fn copy_in(&mut self, rows: Vec<Vec<Value>>) -> BackendResult<u64> {
        let name = self
            .copy_target
            .take()
            .ok_or_else(|| err("08P01", "no COPY in progress"))?;
        let n = rows.len() as u64;
        self.table(&name, |(_, r)| r.extend(rows))?;
        Ok(n)
    }

    fn copy_abort(&mut self, _error: &BackendError) {
        self.copy_target = None;
        if self.state == TransactionState::InBlock {
            self.state = TransactionState::Failed;
        }
    }

    fn transaction_state(&self) -> TransactionState {
        self.state
    }

    fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }
}

impl Backend for MemBackend {
    type Session = MemSession;

    fn connect(&self, user: &str, database: &str) -> BackendResult<MemSession> {
        if database == "nosuchdb" {
            return Err(err(
                "3D000",
                format!("database \"{database}\" does not exist"),
            ));
        }
        let _ = user;
        Ok(MemSession {
            store: Arc::clone(&self.store),
            state: TransactionState::Idle,
            cancel: Arc::new(AtomicBool::new(false)),
            notices: Vec::new(),
            copy_target: None,
        })
    }

    fn passwords_enabled(&self) -> bool {
        !self.store.lock().unwrap().passwords.is_empty()
    }

    fn password_verifier(&self, user: &str) -> Option<PasswordVerifier> {
        self.store.lock().unwrap().passwords.get(user).cloned()
    }

    fn description(&self) -> String {
        "the in-memory test backend".into()
    }

    fn shutdown(&self) -> BackendResult<()> {
        self.shut_down.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// A server on an ephemeral loopback port, running until the returned
/// sender is dropped or sent to.
pub struct TestServer {
    pub port: u16,
    pub backend: MemBackend,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<BackendResult<()>>,
}

pub async fn start(options: ServerOptions) -> TestServer {
    let backend = MemBackend::default();
    let server = Server::bind("127.0.0.1:0", Arc::new(backend.clone()), options)
        .await
        .unwrap();
    let port = server.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    TestServer {
        port,
        backend,
        stop: Some(tx),
        task,
    }
}

pub async fn connect(port: u16) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=rustydb dbname=rustydb"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    client
}
