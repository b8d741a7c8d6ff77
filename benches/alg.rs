//! What the ALG machinery costs (issue #5): an FTP control session's 227 reply through the
//! engine (stream reassembly, the parser, publishing the relation entry), and the data
//! connection's first packet claiming it, against a plain new session. Issue #14: a SIP
//! INVITE with SDP through the same path (over TCP: message framing, parser, SDP, two
//! entries published), and the callee's first RTP packet claiming its entry. Figures in
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

/// Times the frames `setup` prepares (on a fresh engine each time), processed one by one at
/// `now_ns`, until `iters` frames have been timed; returns the time for `iters` frames.
fn time_frames(
    iters: u64,
    now_ns: u64,
    mut setup: impl FnMut() -> (Pipeline, Vec<Vec<u8>>),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0u64;
    while done < iters {
        let (mut p, frames) = setup();
        let start = Instant::now();
        for f in &frames {
            black_box(p.process_frame(LinkType::Ethernet, f, now_ns));
        }
        total += start.elapsed();
        done += frames.len() as u64;
    }
    total.mul_f64(iters as f64 / done as f64)
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
            time_frames(iters, 2_000_000_000, || {
                let mut p = engine(1 << 16);
                control_sessions(&mut p, n);
                let replies = (0..rounds)
                    .flat_map(|r| (0..n).map(move |i| reply_227(i, r)))
                    .collect();
                (p, replies)
            })
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
                time_frames(iters, 3_000_000_000, || {
                    let mut p = engine(1 << 16);
                    control_sessions(&mut p, n);
                    for i in 0..n {
                        p.process_frame(LinkType::Ethernet, &reply_227(i, 0), 2_000_000_000);
                    }
                    let syns = (0..n)
                        .map(|i| {
                            let port = if related {
                                ((100 + i % 100) << 8 | (i % 256)) as u16
                            } else {
                                9
                            };
                            frame(i, false, 50000, port, SYN, 7000, 0, b"")
                        })
                        .collect();
                    (p, syns)
                })
            })
        });
    }
    g.finish();
}

/// An INVITE with a one-stream SDP offer from client `i` (call `round`), as SIPp sends it.
fn invite(i: u32, round: u32) -> Vec<u8> {
    let client = format!("198.18.{}.{}", (i >> 8) as u8, i as u8);
    let port = 20_000 + 2 * (i % 20_000) as u16;
    let body = format!(
        "v=0\r\no=user1 53655765 2353687637 IN IP4 {client}\r\ns=-\r\nc=IN IP4 {client}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    );
    format!(
        "INVITE sip:service@198.19.0.2:5060 SIP/2.0\r\nVia: SIP/2.0/TCP {client}:5060;branch=z9hG4bK-{i}-{round}\r\nFrom: sipp <sip:sipp@{client}:5060>;tag={i}\r\nTo: service <sip:service@198.19.0.2:5060>\r\nCall-ID: {i}-{round}@{client}\r\nCSeq: 1 INVITE\r\nContact: sip:sipp@{client}:5060\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// `n` SIP signalling sessions over TCP to 198.19.0.2:5060, established.
fn sip_sessions(p: &mut Pipeline, n: u32) {
    for i in 0..n {
        let c = 40000 + (i % 20000) as u16;
        for f in [
            frame(i, false, c, 5060, SYN, 999, 0, b""),
            frame(i, true, 5060, c, SYN | ACK, 4999, 1000, b""),
            frame(i, false, c, 5060, ACK, 1000, 5000, b""),
        ] {
            p.process_frame(LinkType::Ethernet, &f, 1_000_000_000);
        }
    }
}

fn sip(c: &mut Criterion) {
    let mut g = c.benchmark_group("alg");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    // One INVITE per signalling session and round: framing + parser + SDP + withdraw +
    // publish of RTP and RTCP (each call a new Call-ID; the audio limit of 4 per session
    // evicts the oldest, so the table stays small).
    g.bench_function("sip_invite_published", |b| {
        b.iter_custom(|iters| {
            let (n, rounds) = (2048u32, 8u32);
            time_frames(iters, 2_000_000_000, || {
                let mut p = engine(1 << 16);
                sip_sessions(&mut p, n);
                let mut seq = vec![1000u32; n as usize];
                let mut invites = Vec::with_capacity((n * rounds) as usize);
                for r in 0..rounds {
                    for i in 0..n {
                        let m = invite(i, r);
                        let c = 40000 + (i % 20000) as u16;
                        invites.push(frame(
                            i,
                            false,
                            c,
                            5060,
                            PSH | ACK,
                            seq[i as usize],
                            5000,
                            &m,
                        ));
                        seq[i as usize] += m.len() as u32;
                    }
                }
                (p, invites)
            })
        })
    });
    // The callee's first RTP packet claiming its media entry, against a plain new UDP flow.
    for (name, related) in [
        ("sip_rtp_claims_entry", true),
        ("plain_udp_no_entry", false),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let n = iters.min(4000) as u32;
                time_frames(iters, 3_000_000_000, || {
                    let mut p = engine(1 << 16);
                    sip_sessions(&mut p, n);
                    for i in 0..n {
                        let c = 40000 + (i % 20000) as u16;
                        let f = frame(i, false, c, 5060, PSH | ACK, 1000, 5000, &invite(i, 0));
                        p.process_frame(LinkType::Ethernet, &f, 2_000_000_000);
                    }
                    let rtp = (0..n)
                        .map(|i| {
                            let client = [198, 18, (i >> 8) as u8, i as u8];
                            let port = if related {
                                20_000 + 2 * (i % 20_000) as u16
                            } else {
                                9
                            };
                            frames::udp4([198, 19, 0, 2], 30000, client, port, &[0x80; 172])
                        })
                        .collect();
                    (p, rtp)
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, alg, sip);
criterion_main!(benches);
