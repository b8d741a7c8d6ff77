//! What the console's keys do in the line editor (reference/comware.md §1.3), apart from the
//! editing rustyline does itself: `?` (help at once), Tab (complete, and cycle through the
//! candidates), Ctrl+Z (`return`), Ctrl+G (`display current-configuration`), Ctrl+X (delete
//! to the line's start); and how a transcript shows control characters. The keys that end a
//! line without Enter leave a `Pending` for the client's main loop, which does the rest.

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Cmd, ConditionalEventHandler, Context, Event, EventContext, Helper, RepeatCount};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};

/// Why the line editor gave its line back without Enter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// `?`: the help for the line so far, then the same line to go on with.
    Help(String),
    /// Ctrl+Z: back to user view (`return`), whatever was typed.
    CtrlZ,
    /// Ctrl+G: `display current-configuration`, whatever was typed.
    CtrlG,
    /// Tab with nothing to offer: the line again, unchanged, on a new line (the text left and
    /// right of the cursor).
    Redisplay(String, String),
}

/// Where a key handler leaves its `Pending` for the main loop.
pub type PendingSlot = Arc<Mutex<Option<Pending>>>;

/// Ends the line at once with a `Pending` (`?`, Ctrl+Z, Ctrl+G).
pub struct EndLine {
    pub slot: PendingSlot,
    pub make: fn(&EventContext<'_>) -> Pending,
}

impl ConditionalEventHandler for EndLine {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext<'_>) -> Option<Cmd> {
        if let Ok(mut p) = self.slot.lock() {
            *p = Some((self.make)(ctx));
        }
        Some(Cmd::AcceptLine)
    }
}

/// Where Tab's candidates come from (the engine, which knows the view).
pub trait Candidates: Send {
    /// The byte where the word being completed starts in `line`, and the words it may be.
    fn candidates(&mut self, line: &str) -> (usize, Vec<String>);
}

/// Tab's state between presses: the candidates of the word being cycled through and the line
/// as the last press left it (any other edit ends the cycle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    shown: String,
    pos: usize,
    start: usize,
    candidates: Vec<String>,
    next: usize,
}

/// What one press of Tab does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TabAction {
    /// The text before the cursor becomes this (the word completed, a space after it).
    Replace(String),
    /// No candidate: the line is shown again, unchanged, on a new line.
    Redisplay,
}

/// Tab at `pos` in `line` (§1.3): a unique match is completed; with several, the first Tab
/// shows the first candidate and each further Tab the next one, round and round, the typed
/// prefix never among them; no match redisplays the line.
pub fn tab(
    state: &mut Option<Cycle>,
    line: &str,
    pos: usize,
    ask: impl FnOnce(&str) -> (usize, Vec<String>),
) -> TabAction {
    let pos = if line.is_char_boundary(pos) {
        pos.min(line.len())
    } else {
        line.len()
    };
    let after = &line[pos..];
    if let Some(c) = state.as_mut()
        && c.shown == line
        && c.pos == pos
        && !c.candidates.is_empty()
    {
        let word = &c.candidates[c.next % c.candidates.len()];
        c.next += 1;
        let before = format!("{}{word} ", &line[..c.start]);
        c.pos = before.len();
        c.shown = format!("{before}{after}");
        return TabAction::Replace(before);
    }
    *state = None;
    let (start, candidates) = ask(&line[..pos]);
    let start = (start.min(pos)..=pos)
        .find(|&s| line.is_char_boundary(s))
        .unwrap_or(pos);
    let Some(first) = candidates.first() else {
        return TabAction::Redisplay;
    };
    let before = format!("{}{first} ", &line[..start]);
    if candidates.len() > 1 {
        *state = Some(Cycle {
            shown: format!("{before}{after}"),
            pos: before.len(),
            start,
            candidates,
            next: 1,
        });
    }
    TabAction::Replace(before)
}

/// A Tab key's state before its first press.
pub fn tab_state() -> Mutex<Option<Cycle>> {
    Mutex::new(None)
}

/// The Tab key in the line editor. It decides what Tab does (`tab`); the text is changed by
/// rustyline's completion (`Cmd::Complete`, through `TabText`), the one edit that replaces
/// the text before the cursor and leaves the cursor after the new text.
pub struct TabKey<C> {
    pub source: Arc<Mutex<C>>,
    pub cycle: Mutex<Option<Cycle>>,
    pub slot: PendingSlot,
    pub text: TabText,
}

/// The text before the cursor that the Tab key just decided on, handed to rustyline's
/// completion (the editor's helper): one candidate, taken as it is.
#[derive(Clone, Default)]
pub struct TabText(Arc<Mutex<Option<String>>>);

impl Helper for TabText {}
impl Highlighter for TabText {}
impl Validator for TabText {}
impl Hinter for TabText {
    type Hint = String;
}

impl Completer for TabText {
    type Candidate = Pair;

    fn complete(
        &self,
        _: &str,
        _: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let text = self.0.lock().ok().and_then(|mut t| t.take());
        Ok((
            0,
            text.map(|t| Pair {
                display: t.clone(),
                replacement: t,
            })
            .into_iter()
            .collect(),
        ))
    }
}

impl<C: Candidates + 'static> ConditionalEventHandler for TabKey<C> {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext<'_>) -> Option<Cmd> {
        let mut cycle = self.cycle.lock().ok()?;
        let action = tab(&mut cycle, ctx.line(), ctx.pos(), |upto| {
            self.source
                .lock()
                .map(|mut s| s.candidates(upto))
                .unwrap_or_default()
        });
        match action {
            // Everything before the cursor is replaced; what is after it stays.
            TabAction::Replace(before) => {
                *self.text.0.lock().ok()? = Some(before);
                Some(Cmd::Complete)
            }
            TabAction::Redisplay => {
                let line = ctx.line();
                let pos = if line.is_char_boundary(ctx.pos()) {
                    ctx.pos()
                } else {
                    line.len()
                };
                if let Ok(mut p) = self.slot.lock() {
                    *p = Some(Pending::Redisplay(
                        line[..pos].to_string(),
                        line[pos..].to_string(),
                    ));
                }
                Some(Cmd::AcceptLine)
            }
        }
    }
}

/// Text as a transcript shows it: control characters in caret notation (`^C` for Ctrl+C,
/// `^[` for Escape, `^?` for Delete; `M-^[` for the 8-bit controls U+0080-U+009F, as
/// `cat -v` writes them), never raw, so nothing an engine or a script sends can move the
/// cursor or change the terminal. Newlines and tabs stay.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_visible(&mut out, c);
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

fn push_visible(out: &mut String, c: char) {
    let code = u32::from(c);
    match code {
        _ if !needs_escape(c) => out.push(c),
        0x7f => out.push_str("^?"),
        0x80..=0x9f => {
            out.push_str("M-");
            push_visible(out, char::from_u32(code - 0x80).unwrap_or('?'));
        }
        _ => {
            out.push('^');
            out.push(char::from_u32(code + 0x40).unwrap_or('?'));
        }
    }
}

/// Columns `c` takes once made visible.
fn visible_width(c: char) -> usize {
    let mut s = String::new();
    push_visible(&mut s, c);
    s.chars().count()
}

/// An engine's error for a line a transcript shows made visible: its `^` line counted the
/// raw characters, so it moves right by what the escapes added before the error's column.
pub fn realign_caret(output: &str, prompt: &str, line: &str) -> String {
    let (first, rest) = output.split_once('\n').unwrap_or((output, ""));
    let caret = first.len().saturating_sub(1);
    let is_caret_line = first.ends_with('^') && first[..caret].bytes().all(|b| b == b' ');
    let raw_prompt = prompt.chars().count();
    if !is_caret_line || caret < raw_prompt {
        return output.to_string();
    }
    // Each escape adds its extra columns; past the line's end (an incomplete command) the
    // distance stays what it was.
    let added = visible(prompt).chars().count() - raw_prompt
        + line
            .chars()
            .take(caret - raw_prompt)
            .map(|c| visible_width(c) - 1)
            .sum::<usize>();
    let column = caret + added;
    let sep = if output.contains('\n') { "\n" } else { "" };
    format!("{}^{sep}{rest}", " ".repeat(column))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Presses Tab on `line` (cursor at the end) `n` times; the lines after each press.
    fn presses(line: &str, n: usize, offer: &[&str]) -> Vec<String> {
        let mut state = None;
        let mut line = line.to_string();
        let mut asked = 0;
        let mut out = Vec::new();
        for _ in 0..n {
            // As the engine: the words the last one starts, nothing for an empty word.
            let start = line.rfind(' ').map_or(0, |i| i + 1);
            let action = tab(&mut state, &line, line.len(), |upto| {
                asked += 1;
                let word = &upto[start..];
                let words = offer
                    .iter()
                    .filter(|w| !word.is_empty() && w.starts_with(word))
                    .map(|s| s.to_string())
                    .collect();
                (start, words)
            });
            match action {
                TabAction::Replace(before) => line = before,
                TabAction::Redisplay => out.push("(redisplay)".into()),
            }
            out.push(line.clone());
        }
        out.push(format!("asked {asked}"));
        out
    }

    #[test]
    fn tab_cycles_through_the_candidates_without_the_typed_prefix() {
        let candidates = ["save", "session", "show", "sysname"];
        assert_eq!(
            presses("s", 6, &candidates),
            [
                "save ", "session ", "show ", "sysname ", "save ", "session ", "asked 1"
            ]
        );
        // A unique match completes; the next Tab starts afresh (the engine is asked again).
        assert_eq!(
            presses("dis", 2, &["display"]),
            ["display ", "(redisplay)", "display ", "asked 2"]
        );
        // No match: the line is redisplayed, unchanged.
        assert_eq!(
            presses("display zz", 2, &[]),
            [
                "(redisplay)",
                "display zz",
                "(redisplay)",
                "display zz",
                "asked 2"
            ]
        );
    }

    #[test]
    fn an_edit_between_presses_ends_the_cycle() {
        let mut state = None;
        let offer = |_: &str| (0, vec!["save".to_string(), "session".to_string()]);
        assert_eq!(
            tab(&mut state, "s", 1, offer),
            TabAction::Replace("save ".into())
        );
        // The operator typed something: the line is not what Tab left.
        let mut asked = false;
        tab(&mut state, "save x", 6, |_| {
            asked = true;
            (5, vec![])
        });
        assert!(asked && state.is_none());
        // Text after the cursor stays where it is.
        let mut state = None;
        assert_eq!(
            tab(&mut state, "s 3000", 1, offer),
            TabAction::Replace("save ".into())
        );
        assert_eq!(
            tab(&mut state, "save  3000", 5, offer),
            TabAction::Replace("session ".into())
        );
        // A start past the cursor or inside a character is clamped.
        let mut state = None;
        assert_eq!(
            tab(&mut state, "é", 1, |_| (9, vec!["x".into()])),
            TabAction::Replace("éx ".into())
        );
    }

    #[test]
    fn control_characters_are_shown_in_caret_notation() {
        assert_eq!(visible("display version"), "display version");
        assert!(matches!(visible("plain\ttext\n"), Cow::Borrowed(_)));
        assert_eq!(visible("a\u{3}b"), "a^Cb");
        assert_eq!(visible("\u{0}\u{1b}[2J\u{7f}\r"), "^@^[[2J^?^M");
        assert_eq!(visible("x\u{9b}31m"), "xM-^[31m");
        assert_eq!(visible("é\u{1a}"), "é^Z");
    }

    #[test]
    fn the_caret_moves_with_the_escapes_before_it() {
        // `dis\0play version`: one token, the caret at its start; nothing to move.
        let out = "     ^\n % Unrecognized command found at '^' position.\n";
        assert_eq!(realign_caret(out, "<H3C>", "dis\u{0}play version"), out);
        // An escape before the offending word moves the caret one column right per escape.
        let line = "display \u{1b}\u{7}x foo bar";
        // The error is at `bar` (column 16 of the line, after the prompt's 5).
        let raw = format!("{}^\n % E\n", " ".repeat(5 + 16));
        let moved = realign_caret(&raw, "<H3C>", line);
        assert_eq!(moved, format!("{}^\n % E\n", " ".repeat(5 + 18)));
        // Past the end of the line (incomplete): the escapes' columns are added too.
        let raw = format!("{}^\n % E\n", " ".repeat(5 + 21));
        let moved = realign_caret(&raw, "<H3C>", &line[..line.len() - 1]);
        assert_eq!(moved, format!("{}^\n % E\n", " ".repeat(5 + 23)));
        // Output that is not an error is left alone.
        assert_eq!(realign_caret("text\n", "<H3C>", line), "text\n");
        let plain = "          ^\n % E\n";
        assert_eq!(realign_caret(plain, "<H3C>", "short"), plain);
    }
}
