//! Collectors against real sockets on loopback: receivers bound by the tests, datagrams and
//! streams decoded from the formats' published layouts (the flow log's header, IPFIX's message
//! header, RFC 6587 framing), never by the encoders' own code.

use super::*;
use crate::export::config::{FlowHost, LogHost};
use crate::export::syslog::Facility;
use crate::proto::key::{FlowKey, ip_to_addr};
use crate::table::session::DirCounters;
use std::io::Read as _;
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::time::Duration;

const TCP: u8 = 6;
/// Unix ms of 2019-12-01 08:15:43 UTC (reference/comware.md §11.2's example `BeginTime_e`).
const T_2019: u64 = 1_575_188_143_000;
/// A receive that should succeed gives up after this (a safety net, never a measurement).
const RECV_TIMEOUT: Duration = Duration::from_secs(5);

fn localhost() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

/// A logged TCP session event, `n` numbering the source port; the engine clock at `at_ms`.
fn event(kind: EventKind, n: u16, at_ms: u64, closing: bool) -> SessionEvent {
    let (family, src) = ip_to_addr("192.0.2.1".parse().unwrap());
    let (_, dst) = ip_to_addr("198.51.100.7".parse().unwrap());
    SessionEvent {
        kind,
        session: u64::from(n),
        orig: FlowKey {
            src,
            dst,
            sport: 10_000 + n,
            dport: 80,
            proto: TCP,
            family,
            vpn: 0,
        },
        state: 0,
        at_ns: at_ms * 1_000_000,
        log: Some(LogFacts {
            app: apps::identify(TCP, 80),
            counters: [
                DirCounters {
                    packets: 3,
                    bytes: 180,
                },
                DirCounters {
                    packets: 2,
                    bytes: 1500,
                },
            ],
            begin_ms: at_ms.saturating_sub(2_000),
            ports: [0, 1],
            tos: 0,
            closing,
        }),
    }
}

fn created(n: u16) -> SessionEvent {
    event(EventKind::Created, n, 5_000, false)
}

fn log_host(port: u16, format: SyslogFormat, transport: Transport) -> ExportConfig {
    ExportConfig {
        sysname: "FW".into(),
        log_hosts: vec![LogHost {
            addr: localhost(),
            port,
            facility: Facility::Local7,
            format,
            transport,
        }],
        flow_to_syslog: true,
        ..ExportConfig::default()
    }
}

fn flow_host(port: u16, format: FlowFormat) -> ExportConfig {
    ExportConfig {
        flow_hosts: vec![FlowHost {
            addr: localhost(),
            port,
            format,
        }],
        ..ExportConfig::default()
    }
}

fn receiver() -> (UdpSocket, u16) {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(RECV_TIMEOUT)).unwrap();
    let port = rx.local_addr().unwrap().port();
    (rx, port)
}

/// A port nothing listens on (bound, read, released).
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn recv(rx: &UdpSocket) -> Vec<u8> {
    let mut buf = vec![0u8; 65536];
    let n = rx.recv(&mut buf).expect("a datagram");
    buf.truncate(n);
    buf
}

fn only(c: &Collectors) -> HostCounters {
    let v = c.counters();
    assert_eq!(v.len(), 1, "{v:?}");
    v[0].clone()
}

fn assert_accounted(h: &HostCounters) {
    assert_eq!(h.logs, h.sent + h.dropped() + h.queued, "{h:?}");
}

/// RFC 6587 §3.4.1 frames `LEN SP MSG` from `bytes`: the messages, and the bytes of a frame
/// not complete yet.
fn octet_frames(bytes: &[u8]) -> (Vec<String>, usize) {
    let mut msgs = Vec::new();
    let mut at = 0;
    while let Some(sp) = bytes[at..].iter().position(|&b| b == b' ') {
        let len: usize = std::str::from_utf8(&bytes[at..at + sp])
            .expect("ASCII length")
            .parse()
            .expect("a decimal length");
        let start = at + sp + 1;
        if bytes.len() < start + len {
            break;
        }
        msgs.push(String::from_utf8(bytes[start..start + len].to_vec()).expect("UTF-8"));
        at = start + len;
    }
    (msgs, bytes.len() - at)
}

#[test]
fn event_codes_follow_comware() {
    let facts = created(0).log.unwrap();
    let closing = LogFacts {
        closing: true,
        ..facts
    };
    let cases = [
        (EventKind::Created, facts, Some(FlowEvent::Created)),
        (EventKind::Active, facts, Some(FlowEvent::ActiveTimeout)),
        (EventKind::Final, facts, Some(FlowEvent::ResetOrConfig)),
        (
            EventKind::Deleted(CloseReason::Closed),
            facts,
            Some(FlowEvent::NormalOver),
        ),
        (
            EventKind::Deleted(CloseReason::AgedOut),
            facts,
            Some(FlowEvent::AgedOut),
        ),
        (
            EventKind::Deleted(CloseReason::AgedOut),
            closing,
            Some(FlowEvent::NormalOver),
        ),
        (
            EventKind::Deleted(CloseReason::Reset),
            facts,
            Some(FlowEvent::ResetOrConfig),
        ),
        (
            EventKind::Deleted(CloseReason::EarlyDrop),
            facts,
            Some(FlowEvent::TableFull),
        ),
        (EventKind::StateChanged { from: 1 }, facts, None),
    ];
    for (kind, facts, want) in cases {
        assert_eq!(flow_event(kind, &facts), want, "{kind:?} {facts:?}");
    }
}

#[test]
fn application_names_are_the_session_tables() {
    let user = apps::FIRST_USER_APP;
    let mut by_id = vec![String::new(); usize::from(user) + 2];
    by_id[usize::from(user)] = "myapp".into();
    let names = AppNames::new(&by_id);
    assert_eq!(names.name(apps::identify(TCP, 80)), "HTTP");
    assert_eq!(names.name(user), "MYAPP");
    // An id no application has (any more) is OTHER, as in the session table.
    assert_eq!(names.name(user + 1), "OTHER");
    assert_eq!(names.name(user + 2), "OTHER");
}

#[test]
fn syslog_over_udp_carries_the_logs_own_times_and_event() {
    let (rx, port) = receiver();
    // Engine clock 5 s = 2019-12-01 08:15:43 UTC.
    let offset = T_2019 as i64 - 5_000;
    let mut c = Collectors::new(
        log_host(port, SyslogFormat::Comware, Transport::Udp),
        offset,
    );
    c.log(&event(
        EventKind::Deleted(CloseReason::AgedOut),
        1,
        5_000,
        false,
    ));
    c.flush(5_010);
    let msg = String::from_utf8(recv(&rx)).unwrap();
    assert!(
        msg.starts_with("<190>Dec  1 08:15:43 2019 FW %%10SESSION/6/SESSION_IPV4_FLOW: "),
        "{msg}"
    );
    for field in [
        "Protocol(1001)=TCP;",
        "Application(1002)=http;",
        "SrcIPAddr(1003)=192.0.2.1;SrcPort(1004)=10001;",
        "DstIPAddr(1007)=198.51.100.7;DstPort(1008)=80;",
        "InitPktCount(1044)=3;InitByteCount(1046)=180;RplyPktCount(1045)=2;RplyByteCount(1047)=1500;",
        // Begun 2 s before its end, which is the event's time.
        "BeginTime_e(1013)=12012019081541;EndTime_e(1014)=12012019081543;",
        "Event(1048)=(2)Aged for timeout;",
    ] {
        assert!(msg.contains(field), "{field} not in {msg}");
    }
    let h = only(&c);
    assert_eq!((h.logs, h.sent, h.datagrams, h.queued), (1, 1, 1, 0));
}

#[test]
fn state_changes_and_unlogged_events_send_nothing() {
    let (rx, port) = receiver();
    rx.set_nonblocking(true).unwrap();
    let mut c = Collectors::new(flow_host(port, FlowFormat::FlowLog3), 0);
    let mut unlogged = created(1);
    unlogged.log = None;
    c.log(&unlogged);
    c.log(&event(EventKind::StateChanged { from: 1 }, 2, 5_000, false));
    c.flush(5_000);
    let h = only(&c);
    assert_eq!((h.logs, h.datagrams), (0, 0));
    assert_eq!(c.take_unrouted(), 0);
    assert!(rx.recv(&mut [0u8; 64]).is_err(), "nothing was to be sent");
}

#[test]
fn flow_log_datagrams_hold_at_most_100_logs_and_count_them() {
    let (rx, port) = receiver();
    let mut c = Collectors::new(flow_host(port, FlowFormat::FlowLog3), 0);
    for n in 0..150 {
        c.log(&created(n));
    }
    // The 100th log closed the first datagram; the other 50 wait for the end of the turn.
    assert_eq!(only(&c).queued, 50);
    c.flush(6_000);
    let mut records = 0;
    for seq in 0..2u32 {
        let d = recv(&rx);
        // §11.3: Version 3, LogType 4 (IPv4), record count, time, FlowSequence.
        assert_eq!(d[0], 3);
        assert_eq!(d[1], 4);
        let count = usize::from(u16::from_be_bytes([d[2], d[3]]));
        assert_eq!(d.len(), 16 + 64 * count);
        assert_eq!(u32::from_be_bytes([d[8], d[9], d[10], d[11]]), seq);
        // The first record's source address (bytes 4..8 of the record).
        assert_eq!(&d[16 + 4..16 + 8], &[192, 0, 2, 1]);
        records += count;
    }
    assert_eq!(records, 150);
    let h = only(&c);
    assert_eq!((h.logs, h.sent, h.datagrams, h.queued), (150, 150, 2, 0));
}

#[test]
fn ipfix_messages_start_with_templates_and_count_records() {
    let (rx, port) = receiver();
    let mut c = Collectors::new(flow_host(port, FlowFormat::Ipfix), 0);
    for n in 0..10 {
        c.log(&created(n));
    }
    assert_eq!(only(&c).queued, 10);
    c.flush(T_2019);
    let mut logs = 0;
    let mut first = true;
    while logs < 10 {
        let m = recv(&rx);
        // RFC 7011 §3.1: version 10, length, export time, sequence (records before it).
        assert_eq!(u16::from_be_bytes([m[0], m[1]]), 10);
        assert_eq!(usize::from(u16::from_be_bytes([m[2], m[3]])), m.len());
        assert_eq!(
            u32::from_be_bytes([m[4], m[5], m[6], m[7]]),
            (T_2019 / 1000) as u32
        );
        assert_eq!(u32::from_be_bytes([m[8], m[9], m[10], m[11]]), logs);
        // The first set of the first message is the template set (set id 2).
        if first {
            assert_eq!(u16::from_be_bytes([m[16], m[17]]), 2);
            first = false;
        }
        logs = only(&c).sent as u32;
    }
    let h = only(&c);
    assert_eq!((h.logs, h.sent, h.queued), (10, 10, 0));
    assert_eq!(h.datagrams, 1, "ten records fit one message");
}

#[test]
fn refused_udp_port_is_counted_and_delivery_resumes() {
    let port = free_udp_port();
    let mut c = Collectors::new(flow_host(port, FlowFormat::FlowLog3), 0);
    // One datagram per turn: the ICMP port unreachable answering one comes back as
    // ECONNREFUSED on a later one.
    let mut n = 0;
    while only(&c).drop_count(HostDrop::Refused) == 0 && n < 1000 {
        c.log(&created(n));
        c.flush(6_000);
        n += 1;
    }
    let h = only(&c);
    assert!(h.drop_count(HostDrop::Refused) > 0, "{h:?}");
    assert_accounted(&h);

    // The collector comes back on the same port: the same socket delivers again.
    let rx = UdpSocket::bind(("127.0.0.1", port)).unwrap();
    rx.set_read_timeout(Some(RECV_TIMEOUT)).unwrap();
    let sent_before = h.sent;
    loop {
        let refused = only(&c).drop_count(HostDrop::Refused);
        c.log(&created(n));
        c.flush(7_000);
        n += 1;
        // A refusal still pending from before the bind takes one more datagram: send another.
        if only(&c).drop_count(HostDrop::Refused) == refused {
            break;
        }
    }
    let d = recv(&rx);
    assert_eq!(u16::from_be_bytes([d[2], d[3]]), 1);
    let h = only(&c);
    assert_eq!(h.sent, sent_before + 1);
    assert_accounted(&h);
}

fn fast_tuning(queue_bytes: usize) -> TcpTuning {
    TcpTuning {
        queue_bytes,
        backoff_min: Duration::from_millis(2),
        backoff_max: Duration::from_millis(10),
        connect_timeout: Duration::from_secs(5),
    }
}

/// Turns until `done` says so (1 ms apart, at most `RECV_TIMEOUT` in all).
fn turn_until(c: &mut Collectors, done: impl Fn(&HostCounters) -> bool) {
    let deadline = Instant::now() + RECV_TIMEOUT;
    while !done(&only(c)) {
        assert!(Instant::now() < deadline, "{:?}", only(c));
        c.flush(6_000);
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn tcp_host_down_then_up_receives_queued_and_later_logs_framed() {
    let port = free_tcp_port();
    let config = log_host(port, SyslogFormat::Rfc5424, Transport::Tcp);
    let mut c = Collectors::with_tuning(config, 0, fast_tuning(4096));
    // Nobody listens: the queue fills; what does not fit is lost to a host that is down.
    for n in 0..40 {
        c.log(&created(n));
        c.flush(6_000);
    }
    let h = only(&c);
    assert!(!h.connected);
    assert!(h.drop_count(HostDrop::Down) > 0, "{h:?}");
    assert!(h.queued > 0 && h.sent == 0, "{h:?}");
    assert_accounted(&h);

    // The collector starts: the link reconnects by itself and sends the queue, then more.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    turn_until(&mut c, |h| h.connected && h.queued == 0);
    let down = only(&c).drop_count(HostDrop::Down);
    for n in 100..105 {
        c.log(&created(n));
        turn_until(&mut c, |h| h.queued == 0);
    }
    let h = only(&c);
    assert_accounted(&h);
    assert_eq!(h.dropped(), down, "nothing lost once the host is back");
    assert_eq!(h.datagrams, h.sent);

    let (mut peer, _) = listener.accept().unwrap();
    let msgs = read_frames(&mut peer, h.sent as usize);
    for m in &msgs {
        assert!(m.starts_with("<190>1 "), "{m}");
        assert!(m.contains("[session@25506 Protocol=\"TCP\""), "{m}");
    }
    // The last five logs were the ones logged after the collector came back.
    let last = &msgs[msgs.len() - 1];
    assert!(last.contains("SrcPort(1004)=10104;"), "{last}");
}

#[test]
fn slow_tcp_reader_bounds_the_queue_and_counts_queue_full() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let limit = 64 << 10;
    let config = log_host(port, SyslogFormat::Comware, Transport::Tcp);
    let mut c = Collectors::with_tuning(config, 0, fast_tuning(limit));
    turn_until(&mut c, |h| h.connected);
    // Accepted, never read: the kernel's buffers fill, then the queue.
    let (_peer, _) = listener.accept().unwrap();
    let mut n = 0u32;
    while only(&c).drop_count(HostDrop::QueueFull) == 0 && n < 500_000 {
        c.log(&created(n as u16));
        if n.is_multiple_of(64) {
            c.flush(6_000);
        }
        n += 1;
    }
    let h = only(&c);
    assert!(h.drop_count(HostDrop::QueueFull) > 0, "{h:?}");
    assert!(c.hosts[0].tcp_queued_bytes() <= limit);
    assert_accounted(&h);
    // More logs change nothing but the drops.
    for k in 0..1000 {
        c.log(&created(k));
    }
    c.flush(6_000);
    assert!(c.hosts[0].tcp_queued_bytes() <= limit);
    assert_accounted(&only(&c));

    // Shutdown: the reader still reads nothing; the queue is counted, not kept.
    let queued = only(&c).queued;
    let shutdown_before = only(&c).drop_count(HostDrop::Shutdown);
    let h = c
        .finish(Instant::now() + Duration::from_millis(20))
        .remove(0);
    assert_eq!(h.queued, 0);
    assert!(h.drop_count(HostDrop::Shutdown) >= queued.min(1) + shutdown_before);
    assert_accounted(&h);
}

#[test]
fn finish_sends_or_counts_every_log() {
    let (rx, udp_port) = receiver();
    let tcp_port = free_tcp_port();
    let mut config = flow_host(udp_port, FlowFormat::FlowLog3);
    config.log_hosts = log_host(tcp_port, SyslogFormat::Comware, Transport::Tcp).log_hosts;
    let mut c = Collectors::with_tuning(config.clone(), 0, fast_tuning(1 << 20));
    for n in 0..30 {
        c.log(&created(n));
    }
    c.set_config(ExportConfig {
        flow_to_syslog: true,
        ..config
    });
    for n in 30..50 {
        c.log(&created(n));
    }
    // Not flushed: 30 logs in an open flow-log datagram, 20 for a TCP host nobody serves.
    let before = c.counters();
    assert_eq!(before[0].queued, 20);
    assert_eq!(before[1].queued, 30);
    let after = c.finish(Instant::now() + Duration::from_millis(20));
    for h in &after {
        assert_eq!(h.queued, 0, "{h:?}");
        assert_accounted(h);
    }
    assert_eq!(after[0].drop_count(HostDrop::Shutdown), 20);
    assert_eq!((after[1].sent, after[1].datagrams), (30, 1));
    assert_eq!(u16::from_be_bytes(recv(&rx)[2..4].try_into().unwrap()), 30);
}

#[test]
fn routing_and_unrouted_logs() {
    let (rx, port) = receiver();
    rx.set_nonblocking(true).unwrap();
    // No host at all.
    let mut c = Collectors::new(ExportConfig::default(), 0);
    c.log(&created(1));
    assert_eq!(c.take_unrouted(), 1);
    assert_eq!(c.take_unrouted(), 0);
    // `userlog flow syslog` with only a flow-log host: the flow-log host gets nothing.
    let mut config = flow_host(port, FlowFormat::FlowLog3);
    config.flow_to_syslog = true;
    c.set_config(config);
    c.log(&created(2));
    c.flush(6_000);
    assert_eq!(c.take_unrouted(), 1);
    assert_eq!(only(&c).logs, 0);
    assert!(rx.recv(&mut [0u8; 64]).is_err());
}

#[test]
fn unchanged_hosts_keep_their_counters_and_changed_ones_start_afresh() {
    let (_rx, port) = receiver();
    let (_rx2, port2) = receiver();
    let mut config = flow_host(port, FlowFormat::FlowLog3);
    config.flow_hosts.push(FlowHost {
        addr: localhost(),
        port: port2,
        format: FlowFormat::Ipfix,
    });
    let mut c = Collectors::new(config.clone(), 0);
    for n in 0..5 {
        c.log(&created(n));
    }
    c.flush(6_000);
    assert!(c.counters().iter().all(|h| h.sent == 5));
    // The sysname changes (nothing a flow host uses) and the IPFIX host moves: the flow-log
    // host keeps its counters, the IPFIX host is a new one.
    config.sysname = "OTHER".into();
    config.flow_hosts[1].port = port;
    c.set_config(config);
    let v = c.counters();
    assert_eq!((v[0].port, v[0].sent), (port, 5));
    assert_eq!((v[1].port, v[1].sent, v[1].logs), (port, 0, 0));

    // `reset userlog flow export`: counters restart, the invariant still holds.
    c.log(&created(9));
    c.reset_flow_counters();
    for h in c.counters() {
        assert_eq!((h.logs, h.sent, h.queued), (1, 0, 1), "{h:?}");
        assert_accounted(&h);
    }
}

#[test]
fn exit_line_names_the_host_and_every_reason() {
    let mut h = HostCounters {
        addr: localhost(),
        port: 514,
        kind: HostKind::Syslog(SyslogFormat::Comware, Transport::Tcp),
        logs: 10,
        sent: 7,
        datagrams: 7,
        drops: [0; HostDrop::ALL.len()],
        queued: 0,
        connected: false,
    };
    assert_eq!(
        exit_line(&h),
        "collector 127.0.0.1:514 (syslog-tcp): logs 10, sent 7, dropped 0"
    );
    h.drops[HostDrop::ALL
        .iter()
        .position(|&d| d == HostDrop::Down)
        .unwrap()] = 2;
    h.drops[HostDrop::ALL
        .iter()
        .position(|&d| d == HostDrop::Shutdown)
        .unwrap()] = 1;
    assert_eq!(
        exit_line(&h),
        "collector 127.0.0.1:514 (syslog-tcp): logs 10, sent 7, dropped 3 (host_down 2, shutdown 1)"
    );
}

#[test]
fn dump_stats_lists_a_host_with_its_nonzero_drops() {
    let mut h = HostCounters {
        addr: localhost(),
        port: 2055,
        kind: HostKind::Flow(FlowFormat::Ipfix),
        logs: 5,
        sent: 3,
        datagrams: 1,
        drops: [0; HostDrop::ALL.len()],
        queued: 0,
        connected: false,
    };
    h.drops[HostDrop::ALL
        .iter()
        .position(|&d| d == HostDrop::Refused)
        .unwrap()] = 2;
    assert_eq!(
        counters_json(&h),
        serde_json::json!({
            "host": "127.0.0.1", "port": 2055, "kind": "ipfix", "logs": 5, "sent": 3,
            "datagrams": 1, "queued": 0, "connected": false, "drops": {"refused": 2},
        })
    );
}

/// Reads from `peer` until `want` whole frames arrived: the frames.
fn read_frames(peer: &mut std::net::TcpStream, want: usize) -> Vec<String> {
    peer.set_read_timeout(Some(RECV_TIMEOUT)).unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let (msgs, partial) = octet_frames(&bytes);
        if msgs.len() >= want {
            assert_eq!((msgs.len(), partial), (want, 0));
            return msgs;
        }
        let n = peer.read(&mut buf).expect("more frames");
        assert!(n > 0, "the connection ended early");
        bytes.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn tcp_collector_stopped_mid_run_and_started_again_gets_the_logs_in_between() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = log_host(port, SyslogFormat::Comware, Transport::Tcp);
    let mut c = Collectors::with_tuning(config, 0, fast_tuning(1 << 20));
    turn_until(&mut c, |h| h.connected);
    let (mut peer, _) = listener.accept().unwrap();
    for n in 0..3 {
        c.log(&created(n));
    }
    turn_until(&mut c, |h| h.queued == 0);
    assert_eq!(read_frames(&mut peer, 3).len(), 3);

    // The collector stops: the link sees the end of the stream and goes down.
    drop(peer);
    drop(listener);
    turn_until(&mut c, |h| !h.connected);
    for n in 10..13 {
        c.log(&created(n));
    }
    c.flush(6_000);
    let h = only(&c);
    assert_eq!((h.queued, h.dropped()), (3, 0), "{h:?}");

    // It starts again on the same port: the logs logged meanwhile arrive, framed, in order.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    turn_until(&mut c, |h| h.connected && h.queued == 0);
    let (mut peer, _) = listener.accept().unwrap();
    let msgs = read_frames(&mut peer, 3);
    for (m, n) in msgs.iter().zip(10..13) {
        assert!(m.starts_with("<190>"), "{m}");
        assert!(m.contains(&format!("SrcPort(1004)={};", 10_000 + n)), "{m}");
    }
    let h = only(&c);
    assert_eq!(
        (h.logs, h.sent, h.dropped(), h.queued),
        (6, 6, 0, 0),
        "{h:?}"
    );
}
