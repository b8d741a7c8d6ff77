//! One direction of a TCP stream cut into TPKT packets (RFC 1006 §6, as H.225.0 and H.245 use
//! it over TCP, H.225.0 §7.1): version 3, a reserved octet, a 16-bit length that counts the
//! 4-octet header, then the payload.
//!
//! Like the line and message buffers it follows the TCP sequence space, so a TPKT split over
//! segments (the header alone in one segment is common: some stacks write it separately) is
//! put together once and in order, and a retransmission is not fed twice. A packet wholly in
//! one segment is handed over without a copy. After a gap (bytes never seen) the framing is
//! lost: the buffer resynchronises at the next segment that starts with a TPKT header.
//! Memory is bounded by the ALG's maximum; a longer packet is skipped by count.

use super::stream::{SeqSpace, StreamNotes};

const HEADER: usize = 4;
const VERSION: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// At a packet boundary, or inside a packet (`buf` holds it so far).
    #[default]
    Packet,
    /// Skipping `left` bytes of a packet too long to keep.
    Skip { left: usize },
    /// Framing lost: waiting for a segment that starts with a header.
    Lost,
}

#[derive(Debug, Clone, Default)]
pub struct TpktBuffer {
    seq: SeqSpace,
    buf: Vec<u8>,
    state: State,
}

/// What a segment's bytes came to, beyond the packets it completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TpktNotes {
    pub stream: StreamNotes,
    /// Packets longer than the bound (skipped).
    pub overlong: u32,
    /// Bytes that are not a TPKT header where one is due (framing lost until the next
    /// segment that starts with one).
    pub not_tpkt: u32,
}

/// The total length (header included) of the TPKT whose header starts `data`, if `data` holds
/// a whole header; `Err` if it is not a TPKT header.
fn header(data: &[u8]) -> Option<Result<usize, ()>> {
    let h = data.get(..HEADER)?;
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    Some(if h[0] == VERSION && len >= HEADER {
        Ok(len)
    } else {
        Err(())
    })
}

impl TpktBuffer {
    /// Feeds a segment's payload starting at sequence number `seq`; calls `on_packet` with the
    /// payload (after the header) of every TPKT it completes.
    pub fn feed(
        &mut self,
        seq: u32,
        data: &[u8],
        max: usize,
        mut on_packet: impl FnMut(&[u8]),
    ) -> TpktNotes {
        let mut notes = TpktNotes::default();
        let Some(mut data) = self.seq.fresh(seq, data, &mut notes.stream) else {
            return notes;
        };
        if notes.stream.gap {
            self.buf.clear();
            self.state = State::Lost;
        }
        if self.state == State::Lost {
            if header(data).is_some_and(|h| h.is_ok()) {
                self.state = State::Packet;
            } else {
                return notes;
            }
        }
        while !data.is_empty() {
            match self.state {
                State::Lost => return notes,
                State::Skip { left } => {
                    let n = left.min(data.len());
                    data = &data[n..];
                    self.state = if n == left {
                        State::Packet
                    } else {
                        State::Skip { left: left - n }
                    };
                }
                State::Packet if self.buf.is_empty() => {
                    // The fast path: a whole packet in this segment, used in place.
                    match header(data) {
                        Some(Ok(len)) if len <= data.len() && len - HEADER <= max => {
                            on_packet(&data[HEADER..len]);
                            data = &data[len..];
                        }
                        Some(Ok(len)) if len - HEADER > max => {
                            notes.overlong += 1;
                            self.state = State::Skip { left: len };
                        }
                        Some(Err(())) => {
                            notes.not_tpkt += 1;
                            self.state = State::Lost;
                        }
                        // A header or packet continued in the next segment.
                        _ => {
                            self.buf.extend_from_slice(data);
                            data = &[];
                        }
                    }
                }
                State::Packet => {
                    if self.buf.len() < HEADER {
                        let n = (HEADER - self.buf.len()).min(data.len());
                        self.buf.extend_from_slice(&data[..n]);
                        data = &data[n..];
                        continue;
                    }
                    match header(&self.buf) {
                        Some(Ok(len)) if len - HEADER > max => {
                            notes.overlong += 1;
                            let seen = self.buf.len();
                            self.buf.clear();
                            self.state = State::Skip { left: len - seen };
                        }
                        Some(Ok(len)) => {
                            let n = (len - self.buf.len()).min(data.len());
                            self.buf.extend_from_slice(&data[..n]);
                            data = &data[n..];
                            if self.buf.len() == len {
                                on_packet(&self.buf[HEADER..]);
                                self.buf.clear();
                            }
                        }
                        _ => {
                            notes.not_tpkt += 1;
                            self.buf.clear();
                            self.state = State::Lost;
                        }
                    }
                }
            }
        }
        // A packet of exactly the header completes with no payload bytes left to feed.
        if let (State::Packet, Some(Ok(HEADER))) = (self.state, header(&self.buf)) {
            on_packet(&[]);
            self.buf.clear();
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(b: &mut TpktBuffer, seq: u32, data: &[u8]) -> (Vec<Vec<u8>>, TpktNotes) {
        let mut v = Vec::new();
        let n = b.feed(seq, data, 100, |p| v.push(p.to_vec()));
        (v, n)
    }

    #[test]
    fn a_header_alone_then_its_payload() {
        let mut b = TpktBuffer::default();
        assert!(collect(&mut b, 1, &[3, 0, 0, 7]).0.is_empty());
        let (v, _) = collect(&mut b, 5, &[1, 2, 3, 3, 0, 0, 5, 9]);
        assert_eq!(v, vec![vec![1, 2, 3], vec![9]]);
        // Retransmitted: nothing again.
        let (v, n) = collect(&mut b, 5, &[1, 2, 3, 3, 0, 0, 5, 9]);
        assert!(v.is_empty() && n.stream.retransmitted);
    }

    #[test]
    fn overlong_packets_are_skipped_by_count() {
        let mut b = TpktBuffer::default();
        let mut seg = vec![3, 0, 0x01, 0x00];
        seg.extend_from_slice(&[0xAA; 100]);
        let (v, n) = collect(&mut b, 1, &seg);
        assert!(v.is_empty());
        assert_eq!(n.overlong, 1);
        let mut rest = vec![0xAA; 152];
        rest.extend_from_slice(&[3, 0, 0, 5, 7]);
        let (v, _) = collect(&mut b, 1 + seg.len() as u32, &rest);
        assert_eq!(v, vec![vec![7]]);
    }

    #[test]
    fn garbage_and_gaps_lose_the_framing_until_a_header() {
        let mut b = TpktBuffer::default();
        let (v, n) = collect(&mut b, 1, &[0x41, 0x42, 0x43, 0x44, 0x45]);
        assert!(v.is_empty());
        assert_eq!(n.not_tpkt, 1);
        let (v, _) = collect(&mut b, 6, &[0x41]);
        assert!(v.is_empty());
        let (v, _) = collect(&mut b, 7, &[3, 0, 0, 5, 1]);
        assert_eq!(v, vec![vec![1]]);
        // A gap: the next segment does not start a packet, so nothing until one does.
        let (v, n) = collect(&mut b, 100, &[0, 0, 5, 1]);
        assert!(v.is_empty() && n.stream.gap);
        let (v, _) = collect(&mut b, 104, &[3, 0, 0, 4]);
        assert_eq!(v, vec![Vec::<u8>::new()]);
    }
}
