//! The parsers of every layer, driven with hand-built frames: each malformed case must come
//! back as its named `DropReason`, and each well-formed one with the fields session
//! management reads.

use super::ip::{ext, parse_ip};
use super::link::{ethertype, parse_link};
use super::quote::parse_quoted;
use super::types::*;
use crate::drop::DropReason;
use DropReason as R;

const A4: [u8; 4] = [198, 18, 0, 1];
const B4: [u8; 4] = [198, 18, 0, 2];
const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// IPv4 header with `opts` (a multiple of 4 bytes), then `payload`.
fn ip4_full(proto: u8, opts: &[u8], frag: u16, payload: &[u8]) -> Vec<u8> {
    let hlen = 20 + opts.len();
    let total = (hlen + payload.len()) as u16;
    let mut v = vec![0x40 | (hlen / 4) as u8, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&[0x12, 0x34]);
    v.extend_from_slice(&frag.to_be_bytes());
    v.extend_from_slice(&[64, proto, 0, 0]);
    v.extend_from_slice(&A4);
    v.extend_from_slice(&B4);
    v.extend_from_slice(opts);
    v.extend_from_slice(payload);
    v
}

fn ip4(proto: u8, payload: &[u8]) -> Vec<u8> {
    ip4_full(proto, &[], 0, payload)
}

fn ip6(nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[nh, 255]);
    v.extend_from_slice(&A6);
    v.extend_from_slice(&B6);
    v.extend_from_slice(payload);
    v
}

/// A generic 8-byte-unit extension header (RFC 8200 §4.2) with zero filling.
fn ext_hdr(next: u8, units: u8) -> Vec<u8> {
    let mut v = vec![next, units];
    v.resize(8 * (usize::from(units) + 1), 0);
    v
}

fn frag_hdr(next: u8, offset: u16, more: bool, id: u32) -> Vec<u8> {
    let mut v = vec![next, 0];
    v.extend_from_slice(&(offset | u16::from(more)).to_be_bytes());
    v.extend_from_slice(&id.to_be_bytes());
    v
}

fn tcp(flags: u8, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let doff = (20 + opts.len()) / 4;
    let mut v = vec![0x9c, 0x40, 0, 80, 0, 0, 0, 100, 0, 0, 0, 200];
    v.extend_from_slice(&[(doff as u8) << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
    v.extend_from_slice(opts);
    v.extend_from_slice(payload);
    v
}

fn udp(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x9c, 0x40, 0, 53];
    v.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

/// Test bytes live for the whole run, so results can outlive the temporaries built inline.
fn keep(d: &[u8]) -> &'static [u8] {
    Box::leak(d.to_vec().into_boxed_slice())
}

fn whole(d: &[u8]) -> Packet<'static> {
    match parse_ip(keep(d)) {
        Ok(Datagram::Whole(p)) => p,
        other => panic!("expected a whole datagram, got {other:?}"),
    }
}

fn frag(d: &[u8]) -> Fragment<'static> {
    match parse_ip(keep(d)) {
        Ok(Datagram::Fragment(f)) => f,
        other => panic!("expected a fragment, got {other:?}"),
    }
}

fn quoted(family: Family, d: &[u8]) -> Result<Packet<'static>, DropReason> {
    parse_quoted(family, keep(d))
}

fn err(d: &[u8]) -> DropReason {
    match parse_ip(d) {
        Err(r) => r,
        Ok(other) => panic!("expected a drop, got {other:?}"),
    }
}

fn tcp_of(p: Packet<'_>) -> TcpSegment {
    match p.l4 {
        L4::Tcp(t) => t,
        other => panic!("expected TCP, got {other:?}"),
    }
}

fn eth(tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    for &(tpid, tci) in tags {
        v.extend_from_slice(&tpid.to_be_bytes());
        v.extend_from_slice(&tci.to_be_bytes());
    }
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

// ---- link layer ----

#[test]
fn pcap_linktypes_map_to_decoders() {
    let cases = [
        (0, LinkType::Null),
        (108, LinkType::Null),
        (1, LinkType::Ethernet),
        (12, LinkType::RawIp),
        (14, LinkType::RawIp),
        (101, LinkType::RawIp),
        (113, LinkType::LinuxSll),
        (276, LinkType::LinuxSll2),
        (228, LinkType::Ipv4),
        (229, LinkType::Ipv6),
    ];
    for (lt, want) in cases {
        assert_eq!(LinkType::from_pcap(lt), Some(want), "linktype {lt}");
    }
    assert_eq!(LinkType::from_pcap(105), None);
}

#[test]
fn ethernet_ipv4_padding_is_trimmed_by_ip_length() {
    let mut d = ip4(ipproto::UDP, &udp(b"hi"));
    let ip_len = d.len();
    d.resize(46, 0); // minimum Ethernet payload
    let f = eth(&[], ethertype::IPV4, &d);
    let Frame::Ip {
        datagram,
        vlan: None,
    } = parse_link(LinkType::Ethernet, &f).unwrap()
    else {
        panic!("not IP");
    };
    let p = whole(datagram);
    assert_eq!(p.ip.len as usize, ip_len);
    assert_eq!(
        p.l4,
        L4::Udp(Ports {
            sport: 40000,
            dport: 53
        })
    );
    assert_eq!(p.payload, b"hi");
}

#[test]
fn vlan_qinq_and_9100_tags_report_the_outer_vid() {
    let d = ip4(ipproto::UDP, &udp(b""));
    for tags in [
        vec![(ethertype::VLAN, 0x2064)],
        vec![(ethertype::QINQ, 0x0064), (ethertype::VLAN, 0x00c8)],
        vec![(ethertype::QINQ_9100, 0x0064), (ethertype::VLAN, 7)],
        vec![
            (ethertype::QINQ, 0x64),
            (ethertype::VLAN, 1),
            (ethertype::VLAN, 2),
            (ethertype::VLAN, 3),
        ],
    ] {
        let f = eth(&tags, ethertype::IPV4, &d);
        assert_eq!(
            parse_link(LinkType::Ethernet, &f),
            Ok(Frame::Ip {
                datagram: &d[..],
                vlan: Some(100)
            }),
            "{tags:?}"
        );
    }
}

#[test]
fn five_vlan_tags_are_too_many() {
    let f = eth(
        &[(ethertype::VLAN, 1); 5],
        ethertype::IPV4,
        &ip4(ipproto::UDP, &udp(b"")),
    );
    assert_eq!(parse_link(LinkType::Ethernet, &f), Err(R::TooManyVlanTags));
}

#[test]
fn short_frames_are_truncated_link_headers() {
    let f = eth(&[(ethertype::VLAN, 1)], ethertype::IPV4, &[]);
    // Cut inside the tag.
    assert_eq!(
        parse_link(LinkType::Ethernet, &f[..15]),
        Err(R::TruncatedLinkHeader)
    );
    for (link, n) in [
        (LinkType::Ethernet, 13),
        (LinkType::LinuxSll, 15),
        (LinkType::LinuxSll2, 19),
        (LinkType::Null, 3),
        (LinkType::RawIp, 0),
        (LinkType::Ipv4, 0),
        (LinkType::Ipv6, 0),
    ] {
        assert_eq!(
            parse_link(link, &vec![0x45; n]),
            Err(R::TruncatedLinkHeader),
            "{link:?}"
        );
    }
}

#[test]
fn arp_is_not_ip() {
    let f = eth(&[(ethertype::VLAN, 5)], 0x0806, &[0; 28]);
    assert_eq!(
        parse_link(LinkType::Ethernet, &f),
        Ok(Frame::NonIp { ethertype: 0x0806 })
    );
}

#[test]
fn linux_sll_and_sll2() {
    let d4 = ip4(ipproto::TCP, &tcp(tcpflag::SYN, &[], &[]));
    let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
    sll.extend_from_slice(&d4);
    assert_eq!(
        parse_link(LinkType::LinuxSll, &sll),
        Ok(Frame::Ip {
            datagram: &d4[..],
            vlan: None
        })
    );
    let d6 = ip6(ipproto::UDP, &udp(b"x"));
    let mut sll2 = vec![
        0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0,
    ];
    sll2.extend_from_slice(&d6);
    assert_eq!(
        parse_link(LinkType::LinuxSll2, &sll2),
        Ok(Frame::Ip {
            datagram: &d6[..],
            vlan: None
        })
    );
    sll2[0..2].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(
        parse_link(LinkType::LinuxSll2, &sll2),
        Ok(Frame::NonIp { ethertype: 0x0806 })
    );
}

#[test]
fn null_loopback_family_in_either_byte_order() {
    let d = ip4(ipproto::UDP, &udp(b""));
    for fam in [
        2u32.to_le_bytes(),
        2u32.to_be_bytes(),
        30u32.to_le_bytes(),
        10u32.to_be_bytes(),
    ] {
        let mut f = fam.to_vec();
        f.extend_from_slice(&d);
        assert_eq!(
            parse_link(LinkType::Null, &f),
            Ok(Frame::Ip {
                datagram: &d[..],
                vlan: None
            })
        );
    }
    let mut f = 7u32.to_le_bytes().to_vec();
    f.extend_from_slice(&d);
    assert_eq!(
        parse_link(LinkType::Null, &f),
        Ok(Frame::NonIp { ethertype: 0 })
    );
}

#[test]
fn raw_ip_version_nibble_decides() {
    let d4 = ip4(ipproto::UDP, &udp(b""));
    let d6 = ip6(ipproto::UDP, &udp(b""));
    assert!(matches!(
        parse_link(LinkType::RawIp, &d4),
        Ok(Frame::Ip { .. })
    ));
    assert!(matches!(
        parse_link(LinkType::RawIp, &d6),
        Ok(Frame::Ip { .. })
    ));
    assert!(matches!(
        parse_link(LinkType::Ipv6, &d6),
        Ok(Frame::Ip { .. })
    ));
    assert_eq!(parse_link(LinkType::Ipv4, &d6), Err(R::BadIpVersion));
    assert_eq!(
        parse_link(LinkType::RawIp, &[0x50; 20]),
        Err(R::BadIpVersion)
    );
}

// ---- IPv4 ----

#[test]
fn ipv4_header_errors() {
    let good = ip4(ipproto::UDP, &udp(b"abc"));
    assert_eq!(err(&good[..19]), R::TruncatedIpv4Header);
    assert_eq!(err(&[]), R::BadIpVersion);
    let mut v = good.clone();
    v[0] = 0x55;
    assert_eq!(err(&v), R::BadIpVersion);
    v[0] = 0x44;
    assert_eq!(err(&v), R::BadIpv4HeaderLength);
    v[0] = 0x4f; // 60-byte header in a 31-byte datagram
    assert_eq!(err(&v), R::TruncatedIpv4Header);
    let mut v = good.clone();
    v[2..4].copy_from_slice(&19u16.to_be_bytes());
    assert_eq!(err(&v), R::BadIpv4TotalLength);
    v[2..4].copy_from_slice(&(good.len() as u16 + 1).to_be_bytes());
    assert_eq!(err(&v), R::BadIpv4TotalLength);
}

#[test]
fn ipv4_options_are_walked() {
    // NOP, Record Route (len 7, pointer 4, one slot), EOL: 12 bytes.
    let ok = [1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0, 0];
    let p = whole(&ip4_full(ipproto::UDP, &ok, 0, &udp(b"z")));
    assert_eq!(p.payload, b"z");
    for bad in [
        [1, 1, 0x44, 1],
        [0x44, 1, 0, 0],
        [0x44, 9, 0, 0],
        [1, 1, 1, 0x83],
    ] {
        assert_eq!(
            err(&ip4_full(ipproto::UDP, &bad, 0, &udp(b""))),
            R::BadIpv4Options,
            "{bad:?}"
        );
    }
}

#[test]
fn ipv4_fragments() {
    let body = [7u8; 16];
    let f = frag(&ip4_full(ipproto::UDP, &[], 0x2000, &body));
    assert_eq!(
        (f.id, f.offset, f.more, f.data),
        (0x1234, 0, true, &body[..])
    );
    assert_eq!((f.ip.proto, f.ip.len), (ipproto::UDP, 36));
    let f = frag(&ip4_full(ipproto::UDP, &[], 0x0003, &body));
    assert_eq!((f.offset, f.more), (24, false));
    // DF alone is not a fragment.
    assert!(matches!(
        parse_ip(&ip4_full(ipproto::UDP, &[], 0x4000, &udp(b""))),
        Ok(Datagram::Whole(_))
    ));
}

// ---- IPv6 ----

#[test]
fn ipv6_header_errors() {
    let good = ip6(ipproto::UDP, &udp(b"abc"));
    assert_eq!(err(&good[..39]), R::TruncatedIpv6Header);
    let mut v = good.clone();
    v[5] += 1;
    assert_eq!(err(&v), R::BadIpv6PayloadLength);
    // A jumbogram: payload length 0 and a Hop-by-Hop header.
    let mut v = ip6(ext::HOP_BY_HOP, &[]);
    v.extend_from_slice(&[17, 0, 0xc2, 4, 0, 1, 0, 0]);
    assert_eq!(err(&v), R::BadIpv6PayloadLength);
    // Padding after the payload is trimmed.
    let mut v = good.clone();
    v.extend_from_slice(&[0; 6]);
    assert_eq!(whole(&v).payload, b"abc");
    // No Next Header with an empty payload is a whole packet.
    let p = whole(&ip6(59, &[]));
    assert_eq!((p.ip.proto, p.l4, p.ip.len), (59, L4::Other, 40));
}

#[test]
fn ipv6_extension_chain_is_walked() {
    let mut pl = ext_hdr(ext::ROUTING, 0);
    pl.extend(ext_hdr(ext::DEST_OPTS, 1));
    pl.extend(ext_hdr(ext::AH, 1));
    // AH: length in 4-byte words minus 2: 4 words = 16 bytes.
    pl.extend_from_slice(&[ext::MOBILITY, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    pl.extend(ext_hdr(ext::HIP, 0));
    pl.extend(ext_hdr(ext::SHIM6, 0));
    pl.extend(ext_hdr(ipproto::TCP, 0));
    pl.extend(tcp(tcpflag::ACK, &[], b"data"));
    let p = whole(&ip6(ext::HOP_BY_HOP, &pl));
    assert_eq!(p.ip.proto, ipproto::TCP);
    assert_eq!(p.ip.len as usize, 40 + pl.len());
    assert_eq!(p.ip.src, A6);
    assert_eq!(p.payload, b"data");
    assert_eq!(tcp_of(p).payload_len, 4);
}

#[test]
fn ipv6_chain_limits() {
    let chain = |n: usize, last_next: u8| {
        let mut pl = Vec::new();
        for i in 0..n {
            pl.extend(ext_hdr(
                if i + 1 == n {
                    last_next
                } else {
                    ext::DEST_OPTS
                },
                0,
            ));
        }
        pl.extend(udp(b""));
        ip6(ext::DEST_OPTS, &pl)
    };
    assert_eq!(whole(&chain(8, ipproto::UDP)).ip.proto, ipproto::UDP);
    assert_eq!(err(&chain(9, ipproto::UDP)), R::Ipv6ExtensionChainTooLong);
    let mut v = ip6(ext::ROUTING, &[ipproto::UDP, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(err(&v), R::TruncatedIpv6ExtensionHeader);
    v = ip6(ext::FRAGMENT, &[ipproto::UDP, 0, 0, 0]);
    assert_eq!(err(&v), R::TruncatedIpv6ExtensionHeader);
    v = ip6(ext::ROUTING, &[ipproto::UDP]);
    assert_eq!(err(&v), R::TruncatedIpv6ExtensionHeader);
}

#[test]
fn ipv6_fragments_and_atomic_fragments() {
    let mut pl = ext_hdr(ext::FRAGMENT, 0);
    pl.extend(frag_hdr(ipproto::UDP, 0, true, 0xdead_beef));
    pl.extend_from_slice(&[1; 8]);
    let f = frag(&ip6(ext::HOP_BY_HOP, &pl));
    assert_eq!(
        (f.id, f.offset, f.more, f.data),
        (0xdead_beef, 0, true, &[1u8; 8][..])
    );
    assert_eq!((f.ip.proto, f.ip.len), (ipproto::UDP, 40 + pl.len() as u32));
    let mut pl = frag_hdr(ipproto::UDP, 1480, false, 9);
    pl.extend_from_slice(&[1; 3]);
    let f = frag(&ip6(ext::FRAGMENT, &pl));
    assert_eq!((f.offset, f.more, f.data.len()), (1480, false, 3));
    // RFC 6946: offset 0 and M = 0 is a whole packet.
    let mut pl = frag_hdr(ipproto::UDP, 0, false, 9);
    pl.extend(udp(b"atomic"));
    let p = whole(&ip6(ext::FRAGMENT, &pl));
    assert_eq!((p.ip.proto, p.payload), (ipproto::UDP, &b"atomic"[..]));
}

#[test]
fn esp_ends_the_chain() {
    let mut pl = ext_hdr(50, 0);
    pl.extend_from_slice(&[0xaa; 24]);
    let p = whole(&ip6(ext::DEST_OPTS, &pl));
    assert_eq!((p.ip.proto, p.l4), (50, L4::Other));
    assert_eq!(whole(&ip4(50, &[0; 12])).l4, L4::Other);
}

// ---- TCP ----

#[test]
fn tcp_syn_options() {
    let opts = [
        2, 4, 0x05, 0xb4, // MSS 1460
        4, 2, // SACK permitted
        8, 10, 0, 0, 0, 1, 0, 0, 0, 0, // timestamps
        1, // NOP
        3, 3, 15, // window scale 15, clamped to 14
        0, 0, 0, 0, // EOL, padding
    ];
    let p = whole(&ip4(ipproto::TCP, &tcp(tcpflag::SYN, &opts, &[])));
    let t = tcp_of(p);
    assert_eq!((t.sport, t.dport, t.seq, t.ack), (40000, 80, 100, 200));
    assert_eq!((t.flags, t.window), (tcpflag::SYN, 0xffff));
    assert_eq!((t.wscale, t.sack_perm, t.sack_max), (Some(14), true, None));
    assert_eq!(t.payload_len, 0);
    // Whatever follows EOL is padding, even if it looks malformed.
    let t = tcp_of(whole(&ip4(ipproto::TCP, &tcp(0, &[0, 1, 7, 0], &[]))));
    assert_eq!(t.wscale, None);
}

#[test]
fn tcp_sack_max_uses_sequence_arithmetic() {
    let mut opts = vec![1, 1, 5, 18];
    for edge in [(0xffff_ff00u32, 0xffff_fff0u32), (0x0000_0000, 0x0000_0010)] {
        opts.extend_from_slice(&edge.0.to_be_bytes());
        opts.extend_from_slice(&edge.1.to_be_bytes());
    }
    let t = tcp_of(whole(&ip6(ipproto::TCP, &tcp(tcpflag::ACK, &opts, b"x"))));
    assert_eq!(t.sack_max, Some(0x10));
    assert_eq!(t.payload_len, 1);
}

#[test]
fn tcp_errors() {
    let seg = tcp(tcpflag::ACK, &[], b"payload");
    assert_eq!(err(&ip4(ipproto::TCP, &seg[..19])), R::TruncatedTcpHeader);
    let mut s = seg.clone();
    s[12] = 4 << 4;
    assert_eq!(err(&ip4(ipproto::TCP, &s)), R::BadTcpDataOffset);
    s[12] = 15 << 4; // 60 bytes in a 27-byte segment
    assert_eq!(err(&ip4(ipproto::TCP, &s)), R::BadTcpDataOffset);
    for bad in [
        [2, 3, 0, 0],    // MSS of the wrong size
        [3, 4, 0, 0],    // window scale of the wrong size
        [1, 0x22, 1, 0], // length < 2
        [1, 1, 0x22, 5], // length past the header
        [5, 2, 0, 0],    // SACK without a block
        [4, 3, 0, 1],    // SACK-permitted with a value
    ] {
        assert_eq!(
            err(&ip4(ipproto::TCP, &tcp(0, &bad, &[]))),
            R::BadTcpOptions,
            "{bad:?}"
        );
    }
}

// ---- UDP, UDP-Lite, ICMP ----

#[test]
fn udp_length_bounds_the_payload() {
    let mut seg = udp(b"abcd");
    seg.extend_from_slice(b"trailer");
    let p = whole(&ip4(ipproto::UDP, &seg));
    assert_eq!(p.payload, b"abcd");
    assert_eq!(err(&ip4(ipproto::UDP, &seg[..7])), R::TruncatedUdpHeader);
    for len in [0u16, 7, 20] {
        let mut s = udp(b"abcd");
        s[4..6].copy_from_slice(&len.to_be_bytes());
        assert_eq!(err(&ip4(ipproto::UDP, &s)), R::BadUdpLength, "length {len}");
    }
}

#[test]
fn udplite_checksum_coverage() {
    for (cov, ok) in [(0u16, true), (8, true), (12, true), (4, false), (13, false)] {
        let mut s = udp(b"abcd");
        s[4..6].copy_from_slice(&cov.to_be_bytes());
        let d = ip4(ipproto::UDPLITE, &s);
        if ok {
            let p = whole(&d);
            assert_eq!(
                (p.l4, p.payload),
                (
                    L4::UdpLite(Ports {
                        sport: 40000,
                        dport: 53
                    }),
                    &b"abcd"[..]
                )
            );
        } else {
            assert_eq!(err(&d), R::BadUdpLiteChecksumCoverage, "coverage {cov}");
        }
    }
}

#[test]
fn icmp_and_icmpv6_messages() {
    let echo = [8, 0, 0, 0, 0x12, 0x34, 0, 1, b'p', b'i'];
    let p = whole(&ip4(ipproto::ICMP, &echo));
    assert_eq!(
        p.l4,
        L4::Icmp(IcmpMessage {
            ty: 8,
            code: 0,
            id: 0x1234,
            rest: b"pi"
        })
    );
    assert_eq!(err(&ip4(ipproto::ICMP, &echo[..7])), R::TruncatedIcmpHeader);
    let p = whole(&ip6(ipproto::ICMPV6, &[128, 0, 0, 0, 0, 9, 0, 1]));
    assert_eq!(
        p.l4,
        L4::Icmpv6(IcmpMessage {
            ty: 128,
            code: 0,
            id: 9,
            rest: &[]
        })
    );
    // ICMPv4 inside IPv6 is no protocol of that family: raw IP.
    assert_eq!(whole(&ip6(ipproto::ICMP, &echo)).l4, L4::Other);
}

// ---- SCTP ----

fn sctp(chunks: &[u8]) -> Vec<u8> {
    let mut v = vec![0x0b, 0x59, 0x0b, 0x59, 0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0];
    v.extend_from_slice(chunks);
    v
}

#[test]
fn sctp_chunk_walk() {
    // DATA with a 5-byte value (padded), then a COOKIE ACK, then a chunk whose padding is
    // left off at the end of the packet.
    let chunks = [
        0, 3, 0, 9, 1, 2, 3, 4, 5, 0, 0, 0, //
        11, 0, 0, 4, //
        0xc0, 0, 0, 6, 0xaa, 0xbb,
    ];
    let p = whole(&ip4(ipproto::SCTP, &sctp(&chunks)));
    let L4::Sctp(h) = p.l4 else {
        panic!("not SCTP")
    };
    assert_eq!((h.sport, h.dport, h.vtag), (2905, 2905, 0xcafe_babe));
    let got: Vec<_> = h.chunks().collect();
    assert_eq!(
        got,
        [
            SctpChunk {
                ty: 0,
                flags: 3,
                value: &[1, 2, 3, 4, 5]
            },
            SctpChunk {
                ty: 11,
                flags: 0,
                value: &[]
            },
            SctpChunk {
                ty: 0xc0,
                flags: 0,
                value: &[0xaa, 0xbb]
            },
        ]
    );
}

#[test]
fn sctp_errors() {
    assert_eq!(
        err(&ip4(ipproto::SCTP, &sctp(&[])[..11])),
        R::TruncatedSctpHeader
    );
    for bad in [
        &[][..],                   // no chunk
        &[1, 0, 0, 3],             // length < 4
        &[1, 0, 0, 9, 0, 0, 0, 0], // past the packet
        &[11, 0, 0, 4, 0, 0],      // stray bytes after a chunk
    ] {
        assert_eq!(
            err(&ip4(ipproto::SCTP, &sctp(bad))),
            R::BadSctpChunk,
            "{bad:?}"
        );
    }
}

#[test]
fn sctp_chunk_iterator_stops_on_garbage() {
    let h = SctpHeader {
        sport: 1,
        dport: 2,
        vtag: 3,
        chunks: &[1, 0, 0, 8, 0, 0, 0, 0, 2, 0, 0, 2, 9],
    };
    let got: Vec<_> = h.chunks().map(|c| c.ty).collect();
    assert_eq!(got, [1]);
    let h = SctpHeader {
        chunks: &[1, 0, 0, 200],
        ..h
    };
    assert_eq!(h.chunks().count(), 0);
}

// ---- DCCP ----

/// Generic header with X = 1 (16 bytes) for `ptype`, then `rest`.
fn dccp(ptype: u8, rest: &[u8]) -> Vec<u8> {
    let doff = ((16 + rest.len()) / 4) as u8;
    let mut v = vec![0x13, 0x88, 0x00, 0x50, doff, 0, 0, 0, (ptype << 1) | 1, 0];
    v.extend_from_slice(&[0, 0, 0, 0, 0x01, 0x02]); // seq 0x0102
    v.extend_from_slice(rest);
    v
}

fn dccp_of(p: Packet<'_>) -> DccpHeader {
    match p.l4 {
        L4::Dccp(d) => d,
        other => panic!("expected DCCP, got {other:?}"),
    }
}

const ACK48: [u8; 8] = [0, 0, 0, 0, 0, 0, 0x0a, 0x0b];

#[test]
fn dccp_types() {
    let req = dccp_of(whole(&ip4(ipproto::DCCP, &dccp(0, &[0, 0, 0, 42]))));
    assert_eq!(
        (req.sport, req.dport, req.ptype, req.seq, req.ack),
        (5000, 80, 0, 0x0102, None)
    );
    let mut resp = ACK48.to_vec();
    resp.extend_from_slice(&[0, 0, 0, 42]);
    let r = dccp_of(whole(&ip4(ipproto::DCCP, &dccp(1, &resp))));
    assert_eq!((r.ptype, r.ack), (1, Some(0x0a0b)));
    let mut reset = ACK48.to_vec();
    reset.extend_from_slice(&[2, 0, 0, 0]);
    assert_eq!(
        dccp_of(whole(&ip4(ipproto::DCCP, &dccp(7, &reset)))).ptype,
        7
    );
    for ty in [3, 4, 5, 6, 8, 9] {
        let d = dccp_of(whole(&ip4(ipproto::DCCP, &dccp(ty, &ACK48))));
        assert_eq!(d.ack, Some(0x0a0b), "type {ty}");
    }
    let mut data = dccp(2, b"");
    data.extend_from_slice(b"app!");
    let p = whole(&ip4(ipproto::DCCP, &data));
    assert_eq!((p.payload, dccp_of(p).ack), (&b"app!"[..], None));
    // X = 0: 24-bit numbers, 12-byte header, 4-byte ack subheader (RFC 4340 §5.1, §5.3).
    let short_ack = [
        0x13,
        0x88,
        0,
        0x50,
        4,
        0,
        0,
        0,
        3 << 1,
        0x01,
        0x02,
        0x03,
        0,
        0,
        0,
        0x07,
    ];
    let d = dccp_of(whole(&ip4(ipproto::DCCP, &short_ack)));
    assert_eq!((d.ptype, d.seq, d.ack), (3, 0x010203, Some(7)));
}

#[test]
fn dccp_errors() {
    let dg = |seg: &[u8]| err(&ip4(ipproto::DCCP, seg));
    assert_eq!(dg(&dccp(0, &[0, 0, 0, 42])[..11]), R::TruncatedDccpHeader);
    // Request without its service code; Ack without its ack subheader.
    let mut s = dccp(0, &[]);
    s[4] = 5;
    assert_eq!(dg(&s), R::TruncatedDccpHeader);
    assert_eq!(dg(&dccp(3, &ACK48[..4])), R::TruncatedDccpHeader);
    // Reserved type, and X = 0 on a Request.
    assert_eq!(dg(&dccp(10, &ACK48)), R::BadDccpHeader);
    let mut s = dccp(0, &[0, 0, 0, 42]);
    s[8] &= !1;
    assert_eq!(dg(&s), R::BadDccpHeader);
    // Data offset inside the fixed header, or past the packet.
    let mut s = dccp(3, &ACK48);
    s[4] = 5;
    assert_eq!(dg(&s), R::BadDccpHeader);
    s[4] = 7;
    assert_eq!(dg(&s), R::BadDccpHeader);
    // Checksum coverage past the packet (RFC 4340 §9.2).
    let mut s = dccp(3, &ACK48);
    s[5] = 2;
    assert_eq!(dg(&s), R::BadDccpHeader);
}

// ---- ICMP error quotes ----

#[test]
fn quoted_ipv4_udp_cut_after_8_bytes() {
    let inner = ip4(ipproto::UDP, &udp(&[0; 100]));
    let q = &inner[..28];
    let p = quoted(Family::V4, q).unwrap();
    assert_eq!(p.ip.len, 128);
    assert_eq!(
        p.l4,
        L4::Udp(Ports {
            sport: 40000,
            dport: 53
        })
    );
    assert_eq!(
        quoted(Family::V6, q).map(|p| p.l4),
        Err(R::BadIcmpErrorQuote)
    );
    assert_eq!(
        quoted(Family::V4, &q[..27]).map(|p| p.l4),
        Err(R::BadIcmpErrorQuote)
    );
    assert_eq!(
        quoted(Family::V4, &q[..19]).map(|p| p.l4),
        Err(R::BadIcmpErrorQuote)
    );
    // Inside a whole ICMP error, as the ICMP module will see it.
    let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(q);
    let outer = whole(&ip4(ipproto::ICMP, &icmp));
    let L4::Icmp(m) = outer.l4 else {
        panic!("not ICMP")
    };
    assert!(crate::proto::icmp::is_error(ipproto::ICMP, m.ty));
    assert_eq!(quoted(outer.ip.family, m.rest).unwrap().ip.src, v4_addr(A4));
}

#[test]
fn quoted_tcp_sctp_dccp_icmp() {
    let t = quoted(
        Family::V4,
        &ip4(ipproto::TCP, &tcp(tcpflag::SYN, &[], b"x"))[..28],
    )
    .unwrap();
    assert_eq!(
        tcp_of(t),
        TcpSegment {
            sport: 40000,
            dport: 80,
            seq: 100,
            ..TcpSegment::default()
        }
    );
    let s = quoted(Family::V4, &ip4(ipproto::SCTP, &sctp(&[1, 0, 0, 4]))[..28]).unwrap();
    assert_eq!(
        s.l4,
        L4::Sctp(SctpHeader {
            sport: 2905,
            dport: 2905,
            vtag: 0xcafe_babe,
            chunks: &[]
        })
    );
    let d = quoted(
        Family::V4,
        &ip4(ipproto::DCCP, &dccp(0, &[0, 0, 0, 1]))[..28],
    )
    .unwrap();
    assert_eq!(dccp_of(d).ptype, DCCP_TYPE_UNKNOWN);
    let d = quoted(
        Family::V4,
        &ip4(ipproto::DCCP, &dccp(0, &[0, 0, 0, 1]))[..36],
    )
    .unwrap();
    assert_eq!((dccp_of(d).ptype, dccp_of(d).seq), (0, 0x0102));
    let echo = quoted(
        Family::V6,
        &ip6(ipproto::ICMPV6, &[128, 0, 0, 0, 0, 5, 0, 1]),
    )
    .unwrap();
    assert_eq!(
        echo.l4,
        L4::Icmpv6(IcmpMessage {
            ty: 128,
            code: 0,
            id: 5,
            rest: &[]
        })
    );
}

#[test]
fn quoted_ipv6_first_fragment_is_readable_but_later_ones_are_not() {
    let mut pl = frag_hdr(ext::DEST_OPTS, 0, true, 1);
    pl.extend(ext_hdr(ipproto::UDP, 0));
    pl.extend(udp(&[0; 64]));
    let q = ip6(ext::FRAGMENT, &pl);
    let p = quoted(Family::V6, &q[..40 + 16 + 8]).unwrap();
    assert_eq!(
        (p.ip.proto, p.l4),
        (
            ipproto::UDP,
            L4::Udp(Ports {
                sport: 40000,
                dport: 53
            })
        )
    );
    let mut later = frag_hdr(ipproto::UDP, 8, false, 1);
    later.extend_from_slice(&[0; 8]);
    assert_eq!(
        quoted(Family::V6, &ip6(ext::FRAGMENT, &later)).map(|p| p.l4),
        Err(R::BadIcmpErrorQuote)
    );
    let v4later = ip4_full(ipproto::UDP, &[], 1, &[0; 8]);
    assert_eq!(
        quoted(Family::V4, &v4later).map(|p| p.l4),
        Err(R::BadIcmpErrorQuote)
    );
    // A quoted extension header cut short is unreadable.
    assert_eq!(
        quoted(Family::V6, &q[..44]).map(|p| p.l4),
        Err(R::BadIcmpErrorQuote)
    );
}

#[test]
fn icmp_error_types() {
    for ty in [3, 4, 5, 11, 12] {
        assert!(crate::proto::icmp::is_error(ipproto::ICMP, ty));
    }
    for ty in [1, 2, 3, 4] {
        assert!(crate::proto::icmp::is_error(ipproto::ICMPV6, ty));
    }
    for (proto, ty) in [
        (ipproto::ICMP, 0),
        (ipproto::ICMP, 8),
        (ipproto::ICMPV6, 128),
        (ipproto::UDP, 3),
    ] {
        assert!(!crate::proto::icmp::is_error(proto, ty));
    }
}
