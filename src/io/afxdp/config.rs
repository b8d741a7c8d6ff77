//! What an AF_XDP instance is opened with, the errors opening it can end in, and the checks a
//! configuration must pass before any socket is made.

use crate::io::{IoMode, PortId};
use std::io;

/// How the redirect program is attached to each interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XdpAttach {
    /// The driver's own XDP hook if it has one, else the generic (SKB) hook.
    #[default]
    Auto,
    /// Driver (native) mode only.
    Driver,
    /// Generic (SKB) mode only: works on every interface, after the kernel built an skb.
    Generic,
}

/// Configuration of one core's AF_XDP instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfXdpConfig {
    /// Interface names; port `i` is `interfaces[i]`. Inline mode bridges 0<->1, 2<->3, ...
    pub interfaces: Vec<String>,
    pub mode: IoMode,
    /// This instance's core, `< cores`. It serves receive queues `core`, `core + cores`, ...
    /// of every interface.
    pub core: usize,
    pub cores: usize,
    pub attach: XdpAttach,
    /// Try zero-copy (`XDP_ZEROCOPY`) before copy mode. Only drivers with AF_XDP zero-copy
    /// support accept it (not veth).
    pub try_zero_copy: bool,
    /// UMEM frames per receive socket: a power of two; half of them start in the fill ring.
    pub frames_per_socket: u32,
    /// UMEM frame size: 2048 or 4096 (the kernel's aligned-chunk rule).
    pub frame_size: u32,
    /// Entries of each of a socket's four rings: a power of two.
    pub ring_size: u32,
    /// The in-kernel fast path for established flows (`fast_prog`), with a flow map of this
    /// many one-way entries (two per session); `None` = every frame goes to the engine.
    pub fast_path: Option<u32>,
}

/// The fast path's flow map sizes accepted (one-way entries, two per session).
pub const FAST_PATH_ENTRIES: std::ops::RangeInclusive<u32> = 1024..=1 << 24;

impl Default for AfXdpConfig {
    fn default() -> Self {
        Self {
            interfaces: Vec::new(),
            mode: IoMode::Inline,
            core: 0,
            cores: 1,
            attach: XdpAttach::Auto,
            try_zero_copy: true,
            // 4096 x 2 KiB = 8 MiB per socket.
            frames_per_socket: 4096,
            frame_size: 2048,
            ring_size: 2048,
            fast_path: None,
        }
    }
}

/// Says what to do instead when the kernel refuses AF_XDP.
pub const ALTERNATIVE: &str = "the AF_XDP back-end needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF) and a kernel with CONFIG_XDP_SOCKETS and the bpf(2) syscall; backend = \"afpacket\" (AF_PACKET) works on any Linux interface";

#[derive(Debug, thiserror::Error)]
pub enum AfXdpError {
    #[error("interface {name:?}: no such interface")]
    NoSuchInterface { name: String },
    /// A system call failed; `step` names it, the error carries the errno.
    #[error(
        "interface {interface}: AF_XDP step {step} failed: {source} ({}); {ALTERNATIVE}",
        errno_name(source)
    )]
    Refused {
        interface: String,
        step: &'static str,
        source: io::Error,
    },
    #[error("AF_XDP configuration: {0}")]
    Config(String),
}

impl AfXdpError {
    pub(super) fn refused(interface: &str, step: &'static str, source: io::Error) -> AfXdpError {
        AfXdpError::Refused {
            interface: interface.into(),
            step,
            source,
        }
    }
}

/// The errno's symbolic name for the common refusals (`errno N` for the others).
fn errno_name(e: &io::Error) -> String {
    let Some(n) = e.raw_os_error() else {
        return "no errno".into();
    };
    let name = match n {
        libc::EPERM => "EPERM",
        libc::EACCES => "EACCES",
        libc::EINVAL => "EINVAL",
        libc::ENOMEM => "ENOMEM",
        libc::EBUSY => "EBUSY",
        libc::ENODEV => "ENODEV",
        libc::ENOENT => "ENOENT",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        _ => return format!("errno {n}"),
    };
    format!("errno {n}, {name}")
}

pub(super) fn validate(cfg: &AfXdpConfig) -> Result<(), AfXdpError> {
    let bad = |msg: String| Err(AfXdpError::Config(msg));
    let n = cfg.interfaces.len();
    if n == 0 {
        return bad("no interfaces".into());
    }
    if n > usize::from(PortId::MAX) + 1 {
        return bad(format!("{n} interfaces, at most 256"));
    }
    if cfg.mode != IoMode::Inline {
        return bad(MONITOR_REFUSED.into());
    }
    if !n.is_multiple_of(2) {
        return bad(format!(
            "inline mode bridges interfaces in pairs, but {n} are configured"
        ));
    }
    if cfg.cores == 0 || cfg.core >= cfg.cores {
        return bad(format!("core {} of {} cores", cfg.core, cfg.cores));
    }
    if cfg.frame_size != 2048 && cfg.frame_size != 4096 {
        return bad(format!("frame_size {} is not 2048 or 4096", cfg.frame_size));
    }
    if !cfg.ring_size.is_power_of_two() || !(64..=65536).contains(&cfg.ring_size) {
        return bad(format!(
            "ring_size {} is not a power of two in 64-65536",
            cfg.ring_size
        ));
    }
    if !cfg.frames_per_socket.is_power_of_two()
        || cfg.frames_per_socket < cfg.ring_size
        || cfg.frames_per_socket > 1 << 18
    {
        return bad(format!(
            "frames_per_socket {} is not a power of two between ring_size {} and 262144",
            cfg.frames_per_socket, cfg.ring_size
        ));
    }
    if let Some(n) = cfg.fast_path
        && !FAST_PATH_ENTRIES.contains(&n)
    {
        return bad(format!(
            "fast_path_entries {n} is not in 1024-16777216 (two per offloaded session)"
        ));
    }
    Ok(())
}

/// Why monitor mode is refused (also the configuration error's text).
pub const MONITOR_REFUSED: &str = "the afxdp back-end only runs inline: its XDP program takes every frame away from the kernel stack, which monitor mode must leave alone; monitor with backend = \"afpacket\"";
