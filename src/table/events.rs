//! Session events (created, state changed, deleted) as the table produces them. The core
//! actor ships them in batches to the log actor.

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
    StateChanged { from: u8 },
    Deleted(CloseReason),
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
}
