//! Properties of the packet parsers and the reassembler: no input makes them panic, what
//! they return stays inside the input, and reassembly is bounded and order-independent.

use proptest::prelude::*;
use sessmgr::proto::frag::{FragLimits, FragOutcome, Original, Reassembler};
use sessmgr::proto::wire::{
    Datagram, Family, Fragment, Frame, IpInfo, L4, LinkType, Packet, ipproto, parse_ip, parse_link,
    parse_quoted,
};

const LINKS: [LinkType; 7] = [
    LinkType::Ethernet,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::RawIp,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::Null,
];

/// True when `inner` lies within `outer` (zero-copy slices must borrow the input).
fn within(outer: &[u8], inner: &[u8]) -> bool {
    let o = outer.as_ptr_range();
    let i = inner.as_ptr_range();
    inner.is_empty() || (o.start <= i.start && i.end <= o.end)
}

fn check_packet(d: &[u8], p: &Packet<'_>) {
    assert!(within(d, p.payload));
    match p.l4 {
        L4::Tcp(t) => assert_eq!(t.payload_len as usize, p.payload.len()),
        L4::Sctp(h) => {
            assert!(within(d, h.chunks));
            for c in h.chunks() {
                assert!(within(d, c.value));
            }
        }
        L4::Icmp(m) | L4::Icmpv6(m) => {
            let proto = if p.ip.family == Family::V4 {
                ipproto::ICMP
            } else {
                ipproto::ICMPV6
            };
            if sessmgr::proto::icmp::is_error(proto, m.ty)
                && let Ok(q) = parse_quoted(p.ip.family, m.rest)
            {
                assert_eq!(q.ip.family, p.ip.family);
            }
        }
        _ => {}
    }
}

fn exercise_ip(d: &[u8], r: &mut Reassembler) {
    match parse_ip(d) {
        Ok(Datagram::Whole(p)) => {
            assert!(p.ip.len as usize <= d.len());
            check_packet(d, &p);
        }
        Ok(Datagram::Fragment(f)) => {
            assert!(within(d, f.data));
            if let FragOutcome::Complete(whole) = r.push(&f, 0) {
                let _ = parse_ip(&whole);
            }
        }
        Err(_) => {}
    }
    for family in [Family::V4, Family::V6] {
        if let Ok(q) = parse_quoted(family, d) {
            assert_eq!(q.ip.family, family);
        }
    }
}

fn exercise(bytes: &[u8]) {
    let mut r = Reassembler::new(FragLimits::default());
    for link in LINKS {
        if let Ok(Frame::Ip { datagram, .. }) = parse_link(link, bytes) {
            assert!(within(bytes, datagram));
            exercise_ip(datagram, &mut r);
        }
    }
    exercise_ip(bytes, &mut r);
}

/// Valid packets to mutate, so mutations reach the deep branches random bytes rarely do.
fn templates() -> Vec<Vec<u8>> {
    let ip4 = |proto: u8, l4: &[u8]| {
        let mut v = vec![
            0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let total = (v.len() + l4.len()) as u16;
        v[2..4].copy_from_slice(&total.to_be_bytes());
        v.extend_from_slice(l4);
        v
    };
    let ip6 = |nh: u8, l4: &[u8]| {
        let mut v = vec![0x60, 0, 0, 0];
        v.extend_from_slice(&(l4.len() as u16).to_be_bytes());
        v.extend_from_slice(&[nh, 64]);
        v.extend_from_slice(&[0x20; 32]);
        v.extend_from_slice(l4);
        v
    };
    let tcp = [
        0, 80, 0x9c, 0x40, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0, 0x12, 0xff, 0xff, 0, 0, 0, 0, //
        2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7, b'h', b'i',
    ];
    let udp = [0, 53, 0x9c, 0x40, 0, 12, 0, 0, 1, 2, 3, 4];
    let sctp = [
        0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0,
        0, 0, 14, 0, 0, 4,
    ];
    let dccp = [
        0, 1, 0, 2, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 42, b'x',
    ];
    let quote = ip4(ipproto::UDP, &udp);
    let mut icmp_err = vec![3, 1, 0, 0, 0, 0, 0, 0];
    icmp_err.extend_from_slice(&quote[..28]);
    let mut ext_chain = vec![43, 0, 0, 0, 0, 0, 0, 0, 44, 0, 0, 0, 0, 0, 0, 0];
    ext_chain.extend_from_slice(&[60, 0, 0, 1, 0, 0, 0, 7]);
    ext_chain.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 0]);
    ext_chain.extend_from_slice(&tcp);
    let mut eth_qinq = vec![
        2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xa8, 0, 5, 0x81, 0, 0, 6,
    ];
    eth_qinq.extend_from_slice(&[0x08, 0x00]);
    eth_qinq.extend_from_slice(&ip4(ipproto::TCP, &tcp));
    let mut frag4 = ip4(ipproto::UDP, &[0; 16]);
    frag4[6] = 0x20;
    vec![
        ip4(ipproto::TCP, &tcp),
        ip6(ipproto::TCP, &tcp),
        ip4(ipproto::UDP, &udp),
        ip6(ipproto::UDPLITE, &udp),
        ip4(ipproto::SCTP, &sctp),
        ip6(ipproto::DCCP, &dccp),
        ip4(ipproto::ICMP, &icmp_err),
        ip6(0, &ext_chain),
        eth_qinq,
        frag4,
    ]
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let n = templates().len();
    (
        0..n,
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(t, edits, cut)| {
            let mut v = templates().swap_remove(t);
            for (at, byte) in edits {
                let i = at.index(v.len());
                v[i] = byte;
            }
            let keep = cut.index(v.len() + 1).max(v.len() / 2);
            v.truncate(keep);
            v
        })
}

fn ip_info(family: Family) -> IpInfo {
    IpInfo {
        family,
        src: [1; 16],
        dst: [2; 16],
        proto: ipproto::UDP,
        len: 0,
        ttl: 9,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        exercise(&bytes);
    }

    #[test]
    fn mutated_packets_never_panic(bytes in mutated()) {
        exercise(&bytes);
        for link in LINKS {
            let _ = parse_link(link, &bytes);
        }
    }

    #[test]
    fn sctp_chunk_iterator_never_panics(chunks in prop::collection::vec(any::<u8>(), 0..128)) {
        let h = sessmgr::proto::wire::SctpHeader { sport: 1, dport: 2, vtag: 3, chunks: &chunks };
        let mut consumed = 0;
        for c in h.chunks() {
            consumed += 4 + c.value.len();
        }
        prop_assert!(consumed <= chunks.len());
    }

    #[test]
    fn reassembler_stays_bounded(
        frags in prop::collection::vec(
            (any::<bool>(), 0u32..4, 0u32..40, any::<bool>(), 0usize..100, 0u64..3),
            0..200,
        )
    ) {
        let limits = FragLimits {
            max_bytes: 2048,
            low_bytes: 1024,
            source_share_percent: 60,
            timeout_ns: 5,
        };
        let mut r = Reassembler::new(limits);
        let data = [0x11u8; 100];
        let mut now = 0;
        let mut expired = 0;
        for (v6, id, units, more, len, step) in frags {
            now += step;
            let family = if v6 { Family::V6 } else { Family::V4 };
            let f = Fragment { ip: ip_info(family), id, offset: units * 8, more, data: &data[..len] };
            let frame = [&[0xffu8; 14][..], f.data].concat();
            let original = (step == 1).then_some(Original { frame: &frame, port: 1 });
            if let FragOutcome::Complete(whole) = r.push_frame(&f, original, now) {
                prop_assert!(matches!(whole.first().map(|b| b >> 4), Some(4 | 6)));
                let pass = parse_ip(&whole).is_ok() && id % 2 == 0;
                let mut released = Vec::new();
                r.judge(pass, now, &mut released);
                prop_assert!(pass || released.is_empty());
            }
            prop_assert!(r.bytes_held_by(Family::V4) <= limits.max_bytes);
            prop_assert!(r.bytes_held_by(Family::V6) <= limits.max_bytes);
            prop_assert!(r.verdicts_held().1 <= limits.max_bytes / 2);
            if step == 2 {
                expired += r.expire(now);
            }
        }
        expired += r.expire(u64::MAX);
        prop_assert_eq!(r.in_flight(), 0);
        prop_assert_eq!(r.bytes_held(), 0);
        prop_assert!(expired <= 200);
    }

    #[test]
    fn any_arrival_order_rebuilds_the_payload(
        payload in prop::collection::vec(any::<u8>(), 1..3000),
        cuts in prop::collection::vec(1usize..40, 1..20),
        order in prop::collection::vec(any::<u32>(), 40),
        dup in any::<prop::sample::Index>(),
        v6 in any::<bool>(),
    ) {
        // 8-byte-aligned pieces; the rest of the payload is the last piece.
        let mut pieces = Vec::new();
        let mut at = 0;
        for units in cuts {
            let end = at + units * 8;
            if end >= payload.len() {
                break;
            }
            pieces.push((at, end));
            at = end;
        }
        pieces.push((at, payload.len()));
        let mut arrival: Vec<usize> = (0..pieces.len()).collect();
        arrival.sort_by_key(|&i| order[i % order.len()]);
        // One exact duplicate somewhere before the end.
        arrival.insert(dup.index(arrival.len()), arrival[0]);
        let family = if v6 { Family::V6 } else { Family::V4 };
        let mut r = Reassembler::new(FragLimits::default());
        let mut result = None;
        for (n, &i) in arrival.iter().enumerate() {
            let (s, e) = pieces[i];
            let f = Fragment {
                ip: ip_info(family),
                id: 77,
                offset: s as u32,
                more: e != payload.len(),
                data: &payload[s..e],
            };
            match r.push(&f, 0) {
                FragOutcome::Held => prop_assert!(n + 1 < arrival.len() || result.is_some()),
                FragOutcome::Complete(v) => result = Some(v),
                FragOutcome::Passed => prop_assert!(false, "nothing was judged"),
                FragOutcome::Dropped(reason) => prop_assert!(false, "dropped: {reason}"),
            }
        }
        let whole = result.expect("complete");
        let header = if v6 { 40 } else { 20 };
        prop_assert_eq!(&whole[header..], &payload[..]);
        prop_assert_eq!(r.in_flight(), 0);
    }
}
