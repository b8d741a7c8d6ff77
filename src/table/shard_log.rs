//! The shard's part of session logging (SPEC L1-L3; the settings and per-session marks are in
//! `log.rs`): selecting a session at creation, the per-packet traffic check, the time-active
//! sweep on the engine clock, the final records of a replay, and what a log carries.

use super::events::{EventKind, LogFacts};
use super::log::{Due, LogMark, LogState, SessionLogConfig};
use super::session::flag;
use super::shard::Shard;
use crate::proto::key::FlowKey;
use std::collections::VecDeque;

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
            .map(|t| t.total(&self.meta[i].counters()) + t.amount());
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
        let total = t.total(&self.meta[i].counters());
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
            counters: self.meta.get(i)?.counters(),
            begin_ms: m.begin_ms,
            ports: m.ports,
            tos: m.tos,
            closing: closing(s.proto, s.state),
        })
    }
}
