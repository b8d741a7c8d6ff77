//! The information centre (reference/comware.md §11.1; issue #13): the daemon's own messages
//! (the abrupt-change alarms, engine start and stop, the table reaching capacity, a log host
//! lost or back) in Comware's shape, and where they go: the log buffer (`display logbuffer`),
//! the consoles that asked (`terminal monitor`), and the log hosts (the log actor, or the
//! replay's collectors, take them from `take_for_hosts`).
//!
//! Everything here is bounded: the buffer by `info-center logbuffer size`, each console's
//! queue and the log hosts' queue by a fixed number of messages; what does not fit is
//! counted, never waited for. The alarm watch (`Alarms`) lives beside it: the control plane
//! feeds it the cores' second reports and it publishes what the rules raise.

use crate::alarm::{AlarmKind, AlarmRule, AlarmStatus, SecondTotals, Watch};
use crate::export::syslog::{CivilTime, Envelope, TimestampStyle};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// `info-center logbuffer size`: Comware's default and largest size (§11.1).
pub const LOGBUFFER_DEFAULT: usize = 512;
pub const LOGBUFFER_MAX: usize = 1024;
/// Messages a console may have waiting for its client (then the oldest is dropped, counted).
pub const CONSOLE_QUEUE: usize = 256;
/// Messages waiting for the log hosts (the log actor takes them every 10 ms).
pub const HOSTS_QUEUE: usize = 1024;
/// `terminal logging level`: Comware's default, informational.
pub const DEFAULT_CONSOLE_LEVEL: u8 = 6;

/// Severities (§11.1).
pub mod severity {
    pub const WARNING: u8 = 4;
    pub const NOTIFICATION: u8 = 5;
    pub const INFORMATIONAL: u8 = 6;
}

/// One message of the information centre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// When it happened, ms since the epoch (the engine clock: capture time in replay).
    pub ms: u64,
    pub module: &'static str,
    pub severity: u8,
    pub mnemonic: &'static str,
    pub text: String,
}

impl Message {
    /// An abrupt-change alarm raised at the end of the period ending `ms`.
    pub fn alarm(ms: u64, a: &crate::alarm::Abrupt) -> Message {
        Message {
            ms,
            module: "SESSION",
            severity: severity::WARNING,
            mnemonic: a.kind.mnemonic(),
            text: a.text(),
        }
    }

    /// The log buffer's and the console's form (§11.1):
    /// `%Jun 17 15:57:09:578 2006 Sysname SESSION/4/SESSION_RATE_ABRUPT: text`.
    pub fn line(&self, sysname: &str) -> String {
        let t = CivilTime::from_epoch_ms(self.ms);
        let mut s = String::with_capacity(64 + self.text.len());
        let _ = write!(
            s,
            "%{} {:>2} {:02}:{:02}:{:02}:{:03} {:04} {sysname} {}/{}/{}: {}",
            month_abbr(t.month),
            t.day,
            t.hour,
            t.minute,
            t.second,
            t.millis,
            t.year,
            self.module,
            self.severity,
            self.mnemonic,
            self.text
        );
        s
    }

    /// A log host's form (§11.1): `<PRI>TIMESTAMP Sysname %%10MODULE/LEVEL/MNEMONIC: text`,
    /// the facility and timestamp style of the host's settings. No line end.
    pub fn loghost(&self, env: &Envelope<'_>) -> String {
        let t = CivilTime::from_epoch_ms(self.ms);
        let mut s = String::with_capacity(80 + self.text.len());
        let pri = u16::from(env.facility.code()) * 8 + u16::from(self.severity);
        let _ = write!(s, "<{pri}>");
        let m = month_abbr(t.month);
        let _ = match env.timestamp {
            TimestampStyle::Date => write!(
                s,
                "{m} {:>2} {:02}:{:02}:{:02} {:04} ",
                t.day, t.hour, t.minute, t.second, t.year
            ),
            TimestampStyle::Iso => write!(
                s,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02} ",
                t.year, t.month, t.day, t.hour, t.minute, t.second
            ),
            TimestampStyle::NoYearDate => write!(
                s,
                "{m} {:>2} {:02}:{:02}:{:02} ",
                t.day, t.hour, t.minute, t.second
            ),
            TimestampStyle::None => Ok(()),
        };
        let _ = write!(
            s,
            "{} %%10{}/{}/{}: {}",
            env.sysname, self.module, self.severity, self.mnemonic, self.text
        );
        s
    }
}

impl Message {
    /// RFC 5424 framing (`info-center loghost ... format rfc5424`, an extension of ours):
    /// `<PRI>1 TIMESTAMP HOSTNAME MODULE - MNEMONIC - text`.
    pub fn rfc5424(&self, sysname: &str, facility: crate::export::syslog::Facility) -> String {
        let pri = u16::from(facility.code()) * 8 + u16::from(self.severity);
        let mut s = String::new();
        crate::export::syslog::write_rfc5424_head(pri, sysname, self.ms, &mut s);
        let _ = write!(s, " {} - {} - {}", self.module, self.mnemonic, self.text);
        s
    }
}

fn month_abbr(month: u8) -> &'static str {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS[usize::from(month).saturating_sub(1) % 12]
}

/// What a console asked for (`terminal monitor`, `terminal logging level`) and what waits
/// for its client.
#[derive(Debug, Default)]
struct Monitor {
    on: bool,
    level: u8,
    queue: VecDeque<String>,
    dropped: u64,
}

#[derive(Debug)]
struct Inner {
    sysname: String,
    buffer: VecDeque<Message>,
    buffer_size: usize,
    overwritten: u64,
    /// Messages not kept because the buffer's size is 0.
    buffer_dropped: u64,
    consoles: BTreeMap<u64, Monitor>,
    next_console: u64,
    hosts: VecDeque<Message>,
    hosts_dropped: u64,
    published: u64,
}

/// The information centre: one per engine, shared (`Arc`) by the consoles, the alarm watch,
/// the log actor and the runtime.
#[derive(Debug)]
pub struct InfoCenter {
    inner: Mutex<Inner>,
}

impl Default for InfoCenter {
    fn default() -> Self {
        InfoCenter {
            inner: Mutex::new(Inner {
                sysname: String::new(),
                buffer: VecDeque::new(),
                buffer_size: LOGBUFFER_DEFAULT,
                overwritten: 0,
                buffer_dropped: 0,
                consoles: BTreeMap::new(),
                next_console: 1,
                hosts: VecDeque::new(),
                hosts_dropped: 0,
                published: 0,
            }),
        }
    }
}

/// What `display logbuffer` shows: its header figures and its messages, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BufferView {
    pub max_size: usize,
    pub size: usize,
    pub dropped: u64,
    pub overwritten: u64,
    pub lines: Vec<String>,
}

impl InfoCenter {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding it (a bug) must not silence the daemon's messages.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A message, to every destination at once.
    pub fn publish(&self, m: Message) {
        let mut g = self.lock();
        g.published += 1;
        let line = m.line(&g.sysname);
        for c in g.consoles.values_mut() {
            if c.on && m.severity <= c.level {
                if c.queue.len() >= CONSOLE_QUEUE {
                    c.queue.pop_front();
                    c.dropped += 1;
                }
                c.queue.push_back(line.clone());
            }
        }
        if g.hosts.len() >= HOSTS_QUEUE {
            g.hosts.pop_front();
            g.hosts_dropped += 1;
        }
        g.hosts.push_back(m.clone());
        if g.buffer_size == 0 {
            g.buffer_dropped += 1;
        } else {
            if g.buffer.len() >= g.buffer_size {
                g.buffer.pop_front();
                g.overwritten += 1;
            }
            g.buffer.push_back(m);
        }
    }

    pub fn set_sysname(&self, name: &str) {
        let mut g = self.lock();
        if g.sysname != name {
            g.sysname = name.to_string();
        }
    }

    /// `info-center logbuffer size N`: a smaller buffer loses its oldest messages (counted
    /// as overwritten).
    pub fn set_buffer_size(&self, n: usize) {
        let mut g = self.lock();
        g.buffer_size = n.min(LOGBUFFER_MAX);
        while g.buffer.len() > g.buffer_size {
            g.buffer.pop_front();
            g.overwritten += 1;
        }
    }

    /// `reset logbuffer`.
    pub fn reset_buffer(&self) {
        let mut g = self.lock();
        g.buffer.clear();
        g.overwritten = 0;
        g.buffer_dropped = 0;
    }

    pub fn buffer(&self) -> BufferView {
        let g = self.lock();
        BufferView {
            max_size: LOGBUFFER_MAX,
            size: g.buffer_size,
            dropped: g.buffer_dropped,
            overwritten: g.overwritten,
            lines: g.buffer.iter().map(|m| m.line(&g.sysname)).collect(),
        }
    }

    /// Messages for the log hosts since the last call (the log actor's turn).
    pub fn take_for_hosts(&self, into: &mut Vec<Message>) {
        into.extend(self.lock().hosts.drain(..));
    }

    /// Messages the log hosts' queue lost (nobody took them in time).
    pub fn hosts_dropped(&self) -> u64 {
        self.lock().hosts_dropped
    }

    /// A new console: its id for the calls below. Monitoring off, level informational.
    pub fn register(&self) -> u64 {
        let mut g = self.lock();
        let id = g.next_console;
        g.next_console += 1;
        g.consoles.insert(
            id,
            Monitor {
                level: DEFAULT_CONSOLE_LEVEL,
                ..Monitor::default()
            },
        );
        id
    }

    pub fn unregister(&self, id: u64) {
        self.lock().consoles.remove(&id);
    }

    /// `terminal monitor` / `undo terminal monitor` and `terminal logging level` of a
    /// console. Turning monitoring off drops what was waiting.
    pub fn set_monitor(&self, id: u64, on: bool, level: u8) {
        if let Some(c) = self.lock().consoles.get_mut(&id) {
            c.on = on;
            c.level = level;
            if !on {
                c.queue.clear();
            }
        }
    }

    /// What waits for console `id`, oldest first, and how many were dropped since the last
    /// call (its client did not come for them in time). `None`: no such console.
    pub fn take_console(&self, id: u64) -> Option<(Vec<String>, u64)> {
        let mut g = self.lock();
        let c = g.consoles.get_mut(&id)?;
        let dropped = std::mem::take(&mut c.dropped);
        Some((c.queue.drain(..).collect(), dropped))
    }
}

impl Message {
    /// One of the daemon's own events (module `SESSMGR`, ours), at `ms`.
    pub fn event(ms: u64, severity: u8, mnemonic: &'static str, text: String) -> Message {
        Message {
            ms,
            module: "SESSMGR",
            severity,
            mnemonic,
            text,
        }
    }
}

/// The wall clock in ms since the epoch (the live engine clock; for the daemon's events).
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The watch and what it remembers between reports.
#[derive(Debug)]
struct WatchState {
    watch: Watch,
    /// Per core: its last report's refusals at capacity, and whether its last second had
    /// any (the table-full event is raised when the engine starts refusing).
    refused: Vec<(u64, bool)>,
}

/// The alarm watch on the control plane: the rules, the watch, and the information centre
/// it reports to. `status()` per alarm for the metrics endpoint.
#[derive(Debug)]
pub struct Alarms {
    watch: Mutex<WatchState>,
    info: Arc<InfoCenter>,
}

impl Alarms {
    pub fn new(cores: usize, capacity: u64, info: Arc<InfoCenter>) -> Alarms {
        Alarms {
            watch: Mutex::new(WatchState {
                watch: Watch::new(cores, capacity),
                refused: vec![(0, false); cores.max(1)],
            }),
            info,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WatchState> {
        self.watch.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The running configuration's rules and the engine's capacity.
    pub fn configure(&self, rules: [AlarmRule; 3], capacity: u64) {
        let mut w = self.lock();
        w.watch.rules = rules;
        w.watch.capacity = capacity;
    }

    /// Per alarm, in `AlarmKind::ALL`'s order: enabled, active (its last period raised it),
    /// times raised.
    pub fn status(&self) -> [(AlarmKind, AlarmStatus); 3] {
        let s = self.lock().watch.status();
        std::array::from_fn(|i| (AlarmKind::ALL[i], s[i]))
    }

    /// Samples lost waiting for a core that did not report.
    pub fn samples_dropped(&self) -> u64 {
        self.lock().watch.samples_dropped
    }

    /// One core's second report; what it raises goes to the information centre, and so
    /// does the table starting to refuse new sessions at capacity (once, until a second
    /// passes with no refusal on any core).
    pub fn feed(&self, r: SecondTotals) {
        let mut raised = Vec::new();
        let mut full = None;
        {
            let mut g = self.lock();
            g.watch.report(r, &mut raised);
            let capacity = g.watch.capacity;
            let i = usize::from(r.core);
            if i < g.refused.len() {
                let was = g.refused.iter().any(|c| c.1);
                let (last, _) = g.refused[i];
                g.refused[i] = (r.totals.refused_full, r.totals.refused_full > last);
                if !was && g.refused[i].1 {
                    full = Some(capacity);
                }
            }
        }
        for (ms, a) in raised {
            self.info.publish(Message::alarm(ms, &a));
        }
        if let Some(capacity) = full {
            self.info.publish(Message::event(
                r.second * 1000,
                severity::WARNING,
                "TABLE_FULL",
                format!(
                    "The session table reached its capacity ({capacity} sessions); new \
                     sessions are refused."
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::syslog::Facility;

    fn msg(ms: u64, sev: u8) -> Message {
        Message {
            ms,
            module: "SESSION",
            severity: sev,
            mnemonic: "SESSION_RATE_ABRUPT",
            text: "text".into(),
        }
    }

    #[test]
    fn lines_have_comwares_shape() {
        // 2006-06-17 15:57:09.578 UTC.
        let m = msg(1_150_559_829_578, 4);
        assert_eq!(
            m.line("Sysname"),
            "%Jun 17 15:57:09:578 2006 Sysname SESSION/4/SESSION_RATE_ABRUPT: text"
        );
        let env = Envelope {
            sysname: "FW",
            facility: Facility::Local7,
            timestamp: TimestampStyle::Date,
        };
        assert_eq!(
            m.loghost(&env),
            "<188>Jun 17 15:57:09 2006 FW %%10SESSION/4/SESSION_RATE_ABRUPT: text"
        );
        // A day below 10 is padded with a space.
        assert!(
            msg(1_149_724_800_000, 4)
                .line("S")
                .starts_with("%Jun  8 00:00:00:000 2006")
        );
    }

    #[test]
    fn the_buffer_is_bounded_and_counts_what_it_overwrites() {
        let ic = InfoCenter::default();
        ic.set_buffer_size(2);
        for i in 0..5 {
            ic.publish(msg(i * 1000, 4));
        }
        let b = ic.buffer();
        assert_eq!((b.lines.len(), b.overwritten, b.size), (2, 3, 2));
        ic.set_buffer_size(1);
        assert_eq!(ic.buffer().overwritten, 4);
        ic.set_buffer_size(0);
        ic.publish(msg(0, 4));
        assert_eq!(ic.buffer().dropped, 1);
        ic.set_buffer_size(100_000);
        assert_eq!(ic.buffer().size, LOGBUFFER_MAX);
        ic.reset_buffer();
        assert_eq!(ic.buffer().lines.len(), 0);
    }

    #[test]
    fn consoles_get_what_they_asked_for_bounded() {
        let ic = InfoCenter::default();
        let a = ic.register();
        let b = ic.register();
        ic.publish(msg(0, 4));
        assert_eq!(ic.take_console(a), Some((vec![], 0)), "monitor off");
        ic.set_monitor(a, true, 6);
        ic.set_monitor(b, true, 3);
        ic.publish(msg(0, 4));
        assert_eq!(ic.take_console(a).unwrap().0.len(), 1);
        assert_eq!(
            ic.take_console(b).unwrap().0.len(),
            0,
            "level 3 < severity 4"
        );
        for _ in 0..CONSOLE_QUEUE + 5 {
            ic.publish(msg(0, 4));
        }
        let (lines, dropped) = ic.take_console(a).unwrap();
        assert_eq!((lines.len(), dropped), (CONSOLE_QUEUE, 5));
        ic.unregister(a);
        assert_eq!(ic.take_console(a), None);
        let mut hosts = Vec::new();
        ic.take_for_hosts(&mut hosts);
        assert_eq!(hosts.len(), 2 + CONSOLE_QUEUE + 5);
    }
}
