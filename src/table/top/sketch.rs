//! Heavy hitters in bounded memory (SPEC T2): the most frequent addresses of a stream of new
//! sessions, whatever the number of distinct addresses.
//!
//! Two forms of one summary:
//! - `SpaceSaving` (Metwally et al., 2005) counts the current minute on the packet path: `K`
//!   counters, a min-heap over them and an address index, all sized once. An address already
//!   counted costs a hash lookup and a sift down the heap (at most 8 levels); a new one takes
//!   a free counter (sifted up), or, when all are taken, the smallest counter's place with
//!   that count + 1.
//!   No allocation per session.
//! - `Summary` is what is kept and merged (minutes into hours and days, cores into one
//!   display): a Misra-Gries summary of at most `KEEP` = K - 1 counters, in the mergeable form
//!   of Agarwal et al. ("Mergeable summaries", PODS 2012). A closed minute's space-saving
//!   counters become Misra-Gries counts by subtracting the smallest counter (the two are the
//!   same summary, K space-saving counters = K - 1 Misra-Gries counters).
//!
//! The bound (docs/statistics.md): for every address, `count <= true <= count + error`, and
//! `error <= (total - sum of counts) / K <= total / K`, where `total` is the number of
//! sessions the summary counted: after any number of merges, in any order. With fewer than K
//! distinct addresses nothing is ever subtracted: `error` is 0 and every count is exact.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

/// Counters of the space-saving sketch of one minute, per direction and core.
pub const K: usize = 256;
/// Counts a `Summary` keeps, at most.
pub const KEEP: usize = K - 1;

/// The streaming sketch (the current minute).
#[derive(Debug, Clone)]
pub struct SpaceSaving {
    /// Counter i: its address and count.
    addrs: Vec<IpAddr>,
    counts: Vec<u64>,
    /// Min-heap of counter numbers, by count.
    heap: Vec<u16>,
    /// Where counter i is in `heap`.
    pos: Vec<u16>,
    /// Address -> counter number. Sized for 2K entries so that removals and inserts at K
    /// entries rehash in place rather than grow (hashbrown grows only past half of its
    /// capacity in tombstones and entries).
    index: HashMap<IpAddr, u16, ahash::RandomState>,
    /// Sessions counted.
    total: u64,
    /// A counter changed hands: counts may overestimate by up to the smallest one.
    evicted: bool,
}

const _: () = assert!(K <= u16::MAX as usize);

impl Default for SpaceSaving {
    fn default() -> Self {
        SpaceSaving {
            addrs: Vec::with_capacity(K),
            counts: Vec::with_capacity(K),
            heap: Vec::with_capacity(K),
            pos: Vec::with_capacity(K),
            index: HashMap::with_capacity_and_hasher(2 * K, ahash::RandomState::new()),
            total: 0,
            evicted: false,
        }
    }
}

impl SpaceSaving {
    /// One more session of `addr`.
    #[inline]
    pub fn offer(&mut self, addr: IpAddr) {
        self.total += 1;
        if let Some(&i) = self.index.get(&addr) {
            let i = usize::from(i);
            self.counts[i] += 1;
            self.sift_down(usize::from(self.pos[i]));
            return;
        }
        if self.addrs.len() < K {
            let i = self.addrs.len();
            self.addrs.push(addr);
            self.counts.push(1);
            self.heap.push(i as u16);
            self.pos.push(i as u16);
            self.index.insert(addr, i as u16);
            self.sift_up(i);
            return;
        }
        // All taken: the smallest counter's address is forgotten; the new one takes its count
        // + 1 (it may have come that often unseen).
        let i = usize::from(self.heap[0]);
        self.index.remove(&self.addrs[i]);
        self.addrs[i] = addr;
        self.index.insert(addr, i as u16);
        self.counts[i] += 1;
        self.evicted = true;
        self.sift_down(0);
    }

    /// A counter of 1 joins at the bottom: up past every larger parent.
    fn sift_up(&mut self, mut h: usize) {
        while h > 0 {
            let parent = (h - 1) / 2;
            if self.count_at(parent) <= self.count_at(h) {
                return;
            }
            self.heap.swap(h, parent);
            self.pos[usize::from(self.heap[h])] = h as u16;
            self.pos[usize::from(self.heap[parent])] = parent as u16;
            h = parent;
        }
    }

    fn sift_down(&mut self, mut h: usize) {
        let n = self.heap.len();
        loop {
            let (l, r) = (2 * h + 1, 2 * h + 2);
            let mut least = h;
            if l < n && self.count_at(l) < self.count_at(least) {
                least = l;
            }
            if r < n && self.count_at(r) < self.count_at(least) {
                least = r;
            }
            if least == h {
                return;
            }
            self.heap.swap(h, least);
            self.pos[usize::from(self.heap[h])] = h as u16;
            self.pos[usize::from(self.heap[least])] = least as u16;
            h = least;
        }
    }

    #[inline]
    fn count_at(&self, h: usize) -> u64 {
        self.counts[usize::from(self.heap[h])]
    }

    /// Sessions counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Forgets everything, keeping its room (no allocation at the next minute).
    pub fn clear(&mut self) {
        self.addrs.clear();
        self.counts.clear();
        self.heap.clear();
        self.pos.clear();
        self.index.clear();
        self.total = 0;
        self.evicted = false;
    }

    /// The minute as a mergeable summary.
    pub fn summary(&self) -> Summary {
        let floor = if self.evicted {
            self.heap
                .first()
                .map_or(0, |&i| self.counts[usize::from(i)])
        } else {
            0
        };
        let mut s = Summary {
            counts: self
                .addrs
                .iter()
                .zip(self.counts.iter())
                .filter(|&(_, &c)| c > floor)
                .map(|(&a, &c)| (a, c - floor))
                .collect(),
            total: self.total,
            error: floor,
        };
        s.reduce();
        s
    }

    /// Bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.addrs.capacity() * size_of::<IpAddr>()
            + self.counts.capacity() * 8
            + (self.heap.capacity() + self.pos.capacity()) * 2
            // hashbrown: one control byte and one (key, value) per bucket; a capacity of c
            // entries has at least c * 8 / 7 buckets.
            + self.index.capacity() * 8 / 7 * (1 + size_of::<(IpAddr, u16)>())
    }
}

/// A mergeable heavy-hitter summary (Misra-Gries form): `counts` are lower bounds, each at
/// most `error` below the truth; an address not listed came at most `error` times.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// At most `KEEP` addresses, largest count first (ties by address).
    pub counts: Vec<(IpAddr, u64)>,
    /// Sessions counted.
    pub total: u64,
    /// How far below its true count any count (or an absent address) may be.
    pub error: u64,
}

impl Summary {
    /// Several summaries of disjoint streams as one (Agarwal et al.: add the counts, then
    /// subtract the (KEEP+1)-th largest from all). The bound holds for the result.
    pub fn merge_all<'a>(parts: impl IntoIterator<Item = &'a Summary>) -> Summary {
        let mut sum: HashMap<IpAddr, u64, ahash::RandomState> = HashMap::default();
        let (mut total, mut error) = (0u64, 0u64);
        for p in parts {
            total = total.saturating_add(p.total);
            error = error.saturating_add(p.error);
            for &(a, c) in &p.counts {
                let e = sum.entry(a).or_insert(0);
                *e = e.saturating_add(c);
            }
        }
        let mut s = Summary {
            counts: sum.into_iter().collect(),
            total,
            error,
        };
        s.reduce();
        s
    }

    /// Back to `KEEP` counts at most, sorted.
    pub fn reduce(&mut self) {
        self.counts.retain(|&(_, c)| c > 0);
        self.counts
            .sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if let Some(&(_, cut)) = self.counts.get(KEEP) {
            for e in &mut self.counts {
                e.1 -= cut.min(e.1);
            }
            self.counts.retain(|&(_, c)| c > 0);
            self.error = self.error.saturating_add(cut);
        }
        self.counts.shrink_to_fit();
    }

    /// The count of `addr` (0 when not listed): a lower bound of the truth.
    pub fn count(&self, addr: IpAddr) -> u64 {
        self.counts
            .iter()
            .find(|(a, _)| *a == addr)
            .map_or(0, |&(_, c)| c)
    }

    /// The `n` largest, largest first.
    pub fn top(&self, n: usize) -> &[(IpAddr, u64)] {
        &self.counts[..n.min(self.counts.len())]
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// A summary read from a file: anything it must not hold (more than `KEEP` counts, zero
    /// counts, counts above its total) is made right, never trusted.
    pub fn sanitize(&mut self) {
        let sum = self
            .counts
            .iter()
            .fold(0u64, |s, &(_, c)| s.saturating_add(c));
        self.total = self.total.max(sum);
        self.reduce();
    }

    pub fn memory_bytes(&self) -> usize {
        self.counts.capacity() * size_of::<(IpAddr, u64)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    fn exact(stream: &[u32]) -> HashMap<u32, u64> {
        let mut m = HashMap::new();
        for &a in stream {
            *m.entry(a).or_insert(0) += 1;
        }
        m
    }

    fn sketch(stream: &[u32]) -> Summary {
        let mut s = SpaceSaving::default();
        for &a in stream {
            s.offer(ip(a));
        }
        s.summary()
    }

    /// Every address (listed or not) within the bound, and the bound within total / K.
    fn check_bound(s: &Summary, truth: &HashMap<u32, u64>) {
        let n: u64 = truth.values().sum();
        assert_eq!(s.total, n);
        let listed: u64 = s.counts.iter().map(|c| c.1).sum();
        assert!(
            s.error * K as u64 <= n - listed,
            "error {} over (total {n} - counts {listed}) / K",
            s.error
        );
        assert!(s.counts.len() <= KEEP);
        let listed: HashMap<IpAddr, u64> = s.counts.iter().copied().collect();
        for (&a, &f) in truth {
            let c = listed.get(&ip(a)).copied().unwrap_or(0);
            assert!(
                c <= f && f <= c + s.error,
                "{a}: count {c}, true {f}, error {}",
                s.error
            );
        }
    }

    #[test]
    fn fewer_distinct_than_k_is_exact() {
        let stream: Vec<u32> = (0..5000u32).map(|i| (i * 7919) % 255).collect();
        let s = sketch(&stream);
        assert_eq!(s.error, 0);
        let truth = exact(&stream);
        assert_eq!(s.counts.len(), truth.len());
        for (a, f) in truth {
            assert_eq!(s.count(ip(a)), f);
        }
    }

    #[test]
    fn heavy_hitters_survive_a_flood_of_distinct_addresses() {
        let mut stream = Vec::new();
        for i in 0..100_000u32 {
            stream.push(1_000_000 + i); // each once
            if i % 10 == 0 {
                stream.push(7); // 10,000 times
            }
            if i % 50 == 0 {
                stream.push(9); // 2,000 times
            }
        }
        let s = sketch(&stream);
        check_bound(&s, &exact(&stream));
        assert_eq!(
            s.top(2).iter().map(|c| c.0).collect::<Vec<_>>(),
            [ip(7), ip(9)]
        );
    }

    #[test]
    fn clear_keeps_room_and_forgets() {
        let mut s = SpaceSaving::default();
        for a in 0..1000 {
            s.offer(ip(a));
        }
        let bytes = s.memory_bytes();
        s.clear();
        assert_eq!(s.total(), 0);
        assert_eq!(s.summary(), Summary::default());
        for a in 0..1000 {
            s.offer(ip(a));
        }
        assert_eq!(s.memory_bytes(), bytes, "no growth past K entries");
    }

    #[test]
    fn sanitize_repairs_a_summary_read_from_disk() {
        let mut s = Summary {
            counts: (0..400).map(|a| (ip(a), u64::from(a % 3))).collect(),
            total: 1,
            error: 0,
        };
        s.sanitize();
        assert!(s.counts.len() <= KEEP);
        assert!(s.counts.iter().all(|c| c.1 > 0));
        assert!(s.total >= s.counts.iter().map(|c| c.1).sum::<u64>());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The sketch against an exact counter: exact below K distinct addresses, within the
        /// bound otherwise; merging several minutes (the streams split anywhere, merged in
        /// groups, as hours and cores are) keeps the bound.
        #[test]
        fn sketch_within_bound_of_an_exact_counter(
            stream in prop::collection::vec(
                prop_oneof![3 => 0u32..40, 1 => 0u32..5_000],
                0..6_000,
            ),
            cuts in prop::collection::vec(0usize..6_000, 0..6),
        ) {
            let truth = exact(&stream);
            let whole = sketch(&stream);
            check_bound(&whole, &truth);
            if truth.len() < K {
                prop_assert_eq!(whole.error, 0);
                for (&a, &f) in &truth {
                    prop_assert_eq!(whole.count(ip(a)), f);
                }
            }
            // Split into pieces, summarised apart, merged two ways.
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
            cuts.push(0);
            cuts.push(stream.len());
            cuts.sort_unstable();
            let parts: Vec<Summary> = cuts.windows(2).map(|w| sketch(&stream[w[0]..w[1]])).collect();
            let flat = Summary::merge_all(&parts);
            check_bound(&flat, &truth);
            let mut nested = Summary::default();
            for p in &parts {
                nested = Summary::merge_all([&nested, p]);
            }
            check_bound(&nested, &truth);
            if truth.len() < K {
                prop_assert_eq!(flat.error, 0);
                prop_assert_eq!(nested.error, 0);
            }
        }
    }
}
