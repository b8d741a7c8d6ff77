//! The DESIGN.md §3 targets, measured (criterion; release build, packets from memory):
//! established-flow pipeline at 64K / 1M / 10M sessions, new-session rate, memory per
//! session (RSS / sessions), and aging cost at 10M sessions.
//!
//! `SESSMGR_BENCH_MAX_SESSIONS` caps the table sizes (default 10M) for quick runs.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sessmgr::pipeline::Pipeline;
use sessmgr::proto::frag::FragLimits;
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::LinkType;
use sessmgr::table::TableConfig;
use sessmgr::table::shard::PrefetchPlan;
use std::hint::black_box;
use std::time::{Duration, Instant};

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;

/// An Ethernet + IPv4 + TCP frame (no payload) for flow number `i`.
fn tcp_frame(i: u32, reply: bool, flags: u8, seq: u32, ack: u32) -> [u8; 54] {
    let mut f = [0u8; 54];
    f[12] = 0x08; // IPv4
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&40u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    // Clients 10.x.y.z (one per flow), one server 198.18.0.1: flows differ by client address and port.
    let client = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let server = [198, 18, 0, 1];
    let (src, dst) = if reply {
        (server, client)
    } else {
        (client, server)
    };
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let cport = 1024 + (i >> 24) as u16;
    let (sp, dp) = if reply {
        (8080u16, cport)
    } else {
        (cport, 8080u16)
    };
    let tcp = &mut f[34..54];
    tcp[0..2].copy_from_slice(&sp.to_be_bytes());
    tcp[2..4].copy_from_slice(&dp.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    f
}

const SYN: u8 = 0x02;
const SYNACK: u8 = 0x12;
const ACK: u8 = 0x10;

fn pipeline(capacity: usize) -> Pipeline {
    let cfg = TableConfig {
        capacity,
        statistics: true,
        ..TableConfig::default()
    };
    let mut p = Pipeline::new(0, cfg, FragLimits::default(), FlowHasher::with_seed(9));
    p.shard.reserve(capacity);
    // As in the engine: the shared relation table is attached (a miss checks its hint).
    p.shard.algs.attach(Default::default());
    p
}

/// 64K ACK frames on flows drawn at random (xorshift, fixed seed) among the first `n`,
/// both directions in turn.
fn random_acks(n: u32) -> Vec<[u8; 54]> {
    let mut x = 0x9e37_79b9u32;
    (0..65_536)
        .map(|k| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let i = x % n;
            if k % 2 == 0 {
                tcp_frame(i, false, ACK, 1001, 5001)
            } else {
                tcp_frame(i, true, ACK, 5001, 1001)
            }
        })
        .collect()
}

/// Opens `n` established TCP sessions.
fn establish(p: &mut Pipeline, n: u32) {
    for i in 0..n {
        p.process_frame(LinkType::Ethernet, &tcp_frame(i, false, SYN, 1000, 0), T0);
        p.process_frame(
            LinkType::Ethernet,
            &tcp_frame(i, true, SYNACK, 5000, 1001),
            T0,
        );
        p.process_frame(
            LinkType::Ethernet,
            &tcp_frame(i, false, ACK, 1001, 5001),
            T0,
        );
    }
}

fn max_sessions() -> u32 {
    std::env::var("SESSMGR_BENCH_MAX_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn established(c: &mut Criterion) {
    let mut g = c.benchmark_group("established_pipeline");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    let mut sizes: Vec<u32> = [65_536u32, 1 << 20, 10_000_000]
        .iter()
        .map(|&n| n.min(max_sessions()))
        .collect();
    sizes.dedup();
    for n in sizes {
        // All-in: the table's index (filled when reserved) counts as much as its records.
        let rss0 = rss_bytes();
        let mut p = pipeline(n as usize);
        establish(&mut p, n);
        let rss = rss_bytes().saturating_sub(rss0);
        eprintln!(
            "sessions={n}: RSS growth all-in {} MiB = {:.1} B/session (shard accounting {:.1} B/session)",
            rss >> 20,
            rss as f64 / f64::from(n),
            p.shard.memory_bytes() as f64 / f64::from(n)
        );
        // 64K pre-built ACK frames on random flows, both directions.
        let frames = random_acks(n);
        g.throughput(Throughput::Elements(frames.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("frame_by_frame", n),
            &frames,
            |b, frames| {
                b.iter(|| {
                    for f in frames {
                        black_box(p.process_frame(LinkType::Ethernet, f, T0 + S));
                    }
                })
            },
        );
        // The way the runtime feeds a core: RX batches of 32 frames.
        let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
        let mut out = Vec::with_capacity(64);
        g.bench_with_input(BenchmarkId::new("batch_32", n), &refs, |b, refs| {
            b.iter(|| {
                for batch in refs.chunks(32) {
                    out.clear();
                    p.process_batch(LinkType::Ethernet, batch, T0 + S, &mut out);
                    black_box(&out);
                }
            })
        });
        // Each prefetch step on its own (issue #15): batching alone, plus the index cells,
        // plus every record before the first state machine, plus records a few packets ahead
        // (the engine's default, measured above as batch_32).
        let steps = [
            ("batch_32_no_prefetch", false, 0),
            ("batch_32_cells", true, 0),
            ("batch_32_cells_all_records", true, usize::MAX),
        ];
        for (name, cells, records_ahead) in steps {
            p.shard.prefetch = PrefetchPlan {
                cells,
                records_ahead,
            };
            g.bench_with_input(BenchmarkId::new(name, n), &refs, |b, refs| {
                b.iter(|| {
                    for batch in refs.chunks(32) {
                        out.clear();
                        p.process_batch(LinkType::Ethernet, batch, T0 + S, &mut out);
                        black_box(&out);
                    }
                })
            });
        }
        p.shard.prefetch = PrefetchPlan::default();
    }
    g.finish();
}

/// Issue #12: the established pipeline with session logging off, on with flow-begin and
/// flow-end only (no thresholds: the packet path tests one flag), and on with a traffic
/// threshold that is never reached (one compare per packet). Every session is logged.
fn established_logging(c: &mut Criterion) {
    use sessmgr::table::log::{LogSelect, PortLog, SessionLogConfig, TrafficThreshold};
    let mut g = c.benchmark_group("established_logging");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    let all = vec![PortLog {
        v4: vec![LogSelect::All],
        v6: Vec::new(),
    }];
    let variants = [
        ("off", SessionLogConfig::default()),
        (
            "begin_end",
            SessionLogConfig {
                flow_begin: true,
                flow_end: true,
                ports: all.clone(),
                ..Default::default()
            },
        ),
        (
            "bytes_active",
            SessionLogConfig {
                flow_begin: true,
                flow_end: true,
                traffic: Some(TrafficThreshold::Bytes(100_000)),
                ports: all,
                ..Default::default()
            },
        ),
        // The first pipeline gets fresh memory, later ones memory the earlier ones freed:
        // logging off again, last, shows what the order alone changes.
        ("off_again", SessionLogConfig::default()),
    ];
    let mut sizes: Vec<u32> = [65_536u32, 1 << 20]
        .iter()
        .map(|&n| n.min(max_sessions()))
        .collect();
    sizes.dedup();
    for n in sizes {
        let frames = random_acks(n);
        let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
        g.throughput(Throughput::Elements(frames.len() as u64));
        for (name, log) in &variants {
            let mut p = pipeline(n as usize);
            let mut cfg = p.shard.config.clone();
            cfg.session_log = log.clone();
            p.shard.set_config(cfg);
            establish(&mut p, n);
            let mut events = Vec::new();
            p.shard.take_events(&mut events);
            assert_eq!(
                events.len(),
                if name.starts_with("off") {
                    0
                } else {
                    n as usize
                },
                "every session logged at creation"
            );
            drop(events);
            let mut out = Vec::with_capacity(64);
            g.bench_with_input(BenchmarkId::new(*name, n), &refs, |b, refs| {
                b.iter(|| {
                    for batch in refs.chunks(32) {
                        out.clear();
                        p.process_batch(LinkType::Ethernet, batch, T0 + S, &mut out);
                        black_box(&out);
                    }
                })
            });
        }
    }
    g.finish();
}

/// Issue #16: the established pipeline with session synchronization off and on. On, an
/// established packet changes no state and costs the sync scope's flag test only; the
/// half-TTL refresh runs in the aging wheel, not per packet (measured apart, in `aging`).
fn established_sync(c: &mut Criterion) {
    let mut g = c.benchmark_group("established_sync");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    let mut sizes: Vec<u32> = [65_536u32, 1 << 20]
        .iter()
        .map(|&n| n.min(max_sessions()))
        .collect();
    sizes.dedup();
    for n in sizes {
        let frames = random_acks(n);
        let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
        g.throughput(Throughput::Elements(frames.len() as u64));
        for (name, on) in [("off", false), ("on", true), ("off_again", false)] {
            let mut p = pipeline(n as usize);
            let mut cfg = p.shard.config.clone();
            cfg.sync.enabled = on;
            p.shard.set_config(cfg);
            establish(&mut p, n);
            let mut items = Vec::new();
            p.shard.take_sync(&mut items);
            assert_eq!(items.is_empty(), !on, "creations are reported only when on");
            drop(items);
            let mut out = Vec::with_capacity(64);
            let mut items = Vec::new();
            g.bench_with_input(BenchmarkId::new(name, n), &refs, |b, refs| {
                b.iter(|| {
                    for batch in refs.chunks(32) {
                        out.clear();
                        p.process_batch(LinkType::Ethernet, batch, T0 + S, &mut out);
                        black_box(&out);
                    }
                    // What a core does once per turn.
                    p.shard.take_sync(&mut items);
                    items.clear();
                })
            });
        }
    }
    g.finish();
}

fn new_sessions(c: &mut Criterion) {
    let mut g = c.benchmark_group("new_sessions");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    g.bench_function("create+index+aging", |b| {
        b.iter_custom(|iters| {
            let mut p = pipeline(iters as usize + 1);
            let frames: Vec<[u8; 54]> = (0..iters as u32)
                .map(|i| tcp_frame(i, false, SYN, 1000, 0))
                .collect();
            let start = Instant::now();
            for f in &frames {
                black_box(p.process_frame(LinkType::Ethernet, f, T0));
            }
            start.elapsed()
        })
    });
    g.finish();
}

/// T2: what top statistics add to a new session. `top_off` is the default engine (one flag
/// test at creation); `top_on` counts every new session by source and destination, here with
/// a new client address per session, the sketch's worst case (every source is new, so each
/// takes the smallest counter's place). Run both, alternated, before and after a change.
fn new_sessions_top_statistics(c: &mut Criterion) {
    let mut g = c.benchmark_group("new_sessions_top_statistics");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    for (name, on) in [("create/top_off", false), ("create/top_on", true)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut p = pipeline(iters as usize + 1);
                let mut cfg = p.shard.config.clone();
                cfg.top_statistics = on;
                p.shard.set_config(cfg);
                let frames: Vec<[u8; 54]> = (0..iters as u32)
                    .map(|i| tcp_frame(i, false, SYN, 1000, 0))
                    .collect();
                let start = Instant::now();
                run_batched(&mut p, &frames, T0);
                start.elapsed()
            })
        });
    }
    g.finish();
}

/// S8 at a full table: what a new session costs when it is created in free room, when it
/// evicts an unanswered session (early drop), and when it is refused (a table of established
/// sessions, early drop on or off). The refusal and eviction paths must cost no more than a
/// creation: a flood at a full table must not slow the engine.
fn table_full(c: &mut Criterion) {
    const CAPACITY: u32 = 100_000;
    let mut g = c.benchmark_group("table_full");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    // New flows never seen before, numbered from `CAPACITY` on (0.. fill the table).
    let fresh = |iters: u64| -> Vec<[u8; 54]> {
        (0..iters as u32)
            .map(|i| tcp_frame(CAPACITY + i % (u32::MAX - CAPACITY), false, SYN, 1000, 0))
            .collect()
    };
    g.bench_function("create_in_free_room", |b| {
        b.iter_custom(|iters| {
            let mut p = pipeline(CAPACITY as usize + iters as usize);
            for i in 0..CAPACITY {
                p.process_frame(LinkType::Ethernet, &tcp_frame(i, false, SYN, 1000, 0), T0);
            }
            let frames = fresh(iters);
            let start = Instant::now();
            run_batched(&mut p, &frames, T0);
            start.elapsed()
        })
    });
    g.bench_function("evict_unanswered", |b| {
        b.iter_custom(|iters| {
            let mut p = pipeline(CAPACITY as usize);
            for i in 0..CAPACITY {
                p.process_frame(LinkType::Ethernet, &tcp_frame(i, false, SYN, 1000, 0), T0);
            }
            let frames = fresh(iters);
            let start = Instant::now();
            run_batched(&mut p, &frames, T0);
            let took = start.elapsed();
            assert_eq!(p.shard.stats.evicted, iters);
            took
        })
    });
    for early_drop in [true, false] {
        let name = if early_drop {
            "refuse_established_early_drop_on"
        } else {
            "refuse_established_early_drop_off"
        };
        let mut p = pipeline(CAPACITY as usize);
        establish(&mut p, CAPACITY);
        let mut cfg = p.shard.config.clone();
        cfg.early_drop = early_drop;
        p.shard.set_config(cfg);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let frames = fresh(iters);
                let refused = p.shard.stats.refused;
                let start = Instant::now();
                run_batched(&mut p, &frames, T0 + S);
                let took = start.elapsed();
                assert_eq!(p.shard.stats.refused - refused, iters);
                took
            })
        });
    }
    g.finish();
}

/// Feeds frames in receive batches of 32, as the runtime does.
fn run_batched(p: &mut Pipeline, frames: &[[u8; 54]], at: u64) {
    let mut out = Vec::with_capacity(64);
    for chunk in frames.chunks(32) {
        let refs: [&[u8]; 32] = std::array::from_fn(|k| chunk.get(k).map_or(&[][..], |f| &f[..]));
        out.clear();
        p.process_batch(LinkType::Ethernet, &refs[..chunk.len()], at, &mut out);
        black_box(&out);
    }
}

fn aging(c: &mut Criterion) {
    let n = 10_000_000u32.min(max_sessions());
    let mut g = c.benchmark_group("aging");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    // 10M sessions created over 30 virtual seconds as half-open SYNs (30 s SYN aging), so that
    // each virtual second about 1/30 of the table falls due: churn of 333K sessions/s.
    let mut p = pipeline(n as usize);
    for i in 0..n {
        let at = T0 + u64::from(i) * 30 * S / u64::from(n);
        p.process_frame(LinkType::Ethernet, &tcp_frame(i, false, SYN, 1000, 0), at);
    }
    let mut now = T0 + 30 * S;
    let budget = 4096;
    let mut worst = Duration::ZERO;
    g.throughput(Throughput::Elements(budget as u64));
    g.bench_function(BenchmarkId::new("expire_batch_of", budget), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if p.shard.is_empty() {
                    // Refill: the measurement keeps running on a full table.
                    for i in 0..n {
                        p.process_frame(
                            LinkType::Ethernet,
                            &tcp_frame(i, false, SYN, 1000, 0),
                            now,
                        );
                    }
                    now += 30 * S;
                }
                let t = Instant::now();
                let done = p.shard.expire(now, budget);
                let e = t.elapsed();
                worst = worst.max(e);
                total += e;
                if done == 0 {
                    now += S;
                }
            }
            total
        })
    });
    eprintln!("aging: worst single expire() call with budget {budget}: {worst:?}");
    g.finish();
}

/// An Ethernet + IPv4 + TCP frame with a payload.
#[allow(clippy::too_many_arguments)]
fn segment(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = vec![0u8; 54 + payload.len()];
    f[12] = 0x08;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((40 + payload.len()) as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let tcp = &mut f[34..54];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    f[54..].copy_from_slice(payload);
    f
}

/// Relation entries cost the established pipeline nothing (issue #9): 100,000 live entries
/// (a busy SIP gateway's worth), published by real FTP control sessions on this core (each
/// sends a PORT), beside 64K established flows whose ACKs are measured while the clock runs
/// (a tick every 10 ms of engine time looks at this core's expiry queue; the clock moves 10 ms
/// per 65,536 frames, as it would at 6.5 Mpps, so every iteration ticks once and the entries,
/// which live 300 s, stay live through the measurement). The same flows with no entry at all
/// are the reference.
fn relation_entries(c: &mut Criterion) {
    relation_entries_of(c, "relation_entries", ftp_port);
    // Issue #14: the same with 100,000 live SIP media expectations, published by 50,000
    // SIP signalling sessions over UDP, each with one INVITE offering audio (RTP + RTCP).
    relation_entries_of(c, "relation_entries_sip", sip_invite);
}

/// The frames by which control session `i` publishes entries, and how many it publishes.
type Publisher = fn(u32) -> (Vec<Vec<u8>>, u32);

/// FTP: a handshake and a PORT (one entry).
fn ftp_port(i: u32) -> (Vec<Vec<u8>>, u32) {
    let client = [10, 200 + (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let server = [198, 19, 0, 21];
    let cport = 20_000 + (i % 40_000) as u16;
    let port = format!(
        "PORT {},{},{},{},{},{}\r\n",
        client[0],
        client[1],
        client[2],
        client[3],
        50_000 / 256,
        50_000 % 256
    );
    let frames = vec![
        segment(client, cport, server, 21, SYN, 1000, 0, b""),
        segment(server, 21, client, cport, SYNACK, 5000, 1001, b""),
        segment(client, cport, server, 21, ACK, 1001, 5001, b""),
        segment(
            client,
            cport,
            server,
            21,
            ACK | 0x08,
            1001,
            5001,
            port.as_bytes(),
        ),
    ];
    (frames, 1)
}

/// SIP over UDP: one INVITE whose SDP offers audio (two entries: RTP and RTCP).
fn sip_invite(i: u32) -> (Vec<Vec<u8>>, u32) {
    let client = [10, 200 + (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let addr = format!("{}.{}.{}.{}", client[0], client[1], client[2], client[3]);
    let body = format!(
        "v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
    );
    let msg = format!(
        "INVITE sip:b@198.19.0.5 SIP/2.0\r\nCall-ID: {i}@{addr}\r\nCSeq: 1 INVITE\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    (
        vec![udp_frame(
            client,
            5060,
            [198, 19, 0, 5],
            5060,
            msg.as_bytes(),
        )],
        2,
    )
}

/// An Ethernet + IPv4 + UDP frame.
fn udp_frame(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 42];
    f[12] = 0x08;
    let total = (28 + payload.len()) as u16;
    f[14] = 0x45;
    f[16..18].copy_from_slice(&total.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&src);
    f[30..34].copy_from_slice(&dst);
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[38..40].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn relation_entries_of(c: &mut Criterion, group: &str, publish: Publisher) {
    use sessmgr::table::relation::RelationTable;
    use std::sync::Arc;
    let mut g = c.benchmark_group(group);
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    let flows = 65_536u32;
    for entries in [0u32, 100_000] {
        let mut p = pipeline(flows as usize + entries as usize + 1);
        p.shard
            .algs
            .attach(Arc::new(RelationTable::new(2 * entries as usize + 1)));
        establish(&mut p, flows);
        let mut published = 0;
        let mut i = 0;
        while published < entries {
            let (frames, n) = publish(i);
            for f in frames {
                p.process_frame(LinkType::Ethernet, &f, T0);
            }
            published += n;
            i += 1;
        }
        let live = p.shard.algs.relations().map_or(0, |t| t.len());
        assert_eq!(live, entries as usize, "entries published");
        let frames = random_acks(flows);
        let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
        let mut out = Vec::with_capacity(64);
        let mut now = T0 + S;
        g.throughput(Throughput::Elements(frames.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("batch_32_clock_running", entries),
            &refs,
            |b, refs| {
                b.iter(|| {
                    now += 10_000_000;
                    for batch in refs.chunks(32) {
                        out.clear();
                        p.process_batch(LinkType::Ethernet, batch, now, &mut out);
                        black_box(&out);
                    }
                })
            },
        );
        let still = p.shard.algs.relations().map_or(0, |t| t.len());
        eprintln!(
            "relation entries: {still} live after {:.0} s of engine time, {} tickets queued",
            (now - T0 - S) as f64 / 1e9,
            p.shard.algs.queued()
        );
        assert_eq!(
            still, entries as usize,
            "entries expired during the measurement"
        );
    }
    g.finish();
}

criterion_group!(
    benches,
    established,
    established_logging,
    established_sync,
    new_sessions,
    new_sessions_top_statistics,
    table_full,
    aging,
    relation_entries
);
criterion_main!(benches);
