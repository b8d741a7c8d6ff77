//! The parsed forms every layer of `wire` shares, and the checked byte readers they are
//! read with. A leaf: the parsers in the sibling files build these values, and the rest of
//! the engine consumes them, so nothing here depends on how a frame is taken apart.

/// An IP address in a fixed 16-byte cell: IPv4 uses the first 4 bytes, the rest are zero.
/// One representation for both families keeps the flow key and the session record flat.
pub type Addr = [u8; 16];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Family {
    V4 = 4,
    V6 = 6,
}

impl Family {
    /// The family's row in per-family arrays (`[T; 2]`): IPv4 0, IPv6 1.
    #[inline]
    pub const fn index(self) -> usize {
        match self {
            Family::V4 => 0,
            Family::V6 => 1,
        }
    }
}

/// IP protocol numbers that session management handles specially (IANA registry).
pub mod ipproto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const DCCP: u8 = 33;
    pub const GRE: u8 = 47;
    pub const ICMPV6: u8 = 58;
    pub const SCTP: u8 = 132;
    pub const UDPLITE: u8 = 136;

    /// Transports whose header carries source and destination ports.
    pub const fn has_ports(proto: u8) -> bool {
        matches!(proto, TCP | UDP | UDPLITE | SCTP | DCCP)
    }
}

/// TCP header flag bits (RFC 9293 §3.1, RFC 3168 for ECE/CWR).
pub mod tcpflag {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// Link layers we decode (pcap LINKTYPE_* values in `from_pcap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// DLT_EN10MB, with 802.1Q / 802.1ad (QinQ) tags.
    Ethernet,
    /// Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113).
    LinuxSll,
    /// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276).
    LinuxSll2,
    /// Raw IP, version taken from the first nibble (LINKTYPE_RAW 101, DLT_RAW 12/14).
    RawIp,
    /// Raw IPv4 only (LINKTYPE_IPV4, 228).
    Ipv4,
    /// Raw IPv6 only (LINKTYPE_IPV6, 229).
    Ipv6,
    /// BSD loopback: 4-byte host-order address family (LINKTYPE_NULL 0, LOOP 108).
    Null,
}

impl LinkType {
    /// The decoder for a pcap/pcapng LINKTYPE_* value (<https://www.tcpdump.org/linktypes.html>).
    pub fn from_pcap(linktype: u32) -> Option<LinkType> {
        Some(match linktype {
            0 | 108 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::RawIp,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            _ => return None,
        })
    }
}

/// What the link layer carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// An IP datagram (IPv4 or IPv6; the version nibble decides). `vlan` is the outer tag.
    Ip {
        datagram: &'a [u8],
        vlan: Option<u16>,
    },
    /// Not IP (ARP, LLDP, ...): untracked, not a drop.
    NonIp { ethertype: u16 },
}

/// The IP layer of a whole (non-fragment) datagram or of a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpInfo {
    pub family: Family,
    pub src: Addr,
    pub dst: Addr,
    /// The upper-layer protocol after any IPv6 extension headers.
    pub proto: u8,
    /// Bytes of the IP datagram as it travelled (IPv4 total length, IPv6 40 + payload length):
    /// what the byte counters of S4 count.
    pub len: u32,
    pub ttl: u8,
}

/// A parsed datagram: either whole, or one fragment to hand to `proto::frag`.
#[derive(Debug, Clone, Copy)]
pub enum Datagram<'a> {
    Whole(Packet<'a>),
    Fragment(Fragment<'a>),
}

/// One IPv4 fragment (MF set or offset > 0) or one IPv6 packet with a Fragment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    pub ip: IpInfo,
    /// IPv4: the 16-bit identification; IPv6: the 32-bit identification.
    pub id: u32,
    /// Byte offset of this fragment's data in the reassembled payload.
    pub offset: u32,
    pub more: bool,
    /// The fragment's data (after the IPv4 header / after the IPv6 Fragment header).
    pub data: &'a [u8],
}

/// A whole datagram with its transport header decoded.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    pub ip: IpInfo,
    pub l4: L4<'a>,
    /// The transport payload (what an ALG reads). Empty when the transport has none we know.
    pub payload: &'a [u8],
    /// The capture cut the datagram short (`tcpdump -s`): `payload` is only its beginning,
    /// while `ip.len` and the TCP segment length are still the lengths on the wire.
    pub cut: bool,
    /// The datagram came in IP fragments and was reassembled (an ALG sees it only where
    /// `session alg fragment` allows).
    pub reassembled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub sport: u16,
    pub dport: u16,
}

/// The fields TCP connection tracking needs (RFC 9293 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpSegment {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// `tcpflag::*` bits.
    pub flags: u8,
    /// The raw (unscaled) window field.
    pub window: u16,
    /// Window Scale option (RFC 7323 §2), only meaningful on SYN segments.
    pub wscale: Option<u8>,
    /// SACK-permitted option seen (RFC 2018).
    pub sack_perm: bool,
    /// Highest SACK right edge carried by a SACK option (RFC 2018), if any; nf_conntrack
    /// uses it as the acknowledged end when it is beyond the cumulative ack.
    pub sack_max: Option<u32>,
    /// Bytes of data after the TCP header.
    pub payload_len: u32,
}

/// An ICMP or ICMPv6 message header (RFC 792, RFC 4443).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpMessage<'a> {
    pub ty: u8,
    pub code: u8,
    /// Identifier of echo / timestamp / information / address-mask messages (bytes 4-5).
    pub id: u16,
    /// Everything after the 8-byte header: for an error message, the quoted packet.
    pub rest: &'a [u8],
}

/// The common SCTP header (RFC 9260 §3.1) and its validated chunk area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SctpHeader<'a> {
    pub sport: u16,
    pub dport: u16,
    pub vtag: u32,
    /// The chunks; `parse_ip` has checked that every chunk length is ≥ 4 and fits.
    pub chunks: &'a [u8],
}

/// One SCTP chunk (RFC 9260 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SctpChunk<'a> {
    pub ty: u8,
    pub flags: u8,
    /// The chunk value (after the 4-byte chunk header, without padding).
    pub value: &'a [u8],
}

/// The DCCP generic header (RFC 4340 §5.1) and the acknowledgement subheader (§5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DccpHeader {
    pub sport: u16,
    pub dport: u16,
    /// Packet type (RFC 4340 §5.1: 0 Request .. 8 Sync, 9 SyncAck).
    pub ptype: u8,
    /// 48-bit sequence number (or 24-bit widened when X = 0).
    pub seq: u64,
    /// Acknowledgement number, for types that carry one.
    pub ack: Option<u64>,
}

/// `DccpHeader::ptype` of a DCCP header quoted in an ICMP error too short to hold the type.
pub const DCCP_TYPE_UNKNOWN: u8 = u8::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4<'a> {
    Tcp(TcpSegment),
    Udp(Ports),
    UdpLite(Ports),
    Icmp(IcmpMessage<'a>),
    Icmpv6(IcmpMessage<'a>),
    Sctp(SctpHeader<'a>),
    Dccp(DccpHeader),
    /// Enhanced GRE (RFC 2637, PPTP's data channel): keyed by call ID (`proto::gre`).
    Gre(crate::proto::gre::GreHeader),
    /// Any other IP protocol: tracked as raw IP by addresses and protocol only.
    Other,
}

// ---- byte access: every read is checked, so no input can make it panic ----

#[inline(always)]
pub(super) fn bytes<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..)?.first_chunk::<N>().copied()
}

#[inline(always)]
pub(super) fn be16(b: &[u8], at: usize) -> Option<u16> {
    bytes(b, at).map(u16::from_be_bytes)
}

#[inline(always)]
pub(super) fn be32(b: &[u8], at: usize) -> Option<u32> {
    bytes(b, at).map(u32::from_be_bytes)
}

pub(super) fn be24(b: &[u8], at: usize) -> Option<u64> {
    let [x, y, z] = bytes(b, at)?;
    Some(u64::from_be_bytes([0, 0, 0, 0, 0, x, y, z]))
}

pub(super) fn be48(b: &[u8], at: usize) -> Option<u64> {
    let [a, b_, c, d, e, f] = bytes(b, at)?;
    Some(u64::from_be_bytes([0, 0, a, b_, c, d, e, f]))
}

#[inline(always)]
pub(super) fn v4_addr([a, b, c, d]: [u8; 4]) -> Addr {
    [a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
}
