//! The TFTP ALG's protocol parser: is a datagram sent to the server port a read or write
//! request?
//!
//! RFC 1350 §5: every packet starts with a 2-byte opcode, network order. A request (RRQ 1,
//! WRQ 2) is `opcode filename 0 mode 0`; the server answers from a new port of its own
//! (§4), which is why the ALG must expect that reply. RFC 2347 lets `name 0 value 0` option
//! pairs follow the mode, and adds OACK (6).
//!
//! Linux `nf_conntrack_tftp.c` looks at the opcode only. We also check the request's strings,
//! so that a counter says which part of a bogus request was wrong, but tolerate what real
//! clients do: any case in the mode, options, and NUL padding after the last string.
//!
//! Pure and zero-copy: the filename and mode are slices of the payload; no allocation, no
//! panic.

/// Opcodes (RFC 1350 §5, RFC 2347 for OACK).
pub mod opcode {
    pub const RRQ: u16 = 1;
    pub const WRQ: u16 = 2;
    pub const DATA: u16 = 3;
    pub const ACK: u16 = 4;
    pub const ERROR: u16 = 5;
    pub const OACK: u16 = 6;
}

/// The transfer modes of RFC 1350 §5 ("mail" is obsolete but still defined).
const MODES: [&[u8]; 3] = [b"netascii", b"octet", b"mail"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Read,
    Write,
}

/// A read or write request, borrowing its strings from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TftpRequest<'a> {
    pub kind: Request,
    /// As sent, without its NUL; never empty.
    pub filename: &'a [u8],
    /// As sent (any case), without its NUL: one of netascii, octet, mail.
    pub mode: &'a [u8],
}

/// Why a datagram is not valid TFTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TftpError {
    /// Shorter than its opcode, or a DATA/ACK/ERROR without its 2-byte block number or code.
    #[error("too short for its opcode")]
    TooShort,
    /// An opcode other than 1-6.
    #[error("an unknown opcode")]
    UnknownOpcode,
    /// A request that ends after its opcode.
    #[error("a request without a filename")]
    MissingFilename,
    /// A request whose filename has no terminating NUL.
    #[error("a request filename without its NUL")]
    UnterminatedFilename,
    /// A request with an empty filename.
    #[error("a request with an empty filename")]
    EmptyFilename,
    /// A request that ends after its filename.
    #[error("a request without a mode")]
    MissingMode,
    /// A request whose mode has no terminating NUL.
    #[error("a request mode without its NUL")]
    UnterminatedMode,
    /// A mode other than netascii, octet or mail (empty included).
    #[error("an unknown transfer mode")]
    UnknownMode,
    /// An option name or value (RFC 2347) without its terminating NUL.
    #[error("an option without its NUL")]
    UnterminatedOption,
    /// An empty option name followed by more than NUL padding.
    #[error("an empty option name")]
    EmptyOptionName,
    /// An option name that is the last string: its value is missing.
    #[error("an option without a value")]
    OptionWithoutValue,
}

impl TftpError {
    /// Every variant, in declaration order (for counters).
    pub const ALL: [TftpError; 11] = [
        TftpError::TooShort,
        TftpError::UnknownOpcode,
        TftpError::MissingFilename,
        TftpError::UnterminatedFilename,
        TftpError::EmptyFilename,
        TftpError::MissingMode,
        TftpError::UnterminatedMode,
        TftpError::UnknownMode,
        TftpError::UnterminatedOption,
        TftpError::EmptyOptionName,
        TftpError::OptionWithoutValue,
    ];

    /// The counter name (kebab-case).
    pub const fn name(self) -> &'static str {
        match self {
            TftpError::TooShort => "too-short",
            TftpError::UnknownOpcode => "unknown-opcode",
            TftpError::MissingFilename => "missing-filename",
            TftpError::UnterminatedFilename => "unterminated-filename",
            TftpError::EmptyFilename => "empty-filename",
            TftpError::MissingMode => "missing-mode",
            TftpError::UnterminatedMode => "unterminated-mode",
            TftpError::UnknownMode => "unknown-mode",
            TftpError::UnterminatedOption => "unterminated-option",
            TftpError::EmptyOptionName => "empty-option-name",
            TftpError::OptionWithoutValue => "option-without-value",
        }
    }
}

/// A datagram sent to the TFTP server port. Ok(None) = a valid TFTP packet that is not
/// RRQ/WRQ (DATA/ACK/ERROR/OACK opcodes 3-6); Err = not valid TFTP.
pub fn parse_request(payload: &[u8]) -> Result<Option<TftpRequest<'_>>, TftpError> {
    let (op, body) = payload
        .split_first_chunk::<2>()
        .ok_or(TftpError::TooShort)?;
    match u16::from_be_bytes(*op) {
        opcode::RRQ => request(Request::Read, body).map(Some),
        opcode::WRQ => request(Request::Write, body).map(Some),
        // A block number (DATA, ACK) or an error code (ERROR) comes first; the data and the
        // error message are not ours to judge.
        opcode::DATA | opcode::ACK | opcode::ERROR if body.len() >= 2 => Ok(None),
        opcode::DATA | opcode::ACK | opcode::ERROR => Err(TftpError::TooShort),
        opcode::OACK => options(body).map(|()| None),
        _ => Err(TftpError::UnknownOpcode),
    }
}

/// `filename 0 mode 0 [options]` (RFC 1350 §5, RFC 2347).
fn request(kind: Request, body: &[u8]) -> Result<TftpRequest<'_>, TftpError> {
    if body.is_empty() {
        return Err(TftpError::MissingFilename);
    }
    let (filename, rest) = string(body).ok_or(TftpError::UnterminatedFilename)?;
    if filename.is_empty() {
        return Err(TftpError::EmptyFilename);
    }
    if rest.is_empty() {
        return Err(TftpError::MissingMode);
    }
    let (mode, rest) = string(rest).ok_or(TftpError::UnterminatedMode)?;
    // RFC 1350 §5: "The mode field contains the string ... in any combination of upper and
    // lower case".
    if !MODES.iter().any(|m| mode.eq_ignore_ascii_case(m)) {
        return Err(TftpError::UnknownMode);
    }
    options(rest)?;
    Ok(TftpRequest {
        kind,
        filename,
        mode,
    })
}

/// RFC 2347 options: `name 0 value 0` pairs. Only their framing is checked (unknown options
/// are the server's to ignore, §2). Zero bytes after the last pair are tolerated as padding:
/// they announce nothing, and refusing them would only break a sloppy client.
fn options(mut rest: &[u8]) -> Result<(), TftpError> {
    while !rest.iter().all(|&b| b == 0) {
        let (name, after) = string(rest).ok_or(TftpError::UnterminatedOption)?;
        if name.is_empty() {
            return Err(TftpError::EmptyOptionName);
        }
        if after.is_empty() {
            return Err(TftpError::OptionWithoutValue);
        }
        let (_value, after) = string(after).ok_or(TftpError::UnterminatedOption)?;
        rest = after;
    }
    Ok(())
}

/// A NUL-terminated string and what follows its NUL; None without a NUL.
fn string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut parts = bytes.splitn(2, |&b| b == 0);
    Some((parts.next()?, parts.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn packet(op: u16, strings: &[&[u8]]) -> Vec<u8> {
        let mut p = op.to_be_bytes().to_vec();
        for s in strings {
            p.extend_from_slice(s);
            p.push(0);
        }
        p
    }

    fn read(filename: &'static [u8], mode: &'static [u8]) -> Option<TftpRequest<'static>> {
        Some(TftpRequest {
            kind: Request::Read,
            filename,
            mode,
        })
    }

    #[test]
    fn tftp_hpa_get_and_put() {
        // tftp-hpa: `get hello.txt` in its default mode, then `mode ascii`, then `put`.
        assert_eq!(
            parse_request(b"\x00\x01hello.txt\x00octet\x00"),
            Ok(read(b"hello.txt", b"octet"))
        );
        assert_eq!(
            parse_request(b"\x00\x01hello.txt\x00netascii\x00"),
            Ok(read(b"hello.txt", b"netascii"))
        );
        assert_eq!(
            parse_request(b"\x00\x02upload/out.bin\x00octet\x00"),
            Ok(Some(TftpRequest {
                kind: Request::Write,
                filename: b"upload/out.bin",
                mode: b"octet",
            }))
        );
    }

    #[test]
    fn modes_are_case_insensitive_and_returned_as_sent() {
        for mode in [
            &b"OCTET"[..],
            b"Octet",
            b"NetAscii",
            b"NETASCII",
            b"mail",
            b"MAIL",
        ] {
            let p = packet(opcode::RRQ, &[b"f", mode]);
            assert_eq!(parse_request(&p), Ok(read(b"f", mode)), "{mode:?}");
        }
    }

    #[test]
    fn rfc2347_options_are_tolerated() {
        // What curl and PXE clients send: tsize and blksize.
        let p = packet(
            opcode::RRQ,
            &[b"pxelinux.0", b"octet", b"tsize", b"0", b"blksize", b"1468"],
        );
        assert_eq!(parse_request(&p), Ok(read(b"pxelinux.0", b"octet")));
        let p = packet(opcode::RRQ, &[b"f", b"octet", b"windowsize", b""]);
        assert_eq!(parse_request(&p), Ok(read(b"f", b"octet")), "empty value");
    }

    #[test]
    fn nul_padding_is_tolerated() {
        let mut p = packet(opcode::RRQ, &[b"f", b"octet"]);
        p.extend_from_slice(&[0; 16]);
        assert_eq!(parse_request(&p), Ok(read(b"f", b"octet")));
        let mut p = packet(opcode::RRQ, &[b"f", b"octet", b"tsize", b"0"]);
        p.extend_from_slice(&[0; 3]);
        assert_eq!(parse_request(&p), Ok(read(b"f", b"octet")));
    }

    #[test]
    fn filenames_are_bytes() {
        let p = packet(opcode::WRQ, &[b"\xff\xfe dir\\file name", b"octet"]);
        assert_eq!(
            parse_request(&p),
            Ok(Some(TftpRequest {
                kind: Request::Write,
                filename: b"\xff\xfe dir\\file name",
                mode: b"octet",
            }))
        );
    }

    #[test]
    fn other_tftp_packets_are_not_requests() {
        for p in [
            &b"\x00\x03\x00\x01hello"[..],
            b"\x00\x03\x00\x01",
            b"\x00\x04\x00\x01",
            b"\x00\x05\x00\x01File not found\x00",
            b"\x00\x05\x00\x00",
            b"\x00\x06blksize\x001468\x00",
            b"\x00\x06",
        ] {
            assert_eq!(parse_request(p), Ok(None), "{p:?}");
        }
    }

    #[test]
    fn malformed() {
        use TftpError::*;
        let long_mode = packet(opcode::RRQ, &[b"f", b"octets"]);
        for (p, err) in [
            (&b""[..], TooShort),
            (b"\x00", TooShort),
            (b"\x00\x03\x00", TooShort),
            (b"\x00\x04", TooShort),
            (b"\x00\x05\x01", TooShort),
            (b"\x00\x00f\x00octet\x00", UnknownOpcode),
            (b"\x00\x07f\x00octet\x00", UnknownOpcode),
            (b"\x01\x01f\x00octet\x00", UnknownOpcode),
            (b"GET / HTTP/1.1", UnknownOpcode),
            (b"\x00\x01", MissingFilename),
            (b"\x00\x02hello.txt", UnterminatedFilename),
            (b"\x00\x01\x00octet\x00", EmptyFilename),
            (b"\x00\x01hello.txt\x00", MissingMode),
            (b"\x00\x01hello.txt\x00octet", UnterminatedMode),
            (b"\x00\x01hello.txt\x00\x00", UnknownMode),
            (b"\x00\x01hello.txt\x00binary\x00", UnknownMode),
            (&long_mode, UnknownMode),
            (b"\x00\x01f\x00octet\x00blksize", UnterminatedOption),
            (b"\x00\x01f\x00octet\x00blksize\x001468", UnterminatedOption),
            (b"\x00\x01f\x00octet\x00\x001468\x00", EmptyOptionName),
            (b"\x00\x01f\x00octet\x00blksize\x00", OptionWithoutValue),
            (b"\x00\x06blksize\x00", OptionWithoutValue),
        ] {
            assert_eq!(parse_request(p), Err(err), "{p:?}");
        }
    }

    #[test]
    fn every_error_is_reachable() {
        // One datagram per variant, in `TftpError::ALL`'s order.
        let datagrams: [&[u8]; 11] = [
            b"\x00",
            b"\x00\x09",
            b"\x00\x01",
            b"\x00\x01f",
            b"\x00\x01\x00octet\x00",
            b"\x00\x01f\x00",
            b"\x00\x01f\x00octet",
            b"\x00\x01f\x00ascii\x00",
            b"\x00\x01f\x00octet\x00tsize",
            b"\x00\x01f\x00octet\x00\x000\x00",
            b"\x00\x01f\x00octet\x00tsize\x00",
        ];
        for (error, p) in TftpError::ALL.into_iter().zip(datagrams) {
            assert_eq!(parse_request(p), Err(error), "{p:?}");
        }
    }

    #[test]
    fn error_names_are_distinct_kebab_case() {
        let names: Vec<&str> = TftpError::ALL.iter().map(|e| e.name()).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[..i].contains(name), "{name} twice");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{name}"
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(p in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_request(&p);
        }

        #[test]
        fn requests_round_trip(
            write in any::<bool>(),
            filename in "[^\0]{1,100}",
            mode in prop::sample::select(vec!["netascii", "octet", "mail", "OCTET", "NetAscii"]),
            options in proptest::collection::vec(("[a-z]{1,10}", "[0-9]{0,6}"), 0..4),
            padding in 0usize..4,
        ) {
            let op = if write { opcode::WRQ } else { opcode::RRQ };
            let mut strings: Vec<&[u8]> = vec![filename.as_bytes(), mode.as_bytes()];
            for (name, value) in &options {
                strings.push(name.as_bytes());
                strings.push(value.as_bytes());
            }
            let mut p = packet(op, &strings);
            p.resize(p.len() + padding, 0);
            let kind = if write { Request::Write } else { Request::Read };
            prop_assert_eq!(
                parse_request(&p),
                Ok(Some(TftpRequest { kind, filename: filename.as_bytes(), mode: mode.as_bytes() }))
            );
        }
    }
}
