//! The aging buckets of `session aging-time state` (comware.md §4.1, §4.2; SPEC A1): every
//! protocol state ages by one of them (the protocol descriptors in `proto` say which).

macro_rules! aging_states {
    ($( $variant:ident, $keyword:literal, $display:literal, $default:literal; )*) => {
        /// The aging buckets of `session aging-time state` (comware.md §4.1, §4.2).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum AgingState { $( $variant, )* }

        impl AgingState {
            pub const ALL: &'static [AgingState] = &[$(AgingState::$variant,)*];
            pub const COUNT: usize = Self::ALL.len();
            /// Keyword of `session aging-time state KEYWORD`.
            pub const fn keyword(self) -> &'static str { match self { $(AgingState::$variant => $keyword,)* } }
            /// Row label of `display session aging-time state`.
            pub const fn display(self) -> &'static str { match self { $(AgingState::$variant => $display,)* } }
            /// SPEC A1 default in seconds.
            pub const fn default_s(self) -> u32 { match self { $(AgingState::$variant => $default,)* } }
        }
    };
}

// Order and defaults: comware.md §4.1 (router-class V7 defaults), SPEC A1.
aging_states! {
    Syn, "syn", "SYN", 30;
    TcpEst, "tcp-est", "TCP-EST", 3600;
    Fin, "fin", "FIN", 30;
    UdpOpen, "udp-open", "UDP-OPEN", 30;
    UdpReady, "udp-ready", "UDP-READY", 60;
    IcmpRequest, "icmp-request", "ICMP-REQUEST", 60;
    IcmpReply, "icmp-reply", "ICMP-REPLY", 30;
    RawipOpen, "rawip-open", "RAWIP-OPEN", 30;
    RawipReady, "rawip-ready", "RAWIP-READY", 60;
    UdpliteOpen, "udplite-open", "UDPLITE-OPEN", 30;
    UdpliteReady, "udplite-ready", "UDPLITE-READY", 60;
    DccpRequest, "dccp-request", "DCCP-REQUEST", 30;
    DccpEst, "dccp-est", "DCCP-EST", 3600;
    DccpCloseReq, "dccp-closereq", "DCCP-CLOSEREQ", 30;
    SctpInit, "sctp-init", "SCTP-INIT", 30;
    SctpEst, "sctp-est", "SCTP-EST", 3600;
    SctpShutdown, "sctp-shutdown", "SCTP-SHUTDOWN", 30;
    Icmpv6Request, "icmpv6-request", "ICMPV6-REQUEST", 60;
    Icmpv6Reply, "icmpv6-reply", "ICMPV6-REPLY", 30;
    TcpTimeWait, "tcp-time-wait", "TCP-TIME-WAIT", 2;
    TcpClose, "tcp-close", "TCP-CLOSE", 2;
}

impl AgingState {
    pub fn by_keyword(kw: &str) -> Option<AgingState> {
        Self::ALL
            .iter()
            .copied()
            .find(|s| s.keyword().eq_ignore_ascii_case(kw))
    }
}
