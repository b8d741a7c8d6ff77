//! Application-level gateways (SPEC R1-R5): multi-channel protocols whose control session
//! announces the data connections that will follow (FTP's PORT and 227 replies, TFTP's read
//! and write requests). An ALG reads its control session's payload and answers with the
//! connections to expect; the session table publishes those as relation entries
//! (`table::relation`), which the data connection's first packet claims on whichever core it
//! lands (DESIGN.md §1).
//!
//! An ALG author implements one trait, [`Alg`], and adds one line to [`REGISTRY`]; the
//! framework does the rest: it attaches the ALG to control sessions by application (the
//! port-mapping table decides which sessions are FTP), reassembles a TCP control stream into
//! lines (retransmissions and overlaps handled once, a bounded buffer), turns the ALG's
//! announcements into relation entries with the ALG's limits, and counts what the ALG refused.
//! An ALG never touches the session table. `docs/writing-an-alg.md` walks through adding one;
//! [`kit`] is the test kit.

pub mod ftp;
pub mod kit;
pub mod stream;
pub mod tftp;

use crate::proto::key::{Direction, FlowKey, addr_to_ip, ip_to_addr};
use crate::proto::wire::{Addr, Family};
use crate::table::apps;
use crate::table::relation::{RelationLimits, RelationSpec};
use smallvec::SmallVec;
use std::net::IpAddr;
use std::sync::LazyLock;

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
    /// Application keyword of the data sessions it announces (their application on display).
    pub data_app: &'static str,
    pub framing: Framing,
    /// Relation entries: how long they wait, how many one control session may have.
    pub limits: RelationLimits,
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

/// A data connection an ALG announces: its first packet's initiator tuple. `None` source
/// fields match anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    pub proto: u8,
    pub src: Option<IpAddr>,
    pub sport: Option<u16>,
    pub dst: IpAddr,
    pub dport: u16,
}

/// The announcements of one message (rarely more than one).
pub type Expects = SmallVec<[Expect; 2]>;

/// Why an ALG refused a message or found it suspect, as a counter name (`ftp` + `bounce` is
/// shown as `alg_ftp_bounce`). Counted, never fatal to the control session; announcements
/// the ALG made before returning it still stand.
pub type Refusal = &'static str;

/// The one trait an ALG implements. A value of the type is the ALG's state for one control
/// session ("ALG actor" in DESIGN.md): created when the session starts, fed that session's
/// messages in order per direction, dropped with the session.
pub trait Alg: Send + 'static {
    const INFO: AlgInfo;

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
    ) -> Result<(), Refusal>;
}

/// The object-safe face of [`Alg`] the framework stores per control session.
pub trait AlgSession: Send {
    fn on_message(
        &mut self,
        control: &Control,
        dir: Direction,
        msg: &[u8],
        out: &mut Expects,
    ) -> Result<(), Refusal>;
}

impl<T: Alg> AlgSession for T {
    fn on_message(
        &mut self,
        control: &Control,
        dir: Direction,
        msg: &[u8],
        out: &mut Expects,
    ) -> Result<(), Refusal> {
        Alg::on_message(self, control, dir, msg, out)
    }
}

/// One registered ALG.
pub struct Registered {
    pub info: AlgInfo,
    pub start: fn(&Control) -> Box<dyn AlgSession>,
}

fn start<T: Alg>(c: &Control) -> Box<dyn AlgSession> {
    Box::new(T::new(c))
}

/// Every ALG, in one place (its index is its `AlgId`). Adding an ALG = one line here.
pub static REGISTRY: &[Registered] = &[
    Registered {
        info: ftp::Ftp::INFO,
        start: start::<ftp::Ftp>,
    },
    Registered {
        info: tftp::Tftp::INFO,
        start: start::<tftp::Tftp>,
    },
];

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

/// For each application id, the ALG following its sessions (built once).
static BY_APP: LazyLock<[Option<AlgId>; 256]> = LazyLock::new(|| {
    let mut t = [None; 256];
    for (i, r) in REGISTRY.iter().enumerate() {
        if let Some(app) = apps::by_keyword(r.info.control_app) {
            t[usize::from(app)] = Some(i as AlgId);
        }
    }
    t
});

/// The ALG that follows sessions of application `app`, if any.
#[inline]
pub fn for_app(app: u8) -> Option<AlgId> {
    BY_APP[usize::from(app)]
}

/// For each ALG, the application id of its data channels (built once).
static DATA_APP: LazyLock<Vec<u8>> = LazyLock::new(|| {
    REGISTRY
        .iter()
        .map(|r| apps::by_keyword(r.info.data_app).unwrap_or(apps::OTHER))
        .collect()
});

/// The application id of an ALG's data channels.
pub fn data_app(id: AlgId) -> u8 {
    DATA_APP
        .get(usize::from(id))
        .copied()
        .unwrap_or(apps::OTHER)
}

/// Which ALGs are on (`alg {ftp|tftp|all}` / `undo alg ...`); all by default, as Comware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgSet(u32);

impl Default for AlgSet {
    fn default() -> Self {
        AlgSet::ALL
    }
}

impl AlgSet {
    pub const ALL: AlgSet = AlgSet(u32::MAX);
    pub const NONE: AlgSet = AlgSet(0);

    #[inline]
    pub fn has(self, id: AlgId) -> bool {
        self.0 & (1 << (id & 31)) != 0
    }

    pub fn set(&mut self, id: AlgId, on: bool) {
        if on {
            self.0 |= 1 << (id & 31);
        } else {
            self.0 &= !(1 << (id & 31));
        }
    }
}

/// The table's address form; `None` when the address is of the other family.
fn to_addr(family: Family, ip: IpAddr) -> Option<Addr> {
    let (f, a) = ip_to_addr(ip);
    (f == family).then_some(a)
}

/// The relation entry for an announcement; `None` if it mixes families (counted by the
/// caller as a refusal).
pub fn spec_of(id: AlgId, control: &Control, e: &Expect, vpn: u16) -> Option<RelationSpec> {
    let src = match e.src {
        Some(ip) => Some(to_addr(control.family, ip)?),
        None => None,
    };
    Some(RelationSpec {
        family: control.family,
        proto: e.proto,
        src,
        sport: e.sport,
        dst: to_addr(control.family, e.dst)?,
        dport: e.dport,
        vpn,
        app: data_app(id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_real_applications() {
        for r in REGISTRY {
            assert!(
                apps::by_keyword(r.info.control_app).is_some(),
                "{}",
                r.info.keyword
            );
            assert!(
                apps::by_keyword(r.info.data_app).is_some(),
                "{}",
                r.info.keyword
            );
        }
        let ftp = by_keyword("FTP").expect("ftp registered");
        assert_eq!(for_app(apps::by_keyword("ftp").unwrap_or(0)), Some(ftp));
        assert_eq!(apps::name(data_app(ftp)), "FTP-DATA");
        assert_eq!(for_app(apps::OTHER), None);
    }

    #[test]
    fn alg_set_switches_one_alg() {
        let mut s = AlgSet::default();
        assert_eq!(s, AlgSet::ALL);
        s.set(0, false);
        assert!(!s.has(0) && s.has(1) && s != AlgSet::ALL);
        s.set(0, true);
        assert_eq!(s, AlgSet::ALL);
    }
}
