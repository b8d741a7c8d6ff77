//! The IP layer: the IPv4 header and its options, the IPv6 header and its extension chain,
//! fragments, and the three ways of reading them (`Mode`): strictly for forwarded datagrams,
//! laxly for the copy an ICMP error quotes, and by the announced lengths for a frame a
//! capture cut short. A whole datagram is handed on to `transport`; `quote` reuses the
//! header walk for the datagram inside an ICMP error.

use super::transport::transport;
use super::types::{Datagram, Family, Fragment, IpInfo, bytes, v4_addr};
use crate::drop::DropReason;

/// IPv6 extension headers we walk (RFC 8200 §4, RFC 7045 §2 for the full list).
pub(super) mod ext {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const AH: u8 = 51;
    pub const DEST_OPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;
}

/// The longest IPv6 extension chain we walk. RFC 8200 §4.1 recommends each header at most
/// once (Destination Options twice), so 8 covers every legitimate chain.
const MAX_IPV6_EXT_HEADERS: usize = 8;

/// Strict for forwarded datagrams; lax for the copy quoted in an ICMP error, which is
/// usually cut short (RFC 792: header + 64 bits; RFC 4443 §2.4 (c): as much as fits).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Strict,
    Quote,
    /// A frame the capture cut short: what the headers announce may run past the bytes held.
    Cut,
}

/// The IP layer of a datagram.
pub(super) struct L3<'a> {
    pub(super) ip: IpInfo,
    /// (identification, offset in bytes, more fragments) of a fragment; never set in quotes.
    frag: Option<(u32, u32, bool)>,
    /// What follows the IP header and every extension header (or the Fragment header).
    pub(super) body: &'a [u8],
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
///
/// Always inlined into the batch loop (`Pipeline::process_frames`): called out of line, its
/// result came back through memory and was copied twice more on the way to the lookup key,
/// each copy a 16-byte load of bytes just stored in other widths, which the CPU cannot
/// forward from its store buffer (about 7 % of a one-core replay's samples, issue #15).
#[inline(always)]
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
pub(super) fn ipv4(d: &[u8], mode: Mode) -> Result<L3<'_>, DropReason> {
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
pub(super) fn ipv6(d: &[u8], mode: Mode) -> Result<L3<'_>, DropReason> {
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
