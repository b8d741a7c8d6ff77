//! The H.323 ALG (ITU-T H.323, H.225.0, H.245), with the semantics of the Linux kernel's
//! `nf_conntrack_h323_main.c`, which is what the conformance oracle ran. One ALG follows the
//! three kinds of H.323 control session; which one a session is comes from how it started:
//!
//! | session | how it starts | messages | what the ALG expects (kernel function) |
//! |---|---|---|---|
//! | RAS | UDP 1719 (`ras`) | GCF | RAS to the gatekeeper's `rasAddress` when it is not the sender's (`process_gcf`) |
//! | | | RRQ | call signalling to the endpoint's own `callSignalAddress`, from the gatekeeper, permanent (`expect_q931`) |
//! | | | RCF with `timeToLive` | the registration's entries live that long (`process_rcf`) |
//! | | | URQ | every entry of the RAS session goes (`process_urq`) |
//! | | | ACF, LCF | call signalling to the `destCallSignalAddress` / `callSignalAddress`, from the endpoint, permanent (`process_acf`, `process_lcf`) |
//! | call signalling | TCP 1720 (`h225`) or an entry of the `signalling` class | Setup, Call Proceeding, Alerting, Connect, Progress, Facility (Q.931 in TPKT) | `h245Address`: the H.245 connection (`expect_h245`); fast-start channels and tunnelled H.245 as below; Facility `callForwarded`: call signalling to the `alternativeAddress` (`expect_callforwarding`) |
//! | H.245 | an entry of the `h245` class | OpenLogicalChannel, OpenLogicalChannelAck (TPKT) | RTP to the even port and RTCP to the odd port of each `mediaChannel` / `mediaControlChannel` (`expect_rtp_rtcp`); T.120 to a separate stack's address (`expect_t120`) |
//!
//! As the kernel, every announced address must be the sender's own (an endpoint announces
//! where it listens; an address of someone else is counted, `address-not-sender`), and each
//! entry admits its connection only from the other end of the control session (`src` = the
//! peer), except T.120's, which any host may open.
//!
//! The PER encodings are walked by a table-driven walker (`per.rs`, tables in `h225.rs` and
//! `h245.rs`); ARCHITECTURE.md says why that and not a general ASN.1 crate.
//!
//! Where this differs from the kernel: no NAT rewriting (not a NAT); a call forwarded by
//! Facility is always followed (the kernel skips it when the forwarded-to party is routed out
//! of the same interface as the caller, `callforward_filter`, which needs a route lookup);
//! H.235 security in a Progress message is not modelled (its fast start is missed, counted
//! `partly-read`); RRQ's `timeToLive` is not applied to the RAS session's own aging.

pub mod h225;
pub mod h245;
pub mod per;
pub mod q931;
#[cfg(test)]
mod tests;

use super::{ALL_CLASSES, Alg, AlgInfo, Control, Expect, ExpectClass, Expects, Framing, Reason};
use super::{Terms, Withdraw};
use crate::proto::key::{Direction, ip_to_addr};
use crate::proto::wire::ipproto;
use per::{Found, Mark, PerError, Role, Slot};
use q931::Q931Error;
use std::net::IpAddr;

/// Expectation classes (the kernel's helpers' `expect_policy`: H.245 and media from the Q.931
/// and H.245 helpers, call signalling and RAS from the RAS helper; 240 s each).
pub const H245: u8 = 0;
pub const MEDIA: u8 = 1;
pub const SIGNALLING: u8 = 2;
pub const RAS: u8 = 3;
pub const T120: u8 = 4;

/// How long an entry waits for its connection (all the kernel's H.323 policies: 240 s).
const TIMEOUT_MS: u64 = 240_000;

/// Which H.323 protocol a control session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// H.225.0 RAS over UDP.
    Ras,
    /// H.225.0 call signalling (Q.931 in TPKT over TCP).
    CallSignalling,
    /// H.245 in TPKT over TCP.
    H245,
}

/// Why the H.323 ALG refused (part of) a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum H323Refusal {
    /// An announced address that is not the sender's own.
    AddressNotSender,
    /// An address of the other family than the control session.
    WrongFamily,
    /// A type the tables do not model was reached: what followed it was not read.
    PartlyRead,
    /// More addresses in one message than the ALG keeps.
    TooManyAddresses,
    /// An announced address with port 0: nothing to expect.
    ZeroPort,
    Per(PerError),
    Q931(Q931Error),
}

const OWN: [&str; 5] = [
    "address-not-sender",
    "wrong-family",
    "partly-read",
    "too-many-addresses",
    "zero-port",
];

impl Reason for H323Refusal {
    const COUNT: usize = OWN.len() + PerError::ALL.len() + Q931Error::ALL.len();

    fn index(self) -> usize {
        match self {
            H323Refusal::AddressNotSender => 0,
            H323Refusal::WrongFamily => 1,
            H323Refusal::PartlyRead => 2,
            H323Refusal::TooManyAddresses => 3,
            H323Refusal::ZeroPort => 4,
            H323Refusal::Per(e) => OWN.len() + e as usize,
            H323Refusal::Q931(e) => OWN.len() + PerError::ALL.len() + e as usize,
        }
    }

    fn name_of(index: usize) -> &'static str {
        let per = OWN.len();
        let q931 = per + PerError::ALL.len();
        match index {
            i if i < per => OWN[i],
            i if i < q931 => PerError::ALL[i - per].name(),
            i => Q931Error::ALL.get(i - q931).map_or("unknown", |e| e.name()),
        }
    }
}

/// One H.323 control session's ALG state.
#[derive(Debug)]
pub struct H323 {
    mode: Mode,
    /// The session itself claimed an entry (the kernel: `IPS_EXPECTED`); a GCF on such a RAS
    /// session announces nothing, to avoid RAS expectation loops.
    expected: bool,
}

impl Alg for H323 {
    type Refusal = H323Refusal;
    const INFO: AlgInfo = AlgInfo {
        keyword: "h323",
        help: "H.323 protocol",
        control_app: "h225",
        framing: Framing::Tpkt,
        classes: &[
            ExpectClass {
                name: "h245",
                // The kernel's Q.931 policy allows 4 RTP channels x 4 + 4 for all its
                // expectations; an H.245 address is announced again by each UUIE that carries
                // it, and each replaces the last.
                max_per_master: 4,
                timeout_ms: TIMEOUT_MS,
                data_app: "h245",
                follow: true,
            },
            ExpectClass {
                name: "media",
                // H323_RTP_CHANNEL_MAX (4) channels x RTP and RTCP x both directions.
                max_per_master: 16,
                timeout_ms: TIMEOUT_MS,
                data_app: "h245",
                follow: false,
            },
            ExpectClass {
                name: "signalling",
                // The kernel's RAS policy: 32.
                max_per_master: 32,
                timeout_ms: TIMEOUT_MS,
                data_app: "h225",
                follow: true,
            },
            ExpectClass {
                name: "ras",
                max_per_master: 32,
                timeout_ms: TIMEOUT_MS,
                data_app: "ras",
                follow: true,
            },
            ExpectClass {
                name: "t120",
                max_per_master: 4,
                timeout_ms: TIMEOUT_MS,
                data_app: "h245",
                follow: false,
            },
        ],
        // A TPKT carries at most 65531 octets; real Setups with fast start are under 1 KiB.
        max_line: 16 * 1024,
    };
    const MORE_CONTROL_APPS: &'static [&'static str] = &["ras"];

    fn new(control: &Control) -> Self {
        H323 {
            mode: if control.proto == ipproto::UDP {
                Mode::Ras
            } else {
                Mode::CallSignalling
            },
            expected: false,
        }
    }

    fn new_expected(control: &Control, class: u8) -> Self {
        let mode = match class {
            H245 => Mode::H245,
            _ if control.proto == ipproto::UDP => Mode::Ras,
            _ => Mode::CallSignalling,
        };
        H323 {
            mode,
            expected: true,
        }
    }

    fn on_message(
        &mut self,
        control: &Control,
        dir: Direction,
        msg: &[u8],
        out: &mut Expects,
    ) -> Result<(), H323Refusal> {
        let mut found = Found::default();
        let walked = match self.mode {
            Mode::Ras => per::walk(msg, &h225::RAS, Mark::Kind(Slot::Message), &mut found),
            Mode::CallSignalling => {
                let q = q931::parse(msg).map_err(H323Refusal::Q931)?;
                per::walk(q.user_info, &h225::USER_INFO, Mark::None, &mut found)
            }
            Mode::H245 => per::walk(msg, &h245::MESSAGE, Mark::None, &mut found),
        };
        // What was found before a refusal is still used (as the kernel, which acts on each
        // field as it decodes it).
        let mut first = walked.err().map(H323Refusal::Per);
        let mut note = |e: H323Refusal| {
            first.get_or_insert(e);
        };
        if found.partial {
            note(H323Refusal::PartlyRead);
        }
        if found.dropped > 0 {
            note(H323Refusal::TooManyAddresses);
        }
        let e = Announce {
            control,
            dir,
            out,
            note: &mut note,
        };
        match self.mode {
            Mode::Ras => self.ras(&found, e),
            Mode::CallSignalling | Mode::H245 => call(&found, e),
        }
        first.map_or(Ok(()), Err)
    }
}

/// Turns what a message announced into entries.
struct Announce<'a, 'n> {
    control: &'a Control,
    dir: Direction,
    out: &'a mut Expects,
    note: &'n mut dyn FnMut(H323Refusal),
}

impl Announce<'_, '_> {
    fn sender(&self) -> IpAddr {
        self.control.sender(self.dir)
    }

    fn peer(&self) -> IpAddr {
        self.control.sender(self.dir.flip())
    }

    /// The address is usable: the session's family and a port (else counted).
    fn usable(&mut self, ip: IpAddr, port: u16) -> bool {
        if ip_to_addr(ip).0 != self.control.family {
            (self.note)(H323Refusal::WrongFamily);
            return false;
        }
        if port == 0 {
            (self.note)(H323Refusal::ZeroPort);
            return false;
        }
        true
    }

    /// The address is the sender's own, with a port (else counted).
    fn senders_own(&mut self, ip: IpAddr, port: u16) -> bool {
        if !self.usable(ip, port) {
            return false;
        }
        if ip != self.sender() {
            (self.note)(H323Refusal::AddressNotSender);
            return false;
        }
        true
    }

    fn push(&mut self, class: u8, proto: u8, src: Option<IpAddr>, dst: IpAddr, dport: u16) {
        self.push_with(class, proto, src, dst, dport, false);
    }

    fn push_with(
        &mut self,
        class: u8,
        proto: u8,
        src: Option<IpAddr>,
        dst: IpAddr,
        dport: u16,
        permanent: bool,
    ) {
        let e = Expect {
            class,
            proto,
            src,
            sport: None,
            dst,
            dport,
        };
        let terms = Terms {
            permanent,
            ..Terms::default()
        };
        self.out.push_with(e, terms);
    }

    /// RTP to the even port and RTCP to the odd one (the kernel's `expect_rtp_rtcp`). The
    /// even port is the one checked: an announced port 1 would make an RTP entry to port 0
    /// (the kernel makes it; we count it as a zero port and expect nothing).
    fn rtp_rtcp(&mut self, ip: IpAddr, port: u16) {
        if !self.senders_own(ip, port & !1) {
            return;
        }
        let peer = Some(self.peer());
        self.push(MEDIA, ipproto::UDP, peer, ip, port & !1);
        self.push(MEDIA, ipproto::UDP, peer, ip, port | 1);
    }
}

/// Call signalling and H.245: `h245Address`, media, T.120 and call forwarding.
fn call(found: &Found, mut e: Announce<'_, '_>) {
    let forwarded = found.message == Some(h225::body::FACILITY)
        && found.reason == Some(h225::REASON_CALL_FORWARDED);
    for (role, ip, port) in found.addrs() {
        match role {
            Role::H245 if !forwarded && e.senders_own(ip, port) => {
                let peer = Some(e.peer());
                e.push(H245, ipproto::TCP, peer, ip, port);
            }
            Role::Media if !forwarded => e.rtp_rtcp(ip, port),
            Role::T120 if !forwarded && found.t120_lan && e.senders_own(ip, port) => {
                e.push_with(T120, ipproto::TCP, None, ip, port, true);
            }
            Role::Alternative if forwarded && e.usable(ip, port) => {
                let peer = Some(e.peer());
                e.push(SIGNALLING, ipproto::TCP, peer, ip, port);
            }
            _ => {}
        }
    }
}

impl H323 {
    /// RAS: registrations, admissions and locations announce call signalling.
    fn ras(&self, found: &Found, mut e: Announce<'_, '_>) {
        let signalling = |e: &mut Announce<'_, '_>, src: Option<IpAddr>, ip, port| {
            e.push_with(SIGNALLING, ipproto::TCP, src, ip, port, true);
        };
        match found.message {
            Some(h225::ras::GCF) => {
                for (role, ip, port) in found.addrs() {
                    if role != Role::Ras || self.expected || !e.usable(ip, port) {
                        continue;
                    }
                    // The gatekeeper answering from the address it names needs nothing.
                    let sender_port = match e.dir {
                        Direction::Orig => e.control.client_port,
                        Direction::Reply => e.control.server_port,
                    };
                    if ip == e.sender() && port == sender_port {
                        continue;
                    }
                    let peer = Some(e.peer());
                    e.push(RAS, ipproto::UDP, peer, ip, port);
                }
            }
            Some(h225::ras::RRQ) => {
                // The first of the endpoint's call-signalling addresses that is its own.
                let own = found
                    .addrs()
                    .filter(|a| a.0 == Role::CallSignal)
                    .find(|&(_, ip, port)| ip == e.sender() && port != 0);
                match own {
                    Some((_, ip, port)) => {
                        let peer = Some(e.peer());
                        signalling(&mut e, peer, ip, port);
                    }
                    None if found.addrs().any(|a| a.0 == Role::CallSignal) => {
                        (e.note)(H323Refusal::AddressNotSender);
                    }
                    None => {}
                }
            }
            Some(h225::ras::RCF) => {
                if let Some(ttl) = found.ttl {
                    e.out.refresh(
                        Withdraw {
                            classes: 1 << SIGNALLING,
                            tag: None,
                        },
                        u64::from(ttl) * 1000,
                    );
                }
            }
            Some(h225::ras::URQ) => e.out.withdraw(Withdraw {
                classes: ALL_CLASSES,
                tag: None,
            }),
            Some(h225::ras::ACF) | Some(h225::ras::LCF) => {
                let acf = found.message == Some(h225::ras::ACF);
                for (role, ip, port) in found.addrs() {
                    if role != Role::CallSignal || !e.usable(ip, port) {
                        continue;
                    }
                    // An answering endpoint's ACF names itself: nothing to expect.
                    if acf && ip == e.sender() {
                        continue;
                    }
                    let peer = Some(e.peer());
                    signalling(&mut e, peer, ip, port);
                }
            }
            _ => {}
        }
    }
}
