//! The media an SDP body announces (RFC 4566 §5.7 `c=`, §5.14 `m=`; RFC 3605 `a=rtcp:`), as
//! the kernel's `nf_conntrack_sip` reads them: the session-level `c=` unless a media-level one
//! overrides it, for every `m=audio`, `m=video` and `m=image` line with a non-zero port.
//!
//! Pure: no allocation, no panics; work is linear in the body and bounded by [`MAX_MEDIA`]
//! media descriptions (an SDP of 1,000 `m=` lines is refused past the bound, counted).

use std::net::IpAddr;

/// Media descriptions read at most per body.
pub const MAX_MEDIA: usize = 16;

/// The kinds of media the ALG opens for (the kernel's `sdp_media_types[]`): they are its
/// expectation classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Audio,
    Video,
    /// T.38 fax (`m=image`).
    Image,
}

/// One media stream: RTP to `addr:port`, RTCP to `addr:rtcp` (RFC 3605) or the next port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Media {
    pub kind: MediaKind,
    pub addr: IpAddr,
    pub port: u16,
    /// `a=rtcp:` port, if the description gives one (its address part is not used: RTCP then
    /// goes where RTP goes in every implementation seen; documented).
    pub rtcp: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpError {
    /// A `c=` line that is not `IN IP4|IP6 address`.
    BadConnection,
    /// An `m=` line whose port is not a number.
    BadMediaPort,
    /// A port below 1024 (the kernel drops such messages; here the media is refused).
    MediaPortOutOfRange,
    /// A media description with no connection address, neither its own nor the session's.
    NoConnection,
    /// More than [`MAX_MEDIA`] media descriptions.
    TooManyMedia,
    /// An `a=rtcp:` attribute whose port is not a number.
    BadRtcp,
}

impl SdpError {
    pub const ALL: [SdpError; 6] = [
        SdpError::BadConnection,
        SdpError::BadMediaPort,
        SdpError::MediaPortOutOfRange,
        SdpError::NoConnection,
        SdpError::TooManyMedia,
        SdpError::BadRtcp,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            SdpError::BadConnection => "sdp-bad-connection",
            SdpError::BadMediaPort => "sdp-bad-media-port",
            SdpError::MediaPortOutOfRange => "sdp-media-port-out-of-range",
            SdpError::NoConnection => "sdp-no-connection",
            SdpError::TooManyMedia => "sdp-too-many-media",
            SdpError::BadRtcp => "sdp-bad-rtcp",
        }
    }
}

/// Whether a body is an SDP description (starts with `v=`, RFC 4566 §5).
pub fn is_sdp(body: &[u8]) -> bool {
    body.trim_ascii_start().starts_with(b"v=")
}

/// `c=IN IP4 198.18.0.1` or `c=IN IP6 2001:2::1`, a multicast `/ttl` suffix ignored.
fn connection(v: &[u8]) -> Result<IpAddr, SdpError> {
    let mut w = v.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let (Some(b"IN"), Some(kind), Some(addr)) = (w.next(), w.next(), w.next()) else {
        return Err(SdpError::BadConnection);
    };
    let addr = addr.split(|&b| b == b'/').next().unwrap_or(addr);
    let ip: IpAddr = std::str::from_utf8(addr)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(SdpError::BadConnection)?;
    match (kind, ip) {
        (b"IP4", IpAddr::V4(_)) | (b"IP6", IpAddr::V6(_)) => Ok(ip),
        _ => Err(SdpError::BadConnection),
    }
}

/// One `m=` line being read.
struct Pending {
    kind: Option<MediaKind>,
    port: Result<u16, SdpError>,
    addr: Option<Result<IpAddr, SdpError>>,
    rtcp: Option<Result<u16, SdpError>>,
}

impl Pending {
    fn finish(self, session: Option<Result<IpAddr, SdpError>>) -> Option<Result<Media, SdpError>> {
        let kind = self.kind?;
        let port = match self.port {
            Ok(0) => return None, // a disabled stream (RFC 3264 §6)
            Ok(p) if p < 1024 => return Some(Err(SdpError::MediaPortOutOfRange)),
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        let addr = match self.addr.or(session) {
            Some(Ok(a)) => a,
            Some(Err(e)) => return Some(Err(e)),
            None => return Some(Err(SdpError::NoConnection)),
        };
        let rtcp = match self.rtcp {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => return Some(Err(e)),
            None => None,
        };
        Some(Ok(Media {
            kind,
            addr,
            port,
            rtcp,
        }))
    }
}

fn media_line(v: &[u8]) -> Pending {
    let mut w = v.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let kind = match w.next() {
        Some(b"audio") => Some(MediaKind::Audio),
        Some(b"video") => Some(MediaKind::Video),
        Some(b"image") => Some(MediaKind::Image),
        _ => None,
    };
    // `port` or `port/count` (RFC 4566 §5.14).
    let port = w
        .next()
        .and_then(|p| p.split(|&b| b == b'/').next())
        .and_then(super::parse::number)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or(SdpError::BadMediaPort);
    Pending {
        kind,
        port,
        addr: None,
        rtcp: None,
    }
}

/// Calls `each` with every media stream of the body (or the reason one is refused), in order.
/// Returns `Err(TooManyMedia)` when the body has more than [`MAX_MEDIA`] descriptions (the
/// first ones were given).
pub fn for_each_media(
    body: &[u8],
    mut each: impl FnMut(Result<Media, SdpError>),
) -> Result<(), SdpError> {
    let mut session: Option<Result<IpAddr, SdpError>> = None;
    let mut current: Option<Pending> = None;
    let mut seen = 0;
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line).trim_ascii_end();
        if let Some(v) = line.strip_prefix(b"m=") {
            if let Some(m) = current.take().and_then(|p| p.finish(session)) {
                each(m);
            }
            seen += 1;
            if seen > MAX_MEDIA {
                return Err(SdpError::TooManyMedia);
            }
            current = Some(media_line(v));
        } else if let Some(v) = line.strip_prefix(b"c=") {
            match current.as_mut() {
                Some(m) => m.addr = Some(connection(v)),
                None => session = Some(connection(v)),
            }
        } else if let Some(v) = line.strip_prefix(b"a=rtcp:")
            && let Some(m) = current.as_mut()
        {
            let port = v.split(|&b| b == b' ').next().unwrap_or(b"");
            m.rtcp = Some(
                super::parse::number(port)
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|p| *p != 0)
                    .ok_or(SdpError::BadRtcp),
            );
        }
    }
    if let Some(m) = current.take().and_then(|p| p.finish(session)) {
        each(m);
    }
    Ok(())
}
