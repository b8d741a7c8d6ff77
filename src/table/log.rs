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

use super::events::{EventKind, LogFacts};
use super::session::{DirCounters, flag};
use super::shard::Shard;
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

/// Time-active logs one tick may emit (the rest wait for the next tick): a tick's work stays
/// bounded however many sessions fall due at once.
pub const DUE_PER_TICK: usize = 4096;

impl LogState {
    /// Whether an event of this kind is sent to a logged session's collectors.
    fn wants(&self, kind: EventKind) -> bool {
        match kind {
            EventKind::Created => self.config.flow_begin,
            EventKind::Deleted(_) => self.config.flow_end,
            EventKind::Active | EventKind::Final => true,
            EventKind::StateChanged { .. } => false,
        }
    }
}

/// Whether a session in `state` had been closed by its protocol (FIN, RST, SCTP SHUTDOWN,
/// DCCP CLOSEREQ seen): its deletion is Comware's "(1) Normal over" even when it then ages
/// out of that state.
pub fn closing(proto: u8, state: u8) -> bool {
    use crate::proto::aging_key::AgingState as A;
    crate::proto::descriptor(proto)
        .state(state)
        .is_some_and(|s| {
            matches!(
                s.aging,
                A::Fin | A::TcpTimeWait | A::TcpClose | A::DccpCloseReq | A::SctpShutdown
            )
        })
}

impl Shard {
    /// Takes a new session-log configuration: thresholds changed restart from now for every
    /// logged session (one walk of the table, on a configuration change only).
    pub(super) fn set_log_config(&mut self, config: SessionLogConfig) {
        if config == self.log.config {
            return;
        }
        let timer_changed = config.time_active_min != self.log.config.time_active_min;
        let traffic_changed = config.traffic != self.log.config.traffic;
        self.log.active = config.active();
        self.log.config = config;
        if !self.log.active {
            self.log.marks = Vec::new();
            self.log.due = VecDeque::new();
            for r in &mut self.records {
                r.flags &= !flag::LOGGED;
            }
            return;
        }
        if timer_changed {
            self.log.due.clear();
        }
        if timer_changed || traffic_changed {
            for slot in 0..self.records.len() as u32 {
                if self.records[slot as usize].has(flag::LOGGED) {
                    self.restart_thresholds(slot);
                }
            }
        }
    }

    /// A session was created in `slot` from a packet that came in on `port`: selects it for
    /// logging when a rule of its port and family does.
    pub(super) fn log_select(&mut self, slot: u32, orig: &FlowKey) {
        if !self.log.active || !self.log.config.selects(self.ingress, orig) {
            return;
        }
        let i = slot as usize;
        if self.log.marks.len() <= i {
            self.log.marks.resize(i + 1, LogMark::default());
        }
        let ingress = self.ingress;
        let peer = crate::io::peer(ingress);
        // The session leaves by the inline peer; with no such port (monitor mode, replay)
        // the egress is unknown.
        let egress = if usize::from(peer) < self.log.config.ports.len() {
            peer
        } else {
            u8::MAX
        };
        self.log.marks[i] = LogMark {
            begin_ms: self.now_ms,
            ports: [ingress, egress],
            ..LogMark::default()
        };
        self.records[i].flags |= flag::LOGGED;
        self.restart_thresholds(slot);
        // The first interval counts from the session's start: its first packet included.
        if let Some(t) = self.log.config.traffic {
            self.log.marks[i].next_traffic = t.amount();
        }
    }

    /// Every threshold of a logged session starts again from now and its totals now.
    fn restart_thresholds(&mut self, slot: u32) {
        let i = slot as usize;
        let now = self.now_ms;
        let total = self
            .log
            .config
            .traffic
            .map(|t| t.total(&self.records[i].counters) + t.amount());
        let interval = self.log.config.time_active_ms();
        let m = &mut self.log.marks[i];
        m.next_traffic = total.unwrap_or(u64::MAX);
        m.due_ms = if interval == 0 { 0 } else { now + interval };
        if interval != 0 {
            let generation = self.meta[i].generation;
            self.log.due.push_back(Due {
                at_ms: now + interval,
                slot,
                generation,
            });
        }
    }

    /// The packet path's check for a logged session whose counters just grew: one compare
    /// with the next traffic threshold.
    #[inline]
    pub(super) fn log_traffic(&mut self, slot: u32) {
        let Some(t) = self.log.config.traffic else {
            return;
        };
        let i = slot as usize;
        let total = t.total(&self.records[i].counters);
        // Every session's next threshold is at least one threshold's amount: below it, the
        // session's own mark (another cache line) need not be read.
        if total >= t.amount() && total >= self.log.marks[i].next_traffic {
            self.log_active(slot);
        }
    }

    /// One active-flow log, then every threshold restarts.
    fn log_active(&mut self, slot: u32) {
        self.emit(slot, EventKind::Active);
        self.restart_thresholds(slot);
    }

    /// Time-active logs that fell due by `now_ms` (the tick's part; bounded).
    pub fn log_tick(&mut self, now_ms: u64) {
        let mut n = 0;
        while n < DUE_PER_TICK {
            let Some(&d) = self.log.due.front() else {
                break;
            };
            if d.at_ms > now_ms {
                break;
            }
            self.log.due.pop_front();
            let i = d.slot as usize;
            // Stale: the session went (the slot's generation moved on) or a traffic log
            // restarted its timer (it waits at its new due time further back).
            let live = self.records[i].has(flag::LIVE)
                && self.records[i].has(flag::LOGGED)
                && self.meta[i].generation == d.generation
                && self.log.marks[i].due_ms == d.at_ms;
            if live {
                self.log_active(d.slot);
                n += 1;
            }
        }
    }

    /// The end of a replayed capture: a final log (event 3) for every logged session still
    /// alive, carrying its totals. Returns how many.
    pub fn log_final(&mut self) -> usize {
        if !self.log.active {
            return 0;
        }
        let mut n = 0;
        for slot in 0..self.records.len() as u32 {
            let r = &self.records[slot as usize];
            if r.has(flag::LIVE) && r.has(flag::LOGGED) {
                self.emit(slot, EventKind::Final);
                n += 1;
            }
        }
        n
    }

    /// What a logged session's event carries to its collectors, if this event is one they
    /// get.
    pub(super) fn log_facts(&self, slot: u32, kind: EventKind) -> Option<LogFacts> {
        let i = slot as usize;
        let s = &self.records[i];
        if !s.has(flag::LOGGED) || !self.log.wants(kind) {
            return None;
        }
        let m = self.log.marks.get(i)?;
        Some(LogFacts {
            app: s.app,
            counters: s.counters,
            begin_ms: m.begin_ms,
            ports: m.ports,
            tos: m.tos,
            closing: closing(s.key.proto, s.state),
        })
    }
}
