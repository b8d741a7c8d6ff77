//! Session logs at the console (issue #12, comware.md §9.2, §11.1, §11.3): every command
//! parsed to its canonical line, the ranges, the replacement rules and the refusals, done on
//! an engine without cores; the configuration text and its read-back; what the cores are
//! given per port (`resolved()`); what the log actor is given (`export_config()`); and
//! `display userlog export` with counters as the log actor publishes them.

use super::*;
use crate::config::Config;
use crate::ctl::engine::Engine;
use crate::ctl::exec::{Console, apply_startup};
use crate::ctl::grammar::ErrorKind;
use crate::ctl::running::Running;
use crate::ctl::userlog_view::render_userlog_export;
use crate::export::config::{
    ExportConfig, FlowFormat, FlowHost, HostCounters, HostDrop, HostKind, LogHost, SyslogFormat,
    Transport,
};
use crate::export::syslog::{Facility, TimestampStyle};
use crate::proto::key::FlowKey;
use crate::proto::wire::Family;
use crate::table::log::{LogSelect, TrafficThreshold};
use std::sync::Arc;

const PORTS: [&str; 4] = ["eth0", "eth1", "eth2", "eth3"];

/// An engine without cores whose device has four interfaces (two inline pairs).
fn engine() -> Arc<Engine> {
    let mut running = Running::factory(&Config::default());
    running.interfaces = PORTS.iter().map(|s| s.to_string()).collect();
    Arc::new(Engine::new(
        Vec::new(),
        running,
        "/nonexistent/startup.cfg".into(),
    ))
}

/// A console in system view on `e`.
fn system(e: &Arc<Engine>) -> Console {
    let mut c = Console::new(e.clone());
    c.line("system-view");
    c
}

/// Runs `lines`, each of which must be taken without a word.
fn quietly(c: &mut Console, lines: &[&str]) {
    for l in lines {
        let r = c.line(l);
        assert_eq!(r.output, "", "{l}");
    }
}

fn running(e: &Engine) -> Running {
    e.running.lock().unwrap().clone()
}

const IF: fn() -> View = || View::Interface {
    name: "eth0".into(),
};

/// (view, typed, canonical): every form, abbreviated or in full.
fn forms() -> Vec<(View, &'static str, &'static str)> {
    let s = || View::System;
    vec![
        (
            s(),
            "session log time-active 50",
            "session log time-active 50",
        ),
        (s(), "sess lo time 10", "session log time-active 10"),
        (
            s(),
            "undo session log time-active",
            "undo session log time-active",
        ),
        (
            s(),
            "session log bytes-active 10",
            "session log bytes-active 10",
        ),
        (
            s(),
            "session log packets-active 100000",
            "session log packets-active 100000",
        ),
        (
            s(),
            "undo session log bytes-active",
            "undo session log bytes-active",
        ),
        (
            s(),
            "undo session log packets-active",
            "undo session log packets-active",
        ),
        (s(), "session log flow-begin", "session log flow-begin"),
        (
            s(),
            "undo session log flow-end",
            "undo session log flow-end",
        ),
        (
            IF(),
            "session log enable ipv4 inbound",
            "session log enable ipv4 inbound",
        ),
        (
            IF(),
            "session log enable ipv6 acl 2050 outbound",
            "session log enable ipv6 acl 2050 outbound",
        ),
        (
            IF(),
            "undo session log enable ipv4 outbound",
            "undo session log enable ipv4 outbound",
        ),
        (
            s(),
            "info-center loghost 198.18.0.9",
            "info-center loghost 198.18.0.9",
        ),
        (
            s(),
            "info-center loghost 198.18.0.9 port 514 facility local7",
            "info-center loghost 198.18.0.9",
        ),
        (
            s(),
            "info-center loghost ipv6 2001:2::9 port 1514 facility local3 format rfc5424 transport tcp",
            "info-center loghost ipv6 2001:2::9 port 1514 facility local3 format rfc5424 transport tcp",
        ),
        (
            s(),
            "undo info-center loghost 198.18.0.9 port 1514",
            "undo info-center loghost 198.18.0.9 port 1514",
        ),
        (
            s(),
            "undo info-center loghost ipv6 2001:2::9",
            "undo info-center loghost ipv6 2001:2::9",
        ),
        (
            s(),
            "info-center timestamp loghost iso",
            "info-center timestamp loghost iso",
        ),
        (
            s(),
            "info-center timestamp loghost no-year-date",
            "info-center timestamp loghost no-year-date",
        ),
        (
            s(),
            "undo info-center timestamp loghost",
            "undo info-center timestamp loghost",
        ),
        (s(), "userlog flow syslog", "userlog flow syslog"),
        (s(), "undo userlog flow syslog", "undo userlog flow syslog"),
        (
            s(),
            "userlog flow export host 198.18.0.9 port 4000",
            "userlog flow export host 198.18.0.9 port 4000",
        ),
        (
            s(),
            "userlog flow export host ipv6 2001:2::9 port 4739 ipfix",
            "userlog flow export host ipv6 2001:2::9 port 4739 ipfix",
        ),
        (
            s(),
            "undo userlog flow export host 198.18.0.9",
            "undo userlog flow export host 198.18.0.9",
        ),
        (
            s(),
            "userlog flow export version 3",
            "userlog flow export version 3",
        ),
        (
            s(),
            "userlog flow export version 1",
            "userlog flow export version 1",
        ),
        (
            s(),
            "undo userlog flow export version",
            "undo userlog flow export version",
        ),
        (
            s(),
            "userlog flow export source-ip 198.18.0.1",
            "userlog flow export source-ip 198.18.0.1",
        ),
        (
            s(),
            "userlog flow export source-ip 2001:2::1",
            "userlog flow export source-ip 2001:2::1",
        ),
        (
            s(),
            "undo userlog flow export source-ip",
            "undo userlog flow export source-ip",
        ),
        (
            View::User,
            "display userlog export",
            "display userlog export",
        ),
        (IF(), "dis userlog exp", "display userlog export"),
        (
            View::User,
            "reset userlog flow export",
            "reset userlog flow export",
        ),
    ]
}

#[test]
fn every_form_parses_to_its_canonical_line_and_back() {
    for (view, typed, canonical) in forms() {
        let action = parse(&view, typed);
        assert!(matches!(action, Action::Log(_)), "{typed}: {action:?}");
        assert_eq!(action.canonical(), canonical, "{typed}");
        assert_eq!(parse(&view, canonical), action, "{canonical}");
    }
    let host = parse(
        &View::System,
        "info-center loghost ipv6 2001:2::9 port 1514 facility local3 format rfc5424 transport tcp",
    );
    assert_eq!(
        host,
        Action::Log(LogCmd::LogHost(LogHost {
            addr: v6("2001:2::9"),
            port: 1514,
            facility: Facility::Local3,
            format: SyslogFormat::Rfc5424,
            transport: Transport::Tcp,
        }))
    );
    assert_eq!(
        host.config_line().as_deref(),
        Some(
            " info-center loghost ipv6 2001:2::9 port 1514 facility local3 format rfc5424 transport tcp"
        )
    );
    // Displays, resets and undo forms are not settings.
    for (view, line) in [
        (View::User, "display userlog export"),
        (View::User, "reset userlog flow export"),
        (View::System, "undo session log flow-begin"),
        (View::System, "undo info-center loghost 198.18.0.9"),
    ] {
        assert_eq!(parse(&view, line).config_line(), None, "{line}");
    }
}

#[test]
fn ranges_views_and_syntax() {
    let s = View::System;
    for (view, line, kind) in [
        (&s, "session log time-active 9", ErrorKind::Wrong),
        (&s, "session log time-active 130", ErrorKind::Wrong),
        (&s, "session log bytes-active 0", ErrorKind::Wrong),
        (&s, "session log bytes-active 100001", ErrorKind::Wrong),
        (&s, "session log packets-active 0", ErrorKind::Wrong),
        (&s, "session log time-active", ErrorKind::Incomplete),
        (
            &IF(),
            "session log enable ipv4 acl 1999 inbound",
            ErrorKind::Wrong,
        ),
        (
            &IF(),
            "session log enable ipv4 acl 4000 inbound",
            ErrorKind::Wrong,
        ),
        (&IF(), "session log enable ipv4", ErrorKind::Incomplete),
        (
            &s,
            "info-center loghost 198.18.0.9 port 0",
            ErrorKind::Wrong,
        ),
        (&s, "info-center loghost 2001:2::9", ErrorKind::Wrong),
        (
            &s,
            "info-center loghost 198.18.0.9 facility local8",
            ErrorKind::Unrecognized,
        ),
        (
            &s,
            "userlog flow export host 198.18.0.9",
            ErrorKind::Incomplete,
        ),
        (&s, "userlog flow export version 2", ErrorKind::Unrecognized),
    ] {
        assert_eq!(err(view, line).kind, kind, "{line}");
    }
    // `session log enable` lives in interface views, the global settings in system view,
    // the reset in user view.
    assert!(
        grammar()
            .parse(&s, "session log enable ipv4 inbound")
            .is_err()
    );
    assert!(grammar().parse(&IF(), "session log flow-begin").is_err());
    assert!(grammar().parse(&s, "reset userlog flow export").is_err());
}

#[test]
fn time_active_must_be_a_multiple_of_ten() {
    let e = engine();
    let mut c = system(&e);
    let r = c.line("session log time-active 25");
    assert_eq!(
        r.output,
        " % The time-active threshold must be a multiple of 10 minutes (10 to 120): 25 is not.\n"
    );
    assert_eq!(running(&e).table.session_log.time_active_min, 0);
    quietly(&mut c, &["session log time-active 120"]);
    assert_eq!(running(&e).table.session_log.time_active_min, 120);
    quietly(&mut c, &["undo session log time-active"]);
    assert_eq!(running(&e).table.session_log.time_active_min, 0);
}

#[test]
fn the_last_traffic_threshold_applies() {
    let e = engine();
    let mut c = system(&e);
    let traffic = |e: &Engine| running(e).table.session_log.traffic;
    quietly(&mut c, &["session log bytes-active 10"]);
    assert_eq!(traffic(&e), Some(TrafficThreshold::Bytes(10)));
    quietly(&mut c, &["session log packets-active 3"]);
    assert_eq!(traffic(&e), Some(TrafficThreshold::Packets(3)));
    // The undo of the kind not in force leaves the one in force.
    quietly(&mut c, &["undo session log bytes-active"]);
    assert_eq!(traffic(&e), Some(TrafficThreshold::Packets(3)));
    quietly(&mut c, &["undo session log packets-active"]);
    assert_eq!(traffic(&e), None);
    quietly(&mut c, &["session log flow-begin", "session log flow-end"]);
    let log = running(&e).table.session_log;
    assert!(log.flow_begin && log.flow_end);
    quietly(&mut c, &["undo session log flow-begin"]);
    let log = running(&e).table.session_log;
    assert!(!log.flow_begin && log.flow_end);
}

#[test]
fn one_line_per_interface_family_and_direction() {
    let e = engine();
    let mut c = system(&e);
    quietly(
        &mut c,
        &[
            "interface eth0",
            "session log enable ipv4 inbound",
            "session log enable ipv6 inbound",
            "session log enable ipv4 outbound",
            // Replaces the IPv4 inbound line, in its place.
            "session log enable ipv4 acl 2000 inbound",
        ],
    );
    let text = |e: &Engine| configuration(&e.running.lock().unwrap());
    assert!(
        text(&e).contains(
            "interface eth0\n session log enable ipv4 acl 2000 inbound\n session log enable ipv6 inbound\n session log enable ipv4 outbound\n#\n"
        ),
        "{}",
        text(&e)
    );
    // An undo naming another ACL removes nothing; without an ACL it removes the line.
    quietly(&mut c, &["undo session log enable ipv4 acl 2001 inbound"]);
    assert_eq!(running(&e).log_bindings.len(), 3);
    quietly(&mut c, &["undo session log enable ipv4 acl 2000 inbound"]);
    assert_eq!(running(&e).log_bindings.len(), 2);
    quietly(
        &mut c,
        &[
            "undo session log enable ipv6 inbound",
            "undo session log enable ipv4 outbound",
        ],
    );
    assert!(running(&e).log_bindings.is_empty());
    // No line left, no section.
    assert!(!text(&e).contains("interface eth0"), "{}", text(&e));
    assert_eq!(
        c.line("display this").output,
        "#\ninterface eth0\n#\nreturn\n"
    );
}

#[test]
fn at_most_four_log_hosts_and_the_same_host_is_replaced() {
    let e = engine();
    let mut c = system(&e);
    quietly(
        &mut c,
        &[
            "info-center loghost 198.18.0.1",
            "info-center loghost 198.18.0.1 port 1514",
            "info-center loghost 198.18.0.2",
            "info-center loghost ipv6 2001:2::3",
        ],
    );
    let r = c.line("info-center loghost 198.18.0.5");
    assert_eq!(
        r.output,
        " % The number of log hosts has reached the upper limit (4).\n"
    );
    // The same address and port again: its settings replaced, in place, not a fifth host.
    quietly(&mut c, &["info-center loghost 198.18.0.2 facility local0"]);
    let hosts = running(&e).export.log_hosts;
    assert_eq!(hosts.len(), 4);
    assert_eq!(
        (hosts[2].addr, hosts[2].facility),
        (v4("198.18.0.2"), Facility::Local0)
    );
    // An undo with a port removes that host; without, every port of the address.
    quietly(&mut c, &["undo info-center loghost 198.18.0.1 port 1514"]);
    assert_eq!(running(&e).export.log_hosts.len(), 3);
    quietly(
        &mut c,
        &[
            "info-center loghost 198.18.0.1 port 1514",
            "undo info-center loghost 198.18.0.1",
        ],
    );
    let hosts = running(&e).export.log_hosts;
    assert_eq!(
        hosts.iter().map(|h| h.addr).collect::<Vec<_>>(),
        [v4("198.18.0.2"), v6("2001:2::3")]
    );
    quietly(&mut c, &["info-center timestamp loghost none"]);
    assert_eq!(running(&e).export.timestamp, TimestampStyle::None);
    quietly(&mut c, &["undo info-center timestamp loghost"]);
    assert_eq!(running(&e).export.timestamp, TimestampStyle::Date);
}

#[test]
fn at_most_four_flow_hosts() {
    let e = engine();
    let mut c = system(&e);
    for n in 1..=4 {
        quietly(
            &mut c,
            &[&format!("userlog flow export host 198.18.0.{n} port 4000")],
        );
    }
    let r = c.line("userlog flow export host 198.18.0.9 port 4000");
    assert_eq!(
        r.output,
        " % The number of flow log hosts has reached the upper limit (4).\n"
    );
    // The same host again switches it to IPFIX, in place.
    quietly(
        &mut c,
        &["userlog flow export host 198.18.0.2 port 4000 ipfix"],
    );
    let hosts = running(&e).export.flow_hosts;
    assert_eq!(hosts.len(), 4);
    assert_eq!(hosts[1].format, FlowFormat::Ipfix);
    quietly(
        &mut c,
        &["undo userlog flow export host 198.18.0.3 port 4001"],
    );
    assert_eq!(running(&e).export.flow_hosts.len(), 4);
    quietly(&mut c, &["undo userlog flow export host 198.18.0.3"]);
    assert_eq!(running(&e).export.flow_hosts.len(), 3);
}

#[test]
fn version_one_is_refused_with_the_reason() {
    let e = engine();
    let mut c = system(&e);
    let r = c.line("userlog flow export version 1");
    assert_eq!(
        r.output,
        " % Flow log version 1.0's layout is not known; use version 3.\n"
    );
    quietly(
        &mut c,
        &[
            "userlog flow export version 3",
            "undo userlog flow export version",
        ],
    );
    // The version line shows once a flow-log host exists: the version its collectors get.
    let text = |e: &Engine| configuration(&e.running.lock().unwrap());
    assert!(!text(&e).contains("version"), "{}", text(&e));
    quietly(&mut c, &["userlog flow export host 198.18.0.9 port 4000"]);
    assert!(
        text(&e).contains(
            " userlog flow export version 3\n userlog flow export host 198.18.0.9 port 4000\n"
        ),
        "{}",
        text(&e)
    );
}

/// Every setting of the area, as typed by an operator.
const SETTINGS: &[&str] = &[
    "session log time-active 30",
    "session log bytes-active 5",
    "session log packets-active 7",
    "session log flow-begin",
    "session log flow-end",
    "info-center loghost 198.18.0.9",
    "info-center loghost ipv6 2001:2::9 port 1514 facility local3 format rfc5424 transport tcp",
    "info-center timestamp loghost iso",
    "userlog flow syslog",
    "userlog flow export host 198.18.0.10 port 4000",
    "userlog flow export host ipv6 2001:2::10 port 4739 ipfix",
    "userlog flow export source-ip 198.18.0.1",
    "acl basic 2000",
    "rule permit source 198.18.1.0 0.0.0.255",
    "quit",
    "interface eth2",
    "session log enable ipv4 outbound",
    "quit",
    "interface eth0",
    "packet-filter 2000 inbound",
    "session log enable ipv6 inbound",
    "session log enable ipv4 acl 2000 inbound",
    "quit",
];

/// The configuration those settings give, in full (§1.7).
const SAVED: &str = "#
 session log time-active 30
 session log packets-active 7
 session log flow-begin
 session log flow-end
 info-center timestamp loghost iso
 info-center loghost 198.18.0.9
 info-center loghost ipv6 2001:2::9 port 1514 facility local3 format rfc5424 transport tcp
 userlog flow syslog
 userlog flow export version 3
 userlog flow export host 198.18.0.10 port 4000
 userlog flow export host ipv6 2001:2::10 port 4739 ipfix
 userlog flow export source-ip 198.18.0.1
#
interface eth0
 packet-filter 2000 inbound
 session log enable ipv6 inbound
 session log enable ipv4 acl 2000 inbound
#
interface eth2
 session log enable ipv4 outbound
#
acl basic 2000
 rule 0 permit source 198.18.1.0 0.0.0.255
#
return
";

#[test]
fn the_configuration_reads_back_as_it_was() {
    let first = engine();
    let mut c = system(&first);
    quietly(&mut c, SETTINGS);
    let saved = configuration(&first.running.lock().unwrap());
    // The factory configuration's name line comes first; the rest is the area's.
    let body = saved.split_once("#\n").map_or("", |(_, rest)| rest);
    let body = body.split_once("#\n").map_or("", |(_, rest)| rest);
    assert_eq!(format!("#\n{body}"), SAVED, "{saved}");
    let again = engine();
    let failed = apply_startup(again.clone(), &saved);
    assert!(failed.is_empty(), "{failed:?}\n{saved}");
    let (a, b) = (running(&first), running(&again));
    assert_eq!(a.table.session_log, b.table.session_log);
    // The interface sections come in port order, whatever order they were typed in.
    assert_eq!(a.resolved().session_log, b.resolved().session_log);
    assert_eq!(a.export, b.export);
    assert_eq!(configuration(&b), saved);
    // `display this` in an interface view shows its log lines.
    let mut c = system(&again);
    c.line("interface eth2");
    assert_eq!(
        c.line("display this").output,
        "#\ninterface eth2\n session log enable ipv4 outbound\n#\nreturn\n"
    );
}

/// A TCP initiator tuple (an IPv4 address in the first four bytes, as the table keeps it).
fn key(src: &str, dst: &str) -> FlowKey {
    let bytes = |a: &str| -> ([u8; 16], Family) {
        let mut out = [0u8; 16];
        match a.parse::<IpAddr>().unwrap() {
            IpAddr::V4(v) => {
                out[..4].copy_from_slice(&v.octets());
                (out, Family::V4)
            }
            IpAddr::V6(v) => (v.octets(), Family::V6),
        }
    };
    let ((src, family), (dst, _)) = (bytes(src), bytes(dst));
    FlowKey {
        src,
        dst,
        sport: 40000,
        dport: 80,
        proto: 6,
        family,
        vpn: 0,
    }
}

#[test]
fn the_cores_get_each_ports_lines_and_its_peers_outbound_lines() {
    let e = engine();
    let mut c = system(&e);
    quietly(
        &mut c,
        &[
            "session log flow-begin",
            "acl basic 2000",
            "rule permit source 198.18.1.0 0.0.0.255",
            "quit",
            // eth0 in: every IPv4 session; eth1 out: the ACL's (port 0's peer is eth1).
            "interface eth0",
            "session log enable ipv4 inbound",
            "quit",
            "interface eth1",
            "session log enable ipv4 acl 2000 outbound",
            // An ACL that does not exist selects nothing.
            "session log enable ipv6 acl 2999 inbound",
            "quit",
            // eth3 out applies to sessions arriving on eth2.
            "interface eth3",
            "session log enable ipv6 outbound",
        ],
    );
    let log = running(&e).resolved().session_log;
    assert!(log.flow_begin && log.active());
    assert_eq!(log.ports.len(), 4);
    let acl = running(&e).acl(false, 2000).cloned().unwrap();
    assert_eq!(log.ports[0].v4, [LogSelect::All, LogSelect::Acl(acl)]);
    assert!(log.ports[0].v6.is_empty());
    assert!(log.ports[1].v4.is_empty());
    assert_eq!(log.ports[1].v6, [LogSelect::Nothing]);
    assert_eq!(log.ports[2].v6, [LogSelect::All]);
    assert!(log.ports[3].v4.is_empty() && log.ports[3].v6.is_empty());
    // What the cores decide with it.
    let inside = key("198.18.1.5", "198.18.2.5");
    let v6 = key("2001:2::1", "2001:2::2");
    assert!(log.selects(0, &inside));
    assert!(!log.selects(1, &inside));
    assert!(log.selects(2, &v6));
    assert!(!log.selects(1, &v6));
    // The ACL is resolved as it is now: removed, its line selects nothing.
    quietly(&mut c, &["quit", "undo acl basic 2000"]);
    let log = running(&e).resolved().session_log;
    assert_eq!(log.ports[0].v4, [LogSelect::All, LogSelect::Nothing]);
    // No line at all: no port rules.
    let fresh = engine();
    assert!(running(&fresh).resolved().session_log.ports.is_empty());
}

#[test]
fn the_log_actor_is_given_every_change() {
    let e = engine();
    // The startup configuration's hosts are there from the start.
    let startup = e.export.take_config().expect("set at construction");
    assert_eq!(startup.sysname, running(&e).sysname);
    assert!(startup.log_hosts.is_empty());
    let mut c = system(&e);
    quietly(
        &mut c,
        &[
            "sysname EDGE",
            "port-mapping application myapp port 9000",
            "userlog flow export host 198.18.0.9 port 4000",
        ],
    );
    let got = e.export.take_config().expect("set after the change");
    let r = running(&e);
    assert_eq!(got, r.export_config());
    assert_eq!(got.sysname, "EDGE");
    let id = r.table.user_apps.id("myapp").unwrap();
    assert_eq!(got.user_apps[usize::from(id)], "myapp");
    assert_eq!(
        got.flow_hosts,
        [FlowHost {
            addr: v4("198.18.0.9"),
            port: 4000,
            format: FlowFormat::FlowLog3
        }]
    );
    // A display changes nothing and sets nothing.
    c.line("display userlog export");
    assert_eq!(e.export.take_config(), None);
    // A refused command neither.
    c.line("session log time-active 15");
    assert_eq!(e.export.take_config(), None);
    // `reset userlog flow export` asks the actor.
    c.line("return");
    assert!(!e.export.take_reset());
    quietly(&mut c, &["reset userlog flow export"]);
    assert!(e.export.take_reset());
    // The runtime's own handle can be given the configuration too.
    e.publish_export_config();
    assert_eq!(e.export.take_config(), Some(r.export_config()));
}

fn counters(addr: IpAddr, port: u16, kind: HostKind, sent: u64, datagrams: u64) -> HostCounters {
    HostCounters {
        addr,
        port,
        kind,
        logs: sent,
        sent,
        datagrams,
        drops: [0; HostDrop::ALL.len()],
        queued: 0,
        connected: false,
    }
}

#[test]
fn display_userlog_export_golden() {
    let e = engine();
    let mut c = system(&e);
    // Nothing configured: Comware's block with no host.
    assert_eq!(
        c.line("display userlog export").output,
        "Flow:
  Export flow log as UDP Packet.
  Version: 3.0
  Source address: Not configured
  Log load balance function: Disabled
  Log host numbers: 0
Extensions (sessmgr):
  IPFIX host numbers: 0
  Syslog host numbers: 0
  Logs with no host to go to: 0
"
    );
    quietly(
        &mut c,
        &[
            "userlog flow export host 1.2.3.6 port 2000",
            "userlog flow export host 198.18.0.7 port 4739 ipfix",
            "userlog flow export host 1.1.1.1 port 2000",
            "userlog flow export source-ip 2.2.2.2",
            "info-center loghost 198.18.0.9 port 1514 transport tcp",
        ],
    );
    let mut refused = counters(
        v4("1.2.3.6"),
        2000,
        HostKind::Flow(FlowFormat::FlowLog3),
        112,
        87,
    );
    refused.drops[1] = 3; // refused
    refused.drops[0] = 2; // queue_full
    let mut tcp = counters(
        v4("198.18.0.9"),
        1514,
        HostKind::Syslog(SyslogFormat::Comware, Transport::Tcp),
        40,
        40,
    );
    tcp.connected = true;
    tcp.queued = 5;
    e.export.publish(vec![
        refused,
        counters(
            v4("198.18.0.7"),
            4739,
            HostKind::Flow(FlowFormat::Ipfix),
            9,
            2,
        ),
        tcp,
        // A host no longer configured: not shown.
        counters(v4("9.9.9.9"), 9, HostKind::Flow(FlowFormat::FlowLog3), 1, 1),
    ]);
    e.export.add_unrouted(17);
    let want = "Flow:
  Export flow log as UDP Packet.
  Version: 3.0
  Source address: 2.2.2.2
  Log load balance function: Disabled
  Log host numbers: 2
  Log host 1:
    IP address/Port: 1.2.3.6/2000
    Total logs/UDP packets exported: 112/87
  Log host 2:
    IP address/Port: 1.1.1.1/2000
    Total logs/UDP packets exported: 0/0
Extensions (sessmgr):
  Flow log hosts, logs not delivered:
    1.2.3.6/2000: 5 (queue_full 2, refused 3)
    1.1.1.1/2000: 0
  IPFIX host numbers: 1
  IPFIX host 1:
    IP address/Port: 198.18.0.7/4739
    Total logs/UDP packets exported: 9/2
    Logs not delivered: 0
  Syslog host numbers: 1
  Syslog host 1:
    IP address/Port: 198.18.0.9/1514
    Format/Transport: Comware/TCP, facility local7
    Total logs/TCP messages sent: 40/40
    Connection: Up, logs queued: 5
    Logs not delivered: 0
  Logs with no host to go to: 17
";
    assert_eq!(c.line("display userlog export").output, want);
    // With `userlog flow syslog`, it says where the logs go instead.
    quietly(&mut c, &["userlog flow syslog"]);
    let out = c.line("display userlog export").output;
    assert!(
        out.starts_with(
            "Flow:\n  Export flow log to the information center (userlog flow syslog).\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("  Syslog host numbers: 1 (session logs go here: userlog flow syslog)\n"),
        "{out}"
    );
    // The render is the same function the console uses.
    assert_eq!(
        render_userlog_export(&ExportConfig::default(), &[], 0)
            .lines()
            .next(),
        Some("Flow:")
    );
}

fn help(view: &View, line: &str) -> String {
    crate::ctl::grammar::render_help(&grammar().help(view, line).unwrap())
}

#[test]
fn question_mark_lists_the_choices() {
    let s = View::System;
    assert_eq!(
        help(&s, "session log "),
        "  bytes-active    Specify the traffic threshold in bytes for outputting session logs\n  flow-begin      Output logs when sessions are created\n  flow-end        Output logs when sessions are removed\n  packets-active  Specify the traffic threshold in packets for outputting session logs\n  time-active     Specify the time threshold for outputting session logs"
    );
    assert_eq!(
        help(&s, "session log time-active "),
        "  INTEGER<10-120>  Time threshold in minutes, a multiple of 10"
    );
    assert_eq!(
        help(&s, "userlog flow export version "),
        "  1  Version 1.0 (not supported)\n  3  Version 3.0"
    );
    assert_eq!(
        help(&s, "info-center loghost "),
        "  X.X.X.X  IPv4 address of the log host\n  ipv6     Specify an IPv6 address"
    );
    assert!(help(&IF(), "session log enable ipv4 ").contains("  acl       Specify an ACL"));
}

#[test]
fn hosts_and_source_addresses_are_unicast() {
    let e = engine();
    let mut c = system(&e);
    for (line, addr) in [
        ("info-center loghost 0.0.0.0", "0.0.0.0"),
        ("info-center loghost 255.255.255.255", "255.255.255.255"),
        ("info-center loghost ipv6 ff02::1", "ff02::1"),
        ("userlog flow export host 224.0.0.1 port 4000", "224.0.0.1"),
        ("userlog flow export host ipv6 :: port 4000", "::"),
        ("userlog flow export source-ip 0.0.0.0", "0.0.0.0"),
    ] {
        assert_eq!(
            c.line(line).output,
            format!(
                " % {addr} is not a unicast address: a host and a source address must be one.\n"
            ),
            "{line}"
        );
    }
    let r = running(&e);
    assert!(r.export.log_hosts.is_empty() && r.export.flow_hosts.is_empty());
    assert_eq!(r.export.source_ip, None);
}
