//! Which sessions an in-kernel fast path may forward, and what it forwarded for them.
//!
//! The shard does not know the fast path (the table sits below the I/O back-ends); it notes
//! when a session becomes forwardable and when it stops being so, and its core hands the
//! notes to the back-end (`actors::fast_path`). A session is forwardable while it is an IPv4
//! TCP session in ESTABLISHED or an IPv4 UDP session in READY, of the public network, that no
//! ALG follows (the ALG must read its payload) and that session logging did not select (its
//! log must count every byte at the moment it is written). The kernel's flowtable offloads the
//! same way: established flows only, and the connection's end (FIN, RST) back to conntrack;
//! the fast-path program sends every SYN, FIN and RST to the engine, so the engine sees a
//! connection leave ESTABLISHED and withdraws it.
//!
//! While a session is offloaded the engine does not see its segments, so its TCP windows
//! would be stale when FIN comes: an offloaded TCP session skips the window checks from then
//! on (`TcpTrack::pick_up`, as after a failover). What the kernel forwarded comes back through
//! `refresh_offloaded`: the counters grow by it and the session counts as seen, so it ages
//! from the time the core last found traffic on it.

use super::record::V6;
use super::session::{DirCounters, flag};
use super::shard::Shard;
pub use super::shard::{OffloadNote, OffloadOut};
use crate::proto::L4Track;
use crate::proto::key::Direction;
use crate::proto::tcp::TcpState;
use crate::proto::udp::UdpState;
use crate::proto::wire::ipproto;

/// Whether `state` is the one a session of `proto` is forwarded in: TCP ESTABLISHED, UDP
/// READY.
fn forwarding_state(proto: u8, state: u8) -> bool {
    match proto {
        ipproto::TCP => state == TcpState::Established as u8,
        ipproto::UDP => state == UdpState::Ready as u8,
        _ => false,
    }
}

impl Shard {
    /// Whether the session in `slot` may be forwarded by the fast path now.
    fn forwardable(&self, slot: u32) -> bool {
        let r = &self.records[slot as usize];
        !(r.has(V6) || r.has(flag::ALG) || r.has(flag::LOGGED) || r.vpn != 0)
            && forwarding_state(r.proto, r.state)
    }

    /// After the session in `slot` changed state from `old_state` on a packet in direction
    /// `dir` that arrived on the shard's current ingress port.
    pub(super) fn note_offload(&mut self, slot: u32, dir: Direction, old_state: u8) {
        let was = forwarding_state(self.records[slot as usize].proto, old_state);
        let orig = || self.records[slot as usize].orig_key(&self.v6);
        if self.forwardable(slot) {
            let orig_port = match dir {
                Direction::Orig => self.ingress,
                Direction::Reply => self.ingress ^ 1,
            };
            let note = OffloadNote::Ready {
                slot,
                generation: self.meta[slot as usize].generation,
                orig: orig(),
                orig_port,
            };
            self.offload.notes.push(note);
        } else if was {
            let note = OffloadNote::Gone { orig: orig() };
            self.offload.notes.push(note);
        }
    }

    /// Before the session in `slot` leaves the table.
    pub(super) fn note_offload_removed(&mut self, slot: u32) {
        if self.forwardable(slot) {
            let orig = self.records[slot as usize].orig_key(&self.v6);
            self.offload.notes.push(OffloadNote::Gone { orig });
        }
    }

    /// Forgets the notes since the last call (the engine is not forwarding: nothing is
    /// offloaded).
    pub fn discard_offload(&mut self) {
        self.offload.notes.clear();
    }

    /// Moves the notes since the last call into `into`.
    pub fn take_offload(&mut self, into: &mut Vec<OffloadNote>) {
        into.append(&mut self.offload.notes);
    }

    /// The fast path took the session in `slot` (if the slot still holds it): its TCP
    /// windows stop being checked, since the engine no longer sees its segments.
    pub fn offloaded(&mut self, slot: u32, generation: u32) -> bool {
        if !self.holds(slot, generation) {
            return false;
        }
        let r = &mut self.records[slot as usize];
        let mut l4 = L4Track::from_words(r.proto, &r.l4);
        if let L4Track::Tcp(t) = &mut l4 {
            t.pick_up();
            r.l4 = l4.to_words();
        }
        true
    }

    /// The fast path forwarded `delta` (per direction, `Direction::index`) for the session in
    /// `slot` since the last refresh: counted as if the engine had seen it, and the session
    /// was seen now. `false` when the slot no longer holds that session.
    pub fn refresh_offloaded(
        &mut self,
        slot: u32,
        generation: u32,
        delta: [DirCounters; 2],
    ) -> bool {
        if !self.holds(slot, generation) {
            return false;
        }
        if delta.iter().all(|d| d.packets == 0) {
            return true;
        }
        let now = self.now_ms as u32;
        self.records[slot as usize].last_seen_ms = now;
        if self.config.statistics {
            let m = &mut self.meta[slot as usize];
            for (i, d) in delta.iter().enumerate() {
                let mut c = m.counters[i].get();
                c.packets += d.packets;
                c.bytes += d.bytes;
                m.counters[i] = super::record::PackedCounters::of(c);
            }
            let r = self.records[slot as usize];
            let total = DirCounters {
                packets: delta[0].packets + delta[1].packets,
                bytes: delta[0].bytes + delta[1].bytes,
            };
            self.census.receive_many(r.family(), r.proto, total);
        }
        true
    }

    fn holds(&self, slot: u32, generation: u32) -> bool {
        let i = slot as usize;
        self.records.get(i).is_some_and(|r| r.has(flag::LIVE))
            && self.meta.get(i).is_some_and(|m| m.generation == generation)
    }
}
