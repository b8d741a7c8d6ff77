//! `sessmgr exec [--json] COMMAND...`: one console command, run non-interactively over the
//! control socket (as `vtysh -c` does on a router), for scripts and automation.
//!
//! The command runs in user view of a console of its own, paging off. Its Comware text goes
//! to standard output; with `--json` a display command's data goes there instead, as one
//! JSON document (shape: display_json.rs). A session table comes from the engine a chunk at
//! a time and is written a chunk at a time (`{"sessions": [...], "sessions_found": N}`):
//! neither side ever holds the whole table. A refused line prints the line, the caret and
//! Comware's message on standard error, and the exit status is 1.

use super::client::ClientError;
use super::hotkeys::{realign_caret, visible};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// One request/reply connection to the engine.
struct Link {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Link {
    fn ask(&mut self, req: &Value) -> Result<Value, ClientError> {
        writeln!(self.writer, "{req}")?;
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(ClientError::Closed);
        }
        let reply: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        // A protocol error (not a console's `%` line): the engine could not take the request.
        if let Some(why) = reply["error"].as_str() {
            return Err(ClientError::Refused {
                path: String::new(),
                why: why.to_string(),
            });
        }
        Ok(reply)
    }
}

/// Runs `command` on the engine at `socket`, writing what it shows to `out`; `Ok(false)` when
/// the engine refused the line (its error went to `err`).
pub fn run(
    socket: &Path,
    command: &str,
    json_out: bool,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<bool, ClientError> {
    let s = UnixStream::connect(socket).map_err(|source| {
        let path = socket.display().to_string();
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            ClientError::NotAllowed { path, source }
        } else {
            ClientError::Connect { path, source }
        }
    })?;
    let mut link = Link {
        reader: BufReader::new(s.try_clone()?),
        writer: s,
    };
    let refused = |e: ClientError| match e {
        ClientError::Refused { why, .. } => ClientError::Refused {
            path: socket.display().to_string(),
            why,
        },
        e => e,
    };
    let hello = link
        .ask(&json!({"op": "hello", "pager": false, "data": json_out}))
        .map_err(refused)?;
    let prompt = hello["prompt"].as_str().unwrap_or("").to_string();
    let r = link
        .ask(&json!({"op": "line", "line": command}))
        .map_err(refused)?;
    let text = |r: &Value| visible(r["output"].as_str().unwrap_or("")).into_owned();
    if r["failed"].as_bool() == Some(true) {
        let output = r["output"].as_str().unwrap_or("");
        // As a transcript shows it: the line, the caret under the offending word, the message.
        let shown = realign_caret(output, &prompt, command);
        writeln!(err, "{}{}", visible(&prompt), visible(command))?;
        write!(err, "{}", with_newline(&visible(&shown)))?;
        return Ok(false);
    }
    let mut more = r["more"].as_bool() == Some(true);
    match (json_out, r.get("data")) {
        (true, Some(data)) if more => {
            // A session table in chunks: one JSON document, written as the chunks come.
            write!(out, "{{\"sessions\":[")?;
            let mut first = true;
            let mut chunk = data.clone();
            loop {
                for row in chunk["sessions"].as_array().into_iter().flatten() {
                    if !first {
                        write!(out, ",")?;
                    }
                    first = false;
                    write!(out, "{row}")?;
                }
                if !more {
                    break;
                }
                let m = link.ask(&json!({"op": "more"})).map_err(refused)?;
                more = m["more"].as_bool() == Some(true);
                chunk = m.get("data").cloned().unwrap_or(Value::Null);
            }
            writeln!(out, "],\"sessions_found\":{}}}", chunk["sessions_found"])?;
        }
        (true, Some(data)) => {
            serde_json::to_writer_pretty(&mut *out, data).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        // Text, or a command that has no data (not a display): what it shows.
        _ => {
            write!(out, "{}", text(&r))?;
            while more {
                let m = link.ask(&json!({"op": "more"})).map_err(refused)?;
                more = m["more"].as_bool() == Some(true);
                write!(out, "{}", text(&m))?;
            }
        }
    }
    out.flush()?;
    Ok(true)
}

fn with_newline(s: &str) -> String {
    if s.is_empty() || s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}
