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

    #[test]
    fn keywords_and_mnemonics() {
        let k: Vec<&str> = AlarmKind::ALL.iter().map(|a| a.keyword()).collect();
        assert_eq!(k, ["usage-abrupt", "rate-abrupt", "try-rate-abrupt"]);
        assert_eq!(AlarmKind::TryRate.mnemonic(), "SESSION_TRY_RATE_ABRUPT");
    }
}
