//! The stats actor: keeps each core's latest counter snapshot and answers totals and rates.
//!
//! Cores `try_send` a `CoreSnapshot` every 100 ms and once more at shutdown over one bounded
//! flume channel. Snapshots are cumulative, so the totals are the sum of each core's latest
//! snapshot; rates come from a core's two latest snapshots and are summed over cores (each
//! core runs on its own clock tick, so their snapshots are not aligned in time).

use std::collections::BTreeMap;
use std::time::Duration;

use actix::prelude::*;

use super::events::CoreSnapshot;
use crate::drop::DropCounters;
use crate::io::IoStats;
use crate::table::shard::ShardStats;

/// How often the actor looks at the channel (snapshots come every 100 ms per core).
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Per-second rates derived from consecutive snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub frames_per_s: f64,
    pub new_sessions_per_s: f64,
}

/// The whole engine's counters: the sum of every core's latest snapshot.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Cores that have reported at least once.
    pub cores: usize,
    /// Sessions in the table now.
    pub sessions: u64,
    /// Sessions created since start (also `table.created`).
    pub created: u64,
    /// Sessions created and removed, by reason.
    pub table: ShardStats,
    /// Frames the cores processed.
    pub frames: u64,
    /// Drops per reason, merged over cores.
    pub drops: DropCounters,
    pub io: IoStats,
    /// Events the cores could not hand to the log actor.
    pub events_dropped: u64,
    /// Frames passed untracked because they are not IP, by kind.
    pub not_ip: crate::pipeline::NotIpCounts,
    /// ALG counters merged over cores.
    pub alg: crate::alg::AlgCounters,
    /// The in-kernel fast path, summed over cores.
    pub fast_path: super::fast_path::FastPathCounters,
    /// Snapshots the stats actor has taken off its channel.
    pub snapshots_received: u64,
    pub rates: Rates,
}

#[derive(Debug, Clone, Default)]
struct CoreEntry {
    latest: CoreSnapshot,
    rates: Rates,
}

/// The aggregation, kept apart from the actor so it is tested without a runtime.
#[derive(Debug, Default)]
pub struct StatsBook {
    cores: BTreeMap<u8, CoreEntry>,
    received: u64,
}

impl StatsBook {
    pub fn new() -> StatsBook {
        StatsBook::default()
    }

    pub fn record(&mut self, snap: CoreSnapshot) {
        self.received += 1;
        match self.cores.get_mut(&snap.core) {
            Some(entry) => {
                let prev = &entry.latest;
                if snap.at_ns > prev.at_ns {
                    let dt_s = (snap.at_ns - prev.at_ns) as f64 / 1e9;
                    let frames = snap.frames.saturating_sub(prev.frames);
                    let created = snap.table.created.saturating_sub(prev.table.created);
                    entry.rates = Rates {
                        frames_per_s: frames as f64 / dt_s,
                        new_sessions_per_s: created as f64 / dt_s,
                    };
                } else {
                    // The core's clock went back (a new replay, a restarted core): no
                    // interval to divide by, so no rate until the next snapshot.
                    entry.rates = Rates::default();
                }
                entry.latest = snap;
            }
            None => {
                self.cores.insert(
                    snap.core,
                    CoreEntry {
                        latest: snap,
                        rates: Rates::default(),
                    },
                );
            }
        }
    }

    pub fn snapshots_received(&self) -> u64 {
        self.received
    }

    pub fn totals(&self) -> Totals {
        let mut t = Totals {
            cores: self.cores.len(),
            snapshots_received: self.received,
            ..Totals::default()
        };
        for entry in self.cores.values() {
            let s = &entry.latest;
            t.sessions += s.sessions;
            t.frames += s.frames;
            t.events_dropped += s.events_dropped;
            t.not_ip.arp += s.not_ip.arp;
            t.not_ip.other += s.not_ip.other;
            add_shard_stats(&mut t.table, &s.table);
            t.drops.merge(&s.drops);
            t.alg.merge(&s.alg);
            add_io_stats(&mut t.io, &s.io);
            t.fast_path.add(&s.fast_path);
            t.rates.frames_per_s += entry.rates.frames_per_s;
            t.rates.new_sessions_per_s += entry.rates.new_sessions_per_s;
        }
        t.created = t.table.created;
        t
    }
}

fn add_shard_stats(sum: &mut ShardStats, s: &ShardStats) {
    sum.created += s.created;
    sum.aged_out += s.aged_out;
    sum.closed += s.closed;
    sum.reset += s.reset;
    sum.refused += s.refused;
    sum.evicted += s.evicted;
}

fn add_io_stats(sum: &mut IoStats, s: &IoStats) {
    sum.rx_frames += s.rx_frames;
    sum.rx_bytes += s.rx_bytes;
    sum.tx_frames += s.tx_frames;
    sum.tx_bytes += s.tx_bytes;
    sum.tx_errors += s.tx_errors;
    sum.kernel_drops += s.kernel_drops;
}

/// The stats actor. Polls its channel on an interval and again before every answer, so a
/// `GetTotals` always reflects every snapshot sent before it.
pub struct StatsActor {
    rx: flume::Receiver<CoreSnapshot>,
    book: StatsBook,
}

impl StatsActor {
    pub fn new(rx: flume::Receiver<CoreSnapshot>) -> StatsActor {
        StatsActor {
            rx,
            book: StatsBook::new(),
        }
    }

    fn drain(&mut self) {
        // Bounded by what is queued now: cores send at most ten snapshots a second each.
        while let Ok(snap) = self.rx.try_recv() {
            self.book.record(snap);
        }
    }
}

impl Actor for StatsActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(POLL_INTERVAL, |act, _| act.drain());
    }
}

/// Asks for the current totals and rates.
#[derive(Message)]
#[rtype(result = "Totals")]
pub struct GetTotals;

impl Handler<GetTotals> for StatsActor {
    type Result = MessageResult<GetTotals>;

    fn handle(&mut self, _: GetTotals, _ctx: &mut Self::Context) -> Self::Result {
        self.drain();
        MessageResult(self.book.totals())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drop::DropReason;

    fn snap(core: u8, at_ms: u64, frames: u64, created: u64) -> CoreSnapshot {
        CoreSnapshot {
            core,
            at_ns: at_ms * 1_000_000,
            sessions: created,
            frames,
            table: ShardStats {
                created,
                ..ShardStats::default()
            },
            ..CoreSnapshot::default()
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn one_snapshot_gives_totals_but_no_rate() {
        let mut book = StatsBook::new();
        book.record(snap(0, 100, 500, 20));
        let t = book.totals();
        assert_eq!((t.cores, t.frames, t.created, t.sessions), (1, 500, 20, 20));
        assert_eq!(t.rates, Rates::default());
    }

    #[test]
    fn rates_come_from_each_cores_two_latest_snapshots_and_add_up() {
        let mut book = StatsBook::new();
        book.record(snap(0, 0, 0, 0));
        book.record(snap(1, 50, 0, 0));
        book.record(snap(0, 100, 1_000, 50)); // core 0: 10k frames/s, 500 new/s
        book.record(snap(1, 250, 4_000, 100)); // core 1: 20k frames/s, 500 new/s
        let t = book.totals();
        assert!(close(t.rates.frames_per_s, 30_000.0), "{:?}", t.rates);
        assert!(close(t.rates.new_sessions_per_s, 1_000.0), "{:?}", t.rates);
        // Only the latest interval counts: core 0 goes idle.
        book.record(snap(0, 200, 1_000, 50));
        let t = book.totals();
        assert!(close(t.rates.frames_per_s, 20_000.0), "{:?}", t.rates);
        assert_eq!((t.frames, t.created), (5_000, 150));
        assert_eq!(t.snapshots_received, 5);
    }

    #[test]
    fn a_clock_going_back_resets_the_rate_instead_of_dividing_by_zero() {
        let mut book = StatsBook::new();
        book.record(snap(0, 100, 0, 0));
        book.record(snap(0, 200, 1_000, 10));
        book.record(snap(0, 200, 2_000, 20));
        assert_eq!(book.totals().rates, Rates::default());
        book.record(snap(0, 50, 0, 0));
        assert_eq!(book.totals().rates, Rates::default());
        book.record(snap(0, 150, 300, 3));
        assert!(close(book.totals().rates.frames_per_s, 3_000.0));
    }

    #[test]
    fn drops_io_and_table_stats_are_merged_over_cores() {
        let mut a = snap(0, 100, 10, 5);
        a.drops.count(DropReason::TableFull);
        a.drops.count(DropReason::TableFull);
        a.io.rx_frames = 10;
        a.io.kernel_drops = 1;
        a.table.aged_out = 2;
        a.events_dropped = 1;
        let mut b = snap(1, 100, 20, 7);
        b.drops.count(DropReason::TableFull);
        b.drops.count(DropReason::TcpOutOfWindow);
        b.io.rx_frames = 20;
        b.io.tx_bytes = 1500;
        b.table.reset = 3;
        b.events_dropped = 4;
        let mut book = StatsBook::new();
        book.record(a);
        book.record(b);
        let t = book.totals();
        assert_eq!(t.drops.get(DropReason::TableFull), 3);
        assert_eq!(t.drops.get(DropReason::TcpOutOfWindow), 1);
        assert_eq!(t.drops.total(), 4);
        assert_eq!(t.io.rx_frames, 30);
        assert_eq!(t.io.kernel_drops, 1);
        assert_eq!(t.io.tx_bytes, 1500);
        assert_eq!((t.table.aged_out, t.table.reset), (2, 3));
        assert_eq!(t.events_dropped, 5);
        assert_eq!((t.cores, t.sessions, t.frames), (2, 12, 30));
    }

    #[test]
    fn a_newer_snapshot_replaces_the_older_one_rather_than_adding_to_it() {
        let mut book = StatsBook::new();
        let mut s = snap(0, 100, 10, 1);
        s.drops.count(DropReason::TableFull);
        book.record(s.clone());
        s.at_ns += 100_000_000;
        s.drops.count(DropReason::TableFull);
        book.record(s);
        assert_eq!(book.totals().drops.get(DropReason::TableFull), 2);
    }

    #[actix::test]
    async fn actor_answers_with_every_snapshot_sent_before_the_question() {
        let (tx, rx) = flume::bounded(16);
        let addr = StatsActor::new(rx).start();
        assert!(tx.try_send(snap(0, 0, 0, 0)).is_ok());
        assert!(tx.try_send(snap(0, 100, 2_000, 40)).is_ok());
        let t = addr.send(GetTotals).await.unwrap();
        assert_eq!(t.snapshots_received, 2);
        assert!(close(t.rates.frames_per_s, 20_000.0));
        assert!(close(t.rates.new_sessions_per_s, 400.0));
    }
}
