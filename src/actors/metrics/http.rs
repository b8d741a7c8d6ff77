//! The endpoint's HTTP/1.1, as small as Prometheus needs and hardened against whoever else
//! reaches the port: one `GET /metrics` per connection, answered and closed.
//!
//! - The request head is read into a fixed buffer (`MAX_HEAD` bytes): a longer head is
//!   answered `431`, never buffered further.
//! - The whole head must arrive within `HEAD_TIMEOUT` (slowloris: a client dripping a byte
//!   at a time cannot hold a connection): `408`.
//! - At most `MAX_CONNECTIONS` connections are served at once; one more is answered `503` at
//!   once and closed.
//! - Anything that is not an HTTP/1.x request line is `400`; a method other than GET (or
//!   HEAD) `405`; a path other than `/metrics` `404`.
//!
//! Prometheus asks for the OpenMetrics text format (`Accept`) and gets it; any other client
//! (curl, `promtool check metrics`) gets the classic text format 0.0.4.
//!
//! Every outcome is counted (`sessmgr_metrics_http_requests_total{outcome}`). `parse_head` is
//! pure, so the tests give it bytes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The request line and headers together, at most.
pub const MAX_HEAD: usize = 8 * 1024;
/// Time for the whole request head to arrive.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 16;
/// Time for an answer to be written (a client that does not read is dropped).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 200: the metrics.
    Ok,
    /// 400: not an HTTP/1.x request.
    BadRequest,
    /// 404: a path other than /metrics.
    NotFound,
    /// 405: a method other than GET or HEAD.
    MethodNotAllowed,
    /// 408: the head did not arrive in time.
    Timeout,
    /// 431: the head is too large.
    HeadTooLarge,
    /// 503: too many connections.
    Busy,
    /// The client closed (or failed) before a whole request head: nothing to answer.
    Aborted,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Ok,
        Outcome::BadRequest,
        Outcome::NotFound,
        Outcome::MethodNotAllowed,
        Outcome::Timeout,
        Outcome::HeadTooLarge,
        Outcome::Busy,
        Outcome::Aborted,
    ];

    /// The `outcome` label.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::BadRequest => "bad_request",
            Outcome::NotFound => "not_found",
            Outcome::MethodNotAllowed => "method_not_allowed",
            Outcome::Timeout => "timeout",
            Outcome::HeadTooLarge => "header_too_large",
            Outcome::Busy => "busy",
            Outcome::Aborted => "aborted",
        }
    }

    fn status(self) -> &'static str {
        match self {
            Outcome::Ok => "200 OK",
            Outcome::BadRequest => "400 Bad Request",
            Outcome::NotFound => "404 Not Found",
            Outcome::MethodNotAllowed => "405 Method Not Allowed",
            Outcome::Timeout => "408 Request Timeout",
            Outcome::HeadTooLarge => "431 Request Header Fields Too Large",
            Outcome::Busy => "503 Service Unavailable",
            Outcome::Aborted => "400 Bad Request",
        }
    }
}

/// Connections by outcome.
#[derive(Debug, Default)]
pub struct HttpCounters {
    counts: [AtomicU64; Outcome::ALL.len()],
}

impl HttpCounters {
    pub fn count(&self, o: Outcome) {
        if let Some(c) = self.counts.get(o as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn get(&self, o: Outcome) -> u64 {
        self.counts
            .get(o as usize)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

/// What a whole request head asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// GET /metrics (`head`: HEAD, the headers without the body; `openmetrics`: the client
    /// accepts the OpenMetrics text format, as Prometheus does).
    Metrics { head: bool, openmetrics: bool },
    /// Answered with this outcome's status.
    Refused(Outcome),
}

/// The end of the head in `buf` (the index after `\r\n\r\n`, or `\n\n` from a lenient
/// client), if it is there.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Judges a whole request head.
pub fn parse_head(head: &[u8]) -> Request {
    let Ok(text) = std::str::from_utf8(head) else {
        return Request::Refused(Outcome::BadRequest);
    };
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let line = lines.next().unwrap_or("");
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, target, version] = parts[..] else {
        return Request::Refused(Outcome::BadRequest);
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    if !token(method) || !matches!(version, "HTTP/1.0" | "HTTP/1.1") || !target.starts_with('/') {
        return Request::Refused(Outcome::BadRequest);
    }
    // Every header line is `name: value` (an empty line ends the head).
    let mut openmetrics = false;
    for h in lines.filter(|l| !l.is_empty()) {
        match h.split_once(':') {
            Some((name, value)) if token(name) => {
                if name.eq_ignore_ascii_case("accept")
                    && value.contains("application/openmetrics-text")
                {
                    openmetrics = true;
                }
            }
            _ => return Request::Refused(Outcome::BadRequest),
        }
    }
    let head = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Request::Refused(Outcome::MethodNotAllowed),
    };
    let path = target.split('?').next().unwrap_or(target);
    if path != "/metrics" {
        return Request::Refused(Outcome::NotFound);
    }
    Request::Metrics { head, openmetrics }
}

/// Reads a request head within the limits: `Ok(head)` or the outcome to answer.
fn read_head(stream: &mut TcpStream, buf: &mut [u8; MAX_HEAD]) -> Result<usize, Outcome> {
    let deadline = Instant::now() + HEAD_TIMEOUT;
    let mut len = 0;
    loop {
        if let Some(end) = head_end(&buf[..len]) {
            return Ok(end);
        }
        if len == buf.len() {
            return Err(Outcome::HeadTooLarge);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Outcome::Timeout);
        }
        // Each read waits at most what is left of the head's time.
        if stream.set_read_timeout(Some(left)).is_err() {
            return Err(Outcome::Aborted);
        }
        match stream.read(&mut buf[len..]) {
            Ok(0) => return Err(Outcome::Aborted),
            Ok(n) => len += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Outcome::Timeout);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Outcome::Aborted),
        }
    }
}

/// Writes a refusal: its status, a one-line body, `Connection: close`. (The accepting thread
/// refuses a connection past the limit with it at once, without lingering.)
pub fn refuse(stream: &mut TcpStream, o: Outcome) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let body = format!("{}\n", o.status());
    let allow = if o == Outcome::MethodNotAllowed {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n{body}",
        o.status(),
        body.len()
    );
}

/// Reads and drops what a refused client has already sent, without waiting (the accepting
/// thread must not): a close with unread bytes would reset the connection and could destroy
/// the answer just written.
pub fn drain_pending(stream: &mut TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        match stream.read(&mut sink) {
            Ok(n) if n > 0 => {}
            _ => return,
        }
    }
}

/// Closes politely after a refusal: the client may still be sending (a huge head), and a
/// close with unread bytes resets the connection, which can destroy the answer before the
/// client reads it. So the write side is shut and what still comes is read and dropped, at
/// most `LINGER_BYTES` and `LINGER_TIME`.
fn linger(stream: &mut TcpStream) {
    const LINGER_BYTES: usize = 256 * 1024;
    const LINGER_TIME: Duration = Duration::from_secs(1);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let deadline = Instant::now() + LINGER_TIME;
    let mut sink = [0u8; 4096];
    let mut read = 0;
    while read < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => read += n,
        }
    }
}

/// Serves one connection: reads its request head, answers with `metrics(openmetrics)` (the
/// body and its content type) or a refusal, counts how it ended (before lingering over a
/// refused client's leftovers), closes.
pub fn serve(
    stream: &mut TcpStream,
    counters: &HttpCounters,
    metrics: impl FnOnce(bool) -> (String, &'static str),
) {
    let mut buf = [0u8; MAX_HEAD];
    let end = match read_head(stream, &mut buf) {
        Ok(end) => end,
        Err(Outcome::Aborted) => return counters.count(Outcome::Aborted),
        Err(o) => {
            refuse(stream, o);
            counters.count(o);
            return linger(stream);
        }
    };
    match parse_head(&buf[..end]) {
        Request::Refused(o) => {
            refuse(stream, o);
            counters.count(o);
            linger(stream);
        }
        Request::Metrics { head, openmetrics } => {
            let (body, content_type) = metrics(openmetrics);
            let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            if !head {
                let _ = stream.write_all(body.as_bytes());
            }
            let _ = stream.flush();
            counters.count(Outcome::Ok);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_of_metrics_is_the_only_request_answered() {
        let ok = |m: &[u8]| parse_head(m);
        assert_eq!(
            ok(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"),
            Request::Metrics {
                head: false,
                openmetrics: false
            }
        );
        assert_eq!(
            ok(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Request::Metrics {
                head: false,
                openmetrics: false
            }
        );
        assert_eq!(
            ok(b"HEAD /metrics HTTP/1.1\n\n"),
            Request::Metrics {
                head: true,
                openmetrics: false
            }
        );
        assert_eq!(
            ok(b"GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n\r\n"),
            Request::Metrics { head: false, openmetrics: true }
        );
        assert_eq!(
            ok(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Request::Refused(Outcome::MethodNotAllowed)
        );
        assert_eq!(
            ok(b"GET / HTTP/1.1\r\n\r\n"),
            Request::Refused(Outcome::NotFound)
        );
        for garbage in [
            &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"[..],
            b"GET /metrics\r\n\r\n",
            b"GET  /metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics HTTP/2.0\r\n\r\n",
            b"GET metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
            b"G(T /metrics HTTP/1.1\r\n\r\n",
            b"\r\n\r\n",
        ] {
            assert_eq!(
                ok(garbage),
                Request::Refused(Outcome::BadRequest),
                "{:?}",
                String::from_utf8_lossy(garbage)
            );
        }
    }

    proptest::proptest! {
        /// Whatever the bytes, a head is judged (never a panic), and only a GET or HEAD of
        /// /metrics is served.
        #[test]
        fn any_bytes_are_judged(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let end = head_end(&bytes).unwrap_or(bytes.len());
            if let Request::Metrics { .. } = parse_head(&bytes[..end]) {
                let text = String::from_utf8_lossy(&bytes);
                proptest::prop_assert!(text.starts_with("GET /metrics") || text.starts_with("HEAD /metrics"));
            }
        }
    }

    #[test]
    fn the_head_ends_at_the_first_empty_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\n"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    #[test]
    fn outcomes_are_counted_apart() {
        let c = HttpCounters::default();
        c.count(Outcome::Ok);
        c.count(Outcome::Ok);
        c.count(Outcome::Busy);
        assert_eq!(c.get(Outcome::Ok), 2);
        assert_eq!(c.get(Outcome::Busy), 1);
        assert_eq!(c.get(Outcome::Timeout), 0);
        let names: std::collections::BTreeSet<_> = Outcome::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(names.len(), Outcome::ALL.len());
    }
}
