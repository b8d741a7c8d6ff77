//! Stateful failover and hitless restart (SPEC H1, H2; issue #16).
//!
//! - `wire.rs`: the synchronization protocol's datagrams (ours, versioned, HMAC-SHA256).
//! - `link.rs`: the protocol between two engines: roles, heartbeats, reliable in-order
//!   delivery, bulk on (re)join. Pure, time passed in.
//! - `statefile.rs`: the table saved at a clean stop and restored at start.
//!
//! Above `table` (it carries `table::image` items), below `actors` (the sync actor drives a
//! `Link` over a UDP socket) and `ctl` (the console configures the group and shows
//! `SyncHandle`'s report).

pub mod link;
pub mod statefile;
pub mod wire;

pub use wire::{Role, Status};

use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The UDP port of the data channel (ours: RBM's own port numbers are not documented here).
pub const DEFAULT_PORT: u16 = 60064;
pub const DEFAULT_KEEPALIVE_MS: u64 = 100;
pub const DEFAULT_KEEPALIVE_COUNT: u32 = 8;

/// The `remote-backup group` view (RBM, comware.md §13; its exact sub-commands are ours
/// where marked in docs/failover.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbmConfig {
    pub local_ip: Option<IpAddr>,
    pub remote_ip: Option<IpAddr>,
    pub port: u16,
    /// `data-channel interface NAME`: the socket is bound to it (SO_BINDTODEVICE).
    pub interface: Option<String>,
    pub role: Role,
    /// `key simple TEXT`: the HMAC key both engines share.
    pub key: Option<String>,
    pub keepalive_ms: u64,
    pub keepalive_count: u32,
}

impl Default for RbmConfig {
    fn default() -> Self {
        RbmConfig {
            local_ip: None,
            remote_ip: None,
            port: DEFAULT_PORT,
            interface: None,
            role: Role::Primary,
            key: None,
            keepalive_ms: DEFAULT_KEEPALIVE_MS,
            keepalive_count: DEFAULT_KEEPALIVE_COUNT,
        }
    }
}

impl RbmConfig {
    /// What is still missing before the channel can run, if anything.
    pub fn missing(&self) -> Option<&'static str> {
        if self.local_ip.is_none() {
            Some("local-ip")
        } else if self.remote_ip.is_none() {
            Some("remote-ip")
        } else if self.key.as_deref().is_none_or(str::is_empty) {
            Some("key")
        } else {
            None
        }
    }

    pub fn link_config(&self) -> link::LinkConfig {
        link::LinkConfig {
            key: self.key.clone().unwrap_or_default().into_bytes(),
            role: self.role,
            keepalive_ms: self.keepalive_ms.max(10),
            keepalive_count: self.keepalive_count.max(1),
        }
    }
}

/// What `display remote-backup-group status` shows (the sync actor refreshes it every turn).
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub configured: bool,
    /// Why the channel is not running, when configured but incomplete or refused.
    pub problem: Option<String>,
    pub status: Status,
    pub role: Role,
    pub local: Option<std::net::SocketAddr>,
    pub remote: Option<std::net::SocketAddr>,
    pub interface: Option<String>,
    pub data_channel_up: bool,
    pub peer_connected: bool,
    pub peer_status: Option<Status>,
    pub peer_sessions: u64,
    pub awaiting_bulk: bool,
    pub bulk_in_progress: bool,
    pub outbox: usize,
    pub unacked: usize,
    pub counters: link::LinkCounters,
    pub status_changes: u64,
}

/// A request from the console to the sync actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Switchover(Status),
}

/// Shared by the runtime, the cores, the sync actor and the console.
#[derive(Debug)]
pub struct SyncHandle {
    /// Cores forward frames only while this holds (inline): false while a configured group's
    /// engine is not Active.
    pub forwarding: AtomicBool,
    /// Installs the cores did, and those refused at capacity.
    pub installed: AtomicU64,
    pub install_full: AtomicU64,
    pub install_expired: AtomicU64,
    /// Change batches a core could not hand to the sync actor (its channel was full): the
    /// peer then gets a bulk.
    pub core_channel_full: AtomicU64,
    pub report: Mutex<Report>,
    pub config: Mutex<(u64, Option<RbmConfig>)>,
    pub requests: Mutex<Vec<Request>>,
}

impl Default for SyncHandle {
    fn default() -> Self {
        SyncHandle {
            forwarding: AtomicBool::new(true),
            installed: AtomicU64::new(0),
            install_full: AtomicU64::new(0),
            install_expired: AtomicU64::new(0),
            core_channel_full: AtomicU64::new(0),
            report: Mutex::default(),
            config: Mutex::new((0, None)),
            requests: Mutex::default(),
        }
    }
}

impl SyncHandle {
    /// The console sets (or removes) the group; the actor picks the change up.
    pub fn set_config(&self, c: Option<RbmConfig>) {
        if let Ok(mut g) = self.config.lock()
            && g.1 != c
        {
            g.0 += 1;
            g.1 = c;
        }
    }

    pub fn request(&self, r: Request) {
        if let Ok(mut g) = self.requests.lock() {
            g.push(r);
        }
    }

    pub fn report(&self) -> Report {
        self.report.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn forwarding(&self) -> bool {
        self.forwarding.load(Ordering::Relaxed)
    }
}
