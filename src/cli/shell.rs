//! `rustydb shell`: an embedded SQL prompt, no server in between.
//!
//! It talks to a [`Backend`] session directly, the same seam the wire server
//! uses, and prints results the way psql's aligned format does: centred
//! headers, numbers right-aligned, `(n rows)` footers, command tags for
//! everything else. Input may span lines; a statement runs when a line ends
//! with a semicolon outside any quotes. `\q` or end of input leaves; history
//! is kept in `~/.rustydb_history`. With `-c` the statements run once and the
//! exit status says whether all of them succeeded.

use std::path::PathBuf;

use rustydb_engine::types::DataType;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use super::CliError;
use crate::server::{Backend, Outcome, Session};

/// Runs `command` once, or a prompt when it is `None`.
pub fn run_shell<B: Backend>(backend: &B, command: Option<&str>) -> Result<(), CliError> {
    let mut session = backend.connect("rustydb", "rustydb")?;
    if let Some(sql) = command {
        return run_text(&mut session, sql);
    }
    let mut editor =
        DefaultEditor::new().map_err(|e| CliError::Client(format!("line editor: {e}")))?;
    let history = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rustydb_history"));
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "rustydb=> "
        } else {
            "rustydb-> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if buffer.is_empty() && line.trim() == "\\q" {
                    break;
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if statement_complete(&buffer) {
                    let _ = editor.add_history_entry(buffer.trim());
                    if let Err(e) = run_text(&mut session, &buffer) {
                        eprintln!("{e}");
                    }
                    buffer.clear();
                }
            }
            Err(ReadlineError::Interrupted) => buffer.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(CliError::Client(format!("reading input: {e}"))),
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

/// Whether the input ends with a semicolon outside quotes.
fn statement_complete(text: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut last_significant = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None => {}
        }
        if !c.is_whitespace() {
            last_significant = Some((c, quote.is_none()));
        }
    }
    matches!(last_significant, Some((';', true)))
}

fn run_text<S: Session>(session: &mut S, sql: &str) -> Result<(), CliError> {
    for result in session.simple_query(sql) {
        for notice in session.take_notices() {
            eprintln!("{}:  {}", notice.severity, notice.message);
        }
        match result {
            Ok(Outcome::CopyIn { .. }) => {
                let error = crate::server::BackendError::new(
                    "0A000",
                    "COPY FROM STDIN is not supported in the shell; use psql against rustydb serve",
                );
                session.copy_abort(&error);
                return Err(CliError::Statement(format!("ERROR:  {}", error.message)));
            }
            Ok(outcome) => print!("{}", render_outcome(&outcome)),
            Err(e) => return Err(CliError::Statement(format!("ERROR:  {}", e.message))),
        }
    }
    Ok(())
}

fn right_aligned(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Int2
            | DataType::Int4
            | DataType::Int8
            | DataType::Float4
            | DataType::Float8
            | DataType::Numeric { .. }
    )
}

/// One outcome as psql's aligned output prints it.
pub fn render_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Empty | Outcome::CopyIn { .. } => String::new(),
        Outcome::Command { tag } => format!("{tag}\n"),
        Outcome::CopyOut { format, rows, .. } => rows
            .iter()
            .map(|row| crate::server::format_row(row, format))
            .collect(),
        Outcome::Rows { columns, rows, .. } => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|v| v.to_pg_text().unwrap_or_default())
                        .collect()
                })
                .collect();
            let widths: Vec<usize> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    cells
                        .iter()
                        .filter_map(|r| r.get(i))
                        .map(|s| s.chars().count())
                        .chain([c.name.chars().count()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let mut out = String::new();
            let header: Vec<String> = columns
                .iter()
                .zip(&widths)
                .map(|(c, w)| {
                    let len = c.name.chars().count();
                    let left = (w - len) / 2;
                    format!(
                        " {}{}{} ",
                        " ".repeat(left),
                        c.name,
                        " ".repeat(w - len - left)
                    )
                })
                .collect();
            out.push_str(header.join("|").trim_end());
            out.push('\n');
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
            out.push_str(&rule.join("+"));
            out.push('\n');
            for row in &cells {
                let line: Vec<String> = columns
                    .iter()
                    .zip(&widths)
                    .enumerate()
                    .map(|(i, (c, w))| {
                        let cell = row.get(i).map(String::as_str).unwrap_or("");
                        if right_aligned(&c.data_type) {
                            format!(" {cell:>w$} ")
                        } else {
                            format!(" {cell:<w$} ")
                        }
                    })
                    .collect();
                out.push_str(line.join("|").trim_end());
                out.push('\n');
            }
            let n = rows.len();
            out.push_str(&format!(
                "({n} {})\n\n",
                if n == 1 { "row" } else { "rows" }
            ));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Column;
    use rustydb_engine::types::Value;

    #[test]
    fn aligned_output_looks_like_psql() {
        let outcome = Outcome::Rows {
            columns: vec![
                Column::new("id", DataType::Int4),
                Column::new("name", DataType::Text),
            ],
            rows: vec![
                vec![Value::Int4(1), Value::Text("alice".into())],
                vec![Value::Int4(10), Value::Null],
            ],
            tag: "SELECT 2".into(),
        };
        assert_eq!(
            render_outcome(&outcome),
            " id | name\n----+-------\n  1 | alice\n 10 |\n(2 rows)\n\n"
        );
    }

    #[test]
    fn statements_end_at_an_unquoted_semicolon() {
        assert!(statement_complete("SELECT 1;\n"));
        assert!(!statement_complete("SELECT ';\n"));
        assert!(!statement_complete("SELECT 1\n"));
        assert!(statement_complete("SELECT ';';"));
    }
}
