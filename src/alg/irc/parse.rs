//! IRC DCC offers (the CTCP DCC protocol; the Linux kernel's `nf_conntrack_irc.c`): a client
//! offers a direct connection to itself inside a PRIVMSG, as
//! `PRIVMSG bob :\x01DCC SEND file.txt 3323068417 5000 1024\x01`: the address is the offerer's
//! IPv4 address as one decimal number, then the port it listens on.
//!
//! Pure: one line in, an offer, nothing, or a named error out. No allocation, no panics.

use std::net::Ipv4Addr;

/// A DCC offer: "connect to me at `addr:port`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DccOffer {
    pub addr: Ipv4Addr,
    pub port: u16,
}

/// Why a DCC offer cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IrcError {
    /// The offer ends before its address.
    #[error("a DCC offer without an address")]
    MissingAddress,
    /// The address is not a decimal number that fits 32 bits.
    #[error("a DCC address that is not a 32-bit decimal number")]
    BadAddress,
    /// The offer ends before its port.
    #[error("a DCC offer without a port")]
    MissingPort,
    /// The port is not a decimal number up to 65535.
    #[error("a DCC port that is not a number up to 65535")]
    BadPort,
    /// Port 0 is no port a peer can connect to.
    #[error("DCC port 0")]
    PortZero,
}

impl IrcError {
    /// Every variant, in declaration order (for counters).
    pub const ALL: [IrcError; 5] = [
        IrcError::MissingAddress,
        IrcError::BadAddress,
        IrcError::MissingPort,
        IrcError::BadPort,
        IrcError::PortZero,
    ];

    /// The counter name (kebab-case).
    pub const fn name(self) -> &'static str {
        match self {
            IrcError::MissingAddress => "missing-address",
            IrcError::BadAddress => "bad-address",
            IrcError::MissingPort => "missing-port",
            IrcError::BadPort => "bad-port",
            IrcError::PortZero => "port-zero",
        }
    }
}

/// The DCC commands that offer a connection (the kernel's `dccprotos`).
const COMMANDS: [&[u8]; 5] = [b"SEND ", b"CHAT ", b"MOVE ", b"SCHAT ", b"SSEND "];

/// A decimal number of at most `max`, as the whole of `word`.
fn decimal(word: &[u8], max: u64) -> Option<u64> {
    if word.is_empty() || word.len() > 10 || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = word.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    (n <= max).then_some(n)
}

/// The DCC offer in one IRC line, if it carries one. Lines without `\x01DCC `, and DCC
/// commands that offer nothing (ACCEPT, RESUME), are `Ok(None)`.
pub fn parse_line(line: &[u8]) -> Result<Option<DccOffer>, IrcError> {
    const DCC: &[u8] = b"\x01DCC ";
    let Some(at) = line.windows(DCC.len()).position(|w| w == DCC) else {
        return Ok(None);
    };
    let rest = &line[at + DCC.len()..];
    let Some(cmd) = COMMANDS.iter().find(|c| rest.starts_with(c)) else {
        return Ok(None);
    };
    // The argument (a file name, or `chat`) is one word; then the address and the port.
    let rest = &rest[cmd.len()..];
    let mut words = rest
        .split(|&b| b == b' ' || b == 0x01)
        .filter(|w| !w.is_empty())
        .skip(1);
    let addr = words.next().ok_or(IrcError::MissingAddress)?;
    let addr = decimal(addr, u64::from(u32::MAX)).ok_or(IrcError::BadAddress)?;
    let port = words.next().ok_or(IrcError::MissingPort)?;
    let port = decimal(port, 65_535).ok_or(IrcError::BadPort)?;
    if port == 0 {
        return Err(IrcError::PortZero);
    }
    Ok(Some(DccOffer {
        addr: Ipv4Addr::from(addr as u32),
        port: port as u16,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_parse() {
        let o = parse_line(b"PRIVMSG bob :\x01DCC SEND report.pdf 3323068417 5000 1024\x01");
        assert_eq!(
            o,
            Ok(Some(DccOffer {
                addr: Ipv4Addr::new(198, 18, 0, 1),
                port: 5000
            }))
        );
        let o = parse_line(b"PRIVMSG bob :\x01DCC CHAT chat 3323068417 40001\x01");
        assert_eq!(o.map(|o| o.map(|o| o.port)), Ok(Some(40001)));
        assert_eq!(parse_line(b"PRIVMSG bob :hello"), Ok(None));
        assert_eq!(
            parse_line(b"PRIVMSG bob :\x01DCC ACCEPT f 5000 0\x01"),
            Ok(None)
        );
    }

    #[test]
    fn every_error_has_a_line() {
        let cases: [(&[u8], IrcError); 5] = [
            (b"\x01DCC SEND f\x01", IrcError::MissingAddress),
            (b"\x01DCC SEND f 99999999999 5000\x01", IrcError::BadAddress),
            (b"\x01DCC SEND f 3323068417\x01", IrcError::MissingPort),
            (b"\x01DCC SEND f 3323068417 70000\x01", IrcError::BadPort),
            (b"\x01DCC SEND f 3323068417 0\x01", IrcError::PortZero),
        ];
        for (line, e) in cases {
            assert_eq!(
                parse_line(line),
                Err(e),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse_line(&bytes);
        }
    }
}
