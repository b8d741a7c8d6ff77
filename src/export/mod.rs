//! Session logs on the wire (SPEC L1-L4, reference/comware.md §11): the formats a collector
//! receives, as pure functions from one log record to bytes, each with golden tests.
//!
//! - `syslog`: the information centre's envelope (§11.1) around `SESSION_IPV4_FLOW` /
//!   `SESSION_IPV6_FLOW` (§11.2); RFC 5424 framing and RFC 6587 octet counting (extensions).
//! - `flowlog`: Comware's binary flow log 3.0 (§11.3): a 16-byte header and up to 100
//!   records of one type per datagram.
//! - `ipfix`: IPFIX (RFC 7011, an extension): templates and biflow data records.
//!
//! Nothing here reads a clock, opens a socket or allocates per record beyond the output buffer
//! it is given: the log actor (issue #12) owns the sockets, the schedules and the counters.
//! Imports: `proto` only (the record is built from a session by whoever owns the session).

pub mod config;
pub mod flowlog;
pub mod ipfix;
pub mod syslog;

use std::net::IpAddr;

/// Why a log is sent: Comware's `Event(1048)` / flow-log `Operator` codes (§11.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowEvent {
    /// (1) The session ended normally (FIN/RST).
    NormalOver,
    /// (2) Aged out.
    AgedOut,
    /// (3) Removed by `reset session table` or a configuration change (also: the end of a
    /// replayed capture, for sessions still alive).
    ResetOrConfig,
    /// (4) Removed for lack of resources.
    NoResource,
    /// (6) A periodic log of a live session (time-active, bytes-active, packets-active).
    ActiveTimeout,
    /// (7) Removed because a new session was created while the table was full (early drop).
    TableFull,
    /// (8) The session was created.
    Created,
    /// (254) Anything else.
    Other,
}

impl FlowEvent {
    /// The code: `Event(1048)=(code)...`, and the flow log's `Operator` byte.
    pub const fn code(self) -> u8 {
        match self {
            FlowEvent::NormalOver => 1,
            FlowEvent::AgedOut => 2,
            FlowEvent::ResetOrConfig => 3,
            FlowEvent::NoResource => 4,
            FlowEvent::ActiveTimeout => 6,
            FlowEvent::TableFull => 7,
            FlowEvent::Created => 8,
            FlowEvent::Other => 254,
        }
    }

    /// The text after the code in `Event(1048)=(code)text` (§11.2's table).
    pub const fn text(self) -> &'static str {
        match self {
            FlowEvent::NormalOver => "Normal over",
            FlowEvent::AgedOut => "Aged for timeout",
            FlowEvent::ResetOrConfig => "Aged for reset or config-change",
            FlowEvent::NoResource => "Aged for no enough resource",
            FlowEvent::ActiveTimeout => "Active data flow timeout",
            FlowEvent::TableFull => {
                "Deleted because a new flow was created while the table was full"
            }
            FlowEvent::Created => "Session created",
            FlowEvent::Other => "Other",
        }
    }
}

/// One session log: what every format carries. Addresses are the initiator's tuple (the
/// engine does no NAT: the NAT fields of each format repeat the real ones, as a Comware box
/// without NAT sends them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRecord<'a> {
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6 ...).
    pub protocol: u8,
    /// The session's application as the session table names it (`HTTP`, `OTHER`, a
    /// user-defined name).
    pub application: &'a str,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
    /// The initiator's direction, then the responder's (zero without `session statistics
    /// enable`).
    pub init_packets: u64,
    pub init_bytes: u64,
    pub reply_packets: u64,
    pub reply_bytes: u64,
    /// When the session was created, milliseconds since the Unix epoch (UTC).
    pub begin_ms: u64,
    /// When it ended (`None` for a creation or an active log).
    pub end_ms: Option<u64>,
    pub event: FlowEvent,
    /// The first packet's IPv4 TOS / IPv6 traffic class.
    pub tos: u8,
    /// Where the first packet came in and where it goes out (the engine's port numbers + 1;
    /// 0 = unknown, as IPFIX's ingressInterface/egressInterface use it).
    pub ingress_interface: u32,
    pub egress_interface: u32,
}
