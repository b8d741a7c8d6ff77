//! One core's packet pipeline: link layer -> IP -> reassembly -> session table.
//!
//! The per-core actor (and, offline, `replay`) feeds frames in order with their time; all
//! state lives here, owned by that one core.

use crate::drop::DropReason;
use crate::proto::frag::{FragLimits, FragOutcome, Reassembler};
use crate::proto::key::FlowHasher;
use crate::proto::wire::{self, Datagram, Frame, LinkType, Packet};
use crate::table::track::BATCH;
use crate::table::{Shard, TableConfig, Tracked};
use smallvec::SmallVec;

/// What became of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOutcome {
    /// Reached the session table (verdict inside). For a fragmented datagram, the frame that
    /// completed it carries the verdict.
    Tracked(Tracked),
    /// Not for session management: not IP.
    NotIp { ethertype: u16 },
    /// A fragment held for reassembly.
    FragmentHeld,
    /// Malformed or refused before the table; counted under `reason`.
    Dropped(DropReason),
}

/// Wheel entries examined per tick: bounded expiry work on the packet path's turn.
const EXPIRE_BUDGET_PER_TICK: usize = 256;
/// How often the packet path gives time to aging (the wheel's resolution is one second).
const TICK_NS: u64 = 10_000_000;

pub struct Pipeline {
    pub shard: Shard,
    pub frag: Reassembler,
    /// Frames that were not IP.
    pub not_ip: u64,
    pub frames: u64,
    next_tick_ns: u64,
    /// Reused by `process_batch` (no allocation per batch once warm).
    batch_scratch: Vec<Tracked>,
}

impl Pipeline {
    pub fn new(core: u8, table: TableConfig, frag: FragLimits, hasher: FlowHasher) -> Pipeline {
        Pipeline {
            shard: Shard::new(core, table, hasher),
            frag: Reassembler::new(frag),
            not_ip: 0,
            frames: 0,
            next_tick_ns: 0,
            batch_scratch: Vec::with_capacity(BATCH),
        }
    }

    /// Runs one frame at `now_ns` (engine clock).
    pub fn process_frame(&mut self, link: LinkType, frame: &[u8], now_ns: u64) -> FrameOutcome {
        self.frames += 1;
        if now_ns >= self.next_tick_ns {
            self.tick(now_ns, EXPIRE_BUDGET_PER_TICK);
            self.next_tick_ns = now_ns + TICK_NS;
        }
        let datagram = match wire::parse_link(link, frame) {
            Ok(Frame::Ip { datagram, .. }) => datagram,
            Ok(Frame::NonIp { ethertype }) => {
                self.not_ip += 1;
                return FrameOutcome::NotIp { ethertype };
            }
            Err(reason) => return self.drop(reason),
        };
        self.process_ip(datagram, now_ns)
    }

    /// Runs a batch of frames received together at `now_ns`, appending one outcome per frame
    /// in order. Whole datagrams are looked up together (`Shard::track_batch`); anything else
    /// (non-IP, fragments, malformed) is handled in its place, so the result is exactly what
    /// `process_frame` frame by frame would give.
    pub fn process_batch(
        &mut self,
        link: LinkType,
        frames: &[&[u8]],
        now_ns: u64,
        out: &mut Vec<FrameOutcome>,
    ) {
        if now_ns >= self.next_tick_ns {
            self.tick(now_ns, EXPIRE_BUDGET_PER_TICK);
            self.next_tick_ns = now_ns + TICK_NS;
        }
        let mut whole: SmallVec<[Packet<'_>; BATCH]> = SmallVec::new();
        let mut tracked: Vec<Tracked> = std::mem::take(&mut self.batch_scratch);
        for frame in frames {
            self.frames += 1;
            let parsed = match wire::parse_link(link, frame) {
                Ok(Frame::Ip { datagram, .. }) => wire::parse_ip(datagram).map(|d| (d, datagram)),
                Ok(Frame::NonIp { ethertype }) => {
                    self.flush(&mut whole, &mut tracked, now_ns, out);
                    self.not_ip += 1;
                    out.push(FrameOutcome::NotIp { ethertype });
                    continue;
                }
                Err(reason) => Err(reason),
            };
            match parsed {
                Ok((Datagram::Whole(pkt), _)) => {
                    whole.push(pkt);
                    if whole.len() == BATCH {
                        self.flush(&mut whole, &mut tracked, now_ns, out);
                    }
                }
                Ok((Datagram::Fragment(_), datagram)) => {
                    self.flush(&mut whole, &mut tracked, now_ns, out);
                    out.push(self.process_ip(datagram, now_ns));
                }
                Err(reason) => {
                    self.flush(&mut whole, &mut tracked, now_ns, out);
                    out.push(self.drop(reason));
                }
            }
        }
        self.flush(&mut whole, &mut tracked, now_ns, out);
        self.batch_scratch = tracked;
    }

    fn flush(
        &mut self,
        whole: &mut SmallVec<[Packet<'_>; BATCH]>,
        tracked: &mut Vec<Tracked>,
        now_ns: u64,
        out: &mut Vec<FrameOutcome>,
    ) {
        if whole.is_empty() {
            return;
        }
        tracked.clear();
        self.shard.track_batch(whole, now_ns, tracked);
        out.extend(tracked.iter().map(|&t| FrameOutcome::Tracked(t)));
        whole.clear();
    }

    /// Runs one IP datagram (raw IP input).
    pub fn process_ip(&mut self, datagram: &[u8], now_ns: u64) -> FrameOutcome {
        match wire::parse_ip(datagram) {
            Ok(Datagram::Whole(pkt)) => FrameOutcome::Tracked(self.shard.track(&pkt, now_ns)),
            Ok(Datagram::Fragment(f)) => match self.frag.push(&f, now_ns) {
                FragOutcome::Held => FrameOutcome::FragmentHeld,
                FragOutcome::Dropped(reason) => self.drop(reason),
                FragOutcome::Complete(whole) => match wire::parse_ip(&whole) {
                    Ok(Datagram::Whole(pkt)) => {
                        FrameOutcome::Tracked(self.shard.track(&pkt, now_ns))
                    }
                    // A reassembled datagram is never a fragment; treat one as inconsistent.
                    Ok(Datagram::Fragment(_)) => self.drop(DropReason::FragmentInconsistent),
                    Err(reason) => self.drop(reason),
                },
            },
            Err(reason) => self.drop(reason),
        }
    }

    /// Time passes: age out sessions and stale fragments (bounded work).
    pub fn tick(&mut self, now_ns: u64, budget: usize) {
        self.shard.expire(now_ns, budget);
        let timed_out = self.frag.expire(now_ns);
        for _ in 0..timed_out {
            self.shard.drops.count(DropReason::FragmentTimeout);
        }
    }

    fn drop(&mut self, reason: DropReason) -> FrameOutcome {
        self.shard.drops.count(reason);
        FrameOutcome::Dropped(reason)
    }
}

/// The core that owns the flow of a frame (`io::owner_core` of its addresses; for an ICMP
/// error, of the packet it quotes, whose session it belongs to). Frames that are not IP or
/// cannot be parsed go to core 0, which counts them.
pub fn frame_owner(link: LinkType, frame: &[u8], cores: usize) -> usize {
    if cores <= 1 {
        return 0;
    }
    let Ok(Frame::Ip { datagram, .. }) = wire::parse_link(link, frame) else {
        return 0;
    };
    let width = |f: wire::Family| if f == wire::Family::V4 { 4 } else { 16 };
    match wire::parse_ip(datagram) {
        Ok(Datagram::Whole(pkt)) => {
            let mut ip = pkt.ip;
            if let wire::L4::Icmp(m) | wire::L4::Icmpv6(m) = pkt.l4
                && crate::proto::icmp::is_error(pkt.ip.proto, m.ty)
                && let Ok(inner) = wire::parse_quoted(pkt.ip.family, m.rest)
            {
                ip = inner.ip;
            }
            let w = width(ip.family);
            crate::io::owner_core(&ip.src[..w], &ip.dst[..w], cores)
        }
        Ok(Datagram::Fragment(f)) => {
            let w = width(f.ip.family);
            crate::io::owner_core(&f.ip.src[..w], &f.ip.dst[..w], cores)
        }
        Err(_) => 0,
    }
}
