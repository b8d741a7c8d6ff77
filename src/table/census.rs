//! Counts kept as sessions change, so that `display session statistics` (SPEC T1,
//! reference/comware.md §3.2) answers without walking the table: live sessions per family,
//! protocol group and state, and packets/bytes received per family and protocol group since
//! the last `reset session statistics` (Comware's `Received TCP: N packets` counts packets,
//! not current sessions: a protocol with no session left may still show packets).
//!
//! Walking 10M sessions takes about 100 ms per core (measured, docs/performance.md), a pause
//! the data path would feel; these counters cost one array update per session change and,
//! with `session statistics enable`, one per packet.

use super::session::DirCounters;
use crate::proto::wire::{Family, ipproto};

/// Protocol groups, in the display's order (`ctl::render::StatProtocol` uses the same).
pub const GROUPS: usize = 8;
/// State numbers a group may have (every machine's states are below this).
pub const STATES: usize = 16;

/// The display group of an IP protocol: TCP, UDP, ICMP, ICMPv6, UDP-Lite, SCTP, DCCP, and
/// everything else as raw IP.
pub const fn group(proto: u8) -> usize {
    match proto {
        ipproto::TCP => 0,
        ipproto::UDP => 1,
        ipproto::ICMP => 2,
        ipproto::ICMPV6 => 3,
        ipproto::UDPLITE => 4,
        ipproto::SCTP => 5,
        ipproto::DCCP => 6,
        _ => 7,
    }
}

#[inline]
const fn fam(f: Family) -> usize {
    match f {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    live: [[[u64; STATES]; GROUPS]; 2],
    received: [[DirCounters; GROUPS]; 2],
}

impl Census {
    #[inline]
    pub fn add(&mut self, family: Family, proto: u8, state: u8) {
        if let Some(c) = self.live[fam(family)][group(proto)].get_mut(usize::from(state)) {
            *c += 1;
        }
    }

    #[inline]
    pub fn remove(&mut self, family: Family, proto: u8, state: u8) {
        if let Some(c) = self.live[fam(family)][group(proto)].get_mut(usize::from(state)) {
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
        let r = &mut self.received[fam(family)][group(proto)];
        r.packets += 1;
        r.bytes += u64::from(bytes);
    }

    /// `reset session statistics`: the received counters start again (live counts stay true).
    pub fn reset_received(&mut self) {
        self.received = Default::default();
    }

    /// Live sessions of a family (or both) in `group`, by state number.
    pub fn live(&self, family: Option<Family>, group: usize) -> [u64; STATES] {
        let mut out = [0u64; STATES];
        for f in [Family::V4, Family::V6] {
            if family.is_none_or(|x| x == f) {
                for (o, n) in out.iter_mut().zip(self.live[fam(f)][group].iter()) {
                    *o += n;
                }
            }
        }
        out
    }

    /// Packets and bytes received in `group` for a family (or both).
    pub fn received(&self, family: Option<Family>, group: usize) -> DirCounters {
        let mut out = DirCounters::default();
        for f in [Family::V4, Family::V6] {
            if family.is_none_or(|x| x == f) {
                let r = self.received[fam(f)][group];
                out.packets += r.packets;
                out.bytes += r.bytes;
            }
        }
        out
    }

    /// Live sessions in all.
    pub fn total(&self) -> u64 {
        self.live.iter().flatten().flatten().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_changes_and_families() {
        let mut c = Census::default();
        c.add(Family::V4, ipproto::TCP, 1);
        c.add(Family::V6, ipproto::TCP, 1);
        c.change(Family::V4, ipproto::TCP, 1, 3);
        c.receive(Family::V4, ipproto::TCP, 60);
        assert_eq!(c.live(None, 0)[1], 1);
        assert_eq!(c.live(Some(Family::V4), 0)[3], 1);
        assert_eq!(c.live(Some(Family::V6), 0)[3], 0);
        assert_eq!(c.received(Some(Family::V4), 0).bytes, 60);
        assert_eq!(c.total(), 2);
        c.remove(Family::V6, ipproto::TCP, 1);
        c.reset_received();
        assert_eq!(c.total(), 1);
        assert_eq!(c.received(None, 0).packets, 0);
        assert_eq!(group(47), 7);
    }
}
