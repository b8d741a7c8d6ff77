//! One direction of a TCP control stream cut into whole SIP or RTSP messages for an ALG.
//!
//! Both protocols frame a message over a stream the same way (SIP: RFC 3261 §7.5 and §18.3;
//! RTSP: RFC 2326 §4.3, RFC 7826 §8.3): a start line and headers up to the first empty line,
//! then exactly `Content-Length` bytes of body (none when the header is absent). RTSP may
//! interleave binary media frames on the same connection (RFC 2326 §10.12: `$`, a channel
//! byte, a 16-bit length, the data); they are skipped. Empty lines between messages (SIP's
//! CRLF keep-alive, RFC 5626 §3.5.1) are skipped too.
//!
//! Like [`super::stream::LineBuffer`] the buffer follows the TCP sequence space, so every byte
//! is used once and in order; after a gap (bytes never seen), garbage or a message it could not
//! use, it resynchronises at the next line that looks like a start line (`METHOD uri
//! NAME/1.0` or `NAME/2.0 200 ...`). Memory is bounded by the ALG's `max_line`: a longer head
//! is skipped line by line, a longer body is skipped by count, without being stored.

use super::HostRefusal;
use super::stream::{SeqSpace, StreamNotes};

/// Where the buffer is within the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// At a message boundary or inside a head (`buf` holds it so far).
    #[default]
    Head,
    /// The head is complete; `buf` holds the message so far, `total` bytes when whole.
    Body { total: usize },
    /// Skipping a body too long to keep.
    SkipBody { left: u64 },
    /// Inside an interleaved binary frame (RFC 2326 §10.12): `header` bytes of its 4-byte
    /// header seen, then `left` bytes of data to skip.
    Interleaved {
        header: u8,
        len: [u8; 2],
        left: usize,
    },
    /// Looking for a start line: `buf` holds the current line so far.
    Resync,
    /// Skipping the rest of a line too long to be a start line.
    ResyncLong,
}

#[derive(Debug, Clone, Default)]
pub struct MessageBuffer {
    seq: SeqSpace,
    buf: Vec<u8>,
    state: State,
}

/// What a segment's bytes came to, beyond the messages it completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageNotes {
    pub stream: StreamNotes,
    /// A message longer than the bound (skipped).
    pub overlong: u32,
    pub bad_length: u32,
    /// Stretches of bytes that were not a message (skipped to the next start line).
    pub not_a_message: u32,
}

impl MessageNotes {
    /// The framework reasons to count, with how often.
    pub fn reasons(&self) -> [(HostRefusal, u32); 3] {
        [
            (HostRefusal::MessageTooLong, self.overlong),
            (HostRefusal::BadContentLength, self.bad_length),
            (HostRefusal::NotAMessage, self.not_a_message),
        ]
    }
}

/// The end of the head (after its empty line) in `buf`, looking from `from` on.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    let rest = buf.get(start..)?;
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == b'\n' {
            // "\n\n" or "\n\r\n": the head ends here.
            match rest.get(i + 1..) {
                Some([b'\n', ..]) => return Some(start + i + 2),
                Some([b'\r', b'\n', ..]) => return Some(start + i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// A decimal number of 1 to `max_digits` digits (at most 19, so that it fits `u64`): the
/// lengths, sequence numbers, ports and expiries of SIP and RTSP headers.
pub fn decimal(s: &[u8], max_digits: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max_digits.min(19) || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// A `Content-Length` that is not a number, or two that disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadContentLength;

/// `Content-Length` (or SIP's compact `l`, RFC 3261 §7.3.3) of a head: `Ok(0)` when absent.
pub fn content_length(head: &[u8]) -> Result<u64, BadContentLength> {
    let mut found: Option<u64> = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let n = decimal(line[colon + 1..].trim_ascii(), 19).ok_or(BadContentLength)?;
        if found.is_some_and(|f| f != n) {
            return Err(BadContentLength);
        }
        found = Some(n);
    }
    Ok(found.unwrap_or(0))
}

/// The length of a whole, well-formed message at the start of `data` that fits `max`, if
/// there is one (anything else takes the buffered path, which also counts what is wrong).
fn whole_message(data: &[u8], max: usize) -> Option<usize> {
    let window = &data[..data.len().min(max)];
    let end = head_end(window, 0)?;
    let first = window.split(|&b| b == b'\n').next()?;
    if !looks_like_start_line(first) {
        return None;
    }
    let total = (end as u64).checked_add(content_length(&window[..end]).ok()?)?;
    (total <= window.len() as u64).then_some(total as usize)
}

/// A protocol version token: `NAME/D.D` (`SIP/2.0`, `RTSP/1.0`), NAME upper-case letters.
fn is_version(tok: &[u8]) -> bool {
    let Some(slash) = tok.iter().position(|&b| b == b'/') else {
        return false;
    };
    let (name, ver) = (&tok[..slash], &tok[slash + 1..]);
    !name.is_empty()
        && name.iter().all(u8::is_ascii_uppercase)
        && ver.len() == 3
        && ver[0].is_ascii_digit()
        && ver[1] == b'.'
        && ver[2].is_ascii_digit()
}

/// A request line (`INVITE sip:bob@example.com SIP/2.0`) or a status line (`RTSP/1.0 200 OK`).
pub fn looks_like_start_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut words = line.split(|&b| b == b' ');
    let (Some(first), Some(second)) = (words.next(), words.next()) else {
        return false;
    };
    if is_version(first) {
        return second.len() == 3 && second.iter().all(u8::is_ascii_digit);
    }
    let last = line.rsplit(|&b| b == b' ').next().unwrap_or(b"");
    !first.is_empty()
        && first
            .iter()
            .all(|b| b.is_ascii_uppercase() || *b == b'_' || *b == b'-')
        && is_version(last)
}

impl MessageBuffer {
    /// Feeds a segment's payload starting at sequence number `seq`; calls `on_message` with
    /// every message it completes (head and body, as sent).
    pub fn feed(
        &mut self,
        seq: u32,
        data: &[u8],
        max: usize,
        mut on_message: impl FnMut(&[u8]),
    ) -> MessageNotes {
        let mut notes = MessageNotes::default();
        let Some(mut data) = self.seq.fresh(seq, data, &mut notes.stream) else {
            return notes;
        };
        if notes.stream.gap {
            // Whatever was in progress is incomplete.
            self.buf.clear();
            self.state = State::Resync;
        }
        while !data.is_empty() {
            data = self.step(data, max, &mut notes, &mut on_message);
        }
        notes
    }

    /// Consumes some of `data`; returns the rest.
    fn step<'d>(
        &mut self,
        data: &'d [u8],
        max: usize,
        notes: &mut MessageNotes,
        on_message: &mut impl FnMut(&[u8]),
    ) -> &'d [u8] {
        match self.state {
            State::Head => {
                if self.buf.is_empty() {
                    // Between messages: keep-alive line ends, or an interleaved frame.
                    let skip = data
                        .iter()
                        .position(|&b| b != b'\r' && b != b'\n')
                        .unwrap_or(data.len());
                    if skip > 0 {
                        return &data[skip..];
                    }
                    if data[0] == b'$' {
                        self.state = State::Interleaved {
                            header: 1,
                            len: [0; 2],
                            left: 0,
                        };
                        return &data[1..];
                    }
                }
                if self.buf.is_empty()
                    && let Some(n) = whole_message(data, max)
                {
                    // The usual case: the segment holds the whole message; no copy.
                    on_message(&data[..n]);
                    return &data[n..];
                }
                let from = self.buf.len();
                let room = max.saturating_sub(from);
                let take = data.len().min(room.max(1));
                self.buf.extend_from_slice(&data[..take]);
                if let Some(end) = head_end(&self.buf, from) {
                    // Bytes after the head go back to the stream.
                    let extra = self.buf.len() - end;
                    self.buf.truncate(end);
                    let rest = &data[take - extra..];
                    self.head_done(max, notes, on_message);
                    return rest;
                }
                if self.buf.len() >= max {
                    notes.overlong += 1;
                    self.buf.clear();
                    self.state = State::Resync;
                }
                &data[take..]
            }
            State::Body { total } => {
                let take = (total - self.buf.len()).min(data.len());
                self.buf.extend_from_slice(&data[..take]);
                if self.buf.len() == total {
                    on_message(&self.buf);
                    self.buf.clear();
                    self.state = State::Head;
                }
                &data[take..]
            }
            State::SkipBody { left } => {
                let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                let left = left - take as u64;
                self.state = if left == 0 {
                    State::Head
                } else {
                    State::SkipBody { left }
                };
                &data[take..]
            }
            State::Interleaved {
                mut header,
                mut len,
                left,
            } => {
                if header < 4 {
                    // Header bytes 1 (channel), 2 and 3 (length, network order).
                    if header >= 2 {
                        len[usize::from(header) - 2] = data[0];
                    }
                    header += 1;
                    let left = if header == 4 {
                        usize::from(u16::from_be_bytes(len))
                    } else {
                        0
                    };
                    self.state = if header == 4 && left == 0 {
                        State::Head
                    } else {
                        State::Interleaved { header, len, left }
                    };
                    return &data[1..];
                }
                let take = left.min(data.len());
                self.state = if take == left {
                    State::Head
                } else {
                    State::Interleaved {
                        header,
                        len,
                        left: left - take,
                    }
                };
                &data[take..]
            }
            State::Resync | State::ResyncLong => {
                let (line, complete) = match data.iter().position(|&b| b == b'\n') {
                    Some(i) => (&data[..=i], true),
                    None => (data, false),
                };
                if self.state == State::Resync {
                    if self.buf.len() + line.len() > max.min(1024) {
                        self.buf.clear();
                        self.state = State::ResyncLong;
                    } else {
                        self.buf.extend_from_slice(line);
                    }
                }
                if complete {
                    let start = self.state == State::Resync
                        && looks_like_start_line(self.buf.strip_suffix(b"\n").unwrap_or(&[]));
                    if start {
                        // The start line begins the next message's head (kept in `buf`).
                        self.state = State::Head;
                    } else {
                        self.buf.clear();
                        self.state = State::Resync;
                    }
                }
                &data[line.len()..]
            }
        }
    }

    /// A whole head is in `buf`: decide on its body.
    fn head_done(
        &mut self,
        max: usize,
        notes: &mut MessageNotes,
        on_message: &mut impl FnMut(&[u8]),
    ) {
        let first_line = self.buf.split(|&b| b == b'\n').next().unwrap_or(b"");
        if !looks_like_start_line(first_line) {
            notes.not_a_message += 1;
            self.buf.clear();
            self.state = State::Resync;
            return;
        }
        let Ok(body) = content_length(&self.buf) else {
            notes.bad_length += 1;
            self.buf.clear();
            self.state = State::Resync;
            return;
        };
        let total = (self.buf.len() as u64).saturating_add(body);
        if total > max as u64 {
            notes.overlong += 1;
            self.buf.clear();
            self.state = if body == 0 {
                State::Head
            } else {
                State::SkipBody { left: body }
            };
            return;
        }
        if body == 0 {
            on_message(&self.buf);
            self.buf.clear();
            self.state = State::Head;
        } else {
            self.state = State::Body {
                total: total as usize,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(
        b: &mut MessageBuffer,
        segs: &[(u32, &[u8])],
        max: usize,
    ) -> (Vec<Vec<u8>>, MessageNotes) {
        let mut out = Vec::new();
        let mut all = MessageNotes::default();
        for (seq, data) in segs {
            let n = b.feed(*seq, data, max, |m| out.push(m.to_vec()));
            all.overlong += n.overlong;
            all.bad_length += n.bad_length;
            all.not_a_message += n.not_a_message;
            all.stream.gap |= n.stream.gap;
            all.stream.retransmitted |= n.stream.retransmitted;
        }
        (out, all)
    }

    const INVITE: &[u8] =
        b"INVITE sip:bob@198.18.0.2 SIP/2.0\r\nCall-ID: a\r\nContent-Length: 5\r\n\r\nv=0\r\n";
    const OK: &[u8] = b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n";

    #[test]
    fn messages_split_and_joined_over_segments() {
        let mut stream = INVITE.to_vec();
        stream.extend_from_slice(b"\r\n\r\n"); // keep-alive between messages
        stream.extend_from_slice(OK);
        stream.extend_from_slice(INVITE);
        // Every split point: the same three messages.
        for cut in 1..stream.len() {
            let mut b = MessageBuffer::default();
            let (out, notes) = feed_all(
                &mut b,
                &[(100, &stream[..cut]), (100 + cut as u32, &stream[cut..])],
                4096,
            );
            assert_eq!(
                out,
                vec![INVITE.to_vec(), OK.to_vec(), INVITE.to_vec()],
                "cut at {cut}"
            );
            assert_eq!(notes, MessageNotes::default());
        }
    }

    #[test]
    fn interleaved_frames_are_skipped() {
        let mut stream = b"$\x00\x00\x05ABCDE".to_vec();
        stream.extend_from_slice(b"RTSP/1.0 200 OK\r\nCSeq: 3\r\n\r\n");
        stream.extend_from_slice(b"$\x01\x00\x00");
        stream.extend_from_slice(b"$\x01\x00\x02\r\n");
        stream.extend_from_slice(b"TEARDOWN rtsp://h/s RTSP/1.0\r\nCSeq: 4\r\n\r\n");
        for cut in 1..stream.len() {
            let mut b = MessageBuffer::default();
            let (out, _) = feed_all(
                &mut b,
                &[(1, &stream[..cut]), (1 + cut as u32, &stream[cut..])],
                4096,
            );
            assert_eq!(out.len(), 2, "cut at {cut}");
            assert!(out[1].starts_with(b"TEARDOWN"));
        }
    }

    #[test]
    fn a_gap_resynchronises_at_the_next_start_line() {
        let mut b = MessageBuffer::default();
        let (out, notes) = feed_all(
            &mut b,
            &[
                (1, &INVITE[..20]),
                // 10 bytes never seen, then the rest of the body and a whole message.
                (31, &INVITE[30..]),
                (1 + INVITE.len() as u32, OK),
            ],
            4096,
        );
        assert!(notes.stream.gap);
        assert_eq!(out, vec![OK.to_vec()]);
    }

    #[test]
    fn retransmission_is_used_once() {
        let mut b = MessageBuffer::default();
        let (out, notes) = feed_all(&mut b, &[(1, INVITE), (1, INVITE)], 4096);
        assert_eq!(out.len(), 1);
        assert!(notes.stream.retransmitted);
    }

    #[test]
    fn hostile_lengths_are_bounded_and_counted() {
        // A 4 GB body: skipped by count, never stored; the stream is consumed.
        let mut b = MessageBuffer::default();
        let head = b"INVITE sip:x SIP/2.0\r\nContent-Length: 4294967296\r\n\r\n";
        let (out, notes) = feed_all(
            &mut b,
            &[(1, head), (1 + head.len() as u32, &[b'x'; 3000])],
            4096,
        );
        assert!(out.is_empty());
        assert_eq!(notes.overlong, 1);
        assert!(b.buf.capacity() <= 8192);
        // A multi-megabyte head: skipped, then the next message is found.
        let mut b = MessageBuffer::default();
        let mut big = b"INVITE sip:x SIP/2.0\r\n".to_vec();
        for _ in 0..100_000 {
            big.extend_from_slice(b"Via: SIP/2.0/UDP 198.18.0.1\r\n");
        }
        big.extend_from_slice(b"\r\n");
        big.extend_from_slice(OK);
        let (out, notes) = feed_all(&mut b, &[(1, &big)], 65536);
        assert_eq!(out, vec![OK.to_vec()]);
        assert_eq!(notes.overlong, 1);
        assert!(b.buf.capacity() <= 2 * 65536);
        // A bad or contradictory length: refused, resynchronised.
        for bad in [
            &b"Content-Length: x1\r\n"[..],
            b"Content-Length: 1\r\nl: 2\r\n",
            b"Content-Length:\r\n",
        ] {
            let mut msg = b"SIP/2.0 180 Ringing\r\n".to_vec();
            msg.extend_from_slice(bad);
            msg.extend_from_slice(b"\r\n");
            msg.extend_from_slice(OK);
            let mut b = MessageBuffer::default();
            let (out, notes) = feed_all(&mut b, &[(1, &msg)], 4096);
            assert_eq!(out, vec![OK.to_vec()]);
            assert_eq!(notes.bad_length, 1);
        }
    }

    #[test]
    fn start_lines() {
        assert!(looks_like_start_line(b"INVITE sip:bob@b SIP/2.0"));
        assert!(looks_like_start_line(b"SIP/2.0 200 OK\r"));
        assert!(looks_like_start_line(b"RTSP/1.0 454 Session Not Found"));
        assert!(looks_like_start_line(b"SET_PARAMETER rtsp://h/s RTSP/1.0"));
        assert!(!looks_like_start_line(b"v=0"));
        assert!(!looks_like_start_line(b"Via: SIP/2.0/UDP h"));
        assert!(!looks_like_start_line(b"invite sip:x SIP/2.0"));
        assert!(!looks_like_start_line(b""));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_segments_never_panic_and_stay_bounded(
            segs in proptest::collection::vec((0u32..64, proptest::collection::vec(proptest::num::u8::ANY, 0..300)), 0..20)
        ) {
            let mut b = MessageBuffer::default();
            let mut seq = 0u32;
            for (skip, data) in segs {
                seq = seq.wrapping_add(skip % 3 * skip);
                b.feed(seq, &data, 256, |m| assert!(m.len() <= 256));
                seq = seq.wrapping_add(data.len() as u32);
                proptest::prop_assert!(b.buf.len() <= 1024);
            }
        }
    }
}
