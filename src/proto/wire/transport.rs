//! The transport headers of a whole datagram: TCP with the options connection tracking
//! reads, UDP, UDP-Lite, ICMP and ICMPv6, SCTP with its chunk walk, and DCCP. Each parser
//! takes the segment and its length on the wire, so a frame a capture cut short is read as
//! far as it goes and still counted at the size it travelled.

use super::types::{
    DccpHeader, Family, IcmpMessage, IpInfo, L4, Packet, Ports, SctpChunk, SctpHeader, TcpSegment,
    be16, be24, be48, bytes, ipproto,
};
use crate::drop::DropReason;

/// Linux clamps larger shifts to 14 (RFC 7323 §2.3), and so must we to agree with it.
const TCP_MAX_WSCALE: u8 = 14;

/// The transport header of a whole datagram. `wire_len` is the segment's length on the wire:
/// `seg.len()`, or more for a frame the capture cut.
#[inline(always)]
pub(super) fn transport(ip: IpInfo, seg: &[u8], wire_len: usize) -> Result<Packet<'_>, DropReason> {
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
        // Plain GRE stays raw IP; only PPP in enhanced GRE is keyed by call ID.
        (ipproto::GRE, _) => match crate::proto::gre::parse(seg) {
            Some(h) => (L4::Gre(h), &[][..]),
            None => (L4::Other, &[][..]),
        },
        _ => (L4::Other, &[][..]),
    };
    Ok(Packet {
        ip,
        l4,
        payload,
        cut: wire_len > seg.len(),
        reassembled: false,
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
pub(super) fn ports(h: &[u8; 8]) -> Ports {
    Ports {
        sport: u16::from_be_bytes([h[0], h[1]]),
        dport: u16::from_be_bytes([h[2], h[3]]),
    }
}

/// ICMP (RFC 792) and ICMPv6 (RFC 4443 §2.1) share the 8-byte header layout we read.
pub(super) fn parse_icmp(seg: &[u8]) -> Result<IcmpMessage<'_>, DropReason> {
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
