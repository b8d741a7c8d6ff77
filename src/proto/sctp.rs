//! SCTP association tracking (SPEC S2) with the semantics of Linux `nf_conntrack_proto_sctp`
//! (kernel 6.x): the middlebox view of the RFC 9260 §4 association state diagram.
//!
//! The tracker is a table indexed by (direction, chunk type, current state), walked once per
//! chunk in chunk order, plus the verification-tag rules of RFC 9260 §8.5 / §8.5.1 that keep an
//! off-path sender from driving the state (or from riding an association it never saw).
//!
//! State set: SPEC S2 lists the SCTP states without `HEARTBEAT_SENT`. We keep the kernel's extra
//! state because it is how the kernel picks up a *secondary path* of a multi-homed association
//! (RFC 9260 §6.4, §8.3): that path never carries the INIT handshake, only HEARTBEAT and
//! HEARTBEAT ACK, so a HEARTBEAT creates a session in `HEARTBEAT_SENT` and the HEARTBEAT ACK in
//! the reply direction confirms it to `ESTABLISHED` (observed on kernel 6.18: HEARTBEAT → new
//! entry HEARTBEAT_SENT; HEARTBEAT ACK reply → ESTABLISHED).
//!
//! Like the kernel, a first INIT leaves the session in `CLOSED` (the peer may never answer); the
//! INIT ACK in the reply direction moves it to `COOKIE_WAIT`, the COOKIE ECHO to
//! `COOKIE_ECHOED` and the COOKIE ACK to `ESTABLISHED`.
//!
//! Pure: no time, no I/O, no allocation; never panics on any bytes.

use super::Step;
use super::key::Direction;
use super::wire::{SctpChunk, SctpHeader};
use crate::drop::DropReason;

/// Chunk type codes (RFC 9260 §3.2).
pub mod chunk {
    pub const DATA: u8 = 0;
    pub const INIT: u8 = 1;
    pub const INIT_ACK: u8 = 2;
    pub const SACK: u8 = 3;
    pub const HEARTBEAT: u8 = 4;
    pub const HEARTBEAT_ACK: u8 = 5;
    pub const ABORT: u8 = 6;
    pub const SHUTDOWN: u8 = 7;
    pub const SHUTDOWN_ACK: u8 = 8;
    pub const ERROR: u8 = 9;
    pub const COOKIE_ECHO: u8 = 10;
    pub const COOKIE_ACK: u8 = 11;
    pub const SHUTDOWN_COMPLETE: u8 = 14;
    /// The T bit of ABORT and SHUTDOWN COMPLETE (RFC 9260 §3.3.7, §3.3.13): the sender had no
    /// TCB and reflected the tag of the packet it answers.
    pub const FLAG_T: u8 = 0x01;
}

/// The tracked association states, numbered as the kernel's `enum sctp_conntrack` (0 = NONE is
/// internal: "no packet processed yet").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum SctpState {
    Closed = 1,
    CookieWait,
    CookieEchoed,
    Established,
    ShutdownSent,
    ShutdownRecd,
    ShutdownAckSent,
    /// Not in SPEC S2: the kernel's state for a path picked up from a HEARTBEAT (module docs).
    HeartbeatSent,
}

impl SctpState {
    pub const ALL: [SctpState; 8] = [
        SctpState::Closed,
        SctpState::CookieWait,
        SctpState::CookieEchoed,
        SctpState::Established,
        SctpState::ShutdownSent,
        SctpState::ShutdownRecd,
        SctpState::ShutdownAckSent,
        SctpState::HeartbeatSent,
    ];

    /// The operator-facing name (the kernel's and Comware's spelling).
    pub const fn name(self) -> &'static str {
        match self {
            SctpState::Closed => "CLOSED",
            SctpState::CookieWait => "COOKIE_WAIT",
            SctpState::CookieEchoed => "COOKIE_ECHOED",
            SctpState::Established => "ESTABLISHED",
            SctpState::ShutdownSent => "SHUTDOWN_SENT",
            SctpState::ShutdownRecd => "SHUTDOWN_RECD",
            SctpState::ShutdownAckSent => "SHUTDOWN_ACK_SENT",
            SctpState::HeartbeatSent => "HEARTBEAT_SENT",
        }
    }

    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| *s as u8 == v)
    }
}

/// Per-session SCTP tracking data (the kernel's `struct ip_ct_sctp`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SctpTrack {
    /// The verification tag packets travelling in each direction must carry, indexed by
    /// `Direction::index()`; 0 = not learnt yet. Learnt from the Initiate Tag of INIT / INIT ACK
    /// (RFC 9260 §3.3.2-3: each side announces the tag its peer must use) or, on a path picked up
    /// mid-association, from HEARTBEAT / HEARTBEAT ACK.
    pub vtag: [u32; 2],
    /// An INIT was seen from this direction and its handshake has not completed (cleared by
    /// COOKIE ACK). Both set = an INIT collision (RFC 9260 §5.2.4), where the INIT ACK must carry
    /// the tag already announced.
    pub init: [bool; 2],
    /// A HEARTBEAT with an unexpected tag was let through from `last_dir`: the peer may have
    /// restarted the association on the same ports. A HEARTBEAT ACK with a new tag from the
    /// other side then confirms it and the tags are learnt again.
    pub heartbeat_vtag_failed: bool,
    /// `Direction as u8` of that HEARTBEAT.
    pub last_dir: u8,
}

const _: () = assert!(core::mem::size_of::<SctpTrack>() <= 40);

impl SctpTrack {
    /// The compact record's form (`L4Track::to_words`).
    #[inline]
    pub fn to_words(&self) -> [u32; 10] {
        let flags = u32::from_le_bytes([
            u8::from(self.init[0]),
            u8::from(self.init[1]),
            u8::from(self.heartbeat_vtag_failed),
            self.last_dir,
        ]);
        [self.vtag[0], self.vtag[1], flags, 0, 0, 0, 0, 0, 0, 0]
    }

    #[inline]
    pub fn from_words(w: &[u32; 10]) -> SctpTrack {
        let [i0, i1, hb, last_dir] = w[2].to_le_bytes();
        SctpTrack {
            vtag: [w[0], w[1]],
            init: [i0 != 0, i1 != 0],
            heartbeat_vtag_failed: hb != 0,
            last_dir,
        }
    }
}

// ---- the chunk walk -------------------------------------------------------------------------

/// The chunks of a packet, through the parser's walk (`wire::SctpChunks`: RFC 9260 §3.2;
/// stops at the first chunk shorter than its header or running past the area, as the kernel's
/// walk does); `basic_checks` rejects the malformed cases before any state is touched.
fn chunks<'a>(h: &SctpHeader<'a>) -> crate::proto::wire::SctpChunks<'a> {
    h.chunks()
}

/// The set of chunk types present in a packet (the kernel's chunk bitmap).
#[derive(Clone, Copy, Default)]
struct ChunkMap([u64; 4]);

impl ChunkMap {
    fn set(&mut self, ty: u8) {
        self.0[usize::from(ty >> 6)] |= 1 << (ty & 63);
    }

    fn has(&self, ty: u8) -> bool {
        self.0[usize::from(ty >> 6)] & (1 << (ty & 63)) != 0
    }
}

/// RFC 9260 §6.10 bundling rules as the kernel enforces them (`do_basic_checks`): INIT, INIT ACK
/// and SHUTDOWN COMPLETE must travel alone, COOKIE ECHO and COOKIE ACK must come first, no chunk
/// may be shorter than its header, and a packet must carry at least one chunk.
fn basic_checks(h: &SctpHeader) -> Result<ChunkMap, DropReason> {
    let mut map = ChunkMap::default();
    let mut rest = h.chunks;
    let mut count = 0usize;
    let mut must_be_alone = false;
    while let Some((hdr, _)) = rest.split_first_chunk::<4>() {
        let ty = hdr[0];
        let len = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
        if len < 4 || len > rest.len() {
            return Err(DropReason::SctpInvalidChunks);
        }
        must_be_alone |= matches!(ty, chunk::INIT | chunk::INIT_ACK | chunk::SHUTDOWN_COMPLETE);
        let must_be_first = must_be_alone || matches!(ty, chunk::COOKIE_ECHO | chunk::COOKIE_ACK);
        if must_be_first && count != 0 {
            return Err(DropReason::SctpInvalidChunks);
        }
        map.set(ty);
        count += 1;
        rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
    }
    if count == 0 {
        return Err(DropReason::SctpInvalidChunks);
    }
    Ok(map)
}

/// The Initiate Tag of an INIT / INIT ACK (RFC 9260 §3.3.2). Like the kernel, require the whole
/// 16-byte fixed part (tag, a_rwnd, stream counts, initial TSN).
fn initiate_tag(c: &SctpChunk) -> Result<u32, DropReason> {
    match c.value.first_chunk::<16>() {
        Some(v) => Ok(u32::from_be_bytes([v[0], v[1], v[2], v[3]])),
        None => Err(DropReason::SctpInvalidChunks),
    }
}

// ---- the transition table -------------------------------------------------------------------

/// Table cells: 0 = NONE (only as a current state), 1..=8 = `SctpState as u8`, IV = invalid.
const NO: u8 = 0;
const CL: u8 = SctpState::Closed as u8;
const CW: u8 = SctpState::CookieWait as u8;
const CE: u8 = SctpState::CookieEchoed as u8;
const ES: u8 = SctpState::Established as u8;
const SS: u8 = SctpState::ShutdownSent as u8;
const SR: u8 = SctpState::ShutdownRecd as u8;
const SA: u8 = SctpState::ShutdownAckSent as u8;
const HS: u8 = SctpState::HeartbeatSent as u8;
const IV: u8 = 9;

/// The chunk types that move the state, in table row order. Any other chunk (DATA, SACK, ECNE,
/// ...) leaves the state as it is.
const ROWS: [u8; 11] = [
    chunk::INIT,
    chunk::INIT_ACK,
    chunk::ABORT,
    chunk::SHUTDOWN,
    chunk::SHUTDOWN_ACK,
    chunk::ERROR,
    chunk::COOKIE_ECHO,
    chunk::COOKIE_ACK,
    chunk::SHUTDOWN_COMPLETE,
    chunk::HEARTBEAT,
    chunk::HEARTBEAT_ACK,
];

/// `TABLE[direction][row][current state]` = next state: the kernel's `sctp_conntracks` (6.x,
/// after the HEARTBEAT_ACKED state was merged into ESTABLISHED and INIT collisions and INIT in
/// SHUTDOWN_SENT/RECD were handled). Columns: NONE, CLOSED, COOKIE_WAIT, COOKIE_ECHOED,
/// ESTABLISHED, SHUTDOWN_SENT, SHUTDOWN_RECD, SHUTDOWN_ACK_SENT, HEARTBEAT_SENT. We are a
/// middlebox guessing the endpoints' states; their own diagram is RFC 9260 §4. The comment
/// under each row gives the reason for its cells.
#[rustfmt::skip]
const TABLE: [[[u8; 9]; 11]; 2] = [
    // ---- From the initiator ----
    [
        //                      NO  CL  CW  CE  ES  SS  SR  SA  HS
        /* INIT              */ [CL, CL, CW, CE, ES, CL, CL, SA, CW],
        // NO/CL->CL: the association starts (§5.1 A); like the kernel, CLOSED until the INIT
        // ACK. CW/CE/ES: a retransmitted INIT or a restart (§5.2.1, §5.2.2) moves nothing, the
        // peer's answer decides. SS/SR->CL: an INIT during shutdown starts a new association.
        // SA: the SHUTDOWN ACK is retransmitted instead (§9.2). HS->CW: a picked-up path sees
        // its association start over.
        /* INIT ACK          */ [CL, CL, CW, CE, ES, SS, SR, SA, CL],
        // The initiator sends INIT ACK only in an INIT collision (§5.2.1): no move. NO->CL: out
        // of the blue, tag 0 only (checked in code). HS->CL: the picked-up path is restarting.
        /* ABORT             */ [CL, CL, CL, CL, CL, CL, CL, CL, CL],
        // §9.1: ABORT ends the association in every state (its tag is checked in code).
        /* SHUTDOWN          */ [CL, CL, CW, CE, SS, SS, SR, SA, CL],
        // ES->SS: the initiator shuts down (§9.2). Before ESTABLISHED no SHUTDOWN is valid and
        // nothing moves; SS/SR/SA: a retransmission.
        /* SHUTDOWN ACK      */ [SA, CL, CW, CE, ES, SA, SA, SA, SA],
        // SS/SR->SA: the answer to a SHUTDOWN (§9.2). NO->SA: out of the blue (§8.4 (5)).
        // ES: no SHUTDOWN was seen, nothing moves. HS->SA: the path carries the shutdown.
        /* ERROR             */ [CL, CL, CW, CE, ES, SS, SR, SA, CL],
        // An operation error (§3.3.10) reports, it does not move the state.
        /* COOKIE ECHO       */ [CL, CL, CE, CE, ES, SS, SR, SA, CL],
        // CW->CE: the initiator echoes the responder's cookie (§5.1 D).
        /* COOKIE ACK        */ [CL, CL, CW, ES, ES, SS, SR, SA, CL],
        // CE->ES: a COOKIE ACK from the initiator completes a collided handshake (§5.2.4).
        /* SHUTDOWN COMPLETE */ [CL, CL, CW, CE, ES, SS, SR, CL, CL],
        // SA->CL: the last chunk of a graceful shutdown (§9.2).
        /* HEARTBEAT         */ [HS, CL, CW, CE, ES, SS, SR, SA, HS],
        // NO->HS: a path of a multi-homed association seen first by a HEARTBEAT (§8.3); the
        // kernel's pick-up. Elsewhere a heartbeat moves nothing.
        /* HEARTBEAT ACK     */ [CL, CL, CW, CE, ES, SS, SR, SA, HS],
        // Answers a HEARTBEAT; on a picked-up path only the other side's answer confirms it.
    ],
    // ---- From the responder. The NONE column is never used: a first packet is the
    // initiator's. HEARTBEAT_SENT is left only by the answer to its HEARTBEAT. ----
    [
        //                      NO  CL  CW  CE  ES  SS  SR  SA  HS
        /* INIT              */ [IV, CL, CW, CE, ES, SS, SR, SA, IV],
        // The responder's INIT is a collision (§5.2.1): nothing moves until the handshake ends.
        /* INIT ACK          */ [IV, CW, CW, CE, ES, SS, SR, SA, IV],
        // CL->CW: the responder answers the INIT (§5.1 B); later, a retransmission.
        /* ABORT             */ [IV, CL, CL, CL, CL, CL, CL, CL, IV],
        // §9.1: ABORT ends the association.
        /* SHUTDOWN          */ [IV, CL, CW, CE, SR, SS, SR, SA, IV],
        // ES->SR: the responder shuts down (§9.2). SS: SHUTDOWNs crossed, stay. Before
        // ESTABLISHED nothing moves.
        /* SHUTDOWN ACK      */ [IV, CL, CW, CE, ES, SA, SA, SA, IV],
        // SS/SR->SA: the answer to a SHUTDOWN (§9.2).
        /* ERROR             */ [IV, CL, CW, CL, ES, SS, SR, SA, IV],
        // CE->CL: an ERROR answering the COOKIE ECHO (a stale cookie, §5.2.6) ends the attempt;
        // elsewhere it reports only.
        /* COOKIE ECHO       */ [IV, CL, CE, CE, ES, SS, SR, SA, IV],
        // CW->CE: in a collision the responder echoes a cookie too (§5.2.4).
        /* COOKIE ACK        */ [IV, CL, CW, ES, ES, SS, SR, SA, IV],
        // CE->ES: the COOKIE ACK completes the handshake (§5.1 E).
        /* SHUTDOWN COMPLETE */ [IV, CL, CW, CE, ES, SS, SR, CL, IV],
        // SA->CL: the shutdown is complete (§9.2).
        /* HEARTBEAT         */ [IV, CL, CW, CE, ES, SS, SR, SA, HS],
        // A heartbeat moves nothing.
        /* HEARTBEAT ACK     */ [IV, CL, CW, CE, ES, SS, SR, SA, ES],
        // HS->ES: the other side answered the path's HEARTBEAT: it belongs to a live
        // association (§8.3).
    ],
];

fn next_state(dir: Direction, cur: u8, ty: u8) -> u8 {
    match ROWS.iter().position(|&r| r == ty) {
        None => cur,
        Some(row) => TABLE[dir.index()]
            .get(row)
            .and_then(|cells| cells.get(usize::from(cur)))
            .copied()
            .unwrap_or(IV),
    }
}

/// Chunks whose packets are exempt from the plain "tag == the direction's tag" rule: they carry
/// a tag of their own kind (RFC 9260 §8.5.1) checked per chunk below, or teach us the tag.
const OWN_TAG_RULES: [u8; 7] = [
    chunk::INIT,
    chunk::SHUTDOWN_COMPLETE,
    chunk::COOKIE_ECHO,
    chunk::ABORT,
    chunk::SHUTDOWN_ACK,
    chunk::HEARTBEAT,
    chunk::HEARTBEAT_ACK,
];

/// The kernel's per-packet walk (`nf_conntrack_sctp_packet` after the basic checks). `cur` is
/// updated chunk by chunk: like the kernel, chunks before an offending one keep their effect.
fn process(
    cur: &mut u8,
    t: &mut SctpTrack,
    dir: Direction,
    h: &SctpHeader,
    map: &ChunkMap,
) -> Result<(), DropReason> {
    use DropReason::{SctpBadVerificationTag as BadTag, SctpInvalidInState};
    let d = dir.index();
    let o = dir.flip().index();

    // RFC 9260 §8.5: every other packet carries the tag its receiver announced.
    if !OWN_TAG_RULES.iter().any(|&ty| map.has(ty)) && h.vtag != t.vtag[d] {
        return Err(BadTag);
    }

    // A HEARTBEAT with a foreign tag is let through once (without moving the state) so that a
    // restarted peer can be re-learnt; a second one in the same packet is not.
    let mut let_through = false;
    for c in chunks(h) {
        match c.ty {
            // §8.5.1 (A): an INIT carries tag 0.
            chunk::INIT if h.vtag != 0 => return Err(BadTag),
            // §8.5.1 (B), (C): with T set the sender reflected its peer's tag.
            chunk::ABORT | chunk::SHUTDOWN_COMPLETE => {
                let want = if c.flags & chunk::FLAG_T != 0 {
                    t.vtag[o]
                } else {
                    t.vtag[d]
                };
                if h.vtag != want {
                    return Err(BadTag);
                }
            }
            // §8.5.1 (D) / §5.1: COOKIE ECHO uses the tag from the INIT ACK.
            chunk::COOKIE_ECHO if h.vtag != t.vtag[d] => return Err(BadTag),
            chunk::COOKIE_ACK => t.init = [false; 2],
            chunk::HEARTBEAT | chunk::HEARTBEAT_ACK => {
                if t.vtag[d] == 0 {
                    // A path picked up mid-association learns its tags here.
                    t.vtag[d] = h.vtag;
                } else if h.vtag != t.vtag[d] {
                    if map.has(chunk::DATA) || let_through {
                        return Err(BadTag);
                    }
                    if c.ty == chunk::HEARTBEAT {
                        t.heartbeat_vtag_failed = true;
                        t.last_dir = dir as u8;
                        let_through = true;
                        continue;
                    }
                    // A HEARTBEAT ACK confirms the new tag only when it answers a foreign-tag
                    // HEARTBEAT from the other side.
                    if !t.heartbeat_vtag_failed || t.last_dir == dir as u8 {
                        return Err(BadTag);
                    }
                    t.heartbeat_vtag_failed = false;
                    t.vtag[d] = h.vtag;
                    t.vtag[o] = 0;
                } else {
                    t.heartbeat_vtag_failed = false;
                }
            }
            _ => {}
        }

        let old = *cur;
        let new = next_state(dir, old, c.ty);
        if new == IV {
            return Err(SctpInvalidInState);
        }

        match c.ty {
            chunk::INIT => {
                let tag = initiate_tag(&c)?;
                // A retransmitted INIT (same tag as already learnt) does not restart the
                // collision bookkeeping.
                if old == NO || t.vtag[o] != tag {
                    if t.init[d] && t.init[o] {
                        t.init[o] = false;
                    }
                    t.init[d] = true;
                }
                t.vtag[o] = tag;
            }
            chunk::INIT_ACK => {
                let tag = initiate_tag(&c)?;
                let known = t.vtag[o];
                // An INIT ACK that answers no INIT we saw must repeat the tag already in use;
                // in a collision (§5.2.4) it must repeat the tag of the crossing INIT.
                if !t.init[o] && known != 0 && known != tag {
                    return Err(BadTag);
                }
                if t.init[d] && t.init[o] && known != tag {
                    return Err(BadTag);
                }
                t.vtag[o] = tag;
            }
            _ => {}
        }
        *cur = new;
    }
    Ok(())
}

/// The first packet of a possible new association (the kernel's `sctp_new` followed by its
/// first `nf_conntrack_sctp_packet`).
///
/// Creates a session for the chunk types whose NONE cell in the table is a state: in practice
/// an INIT (tag 0, RFC 9260 §5.1), a HEARTBEAT (secondary path, module docs), and the kernel's
/// out-of-the-blue cases (RFC 9260 §8.4) SHUTDOWN ACK and HEARTBEAT ACK. INIT ACK, SHUTDOWN,
/// ERROR and COOKIE ECHO pass the table too, but only with tag 0, which no live association
/// uses. Everything else, DATA and SACK first, is refused: SCTP is never picked up
/// mid-association.
pub fn sctp_new(h: &SctpHeader) -> Result<(SctpState, SctpTrack), DropReason> {
    use DropReason::{SctpBadVerificationTag, SctpInvalidChunks, SctpNotInitFirst};
    let map = basic_checks(h)?;
    // §8.4 (2), (6), (7): these are answered by silence, never by a new association.
    if map.has(chunk::ABORT) || map.has(chunk::SHUTDOWN_COMPLETE) || map.has(chunk::COOKIE_ACK) {
        return Err(SctpNotInitFirst);
    }
    let mut t = SctpTrack::default();
    for c in chunks(h) {
        let s = next_state(Direction::Orig, NO, c.ty);
        if s == NO || s == IV {
            return Err(SctpNotInitFirst);
        }
        match c.ty {
            chunk::INIT => {
                if h.vtag != 0 {
                    return Err(SctpBadVerificationTag);
                }
                t.vtag[Direction::Reply.index()] = initiate_tag(&c)?;
            }
            chunk::HEARTBEAT => t.vtag[Direction::Orig.index()] = h.vtag,
            // §8.4 (5): the answer to an OOTB SHUTDOWN ACK reflects its tag.
            chunk::SHUTDOWN_ACK => t.vtag[Direction::Reply.index()] = h.vtag,
            _ => {}
        }
    }
    let mut cur = NO;
    if let Err(e) = process(&mut cur, &mut t, Direction::Orig, h, &map) {
        // Without an INIT, a tag we could not have learnt means the packet belongs to an
        // association we never saw start.
        return Err(if map.has(chunk::INIT) || e == SctpInvalidChunks {
            e
        } else {
            SctpNotInitFirst
        });
    }
    match SctpState::from_u8(cur) {
        Some(s) => Ok((s, t)),
        None => Err(SctpNotInitFirst),
    }
}

/// A packet of a known session travelling in `dir`.
pub fn sctp_packet(
    state: &mut SctpState,
    track: &mut SctpTrack,
    dir: Direction,
    h: &SctpHeader,
) -> Step {
    let map = match basic_checks(h) {
        Ok(m) => m,
        Err(e) => return Step::Invalid(e),
    };
    let mut cur = *state as u8;
    let result = process(&mut cur, track, dir, h, &map);
    if let Some(s) = SctpState::from_u8(cur) {
        *state = s;
    }
    match result {
        Ok(()) => Step::Accept,
        Err(e) => Step::Invalid(e),
    }
}

/// The descriptor's `first` (see `proto::Descriptor`): an SCTP session's first packet.
pub(super) fn first(
    pkt: &super::wire::Packet<'_>,
    _key: &super::key::FlowKey,
    _policy: &super::tcp::TcpPolicy,
) -> Result<(u8, super::L4Track), DropReason> {
    match pkt.l4 {
        super::wire::L4::Sctp(h) => {
            let (st, tr) = sctp_new(&h)?;
            Ok((st as u8, super::L4Track::Sctp(tr)))
        }
        _ => Err(DropReason::ProtocolMismatch),
    }
}

/// The descriptor's `next`: a later packet of an SCTP association.
pub(super) fn next(
    state: &mut u8,
    track: &mut super::L4Track,
    dir: Direction,
    pkt: &super::wire::Packet<'_>,
    _seen_reply: bool,
    _policy: &super::tcp::TcpPolicy,
) -> Step {
    let (super::L4Track::Sctp(tr), super::wire::L4::Sctp(h)) = (track, pkt.l4) else {
        return Step::Invalid(DropReason::ProtocolMismatch);
    };
    let Some(mut st) = SctpState::from_u8(*state) else {
        return Step::Invalid(DropReason::SctpInvalidInState);
    };
    let out = sctp_packet(&mut st, tr, dir, &h);
    *state = st as u8;
    out
}

#[cfg(test)]
mod tests {
    #![allow(non_upper_case_globals)]
    use super::chunk::*;
    use super::*;
    use proptest::prelude::*;

    const O: Direction = Direction::Orig;
    const R: Direction = Direction::Reply;
    const Cl: Option<SctpState> = Some(SctpState::Closed);
    const Cw: Option<SctpState> = Some(SctpState::CookieWait);
    const Ce: Option<SctpState> = Some(SctpState::CookieEchoed);
    const Es: Option<SctpState> = Some(SctpState::Established);
    const Ss: Option<SctpState> = Some(SctpState::ShutdownSent);
    const Sr: Option<SctpState> = Some(SctpState::ShutdownRecd);
    const Sa: Option<SctpState> = Some(SctpState::ShutdownAckSent);
    const Hs: Option<SctpState> = Some(SctpState::HeartbeatSent);
    /// The kernel's sIV.
    const Iv: Option<SctpState> = None;

    /// Tags announced by the initiator (carried by reply packets) and by the responder.
    const TAG_I: u32 = 0x1111_1111;
    const TAG_R: u32 = 0x2222_2222;

    /// The chunk area of a packet: (type, flags, value) each padded to 4 bytes.
    fn area(chunks: &[(u8, u8, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        for &(ty, flags, value) in chunks {
            v.push(ty);
            v.push(flags);
            v.extend_from_slice(&((4 + value.len()) as u16).to_be_bytes());
            v.extend_from_slice(value);
            while v.len() % 4 != 0 {
                v.push(0);
            }
        }
        v
    }

    /// INIT / INIT ACK fixed part (RFC 9260 §3.3.2): tag, a_rwnd, OS, MIS, initial TSN.
    fn init_value(tag: u32) -> Vec<u8> {
        let mut v = tag.to_be_bytes().to_vec();
        v.extend_from_slice(&65535u32.to_be_bytes());
        v.extend_from_slice(&10u16.to_be_bytes());
        v.extend_from_slice(&10u16.to_be_bytes());
        v.extend_from_slice(&1u32.to_be_bytes());
        v
    }

    fn hdr(vtag: u32, chunks: &[u8]) -> SctpHeader<'_> {
        SctpHeader {
            sport: 5000,
            dport: 38412,
            vtag,
            chunks,
        }
    }

    fn new(vtag: u32, chunks: &[(u8, u8, &[u8])]) -> Result<(SctpState, SctpTrack), DropReason> {
        let a = area(chunks);
        sctp_new(&hdr(vtag, &a))
    }

    fn send(
        s: &mut SctpState,
        t: &mut SctpTrack,
        dir: Direction,
        vtag: u32,
        chunks: &[(u8, u8, &[u8])],
    ) -> Step {
        let a = area(chunks);
        sctp_packet(s, t, dir, &hdr(vtag, &a))
    }

    /// An established association between the initiator (tag TAG_I) and responder (TAG_R).
    fn established() -> (SctpState, SctpTrack) {
        let (mut s, mut t) = new(0, &[(INIT, 0, &init_value(TAG_I))]).unwrap();
        assert_eq!(
            send(
                &mut s,
                &mut t,
                R,
                TAG_I,
                &[(INIT_ACK, 0, &init_value(TAG_R))]
            ),
            Step::Accept
        );
        assert_eq!(
            send(&mut s, &mut t, O, TAG_R, &[(COOKIE_ECHO, 0, b"cookie!!")]),
            Step::Accept
        );
        assert_eq!(
            send(&mut s, &mut t, R, TAG_I, &[(COOKIE_ACK, 0, b"")]),
            Step::Accept
        );
        assert_eq!(s, SctpState::Established);
        (s, t)
    }

    /// One row per cell of the kernel table for an existing session (RFC 9260 §4 diagram as
    /// nf_conntrack sees it): (direction, chunk, current state, next state or sIV).
    const ROWS: &[(Direction, u8, Option<SctpState>, Option<SctpState>)] = &[
        (O, INIT, Cl, Cl),
        (O, INIT, Cw, Cw),
        (O, INIT, Ce, Ce),
        (O, INIT, Es, Es),
        (O, INIT, Ss, Cl),
        (O, INIT, Sr, Cl),
        (O, INIT, Sa, Sa),
        (O, INIT, Hs, Cw),
        (O, INIT_ACK, Cl, Cl),
        (O, INIT_ACK, Cw, Cw),
        (O, INIT_ACK, Ce, Ce),
        (O, INIT_ACK, Es, Es),
        (O, INIT_ACK, Ss, Ss),
        (O, INIT_ACK, Sr, Sr),
        (O, INIT_ACK, Sa, Sa),
        (O, INIT_ACK, Hs, Cl),
        (O, ABORT, Cl, Cl),
        (O, ABORT, Cw, Cl),
        (O, ABORT, Ce, Cl),
        (O, ABORT, Es, Cl),
        (O, ABORT, Ss, Cl),
        (O, ABORT, Sr, Cl),
        (O, ABORT, Sa, Cl),
        (O, ABORT, Hs, Cl),
        (O, SHUTDOWN, Cl, Cl),
        (O, SHUTDOWN, Cw, Cw),
        (O, SHUTDOWN, Ce, Ce),
        (O, SHUTDOWN, Es, Ss),
        (O, SHUTDOWN, Ss, Ss),
        (O, SHUTDOWN, Sr, Sr),
        (O, SHUTDOWN, Sa, Sa),
        (O, SHUTDOWN, Hs, Cl),
        (O, SHUTDOWN_ACK, Cl, Cl),
        (O, SHUTDOWN_ACK, Cw, Cw),
        (O, SHUTDOWN_ACK, Ce, Ce),
        (O, SHUTDOWN_ACK, Es, Es),
        (O, SHUTDOWN_ACK, Ss, Sa),
        (O, SHUTDOWN_ACK, Sr, Sa),
        (O, SHUTDOWN_ACK, Sa, Sa),
        (O, SHUTDOWN_ACK, Hs, Sa),
        (O, ERROR, Cl, Cl),
        (O, ERROR, Cw, Cw),
        (O, ERROR, Ce, Ce),
        (O, ERROR, Es, Es),
        (O, ERROR, Ss, Ss),
        (O, ERROR, Sr, Sr),
        (O, ERROR, Sa, Sa),
        (O, ERROR, Hs, Cl),
        (O, COOKIE_ECHO, Cl, Cl),
        (O, COOKIE_ECHO, Cw, Ce),
        (O, COOKIE_ECHO, Ce, Ce),
        (O, COOKIE_ECHO, Es, Es),
        (O, COOKIE_ECHO, Ss, Ss),
        (O, COOKIE_ECHO, Sr, Sr),
        (O, COOKIE_ECHO, Sa, Sa),
        (O, COOKIE_ECHO, Hs, Cl),
        (O, COOKIE_ACK, Cl, Cl),
        (O, COOKIE_ACK, Cw, Cw),
        (O, COOKIE_ACK, Ce, Es),
        (O, COOKIE_ACK, Es, Es),
        (O, COOKIE_ACK, Ss, Ss),
        (O, COOKIE_ACK, Sr, Sr),
        (O, COOKIE_ACK, Sa, Sa),
        (O, COOKIE_ACK, Hs, Cl),
        (O, SHUTDOWN_COMPLETE, Cl, Cl),
        (O, SHUTDOWN_COMPLETE, Cw, Cw),
        (O, SHUTDOWN_COMPLETE, Ce, Ce),
        (O, SHUTDOWN_COMPLETE, Es, Es),
        (O, SHUTDOWN_COMPLETE, Ss, Ss),
        (O, SHUTDOWN_COMPLETE, Sr, Sr),
        (O, SHUTDOWN_COMPLETE, Sa, Cl),
        (O, SHUTDOWN_COMPLETE, Hs, Cl),
        (O, HEARTBEAT, Cl, Cl),
        (O, HEARTBEAT, Cw, Cw),
        (O, HEARTBEAT, Ce, Ce),
        (O, HEARTBEAT, Es, Es),
        (O, HEARTBEAT, Ss, Ss),
        (O, HEARTBEAT, Sr, Sr),
        (O, HEARTBEAT, Sa, Sa),
        (O, HEARTBEAT, Hs, Hs),
        (O, HEARTBEAT_ACK, Cl, Cl),
        (O, HEARTBEAT_ACK, Cw, Cw),
        (O, HEARTBEAT_ACK, Ce, Ce),
        (O, HEARTBEAT_ACK, Es, Es),
        (O, HEARTBEAT_ACK, Ss, Ss),
        (O, HEARTBEAT_ACK, Sr, Sr),
        (O, HEARTBEAT_ACK, Sa, Sa),
        (O, HEARTBEAT_ACK, Hs, Hs),
        (R, INIT, Cl, Cl),
        (R, INIT, Cw, Cw),
        (R, INIT, Ce, Ce),
        (R, INIT, Es, Es),
        (R, INIT, Ss, Ss),
        (R, INIT, Sr, Sr),
        (R, INIT, Sa, Sa),
        (R, INIT, Hs, Iv),
        (R, INIT_ACK, Cl, Cw),
        (R, INIT_ACK, Cw, Cw),
        (R, INIT_ACK, Ce, Ce),
        (R, INIT_ACK, Es, Es),
        (R, INIT_ACK, Ss, Ss),
        (R, INIT_ACK, Sr, Sr),
        (R, INIT_ACK, Sa, Sa),
        (R, INIT_ACK, Hs, Iv),
        (R, ABORT, Cl, Cl),
        (R, ABORT, Cw, Cl),
        (R, ABORT, Ce, Cl),
        (R, ABORT, Es, Cl),
        (R, ABORT, Ss, Cl),
        (R, ABORT, Sr, Cl),
        (R, ABORT, Sa, Cl),
        (R, ABORT, Hs, Iv),
        (R, SHUTDOWN, Cl, Cl),
        (R, SHUTDOWN, Cw, Cw),
        (R, SHUTDOWN, Ce, Ce),
        (R, SHUTDOWN, Es, Sr),
        (R, SHUTDOWN, Ss, Ss),
        (R, SHUTDOWN, Sr, Sr),
        (R, SHUTDOWN, Sa, Sa),
        (R, SHUTDOWN, Hs, Iv),
        (R, SHUTDOWN_ACK, Cl, Cl),
        (R, SHUTDOWN_ACK, Cw, Cw),
        (R, SHUTDOWN_ACK, Ce, Ce),
        (R, SHUTDOWN_ACK, Es, Es),
        (R, SHUTDOWN_ACK, Ss, Sa),
        (R, SHUTDOWN_ACK, Sr, Sa),
        (R, SHUTDOWN_ACK, Sa, Sa),
        (R, SHUTDOWN_ACK, Hs, Iv),
        (R, ERROR, Cl, Cl),
        (R, ERROR, Cw, Cw),
        (R, ERROR, Ce, Cl),
        (R, ERROR, Es, Es),
        (R, ERROR, Ss, Ss),
        (R, ERROR, Sr, Sr),
        (R, ERROR, Sa, Sa),
        (R, ERROR, Hs, Iv),
        (R, COOKIE_ECHO, Cl, Cl),
        (R, COOKIE_ECHO, Cw, Ce),
        (R, COOKIE_ECHO, Ce, Ce),
        (R, COOKIE_ECHO, Es, Es),
        (R, COOKIE_ECHO, Ss, Ss),
        (R, COOKIE_ECHO, Sr, Sr),
        (R, COOKIE_ECHO, Sa, Sa),
        (R, COOKIE_ECHO, Hs, Iv),
        (R, COOKIE_ACK, Cl, Cl),
        (R, COOKIE_ACK, Cw, Cw),
        (R, COOKIE_ACK, Ce, Es),
        (R, COOKIE_ACK, Es, Es),
        (R, COOKIE_ACK, Ss, Ss),
        (R, COOKIE_ACK, Sr, Sr),
        (R, COOKIE_ACK, Sa, Sa),
        (R, COOKIE_ACK, Hs, Iv),
        (R, SHUTDOWN_COMPLETE, Cl, Cl),
        (R, SHUTDOWN_COMPLETE, Cw, Cw),
        (R, SHUTDOWN_COMPLETE, Ce, Ce),
        (R, SHUTDOWN_COMPLETE, Es, Es),
        (R, SHUTDOWN_COMPLETE, Ss, Ss),
        (R, SHUTDOWN_COMPLETE, Sr, Sr),
        (R, SHUTDOWN_COMPLETE, Sa, Cl),
        (R, SHUTDOWN_COMPLETE, Hs, Iv),
        (R, HEARTBEAT, Cl, Cl),
        (R, HEARTBEAT, Cw, Cw),
        (R, HEARTBEAT, Ce, Ce),
        (R, HEARTBEAT, Es, Es),
        (R, HEARTBEAT, Ss, Ss),
        (R, HEARTBEAT, Sr, Sr),
        (R, HEARTBEAT, Sa, Sa),
        (R, HEARTBEAT, Hs, Hs),
        (R, HEARTBEAT_ACK, Cl, Cl),
        (R, HEARTBEAT_ACK, Cw, Cw),
        (R, HEARTBEAT_ACK, Ce, Ce),
        (R, HEARTBEAT_ACK, Es, Es),
        (R, HEARTBEAT_ACK, Ss, Ss),
        (R, HEARTBEAT_ACK, Sr, Sr),
        (R, HEARTBEAT_ACK, Sa, Sa),
        (R, HEARTBEAT_ACK, Hs, Es),
    ];

    #[test]
    fn every_transition_of_the_table() {
        assert_eq!(ROWS.len(), 2 * 11 * 8);
        for &(dir, ty, from, to) in ROWS {
            let from = from.unwrap();
            let mut s = from;
            // vtag[d] is what packets travelling in d carry: the peer's announced tag.
            let mut t = SctpTrack {
                vtag: [TAG_R, TAG_I],
                ..Default::default()
            };
            let d = dir.index();
            let o = dir.flip().index();
            let (vtag, value) = match ty {
                INIT => (0, init_value(0x3333_3333)),
                // Repeats the tag already in use, as a retransmitted INIT ACK does.
                INIT_ACK => (t.vtag[d], init_value(t.vtag[o])),
                HEARTBEAT | HEARTBEAT_ACK => (t.vtag[d], vec![0, 1, 0, 8, 1, 2, 3, 4]),
                _ => (t.vtag[d], Vec::new()),
            };
            let out = send(&mut s, &mut t, dir, vtag, &[(ty, 0, &value)]);
            match to {
                Some(to) => {
                    assert_eq!(out, Step::Accept, "{dir:?} chunk {ty} in {from:?}");
                    assert_eq!(s, to, "{dir:?} chunk {ty} in {from:?}");
                }
                None => {
                    assert_eq!(
                        out,
                        Step::Invalid(DropReason::SctpInvalidInState),
                        "{dir:?} chunk {ty} in {from:?}"
                    );
                    assert_eq!(s, from);
                }
            }
        }
    }

    /// The NONE column: what each chunk does as the first packet of a session. The reply
    /// column of NONE is unreachable (a first packet is always Orig).
    #[test]
    fn every_first_chunk() {
        let nf = Err(DropReason::SctpNotInitFirst);
        type Row = (u8, u32, Vec<u8>, Result<SctpState, DropReason>);
        let rows: &[Row] = &[
            (INIT, 0, init_value(TAG_I), Ok(SctpState::Closed)),
            // Tag 0 is what the empty track expects; real INIT ACKs carry a tag and are refused
            // (data_or_other_chunks_first_are_refused).
            (INIT_ACK, 0, init_value(TAG_R), Ok(SctpState::Closed)),
            // §8.4: OOTB ABORT, SHUTDOWN COMPLETE and COOKIE ACK never create anything, even
            // though the table cell says CLOSED.
            (ABORT, 0, vec![], nf),
            (SHUTDOWN, 0, vec![0, 0, 0, 1], Ok(SctpState::Closed)),
            (SHUTDOWN_ACK, 0xabcd, vec![], Ok(SctpState::ShutdownAckSent)),
            (ERROR, 0, vec![], Ok(SctpState::Closed)),
            (COOKIE_ECHO, 0, vec![1, 2, 3, 4], Ok(SctpState::Closed)),
            (COOKIE_ACK, 0xabcd, vec![], nf),
            (SHUTDOWN_COMPLETE, 0xabcd, vec![], nf),
            (
                HEARTBEAT,
                0xabcd,
                vec![0, 1, 0, 8, 1, 2, 3, 4],
                Ok(SctpState::HeartbeatSent),
            ),
            (
                HEARTBEAT_ACK,
                0xabcd,
                vec![0, 1, 0, 8, 1, 2, 3, 4],
                Ok(SctpState::Closed),
            ),
        ];
        for (ty, vtag, value, want) in rows {
            let got = new(*vtag, &[(*ty, 0, value)]).map(|(s, _)| s);
            assert_eq!(got, *want, "first chunk {ty}");
        }
    }

    #[test]
    fn full_lifecycle() {
        let (mut s, mut t) = new(0, &[(INIT, 0, &init_value(TAG_I))]).unwrap();
        assert_eq!(s, SctpState::Closed);
        assert_eq!(t.vtag, [0, TAG_I]);
        assert_eq!(
            send(
                &mut s,
                &mut t,
                R,
                TAG_I,
                &[(INIT_ACK, 0, &init_value(TAG_R))]
            ),
            Step::Accept
        );
        assert_eq!(s, SctpState::CookieWait);
        assert_eq!(t.vtag, [TAG_R, TAG_I]);
        assert_eq!(
            send(&mut s, &mut t, O, TAG_R, &[(COOKIE_ECHO, 0, b"cookie")]),
            Step::Accept
        );
        assert_eq!(s, SctpState::CookieEchoed);
        // COOKIE ACK bundled with DATA is allowed (it comes first).
        assert_eq!(
            send(
                &mut s,
                &mut t,
                R,
                TAG_I,
                &[(COOKIE_ACK, 0, b""), (DATA, 3, b"\0\0\0\x01hello")]
            ),
            Step::Accept
        );
        assert_eq!(s, SctpState::Established);
        assert_eq!(t.init, [false, false]);
        assert_eq!(
            send(&mut s, &mut t, O, TAG_R, &[(DATA, 3, b"\0\0\0\x01data")]),
            Step::Accept
        );
        assert_eq!(
            send(&mut s, &mut t, R, TAG_I, &[(SACK, 0, &[0; 12])]),
            Step::Accept
        );
        assert_eq!(s, SctpState::Established);
        assert_eq!(
            send(&mut s, &mut t, O, TAG_R, &[(SHUTDOWN, 0, &[0, 0, 0, 1])]),
            Step::Accept
        );
        assert_eq!(s, SctpState::ShutdownSent);
        assert_eq!(
            send(&mut s, &mut t, R, TAG_I, &[(SHUTDOWN_ACK, 0, b"")]),
            Step::Accept
        );
        assert_eq!(s, SctpState::ShutdownAckSent);
        assert_eq!(
            send(&mut s, &mut t, O, TAG_R, &[(SHUTDOWN_COMPLETE, 0, b"")]),
            Step::Accept
        );
        assert_eq!(s, SctpState::Closed);
    }

    #[test]
    fn shutdown_from_responder_and_reflected_shutdown_complete() {
        let (mut s, mut t) = established();
        assert_eq!(
            send(&mut s, &mut t, R, TAG_I, &[(SHUTDOWN, 0, &[0, 0, 0, 1])]),
            Step::Accept
        );
        assert_eq!(s, SctpState::ShutdownRecd);
        assert_eq!(
            send(&mut s, &mut t, O, TAG_R, &[(SHUTDOWN_ACK, 0, b"")]),
            Step::Accept
        );
        assert_eq!(s, SctpState::ShutdownAckSent);
        // §8.5.1 (C): T set, the sender reflects the tag of the SHUTDOWN ACK it answers.
        assert_eq!(
            send(
                &mut s,
                &mut t,
                R,
                TAG_R,
                &[(SHUTDOWN_COMPLETE, FLAG_T, b"")]
            ),
            Step::Accept
        );
        assert_eq!(s, SctpState::Closed);
    }

    #[test]
    fn abort_closes_and_its_tag_is_checked() {
        let (mut s, mut t) = established();
        let bad = Step::Invalid(DropReason::SctpBadVerificationTag);
        // T clear: own tag required.
        assert_eq!(send(&mut s, &mut t, R, TAG_R, &[(ABORT, 0, b"")]), bad);
        // T set: the reflected (peer's) tag required.
        assert_eq!(send(&mut s, &mut t, R, TAG_I, &[(ABORT, FLAG_T, b"")]), bad);
        assert_eq!(s, SctpState::Established);
        assert_eq!(
            send(&mut s, &mut t, R, TAG_R, &[(ABORT, FLAG_T, b"")]),
            Step::Accept
        );
        assert_eq!(s, SctpState::Closed);

        let (mut s, mut t) = established();
        // ABORT bundled after DATA (RFC 9260 §6.10 allows it last).
        assert_eq!(
            send(
                &mut s,
                &mut t,
                O,
                TAG_R,
                &[(DATA, 3, b"\0\0\0\x01x"), (ABORT, 0, b"")]
            ),
            Step::Accept
        );
        assert_eq!(s, SctpState::Closed);
    }

    #[test]
    fn bad_verification_tag_is_rejected() {
        let (mut s, mut t) = established();
        let before = t;
        let bad = Step::Invalid(DropReason::SctpBadVerificationTag);
        assert_eq!(
            send(&mut s, &mut t, O, 0xdead_beef, &[(DATA, 3, b"\0\0\0\x01x")]),
            bad
        );
        // Each direction has its own tag: the reply's tag is wrong from the initiator.
        assert_eq!(send(&mut s, &mut t, O, TAG_I, &[(SACK, 0, &[0; 12])]), bad);
        assert_eq!(
            send(&mut s, &mut t, O, TAG_I, &[(SHUTDOWN, 0, &[0; 4])]),
            bad
        );
        // §8.5.1 (A): an INIT carries tag 0.
        assert_eq!(
            send(&mut s, &mut t, O, TAG_R, &[(INIT, 0, &init_value(7))]),
            bad
        );
        // §8.5.1 (D): COOKIE ECHO carries the INIT ACK's tag.
        assert_eq!(send(&mut s, &mut t, O, 5, &[(COOKIE_ECHO, 0, b"c")]), bad);
        assert_eq!((s, t), (SctpState::Established, before));
    }

    #[test]
    fn bundling_rules() {
        let ic = Err(DropReason::SctpInvalidChunks);
        let init = init_value(TAG_I);
        assert_eq!(new(0, &[(INIT, 0, &init), (DATA, 3, b"\0\0\0\x01x")]), ic);
        assert_eq!(new(0, &[(DATA, 3, b"\0\0\0\x01x"), (INIT, 0, &init)]), ic);
        assert_eq!(
            new(0, &[(HEARTBEAT, 0, b"\0\x01\0\x04"), (INIT, 0, &init)]),
            ic
        );
        let (mut s, mut t) = established();
        let bad = Step::Invalid(DropReason::SctpInvalidChunks);
        assert_eq!(
            send(
                &mut s,
                &mut t,
                O,
                TAG_R,
                &[(DATA, 3, b"\0\0\0\x01x"), (COOKIE_ECHO, 0, b"c")]
            ),
            bad
        );
        assert_eq!(
            send(
                &mut s,
                &mut t,
                R,
                TAG_I,
                &[(SACK, 0, &[0; 12]), (COOKIE_ACK, 0, b"")]
            ),
            bad
        );
        assert_eq!(
            send(
                &mut s,
                &mut t,
                O,
                TAG_R,
                &[(SHUTDOWN_COMPLETE, 0, b""), (DATA, 3, b"x")]
            ),
            bad
        );
        assert_eq!(
            send(
                &mut s,
                &mut t,
                R,
                TAG_I,
                &[(INIT_ACK, 0, &init_value(TAG_R)), (DATA, 0, b"")]
            ),
            bad
        );
        // No chunk at all, a zero-length chunk, a chunk running past the packet.
        assert_eq!(sctp_packet(&mut s, &mut t, O, &hdr(TAG_R, &[])), bad);
        assert_eq!(
            sctp_packet(&mut s, &mut t, O, &hdr(TAG_R, &[0, 3, 0, 0])),
            bad
        );
        assert_eq!(
            sctp_packet(&mut s, &mut t, O, &hdr(TAG_R, &[0, 3, 0, 2])),
            bad
        );
        assert_eq!(
            sctp_packet(&mut s, &mut t, O, &hdr(TAG_R, &[0, 3, 0, 9, 1, 2, 3, 4])),
            bad
        );
        // A truncated INIT (shorter than its fixed part).
        assert_eq!(new(0, &[(INIT, 0, &[1, 2, 3, 4])]), ic);
        assert_eq!(s, SctpState::Established);
    }

    #[test]
    fn data_or_other_chunks_first_are_refused() {
        let nf = Err(DropReason::SctpNotInitFirst);
        assert_eq!(new(TAG_R, &[(DATA, 3, b"\0\0\0\x01x")]), nf);
        assert_eq!(new(TAG_R, &[(SACK, 0, &[0; 12])]), nf);
        assert_eq!(new(TAG_R, &[(0x80, 0, b"")]), nf);
        assert_eq!(new(TAG_R, &[(ABORT, 0, b"")]), nf);
        assert_eq!(
            new(TAG_R, &[(COOKIE_ACK, 0, b""), (DATA, 3, b"\0\0\0\x01x")]),
            nf
        );
        // Mid-association packets carry a tag we could not have learnt.
        assert_eq!(new(TAG_R, &[(INIT_ACK, 0, &init_value(TAG_R))]), nf);
        assert_eq!(new(TAG_R, &[(COOKIE_ECHO, 0, b"cookie")]), nf);
        assert_eq!(
            new(
                TAG_R,
                &[(COOKIE_ECHO, 0, b"cookie"), (DATA, 3, b"\0\0\0\x01x")]
            ),
            nf
        );
        assert_eq!(new(TAG_R, &[(SHUTDOWN, 0, &[0; 4])]), nf);
        assert_eq!(
            new(
                TAG_R,
                &[(HEARTBEAT, 0, b"\0\x01\0\x04"), (DATA, 3, b"\0\0\0\x01x")]
            ),
            nf
        );
        // §8.5.1 (A).
        assert_eq!(
            new(TAG_R, &[(INIT, 0, &init_value(TAG_I))]),
            Err(DropReason::SctpBadVerificationTag)
        );
    }

    #[test]
    fn heartbeat_picks_up_a_secondary_path() {
        let (mut s, mut t) = new(TAG_R, &[(HEARTBEAT, 0, b"\0\x01\0\x08info")]).unwrap();
        assert_eq!(s, SctpState::HeartbeatSent);
        assert_eq!(t.vtag, [TAG_R, 0]);
        // Anything else from the reply side before the HEARTBEAT ACK is refused.
        assert_eq!(
            send(&mut s, &mut t, R, TAG_I, &[(DATA, 3, b"\0\0\0\x01x")]),
            Step::Invalid(DropReason::SctpBadVerificationTag)
        );
        assert_eq!(
            send(
                &mut s,
                &mut t,
                R,
                TAG_I,
                &[(HEARTBEAT_ACK, 0, b"\0\x01\0\x08info")]
            ),
            Step::Accept
        );
        assert_eq!(s, SctpState::Established);
        assert_eq!(t.vtag, [TAG_R, TAG_I]);
        assert_eq!(
            send(&mut s, &mut t, O, TAG_R, &[(DATA, 3, b"\0\0\0\x01x")]),
            Step::Accept
        );
        assert_eq!(
            send(&mut s, &mut t, R, TAG_I, &[(SACK, 0, &[0; 12])]),
            Step::Accept
        );
        assert_eq!(
            send(&mut s, &mut t, R, 0x5555, &[(SACK, 0, &[0; 12])]),
            Step::Invalid(DropReason::SctpBadVerificationTag)
        );
        assert_eq!(s, SctpState::Established);
    }

    #[test]
    fn restart_with_init_in_established() {
        let (mut s, mut t) = established();
        // RFC 9260 §5.2.2: the initiator restarts with new tags on the same ports.
        assert_eq!(
            send(&mut s, &mut t, O, 0, &[(INIT, 0, &init_value(0x4444))]),
            Step::Accept
        );
        assert_eq!(s, SctpState::Established);
        assert_eq!(t.vtag[R.index()], 0x4444);
        assert_eq!(
            send(
                &mut s,
                &mut t,
                R,
                0x4444,
                &[(INIT_ACK, 0, &init_value(0x5555))]
            ),
            Step::Accept
        );
        assert_eq!(
            send(&mut s, &mut t, O, 0x5555, &[(COOKIE_ECHO, 0, b"c")]),
            Step::Accept
        );
        assert_eq!(
            send(&mut s, &mut t, R, 0x4444, &[(COOKIE_ACK, 0, b"")]),
            Step::Accept
        );
        assert_eq!(s, SctpState::Established);
        assert_eq!(t.init, [false, false]);
        // The old association's tags are dead.
        assert_eq!(
            send(&mut s, &mut t, O, TAG_R, &[(DATA, 3, b"\0\0\0\x01x")]),
            Step::Invalid(DropReason::SctpBadVerificationTag)
        );
        assert_eq!(
            send(&mut s, &mut t, O, 0x5555, &[(DATA, 3, b"\0\0\0\x01x")]),
            Step::Accept
        );
    }

    #[test]
    fn init_collision_requires_the_announced_tag() {
        // Both ends send INIT (RFC 9260 §5.2.1): the session sees one from each side.
        let (mut s, mut t) = new(0, &[(INIT, 0, &init_value(TAG_I))]).unwrap();
        assert_eq!(
            send(&mut s, &mut t, R, 0, &[(INIT, 0, &init_value(TAG_R))]),
            Step::Accept
        );
        assert_eq!(t.init, [true, true]);
        // The INIT ACK must repeat the tag its sender announced in its own INIT.
        let bad = Step::Invalid(DropReason::SctpBadVerificationTag);
        assert_eq!(
            send(
                &mut s,
                &mut t,
                R,
                TAG_I,
                &[(INIT_ACK, 0, &init_value(0x9999))]
            ),
            bad
        );
        assert_eq!(
            send(
                &mut s,
                &mut t,
                R,
                TAG_I,
                &[(INIT_ACK, 0, &init_value(TAG_R))]
            ),
            Step::Accept
        );
        assert_eq!(s, SctpState::CookieWait);
    }

    #[test]
    fn heartbeat_with_new_tags_after_peer_restart() {
        let (mut s, mut t) = established();
        // The peers restarted unseen on another path; HEARTBEAT carries a tag we do not know.
        assert_eq!(
            send(
                &mut s,
                &mut t,
                O,
                0x7777,
                &[(HEARTBEAT, 0, b"\0\x01\0\x04")]
            ),
            Step::Accept
        );
        assert!(t.heartbeat_vtag_failed);
        assert_eq!(s, SctpState::Established);
        // A HEARTBEAT ACK with a new tag from the same side does not confirm it.
        assert_eq!(
            send(
                &mut s,
                &mut t,
                O,
                0x8888,
                &[(HEARTBEAT_ACK, 0, b"\0\x01\0\x04")]
            ),
            Step::Invalid(DropReason::SctpBadVerificationTag)
        );
        // From the other side it does, and the tags are learnt again.
        assert_eq!(
            send(
                &mut s,
                &mut t,
                R,
                0x8888,
                &[(HEARTBEAT_ACK, 0, b"\0\x01\0\x04")]
            ),
            Step::Accept
        );
        assert_eq!(t.vtag, [0, 0x8888]);
        assert_eq!(
            send(
                &mut s,
                &mut t,
                O,
                0x7777,
                &[(HEARTBEAT, 0, b"\0\x01\0\x04")]
            ),
            Step::Accept
        );
        assert_eq!(t.vtag, [0x7777, 0x8888]);
        // A foreign-tag HEARTBEAT bundled with DATA is refused.
        assert_eq!(
            send(
                &mut s,
                &mut t,
                O,
                0x1234,
                &[(HEARTBEAT, 0, b"\0\x01\0\x04"), (DATA, 3, b"x")]
            ),
            Step::Invalid(DropReason::SctpBadVerificationTag)
        );
    }

    #[test]
    fn chunk_walk() {
        let a = area(&[(DATA, 3, b"abcde"), (SACK, 0, b"")]);
        let h = hdr(1, &a);
        let got: Vec<_> = chunks(&h).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].ty, got[0].flags, got[0].value),
            (DATA, 3, &b"abcde"[..])
        );
        assert_eq!((got[1].ty, got[1].value), (SACK, &b""[..]));
        // Last chunk without its padding; a short tail is ignored.
        let h = hdr(1, &[0, 0, 0, 5, 9]);
        assert_eq!(chunks(&h).count(), 1);
        let h = hdr(1, &[3, 0, 0, 4, 9, 9]);
        assert_eq!(chunks(&h).count(), 1);
        for bad in [&[0u8, 0, 0, 0][..], &[0, 0, 0, 3], &[0, 0, 0, 200, 1]] {
            assert_eq!(chunks(&hdr(1, bad)).count(), 0);
        }
    }

    #[test]
    fn names_and_numbers() {
        for (i, s) in SctpState::ALL.iter().enumerate() {
            assert_eq!(*s as u8, i as u8 + 1);
            assert_eq!(SctpState::from_u8(*s as u8), Some(*s));
        }
        assert_eq!(SctpState::from_u8(0), None);
        assert_eq!(SctpState::from_u8(9), None);
        assert_eq!(SctpState::ShutdownAckSent.name(), "SHUTDOWN_ACK_SENT");
        assert_eq!(SctpState::HeartbeatSent.name(), "HEARTBEAT_SENT");
    }

    proptest! {
        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..96), vtag in any::<u32>(), st in 1u8..=8, reply in any::<bool>(), tags in any::<[u32; 2]>()) {
            let h = hdr(vtag, &bytes);
            let _ = chunks(&h).count();
            let _ = sctp_new(&h);
            let mut s = SctpState::from_u8(st).unwrap();
            let mut t = SctpTrack { vtag: tags, ..Default::default() };
            let _ = sctp_packet(&mut s, &mut t, Direction::from_swapped(reply), &h);
        }

        #[test]
        fn never_panics_on_wellformed_chunks(tys in prop::collection::vec((any::<u8>(), any::<u8>(), 0usize..24), 1..5), vtag in prop::sample::select(vec![0u32, TAG_I, TAG_R]), st in 1u8..=8, reply in any::<bool>()) {
            let values: Vec<Vec<u8>> = tys.iter().map(|&(_, _, n)| vec![0x42; n]).collect();
            let spec: Vec<(u8, u8, &[u8])> = tys.iter().zip(&values).map(|(&(ty, fl, _), v)| (ty % 16, fl, &v[..])).collect();
            let a = area(&spec);
            let h = hdr(vtag, &a);
            let _ = sctp_new(&h);
            let mut s = SctpState::from_u8(st).unwrap();
            let mut t = SctpTrack { vtag: [TAG_R, TAG_I], ..Default::default() };
            let _ = sctp_packet(&mut s, &mut t, Direction::from_swapped(reply), &h);
        }
    }
}
