#![allow(unsafe_code)]
//! `Netmap`, the real back-end: `/dev/netmap`, `NIOCREGIF`, `mmap`, `NIOCRXSYNC`/`poll` and
//! `NIOCTXSYNC` behind `SysKernel`, the [`RingKernel`] the ring logic of `engine` runs on. The
//! only file of the netmap back-end with `unsafe`.

use super::config::{NetmapConfig, NetmapError, validate};
use super::engine::{PortAttach, RingCounters, RingEngine, RingKernel};
use super::sys;
use crate::io::{BatchHandler, IoStats, PacketIo, PortId};
use crate::proto::wire::LinkType;
use std::io;

/// The API version we speak. netmap_legacy.c rejects `nr_version < 14` on NIOCREGIF.
pub(super) const NETMAP_API: u32 = 14;

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
