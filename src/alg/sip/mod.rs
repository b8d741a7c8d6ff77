//! The SIP ALG (RFC 3261 signalling, RFC 4566 / RFC 3264 SDP offers and answers), with the
//! semantics of the Linux kernel's `nf_conntrack_sip.c`, which is what the conformance oracle
//! ran:
//!
//! | message | what the ALG does (kernel handler) |
//! |---|---|
//! | INVITE | withdraw the call's media entries, then expect its SDP media (`process_invite_request`) |
//! | ACK, PRACK, UPDATE with SDP | expect its media (`process_sdp`) |
//! | 1xx/2xx to INVITE, UPDATE, PRACK | expect the answer's media (`process_invite_response`, ...) |
//! | other final response to the call's INVITE | withdraw the call's media entries |
//! | BYE, CANCEL | withdraw the call's media entries (`process_bye_request`; CANCEL is ours) |
//! | REGISTER with `Contact` and expiry | expect incoming signalling to the contact (`process_register_request`) |
//! | 2xx to that REGISTER | the entry lives for the granted expiry; any other final answer withdraws it |
//!
//! Media: each SDP `m=audio|video|image` line with its `c=` address gives RTP to the port
//! and RTCP to `a=rtcp:` (RFC 3605) or the next port, both UDP, in the direction that carries
//! them: towards the party whose SDP announced the address. With `direct_media` (the
//! kernel's `sip_direct_media`, on by default) only an address of the message's sender is
//! accepted, and the media may come only from the signalling peer; otherwise the refusal is
//! counted (`media-not-signalling-peer`). Off, any address is accepted and the media may come
//! from anywhere: what a call through a proxy needs, whose media flows between the user
//! agents.
//!
//! Where this differs from the kernel, on purpose: entries are tagged by `Call-ID`, so a BYE
//! or a re-INVITE of one call leaves the other calls of the same signalling session alone
//! (the kernel flushes every media expectation of the connection); the RTP port is the one
//! announced (the kernel rounds it down to even); a registration's entry is usable as soon as
//! the REGISTER passes (the kernel keeps it inactive until the 2xx); CANCEL withdraws the
//! call's entries (the kernel waits for the 487).

pub mod parse;
pub mod sdp;

use super::{
    Alg, AlgInfo, Control, Expect, ExpectClass, Expects, Framing, Reason, Terms, Withdraw,
};
use crate::proto::key::{Direction, ip_to_addr};
use crate::proto::wire::ipproto;
use parse::{Method, SipError, StartLine, Transport, parse_message};
use sdp::{MediaKind, SdpError};
use smallvec::SmallVec;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};

/// The kernel's module parameters, set once from the configuration (`[alg.sip]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipOptions {
    /// `sip_direct_media`: media only between the signalling endpoints (default on).
    pub direct_media: bool,
    /// `sip_direct_signalling`: incoming calls to a registered contact only from its
    /// registrar (default on).
    pub direct_signalling: bool,
}

impl Default for SipOptions {
    fn default() -> Self {
        SipOptions {
            direct_media: true,
            direct_signalling: true,
        }
    }
}

static DIRECT_MEDIA: AtomicBool = AtomicBool::new(true);
static DIRECT_SIGNALLING: AtomicBool = AtomicBool::new(true);

/// Applies the configuration's options to control sessions that start from now on (like the
/// kernel's module parameters, they are engine-wide).
pub fn set_options(o: SipOptions) {
    DIRECT_MEDIA.store(o.direct_media, Ordering::Relaxed);
    DIRECT_SIGNALLING.store(o.direct_signalling, Ordering::Relaxed);
}

pub fn options() -> SipOptions {
    SipOptions {
        direct_media: DIRECT_MEDIA.load(Ordering::Relaxed),
        direct_signalling: DIRECT_SIGNALLING.load(Ordering::Relaxed),
    }
}

/// Why the SIP ALG refused (part of) a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipRefusal {
    /// With `direct_media`, an SDP address other than the sender's (media to a third party).
    MediaNotSignallingPeer,
    /// A REGISTER whose `Contact` is not its sender: the kernel's rule, no entry for a third
    /// party's signalling.
    ContactNotSender,
    /// A `Contact` naming a host name, not an address: nothing can be expected.
    ContactNotAnAddress,
    /// An SDP or contact address of the other family than the signalling session.
    WrongFamily,
    Malformed(SipError),
    Sdp(SdpError),
}

impl Reason for SipRefusal {
    const COUNT: usize = 4 + SipError::ALL.len() + SdpError::ALL.len();

    fn index(self) -> usize {
        match self {
            SipRefusal::MediaNotSignallingPeer => 0,
            SipRefusal::ContactNotSender => 1,
            SipRefusal::ContactNotAnAddress => 2,
            SipRefusal::WrongFamily => 3,
            SipRefusal::Malformed(e) => 4 + e as usize,
            SipRefusal::Sdp(e) => 4 + SipError::ALL.len() + e as usize,
        }
    }

    fn name_of(index: usize) -> &'static str {
        match index {
            0 => "media-not-signalling-peer",
            1 => "contact-not-sender",
            2 => "contact-not-an-address",
            3 => "wrong-family",
            i if i < 4 + SipError::ALL.len() => SipError::ALL[i - 4].name(),
            i => SdpError::ALL
                .get(i - 4 - SipError::ALL.len())
                .map_or("unknown", |e| e.name()),
        }
    }
}

/// Expectation classes (the kernel's `SIP_EXPECT_*`, same order and limits).
const SIGNALLING: u8 = 0;
const AUDIO: u8 = 1;
const VIDEO: u8 = 2;
const IMAGE: u8 = 3;
const MEDIA: u32 = (1 << AUDIO) | (1 << VIDEO) | (1 << IMAGE);

/// Calls whose INVITE `CSeq` is remembered per signalling session (oldest forgotten first).
const MAX_CALLS: usize = 32;

/// One signalling session's state: the calls' INVITE sequence numbers and the registration.
#[derive(Debug)]
pub struct Sip {
    options: SipOptions,
    /// `(Call-ID tag, CSeq of its latest INVITE)`.
    calls: SmallVec<[(u32, u32); 4]>,
    /// The pending or granted registration: its CSeq and the contact's address and port.
    register: Option<(u32, IpAddr, u16)>,
}

fn media_class(k: MediaKind) -> u8 {
    match k {
        MediaKind::Audio => AUDIO,
        MediaKind::Video => VIDEO,
        MediaKind::Image => IMAGE,
    }
}

impl Sip {
    fn remember_invite(&mut self, tag: u32, cseq: u32) {
        if let Some(c) = self.calls.iter_mut().find(|(t, _)| *t == tag) {
            c.1 = cseq;
            return;
        }
        if self.calls.len() == MAX_CALLS {
            self.calls.remove(0);
        }
        self.calls.push((tag, cseq));
    }

    fn forget_call(&mut self, tag: u32) {
        self.calls.retain(|(t, _)| *t != tag);
    }

    /// The SDP body's media: RTP and RTCP towards the announcing party.
    fn media(
        &self,
        control: &Control,
        dir: Direction,
        body: &[u8],
        tag: u32,
        out: &mut Expects,
    ) -> Result<(), SipRefusal> {
        if !sdp::is_sdp(body) {
            return Ok(());
        }
        let sender = control.sender(dir);
        let peer = control.sender(dir.flip());
        let mut first_err = None;
        let mut note = |e: SipRefusal| {
            first_err.get_or_insert(e);
        };
        let listed = sdp::for_each_media(body, |m| {
            let m = match m {
                Ok(m) => m,
                Err(e) => return note(SipRefusal::Sdp(e)),
            };
            if ip_to_addr(m.addr).0 != control.family {
                return note(SipRefusal::WrongFamily);
            }
            let src = if self.options.direct_media {
                if m.addr != sender {
                    return note(SipRefusal::MediaNotSignallingPeer);
                }
                Some(peer)
            } else {
                None
            };
            let class = media_class(m.kind);
            let terms = Terms {
                tag,
                ..Terms::default()
            };
            let rtp = Expect {
                class,
                proto: ipproto::UDP,
                src,
                sport: None,
                dst: m.addr,
                dport: m.port,
            };
            out.push_with(rtp, terms);
            if let Some(rtcp) = m.rtcp.or(m.port.checked_add(1)) {
                out.push_with(Expect { dport: rtcp, ..rtp }, terms);
            }
        });
        if let Err(e) = listed {
            note(SipRefusal::Sdp(e));
        }
        first_err.map_or(Ok(()), Err)
    }

    /// A REGISTER: expect incoming signalling to its contact.
    fn register(
        &mut self,
        control: &Control,
        dir: Direction,
        m: &parse::Message<'_>,
        out: &mut Expects,
    ) -> Result<(), SipRefusal> {
        let Some(contact) = m.contacts().next() else {
            return Ok(());
        };
        let c = contact.map_err(SipRefusal::Malformed)?;
        let expires = c.expires.or(m.expires).unwrap_or(0);
        if expires == 0 {
            // An unregistration (or no expiry at all): nothing to expect.
            self.register = None;
            return Ok(());
        }
        let addr = c.addr.ok_or(SipRefusal::ContactNotAnAddress)?;
        if ip_to_addr(addr).0 != control.family {
            return Err(SipRefusal::WrongFamily);
        }
        if addr != control.sender(dir) {
            return Err(SipRefusal::ContactNotSender);
        }
        let proto = match c.transport {
            Some(Transport::Udp) => ipproto::UDP,
            Some(Transport::Tcp) => ipproto::TCP,
            Some(Transport::Other) | None => control.proto,
        };
        let port = c.port.unwrap_or(5060);
        let src = self
            .options
            .direct_signalling
            .then(|| control.sender(dir.flip()));
        out.push_with(
            Expect {
                class: SIGNALLING,
                proto,
                src,
                sport: None,
                dst: addr,
                dport: port,
            },
            Terms {
                permanent: true,
                ..Terms::default()
            },
        );
        self.register = Some((m.cseq, addr, port));
        Ok(())
    }

    /// The answer to a REGISTER: a 2xx keeps the entry for the expiry granted to our contact,
    /// anything else final ends it.
    fn register_answer(
        &mut self,
        code: u16,
        m: &parse::Message<'_>,
        out: &mut Expects,
    ) -> Result<(), SipRefusal> {
        let Some((cseq, addr, port)) = self.register else {
            return Ok(());
        };
        if m.cseq != cseq || code < 200 {
            return Ok(());
        }
        let signalling = Withdraw {
            classes: 1 << SIGNALLING,
            tag: None,
        };
        if (200..300).contains(&code) {
            for c in m.contacts() {
                let c = c.map_err(SipRefusal::Malformed)?;
                if c.addr == Some(addr) && c.port.unwrap_or(5060) == port {
                    match c.expires.or(m.expires) {
                        Some(e) if e > 0 => {
                            out.refresh(signalling, u64::from(e) * 1000);
                            return Ok(());
                        }
                        _ => break,
                    }
                }
            }
        }
        self.register = None;
        out.withdraw(signalling);
        Ok(())
    }
}

impl Alg for Sip {
    type Refusal = SipRefusal;
    const INFO: AlgInfo = AlgInfo {
        keyword: "sip",
        help: "SIP protocol",
        control_app: "sip",
        framing: Framing::Messages,
        // nf_conntrack_sip's sip_exp_policy: signalling 1, audio and video 2 * IP_CT_DIR_MAX,
        // image IP_CT_DIR_MAX, each three minutes. The data sessions are shown as SIP (ours:
        // Comware does not name an RTP application) and age as SIP.
        classes: &[
            ExpectClass {
                name: "signalling",
                max_per_master: 1,
                timeout_ms: 180_000,
                data_app: "sip",
                follow: true,
            },
            ExpectClass {
                name: "audio",
                max_per_master: 4,
                timeout_ms: 180_000,
                data_app: "sip",
                follow: false,
            },
            ExpectClass {
                name: "video",
                max_per_master: 4,
                timeout_ms: 180_000,
                data_app: "sip",
                follow: false,
            },
            ExpectClass {
                name: "image",
                max_per_master: 2,
                timeout_ms: 180_000,
                data_app: "sip",
                follow: false,
            },
        ],
        // A UDP datagram's largest payload; a longer message over TCP is skipped, counted.
        max_line: 65_535,
    };

    fn new(_control: &Control) -> Self {
        Sip {
            options: options(),
            calls: SmallVec::new(),
            register: None,
        }
    }

    fn on_message(
        &mut self,
        control: &Control,
        dir: Direction,
        msg: &[u8],
        out: &mut Expects,
    ) -> Result<(), SipRefusal> {
        let m = parse_message(msg).map_err(SipRefusal::Malformed)?;
        let tag = super::tag_of(m.call_id);
        let call = Withdraw {
            classes: MEDIA,
            tag: Some(tag),
        };
        match m.start {
            StartLine::Request(Method::Invite) => {
                out.withdraw(call);
                self.remember_invite(tag, m.cseq);
                self.media(control, dir, m.body, tag, out)
            }
            StartLine::Request(Method::Ack | Method::Prack | Method::Update) => {
                self.media(control, dir, m.body, tag, out)
            }
            StartLine::Request(Method::Bye | Method::Cancel) => {
                out.withdraw(call);
                self.forget_call(tag);
                Ok(())
            }
            StartLine::Request(Method::Register) => self.register(control, dir, &m, out),
            StartLine::Request(Method::Other) => Ok(()),
            StartLine::Response(code) => match m.cseq_method {
                Method::Invite | Method::Update | Method::Prack if code < 300 => {
                    self.media(control, dir, m.body, tag, out)
                }
                Method::Invite => {
                    // A final error to the call's latest INVITE: the call is not set up.
                    if self.calls.iter().any(|&(t, c)| t == tag && c == m.cseq) {
                        out.withdraw(call);
                        self.forget_call(tag);
                    }
                    Ok(())
                }
                Method::Register => self.register_answer(code, &m, out),
                _ => Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests;
