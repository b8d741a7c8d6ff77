//! The time buckets of top statistics (SPEC T2): a minute bucket for each of the last 60
//! minutes, an hour bucket for each of the last 24 hours, a day bucket for each of the last
//! 30 days, each a pair of heavy-hitter summaries (sources, destinations). Rings indexed by
//! the bucket's number since the epoch, each bucket tagged with its start, so a bucket left
//! from a lap ago is recognised as stale whatever time did meanwhile (a replay spanning
//! months, a restart after a week).
//!
//! Pure: time is an argument (engine seconds, UTC-aligned buckets). A closed minute is filed
//! in its minute, its hour and its day at once, so an hour bucket holds every closed minute
//! of that hour, and a window is a merge of one ring's buckets plus the minute in progress.

use super::sketch::Summary;
use serde::{Deserialize, Serialize};

/// The minute buckets, hour buckets and day buckets.
pub const MINUTES: usize = 60;
pub const HOURS: usize = 24;
pub const DAYS: usize = 30;

/// `display session top-statistics {last-1-hour|last-24-hours|last-30-days}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    LastHour,
    Last24Hours,
    Last30Days,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::LastHour, Window::Last24Hours, Window::Last30Days];

    pub fn keyword(self) -> &'static str {
        match self {
            Window::LastHour => "last-1-hour",
            Window::Last24Hours => "last-24-hours",
            Window::Last30Days => "last-30-days",
        }
    }

    pub fn by_keyword(kw: &str) -> Option<Window> {
        Window::ALL.into_iter().find(|w| w.keyword() == kw)
    }

    /// The window's buckets: their span in seconds and how many.
    const fn buckets(self) -> (u64, usize) {
        match self {
            Window::LastHour => (60, MINUTES),
            Window::Last24Hours => (3600, HOURS),
            Window::Last30Days => (86_400, DAYS),
        }
    }
}

/// The sessions of one span of time, by source and by destination address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// Start of the span, seconds since the epoch (a multiple of the span).
    pub start_s: u64,
    pub sources: Summary,
    pub destinations: Summary,
}

impl Bucket {
    fn merge(&mut self, other: &Bucket) {
        self.sources = Summary::merge_all([&self.sources, &other.sources]);
        self.destinations = Summary::merge_all([&self.destinations, &other.destinations]);
    }

    pub fn memory_bytes(&self) -> usize {
        size_of::<Bucket>() + self.sources.memory_bytes() + self.destinations.memory_bytes()
    }
}

/// A window's merged summaries (what a core answers, what the console merges and shows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopWindow {
    pub sources: Summary,
    pub destinations: Summary,
}

impl TopWindow {
    /// Several cores' windows as one.
    pub fn merge_all<'a>(parts: impl IntoIterator<Item = &'a TopWindow> + Clone) -> TopWindow {
        TopWindow {
            sources: Summary::merge_all(parts.clone().into_iter().map(|w| &w.sources)),
            destinations: Summary::merge_all(parts.into_iter().map(|w| &w.destinations)),
        }
    }
}

/// The rings. Also the form written to disk (`top-statistics.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopHistory {
    pub minutes: Vec<Option<Bucket>>,
    pub hours: Vec<Option<Bucket>>,
    pub days: Vec<Option<Bucket>>,
}

impl Default for TopHistory {
    fn default() -> Self {
        TopHistory {
            minutes: vec![None; MINUTES],
            hours: vec![None; HOURS],
            days: vec![None; DAYS],
        }
    }
}

/// Files `b` in `ring` (buckets of `span` seconds): merged with the bucket of the same start,
/// replacing a stale one (a lap or more older), or dropped when the ring holds a newer bucket
/// in its place (then `b` is a lap or more older than that one, outside every window).
fn file(ring: &mut [Option<Bucket>], span: u64, b: &Bucket) {
    if ring.is_empty() {
        return;
    }
    let n = b.start_s / span;
    let start_s = n * span;
    let slot = &mut ring[(n % ring.len() as u64) as usize];
    match slot {
        Some(old) if old.start_s == start_s => old.merge(b),
        Some(old) if old.start_s > start_s => {}
        _ => {
            *slot = Some(Bucket {
                start_s,
                ..b.clone()
            })
        }
    }
}

impl TopHistory {
    /// A closed minute (or the minute in progress, for a snapshot): into its minute, hour and
    /// day buckets.
    pub fn add_minute(&mut self, minute: &Bucket) {
        file(&mut self.minutes, 60, minute);
        file(&mut self.hours, 3600, minute);
        file(&mut self.days, 86_400, minute);
    }

    /// The sessions of window `w` at `now_s`: the buckets of the window's ring from the one
    /// holding `now_s` back (60 minutes, 24 hours, 30 days), plus `current` (the minute in
    /// progress, not filed yet). The oldest bucket is whole, so a window covers up to one
    /// bucket less than its name at its start and its full length at a bucket's end.
    pub fn window(&self, w: Window, now_s: u64, current: Option<&Bucket>) -> TopWindow {
        let (span, n) = w.buckets();
        let ring = match w {
            Window::LastHour => &self.minutes,
            Window::Last24Hours => &self.hours,
            Window::Last30Days => &self.days,
        };
        let last = now_s / span * span;
        let first = last.saturating_sub((n as u64 - 1) * span);
        let inside = |b: &&Bucket| b.start_s >= first && b.start_s <= last;
        let mut picked: Vec<&Bucket> = ring.iter().flatten().filter(inside).collect();
        if let Some(c) = current.filter(|c| c.start_s >= first && c.start_s <= now_s) {
            picked.push(c);
        }
        TopWindow {
            sources: Summary::merge_all(picked.iter().map(|b| &b.sources)),
            destinations: Summary::merge_all(picked.iter().map(|b| &b.destinations)),
        }
    }

    /// Takes another history in (another core's, or one read from disk), bucket by bucket.
    pub fn merge_from(&mut self, other: &TopHistory) {
        for (mine, theirs, span) in [
            (&mut self.minutes, &other.minutes, 60),
            (&mut self.hours, &other.hours, 3600),
            (&mut self.days, &other.days, 86_400),
        ] {
            for b in theirs.iter().flatten() {
                file(mine, span, b);
            }
        }
    }

    /// Whether nothing was ever counted.
    pub fn is_empty(&self) -> bool {
        self.minutes
            .iter()
            .chain(&self.hours)
            .chain(&self.days)
            .all(Option::is_none)
    }

    /// A history read from disk, made safe: the rings at their sizes, every summary within
    /// its bounds, every bucket in the slot of its start (a misplaced one is filed again).
    pub fn sanitize(self) -> TopHistory {
        let mut clean = TopHistory::default();
        for (mine, theirs, span) in [
            (&mut clean.minutes, self.minutes, 60),
            (&mut clean.hours, self.hours, 3600),
            (&mut clean.days, self.days, 86_400),
        ] {
            // At most a lap's worth is looked at, whatever the file holds.
            for mut b in theirs.into_iter().flatten().take(DAYS.max(MINUTES)) {
                b.sources.sanitize();
                b.destinations.sanitize();
                file(mine, span, &b);
            }
        }
        clean
    }

    pub fn memory_bytes(&self) -> usize {
        (self.minutes.capacity() + self.hours.capacity() + self.days.capacity())
            * size_of::<Option<Bucket>>()
            + self
                .minutes
                .iter()
                .chain(&self.hours)
                .chain(&self.days)
                .flatten()
                .map(|b| b.memory_bytes() - size_of::<Bucket>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    /// A minute with `n` sessions from source `src` to destination 1.
    fn minute(start_s: u64, src: u32, n: u64) -> Bucket {
        let s = |a| Summary {
            counts: vec![(ip(a), n)],
            total: n,
            error: 0,
        };
        Bucket {
            start_s,
            sources: s(src),
            destinations: s(1),
        }
    }

    const DAY: u64 = 86_400;
    const T0: u64 = 1_780_000_000 / DAY * DAY; // a midnight

    #[test]
    fn windows_take_their_buckets_and_the_minute_in_progress() {
        let mut h = TopHistory::default();
        h.add_minute(&minute(T0, 10, 5)); // 00:00
        h.add_minute(&minute(T0 + 30 * 60, 11, 3)); // 00:30
        h.add_minute(&minute(T0 + 90 * 60, 12, 2)); // 01:30
        let now = T0 + 100 * 60 + 5; // 01:40:05
        let cur = minute(T0 + 100 * 60, 13, 1);
        let hour = h.window(Window::LastHour, now, Some(&cur));
        // 00:41 .. 01:40: 12 and 13 only.
        assert_eq!(hour.sources.total, 3);
        assert_eq!(hour.sources.count(ip(12)), 2);
        assert_eq!(hour.sources.count(ip(10)), 0);
        let day = h.window(Window::Last24Hours, now, Some(&cur));
        assert_eq!(day.sources.total, 11);
        assert_eq!(day.destinations.count(ip(1)), 11);
        let month = h.window(Window::Last30Days, now, None);
        assert_eq!(month.sources.total, 10);
    }

    #[test]
    fn virtual_time_past_30_days_rolls_every_ring() {
        let mut h = TopHistory::default();
        // One minute every 6 hours for 40 days: source = the day number.
        for d in 0..40u64 {
            for q in 0..4 {
                h.add_minute(&minute(T0 + d * DAY + q * 6 * 3600, d as u32, 1));
            }
        }
        let now = T0 + 39 * DAY + 18 * 3600 + 30; // the last minute filed, 30 s in
        let month = h.window(Window::Last30Days, now, None);
        // Days 10..=39: 30 days of 4 sessions; days 0..=9 rolled out.
        assert_eq!(month.sources.total, 120);
        assert_eq!(month.sources.count(ip(9)), 0);
        assert_eq!(month.sources.count(ip(10)), 4);
        assert_eq!(month.sources.count(ip(39)), 4);
        // Last 24 hours: 18:00 on day 38 was 24 h ago and is outside (its hour started
        // 24 h before this hour): 00:00, 06:00, 12:00, 18:00 of day 39.
        let day = h.window(Window::Last24Hours, now, None);
        assert_eq!(day.sources.total, 4);
        assert_eq!(day.sources.count(ip(38)), 0);
        let hour = h.window(Window::LastHour, now, None);
        assert_eq!(hour.sources.total, 1);
        // Every ring holds at most its size, the stale buckets replaced.
        assert!(h.days.iter().flatten().all(|b| b.start_s >= T0 + 10 * DAY));
        // Far later, nothing is in any window, and a stale slot takes new data.
        let later = T0 + 400 * DAY;
        for w in Window::ALL {
            assert!(h.window(w, later, None).sources.is_empty());
        }
        h.add_minute(&minute(later, 99, 2));
        assert_eq!(h.window(Window::Last30Days, later, None).sources.total, 2);
    }

    #[test]
    fn an_older_bucket_never_replaces_a_newer_one() {
        let mut h = TopHistory::default();
        h.add_minute(&minute(T0 + 3600, 1, 1));
        // Same minute slot, an hour older.
        h.add_minute(&minute(T0, 2, 1));
        assert_eq!(h.minutes[0].as_ref().unwrap().start_s, T0 + 3600);
        // The hour ring has room for both hours.
        assert_eq!(
            h.window(Window::Last24Hours, T0 + 3700, None).sources.total,
            2
        );
    }

    #[test]
    fn histories_merge_bucket_by_bucket_and_a_restored_one_adds_up() {
        let mut a = TopHistory::default();
        let mut b = TopHistory::default();
        a.add_minute(&minute(T0, 1, 2));
        b.add_minute(&minute(T0, 1, 3));
        b.add_minute(&minute(T0 + 60, 2, 1));
        a.merge_from(&b);
        let w = a.window(Window::LastHour, T0 + 90, None);
        assert_eq!(w.sources.count(ip(1)), 5);
        assert_eq!(w.sources.count(ip(2)), 1);
        let d = a.window(Window::Last30Days, T0 + 90, None);
        assert_eq!(d.sources.total, 6, "hours and days merged once");
    }

    #[test]
    fn a_history_from_disk_is_made_safe() {
        let mut h = TopHistory::default();
        h.add_minute(&minute(T0, 1, 2));
        let mut bad = h.clone();
        bad.minutes.truncate(3);
        bad.hours.extend(std::iter::repeat_n(None, 500));
        // A bucket in the wrong slot.
        bad.days.swap(0, 7);
        let clean = bad.sanitize();
        assert_eq!(clean.minutes.len(), MINUTES);
        assert_eq!(clean.hours.len(), HOURS);
        assert_eq!(clean, h);
    }
}
