//! UDP session states (SPEC S2: `OPEN READY`).
//!
//! UDP has no connection of its own (RFC 768); session management calls a flow OPEN until
//! the responder has answered and READY after, exactly when nf_conntrack sets
//! IPS_SEEN_REPLY. UDP-Lite (RFC 3828) and raw IP flows use this same machine
//! (`udplite.rs`, `rawip.rs`): one model for every connectionless transport.

use super::key::Direction;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum UdpState {
    /// Only the initiator has sent.
    Open = 1,
    /// The responder has answered.
    Ready = 2,
}

/// Next state by [current state][direction of the packet].
const NEXT: [[UdpState; 2]; 2] = [
    // Open:  an initiator packet changes nothing; the first answer makes the flow READY.
    [UdpState::Open, UdpState::Ready],
    // Ready: nothing leaves READY but aging.
    [UdpState::Ready, UdpState::Ready],
];

impl UdpState {
    pub const ALL: [UdpState; 2] = [UdpState::Open, UdpState::Ready];

    pub const fn name(self) -> &'static str {
        match self {
            UdpState::Open => "OPEN",
            UdpState::Ready => "READY",
        }
    }

    pub fn from_u8(v: u8) -> Option<UdpState> {
        Self::ALL.into_iter().find(|s| *s as u8 == v)
    }

    /// Any datagram may open a flow.
    pub const fn new_flow() -> UdpState {
        UdpState::Open
    }

    /// State after a packet in `dir`.
    #[inline]
    pub const fn next(self, dir: Direction) -> UdpState {
        NEXT[self as usize - 1][dir as usize]
    }
}

/// The descriptor's `first` for UDP, UDP-Lite and raw IP (see `proto::Descriptor`): any
/// datagram opens a flow.
pub(super) fn first(
    _pkt: &super::wire::Packet<'_>,
    _key: &super::key::FlowKey,
    _policy: &super::tcp::TcpPolicy,
) -> Result<(u8, super::L4Track), crate::drop::DropReason> {
    Ok((UdpState::new_flow() as u8, super::L4Track::None))
}

/// The descriptor's `next` for UDP, UDP-Lite and raw IP: the table above.
pub(super) fn next(
    state: &mut u8,
    _track: &mut super::L4Track,
    dir: Direction,
    _pkt: &super::wire::Packet<'_>,
    _seen_reply: bool,
    _policy: &super::tcp::TcpPolicy,
) -> super::Step {
    match UdpState::from_u8(*state) {
        Some(s) => {
            *state = s.next(dir) as u8;
            super::Step::Accept
        }
        None => super::Step::Invalid(crate::drop::DropReason::ProtocolMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Orig, Reply};
    use UdpState::{Open, Ready};

    #[test]
    fn one_row_per_transition() {
        let rows = [
            (Open, Orig, Open),
            (Open, Reply, Ready),
            (Ready, Orig, Ready),
            (Ready, Reply, Ready),
        ];
        for (from, dir, to) in rows {
            assert_eq!(from.next(dir), to, "{from:?} + {dir:?}");
        }
        assert_eq!(UdpState::new_flow(), Open);
    }

    #[test]
    fn names_and_codes_round_trip() {
        for s in UdpState::ALL {
            assert_eq!(UdpState::from_u8(s as u8), Some(s));
        }
        assert_eq!(UdpState::from_u8(0), None);
        assert_eq!(Open.name(), "OPEN");
        assert_eq!(Ready.name(), "READY");
    }
}
