//! netmap back-end: one instance per core, bound to one hardware ring pair (`NR_REG_ONE_NIC`,
//! ring = core) on every configured port. See netmap(4) and `sys/net/netmap.h`.
//!
//! Layers, so that everything except the system calls runs in CI without the kernel module:
//! - byte accessors and [`RingView`]: `struct netmap_ring` / `netmap_slot` / `netmap_if` read
//!   and written at their netmap.h offsets inside a `&[u8]` region (safe code, bounds-checked);
//! - [`RingEngine`]: the RX walk, zero-copy forwarding and TX, generic over [`RingKernel`]
//!   (the region memory plus the sync calls);
//! - `SysKernel`: `/dev/netmap`, `NIOCREGIF`, `mmap`, `NIOCRXSYNC`/`poll`, `NIOCTXSYNC`; the
//!   only place with `unsafe`.
//!
//! Modes: inline forwards what the engine marks `Forward` to the peer port (buffer swap when
//! both ports share a netmap allocator, else a copy). Monitor never transmits: a port in netmap
//! mode is cut off from the host stack, so monitor mode expects a SPAN/TAP feed.
//! `IoStats::kernel_drops` stays 0: netmap rings carry no drop counter (NIC drops are in the
//! driver's ethtool statistics).
//!
//! netmap_sys 0.1.4 is used for the ioctl numbers, `nmreq` and the flag values only. Its
//! `NETMAP_API` (11) is refused by current kernels (netmap_legacy.c: "Minimum supported API is
//! 14"), its `NETMAP_BUF_IDX` adds `buf_ofs` where netmap.h subtracts it, and its
//! `nm_ring_space` measures from `head` with unsigned arithmetic that wraps; so the helpers
//! here are our own.
//!
//! Files, each importing only those listed before it:
//! - `layout`: the netmap.h offsets and the bounds-checked accessors;
//! - `ring`: [`RingView`] and `locate_rings`;
//! - `engine`: [`RingKernel`] and [`RingEngine`];
//! - `sys`: the netmap definitions the runtime needs, pinned to netmap_sys by a test;
//! - `config`: `NetmapConfig`, `NetmapError` and the checks of a configuration;
//! - `backend`: `SysKernel` and `Netmap`, the only file with `unsafe`.
//!
//! This file only names the public face; every path stays `io::netmap::X`.

mod backend;
mod config;
mod engine;
mod layout;
mod ring;
pub mod sys;

pub use backend::Netmap;
pub use config::{NetmapConfig, NetmapError};
pub use engine::{MAX_BATCH, PortAttach, RingCounters, RingEngine, RingKernel};
pub use ring::{RingView, locate_rings};

#[cfg(test)]
mod tests;
