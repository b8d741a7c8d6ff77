#![allow(unsafe_code)]
//! The TPACKET_V3 receive ring of one socket: its mapping, the `block_status` hand-over with
//! the kernel (packet_mmap.rst), and the walk over the frames of a block, which also writes the
//! VLAN tag the kernel stripped back in front of the frame. The back-end decides what to read
//! and when to return a block; this file knows only the ring's layout.

use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where reading stands in one ring. A block may be consumed over several batches; the blocks
/// fully read in the current batch are handed back only after the batch's handler and sends.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Cursor {
    /// The block being read, or the next one to look at.
    pub(super) block: usize,
    pub(super) in_block: bool,
    pub(super) pkts_left: u32,
    /// Offset within the block of the next frame header.
    pub(super) next_off: usize,
    /// Blocks before `block` that were read completely but not yet returned to the kernel.
    pub(super) unreleased: usize,
}

/// The mmap'd TPACKET_V3 receive ring of one socket.
pub(super) struct Ring {
    base: NonNull<u8>,
    pub(super) block_size: usize,
    pub(super) block_count: usize,
}

// SAFETY: the ring exclusively owns its mapping; moving it to another thread moves that
// ownership (the kernel side synchronises through `block_status` only).
unsafe impl Send for Ring {}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base` and the length are exactly the mapping made in `Ring::map`, and no
        // slice into it outlives `rx_batch`.
        unsafe {
            libc::munmap(
                self.base.as_ptr().cast(),
                self.block_size * self.block_count,
            );
        }
    }
}

/// Offset of `block_status` in a block descriptor (the header union starts 8-aligned).
const BLOCK_STATUS: usize =
    offset_of!(libc::tpacket_block_desc, hdr) + offset_of!(libc::tpacket_hdr_v1, block_status);
pub(super) const BLOCK_NUM_PKTS: usize =
    offset_of!(libc::tpacket_block_desc, hdr) + offset_of!(libc::tpacket_hdr_v1, num_pkts);
pub(super) const BLOCK_FIRST_PKT: usize = offset_of!(libc::tpacket_block_desc, hdr)
    + offset_of!(libc::tpacket_hdr_v1, offset_to_first_pkt);
/// The `sockaddr_ll` follows the frame header at TPACKET_ALIGN(sizeof(tpacket3_hdr)).
const SLL_OFF: usize = (size_of::<libc::tpacket3_hdr>() + 15) & !15;
pub(super) const SLL_END: usize = SLL_OFF + size_of::<libc::sockaddr_ll>();

/// Maps the one packet ring (RX or TX) a socket was just given, `len` bytes from offset 0.
pub(super) fn map_socket_ring(fd: &OwnedFd, len: usize) -> io::Result<NonNull<u8>> {
    // SAFETY: maps the socket's freshly configured ring (PACKET_RX_RING or PACKET_TX_RING of
    // exactly `len` bytes, and only one of them on this socket, so it starts at offset 0:
    // packet_mmap.rst "Mapping and use of the circular buffer"); the result is checked below
    // before anyone uses it, and the caller's ring type unmaps it on drop.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap: null"))
}

impl Ring {
    pub(super) fn map(fd: &OwnedFd, block_size: usize, block_count: usize) -> io::Result<Ring> {
        let len = block_size * block_count;
        let base = map_socket_ring(fd, len)?;
        Ok(Ring {
            base,
            block_size,
            block_count,
        })
    }

    pub(super) fn block_ptr(&self, block: usize) -> *mut u8 {
        debug_assert!(block < self.block_count);
        // SAFETY: `block < block_count`, so the offset stays inside the mapping.
        unsafe { self.base.as_ptr().add(block * self.block_size) }
    }

    fn status_cell(&self, block: usize) -> &AtomicU32 {
        // SAFETY: `block_status` is a 4-aligned u32 inside the mapping (blocks are page
        // aligned), shared with the kernel, which is why it is only accessed atomically.
        unsafe { &*self.block_ptr(block).add(BLOCK_STATUS).cast::<AtomicU32>() }
    }

    /// Acquire: the kernel fills the block, then sets TP_STATUS_USER (packet_mmap.rst), so the
    /// frames are visible once the status is.
    pub(super) fn block_status(&self, block: usize) -> u32 {
        self.status_cell(block).load(Ordering::Acquire)
    }

    /// Release: every read of the block happens before the kernel may refill it.
    pub(super) fn release(&self, block: usize) {
        self.status_cell(block)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
    }

    pub(super) fn read_u32(&self, block: usize, off: usize) -> u32 {
        debug_assert!(off + 4 <= self.block_size);
        // SAFETY: callers pass offsets inside the block of a block we own (TP_STATUS_USER).
        unsafe {
            self.block_ptr(block)
                .add(off)
                .cast::<u32>()
                .read_unaligned()
        }
    }
}

/// One frame as the ring describes it.
pub(super) struct RawFrame {
    /// Offset of the frame's first byte within its block, after the VLAN tag was written back.
    pub(super) start: usize,
    pub(super) len: usize,
    pub(super) wire_len: u32,
    pub(super) truncated: bool,
}

/// Reads the frame header at `cursor.next_off` of the current block and advances the cursor.
/// `None` ends the block (malformed header: the rest of the block is skipped).
pub(super) fn next_frame(ring: &Ring, cursor: &mut Cursor) -> Option<Option<RawFrame>> {
    let block = cursor.block;
    let off = cursor.next_off;
    if off.checked_add(SLL_END)? > ring.block_size {
        return None;
    }
    // SAFETY: the header lies inside our block (checked above); read_unaligned copes with any
    // offset the kernel chose.
    let hdr: libc::tpacket3_hdr = unsafe {
        ring.block_ptr(block)
            .add(off)
            .cast::<libc::tpacket3_hdr>()
            .read_unaligned()
    };
    // SAFETY: as above; the sockaddr_ll follows the header and ends before SLL_END.
    let pkttype = unsafe {
        *ring
            .block_ptr(block)
            .add(off + SLL_OFF + offset_of!(libc::sockaddr_ll, sll_pkttype))
    };
    let mac = off + usize::from(hdr.tp_mac);
    let len = hdr.tp_snaplen as usize;
    if usize::from(hdr.tp_mac) < SLL_END || mac.checked_add(len)? > ring.block_size {
        return None;
    }
    cursor.pkts_left -= 1;
    if cursor.pkts_left > 0 {
        if hdr.tp_next_offset == 0 {
            return None;
        }
        cursor.next_off = off + hdr.tp_next_offset as usize;
    }
    // Our own transmissions, if PACKET_IGNORE_OUTGOING was not available.
    if pkttype == libc::PACKET_OUTGOING {
        return Some(None);
    }
    let mut frame = RawFrame {
        start: mac,
        len,
        wire_len: hdr.tp_len,
        truncated: hdr.tp_snaplen < hdr.tp_len,
    };
    let headroom = usize::from(hdr.tp_mac) - SLL_END;
    if hdr.tp_status & libc::TP_STATUS_VLAN_VALID != 0 && headroom >= 4 && len >= 12 {
        let tpid = if hdr.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
            hdr.hv1.tp_vlan_tpid
        } else {
            0x8100
        };
        let tag = [
            tpid.to_be_bytes(),
            (hdr.hv1.tp_vlan_tci as u16).to_be_bytes(),
        ];
        // SAFETY: the block is ours (TP_STATUS_USER) and mapped writable; `mac - 4 .. mac + 12`
        // lies between the sockaddr_ll (headroom >= 4) and the end of the frame (len >= 12);
        // `copy` allows the overlap. No slice into this block exists yet.
        unsafe {
            let p = ring.block_ptr(block).add(mac);
            std::ptr::copy(p, p.sub(4), 12);
            std::ptr::copy_nonoverlapping(tag.as_ptr().cast::<u8>(), p.add(8), 4);
        }
        frame.start -= 4;
        frame.len += 4;
        frame.wire_len += 4;
    }
    Some(Some(frame))
}
