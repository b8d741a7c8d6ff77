//! Issue #16: what session synchronization costs outside the packet path.
//!
//! - `sync_link/updates`: session images through the active engine's link (batching into
//!   datagrams, HMAC-SHA256) and the standby's (MAC check, decode, in-order delivery, ack), in
//!   one thread: updates per second one sync actor sustains, both ends' protocol work counted.
//!   The bytes on the wire per update are printed once.
//! - `sync_install`: the standby's shard installing an image (ns per session).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sessmgr::proto::key::{FlowHasher, FlowKey};
use sessmgr::proto::wire::Family;
use sessmgr::sync::link::{Action, Link, LinkConfig};
use sessmgr::sync::{Role, Status};
use sessmgr::table::TableConfig;
use sessmgr::table::image::{SessionImage, SyncItem};
use sessmgr::table::session::DirCounters;
use sessmgr::table::shard::Shard;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn image(i: u32) -> SessionImage {
    let mut src = [0u8; 16];
    src[..4].copy_from_slice(&[198, 18, (i >> 8) as u8, i as u8]);
    let mut dst = [0u8; 16];
    dst[..4].copy_from_slice(&[198, 19, (i >> 24) as u8, (i >> 16) as u8]);
    SessionImage {
        key: FlowKey {
            src,
            dst,
            sport: 40_000,
            dport: 443,
            proto: 6,
            family: Family::V4,
            vpn: 0,
        },
        flags: 0x02,
        state: 3,
        app: 0,
        persist_hours: 0,
        // An established TCP session's tracking words (all non-zero: the worst case).
        l4: [
            1001,
            5001,
            66_000,
            70_000,
            64_240,
            65_535,
            5001,
            1001,
            1001,
            0x0303_0202,
        ],
        counters: [
            DirCounters {
                packets: 12,
                bytes: 1_400,
            },
            DirCounters {
                packets: 10,
                bytes: 90_000,
            },
        ],
        age_ms: 20,
    }
}

fn cfg(role: Role) -> LinkConfig {
    LinkConfig {
        key: b"bench key".to_vec(),
        role,
        keepalive_ms: 100,
        keepalive_count: 8,
    }
}

/// Two links joined in memory, A active and B standby (hellos exchanged).
fn pair() -> (Link, Link, u64) {
    let mut a = Link::new(cfg(Role::Primary), 1, 0);
    let mut b = Link::new(cfg(Role::Secondary), 2, 0);
    let mut now = 0;
    for _ in 0..30 {
        now += 10;
        exchange(&mut a, &mut b, now, &mut 0);
    }
    assert_eq!(a.status(), Status::Active);
    assert_eq!(b.status(), Status::Standby);
    (a, b, now)
}

/// One turn of both links; returns the items B delivered.
fn exchange(a: &mut Link, b: &mut Link, now: u64, delivered: &mut usize) {
    let mut from_a = Vec::new();
    a.poll(now, &mut from_a);
    let mut from_b = Vec::new();
    b.poll(now, &mut from_b);
    for _ in 0..4 {
        let mut next_b = Vec::new();
        for x in from_a.drain(..) {
            if let Action::Send(d) = x {
                b.on_datagram(&d, now, &mut next_b);
            }
        }
        let mut next_a = Vec::new();
        for x in from_b.drain(..).chain(next_b) {
            match x {
                Action::Send(d) => a.on_datagram(&d, now, &mut next_a),
                Action::Apply(items) => *delivered += items.len(),
                _ => {}
            }
        }
        if next_a.is_empty() {
            break;
        }
        from_a = next_a;
    }
}

fn link(c: &mut Criterion) {
    let (mut a, mut b, mut now) = pair();
    // Bytes on the wire per update, from the links' own counters.
    let before = (a.counters.sent_bytes, a.counters.sent_items);
    a.queue((0..10_000).map(|i| SyncItem::Session(image(i))), now);
    let mut delivered = 0;
    while delivered < 10_000 {
        now += 1;
        exchange(&mut a, &mut b, now, &mut delivered);
    }
    let bytes = a.counters.sent_bytes - before.0;
    let items = a.counters.sent_items - before.1;
    eprintln!(
        "sync_link: {:.1} bytes on the wire per session update ({} updates, {} bytes, UDP/IP headers not counted)",
        bytes as f64 / items as f64,
        items,
        bytes
    );
    let mut g = c.benchmark_group("sync_link");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(4096));
    g.bench_function("updates", |bench| {
        bench.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let batch: Vec<SyncItem> = (0..4096).map(|i| SyncItem::Session(image(i))).collect();
                let start = Instant::now();
                a.queue(batch, now);
                let mut delivered = 0;
                while delivered < 4096 {
                    now += 1;
                    exchange(&mut a, &mut b, now, &mut delivered);
                }
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn install(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_install");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    g.bench_function("session", |bench| {
        bench.iter_custom(|iters| {
            let cfg = TableConfig {
                capacity: iters as usize + 1,
                ..TableConfig::default()
            };
            let mut shard = Shard::new(0, cfg, FlowHasher::with_seed(3));
            shard.reserve(iters as usize + 1);
            shard.set_clock(1_000_000_000_000);
            let images: Vec<SessionImage> = (0..iters as u32).map(image).collect();
            let start = Instant::now();
            for img in &images {
                black_box(shard.install(img, 0));
            }
            start.elapsed()
        })
    });
    g.finish();
}

criterion_group!(benches, link, install);
criterion_main!(benches);
