//! The ALG author's test kit.
//!
//! [`AlgKit`] feeds one ALG the bytes of a control session, as the framework would (stream
//! framing cuts TCP payload into lines over segment boundaries), and returns what it
//! announced. To run a whole capture through the engine and see the relation entries each
//! frame published, use the engine's entry point `sessmgr::replay::published_by_capture`.
//! `docs/writing-an-alg.md` shows both in use.

use super::frame::FrameBuffer;
use super::message::MessageBuffer;
use super::stream::LineBuffer;
use super::{Alg, Change, Control, Expect, Expects, Framing, Reason, Terms};
use crate::proto::key::Direction;
use crate::proto::wire::Family;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};

/// One ALG on one control session, fed by hand.
pub struct AlgKit<T: Alg> {
    pub control: Control,
    state: T,
    streams: [LineBuffer; 2],
    messages: [MessageBuffer; 2],
    frames: [FrameBuffer; 2],
    seq: [u32; 2],
    /// Everything announced with its terms, and every change, in order.
    announced: Vec<(Expect, Terms)>,
    changes: Vec<Change>,
    refused: BTreeMap<&'static str, u64>,
    _alg: PhantomData<T>,
}

impl<T: Alg> AlgKit<T> {
    /// A control session from `client` to `server` (`"198.18.0.1:40000"`,
    /// `"[2001:2::1]:40000"`), over the ALG's transport.
    pub fn new(client: &str, server: &str) -> AlgKit<T> {
        let parse = |s: &str| -> SocketAddr { s.parse().unwrap_or_else(|_| panic!("{s}")) };
        let (c, s) = (parse(client), parse(server));
        let control = Control {
            family: if c.is_ipv4() { Family::V4 } else { Family::V6 },
            proto: match T::INFO.framing {
                Framing::Lines | Framing::Messages | Framing::Length(_) => {
                    crate::proto::wire::ipproto::TCP
                }
                Framing::Datagrams => crate::proto::wire::ipproto::UDP,
            },
            client: c.ip(),
            client_port: c.port(),
            server: s.ip(),
            server_port: s.port(),
        };
        AlgKit {
            state: T::new(&control),
            control,
            streams: Default::default(),
            messages: Default::default(),
            frames: Default::default(),
            seq: [1000, 5000],
            announced: Vec::new(),
            changes: Vec::new(),
            refused: BTreeMap::new(),
            _alg: PhantomData,
        }
    }

    /// Bytes (one TCP segment or one datagram) from the client.
    pub fn client(&mut self, bytes: &[u8]) -> Vec<Expect> {
        self.feed(Direction::Orig, bytes)
    }

    /// Bytes (one TCP segment or one datagram) from the server.
    pub fn server(&mut self, bytes: &[u8]) -> Vec<Expect> {
        self.feed(Direction::Reply, bytes)
    }

    /// The announcement `src` (any source port unless given) -> `dst:dport` of the ALG's
    /// first expectation class, over the control session's transport.
    pub fn expect(&self, src: &str, sport: Option<u16>, dst: &str, dport: u16) -> Expect {
        self.expect_class(0, self.control.proto, src, sport, dst, dport)
    }

    /// The announcement of expectation class `class` over transport `proto`.
    pub fn expect_class(
        &self,
        class: u8,
        proto: u8,
        src: &str,
        sport: Option<u16>,
        dst: &str,
        dport: u16,
    ) -> Expect {
        let ip = |s: &str| -> IpAddr { s.parse().unwrap_or_else(|_| panic!("{s}")) };
        Expect {
            class,
            proto,
            src: Some(ip(src)),
            sport,
            dst: ip(dst),
            dport,
        }
    }

    /// The same ALG over UDP (message framing: one datagram, one message).
    pub fn over_udp(mut self) -> AlgKit<T> {
        self.control.proto = crate::proto::wire::ipproto::UDP;
        self.state = T::new(&self.control);
        self
    }

    /// Every announcement so far with its terms.
    pub fn announced(&self) -> &[(Expect, Terms)] {
        &self.announced
    }

    /// Every withdrawal and refresh so far, in order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// How often the ALG refused a message for `reason`.
    pub fn refused(&self, reason: &str) -> u64 {
        self.refused.get(reason).copied().unwrap_or(0)
    }

    /// Refusals of any reason.
    pub fn refusals(&self) -> u64 {
        self.refused.values().sum()
    }

    fn feed(&mut self, dir: Direction, bytes: &[u8]) -> Vec<Expect> {
        let mut out = Expects::new();
        let (control, state, refused) = (&self.control, &mut self.state, &mut self.refused);
        let mut message = |m: &[u8]| {
            if let Err(r) = state.on_message(control, dir, m, &mut out) {
                *refused
                    .entry(<T::Refusal as Reason>::name_of(r.index()))
                    .or_default() += 1;
            }
        };
        let udp = control.proto == crate::proto::wire::ipproto::UDP;
        let d = dir.index();
        match T::INFO.framing {
            Framing::Datagrams => message(bytes),
            Framing::Messages if udp => message(bytes),
            Framing::Messages => {
                self.messages[d].feed(self.seq[d], bytes, T::INFO.max_line, message);
            }
            Framing::Lines => {
                self.streams[d].feed(self.seq[d], bytes, T::INFO.max_line, message);
            }
            Framing::Length(f) => {
                let notes = self.frames[d].feed(self.seq[d], bytes, &f, T::INFO.max_line, message);
                if notes.not_a_message > 0 {
                    *self.refused.entry("not-a-message").or_default() +=
                        u64::from(notes.not_a_message);
                }
            }
        }
        self.seq[d] = self.seq[d].wrapping_add(bytes.len() as u32);
        self.changes.extend_from_slice(out.changes());
        self.announced.extend_from_slice(out.announced());
        out.iter().copied().collect()
    }
}
