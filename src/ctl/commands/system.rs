//! The console itself (reference/comware.md §1.1, §1.6, §1.7): moving between views, the
//! device's name, paging, the command history, the version, and the configuration as a
//! whole (displayed, saved).

use super::area::{Area, ConfigText, Context, Output, Tree};
use super::kit::{ALL, NAME, alt, arg, internal, kw, kws, opt, set_only};
use crate::ctl::files::{config_dir, config_file, write_whole};
use crate::ctl::grammar::{ArgKind, quote};
use crate::ctl::running::Running;
use crate::ctl::terminal::{DEFAULT_SCREEN_LENGTH, DEFAULT_SYSNAME, Effect, Terminal};
use crate::ctl::view::View;
use crate::ctl::view::bits::{ANY, SYSTEM, USER};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemCmd {
    DisplayCurrentConfiguration,
    DisplayThis,
    DisplayVersion,
    /// `all`: every console's commands, not only this one's.
    DisplayHistory {
        all: bool,
    },
    /// `file: None` = the startup file; `force` skips the questions (§1.7).
    Save {
        file: Option<String>,
        force: bool,
    },
    SystemView,
    Quit,
    Return,
    ScreenLengthDisable,
    UndoScreenLengthDisable,
    Sysname(String),
    UndoSysname,
}

const FILE: &str = "file";
const FORCE: &str = "force";

impl Area for SystemCmd {
    fn commands(t: &mut Tree<Self>) {
        t.display(
            ANY,
            vec![kw("current-configuration", "Current configuration")],
            |_, _| Ok(SystemCmd::DisplayCurrentConfiguration),
        );
        t.display(
            ANY,
            vec![kw("this", "Current view configuration")],
            |_, _| Ok(SystemCmd::DisplayThis),
        );
        t.display(
            ANY,
            vec![kw(
                "version",
                "System hardware and software version information",
            )],
            |_, _| Ok(SystemCmd::DisplayVersion),
        );
        t.display(
            ANY,
            vec![
                kw("history-command", "Historical commands"),
                opt(kws(ALL, "all", "Historical commands of all user lines")),
            ],
            |m, _| Ok(SystemCmd::DisplayHistory { all: m.has(ALL) }),
        );
        t.command(
            ANY,
            vec![
                kw("save", "Save current configuration"),
                opt(alt(vec![
                    kws(FORCE, "force", "Save without confirmation"),
                    arg(FILE, ArgKind::CfgFile, "Name of the file (*.cfg)"),
                ])),
            ],
            |m, _| {
                Ok(SystemCmd::Save {
                    file: m.text(FILE).map(str::to_string),
                    force: m.has(FORCE),
                })
            },
        );
        t.command(
            ANY,
            vec![kw("quit", "Exit from current command view")],
            |_, _| Ok(SystemCmd::Quit),
        );
        t.command(ANY, vec![kw("return", "Exit to User View")], |_, _| {
            Ok(SystemCmd::Return)
        });
        t.command(
            USER,
            vec![kw("system-view", "Enter the System View")],
            |_, _| Ok(SystemCmd::SystemView),
        );
        t.with_undo(
            USER,
            vec![
                kw("screen-length", "Specify the lines displayed on one screen"),
                kw("disable", "Disable multiple-screen output"),
            ],
            |m, _| {
                Ok(if m.is_undo() {
                    SystemCmd::UndoScreenLengthDisable
                } else {
                    SystemCmd::ScreenLengthDisable
                })
            },
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("sysname", "Specify the host name"),
                set_only(arg(NAME, ArgKind::Str { min: 1, max: 64 }, "Host name")),
            ],
            |m, _| {
                if m.is_undo() {
                    return Ok(SystemCmd::UndoSysname);
                }
                Ok(SystemCmd::Sysname(
                    m.text(NAME).ok_or_else(|| internal(m))?.to_string(),
                ))
            },
        );
    }

    fn canonical(&self) -> String {
        match self {
            SystemCmd::DisplayCurrentConfiguration => "display current-configuration".into(),
            SystemCmd::DisplayThis => "display this".into(),
            SystemCmd::DisplayVersion => "display version".into(),
            SystemCmd::DisplayHistory { all } => {
                if *all {
                    "display history-command all".into()
                } else {
                    "display history-command".into()
                }
            }
            SystemCmd::Save { file, force } => {
                let mut s = "save".to_string();
                if let Some(f) = file {
                    s.push(' ');
                    s.push_str(&quote(f));
                }
                if *force {
                    s.push_str(" force");
                }
                s
            }
            SystemCmd::SystemView => "system-view".into(),
            SystemCmd::Quit => "quit".into(),
            SystemCmd::Return => "return".into(),
            SystemCmd::ScreenLengthDisable => "screen-length disable".into(),
            SystemCmd::UndoScreenLengthDisable => "undo screen-length disable".into(),
            SystemCmd::Sysname(name) => format!("sysname {}", quote(name)),
            SystemCmd::UndoSysname => "undo sysname".into(),
        }
    }

    fn is_config(&self) -> bool {
        matches!(self, SystemCmd::Sysname(_))
    }

    fn at_terminal(&self, terminal: &mut Terminal) -> Effect {
        match self {
            SystemCmd::SystemView => {
                terminal.enter_view(View::System);
                Effect::Local
            }
            SystemCmd::Quit => terminal.quit(),
            SystemCmd::Return => {
                terminal.ctrl_z();
                Effect::Local
            }
            SystemCmd::ScreenLengthDisable => {
                terminal.set_screen_length(None);
                Effect::Local
            }
            SystemCmd::UndoScreenLengthDisable => {
                terminal.set_screen_length(Some(DEFAULT_SCREEN_LENGTH));
                Effect::Local
            }
            SystemCmd::DisplayHistory { .. } => Effect::Local,
            // The prompt changes at once; the engine keeps the name for every console.
            SystemCmd::Sysname(name) => {
                terminal.set_sysname(name);
                Effect::Forward
            }
            SystemCmd::UndoSysname => {
                terminal.set_sysname(DEFAULT_SYSNAME);
                Effect::Forward
            }
            SystemCmd::DisplayCurrentConfiguration
            | SystemCmd::DisplayThis
            | SystemCmd::DisplayVersion
            | SystemCmd::Save { .. } => Effect::Forward,
        }
    }

    fn terminal_output(&self, terminal: &Terminal) -> Output {
        match self {
            SystemCmd::DisplayHistory { .. } => Output::display(
                terminal.history().map(|l| format!("{l}\n")).collect(),
                json!({ "commands": terminal.history().collect::<Vec<_>>() }),
            ),
            _ => Output::Nothing,
        }
    }

    fn on_engine(&self, cx: &mut Context<'_>) -> Output {
        match self {
            // The configuration is CLI text: its data is that text, line by line.
            SystemCmd::DisplayCurrentConfiguration => configuration_output(cx.configuration()),
            SystemCmd::DisplayThis => configuration_output(cx.view_configuration()),
            SystemCmd::DisplayVersion => Output::display(
                format!(
                    "sessmgr, a Comware-style stateful session engine\nVersion {}\n",
                    env!("CARGO_PKG_VERSION")
                ),
                json!({"name": "sessmgr", "version": env!("CARGO_PKG_VERSION")}),
            ),
            SystemCmd::Save { file, .. } => {
                // `save FILE`: flash:/FILE, the configuration directory (files.rs).
                let path = match file {
                    None => cx.engine.startup.clone(),
                    Some(f) => match config_file(&config_dir(&cx.engine.startup), f) {
                        Ok(p) => p,
                        Err(refused) => return Output::Text(format!("{refused}\n")),
                    },
                };
                Output::Text(match write_whole(&path, &cx.configuration()) {
                    Ok(()) => format!(
                        "Saved the current configuration to {} successfully.\n",
                        path.display()
                    ),
                    Err(e) => format!(
                        " % Failed to save the configuration to {}: {e}\n",
                        path.display()
                    ),
                })
            }
            SystemCmd::Sysname(name) => {
                cx.running.sysname.clone_from(name);
                Output::Nothing
            }
            SystemCmd::UndoSysname => {
                cx.running.sysname = DEFAULT_SYSNAME.to_string();
                Output::Nothing
            }
            // Done at the terminal alone.
            SystemCmd::DisplayHistory { .. }
            | SystemCmd::SystemView
            | SystemCmd::Quit
            | SystemCmd::Return
            | SystemCmd::ScreenLengthDisable
            | SystemCmd::UndoScreenLengthDisable => Output::Nothing,
        }
    }

    /// The device's name heads the configuration, a part of its own.
    fn configuration(running: &Running, text: &mut ConfigText) {
        // Quoted as the command is typed (a name may hold spaces): `save` writes what the next
        // start types back in.
        text.head(format!(" sysname {}", quote(&running.sysname)));
    }
}

/// A configuration display: its text, and as data its lines (the `#` separators included, so
/// the sections stay apart).
fn configuration_output(text: String) -> Output {
    let lines: Vec<&str> = text.lines().collect();
    let data = json!({ "lines": lines });
    Output::display(text, data)
}
