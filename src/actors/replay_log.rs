//! Session logs of a replay (`sessmgr replay --startup FILE`): the logs go to the configured
//! collectors during the replay, stamped with capture time, through the same `Collectors` the
//! log actor drives in `run`. `ReplaySender` does that on whichever thread: the one-core
//! replay's own, or (`--cores N`) the thread of `ReplayLog`.
//!
//! The cores send logs in order and wait on a full channel (`EventsMode::LogsInOrder`), so
//! what a collector receives does not depend on thread timing. At the end of the capture the
//! caller asks for the totals (`ReplayLog::finish`) once every core has answered
//! `EndOfCapture`: every log is then in the channel, and is sent or counted before the answer.

use super::collectors::Collectors;
use super::events::{EventBatch, SessionEvent};
use crate::export::config::{ExportConfig, ExportHandle, HostCounters};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Batches the channel holds before a core waits.
const CHANNEL: usize = 4096;
/// Batches of logs taken before datagrams in progress are closed: full datagrams, few system
/// calls.
const FLUSH_EVERY: usize = 16;
/// How long the end of a replay gives a TCP collector to take what is queued for it.
const FINISH_WITHIN: Duration = Duration::from_secs(2);

/// A replay's collectors on capture time, whichever thread drives them: the logs of each
/// batch in, datagrams closed every few batches, and at the end everything sent or counted
/// and the counters published (`display userlog export` through `--exec`).
pub struct ReplaySender {
    collectors: Collectors,
    /// The latest log's time (engine ms = capture time): what datagrams are stamped with.
    last_ms: u64,
    batches: usize,
}

impl ReplaySender {
    pub fn new(config: ExportConfig) -> ReplaySender {
        ReplaySender {
            // Replay time is Unix time: no clock offset.
            collectors: Collectors::new(config, 0),
            last_ms: 0,
            batches: 0,
        }
    }

    /// One batch of logs; `flush_now` closes the datagrams in progress whatever the count.
    pub fn take(&mut self, logs: &[SessionEvent], flush_now: bool) {
        for ev in logs {
            self.collectors.log(ev);
            self.last_ms = self.last_ms.max(ev.at_ns / 1_000_000);
        }
        self.batches += 1;
        if flush_now || self.batches.is_multiple_of(FLUSH_EVERY) {
            self.collectors.flush(self.last_ms);
        }
    }

    /// The information centre's messages (alarms raised on capture time), to the log hosts.
    pub fn messages(&mut self, messages: &[crate::infocenter::Message]) {
        self.collectors.messages(messages);
        if let Some(last) = messages.iter().map(|m| m.ms).max() {
            self.last_ms = self.last_ms.max(last);
        }
    }

    /// Sends or counts every log taken, publishes the counters on `handle` and answers them.
    pub fn finish(&mut self, handle: &ExportHandle) -> Vec<HostCounters> {
        self.collectors.flush(self.last_ms);
        let counters = self.collectors.finish(Instant::now() + FINISH_WITHIN);
        handle.add_unrouted(self.collectors.take_unrouted());
        handle.publish(counters.clone());
        counters
    }
}

/// The replay's log sender on a thread of its own (`replay --cores N`).
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
                let mut sender = ReplaySender::new(config);
                loop {
                    match rx.recv_timeout(Duration::from_millis(5)) {
                        // An idle channel closes the datagrams in progress at once.
                        Ok(batch) => sender.take(&batch, rx.is_empty()),
                        Err(flume::RecvTimeoutError::Timeout) => {}
                        Err(flume::RecvTimeoutError::Disconnected) => break,
                    }
                    if let Ok(reply) = finish_rx.try_recv() {
                        // Every core answered EndOfCapture: all their logs are queued here.
                        while let Ok(batch) = rx.try_recv() {
                            sender.take(&batch, false);
                        }
                        let _ = reply.send(sender.finish(&handle));
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
