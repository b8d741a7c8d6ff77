//! The synchronization protocol's datagrams (ours, version 1; issue #16). Pure: bytes in,
//! a message or a counted refusal out. Every datagram is authenticated with HMAC-SHA256 under
//! the group's shared key, because a peer that is believed can put sessions into the firewall.
//!
//! ```text
//!  0  magic "SMSY"          4  version (1)      5  kind        6  flags     7  0
//!  8  epoch (u64): the sender's start, wall-clock ns; a restart makes it larger
//! 16  seq (u64): Data: the data sequence number (1, 2, ...); other kinds: the control
//!     sequence number, increasing per message (what makes a replay detectable)
//! 24  ack (u64): the highest data sequence number the sender applied in order
//! 32  body length (u16)     34  body            end-32  HMAC-SHA256(key, bytes 0 .. end-32)
//! ```
//!
//! Bodies: Hello = status (u8), role (u8), sessions (u64), bulk request serial (u32), claim
//! (u64: when it became active); Nack = first missing (u64), count (u16); Data = items, each a
//! kind byte and its fields (big-endian), up to the body's end. Every length is checked; a
//! datagram is at most `MAX_DATAGRAM` bytes, so a datagram's work is bounded.

use crate::alg::expect::RelationSpec;
use crate::proto::key::FlowKey;
use crate::proto::wire::{Addr, Family};
use crate::table::image::{RelationImage, SessionImage, SyncItem};
use crate::table::session::DirCounters;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const MAGIC: &[u8; 4] = b"SMSY";
pub const VERSION: u8 = 1;
pub const HEADER: usize = 34;
pub const MAC_LEN: usize = 32;
/// Largest datagram sent or accepted: below a 1500-byte MTU with IPv4/IPv6 and UDP headers,
/// so no datagram is fragmented on the data channel.
pub const MAX_DATAGRAM: usize = 1400;
/// Room for items in a data datagram.
pub const MAX_BODY: usize = MAX_DATAGRAM - HEADER - MAC_LEN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Hello = 1,
    Data = 2,
    Nack = 3,
}

/// An engine's running status (`display remote-backup-group status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    /// Just started: listening for the peer, forwarding nothing.
    #[default]
    Init = 0,
    Standby = 1,
    Active = 2,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Init => "Init",
            Status::Standby => "Standby",
            Status::Active => "Active",
        }
    }
    fn from_u8(v: u8) -> Option<Status> {
        Some(match v {
            0 => Status::Init,
            1 => Status::Standby,
            2 => Status::Active,
            _ => return None,
        })
    }
}

/// `device-role {primary|secondary}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    Primary = 0,
    Secondary = 1,
}

impl Role {
    pub fn keyword(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    pub status: Status,
    pub role: Role,
    pub sessions: u64,
    /// Increases each time the sender asks for a bulk (it joined, or lost updates).
    pub bulk_request: u32,
    /// When the sender became active (wall-clock ms; 0 if not active): of two active engines
    /// the later claim stays active.
    pub claim: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Hello(Hello),
    Nack { first: u64, count: u16 },
    Data(Vec<SyncItem>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub epoch: u64,
    pub seq: u64,
    pub ack: u64,
    pub body: Body,
}

/// Why a datagram was refused (each counted by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Refusal {
    TooShort,
    TooLong,
    BadMagic,
    BadVersion,
    /// The HMAC does not verify: a wrong key or a forged or damaged datagram.
    BadMac,
    BadKind,
    BadLength,
    /// An item or field that does not parse (after a good HMAC: a peer's bug).
    BadItem,
}

impl Refusal {
    pub const ALL: [Refusal; 8] = [
        Refusal::TooShort,
        Refusal::TooLong,
        Refusal::BadMagic,
        Refusal::BadVersion,
        Refusal::BadMac,
        Refusal::BadKind,
        Refusal::BadLength,
        Refusal::BadItem,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Refusal::TooShort => "too_short",
            Refusal::TooLong => "too_long",
            Refusal::BadMagic => "bad_magic",
            Refusal::BadVersion => "bad_version",
            Refusal::BadMac => "bad_mac",
            Refusal::BadKind => "bad_kind",
            Refusal::BadLength => "bad_length",
            Refusal::BadItem => "bad_item",
        }
    }
}

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], bytes: &[u8]) -> [u8; MAC_LEN] {
    // HMAC takes keys of any length (RFC 2104); this cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(bytes);
    m.finalize().into_bytes().into()
}

// ---- encoding ----

/// Writes a datagram: header, body (from `body`), HMAC. `out` is cleared first.
pub fn encode(key: &[u8], msg: &Message, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(MAGIC);
    let kind = match &msg.body {
        Body::Hello(_) => Kind::Hello,
        Body::Nack { .. } => Kind::Nack,
        Body::Data(_) => Kind::Data,
    };
    out.extend_from_slice(&[VERSION, kind as u8, 0, 0]);
    out.extend_from_slice(&msg.epoch.to_be_bytes());
    out.extend_from_slice(&msg.seq.to_be_bytes());
    out.extend_from_slice(&msg.ack.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    match &msg.body {
        Body::Hello(h) => {
            out.push(h.status as u8);
            out.push(h.role as u8);
            out.extend_from_slice(&h.sessions.to_be_bytes());
            out.extend_from_slice(&h.bulk_request.to_be_bytes());
            out.extend_from_slice(&h.claim.to_be_bytes());
        }
        Body::Nack { first, count } => {
            out.extend_from_slice(&first.to_be_bytes());
            out.extend_from_slice(&count.to_be_bytes());
        }
        Body::Data(items) => {
            for i in items {
                put_item(i, out);
            }
        }
    }
    let body = (out.len() - HEADER) as u16;
    out[32..34].copy_from_slice(&body.to_be_bytes());
    let m = mac(key, out);
    out.extend_from_slice(&m);
}

/// Bytes `put_key` writes for a key.
fn key_len(k: &FlowKey) -> usize {
    let addrs = match k.family {
        Family::V4 => 2 * 4,
        Family::V6 => 2 * 16,
    };
    // family, addresses, ports, protocol, VPN
    1 + addrs + 4 + 1 + 2
}

/// Bytes an item takes in a data body (to fill datagrams without overflowing them), from the
/// layout `put_item` writes (tests check the two agree).
pub fn item_len(i: &SyncItem) -> usize {
    match i {
        SyncItem::Session(s) => {
            let words = if s.l4.iter().all(|&w| w == 0) { 0 } else { 10 };
            // kind, key, flags/state/app, persistent hours, age, 4 counters, word count, words
            1 + key_len(&s.key) + 3 + 2 + 4 + 32 + 1 + 4 * words
        }
        SyncItem::Delete(k) => 1 + key_len(k),
        // kind, bits, spec as a key, app, master, alg/class, TTL, tag
        SyncItem::Relation(r) => 1 + 1 + key_len(&r.master) * 2 + 1 + 2 + 4 + 4,
    }
}

fn put_key(k: &FlowKey, out: &mut Vec<u8>) {
    let n = match k.family {
        Family::V4 => {
            out.push(4);
            4
        }
        Family::V6 => {
            out.push(6);
            16
        }
    };
    out.extend_from_slice(&k.src[..n]);
    out.extend_from_slice(&k.dst[..n]);
    out.extend_from_slice(&k.sport.to_be_bytes());
    out.extend_from_slice(&k.dport.to_be_bytes());
    out.push(k.proto);
    out.extend_from_slice(&k.vpn.to_be_bytes());
}

const ITEM_SESSION: u8 = 1;
const ITEM_DELETE: u8 = 2;
const ITEM_RELATION: u8 = 3;
const ITEM_BULK_START: u8 = 4;
const ITEM_BULK_END: u8 = 5;

/// Items beyond the table's own: the markers of a bulk (`BulkStart` clears the receiver's
/// copy, `BulkEnd` says it is whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    BulkStart,
    BulkEnd,
}

fn put_item(i: &SyncItem, out: &mut Vec<u8>) {
    match i {
        SyncItem::Session(s) => {
            out.push(ITEM_SESSION);
            put_key(&s.key, out);
            out.extend_from_slice(&[s.flags, s.state, s.app]);
            out.extend_from_slice(&s.persist_hours.to_be_bytes());
            out.extend_from_slice(&s.age_ms.to_be_bytes());
            for c in &s.counters {
                out.extend_from_slice(&c.packets.to_be_bytes());
                out.extend_from_slice(&c.bytes.to_be_bytes());
            }
            // Protocols without tracking words (UDP, ICMP, raw IP) send none.
            let words = if s.l4.iter().all(|&w| w == 0) { 0 } else { 10 };
            out.push(words);
            for w in &s.l4[..usize::from(words)] {
                out.extend_from_slice(&w.to_be_bytes());
            }
        }
        SyncItem::Delete(k) => {
            out.push(ITEM_DELETE);
            put_key(k, out);
        }
        SyncItem::Relation(r) => {
            out.push(ITEM_RELATION);
            let s = &r.spec;
            let bits = u8::from(s.src.is_some())
                | u8::from(s.sport.is_some()) << 1
                | u8::from(r.permanent) << 2;
            out.push(bits);
            // The spec as a key: wildcards are zero and marked in `bits`.
            let key = FlowKey {
                src: s.src.unwrap_or_default(),
                dst: s.dst,
                sport: s.sport.unwrap_or(0),
                dport: s.dport,
                proto: s.proto,
                family: s.family,
                vpn: s.vpn,
            };
            put_key(&key, out);
            out.push(s.app);
            put_key(&r.master, out);
            out.extend_from_slice(&[r.alg, r.class]);
            out.extend_from_slice(&r.ttl_ms.to_be_bytes());
            out.extend_from_slice(&r.tag.to_be_bytes());
        }
    }
}

/// A bulk marker as a data body's item (`Data` bodies carry `SyncItem`s; markers ride in a
/// body of their own, see `encode_marker`).
pub fn encode_marker(key: &[u8], epoch: u64, seq: u64, ack: u64, m: Marker, out: &mut Vec<u8>) {
    encode(
        key,
        &Message {
            epoch,
            seq,
            ack,
            body: Body::Data(Vec::new()),
        },
        out,
    );
    // Rewrite: body = one marker byte, then the MAC again.
    out.truncate(HEADER);
    out.push(match m {
        Marker::BulkStart => ITEM_BULK_START,
        Marker::BulkEnd => ITEM_BULK_END,
    });
    out[32..34].copy_from_slice(&1u16.to_be_bytes());
    let mac = mac(key, out);
    out.extend_from_slice(&mac);
}

// ---- decoding ----

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Refusal> {
        if self.b.len() < n {
            return Err(Refusal::BadItem);
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self) -> Result<u8, Refusal> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Refusal> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, Refusal> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, Refusal> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn key(&mut self) -> Result<FlowKey, Refusal> {
        let (family, n) = match self.u8()? {
            4 => (Family::V4, 4),
            6 => (Family::V6, 16),
            _ => return Err(Refusal::BadItem),
        };
        let mut src: Addr = [0; 16];
        let mut dst: Addr = [0; 16];
        src[..n].copy_from_slice(self.take(n)?);
        dst[..n].copy_from_slice(self.take(n)?);
        Ok(FlowKey {
            src,
            dst,
            sport: self.u16()?,
            dport: self.u16()?,
            proto: self.u8()?,
            family,
            vpn: self.u16()?,
        })
    }
}

/// What a data body holds: items, or one bulk marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataBody {
    Items(Vec<SyncItem>),
    Marker(Marker),
}

/// Checks a datagram (length, magic, version, HMAC) and parses its header and body.
pub fn decode(key: &[u8], d: &[u8]) -> Result<(Message, Option<Marker>), Refusal> {
    if d.len() < HEADER + MAC_LEN {
        return Err(Refusal::TooShort);
    }
    if d.len() > MAX_DATAGRAM {
        return Err(Refusal::TooLong);
    }
    if &d[..4] != MAGIC {
        return Err(Refusal::BadMagic);
    }
    if d[4] != VERSION {
        return Err(Refusal::BadVersion);
    }
    let (signed, tag) = d.split_at(d.len() - MAC_LEN);
    // Constant-time comparison: the Mac trait's verify.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(signed);
    if m.verify_slice(tag).is_err() {
        return Err(Refusal::BadMac);
    }
    let mut r = Reader { b: &signed[8..] };
    let epoch = r.u64()?;
    let seq = r.u64()?;
    let ack = r.u64()?;
    let body_len = usize::from(r.u16()?);
    if body_len != signed.len() - HEADER {
        return Err(Refusal::BadLength);
    }
    let mut r = Reader {
        b: &signed[HEADER..],
    };
    let (body, marker) = match d[5] {
        k if k == Kind::Hello as u8 => {
            let status = Status::from_u8(r.u8()?).ok_or(Refusal::BadItem)?;
            let role = match r.u8()? {
                0 => Role::Primary,
                1 => Role::Secondary,
                _ => return Err(Refusal::BadItem),
            };
            let h = Hello {
                status,
                role,
                sessions: r.u64()?,
                bulk_request: r.u32()?,
                claim: r.u64()?,
            };
            (Body::Hello(h), None)
        }
        k if k == Kind::Nack as u8 => {
            let first = r.u64()?;
            let count = r.u16()?;
            (Body::Nack { first, count }, None)
        }
        k if k == Kind::Data as u8 => match decode_items(r.b)? {
            DataBody::Items(items) => (Body::Data(items), None),
            DataBody::Marker(m) => (Body::Data(Vec::new()), Some(m)),
        },
        _ => return Err(Refusal::BadKind),
    };
    Ok((
        Message {
            epoch,
            seq,
            ack,
            body,
        },
        marker,
    ))
}

fn decode_items(b: &[u8]) -> Result<DataBody, Refusal> {
    if b.len() == 1 {
        match b[0] {
            ITEM_BULK_START => return Ok(DataBody::Marker(Marker::BulkStart)),
            ITEM_BULK_END => return Ok(DataBody::Marker(Marker::BulkEnd)),
            _ => {}
        }
    }
    let mut r = Reader { b };
    // At most one item per 10 bytes of a bounded body: the vector is bounded too.
    let mut items = Vec::with_capacity(b.len() / 16);
    while !r.b.is_empty() {
        items.push(match r.u8()? {
            ITEM_SESSION => {
                let key = r.key()?;
                let (flags, state, app) = (r.u8()?, r.u8()?, r.u8()?);
                let persist_hours = r.u16()?;
                let age_ms = r.u32()?;
                let mut counters = [DirCounters::default(); 2];
                for c in &mut counters {
                    c.packets = r.u64()?;
                    c.bytes = r.u64()?;
                }
                let mut l4 = [0u32; 10];
                match r.u8()? {
                    0 => {}
                    10 => {
                        for w in &mut l4 {
                            *w = r.u32()?;
                        }
                    }
                    _ => return Err(Refusal::BadItem),
                }
                SyncItem::Session(SessionImage {
                    key,
                    flags: flags & crate::table::image::IMAGE_FLAGS,
                    state,
                    app,
                    persist_hours,
                    l4,
                    counters,
                    age_ms,
                })
            }
            ITEM_DELETE => SyncItem::Delete(r.key()?),
            ITEM_RELATION => {
                let bits = r.u8()?;
                let k = r.key()?;
                let app = r.u8()?;
                let master = r.key()?;
                let (alg, class) = (r.u8()?, r.u8()?);
                let ttl_ms = r.u32()?;
                let tag = r.u32()?;
                if master.family != k.family {
                    return Err(Refusal::BadItem);
                }
                SyncItem::Relation(RelationImage {
                    spec: RelationSpec {
                        family: k.family,
                        proto: k.proto,
                        src: (bits & 1 != 0).then_some(k.src),
                        sport: (bits & 2 != 0).then_some(k.sport),
                        dst: k.dst,
                        dport: k.dport,
                        vpn: k.vpn,
                        app,
                    },
                    master,
                    alg,
                    class,
                    ttl_ms,
                    tag,
                    permanent: bits & 4 != 0,
                })
            }
            _ => return Err(Refusal::BadItem),
        });
    }
    Ok(DataBody::Items(items))
}

/// The items of a body written by `put_item` (the state file reuses the item format).
pub fn read_items(b: &[u8]) -> Result<Vec<SyncItem>, Refusal> {
    match decode_items(b)? {
        DataBody::Items(v) => Ok(v),
        DataBody::Marker(_) => Err(Refusal::BadItem),
    }
}

/// Appends one item in the wire format (the state file reuses it).
pub fn write_item(i: &SyncItem, out: &mut Vec<u8>) {
    put_item(i, out);
}

#[cfg(test)]
mod tests;
