#![allow(unsafe_code)]
//! The mmapped `PACKET_TX_RING` of a port's transmit socket (packet_mmap.rst, "TX_RING"): the
//! engine copies a forwarded frame straight from the receive ring's block into a free slot,
//! marks it `TP_STATUS_SEND_REQUEST`, and one `sendto(fd, NULL, 0, MSG_DONTWAIT)` per port and
//! batch asks the kernel to send every requested slot. The kernel marks a slot
//! `TP_STATUS_AVAILABLE` again when it has freed the frame's buffer (after the driver sent it;
//! on veth after the peer copied it).
//!
//! Slots are filled strictly in ring order, the order the kernel walks them (`tpacket_snd`
//! stops at the first slot that is not a send request): a slot still in flight is never skipped
//! over, it makes the ring full. A full ring never blocks: the frame is refused and counted.
//!
//! Frame layout: TPACKET_V3 where the kernel accepts a V3 transmit ring (Linux >= 4.11), else
//! TPACKET_V2; in both the data starts at `TPACKET_ALIGN(sizeof header)` and the kernel reads
//! only `tp_len` (and `tp_next_offset`, which must be 0 in V3) besides the status word.

use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// Ethernet header; the kernel refuses shorter frames (`dev_validate_header`).
const ETH_HLEN: usize = 14;
/// The kernel allows 4 bytes above MTU + Ethernet header for an 802.1Q-tagged frame only
/// (`packet_extra_vlan_len_allowed`).
const VLAN_HLEN: usize = 4;

/// The `virtio_net_hdr` in front of each frame of a ring whose socket has PACKET_VNET_HDR.
const VNET_HDR_LEN: usize = 10;

/// How the kernel builds the outgoing buffer from a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TxFill {
    /// Around the slot's page (`tpacket_fill_skb` attaches it as a fragment): no copy on the
    /// way to a NIC's DMA. But a frame that enters the stack again (veth, any virtual device)
    /// must not keep pointing into the ring, so there the kernel copies it into a newly
    /// allocated page (`skb_orphan_frags`), which costs more than a plain copy.
    Pages,
    /// The kernel copies the frame into the buffer's head: each slot starts with a
    /// `virtio_net_hdr` (PACKET_VNET_HDR) whose `hdr_len` is the whole frame, the one way to
    /// make `tpacket_snd` copy more than the Ethernet header. Cheaper on virtual devices.
    Linear,
}

impl TxFill {
    fn room(self) -> usize {
        match self {
            TxFill::Pages => 0,
            TxFill::Linear => VNET_HDR_LEN,
        }
    }
}

/// The frame header layout of a transmit ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TxVersion {
    V3,
    V2,
}

impl TxVersion {
    fn status_off(self) -> usize {
        match self {
            TxVersion::V3 => offset_of!(libc::tpacket3_hdr, tp_status),
            TxVersion::V2 => offset_of!(libc::tpacket2_hdr, tp_status),
        }
    }

    fn len_off(self) -> usize {
        match self {
            TxVersion::V3 => offset_of!(libc::tpacket3_hdr, tp_len),
            TxVersion::V2 => offset_of!(libc::tpacket2_hdr, tp_len),
        }
    }

    fn snaplen_off(self) -> usize {
        match self {
            TxVersion::V3 => offset_of!(libc::tpacket3_hdr, tp_snaplen),
            TxVersion::V2 => offset_of!(libc::tpacket2_hdr, tp_snaplen),
        }
    }

    /// Where the frame's first byte goes: `tp_hdrlen - sizeof(sockaddr_ll)` in the kernel.
    pub(super) fn data_off(self) -> usize {
        let hdr = match self {
            TxVersion::V3 => size_of::<libc::tpacket3_hdr>(),
            TxVersion::V2 => size_of::<libc::tpacket2_hdr>(),
        };
        (hdr + 15) & !15
    }
}

/// Slot geometry of a transmit ring: `slots` slots of `slot_size` bytes, `per_block` of them
/// in each `block_size` block (slots never cross a block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TxGeometry {
    pub(super) slot_size: usize,
    pub(super) block_size: usize,
    pub(super) per_block: usize,
    pub(super) blocks: usize,
    pub(super) slots: usize,
}

impl TxGeometry {
    /// Slots big enough for a frame of `mtu` plus an Ethernet header and one VLAN tag, at
    /// least `wanted_slots` of them, in blocks of at least 64 KiB (a multiple of `page`).
    pub(super) fn new(version: TxVersion, mtu: usize, wanted_slots: usize, page: usize) -> Self {
        let slot_size =
            (version.data_off() + VNET_HDR_LEN + mtu + ETH_HLEN + VLAN_HLEN).div_ceil(64) * 64;
        let block_size = (64 * 1024).max(slot_size).div_ceil(page) * page;
        let per_block = block_size / slot_size;
        let blocks = wanted_slots.max(1).div_ceil(per_block);
        TxGeometry {
            slot_size,
            block_size,
            per_block,
            blocks,
            slots: blocks * per_block,
        }
    }

    fn slot_off(&self, slot: usize) -> usize {
        (slot / self.per_block) * self.block_size + (slot % self.per_block) * self.slot_size
    }
}

/// Why a frame did not go into the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TxRefused {
    /// The next slot is still in flight or waiting for the kernel.
    RingFull,
    /// Shorter than an Ethernet header, or longer than the MTU allows (or than a slot).
    BadLength,
}

impl TxRefused {
    pub(super) fn to_io(self, len: usize) -> io::Error {
        match self {
            TxRefused::RingFull => io::Error::new(
                io::ErrorKind::WouldBlock,
                "the transmit ring is full (frames still in flight)",
            ),
            TxRefused::BadLength => io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a frame of {len} bytes does not fit the interface MTU"),
            ),
        }
    }
}

/// One port's mapped transmit ring and where filling it stands.
pub(super) struct TxRing {
    base: NonNull<u8>,
    len: usize,
    version: TxVersion,
    fill: TxFill,
    geo: TxGeometry,
    /// The largest frame the kernel takes: min(slot data space, MTU + Ethernet header + tag).
    max_frame: usize,
    /// MTU + Ethernet header: above it only 802.1Q-tagged frames are allowed.
    max_untagged: usize,
    /// The next slot to fill (the kernel walks the same order).
    head: usize,
    /// Slots filled since the last kick.
    unkicked: usize,
    /// After a kick, the kernel left send requests behind (socket buffer full, or a driver
    /// refusal it retries): kick again even if no new frame comes.
    backlog: bool,
}

// SAFETY: the ring exclusively owns its mapping; moving it to another thread moves that
// ownership (the kernel side synchronises through the slots' status words only).
unsafe impl Send for TxRing {}

impl Drop for TxRing {
    fn drop(&mut self) {
        // SAFETY: `base` and `len` are exactly the mapping made in `TxRing::map`; nothing
        // borrowed from it outlives a method call.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

impl TxRing {
    /// Maps the transmit ring the socket was just given with `geo` (PACKET_TX_RING).
    pub(super) fn map(
        fd: &OwnedFd,
        version: TxVersion,
        fill: TxFill,
        geo: TxGeometry,
        mtu: usize,
    ) -> io::Result<TxRing> {
        let len = geo.block_size * geo.blocks;
        let base = super::ring::map_socket_ring(fd, len)?;
        Ok(TxRing {
            base,
            len,
            version,
            fill,
            geo,
            max_frame: (geo.slot_size - version.data_off() - fill.room())
                .min(mtu + ETH_HLEN + VLAN_HLEN),
            max_untagged: mtu + ETH_HLEN,
            head: 0,
            unkicked: 0,
            backlog: false,
        })
    }

    #[cfg(test)]
    pub(super) fn version(&self) -> TxVersion {
        self.version
    }

    #[cfg(test)]
    pub(super) fn fill(&self) -> TxFill {
        self.fill
    }

    #[cfg(test)]
    pub(super) fn slots(&self) -> usize {
        self.geo.slots
    }

    fn slot_ptr(&self, slot: usize) -> *mut u8 {
        debug_assert!(slot < self.geo.slots);
        // SAFETY: `slot < slots`, so the slot lies inside the mapping (slot_off + slot_size
        // <= blocks * block_size by construction of the geometry).
        unsafe { self.base.as_ptr().add(self.geo.slot_off(slot)) }
    }

    fn status_cell(&self, slot: usize) -> &AtomicU32 {
        // SAFETY: the status word is a 4-aligned u32 at a fixed offset of a 64-aligned slot
        // inside the mapping, shared with the kernel, which is why it is only accessed
        // atomically.
        unsafe {
            &*self
                .slot_ptr(slot)
                .add(self.version.status_off())
                .cast::<AtomicU32>()
        }
    }

    /// Acquire: once the kernel marked the slot available it no longer reads the frame.
    fn status(&self, slot: usize) -> u32 {
        self.status_cell(slot).load(Ordering::Acquire)
    }

    /// A slot the kernel is done with. The kernel may add timestamp bits to an available
    /// slot (`TP_STATUS_TS_*`, seen on veth before Linux 5.14), so only the busy bits count.
    fn is_free(status: u32) -> bool {
        status
            & (libc::TP_STATUS_SEND_REQUEST
                | libc::TP_STATUS_SENDING
                | libc::TP_STATUS_WRONG_FORMAT)
            == 0
    }

    /// Whether the kernel would take `frame` (`tpacket_snd`'s checks), so that it never has to
    /// skip a slot.
    fn fits(&self, frame: &[u8]) -> bool {
        let n = frame.len();
        n >= ETH_HLEN
            && n <= self.max_frame
            && (n <= self.max_untagged || frame[12..14] == [0x81, 0x00])
    }

    /// Copies `frame` into the next slot and requests its transmission (sent at the next
    /// [`kick`](Self::kick)). With `fd`, a full ring is kicked once before the frame is refused.
    pub(super) fn push(&mut self, fd: &OwnedFd, frame: &[u8]) -> Result<(), TxRefused> {
        if !self.fits(frame) {
            return Err(TxRefused::BadLength);
        }
        let slot = self.head;
        if !Self::is_free(self.status(slot)) {
            // The oldest slot is still ours to wait for: flush what this batch requested and
            // look once more; a slot in flight stays refused (no waiting).
            if self.unkicked > 0 || self.backlog {
                let _ = self.kick(fd);
            }
            if !Self::is_free(self.status(slot)) {
                return Err(TxRefused::RingFull);
            }
        }
        let p = self.slot_ptr(slot);
        let room = self.fill.room();
        let len = (room + frame.len()) as u32;
        // virtio_net_hdr: no checksum offload, no GSO, hdr_len = the whole frame (copied into
        // the buffer head). Legacy virtio fields are in host byte order.
        let mut vnet = [0u8; VNET_HDR_LEN];
        vnet[2..4].copy_from_slice(&(frame.len() as u16).to_ne_bytes());
        // SAFETY: the slot is free (the kernel no longer reads it, checked with Acquire above)
        // and lies inside the mapping; the frame fits behind the header and the virtio header
        // room (`fits` checked it against the slot's data space). The header fields are plain
        // u32 at their offsets; V3's tp_next_offset must be 0 (fixed-size slots).
        unsafe {
            if self.version == TxVersion::V3 {
                p.add(offset_of!(libc::tpacket3_hdr, tp_next_offset))
                    .cast::<u32>()
                    .write(0);
            }
            p.add(self.version.len_off()).cast::<u32>().write(len);
            p.add(self.version.snaplen_off()).cast::<u32>().write(len);
            let data = p.add(self.version.data_off());
            if room > 0 {
                std::ptr::copy_nonoverlapping(vnet.as_ptr(), data, room);
            }
            std::ptr::copy_nonoverlapping(frame.as_ptr(), data.add(room), frame.len());
        }
        // Release: the frame and its length are visible to the kernel before the request.
        self.status_cell(slot)
            .store(libc::TP_STATUS_SEND_REQUEST, Ordering::Release);
        self.head = (slot + 1) % self.geo.slots;
        self.unkicked += 1;
        Ok(())
    }

    /// Whether a kick has anything to do.
    pub(super) fn needs_kick(&self) -> bool {
        self.unkicked > 0 || self.backlog
    }

    /// Asks the kernel to send every requested slot, without waiting. Requests the kernel
    /// could not take now (socket buffer full, a driver refusal it retries) stay in the ring
    /// and go with the next kick. Errors other than "try again" are returned.
    pub(super) fn kick(&mut self, fd: &OwnedFd) -> io::Result<()> {
        self.unkicked = 0;
        // SAFETY: sendto with no buffer and no address: on a socket with a TX ring the kernel
        // only walks the ring (tpacket_snd). MSG_DONTWAIT: never sleeps for in-flight frames.
        let rc = unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                std::ptr::null(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null(),
                0,
            )
        };
        let last = (self.head + self.geo.slots - 1) % self.geo.slots;
        // The kernel walks in order and stops at the first request it cannot take, so a
        // request left anywhere means the newest slot is still one.
        self.backlog = self.status(last) & libc::TP_STATUS_SEND_REQUEST != 0;
        if rc < 0 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EAGAIN | libc::ENOBUFS) => Ok(()),
                _ => Err(err),
            }
        } else {
            Ok(())
        }
    }

    /// Slots not yet handed back by the kernel.
    #[cfg(test)]
    pub(super) fn busy_slots(&self) -> usize {
        (0..self.geo.slots)
            .filter(|&s| !Self::is_free(self.status(s)))
            .count()
    }
}
