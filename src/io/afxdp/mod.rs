//! AF_XDP back-end: an XDP program on each interface redirects every frame of a receive queue
//! to the AF_XDP socket of the core serving that queue; frames the engine forwards go out of
//! the peer port's socket by their UMEM address, never copied in user space.
//!
//! Kernel references: Documentation/networking/af_xdp.rst (UMEM, the four rings,
//! `XDP_SHARED_UMEM`, need-wakeup), Documentation/bpf/standardization/instruction-set.rst (the
//! program's encoding), bpf(2) and include/uapi/linux/bpf.h (`BPF_MAP_CREATE`,
//! `BPF_PROG_LOAD`, `BPF_LINK_CREATE`). docs/io-afxdp.md is the operator's view.
//!
//! Things the operator (and the end-to-end tests) must know:
//! - Inline only: the program takes every frame of the interface away from the kernel stack,
//!   so monitor mode (which must leave it alone) is refused; monitor with AF_PACKET.
//! - Queue `q` of an interface is served by core `q % cores`. With fewer queues than cores
//!   (veth has one) the other cores have no socket on that interface: they still process the
//!   frames handed over to them and transmit through a plain AF_PACKET socket (a copy).
//! - The program is attached in the driver's hook where the driver has one (veth does), else
//!   in the generic one; zero-copy is tried first where the driver hook is used and falls back
//!   to copy mode (veth has no zero-copy). Zero-copy is untested here.
//! - Frames must fit a UMEM frame (2 KiB, minus the kernel's 256-byte headroom in copy mode):
//!   the kernel drops longer frames (counted in `kernel_drops`). Turn off GRO/GSO/TSO on the
//!   bridged links, as for AF_PACKET.
//!
//! Files, each importing only those listed before it:
//! - `bpf`: the redirect program and the `bpf(2)` calls;
//! - `fast_prog`: the fast-path program (established flows forwarded in the kernel) and its
//!   flow map's key and value;
//! - `ring`: the mapped rings and their index logic;
//! - `umem`: the free-frame pool;
//! - `config`: `AfXdpConfig`, `AfXdpError` and the checks of a configuration;
//! - `attach`: one program and XSKMAP per interface, shared by the cores;
//! - `socket`: opening an AF_XDP socket with its rings, and the AF_PACKET fallback sender;
//! - `backend`: `AfXdp` and its `PacketIo` implementation.

mod attach;
mod backend;
mod bpf;
mod config;
mod fast_prog;
mod ring;
mod socket;
mod umem;

pub use backend::{AfXdp, AfXdpCounters};
pub use config::{
    ALTERNATIVE, AfXdpConfig, AfXdpError, FAST_PATH_ENTRIES, MONITOR_REFUSED, XdpAttach,
};

#[cfg(test)]
mod tests;
