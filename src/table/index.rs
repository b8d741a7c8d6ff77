//! The session index: an open-addressed hash table of 8-byte entries, `(hash tag, slot)`,
//! with linear probing and backward-shift deletion (no tombstones, so lookups never slow down
//! with churn).
//!
//! Why not `hashbrown::HashTable`: a lookup there is three dependent cache misses (control
//! group, slot, record) behind an API that cannot be split. Here a lookup is one miss for the
//! entry and one for the record, and the two can be issued for a whole batch in two passes
//! (`Shard::track_batch`): first every packet's entry, then every candidate record, so the
//! misses of a batch overlap without prefetch instructions.

use crate::arena::ArenaVec;

/// An empty cell.
const EMPTY: u64 = u64::MAX;
/// Resize when more than 7/8 full.
const LOAD_NUM: usize = 7;
const LOAD_DEN: usize = 8;

/// Cells `candidate` looks at: one cache line of cells.
const CANDIDATE_PROBES: usize = 8;

/// Cells `neighbours` looks at: two cache lines of cells. With a random hash every cell
/// holds a random session of the table, so at a table full of unanswered sessions the first
/// one qualifies, and a table with none costs at most 16 bit tests before the refusal.
pub const NEIGHBOURHOOD: usize = 16;

#[derive(Debug, Clone)]
pub struct FlowIndex {
    /// In a huge-page arena (`crate::arena`): at 10M sessions the cells are 128 MiB.
    cells: ArenaVec<u64>,
    mask: usize,
    len: usize,
}

/// The low 32 bits of the hash, kept in the cell: they give the entry's home cell without
/// reading its record (deletion and growth never touch the records), and the bits above the
/// table's mask still tell most neighbours apart on lookup.
#[inline]
fn tag(hash: u64) -> u32 {
    hash as u32
}

#[inline]
fn home_of(cell: u64, mask: usize) -> usize {
    (cell >> 32) as usize & mask
}

#[inline]
fn pack(hash: u64, slot: u32) -> u64 {
    (u64::from(tag(hash)) << 32) | u64::from(slot)
}

#[inline]
fn slot_of(cell: u64) -> u32 {
    cell as u32
}

impl Default for FlowIndex {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl FlowIndex {
    pub fn with_capacity(n: usize) -> FlowIndex {
        let cells = (n * LOAD_DEN / LOAD_NUM + 1).next_power_of_two().max(16);
        FlowIndex {
            cells: ArenaVec::filled(cells, EMPTY),
            mask: cells - 1,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Cells allocated (8 bytes each).
    pub fn capacity(&self) -> usize {
        self.cells.len()
    }

    /// Starts loading the cells `candidate` will look at (`crate::arena::prefetch`): the
    /// home cell's line and, when the probe runs past its end, the next one.
    #[inline]
    pub fn prefetch_cells(&self, hash: u64) {
        let home = hash as usize & self.mask;
        crate::arena::prefetch_at(&self.cells, home);
        crate::arena::prefetch_at(&self.cells, (home + CANDIDATE_PROBES - 1) & self.mask);
    }

    /// The likely slot of a hash without reading any record: the first cell with its tag
    /// among the few probed after its home cell (they share the home cell's cache lines),
    /// to be confirmed by `find`. At 7/8 load, a good share of entries sit past their home
    /// cell; looking only there would miss them.
    #[inline]
    pub fn candidate(&self, hash: u64) -> Option<u32> {
        let t = tag(hash);
        let mut i = hash as usize & self.mask;
        for _ in 0..CANDIDATE_PROBES {
            let c = *self.cells.get(i)?;
            if c == EMPTY {
                return None;
            }
            if (c >> 32) as u32 == t {
                return Some(slot_of(c));
            }
            i = (i + 1) & self.mask;
        }
        None
    }

    /// The slots of the entries in the `NEIGHBOURHOOD` cells from `hash`'s home cell: where
    /// early drop (S8) looks for a session to make room for a new one with this hash, as the
    /// kernel's `early_drop` looks only in the new entry's bucket and the few after it. The
    /// lookup that found the key absent has just walked these cells: they are in the cache.
    /// Each comes with its cell, for `remove_cell`.
    #[inline]
    pub fn neighbours(&self, hash: u64) -> impl Iterator<Item = (usize, u32)> + '_ {
        let home = hash as usize & self.mask;
        (0..NEIGHBOURHOOD.min(self.cells.len()))
            .map(move |k| (home + k) & self.mask)
            .filter(move |&i| self.cells[i] != EMPTY)
            .map(move |i| (i, slot_of(self.cells[i])))
    }

    /// The cell holding `slot`'s entry, if `cell` still does (a position `neighbours` gave).
    #[inline]
    pub fn holds(&self, cell: usize, slot: u32) -> bool {
        self.cells
            .get(cell)
            .is_some_and(|&c| c != EMPTY && slot_of(c) == slot)
    }

    /// The slot whose entry has this hash's tag and for which `is_it(slot)` holds.
    #[inline]
    pub fn find(&self, hash: u64, mut is_it: impl FnMut(u32) -> bool) -> Option<u32> {
        let t = tag(hash);
        let mut i = hash as usize & self.mask;
        loop {
            let c = self.cells[i];
            if c == EMPTY {
                return None;
            }
            if (c >> 32) as u32 == t && is_it(slot_of(c)) {
                return Some(slot_of(c));
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Adds an entry (the caller knows the key is absent).
    pub fn insert(&mut self, hash: u64, slot: u32) {
        if (self.len + 1) * LOAD_DEN > self.cells.len() * LOAD_NUM {
            self.grow();
        }
        self.place(pack(hash, slot), hash);
        self.len += 1;
    }

    fn place(&mut self, cell: u64, hash: u64) {
        let mut i = hash as usize & self.mask;
        while self.cells[i] != EMPTY {
            i = (i + 1) & self.mask;
        }
        self.cells[i] = cell;
    }

    fn grow(&mut self) {
        let bigger = self.cells.len() * 2;
        let old = std::mem::replace(&mut self.cells, ArenaVec::filled(bigger, EMPTY));
        self.mask = bigger - 1;
        for c in old.iter().copied().filter(|&c| c != EMPTY) {
            // The stored low hash bits are the hash as far as placement is concerned.
            self.place(c, c >> 32);
        }
    }

    /// Removes the entry of `slot` (whose key hashes to `hash`). Backward-shift deletion keeps
    /// every remaining entry reachable from its home cell without tombstones.
    pub fn remove(&mut self, hash: u64, slot: u32) -> bool {
        let mut i = hash as usize & self.mask;
        loop {
            let c = self.cells[i];
            if c == EMPTY {
                return false;
            }
            if slot_of(c) == slot && (c >> 32) as u32 == tag(hash) {
                break;
            }
            i = (i + 1) & self.mask;
        }
        self.remove_cell(i);
        true
    }

    /// Removes the entry in cell `i` (known to hold one: `holds`), without the key's hash:
    /// early drop found it by position.
    pub fn remove_cell(&mut self, i: usize) {
        // Shift later members of the cluster back over the hole while that keeps them at or
        // after their home cell.
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let c = self.cells[j];
            if c == EMPTY {
                break;
            }
            let home = home_of(c, self.mask);
            // Can `c` move to `hole`? Only if its home is not in (hole, j] (cyclically).
            let in_range = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !in_range {
                self.cells[hole] = c;
                hole = j;
            }
        }
        self.cells[hole] = EMPTY;
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn h(k: u32) -> u64 {
        // A deliberately clustering hash: many keys share home cells (low bits), with some
        // distinguishing bits above any table mask used here.
        u64::from(k % 7) | (u64::from(k.wrapping_mul(2_654_435_761) & 0xffff) << 16)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn behaves_like_a_map(ops in prop::collection::vec((any::<bool>(), 0u32..200), 1..600)) {
            let mut idx = FlowIndex::default();
            let mut model: HashMap<u32, ()> = HashMap::new();
            for (add, k) in ops {
                if add {
                    if let std::collections::hash_map::Entry::Vacant(e) = model.entry(k) {
                        idx.insert(h(k), k);
                        e.insert(());
                    }
                } else {
                    let removed = idx.remove(h(k), k);
                    prop_assert_eq!(removed, model.remove(&k).is_some());
                }
                prop_assert_eq!(idx.len(), model.len());
                for probe in 0u32..200 {
                    let found = idx.find(h(probe), |s| s == probe);
                    prop_assert_eq!(found.is_some(), model.contains_key(&probe), "key {}", probe);
                }
            }
        }
    }

    #[test]
    fn grows_and_keeps_everything() {
        let mut idx = FlowIndex::with_capacity(4);
        for k in 0..10_000u32 {
            idx.insert(h(k), k);
        }
        assert_eq!(idx.len(), 10_000);
        assert!(idx.capacity() * 7 >= 10_000 * 8);
        for k in 0..10_000u32 {
            assert_eq!(idx.find(h(k), |s| s == k), Some(k));
        }
        for k in (0..10_000u32).step_by(2) {
            assert!(idx.remove(h(k), k));
        }
        for k in 0..10_000u32 {
            assert_eq!(idx.find(h(k), |s| s == k).is_some(), k % 2 == 1);
        }
    }
}
