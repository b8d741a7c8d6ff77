//! The RTSP ALG's protocol parser: the parts of an RTSP message that say where media will
//! flow.
//!
//! - RFC 2326 §6.1 and §7.1 (RFC 7826 §8.1, §8.2): the start line, `METHOD uri RTSP/1.0` or
//!   `RTSP/1.0 200 OK`. RTSP/2.0 (RFC 7826) is read the same way.
//! - RFC 2326 §12.17 `CSeq`: pairs a reply with its request.
//! - RFC 2326 §12.37 `Session`: `id[;timeout=N]`; the id is what a TEARDOWN names.
//! - RFC 2326 §12.39 `Transport`: comma-separated alternatives, each
//!   `RTP/AVP[/UDP|/TCP]` then `;`-separated parameters (`unicast`, `multicast`,
//!   `client_port=a[-b]`, `server_port=a[-b]`, `source=`, `destination=`, `interleaved=a[-b]`,
//!   `mode=...`); RFC 7826 §18.54 adds `dest_addr="host:port"/"host:port"` and `src_addr=`
//!   (RFC 7826 drops `client_port`/`server_port`; 1.0 peers still send them).
//!
//! Leniency follows what real programs send: header and parameter names are
//! case-insensitive (RFC 2326 §4.2 and the RFC 2616 §2.1 BNF convention; VLC answers `Cseq:`),
//! folded header lines (RFC 2326 §4.2 via RFC 2616 §2.2: a line starting with SP or HT
//! continues the previous header) and blanks around `:`, `;`, `,` and `=` are tolerated,
//! `mode=PLAY` and `mode="PLAY"` are the same (gst-rtsp-server quotes it, ffmpeg does not),
//! unknown parameters (`ssrc`, `ttl`, `RTCP-mux`, ...) are skipped.
//!
//! Bounded work for hostile input: at most [`MAX_HEADERS`] header lines of at most
//! [`MAX_HEADER_LEN`] bytes each, at most [`MAX_TRANSPORTS`] transport alternatives in at most
//! [`MAX_TRANSPORT_HEADERS`] `Transport` headers, two addresses per `dest_addr`/`src_addr`.
//! Past a bound the message is refused with its own error (a counter), never truncated and
//! guessed at. Every byte is looked at a bounded number of times.
//!
//! Addresses are returned as announced: whether a third party is named is the caller's
//! decision, it knows the control session's endpoints.
//!
//! Pure and zero-copy: one message in, borrowed slices and `Copy` values out; no allocation,
//! no panic.

use crate::alg::message::decimal;
use std::net::IpAddr;

/// At most this many header lines in one message (real messages carry about ten).
pub const MAX_HEADERS: usize = 64;
/// At most this many bytes in one header, folded lines included.
pub const MAX_HEADER_LEN: usize = 8192;
/// At most this many `Transport` headers in one message (RFC 2326 §4.2 lets a list header be
/// split over several; nobody uses more than one).
pub const MAX_TRANSPORT_HEADERS: usize = 4;
/// At most this many transport alternatives in one message (GStreamer offers three).
pub const MAX_TRANSPORTS: usize = 16;
/// The longest session id (RFC 7826 §18.49: `1*256`).
pub const MAX_SESSION_ID: usize = 256;

/// Why a message, or one of its transport alternatives, is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtspError {
    /// No start line at all.
    #[error("an empty message")]
    Empty,
    /// A start line that is neither `METHOD uri RTSP/x.y` nor `RTSP/x.y code reason`.
    #[error("a start line that is neither a request nor a reply")]
    BadStartLine,
    /// A protocol version other than RTSP/1.x or RTSP/2.x (`HTTP/1.0`: RTSP tunnelled over
    /// HTTP, which this ALG does not follow).
    #[error("not RTSP/1.x or RTSP/2.x")]
    BadVersion,
    /// A status code that is not three digits from 100 to 599 (RFC 2326 §7.1.1).
    #[error("a bad status code")]
    BadStatus,
    /// A header line without a colon, with an empty or blank-holding name, or a folded line
    /// right after the start line.
    #[error("a malformed header line")]
    BadHeader,
    /// A header longer than `MAX_HEADER_LEN` (folded lines included).
    #[error("a header too long")]
    HeaderTooLong,
    /// More than `MAX_HEADERS` header lines.
    #[error("too many headers")]
    TooManyHeaders,
    /// A `CSeq` that is not a decimal number of at most 32 bits.
    #[error("a bad CSeq")]
    BadCSeq,
    /// Two `CSeq` headers with different numbers.
    #[error("two different CSeq headers")]
    ConflictingCSeq,
    /// A `Session` id that is empty, longer than `MAX_SESSION_ID` or holds blanks or
    /// control characters.
    #[error("a bad Session id")]
    BadSession,
    /// Two `Session` headers with different ids.
    #[error("two different Session headers")]
    ConflictingSession,
    /// More than `MAX_TRANSPORTS` transport alternatives or `MAX_TRANSPORT_HEADERS`
    /// `Transport` headers.
    #[error("too many transport alternatives")]
    TooManyTransports,
    /// An empty transport alternative (`Transport:` alone, or `,,`).
    #[error("an empty transport alternative")]
    EmptyTransport,
    /// A transport protocol and profile that is not `NAME/PROFILE[/LOWER]`.
    #[error("a bad transport profile")]
    BadProfile,
    /// A lower transport other than UDP or TCP.
    #[error("a lower transport other than UDP or TCP")]
    BadLowerTransport,
    /// A `"` without its closing `"`.
    #[error("an unterminated quoted string")]
    UnterminatedQuote,
    /// A port parameter that is not `a` or `a-b` with 0 < a <= b <= 65535.
    #[error("a bad port or port range")]
    BadPort,
    /// An `interleaved` parameter that is not `a` or `a-b` with channels 0-255.
    #[error("a bad interleaved channel")]
    BadInterleaved,
    /// A `mode` other than PLAY, RECORD (or the older RECEIVE).
    #[error("a bad mode")]
    BadMode,
    /// An address that is neither an IP literal nor a host name, or a malformed
    /// `dest_addr`/`src_addr`.
    #[error("a bad address")]
    BadAddress,
    /// A host name where the ALG needs an address: it cannot resolve names.
    #[error("a host name instead of an address")]
    HostName,
    /// More than two addresses in a `dest_addr`/`src_addr` (one per RTP and RTCP).
    #[error("too many addresses")]
    TooManyAddresses,
    /// The same parameter twice in one alternative, or both `unicast` and `multicast`.
    #[error("a transport parameter given twice")]
    DuplicateParameter,
}

impl RtspError {
    /// Every variant, in declaration order (for counters).
    pub const ALL: [RtspError; 23] = [
        RtspError::Empty,
        RtspError::BadStartLine,
        RtspError::BadVersion,
        RtspError::BadStatus,
        RtspError::BadHeader,
        RtspError::HeaderTooLong,
        RtspError::TooManyHeaders,
        RtspError::BadCSeq,
        RtspError::ConflictingCSeq,
        RtspError::BadSession,
        RtspError::ConflictingSession,
        RtspError::TooManyTransports,
        RtspError::EmptyTransport,
        RtspError::BadProfile,
        RtspError::BadLowerTransport,
        RtspError::UnterminatedQuote,
        RtspError::BadPort,
        RtspError::BadInterleaved,
        RtspError::BadMode,
        RtspError::BadAddress,
        RtspError::HostName,
        RtspError::TooManyAddresses,
        RtspError::DuplicateParameter,
    ];

    /// The counter name (kebab-case).
    pub const fn name(self) -> &'static str {
        match self {
            RtspError::Empty => "empty",
            RtspError::BadStartLine => "bad-start-line",
            RtspError::BadVersion => "bad-version",
            RtspError::BadStatus => "bad-status",
            RtspError::BadHeader => "bad-header",
            RtspError::HeaderTooLong => "header-too-long",
            RtspError::TooManyHeaders => "too-many-headers",
            RtspError::BadCSeq => "bad-cseq",
            RtspError::ConflictingCSeq => "conflicting-cseq",
            RtspError::BadSession => "bad-session",
            RtspError::ConflictingSession => "conflicting-session",
            RtspError::TooManyTransports => "too-many-transports",
            RtspError::EmptyTransport => "empty-transport",
            RtspError::BadProfile => "bad-profile",
            RtspError::BadLowerTransport => "bad-lower-transport",
            RtspError::UnterminatedQuote => "unterminated-quote",
            RtspError::BadPort => "bad-port",
            RtspError::BadInterleaved => "bad-interleaved",
            RtspError::BadMode => "bad-mode",
            RtspError::BadAddress => "bad-address",
            RtspError::HostName => "host-name",
            RtspError::TooManyAddresses => "too-many-addresses",
            RtspError::DuplicateParameter => "duplicate-parameter",
        }
    }
}

/// The methods the ALG follows (RFC 2326 §10); the rest are `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Describe,
    Setup,
    Play,
    Pause,
    Record,
    Teardown,
    /// OPTIONS, ANNOUNCE, GET_PARAMETER, SET_PARAMETER, REDIRECT, extensions.
    Other,
}

/// A request or a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    Request { method: Method, uri: &'a [u8] },
    Response { status: u16 },
}

/// One RTSP message's head, as far as the ALG needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub start: StartLine<'a>,
    /// The major version: 1 (RFC 2326) or 2 (RFC 7826).
    pub version: u8,
    pub cseq: Option<u32>,
    /// The session id, without `;timeout=`.
    pub session: Option<&'a [u8]>,
    transport: [&'a [u8]; MAX_TRANSPORT_HEADERS],
    transport_headers: usize,
}

impl<'a> Message<'a> {
    /// The request's method, if it is a request.
    pub fn method(&self) -> Option<Method> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The reply's status code, if it is a reply.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Request { .. } => None,
            StartLine::Response { status } => Some(status),
        }
    }

    /// Whether it has a `Transport` header.
    pub fn has_transport(&self) -> bool {
        self.transport_headers > 0
    }

    /// The transport alternatives, in order of preference (RFC 2326 §12.39), each parsed or
    /// the reason it is unusable. Their number was checked by [`parse_message`].
    pub fn transports(&self) -> impl Iterator<Item = Result<TransportSpec, RtspError>> + 'a {
        let headers = self.transport;
        let n = self.transport_headers.min(MAX_TRANSPORT_HEADERS);
        (0..n).flat_map(move |i| Quoted::new(headers[i], b',').map(|alt| transport_spec(alt?)))
    }
}

/// The lower transport (RFC 2326 §12.39: UDP when not given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lower {
    Udp,
    Tcp,
}

/// A port parameter: `a` or `a-b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub first: u16,
    pub last: Option<u16>,
}

/// An address of RFC 7826's `dest_addr`/`src_addr`: `"host:port"`, `"host"` or `":port"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostPort {
    /// `None`: the sender's own address is meant (`":port"`).
    pub addr: Option<IpAddr>,
    pub port: Option<u16>,
}

/// RFC 7826's `dest_addr`/`src_addr` list: one address for RTP, one for RTCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddrList {
    items: [HostPort; 2],
    len: u8,
}

impl AddrList {
    pub fn get(&self, i: usize) -> Option<HostPort> {
        (i < usize::from(self.len)).then(|| self.items[i])
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
}

/// One transport alternative (RFC 2326 §12.39, RFC 7826 §18.54).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportSpec {
    /// The transport protocol is RTP (`RTP/AVP`, `RTP/SAVPF`): RTCP goes beside it. Other
    /// protocols (`RAW/RAW/UDP`, an MPEG-TS stream) have one port.
    pub rtp: bool,
    pub lower: Lower,
    /// `multicast` was given (no unicast pinhole to make).
    pub multicast: bool,
    pub client_port: Option<Ports>,
    pub server_port: Option<Ports>,
    /// RFC 2326 `source=`: where the server sends from.
    pub source: Option<IpAddr>,
    /// RFC 2326 `destination=`: where the media is to go.
    pub destination: Option<IpAddr>,
    /// RFC 2326 §10.12: the media is interleaved on the RTSP connection.
    pub interleaved: Option<(u8, Option<u8>)>,
    /// `mode=PLAY` (the default) and/or `mode=RECORD`.
    pub play: bool,
    pub record: bool,
    /// RFC 7826 `dest_addr`: where the media is to go (RTP, then RTCP).
    pub dest_addr: AddrList,
    /// RFC 7826 `src_addr`: where the media comes from (RTP, then RTCP).
    pub src_addr: AddrList,
}

impl TransportSpec {
    /// A transport of the profile's protocol (`rtp`) over `lower` with no parameter given yet:
    /// unicast, mode PLAY (the RFCs' defaults).
    pub fn new(rtp: bool, lower: Lower) -> TransportSpec {
        TransportSpec {
            rtp,
            lower,
            multicast: false,
            client_port: None,
            server_port: None,
            source: None,
            destination: None,
            interleaved: None,
            play: true,
            record: false,
            dest_addr: AddrList::default(),
            src_addr: AddrList::default(),
        }
    }
}

/// Parses one whole message (start line, headers, an empty line, maybe a body; the body is
/// not looked at).
pub fn parse_message(msg: &[u8]) -> Result<Message<'_>, RtspError> {
    let mut lines = Lines { msg, pos: 0 };
    // Empty lines before a message are tolerated (a stray CRLF after a body, as RFC 7230
    // §3.5 has HTTP servers ignore).
    let start = loop {
        match lines.next() {
            None => return Err(RtspError::Empty),
            Some((_, l)) if l.trim_ascii().is_empty() => continue,
            Some((_, l)) => break l,
        }
    };
    let (start, version) = start_line(start)?;
    let mut m = Message {
        start,
        version,
        cseq: None,
        session: None,
        transport: [&[]; MAX_TRANSPORT_HEADERS],
        transport_headers: 0,
    };
    let mut headers = 0usize;
    let mut alternatives = 0usize;
    // The header being read, as a range of `msg`: its first line, extended over folded lines.
    let mut current: Option<(usize, usize)> = None;
    loop {
        let line = lines.next().filter(|(_, l)| !l.trim_ascii().is_empty());
        if let Some((at, l @ [b' ' | b'\t', ..])) = line {
            let Some((start, _)) = current else {
                return Err(RtspError::BadHeader);
            };
            let end = at + l.len();
            if end - start > MAX_HEADER_LEN {
                return Err(RtspError::HeaderTooLong);
            }
            current = Some((start, end));
            continue;
        }
        if let Some((start, end)) = current.take() {
            header(
                msg.get(start..end).unwrap_or_default(),
                &mut m,
                &mut alternatives,
            )?;
        }
        // No line: the empty line ending the head, or the end of a head sent without one.
        let Some((at, l)) = line else {
            return Ok(m);
        };
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(RtspError::TooManyHeaders);
        }
        if l.len() > MAX_HEADER_LEN {
            return Err(RtspError::HeaderTooLong);
        }
        current = Some((at, at + l.len()));
    }
}

/// The lines of a head with their offsets, without their CR LF (or bare LF).
struct Lines<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);
    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        let rest = self.msg.get(self.pos..).filter(|r| !r.is_empty())?;
        let at = self.pos;
        let line = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.pos += i + 1;
                &rest[..i]
            }
            None => {
                self.pos = self.msg.len();
                rest
            }
        };
        Some((at, line.strip_suffix(b"\r").unwrap_or(line)))
    }
}

/// `METHOD SP uri SP RTSP/x.y` or `RTSP/x.y SP code [SP reason]` (RFC 2326 §6.1, §7.1).
/// Several blanks between the parts are tolerated.
fn start_line(line: &[u8]) -> Result<(StartLine<'_>, u8), RtspError> {
    let line = line.trim_ascii();
    let mut parts = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|p| !p.is_empty());
    let first = parts.next().ok_or(RtspError::Empty)?;
    if first.len() >= 5 && first[..5].eq_ignore_ascii_case(b"RTSP/") {
        let version = version(first)?;
        let code = parts.next().ok_or(RtspError::BadStatus)?;
        let status = match code {
            [a @ b'1'..=b'5', b, c] if b.is_ascii_digit() && c.is_ascii_digit() => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
            }
            _ => return Err(RtspError::BadStatus),
        };
        return Ok((StartLine::Response { status }, version));
    }
    // RFC 2326 §15.1: a method is a token; methods are case-sensitive.
    if !first.iter().all(|&b| is_token(b)) {
        return Err(RtspError::BadStartLine);
    }
    let uri = parts.next().ok_or(RtspError::BadStartLine)?;
    let ver = parts.next().ok_or(RtspError::BadStartLine)?;
    if parts.next().is_some() {
        return Err(RtspError::BadStartLine);
    }
    let version = version(ver)?;
    let method = match first {
        b"DESCRIBE" => Method::Describe,
        b"SETUP" => Method::Setup,
        b"PLAY" => Method::Play,
        b"PAUSE" => Method::Pause,
        b"RECORD" => Method::Record,
        b"TEARDOWN" => Method::Teardown,
        _ => Method::Other,
    };
    Ok((StartLine::Request { method, uri }, version))
}

/// `RTSP/1.0`, `RTSP/2.0` (any minor version): the major version.
fn version(tok: &[u8]) -> Result<u8, RtspError> {
    match tok {
        [r, t, s, p, b'/', major @ (b'1' | b'2'), b'.', minor]
            if [*r, *t, *s, *p].eq_ignore_ascii_case(b"RTSP") && minor.is_ascii_digit() =>
        {
            Ok(major - b'0')
        }
        _ => Err(RtspError::BadVersion),
    }
}

/// RFC 2616 §2.2 token characters.
fn is_token(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}

/// One header (its lines joined by their folds): the ones the ALG reads go into `m`.
fn header<'a>(h: &'a [u8], m: &mut Message<'a>, alternatives: &mut usize) -> Result<(), RtspError> {
    let colon = h
        .iter()
        .position(|&b| b == b':')
        .ok_or(RtspError::BadHeader)?;
    let name = h[..colon].trim_ascii();
    if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
        return Err(RtspError::BadHeader);
    }
    let value = h[colon + 1..].trim_ascii();
    if name.eq_ignore_ascii_case(b"CSeq") {
        let n = decimal(value, 10).ok_or(RtspError::BadCSeq)?;
        let n = u32::try_from(n).map_err(|_| RtspError::BadCSeq)?;
        if m.cseq.is_some_and(|c| c != n) {
            return Err(RtspError::ConflictingCSeq);
        }
        m.cseq = Some(n);
    } else if name.eq_ignore_ascii_case(b"Session") {
        // RFC 2326 §12.37: `session-id [";" "timeout" "=" delta-seconds]`.
        let id = value
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        if id.is_empty()
            || id.len() > MAX_SESSION_ID
            || !id.iter().all(|&b| b.is_ascii_graphic() && b != b',')
        {
            return Err(RtspError::BadSession);
        }
        if m.session.is_some_and(|s| s != id) {
            return Err(RtspError::ConflictingSession);
        }
        m.session = Some(id);
    } else if name.eq_ignore_ascii_case(b"Transport") {
        if m.transport_headers >= MAX_TRANSPORT_HEADERS {
            return Err(RtspError::TooManyTransports);
        }
        for alt in Quoted::new(value, b',') {
            alt?;
            *alternatives += 1;
            if *alternatives > MAX_TRANSPORTS {
                return Err(RtspError::TooManyTransports);
            }
        }
        m.transport[m.transport_headers] = value;
        m.transport_headers += 1;
    }
    Ok(())
}

/// The pieces of `s` between separators outside double quotes, trimmed; an unterminated quote
/// ends the iteration with an error.
struct Quoted<'a> {
    rest: Option<&'a [u8]>,
    sep: u8,
}

impl<'a> Quoted<'a> {
    fn new(s: &'a [u8], sep: u8) -> Quoted<'a> {
        Quoted { rest: Some(s), sep }
    }
}

impl<'a> Iterator for Quoted<'a> {
    type Item = Result<&'a [u8], RtspError>;
    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest?;
        let mut quoted = false;
        for (i, &b) in s.iter().enumerate() {
            if b == b'"' {
                quoted = !quoted;
            } else if b == self.sep && !quoted {
                self.rest = s.get(i + 1..);
                return Some(Ok(s[..i].trim_ascii()));
            }
        }
        self.rest = None;
        if quoted {
            return Some(Err(RtspError::UnterminatedQuote));
        }
        Some(Ok(s.trim_ascii()))
    }
}

/// One transport alternative: `NAME/PROFILE[/LOWER]` then `;param[=value]`.
fn transport_spec(alt: &[u8]) -> Result<TransportSpec, RtspError> {
    if alt.is_empty() {
        return Err(RtspError::EmptyTransport);
    }
    let mut params = Quoted::new(alt, b';');
    let profile = params.next().ok_or(RtspError::EmptyTransport)??;
    let mut parts = profile.split(|&b| b == b'/');
    let (Some(name), Some(prof)) = (parts.next(), parts.next()) else {
        return Err(RtspError::BadProfile);
    };
    let good = |p: &[u8]| !p.is_empty() && p.iter().all(|&b| is_token(b));
    if !good(name) || !good(prof) {
        return Err(RtspError::BadProfile);
    }
    let lower = match parts.next() {
        None => Lower::Udp,
        Some(l) if l.eq_ignore_ascii_case(b"UDP") => Lower::Udp,
        Some(l) if l.eq_ignore_ascii_case(b"TCP") => Lower::Tcp,
        Some(_) => return Err(RtspError::BadLowerTransport),
    };
    if parts.next().is_some() {
        return Err(RtspError::BadProfile);
    }
    let mut t = TransportSpec::new(name.eq_ignore_ascii_case(b"RTP"), lower);
    let mut cast: Option<bool> = None;
    let mut mode_seen = false;
    for p in params {
        let p = p?;
        if p.is_empty() {
            continue;
        }
        let (name, value) = match p.iter().position(|&b| b == b'=') {
            Some(i) => (p[..i].trim_ascii(), Some(p[i + 1..].trim_ascii())),
            None => (p, None),
        };
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        fn once<T>(slot: &mut Option<T>, v: T) -> Result<(), RtspError> {
            match slot.replace(v) {
                Some(_) => Err(RtspError::DuplicateParameter),
                None => Ok(()),
            }
        }
        if is(b"unicast") || is(b"multicast") {
            let m = is(b"multicast");
            if cast.is_some_and(|c| c != m) {
                return Err(RtspError::DuplicateParameter);
            }
            cast = Some(m);
        } else if is(b"client_port") {
            once(&mut t.client_port, ports(value)?)?;
        } else if is(b"server_port") {
            once(&mut t.server_port, ports(value)?)?;
        } else if is(b"interleaved") {
            once(&mut t.interleaved, channels(value)?)?;
        } else if is(b"source") {
            if let Some(a) = address(value)? {
                once(&mut t.source, a)?;
            }
        } else if is(b"destination") {
            // RFC 2326: `destination` may come without a value (the sender of the request).
            if let Some(a) = address(value)? {
                once(&mut t.destination, a)?;
            }
        } else if is(b"mode") {
            if std::mem::replace(&mut mode_seen, true) {
                return Err(RtspError::DuplicateParameter);
            }
            (t.play, t.record) = mode(value)?;
        } else if is(b"dest_addr") {
            if !t.dest_addr.is_empty() {
                return Err(RtspError::DuplicateParameter);
            }
            t.dest_addr = addr_list(value)?;
        } else if is(b"src_addr") {
            if !t.src_addr.is_empty() {
                return Err(RtspError::DuplicateParameter);
            }
            t.src_addr = addr_list(value)?;
        }
        // `port` (multicast), `ttl`, `layers`, `ssrc`, `append`, `RTCP-mux`, `setup`,
        // `connection`, `MIKEY`...: nothing the ALG needs.
    }
    t.multicast = cast == Some(true);
    Ok(t)
}

/// `a` or `a-b`, 0 < a <= b (RFC 2326 §12.39 `port [ "-" port ]`).
fn ports(value: Option<&[u8]>) -> Result<Ports, RtspError> {
    let v = value.ok_or(RtspError::BadPort)?;
    let port = |s: &[u8]| {
        decimal(s.trim_ascii(), 5)
            .and_then(|n| u16::try_from(n).ok())
            .filter(|&n| n != 0)
            .ok_or(RtspError::BadPort)
    };
    match v.iter().position(|&b| b == b'-') {
        None => Ok(Ports {
            first: port(v)?,
            last: None,
        }),
        Some(i) => {
            let (a, b) = (port(&v[..i])?, port(&v[i + 1..])?);
            if b < a {
                return Err(RtspError::BadPort);
            }
            Ok(Ports {
                first: a,
                last: Some(b),
            })
        }
    }
}

/// `a` or `a-b`, channels 0-255 (RFC 2326 §10.12).
fn channels(value: Option<&[u8]>) -> Result<(u8, Option<u8>), RtspError> {
    let v = value.ok_or(RtspError::BadInterleaved)?;
    let ch = |s: &[u8]| {
        decimal(s.trim_ascii(), 3)
            .and_then(|n| u8::try_from(n).ok())
            .ok_or(RtspError::BadInterleaved)
    };
    match v.iter().position(|&b| b == b'-') {
        None => Ok((ch(v)?, None)),
        Some(i) => Ok((ch(&v[..i])?, Some(ch(&v[i + 1..])?))),
    }
}

/// `mode=PLAY`, `mode="RECORD"`, `mode="PLAY,RECORD"` (RFC 2326 §12.39: a quoted list;
/// `RECEIVE` is the older drafts' word for RECORD, which QuickTime Broadcaster still sends).
fn mode(value: Option<&[u8]>) -> Result<(bool, bool), RtspError> {
    let v = unquote(value.ok_or(RtspError::BadMode)?).ok_or(RtspError::BadMode)?;
    let (mut play, mut record) = (false, false);
    for m in v.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
        if m.eq_ignore_ascii_case(b"PLAY") {
            play = true;
        } else if m.eq_ignore_ascii_case(b"RECORD") || m.eq_ignore_ascii_case(b"RECEIVE") {
            record = true;
        } else {
            return Err(RtspError::BadMode);
        }
    }
    Ok((play, record))
}

/// A value without its surrounding quotes, if quoted; `None` for a lone or inner quote.
fn unquote(v: &[u8]) -> Option<&[u8]> {
    let inner = match v {
        [b'"', inner @ .., b'"'] => inner,
        _ => v,
    };
    (!inner.contains(&b'"')).then_some(inner)
}

/// `source=`/`destination=`: an IP literal (IPv6 bare or in brackets). `Ok(None)` for no
/// value.
fn address(value: Option<&[u8]>) -> Result<Option<IpAddr>, RtspError> {
    let Some(v) = value else {
        return Ok(None);
    };
    let v = unquote(v).ok_or(RtspError::BadAddress)?;
    let v = match v {
        [b'[', inner @ .., b']'] => inner,
        _ => v,
    };
    ip(v).map(Some)
}

/// An IP literal, a host name (refused: `HostName`), or neither.
fn ip(s: &[u8]) -> Result<IpAddr, RtspError> {
    if let Some(a) = std::str::from_utf8(s)
        .ok()
        .and_then(|s| s.parse::<IpAddr>().ok())
    {
        return Ok(a);
    }
    // RFC 1123 §2.1 host names: letters, digits, hyphens and dots, not all digits and dots.
    let name = !s.is_empty()
        && s.len() <= 255
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && s.iter().any(u8::is_ascii_alphabetic);
    Err(if name {
        RtspError::HostName
    } else {
        RtspError::BadAddress
    })
}

/// RFC 7826 §18.54 `dest_addr`/`src_addr`: `"host:port"/"host:port"`, each `host:port`,
/// `[v6]:port`, `host` or `:port`.
fn addr_list(value: Option<&[u8]>) -> Result<AddrList, RtspError> {
    let v = value.ok_or(RtspError::BadAddress)?;
    let mut list = AddrList::default();
    for item in Quoted::new(v, b'/') {
        let item = item?;
        let inner = match item {
            [b'"', inner @ .., b'"'] if !inner.contains(&b'"') => inner,
            _ => return Err(RtspError::BadAddress),
        };
        let hp = host_port(inner)?;
        let slot = list
            .items
            .get_mut(usize::from(list.len))
            .ok_or(RtspError::TooManyAddresses)?;
        *slot = hp;
        list.len += 1;
    }
    Ok(list)
}

fn host_port(s: &[u8]) -> Result<HostPort, RtspError> {
    let port = |p: &[u8]| {
        decimal(p, 5)
            .and_then(|n| u16::try_from(n).ok())
            .filter(|&n| n != 0)
            .ok_or(RtspError::BadPort)
    };
    // `[v6]` or `[v6]:port`.
    if let Some(rest) = s.strip_prefix(b"[") {
        let close = rest
            .iter()
            .position(|&b| b == b']')
            .ok_or(RtspError::BadAddress)?;
        let addr = ip(&rest[..close]).map_err(|_| RtspError::BadAddress)?;
        let port = match &rest[close + 1..] {
            [] => None,
            [b':', p @ ..] => Some(port(p)?),
            _ => return Err(RtspError::BadAddress),
        };
        return Ok(HostPort {
            addr: Some(addr),
            port,
        });
    }
    match s.iter().rposition(|&b| b == b':') {
        // `:port`: the sender's own address.
        Some(0) => Ok(HostPort {
            addr: None,
            port: Some(port(&s[1..])?),
        }),
        Some(i) => Ok(HostPort {
            addr: Some(ip(&s[..i])?),
            port: Some(port(&s[i + 1..])?),
        }),
        None => Ok(HostPort {
            addr: Some(ip(s)?),
            port: None,
        }),
    }
}

#[cfg(test)]
mod tests;
