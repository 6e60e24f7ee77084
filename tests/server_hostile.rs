#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Garbage on the wire: every shape of broken start-up packet and message a
//! client can send, then a check that a well-behaved client is still served.

mod server_support;

use std::time::Duration;

use rustydb::server::ServerOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn startup_packet() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608i32.to_be_bytes());
    body.extend_from_slice(b"user\0rustydb\0database\0rustydb\0\0");
    let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    packet
}

/// Sends `bytes` and reads until the server closes or goes quiet; returns
/// what came back.
async fn throw(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let _ = stream.write_all(bytes).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    out
}

/// Sends `bytes` and reads until the server closes the connection (which
/// may take a while when it first prints a panic's backtrace).
async fn until_closed(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .unwrap();
    out
}

/// Whether the reply holds an ErrorResponse with SQLSTATE 08P01.
fn has_protocol_error(reply: &[u8]) -> bool {
    reply.windows(6).any(|w| w == b"C08P01")
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_gets_08p01_and_the_server_goes_on() {
    let server = server_support::start(ServerOptions::default()).await;
    let port = server.port;

    // Start-up packets of every bad shape.
    let absurd_length = [0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0];
    let tiny_length = [0, 0, 0, 3, 0, 3, 0, 0];
    let negative_length = [0xff, 0xff, 0xff, 0xf0, 0, 3, 0, 0];
    let mut unterminated = startup_packet();
    unterminated.truncate(unterminated.len() - 1);
    let mut bad_version = startup_packet();
    bad_version[4] = 9;
    for packet in [
        &absurd_length[..],
        &tiny_length[..],
        &negative_length[..],
        &unterminated[..],
        &bad_version[..],
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        &[0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0],
    ] {
        let _ = throw(port, packet).await;
    }

    // After a good start-up: an unknown message type, an absurd length, a
    // too-short length, a Bind with lying counts.
    let mut ok = startup_packet();
    ok.extend_from_slice(&[b'!', 0, 0, 0, 4]);
    assert!(has_protocol_error(&throw(port, &ok).await));
    for tail in [
        vec![b'Q', 0x7f, 0xff, 0xff, 0xff, b'x'],
        vec![b'Q', 0, 0, 0, 1],
        vec![b'B', 0, 0, 0, 12, 0, 0, 0xff, 0xff, 0, 1, 0, 0],
        vec![b'P', 0, 0, 0, 9, b'a', 0, b'b', 0, 0x7f],
        vec![b'E', 0, 0, 0, 4],
        vec![b'D', 0, 0, 0, 6, b'Z', 0],
        vec![b'p', 0, 0, 0, 8, 1, 2, 3, 4],
        vec![b'd', 0, 0, 0, 6, 1, 2],
    ] {
        let mut packet = startup_packet();
        packet.extend_from_slice(&tail);
        let _ = throw(port, &packet).await;
    }

    // Random bytes, before and after start-up (bounded).
    let mut rng = Lcg(42);
    for round in 0..150 {
        let n = (rng.next() % 200) as usize + 1;
        let mut packet = if round % 2 == 0 {
            Vec::new()
        } else {
            startup_packet()
        };
        packet.extend_from_slice(&rng.bytes(n));
        let _ = throw(port, &packet).await;
    }

    // A normal client is still served.
    let client = server_support::connect(port).await;
    let rows = client
        .query("SELECT generate_series(1, 5)", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    assert!(!server.task.is_finished());
}

/// A Bind whose length field says 0: pgwire's decoder reads past the frame
/// and panics (a crash input of tests/fuzz's `wire_decode`).
const PANICKING_BIND: [u8; 12] = [b'B', 0, 0, 0, 0, 0x0f, 0x8a, 0x5b, 0xff, 0x44, 0x3e, 0x58];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_panics_the_decoder_costs_only_its_own_connection() {
    let server = server_support::start(ServerOptions {
        max_connections: 2,
        ..ServerOptions::default()
    })
    .await;

    // More such connections than there are slots: each one's slot must come
    // back, or the next clients would be refused with 53300.
    for _ in 0..5 {
        let mut packet = startup_packet();
        packet.extend_from_slice(&PANICKING_BIND);
        assert!(has_protocol_error(
            &until_closed(server.port, &packet).await
        ));
    }

    let first = server_support::connect(server.port).await;
    let second = server_support::connect(server.port).await;
    for client in [&first, &second] {
        let rows = client
            .query("SELECT generate_series(1, 3)", &[])
            .await
            .unwrap();
        assert_eq!(rows.len(), 3);
    }
    assert!(!server.task.is_finished());
}
