//! The IRC DCC ALG: the worked example of docs/writing-an-alg.md (the Linux kernel's
//! `nf_conntrack_irc.c`). A client offers a direct connection to itself in a DCC request; the
//! entry expects the peer's connection, from anywhere, to the offered address and port.
//!
//! It is registered only in the crate's own tests (`alg::REGISTRY`): it exists to prove that an
//! ALG needs nothing but its folder, one registry line, its port-mapping row (`table::apps`)
//! and a fuzz target (`fuzz/fuzz_targets/irc.rs`).

pub mod parse;

use super::{Alg, AlgInfo, Control, Expect, ExpectClass, Expects, Framing, Reason};
use crate::proto::key::Direction;
use crate::proto::wire::ipproto;
use parse::IrcError;
use std::net::IpAddr;

/// Why the IRC ALG refused a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrcRefusal {
    /// An offer naming another address than its sender: a hole to a third party (the
    /// kernel's "forged DCC command").
    ThirdPartyAddress,
    Malformed(IrcError),
}

impl Reason for IrcRefusal {
    const COUNT: usize = 1 + IrcError::ALL.len();

    fn index(self) -> usize {
        match self {
            IrcRefusal::ThirdPartyAddress => 0,
            IrcRefusal::Malformed(e) => 1 + e as usize,
        }
    }

    fn name_of(index: usize) -> &'static str {
        match index {
            0 => "third-party-address",
            i => IrcError::ALL.get(i - 1).map_or("unknown", |e| e.name()),
        }
    }
}

pub struct Irc;

impl Alg for Irc {
    type Refusal = IrcRefusal;
    const INFO: AlgInfo = AlgInfo {
        keyword: "irc",
        help: "IRC protocol",
        control_app: "irc",
        framing: Framing::Lines,
        // nf_conntrack_irc: max_dcc_channels 8, dcc_timeout 300 s.
        classes: &[ExpectClass {
            name: "dcc",
            max_per_master: 8,
            timeout_ms: 300_000,
            data_app: "irc",
            follow: false,
        }],
        // RFC 2812 §2.3: 512 bytes with CR LF.
        max_line: 512,
    };

    fn new(_control: &Control) -> Self {
        Irc
    }

    fn on_message(
        &mut self,
        control: &Control,
        dir: Direction,
        msg: &[u8],
        out: &mut Expects,
    ) -> Result<(), IrcRefusal> {
        let Some(offer) = parse::parse_line(msg).map_err(IrcRefusal::Malformed)? else {
            return Ok(());
        };
        // Only the sender may offer itself.
        if IpAddr::V4(offer.addr) != control.sender(dir) {
            return Err(IrcRefusal::ThirdPartyAddress);
        }
        out.push(Expect {
            class: 0,
            proto: ipproto::TCP,
            src: None,
            sport: None,
            dst: offer.addr.into(),
            dport: offer.port,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alg::kit::AlgKit;

    #[test]
    fn dcc_send_expects_the_peer_at_the_offer() {
        let mut k: AlgKit<Irc> = AlgKit::new("198.18.0.1:40000", "198.19.0.2:6667");
        // Split over two segments on purpose.
        assert!(
            k.client(b"PRIVMSG bob :\x01DCC SEND f 3323068417 ")
                .is_empty()
        );
        let e = k.client(b"5000 1024\x01\r\n");
        let want = Expect {
            src: None,
            ..k.expect("198.19.0.2", None, "198.18.0.1", 5000)
        };
        assert_eq!(e, vec![want]);
        assert!(
            k.client(b"PRIVMSG bob :\x01DCC SEND f 3323068418 5000 1\x01\r\n")
                .is_empty()
        );
        assert_eq!(k.refused("third-party-address"), 1);
        assert!(
            k.client(b"PRIVMSG bob :\x01DCC SEND f 1 0\x01\r\n")
                .is_empty()
        );
        assert_eq!(k.refused("bad-address") + k.refused("port-zero"), 1);
    }
}
