//! Sessions (SPEC S, reference/comware.md §2, §3, §8, §9.1, §9.4): the session table and the
//! session statistics, displayed and reset, and the engine-wide session settings (`session
//! mode hybrid`, `session statistics enable`, and ours, `session early-drop enable`).
//!
//! Where the manuals leave a choice open this area takes the lenient one: the optional
//! filters of display/reset may come in any order (Comware lists them in a fixed order;
//! accepting any order loses nothing), and `state`, `application`, `responder` and
//! `vpn-instance` are filters on every family (SPEC S9).

use super::area::{Area, ConfigText, Context, Output, Tree};
use super::kit::{
    AppName, DPORT, FAMILY, H_RESET, H_SESSION, H_SESSION_DISPLAY, PROTO, STATE, alt, any,
    app_keyword, app_of, application_keywords, arg, family_of, family_word, int, internal, kw, kws,
    no_such_application, opt, seq, undo_optional,
};
use crate::ctl::display_json;
use crate::ctl::engine::Engine;
use crate::ctl::grammar::{ArgKind, ErrorKind, Fault, Matched, Syn, quote};
use crate::ctl::render::{StatisticsCounts, render_statistics, render_statistics_summary};
use crate::ctl::running::Running;
use crate::ctl::stream::TableStream;
use crate::ctl::view::bits::{ANY, SYSTEM, USER};
use crate::mailbox::CoreMsg;
use crate::proto::Protocol;
use crate::proto::wire::Family;
use crate::table::app_proto::AppProtocol;
use crate::table::config::SessionMode;
use crate::table::query::{SessionFilter, StateFilter};
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCmd {
    /// `display session table {ipv4|ipv6} [filters] [verbose]`.
    DisplayTable {
        family: Family,
        filters: SessionFilter,
    },
    /// `family: None` = `reset session table` (both families, everything).
    ResetTable {
        family: Option<Family>,
        filters: SessionFilter,
    },
    DisplayStatistics {
        summary: bool,
        family: Option<Family>,
        filters: SessionFilter,
    },
    ResetStatistics,
    ModeHybrid,
    UndoMode,
    StatisticsEnable,
    UndoStatisticsEnable,
    /// `session early-drop enable` (S8; ours, on by default): at capacity a new session
    /// evicts an unanswered one instead of being refused.
    EarlyDropEnable,
    UndoEarlyDropEnable,
}

impl Area for SessionCmd {
    fn commands(t: &mut Tree<Self>) {
        t.display(
            ANY,
            vec![
                kw("session", H_SESSION_DISPLAY),
                kw("table", "Display session table information"),
                family_filters(true),
            ],
            |m, _| {
                Ok(SessionCmd::DisplayTable {
                    family: family_of(m).ok_or_else(|| internal(m))?,
                    filters: filter_of(m)?,
                })
            },
        );
        t.display(
            ANY,
            vec![
                kw("session", H_SESSION_DISPLAY),
                kw("statistics", "Display session statistics"),
                opt(kws(SUMMARY, "summary", "Display brief session statistics")),
                opt(family_filters_of(false, true)),
            ],
            |m, _| {
                Ok(SessionCmd::DisplayStatistics {
                    summary: m.has(SUMMARY),
                    family: family_of(m),
                    filters: filter_of(m)?,
                })
            },
        );
        t.command(
            USER,
            vec![
                kw("reset", H_RESET),
                kw("session", H_SESSION_DISPLAY),
                kw("table", "Clear sessions"),
                opt(family_filters(false)),
            ],
            |m, _| {
                Ok(SessionCmd::ResetTable {
                    family: family_of(m),
                    filters: filter_of(m)?,
                })
            },
        );
        t.command(
            USER,
            vec![
                kw("reset", H_RESET),
                kw("session", H_SESSION_DISPLAY),
                kw("statistics", "Clear session statistics"),
            ],
            |_, _| Ok(SessionCmd::ResetStatistics),
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("session", H_SESSION),
                kw("mode", "Specify the session management mode"),
                undo_optional(kw(
                    "hybrid",
                    "Hybrid mode (unidirectional sessions allowed)",
                )),
            ],
            |m, _| {
                Ok(if m.is_undo() {
                    SessionCmd::UndoMode
                } else {
                    SessionCmd::ModeHybrid
                })
            },
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("session", H_SESSION),
                kw("statistics", "Session statistics"),
                kw("enable", "Enable session statistics"),
            ],
            |m, _| {
                Ok(if m.is_undo() {
                    SessionCmd::UndoStatisticsEnable
                } else {
                    SessionCmd::StatisticsEnable
                })
            },
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("session", H_SESSION),
                kw(
                    "early-drop",
                    "Evict unanswered sessions when the session table is full",
                ),
                kw("enable", "Enable early drop"),
            ],
            |m, _| {
                Ok(if m.is_undo() {
                    SessionCmd::UndoEarlyDropEnable
                } else {
                    SessionCmd::EarlyDropEnable
                })
            },
        );
    }

    fn canonical(&self) -> String {
        match self {
            SessionCmd::DisplayTable { family, filters } => {
                let mut s = format!("display session table {}", family_word(*family));
                push_filters(&mut s, filters);
                s
            }
            SessionCmd::ResetTable { family, filters } => {
                let mut s = "reset session table".to_string();
                if let Some(f) = family {
                    s.push(' ');
                    s.push_str(family_word(*f));
                    push_filters(&mut s, filters);
                }
                s
            }
            SessionCmd::DisplayStatistics {
                summary,
                family,
                filters,
            } => {
                let mut s = "display session statistics".to_string();
                if *summary {
                    s.push_str(" summary");
                }
                if let Some(f) = family {
                    s.push(' ');
                    s.push_str(family_word(*f));
                    push_filters(&mut s, filters);
                }
                s
            }
            SessionCmd::ResetStatistics => "reset session statistics".into(),
            SessionCmd::ModeHybrid => "session mode hybrid".into(),
            SessionCmd::UndoMode => "undo session mode".into(),
            SessionCmd::StatisticsEnable => "session statistics enable".into(),
            SessionCmd::UndoStatisticsEnable => "undo session statistics enable".into(),
            SessionCmd::EarlyDropEnable => "session early-drop enable".into(),
            SessionCmd::UndoEarlyDropEnable => "undo session early-drop enable".into(),
        }
    }

    fn is_config(&self) -> bool {
        // Early drop is on by default: the configuration shows it only when turned off.
        matches!(
            self,
            SessionCmd::ModeHybrid | SessionCmd::StatisticsEnable | SessionCmd::UndoEarlyDropEnable
        )
    }

    fn on_engine(&self, cx: &mut Context<'_>) -> Output {
        // A user-defined application is known by name to the running configuration alone:
        // the cores are given its id.
        if let Some(filters) = self.filters()
            && let (None, Some(name)) = (filters.application, &filters.application_name)
        {
            let app = AppName::User(name.clone());
            let Some(id) = app.resolve(&cx.running.table.user_apps) else {
                return Output::Text(no_such_application(&app));
            };
            let mut resolved = self.clone();
            if let Some(f) = resolved.filters_mut() {
                f.application = Some(id);
            }
            return resolved.on_engine(cx);
        }
        match self {
            // Read from the cores a chunk at a time, as the operator pages (stream.rs).
            SessionCmd::DisplayTable { family, filters } => {
                Output::Table(TableStream::new(*family, filters.clone()))
            }
            SessionCmd::ResetTable { family, filters } => {
                let _ = cx.engine.ask(|reply| CoreMsg::Reset {
                    family: *family,
                    filter: Box::new(filters.clone()),
                    reply,
                });
                Output::Nothing
            }
            SessionCmd::DisplayStatistics {
                summary,
                family,
                filters,
            } => {
                let counts = statistics(cx.engine, *family, filters);
                if *summary {
                    Output::display(
                        render_statistics_summary(&counts),
                        display_json::statistics_summary(&counts),
                    )
                } else {
                    Output::display(
                        render_statistics(&counts),
                        display_json::statistics(&counts),
                    )
                }
            }
            SessionCmd::ResetStatistics => {
                cx.engine.tell_all(|| CoreMsg::ResetStatistics);
                Output::Nothing
            }
            SessionCmd::ModeHybrid | SessionCmd::UndoMode => {
                cx.running.table.mode = if *self == SessionCmd::ModeHybrid {
                    SessionMode::Hybrid
                } else {
                    SessionMode::Bidirectional
                };
                cx.changed();
                Output::Nothing
            }
            SessionCmd::StatisticsEnable | SessionCmd::UndoStatisticsEnable => {
                cx.running.table.statistics = *self == SessionCmd::StatisticsEnable;
                cx.changed();
                Output::Nothing
            }
            SessionCmd::EarlyDropEnable | SessionCmd::UndoEarlyDropEnable => {
                cx.running.table.early_drop = *self == SessionCmd::EarlyDropEnable;
                cx.changed();
                Output::Nothing
            }
        }
    }

    fn configuration(running: &Running, text: &mut ConfigText) {
        if running.table.mode == SessionMode::Hybrid {
            text.setting(&SessionCmd::ModeHybrid);
        }
        if running.table.statistics {
            text.setting(&SessionCmd::StatisticsEnable);
        }
        if !running.table.early_drop {
            text.setting(&SessionCmd::UndoEarlyDropEnable);
        }
    }
}

impl SessionCmd {
    fn filters(&self) -> Option<&SessionFilter> {
        match self {
            SessionCmd::DisplayTable { filters, .. }
            | SessionCmd::ResetTable { filters, .. }
            | SessionCmd::DisplayStatistics { filters, .. } => Some(filters),
            _ => None,
        }
    }

    fn filters_mut(&mut self) -> Option<&mut SessionFilter> {
        match self {
            SessionCmd::DisplayTable { filters, .. }
            | SessionCmd::ResetTable { filters, .. }
            | SessionCmd::DisplayStatistics { filters, .. } => Some(filters),
            _ => None,
        }
    }
}

/// Every core's statistics, merged.
fn statistics(
    engine: &Engine,
    family: Option<Family>,
    filters: &SessionFilter,
) -> StatisticsCounts {
    let mut v = StatisticsCounts::default();
    // Page by page when filters make the cores walk their shards; every core is asked for
    // its next page at once, so the cores walk side by side. A core that is gone or does not
    // answer in time is left out.
    let mut from: Vec<Option<u32>> = vec![Some(0); engine.cores.len()];
    while from.iter().any(Option::is_some) {
        let asked: Vec<_> = from
            .iter()
            .enumerate()
            .map(|(core, start)| {
                let start = (*start)?;
                engine.send_core(core, |reply| CoreMsg::Statistics {
                    family,
                    filter: Box::new(filters.clone()),
                    from: start,
                    reply,
                })
            })
            .collect();
        for (next, asked) in from.iter_mut().zip(asked) {
            *next = asked.and_then(|a| a.wait()).and_then(|(part, next)| {
                v.merge(&part);
                next
            });
        }
    }
    // The relation table is the engine's, not a core's: counted once.
    v.relation_entries = match family {
        Some(f) => engine.relations.count(f),
        None => engine.relations.len(),
    } as u64;
    v
}

// ------------------------------------------------------------------------------------------
// The filters of §2.1/§8

const SIP: &str = "sip";
const SIP_END: &str = "sip-end";
const DIP: &str = "dip";
const DIP_END: &str = "dip-end";
const SPORT: &str = "sport";
const RESPONDER: &str = "responder";
const VPN: &str = "vpn";
const VERBOSE: &str = "verbose";
const SUMMARY: &str = "summary";
const APP_PROTO: &str = "app-proto";

fn ip_kind(v6: bool) -> ArgKind {
    if v6 { ArgKind::Ipv6 } else { ArgKind::Ipv4 }
}

/// The filters for one family; `verbose` only for display; `app_protocols`: the statistics
/// form, whose `protocol` also takes the application protocols (`table::app_proto`).
fn filters(v6: bool, verbose: bool, app_protocols: bool) -> Syn {
    let family = if v6 { Family::V6 } else { Family::V4 };
    let ip = ip_kind(v6);
    let mut items = vec![
        seq(vec![
            kw("source-ip", "Specify the source IP address of sessions"),
            arg(SIP, ip, "Start source IP address"),
            opt(arg(SIP_END, ip, "End source IP address")),
        ]),
        seq(vec![
            kw(
                "destination-ip",
                "Specify the destination IP address of sessions",
            ),
            arg(DIP, ip, "Start destination IP address"),
            opt(arg(DIP_END, ip, "End destination IP address")),
        ]),
        seq(vec![
            kw("protocol", "Specify the protocol of sessions"),
            alt(protocol_keywords(family, app_protocols)),
        ]),
        seq(vec![
            kw("source-port", "Specify the source port of sessions"),
            arg(SPORT, int(0, 65535), "Source port number"),
        ]),
        seq(vec![
            kw(
                "destination-port",
                "Specify the destination port of sessions",
            ),
            arg(DPORT, int(0, 65535), "Destination port number"),
        ]),
        seq(vec![
            kw("application", "Specify the application of sessions"),
            application_keywords(|name| format!("{name} sessions")),
        ]),
        seq(vec![
            kw("state", "Specify the state of sessions"),
            alt(StateFilter::all()
                .filter(|(f, _)| f.protocol.of_family(family))
                .map(|(_, k)| kws(STATE, k, format!("Sessions in {} state", k.to_uppercase())))
                .collect()),
        ]),
        kws(
            RESPONDER,
            "responder",
            "Match the filters against the responder's addresses and ports",
        ),
        seq(vec![
            kw("vpn-instance", "Specify a VPN instance"),
            arg(VPN, ArgKind::Str { min: 1, max: 31 }, "VPN instance name"),
        ]),
    ];
    if verbose {
        items.push(kws(VERBOSE, "verbose", "Display detailed information"));
    }
    any(items)
}

fn family_filters(verbose: bool) -> Syn {
    family_filters_of(verbose, false)
}

fn family_filters_of(verbose: bool, app_protocols: bool) -> Syn {
    alt(vec![
        seq(vec![
            kws(FAMILY, "ipv4", "IPv4 sessions"),
            filters(false, verbose, app_protocols),
        ]),
        seq(vec![
            kws(FAMILY, "ipv6", "IPv6 sessions"),
            filters(true, verbose, app_protocols),
        ]),
    ])
}

/// The keywords of `protocol`: the family's transports, and with `app_protocols` the
/// application protocols too, all in alphabetical order as the seed lists them.
fn protocol_keywords(family: Family, app_protocols: bool) -> Vec<Syn> {
    let mut words: Vec<(&'static str, &'static str, String)> = Protocol::ALL
        .into_iter()
        .filter(|p| p.of_family(family))
        .map(|p| (PROTO, p.keyword(), p.descriptor().help.to_string()))
        .collect();
    if app_protocols {
        words.extend(
            AppProtocol::all().map(|(_, k, help)| (APP_PROTO, k, format!("{help} sessions"))),
        );
        words.sort_by_key(|w| w.1);
    }
    words
        .into_iter()
        .map(|(slot, k, help)| kws(slot, k, help))
        .collect()
}

fn range_of(
    m: &Matched<'_>,
    start: &'static str,
    end: &'static str,
) -> Result<Option<(IpAddr, Option<IpAddr>)>, Fault> {
    let Some(a) = m.ip(start) else {
        return Ok(None);
    };
    let b = m.ip(end);
    if let Some(b) = b
        && b < a
    {
        return Err(Fault {
            kind: ErrorKind::Wrong,
            token: m.token(end).unwrap_or(0),
        });
    }
    Ok(Some((a, b)))
}

fn filter_of(m: &Matched<'_>) -> Result<SessionFilter, Fault> {
    let port = |slot| m.u32(slot).and_then(|p| u16::try_from(p).ok());
    Ok(SessionFilter {
        source_ip: range_of(m, SIP, SIP_END)?,
        destination_ip: range_of(m, DIP, DIP_END)?,
        protocol: m.text(PROTO).and_then(Protocol::by_keyword),
        app_protocol: m.text(APP_PROTO).and_then(AppProtocol::by_keyword),
        source_port: port(SPORT),
        destination_port: port(DPORT),
        application: match app_of(m) {
            Some(AppName::Predefined(id)) => Some(id),
            _ => None,
        },
        application_name: match app_of(m) {
            Some(AppName::User(name)) => Some(name),
            _ => None,
        },
        state: m.text(STATE).and_then(StateFilter::by_keyword),
        responder: m.has(RESPONDER),
        vpn_instance: m.text(VPN).map(str::to_string),
        verbose: m.has(VERBOSE),
    })
}

fn push_filters(s: &mut String, f: &SessionFilter) {
    let range = |s: &mut String, word: &str, r: &(IpAddr, Option<IpAddr>)| {
        s.push_str(&format!(" {word} {}", r.0));
        if let Some(end) = r.1 {
            s.push_str(&format!(" {end}"));
        }
    };
    if let Some(r) = &f.source_ip {
        range(s, "source-ip", r);
    }
    if let Some(r) = &f.destination_ip {
        range(s, "destination-ip", r);
    }
    if let Some(p) = f.protocol {
        s.push_str(&format!(" protocol {}", p.keyword()));
    }
    if let Some(p) = f.app_protocol {
        s.push_str(&format!(" protocol {}", p.keyword()));
    }
    if let Some(p) = f.source_port {
        s.push_str(&format!(" source-port {p}"));
    }
    if let Some(p) = f.destination_port {
        s.push_str(&format!(" destination-port {p}"));
    }
    if let Some(name) = &f.application_name {
        s.push_str(&format!(" application {}", quote(name)));
    } else if let Some(a) = f.application {
        s.push_str(&format!(" application {}", app_keyword(a)));
    }
    if let Some(st) = f.state {
        s.push_str(&format!(" state {}", st.keyword()));
    }
    if f.responder {
        s.push_str(" responder");
    }
    if let Some(v) = &f.vpn_instance {
        s.push_str(&format!(" vpn-instance {}", quote(v)));
    }
    if f.verbose {
        s.push_str(" verbose");
    }
}
