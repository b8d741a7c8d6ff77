//! The terminal (stderr) writer the log actor writes session events to: one slog-async
//! thread behind a bounded queue, records that find it full counted, and the guard that
//! flushes it at shutdown. (Moved out of log.rs, which re-exports these names.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use slog::{Drain, Logger, o};

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
