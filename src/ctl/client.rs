//! `sessmgr console`: the thin TTY client. The engine owns the command tree; this program
//! edits lines (rustyline: history, Tab completion asked of the engine, `?` answered at once
//! without Enter) and prints what the engine answers. Without a terminal it reads commands
//! from standard input, one per line, and prints a transcript (scripts and tests).

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, ConditionalEventHandler, Context, Editor, Event, EventContext, EventHandler, Helper,
    KeyEvent, RepeatCount,
};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the engine at {path} (is `sessmgr run` running?)")]
    Connect {
        path: String,
        source: std::io::Error,
    },
    #[error("the engine closed the connection")]
    Closed,
    #[error("talking to the engine: {0}")]
    Io(#[from] std::io::Error),
    #[error("line editor: {0}")]
    Editor(#[from] ReadlineError),
}

/// One request/reply connection to the engine.
struct Link {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Link {
    fn connect(path: &Path) -> Result<Link, ClientError> {
        let s = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Link {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    fn ask(&mut self, req: Value) -> Result<Value, ClientError> {
        writeln!(self.writer, "{req}")?;
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(ClientError::Closed);
        }
        Ok(serde_json::from_str(&line).unwrap_or(Value::Null))
    }
}

/// Tab completion, asked of the engine (it knows the current view).
struct CliHelper {
    link: Rc<RefCell<Link>>,
}

impl Helper for CliHelper {}
impl Highlighter for CliHelper {}
impl Validator for CliHelper {}
impl Hinter for CliHelper {
    type Hint = String;
}

impl Completer for CliHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let upto = line.get(..pos).unwrap_or(line);
        let reply = self
            .link
            .borrow_mut()
            .ask(json!({"op": "complete", "line": upto}))
            .unwrap_or(Value::Null);
        let start = reply["start"].as_u64().unwrap_or(pos as u64) as usize;
        let pairs = reply["candidates"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(Value::as_str)
                    .map(|s| Pair {
                        display: s.to_string(),
                        replacement: format!("{s} "),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok((start.min(pos), pairs))
    }
}

/// `?` ends the line at once; the main loop shows the help and gives the line back.
struct QuestionMark {
    pending: Arc<Mutex<Option<String>>>,
}

impl ConditionalEventHandler for QuestionMark {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext<'_>) -> Option<Cmd> {
        if let Ok(mut p) = self.pending.lock() {
            *p = Some(ctx.line().to_string());
        }
        Some(Cmd::AcceptLine)
    }
}

/// Runs the console against the engine's control socket.
pub fn run(socket: &Path) -> Result<(), ClientError> {
    let mut link = Link::connect(socket)?;
    let hello = link.ask(json!({"op": "hello"}))?;
    if let Some(e) = hello["error"].as_str() {
        return Err(ClientError::Io(std::io::Error::other(e.to_string())));
    }
    let mut prompt = hello["prompt"].as_str().unwrap_or("<sessmgr>").to_string();
    if !std::io::stdin().is_terminal() {
        return batch(link, prompt);
    }
    let link = Rc::new(RefCell::new(link));
    let mut ed: Editor<CliHelper, rustyline::history::DefaultHistory> = Editor::new()?;
    ed.set_helper(Some(CliHelper { link: link.clone() }));
    let pending = Arc::new(Mutex::new(None));
    ed.bind_sequence(
        KeyEvent::from('?'),
        EventHandler::Conditional(Box::new(QuestionMark {
            pending: pending.clone(),
        })),
    );
    let mut initial = String::new();
    loop {
        let line = match ed.readline_with_initial(&prompt, (&initial, "")) {
            Ok(l) => l,
            // Ctrl+C abandons the line; Ctrl+D leaves.
            Err(ReadlineError::Interrupted) => {
                initial.clear();
                continue;
            }
            Err(ReadlineError::Eof) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        initial.clear();
        let question = pending.lock().ok().and_then(|mut p| p.take());
        if let Some(before) = question {
            // Comware answers `?` in place and redraws the line typed so far.
            println!("{prompt}{before}?");
            let r = link
                .borrow_mut()
                .ask(json!({"op": "help", "line": before}))?;
            print!("{}", with_newline(r["output"].as_str().unwrap_or("")));
            initial = before;
            continue;
        }
        if !line.trim().is_empty() {
            let _ = ed.add_history_entry(line.as_str());
        }
        let r = link.borrow_mut().ask(json!({"op": "line", "line": line}))?;
        print!("{}", with_newline(r["output"].as_str().unwrap_or("")));
        if r["close"].as_bool() == Some(true) {
            return Ok(());
        }
        prompt = r["prompt"].as_str().unwrap_or(&prompt).to_string();
    }
}

/// Commands from standard input, printed as a transcript: prompt, command, output.
fn batch(mut link: Link, mut prompt: String) -> Result<(), ClientError> {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line?;
        if let Some(before) = line.strip_suffix('?') {
            writeln!(out, "{prompt}{line}")?;
            let r = link.ask(json!({"op": "help", "line": before}))?;
            write!(out, "{}", with_newline(r["output"].as_str().unwrap_or("")))?;
            continue;
        }
        writeln!(out, "{prompt}{line}")?;
        let r = link.ask(json!({"op": "line", "line": line}))?;
        write!(out, "{}", with_newline(r["output"].as_str().unwrap_or("")))?;
        if r["close"].as_bool() == Some(true) {
            break;
        }
        prompt = r["prompt"].as_str().unwrap_or(&prompt).to_string();
    }
    Ok(())
}

fn with_newline(s: &str) -> String {
    if s.is_empty() || s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}
