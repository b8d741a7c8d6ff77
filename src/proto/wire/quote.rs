//! The packet an ICMP or ICMPv6 error quotes, read just far enough to find the session it
//! belongs to. It walks the IP headers with `ip` in its lax `Quote` mode and reads the first
//! transport bytes with the helpers of `transport`; it sits above both, and nothing
//! imports it but the module root.

use super::ip::{Mode, ipv4, ipv6};
use super::transport::{parse_icmp, ports};
use super::types::{
    DCCP_TYPE_UNKNOWN, DccpHeader, Family, L4, Packet, Ports, SctpHeader, TcpSegment, be16, be24,
    be32, be48, ipproto,
};
use crate::drop::DropReason;

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
        (ipproto::GRE, _) => match crate::proto::gre::parse(seg) {
            Some(h) => L4::Gre(h),
            None => L4::Other,
        },
        _ => L4::Other,
    };
    Ok(Packet {
        ip: l3.ip,
        l4,
        payload: &[],
        cut: false,
        reassembled: false,
    })
}
