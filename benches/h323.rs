//! What the H.323 ALG costs (issue #17): the PER walk alone of a Setup with fast start and of
//! an H.245 OpenLogicalChannel, and each through the engine (TPKT reassembly, Q.931, the walk,
//! publishing the relation entries): the Setup on an H.225.0 call-signalling session (three
//! entries: H.245, RTP, RTCP), the OpenLogicalChannel on the H.245 session the Setup announced
//! (two entries). Figures in docs/performance.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sessmgr::alg::h323::per::{self, Found, Mark};
use sessmgr::alg::h323::{h225, h245, q931};
use sessmgr::pipeline::Pipeline;
use sessmgr::proto::frag::FragLimits;
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::LinkType;
use sessmgr::table::TableConfig;
use std::hint::black_box;
use std::time::{Duration, Instant};

use frames::{ACK, PSH, SYN};

#[path = "../tests/common/frames.rs"]
#[allow(dead_code)]
mod frames;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
        .collect()
}

/// A Setup (TPKT, Q.931, H.225.0) with `h245Address` 10.1.3.143:1300 and one fast-start
/// channel whose media control channel is 10.1.3.143:5001 (built by the ALG's tests from the
/// OpenLogicalChannel of ndpi-h323 frame 38).
const SETUP: &str = "0300004808021234057e003c0500c0060008914a0004000a01038f05140000111111111111111111111111111111110030101501130000640c201d800b0d0001000a01038f138980";
/// ndpi-h323 frame 38: an H.245 OpenLogicalChannel (TPKT) from 10.1.3.143, media control
/// channel 10.1.3.143:5001.
const OLC: &str = "03000018030000640c201d800b0d0001000a01038f138980";

/// The message with the announcing address 10.1.3.143 replaced by `ip`.
fn with_address(msg: &str, ip: [u8; 4]) -> Vec<u8> {
    let mut m = hex(msg);
    let old = [10, 1, 3, 143];
    let mut i = 0;
    while i + 4 <= m.len() {
        if m[i..i + 4] == old {
            m[i..i + 4].copy_from_slice(&ip);
        }
        i += 1;
    }
    m
}

fn client(i: u32) -> [u8; 4] {
    [198, 18, (i >> 8) as u8, i as u8]
}
const SERVER: [u8; 4] = [198, 19, 0, 2];

fn engine(capacity: usize) -> Pipeline {
    let cfg = TableConfig {
        capacity,
        ..TableConfig::default()
    };
    let mut p = Pipeline::new(0, cfg, FragLimits::default(), FlowHasher::with_seed(5));
    p.shard.reserve(capacity);
    p.shard.algs.attach(Default::default());
    p
}

const NOW: u64 = 1_000_000_000;

/// `n` call-signalling sessions (client port 40000 to 1720), established.
fn calls(p: &mut Pipeline, n: u32) {
    for i in 0..n {
        let c = client(i);
        for f in [
            frames::tcp4(c, 40000, SERVER, 1720, SYN, 999, 0, b""),
            frames::tcp4(SERVER, 1720, c, 40000, SYN | ACK, 4999, 1000, b""),
            frames::tcp4(c, 40000, SERVER, 1720, ACK, 1000, 5000, b""),
        ] {
            p.process_frame(LinkType::Ethernet, &f, NOW);
        }
    }
}

/// Setup number `round` of call `i` (each further on in the stream: none is a retransmission).
fn setup(i: u32, round: u32) -> Vec<u8> {
    let m = with_address(SETUP, client(i));
    let seq = 1000 + round * m.len() as u32;
    frames::tcp4(client(i), 40000, SERVER, 1720, PSH | ACK, seq, 5000, &m)
}

/// After each call's first Setup, its H.245 connection (the server to the client's 1300,
/// claiming the entry), established.
fn h245_sessions(p: &mut Pipeline, n: u32) {
    for i in 0..n {
        let c = client(i);
        p.process_frame(LinkType::Ethernet, &setup(i, 0), NOW);
        for f in [
            frames::tcp4(SERVER, 50000, c, 1300, SYN, 7999, 0, b""),
            frames::tcp4(c, 1300, SERVER, 50000, SYN | ACK, 2999, 8000, b""),
            frames::tcp4(SERVER, 50000, c, 1300, ACK, 8000, 3000, b""),
        ] {
            p.process_frame(LinkType::Ethernet, &f, NOW);
        }
    }
}

/// OpenLogicalChannel number `round` from client `i` on its H.245 session.
fn olc(i: u32, round: u32) -> Vec<u8> {
    let m = with_address(OLC, client(i));
    let seq = 3000 + round * m.len() as u32;
    frames::tcp4(client(i), 1300, SERVER, 50000, PSH | ACK, seq, 8000, &m)
}

fn time_frames(iters: u64, mut setup: impl FnMut() -> (Pipeline, Vec<Vec<u8>>)) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0u64;
    while done < iters {
        let (mut p, frames) = setup();
        let start = Instant::now();
        for f in &frames {
            black_box(p.process_frame(LinkType::Ethernet, f, 2 * NOW));
        }
        total += start.elapsed();
        done += frames.len() as u64;
    }
    total.mul_f64(iters as f64 / done as f64)
}

/// The scenario publishes what it claims to: three entries from a Setup, the H.245
/// connection claims one, the OpenLogicalChannel publishes two (checked before timing
/// anything; they replace the fast-start channel's identical pair).
fn check_scenario() {
    let mut p = engine(1 << 10);
    p.shard.algs.record_published = true;
    calls(&mut p, 1);
    let entries = |p: &Pipeline| p.shard.algs.relations().map_or(0, |t| t.len());
    p.process_frame(LinkType::Ethernet, &setup(0, 0), NOW);
    assert_eq!(
        p.shard.algs.take_published().count(),
        3,
        "the Setup's entries"
    );
    let c = client(0);
    for f in [
        frames::tcp4(SERVER, 50000, c, 1300, SYN, 7999, 0, b""),
        frames::tcp4(c, 1300, SERVER, 50000, SYN | ACK, 2999, 8000, b""),
        frames::tcp4(SERVER, 50000, c, 1300, ACK, 8000, 3000, b""),
    ] {
        p.process_frame(LinkType::Ethernet, &f, NOW);
    }
    assert_eq!(entries(&p), 2, "the H.245 connection claimed its entry");
    p.process_frame(LinkType::Ethernet, &olc(0, 0), NOW);
    assert_eq!(
        p.shard.algs.take_published().count(),
        2,
        "the OpenLogicalChannel's entries"
    );
}

fn h323(c: &mut Criterion) {
    check_scenario();
    let mut g = c.benchmark_group("h323");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    let setup_msg = hex(SETUP);
    let user_info = q931::parse(&setup_msg[4..])
        .map(|q| q.user_info.to_vec())
        .unwrap_or_default();
    g.bench_function("walk_setup_fast_start", |b| {
        b.iter(|| {
            let mut f = Found::default();
            let r = per::walk(black_box(&user_info), &h225::USER_INFO, Mark::None, &mut f);
            black_box((r, f.n_addrs))
        })
    });
    let olc_msg = hex(OLC)[4..].to_vec();
    g.bench_function("walk_open_logical_channel", |b| {
        b.iter(|| {
            let mut f = Found::default();
            let r = per::walk(black_box(&olc_msg), &h245::MESSAGE, Mark::None, &mut f);
            black_box((r, f.n_addrs))
        })
    });
    let (n, rounds) = (2048u32, 8u32);
    g.bench_function("setup_fast_start_published", |b| {
        b.iter_custom(|iters| {
            time_frames(iters, || {
                let mut p = engine(1 << 16);
                calls(&mut p, n);
                let f = (0..rounds)
                    .flat_map(|r| (0..n).map(move |i| setup(i, r)))
                    .collect();
                (p, f)
            })
        })
    });
    g.bench_function("open_logical_channel_published", |b| {
        b.iter_custom(|iters| {
            time_frames(iters, || {
                let mut p = engine(1 << 16);
                calls(&mut p, n);
                h245_sessions(&mut p, n);
                let f = (0..rounds)
                    .flat_map(|r| (0..n).map(move |i| olc(i, r)))
                    .collect();
                (p, f)
            })
        })
    });
    g.finish();
}

criterion_group!(benches, h323);
criterion_main!(benches);
