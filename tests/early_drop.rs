//! S8 early drop on the session table with virtual time: at capacity a new session evicts
//! an unanswered one (no reply yet, or a TCP handshake not completed), never an established
//! or answered one; a packet the packet filter denies evicts nothing; each eviction is a
//! `Deleted(EarlyDrop)` event (Comware's session-log event (7)). And the flood the issue
//! measured, in miniature: a random-source SYN flood far above capacity per aging time does
//! not keep a legitimate client out.

mod common;

use common::packets::*;
use sessmgr::acl::Acl;
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::Family;
use sessmgr::table::config::{PacketFilter, PortAcls};
use sessmgr::table::events::{CloseReason, EventKind, SessionEvent};
use sessmgr::table::{Shard, TableConfig, Verdict};

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;
const SERVER: [u8; 4] = [198, 18, 1, 2];

fn shard(capacity: usize) -> Shard {
    let cfg = TableConfig {
        capacity,
        ..TableConfig::default()
    };
    Shard::new(0, cfg, FlowHasher::with_seed(11))
}

/// A source address of the flood: 198.19.x.y.
fn flood_src(i: u32) -> [u8; 4] {
    [198, 19, (i >> 8) as u8, i as u8]
}

/// A complete handshake from `client:cport` to the server's port 80; true when every
/// segment was accepted.
fn handshake_ok(sh: &mut Shard, client: [u8; 4], cport: u16, at: u64) -> bool {
    let segs = [
        tcp(client, cport, SERVER, 80, SYN, 1000, 0, 0),
        tcp(SERVER, 80, client, cport, SYNACK, 5000, 1001, 0),
        tcp(client, cport, SERVER, 80, ACK, 1001, 5001, 0),
    ];
    segs.iter()
        .all(|p| !matches!(sh.track(p, at).verdict, Verdict::Invalid(_)))
}

fn deleted_early(events: &[SessionEvent]) -> usize {
    events
        .iter()
        .filter(|e| e.kind == EventKind::Deleted(CloseReason::EarlyDrop))
        .count()
}

#[test]
fn established_and_answered_sessions_are_never_evicted() {
    let mut sh = shard(4);
    for p in 0..2u16 {
        assert!(handshake_ok(&mut sh, [198, 18, 0, 1], 40000 + p, T0));
    }
    // An answered UDP exchange.
    sh.track(&udp([198, 18, 0, 1], 5000, SERVER, 53), T0);
    sh.track(&udp(SERVER, 53, [198, 18, 0, 1], 5000), T0);
    // And one UDP request nobody answered.
    sh.track(&udp([198, 18, 0, 1], 5001, SERVER, 53), T0);
    assert_eq!(sh.len(), 4);
    let first = sh.track(&udp([198, 18, 0, 9], 6000, SERVER, 9), T0);
    assert_eq!(
        first.verdict,
        Verdict::New,
        "the unanswered request made room"
    );
    assert_eq!(sh.stats.evicted, 1);
    // Now every session is answered or established, except the newcomer itself.
    let second = sh.track(&udp([198, 18, 0, 9], 6001, SERVER, 9), T0);
    assert_eq!(
        second.verdict,
        Verdict::New,
        "the previous newcomer was unanswered"
    );
    sh.track(&udp(SERVER, 9, [198, 18, 0, 9], 6001), T0);
    let third = sh.track(&udp([198, 18, 0, 9], 6002, SERVER, 9), T0);
    assert_eq!(
        third.verdict,
        Verdict::Invalid(sessmgr::drop::DropReason::TableFull)
    );
    assert_eq!(sh.stats.refused, 1);
    assert_eq!(sh.stats.evicted, 2);
    assert_eq!(sh.len(), 4);
}

#[test]
fn a_syn_answered_only_by_the_server_can_be_evicted() {
    // A SYN flood against a real server: it answers each spoofed SYN with a SYN-ACK (the
    // session is SYN_RECV) and nobody completes the handshake. Not an answered session for
    // early drop: otherwise the flood would pin the table.
    let mut sh = shard(2);
    sh.track(&tcp(flood_src(1), 1111, SERVER, 80, SYN, 7, 0, 0), T0);
    sh.track(&tcp(SERVER, 80, flood_src(1), 1111, SYNACK, 9, 8, 0), T0);
    sh.track(&tcp(flood_src(2), 1111, SERVER, 80, SYN, 7, 0, 0), T0);
    sh.track(&tcp(SERVER, 80, flood_src(2), 1111, SYNACK, 9, 8, 0), T0);
    assert_eq!(sh.len(), 2);
    assert!(handshake_ok(&mut sh, [198, 18, 0, 1], 40000, T0));
    assert_eq!(sh.stats.evicted, 1);
}

#[test]
fn a_denied_packet_evicts_nothing() {
    let mut acl = Acl::new(3000, Family::V4).expect("acl");
    acl.add_rule("rule 0 deny udp destination-port eq 9999")
        .expect("rule");
    acl.add_rule("rule 5 permit ip").expect("rule");
    let cfg = TableConfig {
        capacity: 2,
        packet_filter: PacketFilter {
            ports: vec![PortAcls {
                v4: vec![acl],
                v6: vec![],
            }],
        },
        ..TableConfig::default()
    };
    let mut sh = Shard::new(0, cfg, FlowHasher::with_seed(11));
    sh.set_ingress(0);
    sh.track(&udp([198, 18, 0, 1], 5000, SERVER, 53), T0);
    sh.track(&udp([198, 18, 0, 1], 5001, SERVER, 53), T0);
    for port in 0..100 {
        let t = sh.track(&udp([198, 18, 0, 2], 7000 + port, SERVER, 9999), T0);
        assert_eq!(
            t.verdict,
            Verdict::Invalid(sessmgr::drop::DropReason::PacketFilterDeny)
        );
    }
    assert_eq!(sh.stats.evicted, 0);
    assert_eq!(sh.len(), 2);
}

#[test]
fn each_eviction_is_an_event() {
    let mut sh = shard(3);
    sh.events_enabled = true;
    for i in 0..10 {
        sh.track(&tcp(flood_src(i), 1111, SERVER, 80, SYN, 7, 0, 0), T0);
    }
    let mut events = Vec::new();
    sh.take_events(&mut events);
    assert_eq!(sh.stats.evicted, 7);
    assert_eq!(deleted_early(&events), 7);
}

#[test]
fn with_early_drop_off_the_table_refuses() {
    let mut sh = shard(3);
    let mut cfg = sh.config.clone();
    cfg.early_drop = false;
    sh.set_config(cfg);
    for i in 0..10 {
        sh.track(&tcp(flood_src(i), 1111, SERVER, 80, SYN, 7, 0, 0), T0);
    }
    assert_eq!(sh.stats.evicted, 0);
    assert_eq!(sh.stats.refused, 7);
}

#[test]
fn a_syn_flood_far_above_capacity_does_not_lock_a_client_out() {
    // 4,000 sessions, SYN aging 30 s: the flood brings 200,000 new flows in 10 s, 150 times
    // capacity per aging time (the issue measured lock-out above 1 time). A legitimate
    // client connects every 100 flood packets and keeps each connection open: 2,000 of them,
    // half the table, established by the end.
    let capacity = 4_000;
    let mut sh = shard(capacity);
    let (mut ok, mut tried) = (0, 0);
    let mut established = Vec::new();
    for i in 0..200_000u32 {
        let at = T0 + u64::from(i) * 50_000; // 20,000 flood packets per second
        sh.track(
            &tcp(
                flood_src(i),
                (i % 50_000) as u16 + 1024,
                SERVER,
                80,
                SYN,
                i,
                0,
                0,
            ),
            at,
        );
        if i % 100 == 0 {
            tried += 1;
            let cport = 20_000 + (tried % 40_000) as u16;
            if handshake_ok(&mut sh, [198, 18, 0, 1], cport, at) {
                ok += 1;
                established.push(cport);
            }
        }
        assert!(sh.len() <= capacity);
    }
    assert_eq!(ok, tried, "every legitimate connection got through");
    // And the established connections are all still there.
    let at = T0 + 200_000 * 50_000;
    for &cport in established.iter().rev().take(capacity / 2) {
        let t = sh.track(
            &tcp([198, 18, 0, 1], cport, SERVER, 80, ACK, 1001, 5001, 0),
            at,
        );
        assert_eq!(t.verdict, Verdict::Est, "connection from port {cport}");
    }
}
