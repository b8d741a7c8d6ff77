//! The grammar engine: one walker over the command tree (`commands/`) that parses a line
//! into an action, answers `?`, completes Tab and places the `^` of Comware's five syntax
//! errors (reference/comware.md §1.2-§1.6).
//!
//! Each command is a small syntax expression (`Syn`) compiled once into a graph whose edges
//! are tokens (keywords or typed arguments) and whose epsilon moves carry the "at most once"
//! guards of option sets. A line is walked token by token over the graphs of every command
//! of the current view at the same time, so prefix abbreviation, ambiguity and the error
//! position are decided across the whole view, as Comware does, and `?`/Tab read the very
//! same frontier the parser would continue from. A set command's `undo` form is derived
//! from the set form's syntax (§1.4), so the two cannot drift apart.
//!
//! `syntax` is what a command is made of, `tokens` how a typed line splits, `matcher` the
//! walker and the parser, `help` what `?` and Tab answer, `error` the five errors.

mod error;
mod help;
mod matcher;
mod syntax;
mod tokens;

pub use error::{CliError, ErrorKind, Fault};
pub use help::{Completion, HelpItem, render_help};
pub use matcher::{
    ALIASES, Builder, Def, Grammar, Matched, PIPE_FILE, PIPE_LINENUM, PIPE_MODE, PIPE_REDIRECT,
    PIPE_REGEX, Parsed, Val, pipe_syntax,
};
pub use syntax::{ArgKind, Slot, Syn, UNDO, undo_keyword};
pub use tokens::{MAX_LINE_CHARS, Token, quote, tokenize};

#[cfg(test)]
mod sample;
#[cfg(test)]
mod tests;
