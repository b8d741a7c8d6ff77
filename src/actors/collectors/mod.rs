//! Sending session logs to collectors (SPEC L4; issue #12 §3): the hosts `info-center
//! loghost` and `userlog flow export host` name, their sockets, queues and counters.
//!
//! A plain synchronous struct: the log actor calls `log` for every event that carries log
//! facts and `flush` once per turn (10 ms); `sessmgr replay` can drive it the same way on the
//! capture's clock. Nothing here waits: UDP sockets are non-blocking and connected, a TCP host
//! has a non-blocking connect, a queue bounded by bytes and a reconnect with backoff. Only
//! `finish` (shutdown) waits, up to its deadline, for TCP queues to drain.
//!
//! Accounting, per host, at every moment: `logs == sent + dropped + queued`; after `finish`,
//! `queued == 0`. A log produced while no host is configured for it is `unrouted`.
//!
//! Times: every stamp (syslog timestamps, flow-log and IPFIX headers, begin and end times) is
//! the log's own time, engine clock + `clock_offset_ms`, never the wall clock, so a replay
//! sends the same bytes each time.

mod host;
mod tcp;
#[cfg(test)]
mod tests;

pub use tcp::TcpTuning;

use std::net::SocketAddr;
use std::time::Instant;

use crate::export::config::{ExportConfig, HostCounters, HostDrop, HostKind};
use crate::export::config::{FlowFormat, SyslogFormat, Transport};
use crate::export::{FlowEvent, FlowRecord};
use crate::proto::key::addr_to_ip;
use crate::table::apps;
use crate::table::events::{CloseReason, EventKind, LogFacts, SessionEvent};
use host::{Host, HostId, Shared};

/// One log as a host keeps it until its datagram or message is written: a `FlowRecord` with
/// the application by id, so it borrows nothing (the name is looked up when encoding).
#[derive(Debug, Clone, Copy)]
pub struct LogRecord {
    app: u8,
    /// `application` is empty here; `with_name` fills it.
    record: FlowRecord<'static>,
}

impl LogRecord {
    fn with_name<'a>(&self, names: &'a AppNames) -> FlowRecord<'a> {
        FlowRecord {
            application: names.name(self.app),
            ..self.record
        }
    }
}

/// Every application id's name as the session table shows it: pre-defined names, and the
/// user-defined ones (upper case, as `display session table` prints them).
#[derive(Debug, Default)]
pub struct AppNames {
    user: Vec<Box<str>>,
}

impl AppNames {
    /// `user_apps[id]` names application id `id` (`ExportConfig::user_apps`); an empty name
    /// is an id no user-defined application has.
    fn new(user_apps: &[String]) -> AppNames {
        AppNames {
            user: user_apps
                .iter()
                .map(|n| n.to_ascii_uppercase().into_boxed_str())
                .collect(),
        }
    }

    fn name(&self, app: u8) -> &str {
        (app >= apps::FIRST_USER_APP)
            .then(|| self.user.get(usize::from(app)))
            .flatten()
            .filter(|n| !n.is_empty())
            .map_or_else(|| apps::name(app), |n| n.as_ref())
    }
}

/// A port as IPFIX's ingressInterface/egressInterface number: the port + 1, and 0 for a port
/// the engine does not know (`u8::MAX`: no egress in monitor mode or replay).
fn interface_index(port: u8) -> u32 {
    if port == u8::MAX {
        0
    } else {
        u32::from(port) + 1
    }
}

/// Comware's event code for a session event; `None` for events never logged.
fn flow_event(kind: EventKind, facts: &LogFacts) -> Option<FlowEvent> {
    Some(match kind {
        EventKind::Created => FlowEvent::Created,
        EventKind::Active => FlowEvent::ActiveTimeout,
        EventKind::Final => FlowEvent::ResetOrConfig,
        EventKind::Deleted(_) if facts.closing => FlowEvent::NormalOver,
        EventKind::Deleted(CloseReason::Closed) => FlowEvent::NormalOver,
        EventKind::Deleted(CloseReason::AgedOut) => FlowEvent::AgedOut,
        EventKind::Deleted(CloseReason::Reset) => FlowEvent::ResetOrConfig,
        EventKind::Deleted(CloseReason::EarlyDrop) => FlowEvent::TableFull,
        EventKind::StateChanged { .. } => return None,
    })
}

/// The operator's name of a host's kind (`sessmgr dump stats`, the exit report).
pub fn kind_name(kind: HostKind) -> &'static str {
    match kind {
        HostKind::Syslog(SyslogFormat::Comware, Transport::Udp) => "syslog",
        HostKind::Syslog(SyslogFormat::Comware, Transport::Tcp) => "syslog-tcp",
        HostKind::Syslog(SyslogFormat::Rfc5424, Transport::Udp) => "syslog-rfc5424",
        HostKind::Syslog(SyslogFormat::Rfc5424, Transport::Tcp) => "syslog-rfc5424-tcp",
        HostKind::Flow(FlowFormat::FlowLog3) => "flowlog3",
        HostKind::Flow(FlowFormat::Ipfix) => "ipfix",
    }
}

/// The exit report's line for one host: `collector 192.0.2.9:514 (syslog-tcp): logs 10, sent
/// 7, dropped 3 (host_down 2, shutdown 1)`; the reasons only when something was dropped.
pub fn exit_line(h: &HostCounters) -> String {
    let mut line = format!(
        "collector {} ({}): logs {}, sent {}, dropped {}",
        SocketAddr::new(h.addr, h.port),
        kind_name(h.kind),
        h.logs,
        h.sent,
        h.dropped()
    );
    let reasons: Vec<String> = HostDrop::ALL
        .iter()
        .filter(|&&d| h.drop_count(d) > 0)
        .map(|&d| format!("{} {}", d.name(), h.drop_count(d)))
        .collect();
    if !reasons.is_empty() {
        line.push_str(&format!(" ({})", reasons.join(", ")));
    }
    line
}

/// One host's counters as `sessmgr dump stats` lists them under `collectors` (drop reasons
/// only when non-zero).
pub fn counters_json(h: &HostCounters) -> serde_json::Value {
    serde_json::json!({
        "host": h.addr.to_string(), "port": h.port, "kind": kind_name(h.kind),
        "logs": h.logs, "sent": h.sent, "datagrams": h.datagrams, "queued": h.queued,
        "connected": h.connected,
        "drops": HostDrop::ALL.iter().filter(|&&d| h.drop_count(d) > 0)
            .map(|&d| (d.name().to_string(), serde_json::json!(h.drop_count(d))))
            .collect::<serde_json::Map<_, _>>(),
    })
}

/// Every configured collector. See the module notes.
pub struct Collectors {
    config: ExportConfig,
    clock_offset_ms: i64,
    names: AppNames,
    hosts: Vec<Host>,
    tuning: TcpTuning,
    /// Logs no host was configured for (not yet taken by `take_unrouted`).
    unrouted: u64,
    /// The latest log time seen (Unix ms): what `finish` stamps the last datagrams with.
    latest_ms: u64,
}

impl Collectors {
    /// `clock_offset_ms` turns the engine clock into Unix time (`unix = engine + offset`).
    pub fn new(config: ExportConfig, clock_offset_ms: i64) -> Collectors {
        Collectors::with_tuning(config, clock_offset_ms, TcpTuning::default())
    }

    pub fn with_tuning(config: ExportConfig, clock_offset_ms: i64, tuning: TcpTuning) -> Self {
        let mut c = Collectors {
            config: ExportConfig::default(),
            clock_offset_ms,
            names: AppNames::default(),
            hosts: Vec::new(),
            tuning,
            unrouted: 0,
            latest_ms: 0,
        };
        c.set_config(config);
        c
    }

    /// A new configuration: hosts whose settings did not change keep their sockets, sequence
    /// numbers and counters; changed hosts start afresh (an IPFIX host sends its templates
    /// again). A host taken out sends what it can at once and leaves with its counters.
    pub fn set_config(&mut self, config: ExportConfig) {
        let now = Instant::now();
        let ids = config
            .log_hosts
            .iter()
            .map(|h| HostId::Log(h.clone()))
            .chain(
                config
                    .flow_hosts
                    .iter()
                    .map(|h| HostId::Flow(h.clone(), config.source_ip)),
            );
        let mut old = std::mem::take(&mut self.hosts);
        for id in ids {
            if self.hosts.iter().any(|h| h.id == id) {
                continue; // the same host twice: one socket, one set of counters
            }
            let host = match old.iter().position(|h| h.id == id) {
                Some(i) => old.swap_remove(i),
                None => Host::new(id, self.tuning, now),
            };
            self.hosts.push(host);
        }
        let shared = Shared::of(&self.config, &self.names);
        for mut host in old {
            host.flush(self.latest_ms, &shared, now);
        }
        self.names = AppNames::new(&config.user_apps);
        self.config = config;
    }

    /// Takes one session event: one log to every host it is routed to when it carries log
    /// facts and is an event collectors receive.
    pub fn log(&mut self, ev: &SessionEvent) {
        let Some(facts) = &ev.log else { return };
        let Some(event) = flow_event(ev.kind, facts) else {
            return;
        };
        let at_ms = self.unix_ms(ev.at_ns / 1_000_000);
        let k = &ev.orig;
        let record = LogRecord {
            app: facts.app,
            record: FlowRecord {
                protocol: k.proto,
                application: "",
                src_ip: addr_to_ip(k.family, &k.src),
                src_port: k.sport,
                dst_ip: addr_to_ip(k.family, &k.dst),
                dst_port: k.dport,
                init_packets: facts.counters[0].packets,
                init_bytes: facts.counters[0].bytes,
                reply_packets: facts.counters[1].packets,
                reply_bytes: facts.counters[1].bytes,
                begin_ms: self.unix_ms(facts.begin_ms),
                end_ms: matches!(ev.kind, EventKind::Deleted(_) | EventKind::Final)
                    .then_some(at_ms),
                event,
                tos: facts.tos,
                ingress_interface: interface_index(facts.ports[0]),
                egress_interface: interface_index(facts.ports[1]),
            },
        };
        self.latest_ms = self.latest_ms.max(at_ms);
        // `userlog flow syslog`: the log hosts instead of the flow-log hosts.
        let to_syslog = self.config.flow_to_syslog;
        let shared = Shared::of(&self.config, &self.names);
        let now = Instant::now();
        let mut routed = false;
        for host in self.hosts.iter_mut().filter(|h| h.is_syslog() == to_syslog) {
            host.log(&record, at_ms, &shared, now);
            routed = true;
        }
        if !routed {
            self.unrouted += 1;
        }
    }

    /// The information centre's messages: to every log host (`info-center loghost`), whatever
    /// `userlog flow syslog` says. Their times are Unix ms already (the engine clock is
    /// wall-clock time live and capture time in replay).
    pub fn messages(&mut self, messages: &[crate::infocenter::Message]) {
        if messages.is_empty() {
            return;
        }
        let shared = Shared::of(&self.config, &self.names);
        let now = Instant::now();
        for m in messages {
            self.latest_ms = self.latest_ms.max(m.ms);
            for host in self.hosts.iter_mut().filter(|h| h.is_syslog()) {
                host.message(m, &shared, now);
            }
        }
    }

    /// The end of a turn, the engine clock at `now_ms_engine`: datagrams in progress close
    /// (stamped with that time + the offset), IPFIX messages are encoded, queued data is sent.
    pub fn flush(&mut self, now_ms_engine: u64) {
        let now_ms = self.unix_ms(now_ms_engine);
        self.latest_ms = self.latest_ms.max(now_ms);
        let shared = Shared::of(&self.config, &self.names);
        let now = Instant::now();
        for host in &mut self.hosts {
            host.flush(now_ms, &shared, now);
        }
    }

    /// Shutdown: flushes, gives TCP hosts until `deadline` to take their queues (one
    /// immediate reconnect for a host that is down), counts what is left as `Shutdown`.
    /// Every host then has `queued == 0`.
    pub fn finish(&mut self, deadline: Instant) -> Vec<HostCounters> {
        let shared = Shared::of(&self.config, &self.names);
        let now = Instant::now();
        for host in &mut self.hosts {
            host.flush(self.latest_ms, &shared, now);
            host.retry_now(now);
        }
        loop {
            let now = Instant::now();
            for host in &mut self.hosts {
                host.pump(now);
            }
            // Done when nothing waits, or when what waits is for hosts that will not even try
            // to connect again before the deadline.
            if now >= deadline
                || self
                    .hosts
                    .iter()
                    .all(|h| h.tcp_queued() == 0 || h.idle_until_past(deadline))
            {
                break;
            }
            // Shutdown only: the one place that waits, briefly, between attempts.
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        for host in &mut self.hosts {
            host.give_up();
        }
        self.counters()
    }

    /// Every configured host's counters, log hosts first, in configuration order.
    pub fn counters(&self) -> Vec<HostCounters> {
        self.hosts.iter().map(Host::counters).collect()
    }

    /// `reset userlog flow export`: the flow-log hosts' counters start again.
    pub fn reset_flow_counters(&mut self) {
        for host in self.hosts.iter_mut().filter(|h| !h.is_syslog()) {
            host.reset_counters();
        }
    }

    /// Logs no host was configured for, since the last call.
    pub fn take_unrouted(&mut self) -> u64 {
        std::mem::take(&mut self.unrouted)
    }

    fn unix_ms(&self, engine_ms: u64) -> u64 {
        engine_ms.saturating_add_signed(self.clock_offset_ms)
    }
}
