//! The shard's side of the ALGs (R1, R5): which sessions an ALG follows, feeding it their
//! payload, publishing what it announces, and the links between data sessions and their
//! masters. The ALGs themselves (`crate::alg`) never see the table.
//!
//! Cost on the packet path: one flag test per packet of a session; the ALG map is touched
//! only for sessions an ALG follows, and only for packets that carry payload.

use super::relation::{RelationEntry, RelationTable};
use super::session::{SessionId, flag};
use super::shard::Shard;
use crate::alg::stream::{LineBuffer, StreamNotes};
use crate::alg::{self, AlgId, AlgSession, Control, Expects, Framing};
use crate::proto::key::Direction;
use crate::proto::wire::{L4, Packet};
use smallvec::SmallVec;
use std::sync::Arc;

/// One followed control session.
pub struct AlgSlot {
    pub alg: AlgId,
    pub control: Control,
    pub vpn: u16,
    session: Box<dyn AlgSession>,
    /// Line reassembly per direction (stream framing only).
    streams: [LineBuffer; 2],
}

/// What the ALGs refused or noticed, by ALG and reason (`alg_ftp_bounce`, ...). Per core,
/// summed on read; rows appear the first time a reason is counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlgCounters {
    rows: SmallVec<[(AlgId, &'static str, u64); 8]>,
}

impl AlgCounters {
    pub fn count(&mut self, alg: AlgId, reason: &'static str) {
        self.add(alg, reason, 1);
    }

    fn add(&mut self, alg: AlgId, reason: &'static str, n: u64) {
        match self.rows.iter_mut().find(|r| r.0 == alg && r.1 == reason) {
            Some(r) => r.2 += n,
            None => self.rows.push((alg, reason, n)),
        }
    }

    pub fn merge(&mut self, o: &AlgCounters) {
        for &(a, r, n) in &o.rows {
            self.add(a, r, n);
        }
    }

    /// `(counter name, count)`, e.g. `("alg_ftp_bounce", 2)`.
    pub fn named(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .rows
            .iter()
            .map(|&(a, r, n)| {
                let kw = alg::info(a).map_or("unknown", |i| i.keyword);
                (format!("alg_{kw}_{}", r.replace('-', "_")), n)
            })
            .collect();
        v.sort();
        v
    }

    pub fn get(&self, alg: AlgId, reason: &str) -> u64 {
        self.rows
            .iter()
            .find(|r| r.0 == alg && r.1 == reason)
            .map_or(0, |r| r.2)
    }
}

fn count_notes(c: &mut AlgCounters, alg: AlgId, n: StreamNotes) {
    for (hit, name) in [
        (n.retransmitted, "retransmitted-segment"),
        (n.overlapped, "overlapping-segment"),
        (n.gap, "stream-gap"),
        (n.overlong, "line-too-long"),
    ] {
        if hit {
            c.count(alg, name);
        }
    }
}

impl Shard {
    /// Shares the engine's relation table with this shard (without one, no ALG runs and no
    /// entry is looked up: offline tools and benchmarks).
    pub fn attach_relations(&mut self, t: Arc<RelationTable>) {
        self.relations = Some(t);
    }

    pub fn relations(&self) -> Option<&Arc<RelationTable>> {
        self.relations.as_ref()
    }

    /// The entries published since the last call (recorded only with `record_published`).
    pub fn take_published(&mut self) -> impl Iterator<Item = RelationEntry> + '_ {
        self.published.drain(..)
    }

    /// The control session a data session was created for, if it was.
    pub fn master_of(&self, slot: u32) -> Option<SessionId> {
        self.masters.get(&slot).copied()
    }

    /// The ALG following a session, if any.
    pub fn alg_of(&self, slot: u32) -> Option<AlgId> {
        self.algs.get(&slot).map(|a| a.alg)
    }

    /// A new session of application `app`: attach its ALG when one is registered and on.
    pub(super) fn alg_start(&mut self, slot: u32, app: u8) {
        let Some(id) = alg::for_app(app) else {
            return;
        };
        if self.relations.is_none() || !self.config.algs.has(id) {
            return;
        }
        let Some(reg) = alg::REGISTRY.get(usize::from(id)) else {
            return;
        };
        let s = &mut self.records[slot as usize];
        s.flags |= flag::ALG;
        let orig = s.orig_key();
        let control = Control::from_orig(&orig);
        self.algs.insert(
            slot,
            AlgSlot {
                alg: id,
                control,
                vpn: orig.vpn,
                session: (reg.start)(&control),
                streams: Default::default(),
            },
        );
    }

    /// A packet of a followed session was accepted: its payload goes to the ALG, and what
    /// the ALG announces is published before the packet leaves (R5).
    pub(super) fn alg_feed(&mut self, slot: u32, dir: Direction, pkt: &Packet<'_>) {
        if pkt.payload.is_empty() {
            return;
        }
        let Some(a) = self.algs.get_mut(&slot) else {
            return;
        };
        let Some(info) = alg::info(a.alg) else {
            return;
        };
        let mut out = Expects::new();
        let mut refusals: SmallVec<[&'static str; 2]> = SmallVec::new();
        let (control, session) = (&a.control, &mut a.session);
        let mut message = |m: &[u8]| {
            if let Err(r) = session.on_message(control, dir, m, &mut out) {
                refusals.push(r);
            }
        };
        let notes = match (info.framing, pkt.l4) {
            (Framing::Lines, L4::Tcp(seg)) => {
                a.streams[dir.index()].feed(seg.seq, pkt.payload, info.max_line, message)
            }
            (Framing::Lines, _) => StreamNotes::default(),
            (Framing::Datagrams, _) => {
                message(pkt.payload);
                StreamNotes::default()
            }
        };
        let (id, control, vpn) = (a.alg, a.control, a.vpn);
        count_notes(&mut self.alg_counters, id, notes);
        for r in refusals {
            self.alg_counters.count(id, r);
        }
        if out.is_empty() {
            return;
        }
        let master = self.id_of(slot);
        let Some(table) = self.relations.clone() else {
            return;
        };
        for e in &out {
            let Some(spec) = alg::spec_of(id, &control, e, vpn) else {
                self.alg_counters.count(id, "wrong-family");
                continue;
            };
            match table.publish(spec, master, id, info.limits, self.now_ms) {
                Some(entry) if self.record_published => self.published.push(entry),
                Some(_) => {}
                None => self.alg_counters.count(id, "relation-table-full"),
            }
        }
    }

    /// A session leaves: its ALG state and relation entries (a master), or its link to its
    /// master (a data session), go with it.
    pub(super) fn alg_forget(&mut self, slot: u32) {
        let flags = self.records[slot as usize].flags;
        if flags & flag::ALG != 0 {
            self.algs.remove(&slot);
            if let Some(t) = &self.relations {
                t.remove_master(self.id_of(slot));
            }
        }
        if flags & flag::EXPECTED != 0 {
            self.masters.remove(&slot);
        }
    }
}
