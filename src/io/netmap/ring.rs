//! One `struct netmap_ring` read and written in place ([`RingView`]), and the lookup of a
//! port's TX and RX ring through its `netmap_if` (`locate_rings`). Everything is checked
//! against the region it is given, so this file is safe code and runs without the kernel
//! module.

use super::layout::{off, rd_i64, rd_u16, rd_u32, span, wr_u16, wr_u32};
use std::ops::Range;

/// One `struct netmap_ring` inside a region: the constants the kernel set at registration
/// (validated once), plus accessors for head/cur/tail and the slots. Every accessor is
/// bounds-checked against the slice it is given, so a corrupted ring can cost frames but
/// never memory safety or a panic.
#[derive(Debug, Clone, Copy)]
pub struct RingView {
    /// Offset of the ring in its region.
    pub(super) base: usize,
    pub(super) num_slots: u32,
    pub(super) buf_size: u32,
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
