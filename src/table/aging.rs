//! Aging (SPEC A1-A5): per-state aging times, application aging in the stable state,
//! persistent sessions, and the lazy-expiry timer wheel.
//!
//! The packet path only stamps `last_seen`. A session's aging time is derived from its
//! state, application and persistence whenever it is needed (on lookup, on a wheel tick, for
//! the TTL display), so a configuration change applies to every session at once.

use super::apps::{self, APPS, OTHERS_AGING_S};
use super::record::Record;
use super::session::{Session, flag};
use crate::proto::{self, Protocol, STATE_SLOTS, wire::ipproto};

pub use crate::proto::AgingState;

/// The aging bucket of a protocol state (comware.md §4.3 mapping, kept by the protocol
/// descriptors).
#[inline]
pub fn bucket(proto: u8, state: u8) -> AgingState {
    proto::Protocol::of(proto).aging_key(state)
}

/// The stable state in which application and persistent aging apply (A2, A4): TCP
/// ESTABLISHED or UDP READY (the descriptors' `stable`).
#[inline]
fn is_stable(proto: u8, state: u8) -> bool {
    proto::Protocol::of(proto).is_stable(state)
}

/// Aging times in force (seconds). One copy per core; replaced whole on a change, so a core
/// never sees half a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgingConfig {
    pub state_s: [u32; AgingState::COUNT],
    /// Per application id (`apps::APP_IDS` entries); `None` = the application has no timer
    /// (OTHER and ids no application has keep state aging; identified applications without
    /// one of their own get `OTHERS_AGING_S`, user-defined ones too while they are defined).
    pub app_s: Vec<Option<u32>>,
}

impl Default for AgingConfig {
    fn default() -> Self {
        let mut state_s = [0; AgingState::COUNT];
        for s in AgingState::ALL {
            state_s[*s as usize] = s.default_s();
        }
        // User-defined ids have no timer until an application is defined with them.
        let app_s = (0..apps::APP_IDS)
            .map(|i| match APPS.get(i) {
                Some(a) if i != usize::from(apps::OTHER) => {
                    Some(a.aging_s.unwrap_or(OTHERS_AGING_S))
                }
                _ => None,
            })
            .collect();
        Self { state_s, app_s }
    }
}

/// "Never ages": a persistent session with aging-time 0 (A3).
pub const NEVER_MS: u64 = u64::MAX;

impl AgingConfig {
    pub fn state(&self, s: AgingState) -> u32 {
        self.state_s[s as usize]
    }

    /// The aging time of a session in milliseconds, with A4's precedence in the stable state:
    /// persistent > application > state.
    pub fn timeout_ms(&self, s: &impl AgingFacts) -> u64 {
        let (proto, state) = (s.proto(), s.state());
        if is_stable(proto, state) {
            if proto == ipproto::TCP && s.flags() & flag::PERSISTENT != 0 {
                return match s.persist_hours() {
                    0 => NEVER_MS,
                    h => u64::from(h) * 3_600_000,
                };
            }
            if let Some(Some(app_s)) = self.app_s.get(usize::from(s.app())) {
                return u64::from(*app_s) * 1000;
            }
        }
        u64::from(self.state(bucket(proto, state))) * 1000
    }
}

/// `AgingConfig` laid out for the packet path (one per shard, rebuilt whenever the shard's
/// configuration is replaced): a hit's lazy-expiry check and a state change's deadline read
/// one precomputed number per (protocol, state) instead of walking the protocol's descriptor,
/// the stable-state test and the application list, and multiplying by 1000, every time. It
/// gives exactly `AgingConfig::timeout_ms` (a property test holds the two together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgingTable {
    /// Per protocol class (`proto::Protocol`) and state slot (`proto::STATE_SLOTS`, slot 0 =
    /// the fallback for state numbers past the table): the state's aging time in ms, or
    /// `STABLE` for the stable state, where application and persistent aging come first (A4).
    state_ms: [[u64; STATE_SLOTS]; Protocol::COUNT],
    /// The stable state's own aging time in ms, per protocol class (when neither persistent
    /// nor application aging applies).
    stable_ms: [u64; Protocol::COUNT],
    /// Per application id: its aging time in ms in the stable state, or `NO_APP_TIMER`.
    app_ms: Box<[u64]>,
    /// Every time in the table is at least a millisecond, so every deadline the wheel files
    /// for a live session is a second or later (`Shard::schedule_on_change` relies on it).
    all_positive: bool,
}

/// `AgingTable::state_ms` marks the stable state with this (no state time comes near it).
const STABLE: u64 = u64::MAX;
/// `AgingTable::app_ms`: the application has no timer of its own.
const NO_APP_TIMER: u64 = u64::MAX;

impl AgingTable {
    pub fn new(cfg: &AgingConfig) -> AgingTable {
        let mut state_ms = [[0; STATE_SLOTS]; Protocol::COUNT];
        let mut stable_ms = [0; Protocol::COUNT];
        for p in Protocol::ALL {
            let row = p as usize;
            for (slot, ms) in state_ms[row].iter_mut().enumerate() {
                // Slot 0 is never a stable state (no state is numbered 0), as `timeout_ms`
                // finds for state numbers past the table, which also fall back to slot 0.
                *ms = if p.is_stable(slot as u8) {
                    STABLE
                } else {
                    u64::from(cfg.state(p.aging_key(slot as u8))) * 1000
                };
            }
            stable_ms[row] = match proto::STABLE_STATES[row] {
                // No stable state: never read.
                0 => NEVER_MS,
                st => u64::from(cfg.state(p.aging_key(st))) * 1000,
            };
        }
        let app_ms: Box<[u64]> = cfg
            .app_s
            .iter()
            .map(|a| a.map_or(NO_APP_TIMER, |s| u64::from(s) * 1000))
            .collect();
        let all_positive = state_ms.iter().flatten().all(|&t| t > 0)
            && stable_ms.iter().all(|&t| t > 0)
            && app_ms.iter().all(|&t| t > 0);
        AgingTable {
            state_ms,
            stable_ms,
            app_ms,
            all_positive,
        }
    }

    /// `AgingConfig::timeout_ms` of a session in `state` with the other facts of `s` (the
    /// state it had before a change, or its own).
    #[inline]
    pub fn timeout_in(&self, s: &impl AgingFacts, state: u8) -> u64 {
        let proto = s.proto();
        let row = Protocol::of(proto) as usize;
        let slot = if usize::from(state) < STATE_SLOTS {
            usize::from(state)
        } else {
            0
        };
        let t = self.state_ms[row][slot];
        if t != STABLE {
            return t;
        }
        if proto == ipproto::TCP && s.flags() & flag::PERSISTENT != 0 {
            return match s.persist_hours() {
                0 => NEVER_MS,
                h => u64::from(h) * 3_600_000,
            };
        }
        match self.app_ms.get(usize::from(s.app())) {
            Some(&t) if t != NO_APP_TIMER => t,
            _ => self.stable_ms[row],
        }
    }

    /// `AgingConfig::timeout_ms`.
    #[inline]
    pub fn timeout_ms(&self, s: &impl AgingFacts) -> u64 {
        self.timeout_in(s, s.state())
    }

    /// `is_expired`.
    #[inline]
    pub fn is_expired(&self, s: &impl AgingFacts, now_ms: u64) -> bool {
        let t = self.timeout_ms(s);
        t != NEVER_MS && age_ms(s, now_ms) >= t
    }

    /// Every aging time is at least a millisecond.
    pub fn all_positive(&self) -> bool {
        self.all_positive
    }
}

/// What aging reads of a session: the stored record on the packet path and the wheel, the
/// whole view (`Session`) for displays.
pub trait AgingFacts {
    fn proto(&self) -> u8;
    fn state(&self) -> u8;
    fn app(&self) -> u8;
    fn flags(&self) -> u8;
    fn persist_hours(&self) -> u16;
    fn last_seen_ms(&self) -> u32;
}

/// The facts are fields of the same names on both types; only the protocol is kept apart.
macro_rules! aging_facts {
    ($t:ty, |$s:ident| $proto:expr) => {
        impl AgingFacts for $t {
            #[inline]
            fn proto(&self) -> u8 {
                let $s = self;
                $proto
            }
            #[inline]
            fn state(&self) -> u8 {
                self.state
            }
            #[inline]
            fn app(&self) -> u8 {
                self.app
            }
            #[inline]
            fn flags(&self) -> u8 {
                self.flags
            }
            #[inline]
            fn persist_hours(&self) -> u16 {
                self.persist_hours
            }
            #[inline]
            fn last_seen_ms(&self) -> u32 {
                self.last_seen_ms
            }
        }
    };
}

aging_facts!(Session, |s| s.key.proto);
aging_facts!(Record, |s| s.proto);

/// Milliseconds since the session's last packet.
#[inline]
pub fn age_ms(s: &impl AgingFacts, now_ms: u64) -> u64 {
    u64::from((now_ms as u32).wrapping_sub(s.last_seen_ms()))
}

/// True when the session has outlived its aging time at `now_ms`.
#[inline]
pub fn is_expired(cfg: &AgingConfig, s: &impl AgingFacts, now_ms: u64) -> bool {
    let t = cfg.timeout_ms(s);
    t != NEVER_MS && age_ms(s, now_ms) >= t
}

/// Remaining lifetime in seconds (A5), rounded up; `None` for never-aging sessions.
pub fn ttl_s(cfg: &AgingConfig, s: &impl AgingFacts, now_ms: u64) -> Option<u64> {
    let t = cfg.timeout_ms(s);
    if t == NEVER_MS {
        return None;
    }
    Some(t.saturating_sub(age_ms(s, now_ms)).div_ceil(1000))
}

/// A one-level timer wheel of 1-second buckets with lazy re-scheduling.
///
/// An entry is `(slot, deadline_s)`. It is valid only while the slot's recorded deadline (kept
/// by the shard) equals the entry's: re-scheduling writes a new entry and the old one is
/// skipped when it fires. A session whose deadline is beyond the wheel's span sits in the
/// bucket of `deadline mod span` and is re-examined once per lap. The packet path never
/// touches the wheel.
pub struct AgingWheel {
    buckets: Vec<Vec<(u32, u32)>>,
    /// The next second to process.
    cursor_s: u64,
    started: bool,
}

/// Seconds covered by one lap of the wheel.
pub const WHEEL_SPAN_S: u64 = 4096;

/// Entries a drained bucket keeps room for (8 bytes each): at most 4,096 x 512 B = 2 MiB
/// stays reserved however large past bursts were.
const BUCKET_KEEP: usize = 64;

impl Default for AgingWheel {
    fn default() -> Self {
        Self::new()
    }
}

impl AgingWheel {
    pub fn new() -> Self {
        Self {
            buckets: (0..WHEEL_SPAN_S).map(|_| Vec::new()).collect(),
            cursor_s: 0,
            started: false,
        }
    }

    /// Files `slot` to be looked at when `deadline_s` has passed.
    pub fn schedule(&mut self, slot: u32, deadline_s: u32, now_s: u64) {
        if !self.started {
            self.cursor_s = now_s;
            self.started = true;
        }
        // Never file into a bucket already passed in this lap.
        let at = u64::from(deadline_s).max(self.cursor_s);
        self.buckets[(at % WHEEL_SPAN_S) as usize].push((slot, deadline_s));
    }

    /// Walks due buckets up to `now_s`, handing at most `budget` entries to `fire` (bounded
    /// work per call: a core never pauses long). Returns the number of entries handed out.
    /// `fire` re-schedules or deletes; it must not call back into the wheel (entries it
    /// re-files are given to `refile`).
    pub fn advance(
        &mut self,
        now_s: u64,
        budget: usize,
        mut fire: impl FnMut(u32, u32) -> Option<u32>,
    ) -> usize {
        if !self.started {
            return 0;
        }
        // After a jump in time (an idle link, a gap in a capture) one lap visits every
        // bucket: start there instead of walking every second in between.
        if now_s >= self.cursor_s + WHEEL_SPAN_S {
            self.cursor_s = now_s + 1 - WHEEL_SPAN_S;
        }
        let mut done = 0;
        while self.cursor_s <= now_s && done < budget {
            let b = (self.cursor_s % WHEEL_SPAN_S) as usize;
            while done < budget {
                let Some((slot, deadline)) = self.buckets[b].pop() else {
                    break;
                };
                done += 1;
                if u64::from(deadline) > now_s {
                    // Not yet: filed here from a previous lap or by an early re-schedule.
                    self.refile(b, slot, deadline, now_s);
                    continue;
                }
                if let Some(next) = fire(slot, deadline) {
                    self.refile(b, slot, next, now_s);
                }
            }
            if self.buckets[b].is_empty() {
                // A burst leaves its second's bucket as large as the burst; once drained, the
                // memory goes back, or every second that ever saw a burst would keep its peak
                // (4,096 of them: the table's memory would grow with each burst, never
                // levelling off).
                if self.buckets[b].capacity() > BUCKET_KEEP {
                    self.buckets[b].shrink_to(BUCKET_KEEP);
                }
                self.cursor_s += 1;
            } else {
                break;
            }
        }
        done
    }

    fn refile(&mut self, current: usize, slot: u32, deadline: u32, now_s: u64) {
        // A deadline in the current second goes one bucket on, so a bucket drains.
        let at = u64::from(deadline).max(now_s + 1);
        let mut b = (at % WHEEL_SPAN_S) as usize;
        if b == current {
            // A deadline exactly one lap ahead: look again a second later rather than
            // refilling the bucket being drained.
            b = (b + 1) % WHEEL_SPAN_S as usize;
        }
        self.buckets[b].push((slot, deadline));
    }

    /// Entries filed (including stale ones not yet skipped).
    pub fn len(&self) -> usize {
        self.buckets.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes reserved by the wheel (for the memory report).
    pub fn capacity_bytes(&self) -> usize {
        self.buckets.iter().map(|b| b.capacity() * 8).sum::<usize>() + self.buckets.len() * 24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session's aging facts, free-standing.
    #[derive(Clone, Copy)]
    struct Facts {
        proto: u8,
        state: u8,
        app: u8,
        flags: u8,
        persist_hours: u16,
    }

    impl AgingFacts for Facts {
        fn proto(&self) -> u8 {
            self.proto
        }
        fn state(&self) -> u8 {
            self.state
        }
        fn app(&self) -> u8 {
            self.app
        }
        fn flags(&self) -> u8 {
            self.flags
        }
        fn persist_hours(&self) -> u16 {
            self.persist_hours
        }
        fn last_seen_ms(&self) -> u32 {
            0
        }
    }

    /// Every protocol number, every state number, applications with and without a timer,
    /// persistent or not: the table gives what the configuration gives.
    fn table_matches_config(cfg: &AgingConfig) {
        let table = AgingTable::new(cfg);
        let apps = [
            0u8,
            1,
            2,
            5,
            apps::OTHER,
            (apps::APP_IDS - 1) as u8,
            254,
            255,
        ];
        for proto in 0..=u8::MAX {
            for state in 0..=u8::MAX {
                for app in apps {
                    for (flags, persist_hours) in
                        [(0, 0), (flag::PERSISTENT, 0), (flag::PERSISTENT, 5)]
                    {
                        let f = Facts {
                            proto,
                            state,
                            app,
                            flags,
                            persist_hours,
                        };
                        assert_eq!(
                            table.timeout_ms(&f),
                            cfg.timeout_ms(&f),
                            "proto {proto} state {state} app {app} flags {flags:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_table_gives_the_configured_times() {
        let mut cfg = AgingConfig::default();
        table_matches_config(&cfg);
        assert!(AgingTable::new(&cfg).all_positive());
        // Every state and application changed.
        for (i, s) in cfg.state_s.iter_mut().enumerate() {
            *s = 7 + i as u32 * 13;
        }
        for (i, a) in cfg.app_s.iter_mut().enumerate() {
            *a = if i % 3 == 0 {
                None
            } else {
                Some(100_000 - i as u32)
            };
        }
        table_matches_config(&cfg);
        // A zero time (only a hand-made configuration has one) is noticed.
        cfg.state_s[AgingState::Fin as usize] = 0;
        table_matches_config(&cfg);
        assert!(!AgingTable::new(&cfg).all_positive());
    }

    #[test]
    fn wheel_fires_due_entries_and_refiles_later_ones() {
        let mut w = AgingWheel::new();
        w.schedule(1, 100, 90);
        w.schedule(2, 105, 90);
        w.schedule(3, 100 + WHEEL_SPAN_S as u32 * 2, 90);
        let mut fired = vec![];
        w.advance(100, usize::MAX, |slot, _| {
            fired.push(slot);
            None
        });
        assert_eq!(fired, vec![1]);
        w.advance(110, usize::MAX, |slot, _| {
            fired.push(slot);
            None
        });
        assert_eq!(fired, vec![1, 2]);
        // Far beyond a lap: still filed until its own deadline.
        w.advance(100 + WHEEL_SPAN_S * 2 - 1, usize::MAX, |slot, _| {
            fired.push(slot);
            None
        });
        assert_eq!(fired, vec![1, 2]);
        w.advance(100 + WHEEL_SPAN_S * 2, usize::MAX, |slot, _| {
            fired.push(slot);
            None
        });
        assert_eq!(fired, vec![1, 2, 3]);
        assert!(w.is_empty());
    }

    #[test]
    fn a_jump_in_time_costs_one_lap_not_every_second() {
        let mut w = AgingWheel::new();
        w.schedule(7, 10, 0);
        let mut fired = 0;
        // Ten years later.
        w.advance(10 * 365 * 86_400, usize::MAX, |_, _| {
            fired += 1;
            None
        });
        // Visiting every second in between would take minutes; one lap is 4096 buckets.
        assert_eq!(fired, 1);
    }

    #[test]
    fn drained_buckets_give_their_memory_back() {
        let mut w = AgingWheel::new();
        let empty = w.capacity_bytes();
        // Bursts of 10,000 sessions, each filed in a different second.
        for burst in 0..50u32 {
            let now = u64::from(burst) * 40;
            for slot in 0..10_000 {
                w.schedule(slot, burst * 40 + 30, now);
            }
            w.advance(now + 31, usize::MAX, |_, _| None);
            assert!(w.is_empty());
        }
        // At most BUCKET_KEEP entries of room stay in each of the 50 buckets used.
        assert!(
            w.capacity_bytes() <= empty + 50 * BUCKET_KEEP * 8,
            "{} bytes reserved after the bursts drained, {} before",
            w.capacity_bytes(),
            empty
        );
    }

    #[test]
    fn budget_bounds_the_work_per_call() {
        let mut w = AgingWheel::new();
        for slot in 0..100 {
            w.schedule(slot, 5, 0);
        }
        let mut n = 0;
        assert_eq!(
            w.advance(10, 30, |_, _| {
                n += 1;
                None
            }),
            30
        );
        assert_eq!(n, 30);
        w.advance(10, usize::MAX, |_, _| None);
        assert!(w.is_empty());
    }
}
