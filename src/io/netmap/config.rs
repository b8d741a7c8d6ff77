//! What a netmap instance is opened with, the errors opening it can end in, and the checks a
//! configuration must pass before `/dev/netmap` is registered; the limits come from `sys`.

use super::sys;
use crate::io::{IoMode, PortId};
use std::io;

#[derive(Debug, Clone)]
pub struct NetmapConfig {
    /// Interface names; inline pairs are 0<->1, 2<->3, ...
    pub interfaces: Vec<String>,
    pub mode: IoMode,
    /// This instance's core: it binds hardware ring `core` of every interface.
    pub core: usize,
    /// Cores in total: every interface must have exactly this many ring pairs.
    pub cores: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum NetmapError {
    #[error(
        "netmap is not loaded on this machine (/dev/netmap: {source}); \
         use backend = \"afpacket\" (works on any Linux interface), or replay a capture file"
    )]
    Unavailable { source: io::Error },
    #[error("netmap: {interface}: {op} failed: {source}")]
    Sys {
        interface: String,
        op: &'static str,
        source: io::Error,
    },
    #[error("netmap: {interface}: {detail}")]
    Port { interface: String, detail: String },
    #[error("netmap configuration: {0}")]
    Config(String),
}

pub(super) fn validate(cfg: &NetmapConfig) -> Result<(), NetmapError> {
    let err = |m: String| Err(NetmapError::Config(m));
    if cfg.interfaces.is_empty() {
        return err("no interfaces".into());
    }
    if cfg.interfaces.len() > usize::from(PortId::MAX) + 1 {
        return err(format!("{} interfaces, at most 256", cfg.interfaces.len()));
    }
    if cfg.mode == IoMode::Inline && !cfg.interfaces.len().is_multiple_of(2) {
        return err(format!(
            "inline mode pairs interfaces 0<->1, 2<->3, ...: {} is an odd count",
            cfg.interfaces.len()
        ));
    }
    if cfg.cores == 0 || cfg.core >= cfg.cores {
        return err(format!("core {} of {} cores", cfg.core, cfg.cores));
    }
    // The legacy nr_ringid carries the ring in its low 12 bits (NETMAP_RING_MASK).
    if cfg.core > sys::NETMAP_RING_MASK as usize {
        return err(format!("core {} is above netmap's ring limit", cfg.core));
    }
    for name in &cfg.interfaces {
        if name.is_empty() || name.len() >= sys::IFNAMSIZ || name.contains('\0') {
            return err(format!(
                "interface name {name:?} is not a valid interface name"
            ));
        }
    }
    Ok(())
}
