//! Session logs (SPEC L1-L4, issue #12, reference/comware.md §9.2, §11.1, §11.3): which
//! sessions are logged and when (`session log ...`), and where the logs go: the information
//! centre's log hosts (`info-center loghost`, syslog) or the flow-log hosts (`userlog flow
//! export ...`, Comware's flow log 3.0, or IPFIX: ours); `display userlog export` shows the
//! hosts and what the log actor sent them.
//!
//! The console only configures: the cores select and time the logs (table/log.rs), the log
//! actor sends them (actors/), and it reads the configuration `Running::export_config` builds
//! whenever the running configuration changes (`Action::run`).

use super::area::{Area, ConfigText, Context, Output, Tree};
use super::kit::{
    FAMILY, H_RESET, alt, arg, family_of, family_word, int, internal, kw, kws, opt, seq, set_only,
    undo_optional,
};
use crate::ctl::display_json;
use crate::ctl::grammar::{ArgKind, Syn};
use crate::ctl::running::{LogBinding, Running};
use crate::ctl::userlog_view::render_userlog_export;
use crate::ctl::view::View;
use crate::ctl::view::bits::{ANY, INTERFACE, SYSTEM, USER};
use crate::export::config::{
    FlowFormat, FlowHost, LogHost, MAX_FLOW_HOSTS, MAX_LOG_HOSTS, SYSLOG_PORT, SyslogFormat,
    Transport,
};
use crate::export::flowlog::FlowLogVersion;
use crate::export::syslog::{Facility, TimestampStyle};
use crate::proto::wire::Family;
use crate::table::log::TrafficThreshold;
use std::fmt::Write as _;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogCmd {
    /// `session log time-active MINUTES` (10-120, a multiple of 10, §9.2).
    TimeActive {
        minutes: u32,
    },
    UndoTimeActive,
    /// `session log {bytes-active MB | packets-active MPKTS}`: the last one applies.
    Traffic(TrafficThreshold),
    /// `undo session log bytes-active` (`bytes: true`) or `packets-active`: removes the
    /// threshold if it is of that kind.
    UndoTraffic {
        bytes: bool,
    },
    /// `[undo] session log flow-begin`.
    FlowBegin {
        on: bool,
    },
    /// `[undo] session log flow-end`.
    FlowEnd {
        on: bool,
    },
    /// `[undo] session log enable {ipv4|ipv6} [acl N] {inbound|outbound}` in interface view.
    Enable {
        family: Family,
        acl: Option<u32>,
        inbound: bool,
        on: bool,
    },
    /// `info-center loghost {IPV4 | ipv6 IPV6} [port N] [facility localN] [format rfc5424]
    /// [transport tcp]` (the last two are ours).
    LogHost(LogHost),
    /// `undo info-center loghost {IPV4 | ipv6 IPV6} [port N]`: that host, or every port of
    /// the address.
    UndoLogHost {
        addr: IpAddr,
        port: Option<u16>,
    },
    /// `[undo] info-center timestamp loghost {date|iso|no-year-date|none}`.
    Timestamp(TimestampStyle),
    UndoTimestamp,
    /// `[undo] userlog flow syslog`.
    FlowSyslog {
        on: bool,
    },
    /// `userlog flow export host {IPV4 | ipv6 IPV6} port N [ipfix]` (`ipfix`: ours).
    FlowHost(FlowHost),
    /// `undo userlog flow export host {IPV4 | ipv6 IPV6} [port N]`.
    UndoFlowHost {
        addr: IpAddr,
        port: Option<u16>,
    },
    /// `userlog flow export version {1|3}`: only 3 is taken (`FlowLogVersion::parse`).
    FlowVersion {
        version: u8,
    },
    UndoFlowVersion,
    /// `[undo] userlog flow export source-ip A`.
    SourceIp(IpAddr),
    UndoSourceIp,
    /// `display userlog export`.
    Display,
    /// `reset userlog flow export`.
    Reset,
}

const MINUTES: &str = "minutes";
const AMOUNT: &str = "amount";
const ACL: &str = "acl";
const DIRECTION: &str = "direction";
const ADDR: &str = "addr";
const PORT: &str = "port";
const FACILITY: &str = "facility";
const RFC5424: &str = "rfc5424";
const TCP: &str = "tcp";
const STAMP: &str = "stamp";
const IPFIX: &str = "ipfix";
const VERSION: &str = "version";

const H_SESSION: &str = "Configure session management";
const H_LOG: &str = "Configure session logging";
const H_INFO_CENTER: &str = "Specify information center configuration information";
const H_USERLOG: &str = "Configure user logs";
const H_FLOW: &str = "Configure flow logs";
const H_EXPORT: &str = "Export flow logs to log hosts";

const FACILITIES: [(&str, &str); 8] = [
    ("local0", "Logging facility local0"),
    ("local1", "Logging facility local1"),
    ("local2", "Logging facility local2"),
    ("local3", "Logging facility local3"),
    ("local4", "Logging facility local4"),
    ("local5", "Logging facility local5"),
    ("local6", "Logging facility local6"),
    ("local7", "Logging facility local7 (the default)"),
];

const STAMPS: [(&str, &str, TimestampStyle); 4] = [
    (
        "date",
        "Current system date and time, in the format Mmm dd hh:mm:ss yyyy",
        TimestampStyle::Date,
    ),
    ("iso", "Timestamp in ISO 8601 format", TimestampStyle::Iso),
    (
        "no-year-date",
        "Current system date and time without year",
        TimestampStyle::NoYearDate,
    ),
    ("none", "No timestamp", TimestampStyle::None),
];

/// `{ ipv4-address | ipv6 ipv6-address }`, both into `ADDR`.
fn host_address(help: &'static str) -> Syn {
    alt(vec![
        arg(ADDR, ArgKind::Ipv4, help),
        seq(vec![
            kw("ipv6", "Specify an IPv6 address"),
            arg(ADDR, ArgKind::Ipv6, "IPv6 address"),
        ]),
    ])
}

fn port_number(help: &'static str) -> Syn {
    arg(PORT, int(1, 65535), help)
}

fn port_of(m: &crate::ctl::grammar::Matched<'_>) -> Option<u16> {
    m.u32(PORT).and_then(|p| u16::try_from(p).ok())
}

/// `ipv6 ` before an IPv6 address, as the commands are typed.
fn address_words(addr: &IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("ipv6 {a}"),
    }
}

impl Area for LogCmd {
    fn commands(t: &mut Tree<Self>) {
        session_log_commands(t);
        info_center_commands(t);
        userlog_commands(t);
    }

    fn canonical(&self) -> String {
        match self {
            LogCmd::TimeActive { minutes } => format!("session log time-active {minutes}"),
            LogCmd::UndoTimeActive => "undo session log time-active".into(),
            LogCmd::Traffic(TrafficThreshold::Bytes(mb)) => {
                format!("session log bytes-active {mb}")
            }
            LogCmd::Traffic(TrafficThreshold::Packets(m)) => {
                format!("session log packets-active {m}")
            }
            LogCmd::UndoTraffic { bytes: true } => "undo session log bytes-active".into(),
            LogCmd::UndoTraffic { bytes: false } => "undo session log packets-active".into(),
            LogCmd::FlowBegin { on } => format!("{}session log flow-begin", undo(*on)),
            LogCmd::FlowEnd { on } => format!("{}session log flow-end", undo(*on)),
            LogCmd::Enable {
                family,
                acl,
                inbound,
                on,
            } => {
                let acl = acl.map(|n| format!(" acl {n}")).unwrap_or_default();
                format!(
                    "{}session log enable {}{acl} {}",
                    undo(*on),
                    family_word(*family),
                    if *inbound { "inbound" } else { "outbound" }
                )
            }
            LogCmd::LogHost(h) => {
                let mut s = format!("info-center loghost {}", address_words(&h.addr));
                if h.port != SYSLOG_PORT {
                    let _ = write!(s, " port {}", h.port);
                }
                if h.facility != Facility::default() {
                    let _ = write!(s, " facility {}", h.facility.keyword());
                }
                if h.format == SyslogFormat::Rfc5424 {
                    s.push_str(" format rfc5424");
                }
                if h.transport == Transport::Tcp {
                    s.push_str(" transport tcp");
                }
                s
            }
            LogCmd::UndoLogHost { addr, port } => {
                let mut s = format!("undo info-center loghost {}", address_words(addr));
                if let Some(p) = port {
                    let _ = write!(s, " port {p}");
                }
                s
            }
            LogCmd::Timestamp(style) => {
                format!("info-center timestamp loghost {}", stamp_word(*style))
            }
            LogCmd::UndoTimestamp => "undo info-center timestamp loghost".into(),
            LogCmd::FlowSyslog { on } => format!("{}userlog flow syslog", undo(*on)),
            LogCmd::FlowHost(h) => format!(
                "userlog flow export host {} port {}{}",
                address_words(&h.addr),
                h.port,
                if h.format == FlowFormat::Ipfix {
                    " ipfix"
                } else {
                    ""
                }
            ),
            LogCmd::UndoFlowHost { addr, port } => {
                let mut s = format!("undo userlog flow export host {}", address_words(addr));
                if let Some(p) = port {
                    let _ = write!(s, " port {p}");
                }
                s
            }
            LogCmd::FlowVersion { version } => format!("userlog flow export version {version}"),
            LogCmd::UndoFlowVersion => "undo userlog flow export version".into(),
            LogCmd::SourceIp(a) => format!("userlog flow export source-ip {a}"),
            LogCmd::UndoSourceIp => "undo userlog flow export source-ip".into(),
            LogCmd::Display => "display userlog export".into(),
            LogCmd::Reset => "reset userlog flow export".into(),
        }
    }

    fn is_config(&self) -> bool {
        matches!(
            self,
            LogCmd::TimeActive { .. }
                | LogCmd::Traffic(_)
                | LogCmd::FlowBegin { on: true }
                | LogCmd::FlowEnd { on: true }
                | LogCmd::Enable { on: true, .. }
                | LogCmd::LogHost(_)
                | LogCmd::Timestamp(_)
                | LogCmd::FlowSyslog { on: true }
                | LogCmd::FlowHost(_)
                | LogCmd::FlowVersion { .. }
                | LogCmd::SourceIp(_)
        )
    }

    fn on_engine(&self, cx: &mut Context<'_>) -> Output {
        match self {
            LogCmd::Display => {
                let counters = cx.engine.export.counters();
                let unrouted = cx.engine.export.unrouted();
                return Output::display(
                    render_userlog_export(&cx.running.export, &counters, unrouted),
                    display_json::userlog_export(&cx.running.export, &counters, unrouted),
                );
            }
            LogCmd::Reset => {
                cx.engine.export.request_reset();
                return Output::Nothing;
            }
            _ => {}
        }
        match apply(self, cx.running, cx.view) {
            Ok(true) => cx.changed(),
            Ok(false) => {}
            Err(message) => return Output::Text(message),
        }
        Output::Nothing
    }

    /// The global settings in the order of §9.2, then the information centre's (§11.1),
    /// then the flow log's (§11.3; ours: Comware's relative order of the three groups is not
    /// documented). The `session log enable` lines are in the interface sections
    /// (`InterfaceCmd::configuration`).
    fn configuration(running: &Running, text: &mut ConfigText) {
        let log = &running.table.session_log;
        if log.time_active_min != 0 {
            text.setting(&LogCmd::TimeActive {
                minutes: u32::from(log.time_active_min),
            });
        }
        if let Some(t) = log.traffic {
            text.setting(&LogCmd::Traffic(t));
        }
        if log.flow_begin {
            text.setting(&LogCmd::FlowBegin { on: true });
        }
        if log.flow_end {
            text.setting(&LogCmd::FlowEnd { on: true });
        }
        let export = &running.export;
        if export.timestamp != TimestampStyle::default() {
            text.setting(&LogCmd::Timestamp(export.timestamp));
        }
        for h in &export.log_hosts {
            text.setting(&LogCmd::LogHost(h.clone()));
        }
        if export.flow_to_syslog {
            text.setting(&LogCmd::FlowSyslog { on: true });
        }
        // Comware's default version is 1, which this engine cannot send: once a flow-log
        // host exists the configuration says which version its collectors receive, so the
        // text means the same on a Comware box (ours).
        if !export.flow_hosts.is_empty() {
            text.setting(&LogCmd::FlowVersion {
                version: FlowLogVersion::default().wire(),
            });
        }
        for h in &export.flow_hosts {
            text.setting(&LogCmd::FlowHost(h.clone()));
        }
        if let Some(a) = export.source_ip {
            text.setting(&LogCmd::SourceIp(a));
        }
    }
}

impl LogCmd {
    /// The `session log enable` line of an interface's section.
    pub(super) fn enable_line(b: &LogBinding) -> LogCmd {
        LogCmd::Enable {
            family: if b.ipv6 { Family::V6 } else { Family::V4 },
            acl: b.acl,
            inbound: b.inbound,
            on: true,
        }
    }
}

fn undo(on: bool) -> &'static str {
    if on { "" } else { "undo " }
}

/// Adds a host, or replaces the settings of the one with the same address and port (`same`)
/// in place; refuses a host past `max`.
fn add_host<T: Clone>(
    hosts: &mut Vec<T>,
    h: &T,
    same: impl Fn(&T) -> bool,
    max: usize,
    what: &str,
) -> Result<(), String> {
    if let Some(old) = hosts.iter_mut().find(|o| same(o)) {
        *old = h.clone();
    } else if hosts.len() >= max {
        return Err(format!(
            " % The number of {what} has reached the upper limit ({max}).\n"
        ));
    } else {
        hosts.push(h.clone());
    }
    Ok(())
}

fn stamp_word(s: TimestampStyle) -> &'static str {
    STAMPS
        .iter()
        .find(|(_, _, st)| *st == s)
        .map_or("date", |(w, _, _)| w)
}

fn session_log_commands(t: &mut Tree<LogCmd>) {
    let prefix = || vec![kw("session", H_SESSION), kw("log", H_LOG)];
    let mut items = prefix();
    items.extend([
        kw(
            "time-active",
            "Specify the time threshold for outputting session logs",
        ),
        set_only(arg(
            MINUTES,
            int(10, 120),
            "Time threshold in minutes, a multiple of 10",
        )),
    ]);
    t.with_undo(SYSTEM, items, |m, _| {
        if m.is_undo() {
            return Ok(LogCmd::UndoTimeActive);
        }
        Ok(LogCmd::TimeActive {
            minutes: m.u32(MINUTES).ok_or_else(|| internal(m))?,
        })
    });
    for (word, help, value_help, bytes) in [
        (
            "bytes-active",
            "Specify the traffic threshold in bytes for outputting session logs",
            "Traffic threshold in MB",
            true,
        ),
        (
            "packets-active",
            "Specify the traffic threshold in packets for outputting session logs",
            "Traffic threshold in million packets",
            false,
        ),
    ] {
        let mut items = prefix();
        items.extend([
            kw(word, help),
            set_only(arg(AMOUNT, int(1, 100_000), value_help)),
        ]);
        t.with_undo(SYSTEM, items, move |m, _| {
            if m.is_undo() {
                return Ok(LogCmd::UndoTraffic { bytes });
            }
            let n = m.u32(AMOUNT).ok_or_else(|| internal(m))?;
            Ok(LogCmd::Traffic(if bytes {
                TrafficThreshold::Bytes(n)
            } else {
                TrafficThreshold::Packets(n)
            }))
        });
    }
    let mut items = prefix();
    items.push(kw("flow-begin", "Output logs when sessions are created"));
    t.with_undo(SYSTEM, items, |m, _| {
        Ok(LogCmd::FlowBegin { on: !m.is_undo() })
    });
    let mut items = prefix();
    items.push(kw("flow-end", "Output logs when sessions are removed"));
    t.with_undo(SYSTEM, items, |m, _| {
        Ok(LogCmd::FlowEnd { on: !m.is_undo() })
    });
    let mut items = prefix();
    items.extend([
        kw("enable", "Enable session logging"),
        alt(vec![
            kws(FAMILY, "ipv4", "Log IPv4 sessions"),
            kws(FAMILY, "ipv6", "Log IPv6 sessions"),
        ]),
        opt(seq(vec![
            kw("acl", "Specify an ACL to select sessions"),
            arg(ACL, int(2000, 3999), "ACL number"),
        ])),
        alt(vec![
            kws(
                DIRECTION,
                "inbound",
                "Log sessions in the inbound direction",
            ),
            kws(
                DIRECTION,
                "outbound",
                "Log sessions in the outbound direction",
            ),
        ]),
    ]);
    t.with_undo(INTERFACE, items, |m, _| {
        Ok(LogCmd::Enable {
            family: family_of(m).ok_or_else(|| internal(m))?,
            acl: m.u32(ACL),
            inbound: m.text(DIRECTION) == Some("inbound"),
            on: !m.is_undo(),
        })
    });
}

fn info_center_commands(t: &mut Tree<LogCmd>) {
    t.with_undo(
        SYSTEM,
        vec![
            kw("info-center", H_INFO_CENTER),
            kw("loghost", "Specify a log host"),
            host_address("IPv4 address of the log host"),
            opt(seq(vec![
                kw("port", "Specify the port number of the log host"),
                port_number("Port number of the log host, 514 by default"),
            ])),
            set_only(opt(seq(vec![
                kw("facility", "Specify the logging facility"),
                alt(FACILITIES
                    .iter()
                    .map(|(w, h)| kws(FACILITY, w, *h))
                    .collect()),
            ]))),
            set_only(opt(seq(vec![
                kw("format", "Specify the message format (extension)"),
                kws(RFC5424, "rfc5424", "RFC 5424 with structured data"),
            ]))),
            set_only(opt(seq(vec![
                kw("transport", "Specify the transport protocol (extension)"),
                kws(TCP, "tcp", "TCP with octet counting (RFC 6587)"),
            ]))),
        ],
        |m, _| {
            let addr = m.ip(ADDR).ok_or_else(|| internal(m))?;
            if m.is_undo() {
                return Ok(LogCmd::UndoLogHost {
                    addr,
                    port: port_of(m),
                });
            }
            let facility = match m.text(FACILITY) {
                Some(w) => FACILITIES
                    .iter()
                    .position(|(f, _)| *f == w)
                    .and_then(|n| Facility::local(n as u8))
                    .ok_or_else(|| internal(m))?,
                None => Facility::default(),
            };
            Ok(LogCmd::LogHost(LogHost {
                addr,
                port: port_of(m).unwrap_or(SYSLOG_PORT),
                facility,
                format: if m.has(RFC5424) {
                    SyslogFormat::Rfc5424
                } else {
                    SyslogFormat::Comware
                },
                transport: if m.has(TCP) {
                    Transport::Tcp
                } else {
                    Transport::Udp
                },
            }))
        },
    );
    t.with_undo(
        SYSTEM,
        vec![
            kw("info-center", H_INFO_CENTER),
            kw("timestamp", "Configure the timestamp format"),
            kw(
                "loghost",
                "Specify the timestamp format of logs sent to log hosts",
            ),
            set_only(alt(STAMPS
                .iter()
                .map(|(w, h, _)| kws(STAMP, w, *h))
                .collect())),
        ],
        |m, _| {
            if m.is_undo() {
                return Ok(LogCmd::UndoTimestamp);
            }
            let word = m.text(STAMP).ok_or_else(|| internal(m))?;
            STAMPS
                .iter()
                .find(|(w, _, _)| *w == word)
                .map(|(_, _, s)| LogCmd::Timestamp(*s))
                .ok_or_else(|| internal(m))
        },
    );
}

fn userlog_commands(t: &mut Tree<LogCmd>) {
    let prefix = || {
        vec![
            kw("userlog", H_USERLOG),
            kw("flow", H_FLOW),
            kw("export", H_EXPORT),
        ]
    };
    t.with_undo(
        SYSTEM,
        vec![
            kw("userlog", H_USERLOG),
            kw("flow", H_FLOW),
            kw(
                "syslog",
                "Send flow logs to the information center as syslog",
            ),
        ],
        |m, _| Ok(LogCmd::FlowSyslog { on: !m.is_undo() }),
    );
    let mut items = prefix();
    items.extend([
        kw("host", "Specify a flow log host"),
        host_address("IPv4 address of the flow log host"),
        undo_optional(seq(vec![
            kw("port", "Specify the UDP port number of the flow log host"),
            port_number("UDP port number"),
        ])),
        set_only(opt(kws(
            IPFIX,
            "ipfix",
            "Export flow logs as IPFIX (extension)",
        ))),
    ]);
    t.with_undo(SYSTEM, items, |m, _| {
        let addr = m.ip(ADDR).ok_or_else(|| internal(m))?;
        if m.is_undo() {
            return Ok(LogCmd::UndoFlowHost {
                addr,
                port: port_of(m),
            });
        }
        Ok(LogCmd::FlowHost(FlowHost {
            addr,
            port: port_of(m).ok_or_else(|| internal(m))?,
            format: if m.has(IPFIX) {
                FlowFormat::Ipfix
            } else {
                FlowFormat::FlowLog3
            },
        }))
    });
    let mut items = prefix();
    items.extend([
        kw("version", "Specify the flow log version"),
        set_only(alt(vec![
            kws(VERSION, "1", "Version 1.0 (not supported)"),
            kws(VERSION, "3", "Version 3.0"),
        ])),
    ]);
    t.with_undo(SYSTEM, items, |m, _| {
        if m.is_undo() {
            return Ok(LogCmd::UndoFlowVersion);
        }
        let version = m
            .text(VERSION)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| internal(m))?;
        Ok(LogCmd::FlowVersion { version })
    });
    let mut items = prefix();
    items.extend([
        kw(
            "source-ip",
            "Specify the source IP address of flow log packets",
        ),
        set_only(alt(vec![
            arg(ADDR, ArgKind::Ipv4, "Source IPv4 address"),
            arg(ADDR, ArgKind::Ipv6, "Source IPv6 address (extension)"),
        ])),
    ]);
    t.with_undo(SYSTEM, items, |m, _| {
        if m.is_undo() {
            return Ok(LogCmd::UndoSourceIp);
        }
        Ok(LogCmd::SourceIp(m.ip(ADDR).ok_or_else(|| internal(m))?))
    });
    t.display(
        ANY,
        vec![
            kw("userlog", "User log information"),
            kw("export", "Display user log export information"),
        ],
        |_, _| Ok(LogCmd::Display),
    );
    t.command(
        USER,
        vec![
            kw("reset", H_RESET),
            kw("userlog", "User log"),
            kw("flow", "Flow log"),
            kw("export", "Clear flow log export statistics"),
        ],
        |_, _| Ok(LogCmd::Reset),
    );
}

/// What a setting does to the running configuration: whether it changed it, or why it was
/// refused (` % ...`, §1.5's layout).
fn apply(cmd: &LogCmd, running: &mut Running, view: &View) -> Result<bool, String> {
    if let LogCmd::LogHost(LogHost { addr, .. })
    | LogCmd::FlowHost(FlowHost { addr, .. })
    | LogCmd::SourceIp(addr) = cmd
        && !is_unicast(addr)
    {
        return Err(format!(
            " % {addr} is not a unicast address: a host and a source address must be one.\n"
        ));
    }
    let log = &mut running.table.session_log;
    let export = &mut running.export;
    match cmd {
        LogCmd::TimeActive { minutes } => {
            if minutes % 10 != 0 {
                return Err(format!(
                    " % The time-active threshold must be a multiple of 10 minutes (10 to 120): {minutes} is not.\n"
                ));
            }
            log.time_active_min = (*minutes).min(120) as u16;
        }
        LogCmd::UndoTimeActive => log.time_active_min = 0,
        // Only one traffic threshold applies: the last configured (§9.2).
        LogCmd::Traffic(t) => log.traffic = Some(*t),
        LogCmd::UndoTraffic { bytes } => {
            if log
                .traffic
                .is_some_and(|t| matches!(t, TrafficThreshold::Bytes(_)) == *bytes)
            {
                log.traffic = None;
            }
        }
        LogCmd::FlowBegin { on } => log.flow_begin = *on,
        LogCmd::FlowEnd { on } => log.flow_end = *on,
        LogCmd::Enable {
            family,
            acl,
            inbound,
            on,
        } => {
            let View::Interface { name } = view else {
                return Err(" % Session logging is enabled in an interface view.\n".into());
            };
            let binding = LogBinding {
                interface: name.clone(),
                ipv6: *family == Family::V6,
                acl: *acl,
                inbound: *inbound,
            };
            // Per interface, family and direction one line (§9.2): a new one replaces it.
            let same_slot = |b: &LogBinding| {
                b.interface == binding.interface
                    && b.ipv6 == binding.ipv6
                    && b.inbound == binding.inbound
            };
            let lines = &mut running.log_bindings;
            if *on {
                match lines.iter_mut().find(|b| same_slot(b)) {
                    Some(b) => *b = binding,
                    None => lines.push(binding),
                }
            } else {
                // `undo ... acl N ...` removes the line only if it names that ACL.
                lines.retain(|b| !(same_slot(b) && (acl.is_none() || b.acl == *acl)));
            }
        }
        LogCmd::LogHost(h) => add_host(
            &mut export.log_hosts,
            h,
            |o| o.addr == h.addr && o.port == h.port,
            MAX_LOG_HOSTS,
            "log hosts",
        )?,
        LogCmd::UndoLogHost { addr, port } => export
            .log_hosts
            .retain(|h| !(h.addr == *addr && port.is_none_or(|p| p == h.port))),
        LogCmd::Timestamp(s) => export.timestamp = *s,
        LogCmd::UndoTimestamp => export.timestamp = TimestampStyle::default(),
        LogCmd::FlowSyslog { on } => export.flow_to_syslog = *on,
        LogCmd::FlowHost(h) => add_host(
            &mut export.flow_hosts,
            h,
            |o| o.addr == h.addr && o.port == h.port,
            MAX_FLOW_HOSTS,
            "flow log hosts",
        )?,
        LogCmd::UndoFlowHost { addr, port } => export
            .flow_hosts
            .retain(|h| !(h.addr == *addr && port.is_none_or(|p| p == h.port))),
        // Version 3 is the only one the engine sends: taking it changes nothing.
        LogCmd::FlowVersion { version } => {
            if let Err(why) = FlowLogVersion::parse(&version.to_string()) {
                return Err(format!(" % {}.\n", sentence(&why.to_string())));
            }
            return Ok(false);
        }
        LogCmd::UndoFlowVersion => return Ok(false),
        LogCmd::SourceIp(a) => export.source_ip = Some(*a),
        LogCmd::UndoSourceIp => export.source_ip = None,
        LogCmd::Display | LogCmd::Reset => return Ok(false),
    }
    Ok(true)
}

/// `text` with a capital first letter.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Whether `a` can be a log host or a datagram's source: neither unspecified, multicast nor
/// broadcast (ours: a datagram to 0.0.0.0 would go to this machine, and a collector is one
/// host).
fn is_unicast(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => !(v.is_unspecified() || v.is_multicast() || v.is_broadcast()),
        IpAddr::V6(v) => !(v.is_unspecified() || v.is_multicast()),
    }
}
