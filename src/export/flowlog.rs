//! Comware's binary flow log 3.0 (`userlog flow export version 3`, reference/comware.md
//! §11.3): the UDP payloads a flow-log collector receives.
//!
//! A datagram is a 16-byte header and 1..100 records of one type, in network byte order:
//! 64-byte IPv4 records (LogType 4, "NAT flow") or 76-byte NAT66 records for IPv6 (LogType 5).
//! The engine does no NAT, so the NAT fields repeat the real addresses and ports, as a Comware
//! box without NAT sends them.
//!
//! [`FlowLogExport`] is one exporter's packet builder: it keeps the datagram in progress (at
//! most one, so memory is bounded) and the packet sequence number, and hands back finished
//! datagrams. It reads no clock and opens no socket: the caller gives the generation time.
//!
//! Choices of ours (Comware's values are not documented), see docs/session-logs.md:
//! - IPv4 sessions use LogType 4 and IPv6 sessions LogType 5 (the NAT flow and NAT66 layouts).
//! - `IPVersion` is 4 or 6; `AppID` is 0 (Comware's internal application numbering is not
//!   known, and a number of our own would mislead a collector that knows Comware's).
//! - The first datagram's `FlowSequence` is 0; it counts datagrams and wraps at 2^32.
//! - A datagram is closed as soon as it holds 100 records (no wait for the 101st).

use super::{FlowEvent, FlowRecord};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Bytes of the header that starts every datagram.
pub const HEADER_LEN: usize = 16;
/// Bytes of one IPv4 (NAT flow) record.
pub const IPV4_RECORD_LEN: usize = 64;
/// Bytes of one IPv6 (NAT66) record.
pub const IPV6_RECORD_LEN: usize = 76;
/// At most this many records per datagram (§11.3).
pub const MAX_RECORDS: u16 = 100;

/// The flow log version of `userlog flow export version`: only 3.0 is known well enough to
/// be sent, so it is also the default (ours: Comware's default, 1.0, cannot be sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlowLogVersion {
    #[default]
    V3,
}

/// Why a `userlog flow export version` value is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowLogVersionError {
    /// `version 1`: Comware accepts it, but 1.0's header layout was never retrieved, and
    /// inventing it would send collectors packets they misread.
    VersionOneUnknown,
    /// Anything else (Comware's syntax is `version { 1 | 3 }`).
    NotAVersion(String),
}

impl fmt::Display for FlowLogVersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowLogVersionError::VersionOneUnknown => {
                f.write_str("flow log version 1.0's layout is not known; use version 3")
            }
            FlowLogVersionError::NotAVersion(text) => {
                write!(f, "'{text}' is not a flow log version; use version 3")
            }
        }
    }
}

impl std::error::Error for FlowLogVersionError {}

impl FlowLogVersion {
    /// Parses the argument of `userlog flow export version`.
    pub fn parse(text: &str) -> Result<FlowLogVersion, FlowLogVersionError> {
        match text.trim() {
            "3" => Ok(FlowLogVersion::V3),
            "1" => Err(FlowLogVersionError::VersionOneUnknown),
            other => Err(FlowLogVersionError::NotAVersion(other.to_string())),
        }
    }

    /// The header's `Version` byte.
    pub const fn wire(self) -> u8 {
        match self {
            FlowLogVersion::V3 => 3,
        }
    }

    /// As `display userlog export` prints it (`Version: 3.0`).
    pub const fn display(self) -> &'static str {
        match self {
            FlowLogVersion::V3 => "3.0",
        }
    }
}

/// The header's `LogType`: which record layout the datagram carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowLogType {
    /// 4, "NAT flow": 64-byte IPv4 records.
    Ipv4 = 4,
    /// 5, "NAT66": 76-byte IPv6 records.
    Ipv6 = 5,
}

impl FlowLogType {
    pub const fn code(self) -> u8 {
        self as u8
    }

    pub const fn record_len(self) -> usize {
        match self {
            FlowLogType::Ipv4 => IPV4_RECORD_LEN,
            FlowLogType::Ipv6 => IPV6_RECORD_LEN,
        }
    }
}

/// Who sends: the header's Chassis, Slot and Cpu (0 on a box that is not a cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowLogSender {
    pub chassis: u16,
    pub slot: u8,
    pub cpu: u8,
}

/// Why a record cannot be put in a flow log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowLogError {
    /// The source is IPv4 and the destination IPv6 or the other way round: no flow log layout
    /// carries that (a session never has it; the caller counts the drop).
    MixedFamilies,
}

impl fmt::Display for FlowLogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowLogError::MixedFamilies => {
                f.write_str("source and destination addresses are of different families")
            }
        }
    }
}

impl std::error::Error for FlowLogError {}

/// A record's source and destination, of one family.
#[derive(Debug, Clone, Copy)]
enum Addresses {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

/// The datagram being filled.
#[derive(Debug)]
struct OpenDatagram {
    log_type: FlowLogType,
    count: u16,
    /// Header space (filled when the datagram is closed) followed by the records.
    bytes: Vec<u8>,
}

/// One flow-log exporter's datagrams: records in, finished UDP payloads out, with the packet
/// sequence number this exporter keeps.
#[derive(Debug)]
pub struct FlowLogExport {
    sender: FlowLogSender,
    next_sequence: u32,
    open: Option<OpenDatagram>,
}

impl FlowLogExport {
    pub fn new(sender: FlowLogSender) -> FlowLogExport {
        FlowLogExport {
            sender,
            next_sequence: 0,
            open: None,
        }
    }

    /// The `FlowSequence` the next finished datagram will carry.
    pub fn next_sequence(&self) -> u32 {
        self.next_sequence
    }

    /// Records in the datagram in progress (0 when none is open).
    pub fn pending(&self) -> u16 {
        self.open.as_ref().map_or(0, |d| d.count)
    }

    /// Adds one record. A record of the other family first closes the datagram in progress
    /// (one type per datagram); the 100th record closes its datagram. Closed datagrams are
    /// appended to `out`, stamped with `now_s` (seconds since the epoch) as generation time.
    pub fn push(
        &mut self,
        record: &FlowRecord<'_>,
        now_s: u64,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), FlowLogError> {
        let addresses = match (record.src_ip, record.dst_ip) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Addresses::V4(src, dst),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Addresses::V6(src, dst),
            _ => return Err(FlowLogError::MixedFamilies),
        };
        let log_type = match addresses {
            Addresses::V4(..) => FlowLogType::Ipv4,
            Addresses::V6(..) => FlowLogType::Ipv6,
        };
        if self.open.as_ref().is_some_and(|d| d.log_type != log_type) {
            self.flush(now_s, out);
        }
        let open = self.open.get_or_insert_with(|| {
            let mut bytes =
                Vec::with_capacity(HEADER_LEN + usize::from(MAX_RECORDS) * log_type.record_len());
            bytes.resize(HEADER_LEN, 0);
            OpenDatagram {
                log_type,
                count: 0,
                bytes,
            }
        });
        match addresses {
            Addresses::V4(src, dst) => put_ipv4_record(&mut open.bytes, record, src, dst),
            Addresses::V6(src, dst) => put_ipv6_record(&mut open.bytes, record, src, dst),
        }
        open.count += 1;
        if open.count >= MAX_RECORDS {
            self.flush(now_s, out);
        }
        Ok(())
    }

    /// Closes the datagram in progress, if any, stamped with `now_s`, and appends it to `out`.
    pub fn flush(&mut self, now_s: u64, out: &mut Vec<Vec<u8>>) {
        let Some(mut open) = self.open.take() else {
            return;
        };
        let header = &mut open.bytes[..HEADER_LEN];
        header[0] = FlowLogVersion::V3.wire();
        header[1] = open.log_type.code();
        header[2..4].copy_from_slice(&open.count.to_be_bytes());
        header[4..8].copy_from_slice(&saturate(now_s).to_be_bytes());
        header[8..12].copy_from_slice(&self.next_sequence.to_be_bytes());
        header[12..14].copy_from_slice(&self.sender.chassis.to_be_bytes());
        header[14] = self.sender.slot;
        header[15] = self.sender.cpu;
        self.next_sequence = self.next_sequence.wrapping_add(1);
        out.push(open.bytes);
    }
}

/// Counters and times are 32-bit on the wire: past the top they stay at the top rather than
/// wrap to a small, wrong number.
fn saturate(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// StartTime and EndTime in epoch seconds; EndTime is 0 for a creation log, an active log
/// (operator 6, §11.3) and whenever the end is not known.
fn times(record: &FlowRecord<'_>) -> (u32, u32) {
    let start = saturate(record.begin_ms / 1000);
    let end = match (record.event, record.end_ms) {
        (FlowEvent::Created | FlowEvent::ActiveTimeout, _) | (_, None) => 0,
        (_, Some(end_ms)) => saturate(end_ms / 1000),
    };
    (start, end)
}

/// InTotalPkg, InTotalByte, OutTotalPkg, OutTotalByte.
fn put_counters(bytes: &mut Vec<u8>, record: &FlowRecord<'_>) {
    for value in [
        record.init_packets,
        record.init_bytes,
        record.reply_packets,
        record.reply_bytes,
    ] {
        bytes.extend_from_slice(&saturate(value).to_be_bytes());
    }
}

/// The 64-byte IPv4 record (§11.3's table, read column by column).
fn put_ipv4_record(bytes: &mut Vec<u8>, record: &FlowRecord<'_>, src: Ipv4Addr, dst: Ipv4Addr) {
    let (start, end) = times(record);
    bytes.extend_from_slice(&[record.protocol, record.event.code(), 4, record.tos]);
    bytes.extend_from_slice(&src.octets()); // SourceIP
    bytes.extend_from_slice(&src.octets()); // SrcNatIP: no NAT
    bytes.extend_from_slice(&dst.octets()); // DestIP
    bytes.extend_from_slice(&dst.octets()); // DestNatIP
    bytes.extend_from_slice(&record.src_port.to_be_bytes()); // SrcPort
    bytes.extend_from_slice(&record.src_port.to_be_bytes()); // SrcNatPort
    bytes.extend_from_slice(&record.dst_port.to_be_bytes()); // DestPort
    bytes.extend_from_slice(&record.dst_port.to_be_bytes()); // DestNatPort
    bytes.extend_from_slice(&start.to_be_bytes());
    bytes.extend_from_slice(&end.to_be_bytes());
    put_counters(bytes, record);
    bytes.extend_from_slice(&[0, 0]); // InVPNID, OutVPNID: no VPN instances
    bytes.extend_from_slice(&0u16.to_be_bytes()); // vSystemID
    bytes.extend_from_slice(&0u32.to_be_bytes()); // AppID (ours: 0)
    bytes.extend_from_slice(&0u32.to_be_bytes()); // Reserved
}

/// The 76-byte NAT66 record (§11.3).
fn put_ipv6_record(bytes: &mut Vec<u8>, record: &FlowRecord<'_>, src: Ipv6Addr, dst: Ipv6Addr) {
    let (start, end) = times(record);
    bytes.extend_from_slice(&[record.protocol, record.event.code(), 6, record.tos]);
    bytes.extend_from_slice(&src.octets());
    bytes.extend_from_slice(&dst.octets());
    bytes.extend_from_slice(&record.src_port.to_be_bytes());
    bytes.extend_from_slice(&record.dst_port.to_be_bytes());
    bytes.extend_from_slice(&start.to_be_bytes());
    bytes.extend_from_slice(&end.to_be_bytes());
    put_counters(bytes, record);
    bytes.extend_from_slice(&0u16.to_be_bytes()); // InVPNID
    bytes.extend_from_slice(&0u16.to_be_bytes()); // OutVPNID
    bytes.extend_from_slice(&0u32.to_be_bytes()); // ContextID
    bytes.extend_from_slice(&0u32.to_be_bytes()); // AppID (ours: 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- A collector's decoder, written from reference/comware.md §11.3's tables field by
    // ---- field (a cursor over the bytes), sharing nothing with the encoder above.

    struct Cursor<'a> {
        bytes: &'a [u8],
    }

    impl<'a> Cursor<'a> {
        fn take(&mut self, n: usize) -> &'a [u8] {
            assert!(self.bytes.len() >= n, "datagram too short");
            let (head, rest) = self.bytes.split_at(n);
            self.bytes = rest;
            head
        }
        fn u8(&mut self) -> u8 {
            self.take(1)[0]
        }
        fn u16(&mut self) -> u16 {
            u16::from_be_bytes(self.take(2).try_into().unwrap())
        }
        fn u32(&mut self) -> u32 {
            u32::from_be_bytes(self.take(4).try_into().unwrap())
        }
        fn ipv4(&mut self) -> Ipv4Addr {
            Ipv4Addr::from(self.u32())
        }
        fn ipv6(&mut self) -> Ipv6Addr {
            Ipv6Addr::from(<[u8; 16]>::try_from(self.take(16)).unwrap())
        }
    }

    #[derive(Debug, PartialEq)]
    struct Header {
        version: u8,
        log_type: u8,
        count: u16,
        second: u32,
        sequence: u32,
        chassis: u16,
        slot: u8,
        cpu: u8,
    }

    /// Every field of both record layouts; the ones a layout lacks stay 0.
    #[derive(Debug, PartialEq, Default)]
    struct Record {
        protocol: u8,
        operator: u8,
        ip_version: u8,
        tos: u8,
        src: Option<IpAddr>,
        src_nat: Option<IpAddr>,
        dst: Option<IpAddr>,
        dst_nat: Option<IpAddr>,
        src_port: u16,
        src_nat_port: u16,
        dst_port: u16,
        dst_nat_port: u16,
        start: u32,
        end: u32,
        in_pkts: u32,
        in_bytes: u32,
        out_pkts: u32,
        out_bytes: u32,
        in_vpn: u16,
        out_vpn: u16,
        vsystem: u16,
        context: u32,
        app_id: u32,
        reserved: u32,
    }

    fn decode(datagram: &[u8]) -> (Header, Vec<Record>) {
        let mut c = Cursor { bytes: datagram };
        let header = Header {
            version: c.u8(),
            log_type: c.u8(),
            count: c.u16(),
            second: c.u32(),
            sequence: c.u32(),
            chassis: c.u16(),
            slot: c.u8(),
            cpu: c.u8(),
        };
        let mut records = Vec::new();
        for _ in 0..header.count {
            let mut r = Record {
                protocol: c.u8(),
                operator: c.u8(),
                ip_version: c.u8(),
                tos: c.u8(),
                ..Record::default()
            };
            match header.log_type {
                4 => {
                    r.src = Some(c.ipv4().into());
                    r.src_nat = Some(c.ipv4().into());
                    r.dst = Some(c.ipv4().into());
                    r.dst_nat = Some(c.ipv4().into());
                    r.src_port = c.u16();
                    r.src_nat_port = c.u16();
                    r.dst_port = c.u16();
                    r.dst_nat_port = c.u16();
                    r.start = c.u32();
                    r.end = c.u32();
                    r.in_pkts = c.u32();
                    r.in_bytes = c.u32();
                    r.out_pkts = c.u32();
                    r.out_bytes = c.u32();
                    r.in_vpn = c.u8().into();
                    r.out_vpn = c.u8().into();
                    r.vsystem = c.u16();
                    r.app_id = c.u32();
                    r.reserved = c.u32();
                }
                5 => {
                    r.src = Some(c.ipv6().into());
                    r.dst = Some(c.ipv6().into());
                    r.src_port = c.u16();
                    r.dst_port = c.u16();
                    r.start = c.u32();
                    r.end = c.u32();
                    r.in_pkts = c.u32();
                    r.in_bytes = c.u32();
                    r.out_pkts = c.u32();
                    r.out_bytes = c.u32();
                    r.in_vpn = c.u16();
                    r.out_vpn = c.u16();
                    r.context = c.u32();
                    r.app_id = c.u32();
                }
                other => panic!("unexpected LogType {other}"),
            }
            records.push(r);
        }
        assert!(
            c.bytes.is_empty(),
            "{} bytes after the last record",
            c.bytes.len()
        );
        (header, records)
    }

    /// A golden file: hex with whitespace and `#` comments.
    fn golden(text: &str) -> Vec<u8> {
        let digits: String = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or(""))
            .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
            .collect();
        (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
            .collect()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn created_v4() -> FlowRecord<'static> {
        FlowRecord {
            protocol: 6,
            application: "HTTP",
            src_ip: Ipv4Addr::new(192, 168, 187, 12).into(),
            src_port: 40912,
            dst_ip: Ipv4Addr::new(47, 95, 12, 238).into(),
            dst_port: 80,
            init_packets: 1,
            init_bytes: 60,
            reply_packets: 0,
            reply_bytes: 0,
            begin_ms: 1_575_188_143_250,
            end_ms: None,
            event: FlowEvent::Created,
            tos: 0,
            ingress_interface: 1,
            egress_interface: 2,
        }
    }

    fn ended_v4() -> FlowRecord<'static> {
        FlowRecord {
            src_ip: Ipv4Addr::new(192, 168, 187, 13).into(),
            src_port: 40914,
            init_packets: 10,
            init_bytes: 1200,
            reply_packets: 8,
            reply_bytes: 9000,
            begin_ms: 1_575_187_851_999,
            end_ms: Some(1_575_188_143_500),
            event: FlowEvent::NormalOver,
            tos: 0x10,
            ..created_v4()
        }
    }

    fn aged_v6() -> FlowRecord<'static> {
        FlowRecord {
            protocol: 17,
            application: "DNS",
            src_ip: "2001:db8::1".parse().unwrap(),
            src_port: 5353,
            dst_ip: "2001:db8:0:1::2".parse().unwrap(),
            dst_port: 53,
            init_packets: 2,
            init_bytes: 150,
            reply_packets: 2,
            reply_bytes: 310,
            begin_ms: 1_575_188_100_000,
            end_ms: Some(1_575_188_190_000),
            event: FlowEvent::AgedOut,
            tos: 0xb8,
            ingress_interface: 0,
            egress_interface: 0,
        }
    }

    #[test]
    fn ipv4_datagram_matches_golden_file_and_decodes() {
        let mut export = FlowLogExport::new(FlowLogSender::default());
        let mut out = Vec::new();
        export.push(&created_v4(), 1_575_188_144, &mut out).unwrap();
        export.push(&ended_v4(), 1_575_188_144, &mut out).unwrap();
        assert!(out.is_empty(), "two records do not fill a datagram");
        export.flush(1_575_188_144, &mut out);
        assert_eq!(out.len(), 1);
        let expected = golden(include_str!("golden/flowlog-ipv4.hex"));
        assert_eq!(hex(&out[0]), hex(&expected));
        assert_eq!(out[0].len(), 16 + 2 * 64);

        let (header, records) = decode(&out[0]);
        assert_eq!(
            header,
            Header {
                version: 3,
                log_type: 4,
                count: 2,
                second: 1_575_188_144,
                sequence: 0,
                chassis: 0,
                slot: 0,
                cpu: 0,
            }
        );
        let src: IpAddr = Ipv4Addr::new(192, 168, 187, 12).into();
        let dst: IpAddr = Ipv4Addr::new(47, 95, 12, 238).into();
        assert_eq!(
            records[0],
            Record {
                protocol: 6,
                operator: 8,
                ip_version: 4,
                tos: 0,
                src: Some(src),
                src_nat: Some(src),
                dst: Some(dst),
                dst_nat: Some(dst),
                src_port: 40912,
                src_nat_port: 40912,
                dst_port: 80,
                dst_nat_port: 80,
                start: 1_575_188_143,
                end: 0,
                in_pkts: 1,
                in_bytes: 60,
                ..Record::default()
            }
        );
        let src: IpAddr = Ipv4Addr::new(192, 168, 187, 13).into();
        assert_eq!(
            records[1],
            Record {
                protocol: 6,
                operator: 1,
                ip_version: 4,
                tos: 0x10,
                src: Some(src),
                src_nat: Some(src),
                dst: Some(dst),
                dst_nat: Some(dst),
                src_port: 40914,
                src_nat_port: 40914,
                dst_port: 80,
                dst_nat_port: 80,
                start: 1_575_187_851,
                end: 1_575_188_143,
                in_pkts: 10,
                in_bytes: 1200,
                out_pkts: 8,
                out_bytes: 9000,
                ..Record::default()
            }
        );
    }

    #[test]
    fn ipv6_datagram_matches_golden_file_and_decodes() {
        let sender = FlowLogSender {
            chassis: 1,
            slot: 2,
            cpu: 3,
        };
        let mut export = FlowLogExport::new(sender);
        let mut out = Vec::new();
        export.push(&aged_v6(), 1_575_188_200, &mut out).unwrap();
        export.flush(1_575_188_200, &mut out);
        assert_eq!(out.len(), 1);
        let expected = golden(include_str!("golden/flowlog-ipv6.hex"));
        assert_eq!(hex(&out[0]), hex(&expected));
        assert_eq!(out[0].len(), 16 + 76);

        let (header, records) = decode(&out[0]);
        assert_eq!(
            header,
            Header {
                version: 3,
                log_type: 5,
                count: 1,
                second: 1_575_188_200,
                sequence: 0,
                chassis: 1,
                slot: 2,
                cpu: 3,
            }
        );
        assert_eq!(
            records,
            vec![Record {
                protocol: 17,
                operator: 2,
                ip_version: 6,
                tos: 0xb8,
                src: Some("2001:db8::1".parse().unwrap()),
                dst: Some("2001:db8:0:1::2".parse().unwrap()),
                src_port: 5353,
                dst_port: 53,
                start: 1_575_188_100,
                end: 1_575_188_190,
                in_pkts: 2,
                in_bytes: 150,
                out_pkts: 2,
                out_bytes: 310,
                ..Record::default()
            }]
        );
    }

    #[test]
    fn the_101st_record_starts_a_new_datagram_with_the_next_sequence() {
        let mut export = FlowLogExport::new(FlowLogSender::default());
        let mut out = Vec::new();
        for i in 0..101u16 {
            let record = FlowRecord {
                src_port: 1000 + i,
                ..ended_v4()
            };
            export.push(&record, 50, &mut out).unwrap();
            // The 100th record closes its datagram at once.
            assert_eq!(out.len(), usize::from(i >= 99), "after record {}", i + 1);
        }
        assert_eq!(export.pending(), 1);
        export.flush(60, &mut out);
        assert_eq!(export.pending(), 0);
        assert_eq!(out.len(), 2);

        let (first, records) = decode(&out[0]);
        assert_eq!((first.count, first.sequence, first.second), (100, 0, 50));
        assert_eq!(out[0].len(), 16 + 100 * 64);
        let ports: Vec<u16> = records.iter().map(|r| r.src_port).collect();
        assert_eq!(ports, (1000..1100).collect::<Vec<u16>>());
        let (second, records) = decode(&out[1]);
        assert_eq!((second.count, second.sequence, second.second), (1, 1, 60));
        assert_eq!(records[0].src_port, 1100);

        // Nothing open: flush sends nothing and the sequence does not move.
        export.flush(70, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(export.next_sequence(), 2);
    }

    #[test]
    fn a_record_of_the_other_family_closes_the_datagram() {
        let mut export = FlowLogExport::new(FlowLogSender::default());
        let mut out = Vec::new();
        export.push(&created_v4(), 10, &mut out).unwrap();
        export.push(&ended_v4(), 10, &mut out).unwrap();
        export.push(&aged_v6(), 11, &mut out).unwrap();
        assert_eq!(out.len(), 1, "the IPv6 record closed the IPv4 datagram");
        export.push(&created_v4(), 12, &mut out).unwrap();
        export.flush(13, &mut out);
        let headers: Vec<(u8, u16, u32, u32)> = out
            .iter()
            .map(|d| {
                let (h, _) = decode(d);
                (h.log_type, h.count, h.sequence, h.second)
            })
            .collect();
        assert_eq!(headers, vec![(4, 2, 0, 11), (5, 1, 1, 12), (4, 1, 2, 13)]);
    }

    #[test]
    fn counters_and_times_saturate_at_32_bits() {
        let mut export = FlowLogExport::new(FlowLogSender::default());
        let mut out = Vec::new();
        let big = FlowRecord {
            init_packets: u64::from(u32::MAX) + 1,
            init_bytes: u64::MAX,
            reply_packets: u64::from(u32::MAX),
            reply_bytes: u64::from(u32::MAX) - 1,
            begin_ms: u64::MAX,
            end_ms: Some(u64::MAX),
            ..ended_v4()
        };
        export.push(&big, u64::MAX, &mut out).unwrap();
        let v6 = FlowRecord {
            init_bytes: 1 << 40,
            ..aged_v6()
        };
        export.push(&v6, u64::MAX, &mut out).unwrap();
        export.flush(u64::MAX, &mut out);
        let (header, records) = decode(&out[0]);
        assert_eq!(header.second, u32::MAX);
        let r = &records[0];
        assert_eq!(
            (r.in_pkts, r.in_bytes, r.out_pkts, r.out_bytes),
            (u32::MAX, u32::MAX, u32::MAX, u32::MAX - 1)
        );
        assert_eq!((r.start, r.end), (u32::MAX, u32::MAX));
        let (_, records) = decode(&out[1]);
        assert_eq!(records[0].in_bytes, u32::MAX);
    }

    #[test]
    fn end_time_is_zero_for_active_and_creation_logs() {
        let mut export = FlowLogExport::new(FlowLogSender::default());
        let mut out = Vec::new();
        for event in [FlowEvent::ActiveTimeout, FlowEvent::Created] {
            let record = FlowRecord {
                event,
                end_ms: Some(1_575_188_143_500),
                ..ended_v4()
            };
            export.push(&record, 1, &mut out).unwrap();
        }
        export.flush(1, &mut out);
        let (_, records) = decode(&out[0]);
        let seen: Vec<(u8, u32, u32)> = records
            .iter()
            .map(|r| (r.operator, r.start, r.end))
            .collect();
        assert_eq!(seen, vec![(6, 1_575_187_851, 0), (8, 1_575_187_851, 0)]);
    }

    #[test]
    fn mixed_families_are_refused_without_touching_the_datagram() {
        let mut export = FlowLogExport::new(FlowLogSender::default());
        let mut out = Vec::new();
        export.push(&created_v4(), 1, &mut out).unwrap();
        let mixed = FlowRecord {
            dst_ip: "2001:db8::2".parse().unwrap(),
            ..created_v4()
        };
        assert_eq!(
            export.push(&mixed, 1, &mut out),
            Err(FlowLogError::MixedFamilies)
        );
        assert_eq!((export.pending(), out.len()), (1, 0));
    }

    #[test]
    fn version_3_is_accepted_and_version_1_refused_with_a_reason() {
        assert_eq!(FlowLogVersion::parse("3"), Ok(FlowLogVersion::V3));
        assert_eq!(FlowLogVersion::parse(" 3 "), Ok(FlowLogVersion::default()));
        assert_eq!(FlowLogVersion::V3.wire(), 3);
        assert_eq!(FlowLogVersion::V3.display(), "3.0");
        let err = FlowLogVersion::parse("1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "flow log version 1.0's layout is not known; use version 3"
        );
        let err = FlowLogVersion::parse("5").unwrap_err();
        assert_eq!(
            err.to_string(),
            "'5' is not a flow log version; use version 3"
        );
    }
}
