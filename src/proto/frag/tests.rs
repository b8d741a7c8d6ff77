use super::pending::ipv4_checksum;
use super::*;
use crate::proto::wire::{Datagram, IpInfo, L4, Ports, ipproto, parse_ip};

const SEC: u64 = 1_000_000_000;

fn ip(family: Family, proto: u8) -> IpInfo {
    ip_from(family, proto, 1)
}

/// IP fields from source host `host` (198.18.0.host / 2001::host) to host 2.
fn ip_from(family: Family, proto: u8, host: u8) -> IpInfo {
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    match family {
        Family::V4 => {
            src[..4].copy_from_slice(&[198, 18, 0, host]);
            dst[..4].copy_from_slice(&[198, 18, 0, 2]);
        }
        Family::V6 => {
            src[..2].copy_from_slice(&[0x20, 0x01]);
            src[7] = host;
            src[15] = 1;
            dst[..2].copy_from_slice(&[0x20, 0x01]);
            dst[15] = 2;
        }
    }
    IpInfo {
        family,
        src,
        dst,
        proto,
        len: 0,
        ttl: 64,
    }
}

fn fragment(family: Family, id: u32, offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
    Fragment {
        ip: ip(family, ipproto::UDP),
        id,
        offset,
        more,
        data,
    }
}

/// A UDP datagram payload of `n` bytes: header then a counting pattern.
fn udp_payload(n: usize) -> Vec<u8> {
    let mut v = vec![0x9c, 0x40, 0, 53];
    v.extend_from_slice(&(n as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend((0..n - 8).map(|i| i as u8));
    v
}

fn complete(out: FragOutcome) -> Vec<u8> {
    match out {
        FragOutcome::Complete(v) => v,
        other => panic!("expected a complete datagram, got {other:?}"),
    }
}

fn drops(r: &mut Reassembler) -> DropCounters {
    let mut c = DropCounters::default();
    r.take_drops(&mut c);
    c
}

fn limits(max_bytes: usize) -> FragLimits {
    FragLimits {
        max_bytes,
        low_bytes: max_bytes * 3 / 4,
        source_share_percent: 100,
        timeout_ns: 30 * SEC,
    }
}

#[test]
fn ipv4_in_order_rebuilds_a_parseable_datagram() {
    let data = udp_payload(40);
    let mut r = Reassembler::new(FragLimits::default());
    let f1 = fragment(Family::V4, 7, 0, true, &data[..16]);
    let f2 = fragment(Family::V4, 7, 16, true, &data[16..32]);
    let f3 = fragment(Family::V4, 7, 32, false, &data[32..]);
    assert_eq!(r.push(&f1, 0), FragOutcome::Held);
    assert_eq!(r.push(&f2, 1), FragOutcome::Held);
    assert_eq!(
        (r.in_flight(), r.bytes_held()),
        (1, DATAGRAM_OVERHEAD + 32 + 2 * FRAGMENT_OVERHEAD)
    );
    assert_eq!(r.bytes_held_by(Family::V4), r.bytes_held());
    let whole = complete(r.push(&f3, 2));
    assert_eq!((r.in_flight(), r.bytes_held()), (0, 0));
    assert_eq!(whole.len(), 60);
    assert_eq!(
        ipv4_checksum(whole.first_chunk::<20>().unwrap()),
        0,
        "header checksum verifies"
    );
    let Ok(Datagram::Whole(p)) = parse_ip(&whole) else {
        panic!("not whole")
    };
    assert_eq!((p.ip.proto, p.ip.len, p.ip.ttl), (ipproto::UDP, 60, 64));
    assert_eq!(
        p.l4,
        L4::Udp(Ports {
            sport: 40000,
            dport: 53
        })
    );
    assert_eq!(p.payload, &data[8..]);
}

#[test]
fn ipv4_fragments_from_the_wire_out_of_order() {
    let data = udp_payload(30);
    let frag_dgram = |off: u16, more: bool, body: &[u8]| {
        let mut v = vec![0x45, 0];
        v.extend_from_slice(&(20 + body.len() as u16).to_be_bytes());
        v.extend_from_slice(&[0xab, 0xcd]);
        v.extend_from_slice(&((off / 8) | if more { 0x2000 } else { 0 }).to_be_bytes());
        v.extend_from_slice(&[33, ipproto::UDP, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2]);
        v.extend_from_slice(body);
        v
    };
    let wire = [
        frag_dgram(24, false, &data[24..]),
        frag_dgram(0, true, &data[..8]),
        frag_dgram(8, true, &data[8..24]),
    ];
    let mut r = Reassembler::new(FragLimits::default());
    let mut out = Vec::new();
    for d in &wire {
        let Ok(Datagram::Fragment(f)) = parse_ip(d) else {
            panic!("not a fragment")
        };
        out.push(r.push(&f, 0));
    }
    assert_eq!(out[..2], [FragOutcome::Held, FragOutcome::Held]);
    let whole = complete(out.pop().unwrap());
    let Ok(Datagram::Whole(p)) = parse_ip(&whole) else {
        panic!("not whole")
    };
    assert_eq!((p.ip.ttl, p.payload), (33, &data[8..]));
    assert_eq!(u16::from_be_bytes([whole[4], whole[5]]), 0xabcd);
}

#[test]
fn ipv6_reassembly_takes_the_next_header_of_the_first_fragment() {
    let data = udp_payload(24);
    let mut r = Reassembler::new(FragLimits::default());
    let mut last = fragment(Family::V6, 0x1234_5678, 16, false, &data[16..]);
    last.ip.proto = 0xfd; // RFC 8200 §4.5: only the offset-0 fragment's value counts
    assert_eq!(r.push(&last, 0), FragOutcome::Held);
    let whole = complete(r.push(&fragment(Family::V6, 0x1234_5678, 0, true, &data[..16]), 0));
    let Ok(Datagram::Whole(p)) = parse_ip(&whole) else {
        panic!("not whole")
    };
    assert_eq!((p.ip.proto, p.ip.len), (ipproto::UDP, 64));
    assert_eq!(p.payload, &data[8..]);
}

#[test]
fn overlap_drops_the_whole_datagram_and_its_late_fragments() {
    let data = [0u8; 32];
    let mut r = Reassembler::new(FragLimits::default());
    assert_eq!(
        r.push(&fragment(Family::V4, 1, 0, true, &data[..16]), 0),
        FragOutcome::Held
    );
    assert_eq!(
        r.push(&fragment(Family::V4, 1, 8, true, &data[..16]), 0),
        FragOutcome::Dropped(DropReason::FragmentOverlap)
    );
    assert_eq!((r.in_flight(), r.bytes_held()), (0, 0));
    // The held fragment went with it, counted (the overlapping one is the caller's to count).
    assert_eq!(drops(&mut r).get(DropReason::FragmentOverlap), 1);
    // The datagram's verdict is remembered: its remaining fragment is dropped, not the start
    // of a fresh datagram.
    assert_eq!(
        r.push(&fragment(Family::V4, 1, 16, false, &data[..8]), 0),
        FragOutcome::Dropped(DropReason::FragmentDatagramDropped)
    );
    assert_eq!(r.in_flight(), 0);
    // Until the timeout.
    assert_eq!(
        r.push(&fragment(Family::V4, 1, 16, false, &data[..8]), 30 * SEC),
        FragOutcome::Held
    );
    // Overlap with the following fragment too.
    assert_eq!(
        r.push(&fragment(Family::V4, 1, 8, true, &data[..16]), 30 * SEC),
        FragOutcome::Dropped(DropReason::FragmentOverlap)
    );
}

/// Teardrop (CVE-1997-0014 and its kin): the second fragment lies inside the first and
/// claims to end the datagram there. An overlap, not an inconsistency.
#[test]
fn teardrop_is_an_overlap() {
    let data = [0u8; 36];
    let mut r = Reassembler::new(FragLimits::default());
    assert_eq!(
        r.push(&fragment(Family::V4, 1, 0, true, &data[..32]), 0),
        FragOutcome::Held
    );
    assert_eq!(
        r.push(&fragment(Family::V4, 1, 24, false, &data[..4]), 0),
        FragOutcome::Dropped(DropReason::FragmentOverlap)
    );
    // The other order, and IPv6.
    assert_eq!(
        r.push(&fragment(Family::V6, 2, 24, false, &data[..4]), 0),
        FragOutcome::Held
    );
    assert_eq!(
        r.push(&fragment(Family::V6, 2, 0, true, &data[..32]), 0),
        FragOutcome::Dropped(DropReason::FragmentOverlap)
    );
    // A same-range copy with other bytes is an overlap too (no receiver may be shown bytes
    // other than those judged); an exact copy is a duplicate.
    let other = [1u8; 8];
    assert_eq!(
        r.push(&fragment(Family::V4, 3, 0, true, &data[..8]), 0),
        FragOutcome::Held
    );
    assert_eq!(
        r.push(&fragment(Family::V4, 3, 0, true, &data[..8]), 0),
        FragOutcome::Held
    );
    assert_eq!(
        r.push(&fragment(Family::V4, 3, 0, true, &other), 0),
        FragOutcome::Dropped(DropReason::FragmentOverlap)
    );
    // Its two held frames (the first and the exact copy) counted with it.
    let d = drops(&mut r);
    assert_eq!(
        (
            d.get(DropReason::FragmentOverlap),
            d.get(DropReason::FragmentInconsistent)
        ),
        (1 + 1 + 2, 0)
    );
}

#[test]
fn exact_duplicates_are_harmless() {
    let data = udp_payload(16);
    let mut r = Reassembler::new(FragLimits::default());
    let f1 = fragment(Family::V4, 1, 0, true, &data[..8]);
    assert_eq!(r.push(&f1, 0), FragOutcome::Held);
    let held = r.bytes_held();
    assert_eq!(r.push(&f1, 0), FragOutcome::Held);
    assert_eq!(r.bytes_held(), held);
    complete(r.push(&fragment(Family::V4, 1, 8, false, &data[8..]), 0));
}

#[test]
fn malformed_fragments() {
    let data = [0u8; 64];
    let mut r = Reassembler::new(FragLimits::default());
    let drop = |r: &mut Reassembler, f: Fragment<'_>| match r.push(&f, 0) {
        FragOutcome::Dropped(reason) => reason,
        other => panic!("expected a drop, got {other:?}"),
    };
    assert_eq!(
        drop(&mut r, fragment(Family::V4, 1, 0, true, &data[..12])),
        DropReason::FragmentBadLength
    );
    assert_eq!(
        drop(&mut r, fragment(Family::V4, 1, 8, false, &[])),
        DropReason::FragmentTooShort
    );
    assert_eq!(
        drop(&mut r, fragment(Family::V4, 1, 65504, false, &data[..12])),
        DropReason::FragmentTooLarge
    );
    assert_eq!(
        drop(&mut r, fragment(Family::V6, 1, 65528, false, &data[..9])),
        DropReason::FragmentTooLarge
    );
    assert_eq!(r.in_flight(), 0);
    // Two different ends.
    assert_eq!(
        r.push(&fragment(Family::V4, 2, 16, false, &data[..8]), 0),
        FragOutcome::Held
    );
    assert_eq!(
        drop(&mut r, fragment(Family::V4, 2, 32, false, &data[..8])),
        DropReason::FragmentInconsistent
    );
    assert_eq!(r.in_flight(), 0);
    // Data beyond the announced end, and an end before data already held.
    assert_eq!(
        r.push(&fragment(Family::V4, 3, 16, false, &data[..8]), 0),
        FragOutcome::Held
    );
    assert_eq!(
        drop(&mut r, fragment(Family::V4, 3, 24, true, &data[..8])),
        DropReason::FragmentInconsistent
    );
    assert_eq!(
        r.push(&fragment(Family::V4, 4, 16, true, &data[..8]), 0),
        FragOutcome::Held
    );
    assert_eq!(
        drop(&mut r, fragment(Family::V4, 4, 0, false, &data[..8])),
        DropReason::FragmentInconsistent
    );
    assert_eq!((r.in_flight(), r.bytes_held()), (0, 0));
    assert_eq!(drops(&mut r).get(DropReason::FragmentInconsistent), 3);
}

#[test]
fn protocol_and_family_separate_ipv4_datagrams() {
    let data = [0u8; 8];
    let mut r = Reassembler::new(FragLimits::default());
    let udp = fragment(Family::V4, 9, 0, true, &data);
    let tcp = Fragment {
        ip: ip(Family::V4, ipproto::TCP),
        ..udp
    };
    let v6 = fragment(Family::V6, 9, 0, true, &data);
    for f in [udp, tcp, v6] {
        assert_eq!(r.push(&f, 0), FragOutcome::Held);
    }
    assert_eq!(r.in_flight(), 3);
    let one = DATAGRAM_OVERHEAD + 8 + FRAGMENT_OVERHEAD;
    assert_eq!(
        (r.bytes_held_by(Family::V4), r.bytes_held_by(Family::V6)),
        (2 * one, one)
    );
}

#[test]
fn timeout_drops_incomplete_datagrams() {
    let data = [0u8; 16];
    let mut r = Reassembler::new(FragLimits::default());
    assert_eq!(
        r.push(&fragment(Family::V4, 1, 0, true, &data), 0),
        FragOutcome::Held
    );
    assert_eq!(
        r.push(&fragment(Family::V4, 2, 0, true, &data), 10 * SEC),
        FragOutcome::Held
    );
    assert_eq!(r.expire(29 * SEC), 0);
    // Later fragments do not extend the deadline.
    assert_eq!(
        r.push(&fragment(Family::V4, 1, 16, true, &data), 29 * SEC),
        FragOutcome::Held
    );
    assert_eq!(r.expire(30 * SEC), 1);
    assert_eq!(r.in_flight(), 1);
    // Each of its frames is counted.
    assert_eq!(drops(&mut r).get(DropReason::FragmentTimeout), 2);
    // An expiry performed by push is reported by the next expire call.
    assert_eq!(
        r.push(&fragment(Family::V6, 3, 0, true, &data), 41 * SEC),
        FragOutcome::Held
    );
    assert_eq!(r.in_flight(), 1);
    assert_eq!(r.expire(41 * SEC), 1);
    assert_eq!(r.expire(100 * SEC), 1);
    assert_eq!((r.in_flight(), r.bytes_held()), (0, 0));
    assert_eq!(drops(&mut r).get(DropReason::FragmentTimeout), 2);
}

/// The cheap denial of service: 1,024 first fragments of 8 bytes (43 KB) from one
/// source used to fill the pool (by datagram count, shared by both families) for 30 s.
#[test]
fn a_flood_of_tiny_first_fragments_locks_nobody_out() {
    for family in [Family::V4, Family::V6] {
        let mut r = Reassembler::new(FragLimits::default());
        let eight = [0u8; 8];
        for id in 0..4096u32 {
            let f = Fragment {
                ip: ip_from(family, ipproto::UDP, 66),
                id,
                offset: 0,
                more: true,
                data: &eight,
            };
            let _ = r.push(&f, u64::from(id));
            let share = FragLimits::default().max_bytes / 10;
            assert!(r.bytes_held() <= share + 1, "{family:?} id {id}");
        }
        // The flooder holds at most its share; its oldest datagrams made room for its newest.
        assert!(drops(&mut r).get(DropReason::FragmentSourceShare) > 0);
        // Another source's datagram, and the same source's newest, still complete; the other
        // family was never touched.
        let data = udp_payload(1480);
        let first = Fragment {
            ip: ip_from(family, ipproto::UDP, 1),
            id: 1,
            offset: 0,
            more: true,
            data: &data[..1000],
        };
        let last = Fragment {
            offset: 1000,
            more: false,
            data: &data[1000..],
            ..first
        };
        assert_eq!(r.push(&first, 5000), FragOutcome::Held);
        assert_eq!(complete(r.push(&last, 5000)).len() - 1480, header(family));
        let newest = Fragment {
            ip: ip_from(family, ipproto::UDP, 66),
            id: 4095,
            offset: 8,
            more: false,
            data: &eight,
        };
        assert_eq!(complete(r.push(&newest, 5000)).len() - 16, header(family));
    }
}

fn header(family: Family) -> usize {
    match family {
        Family::V4 => 20,
        Family::V6 => 40,
    }
}

/// Many sources together reach the high threshold: the oldest datagrams are evicted down to
/// the low one, counted, and a new datagram always gets in.
#[test]
fn a_full_pool_evicts_its_oldest_datagrams_down_to_the_low_threshold() {
    let data = [0u8; 1000];
    let mut r = Reassembler::new(limits(64 * 1024));
    let mut held = 0;
    for host in 0..200u8 {
        let f = Fragment {
            ip: ip_from(Family::V4, ipproto::UDP, host),
            id: 1,
            offset: 0,
            more: true,
            data: &data,
        };
        assert_eq!(r.push(&f, u64::from(host)), FragOutcome::Held);
        assert!(r.bytes_held() <= 64 * 1024);
        held = held.max(r.in_flight());
    }
    let one = DATAGRAM_OVERHEAD + 1000 + FRAGMENT_OVERHEAD;
    assert_eq!(held, 64 * 1024 / one);
    let evicted = drops(&mut r).get(DropReason::FragmentEvicted);
    assert_eq!(evicted as usize + r.in_flight(), 200);
    // The survivors are the newest.
    let newest = Fragment {
        ip: ip_from(Family::V4, ipproto::UDP, 199),
        id: 1,
        offset: 1000,
        more: false,
        data: &data[..8],
    };
    let survivors = r.in_flight();
    complete(r.push(&newest, 300));
    // The last one evicted is remembered as dropped: its rest is dropped too.
    let evicted_last = Fragment {
        ip: ip_from(Family::V4, ipproto::UDP, 199 - survivors as u8),
        ..newest
    };
    assert_eq!(
        r.push(&evicted_last, 300),
        FragOutcome::Dropped(DropReason::FragmentDatagramDropped)
    );
    // IPv6 has a pool of its own, empty.
    assert_eq!(r.bytes_held_by(Family::V6), 0);
}

#[test]
fn a_datagram_larger_than_its_pool_is_refused_whole() {
    let data = [0u8; 1024];
    let mut r = Reassembler::new(limits(3000));
    assert_eq!(
        r.push(&fragment(Family::V4, 1, 0, true, &data), 0),
        FragOutcome::Held
    );
    assert_eq!(
        r.push(&fragment(Family::V4, 1, 1024, true, &data), 0),
        FragOutcome::Held
    );
    assert_eq!(
        r.push(&fragment(Family::V4, 1, 2048, true, &data), 0),
        FragOutcome::Dropped(DropReason::FragmentPoolFull)
    );
    assert_eq!((r.in_flight(), r.bytes_held()), (0, 0));
    assert_eq!(drops(&mut r).get(DropReason::FragmentPoolFull), 2);
}

#[test]
fn tiny_fragment_flood_stays_bounded() {
    let l = limits(64 * 1024);
    let mut r = Reassembler::new(l);
    let data = [0u8; 8];
    for i in 0..100_000u32 {
        // Every other 8-byte slot of many datagrams: never completes, never overlaps.
        let f = Fragment {
            ip: ip_from(Family::V6, ipproto::UDP, (i % 3) as u8),
            ..fragment(Family::V6, i % 7, (i / 7) * 16 % 65520, true, &data)
        };
        let _ = r.push(&f, u64::from(i));
        assert!(r.bytes_held_by(Family::V6) <= l.max_bytes);
        assert!(r.in_flight() <= l.max_bytes / DATAGRAM_OVERHEAD);
        assert!(r.pools[1].sources() <= 3);
        assert!(r.verdicts_held().1 <= l.max_bytes / 4);
    }
    // Many short-lived datagrams keep the queues compact.
    let mut r = Reassembler::new(l);
    let whole = udp_payload(16);
    let mut release = Vec::new();
    for id in 0..10_000 {
        assert_eq!(
            r.push(&fragment(Family::V4, id, 8, false, &whole[8..]), 0),
            FragOutcome::Held
        );
        complete(r.push(&fragment(Family::V4, id, 0, true, &whole[..8]), 0));
        r.judge(id % 2 == 0, 0, &mut release);
        assert!(r.pools[0].queued() <= 2 * (2 * 8 + 1));
        assert!(r.verdicts[0].queued() <= 2 * r.verdicts[0].len() + 9);
        assert!(r.verdicts_held().1 <= l.max_bytes / 4);
    }
    assert!(release.is_empty(), "nothing was held: nothing to release");
}

/// Inline holding: the frames come back as they came, in arrival order, when the datagram
/// passes; a late exact copy passes; other late fragments start a datagram of their own.
#[test]
fn held_frames_leave_in_arrival_order_when_the_datagram_passes() {
    let data = udp_payload(40);
    let frame = |tag: u8, body: &[u8]| {
        let mut f = vec![tag; 14];
        f.extend_from_slice(body);
        f.extend_from_slice(&[0xee; 6]); // Ethernet padding stays too
        f
    };
    let frames = [
        frame(0xa1, &data[32..]),
        frame(0xa2, &data[..16]),
        frame(0xa3, &data[16..32]),
    ];
    let offsets = [(32, false), (0, true), (16, true)];
    let mut r = Reassembler::new(FragLimits::default());
    let mut release = Vec::new();
    let mut whole = None;
    for (i, (f, &(off, more))) in frames.iter().zip(&offsets).enumerate() {
        let frag = Fragment {
            ip: ip(Family::V4, ipproto::UDP),
            id: 5,
            offset: off,
            more,
            data: &f[14..f.len() - 6],
        };
        let o = Original {
            frame: f,
            port: i as u8,
        };
        match r.push_frame(&frag, Some(o), 0) {
            FragOutcome::Held => {}
            FragOutcome::Complete(v) => whole = Some(v),
            other => panic!("{other:?}"),
        }
    }
    let whole = whole.expect("complete");
    assert_eq!(&whole[20..], &data[..]);
    r.judge(true, 0, &mut release);
    let want: Vec<Release> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| Release {
            port: i as u8,
            frame: f.clone().into_boxed_slice(),
        })
        .collect();
    assert_eq!(release, want);
    assert_eq!(r.bytes_held(), 0);
    // The last fragment sent again: an exact copy passes at once.
    let late = Fragment {
        ip: ip(Family::V4, ipproto::UDP),
        id: 5,
        offset: 32,
        more: false,
        data: &data[32..],
    };
    assert_eq!(r.push(&late, SEC), FragOutcome::Passed);
    // The same range with other bytes is judged on its own, as a new datagram.
    let other = [0x55u8; 8];
    let forged = Fragment {
        data: &other,
        ..late
    };
    assert_eq!(r.push(&forged, SEC), FragOutcome::Held);
    assert_eq!(r.in_flight(), 1);
}

/// The bypass: three fragments to a denied port, then the last one again. The
/// held frames are dropped with the verdict, and the resent one too.
#[test]
fn a_resent_fragment_of_a_dropped_datagram_is_dropped() {
    let data = udp_payload(40);
    let mut r = Reassembler::new(FragLimits::default());
    let mut release = Vec::new();
    let pieces = [
        (0u32, true, &data[..16]),
        (16, true, &data[16..32]),
        (32, false, &data[32..]),
    ];
    for (i, &(off, more, body)) in pieces.iter().enumerate() {
        let f = fragment(Family::V6, 9, off, more, body);
        let o = Original {
            frame: body,
            port: 0,
        };
        let out = r.push_frame(&f, Some(o), 0);
        if i < 2 {
            assert_eq!(out, FragOutcome::Held);
        } else {
            complete(out);
        }
    }
    r.judge(false, 0, &mut release);
    assert!(release.is_empty());
    assert_eq!(drops(&mut r).get(DropReason::FragmentDatagramDropped), 2);
    let resent = fragment(Family::V6, 9, 32, false, &data[32..]);
    assert_eq!(
        r.push_frame(
            &resent,
            Some(Original {
                frame: &data[32..],
                port: 0
            }),
            29 * SEC
        ),
        FragOutcome::Dropped(DropReason::FragmentDatagramDropped)
    );
    assert_eq!(r.in_flight(), 0);
    // After the timeout the key is free again.
    r.expire(31 * SEC);
    assert_eq!(r.verdicts_held().0, 0);
    assert_eq!(r.push(&resent, 31 * SEC), FragOutcome::Held);
}

#[test]
fn holding_charges_the_whole_frame() {
    let data = [0u8; 16];
    let frame = [0u8; 100];
    let mut r = Reassembler::new(FragLimits::default());
    let f = fragment(Family::V4, 1, 0, true, &frame[30..46]);
    assert_eq!(
        r.push_frame(
            &f,
            Some(Original {
                frame: &frame,
                port: 1
            }),
            0
        ),
        FragOutcome::Held
    );
    assert_eq!(r.bytes_held(), DATAGRAM_OVERHEAD + 100 + FRAGMENT_OVERHEAD);
    // An exact copy is held too (it leaves with its datagram), and charged.
    assert_eq!(
        r.push_frame(
            &f,
            Some(Original {
                frame: &frame,
                port: 1
            }),
            0
        ),
        FragOutcome::Held
    );
    assert_eq!(
        r.bytes_held(),
        DATAGRAM_OVERHEAD + 2 * (100 + FRAGMENT_OVERHEAD)
    );
    // Data that is not inside the frame is kept after it.
    let g = fragment(Family::V4, 2, 0, true, &data);
    assert_eq!(
        r.push_frame(
            &g,
            Some(Original {
                frame: &frame[..10],
                port: 0
            }),
            0
        ),
        FragOutcome::Held
    );
    let mut release = Vec::new();
    let last = fragment(Family::V4, 2, 16, false, &data[..3]);
    let whole = complete(r.push_frame(
        &last,
        Some(Original {
            frame: &data[..3],
            port: 0,
        }),
        0,
    ));
    assert_eq!(&whole[20..], &[0u8; 19][..]);
    r.judge(true, 0, &mut release);
    assert_eq!(release.len(), 2);
    assert_eq!(&release[0].frame[..], &[0u8; 10 + 16][..]);
}
