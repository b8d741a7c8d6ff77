//! Aging (SPEC A1-A4, reference/comware.md §4.2, §4.5, §5): how long an idle session lives,
//! per state and per application, and persistent sessions (an ACL's sessions live hours).
//! A session's aging time is derived, never stored (A4: persistent > application > state),
//! so a change here applies to every session at once.

use super::area::{Area, ConfigText, Context, Output, Tree};
use super::kit::{
    AppName, H_SESSION, H_SESSION_DISPLAY, IPV6, KIND, NUM, STATE, alt, app_of,
    application_keywords, arg, int, internal, ipv6_word, kw, kws, no_such_application, opt, seq,
    set_only, undo_optional,
};
use crate::ctl::display_json;
use crate::ctl::grammar::Syn;
use crate::ctl::render::{render_aging_application, render_aging_state};
use crate::ctl::running::Running;
use crate::ctl::view::bits::{ANY, SYSTEM};
use crate::table::aging::{AgingConfig, AgingState};
use crate::table::apps::{self, OTHERS_AGING_S, UserApps};

/// `session persistent acl` without `aging-time` (§5).
pub const PERSISTENT_DEFAULT_HOURS: u32 = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgingCmd {
    /// `display session aging-time state`.
    DisplayState,
    /// `display session aging-time application`.
    DisplayApplication,
    SetState {
        state: AgingState,
        seconds: u32,
    },
    /// `None` restores every state's default.
    UndoState {
        state: Option<AgingState>,
    },
    /// A pre-defined application, or a user-defined one (it must be mapped to a port first).
    SetApplication {
        app: AppName,
        seconds: u32,
    },
    UndoApplication {
        app: Option<AppName>,
    },
    /// `hours` 0-360, 0 = never age out; 24 when not given (§5).
    Persistent {
        ipv6: bool,
        number: u32,
        hours: u32,
    },
    UndoPersistent {
        ipv6: bool,
    },
}

const H_AGING: &str = "Session aging time";
const SECONDS: &str = "seconds";
const HOURS: &str = "hours";

/// `session aging-time state` keywords: every state the engine ages, in the alphabetical
/// order of Comware's help (SPEC A1). comware.md §4.2 lists eleven; the DCCP, SCTP, UDP-Lite
/// and ICMPv6 keywords are ours: `display session aging-time state` shows those rows, so an
/// operator can set them too (and a saved configuration that sets them reads back).
pub(super) static SETTABLE_STATES: std::sync::LazyLock<Vec<AgingState>> =
    std::sync::LazyLock::new(|| {
        let mut all = AgingState::ALL.to_vec();
        all.sort_by_key(|s| s.keyword());
        all
    });

fn aging_state_keywords() -> Syn {
    alt(SETTABLE_STATES
        .iter()
        .map(|s| {
            kws(
                STATE,
                s.keyword(),
                format!(
                    "Specify the aging time for sessions in {} state",
                    s.display()
                ),
            )
        })
        .collect())
}

impl Area for AgingCmd {
    fn commands(t: &mut Tree<Self>) {
        let seconds = || arg(SECONDS, int(1, 100_000), "Aging time in seconds");
        t.display(
            ANY,
            vec![
                kw("session", H_SESSION_DISPLAY),
                kw("aging-time", H_AGING),
                alt(vec![
                    kws(
                        KIND,
                        "state",
                        "Display the aging time for sessions in different states",
                    ),
                    kws(
                        KIND,
                        "application",
                        "Display the aging time for sessions of different applications",
                    ),
                ]),
            ],
            |m, _| {
                Ok(if m.text(KIND) == Some("state") {
                    AgingCmd::DisplayState
                } else {
                    AgingCmd::DisplayApplication
                })
            },
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("session", H_SESSION),
                kw("aging-time", H_AGING),
                kw(
                    "state",
                    "Specify the aging time for sessions in different states",
                ),
                undo_optional(aging_state_keywords()),
                set_only(seconds()),
            ],
            |m, _| {
                let state = m.text(STATE).and_then(AgingState::by_keyword);
                if m.is_undo() {
                    return Ok(AgingCmd::UndoState { state });
                }
                Ok(AgingCmd::SetState {
                    state: state.ok_or_else(|| internal(m))?,
                    seconds: m.u32(SECONDS).ok_or_else(|| internal(m))?,
                })
            },
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("session", H_SESSION),
                kw("aging-time", H_AGING),
                kw(
                    "application",
                    "Specify the aging time for sessions of different applications",
                ),
                undo_optional(application_keywords(|name| {
                    format!("Specify the aging time for {name} sessions")
                })),
                set_only(seconds()),
            ],
            |m, _| {
                let app = app_of(m);
                if m.is_undo() {
                    return Ok(AgingCmd::UndoApplication { app });
                }
                Ok(AgingCmd::SetApplication {
                    app: app.ok_or_else(|| internal(m))?,
                    seconds: m.u32(SECONDS).ok_or_else(|| internal(m))?,
                })
            },
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("session", H_SESSION),
                kw("persistent", "Specify persistent sessions"),
                kw("acl", "Specify an ACL"),
                opt(kws(IPV6, "ipv6", "Specify an IPv6 ACL")),
                set_only(arg(NUM, int(2000, 3999), "ACL number")),
                set_only(opt(seq(vec![
                    kw(
                        "aging-time",
                        "Specify the aging time of persistent sessions",
                    ),
                    arg(
                        HOURS,
                        int(0, 360),
                        "Aging time in hours (0 = never aged out)",
                    ),
                ]))),
            ],
            |m, _| {
                let ipv6 = m.has(IPV6);
                if m.is_undo() {
                    return Ok(AgingCmd::UndoPersistent { ipv6 });
                }
                Ok(AgingCmd::Persistent {
                    ipv6,
                    number: m.u32(NUM).ok_or_else(|| internal(m))?,
                    hours: m.u32(HOURS).unwrap_or(PERSISTENT_DEFAULT_HOURS),
                })
            },
        );
    }

    fn canonical(&self) -> String {
        match self {
            AgingCmd::DisplayState => "display session aging-time state".into(),
            AgingCmd::DisplayApplication => "display session aging-time application".into(),
            AgingCmd::SetState { state, seconds } => {
                format!("session aging-time state {} {seconds}", state.keyword())
            }
            AgingCmd::UndoState { state } => match state {
                Some(st) => format!("undo session aging-time state {}", st.keyword()),
                None => "undo session aging-time state".into(),
            },
            AgingCmd::SetApplication { app, seconds } => {
                format!("session aging-time application {} {seconds}", app.word())
            }
            AgingCmd::UndoApplication { app } => match app {
                Some(a) => format!("undo session aging-time application {}", a.word()),
                None => "undo session aging-time application".into(),
            },
            AgingCmd::Persistent {
                ipv6,
                number,
                hours,
            } => {
                let mut s = format!("session persistent acl{} {number}", ipv6_word(*ipv6));
                if *hours != PERSISTENT_DEFAULT_HOURS {
                    s.push_str(&format!(" aging-time {hours}"));
                }
                s
            }
            AgingCmd::UndoPersistent { ipv6 } => {
                format!("undo session persistent acl{}", ipv6_word(*ipv6))
            }
        }
    }

    fn is_config(&self) -> bool {
        matches!(
            self,
            AgingCmd::SetState { .. }
                | AgingCmd::SetApplication { .. }
                | AgingCmd::Persistent { .. }
        )
    }

    fn on_engine(&self, cx: &mut Context<'_>) -> Output {
        let table = &mut cx.running.table;
        let (aging, user) = (&mut table.aging, &table.user_apps);
        let defaults = AgingConfig::default();
        match self {
            AgingCmd::DisplayState => {
                return Output::display(
                    render_aging_state(aging),
                    display_json::aging_state(aging),
                );
            }
            AgingCmd::DisplayApplication => {
                return Output::display(
                    render_aging_application(aging, user),
                    display_json::aging_application(aging, user),
                );
            }
            AgingCmd::SetState { state, seconds } => aging.state_s[*state as usize] = *seconds,
            AgingCmd::UndoState { state } => match state {
                Some(s) => aging.state_s[*s as usize] = defaults.state(*s),
                None => aging.state_s = defaults.state_s,
            },
            AgingCmd::SetApplication { app, seconds } => {
                let Some(id) = app.resolve(user) else {
                    return Output::Text(no_such_application(app));
                };
                if let Some(v) = aging.app_s.get_mut(usize::from(id)) {
                    *v = Some(*seconds);
                }
            }
            AgingCmd::UndoApplication { app } => match app {
                Some(a) => {
                    let Some(id) = a.resolve(user) else {
                        return Output::Text(no_such_application(a));
                    };
                    if let Some(v) = aging.app_s.get_mut(usize::from(id)) {
                        *v = default_application_timer(&defaults, user, id);
                    }
                }
                None => {
                    for (id, v) in aging.app_s.iter_mut().enumerate() {
                        *v = default_application_timer(&defaults, user, id as u8);
                    }
                }
            },
            AgingCmd::Persistent {
                ipv6,
                number,
                hours,
            } => {
                cx.running.persistent[usize::from(*ipv6)] =
                    Some((*number, (*hours).min(360) as u16));
            }
            AgingCmd::UndoPersistent { ipv6 } => cx.running.persistent[usize::from(*ipv6)] = None,
        }
        cx.changed();
        Output::Nothing
    }

    /// The timers that differ from the defaults, then the persistent-session ACLs.
    fn configuration(running: &Running, text: &mut ConfigText) {
        let aging = &running.table.aging;
        let defaults = AgingConfig::default();
        for s in AgingState::ALL {
            let v = aging.state(*s);
            if v != defaults.state(*s) {
                text.setting(&AgingCmd::SetState {
                    state: *s,
                    seconds: v,
                });
            }
        }
        // Pre-defined applications only: a user-defined application's timer follows its
        // port mappings (`AlgCmd::configuration`), which define it.
        let pre_defined = aging
            .app_s
            .iter()
            .zip(&defaults.app_s)
            .take(apps::APPS.len());
        for (app, (v, d)) in pre_defined.enumerate() {
            if let (Some(v), true) = (v, v != d) {
                text.setting(&AgingCmd::SetApplication {
                    app: AppName::Predefined(app as u8),
                    seconds: *v,
                });
            }
        }
        for (i, p) in running.persistent.iter().enumerate() {
            if let Some((number, hours)) = p {
                text.setting(&AgingCmd::Persistent {
                    ipv6: i == 1,
                    number: *number,
                    hours: u32::from(*hours),
                });
            }
        }
    }
}

/// An application's timer by default: the pre-defined one's (comware.md §4.4), 1200 s for a
/// user-defined application while it is defined (the seed's "user-defined applications:
/// 1200 s"), none for an id no application has.
fn default_application_timer(defaults: &AgingConfig, user: &UserApps, id: u8) -> Option<u32> {
    if user.name(id).is_some() {
        return Some(OTHERS_AGING_S);
    }
    defaults.app_s.get(usize::from(id)).copied().flatten()
}
