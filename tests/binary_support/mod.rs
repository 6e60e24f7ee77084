//! The `rustydb` binary as a server for tests that drive it with real
//! PostgreSQL tools (psql, pgbench) and drivers.

#![allow(dead_code)] // each test binary uses a part

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

/// Whether `tool --version` runs: the tests skip, saying why, without it,
/// except under `CI=true`, where `.ci/run` installs the tools and a missing
/// one fails the test with the install command.
pub fn have(tool: &str) -> bool {
    present(
        Command::new(tool).arg("--version"),
        "apt-get install postgresql-client postgresql",
    )
}

/// Whether `probe` runs successfully; see [`have`] for what a missing tool
/// does. `install` is the command that installs it.
pub fn present(probe: &mut Command, install: &str) -> bool {
    let ok = probe
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{probe:?} failed under CI=true; install it with: {install}"
        );
        eprintln!("skipped: {probe:?} failed; install it with: {install}");
    }
    ok
}

impl KillOnDrop {
    /// Spawns `command`, a server that will listen on `port`, and waits
    /// until it does.
    pub fn spawn(command: &mut Command, port: u16) -> KillOnDrop {
        let child = KillOnDrop(command.spawn().unwrap());
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return child;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("rustydb serve did not listen on port {port}");
    }
}

/// A `rustydb serve` on a free loopback port, ready for connections.
///
/// The server binds port 0 and the test reads the port it got from its
/// "serving … on ADDR" line. Picking a free port here and passing it on
/// raced with every other test's connections: the kernel may hand the port,
/// once released, to another socket before the server binds it.
pub fn serve(dir: &std::path::Path) -> (KillOnDrop, u16) {
    use std::io::{BufRead, BufReader};

    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_rustydb"))
            .args([
                "serve",
                "--data-dir",
                dir.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("rustydb serve exited before it listened")
            .unwrap();
        eprintln!("{line}");
        if let Some(addr) = line
            .strip_prefix("rustydb: serving ")
            .and_then(|rest| rest.rsplit(" on ").next())
        {
            break addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
        }
    };
    // The rest of the server's log goes where it went before: to stderr.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            eprintln!("{line}");
        }
    });
    (child, port)
}
