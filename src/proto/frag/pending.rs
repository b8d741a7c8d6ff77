//! One datagram being reassembled: its pieces by offset, the frames they came in (in arrival
//! order), where each new fragment goes, and the rebuilt datagram.

use std::collections::BTreeMap;

use super::Source;
use crate::drop::DropReason;
use crate::proto::wire::{Family, Fragment, IpInfo};

/// A frame kept for a datagram: the whole link-layer frame and its ingress port when
/// fragments are held inline (`port` set), otherwise the fragment's data alone.
#[derive(Debug)]
pub(super) struct Stored {
    pub bytes: Box<[u8]>,
    pub port: Option<u8>,
}

/// Held data from `start` (its key in `Pending::pieces`) to `end`.
#[derive(Debug)]
pub(super) struct Piece {
    pub end: u32,
    /// Whether more fragments follow (the M flag): an exact duplicate agrees on it too.
    pub more: bool,
    /// The frame holding the data (index in `Pending::frames`) and where the data begins in it.
    pub frame: u32,
    pub at: u32,
}

/// Where a new fragment of a datagram goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// New data: stored as a piece.
    New,
    /// An exact copy of a held piece (range, M flag and bytes): nothing new to reassemble.
    /// Held inline all the same (it leaves, or is dropped, with its datagram), as the kernel
    /// keeps the first copy (`IPFRAG_DUP`).
    Duplicate,
}

/// One datagram being reassembled.
#[derive(Debug)]
pub(super) struct Pending {
    /// Tells this datagram from an earlier one with the same key in the expiry queues.
    pub generation: u64,
    /// Whose share of the pool it is charged to.
    pub source: Source,
    /// The IP fields of the rebuilt header: taken from the offset-0 fragment once it came
    /// (its TTL, and for IPv6 its next header, RFC 8200 §4.5).
    pub ip: IpInfo,
    /// Held fragments by offset; they never overlap.
    pub pieces: BTreeMap<u32, Piece>,
    /// The stored frames in arrival order (duplicates held inline included).
    pub frames: Vec<Stored>,
    /// Frames that went into this datagram, stored or not: when it is dropped each is
    /// counted under the reason.
    pub frame_count: u64,
    /// Data bytes held: with no overlap, complete exactly when it equals `end`.
    pub received: u32,
    /// The payload length, once the final fragment (M = 0) arrived.
    pub end: Option<u32>,
    /// The highest end of any held fragment.
    pub max_end: u32,
    /// Bytes charged to the pool for this datagram.
    pub charged: usize,
}

impl Pending {
    pub fn new(generation: u64, source: Source, ip: IpInfo, charged: usize) -> Pending {
        Pending {
            generation,
            source,
            ip,
            pieces: BTreeMap::new(),
            frames: Vec::new(),
            frame_count: 0,
            received: 0,
            end: None,
            max_end: 0,
            charged,
        }
    }

    /// Where `frag` (data `frag.offset..end`) goes, without changing anything. A fragment that
    /// overlaps held data is `FragmentOverlap` (RFC 5722; a same-range copy with other bytes
    /// or another M flag too, so no receiver can be shown other bytes than we judged);
    /// fragments that disagree on where the datagram ends are `FragmentInconsistent`.
    pub fn place(&self, frag: &Fragment<'_>, end: u32) -> Result<Place, DropReason> {
        let start = frag.offset;
        if let Some(p) = self.pieces.get(&start) {
            let same = p.end == end && p.more == frag.more && self.data(start, p) == frag.data;
            return if same {
                Ok(Place::Duplicate)
            } else {
                Err(DropReason::FragmentOverlap)
            };
        }
        let overlaps_before = self
            .pieces
            .range(..start)
            .next_back()
            .is_some_and(|(_, p)| p.end > start);
        let overlaps_after = self
            .pieces
            .range(start..)
            .next()
            .is_some_and(|(&s, _)| s < end);
        if overlaps_before || overlaps_after {
            return Err(DropReason::FragmentOverlap);
        }
        // RFC 791 §3.2 / RFC 8200 §4.5: all fragments must agree on where the datagram ends.
        let inconsistent = if frag.more {
            self.end.is_some_and(|e| end > e)
        } else {
            self.end.is_some_and(|e| e != end) || self.max_end > end
        };
        if inconsistent {
            return Err(DropReason::FragmentInconsistent);
        }
        Ok(Place::New)
    }

    /// Stores a fragment `place` accepted: its frame (if kept) and, for new data, its piece.
    /// `at` is where the fragment's data begins in `stored`.
    pub fn store(
        &mut self,
        frag: &Fragment<'_>,
        end: u32,
        place: Place,
        stored: Option<Stored>,
        at: usize,
    ) {
        self.frame_count += 1;
        let index = self.frames.len();
        if let Some(s) = stored {
            self.frames.push(s);
        }
        if place == Place::Duplicate {
            return;
        }
        let start = frag.offset;
        let (frame, at) = match (u32::try_from(index), u32::try_from(at)) {
            (Ok(f), Ok(a)) if index < self.frames.len() => (f, a),
            // Not stored: cannot happen for new data (the caller stores it); keep nothing.
            _ => return,
        };
        self.pieces.insert(
            start,
            Piece {
                end,
                more: frag.more,
                frame,
                at,
            },
        );
        if !frag.more {
            self.end = Some(end);
        }
        self.received += end - start;
        self.max_end = self.max_end.max(end);
        if start == 0 {
            self.ip = frag.ip;
        }
    }

    /// The held data of the piece starting at `start`.
    pub fn data(&self, start: u32, p: &Piece) -> &[u8] {
        let len = (p.end - start) as usize;
        let at = p.at as usize;
        self.frames
            .get(p.frame as usize)
            .and_then(|f| f.bytes.get(at..at + len))
            .unwrap_or(&[])
    }

    pub fn is_complete(&self) -> bool {
        self.end == Some(self.received)
    }

    /// The whole datagram with a fresh header (RFC 791 §3.1, RFC 8200 §3).
    pub fn rebuild(&self, id: u32) -> Vec<u8> {
        let ip = &self.ip;
        let payload_len = self.received as usize;
        let mut out;
        match ip.family {
            Family::V4 => {
                let total = (20 + self.received).to_be_bytes();
                let id = id.to_be_bytes();
                let mut h = [
                    0x45, 0, total[2], total[3], id[2], id[3], 0, 0, ip.ttl, ip.proto, 0,
                    0, //
                    ip.src[0], ip.src[1], ip.src[2], ip.src[3], //
                    ip.dst[0], ip.dst[1], ip.dst[2], ip.dst[3],
                ];
                let [c0, c1] = ipv4_checksum(&h).to_be_bytes();
                h[10] = c0;
                h[11] = c1;
                out = Vec::with_capacity(h.len() + payload_len);
                out.extend_from_slice(&h);
            }
            Family::V6 => {
                let plen = self.received.to_be_bytes();
                out = Vec::with_capacity(40 + payload_len);
                out.extend_from_slice(&[0x60, 0, 0, 0, plen[2], plen[3], ip.proto, ip.ttl]);
                out.extend_from_slice(&ip.src);
                out.extend_from_slice(&ip.dst);
            }
        }
        for (&start, piece) in &self.pieces {
            out.extend_from_slice(self.data(start, piece));
        }
        out
    }
}

/// RFC 791 §3.1 header checksum (RFC 1071 one's complement sum).
pub(super) fn ipv4_checksum(h: &[u8; 20]) -> u16 {
    let mut sum: u32 = h
        .chunks_exact(2)
        .map(|w| match w {
            &[a, b] => u32::from(u16::from_be_bytes([a, b])),
            _ => 0,
        })
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
