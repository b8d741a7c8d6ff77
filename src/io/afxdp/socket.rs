#![allow(unsafe_code)]
//! Opening an AF_XDP socket on one receive queue of an interface: the UMEM registration (on
//! the first socket of a core) or the shared-UMEM bind (on the others), the four rings and
//! their mappings, in the order af_xdp.rst prescribes. Also the interface lookups and the
//! AF_PACKET transmit socket used where a core has no AF_XDP socket on a port.

use super::config::AfXdpError;
use super::ring::{Layout, Mapping, Ring};
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// One AF_XDP socket bound to (interface, queue), with its rings.
pub(super) struct Xsk {
    pub fd: OwnedFd,
    pub port: usize,
    pub queue: u32,
    pub fill: Ring<u64>,
    pub comp: Ring<u64>,
    pub rx: Ring<libc::xdp_desc>,
    pub tx: Ring<libc::xdp_desc>,
}

/// How a socket binds: the first of a core registers the UMEM and picks the copy mode; the
/// others share its UMEM (and inherit the mode).
#[derive(Clone, Copy)]
pub(super) enum Bind<'a> {
    Owner {
        umem: &'a Mapping,
        frame_size: u32,
        zero_copy: bool,
    },
    Shared {
        owner: &'a OwnedFd,
    },
}

pub(super) fn ifindex(name: &str) -> Result<u32, AfXdpError> {
    crate::io::ethernet_ifindex(name).map_err(|r| match r {
        crate::io::InterfaceRefusal::Missing => AfXdpError::NoSuchInterface { name: name.into() },
        crate::io::InterfaceRefusal::NotEthernet(t) => {
            AfXdpError::Config(crate::io::not_ethernet(name, &t))
        }
    })
}

/// The interface's receive queues (`/sys/class/net/NAME/queues/rx-*`); 1 when unreadable.
pub(super) fn rx_queues(name: &str) -> u32 {
    std::fs::read_dir(format!("/sys/class/net/{name}/queues"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                .count() as u32
        })
        .unwrap_or(1)
        .max(1)
}

fn sockopt<T: Copy>(fd: &OwnedFd, name: libc::c_int, value: &T) -> io::Result<()> {
    crate::io::afpacket::set_option(fd, libc::SOL_XDP, name, value)
}

fn map_ring<T: Copy>(
    fd: &OwnedFd,
    off: &libc::xdp_ring_offset,
    entries: u32,
    pgoff: u64,
) -> io::Result<Ring<T>> {
    let layout = Layout {
        producer: off.producer as usize,
        consumer: off.consumer as usize,
        flags: off.flags as usize,
        desc: off.desc as usize,
        entries,
    };
    let len = layout.desc + entries as usize * size_of::<T>();
    Ring::mapped(Mapping::ring(fd.as_raw_fd(), len, pgoff)?, layout)
}

/// Opens a socket on `queue` of `name` (port `port`) with rings of `ring_size` entries.
pub(super) fn open_xsk(
    name: &str,
    index: u32,
    queue: u32,
    port: usize,
    ring_size: u32,
    bind: Bind<'_>,
) -> Result<Xsk, AfXdpError> {
    let refused = |step, e| AfXdpError::refused(name, step, e);
    // SAFETY: plain socket(2) call; the result is checked.
    let raw = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(refused("socket(AF_XDP)", io::Error::last_os_error()));
    }
    // SAFETY: `raw` is a new descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    if let Bind::Owner {
        umem, frame_size, ..
    } = bind
    {
        let reg = libc::xdp_umem_reg {
            addr: umem.as_ptr() as u64,
            len: umem.len() as u64,
            chunk_size: frame_size,
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        };
        sockopt(&fd, libc::XDP_UMEM_REG, &reg)
            .map_err(|e| refused("setsockopt(XDP_UMEM_REG)", e))?;
    }
    // With a UMEM shared across interfaces or queues every socket has its own fill and
    // completion rings (af_xdp.rst, "XDP_SHARED_UMEM bind flag").
    let size = ring_size as libc::c_int;
    sockopt(&fd, libc::XDP_UMEM_FILL_RING, &size)
        .map_err(|e| refused("setsockopt(XDP_UMEM_FILL_RING)", e))?;
    sockopt(&fd, libc::XDP_UMEM_COMPLETION_RING, &size)
        .map_err(|e| refused("setsockopt(XDP_UMEM_COMPLETION_RING)", e))?;
    sockopt(&fd, libc::XDP_RX_RING, &size).map_err(|e| refused("setsockopt(XDP_RX_RING)", e))?;
    sockopt(&fd, libc::XDP_TX_RING, &size).map_err(|e| refused("setsockopt(XDP_TX_RING)", e))?;
    // SAFETY: plain data; all-zero is a valid value.
    let mut off: libc::xdp_mmap_offsets = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::xdp_mmap_offsets>() as libc::socklen_t;
    // SAFETY: `off` is a writable xdp_mmap_offsets and `len` holds its size.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_XDP,
            libc::XDP_MMAP_OFFSETS,
            (&raw mut off).cast(),
            &mut len,
        )
    };
    if rc < 0 || len as usize != size_of::<libc::xdp_mmap_offsets>() {
        let e = if rc < 0 {
            io::Error::last_os_error()
        } else {
            io::Error::other("kernel without ring flags (before Linux 5.4)")
        };
        return Err(refused("getsockopt(XDP_MMAP_OFFSETS)", e));
    }
    let fill = map_ring(&fd, &off.fr, ring_size, libc::XDP_UMEM_PGOFF_FILL_RING)
        .map_err(|e| refused("mmap(fill ring)", e))?;
    let comp = map_ring(
        &fd,
        &off.cr,
        ring_size,
        libc::XDP_UMEM_PGOFF_COMPLETION_RING,
    )
    .map_err(|e| refused("mmap(completion ring)", e))?;
    let rx = map_ring(&fd, &off.rx, ring_size, libc::XDP_PGOFF_RX_RING as u64)
        .map_err(|e| refused("mmap(RX ring)", e))?;
    let tx = map_ring(&fd, &off.tx, ring_size, libc::XDP_PGOFF_TX_RING as u64)
        .map_err(|e| refused("mmap(TX ring)", e))?;
    let (flags, shared_fd, step) = match bind {
        Bind::Owner {
            zero_copy: true, ..
        } => (
            libc::XDP_ZEROCOPY | libc::XDP_USE_NEED_WAKEUP,
            0,
            "bind(AF_XDP, XDP_ZEROCOPY)",
        ),
        Bind::Owner { .. } => (
            libc::XDP_COPY | libc::XDP_USE_NEED_WAKEUP,
            0,
            "bind(AF_XDP, XDP_COPY)",
        ),
        Bind::Shared { owner } => (
            libc::XDP_SHARED_UMEM,
            owner.as_raw_fd() as u32,
            "bind(AF_XDP, XDP_SHARED_UMEM)",
        ),
    };
    let sxdp = libc::sockaddr_xdp {
        sxdp_family: libc::AF_XDP as u16,
        sxdp_flags: flags,
        sxdp_ifindex: index,
        sxdp_queue_id: queue,
        sxdp_shared_umem_fd: shared_fd,
    };
    // SAFETY: `sxdp` is a complete sockaddr_xdp and the length says so.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const sxdp).cast(),
            size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(refused(step, io::Error::last_os_error()));
    }
    Ok(Xsk {
        fd,
        port,
        queue,
        fill,
        comp,
        rx,
        tx,
    })
}

/// Frames the kernel dropped for this socket (`XDP_STATISTICS`: no fill frame, RX ring full,
/// invalid descriptors).
pub(super) fn kernel_drops(fd: &OwnedFd) -> u64 {
    // SAFETY: plain data; all-zero is a valid value.
    let mut st: libc::xdp_statistics = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::xdp_statistics>() as libc::socklen_t;
    // SAFETY: `st` is a writable xdp_statistics and `len` holds its size.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_XDP,
            libc::XDP_STATISTICS,
            (&raw mut st).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return 0;
    }
    st.rx_dropped + st.rx_invalid_descs + st.rx_ring_full
}

/// Asks the kernel to work the TX ring (copy mode transmits only inside this call).
/// Non-blocking; the error says why nothing (more) was sent.
pub(super) fn kick_tx(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: no buffer and no address: sendto(2) on an AF_XDP socket only wakes the kernel.
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
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Asks the kernel to look at the fill ring (drivers that set `XDP_RING_NEED_WAKEUP` on it).
pub(super) fn kick_rx(fd: &OwnedFd) {
    // SAFETY: no buffer and no address: recvfrom(2) on an AF_XDP socket only wakes the kernel.
    unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            std::ptr::null_mut(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
    }
}

/// A ring-less AF_PACKET socket that sends on `index`: how a core without an AF_XDP socket on
/// a port (fewer queues than cores) still transmits there.
pub(super) fn packet_tx(name: &str, index: u32) -> Result<OwnedFd, AfXdpError> {
    // SAFETY: plain socket(2) call; the result is checked. Protocol 0: it receives nothing.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(AfXdpError::refused(
            name,
            "socket(AF_PACKET) for transmission",
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: `raw` is a new descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
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
        return Err(AfXdpError::refused(
            name,
            "bind(AF_PACKET) for transmission",
            io::Error::last_os_error(),
        ));
    }
    Ok(fd)
}

pub(super) fn packet_send(fd: &OwnedFd, frame: &[u8]) -> io::Result<()> {
    // SAFETY: `frame` is a live byte slice; the socket is bound to its interface. MSG_DONTWAIT:
    // a full queue is a counted error, never a stalled core.
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
