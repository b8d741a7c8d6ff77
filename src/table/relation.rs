//! The relation table (SPEC R1, R3, R5): connections an ALG expects, shared by every core.
//!
//! An ALG following a control session (FTP, TFTP, ...) announces a data channel; the entry
//! says what that channel's first packet looks like (destination address and port, the source
//! address or port possibly wildcarded), which application it is and which control session
//! (the *master*) announced it. The first packet on any core that matches claims the entry and
//! creates the data session as related (nf_conntrack's expectations, `nf_conntrack_expect.c`).
//!
//! Why shared and locked: the data connection's first packet usually hashes to another core
//! than its control session (other addresses or ports), and R5 wants the entry usable there
//! before the announcing packet has left. A publish is synchronous on the owner core, so the
//! entry exists before the packet is forwarded. The lock is never taken per established
//! packet: only a packet that would create a session looks, and only when the hint counter of
//! its (protocol, destination port) bucket says an entry might match.

use super::session::SessionId;
use crate::alg::expect::{RelationLimits, RelationSpec};
use crate::proto::key::FlowKey;
use crate::proto::wire::{Addr, Family};
use smallvec::SmallVec;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

fn dst_key(s: &RelationSpec) -> DstKey {
    DstKey {
        family: s.family,
        proto: s.proto,
        dst: s.dst,
        dport: s.dport,
        vpn: s.vpn,
    }
}

fn matches(s: &RelationSpec, k: &FlowKey) -> bool {
    s.src.is_none_or(|a| a == k.src)
        && s.sport
            .is_none_or(|p| p == k.sport || gre_sender_unknown(k))
}

/// An enhanced GRE packet names only its receiver's call ID (`proto::gre`): before its call
/// is known on the claiming core, its sender's call ID reads 0 and the entry's (the call's)
/// is taken instead.
#[inline]
fn gre_sender_unknown(k: &FlowKey) -> bool {
    k.proto == crate::proto::wire::ipproto::GRE && k.sport == 0
}

/// Same expected tuple (the application aside).
fn same_tuple(a: &RelationSpec, b: &RelationSpec) -> bool {
    dst_key(a) == dst_key(b) && a.src == b.src && a.sport == b.sport
}

/// One expected connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationEntry {
    pub spec: RelationSpec,
    /// The control session that announced it.
    pub master: SessionId,
    /// The ALG that published it (`alg::AlgId`), and the class of the expectation (an index
    /// into its `AlgInfo::classes`).
    pub alg: u8,
    pub class: u8,
    /// Engine clock, milliseconds.
    pub created_ms: u64,
    pub expires_ms: u64,
    /// Publication order (oldest first when a master is over its limit).
    pub serial: u64,
    /// The call or stream it belongs to (`alg::Terms::tag`), 0 for none.
    pub tag: u32,
    /// Stays when claimed (a registered SIP contact).
    pub permanent: bool,
}

impl RelationEntry {
    /// Seconds left at `clock_ms` (rounded up, as the session table shows TTLs).
    pub fn ttl_s(&self, clock_ms: u64) -> u64 {
        self.expires_ms.saturating_sub(clock_ms).div_ceil(1000)
    }
}

/// Why entries came and went (summed over every core; shown by `display session statistics`
/// and the counters dump).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelationCounters {
    pub published: u64,
    pub claimed: u64,
    pub expired: u64,
    /// A master over its limit: its oldest entry gave way.
    pub evicted: u64,
    /// A new entry for the same tuple replaced the old one.
    pub replaced: u64,
    pub removed_with_master: u64,
    /// Withdrawn by their ALG: the call or stream ended (a SIP BYE, an RTSP TEARDOWN).
    pub withdrawn: u64,
    pub reset: u64,
    /// The table was full (`max_entries`): the ALG's announcement had no entry.
    pub refused_full: u64,
}

/// Buckets of the lock-free hint (a power of two).
const HINT_BUCKETS: usize = 4096;

/// Entries the whole engine holds at most (nf_conntrack's `nf_conntrack_expect_max` default
/// on these machines is 4096).
pub const DEFAULT_MAX_ENTRIES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct DstKey {
    family: Family,
    proto: u8,
    dst: Addr,
    dport: u16,
    vpn: u16,
}

/// An entry's place in its master core's expiry queue: when it falls due and how to find it.
/// The entry may be gone by then (claimed, evicted, removed with its master): the ticket is
/// then spent for nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket {
    pub expires_ms: u64,
    serial: u64,
    key: DstKey,
}

/// One core's expiry queue: the tickets of the entries its masters published, soonest first.
/// Owned by that core (no lock); `RelationTable::expire_due` spends the tickets that are due.
#[derive(Debug, Default)]
pub struct ExpiryQueue {
    heap: BinaryHeap<Reverse<Ticket>>,
}

impl ExpiryQueue {
    pub fn push(&mut self, t: Ticket) {
        self.heap.push(Reverse(t));
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The soonest deadline, if any.
    pub fn next_due_ms(&self) -> Option<u64> {
        self.heap.peek().map(|t| t.0.expires_ms)
    }
}

/// One entry of a master: `(key, serial, class, tag)`.
type OfMaster = (DstKey, u64, u8, u32);

/// What a publication made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub entry: RelationEntry,
    /// For the master core's expiry queue.
    pub ticket: Ticket,
    /// Entries of the same master and class that gave way to it (the class's limit was hit).
    pub evicted: usize,
}

/// Tag and permanence of an entry (`alg::Terms` without the lifetime, which is in the
/// limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntryTerms {
    pub tag: u32,
    pub permanent: bool,
}

/// The entries of `master` of the classes in `classes` (a bit per class) and of tag `tag` (or
/// any): what a withdrawal or a refresh concerns.
fn of_master(
    inner: &Inner,
    master: SessionId,
    classes: u32,
    tag: Option<u32>,
) -> SmallVec<[(DstKey, u64); 8]> {
    let selected = |class: u8, t: u32| {
        classes & 1u32.checked_shl(u32::from(class)).unwrap_or(0) != 0
            && tag.is_none_or(|want| want == t)
    };
    inner
        .by_master
        .get(&master)
        .into_iter()
        .flatten()
        .filter(|(_, _, c, t)| selected(*c, *t))
        .map(|(k, serial, _, _)| (*k, *serial))
        .collect()
}

/// Tickets spent per lock taken (a stack buffer: a tick allocates nothing).
const EXPIRE_CHUNK: usize = 32;

#[derive(Default)]
struct Inner {
    by_dst: HashMap<DstKey, SmallVec<[RelationEntry; 2]>, ahash::RandomState>,
    /// Per master: its entries, oldest first.
    by_master: HashMap<SessionId, SmallVec<[OfMaster; 2]>, ahash::RandomState>,
    next_serial: u64,
    counters: RelationCounters,
}

pub struct RelationTable {
    /// Entries per (protocol, destination port) bucket: a session miss whose bucket is zero
    /// does not take the lock.
    hint: Box<[AtomicU32]>,
    live: AtomicUsize,
    /// The latest engine clock any core reported (for TTLs on display).
    clock_ms: AtomicU64,
    max_entries: usize,
    inner: Mutex<Inner>,
}

impl Default for RelationTable {
    fn default() -> Self {
        RelationTable::new(DEFAULT_MAX_ENTRIES)
    }
}

#[inline]
fn bucket(proto: u8, dport: u16) -> usize {
    (usize::from(dport) ^ (usize::from(proto) << 11)) & (HINT_BUCKETS - 1)
}

impl RelationTable {
    pub fn new(max_entries: usize) -> RelationTable {
        RelationTable {
            hint: (0..HINT_BUCKETS).map(|_| AtomicU32::new(0)).collect(),
            live: AtomicUsize::new(0),
            clock_ms: AtomicU64::new(0),
            max_entries,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave an entry half-written (every change is
        // one insert or remove), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Entries in the table (any family).
    pub fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A core reports its clock (milliseconds); TTLs on display count from the latest.
    #[inline]
    pub fn observe_clock(&self, now_ms: u64) {
        self.clock_ms.fetch_max(now_ms, Ordering::Relaxed);
    }

    pub fn clock_ms(&self) -> u64 {
        self.clock_ms.load(Ordering::Relaxed)
    }

    /// Publishes an entry of class `class` for `master` and returns it as stored, with the
    /// ticket its master core files in its expiry queue; `None` when the table is full
    /// (counted).
    pub fn publish(
        &self,
        spec: RelationSpec,
        master: SessionId,
        alg: u8,
        class: u8,
        limits: RelationLimits,
        now_ms: u64,
    ) -> Option<(RelationEntry, Ticket)> {
        self.publish_with(
            spec,
            master,
            alg,
            class,
            limits,
            EntryTerms::default(),
            now_ms,
        )
        .map(|p| (p.entry, p.ticket))
    }

    /// [`publish`](Self::publish) with a tag and permanence, saying how many entries of the
    /// class gave way.
    #[allow(clippy::too_many_arguments)]
    pub fn publish_with(
        &self,
        spec: RelationSpec,
        master: SessionId,
        alg: u8,
        class: u8,
        limits: RelationLimits,
        terms: EntryTerms,
        now_ms: u64,
    ) -> Option<Published> {
        self.observe_clock(now_ms);
        let mut g = self.lock();
        let inner = &mut *g;
        let key = dst_key(&spec);
        // The same tuple announced again (a client repeating PASV): the new entry replaces
        // the old one, as nf_ct_expect_related does.
        if let Some(list) = inner.by_dst.get(&key)
            && let Some(old) = list.iter().find(|e| same_tuple(&e.spec, &spec)).copied()
        {
            self.remove_entry(inner, &key, old.serial);
            inner.counters.replaced += 1;
        }
        // Over the master's limit for this class: its oldest entry of the class gives way
        // (nf_conntrack evicts too).
        let of_class = |inner: &Inner| {
            inner
                .by_master
                .get(&master)
                .map_or(0, |l| l.iter().filter(|(_, _, c, _)| *c == class).count())
        };
        let mut evicted = 0;
        while limits.per_master > 0 && of_class(inner) >= limits.per_master {
            let Some(&(k, serial, _, _)) = inner
                .by_master
                .get(&master)
                .and_then(|l| l.iter().find(|(_, _, c, _)| *c == class))
            else {
                break;
            };
            self.remove_entry(inner, &k, serial);
            inner.counters.evicted += 1;
            evicted += 1;
        }
        if self.live.load(Ordering::Relaxed) >= self.max_entries {
            inner.counters.refused_full += 1;
            return None;
        }
        let serial = inner.next_serial;
        inner.next_serial += 1;
        let entry = RelationEntry {
            spec,
            master,
            alg,
            class,
            created_ms: now_ms,
            expires_ms: now_ms.saturating_add(limits.ttl_ms),
            serial,
            tag: terms.tag,
            permanent: terms.permanent,
        };
        inner.by_dst.entry(key).or_default().push(entry);
        inner
            .by_master
            .entry(master)
            .or_default()
            .push((key, serial, class, terms.tag));
        inner.counters.published += 1;
        self.hint[bucket(spec.proto, spec.dport)].fetch_add(1, Ordering::Release);
        self.live.fetch_add(1, Ordering::Release);
        let ticket = Ticket {
            expires_ms: entry.expires_ms,
            serial,
            key,
        };
        Some(Published {
            entry,
            ticket,
            evicted,
        })
    }

    /// The ALG withdraws entries of `master` (classes `classes`, tag `tag` or any): its call
    /// or stream ended. Returns how many went.
    pub fn withdraw(&self, master: SessionId, classes: u32, tag: Option<u32>) -> usize {
        if self.is_empty() {
            return 0;
        }
        let mut g = self.lock();
        let inner = &mut *g;
        let doomed = of_master(inner, master, classes, tag);
        for (k, serial) in &doomed {
            self.remove_entry(inner, k, *serial);
        }
        inner.counters.withdrawn += doomed.len() as u64;
        doomed.len()
    }

    /// The ALG gives entries of `master` a new deadline `expires_ms` (a SIP registration
    /// confirmed for its `Expires`); pushes their new tickets to `queue` (the master core's).
    /// Returns how many.
    pub fn refresh(
        &self,
        master: SessionId,
        classes: u32,
        tag: Option<u32>,
        expires_ms: u64,
        queue: &mut ExpiryQueue,
    ) -> usize {
        if self.is_empty() {
            return 0;
        }
        let mut g = self.lock();
        let inner = &mut *g;
        let chosen = of_master(inner, master, classes, tag);
        for (key, serial) in &chosen {
            if let Some(e) = inner
                .by_dst
                .get_mut(key)
                .and_then(|l| l.iter_mut().find(|e| e.serial == *serial))
            {
                e.expires_ms = expires_ms;
                queue.push(Ticket {
                    expires_ms,
                    serial: *serial,
                    key: *key,
                });
            }
        }
        chosen.len()
    }

    /// The first packet of a connection (initiator tuple `k`) claims the entry it matches,
    /// atomically: one connection per entry. An entry past its time on the claimant's clock
    /// is not claimed; removing it is left to its master's core (`expire_due`).
    #[inline]
    pub fn claim(&self, k: &FlowKey, now_ms: u64) -> Option<RelationEntry> {
        if self.hint[bucket(k.proto, k.dport)].load(Ordering::Acquire) == 0 {
            return None;
        }
        self.claim_slow(k, now_ms)
    }

    #[cold]
    fn claim_slow(&self, k: &FlowKey, now_ms: u64) -> Option<RelationEntry> {
        let key = DstKey {
            family: k.family,
            proto: k.proto,
            dst: k.dst,
            dport: k.dport,
            vpn: k.vpn,
        };
        let mut g = self.lock();
        let inner = &mut *g;
        let e = inner
            .by_dst
            .get(&key)?
            .iter()
            .find(|e| e.expires_ms > now_ms && matches(&e.spec, k))
            .copied()?;
        if !e.permanent {
            self.remove_entry(inner, &key, e.serial);
        }
        inner.counters.claimed += 1;
        Some(e)
    }

    /// The master session is gone: so are its entries. Returns how many.
    pub fn remove_master(&self, master: SessionId) -> usize {
        if self.is_empty() {
            return 0;
        }
        let mut g = self.lock();
        let inner = &mut *g;
        let Some(list) = inner.by_master.get(&master).cloned() else {
            return 0;
        };
        for (k, serial, _, _) in &list {
            self.remove_entry(inner, k, *serial);
        }
        inner.counters.removed_with_master += list.len() as u64;
        list.len()
    }

    /// Spends the tickets of `queue` (one core's: the entries its masters published) that are
    /// due at `now_ms` on that core's clock, at most `budget` of them, and removes their
    /// entries where they still exist. Returns how many entries expired.
    ///
    /// Why per master core: an entry ages with its control session. Cores' clocks agree in
    /// live operation, but in a replay at full speed one core may be far ahead in capture
    /// time; letting it expire another core's entries would lose entries the frame order
    /// still needs. Why a queue: a tick then costs a peek when nothing is due, whatever the
    /// number of entries; no core ever looks at entries it does not own, and nothing is
    /// allocated (tickets are spent in stack-sized chunks, one lock each).
    pub fn expire_due(&self, queue: &mut ExpiryQueue, now_ms: u64, budget: usize) -> usize {
        self.observe_clock(now_ms);
        let mut expired = 0;
        let mut spent = 0;
        while spent < budget && queue.next_due_ms().is_some_and(|t| t <= now_ms) {
            let mut due: SmallVec<[Ticket; EXPIRE_CHUNK]> = SmallVec::new();
            while due.len() < EXPIRE_CHUNK
                && spent < budget
                && queue.next_due_ms().is_some_and(|t| t <= now_ms)
            {
                if let Some(Reverse(t)) = queue.heap.pop() {
                    due.push(t);
                    spent += 1;
                }
            }
            let mut g = self.lock();
            let inner = &mut *g;
            let mut n = 0;
            for t in &due {
                // A refreshed entry has a later deadline (and a later ticket): not yet.
                let due_now = inner
                    .by_dst
                    .get(&t.key)
                    .and_then(|l| l.iter().find(|e| e.serial == t.serial))
                    .is_some_and(|e| e.expires_ms <= now_ms);
                if due_now && self.remove_entry(inner, &t.key, t.serial) {
                    n += 1;
                }
            }
            inner.counters.expired += n;
            expired += n as usize;
        }
        expired
    }

    /// Drops the tickets of `queue` whose entries are gone (claimed, evicted, removed with
    /// their master, reset), so that a core publishing and seeing its entries claimed at a
    /// high rate keeps its queue in proportion to the live entries. The caller does it when
    /// the queue has grown well past them.
    pub fn compact(&self, queue: &mut ExpiryQueue) {
        let g = self.lock();
        queue.heap.retain(|Reverse(t)| {
            g.by_dst
                .get(&t.key)
                .is_some_and(|l| l.iter().any(|e| e.serial == t.serial))
        });
    }

    /// `reset session relation-table [ipv4|ipv6]`. Returns how many went.
    pub fn reset(&self, family: Option<Family>) -> usize {
        let mut g = self.lock();
        let inner = &mut *g;
        let doomed: Vec<(DstKey, u64)> = inner
            .by_dst
            .iter()
            .filter(|(k, _)| family.is_none_or(|f| f == k.family))
            .flat_map(|(k, l)| l.iter().map(move |e| (*k, e.serial)))
            .collect();
        for (k, serial) in &doomed {
            self.remove_entry(inner, k, *serial);
        }
        inner.counters.reset += doomed.len() as u64;
        doomed.len()
    }

    /// The live entries of a family (or all), oldest first.
    pub fn entries(&self, family: Option<Family>) -> Vec<RelationEntry> {
        let g = self.lock();
        let mut v: Vec<RelationEntry> = g
            .by_dst
            .iter()
            .filter(|(k, _)| family.is_none_or(|f| f == k.family))
            .flat_map(|(_, l)| l.iter().copied())
            .collect();
        v.sort_by_key(|e| e.serial);
        v
    }

    /// Live entries of one family.
    pub fn count(&self, family: Family) -> usize {
        if self.is_empty() {
            return 0;
        }
        let g = self.lock();
        g.by_dst
            .iter()
            .filter(|(k, _)| k.family == family)
            .map(|(_, l)| l.len())
            .sum()
    }

    pub fn counters(&self) -> RelationCounters {
        self.lock().counters
    }

    /// Removes one entry; `false` when it was already gone.
    fn remove_entry(&self, inner: &mut Inner, key: &DstKey, serial: u64) -> bool {
        let Some(list) = inner.by_dst.get_mut(key) else {
            return false;
        };
        let Some(pos) = list.iter().position(|e| e.serial == serial) else {
            return false;
        };
        let e = list.remove(pos);
        if list.is_empty() {
            inner.by_dst.remove(key);
        }
        if let Some(m) = inner.by_master.get_mut(&e.master) {
            m.retain(|(_, s, _, _)| *s != serial);
            if m.is_empty() {
                inner.by_master.remove(&e.master);
            }
        }
        self.hint[bucket(e.spec.proto, e.spec.dport)].fetch_sub(1, Ordering::Release);
        self.live.fetch_sub(1, Ordering::Release);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::wire::ipproto;

    fn v4(a: [u8; 4]) -> Addr {
        let mut x = [0u8; 16];
        x[..4].copy_from_slice(&a);
        x
    }

    fn key(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> FlowKey {
        FlowKey {
            src: v4(src),
            dst: v4(dst),
            sport,
            dport,
            proto: ipproto::TCP,
            family: Family::V4,
            vpn: 0,
        }
    }

    fn spec(src: Option<[u8; 4]>, dst: [u8; 4], dport: u16) -> RelationSpec {
        RelationSpec {
            family: Family::V4,
            proto: ipproto::TCP,
            src: src.map(v4),
            sport: None,
            dst: v4(dst),
            dport,
            vpn: 0,
            app: 2,
        }
    }

    const MASTER: SessionId = SessionId {
        core: 0,
        slot: 7,
        generation: 1,
    };
    const LIMITS: RelationLimits = RelationLimits {
        ttl_ms: 300_000,
        per_master: 1,
    };

    #[test]
    fn first_matching_packet_claims_once() {
        let t = RelationTable::default();
        assert!(
            t.publish(
                spec(Some([198, 18, 0, 1]), [198, 19, 0, 2], 40000),
                MASTER,
                0,
                0,
                LIMITS,
                1000
            )
            .is_some()
        );
        // Another source address does not match; a wildcard source port does.
        assert!(
            t.claim(&key([198, 18, 0, 9], 5, [198, 19, 0, 2], 40000), 2000)
                .is_none()
        );
        let e = t
            .claim(&key([198, 18, 0, 1], 1234, [198, 19, 0, 2], 40000), 2000)
            .expect("claimed");
        assert_eq!(e.master, MASTER);
        assert!(
            t.claim(&key([198, 18, 0, 1], 1235, [198, 19, 0, 2], 40000), 2000)
                .is_none()
        );
        assert!(t.is_empty());
        assert_eq!(t.counters().claimed, 1);
    }

    #[test]
    fn entries_expire_and_are_not_claimed_late() {
        let t = RelationTable::default();
        let mut queue = ExpiryQueue::default();
        let (_, ticket) = t
            .publish(spec(None, [198, 19, 0, 2], 21000), MASTER, 0, 0, LIMITS, 0)
            .expect("published");
        queue.push(ticket);
        assert!(
            t.claim(&key([1, 2, 3, 4], 1, [198, 19, 0, 2], 21000), 300_000)
                .is_none()
        );
        // Left for its master's core to remove, on that core's clock.
        assert_eq!(t.len(), 1);
        assert_eq!(t.expire_due(&mut queue, 299_999, 10), 0);
        assert_eq!(queue.len(), 1);
        assert_eq!(t.expire_due(&mut queue, 300_000, 10), 1);
        assert!(t.is_empty() && queue.is_empty());
        assert_eq!(t.counters().expired, 1);
    }

    #[test]
    fn a_master_over_its_limit_loses_its_oldest_entry() {
        let t = RelationTable::default();
        let two = RelationLimits {
            per_master: 2,
            ..LIMITS
        };
        for port in [1000, 1001, 1002] {
            t.publish(spec(None, [198, 19, 0, 2], port), MASTER, 0, 0, two, 0);
        }
        let ports: Vec<u16> = t.entries(None).iter().map(|e| e.spec.dport).collect();
        assert_eq!(ports, vec![1001, 1002]);
        assert_eq!(t.counters().evicted, 1);
    }

    #[test]
    fn the_same_tuple_replaces_and_masters_take_their_entries_along() {
        let t = RelationTable::default();
        let other = SessionId { slot: 8, ..MASTER };
        let many = RelationLimits {
            per_master: 8,
            ..LIMITS
        };
        t.publish(spec(None, [198, 19, 0, 2], 1000), MASTER, 0, 0, many, 0);
        t.publish(spec(None, [198, 19, 0, 2], 1000), MASTER, 0, 0, many, 5);
        t.publish(spec(None, [198, 19, 0, 2], 1001), other, 0, 0, many, 5);
        assert_eq!(t.len(), 2);
        assert_eq!(t.counters().replaced, 1);
        assert_eq!(t.remove_master(MASTER), 1);
        assert_eq!(t.entries(None)[0].master, other);
        assert_eq!(t.reset(Some(Family::V6)), 0);
        assert_eq!(t.reset(None), 1);
        assert!(t.is_empty());
        assert!(t.hint.iter().all(|h| h.load(Ordering::Relaxed) == 0));
    }

    #[test]
    fn a_full_table_refuses_and_counts() {
        let t = RelationTable::new(1);
        let other = SessionId { slot: 8, ..MASTER };
        assert!(
            t.publish(spec(None, [198, 19, 0, 2], 1), MASTER, 0, 0, LIMITS, 0)
                .is_some()
        );
        assert!(
            t.publish(spec(None, [198, 19, 0, 2], 2), other, 0, 0, LIMITS, 0)
                .is_none()
        );
        assert_eq!(t.counters().refused_full, 1);
    }

    #[test]
    fn each_class_has_its_own_limit() {
        let t = RelationTable::default();
        let one = RelationLimits {
            per_master: 1,
            ..LIMITS
        };
        // Class 0 (say audio) and class 1 (video): one each; a second audio evicts the first
        // audio, never the video.
        t.publish(spec(None, [198, 19, 0, 2], 1000), MASTER, 0, 0, one, 0);
        t.publish(spec(None, [198, 19, 0, 2], 2000), MASTER, 0, 1, one, 0);
        t.publish(spec(None, [198, 19, 0, 2], 1002), MASTER, 0, 0, one, 0);
        let mut ports: Vec<u16> = t.entries(None).iter().map(|e| e.spec.dport).collect();
        ports.sort();
        assert_eq!(ports, vec![1002, 2000]);
        assert_eq!(t.counters().evicted, 1);
    }

    #[test]
    fn spent_tickets_and_budgets() {
        let t = RelationTable::new(100);
        let mut queue = ExpiryQueue::default();
        let many = RelationLimits {
            per_master: 0,
            ..LIMITS
        };
        for port in 0..50u16 {
            let (_, ticket) = t
                .publish(
                    spec(None, [198, 19, 0, 2], 1000 + port),
                    MASTER,
                    0,
                    0,
                    many,
                    0,
                )
                .expect("published");
            queue.push(ticket);
        }
        // Ten are claimed: their tickets are spent for nothing.
        for port in 0..10u16 {
            assert!(
                t.claim(&key([1, 2, 3, 4], 9, [198, 19, 0, 2], 1000 + port), 1)
                    .is_some()
            );
        }
        t.compact(&mut queue);
        assert_eq!(queue.len(), 40);
        // The budget bounds the work of one call.
        assert_eq!(t.expire_due(&mut queue, 300_000, 25), 25);
        assert_eq!(t.expire_due(&mut queue, 300_000, 25), 15);
        assert!(t.is_empty() && queue.is_empty());
        assert_eq!(t.counters().expired, 40);
    }

    /// Issue #14: entries of a call are withdrawn by tag and class without touching other
    /// calls; a refreshed entry outlives its first deadline; a permanent one stays claimed.
    #[test]
    fn withdraw_refresh_and_permanent_entries() {
        let t = RelationTable::default();
        let mut queue = ExpiryQueue::default();
        let many = RelationLimits {
            ttl_ms: 180_000,
            per_master: 4,
        };
        let tagged = |tag| EntryTerms {
            tag,
            permanent: false,
        };
        for (port, class, tag) in [(6000, 1, 11), (6001, 1, 11), (7000, 1, 22), (8000, 2, 11)] {
            let p = t
                .publish_with(
                    spec(None, [198, 18, 0, 1], port),
                    MASTER,
                    2,
                    class,
                    many,
                    tagged(tag),
                    0,
                )
                .expect("published");
            queue.push(p.ticket);
        }
        // Call 11's audio (class 1) goes; call 22's audio and call 11's video stay.
        assert_eq!(t.withdraw(MASTER, 1 << 1, Some(11)), 2);
        let left: Vec<u16> = t.entries(None).iter().map(|e| e.spec.dport).collect();
        assert_eq!(left, vec![7000, 8000]);
        assert_eq!(t.counters().withdrawn, 2);
        // Another master's withdrawal touches nothing.
        let other = SessionId { slot: 8, ..MASTER };
        assert_eq!(t.withdraw(other, u32::MAX, None), 0);
        // Refresh call 22 to live until 600 s: its first ticket (180 s) leaves it be.
        assert_eq!(
            t.refresh(MASTER, u32::MAX, Some(22), 600_000, &mut queue),
            1
        );
        t.expire_due(&mut queue, 200_000, 100);
        let left: Vec<u16> = t.entries(None).iter().map(|e| e.spec.dport).collect();
        assert_eq!(left, vec![7000]);
        t.expire_due(&mut queue, 600_000, 100);
        assert!(t.is_empty());
        // A permanent entry is claimed by every matching connection and stays.
        let permanent = EntryTerms {
            tag: 0,
            permanent: true,
        };
        t.publish_with(
            spec(None, [198, 18, 0, 1], 5060),
            MASTER,
            2,
            0,
            many,
            permanent,
            0,
        )
        .expect("published");
        for sport in [1000, 1001] {
            assert!(
                t.claim(&key([198, 19, 0, 2], sport, [198, 18, 0, 1], 5060), 10)
                    .is_some()
            );
        }
        assert_eq!(t.len(), 1);
    }
}
