//! Feeds arbitrary bytes through every link decoder, the IP and transport parsers, the ICMP
//! quote parser, the SCTP chunk iterator and a small reassembler (proto::wire, proto::frag).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessmgr::proto::frag::{FragLimits, FragOutcome, Original, Reassembler};
use sessmgr::proto::wire::{
    Datagram, Family, Frame, L4, LinkType, parse_ip, parse_link, parse_quoted,
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

fn ip(datagram: &[u8], r: &mut Reassembler, now: u64) {
    match parse_ip(datagram) {
        Ok(Datagram::Whole(p)) => match p.l4 {
            L4::Sctp(h) => {
                for chunk in h.chunks() {
                    std::hint::black_box(chunk);
                }
            }
            L4::Icmp(m) | L4::Icmpv6(m) => {
                let _ = parse_quoted(p.ip.family, m.rest);
            }
            _ => {}
        },
        Ok(Datagram::Fragment(f)) => {
            // Held inline (the frame kept) or not, alternately; a verdict either way.
            let original = (now % 2 == 0).then_some(Original {
                frame: datagram,
                port: 0,
            });
            if let FragOutcome::Complete(whole) = r.push_frame(&f, original, now) {
                let pass = parse_ip(&whole).is_ok() && whole.len() % 2 == 0;
                let mut released = Vec::new();
                r.judge(pass, now, &mut released);
                assert!(pass || released.is_empty());
            }
        }
        Err(_) => {}
    }
    let _ = parse_quoted(Family::V4, datagram);
    let _ = parse_quoted(Family::V6, datagram);
}

fuzz_target!(|data: &[u8]| {
    // Small limits so the pool-full and timeout paths are reached too.
    let limits = FragLimits {
        max_bytes: 16 * 1024,
        low_bytes: 8 * 1024,
        source_share_percent: 50,
        timeout_ns: 3,
    };
    let mut r = Reassembler::new(limits);
    for (now, link) in LINKS.into_iter().enumerate() {
        if let Ok(Frame::Ip { datagram, .. }) = parse_link(link, data) {
            ip(datagram, &mut r, now as u64);
        }
    }
    // The input also read as a run of length-prefixed datagrams, so several fragments of
    // one datagram can meet in the reassembler.
    let mut rest = data;
    let mut now = 0;
    while let Some((&len, tail)) = rest.split_first() {
        let (datagram, next) = tail.split_at(usize::from(len).min(tail.len()));
        ip(datagram, &mut r, now);
        now += 1;
        rest = next;
    }
    let _ = r.expire(u64::MAX);
    assert_eq!(r.bytes_held(), 0);
});
