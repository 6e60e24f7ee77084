#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! TLS with a certificate generated for the test, and the metrics endpoint.

mod server_support;

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustydb::server::{Metrics, ServerOptions, serve_metrics, tls_acceptor};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn tls_connections_work_and_plain_ones_still_do() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let acceptor = tls_acceptor(&cert_path, &key_path).unwrap();
    let server = server_support::start(ServerOptions {
        tls: Some(acceptor),
        ..ServerOptions::default()
    })
    .await;

    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(cert.cert.der().to_vec()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(config);
    let (client, connection) = tokio_postgres::connect(
        &format!(
            "host=localhost port={} user=rustydb sslmode=require",
            server.port
        ),
        tls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    assert_eq!(
        client
            .query("SELECT generate_series(1, 4)", &[])
            .await
            .unwrap()
            .len(),
        4
    );

    let plain = server_support::connect(server.port).await;
    assert_eq!(
        plain
            .query("SELECT generate_series(1, 2)", &[])
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn without_tls_sslmode_require_is_refused() {
    let server = server_support::start(ServerOptions::default()).await;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(RootCertStore::empty())
    .with_no_client_auth();
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(config);
    let e = tokio_postgres::connect(
        &format!(
            "host=localhost port={} user=rustydb sslmode=require",
            server.port
        ),
        tls,
    )
    .await
    .err()
    .unwrap();
    assert!(
        e.to_string().contains("TLS")
            || e.to_string().contains("ssl")
            || e.to_string().contains("SSL"),
        "{e}"
    );
}

#[tokio::test]
async fn metrics_are_served_as_prometheus_text() {
    let metrics = Arc::new(Metrics::default());
    metrics.connection_opened();
    metrics.query();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(serve_metrics(listener, metrics, rx));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    assert!(body.starts_with("HTTP/1.0 200 OK"), "{body}");
    assert!(body.contains("rustydb_queries_total 1"), "{body}");
    assert!(body.contains("rustydb_connections_active 1"), "{body}");
}
