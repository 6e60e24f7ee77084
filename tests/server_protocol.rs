#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The wire protocol end to end: tokio-postgres against the server over
//! loopback, with the in-memory test backend behind it.

mod server_support;

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt, pin_mut};
use rust_decimal::Decimal;
use rustydb::server::ServerOptions;
use server_support::{connect, start};
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::types::{Json, ToSql, Type};

#[tokio::test]
async fn simple_query_rows_tags_and_parameter_status() {
    let server = start(ServerOptions::default()).await;
    let client = connect(server.port).await;
    let messages = client
        .simple_query(
            "CREATE TABLE t (id int4, name text); INSERT INTO t VALUES (1, 'a'), (2, NULL); SELECT * FROM t",
        )
        .await
        .unwrap();
    let mut tags = Vec::new();
    let mut rows = Vec::new();
    for m in messages {
        match m {
            SimpleQueryMessage::CommandComplete(n) => tags.push(n),
            SimpleQueryMessage::Row(r) => {
                rows.push((r.get(0).map(str::to_owned), r.get(1).map(str::to_owned)))
            }
            _ => {}
        }
    }
    assert_eq!(tags, [0, 2, 2]);
    assert_eq!(
        rows,
        [
            (Some("1".into()), Some("a".into())),
            (Some("2".into()), None)
        ]
    );
    // Empty query.
    client.simple_query(";").await.unwrap();
    // An error names its SQLSTATE and the connection stays usable.
    let e = client
        .simple_query("SELECT * FROM missing")
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "42P01");
    assert_eq!(
        client
            .query_one("SELECT generate_series(1, 1)", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        1
    );
}

#[tokio::test]
async fn every_type_round_trips_in_binary_and_text() {
    let server = start(ServerOptions::default()).await;
    let client = connect(server.port).await;
    let dec = Decimal::new(-123_456_789, 4);
    let json = serde_json::json!({"a": [1, 2]});
    let row = client
        .query_one(
            "SELECT $1::bool, $2::int2, $3::int4, $4::int8, $5::float4, $6::float8, $7::numeric, $8::text, $9::varchar, $10::bytea, $11::json, $12::jsonb",
            &[
                &true,
                &-7i16,
                &123_456i32,
                &-9_000_000_000i64,
                &1.5f32,
                &-2.25f64,
                &dec,
                &"héllo",
                &"v",
                &vec![0u8, 255, 10],
                &Json(&json),
                &Json(&json),
            ],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, i16>(1), -7);
    assert_eq!(row.get::<_, i32>(2), 123_456);
    assert_eq!(row.get::<_, i64>(3), -9_000_000_000);
    assert_eq!(row.get::<_, f32>(4), 1.5);
    assert_eq!(row.get::<_, f64>(5), -2.25);
    assert_eq!(row.get::<_, Decimal>(6), dec);
    assert_eq!(row.get::<_, String>(7), "héllo");
    assert_eq!(row.get::<_, String>(8), "v");
    assert_eq!(row.get::<_, Vec<u8>>(9), vec![0u8, 255, 10]);
    assert_eq!(row.get::<_, Json<serde_json::Value>>(10).0, json);
    assert_eq!(row.get::<_, Json<serde_json::Value>>(11).0, json);

    let date = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let ts = date.and_hms_micro_opt(13, 14, 15, 123_456).unwrap();
    let tstz = chrono::DateTime::<chrono::Utc>::from_naive_utc_and_offset(ts, chrono::Utc);
    let row = client
        .query_one(
            "SELECT $1::date, $2::timestamp, $3::timestamptz",
            &[&date, &ts, &tstz],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, chrono::NaiveDate>(0), date);
    assert_eq!(row.get::<_, chrono::NaiveDateTime>(1), ts);
    assert_eq!(row.get::<_, chrono::DateTime<chrono::Utc>>(2), tstz);

    // Text format both ways: parameters as strings of unknown type, results
    // read through the simple protocol's text.
    let stmt = client
        .prepare_typed(
            "SELECT $1::interval, $2::numeric, $3::bpchar",
            &[Type::TEXT, Type::TEXT, Type::TEXT],
        )
        .await;
    assert!(stmt.is_ok());
    let text = client
        .simple_query("CREATE TABLE i (v interval, n numeric, d date); INSERT INTO i VALUES ('1 day 02:00:00', 1.50, '2000-01-01'); SELECT * FROM i")
        .await
        .unwrap();
    let row = text
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((
                r.get(0).unwrap().to_owned(),
                r.get(1).unwrap().to_owned(),
                r.get(2).unwrap().to_owned(),
            )),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        row,
        ("1 day 02:00:00".into(), "1.50".into(), "2000-01-01".into())
    );

    // Interval in binary: tokio-postgres has no interval type, so read raw.
    let rows = client.query("SELECT * FROM i", &[]).await.unwrap();
    let raw: RawBytes = rows[0].get(0);
    let mut expected = Vec::new();
    expected.extend_from_slice(&(2i64 * 3_600_000_000).to_be_bytes());
    expected.extend_from_slice(&1i32.to_be_bytes());
    expected.extend_from_slice(&0i32.to_be_bytes());
    assert_eq!(raw.0, expected);
    // NULL parameters come back as NULL.
    let row = client
        .query_one("SELECT $1::int4", &[&None::<i32>])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<i32>>(0), None);
}

struct RawBytes(Vec<u8>);

impl<'a> tokio_postgres::types::FromSql<'a> for RawBytes {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawBytes(raw.to_vec()))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

#[tokio::test]
async fn bad_binary_parameters_are_errors_not_crashes() {
    let server = start(ServerOptions::default()).await;
    let client = connect(server.port).await;
    // An int8 where int4 is declared: four bytes expected, eight sent.
    let stmt = client
        .prepare_typed("SELECT $1::int4", &[Type::INT4])
        .await
        .unwrap();
    struct Wrong;
    impl std::fmt::Debug for Wrong {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Wrong")
        }
    }
    impl ToSql for Wrong {
        fn to_sql(
            &self,
            _: &Type,
            out: &mut bytes::BytesMut,
        ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
        {
            out.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
            Ok(tokio_postgres::types::IsNull::No)
        }
        fn accepts(_: &Type) -> bool {
            true
        }
        tokio_postgres::types::to_sql_checked!();
    }
    let e = client.query(&stmt, &[&Wrong]).await.unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22P03");
    assert_eq!(
        client
            .query_one("SELECT $1::int4", &[&4i32])
            .await
            .unwrap()
            .get::<_, i32>(0),
        4
    );
}

#[tokio::test]
async fn named_portals_suspend_at_max_rows() {
    let server = start(ServerOptions::default()).await;
    let mut client = connect(server.port).await;
    let tx = client.transaction().await.unwrap();
    let stmt = tx.prepare("SELECT generate_series(1, 10)").await.unwrap();
    let portal = tx.bind(&stmt, &[]).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let batch = tx.query_portal(&portal, 3).await.unwrap();
        assert!(batch.len() <= 3);
        seen.extend(batch.iter().map(|r| r.get::<_, i32>(0)));
    }
    assert_eq!(seen, (1..=10).collect::<Vec<_>>());
    assert!(tx.query_portal(&portal, 3).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn transaction_status_follows_the_session() {
    let server = start(ServerOptions::default()).await;
    let client = connect(server.port).await;
    client.batch_execute("BEGIN").await.unwrap();
    let e = client
        .batch_execute("SELECT * FROM missing")
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "42P01");
    let e = client
        .batch_execute("SELECT generate_series(1, 2)")
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "25P02");
    let messages = client.simple_query("COMMIT").await.unwrap();
    assert!(matches!(
        messages.last(),
        Some(SimpleQueryMessage::CommandComplete(_))
    ));
    assert_eq!(
        client
            .query("SELECT generate_series(1, 2)", &[])
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn notices_reach_the_client() {
    let server = start(ServerOptions::default()).await;
    let (client, mut connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={} user=rustydb", server.port),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let stream = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        pin_mut!(stream);
        while let Some(Ok(message)) = stream.next().await {
            if let tokio_postgres::AsyncMessage::Notice(n) = message {
                let _ = tx.send((n.code().code().to_owned(), n.message().to_owned()));
            }
        }
    });
    client.batch_execute("NOTICE 'hello there'").await.unwrap();
    let (code, message) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code, "00000");
    assert_eq!(message, "hello there");
}

#[tokio::test]
async fn copy_in_and_out_in_text_and_csv() {
    let server = start(ServerOptions::default()).await;
    let client = connect(server.port).await;
    client
        .batch_execute("CREATE TABLE c (id int4, note text)")
        .await
        .unwrap();
    let sink = client.copy_in("COPY c FROM STDIN").await.unwrap();
    pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"1\tone\n2\t\\N\n3\ttab\\there"))
        .await
        .unwrap();
    sink.send(bytes::Bytes::from_static(b"\n")).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 3);
    let sink = client
        .copy_in("COPY c FROM STDIN WITH (FORMAT csv, HEADER)")
        .await
        .unwrap();
    pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(
        b"id,note\n4,\"multi\nline, quoted\"\n",
    ))
    .await
    .unwrap();
    assert_eq!(sink.finish().await.unwrap(), 1);

    let stream = client.copy_out("COPY c TO STDOUT").await.unwrap();
    pin_mut!(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "1\tone\n2\t\\N\n3\ttab\\there\n4\tmulti\\nline, quoted\n"
    );

    let stream = client
        .copy_out("COPY c TO STDOUT WITH (FORMAT csv, HEADER)")
        .await
        .unwrap();
    pin_mut!(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "id,note\n1,one\n2,\n3,tab\there\n4,\"multi\nline, quoted\"\n"
    );

    // A bad row fails the whole COPY and stores nothing.
    let sink = client.copy_in("COPY c FROM STDIN").await.unwrap();
    pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"5\tok\nnot-a-number\tx\n"))
        .await
        .unwrap();
    let e = sink.finish().await.unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22P02");
    assert_eq!(client.query("SELECT * FROM c", &[]).await.unwrap().len(), 4);
}

#[tokio::test]
async fn cancel_interrupts_a_running_statement_quickly() {
    let server = start(ServerOptions::default()).await;
    let client = connect(server.port).await;
    let token = client.cancel_token();
    let running = tokio::spawn(async move {
        let started = Instant::now();
        let e = client
            .simple_query("SELECT pg_sleep(30)")
            .await
            .unwrap_err();
        (
            e.code().unwrap().code().to_owned(),
            started.elapsed(),
            client,
        )
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = Instant::now();
    token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    let (code, _, client) = running.await.unwrap();
    let latency = sent.elapsed();
    assert_eq!(code, "57014");
    assert!(
        latency < Duration::from_millis(100),
        "cancel took {latency:?}"
    );
    // The next statement is not cancelled by the old request.
    assert_eq!(
        client
            .query("SELECT generate_series(1, 3)", &[])
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn connection_limit_answers_53300() {
    let server = start(ServerOptions {
        max_connections: 2,
        ..ServerOptions::default()
    })
    .await;
    let a = connect(server.port).await;
    let b = connect(server.port).await;
    let e = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={} user=rustydb", server.port),
        tokio_postgres::NoTls,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(e.code().unwrap().code(), "53300");
    assert_eq!(
        e.as_db_error().unwrap().message(),
        "sorry, too many clients already"
    );
    drop(a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let c = connect(server.port).await;
    c.batch_execute("BEGIN").await.unwrap();
    b.batch_execute("BEGIN").await.unwrap();
}

#[tokio::test]
async fn scram_is_required_once_a_password_is_set() {
    let server = start(ServerOptions::default()).await;
    let client = connect(server.port).await;
    client
        .batch_execute("ALTER ROLE rustydb PASSWORD 'sekret'")
        .await
        .unwrap();
    let url = |pw: &str| {
        format!(
            "host=127.0.0.1 port={} user=rustydb password={pw}",
            server.port
        )
    };
    let e = tokio_postgres::connect(&url("wrong"), tokio_postgres::NoTls)
        .await
        .err()
        .unwrap();
    assert_eq!(e.code().unwrap().code(), "28P01");
    // Without a password the client cannot even answer the challenge.
    assert!(
        tokio_postgres::connect(
            &format!("host=127.0.0.1 port={} user=rustydb", server.port),
            tokio_postgres::NoTls
        )
        .await
        .is_err()
    );
    let (ok, conn) = tokio_postgres::connect(&url("sekret"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    assert_eq!(
        ok.query("SELECT generate_series(1, 2)", &[])
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn unknown_database_is_a_fatal_3d000() {
    let server = start(ServerOptions::default()).await;
    let e = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=rustydb dbname=nosuchdb",
            server.port
        ),
        tokio_postgres::NoTls,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(e.code().unwrap().code(), "3D000");
}

#[tokio::test]
async fn shutdown_closes_idle_sessions_and_the_backend() {
    let mut server = start(ServerOptions::default()).await;
    let client = connect(server.port).await;
    client.batch_execute("BEGIN").await.unwrap();
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), &mut server.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        server
            .backend
            .shut_down
            .load(std::sync::atomic::Ordering::SeqCst)
    );
    assert!(client.batch_execute("COMMIT").await.is_err());
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .is_err()
    );
}
