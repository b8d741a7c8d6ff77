//! The runtime topology: per-core actors (plain pinned threads that own their shard) and the
//! control plane on an actix System (log, stats, ctl; later alarm, sync), and beside it the
//! Prometheus endpoint's threads (metrics/).

pub mod collectors;
pub mod control;
pub mod core;
pub mod ctl;
pub mod ctlsock;
pub mod events;
pub mod fast_path;
pub mod log;
pub mod metrics;
pub mod replay;
pub mod replay_log;
pub mod restart;
pub mod stats;
pub mod sync;
pub mod system;
pub mod terminal;
pub mod top_store;
