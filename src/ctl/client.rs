//! `sessmgr console`: the thin TTY client. The engine owns the command tree; this program
//! edits lines (rustyline: history; Tab completion asked of the engine, cycling through the
//! candidates; `?` answered at once without Enter; Ctrl+Z, Ctrl+G, Ctrl+X as Comware's, see
//! hotkeys.rs) and prints what the engine answers, a screen at a time (`---- More ----`,
//! the screen length the engine reports for this console; a long session table arrives in
//! chunks, the next one asked for when the operator pages past the last). Without a terminal
//! it reads commands from standard input, one per line, and prints a transcript, never paged
//! (scripts and tests), control characters shown in caret notation. Nothing the engine sends
//! reaches the terminal raw.

use super::hotkeys::{
    Candidates, EndLine, Pending, PendingSlot, TabKey, TabText, realign_caret, tab_state, visible,
};
use rustyline::error::ReadlineError;
use rustyline::{Cmd, CompletionType, Editor, EventHandler, KeyEvent, Movement};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
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
impl Candidates for Link {
    fn candidates(&mut self, line: &str) -> (usize, Vec<String>) {
        let reply = self
            .ask(json!({"op": "complete", "line": line}))
            .unwrap_or(Value::Null);
        let start = reply["start"].as_u64().unwrap_or(line.len() as u64) as usize;
        let words = reply["candidates"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        (start, words)
    }
}

/// The line editor with the console's keys bound (hotkeys.rs): `?`, Tab, Ctrl+Z, Ctrl+G,
/// Ctrl+X and Ctrl+Y.
fn editor(
    link: &Arc<Mutex<Link>>,
    slot: &PendingSlot,
) -> Result<Editor<TabText, rustyline::history::DefaultHistory>, ClientError> {
    // One candidate at a time, taken at once: the Tab key does the cycling.
    let config = rustyline::Config::builder()
        .completion_type(CompletionType::List)
        .build();
    let mut ed: Editor<TabText, rustyline::history::DefaultHistory> = Editor::with_config(config)?;
    let text = TabText::default();
    ed.set_helper(Some(text.clone()));
    let end_line = |make| {
        EventHandler::Conditional(Box::new(EndLine {
            slot: slot.clone(),
            make,
        }))
    };
    ed.bind_sequence(
        KeyEvent::from('?'),
        end_line(|ctx| Pending::Help(ctx.line().to_string())),
    );
    ed.bind_sequence(KeyEvent::ctrl('Z'), end_line(|_| Pending::CtrlZ));
    ed.bind_sequence(KeyEvent::ctrl('G'), end_line(|_| Pending::CtrlG));
    ed.bind_sequence(
        KeyEvent::ctrl('X'),
        EventHandler::Simple(Cmd::Kill(Movement::BeginningOfLine)),
    );
    // Comware's Ctrl+Y deletes to the line's end (rustyline's would paste).
    ed.bind_sequence(
        KeyEvent::ctrl('Y'),
        EventHandler::Simple(Cmd::Kill(Movement::EndOfLine)),
    );
    ed.bind_sequence(
        KeyEvent::from('\t'),
        EventHandler::Conditional(Box::new(TabKey {
            source: link.clone(),
            cycle: tab_state(),
            slot: slot.clone(),
            text,
        })),
    );
    Ok(ed)
}

/// Keeps Ctrl+Z from stopping the console: the terminal turns the key into SIGTSTP whenever
/// the line editor is not reading (output on its way); blocked, the signal never stops the
/// process, and in the editor the key is Ctrl+Z, `return` (§1.3).
fn never_stop() {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGTSTP);
    // Nothing to do if it fails: the key is still bound in the editor.
    let _ = set.thread_block();
}

/// Runs the console against the engine's control socket.
pub fn run(socket: &Path) -> Result<(), ClientError> {
    let mut link = Link::connect(socket)?;
    // A transcript (standard input not a terminal) is never paged: the engine may send its
    // displays in large chunks.
    let terminal = std::io::stdin().is_terminal();
    let hello = link.ask(json!({"op": "hello", "pager": terminal}))?;
    if let Some(e) = hello["error"].as_str() {
        return Err(ClientError::Refused {
            path: socket.display().to_string(),
            why: e.to_string(),
        });
    }
    let mut prompt = hello["prompt"].as_str().unwrap_or("<sessmgr>").to_string();
    let mut screen = screen_length(&hello);
    if !terminal {
        return batch(link, prompt);
    }
    never_stop();
    let link = Arc::new(Mutex::new(link));
    let slot: PendingSlot = Arc::default();
    let mut ed = editor(&link, &slot)?;
    if let Some(id) = hello["monitor"].as_u64() {
        monitor(socket, id, &mut ed);
    }
    // The line to start from, left and right of the cursor (after `?` or a Tab that found
    // nothing).
    let mut initial = (String::new(), String::new());
    loop {
        let shown = visible(&prompt).into_owned();
        let line = match ed.readline_with_initial(&shown, (&initial.0, &initial.1)) {
            Ok(l) => l,
            // Ctrl+C abandons the line; Ctrl+D leaves.
            Err(ReadlineError::Interrupted) => {
                initial = Default::default();
                continue;
            }
            Err(ReadlineError::Eof) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        initial = Default::default();
        let pending = slot.lock().ok().and_then(|mut p| p.take());
        let line = match pending {
            Some(Pending::Help(before)) => {
                // Comware answers `?` in place and redraws the line typed so far. rustyline
                // ended the line with a newline, without the `?`: write the line again over
                // it (one line up, cleared) with the `?`, as the device echoes it.
                println!("\x1b[1A\r{shown}{before}?\x1b[K");
                let r = ask(&link, json!({"op": "help", "line": before}))?;
                if r.get("screen_length").is_some() {
                    screen = screen_length(&r);
                }
                page(
                    &visible(r["output"].as_str().unwrap_or("")),
                    screen,
                    read_key,
                )?;
                initial = (before, String::new());
                continue;
            }
            // Tab found nothing: the same line again, on a new line.
            Some(Pending::Redisplay(left, right)) => {
                initial = (left, right);
                continue;
            }
            // The hotkeys run their command in place of what was typed, shown as if typed.
            Some(key @ (Pending::CtrlZ | Pending::CtrlG)) => {
                let command = if key == Pending::CtrlZ {
                    "return"
                } else {
                    "display current-configuration"
                };
                println!("\x1b[1A\r{shown}{command}\x1b[K");
                command.to_string()
            }
            None => {
                if !line.trim().is_empty() {
                    let _ = ed.add_history_entry(line.as_str());
                }
                line
            }
        };
        let r = ask(&link, json!({"op": "line", "line": line}))?;
        // The screen length in force for this output is the one after the line ran:
        // `screen-length disable` prints nothing, and its own output is never long.
        screen = screen_length(&r);
        match link.lock() {
            Ok(mut l) => page_all(&mut l, &r, screen)?,
            Err(_) => return Err(ClientError::Closed),
        }
        if r["close"].as_bool() == Some(true) {
            return Ok(());
        }
        prompt = r["prompt"].as_str().unwrap_or(&prompt).to_string();
    }
}

/// How often the client asks for the information centre's messages (`terminal monitor`).
const MONITOR_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// `terminal monitor`'s messages: a thread polls a second connection for those waiting for
/// console `id` and hands each to rustyline's external printer, which prints it above the
/// prompt and redraws the prompt and the half-typed line as they were (while the console is
/// paging an output, they wait in the printer's pipe until the next prompt). Messages the
/// engine had to drop for this console (it keeps a bounded queue per console) are counted in
/// a line of their own. Without a second connection or a printer, no messages: the console
/// works as before.
fn monitor(socket: &Path, id: u64, ed: &mut Editor<TabText, rustyline::history::DefaultHistory>) {
    use rustyline::ExternalPrinter as _;
    let Ok(mut printer) = ed.create_external_printer() else {
        return;
    };
    let Ok(mut poll) = Link::connect(socket) else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("sessmgr-monitor".into())
        .spawn(move || {
            loop {
                let Ok(r) = poll.ask(json!({"op": "messages", "console": id})) else {
                    return; // the engine is gone; the console will say so
                };
                let mut text = String::new();
                if let Some(n) = r["dropped"].as_u64().filter(|&n| n > 0) {
                    text.push_str(&format!(
                        "% {n} log message(s) for this terminal were dropped (not read in time).\n"
                    ));
                }
                for line in r["lines"].as_array().into_iter().flatten() {
                    text.push_str(&visible(line.as_str().unwrap_or("")));
                    text.push('\n');
                }
                if !text.is_empty() && printer.print(text).is_err() {
                    return;
                }
                std::thread::sleep(MONITOR_POLL);
            }
        });
    drop(spawned);
}

fn ask(link: &Arc<Mutex<Link>>, req: Value) -> Result<Value, ClientError> {
    link.lock().map_err(|_| ClientError::Closed)?.ask(req)
}

/// Commands from standard input, printed as a transcript: prompt, command, output.
fn batch(mut link: Link, mut prompt: String) -> Result<(), ClientError> {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    // Everything that reaches the screen goes through `visible`: a control character typed in
    // a script or sent by the engine is shown in caret notation, never raw (the `^` of an
    // error moves right by what the escapes added).
    for line in stdin.lock().lines() {
        let line = line?;
        writeln!(out, "{}{}", visible(&prompt), visible(&line))?;
        let shown = |r: &Value| {
            let output = r["output"].as_str().unwrap_or("");
            with_newline(&visible(&realign_caret(output, &prompt, &line))).into_owned()
        };
        if let Some(before) = line.strip_suffix('?') {
            let r = link.ask(json!({"op": "help", "line": before}))?;
            write!(out, "{}", shown(&r))?;
            continue;
        }
        let r = link.ask(json!({"op": "line", "line": line}))?;
        write!(out, "{}", shown(&r))?;
        // A long display comes in chunks: all of them, one after the other, never paged.
        let mut more = r["more"].as_bool() == Some(true);
        while more {
            let m = link.ask(json!({"op": "more"}))?;
            write!(
                out,
                "{}",
                with_newline(&visible(m["output"].as_str().unwrap_or("")))
            )?;
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
    let text = |r: &Value| visible(r["output"].as_str().unwrap_or("")).into_owned();
    let mut go_on = pager.write(&mut out, &text(first), read_key)?;
    out.flush()?;
    while more && go_on {
        let r = link.ask(json!({"op": "more"}))?;
        more = r["more"].as_bool() == Some(true);
        go_on = pager.write(&mut out, &text(&r), read_key)?;
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

fn with_newline(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_empty() || s.ends_with('\n') {
        s.into()
    } else {
        format!("{s}\n").into()
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
