#![allow(unsafe_code)]
//! `AfXdp`, one core's instance over all its ports: a UMEM shared by every socket of the core,
//! the sockets on this core's receive queues, and the loop that reads the RX rings into one
//! batch, puts the frames the engine forwards on the peer port's TX ring by their UMEM address
//! (no copy in user space), and returns every other frame to the fill rings.

use super::attach::{Attachment, attachment};
use super::bpf::{map_delete, map_lookup, map_update, xskmap_set};
use super::config::{AfXdpConfig, AfXdpError, validate};
use super::fast_prog::{FlowKeyV4, KEY_SIZE, VALUE_SIZE, counts, value};
use super::ring::Mapping;
use super::socket::{
    Bind, Xsk, ifindex, kernel_drops, kick_rx, kick_tx, open_xsk, packet_send, packet_tx, rx_queues,
};
use super::umem::FramePool;
use crate::io::{Action, BatchHandler, FastPath, IoStats, OneWay, PacketIo, PortId, peer};
use crate::proto::wire::LinkType;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// How many `sendto` kicks one turn spends on a TX ring at most: copy mode sends 32 frames per
/// call and answers EAGAIN while more wait, so this bounds a turn without ever blocking.
const MAX_KICKS: usize = 64;

/// Counters particular to AF_XDP (beyond [`IoStats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfXdpCounters {
    /// Forwarded frames dropped because the peer port's TX ring was full.
    pub tx_ring_full: u64,
    /// `sendto` kicks the kernel refused with something else than EAGAIN (EBUSY, ENOBUFS,
    /// ENETDOWN...): the frames stay queued and go with the next kick.
    pub tx_kick_errors: u64,
    /// Frames sent through the AF_PACKET socket of a port on which this core has no AF_XDP
    /// socket (a copy).
    pub tx_via_packet_socket: u64,
    /// Frames handed to `send` that did not fit in a UMEM frame, or found no free frame.
    pub tx_no_frame: u64,
    /// RX descriptors pointing outside the UMEM (never seen; counted rather than trusted).
    pub rx_invalid: u64,
}

/// One core's AF_XDP instance over all configured interfaces.
pub struct AfXdp {
    names: Vec<String>,
    /// Keep the programs attached while this instance lives.
    _attachments: Vec<Arc<Attachment>>,
    /// The interfaces' indexes, by port (the fast path's keys and redirects name them).
    ifindexes: Vec<u32>,
    /// The fast path's flow map, when it is on.
    flows: Option<Arc<OwnedFd>>,
    sockets: Vec<Xsk>,
    /// Per port: the socket that transmits there (this core's first on the port), if any.
    tx_socket: Vec<Option<usize>>,
    /// Per port without an AF_XDP socket on this core: a plain AF_PACKET transmit socket.
    packet_tx: Vec<Option<OwnedFd>>,
    /// Sockets whose TX ring holds frames the kernel has not taken yet.
    tx_pending: Vec<bool>,
    pool: FramePool,
    frame_size: u32,
    zero_copy: bool,
    driver_mode: bool,
    first_socket: usize,
    pollfds: Vec<libc::pollfd>,
    frames: Vec<&'static [u8]>,
    addrs: Vec<u64>,
    ports: Vec<PortId>,
    actions: Vec<Action>,
    stats: IoStats,
    counters: AfXdpCounters,
    /// The UMEM; declared last so it is unmapped after the sockets are closed.
    umem: Mapping,
}

impl AfXdp {
    /// Opens every interface for `cfg.core`: an AF_XDP socket on each of the interface's
    /// receive queues `core`, `core + cores`, ... (queue `q` is served by core `q % cores`).
    pub fn open(cfg: &AfXdpConfig) -> Result<AfXdp, AfXdpError> {
        validate(cfg)?;
        let mut plan = Vec::new(); // (port, ifindex, queue)
        let mut attachments = Vec::new();
        let mut indexes = Vec::new();
        for (port, name) in cfg.interfaces.iter().enumerate() {
            let index = ifindex(name)?;
            let queues = rx_queues(name);
            attachments.push(attachment(name, index, queues, cfg.attach, cfg.fast_path)?);
            indexes.push(index);
            for q in (cfg.core as u32..queues).step_by(cfg.cores) {
                plan.push((port, index, q));
            }
        }
        let driver_mode = attachments.iter().all(|a| a.driver_mode);
        let n_frames = (plan.len().max(1) as u32) * cfg.frames_per_socket;
        let umem = Mapping::anonymous(n_frames as usize * cfg.frame_size as usize)
            .map_err(|e| AfXdpError::refused(&cfg.interfaces[0], "mmap(UMEM)", e))?;
        let mut sockets: Vec<Xsk> = Vec::with_capacity(plan.len());
        let mut zero_copy = false;
        for &(port, index, queue) in &plan {
            let name = &cfg.interfaces[port];
            let xsk = match sockets.first() {
                Some(owner) => open_xsk(
                    name,
                    index,
                    queue,
                    port,
                    cfg.ring_size,
                    Bind::Shared { owner: &owner.fd },
                )?,
                None => {
                    let owner = |zc| Bind::Owner {
                        umem: &umem,
                        frame_size: cfg.frame_size,
                        zero_copy: zc,
                    };
                    // Zero-copy needs driver support; a refusal leaves the socket unusable, so
                    // copy mode starts over with a new one.
                    let zc = if cfg.try_zero_copy && driver_mode {
                        open_xsk(name, index, queue, port, cfg.ring_size, owner(true)).ok()
                    } else {
                        None
                    };
                    zero_copy = zc.is_some();
                    match zc {
                        Some(x) => x,
                        None => open_xsk(name, index, queue, port, cfg.ring_size, owner(false))?,
                    }
                }
            };
            sockets.push(xsk);
        }
        let ports = cfg.interfaces.len();
        let tx_socket: Vec<Option<usize>> = (0..ports)
            .map(|p| sockets.iter().position(|s| s.port == p))
            .collect();
        let mut packet = Vec::with_capacity(ports);
        for (p, t) in tx_socket.iter().enumerate() {
            packet.push(match t {
                Some(_) => None,
                None => Some(packet_tx(&cfg.interfaces[p], indexes[p])?),
            });
        }
        let flows = attachments.first().and_then(|a| a.flows.clone());
        let mut io = AfXdp {
            names: cfg.interfaces.clone(),
            ifindexes: indexes,
            flows,
            _attachments: attachments,
            tx_pending: vec![false; sockets.len()],
            pollfds: sockets
                .iter()
                .map(|s| libc::pollfd {
                    fd: s.fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect(),
            sockets,
            tx_socket,
            packet_tx: packet,
            pool: FramePool::new(n_frames, cfg.frame_size),
            frame_size: cfg.frame_size,
            zero_copy,
            driver_mode,
            first_socket: 0,
            frames: Vec::with_capacity(256),
            addrs: Vec::with_capacity(256),
            ports: Vec::with_capacity(256),
            actions: Vec::with_capacity(256),
            stats: IoStats::default(),
            counters: AfXdpCounters::default(),
            umem,
        };
        // Fill rings first, then the map: a frame redirected to a socket without fill frames
        // would be dropped.
        io.refill();
        for s in &io.sockets {
            let a = &io._attachments[s.port];
            xskmap_set(&a.map, s.queue, &s.fd).map_err(|e| {
                AfXdpError::refused(&io.names[s.port], "bpf(BPF_MAP_UPDATE_ELEM, XSKMAP)", e)
            })?;
        }
        Ok(io)
    }

    /// Opens the instances of cores `0..cfg.cores` (`cfg.core` is ignored).
    pub fn open_all(cfg: &AfXdpConfig) -> Result<Vec<AfXdp>, AfXdpError> {
        (0..cfg.cores.max(1))
            .map(|core| {
                AfXdp::open(&AfXdpConfig {
                    core,
                    ..cfg.clone()
                })
            })
            .collect()
    }

    /// The interface names, by port.
    pub fn interfaces(&self) -> &[String] {
        &self.names
    }

    /// AF_XDP sockets this core has (one per port and served queue).
    pub fn sockets(&self) -> usize {
        self.sockets.len()
    }

    /// Whether the sockets run zero-copy (else the kernel copies frames in and out of the
    /// UMEM), and whether the program sits in the drivers' XDP hook (else the generic one).
    pub fn modes(&self) -> (bool, bool) {
        (self.zero_copy, self.driver_mode)
    }

    pub fn counters(&self) -> AfXdpCounters {
        self.counters
    }

    /// Takes back transmitted frames and tops every fill ring up from the pool.
    fn refill(&mut self) {
        for s in &mut self.sockets {
            let n = s.comp.ready(s.comp.size());
            for i in 0..n {
                self.pool.give_back(s.comp.peek(i));
            }
            s.comp.release(n);
        }
        for s in &mut self.sockets {
            let want = s.fill.free(s.fill.size()).min(self.pool.len() as u32);
            let mut pushed = 0;
            for _ in 0..want {
                let Some(addr) = self.pool.take() else { break };
                if !s.fill.push(addr) {
                    self.pool.give_back(addr);
                    break;
                }
                pushed += 1;
            }
            if pushed > 0 {
                s.fill.publish();
                if s.fill.needs_wakeup() {
                    kick_rx(&s.fd);
                }
            }
        }
    }

    /// Publishes the TX rings and asks the kernel to send, never blocking.
    fn flush_tx(&mut self) {
        for (i, s) in self.sockets.iter_mut().enumerate() {
            if !self.tx_pending[i] {
                continue;
            }
            s.tx.publish();
            // Copy mode transmits only inside sendto (or poll), whatever the flag says.
            if !self.zero_copy || s.tx.needs_wakeup() {
                for _ in 0..MAX_KICKS {
                    match kick_tx(&s.fd) {
                        Ok(()) => {}
                        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
                        Err(_) => {
                            self.counters.tx_kick_errors += 1;
                            break;
                        }
                    }
                    if s.tx.outstanding() == 0 {
                        break;
                    }
                }
            }
            self.tx_pending[i] = s.tx.outstanding() > 0;
        }
    }

    fn any_ready(&mut self) -> bool {
        self.sockets.iter_mut().any(|s| s.rx.ready(1) > 0)
    }

    fn wait(&mut self, timeout_ms: i32) -> io::Result<()> {
        for p in &mut self.pollfds {
            p.revents = 0;
        }
        // Frames still waiting to be sent: come back soon to kick again.
        let timeout = if self.tx_pending.iter().any(|&p| p) {
            timeout_ms.min(1)
        } else {
            timeout_ms
        };
        // SAFETY: `pollfds` is a live, exclusively borrowed array of `len()` pollfd entries whose
        // descriptors are owned by `self.sockets` (an empty array just sleeps).
        let rc = unsafe {
            libc::poll(
                self.pollfds.as_mut_ptr(),
                self.pollfds.len() as libc::nfds_t,
                timeout,
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        Ok(())
    }
}

impl PacketIo for AfXdp {
    fn link_type(&self) -> LinkType {
        LinkType::Ethernet
    }

    fn rx_batch(
        &mut self,
        max: usize,
        timeout_ms: i32,
        handler: &mut BatchHandler<'_>,
    ) -> io::Result<usize> {
        self.refill();
        if self.tx_pending.iter().any(|&p| p) {
            self.flush_tx();
        }
        if max == 0 {
            return Ok(0);
        }
        if !self.any_ready() {
            self.wait(timeout_ms)?;
        }
        let umem_len = self.umem.len() as u64;
        let base = self.umem.as_ptr();
        let mut frames = crate::io::recycle(std::mem::take(&mut self.frames));
        self.addrs.clear();
        self.ports.clear();
        let n_sockets = self.sockets.len();
        for k in 0..n_sockets {
            let si = (self.first_socket + k) % n_sockets;
            let s = &mut self.sockets[si];
            let want = (max - frames.len()) as u32;
            let n = s.rx.ready(want);
            for i in 0..n {
                let d = s.rx.peek(i);
                let end = d.addr.checked_add(u64::from(d.len));
                if end.is_none_or(|e| e > umem_len) {
                    self.counters.rx_invalid += 1;
                    self.pool.give_back(d.addr);
                    continue;
                }
                // SAFETY: the range lies inside the UMEM (checked above), and the frame is ours
                // from the RX ring until it goes back to a fill or TX ring below, after the
                // handler and after `frames` is emptied.
                let bytes = unsafe {
                    std::slice::from_raw_parts(base.add(d.addr as usize), d.len as usize)
                };
                frames.push(bytes);
                self.addrs.push(d.addr);
                self.ports.push(s.port as PortId);
                self.stats.rx_frames += 1;
                self.stats.rx_bytes += u64::from(d.len);
            }
            // The descriptors are copied out; the frames stay ours.
            s.rx.release(n);
            if frames.len() >= max {
                break;
            }
        }
        if n_sockets > 0 {
            self.first_socket = (self.first_socket + 1) % n_sockets;
        }
        let n = frames.len();
        if n > 0 {
            let now_ns = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            self.actions.clear();
            self.actions.resize(n, Action::Drop);
            handler(&frames, &self.ports, now_ns, &mut self.actions);
            for (i, bytes) in frames.iter().enumerate() {
                let (addr, len) = (self.addrs[i], bytes.len());
                if self.actions[i] != Action::Forward {
                    self.pool.give_back(addr);
                    continue;
                }
                let out = usize::from(peer(self.ports[i]));
                match self.tx_socket.get(out).copied().flatten() {
                    Some(t) => {
                        let desc = libc::xdp_desc {
                            addr,
                            len: len as u32,
                            options: 0,
                        };
                        if self.sockets[t].tx.push(desc) {
                            self.tx_pending[t] = true;
                            self.stats.tx_frames += 1;
                            self.stats.tx_bytes += len as u64;
                        } else {
                            self.counters.tx_ring_full += 1;
                            self.stats.tx_errors += 1;
                            self.pool.give_back(addr);
                        }
                    }
                    None => {
                        let sent = match self.packet_tx.get(out).and_then(Option::as_ref) {
                            Some(fd) => packet_send(fd, bytes).is_ok(),
                            None => false,
                        };
                        if sent {
                            self.counters.tx_via_packet_socket += 1;
                            self.stats.tx_frames += 1;
                            self.stats.tx_bytes += len as u64;
                        } else {
                            self.stats.tx_errors += 1;
                        }
                        self.pool.give_back(addr);
                    }
                }
            }
        }
        // No slice into the UMEM may survive past here: the frames go back to the kernel.
        self.frames = crate::io::recycle(frames);
        self.flush_tx();
        self.refill();
        Ok(n)
    }

    fn send(&mut self, port: PortId, frame: &[u8]) -> io::Result<()> {
        let p = usize::from(port);
        if p >= self.names.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no port {port}"),
            ));
        }
        let Some(t) = self.tx_socket[p] else {
            // `open` gives every port without an AF_XDP socket a packet socket.
            let sent = match self.packet_tx[p].as_ref() {
                Some(fd) => packet_send(fd, frame),
                None => Err(io::Error::other("no transmit socket")),
            };
            return match sent {
                Ok(()) => {
                    self.counters.tx_via_packet_socket += 1;
                    self.stats.tx_frames += 1;
                    self.stats.tx_bytes += frame.len() as u64;
                    Ok(())
                }
                Err(e) => {
                    self.stats.tx_errors += 1;
                    Err(e)
                }
            };
        };
        // Completed transmissions first, so a burst of sends finds free frames.
        self.refill();
        let fail = |io: &mut AfXdp, what: &str| {
            io.stats.tx_errors += 1;
            Err(io::Error::new(io::ErrorKind::WouldBlock, what.to_string()))
        };
        if frame.len() > self.frame_size as usize {
            self.counters.tx_no_frame += 1;
            return fail(self, "frame larger than a UMEM frame");
        }
        let Some(addr) = self.pool.take() else {
            self.counters.tx_no_frame += 1;
            return fail(self, "no free UMEM frame");
        };
        // SAFETY: `addr` is a free frame of the UMEM (from the pool, so neither the kernel nor
        // a batch uses it) and `frame.len()` fits in it (checked above).
        unsafe {
            std::ptr::copy_nonoverlapping(
                frame.as_ptr(),
                self.umem.as_ptr().add(addr as usize),
                frame.len(),
            );
        }
        let desc = libc::xdp_desc {
            addr,
            len: frame.len() as u32,
            options: 0,
        };
        if !self.sockets[t].tx.push(desc) {
            self.pool.give_back(addr);
            self.counters.tx_ring_full += 1;
            return fail(self, "TX ring full");
        }
        self.tx_pending[t] = true;
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += frame.len() as u64;
        self.flush_tx();
        Ok(())
    }

    fn stats(&self) -> IoStats {
        IoStats {
            kernel_drops: self.sockets.iter().map(|s| kernel_drops(&s.fd)).sum(),
            ..self.stats
        }
    }

    fn fast_path(&mut self) -> Option<&mut dyn FastPath> {
        if self.flows.is_some() {
            Some(self)
        } else {
            None
        }
    }
}

impl AfXdp {
    /// The map key of `flow` arriving on `port`, and the map; `None` for a port this instance
    /// does not have or with the fast path off.
    fn flow_key(&self, port: PortId, flow: &OneWay) -> Option<(&OwnedFd, [u8; KEY_SIZE])> {
        let map = self.flows.as_deref()?;
        let ifindex = *self.ifindexes.get(usize::from(port))?;
        let key = FlowKeyV4 {
            ifindex,
            src: flow.src,
            dst: flow.dst,
            sport: flow.sport,
            dport: flow.dport,
            proto: flow.proto,
        };
        Some((map, key.bytes()))
    }
}

impl FastPath for AfXdp {
    fn offload(&mut self, port: PortId, flow: &OneWay) -> io::Result<()> {
        let out = self
            .ifindexes
            .get(usize::from(peer(port)))
            .copied()
            .ok_or_else(|| io::Error::other("port without a peer"))?;
        let (map, key) = self
            .flow_key(port, flow)
            .ok_or_else(|| io::Error::other("no fast path on this port"))?;
        map_update(map, &key, &value(out))
    }

    fn withdraw(&mut self, port: PortId, flow: &OneWay) -> io::Result<bool> {
        match self.flow_key(port, flow) {
            Some((map, key)) => map_delete(map, &key),
            None => Ok(false),
        }
    }

    fn forwarded(&mut self, port: PortId, flow: &OneWay) -> io::Result<Option<(u64, u64)>> {
        let Some((map, key)) = self.flow_key(port, flow) else {
            return Ok(None);
        };
        let mut v = [0u8; VALUE_SIZE];
        Ok(map_lookup(map, &key, &mut v)?.then(|| counts(&v)))
    }
}
