//! The TFTP ALG (RFC 1350 §4; nf_conntrack_tftp.c): a read or write request to the server's
//! port 69 is answered from a new port of the server (its transfer identifier), so the entry
//! expects a datagram from the server, any source port, to the client's address and port.

pub mod parse;

use super::{Alg, AlgInfo, Control, Expect, ExpectClass, Expects, Framing, Reason};
use crate::proto::key::Direction;
use crate::proto::wire::ipproto;
use parse::TftpError;

/// Why the TFTP ALG refused a datagram: it is not valid TFTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TftpRefusal(pub TftpError);

impl Reason for TftpRefusal {
    const COUNT: usize = TftpError::ALL.len();

    fn index(self) -> usize {
        self.0 as usize
    }

    fn name_of(index: usize) -> &'static str {
        TftpError::ALL.get(index).map_or("unknown", |e| e.name())
    }
}

/// One TFTP control session's ALG state: none beyond the request itself.
#[derive(Debug, Default)]
pub struct Tftp;

impl Alg for Tftp {
    type Refusal = TftpRefusal;
    const INFO: AlgInfo = AlgInfo {
        keyword: "tftp",
        help: "TFTP protocol",
        control_app: "tftp",
        framing: Framing::Datagrams,
        // nf_conntrack_tftp: one expectation per request session, five minutes.
        classes: &[ExpectClass {
            name: "transfer",
            max_per_master: 1,
            timeout_ms: 300_000,
            data_app: "tftp",
            follow: false,
        }],
        max_line: 0,
    };

    fn new(_control: &Control) -> Self {
        Tftp
    }

    fn on_message(
        &mut self,
        control: &Control,
        dir: Direction,
        msg: &[u8],
        out: &mut Expects,
    ) -> Result<(), TftpRefusal> {
        // Only the client's requests announce anything; the server answers from elsewhere.
        if dir != Direction::Orig {
            return Ok(());
        }
        let expect = Expect {
            class: 0,
            proto: ipproto::UDP,
            src: Some(control.server),
            sport: None,
            dst: control.client,
            dport: control.client_port,
        };
        match parse::parse_request(msg) {
            Ok(Some(_)) => {
                out.push(expect);
                Ok(())
            }
            Ok(None) => Ok(()),
            // A malformed read or write request still gets an answer from the server: an
            // ERROR from its new port (RFC 1350 §7), which needs the entry to pass. So the
            // entry is made, as nf_conntrack_tftp does (it reads only the opcode), and the
            // malformation is counted.
            Err(e) if matches!(msg.get(..2), Some([0, 1] | [0, 2])) => {
                out.push(expect);
                Err(TftpRefusal(e))
            }
            Err(e) => Err(TftpRefusal(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alg::kit::AlgKit;

    #[test]
    fn a_read_request_expects_the_server_from_a_new_port() {
        let mut k: AlgKit<Tftp> = AlgKit::new("198.18.0.1:50618", "198.19.0.2:69");
        let e = k.client(b"\x00\x01boot.img\x00octet\x00");
        assert_eq!(e, vec![k.expect("198.19.0.2", None, "198.18.0.1", 50618)]);
        assert!(k.client(b"\x00\x04\x00\x01").is_empty());
        assert!(k.client(b"\x00\x09junk").is_empty());
        assert_eq!(k.refusals(), 1);
        // An empty file name is malformed but answered (with an ERROR from a new port).
        assert_eq!(k.client(b"\x00\x01\x00octet\x00").len(), 1);
        assert_eq!(k.refusals(), 2);
    }
}
