//! What the ALG machinery costs (issue #5): an FTP control session's 227 reply through the
//! engine (stream reassembly, the parser, publishing the relation entry), and the data
//! connection's first packet claiming it, against a plain new session. Figures in
//! docs/performance.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sessmgr::pipeline::Pipeline;
use sessmgr::proto::frag::FragLimits;
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::LinkType;
use sessmgr::table::TableConfig;
use std::hint::black_box;
use std::time::{Duration, Instant};

use frames::{ACK, PSH, SYN};

/// The tests' frame builder (Ethernet/IPv4/TCP), shared rather than written twice.
#[path = "../tests/common/frames.rs"]
#[allow(dead_code)]
mod frames;

/// Ethernet/IPv4/TCP between 198.18.x.y (client `i`) and 198.19.0.2.
#[allow(clippy::too_many_arguments)]
fn frame(
    i: u32,
    from_server: bool,
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    let client = [198, 18, (i >> 8) as u8, i as u8];
    let server = [198, 19, 0, 2];
    let (src, dst) = if from_server {
        (server, client)
    } else {
        (client, server)
    };
    frames::tcp4(src, sport, dst, dport, flags, seq, ack, payload)
}

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

/// `n` FTP control sessions, established, each about to receive its 227 reply.
fn control_sessions(p: &mut Pipeline, n: u32) {
    for i in 0..n {
        let c = 40000 + (i % 20000) as u16;
        for f in [
            frame(i, false, c, 21, SYN, 999, 0, b""),
            frame(i, true, 21, c, SYN | ACK, 4999, 1000, b""),
            frame(i, false, c, 21, ACK, 1000, 5000, b""),
        ] {
            p.process_frame(LinkType::Ethernet, &f, 1_000_000_000);
        }
    }
}

/// The 227 reply number `round` of control session `i` (each round further on in the server's
/// sequence space, so none is a retransmission).
fn reply_227(i: u32, round: u32) -> Vec<u8> {
    let c = 40000 + (i % 20000) as u16;
    let line = format!(
        "227 Entering Passive Mode (198,19,0,2,{},{}).\r\n",
        100 + i % 100,
        i % 256
    );
    let seq = 5000 + round * line.len() as u32;
    frame(i, true, 21, c, PSH | ACK, seq, 1000, line.as_bytes())
}

fn alg(c: &mut Criterion) {
    let mut g = c.benchmark_group("alg");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    // One 227 reply per control session: stream + parser + publish (each publish replaces
    // the session's previous entry, per-master limit 1, so the table stays small).
    g.bench_function("ftp_227_reply_published", |b| {
        b.iter_custom(|iters| {
            let (n, rounds) = (4096u32, 16u32);
            let mut total = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                let mut p = engine(1 << 16);
                control_sessions(&mut p, n);
                let replies: Vec<Vec<u8>> = (0..rounds)
                    .flat_map(|r| (0..n).map(move |i| reply_227(i, r)))
                    .collect();
                let start = Instant::now();
                for f in &replies {
                    black_box(p.process_frame(LinkType::Ethernet, f, 2_000_000_000));
                }
                total += start.elapsed();
                done += replies.len() as u64;
            }
            total.mul_f64(iters as f64 / done as f64)
        })
    });
    // The data connection's SYN claiming its entry (a new session, related), against a plain
    // new session on a port no entry names.
    for (name, related) in [
        ("data_syn_claims_entry", true),
        ("plain_syn_no_entry", false),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let n = iters.min(4000) as u32;
                let mut total = Duration::ZERO;
                let mut done = 0u64;
                while done < iters {
                    let mut p = engine(1 << 16);
                    control_sessions(&mut p, n);
                    for i in 0..n {
                        p.process_frame(LinkType::Ethernet, &reply_227(i, 0), 2_000_000_000);
                    }
                    let syns: Vec<Vec<u8>> = (0..n)
                        .map(|i| {
                            let port = if related {
                                ((100 + i % 100) << 8 | (i % 256)) as u16
                            } else {
                                9
                            };
                            frame(i, false, 50000, port, SYN, 7000, 0, b"")
                        })
                        .collect();
                    let start = Instant::now();
                    for f in &syns {
                        black_box(p.process_frame(LinkType::Ethernet, f, 3_000_000_000));
                    }
                    total += start.elapsed();
                    done += u64::from(n);
                }
                total.mul_f64(iters as f64 / done as f64)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, alg);
criterion_main!(benches);
