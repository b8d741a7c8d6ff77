//! The configuration one shard works with. Built from config.toml (`crate::config`) and,
//! later, by console commands; replaced whole, so a core never sees half a change.

use super::aging::AgingConfig;
use crate::acl::{Acl, Action};
use crate::alg::AlgSet;
use crate::proto::key::FlowKey;
use crate::proto::wire::Family;

/// Session mode (SPEC S6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionMode {
    /// A TCP session is created only by a SYN.
    #[default]
    Bidirectional,
    /// Unidirectional sessions allowed: TCP picked up mid-stream (asymmetric routing).
    Hybrid,
}

/// `session persistent acl [ipv6] N [aging-time HOURS]` (A3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistentRule {
    pub acl: Acl,
    /// 0 = never age out.
    pub hours: u16,
}

/// Default persistent aging, hours (comware.md §5).
pub const PERSISTENT_DEFAULT_HOURS: u16 = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableConfig {
    pub mode: SessionMode,
    /// Sessions this shard may hold (S8).
    pub capacity: usize,
    /// `session statistics enable` (S4): per-direction packet and byte counters.
    pub statistics: bool,
    /// `session early-drop enable` (S8, ours; on by default): at capacity a new session
    /// evicts an unanswered one from its neighbourhood instead of being refused.
    pub early_drop: bool,
    pub aging: AgingConfig,
    pub persistent_v4: Option<PersistentRule>,
    pub persistent_v6: Option<PersistentRule>,
    /// `alg {ftp|tftp|all}` (R1-R2): which ALGs follow their control sessions.
    pub algs: AlgSet,
    /// ALGs that see messages which came in IP fragments (`session alg fragment sip`; none by
    /// default, as Comware).
    pub alg_fragments: AlgSet,
    /// `packet-filter` (session-based): ACLs a packet that would create a session must pass.
    pub packet_filter: PacketFilter,
    /// `port-mapping application ...`: user-defined application ports (S5), which also decide
    /// which sessions an ALG follows.
    pub port_map: Vec<super::port_map::PortMapping>,
    /// The ACLs the ACL mappings of `port_map` name, as they are now (resolved by the
    /// console, like the persistent-session ACLs).
    pub port_map_acls: Vec<Acl>,
    /// The user-defined applications' names (`port-mapping application NAME` with a name
    /// no pre-defined application has), by id.
    pub user_apps: super::apps::UserApps,
    /// `session log ...` (L1-L3): which sessions are logged and when.
    pub session_log: super::log::SessionLogConfig,
    /// `session top-statistics enable` (T2): new sessions are counted by address.
    pub top_statistics: bool,
    /// `session synchronization ...` (H1): which sessions go to the backup engine.
    pub sync: SyncScope,
}

/// `session synchronization enable` and `session synchronization {dns|http}` (H1, comware.md
/// §9.3): whether the shard reports its sessions' changes for the peer engine, and whether DNS
/// and HTTP sessions (many, short-lived) are among them; by default they are not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncScope {
    pub enabled: bool,
    pub dns: bool,
    pub http: bool,
}

impl SyncScope {
    /// Whether a session of application `app` is synchronized.
    #[inline]
    pub fn covers(&self, app: u8) -> bool {
        use std::sync::LazyLock;
        static DNS: LazyLock<Option<u8>> = LazyLock::new(|| super::apps::by_keyword("dns"));
        static HTTP: LazyLock<Option<u8>> = LazyLock::new(|| super::apps::by_keyword("http"));
        self.enabled && (self.dns || Some(app) != *DNS) && (self.http || Some(app) != *HTTP)
    }
}

/// The packet filter by ingress port: a port's inbound ACLs and its peer's outbound ACLs,
/// resolved by the console from `packet-filter [ipv6] ACL {inbound|outbound}` in each
/// interface's view. Comware's session-based filtering: only a packet that would create a
/// session is checked; packets of existing sessions, and packets that claim a relation entry,
/// pass without it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacketFilter {
    /// Index = the ingress `PortId`.
    pub ports: Vec<PortAcls>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortAcls {
    pub v4: Vec<Acl>,
    pub v6: Vec<Acl>,
}

impl PacketFilter {
    /// Whether a new session with initiator tuple `k`, arriving on `port`, is denied: some
    /// applicable ACL's first matching rule denies it (no matching rule permits, Comware's
    /// default action).
    pub fn denies(&self, port: u8, k: &FlowKey) -> bool {
        let Some(p) = self.ports.get(usize::from(port)) else {
            return false;
        };
        let acls = match k.family {
            Family::V4 => &p.v4,
            Family::V6 => &p.v6,
        };
        acls.iter().any(|a| a.matches(k) == Some(Action::Deny))
    }
}

impl Default for TableConfig {
    fn default() -> Self {
        TableConfig {
            mode: SessionMode::Bidirectional,
            capacity: 1 << 20,
            statistics: false,
            early_drop: true,
            aging: AgingConfig::default(),
            persistent_v4: None,
            persistent_v6: None,
            algs: AlgSet::default(),
            alg_fragments: AlgSet::NONE,
            packet_filter: PacketFilter::default(),
            port_map: Vec::new(),
            port_map_acls: Vec::new(),
            user_apps: Default::default(),
            session_log: Default::default(),
            top_statistics: false,
            sync: SyncScope::default(),
        }
    }
}

impl TableConfig {
    /// Persistent aging hours for a new TCP session with this initiator tuple, if an ACL
    /// permits it.
    pub fn persistent_hours(&self, orig: &FlowKey) -> Option<u16> {
        let rule = match orig.family {
            Family::V4 => self.persistent_v4.as_ref(),
            Family::V6 => self.persistent_v6.as_ref(),
        }?;
        (rule.acl.matches(orig) == Some(Action::Permit)).then_some(rule.hours)
    }
}
