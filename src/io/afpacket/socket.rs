#![allow(unsafe_code)]
//! Opening the packet sockets of a port: the interface lookup, the receive socket with its
//! TPACKET_V3 ring, promiscuous membership and fanout group, and the transmit socket with its
//! TX ring, each in the order the kernel requires, with every refusal turned into an
//! `AfPacketError` that names the interface and the call.

use super::config::{AfPacketConfig, AfPacketError};
use super::fanout::fanout_program;
use super::ring::Ring;
use super::tx::{TxFill, TxGeometry, TxRing, TxVersion};
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub(super) fn ifindex(name: &str) -> Result<libc::c_uint, AfPacketError> {
    crate::io::ethernet_ifindex(name).map_err(|r| match r {
        crate::io::InterfaceRefusal::Missing => {
            AfPacketError::NoSuchInterface { name: name.into() }
        }
        crate::io::InterfaceRefusal::NotEthernet(t) => {
            AfPacketError::Config(crate::io::not_ethernet(name, &t))
        }
    })
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
    set_option(fd, libc::SOL_PACKET, name, value)
}

/// `setsockopt(2)` of option `name` at `level` (the AF_XDP back-end sets its SOL_XDP options
/// through it too).
pub(crate) fn set_option<T: Copy>(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` of `size_of::<T>()` bytes, the layout the kernel
    // expects for the option (the callers pass the documented struct or int).
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
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

pub(super) fn socket_error(fd: &OwnedFd) -> i32 {
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
pub(super) fn open_rx(
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

/// The interface's MTU (SIOCGIFMTU on `fd`), which bounds what the transmit ring takes.
fn mtu(fd: &OwnedFd, name: &str) -> io::Result<usize> {
    // SAFETY: ifreq is plain data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name too long",
        ));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: SIOCGIFMTU reads the NUL-terminated name from and writes the MTU into `req`, a
    // live, exclusively borrowed ifreq.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFMTU, &raw mut req) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFMTU succeeded, so the union holds the MTU.
    let mtu = unsafe { req.ifr_ifru.ifru_mtu };
    Ok(mtu.max(68) as usize)
}

/// The transmit socket with its TX ring: protocol 0, so it receives nothing; bound to the
/// interface. TPACKET_V3 first (unless `prefer` is V2), TPACKET_V2 where the kernel refuses a
/// V3 transmit ring. `slots` is the wanted number of frame slots (rounded up to whole blocks).
/// `fill`: see [`TxFill`]; [`tx_fill_for`] picks it by interface.
pub(super) fn open_tx(
    name: &str,
    index: libc::c_uint,
    slots: usize,
    prefer: TxVersion,
    fill: TxFill,
) -> Result<(OwnedFd, TxRing), AfPacketError> {
    let err = |what: &'static str, source: io::Error| AfPacketError::Io {
        interface: name.into(),
        what,
        source,
    };
    let fd = packet_socket(name)?;
    let mtu = mtu(&fd, name).map_err(|e| err("ioctl(SIOCGIFMTU)", e))?;
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
    // The kernel skips (and frees) a slot it cannot send instead of stopping the ring at it
    // (TP_STATUS_WRONG_FORMAT would stall every later slot); `TxRing::push` checks lengths
    // first, so this only matters if the MTU shrinks while we run.
    let _ = setsockopt(&fd, libc::PACKET_LOSS, &(1 as libc::c_int));
    if fill == TxFill::Linear {
        setsockopt(&fd, libc::PACKET_VNET_HDR, &(1 as libc::c_int))
            .map_err(|e| err("setsockopt(PACKET_VNET_HDR) of the transmit socket", e))?;
    }
    let mut version = prefer;
    loop {
        let geo = TxGeometry::new(version, mtu, slots, page);
        let v = match version {
            TxVersion::V3 => libc::tpacket_versions::TPACKET_V3,
            TxVersion::V2 => libc::tpacket_versions::TPACKET_V2,
        } as libc::c_int;
        setsockopt(&fd, libc::PACKET_VERSION, &v)
            .map_err(|e| err("setsockopt(PACKET_VERSION) of the transmit socket", e))?;
        let set = match version {
            // A V3 transmit ring takes the V3 request with no block timeout, private area or
            // feature word (the kernel refuses them).
            TxVersion::V3 => setsockopt(
                &fd,
                libc::PACKET_TX_RING,
                &libc::tpacket_req3 {
                    tp_block_size: geo.block_size as u32,
                    tp_block_nr: geo.blocks as u32,
                    tp_frame_size: geo.slot_size as u32,
                    tp_frame_nr: geo.slots as u32,
                    tp_retire_blk_tov: 0,
                    tp_sizeof_priv: 0,
                    tp_feature_req_word: 0,
                },
            ),
            TxVersion::V2 => setsockopt(
                &fd,
                libc::PACKET_TX_RING,
                &libc::tpacket_req {
                    tp_block_size: geo.block_size as u32,
                    tp_block_nr: geo.blocks as u32,
                    tp_frame_size: geo.slot_size as u32,
                    tp_frame_nr: geo.slots as u32,
                },
            ),
        };
        match set {
            Ok(()) => {
                let ring = TxRing::map(&fd, version, fill, geo, mtu)
                    .map_err(|e| err("mmap(PACKET_TX_RING)", e))?;
                // Frames in flight are charged to the socket's send buffer; let it hold the
                // whole ring so that the ring, not the buffer, is what runs full. FORCE needs
                // CAP_NET_ADMIN; otherwise the (capped) plain option.
                let want =
                    (geo.slots * (geo.slot_size + 1024)).min(i32::MAX as usize) as libc::c_int;
                if sol_socket(&fd, libc::SO_SNDBUFFORCE, &want).is_err() {
                    let _ = sol_socket(&fd, libc::SO_SNDBUF, &want);
                }
                bind(&fd, index, 0)
                    .map_err(|e| err("bind(AF_PACKET) of the transmit socket", e))?;
                // The engine is the only queueing discipline these bridged frames need: skip
                // the qdisc layer (packet(7)).
                let _ = setsockopt(&fd, libc::PACKET_QDISC_BYPASS, &(1 as libc::c_int));
                return Ok((fd, ring));
            }
            Err(e) if version == TxVersion::V3 && e.raw_os_error() == Some(libc::EINVAL) => {
                version = TxVersion::V2;
            }
            Err(e) => return Err(err("setsockopt(PACKET_TX_RING)", e)),
        }
    }
}

/// Interfaces backed by a device (a NIC: /sys/class/net/NAME/device exists) get
/// [`TxFill::Pages`], so their driver reads the frame from the ring; virtual ones (veth,
/// bridges, tunnels), whose frames enter the stack again, get [`TxFill::Linear`].
pub(super) fn tx_fill_for(name: &str) -> TxFill {
    if std::path::Path::new(&format!("/sys/class/net/{name}/device")).exists() {
        TxFill::Pages
    } else {
        TxFill::Linear
    }
}

fn sol_socket(fd: &OwnedFd, name: libc::c_int, value: &libc::c_int) -> io::Result<()> {
    // SAFETY: `value` points to a live int, the layout SOL_SOCKET buffer options take.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            (value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
