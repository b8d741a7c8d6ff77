//! The SIP message fields the ALG needs (RFC 3261 §7, §20), read from one whole message.
//!
//! Pure: one message in, its start line, `Call-ID`, `CSeq`, `Contact`s, `Expires` and body out,
//! or a named error. No allocation (the contacts are a fixed array), no panics, work linear in
//! the message and bounded by [`MAX_HEADERS`] header lines. Long and compact header names
//! (RFC 3261 §7.3.3: `i` Call-ID, `m` Contact, `l` Content-Length) are both understood;
//! names are case-insensitive (§7.3.1).

use std::net::IpAddr;

/// Header lines read at most: a real message has a few dozen; 10,000 `Via` lines are an
/// attack on the parser, refused.
pub const MAX_HEADERS: usize = 256;
/// `Contact` values read at most (a REGISTER's 200 lists every binding of the user).
pub const MAX_CONTACTS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipError {
    /// The first line is neither a request line nor a status line.
    BadStartLine,
    /// More than [`MAX_HEADERS`] header lines.
    TooManyHeaders,
    /// More than [`MAX_CONTACTS`] `Contact` values.
    TooManyContacts,
    /// A `CSeq` that is not `number METHOD`.
    BadCseq,
    /// No `CSeq` where the ALG needs one (every request and response has one, §8.1.1.5).
    MissingCseq,
    /// No `Call-ID` (§8.1.1.4).
    MissingCallId,
    /// An `Expires` header or `expires=` parameter that is not a number.
    BadExpires,
    /// A header line without a colon.
    BadHeader,
}

impl SipError {
    pub const ALL: [SipError; 8] = [
        SipError::BadStartLine,
        SipError::TooManyHeaders,
        SipError::TooManyContacts,
        SipError::BadCseq,
        SipError::MissingCseq,
        SipError::MissingCallId,
        SipError::BadExpires,
        SipError::BadHeader,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            SipError::BadStartLine => "bad-start-line",
            SipError::TooManyHeaders => "too-many-headers",
            SipError::TooManyContacts => "too-many-contacts",
            SipError::BadCseq => "bad-cseq",
            SipError::MissingCseq => "missing-cseq",
            SipError::MissingCallId => "missing-call-id",
            SipError::BadExpires => "bad-expires",
            SipError::BadHeader => "bad-header",
        }
    }
}

/// The methods the ALG acts on (RFC 3261 §7.1, RFC 3262 PRACK, RFC 3311 UPDATE); any other
/// is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Prack,
    Update,
    Other,
}

impl Method {
    pub fn of(token: &[u8]) -> Method {
        // Method names are case-sensitive (§7.1).
        match token {
            b"INVITE" => Method::Invite,
            b"ACK" => Method::Ack,
            b"BYE" => Method::Bye,
            b"CANCEL" => Method::Cancel,
            b"REGISTER" => Method::Register,
            b"PRACK" => Method::Prack,
            b"UPDATE" => Method::Update,
            _ => Method::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine {
    Request(Method),
    Response(u16),
}

/// One `Contact` value: where the user can be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contact {
    /// `None`: the host is a name, not an address (nothing can be expected for it).
    pub addr: Option<IpAddr>,
    /// The URI's port; `None` when absent (5060 then, §19.1.2).
    pub port: Option<u16>,
    /// `;transport=tcp|udp` of the URI, if given.
    pub transport: Option<Transport>,
    /// The `expires=` header parameter, if given.
    pub expires: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Other,
}

/// The parts of a SIP message the ALG reads.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub start: StartLine,
    pub call_id: &'a [u8],
    pub cseq: u32,
    pub cseq_method: Method,
    /// The `Expires` header, if any.
    pub expires: Option<u32>,
    contacts: [Option<&'a [u8]>; MAX_CONTACTS],
    /// The body (after the empty line), as sent.
    pub body: &'a [u8],
}

impl<'a> Message<'a> {
    /// The `Contact` values, in order (`*` and unparsable ones are `Err`).
    pub fn contacts(&self) -> impl Iterator<Item = Result<Contact, SipError>> + '_ {
        self.contacts.iter().map_while(|c| *c).map(parse_contact)
    }
}

/// The line's header name and value, trimmed.
fn header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    Some((line[..colon].trim_ascii(), line[colon + 1..].trim_ascii()))
}

fn is(name: &[u8], long: &[u8], compact: &[u8]) -> bool {
    name.eq_ignore_ascii_case(long) || (!compact.is_empty() && name.eq_ignore_ascii_case(compact))
}

/// A decimal number of at most 10 digits that fits in `u32`.
pub fn number(s: &[u8]) -> Option<u32> {
    crate::alg::message::decimal(s, 10).and_then(|n| u32::try_from(n).ok())
}

fn start_line(line: &[u8]) -> Result<StartLine, SipError> {
    let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let first = words.next().ok_or(SipError::BadStartLine)?;
    if first == b"SIP/2.0" {
        let code = words
            .next()
            .and_then(number)
            .ok_or(SipError::BadStartLine)?;
        if !(100..=699).contains(&code) {
            return Err(SipError::BadStartLine);
        }
        return Ok(StartLine::Response(code as u16));
    }
    let _uri = words.next().ok_or(SipError::BadStartLine)?;
    if words.next() != Some(b"SIP/2.0") || !first.iter().all(u8::is_ascii_alphabetic) {
        return Err(SipError::BadStartLine);
    }
    Ok(StartLine::Request(Method::of(first)))
}

/// Parses one whole message (a datagram, or what the framework cut from a stream).
pub fn parse_message(msg: &[u8]) -> Result<Message<'_>, SipError> {
    // Head and body: the body starts after the first empty line.
    let (head, body) = split_head(msg);
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let start = start_line(lines.next().unwrap_or(b""))?;
    let mut call_id = None;
    let mut cseq = None;
    let mut expires = None;
    let mut contacts = [None; MAX_CONTACTS];
    let mut n_contacts = 0;
    for (i, line) in lines.enumerate() {
        if i >= MAX_HEADERS {
            return Err(SipError::TooManyHeaders);
        }
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // A continuation of the previous header (§7.3.1): no field the ALG reads is
            // folded in practice; skipped.
            continue;
        }
        let (name, value) = header(line).ok_or(SipError::BadHeader)?;
        if is(name, b"call-id", b"i") {
            call_id = Some(value);
        } else if is(name, b"cseq", b"") {
            let mut w = value
                .split(|&b| b == b' ' || b == b'\t')
                .filter(|w| !w.is_empty());
            let n = w.next().and_then(number).ok_or(SipError::BadCseq)?;
            let m = w.next().ok_or(SipError::BadCseq)?;
            cseq = Some((n, Method::of(m)));
        } else if is(name, b"expires", b"") {
            expires = Some(number(value).ok_or(SipError::BadExpires)?);
        } else if is(name, b"contact", b"m") {
            for v in split_values(value) {
                if n_contacts == MAX_CONTACTS {
                    return Err(SipError::TooManyContacts);
                }
                contacts[n_contacts] = Some(v);
                n_contacts += 1;
            }
        }
    }
    let (cseq, cseq_method) = cseq.ok_or(SipError::MissingCseq)?;
    Ok(Message {
        start,
        call_id: call_id.ok_or(SipError::MissingCallId)?,
        cseq,
        cseq_method,
        expires,
        contacts,
        body,
    })
}

/// The head (up to its empty line) and the body of a message.
fn split_head(msg: &[u8]) -> (&[u8], &[u8]) {
    let mut i = 0;
    while let Some(p) = msg[i..].iter().position(|&b| b == b'\n') {
        let at = i + p + 1;
        match msg.get(at..) {
            Some([b'\r', b'\n', ..]) => return (&msg[..at], &msg[at + 2..]),
            Some([b'\n', ..]) => return (&msg[..at], &msg[at + 1..]),
            _ => i = at,
        }
    }
    (msg, &[])
}

/// Splits a header value at commas outside `<...>` and quotes (§7.3.1).
fn split_values(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = value;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (mut angle, mut quote) = (false, false);
        let mut end = rest.len();
        for (i, &b) in rest.iter().enumerate() {
            match b {
                b'"' if !angle => quote = !quote,
                b'<' if !quote => angle = true,
                b'>' if !quote => angle = false,
                b',' if !angle && !quote => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let v = rest[..end].trim_ascii();
        rest = rest.get(end + 1..).unwrap_or(&[]);
        Some(v)
    })
    .filter(|v| !v.is_empty())
}

/// The value of parameter `name` (`;name=value`) in a parameter list.
fn param<'a>(params: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    params.split(|&b| b == b';').find_map(|p| {
        let p = p.trim_ascii();
        let eq = p.iter().position(|&b| b == b'=')?;
        p[..eq]
            .trim_ascii()
            .eq_ignore_ascii_case(name)
            .then(|| p[eq + 1..].trim_ascii())
    })
}

/// One `Contact` value (§20.10): `"Name" <sip:user@host:port;uri-params>;header-params`, or
/// a bare URI whose `;` parameters are the header's.
fn parse_contact(v: &[u8]) -> Result<Contact, SipError> {
    let (uri, header_params) = match (
        v.iter().position(|&b| b == b'<'),
        v.iter().rposition(|&b| b == b'>'),
    ) {
        (Some(l), Some(r)) if l < r => (&v[l + 1..r], &v[r + 1..]),
        _ => {
            let semi = v.iter().position(|&b| b == b';').unwrap_or(v.len());
            (&v[..semi], &v[semi..])
        }
    };
    let expires = match param(header_params, b"expires") {
        Some(e) => Some(number(e).ok_or(SipError::BadExpires)?),
        None => None,
    };
    let (addr, port, transport) = sip_uri(uri);
    Ok(Contact {
        addr,
        port,
        transport,
        expires,
    })
}

/// Host address, port and transport of a `sip:`/`sips:` URI (§19.1.1); the address is `None`
/// for a name, a malformed URI or `*`.
pub fn sip_uri(uri: &[u8]) -> (Option<IpAddr>, Option<u16>, Option<Transport>) {
    let rest = if uri.len() >= 4 && uri[..4].eq_ignore_ascii_case(b"sip:") {
        &uri[4..]
    } else if uri.len() >= 5 && uri[..5].eq_ignore_ascii_case(b"sips:") {
        &uri[5..]
    } else {
        return (None, None, None);
    };
    let semi = rest
        .iter()
        .position(|&b| b == b';' || b == b'?')
        .unwrap_or(rest.len());
    let (hostport, params) = rest.split_at(semi);
    let transport = param(params, b"transport").map(|t| {
        if t.eq_ignore_ascii_case(b"udp") {
            Transport::Udp
        } else if t.eq_ignore_ascii_case(b"tcp") {
            Transport::Tcp
        } else {
            Transport::Other
        }
    });
    let hostport = match hostport.iter().rposition(|&b| b == b'@') {
        Some(at) => &hostport[at + 1..],
        None => hostport,
    };
    let (host, port) = if let Some(h) = hostport.strip_prefix(b"[") {
        let Some(close) = h.iter().position(|&b| b == b']') else {
            return (None, None, transport);
        };
        let port = h[close + 1..].strip_prefix(b":");
        (&h[..close], port)
    } else {
        match hostport.iter().position(|&b| b == b':') {
            Some(c) => (&hostport[..c], Some(&hostport[c + 1..])),
            None => (hostport, None),
        }
    };
    let port = port.and_then(number).and_then(|p| u16::try_from(p).ok());
    let addr = std::str::from_utf8(host)
        .ok()
        .and_then(|h| h.parse::<IpAddr>().ok());
    (addr, port, transport)
}

#[cfg(test)]
pub(crate) mod tests;
