//! The layouts of `display session statistics history-max` (ours: no Comware layout is
//! known, comware.md §3.5) and `display session top-statistics` (comware.md §7.1), with the
//! same values as JSON for `sessmgr exec --json`.
//!
//! history-max, in the manner of §3.2 (a heading line, then one row per protocol):
//!
//! ```text
//! History maximum since 2026-12-04 09:00:00
//! IPv4:
//!   Protocol    Sessions  Time                   Rate(/s)  Time
//!   Total           2000  2026-12-04 09:00:05         570  2026-12-04 09:00:01
//!   TCP             1200  2026-12-04 09:00:05         208  2026-12-04 09:00:01
//!   ...
//! ```
//!
//! A maximum never reached (0) shows `-` for its time.

use super::render::write_datetime;
use crate::proto::Protocol;
use crate::proto::wire::Family;
use crate::table::peaks::{ALL, Peak, PeakCounts};
use crate::table::top::Summary;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::net::IpAddr;

/// Rows shown by `display session top-statistics` (§7.1: the top 10).
pub const TOP_ROWS: usize = 10;

fn datetime(unix_s: u64) -> String {
    let mut s = String::new();
    write_datetime(&mut s, unix_s, 0);
    s
}

fn peak_time(p: Peak) -> String {
    if p.value == 0 {
        "-".into()
    } else {
        datetime(p.at_ms / 1000)
    }
}

/// The rows of a family: all protocols, then each protocol of the family.
fn rows(f: Family) -> impl Iterator<Item = (&'static str, usize)> {
    std::iter::once(("Total", ALL)).chain(
        Protocol::ALL
            .into_iter()
            .filter(move |p| p.of_family(f))
            .map(|p| (p.descriptor().label, p as usize)),
    )
}

/// `display session statistics history-max` and its JSON.
pub fn render_history_max(p: &PeakCounts) -> (String, Value) {
    let mut out = String::new();
    let since = (p.since_ms > 0).then(|| datetime(p.since_ms / 1000));
    let _ = writeln!(
        out,
        "History maximum since {}",
        since.as_deref().unwrap_or("start")
    );
    let mut data = serde_json::Map::new();
    data.insert("since".into(), json!(since));
    for (f, name, key) in [(Family::V4, "IPv4", "ipv4"), (Family::V6, "IPv6", "ipv6")] {
        let _ = writeln!(out, "{name}:");
        let _ = writeln!(
            out,
            "  {:<10}{:>10}  {:<19}{:>11}  Time",
            "Protocol", "Sessions", "Time", "Rate(/s)"
        );
        let mut list = Vec::new();
        for (label, row) in rows(f) {
            let (s, r) = (p.sessions(f, row), p.rate(f, row));
            let _ = writeln!(
                out,
                "  {label:<10}{:>10}  {:<19}{:>11}  {}",
                s.value,
                peak_time(s),
                r.value,
                peak_time(r)
            );
            // Times as the text shows them (display_json.rs: the data has no number the
            // text lacks); `-` (no peak yet) is null.
            let at = |p: Peak| (p.value > 0).then(|| datetime(p.at_ms / 1000));
            list.push(json!({
                "protocol": label,
                "max_sessions": s.value,
                "max_sessions_at": at(s),
                "max_rate_per_s": r.value,
                "max_rate_at": at(r),
            }));
        }
        data.insert(key.into(), Value::Array(list));
    }
    (out, Value::Object(data))
}

/// One table of §7.1: `No.` at column 0, the address at 9 (45 wide), `Sessions` at 54.
fn write_top(out: &mut String, heading: &str, column: &str, top: &[(IpAddr, u64)]) -> Value {
    let _ = writeln!(out, "{heading}");
    let _ = writeln!(out, "{:<9}{:<45}Sessions", "No.", column);
    let mut rows = Vec::new();
    for (i, (addr, n)) in top.iter().enumerate() {
        let _ = writeln!(out, "{:<9}{:<45}{n}", i + 1, addr.to_string());
        rows.push(json!({"rank": i + 1, "address": addr.to_string(), "sessions": n}));
    }
    Value::Array(rows)
}

/// `display session top-statistics {last-1-hour|...}` (§7.1) and its JSON. The counts are
/// the sketches' (docs/statistics.md): each at most `error` below the truth, exact when
/// `error` is 0; the JSON carries the bound.
pub fn render_top(sources: &Summary, destinations: &Summary) -> (String, Value) {
    let mut out = String::new();
    let src = write_top(
        &mut out,
        "Counting by source addresses:",
        "Source address",
        sources.top(TOP_ROWS),
    );
    out.push('\n');
    let dst = write_top(
        &mut out,
        "Counting by destination addresses:",
        "Destination address",
        destinations.top(TOP_ROWS),
    );
    // Comware's counts are exact; ours are exact below the sketch's size. Past it, a line of
    // ours (after the §7.1 tables) says by how much a count may be low, so the operator
    // reads the same bound as the JSON (docs/statistics.md).
    if sources.error > 0 || destinations.error > 0 {
        let _ = writeln!(
            out,
            "\nCounts may be low by up to {} (sources) and {} (destinations) sessions.",
            sources.error, destinations.error
        );
    }
    // The window is the command's own keyword (the caller asked for it): not repeated in
    // the data, whose numbers are the text's.
    let data = json!({
        "sources": src,
        "sources_error_bound": sources.error,
        "destinations": dst,
        "destinations_error_bound": destinations.error,
    });
    (out, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::peaks::Peaks;
    use std::net::Ipv4Addr;

    #[test]
    fn top_tables_follow_the_columns_of_7_1() {
        let s = Summary {
            counts: vec![
                (IpAddr::V4(Ipv4Addr::new(192, 168, 11, 17)), 522_215),
                (IpAddr::V4(Ipv4Addr::new(172, 17, 0, 3)), 2622),
            ],
            total: 524_837,
            error: 0,
        };
        let (text, data) = render_top(&s, &Summary::default());
        assert_eq!(
            text,
            "Counting by source addresses:\n\
             No.      Source address                               Sessions\n\
             1        192.168.11.17                                522215\n\
             2        172.17.0.3                                   2622\n\
             \n\
             Counting by destination addresses:\n\
             No.      Destination address                          Sessions\n"
        );
        assert_eq!(data["sources"][1]["sessions"], 2622);
        assert_eq!(data["sources"][0]["address"], "192.168.11.17");
        assert_eq!(data["destinations"], json!([]));
    }

    #[test]
    fn history_max_rows_per_family() {
        let mut p = Peaks::default();
        // 2026-12-04 09:00:05 UTC.
        let t = 1_796_374_805_000;
        p.created(Family::V4, Protocol::Tcp as usize, t);
        let (text, data) = render_history_max(&p.counts());
        let expected_head = "History maximum since 2026-12-04 09:00:05\nIPv4:\n  Protocol    Sessions  Time                  Rate(/s)  Time\n  Total              1  2026-12-04 09:00:05          0  -\n  TCP                1  2026-12-04 09:00:05          0  -\n  UDP                0  -                            0  -\n";
        assert!(text.starts_with(expected_head), "{text}");
        assert!(text.contains("\nIPv6:\n"));
        assert!(text.contains("  ICMPv6             0  -"));
        assert!(!text.split("IPv6:").next().unwrap().contains("ICMPv6"));
        assert_eq!(data["ipv4"][1]["protocol"], "TCP");
        assert_eq!(data["ipv4"][1]["max_sessions"], 1);
        assert_eq!(data["ipv4"][1]["max_sessions_at"], "2026-12-04 09:00:05");
        assert_eq!(data["ipv6"][0]["max_sessions_at"], Value::Null);
        let (text, _) = render_history_max(&PeakCounts::default());
        assert!(text.starts_with("History maximum since start\n"));
    }
}
