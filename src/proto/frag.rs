//! Bounded IPv4/IPv6 reassembly, modelled on the kernel's defrag (`net/ipv4/ip_fragment.c`,
//! `net/ipv6/reassembly.c`, `net/ipv4/inet_fragment.c`).
//!
//! - RFC 791 §3.2 / RFC 8200 §4.5: fragments are queued by (source, destination, protocol,
//!   identification) and completed when the final fragment and every byte before it arrived.
//! - RFC 5722: any overlap drops the whole datagram, for IPv4 too (the kernel does the same
//!   since 2018), so no overlap-based evasion can make us see other bytes than the host.
//! - Memory is bounded by `FragLimits` whatever a sender does: datagrams in flight, bytes
//!   held (each fragment is charged its data plus a fixed bookkeeping cost), and the expiry
//!   queue. When full, the new fragment is dropped: nothing held is evicted.
//!
//! Allocation happens here (one boxed copy per held fragment, one Vec per completed
//! datagram): fragments are the slow path.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::wire::{Addr, Family, Fragment, IpInfo};
use crate::drop::DropReason;

/// Bookkeeping charged per held fragment on top of its data (its B-tree slot and allocation
/// header), so a flood of tiny fragments is bounded by `max_bytes` like one of big ones.
const FRAGMENT_OVERHEAD: usize = 64;
/// Charged per datagram in flight (its map slot, its expiry entry, its record).
const DATAGRAM_OVERHEAD: usize = 256;
/// The rebuilt IPv4 datagram gets a 20-byte header and its total length must fit 16 bits.
const MAX_IPV4_PAYLOAD: u32 = 65535 - 20;
/// RFC 8200 §4.5: fragment offset + fragment length must not exceed 65535.
const MAX_IPV6_PAYLOAD: u32 = 65535;

/// Reassembly bounds (the kernel's `ipfrag_*` sysctls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragLimits {
    /// Datagrams being reassembled at once.
    pub max_datagrams: usize,
    /// Bytes held, data plus bookkeeping (kernel `ipfrag_high_thresh`, 4 MiB).
    pub max_bytes: usize,
    /// Time from a datagram's first fragment to its expiry (kernel `ipfrag_time`, 30 s).
    pub timeout_ns: u64,
}

impl Default for FragLimits {
    fn default() -> Self {
        Self {
            max_datagrams: 1024,
            max_bytes: 4 << 20,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// What became of a fragment handed to [`Reassembler::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FragOutcome {
    /// Kept until the rest arrives (or a harmless exact duplicate, ignored).
    Held,
    /// The datagram is complete: a fresh IPv4 header without options (or an IPv6 fixed
    /// header without extension headers), the upper-layer protocol in it, lengths fixed,
    /// then the reassembled payload. Hand it to `wire::parse_ip`.
    Complete(Vec<u8>),
    /// This fragment is dropped; for `FragmentOverlap` and `FragmentInconsistent` the whole
    /// datagram it belonged to is dropped with it.
    Dropped(DropReason),
}

/// Which datagram a fragment belongs to. IPv6 leaves `proto` at 0: the Fragment headers of
/// one datagram may carry different next headers and only the first one's counts
/// (RFC 8200 §4.5), so, like the kernel, it is not part of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    family: Family,
    src: Addr,
    dst: Addr,
    proto: u8,
    id: u32,
}

impl Key {
    fn of(frag: &Fragment<'_>) -> Key {
        Key {
            family: frag.ip.family,
            src: frag.ip.src,
            dst: frag.ip.dst,
            proto: match frag.ip.family {
                Family::V4 => frag.ip.proto,
                Family::V6 => 0,
            },
            id: frag.id,
        }
    }
}

#[derive(Debug)]
struct Piece {
    end: u32,
    data: Box<[u8]>,
}

/// One datagram being reassembled.
#[derive(Debug)]
struct Pending {
    /// Tells this datagram from an earlier one with the same key in the expiry queue.
    generation: u64,
    /// The IP fields of the rebuilt header: taken from the offset-0 fragment once it came
    /// (its TTL, and for IPv6 its next header, RFC 8200 §4.5).
    ip: IpInfo,
    /// Held fragments by offset; they never overlap.
    pieces: BTreeMap<u32, Piece>,
    /// Data bytes held: with no overlap, complete exactly when it equals `end`.
    received: u32,
    /// The payload length, once the final fragment (M = 0) arrived.
    end: Option<u32>,
    /// The highest end of any held fragment.
    max_end: u32,
    /// Bytes charged to the pool for this datagram.
    charged: usize,
}

enum Insert {
    Stored,
    Duplicate,
}

impl Pending {
    fn insert(&mut self, frag: &Fragment<'_>, end: u32) -> Result<Insert, DropReason> {
        let start = frag.offset;
        // RFC 791 §3.2 / RFC 8200 §4.5: all fragments must agree on where the datagram ends.
        let inconsistent = if frag.more {
            self.end.is_some_and(|e| end > e)
        } else {
            self.end.is_some_and(|e| e != end) || self.max_end > end
        };
        if inconsistent {
            return Err(DropReason::FragmentInconsistent);
        }
        if !frag.more {
            self.end = Some(end);
        }
        // A retransmitted copy of a held fragment changes nothing (the kernel's IPFRAG_DUP).
        if self.pieces.get(&start).is_some_and(|p| p.end == end) {
            return Ok(Insert::Duplicate);
        }
        let overlaps_before = self
            .pieces
            .range(..start)
            .next_back()
            .is_some_and(|(_, p)| p.end > start);
        let overlaps_after = self
            .pieces
            .range(start..)
            .next()
            .is_some_and(|(&s, _)| s < end);
        if overlaps_before || overlaps_after {
            return Err(DropReason::FragmentOverlap);
        }
        self.pieces.insert(
            start,
            Piece {
                end,
                data: frag.data.into(),
            },
        );
        self.received += end - start;
        self.max_end = self.max_end.max(end);
        if start == 0 {
            self.ip = frag.ip;
        }
        Ok(Insert::Stored)
    }

    fn is_complete(&self) -> bool {
        self.end == Some(self.received)
    }

    /// The whole datagram with a fresh header (RFC 791 §3.1, RFC 8200 §3).
    fn rebuild(&self, id: u32) -> Vec<u8> {
        let ip = &self.ip;
        let payload_len = self.received as usize;
        let mut out;
        match ip.family {
            Family::V4 => {
                let total = (20 + self.received).to_be_bytes();
                let id = id.to_be_bytes();
                let mut h = [
                    0x45, 0, total[2], total[3], id[2], id[3], 0, 0, ip.ttl, ip.proto, 0,
                    0, //
                    ip.src[0], ip.src[1], ip.src[2], ip.src[3], //
                    ip.dst[0], ip.dst[1], ip.dst[2], ip.dst[3],
                ];
                let [c0, c1] = ipv4_checksum(&h).to_be_bytes();
                h[10] = c0;
                h[11] = c1;
                out = Vec::with_capacity(h.len() + payload_len);
                out.extend_from_slice(&h);
            }
            Family::V6 => {
                let plen = self.received.to_be_bytes();
                out = Vec::with_capacity(40 + payload_len);
                out.extend_from_slice(&[0x60, 0, 0, 0, plen[2], plen[3], ip.proto, ip.ttl]);
                out.extend_from_slice(&ip.src);
                out.extend_from_slice(&ip.dst);
            }
        }
        for piece in self.pieces.values() {
            out.extend_from_slice(&piece.data);
        }
        out
    }
}

/// RFC 791 §3.1 header checksum (RFC 1071 one's complement sum).
fn ipv4_checksum(h: &[u8; 20]) -> u16 {
    let mut sum: u32 = h
        .chunks_exact(2)
        .map(|w| match w {
            &[a, b] => u32::from(u16::from_be_bytes([a, b])),
            _ => 0,
        })
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Reassembles IPv4 and IPv6 fragments within fixed bounds (see the module notes).
#[derive(Debug)]
pub struct Reassembler {
    limits: FragLimits,
    pending: HashMap<Key, Pending>,
    /// (deadline, key, generation) in creation order. Entries of datagrams already gone stay
    /// until they reach the front or the queue is compacted, which keeps it bounded.
    deadlines: VecDeque<(u64, Key, u64)>,
    next_generation: u64,
    bytes: usize,
    /// Datagrams expired inside `push`, reported by the next `expire` call.
    expired_unreported: usize,
}

impl Reassembler {
    /// An empty reassembler with these bounds.
    pub fn new(limits: FragLimits) -> Self {
        Self {
            limits,
            pending: HashMap::new(),
            deadlines: VecDeque::new(),
            next_generation: 0,
            bytes: 0,
            expired_unreported: 0,
        }
    }

    /// Adds one fragment (as `wire::parse_ip` returned it) at time `now_ns`.
    ///
    /// Datagrams whose timeout has passed are dropped first; they are counted by the next
    /// [`expire`](Self::expire) call.
    pub fn push(&mut self, frag: &Fragment<'_>, now_ns: u64) -> FragOutcome {
        self.expired_unreported += self.expire_now(now_ns);
        match self.try_push(frag, now_ns) {
            Ok(Some(datagram)) => FragOutcome::Complete(datagram),
            Ok(None) => FragOutcome::Held,
            Err(reason) => FragOutcome::Dropped(reason),
        }
    }

    /// Drops every datagram whose timeout has passed at `now_ns`. Returns how many datagrams
    /// were dropped for timing out since the last call (including those `push` dropped), each
    /// one `FragmentTimeout` for the caller to count.
    pub fn expire(&mut self, now_ns: u64) -> usize {
        let n = self.expire_now(now_ns) + self.expired_unreported;
        self.expired_unreported = 0;
        n
    }

    /// Datagrams being reassembled.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Bytes charged to the pool (data plus bookkeeping), never above `max_bytes`.
    pub fn bytes_held(&self) -> usize {
        self.bytes
    }

    fn try_push(
        &mut self,
        frag: &Fragment<'_>,
        now_ns: u64,
    ) -> Result<Option<Vec<u8>>, DropReason> {
        let len = u32::try_from(frag.data.len()).map_err(|_| DropReason::FragmentTooLarge)?;
        if len == 0 {
            return Err(DropReason::FragmentTooShort);
        }
        // RFC 791 §3.2 / RFC 8200 §4.5: every fragment but the last carries a multiple of 8
        // bytes, otherwise the next offset cannot be expressed.
        if frag.more && len % 8 != 0 {
            return Err(DropReason::FragmentBadLength);
        }
        let max = match frag.ip.family {
            Family::V4 => MAX_IPV4_PAYLOAD,
            Family::V6 => MAX_IPV6_PAYLOAD,
        };
        let end = frag
            .offset
            .checked_add(len)
            .filter(|&end| end <= max)
            .ok_or(DropReason::FragmentTooLarge)?;
        let key = Key::of(frag);
        let charge = frag.data.len() + FRAGMENT_OVERHEAD;
        if !self.pending.contains_key(&key) {
            if self.pending.len() >= self.limits.max_datagrams
                || self.bytes + DATAGRAM_OVERHEAD + charge > self.limits.max_bytes
            {
                return Err(DropReason::FragmentPoolFull);
            }
            self.start(key, frag.ip, now_ns);
        } else if self.bytes + charge > self.limits.max_bytes {
            return Err(DropReason::FragmentPoolFull);
        }
        let Some(dg) = self.pending.get_mut(&key) else {
            return Err(DropReason::FragmentPoolFull);
        };
        match dg.insert(frag, end) {
            Ok(Insert::Stored) => {
                dg.charged += charge;
                self.bytes += charge;
            }
            Ok(Insert::Duplicate) => {}
            Err(reason) => {
                self.remove(&key);
                return Err(reason);
            }
        }
        if !dg.is_complete() {
            return Ok(None);
        }
        let datagram = dg.rebuild(frag.id);
        self.remove(&key);
        Ok(Some(datagram))
    }

    fn start(&mut self, key: Key, ip: IpInfo, now_ns: u64) {
        let generation = self.next_generation;
        self.next_generation += 1;
        self.pending.insert(
            key,
            Pending {
                generation,
                ip,
                pieces: BTreeMap::new(),
                received: 0,
                end: None,
                max_end: 0,
                charged: DATAGRAM_OVERHEAD,
            },
        );
        self.bytes += DATAGRAM_OVERHEAD;
        // The kernel arms the timer once, at the first fragment; later ones do not extend it.
        let deadline = now_ns.saturating_add(self.limits.timeout_ns);
        self.deadlines.push_back((deadline, key, generation));
        // Completed and dropped datagrams leave stale entries; compacting when they
        // outnumber the live ones keeps the queue within 2 × max_datagrams, amortised O(1).
        if self.deadlines.len() > self.limits.max_datagrams.max(8).saturating_mul(2) {
            let pending = &self.pending;
            self.deadlines
                .retain(|(_, k, g)| pending.get(k).is_some_and(|p| p.generation == *g));
        }
    }

    fn remove(&mut self, key: &Key) {
        if let Some(dg) = self.pending.remove(key) {
            self.bytes = self.bytes.saturating_sub(dg.charged);
        }
    }

    fn expire_now(&mut self, now_ns: u64) -> usize {
        let mut expired = 0;
        while let Some(&(deadline, key, generation)) = self.deadlines.front() {
            if deadline > now_ns {
                break;
            }
            self.deadlines.pop_front();
            if self
                .pending
                .get(&key)
                .is_some_and(|p| p.generation == generation)
            {
                self.remove(&key);
                expired += 1;
            }
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::wire::{Datagram, L4, Ports, ipproto, parse_ip};

    const SEC: u64 = 1_000_000_000;

    fn ip(family: Family, proto: u8) -> IpInfo {
        let mut src = [0u8; 16];
        let mut dst = [0u8; 16];
        match family {
            Family::V4 => {
                src[..4].copy_from_slice(&[198, 18, 0, 1]);
                dst[..4].copy_from_slice(&[198, 18, 0, 2]);
            }
            Family::V6 => {
                src[..2].copy_from_slice(&[0x20, 0x01]);
                src[15] = 1;
                dst[..2].copy_from_slice(&[0x20, 0x01]);
                dst[15] = 2;
            }
        }
        IpInfo {
            family,
            src,
            dst,
            proto,
            len: 0,
            ttl: 64,
        }
    }

    fn fragment(family: Family, id: u32, offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            ip: ip(family, ipproto::UDP),
            id,
            offset,
            more,
            data,
        }
    }

    /// A UDP datagram payload of `n` bytes: header then a counting pattern.
    fn udp_payload(n: usize) -> Vec<u8> {
        let mut v = vec![0x9c, 0x40, 0, 53];
        v.extend_from_slice(&(n as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend((0..n - 8).map(|i| i as u8));
        v
    }

    fn complete(out: FragOutcome) -> Vec<u8> {
        match out {
            FragOutcome::Complete(v) => v,
            other => panic!("expected a complete datagram, got {other:?}"),
        }
    }

    #[test]
    fn ipv4_in_order_rebuilds_a_parseable_datagram() {
        let data = udp_payload(40);
        let mut r = Reassembler::new(FragLimits::default());
        let f1 = fragment(Family::V4, 7, 0, true, &data[..16]);
        let f2 = fragment(Family::V4, 7, 16, true, &data[16..32]);
        let f3 = fragment(Family::V4, 7, 32, false, &data[32..]);
        assert_eq!(r.push(&f1, 0), FragOutcome::Held);
        assert_eq!(r.push(&f2, 1), FragOutcome::Held);
        assert_eq!(
            (r.in_flight(), r.bytes_held()),
            (1, DATAGRAM_OVERHEAD + 32 + 2 * FRAGMENT_OVERHEAD)
        );
        let whole = complete(r.push(&f3, 2));
        assert_eq!((r.in_flight(), r.bytes_held()), (0, 0));
        assert_eq!(whole.len(), 60);
        assert_eq!(
            ipv4_checksum(whole.first_chunk::<20>().unwrap()),
            0,
            "header checksum verifies"
        );
        let Ok(Datagram::Whole(p)) = parse_ip(&whole) else {
            panic!("not whole")
        };
        assert_eq!((p.ip.proto, p.ip.len, p.ip.ttl), (ipproto::UDP, 60, 64));
        assert_eq!(
            p.l4,
            L4::Udp(Ports {
                sport: 40000,
                dport: 53
            })
        );
        assert_eq!(p.payload, &data[8..]);
    }

    #[test]
    fn ipv4_fragments_from_the_wire_out_of_order() {
        let data = udp_payload(30);
        let frag_dgram = |off: u16, more: bool, body: &[u8]| {
            let mut v = vec![0x45, 0];
            v.extend_from_slice(&(20 + body.len() as u16).to_be_bytes());
            v.extend_from_slice(&[0xab, 0xcd]);
            v.extend_from_slice(&((off / 8) | if more { 0x2000 } else { 0 }).to_be_bytes());
            v.extend_from_slice(&[33, ipproto::UDP, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2]);
            v.extend_from_slice(body);
            v
        };
        let wire = [
            frag_dgram(24, false, &data[24..]),
            frag_dgram(0, true, &data[..8]),
            frag_dgram(8, true, &data[8..24]),
        ];
        let mut r = Reassembler::new(FragLimits::default());
        let mut out = Vec::new();
        for d in &wire {
            let Ok(Datagram::Fragment(f)) = parse_ip(d) else {
                panic!("not a fragment")
            };
            out.push(r.push(&f, 0));
        }
        assert_eq!(out[..2], [FragOutcome::Held, FragOutcome::Held]);
        let whole = complete(out.pop().unwrap());
        let Ok(Datagram::Whole(p)) = parse_ip(&whole) else {
            panic!("not whole")
        };
        assert_eq!((p.ip.ttl, p.payload), (33, &data[8..]));
        assert_eq!(u16::from_be_bytes([whole[4], whole[5]]), 0xabcd);
    }

    #[test]
    fn ipv6_reassembly_takes_the_next_header_of_the_first_fragment() {
        let data = udp_payload(24);
        let mut r = Reassembler::new(FragLimits::default());
        let mut last = fragment(Family::V6, 0x1234_5678, 16, false, &data[16..]);
        last.ip.proto = 0xfd; // RFC 8200 §4.5: only the offset-0 fragment's value counts
        assert_eq!(r.push(&last, 0), FragOutcome::Held);
        let whole = complete(r.push(&fragment(Family::V6, 0x1234_5678, 0, true, &data[..16]), 0));
        let Ok(Datagram::Whole(p)) = parse_ip(&whole) else {
            panic!("not whole")
        };
        assert_eq!((p.ip.proto, p.ip.len), (ipproto::UDP, 64));
        assert_eq!(p.payload, &data[8..]);
    }

    #[test]
    fn overlap_drops_the_whole_datagram() {
        let data = [0u8; 32];
        let mut r = Reassembler::new(FragLimits::default());
        assert_eq!(
            r.push(&fragment(Family::V4, 1, 0, true, &data[..16]), 0),
            FragOutcome::Held
        );
        assert_eq!(
            r.push(&fragment(Family::V4, 1, 8, true, &data[..16]), 0),
            FragOutcome::Dropped(DropReason::FragmentOverlap)
        );
        assert_eq!((r.in_flight(), r.bytes_held()), (0, 0));
        // Nothing is remembered: the remaining fragment starts a fresh datagram.
        assert_eq!(
            r.push(&fragment(Family::V4, 1, 16, false, &data[..8]), 0),
            FragOutcome::Held
        );
        // Overlap with the following fragment too.
        assert_eq!(
            r.push(&fragment(Family::V4, 1, 8, true, &data[..16]), 0),
            FragOutcome::Dropped(DropReason::FragmentOverlap)
        );
    }

    #[test]
    fn exact_duplicates_are_harmless() {
        let data = udp_payload(16);
        let mut r = Reassembler::new(FragLimits::default());
        let f1 = fragment(Family::V4, 1, 0, true, &data[..8]);
        assert_eq!(r.push(&f1, 0), FragOutcome::Held);
        let held = r.bytes_held();
        assert_eq!(r.push(&f1, 0), FragOutcome::Held);
        assert_eq!(r.bytes_held(), held);
        complete(r.push(&fragment(Family::V4, 1, 8, false, &data[8..]), 0));
    }

    #[test]
    fn malformed_fragments() {
        let data = [0u8; 64];
        let mut r = Reassembler::new(FragLimits::default());
        let drop = |r: &mut Reassembler, f: Fragment<'_>| match r.push(&f, 0) {
            FragOutcome::Dropped(reason) => reason,
            other => panic!("expected a drop, got {other:?}"),
        };
        assert_eq!(
            drop(&mut r, fragment(Family::V4, 1, 0, true, &data[..12])),
            DropReason::FragmentBadLength
        );
        assert_eq!(
            drop(&mut r, fragment(Family::V4, 1, 8, false, &[])),
            DropReason::FragmentTooShort
        );
        assert_eq!(
            drop(&mut r, fragment(Family::V4, 1, 65504, false, &data[..12])),
            DropReason::FragmentTooLarge
        );
        assert_eq!(
            drop(&mut r, fragment(Family::V6, 1, 65528, false, &data[..9])),
            DropReason::FragmentTooLarge
        );
        assert_eq!(r.in_flight(), 0);
        // Two different ends.
        assert_eq!(
            r.push(&fragment(Family::V4, 2, 16, false, &data[..8]), 0),
            FragOutcome::Held
        );
        assert_eq!(
            drop(&mut r, fragment(Family::V4, 2, 32, false, &data[..8])),
            DropReason::FragmentInconsistent
        );
        assert_eq!(r.in_flight(), 0);
        // Data beyond the announced end, and an end before data already held.
        assert_eq!(
            r.push(&fragment(Family::V4, 3, 16, false, &data[..8]), 0),
            FragOutcome::Held
        );
        assert_eq!(
            drop(&mut r, fragment(Family::V4, 3, 24, true, &data[..8])),
            DropReason::FragmentInconsistent
        );
        assert_eq!(
            r.push(&fragment(Family::V4, 4, 16, true, &data[..8]), 0),
            FragOutcome::Held
        );
        assert_eq!(
            drop(&mut r, fragment(Family::V4, 4, 0, false, &data[..8])),
            DropReason::FragmentInconsistent
        );
        assert_eq!((r.in_flight(), r.bytes_held()), (0, 0));
    }

    #[test]
    fn protocol_and_family_separate_ipv4_datagrams() {
        let data = [0u8; 8];
        let mut r = Reassembler::new(FragLimits::default());
        let udp = fragment(Family::V4, 9, 0, true, &data);
        let tcp = Fragment {
            ip: ip(Family::V4, ipproto::TCP),
            ..udp
        };
        let v6 = fragment(Family::V6, 9, 0, true, &data);
        for f in [udp, tcp, v6] {
            assert_eq!(r.push(&f, 0), FragOutcome::Held);
        }
        assert_eq!(r.in_flight(), 3);
    }

    #[test]
    fn timeout_drops_incomplete_datagrams() {
        let data = [0u8; 16];
        let limits = FragLimits {
            timeout_ns: 30 * SEC,
            ..FragLimits::default()
        };
        let mut r = Reassembler::new(limits);
        assert_eq!(
            r.push(&fragment(Family::V4, 1, 0, true, &data), 0),
            FragOutcome::Held
        );
        assert_eq!(
            r.push(&fragment(Family::V4, 2, 0, true, &data), 10 * SEC),
            FragOutcome::Held
        );
        assert_eq!(r.expire(29 * SEC), 0);
        // Later fragments do not extend the deadline.
        assert_eq!(
            r.push(&fragment(Family::V4, 1, 16, true, &data), 29 * SEC),
            FragOutcome::Held
        );
        assert_eq!(r.expire(30 * SEC), 1);
        assert_eq!(r.in_flight(), 1);
        // An expiry performed by push is reported by the next expire call.
        assert_eq!(
            r.push(&fragment(Family::V4, 3, 0, true, &data), 41 * SEC),
            FragOutcome::Held
        );
        assert_eq!(r.in_flight(), 1);
        assert_eq!(r.expire(41 * SEC), 1);
        assert_eq!(r.expire(100 * SEC), 1);
        assert_eq!((r.in_flight(), r.bytes_held()), (0, 0));
    }

    #[test]
    fn pool_full_refuses_new_datagrams_without_evicting() {
        let data = [0u8; 1024];
        let limits = FragLimits {
            max_datagrams: 2,
            max_bytes: 1 << 20,
            timeout_ns: SEC,
        };
        let mut r = Reassembler::new(limits);
        for id in 0..2 {
            assert_eq!(
                r.push(&fragment(Family::V4, id, 0, true, &data), 0),
                FragOutcome::Held
            );
        }
        assert_eq!(
            r.push(&fragment(Family::V4, 2, 0, true, &data), 0),
            FragOutcome::Dropped(DropReason::FragmentPoolFull)
        );
        assert_eq!(r.in_flight(), 2);
        // Byte limit: the datagram in flight keeps its data, the fragment that does not fit
        // is refused.
        let limits = FragLimits {
            max_datagrams: 16,
            max_bytes: 3000,
            timeout_ns: SEC,
        };
        let mut r = Reassembler::new(limits);
        assert_eq!(
            r.push(&fragment(Family::V4, 1, 0, true, &data), 0),
            FragOutcome::Held
        );
        assert_eq!(
            r.push(&fragment(Family::V4, 1, 1024, true, &data), 0),
            FragOutcome::Held
        );
        assert_eq!(
            r.push(&fragment(Family::V4, 1, 2048, true, &data), 0),
            FragOutcome::Dropped(DropReason::FragmentPoolFull)
        );
        assert_eq!(
            r.push(&fragment(Family::V4, 2, 0, true, &data), 0),
            FragOutcome::Dropped(DropReason::FragmentPoolFull)
        );
        assert!(r.bytes_held() <= 3000);
        assert_eq!(r.in_flight(), 1);
    }

    #[test]
    fn tiny_fragment_flood_stays_bounded() {
        let limits = FragLimits {
            max_datagrams: 4,
            max_bytes: 64 * 1024,
            timeout_ns: SEC,
        };
        let mut r = Reassembler::new(limits);
        let data = [0u8; 8];
        for i in 0..100_000u32 {
            // Every other 8-byte slot of many datagrams: never completes, never overlaps.
            let f = fragment(Family::V6, i % 7, (i / 7) * 16 % 65520, true, &data);
            let _ = r.push(&f, u64::from(i));
            assert!(r.bytes_held() <= limits.max_bytes);
            assert!(r.in_flight() <= limits.max_datagrams);
        }
        // Many short-lived datagrams keep the expiry queue compact.
        let mut r = Reassembler::new(limits);
        let whole = udp_payload(16);
        for id in 0..10_000 {
            assert_eq!(
                r.push(&fragment(Family::V4, id, 8, false, &whole[8..]), 0),
                FragOutcome::Held
            );
            complete(r.push(&fragment(Family::V4, id, 0, true, &whole[..8]), 0));
            assert!(r.deadlines.len() <= 2 * 8 + 1);
        }
    }
}
