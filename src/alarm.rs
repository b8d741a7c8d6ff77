//! The three abrupt-change session alarms (SPEC M1-M3; issue #13), as pure rules: what the
//! alarm actor will evaluate every 10 seconds on the engine's clock. No clock, no I/O.
//!
//! Semantics from the Comware configuration guide (seed `001_4e0aec43a0dcd36c.txt`, session
//! management, "会话表项使用率突变告警" and the two rate alarms):
//!
//! - The device checks in **10-second periods**.
//! - **Change rate** = the difference between the value at the period's end and at its start,
//!   as a percentage of the value at its start: |end − start| / start × 100. A sharp rise and a
//!   sharp fall both count ("突然大幅升高或降低").
//! - **Start percentage** ("起始使用率" / "起始百分比"): for `usage-abrupt`, the sessions at the
//!   period's start as a percentage of the table's capacity ("系统会话最大规格数"); for
//!   `rate-abrupt` and `try-rate-abrupt`, the rate at the period's start as a percentage of
//!   100,000 per second ("所占10万的百分比值").
//! - **An alarm** when the change rate *reaches* the threshold ("达到") and the start percentage
//!   is *greater than* the base threshold ("大于"). Defaults: threshold 20 %, base 10 %.
//! - A start of zero has a start percentage of zero, never above the base: no alarm (and no
//!   division by zero).
//!
//! Rates: `rate-abrupt` watches sessions created per second; `try-rate-abrupt` every attempt
//! to create one, including those refused at capacity or by the packet filter. The rate at
//! an instant is what the last second counted (ours: the guide does not say over what window
//! a rate is taken).

/// Which alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmKind {
    /// `session alarm usage-abrupt`: the session count, against the capacity.
    Usage,
    /// `session alarm rate-abrupt`: sessions created per second.
    Rate,
    /// `session alarm try-rate-abrupt`: attempts to create a session per second.
    TryRate,
}

impl AlarmKind {
    pub const ALL: [AlarmKind; 3] = [AlarmKind::Usage, AlarmKind::Rate, AlarmKind::TryRate];

    /// The console keyword (`session alarm KEYWORD ...`).
    pub const fn keyword(self) -> &'static str {
        match self {
            AlarmKind::Usage => "usage-abrupt",
            AlarmKind::Rate => "rate-abrupt",
            AlarmKind::TryRate => "try-rate-abrupt",
        }
    }

    /// The log mnemonic (ours: Comware's alarm texts are not known).
    pub const fn mnemonic(self) -> &'static str {
        match self {
            AlarmKind::Usage => "SESSION_USAGE_ABRUPT",
            AlarmKind::Rate => "SESSION_RATE_ABRUPT",
            AlarmKind::TryRate => "SESSION_TRY_RATE_ABRUPT",
        }
    }
}

/// The period the guide names, in milliseconds.
pub const PERIOD_MS: u64 = 10_000;
/// What a rate's start percentage is taken of: 100,000 per second.
pub const RATE_REFERENCE: u64 = 100_000;
/// Defaults of `session alarm ... threshold` and `base-threshold` (percent).
pub const DEFAULT_THRESHOLD_PCT: u32 = 20;
pub const DEFAULT_BASE_PCT: u32 = 10;

/// One alarm's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmRule {
    /// `session alarm KIND enable`.
    pub enabled: bool,
    /// Change rate that raises the alarm, percent.
    pub threshold_pct: u32,
    /// The start percentage must be above this, percent.
    pub base_pct: u32,
}

impl Default for AlarmRule {
    fn default() -> Self {
        AlarmRule {
            enabled: false,
            threshold_pct: DEFAULT_THRESHOLD_PCT,
            base_pct: DEFAULT_BASE_PCT,
        }
    }
}

/// An alarm raised for one period: everything its message tells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Abrupt {
    pub kind: AlarmKind,
    /// The value at the period's start and at its end (sessions, or per second).
    pub start: u64,
    pub end: u64,
    /// |end − start| / start, percent.
    pub change_pct: f64,
    /// start / reference, percent.
    pub start_pct: f64,
    pub threshold_pct: u32,
    pub base_pct: u32,
    /// What the start percentage is taken of (the capacity, or 100,000 per second).
    pub reference: u64,
}

impl Abrupt {
    /// The alarm's text (ours: Comware's is not known), after the mnemonic, e.g. `The
    /// session creation rate changed from 12000/s to 30000/s (+150.0%) in 10 s, reaching
    /// the threshold 20%; start 12.0% of 100000/s, above the base threshold 10%.`
    pub fn text(&self) -> String {
        let (what, unit, of) = match self.kind {
            AlarmKind::Usage => ("number of sessions", "", "the table's capacity"),
            AlarmKind::Rate => ("session creation rate", "/s", "100000/s"),
            AlarmKind::TryRate => ("session attempt rate", "/s", "100000/s"),
        };
        let sign = if self.end >= self.start { '+' } else { '-' };
        let of = if self.kind == AlarmKind::Usage {
            format!("{of} ({})", self.reference)
        } else {
            of.to_string()
        };
        format!(
            "The {what} changed from {}{unit} to {}{unit} ({sign}{:.1}%) in {} s, reaching the \
             threshold {}%; start {:.1}% of {of}, above the base threshold {}%.",
            self.start,
            self.end,
            self.change_pct,
            PERIOD_MS / 1000,
            self.threshold_pct,
            self.start_pct,
            self.base_pct
        )
    }
}

/// The rule for one period: `start` and `end` values, `reference` the capacity (usage) or
/// 100,000 (rates). `None` when the alarm is off or the period does not qualify.
pub fn check(
    kind: AlarmKind,
    rule: &AlarmRule,
    start: u64,
    end: u64,
    reference: u64,
) -> Option<Abrupt> {
    if !rule.enabled || start == 0 || reference == 0 {
        return None;
    }
    // Compared exactly in integers (percentages of u64 values): "reaches" is >=, "above" is >.
    let diff = u128::from(start.abs_diff(end));
    let reaches = diff * 100 >= u128::from(rule.threshold_pct) * u128::from(start);
    let above_base = u128::from(start) * 100 > u128::from(rule.base_pct) * u128::from(reference);
    (reaches && above_base).then(|| Abrupt {
        kind,
        start,
        end,
        change_pct: diff as f64 * 100.0 / start as f64,
        start_pct: start as f64 * 100.0 / reference as f64,
        threshold_pct: rule.threshold_pct,
        base_pct: rule.base_pct,
        reference,
    })
}

/// The 10-second schedule on the engine's clock: periods aligned to multiples of
/// `PERIOD_MS`, each period's start value remembered until its end. Feed it the value at
/// every tick; it answers `(start, end)` when a period ends.
#[derive(Debug, Clone, Default)]
pub struct Periods {
    /// The current period's number (`now_ms / PERIOD_MS`) and its start value.
    open: Option<(u64, u64)>,
}

impl Periods {
    /// The value at `now_ms`. When this sample is the first of a new period, the period just
    /// ended gives `(its start value, this value)`, and this value starts the new one. A gap of
    /// several periods (an idle engine, a capture's silence) ends only the period that was
    /// open: its end is the value now.
    pub fn sample(&mut self, now_ms: u64, value: u64) -> Option<(u64, u64)> {
        let period = now_ms / PERIOD_MS;
        match self.open {
            Some((p, _)) if p == period => None,
            Some((p, start)) if period > p => {
                self.open = Some((period, value));
                Some((start, value))
            }
            // The first sample, or time went back (a new capture): start afresh.
            _ => {
                self.open = Some((period, value));
                None
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// What the cores count and report (issue #13, step 1)

/// A core's never-reset totals (`reset session statistics` leaves them alone: the alarms
/// compare one period with the next, a reset in between would look like a fall).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Sessions created.
    pub created: u64,
    /// Attempts to create a session: every packet that would have created one (its
    /// protocol's first-packet checks passed), created, refused at capacity or denied by the
    /// packet filter.
    pub attempts: u64,
    /// Attempts refused at capacity (no unanswered session to evict).
    pub refused_full: u64,
}

/// What a core reports at an engine-clock second boundary: its totals and its session
/// count as the second `second` began (before its first packet was counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondTotals {
    pub core: u8,
    /// The second (engine clock, seconds since the epoch or the capture's origin) that
    /// has just begun.
    pub second: u64,
    pub totals: Totals,
    pub sessions: u64,
}

/// Reports a shard keeps until its owner takes them: one per second boundary, so a
/// turn of the core loop (or a replay batch) leaves at most a few here.
pub const PENDING_SECONDS: usize = 64;

/// The shard's part: its totals and the second they were last reported at. The packet
/// path pays one compare of the second (`crossed`); the report is built only when a
/// second boundary was crossed. It goes to the control plane's bounded channel when one is
/// attached (`try_send`: a full channel is counted, never waited for), otherwise into a
/// queue reserved once and never grown, which the owner drains (replay, after each batch).
#[derive(Debug)]
pub struct SecondClock {
    pub totals: Totals,
    /// Where the second of the last report ends, in ms (0 before the first report).
    next_ms: u64,
    tx: Option<flume::Sender<SecondTotals>>,
    pending: std::collections::VecDeque<SecondTotals>,
    /// Reports lost: the channel was full, or the queue was (nobody drains it: an offline
    /// tool).
    pub dropped: u64,
}

impl Default for SecondClock {
    fn default() -> Self {
        SecondClock {
            totals: Totals::default(),
            next_ms: 0,
            tx: None,
            pending: std::collections::VecDeque::with_capacity(PENDING_SECONDS),
            dropped: 0,
        }
    }
}

impl SecondClock {
    /// Whether `now_ms` is past the second of the last report: the per-packet check (the
    /// shard's clock never goes back).
    #[inline]
    pub fn crossed(&self, now_ms: u64) -> bool {
        now_ms >= self.next_ms
    }

    /// Queues the report for the second of `now_ms` (call when `crossed`).
    #[cold]
    pub fn report(&mut self, core: u8, now_ms: u64, sessions: u64) {
        let second = now_ms / 1000;
        self.next_ms = (second + 1).saturating_mul(1000);
        let r = SecondTotals {
            core,
            second,
            totals: self.totals,
            sessions,
        };
        let kept = match &self.tx {
            Some(tx) => tx.try_send(r).is_ok(),
            None if self.pending.len() < PENDING_SECONDS => {
                self.pending.push_back(r);
                true
            }
            None => false,
        };
        if !kept {
            self.dropped += 1;
        }
    }

    /// Sends every later report to the control plane's watch (`run`).
    pub fn attach(&mut self, tx: flume::Sender<SecondTotals>) {
        self.tx = Some(tx);
    }

    /// The reports not yet taken, oldest first.
    pub fn take(&mut self) -> impl Iterator<Item = SecondTotals> + '_ {
        self.pending.drain(..)
    }
}

// ------------------------------------------------------------------------------------------
// The control plane's watch

/// Values of the engine as one 10-second boundary began, summed over the cores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sample {
    /// The boundary, in seconds (a multiple of `PERIOD_MS / 1000`).
    boundary_s: u64,
    sessions: u64,
    /// Sessions created per second, and attempts per second, over the second(s) before
    /// the boundary.
    rate: u64,
    try_rate: u64,
}

/// Samples a core may have waiting for the other cores' (a core that stopped reporting
/// cannot hold the others' memory): past it, the oldest is dropped and counted.
const WAITING_SAMPLES: usize = 64;

#[derive(Debug, Default)]
struct CoreTrack {
    last: Option<SecondTotals>,
    waiting: std::collections::VecDeque<Sample>,
}

/// Per alarm: whether its last period alarmed, and how often it has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AlarmStatus {
    pub enabled: bool,
    /// The last period that ended raised it.
    pub active: bool,
    /// Times raised since start.
    pub fired: u64,
}

/// Sums the cores' second reports per 10-second period and runs the rules: pure, fed by
/// whoever drains the cores' channel (the control plane live, the replay's thread on
/// capture time).
///
/// A core reports when the first packet or tick of a new second reaches it. At the first
/// report past a 10-second boundary it gives a sample: its session count then, and its
/// rates (created and attempted per second) over the seconds since its previous report
/// (one second when it is busy or ticking; the average over a silence otherwise). When
/// every core has a sample, the earliest boundary is summed and ends a period; a core that
/// jumped past that boundary (a silence) lends its next sample.
#[derive(Debug)]
pub struct Watch {
    cores: Vec<CoreTrack>,
    periods: [Periods; 3],
    pub rules: [AlarmRule; 3],
    /// The table's capacity (usage is a percentage of it).
    pub capacity: u64,
    status: [AlarmStatus; 3],
    /// Samples dropped waiting for a core that did not report.
    pub samples_dropped: u64,
}

impl Watch {
    pub fn new(cores: usize, capacity: u64) -> Watch {
        Watch {
            cores: (0..cores.max(1)).map(|_| CoreTrack::default()).collect(),
            periods: Default::default(),
            rules: [AlarmRule::default(); 3],
            capacity,
            status: [AlarmStatus::default(); 3],
            samples_dropped: 0,
        }
    }

    /// Per alarm (in `AlarmKind::ALL`'s order): enabled, active, times fired.
    pub fn status(&self) -> [AlarmStatus; 3] {
        let mut s = self.status;
        for (st, r) in s.iter_mut().zip(&self.rules) {
            st.enabled = r.enabled;
        }
        s
    }

    /// One core's report; the alarms of every period it completes go to `raised`, each
    /// with the time its period ended (engine clock, ms).
    pub fn report(&mut self, r: SecondTotals, raised: &mut Vec<(u64, Abrupt)>) {
        let Some(track) = self.cores.get_mut(usize::from(r.core)) else {
            return;
        };
        let period_s = PERIOD_MS / 1000;
        match track.last {
            Some(last) if r.second < last.second => {
                // Time went back (the next capture): this core starts afresh.
                track.waiting.clear();
            }
            Some(last) if r.second / period_s > last.second / period_s => {
                let secs = (r.second - last.second).max(1);
                let per_s = |now: u64, then: u64| now.saturating_sub(then) / secs;
                if track.waiting.len() >= WAITING_SAMPLES {
                    track.waiting.pop_front();
                    self.samples_dropped += 1;
                }
                track.waiting.push_back(Sample {
                    boundary_s: r.second / period_s * period_s,
                    sessions: r.sessions,
                    rate: per_s(r.totals.created, last.totals.created),
                    try_rate: per_s(r.totals.attempts, last.totals.attempts),
                });
            }
            _ => {}
        }
        track.last = Some(r);
        self.evaluate(raised);
    }

    /// Ends every period all cores have a sample for.
    fn evaluate(&mut self, raised: &mut Vec<(u64, Abrupt)>) {
        while self.cores.iter().all(|c| !c.waiting.is_empty()) {
            let boundary_s = self
                .cores
                .iter()
                .filter_map(|c| c.waiting.front().map(|s| s.boundary_s))
                .min()
                .unwrap_or(0);
            let mut sum = Sample {
                boundary_s,
                ..Sample::default()
            };
            for c in &mut self.cores {
                let Some(front) = c.waiting.front().copied() else {
                    continue;
                };
                if front.boundary_s == boundary_s {
                    c.waiting.pop_front();
                }
                sum.sessions += front.sessions;
                sum.rate += front.rate;
                sum.try_rate += front.try_rate;
            }
            self.period_end(sum, raised);
        }
    }

    fn period_end(&mut self, s: Sample, raised: &mut Vec<(u64, Abrupt)>) {
        let now_ms = s.boundary_s * 1000;
        for (i, kind) in AlarmKind::ALL.into_iter().enumerate() {
            let (value, reference) = match kind {
                AlarmKind::Usage => (s.sessions, self.capacity),
                AlarmKind::Rate => (s.rate, RATE_REFERENCE),
                AlarmKind::TryRate => (s.try_rate, RATE_REFERENCE),
            };
            let Some((start, end)) = self.periods[i].sample(now_ms, value) else {
                continue;
            };
            let alarm = check(kind, &self.rules[i], start, end, reference);
            self.status[i].active = alarm.is_some();
            if let Some(a) = alarm {
                self.status[i].fired += 1;
                raised.push((now_ms, a));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(threshold_pct: u32, base_pct: u32) -> AlarmRule {
        AlarmRule {
            enabled: true,
            threshold_pct,
            base_pct,
        }
    }

    #[test]
    fn off_by_default_with_the_guides_defaults() {
        let r = AlarmRule::default();
        assert!(!r.enabled);
        assert_eq!((r.threshold_pct, r.base_pct), (20, 10));
        assert_eq!(check(AlarmKind::Usage, &r, 500, 5000, 1000), None);
    }

    #[test]
    fn the_change_must_reach_the_threshold() {
        let r = on(20, 10);
        // Capacity 1000, 200 sessions at the start (20 % > 10 %).
        assert!(
            check(AlarmKind::Usage, &r, 200, 240, 1000).is_some(),
            "+20 % reaches 20 %"
        );
        assert!(
            check(AlarmKind::Usage, &r, 200, 239, 1000).is_none(),
            "+19.5 %"
        );
        // A fall counts as much as a rise.
        let a = check(AlarmKind::Usage, &r, 200, 160, 1000).expect("-20 %");
        assert_eq!((a.start, a.end, a.change_pct), (200, 160, 20.0));
        assert!(
            check(AlarmKind::Usage, &r, 200, 161, 1000).is_none(),
            "-19.5 %"
        );
    }

    #[test]
    fn the_start_must_be_above_the_base() {
        let r = on(20, 10);
        // Exactly 10 % of the capacity at the start is not above 10 %.
        assert!(check(AlarmKind::Usage, &r, 100, 1000, 1000).is_none());
        assert!(check(AlarmKind::Usage, &r, 101, 1000, 1000).is_some());
        // Rates: the base is a percentage of 100,000 per second.
        assert!(check(AlarmKind::Rate, &r, 10_000, 20_000, RATE_REFERENCE).is_none());
        let a = check(AlarmKind::Rate, &r, 10_001, 20_002, RATE_REFERENCE).expect("above");
        assert_eq!(a.change_pct, 100.0);
        assert!((a.start_pct - 10.001).abs() < 1e-9);
        assert!(check(AlarmKind::TryRate, &r, 10_001, 20_002, RATE_REFERENCE).is_some());
    }

    #[test]
    fn a_start_of_zero_never_alarms() {
        // No division by zero, and 0 % is never above any base, even a base of 0.
        assert!(check(AlarmKind::Rate, &on(20, 0), 0, 90_000, RATE_REFERENCE).is_none());
        assert!(check(AlarmKind::Usage, &on(0, 0), 0, 0, 1000).is_none());
        // A base of 0 and a threshold of 0: any non-zero start alarms, even unchanged.
        assert!(check(AlarmKind::Usage, &on(0, 0), 1, 1, 1000).is_some());
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let r = on(20, 10);
        let a = check(AlarmKind::Usage, &r, u64::MAX / 2, u64::MAX, u64::MAX).expect("+100 %");
        assert!((a.change_pct - 100.0).abs() < 1e-6);
        assert!(check(AlarmKind::Usage, &r, u64::MAX, 0, u64::MAX).is_some());
    }

    #[test]
    fn periods_are_ten_seconds_on_the_engine_clock() {
        let mut p = Periods::default();
        assert_eq!(p.sample(3_000, 100), None, "first sample opens period 0");
        assert_eq!(p.sample(9_999, 150), None, "same period");
        assert_eq!(
            p.sample(10_000, 130),
            Some((100, 130)),
            "period 0 ends at 10 s"
        );
        assert_eq!(p.sample(19_000, 500), None);
        // A silence of several periods ends the open one with the value now.
        assert_eq!(p.sample(65_000, 90), Some((130, 90)));
        assert_eq!(p.sample(70_000, 90), Some((90, 90)));
        // Time going back (the next capture) starts afresh.
        assert_eq!(p.sample(1_000, 5), None);
        assert_eq!(p.sample(10_500, 50), Some((5, 50)));
    }

    #[test]
    fn the_text_gives_both_values_the_change_the_threshold_and_the_base() {
        let a = check(AlarmKind::Rate, &on(20, 10), 12_000, 30_000, RATE_REFERENCE).unwrap();
        assert_eq!(
            a.text(),
            "The session creation rate changed from 12000/s to 30000/s (+150.0%) in 10 s, \
             reaching the threshold 20%; start 12.0% of 100000/s, above the base threshold 10%."
        );
        let a = check(AlarmKind::Usage, &on(20, 10), 800, 400, 1000).unwrap();
        assert_eq!(
            a.text(),
            "The number of sessions changed from 800 to 400 (-50.0%) in 10 s, reaching the \
             threshold 20%; start 80.0% of the table's capacity (1000), above the base \
             threshold 10%."
        );
    }

    fn report(core: u8, second: u64, created: u64, attempts: u64, sessions: u64) -> SecondTotals {
        SecondTotals {
            core,
            second,
            totals: Totals {
                created,
                attempts,
                refused_full: attempts - created,
            },
            sessions,
        }
    }

    /// Feeds `w` one core's seconds `from..to` at `rate` creations a second (attempts
    /// `try_rate`), from the totals `*c` / `*a`; returns what was raised.
    #[allow(clippy::too_many_arguments)]
    fn run(
        w: &mut Watch,
        core: u8,
        from: u64,
        to: u64,
        rate: u64,
        try_rate: u64,
        c: &mut u64,
        a: &mut u64,
    ) -> Vec<(u64, Abrupt)> {
        let mut raised = Vec::new();
        for s in from..to {
            w.report(report(core, s, *c, *a, 0), &mut raised);
            *c += rate;
            *a += try_rate;
        }
        raised
    }

    #[test]
    fn the_watch_sums_the_cores_per_period_and_ends_a_period_when_all_reported() {
        let mut w = Watch::new(2, 1000);
        w.rules[1] = on(20, 1);
        let (mut c0, mut a0, mut c1, mut a1) = (0, 0, 0, 0);
        // Seconds 0..=19 at 1,000/s on each core (2,000/s in all), 20..=30 at 1,500/s each.
        assert!(run(&mut w, 0, 0, 20, 1000, 1000, &mut c0, &mut a0).is_empty());
        assert!(run(&mut w, 1, 0, 20, 1000, 1000, &mut c1, &mut a1).is_empty());
        assert!(run(&mut w, 0, 20, 31, 1500, 1500, &mut c0, &mut a0).is_empty());
        // Core 1 has not reported second 30 yet: the period [20, 30) is not over.
        assert!(run(&mut w, 1, 20, 30, 1500, 1500, &mut c1, &mut a1).is_empty());
        let raised = run(&mut w, 1, 30, 31, 1500, 1500, &mut c1, &mut a1);
        assert_eq!(raised.len(), 1, "{raised:?}");
        let (ms, a) = raised[0];
        assert_eq!(ms, 30_000, "stamped with the period's end");
        assert_eq!((a.kind, a.start, a.end), (AlarmKind::Rate, 2000, 3000));
        let st = w.status();
        assert!(st[1].enabled && st[1].active && st[1].fired == 1);
        assert!(!st[0].enabled && !st[0].active);
    }

    #[test]
    fn a_silent_core_lends_its_next_sample_and_time_going_back_starts_afresh() {
        let mut w = Watch::new(2, 1000);
        w.rules[0] = on(20, 10);
        let mut raised = Vec::new();
        // Core 0 busy every second with 200 sessions; core 1 silent from 1 to 35.
        w.report(report(1, 0, 0, 0, 100), &mut raised);
        for s in 0..=30 {
            w.report(report(0, s, 0, 0, 200), &mut raised);
        }
        assert!(raised.is_empty());
        // Core 1 jumps to 35 with 400 sessions: its sample is at boundary 30, and the
        // boundaries 10 and 20 (only core 0 sampled them) borrow it: 600 at each.
        w.report(report(1, 35, 0, 0, 400), &mut raised);
        assert!(raised.is_empty(), "{raised:?}");
        // Core 0 empties: 0 + 400 at boundary 40, a third less than 600.
        for s in 31..=40 {
            w.report(report(0, s, 0, 0, 0), &mut raised);
        }
        assert!(raised.is_empty(), "core 1 has not reported 40 yet");
        w.report(report(1, 40, 0, 0, 400), &mut raised);
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert_eq!(raised[0].0, 40_000);
        assert_eq!(
            (raised[0].1.kind, raised[0].1.start, raised[0].1.end),
            (AlarmKind::Usage, 600, 400)
        );
        // A new capture (time back to 0) does not end a period with the old one's values.
        raised.clear();
        w.report(report(0, 0, 0, 0, 900), &mut raised);
        w.report(report(1, 0, 0, 0, 900), &mut raised);
        assert!(raised.is_empty());
    }

    #[test]
    fn the_shards_clock_reports_each_second_once_and_counts_what_it_cannot_keep() {
        let mut c = SecondClock::default();
        assert!(c.crossed(5_000));
        c.report(0, 5_000, 3);
        assert!(!c.crossed(5_999));
        assert!(c.crossed(6_000));
        c.totals.created = 7;
        c.report(0, 6_000, 4);
        let got: Vec<_> = c.take().collect();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[1].second, got[1].totals.created, got[1].sessions),
            (6, 7, 4)
        );
        // Nobody drains: the queue stays bounded and counts the rest.
        for s in 0..(PENDING_SECONDS as u64 + 3) {
            c.report(0, 10_000 + s * 1000, 0);
        }
        assert_eq!((c.take().count(), c.dropped), (PENDING_SECONDS, 3));
        // With a channel: a full channel is counted, never waited for.
        let (tx, rx) = flume::bounded(1);
        c.attach(tx);
        c.report(0, 100_000, 0);
        c.report(0, 101_000, 0);
        assert_eq!((rx.len(), c.dropped), (1, 4));
    }

    #[test]
    fn keywords_and_mnemonics() {
        let k: Vec<&str> = AlarmKind::ALL.iter().map(|a| a.keyword()).collect();
        assert_eq!(k, ["usage-abrupt", "rate-abrupt", "try-rate-abrupt"]);
        assert_eq!(AlarmKind::TryRate.mnemonic(), "SESSION_TRY_RATE_ABRUPT");
    }
}
