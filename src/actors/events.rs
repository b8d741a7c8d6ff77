//! What cores tell the control plane: session events (for the log actor) and counter
//! snapshots (for the stats actor). Sent in batches over bounded flume channels with
//! `try_send`: a core never waits on the control plane; a full channel is a counted drop.

use crate::drop::DropCounters;
use crate::io::IoStats;
use crate::proto::key::FlowKey;
use crate::table::shard::ShardStats;

/// Why a session left the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    AgedOut,
    /// Closed by the protocol (RST answering a SYN, a re-opened connection, ...).
    Closed,
    Reset,
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

/// Events travel in batches (one channel message per core batch, never one per packet).
pub type EventBatch = Vec<SessionEvent>;

/// A core's counters at one moment (sent every 100 ms and once more at shutdown).
#[derive(Debug, Clone, Default)]
pub struct CoreSnapshot {
    pub core: u8,
    pub at_ns: u64,
    pub sessions: u64,
    pub table: ShardStats,
    pub drops: DropCounters,
    pub io: IoStats,
    /// Frames the core processed.
    pub frames: u64,
    /// Event batches this core could not hand to the log actor (channel full).
    pub events_dropped: u64,
}
