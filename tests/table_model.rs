//! The session table against a simple model (a BTreeMap of flows with their state and last
//! packet time), under random traffic, time jumps, resets and a small capacity.

mod common;

use common::packets::{udp, v4};
use proptest::prelude::*;
use sessmgr::proto::key::FlowHasher;
use sessmgr::table::{Shard, TableConfig, Verdict};
use std::collections::BTreeMap;

const S: u64 = 1_000_000_000;
const CAPACITY: usize = 6;
const HOSTS: [[u8; 4]; 3] = [[198, 18, 0, 1], [198, 18, 0, 2], [198, 18, 1, 1]];
/// Ports without an application: state aging (UDP-OPEN 30 s, UDP-READY 60 s) applies.
const PORTS: [u16; 3] = [40000, 40001, 40002];

#[derive(Debug, Clone)]
enum Op {
    Packet {
        src: usize,
        sport: usize,
        dst: usize,
        dport: usize,
    },
    Advance(u64),
    Reset,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, 0..3usize, 0..3usize, 0..3usize).prop_map(|(src, sport, dst, dport)| Op::Packet { src, sport, dst, dport }),
        2 => (0..90u64).prop_map(Op::Advance),
        1 => Just(Op::Reset),
    ]
}

/// Model flow: the initiator tuple, answered?, last packet time (s).
#[derive(Debug, Clone, Copy)]
struct Flow {
    orig: ([u8; 4], u16, [u8; 4], u16),
    answered: bool,
    last: u64,
}

/// Whether the shard holds the session of this initiator tuple (either direction).
fn in_table(sh: &Shard, t: ([u8; 4], u16, [u8; 4], u16)) -> bool {
    let (a, b) = ((v4(t.0), t.1), (v4(t.2), t.3));
    sh.iter().any(|(_, s, _)| {
        let (x, y) = ((s.key.src, s.key.sport), (s.key.dst, s.key.dport));
        (x, y) == (a, b) || (x, y) == (b, a)
    })
}

fn canon(t: ([u8; 4], u16, [u8; 4], u16)) -> ([u8; 4], u16, [u8; 4], u16) {
    let r = (t.2, t.3, t.0, t.1);
    if (t.0, t.1) <= (t.2, t.3) { t } else { r }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn table_matches_model(ops in prop::collection::vec(op(), 1..120), early_drop in any::<bool>()) {
        let cfg = TableConfig { capacity: CAPACITY, early_drop, ..TableConfig::default() };
        let mut sh = Shard::new(0, cfg, FlowHasher::with_seed(3));
        let mut model: BTreeMap<([u8; 4], u16, [u8; 4], u16), Flow> = BTreeMap::new();
        let mut now = 1_000u64;
        for op in ops {
            match op {
                Op::Advance(s) => now += s,
                Op::Reset => {
                    sh.reset_where(|_| true);
                    model.clear();
                }
                Op::Packet { src, sport, dst, dport } => {
                    let t = (HOSTS[src], PORTS[sport], HOSTS[dst], PORTS[dport]);
                    // Model: drop what has aged out, then classify.
                    model.retain(|_, f| now - f.last < if f.answered { 60 } else { 30 });
                    let key = canon(t);
                    let full = model.len() >= CAPACITY;
                    let evictable = early_drop && model.values().any(|f| !f.answered);
                    let expect = match model.get_mut(&key) {
                        Some(f) => {
                            let reply = f.orig != t;
                            let v = if !reply && !f.answered { Verdict::New } else { Verdict::Est };
                            f.answered |= reply;
                            f.last = now;
                            v
                        }
                        // S8: at capacity early drop evicts an unanswered session (the
                        // neighbourhood it looks in covers this whole small table); with none,
                        // or early drop off, the new session is refused.
                        None if full && !evictable => {
                            Verdict::Invalid(sessmgr::drop::DropReason::TableFull)
                        }
                        None => {
                            model.insert(key, Flow { orig: t, answered: false, last: now });
                            Verdict::New
                        }
                    };
                    let got = sh.track(&udp(t.0, t.1, t.2, t.3), now * S);
                    prop_assert_eq!(got.verdict, expect, "packet {:?} at {}", t, now);
                    if model.len() > CAPACITY {
                        // Early drop: exactly one unanswered session left, and no other.
                        let gone: Vec<_> = model
                            .iter()
                            .filter(|(_, f)| !in_table(&sh, f.orig))
                            .map(|(k, f)| (*k, f.answered))
                            .collect();
                        prop_assert_eq!(gone.len(), 1, "evicted {:?}", gone);
                        prop_assert!(!gone[0].1, "an answered session was evicted: {:?}", gone);
                        model.remove(&gone[0].0);
                    }
                }
            }
            sh.expire(now * S, usize::MAX);
            model.retain(|_, f| now - f.last < if f.answered { 60 } else { 30 });
            prop_assert_eq!(sh.len(), model.len(), "live sessions at {}", now);
        }
    }
}
