//! The log actor: turns the cores' session events into one slog line each.
//!
//! Every core owns a clone of one bounded `flume::Sender<EventBatch>` and uses `try_send`, so
//! a slow terminal or collector never stalls the data path: a full channel is a drop the core
//! counts (`CoreSnapshot::events_dropped`). This actor polls the receiver on a 10 ms interval
//! with `try_iter` (sync flume only: the async receive paths of flume 0.12 have known lost
//! wake-up issues, reference/crates.md §14) and takes at most `BATCHES_PER_TURN` batches per
//! turn so the stats actor on the same arbiter keeps answering during a burst.
//!
//! Sizing: the channel must hold what the cores emit between two polls, i.e. at least
//! `cores x peak batches/s x 10 ms` (two cores at 40k batches/s each: 800; use 4096).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix::prelude::*;
use slog::{Drain, Logger, info, o};

use super::events::{EventBatch, EventKind, SessionEvent};
use crate::proto::key::addr_to_ip;
use crate::replay::proto_name;
use crate::table::track::state_name;

/// How often the actor looks at the channel when it is idle.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Batches taken in one turn before yielding to other messages on the arbiter.
pub const BATCHES_PER_TURN: usize = 1024;

/// Records the terminal's writer queue holds. A record that finds it full is dropped, never
/// waited for (a terminal nobody reads must not stop the engine), and counted.
const TERMINAL_QUEUE: usize = 8192;

/// Finishes the terminal's writer thread: every record queued before the drop is written.
///
/// Wraps `slog_async::AsyncGuard`. Once it is dropped, records sent through the logger are
/// discarded (and counted, for the session events' logger).
pub struct LogFlushGuard(#[allow(dead_code)] slog_async::AsyncGuard);

impl std::fmt::Debug for LogFlushGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogFlushGuard")
    }
}

/// Where the log actor writes: a logger, optionally the guard that flushes its writer when
/// the actor drains for shutdown, and optionally the counter of records that logger's queue
/// refused (so an event is delivered only when it was queued for writing).
#[derive(Debug)]
pub struct SessionLog {
    pub logger: Logger,
    pub flush: Option<LogFlushGuard>,
    pub lost: Option<Arc<AtomicU64>>,
}

impl From<Logger> for SessionLog {
    fn from(logger: Logger) -> Self {
        SessionLog {
            logger,
            flush: None,
            lost: None,
        }
    }
}

impl From<(Logger, LogFlushGuard)> for SessionLog {
    fn from((logger, flush): (Logger, LogFlushGuard)) -> Self {
        SessionLog {
            logger,
            flush: Some(flush),
            lost: None,
        }
    }
}

/// The terminal (stderr) log: one writer thread behind a bounded queue, shared by the
/// daemon's own messages and the session events, with a logger for each.
pub struct TerminalLog {
    /// The daemon's own messages.
    pub daemon: Logger,
    /// Session events: a record the queue refuses is counted in `events_lost`.
    pub events: Logger,
    pub events_lost: Arc<AtomicU64>,
    pub flush: LogFlushGuard,
}

impl TerminalLog {
    pub fn new() -> TerminalLog {
        let (core, guard) = slog_async::AsyncCore::custom(terminal_drain())
            .chan_size(TERMINAL_QUEUE)
            .blocking(false)
            .thread_name("sessmgr-log".into())
            .build_with_guard();
        let core = Arc::new(core);
        let events_lost = Arc::new(AtomicU64::new(0));
        TerminalLog {
            daemon: Logger::root(Arc::clone(&core).ignore_res(), o!()),
            events: Logger::root(
                CountRefused {
                    inner: core,
                    refused: events_lost.clone(),
                },
                o!(),
            ),
            events_lost,
            flush: LogFlushGuard(guard),
        }
    }

    /// What the log actor writes session events to: the events' logger, its counter and the
    /// writer's flush guard.
    pub fn session_log(logger: Logger, lost: Arc<AtomicU64>, flush: LogFlushGuard) -> SessionLog {
        SessionLog {
            logger,
            flush: Some(flush),
            lost: Some(lost),
        }
    }
}

impl Default for TerminalLog {
    fn default() -> Self {
        Self::new()
    }
}

/// A drain that counts the records its inner drain refuses (a full queue) instead of
/// losing them silently.
struct CountRefused<D> {
    inner: Arc<D>,
    refused: Arc<AtomicU64>,
}

impl<D: Drain> Drain for CountRefused<D> {
    type Ok = ();
    type Err = slog::Never;

    fn log(
        &self,
        record: &slog::Record<'_>,
        values: &slog::OwnedKVList,
    ) -> Result<(), slog::Never> {
        if self.inner.log(record, values).is_err() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// A terminal logger and the guard that flushes it (tests; the engine uses `TerminalLog`).
pub fn terminal_logger_with_guard() -> (Logger, LogFlushGuard) {
    let t = TerminalLog::new();
    (t.daemon, t.flush)
}

fn terminal_drain() -> impl Drain<Ok = (), Err = slog::Never> + Send + 'static {
    let decorator = slog_term::TermDecorator::new().stderr().build();
    slog_term::FullFormat::new(decorator).build().ignore_res()
}

/// A logger that writes nothing (tests, benchmarks, `--quiet`).
pub fn discard_logger() -> Logger {
    Logger::root(slog::Discard, o!())
}

/// Writes one event as one line. The keys are stable: collectors and tests match on them.
///
/// slog hands a record's pairs to the drain last-first, so they are listed here in reverse:
/// the line reads `session created, session: 7, proto: tcp, src: ..., state: SYN_SENT`.
pub fn log_event(logger: &Logger, ev: &SessionEvent) {
    let k = &ev.orig;
    let proto = proto_name(k.proto);
    let src = addr_to_ip(k.family, &k.src);
    let dst = addr_to_ip(k.family, &k.dst);
    let state = state_name(k.proto, ev.state);
    match ev.kind {
        EventKind::Created => info!(logger, "session created";
            "state" => state,
            "vpn" => k.vpn, "dport" => k.dport, "dst" => %dst, "sport" => k.sport, "src" => %src,
            "proto" => proto, "session" => ev.session),
        EventKind::StateChanged { from } => info!(logger, "session state changed";
            "state" => state, "from" => state_name(k.proto, from),
            "vpn" => k.vpn, "dport" => k.dport, "dst" => %dst, "sport" => k.sport, "src" => %src,
            "proto" => proto, "session" => ev.session),
        EventKind::Deleted(reason) => info!(logger, "session deleted";
            "reason" => reason.name(), "state" => state,
            "vpn" => k.vpn, "dport" => k.dport, "dst" => %dst, "sport" => k.sport, "src" => %src,
            "proto" => proto, "session" => ev.session),
        // Logs for collectors only: the terminal already shows the session's life.
        EventKind::Active | EventKind::Final => {}
    }
}

/// The log actor. See the module notes.
pub struct LogActor {
    log: SessionLog,
    rx: flume::Receiver<EventBatch>,
    delivered: Arc<AtomicU64>,
    batches: u64,
    /// Events the writer's queue refused (full).
    dropped: u64,
}

impl LogActor {
    /// `delivered` counts events written; the control plane reads it without a message.
    pub fn new(
        log: impl Into<SessionLog>,
        rx: flume::Receiver<EventBatch>,
        delivered: Arc<AtomicU64>,
    ) -> LogActor {
        LogActor {
            log: log.into(),
            rx,
            delivered,
            batches: 0,
            dropped: 0,
        }
    }

    fn write_batch(&mut self, batch: &EventBatch) {
        // Only this actor writes to the events' logger: what its counter gained meanwhile
        // is what this batch lost.
        let lost_before = self.lost_so_far();
        for ev in batch {
            log_event(&self.log.logger, ev);
        }
        let lost = self.lost_so_far() - lost_before;
        self.batches += 1;
        self.dropped += lost;
        self.delivered.fetch_add(
            batch.len() as u64 - lost.min(batch.len() as u64),
            Ordering::Relaxed,
        );
    }

    fn lost_so_far(&self) -> u64 {
        self.log
            .lost
            .as_ref()
            .map_or(0, |l| l.load(Ordering::Relaxed))
    }

    /// Takes up to `limit` batches; true when the limit was reached (more may be waiting).
    fn drain_turn(&mut self, limit: usize) -> bool {
        let mut taken = 0;
        while taken < limit {
            match self.rx.try_recv() {
                Ok(batch) => {
                    self.write_batch(&batch);
                    taken += 1;
                }
                Err(_) => return false,
            }
        }
        true
    }

    /// Takes everything left. Once every sender is gone (cores joined) this ends with the
    /// channel empty and nothing can arrive after it.
    fn drain_all(&mut self) {
        while let Ok(batch) = self.rx.try_recv() {
            self.write_batch(&batch);
        }
    }

    fn turn(&mut self, ctx: &mut Context<Self>) {
        if self.drain_turn(BATCHES_PER_TURN) {
            ctx.notify(Continue);
        }
    }
}

impl Actor for LogActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(POLL_INTERVAL, |act, ctx| act.turn(ctx));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        // Normally `DrainAndFlush` already ran; this covers an actor stopped some other way.
        self.drain_all();
    }
}

/// A burst filled a whole turn: come back right after the other queued messages.
#[derive(Message)]
#[rtype(result = "()")]
struct Continue;

impl Handler<Continue> for LogActor {
    type Result = ();

    fn handle(&mut self, _: Continue, ctx: &mut Self::Context) {
        self.turn(ctx);
    }
}

/// Shutdown: write every batch still in the channel, then flush the async drain (when the
/// actor was given its guard). Answers with what the actor delivered in total.
#[derive(Message)]
#[rtype(result = "LogCounts")]
pub struct DrainAndFlush;

/// What the log actor has delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, MessageResponse)]
pub struct LogCounts {
    /// Events queued for writing (and written by the flush).
    pub events: u64,
    pub batches: u64,
    /// Events the writer's queue refused.
    pub dropped: u64,
}

impl Handler<DrainAndFlush> for LogActor {
    type Result = LogCounts;

    fn handle(&mut self, _: DrainAndFlush, _ctx: &mut Self::Context) -> LogCounts {
        self.drain_all();
        // Dropping the guard joins the slog-async worker after it wrote its queue.
        self.log.flush = None;
        LogCounts {
            events: self.delivered.load(Ordering::Relaxed),
            batches: self.batches,
            dropped: self.dropped,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::actors::events::CloseReason;
    use crate::proto::key::FlowKey;
    use crate::proto::key::ip_to_addr;
    use crate::proto::tcp::TcpState;
    use crate::proto::wire::ipproto;
    use slog::KV as _;
    use std::fmt::Write as _;
    use std::sync::Mutex;

    /// A drain that renders each record as `message; key=value ...` into a shared Vec.
    #[derive(Clone, Default)]
    pub(crate) struct Collect(pub Arc<Mutex<Vec<String>>>);

    struct Line(String);

    impl slog::Serializer for Line {
        fn emit_arguments(&mut self, key: slog::Key, val: &std::fmt::Arguments) -> slog::Result {
            let _ = write!(self.0, " {key}={val}");
            Ok(())
        }
    }

    impl Drain for Collect {
        type Ok = ();
        type Err = slog::Never;

        fn log(
            &self,
            record: &slog::Record,
            values: &slog::OwnedKVList,
        ) -> Result<(), slog::Never> {
            let mut line = Line(format!("{};", record.msg()));
            let _ = record.kv().serialize(record, &mut line);
            let _ = values.serialize(record, &mut line);
            if let Ok(mut lines) = self.0.lock() {
                lines.push(line.0);
            }
            Ok(())
        }
    }

    impl Collect {
        pub(crate) fn logger(&self) -> Logger {
            Logger::root(self.clone().fuse(), o!())
        }

        pub(crate) fn lines(&self) -> Vec<String> {
            self.0.lock().map(|l| l.clone()).unwrap_or_default()
        }
    }

    pub(crate) fn tcp_event(kind: EventKind, session: u64, state: u8) -> SessionEvent {
        let (family, src) = ip_to_addr("192.0.2.1".parse().unwrap());
        let (_, dst) = ip_to_addr("198.51.100.7".parse().unwrap());
        SessionEvent {
            kind,
            session,
            orig: FlowKey {
                src,
                dst,
                sport: 40000,
                dport: 80,
                proto: ipproto::TCP,
                family,
                vpn: 0,
            },
            state,
            at_ns: 1,
            log: None,
        }
    }

    #[test]
    fn one_line_per_event_with_the_expected_keys() {
        let sink = Collect::default();
        let logger = sink.logger();
        let syn = TcpState::SynSent as u8;
        let est = TcpState::Established as u8;
        log_event(&logger, &tcp_event(EventKind::Created, 7, syn));
        log_event(
            &logger,
            &tcp_event(EventKind::StateChanged { from: syn }, 7, est),
        );
        log_event(
            &logger,
            &tcp_event(EventKind::Deleted(CloseReason::AgedOut), 7, est),
        );
        let tuple = "session=7 proto=tcp src=192.0.2.1 sport=40000 dst=198.51.100.7 dport=80 vpn=0";
        let expected = [
            format!("session created; {tuple} state=SYN_SENT"),
            format!("session state changed; {tuple} from=SYN_SENT state=ESTABLISHED"),
            format!("session deleted; {tuple} state=ESTABLISHED reason=aged_out"),
        ];
        assert_eq!(sink.lines(), expected);
    }

    #[test]
    fn ipv6_addresses_are_written_in_their_text_form() {
        let sink = Collect::default();
        let mut ev = tcp_event(EventKind::Created, 1, TcpState::SynSent as u8);
        let (family, src) = ip_to_addr("2001:db8::1".parse().unwrap());
        let (_, dst) = ip_to_addr("2001:db8::2".parse().unwrap());
        ev.orig.family = family;
        ev.orig.src = src;
        ev.orig.dst = dst;
        log_event(&sink.logger(), &ev);
        let lines = sink.lines();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("src=2001:db8::1 sport=40000 dst=2001:db8::2"));
    }

    #[actix::test]
    async fn actor_drains_and_counts() {
        let sink = Collect::default();
        let (tx, rx) = flume::bounded(64);
        let delivered = Arc::new(AtomicU64::new(0));
        let addr = LogActor::new(sink.logger(), rx, delivered.clone()).start();
        for i in 0..10u64 {
            let batch = vec![tcp_event(EventKind::Created, i, 1); 3];
            assert!(tx.try_send(batch).is_ok());
        }
        drop(tx);
        let counts = addr.send(DrainAndFlush).await.unwrap();
        assert_eq!(counts.events, 30);
        assert_eq!(counts.batches, 10);
        assert_eq!(delivered.load(Ordering::Relaxed), 30);
        assert_eq!(sink.lines().len(), 30);
    }
}
