//! Session logs from `sessmgr replay --startup FILE` to real collectors (issue #12 acceptance):
//! IPFIX into nfcapd (listed by `nfdump -r`) and dissected by tshark, syslog into rsyslog over
//! UDP and TCP in the Comware envelope and in RFC 5424, and flow log 3.0 read back by the
//! tests' own decoder. The logs' counters are compared with the engine's final table, shown
//! by `--exec "display session table ipv4 verbose"`. Then the semantics on virtual time:
//! time-active, bytes-active and packets-active, only the last traffic threshold, counters
//! restarting, flow-begin/flow-end once, ACL selection, and nothing without `session log
//! enable`.

mod common;

use common::collectors::flowlog3::{self, Record};
use common::collectors::tshark::TsharkCapture;
use common::collectors::{
    Nfcapd, Rsyslog, UdpCapture, comware_fields, free_tcp_port_on, free_udp_port, prerequisites,
    sd_params,
};
use common::frames::{udp4, write_pcap_timed};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// (protocol number, source, source port, destination, destination port).
type Tuple = (u8, IpAddr, u16, IpAddr, u16);
/// Initiator packets and bytes, then the responder's.
type Counts = (u64, u64, u64, u64);

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sessmgr-rc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// A synthetic capture from the peers' benchmark generator: TCP with handshakes and FIN
/// closes, UDP and ICMP, every checksum right.
fn bench_capture(dir: &Path) -> Option<PathBuf> {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/make-bench-pcap");
    if !tool.exists() {
        common::skip_or_fail("../shared/tools/make-bench-pcap is not beside the repository");
        return None;
    }
    let out = dir.join("bench.pcap");
    let ok = Command::new(&tool)
        .args(["--flows", "300", "--packets", "3000", "--seed", "3", "-q"])
        .arg(&out)
        .status()
        .expect("make-bench-pcap")
        .success();
    assert!(ok, "make-bench-pcap failed");
    Some(out)
}

/// Replays `cap` under `startup`, running `exec`; the whole stdout.
fn replay(dir: &Path, cap: &Path, startup: &str, exec: &[&str]) -> String {
    replay_on(dir, cap, startup, exec, 1)
}

/// `replay` on `cores` core actors.
fn replay_on(dir: &Path, cap: &Path, startup: &str, exec: &[&str], cores: u16) -> String {
    let file = dir.join("startup.cfg");
    std::fs::write(&file, startup).expect("startup");
    let mut c = Command::new(env!("CARGO_BIN_EXE_sessmgr"));
    c.arg("replay").arg(cap).arg("--startup").arg(&file);
    c.args(["--cores", &cores.to_string()]);
    for e in exec {
        c.args(["--exec", e]);
    }
    let out = c.output().expect("sessmgr replay");
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn addr_port(s: &str) -> (IpAddr, u16) {
    let (a, p) = s.trim().rsplit_once('/').expect("IP/port");
    (a.parse().expect("address"), p.parse().expect("port"))
}

/// The sessions of `display session table ipv4 verbose` with their counters.
fn final_table(out: &str) -> BTreeMap<Tuple, Counts> {
    let mut table = BTreeMap::new();
    let mut lines = out.lines().peekable();
    while let Some(line) = lines.next() {
        if line != "Initiator:" {
            continue;
        }
        let src = addr_port(lines.next().unwrap().split_once(':').unwrap().1);
        let dst = addr_port(lines.next().unwrap().split_once(':').unwrap().1);
        let mut proto = 0u8;
        let mut counts = [0u64; 4];
        for l in lines.by_ref() {
            if let Some(p) = l.trim().strip_prefix("Protocol: ") {
                proto = p
                    .split_once('(')
                    .and_then(|(_, n)| n.trim_end_matches(')').parse().ok())
                    .unwrap_or(proto);
            }
            let nums = |l: &str| -> (u64, u64) {
                let w: Vec<u64> = l
                    .split_whitespace()
                    .filter_map(|t| t.parse().ok())
                    .collect();
                (w[0], w[1])
            };
            if l.starts_with("Initiator->Responder:") {
                (counts[0], counts[1]) = nums(l);
            }
            if l.starts_with("Responder->Initiator:") {
                (counts[2], counts[3]) = nums(l);
                break;
            }
        }
        table.insert(
            (proto, src.0, src.1, dst.0, dst.1),
            (counts[0], counts[1], counts[2], counts[3]),
        );
    }
    table
}

fn proto_number(name: &str) -> u8 {
    match name {
        "TCP" => 6,
        "UDP" => 17,
        "ICMP" => 1,
        other => other.parse().unwrap_or(0),
    }
}

#[test]
fn ipfix_to_nfcapd_and_tshark_carries_the_final_table() {
    if !prerequisites(&["nfcapd", "nfdump", "tshark"], true) {
        return;
    }
    let dir = scratch("ipfix");
    let Some(cap) = bench_capture(&dir) else {
        return;
    };
    let port = free_udp_port();
    let mut nfcapd = Nfcapd::start(port);
    let tshark = TsharkCapture::start(port);
    let out = replay(
        &dir,
        &cap,
        &format!(
            "session statistics enable
session log flow-begin
session log flow-end
interface capture
 session log enable ipv4 inbound
#
userlog flow export host 127.0.0.1 port {port} ipfix
"
        ),
        &[
            "display session table ipv4 verbose",
            "display userlog export",
        ],
    );
    let table = final_table(&out);
    assert!(table.len() >= 250, "{} sessions: {out}", table.len());
    // Every session was created and is still alive at the end: a begin and a final record.
    let expected_records = 2 * table.len();
    let report = tshark.finish(1, Duration::from_secs(10));
    let records = nfcapd.records();
    assert_eq!(records.len(), expected_records, "nfdump: {}", nfcapd.stat());

    // nfdump shows ICMP's identifier and type/code its own way (as a destination "port"
    // computed from the source port field): ICMP sessions are matched by their addresses.
    let key = |t: Tuple| -> Tuple { if t.0 == 1 { (t.0, t.1, 0, t.3, 0) } else { t } };
    let mut by_tuple: BTreeMap<Tuple, Vec<Counts>> = BTreeMap::new();
    for r in &records {
        by_tuple
            .entry(key((
                proto_number(&r.proto),
                r.src,
                r.src_port,
                r.dst,
                r.dst_port,
            )))
            .or_default()
            .push((r.in_packets, r.in_bytes, r.out_packets, r.out_bytes));
    }
    for (tuple, counts) in &table {
        let got = by_tuple
            .get(&key(*tuple))
            .unwrap_or_else(|| panic!("{tuple:?} not in nfdump's list"));
        assert_eq!(got.len(), 2, "{tuple:?}: {got:?}");
        // The final record carries the table's totals (both directions, packets and bytes).
        assert!(
            got.contains(counts),
            "{tuple:?}: table {counts:?}, nfdump {got:?}"
        );
    }
    // tshark: every datagram is IPFIX, nothing malformed, no expert error or warning
    // (sequence numbers continuous), and the same number of records.
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    assert!(
        report.warnings_or_errors().is_empty(),
        "{:?}",
        report.warnings_or_errors()
    );
    assert_eq!(report.flows.len(), expected_records);
    assert!(
        report
            .flows
            .iter()
            .all(|f| matches!(f.firewall_event, Some(1) | Some(2))),
        "created or deleted"
    );
    // The console's account of the host agrees.
    assert!(
        out.contains(&format!(
            "Total logs/UDP packets exported: {expected_records}/"
        )),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn syslog_to_rsyslog_over_udp_and_tcp_in_both_framings() {
    if !prerequisites(&["rsyslogd"], false) {
        return;
    }
    let dir = scratch("syslog");
    let Some(cap) = bench_capture(&dir) else {
        return;
    };
    let (udp, tcp) = (
        free_udp_port(),
        free_tcp_port_on(std::net::Ipv4Addr::LOCALHOST),
    );
    let mut rsyslog = Rsyslog::start(Some(udp), Some(tcp));
    rsyslog.wait_ready();
    let out = replay(
        &dir,
        &cap,
        &format!(
            "sysname FW1
session statistics enable
session log flow-begin
session log flow-end
interface capture
 session log enable ipv4 inbound
#
info-center loghost 127.0.0.1 port {udp}
info-center loghost 127.0.0.1 port {tcp} format rfc5424 transport tcp
userlog flow syslog
"
        ),
        &["display session table ipv4 verbose"],
    );
    let table = final_table(&out);
    let want = 2 * 2 * table.len();
    let msgs = rsyslog.wait_messages(want, Duration::from_secs(20));
    assert_eq!(msgs.len(), want, "rsyslog got {} of {want}", msgs.len());
    let (mut comware, mut rfc5424) = (BTreeMap::new(), BTreeMap::new());
    for m in &msgs {
        // Both carry the same Comware content; RFC 5424 also as structured data.
        let content = m
            .raw
            .split_once("Protocol(1001)=")
            .map(|(_, rest)| format!("Protocol(1001)={rest}"))
            .unwrap_or_else(|| panic!("no Comware content: {}", m.raw));
        let f = comware_fields(&content);
        let get = |name: &str| -> String {
            f.iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, _, v)| v.clone())
                .unwrap_or_else(|| panic!("{name} missing: {content}"))
        };
        let tuple: Tuple = (
            proto_number(&get("Protocol")),
            get("SrcIPAddr").parse().unwrap(),
            get("SrcPort").parse().unwrap(),
            get("DstIPAddr").parse().unwrap(),
            get("DstPort").parse().unwrap(),
        );
        let counts: Counts = (
            get("InitPktCount").parse().unwrap(),
            get("InitByteCount").parse().unwrap(),
            get("RplyPktCount").parse().unwrap(),
            get("RplyByteCount").parse().unwrap(),
        );
        let event = get("Event");
        assert_eq!(get("BeginTime_e").len(), 14, "MMDDYYYYhhmmss: {content}");
        let ends = event.starts_with("(3)");
        assert!(event.starts_with("(8)") || ends, "{event}");
        assert_eq!(get("EndTime_e").is_empty(), !ends, "{content}");
        let which = if m.version == "1" {
            // RFC 5424: the SD-ID and the same values as structured data.
            let (id, params) = sd_params(&m.sd);
            assert_eq!(id, "session@25506");
            assert!(
                params
                    .iter()
                    .any(|(k, v)| k == "SrcPort" && *v == tuple.2.to_string())
            );
            assert_eq!(m.hostname, "FW1");
            &mut rfc5424
        } else {
            assert!(
                m.raw.starts_with("<190>"),
                "local7, informational: {}",
                m.raw
            );
            assert!(
                m.raw.contains(" FW1 %%10SESSION/6/SESSION_IPV4_FLOW: "),
                "{}",
                m.raw
            );
            &mut comware
        };
        which
            .entry(tuple)
            .or_insert_with(Vec::new)
            .push((event[..3].to_string(), counts));
    }
    for logs in [&comware, &rfc5424] {
        assert_eq!(logs.len(), table.len());
        for (tuple, counts) in &table {
            let l = &logs[tuple];
            assert_eq!(l.len(), 2, "{tuple:?}: {l:?}");
            assert!(l.iter().any(|(e, _)| e == "(8)"));
            assert!(
                l.contains(&("(3)".to_string(), *counts)),
                "{tuple:?}: {l:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

const S_US: u64 = 1_000_000;
const T0_US: u64 = 1_700_000_000 * S_US;

fn flowlog_records(rx: &UdpCapture) -> Vec<flowlog3::Ipv4Record> {
    let mut out = Vec::new();
    for d in rx.datagrams() {
        let (h, recs) = flowlog3::decode(&d).expect("flow log 3.0");
        assert_eq!(h.version, 3);
        for r in recs {
            let Record::V4(r) = r else {
                panic!("IPv6 {r:?}")
            };
            out.push(r);
        }
    }
    out
}

/// Waits until the receiver has what the replay sent (the replay has exited: it is all
/// on its way on loopback).
fn settle(rx: &UdpCapture, n: usize) {
    let _ = rx.wait_datagrams(n, Duration::from_secs(5));
}

#[test]
fn thresholds_begin_end_and_acl_on_virtual_time() {
    let dir = scratch("semantics");
    let (c, s, other) = ([198, 18, 0, 1], [198, 19, 0, 2], [198, 18, 0, 9]);
    let mut frames = Vec::new();
    // A: a datagram every 30 s for 25 minutes (alive throughout): time-active fires at 10 and
    // 20 minutes.
    for k in 0..=50u64 {
        frames.push((T0_US + k * 30 * S_US, udp4(c, 5001, s, 5001, b"a")));
    }
    // B: 3,200 datagrams of 1,000 bytes of payload in the first 32 s: 3.3 MB, three
    // bytes-active logs; then it ages out (UDP-OPEN, set to 120 s so that A lives between its
    // datagrams) and its end is logged as aged out.
    for k in 0..3200u64 {
        frames.push((T0_US + k * 10_000, udp4(c, 5002, s, 5002, &[0u8; 1000])));
    }
    // C: from a source the ACL does not permit: never logged.
    for k in 0..10u64 {
        frames.push((T0_US + k * S_US, udp4(other, 5003, s, 5003, &[0u8; 1000])));
    }
    frames.sort_by_key(|f| f.0);
    let cap = dir.join("timed.pcap");
    write_pcap_timed(&cap, frames);

    let rx = UdpCapture::bind();
    let startup = format!(
        "session statistics enable
session aging-time state udp-open 120
session log flow-begin
session log flow-end
session log time-active 10
session log packets-active 1
session log bytes-active 1
acl basic 2001
 rule 0 permit source 198.18.0.1 0
#
interface capture
 session log enable ipv4 acl 2001 inbound
#
userlog flow export host 127.0.0.1 port {}
",
        rx.port
    );
    let out = replay(&dir, &cap, &startup, &["display userlog export"]);
    settle(&rx, 1);
    let recs = flowlog_records(&rx);
    let ops = |port: u16| -> Vec<(u8, u32, u64)> {
        recs.iter()
            .filter(|r| r.src_port == port)
            .map(|r| {
                (
                    r.operator,
                    r.end_time,
                    u64::from(r.in_bytes) + u64::from(r.out_bytes),
                )
            })
            .collect()
    };
    let t0 = (T0_US / S_US) as u32;
    // A: begin, active at 10 and 20 minutes (stamped with capture time), final at the end.
    let a = ops(5001);
    let a_ops: Vec<u8> = a.iter().map(|x| x.0).collect();
    assert_eq!(a_ops, [8, 6, 6, 3], "{a:?}");
    // B: begin, three active logs as each megabyte was crossed (only bytes-active applies:
    // a million packets were never reached, and it was replaced), then aged out (2).
    let b = ops(5002);
    let b_ops: Vec<u8> = b.iter().map(|x| x.0).collect();
    assert_eq!(b_ops, [8, 6, 6, 6, 2], "{b:?}");
    let crossed: Vec<u64> = b[1..4].iter().map(|x| x.2 / 1_000_000).collect();
    assert_eq!(crossed, [1, 2, 3], "each at the next megabyte: {b:?}");
    assert!(b[4].1 > t0 + 32 + 120, "aged out after its 120 s: {b:?}");
    // C: nothing.
    assert!(ops(5003).is_empty());
    assert!(out.contains("Total logs/UDP packets exported: 9/"), "{out}");

    // Nothing without `session log enable`, whatever else is configured.
    let rx2 = UdpCapture::bind();
    let none = startup
        .replace(" session log enable ipv4 acl 2001 inbound\n", "")
        .replace(&format!("port {}", rx.port), &format!("port {}", rx2.port));
    let out = replay(&dir, &cap, &none, &["display userlog export"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(rx2.datagrams().is_empty());
    assert!(
        out.contains("Total logs/UDP packets exported: 0/0"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn packets_active_fires_at_each_million_packets() {
    let dir = scratch("packets");
    let (c, s) = ([198, 18, 0, 1], [198, 19, 0, 2]);
    let cap = dir.join("mpkts.pcap");
    // 2.1 million datagrams of one flow, 1 µs apart.
    write_pcap_timed(
        &cap,
        (0..2_100_000u64).map(|k| (T0_US + k, udp4(c, 7, s, 7, b""))),
    );
    let rx = UdpCapture::bind();
    let out = replay(
        &dir,
        &cap,
        &format!(
            "session statistics enable
session log bytes-active 1000
session log packets-active 1
interface capture
 session log enable ipv4 inbound
#
userlog flow export host 127.0.0.1 port {}
",
            rx.port
        ),
        &[],
    );
    settle(&rx, 1);
    let recs = flowlog_records(&rx);
    let got: Vec<(u8, u32)> = recs.iter().map(|r| (r.operator, r.in_packets)).collect();
    // Two active logs at 1M and 2M packets, then the final record at the end.
    assert_eq!(
        got,
        [(6, 1_000_000), (6, 2_000_000), (3, 2_100_000)],
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// One core (the batched path) and two core actors (a dispatcher, a log thread) send the same
/// logs: each session's records, with the same counters and codes.
#[test]
fn one_core_and_two_cores_send_the_same_logs() {
    let dir = scratch("cores");
    let Some(cap) = bench_capture(&dir) else {
        return;
    };
    let mut seen = Vec::new();
    for cores in [1u16, 2] {
        let rx = UdpCapture::bind();
        replay_on(
            &dir,
            &cap,
            &format!(
                "session statistics enable
session log flow-begin
session log flow-end
interface capture
 session log enable ipv4 inbound
#
userlog flow export host 127.0.0.1 port {}
",
                rx.port
            ),
            &[],
            cores,
        );
        settle(&rx, 1);
        let mut recs: Vec<String> = flowlog_records(&rx)
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}:{} {}:{} {}/{} {}/{} {} {}",
                    r.operator,
                    r.protocol,
                    r.src,
                    r.src_port,
                    r.dst,
                    r.dst_port,
                    r.in_packets,
                    r.in_bytes,
                    r.out_packets,
                    r.out_bytes,
                    r.start_time,
                    r.end_time
                )
            })
            .collect();
        recs.sort();
        assert!(recs.len() >= 500, "{cores} cores: {} records", recs.len());
        seen.push(recs);
    }
    assert_eq!(seen[0], seen[1]);
    let _ = std::fs::remove_dir_all(&dir);
}
