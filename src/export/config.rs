//! Where session logs go, as the console configures it (`info-center loghost`, `userlog flow
//! ...`), and what the log actor reports back per host (`display userlog export`, `sessmgr
//! dump stats`). Plain data shared between the console (which writes the configuration) and
//! the log actor (which reads it between turns and publishes its counters): `ExportHandle`.

use super::syslog::{Facility, TimestampStyle};
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Log hosts the information centre takes (`info-center loghost`, §11.1).
pub const MAX_LOG_HOSTS: usize = 4;
/// Flow-log hosts (`userlog flow export host`; ours: Comware's limit is not documented).
pub const MAX_FLOW_HOSTS: usize = 4;
/// Default syslog port (§11.1).
pub const SYSLOG_PORT: u16 = 514;

/// How a syslog host's messages are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyslogFormat {
    /// The information centre's envelope (§11.1): `<PRI>TIMESTAMP Sysname %%10...`.
    #[default]
    Comware,
    /// RFC 5424 with the fields as structured data (extension).
    Rfc5424,
}

/// The transport of a syslog host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    #[default]
    Udp,
    /// RFC 6587 octet counting over one TCP connection (extension).
    Tcp,
}

/// `info-center loghost HOST [port N] [facility localN] [format rfc5424] [transport tcp]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHost {
    pub addr: IpAddr,
    pub port: u16,
    pub facility: Facility,
    pub format: SyslogFormat,
    pub transport: Transport,
}

/// What a flow-log host receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlowFormat {
    /// Comware's binary flow log (version 3.0, §11.3).
    #[default]
    FlowLog3,
    /// IPFIX (RFC 7011, extension): `userlog flow export host ... ipfix`.
    Ipfix,
}

/// `userlog flow export host HOST port N [ipfix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowHost {
    pub addr: IpAddr,
    pub port: u16,
    pub format: FlowFormat,
}

/// Everything the log actor needs to know about where session logs go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportConfig {
    /// The device's `sysname` (the syslog envelope carries it).
    pub sysname: String,
    /// `info-center loghost` lines, in the order given (at most `MAX_LOG_HOSTS`).
    pub log_hosts: Vec<LogHost>,
    /// `info-center timestamp loghost`.
    pub timestamp: TimestampStyle,
    /// `userlog flow syslog`: session logs go to the log hosts instead of the flow-log hosts
    /// (the two are exclusive, and syslog wins, as on Comware).
    pub flow_to_syslog: bool,
    /// `userlog flow export host` lines, in the order given (at most `MAX_FLOW_HOSTS`).
    pub flow_hosts: Vec<FlowHost>,
    /// `userlog flow export source-ip A`: the source address of flow-log datagrams (`None`:
    /// the outgoing interface's, chosen by the kernel).
    pub source_ip: Option<IpAddr>,
    /// The user-defined applications' names, indexed by application id (`user_apps[id]`;
    /// empty for ids no user-defined application has), so a log names the application as the
    /// session table does.
    pub user_apps: Vec<String>,
}

/// Why a log was not delivered to a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostDrop {
    /// The host's queue was full while connected (a TCP host that reads slowly).
    QueueFull,
    /// The destination refused (ICMP port unreachable: `ECONNREFUSED` on a later send).
    Refused,
    /// A TCP host that could not be reached: the queue was full while it was not connected,
    /// or a message was cut by a lost connection.
    Down,
    /// Any other send error (no route, a full socket buffer ...).
    SendError,
    /// Still queued when the engine stopped and could not be sent in time.
    Shutdown,
    /// The record cannot be encoded for this host (e.g. mixed address families).
    Unencodable,
}

impl HostDrop {
    pub const ALL: [HostDrop; 6] = [
        HostDrop::QueueFull,
        HostDrop::Refused,
        HostDrop::Down,
        HostDrop::SendError,
        HostDrop::Shutdown,
        HostDrop::Unencodable,
    ];

    /// The name operators and `sessmgr dump stats` see.
    pub const fn name(self) -> &'static str {
        match self {
            HostDrop::QueueFull => "queue_full",
            HostDrop::Refused => "refused",
            HostDrop::Down => "host_down",
            HostDrop::SendError => "send_error",
            HostDrop::Shutdown => "shutdown",
            HostDrop::Unencodable => "unencodable",
        }
    }
}

/// What kind of host a counter line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// An information-centre log host (syslog).
    Syslog(SyslogFormat, Transport),
    /// A flow-log host.
    Flow(FlowFormat),
}

/// One host's counters, as the log actor last published them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCounters {
    pub addr: IpAddr,
    pub port: u16,
    pub kind: HostKind,
    /// Logs handed to this host (each is later sent or counted in `drops`).
    pub logs: u64,
    /// Logs sent (in a datagram or a TCP message the kernel accepted).
    pub sent: u64,
    /// Datagrams (UDP) or messages (TCP) sent.
    pub datagrams: u64,
    /// Logs not delivered, by reason (indexed like `HostDrop::ALL`).
    pub drops: [u64; HostDrop::ALL.len()],
    /// Logs waiting in the host's queue now.
    pub queued: u64,
    /// A TCP host: connected now.
    pub connected: bool,
}

impl HostCounters {
    pub fn dropped(&self) -> u64 {
        self.drops.iter().sum()
    }

    pub fn drop_count(&self, why: HostDrop) -> u64 {
        let i = HostDrop::ALL.iter().position(|&d| d == why).unwrap_or(0);
        self.drops[i]
    }
}

/// The console's and the log actor's meeting point.
///
/// The console replaces the configuration (`set_config`); the log actor takes it at its next
/// turn (`take_config`: a lock every 10 ms, never per packet). The actor publishes its
/// counters (`publish`) and takes `reset userlog flow export` requests (`take_reset`).
#[derive(Debug, Default)]
pub struct ExportHandle {
    config: Mutex<Option<ExportConfig>>,
    counters: Mutex<Vec<HostCounters>>,
    reset: AtomicBool,
    /// Logs the cores produced for collectors that the log actor handed to hosts or counted
    /// (`produced`), and those it could not give any host because none is configured.
    unrouted: AtomicU64,
}

impl ExportHandle {
    pub fn set_config(&self, config: ExportConfig) {
        if let Ok(mut c) = self.config.lock() {
            *c = Some(config);
        }
    }

    /// The configuration set since the last call, if any.
    pub fn take_config(&self) -> Option<ExportConfig> {
        self.config.lock().ok().and_then(|mut c| c.take())
    }

    pub fn publish(&self, counters: Vec<HostCounters>) {
        if let Ok(mut c) = self.counters.lock() {
            *c = counters;
        }
    }

    pub fn counters(&self) -> Vec<HostCounters> {
        self.counters.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// `reset userlog flow export`: the actor zeroes its flow-log hosts' counters.
    pub fn request_reset(&self) {
        self.reset.store(true, Ordering::Relaxed);
    }

    pub fn take_reset(&self) -> bool {
        self.reset.swap(false, Ordering::Relaxed)
    }

    pub fn add_unrouted(&self, n: u64) {
        self.unrouted.fetch_add(n, Ordering::Relaxed);
    }

    /// Logs produced while no host was configured for them.
    pub fn unrouted(&self) -> u64 {
        self.unrouted.load(Ordering::Relaxed)
    }
}
