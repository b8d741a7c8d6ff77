//! Aging with virtual time (SPEC A1-A4): every default of A1 and A2, the precedence of A4,
//! and persistent sessions that never age and leave only by FIN/RST or reset (A3).

mod common;

use common::packets::*;
use sessmgr::acl::Acl;
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::{Family, Packet};
use sessmgr::table::aging::AgingState;
use sessmgr::table::config::PersistentRule;
use sessmgr::table::{SessionId, Shard, TableConfig, Verdict};

const S: u64 = 1_000_000_000;
/// An arbitrary epoch: the engine clock need not start at zero.
const T0: u64 = 1_700_000_000 * S;

fn shard(cfg: TableConfig) -> Shard {
    Shard::new(0, cfg, FlowHasher::with_seed(1))
}

/// Feeds the packets at `at`; returns the session of the last one.
fn feed(sh: &mut Shard, pkts: &[Packet<'_>], at: u64) -> Option<SessionId> {
    let mut last = None;
    for p in pkts {
        let t = sh.track(p, at);
        assert!(
            !matches!(t.verdict, Verdict::Invalid(_)),
            "setup packet rejected: {t:?}"
        );
        last = t.slot.map(|s| sh.id_of(s));
    }
    last
}

/// After `setup` at T0, the session is still matched `aging - 1` seconds after its last packet
/// and gone (the probe starts another session, or is refused) at `aging` seconds.
fn assert_ages_at(
    name: &str,
    cfg: &TableConfig,
    setup: &[Packet<'_>],
    probe: &Packet<'_>,
    aging_s: u64,
) {
    let mut sh = shard(cfg.clone());
    let id = feed(&mut sh, setup, T0);
    assert!(id.is_some(), "{name}: no session");
    let before = sh.track(probe, T0 + (aging_s - 1) * S);
    assert_eq!(
        before.slot.map(|s| sh.id_of(s)),
        id,
        "{name}: expired too early (after {} s): {before:?}",
        aging_s - 1
    );
    assert!(
        !matches!(before.verdict, Verdict::Invalid(_)),
        "{name}: probe rejected: {before:?}"
    );
    // The probe refreshed it: measure from the probe.
    let after = sh.track(probe, T0 + (2 * aging_s - 1) * S);
    assert_ne!(
        after.slot.map(|s| sh.id_of(s)),
        id,
        "{name}: still alive {aging_s} s after its last packet: {after:?}"
    );
    // The wheel reclaims what lookups did not touch.
    let mut sh = shard(cfg.clone());
    feed(&mut sh, setup, T0);
    assert_eq!(sh.len(), 1, "{name}");
    sh.expire(T0 + (aging_s - 1) * S, usize::MAX);
    assert_eq!(sh.len(), 1, "{name}: reclaimed early");
    sh.expire(T0 + (aging_s + 1) * S, usize::MAX);
    assert_eq!(sh.len(), 0, "{name}: not reclaimed by the wheel");
}

#[test]
fn a1_state_defaults() {
    let cfg = TableConfig::default();
    let d = |s: AgingState| u64::from(s.default_s());
    let [syn, synack, ack] = handshake(40000, 40001);
    // SYN: a half-open connection.
    assert_ages_at(
        "SYN",
        &cfg,
        &[syn],
        &tcp(A, 40000, B, 40001, SYN, 1000, 0, 0),
        d(AgingState::Syn),
    );
    // TCP-EST on a port of no application.
    assert_ages_at(
        "TCP-EST",
        &cfg,
        &[syn, synack, ack],
        &tcp(A, 40000, B, 40001, ACK, 1001, 5001, 0),
        d(AgingState::TcpEst),
    );
    // FIN: the client closed.
    let fin = tcp(A, 40000, B, 40001, FINACK, 1001, 5001, 0);
    assert_ages_at(
        "FIN",
        &cfg,
        &[syn, synack, ack, fin],
        &tcp(B, 40001, A, 40000, ACK, 5001, 1002, 0),
        d(AgingState::Fin),
    );
    // TCP-TIME-WAIT: both FINs acknowledged.
    let fin2 = tcp(B, 40001, A, 40000, FINACK, 5001, 1002, 0);
    let last = tcp(A, 40000, B, 40001, ACK, 1002, 5002, 0);
    assert_ages_at(
        "TCP-TIME-WAIT",
        &cfg,
        &[syn, synack, ack, fin, fin2, last],
        &tcp(A, 40000, B, 40001, ACK, 1002, 5002, 0),
        d(AgingState::TcpTimeWait),
    );
    // FIN sent again by the side that closed first (a retransmission or a zero-window
    // probe) while the other still reads: still FIN aging, not TCP-TIME-WAIT (2 s) after the
    // next ACK (docs/conformance.md, "A FIN sent again").
    let server_fin = tcp(B, 40001, A, 40000, FINACK, 5001, 1001, 0);
    let client_ack = tcp(A, 40000, B, 40001, ACK, 1001, 5002, 0);
    assert_ages_at(
        "FIN sent again",
        &cfg,
        &[
            syn, synack, ack, server_fin, client_ack, server_fin, client_ack,
        ],
        &client_ack,
        d(AgingState::Fin),
    );
    // TCP-CLOSE: reset after establishment.
    let rst = tcp(A, 40000, B, 40001, RSTACK, 1001, 5001, 0);
    assert_ages_at(
        "TCP-CLOSE",
        &cfg,
        &[syn, synack, ack, rst],
        &tcp(B, 40001, A, 40000, RSTACK, 5001, 1001, 0),
        d(AgingState::TcpClose),
    );
    // UDP.
    assert_ages_at(
        "UDP-OPEN",
        &cfg,
        &[udp(A, 40000, B, 40001)],
        &udp(A, 40000, B, 40001),
        d(AgingState::UdpOpen),
    );
    assert_ages_at(
        "UDP-READY",
        &cfg,
        &[udp(A, 40000, B, 40001), udp(B, 40001, A, 40000)],
        &udp(A, 40000, B, 40001),
        d(AgingState::UdpReady),
    );
    assert_ages_at(
        "UDPLITE-OPEN",
        &cfg,
        &[udplite(A, 40000, B, 40001)],
        &udplite(A, 40000, B, 40001),
        d(AgingState::UdpliteOpen),
    );
    assert_ages_at(
        "UDPLITE-READY",
        &cfg,
        &[udplite(A, 40000, B, 40001), udplite(B, 40001, A, 40000)],
        &udplite(A, 40000, B, 40001),
        d(AgingState::UdpliteReady),
    );
    // ICMP and ICMPv6 echo.
    assert_ages_at(
        "ICMP-REQUEST",
        &cfg,
        &[icmp(A, B, 8, 7)],
        &icmp(A, B, 8, 7),
        d(AgingState::IcmpRequest),
    );
    assert_ages_at(
        "ICMP-REPLY",
        &cfg,
        &[icmp(A, B, 8, 7), icmp(B, A, 0, 7)],
        &icmp(A, B, 8, 7),
        d(AgingState::IcmpReply),
    );
    assert_ages_at(
        "ICMPV6-REQUEST",
        &cfg,
        &[icmp6(1, 2, 128, 7)],
        &icmp6(1, 2, 128, 7),
        d(AgingState::Icmpv6Request),
    );
    assert_ages_at(
        "ICMPV6-REPLY",
        &cfg,
        &[icmp6(1, 2, 128, 7), icmp6(2, 1, 129, 7)],
        &icmp6(1, 2, 128, 7),
        d(AgingState::Icmpv6Reply),
    );
    // Raw IP (GRE).
    assert_ages_at(
        "RAWIP-OPEN",
        &cfg,
        &[rawip(A, B, 47)],
        &rawip(A, B, 47),
        d(AgingState::RawipOpen),
    );
    assert_ages_at(
        "RAWIP-READY",
        &cfg,
        &[rawip(A, B, 47), rawip(B, A, 47)],
        &rawip(A, B, 47),
        d(AgingState::RawipReady),
    );
}

#[test]
fn a1_defaults_are_the_specs() {
    let expect = [
        ("fin", 30),
        ("icmp-reply", 30),
        ("icmp-request", 60),
        ("icmpv6-reply", 30),
        ("icmpv6-request", 60),
        ("rawip-open", 30),
        ("rawip-ready", 60),
        ("syn", 30),
        ("tcp-close", 2),
        ("tcp-est", 3600),
        ("tcp-time-wait", 2),
        ("udp-open", 30),
        ("udp-ready", 60),
    ];
    for (kw, s) in expect {
        assert_eq!(
            AgingState::by_keyword(kw).map(AgingState::default_s),
            Some(s),
            "{kw}"
        );
    }
}

#[test]
fn a1_configured_state_aging_applies() {
    let mut cfg = TableConfig::default();
    cfg.aging.state_s[AgingState::UdpReady as usize] = 7;
    assert_ages_at(
        "UDP-READY=7",
        &cfg,
        &[udp(A, 40000, B, 40001), udp(B, 40001, A, 40000)],
        &udp(A, 40000, B, 40001),
        7,
    );
}

#[test]
fn a2_application_aging_in_the_stable_state() {
    let cfg = TableConfig::default();
    // DNS (1 s) once READY; before that, UDP-OPEN's 30 s.
    assert_ages_at(
        "DNS READY",
        &cfg,
        &[udp(A, 40000, B, 53), udp(B, 53, A, 40000)],
        &udp(A, 40000, B, 53),
        1,
    );
    assert_ages_at(
        "DNS OPEN",
        &cfg,
        &[udp(A, 40000, B, 53)],
        &udp(A, 40000, B, 53),
        30,
    );
    assert_ages_at(
        "TFTP READY",
        &cfg,
        &[udp(A, 40000, B, 69), udp(B, 69, A, 40000)],
        &udp(A, 40000, B, 69),
        60,
    );
    // HTTPS 600 s in ESTABLISHED; HTTP has no timer of its own: 1200 s.
    let hs = |p| handshake(40000, p);
    assert_ages_at(
        "HTTPS EST",
        &cfg,
        &hs(443),
        &tcp(A, 40000, B, 443, ACK, 1001, 5001, 0),
        600,
    );
    assert_ages_at(
        "HTTP EST",
        &cfg,
        &hs(80),
        &tcp(A, 40000, B, 80, ACK, 1001, 5001, 0),
        1200,
    );
    assert_ages_at(
        "FTP EST",
        &cfg,
        &hs(21),
        &tcp(A, 40000, B, 21, ACK, 1001, 5001, 0),
        3600,
    );
    // SYN state keeps SYN aging whatever the application.
    assert_ages_at("HTTPS SYN", &cfg, &[hs(443)[0]], &hs(443)[0], 30);
}

fn persistent_cfg(hours: u16) -> TableConfig {
    let mut acl = Acl::new(3000, Family::V4).unwrap();
    acl.add_rule("rule permit tcp destination-port eq 443")
        .unwrap();
    TableConfig {
        persistent_v4: Some(PersistentRule { acl, hours }),
        ..TableConfig::default()
    }
}

#[test]
fn a4_precedence_persistent_over_application_over_state() {
    // HTTPS would age in 600 s; the persistent ACL gives it 2 hours.
    assert_ages_at(
        "persistent 2h",
        &persistent_cfg(2),
        &handshake(40000, 443),
        &tcp(A, 40000, B, 443, ACK, 1001, 5001, 0),
        7200,
    );
    // A session the ACL does not permit keeps application aging.
    assert_ages_at(
        "not persistent",
        &persistent_cfg(2),
        &handshake(40000, 80),
        &tcp(A, 40000, B, 80, ACK, 1001, 5001, 0),
        1200,
    );
    // Before ESTABLISHED the state aging applies even to a persistent session.
    assert_ages_at(
        "persistent SYN",
        &persistent_cfg(2),
        &[handshake(40000, 443)[0]],
        &handshake(40000, 443)[0],
        30,
    );
}

#[test]
fn a3_never_aging_session_leaves_only_by_close_or_reset() {
    let cfg = persistent_cfg(0);
    let mut sh = shard(cfg.clone());
    feed(&mut sh, &handshake(40000, 443), T0);
    // Thirty days of silence: still there, through lookups and the wheel.
    let later = T0 + 30 * 24 * 3600 * S;
    for day in 1..=30 {
        sh.expire(T0 + day * 24 * 3600 * S, usize::MAX);
    }
    assert_eq!(sh.len(), 1);
    let t = sh.track(&tcp(A, 40000, B, 443, ACK, 1001, 5001, 0), later);
    assert_eq!(t.verdict, Verdict::Est);

    // A FIN ends the persistence: FIN aging (30 s) applies from then on.
    feed(
        &mut sh,
        &[tcp(A, 40000, B, 443, FINACK, 1001, 5001, 0)],
        later,
    );
    sh.expire(later + 31 * S, usize::MAX);
    assert_eq!(sh.len(), 0, "closed persistent session must age out");

    // An RST does too.
    let mut sh = shard(cfg.clone());
    feed(&mut sh, &handshake(40000, 443), T0);
    feed(
        &mut sh,
        &[tcp(A, 40000, B, 443, RSTACK, 1001, 5001, 0)],
        T0 + S,
    );
    sh.expire(T0 + 10 * S, usize::MAX);
    assert_eq!(sh.len(), 0, "reset connection must age out");

    // And `reset session table`.
    let mut sh = shard(cfg);
    feed(&mut sh, &handshake(40000, 443), T0);
    assert_eq!(sh.reset_where(|_| true), 1);
    assert_eq!(sh.len(), 0);
}

#[test]
fn a3_acl_change_does_not_touch_existing_persistent_sessions() {
    let mut sh = shard(persistent_cfg(0));
    feed(&mut sh, &handshake(40000, 443), T0);
    // The operator removes the persistent ACL: the session keeps its own aging.
    sh.config.persistent_v4 = None;
    sh.expire(T0 + 7 * 24 * 3600 * S, usize::MAX);
    assert_eq!(sh.len(), 1);
    // New sessions no longer become persistent.
    let hs = handshake(40002, 443);
    feed(&mut sh, &hs, T0 + 7 * 24 * 3600 * S);
    sh.expire(T0 + 7 * 24 * 3600 * S + 601 * S, usize::MAX);
    assert_eq!(sh.len(), 1, "only the original persistent session remains");
}
