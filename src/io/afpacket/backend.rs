#![allow(unsafe_code)]
//! `AfPacket`, one core's instance over all its ports: it opens the sockets, waits for frames,
//! reads the rings round robin into one batch for the engine, forwards what the engine marks
//! `Forward` and hands the blocks back to the kernel, and sums the kernel's drop counters.

use super::config::{AfPacketConfig, AfPacketError, validate};
use super::ring::{BLOCK_FIRST_PKT, BLOCK_NUM_PKTS, Cursor, Ring, next_frame};
use super::socket::{ifindex, open_rx, open_tx, socket_error};
use super::tx::{TxBatch, send_frame};
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

/// Gives a reused batch vector a new element lifetime. It is empty, so nothing is converted,
/// and the in-place collection keeps its allocation.
pub(super) fn recycle<'b>(mut v: Vec<&[u8]>) -> Vec<&'b [u8]> {
    v.clear();
    v.into_iter().map(|_| &[][..]).collect()
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
