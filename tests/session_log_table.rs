//! Which sessions the owner core logs, and when (SPEC L1-L3, issue #12 §1): selection by
//! interface, direction and ACL; flow-begin and flow-end exactly once; active-flow logs on
//! time and traffic thresholds, with every threshold restarting after each one. Driven through
//! the pipeline as a core drives it, with time passed in.

mod common;

use common::frames::{tcp4, udp4};
use sessmgr::acl::Acl;
use sessmgr::pipeline::Pipeline;
use sessmgr::proto::frag::FragLimits;
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::{Family, LinkType};
use sessmgr::table::TableConfig;
use sessmgr::table::events::{CloseReason, EventKind, SessionEvent};
use sessmgr::table::log::{LogSelect, PortLog, SessionLogConfig, TrafficThreshold};

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;

fn pipeline(log: SessionLogConfig) -> Pipeline {
    let table = TableConfig {
        statistics: true,
        session_log: log,
        ..TableConfig::default()
    };
    Pipeline::new(0, table, FragLimits::default(), FlowHasher::with_seed(7))
}

/// Two inline ports (0 and 1); `ports[0]` holds what applies to sessions arriving on port 0.
fn on_port0(v4: Vec<LogSelect>) -> Vec<PortLog> {
    vec![PortLog { v4, v6: Vec::new() }, PortLog::default()]
}

fn logs(p: &mut Pipeline) -> Vec<SessionEvent> {
    let mut evs = Vec::new();
    p.shard.take_events(&mut evs);
    evs.into_iter().filter(|e| e.log.is_some()).collect()
}

fn udp(p: &mut Pipeline, port: u8, sport: u16, payload: usize, at: u64) {
    let f = udp4(
        [198, 18, 0, 1],
        sport,
        [198, 19, 0, 2],
        53,
        &vec![0u8; payload],
    );
    p.process_frame_from(LinkType::Ethernet, &f, port, at);
}

fn begin_end() -> SessionLogConfig {
    SessionLogConfig {
        flow_begin: true,
        flow_end: true,
        ports: on_port0(vec![LogSelect::All]),
        ..Default::default()
    }
}

#[test]
fn nothing_is_logged_without_session_log_enable() {
    let mut p = pipeline(SessionLogConfig {
        flow_begin: true,
        flow_end: true,
        time_active_min: 10,
        traffic: Some(TrafficThreshold::Bytes(1)),
        ports: vec![PortLog::default(), PortLog::default()],
    });
    for i in 0..100 {
        udp(&mut p, 0, 1000 + i, 1400, T0 + u64::from(i) * S);
    }
    p.tick(T0 + 3600 * S, usize::MAX);
    assert!(logs(&mut p).is_empty());
    // Enabled, but none of the five global commands: nothing either (newer V7).
    let mut p = pipeline(SessionLogConfig {
        ports: on_port0(vec![LogSelect::All]),
        ..Default::default()
    });
    udp(&mut p, 0, 999, 10, T0);
    p.tick(T0 + 3600 * S, usize::MAX);
    assert!(logs(&mut p).is_empty());
}

#[test]
fn flow_begin_and_flow_end_once_per_session_with_the_reason() {
    let mut p = pipeline(begin_end());
    // A TCP session closed by FIN then aged out of its closing state: (1) normal over.
    let (c, s) = ([198, 18, 0, 1], [198, 19, 0, 2]);
    let frames = [
        (0u8, tcp4(c, 40000, s, 80, 0x02, 1, 0, b"")),
        (1, tcp4(s, 80, c, 40000, 0x12, 100, 2, b"")),
        (0, tcp4(c, 40000, s, 80, 0x10, 2, 101, b"")),
        (0, tcp4(c, 40000, s, 80, 0x11, 2, 101, b"")),
        (1, tcp4(s, 80, c, 40000, 0x11, 101, 3, b"")),
        (0, tcp4(c, 40000, s, 80, 0x10, 3, 102, b"")),
    ];
    for (i, (port, f)) in frames.iter().enumerate() {
        p.process_frame_from(LinkType::Ethernet, f, *port, T0 + i as u64 * 1_000_000);
    }
    // A UDP session that ages out while open: (2) aged out.
    udp(&mut p, 0, 5353, 100, T0);
    for t in 1..=200 {
        p.tick(T0 + t * S, usize::MAX);
    }
    let evs = logs(&mut p);
    let kinds: Vec<(u16, EventKind, bool)> = evs
        .iter()
        .map(|e| (e.orig.sport, e.kind, e.log.is_some_and(|l| l.closing)))
        .collect();
    assert_eq!(
        kinds,
        [
            (40000, EventKind::Created, false),
            (5353, EventKind::Created, false),
            (40000, EventKind::Deleted(CloseReason::AgedOut), true),
            (5353, EventKind::Deleted(CloseReason::AgedOut), false),
        ]
    );
    // The end log carries both directions' totals and the ports.
    let end = evs[2].log.unwrap();
    assert_eq!(end.counters[0].packets, 4);
    assert_eq!(end.counters[1].packets, 2);
    assert_eq!(end.ports, [0, 1]);
    assert_eq!(end.begin_ms, T0 / 1_000_000);
}

#[test]
fn an_acl_logs_only_the_sessions_it_permits() {
    let mut acl = Acl::new(2001, Family::V4).unwrap();
    acl.add_rule("rule permit source 198.18.0.1 0").unwrap();
    let mut p = pipeline(SessionLogConfig {
        flow_begin: true,
        ports: on_port0(vec![LogSelect::Acl(acl)]),
        ..Default::default()
    });
    udp(&mut p, 0, 1, 10, T0);
    let other = udp4([198, 18, 0, 9], 1, [198, 19, 0, 2], 53, b"x");
    p.process_frame_from(LinkType::Ethernet, &other, 0, T0);
    let evs = logs(&mut p);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].orig.src[..4], [198, 18, 0, 1]);
    // An ACL that does not exist selects nothing.
    let mut p = pipeline(SessionLogConfig {
        flow_begin: true,
        ports: on_port0(vec![LogSelect::Nothing]),
        ..Default::default()
    });
    udp(&mut p, 0, 1, 10, T0);
    assert!(logs(&mut p).is_empty());
}

#[test]
fn sessions_are_selected_by_the_port_their_first_packet_came_in_on() {
    // `session log enable ipv4 outbound` on port 1 is resolved to port 0's ingress list (the
    // console does that): a session arriving on port 0 is logged, one arriving on 1 is not.
    let mut p = pipeline(begin_end());
    udp(&mut p, 0, 1, 10, T0);
    udp(&mut p, 1, 2, 10, T0);
    let evs = logs(&mut p);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].orig.sport, 1);
    assert_eq!(evs[0].log.unwrap().ports, [0, 1]);
}

#[test]
fn bytes_active_fires_each_time_and_restarts_the_counters() {
    let mut p = pipeline(SessionLogConfig {
        traffic: Some(TrafficThreshold::Bytes(1)),
        ports: on_port0(vec![LogSelect::All]),
        ..Default::default()
    });
    // 3,000 datagrams of 1,028 bytes (IP length): 3.08 MB, so three active logs.
    for i in 0..3000u64 {
        udp(&mut p, 0, 7, 1000, T0 + i * 1_000_000);
    }
    let evs = logs(&mut p);
    let totals: Vec<u64> = evs
        .iter()
        .map(|e| {
            assert_eq!(e.kind, EventKind::Active);
            e.log.unwrap().counters[0].bytes
        })
        .collect();
    assert_eq!(totals.len(), 3, "{totals:?}");
    for (k, t) in totals.iter().enumerate() {
        // Each at the first packet that reached another megabyte since the last log.
        let at = (k as u64 + 1) * 1_000_000;
        assert!(*t >= at && *t < at + 1028 * (k as u64 + 1), "{totals:?}");
    }
}

#[test]
fn packets_active_fires_at_a_million_packets() {
    let mut p = pipeline(SessionLogConfig {
        traffic: Some(TrafficThreshold::Packets(1)),
        ports: on_port0(vec![LogSelect::All]),
        ..Default::default()
    });
    for i in 0..1_000_001u64 {
        udp(&mut p, 0, 7, 0, T0 + i * 1000);
    }
    let evs = logs(&mut p);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].log.unwrap().counters[0].packets, 1_000_000);
}

#[test]
fn time_active_fires_on_the_engine_clock_and_a_traffic_log_restarts_it() {
    let mut p = pipeline(SessionLogConfig {
        time_active_min: 10,
        traffic: Some(TrafficThreshold::Bytes(1)),
        ports: on_port0(vec![LogSelect::All]),
        ..Default::default()
    });
    // A session kept alive by a packet every 20 s for 25 minutes.
    let mut at = T0;
    let mut active = Vec::new();
    while at <= T0 + 25 * 60 * S {
        udp(&mut p, 0, 9, 10, at);
        p.tick(at, usize::MAX);
        active.extend(logs(&mut p).iter().map(|e| (e.at_ns - T0) / S));
        at += 20 * S;
    }
    assert_eq!(active, [600, 1200]);
    // Now a megabyte at minute 25 + : a traffic log at once, and the next time log 10 minutes
    // after it, not at minute 30.
    let burst = at;
    for i in 0..1000u64 {
        udp(&mut p, 0, 9, 1000, burst + i * 1_000_000);
    }
    let traffic: Vec<u64> = logs(&mut p).iter().map(|e| e.at_ns).collect();
    assert_eq!(traffic.len(), 1);
    let mut next = Vec::new();
    let mut t = burst + S;
    while t < burst + 15 * 60 * S {
        udp(&mut p, 0, 9, 10, t);
        p.tick(t, usize::MAX);
        next.extend(logs(&mut p).iter().map(|e| e.at_ns));
        t += 20 * S;
    }
    assert_eq!(next.len(), 1);
    let gap_s = (next[0] - traffic[0]) / S;
    assert!((600..=601).contains(&gap_s), "{gap_s}");
}

#[test]
fn the_end_of_a_capture_gives_every_logged_session_a_final_record() {
    let mut p = pipeline(SessionLogConfig {
        flow_end: true,
        ports: on_port0(vec![LogSelect::All]),
        ..Default::default()
    });
    udp(&mut p, 0, 1, 10, T0);
    udp(&mut p, 0, 2, 10, T0);
    udp(&mut p, 1, 3, 10, T0);
    assert_eq!(p.shard.log_final(), 2);
    let evs = logs(&mut p);
    assert_eq!(evs.len(), 2);
    assert!(evs.iter().all(|e| e.kind == EventKind::Final));
}

#[test]
fn turning_logging_off_stops_the_logs_of_live_sessions() {
    let mut p = pipeline(begin_end());
    udp(&mut p, 0, 1, 10, T0);
    assert_eq!(logs(&mut p).len(), 1);
    let mut cfg = p.shard.config.clone();
    cfg.session_log = SessionLogConfig::default();
    p.shard.set_config(cfg);
    p.tick(T0 + 3600 * S, usize::MAX);
    assert!(logs(&mut p).is_empty());
}
