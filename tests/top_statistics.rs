//! Statistics of issue #13 on generated captures of known content, through
//! `sessmgr replay --exec` (capture time is the engine clock, so the answers are exact):
//! the top 10 of `display session top-statistics` (SPEC T2), `display session statistics
//! history-max` and the application-protocol filter of `display session statistics` (T1).

mod common;

use common::frames::{ACK, SYN, tcp4, udp4, write_pcap_timed};
use std::path::{Path, PathBuf};
use std::process::Command;

/// 2026-05-28 20:26:40 UTC, in microseconds.
const T0_US: u64 = 1_780_000_000_000_000;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sessmgr-topstat-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// `sessmgr replay CAPTURE [--cores N] --startup FILE --exec ...`: stdout.
fn replay(capture: &Path, startup: &str, cores: u16, commands: &[&str]) -> String {
    let dir = capture.parent().expect("capture dir");
    let cfg = dir.join(format!("startup-{cores}.cfg"));
    std::fs::write(&cfg, startup).expect("startup");
    let mut c = Command::new(env!("CARGO_BIN_EXE_sessmgr"));
    c.arg("replay")
        .arg(capture)
        .args(["--cores", &cores.to_string(), "--startup"])
        .arg(&cfg);
    for cmd in commands {
        c.args(["--exec", cmd]);
    }
    let o = c.output().expect("run sessmgr");
    assert!(o.status.success(), "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The rows of one top table: (address, sessions).
fn top_rows(out: &str, heading: &str) -> Vec<(String, u64)> {
    out.split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("no {heading} in {out}"))
        .lines()
        .skip(2)
        .take_while(|l| !l.is_empty() && !l.starts_with('<'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[1].to_string(), f[2].parse().expect("count"))
        })
        .collect()
}

fn current_sessions(out: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix("Current sessions: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {out}"))
}

/// 15 sources: 10.0.0.i opens 5 + 3i UDP sessions (distinct ports), to 192.168.1.0-3 in
/// turn, spread over a few minutes; two hours earlier, 10.9.9.9 opened 100 sessions to
/// 192.168.9.9 (outside the last hour, inside the last 24 hours).
/// (address, sessions), largest first.
type Ranking = Vec<(String, u64)>;

fn top_capture(dir: &Path) -> (PathBuf, Ranking, Ranking) {
    let mut frames = Vec::new();
    let start = T0_US + 2 * 3_600_000_000;
    for k in 0..100u16 {
        frames.push((
            T0_US + u64::from(k) * 1000,
            udp4([10, 9, 9, 9], 1000 + k, [192, 168, 9, 9], 7, b"x"),
        ));
    }
    let mut t = start;
    let mut src_counts = Vec::new();
    let mut dst_counts = [0u64; 4];
    for i in 0..15u8 {
        let n = 5 + 3 * u16::from(i);
        src_counts.push((format!("10.0.0.{i}"), u64::from(n)));
        for k in 0..n {
            let d = ((u16::from(i) + k) % 4) as u8;
            dst_counts[usize::from(d)] += 1;
            t += 1_500_000 / 4; // frames spread over a few minutes
            frames.push((
                t,
                udp4([10, 0, 0, i], 2000 + k, [192, 168, 1, d], 9999, b"x"),
            ));
        }
    }
    let path = dir.join("top.pcap");
    write_pcap_timed(&path, frames);
    src_counts.sort_by_key(|s| std::cmp::Reverse(s.1));
    src_counts.truncate(10);
    let mut dst: Vec<(String, u64)> = dst_counts
        .iter()
        .enumerate()
        .map(|(d, &n)| (format!("192.168.1.{d}"), n))
        .collect();
    dst.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    (path, src_counts, dst)
}

#[test]
fn replay_gives_the_exact_top_10_of_the_last_hour_on_one_core_and_on_two() {
    let dir = scratch("top");
    let (cap, sources, destinations) = top_capture(&dir);
    let cmds = [
        "display session top-statistics last-1-hour",
        "display session top-statistics last-24-hours",
    ];
    let on = "session top-statistics enable\n";
    let one = replay(&cap, on, 1, &cmds);
    let hour = one
        .split("last-24-hours")
        .next()
        .expect("the hour's display");
    assert_eq!(
        top_rows(hour, "Counting by source addresses:"),
        sources,
        "{one}"
    );
    assert_eq!(
        top_rows(hour, "Counting by destination addresses:"),
        destinations,
        "{one}"
    );
    // The 24 hours hold the sessions of two hours ago too: first by source, among the
    // destinations.
    let day = one
        .split("last-24-hours")
        .nth(1)
        .expect("the day's display");
    assert_eq!(
        top_rows(day, "Counting by source addresses:")[0],
        ("10.9.9.9".to_string(), 100)
    );
    assert!(
        top_rows(day, "Counting by destination addresses:")
            .contains(&("192.168.9.9".to_string(), 100)),
        "{day}"
    );
    // Two cores: merged, the same answer (fewer distinct addresses than the sketch's size:
    // exact), and the same text.
    let two = replay(&cap, on, 2, &cmds);
    assert_eq!(one, two);
    // Twice the same: deterministic.
    assert_eq!(one, replay(&cap, on, 1, &cmds));
    // Off (the default), nothing is counted.
    let off = replay(&cap, "", 1, &cmds[..1]);
    assert!(
        top_rows(&off, "Counting by source addresses:").is_empty(),
        "{off}"
    );
}

#[test]
fn history_max_has_the_peaks_and_their_times() {
    let dir = scratch("peaks");
    let mut frames = Vec::new();
    // 4 UDP sessions at T0, 10 more 2.5 s later, then a reply at T0 + 3.6 s.
    for k in 0..4u16 {
        frames.push((
            T0_US + u64::from(k) * 1000,
            udp4([10, 0, 0, 1], 3000 + k, [10, 0, 1, 1], 9999, b"x"),
        ));
    }
    for k in 0..10u16 {
        frames.push((
            T0_US + 2_500_000 + u64::from(k) * 1000,
            udp4([10, 0, 0, 2], 3000 + k, [10, 0, 1, 1], 9999, b"x"),
        ));
    }
    frames.push((
        T0_US + 3_600_000,
        udp4([10, 0, 1, 1], 9999, [10, 0, 0, 1], 3000, b"y"),
    ));
    // And one TCP session.
    frames.push((
        T0_US + 3_700_000,
        tcp4([10, 0, 0, 3], 4000, [10, 0, 1, 1], 80, SYN, 1, 0, b""),
    ));
    let cap = dir.join("peaks.pcap");
    write_pcap_timed(&cap, frames);
    let out = replay(&cap, "", 1, &["display session statistics history-max"]);
    assert!(
        out.contains("History maximum since 2026-05-28 20:26:40\n"),
        "{out}"
    );
    let row = |family: &str, proto: &str| -> String {
        out.split(family)
            .nth(1)
            .and_then(|s| {
                s.lines()
                    .find(|l| l.trim_start().starts_with(&format!("{proto} ")))
            })
            .unwrap_or_else(|| panic!("no {proto} row in {out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    // 14 UDP sessions at most, reached with the 14th at 20:26:42.509; the rate of the second
    // before 20:26:43.6 (10 new over 1.1 s: 9/s).
    assert_eq!(
        row("IPv4:", "UDP"),
        "UDP 14 2026-05-28 20:26:42 9 2026-05-28 20:26:43"
    );
    assert_eq!(row("IPv4:", "TCP"), "TCP 1 2026-05-28 20:26:43 0 -");
    assert_eq!(
        row("IPv4:", "Total"),
        "Total 15 2026-05-28 20:26:43 9 2026-05-28 20:26:43"
    );
    assert_eq!(row("IPv6:", "Total"), "Total 0 - 0 -");
    // After a reset the maxima start from what is alive.
    let out2 = replay(
        &cap,
        "",
        1,
        &[
            "reset session statistics",
            "display session statistics history-max",
        ],
    );
    let after = out2
        .split("reset session statistics")
        .nth(1)
        .expect("after");
    assert!(
        after.contains("History maximum since 2026-05-28 20:26:43"),
        "{after}"
    );
    assert!(
        after.contains("  UDP               14  2026-05-28 20:26:43"),
        "{after}"
    );
}

#[test]
fn the_application_protocol_filter_selects_by_application_and_combines_with_addresses() {
    let dir = scratch("apps");
    let t = |k: u64| T0_US + k * 100;
    let mut frames = Vec::new();
    let mut k = 0;
    let mut push = |f: Vec<u8>| {
        k += 1;
        frames.push((t(k), f));
    };
    for p in 0..2u16 {
        push(udp4([10, 0, 0, 1], 5000 + p, [192, 0, 2, 53], 53, b"q"));
    }
    push(udp4([10, 0, 0, 2], 5000, [192, 0, 2, 54], 53, b"q"));
    for p in 0..2u16 {
        push(tcp4(
            [10, 0, 0, 3],
            6000 + p,
            [192, 0, 2, 80],
            80,
            SYN,
            1,
            0,
            b"",
        ));
    }
    push(tcp4(
        [10, 0, 0, 4],
        6000,
        [192, 0, 2, 21],
        21,
        SYN,
        1,
        0,
        b"",
    ));
    push(tcp4(
        [10, 0, 0, 4],
        6001,
        [192, 0, 2, 23],
        23,
        SYN | ACK,
        1,
        0,
        b"",
    ));
    for p in 0..4u16 {
        push(udp4([10, 0, 0, 5], 7000 + p, [192, 0, 2, 99], 9999, b"x"));
    }
    let cap = dir.join("apps.pcap");
    write_pcap_timed(&cap, frames);
    let cases: &[(&str, u64)] = &[
        ("display session statistics ipv4 protocol dns", 3),
        (
            "display session statistics ipv4 protocol dns destination-ip 192.0.2.53",
            2,
        ),
        (
            "display session statistics ipv4 source-ip 10.0.0.2 protocol dns",
            1,
        ),
        ("display session statistics ipv4 protocol http", 2),
        (
            "display session statistics ipv4 protocol http source-port 6001",
            1,
        ),
        (
            "display session statistics ipv4 protocol http destination-port 8080",
            0,
        ),
        ("display session statistics ipv4 protocol ftp", 1),
        ("display session statistics ipv4 protocol telnet", 0),
        ("display session statistics ipv4 protocol udp", 7),
        ("display session statistics ipv4 protocol tcp", 3),
        ("display session statistics ipv4 protocol sip", 0),
        ("display session statistics ipv6 protocol dns", 0),
    ];
    let cmds: Vec<&str> = cases.iter().map(|c| c.0).collect();
    let out = replay(&cap, "", 1, &cmds);
    let parts: Vec<&str> = out.split("<H3C>").skip(1).collect();
    assert_eq!(parts.len(), cases.len(), "{out}");
    for ((cmd, n), part) in cases.iter().zip(parts) {
        assert!(part.starts_with(cmd), "{part}");
        assert_eq!(current_sessions(part), *n, "{cmd}\n{part}");
    }
    // A keyword of the other family is refused, as any unknown word.
    let bad = replay(
        &cap,
        "",
        1,
        &["display session statistics ipv4 protocol icmpv6"],
    );
    assert!(
        bad.contains("% Unrecognized command found at '^' position."),
        "{bad}"
    );
}

/// On a real capture: the filter counts what the session table shows for the applications
/// it stands for (`ftp`: FTP and FTP-DATA).
#[test]
fn the_ftp_filter_counts_the_ftp_and_ftp_data_sessions_of_a_real_capture() {
    let Some(dir) = common::pcaps_dir() else {
        common::skip_or_fail("../shared/pcaps is not beside the repository");
        return;
    };
    let cap = dir.join("ndpi-ftp.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_sessmgr"))
        .arg("replay")
        .arg(&cap)
        .args([
            "--exec",
            "display session statistics ipv4 protocol ftp",
            "--exec",
            "display session table ipv4 application ftp",
            "--exec",
            "display session table ipv4 application ftp-data",
        ])
        .output()
        .expect("replay");
    let out = String::from_utf8_lossy(&out.stdout);
    let totals: Vec<u64> = out
        .lines()
        .filter_map(|l| l.strip_prefix("Total sessions found: "))
        .map(|n| n.trim().parse().expect("total"))
        .collect();
    assert_eq!(totals.len(), 2, "{out}");
    assert!(totals[0] > 0, "{out}");
    assert_eq!(current_sessions(&out), totals[0] + totals[1], "{out}");
}
