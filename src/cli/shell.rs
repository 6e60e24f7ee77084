//! `rustydb shell`: an embedded SQL prompt, no server in between.
//!
//! It talks to a [`Backend`] session directly, the same seam the wire server
//! uses, and prints results the way psql's aligned format does: centred
//! headers, numbers right-aligned, `(n rows)` footers, command tags for
//! everything else. Input may span lines; a statement runs when a line ends
//! with a semicolon outside quotes and comments. `\q` or end of input
//! leaves; history is kept in the file `--history` names, else in
//! `$RUSTYDB_HISTORY`, else in `~/.rustydb_history`, and is written when the
//! prompt ends. With `-c` the statements run once and the exit status says
//! whether all of them succeeded.

use std::path::{Path, PathBuf};

use rustydb_engine::types::DataType;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use super::CliError;
use crate::server::{Backend, Outcome, Session};

/// Where the prompt keeps its history when `--history` is not given:
/// `$RUSTYDB_HISTORY`, else `~/.rustydb_history`; none without a home.
pub fn default_history_file() -> Option<PathBuf> {
    std::env::var_os("RUSTYDB_HISTORY")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rustydb_history"))
        })
}

/// Runs `command` once, or a prompt when it is `None`, with its history in
/// `history`.
pub fn run_shell<B: Backend>(
    backend: &B,
    command: Option<&str>,
    history: Option<&Path>,
) -> Result<(), CliError> {
    let mut session = backend.connect("rustydb", "rustydb")?;
    if let Some(sql) = command {
        return run_text(&mut session, sql);
    }
    let mut editor =
        DefaultEditor::new().map_err(|e| CliError::Client(format!("line editor: {e}")))?;
    if let Some(path) = history {
        // A missing file is a first run; an unreadable one should not stop
        // the prompt either, but it is worth a word.
        if let Err(e) = editor.load_history(path)
            && path.exists()
        {
            eprintln!("could not read history from {}: {e}", path.display());
        }
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
    if let Some(path) = history
        && let Err(e) = editor.save_history(path)
    {
        eprintln!("could not write history to {}: {e}", path.display());
    }
    Ok(())
}

/// Whether the input ends with a semicolon outside quotes (`'…'`,
/// `"…"`, `$tag$…$tag$`) and comments (`-- …`, `/* … */`), with nothing
/// but whitespace and comments after it.
fn statement_complete(text: &str) -> bool {
    #[derive(PartialEq)]
    enum State {
        Code,
        Quoted(char),
        Dollar(String),
        LineComment,
        BlockComment,
    }
    let chars: Vec<char> = text.chars().collect();
    let mut state = State::Code;
    let mut ends_with_semicolon = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match &state {
            State::Code => match c {
                '\'' | '"' => state = State::Quoted(c),
                '-' if next == Some('-') => state = State::LineComment,
                '/' if next == Some('*') => {
                    state = State::BlockComment;
                    i += 1;
                }
                '$' => {
                    // `$tag$` opens a dollar quote; `$1` is a parameter.
                    let tag_end = chars[i + 1..]
                        .iter()
                        .position(|c| !(c.is_alphanumeric() || *c == '_'))
                        .map(|n| i + 1 + n);
                    match tag_end {
                        Some(end)
                            if chars[end] == '$'
                                && !chars.get(i + 1).is_some_and(char::is_ascii_digit) =>
                        {
                            state = State::Dollar(chars[i..=end].iter().collect());
                            i = end;
                        }
                        _ => ends_with_semicolon = false,
                    }
                }
                ';' => ends_with_semicolon = true,
                c if c.is_whitespace() => {}
                _ => ends_with_semicolon = false,
            },
            State::Quoted(q) => {
                if c == *q {
                    state = State::Code;
                }
                ends_with_semicolon = false;
            }
            State::Dollar(tag) => {
                let tag_chars: Vec<char> = tag.chars().collect();
                if chars[i..].starts_with(&tag_chars) {
                    i += tag_chars.len() - 1;
                    state = State::Code;
                }
                ends_with_semicolon = false;
            }
            State::LineComment => {
                if c == '\n' {
                    state = State::Code;
                }
            }
            State::BlockComment => {
                if c == '*' && next == Some('/') {
                    state = State::Code;
                    i += 1;
                }
            }
        }
        i += 1;
    }
    ends_with_semicolon && matches!(state, State::Code | State::LineComment)
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
        assert!(statement_complete("SELECT 1; -- done\n"));
        assert!(!statement_complete("SELECT 1 -- not yet;\n"));
        assert!(!statement_complete("SELECT 1 /* ; */\n"));
        assert!(statement_complete("SELECT 1 /* ; */;\n"));
        assert!(!statement_complete("SELECT $$ a; $$\n"));
        assert!(!statement_complete("SELECT $body$ a; $body$ || ';\n"));
        assert!(statement_complete("SELECT $f$ a; $f$;\n"));
        assert!(statement_complete("SELECT $1;\n"));
        assert!(!statement_complete("SELECT 1; SELECT 2\n"));
    }
}
