//! `display userlog export` (reference/comware.md §11.3): Comware's `Flow:` block for the flow
//! log 3.0 hosts, with the counters the log actor published for each, then what is ours under
//! `Extensions (sessmgr):`: each flow-log host's undelivered logs by reason, the IPFIX hosts,
//! the syslog hosts (information centre) and the logs no host was configured for.
//!
//! ```text
//! Flow:
//!   Export flow log as UDP Packet.
//!   Version: 3.0
//!   Source address: 2.2.2.2
//!   Log load balance function: Disabled
//!   Log host numbers: 1
//!   Log host 1:
//!     IP address/Port: 1.2.3.6/2000
//!     Total logs/UDP packets exported: 112/87
//! Extensions (sessmgr):
//!   ...
//! ```

use crate::export::config::{
    ExportConfig, FlowFormat, FlowHost, HostCounters, HostDrop, HostKind, SyslogFormat, Transport,
};
use crate::export::flowlog::FlowLogVersion;
use std::fmt::Write as _;
use std::net::IpAddr;

/// The counters the log actor published for a host of this address, port and kind (zero
/// while it has published none: a host just configured, or no log actor).
pub fn counters_of(
    counters: &[HostCounters],
    addr: IpAddr,
    port: u16,
    flow: bool,
) -> Option<&HostCounters> {
    counters
        .iter()
        .find(|c| c.addr == addr && c.port == port && matches!(c.kind, HostKind::Flow(_)) == flow)
}

/// The drops of a host, by reason: `3 (refused 2, host_down 1)`, or `0`.
fn drops_text(c: Option<&HostCounters>) -> String {
    let Some(c) = c else {
        return "0".into();
    };
    let reasons: Vec<String> = HostDrop::ALL
        .iter()
        .filter(|&&d| c.drop_count(d) != 0)
        .map(|&d| format!("{} {}", d.name(), c.drop_count(d)))
        .collect();
    if reasons.is_empty() {
        "0".into()
    } else {
        format!("{} ({})", c.dropped(), reasons.join(", "))
    }
}

/// A host's lines of Comware's `Log host N:` block (`label` names the kind).
fn host_lines(out: &mut String, label: &str, i: usize, h: &FlowHost, c: Option<&HostCounters>) {
    let _ = writeln!(out, "  {label} host {}:", i + 1);
    let _ = writeln!(out, "    IP address/Port: {}/{}", h.addr, h.port);
    let _ = writeln!(
        out,
        "    Total logs/UDP packets exported: {}/{}",
        c.map_or(0, |c| c.sent),
        c.map_or(0, |c| c.datagrams)
    );
}

/// `display userlog export` (§11.3): Comware's `Flow:` block for the flow log 3.0 hosts, then
/// what is ours, headed as such: each host's undelivered logs, the IPFIX hosts, the syslog
/// hosts and the logs no host was configured for.
pub fn render_userlog_export(
    export: &ExportConfig,
    counters: &[HostCounters],
    unrouted: u64,
) -> String {
    let mut out = String::from("Flow:\n");
    if export.flow_to_syslog {
        out.push_str("  Export flow log to the information center (userlog flow syslog).\n");
    } else {
        out.push_str("  Export flow log as UDP Packet.\n");
    }
    let _ = writeln!(out, "  Version: {}", FlowLogVersion::default().display());
    match export.source_ip {
        Some(a) => {
            let _ = writeln!(out, "  Source address: {a}");
        }
        None => out.push_str("  Source address: Not configured\n"),
    }
    out.push_str("  Log load balance function: Disabled\n");
    let flow3: Vec<&FlowHost> = export
        .flow_hosts
        .iter()
        .filter(|h| h.format == FlowFormat::FlowLog3)
        .collect();
    let _ = writeln!(out, "  Log host numbers: {}", flow3.len());
    for (i, h) in flow3.iter().enumerate() {
        host_lines(
            &mut out,
            "Log",
            i,
            h,
            counters_of(counters, h.addr, h.port, true),
        );
    }

    out.push_str("Extensions (sessmgr):\n");
    if !flow3.is_empty() {
        out.push_str("  Flow log hosts, logs not delivered:\n");
        for h in &flow3 {
            let c = counters_of(counters, h.addr, h.port, true);
            let _ = writeln!(out, "    {}/{}: {}", h.addr, h.port, drops_text(c));
        }
    }
    let ipfix: Vec<&FlowHost> = export
        .flow_hosts
        .iter()
        .filter(|h| h.format == FlowFormat::Ipfix)
        .collect();
    let _ = writeln!(out, "  IPFIX host numbers: {}", ipfix.len());
    for (i, h) in ipfix.iter().enumerate() {
        let c = counters_of(counters, h.addr, h.port, true);
        host_lines(&mut out, "IPFIX", i, h, c);
        let _ = writeln!(out, "    Logs not delivered: {}", drops_text(c));
    }
    let _ = writeln!(
        out,
        "  Syslog host numbers: {}{}",
        export.log_hosts.len(),
        if export.flow_to_syslog {
            " (session logs go here: userlog flow syslog)"
        } else {
            ""
        }
    );
    for (i, h) in export.log_hosts.iter().enumerate() {
        let c = counters_of(counters, h.addr, h.port, false);
        let _ = writeln!(out, "  Syslog host {}:", i + 1);
        let _ = writeln!(out, "    IP address/Port: {}/{}", h.addr, h.port);
        let _ = writeln!(
            out,
            "    Format/Transport: {}/{}, facility {}",
            match h.format {
                SyslogFormat::Comware => "Comware",
                SyslogFormat::Rfc5424 => "RFC 5424",
            },
            match h.transport {
                Transport::Udp => "UDP",
                Transport::Tcp => "TCP",
            },
            h.facility.keyword()
        );
        let unit = match h.transport {
            Transport::Udp => "UDP packets",
            Transport::Tcp => "TCP messages",
        };
        let _ = writeln!(
            out,
            "    Total logs/{unit} sent: {}/{}",
            c.map_or(0, |c| c.sent),
            c.map_or(0, |c| c.datagrams)
        );
        if h.transport == Transport::Tcp {
            let _ = writeln!(
                out,
                "    Connection: {}, logs queued: {}",
                if c.is_some_and(|c| c.connected) {
                    "Up"
                } else {
                    "Down"
                },
                c.map_or(0, |c| c.queued)
            );
        }
        let _ = writeln!(out, "    Logs not delivered: {}", drops_text(c));
    }
    let _ = writeln!(out, "  Logs with no host to go to: {unrouted}");
    out
}
