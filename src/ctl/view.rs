//! The views a command is typed in (reference/comware.md §1.1): user view, system view and
//! the feature views (ACL, interface), with what each shows in the prompt and the header of
//! its `?` list. A leaf: the grammar, the commands and the terminal all speak of views.

use crate::acl::AclKind;

/// The view a command is typed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    User,
    System,
    Acl {
        ipv6: bool,
        kind: AclKind,
        number: u32,
    },
    /// One of the engine's interfaces (`interface NAME`): its packet filters; the
    /// per-interface session-log commands (SPEC L3) will live here too.
    Interface {
        name: String,
    },
    /// `remote-backup group` (H1): the failover channel's settings.
    RemoteBackup,
}

/// View bits: a command lists the views it lives in as an OR of these.
pub mod bits {
    pub const USER: u8 = 1;
    pub const SYSTEM: u8 = 2;
    pub const ACL4_BASIC: u8 = 4;
    pub const ACL4_ADV: u8 = 8;
    pub const ACL6_BASIC: u8 = 16;
    pub const ACL6_ADV: u8 = 32;
    pub const INTERFACE: u8 = 64;
    pub const RBM: u8 = 128;
    pub const ACL: u8 = ACL4_BASIC | ACL4_ADV | ACL6_BASIC | ACL6_ADV;
    /// `display`, `save`, `quit`, `return`: any view (§1.1).
    pub const ANY: u8 = USER | SYSTEM | ACL | INTERFACE | RBM;
}

impl View {
    pub fn bit(&self) -> u8 {
        match self {
            View::User => bits::USER,
            View::System => bits::SYSTEM,
            View::Acl {
                ipv6: false,
                kind: AclKind::Basic,
                ..
            } => bits::ACL4_BASIC,
            View::Acl {
                ipv6: false,
                kind: AclKind::Advanced,
                ..
            } => bits::ACL4_ADV,
            View::Acl {
                ipv6: true,
                kind: AclKind::Basic,
                ..
            } => bits::ACL6_BASIC,
            View::Acl {
                ipv6: true,
                kind: AclKind::Advanced,
                ..
            } => bits::ACL6_ADV,
            View::Interface { .. } => bits::INTERFACE,
            View::RemoteBackup => bits::RBM,
        }
    }

    /// What the prompt shows after the sysname, e.g. `acl-ipv4-adv-3000` (§1.1).
    pub fn prompt_suffix(&self) -> Option<String> {
        match self {
            View::User | View::System => None,
            View::Acl { ipv6, kind, number } => Some(format!(
                "acl-{}-{}-{number}",
                if *ipv6 { "ipv6" } else { "ipv4" },
                match kind {
                    AclKind::Basic => "basic",
                    AclKind::Advanced => "adv",
                }
            )),
            View::Interface { name } => Some(name.clone()),
            View::RemoteBackup => Some("remote-backup-group".into()),
        }
    }

    /// The header of `?` on an empty line. User and system view are Comware's; the feature
    /// view headers follow the same pattern (no capture of them was found).
    pub fn help_header(&self) -> &'static str {
        match self {
            View::User => "User view commands:",
            View::System => "System view commands:",
            View::Acl {
                ipv6: false,
                kind: AclKind::Basic,
                ..
            } => "IPv4 basic ACL view commands:",
            View::Acl {
                ipv6: false,
                kind: AclKind::Advanced,
                ..
            } => "IPv4 advanced ACL view commands:",
            View::Acl {
                ipv6: true,
                kind: AclKind::Basic,
                ..
            } => "IPv6 basic ACL view commands:",
            View::Acl {
                ipv6: true,
                kind: AclKind::Advanced,
                ..
            } => "IPv6 advanced ACL view commands:",
            View::Interface { .. } => "Interface view commands:",
            View::RemoteBackup => "Remote backup group view commands:",
        }
    }
}
