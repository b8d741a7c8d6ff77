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
//!
//! Collectors (issue #12 §3): the actor also owns the `Collectors` (actors/collectors). Each
//! turn it takes the console's export configuration and `reset userlog flow export` from the
//! shared `ExportHandle`, hands every event that carries log facts to the collectors, then
//! flushes them (datagrams close, TCP queues are written) and publishes their counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use slog::{Logger, info};

use super::collectors::Collectors;
use super::events::{EventBatch, EventKind, SessionEvent};
// The terminal's writer lives in terminal.rs; these names stay reachable from here.
pub use super::terminal::{
    LogFlushGuard, SessionLog, TerminalLog, discard_logger, terminal_logger_with_guard,
};
use crate::export::config::{ExportConfig, ExportHandle, HostCounters};
use crate::proto::key::addr_to_ip;
use crate::replay::proto_name;
use crate::table::track::state_name;

/// How often the actor looks at the channel when it is idle.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Batches taken in one turn before yielding to other messages on the arbiter.
pub const BATCHES_PER_TURN: usize = 1024;

/// How long shutdown gives TCP log hosts to take what is queued for them before the rest is
/// counted as dropped (`shutdown`).
pub const COLLECTORS_FINISH: Duration = Duration::from_secs(2);

/// `unix = engine + offset` for the logs' times in `sessmgr run`: 0, because live back-ends
/// stamp frames with the wall clock (`PacketIo::idle_now_ns`), so the engine clock is Unix
/// time already (`display session table` passes the same 0 to `SessionRow::from_session`).
pub const LIVE_CLOCK_OFFSET_MS: i64 = 0;

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
    export: Arc<ExportHandle>,
    collectors: Collectors,
    /// The information centre whose messages (alarms, the daemon's events) go to the log
    /// hosts; `None` in tests of session logs alone.
    info: Option<Arc<crate::infocenter::InfoCenter>>,
    messages: Vec<crate::infocenter::Message>,
    /// Per TCP log host (by address and port): connected at the last turn, and whether it
    /// ever was (a host that never connected was not lost).
    links: Vec<(std::net::SocketAddr, bool, bool)>,
}

impl LogActor {
    /// `delivered` counts events written; the control plane reads it without a message.
    /// `export` is where the console sets the collectors and reads their counters.
    pub fn new(
        log: impl Into<SessionLog>,
        rx: flume::Receiver<EventBatch>,
        delivered: Arc<AtomicU64>,
        export: Arc<ExportHandle>,
    ) -> LogActor {
        LogActor {
            log: log.into(),
            rx,
            delivered,
            batches: 0,
            dropped: 0,
            export,
            collectors: Collectors::new(ExportConfig::default(), LIVE_CLOCK_OFFSET_MS),
            info: None,
            messages: Vec::new(),
            links: Vec::new(),
        }
    }

    /// Sends the information centre's messages to the log hosts too.
    pub fn with_info(mut self, info: Option<Arc<crate::infocenter::InfoCenter>>) -> LogActor {
        self.info = info;
        self
    }

    /// The information centre's messages since the last turn, to the log hosts; and a TCP
    /// log host lost or back is itself a message (raised here, sent next turn).
    fn send_messages(&mut self) {
        let Some(info) = &self.info else { return };
        self.messages.clear();
        info.take_for_hosts(&mut self.messages);
        self.collectors.messages(&self.messages);
        use crate::export::config::{HostKind, Transport};
        for h in self.collectors.counters() {
            if !matches!(h.kind, HostKind::Syslog(_, Transport::Tcp)) {
                continue;
            }
            let addr = std::net::SocketAddr::new(h.addr, h.port);
            let i = match self.links.iter().position(|l| l.0 == addr) {
                Some(i) => i,
                None => {
                    self.links.push((addr, false, false));
                    self.links.len() - 1
                }
            };
            let (_, was, ever) = self.links[i];
            let ms = crate::infocenter::wall_ms();
            use crate::infocenter::{Message, severity};
            if was && !h.connected {
                info.publish(Message::event(
                    ms,
                    severity::WARNING,
                    "LOGHOST_LOST",
                    format!("The connection to log host {addr} (TCP) was lost; logs for it are queued or dropped until it is back."),
                ));
            } else if !was && h.connected && ever {
                info.publish(Message::event(
                    ms,
                    severity::NOTIFICATION,
                    "LOGHOST_RECONNECTED",
                    format!("The connection to log host {addr} (TCP) is back."),
                ));
            }
            self.links[i] = (addr, h.connected, ever || h.connected);
        }
    }

    fn write_batch(&mut self, batch: &EventBatch) {
        // Only this actor writes to the events' logger: what its counter gained meanwhile
        // is what this batch lost.
        let lost_before = self.lost_so_far();
        for ev in batch {
            log_event(&self.log.logger, ev);
            self.collectors.log(ev);
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
        self.take_export_changes();
        let more = self.drain_turn(BATCHES_PER_TURN);
        self.send_messages();
        // The engine clock of `run` is the wall clock (`LIVE_CLOCK_OFFSET_MS`).
        self.collectors.flush(crate::infocenter::wall_ms());
        self.publish_export();
        if more {
            ctx.notify(Continue);
        }
    }

    /// The console's new export configuration and `reset userlog flow export`, if any.
    fn take_export_changes(&mut self) {
        if let Some(config) = self.export.take_config() {
            self.collectors.set_config(config);
        }
        if self.export.take_reset() {
            self.collectors.reset_flow_counters();
        }
    }

    fn publish_export(&mut self) {
        self.export.add_unrouted(self.collectors.take_unrouted());
        self.export.publish(self.collectors.counters());
    }

    /// Shutdown's end of the collectors: everything sent or counted by `deadline`.
    fn finish_collectors(&mut self, deadline: Instant) -> Vec<HostCounters> {
        let hosts = self.collectors.finish(deadline);
        self.export.add_unrouted(self.collectors.take_unrouted());
        self.export.publish(hosts.clone());
        hosts
    }
}

impl Actor for LogActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(POLL_INTERVAL, |act, ctx| act.turn(ctx));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        // Normally `DrainAndFlush` already ran; this covers an actor stopped some other way
        // (collectors: what can go at once goes, the rest is counted).
        self.drain_all();
        self.finish_collectors(Instant::now());
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
/// actor was given its guard) and finish the collectors (`COLLECTORS_FINISH`). Answers with
/// what the actor delivered in total.
#[derive(Message)]
#[rtype(result = "LogCounts")]
pub struct DrainAndFlush;

/// What the log actor has delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, MessageResponse)]
pub struct LogCounts {
    /// Events queued for writing (and written by the flush).
    pub events: u64,
    pub batches: u64,
    /// Events the writer's queue refused.
    pub dropped: u64,
    /// Every collector's final counters (nothing queued: sent or counted as dropped).
    pub collectors: Vec<HostCounters>,
}

impl Handler<DrainAndFlush> for LogActor {
    type Result = LogCounts;

    fn handle(&mut self, _: DrainAndFlush, _ctx: &mut Self::Context) -> LogCounts {
        self.take_export_changes();
        self.drain_all();
        // The daemon's last messages (its stop) go too.
        self.send_messages();
        // Dropping the guard joins the slog-async worker after it wrote its queue.
        self.log.flush = None;
        let collectors = self.finish_collectors(Instant::now() + COLLECTORS_FINISH);
        LogCounts {
            events: self.delivered.load(Ordering::Relaxed),
            batches: self.batches,
            dropped: self.dropped,
            collectors,
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
    use slog::{Drain, o};
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
        let addr = LogActor::new(sink.logger(), rx, delivered.clone(), Arc::default()).start();
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

    /// A logged creation, as the core sends it for a session with flow-begin logging.
    fn logged(session: u64) -> SessionEvent {
        use crate::table::session::DirCounters;
        let mut ev = tcp_event(EventKind::Created, session, 1);
        ev.log = Some(crate::table::events::LogFacts {
            app: 0,
            counters: [DirCounters::default(); 2],
            begin_ms: 0,
            ports: [0, 1],
            tos: 0,
            closing: false,
        });
        ev
    }

    #[actix::test]
    async fn actor_sends_logged_events_to_the_configured_collectors() {
        use crate::export::config::{FlowFormat, FlowHost};
        let rx_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx_socket.set_nonblocking(true).unwrap();
        let export: Arc<ExportHandle> = Arc::default();
        export.set_config(ExportConfig {
            flow_hosts: vec![FlowHost {
                addr: "127.0.0.1".parse().unwrap(),
                port: rx_socket.local_addr().unwrap().port(),
                format: FlowFormat::FlowLog3,
            }],
            ..ExportConfig::default()
        });
        let sink = Collect::default();
        let (tx, rx) = flume::bounded(64);
        let delivered = Arc::new(AtomicU64::new(0));
        let addr = LogActor::new(sink.logger(), rx, delivered, export.clone()).start();
        // Three logged events and one the core did not mark for collectors.
        let batch = vec![
            logged(1),
            logged(2),
            tcp_event(EventKind::Created, 3, 1),
            logged(4),
        ];
        assert!(tx.try_send(batch).is_ok());
        // The actor's next turn sends one flow-log datagram with the three logs (the actor
        // runs on this thread: wait for it by yielding, never by blocking).
        let mut buf = [0u8; 2048];
        let mut tries = 0;
        let n = loop {
            match rx_socket.recv(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && tries < 1000 => {
                    tries += 1;
                    actix::clock::sleep(Duration::from_millis(5)).await;
                }
                Err(e) => panic!("no flow-log datagram: {e}"),
            }
        };
        assert_eq!(u16::from_be_bytes([buf[2], buf[3]]), 3);
        assert_eq!(n, 16 + 3 * 64);
        drop(tx);
        let counts = addr.send(DrainAndFlush).await.unwrap();
        assert_eq!(counts.events, 4, "the terminal still writes every event");
        let h = &counts.collectors[0];
        assert_eq!((h.logs, h.sent, h.datagrams, h.queued), (3, 3, 1, 0));
        assert_eq!(export.counters(), counts.collectors);
        assert_eq!(export.unrouted(), 0);
    }

    #[actix::test]
    async fn logs_without_a_collector_are_counted_unrouted() {
        let export: Arc<ExportHandle> = Arc::default();
        let (tx, rx) = flume::bounded(64);
        let addr = LogActor::new(discard_logger(), rx, Arc::default(), export.clone()).start();
        assert!(tx.try_send(vec![logged(1), logged(2)]).is_ok());
        drop(tx);
        let counts = addr.send(DrainAndFlush).await.unwrap();
        assert!(counts.collectors.is_empty());
        assert_eq!(export.unrouted(), 2);
    }
}
