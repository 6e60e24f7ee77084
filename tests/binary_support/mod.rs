//! The `rustydb` binary as a server for tests that drive it with real
//! PostgreSQL tools (psql, pgbench).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Stops a spawned server even when an assertion fails first.
pub struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether `tool --version` runs: the tests skip, saying why, without it.
pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A `rustydb serve` on a free loopback port, ready for connections.
pub fn serve(dir: &std::path::Path) -> (KillOnDrop, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_rustydb"))
            .args([
                "serve",
                "--data-dir",
                dir.to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .spawn()
            .unwrap(),
    );
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, port);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("rustydb serve did not listen on port {port}");
}
