//! Why a frame was not tracked, or was rejected by session management.
//!
//! Every drop in sessmgr has exactly one reason and one counter (house rule: no silent
//! drop). Parser reasons come from `proto::wire` and `proto::frag`; state-machine reasons
//! come from the protocol files; table reasons from `table::shard`. The operator sees the
//! snake_case names (`replay` summary, later the console).

/// Declares the enum, its snake_case names and its count in one place so a new reason can
/// never be added without a name and a counter slot.
macro_rules! drop_reasons {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum DropReason {
            $( $(#[$doc])* $variant, )*
        }

        impl DropReason {
            /// Every reason, in declaration order (index = `self as usize`).
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];
            pub const COUNT: usize = Self::ALL.len();

            /// The operator-facing name.
            pub const fn name(self) -> &'static str {
                match self { $(DropReason::$variant => $name,)* }
            }
        }
    };
}

drop_reasons! {
    // ---- link layer ----
    /// Frame shorter than its link-layer header.
    TruncatedLinkHeader => "truncated_link_header",
    /// More VLAN tags than we follow (QinQ = 2 is supported, we allow up to 4).
    TooManyVlanTags => "too_many_vlan_tags",
    /// Link type of the capture is not one we decode.
    UnsupportedLinkType => "unsupported_link_type",

    // ---- IPv4 ----
    TruncatedIpv4Header => "truncated_ipv4_header",
    BadIpVersion => "bad_ip_version",
    BadIpv4HeaderLength => "bad_ipv4_header_length",
    /// Total length smaller than the header, or larger than the frame.
    BadIpv4TotalLength => "bad_ipv4_total_length",
    BadIpv4Options => "bad_ipv4_options",

    // ---- IPv6 ----
    TruncatedIpv6Header => "truncated_ipv6_header",
    BadIpv6PayloadLength => "bad_ipv6_payload_length",
    TruncatedIpv6ExtensionHeader => "truncated_ipv6_extension_header",
    /// The extension header chain is longer than we are willing to walk.
    Ipv6ExtensionChainTooLong => "ipv6_extension_chain_too_long",

    // ---- fragments (proto::frag) ----
    FragmentTooShort => "fragment_too_short",
    /// Fragment offset + length beyond 65535.
    FragmentTooLarge => "fragment_too_large",
    /// A fragment the capture cut short (`tcpdump -s`): its data is not whole, so it cannot
    /// be reassembled.
    FragmentCutByCapture => "fragment_cut_by_capture",
    /// A fragment overlapping data already held (RFC 5722 for IPv6; treated alike for IPv4),
    /// teardrop pairs and same-range copies with other bytes included: each fragment of the
    /// datagram.
    FragmentOverlap => "fragment_overlap",
    /// Non-final fragment whose length is not a multiple of 8.
    FragmentBadLength => "fragment_bad_length",
    /// A fragment that does not fit in its family's reassembly pool even after the oldest
    /// datagrams were evicted (only a datagram larger than the pool itself); its datagram is
    /// dropped with it.
    FragmentPoolFull => "fragment_pool_full",
    /// A datagram not completed within the reassembly timeout: each of its fragments.
    FragmentTimeout => "fragment_timeout",
    /// Fragments disagreeing on where the datagram ends (two different ends, data past the
    /// end): each fragment of the datagram.
    FragmentInconsistent => "fragment_inconsistent",
    /// Held fragments of the oldest incomplete datagrams, evicted to make room when their
    /// family's reassembly pool reached its high threshold (down to its low threshold).
    FragmentEvicted => "fragment_evicted",
    /// A source (IPv4 address, IPv6 /64) holding its whole share of the reassembly pool: the
    /// fragments of its own oldest datagrams, evicted to make room for its new ones.
    FragmentSourceShare => "fragment_source_share",
    /// A fragment whose datagram was dropped: held until the verdict that dropped it (the
    /// fragment that completed it counts the verdict's own reason), or arriving later, within
    /// the reassembly timeout (after a verdict, an overlap, an inconsistency or an eviction).
    FragmentDatagramDropped => "fragment_datagram_dropped",

    // ---- transport headers ----
    TruncatedTcpHeader => "truncated_tcp_header",
    BadTcpDataOffset => "bad_tcp_data_offset",
    BadTcpOptions => "bad_tcp_options",
    TruncatedUdpHeader => "truncated_udp_header",
    BadUdpLength => "bad_udp_length",
    BadUdpLiteChecksumCoverage => "bad_udplite_checksum_coverage",
    TruncatedIcmpHeader => "truncated_icmp_header",
    TruncatedSctpHeader => "truncated_sctp_header",
    /// A chunk with a length < 4 or running past the packet.
    BadSctpChunk => "bad_sctp_chunk",
    TruncatedDccpHeader => "truncated_dccp_header",
    BadDccpHeader => "bad_dccp_header",
    /// The packet quoted inside an ICMP error is unreadable.
    BadIcmpErrorQuote => "bad_icmp_error_quote",

    // ---- session management (state machines and table) ----
    /// ICMP error quoting a packet of no known session (S3: never a new session).
    IcmpErrorNoSession => "icmp_error_no_session",
    /// ICMP message type that neither starts nor belongs to a session (e.g. a lone echo reply).
    IcmpUnexpectedType => "icmp_unexpected_type",
    /// TCP flag combination that no valid segment carries (RFC 9293 §3.1; nf_conntrack tcp_valid_flags).
    TcpInvalidFlags => "tcp_invalid_flags",
    /// Bidirectional mode (S6): the first packet of a TCP session must be a SYN.
    TcpNotSynFirst => "tcp_not_syn_first",
    /// Segment outside the tracked window (sequence, ack or window checks).
    TcpOutOfWindow => "tcp_out_of_window",
    /// The state table says this segment is invalid in the current state.
    TcpInvalidInState => "tcp_invalid_in_state",
    /// RST whose sequence number is not the expected one (RFC 5961 §3.2).
    TcpRstOutOfWindow => "tcp_rst_out_of_window",
    /// SCTP packet that cannot start an association (only INIT may, RFC 9260 §5.1).
    SctpNotInitFirst => "sctp_not_init_first",
    /// SCTP verification tag does not match the association (RFC 9260 §8.5).
    SctpBadVerificationTag => "sctp_bad_verification_tag",
    /// SCTP chunk bundling that RFC 9260 forbids (INIT, INIT ACK, SHUTDOWN COMPLETE not alone).
    SctpInvalidChunks => "sctp_invalid_chunks",
    SctpInvalidInState => "sctp_invalid_in_state",
    /// DCCP packet that cannot start a connection (only Request may, RFC 4340 §8.1).
    DccpNotRequestFirst => "dccp_not_request_first",
    DccpInvalidInState => "dccp_invalid_in_state",
    DccpBadAck => "dccp_bad_ack",
    /// A packet whose transport does not match its session's machine (the canonical key holds
    /// the protocol, so this marks an engine fault, refused rather than misread).
    ProtocolMismatch => "protocol_mismatch",
    /// S8: the session table is at capacity; existing sessions are never evicted.
    TableFull => "table_full",
    /// A packet that would create a session was denied by the interface's packet filter
    /// (`packet-filter ACL {inbound|outbound}`, session-based).
    PacketFilterDeny => "packet_filter_deny",
    /// A frame for a flow another core owns could not be handed over (its mailbox was full).
    HandoverQueueFull => "handover_queue_full",
    /// A frame reaching the standby engine of a failover pair (`remote-backup group`, H1):
    /// the standby forwards nothing while its active peer lives (a transparent pair would
    /// otherwise loop).
    StandbyNotForwarding => "standby_not_forwarding",
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One counter per drop reason. Kept per core; summed on read.
#[derive(Debug, Clone)]
pub struct DropCounters {
    counts: [u64; DropReason::COUNT],
}

impl Default for DropCounters {
    fn default() -> Self {
        Self {
            counts: [0; DropReason::COUNT],
        }
    }
}

impl DropCounters {
    #[inline]
    pub fn count(&mut self, reason: DropReason) {
        self.counts[reason as usize] += 1;
    }

    /// `n` drops for `reason` at once.
    #[inline]
    pub fn add(&mut self, reason: DropReason, n: u64) {
        self.counts[reason as usize] += n;
    }

    pub fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason as usize]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Reasons with a non-zero count, in declaration order.
    pub fn nonzero(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|&r| (r, self.counts[r as usize]))
            .filter(|&(_, n)| n > 0)
    }

    pub fn merge(&mut self, other: &DropCounters) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += *b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for r in DropReason::ALL {
            assert!(seen.insert(r.name()), "duplicate name {}", r.name());
            assert!(
                r.name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            );
        }
    }

    #[test]
    fn counters_count_per_reason() {
        let mut c = DropCounters::default();
        c.count(DropReason::TableFull);
        c.count(DropReason::TableFull);
        c.count(DropReason::TcpOutOfWindow);
        assert_eq!(c.get(DropReason::TableFull), 2);
        assert_eq!(c.total(), 3);
        assert_eq!(c.nonzero().count(), 2);
    }
}
