//! Session events (created, state changed, deleted) as the table produces them. The core
//! actor ships them in batches to the log actor.

use super::session::DirCounters;
use crate::proto::key::FlowKey;

/// Why a session left the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    AgedOut,
    /// Closed by the protocol (RST answering a SYN, a re-opened connection, ...).
    Closed,
    Reset,
    /// Evicted to make room for a new session while the table was full (S8 early drop;
    /// Comware's session-log event (7), "deleted because a new flow was created while the
    /// table was full").
    EarlyDrop,
}

impl CloseReason {
    /// The operator-facing name (session log `reason=`).
    pub const fn name(self) -> &'static str {
        match self {
            CloseReason::AgedOut => "aged_out",
            CloseReason::Closed => "closed",
            CloseReason::Reset => "reset",
            CloseReason::EarlyDrop => "early_drop",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    StateChanged {
        from: u8,
    },
    Deleted(CloseReason),
    /// An active-flow log of a logged session (a time or traffic threshold was reached).
    Active,
    /// The end of a replayed capture: a logged session still alive, with its totals.
    Final,
}

/// One session event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionEvent {
    pub kind: EventKind,
    /// `SessionId::to_u64()` of the session.
    pub session: u64,
    /// The initiator tuple.
    pub orig: FlowKey,
    /// The protocol state after the event.
    pub state: u8,
    /// Engine clock, nanoseconds.
    pub at_ns: u64,
    /// What the session's collectors get (`None`: the session is not logged, or this event
    /// is not one its logs are configured to send).
    pub log: Option<LogFacts>,
}

/// What a session log carries beyond the tuple: filled only for events sent to collectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogFacts {
    /// Application id (`table::apps`).
    pub app: u8,
    /// Initiator's direction, then the responder's.
    pub counters: [DirCounters; 2],
    /// Creation time, milliseconds on the engine clock.
    pub begin_ms: u64,
    /// Ingress and egress port.
    pub ports: [u8; 2],
    /// The first packet's IPv4 TOS / IPv6 traffic class.
    pub tos: u8,
    /// For a deletion: whether the protocol had closed the session (FIN or RST seen, a
    /// closing state), Comware's "(1) Normal over", whatever removed it at last.
    pub closing: bool,
}
