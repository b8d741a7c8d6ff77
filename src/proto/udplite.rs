//! UDP-Lite session states (SPEC S2: `OPEN READY`).
//!
//! UDP-Lite (RFC 3828) differs from UDP only in checksum coverage, which `wire` validates;
//! its flows open and become ready exactly like UDP's, so it shares UDP's machine. The
//! aging buckets differ (`UDPLITE-OPEN`, `UDPLITE-READY`, see `table::aging`).

pub use super::udp::UdpState as UdpLiteState;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::key::Direction;

    #[test]
    fn behaves_as_udp() {
        assert_eq!(
            UdpLiteState::new_flow().next(Direction::Orig),
            UdpLiteState::Open
        );
        assert_eq!(
            UdpLiteState::Open.next(Direction::Reply),
            UdpLiteState::Ready
        );
    }
}
