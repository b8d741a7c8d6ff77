//! ICMP and ICMPv6 sessions (SPEC S2: `REQUEST REPLY`) and the error mapping of S3.
//!
//! Query messages (echo, timestamp, information, address mask: RFC 792; echo and node
//! information: RFC 4443 §4, RFC 4620) open a session keyed by identifier and type; the
//! answer moves it to REPLY. Error messages (RFC 792 types 3, 4, 5, 11, 12; RFC 4443 §3
//! types 1-4) never open a session: they belong to the session of the packet they quote.

use super::key::{Direction, FlowKey, icmp_query_answer};
use super::wire::{Family, ipproto};
use crate::drop::DropReason;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum IcmpState {
    /// The query has been seen, no answer yet.
    Request = 1,
    /// The answer has been seen.
    Reply = 2,
}

/// Next state by [current state][direction].
const NEXT: [[IcmpState; 2]; 2] = [
    [IcmpState::Request, IcmpState::Reply],
    [IcmpState::Reply, IcmpState::Reply],
];

impl IcmpState {
    pub const ALL: [IcmpState; 2] = [IcmpState::Request, IcmpState::Reply];

    pub const fn name(self) -> &'static str {
        match self {
            IcmpState::Request => "REQUEST",
            IcmpState::Reply => "REPLY",
        }
    }

    pub fn from_u8(v: u8) -> Option<IcmpState> {
        Self::ALL.into_iter().find(|s| *s as u8 == v)
    }

    #[inline]
    pub const fn next(self, dir: Direction) -> IcmpState {
        NEXT[self as usize - 1][dir as usize]
    }
}

/// Is this ICMP(v6) type an error message (S3)?
pub const fn is_error(proto: u8, ty: u8) -> bool {
    match proto {
        ipproto::ICMP => matches!(ty, 3 | 4 | 5 | 11 | 12),
        ipproto::ICMPV6 => matches!(ty, 1..=4),
        _ => false,
    }
}

/// ICMPv6 messages that only make sense on the link and that session management leaves
/// alone (nf_conntrack's `noct_valid_new`): MLD query/report/done (RFC 2710 §3, RFC 3810 §5:
/// 130-132, 143), router solicitation/advertisement, neighbour solicitation/advertisement and
/// redirect (RFC 4861 §4: 133-137).
pub const fn is_link_local_control(ty: u8) -> bool {
    matches!(ty, 130..=137 | 143)
}

/// The first message of a session must be a query (nf_conntrack icmp_new /
/// icmpv6_new: "Can't create a new ICMP conntrack with this type").
pub fn icmp_new(key: &FlowKey) -> Result<IcmpState, DropReason> {
    let ty = (key.dport >> 8) as u8;
    if icmp_query_answer(key.proto, ty).is_some() {
        Ok(IcmpState::Request)
    } else {
        Err(DropReason::IcmpUnexpectedType)
    }
}

/// The ICMP protocol number of a family.
pub const fn proto_of(family: Family) -> u8 {
    match family {
        Family::V4 => ipproto::ICMP,
        Family::V6 => ipproto::ICMPV6,
    }
}

/// The descriptor's `first` for ICMP and ICMPv6 (see `proto::Descriptor`): a query opens a
/// session. ICMP carried by the other family is not parsed as ICMP (`wire` leaves it
/// `L4::Other`); it is tracked by addresses alone, as the generic tracker would.
pub(super) fn first(
    pkt: &super::wire::Packet<'_>,
    key: &FlowKey,
    _policy: &super::tcp::TcpPolicy,
) -> Result<(u8, super::L4Track), DropReason> {
    match pkt.l4 {
        super::wire::L4::Icmp(_) | super::wire::L4::Icmpv6(_) => {
            Ok((icmp_new(key)? as u8, super::L4Track::None))
        }
        _ => Ok((IcmpState::Request as u8, super::L4Track::None)),
    }
}

/// The descriptor's `next` for ICMP and ICMPv6: the table above (the answer moves the
/// session to REPLY).
pub(super) fn next(
    state: &mut u8,
    _track: &mut super::L4Track,
    dir: Direction,
    _pkt: &super::wire::Packet<'_>,
    _seen_reply: bool,
    _policy: &super::tcp::TcpPolicy,
) -> super::Step {
    match IcmpState::from_u8(*state) {
        Some(s) => {
            *state = s.next(dir) as u8;
            super::Step::Accept
        }
        None => super::Step::Invalid(DropReason::ProtocolMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Orig, Reply};
    use IcmpState::{Reply as Rep, Request};

    #[test]
    fn one_row_per_transition() {
        for (from, dir, to) in [
            (Request, Orig, Request),
            (Request, Reply, Rep),
            (Rep, Orig, Rep),
            (Rep, Reply, Rep),
        ] {
            assert_eq!(from.next(dir), to);
        }
    }

    fn key(proto: u8, ty: u8) -> FlowKey {
        FlowKey {
            src: [0; 16],
            dst: [1; 16],
            sport: 9,
            dport: u16::from(ty) << 8,
            proto,
            family: Family::V6,
            vpn: 0,
        }
    }

    #[test]
    fn only_queries_open_sessions() {
        assert_eq!(icmp_new(&key(ipproto::ICMP, 8)), Ok(Request));
        assert_eq!(icmp_new(&key(ipproto::ICMP, 13)), Ok(Request));
        assert_eq!(
            icmp_new(&key(ipproto::ICMP, 0)),
            Err(DropReason::IcmpUnexpectedType)
        );
        assert_eq!(icmp_new(&key(ipproto::ICMPV6, 128)), Ok(Request));
        assert_eq!(
            icmp_new(&key(ipproto::ICMPV6, 135)),
            Err(DropReason::IcmpUnexpectedType)
        );
    }

    #[test]
    fn neighbour_discovery_is_left_alone() {
        for t in [130, 131, 132, 133, 134, 135, 136, 137, 143] {
            assert!(is_link_local_control(t));
        }
        assert!(!is_link_local_control(128));
        assert!(!is_link_local_control(1));
    }

    #[test]
    fn error_types() {
        for t in [3, 4, 5, 11, 12] {
            assert!(is_error(ipproto::ICMP, t));
        }
        for t in [1, 2, 3, 4] {
            assert!(is_error(ipproto::ICMPV6, t));
        }
        assert!(!is_error(ipproto::ICMP, 8));
        assert!(!is_error(ipproto::ICMPV6, 128));
    }
}
