//! Session logs of a replay (`sessmgr replay --startup FILE`): the cores' logs go to the
//! configured collectors during the replay, stamped with capture time, through the same
//! `Collectors` the log actor drives in `run`, on a thread of their own.
//!
//! The cores send logs in order and wait on a full channel (`EventsMode::LogsInOrder`), so
//! what a collector receives does not depend on thread timing. At the end of the capture the
//! caller asks for the totals (`ReplayLog::finish`) once every core has answered
//! `EndOfCapture`: every log is then in the channel, and is sent or counted before the answer.

use super::collectors::Collectors;
use super::events::EventBatch;
use crate::export::config::{ExportConfig, ExportHandle, HostCounters};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Batches the channel holds before a core waits.
const CHANNEL: usize = 4096;
/// Batches taken before datagrams in progress are closed, when more are waiting (a busy
/// replay fills whole datagrams; an idle channel flushes at once).
const FLUSH_EVERY: usize = 64;
/// How long the end of a replay gives a TCP collector to take what is queued for it.
const FINISH_WITHIN: Duration = Duration::from_secs(2);

/// The replay's log sender.
pub struct ReplayLog {
    /// What the cores send on (one clone each).
    pub events: flume::Sender<EventBatch>,
    finish: flume::Sender<flume::Sender<Vec<HostCounters>>>,
    thread: Option<JoinHandle<()>>,
}

impl ReplayLog {
    /// Starts the sender for `config`; its counters are published on `handle` (so `--exec
    /// "display userlog export"` shows them). Replay time is Unix time: no clock offset.
    pub fn start(config: ExportConfig, handle: Arc<ExportHandle>) -> std::io::Result<ReplayLog> {
        let (tx, rx) = flume::bounded::<EventBatch>(CHANNEL);
        let (finish_tx, finish_rx) = flume::bounded::<flume::Sender<Vec<HostCounters>>>(1);
        let thread = std::thread::Builder::new()
            .name("sessmgr-replay-log".into())
            .spawn(move || {
                let mut c = Collectors::new(config, 0);
                let mut last_ms = 0u64;
                let mut since_flush = 0usize;
                let take = |c: &mut Collectors, batch: EventBatch, last_ms: &mut u64| {
                    for ev in &batch {
                        c.log(ev);
                        *last_ms = (*last_ms).max(ev.at_ns / 1_000_000);
                    }
                };
                loop {
                    match rx.recv_timeout(Duration::from_millis(5)) {
                        Ok(batch) => {
                            take(&mut c, batch, &mut last_ms);
                            since_flush += 1;
                            if rx.is_empty() || since_flush >= FLUSH_EVERY {
                                c.flush(last_ms);
                                since_flush = 0;
                            }
                        }
                        Err(flume::RecvTimeoutError::Timeout) => {}
                        Err(flume::RecvTimeoutError::Disconnected) => break,
                    }
                    if let Ok(reply) = finish_rx.try_recv() {
                        // Every core answered EndOfCapture: all their logs are queued here.
                        while let Ok(batch) = rx.try_recv() {
                            take(&mut c, batch, &mut last_ms);
                        }
                        c.flush(last_ms);
                        let counters = c.finish(Instant::now() + FINISH_WITHIN);
                        handle.add_unrouted(c.take_unrouted());
                        handle.publish(counters.clone());
                        let _ = reply.send(counters);
                    }
                }
            })?;
        Ok(ReplayLog {
            events: tx,
            finish: finish_tx,
            thread: Some(thread),
        })
    }

    /// Sends or counts every log queued so far and answers each host's totals. Call once
    /// every core has answered `EndOfCapture`.
    pub fn finish(&self) -> Vec<HostCounters> {
        let (tx, rx) = flume::bounded(1);
        if self.finish.send(tx).is_err() {
            return Vec::new();
        }
        rx.recv().unwrap_or_default()
    }
}

impl Drop for ReplayLog {
    fn drop(&mut self) {
        // The thread ends once every sender is gone (the cores' clones go with the cores).
        let (tx, _) = flume::bounded(1);
        self.events = tx;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
