//! The per-core actor: one pinned thread that owns its shard of the session table.
//!
//! It is deliberately not an actix actor (DESIGN.md §1: an actix message costs more than the
//! whole per-packet budget). Its mailbox is a bounded flume channel of *batches* and control
//! messages, drained once per loop turn; packets are processed run-to-completion in batches,
//! with no allocation, lock or actix message per packet. Both directions of a flow reach the
//! same core: the I/O back-ends spread frames by `io::owner_core`, and a frame that lands on
//! another core anyway (VLAN-tagged, an ICMP error quoting a flow of another core) is handed
//! over in a batch.

use super::events::{CoreSnapshot, EventBatch};
use crate::io::{Action, IoMode, PacketIo, PortId, peer};
use crate::mailbox::{BatchRange, FrameList};
pub use crate::mailbox::{CoreCounters, CoreMsg, FrameBatch, FrameMeta, FrameResult};
use crate::pipeline::{FrameOutcome, Pipeline, frame_owner};
use crate::proto::wire::LinkType;
use crate::sync::SyncHandle;
use crate::table::Verdict;
use crate::table::image::SyncItem;
use crate::table::query::{rows_page, statistics_page};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Everything a core thread needs.
pub struct CoreSetup {
    pub core: usize,
    pub cores: usize,
    pub pipeline: Pipeline,
    /// Live packet I/O; `None` for replay (frames come through the mailbox).
    pub io: Option<Box<dyn PacketIo>>,
    pub io_mode: IoMode,
    pub mailbox: flume::Receiver<CoreMsg>,
    /// Mailboxes of every core (index = core), for hand-overs.
    pub peers: Vec<flume::Sender<CoreMsg>>,
    pub events: Option<flume::Sender<EventBatch>>,
    /// What goes to `events`, and whether a full channel waits.
    pub events_mode: EventsMode,
    pub snapshots: Option<flume::Sender<CoreSnapshot>>,
    /// Replay: per-frame results go here.
    pub results: Option<flume::Sender<Vec<FrameResult>>>,
    pub stop: Arc<AtomicBool>,
    /// Pin the thread to CPU `core` (when it exists).
    pub pin: bool,
    /// Session synchronization and the state file (`sessmgr run`); `None` elsewhere.
    pub sync: Option<CoreSync>,
}

/// A core's part in failover and restart (issue #16).
pub struct CoreSync {
    /// Changes for the sync actor (bounded; a full channel is counted in `handle`, and the
    /// peer then gets a bulk).
    pub changes: flume::Sender<Vec<SyncItem>>,
    pub handle: Arc<SyncHandle>,
    /// Save every session in the exit report (`CoreExit::saved`) for the state file.
    pub save_at_exit: bool,
}

/// Which session events a core sends, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventsMode {
    /// `run`: every event (the terminal shows each session's life; logged sessions' events
    /// also go to collectors); a full channel is a counted drop, never a wait.
    #[default]
    Live,
    /// Replay: only the events for collectors, and a full channel waits (a replay has
    /// back-pressure already, and its logs must not depend on thread timing).
    LogsInOrder,
}

/// What a core reports when it ends.
#[derive(Debug, Clone, Default)]
pub struct CoreExit {
    pub snapshot: CoreSnapshot,
    /// Events produced by this core's shard (delivered + dropped).
    pub events_produced: u64,
    /// Everything its top statistics counted (`sessmgr run` saves it at shutdown).
    pub top: crate::table::top::TopHistory,
    /// Every session and relation entry of this core, when the state file is on.
    pub saved: Vec<SyncItem>,
}

pub struct CoreHandle {
    pub core: usize,
    pub mailbox: flume::Sender<CoreMsg>,
    thread: JoinHandle<CoreExit>,
}

impl CoreHandle {
    /// Waits for the thread; a panicked core (a bug) reports an empty exit rather than
    /// taking the process down with it.
    pub fn join(self) -> CoreExit {
        self.thread.join().unwrap_or_default()
    }
}

/// Largest receive batch taken from the back-end at once.
const RX_BATCH: usize = 256;
/// How long the back-end may wait for frames before the loop looks at its mailbox again.
const RX_TIMEOUT_MS: i32 = 10;
/// Counter snapshots to the stats actor.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(100);

pub fn spawn(setup: CoreSetup) -> std::io::Result<CoreHandle> {
    let core = setup.core;
    let mailbox = setup
        .peers
        .get(core)
        .cloned()
        .ok_or_else(|| std::io::Error::other("core has no mailbox"))?;
    let thread = std::thread::Builder::new()
        .name(format!("sessmgr-core{core}"))
        .spawn(move || run(setup))?;
    Ok(CoreHandle {
        core,
        mailbox,
        thread,
    })
}

struct Core {
    core: usize,
    cores: usize,
    p: Pipeline,
    io_mode: IoMode,
    peers: Vec<flume::Sender<CoreMsg>>,
    events: Option<flume::Sender<EventBatch>>,
    events_mode: EventsMode,
    snapshots: Option<flume::Sender<CoreSnapshot>>,
    results: Option<flume::Sender<Vec<FrameResult>>>,
    events_dropped: u64,
    events_produced: u64,
    /// Batches of frames processed (received from the back-end or handed over), for the
    /// metrics endpoint: frames per batch tell how loaded the core is.
    batches: u64,
    event_buf: EventBatch,
    // Reused per batch.
    outcomes: Vec<FrameOutcome>,
    handover: Vec<FrameBatch>,
    sync: Option<CoreSync>,
    sync_buf: Vec<SyncItem>,
    /// The sessions this core handed to the back-end's in-kernel fast path.
    fast: super::fast_path::CoreFastPath,
}

fn run(setup: CoreSetup) -> CoreExit {
    if setup.pin
        && let Some(id) = core_affinity::get_core_ids().and_then(|ids| ids.get(setup.core).copied())
    {
        core_affinity::set_for_current(id);
    }
    let mut io = setup.io;
    let mailbox = setup.mailbox;
    let stop = setup.stop;
    let mut c = Core {
        core: setup.core,
        cores: setup.cores,
        p: setup.pipeline,
        io_mode: setup.io_mode,
        peers: setup.peers,
        events: setup.events,
        events_mode: setup.events_mode,
        snapshots: setup.snapshots,
        results: setup.results,
        events_dropped: 0,
        events_produced: 0,
        batches: 0,
        event_buf: Vec::new(),
        outcomes: Vec::with_capacity(RX_BATCH),
        handover: (0..setup.cores).map(|_| FrameBatch::default()).collect(),
        sync: setup.sync,
        sync_buf: Vec::new(),
        fast: Default::default(),
    };
    // Relation entries a master here publishes cross to the peer with the sessions.
    c.p.shard.algs.record_for_sync = c.sync.is_some();
    // Replay sends only the logs for collectors (the shard adds those whatever this says).
    c.p.shard.events_enabled = c.events.is_some() && c.events_mode == EventsMode::Live;
    // Inline, every fragment of a datagram waits for the verdict on the whole datagram.
    c.p.hold_fragments = io.is_some() && c.io_mode == IoMode::Inline;
    c.p.shard.algs.record_published = c.results.is_some();
    // The fast path forwards for the engine: inline only (the back-ends that have one run
    // inline only, but the mode is the engine's to say).
    c.p.shard.offload.enabled =
        c.io_mode == IoMode::Inline && io.as_deref_mut().is_some_and(|i| i.fast_path().is_some());
    let mut last_snapshot = Instant::now();
    'main: loop {
        // The mailbox first: control messages and handed-over frames.
        loop {
            let msg = if io.is_none() {
                // Replay: nothing else to do but wait for the next batch.
                match mailbox.recv_timeout(Duration::from_millis(u64::from(RX_TIMEOUT_MS as u32))) {
                    Ok(m) => m,
                    Err(flume::RecvTimeoutError::Timeout) => break,
                    Err(flume::RecvTimeoutError::Disconnected) => break 'main,
                }
            } else {
                match mailbox.try_recv() {
                    Ok(m) => m,
                    Err(flume::TryRecvError::Empty) => break,
                    Err(flume::TryRecvError::Disconnected) => break 'main,
                }
            };
            if !c.handle(msg, io.as_deref_mut()) {
                break 'main;
            }
        }
        if let Some(io) = io.as_deref_mut() {
            let link = io.link_type();
            let mut handler =
                |frames: &[&[u8]], ports: &[PortId], now: u64, actions: &mut [Action]| {
                    c.on_batch(link, frames, ports, now, actions);
                };
            match io.rx_batch(RX_BATCH, RX_TIMEOUT_MS, &mut handler) {
                Ok(0) => {
                    // Idle: time still passes for aging and relation entries.
                    if let Some(now) = io.idle_now_ns() {
                        c.p.tick_if_due(now);
                    }
                }
                Ok(_) => {}
                Err(_) => {
                    // A receive error is not a packet's fault: keep going; the back-end counts it.
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            c.send_released(io);
            c.flush_handover();
            if c.p.shard.offload.enabled {
                c.fast_path_turn(io);
            }
        }
        c.flush_events();
        c.flush_sync();
        if last_snapshot.elapsed() >= SNAPSHOT_EVERY {
            last_snapshot = Instant::now();
            c.send_snapshot(io.as_deref());
        }
        if stop.load(Ordering::Relaxed) {
            // Finish what is already queued for us, then leave.
            while let Ok(msg) = mailbox.try_recv() {
                if !c.handle(msg, io.as_deref_mut()) {
                    break;
                }
            }
            break;
        }
    }
    c.flush_events();
    c.flush_sync();
    let snapshot = c.snapshot(io.as_deref());
    if let Some(tx) = &c.snapshots {
        let _ = tx.try_send(snapshot.clone());
    }
    let mut saved = Vec::new();
    if c.sync.as_ref().is_some_and(|s| s.save_at_exit) {
        // The whole table at once: the engine is stopping, nothing waits for this core.
        c.p.shard.export_page(0, usize::MAX, true, &mut saved);
        c.p.shard.export_relations(&mut saved);
    }
    CoreExit {
        snapshot,
        events_produced: c.events_produced,
        top: c.p.shard.top.snapshot(),
        saved,
    }
}

impl Core {
    /// Handles one mailbox message; `false` = stop.
    fn handle(&mut self, msg: CoreMsg, io: Option<&mut (dyn PacketIo + 'static)>) -> bool {
        match msg {
            CoreMsg::Frames { link, frames } => self.process(link, &frames, io),
            CoreMsg::Captured { link, frames } => self.process(link, &frames, io),
            CoreMsg::Advance(now) => self.p.tick(now, usize::MAX),
            CoreMsg::Config(cfg) => self.p.shard.set_config(*cfg),
            CoreMsg::Rows {
                family,
                filter,
                from,
                limit,
                reply,
            } => {
                let _ = reply.send(rows_page(&self.p.shard, family, &filter, from, limit));
            }
            CoreMsg::Statistics {
                family,
                filter,
                from,
                reply,
            } => {
                let _ = reply.send(statistics_page(&self.p.shard, family, &filter, from));
            }
            CoreMsg::Peaks(reply) => {
                let _ = reply.send(self.p.shard.census.peaks.counts());
            }
            CoreMsg::Top(msg) => {
                let now_ms = self.p.shard.now_ms();
                msg.answer(&mut self.p.shard.top, now_ms);
            }
            CoreMsg::ResetStatistics => {
                self.p.shard.reset_statistics();
                self.p.not_ip = Default::default();
            }
            CoreMsg::Counters(reply) => {
                let _ = reply.send(CoreCounters {
                    drops: self.p.shard.drops.clone(),
                    table: self.p.shard.stats,
                    ring_drops: io.as_deref().map_or(0, |i| i.stats().kernel_drops),
                    events_dropped: self.events_dropped,
                    not_ip: self.p.not_ip,
                    frames: self.p.frames,
                    batches: self.batches,
                    alg: self.p.shard.algs.counters.clone(),
                    totals: self.p.shard.seconds.totals,
                    fast_path: self.fast.counters,
                });
            }
            CoreMsg::Reset {
                family,
                filter,
                reply,
            } => {
                let n = self.p.shard.reset_where(|s| filter.selects(family, s));
                self.flush_events();
                let _ = reply.send(n);
            }
            CoreMsg::Dump { reply, limit } => {
                let _ = reply.send(crate::replay::table_rows(&self.p.shard, limit));
            }
            CoreMsg::StateCounts(reply) => {
                let _ = reply.send(crate::replay::state_counts(&self.p.shard));
            }
            CoreMsg::Barrier(reply) => {
                let _ = reply.send(());
            }
            CoreMsg::EndOfCapture(reply) => {
                let n = self.p.shard.log_final();
                self.flush_events();
                let _ = reply.send(n);
            }
            CoreMsg::SyncInstall(items) => self.install(&items),
            CoreMsg::SyncClear(reply) => {
                let n = self.p.shard.reset_where(|_| true);
                let _ = reply.send(n);
            }
            CoreMsg::SyncExport {
                from,
                slots,
                relations,
                reply,
            } => {
                let mut items = Vec::new();
                let next = if relations {
                    self.p.shard.export_relations(&mut items);
                    None
                } else {
                    self.p.shard.export_page(from, slots, false, &mut items)
                };
                let _ = reply.send((items, next));
            }
            CoreMsg::Stop => return false,
        }
        true
    }

    /// The fast path's share of a loop turn: offload and withdraw what the shard noted, bring
    /// in a slice of what the kernel forwarded; everything back while the engine must not
    /// forward (a standby of a failover pair).
    fn fast_path_turn(&mut self, io: &mut dyn PacketIo) {
        let Some(fast) = io.fast_path() else {
            return;
        };
        let forwarding = self.sync.as_ref().is_none_or(|s| s.handle.forwarding());
        if !forwarding {
            self.p.shard.discard_offload();
            if !self.fast.is_empty() {
                self.fast.withdraw_all(&mut self.p.shard, fast);
            }
            return;
        }
        self.fast.apply(&mut self.p.shard, fast);
        self.fast.refresh(&mut self.p.shard, fast);
    }

    /// What the active peer sent, in order.
    fn install(&mut self, items: &[SyncItem]) {
        use crate::table::image::Installed;
        // Stamped "seen now" on the wall clock the back-ends stamp frames with: a standby
        // whose ports are quiet may not have ticked for a while.
        if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            self.p.shard.set_clock(d.as_nanos() as u64);
        }
        let (mut ok, mut full, mut expired) = (0u64, 0u64, 0u64);
        for i in items {
            match i {
                SyncItem::Session(img) => match self.p.shard.install(img, 0) {
                    Installed::Created | Installed::Updated => ok += 1,
                    Installed::Full => full += 1,
                    Installed::Expired => expired += 1,
                },
                SyncItem::Delete(k) => {
                    self.p.shard.uninstall(k);
                }
                SyncItem::Relation(r) => {
                    if self.p.shard.install_relation(r) {
                        ok += 1;
                    } else {
                        full += 1;
                    }
                }
            }
        }
        if let Some(s) = &self.sync {
            s.handle.installed.fetch_add(ok, Ordering::Relaxed);
            s.handle.install_full.fetch_add(full, Ordering::Relaxed);
            s.handle
                .install_expired
                .fetch_add(expired, Ordering::Relaxed);
        }
    }

    /// The changes of this turn, to the sync actor (never waiting: a full channel is
    /// counted and the peer gets a bulk).
    fn flush_sync(&mut self) {
        let Some(s) = &self.sync else {
            return;
        };
        if let Some(n) = s.handle.core_sessions.get(self.core) {
            n.store(self.p.shard.len() as u64, Ordering::Relaxed);
        }
        if !self.p.shard.config.sync.enabled {
            return;
        }
        self.p.shard.take_sync(&mut self.sync_buf);
        if self.sync_buf.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.sync_buf);
        if s.changes.try_send(batch).is_err() {
            s.handle.core_channel_full.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Frames handed to this core (by another core, or by the replay dispatcher), in order.
    fn process<L: FrameList>(
        &mut self,
        link: LinkType,
        frames: &L,
        mut io: Option<&mut (dyn PacketIo + 'static)>,
    ) {
        self.batches += 1;
        let mut results = Vec::new();
        // Per-frame results are reported with the table as it was after each frame: then a
        // frame at a time; otherwise the whole batch at once.
        let n = frames.count();
        let step = if self.results.is_some() { 1 } else { n.max(1) };
        let mut from = 0;
        while from < n {
            let to = (from + step).min(n);
            self.outcomes.clear();
            self.p
                .process_frames(link, &BatchRange::new(frames, from, to), &mut self.outcomes);
            for (i, outcome) in (from..to).zip(self.outcomes.iter()) {
                if self.results.is_some() {
                    let number = frames.number(i);
                    let published: Vec<_> = self.p.shard.algs.take_published().collect();
                    let json =
                        crate::replay::frame_json(number, outcome, &self.p.shard, &published);
                    results.push(FrameResult {
                        number,
                        json,
                        outcome: *outcome,
                    });
                }
                if let Some(io) = io.as_deref_mut()
                    && self.io_mode == IoMode::Inline
                    && decide(outcome) == Action::Forward
                {
                    // Handed over by another core: we own the flow, so we forward it.
                    let _ = io.send(peer(frames.port(i)), frames.data(i));
                }
            }
            if let Some(io) = io.as_deref_mut() {
                self.send_released(io);
            }
            from = to;
        }
        if let Some(tx) = &self.results
            && !results.is_empty()
        {
            let _ = tx.send(results);
        }
        self.flush_events();
    }

    fn on_batch(
        &mut self,
        link: LinkType,
        frames: &[&[u8]],
        ports: &[PortId],
        now: u64,
        actions: &mut [Action],
    ) {
        self.outcomes.clear();
        self.batches += 1;
        if self.io_mode == IoMode::Inline
            && let Some(s) = &self.sync
            && !s.handle.forwarding()
        {
            // The standby (or an engine still listening for its peer) forwards nothing. Its
            // clock still moves (the installs from the peer are stamped on it).
            self.p.tick_if_due(now);
            for a in actions.iter_mut() {
                *a = Action::Drop;
            }
            for _ in frames {
                self.p
                    .shard
                    .drops
                    .count(crate::drop::DropReason::StandbyNotForwarding);
            }
            return;
        }
        if self.cores > 1
            && frames
                .iter()
                .any(|f| frame_owner(link, f, self.cores) != self.core)
        {
            // Rare: process ours one by one, hand the rest over.
            for (i, f) in frames.iter().enumerate() {
                let owner = frame_owner(link, f, self.cores);
                if owner == self.core {
                    let o = self.p.process_frame_from(link, f, ports[i], now);
                    actions[i] = self.action(&o);
                } else {
                    self.handover[owner].push(0, now, ports[i], f);
                    actions[i] = Action::Drop; // the owner forwards it
                }
            }
            return;
        }
        self.p
            .process_batch_from(link, frames, ports, now, &mut self.outcomes);
        for (a, o) in actions.iter_mut().zip(self.outcomes.iter()) {
            *a = if self.io_mode == IoMode::Inline {
                decide(o)
            } else {
                Action::Drop
            };
        }
    }

    /// Sends the held fragments whose datagram passed, in arrival order, each out of the peer
    /// of the port it came in on (a send error is counted by the back-end).
    fn send_released(&mut self, io: &mut dyn PacketIo) {
        for r in self.p.take_released() {
            let _ = io.send(peer(r.port), &r.frame);
        }
    }

    fn action(&self, o: &FrameOutcome) -> Action {
        if self.io_mode == IoMode::Inline {
            decide(o)
        } else {
            Action::Drop
        }
    }

    fn flush_handover(&mut self) {
        for (owner, frames) in self.handover.iter_mut().enumerate() {
            if frames.is_empty() {
                continue;
            }
            let batch = std::mem::take(frames);
            if let Some(tx) = self.peers.get(owner) {
                // Bounded mailbox: if the owner is saturated the frames are lost, counted.
                let n = batch.len() as u64;
                if tx
                    .try_send(CoreMsg::Frames {
                        link: LinkType::Ethernet,
                        frames: batch,
                    })
                    .is_err()
                {
                    for _ in 0..n {
                        self.p
                            .shard
                            .drops
                            .count(crate::drop::DropReason::HandoverQueueFull);
                    }
                }
            }
        }
    }

    fn flush_events(&mut self) {
        self.p.shard.take_events(&mut self.event_buf);
        if self.event_buf.is_empty() {
            return;
        }
        let n = self.event_buf.len() as u64;
        self.events_produced += n;
        let batch = std::mem::take(&mut self.event_buf);
        if let Some(tx) = &self.events {
            let sent = match self.events_mode {
                EventsMode::Live => tx.try_send(batch).is_ok(),
                EventsMode::LogsInOrder => tx.send(batch).is_ok(),
            };
            if !sent {
                self.events_dropped += n;
            }
        } else {
            // Nobody takes them (an offline tool whose configuration logs sessions): counted
            // as produced and dropped, so the shard never holds them.
            self.events_dropped += n;
        }
    }

    fn snapshot(&self, io: Option<&dyn PacketIo>) -> CoreSnapshot {
        CoreSnapshot {
            core: self.core as u8,
            at_ns: self.p.shard.now_ms() * 1_000_000,
            sessions: self.p.shard.len() as u64,
            table: self.p.shard.stats,
            drops: self.p.shard.drops.clone(),
            io: io.map(|i| i.stats()).unwrap_or_default(),
            frames: self.p.frames,
            events_dropped: self.events_dropped,
            not_ip: self.p.not_ip,
            alg: self.p.shard.algs.counters.clone(),
            fast_path: self.fast.counters,
        }
    }

    fn send_snapshot(&self, io: Option<&dyn PacketIo>) {
        if let Some(tx) = &self.snapshots {
            let _ = tx.try_send(self.snapshot(io));
        }
    }
}

/// Inline: what passes (SPEC P3, S6, S8). Rejected and malformed frames are dropped; frames
/// that are not for session management (ARP, IPv6 neighbour discovery) pass. A fragment is
/// held until the verdict on its whole datagram: held frames and the frame that completes a
/// datagram that passes leave together from the pipeline's release queue (`Released`), not
/// by the back-end; a late exact copy of a fragment of a datagram that passed passes.
pub fn decide(o: &FrameOutcome) -> Action {
    match o {
        FrameOutcome::Tracked(t) => match t.verdict {
            Verdict::Invalid(_) => Action::Drop,
            Verdict::New | Verdict::Est | Verdict::Rel | Verdict::Untracked => Action::Forward,
        },
        FrameOutcome::NotIp { .. } | FrameOutcome::FragmentPassed => Action::Forward,
        FrameOutcome::FragmentHeld | FrameOutcome::Released(_) | FrameOutcome::Dropped(_) => {
            Action::Drop
        }
    }
}
