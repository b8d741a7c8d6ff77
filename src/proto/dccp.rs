//! DCCP connection tracking (SPEC S2) with the semantics of Linux `nf_conntrack_proto_dccp`
//! (the last kernels that carried it, 6.x): the middlebox view of the RFC 4340 §8 state diagram.
//!
//! The kernel's table is indexed by the *role* of the sender (client or server), not by the
//! packet's direction: after a reincarnation in the reverse direction (a Request from the old
//! server in TIMEWAIT) the roles swap. Some states exist on one side only (REQUEST, RESPOND,
//! PARTOPEN, CLOSEREQ); the table says how the other side's packets move the shared state.
//!
//! Cells are a state, "invalid" (the packet is dropped, a counted `DropReason`) or "ignore" (the
//! tracker cannot tell whether the packet is valid, e.g. a Request on an open connection that
//! may be a reincarnation we missed, or Sync/SyncAck: the packet passes, the state stays).
//!
//! Pure: no time, no I/O, no allocation; never panics.

use super::Step;
use super::key::Direction;
use super::wire::DccpHeader;
use crate::drop::DropReason;

/// Packet types (RFC 4340 §5.1); 10..=15 are reserved.
pub mod ptype {
    pub const REQUEST: u8 = 0;
    pub const RESPONSE: u8 = 1;
    pub const DATA: u8 = 2;
    pub const ACK: u8 = 3;
    pub const DATAACK: u8 = 4;
    pub const CLOSEREQ: u8 = 5;
    pub const CLOSE: u8 = 6;
    pub const RESET: u8 = 7;
    pub const SYNC: u8 = 8;
    pub const SYNCACK: u8 = 9;
}

/// The tracked connection states, numbered as the kernel's `enum ct_dccp_state` (0 = NONE is
/// internal: "no packet processed yet").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum DccpState {
    Request = 1,
    Respond,
    PartOpen,
    Open,
    CloseReq,
    Closing,
    TimeWait,
}

impl DccpState {
    pub const ALL: [DccpState; 7] = [
        DccpState::Request,
        DccpState::Respond,
        DccpState::PartOpen,
        DccpState::Open,
        DccpState::CloseReq,
        DccpState::Closing,
        DccpState::TimeWait,
    ];

    /// The operator-facing name (the kernel's and Comware's spelling).
    pub const fn name(self) -> &'static str {
        match self {
            DccpState::Request => "REQUEST",
            DccpState::Respond => "RESPOND",
            DccpState::PartOpen => "PARTOPEN",
            DccpState::Open => "OPEN",
            DccpState::CloseReq => "CLOSEREQ",
            DccpState::Closing => "CLOSING",
            DccpState::TimeWait => "TIMEWAIT",
        }
    }

    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| *s as u8 == v)
    }
}

/// Who sent the Request that opened the connection (RFC 4340 §4.1: client) and who answered it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DccpRole {
    #[default]
    Client = 0,
    Server = 1,
}

/// Per-session DCCP tracking data (the kernel's `struct nf_ct_dccp`, plus the sequence ranges
/// the handshake acknowledgement checks need).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DccpTrack {
    /// Role of the sender of each direction, indexed by `Direction::index()`.
    pub role: [DccpRole; 2],
    /// Type and `Direction as u8` of the last packet: a Response answering an ignored Request
    /// from the other side resynchronises the tracker (the kernel's rule).
    pub last_pkt: u8,
    pub last_dir: u8,
    /// A packet from the responder has passed (the kernel's IPS_SEEN_REPLY).
    pub seen_reply: bool,
    /// Sequence number of the first Request of the handshake, and how far retransmitted
    /// Requests (each with a new number, RFC 4340 §8.1.1) went beyond it (48-bit arithmetic).
    pub request_seq: Seq48,
    pub request_span: u32,
    /// Sequence number of the server's first Response (the kernel's `handshake_seq`), and the
    /// span of retransmitted Responses after it.
    pub handshake_seq: Seq48,
    pub handshake_span: u32,
}

const _: () = assert!(core::mem::size_of::<DccpTrack>() <= 40);
// 4-byte alignment keeps the session record's protocol area at 44 bytes.
const _: () = assert!(core::mem::align_of::<DccpTrack>() <= 4);

impl DccpTrack {
    /// The compact record's form (`L4Track::to_words`).
    #[inline]
    pub fn to_words(&self) -> [u32; 10] {
        [
            u32::from_le_bytes([
                self.role[0] as u8,
                self.role[1] as u8,
                self.last_pkt,
                self.last_dir,
            ]),
            u32::from(self.seen_reply),
            self.request_seq.0[0],
            self.request_seq.0[1],
            self.request_span,
            self.handshake_seq.0[0],
            self.handshake_seq.0[1],
            self.handshake_span,
            0,
            0,
        ]
    }

    #[inline]
    pub fn from_words(w: &[u32; 10]) -> DccpTrack {
        let role = |b: u8| {
            if b == DccpRole::Server as u8 {
                DccpRole::Server
            } else {
                DccpRole::Client
            }
        };
        let [r0, r1, last_pkt, last_dir] = w[0].to_le_bytes();
        DccpTrack {
            role: [role(r0), role(r1)],
            last_pkt,
            last_dir,
            seen_reply: w[1] != 0,
            request_seq: Seq48([w[2], w[3]]),
            request_span: w[4],
            handshake_seq: Seq48([w[5], w[6]]),
            handshake_span: w[7],
        }
    }
}

/// A 48-bit DCCP sequence number stored as two 32-bit words (no 8-byte alignment inside the
/// session record).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seq48([u32; 2]);

impl Seq48 {
    pub const fn new(v: u64) -> Seq48 {
        Seq48([(v >> 32) as u32 & 0xffff, v as u32])
    }
    pub const fn get(self) -> u64 {
        ((self.0[0] as u64) << 32) | self.0[1] as u64
    }
}

// ---- the transition table -------------------------------------------------------------------

/// Cells: 0 = NONE (only as a current state), 1..=7 = `DccpState as u8`, IG = ignore, IV = invalid.
const NO: u8 = 0;
const RQ: u8 = DccpState::Request as u8;
const RS: u8 = DccpState::Respond as u8;
const PO: u8 = DccpState::PartOpen as u8;
const OP: u8 = DccpState::Open as u8;
const CR: u8 = DccpState::CloseReq as u8;
const CG: u8 = DccpState::Closing as u8;
const TW: u8 = DccpState::TimeWait as u8;
const IG: u8 = 8;
const IV: u8 = 9;

/// `TABLE[role][packet type][current state]` = next state: the kernel's `dccp_state_table`.
/// Columns: NONE, REQUEST, RESPOND, PARTOPEN, OPEN, CLOSEREQ, CLOSING, TIMEWAIT.
///
/// Two cells follow the kernel's values where its own comments say otherwise: a client Close
/// in CLOSING is invalid (comment: "retransmit, stays CLOSING"), and a server Reset in TIMEWAIT
/// stays TIMEWAIT (the row has one cell too many, so the intended "ignore" never applies).
#[rustfmt::skip]
const TABLE: [[[u8; 8]; 10]; 2] = [
    // Client.
    [
        // Request: a new connection; retransmitted (§8.1.1); on a later state it may be a
        // reincarnation we cannot confirm; in TIMEWAIT a new incarnation.
        /* Request  */ [RQ, RQ, RS, IG, IG, IG, IG, RQ],
        // Response: only servers send it; may answer an ignored Request.
        /* Response */ [IV, IG, IG, IG, IG, IG, IG, IV],
        // Data: not before the handshake completed; PARTOPEN must use DataAck (§8.1.5).
        /* Data     */ [IV, IV, IV, IV, OP, CR, CG, IV],
        // Ack / DataAck of the Response: PARTOPEN (§8.1.5); MAY be processed while closing (§8.3).
        /* Ack      */ [IV, IV, PO, PO, OP, CR, CG, IV],
        /* DataAck  */ [IV, IV, PO, PO, OP, CR, CG, IV],
        // CloseReq: only servers send it (§8.3).
        /* CloseReq */ [IV, IV, IV, IV, IV, IV, IV, IV],
        // Close: client-initiated or answering CloseReq (§8.3).
        /* Close    */ [IV, IV, IV, CG, CG, CG, IV, IV],
        // Reset ends any connection (§8.1.1, §8.1.5, §8.3); in TIMEWAIT it is ignored.
        /* Reset    */ [IV, TW, TW, TW, TW, TW, TW, IG],
        // Sync / SyncAck (§7.5) are not tracked.
        /* Sync     */ [IV, IG, IG, IG, IG, IG, IG, IG],
        /* SyncAck  */ [IV, IG, IG, IG, IG, IG, IG, IG],
    ],
    // Server.
    [
        // Request from the server: only a reincarnation in TIMEWAIT, with the roles reversed.
        /* Request  */ [IV, IG, IG, IG, IG, IG, IG, RQ],
        // Response to the client's Request (§8.1.3), retransmitted, or answering an ignored one.
        /* Response */ [IV, RS, RS, IG, IG, IG, IG, IV],
        // Any server packet after the client's Ack opens the connection (§8.1.5); after its own
        // CloseReq the server waits for the client's Close (§8.3).
        /* Data     */ [IV, IV, IV, OP, OP, IV, CG, IV],
        /* Ack      */ [IV, IV, IV, OP, OP, IV, CG, IV],
        /* DataAck  */ [IV, IV, IV, OP, OP, IV, CG, IV],
        /* CloseReq */ [IV, IV, IV, CR, CR, CR, CR, IV],
        /* Close    */ [IV, IV, IV, CG, CG, IV, CG, IV],
        /* Reset    */ [IV, TW, TW, TW, TW, TW, TW, TW],
        /* Sync     */ [IV, IG, IG, IG, IG, IG, IG, IG],
        /* SyncAck  */ [IV, IG, IG, IG, IG, IG, IG, IG],
    ],
];

fn next_state(role: DccpRole, ty: u8, cur: u8) -> u8 {
    TABLE[role as usize]
        .get(usize::from(ty))
        .and_then(|cells| cells.get(usize::from(cur)))
        .copied()
        .unwrap_or(IV)
}

// ---- 48-bit sequence ranges (RFC 4340 §7.1) ---------------------------------------------------

const SEQ_MASK: u64 = (1 << 48) - 1;

/// Distance from `from` forward to `to`, modulo 2^48.
fn seq_dist(from: u64, to: u64) -> u64 {
    to.wrapping_sub(from) & SEQ_MASK
}

fn in_range(x: u64, first: u64, span: u32) -> bool {
    seq_dist(first, x) <= u64::from(span)
}

/// Widens `[first, first + span]` to cover `x`, which lies after `first` unless it is more
/// than half the space away (then it is an older number: the range starts there).
fn extend(first_seq: &mut Seq48, span: &mut u32, x: u64) {
    let mut first = first_seq.get();
    extend_u64(&mut first, span, x);
    *first_seq = Seq48::new(first);
}

fn extend_u64(first: &mut u64, span: &mut u32, x: u64) {
    let fwd = seq_dist(*first, x);
    if fwd < 1 << 47 {
        *span = (*span).max(u32::try_from(fwd).unwrap_or(u32::MAX));
    } else {
        let back = seq_dist(x, *first);
        *span = u32::try_from(u64::from(*span) + back).unwrap_or(u32::MAX);
        *first = x & SEQ_MASK;
    }
}

/// The acknowledgement a handshake packet must carry, or `DccpBadAck`.
fn ack_in(h: &DccpHeader, first: u64, span: u32) -> Result<(), DropReason> {
    match h.ack {
        Some(a) if in_range(a, first, span) => Ok(()),
        _ => Err(DropReason::DccpBadAck),
    }
}

/// The first packet of a possible new connection: only a Request opens one (RFC 4340 §8.1.1;
/// the kernel's NONE column holds a state for Request only).
pub fn dccp_new(h: &DccpHeader) -> Result<(DccpState, DccpTrack), DropReason> {
    if next_state(DccpRole::Client, h.ptype, NO) != RQ {
        return Err(DropReason::DccpNotRequestFirst);
    }
    let track = DccpTrack {
        role: [DccpRole::Client, DccpRole::Server],
        last_pkt: ptype::REQUEST,
        last_dir: Direction::Orig as u8,
        seen_reply: false,
        request_seq: Seq48::new(h.seq & SEQ_MASK),
        request_span: 0,
        handshake_seq: Seq48::new(0),
        handshake_span: 0,
    };
    Ok((DccpState::Request, track))
}

/// A packet of a known session travelling in `dir`.
pub fn dccp_packet(
    state: &mut DccpState,
    track: &mut DccpTrack,
    dir: Direction,
    h: &DccpHeader,
) -> Step {
    match step(state, track, dir, h) {
        Ok(outcome) => outcome,
        Err(e) => Step::Invalid(e),
    }
}

fn step(
    state: &mut DccpState,
    t: &mut DccpTrack,
    dir: Direction,
    h: &DccpHeader,
) -> Result<Step, DropReason> {
    let ty = h.ptype;
    if ty > ptype::SYNCACK {
        // Reserved types (RFC 4340 §5.1: MUST be ignored by receivers; the kernel drops them).
        return Err(DropReason::DccpInvalidInState);
    }
    let d = dir.index();
    let o = dir.flip().index();

    if ty == ptype::RESET && !t.seen_reply {
        // The only answer to the Request is a Reset (or the client gave up): the kernel deletes
        // the entry at once. We move to TIMEWAIT, whose aging removes it, and where a new Request
        // reopens.
        *state = DccpState::TimeWait;
        t.last_pkt = ty;
        t.last_dir = dir as u8;
        return Ok(Step::Accept);
    }

    let role = t.role[d];
    let old = *state as u8;
    let mut new = next_state(role, ty, old);

    match new {
        IV => return Err(DropReason::DccpInvalidInState),
        IG => {
            // Out of sync? A Response from the other side to the Request we just let pass means
            // a new connection really started: follow it with the roles it implies.
            if t.last_dir == dir.flip() as u8
                && t.last_pkt == ptype::REQUEST
                && ty == ptype::RESPONSE
            {
                let Some(req) = h.ack else {
                    return Err(DropReason::DccpBadAck);
                };
                t.role[o] = DccpRole::Client;
                t.role[d] = DccpRole::Server;
                t.request_seq = Seq48::new(req & SEQ_MASK);
                t.request_span = 0;
                t.handshake_seq = Seq48::new(h.seq & SEQ_MASK);
                t.handshake_span = 0;
                new = RS;
            } else {
                t.last_dir = dir as u8;
                t.last_pkt = ty;
                t.seen_reply |= dir == Direction::Reply;
                return Ok(Step::Accept);
            }
        }
        // A Request after the connection ended (either role): a new incarnation.
        RQ if old == TW => return Ok(Step::Reopen),
        _ => {
            if ty == ptype::REQUEST {
                // Retransmitted Request (§8.1.1): each carries a new sequence number.
                extend(&mut t.request_seq, &mut t.request_span, h.seq);
            } else if ty == ptype::RESPONSE {
                // §8.1.3: the Response acknowledges a Request the client sent.
                ack_in(h, t.request_seq.get(), t.request_span)?;
                if old == RQ {
                    t.handshake_seq = Seq48::new(h.seq & SEQ_MASK);
                    t.handshake_span = 0;
                } else {
                    extend(&mut t.handshake_seq, &mut t.handshake_span, h.seq);
                }
            } else if new == PO && old == RS {
                // §8.1.4-5: the client's Ack / DataAck acknowledges the server's Response.
                ack_in(h, t.handshake_seq.get(), t.handshake_span)?;
            }
        }
    }

    t.last_dir = dir as u8;
    t.last_pkt = ty;
    t.seen_reply |= dir == Direction::Reply;
    if let Some(s) = DccpState::from_u8(new) {
        *state = s;
    }
    Ok(Step::Accept)
}

/// The descriptor's `first` (see `proto::Descriptor`): a DCCP session's first packet.
pub(super) fn first(
    pkt: &super::wire::Packet<'_>,
    _key: &super::key::FlowKey,
    _policy: &super::tcp::TcpPolicy,
) -> Result<(u8, super::L4Track), DropReason> {
    match pkt.l4 {
        super::wire::L4::Dccp(h) => {
            let (st, tr) = dccp_new(&h)?;
            Ok((st as u8, super::L4Track::Dccp(tr)))
        }
        _ => Err(DropReason::ProtocolMismatch),
    }
}

/// The descriptor's `next`: a later packet of a DCCP connection.
pub(super) fn next(
    state: &mut u8,
    track: &mut super::L4Track,
    dir: Direction,
    pkt: &super::wire::Packet<'_>,
    _seen_reply: bool,
    _policy: &super::tcp::TcpPolicy,
) -> Step {
    let (super::L4Track::Dccp(tr), super::wire::L4::Dccp(h)) = (track, pkt.l4) else {
        return Step::Invalid(DropReason::ProtocolMismatch);
    };
    let Some(mut st) = DccpState::from_u8(*state) else {
        return Step::Invalid(DropReason::DccpInvalidInState);
    };
    let out = dccp_packet(&mut st, tr, dir, &h);
    *state = st as u8;
    out
}

#[cfg(test)]
mod tests {
    use super::ptype::*;
    use super::*;
    use proptest::prelude::*;

    const O: Direction = Direction::Orig;
    const R: Direction = Direction::Reply;
    const C: DccpRole = DccpRole::Client;
    const S: DccpRole = DccpRole::Server;
    use DccpState::{
        CloseReq as Cr, Closing as Cg, Open as Op, PartOpen as Po, Request as Rq, Respond as Rs,
        TimeWait as Tw,
    };

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Expect {
        To(DccpState),
        /// The kernel's sIG: accepted, state unchanged.
        Ignore,
        /// The kernel's sIV.
        Inv,
        Reopen,
    }
    use Expect::*;

    fn pkt(ptype: u8, seq: u64, ack: Option<u64>) -> DccpHeader {
        DccpHeader {
            sport: 5001,
            dport: 6000,
            ptype,
            seq,
            ack,
        }
    }

    /// One row per cell of the kernel table for an existing session (RFC 4340 §8 as
    /// nf_conntrack sees it): (sender role, packet type, current state, outcome).
    const ROWS: &[(DccpRole, u8, DccpState, Expect)] = &[
        (C, REQUEST, Rq, To(Rq)),
        (C, REQUEST, Rs, To(Rs)),
        (C, REQUEST, Po, Ignore),
        (C, REQUEST, Op, Ignore),
        (C, REQUEST, Cr, Ignore),
        (C, REQUEST, Cg, Ignore),
        (C, REQUEST, Tw, Reopen),
        (C, RESPONSE, Rq, Ignore),
        (C, RESPONSE, Rs, Ignore),
        (C, RESPONSE, Po, Ignore),
        (C, RESPONSE, Op, Ignore),
        (C, RESPONSE, Cr, Ignore),
        (C, RESPONSE, Cg, Ignore),
        (C, RESPONSE, Tw, Inv),
        (C, ACK, Rq, Inv),
        (C, ACK, Rs, To(Po)),
        (C, ACK, Po, To(Po)),
        (C, ACK, Op, To(Op)),
        (C, ACK, Cr, To(Cr)),
        (C, ACK, Cg, To(Cg)),
        (C, ACK, Tw, Inv),
        (C, DATA, Rq, Inv),
        (C, DATA, Rs, Inv),
        (C, DATA, Po, Inv),
        (C, DATA, Op, To(Op)),
        (C, DATA, Cr, To(Cr)),
        (C, DATA, Cg, To(Cg)),
        (C, DATA, Tw, Inv),
        (C, DATAACK, Rq, Inv),
        (C, DATAACK, Rs, To(Po)),
        (C, DATAACK, Po, To(Po)),
        (C, DATAACK, Op, To(Op)),
        (C, DATAACK, Cr, To(Cr)),
        (C, DATAACK, Cg, To(Cg)),
        (C, DATAACK, Tw, Inv),
        (C, CLOSEREQ, Rq, Inv),
        (C, CLOSEREQ, Rs, Inv),
        (C, CLOSEREQ, Po, Inv),
        (C, CLOSEREQ, Op, Inv),
        (C, CLOSEREQ, Cr, Inv),
        (C, CLOSEREQ, Cg, Inv),
        (C, CLOSEREQ, Tw, Inv),
        (C, CLOSE, Rq, Inv),
        (C, CLOSE, Rs, Inv),
        (C, CLOSE, Po, To(Cg)),
        (C, CLOSE, Op, To(Cg)),
        (C, CLOSE, Cr, To(Cg)),
        (C, CLOSE, Cg, Inv),
        (C, CLOSE, Tw, Inv),
        (C, RESET, Rq, To(Tw)),
        (C, RESET, Rs, To(Tw)),
        (C, RESET, Po, To(Tw)),
        (C, RESET, Op, To(Tw)),
        (C, RESET, Cr, To(Tw)),
        (C, RESET, Cg, To(Tw)),
        (C, RESET, Tw, Ignore),
        (C, SYNC, Rq, Ignore),
        (C, SYNC, Rs, Ignore),
        (C, SYNC, Po, Ignore),
        (C, SYNC, Op, Ignore),
        (C, SYNC, Cr, Ignore),
        (C, SYNC, Cg, Ignore),
        (C, SYNC, Tw, Ignore),
        (C, SYNCACK, Rq, Ignore),
        (C, SYNCACK, Rs, Ignore),
        (C, SYNCACK, Po, Ignore),
        (C, SYNCACK, Op, Ignore),
        (C, SYNCACK, Cr, Ignore),
        (C, SYNCACK, Cg, Ignore),
        (C, SYNCACK, Tw, Ignore),
        (S, REQUEST, Rq, Ignore),
        (S, REQUEST, Rs, Ignore),
        (S, REQUEST, Po, Ignore),
        (S, REQUEST, Op, Ignore),
        (S, REQUEST, Cr, Ignore),
        (S, REQUEST, Cg, Ignore),
        (S, REQUEST, Tw, Reopen),
        (S, RESPONSE, Rq, To(Rs)),
        (S, RESPONSE, Rs, To(Rs)),
        (S, RESPONSE, Po, Ignore),
        (S, RESPONSE, Op, Ignore),
        (S, RESPONSE, Cr, Ignore),
        (S, RESPONSE, Cg, Ignore),
        (S, RESPONSE, Tw, Inv),
        (S, ACK, Rq, Inv),
        (S, ACK, Rs, Inv),
        (S, ACK, Po, To(Op)),
        (S, ACK, Op, To(Op)),
        (S, ACK, Cr, Inv),
        (S, ACK, Cg, To(Cg)),
        (S, ACK, Tw, Inv),
        (S, DATA, Rq, Inv),
        (S, DATA, Rs, Inv),
        (S, DATA, Po, To(Op)),
        (S, DATA, Op, To(Op)),
        (S, DATA, Cr, Inv),
        (S, DATA, Cg, To(Cg)),
        (S, DATA, Tw, Inv),
        (S, DATAACK, Rq, Inv),
        (S, DATAACK, Rs, Inv),
        (S, DATAACK, Po, To(Op)),
        (S, DATAACK, Op, To(Op)),
        (S, DATAACK, Cr, Inv),
        (S, DATAACK, Cg, To(Cg)),
        (S, DATAACK, Tw, Inv),
        (S, CLOSEREQ, Rq, Inv),
        (S, CLOSEREQ, Rs, Inv),
        (S, CLOSEREQ, Po, To(Cr)),
        (S, CLOSEREQ, Op, To(Cr)),
        (S, CLOSEREQ, Cr, To(Cr)),
        (S, CLOSEREQ, Cg, To(Cr)),
        (S, CLOSEREQ, Tw, Inv),
        (S, CLOSE, Rq, Inv),
        (S, CLOSE, Rs, Inv),
        (S, CLOSE, Po, To(Cg)),
        (S, CLOSE, Op, To(Cg)),
        (S, CLOSE, Cr, Inv),
        (S, CLOSE, Cg, To(Cg)),
        (S, CLOSE, Tw, Inv),
        (S, RESET, Rq, To(Tw)),
        (S, RESET, Rs, To(Tw)),
        (S, RESET, Po, To(Tw)),
        (S, RESET, Op, To(Tw)),
        (S, RESET, Cr, To(Tw)),
        (S, RESET, Cg, To(Tw)),
        (S, RESET, Tw, To(Tw)),
        (S, SYNC, Rq, Ignore),
        (S, SYNC, Rs, Ignore),
        (S, SYNC, Po, Ignore),
        (S, SYNC, Op, Ignore),
        (S, SYNC, Cr, Ignore),
        (S, SYNC, Cg, Ignore),
        (S, SYNC, Tw, Ignore),
        (S, SYNCACK, Rq, Ignore),
        (S, SYNCACK, Rs, Ignore),
        (S, SYNCACK, Po, Ignore),
        (S, SYNCACK, Op, Ignore),
        (S, SYNCACK, Cr, Ignore),
        (S, SYNCACK, Cg, Ignore),
        (S, SYNCACK, Tw, Ignore),
    ];

    #[test]
    fn every_transition_of_the_table() {
        assert_eq!(ROWS.len(), 2 * 10 * 7);
        for &(role, ty, from, want) in ROWS {
            let mut s = from;
            let mut t = DccpTrack {
                role: [C, S],
                last_pkt: ACK,
                last_dir: O as u8,
                seen_reply: true,
                request_seq: Seq48::new(100),
                handshake_seq: Seq48::new(500),
                ..Default::default()
            };
            let dir = if role == C { O } else { R };
            // Acknowledgements that satisfy the handshake checks: the Response acks the
            // Request, everything else acks the Response.
            let ack = match ty {
                REQUEST | DATA => None,
                RESPONSE => Some(100),
                _ => Some(500),
            };
            let seq = if ty == REQUEST { 101 } else { 1000 };
            let out = dccp_packet(&mut s, &mut t, dir, &pkt(ty, seq, ack));
            let got = match out {
                Step::Accept if s == from && want == Ignore => Ignore,
                Step::Accept => To(s),
                Step::Invalid(DropReason::DccpInvalidInState) => Inv,
                Step::Reopen => Reopen,
                other => panic!("{role:?} type {ty} in {from:?}: {other:?}"),
            };
            assert_eq!(got, want, "{role:?} type {ty} in {from:?}");
            // An ignored packet and a same-state transition look alike from outside; the cell
            // itself tells them apart.
            let cell = next_state(role, ty, from as u8);
            assert_eq!(cell == IG, want == Ignore, "{role:?} type {ty} in {from:?}");
            if matches!(want, Inv | Reopen | Ignore) {
                assert_eq!(s, from);
            }
        }
    }

    /// The NONE column: only a Request opens a connection.
    #[test]
    fn every_first_packet() {
        for ty in 0..=15u8 {
            let got = dccp_new(&pkt(ty, 7, if ty == REQUEST { None } else { Some(1) }));
            if ty == REQUEST {
                let (s, t) = got.unwrap();
                assert_eq!(s, DccpState::Request);
                assert_eq!(t.role, [C, S]);
                assert_eq!(t.request_seq.get(), 7);
            } else {
                assert_eq!(got, Err(DropReason::DccpNotRequestFirst), "type {ty}");
            }
        }
    }

    fn send(
        s: &mut DccpState,
        t: &mut DccpTrack,
        dir: Direction,
        ty: u8,
        seq: u64,
        ack: Option<u64>,
    ) -> Step {
        dccp_packet(s, t, dir, &pkt(ty, seq, ack))
    }

    fn open() -> (DccpState, DccpTrack) {
        let (mut s, mut t) = dccp_new(&pkt(REQUEST, 100, None)).unwrap();
        assert_eq!(s, Rq);
        assert_eq!(
            send(&mut s, &mut t, R, RESPONSE, 500, Some(100)),
            Step::Accept
        );
        assert_eq!(s, Rs);
        assert_eq!(t.handshake_seq.get(), 500);
        assert_eq!(send(&mut s, &mut t, O, ACK, 101, Some(500)), Step::Accept);
        assert_eq!(s, Po);
        // PARTOPEN: the client MUST use DataAck, not Data (§8.1.5).
        assert_eq!(
            send(&mut s, &mut t, O, DATA, 102, None),
            Step::Invalid(DropReason::DccpInvalidInState)
        );
        assert_eq!(
            send(&mut s, &mut t, O, DATAACK, 102, Some(500)),
            Step::Accept
        );
        assert_eq!(s, Po);
        assert_eq!(
            send(&mut s, &mut t, R, DATAACK, 501, Some(102)),
            Step::Accept
        );
        assert_eq!(s, Op);
        (s, t)
    }

    #[test]
    fn handshake_to_open() {
        let (mut s, mut t) = open();
        assert_eq!(send(&mut s, &mut t, O, DATA, 103, None), Step::Accept);
        assert_eq!(send(&mut s, &mut t, R, ACK, 502, Some(103)), Step::Accept);
        assert_eq!(s, Op);
    }

    #[test]
    fn server_close_via_closereq_close_reset() {
        let (mut s, mut t) = open();
        assert_eq!(
            send(&mut s, &mut t, R, CLOSEREQ, 600, Some(103)),
            Step::Accept
        );
        assert_eq!(s, Cr);
        // The server waits for the client's Close (§8.3): its own data is invalid now.
        assert_eq!(
            send(&mut s, &mut t, R, DATA, 601, None),
            Step::Invalid(DropReason::DccpInvalidInState)
        );
        assert_eq!(send(&mut s, &mut t, O, CLOSE, 104, Some(600)), Step::Accept);
        assert_eq!(s, Cg);
        assert_eq!(send(&mut s, &mut t, R, RESET, 601, Some(104)), Step::Accept);
        assert_eq!(s, Tw);
        // Late packets of the old connection.
        assert_eq!(
            send(&mut s, &mut t, O, ACK, 105, Some(601)),
            Step::Invalid(DropReason::DccpInvalidInState)
        );
        assert_eq!(send(&mut s, &mut t, O, RESET, 105, Some(601)), Step::Accept);
        assert_eq!(s, Tw);
    }

    #[test]
    fn client_close() {
        let (mut s, mut t) = open();
        assert_eq!(send(&mut s, &mut t, O, CLOSE, 104, Some(502)), Step::Accept);
        assert_eq!(s, Cg);
        assert_eq!(send(&mut s, &mut t, R, RESET, 600, Some(104)), Step::Accept);
        assert_eq!(s, Tw);
    }

    #[test]
    fn bad_acks_are_rejected() {
        let bad = Step::Invalid(DropReason::DccpBadAck);
        let (mut s, mut t) = dccp_new(&pkt(REQUEST, 100, None)).unwrap();
        // A Response acknowledging no Request we saw, or none at all.
        assert_eq!(send(&mut s, &mut t, R, RESPONSE, 500, Some(999)), bad);
        assert_eq!(send(&mut s, &mut t, R, RESPONSE, 500, None), bad);
        assert_eq!(s, Rq);
        assert_eq!(
            send(&mut s, &mut t, R, RESPONSE, 500, Some(100)),
            Step::Accept
        );
        // The client's Ack must acknowledge the Response (the kernel's handshake_seq).
        assert_eq!(send(&mut s, &mut t, O, ACK, 101, Some(777)), bad);
        assert_eq!(send(&mut s, &mut t, O, DATAACK, 101, Some(499)), bad);
        assert_eq!(send(&mut s, &mut t, O, ACK, 101, None), bad);
        assert_eq!(s, Rs);
        assert_eq!(send(&mut s, &mut t, O, ACK, 101, Some(500)), Step::Accept);
        assert_eq!(s, Po);
    }

    #[test]
    fn retransmissions_widen_the_acceptable_acks() {
        let (mut s, mut t) = dccp_new(&pkt(REQUEST, 100, None)).unwrap();
        assert_eq!(send(&mut s, &mut t, O, REQUEST, 101, None), Step::Accept);
        assert_eq!(
            send(&mut s, &mut t, R, RESPONSE, 500, Some(101)),
            Step::Accept
        );
        assert_eq!(send(&mut s, &mut t, O, REQUEST, 102, None), Step::Accept);
        assert_eq!(s, Rs);
        assert_eq!(
            send(&mut s, &mut t, R, RESPONSE, 501, Some(102)),
            Step::Accept
        );
        assert_eq!(send(&mut s, &mut t, O, ACK, 103, Some(501)), Step::Accept);
        assert_eq!(s, Po);
        // Sequence numbers wrap at 2^48 (RFC 4340 §7.1).
        let (mut s, mut t) = dccp_new(&pkt(REQUEST, SEQ_MASK, None)).unwrap();
        assert_eq!(send(&mut s, &mut t, O, REQUEST, 0, None), Step::Accept);
        assert_eq!(send(&mut s, &mut t, R, RESPONSE, 9, Some(0)), Step::Accept);
        assert_eq!(s, Rs);
    }

    #[test]
    fn request_in_timewait_reopens() {
        let (mut s, mut t) = open();
        assert_eq!(send(&mut s, &mut t, O, RESET, 104, Some(502)), Step::Accept);
        assert_eq!(s, Tw);
        // From the old client, and from the old server (a reincarnation with roles reversed).
        assert_eq!(send(&mut s, &mut t, O, REQUEST, 1, None), Step::Reopen);
        assert_eq!(send(&mut s, &mut t, R, REQUEST, 1, None), Step::Reopen);
        assert_eq!(s, Tw);
    }

    #[test]
    fn reset_as_only_answer_ends_the_session() {
        let (mut s, mut t) = dccp_new(&pkt(REQUEST, 100, None)).unwrap();
        // Port closed: the server answers the Request with a Reset.
        assert_eq!(send(&mut s, &mut t, R, RESET, 0, Some(100)), Step::Accept);
        assert_eq!(s, Tw);
        assert_eq!(send(&mut s, &mut t, O, REQUEST, 101, None), Step::Reopen);
    }

    #[test]
    fn response_to_an_ignored_request_resynchronises() {
        // The old server starts a new connection we did not see end: roles reverse.
        let (mut s, mut t) = open();
        assert_eq!(send(&mut s, &mut t, R, REQUEST, 9000, None), Step::Accept);
        assert_eq!(s, Op);
        assert_eq!(
            send(&mut s, &mut t, O, RESPONSE, 7000, Some(9000)),
            Step::Accept
        );
        assert_eq!(s, Rs);
        assert_eq!(t.role, [S, C]);
        assert_eq!(t.handshake_seq.get(), 7000);
        assert_eq!(send(&mut s, &mut t, R, ACK, 9001, Some(7000)), Step::Accept);
        assert_eq!(s, Po);
        assert_eq!(send(&mut s, &mut t, O, DATA, 7001, None), Step::Accept);
        assert_eq!(s, Op);

        // The same client reconnecting: roles stay.
        let (mut s, mut t) = open();
        assert_eq!(send(&mut s, &mut t, O, REQUEST, 50, None), Step::Accept);
        assert_eq!(
            send(&mut s, &mut t, R, RESPONSE, 60, Some(50)),
            Step::Accept
        );
        assert_eq!((s, t.role), (Rs, [C, S]));
    }

    #[test]
    fn sync_is_ignored_and_reserved_types_dropped() {
        let (mut s, mut t) = open();
        assert_eq!(send(&mut s, &mut t, O, SYNC, 200, Some(1)), Step::Accept);
        assert_eq!(
            send(&mut s, &mut t, R, SYNCACK, 201, Some(200)),
            Step::Accept
        );
        assert_eq!(s, Op);
        for ty in 10..=15 {
            assert_eq!(
                send(&mut s, &mut t, O, ty, 1, Some(1)),
                Step::Invalid(DropReason::DccpInvalidInState)
            );
        }
    }

    #[test]
    fn names_and_numbers() {
        for (i, s) in DccpState::ALL.iter().enumerate() {
            assert_eq!(*s as u8, i as u8 + 1);
            assert_eq!(DccpState::from_u8(*s as u8), Some(*s));
        }
        assert_eq!(DccpState::from_u8(0), None);
        assert_eq!(DccpState::from_u8(8), None);
        assert_eq!(DccpState::PartOpen.name(), "PARTOPEN");
        assert_eq!(DccpState::TimeWait.name(), "TIMEWAIT");
    }

    proptest! {
        #[test]
        fn never_panics(ptypes in prop::collection::vec((any::<u8>(), any::<u64>(), any::<Option<u64>>(), any::<bool>()), 1..12)) {
            let Ok((mut s, mut t)) = dccp_new(&pkt(REQUEST, ptypes[0].1, None)) else { return Ok(()) };
            for (ty, seq, ack, reply) in ptypes {
                let _ = dccp_packet(&mut s, &mut t, Direction::from_swapped(reply), &pkt(ty % 12, seq, ack));
            }
        }
    }
}
