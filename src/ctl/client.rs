//! `sessmgr console`: the thin TTY client. The engine owns the command tree; this program
//! edits lines (rustyline: history, Tab completion asked of the engine, `?` answered at once
//! without Enter) and prints what the engine answers, a screen at a time (`---- More ----`,
//! the screen length the engine reports for this console; a long session table arrives in
//! chunks, the next one asked for when the operator pages past the last). Without a terminal
//! it reads commands from standard input, one per line, and prints a transcript, never paged
//! (scripts and tests).

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
    #[error(
        "the engine's control socket {path} does not let this user in: it serves root, the engine's user and members of its runtime.control_group"
    )]
    NotAllowed {
        path: String,
        source: std::io::Error,
    },
    #[error("the engine at {path} refused this console: {why}")]
    Refused { path: String, why: String },
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
        let s = UnixStream::connect(path).map_err(|source| {
            let path = path.display().to_string();
            if source.kind() == std::io::ErrorKind::PermissionDenied {
                ClientError::NotAllowed { path, source }
            } else {
                ClientError::Connect { path, source }
            }
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
        return Err(ClientError::Refused {
            path: socket.display().to_string(),
            why: e.to_string(),
        });
    }
    let mut prompt = hello["prompt"].as_str().unwrap_or("<sessmgr>").to_string();
    let mut screen = screen_length(&hello);
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
            // Comware answers `?` in place and redraws the line typed so far. rustyline ended
            // the line with a newline, without the `?`: write the line again over it (one
            // line up, cleared) with the `?`, as the device echoes it.
            println!("\x1b[1A\r{prompt}{before}?\x1b[K");
            let r = link
                .borrow_mut()
                .ask(json!({"op": "help", "line": before}))?;
            if r.get("screen_length").is_some() {
                screen = screen_length(&r);
            }
            page(r["output"].as_str().unwrap_or(""), screen, read_key)?;
            initial = before;
            continue;
        }
        if !line.trim().is_empty() {
            let _ = ed.add_history_entry(line.as_str());
        }
        let r = link.borrow_mut().ask(json!({"op": "line", "line": line}))?;
        // The screen length in force for this output is the one after the line ran:
        // `screen-length disable` prints nothing, and its own output is never long.
        screen = screen_length(&r);
        page_all(&mut link.borrow_mut(), &r, screen)?;
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
        // A long display comes in chunks: all of them, one after the other, never paged.
        let mut more = r["more"].as_bool() == Some(true);
        while more {
            let m = link.ask(json!({"op": "more"}))?;
            write!(out, "{}", with_newline(m["output"].as_str().unwrap_or("")))?;
            more = m["more"].as_bool() == Some(true);
        }
        if r["close"].as_bool() == Some(true) {
            break;
        }
        prompt = r["prompt"].as_str().unwrap_or(&prompt).to_string();
    }
    Ok(())
}

/// Lines per screen the engine announced (`None`: paging off, `screen-length disable`).
fn screen_length(reply: &Value) -> Option<usize> {
    reply["screen_length"]
        .as_u64()
        .map(|n| n as usize)
        .filter(|&n| n > 0)
}

/// What the key pressed at the `More` prompt asks for (comware.md §1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum More {
    /// Space: the next screen.
    Screen,
    /// Enter: one more line.
    Line,
    /// Any other key (q, Ctrl+C): the rest of the output is discarded.
    Stop,
}

const MORE_PROMPT: &str = "  ---- More ----";

/// Prints `text` a screen at a time on the terminal.
fn page(
    text: &str,
    screen: Option<usize>,
    key: impl FnMut() -> std::io::Result<More>,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    page_to(&mut out, text, screen, key)?;
    out.flush()
}

/// Prints the output of a line, a screen at a time, fetching the next chunk of a long display
/// from the engine when the operator has paged through the current one; `q` at
/// `---- More ----` tells the engine to drop the rest.
fn page_all(link: &mut Link, first: &Value, screen: Option<usize>) -> Result<(), ClientError> {
    let mut out = std::io::stdout().lock();
    let mut pager = Pager::new(screen);
    let mut more = first["more"].as_bool() == Some(true);
    let mut go_on = pager.write(&mut out, first["output"].as_str().unwrap_or(""), read_key)?;
    out.flush()?;
    while more && go_on {
        let r = link.ask(json!({"op": "more"}))?;
        more = r["more"].as_bool() == Some(true);
        go_on = pager.write(&mut out, r["output"].as_str().unwrap_or(""), read_key)?;
        out.flush()?;
    }
    if more {
        link.ask(json!({"op": "stop"}))?;
    }
    Ok(())
}

/// Writes `text` to `out`, pausing at `  ---- More ----` after every `screen` lines and
/// asking `key` how to go on; the prompt is erased (carriage return, clear line) before the
/// output goes on or stops.
fn page_to(
    out: &mut impl Write,
    text: &str,
    screen: Option<usize>,
    key: impl FnMut() -> std::io::Result<More>,
) -> std::io::Result<()> {
    Pager::new(screen).write(out, text, key).map(|_| ())
}

/// Lines left on the current screen, carried from one chunk of a long display to the next.
struct Pager {
    screen: Option<usize>,
    room: usize,
}

impl Pager {
    fn new(screen: Option<usize>) -> Pager {
        Pager {
            screen,
            room: screen.unwrap_or(0),
        }
    }

    /// Writes `text` (a newline added if it lacks one); `false` once the operator stopped.
    fn write(
        &mut self,
        out: &mut impl Write,
        text: &str,
        mut key: impl FnMut() -> std::io::Result<More>,
    ) -> std::io::Result<bool> {
        let text = with_newline(text);
        let Some(screen) = self.screen else {
            out.write_all(text.as_bytes())?;
            return Ok(true);
        };
        for line in text.split_inclusive('\n') {
            if self.room == 0 {
                write!(out, "{MORE_PROMPT}")?;
                out.flush()?;
                let k = key()?;
                write!(out, "\r\x1b[K")?;
                match k {
                    More::Screen => self.room = screen,
                    More::Line => self.room = 1,
                    More::Stop => return Ok(false),
                }
            }
            out.write_all(line.as_bytes())?;
            self.room -= 1;
        }
        Ok(true)
    }
}

/// One key from the terminal, read in raw mode (no echo, no line buffering, Ctrl+C as a
/// byte rather than a signal); the terminal's settings are restored before returning.
fn read_key() -> std::io::Result<More> {
    use nix::sys::termios::{LocalFlags, SetArg, SpecialCharacterIndices, tcgetattr, tcsetattr};
    use std::os::fd::AsFd;
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let saved = tcgetattr(fd)?;
    let mut raw = saved.clone();
    raw.local_flags
        .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG | LocalFlags::IEXTEN);
    raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
    raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
    tcsetattr(fd, SetArg::TCSANOW, &raw)?;
    // Straight from the descriptor, not through std's buffer: rustyline reads the next line
    // from the descriptor too, and must not lose keys typed ahead.
    let mut buf = [0u8; 16];
    let got = nix::unistd::read(fd, &mut buf);
    tcsetattr(fd, SetArg::TCSANOW, &saved)?;
    Ok(match got? {
        0 => More::Stop,
        _ => match buf[0] {
            b' ' => More::Screen,
            b'\r' | b'\n' => More::Line,
            _ => More::Stop,
        },
    })
}

fn with_newline(s: &str) -> String {
    if s.is_empty() || s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paged(text: &str, screen: Option<usize>, keys: &[More]) -> (String, usize) {
        let mut out = Vec::new();
        let mut keys = keys.iter().copied();
        let mut asked = 0;
        page_to(&mut out, text, screen, || {
            asked += 1;
            Ok(keys.next().unwrap_or(More::Stop))
        })
        .unwrap();
        (String::from_utf8(out).unwrap(), asked)
    }

    fn numbered(n: usize) -> String {
        (1..=n).map(|i| format!("line {i}\n")).collect()
    }

    #[test]
    fn short_output_and_disabled_paging_never_stop() {
        assert_eq!(paged(&numbered(3), Some(3), &[]), (numbered(3), 0));
        assert_eq!(paged(&numbered(100), None, &[]), (numbered(100), 0));
        assert_eq!(
            paged("no newline", Some(24), &[]),
            ("no newline\n".into(), 0)
        );
    }

    #[test]
    fn space_pages_enter_steps_other_keys_stop() {
        let erase = "\r\x1b[K";
        let (out, asked) = paged(&numbered(7), Some(3), &[More::Screen, More::Line]);
        assert_eq!(asked, 2);
        assert_eq!(
            out,
            format!(
                "line 1\nline 2\nline 3\n{MORE_PROMPT}{erase}line 4\nline 5\nline 6\n\
                 {MORE_PROMPT}{erase}line 7\n"
            )
        );
        let (out, asked) = paged(&numbered(7), Some(3), &[More::Stop]);
        assert_eq!(asked, 1);
        assert_eq!(out, format!("line 1\nline 2\nline 3\n{MORE_PROMPT}{erase}"));
    }

    #[test]
    fn chunks_of_one_display_share_the_screen() {
        // 7 lines in chunks of 2, 4 and 1 page exactly as 7 lines at once.
        let text = numbered(7);
        let (whole, _) = paged(&text, Some(3), &[More::Screen, More::Screen]);
        let mut out = Vec::new();
        let mut pager = Pager::new(Some(3));
        let mut keys = 0;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for chunk in [&lines[..2], &lines[2..6], &lines[6..]] {
            let go_on = pager
                .write(&mut out, &chunk.concat(), || {
                    keys += 1;
                    Ok(More::Screen)
                })
                .unwrap();
            assert!(go_on);
        }
        assert_eq!(keys, 2);
        assert_eq!(String::from_utf8(out).unwrap(), whole);
    }
}
