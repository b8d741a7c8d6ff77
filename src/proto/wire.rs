//! Zero-copy packet parsing: link layer, IPv4/IPv6, and the transport headers session
//! management needs. Every slice returned borrows the frame; nothing is allocated.
//!
//! Never panics: every malformed case is a named `DropReason`.
//!
//! A capture taken with a snap length (`tcpdump -s 96`) holds only the start of long frames:
//! `parse_ip_captured` then reads the headers that were kept and takes the lengths on the
//! wire from them, as tcpdump and zeek do, so the frame is tracked as it travelled.

use crate::drop::DropReason;

/// An IP address in a fixed 16-byte cell: IPv4 uses the first 4 bytes, the rest are zero.
/// One representation for both families keeps the flow key and the session record flat.
pub type Addr = [u8; 16];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Family {
    V4 = 4,
    V6 = 6,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4<'a> {
    Tcp(TcpSegment),
    Udp(Ports),
    UdpLite(Ports),
    Icmp(IcmpMessage<'a>),
    Icmpv6(IcmpMessage<'a>),
    Sctp(SctpHeader<'a>),
    Dccp(DccpHeader),
    /// Any other IP protocol: tracked as raw IP by addresses and protocol only.
    Other,
}

/// Ethertypes the link decoders recognise (IEEE 802.3, IEEE 802.1Q).
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    /// 802.1Q customer tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service tag (QinQ outer tag).
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ outer tag still sent by some switches.
    pub const QINQ_9100: u16 = 0x9100;
}

/// IPv6 extension headers we walk (RFC 8200 §4, RFC 7045 §2 for the full list).
mod ext {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const AH: u8 = 51;
    pub const DEST_OPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;
}

/// More tags than QinQ needs are accepted up to this depth; deeper stacks are an attack on
/// the parser rather than a network design.
const MAX_VLAN_TAGS: usize = 4;

/// The longest IPv6 extension chain we walk. RFC 8200 §4.1 recommends each header at most
/// once (Destination Options twice), so 8 covers every legitimate chain.
const MAX_IPV6_EXT_HEADERS: usize = 8;

/// Linux clamps larger shifts to 14 (RFC 7323 §2.3), and so must we to agree with it.
const TCP_MAX_WSCALE: u8 = 14;

/// `DccpHeader::ptype` of a DCCP header quoted in an ICMP error too short to hold the type.
pub const DCCP_TYPE_UNKNOWN: u8 = u8::MAX;

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

// ---- byte access: every read is checked, so no input can make it panic ----

#[inline(always)]
fn bytes<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..)?.first_chunk::<N>().copied()
}

#[inline(always)]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    bytes(b, at).map(u16::from_be_bytes)
}

#[inline(always)]
fn be32(b: &[u8], at: usize) -> Option<u32> {
    bytes(b, at).map(u32::from_be_bytes)
}

fn be24(b: &[u8], at: usize) -> Option<u64> {
    let [x, y, z] = bytes(b, at)?;
    Some(u64::from_be_bytes([0, 0, 0, 0, 0, x, y, z]))
}

fn be48(b: &[u8], at: usize) -> Option<u64> {
    let [a, b_, c, d, e, f] = bytes(b, at)?;
    Some(u64::from_be_bytes([0, 0, a, b_, c, d, e, f]))
}

#[inline(always)]
fn v4_addr([a, b, c, d]: [u8; 4]) -> Addr {
    [a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
}

// ---- link layer ----

/// Strips the link-layer header of `frame`.
///
/// Ethernet follows up to four 802.1Q / 802.1ad / 0x9100 tags and reports the outer VLAN id.
/// The datagram returned may carry Ethernet padding: `parse_ip` trims it by the IP length.
pub fn parse_link(link: LinkType, frame: &[u8]) -> Result<Frame<'_>, DropReason> {
    match link {
        LinkType::Ethernet => {
            // Destination and source MAC, then the (first) ethertype (IEEE 802.3 §3.1.1).
            let (h, rest) = frame
                .split_first_chunk::<14>()
                .ok_or(DropReason::TruncatedLinkHeader)?;
            by_ethertype(u16::from_be_bytes([h[12], h[13]]), rest)
        }
        LinkType::LinuxSll => {
            // packet type, ARPHRD, address length, 8-byte address, protocol (pcap-linktype(7)).
            let (h, rest) = frame
                .split_first_chunk::<16>()
                .ok_or(DropReason::TruncatedLinkHeader)?;
            by_ethertype(u16::from_be_bytes([h[14], h[15]]), rest)
        }
        LinkType::LinuxSll2 => {
            // protocol, reserved, ifindex, ARPHRD, packet type, address length, 8-byte address.
            let (h, rest) = frame
                .split_first_chunk::<20>()
                .ok_or(DropReason::TruncatedLinkHeader)?;
            by_ethertype(u16::from_be_bytes([h[0], h[1]]), rest)
        }
        LinkType::Null => {
            // The family is in the capturing host's byte order, which the file does not
            // record: accept both (BSD AF_INET6 differs per OS: 24, 28, 30; Linux 10).
            let (h, rest) = frame
                .split_first_chunk::<4>()
                .ok_or(DropReason::TruncatedLinkHeader)?;
            let fams = [u32::from_le_bytes(*h), u32::from_be_bytes(*h)];
            if fams.contains(&2) || fams.iter().any(|f| matches!(f, 10 | 24 | 28 | 30)) {
                Ok(Frame::Ip {
                    datagram: rest,
                    vlan: None,
                })
            } else {
                // Not an ethertype: there is none to report for a non-IP loopback family.
                Ok(Frame::NonIp { ethertype: 0 })
            }
        }
        LinkType::RawIp => raw_ip(frame, None),
        LinkType::Ipv4 => raw_ip(frame, Some(4)),
        LinkType::Ipv6 => raw_ip(frame, Some(6)),
    }
}

/// Follows VLAN tags (IEEE 802.1Q §9.6: TCI then the inner ethertype) up to the payload.
#[inline(always)]
fn by_ethertype(mut ethertype: u16, mut rest: &[u8]) -> Result<Frame<'_>, DropReason> {
    let mut vlan = None;
    let mut tags = 0;
    while matches!(
        ethertype,
        ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_9100
    ) {
        if tags == MAX_VLAN_TAGS {
            return Err(DropReason::TooManyVlanTags);
        }
        let (tag, inner) = rest
            .split_first_chunk::<4>()
            .ok_or(DropReason::TruncatedLinkHeader)?;
        vlan = vlan.or(Some(u16::from_be_bytes([tag[0], tag[1]]) & 0x0fff));
        ethertype = u16::from_be_bytes([tag[2], tag[3]]);
        rest = inner;
        tags += 1;
    }
    Ok(match ethertype {
        ethertype::IPV4 | ethertype::IPV6 => Frame::Ip {
            datagram: rest,
            vlan,
        },
        _ => Frame::NonIp { ethertype },
    })
}

fn raw_ip(frame: &[u8], want: Option<u8>) -> Result<Frame<'_>, DropReason> {
    let version = frame.first().ok_or(DropReason::TruncatedLinkHeader)? >> 4;
    if want.is_some_and(|w| w != version) || !matches!(version, 4 | 6) {
        return Err(DropReason::BadIpVersion);
    }
    Ok(Frame::Ip {
        datagram: frame,
        vlan: None,
    })
}

// ---- IP layer ----

/// Strict for forwarded datagrams; lax for the copy quoted in an ICMP error, which is
/// usually cut short (RFC 792: header + 64 bits; RFC 4443 §2.4 (c): as much as fits).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Strict,
    Quote,
    /// A frame the capture cut short: what the headers announce may run past the bytes held.
    Cut,
}

/// The IP layer of a datagram.
struct L3<'a> {
    ip: IpInfo,
    /// (identification, offset in bytes, more fragments) of a fragment; never set in quotes.
    frag: Option<(u32, u32, bool)>,
    /// What follows the IP header and every extension header (or the Fragment header).
    body: &'a [u8],
}

impl L3<'_> {
    /// The body's length on the wire (the IP length less the headers walked): more than
    /// `body.len()` only for a frame the capture cut.
    fn wire_body_len(&self, datagram: &[u8]) -> usize {
        let headers = (self.body.as_ptr() as usize).saturating_sub(datagram.as_ptr() as usize);
        (self.ip.len as usize)
            .saturating_sub(headers)
            .max(self.body.len())
    }
}

/// Parses an IP datagram (the version nibble decides) and, when it is whole, its transport
/// header. Trailing bytes beyond the IP length (link padding) are ignored.
///
/// A datagram with no first byte, or a version other than 4 or 6, is `BadIpVersion`.
#[inline]
pub fn parse_ip(datagram: &[u8]) -> Result<Datagram<'_>, DropReason> {
    parse_in(datagram, Mode::Strict)
}

/// `parse_ip` for a datagram of a capture; `cut_by_capture`: the capture holds fewer bytes
/// of its frame than travelled (the record's original length is larger). The lengths then
/// come from the headers; the packet is marked `cut` when its payload is not whole. A cut
/// fragment cannot be reassembled and is dropped (`fragment_cut_by_capture`).
#[inline]
pub fn parse_ip_captured(
    datagram: &[u8],
    cut_by_capture: bool,
) -> Result<Datagram<'_>, DropReason> {
    let mode = if cut_by_capture {
        Mode::Cut
    } else {
        Mode::Strict
    };
    parse_in(datagram, mode)
}

#[inline(always)]
fn parse_in(datagram: &[u8], mode: Mode) -> Result<Datagram<'_>, DropReason> {
    let l3 = match datagram.first().map(|b| b >> 4) {
        Some(4) => ipv4(datagram, mode)?,
        Some(6) => ipv6(datagram, mode)?,
        _ => return Err(DropReason::BadIpVersion),
    };
    let wire_len = if mode == Mode::Cut {
        l3.wire_body_len(datagram)
    } else {
        l3.body.len()
    };
    match l3.frag {
        Some(_) if wire_len > l3.body.len() => Err(DropReason::FragmentCutByCapture),
        Some((id, offset, more)) => Ok(Datagram::Fragment(Fragment {
            ip: l3.ip,
            id,
            offset,
            more,
            data: l3.body,
        })),
        None => transport(l3.ip, l3.body, wire_len).map(Datagram::Whole),
    }
}

/// IPv4 header (RFC 791 §3.1). Options are only validated: nothing in them matters to
/// session management, but a malformed list marks a crafted packet.
#[inline(always)]
fn ipv4(d: &[u8], mode: Mode) -> Result<L3<'_>, DropReason> {
    let h = d
        .first_chunk::<20>()
        .ok_or(DropReason::TruncatedIpv4Header)?;
    let hlen = usize::from(h[0] & 0x0f) * 4;
    let total = u16::from_be_bytes([h[2], h[3]]);
    if hlen < 20 {
        return Err(DropReason::BadIpv4HeaderLength);
    }
    let (header, rest) = d
        .split_at_checked(hlen)
        .ok_or(DropReason::TruncatedIpv4Header)?;
    let body_len = usize::from(total)
        .checked_sub(hlen)
        .ok_or(DropReason::BadIpv4TotalLength)?;
    let body = match rest.get(..body_len) {
        Some(body) => body,
        None if mode != Mode::Strict => rest,
        None => return Err(DropReason::BadIpv4TotalLength),
    };
    if hlen > 20 {
        ipv4_options(header.get(20..).unwrap_or_default())?;
    }
    let flags_offset = u16::from_be_bytes([h[6], h[7]]);
    let more = flags_offset & 0x2000 != 0;
    let offset = u32::from(flags_offset & 0x1fff) * 8;
    let ip = IpInfo {
        family: Family::V4,
        src: v4_addr([h[12], h[13], h[14], h[15]]),
        dst: v4_addr([h[16], h[17], h[18], h[19]]),
        proto: h[9],
        len: u32::from(total),
        ttl: h[8],
    };
    let frag = match mode {
        Mode::Strict | Mode::Cut if more || offset != 0 => {
            Some((u32::from(u16::from_be_bytes([h[4], h[5]])), offset, more))
        }
        // Only a first fragment holds the transport header the error is matched by.
        Mode::Quote if offset != 0 => return Err(DropReason::BadIcmpErrorQuote),
        _ => None,
    };
    Ok(L3 { ip, frag, body })
}

/// RFC 791 §3.1: End of Option List and No Operation are single bytes; every other option
/// carries a length octet counting itself and the type, so at least 2.
fn ipv4_options(mut opts: &[u8]) -> Result<(), DropReason> {
    while let Some((&kind, rest)) = opts.split_first() {
        match kind {
            0 => return Ok(()),
            1 => opts = rest,
            _ => {
                let len = usize::from(*rest.first().ok_or(DropReason::BadIpv4Options)?);
                opts = opts
                    .get(len..)
                    .filter(|_| len >= 2)
                    .ok_or(DropReason::BadIpv4Options)?;
            }
        }
    }
    Ok(())
}

/// IPv6 header (RFC 8200 §3) and its extension header chain (§4).
#[inline(always)]
fn ipv6(d: &[u8], mode: Mode) -> Result<L3<'_>, DropReason> {
    let (h, rest) = d
        .split_first_chunk::<40>()
        .ok_or(DropReason::TruncatedIpv6Header)?;
    let plen = u16::from_be_bytes([h[4], h[5]]);
    let mut nh = h[6];
    // Payload length 0 before a Hop-by-Hop header announces a jumbogram (RFC 2675): the
    // real length is in an option, and no link we capture from carries one.
    if plen == 0 && nh == ext::HOP_BY_HOP {
        return Err(DropReason::BadIpv6PayloadLength);
    }
    let mut body = match rest.get(..usize::from(plen)) {
        Some(body) => body,
        None if mode != Mode::Strict => rest,
        None => return Err(DropReason::BadIpv6PayloadLength),
    };
    let mut ip = IpInfo {
        family: Family::V6,
        src: bytes(h, 8).ok_or(DropReason::TruncatedIpv6Header)?,
        dst: bytes(h, 24).ok_or(DropReason::TruncatedIpv6Header)?,
        proto: nh,
        len: 40 + u32::from(plen),
        ttl: h[7],
    };
    if !is_ipv6_ext(nh) {
        return Ok(L3 {
            ip,
            frag: None,
            body,
        });
    }
    let mut walked = 0;
    while is_ipv6_ext(nh) {
        if walked == MAX_IPV6_EXT_HEADERS {
            return Err(DropReason::Ipv6ExtensionChainTooLong);
        }
        walked += 1;
        let [next, hdr_len] = bytes(body, 0).ok_or(DropReason::TruncatedIpv6ExtensionHeader)?;
        if nh == ext::FRAGMENT {
            // RFC 8200 §4.5: next header, reserved, offset (13 bits, 8-byte units) + M, id.
            let (fh, data) = body
                .split_first_chunk::<8>()
                .ok_or(DropReason::TruncatedIpv6ExtensionHeader)?;
            let offset_m = u16::from_be_bytes([fh[2], fh[3]]);
            let offset = u32::from(offset_m & 0xfff8);
            let more = offset_m & 1 != 0;
            body = data;
            nh = next;
            // RFC 6946 §4: an atomic fragment (offset 0, M = 0) is processed as a whole
            // packet, never queued for reassembly.
            if offset == 0 && !more {
                continue;
            }
            match mode {
                Mode::Strict | Mode::Cut => {
                    ip.proto = next;
                    let id = u32::from_be_bytes([fh[4], fh[5], fh[6], fh[7]]);
                    return Ok(L3 {
                        ip,
                        frag: Some((id, offset, more)),
                        body,
                    });
                }
                Mode::Quote if offset != 0 => return Err(DropReason::BadIcmpErrorQuote),
                // A quoted first fragment: its transport header follows.
                Mode::Quote => continue,
            }
        }
        // AH counts 4-byte words minus 2 (RFC 4302 §2.2); the others 8-byte words minus 1
        // (RFC 8200 §4.3-4.6, RFC 6275 §6.1, RFC 7401 §5.1, RFC 5533 §5).
        let len = match nh {
            ext::AH => (usize::from(hdr_len) + 2) * 4,
            _ => (usize::from(hdr_len) + 1) * 8,
        };
        body = body
            .get(len..)
            .ok_or(DropReason::TruncatedIpv6ExtensionHeader)?;
        nh = next;
    }
    // ESP (50) and No Next Header (59) end the chain like any upper layer.
    ip.proto = nh;
    Ok(L3 {
        ip,
        frag: None,
        body,
    })
}

#[inline(always)]
fn is_ipv6_ext(nh: u8) -> bool {
    matches!(
        nh,
        ext::HOP_BY_HOP
            | ext::ROUTING
            | ext::FRAGMENT
            | ext::AH
            | ext::DEST_OPTS
            | ext::MOBILITY
            | ext::HIP
            | ext::SHIM6
    )
}

// ---- transport layer ----

/// The transport header of a whole datagram. `wire_len` is the segment's length on the wire:
/// `seg.len()`, or more for a frame the capture cut.
#[inline(always)]
fn transport(ip: IpInfo, seg: &[u8], wire_len: usize) -> Result<Packet<'_>, DropReason> {
    let (l4, payload) = match (ip.proto, ip.family) {
        (ipproto::TCP, _) => {
            let (tcp, payload) = parse_tcp(seg, wire_len)?;
            (L4::Tcp(tcp), payload)
        }
        (ipproto::UDP, _) => {
            let (ports, payload) = parse_udp(seg, wire_len)?;
            (L4::Udp(ports), payload)
        }
        (ipproto::UDPLITE, _) => {
            let (ports, payload) = parse_udplite(seg, wire_len)?;
            (L4::UdpLite(ports), payload)
        }
        (ipproto::ICMP, Family::V4) => {
            let msg = parse_icmp(seg)?;
            (L4::Icmp(msg), msg.rest)
        }
        (ipproto::ICMPV6, Family::V6) => {
            let msg = parse_icmp(seg)?;
            (L4::Icmpv6(msg), msg.rest)
        }
        (ipproto::SCTP, _) => (L4::Sctp(parse_sctp(seg)?), &[][..]),
        (ipproto::DCCP, _) => {
            let (dccp, payload) = parse_dccp(seg, wire_len)?;
            (L4::Dccp(dccp), payload)
        }
        _ => (L4::Other, &[][..]),
    };
    Ok(Packet {
        ip,
        l4,
        payload,
        cut: wire_len > seg.len(),
    })
}

/// TCP header (RFC 9293 §3.1). The segment length counts the bytes on the wire.
#[inline(always)]
fn parse_tcp(seg: &[u8], wire_len: usize) -> Result<(TcpSegment, &[u8]), DropReason> {
    let h = seg
        .first_chunk::<20>()
        .ok_or(DropReason::TruncatedTcpHeader)?;
    let doff = usize::from(h[12] >> 4) * 4;
    if doff < 20 {
        return Err(DropReason::BadTcpDataOffset);
    }
    let (header, payload) = seg
        .split_at_checked(doff)
        .ok_or(DropReason::BadTcpDataOffset)?;
    // The options come back by value: building the segment once, in registers, keeps the
    // option-less fast path free of partial stack writes.
    let opts = match header.get(20..) {
        Some(opts) if !opts.is_empty() => tcp_options(opts)?,
        _ => TcpOptions::default(),
    };
    let tcp = TcpSegment {
        sport: u16::from_be_bytes([h[0], h[1]]),
        dport: u16::from_be_bytes([h[2], h[3]]),
        seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
        flags: h[13],
        window: u16::from_be_bytes([h[14], h[15]]),
        wscale: opts.wscale,
        sack_perm: opts.sack_perm,
        sack_max: opts.sack_max,
        // A segment is at most 64 KiB (the IP length field bounds it).
        payload_len: u32::try_from(wire_len - doff).unwrap_or(u32::MAX),
    };
    Ok((tcp, payload))
}

/// The TCP options connection tracking reads.
#[derive(Default)]
struct TcpOptions {
    wscale: Option<u8>,
    sack_perm: bool,
    sack_max: Option<u32>,
}

/// TCP options (RFC 9293 §3.2): EOL ends the list, NOP is one byte, every other option has
/// a length covering kind and length. The options connection tracking uses must have their
/// defined size; unknown options are skipped by their length.
fn tcp_options(mut opts: &[u8]) -> Result<TcpOptions, DropReason> {
    let mut tcp = TcpOptions::default();
    while let Some((&kind, rest)) = opts.split_first() {
        match kind {
            0 => break,
            1 => {
                opts = rest;
                continue;
            }
            _ => {}
        }
        let len = usize::from(*rest.first().ok_or(DropReason::BadTcpOptions)?);
        if len < 2 {
            return Err(DropReason::BadTcpOptions);
        }
        let (opt, after) = opts
            .split_at_checked(len)
            .ok_or(DropReason::BadTcpOptions)?;
        let value = opt.get(2..).unwrap_or_default();
        match (kind, value) {
            // Maximum Segment Size (RFC 9293 §3.7.1) and Timestamps (RFC 7323 §3.2): only
            // their size is checked.
            (2, [_, _]) | (8, [_, _, _, _, _, _, _, _]) => {}
            // Window Scale (RFC 7323 §2.2).
            (3, &[shift]) => tcp.wscale = Some(shift.min(TCP_MAX_WSCALE)),
            // SACK-permitted (RFC 2018 §2).
            (4, []) => tcp.sack_perm = true,
            // SACK blocks of (left, right) edges (RFC 2018 §3).
            (5, blocks) if !blocks.is_empty() && blocks.len() % 8 == 0 => {
                for block in blocks.chunks_exact(8) {
                    if let &[_, _, _, _, a, b, c, d] = block {
                        let right = u32::from_be_bytes([a, b, c, d]);
                        // Sequence space wraps (RFC 9293 §3.4): compare by signed distance.
                        let beyond = |max: u32| (right.wrapping_sub(max) as i32) > 0;
                        if tcp.sack_max.is_none_or(beyond) {
                            tcp.sack_max = Some(right);
                        }
                    }
                }
            }
            (2..=5 | 8, _) => return Err(DropReason::BadTcpOptions),
            _ => {}
        }
        opts = after;
    }
    Ok(tcp)
}

/// UDP header (RFC 768). The length field bounds the payload; 0 is legal only in IPv6
/// jumbograms (RFC 2675 §4), which we do not accept.
#[inline(always)]
fn parse_udp(seg: &[u8], wire_len: usize) -> Result<(Ports, &[u8]), DropReason> {
    let h = seg
        .first_chunk::<8>()
        .ok_or(DropReason::TruncatedUdpHeader)?;
    let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    if len < 8 || len > wire_len {
        return Err(DropReason::BadUdpLength);
    }
    // A cut frame holds only the start of the payload.
    let payload = seg
        .get(8..len.min(seg.len()))
        .ok_or(DropReason::BadUdpLength)?;
    Ok((ports(h), payload))
}

/// UDP-Lite (RFC 3828 §3.1): the length field is the checksum coverage, 0 meaning all.
fn parse_udplite(seg: &[u8], wire_len: usize) -> Result<(Ports, &[u8]), DropReason> {
    let (h, payload) = seg
        .split_first_chunk::<8>()
        .ok_or(DropReason::TruncatedUdpHeader)?;
    let coverage = usize::from(u16::from_be_bytes([h[4], h[5]]));
    if coverage != 0 && !(8..=wire_len).contains(&coverage) {
        return Err(DropReason::BadUdpLiteChecksumCoverage);
    }
    Ok((ports(h), payload))
}

#[inline(always)]
fn ports(h: &[u8; 8]) -> Ports {
    Ports {
        sport: u16::from_be_bytes([h[0], h[1]]),
        dport: u16::from_be_bytes([h[2], h[3]]),
    }
}

/// ICMP (RFC 792) and ICMPv6 (RFC 4443 §2.1) share the 8-byte header layout we read.
fn parse_icmp(seg: &[u8]) -> Result<IcmpMessage<'_>, DropReason> {
    let (h, rest) = seg
        .split_first_chunk::<8>()
        .ok_or(DropReason::TruncatedIcmpHeader)?;
    Ok(IcmpMessage {
        ty: h[0],
        code: h[1],
        id: u16::from_be_bytes([h[4], h[5]]),
        rest,
    })
}

/// SCTP common header (RFC 9260 §3.1) with every chunk length validated (§3.2).
fn parse_sctp(seg: &[u8]) -> Result<SctpHeader<'_>, DropReason> {
    let (h, chunks) = seg
        .split_first_chunk::<12>()
        .ok_or(DropReason::TruncatedSctpHeader)?;
    // §3: a packet carries at least one chunk.
    let mut rest = chunks;
    loop {
        let len = usize::from(be16(rest, 2).ok_or(DropReason::BadSctpChunk)?);
        if len < 4 || len > rest.len() {
            return Err(DropReason::BadSctpChunk);
        }
        // §3.2: chunks are padded to 4 bytes; the last chunk's padding may be left off.
        match rest.get((len + 3) & !3..) {
            Some(next) if !next.is_empty() => rest = next,
            _ => break,
        }
    }
    Ok(SctpHeader {
        sport: u16::from_be_bytes([h[0], h[1]]),
        dport: u16::from_be_bytes([h[2], h[3]]),
        vtag: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        chunks,
    })
}

impl<'a> SctpHeader<'a> {
    /// The chunks in order. Stops at the first malformed chunk, so it is safe on any bytes.
    pub fn chunks(&self) -> SctpChunks<'a> {
        SctpChunks { rest: self.chunks }
    }
}

/// Iterator over the chunks of an SCTP packet (RFC 9260 §3.2).
#[derive(Debug, Clone)]
pub struct SctpChunks<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for SctpChunks<'a> {
    type Item = SctpChunk<'a>;

    fn next(&mut self) -> Option<SctpChunk<'a>> {
        let rest = self.rest;
        let chunk = bytes::<4>(rest, 0).and_then(|[ty, flags, l0, l1]| {
            let len = usize::from(u16::from_be_bytes([l0, l1]));
            let value = rest.get(4..len)?;
            Some((SctpChunk { ty, flags, value }, len))
        });
        match chunk {
            Some((chunk, len)) => {
                self.rest = rest.get((len + 3) & !3..).unwrap_or_default();
                Some(chunk)
            }
            None => {
                self.rest = &[];
                None
            }
        }
    }
}

impl std::iter::FusedIterator for SctpChunks<'_> {}

/// DCCP packet types (RFC 4340 §5.1).
mod dccp_type {
    pub const REQUEST: u8 = 0;
    pub const RESPONSE: u8 = 1;
    pub const DATA: u8 = 2;
    pub const ACK: u8 = 3;
    pub const DATA_ACK: u8 = 4;
    pub const RESET: u8 = 7;
    pub const SYNC_ACK: u8 = 9;
}

/// DCCP generic header (RFC 4340 §5.1), acknowledgement subheader (§5.3) and the fixed
/// fields of Request/Response (service code, §5.4-5.5) and Reset (§5.6).
fn parse_dccp(seg: &[u8], wire_len: usize) -> Result<(DccpHeader, &[u8]), DropReason> {
    use dccp_type::*;
    let h = seg
        .first_chunk::<12>()
        .ok_or(DropReason::TruncatedDccpHeader)?;
    let doff = usize::from(h[4]) * 4;
    let cscov = usize::from(h[5] & 0x0f);
    let ptype = (h[8] >> 1) & 0x0f;
    let extended = h[8] & 1 != 0;
    // §5.1: types 10-15 are reserved; only Data, Ack and DataAck may use short sequence
    // numbers, and receivers must ignore any other type with X = 0.
    if ptype > SYNC_ACK || (!extended && !matches!(ptype, DATA | ACK | DATA_ACK)) {
        return Err(DropReason::BadDccpHeader);
    }
    let (generic, ack_len) = if extended { (16, 8) } else { (12, 4) };
    let has_ack = !matches!(ptype, REQUEST | DATA);
    let fixed = match ptype {
        REQUEST | RESPONSE | RESET => 4,
        _ => 0,
    };
    let need = generic + if has_ack { ack_len } else { 0 } + fixed;
    if seg.len() < need {
        return Err(DropReason::TruncatedDccpHeader);
    }
    let payload = seg
        .get(doff..)
        .filter(|_| doff >= need)
        .ok_or(DropReason::BadDccpHeader)?;
    // §9.2: coverage beyond the packet (as it travelled) must be dropped.
    if cscov > 0 && (cscov - 1) * 4 > wire_len - doff {
        return Err(DropReason::BadDccpHeader);
    }
    let (seq, ack) = if extended {
        (
            be48(seg, 10),
            has_ack.then(|| be48(seg, generic + 2)).flatten(),
        )
    } else {
        (
            be24(seg, 9),
            has_ack.then(|| be24(seg, generic + 1)).flatten(),
        )
    };
    let header = DccpHeader {
        sport: u16::from_be_bytes([h[0], h[1]]),
        dport: u16::from_be_bytes([h[2], h[3]]),
        ptype,
        seq: seq.ok_or(DropReason::TruncatedDccpHeader)?,
        ack,
    };
    Ok((header, payload))
}

// ---- ICMP error quotes ----

/// Parses the packet quoted by an ICMP/ICMPv6 error (RFC 792; RFC 4443 §2.4 (c)) well enough
/// to find its session.
///
/// The quoted IP header (with IPv6 extension headers) must be complete and of the outer
/// `family`; its length may exceed what was quoted. Only the first 8 transport bytes are
/// required: ports (and the TCP sequence number, SCTP verification tag, ICMP type/code/id).
/// Fields beyond the quote read as zero; a DCCP type not quoted reads as
/// [`DCCP_TYPE_UNKNOWN`]. SCTP chunks are not returned (`chunks` is empty) and `payload` is
/// empty. A non-first fragment, which has no transport header, is rejected.
pub fn parse_quoted(family: Family, quoted: &[u8]) -> Result<Packet<'_>, DropReason> {
    let bad = |_| DropReason::BadIcmpErrorQuote;
    let l3 = match (family, quoted.first().map(|b| b >> 4)) {
        (Family::V4, Some(4)) => ipv4(quoted, Mode::Quote).map_err(bad)?,
        (Family::V6, Some(6)) => ipv6(quoted, Mode::Quote).map_err(bad)?,
        _ => return Err(DropReason::BadIcmpErrorQuote),
    };
    let seg = l3.body;
    let first8 = seg.first_chunk::<8>().ok_or(DropReason::BadIcmpErrorQuote);
    let l4 = match (l3.ip.proto, family) {
        (ipproto::TCP, _) => {
            let h = first8?;
            let Ports { sport, dport } = ports(h);
            L4::Tcp(TcpSegment {
                sport,
                dport,
                seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                ack: be32(seg, 8).unwrap_or(0),
                flags: seg.get(13).copied().unwrap_or(0),
                window: be16(seg, 14).unwrap_or(0),
                ..TcpSegment::default()
            })
        }
        (ipproto::UDP, _) => L4::Udp(ports(first8?)),
        (ipproto::UDPLITE, _) => L4::UdpLite(ports(first8?)),
        (ipproto::ICMP, Family::V4) => L4::Icmp(parse_icmp(seg).map_err(bad)?),
        (ipproto::ICMPV6, Family::V6) => L4::Icmpv6(parse_icmp(seg).map_err(bad)?),
        (ipproto::SCTP, _) => {
            let h = first8?;
            let Ports { sport, dport } = ports(h);
            L4::Sctp(SctpHeader {
                sport,
                dport,
                vtag: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                chunks: &[],
            })
        }
        (ipproto::DCCP, _) => {
            let Ports { sport, dport } = ports(first8?);
            let x = seg.get(8).copied();
            L4::Dccp(DccpHeader {
                sport,
                dport,
                ptype: x.map_or(DCCP_TYPE_UNKNOWN, |b| (b >> 1) & 0x0f),
                seq: match x {
                    Some(b) if b & 1 != 0 => be48(seg, 10),
                    Some(_) => be24(seg, 9),
                    None => None,
                }
                .unwrap_or(0),
                ack: None,
            })
        }
        _ => L4::Other,
    };
    Ok(Packet {
        ip: l3.ip,
        l4,
        payload: &[],
        cut: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use DropReason as R;

    const A4: [u8; 4] = [198, 18, 0, 1];
    const B4: [u8; 4] = [198, 18, 0, 2];
    const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    /// IPv4 header with `opts` (a multiple of 4 bytes), then `payload`.
    fn ip4_full(proto: u8, opts: &[u8], frag: u16, payload: &[u8]) -> Vec<u8> {
        let hlen = 20 + opts.len();
        let total = (hlen + payload.len()) as u16;
        let mut v = vec![0x40 | (hlen / 4) as u8, 0];
        v.extend_from_slice(&total.to_be_bytes());
        v.extend_from_slice(&[0x12, 0x34]);
        v.extend_from_slice(&frag.to_be_bytes());
        v.extend_from_slice(&[64, proto, 0, 0]);
        v.extend_from_slice(&A4);
        v.extend_from_slice(&B4);
        v.extend_from_slice(opts);
        v.extend_from_slice(payload);
        v
    }

    fn ip4(proto: u8, payload: &[u8]) -> Vec<u8> {
        ip4_full(proto, &[], 0, payload)
    }

    fn ip6(nh: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0x60, 0, 0, 0];
        v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        v.extend_from_slice(&[nh, 255]);
        v.extend_from_slice(&A6);
        v.extend_from_slice(&B6);
        v.extend_from_slice(payload);
        v
    }

    /// A generic 8-byte-unit extension header (RFC 8200 §4.2) with zero filling.
    fn ext_hdr(next: u8, units: u8) -> Vec<u8> {
        let mut v = vec![next, units];
        v.resize(8 * (usize::from(units) + 1), 0);
        v
    }

    fn frag_hdr(next: u8, offset: u16, more: bool, id: u32) -> Vec<u8> {
        let mut v = vec![next, 0];
        v.extend_from_slice(&(offset | u16::from(more)).to_be_bytes());
        v.extend_from_slice(&id.to_be_bytes());
        v
    }

    fn tcp(flags: u8, opts: &[u8], payload: &[u8]) -> Vec<u8> {
        let doff = (20 + opts.len()) / 4;
        let mut v = vec![0x9c, 0x40, 0, 80, 0, 0, 0, 100, 0, 0, 0, 200];
        v.extend_from_slice(&[(doff as u8) << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
        v.extend_from_slice(opts);
        v.extend_from_slice(payload);
        v
    }

    fn udp(payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0x9c, 0x40, 0, 53];
        v.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    }

    /// Test bytes live for the whole run, so results can outlive the temporaries built inline.
    fn keep(d: &[u8]) -> &'static [u8] {
        Box::leak(d.to_vec().into_boxed_slice())
    }

    fn whole(d: &[u8]) -> Packet<'static> {
        match parse_ip(keep(d)) {
            Ok(Datagram::Whole(p)) => p,
            other => panic!("expected a whole datagram, got {other:?}"),
        }
    }

    fn frag(d: &[u8]) -> Fragment<'static> {
        match parse_ip(keep(d)) {
            Ok(Datagram::Fragment(f)) => f,
            other => panic!("expected a fragment, got {other:?}"),
        }
    }

    fn quoted(family: Family, d: &[u8]) -> Result<Packet<'static>, DropReason> {
        parse_quoted(family, keep(d))
    }

    fn err(d: &[u8]) -> DropReason {
        match parse_ip(d) {
            Err(r) => r,
            Ok(other) => panic!("expected a drop, got {other:?}"),
        }
    }

    fn tcp_of(p: Packet<'_>) -> TcpSegment {
        match p.l4 {
            L4::Tcp(t) => t,
            other => panic!("expected TCP, got {other:?}"),
        }
    }

    fn eth(tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        for &(tpid, tci) in tags {
            v.extend_from_slice(&tpid.to_be_bytes());
            v.extend_from_slice(&tci.to_be_bytes());
        }
        v.extend_from_slice(&ethertype.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    // ---- link layer ----

    #[test]
    fn pcap_linktypes_map_to_decoders() {
        let cases = [
            (0, LinkType::Null),
            (108, LinkType::Null),
            (1, LinkType::Ethernet),
            (12, LinkType::RawIp),
            (14, LinkType::RawIp),
            (101, LinkType::RawIp),
            (113, LinkType::LinuxSll),
            (276, LinkType::LinuxSll2),
            (228, LinkType::Ipv4),
            (229, LinkType::Ipv6),
        ];
        for (lt, want) in cases {
            assert_eq!(LinkType::from_pcap(lt), Some(want), "linktype {lt}");
        }
        assert_eq!(LinkType::from_pcap(105), None);
    }

    #[test]
    fn ethernet_ipv4_padding_is_trimmed_by_ip_length() {
        let mut d = ip4(ipproto::UDP, &udp(b"hi"));
        let ip_len = d.len();
        d.resize(46, 0); // minimum Ethernet payload
        let f = eth(&[], ethertype::IPV4, &d);
        let Frame::Ip {
            datagram,
            vlan: None,
        } = parse_link(LinkType::Ethernet, &f).unwrap()
        else {
            panic!("not IP");
        };
        let p = whole(datagram);
        assert_eq!(p.ip.len as usize, ip_len);
        assert_eq!(
            p.l4,
            L4::Udp(Ports {
                sport: 40000,
                dport: 53
            })
        );
        assert_eq!(p.payload, b"hi");
    }

    #[test]
    fn vlan_qinq_and_9100_tags_report_the_outer_vid() {
        let d = ip4(ipproto::UDP, &udp(b""));
        for tags in [
            vec![(ethertype::VLAN, 0x2064)],
            vec![(ethertype::QINQ, 0x0064), (ethertype::VLAN, 0x00c8)],
            vec![(ethertype::QINQ_9100, 0x0064), (ethertype::VLAN, 7)],
            vec![
                (ethertype::QINQ, 0x64),
                (ethertype::VLAN, 1),
                (ethertype::VLAN, 2),
                (ethertype::VLAN, 3),
            ],
        ] {
            let f = eth(&tags, ethertype::IPV4, &d);
            assert_eq!(
                parse_link(LinkType::Ethernet, &f),
                Ok(Frame::Ip {
                    datagram: &d[..],
                    vlan: Some(100)
                }),
                "{tags:?}"
            );
        }
    }

    #[test]
    fn five_vlan_tags_are_too_many() {
        let f = eth(
            &[(ethertype::VLAN, 1); 5],
            ethertype::IPV4,
            &ip4(ipproto::UDP, &udp(b"")),
        );
        assert_eq!(parse_link(LinkType::Ethernet, &f), Err(R::TooManyVlanTags));
    }

    #[test]
    fn short_frames_are_truncated_link_headers() {
        let f = eth(&[(ethertype::VLAN, 1)], ethertype::IPV4, &[]);
        // Cut inside the tag.
        assert_eq!(
            parse_link(LinkType::Ethernet, &f[..15]),
            Err(R::TruncatedLinkHeader)
        );
        for (link, n) in [
            (LinkType::Ethernet, 13),
            (LinkType::LinuxSll, 15),
            (LinkType::LinuxSll2, 19),
            (LinkType::Null, 3),
            (LinkType::RawIp, 0),
            (LinkType::Ipv4, 0),
            (LinkType::Ipv6, 0),
        ] {
            assert_eq!(
                parse_link(link, &vec![0x45; n]),
                Err(R::TruncatedLinkHeader),
                "{link:?}"
            );
        }
    }

    #[test]
    fn arp_is_not_ip() {
        let f = eth(&[(ethertype::VLAN, 5)], 0x0806, &[0; 28]);
        assert_eq!(
            parse_link(LinkType::Ethernet, &f),
            Ok(Frame::NonIp { ethertype: 0x0806 })
        );
    }

    #[test]
    fn linux_sll_and_sll2() {
        let d4 = ip4(ipproto::TCP, &tcp(tcpflag::SYN, &[], &[]));
        let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&d4);
        assert_eq!(
            parse_link(LinkType::LinuxSll, &sll),
            Ok(Frame::Ip {
                datagram: &d4[..],
                vlan: None
            })
        );
        let d6 = ip6(ipproto::UDP, &udp(b"x"));
        let mut sll2 = vec![
            0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0,
        ];
        sll2.extend_from_slice(&d6);
        assert_eq!(
            parse_link(LinkType::LinuxSll2, &sll2),
            Ok(Frame::Ip {
                datagram: &d6[..],
                vlan: None
            })
        );
        sll2[0..2].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(
            parse_link(LinkType::LinuxSll2, &sll2),
            Ok(Frame::NonIp { ethertype: 0x0806 })
        );
    }

    #[test]
    fn null_loopback_family_in_either_byte_order() {
        let d = ip4(ipproto::UDP, &udp(b""));
        for fam in [
            2u32.to_le_bytes(),
            2u32.to_be_bytes(),
            30u32.to_le_bytes(),
            10u32.to_be_bytes(),
        ] {
            let mut f = fam.to_vec();
            f.extend_from_slice(&d);
            assert_eq!(
                parse_link(LinkType::Null, &f),
                Ok(Frame::Ip {
                    datagram: &d[..],
                    vlan: None
                })
            );
        }
        let mut f = 7u32.to_le_bytes().to_vec();
        f.extend_from_slice(&d);
        assert_eq!(
            parse_link(LinkType::Null, &f),
            Ok(Frame::NonIp { ethertype: 0 })
        );
    }

    #[test]
    fn raw_ip_version_nibble_decides() {
        let d4 = ip4(ipproto::UDP, &udp(b""));
        let d6 = ip6(ipproto::UDP, &udp(b""));
        assert!(matches!(
            parse_link(LinkType::RawIp, &d4),
            Ok(Frame::Ip { .. })
        ));
        assert!(matches!(
            parse_link(LinkType::RawIp, &d6),
            Ok(Frame::Ip { .. })
        ));
        assert!(matches!(
            parse_link(LinkType::Ipv6, &d6),
            Ok(Frame::Ip { .. })
        ));
        assert_eq!(parse_link(LinkType::Ipv4, &d6), Err(R::BadIpVersion));
        assert_eq!(
            parse_link(LinkType::RawIp, &[0x50; 20]),
            Err(R::BadIpVersion)
        );
    }

    // ---- IPv4 ----

    #[test]
    fn ipv4_header_errors() {
        let good = ip4(ipproto::UDP, &udp(b"abc"));
        assert_eq!(err(&good[..19]), R::TruncatedIpv4Header);
        assert_eq!(err(&[]), R::BadIpVersion);
        let mut v = good.clone();
        v[0] = 0x55;
        assert_eq!(err(&v), R::BadIpVersion);
        v[0] = 0x44;
        assert_eq!(err(&v), R::BadIpv4HeaderLength);
        v[0] = 0x4f; // 60-byte header in a 31-byte datagram
        assert_eq!(err(&v), R::TruncatedIpv4Header);
        let mut v = good.clone();
        v[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(err(&v), R::BadIpv4TotalLength);
        v[2..4].copy_from_slice(&(good.len() as u16 + 1).to_be_bytes());
        assert_eq!(err(&v), R::BadIpv4TotalLength);
    }

    #[test]
    fn ipv4_options_are_walked() {
        // NOP, Record Route (len 7, pointer 4, one slot), EOL: 12 bytes.
        let ok = [1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0, 0];
        let p = whole(&ip4_full(ipproto::UDP, &ok, 0, &udp(b"z")));
        assert_eq!(p.payload, b"z");
        for bad in [
            [1, 1, 0x44, 1],
            [0x44, 1, 0, 0],
            [0x44, 9, 0, 0],
            [1, 1, 1, 0x83],
        ] {
            assert_eq!(
                err(&ip4_full(ipproto::UDP, &bad, 0, &udp(b""))),
                R::BadIpv4Options,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ipv4_fragments() {
        let body = [7u8; 16];
        let f = frag(&ip4_full(ipproto::UDP, &[], 0x2000, &body));
        assert_eq!(
            (f.id, f.offset, f.more, f.data),
            (0x1234, 0, true, &body[..])
        );
        assert_eq!((f.ip.proto, f.ip.len), (ipproto::UDP, 36));
        let f = frag(&ip4_full(ipproto::UDP, &[], 0x0003, &body));
        assert_eq!((f.offset, f.more), (24, false));
        // DF alone is not a fragment.
        assert!(matches!(
            parse_ip(&ip4_full(ipproto::UDP, &[], 0x4000, &udp(b""))),
            Ok(Datagram::Whole(_))
        ));
    }

    // ---- IPv6 ----

    #[test]
    fn ipv6_header_errors() {
        let good = ip6(ipproto::UDP, &udp(b"abc"));
        assert_eq!(err(&good[..39]), R::TruncatedIpv6Header);
        let mut v = good.clone();
        v[5] += 1;
        assert_eq!(err(&v), R::BadIpv6PayloadLength);
        // A jumbogram: payload length 0 and a Hop-by-Hop header.
        let mut v = ip6(ext::HOP_BY_HOP, &[]);
        v.extend_from_slice(&[17, 0, 0xc2, 4, 0, 1, 0, 0]);
        assert_eq!(err(&v), R::BadIpv6PayloadLength);
        // Padding after the payload is trimmed.
        let mut v = good.clone();
        v.extend_from_slice(&[0; 6]);
        assert_eq!(whole(&v).payload, b"abc");
        // No Next Header with an empty payload is a whole packet.
        let p = whole(&ip6(59, &[]));
        assert_eq!((p.ip.proto, p.l4, p.ip.len), (59, L4::Other, 40));
    }

    #[test]
    fn ipv6_extension_chain_is_walked() {
        let mut pl = ext_hdr(ext::ROUTING, 0);
        pl.extend(ext_hdr(ext::DEST_OPTS, 1));
        pl.extend(ext_hdr(ext::AH, 1));
        // AH: length in 4-byte words minus 2: 4 words = 16 bytes.
        pl.extend_from_slice(&[ext::MOBILITY, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        pl.extend(ext_hdr(ext::HIP, 0));
        pl.extend(ext_hdr(ext::SHIM6, 0));
        pl.extend(ext_hdr(ipproto::TCP, 0));
        pl.extend(tcp(tcpflag::ACK, &[], b"data"));
        let p = whole(&ip6(ext::HOP_BY_HOP, &pl));
        assert_eq!(p.ip.proto, ipproto::TCP);
        assert_eq!(p.ip.len as usize, 40 + pl.len());
        assert_eq!(p.ip.src, A6);
        assert_eq!(p.payload, b"data");
        assert_eq!(tcp_of(p).payload_len, 4);
    }

    #[test]
    fn ipv6_chain_limits() {
        let chain = |n: usize, last_next: u8| {
            let mut pl = Vec::new();
            for i in 0..n {
                pl.extend(ext_hdr(
                    if i + 1 == n {
                        last_next
                    } else {
                        ext::DEST_OPTS
                    },
                    0,
                ));
            }
            pl.extend(udp(b""));
            ip6(ext::DEST_OPTS, &pl)
        };
        assert_eq!(whole(&chain(8, ipproto::UDP)).ip.proto, ipproto::UDP);
        assert_eq!(err(&chain(9, ipproto::UDP)), R::Ipv6ExtensionChainTooLong);
        let mut v = ip6(ext::ROUTING, &[ipproto::UDP, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(err(&v), R::TruncatedIpv6ExtensionHeader);
        v = ip6(ext::FRAGMENT, &[ipproto::UDP, 0, 0, 0]);
        assert_eq!(err(&v), R::TruncatedIpv6ExtensionHeader);
        v = ip6(ext::ROUTING, &[ipproto::UDP]);
        assert_eq!(err(&v), R::TruncatedIpv6ExtensionHeader);
    }

    #[test]
    fn ipv6_fragments_and_atomic_fragments() {
        let mut pl = ext_hdr(ext::FRAGMENT, 0);
        pl.extend(frag_hdr(ipproto::UDP, 0, true, 0xdead_beef));
        pl.extend_from_slice(&[1; 8]);
        let f = frag(&ip6(ext::HOP_BY_HOP, &pl));
        assert_eq!(
            (f.id, f.offset, f.more, f.data),
            (0xdead_beef, 0, true, &[1u8; 8][..])
        );
        assert_eq!((f.ip.proto, f.ip.len), (ipproto::UDP, 40 + pl.len() as u32));
        let mut pl = frag_hdr(ipproto::UDP, 1480, false, 9);
        pl.extend_from_slice(&[1; 3]);
        let f = frag(&ip6(ext::FRAGMENT, &pl));
        assert_eq!((f.offset, f.more, f.data.len()), (1480, false, 3));
        // RFC 6946: offset 0 and M = 0 is a whole packet.
        let mut pl = frag_hdr(ipproto::UDP, 0, false, 9);
        pl.extend(udp(b"atomic"));
        let p = whole(&ip6(ext::FRAGMENT, &pl));
        assert_eq!((p.ip.proto, p.payload), (ipproto::UDP, &b"atomic"[..]));
    }

    #[test]
    fn esp_ends_the_chain() {
        let mut pl = ext_hdr(50, 0);
        pl.extend_from_slice(&[0xaa; 24]);
        let p = whole(&ip6(ext::DEST_OPTS, &pl));
        assert_eq!((p.ip.proto, p.l4), (50, L4::Other));
        assert_eq!(whole(&ip4(50, &[0; 12])).l4, L4::Other);
    }

    // ---- TCP ----

    #[test]
    fn tcp_syn_options() {
        let opts = [
            2, 4, 0x05, 0xb4, // MSS 1460
            4, 2, // SACK permitted
            8, 10, 0, 0, 0, 1, 0, 0, 0, 0, // timestamps
            1, // NOP
            3, 3, 15, // window scale 15, clamped to 14
            0, 0, 0, 0, // EOL, padding
        ];
        let p = whole(&ip4(ipproto::TCP, &tcp(tcpflag::SYN, &opts, &[])));
        let t = tcp_of(p);
        assert_eq!((t.sport, t.dport, t.seq, t.ack), (40000, 80, 100, 200));
        assert_eq!((t.flags, t.window), (tcpflag::SYN, 0xffff));
        assert_eq!((t.wscale, t.sack_perm, t.sack_max), (Some(14), true, None));
        assert_eq!(t.payload_len, 0);
        // Whatever follows EOL is padding, even if it looks malformed.
        let t = tcp_of(whole(&ip4(ipproto::TCP, &tcp(0, &[0, 1, 7, 0], &[]))));
        assert_eq!(t.wscale, None);
    }

    #[test]
    fn tcp_sack_max_uses_sequence_arithmetic() {
        let mut opts = vec![1, 1, 5, 18];
        for edge in [(0xffff_ff00u32, 0xffff_fff0u32), (0x0000_0000, 0x0000_0010)] {
            opts.extend_from_slice(&edge.0.to_be_bytes());
            opts.extend_from_slice(&edge.1.to_be_bytes());
        }
        let t = tcp_of(whole(&ip6(ipproto::TCP, &tcp(tcpflag::ACK, &opts, b"x"))));
        assert_eq!(t.sack_max, Some(0x10));
        assert_eq!(t.payload_len, 1);
    }

    #[test]
    fn tcp_errors() {
        let seg = tcp(tcpflag::ACK, &[], b"payload");
        assert_eq!(err(&ip4(ipproto::TCP, &seg[..19])), R::TruncatedTcpHeader);
        let mut s = seg.clone();
        s[12] = 4 << 4;
        assert_eq!(err(&ip4(ipproto::TCP, &s)), R::BadTcpDataOffset);
        s[12] = 15 << 4; // 60 bytes in a 27-byte segment
        assert_eq!(err(&ip4(ipproto::TCP, &s)), R::BadTcpDataOffset);
        for bad in [
            [2, 3, 0, 0],    // MSS of the wrong size
            [3, 4, 0, 0],    // window scale of the wrong size
            [1, 0x22, 1, 0], // length < 2
            [1, 1, 0x22, 5], // length past the header
            [5, 2, 0, 0],    // SACK without a block
            [4, 3, 0, 1],    // SACK-permitted with a value
        ] {
            assert_eq!(
                err(&ip4(ipproto::TCP, &tcp(0, &bad, &[]))),
                R::BadTcpOptions,
                "{bad:?}"
            );
        }
    }

    // ---- UDP, UDP-Lite, ICMP ----

    #[test]
    fn udp_length_bounds_the_payload() {
        let mut seg = udp(b"abcd");
        seg.extend_from_slice(b"trailer");
        let p = whole(&ip4(ipproto::UDP, &seg));
        assert_eq!(p.payload, b"abcd");
        assert_eq!(err(&ip4(ipproto::UDP, &seg[..7])), R::TruncatedUdpHeader);
        for len in [0u16, 7, 20] {
            let mut s = udp(b"abcd");
            s[4..6].copy_from_slice(&len.to_be_bytes());
            assert_eq!(err(&ip4(ipproto::UDP, &s)), R::BadUdpLength, "length {len}");
        }
    }

    #[test]
    fn udplite_checksum_coverage() {
        for (cov, ok) in [(0u16, true), (8, true), (12, true), (4, false), (13, false)] {
            let mut s = udp(b"abcd");
            s[4..6].copy_from_slice(&cov.to_be_bytes());
            let d = ip4(ipproto::UDPLITE, &s);
            if ok {
                let p = whole(&d);
                assert_eq!(
                    (p.l4, p.payload),
                    (
                        L4::UdpLite(Ports {
                            sport: 40000,
                            dport: 53
                        }),
                        &b"abcd"[..]
                    )
                );
            } else {
                assert_eq!(err(&d), R::BadUdpLiteChecksumCoverage, "coverage {cov}");
            }
        }
    }

    #[test]
    fn icmp_and_icmpv6_messages() {
        let echo = [8, 0, 0, 0, 0x12, 0x34, 0, 1, b'p', b'i'];
        let p = whole(&ip4(ipproto::ICMP, &echo));
        assert_eq!(
            p.l4,
            L4::Icmp(IcmpMessage {
                ty: 8,
                code: 0,
                id: 0x1234,
                rest: b"pi"
            })
        );
        assert_eq!(err(&ip4(ipproto::ICMP, &echo[..7])), R::TruncatedIcmpHeader);
        let p = whole(&ip6(ipproto::ICMPV6, &[128, 0, 0, 0, 0, 9, 0, 1]));
        assert_eq!(
            p.l4,
            L4::Icmpv6(IcmpMessage {
                ty: 128,
                code: 0,
                id: 9,
                rest: &[]
            })
        );
        // ICMPv4 inside IPv6 is no protocol of that family: raw IP.
        assert_eq!(whole(&ip6(ipproto::ICMP, &echo)).l4, L4::Other);
    }

    // ---- SCTP ----

    fn sctp(chunks: &[u8]) -> Vec<u8> {
        let mut v = vec![0x0b, 0x59, 0x0b, 0x59, 0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0];
        v.extend_from_slice(chunks);
        v
    }

    #[test]
    fn sctp_chunk_walk() {
        // DATA with a 5-byte value (padded), then a COOKIE ACK, then a chunk whose padding is
        // left off at the end of the packet.
        let chunks = [
            0, 3, 0, 9, 1, 2, 3, 4, 5, 0, 0, 0, //
            11, 0, 0, 4, //
            0xc0, 0, 0, 6, 0xaa, 0xbb,
        ];
        let p = whole(&ip4(ipproto::SCTP, &sctp(&chunks)));
        let L4::Sctp(h) = p.l4 else {
            panic!("not SCTP")
        };
        assert_eq!((h.sport, h.dport, h.vtag), (2905, 2905, 0xcafe_babe));
        let got: Vec<_> = h.chunks().collect();
        assert_eq!(
            got,
            [
                SctpChunk {
                    ty: 0,
                    flags: 3,
                    value: &[1, 2, 3, 4, 5]
                },
                SctpChunk {
                    ty: 11,
                    flags: 0,
                    value: &[]
                },
                SctpChunk {
                    ty: 0xc0,
                    flags: 0,
                    value: &[0xaa, 0xbb]
                },
            ]
        );
    }

    #[test]
    fn sctp_errors() {
        assert_eq!(
            err(&ip4(ipproto::SCTP, &sctp(&[])[..11])),
            R::TruncatedSctpHeader
        );
        for bad in [
            &[][..],                   // no chunk
            &[1, 0, 0, 3],             // length < 4
            &[1, 0, 0, 9, 0, 0, 0, 0], // past the packet
            &[11, 0, 0, 4, 0, 0],      // stray bytes after a chunk
        ] {
            assert_eq!(
                err(&ip4(ipproto::SCTP, &sctp(bad))),
                R::BadSctpChunk,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn sctp_chunk_iterator_stops_on_garbage() {
        let h = SctpHeader {
            sport: 1,
            dport: 2,
            vtag: 3,
            chunks: &[1, 0, 0, 8, 0, 0, 0, 0, 2, 0, 0, 2, 9],
        };
        let got: Vec<_> = h.chunks().map(|c| c.ty).collect();
        assert_eq!(got, [1]);
        let h = SctpHeader {
            chunks: &[1, 0, 0, 200],
            ..h
        };
        assert_eq!(h.chunks().count(), 0);
    }

    // ---- DCCP ----

    /// Generic header with X = 1 (16 bytes) for `ptype`, then `rest`.
    fn dccp(ptype: u8, rest: &[u8]) -> Vec<u8> {
        let doff = ((16 + rest.len()) / 4) as u8;
        let mut v = vec![0x13, 0x88, 0x00, 0x50, doff, 0, 0, 0, (ptype << 1) | 1, 0];
        v.extend_from_slice(&[0, 0, 0, 0, 0x01, 0x02]); // seq 0x0102
        v.extend_from_slice(rest);
        v
    }

    fn dccp_of(p: Packet<'_>) -> DccpHeader {
        match p.l4 {
            L4::Dccp(d) => d,
            other => panic!("expected DCCP, got {other:?}"),
        }
    }

    const ACK48: [u8; 8] = [0, 0, 0, 0, 0, 0, 0x0a, 0x0b];

    #[test]
    fn dccp_types() {
        let req = dccp_of(whole(&ip4(ipproto::DCCP, &dccp(0, &[0, 0, 0, 42]))));
        assert_eq!(
            (req.sport, req.dport, req.ptype, req.seq, req.ack),
            (5000, 80, 0, 0x0102, None)
        );
        let mut resp = ACK48.to_vec();
        resp.extend_from_slice(&[0, 0, 0, 42]);
        let r = dccp_of(whole(&ip4(ipproto::DCCP, &dccp(1, &resp))));
        assert_eq!((r.ptype, r.ack), (1, Some(0x0a0b)));
        let mut reset = ACK48.to_vec();
        reset.extend_from_slice(&[2, 0, 0, 0]);
        assert_eq!(
            dccp_of(whole(&ip4(ipproto::DCCP, &dccp(7, &reset)))).ptype,
            7
        );
        for ty in [3, 4, 5, 6, 8, 9] {
            let d = dccp_of(whole(&ip4(ipproto::DCCP, &dccp(ty, &ACK48))));
            assert_eq!(d.ack, Some(0x0a0b), "type {ty}");
        }
        let mut data = dccp(2, b"");
        data.extend_from_slice(b"app!");
        let p = whole(&ip4(ipproto::DCCP, &data));
        assert_eq!((p.payload, dccp_of(p).ack), (&b"app!"[..], None));
        // X = 0: 24-bit numbers, 12-byte header, 4-byte ack subheader (RFC 4340 §5.1, §5.3).
        let short_ack = [
            0x13,
            0x88,
            0,
            0x50,
            4,
            0,
            0,
            0,
            3 << 1,
            0x01,
            0x02,
            0x03,
            0,
            0,
            0,
            0x07,
        ];
        let d = dccp_of(whole(&ip4(ipproto::DCCP, &short_ack)));
        assert_eq!((d.ptype, d.seq, d.ack), (3, 0x010203, Some(7)));
    }

    #[test]
    fn dccp_errors() {
        let dg = |seg: &[u8]| err(&ip4(ipproto::DCCP, seg));
        assert_eq!(dg(&dccp(0, &[0, 0, 0, 42])[..11]), R::TruncatedDccpHeader);
        // Request without its service code; Ack without its ack subheader.
        let mut s = dccp(0, &[]);
        s[4] = 5;
        assert_eq!(dg(&s), R::TruncatedDccpHeader);
        assert_eq!(dg(&dccp(3, &ACK48[..4])), R::TruncatedDccpHeader);
        // Reserved type, and X = 0 on a Request.
        assert_eq!(dg(&dccp(10, &ACK48)), R::BadDccpHeader);
        let mut s = dccp(0, &[0, 0, 0, 42]);
        s[8] &= !1;
        assert_eq!(dg(&s), R::BadDccpHeader);
        // Data offset inside the fixed header, or past the packet.
        let mut s = dccp(3, &ACK48);
        s[4] = 5;
        assert_eq!(dg(&s), R::BadDccpHeader);
        s[4] = 7;
        assert_eq!(dg(&s), R::BadDccpHeader);
        // Checksum coverage past the packet (RFC 4340 §9.2).
        let mut s = dccp(3, &ACK48);
        s[5] = 2;
        assert_eq!(dg(&s), R::BadDccpHeader);
    }

    // ---- ICMP error quotes ----

    #[test]
    fn quoted_ipv4_udp_cut_after_8_bytes() {
        let inner = ip4(ipproto::UDP, &udp(&[0; 100]));
        let q = &inner[..28];
        let p = quoted(Family::V4, q).unwrap();
        assert_eq!(p.ip.len, 128);
        assert_eq!(
            p.l4,
            L4::Udp(Ports {
                sport: 40000,
                dport: 53
            })
        );
        assert_eq!(
            quoted(Family::V6, q).map(|p| p.l4),
            Err(R::BadIcmpErrorQuote)
        );
        assert_eq!(
            quoted(Family::V4, &q[..27]).map(|p| p.l4),
            Err(R::BadIcmpErrorQuote)
        );
        assert_eq!(
            quoted(Family::V4, &q[..19]).map(|p| p.l4),
            Err(R::BadIcmpErrorQuote)
        );
        // Inside a whole ICMP error, as the ICMP module will see it.
        let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(q);
        let outer = whole(&ip4(ipproto::ICMP, &icmp));
        let L4::Icmp(m) = outer.l4 else {
            panic!("not ICMP")
        };
        assert!(crate::proto::icmp::is_error(ipproto::ICMP, m.ty));
        assert_eq!(quoted(outer.ip.family, m.rest).unwrap().ip.src, v4_addr(A4));
    }

    #[test]
    fn quoted_tcp_sctp_dccp_icmp() {
        let t = quoted(
            Family::V4,
            &ip4(ipproto::TCP, &tcp(tcpflag::SYN, &[], b"x"))[..28],
        )
        .unwrap();
        assert_eq!(
            tcp_of(t),
            TcpSegment {
                sport: 40000,
                dport: 80,
                seq: 100,
                ..TcpSegment::default()
            }
        );
        let s = quoted(Family::V4, &ip4(ipproto::SCTP, &sctp(&[1, 0, 0, 4]))[..28]).unwrap();
        assert_eq!(
            s.l4,
            L4::Sctp(SctpHeader {
                sport: 2905,
                dport: 2905,
                vtag: 0xcafe_babe,
                chunks: &[]
            })
        );
        let d = quoted(
            Family::V4,
            &ip4(ipproto::DCCP, &dccp(0, &[0, 0, 0, 1]))[..28],
        )
        .unwrap();
        assert_eq!(dccp_of(d).ptype, DCCP_TYPE_UNKNOWN);
        let d = quoted(
            Family::V4,
            &ip4(ipproto::DCCP, &dccp(0, &[0, 0, 0, 1]))[..36],
        )
        .unwrap();
        assert_eq!((dccp_of(d).ptype, dccp_of(d).seq), (0, 0x0102));
        let echo = quoted(
            Family::V6,
            &ip6(ipproto::ICMPV6, &[128, 0, 0, 0, 0, 5, 0, 1]),
        )
        .unwrap();
        assert_eq!(
            echo.l4,
            L4::Icmpv6(IcmpMessage {
                ty: 128,
                code: 0,
                id: 5,
                rest: &[]
            })
        );
    }

    #[test]
    fn quoted_ipv6_first_fragment_is_readable_but_later_ones_are_not() {
        let mut pl = frag_hdr(ext::DEST_OPTS, 0, true, 1);
        pl.extend(ext_hdr(ipproto::UDP, 0));
        pl.extend(udp(&[0; 64]));
        let q = ip6(ext::FRAGMENT, &pl);
        let p = quoted(Family::V6, &q[..40 + 16 + 8]).unwrap();
        assert_eq!(
            (p.ip.proto, p.l4),
            (
                ipproto::UDP,
                L4::Udp(Ports {
                    sport: 40000,
                    dport: 53
                })
            )
        );
        let mut later = frag_hdr(ipproto::UDP, 8, false, 1);
        later.extend_from_slice(&[0; 8]);
        assert_eq!(
            quoted(Family::V6, &ip6(ext::FRAGMENT, &later)).map(|p| p.l4),
            Err(R::BadIcmpErrorQuote)
        );
        let v4later = ip4_full(ipproto::UDP, &[], 1, &[0; 8]);
        assert_eq!(
            quoted(Family::V4, &v4later).map(|p| p.l4),
            Err(R::BadIcmpErrorQuote)
        );
        // A quoted extension header cut short is unreadable.
        assert_eq!(
            quoted(Family::V6, &q[..44]).map(|p| p.l4),
            Err(R::BadIcmpErrorQuote)
        );
    }

    #[test]
    fn icmp_error_types() {
        for ty in [3, 4, 5, 11, 12] {
            assert!(crate::proto::icmp::is_error(ipproto::ICMP, ty));
        }
        for ty in [1, 2, 3, 4] {
            assert!(crate::proto::icmp::is_error(ipproto::ICMPV6, ty));
        }
        for (proto, ty) in [
            (ipproto::ICMP, 0),
            (ipproto::ICMP, 8),
            (ipproto::ICMPV6, 128),
            (ipproto::UDP, 3),
        ] {
            assert!(!crate::proto::icmp::is_error(proto, ty));
        }
    }
}
