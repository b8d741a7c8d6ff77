#![allow(unsafe_code)]
//! AF_PACKET back-end: one TPACKET_V3 receive ring per interface and core, spread over the cores
//! by a fanout group whose classic BPF program computes [`owner_core`](super::owner_core), and a
//! plain (ring-less) transmit socket per interface.
//!
//! Kernel references: Documentation/networking/packet_mmap.rst (TPACKET_V3 blocks, the
//! `block_status` hand-over, `PACKET_FANOUT`), packet(7) (`PACKET_IGNORE_OUTGOING`,
//! `PACKET_STATISTICS`, `PACKET_QDISC_BYPASS`).
//!
//! Things the operator (and the end-to-end tests) must know:
//! - Forwarded frames leave with one `sendmmsg(2)` per output port and batch (measured: 1.7x
//!   the rate of one `send(2)` per frame on veth). Each is an ordinary frame, so an offloaded
//!   super-frame (GSO/TSO/GRO, up to 64 KiB) cannot be forwarded: the kernel refuses frames
//!   above the MTU. Turn those
//!   offloads off on the bridged links (`ethtool -K IF gro off gso off tso off`), and on veth
//!   hosts also `tx off`: a frame sent with a partial checksum reaches us without its checksum.
//! - In TPACKET_V3 the kernel packs variable-length frames into blocks: `frame_size` only enters
//!   the ring geometry check (`tp_frame_nr`); a frame is truncated only when it does not fit in a
//!   block. A truncated frame (`tp_snaplen < tp_len`) is shown to the engine but never forwarded
//!   (counted in `tx_errors` and in [`AfPacket::truncated_frames`]).
//! - The kernel strips the (outer) VLAN tag before packet sockets see a frame and reports it in
//!   the frame header; we write it back in place, so the engine sees and forwards the frame as
//!   it was on the wire.
//! - Fanout members are numbered in joining order and the kernel sends a frame to member
//!   `program result % members`: [`AfPacket::open_all`] opens the cores in order so that member
//!   `i` is core `i`. After a link flap the kernel re-links members in a different order, and
//!   QinQ or non-IP frames all go to member 0: the engine hands misplaced frames over itself.

use super::{Action, BatchHandler, IoMode, IoStats, PacketIo, PortId, peer};
use crate::proto::wire::LinkType;
use std::cell::Cell;
use std::ffi::CString;
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Configuration of one core's AF_PACKET instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfPacketConfig {
    /// Interface names; port `i` is `interfaces[i]`. Inline mode bridges 0<->1, 2<->3, ...
    pub interfaces: Vec<String>,
    pub mode: IoMode,
    /// This instance's core (its fanout member index), `< cores`.
    pub core: usize,
    /// Number of cores sharing the interfaces through fanout.
    pub cores: usize,
    /// Fanout group of interface `i` is `fanout_group + i` (group ids are per network
    /// namespace and must not be shared with other programs).
    pub fanout_group: u16,
    /// Bytes per ring block: a multiple of the page size.
    pub block_size: u32,
    pub block_count: u32,
    /// Frame slot size for the ring geometry (a multiple of 16); see the module notes.
    pub frame_size: u32,
    /// The kernel hands a partly filled block over after this many milliseconds, which bounds
    /// the latency at low rates.
    pub block_timeout_ms: u32,
}

impl Default for AfPacketConfig {
    fn default() -> Self {
        Self {
            interfaces: Vec::new(),
            mode: IoMode::Monitor,
            core: 0,
            cores: 1,
            fanout_group: 0x5e00,
            // 64 x 256 KiB = 16 MiB per interface and core: about 10 ms of 10 GbE line rate of
            // full-size frames, or 100k minimum-size frames.
            block_size: 256 * 1024,
            block_count: 64,
            frame_size: 2048,
            block_timeout_ms: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AfPacketError {
    #[error("interface {name:?}: no such interface")]
    NoSuchInterface { name: String },
    #[error("interface {interface}: {syscall} was refused: AF_PACKET needs root or CAP_NET_RAW")]
    Permission {
        interface: String,
        syscall: &'static str,
    },
    #[error("interface {interface}: {what} failed: {source}")]
    Io {
        interface: String,
        what: &'static str,
        source: io::Error,
    },
    #[error("AF_PACKET configuration: {0}")]
    Config(String),
}

/// One core's AF_PACKET instance over all configured interfaces.
pub struct AfPacket {
    mode: IoMode,
    names: Vec<String>,
    rx: Vec<OwnedFd>,
    tx: Vec<OwnedFd>,
    rings: Vec<Ring>,
    cursors: Vec<Cursor>,
    /// The port whose ring is read first in the next batch (round robin, so a busy port cannot
    /// starve the others).
    first_port: usize,
    pollfds: Vec<libc::pollfd>,
    /// Reused batch buffers: no allocation per packet or per batch.
    frames: Vec<&'static [u8]>,
    ports: Vec<PortId>,
    truncated: Vec<bool>,
    actions: Vec<Action>,
    tx_batch: TxBatch,
    stats: IoStats,
    truncated_frames: u64,
    /// `PACKET_STATISTICS` resets the kernel counters on every read, so they are summed here;
    /// a `Cell` because `stats()` takes `&self`.
    kernel_drops: Cell<u64>,
    losing_seen: bool,
}

impl AfPacket {
    /// Opens every interface for `cfg.core`. With several cores, call this in core order (or
    /// use [`open_all`](Self::open_all)): the kernel numbers fanout members in joining order.
    pub fn open(cfg: &AfPacketConfig) -> Result<AfPacket, AfPacketError> {
        validate(cfg)?;
        let mut ifindexes = Vec::with_capacity(cfg.interfaces.len());
        for name in &cfg.interfaces {
            ifindexes.push(ifindex(name)?);
        }
        let n = cfg.interfaces.len();
        let mut io = AfPacket {
            mode: cfg.mode,
            names: cfg.interfaces.clone(),
            rx: Vec::with_capacity(n),
            tx: Vec::with_capacity(n),
            rings: Vec::with_capacity(n),
            cursors: Vec::with_capacity(n),
            first_port: 0,
            pollfds: Vec::with_capacity(n),
            frames: Vec::with_capacity(256),
            ports: Vec::with_capacity(256),
            truncated: Vec::with_capacity(256),
            actions: Vec::with_capacity(256),
            tx_batch: TxBatch::default(),
            stats: IoStats::default(),
            truncated_frames: 0,
            kernel_drops: Cell::new(0),
            losing_seen: false,
        };
        for (i, (name, &index)) in cfg.interfaces.iter().zip(&ifindexes).enumerate() {
            // validate() checked that every group id fits.
            let group = cfg.fanout_group.wrapping_add(i as u16);
            let (rx, ring) = open_rx(name, index, cfg, group)?;
            let tx = open_tx(name, index)?;
            io.pollfds.push(libc::pollfd {
                fd: rx.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            io.rx.push(rx);
            io.tx.push(tx);
            io.rings.push(ring);
            io.cursors.push(Cursor::default());
        }
        Ok(io)
    }

    /// Opens the instances of cores `0..cfg.cores` in order (`cfg.core` is ignored), so that
    /// fanout member `i` is core `i`. Move each one to its core's thread.
    pub fn open_all(cfg: &AfPacketConfig) -> Result<Vec<AfPacket>, AfPacketError> {
        (0..cfg.cores.max(1))
            .map(|core| {
                AfPacket::open(&AfPacketConfig {
                    core,
                    ..cfg.clone()
                })
            })
            .collect()
    }

    /// Frames the ring truncated (longer than a block), received but never forwarded.
    pub fn truncated_frames(&self) -> u64 {
        self.truncated_frames
    }

    /// The interface names, by port.
    pub fn interfaces(&self) -> &[String] {
        &self.names
    }

    /// Adds the kernel's drop counters of every receive socket (reading resets them).
    fn refresh_kernel_drops(&self) {
        let mut total = 0u64;
        for fd in &self.rx {
            let mut st = libc::tpacket_stats_v3 {
                tp_packets: 0,
                tp_drops: 0,
                tp_freeze_q_cnt: 0,
            };
            let mut len = size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
            // SAFETY: `st` is a writable tpacket_stats_v3 and `len` holds its size, which is what
            // PACKET_STATISTICS writes for a TPACKET_V3 socket.
            let rc = unsafe {
                libc::getsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_PACKET,
                    libc::PACKET_STATISTICS,
                    (&raw mut st).cast(),
                    &mut len,
                )
            };
            if rc == 0 {
                total += u64::from(st.tp_drops);
            }
        }
        self.kernel_drops.set(self.kernel_drops.get() + total);
    }

    /// Whether some ring already holds a block for us (then `poll` is not needed).
    fn any_ready(&self) -> bool {
        self.rings
            .iter()
            .zip(&self.cursors)
            .any(|(ring, c)| c.in_block || ring.block_status(c.block) & libc::TP_STATUS_USER != 0)
    }

    fn wait(&mut self, timeout_ms: i32) -> io::Result<()> {
        for p in &mut self.pollfds {
            p.revents = 0;
        }
        // SAFETY: `pollfds` is a live, exclusively borrowed array of `len()` pollfd entries whose
        // descriptors are owned by `self.rx`.
        let rc = unsafe {
            libc::poll(
                self.pollfds.as_mut_ptr(),
                self.pollfds.len() as libc::nfds_t,
                timeout_ms,
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            return if err.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(err)
            };
        }
        for (i, p) in self.pollfds.iter().enumerate() {
            if p.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
                // A pending socket error (e.g. ENETDOWN when the link went down) keeps poll
                // returning at once: read it, which clears it, and report it.
                let err = socket_error(&self.rx[i]);
                if err != 0 {
                    return Err(io::Error::new(
                        io::Error::from_raw_os_error(err).kind(),
                        format!(
                            "interface {}: {}",
                            self.names[i],
                            io::Error::from_raw_os_error(err)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Where reading stands in one ring. A block may be consumed over several batches; the blocks
/// fully read in the current batch are handed back only after the batch's handler and sends.
#[derive(Debug, Default, Clone, Copy)]
struct Cursor {
    /// The block being read, or the next one to look at.
    block: usize,
    in_block: bool,
    pkts_left: u32,
    /// Offset within the block of the next frame header.
    next_off: usize,
    /// Blocks before `block` that were read completely but not yet returned to the kernel.
    unreleased: usize,
}

/// The mmap'd TPACKET_V3 receive ring of one socket.
struct Ring {
    base: NonNull<u8>,
    block_size: usize,
    block_count: usize,
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
const BLOCK_NUM_PKTS: usize =
    offset_of!(libc::tpacket_block_desc, hdr) + offset_of!(libc::tpacket_hdr_v1, num_pkts);
const BLOCK_FIRST_PKT: usize = offset_of!(libc::tpacket_block_desc, hdr)
    + offset_of!(libc::tpacket_hdr_v1, offset_to_first_pkt);
/// The `sockaddr_ll` follows the frame header at TPACKET_ALIGN(sizeof(tpacket3_hdr)).
const SLL_OFF: usize = (size_of::<libc::tpacket3_hdr>() + 15) & !15;
const SLL_END: usize = SLL_OFF + size_of::<libc::sockaddr_ll>();

impl Ring {
    fn map(fd: &OwnedFd, block_size: usize, block_count: usize) -> io::Result<Ring> {
        let len = block_size * block_count;
        // SAFETY: maps the socket's freshly configured RX ring (PACKET_RX_RING of exactly
        // `len` bytes, packet_mmap.rst "Mapping and use of the circular buffer"); the result
        // is checked before use.
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
        let base = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap: null"))?;
        Ok(Ring {
            base,
            block_size,
            block_count,
        })
    }

    fn block_ptr(&self, block: usize) -> *mut u8 {
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
    fn block_status(&self, block: usize) -> u32 {
        self.status_cell(block).load(Ordering::Acquire)
    }

    /// Release: every read of the block happens before the kernel may refill it.
    fn release(&self, block: usize) {
        self.status_cell(block)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
    }

    fn read_u32(&self, block: usize, off: usize) -> u32 {
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
struct RawFrame {
    /// Offset of the frame's first byte within its block, after the VLAN tag was written back.
    start: usize,
    len: usize,
    wire_len: u32,
    truncated: bool,
}

/// Reads the frame header at `cursor.next_off` of the current block and advances the cursor.
/// `None` ends the block (malformed header: the rest of the block is skipped).
fn next_frame(ring: &Ring, cursor: &mut Cursor) -> Option<Option<RawFrame>> {
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

/// Gives a reused batch vector a new element lifetime. It is empty, so nothing is converted,
/// and the in-place collection keeps its allocation.
fn recycle<'b>(mut v: Vec<&[u8]>) -> Vec<&'b [u8]> {
    v.clear();
    v.into_iter().map(|_| &[][..]).collect()
}

fn send_frame(fd: &OwnedFd, frame: &[u8]) -> io::Result<()> {
    // SAFETY: `frame` is a live byte slice; the socket is bound to its interface, so no address
    // is needed. MSG_DONTWAIT: a full queue is a counted error, never a stalled core.
    let rc = unsafe {
        libc::send(
            fd.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            libc::MSG_DONTWAIT,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Reused sendmmsg(2) vectors. They point into the current batch's frames only during
/// `send` and are emptied before it returns.
#[derive(Default)]
struct TxBatch {
    iovs: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
}

// SAFETY: between calls both vectors are empty, so no pointer they held crosses threads.
unsafe impl Send for TxBatch {}

impl TxBatch {
    /// Sends `frames` out of `fd` in order, counting successes and failures in `stats`. A frame
    /// the kernel refuses is counted and skipped; the rest are still sent.
    fn send<'f>(
        &mut self,
        fd: &OwnedFd,
        frames: impl Iterator<Item = &'f [u8]>,
        stats: &mut IoStats,
    ) {
        self.iovs.clear();
        self.iovs.extend(frames.map(|f| libc::iovec {
            iov_base: f.as_ptr().cast_mut().cast(),
            iov_len: f.len(),
        }));
        if self.iovs.is_empty() {
            return;
        }
        self.msgs.clear();
        for iov in &mut self.iovs {
            // SAFETY: mmsghdr is plain data; all-zero is a valid value (no address, no control).
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
            self.msgs.push(m);
        }
        let mut done = 0;
        while done < self.msgs.len() {
            let rest = &mut self.msgs[done..];
            // SAFETY: `rest` holds `rest.len()` initialised mmsghdr whose iovecs point to frames
            // that stay alive (and their blocks ours) until rx_batch returns the blocks, after
            // this call. The kernel only reads the frames and writes `msg_len`. MSG_DONTWAIT: a
            // full queue is a counted error, never a stalled core.
            let rc = unsafe {
                libc::sendmmsg(
                    fd.as_raw_fd(),
                    rest.as_mut_ptr(),
                    rest.len().min(1024) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if rc <= 0 {
                // The first remaining frame was refused: count it, go on with the next.
                stats.tx_errors += 1;
                done += 1;
                continue;
            }
            let sent = rc as usize;
            stats.tx_frames += sent as u64;
            stats.tx_bytes += self.iovs[done..done + sent]
                .iter()
                .map(|v| v.iov_len as u64)
                .sum::<u64>();
            done += sent;
        }
        self.msgs.clear();
        self.iovs.clear();
    }
}

impl PacketIo for AfPacket {
    fn link_type(&self) -> LinkType {
        LinkType::Ethernet
    }

    fn rx_batch(
        &mut self,
        max: usize,
        timeout_ms: i32,
        handler: &mut BatchHandler<'_>,
    ) -> io::Result<usize> {
        if max == 0 || self.rings.is_empty() {
            return Ok(0);
        }
        if !self.any_ready() {
            self.wait(timeout_ms)?;
        }
        let AfPacket {
            mode,
            tx,
            rings,
            cursors,
            first_port,
            frames: frame_buf,
            ports,
            truncated,
            actions,
            tx_batch,
            stats,
            truncated_frames,
            losing_seen,
            ..
        } = self;
        let mut frames = recycle(std::mem::take(frame_buf));
        ports.clear();
        truncated.clear();
        let n_ports = rings.len();
        for k in 0..n_ports {
            let p = (*first_port + k) % n_ports;
            let (ring, cursor) = (&rings[p], &mut cursors[p]);
            while frames.len() < max {
                if !cursor.in_block {
                    // Every block is read but not yet returned: the next one is the first again.
                    if cursor.unreleased >= ring.block_count {
                        break;
                    }
                    let status = ring.block_status(cursor.block);
                    if status & libc::TP_STATUS_USER == 0 {
                        break;
                    }
                    if status & libc::TP_STATUS_LOSING != 0 {
                        *losing_seen = true;
                    }
                    cursor.in_block = true;
                    cursor.pkts_left = ring.read_u32(cursor.block, BLOCK_NUM_PKTS);
                    cursor.next_off = ring.read_u32(cursor.block, BLOCK_FIRST_PKT) as usize;
                }
                let got = if cursor.pkts_left == 0 {
                    None
                } else {
                    next_frame(ring, cursor)
                };
                match got {
                    Some(Some(f)) => {
                        // SAFETY: next_frame checked that the frame lies inside the block, which
                        // stays ours (TP_STATUS_USER) until after `frames` is cleared below.
                        let bytes = unsafe {
                            std::slice::from_raw_parts(
                                ring.block_ptr(cursor.block).add(f.start),
                                f.len,
                            )
                        };
                        frames.push(bytes);
                        ports.push(p as PortId);
                        truncated.push(f.truncated);
                        stats.rx_frames += 1;
                        stats.rx_bytes += u64::from(f.wire_len);
                    }
                    Some(None) => {}
                    None => cursor.pkts_left = 0,
                }
                if cursor.pkts_left == 0 {
                    cursor.in_block = false;
                    cursor.unreleased += 1;
                    cursor.block = (cursor.block + 1) % ring.block_count;
                }
            }
            if frames.len() >= max {
                break;
            }
        }
        *first_port = (*first_port + 1) % n_ports;

        let n = frames.len();
        if n > 0 {
            let now_ns = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            actions.clear();
            actions.resize(n, Action::Drop);
            handler(&frames, ports, now_ns, actions);
            if *mode == IoMode::Inline {
                for i in 0..n {
                    if actions[i] == Action::Forward && truncated[i] {
                        *truncated_frames += 1;
                        stats.tx_errors += 1;
                    }
                }
                // One sendmmsg(2) per output port and batch rather than one send(2) per frame.
                for (out, fd) in tx.iter().enumerate() {
                    let wanted = (0..n).filter(|&i| {
                        actions[i] == Action::Forward
                            && !truncated[i]
                            && usize::from(peer(ports[i])) == out
                    });
                    tx_batch.send(fd, wanted.map(|i| frames[i]), stats);
                }
            }
        }
        // No slice into the ring may survive the hand-back below.
        *frame_buf = recycle(frames);
        for (ring, cursor) in rings.iter().zip(cursors.iter_mut()) {
            for j in 0..cursor.unreleased {
                let block = (cursor.block + ring.block_count * 2 - cursor.unreleased + j)
                    % ring.block_count;
                ring.release(block);
            }
            cursor.unreleased = 0;
        }
        if self.losing_seen {
            self.losing_seen = false;
            self.refresh_kernel_drops();
        }
        Ok(n)
    }

    fn send(&mut self, port: PortId, frame: &[u8]) -> io::Result<()> {
        let Some(fd) = self.tx.get(usize::from(port)) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no port {port}"),
            ));
        };
        match send_frame(fd, frame) {
            Ok(()) => {
                self.stats.tx_frames += 1;
                self.stats.tx_bytes += frame.len() as u64;
                Ok(())
            }
            Err(e) => {
                self.stats.tx_errors += 1;
                Err(e)
            }
        }
    }

    fn stats(&self) -> IoStats {
        self.refresh_kernel_drops();
        IoStats {
            kernel_drops: self.kernel_drops.get(),
            ..self.stats
        }
    }
}

fn validate(cfg: &AfPacketConfig) -> Result<(), AfPacketError> {
    let bad = |msg: String| Err(AfPacketError::Config(msg));
    let n = cfg.interfaces.len();
    if n == 0 {
        return bad("no interfaces".into());
    }
    if n > usize::from(PortId::MAX) + 1 {
        return bad(format!("{n} interfaces, at most 256"));
    }
    if cfg.mode == IoMode::Inline && !n.is_multiple_of(2) {
        return bad(format!(
            "inline mode bridges interfaces in pairs, but {n} are configured"
        ));
    }
    if cfg.cores == 0 || cfg.core >= cfg.cores {
        return bad(format!("core {} of {} cores", cfg.core, cfg.cores));
    }
    if u32::from(cfg.fanout_group) + n as u32 - 1 > u32::from(u16::MAX) {
        return bad(format!(
            "fanout_group {} + {n} interfaces exceeds 65535",
            cfg.fanout_group
        ));
    }
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u32;
    if cfg.block_size == 0 || !cfg.block_size.is_multiple_of(page) {
        return bad(format!(
            "block_size {} is not a multiple of the page size {page}",
            cfg.block_size
        ));
    }
    if !cfg.frame_size.is_multiple_of(16)
        || (cfg.frame_size as usize) < SLL_END + 64
        || cfg.frame_size > cfg.block_size
    {
        return bad(format!(
            "frame_size {} must be a multiple of 16 between {} and block_size {}",
            cfg.frame_size,
            SLL_END + 64,
            cfg.block_size
        ));
    }
    let total = u64::from(cfg.block_size) * u64::from(cfg.block_count);
    if cfg.block_count == 0 || total > 1 << 32 {
        return bad(format!(
            "block_count {} x block_size {}: the ring must be non-empty and at most 4 GiB",
            cfg.block_count, cfg.block_size
        ));
    }
    Ok(())
}

fn ifindex(name: &str) -> Result<libc::c_uint, AfPacketError> {
    let missing = || AfPacketError::NoSuchInterface { name: name.into() };
    let c = CString::new(name).map_err(|_| missing())?;
    // SAFETY: `c` is a NUL-terminated string that lives across the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(missing());
    }
    // The frames must start with an Ethernet header (ARPHRD_ETHER = 1): the fanout program and
    // the engine assume it.
    if let Ok(t) = std::fs::read_to_string(format!("/sys/class/net/{name}/type"))
        && t.trim() != "1"
    {
        return Err(AfPacketError::Config(format!(
            "interface {name} is not an Ethernet interface (ARPHRD type {})",
            t.trim()
        )));
    }
    Ok(index)
}

fn packet_socket(name: &str) -> Result<OwnedFd, AfPacketError> {
    // Protocol 0: the socket receives nothing until bind() names the interface and ETH_P_ALL,
    // so no frame of another interface is queued while the ring is set up.
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(sys_error(name, "socket(AF_PACKET, SOCK_RAW)"));
    }
    // SAFETY: `fd` is a new descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn sys_error(name: &str, what: &'static str) -> AfPacketError {
    let source = io::Error::last_os_error();
    match source.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => AfPacketError::Permission {
            interface: name.into(),
            syscall: what,
        },
        _ => AfPacketError::Io {
            interface: name.into(),
            what,
            source,
        },
    }
}

fn setsockopt<T: Copy>(fd: &OwnedFd, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` of `size_of::<T>()` bytes, the layout the kernel
    // expects for the option (the callers pass the documented struct or int).
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn socket_error(fd: &OwnedFd) -> i32 {
    let mut err: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `err` is a writable int and `len` its size.
    unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut err).cast(),
            &mut len,
        );
    }
    err
}

fn bind(fd: &OwnedFd, index: libc::c_uint, protocol: u16) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = protocol.to_be();
    sll.sll_ifindex = index as libc::c_int;
    // SAFETY: `sll` is a complete sockaddr_ll and the length says so.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const sll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The receive socket and its ring, in the order packet_mmap.rst prescribes: version, ring,
/// mmap, then bind; fanout last, as the kernel only lets a bound socket join.
fn open_rx(
    name: &str,
    index: libc::c_uint,
    cfg: &AfPacketConfig,
    group: u16,
) -> Result<(OwnedFd, Ring), AfPacketError> {
    let err = |what: &'static str, e: io::Error| match e.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => AfPacketError::Permission {
            interface: name.into(),
            syscall: what,
        },
        _ => AfPacketError::Io {
            interface: name.into(),
            what,
            source: e,
        },
    };
    let fd = packet_socket(name)?;
    let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
    setsockopt(&fd, libc::PACKET_VERSION, &version)
        .map_err(|e| err("setsockopt(PACKET_VERSION, TPACKET_V3)", e))?;
    let req = libc::tpacket_req3 {
        tp_block_size: cfg.block_size,
        tp_block_nr: cfg.block_count,
        tp_frame_size: cfg.frame_size,
        tp_frame_nr: cfg.block_size / cfg.frame_size * cfg.block_count,
        tp_retire_blk_tov: cfg.block_timeout_ms,
        tp_sizeof_priv: 0,
        tp_feature_req_word: 0,
    };
    setsockopt(&fd, libc::PACKET_RX_RING, &req)
        .map_err(|e| err("setsockopt(PACKET_RX_RING)", e))?;
    let ring = Ring::map(&fd, cfg.block_size as usize, cfg.block_count as usize)
        .map_err(|e| err("mmap(PACKET_RX_RING)", e))?;
    // Frames we transmit on this interface must not come back to us. Older kernels lack the
    // option; rx_batch also skips PACKET_OUTGOING frames.
    let _ = setsockopt(&fd, libc::PACKET_IGNORE_OUTGOING, &(1 as libc::c_int));
    bind(&fd, index, libc::ETH_P_ALL as u16).map_err(|e| err("bind(AF_PACKET)", e))?;
    // SAFETY: packet_mreq is plain data; all-zero is a valid value.
    let mut mreq: libc::packet_mreq = unsafe { std::mem::zeroed() };
    mreq.mr_ifindex = index as libc::c_int;
    mreq.mr_type = libc::PACKET_MR_PROMISC as u16;
    setsockopt(&fd, libc::PACKET_ADD_MEMBERSHIP, &mreq)
        .map_err(|e| err("setsockopt(PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC)", e))?;
    if cfg.cores > 1 {
        join_fanout(&fd, group).map_err(|e| err("setsockopt(PACKET_FANOUT, CBPF)", e))?;
        let mut program = fanout_program();
        let prog = libc::sock_fprog {
            len: program.len() as u16,
            filter: program.as_mut_ptr(),
        };
        setsockopt(&fd, libc::PACKET_FANOUT_DATA, &prog)
            .map_err(|e| err("setsockopt(PACKET_FANOUT_DATA)", e))?;
    }
    Ok((fd, ring))
}

fn join_fanout(fd: &OwnedFd, group: u16) -> io::Result<()> {
    // A fanout group has its own packet hook, which honours only the group flag, not the
    // socket's PACKET_IGNORE_OUTGOING (Linux >= 6.5 knows the flag).
    let with_flag = libc::PACKET_FANOUT_CBPF | libc::PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
    let arg = |flags: libc::c_uint| (u32::from(group) | (flags << 16)) as libc::c_int;
    match setsockopt(fd, libc::PACKET_FANOUT, &arg(with_flag)) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            setsockopt(fd, libc::PACKET_FANOUT, &arg(libc::PACKET_FANOUT_CBPF))
        }
        r => r,
    }
}

/// The transmit socket: protocol 0, so it receives nothing; bound to the interface.
fn open_tx(name: &str, index: libc::c_uint) -> Result<OwnedFd, AfPacketError> {
    let fd = packet_socket(name)?;
    bind(&fd, index, 0).map_err(|source| AfPacketError::Io {
        interface: name.into(),
        what: "bind(AF_PACKET) of the transmit socket",
        source,
    })?;
    // The engine is the only queueing discipline these bridged frames need: skip the qdisc
    // layer (packet(7)); a full driver queue becomes a counted send error.
    let _ = setsockopt(&fd, libc::PACKET_QDISC_BYPASS, &(1 as libc::c_int));
    Ok(fd)
}

// Classic BPF opcodes (include/uapi/linux/bpf_common.h, filter.h).
const BPF_LD: u16 = 0x00;
const BPF_ALU: u16 = 0x04;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_MISC: u16 = 0x07;
const BPF_W: u16 = 0x00;
const BPF_H: u16 = 0x08;
const BPF_ABS: u16 = 0x20;
const BPF_JEQ: u16 = 0x10;
const BPF_K: u16 = 0x00;
const BPF_X: u16 = 0x08;
const BPF_XOR: u16 = 0xa0;
const BPF_A: u16 = 0x10;
const BPF_TAX: u16 = 0x00;

/// Offsets relative to the link-layer header. The fanout program runs before the packet
/// socket pushes the MAC header back, so on receive offset 0 is the network header; the
/// SKF_LL_OFF base addresses the Ethernet header in both directions.
const fn ll(off: u32) -> u32 {
    (libc::SKF_LL_OFF as u32).wrapping_add(off)
}

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The fanout program: the XOR of the source and destination address words, exactly
/// `owner_core` before its `% cores`, which the kernel applies (`result % members`). A failed
/// load (short frame) makes a classic BPF program return 0. VLAN: the kernel has already
/// stripped the outer tag, so single-tagged frames are steered by their IP addresses too.
fn fanout_program() -> Vec<libc::sock_filter> {
    let ld_w = |off| insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, ll(off));
    let tax = insn(BPF_MISC | BPF_TAX, 0, 0, 0);
    let xor_x = insn(BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0);
    let ret_a = insn(BPF_RET | BPF_A, 0, 0, 0);
    // IPv4: source at 14 + 12, destination at 14 + 16.
    let v4 = [ld_w(26), tax, ld_w(30), xor_x, ret_a];
    // IPv6: the 8 address words from 14 + 8 to 14 + 40.
    let mut v6 = vec![ld_w(22), tax];
    for off in (26..50).step_by(4) {
        v6.extend([ld_w(off), xor_x, tax]);
    }
    v6.extend([ld_w(50), xor_x, ret_a]);
    let mut p = vec![
        insn(BPF_LD | BPF_H | BPF_ABS, 0, 0, ll(12)),
        insn(BPF_JMP | BPF_JEQ | BPF_K, 0, v4.len() as u8, 0x0800),
    ];
    p.extend(v4);
    p.push(insn(BPF_JMP | BPF_JEQ | BPF_K, 0, v6.len() as u8, 0x86dd));
    p.extend(v6);
    p.push(insn(BPF_RET | BPF_K, 0, 0, 0));
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::owner_core;
    use std::process::Command;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    /// Root-only tests skip outside root, but must not silently pass in CI.
    fn root_or_skip(test: &str) -> bool {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            return true;
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: needs root (CI is set, so this fails instead of skipping)"
        );
        eprintln!("SKIPPED: needs root ({test})");
        false
    }

    fn run(cmd: &str, args: &[&str]) -> std::process::Output {
        Command::new(cmd)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
    }

    fn ip(args: &[&str]) {
        let out = run("ip", args);
        assert!(
            out.status.success(),
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Network namespaces and links made by one test, deleted even when the test fails.
    struct Lab {
        prefix: String,
        links: Vec<String>,
        namespaces: Vec<String>,
    }

    impl Lab {
        fn new(tag: char) -> Lab {
            Lab {
                prefix: format!("sm{}{tag}", std::process::id()),
                links: Vec::new(),
                namespaces: Vec::new(),
            }
        }

        /// A veth pair in the current namespace, up, with IPv6 off so the kernel sends no
        /// noise on it.
        fn veth(&mut self, a: &str, b: &str) -> (String, String) {
            let (a, b) = (format!("{}{a}", self.prefix), format!("{}{b}", self.prefix));
            ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
            self.links.push(a.clone());
            for name in [&a, &b] {
                let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
                ip(&["link", "set", name, "up"]);
            }
            (a, b)
        }

        fn netns(&mut self, tag: &str) -> String {
            let ns = format!("sm-af-{}-{tag}", self.prefix);
            ip(&["netns", "add", &ns]);
            self.namespaces.push(ns.clone());
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ns
        }

        /// Moves `link` into `ns` and gives it the two addresses.
        fn host(&self, link: &str, ns: &str, v4: &str, v6: &str) {
            ip(&["link", "set", link, "netns", ns]);
            ip(&["-n", ns, "addr", "add", v4, "dev", link]);
            ip(&["-n", ns, "addr", "add", v6, "dev", link, "nodad"]);
            ip(&["-n", ns, "link", "set", link, "up"]);
        }
    }

    impl Drop for Lab {
        fn drop(&mut self) {
            for ns in &self.namespaces {
                let _ = run("ip", &["netns", "del", ns]);
            }
            for link in &self.links {
                let _ = run("ip", &["link", "del", link]);
            }
        }
    }

    fn config(interfaces: &[&String]) -> AfPacketConfig {
        AfPacketConfig {
            interfaces: interfaces.iter().map(|s| s.to_string()).collect(),
            block_size: 64 * 1024,
            block_count: 8,
            ..AfPacketConfig::default()
        }
    }

    const MARK: &[u8] = b"SMAF";

    /// An Ethernet frame of `len` bytes with a local experimental ethertype and a marker.
    fn test_frame(id: u8, len: usize) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5];
        f.extend_from_slice(MARK);
        f.push(id);
        f.extend((0..len.saturating_sub(f.len())).map(|i| i as u8));
        f
    }

    fn tagged(mut f: Vec<u8>, tci: u16) -> Vec<u8> {
        let [hi, lo] = tci.to_be_bytes();
        f.splice(12..12, [0x81, 0x00, hi, lo]);
        f
    }

    fn is_test_frame(f: &[u8]) -> bool {
        f.windows(MARK.len()).take(64).any(|w| w == MARK)
    }

    /// Reads until `want` test frames arrived or 5 s passed.
    fn collect(io: &mut AfPacket, want: usize) -> Vec<(PortId, Vec<u8>)> {
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while got.len() < want && Instant::now() < deadline {
            io.rx_batch(16, 50, &mut |frames, ports, _, _| {
                for (f, p) in frames.iter().zip(ports) {
                    if is_test_frame(f) {
                        got.push((*p, f.to_vec()));
                    }
                }
            })
            .unwrap();
        }
        got
    }

    #[test]
    fn receives_frames_with_their_port_and_bytes() {
        if !root_or_skip("receives_frames_with_their_port_and_bytes") {
            return;
        }
        let mut lab = Lab::new('r');
        let (x0, x1) = lab.veth("x0", "x1");
        let (y0, y1) = lab.veth("y0", "y1");
        for l in [&x0, &x1] {
            ip(&["link", "set", l, "mtu", "9000"]);
        }
        let mut engine = AfPacket::open(&config(&[&x1, &y1])).unwrap();
        let mut inj = AfPacket::open(&config(&[&x0, &y0])).unwrap();
        assert_eq!(engine.link_type(), LinkType::Ethernet);
        let small = test_frame(1, 60);
        let full = test_frame(2, 1514);
        // Longer than frame_size (2048): TPACKET_V3 only truncates at the block size.
        let jumbo = test_frame(3, 4000);
        // The kernel strips the tag before packet sockets see the frame; we put it back.
        let vlan = tagged(test_frame(4, 64), 0x2064);
        inj.send(0, &small).unwrap();
        inj.send(1, &full).unwrap();
        inj.send(0, &jumbo).unwrap();
        inj.send(0, &vlan).unwrap();
        let got = collect(&mut engine, 4);
        let on = |port| {
            got.iter()
                .filter(|(p, _)| *p == port)
                .map(|(_, f)| f.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(on(0), vec![small, jumbo, vlan]);
        assert_eq!(on(1), vec![full]);
        let s = engine.stats();
        assert!(s.rx_frames >= 4, "{s:?}");
        assert_eq!(s.tx_frames, 0);
        let t = inj.stats();
        assert_eq!((t.tx_frames, t.tx_errors), (4, 0), "{t:?}");
        assert_eq!(t.tx_bytes, 60 + 1514 + 4000 + 68);
        assert!(inj.send(2, &[0; 60]).is_err());
    }

    #[test]
    fn truncated_frames_are_shown_but_not_forwarded() {
        if !root_or_skip("truncated_frames_are_shown_but_not_forwarded") {
            return;
        }
        let mut lab = Lab::new('t');
        let (x0, x1) = lab.veth("x0", "x1");
        let (_y0, y1) = lab.veth("y0", "y1");
        for l in [&x0, &x1] {
            ip(&["link", "set", l, "mtu", "9000"]);
        }
        let mut cfg = config(&[&x1, &y1]);
        cfg.mode = IoMode::Inline;
        cfg.block_size = 4096;
        let mut engine = AfPacket::open(&cfg).unwrap();
        let mut inj = AfPacket::open(&config(&[&x0])).unwrap();
        inj.send(0, &test_frame(9, 6000)).unwrap();
        let mut seen = 0;
        let deadline = Instant::now() + Duration::from_secs(5);
        while seen == 0 && Instant::now() < deadline {
            engine
                .rx_batch(16, 50, &mut |frames, _, _, actions| {
                    for (f, a) in frames.iter().zip(actions.iter_mut()) {
                        if is_test_frame(f) {
                            seen = f.len();
                        }
                        *a = Action::Forward;
                    }
                })
                .unwrap();
        }
        assert!(seen > 0 && seen < 4096, "frame of {seen} bytes");
        assert_eq!(engine.truncated_frames(), 1);
        assert!(engine.stats().tx_errors >= 1);
    }

    type Handler = fn(&[&[u8]], &[PortId], u64, &mut [Action]);

    fn forward_all(_: &[&[u8]], _: &[PortId], _: u64, actions: &mut [Action]) {
        actions.fill(Action::Forward);
    }

    fn drop_all(_: &[&[u8]], _: &[PortId], _: u64, actions: &mut [Action]) {
        actions.fill(Action::Drop);
    }

    /// Runs the engine in a thread until the flag is set; the thread returns it.
    fn spawn_engine(mut io: AfPacket, h: Handler) -> (Arc<AtomicBool>, JoinHandle<AfPacket>) {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let t = std::thread::spawn(move || {
            let mut handler = |f: &[&[u8]], p: &[PortId], now: u64, a: &mut [Action]| {
                assert!(now > 1_600_000_000_000_000_000, "wall-clock time");
                h(f, p, now, a)
            };
            while !flag.load(Ordering::Relaxed) {
                io.rx_batch(64, 20, &mut handler).unwrap();
            }
            io
        });
        (stop, t)
    }

    /// Host A (netns) a0 | a1 engine b1 | b0 host B (netns).
    struct Bridge {
        lab: Lab,
        ns_a: String,
        engine_ports: [String; 2],
    }

    fn bridge(tag: char) -> Bridge {
        let mut lab = Lab::new(tag);
        let ns_a = lab.netns("A");
        let ns_b = lab.netns("B");
        let (a0, a1) = lab.veth("a0", "a1");
        let (b0, b1) = lab.veth("b0", "b1");
        lab.host(&a0, &ns_a, "198.18.0.1/24", "2001:2::1/64");
        lab.host(&b0, &ns_b, "198.18.0.2/24", "2001:2::2/64");
        Bridge {
            lab,
            ns_a,
            engine_ports: [a1, b1],
        }
    }

    fn ping(ns: &str, args: &[&str]) -> bool {
        let mut all = vec!["netns", "exec", ns, "ping", "-n", "-q"];
        all.extend_from_slice(args);
        run("ip", &all).status.success()
    }

    #[test]
    fn inline_forwards_ping_both_families() {
        if !root_or_skip("inline_forwards_ping_both_families") {
            return;
        }
        let b = bridge('i');
        let mut cfg = config(&[&b.engine_ports[0], &b.engine_ports[1]]);
        cfg.mode = IoMode::Inline;
        let (stop, t) = spawn_engine(AfPacket::open(&cfg).unwrap(), forward_all);
        let v4 = ping(&b.ns_a, &["-c", "3", "-i", "0.2", "-W", "2", "198.18.0.2"]);
        let v6 = ping(
            &b.ns_a,
            &["-6", "-c", "3", "-i", "0.2", "-W", "2", "2001:2::2"],
        );
        stop.store(true, Ordering::Relaxed);
        let io = t.join().unwrap();
        assert!(v4, "IPv4 ping through the bridge failed");
        assert!(v6, "IPv6 ping through the bridge failed");
        let s = io.stats();
        assert!(s.tx_frames >= 12 && s.tx_errors == 0, "{s:?}");
        // Our own transmissions are not received again: every received frame was sent once.
        assert_eq!(s.rx_frames, s.tx_frames, "{s:?}");
        drop(b.lab);
    }

    #[test]
    fn inline_drops_what_the_handler_drops() {
        if !root_or_skip("inline_drops_what_the_handler_drops") {
            return;
        }
        let b = bridge('d');
        let mut cfg = config(&[&b.engine_ports[0], &b.engine_ports[1]]);
        cfg.mode = IoMode::Inline;
        let (stop, t) = spawn_engine(AfPacket::open(&cfg).unwrap(), drop_all);
        let ok = ping(&b.ns_a, &["-c", "2", "-i", "0.2", "-W", "1", "198.18.0.2"]);
        stop.store(true, Ordering::Relaxed);
        let io = t.join().unwrap();
        assert!(!ok, "ping passed although the handler dropped everything");
        let s = io.stats();
        assert!(s.rx_frames >= 1 && s.tx_frames == 0, "{s:?}");
    }

    #[test]
    fn monitor_mode_never_forwards() {
        if !root_or_skip("monitor_mode_never_forwards") {
            return;
        }
        let b = bridge('m');
        let cfg = config(&[&b.engine_ports[0], &b.engine_ports[1]]);
        let (stop, t) = spawn_engine(AfPacket::open(&cfg).unwrap(), forward_all);
        let ok = ping(&b.ns_a, &["-c", "1", "-W", "1", "198.18.0.2"]);
        stop.store(true, Ordering::Relaxed);
        let io = t.join().unwrap();
        assert!(!ok);
        assert_eq!(io.stats().tx_frames, 0);
    }

    fn ipv4_frame(src: [u8; 4], dst: [u8; 4], id: u16) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        f.extend([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 253, 0, 0]);
        f.extend(src);
        f.extend(dst);
        f.extend(MARK);
        f.extend(id.to_be_bytes());
        f.resize(60, 0);
        f
    }

    fn ipv6_frame(src: [u8; 16], dst: [u8; 16], id: u16) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd];
        f.extend([0x60, 0, 0, 0, 0, 6, 253, 64]);
        f.extend(src);
        f.extend(dst);
        f.extend(MARK);
        f.extend(id.to_be_bytes());
        f
    }

    /// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
    fn bytes<const N: usize>(seed: &mut u64) -> [u8; N] {
        let mut out = [0u8; N];
        for b in &mut out {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *b = *seed as u8;
        }
        out
    }

    struct Sample {
        frame: Vec<u8>,
        family: usize,
        src: Vec<u8>,
        dst: Vec<u8>,
    }

    /// Address sets for the steering tests: IPv4 in 198.18.0.0/15, IPv6 in 2001:2::/48.
    fn sample_frames() -> Vec<Sample> {
        let mut seed = 0x5e55_1011_u64;
        let mut out = Vec::new();
        for i in 0..48u16 {
            let (mut s, mut d) = (bytes::<4>(&mut seed), bytes::<4>(&mut seed));
            s[0] = 198;
            s[1] = 18 | (s[1] & 1);
            d[0] = 198;
            d[1] = 18 | (d[1] & 1);
            out.push(Sample {
                frame: ipv4_frame(s, d, i),
                family: 4,
                src: s.to_vec(),
                dst: d.to_vec(),
            });
        }
        for i in 48..96u16 {
            let (mut s, mut d) = (bytes::<16>(&mut seed), bytes::<16>(&mut seed));
            s[..6].copy_from_slice(&[0x20, 0x01, 0, 2, 0, 0]);
            d[..6].copy_from_slice(&[0x20, 0x01, 0, 2, 0, 0]);
            out.push(Sample {
                frame: ipv6_frame(s, d, i),
                family: 6,
                src: s.to_vec(),
                dst: d.to_vec(),
            });
        }
        out
    }

    /// A classic BPF interpreter for the instructions the fanout program uses, with the
    /// kernel's rules: loads are relative to the link layer (SKF_LL_OFF), a load past the end
    /// returns 0.
    fn run_cbpf(prog: &[libc::sock_filter], frame: &[u8]) -> u32 {
        let load = |k: u32, size: usize| -> Option<u32> {
            let k = k as i32;
            assert!(
                (libc::SKF_LL_OFF..libc::SKF_NET_OFF).contains(&k),
                "absolute load {k} is not link-layer relative"
            );
            let off = (k - libc::SKF_LL_OFF) as usize;
            let b = frame.get(off..off + size)?;
            Some(b.iter().fold(0u32, |v, x| (v << 8) | u32::from(*x)))
        };
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        loop {
            let i = prog[pc];
            match i.code {
                c if c == BPF_LD | BPF_W | BPF_ABS => match load(i.k, 4) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == BPF_LD | BPF_H | BPF_ABS => match load(i.k, 2) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == BPF_MISC | BPF_TAX => x = a,
                c if c == BPF_ALU | BPF_XOR | BPF_X => a ^= x,
                c if c == BPF_JMP | BPF_JEQ | BPF_K => {
                    pc += usize::from(if a == i.k { i.jt } else { i.jf });
                }
                c if c == BPF_RET | BPF_A => return a,
                c if c == BPF_RET | BPF_K => return i.k,
                c => panic!("opcode {c:#x} not interpreted"),
            }
            pc += 1;
        }
    }

    #[test]
    fn fanout_program_computes_owner_core() {
        let prog = fanout_program();
        assert!(prog.len() <= 4096);
        for Sample {
            frame, src, dst, ..
        } in sample_frames()
        {
            let r = run_cbpf(&prog, &frame);
            for cores in 1..=8 {
                assert_eq!(r as usize % cores, owner_core(&src, &dst, cores));
            }
        }
        let v4 = ipv4_frame([198, 18, 0, 1], [198, 19, 7, 9], 0);
        // Not IP, VLAN tag still in the data (QinQ inner), truncated: member 0.
        let mut arp = v4.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(run_cbpf(&prog, &arp), 0);
        assert_eq!(run_cbpf(&prog, &tagged(v4.clone(), 5)), 0);
        assert_eq!(run_cbpf(&prog, &v4[..28]), 0);
        assert_eq!(run_cbpf(&prog, &v4[..10]), 0);
        let s6 = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let d6 = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0xab, 0, 0, 0, 0, 0, 2];
        let v6 = ipv6_frame(s6, d6, 0);
        assert_eq!(run_cbpf(&prog, &v6[..50]), 0);
        // The whole fold, before any modulo.
        assert_eq!(run_cbpf(&prog, &v6), 0x00ab_0003);
        assert_eq!(owner_core(&s6, &d6, usize::MAX), 0x00ab_0003);
    }

    #[test]
    fn kernel_fanout_steers_like_owner_core() {
        if !root_or_skip("kernel_fanout_steers_like_owner_core") {
            return;
        }
        let mut lab = Lab::new('f');
        let (s0, s1) = lab.veth("s0", "s1");
        let mut cfg = config(&[&s1]);
        cfg.cores = 2;
        cfg.fanout_group = 0x6000 + (std::process::id() % 0x1000) as u16;
        let mut cores = AfPacket::open_all(&cfg).unwrap();
        let mut inj = AfPacket::open(&config(&[&s0])).unwrap();
        let frames = sample_frames();
        for s in &frames {
            inj.send(0, &s.frame).unwrap();
        }
        let mut seen: Vec<Option<usize>> = vec![None; frames.len()];
        let deadline = Instant::now() + Duration::from_secs(5);
        while seen.iter().any(Option::is_none) && Instant::now() < deadline {
            for (core, io) in cores.iter_mut().enumerate() {
                io.rx_batch(64, 10, &mut |fs, _, _, _| {
                    for f in fs {
                        if let Some(p) = f.windows(4).position(|w| w == MARK) {
                            let id = u16::from_be_bytes([f[p + 4], f[p + 5]]);
                            seen[usize::from(id)] = Some(core);
                        }
                    }
                })
                .unwrap();
            }
        }
        let mut per_core = [0; 2];
        for (
            Sample {
                family, src, dst, ..
            },
            got,
        ) in frames.iter().zip(&seen)
        {
            let want = owner_core(src, dst, 2);
            assert_eq!(*got, Some(want), "IPv{family} {src:?} -> {dst:?}");
            per_core[want] += 1;
        }
        assert!(per_core[0] > 0 && per_core[1] > 0, "{per_core:?}");
    }

    #[test]
    fn missing_interface_is_named() {
        let cfg = AfPacketConfig {
            interfaces: vec!["sm-no-such-if".into()],
            ..AfPacketConfig::default()
        };
        match AfPacket::open(&cfg) {
            Err(e @ AfPacketError::NoSuchInterface { .. }) => {
                assert!(e.to_string().contains("sm-no-such-if"), "{e}");
            }
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("opened a missing interface"),
        }
    }

    #[test]
    fn bad_configurations_are_explained() {
        let base = AfPacketConfig {
            interfaces: vec!["lo".into(), "lo".into(), "lo".into()],
            ..AfPacketConfig::default()
        };
        let msg = |c: AfPacketConfig| match AfPacket::open(&c) {
            Err(AfPacketError::Config(m)) => m,
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("accepted"),
        };
        assert!(
            msg(AfPacketConfig {
                mode: IoMode::Inline,
                ..base.clone()
            })
            .contains("pairs")
        );
        assert!(
            msg(AfPacketConfig {
                block_size: 1000,
                ..base.clone()
            })
            .contains("block_size")
        );
        assert!(
            msg(AfPacketConfig {
                frame_size: 100,
                ..base.clone()
            })
            .contains("frame_size")
        );
        assert!(
            msg(AfPacketConfig {
                core: 2,
                cores: 2,
                ..base.clone()
            })
            .contains("core")
        );
        assert!(
            msg(AfPacketConfig {
                interfaces: vec![],
                ..base.clone()
            })
            .contains("no interfaces")
        );
        // Loopback has no Ethernet header.
        assert!(msg(base).contains("not an Ethernet interface"));
    }

    #[test]
    fn batch_vector_keeps_its_allocation() {
        let data = [1u8, 2, 3];
        let mut v: Vec<&[u8]> = Vec::with_capacity(64);
        v.push(&data);
        let (ptr, cap) = (v.as_ptr() as usize, v.capacity());
        let w: Vec<&'static [u8]> = recycle(v);
        assert_eq!((w.as_ptr() as usize, w.capacity(), w.len()), (ptr, cap, 0));
    }
}
