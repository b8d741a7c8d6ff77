//! The control plane's wiring and shutdown: an actix System on its own thread running the log
//! and stats actors and the ctl actor's pool (consoles), and a handle the (non-actix) rest of
//! the program queries and stops.
//!
//! Shutdown order (reference/crates.md §13): the caller stops RX and joins the cores first, so
//! every sender of the event and snapshot channels is gone; `ControlPlane::shutdown` then has
//! the log actor write every batch left in its channel and flush its drain, takes the final
//! totals, stops the System and joins its thread. Every step has a deadline: a wedged terminal
//! cannot hang the process, it makes the report say `complete: false`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::events::{CoreSnapshot, EventBatch};
use super::log::{DrainAndFlush, LogActor, LogCounts, SessionLog};
use super::stats::{GetTotals, StatsActor, Totals};
use crate::export::config::{ExportHandle, HostCounters};

/// How long `totals()` waits for the stats actor.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(1);

/// How long shutdown waits for the log actor to write and flush what is left. Generous: a
/// backlog of a full channel through a slow terminal is legitimate work.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for the System's thread once it was told to stop.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot start the control-plane thread: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("cannot create the control-plane runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("the control-plane thread ended before its actors started")]
    StartupFailed,
    #[error("the control plane is not running")]
    Stopped,
    #[error("no answer from the control plane within {0:?}")]
    Timeout(Duration),
    #[error("cannot install the SIGINT/SIGTERM handler: {0}")]
    Signal(#[from] ctrlc::Error),
}

/// What shutdown found.
#[derive(Debug, Clone, Default)]
pub struct ShutdownReport {
    /// Events the log actor wrote, including the final drain.
    pub events_delivered: u64,
    /// Events the log's writer queue refused (full).
    pub events_dropped_by_log: u64,
    /// Snapshots the stats actor took off its channel.
    pub snapshots_received: u64,
    /// The final totals (default when the stats actor did not answer in time).
    pub totals: Totals,
    /// Every collector's final counters (empty when the log actor did not answer in time).
    pub collectors: Vec<HostCounters>,
    /// Every step finished within its deadline: the drain, the flush, the final totals and
    /// the join of the System's thread.
    pub complete: bool,
}

/// A running control plane.
pub struct ControlPlane {
    system: System,
    log: Addr<LogActor>,
    stats: Addr<StatsActor>,
    delivered: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

type Started = (System, Addr<LogActor>, Addr<StatsActor>);

impl ControlPlane {
    /// Starts the actix System on a thread named `sessmgr-control`, with the log actor reading
    /// `events` and the stats actor reading `snapshots`. `log` is a `slog::Logger`, or a
    /// `(Logger, LogFlushGuard)` from `terminal_logger_with_guard` to flush at shutdown.
    /// `export`: the collectors' configuration and counters, shared with the console.
    pub fn start(
        log: impl Into<SessionLog>,
        events: flume::Receiver<EventBatch>,
        snapshots: flume::Receiver<CoreSnapshot>,
        export: Arc<ExportHandle>,
    ) -> Result<ControlPlane, ControlError> {
        Self::start_with_info(log, events, snapshots, export, None)
    }

    /// `start`, the log actor also sending the information centre's messages to the log
    /// hosts (`sessmgr run`).
    pub fn start_with_info(
        log: impl Into<SessionLog>,
        events: flume::Receiver<EventBatch>,
        snapshots: flume::Receiver<CoreSnapshot>,
        export: Arc<ExportHandle>,
        info: Option<Arc<crate::infocenter::InfoCenter>>,
    ) -> Result<ControlPlane, ControlError> {
        let log = log.into();
        let delivered = Arc::new(AtomicU64::new(0));
        let counter = delivered.clone();
        let (ready_tx, ready_rx) = flume::bounded::<Result<Started, std::io::Error>>(1);
        let thread = std::thread::Builder::new()
            .name("sessmgr-control".into())
            .spawn(move || {
                // Built here rather than by `System::new()`, which panics when the runtime
                // cannot be created (out of file descriptors, say).
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let runner = System::with_tokio_rt(|| rt);
                let started = runner.block_on(async move {
                    let log = LogActor::new(log, events, counter, export)
                        .with_info(info)
                        .start();
                    let stats = StatsActor::new(snapshots).start();
                    (System::current(), log, stats)
                });
                if ready_tx.send(Ok(started)).is_err() {
                    return;
                }
                // Err only for a non-zero exit code, which nothing here sets.
                let _ = runner.run();
            })
            .map_err(ControlError::Spawn)?;
        match ready_rx.recv() {
            Ok(Ok((system, log, stats))) => Ok(ControlPlane {
                system,
                log,
                stats,
                delivered,
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(ControlError::Runtime(e))
            }
            Err(_) => {
                let _ = thread.join();
                Err(ControlError::StartupFailed)
            }
        }
    }

    /// The current totals and rates, from the stats actor (waits up to `QUERY_TIMEOUT`).
    pub fn totals(&self) -> Result<Totals, ControlError> {
        self.totals_within(QUERY_TIMEOUT)
    }

    pub fn totals_within(&self, timeout: Duration) -> Result<Totals, ControlError> {
        let (tx, rx) = flume::bounded(1);
        let stats = self.stats.clone();
        let sent = self.system.arbiter().spawn(async move {
            let _ = tx.send(stats.send(GetTotals).await);
        });
        if !sent {
            return Err(ControlError::Stopped);
        }
        match rx.recv_timeout(timeout) {
            Ok(Ok(totals)) => Ok(totals),
            Ok(Err(_)) | Err(flume::RecvTimeoutError::Disconnected) => Err(ControlError::Stopped),
            Err(flume::RecvTimeoutError::Timeout) => Err(ControlError::Timeout(timeout)),
        }
    }

    /// Starts the ctl actor (the console service) on this System for `engine`.
    pub fn start_ctl(
        &self,
        engine: Arc<crate::ctl::engine::Engine>,
    ) -> Result<super::ctl::CtlHandle, ControlError> {
        let (tx, rx) = flume::bounded(1);
        // SyncArbiter::start needs the System's context: run it on the System's arbiter.
        let sent = self.system.arbiter().spawn_fn(move || {
            let _ = tx.send(super::ctl::CtlHandle::start(engine));
        });
        if !sent {
            return Err(ControlError::Stopped);
        }
        rx.recv_timeout(QUERY_TIMEOUT)
            .map_err(|_| ControlError::Timeout(QUERY_TIMEOUT))
    }

    /// Events the log actor has written so far.
    pub fn events_delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Drains, flushes, stops and joins (see the module notes). Call it after the cores are
    /// joined: a batch sent after the final drain is not written.
    pub fn shutdown(mut self) -> ShutdownReport {
        let (tx, rx) = flume::bounded::<(Option<LogCounts>, Option<Totals>)>(1);
        let log = self.log.clone();
        let stats = self.stats.clone();
        let sent = self.system.arbiter().spawn(async move {
            let counts = log.send(DrainAndFlush).await.ok();
            let totals = stats.send(GetTotals).await.ok();
            let _ = tx.send((counts, totals));
        });
        let (counts, totals) = if sent {
            rx.recv_timeout(DRAIN_TIMEOUT).unwrap_or((None, None))
        } else {
            (None, None)
        };
        let joined = self.stop_and_join();
        ShutdownReport {
            events_delivered: counts
                .as_ref()
                .map_or_else(|| self.events_delivered(), |c| c.events),
            events_dropped_by_log: counts.as_ref().map_or(0, |c| c.dropped),
            snapshots_received: totals.as_ref().map_or(0, |t| t.snapshots_received),
            complete: joined && counts.is_some() && totals.is_some(),
            totals: totals.unwrap_or_default(),
            collectors: counts.map(|c| c.collectors).unwrap_or_default(),
        }
    }

    /// Stops the System and waits up to `JOIN_TIMEOUT` for its thread; false if it did not
    /// end in time (the thread is then left to finish on its own) or it panicked.
    fn stop_and_join(&mut self) -> bool {
        let Some(thread) = self.thread.take() else {
            return true;
        };
        self.system.stop();
        let deadline = Instant::now() + JOIN_TIMEOUT;
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        thread.join().is_ok()
    }
}

impl Drop for ControlPlane {
    /// A control plane dropped without `shutdown` still stops its thread (without the drain).
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Installs the process's SIGINT and SIGTERM handler (ctrlc with `termination`, which also
/// takes SIGHUP): the returned flag turns true on the first signal; cores poll it between
/// batches. Only one handler per process: a second call is an error.
pub fn install_signal_handler() -> Result<Arc<AtomicBool>, ControlError> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))?;
    Ok(stop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::events::EventKind;
    use crate::actors::log::tests::{Collect, tcp_event};
    use crate::actors::log::{discard_logger, terminal_logger_with_guard};
    use crate::drop::DropReason;
    use crate::table::shard::ShardStats;

    struct Produced {
        events: u64,
        events_dropped: u64,
        snapshots: u64,
        snapshots_dropped: u64,
    }

    /// A fake core: sends `batches` event batches and a snapshot every 100 batches (and a
    /// final one), all with `try_send`, counting what did not fit.
    fn fake_core(
        core: u8,
        batches: u64,
        events: flume::Sender<EventBatch>,
        snapshots: flume::Sender<CoreSnapshot>,
    ) -> Produced {
        let mut p = Produced {
            events: 0,
            events_dropped: 0,
            snapshots: 0,
            snapshots_dropped: 0,
        };
        let mut snap = CoreSnapshot {
            core,
            ..CoreSnapshot::default()
        };
        let send_snapshot = |snap: &CoreSnapshot, p: &mut Produced| {
            p.snapshots += 1;
            if snapshots.try_send(snap.clone()).is_err() {
                p.snapshots_dropped += 1;
            }
        };
        for i in 0..batches {
            let n = (i % 7 + 1) as usize;
            let batch: EventBatch = (0..n)
                .map(|j| {
                    tcp_event(
                        EventKind::Created,
                        (u64::from(core) << 40) | (i << 8) | j as u64,
                        1,
                    )
                })
                .collect();
            p.events += n as u64;
            if events.try_send(batch).is_err() {
                p.events_dropped += n as u64;
                snap.events_dropped += 1;
            }
            snap.frames += 10;
            snap.table.created += n as u64;
            snap.at_ns += 1_000_000;
            if i % 100 == 99 {
                send_snapshot(&snap, &mut p);
            }
            if i % 20 == 19 {
                // Let the control plane catch up now and then so both paths are exercised.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        // The shutdown snapshot may wait a little (the core has stopped RX by then), so the
        // final totals are exact.
        snap.drops.count(DropReason::TableFull);
        p.snapshots += 1;
        if snapshots
            .send_timeout(snap, Duration::from_secs(1))
            .is_err()
        {
            p.snapshots_dropped += 1;
        }
        p
    }

    #[test]
    fn every_event_is_delivered_or_counted_as_dropped() {
        let sink = Collect::default();
        let (ev_tx, ev_rx) = flume::bounded(32);
        let (snap_tx, snap_rx) = flume::bounded(4);
        let cp = ControlPlane::start(sink.logger(), ev_rx, snap_rx, Arc::default()).unwrap();
        let cores: Vec<_> = (0..2u8)
            .map(|core| {
                let (e, s) = (ev_tx.clone(), snap_tx.clone());
                std::thread::spawn(move || fake_core(core, 2_000, e, s))
            })
            .collect();
        drop((ev_tx, snap_tx));
        // A query while the cores run must not disturb anything.
        assert!(cp.totals().is_ok());
        let produced: Vec<Produced> = cores.into_iter().map(|c| c.join().unwrap()).collect();
        let report = cp.shutdown();

        let events: u64 = produced.iter().map(|p| p.events).sum();
        let dropped: u64 = produced.iter().map(|p| p.events_dropped).sum();
        assert!(report.complete);
        assert!(report.events_delivered > 0, "nothing got through");
        assert_eq!(report.events_delivered + dropped, events);
        assert_eq!(sink.lines().len() as u64, report.events_delivered);

        let snaps: u64 = produced.iter().map(|p| p.snapshots).sum();
        let snaps_dropped: u64 = produced.iter().map(|p| p.snapshots_dropped).sum();
        assert_eq!(report.snapshots_received + snaps_dropped, snaps);
        assert_eq!(report.snapshots_received, report.totals.snapshots_received);
        // The final snapshots fit (the control plane had room by then), so the totals are
        // the cores' final counters.
        assert_eq!(report.totals.cores, 2);
        assert_eq!(report.totals.created, events);
        assert_eq!(report.totals.frames, 2 * 2_000 * 10);
        assert_eq!(report.totals.drops.get(DropReason::TableFull), 2);
    }

    #[test]
    fn totals_and_rates_through_the_running_actor() {
        let (_ev_tx, ev_rx) = flume::bounded(8);
        let (snap_tx, snap_rx) = flume::bounded(8);
        let cp = ControlPlane::start(discard_logger(), ev_rx, snap_rx, Arc::default()).unwrap();
        let snap = |core, at_ms: u64, frames, created| CoreSnapshot {
            core,
            at_ns: at_ms * 1_000_000,
            frames,
            sessions: created,
            table: ShardStats {
                created,
                ..ShardStats::default()
            },
            ..CoreSnapshot::default()
        };
        for s in [
            snap(0, 0, 0, 0),
            snap(1, 0, 0, 0),
            snap(0, 100, 5_000, 100),
            snap(1, 100, 1_000, 10),
        ] {
            assert!(snap_tx.try_send(s).is_ok());
        }
        let t = cp.totals().unwrap();
        assert_eq!(
            (t.cores, t.frames, t.created, t.sessions),
            (2, 6_000, 110, 110)
        );
        assert!((t.rates.frames_per_s - 60_000.0).abs() < 1e-6);
        assert!((t.rates.new_sessions_per_s - 1_100.0).abs() < 1e-6);
        assert_eq!(cp.events_delivered(), 0);
        let report = cp.shutdown();
        assert!(report.complete);
        assert_eq!(report.snapshots_received, 4);
    }

    #[test]
    fn shutdown_is_quick_with_an_empty_channel_and_live_senders() {
        let (ev_tx, ev_rx) = flume::bounded::<EventBatch>(8);
        let (snap_tx, snap_rx) = flume::bounded::<CoreSnapshot>(8);
        let cp = ControlPlane::start(terminal_logger_with_guard(), ev_rx, snap_rx, Arc::default())
            .unwrap();
        let begun = Instant::now();
        let report = cp.shutdown();
        assert!(
            begun.elapsed() < Duration::from_secs(2),
            "{:?}",
            begun.elapsed()
        );
        assert!(report.complete);
        assert_eq!(report.events_delivered, 0);
        // The senders outlive the control plane: a late core sees a disconnected channel, not
        // a hang.
        assert!(ev_tx.try_send(Vec::new()).is_err());
        assert!(snap_tx.try_send(CoreSnapshot::default()).is_err());
    }

    #[test]
    fn shutdown_is_quick_with_the_senders_gone() {
        let (ev_tx, ev_rx) = flume::bounded::<EventBatch>(8);
        let (snap_tx, snap_rx) = flume::bounded::<CoreSnapshot>(8);
        drop((ev_tx, snap_tx));
        let cp = ControlPlane::start(discard_logger(), ev_rx, snap_rx, Arc::default()).unwrap();
        let begun = Instant::now();
        let report = cp.shutdown();
        assert!(begun.elapsed() < Duration::from_secs(2));
        assert!(report.complete);
    }

    #[test]
    fn a_dropped_control_plane_stops_its_thread() {
        let (_ev_tx, ev_rx) = flume::bounded::<EventBatch>(8);
        let (_snap_tx, snap_rx) = flume::bounded::<CoreSnapshot>(8);
        let begun = Instant::now();
        drop(ControlPlane::start(discard_logger(), ev_rx, snap_rx, Arc::default()).unwrap());
        assert!(begun.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn sigterm_sets_the_stop_flag() {
        // The only test in the crate that installs the handler (one per process).
        let stop = install_signal_handler().unwrap();
        assert!(!stop.load(Ordering::SeqCst));
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(2);
        while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(stop.load(Ordering::SeqCst));
        assert!(matches!(
            install_signal_handler(),
            Err(ControlError::Signal(ctrlc::Error::MultipleHandlers))
        ));
    }
}
