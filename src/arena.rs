//! The memory module (DESIGN.md §2-§3): one of the two places `unsafe` may live, behind safe
//! types. It holds two things:
//!
//! - **Arenas** (`ArenaVec`): the session records, their metadata and the index live in
//!   anonymous memory mappings advised with `MADV_HUGEPAGE`, so that at millions of sessions a
//!   lookup does not also miss the TLB (1.6 GB in 4 KiB pages is 400,000 pages; in 2 MiB pages,
//!   800). Measured here with THP forced on: +68 % at 10M sessions (docs/performance.md).
//!   When the kernel has THP off (`never`) or refuses the advice, the arena works the same on
//!   small pages and the refusal is counted (`huge_page_notes`), and the engine says so once
//!   at start.
//! - **Prefetch**: asking the CPU to start loading a cache line a lookup will need soon, so that
//!   the misses of a batch of lookups overlap instead of being paid one after the other
//!   (DESIGN.md: batching with prefetch doubles lookups at 10M sessions).

#![allow(unsafe_code)]

/// Bytes of a cache line on the machines we run on (x86-64).
pub const CACHE_LINE: usize = 64;

/// Starts loading the cache line holding `*value` into every cache level. Never faults and
/// never changes what any load sees: a hint, free to be ignored by the CPU.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    prefetch_ptr((value as *const T).cast::<u8>());
}

/// Starts loading every cache line of `*value` (a record that spans two lines).
#[inline(always)]
pub fn prefetch_all<T>(value: &T) {
    let start = (value as *const T).cast::<u8>();
    let mut offset = 0;
    while offset < size_of::<T>() {
        prefetch_ptr(start.wrapping_add(offset));
        offset += CACHE_LINE;
    }
    // The last byte's line, when the value does not start on a line boundary.
    if size_of::<T>() > 0 {
        prefetch_ptr(start.wrapping_add(size_of::<T>() - 1));
    }
}

/// `prefetch` of element `index` of `slice`, if there is one.
#[inline(always)]
pub fn prefetch_at<T>(slice: &[T], index: usize) {
    if let Some(v) = slice.get(index) {
        prefetch(v);
    }
}

/// `prefetch_all` of element `index` of `slice`, if there is one.
#[inline(always)]
pub fn prefetch_all_at<T>(slice: &[T], index: usize) {
    if let Some(v) = slice.get(index) {
        prefetch_all(v);
    }
}

#[inline(always)]
fn prefetch_ptr(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is `unsafe` only for its `#[target_feature(enable = "sse")]`, and
    // SSE is part of the x86-64 baseline, so every CPU this code runs on has it. PREFETCHT0 does
    // not dereference in the language's sense: it never faults, even on an invalid address, and
    // changes no value any load observes. Callers only pass addresses inside (or one line
    // around) a live reference anyway.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

// ---- arenas ----------------------------------------------------------------------------------

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// Size of a transparent huge page on x86-64.
pub const HUGE_PAGE: usize = 2 << 20;
const PAGE: usize = 4096;

/// Arenas at least this large are aligned to, and advised for, huge pages: below it a huge page
/// would be mostly empty.
const HUGE_THRESHOLD: usize = HUGE_PAGE;

static HUGE_ADVISED: AtomicU64 = AtomicU64::new(0);
static HUGE_REFUSED: AtomicU64 = AtomicU64::new(0);

/// What the arenas asked of the kernel since start: mappings advised for huge pages, and
/// advice the kernel refused (THP compiled out, or `never`: the arena then runs on 4 KiB
/// pages, slower at millions of sessions, otherwise the same).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HugePageNotes {
    pub advised: u64,
    pub refused: u64,
}

pub fn huge_page_notes() -> HugePageNotes {
    HugePageNotes {
        advised: HUGE_ADVISED.load(Ordering::Relaxed),
        refused: HUGE_REFUSED.load(Ordering::Relaxed),
    }
}

/// The kernel's transparent huge page mode (`always`, `madvise`, `never`), if it says.
pub fn thp_mode() -> Option<String> {
    let s = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    let start = s.find('[')? + 1;
    let end = start + s[start..].find(']')?;
    Some(s[start..end].to_string())
}

/// True when `madvise(MADV_HUGEPAGE)` can take effect (THP in `always` or `madvise` mode).
fn thp_usable() -> bool {
    static USABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *USABLE.get_or_init(|| thp_mode().is_some_and(|m| m != "never"))
}

/// A growable array of `Copy` values in its own anonymous memory mapping: `Vec`'s interface for
/// what the table needs (push, reserve, index through a slice), with huge-page advice, growth by
/// `mremap` (the pages move, nothing is copied, the old range never doubles the footprint), and
/// pages that are only resident once written.
pub struct ArenaVec<T: Copy> {
    ptr: NonNull<T>,
    len: usize,
    /// Elements the mapping holds.
    cap: usize,
    /// Bytes mapped (0 = nothing mapped yet).
    mapped: usize,
}

// SAFETY: an `ArenaVec` owns its mapping exclusively, like a `Vec` owns its buffer: moving it to
// another thread moves that ownership, and `&ArenaVec` only gives `&[T]`.
unsafe impl<T: Copy + Send> Send for ArenaVec<T> {}
// SAFETY: shared references only read (`&[T]`), as with `Vec<T>`.
unsafe impl<T: Copy + Sync> Sync for ArenaVec<T> {}

impl<T: Copy> Default for ArenaVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy> ArenaVec<T> {
    const ALIGN_OK: () = assert!(
        align_of::<T>() <= PAGE && size_of::<T>() > 0,
        "arena elements must be sized and page-aligned at most"
    );

    pub const fn new() -> Self {
        let () = Self::ALIGN_OK;
        ArenaVec {
            ptr: NonNull::dangling(),
            len: 0,
            cap: 0,
            mapped: 0,
        }
    }

    pub fn with_capacity(n: usize) -> Self {
        let mut a = Self::new();
        a.reserve(n);
        a
    }

    /// `n` copies of `value` (written, so resident).
    pub fn filled(n: usize, value: T) -> Self {
        let mut a = Self::with_capacity(n);
        for _ in 0..n {
            a.push(value);
        }
        a
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Bytes of address space mapped (resident only where written).
    pub fn mapped_bytes(&self) -> usize {
        self.mapped
    }

    #[inline]
    pub fn push(&mut self, value: T) {
        if self.len == self.cap {
            self.grow_for(self.len + 1);
        }
        // SAFETY: `len < cap` after growing, so `ptr + len` is inside the mapping, which is
        // aligned for `T` (page-aligned, `ALIGN_OK`); writing a `Copy` value needs no drop of
        // what was there.
        unsafe { self.ptr.as_ptr().add(self.len).write(value) };
        self.len += 1;
    }

    /// Room for `additional` more values without remapping.
    pub fn reserve(&mut self, additional: usize) {
        let want = self.len.saturating_add(additional);
        if want > self.cap {
            self.remap(want);
        }
    }

    /// Forgets the values past `len` (their pages stay mapped until the arena is dropped or
    /// shrunk).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    fn grow_for(&mut self, want: usize) {
        // Doubling, as `Vec` does: amortised O(1) pushes.
        let target = want
            .max(self.cap.saturating_mul(2))
            .max(PAGE / size_of::<T>().min(PAGE));
        self.remap(target);
    }

    /// Maps (or re-maps) room for at least `elems` values.
    fn remap(&mut self, elems: usize) {
        let Some(want) = elems.checked_mul(size_of::<T>()) else {
            capacity_overflow();
        };
        let bytes = if want >= HUGE_THRESHOLD {
            want.next_multiple_of(HUGE_PAGE)
        } else {
            want.next_multiple_of(PAGE)
        };
        if bytes <= self.mapped {
            return;
        }
        let p = if self.mapped == 0 {
            map_anonymous(bytes)
        } else {
            // SAFETY: `ptr`/`mapped` describe exactly the mapping this arena created and still
            // owns; MREMAP_MAYMOVE lets the kernel move it, after which the old address is no
            // longer used (we take the new one below). The first `len` values move with it.
            let p = unsafe {
                libc::mremap(
                    self.ptr.as_ptr().cast(),
                    self.mapped,
                    bytes,
                    libc::MREMAP_MAYMOVE,
                )
            };
            if p == libc::MAP_FAILED {
                out_of_memory(bytes);
            }
            p
        };
        if bytes >= HUGE_THRESHOLD {
            advise_huge(p, bytes);
        }
        // `map_anonymous` and `mremap` never return null on success.
        self.ptr = NonNull::new(p.cast::<T>()).unwrap_or_else(|| out_of_memory(bytes));
        self.mapped = bytes;
        self.cap = bytes / size_of::<T>();
    }
}

fn map_anonymous(bytes: usize) -> *mut libc::c_void {
    // SAFETY: a fresh private anonymous mapping: no file, no address hint, so it overlaps
    // nothing Rust owns. MAP_NORESERVE: the pages are only committed when written.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        out_of_memory(bytes);
    }
    p
}

fn advise_huge(p: *mut libc::c_void, bytes: usize) {
    if !thp_usable() {
        HUGE_REFUSED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // SAFETY: `p .. p + bytes` is a mapping the calling arena owns; MADV_HUGEPAGE is advice
    // about how to back it and changes no byte of its contents.
    let rc = unsafe { libc::madvise(p, bytes, libc::MADV_HUGEPAGE) };
    if rc == 0 {
        HUGE_ADVISED.fetch_add(1, Ordering::Relaxed);
    } else {
        HUGE_REFUSED.fetch_add(1, Ordering::Relaxed);
    }
}

#[cold]
fn out_of_memory(bytes: usize) -> ! {
    // As `Vec` does when the allocator fails: the process cannot go on.
    std::alloc::handle_alloc_error(
        std::alloc::Layout::from_size_align(bytes.max(1), PAGE)
            .unwrap_or(std::alloc::Layout::new::<u8>()),
    )
}

#[cold]
fn capacity_overflow() -> ! {
    panic!("arena capacity overflow")
}

impl<T: Copy> Drop for ArenaVec<T> {
    fn drop(&mut self) {
        if self.mapped != 0 {
            // SAFETY: the mapping is this arena's own and nothing refers to it after drop
            // (every reference into it borrowed the arena).
            unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.mapped) };
        }
    }
}

impl<T: Copy> std::ops::Deref for ArenaVec<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        // SAFETY: the first `len` values were written (`push`) and the pointer is aligned and
        // non-null (dangling only when `len == 0`, which a zero-length slice allows); the
        // borrow of `self` keeps the mapping alive and unmoved.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> std::ops::DerefMut for ArenaVec<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`; the exclusive borrow of `self` makes the slice unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> Clone for ArenaVec<T> {
    fn clone(&self) -> Self {
        let mut a = Self::with_capacity(self.len);
        for v in self.iter() {
            a.push(*v);
        }
        a
    }
}

impl<T: Copy + std::fmt::Debug> std::fmt::Debug for ArenaVec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArenaVec")
            .field("len", &self.len)
            .field("cap", &self.cap)
            .finish()
    }
}

impl<'a, T: Copy> IntoIterator for &'a ArenaVec<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T: Copy> IntoIterator for &'a mut ArenaVec<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prefetching is a hint: values read back unchanged, for every shape of value, at slice
    /// ends and out of range.
    #[test]
    fn prefetch_changes_nothing() {
        #[derive(Debug, Clone, Copy, PartialEq)]
        #[repr(align(64))]
        struct Wide([u64; 16]);
        let records: Vec<Wide> = (0..4u64).map(|i| Wide([i; 16])).collect();
        for i in 0..6 {
            prefetch_at(&records, i);
            prefetch_all_at(&records, i);
        }
        prefetch(&0u8);
        prefetch_all(&());
        prefetch_all(&[7u8; 3]);
        let bytes = [1u8; 200];
        prefetch_all(&bytes);
        assert_eq!(records[3], Wide([3; 16]));
        assert_eq!(bytes.iter().map(|&b| u32::from(b)).sum::<u32>(), 200);
    }

    /// The arena against a `Vec` model: any sequence of pushes, writes, reserves, truncations
    /// and clones reads back exactly what the model holds, across remaps (small and huge).
    mod model {
        use super::super::ArenaVec;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Push(u64),
            Write(usize, u64),
            Reserve(usize),
            Truncate(usize),
            Clone,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                8 => any::<u64>().prop_map(Op::Push),
                3 => (any::<usize>(), any::<u64>()).prop_map(|(i, v)| Op::Write(i, v)),
                1 => (0usize..70_000).prop_map(Op::Reserve),
                1 => (0usize..2_000).prop_map(Op::Truncate),
                1 => Just(Op::Clone),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
            #[test]
            fn behaves_like_a_vec(ops in prop::collection::vec(op(), 1..3_000)) {
                let mut arena: ArenaVec<u64> = ArenaVec::new();
                let mut model: Vec<u64> = Vec::new();
                for op in ops {
                    match op {
                        Op::Push(v) => { arena.push(v); model.push(v); }
                        Op::Write(i, v) if !model.is_empty() => {
                            let i = i % model.len();
                            arena[i] = v;
                            model[i] = v;
                        }
                        Op::Write(..) => {}
                        Op::Reserve(n) => {
                            arena.reserve(n);
                            prop_assert!(arena.capacity() >= arena.len() + n);
                        }
                        Op::Truncate(n) => { arena.truncate(n); model.truncate(n); }
                        Op::Clone => { arena = arena.clone(); }
                    }
                    prop_assert_eq!(&arena[..], &model[..]);
                }
            }
        }

        /// Records wider than a word and aligned to a cache line keep their alignment and
        /// contents through huge-page-sized growth (mremap moves the pages).
        #[test]
        fn aligned_records_survive_growth() {
            #[derive(Debug, Clone, Copy, PartialEq)]
            #[repr(align(64))]
            struct Line([u32; 16]);
            let mut a: ArenaVec<Line> = ArenaVec::new();
            for i in 0..100_000u32 {
                a.push(Line([i; 16]));
            }
            assert!(a.mapped_bytes() >= 100_000 * 64);
            assert_eq!(a.mapped_bytes() % super::super::HUGE_PAGE, 0);
            assert_eq!(a.as_ptr() as usize % 64, 0);
            for (i, l) in a.iter().enumerate() {
                assert_eq!(*l, Line([i as u32; 16]));
            }
            let filled = ArenaVec::filled(5, 7u8);
            assert_eq!(&filled[..], &[7u8; 5]);
            let mut m = a.clone();
            m[99_999].0[3] = 1;
            assert_eq!(a[99_999], Line([99_999; 16]));
            // Advice was given or its refusal counted, for each huge mapping.
            let notes = super::super::huge_page_notes();
            assert!(notes.advised + notes.refused >= 1);
        }
    }
}
