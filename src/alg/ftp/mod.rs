//! The FTP ALG (RFC 959 §4.1.2 PORT and PASV, RFC 2428 EPRT and EPSV; nf_conntrack_ftp.c).
//!
//! Active mode: the client's PORT/EPRT names where the server shall connect; the entry expects
//! the server's data connection to that address and port, from any source port (port 20 is a
//! habit, not a rule). Passive mode: the server's 227/229 reply names where the client shall
//! connect; the entry expects the client's connection there.
//!
//! FTP bounce (RFC 2577 §3): a PORT/EPRT naming another host than the client, or a 227 naming
//! another host than the server, would open a hole to a third party. It is refused and
//! counted, as nf_conntrack_ftp does when `loose` is off.

pub mod parse;

use super::{Alg, AlgInfo, Control, Expect, ExpectClass, Expects, Framing, Reason};
use crate::proto::key::Direction;
use crate::proto::wire::ipproto;
use parse::{Announcement, FtpError, parse_client_line, parse_server_line};

/// Why the FTP ALG refused a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtpRefusal {
    /// A PORT/EPRT naming another host than the client, or a 227 naming another host than the
    /// server (RFC 2577 §3): a hole to a third party.
    Bounce,
    /// An announcement of the other address family than its control session.
    WrongFamily,
    /// A PORT/EPRT command or 227/229 reply that does not parse.
    Malformed(FtpError),
}

impl Reason for FtpRefusal {
    const COUNT: usize = 2 + FtpError::ALL.len();

    fn index(self) -> usize {
        match self {
            FtpRefusal::Bounce => 0,
            FtpRefusal::WrongFamily => 1,
            FtpRefusal::Malformed(e) => 2 + e as usize,
        }
    }

    fn name_of(index: usize) -> &'static str {
        match index {
            0 => "bounce",
            1 => "wrong-family",
            i => FtpError::ALL.get(i - 2).map_or("unknown", |e| e.name()),
        }
    }
}

/// The FTP ALG's one kind of expectation: the data connection.
const DATA: u8 = 0;

/// One FTP control session's ALG state. FTP needs none beyond the lines themselves: each
/// announcement stands alone.
#[derive(Debug, Default)]
pub struct Ftp;

impl Alg for Ftp {
    type Refusal = FtpRefusal;
    const INFO: AlgInfo = AlgInfo {
        keyword: "ftp",
        help: "FTP protocol",
        control_app: "ftp",
        framing: Framing::Lines,
        // nf_conntrack_ftp: one expectation per control connection, five minutes.
        classes: &[ExpectClass {
            name: "data",
            max_per_master: 1,
            timeout_ms: 300_000,
            data_app: "ftp-data",
            follow: false,
        }],
        // Command and reply lines are short; 1 KiB leaves room for long 227 texts.
        max_line: 1024,
    };

    fn new(_control: &Control) -> Self {
        Ftp
    }

    fn on_message(
        &mut self,
        control: &Control,
        dir: Direction,
        msg: &[u8],
        out: &mut Expects,
    ) -> Result<(), FtpRefusal> {
        let parsed = match dir {
            Direction::Orig => parse_client_line(msg),
            Direction::Reply => parse_server_line(msg),
        };
        let Some(ch) = parsed.map_err(FtpRefusal::Malformed)? else {
            return Ok(());
        };
        let sender = control.sender(dir);
        // EPSV names no address: the server's own (RFC 2428 §3).
        let addr = ch.addr.unwrap_or(sender);
        if addr.is_ipv4() != sender.is_ipv4() {
            return Err(FtpRefusal::WrongFamily);
        }
        if addr != sender {
            return Err(FtpRefusal::Bounce);
        }
        // The data connection comes from the other side of the control session.
        let from = match ch.kind {
            Announcement::Port | Announcement::Eprt => control.server,
            Announcement::Pasv | Announcement::Epsv => control.client,
        };
        out.push(Expect {
            class: DATA,
            proto: ipproto::TCP,
            src: Some(from),
            sport: None,
            dst: addr,
            dport: ch.port,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alg::kit::AlgKit;

    fn kit() -> AlgKit<Ftp> {
        AlgKit::new("198.18.0.1:40000", "198.19.0.2:21")
    }

    #[test]
    fn port_expects_the_server_at_the_client() {
        let mut k = kit();
        let e = k.client(b"PORT 198,18,0,1,156,64\r\n");
        assert_eq!(e, vec![k.expect("198.19.0.2", None, "198.18.0.1", 40000)]);
    }

    #[test]
    fn pasv_reply_split_in_two_segments_expects_the_client_at_the_server() {
        let mut k = kit();
        assert!(k.server(b"227 Entering Passive Mode (198,19,").is_empty());
        let e = k.server(b"0,2,117,48).\r\n");
        assert_eq!(e, vec![k.expect("198.18.0.1", None, "198.19.0.2", 30000)]);
    }

    #[test]
    fn epsv_means_the_server_address() {
        let mut k = kit();
        let e = k.server(b"229 Entering Extended Passive Mode (|||6446|)\r\n");
        assert_eq!(e, vec![k.expect("198.18.0.1", None, "198.19.0.2", 6446)]);
    }

    #[test]
    fn eprt_over_ipv6() {
        let mut k: AlgKit<Ftp> = AlgKit::new("[2001:2::1]:40000", "[2001:2:1::2]:21");
        let e = k.client(b"EPRT |2|2001:2::1|50000|\r\n");
        assert_eq!(e, vec![k.expect("2001:2:1::2", None, "2001:2::1", 50000)]);
    }

    #[test]
    fn bounce_and_wrong_family_are_refused_and_counted() {
        let mut k = kit();
        assert!(k.client(b"PORT 203,0,113,9,0,25\r\n").is_empty());
        assert!(
            k.server(b"227 Entering Passive Mode (10,0,0,1,4,1)\r\n")
                .is_empty()
        );
        assert!(k.client(b"EPRT |2|2001:2::1|50000|\r\n").is_empty());
        assert_eq!(k.refused("bounce"), 2);
        assert_eq!(k.refused("wrong-family"), 1);
    }
}
