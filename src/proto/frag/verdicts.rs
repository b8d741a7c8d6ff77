//! What became of datagrams already judged, by key, for the reassembly timeout: a late
//! fragment of a datagram that was dropped is dropped too, and a late exact copy of a
//! fragment of a datagram that passed passes, instead of either starting a new reassembly.
//!
//! A "pass" is remembered as one keyed digest per piece (range, M flag, bytes), so only a
//! byte-for-byte copy of a fragment that was judged gets it; any other fragment with the key
//! starts a new datagram (an identification reused, RFC 4963), judged on its own. The cache
//! is bounded by bytes and forgets its oldest entries first: forgetting one only means a late
//! fragment is held like any new datagram's, never that one passes unjudged.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};

use super::Key;

/// Charged per entry on top of its digests (map slot, queue entry, record).
pub(super) const VERDICT_OVERHEAD: usize = 128;

/// A judged piece: its range, and a keyed digest of its M flag and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PieceDigest {
    pub start: u32,
    pub end: u32,
    pub digest: u64,
}

#[derive(Debug)]
struct Judged {
    generation: u64,
    deadline: u64,
    /// `None`: dropped; otherwise passed, with its pieces.
    passed: Option<Box<[PieceDigest]>>,
    charged: usize,
}

/// What the cache says about a late fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Late {
    /// Its datagram was dropped: drop it.
    Drop,
    /// An exact copy of a fragment of a datagram that passed: pass it.
    Pass,
    /// Unknown: reassemble it.
    Unknown,
}

#[derive(Debug)]
pub(super) struct Verdicts {
    budget: usize,
    bytes: usize,
    map: HashMap<Key, Judged>,
    /// (deadline, key, generation) in recording order, which is deadline order.
    queue: VecDeque<(u64, Key, u64)>,
    next_generation: u64,
    /// Keyed (random keys per engine): a sender cannot make two different fragments collide.
    hasher: RandomState,
}

impl Verdicts {
    pub fn new(budget: usize) -> Verdicts {
        Verdicts {
            budget,
            bytes: 0,
            map: HashMap::new(),
            queue: VecDeque::new(),
            next_generation: 0,
            hasher: RandomState::new(),
        }
    }

    pub fn digest(&self, more: bool, data: &[u8]) -> u64 {
        self.hasher.hash_one((more, data))
    }

    /// Remembers `key`'s verdict until `deadline` (replacing an earlier one). An entry larger
    /// than the whole budget is not kept.
    pub fn record(&mut self, key: Key, passed: Option<Box<[PieceDigest]>>, deadline: u64) {
        self.forget(&key);
        let charged = VERDICT_OVERHEAD
            + passed
                .as_ref()
                .map_or(0, |p| p.len() * size_of::<PieceDigest>());
        if charged > self.budget {
            return;
        }
        while self.bytes + charged > self.budget {
            let Some((_, k, g)) = self.queue.pop_front() else {
                break;
            };
            if self.map.get(&k).is_some_and(|j| j.generation == g) {
                self.forget(&k);
            }
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.map.insert(
            key,
            Judged {
                generation,
                deadline,
                passed,
                charged,
            },
        );
        self.bytes += charged;
        self.queue.push_back((deadline, key, generation));
        if self.queue.len() > 2 * self.map.len() + 8 {
            let map = &self.map;
            self.queue
                .retain(|(_, k, g)| map.get(k).is_some_and(|j| j.generation == *g));
        }
    }

    /// What to do with a fragment of `key` (data `start..end`, M flag `more`) at `now_ns`.
    pub fn late(
        &mut self,
        key: &Key,
        start: u32,
        end: u32,
        more: bool,
        data: &[u8],
        now_ns: u64,
    ) -> Late {
        let Some(j) = self.map.get(key) else {
            return Late::Unknown;
        };
        if j.deadline <= now_ns {
            self.forget(key);
            return Late::Unknown;
        }
        match &j.passed {
            None => Late::Drop,
            Some(pieces) => {
                let digest = self.digest(more, data);
                let same = pieces
                    .binary_search_by_key(&start, |p| p.start)
                    .ok()
                    .and_then(|i| pieces.get(i))
                    .is_some_and(|p| p.end == end && p.digest == digest);
                if same { Late::Pass } else { Late::Unknown }
            }
        }
    }

    /// Forgets entries whose deadline has passed at `now_ns`.
    pub fn expire(&mut self, now_ns: u64) {
        while let Some(&(deadline, k, g)) = self.queue.front() {
            if deadline > now_ns {
                break;
            }
            self.queue.pop_front();
            if self.map.get(&k).is_some_and(|j| j.generation == g) {
                self.forget(&k);
            }
        }
    }

    fn forget(&mut self, key: &Key) {
        if let Some(j) = self.map.remove(key) {
            self.bytes = self.bytes.saturating_sub(j.charged);
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}
