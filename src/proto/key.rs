//! The flow key (SPEC S1), direction, and the symmetric flow hash.
//!
//! A session is found through one *canonical* key: both directions of a connection map to
//! the same canonical key, plus a "swapped" bit saying whether the packet travelled against
//! the canonical orientation. One index entry per session (not two, as nf_conntrack keeps)
//! halves the index and makes the flow hash symmetric by construction, so both directions of
//! every flow reach the same core (SPEC P1).

use super::wire::{Addr, Family, L4, Packet, ipproto};

/// Which way a packet travels relative to the session's initiator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Direction {
    /// From the initiator (the side that created the session).
    Orig = 0,
    /// From the responder.
    Reply = 1,
}

impl Direction {
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    #[inline]
    pub const fn flip(self) -> Direction {
        match self {
            Direction::Orig => Direction::Reply,
            Direction::Reply => Direction::Orig,
        }
    }

    #[inline]
    pub const fn from_swapped(swapped: bool) -> Direction {
        if swapped {
            Direction::Reply
        } else {
            Direction::Orig
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Direction::Orig => "orig",
            Direction::Reply => "reply",
        }
    }
}

/// A connection tuple: addresses, ports (ICMP: id and type/code), protocol, VPN instance.
///
/// For ICMP/ICMPv6 query messages, `sport` holds the identifier and `dport` holds
/// `type << 8 | code`, as nf_conntrack's tuple does (`src.u.icmp.id`, `dst.u.icmp.type/code`).
/// For protocols without ports both are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct FlowKey {
    pub src: Addr,
    pub dst: Addr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub family: Family,
    /// VPN instance index (0 = the public network).
    pub vpn: u16,
}

const _: () = assert!(core::mem::size_of::<FlowKey>() == 40);

/// ICMP query types and their answers (RFC 792; RFC 4443 §4 and RFC 4620 for ICMPv6):
/// the messages that open a session, and what the reply direction carries.
const ICMP_QUERIES: &[(u8, u8)] = &[(8, 0), (13, 14), (15, 16), (17, 18)];
const ICMPV6_QUERIES: &[(u8, u8)] = &[(128, 129), (139, 140)];

fn icmp_pairs(proto: u8) -> &'static [(u8, u8)] {
    match proto {
        ipproto::ICMP => ICMP_QUERIES,
        ipproto::ICMPV6 => ICMPV6_QUERIES,
        _ => &[],
    }
}

/// `Some(answer type)` when `ty` is an ICMP query that may open a session.
pub fn icmp_query_answer(proto: u8, ty: u8) -> Option<u8> {
    icmp_pairs(proto).iter().find(|p| p.0 == ty).map(|p| p.1)
}

/// `Some(query type)` when `ty` is the answer to an ICMP query.
pub fn icmp_answer_query(proto: u8, ty: u8) -> Option<u8> {
    icmp_pairs(proto).iter().find(|p| p.1 == ty).map(|p| p.0)
}

impl FlowKey {
    /// The tuple of a packet as it travels (its sender is `src`).
    #[inline]
    pub fn from_packet(pkt: &Packet<'_>, vpn: u16) -> FlowKey {
        let (sport, dport) = match pkt.l4 {
            L4::Tcp(t) => (t.sport, t.dport),
            L4::Udp(p) | L4::UdpLite(p) => (p.sport, p.dport),
            L4::Icmp(m) | L4::Icmpv6(m) => (m.id, (u16::from(m.ty) << 8) | u16::from(m.code)),
            L4::Sctp(h) => (h.sport, h.dport),
            L4::Dccp(h) => (h.sport, h.dport),
            // A GRE packet names only its receiver's call ID; the sender's is unknown (0)
            // until the PPTP call that announced both is looked up (`table::algs`).
            L4::Gre(g) => (0, g.call_id),
            L4::Other => (0, 0),
        };
        FlowKey {
            src: pkt.ip.src,
            dst: pkt.ip.dst,
            sport,
            dport,
            proto: pkt.ip.proto,
            family: pkt.ip.family,
            vpn,
        }
    }

    #[inline]
    pub fn is_icmp(&self) -> bool {
        self.proto == ipproto::ICMP || self.proto == ipproto::ICMPV6
    }

    /// The tuple the responder's packets carry (nf_conntrack's `nf_ct_invert_tuple`).
    pub fn reversed(&self) -> FlowKey {
        let mut k = FlowKey {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            ..*self
        };
        if self.is_icmp() {
            // ICMP keeps the id in `sport`; only the type flips (request <-> reply).
            let ty = (self.dport >> 8) as u8;
            let code = self.dport & 0xff;
            let inv = icmp_query_answer(self.proto, ty)
                .or_else(|| icmp_answer_query(self.proto, ty))
                .unwrap_or(ty);
            k.sport = self.sport;
            k.dport = (u16::from(inv) << 8) | code;
        }
        k
    }

    /// The canonical key of this tuple and whether the tuple runs against it.
    ///
    /// Ported protocols: the (address, port) pairs are ordered, smaller first. ICMP: the
    /// canonical orientation is requester -> responder with the query type, so an echo reply
    /// canonicalises onto its request (swapped) while a request from the other side stays a
    /// different key, exactly as nf_conntrack tells them apart.
    ///
    /// Every packet pays for this, so the ported case compares each address as one 128-bit
    /// number (big-endian: the same order as comparing the bytes) and swaps the fields
    /// directly; ICMP, rarer, takes its own path.
    #[inline(always)]
    pub fn canonical(&self) -> (FlowKey, bool) {
        if self.is_icmp() {
            return self.canonical_icmp();
        }
        let (src, dst) = (u128::from_be_bytes(self.src), u128::from_be_bytes(self.dst));
        if src < dst || (src == dst && self.sport <= self.dport) {
            (*self, false)
        } else {
            // `reversed` without its ICMP case.
            let k = FlowKey {
                src: self.dst,
                dst: self.src,
                sport: self.dport,
                dport: self.sport,
                ..*self
            };
            (k, true)
        }
    }

    #[inline(never)]
    fn canonical_icmp(&self) -> (FlowKey, bool) {
        let ty = (self.dport >> 8) as u8;
        if icmp_answer_query(self.proto, ty).is_some() {
            return (self.reversed(), true);
        }
        (*self, false)
    }
}

/// Formats an address of the given family the way operators read it.
pub fn addr_to_ip(family: Family, a: &Addr) -> std::net::IpAddr {
    match family {
        Family::V4 => std::net::IpAddr::V4(std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3])),
        Family::V6 => std::net::IpAddr::V6(std::net::Ipv6Addr::from(*a)),
    }
}

/// The inverse of `addr_to_ip`.
pub fn ip_to_addr(ip: std::net::IpAddr) -> (Family, Addr) {
    let mut a = [0u8; 16];
    match ip {
        std::net::IpAddr::V4(v4) => {
            a[..4].copy_from_slice(&v4.octets());
            (Family::V4, a)
        }
        std::net::IpAddr::V6(v6) => (Family::V6, v6.octets()),
    }
}

/// The symmetric flow hash: the same value for both directions of a flow (it hashes the
/// canonical key). Secret keys drawn at start (ahash's random source), so a sender cannot aim
/// collisions; the key is mixed as five 64-bit words by folded multiplication (the
/// construction of ahash's and wyhash's fallback paths), which costs a few nanoseconds where
/// hashing the key field by field through `Hasher` cost several times that.
#[derive(Clone)]
pub struct FlowHasher {
    keys: [u64; 3],
}

impl Default for FlowHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// The 128-bit product of `a` and `b`, folded to 64 bits: every input bit reaches every
/// output bit.
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

impl FlowHasher {
    /// Keyed at random when the engine starts.
    pub fn new() -> Self {
        let r = ahash::RandomState::new();
        Self::from_keys([r.hash_one(1u64), r.hash_one(2u64), r.hash_one(3u64)])
    }

    /// A fixed seed, for deterministic tests and for spreading flows over cores identically
    /// across runs of a replay.
    pub fn with_seed(seed: u64) -> Self {
        Self::from_keys([
            seed ^ 0x243f_6a88_85a3_08d3,
            fold(seed ^ 0x1319_8a2e_0370_7344, 0x9e37_79b9_7f4a_7c15),
            0xa409_3822_299f_31d0,
        ])
    }

    fn from_keys(k: [u64; 3]) -> Self {
        // Odd multipliers, so no key can make a multiplication lose bits.
        Self {
            keys: [k[0], k[1] | 1, k[2] | 1],
        }
    }

    /// Hash of an already canonical key.
    #[inline]
    pub fn hash_canonical(&self, canon: &FlowKey) -> u64 {
        let w = |a: &[u8; 16], hi: bool| {
            let half: [u8; 8] = if hi {
                [a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]]
            } else {
                [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]
            };
            u64::from_le_bytes(half)
        };
        let tail = u64::from(canon.sport)
            | u64::from(canon.dport) << 16
            | u64::from(canon.proto) << 32
            | u64::from(canon.family as u8) << 40
            | u64::from(canon.vpn) << 48;
        let [k0, k1, k2] = self.keys;
        let mut h = k0;
        for word in [
            w(&canon.src, false),
            w(&canon.src, true),
            w(&canon.dst, false),
            w(&canon.dst, true),
            tail,
        ] {
            h = fold(h ^ word, k1);
        }
        fold(h, k2)
    }

    /// Hash of any tuple: equal for a tuple and its reverse.
    #[inline]
    pub fn hash(&self, key: &FlowKey) -> u64 {
        self.hash_canonical(&key.canonical().0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4(a: [u8; 4]) -> Addr {
        let mut x = [0u8; 16];
        x[..4].copy_from_slice(&a);
        x
    }

    fn udp(s: [u8; 4], sp: u16, d: [u8; 4], dp: u16) -> FlowKey {
        FlowKey {
            src: v4(s),
            dst: v4(d),
            sport: sp,
            dport: dp,
            proto: ipproto::UDP,
            family: Family::V4,
            vpn: 0,
        }
    }

    /// Every field of the key reaches the hash, and the low bits (the index's home cell)
    /// spread evenly: 65,536 flows that differ in one field at a time fill a 2^16-cell table
    /// about as a random function would (1 - 1/e of the cells).
    #[test]
    fn every_field_moves_the_hash_and_low_bits_spread() {
        let h = FlowHasher::with_seed(7);
        let base = udp([198, 18, 0, 1], 1000, [198, 19, 0, 2], 53);
        let mut variants = vec![base];
        let mut k = base;
        k.src[15] ^= 1;
        variants.push(k);
        let mut k = base;
        k.dst[9] ^= 0x80;
        variants.push(k);
        for (sport, dport, proto, vpn) in [
            (1001, 53, 17, 0),
            (1000, 54, 17, 0),
            (1000, 53, 6, 0),
            (1000, 53, 17, 1),
        ] {
            variants.push(FlowKey {
                sport,
                dport,
                proto,
                vpn,
                ..base
            });
        }
        variants.push(FlowKey {
            family: Family::V6,
            ..base
        });
        let hashes: std::collections::HashSet<u64> =
            variants.iter().map(|k| h.hash_canonical(k)).collect();
        assert_eq!(hashes.len(), variants.len());
        for field in 0..3 {
            let mut used = std::collections::HashSet::new();
            for i in 0..65_536u32 {
                let mut k = base;
                match field {
                    0 => k.src[..4].copy_from_slice(&(0xc612_0000 | i).to_be_bytes()),
                    1 => k.sport = i as u16,
                    _ => k.dst[12..16].copy_from_slice(&i.to_be_bytes()),
                }
                used.insert(h.hash_canonical(&k) & 0xffff);
            }
            assert!(used.len() > 40_000, "field {field}: {} cells", used.len());
        }
    }

    #[test]
    fn both_directions_share_canonical_key_and_hash() {
        let h = FlowHasher::with_seed(7);
        let k = udp([198, 18, 0, 2], 40000, [198, 18, 0, 1], 53);
        let (c1, s1) = k.canonical();
        let (c2, s2) = k.reversed().canonical();
        assert_eq!(c1, c2);
        assert_ne!(s1, s2);
        assert_eq!(h.hash(&k), h.hash(&k.reversed()));
    }

    #[test]
    fn icmp_echo_reply_maps_onto_request_but_reverse_request_does_not() {
        let req = FlowKey {
            src: v4([198, 18, 0, 1]),
            dst: v4([198, 18, 0, 2]),
            sport: 77,
            dport: 8 << 8,
            proto: ipproto::ICMP,
            family: Family::V4,
            vpn: 0,
        };
        let reply = req.reversed();
        assert_eq!(reply.dport >> 8, 0);
        assert_eq!(reply.canonical(), (req, true));
        assert_eq!(req.canonical(), (req, false));
        // An echo request from the responder is another conversation.
        let other = FlowKey {
            src: req.dst,
            dst: req.src,
            ..req
        };
        assert_ne!(other.canonical().0, req);
    }

    #[test]
    fn vpn_instances_separate_flows() {
        let a = udp([198, 18, 0, 1], 1, [198, 18, 0, 2], 2);
        let b = FlowKey { vpn: 3, ..a };
        assert_ne!(a.canonical().0, b.canonical().0);
    }

    proptest! {
        /// The canonical orientation is the smaller (address, port) pair first, as bytes
        /// compare, for both families (addresses that share leading bytes included).
        #[test]
        fn canonical_orders_address_then_port(s in any::<[u8;16]>(), d in any::<[u8;16]>(), common in 0usize..=16, sp in any::<u16>(), dp in any::<u16>(), proto in prop::sample::select(vec![6u8, 17, 132, 33, 136, 47])) {
            let mut d = d;
            d[..common].copy_from_slice(&s[..common]);
            let k = FlowKey { src: s, dst: d, sport: sp, dport: dp, proto, family: Family::V6, vpn: 0 };
            let (c, swapped) = k.canonical();
            prop_assert_eq!(swapped, (k.src, k.sport) > (k.dst, k.dport));
            prop_assert_eq!(c, if swapped { k.reversed() } else { k });
        }

        #[test]
        fn canonical_is_symmetric(s in any::<[u8;4]>(), d in any::<[u8;4]>(), sp in any::<u16>(), dp in any::<u16>(), proto in prop::sample::select(vec![6u8, 17, 132, 33, 136, 47])) {
            let k = FlowKey { src: v4(s), dst: v4(d), sport: sp, dport: dp, proto, family: Family::V4, vpn: 0 };
            prop_assert_eq!(k.canonical().0, k.reversed().canonical().0);
            prop_assert_eq!(k.reversed().reversed(), k);
        }
    }
}
