//! The memory module (DESIGN.md §2-§3): one of the two places `unsafe` may live, behind safe
//! functions. Today it holds prefetch: asking the CPU to start loading a cache line a lookup
//! will need soon, so that the misses of a batch of lookups overlap instead of being paid one
//! after the other (DESIGN.md: batching with prefetch doubles lookups at 10M sessions).
//! Huge-page arenas come here too (issue #15).

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
}
