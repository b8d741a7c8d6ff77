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
pub mod ftp;
#[cfg(any(test, fuzzing))]
pub mod irc;
pub mod kit;
pub mod rtsp;
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
    /// Longest line (stream framing) the ALG cares about; longer lines are skipped, counted.
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

/// The announcements of one message (rarely more than one).
pub type Expects = SmallVec<[Expect; 2]>;

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
}

impl HostRefusal {
    pub const ALL: [HostRefusal; 8] = [
        HostRefusal::RetransmittedSegment,
        HostRefusal::OverlappingSegment,
        HostRefusal::StreamGap,
        HostRefusal::LineTooLong,
        HostRefusal::WrongFamily,
        HostRefusal::RelationTableFull,
        HostRefusal::CutByCapture,
        HostRefusal::UnknownClass,
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

/// What the ALGs refused or noticed, by ALG and reason. Per core, summed on read; a fixed
/// array sized from the registry, so counting never allocates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgCounters {
    counts: [[u64; REASONS]; ALGS],
}

impl Default for AlgCounters {
    fn default() -> Self {
        AlgCounters {
            counts: [[0; REASONS]; ALGS],
        }
    }
}

impl AlgCounters {
    /// Counts a framework reason.
    pub fn host(&mut self, alg: AlgId, why: HostRefusal) {
        self.add(alg, why as usize, 1);
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
