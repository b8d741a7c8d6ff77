//! Memory that returns (issue #10): 100 cycles of filling the table with a burst of new
//! sessions and letting it age out end within a few MB of where they started, both in what
//! the shard's structures hold and in the process's resident memory.
//!
//! Before the fix every burst left its second's aging-wheel bucket as large as the burst:
//! 100 bursts of 50,000 sessions grew the wheel by about 50 MB, linearly.
//!
//! One test in its own binary: the resident set is this process's alone.

mod common;

use common::packets::udp;
use sessmgr::proto::key::FlowHasher;
use sessmgr::table::{Shard, TableConfig};

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;
const BURST: u32 = 50_000;
const CYCLES: u64 = 100;

/// Resident memory of this process, bytes (Linux `/proc/self/statm`).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn a_hundred_fill_and_drain_cycles_end_where_they_started() {
    let cfg = TableConfig {
        capacity: BURST as usize,
        ..TableConfig::default()
    };
    let mut sh = Shard::new(0, cfg, FlowHasher::with_seed(9));
    let mut structures = Vec::new();
    let mut rss = Vec::new();
    for cycle in 0..CYCLES {
        // Each burst in its own second (a new wheel bucket each time), 40 s apart: UDP OPEN
        // ages out after 30 s.
        let start = T0 + cycle * 40 * S;
        for i in 0..BURST {
            let src = [198, 18, (i >> 8) as u8, i as u8];
            let t = sh.track(
                &udp(src, 1024 + (i % 60_000) as u16, [198, 19, 0, 1], 9),
                start,
            );
            assert!(t.slot.is_some(), "cycle {cycle}: packet {i} refused");
        }
        assert_eq!(sh.len(), BURST as usize, "cycle {cycle}: full");
        structures.push(sh.memory_bytes());
        rss.push(rss_bytes());
        // Time passes in ticks, as on a core.
        for k in 1..=40 {
            sh.expire(start + k * S, 4096);
        }
        sh.expire(start + 40 * S, usize::MAX);
        assert!(sh.is_empty(), "cycle {cycle}: drained");
    }
    let (first, last) = (structures[1], structures[CYCLES as usize - 1]);
    assert!(
        last <= first + (1 << 20),
        "the shard's structures grew from {first} to {last} bytes over {CYCLES} cycles"
    );
    if let (Some(Some(first)), Some(Some(last))) = (rss.get(1), rss.last()) {
        eprintln!("resident at a full table: cycle 2 {first} B, cycle {CYCLES} {last} B");
        assert!(
            *last <= first + (4 << 20),
            "resident memory at a full table grew from {first} to {last} bytes over {CYCLES} cycles"
        );
    }
}
