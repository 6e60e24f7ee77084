//! COPY FROM STDIN and COPY TO STDOUT in PostgreSQL's text and CSV formats.
//!
//! The session decides what a COPY statement means (which table, which
//! columns, which options) and hands the server the column types and a
//! [`CopyFormat`]; the bytes are this file's business. Out, each row becomes
//! one CopyData message. In, the CopyData stream is gathered (up to
//! [`MAX_COPY_IN_BYTES`]) and parsed when CopyDone arrives, because a CSV
//! field may hold a newline and so rows cannot be cut at message or line
//! boundaries. The first bad field ends the COPY: its error reaches the
//! client after CopyDone, the session is told to abandon the statement, and
//! nothing of it is stored — the same all-or-nothing PostgreSQL gives.

use std::fmt::Debug;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Sink;
use futures::SinkExt;
use futures::stream;
use pgwire::api::ClientInfo;
use pgwire::api::copy::CopyHandler;
use pgwire::api::results::{CopyResponse, Tag};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use rustydb_engine::types::Value;

use super::backend::{Backend, BackendError, Column, CopyFormat, Session};
use super::connection::{Connection, lock, notice_messages, to_pg_error};
use super::encode::{WireFormat, decode};

/// The most data one COPY FROM STDIN may send.
pub const MAX_COPY_IN_BYTES: usize = 256 * 1024 * 1024;

/// A COPY FROM STDIN in flight.
#[derive(Debug)]
pub struct CopyIn {
    columns: Vec<Column>,
    format: CopyFormat,
    data: Vec<u8>,
    error: Option<BackendError>,
}

impl CopyIn {
    /// Waits for rows of `columns` in `format`.
    pub fn new(columns: Vec<Column>, format: CopyFormat) -> CopyIn {
        CopyIn {
            columns,
            format,
            data: Vec::new(),
            error: None,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if self.data.len() + chunk.len() > MAX_COPY_IN_BYTES {
            self.error = Some(BackendError::new(
                "54000",
                format!("COPY FROM STDIN data exceeds {MAX_COPY_IN_BYTES} bytes"),
            ));
            self.data = Vec::new();
            return;
        }
        self.data.extend_from_slice(chunk);
    }

    fn finish(self) -> Result<Vec<Vec<Value>>, BackendError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let text = String::from_utf8(self.data).map_err(|_| {
            BackendError::new("22021", "invalid byte sequence for encoding \"UTF8\"")
        })?;
        parse_rows(&text, &self.format, &self.columns)
    }
}

/// Parses COPY data into rows of `columns`.
pub fn parse_rows(
    text: &str,
    format: &CopyFormat,
    columns: &[Column],
) -> Result<Vec<Vec<Value>>, BackendError> {
    let records = match format {
        CopyFormat::Text { delimiter, null } => text_records(text, *delimiter, null),
        CopyFormat::Csv {
            delimiter,
            quote,
            escape,
            null,
            header,
        } => {
            let mut records = csv_records(text, *delimiter, *quote, *escape, null)?;
            if *header && !records.is_empty() {
                records.remove(0);
            }
            Ok(records)
        }
    }?;
    records
        .into_iter()
        .enumerate()
        .map(|(line, fields)| {
            if fields.len() != columns.len() {
                let what = if fields.len() < columns.len() {
                    "missing data for a column"
                } else {
                    "extra data after last expected column"
                };
                return Err(
                    BackendError::new("22P04", what).with_detail(format!("COPY row {}", line + 1))
                );
            }
            fields
                .iter()
                .zip(columns)
                .map(|(field, column)| {
                    decode(
                        field.as_deref().map(str::as_bytes),
                        &column.data_type,
                        WireFormat::Text,
                    )
                    .map_err(|e| {
                        e.with_detail(format!("COPY row {}, column {}", line + 1, column.name))
                    })
                })
                .collect()
        })
        .collect()
}

type Record = Vec<Option<String>>;

fn text_records(text: &str, delimiter: char, null: &str) -> Result<Vec<Record>, BackendError> {
    let mut records = Vec::new();
    // `lines` drops the final newline's empty remainder and a `\r` before
    // each newline, which is what a text-format line ends with either way.
    for line in text.lines() {
        if line == "\\." {
            break;
        }
        let record = line
            .split(delimiter)
            .map(|raw| {
                if raw == null {
                    Ok(None)
                } else {
                    unescape_text(raw).map(Some)
                }
            })
            .collect::<Result<Record, _>>()?;
        records.push(record);
    }
    Ok(records)
}

fn unescape_text(raw: &str) -> Result<String, BackendError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('v') => out.push('\u{b}'),
            Some('x') => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match chars.peek().and_then(|d| d.to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            chars.next();
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.push('x');
                } else {
                    out.push(byte_char(value)?);
                }
            }
            Some(d @ '0'..='7') => {
                let mut value = d.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(byte_char(value)?);
            }
            Some(other) => out.push(other),
            None => {
                return Err(BackendError::new(
                    "22P04",
                    "end-of-copy marker corrupt: a field ends in a backslash",
                ));
            }
        }
    }
    Ok(out)
}

/// A `\x`/octal escape names a byte; only ASCII bytes stand alone in UTF-8.
fn byte_char(value: u32) -> Result<char, BackendError> {
    char::from_u32(value)
        .filter(|c| c.is_ascii() && *c != '\0')
        .ok_or_else(|| BackendError::new("22021", "invalid byte sequence for encoding \"UTF8\""))
}

fn csv_records(
    text: &str,
    delimiter: char,
    quote: char,
    escape: char,
    null: &str,
) -> Result<Vec<Record>, BackendError> {
    let mut records = Vec::new();
    let mut record: Record = Vec::new();
    let mut field = String::new();
    let mut quoted_field = false;
    let mut in_quotes = false;
    let mut at_line_start = true;
    let mut chars = text.chars().peekable();
    let end_field = |field: &mut String, quoted: &mut bool, record: &mut Record| {
        let value = std::mem::take(field);
        if !*quoted && value == null {
            record.push(None);
        } else {
            record.push(Some(value));
        }
        *quoted = false;
    };
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == escape && chars.peek() == Some(&quote) && (escape != quote || c == quote) {
                chars.next();
                field.push(quote);
            } else if c == quote {
                in_quotes = false;
            } else {
                field.push(c);
            }
            continue;
        }
        if at_line_start && c == '\\' && chars.peek() == Some(&'.') {
            let rest: String = chars.clone().take(3).collect();
            if rest == "." || rest.starts_with(".\n") || rest.starts_with(".\r") {
                return Ok(records);
            }
        }
        at_line_start = false;
        match c {
            c if c == quote => {
                in_quotes = true;
                quoted_field = true;
            }
            c if c == delimiter => end_field(&mut field, &mut quoted_field, &mut record),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                end_field(&mut field, &mut quoted_field, &mut record);
                records.push(std::mem::take(&mut record));
                at_line_start = true;
            }
            other => field.push(other),
        }
    }
    if in_quotes {
        return Err(BackendError::new("22P04", "unterminated CSV quoted field"));
    }
    if !at_line_start {
        end_field(&mut field, &mut quoted_field, &mut record);
        records.push(record);
    }
    Ok(records)
}

/// One row in COPY's text or CSV format, newline included.
pub fn format_row(row: &[Value], format: &CopyFormat) -> String {
    let mut line = String::new();
    for (i, value) in row.iter().enumerate() {
        match format {
            CopyFormat::Text { delimiter, null } => {
                if i > 0 {
                    line.push(*delimiter);
                }
                match value.to_pg_text() {
                    None => line.push_str(null),
                    Some(text) => escape_text(&text, *delimiter, &mut line),
                }
            }
            CopyFormat::Csv {
                delimiter,
                quote,
                escape,
                null,
                ..
            } => {
                if i > 0 {
                    line.push(*delimiter);
                }
                match value.to_pg_text() {
                    None => line.push_str(null),
                    Some(text) => {
                        let needs_quotes = text == *null
                            || text == "\\."
                            || text.contains([*delimiter, *quote, '\n', '\r']);
                        if needs_quotes {
                            line.push(*quote);
                            for c in text.chars() {
                                if c == *quote || c == *escape {
                                    line.push(*escape);
                                }
                                line.push(c);
                            }
                            line.push(*quote);
                        } else {
                            line.push_str(&text);
                        }
                    }
                }
            }
        }
    }
    line.push('\n');
    line
}

fn escape_text(text: &str, delimiter: char, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' if delimiter == '\t' => out.push_str("\\t"),
            c if c == delimiter => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

/// The CopyOut response for `rows`: one CopyData per row, the CSV header
/// riding with the first so pgwire's row count stays right.
pub fn copy_out_response(
    columns: &[Column],
    format: &CopyFormat,
    rows: &[Vec<Value>],
) -> CopyResponse {
    let mut header = match format {
        CopyFormat::Csv { header: true, .. } => {
            let names: Vec<Value> = columns
                .iter()
                .map(|c| Value::Text(c.name.clone()))
                .collect();
            Some(format_row(&names, format))
        }
        _ => None,
    };
    let mut messages: Vec<PgWireResult<CopyData>> = rows
        .iter()
        .map(|row| {
            let mut line = header.take().unwrap_or_default();
            line.push_str(&format_row(row, format));
            Ok(CopyData::new(Bytes::from(line)))
        })
        .collect();
    if let Some(header) = header {
        messages.push(Ok(CopyData::new(Bytes::from(header))));
    }
    CopyResponse::new(0, columns.len(), stream::iter(messages))
}

#[async_trait]
impl<B: Backend> CopyHandler for Connection<B> {
    async fn on_copy_data<C>(&self, _client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(copy) = lock(&self.copy).as_mut() {
            copy.push(&copy_data.data);
        }
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let copy = lock(&self.copy).take();
        let Some(copy) = copy else {
            return Err(to_pg_error(BackendError::new(
                "08P01",
                "CopyDone without a COPY in progress",
            )));
        };
        let ran = self
            .run(move |session| match copy.finish() {
                Ok(rows) => session.copy_in(rows),
                Err(e) => {
                    session.copy_abort(&e);
                    Err(e)
                }
            })
            .await?;
        for notice in notice_messages(ran.notices) {
            client
                .feed(PgWireBackendMessage::NoticeResponse(notice))
                .await?;
        }
        client.set_transaction_status(self.transaction_status());
        let count = ran.value.map_err(to_pg_error)?;
        let tag = Tag::new("COPY").with_rows(usize::try_from(count).unwrap_or(usize::MAX));
        client
            .send(PgWireBackendMessage::CommandComplete(tag.into()))
            .await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let error = BackendError::new("57014", format!("COPY from stdin failed: {}", fail.message));
        lock(&self.copy).take();
        let abort = error.clone();
        if self
            .run(move |session| session.copy_abort(&abort))
            .await
            .is_ok()
        {
            client.set_transaction_status(self.transaction_status());
        }
        to_pg_error(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_engine::types::DataType;

    fn cols() -> Vec<Column> {
        vec![
            Column::new("a", DataType::Int4),
            Column::new("b", DataType::Text),
        ]
    }

    #[test]
    fn text_format_round_trips_escapes_and_nulls() {
        let rows = vec![
            vec![
                Value::Int4(1),
                Value::Text("tab\there\nnew \\ slash".into()),
            ],
            vec![Value::Int4(2), Value::Null],
        ];
        let format = CopyFormat::text();
        let text: String = rows.iter().map(|r| format_row(r, &format)).collect();
        assert_eq!(text, "1\ttab\\there\\nnew \\\\ slash\n2\t\\N\n");
        assert_eq!(parse_rows(&text, &format, &cols()).unwrap(), rows);
    }

    #[test]
    fn csv_handles_quotes_newlines_header_and_nulls() {
        let format = CopyFormat::csv(true);
        let text = "a,b\n1,\"x, \"\"y\"\"\nz\"\n2,\n3,\"\"\n";
        let rows = parse_rows(text, &format, &cols()).unwrap();
        assert_eq!(rows[0][1], Value::Text("x, \"y\"\nz".into()));
        assert_eq!(rows[1][1], Value::Null);
        assert_eq!(rows[2][1], Value::Text(String::new()));
        let out: String = rows.iter().map(|r| format_row(r, &format)).collect();
        assert_eq!(out, "1,\"x, \"\"y\"\"\nz\"\n2,\n3,\"\"\n");
    }

    #[test]
    fn bad_rows_are_errors() {
        let format = CopyFormat::text();
        assert_eq!(
            parse_rows("1\n", &format, &cols()).unwrap_err().code,
            "22P04"
        );
        assert_eq!(
            parse_rows("x\ty\n", &format, &cols()).unwrap_err().code,
            "22P02"
        );
        assert!(parse_rows("1,\"open\n", &CopyFormat::csv(false), &cols()).is_err());
    }
}
