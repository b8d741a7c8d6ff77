//! One family's reassembly pool: the bytes its incomplete datagrams hold, bounded by a high
//! and a low threshold (the kernel's `ipfrag_high_thresh` / `ipfrag_low_thresh`), each
//! source's share of it, and the creation-order queues that name the oldest datagram of the
//! pool or of a source for eviction and expiry.
//!
//! The queues keep entries of datagrams already gone (completed, dropped) until they reach
//! the front or are compacted; a generation number tells a live entry from a stale one.

use std::collections::{HashMap, VecDeque};

use super::pending::Pending;
use super::{Key, Source};

/// A source's part of a pool.
#[derive(Debug, Default)]
struct SourceUse {
    bytes: usize,
    /// Its datagrams in flight.
    live: usize,
    /// (key, generation) of its datagrams in creation order.
    queue: VecDeque<(Key, u64)>,
}

#[derive(Debug)]
pub(super) struct Pool {
    /// Above this a new fragment makes room first (bytes, data plus bookkeeping).
    pub high: usize,
    /// Eviction goes down to this.
    pub low: usize,
    /// What one source may hold.
    pub share: usize,
    pub bytes: usize,
    /// Datagrams in flight.
    pub datagrams: usize,
    /// (deadline, key, generation) in creation order, which is deadline order.
    queue: VecDeque<(u64, Key, u64)>,
    sources: HashMap<Source, SourceUse>,
}

fn live(pending: &HashMap<Key, Pending>, key: &Key, generation: u64) -> bool {
    pending.get(key).is_some_and(|p| p.generation == generation)
}

impl Pool {
    pub fn new(high: usize, low: usize, share_percent: u8) -> Pool {
        let percent = share_percent.clamp(1, 100) as usize;
        Pool {
            high,
            low: low.min(high),
            share: ((high as u128 * percent as u128) / 100).max(1) as usize,
            bytes: 0,
            datagrams: 0,
            queue: VecDeque::new(),
            sources: HashMap::new(),
        }
    }

    /// Bytes `source` holds.
    pub fn held_by(&self, source: &Source) -> usize {
        self.sources.get(source).map_or(0, |s| s.bytes)
    }

    /// Sources holding something (for tests and bounds).
    #[cfg(test)]
    pub fn sources(&self) -> usize {
        self.sources.len()
    }

    /// A new datagram, charged `charge` bytes.
    pub fn start(
        &mut self,
        key: Key,
        source: Source,
        generation: u64,
        deadline: u64,
        charge: usize,
        pending: &HashMap<Key, Pending>,
    ) {
        self.datagrams += 1;
        self.queue.push_back((deadline, key, generation));
        // Stale entries outnumbering live ones: compacting keeps each queue within twice its
        // live datagrams, amortised O(1) per datagram.
        if self.queue.len() > 2 * self.datagrams + 8 {
            self.queue
                .retain(|(_, k, g)| live(pending, k, *g) || *g == generation);
        }
        let s = self.sources.entry(source).or_default();
        s.live += 1;
        s.queue.push_back((key, generation));
        if s.queue.len() > 2 * s.live + 8 {
            s.queue
                .retain(|(k, g)| live(pending, k, *g) || *g == generation);
        }
        self.charge(source, charge);
    }

    pub fn charge(&mut self, source: Source, n: usize) {
        self.bytes += n;
        if let Some(s) = self.sources.get_mut(&source) {
            s.bytes += n;
        }
    }

    /// A datagram of `source` charged `charged` bytes is gone.
    pub fn release(&mut self, source: &Source, charged: usize) {
        self.bytes = self.bytes.saturating_sub(charged);
        self.datagrams = self.datagrams.saturating_sub(1);
        if let Some(s) = self.sources.get_mut(source) {
            s.bytes = s.bytes.saturating_sub(charged);
            s.live = s.live.saturating_sub(1);
            if s.live == 0 {
                self.sources.remove(source);
            }
        }
    }

    /// The oldest datagram in flight other than `spare`, taken off the queue.
    pub fn oldest(&mut self, spare: &Key, pending: &HashMap<Key, Pending>) -> Option<Key> {
        let mut i = 0;
        while let Some(&(_, k, g)) = self.queue.get(i) {
            if !live(pending, &k, g) {
                self.queue.remove(i);
            } else if k == *spare {
                i += 1;
            } else {
                self.queue.remove(i);
                return Some(k);
            }
        }
        None
    }

    /// The oldest datagram of `source` other than `spare`, taken off its queue.
    pub fn oldest_of(
        &mut self,
        source: &Source,
        spare: &Key,
        pending: &HashMap<Key, Pending>,
    ) -> Option<Key> {
        let s = self.sources.get_mut(source)?;
        let mut i = 0;
        while let Some(&(k, g)) = s.queue.get(i) {
            if !live(pending, &k, g) {
                s.queue.remove(i);
            } else if k == *spare {
                i += 1;
            } else {
                s.queue.remove(i);
                return Some(k);
            }
        }
        None
    }

    /// The oldest datagram whose deadline has passed at `now_ns`, taken off the queue.
    pub fn expired(&mut self, now_ns: u64, pending: &HashMap<Key, Pending>) -> Option<Key> {
        while let Some(&(deadline, k, g)) = self.queue.front() {
            if deadline > now_ns {
                return None;
            }
            self.queue.pop_front();
            if live(pending, &k, g) {
                return Some(k);
            }
        }
        None
    }

    /// Entries in the queues, stale ones included (for bounds in tests).
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.queue.len() + self.sources.values().map(|s| s.queue.len()).sum::<usize>()
    }
}
