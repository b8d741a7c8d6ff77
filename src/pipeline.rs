//! One core's packet pipeline: link layer -> IP -> reassembly -> session table.
//!
//! The per-core actor (and, offline, `replay`) feeds frames in order with their time; all
//! state lives here, owned by that one core.

use crate::drop::DropReason;
use crate::proto::frag::{FragLimits, FragOutcome, Original, Reassembler, Release};
use crate::proto::key::{FlowHasher, FlowKey};
use crate::proto::wire::{self, Datagram, Frame, LinkType, Packet};
use crate::table::track::{BATCH, Prepared};
use crate::table::{Shard, TableConfig, Tracked, Verdict};
use smallvec::SmallVec;

/// What became of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOutcome {
    /// Reached the session table (verdict inside). For a fragmented datagram, the frame that
    /// completed it carries the verdict.
    Tracked(Tracked),
    /// Not for session management: not IP.
    NotIp { ethertype: u16 },
    /// A fragment held for reassembly. Holding inline, its frame is kept: it leaves with its
    /// datagram (`Pipeline::take_released`) or is dropped and counted with it.
    FragmentHeld,
    /// Holding inline: the frame completed its datagram and the verdict (inside) passes it;
    /// it leaves after the datagram's earlier fragments, in arrival order, from
    /// `Pipeline::take_released`, not by itself.
    Released(Tracked),
    /// A late exact copy of a fragment of a datagram that passed (within the reassembly
    /// timeout): it passes too.
    FragmentPassed,
    /// Malformed or refused before the table; counted under `reason`.
    Dropped(DropReason),
}

/// Frames `Pipeline::process_frames` runs: their bytes and, where known, the port they came
/// in on, their own time, and whether the capture cut them short.
pub trait FrameSource {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn data(&self, i: usize) -> &[u8];
    /// The engine clock of frame `i`, nanoseconds.
    fn time(&self, i: usize) -> u64;
    /// The ingress port; `None`: the current one.
    fn port(&self, _i: usize) -> Option<u8> {
        None
    }
    /// The capture holds fewer bytes of the frame than travelled (`tcpdump -s`).
    fn cut(&self, _i: usize) -> bool {
        false
    }
}

/// Whole datagrams gathered to be looked up together, with their lookup keys, ports and
/// times.
#[derive(Default)]
struct Gathered<'a> {
    packets: SmallVec<[Packet<'a>; BATCH]>,
    preps: SmallVec<[Prepared; BATCH]>,
    ports: SmallVec<[u8; BATCH]>,
    times: SmallVec<[u64; BATCH]>,
}

/// A receive batch: frames that arrived together, one clock reading.
struct Received<'a> {
    frames: &'a [&'a [u8]],
    ports: &'a [u8],
    now_ns: u64,
}

impl FrameSource for Received<'_> {
    fn len(&self) -> usize {
        self.frames.len()
    }
    fn data(&self, i: usize) -> &[u8] {
        self.frames[i]
    }
    fn time(&self, _i: usize) -> u64 {
        self.now_ns
    }
    fn port(&self, i: usize) -> Option<u8> {
        self.ports.get(i).copied()
    }
}

/// Wheel entries examined per tick: bounded expiry work on the packet path's turn.
const EXPIRE_BUDGET_PER_TICK: usize = 256;
/// How often the packet path gives time to aging (the wheel's resolution is one second).
const TICK_NS: u64 = 10_000_000;

/// Frames that are not IP, passed untracked by design (inline they are bridged: ARP must
/// work), counted by kind so an unexpected protocol on the wire is visible.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotIpCounts {
    /// ARP and RARP (EtherType 0x0806, 0x8035).
    pub arp: u64,
    /// Any other EtherType (LLDP, STP's LLC frames, MPLS, PPPoE, ...).
    pub other: u64,
}

impl NotIpCounts {
    #[inline]
    fn count(&mut self, ethertype: u16) {
        if matches!(ethertype, 0x0806 | 0x8035) {
            self.arp += 1;
        } else {
            self.other += 1;
        }
    }

    pub fn total(&self) -> u64 {
        self.arp + self.other
    }
}

pub struct Pipeline {
    pub shard: Shard,
    pub frag: Reassembler,
    /// Inline: hold every fragment of a datagram until the verdict on the whole datagram,
    /// then release them all or drop them all (frames with a known ingress port). Off for
    /// monitoring and replay, which keep no frames.
    pub hold_fragments: bool,
    /// Held frames whose datagram passed, in arrival order, for the core to send.
    released: Vec<Release>,
    /// Frames that were not IP, by kind.
    pub not_ip: NotIpCounts,
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
            hold_fragments: false,
            released: Vec::new(),
            not_ip: NotIpCounts::default(),
            frames: 0,
            next_tick_ns: 0,
            batch_scratch: Vec::with_capacity(BATCH),
        }
    }

    /// Runs one frame at `now_ns` (engine clock).
    pub fn process_frame(&mut self, link: LinkType, frame: &[u8], now_ns: u64) -> FrameOutcome {
        self.process_frame_on(link, frame, None, now_ns)
    }

    fn process_frame_on(
        &mut self,
        link: LinkType,
        frame: &[u8],
        port: Option<u8>,
        now_ns: u64,
    ) -> FrameOutcome {
        self.frames += 1;
        self.tick_if_due(now_ns);
        let datagram = match wire::parse_link(link, frame) {
            Ok(Frame::Ip { datagram, .. }) => datagram,
            Ok(Frame::NonIp { ethertype }) => {
                self.not_ip.count(ethertype);
                return FrameOutcome::NotIp { ethertype };
            }
            Err(reason) => return self.drop(reason),
        };
        match wire::parse_ip(datagram) {
            Ok(Datagram::Whole(pkt)) => FrameOutcome::Tracked(self.shard.track(&pkt, now_ns)),
            Ok(Datagram::Fragment(f)) => {
                let original = self.original(frame, port);
                self.fragment(&f, original, now_ns)
            }
            Err(reason) => self.drop(reason),
        }
    }

    /// Runs a batch of frames received together at `now_ns`, appending one outcome per frame
    /// in order. Whole datagrams are looked up together (`Shard::track_batch`); anything
    /// else (non-IP, fragments, malformed) is handled in its place, so the result is exactly
    /// what `process_frame` frame by frame would give.
    pub fn process_batch(
        &mut self,
        link: LinkType,
        frames: &[&[u8]],
        now_ns: u64,
        out: &mut Vec<FrameOutcome>,
    ) {
        self.process_frames(
            link,
            &Received {
                frames,
                ports: &[],
                now_ns,
            },
            out,
        );
    }

    /// `process_batch` for frames received on `ports` (one per frame): the packet filter
    /// applies per ingress port.
    pub fn process_batch_from(
        &mut self,
        link: LinkType,
        frames: &[&[u8]],
        ports: &[u8],
        now_ns: u64,
        out: &mut Vec<FrameOutcome>,
    ) {
        self.process_frames(
            link,
            &Received {
                frames,
                ports,
                now_ns,
            },
            out,
        );
    }

    /// Runs frames in order, each at its own time, whole datagrams looked up in batches:
    /// exactly what `process_frame` frame by frame at those times would give (time ticks
    /// at the same frames; a batch never straddles a tick).
    pub fn process_frames<F: FrameSource>(
        &mut self,
        link: LinkType,
        frames: &F,
        out: &mut Vec<FrameOutcome>,
    ) {
        let mut b = Gathered::default();
        let mut tracked: Vec<Tracked> = std::mem::take(&mut self.batch_scratch);
        for i in 0..frames.len() {
            let frame = frames.data(i);
            let now_ns = frames.time(i);
            if now_ns >= self.next_tick_ns {
                // The frames before this one were tracked before the tick, as one by one.
                self.flush(&mut b, &mut tracked, out);
                self.tick_if_due(now_ns);
            }
            self.frames += 1;
            let port = frames.port(i);
            let parsed = match wire::parse_link(link, frame) {
                Ok(Frame::Ip { datagram, .. }) => {
                    wire::parse_ip_captured(datagram, frames.cut(i)).map(|d| (d, datagram))
                }
                Ok(Frame::NonIp { ethertype }) => {
                    self.flush(&mut b, &mut tracked, out);
                    self.not_ip.count(ethertype);
                    out.push(FrameOutcome::NotIp { ethertype });
                    continue;
                }
                Err(reason) => Err(reason),
            };
            match parsed {
                Ok((Datagram::Whole(pkt), _)) => {
                    // The lookup key now, and its index cell on its way to the cache while
                    // the rest of the batch is parsed.
                    let prep = self.shard.prepare(&pkt);
                    self.shard.prefetch_lookup(&prep);
                    b.preps.push(prep);
                    b.packets.push(pkt);
                    b.times.push(now_ns);
                    // Either every frame has its port or none has.
                    b.ports.extend(port);
                    if b.packets.len() == BATCH {
                        self.flush(&mut b, &mut tracked, out);
                    }
                }
                Ok((Datagram::Fragment(f), _)) => {
                    self.flush(&mut b, &mut tracked, out);
                    if let Some(port) = port {
                        self.shard.set_ingress(port);
                    }
                    let original = self.original(frame, port);
                    out.push(self.fragment(&f, original, now_ns));
                }
                Err(reason) => {
                    self.flush(&mut b, &mut tracked, out);
                    out.push(self.drop(reason));
                }
            }
        }
        self.flush(&mut b, &mut tracked, out);
        self.batch_scratch = tracked;
    }

    fn flush(
        &mut self,
        b: &mut Gathered<'_>,
        tracked: &mut Vec<Tracked>,
        out: &mut Vec<FrameOutcome>,
    ) {
        if b.packets.is_empty() {
            return;
        }
        tracked.clear();
        self.shard
            .track_batch(&b.packets, &b.preps, &b.ports, &b.times, tracked);
        out.extend(tracked.iter().map(|&t| FrameOutcome::Tracked(t)));
        b.packets.clear();
        b.preps.clear();
        b.ports.clear();
        b.times.clear();
    }

    /// `process_frame` for a frame received on `port`.
    pub fn process_frame_from(
        &mut self,
        link: LinkType,
        frame: &[u8],
        port: u8,
        now_ns: u64,
    ) -> FrameOutcome {
        self.shard.set_ingress(port);
        self.process_frame_on(link, frame, Some(port), now_ns)
    }

    /// Runs one IP datagram (raw IP input; nothing is held).
    pub fn process_ip(&mut self, datagram: &[u8], now_ns: u64) -> FrameOutcome {
        match wire::parse_ip(datagram) {
            Ok(Datagram::Whole(pkt)) => FrameOutcome::Tracked(self.shard.track(&pkt, now_ns)),
            Ok(Datagram::Fragment(f)) => self.fragment(&f, None, now_ns),
            Err(reason) => self.drop(reason),
        }
    }

    /// What to keep of a fragment's frame: all of it and its port, when holding.
    fn original<'f>(&self, frame: &'f [u8], port: Option<u8>) -> Option<Original<'f>> {
        let port = port.filter(|_| self.hold_fragments)?;
        Some(Original { frame, port })
    }

    /// A fragment to the reassembler; a completed datagram to the table, and its verdict
    /// back to the reassembler for the datagram's other frames.
    fn fragment(
        &mut self,
        f: &wire::Fragment<'_>,
        original: Option<Original<'_>>,
        now_ns: u64,
    ) -> FrameOutcome {
        let held = original.is_some();
        let outcome = match self.frag.push_frame(f, original, now_ns) {
            FragOutcome::Held => FrameOutcome::FragmentHeld,
            FragOutcome::Passed => FrameOutcome::FragmentPassed,
            FragOutcome::Dropped(reason) => self.drop(reason),
            FragOutcome::Complete(whole) => {
                let outcome = match wire::parse_ip(&whole) {
                    Ok(Datagram::Whole(mut pkt)) => {
                        pkt.reassembled = true;
                        FrameOutcome::Tracked(self.shard.track(&pkt, now_ns))
                    }
                    // A reassembled datagram is never a fragment; treat one as inconsistent.
                    Ok(Datagram::Fragment(_)) => self.drop(DropReason::FragmentInconsistent),
                    Err(reason) => self.drop(reason),
                };
                let pass = matches!(outcome, FrameOutcome::Tracked(t)
                    if !matches!(t.verdict, Verdict::Invalid(_)));
                self.frag.judge(pass, now_ns, &mut self.released);
                match outcome {
                    FrameOutcome::Tracked(t) if pass && held => FrameOutcome::Released(t),
                    other => other,
                }
            }
        };
        // Frames dropped with their datagram (held ones, timed out, evicted), each counted.
        self.frag.take_drops(&mut self.shard.drops);
        outcome
    }

    /// Held frames whose datagram passed, in arrival order, each with the port it came in on:
    /// the core sends each out of that port's peer (inline).
    pub fn take_released(&mut self) -> std::vec::Drain<'_, Release> {
        self.released.drain(..)
    }

    /// Tick if the clock has moved on since the last one: before each frame, and on an idle
    /// core's turn (live back-ends call it when a receive brought nothing, so aging and
    /// relation entries do not wait for traffic).
    pub fn tick_if_due(&mut self, now_ns: u64) {
        if now_ns >= self.next_tick_ns {
            self.tick(now_ns, EXPIRE_BUDGET_PER_TICK);
            self.next_tick_ns = now_ns + TICK_NS;
        }
    }

    /// Time passes: age out sessions and stale fragments (bounded work).
    pub fn tick(&mut self, now_ns: u64, budget: usize) {
        self.shard.expire(now_ns, budget);
        // Time-active session logs fall due on the engine clock, never per packet.
        self.shard.log_tick(self.shard.now_ms());
        // This core's relation entries (those of its masters) age here, bounded like the
        // wheel.
        self.shard.algs.tick(now_ns / 1_000_000, budget);
        // Timed-out datagrams: each of their frames counted as fragment_timeout.
        self.frag.expire(now_ns);
        self.frag.take_drops(&mut self.shard.drops);
    }

    fn drop(&mut self, reason: DropReason) -> FrameOutcome {
        self.shard.drops.count(reason);
        FrameOutcome::Dropped(reason)
    }
}

/// `frame_owner` for the common frame, read at fixed offsets without a full parse (a core
/// checks the owner of every frame it receives): untagged Ethernet carrying IPv4 with any
/// protocol but ICMP, or IPv6 whose next header is TCP or UDP. `None` = take the full path
/// (ICMP errors are owned by the flow they quote; extension headers may hide ICMPv6). A
/// malformed frame goes to its addresses' core, which drops and counts it like core 0 would.
#[inline]
fn owner_fast(link: LinkType, frame: &[u8], cores: usize) -> Option<usize> {
    if link != LinkType::Ethernet {
        return None;
    }
    match frame.get(12..14)? {
        [0x08, 0x00] => {
            let ip = frame.get(14..34)?;
            (ip[0] >> 4 == 4 && ip[9] != wire::ipproto::ICMP)
                .then(|| crate::io::owner_core(&ip[12..16], &ip[16..20], cores))
        }
        [0x86, 0xdd] => {
            let ip = frame.get(14..54)?;
            (ip[0] >> 4 == 6 && matches!(ip[6], wire::ipproto::TCP | wire::ipproto::UDP))
                .then(|| crate::io::owner_core(&ip[8..24], &ip[24..40], cores))
        }
        _ => None,
    }
}

/// A frame's packet when it is whole (not a fragment) and its transport has ports.
fn ported_packet(link: LinkType, frame: &[u8]) -> Option<Packet<'_>> {
    let Ok(Frame::Ip { datagram, .. }) = wire::parse_link(link, frame) else {
        return None;
    };
    // Steering reads headers only: a frame a capture cut short is steered as it travelled.
    match wire::parse_ip_captured(datagram, true).ok()? {
        Datagram::Whole(pkt) if wire::ipproto::has_ports(pkt.ip.proto) => Some(pkt),
        _ => None,
    }
}

/// Protocol and ports of a whole frame with ports: what `replay` needs to spot an ALG's
/// control session.
pub fn frame_ports(link: LinkType, frame: &[u8]) -> Option<(u8, u16, u16)> {
    let k = FlowKey::from_packet(&ported_packet(link, frame)?, 0);
    Some((k.proto, k.sport, k.dport))
}

/// `frame_owner` with the ports in the hash (`io::owner_core_ports`), for whole frames with
/// ports; every other frame (ICMP, fragments) keeps its address-based owner.
pub fn frame_owner_by_ports(link: LinkType, frame: &[u8], cores: usize) -> usize {
    if cores <= 1 {
        return 0;
    }
    match ported_packet(link, frame) {
        Some(pkt) => {
            let k = FlowKey::from_packet(&pkt, 0);
            let w = if k.family == wire::Family::V4 { 4 } else { 16 };
            crate::io::owner_core_ports(&k.src[..w], &k.dst[..w], k.sport, k.dport, cores)
        }
        None => frame_owner(link, frame, cores),
    }
}

/// The core that owns the flow of a frame (`io::owner_core` of its addresses; for an ICMP
/// error, of the packet it quotes, whose session it belongs to). Frames that are not IP or
/// cannot be parsed go to core 0, which counts them.
pub fn frame_owner(link: LinkType, frame: &[u8], cores: usize) -> usize {
    if cores <= 1 {
        return 0;
    }
    if let Some(owner) = owner_fast(link, frame, cores) {
        return owner;
    }
    let Ok(Frame::Ip { datagram, .. }) = wire::parse_link(link, frame) else {
        return 0;
    };
    let width = |f: wire::Family| if f == wire::Family::V4 { 4 } else { 16 };
    // Headers only, as far as the frame holds them (a capture may have cut it).
    match wire::parse_ip_captured(datagram, true) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed-offset path agrees with the full parse wherever it answers.
    #[test]
    fn fast_owner_agrees_with_the_full_parse() {
        let mut checked = 0;
        for i in 0u8..64 {
            for (ethertype, len) in [([0x08u8, 0x00u8], 54usize), ([0x86, 0xdd], 74)] {
                let mut f = vec![0u8; len];
                f[12..14].copy_from_slice(&ethertype);
                if ethertype[0] == 0x08 {
                    f[14] = 0x45;
                    f[16..18].copy_from_slice(&40u16.to_be_bytes());
                    f[22] = 64;
                    f[23] = 6;
                    f[26..30].copy_from_slice(&[198, 18, i, 1]);
                    f[30..34].copy_from_slice(&[198, 19, 7, i.wrapping_mul(3)]);
                    f[46] = 5 << 4;
                } else {
                    f[14] = 0x60;
                    f[18..20].copy_from_slice(&20u16.to_be_bytes());
                    f[20] = 6;
                    f[21] = 64;
                    f[22..26].copy_from_slice(&[0x20, 1, 0, 2]);
                    f[37] = i;
                    f[38..42].copy_from_slice(&[0x20, 1, 0, 2]);
                    f[53] = i.wrapping_mul(5);
                    f[66] = 5 << 4;
                }
                let full = {
                    let Ok(Frame::Ip { datagram, .. }) = wire::parse_link(LinkType::Ethernet, &f)
                    else {
                        panic!("test frame")
                    };
                    match wire::parse_ip(datagram) {
                        Ok(Datagram::Whole(p)) => {
                            let w = if p.ip.family == wire::Family::V4 {
                                4
                            } else {
                                16
                            };
                            crate::io::owner_core(&p.ip.src[..w], &p.ip.dst[..w], 3)
                        }
                        other => panic!("test frame did not parse: {other:?}"),
                    }
                };
                assert_eq!(owner_fast(LinkType::Ethernet, &f, 3), Some(full));
                assert_eq!(frame_owner(LinkType::Ethernet, &f, 3), full);
                checked += 1;
            }
        }
        assert_eq!(checked, 128);
    }
}
