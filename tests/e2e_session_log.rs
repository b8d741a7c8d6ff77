//! Session logs from the live inline engine (issue #12): real traffic between two namespaces
//! through `sessmgr run` on AF_PACKET, flow logs to a collector the test runs on a link to the
//! engine's namespace, decoded with the test's own flow log 3.0 decoder (not the engine's).
//!
//! Checked: selection by interface, direction and ACL; flow-begin and flow-end exactly once
//! per session; bytes-active firing as the bytes cross each megabyte, with only the last
//! traffic threshold in force; and the engine's per-host accounting at SIGTERM. Then the
//! collector's faults: absent (ICMP refused), a TCP collector stopped and started again, and
//! one that never reads.

mod common;

use common::collectors::flowlog3::{self, Record};
use common::lab::{H1_V4, H2_V4, Lab, dump, ns_out, prerequisites};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

/// Sends `n` UDP datagrams from the namespace's host to `dst:port` from source port `sport`.
const UDP_SEND: &str = "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('',int(sys.argv[3])))\nfor _ in range(int(sys.argv[4])): s.sendto(b'x'*100,(sys.argv[1],int(sys.argv[2])))\n";

fn udp(lab: &Lab, ns: &str, dst: &str, dport: u16, sport: u16, n: u32) {
    let out = ns_out(
        ns,
        &[
            "python3",
            "-c",
            UDP_SEND,
            dst,
            &dport.to_string(),
            &sport.to_string(),
            &n.to_string(),
        ],
    );
    assert!(
        out.status.success(),
        "udp send: {out:?} {}",
        lab.dir.display()
    );
}

fn collector(stats: &Value) -> Value {
    stats["collectors"][0].clone()
}

fn counter(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

fn drops(v: &Value) -> u64 {
    v["drops"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum())
}

fn drain(sock: &UdpSocket) -> Vec<Vec<u8>> {
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::new();
    while let Ok(n) = sock.recv(&mut buf) {
        out.push(buf[..n].to_vec());
    }
    out
}

type Tuple = (u8, String, u16, String, u16);

/// The number after the first `key` in an exit-report line.
fn number_after(line: &str, key: &str) -> u64 {
    line.split(key)
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{key} in {line}"))
}

#[test]
fn live_inline_selection_thresholds_and_accounting() {
    if !prerequisites(&["ip", "ethtool", "curl", "python3"]) {
        return;
    }
    let mut lab = Lab::new("slog");
    lab.static_neighbours();
    let coll = lab.collector_link();
    let rx = UdpSocket::bind((coll.as_str(), 0)).expect("collector socket");
    let port = rx.local_addr().expect("port").port();
    let h2 = lab.h2.clone();
    lab.http_server(&h2);
    // 3.5 MB to download: three bytes-active logs on the way.
    let file = lab.dir.join("big.bin");
    std::fs::write(&file, vec![7u8; 3_500_000]).expect("file");
    // packets-active first, then bytes-active: only the last applies (§9.2). Sessions that
    // leave by fwb (came in on fwa, from h1) and that ACL 3001 permits are logged.
    lab.write_startup(&format!(
        "sysname FW
session statistics enable
session log flow-begin
session log flow-end
session log packets-active 1
session log bytes-active 1
session aging-time state fin 2
session aging-time state udp-open 2
session aging-time state udp-ready 2
acl advanced 3001
 rule 0 permit tcp destination-port eq 8080
 rule 5 permit udp destination-port eq 5001
#
interface fwb
 session log enable ipv4 acl 3001 outbound
#
userlog flow export host {coll} port {port}
"
    ));
    let socket = lab.start_engine_with("slog", "statistics_enable = true\n", 2);
    let pid = lab.engine_pid().expect("pid");

    // The web server needs a moment; the first fetch that works is the measured one.
    let url = format!("http://{H2_V4}:8080{}", file.display());
    let deadline = Instant::now() + Duration::from_secs(20);
    let got = loop {
        let out = ns_out(
            &lab.h1,
            &[
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{size_download}",
                &url,
            ],
        );
        let n: u64 = String::from_utf8_lossy(&out.stdout).parse().unwrap_or(0);
        if out.status.success() && n == 3_500_000 {
            break n;
        }
        assert!(Instant::now() < deadline, "no download through the engine");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(got, 3_500_000);
    udp(&lab, &lab.h1, H2_V4, 5001, 41001, 5); // logged
    udp(&lab, &lab.h1, H2_V4, 5002, 41002, 5); // not: the ACL denies it
    udp(&lab, &lab.h2, H1_V4, 5001, 41003, 5); // not: it leaves by fwa
    // Every session ages out (2 s), and its end is logged.
    std::thread::sleep(Duration::from_secs(6));
    let stats = dump(&socket, "stats");
    let host = collector(&stats);
    assert_eq!(host["port"].as_u64(), Some(u64::from(port)), "{stats}");
    let datagrams = drain(&rx);
    lab.stop_engine();
    let log = lab.read_log("engine-slog.log");

    // Decode with our own decoder; group by session.
    let mut by_session: BTreeMap<Tuple, Vec<flowlog3::Ipv4Record>> = BTreeMap::new();
    let mut records = 0u64;
    for d in &datagrams {
        let (h, recs) = flowlog3::decode(d).expect("a valid flow log 3.0 datagram");
        assert_eq!(h.version, 3);
        assert_eq!(usize::from(h.count), recs.len());
        for r in recs {
            let Record::V4(r) = r else {
                panic!("an IPv6 record: {r:?}")
            };
            records += 1;
            let k = (
                r.protocol,
                r.src.to_string(),
                r.src_port,
                r.dst.to_string(),
                r.dst_port,
            );
            by_session.entry(k).or_default().push(r);
        }
    }
    // Only the web download (TCP 8080 from h1) and UDP 5001 from h1 were logged; of the
    // web server's retries, each logged session is complete on its own.
    assert!(!by_session.is_empty(), "no logs: {log}");
    for ((proto, src, _, dst, dport), recs) in &by_session {
        assert_eq!(src, H1_V4, "{by_session:?}");
        assert_eq!(dst, H2_V4);
        assert!(
            (*proto == 6 && *dport == 8080) || (*proto == 17 && *dport == 5001),
            "a session the ACL or the direction excludes was logged: {recs:?}"
        );
        let ops: Vec<u8> = recs.iter().map(|r| r.operator).collect();
        assert_eq!(ops.first(), Some(&8), "flow-begin first: {ops:?}");
        assert_eq!(
            ops.iter().filter(|&&o| o == 8).count(),
            1,
            "one flow-begin: {ops:?}"
        );
        let ends: Vec<&u8> = ops.iter().filter(|&&o| o == 1 || o == 2).collect();
        assert_eq!(ends.len(), 1, "one flow-end: {ops:?}");
        assert!(
            matches!(ops.last(), Some(1) | Some(2)),
            "ends last: {ops:?}"
        );
        let end = recs.last().expect("end");
        // Active logs: one per megabyte the session moved (both directions), none on
        // packets (a million packets were not reached, and that threshold was replaced).
        let total = u64::from(end.in_bytes) + u64::from(end.out_bytes);
        let active = ops.iter().filter(|&&o| o == 6).count() as u64;
        assert_eq!(active, total / 1_000_000, "{ops:?}, {total} bytes");
        if *proto == 6 && end.out_bytes > 3_500_000 {
            assert_eq!(active, 3, "the download: three megabytes crossed");
            assert_eq!(*ends[0], 1, "closed by FIN: normal over");
            assert!(end.end_time >= end.start_time);
        }
    }
    assert!(
        by_session
            .keys()
            .any(|(p, _, sp, _, dp)| *p == 17 && *sp == 41001 && *dp == 5001)
    );
    assert!(
        by_session
            .iter()
            .any(|((p, ..), r)| *p == 6 && r.last().is_some_and(|e| e.out_bytes > 3_500_000)),
        "the download was logged"
    );
    // The engine's accounting: every log sent (the collector was there) and counted.
    assert_eq!(counter(&host, "logs"), records, "{host}");
    assert_eq!(counter(&host, "sent"), records, "{host}");
    assert_eq!(drops(&host), 0, "{host}");
    assert_eq!(counter(&host, "datagrams"), datagrams.len() as u64);
    let _ = pid;
}

/// The collector is absent (a closed UDP port: ICMP port unreachable), then comes back:
/// refusals are counted per host, delivery resumes by itself, produced = sent + dropped.
#[test]
fn an_absent_collector_is_counted_and_delivery_resumes() {
    if !prerequisites(&["ip", "ethtool", "python3"]) {
        return;
    }
    let mut lab = Lab::new("slogf");
    lab.static_neighbours();
    let coll = lab.collector_link();
    // A port nothing listens on (bound, read, closed).
    let port = UdpSocket::bind((coll.as_str(), 0))
        .and_then(|s| s.local_addr())
        .expect("port")
        .port();
    lab.write_startup(&format!(
        "session log flow-begin
interface fwa
 session log enable ipv4 inbound
#
userlog flow export host {coll} port {port}
"
    ));
    let socket = lab.start_engine_with("slogf", "", 2);
    // New sessions, spread over time, so each turn of the log actor sends a datagram.
    for round in 0..5u16 {
        udp(&lab, &lab.h1, H2_V4, 6000 + round, 42000 + round, 1);
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let before = collector(&dump(&socket, "stats"));
    let refused = before["drops"]["refused"].as_u64().unwrap_or(0);
    assert!(refused > 0, "refusals counted: {before}");
    assert_eq!(
        counter(&before, "logs"),
        counter(&before, "sent") + drops(&before) + counter(&before, "queued"),
        "{before}"
    );
    // The collector comes back on the same port: the next logs arrive.
    let rx = UdpSocket::bind((coll.as_str(), port)).expect("rebind");
    for round in 0..5u16 {
        udp(&lab, &lab.h1, H2_V4, 6100 + round, 42100 + round, 1);
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let got = drain(&rx);
    assert!(!got.is_empty(), "delivery resumed");
    let after = collector(&dump(&socket, "stats"));
    assert!(
        counter(&after, "sent") > counter(&before, "sent"),
        "{after}"
    );
    lab.stop_engine();
    let log = lab.read_log("engine-slogf.log");
    assert!(
        log.contains("refused"),
        "the exit report names the reason: {log}"
    );
}

/// A TCP syslog collector that is stopped and started again, and one that accepts but never
/// reads: the engine's queue for it stays bounded, what does not fit is counted, the engine
/// keeps forwarding, and delivery resumes when the collector returns.
#[test]
fn tcp_collectors_that_stop_or_never_read_are_bounded_and_counted() {
    if !prerequisites(&["ip", "ethtool", "python3"]) {
        return;
    }
    let mut lab = Lab::new("slogt");
    lab.static_neighbours();
    let coll = lab.collector_link();
    let listener = TcpListener::bind((coll.as_str(), 0)).expect("listen");
    let port = listener.local_addr().expect("port").port();
    lab.write_startup(&format!(
        "session log flow-begin
interface fwa
 session log enable ipv4 inbound
#
info-center loghost {coll} port {port} transport tcp
userlog flow syslog
"
    ));
    let socket = lab.start_engine_with("slogt", "", 2);
    // 1. Connected and read: logs arrive, octet-counted. A log host also receives the
    // information centre's messages (issue #13): the engine's start comes first.
    let (mut conn, _) = listener.accept().expect("the engine connects");
    udp(&lab, &lab.h1, H2_V4, 7000, 43000, 1);
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !text.contains("SESSION_IPV4_FLOW") && Instant::now() < deadline {
        let n = conn.read(&mut buf).expect("a log");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let mut rest = text.as_str();
    let mut messages = Vec::new();
    while !rest.is_empty() {
        let (len, after) = rest.split_once(' ').expect("octet counting: LEN SP MSG");
        let len: usize = len.parse().expect("a length");
        assert!(after.len() >= len, "{text}");
        messages.push(&after[..len]);
        rest = &after[len..];
    }
    assert!(
        messages[0].contains("%%10SESSMGR/5/ENGINE_START: "),
        "{text}"
    );
    assert!(
        messages.iter().any(|m| m.contains("SESSION_IPV4_FLOW")),
        "{text}"
    );
    // 2. Stopped: the connection and the listener go; logs meanwhile are queued, then
    // counted when the queue is full or the engine gives up on them.
    drop(conn);
    drop(listener);
    for i in 0..20u16 {
        udp(&lab, &lab.h1, H2_V4, 7100 + i, 43100 + i, 1);
    }
    std::thread::sleep(Duration::from_millis(800));
    let down = collector(&dump(&socket, "stats"));
    assert_eq!(down["connected"].as_bool(), Some(false), "{down}");
    // 3. Started again on the same port: the engine reconnects (backoff) and delivers.
    let listener = TcpListener::bind((coll.as_str(), port)).expect("listen again");
    listener.set_nonblocking(false).expect("blocking");
    let (mut conn, _) = listener.accept().expect("reconnected");
    udp(&lab, &lab.h1, H2_V4, 7200, 43200, 1);
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut got = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !got.contains("DstPort(1008)=7200") && Instant::now() < deadline {
        let n = conn.read(&mut buf).unwrap_or(0);
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        got.contains("DstPort(1008)=7200"),
        "delivery resumed: {got}"
    );
    // 4. Never reads: a flood of new sessions (hping3 if present, else python) fills the
    // kernel's buffers and then the engine's bounded queue; the rest is counted.
    let flood = Command::new("ip")
        .args(["netns", "exec", &lab.h1, "python3", "-c"])
        .arg("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor p in range(20000): s.sendto(b'x',(sys.argv[1],1024+p))\n")
        .arg(H2_V4)
        .status()
        .expect("flood");
    assert!(flood.success());
    std::thread::sleep(Duration::from_secs(2));
    let slow = collector(&dump(&socket, "stats"));
    let stats = dump(&socket, "stats");
    eprintln!(
        "never-reading collector: {slow}; engine frames {}",
        stats["frames"]
    );
    assert_eq!(
        counter(&slow, "logs"),
        counter(&slow, "sent") + drops(&slow) + counter(&slow, "queued"),
        "{slow}"
    );
    // Every session the engine created was logged (h2 only answers), sent or counted; and
    // so were the information centre's three messages meanwhile: the engine's start, the
    // host lost, and back (no alarm is enabled, the table never full).
    assert_eq!(
        counter(&slow, "logs"),
        counter(&stats, "created") + 3,
        "{slow} {stats}"
    );
    lab.stop_engine();
    drop(conn);
    let log = lab.read_log("engine-slogt.log");
    assert!(!log.contains("panicked"), "{log}");
}

/// SIGTERM while hping3 floods new sessions and every one is logged: at exit, for the host,
/// logs = sent + dropped (by reason), and the engine's events produced = delivered + dropped.
#[test]
fn sigterm_under_load_accounts_for_every_log() {
    if !prerequisites(&["ip", "ethtool", "hping3"]) {
        return;
    }
    let mut lab = Lab::new("slogs");
    lab.static_neighbours();
    let coll = lab.collector_link();
    let rx = UdpSocket::bind((coll.as_str(), 0)).expect("collector socket");
    let port = rx.local_addr().expect("port").port();
    lab.write_startup(&format!(
        "session log flow-begin
session log flow-end
interface fwa
 session log enable ipv4 inbound
#
userlog flow export host {coll} port {port} ipfix
"
    ));
    let _socket = lab.start_engine_with("slogs", "", 2);
    // New UDP sessions as fast as hping3 makes them (its source port counts up).
    let mut flood = Command::new("ip")
        .args([
            "netns", "exec", &lab.h1, "hping3", "--udp", "--flood", "-p", "9",
        ])
        .arg(H2_V4)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("hping3");
    std::thread::sleep(Duration::from_secs(3));
    lab.stop_engine(); // SIGTERM mid-flood
    let _ = Command::new("kill")
        .args(["-INT", &flood.id().to_string()])
        .status();
    let _ = flood.wait();
    let log = lab.read_log("engine-slogs.log");
    let line = log
        .lines()
        .find(|l| l.contains("collector ") && l.contains("(ipfix): logs "))
        .unwrap_or_else(|| panic!("no collector line at exit: {log}"));
    let num = |key: &str| number_after(line, key);
    let (logs, sent, dropped) = (num("logs "), num("sent "), num("dropped "));
    eprintln!("{line}");
    assert!(logs > 1000, "the flood made sessions: {line}");
    assert_eq!(logs, sent + dropped, "{line}");
    // The reasons add up to the dropped total.
    let reasons: u64 = line
        .split_once('(')
        .and_then(|(_, r)| r.rsplit_once(')'))
        .map(|(inner, _)| inner)
        .into_iter()
        .flat_map(|inner| inner.split(", "))
        .filter_map(|kv| kv.rsplit_once(' ').and_then(|(_, n)| n.parse::<u64>().ok()))
        .sum();
    if dropped > 0 {
        assert_eq!(reasons, dropped, "{line}");
    }
    let stopped = log
        .lines()
        .find(|l| l.contains("sessmgr stopped:"))
        .unwrap_or_else(|| panic!("no exit report: {log}"));
    let n = |key: &str| number_after(stopped, key);
    assert_eq!(
        n("events produced "),
        n("delivered ") + n("dropped "),
        "{stopped}"
    );
    // What the collector got was sent (UDP may lose some on the way; it never gains).
    let got = drain(&rx).len() as u64;
    assert!(got > 0 && got <= num("sent "), "{got} datagrams for {line}");
}

/// packets-active live: one UDP flow of more than a million packets (hping3, a fixed source
/// port) through the inline engine; the active log comes when the session's packets, both
/// directions together, reach a million, and carries that count.
#[test]
fn packets_active_fires_live_at_a_million_packets() {
    if !prerequisites(&["ip", "ethtool", "hping3"]) {
        return;
    }
    let mut lab = Lab::new("slogp");
    lab.static_neighbours();
    let coll = lab.collector_link();
    let rx = UdpSocket::bind((coll.as_str(), 0)).expect("collector socket");
    rx.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let port = rx.local_addr().expect("port").port();
    lab.write_startup(&format!(
        "session statistics enable
session log packets-active 1
interface fwa
 session log enable ipv4 inbound
#
userlog flow export host {coll} port {port}
"
    ));
    let _socket = lab.start_engine_with("slogp", "", 2);
    let mut flood = Command::new("ip")
        .args([
            "netns", "exec", &lab.h1, "hping3", "--udp", "--flood", "-k", "-s", "5555",
        ])
        .args(["-p", "9"])
        .arg(H2_V4)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("hping3");
    // Wait for the active log (the flood runs at 100-500 k packets/s here).
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut active = None;
    let mut buf = vec![0u8; 65_536];
    while active.is_none() && Instant::now() < deadline {
        let Ok(n) = rx.recv(&mut buf) else { continue };
        let (_, recs) = flowlog3::decode(&buf[..n]).expect("flow log 3.0");
        active = recs.into_iter().find_map(|r| match r {
            Record::V4(r) if r.operator == 6 => Some(r),
            _ => None,
        });
    }
    let _ = Command::new("kill")
        .args(["-INT", &flood.id().to_string()])
        .status();
    let _ = flood.wait();
    lab.stop_engine();
    let r = active.expect("no packets-active log within 90 s");
    assert_eq!((r.src_port, r.dst_port, r.protocol), (5555, 9, 17), "{r:?}");
    let total = u64::from(r.in_packets) + u64::from(r.out_packets);
    // Logged at the packet that made it a million (a batch may finish the frames it holds).
    assert!(
        (1_000_000..1_000_300).contains(&total),
        "packets at the active log: {r:?}"
    );
}
