//! The operator console (SPEC C1, C2). Pure below the socket: the socket and TTY layers
//! drive a `Terminal` line by line, and a `Console` (exec.rs) runs what reaches the engine.
//!
//! - `view`: the CLI views; `terminal`: one console's state behind the prompt (views,
//!   sysname, paging, history); `keys`: what Enter, `?` and Tab do at a terminal.
//! - `grammar`: the one engine that parses, helps, completes and reports errors over the
//!   command tree; `pipe`: the `|` filters of display commands; `files`: the files a console
//!   may write (`save FILE`, `> FILE`), in the configuration directory only.
//! - `commands`: every command, one file per area, each with its handler; the registry.
//! - `engine`, `running`: what the consoles talk to and the running configuration;
//!   `startup`: where the running configuration comes from at start (the startup file, or
//!   config.toml's seed);
//!   `exec`: one operator's console; `stream`: the session table a chunk at a time.
//! - `render`, `port_mapping_view`, `relation_view`, `userlog_view`: the Comware output layouts;
//!   `display_json`: the same data as JSON (`sessmgr exec --json`); `exec_client`: the
//!   `sessmgr exec` program (one command, non-interactive);
//!   `statistics_view`: history-max and top statistics;
//!   `client`: the `sessmgr console` program; `hotkeys`: what its keys do in the line editor
//!   (Tab cycling, Ctrl+Z, Ctrl+G, Ctrl+X) and how its transcript shows control characters.
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
pub mod commands;
#[cfg(test)]
mod console_tests;
pub mod display_json;
pub mod engine;
pub mod exec;
pub mod exec_client;
pub mod files;
pub mod grammar;
pub mod hotkeys;
pub mod keys;
pub mod pipe;
pub mod port_mapping_view;
pub mod relation_view;
pub mod render;
pub mod running;
pub mod startup;
pub mod statistics_view;
pub mod stream;
pub mod terminal;
pub mod userlog_view;
pub mod view;

pub use crate::proto::Protocol;
pub use crate::table::query::{SessionFilter, StateFilter};
pub use commands::{
    AclCmd, AclTarget, Action, AgingCmd, AlgCmd, Command, InterfaceCmd, PERSISTENT_DEFAULT_HOURS,
    SessionCmd, SystemCmd, grammar,
};
pub use grammar::{CliError, Completion, ErrorKind, HelpItem, Parsed};
pub use pipe::{FilterMode, OutputFilter, OutputPipe};
pub use terminal::{DEFAULT_SYSNAME, Effect, Terminal};
pub use view::View;
