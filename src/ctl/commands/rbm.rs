//! Stateful failover at the console (SPEC H1, H2; reference/comware.md §9.3, §13):
//! `session synchronization enable`, `session synchronization {dns|http}`, the RBM-style
//! `remote-backup group` view that sets the channel between the two engines,
//! `display remote-backup-group status`, and `remote-backup switchover {active|standby}` (ours:
//! what a keepalived notify hook or an operator calls to move the active role).
//!
//! The view's sub-commands follow the names newer Comware's RBM uses (`local-ip`,
//! `remote-ip`, `data-channel interface`, `device-role`); `key simple`, `keepalive interval`,
//! `keepalive count` and the status layout beyond RBM's three known lines are ours
//! (docs/failover.md).

use super::area::{Area, ConfigText, Context, Output, Tree};
use super::kit::{H_SESSION, NAME, NUM, alt, arg, int, internal, kw, kws, set_only};
use crate::ctl::grammar::{ArgKind, quote};
use crate::ctl::running::Running;
use crate::ctl::terminal::{Effect, Terminal};
use crate::ctl::view::View;
use crate::ctl::view::bits::{ANY, RBM, SYSTEM, USER};
use crate::sync::{RbmConfig, Request, Role, Status};
use serde_json::json;
use std::fmt::Write;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RbmCmd {
    /// `[undo] session synchronization enable`.
    Sync {
        on: bool,
    },
    /// `[undo] session synchronization {dns|http} *`.
    SyncApps {
        dns: bool,
        http: bool,
        on: bool,
    },
    /// `remote-backup group` (enters the view); `undo remote-backup group` removes it.
    Group {
        on: bool,
    },
    LocalIp(Option<IpAddr>),
    RemoteIp(Option<IpAddr>),
    DataChannel(Option<String>),
    DeviceRole(Role),
    Key(Option<String>),
    KeepaliveInterval(Option<u32>),
    KeepaliveCount(Option<u32>),
    DisplayStatus,
    Switchover(Status),
}

const ADDR: &str = "addr";
const ROLE: &str = "role";
const WHAT: &str = "what";
const TEXT: &str = "text";
const TO: &str = "to";

fn ip(m: &crate::ctl::grammar::Matched<'_>) -> Option<IpAddr> {
    m.text(ADDR).and_then(|t| t.parse().ok())
}

impl Area for RbmCmd {
    fn commands(t: &mut Tree<Self>) {
        t.with_undo(
            SYSTEM,
            vec![
                kw("session", H_SESSION),
                kw("synchronization", "Configure session synchronization"),
                kw("enable", "Enable session synchronization"),
            ],
            |m, _| Ok(RbmCmd::Sync { on: !m.is_undo() }),
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("session", H_SESSION),
                kw("synchronization", "Configure session synchronization"),
                alt(vec![
                    kws(WHAT, "dns", "Synchronize DNS sessions"),
                    kws(WHAT, "http", "Synchronize HTTP sessions"),
                ]),
                super::kit::opt(alt(vec![
                    kws(TO, "dns", "Synchronize DNS sessions"),
                    kws(TO, "http", "Synchronize HTTP sessions"),
                ])),
            ],
            |m, _| {
                let words = [m.text(WHAT), m.text(TO)];
                Ok(RbmCmd::SyncApps {
                    dns: words.contains(&Some("dns")),
                    http: words.contains(&Some("http")),
                    on: !m.is_undo(),
                })
            },
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("remote-backup", "Remote backup management"),
                kw("group", "Remote backup group view"),
            ],
            |m, _| Ok(RbmCmd::Group { on: !m.is_undo() }),
        );
        t.with_undo(
            RBM,
            vec![
                kw("local-ip", "Local IP address of the data channel"),
                set_only(arg(ADDR, ArgKind::Ipv4, "IPv4 address")),
            ],
            |m, _| Ok(RbmCmd::LocalIp(if m.is_undo() { None } else { ip(m) })),
        );
        t.with_undo(
            RBM,
            vec![
                kw("remote-ip", "IP address of the peer device"),
                set_only(arg(ADDR, ArgKind::Ipv4, "IPv4 address")),
            ],
            |m, _| Ok(RbmCmd::RemoteIp(if m.is_undo() { None } else { ip(m) })),
        );
        t.with_undo(
            RBM,
            vec![
                kw("data-channel", "Data channel"),
                kw("interface", "Interface of the data channel"),
                set_only(arg(
                    NAME,
                    ArgKind::Str { min: 1, max: 15 },
                    "Interface name",
                )),
            ],
            |m, _| {
                Ok(RbmCmd::DataChannel(if m.is_undo() {
                    None
                } else {
                    Some(m.text(NAME).ok_or_else(|| internal(m))?.to_string())
                }))
            },
        );
        t.command(
            RBM,
            vec![
                kw("device-role", "Role of the device in the group"),
                alt(vec![
                    kws(ROLE, "primary", "Primary device"),
                    kws(ROLE, "secondary", "Secondary device"),
                ]),
            ],
            |m, _| {
                Ok(RbmCmd::DeviceRole(if m.text(ROLE) == Some("secondary") {
                    Role::Secondary
                } else {
                    Role::Primary
                }))
            },
        );
        t.with_undo(
            RBM,
            vec![
                kw("key", "Key that authenticates the synchronization messages"),
                set_only(kw("simple", "Plaintext key")),
                set_only(arg(TEXT, ArgKind::Str { min: 1, max: 63 }, "Key")),
            ],
            |m, _| {
                Ok(RbmCmd::Key(if m.is_undo() {
                    None
                } else {
                    Some(m.text(TEXT).ok_or_else(|| internal(m))?.to_string())
                }))
            },
        );
        t.with_undo(
            RBM,
            vec![
                kw("keepalive", "Keepalive settings"),
                kw("interval", "Interval between keepalives"),
                set_only(arg(NUM, int(10, 10_000), "Milliseconds")),
            ],
            |m, _| {
                Ok(RbmCmd::KeepaliveInterval(if m.is_undo() {
                    None
                } else {
                    m.u32(NUM)
                }))
            },
        );
        t.with_undo(
            RBM,
            vec![
                kw("keepalive", "Keepalive settings"),
                kw("count", "Keepalives missed before the peer is down"),
                set_only(arg(NUM, int(1, 100), "Count")),
            ],
            |m, _| {
                Ok(RbmCmd::KeepaliveCount(if m.is_undo() {
                    None
                } else {
                    m.u32(NUM)
                }))
            },
        );
        t.display(
            ANY,
            vec![
                kw("remote-backup-group", "Remote backup group"),
                kw("status", "Status of the remote backup group"),
            ],
            |_, _| Ok(RbmCmd::DisplayStatus),
        );
        t.command(
            USER,
            vec![
                kw("remote-backup", "Remote backup management"),
                kw("switchover", "Change the device running status"),
                alt(vec![
                    kws(TO, "active", "Become the active device"),
                    kws(TO, "standby", "Become the standby device"),
                ]),
            ],
            |m, _| {
                Ok(RbmCmd::Switchover(if m.text(TO) == Some("active") {
                    Status::Active
                } else {
                    Status::Standby
                }))
            },
        );
    }

    fn canonical(&self) -> String {
        let undo = |on: bool| if on { "" } else { "undo " };
        match self {
            RbmCmd::Sync { on } => format!("{}session synchronization enable", undo(*on)),
            RbmCmd::SyncApps { dns, http, on } => {
                let mut s = format!("{}session synchronization", undo(*on));
                if *dns {
                    s.push_str(" dns");
                }
                if *http {
                    s.push_str(" http");
                }
                s
            }
            RbmCmd::Group { on } => format!("{}remote-backup group", undo(*on)),
            RbmCmd::LocalIp(Some(a)) => format!("local-ip {a}"),
            RbmCmd::LocalIp(None) => "undo local-ip".into(),
            RbmCmd::RemoteIp(Some(a)) => format!("remote-ip {a}"),
            RbmCmd::RemoteIp(None) => "undo remote-ip".into(),
            RbmCmd::DataChannel(Some(n)) => format!("data-channel interface {}", quote(n)),
            RbmCmd::DataChannel(None) => "undo data-channel interface".into(),
            RbmCmd::DeviceRole(r) => format!("device-role {}", r.keyword()),
            RbmCmd::Key(Some(k)) => format!("key simple {}", quote(k)),
            RbmCmd::Key(None) => "undo key".into(),
            RbmCmd::KeepaliveInterval(Some(n)) => format!("keepalive interval {n}"),
            RbmCmd::KeepaliveInterval(None) => "undo keepalive interval".into(),
            RbmCmd::KeepaliveCount(Some(n)) => format!("keepalive count {n}"),
            RbmCmd::KeepaliveCount(None) => "undo keepalive count".into(),
            RbmCmd::DisplayStatus => "display remote-backup-group status".into(),
            RbmCmd::Switchover(s) => format!(
                "remote-backup switchover {}",
                if *s == Status::Active {
                    "active"
                } else {
                    "standby"
                }
            ),
        }
    }

    fn is_config(&self) -> bool {
        match self {
            RbmCmd::Sync { on } | RbmCmd::SyncApps { on, .. } | RbmCmd::Group { on } => *on,
            RbmCmd::LocalIp(v) | RbmCmd::RemoteIp(v) => v.is_some(),
            RbmCmd::DataChannel(v) | RbmCmd::Key(v) => v.is_some(),
            RbmCmd::KeepaliveInterval(v) | RbmCmd::KeepaliveCount(v) => v.is_some(),
            RbmCmd::DeviceRole(_) => true,
            RbmCmd::DisplayStatus | RbmCmd::Switchover(_) => false,
        }
    }

    fn opens_view(&self) -> bool {
        matches!(self, RbmCmd::Group { on: true })
    }

    fn at_terminal(&self, terminal: &mut Terminal) -> Effect {
        if let RbmCmd::Group { on: true } = self {
            terminal.enter_view(View::RemoteBackup);
        }
        Effect::Forward
    }

    fn on_engine(&self, cx: &mut Context<'_>) -> Output {
        match self {
            RbmCmd::DisplayStatus => return status(cx),
            RbmCmd::Switchover(s) => {
                cx.engine.sync.request(Request::Switchover(*s));
                return Output::Nothing;
            }
            RbmCmd::Sync { on } => cx.running.table.sync.enabled = *on,
            RbmCmd::SyncApps { dns, http, on } => {
                if *dns {
                    cx.running.table.sync.dns = *on;
                }
                if *http {
                    cx.running.table.sync.http = *on;
                }
            }
            RbmCmd::Group { on: true } => {
                cx.running.rbm.get_or_insert_with(RbmConfig::default);
            }
            RbmCmd::Group { on: false } => cx.running.rbm = None,
            _ => {
                let Some(g) = cx.running.rbm.as_mut() else {
                    return Output::Text(
                        " % These settings are made in the remote-backup group view.\n".into(),
                    );
                };
                match self {
                    RbmCmd::LocalIp(a) => g.local_ip = *a,
                    RbmCmd::RemoteIp(a) => g.remote_ip = *a,
                    RbmCmd::DataChannel(n) => g.interface = n.clone(),
                    RbmCmd::DeviceRole(r) => g.role = *r,
                    RbmCmd::Key(k) => g.key = k.clone(),
                    RbmCmd::KeepaliveInterval(n) => {
                        g.keepalive_ms = n.map_or(crate::sync::DEFAULT_KEEPALIVE_MS, u64::from)
                    }
                    RbmCmd::KeepaliveCount(n) => {
                        g.keepalive_count = n.unwrap_or(crate::sync::DEFAULT_KEEPALIVE_COUNT)
                    }
                    _ => {}
                }
            }
        }
        cx.changed();
        Output::Nothing
    }

    fn configuration(running: &Running, text: &mut ConfigText) {
        let s = running.table.sync;
        if s.enabled {
            text.setting(&RbmCmd::Sync { on: true });
        }
        if s.dns || s.http {
            text.setting(&RbmCmd::SyncApps {
                dns: s.dns,
                http: s.http,
                on: true,
            });
        }
        if let Some(g) = &running.rbm {
            text.section(group_text(g));
        }
    }

    fn view_configuration(running: &Running, view: &View) -> Option<String> {
        let View::RemoteBackup = view else {
            return None;
        };
        let text = running
            .rbm
            .as_ref()
            .map(group_text)
            .unwrap_or_else(|| "remote-backup group\n".into());
        Some(format!("#\n{text}#\nreturn\n"))
    }
}

/// The group's section of the configuration.
fn group_text(g: &RbmConfig) -> String {
    let mut lines = vec![RbmCmd::Group { on: true }.canonical()];
    let mut add = |c: RbmCmd| {
        if let Some(l) = c.config_line() {
            lines.push(l);
        }
    };
    add(RbmCmd::DataChannel(g.interface.clone()));
    add(RbmCmd::LocalIp(g.local_ip));
    add(RbmCmd::RemoteIp(g.remote_ip));
    add(RbmCmd::DeviceRole(g.role));
    add(RbmCmd::Key(g.key.clone()));
    if g.keepalive_ms != crate::sync::DEFAULT_KEEPALIVE_MS {
        add(RbmCmd::KeepaliveInterval(Some(g.keepalive_ms as u32)));
    }
    if g.keepalive_count != crate::sync::DEFAULT_KEEPALIVE_COUNT {
        add(RbmCmd::KeepaliveCount(Some(g.keepalive_count)));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// `display remote-backup-group status`: RBM's three known lines first (comware.md §13),
/// then ours.
fn status(cx: &mut Context<'_>) -> Output {
    use std::sync::atomic::Ordering::Relaxed;
    let r = cx.engine.sync.report();
    let h = &cx.engine.sync;
    let sync_on = cx.running.table.sync.enabled;
    if !r.configured {
        let text = " Remote backup group is not configured.\n".to_string();
        return Output::display(text, json!({"configured": false}));
    }
    let c = &r.counters;
    let refused: serde_json::Map<String, serde_json::Value> = crate::sync::wire::Refusal::ALL
        .iter()
        .zip(c.refused.iter())
        .map(|(k, n)| (k.name().to_string(), json!(n)))
        .chain([
            ("stale_epoch".to_string(), json!(c.stale_epoch)),
            ("replayed".to_string(), json!(c.replayed)),
            ("wrong_source".to_string(), json!(c.wrong_source)),
        ])
        .collect();
    let addr = |a: Option<std::net::SocketAddr>| a.map_or("-".to_string(), |a| a.ip().to_string());
    let mut t = String::new();
    let _ = writeln!(t, "Remote backup group information:");
    let _ = writeln!(t, "  Backup mode: Active/standby");
    let _ = writeln!(t, "  Device running status: {}", r.status.name());
    let _ = writeln!(t, "  Device role: {}", r.role.keyword());
    let _ = writeln!(
        t,
        "  Data channel state: {}",
        if r.data_channel_up { "Up" } else { "Down" }
    );
    let _ = writeln!(
        t,
        "  Control channel: {}",
        if r.peer_connected {
            "Connected"
        } else {
            "Disconnected"
        }
    );
    let _ = writeln!(t, "  Local IP: {}", addr(r.local));
    let _ = writeln!(t, "  Remote IP: {}", addr(r.remote));
    let _ = writeln!(
        t,
        "  Data channel interface: {}",
        r.interface.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        t,
        "  Peer running status: {}",
        r.peer_status.map_or("-", |s| s.name())
    );
    let _ = writeln!(
        t,
        "  Sessions: {} local, {} on the peer",
        r.sessions, r.peer_sessions
    );
    if let Some(p) = &r.problem {
        let _ = writeln!(t, "  Problem: {p}");
    }
    let _ = writeln!(
        t,
        "  Session synchronization: {}",
        if sync_on { "Enabled" } else { "Disabled" }
    );
    let _ = writeln!(
        t,
        "  Batch backup: {}",
        if r.bulk_in_progress {
            "Sending"
        } else if r.awaiting_bulk {
            "Waiting"
        } else {
            "Finished"
        }
    );
    let _ = writeln!(
        t,
        "  Sent: {} messages, {} entries, {} bytes, {} retransmitted",
        c.sent_datagrams, c.sent_items, c.sent_bytes, c.retransmitted
    );
    let _ = writeln!(
        t,
        "  Received: {} messages, {} entries, {} duplicates",
        c.received_datagrams, c.received_items, c.duplicates
    );
    let _ = writeln!(
        t,
        "  Refused: {} (bad key or damaged {}, replayed {})",
        c.refused_total(),
        c.refused[4],
        c.replayed + c.stale_epoch
    );
    let _ = writeln!(
        t,
        "  Installed: {}, refused at capacity {}",
        h.installed.load(Relaxed),
        h.install_full.load(Relaxed)
    );
    let _ = writeln!(
        t,
        "  Batch backups: {} sent, {} received; takeovers {}",
        c.bulks_sent, c.bulks_received, c.takeovers
    );
    let data = json!({
        "configured": true,
        "status": r.status.name(),
        "role": r.role.keyword(),
        "data_channel_up": r.data_channel_up,
        "peer_connected": r.peer_connected,
        "peer_status": r.peer_status.map(|s| s.name()),
        "sessions": r.sessions,
        "peer_sessions": r.peer_sessions,
        "local_ip": r.local.map(|a| a.ip().to_string()),
        "remote_ip": r.remote.map(|a| a.ip().to_string()),
        "interface": r.interface,
        "problem": r.problem,
        "synchronization": sync_on,
        "bulk_in_progress": r.bulk_in_progress,
        "awaiting_bulk": r.awaiting_bulk,
        "outbox": r.outbox,
        "unacked": r.unacked,
        "sent": {"messages": c.sent_datagrams, "entries": c.sent_items, "bytes": c.sent_bytes,
                 "retransmitted": c.retransmitted, "nacks": c.nacks_sent, "bulks": c.bulks_sent,
                 "not_sent_no_peer": c.not_sent_no_peer, "overflow": c.overflow,
                 "send_errors": c.send_errors},
        "received": {"messages": c.received_datagrams, "entries": c.received_items,
                     "duplicates": c.duplicates, "bulks": c.bulks_received,
                     "out_of_window": c.out_of_window},
        "refused": refused,
        "installed": h.installed.load(Relaxed),
        "install_refused_full": h.install_full.load(Relaxed),
        "install_expired": h.install_expired.load(Relaxed),
        "core_channel_full": h.core_channel_full.load(Relaxed),
        "takeovers": c.takeovers,
        "peer_restarts": c.peer_restarts,
        "status_changes": r.status_changes,
    });
    Output::display(t, data)
}
