//! The per-core session table (SPEC S1-S8, A1-A5).

pub mod aging;
pub mod algs;
pub mod app_proto;
pub mod apps;
pub mod census;
pub mod config;
pub mod events;
pub mod image;
pub mod index;
pub mod log;
pub mod offload;
pub mod peaks;
pub mod port_map;
pub mod query;
pub mod record;
pub mod relation;
pub mod session;
pub mod shard;
pub mod shard_log;
pub mod top;
pub mod track;

pub use config::{SessionMode, TableConfig};
pub use session::{Session, SessionId};
pub use shard::Shard;
pub use track::{Tracked, Verdict};
