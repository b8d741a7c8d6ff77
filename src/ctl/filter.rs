//! Which sessions a `display/reset session table` or `display session statistics` command
//! selects (SPEC S9). Evaluated by each core on its own shard.

use super::tree::{Protocol, SessionFilter};
use crate::proto::key::addr_to_ip;
use crate::proto::wire::{Family, ipproto};
use crate::table::Session;
use std::net::IpAddr;

impl Protocol {
    /// Does a session of IP protocol `proto` belong to this keyword?
    pub fn covers(self, proto: u8) -> bool {
        match self {
            Protocol::Dccp => proto == ipproto::DCCP,
            Protocol::Icmp => proto == ipproto::ICMP,
            Protocol::Icmpv6 => proto == ipproto::ICMPV6,
            Protocol::Sctp => proto == ipproto::SCTP,
            Protocol::Tcp => proto == ipproto::TCP,
            Protocol::Udp => proto == ipproto::UDP,
            Protocol::UdpLite => proto == ipproto::UDPLITE,
            Protocol::RawIp => !matches!(
                proto,
                ipproto::DCCP
                    | ipproto::ICMP
                    | ipproto::ICMPV6
                    | ipproto::SCTP
                    | ipproto::TCP
                    | ipproto::UDP
                    | ipproto::UDPLITE
            ),
        }
    }
}

fn in_range(ip: IpAddr, range: &(IpAddr, Option<IpAddr>)) -> bool {
    match (range.0, range.1) {
        (a, None) => ip == a,
        (IpAddr::V4(a), Some(IpAddr::V4(b))) => matches!(ip, IpAddr::V4(x) if a <= x && x <= b),
        (IpAddr::V6(a), Some(IpAddr::V6(b))) => matches!(ip, IpAddr::V6(x) if a <= x && x <= b),
        _ => false,
    }
}

/// Whether `s` is selected by `f` (and, when given, belongs to `family`). The address and
/// port filters read the initiator's tuple, or the responder's with `responder`.
pub fn selects(f: &SessionFilter, family: Option<Family>, s: &Session) -> bool {
    let orig = s.orig_key();
    if family.is_some_and(|fam| fam != orig.family) {
        return false;
    }
    let t = if f.responder { orig.reversed() } else { orig };
    let has_ports = matches!(
        t.proto,
        ipproto::TCP | ipproto::UDP | ipproto::UDPLITE | ipproto::SCTP | ipproto::DCCP
    );
    f.source_ip.as_ref().is_none_or(|r| in_range(addr_to_ip(t.family, &t.src), r))
        && f.destination_ip.as_ref().is_none_or(|r| in_range(addr_to_ip(t.family, &t.dst), r))
        && f.protocol.is_none_or(|p| p.covers(t.proto))
        && f.source_port.is_none_or(|p| has_ports && t.sport == p)
        && f.destination_port.is_none_or(|p| has_ports && t.dport == p)
        && f.application.is_none_or(|a| s.app == a)
        && f.state.is_none_or(|st| st.protocol.covers(t.proto) && s.state == st.state)
        // Every session is in the public network today (no VPN instances are configured).
        && f.vpn_instance.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::tree::StateFilter;
    use crate::proto::key::FlowKey;
    use crate::table::session::{DirCounters, L4Track, flag};

    fn session(
        src: [u8; 4],
        sport: u16,
        dst: [u8; 4],
        dport: u16,
        proto: u8,
        state: u8,
        app: u8,
    ) -> Session {
        let mut s16 = [0u8; 16];
        let mut d16 = [0u8; 16];
        s16[..4].copy_from_slice(&src);
        d16[..4].copy_from_slice(&dst);
        let key = FlowKey {
            src: s16,
            dst: d16,
            sport,
            dport,
            proto,
            family: Family::V4,
            vpn: 0,
        };
        let (canon, swapped) = key.canonical();
        Session {
            key: canon,
            last_seen_ms: 0,
            persist_hours: 0,
            state,
            app,
            flags: flag::LIVE | if swapped { flag::ORIG_SWAPPED } else { 0 },
            l4: L4Track::None,
            counters: [DirCounters::default(); 2],
        }
    }

    #[test]
    fn filters_select_as_documented() {
        let s = session(
            [198, 18, 0, 5],
            40000,
            [198, 18, 1, 1],
            80,
            ipproto::TCP,
            3,
            0,
        );
        let any = SessionFilter::default();
        assert!(selects(&any, None, &s));
        assert!(selects(&any, Some(Family::V4), &s));
        assert!(!selects(&any, Some(Family::V6), &s));
        let ip = |a: [u8; 4]| IpAddr::from(a);
        let f = SessionFilter {
            source_ip: Some((ip([198, 18, 0, 1]), Some(ip([198, 18, 0, 9])))),
            ..Default::default()
        };
        assert!(selects(&f, None, &s));
        let f = SessionFilter {
            source_ip: Some((ip([198, 18, 0, 6]), None)),
            ..Default::default()
        };
        assert!(!selects(&f, None, &s));
        let f = SessionFilter {
            destination_port: Some(80),
            protocol: Some(Protocol::Tcp),
            ..Default::default()
        };
        assert!(selects(&f, None, &s));
        let f = SessionFilter {
            destination_port: Some(80),
            protocol: Some(Protocol::Udp),
            ..Default::default()
        };
        assert!(!selects(&f, None, &s));
        // The responder's tuple: its source is the server.
        let f = SessionFilter {
            source_port: Some(80),
            responder: true,
            ..Default::default()
        };
        assert!(selects(&f, None, &s));
        let f = SessionFilter {
            state: StateFilter::by_keyword("tcp-established"),
            ..Default::default()
        };
        assert!(selects(&f, None, &s));
        let f = SessionFilter {
            state: StateFilter::by_keyword("tcp-syn-sent"),
            ..Default::default()
        };
        assert!(!selects(&f, None, &s));
        let f = SessionFilter {
            vpn_instance: Some("red".into()),
            ..Default::default()
        };
        assert!(!selects(&f, None, &s));
        assert!(Protocol::RawIp.covers(47));
        assert!(!Protocol::RawIp.covers(ipproto::TCP));
    }
}
