#![allow(unsafe_code)]
//! The four AF_XDP rings (fill, completion, RX, TX) as safe types over their shared memory.
//!
//! Each ring is a single-producer single-consumer queue shared with the kernel: a producer
//! index, a consumer index, a flags word and a power-of-two array of descriptors. Indexes run
//! freely (wrapping u32) and are masked on access. The side that produces publishes with a
//! release store after writing descriptors; the side that consumes reads the other index with
//! an acquire load before reading them (Documentation/networking/af_xdp.rst, and
//! `xsk_ring_prod__reserve`/`xsk_ring_cons__peek` in libxdp, which this mirrors).
//!
//! We produce on the fill and TX rings and consume the RX and completion rings. Cached copies
//! of both indexes keep the shared cache lines quiet: the other side's index is re-read only
//! when the cached view says the ring is full (producer) or empty (consumer).

use std::io;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// A region mapped with `mmap(2)` and unmapped on drop.
pub(super) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; which thread unmaps it does not
// matter, and every access goes through `&`/`&mut` of the owner.
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` at page offset `offset` (an AF_XDP ring), shared with the
    /// kernel.
    pub(super) fn ring(fd: i32, len: usize, offset: u64) -> io::Result<Mapping> {
        // SAFETY: a fresh shared mapping chosen by the kernel; nothing else refers to it yet.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                offset as libc::off_t,
            )
        };
        Self::checked(p, len)
    }

    /// `len` bytes of zeroed anonymous memory (the UMEM), page aligned.
    pub(super) fn anonymous(len: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it yet.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        Self::checked(p, len)
    }

    fn checked(p: *mut libc::c_void, len: usize) -> io::Result<Mapping> {
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        NonNull::new(p.cast())
            .map(|ptr| Mapping { ptr, len })
            .ok_or_else(|| io::Error::other("mmap returned a null pointer"))
    }

    pub(super) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned, and no reference into the region
        // outlives its owner (rings and frames borrow from the owning back-end).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// Where a ring's parts lie (from `XDP_MMAP_OFFSETS`), and its size in entries.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    pub producer: usize,
    pub consumer: usize,
    pub flags: usize,
    pub desc: usize,
    pub entries: u32,
}

/// One ring over memory that outlives it. `T` is the descriptor: `u64` (a UMEM address) on
/// the fill and completion rings, `libc::xdp_desc` on RX and TX.
pub(super) struct Ring<T: Copy> {
    producer: NonNull<AtomicU32>,
    consumer: NonNull<AtomicU32>,
    flags: NonNull<AtomicU32>,
    descs: NonNull<T>,
    mask: u32,
    /// Our view of the producer index: the kernel's last seen (consumer side) or ours including
    /// unpublished entries (producer side).
    cached_prod: u32,
    /// Our view of the consumer index, the mirror image.
    cached_cons: u32,
    /// Keeps the shared memory mapped as long as the ring exists (`None` in unit tests, where
    /// the test owns the memory).
    _map: Option<Mapping>,
    _t: PhantomData<T>,
}

// SAFETY: the ring's memory is owned by `_map` (or by the test that built it) and is only
// touched through `&mut self` on our side; the kernel's side is synchronised by the atomics.
unsafe impl<T: Copy> Send for Ring<T> {}

impl<T: Copy> Ring<T> {
    /// A ring over `map` as `layout` describes it.
    pub(super) fn mapped(map: Mapping, layout: Layout) -> io::Result<Ring<T>> {
        let end = layout.desc + layout.entries as usize * size_of::<T>();
        let fits = |off: usize, len: usize| off.is_multiple_of(4) && off + len <= map.len();
        if !layout.entries.is_power_of_two()
            || !fits(layout.producer, 4)
            || !fits(layout.consumer, 4)
            || !fits(layout.flags, 4)
            || end > map.len()
            || !(map.as_ptr() as usize + layout.desc).is_multiple_of(align_of::<T>())
        {
            return Err(io::Error::other(format!(
                "ring layout {layout:?} does not fit its {} byte mapping",
                map.len()
            )));
        }
        let base = map.as_ptr();
        // SAFETY: every offset was checked above to lie inside the mapping, aligned; the
        // mapping moves into the ring, so the pointers live as long as the ring.
        let mut ring = unsafe { Ring::from_raw(base, layout) };
        ring._map = Some(map);
        Ok(ring)
    }

    /// # Safety
    /// `base + layout.{producer,consumer,flags}` must be 4-byte aligned u32 slots and
    /// `base + layout.desc` an aligned array of `layout.entries` `T`s (a power of two), all
    /// valid for the life of the ring and shared with at most one other party (the kernel, or
    /// a test playing it) that follows the ring protocol.
    pub(super) unsafe fn from_raw(base: *mut u8, layout: Layout) -> Ring<T> {
        // SAFETY: non-null and in bounds by the caller's contract.
        let at = |off: usize| unsafe { NonNull::new_unchecked(base.add(off)) };
        let producer = at(layout.producer).cast::<AtomicU32>();
        let consumer = at(layout.consumer).cast::<AtomicU32>();
        let mut ring = Ring {
            producer,
            consumer,
            flags: at(layout.flags).cast(),
            descs: at(layout.desc).cast(),
            mask: layout.entries - 1,
            cached_prod: 0,
            cached_cons: 0,
            _map: None,
            _t: PhantomData,
        };
        ring.cached_prod = ring.producer().load(Ordering::Acquire);
        ring.cached_cons = ring.consumer().load(Ordering::Acquire);
        ring
    }

    fn producer(&self) -> &AtomicU32 {
        // SAFETY: valid and aligned for the life of the ring (constructor contract).
        unsafe { self.producer.as_ref() }
    }

    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { self.consumer.as_ref() }
    }

    pub(super) fn size(&self) -> u32 {
        self.mask + 1
    }

    /// Whether the kernel asks to be woken (`XDP_RING_NEED_WAKEUP`) before it works this ring.
    pub(super) fn needs_wakeup(&self) -> bool {
        // SAFETY: as for `producer`.
        let flags = unsafe { self.flags.as_ref() };
        flags.load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    fn slot(&self, index: u32) -> *mut T {
        // SAFETY: masked into the descriptor array's bounds.
        unsafe { self.descs.as_ptr().add((index & self.mask) as usize) }
    }

    // ---- producer side (fill, TX) ----

    /// Free entries, at most `want`: re-reads the consumer index only when the cached view has
    /// fewer than `want`.
    pub(super) fn free(&mut self, want: u32) -> u32 {
        let free = self.size() - self.cached_prod.wrapping_sub(self.cached_cons);
        if free >= want {
            return want;
        }
        self.cached_cons = self.consumer().load(Ordering::Acquire);
        (self.size() - self.cached_prod.wrapping_sub(self.cached_cons)).min(want)
    }

    /// Writes `desc` into the next free entry, not yet visible to the kernel. The caller
    /// checked `free` first; returns false (and writes nothing) when the ring is full.
    pub(super) fn push(&mut self, desc: T) -> bool {
        if self.free(1) == 0 {
            return false;
        }
        // SAFETY: the entry lies in the array and belongs to us: it is between the kernel's
        // consumer index and the ring's size ahead of it, so the kernel does not read it until
        // `publish`.
        unsafe { self.slot(self.cached_prod).write_volatile(desc) };
        self.cached_prod = self.cached_prod.wrapping_add(1);
        true
    }

    /// Makes every pushed entry visible to the kernel.
    pub(super) fn publish(&mut self) {
        self.producer().store(self.cached_prod, Ordering::Release);
    }

    /// Entries published but not yet taken by the kernel (a TX ring still to be sent).
    pub(super) fn outstanding(&mut self) -> u32 {
        self.cached_cons = self.consumer().load(Ordering::Acquire);
        self.producer()
            .load(Ordering::Relaxed)
            .wrapping_sub(self.cached_cons)
    }

    // ---- consumer side (RX, completion) ----

    /// Entries ready to read, at most `max`: re-reads the producer index only when the cached
    /// view holds fewer than `max`.
    pub(super) fn ready(&mut self, max: u32) -> u32 {
        let mut avail = self.cached_prod.wrapping_sub(self.cached_cons);
        if avail < max {
            self.cached_prod = self.producer().load(Ordering::Acquire);
            avail = self.cached_prod.wrapping_sub(self.cached_cons);
        }
        avail.min(max)
    }

    /// Entry `i` of those `ready` said are there (0 is the oldest).
    pub(super) fn peek(&self, i: u32) -> T {
        debug_assert!(i < self.cached_prod.wrapping_sub(self.cached_cons));
        // SAFETY: the entry lies in the array, and the kernel published it (acquire load in
        // `ready`) and will not overwrite it until `release` moves the consumer index past it.
        unsafe { self.slot(self.cached_cons.wrapping_add(i)).read_volatile() }
    }

    /// Hands the `n` oldest entries back to the kernel.
    pub(super) fn release(&mut self, n: u32) {
        debug_assert!(n <= self.cached_prod.wrapping_sub(self.cached_cons));
        self.cached_cons = self.cached_cons.wrapping_add(n);
        self.consumer().store(self.cached_cons, Ordering::Release);
    }
}
