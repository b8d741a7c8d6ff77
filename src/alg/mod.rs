//! Application-level gateways (SPEC R1-R5): multi-channel protocols whose control session
//! announces the data connections that will follow (FTP's PORT and 227 replies, TFTP's read
//! and write requests). An ALG reads its control session's payload and answers with the
//! connections to expect; the session table's ALG host (`table::algs`) publishes those as
//! relation entries, which the data connection's first packet claims on whichever core it
//! lands (DESIGN.md §1).
//!
//! An ALG author implements one trait, [`Alg`], and adds one line to [`REGISTRY`]; the
//! framework does the rest: it attaches the ALG to control sessions by application (the
//! port-mapping table decides which sessions are FTP), reassembles a TCP control stream into
//! lines (retransmissions and overlaps handled once, a bounded buffer), turns the ALG's
//! announcements into relation entries with the limits of their class, and counts what the
//! ALG refused. An ALG depends on `proto` only: it never sees the session table, a lock or a
//! clock. `docs/writing-an-alg.md` walks through adding one; [`kit`] is the test kit.

pub mod expect;
pub mod frame;
pub mod ftp;
#[cfg(any(test, fuzzing))]
pub mod irc;
pub mod kit;
pub mod message;
pub mod pptp;
pub mod rtsp;
pub mod sip;
pub mod stream;
pub mod tftp;

pub use expect::{Expect, ExpectClass, RelationLimits, RelationSpec};

use crate::proto::key::{Direction, FlowKey, addr_to_ip};
use crate::proto::wire::Family;
use smallvec::SmallVec;
use std::net::IpAddr;

/// An ALG's position in [`REGISTRY`].
pub type AlgId = u8;

/// How the control channel's payload reaches the ALG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// A TCP byte stream cut into lines (LF-terminated; a CR before the LF is removed).
    Lines,
    /// One message per datagram (UDP).
    Datagrams,
    /// Text messages with a header block and a `Content-Length` body (SIP, RFC 3261 §7.5 and
    /// §18.3; RTSP, RFC 2326 §4.3 and RFC 7826 §8.3). Over TCP the framework cuts the stream
    /// into whole messages (start line, headers, blank line, then `Content-Length` bytes of
    /// body; RTSP interleaved `$` frames, RFC 2326 §10.12, are skipped); over UDP one datagram
    /// is one message.
    Messages,
    /// Binary messages over TCP that open with their own 16-bit length (PPTP, RFC 2637 §2.1),
    /// cut whole from the stream (`frame`).
    Length(frame::LengthFraming),
}

/// What the framework needs to know about an ALG.
#[derive(Debug, Clone, Copy)]
pub struct AlgInfo {
    /// The console keyword (`alg ftp`).
    pub keyword: &'static str,
    /// Help text of the keyword.
    pub help: &'static str,
    /// Application keyword (`table::apps`) of the control sessions it follows: a session is
    /// handed to the ALG when the port-mapping table names it this application.
    pub control_app: &'static str,
    pub framing: Framing,
    /// The kinds of connection it announces, each with its limit, timeout and application
    /// (`Expect::class` indexes this list).
    pub classes: &'static [ExpectClass],
    /// Longest line (line framing) or message (message framing) the ALG cares about; longer
    /// ones are skipped, counted.
    pub max_line: usize,
}

/// The control session as the ALG sees it: the client opened it to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    pub family: Family,
    pub proto: u8,
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
}

impl Control {
    /// From the control session's initiator tuple.
    pub fn from_orig(k: &FlowKey) -> Control {
        Control {
            family: k.family,
            proto: k.proto,
            client: addr_to_ip(k.family, &k.src),
            client_port: k.sport,
            server: addr_to_ip(k.family, &k.dst),
            server_port: k.dport,
        }
    }

    /// Who sent a message travelling in `dir`.
    pub fn sender(&self, dir: Direction) -> IpAddr {
        match dir {
            Direction::Orig => self.client,
            Direction::Reply => self.server,
        }
    }
}

/// How an announcement is held beyond its class's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Terms {
    /// Groups the entries of one call or stream (`tag_of` a Call-ID or RTSP session id), so
    /// that a later message can withdraw just them; 0: untagged.
    pub tag: u32,
    /// The entry stays when a connection claims it, until it expires or is withdrawn (the
    /// kernel's `NF_CT_EXPECT_PERMANENT`: a registered SIP contact takes every incoming call).
    pub permanent: bool,
    /// A lifetime other than the class's timeout (a SIP registration's `Expires`).
    pub ttl_ms: Option<u64>,
}

/// Which of a control session's entries a withdrawal or refresh concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdraw {
    /// Bit `1 << class` for each class concerned ([`ALL_CLASSES`]: every class).
    pub classes: u32,
    /// Only the entries of this tag; `None`: whatever their tag.
    pub tag: Option<u32>,
}

/// Every expectation class of an ALG.
pub const ALL_CLASSES: u32 = u32::MAX;

/// What an ALG changes about its entries after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The call or stream ended (a SIP BYE, an RTSP TEARDOWN): the entries go.
    Withdraw(Withdraw),
    /// The entries live `ttl_ms` from now (a SIP registration confirmed with its `Expires`).
    Refresh(Withdraw, u64),
}

/// What one message announces and changes. Changes are applied before announcements, so a
/// message may withdraw a call's entries and announce new ones (a re-INVITE moving media).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expects {
    announced: SmallVec<[(Expect, Terms); 2]>,
    changes: SmallVec<[Change; 2]>,
}

impl Expects {
    pub fn new() -> Expects {
        Expects::default()
    }

    /// Announces a connection, held as its class says.
    pub fn push(&mut self, e: Expect) {
        self.announced.push((e, Terms::default()));
    }

    /// Announces a connection on other terms.
    pub fn push_with(&mut self, e: Expect, terms: Terms) {
        self.announced.push((e, terms));
    }

    /// Withdraws this control session's entries that `w` names.
    pub fn withdraw(&mut self, w: Withdraw) {
        self.changes.push(Change::Withdraw(w));
    }

    /// Gives this control session's entries that `w` names `ttl_ms` more to live.
    pub fn refresh(&mut self, w: Withdraw, ttl_ms: u64) {
        self.changes.push(Change::Refresh(w, ttl_ms));
    }

    /// Nothing announced or changed.
    pub fn is_empty(&self) -> bool {
        self.announced.is_empty() && self.changes.is_empty()
    }

    /// The announcements, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Expect> {
        self.announced.iter().map(|(e, _)| e)
    }

    /// The announcements with their terms.
    pub fn announced(&self) -> &[(Expect, Terms)] {
        &self.announced
    }

    /// The changes, in order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }
}

/// A stable 32-bit tag for an identifier (a SIP Call-ID, an RTSP session id): FNV-1a, never 0
/// (0 means untagged).
pub fn tag_of(id: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in id {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h.max(1)
}

/// Why an ALG refused a message or found it suspect: each ALG declares its own reasons as a
/// type (usually an enum) and the framework counts each one under its name (`ftp` + `bounce`
/// is shown as `alg_ftp_bounce`). A refusal is never fatal to the control session;
/// announcements the ALG made before returning it still stand.
pub trait Reason: Copy + Send + 'static {
    /// How many reasons there are.
    const COUNT: usize;
    /// This reason's position, below `COUNT`.
    fn index(self) -> usize;
    /// The counter name of the reason at `index` (kebab-case: `bad-number`).
    fn name_of(index: usize) -> &'static str;
}

/// The one trait an ALG implements. A value of the type is the ALG's state for one control
/// session ("ALG actor" in DESIGN.md): created when the session starts, fed that session's
/// messages in order per direction, dropped with the session.
pub trait Alg: Send + 'static {
    const INFO: AlgInfo;
    /// What it refuses, and why.
    type Refusal: Reason;

    /// A new control session.
    fn new(control: &Control) -> Self
    where
        Self: Sized;

    /// One message (a line without its CR LF, or a datagram) that travelled in `dir`.
    /// Announcements go to `out`; a message the ALG cannot use is refused with a reason.
    fn on_message(
        &mut self,
        control: &Control,
        dir: Direction,
        msg: &[u8],
        out: &mut Expects,
    ) -> Result<(), Self::Refusal>;
}

/// The object-safe face of [`Alg`] the framework stores per control session: refusals come
/// back as their index.
pub trait AlgSession: Send {
    fn on_message(
        &mut self,
        control: &Control,
        dir: Direction,
        msg: &[u8],
        out: &mut Expects,
    ) -> Result<(), usize>;
}

impl<T: Alg> AlgSession for T {
    fn on_message(
        &mut self,
        control: &Control,
        dir: Direction,
        msg: &[u8],
        out: &mut Expects,
    ) -> Result<(), usize> {
        Alg::on_message(self, control, dir, msg, out).map_err(Reason::index)
    }
}

/// What the framework itself refuses or notices on an ALG's behalf (counted under the ALG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum HostRefusal {
    /// A TCP segment of the control stream seen before: not fed again.
    RetransmittedSegment,
    /// A segment overlapping bytes already fed: only the new bytes were used.
    OverlappingSegment,
    /// Bytes of the control stream never seen (capture loss, asymmetric path): the cut line
    /// was dropped.
    StreamGap,
    /// A line longer than the ALG's `max_line`: skipped.
    LineTooLong,
    /// An announcement of another address family than its control session.
    WrongFamily,
    /// An announcement found the relation table full: no entry was made.
    RelationTableFull,
    /// A datagram cut short by the capture's snap length: not given to the ALG.
    CutByCapture,
    /// An announcement of an expectation class the ALG does not declare (an ALG bug): no
    /// entry was made.
    UnknownClass,
    /// A message that came in IP fragments, reassembled, while `session alg fragment` is off
    /// for the ALG (Comware's default): the fragments passed, the ALG did not see it.
    FragmentedNotInspected,
    /// A message whose `Content-Length` is missing where one is required, not a number, or
    /// contradicted by another: the stream is resynchronised at the next start line.
    BadContentLength,
    /// Bytes of a message stream that are not a message (after a gap or garbage), skipped up
    /// to the next start line.
    NotAMessage,
    /// A message (head and body) longer than the ALG's bound: skipped, its body by count.
    MessageTooLong,
}

impl HostRefusal {
    pub const ALL: [HostRefusal; 12] = [
        HostRefusal::RetransmittedSegment,
        HostRefusal::OverlappingSegment,
        HostRefusal::StreamGap,
        HostRefusal::LineTooLong,
        HostRefusal::WrongFamily,
        HostRefusal::RelationTableFull,
        HostRefusal::CutByCapture,
        HostRefusal::UnknownClass,
        HostRefusal::FragmentedNotInspected,
        HostRefusal::BadContentLength,
        HostRefusal::NotAMessage,
        HostRefusal::MessageTooLong,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            HostRefusal::RetransmittedSegment => "retransmitted-segment",
            HostRefusal::OverlappingSegment => "overlapping-segment",
            HostRefusal::StreamGap => "stream-gap",
            HostRefusal::LineTooLong => "line-too-long",
            HostRefusal::WrongFamily => "wrong-family",
            HostRefusal::RelationTableFull => "relation-table-full",
            HostRefusal::CutByCapture => "cut-by-capture",
            HostRefusal::UnknownClass => "unknown-class",
            HostRefusal::FragmentedNotInspected => "fragmented-not-inspected",
            HostRefusal::BadContentLength => "bad-content-length",
            HostRefusal::NotAMessage => "not-a-message",
            HostRefusal::MessageTooLong => "message-too-long",
        }
    }
}

/// One registered ALG.
pub struct Registered {
    pub info: AlgInfo,
    /// How many reasons its `Alg::Refusal` has, and their names.
    pub refusals: usize,
    pub refusal_name: fn(usize) -> &'static str,
    pub start: fn(&Control) -> Box<dyn AlgSession>,
}

impl Registered {
    /// The registry line of ALG `T`.
    pub const fn of<T: Alg>() -> Registered {
        Registered {
            info: T::INFO,
            refusals: <T::Refusal as Reason>::COUNT,
            refusal_name: <T::Refusal as Reason>::name_of,
            start: start::<T>,
        }
    }
}

fn start<T: Alg>(c: &Control) -> Box<dyn AlgSession> {
    Box::new(T::new(c))
}

/// Every ALG, in one place (its index is its `AlgId`). Adding an ALG = one line here.
pub const REGISTRY: &[Registered] = &[
    Registered::of::<ftp::Ftp>(),
    Registered::of::<tftp::Tftp>(),
    Registered::of::<sip::Sip>(),
    Registered::of::<rtsp::Rtsp>(),
    Registered::of::<pptp::Pptp>(),
    // The worked example of docs/writing-an-alg.md, registered only in the crate's own tests:
    // it proves that an ALG needs nothing but its folder, this line and its port mapping.
    #[cfg(test)]
    Registered::of::<irc::Irc>(),
];

/// How many ALGs are registered.
pub const ALGS: usize = REGISTRY.len();
const _: () = assert!(ALGS <= 1 << AlgId::BITS, "an AlgId is one byte");

/// Counter slots per ALG: the framework's reasons, then the ALG's own.
pub const REASONS: usize = {
    let mut max = 0;
    let mut i = 0;
    while i < ALGS {
        if REGISTRY[i].refusals > max {
            max = REGISTRY[i].refusals;
        }
        i += 1;
    }
    HostRefusal::ALL.len() + max
};

/// The ALG id by console keyword.
pub fn by_keyword(kw: &str) -> Option<AlgId> {
    REGISTRY
        .iter()
        .position(|r| r.info.keyword.eq_ignore_ascii_case(kw))
        .map(|i| i as AlgId)
}

pub fn info(id: AlgId) -> Option<&'static AlgInfo> {
    REGISTRY.get(usize::from(id)).map(|r| &r.info)
}

/// Words of the ALG bit set: one bit per registered ALG, however many there are.
const SET_WORDS: usize = ALGS.div_ceil(64);

/// Which ALGs are on (`alg {ftp|tftp|all}` / `undo alg ...`); all by default, as Comware.
/// Sized from the registry, so every ALG has a bit of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgSet([u64; SET_WORDS]);

impl Default for AlgSet {
    fn default() -> Self {
        AlgSet::ALL
    }
}

impl AlgSet {
    pub const ALL: AlgSet = {
        let mut w = [0u64; SET_WORDS];
        let mut i = 0;
        while i < ALGS {
            w[i / 64] |= 1 << (i % 64);
            i += 1;
        }
        AlgSet(w)
    };
    pub const NONE: AlgSet = AlgSet([0; SET_WORDS]);

    #[inline]
    pub fn has(self, id: AlgId) -> bool {
        let i = usize::from(id);
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Switches one ALG; an id that is not registered changes nothing.
    pub fn set(&mut self, id: AlgId, on: bool) {
        let i = usize::from(id);
        if i >= ALGS {
            return;
        }
        let bit = 1 << (i % 64);
        if on {
            self.0[i / 64] |= bit;
        } else {
            self.0[i / 64] &= !bit;
        }
    }
}

/// The most expectation classes any registered ALG declares.
pub const MAX_CLASSES: usize = {
    let mut max = 0;
    let mut i = 0;
    while i < ALGS {
        if REGISTRY[i].info.classes.len() > max {
            max = REGISTRY[i].info.classes.len();
        }
        i += 1;
    }
    max
};

/// What the ALGs refused or noticed, by ALG and reason, and how often each class's limit per
/// control session was hit. Per core, summed on read; fixed arrays sized from the registry, so
/// counting never allocates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgCounters {
    counts: [[u64; REASONS]; ALGS],
    limits: [[u64; MAX_CLASSES]; ALGS],
}

impl Default for AlgCounters {
    fn default() -> Self {
        AlgCounters {
            counts: [[0; REASONS]; ALGS],
            limits: [[0; MAX_CLASSES]; ALGS],
        }
    }
}

impl AlgCounters {
    /// A control session over its class's limit: `n` older entries gave way (the kernel's
    /// `max_expected` eviction).
    pub fn class_limit(&mut self, alg: AlgId, class: u8, n: u64) {
        if n == 0 {
            return;
        }
        if let Some(c) = self
            .limits
            .get_mut(usize::from(alg))
            .and_then(|row| row.get_mut(usize::from(class)))
        {
            *c += n;
        }
    }

    /// Every class's limit hits, zeros included, as `(ALG keyword, class name, count)`.
    pub fn class_limits(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut v = Vec::new();
        for (alg, r) in REGISTRY.iter().enumerate() {
            for (i, c) in r.info.classes.iter().enumerate() {
                let n = self.limits.get(alg).and_then(|row| row.get(i)).copied();
                v.push((r.info.keyword, c.name, n.unwrap_or(0)));
            }
        }
        v
    }

    /// Counts a framework reason.
    pub fn host(&mut self, alg: AlgId, why: HostRefusal) {
        self.host_by(alg, why, 1);
    }

    /// Counts a framework reason `n` times.
    pub fn host_by(&mut self, alg: AlgId, why: HostRefusal, n: u64) {
        self.add(alg, why as usize, n);
    }

    /// Counts one of the ALG's own reasons (its `Reason::index`).
    pub fn refused(&mut self, alg: AlgId, index: usize) {
        self.add(alg, HostRefusal::ALL.len() + index, 1);
    }

    fn add(&mut self, alg: AlgId, slot: usize, n: u64) {
        if let Some(c) = self
            .counts
            .get_mut(usize::from(alg))
            .and_then(|row| row.get_mut(slot))
        {
            *c += n;
        }
    }

    pub fn merge(&mut self, o: &AlgCounters) {
        for (a, b) in self.counts.iter_mut().zip(o.counts.iter()) {
            for (x, y) in a.iter_mut().zip(b.iter()) {
                *x += y;
            }
        }
        for (a, b) in self.limits.iter_mut().zip(o.limits.iter()) {
            for (x, y) in a.iter_mut().zip(b.iter()) {
                *x += y;
            }
        }
    }

    /// The name of a slot of an ALG's row.
    fn slot_name(alg: usize, slot: usize) -> Option<&'static str> {
        match HostRefusal::ALL.get(slot) {
            Some(h) => Some(h.name()),
            None => {
                let r = REGISTRY.get(alg)?;
                let i = slot - HostRefusal::ALL.len();
                (i < r.refusals).then(|| (r.refusal_name)(i))
            }
        }
    }

    /// The non-zero counters as `(counter name, count)`, e.g. `("alg_ftp_bounce", 2)`, sorted;
    /// a framework reason and an ALG's own of the same name are one counter.
    pub fn named(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = Vec::new();
        for (alg, row) in self.counts.iter().enumerate() {
            let kw = REGISTRY.get(alg).map_or("unknown", |r| r.info.keyword);
            for (slot, &n) in row.iter().enumerate() {
                let Some(name) = Self::slot_name(alg, slot).filter(|_| n > 0) else {
                    continue;
                };
                let name = format!("alg_{kw}_{}", name.replace('-', "_"));
                match v.iter_mut().find(|(k, _)| *k == name) {
                    Some(e) => e.1 += n,
                    None => v.push((name, n)),
                }
            }
        }
        for (kw, class, n) in self.class_limits() {
            if n > 0 {
                v.push((format!("alg_{kw}_{class}_limit_hit"), n));
            }
        }
        v.sort();
        v
    }

    /// Every counter of every registered ALG, zeros included, as `(ALG keyword, reason,
    /// count)` (`("ftp", "bounce", 2)`); a framework reason and an ALG's own of the same name
    /// are one counter. For the metrics endpoint, whose series exist before the first count.
    pub fn each(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut v: Vec<(&'static str, &'static str, u64)> = Vec::new();
        for (alg, r) in REGISTRY.iter().enumerate() {
            let row = self.counts.get(alg);
            for slot in 0..HostRefusal::ALL.len() + r.refusals {
                let Some(name) = Self::slot_name(alg, slot) else {
                    continue;
                };
                let n = row.and_then(|row| row.get(slot)).copied().unwrap_or(0);
                match v
                    .iter_mut()
                    .find(|(a, k, _)| *a == r.info.keyword && *k == name)
                {
                    Some(e) => e.2 += n,
                    None => v.push((r.info.keyword, name, n)),
                }
            }
        }
        v
    }

    /// The count of one reason by name (`bounce`, `stream-gap`), framework and ALG summed.
    pub fn get(&self, alg: AlgId, reason: &str) -> u64 {
        let a = usize::from(alg);
        self.counts.get(a).map_or(0, |row| {
            row.iter()
                .enumerate()
                .filter(|(slot, _)| Self::slot_name(a, *slot) == Some(reason))
                .map(|(_, n)| n)
                .sum()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_set_switches_one_alg() {
        let mut s = AlgSet::default();
        assert_eq!(s, AlgSet::ALL);
        s.set(0, false);
        assert!(!s.has(0) && s.has(1) && s != AlgSet::ALL);
        s.set(0, true);
        assert_eq!(s, AlgSet::ALL);
        // Ids beyond the registry have no bit: they are never on and cannot be switched.
        s.set(ALGS as AlgId, true);
        assert_eq!(s, AlgSet::ALL);
        assert!(!AlgSet::ALL.has(ALGS as AlgId));
        assert!((0..ALGS).all(|i| AlgSet::ALL.has(i as AlgId)));
    }

    #[test]
    fn counters_name_framework_and_alg_reasons() {
        let ftp = by_keyword("ftp").unwrap_or(0);
        let mut c = AlgCounters::default();
        c.host(ftp, HostRefusal::StreamGap);
        c.host(ftp, HostRefusal::WrongFamily);
        c.refused(ftp, ftp::FtpRefusal::Bounce.index());
        c.refused(ftp, ftp::FtpRefusal::WrongFamily.index());
        let mut d = AlgCounters::default();
        d.merge(&c);
        d.merge(&c);
        assert_eq!(
            d.named(),
            vec![
                ("alg_ftp_bounce".to_string(), 2),
                ("alg_ftp_stream_gap".to_string(), 2),
                ("alg_ftp_wrong_family".to_string(), 4),
            ]
        );
        assert_eq!(d.get(ftp, "wrong-family"), 4);
        assert_eq!(d.get(ftp, "bounce"), 2);
    }
}
