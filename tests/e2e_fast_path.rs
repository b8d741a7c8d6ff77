//! The AF_XDP fast path end to end (issue #15): two hosts in namespaces joined through
//! `sessmgr run` inline on AF_XDP with `fast_path = true`. A 16 MiB HTTP download and a UDP
//! exchange are forwarded by the kernel once their sessions are established: the engine sees
//! the handshake and the close, not the bulk, and still shows each session with every packet
//! and byte, follows the TCP close to TIME_WAIT, and drops nothing.
//!
//! The Prometheus endpoint's `sessmgr_fast_path_*` series (inside the engine's namespace)
//! show what `dump stats` shows as `fast_path`.
//!
//! The hosts turn GRO on: a frame the fast path redirects into a veth in the driver hook
//! needs NAPI on the receiving end (docs/io-afxdp.md). Needs root; in CI it must run.

mod common;

use common::lab::{H2_V4, Lab, dump, ns_out, prerequisites};
use serde_json::Value;
use std::time::{Duration, Instant};

const UDP_ECHO4: &str = "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',40053))\nwhile True:\n d,a=s.recvfrom(2048); s.sendto(d,a)\n";
/// Sends 300 datagrams from port 41000 to the echo server and prints how many came back.
const UDP_300: &str = "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',41000))\ns.settimeout(2)\nn=0\nfor i in range(300):\n s.sendto(b'y'*100,(sys.argv[1],40053))\n try:\n  s.recv(2048); n+=1\n except Exception:\n  pass\nprint(n)\n";
const FILE_SIZE: usize = 16 << 20;
/// The engine's Prometheus endpoint, on the loopback of its namespace.
const METRICS: &str = "127.0.0.1:9712";

/// One unlabelled series' value from the engine's `/metrics`, or a labelled one's when
/// `name` carries the labels as exposed (`name{change="offloaded"}`).
fn metric(lab: &Lab, name: &str) -> Option<u64> {
    let out = ns_out(
        &lab.fw,
        &[
            "curl",
            "-sS",
            "-m",
            "5",
            &format!("http://{METRICS}/metrics"),
        ],
    );
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        (series == name).then(|| value.parse().ok())?
    })
}

fn session<'a>(sessions: &'a Value, proto: &str, dport: u64) -> Option<&'a Value> {
    sessions["sessions"]
        .as_array()?
        .iter()
        .find(|s| s["proto"] == proto && s["orig"]["dport"].as_u64() == Some(dport))
}

/// The engine's statistics once `ready` holds for them (at most 10 s).
fn wait_for(socket: &std::path::Path, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = dump(socket, "stats");
        if ready(&stats) || Instant::now() > deadline {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn counter(v: &Value, field: &str, dir: usize) -> u64 {
    v[field][dir].as_u64().unwrap_or(0)
}

#[test]
fn established_flows_cross_in_the_kernel_and_the_engine_still_counts_them() {
    if !prerequisites(&["ip", "curl", "python3", "ethtool"]) {
        return;
    }
    let mut lab = Lab::with_backend("smfp", "afxdp");
    lab.runtime_extra = format!("fast_path = true\n[metrics]\nlisten = \"{METRICS}\"\n");
    let (h1, h2) = (lab.h1.clone(), lab.h2.clone());
    for ns in [&h1, &h2] {
        let out = ns_out(ns, &["ethtool", "-K", "eth0", "gro", "on"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let file = lab.dir.join("big.bin");
    let body: Vec<u8> = (0..FILE_SIZE).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &body).expect("write the download");
    lab.http_server(&h2);
    lab.spawn_in(&h2, &["python3", "-c", UDP_ECHO4], None);
    std::thread::sleep(Duration::from_millis(500));
    let lo = ns_out(&lab.fw, &["ip", "link", "set", "lo", "up"]);
    assert!(
        lo.status.success(),
        "{}",
        String::from_utf8_lossy(&lo.stderr)
    );
    let socket = lab.start_engine_with(
        "fast",
        "mode = \"bidirectional\"\nstatistics_enable = true\n",
        1,
    );

    // ---- TCP: a 16 MiB download ----
    let url = format!("http://{H2_V4}:8080{}", file.display());
    let curl = ns_out(
        &h1,
        &[
            "curl",
            "-sS",
            "-m",
            "30",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            &url,
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&curl.stdout),
        FILE_SIZE.to_string(),
        "curl: {}",
        String::from_utf8_lossy(&curl.stderr)
    );
    // The counters are the cores' snapshots (every 0.1 s): wait for the one after the close
    // took the session back from the kernel.
    let stats = wait_for(&socket, |s| s["fast_path"]["withdrawn"].as_u64() >= Some(1));
    let fast = &stats["fast_path"];
    assert!(fast["offloaded"].as_u64().unwrap_or(0) >= 1, "{stats}");
    assert_eq!(fast["refused"].as_u64(), Some(0), "{stats}");
    let kernel_packets = fast["packets"].as_u64().unwrap_or(0);
    // 16 MiB is at least 11,000 full-size segments, plus their ACKs.
    assert!(kernel_packets >= 11_000, "{stats}");
    let engine_frames = stats["io"]["rx_frames"].as_u64().unwrap_or(u64::MAX);
    assert!(
        engine_frames < kernel_packets / 10,
        "the engine saw {engine_frames} frames of a flow the kernel forwarded: {stats}"
    );
    assert_eq!(stats["drops"], serde_json::json!({}), "{stats}");
    let sessions = dump(&socket, "sessions");
    let http = session(&sessions, "tcp", 8080).unwrap_or_else(|| panic!("{sessions}"));
    // The close went through the engine (FIN is never offloaded).
    assert!(
        matches!(
            http["state"].as_str(),
            Some("TIME_WAIT" | "LAST_ACK" | "CLOSE" | "FIN_WAIT" | "CLOSE_WAIT")
        ),
        "{http}"
    );
    // Every byte of the download counted in the reply direction, most of it by the kernel.
    assert!(counter(http, "bytes", 1) >= FILE_SIZE as u64, "{http}");
    assert!(counter(http, "packets", 1) >= 11_000, "{http}");

    // ---- UDP: 300 exchanges ----
    let udp = ns_out(&h1, &["python3", "-c", UDP_300, H2_V4]);
    assert_eq!(
        String::from_utf8_lossy(&udp.stdout).trim(),
        "300",
        "{}",
        String::from_utf8_lossy(&udp.stderr)
    );
    // The kernel's counts reach the table at the core's next refresh (every 0.5 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    let echo = loop {
        let sessions = dump(&socket, "sessions");
        let s = session(&sessions, "udp", 40053).cloned();
        if let Some(s) = &s
            && counter(s, "packets", 0) >= 300
            && counter(s, "packets", 1) >= 300
        {
            break s.clone();
        }
        assert!(Instant::now() < deadline, "UDP counts never arrived: {s:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(echo["state"], "READY", "{echo}");
    assert_eq!(counter(&echo, "packets", 0), 300, "{echo}");
    assert_eq!(counter(&echo, "bytes", 0), 300 * (20 + 8 + 100), "{echo}");
    let stats = dump(&socket, "stats");
    assert!(
        stats["fast_path"]["offloaded"].as_u64().unwrap_or(0) >= 2,
        "{stats}"
    );
    assert_eq!(stats["drops"], serde_json::json!({}), "{stats}");

    // ---- the Prometheus endpoint shows the same (the UDP session is still offloaded) ----
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let f = &dump(&socket, "stats")["fast_path"];
        let pairs = [
            ("sessmgr_fast_path_sessions", &f["live"]),
            (
                "sessmgr_fast_path_session_changes_total{change=\"offloaded\"}",
                &f["offloaded"],
            ),
            (
                "sessmgr_fast_path_session_changes_total{change=\"withdrawn\"}",
                &f["withdrawn"],
            ),
            (
                "sessmgr_fast_path_session_changes_total{change=\"refused\"}",
                &f["refused"],
            ),
            ("sessmgr_fast_path_map_errors_total", &f["errors"]),
            ("sessmgr_fast_path_packets_total", &f["packets"]),
            ("sessmgr_fast_path_bytes_total", &f["bytes"]),
        ];
        let got: Vec<_> = pairs
            .iter()
            .map(|(name, want)| (*name, metric(&lab, name), want.as_u64()))
            .collect();
        if got.iter().all(|(_, m, d)| m.is_some() && m == d) {
            assert!(got[0].1 >= Some(1), "{got:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/metrics and dump stats disagree (series, metrics, dump): {got:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    lab.stop_engine();
}
