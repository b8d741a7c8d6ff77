//! The FTP ALG's protocol parsers: which lines of a control connection announce a data
//! channel, and where to.
//!
//! - RFC 959 §4.1.2: `PORT h1,h2,h3,h4,p1,p2` (client) and the `227` reply to `PASV`
//!   (server), six decimal numbers: an IPv4 address and a port, high byte first.
//! - RFC 2428 §2: `EPRT <d><af><d><addr><d><port><d>` (client), IPv4 (`af` 1) or IPv6 (2).
//! - RFC 2428 §3: the `229` reply to `EPSV`, `(<d><d><d><port><d>)`: a port on the server's
//!   own address.
//!
//! Leniency follows what real programs send and what Linux `nf_conntrack_ftp.c` accepts:
//! commands are case-insensitive (RFC 959 §5.3), the `227` reply's numbers are searched for
//! anywhere in its text (RFC 959 does not fix the format; servers differ), the EPRT/EPSV
//! delimiter may be any printable character but a digit. Where the kernel is looser than
//! needed (numbers of any length), a firewall is stricter: a line we refuse opens no
//! pinhole, and the counters say why.
//!
//! Addresses are returned as announced: whether a third party is named (FTP bounce,
//! RFC 2577 §3) is the caller's decision, it knows the control session's endpoints.
//!
//! Pure and zero-copy: one line in, at most one `DataChannel` out; no allocation, no panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A data channel announced on an FTP control connection (RFC 959 §4.1.2 PORT/PASV,
/// RFC 2428 EPRT/EPSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataChannel {
    pub kind: Announcement,
    /// None for EPSV (229): the server's own address is meant.
    pub addr: Option<IpAddr>,
    pub port: u16,
}

/// Which line announced the data channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announcement {
    /// The client's `PORT` command: the client listens.
    Port,
    /// The client's `EPRT` command: the client listens.
    Eprt,
    /// The server's `227` reply to `PASV`: the server listens.
    Pasv,
    /// The server's `229` reply to `EPSV`: the server listens.
    Epsv,
}

/// Why a line that is a PORT/EPRT command or a 227/229 reply announces nothing usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FtpError {
    /// `PORT` or `EPRT` without an argument.
    #[error("PORT/EPRT without an argument")]
    MissingArgument,
    /// A number field is empty or holds something else than decimal digits.
    #[error("a number field is empty or not decimal")]
    BadNumber,
    /// A number has more digits than its range needs (`0001` as a byte, `065535` as a port):
    /// refused rather than guessed at (the kernel accumulates any number of digits).
    #[error("a number has too many digits")]
    NumberTooLong,
    /// An address byte or port byte above 255.
    #[error("an address or port byte above 255")]
    OctetOutOfRange,
    /// An EPRT/EPSV port above 65535.
    #[error("a port above 65535")]
    PortOutOfRange,
    /// Port 0 is no port a peer can connect to.
    #[error("port 0")]
    PortZero,
    /// Fewer than six numbers in PORT/227, or fewer than four in an EPRT IPv4 address.
    #[error("too few numbers")]
    TooFewNumbers,
    /// More than six numbers in PORT/227, or more than four in an EPRT IPv4 address.
    #[error("too many numbers")]
    TooManyNumbers,
    /// A 227 reply without any comma-separated numbers in its text.
    #[error("a 227 reply without an address")]
    MissingAddress,
    /// A 229 reply without the `(` that opens its port (RFC 2428 §3).
    #[error("a 229 reply without its parenthesis")]
    MissingParenthesis,
    /// An EPRT/EPSV delimiter outside ASCII 33-126, or a digit (RFC 2428 §2).
    #[error("a bad EPRT/EPSV delimiter")]
    BadDelimiter,
    /// An EPRT/EPSV field not closed by the delimiter (a truncated line, or a 229 reply whose
    /// protocol and address fields are not empty).
    #[error("an EPRT/EPSV delimiter is missing")]
    MissingDelimiter,
    /// An EPRT network protocol other than 1 (IPv4) or 2 (IPv6) (RFC 2428 §2).
    #[error("an EPRT address family other than 1 or 2")]
    BadAddressFamily,
    /// An EPRT IPv6 address that does not parse (RFC 4291 §2.2 text forms).
    #[error("an EPRT address that does not parse")]
    BadAddress,
    /// Something after the closing delimiter of an EPRT command.
    #[error("text after the EPRT argument")]
    TrailingGarbage,
}

impl FtpError {
    /// Every variant, in declaration order (for counters).
    pub const ALL: [FtpError; 15] = [
        FtpError::MissingArgument,
        FtpError::BadNumber,
        FtpError::NumberTooLong,
        FtpError::OctetOutOfRange,
        FtpError::PortOutOfRange,
        FtpError::PortZero,
        FtpError::TooFewNumbers,
        FtpError::TooManyNumbers,
        FtpError::MissingAddress,
        FtpError::MissingParenthesis,
        FtpError::BadDelimiter,
        FtpError::MissingDelimiter,
        FtpError::BadAddressFamily,
        FtpError::BadAddress,
        FtpError::TrailingGarbage,
    ];

    /// The counter name (kebab-case).
    pub const fn name(self) -> &'static str {
        match self {
            FtpError::MissingArgument => "missing-argument",
            FtpError::BadNumber => "bad-number",
            FtpError::NumberTooLong => "number-too-long",
            FtpError::OctetOutOfRange => "octet-out-of-range",
            FtpError::PortOutOfRange => "port-out-of-range",
            FtpError::PortZero => "port-zero",
            FtpError::TooFewNumbers => "too-few-numbers",
            FtpError::TooManyNumbers => "too-many-numbers",
            FtpError::MissingAddress => "missing-address",
            FtpError::MissingParenthesis => "missing-parenthesis",
            FtpError::BadDelimiter => "bad-delimiter",
            FtpError::MissingDelimiter => "missing-delimiter",
            FtpError::BadAddressFamily => "bad-address-family",
            FtpError::BadAddress => "bad-address",
            FtpError::TrailingGarbage => "trailing-garbage",
        }
    }
}

/// One client->server line (without its CR LF; the caller strips them). Ok(None) = not a
/// PORT/EPRT command.
pub fn parse_client_line(line: &[u8]) -> Result<Option<DataChannel>, FtpError> {
    // Surrounding blanks are tolerated: some clients pad, and a command cannot begin or end
    // with one.
    let line = line.trim_ascii();
    if let Some(arg) = argument(line, b"PORT") {
        return port(arg?).map(Some);
    }
    if let Some(arg) = argument(line, b"EPRT") {
        return eprt(arg?).map(Some);
    }
    Ok(None)
}

/// One server->client line (without CR LF). Ok(None) = not a 227/229 reply (e.g.
/// multi-line replies' other lines, other codes).
pub fn parse_server_line(line: &[u8]) -> Result<Option<DataChannel>, FtpError> {
    // Trailing blanks only: RFC 959 §4.2 has servers pad the front of a multi-line reply's
    // inner lines that begin with digits precisely so they are not read as a reply code.
    let line = line.trim_ascii_end();
    match reply(line) {
        Some((b"227", text)) => pasv(text).map(Some),
        Some((b"229", text)) => epsv(text).map(Some),
        _ => Ok(None),
    }
}

/// The argument of `command` if `line` is that command (RFC 959 §5.3: case-insensitive,
/// separated by SP; several spaces tolerated). `Some(Err)` for the bare command.
fn argument<'a>(line: &'a [u8], command: &[u8; 4]) -> Option<Result<&'a [u8], FtpError>> {
    let (name, rest) = line.split_first_chunk::<4>()?;
    if !name.eq_ignore_ascii_case(command) {
        return None;
    }
    match rest.split_first() {
        None => Some(Err(FtpError::MissingArgument)),
        // `line` is trimmed, so what follows the spaces is not empty.
        Some((b' ', arg)) => Some(Ok(arg.trim_ascii_start())),
        // `PORTS`, `EPRTX`: another command.
        Some(_) => None,
    }
}

/// The code and text of a reply's last (or only) line: three digits then SP or the end
/// (RFC 959 §4.2). `NNN-` opens a multi-line reply: not the line that counts.
fn reply(line: &[u8]) -> Option<(&[u8; 3], &[u8])> {
    let (code, text) = line.split_first_chunk::<3>()?;
    if !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    match text.split_first() {
        None => Some((code, text)),
        Some((b' ', text)) => Some((code, text)),
        Some(_) => None,
    }
}

/// `PORT h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2): the whole argument is the six numbers.
fn port(arg: &[u8]) -> Result<DataChannel, FtpError> {
    let (addr, port) = host_port(arg)?;
    Ok(DataChannel {
        kind: Announcement::Port,
        addr: Some(IpAddr::V4(addr)),
        port,
    })
}

/// A 227 reply. RFC 959 leaves its text free and servers differ: `(h1,...,p2).` (vsftpd,
/// ProFTPD, FileZilla), no parentheses, `=h1,...,p2`. As RFC 1123 §4.1.2.6 says, the client
/// "must scan the reply for the first digit of the host and port numbers". We scan a little
/// further: the first run of digits and commas (from its first digit) that reads as six
/// numbers wins, so a stray `1,000` in the text does no harm. If none does, the first run's
/// error.
fn pasv(text: &[u8]) -> Result<DataChannel, FtpError> {
    let mut first_error = None;
    let runs = text
        .split(|&b| !(b.is_ascii_digit() || b == b','))
        .filter_map(|run| {
            let first_digit = run.iter().position(u8::is_ascii_digit)?;
            let run = &run[first_digit..];
            // A lone number is text, not an attempt at an address.
            run.contains(&b',').then_some(run)
        });
    for run in runs {
        match host_port(run) {
            Ok((addr, port)) => {
                return Ok(DataChannel {
                    kind: Announcement::Pasv,
                    addr: Some(IpAddr::V4(addr)),
                    port,
                });
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(FtpError::MissingAddress))
}

/// `EPRT <d><af><d><addr><d><port><d>` (RFC 2428 §2). The delimiter must not occur in the
/// address (the RFC has the sender pick one that does not), so the fields are what lies
/// between delimiters.
fn eprt(arg: &[u8]) -> Result<DataChannel, FtpError> {
    let (&d, rest) = arg.split_first().ok_or(FtpError::MissingArgument)?;
    let d = delimiter(d)?;
    let mut fields = rest.split(|&b| b == d);
    let mut field = || fields.next().ok_or(FtpError::MissingDelimiter);
    let (af, addr, port, end) = (field()?, field()?, field()?, field()?);
    // `end` is what follows the last delimiter; another field means another delimiter.
    if !end.is_empty() || fields.next().is_some() {
        return Err(FtpError::TrailingGarbage);
    }
    let addr = match af {
        b"1" => IpAddr::V4(Ipv4Addr::from(numbers::<4>(addr, b'.')?)),
        b"2" => IpAddr::V6(ipv6(addr)?),
        _ => return Err(FtpError::BadAddressFamily),
    };
    Ok(DataChannel {
        kind: Announcement::Eprt,
        addr: Some(addr),
        port: tcp_port(port)?,
    })
}

/// A 229 reply: `text (<d><d><d><port><d>)` (RFC 2428 §3). What follows the closing
/// delimiter (normally `)`) is not checked, like the kernel: a reply's text is free.
fn epsv(text: &[u8]) -> Result<DataChannel, FtpError> {
    let open = text
        .iter()
        .position(|&b| b == b'(')
        .ok_or(FtpError::MissingParenthesis)?;
    let inner = text.get(open + 1..).unwrap_or_default();
    let (&d, rest) = inner.split_first().ok_or(FtpError::MissingDelimiter)?;
    let d = delimiter(d)?;
    let mut fields = rest.split(|&b| b == d);
    let mut field = || fields.next().ok_or(FtpError::MissingDelimiter);
    let (af, addr, port) = (field()?, field()?, field()?);
    // The closing delimiter: without it the port may be truncated.
    field()?;
    // The protocol and address fields are empty by definition in a 229 reply.
    if !af.is_empty() || !addr.is_empty() {
        return Err(FtpError::MissingDelimiter);
    }
    Ok(DataChannel {
        kind: Announcement::Epsv,
        addr: None,
        port: tcp_port(port)?,
    })
}

/// RFC 2428 §2: "The delimiter character MUST be one of the ASCII characters in range 33-126
/// inclusive." Digits are refused too (as the kernel does): they would be ambiguous with the
/// protocol number and the port.
fn delimiter(d: u8) -> Result<u8, FtpError> {
    if (33..=126).contains(&d) && !d.is_ascii_digit() {
        Ok(d)
    } else {
        Err(FtpError::BadDelimiter)
    }
}

/// Six comma-separated numbers: an IPv4 address and a port, high byte first (RFC 959
/// §4.1.2).
fn host_port(text: &[u8]) -> Result<(Ipv4Addr, u16), FtpError> {
    let [h1, h2, h3, h4, p1, p2] = numbers::<6>(text, b',')?;
    let port = u16::from_be_bytes([p1, p2]);
    if port == 0 {
        return Err(FtpError::PortZero);
    }
    Ok((Ipv4Addr::new(h1, h2, h3, h4), port))
}

/// Exactly `N` bytes in decimal, separated by `sep`.
fn numbers<const N: usize>(text: &[u8], sep: u8) -> Result<[u8; N], FtpError> {
    let mut out = [0; N];
    let mut fields = text.split(|&b| b == sep);
    for slot in &mut out {
        let field = fields.next().ok_or(FtpError::TooFewNumbers)?;
        *slot = u8::try_from(decimal(field, 3)?).map_err(|_| FtpError::OctetOutOfRange)?;
    }
    match fields.next() {
        None => Ok(out),
        Some(_) => Err(FtpError::TooManyNumbers),
    }
}

/// The port of EPRT/EPSV: a decimal TCP port, 1-65535.
fn tcp_port(field: &[u8]) -> Result<u16, FtpError> {
    match u16::try_from(decimal(field, 5)?) {
        Ok(0) => Err(FtpError::PortZero),
        Ok(port) => Ok(port),
        Err(_) => Err(FtpError::PortOutOfRange),
    }
}

/// A non-empty run of at most `max_digits` decimal digits (leading zeros count, so `0001` is
/// refused as a byte: no sender pads that far). `max_digits` <= 9 keeps it within u32.
fn decimal(field: &[u8], max_digits: usize) -> Result<u32, FtpError> {
    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
        return Err(FtpError::BadNumber);
    }
    if field.len() > max_digits {
        return Err(FtpError::NumberTooLong);
    }
    Ok(field
        .iter()
        .fold(0, |n, &digit| n * 10 + u32::from(digit - b'0')))
}

/// An IPv6 address in any RFC 4291 §2.2 text form (IPv4-mapped included). Zone indices
/// (`%eth0`) mean nothing to a peer on another host and are refused.
fn ipv6(field: &[u8]) -> Result<Ipv6Addr, FtpError> {
    std::str::from_utf8(field)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(FtpError::BadAddress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4(a: [u8; 4]) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::from(a)))
    }

    fn v6(s: &str) -> Option<IpAddr> {
        Some(IpAddr::V6(s.parse().unwrap()))
    }

    fn client(line: &str) -> Result<Option<DataChannel>, FtpError> {
        parse_client_line(line.as_bytes())
    }

    fn server(line: &str) -> Result<Option<DataChannel>, FtpError> {
        parse_server_line(line.as_bytes())
    }

    fn dc(kind: Announcement, addr: Option<IpAddr>, port: u16) -> Option<DataChannel> {
        Some(DataChannel { kind, addr, port })
    }

    // ---- client commands: real clients ----

    #[test]
    fn lftp_and_curl_port() {
        // 156 * 256 + 64 = 40000
        assert_eq!(
            client("PORT 198,18,0,1,156,64"),
            Ok(dc(Announcement::Port, v4([198, 18, 0, 1]), 40000))
        );
    }

    #[test]
    fn curl_eprt_ipv4_and_ipv6() {
        assert_eq!(
            client("EPRT |1|198.18.0.1|40000|"),
            Ok(dc(Announcement::Eprt, v4([198, 18, 0, 1]), 40000))
        );
        assert_eq!(
            client("EPRT |2|2001:2::1|40000|"),
            Ok(dc(Announcement::Eprt, v6("2001:2::1"), 40000))
        );
    }

    #[test]
    fn commands_are_case_insensitive() {
        let want = Ok(dc(Announcement::Port, v4([10, 0, 0, 1]), 258));
        for line in [
            "port 10,0,0,1,1,2",
            "Port 10,0,0,1,1,2",
            "pORt 10,0,0,1,1,2",
        ] {
            assert_eq!(client(line), want, "{line}");
        }
        assert_eq!(
            client("Eprt |1|10.0.0.1|258|"),
            Ok(dc(Announcement::Eprt, v4([10, 0, 0, 1]), 258))
        );
        assert_eq!(
            client("eprt |2|::1|258|"),
            Ok(dc(Announcement::Eprt, v6("::1"), 258))
        );
    }

    #[test]
    fn blanks_around_and_after_the_command_are_tolerated() {
        let want = Ok(dc(Announcement::Port, v4([10, 0, 0, 1]), 258));
        assert_eq!(client("  PORT   10,0,0,1,1,2 \t"), want);
        assert_eq!(
            client(" EPRT  |1|10.0.0.1|258|  "),
            Ok(dc(Announcement::Eprt, v4([10, 0, 0, 1]), 258))
        );
    }

    #[test]
    fn eprt_takes_any_printable_non_digit_delimiter() {
        for d in ['!', '#', '$', '/', ':', '~', 'x'] {
            let line = format!("EPRT {d}1{d}198.18.0.1{d}40000{d}");
            assert_eq!(
                client(&line),
                Ok(dc(Announcement::Eprt, v4([198, 18, 0, 1]), 40000)),
                "{line}"
            );
        }
        assert_eq!(
            client("EPRT !2!2001:db8::5!21000!"),
            Ok(dc(Announcement::Eprt, v6("2001:db8::5"), 21000))
        );
    }

    #[test]
    fn eprt_ipv6_text_forms() {
        assert_eq!(
            client("EPRT |2|::ffff:192.0.2.7|1025|"),
            Ok(dc(Announcement::Eprt, v6("::ffff:192.0.2.7"), 1025))
        );
        assert_eq!(
            client("EPRT |2|FE80:0:0:0:0:0:0:1|65535|"),
            Ok(dc(Announcement::Eprt, v6("fe80::1"), 65535))
        );
    }

    #[test]
    fn addresses_are_returned_as_announced() {
        // A third party (FTP bounce) is the caller's business, not the parser's.
        assert_eq!(
            client("PORT 0,0,0,0,0,21"),
            Ok(dc(Announcement::Port, v4([0, 0, 0, 0]), 21))
        );
        assert_eq!(
            client("PORT 255,255,255,255,255,255"),
            Ok(dc(Announcement::Port, v4([255; 4]), 65535))
        );
        assert_eq!(
            client("PORT 001,02,3,4,0,1"),
            Ok(dc(Announcement::Port, v4([1, 2, 3, 4]), 1))
        );
    }

    #[test]
    fn other_commands_are_not_announcements() {
        for line in [
            "",
            "   ",
            "USER anonymous",
            "PASV",
            "EPSV",
            "EPSV ALL",
            "EPSV 2",
            "RETR PORT 1,2,3,4,5,6",
            "PORTS 1,2,3,4,5,6",
            "EPRTX |1|1.2.3.4|5|",
            "PORT\t1,2,3,4,5,6",
            "POR",
            "227 Entering Passive Mode (1,2,3,4,5,6)",
        ] {
            assert_eq!(client(line), Ok(None), "{line:?}");
        }
    }

    // ---- client commands: malformed ----

    #[test]
    fn malformed_port() {
        use FtpError::*;
        for (line, err) in [
            ("PORT", MissingArgument),
            ("port    ", MissingArgument),
            ("PORT 1,2,3,4,5", TooFewNumbers),
            ("PORT 1,2,3", TooFewNumbers),
            ("PORT 1,2,3,", BadNumber),
            ("PORT 1,2,3,4,5,6,7", TooManyNumbers),
            ("PORT 1,2,3,4,5,6,", TooManyNumbers),
            ("PORT 1,2,3,300,5,6", OctetOutOfRange),
            ("PORT 1,2,3,4,256,6", OctetOutOfRange),
            ("PORT 1,2,3,4,5,999", OctetOutOfRange),
            ("PORT 0001,2,3,4,5,6", NumberTooLong),
            ("PORT 1,2,3,4,5,4294967302", NumberTooLong),
            ("PORT 1,2,3,4,0,0", PortZero),
            ("PORT 1,,3,4,5,6", BadNumber),
            ("PORT 1, 2,3,4,5,6", BadNumber),
            ("PORT 1.2.3.4.5.6", BadNumber),
            ("PORT (1,2,3,4,5,6)", BadNumber),
            ("PORT 1,2,3,4,5,6 x", BadNumber),
            ("PORT -1,2,3,4,5,6", BadNumber),
            ("PORT +1,2,3,4,5,6", BadNumber),
        ] {
            assert_eq!(client(line), Err(err), "{line:?}");
        }
    }

    #[test]
    fn malformed_eprt() {
        use FtpError::*;
        for (line, err) in [
            ("EPRT", MissingArgument),
            ("EPRT |1|198.18.0.1|40000", MissingDelimiter),
            ("EPRT |1|198.18.0.1|", MissingDelimiter),
            ("EPRT |1|198.18.0.1", MissingDelimiter),
            ("EPRT |1|", MissingDelimiter),
            ("EPRT |", MissingDelimiter),
            ("EPRT 1|198.18.0.1|40000|", BadDelimiter),
            ("EPRT \x7f1\x7f198.18.0.1\x7f40000\x7f", BadDelimiter),
            (
                "EPRT \u{e9}1\u{e9}198.18.0.1\u{e9}40000\u{e9}",
                BadDelimiter,
            ),
            ("EPRT |3|198.18.0.1|40000|", BadAddressFamily),
            ("EPRT ||198.18.0.1|40000|", BadAddressFamily),
            ("EPRT |12|198.18.0.1|40000|", BadAddressFamily),
            ("EPRT |2|198.18.0.1|40000|", BadAddress),
            ("EPRT |2|2001:db8::1::2|40000|", BadAddress),
            ("EPRT |2|2001:db8::g|40000|", BadAddress),
            ("EPRT |2|fe80::1%eth0|40000|", BadAddress),
            ("EPRT |2||40000|", BadAddress),
            ("EPRT |2|\u{e9}::1|40000|", BadAddress),
            ("EPRT |1|::1|40000|", BadNumber),
            ("EPRT |1|198.18.0|40000|", TooFewNumbers),
            ("EPRT |1|198.18.0.1.5|40000|", TooManyNumbers),
            ("EPRT |1|198.18.0.256|40000|", OctetOutOfRange),
            ("EPRT |1|198.18.0.1|65536|", PortOutOfRange),
            ("EPRT |1|198.18.0.1|99999|", PortOutOfRange),
            ("EPRT |1|198.18.0.1|100000|", NumberTooLong),
            ("EPRT |1|198.18.0.1|0|", PortZero),
            ("EPRT |1|198.18.0.1||", BadNumber),
            ("EPRT |1|198.18.0.1|4o000|", BadNumber),
            ("EPRT |1|198.18.0.1|40000|x", TrailingGarbage),
            ("EPRT |1|198.18.0.1|40000||", TrailingGarbage),
            // `:` as the delimiter of an IPv6 address: more fields than there should be.
            ("EPRT :2:2001:db8::1:40000:", TrailingGarbage),
        ] {
            assert_eq!(client(line), Err(err), "{line:?}");
        }
    }

    // ---- server replies: real servers ----

    #[test]
    fn vsftpd() {
        assert_eq!(
            server("227 Entering Passive Mode (127,0,0,1,39,26)."),
            Ok(dc(Announcement::Pasv, v4([127, 0, 0, 1]), 39 * 256 + 26))
        );
        assert_eq!(
            server("229 Entering Extended Passive Mode (|||31337|)"),
            Ok(dc(Announcement::Epsv, None, 31337))
        );
    }

    #[test]
    fn proftpd() {
        assert_eq!(
            server("227 Entering Passive Mode (192,168,1,2,19,137)."),
            Ok(dc(Announcement::Pasv, v4([192, 168, 1, 2]), 19 * 256 + 137))
        );
        assert_eq!(
            server("229 Entering Extended Passive Mode (|||6446|)"),
            Ok(dc(Announcement::Epsv, None, 6446))
        );
    }

    #[test]
    fn pasv_formats_vary() {
        // RFC 1123 §4.1.2.6: "an FTP client cannot assume that the parentheses ... will be
        // present"; variants seen in the wild.
        let want = Ok(dc(Announcement::Pasv, v4([192, 168, 1, 2]), 19 * 256 + 137));
        for line in [
            "227 Entering Passive Mode 192,168,1,2,19,137",
            "227 =192,168,1,2,19,137",
            "227 Entering Passive Mode (192,168,1,2,19,137)",
            "227 Entering Passive Mode. 192,168,1,2,19,137",
            "227 192,168,1,2,19,137",
            "227 entering passive mode (192,168,1,2,19,137) ",
        ] {
            assert_eq!(server(line), want, "{line:?}");
        }
    }

    #[test]
    fn pure_ftpd() {
        assert_eq!(
            server("227 Entering Passive Mode (10,0,0,1,200,12)"),
            Ok(dc(Announcement::Pasv, v4([10, 0, 0, 1]), 200 * 256 + 12))
        );
        assert_eq!(
            server("229 Extended Passive mode OK (|||30012|)"),
            Ok(dc(Announcement::Epsv, None, 30012))
        );
    }

    #[test]
    fn filezilla_server() {
        assert_eq!(
            server("227 Entering Passive Mode (192,168,0,10,195,149)"),
            Ok(dc(
                Announcement::Pasv,
                v4([192, 168, 0, 10]),
                195 * 256 + 149
            ))
        );
        assert_eq!(
            server("229 Entering Extended Passive Mode (|||50069|)"),
            Ok(dc(Announcement::Epsv, None, 50069))
        );
        assert_eq!(
            server("227 =192,168,1,2,19,137"),
            Ok(dc(Announcement::Pasv, v4([192, 168, 1, 2]), 19 * 256 + 137))
        );
    }

    #[test]
    fn microsoft_ftp_service() {
        assert_eq!(
            server("227 Entering Passive Mode (10,1,2,3,196,90)."),
            Ok(dc(Announcement::Pasv, v4([10, 1, 2, 3]), 196 * 256 + 90))
        );
        assert_eq!(
            server("229 Entering Extended Passive Mode (|||50176|)"),
            Ok(dc(Announcement::Epsv, None, 50176))
        );
    }

    #[test]
    fn pasv_numbers_are_found_past_other_text() {
        // A number without commas, or a "1,000" that is not six numbers, does not stop the
        // search.
        assert_eq!(
            server("227 Passive Mode v2, 1,000 ports (10,0,0,1,4,1)"),
            Ok(dc(Announcement::Pasv, v4([10, 0, 0, 1]), 1025))
        );
        assert_eq!(
            server("227 OK,10,0,0,1,4,1"),
            Ok(dc(Announcement::Pasv, v4([10, 0, 0, 1]), 1025)),
            "the numbers start at their first digit"
        );
        assert_eq!(
            server("227 Entering Passive Mode (10,0,0,1,4,1"),
            Ok(dc(Announcement::Pasv, v4([10, 0, 0, 1]), 1025)),
            "no closing parenthesis"
        );
        assert_eq!(
            server("227 Entering Passive Mode (10,0,0,1,4,1).  \t"),
            Ok(dc(Announcement::Pasv, v4([10, 0, 0, 1]), 1025))
        );
    }

    #[test]
    fn epsv_takes_any_printable_non_digit_delimiter() {
        for d in ['!', '#', '(', ')', '/', '~', 'A'] {
            let line = format!("229 Entering Extended Passive Mode ({d}{d}{d}6446{d})");
            assert_eq!(
                server(&line),
                Ok(dc(Announcement::Epsv, None, 6446)),
                "{line}"
            );
        }
        // What follows the closing delimiter is the reply's free text.
        assert_eq!(
            server("229 Entering Extended Passive Mode (|||6446|"),
            Ok(dc(Announcement::Epsv, None, 6446))
        );
    }

    #[test]
    fn other_replies_are_not_announcements() {
        for line in [
            "",
            "220 (vsFTPd 3.0.5)",
            "230 Login successful.",
            "200 PORT command successful. Consider using PASV.",
            "150 Opening BINARY mode data connection for f (4 bytes).",
            "227-Entering Passive Mode (1,2,3,4,5,6)",
            "229-Entering Extended Passive Mode (|||6446|)",
            // RFC 959 §4.2: an inner line of a multi-line reply, padded so it is no reply code.
            " 227 Entering Passive Mode (1,2,3,4,5,6)",
            "2270 (1,2,3,4,5,6)",
            "22 (1,2,3,4,5,6)",
            "PORT 1,2,3,4,5,6",
            "500 Unknown command.",
        ] {
            assert_eq!(server(line), Ok(None), "{line:?}");
        }
    }

    // ---- server replies: malformed ----

    #[test]
    fn malformed_227() {
        use FtpError::*;
        for (line, err) in [
            ("227", MissingAddress),
            ("227 ", MissingAddress),
            ("227 Entering Passive Mode", MissingAddress),
            ("227 Entering Passive Mode (", MissingAddress),
            ("227 Entering Passive Mode (127)", MissingAddress),
            ("227 Entering Passive Mode (127,0,0,1,39", TooFewNumbers),
            ("227 Entering Passive Mode (127,0,0,1)", TooFewNumbers),
            (
                "227 Entering Passive Mode (127,0,0,1,39,26,7)",
                TooManyNumbers,
            ),
            (
                "227 Entering Passive Mode (127,0,0,1,39,26,)",
                TooManyNumbers,
            ),
            (
                "227 Entering Passive Mode (127,0,0,300,39,26)",
                OctetOutOfRange,
            ),
            (
                "227 Entering Passive Mode (127,0,0,1,39,256)",
                OctetOutOfRange,
            ),
            (
                "227 Entering Passive Mode (0127,0,0,1,39,26)",
                NumberTooLong,
            ),
            ("227 Entering Passive Mode (127,0,0,1,0,0)", PortZero),
            ("227 Entering Passive Mode (127,0,,1,39,26)", BadNumber),
            (
                "227 Entering Passive Mode (127, 0, 0, 1, 39, 26)",
                BadNumber,
            ),
        ] {
            assert_eq!(server(line), Err(err), "{line:?}");
        }
    }

    #[test]
    fn malformed_229() {
        use FtpError::*;
        for (line, err) in [
            ("229", MissingParenthesis),
            (
                "229 Entering Extended Passive Mode |||6446|",
                MissingParenthesis,
            ),
            ("229 Entering Extended Passive Mode (", MissingDelimiter),
            (
                "229 Entering Extended Passive Mode (|||6446",
                MissingDelimiter,
            ),
            (
                "229 Entering Extended Passive Mode (||6446|)",
                MissingDelimiter,
            ),
            (
                "229 Entering Extended Passive Mode (|1|::1|6446|)",
                MissingDelimiter,
            ),
            ("229 Entering Extended Passive Mode (|||)", MissingDelimiter),
            ("229 Entering Extended Passive Mode (||||)", BadNumber),
            ("229 Entering Extended Passive Mode (|||6446 |)", BadNumber),
            ("229 Entering Extended Passive Mode (1116446)", BadDelimiter),
            ("229 Entering Extended Passive Mode ( 6446 )", BadDelimiter),
            ("229 Entering Extended Passive Mode (|||0|)", PortZero),
            (
                "229 Entering Extended Passive Mode (|||65536|)",
                PortOutOfRange,
            ),
            (
                "229 Entering Extended Passive Mode (|||006446|)",
                NumberTooLong,
            ),
        ] {
            assert_eq!(server(line), Err(err), "{line:?}");
        }
    }

    #[test]
    fn every_error_is_reachable() {
        // One line per variant, in `FtpError::ALL`'s order.
        let lines: [(&str, bool); 15] = [
            ("PORT", true),
            ("PORT 1,2,x,4,5,6", true),
            ("PORT 1,2,3,4,5,0006", true),
            ("PORT 1,2,3,4,5,256", true),
            ("EPRT |1|1.2.3.4|65536|", true),
            ("PORT 1,2,3,4,0,0", true),
            ("PORT 1,2,3,4,5", true),
            ("PORT 1,2,3,4,5,6,7", true),
            ("227 Entering Passive Mode", false),
            ("229 Entering Extended Passive Mode", false),
            ("EPRT 0100000|", true),
            ("229 Entering Extended Passive Mode (|||", false),
            ("EPRT |4|1.2.3.4|5|", true),
            ("EPRT |2|1:2:3:4:5:6:7:8:9|5|", true),
            ("EPRT |1|1.2.3.4|5|)", true),
        ];
        for (error, (line, from_client)) in FtpError::ALL.into_iter().zip(lines) {
            let got = if from_client {
                client(line)
            } else {
                server(line)
            };
            assert_eq!(got, Err(error), "{line:?}");
        }
    }

    #[test]
    fn error_names_are_distinct_kebab_case() {
        let names: Vec<&str> = FtpError::ALL.iter().map(|e| e.name()).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[..i].contains(name), "{name} twice");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{name}"
            );
        }
    }

    // ---- properties ----

    fn delimiters() -> impl Strategy<Value = char> {
        (33u8..=126)
            .prop_filter("not a digit", |b| !b.is_ascii_digit())
            .prop_map(char::from)
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_client_line(&line);
            let _ = parse_server_line(&line);
        }

        #[test]
        fn arbitrary_announcement_shaped_lines_never_panic(
            head in prop::sample::select(vec!["PORT ", "EPRT ", "227 ", "229 (", "eprt |2|"]),
            tail in "[0-9,.:|()a-f ]{0,40}",
        ) {
            let line = format!("{head}{tail}");
            let _ = parse_client_line(line.as_bytes());
            let _ = parse_server_line(line.as_bytes());
        }

        #[test]
        fn port_and_227_round_trip(a in any::<[u8; 4]>(), port in 1u16..) {
            let [h1, h2, h3, h4] = a;
            let [p1, p2] = port.to_be_bytes();
            let numbers = format!("{h1},{h2},{h3},{h4},{p1},{p2}");
            prop_assert_eq!(
                client(&format!("PORT {numbers}")),
                Ok(dc(Announcement::Port, v4(a), port))
            );
            for reply in [
                format!("227 Entering Passive Mode ({numbers})."),
                format!("227 Entering Passive Mode {numbers}"),
                format!("227 ={numbers}"),
            ] {
                prop_assert_eq!(server(&reply), Ok(dc(Announcement::Pasv, v4(a), port)));
            }
        }

        #[test]
        fn eprt_and_229_round_trip(
            addr in any::<IpAddr>(),
            port in 1u16..,
            d in delimiters(),
        ) {
            let af = if addr.is_ipv4() { 1 } else { 2 };
            let text = addr.to_string();
            prop_assume!(!text.contains(d));
            prop_assert_eq!(
                client(&format!("EPRT {d}{af}{d}{text}{d}{port}{d}")),
                Ok(dc(Announcement::Eprt, Some(addr), port))
            );
            prop_assert_eq!(
                server(&format!("229 Entering Extended Passive Mode ({d}{d}{d}{port}{d})")),
                Ok(dc(Announcement::Epsv, None, port))
            );
        }
    }
}
