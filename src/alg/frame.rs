//! One direction of a TCP control stream cut into binary messages that open with their own
//! length (PPTP, RFC 2637 §2: every control message starts with its 16-bit total length).
//!
//! Like [`super::stream::LineBuffer`] the buffer follows the TCP sequence space, so every byte
//! reaches the ALG once and in order (a retransmitted segment is not fed again). A message
//! split over segments is gathered; a segment holding whole messages hands them over without
//! a copy. A length below the header or above the ALG's bound, or a header without the
//! protocol's marker (PPTP's magic cookie), means the stream is not where a message starts
//! (garbage, or bytes lost in a gap): the buffer then looks for the marker to find the next
//! message. Memory is bounded by the ALG's `max_line`.

use super::stream::{SeqSpace, StreamNotes};

/// How a protocol frames its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthFraming {
    /// Where the 16-bit big-endian length of the whole message sits.
    pub len_at: usize,
    /// The shortest message (its fixed header).
    pub min_len: usize,
    /// Bytes every message carries at `marker_at` (PPTP's magic cookie, RFC 2637 §2.1); they
    /// let the buffer find the next message after a gap.
    pub marker_at: usize,
    pub marker: &'static [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// At a message boundary, or inside a message whose start `buf` holds.
    #[default]
    Message,
    /// Not at a message boundary: looking for the marker (`buf` keeps the last bytes seen,
    /// which may be the start of the next message).
    Resync,
}

#[derive(Debug, Clone, Default)]
pub struct FrameBuffer {
    seq: SeqSpace,
    buf: Vec<u8>,
    state: State,
}

/// What a segment's bytes came to, beyond the messages it completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameNotes {
    pub stream: StreamNotes,
    /// Stretches of bytes that were not a message (skipped to the next marker).
    pub not_a_message: u32,
}

/// Where the message at the start of `b` ends: `Ok(Some(len))` when its header is in `b`,
/// `Ok(None)` when more bytes are needed, `Err(())` when `b` does not start a message.
fn message_len(b: &[u8], f: &LengthFraming, max: usize) -> Result<Option<usize>, ()> {
    let header = (f.len_at + 2).max(f.marker_at + f.marker.len());
    if b.len() < header {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes([b[f.len_at], b[f.len_at + 1]]));
    if len < f.min_len.max(header)
        || len > max
        || &b[f.marker_at..f.marker_at + f.marker.len()] != f.marker
    {
        return Err(());
    }
    Ok(Some(len))
}

impl FrameBuffer {
    /// Feeds a segment's payload starting at sequence number `seq`; calls `on_message` with
    /// every message it completes.
    pub fn feed(
        &mut self,
        seq: u32,
        data: &[u8],
        framing: &LengthFraming,
        max: usize,
        mut on_message: impl FnMut(&[u8]),
    ) -> FrameNotes {
        let mut notes = FrameNotes::default();
        let Some(data) = self.seq.fresh(seq, data, &mut notes.stream) else {
            return notes;
        };
        if notes.stream.gap {
            // Bytes were lost: the message in progress is cut, and this segment may start
            // anywhere in a message.
            self.buf.clear();
            self.state = State::Resync;
        }
        let mut rest = data;
        // Whole messages straight from the segment while nothing is gathered.
        while self.buf.is_empty() && self.state == State::Message && !rest.is_empty() {
            match message_len(rest, framing, max) {
                Ok(Some(len)) if len <= rest.len() => {
                    on_message(&rest[..len]);
                    rest = &rest[len..];
                }
                // A header that is not one: counted and skipped below.
                Ok(_) | Err(()) => break,
            }
        }
        self.buf.extend_from_slice(rest);
        loop {
            if self.state == State::Resync {
                match find(&self.buf, framing) {
                    Some(at) => {
                        self.buf.drain(..at);
                        self.state = State::Message;
                    }
                    None => {
                        // Keep only what could be the start of a marked header.
                        let keep = framing.marker_at + framing.marker.len();
                        let cut = self.buf.len().saturating_sub(keep);
                        self.buf.drain(..cut);
                        break;
                    }
                }
            }
            match message_len(&self.buf, framing, max) {
                Ok(Some(len)) if len <= self.buf.len() => {
                    on_message(&self.buf[..len]);
                    self.buf.drain(..len);
                }
                Ok(_) => break,
                Err(()) => {
                    notes.not_a_message += 1;
                    // Past this position's marker, so the search moves on.
                    self.buf.drain(..1);
                    self.state = State::Resync;
                }
            }
        }
        notes
    }
}

/// The first position in `b` where a message could start (its marker where the framing puts
/// it).
fn find(b: &[u8], f: &LengthFraming) -> Option<usize> {
    let m = f.marker.len();
    (0..b.len().saturating_sub(f.marker_at + m - 1))
        .find(|&i| b.get(i + f.marker_at..i + f.marker_at + m) == Some(f.marker))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const F: LengthFraming = LengthFraming {
        len_at: 0,
        min_len: 12,
        marker_at: 4,
        marker: &[0x1a, 0x2b, 0x3c, 0x4d],
    };

    /// A PPTP-shaped message of `len` bytes (type `t` in byte 9).
    fn msg(len: u16, t: u8) -> Vec<u8> {
        let mut m = vec![0u8; usize::from(len)];
        m[..2].copy_from_slice(&len.to_be_bytes());
        m[3] = 1;
        m[4..8].copy_from_slice(F.marker);
        m[9] = t;
        m
    }

    fn run(b: &mut FrameBuffer, seq: u32, data: &[u8]) -> (Vec<Vec<u8>>, FrameNotes) {
        let mut out = Vec::new();
        let n = b.feed(seq, data, &F, 256, |m| out.push(m.to_vec()));
        (out, n)
    }

    #[test]
    fn messages_split_and_joined_over_segments_come_out_whole() {
        let (a, c) = (msg(16, 12), msg(32, 8));
        let mut stream = a.clone();
        stream.extend_from_slice(&c);
        let mut b = FrameBuffer::default();
        let (out, _) = run(&mut b, 100, &stream[..20]);
        assert_eq!(out, vec![a.clone()]);
        let (out, _) = run(&mut b, 120, &stream[20..]);
        assert_eq!(out, vec![c]);
        // A retransmission is not fed again.
        let (out, n) = run(&mut b, 100, &stream);
        assert!(out.is_empty() && n.stream.retransmitted);
    }

    #[test]
    fn after_a_gap_or_garbage_the_next_marked_message_is_found() {
        let mut b = FrameBuffer::default();
        let m = msg(24, 15);
        run(&mut b, 0, &m[..10]);
        let mut seg = vec![0xee; 7];
        seg.extend_from_slice(&m);
        let (out, n) = run(&mut b, 50, &seg);
        assert!(n.stream.gap);
        assert_eq!(out, vec![m.clone()]);
        // A length that lies (below the header) is not a message.
        let mut bad = m.clone();
        bad[..2].copy_from_slice(&4u16.to_be_bytes());
        bad.extend_from_slice(&m);
        let mut b = FrameBuffer::default();
        let (out, n) = run(&mut b, 0, &bad);
        assert_eq!(out, vec![m]);
        assert_eq!(n.not_a_message, 1);
    }

    #[test]
    fn an_overlong_length_is_skipped_and_memory_stays_bounded() {
        let mut b = FrameBuffer::default();
        let mut seq = 0u32;
        let mut huge = msg(16, 1);
        huge[..2].copy_from_slice(&60000u16.to_be_bytes());
        run(&mut b, seq, &huge);
        seq += 16;
        for _ in 0..100 {
            run(&mut b, seq, &[0x55; 100]);
            seq += 100;
            assert!(b.buf.len() <= 256);
        }
        let (out, _) = run(&mut b, seq, &msg(16, 12));
        assert_eq!(out, vec![msg(16, 12)]);
    }

    proptest! {
        #[test]
        fn any_cut_of_a_message_stream_gives_the_same_messages(
            lens in proptest::collection::vec(12u16..80, 1..8),
            cuts in proptest::collection::vec(1usize..40, 1..20),
        ) {
            let msgs: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &l)| msg(l, i as u8)).collect();
            let stream: Vec<u8> = msgs.concat();
            let mut b = FrameBuffer::default();
            let mut out = Vec::new();
            let (mut at, mut i) = (0usize, 0usize);
            while at < stream.len() {
                let n = cuts[i % cuts.len()].min(stream.len() - at);
                b.feed(at as u32, &stream[at..at + n], &F, 256, |m| out.push(m.to_vec()));
                at += n;
                i += 1;
            }
            prop_assert_eq!(out, msgs);
        }

        #[test]
        fn any_bytes_stay_bounded(segs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..10)) {
            let mut b = FrameBuffer::default();
            let mut seq = 0u32;
            for s in &segs {
                b.feed(seq, s, &F, 256, |m| assert!(m.len() <= 256));
                seq = seq.wrapping_add(s.len() as u32);
                prop_assert!(b.buf.len() <= 256 + 8);
            }
        }
    }
}
