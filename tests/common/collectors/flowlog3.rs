//! A decoder of Comware flow log 3.0 datagrams, written from reference/comware.md §11.3 alone
//! (not from the engine's encoder), for the tests' own check of what the engine sends:
//! Wireshark has no dissector for this format.
//!
//! Datagram = a 16-byte header, then `Count` records of the one type `LogType` names, all in
//! network byte order. Header: Version 1, LogType 1, Count 2, Second 4, FlowSequence 4,
//! Chassis 2, Slot 1, Cpu 1. The two record layouts known (§11.3): the IPv4 record (64 bytes,
//! LogType 4, "NAT flow") and the NAT66 record (76 bytes, LogType 5). Anything else, a count
//! outside 1..=100 or a length that is not exactly header + Count records is an error: the
//! decoder never guesses.

use std::net::{Ipv4Addr, Ipv6Addr};

pub const HEADER_LEN: usize = 16;
pub const IPV4_RECORD_LEN: usize = 64;
pub const NAT66_RECORD_LEN: usize = 76;
/// LogType values (§11.3 header table).
pub const LOG_TYPE_IPV4: u8 = 4;
pub const LOG_TYPE_NAT66: u8 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub log_type: u8,
    pub count: u16,
    /// Packet generation time, seconds since 1970.
    pub second: u32,
    pub sequence: u32,
    pub chassis: u16,
    pub slot: u8,
    pub cpu: u8,
}

/// The IPv4 record (64 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Record {
    pub protocol: u8,
    /// The event code (§11.2 table: 1 normal over, 2 aged, 3 reset/config, 6 active, 8 created…).
    pub operator: u8,
    pub ip_version: u8,
    pub tos: u8,
    pub src: Ipv4Addr,
    pub src_nat: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub dst_nat: Ipv4Addr,
    pub src_port: u16,
    pub src_nat_port: u16,
    pub dst_port: u16,
    pub dst_nat_port: u16,
    pub start_time: u32,
    /// 0 for a live flow.
    pub end_time: u32,
    pub in_packets: u32,
    pub in_bytes: u32,
    pub out_packets: u32,
    pub out_bytes: u32,
    pub in_vpn: u8,
    pub out_vpn: u8,
    pub vsystem: u16,
    pub app_id: u32,
    pub reserved: u32,
}

/// The NAT66 record (76 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nat66Record {
    pub protocol: u8,
    pub operator: u8,
    pub ip_version: u8,
    pub traffic_class: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub src_port: u16,
    pub dst_port: u16,
    pub start_time: u32,
    pub end_time: u32,
    pub in_packets: u32,
    pub in_bytes: u32,
    pub out_packets: u32,
    pub out_bytes: u32,
    pub in_vpn: u16,
    pub out_vpn: u16,
    pub context: u32,
    pub app_id: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    V4(Ipv4Record),
    Nat66(Nat66Record),
}

/// A cursor over the datagram; every read is bounds-checked by the length check before it.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> u8 {
        let v = self.b[self.at];
        self.at += 1;
        v
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn v4(&mut self) -> Ipv4Addr {
        Ipv4Addr::from(self.u32())
    }
    fn v6(&mut self) -> Ipv6Addr {
        let mut o = [0u8; 16];
        o.iter_mut().for_each(|x| *x = self.u8());
        Ipv6Addr::from(o)
    }
}

/// Decodes one UDP payload.
pub fn decode(datagram: &[u8]) -> Result<(Header, Vec<Record>), String> {
    if datagram.len() < HEADER_LEN {
        return Err(format!(
            "{} bytes: shorter than the 16-byte header",
            datagram.len()
        ));
    }
    let mut r = Reader { b: datagram, at: 0 };
    let header = Header {
        version: r.u8(),
        log_type: r.u8(),
        count: r.u16(),
        second: r.u32(),
        sequence: r.u32(),
        chassis: r.u16(),
        slot: r.u8(),
        cpu: r.u8(),
    };
    if header.version != 3 {
        return Err(format!("version {} (expected 3)", header.version));
    }
    let record_len = match header.log_type {
        LOG_TYPE_IPV4 => IPV4_RECORD_LEN,
        LOG_TYPE_NAT66 => NAT66_RECORD_LEN,
        t => return Err(format!("log type {t}: no layout known")),
    };
    if !(1..=100).contains(&header.count) {
        return Err(format!("count {} outside 1..=100", header.count));
    }
    let want = HEADER_LEN + usize::from(header.count) * record_len;
    if datagram.len() != want {
        return Err(format!(
            "{} bytes, but {} records of {record_len} after the header make {want}",
            datagram.len(),
            header.count
        ));
    }
    let mut records = Vec::with_capacity(usize::from(header.count));
    for i in 0..header.count {
        let rec = if header.log_type == LOG_TYPE_IPV4 {
            let v = Ipv4Record {
                protocol: r.u8(),
                operator: r.u8(),
                ip_version: r.u8(),
                tos: r.u8(),
                src: r.v4(),
                src_nat: r.v4(),
                dst: r.v4(),
                dst_nat: r.v4(),
                src_port: r.u16(),
                src_nat_port: r.u16(),
                dst_port: r.u16(),
                dst_nat_port: r.u16(),
                start_time: r.u32(),
                end_time: r.u32(),
                in_packets: r.u32(),
                in_bytes: r.u32(),
                out_packets: r.u32(),
                out_bytes: r.u32(),
                in_vpn: r.u8(),
                out_vpn: r.u8(),
                vsystem: r.u16(),
                app_id: r.u32(),
                reserved: r.u32(),
            };
            if v.ip_version != 4 {
                return Err(format!(
                    "record {i}: IPVersion {} in an IPv4 record",
                    v.ip_version
                ));
            }
            Record::V4(v)
        } else {
            let v = Nat66Record {
                protocol: r.u8(),
                operator: r.u8(),
                ip_version: r.u8(),
                traffic_class: r.u8(),
                src: r.v6(),
                dst: r.v6(),
                src_port: r.u16(),
                dst_port: r.u16(),
                start_time: r.u32(),
                end_time: r.u32(),
                in_packets: r.u32(),
                in_bytes: r.u32(),
                out_packets: r.u32(),
                out_bytes: r.u32(),
                in_vpn: r.u16(),
                out_vpn: r.u16(),
                context: r.u32(),
                app_id: r.u32(),
            };
            if v.ip_version != 6 {
                return Err(format!(
                    "record {i}: IPVersion {} in a NAT66 record",
                    v.ip_version
                ));
            }
            Record::Nat66(v)
        };
        records.push(rec);
    }
    Ok((header, records))
}
