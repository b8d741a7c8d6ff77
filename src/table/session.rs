//! A session as everything off the packet path sees it (SPEC S1, S4), and session ids.
//!
//! The table stores sessions compactly (`record.rs`: one 64-byte line per session, counters
//! and cold metadata beside it, IPv6 addresses in a side arena); `Session` is the whole view,
//! built by `Shard::session` and the shard's iterators for displays, logs and replay output.

use crate::proto::key::{Direction, FlowKey};

/// Per-direction counters (S4): packets and bytes (IP datagram length).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirCounters {
    pub packets: u64,
    pub bytes: u64,
}

/// Protocol-specific tracking state (defined beside the machines, in `proto`).
pub use crate::proto::L4Track;

/// Session flags (bit set in `Session::flags`).
pub mod flag {
    /// The initiator's tuple is the reverse of the canonical key.
    pub const ORIG_SWAPPED: u8 = 0x01;
    /// A packet in the reply direction has been accepted (nf_conntrack IPS_SEEN_REPLY).
    pub const SEEN_REPLY: u8 = 0x02;
    /// Matched a persistent-session ACL at creation (A3).
    pub const PERSISTENT: u8 = 0x04;
    /// The slot holds a live session.
    pub const LIVE: u8 = 0x08;
    /// Created by claiming a relation entry (a data connection, R1): nf_conntrack's
    /// IPS_EXPECTED; its initiator packets are `rel` until the responder answers.
    pub const EXPECTED: u8 = 0x10;
    /// An ALG follows this control session (its state lives in the shard's ALG map).
    pub const ALG: u8 = 0x20;
    /// Selected for session logging at creation (`session log enable`, L1).
    pub const LOGGED: u8 = 0x40;
}

/// One connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// The canonical key (see `proto::key`); the initiator tuple is `key` or its reverse.
    pub key: FlowKey,
    pub counters: [DirCounters; 2],
    /// Time of the last accepted packet, milliseconds on the engine clock, wrapping (an age is
    /// only ever compared with aging times far below the 49-day wrap).
    pub last_seen_ms: u32,
    /// Persistent aging in hours (A3; 0 = never), fixed at creation.
    pub persist_hours: u16,
    /// The protocol's state (`TcpState as u8`, `UdpState as u8`, ...).
    pub state: u8,
    /// Application id (S5), index into `table::apps::APPS`.
    pub app: u8,
    pub flags: u8,
    pub l4: L4Track,
}

impl Session {
    #[inline]
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// The initiator's tuple (what `display session` calls Initiator).
    pub fn orig_key(&self) -> FlowKey {
        if self.has(flag::ORIG_SWAPPED) {
            self.key.reversed()
        } else {
            self.key
        }
    }

    /// The responder's tuple.
    pub fn reply_key(&self) -> FlowKey {
        self.orig_key().reversed()
    }

    /// Direction of a packet whose canonicalisation reported `swapped`.
    #[inline]
    pub fn direction(&self, swapped: bool) -> Direction {
        Direction::from_swapped(swapped != self.has(flag::ORIG_SWAPPED))
    }
}

/// Names a session across the engine: the core that owns it, its slot, and the slot's
/// generation (a stale id of a deleted session never reaches the slot's next tenant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId {
    pub core: u8,
    pub slot: u32,
    pub generation: u32,
}

impl SessionId {
    const SLOT_BITS: u32 = 28;

    /// A single number for operators and JSON: generation, core, slot.
    pub fn to_u64(self) -> u64 {
        (u64::from(self.generation) << 32)
            | (u64::from(self.core & 0x0f) << Self::SLOT_BITS)
            | u64::from(self.slot)
    }

    pub fn from_u64(v: u64) -> SessionId {
        SessionId {
            generation: (v >> 32) as u32,
            core: ((v >> Self::SLOT_BITS) & 0x0f) as u8,
            slot: (v & ((1 << Self::SLOT_BITS) - 1)) as u32,
        }
    }

    /// Largest slot number an id can carry (per core).
    pub const MAX_SLOTS: u32 = 1 << Self::SLOT_BITS;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_round_trips() {
        let id = SessionId {
            core: 3,
            slot: 123_456,
            generation: 9,
        };
        assert_eq!(SessionId::from_u64(id.to_u64()), id);
    }
}
