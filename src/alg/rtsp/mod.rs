//! The RTSP ALG (RFC 2326, RTSP 1.0; RFC 7826, RTSP 2.0). Linux has no mainline RTSP helper;
//! the RFCs are the reference.
//!
//! | message | what the ALG does |
//! |---|---|
//! | SETUP (client) | remember it by `CSeq`, with the client ports it offered (at most 16 pending, the oldest forgotten first) |
//! | 2xx to a SETUP | expect the media its `Transport` names (the request's when the reply has none), tagged with the `Session` id |
//! | other final reply to a SETUP | forget it |
//! | PLAY, RECORD (client) | give the session's entries the class timeout again |
//! | TEARDOWN (client) | withdraw the session's entries (every media entry without a `Session`) |
//! | DESCRIBE, PAUSE, others | nothing (their `Session` and `CSeq` are still checked) |
//!
//! Media (RFC 2326 §12.39, RFC 7826 §18.54), always UDP, from any source port:
//! - PLAY (the default mode): RTP from the server to the client's `client_port` a, RTCP to b
//!   (a+1 when no range is given; none for a non-RTP profile such as `RAW/RAW/UDP`); RTSP 2.0
//!   names them with `dest_addr` (`":port"` = the client).
//! - RECORD (`mode=record`, the client publishes): RTP and RTCP from the client to the
//!   server's `server_port` a/b (or `dest_addr`).
//! - Interleaved (`RTP/AVP/TCP;interleaved=0-1`, RFC 2326 §10.12) travels inside the RTSP
//!   connection: nothing to expect. Multicast needs no unicast pinhole: nothing, counted.
//!
//! Refused and counted (never a hole to a third party):
//! - a SETUP whose `destination=` / `dest_addr` names another host than the media's receiver
//!   (`third-party-destination`), and the reply that grants it. RFC 2326 §12.39 lets a client
//!   point the stream at another host and itself warns that this makes the server a packet
//!   cannon (§15.1 "denial of service amplification"); through a firewall it would also let
//!   one inside host open a hole from any RTSP server to any other inside host. The receiver
//!   is the one that asked.
//! - a reply whose `client_port` (RTSP 2.0: `dest_addr` ports) is not one the request offered
//!   (`client-port-not-offered`):
//!   the server would otherwise choose which client ports open.
//! - `source=` / `src_addr` other than the server (`foreign-source`): the entries still expect
//!   the RTSP server itself (a media source elsewhere could be anyone), the mismatch is
//!   counted.
//!
//! The addresses of a reply's `destination` / `dest_addr` are the server's view of the client
//! (through a NAT: its public address); only their ports are used, the entries always name
//! the control session's own ends.

pub mod parse;

use super::{
    Alg, AlgInfo, Control, Expect, ExpectClass, Expects, Framing, Reason, Terms, Withdraw,
};
use crate::alg::tag_of;
use crate::proto::key::Direction;
use crate::proto::wire::ipproto;
use parse::{Lower, Message, Method, Ports, RtspError, StartLine, TransportSpec, parse_message};
use std::net::IpAddr;

/// Why the RTSP ALG refused (part of) a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtspRefusal {
    /// A `destination`/`dest_addr` naming another host than the media's receiver.
    ThirdPartyDestination,
    /// An address of the other family than the control session.
    WrongFamily,
    /// A `source`/`src_addr` naming another host than the server (the entries expect the
    /// server all the same).
    ForeignSource,
    /// A multicast transport: no unicast pinhole to make.
    Multicast,
    /// A UDP transport without the ports the media goes to.
    MissingPort,
    /// A reply's `client_port` that the SETUP did not offer.
    ClientPortNotOffered,
    /// A SETUP, or a reply with a `Transport`, without `CSeq`: it cannot be paired.
    MissingCSeq,
    /// A 2xx with a `Transport` answering no SETUP the ALG remembers (its request was lost
    /// in a gap, or forgotten).
    UnmatchedReply,
    /// More SETUPs awaiting their reply than the ALG remembers: the oldest was forgotten.
    PendingSetupsFull,
    Malformed(RtspError),
}

const OWN: [&str; 9] = [
    "third-party-destination",
    "wrong-family",
    "foreign-source",
    "multicast",
    "missing-port",
    "client-port-not-offered",
    "missing-cseq",
    "unmatched-reply",
    "pending-setups-full",
];

impl Reason for RtspRefusal {
    const COUNT: usize = OWN.len() + RtspError::ALL.len();

    fn index(self) -> usize {
        match self {
            RtspRefusal::ThirdPartyDestination => 0,
            RtspRefusal::WrongFamily => 1,
            RtspRefusal::ForeignSource => 2,
            RtspRefusal::Multicast => 3,
            RtspRefusal::MissingPort => 4,
            RtspRefusal::ClientPortNotOffered => 5,
            RtspRefusal::MissingCSeq => 6,
            RtspRefusal::UnmatchedReply => 7,
            RtspRefusal::PendingSetupsFull => 8,
            RtspRefusal::Malformed(e) => OWN.len() + e as usize,
        }
    }

    fn name_of(index: usize) -> &'static str {
        match OWN.get(index) {
            Some(n) => n,
            None => RtspError::ALL
                .get(index - OWN.len())
                .map_or("unknown", |e| e.name()),
        }
    }
}

/// The one expectation class: media (RTP and RTCP).
const MEDIA: u8 = 0;
const MEDIA_CLASSES: u32 = 1 << MEDIA;
/// How long a media entry waits for its first packet. The client sends PLAY right after its
/// SETUPs (VLC and ffmpeg within milliseconds), and PLAY or RECORD restarts the wait, so this
/// only bounds a session set up and never played: three times RTSP's default session
/// timeout (60 s, RFC 2326 §12.37), after which the server itself has dropped a session its
/// client did not keep alive. It is also the kernel SIP helper's media expectation timeout.
const MEDIA_TIMEOUT_MS: u64 = 180_000;

/// SETUPs awaiting their reply, per control session. Clients send one per track and wait
/// for each reply; 16 covers a pipelined multi-track setup.
const MAX_PENDING: usize = 16;
/// Client port pairs remembered per pending SETUP (GStreamer offers three alternatives).
const MAX_OFFERED: usize = 4;

/// A SETUP awaiting its reply.
#[derive(Debug, Clone, Copy)]
struct Pending {
    cseq: u32,
    /// When it was remembered (the oldest is forgotten first).
    order: u64,
    /// The request's session id's tag (a SETUP adding a track to a session names it).
    tag: Option<u32>,
    /// The request's first usable alternative: the fallback when the reply has no
    /// `Transport`.
    offer: Option<TransportSpec>,
    /// The client ports the request offered, in the alternatives it may have.
    offered: [Option<Ports>; MAX_OFFERED],
    /// A destination the request named that is not the receiver, and why it was refused.
    refused: Option<(IpAddr, RtspRefusal)>,
}

/// One RTSP control session's ALG state: its SETUPs awaiting their reply.
#[derive(Debug)]
pub struct Rtsp {
    pending: [Option<Pending>; MAX_PENDING],
    order: u64,
}

impl Alg for Rtsp {
    type Refusal = RtspRefusal;
    const INFO: AlgInfo = AlgInfo {
        keyword: "rtsp",
        help: "RTSP protocol",
        control_app: "rtsp",
        framing: Framing::Messages,
        classes: &[ExpectClass {
            name: "media",
            // Two entries (RTP, RTCP) per track: audio and video twice over, e.g. a client
            // that sets a stream up again after a failed first PLAY.
            max_per_master: 8,
            timeout_ms: MEDIA_TIMEOUT_MS,
            data_app: "rtsp",
            follow: false,
        }],
        // A DESCRIBE reply carries the SDP; 64 KiB is far beyond any real one.
        max_line: 64 * 1024,
    };

    fn new(_control: &Control) -> Self {
        Rtsp {
            pending: [None; MAX_PENDING],
            order: 0,
        }
    }

    fn on_message(
        &mut self,
        control: &Control,
        dir: Direction,
        msg: &[u8],
        out: &mut Expects,
    ) -> Result<(), RtspRefusal> {
        let m = parse_message(msg).map_err(RtspRefusal::Malformed)?;
        match (dir, m.start) {
            (Direction::Orig, StartLine::Request { method, .. }) => {
                self.request(control, method, &m, out)
            }
            (Direction::Reply, StartLine::Response { status }) => {
                self.reply(control, status, &m, out)
            }
            // The server's own requests (ANNOUNCE, GET_PARAMETER, REDIRECT) and the client's
            // answers to them announce no media.
            _ => Ok(()),
        }
    }
}

impl Rtsp {
    fn request(
        &mut self,
        control: &Control,
        method: Method,
        m: &Message<'_>,
        out: &mut Expects,
    ) -> Result<(), RtspRefusal> {
        let tag = m.session.map(tag_of);
        match method {
            Method::Setup => self.remember(control, m, tag),
            Method::Play | Method::Record => {
                if let Some(tag) = tag {
                    out.refresh(
                        Withdraw {
                            classes: MEDIA_CLASSES,
                            tag: Some(tag),
                        },
                        MEDIA_TIMEOUT_MS,
                    );
                }
                Ok(())
            }
            Method::Teardown => {
                out.withdraw(Withdraw {
                    classes: MEDIA_CLASSES,
                    tag,
                });
                Ok(())
            }
            Method::Describe | Method::Pause | Method::Other => Ok(()),
        }
    }

    /// Remembers a SETUP until its reply.
    fn remember(
        &mut self,
        control: &Control,
        m: &Message<'_>,
        tag: Option<u32>,
    ) -> Result<(), RtspRefusal> {
        let cseq = m.cseq.ok_or(RtspRefusal::MissingCSeq)?;
        let mut p = Pending {
            cseq,
            order: self.order,
            tag,
            offer: None,
            offered: [None; MAX_OFFERED],
            refused: None,
        };
        self.order += 1;
        let mut first_error = None;
        let mut n = 0;
        for alt in m.transports() {
            let t = match alt {
                Ok(t) => t,
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            // An alternative sending the media to a third party is not one the server may
            // pick: neither its ports nor it as the fallback.
            if let Some(bad) =
                destinations(&t).find_map(|a| receives(control, &t, a).err().map(|r| (a, r)))
            {
                p.refused.get_or_insert(bad);
                continue;
            }
            p.offer.get_or_insert(t);
            if let (Some(ports), Some(slot)) = (client_ports(&t), p.offered.get_mut(n)) {
                *slot = Some(ports);
                n += 1;
            }
        }
        // The same CSeq again replaces its entry; otherwise a free slot, or the oldest.
        let slot = match self
            .pending
            .iter()
            .position(|s| s.is_some_and(|s| s.cseq == cseq))
        {
            Some(i) => Some(i),
            None => self.pending.iter().position(Option::is_none),
        };
        let full = slot.is_none();
        let slot = slot.unwrap_or_else(|| {
            (0..MAX_PENDING)
                .min_by_key(|&i| self.pending[i].map_or(0, |s| s.order))
                .unwrap_or(0)
        });
        self.pending[slot] = Some(p);
        if full {
            return Err(RtspRefusal::PendingSetupsFull);
        }
        if let Some((_, why)) = p.refused {
            return Err(why);
        }
        // Only when no alternative is usable: the server picks among the good ones.
        match (p.offer, first_error) {
            (None, Some(e)) => Err(RtspRefusal::Malformed(e)),
            _ => Ok(()),
        }
    }

    fn reply(
        &mut self,
        control: &Control,
        status: u16,
        m: &Message<'_>,
        out: &mut Expects,
    ) -> Result<(), RtspRefusal> {
        // 1xx: not the final answer.
        if status < 200 {
            return Ok(());
        }
        let Some(cseq) = m.cseq else {
            return match m.has_transport() {
                true => Err(RtspRefusal::MissingCSeq),
                false => Ok(()),
            };
        };
        let Some(i) = self
            .pending
            .iter()
            .position(|s| s.is_some_and(|s| s.cseq == cseq))
        else {
            // A reply to another request (DESCRIBE, PLAY, OPTIONS) or to a SETUP the ALG
            // never saw.
            return match (200..300).contains(&status) && m.has_transport() {
                true => Err(RtspRefusal::UnmatchedReply),
                false => Ok(()),
            };
        };
        let Some(p) = self.pending[i].take() else {
            return Ok(());
        };
        if !(200..300).contains(&status) {
            return Ok(());
        }
        let spec = match m.transports().next() {
            Some(t) => {
                let mut t = t.map_err(RtspRefusal::Malformed)?;
                // The server granting the third party the request asked for.
                if let Some((bad, why)) = p.refused
                    && destinations(&t).any(|a| a == bad)
                {
                    return Err(why);
                }
                if let Some(reply) = client_ports(&t) {
                    if !p.offered.iter().flatten().any(|o| same_ports(*o, reply)) {
                        return Err(RtspRefusal::ClientPortNotOffered);
                    }
                } else {
                    // A reply that does not echo the client ports: the request's stand.
                    t.client_port = p.offered[0];
                }
                t
            }
            None => match p.offer {
                Some(t) => t,
                None => return Ok(()),
            },
        };
        // The reply's Session (a first SETUP creates it), else the request's.
        let tag = m.session.map(tag_of).or(p.tag).unwrap_or(0);
        publish(control, &spec, tag, out)
    }
}

/// The client's media ports of a transport: `client_port`, or for PLAY the ports of RTSP
/// 2.0's `dest_addr` (RTP, RTCP).
fn client_ports(t: &TransportSpec) -> Option<Ports> {
    if t.client_port.is_some() || !t.play {
        return t.client_port;
    }
    Some(Ports {
        first: t.dest_addr.get(0)?.port?,
        last: t.dest_addr.get(1).and_then(|hp| hp.port),
    })
}

/// The same RTP port and the same RTCP port (`a` alone meaning `a` and `a+1`).
fn same_ports(a: Ports, b: Ports) -> bool {
    let rtcp = |p: Ports| p.last.or(p.first.checked_add(1));
    a.first == b.first && rtcp(a) == rtcp(b)
}

/// Up to two media flows (RTP, RTCP) to expect in one direction.
type Flows = [Option<(IpAddr, u16)>; 2];

/// The entries of one accepted transport. Everything is checked before anything is
/// announced: a refused transport announces nothing.
fn publish(
    control: &Control,
    t: &TransportSpec,
    tag: u32,
    out: &mut Expects,
) -> Result<(), RtspRefusal> {
    if t.lower == Lower::Tcp || t.interleaved.is_some() {
        return Ok(());
    }
    if t.multicast {
        return Err(RtspRefusal::Multicast);
    }
    let mut plan: [(Option<IpAddr>, Flows); 2] = [(None, [None; 2]); 2];
    if t.play {
        plan[0] = (
            Some(control.server),
            flows(t, control.client, t.client_port)?,
        );
    }
    if t.record {
        plan[1] = (
            Some(control.client),
            flows(t, control.server, t.server_port)?,
        );
    }
    let terms = Terms {
        tag,
        ..Terms::default()
    };
    for (src, dsts) in plan {
        for (dst, dport) in dsts.into_iter().flatten() {
            out.push_with(
                Expect {
                    class: MEDIA,
                    proto: ipproto::UDP,
                    src,
                    sport: None,
                    dst,
                    dport,
                },
                terms,
            );
        }
    }
    let source = t.source.or(t.src_addr.get(0).and_then(|hp| hp.addr));
    match source {
        Some(s) if s != control.server => Err(RtspRefusal::ForeignSource),
        _ => Ok(()),
    }
}

/// The addresses a transport names as the media's destination (RFC 2326 `destination`, RFC
/// 7826 `dest_addr`).
fn destinations(t: &TransportSpec) -> impl Iterator<Item = IpAddr> + '_ {
    let listed = (0..t.dest_addr.len()).filter_map(|i| t.dest_addr.get(i)?.addr);
    t.destination.into_iter().chain(listed)
}

/// Whether `addr` may receive the media of a transport the client asks for: the client when
/// it plays, the server when it only records.
fn receives(control: &Control, t: &TransportSpec, addr: IpAddr) -> Result<(), RtspRefusal> {
    let receiver = match (t.play, t.record) {
        (false, true) => control.server,
        _ => control.client,
    };
    if addr.is_ipv4() != receiver.is_ipv4() {
        Err(RtspRefusal::WrongFamily)
    } else if addr != receiver {
        Err(RtspRefusal::ThirdPartyDestination)
    } else {
        Ok(())
    }
}

/// Where the media of one direction goes: to `receiver`, at the ports of the RTSP 2.0
/// `dest_addr` or at `ports` (RTP, then RTCP).
fn flows(t: &TransportSpec, receiver: IpAddr, ports: Option<Ports>) -> Result<Flows, RtspRefusal> {
    let mut f: Flows = [None; 2];
    if let Some(first) = t.dest_addr.get(0) {
        let rtp = first.port.ok_or(RtspRefusal::MissingPort)?;
        let rtcp = match t.dest_addr.get(1) {
            Some(hp) => Some(hp.port.ok_or(RtspRefusal::MissingPort)?),
            // One address for RTP: RTCP on the next port.
            None if t.rtp => rtp.checked_add(1),
            None => None,
        };
        f[0] = Some((receiver, rtp));
        f[1] = rtcp.map(|p| (receiver, p));
        return Ok(f);
    }
    let ports = ports.ok_or(RtspRefusal::MissingPort)?;
    f[0] = Some((receiver, ports.first));
    if t.rtp {
        f[1] = ports
            .last
            .or(ports.first.checked_add(1))
            .map(|p| (receiver, p));
    }
    Ok(f)
}

#[cfg(test)]
mod tests;
