//! The abrupt-change alarms and the information centre's local destinations (SPEC M1-M3,
//! reference/comware.md §9.5, §11.1; issue #13): `session alarm ...`, `info-center logbuffer
//! size`, `display logbuffer`, `reset logbuffer`, and a console's `terminal monitor` and
//! `terminal logging level` (user view, as on Comware).

use super::area::{Area, ConfigText, Context, Output, Tree};
use super::kit::{H_RESET, H_SESSION, KIND, NUM, alt, arg, int, kw, kws, opt, set_only};
use crate::alarm::{AlarmKind, AlarmRule, DEFAULT_BASE_PCT, DEFAULT_THRESHOLD_PCT};
use crate::ctl::grammar::Fault;
use crate::ctl::running::Running;
use crate::ctl::terminal::{Effect, Terminal};
use crate::ctl::view::bits::{ANY, SYSTEM, USER};
use crate::infocenter::{BufferView, LOGBUFFER_DEFAULT, LOGBUFFER_MAX};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InfoCmd {
    /// `session alarm KIND enable` / `undo ...`.
    AlarmEnable {
        kind: AlarmKind,
        on: bool,
    },
    /// `session alarm KIND threshold PCT [base-threshold PCT]`; `None` = `undo` (defaults).
    AlarmThreshold {
        kind: AlarmKind,
        set: Option<(u32, u32)>,
    },
    /// `info-center logbuffer size N`; `None` = `undo` (512).
    LogbufferSize(Option<u32>),
    DisplayLogbuffer,
    ResetLogbuffer,
    /// `terminal monitor` / `undo terminal monitor`.
    Monitor(bool),
    /// `terminal logging level N`; `None` = `undo` (6).
    LoggingLevel(Option<u8>),
}

const BASE: &str = "base";
const H_ALARM: &str = "Configure session alarms";

fn alarm_kinds() -> crate::ctl::grammar::Syn {
    alt(vec![
        kws(
            KIND,
            "usage-abrupt",
            "Alarm for abrupt changes of the session table usage",
        ),
        kws(
            KIND,
            "rate-abrupt",
            "Alarm for abrupt changes of the session creation rate",
        ),
        kws(
            KIND,
            "try-rate-abrupt",
            "Alarm for abrupt changes of the session attempt rate",
        ),
    ])
}

fn kind_of(m: &crate::ctl::grammar::Matched<'_>) -> Result<AlarmKind, Fault> {
    let word = m.text(KIND).unwrap_or_default();
    AlarmKind::ALL
        .into_iter()
        .find(|k| k.keyword() == word)
        .ok_or_else(|| super::kit::internal(m))
}

fn index(kind: AlarmKind) -> usize {
    AlarmKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

impl Area for InfoCmd {
    fn commands(t: &mut Tree<Self>) {
        t.with_undo(
            SYSTEM,
            vec![
                kw("session", H_SESSION),
                kw("alarm", H_ALARM),
                alarm_kinds(),
                kw("enable", "Enable the alarm"),
            ],
            |m, _| {
                Ok(InfoCmd::AlarmEnable {
                    kind: kind_of(m)?,
                    on: !m.is_undo(),
                })
            },
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("session", H_SESSION),
                kw("alarm", H_ALARM),
                alarm_kinds(),
                kw("threshold", "Specify the change-rate threshold"),
                set_only(arg(
                    NUM,
                    int(0, 100_000),
                    "Change rate in a 10-second period, in percent (default 20)",
                )),
                set_only(opt(crate::ctl::grammar::Syn::Seq(vec![
                    kw(
                        "base-threshold",
                        "Specify the start value the change is measured from",
                    ),
                    arg(
                        BASE,
                        int(0, 100),
                        "Start value in percent of the capacity (usage) or of 100,000/s \
                         (rates) (default 10)",
                    ),
                ]))),
            ],
            |m, _| {
                let kind = kind_of(m)?;
                if m.is_undo() {
                    return Ok(InfoCmd::AlarmThreshold { kind, set: None });
                }
                let pct = m.u32(NUM).ok_or_else(|| super::kit::internal(m))?;
                let base = m.u32(BASE).unwrap_or(DEFAULT_BASE_PCT);
                Ok(InfoCmd::AlarmThreshold {
                    kind,
                    set: Some((pct, base)),
                })
            },
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("info-center", "Configure the information center"),
                kw("logbuffer", "Configure the log buffer"),
                kw("size", "Specify the log buffer size"),
                set_only(arg(
                    NUM,
                    int(0, LOGBUFFER_MAX as u32),
                    "Number of messages the log buffer holds (default 512)",
                )),
            ],
            |m, _| {
                Ok(InfoCmd::LogbufferSize(if m.is_undo() {
                    None
                } else {
                    Some(m.u32(NUM).ok_or_else(|| super::kit::internal(m))?)
                }))
            },
        );
        t.display(
            ANY,
            vec![kw("logbuffer", "Display the log buffer")],
            |_, _| Ok(InfoCmd::DisplayLogbuffer),
        );
        t.command(
            USER,
            vec![
                kw("reset", H_RESET),
                kw("logbuffer", "Clear the log buffer"),
            ],
            |_, _| Ok(InfoCmd::ResetLogbuffer),
        );
        t.with_undo(
            USER,
            vec![
                kw("terminal", "Set the current terminal"),
                kw("monitor", "Show the information center's messages here"),
            ],
            |m, _| Ok(InfoCmd::Monitor(!m.is_undo())),
        );
        t.with_undo(
            USER,
            vec![
                kw("terminal", "Set the current terminal"),
                kw("logging", "Specify which logs this terminal shows"),
                kw("level", "Specify the lowest severity shown"),
                set_only(arg(
                    NUM,
                    int(0, 7),
                    "Severity: 0 emergency ... 4 warning ... 7 debugging (default 6)",
                )),
            ],
            |m, _| {
                Ok(InfoCmd::LoggingLevel(if m.is_undo() {
                    None
                } else {
                    let n = m.u32(NUM).ok_or_else(|| super::kit::internal(m))?;
                    Some(n.min(7) as u8)
                }))
            },
        );
    }

    fn canonical(&self) -> String {
        match self {
            InfoCmd::AlarmEnable { kind, on } => format!(
                "{}session alarm {} enable",
                if *on { "" } else { "undo " },
                kind.keyword()
            ),
            InfoCmd::AlarmThreshold {
                kind,
                set: Some((pct, base)),
            } => {
                let mut s = format!("session alarm {} threshold {pct}", kind.keyword());
                if *base != DEFAULT_BASE_PCT {
                    s.push_str(&format!(" base-threshold {base}"));
                }
                s
            }
            InfoCmd::AlarmThreshold { kind, set: None } => {
                format!("undo session alarm {} threshold", kind.keyword())
            }
            InfoCmd::LogbufferSize(Some(n)) => format!("info-center logbuffer size {n}"),
            InfoCmd::LogbufferSize(None) => "undo info-center logbuffer size".into(),
            InfoCmd::DisplayLogbuffer => "display logbuffer".into(),
            InfoCmd::ResetLogbuffer => "reset logbuffer".into(),
            InfoCmd::Monitor(true) => "terminal monitor".into(),
            InfoCmd::Monitor(false) => "undo terminal monitor".into(),
            InfoCmd::LoggingLevel(Some(n)) => format!("terminal logging level {n}"),
            InfoCmd::LoggingLevel(None) => "undo terminal logging level".into(),
        }
    }

    fn is_config(&self) -> bool {
        matches!(
            self,
            InfoCmd::AlarmEnable { .. }
                | InfoCmd::AlarmThreshold { .. }
                | InfoCmd::LogbufferSize(_)
        )
    }

    fn at_terminal(&self, terminal: &mut Terminal) -> Effect {
        match self {
            InfoCmd::Monitor(on) => {
                terminal.set_monitor(*on);
                Effect::Local
            }
            InfoCmd::LoggingLevel(level) => {
                terminal
                    .set_logging_level(level.unwrap_or(crate::infocenter::DEFAULT_CONSOLE_LEVEL));
                Effect::Local
            }
            _ => Effect::Forward,
        }
    }

    fn terminal_output(&self, _terminal: &Terminal) -> Output {
        match self {
            InfoCmd::Monitor(true) => {
                Output::Text("The current terminal is enabled to display logs.\n".into())
            }
            InfoCmd::Monitor(false) => {
                Output::Text("The current terminal is disabled to display logs.\n".into())
            }
            _ => Output::Nothing,
        }
    }

    fn on_engine(&self, cx: &mut Context<'_>) -> Output {
        match self {
            InfoCmd::AlarmEnable { kind, on } => {
                cx.running.alarms[index(*kind)].enabled = *on;
                cx.changed();
                Output::Nothing
            }
            InfoCmd::AlarmThreshold { kind, set } => {
                let rule = &mut cx.running.alarms[index(*kind)];
                let (pct, base) = set.unwrap_or((DEFAULT_THRESHOLD_PCT, DEFAULT_BASE_PCT));
                rule.threshold_pct = pct;
                rule.base_pct = base;
                cx.changed();
                Output::Nothing
            }
            InfoCmd::LogbufferSize(n) => {
                cx.running.logbuffer_size = n.map_or(LOGBUFFER_DEFAULT, |n| n as usize);
                cx.changed();
                Output::Nothing
            }
            InfoCmd::DisplayLogbuffer => {
                let b = cx.engine.info.buffer();
                let data = serde_json::to_value(&b).unwrap_or_default();
                Output::display(render_logbuffer(&b), data)
            }
            InfoCmd::ResetLogbuffer => {
                cx.engine.info.reset_buffer();
                Output::Nothing
            }
            // Done at the terminal.
            InfoCmd::Monitor(_) | InfoCmd::LoggingLevel(_) => Output::Nothing,
        }
    }

    fn configuration(running: &Running, text: &mut ConfigText) {
        for (kind, rule) in AlarmKind::ALL.into_iter().zip(&running.alarms) {
            let default = AlarmRule::default();
            if rule.enabled {
                text.setting(&InfoCmd::AlarmEnable { kind, on: true });
            }
            if (rule.threshold_pct, rule.base_pct) != (default.threshold_pct, default.base_pct) {
                text.setting(&InfoCmd::AlarmThreshold {
                    kind,
                    set: Some((rule.threshold_pct, rule.base_pct)),
                });
            }
        }
        if running.logbuffer_size != LOGBUFFER_DEFAULT {
            text.setting(&InfoCmd::LogbufferSize(Some(running.logbuffer_size as u32)));
        }
    }
}

/// `display logbuffer` (§11.1's header lines, then the messages oldest first). Comware's
/// "Actual buffer size" is the configured size; "Current messages" what it holds.
pub fn render_logbuffer(b: &BufferView) -> String {
    let mut s = format!(
        "Log buffer: Enabled\nMax buffer size: {}\nActual buffer size: {}\nDropped messages: {}\n\
         Overwritten messages: {}\nCurrent messages: {}\n",
        b.max_size,
        b.size,
        b.dropped,
        b.overwritten,
        b.lines.len()
    );
    for line in &b.lines {
        s.push_str(line);
        s.push('\n');
    }
    s
}
