//! The abrupt-change alarms end to end (SPEC M1-M3, issue #13 acceptance): generated captures
//! with steps in the creation rate, in the session count and in the attempt rate, replayed
//! at their own time under a startup configuration, and the log buffer read back with
//! `--exec "display logbuffer"`. Each alarm must fire in the right 10-second period (the
//! message carries the period's end), for a rise and for a fall, and not below the base or
//! the threshold.

mod common;

use common::frames::{echo4, udp4, write_pcap_timed};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The capture's origin: a multiple of 10 seconds, so periods start at its seconds 0, 10, ...
/// (2023-11-14 22:13:20 UTC).
const T0_S: u64 = 1_700_000_000;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sessmgr-alarms-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// A new UDP flow per `n` (source address and port from it).
fn flow(n: u32) -> Vec<u8> {
    let src = [10, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    udp4(src, 1024 + (n % 60_000) as u16, [192, 0, 2, 1], 53, b"q")
}

/// Frames of capture second `s`: `count` of them spread evenly over it.
fn spread(s: u64, count: u64, mut make: impl FnMut(u64) -> Vec<u8>, out: &mut Vec<(u64, Vec<u8>)>) {
    for i in 0..count {
        let us = (T0_S + s) * 1_000_000 + i * 1_000_000 / count.max(1);
        out.push((us, make(i)));
    }
}

fn replay(capture: &Path, config: &str, startup: &str, d: &Path) -> String {
    replay_on(capture, config, startup, d, 1)
}

fn replay_on(capture: &Path, config: &str, startup: &str, d: &Path, cores: u16) -> String {
    replay_exec(capture, config, startup, d, cores, &["display logbuffer"])
}

fn replay_exec(
    capture: &Path,
    config: &str,
    startup: &str,
    d: &Path,
    cores: u16,
    exec: &[&str],
) -> String {
    let cfg = d.join("config.toml");
    std::fs::write(&cfg, config).expect("config");
    let st = d.join("startup.cfg");
    std::fs::write(&st, startup).expect("startup");
    let o = Command::new(env!("CARGO_BIN_EXE_sessmgr"))
        .arg("replay")
        .arg(capture)
        .arg("--config")
        .arg(&cfg)
        .arg("--startup")
        .arg(&st)
        .args(["--cores", &cores.to_string()])
        .args(exec.iter().flat_map(|c| ["--exec", c]))
        .output()
        .expect("run sessmgr");
    assert!(o.status.success(), "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The alarms in the log buffer: (mnemonic, period end as capture second, text).
fn alarms(out: &str) -> Vec<(String, u64, String)> {
    out.lines()
        .filter(|l| l.starts_with('%') && l.contains(" SESSION/"))
        .map(|l| {
            // %Nov 14 22:14:00:000 2023 Sysname SESSION/4/SESSION_RATE_ABRUPT: text
            let (head, text) = l.split_once(": ").expect("message");
            let words: Vec<&str> = head.split_whitespace().collect();
            let hms: Vec<u64> = words[2].split(':').map(|x| x.parse().unwrap()).collect();
            assert_eq!(hms[3], 0, "a period ends on a whole second: {l}");
            // Seconds since T0 (22:13:20): same day and hour in these captures.
            let s = (hms[0] * 3600 + hms[1] * 60 + hms[2]) - (22 * 3600 + 13 * 60 + 20);
            let mnemonic = words[5].rsplit('/').next().unwrap().to_string();
            assert!(words[5].starts_with("SESSION/4/"), "{l}");
            (mnemonic, s, text.to_string())
        })
        .collect()
}

fn of<'a>(all: &'a [(String, u64, String)], mnemonic: &str) -> Vec<(u64, &'a str)> {
    all.iter()
        .filter(|a| a.0 == mnemonic)
        .map(|a| (a.1, a.2.as_str()))
        .collect()
}

#[test]
fn rate_and_usage_alarms_fire_in_the_right_periods_for_a_rise_and_a_fall() {
    steps(1);
}

/// The same capture on two cores: the watch sums them per period, with the same outcome.
#[test]
fn the_cores_are_summed_per_period() {
    steps(2);
}

fn steps(cores: u16) {
    let d = dir(&format!("rate-usage-{cores}"));
    let capture = d.join("steps.pcap");
    let mut frames = Vec::new();
    let mut n = 0u32;
    // The creation rate, per second, 10 seconds each (UDP flows of one packet that age out
    // after a second, so the session count stays far below the usage base meanwhile).
    // Rate alarms use a base of 1 % of 100,000/s = 1,000/s.
    let rates = [500u64, 900, 1500, 1500, 1700, 4000, 1200, 1200];
    for (p, rate) in rates.iter().enumerate() {
        for s in (p as u64 * 10)..(p as u64 * 10 + 10) {
            spread(
                s,
                *rate,
                |_| {
                    n += 1;
                    flow(n)
                },
                &mut frames,
            );
        }
    }
    // A clock: four flows sending every 100 ms from second 80 to 180 (four sessions, never a
    // new one), so the engine's seconds go on while sessions age; four addresses, so that
    // every core of a replay on two has one (a core with no frames has no clock in replay).
    for s in 80..180 {
        spread(
            s,
            10,
            |i| {
                udp4(
                    [10, 255, 0, 1 + (i % 4) as u8],
                    999,
                    [192, 0, 2, 9],
                    9,
                    b"t",
                )
            },
            &mut frames,
        );
    }
    // The session count: 600 ICMP echo sessions a second from 100 to 140 (each ages out 30 s
    // after it came), then none: below the rate base. Capacity 100,000: the usage base (10 %)
    // is 10,000 sessions.
    let mut id = 0u32;
    for s in 100..140 {
        spread(
            s,
            600,
            |_| {
                id += 1;
                echo4(
                    [172, 16, (id >> 16) as u8, (id >> 8) as u8],
                    [192, 0, 2, 2],
                    id as u16,
                )
            },
            &mut frames,
        );
    }
    frames.sort_by_key(|f| f.0);
    write_pcap_timed(&capture, frames);

    let out = replay_on(
        &capture,
        "[session]\ncapacity_sessions = 100000\n",
        "session aging-time state udp-open 1\nsession aging-time state icmp-request 30\n\
         session alarm usage-abrupt enable\n\
         session alarm rate-abrupt enable\nsession alarm rate-abrupt threshold 20 base-threshold 1\n\
         session alarm try-rate-abrupt enable\nsession alarm try-rate-abrupt threshold 20 base-threshold 1\n",
        &d,
        cores,
    );
    let all = alarms(&out);
    // Rates at each period's start and end are the seconds before its boundaries:
    // [10,20) 500 -> 900: below the base; [20,30) 900 -> 1500: start below the base;
    // [40,50) 1500 -> 1700: +13 %, below the threshold; [50,60) 1700 -> 4000: a rise;
    // [60,70) 4000 -> 1200: a fall; [80,90) 1200 -> 0: a fall (the UDP load ends; the
    // clock is one session); [100,110) 0 -> 600 starts at zero; [140,150) 600 -> 0 starts
    // below the base.
    let rate = of(&all, "SESSION_RATE_ABRUPT");
    let rate_at: Vec<u64> = rate.iter().map(|a| a.0).collect();
    assert_eq!(rate_at, [60, 70, 90], "{out}");
    assert!(
        rate[0].1.contains("from 1700/s to 4000/s (+135.3%)"),
        "{}",
        rate[0].1
    );
    assert!(
        rate[1].1.contains("from 4000/s to 1200/s (-70.0%)"),
        "{}",
        rate[1].1
    );
    assert!(rate[0].1.contains("threshold 20%") && rate[0].1.contains("base threshold 1%"));
    // Every attempt created a session here: the attempt rate alarms alike.
    let tries: Vec<u64> = of(&all, "SESSION_TRY_RATE_ABRUPT")
        .iter()
        .map(|a| a.0)
        .collect();
    assert_eq!(tries, rate_at, "{out}");
    // Usage, against 100,000: [110,120) 6,000 -> 12,000 starts below the base (6 %);
    // [120,130) 12,000 -> 18,000 a rise; [130,140) 18,000 -> 18,000 (as many age out as
    // come): below the threshold; [140,150) 18,000 -> 12,000 and [150,160) 12,000 -> 6,000:
    // falls; [160,170) 6,000 -> 0 starts below the base. Meanwhile the UDP load never held
    // more than a few thousand sessions: below the base whatever its changes.
    let usage = of(&all, "SESSION_USAGE_ABRUPT");
    let usage_at: Vec<u64> = usage.iter().map(|a| a.0).collect();
    assert_eq!(usage_at, [130, 150, 160], "{out}");
    assert!(usage[0].1.contains("(+"), "{}", usage[0].1);
    assert!(usage[1].1.contains("(-") && usage[2].1.contains("(-"));
    assert!(
        usage[0].1.contains("of the table's capacity (100000)"),
        "{}",
        usage[0].1
    );
    // The header of §11.1.
    assert!(out.contains("Log buffer: Enabled\nMax buffer size: 1024\nActual buffer size: 512\n"));
    assert!(out.contains(&format!("Current messages: {}\n", all.len())));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_flood_refused_at_capacity_raises_try_rate_and_not_rate() {
    let d = dir("try-rate");
    let capture = d.join("flood.pcap");
    let mut frames = Vec::new();
    let mut n = 0u32;
    let mut new = |_| {
        n += 1;
        flow(n)
    };
    // 2,000 sessions fill the table in two seconds; then attempts, all refused at capacity:
    // 1,500 a second, then 5,000 a second from second 20.
    for s in 0..2 {
        spread(s, 1000, &mut new, &mut frames);
    }
    for s in 2..20 {
        spread(s, 1500, &mut new, &mut frames);
    }
    for s in 20..40 {
        spread(s, 5000, &mut new, &mut frames);
    }
    write_pcap_timed(&capture, frames);
    // A log host (syslog over UDP) receives the information centre's messages, replay too.
    let host = std::net::UdpSocket::bind("127.0.0.1:0").expect("a log host");
    let port = host.local_addr().expect("port").port();
    let out = replay(
        &capture,
        "[session]\ncapacity_sessions = 2000\n",
        &format!(
            "undo session early-drop enable\nsession aging-time state udp-open 3600\n\
             session alarm usage-abrupt enable\n\
             session alarm rate-abrupt enable\nsession alarm rate-abrupt threshold 20 base-threshold 1\n\
             session alarm try-rate-abrupt enable\nsession alarm try-rate-abrupt threshold 20 base-threshold 1\n\
             info-center loghost 127.0.0.1 port {port}\n"
        ),
        &d,
    );
    // The replay has ended: what it sent is in the socket's buffer.
    host.set_nonblocking(true).expect("nonblocking");
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = host.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert_eq!(
        got,
        [
            "<188>Nov 14 22:13:23 2023 H3C %%10SESSMGR/4/TABLE_FULL: The session table reached \
             its capacity (2000 sessions); new sessions are refused.",
            "<188>Nov 14 22:13:50 2023 H3C %%10SESSION/4/SESSION_TRY_RATE_ABRUPT: The session \
             attempt rate changed from 1500/s to 5000/s (+233.3%) in 10 s, reaching the \
             threshold 20%; start 1.5% of 100000/s, above the base threshold 1%.",
        ]
    );
    let all = alarms(&out);
    let tries = of(&all, "SESSION_TRY_RATE_ABRUPT");
    assert_eq!(tries.iter().map(|a| a.0).collect::<Vec<_>>(), [30], "{out}");
    assert!(
        tries[0].1.contains("from 1500/s to 5000/s"),
        "{}",
        tries[0].1
    );
    assert!(of(&all, "SESSION_RATE_ABRUPT").is_empty(), "{out}");
    // The table stays full: no usage change.
    assert!(of(&all, "SESSION_USAGE_ABRUPT").is_empty(), "{out}");
    // The table reaching its capacity is itself a message (once: it stays full), in the
    // second after the one it filled in.
    let full: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("SESSMGR/4/TABLE_FULL"))
        .collect();
    assert_eq!(full.len(), 1, "{out}");
    assert!(full[0].starts_with("%Nov 14 22:13:23:000 2023 H3C SESSMGR/4/TABLE_FULL: The session table reached its capacity (2000 sessions)"), "{out}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn nothing_fires_when_the_alarms_are_off() {
    let d = dir("off");
    let capture = d.join("steps.pcap");
    let mut frames = Vec::new();
    let mut n = 0u32;
    for s in 0..30 {
        let rate = if s < 20 { 1500 } else { 6000 };
        spread(
            s,
            rate,
            |_| {
                n += 1;
                flow(n)
            },
            &mut frames,
        );
    }
    write_pcap_timed(&capture, frames);
    let out = replay_exec(
        &capture,
        "",
        "session alarm rate-abrupt threshold 20 base-threshold 1\n\
         session alarm usage-abrupt enable\nundo session alarm usage-abrupt enable\n\
         session alarm try-rate-abrupt threshold 30\nundo session alarm try-rate-abrupt threshold\n\
         info-center logbuffer size 64\n",
        &d,
        1,
        &["display logbuffer", "display current-configuration"],
    );
    assert!(alarms(&out).is_empty(), "{out}");
    assert!(out.contains("Actual buffer size: 64\n"), "{out}");
    assert!(out.contains("Current messages: 0\n"), "{out}");
    // The configuration shows what differs from the factory defaults, and only that.
    assert!(
        out.contains("\n session alarm rate-abrupt threshold 20 base-threshold 1\n"),
        "{out}"
    );
    assert!(out.contains("\n info-center logbuffer size 64\n"), "{out}");
    assert!(
        !out.contains("usage-abrupt") && !out.contains("try-rate-abrupt"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&d);
}
