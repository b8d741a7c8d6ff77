//! Counts kept as sessions change, so that `display session statistics` (SPEC T1,
//! reference/comware.md §3.2) answers without walking the table: live sessions per family,
//! protocol group and state, and packets/bytes received per family and protocol group since
//! the last `reset session statistics` (Comware's `Received TCP: N packets` counts packets,
//! not current sessions: a protocol with no session left may still show packets).
//!
//! It also keeps the session establishment rate: new sessions per second over the last whole
//! second, per family and protocol.
//!
//! Walking 10M sessions takes about 100 ms per core (measured, docs/performance.md), a pause
//! the data path would feel; these counters cost one array update per session change and,
//! with `session statistics enable`, one per packet.

use super::session::DirCounters;
use crate::proto::Protocol;
use crate::proto::wire::Family;

/// Protocol groups: the session-management protocols, in the display's order.
pub const GROUPS: usize = Protocol::COUNT;
/// State numbers a group may have (every machine's states are below this).
pub const STATES: usize = crate::proto::STATE_SLOTS;

/// The group of an IP protocol.
#[inline]
const fn group(proto: u8) -> usize {
    Protocol::of(proto) as usize
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    live: [[[u64; STATES]; GROUPS]; 2],
    received: [[DirCounters; GROUPS]; 2],
    /// Sessions created since start, for the establishment rate.
    created: [[u64; GROUPS]; 2],
    /// New sessions per second over the last whole second (§3.2 `Session establishment
    /// rate`), recomputed by `tick`.
    rates: [[u64; GROUPS]; 2],
    mark_ms: u64,
    mark_created: [[u64; GROUPS]; 2],
    /// The history maxima (`display session statistics history-max`).
    pub peaks: super::peaks::Peaks,
}

/// How often the establishment rate is recomputed.
const RATE_WINDOW_MS: u64 = 1000;

impl Census {
    /// A new session at `now_ms` (counted live, towards the establishment rate and the
    /// history maximum).
    #[inline]
    pub fn create(&mut self, family: Family, proto: u8, state: u8, now_ms: u64) {
        self.add(family, proto, state);
        self.created[family.index()][group(proto)] += 1;
        self.peaks.created(family, group(proto), now_ms);
    }

    /// A session went (`remove` only moves it out of its state).
    #[inline]
    pub fn close(&mut self, family: Family, proto: u8, state: u8) {
        self.remove(family, proto, state);
        self.peaks.removed(family, group(proto));
    }

    /// Time passes (the shard's clock, milliseconds): once a second, the rate of the second
    /// gone by.
    pub fn tick(&mut self, now_ms: u64) {
        if self.mark_ms == 0 || now_ms < self.mark_ms {
            self.mark_ms = now_ms;
            self.mark_created = self.created;
            return;
        }
        let span = now_ms - self.mark_ms;
        if span < RATE_WINDOW_MS {
            return;
        }
        for f in 0..2 {
            for g in 0..GROUPS {
                let n = self.created[f][g] - self.mark_created[f][g];
                self.rates[f][g] = n * 1000 / span;
            }
        }
        self.peaks.rates(&self.rates, now_ms);
        self.mark_ms = now_ms;
        self.mark_created = self.created;
    }

    /// New sessions per second of protocol `p`, for a family (or both).
    pub fn rate(&self, family: Option<Family>, p: Protocol) -> u64 {
        let group = p as usize;
        [Family::V4, Family::V6]
            .into_iter()
            .filter(|f| family.is_none_or(|x| x == *f))
            .map(|f| self.rates[f.index()][group])
            .sum()
    }

    #[inline]
    pub fn add(&mut self, family: Family, proto: u8, state: u8) {
        if let Some(c) = self.live[family.index()][group(proto)].get_mut(usize::from(state)) {
            *c += 1;
        }
    }

    #[inline]
    pub fn remove(&mut self, family: Family, proto: u8, state: u8) {
        if let Some(c) = self.live[family.index()][group(proto)].get_mut(usize::from(state)) {
            *c = c.saturating_sub(1);
        }
    }

    #[inline]
    pub fn change(&mut self, family: Family, proto: u8, from: u8, to: u8) {
        self.remove(family, proto, from);
        self.add(family, proto, to);
    }

    /// One packet of `bytes` (IP length) accepted for a session of `proto`.
    #[inline]
    pub fn receive(&mut self, family: Family, proto: u8, bytes: u32) {
        let r = &mut self.received[family.index()][group(proto)];
        r.packets += 1;
        r.bytes += u64::from(bytes);
    }

    /// `n` packets received at once (what a fast path forwarded for the engine).
    pub fn receive_many(&mut self, family: Family, proto: u8, n: DirCounters) {
        let r = &mut self.received[family.index()][group(proto)];
        r.packets += n.packets;
        r.bytes += n.bytes;
    }

    /// `reset session statistics` at `now_ms`: the received counters and the history maxima
    /// start again (live counts stay true).
    pub fn reset_statistics(&mut self, now_ms: u64) {
        self.received = Default::default();
        self.peaks.reset(now_ms);
    }

    /// Live sessions of a family (or both) of protocol `p`, by state number.
    pub fn live(&self, family: Option<Family>, p: Protocol) -> [u64; STATES] {
        let group = p as usize;
        let mut out = [0u64; STATES];
        for f in [Family::V4, Family::V6] {
            if family.is_none_or(|x| x == f) {
                for (o, n) in out.iter_mut().zip(self.live[f.index()][group].iter()) {
                    *o += n;
                }
            }
        }
        out
    }

    /// Packets and bytes received for protocol `p` in a family (or both).
    pub fn received(&self, family: Option<Family>, p: Protocol) -> DirCounters {
        let group = p as usize;
        let mut out = DirCounters::default();
        for f in [Family::V4, Family::V6] {
            if family.is_none_or(|x| x == f) {
                let r = self.received[f.index()][group];
                out.packets += r.packets;
                out.bytes += r.bytes;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::wire::ipproto;

    #[test]
    fn counts_follow_changes_and_families() {
        let mut c = Census::default();
        c.add(Family::V4, ipproto::TCP, 1);
        c.add(Family::V6, ipproto::TCP, 1);
        c.change(Family::V4, ipproto::TCP, 1, 3);
        c.receive(Family::V4, ipproto::TCP, 60);
        let tcp = Protocol::Tcp;
        assert_eq!(c.live(None, tcp)[1], 1);
        assert_eq!(c.live(Some(Family::V4), tcp)[3], 1);
        assert_eq!(c.live(Some(Family::V6), tcp)[3], 0);
        assert_eq!(c.received(Some(Family::V4), tcp).bytes, 60);
        assert_eq!(c.live(None, tcp).iter().sum::<u64>(), 2);
        c.remove(Family::V6, ipproto::TCP, 1);
        c.reset_statistics(0);
        assert_eq!(c.live(None, tcp).iter().sum::<u64>(), 1);
        assert_eq!(c.received(None, tcp).packets, 0);
        assert_eq!(group(47), Protocol::RawIp as usize);
    }

    #[test]
    fn establishment_rate_is_the_last_seconds() {
        let mut c = Census::default();
        c.tick(10_000);
        for _ in 0..30 {
            c.create(Family::V4, ipproto::UDP, 1, 10_100);
        }
        c.create(Family::V6, ipproto::TCP, 1, 10_200);
        c.tick(10_500);
        let (tcp, udp) = (Protocol::Tcp, Protocol::Udp);
        assert_eq!(c.rate(None, udp), 0, "not a whole second yet");
        c.tick(12_000);
        // 30 UDP sessions over 2 s.
        assert_eq!(c.rate(None, udp), 15);
        assert_eq!(c.rate(Some(Family::V6), udp), 0);
        assert_eq!(c.rate(Some(Family::V6), tcp), 0, "1 over 2 s rounds down");
        c.tick(13_000);
        assert_eq!(c.rate(None, udp), 0, "nothing new in the last second");
    }
}
