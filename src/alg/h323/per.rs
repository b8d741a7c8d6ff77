//! A walker over ASN.1 aligned PER encodings (ITU-T X.691, the ALIGNED variant, which H.225.0
//! and H.245 use) that follows a type table and picks out only the fields the ALG needs: the
//! transport addresses a message announces, the alternatives it chose and a few integers.
//!
//! Why a walker and not a decoder of whole values: PER carries no tags and, for the root of a
//! type, no lengths, so reaching a field means stepping over every field before it; but
//! nothing needs to be kept. The tables (`h225.rs`, `h245.rs`) describe the types from the ITU
//! modules down to the last field the ALG reads; after that a type may be `Stop` (nothing
//! further needed) or `Unknown` (not modelled: the walk ends there, the message counts as
//! partly read). Extension additions and extension alternatives travel as open types with
//! their own length (X.691 §10.2, §19.9, §23.8), so the tables list only the additions they
//! read; the others are stepped over by their length.
//!
//! Bounds (every one a counted refusal, never a panic): each read is checked against the end
//! of its buffer (an open type's own bytes for a nested value, so a length that lies cannot
//! reach past it); a length determinant of 16 K or more (fragmented encoding, X.691 §10.9.3.8)
//! is refused, which bounds any `SEQUENCE OF` to 16383 items; every field stepped over costs
//! one unit of a per-message budget and nesting is limited, so no input costs more than a fixed
//! amount of work.

use std::net::IpAddr;

/// Why an encoding was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PerError {
    /// The encoding ends before a field it announces (a length or count that lies).
    Truncated,
    /// A fragmented length (16 K or more items or octets): never used by H.323 signalling.
    Fragmented,
    /// More fields than the per-message budget: a count that would cost unbounded work.
    TooMuchWork,
    /// Types nested deeper than the walker follows.
    TooDeep,
    /// A constrained value outside its range (a choice index past the root alternatives, a
    /// count above its `SIZE`), or an open type's length past its container.
    BadValue,
}

impl PerError {
    pub const ALL: [PerError; 5] = [
        PerError::Truncated,
        PerError::Fragmented,
        PerError::TooMuchWork,
        PerError::TooDeep,
        PerError::BadValue,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            PerError::Truncated => "per-truncated",
            PerError::Fragmented => "per-fragmented",
            PerError::TooMuchWork => "per-too-much-work",
            PerError::TooDeep => "per-too-deep",
            PerError::BadValue => "per-bad-value",
        }
    }
}

/// Fields stepped over per message, at most. A real Setup with four fast-start channels
/// costs about 200; the budget leaves room for large capability sets and bounds the work of a
/// message that claims thousands of items.
pub const BUDGET: u32 = 4096;
/// Nesting of types and open types, at most (the deepest real path, a fast-start channel's
/// media address inside a Setup, is about 14).
pub const MAX_DEPTH: u8 = 32;

/// What a marked transport address announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// H.225.0 `h245Address`: the H.245 control connection.
    H245,
    /// An H.245 `mediaChannel` or `mediaControlChannel` (also inside fast start).
    Media,
    /// A call-signalling address (RAS RRQ, ACF, LCF).
    CallSignal,
    /// A RAS address (GCF).
    Ras,
    /// Facility `alternativeAddress` (a forwarded call).
    Alternative,
    /// A separate-stack (T.120) local-area address of an OpenLogicalChannel(Ack).
    T120,
}

/// Where the walker files a chosen alternative's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The RAS message or the H.225 message body.
    Message,
    /// Facility's reason.
    Reason,
}

/// What the walker notes about a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    None,
    /// A transport address (H.225 or H.245 form): its IP and port are collected.
    Addr(Role),
    /// The address bytes inside a marked transport address.
    Ip,
    /// The port inside a marked transport address.
    Port,
    /// The index of the alternative this choice takes.
    Kind(Slot),
    /// An integer to keep (a registration's time to live).
    TimeToLive,
    /// The data channel is T.120 on a separate LAN stack (H.245 `separateLANStack`).
    T120Lan,
}

/// An ASN.1 type, as far as the walker needs it.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Null,
    Bool,
    /// INTEGER (lb..ub); `ub` `None`: semi-constrained (lb..MAX).
    Int(u32, Option<u32>),
    /// ENUMERATED with `root` values; `ext`: extensible.
    Enum {
        root: u16,
        ext: bool,
    },
    /// OCTET STRING (SIZE(lb..ub)); `ub` `None`: no upper bound.
    Octets(u16, Option<u16>),
    /// BIT STRING (SIZE(lb..ub)).
    Bits(u16, Option<u16>),
    /// A known-multiplier character string of `bits` per character (aligned PER: 4 for the
    /// digit alphabets, 8 for IA5String, 16 for BMPString), SIZE(lb..ub).
    Chars {
        bits: u8,
        lb: u16,
        ub: Option<u16>,
    },
    Oid,
    Seq(&'static Seq),
    Choice(&'static Choice),
    /// SEQUENCE (SIZE(lb..ub)) OF item.
    SeqOf(u16, Option<u16>, &'static Ty),
    /// An OCTET STRING holding the encoding of another type (fast start's
    /// `OpenLogicalChannel`s, tunnelled H.245 messages).
    Contains(&'static Ty),
    /// Nothing from here on is needed: the walk of this encoding ends, successfully.
    Stop,
    /// A type not modelled: the walk of this encoding ends, and the message counts as partly
    /// read. Only where it should never be reached in practice.
    Unknown,
    /// An extension addition the walker steps over by its length (only in `adds`).
    Skip,
}

/// One component of a SEQUENCE or alternative of a CHOICE.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub opt: bool,
    pub mark: Mark,
}

/// A SEQUENCE: extensible or not, its root components and the extension additions it reads.
#[derive(Debug)]
pub struct Seq {
    pub ext: bool,
    pub root: &'static [Field],
    pub adds: &'static [Field],
}

/// A CHOICE: extensible or not, its root alternatives and the extension alternatives it reads.
#[derive(Debug)]
pub struct Choice {
    pub ext: bool,
    pub root: &'static [Field],
    pub adds: &'static [Field],
}

/// A required component.
pub const fn f(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        opt: false,
        mark: Mark::None,
    }
}

/// An OPTIONAL component.
pub const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        opt: true,
        mark: Mark::None,
    }
}

/// A component with a mark.
pub const fn marked(name: &'static str, ty: Ty, optional: bool, mark: Mark) -> Field {
    Field {
        name,
        ty,
        opt: optional,
        mark,
    }
}

/// An extension addition stepped over.
pub const SKIP: Field = f("(skipped)", Ty::Skip);

/// Addresses one message may announce, at most; more are counted and dropped.
pub const MAX_ADDRS: usize = 32;

/// What the walk found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub addrs: [Option<(Role, IpAddr, u16)>; MAX_ADDRS],
    pub n_addrs: usize,
    /// Addresses beyond `MAX_ADDRS`.
    pub dropped: u32,
    pub message: Option<u16>,
    pub reason: Option<u16>,
    pub ttl: Option<u32>,
    pub t120_lan: bool,
    /// A type not modelled was reached: what follows it was not read.
    pub partial: bool,
}

impl Found {
    pub fn addrs(&self) -> impl Iterator<Item = (Role, IpAddr, u16)> + '_ {
        self.addrs[..self.n_addrs].iter().flatten().copied()
    }

    fn push(&mut self, a: (Role, IpAddr, u16)) {
        if self.n_addrs < MAX_ADDRS {
            self.addrs[self.n_addrs] = Some(a);
            self.n_addrs += 1;
        } else {
            self.dropped += 1;
        }
    }
}

/// A bit cursor over one buffer (a message, or one open type's octets).
#[derive(Debug, Clone, Copy)]
struct Bits<'a> {
    buf: &'a [u8],
    /// Position in bits.
    pos: usize,
}

impl<'a> Bits<'a> {
    fn left(&self) -> usize {
        self.buf.len() * 8 - self.pos
    }

    fn bit(&mut self) -> Result<bool, PerError> {
        Ok(self.bits(1)? == 1)
    }

    /// Up to 32 bits, most significant first.
    fn bits(&mut self, n: u32) -> Result<u32, PerError> {
        if n as usize > self.left() {
            return Err(PerError::Truncated);
        }
        let mut v: u32 = 0;
        for _ in 0..n {
            let byte = self.buf[self.pos / 8];
            let b = (byte >> (7 - (self.pos % 8))) & 1;
            v = (v << 1) | u32::from(b);
            self.pos += 1;
        }
        Ok(v)
    }

    fn align(&mut self) {
        self.pos = self.pos.div_ceil(8) * 8;
        // Aligning at the end of a buffer is not an error; reading past it is.
        self.pos = self.pos.min(self.buf.len() * 8);
    }

    /// `n` octets from an octet boundary.
    fn octets(&mut self, n: usize) -> Result<&'a [u8], PerError> {
        self.align();
        let start = self.pos / 8;
        let end = start.checked_add(n).ok_or(PerError::Truncated)?;
        let s = self.buf.get(start..end).ok_or(PerError::Truncated)?;
        self.pos = end * 8;
        Ok(s)
    }

    /// Steps over `n` bits.
    fn skip_bits(&mut self, n: usize) -> Result<(), PerError> {
        if n > self.left() {
            return Err(PerError::Truncated);
        }
        self.pos += n;
        Ok(())
    }

    /// A constrained whole number in 0..range (X.691 §10.5.7, aligned variant).
    fn constrained(&mut self, range: u64) -> Result<u32, PerError> {
        match range {
            0 | 1 => Ok(0),
            2..=255 => self.bits(bits_for(range)),
            256 => {
                self.align();
                self.bits(8)
            }
            257..=65536 => {
                self.align();
                self.bits(16)
            }
            _ => {
                // Indefinite-length case: the octet count (1 up to what the range needs) as a
                // constrained number, then the octets.
                let max_octets = bits_for(range).div_ceil(8) as u64;
                let n = self.constrained(max_octets)? as usize + 1;
                let o = self.octets(n)?;
                if n > 4 {
                    return Err(PerError::BadValue);
                }
                Ok(o.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b)))
            }
        }
    }

    /// An unconstrained length determinant (X.691 §10.9.3.6-8); fragmented lengths refused.
    fn length(&mut self) -> Result<usize, PerError> {
        self.align();
        let first = self.bits(8)?;
        if first & 0x80 == 0 {
            return Ok(first as usize);
        }
        if first & 0x40 == 0 {
            let second = self.bits(8)?;
            return Ok((((first & 0x3f) << 8) | second) as usize);
        }
        Err(PerError::Fragmented)
    }

    /// A length with SIZE(lb..ub) (X.691 §10.9.4.1): `ub` below 64 K is a constrained number.
    fn sized(&mut self, lb: u16, ub: Option<u16>) -> Result<usize, PerError> {
        match ub {
            Some(ub) if ub < lb => Err(PerError::BadValue),
            Some(ub) => {
                let n = self.constrained(u64::from(ub - lb) + 1)? as usize + usize::from(lb);
                if n > usize::from(ub) {
                    return Err(PerError::BadValue);
                }
                Ok(n)
            }
            None => self.length(),
        }
    }

    /// A normally small non-negative whole number (X.691 §10.6).
    fn normally_small(&mut self) -> Result<u32, PerError> {
        if !self.bit()? {
            return self.bits(6);
        }
        let n = self.length()?;
        if n == 0 || n > 4 {
            return Err(PerError::BadValue);
        }
        let o = self.octets(n)?;
        Ok(o.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b)))
    }

    /// An open type's octets (X.691 §10.2): a length determinant, then that many octets.
    fn open(&mut self) -> Result<&'a [u8], PerError> {
        let n = self.length()?;
        self.octets(n).map_err(|_| PerError::BadValue)
    }
}

/// Bits to hold 0..range-1.
fn bits_for(range: u64) -> u32 {
    64 - (range.saturating_sub(1)).leading_zeros()
}

/// Whether the walk of the current encoding goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Go,
    /// `Stop` or `Unknown` reached: the rest of this encoding is not read.
    End,
}

/// The walk's state across nested encodings.
struct Walk<'o> {
    budget: u32,
    depth: u8,
    out: &'o mut Found,
    /// The transport address being collected (between an `Addr` field's start and end).
    ip: Option<IpAddr>,
    port: Option<u16>,
}

/// Walks `buf` as an encoding of `ty` (noted as `mark` says), filling `out`.
pub fn walk(buf: &[u8], ty: &Ty, mark: Mark, out: &mut Found) -> Result<(), PerError> {
    let mut w = Walk {
        budget: BUDGET,
        depth: 0,
        out,
        ip: None,
        port: None,
    };
    let mut b = Bits { buf, pos: 0 };
    w.ty(&mut b, ty, mark).map(|_| ())
}

impl Walk<'_> {
    fn spend(&mut self) -> Result<(), PerError> {
        self.budget = self.budget.checked_sub(1).ok_or(PerError::TooMuchWork)?;
        Ok(())
    }

    /// A nested encoding in its own buffer (an open type): `Stop` inside it ends only it.
    fn nested(&mut self, buf: &[u8], ty: &Ty, mark: Mark) -> Result<(), PerError> {
        let mut b = Bits { buf, pos: 0 };
        self.ty(&mut b, ty, mark).map(|_| ())
    }

    fn ty(&mut self, b: &mut Bits<'_>, ty: &Ty, mark: Mark) -> Result<Flow, PerError> {
        self.spend()?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PerError::TooDeep);
        }
        let (ip, port) = (self.ip, self.port);
        if let Mark::Addr(_) = mark {
            self.ip = None;
            self.port = None;
        }
        let r = self.value(b, ty, mark);
        if let (Mark::Addr(role), Ok(_)) = (mark, &r)
            && let (Some(a), Some(p)) = (self.ip, self.port)
        {
            self.out.push((role, a, p));
        }
        if let Mark::Addr(_) = mark {
            self.ip = ip;
            self.port = port;
        }
        self.depth -= 1;
        r
    }

    fn value(&mut self, b: &mut Bits<'_>, ty: &Ty, mark: Mark) -> Result<Flow, PerError> {
        match *ty {
            Ty::Null => {}
            Ty::Bool => {
                b.bit()?;
            }
            Ty::Int(lb, ub) => {
                let v = match ub {
                    Some(ub) if ub < lb => return Err(PerError::BadValue),
                    Some(ub) => {
                        let v = b.constrained(u64::from(ub - lb) + 1)?;
                        u64::from(lb) + u64::from(v)
                    }
                    None => {
                        let n = b.length()?;
                        let o = b.octets(n)?;
                        if n > 4 {
                            // A value past 32 bits: nothing the ALG reads is that large.
                            u64::MAX
                        } else {
                            u64::from(lb) + o.iter().fold(0u64, |v, &x| (v << 8) | u64::from(x))
                        }
                    }
                };
                if let Some(ub) = ub
                    && v > u64::from(ub)
                {
                    return Err(PerError::BadValue);
                }
                match mark {
                    Mark::Port => self.port = u16::try_from(v).ok(),
                    Mark::TimeToLive => self.out.ttl = u32::try_from(v).ok(),
                    _ => {}
                }
            }
            Ty::Enum { root, ext } => {
                if ext && b.bit()? {
                    b.normally_small()?;
                } else if b.constrained(u64::from(root))? >= u32::from(root) {
                    return Err(PerError::BadValue);
                }
            }
            Ty::Octets(lb, ub) => {
                let n = b.sized(lb, ub)?;
                // Fixed sizes up to two octets are not aligned (X.691 §17.6); others are.
                let s = if lb == ub.unwrap_or(u16::MAX) && n <= 2 {
                    b.skip_bits(n * 8)?;
                    None
                } else {
                    Some(b.octets(n)?)
                };
                if mark == Mark::Ip {
                    self.ip = match s {
                        Some(s) if s.len() == 4 => {
                            Some(IpAddr::from(<[u8; 4]>::try_from(s).unwrap_or_default()))
                        }
                        Some(s) if s.len() == 16 => {
                            Some(IpAddr::from(<[u8; 16]>::try_from(s).unwrap_or_default()))
                        }
                        _ => None,
                    };
                }
            }
            Ty::Bits(lb, ub) => {
                let n = b.sized(lb, ub)?;
                if lb == ub.unwrap_or(u16::MAX) && n <= 16 {
                    b.skip_bits(n)?;
                } else {
                    b.octets(n.div_ceil(8))?;
                }
            }
            Ty::Chars { bits, lb, ub } => {
                let n = b.sized(lb, ub)?;
                let total = n * usize::from(bits);
                // Aligned unless the whole string fits 16 bits (X.691 §30.5.7).
                if ub.is_none_or(|ub| usize::from(ub) * usize::from(bits) > 16) {
                    b.align();
                }
                b.skip_bits(total)?;
            }
            Ty::Oid => {
                let n = b.length()?;
                b.octets(n)?;
            }
            Ty::Seq(s) => return self.seq(b, s),
            Ty::Choice(c) => return self.choice(b, c, mark),
            Ty::SeqOf(lb, ub, item) => {
                let n = b.sized(lb, ub)?;
                for _ in 0..n {
                    // A `Stop` in an item ends the walk of the whole encoding: the items after it
                    // cannot be found.
                    if self.ty(b, item, Mark::None)? == Flow::End {
                        return Ok(Flow::End);
                    }
                }
            }
            Ty::Contains(inner) => {
                let n = b.length()?;
                let s = b.octets(n)?;
                self.nested(s, inner, mark)?;
            }
            Ty::Stop => return Ok(Flow::End),
            Ty::Unknown => {
                self.out.partial = true;
                return Ok(Flow::End);
            }
            // A `Skip` is only met where an open type's length is known; reaching one elsewhere
            // is a table error, treated like an unknown type.
            Ty::Skip => {
                self.out.partial = true;
                return Ok(Flow::End);
            }
        }
        if mark == Mark::T120Lan {
            self.out.t120_lan = true;
        }
        Ok(Flow::Go)
    }

    fn seq(&mut self, b: &mut Bits<'_>, s: &Seq) -> Result<Flow, PerError> {
        let extended = s.ext && b.bit()?;
        let n_opt = s.root.iter().filter(|f| f.opt).count();
        // The preamble: one presence bit per optional root component (X.691 §19.2).
        let mut present: u64 = 0;
        if n_opt > 64 {
            return Err(PerError::BadValue);
        }
        for _ in 0..n_opt {
            present = (present << 1) | u64::from(b.bit()?);
        }
        let mut k = n_opt;
        for fld in s.root {
            if fld.opt {
                k -= 1;
                if present >> k & 1 == 0 {
                    continue;
                }
            }
            if self.ty(b, &fld.ty, fld.mark)? == Flow::End {
                return Ok(Flow::End);
            }
        }
        if extended {
            // The additions' presence bitmap (X.691 §19.7): a normally small length, then the
            // bits; each present addition is an open type.
            let n = b.normally_small()? as usize + 1;
            if n > b.left() {
                return Err(PerError::Truncated);
            }
            let mut bitmap: SmallBits = SmallBits::default();
            for i in 0..n {
                if b.bit()? {
                    bitmap.set(i);
                }
            }
            for i in 0..n {
                if !bitmap.get(i) {
                    continue;
                }
                self.spend()?;
                let body = b.open()?;
                match s.adds.get(i) {
                    Some(fld) if !matches!(fld.ty, Ty::Skip) => {
                        self.depth += 1;
                        if self.depth > MAX_DEPTH {
                            return Err(PerError::TooDeep);
                        }
                        let r = self.nested_field(body, fld);
                        self.depth -= 1;
                        r?;
                    }
                    _ => {}
                }
            }
        }
        Ok(Flow::Go)
    }

    /// An extension addition's open type, walked as its field.
    fn nested_field(&mut self, body: &[u8], fld: &Field) -> Result<(), PerError> {
        self.nested(body, &fld.ty, fld.mark)
    }

    fn choice(&mut self, b: &mut Bits<'_>, c: &Choice, mark: Mark) -> Result<Flow, PerError> {
        let slot = match mark {
            Mark::Kind(s) => Some(s),
            _ => None,
        };
        if c.ext && b.bit()? {
            let i = b.normally_small()? as usize;
            let body = b.open()?;
            self.note_kind(slot, c.root.len() + i);
            if let Some(alt) = c.adds.get(i)
                && !matches!(alt.ty, Ty::Skip)
            {
                self.nested_field(body, alt)?;
            }
            return Ok(Flow::Go);
        }
        let n = c.root.len() as u64;
        let i = b.constrained(n)? as usize;
        let alt = c.root.get(i).ok_or(PerError::BadValue)?;
        self.note_kind(slot, i);
        self.ty(b, &alt.ty, alt.mark)
    }

    fn note_kind(&mut self, slot: Option<Slot>, i: usize) {
        let v = u16::try_from(i).ok();
        match slot {
            Some(Slot::Message) => self.out.message = v,
            Some(Slot::Reason) => self.out.reason = v,
            None => {}
        }
    }
}

/// Presence bits of up to 64 extension additions (more are read but never present in a table).
#[derive(Default)]
struct SmallBits(u64);

impl SmallBits {
    fn set(&mut self, i: usize) {
        if i < 64 {
            self.0 |= 1 << i;
        }
    }
    fn get(&self, i: usize) -> bool {
        i < 64 && self.0 >> i & 1 == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constrained_numbers_follow_the_aligned_rules() {
        // 3 bits for 0..7, then an aligned octet for 0..255, then two octets for 0..65535.
        let buf = [0b1010_0000, 0xAB, 0x12, 0x34];
        let mut b = Bits { buf: &buf, pos: 0 };
        assert_eq!(b.constrained(8), Ok(5));
        assert_eq!(b.constrained(256), Ok(0xAB));
        assert_eq!(b.constrained(65536), Ok(0x1234));
        assert_eq!(b.constrained(2), Err(PerError::Truncated));
    }

    #[test]
    fn lengths_refuse_fragments_and_lies() {
        let mut b = Bits {
            buf: &[0xC1, 0, 0],
            pos: 0,
        };
        assert_eq!(b.length(), Err(PerError::Fragmented));
        let mut b = Bits {
            buf: &[0x05, 1, 2],
            pos: 0,
        };
        assert_eq!(b.open(), Err(PerError::BadValue));
        let mut b = Bits {
            buf: &[0x81, 0x00],
            pos: 0,
        };
        assert_eq!(b.length(), Ok(256));
    }

    const NULLS: Ty = Ty::SeqOf(0, None, &Ty::Null);

    #[test]
    fn a_huge_count_of_empty_items_runs_out_of_budget() {
        // 16383 NULLs cost no bits at all: only the budget stops them.
        let mut out = Found::default();
        assert_eq!(
            walk(&[0xBF, 0xFF], &NULLS, Mark::None, &mut out),
            Err(PerError::TooMuchWork)
        );
        // 10^9 elements cannot even be written without fragmentation.
        assert_eq!(
            walk(&[0xC4, 0, 0], &NULLS, Mark::None, &mut out),
            Err(PerError::Fragmented)
        );
    }
}
