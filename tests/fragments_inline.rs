//! Issue #10: fragments inline, through the pipeline. Every fragment of a datagram is held
//! until the verdict on the whole datagram, then all leave (in arrival order, as they came)
//! or all are dropped and counted; a late fragment of a judged datagram gets its verdict;
//! and a flood of tiny first fragments from one source locks nobody out.
//!
//! Each test failed before the fix: held fragments were forwarded at once (`FragmentHeld`
//! passed), a resent last fragment started a new reassembly, and 1,024 first fragments
//! filled the pool (1,024 datagrams, both families) for 30 s.

mod common;

use common::frames::{ipv4_fragment, udp4_fragments, udp6_fragments};
use sessmgr::acl::Acl;
use sessmgr::actors::core::decide;
use sessmgr::drop::DropReason;
use sessmgr::io::Action;
use sessmgr::pipeline::{FrameOutcome, Pipeline};
use sessmgr::proto::frag::{FragLimits, Release};
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::{Family, LinkType};
use sessmgr::table::config::{PacketFilter, PortAcls};
use sessmgr::table::{TableConfig, Verdict};

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;
const CLIENT: [u8; 4] = [198, 18, 1, 1];
const SERVER: [u8; 4] = [198, 18, 1, 2];
const DENIED: u16 = 9999;
const ALLOWED: u16 = 9998;

fn v6(host: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..6].copy_from_slice(&[0x20, 0x01, 0, 2, 0, 1]);
    a[15] = host;
    a
}

/// A pipeline inline (holding fragments) whose port 0 denies UDP to port 9999 in both
/// families, as `packet-filter [ipv6] 3000 inbound` would.
fn inline(hold: bool) -> Pipeline {
    let mut v4 = Acl::new(3000, Family::V4).expect("acl");
    v4.add_rule("rule 0 deny udp destination-port eq 9999")
        .expect("rule");
    let mut v6 = Acl::new(3000, Family::V6).expect("acl");
    v6.add_rule("rule 0 deny udp destination-port eq 9999")
        .expect("rule");
    let cfg = TableConfig {
        packet_filter: PacketFilter {
            ports: vec![PortAcls {
                v4: vec![v4],
                v6: vec![v6],
            }],
        },
        ..TableConfig::default()
    };
    let mut p = Pipeline::new(0, cfg, FragLimits::default(), FlowHasher::with_seed(10));
    p.hold_fragments = hold;
    p
}

/// Runs `frames` from port 0 in one receive batch at `now`.
fn batch(p: &mut Pipeline, frames: &[Vec<u8>], now: u64) -> Vec<FrameOutcome> {
    let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
    let ports = vec![0u8; frames.len()];
    let mut out = Vec::new();
    p.process_batch_from(LinkType::Ethernet, &refs, &ports, now, &mut out);
    out
}

fn released(p: &mut Pipeline) -> Vec<Release> {
    p.take_released().collect()
}

fn actions(out: &[FrameOutcome]) -> Vec<Action> {
    out.iter().map(decide).collect()
}

/// Three fragments of a UDP datagram to `dport`, IPv4 or IPv6.
fn three_fragments(v6_family: bool, dport: u16, id: u16) -> Vec<Vec<u8>> {
    let payload: Vec<u8> = (0..40u8).collect();
    let f = if v6_family {
        udp6_fragments(v6(1), 40000, v6(2), dport, u32::from(id), &payload, 16)
    } else {
        udp4_fragments(CLIENT, 40000, SERVER, dport, id, &payload, 16)
    };
    assert_eq!(f.len(), 3);
    f
}

#[test]
fn held_fragments_leave_together_in_arrival_order_when_the_datagram_passes() {
    for family_v6 in [false, true] {
        let mut p = inline(true);
        let mut frames = three_fragments(family_v6, ALLOWED, 1);
        frames.swap(0, 1); // arrival order is not offset order
        // One at a time: nothing leaves before the verdict.
        for f in &frames[..2] {
            let out = batch(&mut p, std::slice::from_ref(f), T0);
            assert_eq!(out, [FrameOutcome::FragmentHeld]);
            assert_eq!(actions(&out), [Action::Drop], "held, not forwarded");
            assert!(released(&mut p).is_empty());
        }
        let out = batch(&mut p, &frames[2..], T0);
        let [FrameOutcome::Released(t)] = out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(t.verdict, Verdict::New);
        // The completing frame leaves with the others, not by itself.
        assert_eq!(actions(&out), [Action::Drop]);
        let want: Vec<Release> = frames
            .iter()
            .map(|f| Release {
                port: 0,
                frame: f.clone().into_boxed_slice(),
            })
            .collect();
        assert_eq!(released(&mut p), want, "IPv6: {family_v6}");
        assert_eq!(p.shard.drops.total(), 0);
        assert_eq!(p.frag.bytes_held(), 0);
        // The last fragment again: an exact copy of a judged fragment passes at once.
        let out = batch(&mut p, &frames[2..], T0 + SEC);
        assert_eq!(out, [FrameOutcome::FragmentPassed]);
        assert_eq!(actions(&out), [Action::Forward]);
        assert_eq!(p.frag.in_flight(), 0);
    }
}

/// The bypass: three fragments to a denied port, then the last one sent again.
#[test]
fn a_denied_datagram_drops_every_fragment_and_its_resent_last_one() {
    for family_v6 in [false, true] {
        let mut p = inline(true);
        let frames = three_fragments(family_v6, DENIED, 2);
        let out = batch(&mut p, &frames, T0);
        assert_eq!(
            out[..2],
            [FrameOutcome::FragmentHeld, FrameOutcome::FragmentHeld]
        );
        assert!(matches!(
            out[2],
            FrameOutcome::Tracked(t) if t.verdict == Verdict::Invalid(DropReason::PacketFilterDeny)
        ));
        assert_eq!(actions(&out), [Action::Drop; 3]);
        assert!(released(&mut p).is_empty());
        let drops = &p.shard.drops;
        assert_eq!(drops.get(DropReason::PacketFilterDeny), 1);
        assert_eq!(drops.get(DropReason::FragmentDatagramDropped), 2);
        // Resent within the timeout: dropped at once, no new reassembly.
        let out = batch(&mut p, &frames[2..], T0 + 10 * SEC);
        assert_eq!(
            out,
            [FrameOutcome::Dropped(DropReason::FragmentDatagramDropped)]
        );
        assert_eq!(actions(&out), [Action::Drop]);
        assert_eq!(p.frag.in_flight(), 0);
        // All three sent again: the datagram is judged again, and denied again.
        let out = batch(&mut p, &frames, T0 + 11 * SEC);
        assert_eq!(actions(&out), [Action::Drop; 3]);
        assert!(released(&mut p).is_empty());
        // Frame by frame (the path of frames a core receives for another core's flows), the
        // same.
        let mut q = inline(true);
        let by_frame: Vec<FrameOutcome> = frames
            .iter()
            .chain(&frames[2..])
            .map(|f| q.process_frame_from(LinkType::Ethernet, f, 0, T0))
            .collect();
        assert_eq!(actions(&by_frame), [Action::Drop; 4]);
        assert!(q.take_released().next().is_none());
        assert_eq!(q.shard.drops.get(DropReason::FragmentDatagramDropped), 3);
    }
}

/// Every received frame ends forwarded or counted under a named reason: a datagram that
/// never completes is dropped at the timeout, each of its frames counted.
#[test]
fn an_incomplete_datagram_times_out_frame_by_frame() {
    let mut p = inline(true);
    let frames = three_fragments(false, ALLOWED, 3);
    let out = batch(&mut p, &frames[..2], T0);
    assert_eq!(out, [FrameOutcome::FragmentHeld; 2]);
    p.tick(T0 + 31 * SEC, usize::MAX);
    assert_eq!(p.shard.drops.get(DropReason::FragmentTimeout), 2);
    assert_eq!((p.frag.in_flight(), p.frag.bytes_held()), (0, 0));
    assert!(released(&mut p).is_empty());
}

/// An overlap (teardrop) drops the whole datagram: the fragment held before it too.
#[test]
fn an_overlap_drops_the_held_fragments_of_its_datagram() {
    let mut p = inline(true);
    let first = ipv4_fragment(CLIENT, SERVER, 17, 4, 0, true, &[0u8; 32]);
    let tear = ipv4_fragment(CLIENT, SERVER, 17, 4, 24, false, &[0u8; 4]);
    let out = batch(&mut p, &[first, tear.clone()], T0);
    assert_eq!(
        out,
        [
            FrameOutcome::FragmentHeld,
            FrameOutcome::Dropped(DropReason::FragmentOverlap)
        ]
    );
    assert_eq!(p.shard.drops.get(DropReason::FragmentOverlap), 2);
    assert_eq!(p.shard.drops.get(DropReason::FragmentInconsistent), 0);
    assert!(released(&mut p).is_empty());
    // Its late fragments are dropped too.
    assert_eq!(
        batch(&mut p, &[tear], T0),
        [FrameOutcome::Dropped(DropReason::FragmentDatagramDropped)]
    );
}

/// Monitoring and replay keep no frames: the completing frame carries the verdict as before.
#[test]
fn without_holding_nothing_is_kept() {
    let mut p = inline(false);
    let out = batch(&mut p, &three_fragments(false, ALLOWED, 5), T0);
    assert!(matches!(out[2], FrameOutcome::Tracked(t) if t.verdict == Verdict::New));
    assert!(released(&mut p).is_empty());
}

/// The cheap denial of service: 1,024 first fragments of 8 bytes (43 KB) from one
/// source blocked all fragmented IPv4 and IPv6 traffic for 30 s. Now the flooder only evicts
/// its own datagrams; everyone else's, in both families, and its own newest pass.
#[test]
fn a_flood_of_tiny_first_fragments_locks_nobody_out() {
    let mut p = inline(true);
    let flooder = [198, 18, 1, 66];
    // Twice the 1,024: past the flooder's share (10 % of 4 MiB), so its own oldest
    // datagrams make room for its newest.
    let flood: Vec<Vec<u8>> = (0..2048u16)
        .map(|id| ipv4_fragment(flooder, SERVER, 17, id, 0, true, &[0u8; 8]))
        .collect();
    for chunk in flood.chunks(64) {
        let out = batch(&mut p, chunk, T0);
        assert!(
            out.iter().all(|o| *o == FrameOutcome::FragmentHeld),
            "{out:?}"
        );
    }
    assert!(p.frag.bytes_held() <= FragLimits::default().max_bytes / 10);
    assert!(p.shard.drops.get(DropReason::FragmentSourceShare) > 0);
    for (family_v6, id) in [(false, 7), (true, 8)] {
        let frames = three_fragments(family_v6, ALLOWED, id);
        let out = batch(&mut p, &frames, T0 + SEC);
        assert!(
            matches!(out[2], FrameOutcome::Released(_)),
            "IPv6 {family_v6}: {out:?}"
        );
        assert_eq!(released(&mut p).len(), 3);
    }
    assert_eq!(p.shard.drops.get(DropReason::FragmentPoolFull), 0);
}
