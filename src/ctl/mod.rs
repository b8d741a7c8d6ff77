//! The operator console (SPEC C1, C2): the command tree as data (`tree`), the one grammar
//! engine that parses, helps, completes and reports errors over it (`grammar`), and the
//! per-console state behind the prompt (`views`), and the Comware output layouts (`render`). Pure: no sockets, no terminal; the socket
//! and TTY layers drive a `Terminal` line by line.
//!
//! A console layer does, per line:
//! - Enter: `Terminal::execute(line)` -> the `Action` (+ `OutputPipe` to filter the output
//!   through) and an `Effect` (handled locally, forward to the engine, or close), or a
//!   `CliError` to show with `CliError::caret_lines(prompt)` (the TTY already echoed the line)
//!   or `CliError::render(prompt, line)` (transcripts).
//! - `?`: `Terminal::help(line_before_the_question_mark)`.
//! - Tab: `Terminal::complete(line)`.
//! - Ctrl+Z: `Terminal::ctrl_z()`.
//! - `display current-configuration`: `Action::config_line()` of each setting.

pub mod client;
pub mod engine;
pub mod exec;
pub mod grammar;
pub mod pipe;
pub mod port_mapping_view;
pub mod relation_view;
pub mod render;
pub mod running;
pub mod stream;
pub mod terminal;
pub mod tree;
pub mod view;

pub use crate::proto::Protocol;
pub use grammar::{CliError, Completion, ErrorKind, HelpItem, Parsed};
pub use pipe::{FilterMode, OutputFilter, OutputPipe};
pub use terminal::{Command, DEFAULT_SYSNAME, Effect, Terminal};
pub use tree::{AclTarget, Action, PERSISTENT_DEFAULT_HOURS, SessionFilter, StateFilter, grammar};
pub use view::View;
