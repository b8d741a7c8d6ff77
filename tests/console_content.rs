//! Issue #4 acceptance: on a replay of a capture with known content, `display session table
//! ipv4 verbose` shows each session with the right tuple, state, application, TTL and
//! counters, `Total sessions found: N` equals the number of sessions, and `display session
//! statistics` agrees with the table.
//!
//! The capture is sv-ftp-download-passive.pcap from ../shared/pcaps (read in place): an FTP
//! control connection and three passive-mode data connections, 63 frames in 20 ms, every
//! connection closed (TIME_WAIT) at the end. What is expected comes from beside it:
//! `NAME.oracle-bidirectional.json` (what Linux conntrack did in the engine's default
//! bidirectional mode; its table matches `NAME.oracle.json`'s but for connection ids): the
//! final table gives the sessions, tuples and states; its per-frame verdicts give which
//! frames belong to which connection and direction, so the counters are the frames of the
//! capture counted per connection and direction (bytes: the IPv4 total length, read from the
//! capture itself). The engine plays the capture once, at its recorded pace, with a TIME_WAIT
//! aging time of 100000 s so nothing ages out while the test looks.

mod common;

use common::engine::{console, start_engine_on};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

const CAPTURE: &str = "sv-ftp-download-passive";
const TIME_WAIT_S: u64 = 100_000;

/// One session as expected.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    /// `address/port` of the initiator and responder, as the table prints them.
    initiator: (String, String),
    responder: (String, String),
    proto: String,
    state: String,
    /// Applications the session may show (see `expected`).
    apps: Vec<&'static str>,
    packets: [u64; 2],
    bytes: [u64; 2],
}

/// `key=value` fields of a conntrack line, in order.
fn fields(line: &str) -> Vec<(&str, &str)> {
    line.split_whitespace()
        .filter_map(|t| t.split_once('='))
        .collect()
}

/// The sessions the oracle's final table lists, keyed by conntrack id.
fn expected(oracle: &Value, capture: &Path) -> BTreeMap<u64, Expected> {
    // Frame number -> IPv4 total length (the bytes a session counter counts).
    let mut ip_len = BTreeMap::new();
    sessmgr::io::pcap::for_each_frame(capture, |f| {
        let d = f.data;
        if d.len() >= 18 && d[12..14] == [0x08, 0x00] {
            ip_len.insert(f.number, u64::from(u16::from_be_bytes([d[16], d[17]])));
        }
    })
    .expect("read the capture");
    let mut counters: BTreeMap<u64, ([u64; 2], [u64; 2])> = BTreeMap::new();
    let mut from_expectation = std::collections::BTreeSet::new();
    for p in oracle["packets"].as_array().expect("packets") {
        let (Some(id), Some(dir), Some(frame)) = (
            p["ct_id"].as_u64(),
            p["ct_dir"].as_str(),
            p["frame"].as_u64(),
        ) else {
            continue;
        };
        let i = usize::from(dir == "reply");
        let c = counters.entry(id).or_default();
        c.0[i] += 1;
        c.1[i] += ip_len.get(&frame).copied().expect("an IPv4 frame");
        if p["ct_expected"].as_bool() == Some(true) {
            from_expectation.insert(id);
        }
    }
    let mut out = BTreeMap::new();
    for line in oracle["table"].as_array().expect("table") {
        let line = line.as_str().expect("a table line");
        let words: Vec<&str> = line.split_whitespace().collect();
        let proto = words[2].to_string();
        let f = fields(line);
        let get = |k: &str, nth: usize| {
            f.iter()
                .filter(|(key, _)| *key == k)
                .nth(nth)
                .map(|(_, v)| v.to_string())
                .expect(k)
        };
        let id: u64 = get("id", 0).parse().expect("id");
        let state = match proto.as_str() {
            // `ipv4 2 tcp 6 TIMEOUT STATE ...`: Comware prefixes the protocol (comware.md §4.3).
            "tcp" => format!("TCP_{}", words[5]),
            "udp" if line.contains("[UNREPLIED]") => "UDP_OPEN".into(),
            "udp" => "UDP_READY".into(),
            other => panic!("{CAPTURE}: no expectation written for {other}"),
        };
        // Application (SPEC S5): the kernel ran its FTP helper on the control connection,
        // which the port map names FTP. The data connections (created from the helper's
        // expectations) are on ports the map does not list: the FTP ALG (SPEC R1) links them
        // to their control connection, so they are FTP-DATA.
        let apps = if f.iter().any(|(k, v)| *k == "helper" && *v == "ftp") {
            vec!["FTP"]
        } else if from_expectation.contains(&id) {
            vec!["FTP-DATA"]
        } else {
            vec!["OTHER"]
        };
        let (packets, bytes) = counters.get(&id).copied().unwrap_or_default();
        out.insert(
            id,
            Expected {
                initiator: (
                    format!("{}/{}", get("src", 0), get("sport", 0)),
                    format!("{}/{}", get("dst", 0), get("dport", 0)),
                ),
                responder: (
                    format!("{}/{}", get("src", 1), get("sport", 1)),
                    format!("{}/{}", get("dst", 1), get("dport", 1)),
                ),
                proto,
                state,
                apps,
                packets,
                bytes,
            },
        );
    }
    out
}

/// One session block of the verbose table.
#[derive(Debug, Default)]
struct Shown {
    initiator: (String, String),
    responder: (String, String),
    proto: String,
    state: String,
    app: String,
    ttl_s: u64,
    packets: [u64; 2],
    bytes: [u64; 2],
}

fn after<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    line.trim_start().strip_prefix(label).map(str::trim)
}

/// `N packets M bytes` of a counter line.
fn counter(rest: &str) -> (u64, u64) {
    let n: Vec<u64> = rest
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (n[0], n[1])
}

fn parse_verbose(t: &str) -> Vec<Shown> {
    let mut out: Vec<Shown> = Vec::new();
    let mut half = 0;
    for line in t.lines() {
        if line == "Initiator:" {
            out.push(Shown::default());
            half = 0;
            continue;
        }
        if line == "Responder:" {
            half = 1;
            continue;
        }
        let Some(s) = out.last_mut() else { continue };
        let tuple = if half == 0 {
            &mut s.initiator
        } else {
            &mut s.responder
        };
        if let Some(v) = after(line, "Source      IP/port:") {
            tuple.0 = v.into();
        } else if let Some(v) = after(line, "Destination IP/port:") {
            tuple.1 = v.into();
        } else if let Some(v) = after(line, "Protocol:") {
            s.proto = v.split('(').next().unwrap_or("").to_ascii_lowercase();
        } else if let Some(v) = after(line, "State:") {
            s.state = v.into();
        } else if let Some(v) = after(line, "Application:") {
            s.app = v.into();
        } else if let Some((_, ttl)) = line.split_once("TTL: ") {
            s.ttl_s = ttl.trim_end_matches('s').parse().expect("TTL seconds");
        } else if let Some(v) = after(line, "Initiator->Responder:") {
            (s.packets[0], s.bytes[0]) = counter(v);
        } else if let Some(v) = after(line, "Responder->Initiator:") {
            (s.packets[1], s.bytes[1]) = counter(v);
        }
    }
    out
}

/// Frames the engine's cores have processed (the control socket's `stats`).
fn frames_processed(socket: &Path) -> u64 {
    let Ok(mut s) = UnixStream::connect(socket) else {
        return 0;
    };
    let _ = writeln!(s, "{{\"cmd\":\"stats\"}}");
    let mut line = String::new();
    let _ = BufReader::new(s).read_line(&mut line);
    serde_json::from_str::<Value>(&line).map_or(0, |v| v["frames"].as_u64().unwrap_or(0))
}

/// The number after `label` on the line that starts with it (statistics layout).
fn stat(t: &str, label: &str) -> u64 {
    t.lines()
        .find_map(|l| after(l, label))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no '{label}' in:\n{t}"))
}

#[test]
fn the_table_shows_what_the_capture_holds() {
    let Some(pcaps) = common::pcaps_dir() else {
        common::skip_or_fail("../shared/pcaps is not beside the repository");
        return;
    };
    let capture = pcaps.join(format!("{CAPTURE}.pcap"));
    let oracle: Value = serde_json::from_str(
        &std::fs::read_to_string(pcaps.join(format!("{CAPTURE}.oracle-bidirectional.json")))
            .expect("oracle"),
    )
    .expect("oracle JSON");
    let want = expected(&oracle, &capture);
    assert_eq!(want.len(), 4, "the oracle's table changed: {want:#?}");
    // Every frame of the capture belongs to one of them.
    let frames = oracle["frames_total"].as_u64().expect("frames_total");
    let counted: u64 = want.values().map(|w| w.packets[0] + w.packets[1]).sum();
    assert_eq!(counted, frames);

    let dir = std::env::temp_dir().join(format!("sessmgr-content-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let engine = start_engine_on(
        &dir,
        &capture,
        false,
        &format!("[session.aging_time_state_s]\ntcp-time-wait = {TIME_WAIT_S}\n"),
    );
    let started = Instant::now();
    // Played once: wait until every frame went through a core (the counters are snapshots
    // taken every 100 ms).
    let deadline = Instant::now() + Duration::from_secs(30);
    while frames_processed(&engine.socket) < frames {
        assert!(
            Instant::now() < deadline,
            "the engine did not play the capture"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let t = console(&engine.socket, "display session table ipv4 verbose\n");
    let looked_s = started.elapsed().as_secs() + 1;
    let shown = parse_verbose(&t);
    let total = stat(&t, "Total sessions found:");
    assert_eq!(total as usize, shown.len(), "{t}");
    assert_eq!(shown.len(), want.len(), "{t}");
    for w in want.values() {
        let s = shown
            .iter()
            .find(|s| s.initiator == w.initiator)
            .unwrap_or_else(|| panic!("no session {:?} in:\n{t}", w.initiator));
        assert_eq!(s.responder, w.responder, "{t}");
        assert_eq!(s.proto, w.proto, "{t}");
        assert_eq!(s.state, w.state, "{t}");
        assert!(
            w.apps.contains(&s.app.as_str()),
            "{} not in {:?}",
            s.app,
            w.apps
        );
        // TTL: the configured aging time less what has passed since the last packet.
        assert!(
            s.ttl_s <= TIME_WAIT_S && s.ttl_s + looked_s >= TIME_WAIT_S,
            "TTL {} for {:?}",
            s.ttl_s,
            w.initiator
        );
        assert_eq!(
            (s.packets, s.bytes),
            (w.packets, w.bytes),
            "{:?}",
            w.initiator
        );
    }

    // The statistics agree with the table: sessions per protocol and state, and the packets
    // and bytes received per protocol.
    let st = console(&engine.socket, "display session statistics\n");
    assert_eq!(stat(&st, "Current sessions:"), total, "{st}");
    for (proto, label) in [("tcp", "TCP"), ("udp", "UDP"), ("icmp", "ICMP")] {
        let rows: Vec<&Shown> = shown.iter().filter(|s| s.proto == proto).collect();
        assert_eq!(
            stat(&st, &format!("{label} sessions:")),
            rows.len() as u64,
            "{st}"
        );
        let (p, b) = rows.iter().fold((0, 0), |(p, b), s| {
            (p + s.packets[0] + s.packets[1], b + s.bytes[0] + s.bytes[1])
        });
        let line = st
            .lines()
            .find(|l| l.starts_with(&format!("Received {label} ")))
            .expect("received line");
        let (sp, sb) = counter(line.split_once(':').expect("colon").1);
        assert_eq!((sp, sb), (p, b), "{line}");
    }
    let mut by_state: BTreeMap<&str, u64> = BTreeMap::new();
    for s in &shown {
        *by_state.entry(s.state.as_str()).or_default() += 1;
    }
    for (state, n) in by_state {
        // `TCP_TIME_WAIT: 4` sits two to a line: find the label anywhere on its line.
        let got = st
            .lines()
            .find_map(|l| l.split_once(&format!("{state}: ")))
            .and_then(|(_, v)| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok());
        assert_eq!(got, Some(n), "{state} in:\n{st}");
    }
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}
