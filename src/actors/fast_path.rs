//! A core's side of the in-kernel fast path (AF_XDP with `fast_path = true`): it offloads the
//! sessions its shard says are forwardable, withdraws them when they stop being so, and
//! brings what the kernel forwarded back into the table a bounded slice at a time.
//!
//! Off the per-packet path: a session costs two map updates when it is offloaded and two
//! deletions when it is withdrawn (system calls, once per session), and the refresh reads at
//! most `REFRESH_PER_TURN` map entries per loop turn, each offloaded session at most once per
//! `REFRESH_EVERY`. A session the kernel forwards for is therefore seen by its aging at most
//! one refresh pass late; with the default budget a pass over 100,000 offloaded sessions takes
//! about two seconds at 100 turns a second, far below the shortest established aging time
//! (UDP 30 s). ARCHITECTURE.md, "The AF_XDP fast path", says why this design.

use crate::io::{FastPath, OneWay, PortId, peer};
use crate::proto::key::FlowKey;
use crate::table::Shard;
use crate::table::offload::OffloadNote;
use crate::table::session::DirCounters;
use ahash::AHashMap;
use std::time::{Duration, Instant};

/// Map entries read per loop turn at most (two per session).
const REFRESH_PER_TURN: usize = 1024;
/// How often one session is read at most.
const REFRESH_EVERY: Duration = Duration::from_millis(500);

pub use crate::io::FastPathCounters;

struct Offloaded {
    slot: u32,
    generation: u32,
    /// The initiator's direction and the port it arrives on; the reply arrives on the peer.
    orig: OneWay,
    orig_port: PortId,
    /// What the kernel had counted at the last read, per direction (`Direction::index`).
    seen: [DirCounters; 2],
}

impl Offloaded {
    fn ways(&self) -> [(PortId, OneWay); 2] {
        let o = self.orig;
        let reply = OneWay {
            src: o.dst,
            dst: o.src,
            sport: o.dport,
            dport: o.sport,
            proto: o.proto,
        };
        [(self.orig_port, o), (peer(self.orig_port), reply)]
    }
}

/// One core's offloaded sessions.
#[derive(Default)]
pub struct CoreFastPath {
    flows: Vec<Offloaded>,
    by_key: AHashMap<OneWay, usize>,
    notes: Vec<OffloadNote>,
    cursor: usize,
    pass_started: Option<Instant>,
    pub counters: FastPathCounters,
}

/// Reads `e`'s two entries and hands the growth since the last read to the shard. `false`
/// when the shard no longer holds the session.
fn read_into(
    counters: &mut FastPathCounters,
    shard: &mut Shard,
    fast: &mut dyn FastPath,
    e: &mut Offloaded,
) -> bool {
    let mut delta = [DirCounters::default(); 2];
    for (i, (p, w)) in e.ways().into_iter().enumerate() {
        match fast.forwarded(p, &w) {
            Ok(Some((packets, bytes))) => {
                delta[i] = DirCounters {
                    packets: packets.saturating_sub(e.seen[i].packets),
                    bytes: bytes.saturating_sub(e.seen[i].bytes),
                };
                e.seen[i] = DirCounters { packets, bytes };
            }
            Ok(None) => {}
            Err(_) => counters.errors += 1,
        }
    }
    for d in &delta {
        counters.packets += d.packets;
        counters.bytes += d.bytes;
    }
    shard.refresh_offloaded(e.slot, e.generation, delta)
}

/// Deletes `e`'s two entries after a last read. Read, then delete: what the kernel forwards
/// in the microseconds between the two is not counted (the engine forwards the flow's next
/// frames itself).
fn take_back(
    counters: &mut FastPathCounters,
    shard: &mut Shard,
    fast: &mut dyn FastPath,
    e: &mut Offloaded,
) {
    read_into(counters, shard, fast, e);
    for (p, w) in e.ways() {
        if fast.withdraw(p, &w).is_err() {
            counters.errors += 1;
        }
    }
    counters.withdrawn += 1;
}

fn one_way(k: &FlowKey) -> OneWay {
    let four = |a: &[u8; 16]| [a[0], a[1], a[2], a[3]];
    OneWay {
        src: four(&k.src),
        dst: four(&k.dst),
        sport: k.sport,
        dport: k.dport,
        proto: k.proto,
    }
}

impl CoreFastPath {
    /// Acts on what the shard noted since the last call.
    pub fn apply(&mut self, shard: &mut Shard, fast: &mut dyn FastPath) {
        shard.take_offload(&mut self.notes);
        let notes = std::mem::take(&mut self.notes);
        for n in &notes {
            match *n {
                OffloadNote::Ready {
                    slot,
                    generation,
                    orig,
                    orig_port,
                } => self.offload(shard, fast, slot, generation, one_way(&orig), orig_port),
                OffloadNote::Gone { orig } => self.withdraw(shard, fast, &one_way(&orig)),
            }
        }
        self.notes = notes;
        self.notes.clear();
        self.counters.live = self.flows.len() as u64;
    }

    fn offload(
        &mut self,
        shard: &mut Shard,
        fast: &mut dyn FastPath,
        slot: u32,
        generation: u32,
        orig: OneWay,
        orig_port: PortId,
    ) {
        if self.by_key.contains_key(&orig) {
            return;
        }
        let entry = Offloaded {
            slot,
            generation,
            orig,
            orig_port,
            seen: [DirCounters::default(); 2],
        };
        let [(p0, w0), (p1, w1)] = entry.ways();
        if fast.offload(p0, &w0).is_err() {
            self.counters.refused += 1;
            return;
        }
        if fast.offload(p1, &w1).is_err() {
            let _ = fast.withdraw(p0, &w0);
            self.counters.refused += 1;
            return;
        }
        // The engine will not see the segments the kernel forwards: its windows stop being
        // checked (nothing of this session is processed between the two calls: one thread).
        if !shard.offloaded(slot, generation) {
            let _ = fast.withdraw(p0, &w0);
            let _ = fast.withdraw(p1, &w1);
            return;
        }
        self.counters.offloaded += 1;
        self.by_key.insert(orig, self.flows.len());
        self.flows.push(entry);
    }

    /// Takes the session with initiator tuple `orig` back, bringing in what the kernel
    /// forwarded for it since the last read (if it is still in the table).
    fn withdraw(&mut self, shard: &mut Shard, fast: &mut dyn FastPath, orig: &OneWay) {
        let Some(i) = self.by_key.remove(orig) else {
            return;
        };
        let mut e = self.flows.swap_remove(i);
        if let Some(moved) = self.flows.get(i) {
            self.by_key.insert(moved.orig, i);
        }
        take_back(&mut self.counters, shard, fast, &mut e);
    }

    /// One turn's share of the refresh.
    pub fn refresh(&mut self, shard: &mut Shard, fast: &mut dyn FastPath) {
        if self.flows.is_empty() {
            return;
        }
        if self.cursor == 0 {
            match self.pass_started {
                Some(t) if t.elapsed() < REFRESH_EVERY => return,
                _ => self.pass_started = Some(Instant::now()),
            }
        }
        let mut budget = REFRESH_PER_TURN / 2;
        while budget > 0 && self.cursor < self.flows.len() {
            budget -= 1;
            let i = self.cursor;
            let e = &mut self.flows[i];
            let live = read_into(&mut self.counters, shard, fast, e);
            let orig = e.orig;
            if live {
                self.cursor += 1;
            } else {
                // The session went without a note (never expected): take the entries back.
                self.withdraw(shard, fast, &orig);
            }
        }
        if self.cursor >= self.flows.len() {
            self.cursor = 0;
        }
        self.counters.live = self.flows.len() as u64;
    }

    /// Takes every session back (the engine stops forwarding: a standby of a failover pair
    /// must not let the kernel forward for it).
    pub fn withdraw_all(&mut self, shard: &mut Shard, fast: &mut dyn FastPath) {
        self.by_key.clear();
        for mut e in std::mem::take(&mut self.flows) {
            take_back(&mut self.counters, shard, fast, &mut e);
        }
        self.cursor = 0;
        self.counters.live = 0;
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }
}
