//! What an ALG expects (SPEC R1, R3): the connections it announces, the classes they fall in
//! with each class's limit and timeout (nf_conntrack's `nf_conntrack_expect_policy[]`), and the
//! relation-table form of an announcement.
//!
//! Why classes: one control session may announce connections of different kinds that must not
//! crowd each other out. A SIP call announces its signalling, its audio and its video
//! separately, each with its own limit (the kernel's `SIP_EXPECT_SIGNALLING`, `_AUDIO`,
//! `_VIDEO`); FTP has one class, its data connection.

use crate::proto::wire::{Addr, Family};
use std::net::IpAddr;

/// One class of expectation an ALG publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectClass {
    /// Its name in counters and docs (`data`, `audio`, ...).
    pub name: &'static str,
    /// How many entries of this class one control session may have at once; a new one beyond
    /// it evicts the oldest (nf_conntrack's `max_expected`).
    pub max_per_master: usize,
    /// How long an entry waits for its connection, milliseconds (nf_conntrack's `timeout`).
    pub timeout_ms: u64,
    /// Application keyword (`table::apps`) of the connections of this class: their
    /// application, and so their aging, on display (`ftp-data`).
    pub data_app: &'static str,
    /// The connection is itself followed by the ALG (a SIP registration's incoming signalling,
    /// as the kernel gives the expected connection its master's helper); media and data
    /// connections are not.
    pub follow: bool,
}

/// A data connection an ALG announces: its first packet's initiator tuple. `None` source
/// fields match anything. `class` indexes the ALG's `AlgInfo::classes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    pub class: u8,
    pub proto: u8,
    pub src: Option<IpAddr>,
    pub sport: Option<u16>,
    pub dst: IpAddr,
    pub dport: u16,
}

/// What the expected first packet looks like (its initiator tuple), in the session table's
/// address form: a relation entry's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationSpec {
    pub family: Family,
    pub proto: u8,
    /// `None`: any source address.
    pub src: Option<Addr>,
    /// `None`: any source port.
    pub sport: Option<u16>,
    pub dst: Addr,
    pub dport: u16,
    pub vpn: u16,
    /// The data channel's application (`table::apps` id), e.g. FTP-DATA.
    pub app: u8,
}

/// How long an entry lives and how many of its kind one master may hold (from its class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationLimits {
    /// How long an entry waits for its connection.
    pub ttl_ms: u64,
    /// Entries of the class one master may have at once; the oldest gives way to a new one
    /// (0: no limit).
    pub per_master: usize,
}

impl ExpectClass {
    pub const fn limits(&self) -> RelationLimits {
        RelationLimits {
            ttl_ms: self.timeout_ms,
            per_master: self.max_per_master,
        }
    }
}
