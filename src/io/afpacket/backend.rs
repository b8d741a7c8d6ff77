#![allow(unsafe_code)]
//! `AfPacket`, one core's instance over all its ports: it opens the sockets, waits for frames,
//! reads the rings round robin into one batch for the engine, copies what the engine marks
//! `Forward` from the receive block straight into the peer port's transmit ring (one kick per
//! port and batch), hands the blocks back to the kernel, and sums the kernel's drop counters.

use super::config::{AfPacketConfig, AfPacketError, validate};
use super::ring::{BLOCK_FIRST_PKT, BLOCK_NUM_PKTS, Cursor, Ring, next_frame};
use super::socket::{ifindex, open_rx, open_tx, socket_error, tx_fill_for};
use super::tx::{TxFill, TxRefused, TxRing, TxVersion};
use crate::io::{Action, BatchHandler, IoMode, IoStats, PacketIo, PortId, peer};
use crate::proto::wire::LinkType;
use std::cell::Cell;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{SystemTime, UNIX_EPOCH};

/// One core's AF_PACKET instance over all configured interfaces.
pub struct AfPacket {
    mode: IoMode,
    names: Vec<String>,
    rx: Vec<OwnedFd>,
    tx: Vec<OwnedFd>,
    tx_rings: Vec<TxRing>,
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
    stats: IoStats,
    truncated_frames: u64,
    /// Frames refused because the next transmit slot was still in flight (in `tx_errors`).
    tx_ring_full: u64,
    /// Frames refused for their length: shorter than an Ethernet header or longer than the
    /// output interface's MTU allows (in `tx_errors`).
    tx_bad_length: u64,
    /// `PACKET_STATISTICS` resets the kernel counters on every read, so they are summed here;
    /// a `Cell` because `stats()` takes `&self`.
    kernel_drops: Cell<u64>,
    losing_seen: bool,
}

impl AfPacket {
    /// Opens every interface for `cfg.core`. With several cores, call this in core order (or
    /// use [`open_all`](Self::open_all)): the kernel numbers fanout members in joining order.
    pub fn open(cfg: &AfPacketConfig) -> Result<AfPacket, AfPacketError> {
        Self::open_with(cfg, TxVersion::V3, None)
    }

    /// [`open`](Self::open) with the transmit ring's first choice of frame layout and, if
    /// given, its fill mode for every port (the tests force each to exercise them all).
    pub(super) fn open_with(
        cfg: &AfPacketConfig,
        tx_version: TxVersion,
        tx_fill: Option<TxFill>,
    ) -> Result<AfPacket, AfPacketError> {
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
            tx_rings: Vec::with_capacity(n),
            rings: Vec::with_capacity(n),
            cursors: Vec::with_capacity(n),
            first_port: 0,
            pollfds: Vec::with_capacity(n),
            frames: Vec::with_capacity(256),
            ports: Vec::with_capacity(256),
            truncated: Vec::with_capacity(256),
            actions: Vec::with_capacity(256),
            stats: IoStats::default(),
            truncated_frames: 0,
            tx_ring_full: 0,
            tx_bad_length: 0,
            kernel_drops: Cell::new(0),
            losing_seen: false,
        };
        for (i, (name, &index)) in cfg.interfaces.iter().zip(&ifindexes).enumerate() {
            // validate() checked that every group id fits.
            let group = cfg.fanout_group.wrapping_add(i as u16);
            let (rx, ring) = open_rx(name, index, cfg, group)?;
            let fill = tx_fill.unwrap_or_else(|| tx_fill_for(name));
            let (tx, tx_ring) = open_tx(name, index, cfg.tx_slots as usize, tx_version, fill)?;
            io.pollfds.push(libc::pollfd {
                fd: rx.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            io.rx.push(rx);
            io.tx.push(tx);
            io.tx_rings.push(tx_ring);
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

    /// Forwarded frames dropped because the output port's transmit ring was full.
    pub fn tx_ring_full(&self) -> u64 {
        self.tx_ring_full
    }

    /// Forwarded or handed-over frames refused for their length (see `tx_errors`).
    pub fn tx_bad_length(&self) -> u64 {
        self.tx_bad_length
    }

    /// The transmit rings' fill modes, by port.
    #[cfg(test)]
    pub(super) fn tx_fills(&self) -> impl Iterator<Item = TxFill> + '_ {
        self.tx_rings.iter().map(|r| r.fill())
    }

    /// The transmit rings' frame layout, slot count and slots not yet handed back, by port.
    #[cfg(test)]
    pub(super) fn tx_rings(&self) -> impl Iterator<Item = (TxVersion, usize, usize)> + '_ {
        self.tx_rings
            .iter()
            .map(|r| (r.version(), r.slots(), r.busy_slots()))
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
            tx_rings,
            rings,
            cursors,
            first_port,
            frames: frame_buf,
            ports,
            truncated,
            actions,
            stats,
            truncated_frames,
            tx_ring_full,
            tx_bad_length,
            losing_seen,
            ..
        } = self;
        let mut frames = crate::io::recycle(std::mem::take(frame_buf));
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
                // Each forwarded frame is copied once, from the receive block (where `frames`
                // points) into a transmit slot; one kick per output port and batch.
                for (out, (fd, ring)) in tx.iter().zip(tx_rings.iter_mut()).enumerate() {
                    for i in 0..n {
                        if actions[i] != Action::Forward
                            || truncated[i]
                            || usize::from(peer(ports[i])) != out
                        {
                            continue;
                        }
                        match ring.push(fd, frames[i]) {
                            Ok(()) => {
                                stats.tx_frames += 1;
                                stats.tx_bytes += frames[i].len() as u64;
                            }
                            Err(why) => {
                                stats.tx_errors += 1;
                                match why {
                                    TxRefused::RingFull => *tx_ring_full += 1,
                                    TxRefused::BadLength => *tx_bad_length += 1,
                                }
                            }
                        }
                    }
                }
            }
        }
        // Kick every port with new requests, or with requests the kernel left behind last
        // time (its socket buffer was full), even in a batch that forwarded nothing to it. A
        // kick that fails (the link went down) leaves its frames in the ring; a ring that stays
        // full counts every further frame in `tx_errors`.
        for (fd, ring) in tx.iter().zip(tx_rings.iter_mut()) {
            if ring.needs_kick() {
                let _ = ring.kick(fd);
            }
        }
        // No slice into the ring may survive the hand-back below.
        *frame_buf = crate::io::recycle(frames);
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
        let p = usize::from(port);
        let (Some(fd), Some(ring)) = (self.tx.get(p), self.tx_rings.get_mut(p)) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no port {port}"),
            ));
        };
        match ring.push(fd, frame) {
            Ok(()) => {
                self.stats.tx_frames += 1;
                self.stats.tx_bytes += frame.len() as u64;
                // A handed-over frame goes at once (it does not wait for the next batch). A
                // failed kick (link down) leaves it queued in the ring, like a forwarded one.
                let _ = ring.kick(fd);
                Ok(())
            }
            Err(why) => {
                self.stats.tx_errors += 1;
                match why {
                    TxRefused::RingFull => self.tx_ring_full += 1,
                    TxRefused::BadLength => self.tx_bad_length += 1,
                }
                Err(why.to_io(frame.len()))
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
