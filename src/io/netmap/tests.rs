//! The ring logic against an in-memory netmap laid out as the kernel lays it out, with a fake
//! kernel that checks every sync the way the real one would; the layouts and constants pinned
//! to netmap_sys's; the configuration checks, and the error an open without the module ends
//! in. None of it needs the kernel module.

use super::backend::{NETMAP_API, Netmap};
use super::config::{NetmapConfig, NetmapError, validate};
use super::engine::{PortAttach, RingEngine, RingKernel};
use super::layout::{NS_BUF_CHANGED, NS_MOREFRAG, off, rd_i64, rd_u16, rd_u32, wr, wr_u16, wr_u32};
use super::ring::locate_rings;
use super::sys;
use crate::io::{Action, IoMode, PortId};
use std::collections::VecDeque;
use std::io;
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
fn batch(e: &mut RingEngine<FakeNetmap>, max: usize, verdict: Action) -> Vec<(PortId, Vec<u8>)> {
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
