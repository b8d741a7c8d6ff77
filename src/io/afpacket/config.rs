#![allow(unsafe_code)]
//! What an AF_PACKET instance is opened with, the errors opening it can end in, and the checks
//! a configuration must pass before any socket is made. The ring geometry checks need the
//! frame header size of `ring`; the page size is the one system call here.

use super::ring::SLL_END;
use crate::io::{IoMode, PortId};
use std::io;

/// Configuration of one core's AF_PACKET instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfPacketConfig {
    /// Interface names; port `i` is `interfaces[i]`. Inline mode bridges 0<->1, 2<->3, ...
    pub interfaces: Vec<String>,
    pub mode: IoMode,
    /// This instance's core (its fanout member index), `< cores`.
    pub core: usize,
    /// Number of cores sharing the interfaces through fanout.
    pub cores: usize,
    /// Fanout group of interface `i` is `fanout_group + i` (group ids are per network
    /// namespace and must not be shared with other programs).
    pub fanout_group: u16,
    /// Bytes per ring block: a multiple of the page size.
    pub block_size: u32,
    pub block_count: u32,
    /// Frame slot size for the ring geometry (a multiple of 16); see the module notes.
    pub frame_size: u32,
    /// The kernel hands a partly filled block over after this many milliseconds, which bounds
    /// the latency at low rates.
    pub block_timeout_ms: u32,
    /// Frame slots in each port's transmit ring (rounded up to whole ring blocks). A slot
    /// holds one frame of up to the interface MTU; a forwarded frame that finds the ring full
    /// is dropped and counted (`tx_errors`).
    pub tx_slots: u32,
}

impl Default for AfPacketConfig {
    fn default() -> Self {
        Self {
            interfaces: Vec::new(),
            mode: IoMode::Monitor,
            core: 0,
            cores: 1,
            fanout_group: 0x5e00,
            // 64 x 256 KiB = 16 MiB per interface and core: about 10 ms of 10 GbE line rate of
            // full-size frames, or 100k minimum-size frames.
            block_size: 256 * 1024,
            block_count: 64,
            frame_size: 2048,
            block_timeout_ms: 1,
            // 8 batches of 256 frames: room for the frames still in flight while the next
            // batches are written. About 3 MiB per port and core at MTU 1500.
            tx_slots: 2048,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AfPacketError {
    #[error("interface {name:?}: no such interface")]
    NoSuchInterface { name: String },
    #[error("interface {interface}: {syscall} was refused: AF_PACKET needs root or CAP_NET_RAW")]
    Permission {
        interface: String,
        syscall: &'static str,
    },
    #[error("interface {interface}: {what} failed: {source}")]
    Io {
        interface: String,
        what: &'static str,
        source: io::Error,
    },
    #[error("AF_PACKET configuration: {0}")]
    Config(String),
}

pub(super) fn validate(cfg: &AfPacketConfig) -> Result<(), AfPacketError> {
    let bad = |msg: String| Err(AfPacketError::Config(msg));
    let n = cfg.interfaces.len();
    if n == 0 {
        return bad("no interfaces".into());
    }
    if n > usize::from(PortId::MAX) + 1 {
        return bad(format!("{n} interfaces, at most 256"));
    }
    if cfg.mode == IoMode::Inline && !n.is_multiple_of(2) {
        return bad(format!(
            "inline mode bridges interfaces in pairs, but {n} are configured"
        ));
    }
    if cfg.cores == 0 || cfg.core >= cfg.cores {
        return bad(format!("core {} of {} cores", cfg.core, cfg.cores));
    }
    if u32::from(cfg.fanout_group) + n as u32 - 1 > u32::from(u16::MAX) {
        return bad(format!(
            "fanout_group {} + {n} interfaces exceeds 65535",
            cfg.fanout_group
        ));
    }
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u32;
    if cfg.block_size == 0 || !cfg.block_size.is_multiple_of(page) {
        return bad(format!(
            "block_size {} is not a multiple of the page size {page}",
            cfg.block_size
        ));
    }
    if !cfg.frame_size.is_multiple_of(16)
        || (cfg.frame_size as usize) < SLL_END + 64
        || cfg.frame_size > cfg.block_size
    {
        return bad(format!(
            "frame_size {} must be a multiple of 16 between {} and block_size {}",
            cfg.frame_size,
            SLL_END + 64,
            cfg.block_size
        ));
    }
    let total = u64::from(cfg.block_size) * u64::from(cfg.block_count);
    if cfg.block_count == 0 || total > 1 << 32 {
        return bad(format!(
            "block_count {} x block_size {}: the ring must be non-empty and at most 4 GiB",
            cfg.block_count, cfg.block_size
        ));
    }
    if cfg.tx_slots == 0 || cfg.tx_slots > 1 << 20 {
        return bad(format!(
            "tx_slots {} must be between 1 and {}",
            cfg.tx_slots,
            1u32 << 20
        ));
    }
    Ok(())
}
