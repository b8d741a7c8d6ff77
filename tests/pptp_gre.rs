//! PPTP through the session table (issue #17): the control session's Outgoing-Call-Reply and
//! Incoming-Call exchange make each call's enhanced GRE one related session keyed by both
//! call IDs, found by either direction's packets; Call-Clear withdraws a call's entries;
//! without the ALG the GRE of each direction is a new session of its own; plain GRE stays raw
//! IP.

use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::{self, Datagram};
use sessmgr::table::aging::ttl_s;
use sessmgr::table::{Shard, TableConfig, Verdict};

const T0: u64 = 1_700_000_000_000_000_000;
const PNS: [u8; 4] = [198, 18, 0, 1];
const PAC: [u8; 4] = [198, 19, 0, 2];

fn ip(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let total = 20 + l4.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = proto;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    p[20..].copy_from_slice(l4);
    p
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    data: &[u8],
) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&65535u16.to_be_bytes());
    t.extend_from_slice(data);
    ip(src, dst, 6, &t)
}

/// Enhanced GRE (RFC 2637 §4.1) to call ID `call`, with a sequence number.
fn gre(src: [u8; 4], dst: [u8; 4], call: u16) -> Vec<u8> {
    let mut g = vec![0x30, 0x01, 0x88, 0x0b, 0x00, 0x04];
    g.extend_from_slice(&call.to_be_bytes());
    g.extend_from_slice(&[0, 0, 0, 1, 0xff, 0x03, 0xc0, 0x21]);
    ip(src, dst, 47, &g)
}

/// A PPTP control message of type `ty` at its RFC 2637 length, 16-bit fields from byte 12.
fn pptp(ty: u16, len: usize, words: &[u16]) -> Vec<u8> {
    let mut m = vec![0u8; len];
    m[..2].copy_from_slice(&(len as u16).to_be_bytes());
    m[3] = 1;
    m[4..8].copy_from_slice(&[0x1a, 0x2b, 0x3c, 0x4d]);
    m[8..10].copy_from_slice(&ty.to_be_bytes());
    for (i, w) in words.iter().enumerate() {
        m[12 + 2 * i..14 + 2 * i].copy_from_slice(&w.to_be_bytes());
    }
    m
}

struct Lab {
    shard: Shard,
    seq: [u32; 2],
    at_s: u64,
}

impl Lab {
    fn new(config: TableConfig) -> Lab {
        let mut shard = Shard::new(0, config, FlowHasher::with_seed(5));
        shard.algs.attach(Default::default());
        let mut lab = Lab {
            shard,
            seq: [100, 900],
            at_s: 0,
        };
        lab.send(&tcp(PNS, 40000, PAC, 1723, 0x02, 99, 0, b""));
        lab.send(&tcp(PAC, 1723, PNS, 40000, 0x12, 899, 100, b""));
        lab.send(&tcp(PNS, 40000, PAC, 1723, 0x10, 100, 900, b""));
        lab.pns(&pptp(1, 156, &[0x0100]));
        lab.pac(&pptp(2, 156, &[0x0100, 0x0100]));
        lab
    }

    fn send(&mut self, bytes: &[u8]) -> (Verdict, Option<u32>) {
        let Ok(Datagram::Whole(pkt)) = wire::parse_ip(bytes) else {
            panic!("test packet does not parse");
        };
        self.at_s += 1;
        let t = self.shard.track(&pkt, T0 + self.at_s * 1_000_000_000);
        (t.verdict, t.slot)
    }

    fn pns(&mut self, m: &[u8]) {
        let [a, b] = self.seq;
        let (v, _) = self.send(&tcp(PNS, 40000, PAC, 1723, 0x18, a, b, m));
        assert_eq!(v, Verdict::Est);
        self.seq[0] += m.len() as u32;
    }

    fn pac(&mut self, m: &[u8]) {
        let [a, b] = self.seq;
        let (v, _) = self.send(&tcp(PAC, 1723, PNS, 40000, 0x18, b, a, m));
        assert_eq!(v, Verdict::Est);
        self.seq[1] += m.len() as u32;
    }

    fn entries(&self) -> usize {
        self.shard.algs.relations().map_or(0, |t| t.len())
    }
}

/// Outgoing-Call-Request (PNS call ID `pns`) and a connecting Outgoing-Call-Reply (PAC call
/// ID `pac`).
fn outgoing_call(lab: &mut Lab, pns: u16, pac: u16) {
    lab.pns(&pptp(7, 168, &[pns]));
    lab.pac(&pptp(8, 32, &[pac, pns, 0x0100]));
}

#[test]
fn an_outgoing_calls_gre_is_one_session_keyed_by_both_call_ids() {
    let mut lab = Lab::new(TableConfig::default());
    outgoing_call(&mut lab, 5, 9);
    assert_eq!(lab.entries(), 2);
    // The PAC's GRE (to the PNS's call ID 5) comes first: related, and the call's other
    // entry is withdrawn.
    let (v, slot) = lab.send(&gre(PAC, PNS, 5));
    assert_eq!(v, Verdict::Rel);
    assert_eq!(lab.entries(), 0);
    let s = lab.shard.session(slot.expect("slot")).expect("session");
    let k = s.orig_key();
    assert_eq!(
        (k.proto, k.sport, k.dport),
        (47, 9, 5),
        "call IDs where ports would go"
    );
    assert_eq!(sessmgr::table::apps::name(s.app), "PPTP");
    // The PNS's GRE (to the PAC's call ID 9) finds the same session.
    let (v, back) = lab.send(&gre(PNS, PAC, 9));
    assert_eq!((v, back), (Verdict::Est, slot));
    assert_eq!(lab.send(&gre(PAC, PNS, 5)), (Verdict::Est, slot));
    assert_eq!(lab.shard.len(), 2);
    // Answered: PPTP's application aging (A2), not RAWIP-READY's 60 s.
    let s = lab.shard.session(slot.expect("slot")).expect("session");
    let now_ms = (T0 / 1_000_000) + lab.at_s * 1000;
    let cfg = TableConfig::default();
    assert_eq!(ttl_s(&cfg.aging, &s, now_ms), Some(3600));
    // Another call's GRE between the same hosts is another session.
    outgoing_call(&mut lab, 6, 10);
    let (v, other) = lab.send(&gre(PNS, PAC, 10));
    assert_eq!(v, Verdict::Rel);
    assert_ne!(other, slot);
    assert_eq!(lab.send(&gre(PAC, PNS, 6)), (Verdict::Est, other));
}

#[test]
fn an_incoming_call_is_expected_once_connected() {
    let mut lab = Lab::new(TableConfig::default());
    lab.pac(&pptp(9, 220, &[0x4001, 1]));
    lab.pns(&pptp(10, 24, &[7, 0x4001, 0x0100]));
    assert_eq!(lab.entries(), 0);
    lab.pac(&pptp(11, 28, &[7]));
    assert_eq!(lab.entries(), 2);
    let (v, slot) = lab.send(&gre(PNS, PAC, 0x4001));
    assert_eq!(v, Verdict::Rel);
    assert_eq!(lab.send(&gre(PAC, PNS, 7)), (Verdict::Est, slot));
}

#[test]
fn call_clear_withdraws_the_calls_entries() {
    let mut lab = Lab::new(TableConfig::default());
    outgoing_call(&mut lab, 5, 9);
    lab.pns(&pptp(12, 16, &[5]));
    assert_eq!(lab.entries(), 0);
    assert_eq!(lab.send(&gre(PAC, PNS, 5)).0, Verdict::New);
    let t = lab.shard.algs.relations().expect("attached");
    assert_eq!(t.counters().withdrawn, 2);
}

#[test]
fn without_the_alg_each_direction_is_a_new_session_and_plain_gre_stays_raw_ip() {
    let mut off = TableConfig::default();
    off.algs
        .set(sessmgr::alg::by_keyword("pptp").expect("registered"), false);
    let mut lab = Lab::new(off);
    outgoing_call(&mut lab, 5, 9);
    assert_eq!(lab.entries(), 0);
    let (v1, s1) = lab.send(&gre(PAC, PNS, 5));
    let (v2, s2) = lab.send(&gre(PNS, PAC, 9));
    assert_eq!((v1, v2), (Verdict::New, Verdict::New));
    assert_ne!(s1, s2);
    // RFC 2784 GRE (version 0) carrying IPv4: one raw IP session for both directions.
    let plain = |src, dst| ip(src, dst, 47, &[0, 0, 0x08, 0x00, 0x45, 0, 0, 20]);
    let (v, s) = lab.send(&plain(PNS, PAC));
    assert_eq!(v, Verdict::New);
    assert_eq!(lab.send(&plain(PAC, PNS)), (Verdict::Est, s));
    let k = lab
        .shard
        .session(s.expect("slot"))
        .expect("session")
        .orig_key();
    assert_eq!((k.sport, k.dport), (0, 0));
}
