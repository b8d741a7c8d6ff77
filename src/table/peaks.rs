//! The history maxima of `display session statistics history-max` (SPEC T1; the layout is
//! ours, comware.md §3.5): per family and protocol, the most sessions there were at once and
//! the highest establishment rate, each with the engine time it was reached, since the shard
//! started or since `reset session statistics`.
//!
//! Pure: time is an argument (the engine clock, milliseconds: capture time in replay, the
//! wall clock live). The census (`census.rs`) drives it: a session created or gone updates
//! the live totals here (one add and one compare per creation, so a peak between two ticks is
//! never missed), and each recomputed establishment rate is offered once a second.
//!
//! One shard sees one core's sessions. How the cores' maxima combine (the console adds them:
//! an upper bound, exact on one core) is `PeakCounts::merge`.

use crate::proto::Protocol;
use crate::proto::wire::Family;

/// Protocol groups, plus one row for all protocols of the family.
pub const ROWS: usize = Protocol::COUNT + 1;
/// The row of all protocols together.
pub const ALL: usize = Protocol::COUNT;

/// One maximum: its value and when it was reached (engine milliseconds; 0 = never).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Peak {
    pub value: u64,
    pub at_ms: u64,
}

impl Peak {
    #[inline]
    fn offer(&mut self, value: u64, now_ms: u64) {
        if value > self.value {
            *self = Peak {
                value,
                at_ms: now_ms,
            };
        }
    }
}

/// What a core answers for `display session statistics history-max`, and what the console
/// merges and renders: per family (index 0 IPv4, 1 IPv6) and row (`Protocol as usize`, `ALL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeakCounts {
    pub sessions: [[Peak; ROWS]; 2],
    pub rate_per_s: [[Peak; ROWS]; 2],
    /// Since when (engine milliseconds): the first packet the shard saw, or the last reset.
    pub since_ms: u64,
}

impl Default for PeakCounts {
    fn default() -> Self {
        PeakCounts {
            sessions: [[Peak::default(); ROWS]; 2],
            rate_per_s: [[Peak::default(); ROWS]; 2],
            since_ms: 0,
        }
    }
}

impl PeakCounts {
    /// Adds another core's maxima. The cores' maxima need not have come at the same moment,
    /// so their sum is an upper bound of the engine's maximum, exact with one core (or when
    /// the cores peaked together); the time kept is that of the largest contribution (the
    /// earlier one on a tie), the moment that weighed most. `since` is the earliest start.
    pub fn merge(&mut self, other: &PeakCounts) {
        for (mine, theirs) in [
            (&mut self.sessions, &other.sessions),
            (&mut self.rate_per_s, &other.rate_per_s),
        ] {
            for (a_fam, b_fam) in mine.iter_mut().zip(theirs.iter()) {
                for (a, b) in a_fam.iter_mut().zip(b_fam.iter()) {
                    a.at_ms = match (a.value, b.value) {
                        (_, 0) => a.at_ms,
                        (0, _) => b.at_ms,
                        (x, y) if y > x || (y == x && b.at_ms < a.at_ms) => b.at_ms,
                        _ => a.at_ms,
                    };
                    a.value += b.value;
                }
            }
        }
        self.since_ms = match (self.since_ms, other.since_ms) {
            (0, t) | (t, 0) => t,
            (a, b) => a.min(b),
        };
    }

    /// The maximum of sessions of family `f` and row `row`.
    pub fn sessions(&self, f: Family, row: usize) -> Peak {
        self.sessions[f.index()]
            .get(row)
            .copied()
            .unwrap_or_default()
    }

    pub fn rate(&self, f: Family, row: usize) -> Peak {
        self.rate_per_s[f.index()]
            .get(row)
            .copied()
            .unwrap_or_default()
    }
}

/// One shard's maxima and the live totals they follow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peaks {
    /// Live sessions per family and row.
    live: [[u64; ROWS]; 2],
    peaks: PeakCounts,
}

impl Peaks {
    /// A session of `group` (`Protocol as usize`) was created at `now_ms`.
    #[inline]
    pub fn created(&mut self, family: Family, group: usize, now_ms: u64) {
        if self.peaks.since_ms == 0 {
            self.peaks.since_ms = now_ms;
        }
        let f = family.index();
        for row in [group, ALL] {
            if let Some(n) = self.live[f].get_mut(row) {
                *n += 1;
                let n = *n;
                self.peaks.sessions[f][row].offer(n, now_ms);
            }
        }
    }

    /// A session of `group` went.
    #[inline]
    pub fn removed(&mut self, family: Family, group: usize) {
        let f = family.index();
        for row in [group, ALL] {
            if let Some(n) = self.live[f].get_mut(row) {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// The establishment rates of the second that ended at `now_ms`, per family and group.
    pub fn rates(&mut self, rates: &[[u64; Protocol::COUNT]; 2], now_ms: u64) {
        for (f, per_group) in rates.iter().enumerate() {
            let mut all = 0;
            for (g, &r) in per_group.iter().enumerate() {
                self.peaks.rate_per_s[f][g].offer(r, now_ms);
                all += r;
            }
            self.peaks.rate_per_s[f][ALL].offer(all, now_ms);
        }
    }

    /// `reset session statistics` at `now_ms`: the maxima start again from what there is now
    /// (the sessions alive are the maximum since the reset until more come; rates from 0).
    pub fn reset(&mut self, now_ms: u64) {
        let mut p = PeakCounts {
            since_ms: now_ms,
            ..PeakCounts::default()
        };
        for (f, rows) in self.live.iter().enumerate() {
            for (row, &n) in rows.iter().enumerate() {
                if n > 0 {
                    p.sessions[f][row] = Peak {
                        value: n,
                        at_ms: now_ms,
                    };
                }
            }
        }
        self.peaks = p;
    }

    pub fn counts(&self) -> PeakCounts {
        self.peaks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: usize = Protocol::Tcp as usize;
    const UDP: usize = Protocol::Udp as usize;

    #[test]
    fn the_maximum_and_its_time_follow_creations_and_removals() {
        let mut p = Peaks::default();
        p.created(Family::V4, TCP, 1_000);
        p.created(Family::V4, TCP, 2_000);
        p.removed(Family::V4, TCP);
        p.created(Family::V4, UDP, 3_000);
        p.created(Family::V4, TCP, 4_000);
        let c = p.counts();
        assert_eq!(c.since_ms, 1_000);
        assert_eq!(
            c.sessions(Family::V4, TCP),
            Peak {
                value: 2,
                at_ms: 2_000
            }
        );
        assert_eq!(
            c.sessions(Family::V4, UDP),
            Peak {
                value: 1,
                at_ms: 3_000
            }
        );
        // All protocols: 1, 2, 1, 2, 3 -> 3 at 4 s.
        assert_eq!(
            c.sessions(Family::V4, ALL),
            Peak {
                value: 3,
                at_ms: 4_000
            }
        );
        assert_eq!(c.sessions(Family::V6, ALL), Peak::default());
    }

    #[test]
    fn rates_keep_their_highest_second() {
        let mut p = Peaks::default();
        let mut r = [[0u64; Protocol::COUNT]; 2];
        r[0][TCP] = 10;
        r[0][UDP] = 5;
        p.rates(&r, 1_000);
        r[0][TCP] = 8;
        r[0][UDP] = 9;
        p.rates(&r, 2_000);
        let c = p.counts();
        assert_eq!(
            c.rate(Family::V4, TCP),
            Peak {
                value: 10,
                at_ms: 1_000
            }
        );
        assert_eq!(
            c.rate(Family::V4, UDP),
            Peak {
                value: 9,
                at_ms: 2_000
            }
        );
        assert_eq!(
            c.rate(Family::V4, ALL),
            Peak {
                value: 17,
                at_ms: 2_000
            }
        );
    }

    #[test]
    fn a_reset_starts_from_the_sessions_alive() {
        let mut p = Peaks::default();
        for t in 0..5 {
            p.created(Family::V6, UDP, 1_000 + t);
        }
        p.removed(Family::V6, UDP);
        let mut r = [[0u64; Protocol::COUNT]; 2];
        r[1][UDP] = 7;
        p.rates(&r, 1_500);
        p.reset(9_000);
        let c = p.counts();
        assert_eq!(c.since_ms, 9_000);
        assert_eq!(
            c.sessions(Family::V6, UDP),
            Peak {
                value: 4,
                at_ms: 9_000
            }
        );
        assert_eq!(c.rate(Family::V6, ALL), Peak::default());
    }

    #[test]
    fn cores_add_up_and_keep_the_largest_contributions_time() {
        let mut a = Peaks::default();
        let mut b = Peaks::default();
        a.created(Family::V4, TCP, 5_000);
        b.created(Family::V4, TCP, 2_000);
        b.created(Family::V4, TCP, 3_000);
        let mut m = a.counts();
        m.merge(&b.counts());
        assert_eq!(
            m.sessions(Family::V4, TCP),
            Peak {
                value: 3,
                at_ms: 3_000
            }
        );
        assert_eq!(m.since_ms, 2_000);
        // An idle core changes nothing.
        m.merge(&PeakCounts::default());
        assert_eq!(
            m.sessions(Family::V4, TCP),
            Peak {
                value: 3,
                at_ms: 3_000
            }
        );
        assert_eq!(m.since_ms, 2_000);
    }
}
