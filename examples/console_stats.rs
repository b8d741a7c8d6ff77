//! Measures the `display session statistics` query path at a large table (issue #4: under
//! 50 ms at 10M sessions): what each core does to answer `CoreMsg::Statistics`
//! (`table::query::statistics_page`: the census for an unfiltered query), then the console's
//! merge and render. For comparison, the walk of a whole shard (every page of a query whose
//! filter selects every session: what the answer cost before the census), one page of a
//! filtered query, and one `display session table` page (`table::query::rows_page`) at that
//! size; then every `PAGE_ROWS` page of a full listing of one shard (issue #11: what one
//! `CoreMsg::Rows` answer stalls its core).
//!
//! `cargo run --profile tools --example console_stats -- [SESSIONS] [CORES] [RUNS]`
//! (defaults 10000000 2 15). Sessions are spread evenly over the cores' shards, half UDP,
//! half TCP (SYN seen), all live. Prints per-run figures: each core's pass and their sum
//! (the console waits for every core; on one physical core they run one after the other),
//! and the merge + render.

use sessmgr::ctl::render::render_statistics;
use sessmgr::pipeline::Pipeline;
use sessmgr::proto::frag::FragLimits;
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::LinkType;
use sessmgr::table::TableConfig;
use sessmgr::table::query::{
    PAGE_ROWS, SCAN_LIVE, SessionFilter, StatisticsCounts, rows_page, statistics_page,
};
use std::time::{Duration, Instant};

const T0: u64 = 1_700_000_000_000_000_000;

/// Ethernet + IPv4 + UDP (to port 53) or TCP SYN (to port 80) of session `i` of core `core`.
fn frame(core: u8, i: u32) -> [u8; 54] {
    let mut f = [0u8; 54];
    f[12] = 0x08;
    let tcp = i % 2 == 1;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(if tcp { 40u16 } else { 28 }).to_be_bytes());
    ip[8] = 64;
    ip[9] = if tcp { 6 } else { 17 };
    ip[12..16].copy_from_slice(&[10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
    ip[16..20].copy_from_slice(&[198, 18, core, 1]);
    let l4 = &mut f[34..54];
    l4[0..2].copy_from_slice(&(1024 + (i >> 24) as u16).to_be_bytes());
    if tcp {
        l4[2..4].copy_from_slice(&80u16.to_be_bytes());
        l4[4..8].copy_from_slice(&1000u32.to_be_bytes());
        l4[12] = 5 << 4;
        l4[13] = 0x02;
        l4[14..16].copy_from_slice(&65535u16.to_be_bytes());
    } else {
        l4[2..4].copy_from_slice(&53u16.to_be_bytes());
        l4[4..6].copy_from_slice(&8u16.to_be_bytes());
    }
    f
}

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let sessions = arg(1, 10_000_000) as u32;
    let cores = arg(2, 2).max(1) as u8;
    let runs = arg(3, 15).max(1) as usize;
    let per_core = sessions / u32::from(cores);

    let t = Instant::now();
    let mut shards: Vec<Pipeline> = (0..cores)
        .map(|c| {
            let cfg = TableConfig {
                capacity: per_core as usize + 1,
                statistics: true,
                ..TableConfig::default()
            };
            let mut p = Pipeline::new(c, cfg, FragLimits::default(), FlowHasher::with_seed(7));
            p.shard.reserve(per_core as usize + 1);
            for i in 0..per_core {
                p.process_frame(LinkType::Ethernet, &frame(c, i), T0);
            }
            p
        })
        .collect();
    let live: usize = shards.iter().map(|p| p.shard.len()).sum();
    eprintln!(
        "filled {cores} shards with {live} sessions in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(live, (per_core * u32::from(cores)) as usize);

    let filter = SessionFilter::default();
    let mut totals = Vec::new();
    println!("run  per-core pass (ms)        sum (ms)  merge+render (ms)  total (ms)");
    for run in 0..runs {
        let mut per = Vec::new();
        let mut parts = Vec::new();
        for p in &mut shards {
            let t = Instant::now();
            parts.push(statistics_page(&p.shard, None, &filter, 0).0);
            per.push(t.elapsed());
        }
        let t = Instant::now();
        let mut v = StatisticsCounts::default();
        for part in &parts {
            v.merge(part);
        }
        let text = render_statistics(&v);
        let render = t.elapsed();
        std::hint::black_box(&text);
        let sum: Duration = per.iter().sum();
        totals.push(sum + render);
        let per_s: Vec<String> = per.iter().map(|d| format!("{:.3}", ms(*d))).collect();
        println!(
            "{run:>3}  {:<24}  {:>8.3}  {:>17.3}  {:>10.3}",
            per_s.join(" "),
            ms(sum),
            ms(render),
            ms(sum + render)
        );
        if run == 0 {
            assert!(
                text.contains(&format!("Current sessions: {live}")),
                "the statistics do not count every session:\n{text}"
            );
        }
    }
    totals.sort();
    println!(
        "statistics at {live} sessions, {cores} shards: min {:.3} ms, median {:.3} ms, max {:.3} ms",
        ms(totals[0]),
        ms(totals[totals.len() / 2]),
        ms(totals[totals.len() - 1])
    );

    // The walk the census replaced, and one page of a filtered query (bounded work).
    // Every IPv4 address: selects every session, so the shard is walked page by page.
    let everything = SessionFilter {
        source_ip: Some((
            std::net::Ipv4Addr::UNSPECIFIED.into(),
            Some(std::net::Ipv4Addr::BROADCAST.into()),
        )),
        ..SessionFilter::default()
    };
    let t = Instant::now();
    let mut walked = StatisticsCounts::default();
    let mut from = Some(0u32);
    while let Some(start) = from {
        let (part, next) = statistics_page(&shards[0].shard, None, &everything, start);
        walked.merge(&part);
        from = next;
    }
    let walk = t.elapsed();
    assert_eq!(
        walked.sessions,
        u64::from(per_core),
        "the walk counts the shard"
    );
    let tcp_only = SessionFilter {
        protocol: Some(sessmgr::proto::Protocol::Tcp),
        ..SessionFilter::default()
    };
    let t = Instant::now();
    let (_, next) = statistics_page(&shards[0].shard, None, &tcp_only, 0);
    let filtered_page = t.elapsed();
    println!(
        "walk of one {per_core}-session shard: {:.1} ms; one filtered statistics page: {:.3} ms (next page at {next:?})",
        ms(walk),
        ms(filtered_page)
    );

    // One `display session table` page from the first shard, for comparison: bounded work.
    let mut pages = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let page = rows_page(&shards[0].shard, None, &filter, 0, 64);
        pages.push(t.elapsed());
        std::hint::black_box(page);
    }
    pages.sort();
    println!(
        "table page (64 rows) from a shard of {per_core}: median {:.3} ms",
        ms(pages[pages.len() / 2])
    );

    // A full listing's pages (issue #11): what each `CoreMsg::Rows` answer of `PAGE_ROWS`
    // costs the core, over the whole first shard.
    let mut pages = Vec::new();
    let (mut from, mut rows) = (Some(0u32), 0usize);
    let t = Instant::now();
    while let Some(start) = from {
        let t = Instant::now();
        let page = rows_page(&shards[0].shard, None, &filter, start, PAGE_ROWS);
        pages.push(t.elapsed());
        rows += page.rows.len();
        from = page.next;
        std::hint::black_box(page);
    }
    let walk = t.elapsed();
    assert_eq!(rows, per_core as usize, "the pages list the shard");
    // A filter that selects nothing: each page tests its `SCAN_LIVE` sessions, copies no row.
    let nothing = SessionFilter {
        destination_port: Some(9),
        ..SessionFilter::default()
    };
    let mut empty = Vec::new();
    let mut from = Some(0u32);
    while let Some(start) = from {
        let t = Instant::now();
        let page = rows_page(&shards[0].shard, None, &nothing, start, PAGE_ROWS);
        empty.push(t.elapsed());
        assert!(page.rows.is_empty());
        from = page.next;
    }
    empty.sort();
    println!(
        "listing pages selecting nothing ({SCAN_LIVE} sessions): {} pages, median {:.3} ms, max {:.3} ms",
        empty.len(),
        ms(empty[empty.len() / 2]),
        ms(empty[empty.len() - 1])
    );
    pages.sort();
    println!(
        "listing pages ({PAGE_ROWS} rows) over a shard of {per_core}: {} pages, median {:.3} ms, \
         p99 {:.3} ms, max {:.3} ms per page; {:.0} rows/s copied",
        pages.len(),
        ms(pages[pages.len() / 2]),
        ms(pages[pages.len() * 99 / 100]),
        ms(pages[pages.len() - 1]),
        rows as f64 / walk.as_secs_f64()
    );
}
