//! The receivers the session-log tests use (tests/common/collectors.rs), checked on their own
//! with the export formats' golden files (src/export/golden/): rsyslog over UDP and over TCP
//! with RFC 6587 octet counting, nfcapd/nfdump and tshark for IPFIX, and the test's own flow
//! log 3.0 decoder. Each test fails when the receiver gets nothing or garbage.
//!
//! Needs rsyslog, nfdump and tshark (scripts/test.sh installs them), and root for tshark's
//! capture on `lo`: without them a test fails in CI and says why it skips elsewhere.

mod common;

use common::collectors::flowlog3::{self, Record};
use common::collectors::tshark::{SEVERITY_WARN, TsharkCapture};
use common::collectors::{
    Nfcapd, Rsyslog, UdpCapture, comware_fields, nfdump_reads_initiator_packets, prerequisites,
    sd_params,
};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpStream, UdpSocket};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn golden(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/export/golden")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The messages of a text golden file (lines starting with '#' name the cases).
fn golden_lines(name: &str) -> Vec<String> {
    golden(name)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// A hex golden file's bytes (whitespace and '#' comments ignored).
fn golden_bytes(name: &str) -> Vec<u8> {
    let digits: String = golden(name)
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split_whitespace())
        .collect();
    assert!(
        digits.len().is_multiple_of(2),
        "{name}: odd number of hex digits"
    );
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn send_udp(port: u16, payloads: &[&[u8]]) {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind a sender");
    for p in payloads {
        s.send_to(p, ("127.0.0.1", port)).expect("send a datagram");
    }
}

fn field<'a>(fields: &'a [(String, u16, String)], name: &str) -> &'a str {
    &fields
        .iter()
        .find(|f| f.0 == name)
        .unwrap_or_else(|| panic!("no field {name} in {fields:?}"))
        .2
}

#[test]
fn rsyslog_receives_comware_and_rfc5424_messages_over_udp_intact() {
    if !prerequisites(&["rsyslogd"], false) {
        return;
    }
    let legacy = golden_lines("syslog-infocenter.txt");
    let rfc5424 = golden_lines("syslog-rfc5424.txt");
    let rsyslog = Rsyslog::start(Some(0), None);
    let port = rsyslog.udp_port.expect("a UDP port");
    let sent: Vec<&String> = legacy.iter().chain(&rfc5424).collect();
    send_udp(port, &sent.iter().map(|l| l.as_bytes()).collect::<Vec<_>>());
    let got = rsyslog.wait_messages(sent.len(), WAIT);
    assert_eq!(
        got.len(),
        sent.len(),
        "rsyslog wrote {} of {} messages; its log:\n{}",
        got.len(),
        sent.len(),
        rsyslog.log()
    );
    // Loopback keeps the order of one socket's datagrams, and imudp has one listener.
    for (m, s) in got.iter().zip(&sent) {
        assert_eq!(&m.raw, *s, "the raw message arrived intact");
    }

    // The first legacy line: "<190>Dec  1 08:15:43 2019 FW-F1050 %%10SESSION/6/...".
    let m = &got[0];
    assert_eq!((m.pri.as_str(), m.version.as_str()), ("190", "0"));
    assert_eq!(
        m.hostname, "FW-F1050",
        "the year after the time is not the host"
    );
    assert!(
        m.timestamp.starts_with("2019-12-01T08:15:43"),
        "{}",
        m.timestamp
    );
    let f = comware_fields(&m.msg);
    assert_eq!(f.len(), 21, "{f:?}");
    assert_eq!(f[0], ("Protocol".into(), 1001, "TCP".into()));
    assert_eq!(f[20], ("Event".into(), 1048, "(8)Session created".into()));
    assert_eq!(field(&f, "SrcIPAddr"), "192.168.187.12");
    assert_eq!(field(&f, "SrcPort"), "40912");
    assert_eq!(field(&f, "DstIPAddr"), "47.95.12.238");
    assert_eq!(field(&f, "DstPort"), "80");
    assert_eq!(field(&f, "InitPktCount"), "1");
    assert_eq!(field(&f, "InitByteCount"), "60");
    assert_eq!(field(&f, "BeginTime_e"), "12012019081543");
    assert_eq!(field(&f, "EndTime_e"), "");

    // Every legacy message's text parses back; the end log carries its counters and times.
    let end = got
        .iter()
        .take(legacy.len())
        .map(|m| comware_fields(&m.raw[m.raw.find("%%").expect("%% tag")..]))
        .find(|f| field(f, "Event") == "(1)Normal over")
        .expect("an end log");
    assert_eq!(
        [
            field(&end, "InitPktCount"),
            field(&end, "InitByteCount"),
            field(&end, "RplyPktCount"),
            field(&end, "RplyByteCount"),
            field(&end, "BeginTime_e"),
            field(&end, "EndTime_e"),
        ],
        ["7", "901", "5", "3212", "12012019081051", "12012019081543"]
    );

    // The RFC 5424 messages: rsyslog's RFC 5424 parser reads every header field and the
    // structured data, which carries the same values as the text.
    let m = &got[legacy.len()];
    assert_eq!(
        (
            m.version.as_str(),
            m.hostname.as_str(),
            m.app.as_str(),
            m.msgid.as_str()
        ),
        ("1", "FW-F1050", "SESSION", "SESSION_IPV4_FLOW")
    );
    assert_eq!(m.timestamp, "2019-12-01T08:15:43.000Z");
    let (id, params) = sd_params(&m.sd);
    assert_eq!(id, "session@25506");
    let text = comware_fields(&m.msg);
    assert_eq!(
        params,
        text.iter()
            .map(|(n, _, v)| (n.clone(), v.clone()))
            .collect::<Vec<_>>(),
        "structured data and text agree"
    );
    let v6 = &got[sent.len() - 1];
    assert_eq!(v6.msgid, "SESSION_IPV6_FLOW");
    assert_eq!(
        field(&comware_fields(&v6.msg), "SrcIPv6Addr"),
        "2001:db8:0:1::10"
    );
}

#[test]
fn rsyslog_receives_octet_counted_messages_over_tcp_intact() {
    if !prerequisites(&["rsyslogd"], false) {
        return;
    }
    let frames = golden_lines("syslog-rfc6587.txt");
    // RFC 6587 §3.4.1: MSG-LEN SP SYSLOG-MSG, the length in octets.
    let bodies: Vec<&str> = frames
        .iter()
        .map(|f| {
            let (len, body) = f.split_once(' ').expect("MSG-LEN SP");
            assert_eq!(len.parse::<usize>().ok(), Some(body.len()), "{f}");
            body
        })
        .collect();
    // Another address than 127.0.0.1, as a test's collector link would have.
    let addr = Ipv4Addr::new(127, 0, 0, 2);
    let rsyslog = Rsyslog::start_on(addr, None, Some(0));
    let mut tcp = TcpStream::connect((addr, rsyslog.tcp_port.expect("a TCP port")))
        .expect("connect to rsyslog");
    // The frames back to back with no newline: only the octet counts delimit them.
    tcp.write_all(frames.concat().as_bytes())
        .expect("send the frames");
    drop(tcp);
    let got = rsyslog.wait_messages(bodies.len(), WAIT);
    assert_eq!(
        got.iter().map(|m| m.raw.as_str()).collect::<Vec<_>>(),
        bodies,
        "rsyslog's log:\n{}",
        rsyslog.log()
    );
    let rfc5424: Vec<_> = got.iter().filter(|m| m.version == "1").collect();
    assert!(!rfc5424.is_empty(), "the golden holds RFC 5424 frames");
    for m in rfc5424 {
        assert_eq!(
            (m.hostname.as_str(), m.app.as_str()),
            ("FW-F1050", "SESSION")
        );
        let (_, params) = sd_params(&m.sd);
        let text = comware_fields(&m.msg);
        assert_eq!(params.len(), text.len());
        assert_eq!(params.last().map(|p| p.0.as_str()), Some("Event"));
    }
}

/// What the two IPFIX golden messages hold (src/export/ipfix.rs tests): ipfix-first.hex one
/// TCP record (ended, http), ipfix-later.hex the same TCP flow aged out (dns) and a UDP/IPv6
/// creation, all with initiator 7 packets 1234 bytes, responder 5 packets 56789 bytes.
const V4_SRC: Ipv4Addr = Ipv4Addr::new(192, 168, 187, 12);
const V4_DST: Ipv4Addr = Ipv4Addr::new(47, 95, 12, 238);

fn v6(s: &str) -> IpAddr {
    s.parse::<Ipv6Addr>().expect("an IPv6 address").into()
}

#[test]
fn nfcapd_stores_the_golden_ipfix_and_nfdump_lists_both_directions() {
    if !prerequisites(&["nfcapd", "nfdump"], false) {
        return;
    }
    let mut nfcapd = Nfcapd::start(0);
    send_udp(
        nfcapd.port,
        &[
            &golden_bytes("ipfix-first.hex"),
            &golden_bytes("ipfix-later.hex"),
        ],
    );
    // nfcapd has no "received" signal of its own: give loopback delivery a moment before
    // SIGTERM, which makes it write what it holds.
    std::thread::sleep(Duration::from_millis(500));
    let mut rows = nfcapd.records();
    assert_eq!(rows.len(), 3, "nfcapd:\n{}\nrows: {rows:?}", nfcapd.log());
    rows.sort_by_key(|r| (r.proto.clone(), r.first.clone()));
    // initiatorPackets/responderPackets are all the golden has for packets.
    let (in_pkts, out_pkts) = if nfdump_reads_initiator_packets() {
        (7, 5)
    } else {
        (0, 0)
    };
    for r in &rows[..2] {
        assert_eq!(
            (r.proto.as_str(), r.src, r.src_port, r.dst, r.dst_port),
            ("TCP", V4_SRC.into(), 40912, V4_DST.into(), 80)
        );
        assert_eq!(
            (r.first.as_str(), r.last.as_str()),
            ("2019-12-01 08:15:43", "2019-12-01 08:15:50")
        );
        assert_eq!((r.input_if, r.output_if), (1, 2));
    }
    let r = &rows[2];
    assert_eq!(
        (r.proto.as_str(), r.src, r.src_port, r.dst, r.dst_port),
        ("UDP", v6("2001:db8::1"), 5353, v6("2001:db8::53"), 53)
    );
    for r in &rows {
        // Both directions' bytes: octetTotalCount and its RFC 5103 reverse.
        assert_eq!((r.in_bytes, r.out_bytes), (1234, 56789), "{r:?}");
        assert_eq!((r.in_packets, r.out_packets), (in_pkts, out_pkts), "{r:?}");
    }
    // nfdump's own statistics of the file agree.
    let stat = nfcapd.stat();
    assert!(
        stat.contains("Flows: 3") || stat.contains("Flows:             3"),
        "{stat}"
    );
}

#[test]
fn tshark_decodes_the_golden_ipfix_without_malformed_packets_or_errors() {
    if !prerequisites(&["tshark"], true) {
        return;
    }
    let port = common::collectors::free_udp_port();
    let capture = TsharkCapture::start(port);
    send_udp(
        port,
        &[
            &golden_bytes("ipfix-first.hex"),
            &golden_bytes("ipfix-later.hex"),
        ],
    );
    let report = capture.finish(2, WAIT);
    assert_eq!(
        (report.packets, report.ipfix_messages),
        (2, 2),
        "{report:?}"
    );
    assert_eq!(report.problems(), Vec::<String>::new(), "{report:?}");
    // The one warning: the two golden messages come from two exporters' runs (the later one
    // follows a message of two records, so its sequence number is 2, not 1). tshark's
    // sequence analysis sees it, which shows the check would see an engine's gap too.
    let warnings: Vec<_> = report.warnings_or_errors();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].severity, SEVERITY_WARN);
    assert!(
        warnings[0]
            .message
            .contains("Unexpected flow sequence for domain ID 42 (expected 1, got 2)"),
        "{warnings:?}"
    );
    assert_eq!(
        report
            .headers
            .iter()
            .map(|h| (h.1, h.2))
            .collect::<Vec<_>>(),
        [(0, 42), (2, 42)]
    );

    assert_eq!(report.flows.len(), 3, "{:?}", report.flows);
    for f in &report.flows {
        assert_eq!(
            (
                f.initiator_octets,
                f.responder_octets,
                f.initiator_packets,
                f.responder_packets
            ),
            (Some(1234), Some(56789), Some(7), Some(5)),
            "{f:?}"
        );
        assert_eq!(
            f.total_octets,
            [1234, 56789],
            "octetTotalCount and its reverse"
        );
        assert_eq!(
            (f.ingress_interface, f.egress_interface),
            (Some(1), Some(2))
        );
    }
    let first = &report.flows[0];
    assert_eq!(first.template, 256);
    assert_eq!(
        (
            first.src,
            first.src_port,
            first.dst,
            first.dst_port,
            first.protocol
        ),
        (
            Some(V4_SRC.into()),
            Some(40912),
            Some(V4_DST.into()),
            Some(80),
            Some(6)
        )
    );
    assert_eq!(
        (first.firewall_event, first.flow_end_reason),
        (Some(2), Some(3)),
        "deleted, end of flow detected"
    );
    assert_eq!(first.application_name.as_deref(), Some("http"));
    assert_eq!(
        first.start.as_deref(),
        Some("Dec  1, 2019 08:15:43.250000000 UTC")
    );
    assert_eq!(
        first.end.as_deref(),
        Some("Dec  1, 2019 08:15:50.750000000 UTC")
    );
    let aged = &report.flows[1];
    assert_eq!(
        (
            aged.firewall_event,
            aged.flow_end_reason,
            aged.application_name.as_deref()
        ),
        (Some(2), Some(1), Some("dns")),
        "deleted, idle timeout"
    );
    let created = &report.flows[2];
    assert_eq!(created.template, 257);
    assert_eq!(
        (
            created.src,
            created.src_port,
            created.dst,
            created.dst_port,
            created.protocol
        ),
        (
            Some(v6("2001:db8::1")),
            Some(5353),
            Some(v6("2001:db8::53")),
            Some(53),
            Some(17)
        )
    );
    assert_eq!(
        (created.firewall_event, created.flow_end_reason),
        (Some(1), Some(0))
    );
    assert_eq!(
        created.application_name, None,
        "an empty name is a zero-length field"
    );
}

/// tshark alone flags none of these (its cflow dissector leaves a bad set out silently); the
/// harness's own length checks must.
#[test]
fn tshark_check_reports_cut_or_broken_ipfix_messages() {
    if !prerequisites(&["tshark"], true) {
        return;
    }
    let whole = golden_bytes("ipfix-first.hex");
    let mut cut = whole[..whole.len() - 20].to_vec();
    // The same, with the header's length made to match: only the data set is short.
    let mut cut_consistent = cut.clone();
    let len = (cut_consistent.len() as u16).to_be_bytes();
    cut_consistent[2..4].copy_from_slice(&len);
    // The template set's length points past the message's end.
    let mut long_set = whole.clone();
    long_set[18..20].copy_from_slice(&400u16.to_be_bytes());
    // Version 11: not IPFIX.
    let mut v11 = whole.clone();
    v11[1] = 11;
    for (what, bytes) in [
        ("cut short", &mut cut),
        ("cut short, header length matching", &mut cut_consistent),
        ("set length past the end", &mut long_set),
        ("version 11", &mut v11),
    ] {
        let port = common::collectors::free_udp_port();
        let capture = TsharkCapture::start(port);
        send_udp(port, &[bytes]);
        let report = capture.finish(1, WAIT);
        assert_eq!(report.packets, 1, "{what}: {report:?}");
        assert!(
            !report.problems().is_empty(),
            "{what} must be reported: {report:?}"
        );
    }
}

#[test]
fn flowlog3_decoder_reads_the_golden_datagrams_received_over_udp() {
    let receiver = UdpCapture::bind();
    let (v4, v6_bytes) = (
        golden_bytes("flowlog-ipv4.hex"),
        golden_bytes("flowlog-ipv6.hex"),
    );
    send_udp(receiver.port, &[&v4, &v6_bytes]);
    let got = receiver.wait_datagrams(2, WAIT);
    assert_eq!(got, [v4, v6_bytes], "both datagrams, intact");

    let (h, records) = flowlog3::decode(&got[0]).expect("the IPv4 datagram decodes");
    assert_eq!(
        h,
        flowlog3::Header {
            version: 3,
            log_type: 4,
            count: 2,
            second: 1_575_188_144,
            sequence: 0,
            chassis: 0,
            slot: 0,
            cpu: 0
        }
    );
    let [Record::V4(created), Record::V4(ended)] = records.as_slice() else {
        panic!("two IPv4 records: {records:?}");
    };
    let (a, b) = (Ipv4Addr::new(192, 168, 187, 12), V4_DST);
    assert_eq!(
        (
            created.protocol,
            created.operator,
            created.ip_version,
            created.tos
        ),
        (6, 8, 4, 0),
        "TCP, session created"
    );
    assert_eq!(
        (created.src, created.src_nat, created.dst, created.dst_nat),
        (a, a, b, b)
    );
    assert_eq!(
        (
            created.src_port,
            created.src_nat_port,
            created.dst_port,
            created.dst_nat_port
        ),
        (40912, 40912, 80, 80)
    );
    assert_eq!(
        (
            created.start_time,
            created.end_time,
            created.in_packets,
            created.in_bytes,
            created.out_packets,
            created.out_bytes
        ),
        (1_575_188_143, 0, 1, 60, 0, 0)
    );
    assert_eq!(
        (ended.operator, ended.tos, ended.src, ended.src_port),
        (1, 0x10, Ipv4Addr::new(192, 168, 187, 13), 40914),
        "normal over"
    );
    assert_eq!(
        (
            ended.start_time,
            ended.end_time,
            ended.in_packets,
            ended.in_bytes,
            ended.out_packets,
            ended.out_bytes
        ),
        (1_575_187_851, 1_575_188_143, 10, 1200, 8, 9000)
    );
    assert_eq!(
        (
            ended.in_vpn,
            ended.out_vpn,
            ended.vsystem,
            ended.app_id,
            ended.reserved
        ),
        (0, 0, 0, 0, 0)
    );

    let (h, records) = flowlog3::decode(&got[1]).expect("the IPv6 datagram decodes");
    assert_eq!(
        (
            h.log_type, h.count, h.second, h.sequence, h.chassis, h.slot, h.cpu
        ),
        (5, 1, 1_575_188_200, 0, 1, 2, 3)
    );
    let [Record::Nat66(aged)] = records.as_slice() else {
        panic!("one NAT66 record: {records:?}");
    };
    assert_eq!(
        (
            aged.protocol,
            aged.operator,
            aged.ip_version,
            aged.traffic_class
        ),
        (17, 2, 6, 0xb8),
        "UDP, aged out"
    );
    assert_eq!(
        (aged.src, aged.dst, aged.src_port, aged.dst_port),
        (
            "2001:db8::1".parse::<Ipv6Addr>().expect("v6"),
            "2001:db8:0:1::2".parse::<Ipv6Addr>().expect("v6"),
            5353,
            53
        )
    );
    assert_eq!(
        (
            aged.start_time,
            aged.end_time,
            aged.in_packets,
            aged.in_bytes,
            aged.out_packets,
            aged.out_bytes
        ),
        (1_575_188_100, 1_575_188_190, 2, 150, 2, 310)
    );
    assert_eq!(
        (aged.in_vpn, aged.out_vpn, aged.context, aged.app_id),
        (0, 0, 0, 0)
    );
}

#[test]
fn flowlog3_decoder_refuses_what_is_not_flow_log_3() {
    let good = golden_bytes("flowlog-ipv4.hex");
    assert!(flowlog3::decode(&good).is_ok());
    let with = |at: usize, v: u8| {
        let mut b = good.clone();
        b[at] = v;
        b
    };
    for (what, bytes) in [
        ("empty", Vec::new()),
        ("header only", good[..16].to_vec()),
        ("one byte short", good[..good.len() - 1].to_vec()),
        ("one byte long", [good.as_slice(), &[0]].concat()),
        ("version 1", with(0, 1)),
        ("log type 7 (AFT, layout not known)", with(1, 7)),
        ("NAT66 type with IPv4 records", with(1, 5)),
        ("count 3 for two records", with(3, 3)),
        ("count 0", with(3, 0)),
        ("IPVersion 6 in an IPv4 record", with(16 + 2, 6)),
    ] {
        assert!(flowlog3::decode(&bytes).is_err(), "{what} must be refused");
    }
    let v6_golden = golden_bytes("flowlog-ipv6.hex");
    let mut v6_bytes = v6_golden.clone();
    v6_bytes[16 + 2] = 4;
    assert!(
        flowlog3::decode(&v6_bytes).is_err(),
        "IPVersion 4 in a NAT66 record"
    );
}
