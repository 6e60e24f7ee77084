//! Guest output — stdout, stderr and `log` — captured under one byte cap.
//!
//! A guest's prints must reach the client as notices, but a guest printing
//! in a loop must not fill the server's memory, nor fail because it printed
//! too much: a `println!` that errors would panic the guest and turn a
//! harmless debug line into an aborted statement. So the streams accept
//! every write, keep bytes until the call's cap is reached, silently drop
//! the rest, and one notice at the end says output was truncated.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use parking_lot::Mutex;
use rustydb_engine::extension::{Notice, NoticeLevel};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// What a call printed, shared by its two streams and its `log` calls.
#[derive(Clone)]
pub(crate) struct Output {
    inner: Arc<Mutex<Captured>>,
}

struct Captured {
    remaining: usize,
    truncated: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    logs: Vec<Notice>,
}

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

impl Output {
    pub(crate) fn new(cap: usize) -> Output {
        Output {
            inner: Arc::new(Mutex::new(Captured {
                remaining: cap,
                truncated: false,
                stdout: Vec::new(),
                stderr: Vec::new(),
                logs: Vec::new(),
            })),
        }
    }

    pub(crate) fn stdout(&self) -> CapturedStream {
        CapturedStream {
            output: self.clone(),
            stream: Stream::Stdout,
        }
    }

    pub(crate) fn stderr(&self) -> CapturedStream {
        CapturedStream {
            output: self.clone(),
            stream: Stream::Stderr,
        }
    }

    /// Keeps a `log` message if it fits in what is left of the cap.
    pub(crate) fn log(&self, level: NoticeLevel, message: String) {
        let mut c = self.inner.lock();
        if message.len() > c.remaining {
            c.truncated = true;
            return;
        }
        c.remaining -= message.len();
        c.logs.push(Notice { level, message });
    }

    fn write(&self, stream: Stream, bytes: &[u8]) {
        let mut c = self.inner.lock();
        let kept = bytes.len().min(c.remaining);
        c.remaining -= kept;
        c.truncated |= kept < bytes.len();
        let buf = match stream {
            Stream::Stdout => &mut c.stdout,
            Stream::Stderr => &mut c.stderr,
        };
        buf.extend_from_slice(&bytes[..kept]);
    }

    /// Everything captured, as notices in a stable order: log messages,
    /// then stdout, then stderr, then the truncation note.
    pub(crate) fn take_notices(&self) -> Vec<Notice> {
        let mut c = self.inner.lock();
        let mut notices = std::mem::take(&mut c.logs);
        for (bytes, level) in [
            (std::mem::take(&mut c.stdout), NoticeLevel::Notice),
            (std::mem::take(&mut c.stderr), NoticeLevel::Warning),
        ] {
            let text = String::from_utf8_lossy(&bytes);
            let text = text.trim_end_matches('\n');
            if !text.is_empty() {
                notices.push(Notice {
                    level,
                    message: text.to_owned(),
                });
            }
        }
        if std::mem::take(&mut c.truncated) {
            notices.push(Notice {
                level: NoticeLevel::Warning,
                message: "routine output truncated at the per-call output limit".to_owned(),
            });
        }
        notices
    }
}

/// One of a call's output streams, as WASI sees it.
pub(crate) struct CapturedStream {
    output: Output,
    stream: Stream,
}

impl IsTerminal for CapturedStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(CapturedStream {
            output: self.output.clone(),
            stream: self.stream,
        })
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(CapturedStream {
            output: self.output.clone(),
            stream: self.stream,
        })
    }
}

/// Far more than any single write; the cap is enforced by dropping bytes.
const WRITE_PERMIT: usize = 1 << 20;

impl OutputStream for CapturedStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.output.write(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedStream {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CapturedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.output.write(self.stream, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_beyond_the_cap_is_dropped_and_reported() {
        let out = Output::new(10);
        let mut stdout = out.stdout();
        assert!(OutputStream::write(&mut stdout, Bytes::from_static(b"hello\n")).is_ok());
        out.log(NoticeLevel::Info, "too long to fit".to_owned());
        assert!(OutputStream::write(&mut out.stderr(), Bytes::from_static(b"abcdefgh")).is_ok());
        let notices = out.take_notices();
        let texts: Vec<&str> = notices.iter().map(|n| n.message.as_str()).collect();
        assert_eq!(texts[0], "hello");
        assert_eq!(texts[1], "abcd");
        assert!(texts[2].contains("truncated"));
        assert_eq!(notices.len(), 3);
    }
}
