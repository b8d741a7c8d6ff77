//! The synchronization link between two engines (H1, H2; issue #16): roles, heartbeats,
//! reliable in-order delivery of session changes over UDP, bulk on (re)join. Pure: the caller
//! passes datagrams and the time in (wall-clock milliseconds) and carries out the actions
//! (`Action`) it gets back; no socket, no clock, no thread here.
//!
//! From conntrackd's FTFW mode: sequence-numbered datagrams, a cumulative ack in every message,
//! NACKs for gaps, a bounded window of sent datagrams kept for retransmission, and a full
//! resynchronization (here a bulk) when an update cannot be delivered any more. From pfsync:
//! a bulk when a peer joins, then incremental updates only. Rejected from both: conntrackd's
//! external cache (the standby installs into its own shards at once: takeover is a flag, not
//! a commit of a million entries) and pfsync's deferral of the first packet (a first packet
//! waiting for the peer's ack costs every new connection a round trip; conntrackd does not
//! defer either).
//!
//! Roles (RBM's `device-role`, statuses Init/Standby/Active; the rules are ours):
//! - Init (just started) forwards nothing and listens: an Active peer makes it Standby; a peer
//!   in Init or Standby makes a primary Active and a secondary Standby; silence for
//!   `keepalive count` intervals makes it Active.
//! - Standby: the peer's silence for `keepalive count` intervals (default 8 x 100 ms) makes it
//!   Active (takeover); a primary also becomes Active when its peer is not Active.
//! - Active: a peer that became Active later than we did (its `claim`) wins, and we become
//!   Standby; on equal claims the secondary yields. An operator's or VRRP's switchover to
//!   Active is a fresh claim, so it wins.

use super::wire::{self, Body, Hello, Marker, Message, Refusal, Role, Status};
use crate::table::image::SyncItem;
use std::collections::{BTreeMap, VecDeque};

/// Sent data datagrams kept until the peer acknowledges them (about 700 KB at most: below
/// the receive buffer the sync actor asks for, so a burst never overflows the peer's socket).
pub const WINDOW: usize = 512;
/// The receiver acknowledges at least every this many data datagrams (a hello carries the
/// ack), not only with its heartbeat: the window turns over in a round trip, not 100 ms.
pub const ACK_EVERY: u32 = 32;
/// Out-of-order datagrams held while a gap is repaired.
pub const HELD_MAX: usize = 1024;
/// Items waiting for room in the window; more means the peer cannot keep up, and it gets a
/// bulk instead of the changes that did not fit.
pub const OUTBOX_MAX: usize = 262_144;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    pub key: Vec<u8>,
    pub role: Role,
    pub keepalive_ms: u64,
    pub keepalive_count: u32,
}

impl LinkConfig {
    /// Silence after which the peer is dead.
    pub fn dead_ms(&self) -> u64 {
        self.keepalive_ms * u64::from(self.keepalive_count.max(1))
    }
}

/// What the caller does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A datagram for the peer.
    Send(Vec<u8>),
    /// Install, update or delete, in this order.
    Apply(Vec<SyncItem>),
    /// A bulk begins: our copy of the peer's table goes first.
    ClearCopy,
    /// A bulk ended: our copy is whole.
    BulkDone,
    /// The peer wants our whole table: page the cores into `queue_bulk`, then `end_bulk`.
    StartBulk,
    /// Our running status changed.
    Became(Status),
}

/// Counters of `display remote-backup-group status` (all since start).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkCounters {
    pub sent_datagrams: u64,
    pub sent_items: u64,
    pub sent_bytes: u64,
    pub retransmitted: u64,
    pub nacks_sent: u64,
    pub received_datagrams: u64,
    pub received_items: u64,
    pub duplicates: u64,
    /// Refused datagrams by `Refusal` (index = position in `Refusal::ALL`).
    pub refused: [u64; 8],
    /// From an earlier run of the peer (an old epoch): a replay.
    pub stale_epoch: u64,
    /// A control message whose sequence number is not new: a replay.
    pub replayed: u64,
    /// A data datagram too far ahead to hold: the peer is asked for a bulk.
    pub out_of_window: u64,
    /// Changes not sent because no peer was connected (its bulk will carry them).
    pub not_sent_no_peer: u64,
    /// Changes dropped because the window and outbox were full (a bulk follows).
    pub overflow: u64,
    pub bulks_sent: u64,
    pub bulks_received: u64,
    pub takeovers: u64,
    pub peer_restarts: u64,
    /// Datagrams from an address other than the configured peer's (ignored).
    pub wrong_source: u64,
    /// Datagrams the socket refused to send.
    pub send_errors: u64,
    /// Installs that could not be handed to a core in time.
    pub install_lost: u64,
}

impl LinkCounters {
    pub fn refused_total(&self) -> u64 {
        self.refused.iter().sum::<u64>() + self.stale_epoch + self.replayed + self.wrong_source
    }
}

#[derive(Debug, Clone, Copy)]
struct Peer {
    epoch: u64,
    ctl_seq: u64,
    last_heard_ms: u64,
    hello: Option<Hello>,
}

#[derive(Debug, Clone)]
enum Out {
    Item(SyncItem),
    Marker(Marker),
}

pub struct Link {
    cfg: LinkConfig,
    epoch: u64,
    status: Status,
    claim: u64,
    started_ms: u64,
    peer: Option<Peer>,
    next_seq: u64,
    unacked: VecDeque<(u64, Vec<u8>)>,
    last_progress_ms: u64,
    ctl_seq: u64,
    outbox: VecDeque<Out>,
    applied: u64,
    held: BTreeMap<u64, (Option<Marker>, Vec<SyncItem>)>,
    last_nack_ms: u64,
    last_hello_ms: u64,
    wants_bulk: bool,
    bulk_request: u32,
    served: Option<(u64, u32)>,
    /// The peer's copy missed changes (overflow): it gets a bulk at the next poll.
    rebulk: bool,
    /// Data datagrams received since our last message (which carried our ack).
    since_ack: u32,
    /// Our local table size, for the hellos.
    pub sessions: u64,
    pub counters: LinkCounters,
    /// The peer's last hello.
    pub peer_hello: Option<Hello>,
}

impl Link {
    /// A link that starts now (`now_ms`, wall clock); `epoch` is larger than any earlier
    /// run's (the start time in nanoseconds).
    pub fn new(cfg: LinkConfig, epoch: u64, now_ms: u64) -> Link {
        Link {
            cfg,
            epoch,
            status: Status::Init,
            claim: 0,
            started_ms: now_ms,
            peer: None,
            next_seq: 1,
            unacked: VecDeque::new(),
            last_progress_ms: now_ms,
            ctl_seq: 0,
            outbox: VecDeque::new(),
            applied: 0,
            held: BTreeMap::new(),
            last_nack_ms: 0,
            last_hello_ms: 0,
            wants_bulk: false,
            bulk_request: 0,
            served: None,
            rebulk: false,
            since_ack: 0,
            sessions: 0,
            counters: LinkCounters::default(),
            peer_hello: None,
        }
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn config(&self) -> &LinkConfig {
        &self.cfg
    }

    /// Heard from the peer within the dead interval.
    pub fn peer_connected(&self, now_ms: u64) -> bool {
        self.peer
            .is_some_and(|p| now_ms.saturating_sub(p.last_heard_ms) < self.cfg.dead_ms())
    }

    /// Our copy of the peer's table is being (re)built.
    pub fn awaiting_bulk(&self) -> bool {
        self.wants_bulk
    }

    /// Items waiting for the window.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    pub fn unacked(&self) -> usize {
        self.unacked.len()
    }

    fn set_status(&mut self, s: Status, now_ms: u64, actions: &mut Vec<Action>) {
        if self.status == s {
            return;
        }
        if s == Status::Active {
            self.claim = now_ms.max(1);
            self.wants_bulk = false;
        } else {
            self.claim = 0;
        }
        if s == Status::Standby {
            // Our copy of the active peer's table is built from a bulk.
            self.wants_bulk = true;
            self.bulk_request = self.bulk_request.wrapping_add(1).max(1);
            self.outbox.clear();
        }
        self.status = s;
        actions.push(Action::Became(s));
    }

    /// An operator or VRRP says which status to take (`remote-backup switchover`).
    pub fn switchover(&mut self, s: Status, now_ms: u64, actions: &mut Vec<Action>) {
        if s == Status::Active && self.status == Status::Active {
            // A fresh claim: of two active engines, this one stays.
            self.claim = now_ms.max(1);
            return;
        }
        self.set_status(s, now_ms, actions);
    }

    /// Changes from the cores: queued for the peer while we are active and it listens.
    pub fn queue(&mut self, items: impl IntoIterator<Item = SyncItem>, now_ms: u64) {
        let live = self.status == Status::Active && self.peer_connected(now_ms);
        for i in items {
            if !live {
                self.counters.not_sent_no_peer += 1;
            } else if self.outbox.len() >= OUTBOX_MAX {
                self.counters.overflow += 1;
                self.rebulk = true;
            } else {
                self.outbox.push_back(Out::Item(i));
            }
        }
    }

    /// Changes were lost on their way to us (a core's channel was full): the peer gets a
    /// bulk at the next poll.
    pub fn lost_changes(&mut self) {
        self.counters.overflow += 1;
        self.rebulk = true;
    }

    /// A page of a bulk (the caller asks the cores for the next page only while
    /// `outbox_len()` is low: the bulk is paced by the peer's acknowledgements).
    pub fn queue_bulk(&mut self, items: impl IntoIterator<Item = SyncItem>) {
        self.outbox.extend(items.into_iter().map(Out::Item));
    }

    pub fn begin_bulk(&mut self) {
        self.counters.bulks_sent += 1;
        self.outbox.push_back(Out::Marker(Marker::BulkStart));
    }

    pub fn end_bulk(&mut self) {
        self.outbox.push_back(Out::Marker(Marker::BulkEnd));
    }

    fn message(&mut self, body: Body) -> Vec<u8> {
        self.ctl_seq += 1;
        self.since_ack = 0;
        let msg = Message {
            epoch: self.epoch,
            seq: self.ctl_seq,
            ack: self.applied,
            body,
        };
        let mut out = Vec::with_capacity(128);
        wire::encode(&self.cfg.key, &msg, &mut out);
        out
    }

    fn hello(&mut self) -> Vec<u8> {
        let h = Hello {
            status: self.status,
            role: self.cfg.role,
            sessions: self.sessions,
            bulk_request: if self.wants_bulk {
                self.bulk_request
            } else {
                0
            },
            claim: self.claim,
        };
        self.message(Body::Hello(h))
    }

    fn count_sent(&mut self, d: &[u8], items: usize) {
        self.counters.sent_datagrams += 1;
        self.counters.sent_bytes += d.len() as u64;
        self.counters.sent_items += items as u64;
    }

    /// Time passes: heartbeats, the peer's death, retransmission, NACKs, and the outbox
    /// into datagrams while the window has room.
    pub fn poll(&mut self, now_ms: u64, actions: &mut Vec<Action>) {
        let dead = self.cfg.dead_ms();
        let silent = match self.peer {
            Some(p) => now_ms.saturating_sub(p.last_heard_ms) >= dead,
            None => now_ms.saturating_sub(self.started_ms) >= dead,
        };
        if silent && self.status != Status::Active {
            if self.status == Status::Standby {
                self.counters.takeovers += 1;
            }
            self.set_status(Status::Active, now_ms, actions);
        }
        if self.rebulk && self.status == Status::Active && self.peer_connected(now_ms) {
            self.rebulk = false;
            self.outbox.clear();
            actions.push(Action::StartBulk);
        }
        if now_ms.saturating_sub(self.last_hello_ms) >= self.cfg.keepalive_ms {
            self.last_hello_ms = now_ms;
            let d = self.hello();
            self.count_sent(&d, 0);
            actions.push(Action::Send(d));
        }
        // A gap in what we received: ask for it again, once per interval.
        if let Some((&first_held, _)) = self.held.iter().next()
            && now_ms.saturating_sub(self.last_nack_ms) >= self.cfg.keepalive_ms
        {
            self.last_nack_ms = now_ms;
            let first = self.applied + 1;
            let count = (first_held - first).min(u64::from(u16::MAX)) as u16;
            let d = self.message(Body::Nack { first, count });
            self.counters.nacks_sent += 1;
            self.count_sent(&d, 0);
            actions.push(Action::Send(d));
        }
        // The tail of a burst lost with nothing after it to show the gap: resend the oldest
        // unacknowledged datagrams when acks stall for three intervals.
        if !self.unacked.is_empty()
            && now_ms.saturating_sub(self.last_progress_ms) >= 3 * self.cfg.keepalive_ms
        {
            self.last_progress_ms = now_ms;
            for (_, d) in self.unacked.iter().take(8) {
                self.counters.retransmitted += 1;
                actions.push(Action::Send(d.clone()));
            }
        }
        self.fill(now_ms, actions);
    }

    /// Packs the outbox into data datagrams while the window has room.
    fn fill(&mut self, now_ms: u64, actions: &mut Vec<Action>) {
        if self.unacked.is_empty() {
            self.last_progress_ms = now_ms;
        }
        while self.unacked.len() < WINDOW && !self.outbox.is_empty() {
            let seq = self.next_seq;
            let mut d = Vec::with_capacity(wire::MAX_DATAGRAM);
            let mut n = 0;
            if let Some(Out::Marker(m)) = self.outbox.front() {
                let m = *m;
                self.outbox.pop_front();
                wire::encode_marker(&self.cfg.key, self.epoch, seq, self.applied, m, &mut d);
            } else {
                let mut items = Vec::new();
                let mut room = wire::MAX_BODY;
                while let Some(Out::Item(i)) = self.outbox.front() {
                    let len = wire::item_len(i);
                    if len > room {
                        break;
                    }
                    room -= len;
                    if let Some(Out::Item(i)) = self.outbox.pop_front() {
                        items.push(i);
                    }
                }
                n = items.len();
                let msg = Message {
                    epoch: self.epoch,
                    seq,
                    ack: self.applied,
                    body: Body::Data(items),
                };
                wire::encode(&self.cfg.key, &msg, &mut d);
            }
            self.next_seq += 1;
            self.count_sent(&d, n);
            actions.push(Action::Send(d.clone()));
            self.unacked.push_back((seq, d));
        }
    }

    /// A datagram from the data channel.
    pub fn on_datagram(&mut self, bytes: &[u8], now_ms: u64, actions: &mut Vec<Action>) {
        let (msg, marker) = match wire::decode(&self.cfg.key, bytes) {
            Ok(m) => m,
            Err(r) => {
                self.refuse(r);
                return;
            }
        };
        match self.peer {
            Some(p) if msg.epoch < p.epoch => {
                self.counters.stale_epoch += 1;
                return;
            }
            Some(p) if msg.epoch == p.epoch => {}
            had => {
                // A new peer, or the peer restarted: both streams start again.
                if had.is_some() {
                    self.counters.peer_restarts += 1;
                }
                self.peer = Some(Peer {
                    epoch: msg.epoch,
                    ctl_seq: 0,
                    last_heard_ms: now_ms,
                    hello: None,
                });
                self.applied = 0;
                self.held.clear();
                self.next_seq = 1;
                self.unacked.clear();
                self.outbox.clear();
                self.served = None;
                if self.status == Status::Standby {
                    self.wants_bulk = true;
                    self.bulk_request = self.bulk_request.wrapping_add(1).max(1);
                }
            }
        }
        let Some(mut peer) = self.peer else {
            return;
        };
        let is_data = matches!(msg.body, Body::Data(_));
        if !is_data {
            if msg.seq <= peer.ctl_seq {
                self.counters.replayed += 1;
                return;
            }
            peer.ctl_seq = msg.seq;
        }
        peer.last_heard_ms = now_ms;
        self.counters.received_datagrams += 1;
        self.on_ack(msg.ack, now_ms);
        match msg.body {
            Body::Hello(h) => {
                peer.hello = Some(h);
                self.peer = Some(peer);
                self.peer_hello = Some(h);
                self.on_hello(h, peer.epoch, now_ms, actions);
            }
            Body::Nack { first, count } => {
                self.peer = Some(peer);
                let last = first.saturating_add(u64::from(count));
                for (seq, d) in &self.unacked {
                    if *seq >= first && *seq < last {
                        self.counters.retransmitted += 1;
                        actions.push(Action::Send(d.clone()));
                    }
                }
            }
            Body::Data(items) => {
                self.peer = Some(peer);
                self.on_data(msg.seq, marker, items, actions);
                self.since_ack += 1;
                if self.since_ack >= ACK_EVERY {
                    // An early hello: it carries the ack the sender's window waits for.
                    let d = self.hello();
                    self.count_sent(&d, 0);
                    actions.push(Action::Send(d));
                }
            }
        }
        self.fill(now_ms, actions);
    }

    fn refuse(&mut self, r: Refusal) {
        if let Some(i) = Refusal::ALL.iter().position(|x| *x == r) {
            self.counters.refused[i] += 1;
        }
    }

    fn on_ack(&mut self, ack: u64, now_ms: u64) {
        // Only what we sent can be acknowledged.
        let ack = ack.min(self.next_seq - 1);
        let mut progress = false;
        while self.unacked.front().is_some_and(|(s, _)| *s <= ack) {
            self.unacked.pop_front();
            progress = true;
        }
        if progress {
            self.last_progress_ms = now_ms;
        }
    }

    fn on_hello(&mut self, h: Hello, peer_epoch: u64, now_ms: u64, actions: &mut Vec<Action>) {
        let primary = self.cfg.role == Role::Primary;
        match self.status {
            Status::Init => {
                if h.status == Status::Active || !primary {
                    self.set_status(Status::Standby, now_ms, actions);
                } else {
                    self.set_status(Status::Active, now_ms, actions);
                }
            }
            Status::Standby => {
                if h.status != Status::Active && primary {
                    self.set_status(Status::Active, now_ms, actions);
                }
            }
            Status::Active => {
                if h.status == Status::Active
                    && (h.claim > self.claim || (h.claim == self.claim && !primary))
                {
                    self.set_status(Status::Standby, now_ms, actions);
                }
            }
        }
        if self.status == Status::Active
            && h.status != Status::Active
            && h.bulk_request != 0
            && self.served != Some((peer_epoch, h.bulk_request))
        {
            self.served = Some((peer_epoch, h.bulk_request));
            self.outbox.clear();
            self.rebulk = false;
            actions.push(Action::StartBulk);
        }
    }

    fn on_data(
        &mut self,
        seq: u64,
        marker: Option<Marker>,
        items: Vec<SyncItem>,
        actions: &mut Vec<Action>,
    ) {
        if seq <= self.applied || self.held.contains_key(&seq) {
            self.counters.duplicates += 1;
            return;
        }
        if seq != self.applied + 1 {
            if self.held.len() >= HELD_MAX || seq - self.applied > (WINDOW as u64) * 2 {
                // Cannot be repaired from what we hold: start again from a bulk.
                self.counters.out_of_window += 1;
                self.held.clear();
                self.applied = seq;
                self.wants_bulk = true;
                self.bulk_request = self.bulk_request.wrapping_add(1).max(1);
                return;
            }
            self.held.insert(seq, (marker, items));
            return;
        }
        self.deliver(marker, items, actions);
        self.applied = seq;
        while let Some(e) = self.held.first_entry() {
            if *e.key() != self.applied + 1 {
                break;
            }
            let (s, (m, i)) = e.remove_entry();
            self.deliver(m, i, actions);
            self.applied = s;
        }
    }

    fn deliver(&mut self, marker: Option<Marker>, items: Vec<SyncItem>, actions: &mut Vec<Action>) {
        match marker {
            Some(Marker::BulkStart) => {
                if self.status != Status::Active {
                    actions.push(Action::ClearCopy);
                }
            }
            Some(Marker::BulkEnd) => {
                self.counters.bulks_received += 1;
                self.wants_bulk = false;
                actions.push(Action::BulkDone);
            }
            None => {
                self.counters.received_items += items.len() as u64;
                // An active engine's table is its own: a late change from a peer that has
                // just yielded must not overwrite it.
                if self.status != Status::Active && !items.is_empty() {
                    actions.push(Action::Apply(items));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
