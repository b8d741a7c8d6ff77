//! One direction of a TCP control stream, cut into lines for an ALG.
//!
//! A line may be split over segments (a 227 reply in two), a segment may be sent again
//! (retransmission) or overlap bytes already seen. The buffer follows the sequence space
//! (RFC 9293 §3.4) so every byte reaches the ALG once and in order; bytes that were never seen
//! (a gap: capture loss, a segment routed around us) end the partial line, which is dropped
//! rather than guessed. Memory is bounded: a partial line longer than the ALG's `max_line` is
//! skipped up to its end.

/// What became of a segment besides the lines it completed (counted by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamNotes {
    /// The whole segment had been seen before.
    pub retransmitted: bool,
    /// Part of the segment had been seen before; only the new bytes were used.
    pub overlapped: bool,
    /// Bytes before this segment were never seen: the partial line was dropped.
    pub gap: bool,
    /// A line exceeded the bound and was skipped.
    pub overlong: bool,
}

/// Where one direction of a stream stands in its sequence space: what has been used.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SeqSpace {
    /// The sequence number of the next byte expected (after the last byte used).
    next_seq: Option<u32>,
}

impl SeqSpace {
    /// The bytes of a segment (`data` at `seq`) not used before; `None` when all were. Notes a
    /// retransmission, an overlap (the bytes seen are cut off) and a gap (bytes before this
    /// segment never seen: the caller drops what it had in progress).
    pub(crate) fn fresh<'d>(
        &mut self,
        seq: u32,
        data: &'d [u8],
        notes: &mut StreamNotes,
    ) -> Option<&'d [u8]> {
        if data.is_empty() {
            return None;
        }
        let end = seq.wrapping_add(data.len() as u32);
        let mut data = data;
        match self.next_seq {
            None => {}
            Some(next) if !before(next, end) => {
                notes.retransmitted = true;
                return None;
            }
            Some(next) if before(seq, next) => {
                notes.overlapped = true;
                data = &data[next.wrapping_sub(seq) as usize..];
            }
            Some(next) if before(next, seq) => notes.gap = true,
            Some(_) => {}
        }
        self.next_seq = Some(end);
        Some(data)
    }
}

#[derive(Debug, Clone, Default)]
pub struct LineBuffer {
    seq: SeqSpace,
    /// The partial line so far (at most `max_line` bytes).
    partial: Vec<u8>,
    /// Skipping the rest of an overlong (or gap-cut) line until its LF.
    skipping: bool,
}

/// `a` comes before `b` in sequence space (RFC 9293 §3.4, modulo 2^32).
#[inline]
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl LineBuffer {
    /// Feeds a segment's payload starting at sequence number `seq`; calls `on_line` with every
    /// line it completes (without CR LF).
    pub fn feed(
        &mut self,
        seq: u32,
        data: &[u8],
        max_line: usize,
        mut on_line: impl FnMut(&[u8]),
    ) -> StreamNotes {
        let mut notes = StreamNotes::default();
        let Some(data) = self.seq.fresh(seq, data, &mut notes) else {
            return notes;
        };
        if notes.gap {
            // The line in progress is incomplete, and so is the start of this segment's
            // first line.
            self.partial.clear();
            self.skipping = true;
        }
        for chunk in data.split_inclusive(|&b| b == b'\n') {
            let complete = chunk.last() == Some(&b'\n');
            let body = if complete {
                &chunk[..chunk.len() - 1]
            } else {
                chunk
            };
            if !self.skipping {
                if self.partial.len() + body.len() > max_line {
                    notes.overlong = true;
                    self.partial.clear();
                    self.skipping = true;
                } else {
                    self.partial.extend_from_slice(body);
                }
            }
            if complete {
                if !self.skipping {
                    let line = self.partial.strip_suffix(b"\r").unwrap_or(&self.partial);
                    on_line(line);
                }
                self.partial.clear();
                self.skipping = false;
            }
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(buf: &mut LineBuffer, seq: u32, data: &[u8]) -> (Vec<String>, StreamNotes) {
        let mut lines = Vec::new();
        let n = buf.feed(seq, data, 64, |l| {
            lines.push(String::from_utf8_lossy(l).into_owned())
        });
        (lines, n)
    }

    #[test]
    fn a_line_split_over_two_segments_is_whole() {
        let mut b = LineBuffer::default();
        let (l, _) = run(&mut b, 100, b"227 Entering Passive Mode (19");
        assert!(l.is_empty());
        let (l, _) = run(&mut b, 129, b"8,18,0,2,156,64).\r\n150 ok\r\n");
        assert_eq!(
            l,
            vec!["227 Entering Passive Mode (198,18,0,2,156,64).", "150 ok"]
        );
    }

    #[test]
    fn retransmissions_and_overlaps_are_used_once() {
        let mut b = LineBuffer::default();
        run(&mut b, 1, b"PORT 1,2,");
        let (l, n) = run(&mut b, 1, b"PORT 1,2,");
        assert!(l.is_empty() && n.retransmitted);
        let (l, n) = run(&mut b, 6, b"1,2,3,4,5,6\r\n");
        assert!(n.overlapped);
        assert_eq!(l, vec!["PORT 1,2,3,4,5,6"]);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut b = LineBuffer::default();
        let start = u32::MAX - 3;
        run(&mut b, start, b"abcdef");
        let (l, n) = run(&mut b, start.wrapping_add(6), b"g\n");
        assert_eq!(l, vec!["abcdefg"]);
        assert_eq!(n, StreamNotes::default());
    }

    #[test]
    fn a_gap_drops_the_cut_line_only() {
        let mut b = LineBuffer::default();
        run(&mut b, 0, b"227 Entering (1,2");
        let (l, n) = run(&mut b, 40, b"3,4)\r\n200 fine\r\n");
        assert!(n.gap);
        assert_eq!(l, vec!["200 fine"]);
    }

    #[test]
    fn overlong_lines_are_skipped_and_memory_stays_bounded() {
        let mut b = LineBuffer::default();
        let mut seq = 0u32;
        let mut overlong = false;
        for _ in 0..100 {
            let (l, n) = run(&mut b, seq, &[b'x'; 50]);
            assert!(l.is_empty());
            overlong |= n.overlong;
            seq += 50;
            assert!(b.partial.len() <= 64);
        }
        assert!(overlong);
        let (l, _) = run(&mut b, seq, b"tail\nnext\n");
        assert_eq!(l, vec!["next"]);
    }
}
