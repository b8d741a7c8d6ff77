//! Bounded IPv4/IPv6 reassembly, modelled on the kernel's defrag (`net/ipv4/ip_fragment.c`,
//! `net/ipv6/reassembly.c`, `net/ipv4/inet_fragment.c`).
//!
//! - RFC 791 §3.2 / RFC 8200 §4.5: fragments are queued by (source, destination, protocol,
//!   identification) and completed when the final fragment and every byte before it arrived.
//! - RFC 5722: any overlap drops the whole datagram, for IPv4 too (the kernel does the same
//!   since 2018), so no overlap-based evasion can make us see other bytes than the host. A
//!   same-range copy with other bytes is an overlap; an exact copy is a duplicate.
//! - Memory is bounded by bytes whatever a sender does, in two pools, one per family (the
//!   kernel's `ipfrag_high_thresh` and `ipfrag_low_thresh`, per family as in the kernel): each
//!   fragment is charged its stored bytes plus a fixed bookkeeping cost, each datagram a fixed
//!   cost. A fragment that does not fit under the high threshold makes room by evicting the
//!   oldest incomplete datagrams of its family down to the low threshold
//!   (`fragment_evicted`). One source (an IPv4 address, an IPv6 /64) may hold a share of its
//!   family's pool; over it, its own oldest datagrams make room (`fragment_source_share`).
//!   So a few kilobytes of first fragments can never lock everyone else out: the attacker's
//!   own datagrams go first.
//! - Holding (inline): with [`Reassembler::push_frame`] each fragment's whole frame and
//!   ingress port are kept (charged to the pool) until the datagram's verdict
//!   ([`Reassembler::judge`]): then they leave together, in arrival order, or are dropped
//!   together. A datagram dropped whole (overlap, inconsistency, timeout, eviction) takes its
//!   held frames with it, each counted under the reason ([`Reassembler::take_drops`]).
//! - Verdicts are remembered by key for the timeout (`verdicts.rs`): a late fragment of a
//!   dropped datagram is dropped, a late exact copy of a fragment of a datagram that passed
//!   passes; neither starts a new reassembly.
//!
//! Allocation happens here (one boxed copy per held fragment, one Vec per completed
//! datagram): fragments are the slow path.

mod pending;
mod pool;
mod verdicts;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use self::pending::{Pending, Place, Stored};
use self::pool::Pool;
use self::verdicts::{Late, PieceDigest, Verdicts};
use super::wire::{Addr, Family, Fragment};
use crate::drop::{DropCounters, DropReason};

/// Bookkeeping charged per held fragment on top of its bytes (its B-tree slot and allocation
/// header), so a flood of tiny fragments is bounded by the pool like one of big ones.
const FRAGMENT_OVERHEAD: usize = 64;
/// Charged per datagram in flight (its map slot, its queue entries, its record).
const DATAGRAM_OVERHEAD: usize = 256;
/// The rebuilt IPv4 datagram gets a 20-byte header and its total length must fit 16 bits.
const MAX_IPV4_PAYLOAD: u32 = 65535 - 20;
/// RFC 8200 §4.5: fragment offset + fragment length must not exceed 65535.
const MAX_IPV6_PAYLOAD: u32 = 65535;

/// Reassembly bounds (the kernel's `ipfrag_*` sysctls). Each family has a pool of its own
/// with these thresholds (per core: each core reassembles the datagrams of its flows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragLimits {
    /// Bytes one family's pool may hold, stored fragments plus bookkeeping (kernel
    /// `ipfrag_high_thresh`, 4 MiB).
    pub max_bytes: usize,
    /// When a fragment does not fit, the oldest incomplete datagrams are evicted until the
    /// pool holds no more than this (kernel `ipfrag_low_thresh`, 3 MiB).
    pub low_bytes: usize,
    /// Percent of a family's pool one source may hold (an IPv4 address, an IPv6 /64).
    pub source_share_percent: u8,
    /// Time from a datagram's first fragment to its expiry (kernel `ipfrag_time`, 30 s); a
    /// verdict is remembered as long after it was given.
    pub timeout_ns: u64,
}

impl Default for FragLimits {
    fn default() -> Self {
        Self {
            max_bytes: 4 << 20,
            low_bytes: 3 << 20,
            source_share_percent: 10,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// What became of a fragment handed to [`Reassembler::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FragOutcome {
    /// Kept until the rest arrives (or an exact duplicate of a held fragment: held with its
    /// datagram inline, otherwise ignored).
    Held,
    /// The datagram is complete: a fresh IPv4 header without options (or an IPv6 fixed
    /// header without extension headers), the upper-layer protocol in it, lengths fixed,
    /// then the reassembled payload. Hand it to `wire::parse_ip`, then its verdict to
    /// [`Reassembler::judge`].
    Complete(Vec<u8>),
    /// A late exact copy of a fragment of a datagram that passed, within the timeout: it
    /// passes too.
    Passed,
    /// This fragment is dropped. For `FragmentOverlap`, `FragmentInconsistent`,
    /// `FragmentSourceShare` and `FragmentPoolFull` the datagram it belonged to is dropped
    /// with it; `FragmentDatagramDropped`: it belongs to a datagram dropped before.
    Dropped(DropReason),
}

/// A frame that leaves after its datagram passed: its bytes as they came, and the port it
/// came in on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub port: u8,
    pub frame: Box<[u8]>,
}

/// The frame a fragment came in, to hold until its datagram's verdict: the whole frame (the
/// fragment's data lies inside it) and its ingress port.
#[derive(Debug, Clone, Copy)]
pub struct Original<'a> {
    pub frame: &'a [u8],
    pub port: u8,
}

/// Which datagram a fragment belongs to. IPv6 leaves `proto` at 0: the Fragment headers of
/// one datagram may carry different next headers and only the first one's counts
/// (RFC 8200 §4.5), so, like the kernel, it is not part of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    family: Family,
    src: Addr,
    dst: Addr,
    proto: u8,
    id: u32,
}

impl Key {
    fn of(frag: &Fragment<'_>) -> Key {
        Key {
            family: frag.ip.family,
            src: frag.ip.src,
            dst: frag.ip.dst,
            proto: match frag.ip.family {
                Family::V4 => frag.ip.proto,
                Family::V6 => 0,
            },
            id: frag.id,
        }
    }

    /// Whose share of the pool the datagram takes: the IPv4 source address, or the IPv6
    /// source's /64 (one IPv6 host usually has a whole /64 to send from).
    fn source(&self) -> Source {
        let mut s = [0u8; 16];
        let n = match self.family {
            Family::V4 => 4,
            Family::V6 => 8,
        };
        s[..n].copy_from_slice(&self.src[..n]);
        s
    }

    fn pool(&self) -> usize {
        self.family.index()
    }
}

/// A source as the pools count it (see `Key::source`).
type Source = [u8; 16];

/// A completed datagram waiting for its verdict.
#[derive(Debug)]
struct Completed {
    key: Key,
    dg: Pending,
}

/// Reassembles IPv4 and IPv6 fragments within fixed bounds (see the module notes).
#[derive(Debug)]
pub struct Reassembler {
    limits: FragLimits,
    pending: HashMap<Key, Pending>,
    /// IPv4, IPv6.
    pools: [Pool; 2],
    verdicts: [Verdicts; 2],
    next_generation: u64,
    /// Datagrams expired inside `push`, reported by the next `expire` call.
    expired_unreported: usize,
    /// Frames dropped with their datagram, for the caller's counters (`take_drops`).
    drops: DropCounters,
    dropped_any: bool,
    /// The last completed datagram, until `judge`.
    completed: Option<Completed>,
}

impl Reassembler {
    /// An empty reassembler with these bounds.
    pub fn new(limits: FragLimits) -> Self {
        let pool = || {
            Pool::new(
                limits.max_bytes,
                limits.low_bytes,
                limits.source_share_percent,
            )
        };
        // The verdicts of each family: a quarter of its pool.
        let verdicts = || Verdicts::new(limits.max_bytes / 4);
        Self {
            limits,
            pending: HashMap::new(),
            pools: [pool(), pool()],
            verdicts: [verdicts(), verdicts()],
            next_generation: 0,
            expired_unreported: 0,
            drops: DropCounters::default(),
            dropped_any: false,
            completed: None,
        }
    }

    /// Adds one fragment (as `wire::parse_ip` returned it) at time `now_ns`, keeping its data
    /// only (monitoring, replay).
    pub fn push(&mut self, frag: &Fragment<'_>, now_ns: u64) -> FragOutcome {
        self.push_frame(frag, None, now_ns)
    }

    /// Adds one fragment at time `now_ns`; with `original`, its whole frame and port are held
    /// until its datagram's verdict ([`judge`](Self::judge)).
    ///
    /// Datagrams whose timeout has passed are dropped first; they are counted by the next
    /// [`expire`](Self::expire) call.
    pub fn push_frame(
        &mut self,
        frag: &Fragment<'_>,
        original: Option<Original<'_>>,
        now_ns: u64,
    ) -> FragOutcome {
        self.expired_unreported += self.expire_now(now_ns);
        match self.try_push(frag, original, now_ns) {
            Ok(outcome) => outcome,
            Err(reason) => FragOutcome::Dropped(reason),
        }
    }

    /// The verdict on the datagram the last [`FragOutcome::Complete`] returned. `pass`: its
    /// held frames, the completing one last, go to `release` in arrival order, and late exact
    /// copies of its fragments will pass; otherwise they are dropped, the frames before the
    /// completing one counted as `fragment_datagram_dropped` (the completing frame carries the
    /// verdict's own reason), and so will any late fragment of it be. An unjudged datagram is
    /// forgotten at the next completion.
    pub fn judge(&mut self, pass: bool, now_ns: u64, release: &mut Vec<Release>) {
        let Some(Completed { key, dg }) = self.completed.take() else {
            return;
        };
        let deadline = now_ns.saturating_add(self.limits.timeout_ns);
        let cache = &mut self.verdicts[key.pool()];
        if pass {
            let pieces: Box<[PieceDigest]> = dg
                .pieces
                .iter()
                .map(|(&start, p)| PieceDigest {
                    start,
                    end: p.end,
                    digest: cache.digest(p.more, dg.data(start, p)),
                })
                .collect();
            cache.record(key, Some(pieces), deadline);
            release.extend(dg.frames.into_iter().filter_map(|s| {
                Some(Release {
                    port: s.port?,
                    frame: s.bytes,
                })
            }));
        } else {
            cache.record(key, None, deadline);
            self.count(
                DropReason::FragmentDatagramDropped,
                dg.frame_count.saturating_sub(1),
            );
        }
    }

    /// Drops every datagram whose timeout has passed at `now_ns`, each of its frames counted
    /// as `fragment_timeout` (see [`take_drops`](Self::take_drops)), and forgets verdicts as
    /// old. Returns how many datagrams timed out since the last call (including those `push`
    /// dropped).
    pub fn expire(&mut self, now_ns: u64) -> usize {
        let n = self.expire_now(now_ns) + self.expired_unreported;
        self.expired_unreported = 0;
        for v in &mut self.verdicts {
            v.expire(now_ns);
        }
        n
    }

    /// Adds the frames dropped with their datagrams since the last call to `into`, per
    /// reason: held frames of a datagram dropped whole (overlap, inconsistency, timeout,
    /// eviction, a source over its share) and the frames of a datagram judged to drop.
    pub fn take_drops(&mut self, into: &mut DropCounters) {
        if self.dropped_any {
            into.merge(&self.drops);
            self.drops = DropCounters::default();
            self.dropped_any = false;
        }
    }

    /// Datagrams being reassembled.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Bytes charged to both pools (stored frames plus bookkeeping); each pool stays within
    /// `max_bytes`.
    pub fn bytes_held(&self) -> usize {
        self.pools.iter().map(|p| p.bytes).sum()
    }

    /// Bytes charged to one family's pool.
    pub fn bytes_held_by(&self, family: Family) -> usize {
        self.pools[family.index()].bytes
    }

    /// Verdicts remembered, and the bytes they are charged.
    pub fn verdicts_held(&self) -> (usize, usize) {
        self.verdicts
            .iter()
            .fold((0, 0), |(n, b), v| (n + v.len(), b + v.bytes()))
    }

    fn count(&mut self, reason: DropReason, n: u64) {
        self.drops.add(reason, n);
        self.dropped_any |= n > 0;
    }

    fn try_push(
        &mut self,
        frag: &Fragment<'_>,
        original: Option<Original<'_>>,
        now_ns: u64,
    ) -> Result<FragOutcome, DropReason> {
        let len = u32::try_from(frag.data.len()).map_err(|_| DropReason::FragmentTooLarge)?;
        if len == 0 {
            return Err(DropReason::FragmentTooShort);
        }
        // RFC 791 §3.2 / RFC 8200 §4.5: every fragment but the last carries a multiple of 8
        // bytes, otherwise the next offset cannot be expressed.
        if frag.more && len % 8 != 0 {
            return Err(DropReason::FragmentBadLength);
        }
        let max = match frag.ip.family {
            Family::V4 => MAX_IPV4_PAYLOAD,
            Family::V6 => MAX_IPV6_PAYLOAD,
        };
        let end = frag
            .offset
            .checked_add(len)
            .filter(|&end| end <= max)
            .ok_or(DropReason::FragmentTooLarge)?;
        let key = Key::of(frag);
        let deadline = now_ns.saturating_add(self.limits.timeout_ns);
        if !self.pending.contains_key(&key) {
            // A late fragment of a datagram already judged.
            let late = self.verdicts[key.pool()].late(
                &key,
                frag.offset,
                end,
                frag.more,
                frag.data,
                now_ns,
            );
            match late {
                Late::Drop => return Err(DropReason::FragmentDatagramDropped),
                Late::Pass => return Ok(FragOutcome::Passed),
                Late::Unknown => {}
            }
        }
        let place = match self.pending.get(&key) {
            None => Place::New,
            Some(dg) => match dg.place(frag, end) {
                Ok(place) => place,
                Err(reason) => {
                    self.drop_datagram(&key, reason, deadline);
                    return Err(reason);
                }
            },
        };
        // What to keep: the whole frame to hold, or the data of new pieces alone.
        let (keep_len, port) = match original {
            Some(o) => (o.frame.len(), Some(o.port)),
            None if place == Place::New => (frag.data.len(), None),
            None => (0, None),
        };
        let is_new = !self.pending.contains_key(&key);
        let mut charge = if keep_len > 0 || place == Place::New {
            keep_len + FRAGMENT_OVERHEAD
        } else {
            0
        };
        if is_new {
            charge += DATAGRAM_OVERHEAD;
        }
        if charge > 0
            && let Err(reason) = self.make_room(&key, charge, deadline)
        {
            if is_new {
                // Its other fragments would only start datagrams that cannot complete.
                self.verdicts[key.pool()].record(key, None, deadline);
            } else {
                self.drop_datagram(&key, reason, deadline);
            }
            return Err(reason);
        }
        let (stored, at) = match original {
            Some(o) => {
                let (bytes, at) = frame_with_data(o.frame, frag.data);
                (Some(Stored { bytes, port }), at)
            }
            None if place == Place::New => (
                Some(Stored {
                    bytes: frag.data.into(),
                    port: None,
                }),
                0,
            ),
            None => (None, 0),
        };
        if is_new {
            self.start(key, frag, deadline);
        }
        let pool = &mut self.pools[key.pool()];
        let Some(dg) = self.pending.get_mut(&key) else {
            return Err(DropReason::FragmentPoolFull);
        };
        let extra = charge - if is_new { DATAGRAM_OVERHEAD } else { 0 };
        dg.charged += extra;
        pool.charge(dg.source, extra);
        dg.store(frag, end, place, stored, at);
        if !dg.is_complete() {
            return Ok(FragOutcome::Held);
        }
        let datagram = dg.rebuild(frag.id);
        if let Some(dg) = self.remove(&key) {
            self.completed = Some(Completed { key, dg });
        }
        Ok(FragOutcome::Complete(datagram))
    }

    /// Makes room for `need` more bytes of datagram `key` (which it never evicts): within its
    /// source's share first, then under its pool's high threshold.
    fn make_room(&mut self, key: &Key, need: usize, deadline: u64) -> Result<(), DropReason> {
        let source = key.source();
        let p = key.pool();
        // (A share of the whole pool is no limit of its own.)
        while self.pools[p].share < self.pools[p].high
            && self.pools[p].held_by(&source) + need > self.pools[p].share
        {
            let Some(victim) = self.pools[p].oldest_of(&source, key, &self.pending) else {
                return Err(DropReason::FragmentSourceShare);
            };
            self.drop_datagram(&victim, DropReason::FragmentSourceShare, deadline);
        }
        if self.pools[p].bytes + need > self.pools[p].high {
            // Like the kernel's evictor: down to the low threshold, not just enough for one.
            while self.pools[p].bytes + need > self.pools[p].low {
                let Some(victim) = self.pools[p].oldest(key, &self.pending) else {
                    break;
                };
                self.drop_datagram(&victim, DropReason::FragmentEvicted, deadline);
            }
            if self.pools[p].bytes + need > self.pools[p].high {
                return Err(DropReason::FragmentPoolFull);
            }
        }
        Ok(())
    }

    fn start(&mut self, key: Key, frag: &Fragment<'_>, deadline: u64) {
        let generation = self.next_generation;
        self.next_generation += 1;
        let source = key.source();
        // The kernel arms the timer once, at the first fragment; later ones do not extend it.
        self.pools[key.pool()].start(
            key,
            source,
            generation,
            deadline,
            DATAGRAM_OVERHEAD,
            &self.pending,
        );
        self.pending.insert(
            key,
            Pending::new(generation, source, frag.ip, DATAGRAM_OVERHEAD),
        );
    }

    fn remove(&mut self, key: &Key) -> Option<Pending> {
        let dg = self.pending.remove(key)?;
        self.pools[key.pool()].release(&dg.source, dg.charged);
        Some(dg)
    }

    /// Drops a datagram whole: its frames counted under `reason`, and remembered as dropped
    /// until `deadline` so its late fragments are dropped too.
    fn drop_datagram(&mut self, key: &Key, reason: DropReason, deadline: u64) {
        if let Some(dg) = self.remove(key) {
            self.count(reason, dg.frame_count);
            self.verdicts[key.pool()].record(*key, None, deadline);
        }
    }

    fn expire_now(&mut self, now_ns: u64) -> usize {
        let mut expired = 0;
        for p in 0..self.pools.len() {
            while let Some(key) = self.pools[p].expired(now_ns, &self.pending) {
                if let Some(dg) = self.remove(&key) {
                    self.count(DropReason::FragmentTimeout, dg.frame_count);
                    expired += 1;
                }
            }
        }
        expired
    }
}

/// The frame to hold and where the fragment's data begins in it. The data is a part of the
/// frame (the parsers return subslices); were it not, it is kept after the frame.
fn frame_with_data(frame: &[u8], data: &[u8]) -> (Box<[u8]>, usize) {
    let at = (data.as_ptr() as usize).checked_sub(frame.as_ptr() as usize);
    match at {
        Some(at) if at.checked_add(data.len()).is_some_and(|e| e <= frame.len()) => {
            (frame.into(), at)
        }
        _ => {
            let mut v = Vec::with_capacity(frame.len() + data.len());
            v.extend_from_slice(frame);
            v.extend_from_slice(data);
            (v.into_boxed_slice(), frame.len())
        }
    }
}
