//! What PPTP's enhanced GRE costs on the established path (issue #17): a GRE packet of a
//! call, looked up by call ID (the per-core call-ID map gives the sender's call ID, then the
//! session index), in both directions, against plain GRE (raw IP, addresses only) between
//! the same hosts. Figures in docs/performance.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sessmgr::pipeline::Pipeline;
use sessmgr::proto::frag::FragLimits;
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::LinkType;
use sessmgr::table::TableConfig;
use std::hint::black_box;
use std::time::Duration;

use frames::{ACK, PSH, SYN};

#[path = "../tests/common/frames.rs"]
#[allow(dead_code)]
mod frames;

const PAC: [u8; 4] = [198, 19, 0, 2];
const NOW: u64 = 2_000_000_000;

fn pns(i: u32) -> [u8; 4] {
    [198, 18, (i >> 8) as u8, i as u8]
}

/// A PPTP control message of type `ty` at its RFC 2637 length, 16-bit fields from byte 12.
fn pptp(ty: u16, len: usize, words: &[u16]) -> Vec<u8> {
    let mut m = vec![0u8; len];
    m[..2].copy_from_slice(&(len as u16).to_be_bytes());
    m[3] = 1;
    m[4..8].copy_from_slice(&[0x1a, 0x2b, 0x3c, 0x4d]);
    m[8..10].copy_from_slice(&ty.to_be_bytes());
    for (k, w) in words.iter().enumerate() {
        m[12 + 2 * k..14 + 2 * k].copy_from_slice(&w.to_be_bytes());
    }
    m
}

/// `n` PNSs, each with a PPTP control connection to the PAC, one outgoing call up (PNS call
/// ID `i`, PAC call ID `0x8000 + i`), and the call's GRE answered both ways.
fn calls(n: u32) -> Pipeline {
    let cfg = TableConfig {
        capacity: 1 << 16,
        ..TableConfig::default()
    };
    let mut p = Pipeline::new(0, cfg, FragLimits::default(), FlowHasher::with_seed(5));
    p.shard.reserve(1 << 16);
    p.shard.algs.attach(Default::default());
    for i in 0..n {
        let (c, id) = (pns(i), i as u16);
        let mut to_pac = 1000u32;
        let mut to_pns = 5000u32;
        let go = |p: &mut Pipeline, f: Vec<u8>| {
            p.process_frame(LinkType::Ethernet, &f, NOW);
        };
        go(&mut p, frames::tcp4(c, 40000, PAC, 1723, SYN, 999, 0, b""));
        go(
            &mut p,
            frames::tcp4(PAC, 1723, c, 40000, SYN | ACK, 4999, 1000, b""),
        );
        for (from_pns, m) in [
            (true, pptp(1, 156, &[0x0100])),
            (false, pptp(2, 156, &[0x0100, 0x0100])),
            (true, pptp(7, 168, &[id])),
            (false, pptp(8, 32, &[0x8000 + id, id, 0x0100])),
        ] {
            let f = if from_pns {
                frames::tcp4(c, 40000, PAC, 1723, PSH | ACK, to_pac, to_pns, &m)
            } else {
                frames::tcp4(PAC, 1723, c, 40000, PSH | ACK, to_pns, to_pac, &m)
            };
            go(&mut p, f);
            if from_pns {
                to_pac += m.len() as u32;
            } else {
                to_pns += m.len() as u32;
            }
        }
        go(
            &mut p,
            frames::gre4(c, PAC, 0x8000 + id, 1, &[0xff, 0x03, 0xc0, 0x21]),
        );
        go(
            &mut p,
            frames::gre4(PAC, c, id, 1, &[0xff, 0x03, 0xc0, 0x21]),
        );
    }
    p
}

fn gre(c: &mut Criterion) {
    let n = 4096u32;
    let mut g = c.benchmark_group("pptp");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    // Both directions of every call in turn: each packet finds its sender's call ID in the
    // call-ID map, then its session.
    let mut p = calls(n);
    let keyed: Vec<Vec<u8>> = (0..n)
        .flat_map(|i| {
            let (c, id) = (pns(i), i as u16);
            [
                frames::gre4(c, PAC, 0x8000 + id, 2, &[0; 64]),
                frames::gre4(PAC, c, id, 2, &[0; 64]),
            ]
        })
        .collect();
    let sessions = p.shard.len();
    assert!(sessions >= 2 * n as usize, "calls not set up: {sessions}");
    let mut at = 0usize;
    g.bench_function("gre_by_call_id_established", |b| {
        b.iter(|| {
            let f = &keyed[at % keyed.len()];
            at += 1;
            black_box(p.process_frame(LinkType::Ethernet, f, NOW));
        })
    });
    // Plain GRE (version 0) between the same hosts: raw IP, looked up by addresses alone.
    let plain: Vec<Vec<u8>> = (0..n)
        .flat_map(|i| {
            let c = pns(i);
            let ip = [
                0x45u8, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
            ];
            let mut v0 = vec![0u8, 0, 0x08, 0x00];
            v0.extend_from_slice(&ip);
            [raw_gre(c, PAC, &v0), raw_gre(PAC, c, &v0)]
        })
        .collect();
    for f in &plain {
        p.process_frame(LinkType::Ethernet, f, NOW);
    }
    let mut at = 0usize;
    g.bench_function("plain_gre_established", |b| {
        b.iter(|| {
            let f = &plain[at % plain.len()];
            at += 1;
            black_box(p.process_frame(LinkType::Ethernet, f, NOW));
        })
    });
    g.finish();
}

/// An Ethernet/IPv4 frame of IP protocol 47 with the GRE header and payload `g` as given.
fn raw_gre(src: [u8; 4], dst: [u8; 4], g: &[u8]) -> Vec<u8> {
    // gre4 with a version-0 header: rebuild from its IPv4 part.
    let mut f = frames::gre4(src, dst, 0, 0, &[]);
    f.truncate(14 + 20);
    f.extend_from_slice(g);
    let total = (20 + g.len()) as u16;
    f[16..18].copy_from_slice(&total.to_be_bytes());
    f
}

criterion_group!(benches, gre);
criterion_main!(benches);
