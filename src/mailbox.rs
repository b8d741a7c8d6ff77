//! The core's mailbox: what the control plane, the replay dispatcher and other cores send a
//! core actor (`actors::core`), and the frames they hand it. Its own module, below both the
//! actors and the console, so that the console can talk to the cores without importing the
//! runtime that runs them.

use crate::drop::DropCounters;
use crate::io::PortId;
use crate::io::capture::Chunk;
use crate::pipeline::{FrameOutcome, FrameSource, NotIpCounts};
use crate::proto::wire::{Family, LinkType};
use crate::table::TableConfig;
use crate::table::peaks::PeakCounts;
use crate::table::query::{RowsPage, SessionFilter, StatisticsCounts};
use crate::table::shard::ShardStats;
use crate::table::top::{TopHistory, TopStatistics, TopWindow, Window};
use serde_json::Value;
use std::sync::Arc;

/// Frames travelling between threads (replay dispatcher, hand-over between cores): their
/// bytes in one buffer, so a batch costs two allocations, not one per frame.
#[derive(Debug, Clone, Default)]
pub struct FrameBatch {
    bytes: Vec<u8>,
    frames: Vec<FrameMeta>,
}

/// One frame of a `FrameBatch`.
#[derive(Debug, Clone, Copy)]
pub struct FrameMeta {
    /// Position in a capture (replay) or 0.
    pub number: u64,
    pub ts_ns: u64,
    pub port: PortId,
    /// The capture cut the frame short (replay of a `tcpdump -s` capture).
    pub cut: bool,
    start: usize,
    len: usize,
}

impl FrameBatch {
    pub fn push(&mut self, number: u64, ts_ns: u64, port: PortId, data: &[u8]) {
        self.push_captured(number, ts_ns, port, data, false);
    }

    /// A frame of a capture, `cut` when the capture holds less of it than travelled.
    pub fn push_captured(&mut self, number: u64, ts_ns: u64, port: PortId, data: &[u8], cut: bool) {
        self.frames.push(FrameMeta {
            number,
            ts_ns,
            port,
            cut,
            start: self.bytes.len(),
            len: data.len(),
        });
        self.bytes.extend_from_slice(data);
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (FrameMeta, &[u8])> + '_ {
        self.frames
            .iter()
            .map(|m| (*m, self.bytes.get(m.start..m.start + m.len).unwrap_or(&[])))
    }

    /// The bytes of one of its frames.
    pub fn bytes_of(&self, m: &FrameMeta) -> &[u8] {
        self.bytes.get(m.start..m.start + m.len).unwrap_or(&[])
    }
}

/// Frames a core is handed to process in order: copies (`FrameBatch`: a hand-over between
/// cores) or positions in a capture chunk every core shares (`CaptureFrames`: replay).
pub trait FrameList {
    fn count(&self) -> usize;
    /// Position in a capture (replay) or 0.
    fn number(&self, i: usize) -> u64;
    fn data(&self, i: usize) -> &[u8];
    /// The engine clock of frame `i`, nanoseconds.
    fn time(&self, i: usize) -> u64;
    fn port(&self, i: usize) -> PortId;
    /// The capture cut the frame short.
    fn cut(&self, i: usize) -> bool;
}

impl FrameList for FrameBatch {
    fn count(&self) -> usize {
        self.frames.len()
    }
    fn number(&self, i: usize) -> u64 {
        self.frames.get(i).map_or(0, |m| m.number)
    }
    fn data(&self, i: usize) -> &[u8] {
        self.frames.get(i).map_or(&[], |m| self.bytes_of(m))
    }
    fn time(&self, i: usize) -> u64 {
        self.frames.get(i).map_or(0, |m| m.ts_ns)
    }
    fn port(&self, i: usize) -> PortId {
        self.frames.get(i).map_or(0, |m| m.port)
    }
    fn cut(&self, i: usize) -> bool {
        self.frames.get(i).is_some_and(|m| m.cut)
    }
}

/// How a replay clocks its frames: at their capture time, or (`--pps`) as if the capture
/// were sent at that many packets per second from its first frame's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayClock {
    pub first_ts: u64,
    pub pps: Option<u64>,
}

impl ReplayClock {
    /// The engine clock of frame `number` captured at `ts_ns`.
    pub fn at(&self, number: u64, ts_ns: u64) -> u64 {
        match self.pps {
            Some(pps) => self.first_ts + number.saturating_sub(1) * 1_000_000_000 / pps.max(1),
            None => ts_ns,
        }
    }
}

/// The frames of a shared capture chunk that one core owns (`replay --cores N`): the
/// dispatcher sends their positions, never copies; the chunk goes back to the reader's
/// pool when the last core drops it.
pub struct CaptureFrames {
    pub chunk: Arc<Chunk>,
    /// Positions in `chunk`, in capture order.
    pub picks: Vec<u32>,
    pub clock: ReplayClock,
}

impl FrameList for CaptureFrames {
    fn count(&self) -> usize {
        self.picks.len()
    }
    fn number(&self, i: usize) -> u64 {
        self.picks
            .get(i)
            .map_or(0, |&p| self.chunk.number(p as usize))
    }
    fn data(&self, i: usize) -> &[u8] {
        self.picks
            .get(i)
            .map_or(&[], |&p| self.chunk.data(p as usize))
    }
    fn time(&self, i: usize) -> u64 {
        self.picks.get(i).map_or(self.clock.first_ts, |&p| {
            let p = p as usize;
            self.clock.at(self.chunk.number(p), self.chunk.ts_ns(p))
        })
    }
    fn port(&self, _i: usize) -> PortId {
        0
    }
    fn cut(&self, i: usize) -> bool {
        self.picks
            .get(i)
            .is_some_and(|&p| self.chunk.cut(p as usize))
    }
}

/// Frames `from..to` of a list, as the pipeline takes them.
pub struct BatchRange<'a, L: FrameList> {
    list: &'a L,
    from: usize,
    to: usize,
}

impl<'a, L: FrameList> BatchRange<'a, L> {
    pub fn new(list: &'a L, from: usize, to: usize) -> BatchRange<'a, L> {
        BatchRange {
            list,
            from,
            to: to.min(list.count()),
        }
    }
}

impl<L: FrameList> FrameSource for BatchRange<'_, L> {
    fn len(&self) -> usize {
        self.to.saturating_sub(self.from)
    }
    fn data(&self, i: usize) -> &[u8] {
        self.list.data(self.from + i)
    }
    fn time(&self, i: usize) -> u64 {
        self.list.time(self.from + i)
    }
    fn port(&self, i: usize) -> Option<u8> {
        (self.from + i < self.to).then(|| self.list.port(self.from + i))
    }
    fn cut(&self, i: usize) -> bool {
        self.list.cut(self.from + i)
    }
}

/// Live sessions by (protocol, state) name.
pub type StateCounts = std::collections::BTreeMap<(&'static str, &'static str), u64>;

/// What a core answers for one replayed frame (`replay --verdicts` through the cores).
#[derive(Debug, Clone)]
pub struct FrameResult {
    pub number: u64,
    pub json: Value,
    pub outcome: FrameOutcome,
}

/// What a core counts of the frames it did not pass on, and of those it passed untracked
/// (`display packet-drop summary`).
#[derive(Debug, Clone, Default)]
pub struct CoreCounters {
    pub drops: DropCounters,
    pub table: ShardStats,
    /// Frames the kernel dropped at this core's receive ring (AF_PACKET, netmap).
    pub ring_drops: u64,
    /// Session events lost because the log actor's channel was full.
    pub events_dropped: u64,
    pub not_ip: NotIpCounts,
    /// Frames the core processed, and the batches they came in (received or handed over):
    /// the Prometheus endpoint's per-core series.
    pub frames: u64,
    pub batches: u64,
    /// What the core's ALGs refused or noticed.
    pub alg: crate::alg::AlgCounters,
    /// The never-reset totals the alarms read (created, attempts, refused at capacity).
    pub totals: crate::alarm::Totals,
    /// What the in-kernel fast path did for this core (zero without it).
    pub fast_path: crate::io::FastPathCounters,
}

pub enum CoreMsg {
    /// Frames to process in order. `reply` frames' results go to the replay collector.
    Frames { link: LinkType, frames: FrameBatch },
    /// Replay: this core's frames of a shared capture chunk, to process in order.
    Captured {
        link: LinkType,
        frames: CaptureFrames,
    },
    /// Advance the engine clock (end of a replay; idle time).
    Advance(u64),
    /// Replace the table configuration whole: no core ever sees half a change.
    Config(Box<TableConfig>),
    /// `display session table`, one page: the selected sessions from slot `from` on, at most
    /// `limit` rows (never more than `query::PAGE_ROWS`), at most `query::SCAN_SLOTS` slots
    /// and `query::SCAN_LIVE` sessions looked at (bounded work between batches, however large
    /// the table and however rare the matches).
    Rows {
        family: Option<Family>,
        filter: Box<SessionFilter>,
        from: u32,
        limit: usize,
        reply: flume::Sender<RowsPage>,
    },
    /// `display session statistics`: counts of the selected sessions.
    /// Unfiltered (a family at most): answered from the shard's census at once. With
    /// filters: the slots from `from` on, a bounded page at a time (as `Rows`); the answer
    /// says where the next page starts (`None`: done), so a large shard is never walked in
    /// one turn.
    Statistics {
        family: Option<Family>,
        filter: Box<SessionFilter>,
        from: u32,
        reply: flume::Sender<(StatisticsCounts, Option<u32>)>,
    },
    /// `reset session statistics`: the table and drop counters start again from zero.
    ResetStatistics,
    /// `display session statistics history-max`: this core's maxima.
    Peaks(flume::Sender<PeakCounts>),
    /// Top statistics (T2).
    Top(TopMsg),
    /// `reset session table` with a filter: delete the sessions of this core's shard the
    /// filter selects (in the family, if given) and answer how many went.
    Reset {
        family: Option<Family>,
        filter: Box<SessionFilter>,
        reply: flume::Sender<usize>,
    },
    /// Send at most `limit` live sessions as JSON rows (a dump never copies a huge table
    /// whole; the console pages it).
    Dump {
        reply: flume::Sender<Vec<Value>>,
        limit: usize,
    },
    /// Live sessions by protocol and state name (the summary of `replay --cores N`): counts,
    /// where `Dump` would build a row for every session.
    StateCounts(flume::Sender<StateCounts>),
    /// `display packet-drop summary`: this core's drop and pass counters.
    Counters(flume::Sender<CoreCounters>),
    /// Answer once everything queued before this message has been processed (replay uses it
    /// to keep the wire's causality across cores, see `actors::replay`).
    Barrier(flume::Sender<()>),
    /// The end of a replayed capture: a final log for every logged session still alive
    /// (sent before the answer, which says how many).
    EndOfCapture(flume::Sender<usize>),
    /// Session synchronization (H1): install, update or delete what the active peer sent,
    /// in order (each item's owner core gets it).
    SyncInstall(Vec<crate::table::image::SyncItem>),
    /// A bulk from the peer begins: the standby's copy of its table goes.
    SyncClear(flume::Sender<usize>),
    /// Bulk synchronization: the images of the sessions in slots `from .. from + slots`
    /// the synchronization scope covers, and where the next page starts (`None`: done);
    /// with `relations`, the relation entries of this core's masters instead.
    SyncExport {
        from: usize,
        slots: usize,
        relations: bool,
        reply: flume::Sender<(Vec<crate::table::image::SyncItem>, Option<usize>)>,
    },
    /// Finish: process what is queued, flush, exit.
    Stop,
}

/// What the control plane asks of a core's top statistics (`table::top`).
pub enum TopMsg {
    /// `display session top-statistics`: the window, at the core's clock.
    Window {
        window: Window,
        reply: flume::Sender<TopWindow>,
    },
    /// Everything counted, to be written to disk (every minute and at shutdown).
    Snapshot(flume::Sender<Box<TopHistory>>),
    /// The history read at start, taken in (by one core).
    Restore(Box<TopHistory>),
}

impl TopMsg {
    /// Answers the message from a core's top statistics at its clock `now_ms`.
    pub fn answer(self, top: &mut TopStatistics, now_ms: u64) {
        match self {
            TopMsg::Window { window, reply } => {
                let _ = reply.send(top.window(window, now_ms));
            }
            TopMsg::Snapshot(reply) => {
                let _ = reply.send(Box::new(top.snapshot()));
            }
            TopMsg::Restore(h) => top.restore(&h),
        }
    }
}
