//! Building `Packet`s directly (no bytes) for table-level tests.
#![allow(dead_code)]

use sessmgr::proto::wire::{
    Addr, DccpHeader, Family, IcmpMessage, IpInfo, L4, Packet, Ports, SctpHeader, TcpSegment,
    ipproto, tcpflag,
};

pub fn v4(a: [u8; 4]) -> Addr {
    let mut x = [0u8; 16];
    x[..4].copy_from_slice(&a);
    x
}

pub fn v6(last: u8) -> Addr {
    let mut x = [0u8; 16];
    x[..4].copy_from_slice(&[0x20, 0x01, 0x00, 0x02]);
    x[15] = last;
    x
}

pub const A: [u8; 4] = [198, 18, 0, 1];
pub const B: [u8; 4] = [198, 18, 0, 2];

fn ip(family: Family, src: Addr, dst: Addr, proto: u8, len: u32) -> IpInfo {
    IpInfo {
        family,
        src,
        dst,
        proto,
        len,
        ttl: 64,
    }
}

pub fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Packet<'static> {
    Packet {
        ip: ip(Family::V4, v4(src), v4(dst), ipproto::UDP, 60),
        l4: L4::Udp(Ports { sport, dport }),
        payload: &[],
        cut: false,
        reassembled: false,
    }
}

pub fn udplite(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Packet<'static> {
    Packet {
        ip: ip(Family::V4, v4(src), v4(dst), ipproto::UDPLITE, 60),
        l4: L4::UdpLite(Ports { sport, dport }),
        payload: &[],
        cut: false,
        reassembled: false,
    }
}

pub fn rawip(src: [u8; 4], dst: [u8; 4], proto: u8) -> Packet<'static> {
    Packet {
        ip: ip(Family::V4, v4(src), v4(dst), proto, 60),
        l4: L4::Other,
        payload: &[],
        cut: false,
        reassembled: false,
    }
}

pub fn icmp(src: [u8; 4], dst: [u8; 4], ty: u8, id: u16) -> Packet<'static> {
    Packet {
        ip: ip(Family::V4, v4(src), v4(dst), ipproto::ICMP, 84),
        l4: L4::Icmp(IcmpMessage {
            ty,
            code: 0,
            id,
            rest: &[],
        }),
        payload: &[],
        cut: false,
        reassembled: false,
    }
}

pub fn icmp6(src: u8, dst: u8, ty: u8, id: u16) -> Packet<'static> {
    Packet {
        ip: ip(Family::V6, v6(src), v6(dst), ipproto::ICMPV6, 104),
        l4: L4::Icmpv6(IcmpMessage {
            ty,
            code: 0,
            id,
            rest: &[],
        }),
        payload: &[],
        cut: false,
        reassembled: false,
    }
}

/// A TCP segment with the given flags, sequence and ack numbers and a 64 KiB window.
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    len: u32,
) -> Packet<'static> {
    let seg = TcpSegment {
        sport,
        dport,
        seq,
        ack,
        flags,
        window: 65535,
        wscale: None,
        sack_perm: false,
        sack_max: None,
        payload_len: len,
    };
    Packet {
        ip: ip(Family::V4, v4(src), v4(dst), ipproto::TCP, 40 + len),
        l4: L4::Tcp(seg),
        payload: &[],
        cut: false,
        reassembled: false,
    }
}

pub const SYN: u8 = tcpflag::SYN;
pub const SYNACK: u8 = tcpflag::SYN | tcpflag::ACK;
pub const ACK: u8 = tcpflag::ACK;
pub const FINACK: u8 = tcpflag::FIN | tcpflag::ACK;
pub const RST: u8 = tcpflag::RST;
pub const RSTACK: u8 = tcpflag::RST | tcpflag::ACK;
pub const PSHACK: u8 = tcpflag::PSH | tcpflag::ACK;

/// The client side of a 3-way handshake on client port `cport` to `sport`: returns the
/// packets in order (SYN, SYN-ACK, ACK). Client ISN 1000, server ISN 5000.
pub fn handshake(cport: u16, sport: u16) -> [Packet<'static>; 3] {
    [
        tcp(A, cport, B, sport, SYN, 1000, 0, 0),
        tcp(B, sport, A, cport, SYNACK, 5000, 1001, 0),
        tcp(A, cport, B, sport, ACK, 1001, 5001, 0),
    ]
}

pub fn sctp_packet(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    vtag: u32,
    chunks: &'static [u8],
) -> Packet<'static> {
    Packet {
        ip: ip(Family::V4, v4(src), v4(dst), ipproto::SCTP, 80),
        l4: L4::Sctp(SctpHeader {
            sport,
            dport,
            vtag,
            chunks,
        }),
        payload: &[],
        cut: false,
        reassembled: false,
    }
}

pub fn dccp_packet(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    ptype: u8,
    seq: u64,
    ack: Option<u64>,
) -> Packet<'static> {
    Packet {
        ip: ip(Family::V4, v4(src), v4(dst), ipproto::DCCP, 60),
        l4: L4::Dccp(DccpHeader {
            sport,
            dport,
            ptype,
            seq,
            ack,
        }),
        payload: &[],
        cut: false,
        reassembled: false,
    }
}
