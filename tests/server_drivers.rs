#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Common drivers, unmodified, against the `rustydb` binary: psycopg 3
//! (Python), node-postgres (JavaScript), and the message pattern of JDBC's
//! PgJDBC driver — Parse/Bind/Describe/Execute with a Sync after each
//! statement, named statements reused, binary parameters and results —
//! spoken byte for byte with `postgres-protocol`.
//!
//! psycopg and node-postgres are installed by `.ci/run`; elsewhere their
//! tests skip, saying how to install them, and under `CI=true` a missing
//! driver fails the test instead.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::IsNull;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;

mod binary_support;

use binary_support::{present, serve};

fn drivers_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/drivers"))
}

/// Runs a driver script against a fresh server and returns what it printed.
fn run_script(program: &str, script: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = serve(dir.path());
    let out = Command::new(program)
        .arg(script)
        .arg(port.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {} failed:\n{stdout}{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn psycopg_runs_parameterised_queries_transactions_and_errors() {
    if !present(
        Command::new("python3").args(["-c", "import psycopg"]),
        "pip install 'psycopg[binary]'",
    ) {
        return;
    }
    let out = run_script("python3", &drivers_dir().join("psycopg_client.py"));
    assert_eq!(
        out,
        "server_version 15.0\n\
         row (1, 'apple', Decimal('1.50'), True)\n\
         row (2, 'pear', None, False)\n\
         binary (2, 'pear')\n\
         error 23505\n\
         count 2\n\
         sum 8.50\n\
         status INTRANS\n\
         status IDLE\n"
    );
}

#[test]
fn node_postgres_runs_parameterised_and_named_queries() {
    let node_dir = drivers_dir().join("node");
    if !present(
        Command::new("node")
            .args(["-e", "require('pg')"])
            .current_dir(&node_dir),
        "npm ci --prefix tests/drivers/node",
    ) {
        return;
    }
    let out = run_script("node", &node_dir.join("client.js"));
    assert_eq!(
        out,
        "row {\"id\":1,\"name\":\"ada\",\"born\":\"1815-12-10\"}\n\
         row {\"id\":2,\"name\":\"alan\",\"born\":null}\n\
         command SELECT 2\n\
         named ada\n\
         named alan\n\
         after rollback alan\n\
         error 42P01\n\
         count 2\n"
    );
}

/// A client speaking the protocol message by message, as PgJDBC does.
struct Raw {
    stream: TcpStream,
    buf: BytesMut,
}

impl Raw {
    fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut raw = Raw {
            stream,
            buf: BytesMut::new(),
        };
        let mut out = BytesMut::new();
        frontend::startup_message([("user", "rustydb"), ("database", "rustydb")], &mut out)
            .unwrap();
        raw.send(out);
        let replies = raw.until_ready();
        assert_eq!(
            replies.first().map(String::as_str),
            Some("AuthenticationOk")
        );
        assert_eq!(replies.last().map(String::as_str), Some("ReadyForQuery I"));
        raw
    }

    fn send(&mut self, bytes: BytesMut) {
        self.stream.write_all(&bytes).unwrap();
    }

    /// Sends the messages `build` writes and a Sync, and returns every
    /// reply up to ReadyForQuery, each as a short line.
    fn sync(&mut self, build: impl FnOnce(&mut BytesMut)) -> Vec<String> {
        let mut out = BytesMut::new();
        build(&mut out);
        frontend::sync(&mut out);
        self.send(out);
        self.until_ready()
    }

    fn until_ready(&mut self) -> Vec<String> {
        let mut replies = Vec::new();
        loop {
            while let Some(message) = Message::parse(&mut self.buf).unwrap() {
                let line = describe(message);
                let done = line.starts_with("ReadyForQuery");
                if !line.starts_with("ParameterStatus") && !line.starts_with("BackendKeyData") {
                    replies.push(line);
                }
                if done {
                    return replies;
                }
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "server closed the connection after {replies:?}");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// A backend message as one line: its name and what a test checks of it.
fn describe(message: Message) -> String {
    match message {
        Message::AuthenticationOk => "AuthenticationOk".into(),
        Message::ParseComplete => "ParseComplete".into(),
        Message::BindComplete => "BindComplete".into(),
        Message::CloseComplete => "CloseComplete".into(),
        Message::NoData => "NoData".into(),
        Message::PortalSuspended => "PortalSuspended".into(),
        Message::EmptyQueryResponse => "EmptyQueryResponse".into(),
        Message::ParameterStatus(_) => "ParameterStatus".into(),
        Message::BackendKeyData(_) => "BackendKeyData".into(),
        Message::ParameterDescription(body) => format!(
            "ParameterDescription {:?}",
            body.parameters().collect::<Vec<u32>>().unwrap()
        ),
        Message::RowDescription(body) => format!(
            "RowDescription {:?}",
            body.fields()
                .map(|f| Ok(format!("{}:{}:{}", f.name(), f.type_oid(), f.format())))
                .collect::<Vec<String>>()
                .unwrap()
        ),
        Message::DataRow(body) => {
            let buffer = body.buffer();
            let values: Vec<String> = body
                .ranges()
                .map(|r| {
                    Ok(match r {
                        None => "NULL".to_owned(),
                        Some(r) => match std::str::from_utf8(&buffer[r.clone()]) {
                            Ok(s) if s.chars().all(|c| !c.is_control()) => s.to_owned(),
                            _ => format!("0x{}", hex(&buffer[r])),
                        },
                    })
                })
                .collect()
                .unwrap();
            format!("DataRow {values:?}")
        }
        Message::CommandComplete(body) => format!("CommandComplete {}", body.tag().unwrap()),
        Message::ErrorResponse(body) => {
            let code = body
                .fields()
                .find(|f| Ok(f.type_() == b'C'))
                .unwrap()
                .map(|f| String::from_utf8_lossy(f.value_bytes()).into_owned())
                .unwrap_or_default();
            format!("ErrorResponse {code}")
        }
        Message::ReadyForQuery(body) => format!("ReadyForQuery {}", body.status() as char),
        _ => "other".into(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const INT8: u32 = 20;
const TEXT: u32 = 25;

/// Binds `statement` to the unnamed portal with `id` as a binary int8 and
/// `v` as text, results in `result_format`, and executes it.
fn bind_execute(out: &mut BytesMut, statement: &str, id: i64, v: Option<&str>, result_format: i16) {
    let values: Vec<Option<Vec<u8>>> = vec![
        Some(id.to_be_bytes().to_vec()),
        v.map(|v| v.as_bytes().to_vec()),
    ];
    frontend::bind(
        "",
        statement,
        [1, 0],
        values,
        |value, buf| match value {
            Some(bytes) => {
                buf.put_slice(&bytes);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        },
        [result_format],
        out,
    )
    .map_err(|_| "bind")
    .unwrap();
    frontend::execute("", 0, out).unwrap();
}

#[test]
fn jdbc_style_extended_queries_with_a_sync_per_statement() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = serve(dir.path());
    let mut c = Raw::connect(port);

    // DDL through the unnamed statement, described as a portal.
    assert_eq!(
        c.sync(|out| {
            frontend::parse(
                "",
                "CREATE TABLE j (id bigint PRIMARY KEY, v text)",
                [],
                out,
            )
            .unwrap();
            frontend::bind(
                "",
                "",
                [],
                Vec::<Option<Vec<u8>>>::new(),
                |_, _| Ok(IsNull::Yes),
                [],
                out,
            )
            .map_err(|_| "bind")
            .unwrap();
            frontend::describe(b'P', "", out).unwrap();
            frontend::execute("", 0, out).unwrap();
        }),
        [
            "ParseComplete",
            "BindComplete",
            "NoData",
            "CommandComplete CREATE TABLE",
            "ReadyForQuery I"
        ]
    );

    // A named statement with declared types, described once...
    assert_eq!(
        c.sync(|out| {
            frontend::parse("S_1", "INSERT INTO j VALUES ($1, $2)", [INT8, TEXT], out).unwrap();
            frontend::describe(b'S', "S_1", out).unwrap();
        }),
        [
            "ParseComplete",
            "ParameterDescription [20, 25]",
            "NoData",
            "ReadyForQuery I"
        ]
    );
    // ...and executed many times with binary parameters, a Sync each.
    for (id, v) in [(1, Some("one")), (2, None), (3, Some("three"))] {
        assert_eq!(
            c.sync(|out| bind_execute(out, "S_1", id, v, 0)),
            [
                "BindComplete",
                "CommandComplete INSERT 0 1",
                "ReadyForQuery I"
            ]
        );
    }

    // ReadyForQuery reports the transaction: in a block, failed, idle again.
    let simple = |c: &mut Raw, sql: &str| {
        c.sync(|out| {
            frontend::parse("", sql, [], out).unwrap();
            frontend::bind(
                "",
                "",
                [],
                Vec::<Option<Vec<u8>>>::new(),
                |_, _| Ok(IsNull::Yes),
                [],
                out,
            )
            .map_err(|_| "bind")
            .unwrap();
            frontend::execute("", 0, out).unwrap();
        })
    };
    assert_eq!(
        simple(&mut c, "BEGIN"),
        [
            "ParseComplete",
            "BindComplete",
            "CommandComplete BEGIN",
            "ReadyForQuery T"
        ]
    );
    assert_eq!(
        c.sync(|out| bind_execute(out, "S_1", 1, Some("again"), 0)),
        ["BindComplete", "ErrorResponse 23505", "ReadyForQuery E"]
    );
    assert_eq!(
        simple(&mut c, "ROLLBACK"),
        [
            "ParseComplete",
            "BindComplete",
            "CommandComplete ROLLBACK",
            "ReadyForQuery I"
        ]
    );

    // A parameter type left to the server is inferred; results come back
    // in binary, a portal read two rows at a time.
    assert_eq!(
        c.sync(|out| {
            frontend::parse(
                "S_2",
                "SELECT id, v FROM j WHERE id >= $1 ORDER BY id",
                [0],
                out,
            )
            .unwrap();
            frontend::describe(b'S', "S_2", out).unwrap();
        }),
        [
            "ParseComplete",
            "ParameterDescription [20]",
            "RowDescription [\"id:20:0\", \"v:25:0\"]",
            "ReadyForQuery I"
        ]
    );
    assert_eq!(
        c.sync(|out| {
            frontend::bind(
                "",
                "S_2",
                [1],
                [Some(1i64.to_be_bytes().to_vec())],
                |value: Option<Vec<u8>>, buf| {
                    buf.put_slice(&value.unwrap_or_default());
                    Ok(IsNull::No)
                },
                [1],
                out,
            )
            .map_err(|_| "bind")
            .unwrap();
            frontend::execute("", 2, out).unwrap();
            frontend::execute("", 2, out).unwrap();
        }),
        [
            "BindComplete",
            "DataRow [\"0x0000000000000001\", \"one\"]",
            "DataRow [\"0x0000000000000002\", \"NULL\"]",
            "PortalSuspended",
            "DataRow [\"0x0000000000000003\", \"three\"]",
            "CommandComplete SELECT 1",
            "ReadyForQuery I"
        ]
    );

    // A closed statement is gone: binding it again is 26000.
    assert_eq!(
        c.sync(|out| frontend::close(b'S', "S_1", out).unwrap()),
        ["CloseComplete", "ReadyForQuery I"]
    );
    assert_eq!(
        c.sync(|out| bind_execute(out, "S_1", 9, None, 0)),
        ["ErrorResponse 26000", "ReadyForQuery I"]
    );
}
