//! The link layer: Ethernet with its VLAN tags, Linux cooked captures (SLL, SLL2), BSD
//! loopback and raw IP, each stripped down to the IP datagram it carries. What comes after
//! the link header is not looked at here, so this file needs only the shared types.

use super::types::{Frame, LinkType};
use crate::drop::DropReason;

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

/// More tags than QinQ needs are accepted up to this depth; deeper stacks are an attack on
/// the parser rather than a network design.
const MAX_VLAN_TAGS: usize = 4;

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
