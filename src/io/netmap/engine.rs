//! The ring logic of one core, generic over [`RingKernel`]: the kernel side as the engine sees
//! it (the shared regions and the sync calls). It walks the RX rings into a batch, forwards
//! what the engine marks `Forward` by a buffer swap or a copy, transmits, and hands the slots
//! back. The system calls are behind the trait, so the tests run all of it against an
//! in-memory fake.

use super::layout::{NS_BUF_CHANGED, NS_MOREFRAG};
use super::ring::{RingView, locate_rings};
use crate::io::{Action, BatchHandler, IoMode, IoStats, PortId, peer};
use std::io;

/// Most frames handed to the engine in one batch; the per-batch scratch arrays live on the
/// stack at this size, so a batch never allocates.
pub const MAX_BATCH: usize = 256;

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
pub(super) struct PortRings {
    pub(super) region: usize,
    pub(super) rx: RingView,
    pub(super) tx: RingView,
    /// Our copy of rx head/cur: the walk starts here, never from shared memory.
    pub(super) rx_head: u32,
    pub(super) tx_head: u32,
    /// TX slots published since the last NIOCTXSYNC.
    pub(super) tx_dirty: bool,
    /// Already asked the kernel to reclaim TX slots during this batch.
    pub(super) tx_reclaimed: bool,
    /// Inside a multi-slot (NS_MOREFRAG) packet, whose slots are all dropped.
    pub(super) in_chain: bool,
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
    pub(super) kernel: K,
    pub(super) ports: Vec<PortRings>,
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
