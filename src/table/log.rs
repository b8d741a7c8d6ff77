//! Which sessions are logged, and when (SPEC L1-L3, reference/comware.md §9.2): the owner
//! core's part of session logging.
//!
//! - **Selection, at creation.** `session log enable {ipv4|ipv6} [acl N] {inbound|outbound}`
//!   in an interface's view selects the sessions whose first packet came in on that
//!   interface (`inbound`) or leaves by it (`outbound`: the paired port, inline). With an
//!   ACL, only the initiator tuples it permits. The decision is made once, when the session
//!   is created, and kept in the session's `LOGGED` flag (ours: Comware does not say what
//!   becomes of live sessions when the command changes; a session's other attributes are
//!   fixed at creation too).
//! - **Logs.** `flow-begin`: one at creation (event 8). `flow-end`: one at deletion, with the
//!   reason as Comware's event code. Thresholds (`time-active`, and the last of
//!   `bytes-active`/`packets-active`): one active-flow log (event 6) whenever one is reached,
//!   after which every threshold restarts from there.
//! - **Cost.** With no session selected, the packet path tests one flag. A logged session
//!   with a traffic threshold compares its counters with its next threshold once per packet.
//!   Time thresholds are checked by the core's tick on the engine clock, never per packet:
//!   every logged session waits in one FIFO of due times, which is in due order because
//!   every session's interval is the same.
//!
//! This file holds the settings and what is kept per session; the shard's work with them is
//! in `shard_log.rs`.

use super::session::DirCounters;
use crate::acl::{Acl, Action};
use crate::proto::key::FlowKey;
use crate::proto::wire::Family;
use std::collections::VecDeque;

/// `session log {bytes-active MB | packets-active MPKTS}`: only the last one configured
/// applies (§9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficThreshold {
    /// Megabytes (10^6 bytes, ours: Comware says "MB").
    Bytes(u32),
    /// Millions of packets.
    Packets(u32),
}

impl TrafficThreshold {
    /// The threshold in the counter's unit (bytes or packets, both directions together).
    pub const fn amount(self) -> u64 {
        match self {
            TrafficThreshold::Bytes(mb) => mb as u64 * 1_000_000,
            TrafficThreshold::Packets(m) => m as u64 * 1_000_000,
        }
    }

    /// The session's total in this threshold's unit.
    #[inline]
    pub fn total(self, c: &[DirCounters; 2]) -> u64 {
        match self {
            TrafficThreshold::Bytes(_) => c[0].bytes + c[1].bytes,
            TrafficThreshold::Packets(_) => c[0].packets + c[1].packets,
        }
    }
}

/// Which sessions of one family a port's rules select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSelect {
    /// `session log enable ipv4 inbound`: every session.
    All,
    /// `... acl N ...`: those whose initiator tuple the ACL permits.
    Acl(Acl),
    /// `... acl N ...` naming an ACL that does not exist: none (ours).
    Nothing,
}

impl LogSelect {
    pub fn selects(&self, k: &FlowKey) -> bool {
        match self {
            LogSelect::All => true,
            LogSelect::Acl(acl) => acl.matches(k) == Some(Action::Permit),
            LogSelect::Nothing => false,
        }
    }
}

/// The rules that apply to sessions arriving on one port: the port's `inbound` lines and its
/// peer's `outbound` lines, per family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortLog {
    pub v4: Vec<LogSelect>,
    pub v6: Vec<LogSelect>,
}

/// The session-log settings one shard works with (resolved by the console from the running
/// configuration, like the packet filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionLogConfig {
    /// `session log time-active MINUTES` (0 = off).
    pub time_active_min: u16,
    /// The traffic threshold in force.
    pub traffic: Option<TrafficThreshold>,
    /// `session log flow-begin`.
    pub flow_begin: bool,
    /// `session log flow-end`.
    pub flow_end: bool,
    /// Index = the ingress `PortId`.
    pub ports: Vec<PortLog>,
}

impl SessionLogConfig {
    /// Whether a session with initiator tuple `k` that arrived on `port` is logged.
    pub fn selects(&self, port: u8, k: &FlowKey) -> bool {
        let Some(p) = self.ports.get(usize::from(port)) else {
            return false;
        };
        let rules = match k.family {
            Family::V4 => &p.v4,
            Family::V6 => &p.v6,
        };
        rules.iter().any(|r| r.selects(k))
    }

    /// Whether any session can be logged at all: some port has a rule, and one of the five
    /// global commands is present (newer Comware V7: without one, no session log is produced).
    pub fn active(&self) -> bool {
        (self.flow_begin || self.flow_end || self.time_active_min != 0 || self.traffic.is_some())
            && self
                .ports
                .iter()
                .any(|p| !p.v4.is_empty() || !p.v6.is_empty())
    }

    pub fn time_active_ms(&self) -> u64 {
        u64::from(self.time_active_min) * 60_000
    }
}

/// A logged session's log state (one per slot, kept only while logging is configured).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogMark {
    /// Creation time, milliseconds on the engine clock.
    pub begin_ms: u64,
    /// When the next time-active log is due (0 = none).
    pub due_ms: u64,
    /// The traffic total at which the next active log is due (`u64::MAX` = none).
    pub next_traffic: u64,
    /// The port the first packet came in on, and the one it leaves by (inline: the peer).
    pub ports: [u8; 2],
    /// The first packet's IPv4 TOS / IPv6 traffic class.
    pub tos: u8,
}

/// A time-active log waiting: due time, slot, and the slot's generation then (a session
/// deleted meanwhile is skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub at_ms: u64,
    pub slot: u32,
    pub generation: u32,
}

/// A shard's session-log state.
#[derive(Debug, Default)]
pub struct LogState {
    pub config: SessionLogConfig,
    /// `config.active()`, cached for the packet path.
    pub active: bool,
    /// Per slot, grown on demand (never allocated while logging is off).
    pub marks: Vec<LogMark>,
    /// Time-active logs waiting, in due order.
    pub due: VecDeque<Due>,
}
