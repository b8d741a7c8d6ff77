//! What cores tell the control plane: session events (for the log actor) and counter
//! snapshots (for the stats actor). Sent in batches over bounded flume channels with
//! `try_send`: a core never waits on the control plane; a full channel is a counted drop.

use crate::drop::DropCounters;
use crate::io::IoStats;
use crate::table::shard::ShardStats;

pub use crate::table::events::{CloseReason, EventKind, SessionEvent};

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
    /// Events this core could not hand to the log actor (its channel was full).
    pub events_dropped: u64,
    /// Frames passed untracked because they are not IP, by kind.
    pub not_ip: crate::pipeline::NotIpCounts,
    /// What the ALGs of this core refused or noticed.
    pub alg: crate::alg::AlgCounters,
    /// The in-kernel fast path's work for this core (AF_XDP `fast_path`).
    pub fast_path: super::fast_path::FastPathCounters,
}
