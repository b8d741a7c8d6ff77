//! Top statistics (SPEC T2, reference/comware.md §7.1): the addresses with the most new
//! sessions over the last hour, 24 hours and 30 days, by source and by destination.
//!
//! Per core, in bounded memory whatever the traffic: the minute in progress is a pair of
//! space-saving sketches (`sketch.rs`, K = 256 counters each); each closed minute is filed
//! as a pair of mergeable summaries into the minute, hour and day buckets (`history.rs`).
//! The console merges the cores' windows. Time is the engine clock passed in: capture time
//! in replay (so a replay's answer is deterministic), the wall clock live.
//!
//! Cost on the packet path: nothing while off (the shard tests one configuration flag at
//! session creation); while on, two sketch updates per new session, and once a minute the
//! filing of the closed minute.

pub mod history;
pub mod sketch;

pub use history::{Bucket, TopHistory, TopWindow, Window};
pub use sketch::{K, KEEP, SpaceSaving, Summary};

use std::net::IpAddr;

/// One core's top statistics.
#[derive(Debug, Clone, Default)]
pub struct TopStatistics {
    /// Start of the minute in progress, engine seconds (0: nothing counted yet).
    minute_s: u64,
    sources: SpaceSaving,
    destinations: SpaceSaving,
    history: TopHistory,
}

impl TopStatistics {
    /// A new session from `src` to `dst` (the initiator's addresses) at `now_ms`.
    #[inline]
    pub fn record(&mut self, src: IpAddr, dst: IpAddr, now_ms: u64) {
        let minute_s = now_ms / 60_000 * 60;
        if minute_s != self.minute_s {
            self.roll(minute_s);
        }
        self.sources.offer(src);
        self.destinations.offer(dst);
    }

    /// Files the minute in progress and starts the one beginning at `minute_s`.
    fn roll(&mut self, minute_s: u64) {
        if let Some(b) = self.current() {
            self.history.add_minute(&b);
        }
        self.sources.clear();
        self.destinations.clear();
        self.minute_s = minute_s;
    }

    /// The minute in progress as a bucket (`None` when it counted nothing).
    fn current(&self) -> Option<Bucket> {
        (self.sources.total() > 0).then(|| Bucket {
            start_s: self.minute_s,
            sources: self.sources.summary(),
            destinations: self.destinations.summary(),
        })
    }

    /// Window `w` at `now_ms` (the core's clock).
    pub fn window(&self, w: Window, now_ms: u64) -> TopWindow {
        let now_s = (now_ms / 1000).max(self.minute_s);
        self.history.window(w, now_s, self.current().as_ref())
    }

    /// Everything counted, the minute in progress included (to be written to disk).
    pub fn snapshot(&self) -> TopHistory {
        let mut h = self.history.clone();
        if let Some(b) = self.current() {
            h.add_minute(&b);
        }
        h
    }

    /// Takes a history read at start in (`top-statistics.json`).
    pub fn restore(&mut self, h: &TopHistory) {
        self.history.merge_from(h);
    }

    /// Bytes held: the two sketches and every bucket.
    pub fn memory_bytes(&self) -> usize {
        self.sources.memory_bytes() + self.destinations.memory_bytes() + self.history.memory_bytes()
    }
}

/// The most memory one core's top statistics can hold, in bytes: two sketches, and every
/// bucket of the three rings full (`KEEP` counts each way). `examples/top_memory.rs`
/// measures a core fed 10M distinct addresses against it.
pub fn memory_bound() -> usize {
    let sketches = 2 * SpaceSaving::default().memory_bytes();
    let rings = history::MINUTES + history::HOURS + history::DAYS;
    let bucket = size_of::<Option<Bucket>>() + 2 * KEEP * size_of::<(IpAddr, u64)>();
    sketches + rings * bucket
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    const T0_MS: u64 = 1_780_000_000_000 / 3_600_000 * 3_600_000; // an hour's start

    #[test]
    fn minutes_roll_into_the_history_and_windows_see_them() {
        let mut t = TopStatistics::default();
        for i in 0..30u64 {
            // One session a minute from 10.0.0.(i % 3), to 10.1.0.1.
            t.record(
                ip(0x0a00_0000 + (i % 3) as u32),
                ip(0x0a01_0001),
                T0_MS + i * 60_000,
            );
        }
        let w = t.window(Window::LastHour, T0_MS + 29 * 60_000 + 1);
        assert_eq!(w.sources.total, 30);
        assert_eq!(w.sources.count(ip(0x0a00_0000)), 10);
        assert_eq!(w.destinations.top(1), &[(ip(0x0a01_0001), 30)]);
        // An hour and a half later, the hour is empty, the day still has them.
        let later = T0_MS + 120 * 60_000;
        assert!(t.window(Window::LastHour, later).sources.is_empty());
        assert_eq!(t.window(Window::Last24Hours, later).sources.total, 30);
        // A snapshot holds the minute in progress; restoring it elsewhere gives the same.
        let mut u = TopStatistics::default();
        u.restore(&t.snapshot());
        assert_eq!(
            u.window(Window::Last24Hours, later),
            t.window(Window::Last24Hours, later)
        );
    }

    #[test]
    fn forty_days_of_sessions_roll_through_every_window() {
        const DAY_MS: u64 = 86_400_000;
        let midnight = T0_MS / DAY_MS * DAY_MS;
        let mut t = TopStatistics::default();
        // One session an hour for 40 days, from 10.0.0.<day>.
        let hours = 40 * 24u64;
        for h in 0..hours {
            t.record(
                ip(0x0a00_0000 + (h / 24) as u32),
                ip(1),
                midnight + h * 3_600_000,
            );
        }
        let now = midnight + (hours - 1) * 3_600_000 + 59_000; // day 39, 23:00:59
        let month = t.window(Window::Last30Days, now);
        assert_eq!(month.sources.total, 30 * 24);
        assert_eq!(month.sources.count(ip(0x0a00_0000 + 9)), 0);
        assert_eq!(month.sources.count(ip(0x0a00_0000 + 10)), 24);
        assert_eq!(month.sources.error, 0, "30 distinct sources: exact");
        let day = t.window(Window::Last24Hours, now);
        assert_eq!(day.sources.top(1), &[(ip(0x0a00_0000 + 39), 24)]);
        assert_eq!(t.window(Window::LastHour, now).sources.total, 1);
        // The day after, the first hour of day 40: the last 24 hours reach back into day 39.
        let next = now + 3_600_000;
        assert_eq!(t.window(Window::Last24Hours, next).sources.total, 23);
        assert!(t.window(Window::LastHour, next).sources.is_empty());
    }

    #[test]
    fn memory_stays_under_the_bound_with_every_bucket_taken() {
        let mut t = TopStatistics::default();
        let mut a = 0u32;
        // A minute every hour for 31 days, then every minute of an hour, each with KEEP new
        // sources and destinations (exact: every minute bucket holds KEEP counts each way);
        // every day and hour bucket taken.
        let hourly = (0..31 * 24u64).map(|h| T0_MS + h * 3_600_000);
        let end = T0_MS + 31 * 24 * 3_600_000;
        let minutely = (0..60u64).map(|m| end + m * 60_000);
        for at in hourly.chain(minutely) {
            for _ in 0..KEEP {
                a = a.wrapping_add(1);
                t.record(ip(a), ip(a.rotate_left(16)), at);
            }
        }
        // One more minute files the last full one.
        t.record(ip(0), ip(0), end + 60 * 60_000);
        let h = &t.history;
        let exact_minute = |b: &Option<Bucket>| {
            b.as_ref().is_some_and(|b| {
                b.sources.counts.len() == KEEP && b.destinations.counts.len() == KEEP
            })
        };
        assert!(h.minutes.iter().all(exact_minute));
        assert!(h.hours.iter().chain(&h.days).all(Option::is_some));
        assert!(
            t.memory_bytes() <= memory_bound(),
            "{} > {}",
            t.memory_bytes(),
            memory_bound()
        );
    }
}
