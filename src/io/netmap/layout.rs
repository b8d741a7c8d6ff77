//! netmap.h's shared structures (`netmap_slot`, `netmap_ring`, `netmap_if`) as byte offsets,
//! the slot flags we set or read, and the bounds-checked native-endian accessors every read and
//! write of the region goes through. A leaf, and safe: a corrupted region can cost frames, never
//! memory safety or a panic.

use std::ops::Range;

/// netmap.h `NS_BUF_CHANGED`: "must be set whenever buf_idx is changed".
pub(super) const NS_BUF_CHANGED: u16 = 0x0001;
/// netmap.h `NS_MOREFRAG`: set on all but the last slot of a multi-slot packet.
pub(super) const NS_MOREFRAG: u16 = 0x0020;

/// Byte offsets of the shared structures, from netmap.h (API 14, LP64). The `layout_*` tests
/// check them against netmap_sys's `#[repr(C)]` definitions with `offset_of!`.
pub(super) mod off {
    /// `struct netmap_slot` is 16 bytes.
    pub const SLOT_SIZE: usize = 16;
    pub const SLOT_BUF_IDX: usize = 0; // u32
    pub const SLOT_LEN: usize = 4; // u16
    pub const SLOT_FLAGS: usize = 6; // u16

    pub const RING_BUF_OFS: usize = 0; // i64: buffer area, relative to the ring
    pub const RING_NUM_SLOTS: usize = 8; // u32
    pub const RING_BUF_SIZE: usize = 12; // u32
    pub const RING_RINGID: usize = 16; // u16
    pub const RING_DIR: usize = 18; // u16
    pub const RING_HEAD: usize = 20; // u32 (user)
    pub const RING_CUR: usize = 24; // u32 (user)
    pub const RING_TAIL: usize = 28; // u32 (kernel)
    /// `slot[]` follows `sem[128]`, which is aligned to NM_CACHE_ALIGN (128).
    pub const RING_SLOTS: usize = 256;

    pub const IF_TX_RINGS: usize = 24; // u32
    pub const IF_RX_RINGS: usize = 28; // u32
    /// `ni_host_tx_rings` in newer netmap.h; `ni_spare1[0]` (zero) in older ones, which always
    /// had exactly one host ring pair.
    pub const IF_HOST_TX_RINGS: usize = 36; // u32
    pub const IF_RING_OFS: usize = 56; // ssize_t[]: ring offsets relative to the netmap_if
}

// ---- bounds-checked native-endian accessors (the region is shared with this host's kernel) ----

fn rd<const N: usize>(mem: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = at.checked_add(N).and_then(|end| mem.get(at..end)) {
        out.copy_from_slice(src);
    }
    out
}

pub(super) fn rd_u16(mem: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes(rd(mem, at))
}

pub(super) fn rd_u32(mem: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(rd(mem, at))
}

pub(super) fn rd_i64(mem: &[u8], at: usize) -> i64 {
    i64::from_ne_bytes(rd(mem, at))
}

pub(super) fn wr(mem: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = at
        .checked_add(bytes.len())
        .and_then(|end| mem.get_mut(at..end))
    {
        dst.copy_from_slice(bytes);
    }
}

pub(super) fn wr_u16(mem: &mut [u8], at: usize, v: u16) {
    wr(mem, at, &v.to_ne_bytes());
}

pub(super) fn wr_u32(mem: &mut [u8], at: usize, v: u32) {
    wr(mem, at, &v.to_ne_bytes());
}

/// `at..at+len` when it fits in `mem_len`.
pub(super) fn span(at: usize, len: usize, mem_len: usize) -> Option<Range<usize>> {
    let end = at.checked_add(len)?;
    (end <= mem_len).then_some(at..end)
}
