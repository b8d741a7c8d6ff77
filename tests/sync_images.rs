//! Issue #16 at the table's level: what an active engine's shard reports for its peer, what
//! the peer's shard does with it, and the state file a restart reads, through real pipelines
//! and frames (no network; the end-to-end runs are tests/e2e_failover.rs and e2e_restart.rs).

mod common;

use common::frames::{tcp4, udp4};
use sessmgr::actors::restart::install_all;
use sessmgr::drop::DropReason;
use sessmgr::pipeline::{FrameOutcome, Pipeline};
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::LinkType;
use sessmgr::sync::statefile::Writer;
use sessmgr::table::image::{Installed, SyncItem};
use sessmgr::table::{TableConfig, Verdict};

const T0: u64 = 1_800_000_000_000_000_000;
const MS: u64 = 1_000_000;
const SYN: u8 = 0x02;
const SYNACK: u8 = 0x12;
const ACK: u8 = 0x10;
const PSHACK: u8 = 0x18;
const RST: u8 = 0x04;
const C: [u8; 4] = [198, 18, 10, 1];
const S: [u8; 4] = [198, 18, 20, 1];

fn pipeline(sync: bool) -> Pipeline {
    let mut table = TableConfig {
        statistics: true,
        ..TableConfig::default()
    };
    table.sync.enabled = sync;
    table.algs = sessmgr::alg::AlgSet::ALL;
    let mut p = Pipeline::new(0, table, Default::default(), FlowHasher::with_seed(5));
    p.shard.algs.attach(Default::default());
    p.shard.algs.record_for_sync = sync;
    p
}

fn verdict(o: FrameOutcome) -> Verdict {
    match o {
        FrameOutcome::Tracked(t) => t.verdict,
        other => panic!("not tracked: {other:?}"),
    }
}

fn handshake(p: &mut Pipeline, sport: u16, dport: u16, at: u64) {
    for f in [
        tcp4(C, sport, S, dport, SYN, 1000, 0, &[]),
        tcp4(S, dport, C, sport, SYNACK, 5000, 1001, &[]),
        tcp4(C, sport, S, dport, ACK, 1001, 5001, &[]),
    ] {
        assert!(matches!(
            verdict(p.process_frame(LinkType::Ethernet, &f, at)),
            Verdict::New | Verdict::Est
        ));
    }
}

fn take(p: &mut Pipeline) -> Vec<SyncItem> {
    let mut v = Vec::new();
    p.shard.take_sync(&mut v);
    v
}

fn install(p: &mut Pipeline, items: &[SyncItem]) {
    for i in items {
        match i {
            SyncItem::Session(img) => {
                assert!(matches!(
                    p.shard.install(img, 0),
                    Installed::Created | Installed::Updated
                ));
            }
            SyncItem::Delete(k) => {
                p.shard.uninstall(k);
            }
            SyncItem::Relation(r) => assert!(p.shard.install_relation(r)),
        }
    }
}

#[test]
fn a_synchronized_connection_goes_on_through_the_peer() {
    let mut a = pipeline(true);
    // Port 5001: not HTTP, which crosses only with `session synchronization http`.
    handshake(&mut a, 40_000, 5001, T0);
    // Data far into the stream on A.
    let data = tcp4(C, 40_000, S, 5001, PSHACK, 1001, 5001, &[b'x'; 100]);
    verdict(a.process_frame(LinkType::Ethernet, &data, T0 + MS));
    let items = take(&mut a);
    assert!(!items.is_empty(), "creation and state changes are reported");
    let last = items.iter().rev().find_map(|i| match i {
        SyncItem::Session(s) => Some(*s),
        _ => None,
    });
    assert!(last.is_some());

    let mut b = pipeline(true);
    b.shard.set_clock(T0 + 2 * MS);
    install(&mut b, &items);
    assert_eq!(b.shard.len(), 1);
    // Installing reports nothing back (no echo to the peer).
    assert!(take(&mut b).is_empty());
    // A segment from much later in the connection (its window moved while the peer
    // synchronized less often) is established on B, both ways.
    let later = tcp4(C, 40_000, S, 5001, PSHACK, 900_000, 700_000, &[b'y'; 100]);
    assert_eq!(
        verdict(b.process_frame(LinkType::Ethernet, &later, T0 + 3 * MS)),
        Verdict::Est
    );
    let reply = tcp4(S, 5001, C, 40_000, ACK, 700_000, 900_100, &[]);
    assert_eq!(
        verdict(b.process_frame(LinkType::Ethernet, &reply, T0 + 3 * MS)),
        Verdict::Est
    );

    // Without the images the same segment is refused in bidirectional mode.
    let mut c = pipeline(true);
    match verdict(c.process_frame(LinkType::Ethernet, &later, T0 + 3 * MS)) {
        Verdict::Invalid(r) => assert_eq!(r, DropReason::TcpNotSynFirst),
        v => panic!("{v:?}"),
    }

    // A reset on A closes it (a state change: it crosses), and its aging out on A deletes
    // it on B.
    let rst = tcp4(C, 40_000, S, 5001, RST, 1101, 0, &[]);
    a.process_frame(LinkType::Ethernet, &rst, T0 + 4 * MS);
    let items = take(&mut a);
    let closed = items.iter().rev().find_map(|i| match i {
        SyncItem::Session(s) => Some(s.state),
        _ => None,
    });
    assert_ne!(closed, last.map(|s| s.state), "the close crosses");
    install(&mut b, &items);
    a.shard.expire(T0 + 60_000 * MS, usize::MAX);
    let items = take(&mut a);
    assert!(
        items.iter().any(|i| matches!(i, SyncItem::Delete(_))),
        "{items:?}"
    );
    install(&mut b, &items);
    assert_eq!(b.shard.len(), 0);
}

#[test]
fn dns_and_http_sessions_cross_only_when_asked() {
    let mut a = pipeline(true);
    a.process_frame(LinkType::Ethernet, &udp4(C, 5353, S, 53, b"q"), T0);
    handshake(&mut a, 40_001, 80, T0);
    handshake(&mut a, 40_002, 22, T0);
    let keys: Vec<u16> = take(&mut a)
        .iter()
        .filter_map(|i| match i {
            SyncItem::Session(s) => Some(s.key.sport.max(s.key.dport)),
            _ => None,
        })
        .collect();
    assert!(keys.iter().all(|&p| p == 40_002), "only ssh: {keys:?}");

    let mut a = pipeline(true);
    let mut cfg = a.shard.config.clone();
    cfg.sync.dns = true;
    cfg.sync.http = true;
    a.shard.set_config(cfg);
    a.process_frame(LinkType::Ethernet, &udp4(C, 5353, S, 53, b"q"), T0);
    handshake(&mut a, 40_001, 80, T0);
    let n = take(&mut a)
        .iter()
        .filter(|i| matches!(i, SyncItem::Session(_)))
        .count();
    assert!(n >= 2, "dns and http both reported ({n})");
}

#[test]
fn an_ftp_relation_entry_crosses_with_its_master() {
    let mut a = pipeline(true);
    handshake(&mut a, 40_010, 21, T0);
    // Active mode: the client announces its data port.
    let port = b"PORT 198,18,10,1,195,80\r\n";
    verdict(a.process_frame(
        LinkType::Ethernet,
        &tcp4(C, 40_010, S, 21, PSHACK, 1001, 5001, port),
        T0 + MS,
    ));
    let items = take(&mut a);
    assert!(
        items.iter().any(|i| matches!(i, SyncItem::Relation(_))),
        "the PORT's entry is reported: {items:?}"
    );
    let mut b = pipeline(true);
    b.shard.set_clock(T0 + 2 * MS);
    install(&mut b, &items);
    assert_eq!(b.shard.algs.relations().unwrap().len(), 1);
    // The server's data connection to the announced port claims it on B.
    let data_syn = tcp4(S, 20, C, 195 * 256 + 80, SYN, 7000, 0, &[]);
    assert_eq!(
        verdict(b.process_frame(LinkType::Ethernet, &data_syn, T0 + 3 * MS)),
        Verdict::Rel
    );
    assert_eq!(b.shard.algs.relations().unwrap().len(), 0);
}

#[test]
fn the_state_file_restores_what_has_not_expired() {
    let mut a = pipeline(false);
    handshake(&mut a, 40_020, 443, T0);
    a.process_frame(LinkType::Ethernet, &udp4(C, 6000, S, 7000, b"u"), T0);
    let mut items = Vec::new();
    a.shard.export_page(0, usize::MAX, true, &mut items);
    assert_eq!(items.len(), 2);
    let saved_at = T0 / MS + 5;
    let mut w = Writer::new(saved_at);
    for i in &items {
        w.push(i);
    }
    let bytes = w.finish();

    // Back after 10 s: the TCP session (aging 3600 s) is there, the one-way UDP one (30 s)
    // too.
    let mut pipes = vec![pipeline(false), pipeline(false)];
    let r = install_all(&bytes, &mut pipes, saved_at + 10_000).unwrap();
    assert_eq!((r.sessions, r.expired, r.down_ms), (2, 0, 10_000));
    assert_eq!(pipes.iter().map(|p| p.shard.len()).sum::<usize>(), 2);

    // Back after 60 s: the UDP session expired meanwhile.
    let mut pipes = vec![pipeline(false)];
    let r = install_all(&bytes, &mut pipes, saved_at + 60_000).unwrap();
    assert_eq!((r.sessions, r.expired), (1, 1));
    // Its next segment is established, not tcp_not_syn_first.
    let later = tcp4(C, 40_020, S, 443, ACK, 50_000, 9_000, &[]);
    assert_eq!(
        verdict(pipes[0].process_frame(LinkType::Ethernet, &later, (saved_at + 60_001) * MS)),
        Verdict::Est
    );

    // A damaged file installs nothing.
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    let mut pipes = vec![pipeline(false)];
    assert!(install_all(&bad, &mut pipes, saved_at + 1).is_err());
    assert_eq!(pipes[0].shard.len(), 0);
}

/// The refresh rule (docs/failover.md): every half aging time a session that saw traffic in
/// that half is sent again; an idle one is not.
#[test]
fn living_sessions_are_refreshed_every_half_aging_time() {
    let mut a = pipeline(true);
    let mut cfg = a.shard.config.clone();
    cfg.aging.state_s[sessmgr::proto::AgingState::TcpEst as usize] = 60;
    a.shard.set_config(cfg);
    handshake(&mut a, 41_000, 5001, T0);
    handshake(&mut a, 41_001, 5001, T0);
    take(&mut a);
    // The handshake filed both at half the SYN aging time (15 s): both had traffic in that
    // half, both are refreshed, and filed again 30 s (half of 60 s) later.
    a.shard.expire(T0 + 16_000 * MS, usize::MAX);
    assert_eq!(take(&mut a).len(), 2);
    // At 20 s one of the two sees a packet; at 46 s the wheel visits both again and
    // refreshes the living one only (the other's last packet is 46 s old).
    let ack = tcp4(C, 41_000, S, 5001, ACK, 1001, 5001, &[]);
    a.process_frame(LinkType::Ethernet, &ack, T0 + 20_000 * MS);
    a.shard.expire(T0 + 46_000 * MS, usize::MAX);
    let refreshed: Vec<u16> = take(&mut a)
        .iter()
        .filter_map(|i| match i {
            SyncItem::Session(s) => Some(s.key.sport.max(s.key.dport)),
            _ => None,
        })
        .collect();
    assert_eq!(refreshed, vec![41_000]);
    let n = take(&mut a).len();
    assert_eq!(n, 0);
}

/// A peer that sends more sessions than the table holds (a peer announcing 100M) fills the
/// table to its capacity and no further: the rest are refused, counted by the caller.
#[test]
fn installs_beyond_the_capacity_are_refused() {
    let mut a = pipeline(false);
    for i in 0..50u16 {
        handshake(&mut a, 42_000 + i, 5001, T0);
    }
    let mut items = Vec::new();
    a.shard.export_page(0, usize::MAX, true, &mut items);
    assert_eq!(items.len(), 50);
    let mut b = pipeline(true);
    let mut cfg = b.shard.config.clone();
    cfg.capacity = 20;
    b.shard.set_config(cfg);
    b.shard.set_clock(T0);
    let mut full = 0;
    for i in &items {
        if let SyncItem::Session(img) = i
            && b.shard.install(img, 0) == Installed::Full
        {
            full += 1;
        }
    }
    assert_eq!((b.shard.len(), full), (20, 30));
}
