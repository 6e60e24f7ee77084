//! The SQL logic tests of `tests/sql/*.slt` run against a real PostgreSQL 15,
//! the reference RustyDB must match. Each file gets a fresh database
//! `slt_<n>` (UTF8, C collation), made from template0 and dropped afterwards.
//!
//! `RUSTYDB_SLT_POSTGRES` holds the connection string of a superuser, e.g.
//! `host=127.0.0.1 port=54329 user=postgres`; `tests/sql/verify_with_postgres.sh`
//! starts a throwaway server and runs this test. With `RUSTYDB_SLT_COMPLETE=1`
//! the files are rewritten with PostgreSQL's answers instead of checked
//! (review the diff!); `RUSTYDB_SLT_FILTER=word` keeps the files whose name
//! contains `word`.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod slt_support;

use std::str::FromStr;

use slt_support::{DefaultColumnType, SltError};
use sqllogictest::{AsyncDB, DBOutput, Runner};
use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage};

/// One session: a tokio-postgres client speaking the simple query protocol,
/// so that values come back in PostgreSQL's text format.
struct Postgres {
    client: Client,
    connection: tokio::task::JoinHandle<()>,
}

impl Postgres {
    async fn connect(config: Config) -> Result<Self, SltError> {
        let (client, connection) = config.connect(NoTls).await.map_err(slt_error)?;
        let connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("postgres connection error: {e}");
            }
        });
        Ok(Postgres { client, connection })
    }

    /// The column types of a statement that returned rows, from describing it
    /// afterwards (the simple protocol does not send type OIDs to the client).
    /// Describing a statement that just ran cannot fail in practice; if it
    /// does, the types are `?` and the record fails on its types.
    async fn column_types(&self, sql: &str, columns: usize) -> Vec<DefaultColumnType> {
        match self.client.prepare(sql).await {
            Ok(statement) => statement
                .columns()
                .iter()
                .map(|c| slt_support::column_type_for(c.type_().name()))
                .collect(),
            Err(_) => vec![DefaultColumnType::Any; columns],
        }
    }
}

fn slt_error(e: tokio_postgres::Error) -> SltError {
    match e.as_db_error() {
        Some(db) => SltError::new(Some(db.code().code().to_string()), db.message()),
        None => SltError::new(e.code().map(|c| c.code().to_string()), e.to_string()),
    }
}

#[async_trait::async_trait]
impl AsyncDB for Postgres {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let messages = self.client.simple_query(sql).await.map_err(slt_error)?;
        let mut columns = None;
        let mut rows = Vec::new();
        let mut completed = 0usize;
        let mut count = 0;
        for message in messages {
            match message {
                SimpleQueryMessage::RowDescription(description) => {
                    columns = Some(description.len());
                }
                SimpleQueryMessage::Row(row) => {
                    rows.push(
                        (0..row.len())
                            .map(|i| slt_support::format_value(row.get(i)))
                            .collect(),
                    );
                }
                SimpleQueryMessage::CommandComplete(n) => {
                    completed += 1;
                    count = n;
                }
                _ => {}
            }
        }
        match columns {
            Some(n) => {
                let types = if completed == 1 {
                    self.column_types(sql, n).await
                } else {
                    vec![DefaultColumnType::Any; n]
                };
                Ok(DBOutput::Rows { types, rows })
            }
            None => Ok(DBOutput::StatementComplete(count)),
        }
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "postgresql"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }

    fn error_sql_state(err: &SltError) -> Option<String> {
        err.sqlstate.clone()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

async fn run_all(connection_string: &str) {
    let admin_config = Config::from_str(connection_string).unwrap();
    let admin = Postgres::connect(admin_config.clone()).await.unwrap();
    let complete = std::env::var("RUSTYDB_SLT_COMPLETE").is_ok_and(|v| v == "1");
    let files = slt_support::slt_files(&slt_support::sql_dir()).unwrap();
    assert!(!files.is_empty(), "no .slt file in tests/sql");
    let mut failures = Vec::new();
    for (index, path) in files.iter().enumerate() {
        let database = slt_support::database_name(index);
        for sql in [
            format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
            format!(
                "CREATE DATABASE {database} TEMPLATE template0 ENCODING 'UTF8' \
                 LC_COLLATE 'C' LC_CTYPE 'C'"
            ),
        ] {
            admin.client.batch_execute(&sql).await.unwrap();
        }
        let mut config = admin_config.clone();
        config.dbname(&database);
        let mut runner = Runner::new(move || Postgres::connect(config.clone()));
        slt_support::configure(&mut runner);
        let failed = if complete {
            slt_support::complete_file(&mut runner, path)
                .await
                .err()
                .map(|e| vec![format!("cannot complete {}: {e}", path.display())])
                .unwrap_or_default()
        } else {
            slt_support::run_file_collecting(&mut runner, path).await
        };
        runner.shutdown_async().await;
        drop(runner);
        println!(
            "{}: {}",
            path.display(),
            if failed.is_empty() { "ok" } else { "FAILED" }
        );
        failures.push((path.clone(), failed));
        admin
            .client
            .batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)"))
            .await
            .unwrap();
    }
    slt_support::report(&failures, files.len());
}

#[test]
#[ignore = "needs a PostgreSQL server: see tests/sql/README.md"]
fn sql_logic_tests_match_postgresql() {
    let connection_string = std::env::var("RUSTYDB_SLT_POSTGRES").expect(
        "RUSTYDB_SLT_POSTGRES: a connection string such as host=127.0.0.1 port=54329 user=postgres",
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run_all(&connection_string));
}
