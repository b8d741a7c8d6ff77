//! Raw IP session states (SPEC S2: `OPEN READY`) for every IP protocol without a tracker
//! of its own (GRE, ESP, OSPF, ...): tracked by addresses and protocol only, as
//! nf_conntrack's generic tracker does. Same machine as UDP; the aging buckets are
//! `RAWIP-OPEN` and `RAWIP-READY`.

pub use super::udp::UdpState as RawIpState;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::key::Direction;

    #[test]
    fn answered_flow_is_ready() {
        let s = RawIpState::new_flow();
        assert_eq!(s.next(Direction::Orig), RawIpState::Open);
        assert_eq!(s.next(Direction::Reply), RawIpState::Ready);
    }
}
