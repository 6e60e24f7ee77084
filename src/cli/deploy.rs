//! `rustydb deploy`: ship a WebAssembly component to a running server.
//!
//! Deploying is plain SQL over the wire — `CREATE [OR REPLACE] MODULE name
//! FROM $1` with the file as a `bytea` parameter — so it needs nothing a
//! driver does not have, goes through the server's authentication and
//! privileges like any client, and fails with the server's own error.
//! With `--data-dir` the same statement runs on the embedded engine
//! instead, for preparing a data directory while no server runs.

use std::path::Path;

use super::{CliError, DeployArgs};

/// The statement that deploys module `name`.
pub fn deploy_statement(name: &str, replace: bool) -> String {
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    let verb = if replace {
        "CREATE OR REPLACE"
    } else {
        "CREATE"
    };
    format!("{verb} MODULE {quoted} FROM $1")
}

fn module_name(file: &Path) -> Result<String, CliError> {
    file.file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            CliError::Client(format!(
                "cannot derive a module name from {}",
                file.display()
            ))
        })
}

/// `rustydb deploy`.
pub fn deploy(args: &DeployArgs) -> Result<(), CliError> {
    let bytes = std::fs::read(&args.file)
        .map_err(CliError::io(format!("reading {}", args.file.display())))?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => module_name(&args.file)?,
    };
    if let Some(dir) = &args.data_dir {
        return deploy_embedded(dir, &name, args.replace, bytes);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("starting the runtime"))?;
    runtime.block_on(async {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&args.host)
            .port(args.port)
            .user(&args.user)
            .dbname(&args.dbname)
            .application_name("rustydb deploy");
        if let Ok(password) = std::env::var("PGPASSWORD") {
            config.password(password);
        }
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| CliError::Client(describe(&e)))?;
        let driver = tokio::spawn(connection);
        client
            .execute(&deploy_statement(&name, args.replace), &[&bytes])
            .await
            .map_err(|e| CliError::Client(describe(&e)))?;
        drop(client);
        let _ = driver.await;
        println!("deployed module {name} ({} bytes)", bytes.len());
        Ok(())
    })
}

/// The same statement, run on an embedded database with the Wasm host:
/// for setting up a data directory before the server starts.
fn deploy_embedded(dir: &Path, name: &str, replace: bool, bytes: Vec<u8>) -> Result<(), CliError> {
    use rustydb_engine::sql::DatabaseOptions;
    use rustydb_engine::types::Value;

    let db = crate::wasm::open_database(dir, DatabaseOptions::default())
        .map_err(|e| CliError::Statement(format!("{}: {e}", e.code())))?;
    let mut session = db.session();
    let size = bytes.len();
    session
        .prepare(&deploy_statement(name, replace))
        .and_then(|p| session.execute_prepared(&p, &[Value::Bytea(bytes)]))
        .map_err(|e| CliError::Statement(format!("{}: {e}", e.sqlstate())))?;
    println!(
        "deployed module {name} ({size} bytes) into {}",
        dir.display()
    );
    Ok(())
}

fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_quote_the_name() {
        assert_eq!(
            deploy_statement("scorer", false),
            "CREATE MODULE \"scorer\" FROM $1"
        );
        assert_eq!(
            deploy_statement("a\"b", true),
            "CREATE OR REPLACE MODULE \"a\"\"b\" FROM $1"
        );
    }
}
