//! The stored session record: one cache line (64 bytes) per session, IPv4 and IPv6 alike,
//! holding everything a lookup compares and a state machine reads and writes. What else a
//! session has lives beside it, indexed by the same slot:
//!
//! - its counters and cold metadata in the shard's `SlotMeta` (written per packet only when
//!   statistics are on, and prefetched with the record by the batched lookup);
//! - for IPv6, its two addresses in the shard's side arena (`V6Keys`): the record holds their
//!   index and a 32-bit fingerprint of them, so a lookup compares the side arena only when
//!   ports, protocol, VPN and fingerprint all match (a true hit, or one in four billion).
//!
//! A 128-byte record for both families cost two cache lines per lookup and 148 B per session
//! all-in at 10M; this one brings the IPv4 session to about 120 B all-in (docs/performance.md,
//! issue #15). The `Session` type (`session.rs`) is the whole view of a session that everything
//! off the packet path reads (`Shard::session`).

use super::session::{DirCounters, Session, flag};
use crate::arena::ArenaVec;
use crate::proto::key::{Direction, FlowKey};
use crate::proto::wire::{Addr, Family};
use crate::proto::{L4Track, TrackWords};

/// Set in `Record::flags` for an IPv6 session (`flag` holds the others).
pub const V6: u8 = 0x80;

/// One session as the table stores it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Record {
    /// IPv4: the canonical key's source address. IPv6: the index of the key's addresses in
    /// the shard's `V6Keys`.
    pub src: u32,
    /// IPv4: the canonical key's destination address. IPv6: `fingerprint` of the addresses.
    pub dst: u32,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    /// `session::flag` bits, and `V6`.
    pub flags: u8,
    pub vpn: u16,
    /// Time of the last accepted packet, milliseconds on the engine clock, wrapping.
    pub last_seen_ms: u32,
    /// The protocol's state (`TcpState as u8`, ...).
    pub state: u8,
    /// Application id (S5).
    pub app: u8,
    /// Persistent aging in hours (A3; 0 = never), fixed at creation.
    pub persist_hours: u16,
    /// The protocol's tracking data (`L4Track::to_words`).
    pub l4: TrackWords,
}

const _: () = assert!(size_of::<Record>() == 64, "the record is one cache line");

#[inline]
fn v4(a: &Addr) -> u32 {
    u32::from_be_bytes([a[0], a[1], a[2], a[3]])
}

fn v4_addr(x: u32) -> Addr {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&x.to_be_bytes());
    a
}

/// 32 bits that tell two IPv6 address pairs apart without reading the side arena.
#[inline]
fn fingerprint(src: &Addr, dst: &Addr) -> u32 {
    let word = |a: &Addr, i: usize| u32::from_le_bytes([a[i], a[i + 1], a[i + 2], a[i + 3]]);
    let mut h = 0u32;
    for i in (0..16).step_by(4) {
        h = (h ^ word(src, i)).rotate_left(5).wrapping_mul(0x9e37_79b1);
        h = (h ^ word(dst, i)).rotate_left(5).wrapping_mul(0x9e37_79b1);
    }
    h
}

impl Record {
    #[inline]
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// Direction of a packet whose canonicalisation reported `swapped`.
    #[inline]
    pub fn direction(&self, swapped: bool) -> Direction {
        Direction::from_swapped(swapped != self.has(flag::ORIG_SWAPPED))
    }

    #[inline]
    pub fn family(&self) -> Family {
        if self.has(V6) { Family::V6 } else { Family::V4 }
    }

    /// Whether this record holds canonical key `k` (`v6` = the shard's side arena).
    #[inline]
    pub fn matches(&self, k: &FlowKey, v6: &V6Keys) -> bool {
        if self.sport != k.sport || self.dport != k.dport || self.proto != k.proto {
            return false;
        }
        if self.vpn != k.vpn || self.has(V6) != (k.family == Family::V6) {
            return false;
        }
        match k.family {
            Family::V4 => self.src == v4(&k.src) && self.dst == v4(&k.dst),
            Family::V6 => {
                self.dst == fingerprint(&k.src, &k.dst) && v6.get(self.src) == Some(&[k.src, k.dst])
            }
        }
    }

    /// The canonical key.
    pub fn key(&self, v6: &V6Keys) -> FlowKey {
        let (family, src, dst) = if self.has(V6) {
            let [src, dst] = v6.get(self.src).copied().unwrap_or_default();
            (Family::V6, src, dst)
        } else {
            (Family::V4, v4_addr(self.src), v4_addr(self.dst))
        };
        FlowKey {
            src,
            dst,
            sport: self.sport,
            dport: self.dport,
            proto: self.proto,
            family,
            vpn: self.vpn,
        }
    }

    #[inline]
    pub fn l4(&self) -> L4Track {
        L4Track::from_words(self.proto, &self.l4)
    }

    /// The record of `s`, its IPv6 addresses (if any) filed in `v6`.
    pub fn store(s: &Session, v6: &mut V6Keys) -> Record {
        let k = &s.key;
        let mut flags = s.flags & !V6;
        let (src, dst) = match k.family {
            Family::V4 => (v4(&k.src), v4(&k.dst)),
            Family::V6 => {
                flags |= V6;
                (v6.insert([k.src, k.dst]), fingerprint(&k.src, &k.dst))
            }
        };
        Record {
            src,
            dst,
            sport: k.sport,
            dport: k.dport,
            proto: k.proto,
            flags,
            vpn: k.vpn,
            last_seen_ms: s.last_seen_ms,
            state: s.state,
            app: s.app,
            persist_hours: s.persist_hours,
            l4: s.l4.to_words(),
        }
    }

    /// The whole view of the session (key, counters and tracking data decoded).
    pub fn view(&self, v6: &V6Keys, counters: [DirCounters; 2]) -> Session {
        Session {
            key: self.key(v6),
            counters,
            last_seen_ms: self.last_seen_ms,
            persist_hours: self.persist_hours,
            state: self.state,
            app: self.app,
            flags: self.flags & !V6,
            l4: self.l4(),
        }
    }

    /// The initiator's tuple (what `display session` calls Initiator).
    pub fn orig_key(&self, v6: &V6Keys) -> FlowKey {
        let k = self.key(v6);
        if self.has(flag::ORIG_SWAPPED) {
            k.reversed()
        } else {
            k
        }
    }
}

/// The side arena of IPv6 sessions' addresses, `[src, dst]` of the canonical key, with a free
/// list: an IPv4 session costs it nothing.
#[derive(Debug, Default)]
pub struct V6Keys {
    keys: ArenaVec<[Addr; 2]>,
    free: Vec<u32>,
}

impl V6Keys {
    #[inline]
    pub fn get(&self, i: u32) -> Option<&[Addr; 2]> {
        self.keys.get(i as usize)
    }

    fn insert(&mut self, pair: [Addr; 2]) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.keys[i as usize] = pair;
                i
            }
            None => {
                self.keys.push(pair);
                (self.keys.len() - 1) as u32
            }
        }
    }

    /// Gives back the entry of a deleted IPv6 session.
    pub fn release(&mut self, i: u32) {
        if (i as usize) < self.keys.len() {
            self.free.push(i);
        }
    }

    /// Bytes held (entries and free list).
    pub fn memory_bytes(&self) -> usize {
        self.keys.capacity() * size_of::<[Addr; 2]>() + self.free.capacity() * 4
    }
}

/// A direction's counters as the slot metadata keeps them: 48-bit packet and byte counts in
/// 12 bytes (256 TB or 2.8e14 packets per direction before they stop counting; a 10 Gbit/s
/// session takes 2.5 days to send 256 TB... then saturate instead of wrapping).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackedCounters {
    packets_lo: u32,
    bytes_lo: u32,
    packets_hi: u16,
    bytes_hi: u16,
}

const _: () = assert!(size_of::<PackedCounters>() == 12);

impl PackedCounters {
    /// One more packet of `bytes` bytes.
    #[inline]
    pub fn count(&mut self, bytes: u32) {
        let (p, carry) = self.packets_lo.overflowing_add(1);
        self.packets_lo = p;
        if carry {
            self.carry_packets();
        }
        let (b, carry) = self.bytes_lo.overflowing_add(bytes);
        self.bytes_lo = b;
        if carry {
            self.carry_bytes();
        }
    }

    #[cold]
    fn carry_packets(&mut self) {
        match self.packets_hi.checked_add(1) {
            Some(h) => self.packets_hi = h,
            None => self.packets_lo = u32::MAX, // saturated: stays at the maximum
        }
    }

    #[cold]
    fn carry_bytes(&mut self) {
        match self.bytes_hi.checked_add(1) {
            Some(h) => self.bytes_hi = h,
            None => self.bytes_lo = u32::MAX,
        }
    }

    pub fn get(&self) -> DirCounters {
        DirCounters {
            packets: (u64::from(self.packets_hi) << 32) | u64::from(self.packets_lo),
            bytes: (u64::from(self.bytes_hi) << 32) | u64::from(self.bytes_lo),
        }
    }

    /// `c`, saturated to 48 bits.
    pub fn of(c: DirCounters) -> PackedCounters {
        const MAX: u64 = (1 << 48) - 1;
        let (p, b) = (c.packets.min(MAX), c.bytes.min(MAX));
        PackedCounters {
            packets_lo: p as u32,
            bytes_lo: b as u32,
            packets_hi: (p >> 32) as u16,
            bytes_hi: (b >> 32) as u16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::wire::ipproto;
    use proptest::prelude::*;

    fn key(family: Family, seed: u8, proto: u8) -> FlowKey {
        let mut src = [0u8; 16];
        let mut dst = [0u8; 16];
        let n = if family == Family::V4 { 4 } else { 16 };
        for i in 0..n {
            src[i] = seed.wrapping_add(i as u8);
            dst[i] = seed.wrapping_mul(3).wrapping_add(i as u8);
        }
        FlowKey {
            src,
            dst,
            sport: 1000 + u16::from(seed),
            dport: 80,
            proto,
            family,
            vpn: u16::from(seed % 3),
        }
    }

    #[test]
    fn stores_and_finds_both_families() {
        let mut v6 = V6Keys::default();
        for family in [Family::V4, Family::V6] {
            for seed in 0..50u8 {
                let k = key(family, seed, ipproto::UDP);
                let s = Session {
                    key: k,
                    counters: [DirCounters {
                        packets: 3,
                        bytes: 300,
                    }; 2],
                    last_seen_ms: 77,
                    persist_hours: 5,
                    state: 2,
                    app: 9,
                    flags: flag::LIVE | flag::SEEN_REPLY,
                    l4: L4Track::None,
                };
                let r = Record::store(&s, &mut v6);
                assert_eq!(r.family(), family);
                assert!(r.matches(&k, &v6));
                assert!(!r.matches(&key(family, seed.wrapping_add(1), ipproto::UDP), &v6));
                assert!(!r.matches(&key(family, seed, ipproto::TCP), &v6));
                assert_eq!(r.view(&v6, s.counters), s);
            }
        }
        // An IPv4 key never matches an IPv6 record with the same leading bytes.
        let r6 = Record::store(
            &Session {
                key: key(Family::V6, 1, ipproto::UDP),
                counters: Default::default(),
                last_seen_ms: 0,
                persist_hours: 0,
                state: 0,
                app: 0,
                flags: flag::LIVE,
                l4: L4Track::None,
            },
            &mut v6,
        );
        assert!(!r6.matches(&key(Family::V4, 1, ipproto::UDP), &v6));
    }

    #[test]
    fn released_v6_entries_are_reused() {
        let mut v6 = V6Keys::default();
        let a = v6.insert([[1; 16], [2; 16]]);
        let b = v6.insert([[3; 16], [4; 16]]);
        v6.release(a);
        let c = v6.insert([[5; 16], [6; 16]]);
        assert_eq!(c, a);
        assert_eq!(v6.get(b), Some(&[[3; 16], [4; 16]]));
        assert_eq!(v6.get(c), Some(&[[5; 16], [6; 16]]));
    }

    proptest! {
        #[test]
        fn counters_carry_into_48_bits(start in any::<u64>(), adds in prop::collection::vec(any::<u32>(), 0..50)) {
            let start = start % (1 << 47);
            let mut c = PackedCounters::of(DirCounters { packets: start, bytes: start });
            let (mut p, mut b) = (start, start);
            for a in adds {
                c.count(a);
                p += 1;
                b += u64::from(a);
            }
            prop_assert_eq!(c.get(), DirCounters { packets: p, bytes: b.min((1 << 48) - 1) });
        }
    }

    #[test]
    fn counters_saturate_instead_of_wrapping() {
        let max = (1u64 << 48) - 1;
        let mut c = PackedCounters::of(DirCounters {
            packets: max,
            bytes: max,
        });
        c.count(u32::MAX);
        assert_eq!(
            c.get(),
            DirCounters {
                packets: max,
                bytes: max
            }
        );
    }
}
