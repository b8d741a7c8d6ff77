//! Pure packet and protocol logic: no threads, no I/O, time passed in.
//!
//! One [`Descriptor`] per session-management protocol says everything the rest of the engine
//! needs to know about it: its names (console keyword, `Protocol:` name, statistics label,
//! the prefix of its Comware state text), its states with their console keywords and aging
//! keys, its stable state (where application and persistent aging apply, SPEC A2/A4), and the
//! two functions that run its state machine (`first` for a session's first packet, `next` for
//! every later one). The table, aging, the census, the console and replay read the
//! descriptor instead of matching on protocol numbers.

pub mod aging_key;
pub mod dccp;
pub mod frag;
pub mod gre;
pub mod icmp;
pub mod key;
pub mod rawip;
pub mod sctp;
pub mod tcp;
pub mod udp;
pub mod udplite;
pub mod wire;

pub use aging_key::AgingState;

use crate::drop::DropReason;
use key::{Direction, FlowKey};
use tcp::TcpPolicy;
use wire::{Family, Packet, ipproto};

/// The session-management protocols: every IP protocol is exactly one of them (anything
/// without a machine of its own is raw IP). The order is the one `display session statistics`
/// lists them in (comware.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    UdpLite,
    Sctp,
    Dccp,
    RawIp,
}

impl Protocol {
    pub const ALL: [Protocol; 8] = [
        Protocol::Tcp,
        Protocol::Udp,
        Protocol::Icmp,
        Protocol::Icmpv6,
        Protocol::UdpLite,
        Protocol::Sctp,
        Protocol::Dccp,
        Protocol::RawIp,
    ];
    pub const COUNT: usize = Self::ALL.len();

    /// The protocol a session of IP protocol `proto` belongs to.
    #[inline]
    pub const fn of(proto: u8) -> Protocol {
        match proto {
            ipproto::TCP => Protocol::Tcp,
            ipproto::UDP => Protocol::Udp,
            ipproto::ICMP => Protocol::Icmp,
            ipproto::ICMPV6 => Protocol::Icmpv6,
            ipproto::UDPLITE => Protocol::UdpLite,
            ipproto::SCTP => Protocol::Sctp,
            ipproto::DCCP => Protocol::Dccp,
            _ => Protocol::RawIp,
        }
    }

    #[inline]
    pub fn descriptor(self) -> &'static Descriptor {
        &DESCRIPTORS[self as usize]
    }

    /// The aging bucket of one of its states (`AGING_KEYS`).
    #[inline]
    pub const fn aging_key(self, state: u8) -> AgingState {
        // Slot 0 holds the fallback (no state is numbered 0).
        let slot = if (state as usize) < STATE_SLOTS {
            state as usize
        } else {
            0
        };
        AGING_KEYS[self as usize][slot]
    }

    /// Whether `state` is its stable state (`STABLE_STATES`).
    #[inline]
    pub const fn is_stable(self, state: u8) -> bool {
        state != 0 && STABLE_STATES[self as usize] == state
    }

    /// The console keyword (`protocol tcp`, `protocol raw-ip`).
    pub fn keyword(self) -> &'static str {
        self.descriptor().keyword
    }

    pub fn by_keyword(kw: &str) -> Option<Protocol> {
        Self::ALL.into_iter().find(|p| p.keyword() == kw)
    }

    /// Whether a session of IP protocol `proto` is of this protocol.
    #[inline]
    pub const fn covers(self, proto: u8) -> bool {
        Protocol::of(proto) as u8 == self as u8
    }

    /// Whether sessions of this protocol exist in `family` (ICMP is IPv4's, ICMPv6 IPv6's).
    pub fn of_family(self, family: Family) -> bool {
        self.descriptor().family.is_none_or(|f| f == family)
    }
}

/// The descriptor of the protocol of IP protocol number `proto`.
#[inline]
pub fn descriptor(proto: u8) -> &'static Descriptor {
    Protocol::of(proto).descriptor()
}

/// One state of a protocol's machine.
#[derive(Debug, Clone, Copy)]
pub struct StateInfo {
    /// The engine's name (SPEC S2; `/proc/net/nf_conntrack`'s spelling): `ESTABLISHED`.
    pub name: &'static str,
    /// Keyword of the console's `state` filter (`tcp-established`); `None` for a state
    /// Comware does not list (SCTP's HEARTBEAT_SENT): it is counted in totals only.
    pub keyword: Option<&'static str>,
    /// The `session aging-time state` bucket sessions in this state age by.
    pub aging: AgingState,
}

/// What a protocol's machine decided about a packet of a known session (every machine
/// answers with it: `tcp_packet`, `sctp_packet`, `dccp_packet` and the descriptors' `next`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Accepted; the state may have changed.
    Accept,
    /// Accepted, then the session ends at once (the kernel's nf_ct_kill after an RST while no
    /// reply has been seen, e.g. an RST answering an unanswered SYN).
    AcceptThenClose,
    /// Rejected (nf_conntrack returns -NF_ACCEPT: ct state "invalid"). The state is unchanged;
    /// the tracking data keeps the few side effects the kernel also keeps.
    Invalid(DropReason),
    /// The packet starts a new connection on the tuple (TCP TIME_WAIT/CLOSE reuse, RFC 9293
    /// §3.10.7.4 / RFC 1122 §4.2.2.13; a DCCP Request in TIMEWAIT, RFC 4340 §8.1.1): delete the
    /// session and process the packet again as a first packet (kernel -NF_REPEAT). Nothing
    /// was changed.
    Reopen,
}

/// Per-session tracking state beyond the state number (what the machine remembers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4Track {
    /// UDP, UDP-Lite, ICMP, raw IP: the state number says everything.
    None,
    Tcp(tcp::TcpTrack),
    Sctp(sctp::SctpTrack),
    Dccp(dccp::DccpTrack),
}

/// Tracking data as the compact session record stores it: ten words, whose kind the
/// session's protocol says (no discriminant: it would not fit the record's one cache line).
pub type TrackWords = [u32; 10];

impl L4Track {
    /// The words `from_words` reads back (for the protocol whose track this is).
    #[inline]
    pub fn to_words(&self) -> TrackWords {
        match self {
            L4Track::None => [0; 10],
            L4Track::Tcp(t) => t.to_words(),
            L4Track::Sctp(t) => t.to_words(),
            L4Track::Dccp(t) => t.to_words(),
        }
    }

    /// The tracking data of a session of protocol `proto` stored as `w`. Every protocol's
    /// first-packet function makes the kind this returns (TCP, SCTP, DCCP keep data; the
    /// others keep none), so the round trip is exact.
    #[inline]
    pub fn from_words(proto: u8, w: &TrackWords) -> L4Track {
        match proto {
            ipproto::TCP => L4Track::Tcp(tcp::TcpTrack::from_words(w)),
            ipproto::SCTP => L4Track::Sctp(sctp::SctpTrack::from_words(w)),
            ipproto::DCCP => L4Track::Dccp(dccp::DccpTrack::from_words(w)),
            _ => L4Track::None,
        }
    }
}

/// A session's first packet: its state and tracking data, or why it may not start one.
pub type FirstFn = fn(&Packet<'_>, &FlowKey, &TcpPolicy) -> Result<(u8, L4Track), DropReason>;

/// A later packet travelling in a direction, given whether the responder has answered yet:
/// updates the state number and tracking data in place.
pub type NextFn = fn(&mut u8, &mut L4Track, Direction, &Packet<'_>, bool, &TcpPolicy) -> Step;

/// Everything the engine knows about one protocol.
#[derive(Debug)]
pub struct Descriptor {
    pub protocol: Protocol,
    /// Console keyword: `tcp`, `udp-lite`, `raw-ip` (comware.md §2.1).
    pub keyword: &'static str,
    /// Help text of the keyword.
    pub help: &'static str,
    /// Short name in replay output and summaries: `tcp`, `udplite`, `rawip`.
    pub short: &'static str,
    /// `Protocol:` line of `display session table` (comware.md §2.4): `TCP`, `IPV6-ICMP`.
    pub display: &'static str,
    /// Label of `display session statistics` (§3.2): `TCP`, `ICMPv6`, `UDP-Lite`.
    pub label: &'static str,
    /// Prefix of the state text in the session table (§4.3): `TCP` + `_ESTABLISHED`.
    pub state_prefix: &'static str,
    /// Prefix of the state rows of the statistics (§3.2: the ICMPv6 group reuses `ICMP`).
    pub stat_prefix: &'static str,
    /// The only family the protocol exists in, if it is bound to one.
    pub family: Option<Family>,
    /// State `n` is `states[n - 1]` (state numbers start at 1, as the kernel's after NONE).
    pub states: &'static [StateInfo],
    /// The bucket of a state number the table does not know (never set by a machine).
    pub fallback_aging: AgingState,
    /// The stable state, where application and persistent aging apply (SPEC A2, A4).
    pub stable: Option<u8>,
    pub first: FirstFn,
    pub next: NextFn,
}

impl Descriptor {
    pub fn state(&self, state: u8) -> Option<&'static StateInfo> {
        self.states.get(usize::from(state).checked_sub(1)?)
    }

    /// The engine's state name, `-` for a number the machine never sets.
    pub fn state_name(&self, state: u8) -> &'static str {
        self.state(state).map_or("-", |s| s.name)
    }

    /// The aging bucket of a state.
    #[inline]
    pub fn aging_key(&self, state: u8) -> AgingState {
        self.state(state).map_or(self.fallback_aging, |s| s.aging)
    }

    /// The listed states (Comware's rows), with their numbers.
    pub fn listed_states(&self) -> impl Iterator<Item = (u8, &'static StateInfo)> + '_ {
        self.states
            .iter()
            .enumerate()
            .filter(|(_, s)| s.keyword.is_some())
            .map(|(i, s)| (i as u8 + 1, s))
    }
}

const fn st(name: &'static str, keyword: &'static str, aging: AgingState) -> StateInfo {
    StateInfo {
        name,
        keyword: Some(keyword),
        aging,
    }
}

use AgingState as A;

/// Indexed by `Protocol as usize`.
pub static DESCRIPTORS: [Descriptor; Protocol::COUNT] = TABLE;

/// State numbers the lookup tables below cover (every machine's states are below it).
pub const STATE_SLOTS: usize = 16;

/// The aging bucket of every (protocol, state number), computed from the descriptors at
/// compile time: the packet path's aging check is two array reads.
pub const AGING_KEYS: [[AgingState; STATE_SLOTS]; Protocol::COUNT] = {
    let mut t = [[AgingState::Syn; STATE_SLOTS]; Protocol::COUNT];
    let mut p = 0;
    while p < Protocol::COUNT {
        let d = &TABLE[p];
        let mut st = 0;
        while st < STATE_SLOTS {
            t[p][st] = if st >= 1 && st - 1 < d.states.len() {
                d.states[st - 1].aging
            } else {
                d.fallback_aging
            };
            st += 1;
        }
        p += 1;
    }
    t
};

/// Each protocol's stable state, or 0 (no state is numbered 0).
pub const STABLE_STATES: [u8; Protocol::COUNT] = {
    let mut t = [0u8; Protocol::COUNT];
    let mut p = 0;
    while p < Protocol::COUNT {
        if let Some(s) = TABLE[p].stable {
            t[p] = s;
        }
        p += 1;
    }
    t
};

const _: () = assert!(MAX_STATES < STATE_SLOTS);

const TABLE: [Descriptor; Protocol::COUNT] = [
    Descriptor {
        protocol: Protocol::Tcp,
        keyword: "tcp",
        help: "TCP sessions",
        short: "tcp",
        display: "TCP",
        label: "TCP",
        state_prefix: "TCP",
        stat_prefix: "TCP",
        family: None,
        // `tcp::TcpState` order (the kernel's `enum tcp_conntrack`).
        states: &[
            st("SYN_SENT", "tcp-syn-sent", A::Syn),
            st("SYN_RECV", "tcp-syn-recv", A::Syn),
            st("ESTABLISHED", "tcp-established", A::TcpEst),
            st("FIN_WAIT", "tcp-fin-wait", A::Fin),
            st("CLOSE_WAIT", "tcp-close-wait", A::Fin),
            st("LAST_ACK", "tcp-last-ack", A::Fin),
            st("TIME_WAIT", "tcp-time-wait", A::TcpTimeWait),
            st("CLOSE", "tcp-close", A::TcpClose),
            st("SYN_SENT2", "tcp-syn-sent2", A::Syn),
        ],
        fallback_aging: A::Syn,
        stable: Some(tcp::TcpState::Established as u8),
        first: tcp::first,
        next: tcp::next,
    },
    Descriptor {
        protocol: Protocol::Udp,
        keyword: "udp",
        help: "UDP sessions",
        short: "udp",
        display: "UDP",
        label: "UDP",
        state_prefix: "UDP",
        stat_prefix: "UDP",
        family: None,
        states: &[
            st("OPEN", "udp-open", A::UdpOpen),
            st("READY", "udp-ready", A::UdpReady),
        ],
        fallback_aging: A::UdpOpen,
        stable: Some(udp::UdpState::Ready as u8),
        first: udp::first,
        next: udp::next,
    },
    Descriptor {
        protocol: Protocol::Icmp,
        keyword: "icmp",
        help: "ICMP sessions",
        short: "icmp",
        display: "ICMP",
        label: "ICMP",
        state_prefix: "ICMP",
        stat_prefix: "ICMP",
        family: Some(Family::V4),
        states: &[
            st("REQUEST", "icmp-request", A::IcmpRequest),
            st("REPLY", "icmp-reply", A::IcmpReply),
        ],
        fallback_aging: A::IcmpRequest,
        stable: None,
        first: icmp::first,
        next: icmp::next,
    },
    Descriptor {
        protocol: Protocol::Icmpv6,
        keyword: "icmpv6",
        help: "ICMPv6 sessions",
        short: "icmpv6",
        display: "IPV6-ICMP",
        label: "ICMPv6",
        state_prefix: "ICMPV6",
        stat_prefix: "ICMP",
        family: Some(Family::V6),
        states: &[
            st("REQUEST", "icmpv6-request", A::Icmpv6Request),
            st("REPLY", "icmpv6-reply", A::Icmpv6Reply),
        ],
        fallback_aging: A::Icmpv6Request,
        stable: None,
        first: icmp::first,
        next: icmp::next,
    },
    Descriptor {
        protocol: Protocol::UdpLite,
        keyword: "udp-lite",
        help: "UDP-Lite sessions",
        short: "udplite",
        display: "UDP-Lite",
        label: "UDP-Lite",
        state_prefix: "UDPLITE",
        stat_prefix: "UDPLITE",
        family: None,
        states: &[
            st("OPEN", "udplite-open", A::UdpliteOpen),
            st("READY", "udplite-ready", A::UdpliteReady),
        ],
        fallback_aging: A::UdpliteOpen,
        stable: None,
        first: udp::first,
        next: udp::next,
    },
    Descriptor {
        protocol: Protocol::Sctp,
        keyword: "sctp",
        help: "SCTP sessions",
        short: "sctp",
        display: "SCTP",
        label: "SCTP",
        state_prefix: "SCTP",
        stat_prefix: "SCTP",
        family: None,
        // `sctp::SctpState` order.
        states: &[
            st("CLOSED", "sctp-closed", A::SctpShutdown),
            st("COOKIE_WAIT", "sctp-cookie-wait", A::SctpInit),
            st("COOKIE_ECHOED", "sctp-cookie-echoed", A::SctpInit),
            st("ESTABLISHED", "sctp-established", A::SctpEst),
            st("SHUTDOWN_SENT", "sctp-shutdown-sent", A::SctpShutdown),
            st("SHUTDOWN_RECD", "sctp-shutdown-recd", A::SctpShutdown),
            st(
                "SHUTDOWN_ACK_SENT",
                "sctp-shutdown-ack-sent",
                A::SctpShutdown,
            ),
            // The kernel's state for a path picked up by a HEARTBEAT (sctp.rs): not a Comware
            // row, so no keyword; it ages as an association being set up.
            StateInfo {
                name: "HEARTBEAT_SENT",
                keyword: None,
                aging: A::SctpInit,
            },
        ],
        fallback_aging: A::SctpShutdown,
        stable: None,
        first: sctp::first,
        next: sctp::next,
    },
    Descriptor {
        protocol: Protocol::Dccp,
        keyword: "dccp",
        help: "DCCP sessions",
        short: "dccp",
        display: "DCCP",
        label: "DCCP",
        state_prefix: "DCCP",
        stat_prefix: "DCCP",
        family: None,
        // `dccp::DccpState` order.
        states: &[
            st("REQUEST", "dccp-request", A::DccpRequest),
            st("RESPOND", "dccp-respond", A::DccpRequest),
            st("PARTOPEN", "dccp-partopen", A::DccpRequest),
            st("OPEN", "dccp-open", A::DccpEst),
            st("CLOSEREQ", "dccp-closereq", A::DccpCloseReq),
            st("CLOSING", "dccp-closing", A::DccpCloseReq),
            st("TIMEWAIT", "dccp-timewait", A::DccpCloseReq),
        ],
        fallback_aging: A::DccpCloseReq,
        stable: None,
        first: dccp::first,
        next: dccp::next,
    },
    Descriptor {
        protocol: Protocol::RawIp,
        keyword: "raw-ip",
        help: "Raw IP sessions",
        short: "rawip",
        display: "RAWIP",
        label: "RAWIP",
        state_prefix: "RAWIP",
        stat_prefix: "RAWIP",
        family: None,
        states: &[
            st("OPEN", "rawip-open", A::RawipOpen),
            st("READY", "rawip-ready", A::RawipReady),
        ],
        fallback_aging: A::RawipOpen,
        // Answered raw IP sessions take their application's aging (A2): only sessions an
        // ALG related have one, PPTP's enhanced GRE (`proto::gre`) its PPTP 3600 s; the
        // others are `OTHER` and keep RAWIP-READY.
        stable: Some(udp::UdpState::Ready as u8),
        first: udp::first,
        next: udp::next,
    },
];

/// Most states any protocol has (TCP's nine).
pub const MAX_STATES: usize = {
    let mut max = 0;
    let mut i = 0;
    while i < TABLE.len() {
        if TABLE[i].states.len() > max {
            max = TABLE[i].states.len();
        }
        i += 1;
    }
    max
};

/// The engine's name of a state of IP protocol `proto` (`-` when unknown).
pub fn state_name(proto: u8, state: u8) -> &'static str {
    descriptor(proto).state_name(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_are_in_protocol_order_and_agree_with_the_machines() {
        for (i, d) in DESCRIPTORS.iter().enumerate() {
            assert_eq!(d.protocol as usize, i);
            assert_eq!(Protocol::by_keyword(d.keyword), Some(d.protocol));
        }
        for s in tcp::TcpState::ALL {
            assert_eq!(state_name(ipproto::TCP, s as u8), s.name());
        }
        for s in sctp::SctpState::ALL {
            assert_eq!(state_name(ipproto::SCTP, s as u8), s.name());
        }
        for s in dccp::DccpState::ALL {
            assert_eq!(state_name(ipproto::DCCP, s as u8), s.name());
        }
        for s in udp::UdpState::ALL {
            assert_eq!(state_name(ipproto::UDP, s as u8), s.name());
            assert_eq!(state_name(47, s as u8), s.name());
        }
        for s in icmp::IcmpState::ALL {
            assert_eq!(state_name(ipproto::ICMPV6, s as u8), s.name());
        }
        assert_eq!(state_name(ipproto::TCP, 0), "-");
        assert_eq!(MAX_STATES, 9);
    }

    #[test]
    fn every_listed_state_keyword_is_prefixed_by_its_protocol() {
        for d in &DESCRIPTORS {
            for (_, s) in d.listed_states() {
                let kw = s.keyword.unwrap_or_default();
                let want = format!(
                    "{}-{}",
                    d.state_prefix.to_lowercase(),
                    s.name.to_lowercase().replace('_', "-")
                );
                assert_eq!(kw, want);
            }
        }
    }

    #[test]
    fn aging_keys_follow_comware() {
        let t = descriptor(ipproto::TCP);
        assert_eq!(t.aging_key(tcp::TcpState::Established as u8), A::TcpEst);
        assert_eq!(t.aging_key(tcp::TcpState::LastAck as u8), A::Fin);
        assert_eq!(t.aging_key(tcp::TcpState::SynSent2 as u8), A::Syn);
        assert_eq!(t.aging_key(0), A::Syn);
        assert_eq!(descriptor(47).aging_key(2), A::RawipReady);
        assert_eq!(
            descriptor(ipproto::SCTP).aging_key(sctp::SctpState::HeartbeatSent as u8),
            A::SctpInit
        );
        assert_eq!(descriptor(ipproto::UDP).stable, Some(2));
        assert_eq!(descriptor(ipproto::UDPLITE).stable, None);
        // The compile-time tables say what the descriptors say.
        for d in &DESCRIPTORS {
            for st in 0..=u8::MAX {
                assert_eq!(
                    d.protocol.aging_key(st),
                    d.aging_key(st),
                    "{:?} {st}",
                    d.protocol
                );
                assert_eq!(d.protocol.is_stable(st), d.stable == Some(st));
            }
        }
    }
}
