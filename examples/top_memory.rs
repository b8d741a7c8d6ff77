//! Measures the memory one core's top statistics hold (SPEC T2, issue #13: "with 10M distinct
//! source addresses the memory stays under the bound you state"):
//! `cargo run --profile tools --example top_memory -- [SOURCES] [SECONDS]`.
//!
//! Feeds SOURCES distinct source addresses (default 10,000,000; IPv4 10.0.0.0 on, and every
//! eighth an IPv6 address) into one core's `TopStatistics`, each a new session to one of 1,000
//! destinations, spread evenly over SECONDS of engine time (default 31 days, so every minute,
//! hour and day bucket in reach is filled and the rings roll). Reports the bytes held by the
//! sketches and buckets (`TopStatistics::memory_bytes`, capacities counted) against the stated
//! bound (`table::top::memory_bound`), and the process's resident set before and after as a
//! cross-check. Exits 1 when the bytes held are over the bound.

use sessmgr::table::top::{TopStatistics, Window, memory_bound};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Resident set size in bytes (Linux), 0 where unknown.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sources: u64 = args
        .get(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let seconds: u64 = args
        .get(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or(31 * 86_400);
    let start_ms: u64 = 1_780_000_000_000;
    let rss_before = rss_bytes();
    let mut top = TopStatistics::default();
    let started = std::time::Instant::now();
    let mut peak_held = 0usize;
    for i in 0..sources {
        let src = if i % 8 == 7 {
            IpAddr::V6(Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(i)))
        } else {
            IpAddr::V4(Ipv4Addr::from(0x0a00_0000u32.wrapping_add(i as u32)))
        };
        let dst = IpAddr::V4(
            Ipv4Addr::new(192, 0, 2, 0)
                .to_bits()
                .wrapping_add((i % 1000) as u32)
                .into(),
        );
        let at = start_ms + i.saturating_mul(seconds * 1000) / sources.max(1);
        top.record(src, dst, at);
        if i % 1_000_000 == 0 {
            peak_held = peak_held.max(top.memory_bytes());
        }
    }
    let end_ms = start_ms + seconds * 1000;
    let held = top.memory_bytes().max(peak_held);
    let bound = memory_bound();
    let rss_after = rss_bytes();
    let hour = top.window(Window::LastHour, end_ms);
    let month = top.window(Window::Last30Days, end_ms);
    println!(
        "fed {sources} distinct sources over {seconds} s in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("held by top statistics: {held} bytes (most seen while feeding and at the end)");
    println!("stated bound:           {bound} bytes");
    println!(
        "resident set: {} -> {} bytes (+{})",
        rss_before,
        rss_after,
        rss_after.saturating_sub(rss_before)
    );
    println!(
        "last hour: {} sessions counted, error bound {}; last 30 days: {} counted, error bound {}",
        hour.sources.total, hour.sources.error, month.sources.total, month.sources.error
    );
    if held > bound {
        eprintln!("over the bound");
        std::process::exit(1);
    }
}
