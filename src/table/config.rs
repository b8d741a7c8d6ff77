//! The configuration one shard works with. Built from config.toml (`crate::config`) and,
//! later, by console commands; replaced whole, so a core never sees half a change.

use super::aging::AgingConfig;
use crate::acl::{Acl, Action};
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
    pub aging: AgingConfig,
    pub persistent_v4: Option<PersistentRule>,
    pub persistent_v6: Option<PersistentRule>,
}

impl Default for TableConfig {
    fn default() -> Self {
        TableConfig {
            mode: SessionMode::Bidirectional,
            capacity: 1 << 20,
            statistics: false,
            aging: AgingConfig::default(),
            persistent_v4: None,
            persistent_v6: None,
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
