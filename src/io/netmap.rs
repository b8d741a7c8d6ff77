//! netmap back-end: one instance per core, bound to one hardware ring pair (`NR_REG_ONE_NIC`,
//! ring = core) on every configured port. See netmap(4) and `sys/net/netmap.h`.
//!
//! Layers, so that everything except the system calls runs in CI without the kernel module:
//! - byte accessors and [`RingView`]: `struct netmap_ring` / `netmap_slot` / `netmap_if` read
//!   and written at their netmap.h offsets inside a `&[u8]` region (safe code, bounds-checked);
//! - [`RingEngine`]: the RX walk, zero-copy forwarding and TX, generic over [`RingKernel`]
//!   (the region memory plus the sync calls);
//! - `SysKernel`: `/dev/netmap`, `NIOCREGIF`, `mmap`, `NIOCRXSYNC`/`poll`, `NIOCTXSYNC`; the
//!   only place with `unsafe`.
//!
//! Modes: inline forwards what the engine marks `Forward` to the peer port (buffer swap when
//! both ports share a netmap allocator, else a copy). Monitor never transmits: a port in netmap
//! mode is cut off from the host stack, so monitor mode expects a SPAN/TAP feed.
//! `IoStats::kernel_drops` stays 0: netmap rings carry no drop counter (NIC drops are in the
//! driver's ethtool statistics).
//!
//! netmap_sys 0.1.4 is used for the ioctl numbers, `nmreq` and the flag values only. Its
//! `NETMAP_API` (11) is refused by current kernels (netmap_legacy.c: "Minimum supported API is
//! 14"), its `NETMAP_BUF_IDX` adds `buf_ofs` where netmap.h subtracts it, and its
//! `nm_ring_space` measures from `head` with unsigned arithmetic that wraps; so the helpers
//! here are our own.
#![allow(unsafe_code)]

use super::{Action, BatchHandler, IoMode, IoStats, PacketIo, PortId, peer};
use crate::proto::wire::LinkType;
use std::io;
use std::ops::Range;

/// Most frames handed to the engine in one batch; the per-batch scratch arrays live on the
/// stack at this size, so a batch never allocates.
pub const MAX_BATCH: usize = 256;

/// The API version we speak. netmap_legacy.c rejects `nr_version < 14` on NIOCREGIF.
const NETMAP_API: u32 = 14;

/// netmap.h `NS_BUF_CHANGED`: "must be set whenever buf_idx is changed".
const NS_BUF_CHANGED: u16 = 0x0001;
/// netmap.h `NS_MOREFRAG`: set on all but the last slot of a multi-slot packet.
const NS_MOREFRAG: u16 = 0x0020;

/// Byte offsets of the shared structures, from netmap.h (API 14, LP64). The `layout_*` tests
/// check them against netmap_sys's `#[repr(C)]` definitions with `offset_of!`.
mod off {
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

fn rd_u16(mem: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes(rd(mem, at))
}

fn rd_u32(mem: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(rd(mem, at))
}

fn rd_i64(mem: &[u8], at: usize) -> i64 {
    i64::from_ne_bytes(rd(mem, at))
}

fn wr(mem: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = at
        .checked_add(bytes.len())
        .and_then(|end| mem.get_mut(at..end))
    {
        dst.copy_from_slice(bytes);
    }
}

fn wr_u16(mem: &mut [u8], at: usize, v: u16) {
    wr(mem, at, &v.to_ne_bytes());
}

fn wr_u32(mem: &mut [u8], at: usize, v: u32) {
    wr(mem, at, &v.to_ne_bytes());
}

/// `at..at+len` when it fits in `mem_len`.
fn span(at: usize, len: usize, mem_len: usize) -> Option<Range<usize>> {
    let end = at.checked_add(len)?;
    (end <= mem_len).then_some(at..end)
}

// ---- one ring ----

/// One `struct netmap_ring` inside a region: the constants the kernel set at registration
/// (validated once), plus accessors for head/cur/tail and the slots. Every accessor is
/// bounds-checked against the slice it is given, so a corrupted ring can cost frames but
/// never memory safety or a panic.
#[derive(Debug, Clone, Copy)]
pub struct RingView {
    /// Offset of the ring in its region.
    base: usize,
    num_slots: u32,
    buf_size: u32,
    /// Offset in the region of buffer 0 (`ring + buf_ofs`, netmap.h `NETMAP_BUF`).
    buf_base: usize,
}

impl RingView {
    /// Reads and checks the ring at `base`: its slot array fits in `mem`, it has room for at
    /// least one frame (netmap keeps one slot empty), and its buffer area starts inside `mem`.
    pub fn new(mem: &[u8], base: usize) -> Result<RingView, String> {
        if span(base, off::RING_SLOTS, mem.len()).is_none() {
            return Err(format!(
                "ring header at {base} lies outside the mapped region"
            ));
        }
        let num_slots = rd_u32(mem, base + off::RING_NUM_SLOTS);
        let buf_size = rd_u32(mem, base + off::RING_BUF_SIZE);
        if num_slots < 2 {
            return Err(format!("ring at {base} has {num_slots} slots"));
        }
        let slots_len = (num_slots as usize).checked_mul(off::SLOT_SIZE);
        if slots_len
            .and_then(|l| span(base + off::RING_SLOTS, l, mem.len()))
            .is_none()
        {
            return Err(format!(
                "the {num_slots} slots of the ring at {base} overrun the mapped region"
            ));
        }
        if buf_size == 0 || buf_size > u32::from(u16::MAX) + 1 {
            return Err(format!("ring at {base} has buffer size {buf_size}"));
        }
        let buf_ofs = rd_i64(mem, base + off::RING_BUF_OFS);
        let buf_base = i64::try_from(base)
            .ok()
            .and_then(|b| b.checked_add(buf_ofs))
            .and_then(|b| usize::try_from(b).ok())
            .filter(|&b| b < mem.len())
            .ok_or_else(|| format!("ring at {base} has buffers at offset {buf_ofs}, outside"))?;
        Ok(RingView {
            base,
            num_slots,
            buf_size,
            buf_base,
        })
    }

    pub fn num_slots(&self) -> u32 {
        self.num_slots
    }

    pub fn buf_size(&self) -> u32 {
        self.buf_size
    }

    pub fn ringid(&self, mem: &[u8]) -> u16 {
        rd_u16(mem, self.base + off::RING_RINGID)
    }

    pub fn dir(&self, mem: &[u8]) -> u16 {
        rd_u16(mem, self.base + off::RING_DIR)
    }

    pub fn head(&self, mem: &[u8]) -> u32 {
        rd_u32(mem, self.base + off::RING_HEAD)
    }

    pub fn cur(&self, mem: &[u8]) -> u32 {
        rd_u32(mem, self.base + off::RING_CUR)
    }

    /// The first slot the kernel owns. Written by the kernel during a sync only; callers must
    /// check it is below `num_slots` before walking to it.
    pub fn tail(&self, mem: &[u8]) -> u32 {
        rd_u32(mem, self.base + off::RING_TAIL)
    }

    /// Hands every slot before `head` back to the kernel (netmap(4): "head and cur must be
    /// incremented as slots are consumed"). cur = head: we always want a wakeup as soon as one
    /// more frame (RX) or free slot (TX) exists.
    pub fn publish(&self, mem: &mut [u8], head: u32) {
        wr_u32(mem, self.base + off::RING_HEAD, head);
        wr_u32(mem, self.base + off::RING_CUR, head);
    }

    /// netmap.h `nm_ring_next`.
    pub fn next(&self, i: u32) -> u32 {
        if i.saturating_add(1) >= self.num_slots {
            0
        } else {
            i + 1
        }
    }

    /// Slots from `from` up to (not including) `to`, going round the ring. Both must be below
    /// `num_slots`. With `from` = cur and `to` = tail this is netmap.h `nm_ring_space`: frames
    /// waiting on an RX ring, free slots on a TX ring.
    pub fn distance(&self, from: u32, to: u32) -> u32 {
        if to >= from {
            to - from
        } else {
            (self.num_slots - from) + to
        }
    }

    fn slot(&self, i: u32) -> usize {
        self.base + off::RING_SLOTS + (i as usize) * off::SLOT_SIZE
    }

    pub fn slot_buf_idx(&self, mem: &[u8], i: u32) -> u32 {
        rd_u32(mem, self.slot(i) + off::SLOT_BUF_IDX)
    }

    pub fn slot_len(&self, mem: &[u8], i: u32) -> u16 {
        rd_u16(mem, self.slot(i) + off::SLOT_LEN)
    }

    pub fn slot_flags(&self, mem: &[u8], i: u32) -> u16 {
        rd_u16(mem, self.slot(i) + off::SLOT_FLAGS)
    }

    pub fn set_slot(&self, mem: &mut [u8], i: u32, buf_idx: u32, len: u16, flags: u16) {
        let s = self.slot(i);
        wr_u32(mem, s + off::SLOT_BUF_IDX, buf_idx);
        wr_u16(mem, s + off::SLOT_LEN, len);
        wr_u16(mem, s + off::SLOT_FLAGS, flags);
    }

    /// Where `len` bytes of buffer `buf_idx` live in a region of `mem_len` bytes, or `None`
    /// when the index or the length does not fit (netmap.h `NETMAP_BUF`: ring + buf_ofs +
    /// index * nr_buf_size).
    pub fn buffer(&self, buf_idx: u32, len: usize, mem_len: usize) -> Option<Range<usize>> {
        if len > self.buf_size as usize {
            return None;
        }
        let at = (buf_idx as usize)
            .checked_mul(self.buf_size as usize)?
            .checked_add(self.buf_base)?;
        span(at, len, mem_len)
    }
}

// ---- the netmap_if ----

/// Finds the TX and RX ring `ring` of the port whose `struct netmap_if` is at `nifp`
/// (netmap.h `NETMAP_TXRING` / `NETMAP_RXRING`): ring_ofs[] lists NIC TX rings, host TX
/// rings, NIC RX rings, host RX rings.
pub fn locate_rings(mem: &[u8], nifp: usize, ring: u32) -> Result<(RingView, RingView), String> {
    if span(nifp, off::IF_RING_OFS, mem.len()).is_none() {
        return Err(format!(
            "netmap_if at {nifp} lies outside the mapped region"
        ));
    }
    let tx_rings = rd_u32(mem, nifp + off::IF_TX_RINGS);
    let rx_rings = rd_u32(mem, nifp + off::IF_RX_RINGS);
    if ring >= tx_rings || ring >= rx_rings {
        return Err(format!(
            "ring {ring} does not exist: the port has {tx_rings} TX and {rx_rings} RX rings"
        ));
    }
    let ring_at = |index: u64| -> Result<RingView, String> {
        let entry = usize::try_from(index)
            .ok()
            .and_then(|i| i.checked_mul(8))
            .and_then(|o| o.checked_add(nifp + off::IF_RING_OFS))
            .filter(|&e| span(e, 8, mem.len()).is_some())
            .ok_or_else(|| format!("ring_ofs[{index}] lies outside the mapped region"))?;
        let ofs = rd_i64(mem, entry);
        let base = i64::try_from(nifp)
            .ok()
            .and_then(|n| n.checked_add(ofs))
            .and_then(|b| usize::try_from(b).ok())
            .ok_or_else(|| format!("ring_ofs[{index}] = {ofs} points outside the region"))?;
        RingView::new(mem, base)
    };
    let tx = ring_at(u64::from(ring))?;
    if tx.ringid(mem) != ring as u16 {
        return Err(format!("TX ring {ring} reports ring id {}", tx.ringid(mem)));
    }
    // A zero host ring count is either an old netmap.h (spare field, one host ring) or a port
    // without host rings: take the one whose ring id and direction say it is our RX ring.
    let host_tx = rd_u32(mem, nifp + off::IF_HOST_TX_RINGS);
    let candidates: &[u32] = if host_tx == 0 { &[1, 0] } else { &[host_tx] };
    let mut last_err = String::new();
    for &host in candidates {
        let index = u64::from(ring) + u64::from(tx_rings) + u64::from(host);
        match ring_at(index) {
            // netmap.h documents dir as 0 = tx, 1 = rx, but netmap_mem2.c stores kring->tx
            // (NR_TX = 1): only rely on the two directions differing.
            Ok(rx) if rx.ringid(mem) == ring as u16 && rx.dir(mem) != tx.dir(mem) => {
                return Ok((tx, rx));
            }
            Ok(rx) => {
                last_err = format!(
                    "ring_ofs[{index}] is ring {} direction {}, not RX ring {ring}",
                    rx.ringid(mem),
                    rx.dir(mem)
                )
            }
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

// ---- the kernel side, as the engine sees it ----

/// The shared memory regions and the sync calls. `SysKernel` implements it with mmap and
/// ioctls; the tests with an in-memory fake.
pub trait RingKernel {
    /// Region `i` (one per netmap memory allocator), empty when there is none.
    fn region(&self, i: usize) -> &[u8];
    fn region_mut(&mut self, i: usize) -> &mut [u8];
    /// Two different regions at once, to copy between ports that do not share an allocator.
    fn region_pair_mut(&mut self, a: usize, b: usize) -> Option<(&mut [u8], &mut [u8])>;
    /// Returns consumed RX slots to the kernel and learns new frames on every port's RX ring
    /// (NIOCRXSYNC), first waiting up to `timeout_ms` for one (poll) when it is not 0.
    fn rx_sync(&mut self, timeout_ms: i32) -> io::Result<()>;
    /// Transmits the slots published on `port`'s TX ring and reclaims completed ones
    /// (NIOCTXSYNC).
    fn tx_sync(&mut self, port: usize) -> io::Result<()>;
}

/// Where a port's `netmap_if` is.
#[derive(Debug, Clone)]
pub struct PortAttach {
    pub name: String,
    /// Region index: ports that share a region share the netmap allocator, so buffers can be
    /// swapped between them.
    pub region: usize,
    /// Offset of the port's `struct netmap_if` in its region (`nr_offset`).
    pub nifp: usize,
}

#[derive(Debug, Clone, Copy)]
struct PortRings {
    region: usize,
    rx: RingView,
    tx: RingView,
    /// Our copy of rx head/cur: the walk starts here, never from shared memory.
    rx_head: u32,
    tx_head: u32,
    /// TX slots published since the last NIOCTXSYNC.
    tx_dirty: bool,
    /// Already asked the kernel to reclaim TX slots during this batch.
    tx_reclaimed: bool,
    /// Inside a multi-slot (NS_MOREFRAG) packet, whose slots are all dropped.
    in_chain: bool,
}

/// Counters beyond [`IoStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingCounters {
    /// RX slots not handed to the engine: length 0 or above the buffer size, buffer index
    /// outside the region, or part of a multi-slot packet (jumbo frames are not supported).
    pub rx_bad_slots: u64,
    /// Syncs after which the kernel's tail was outside the ring (should never happen).
    pub ring_errors: u64,
}

/// The ring logic of one core over all its ports.
pub struct RingEngine<K> {
    kernel: K,
    ports: Vec<PortRings>,
    mode: IoMode,
    stats: IoStats,
    counters: RingCounters,
    /// The port the next batch starts with, so one busy port cannot starve the others.
    next_port: usize,
}

impl<K: RingKernel> RingEngine<K> {
    /// Locates ring `ring` of every port and takes over head/cur as the kernel left them.
    pub fn attach(
        kernel: K,
        ports: &[PortAttach],
        ring: u32,
        mode: IoMode,
    ) -> Result<Self, (String, String)> {
        if ports.len() > usize::from(PortId::MAX) + 1 {
            return Err(("*".into(), format!("{} ports, at most 256", ports.len())));
        }
        let mut rings = Vec::with_capacity(ports.len());
        for p in ports {
            let mem = kernel.region(p.region);
            let (tx, rx) =
                locate_rings(mem, p.nifp, ring).map_err(|detail| (p.name.clone(), detail))?;
            let rx_head = rx.head(mem);
            let tx_head = tx.head(mem);
            if rx_head >= rx.num_slots || tx_head >= tx.num_slots {
                return Err((p.name.clone(), "ring head outside the ring".into()));
            }
            rings.push(PortRings {
                region: p.region,
                rx,
                tx,
                rx_head,
                tx_head,
                tx_dirty: false,
                tx_reclaimed: false,
                in_chain: false,
            });
        }
        Ok(RingEngine {
            kernel,
            ports: rings,
            mode,
            stats: IoStats::default(),
            counters: RingCounters::default(),
            next_port: 0,
        })
    }

    pub fn stats(&self) -> IoStats {
        self.stats
    }

    pub fn counters(&self) -> RingCounters {
        self.counters
    }

    /// The RX tail of `p`, or `None` (counted) when the kernel left it outside the ring.
    fn rx_tail(&self, p: usize) -> Option<u32> {
        let port = self.ports.get(p)?;
        let tail = port.rx.tail(self.kernel.region(port.region));
        (tail < port.rx.num_slots).then_some(tail)
    }

    /// Free TX slots on `p`: from our head to the kernel's tail.
    fn tx_free(&mut self, p: usize) -> u32 {
        let Some(port) = self.ports.get(p) else {
            return 0;
        };
        let tail = port.tx.tail(self.kernel.region(port.region));
        if tail >= port.tx.num_slots {
            self.counters.ring_errors += 1;
            return 0;
        }
        port.tx.distance(port.tx_head, tail)
    }

    /// Whether `p` has a free TX slot, asking the kernel once per batch to complete pending
    /// transmissions when the ring looks full.
    fn tx_room(&mut self, p: usize) -> bool {
        if self.tx_free(p) > 0 {
            return true;
        }
        let Some(port) = self.ports.get_mut(p) else {
            return false;
        };
        if port.tx_reclaimed {
            return false;
        }
        port.tx_reclaimed = true;
        port.tx_dirty = false;
        let (region, tx, head) = (port.region, port.tx, port.tx_head);
        tx.publish(self.kernel.region_mut(region), head);
        if self.kernel.tx_sync(p).is_err() {
            return false;
        }
        self.tx_free(p) > 0
    }

    /// Sends the frame in RX slot `rx_slot` of port `src` out of the peer port: a buffer swap
    /// when both share an allocator (netmap(4), "zero-copy forwarding"), else a copy.
    fn forward(&mut self, src: usize, rx_slot: u32) {
        let dst = usize::from(peer(src as PortId));
        if dst >= self.ports.len() || !self.tx_room(dst) {
            self.stats.tx_errors += 1;
            return;
        }
        let (s, d) = (self.ports[src], self.ports[dst]);
        let tx_slot = d.tx_head;
        let len = if s.region == d.region {
            let mem = self.kernel.region_mut(s.region);
            let rx_idx = s.rx.slot_buf_idx(mem, rx_slot);
            let len = s.rx.slot_len(mem, rx_slot);
            let tx_idx = d.tx.slot_buf_idx(mem, tx_slot);
            // The RX ring gets the TX slot's buffer: it must be a whole, valid buffer.
            if d.tx.buffer(rx_idx, usize::from(len), mem.len()).is_none()
                || s.rx
                    .buffer(tx_idx, s.rx.buf_size as usize, mem.len())
                    .is_none()
            {
                self.stats.tx_errors += 1;
                return;
            }
            d.tx.set_slot(mem, tx_slot, rx_idx, len, NS_BUF_CHANGED);
            let rx_flags = s.rx.slot_flags(mem, rx_slot) | NS_BUF_CHANGED;
            s.rx.set_slot(mem, rx_slot, tx_idx, len, rx_flags);
            len
        } else {
            let Some((a, b)) = self.kernel.region_pair_mut(s.region, d.region) else {
                self.stats.tx_errors += 1;
                return;
            };
            let len = s.rx.slot_len(a, rx_slot);
            let from =
                s.rx.buffer(s.rx.slot_buf_idx(a, rx_slot), usize::from(len), a.len());
            let tx_idx = d.tx.slot_buf_idx(b, tx_slot);
            let to = d.tx.buffer(tx_idx, usize::from(len), b.len());
            let (Some(from), Some(to)) = (from, to) else {
                self.stats.tx_errors += 1;
                return;
            };
            b[to].copy_from_slice(&a[from]);
            d.tx.set_slot(b, tx_slot, tx_idx, len, 0);
            len
        };
        let port = &mut self.ports[dst];
        port.tx_head = d.tx.next(tx_slot);
        port.tx_dirty = true;
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += u64::from(len);
    }

    /// Publishes head/cur of every ring and pushes pending TX slots to the kernel.
    fn publish_and_flush(&mut self) -> io::Result<()> {
        let mut first_err = None;
        for p in 0..self.ports.len() {
            let port = self.ports[p];
            let mem = self.kernel.region_mut(port.region);
            port.rx.publish(mem, port.rx_head);
            port.tx.publish(mem, port.tx_head);
            self.ports[p].tx_reclaimed = false;
            if port.tx_dirty {
                self.ports[p].tx_dirty = false;
                if let Err(e) = self.kernel.tx_sync(p) {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    pub fn rx_batch(
        &mut self,
        max: usize,
        timeout_ms: i32,
        handler: &mut BatchHandler<'_>,
    ) -> io::Result<usize> {
        let max = max.min(MAX_BATCH);
        let nports = self.ports.len();
        if max == 0 || nports == 0 {
            return Ok(0);
        }
        // Frames already waiting (a previous batch stopped at `max`) must not wait for poll.
        let pending =
            (0..nports).any(|p| self.rx_tail(p).is_some_and(|t| t != self.ports[p].rx_head));
        self.kernel.rx_sync(if pending { 0 } else { timeout_ms })?;
        let now_ns = wall_clock_ns();

        let mut frames: [&[u8]; MAX_BATCH] = [&[]; MAX_BATCH];
        let mut from: [PortId; MAX_BATCH] = [0; MAX_BATCH];
        let mut slots = [0u32; MAX_BATCH];
        let mut actions = [Action::Drop; MAX_BATCH];
        let mut count = 0usize;
        let first = self.next_port % nports;
        self.next_port = (first + 1) % nports;
        let kernel = &self.kernel;
        for k in 0..nports {
            let p = (first + k) % nports;
            let port = &mut self.ports[p];
            let mem = kernel.region(port.region);
            let tail = port.rx.tail(mem);
            if tail >= port.rx.num_slots {
                self.counters.ring_errors += 1;
                continue;
            }
            let mut i = port.rx_head;
            while i != tail && count < max {
                let slot = i;
                i = port.rx.next(i);
                let flags = port.rx.slot_flags(mem, slot);
                let more = flags & NS_MOREFRAG != 0;
                if port.in_chain || more {
                    port.in_chain = more;
                    self.counters.rx_bad_slots += 1;
                    continue;
                }
                let len = usize::from(port.rx.slot_len(mem, slot));
                let buf = port.rx.slot_buf_idx(mem, slot);
                match port.rx.buffer(buf, len, mem.len()) {
                    Some(range) if len > 0 => {
                        frames[count] = &mem[range];
                        from[count] = p as PortId;
                        slots[count] = slot;
                        count += 1;
                        self.stats.rx_frames += 1;
                        self.stats.rx_bytes += len as u64;
                    }
                    _ => self.counters.rx_bad_slots += 1,
                }
            }
            port.rx_head = i;
        }
        if count > 0 {
            handler(
                &frames[..count],
                &from[..count],
                now_ns,
                &mut actions[..count],
            );
        }
        if self.mode == IoMode::Inline {
            for k in 0..count {
                if actions[k] == Action::Forward {
                    self.forward(usize::from(from[k]), slots[k]);
                }
            }
        }
        self.publish_and_flush()?;
        Ok(count)
    }

    /// Copies `frame` into the next TX slot of `port` and transmits it.
    pub fn send(&mut self, port: PortId, frame: &[u8]) -> io::Result<()> {
        let p = usize::from(port);
        let Some(&pr) = self.ports.get(p) else {
            self.stats.tx_errors += 1;
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no port {port}"),
            ));
        };
        let Ok(len) = u16::try_from(frame.len()) else {
            self.stats.tx_errors += 1;
            return Err(too_long(frame.len(), pr.tx.buf_size));
        };
        if frame.is_empty() || frame.len() > pr.tx.buf_size as usize {
            self.stats.tx_errors += 1;
            return Err(too_long(frame.len(), pr.tx.buf_size));
        }
        if !self.tx_room(p) {
            self.ports[p].tx_reclaimed = false;
            self.stats.tx_errors += 1;
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("port {port}: TX ring full"),
            ));
        }
        self.ports[p].tx_reclaimed = false;
        let pr = self.ports[p];
        let mem = self.kernel.region_mut(pr.region);
        let slot = pr.tx_head;
        let idx = pr.tx.slot_buf_idx(mem, slot);
        let Some(to) = pr.tx.buffer(idx, frame.len(), mem.len()) else {
            self.stats.tx_errors += 1;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("port {port}: TX slot {slot} has an invalid buffer {idx}"),
            ));
        };
        mem[to].copy_from_slice(frame);
        pr.tx.set_slot(mem, slot, idx, len, 0);
        let head = pr.tx.next(slot);
        pr.tx.publish(mem, head);
        self.ports[p].tx_head = head;
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += u64::from(len);
        self.kernel.tx_sync(p)
    }
}

fn too_long(len: usize, buf_size: u32) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("frame of {len} bytes: a netmap buffer holds 1 to {buf_size}"),
    )
}

/// The batch clock: wall time, like the capture timestamps replay uses.
fn wall_clock_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

// ---- configuration, errors, the real back-end ----

#[derive(Debug, Clone)]
pub struct NetmapConfig {
    /// Interface names; inline pairs are 0<->1, 2<->3, ...
    pub interfaces: Vec<String>,
    pub mode: IoMode,
    /// This instance's core: it binds hardware ring `core` of every interface.
    pub core: usize,
    /// Cores in total: every interface must have exactly this many ring pairs.
    pub cores: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum NetmapError {
    #[error(
        "netmap is not loaded on this machine (/dev/netmap: {source}); \
         use backend = \"afpacket\" (works on any Linux interface), or replay a capture file"
    )]
    Unavailable { source: io::Error },
    #[error("netmap: {interface}: {op} failed: {source}")]
    Sys {
        interface: String,
        op: &'static str,
        source: io::Error,
    },
    #[error("netmap: {interface}: {detail}")]
    Port { interface: String, detail: String },
    #[error("netmap configuration: {0}")]
    Config(String),
}

/// A `MAP_SHARED` mapping of one netmap allocator's memory.
struct Mapping {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
    mem_id: u16,
}

impl Mapping {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr..ptr+len` is a live mapping owned by self (unmapped only in Drop).
        // netmap(4): the kernel touches rings and the slots/buffers in [head, tail) only during
        // our own syscalls, which take `&mut SysKernel` and so cannot overlap this borrow; the
        // NIC writes only to kernel-owned buffers, which this code does not read. This is the
        // contract every shared-memory mapping (e.g. memmap2 over MAP_SHARED) relies on.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; `&mut self` makes this the only live slice of the mapping.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping was created by mmap with this address and length and no slice of
        // it outlives `self` (slices borrow from self).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

struct SysKernel {
    names: Vec<String>,
    fds: Vec<std::os::fd::OwnedFd>,
    maps: Vec<Mapping>,
    pollfds: Vec<libc::pollfd>,
}

// SAFETY: the mappings and descriptors are owned by this value alone (no aliases are kept
// elsewhere), so moving it to the core thread that uses it is sound.
unsafe impl Send for SysKernel {}

impl SysKernel {
    fn ioctl(&self, port: usize, request: libc::c_ulong, op: &'static str) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let Some(fd) = self.fds.get(port) else {
            return Ok(());
        };
        // The kernel reads head/cur/slots during the call: make our plain stores visible to
        // it first (netmap(4): the ring is only accessed by the kernel during syscalls).
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
        // SAFETY: NIOCRXSYNC/NIOCTXSYNC take no argument; the fd is open and registered.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request as _) };
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
        if rc < 0 {
            let e = io::Error::last_os_error();
            let name = self.names.get(port).map_or("?", String::as_str);
            return Err(io::Error::new(e.kind(), format!("{name}: {op}: {e}")));
        }
        Ok(())
    }
}

impl RingKernel for SysKernel {
    fn region(&self, i: usize) -> &[u8] {
        self.maps.get(i).map_or(&[], Mapping::bytes)
    }

    fn region_mut(&mut self, i: usize) -> &mut [u8] {
        match self.maps.get_mut(i) {
            Some(m) => m.bytes_mut(),
            None => &mut [],
        }
    }

    fn region_pair_mut(&mut self, a: usize, b: usize) -> Option<(&mut [u8], &mut [u8])> {
        // Different allocators are different mmaps, so the slices do not overlap.
        let [x, y] = self.maps.get_disjoint_mut([a, b]).ok()?;
        Some((x.bytes_mut(), y.bytes_mut()))
    }

    fn rx_sync(&mut self, timeout_ms: i32) -> io::Result<()> {
        if timeout_ms == 0 {
            for p in 0..self.fds.len() {
                self.ioctl(p, sys::NIOCRXSYNC as libc::c_ulong, "NIOCRXSYNC")?;
            }
            return Ok(());
        }
        for pfd in &mut self.pollfds {
            pfd.revents = 0;
        }
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
        // SAFETY: `pollfds` is a live array of `len` pollfd structs for fds we own. poll() on a
        // netmap fd syncs its rings (netmap(4)), like NIOCRXSYNC but blocking.
        let rc = unsafe {
            libc::poll(
                self.pollfds.as_mut_ptr(),
                self.pollfds.len() as libc::nfds_t,
                timeout_ms,
            )
        };
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
        if rc < 0 {
            let e = io::Error::last_os_error();
            // A signal is a wakeup with no frames, not an error of the back-end.
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(());
            }
            return Err(io::Error::new(e.kind(), format!("netmap poll: {e}")));
        }
        Ok(())
    }

    fn tx_sync(&mut self, port: usize) -> io::Result<()> {
        self.ioctl(port, sys::NIOCTXSYNC as libc::c_ulong, "NIOCTXSYNC")
    }
}

/// The netmap back-end of one core.
pub struct Netmap {
    engine: RingEngine<SysKernel>,
}

fn open_dev() -> io::Result<std::os::fd::OwnedFd> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/netmap")?;
    Ok(f.into())
}

/// ENOENT: no device node; ENXIO/ENODEV: a node without the module behind it.
fn is_not_loaded(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT) | Some(libc::ENXIO) | Some(libc::ENODEV)
    )
}

fn validate(cfg: &NetmapConfig) -> Result<(), NetmapError> {
    let err = |m: String| Err(NetmapError::Config(m));
    if cfg.interfaces.is_empty() {
        return err("no interfaces".into());
    }
    if cfg.interfaces.len() > usize::from(PortId::MAX) + 1 {
        return err(format!("{} interfaces, at most 256", cfg.interfaces.len()));
    }
    if cfg.mode == IoMode::Inline && !cfg.interfaces.len().is_multiple_of(2) {
        return err(format!(
            "inline mode pairs interfaces 0<->1, 2<->3, ...: {} is an odd count",
            cfg.interfaces.len()
        ));
    }
    if cfg.cores == 0 || cfg.core >= cfg.cores {
        return err(format!("core {} of {} cores", cfg.core, cfg.cores));
    }
    // The legacy nr_ringid carries the ring in its low 12 bits (NETMAP_RING_MASK).
    if cfg.core > sys::NETMAP_RING_MASK as usize {
        return err(format!("core {} is above netmap's ring limit", cfg.core));
    }
    for name in &cfg.interfaces {
        if name.is_empty() || name.len() >= sys::IFNAMSIZ || name.contains('\0') {
            return err(format!(
                "interface name {name:?} is not a valid interface name"
            ));
        }
    }
    Ok(())
}

/// The few netmap definitions the runtime needs, as netmap_sys 0.1.4 declares them
/// (netmap.h / netmap_legacy.h, API 14 layouts). netmap_sys itself cannot be linked into the
/// release binary: its crate-type includes `dylib`, which rustc refuses to combine with
/// `panic = "abort"`. A test (`sys_matches_netmap_sys`) asserts these equal netmap_sys's.
pub mod sys {
    pub const IFNAMSIZ: usize = 16;
    pub const NETMAP_RING_MASK: i32 = 0x0fff;
    pub const NR_REG_ONE_NIC: u32 = 4;
    /// `_IOWR('i', 146, struct nmreq)`.
    pub const NIOCREGIF: libc::c_ulong = 3_225_184_658;
    /// `_IO('i', 148)`.
    pub const NIOCTXSYNC: libc::c_uint = 27_028;
    /// `_IO('i', 149)`.
    pub const NIOCRXSYNC: libc::c_uint = 27_029;

    /// The legacy registration request (netmap_legacy.h `struct nmreq`, 60 bytes).
    #[repr(C)]
    #[derive(Debug, Clone, Copy)]
    pub struct nmreq {
        pub nr_name: [libc::c_char; IFNAMSIZ],
        pub nr_version: u32,
        pub nr_offset: u32,
        pub nr_memsize: u32,
        pub nr_tx_slots: u32,
        pub nr_rx_slots: u32,
        pub nr_tx_rings: u16,
        pub nr_rx_rings: u16,
        pub nr_ringid: u16,
        pub nr_cmd: u16,
        pub nr_arg1: u16,
        pub nr_arg2: u16,
        pub nr_arg3: u32,
        pub nr_flags: u32,
        pub spare2: [u32; 1],
    }

    const _: () = assert!(core::mem::size_of::<nmreq>() == 60);
}

/// NIOCREGIF with the legacy request, ring `core` only (netmap_legacy.h `struct nmreq`).
fn register(fd: &std::os::fd::OwnedFd, name: &str, core: usize) -> Result<sys::nmreq, NetmapError> {
    use std::os::fd::AsRawFd;
    // SAFETY: nmreq is plain old data (integers and a char array); all-zero is its documented
    // initial state ("bzero(&req, sizeof(req))" in netmap(4)).
    let mut req: sys::nmreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.nr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    req.nr_version = NETMAP_API;
    req.nr_flags = sys::NR_REG_ONE_NIC;
    req.nr_ringid = core as u16;
    // SAFETY: NIOCREGIF is _IOWR('i', 146, struct nmreq): the kernel reads and writes exactly
    // one nmreq, which `req` is, and it lives across the call.
    let rc = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            sys::NIOCREGIF as _,
            &mut req as *mut sys::nmreq,
        )
    };
    if rc < 0 {
        return Err(NetmapError::Sys {
            interface: name.to_string(),
            op: "NIOCREGIF",
            source: io::Error::last_os_error(),
        });
    }
    Ok(req)
}

fn map(fd: &std::os::fd::OwnedFd, name: &str, len: usize) -> Result<Mapping, NetmapError> {
    use std::os::fd::AsRawFd;
    // SAFETY: a fresh shared mapping of the netmap fd (netmap(4): mmap(0, nr_memsize, ...));
    // the result is checked against MAP_FAILED before use.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(NetmapError::Sys {
            interface: name.to_string(),
            op: "mmap",
            source: io::Error::last_os_error(),
        });
    }
    let ptr = std::ptr::NonNull::new(ptr.cast::<u8>()).ok_or_else(|| NetmapError::Sys {
        interface: name.to_string(),
        op: "mmap",
        source: io::Error::other("null mapping"),
    })?;
    Ok(Mapping {
        ptr,
        len,
        mem_id: 0,
    })
}

impl Netmap {
    /// Registers ring `cfg.core` of every interface. Fails with [`NetmapError::Unavailable`]
    /// when the netmap module is not loaded.
    pub fn open(cfg: &NetmapConfig) -> Result<Netmap, NetmapError> {
        let probe = open_dev().map_err(|source| {
            if is_not_loaded(&source) {
                NetmapError::Unavailable { source }
            } else {
                NetmapError::Sys {
                    interface: cfg.interfaces.first().cloned().unwrap_or_default(),
                    op: "open /dev/netmap",
                    source,
                }
            }
        })?;
        validate(cfg)?;
        let mut kernel = SysKernel {
            names: cfg.interfaces.clone(),
            fds: Vec::new(),
            maps: Vec::new(),
            pollfds: Vec::new(),
        };
        let mut attach = Vec::with_capacity(cfg.interfaces.len());
        let mut probe = Some(probe);
        for name in &cfg.interfaces {
            let fd = match probe.take() {
                Some(fd) => fd,
                None => open_dev().map_err(|source| NetmapError::Sys {
                    interface: name.clone(),
                    op: "open /dev/netmap",
                    source,
                })?,
            };
            let req = register(&fd, name, cfg.core)?;
            if usize::from(req.nr_rx_rings) != cfg.cores
                || usize::from(req.nr_tx_rings) != cfg.cores
            {
                // Rings nobody reads would drop their share of the traffic silently.
                return Err(NetmapError::Port {
                    interface: name.clone(),
                    detail: format!(
                        "{} RX / {} TX rings but {} cores: set the queue count to the core \
                         count (ethtool -L {name} combined {})",
                        req.nr_rx_rings, req.nr_tx_rings, cfg.cores, cfg.cores
                    ),
                });
            }
            // Ports of one allocator (nr_arg2 = mem id) share one mapping, as nm_open's
            // NM_OPEN_NO_MMAP does: then buffer indices are valid on both and can be swapped.
            let region = match kernel.maps.iter().position(|m| m.mem_id == req.nr_arg2) {
                Some(r) => r,
                None => {
                    let mut m = map(&fd, name, req.nr_memsize as usize)?;
                    m.mem_id = req.nr_arg2;
                    kernel.maps.push(m);
                    kernel.maps.len() - 1
                }
            };
            {
                use std::os::fd::AsRawFd;
                kernel.pollfds.push(libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            kernel.fds.push(fd);
            attach.push(PortAttach {
                name: name.clone(),
                region,
                nifp: req.nr_offset as usize,
            });
        }
        let engine = RingEngine::attach(kernel, &attach, cfg.core as u32, cfg.mode)
            .map_err(|(interface, detail)| NetmapError::Port { interface, detail })?;
        Ok(Netmap { engine })
    }

    pub fn counters(&self) -> RingCounters {
        self.engine.counters()
    }
}

impl PacketIo for Netmap {
    fn link_type(&self) -> LinkType {
        LinkType::Ethernet
    }

    fn rx_batch(
        &mut self,
        max: usize,
        timeout_ms: i32,
        handler: &mut BatchHandler<'_>,
    ) -> io::Result<usize> {
        self.engine.rx_batch(max, timeout_ms, handler)
    }

    fn send(&mut self, port: PortId, frame: &[u8]) -> io::Result<()> {
        self.engine.send(port, frame)
    }

    fn stats(&self) -> IoStats {
        self.engine.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::mem::offset_of;

    // ---- an in-memory netmap: the region as the kernel lays it out, and a "kernel" ----

    /// What the fake NIC puts into the next RX slot.
    enum Inject {
        Frame(Vec<u8>),
        /// A slot with these fields, whatever its buffer holds.
        Raw {
            len: u16,
            flags: u16,
            buf_idx: Option<u32>,
        },
    }

    struct FakeRing {
        base: usize,
        n: u32,
        /// The kernel's ring state (netmap_kern.h `nr_hwcur`, `nr_hwtail`).
        hwcur: u32,
        hwtail: u32,
    }

    struct FakePort {
        region: usize,
        rx: FakeRing,
        tx: FakeRing,
        wire_in: VecDeque<Inject>,
        wire_out: Vec<Vec<u8>>,
        /// The NIC completes no transmission while set.
        tx_stalled: bool,
    }

    struct FakeNetmap {
        regions: Vec<Vec<u8>>,
        ports: Vec<FakePort>,
        /// Every ring (base, slots) per region, for the buffer-ownership check.
        all_rings: Vec<Vec<(usize, u32)>>,
        buf_size: u32,
        /// Everything the real kernel would reject (nm_*sync_prologue) or that breaks our own
        /// head == cur invariant.
        violations: Vec<String>,
        rx_syncs: usize,
        tx_syncs: usize,
        last_timeout: i32,
    }

    #[derive(Clone, Copy)]
    struct Spec {
        ports: usize,
        rings: u32,
        core: u32,
        slots: u32,
        buf_size: u32,
        /// All ports in one allocator (zero copy), or one allocator per port.
        shared: bool,
        /// netmap_if from a netmap.h without ni_host_tx_rings (the field reads 0).
        old_if: bool,
    }

    const SPEC: Spec = Spec {
        ports: 2,
        rings: 2,
        core: 1,
        slots: 8,
        buf_size: 256,
        shared: true,
        old_if: false,
    };

    fn align(x: usize, a: usize) -> usize {
        x.div_ceil(a) * a
    }

    fn within(from: u32, x: u32, to: u32, n: u32) -> bool {
        let d = |a: u32, b: u32| (b + n - a) % n;
        x < n && d(from, x) <= d(from, to)
    }

    impl FakeNetmap {
        fn new(spec: Spec) -> (FakeNetmap, Vec<PortAttach>) {
            let groups: Vec<Vec<usize>> = if spec.shared {
                vec![(0..spec.ports).collect()]
            } else {
                (0..spec.ports).map(|p| vec![p]).collect()
            };
            let nrings = 2 * spec.rings as usize + 2; // + one host ring each way
            let mut fake = FakeNetmap {
                regions: Vec::new(),
                ports: Vec::new(),
                all_rings: Vec::new(),
                buf_size: spec.buf_size,
                violations: Vec::new(),
                rx_syncs: 0,
                tx_syncs: 0,
                last_timeout: -2,
            };
            let mut ports: Vec<Option<FakePort>> = (0..spec.ports).map(|_| None).collect();
            let mut attach: Vec<Option<PortAttach>> = (0..spec.ports).map(|_| None).collect();
            for (r, group) in groups.iter().enumerate() {
                // Nothing at offset 0, so a forgotten nr_offset shows.
                let mut at = 64;
                let mut nifps = Vec::new();
                for _ in group {
                    nifps.push(at);
                    at = align(at + off::IF_RING_OFS + 8 * nrings, 64);
                }
                let mut ring_bases = Vec::new();
                for _ in group {
                    let mut bases = Vec::new();
                    for _ in 0..nrings {
                        at = align(at, 128);
                        bases.push(at);
                        at += off::RING_SLOTS + off::SLOT_SIZE * spec.slots as usize;
                    }
                    ring_bases.push(bases);
                }
                let pool = align(at, 64);
                let nbufs = 2 + group.len() * nrings * spec.slots as usize + 8;
                let mut mem = vec![0u8; pool + nbufs * spec.buf_size as usize];
                let mut next_buf = 2u32; // netmap reserves buffers 0 and 1
                let mut rings_here = Vec::new();
                for (g, &p) in group.iter().enumerate() {
                    let nifp = nifps[g];
                    wr(&mut mem, nifp, format!("eth{p}").as_bytes());
                    wr_u32(&mut mem, nifp + 16, NETMAP_API);
                    wr_u32(&mut mem, nifp + off::IF_TX_RINGS, spec.rings);
                    wr_u32(&mut mem, nifp + off::IF_RX_RINGS, spec.rings);
                    let host = if spec.old_if { 0 } else { 1 };
                    wr_u32(&mut mem, nifp + off::IF_HOST_TX_RINGS, host);
                    wr_u32(&mut mem, nifp + off::IF_HOST_TX_RINGS + 4, host);
                    for (k, &base) in ring_bases[g].iter().enumerate() {
                        let ofs = base as i64 - nifp as i64;
                        wr(
                            &mut mem,
                            nifp + off::IF_RING_OFS + 8 * k,
                            &ofs.to_ne_bytes(),
                        );
                        let is_tx = k <= spec.rings as usize;
                        let id = if is_tx {
                            k
                        } else {
                            k - spec.rings as usize - 1
                        };
                        let buf_ofs = pool as i64 - base as i64;
                        wr(&mut mem, base + off::RING_BUF_OFS, &buf_ofs.to_ne_bytes());
                        wr_u32(&mut mem, base + off::RING_NUM_SLOTS, spec.slots);
                        wr_u32(&mut mem, base + off::RING_BUF_SIZE, spec.buf_size);
                        wr_u16(&mut mem, base + off::RING_RINGID, id as u16);
                        // netmap_mem2.c stores kring->tx: TX = 1, RX = 0.
                        wr_u16(&mut mem, base + off::RING_DIR, u16::from(is_tx));
                        let tail = if is_tx { spec.slots - 1 } else { 0 };
                        wr_u32(&mut mem, base + off::RING_TAIL, tail);
                        for i in 0..spec.slots as usize {
                            let s = base + off::RING_SLOTS + i * off::SLOT_SIZE;
                            wr_u32(&mut mem, s, next_buf);
                            next_buf += 1;
                        }
                        rings_here.push((base, spec.slots));
                    }
                    let ring = |k: usize, tail: u32| FakeRing {
                        base: ring_bases[g][k],
                        n: spec.slots,
                        hwcur: 0,
                        hwtail: tail,
                    };
                    ports[p] = Some(FakePort {
                        region: r,
                        tx: ring(spec.core as usize, spec.slots - 1),
                        rx: ring(spec.rings as usize + 1 + spec.core as usize, 0),
                        wire_in: VecDeque::new(),
                        wire_out: Vec::new(),
                        tx_stalled: false,
                    });
                    attach[p] = Some(PortAttach {
                        name: format!("eth{p}"),
                        region: r,
                        nifp,
                    });
                }
                fake.regions.push(mem);
                fake.all_rings.push(rings_here);
            }
            fake.ports = ports.into_iter().flatten().collect();
            (fake, attach.into_iter().flatten().collect())
        }

        fn slot_at(ring: &FakeRing, i: u32) -> usize {
            ring.base + off::RING_SLOTS + i as usize * off::SLOT_SIZE
        }

        fn buf_at(&self, idx: u32) -> usize {
            // Every ring of a region has the same buffer pool.
            let FakeRing { base, .. } = self.ports[0].rx;
            let mem = &self.regions[self.ports[0].region];
            (base as i64 + rd_i64(mem, base)) as usize + idx as usize * self.buf_size as usize
        }

        fn kernel_rx(&mut self, p: usize) {
            let buf_size = self.buf_size;
            let pool = |mem: &[u8], base: usize| (base as i64 + rd_i64(mem, base)) as usize;
            let port = &mut self.ports[p];
            let mem = &mut self.regions[port.region];
            let ring = &mut port.rx;
            let head = rd_u32(mem, ring.base + off::RING_HEAD);
            let cur = rd_u32(mem, ring.base + off::RING_CUR);
            if !within(ring.hwcur, head, ring.hwtail, ring.n) || cur != head {
                self.violations.push(format!(
                    "rxsync port {p}: head {head} cur {cur} outside [{}, {}]",
                    ring.hwcur, ring.hwtail
                ));
                return;
            }
            let mut i = ring.hwcur;
            while i != head {
                let s = Self::slot_at(ring, i);
                let flags = rd_u16(mem, s + off::SLOT_FLAGS);
                wr_u16(mem, s + off::SLOT_FLAGS, flags & !NS_BUF_CHANGED);
                i = (i + 1) % ring.n;
            }
            ring.hwcur = head;
            while (ring.hwtail + 1) % ring.n != ring.hwcur {
                let Some(inj) = port.wire_in.pop_front() else {
                    break;
                };
                let s = Self::slot_at(ring, ring.hwtail);
                match inj {
                    Inject::Frame(f) => {
                        let idx = rd_u32(mem, s);
                        let at = pool(mem, ring.base) + idx as usize * buf_size as usize;
                        // A slot a test pointed at a bogus buffer stays empty.
                        if let Some(dst) = mem.get_mut(at..at + f.len()) {
                            dst.copy_from_slice(&f);
                        }
                        wr_u16(mem, s + off::SLOT_LEN, f.len() as u16);
                        wr_u16(mem, s + off::SLOT_FLAGS, 0);
                    }
                    Inject::Raw {
                        len,
                        flags,
                        buf_idx,
                    } => {
                        wr_u16(mem, s + off::SLOT_LEN, len);
                        wr_u16(mem, s + off::SLOT_FLAGS, flags);
                        if let Some(b) = buf_idx {
                            wr_u32(mem, s, b);
                        }
                    }
                }
                ring.hwtail = (ring.hwtail + 1) % ring.n;
            }
            wr_u32(mem, ring.base + off::RING_TAIL, ring.hwtail);
        }

        fn kernel_tx(&mut self, p: usize) {
            let buf_size = self.buf_size as usize;
            let pool = {
                let port = &self.ports[p];
                let mem = &self.regions[port.region];
                (port.tx.base as i64 + rd_i64(mem, port.tx.base)) as usize
            };
            let port = &mut self.ports[p];
            let mem = &mut self.regions[port.region];
            let ring = &mut port.tx;
            let head = rd_u32(mem, ring.base + off::RING_HEAD);
            let cur = rd_u32(mem, ring.base + off::RING_CUR);
            if !within(ring.hwcur, head, ring.hwtail, ring.n) || cur != head {
                self.violations.push(format!(
                    "txsync port {p}: head {head} cur {cur} outside [{}, {}]",
                    ring.hwcur, ring.hwtail
                ));
                return;
            }
            if port.tx_stalled {
                return;
            }
            let mut i = ring.hwcur;
            while i != head {
                let s = Self::slot_at(ring, i);
                let idx = rd_u32(mem, s) as usize;
                let len = rd_u16(mem, s + off::SLOT_LEN) as usize;
                let flags = rd_u16(mem, s + off::SLOT_FLAGS);
                if len == 0 || len > buf_size {
                    self.violations
                        .push(format!("port {p} TX slot {i} len {len}"));
                } else {
                    let at = pool + idx * buf_size;
                    match mem.get(at..at + len) {
                        Some(b) => port.wire_out.push(b.to_vec()),
                        None => self
                            .violations
                            .push(format!("port {p} TX slot {i} buffer {idx}")),
                    }
                }
                wr_u16(mem, s + off::SLOT_FLAGS, flags & !NS_BUF_CHANGED);
                i = (i + 1) % ring.n;
            }
            ring.hwcur = head;
            // Every transmission completes at once: all but one slot are free again.
            ring.hwtail = (head + ring.n - 1) % ring.n;
            wr_u32(mem, ring.base + off::RING_TAIL, ring.hwtail);
        }

        /// Zero-copy forwarding moves buffers between rings: none may be lost or doubled.
        fn assert_buffers_unique(&self) {
            for (r, rings) in self.all_rings.iter().enumerate() {
                let mem = &self.regions[r];
                let mut seen: Vec<u32> = rings
                    .iter()
                    .flat_map(|&(base, n)| {
                        (0..n as usize)
                            .map(move |i| rd_u32(mem, base + off::RING_SLOTS + i * off::SLOT_SIZE))
                    })
                    .collect();
                let total = seen.len();
                seen.sort_unstable();
                seen.dedup();
                assert_eq!(
                    seen.len(),
                    total,
                    "a buffer index appears twice in region {r}"
                );
            }
        }
    }

    impl RingKernel for FakeNetmap {
        fn region(&self, i: usize) -> &[u8] {
            self.regions.get(i).map_or(&[], Vec::as_slice)
        }

        fn region_mut(&mut self, i: usize) -> &mut [u8] {
            match self.regions.get_mut(i) {
                Some(r) => r.as_mut_slice(),
                None => &mut [],
            }
        }

        fn region_pair_mut(&mut self, a: usize, b: usize) -> Option<(&mut [u8], &mut [u8])> {
            let [x, y] = self.regions.get_disjoint_mut([a, b]).ok()?;
            Some((x.as_mut_slice(), y.as_mut_slice()))
        }

        fn rx_sync(&mut self, timeout_ms: i32) -> io::Result<()> {
            self.rx_syncs += 1;
            self.last_timeout = timeout_ms;
            for p in 0..self.ports.len() {
                self.kernel_rx(p);
            }
            Ok(())
        }

        fn tx_sync(&mut self, port: usize) -> io::Result<()> {
            self.tx_syncs += 1;
            if port < self.ports.len() {
                self.kernel_tx(port);
            }
            Ok(())
        }
    }

    fn engine(spec: Spec, mode: IoMode) -> RingEngine<FakeNetmap> {
        let (fake, attach) = FakeNetmap::new(spec);
        match RingEngine::attach(fake, &attach, spec.core, mode) {
            Ok(e) => e,
            Err((port, detail)) => panic!("attach {port}: {detail}"),
        }
    }

    fn frame(tag: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| tag.wrapping_add(i as u8)).collect()
    }

    fn inject(e: &mut RingEngine<FakeNetmap>, port: usize, frames: &[Vec<u8>]) {
        for f in frames {
            e.kernel.ports[port]
                .wire_in
                .push_back(Inject::Frame(f.clone()));
        }
    }

    /// One batch; every frame gets `verdict`. Returns what the handler saw.
    fn batch(
        e: &mut RingEngine<FakeNetmap>,
        max: usize,
        verdict: Action,
    ) -> Vec<(PortId, Vec<u8>)> {
        let mut seen = Vec::new();
        let n = e
            .rx_batch(max, 5, &mut |frames, ports, _now, actions| {
                for ((f, p), a) in frames.iter().zip(ports).zip(actions.iter_mut()) {
                    seen.push((*p, f.to_vec()));
                    *a = verdict;
                }
            })
            .expect("rx_batch");
        assert_eq!(n, seen.len());
        check_invariants(e);
        seen
    }

    /// Our side of netmap(4)'s rules, read back from shared memory after every batch.
    fn check_invariants(e: &RingEngine<FakeNetmap>) {
        assert!(e.kernel.violations.is_empty(), "{:?}", e.kernel.violations);
        for (p, port) in e.ports.iter().enumerate() {
            let mem = e.kernel.region(port.region);
            for (ring, shadow) in [(port.rx, port.rx_head), (port.tx, port.tx_head)] {
                assert_eq!(ring.head(mem), ring.cur(mem), "port {p}: head != cur");
                assert_eq!(ring.head(mem), shadow, "port {p}: published head");
                assert!(ring.head(mem) < ring.num_slots && ring.tail(mem) < ring.num_slots);
            }
            let k = &e.kernel.ports[p];
            assert!(within(k.rx.hwcur, port.rx_head, k.rx.hwtail, k.rx.n));
            assert!(within(k.tx.hwcur, port.tx_head, k.tx.hwtail, k.tx.n));
        }
        e.kernel.assert_buffers_unique();
    }

    fn tx_slot_fields(e: &RingEngine<FakeNetmap>, port: usize, slot: u32) -> (u32, u16, u16) {
        let p = e.ports[port];
        let mem = e.kernel.region(p.region);
        (
            p.tx.slot_buf_idx(mem, slot),
            p.tx.slot_len(mem, slot),
            p.tx.slot_flags(mem, slot),
        )
    }

    // ---- layout ----

    #[test]
    fn sys_matches_netmap_sys() {
        use netmap_sys::netmap as ns;
        assert_eq!(sys::IFNAMSIZ, ns::IFNAMSIZ);
        assert_eq!(sys::NETMAP_RING_MASK, ns::NETMAP_RING_MASK);
        assert_eq!(sys::NR_REG_ONE_NIC, ns::NR_REG_ONE_NIC);
        assert_eq!(sys::NIOCREGIF, ns::NIOCREGIF);
        assert_eq!(sys::NIOCTXSYNC, ns::NIOCTXSYNC);
        assert_eq!(sys::NIOCRXSYNC, ns::NIOCRXSYNC);
        assert_eq!(size_of::<sys::nmreq>(), size_of::<ns::nmreq>());
        assert_eq!(
            std::mem::offset_of!(sys::nmreq, nr_version),
            std::mem::offset_of!(ns::nmreq, nr_version)
        );
        assert_eq!(
            std::mem::offset_of!(sys::nmreq, nr_ringid),
            std::mem::offset_of!(ns::nmreq, nr_ringid)
        );
        assert_eq!(
            std::mem::offset_of!(sys::nmreq, nr_flags),
            std::mem::offset_of!(ns::nmreq, nr_flags)
        );
        assert_eq!(
            std::mem::offset_of!(sys::nmreq, nr_arg2),
            std::mem::offset_of!(ns::nmreq, nr_arg2)
        );
    }

    #[test]
    fn layout_matches_netmap_sys() {
        use netmap_sys::netmap::{netmap_if, netmap_ring, netmap_slot, nmreq};
        assert_eq!(size_of::<netmap_slot>(), off::SLOT_SIZE);
        assert_eq!(offset_of!(netmap_slot, buf_idx), off::SLOT_BUF_IDX);
        assert_eq!(offset_of!(netmap_slot, len), off::SLOT_LEN);
        assert_eq!(offset_of!(netmap_slot, flags), off::SLOT_FLAGS);
        assert_eq!(offset_of!(netmap_slot, ptr), 8);

        assert_eq!(offset_of!(netmap_ring, buf_ofs), off::RING_BUF_OFS);
        assert_eq!(offset_of!(netmap_ring, num_slots), off::RING_NUM_SLOTS);
        assert_eq!(offset_of!(netmap_ring, nr_buf_size), off::RING_BUF_SIZE);
        assert_eq!(offset_of!(netmap_ring, ringid), off::RING_RINGID);
        assert_eq!(offset_of!(netmap_ring, dir), off::RING_DIR);
        assert_eq!(offset_of!(netmap_ring, head), off::RING_HEAD);
        assert_eq!(offset_of!(netmap_ring, cur), off::RING_CUR);
        assert_eq!(offset_of!(netmap_ring, tail), off::RING_TAIL);
        assert_eq!(offset_of!(netmap_ring, flags), 32);
        assert_eq!(offset_of!(netmap_ring, ts), 40);
        assert_eq!(offset_of!(netmap_ring, sem), 128);
        assert_eq!(offset_of!(netmap_ring, slot), off::RING_SLOTS);

        assert_eq!(offset_of!(netmap_if, ni_tx_rings), off::IF_TX_RINGS);
        assert_eq!(offset_of!(netmap_if, ni_rx_rings), off::IF_RX_RINGS);
        assert_eq!(offset_of!(netmap_if, ni_spare1), off::IF_HOST_TX_RINGS);
        assert_eq!(offset_of!(netmap_if, ring_ofs), off::IF_RING_OFS);

        // netmap_legacy.h: struct nmreq is 60 bytes; NIOCREGIF = _IOWR('i', 146, nmreq).
        assert_eq!(size_of::<nmreq>(), 60);
        let iowr: libc::c_ulong = (3 << 30) | (60 << 16) | (u64::from(b'i') << 8) | 146;
        assert_eq!(netmap_sys::netmap::NIOCREGIF, iowr);
        assert_eq!(netmap_sys::netmap::NIOCTXSYNC, (u32::from(b'i') << 8) | 148);
        assert_eq!(netmap_sys::netmap::NIOCRXSYNC, (u32::from(b'i') << 8) | 149);
        // The crate's API number is the one kernels refuse; we send our own.
        assert_eq!(netmap_sys::netmap::NETMAP_API, 11);
        assert_eq!(NETMAP_API, 14);
        assert_eq!(netmap_sys::netmap::NR_REG_ONE_NIC, 4);
        assert_eq!(netmap_sys::netmap::NS_BUF_CHANGED, NS_BUF_CHANGED);
        assert_eq!(netmap_sys::netmap::NS_MOREFRAG, NS_MOREFRAG);
    }

    #[test]
    fn ring_arithmetic_wraps() {
        let (fake, attach) = FakeNetmap::new(SPEC);
        let (_, rx) = locate_rings(&fake.regions[0], attach[0].nifp, SPEC.core).unwrap();
        assert_eq!(rx.next(0), 1);
        assert_eq!(rx.next(7), 0);
        assert_eq!(rx.next(u32::MAX), 0);
        assert_eq!(rx.distance(2, 5), 3);
        assert_eq!(rx.distance(6, 1), 3);
        assert_eq!(rx.distance(4, 4), 0);
        // netmap.h NETMAP_BUF: ring + buf_ofs + idx * nr_buf_size, bounded by the region.
        let len = fake.regions[0].len();
        let b = rx.buffer(3, 10, len).unwrap();
        assert_eq!(b.start, fake.buf_at(3));
        assert!(rx.buffer(3, 257, len).is_none());
        assert!(rx.buffer(u32::MAX, 1, len).is_none());
    }

    #[test]
    fn locates_rings_with_old_and_new_netmap_if() {
        for old_if in [false, true] {
            let spec = Spec { old_if, ..SPEC };
            let (fake, attach) = FakeNetmap::new(spec);
            let mem = &fake.regions[0];
            for ring in 0..spec.rings {
                let (tx, rx) = locate_rings(mem, attach[1].nifp, ring).unwrap();
                assert_eq!((tx.ringid(mem), rx.ringid(mem)), (ring as u16, ring as u16));
                assert_eq!((tx.dir(mem), rx.dir(mem)), (1, 0));
                assert_eq!(tx.tail(mem), spec.slots - 1);
                assert_eq!(rx.tail(mem), 0);
            }
            let e = locate_rings(mem, attach[0].nifp, spec.rings).unwrap_err();
            assert!(e.contains("does not exist"), "{e}");
        }
    }

    #[test]
    fn corrupted_netmap_if_is_an_error_not_a_panic() {
        let (fake, attach) = FakeNetmap::new(SPEC);
        let nifp = attach[0].nifp;
        let mut bad = fake.regions[0].clone();
        wr(
            &mut bad,
            nifp + off::IF_RING_OFS + 8,
            &(i64::MAX).to_ne_bytes(),
        );
        assert!(locate_rings(&bad, nifp, 1).is_err());
        let mut bad = fake.regions[0].clone();
        wr(
            &mut bad,
            nifp + off::IF_RING_OFS + 8,
            &(-(1i64 << 40)).to_ne_bytes(),
        );
        assert!(locate_rings(&bad, nifp, 1).is_err());
        assert!(locate_rings(&fake.regions[0], usize::MAX - 3, 0).is_err());
        assert!(locate_rings(&[], 0, 0).is_err());
        // A ring whose slots or buffers run past the region.
        let mut bad = fake.regions[0].clone();
        let (tx, _) = locate_rings(&bad, nifp, 1).unwrap();
        wr_u32(&mut bad, tx.base + off::RING_NUM_SLOTS, u32::MAX);
        assert!(locate_rings(&bad, nifp, 1).is_err());
        let mut bad = fake.regions[0].clone();
        wr(&mut bad, tx.base, &(i64::MIN).to_ne_bytes());
        assert!(locate_rings(&bad, nifp, 1).is_err());
    }

    // ---- receive and forward ----

    #[test]
    fn receives_a_batch() {
        let mut e = engine(SPEC, IoMode::Monitor);
        let frames: Vec<_> = (0..5).map(|i| frame(i, 60 + usize::from(i))).collect();
        inject(&mut e, 1, &frames);
        let seen = batch(&mut e, 32, Action::Drop);
        assert_eq!(seen.len(), 5);
        for (i, (p, f)) in seen.iter().enumerate() {
            assert_eq!((*p, f), (1, &frames[i]));
        }
        let s = e.stats();
        assert_eq!((s.rx_frames, s.rx_bytes), (5, (60..65).sum::<u64>()));
        // The slots go back to the kernel on the next sync; nothing more arrives.
        assert!(batch(&mut e, 32, Action::Drop).is_empty());
        assert_eq!(e.kernel.ports[1].rx.hwcur, 5);
        // With nothing waiting, the engine may block in poll for the caller's timeout.
        assert_eq!(e.kernel.last_timeout, 5);
    }

    #[test]
    fn forwarding_swaps_buffers_with_the_peer_port() {
        let mut e = engine(SPEC, IoMode::Inline);
        let frames: Vec<_> = (0..3).map(|i| frame(10 * i, 100)).collect();
        inject(&mut e, 0, &frames);
        // Learn the frames, then note which buffers hold them before the engine swaps them.
        e.kernel.rx_sync(0).unwrap();
        let (rx, region) = (e.ports[0].rx, e.ports[0].region);
        let rx_bufs: Vec<u32> = (0..3)
            .map(|i| rx.slot_buf_idx(e.kernel.region(region), i))
            .collect();
        let tx_bufs: Vec<u32> = (0..3).map(|i| tx_slot_fields(&e, 1, i).0).collect();
        let seen = batch(&mut e, 32, Action::Forward);
        assert_eq!(seen.len(), 3);
        assert_eq!(e.kernel.ports[1].wire_out, frames);
        let mem = e.kernel.region(region);
        for i in 0..3 {
            let (idx, len, _) = tx_slot_fields(&e, 1, i);
            assert_eq!(
                (idx, len),
                (rx_bufs[i as usize], 100),
                "TX slot {i} took the RX buffer"
            );
            assert_eq!(
                rx.slot_buf_idx(mem, i),
                tx_bufs[i as usize],
                "RX slot {i} got the TX one"
            );
        }
        let s = e.stats();
        assert_eq!((s.tx_frames, s.tx_bytes, s.tx_errors), (3, 300, 0));
        assert!(e.kernel.ports[0].wire_out.is_empty());
    }

    #[test]
    fn zero_copy_sets_ns_buf_changed_before_the_sync() {
        let mut e = engine(SPEC, IoMode::Inline);
        e.kernel.ports[1].tx_stalled = true; // leave the flags as the engine wrote them
        inject(&mut e, 0, &[frame(1, 64)]);
        batch(&mut e, 32, Action::Forward);
        let (_, len, flags) = tx_slot_fields(&e, 1, 0);
        assert_eq!((len, flags & NS_BUF_CHANGED), (64, NS_BUF_CHANGED));
        let p = e.ports[0];
        assert_eq!(
            p.rx.slot_flags(e.kernel.region(p.region), 0) & NS_BUF_CHANGED,
            NS_BUF_CHANGED
        );
    }

    #[test]
    fn forwarding_copies_between_allocators() {
        let mut e = engine(
            Spec {
                shared: false,
                ..SPEC
            },
            IoMode::Inline,
        );
        assert_ne!(e.ports[0].region, e.ports[1].region);
        let a: Vec<_> = (0..3).map(|i| frame(i, 80)).collect();
        let b: Vec<_> = (0..2).map(|i| frame(100 + i, 90)).collect();
        inject(&mut e, 0, &a);
        inject(&mut e, 1, &b);
        let seen = batch(&mut e, 32, Action::Forward);
        assert_eq!(seen.len(), 5);
        assert_eq!(e.kernel.ports[1].wire_out, a);
        assert_eq!(e.kernel.ports[0].wire_out, b);
        assert_eq!(e.stats().tx_errors, 0);
    }

    #[test]
    fn dropped_frames_and_monitor_mode_send_nothing() {
        for (mode, verdict) in [
            (IoMode::Inline, Action::Drop),
            (IoMode::Monitor, Action::Forward),
        ] {
            let mut e = engine(SPEC, mode);
            inject(&mut e, 0, &[frame(1, 64), frame(2, 64)]);
            assert_eq!(batch(&mut e, 32, verdict).len(), 2);
            assert!(e.kernel.ports[1].wire_out.is_empty());
            assert_eq!(e.stats().tx_frames, 0);
            assert_eq!(e.kernel.tx_syncs, 0);
        }
    }

    #[test]
    fn rings_wrap_around() {
        let mut e = engine(SPEC, IoMode::Inline);
        let mut sent = Vec::new();
        // 8 slots: 7 usable at once; 5 rounds of 5 cross the end of both rings several times.
        for round in 0..5u8 {
            let frames: Vec<_> = (0..5)
                .map(|i| frame(round * 16 + i, 64 + usize::from(i)))
                .collect();
            inject(&mut e, 0, &frames);
            let seen = batch(&mut e, 32, Action::Forward);
            assert_eq!(
                seen.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>(),
                frames
            );
            sent.extend(frames);
        }
        assert_eq!(e.kernel.ports[1].wire_out, sent);
        assert_eq!(e.ports[0].rx_head, 25 % 8);
        assert_eq!(e.ports[1].tx_head, 25 % 8);
        assert_eq!(e.stats().tx_errors, 0);
    }

    #[test]
    fn full_tx_ring_counts_errors_and_never_overwrites() {
        let mut e = engine(SPEC, IoMode::Inline);
        e.kernel.ports[1].tx_stalled = true;
        // 7 frames fill the 7 usable TX slots.
        let first: Vec<_> = (0..7).map(|i| frame(i, 70)).collect();
        inject(&mut e, 0, &first);
        batch(&mut e, 32, Action::Forward);
        assert_eq!(e.stats().tx_errors, 0);
        let before: Vec<_> = (0..8).map(|i| tx_slot_fields(&e, 1, i)).collect();
        // 3 more: no room, even after asking the kernel to reclaim.
        inject(
            &mut e,
            0,
            &(0..3).map(|i| frame(50 + i, 70)).collect::<Vec<_>>(),
        );
        batch(&mut e, 32, Action::Forward);
        let s = e.stats();
        assert_eq!((s.tx_frames, s.tx_errors), (7, 3));
        let after: Vec<_> = (0..8).map(|i| tx_slot_fields(&e, 1, i)).collect();
        assert_eq!(before, after, "a full ring was written");
        // The NIC recovers: exactly the first 7 leave, intact, and the ring is usable again.
        e.kernel.ports[1].tx_stalled = false;
        inject(&mut e, 0, &[frame(99, 70)]);
        batch(&mut e, 32, Action::Forward);
        let mut expect = first;
        expect.push(frame(99, 70));
        assert_eq!(e.kernel.ports[1].wire_out, expect);
        assert_eq!(e.stats().tx_errors, 3);
    }

    #[test]
    fn bad_slots_are_counted_not_delivered() {
        let mut e = engine(SPEC, IoMode::Inline);
        let q = &mut e.kernel.ports[0].wire_in;
        q.push_back(Inject::Frame(frame(1, 64)));
        q.push_back(Inject::Raw {
            len: 0,
            flags: 0,
            buf_idx: None,
        });
        q.push_back(Inject::Raw {
            len: 257, // buffer size is 256
            flags: 0,
            buf_idx: None,
        });
        q.push_back(Inject::Raw {
            len: 64,
            flags: 0,
            buf_idx: Some(u32::MAX),
        });
        q.push_back(Inject::Raw {
            len: u16::MAX,
            flags: 0,
            buf_idx: Some(100_000),
        });
        q.push_back(Inject::Frame(frame(2, 64)));
        let seen = batch(&mut e, 32, Action::Forward);
        assert_eq!(seen, vec![(0, frame(1, 64)), (0, frame(2, 64))]);
        assert_eq!(e.counters().rx_bad_slots, 4);
        assert_eq!(e.kernel.ports[1].wire_out, vec![frame(1, 64), frame(2, 64)]);
        let s = e.stats();
        assert_eq!((s.rx_frames, s.rx_bytes), (2, 128));
    }

    #[test]
    fn multi_slot_packets_are_dropped_whole() {
        let mut e = engine(SPEC, IoMode::Monitor);
        let q = &mut e.kernel.ports[0].wire_in;
        q.push_back(Inject::Frame(frame(1, 64)));
        for flags in [NS_MOREFRAG, NS_MOREFRAG, 0] {
            q.push_back(Inject::Raw {
                len: 200,
                flags,
                buf_idx: None,
            });
        }
        q.push_back(Inject::Frame(frame(2, 64)));
        let seen = batch(&mut e, 32, Action::Drop);
        assert_eq!(seen, vec![(0, frame(1, 64)), (0, frame(2, 64))]);
        assert_eq!(e.counters().rx_bad_slots, 3);
    }

    #[test]
    fn max_bounds_a_batch_and_ports_take_turns() {
        let mut e = engine(SPEC, IoMode::Monitor);
        inject(&mut e, 0, &(0..6).map(|i| frame(i, 60)).collect::<Vec<_>>());
        inject(
            &mut e,
            1,
            &(0..6).map(|i| frame(100 + i, 60)).collect::<Vec<_>>(),
        );
        let a = batch(&mut e, 4, Action::Drop);
        assert_eq!(a.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![0; 4]);
        // The next batch starts with port 1, and does not wait: frames are already waiting.
        let b = batch(&mut e, 4, Action::Drop);
        assert_eq!(b.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![1; 4]);
        assert_eq!(e.kernel.last_timeout, 0);
        let c = batch(&mut e, 256, Action::Drop);
        assert_eq!(c.len(), 4);
        assert_eq!(e.stats().rx_frames, 12);
        // A request above MAX_BATCH is capped, not an overflow.
        assert!(batch(&mut e, usize::MAX, Action::Drop).is_empty());
        assert!(batch(&mut e, 0, Action::Drop).is_empty());
    }

    #[test]
    fn a_tail_outside_the_ring_is_counted() {
        let (mut fake, attach) = FakeNetmap::new(SPEC);
        let (tx, rx) = locate_rings(&fake.regions[0], attach[0].nifp, SPEC.core).unwrap();
        wr_u32(&mut fake.regions[0], rx.base + off::RING_TAIL, 999);
        wr_u32(&mut fake.regions[0], tx.base + off::RING_TAIL, SPEC.slots);
        fake.ports.clear(); // a kernel that leaves the bad tails in place
        let mut e = RingEngine::attach(fake, &attach, SPEC.core, IoMode::Inline).unwrap();
        let n = e
            .rx_batch(8, 0, &mut |_, _, _, _| unreachable!("no frames"))
            .unwrap();
        assert_eq!((n, e.counters().ring_errors), (0, 1));
        let err = e.send(0, &frame(1, 60)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(e.counters().ring_errors > 1);
        assert_eq!(e.ports[0].tx_head, 0, "nothing written past a bad tail");
    }

    // ---- send ----

    #[test]
    fn send_copies_into_the_tx_ring() {
        let mut e = engine(SPEC, IoMode::Inline);
        e.send(1, &frame(7, 120)).unwrap();
        e.send(0, &frame(8, 60)).unwrap();
        assert_eq!(e.kernel.ports[1].wire_out, vec![frame(7, 120)]);
        assert_eq!(e.kernel.ports[0].wire_out, vec![frame(8, 60)]);
        let s = e.stats();
        assert_eq!((s.tx_frames, s.tx_bytes), (2, 180));
        check_invariants(&e);
    }

    #[test]
    fn send_refuses_what_does_not_fit() {
        let mut e = engine(SPEC, IoMode::Inline);
        let kind = |r: io::Result<()>| r.unwrap_err().kind();
        assert_eq!(kind(e.send(2, &frame(0, 60))), io::ErrorKind::InvalidInput);
        assert_eq!(kind(e.send(1, &[])), io::ErrorKind::InvalidInput);
        assert_eq!(kind(e.send(1, &frame(0, 257))), io::ErrorKind::InvalidInput);
        assert_eq!(
            kind(e.send(1, &vec![0; 70_000])),
            io::ErrorKind::InvalidInput
        );
        e.kernel.ports[1].tx_stalled = true;
        for i in 0..7 {
            e.send(1, &frame(i, 60)).unwrap();
        }
        let before: Vec<_> = (0..8).map(|i| tx_slot_fields(&e, 1, i)).collect();
        assert_eq!(kind(e.send(1, &frame(9, 60))), io::ErrorKind::WouldBlock);
        let after: Vec<_> = (0..8).map(|i| tx_slot_fields(&e, 1, i)).collect();
        assert_eq!(before, after);
        assert_eq!(e.stats().tx_errors, 5);
        check_invariants(&e);
        e.kernel.ports[1].tx_stalled = false;
        e.send(1, &frame(9, 60)).unwrap();
        assert_eq!(e.kernel.ports[1].wire_out.len(), 8);
    }

    // ---- robustness ----

    #[test]
    fn random_slot_contents_never_panic() {
        // A cheap xorshift: deterministic, no extra dependency.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for shared in [true, false] {
            let mut e = engine(Spec { shared, ..SPEC }, IoMode::Inline);
            for _ in 0..2000 {
                let port = (rnd() % 2) as usize;
                let r = rnd();
                let inj = if r % 3 == 0 {
                    Inject::Frame(frame(r as u8, 1 + (r >> 8) as usize % 256))
                } else {
                    Inject::Raw {
                        len: (r >> 8) as u16,
                        flags: (r >> 24) as u16 & (NS_MOREFRAG | NS_BUF_CHANGED),
                        buf_idx: (r % 5 == 0).then_some((r >> 32) as u32 % 300),
                    }
                };
                e.kernel.ports[port].wire_in.push_back(inj);
                if rnd() % 4 == 0 {
                    let verdict = if rnd() % 2 == 0 {
                        Action::Forward
                    } else {
                        Action::Drop
                    };
                    let _ = e.rx_batch((rnd() % 40) as usize, 0, &mut |_, _, _, a| a.fill(verdict));
                    let _ = e.send((rnd() % 3) as PortId, &frame(1, (rnd() % 300) as usize));
                    assert!(e.kernel.violations.is_empty(), "{:?}", e.kernel.violations);
                }
            }
            let s = e.stats();
            assert!(s.rx_frames > 0 && s.tx_frames > 0);
        }
    }

    // ---- the real back-end on this machine ----

    #[test]
    fn open_without_netmap_is_unavailable() {
        if std::path::Path::new("/dev/netmap").exists() {
            return; // a machine with the module: nothing to check here
        }
        let cfg = NetmapConfig {
            interfaces: vec!["eth0".into(), "eth1".into()],
            mode: IoMode::Inline,
            core: 0,
            cores: 1,
        };
        match Netmap::open(&cfg) {
            Err(e @ NetmapError::Unavailable { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("afpacket"), "{msg}");
                assert!(msg.contains("netmap is not loaded"), "{msg}");
            }
            Err(e) => panic!("expected Unavailable, got {e}"),
            Ok(_) => panic!("netmap opened without /dev/netmap"),
        }
    }

    #[test]
    fn configuration_errors_name_the_problem() {
        let cfg = |interfaces: &[&str], mode, core, cores| NetmapConfig {
            interfaces: interfaces.iter().map(|s| s.to_string()).collect(),
            mode,
            core,
            cores,
        };
        let msg = |c: NetmapConfig| validate(&c).unwrap_err().to_string();
        assert!(msg(cfg(&["a", "b", "c"], IoMode::Inline, 0, 1)).contains("odd"));
        assert!(validate(&cfg(&["a", "b", "c"], IoMode::Monitor, 0, 1)).is_ok());
        assert!(msg(cfg(&[], IoMode::Monitor, 0, 1)).contains("no interfaces"));
        assert!(msg(cfg(&["a", "b"], IoMode::Inline, 2, 2)).contains("core 2 of 2"));
        assert!(msg(cfg(&["a-very-long-interface"], IoMode::Monitor, 0, 1)).contains("a-very"));
        assert!(validate(&cfg(&["eth0", "eth1"], IoMode::Inline, 1, 2)).is_ok());
    }
}
