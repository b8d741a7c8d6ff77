//! Session logs as syslog messages (reference/comware.md §11.1, §11.2; issue #12 §2).
//!
//! - [`write_infocenter`]: the information centre's envelope, as a Comware box sends to an
//!   `info-center loghost`: `<PRI>TIMESTAMP Sysname %%10SESSION/6/SESSION_IPV4_FLOW: content`.
//! - [`write_content`]: the content alone, `Name(id)=value;` pairs in §11.2's order.
//! - [`write_rfc5424`] (an extension): RFC 5424 framing with the same fields as structured data.
//! - [`write_octet_counted`] (an extension): RFC 6587 octet counting for TCP (`LEN SP MSG`).
//!
//! Everything is UTC and takes the time it prints as an argument: no clock, no socket, and
//! nothing allocated beyond the caller's buffer.

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use super::{FlowEvent, FlowRecord};
use crate::proto::{self, Protocol};

/// Comware's severity of session logs: informational (§11.2).
pub const SEVERITY: u8 = 6;

/// H3C's IANA private enterprise number (also the FreeRADIUS `VENDOR H3C 25506`): the
/// `@25506` of the RFC 5424 SD-ID.
pub const H3C_ENTERPRISE: u32 = 25506;

/// The RFC 5424 SD-ID the fields travel in (ours: Comware's RFC 5424 output is not known).
pub const SD_ID: &str = "session@25506";

/// `info-center loghost ... facility local0..local7`; local7 by default (§11.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Facility {
    Local0,
    Local1,
    Local2,
    Local3,
    Local4,
    Local5,
    Local6,
    #[default]
    Local7,
}

impl Facility {
    /// `local0` .. `local7` by number; `None` past 7.
    pub const fn local(n: u8) -> Option<Facility> {
        Some(match n {
            0 => Facility::Local0,
            1 => Facility::Local1,
            2 => Facility::Local2,
            3 => Facility::Local3,
            4 => Facility::Local4,
            5 => Facility::Local5,
            6 => Facility::Local6,
            7 => Facility::Local7,
            _ => return None,
        })
    }

    /// The console's keyword: `local0` .. `local7`.
    pub const fn keyword(self) -> &'static str {
        match self {
            Facility::Local0 => "local0",
            Facility::Local1 => "local1",
            Facility::Local2 => "local2",
            Facility::Local3 => "local3",
            Facility::Local4 => "local4",
            Facility::Local5 => "local5",
            Facility::Local6 => "local6",
            Facility::Local7 => "local7",
        }
    }

    /// The syslog facility code (local0 = 16 ... local7 = 23).
    pub const fn code(self) -> u8 {
        16 + self as u8
    }

    /// `<PRI>`'s number at Comware's session-log severity: local7 gives 190.
    pub const fn pri(self) -> u8 {
        self.code() * 8 + SEVERITY
    }
}

/// `info-center timestamp loghost { date | iso | no-year-date | none }` (§11.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampStyle {
    /// `Dec  8 10:12:21 2007` (the default).
    #[default]
    Date,
    /// `2009-09-21T15:32:55`.
    Iso,
    /// `Dec  8 10:12:21`.
    NoYearDate,
    /// No timestamp at all (nor the space after it).
    None,
}

/// What the information centre puts around every message of one log host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The device's `sysname`.
    pub sysname: &'a str,
    pub facility: Facility,
    pub timestamp: TimestampStyle,
}

/// A UTC civil time, from milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i64,
    /// 1 ..= 12.
    pub month: u8,
    /// 1 ..= 31.
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub millis: u16,
}

impl CivilTime {
    /// Howard Hinnant's `civil_from_days` (proleptic Gregorian, 400-year eras of 146,097
    /// days): exact for every `u64` millisecond count, no table, no float.
    pub const fn from_epoch_ms(ms: u64) -> CivilTime {
        let days = (ms / 86_400_000) as i64;
        let in_day = ms % 86_400_000;
        let z = days + 719_468; // days since 0000-03-01
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097); // [0, 146096]
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1st
        let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
        let secs = in_day / 1_000;
        CivilTime {
            year,
            month,
            day,
            hour: (secs / 3_600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
            millis: (in_day % 1_000) as u16,
        }
    }

    fn month_abbr(self) -> &'static str {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        MONTHS[(self.month as usize).saturating_sub(1) % 12]
    }
}

/// The information centre's message: `<190>Dec  1 08:15:43 2019 FW %%10SESSION/6/
/// SESSION_IPV4_FLOW: Protocol(1001)=TCP;...;Event(1048)=(8)Session created;`, stamped with
/// `log_ms` (when the log is sent). The module is written `SESSION` as the issue does; a
/// SecPath F1050 was seen writing `session` (§11.2). No line end: one message per datagram.
pub fn write_infocenter(env: &Envelope<'_>, rec: &FlowRecord<'_>, log_ms: u64, out: &mut String) {
    let _ = write!(out, "<{}>", env.facility.pri());
    let t = CivilTime::from_epoch_ms(log_ms);
    let _ = match env.timestamp {
        TimestampStyle::Date => write!(
            out,
            "{} {:>2} {:02}:{:02}:{:02} {:04} ",
            t.month_abbr(),
            t.day,
            t.hour,
            t.minute,
            t.second,
            t.year
        ),
        TimestampStyle::Iso => write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02} ",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        ),
        TimestampStyle::NoYearDate => write!(
            out,
            "{} {:>2} {:02}:{:02}:{:02} ",
            t.month_abbr(),
            t.day,
            t.hour,
            t.minute,
            t.second
        ),
        TimestampStyle::None => Ok(()),
    };
    let _ = write!(
        out,
        "{} %%10SESSION/{}/{}: ",
        env.sysname,
        SEVERITY,
        mnemonic(rec)
    );
    write_content(rec, out);
}

/// `SESSION_IPV4_FLOW` or `SESSION_IPV6_FLOW`, by the initiator's address family.
pub fn mnemonic(rec: &FlowRecord<'_>) -> &'static str {
    match rec.src_ip {
        IpAddr::V4(_) => "SESSION_IPV4_FLOW",
        IpAddr::V6(_) => "SESSION_IPV6_FLOW",
    }
}

/// The content: every field of §11.2 as `Name(id)=value;`, in its order, no spaces.
pub fn write_content(rec: &FlowRecord<'_>, out: &mut String) {
    for f in fields(rec) {
        let _ = write!(out, "{}({})=", f.name, f.id);
        let _ = f.value.write(out);
        out.push(';');
    }
}

/// RFC 5424 framing (an extension, `format rfc5424`): `<190>1 2019-12-01T08:15:43.000Z
/// HOSTNAME SESSION - SESSION_IPV4_FLOW [session@25506 Protocol="TCP" ...] content`.
/// APP-NAME is Comware's module name, MSGID the mnemonic, PROCID nil; SD-PARAM names are the
/// Comware field names without their IDs; MSG is the Comware content, so a collector that
/// ignores structured data still reads the same text (all of it ours).
pub fn write_rfc5424(
    sysname: &str,
    facility: Facility,
    rec: &FlowRecord<'_>,
    log_ms: u64,
    out: &mut String,
) {
    write_rfc5424_head(u16::from(facility.pri()), sysname, log_ms, out);
    let _ = write!(out, " SESSION - {} [{}", mnemonic(rec), SD_ID);
    for f in fields(rec) {
        let _ = write!(out, " {}=\"", f.name);
        let _ = f.value.write(&mut SdEscape(out));
        out.push('"');
    }
    out.push_str("] ");
    write_content(rec, out);
}

/// RFC 5424's first fields, shared with the information centre's messages: `<PRI>1
/// TIMESTAMP HOSTNAME` (UTC, milliseconds).
pub fn write_rfc5424_head(pri: u16, sysname: &str, log_ms: u64, out: &mut String) {
    let t = CivilTime::from_epoch_ms(log_ms);
    let _ = write!(
        out,
        "<{pri}>1 {:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z ",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millis
    );
    write_hostname(sysname, out);
}

/// RFC 6587 §3.4.1 octet counting, for syslog over TCP: the message's length in bytes, a
/// space, the message.
pub fn write_octet_counted(msg: &[u8], out: &mut Vec<u8>) {
    use std::io::Write as _;
    let _ = write!(out, "{} ", msg.len());
    out.extend_from_slice(msg);
}

/// RFC 5424's HOSTNAME is 1..=255 printable US-ASCII characters: an empty sysname is the nil
/// value `-`, and a byte outside `!`..=`~` (a space in the sysname) becomes `_` (ours).
fn write_hostname(sysname: &str, out: &mut String) {
    if sysname.is_empty() {
        out.push('-');
        return;
    }
    for c in sysname.chars().take(255) {
        out.push(if c.is_ascii_graphic() { c } else { '_' });
    }
}

/// Escapes `"`, `\` and `]` in an SD-PARAM value (RFC 5424 §6.3.3).
struct SdEscape<'a>(&'a mut String);

impl fmt::Write for SdEscape<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if matches!(c, '"' | '\\' | ']') {
                self.0.push('\\');
            }
            self.0.push(c);
        }
        Ok(())
    }
}

/// One `Name(id)=value` of §11.2.
struct Field<'a> {
    name: &'static str,
    id: u16,
    value: Value<'a>,
}

enum Value<'a> {
    Empty,
    Protocol(u8),
    /// Written in lower case, as the SecPath's `Application(1002)=http`.
    Lower(&'a str),
    Ip(IpAddr),
    Port(u16),
    Count(u64),
    /// `MMDDYYYYhhmmss`, month first (§11.2); empty when unknown.
    Time(Option<u64>),
    Event(FlowEvent),
}

impl Value<'_> {
    fn write(&self, out: &mut impl fmt::Write) -> fmt::Result {
        match *self {
            Value::Empty => Ok(()),
            Value::Protocol(p) => match Protocol::of(p) {
                // Any other protocol: its number, which says more than Comware's `RAWIP` (ours).
                Protocol::RawIp => write!(out, "{p}"),
                _ => out.write_str(proto::descriptor(p).label),
            },
            Value::Lower(s) => {
                for c in s.chars() {
                    out.write_char(c.to_ascii_lowercase())?;
                }
                Ok(())
            }
            Value::Ip(ip) => write!(out, "{ip}"),
            Value::Port(p) => write!(out, "{p}"),
            Value::Count(n) => write!(out, "{n}"),
            Value::Time(None) => Ok(()),
            Value::Time(Some(ms)) => {
                let t = CivilTime::from_epoch_ms(ms);
                write!(
                    out,
                    "{:02}{:02}{:04}{:02}{:02}{:02}",
                    t.month, t.day, t.year, t.hour, t.minute, t.second
                )
            }
            Value::Event(e) => write!(out, "({}){}", e.code(), e.text()),
        }
    }
}

/// §11.2's fields in its order. The engine does no NAT: the NAT fields repeat the real ones,
/// as a box without NAT sends them; VPN instances and DS-Lite peers are empty (the engine has
/// neither). IPv6 uses `SrcIPv6Addr(1036)` / `DstIPv6Addr(1037)` (UNVERIFIED, §11.2) and
/// `NatSrcIPv6Addr(1038)` / `NatDstIPv6Addr(1039)` (ours: the unused IDs between them and
/// `RcvDSLiteTunnelPeer(1040)`).
fn fields<'a>(rec: &FlowRecord<'a>) -> [Field<'a>; 21] {
    let v6 = rec.src_ip.is_ipv6();
    let pick = |v4: (&'static str, u16), v6n: (&'static str, u16)| if v6 { v6n } else { v4 };
    let f = |(name, id): (&'static str, u16), value| Field { name, id, value };
    [
        f(("Protocol", 1001), Value::Protocol(rec.protocol)),
        f(("Application", 1002), Value::Lower(rec.application)),
        f(
            pick(("SrcIPAddr", 1003), ("SrcIPv6Addr", 1036)),
            Value::Ip(rec.src_ip),
        ),
        f(("SrcPort", 1004), Value::Port(rec.src_port)),
        f(
            pick(("NatSrcIPAddr", 1005), ("NatSrcIPv6Addr", 1038)),
            Value::Ip(rec.src_ip),
        ),
        f(("NatSrcPort", 1006), Value::Port(rec.src_port)),
        f(
            pick(("DstIPAddr", 1007), ("DstIPv6Addr", 1037)),
            Value::Ip(rec.dst_ip),
        ),
        f(("DstPort", 1008), Value::Port(rec.dst_port)),
        f(
            pick(("NatDstIPAddr", 1009), ("NatDstIPv6Addr", 1039)),
            Value::Ip(rec.dst_ip),
        ),
        f(("NatDstPort", 1010), Value::Port(rec.dst_port)),
        f(("InitPktCount", 1044), Value::Count(rec.init_packets)),
        f(("InitByteCount", 1046), Value::Count(rec.init_bytes)),
        f(("RplyPktCount", 1045), Value::Count(rec.reply_packets)),
        f(("RplyByteCount", 1047), Value::Count(rec.reply_bytes)),
        f(("RcvVPNInstance", 1042), Value::Empty),
        f(("SndVPNInstance", 1043), Value::Empty),
        f(("RcvDSLiteTunnelPeer", 1040), Value::Empty),
        f(("SndDSLiteTunnelPeer", 1041), Value::Empty),
        f(("BeginTime_e", 1013), Value::Time(Some(rec.begin_ms))),
        f(("EndTime_e", 1014), Value::Time(rec.end_ms)),
        f(("Event", 1048), Value::Event(rec.event)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// 2019-12-01 08:15:43 UTC, the `BeginTime_e` of §11.2's example.
    const T_2019_12_01_081543: u64 = 1_575_188_143_000;

    fn tcp4(event: FlowEvent, end_ms: Option<u64>) -> FlowRecord<'static> {
        FlowRecord {
            protocol: 6,
            application: "HTTP",
            src_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 187, 12)),
            src_port: 40912,
            dst_ip: IpAddr::V4(Ipv4Addr::new(47, 95, 12, 238)),
            dst_port: 80,
            init_packets: 1,
            init_bytes: 60,
            reply_packets: 0,
            reply_bytes: 0,
            begin_ms: T_2019_12_01_081543,
            end_ms,
            event,
            tos: 0,
            ingress_interface: 1,
            egress_interface: 2,
        }
    }

    /// A TCP session's end: 7 + 5 packets, begun at 08:10:51, ended at 08:15:43.
    fn tcp4_end() -> FlowRecord<'static> {
        FlowRecord {
            init_packets: 7,
            init_bytes: 901,
            reply_packets: 5,
            reply_bytes: 3_212,
            begin_ms: T_2019_12_01_081543 - 292_000,
            ..tcp4(FlowEvent::NormalOver, Some(T_2019_12_01_081543))
        }
    }

    /// A DNS query over IPv6, created on 2024-02-29 at 09:05:07.250 (a leap day, one-digit
    /// day and hour).
    fn udp6() -> FlowRecord<'static> {
        FlowRecord {
            protocol: 17,
            application: "DNS",
            src_ip: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 0x10)),
            src_port: 53124,
            dst_ip: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 0x53)),
            dst_port: 53,
            init_packets: 1,
            init_bytes: 82,
            reply_packets: 0,
            reply_bytes: 0,
            begin_ms: 1_709_197_507_250,
            end_ms: None,
            event: FlowEvent::Created,
            tos: 0,
            ingress_interface: 1,
            egress_interface: 2,
        }
    }

    /// The three records and when each is logged (at creation or at the end).
    fn cases() -> [(&'static str, FlowRecord<'static>, u64); 3] {
        let created = tcp4(FlowEvent::Created, None);
        let end = tcp4_end();
        let v6 = udp6();
        [
            ("tcp4-created", created, created.begin_ms),
            ("tcp4-end", end, T_2019_12_01_081543),
            ("udp6-created", v6, v6.begin_ms),
        ]
    }

    /// Compares with `src/export/golden/NAME`; `SESSMGR_BLESS=1` rewrites the file instead
    /// (then review the diff before committing it).
    fn golden(name: &str, got: &str) {
        let path = format!("{}/src/export/golden/{name}", env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("SESSMGR_BLESS").is_some() {
            std::fs::write(&path, got).unwrap();
            return;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(got, want, "{path} differs (SESSMGR_BLESS=1 to rewrite)");
    }

    #[test]
    fn civil_dates() {
        let day = 86_400_000u64;
        let check = |ms: u64, y: i64, mo: u8, d: u8| {
            let t = CivilTime::from_epoch_ms(ms);
            assert_eq!((t.year, t.month, t.day), (y, mo, d), "{ms}");
        };
        check(0, 1970, 1, 1);
        check(day - 1, 1970, 1, 1);
        check(day, 1970, 1, 2);
        check(951_782_400_000, 2000, 2, 29); // 2000 is a leap year (divisible by 400)
        check(951_782_400_000 + day, 2000, 3, 1);
        check(4_107_542_400_000 - day, 2100, 2, 28); // 2100 is not (divisible by 100)
        check(4_107_542_400_000, 2100, 3, 1);
        check(1_735_603_200_000, 2024, 12, 31);
        check(1_735_603_200_000 + day, 2025, 1, 1);
        check(T_2019_12_01_081543, 2019, 12, 1);
        let t = CivilTime::from_epoch_ms(1_735_689_599_999);
        assert_eq!(
            (t.hour, t.minute, t.second, t.millis),
            (23, 59, 59, 999),
            "2024-12-31 23:59:59.999"
        );
        // Every day from 1970 to 2200 follows the one before it (no gap, no repeat).
        let mut prev = CivilTime::from_epoch_ms(0);
        for n in 1..(230 * 366) {
            let t = CivilTime::from_epoch_ms(n * day);
            let next_day = (prev.year, prev.month, prev.day + 1);
            let next_month = (prev.year, prev.month + 1, 1);
            let next_year = (prev.year + 1, 1, 1);
            let got = (t.year, t.month, t.day);
            assert!(
                got == next_day || (got == next_month && prev.day >= 28) || got == next_year,
                "{prev:?} -> {t:?}"
            );
            prev = t;
        }
        // No panic at the far end of the range.
        let _ = CivilTime::from_epoch_ms(u64::MAX);
    }

    #[test]
    fn facility_pri() {
        assert_eq!(Facility::default().pri(), 190);
        assert_eq!(Facility::local(0).map(Facility::pri), Some(134));
        assert_eq!(Facility::local(7), Some(Facility::Local7));
        assert_eq!(Facility::local(8), None);
    }

    /// §11.2's real SecPath creation log, content after `: `. The engine does no NAT, so its
    /// `NatSrcIPAddr/NatSrcPort` (`112.35.18.188`/`9460` on the box) repeat the real source;
    /// every other byte of the line is compared as it is.
    #[test]
    fn secpath_example_content() {
        const REAL: &str = "Protocol(1001)=TCP;Application(1002)=http;SrcIPAddr(1003)=192.168.187.12;SrcPort(1004)=40912;NatSrcIPAddr(1005)=112.35.18.188;NatSrcPort(1006)=9460;DstIPAddr(1007)=47.95.12.238;DstPort(1008)=80;NatDstIPAddr(1009)=47.95.12.238;NatDstPort(1010)=80;InitPktCount(1044)=1;InitByteCount(1046)=60;RplyPktCount(1045)=0;RplyByteCount(1047)=0;RcvVPNInstance(1042)=;SndVPNInstance(1043)=;RcvDSLiteTunnelPeer(1040)=;SndDSLiteTunnelPeer(1041)=;BeginTime_e(1013)=12012019081543;EndTime_e(1014)=;Event(1048)=(8)Session created;";
        let want = REAL.replace(
            "NatSrcIPAddr(1005)=112.35.18.188;NatSrcPort(1006)=9460;",
            "NatSrcIPAddr(1005)=192.168.187.12;NatSrcPort(1006)=40912;",
        );
        let mut got = String::new();
        write_content(&tcp4(FlowEvent::Created, None), &mut got);
        assert_eq!(got, want);

        // The end example's tail (§11.2).
        let mut got = String::new();
        write_content(&tcp4_end(), &mut got);
        assert!(
            got.ends_with(";BeginTime_e(1013)=12012019081051;EndTime_e(1014)=12012019081543;Event(1048)=(1)Normal over;"),
            "{got}"
        );
    }

    #[test]
    fn golden_infocenter() {
        let styles = [
            ("date", TimestampStyle::Date),
            ("iso", TimestampStyle::Iso),
            ("no-year-date", TimestampStyle::NoYearDate),
            ("none", TimestampStyle::None),
        ];
        let mut all = String::new();
        for (name, rec, log_ms) in cases() {
            for (style_name, timestamp) in styles {
                let env = Envelope {
                    sysname: "FW-F1050",
                    facility: Facility::Local7,
                    timestamp,
                };
                let _ = writeln!(all, "# {name}, timestamp {style_name}");
                write_infocenter(&env, &rec, log_ms, &mut all);
                all.push('\n');
            }
        }
        // Another facility changes only the PRI.
        let env = Envelope {
            sysname: "FW-F1050",
            facility: Facility::Local0,
            timestamp: TimestampStyle::Date,
        };
        all.push_str("# tcp4-created, facility local0\n");
        write_infocenter(&env, &tcp4(FlowEvent::Created, None), 0, &mut all);
        all.push('\n');
        golden("syslog-infocenter.txt", &all);
    }

    #[test]
    fn golden_rfc5424() {
        let mut all = String::new();
        for (name, rec, log_ms) in cases() {
            let _ = writeln!(all, "# {name}");
            write_rfc5424("FW-F1050", Facility::Local7, &rec, log_ms, &mut all);
            all.push('\n');
        }
        golden("syslog-rfc5424.txt", &all);
    }

    /// RFC 6587 frames of both formats, one frame per line in the file (the frames themselves
    /// carry no line end).
    #[test]
    fn golden_octet_counting() {
        let env = Envelope {
            sysname: "FW-F1050",
            facility: Facility::Local7,
            timestamp: TimestampStyle::Date,
        };
        let mut all = Vec::new();
        let mut msg = String::new();
        for (_, rec, log_ms) in cases() {
            msg.clear();
            write_infocenter(&env, &rec, log_ms, &mut msg);
            write_octet_counted(msg.as_bytes(), &mut all);
            all.push(b'\n');
            msg.clear();
            write_rfc5424("FW-F1050", Facility::Local7, &rec, log_ms, &mut msg);
            write_octet_counted(msg.as_bytes(), &mut all);
            all.push(b'\n');
        }
        // Each frame's count is its message's byte length.
        for line in all.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let sp = line.iter().position(|&b| b == b' ').unwrap();
            let len: usize = std::str::from_utf8(&line[..sp]).unwrap().parse().unwrap();
            assert_eq!(len, line.len() - sp - 1);
        }
        golden("syslog-rfc6587.txt", &String::from_utf8(all).unwrap());
    }

    #[test]
    fn sd_values_are_escaped_and_hostname_is_printable() {
        let rec = FlowRecord {
            application: r#"My"App\]"#,
            protocol: 47,
            ..tcp4(FlowEvent::Created, None)
        };
        let mut out = String::new();
        write_rfc5424("edge fw", Facility::Local7, &rec, 0, &mut out);
        assert!(
            out.starts_with("<190>1 1970-01-01T00:00:00.000Z edge_fw SESSION - "),
            "{out}"
        );
        assert!(out.contains(r#" Protocol="47" "#), "{out}");
        assert!(out.contains(r#" Application="my\"app\\\]" "#), "{out}");
        let mut out = String::new();
        write_rfc5424("", Facility::Local7, &rec, 0, &mut out);
        assert!(
            out.starts_with("<190>1 1970-01-01T00:00:00.000Z - SESSION"),
            "{out}"
        );
    }

    #[test]
    fn protocol_names() {
        let name = |p: u8| {
            let mut s = String::new();
            write_content(
                &FlowRecord {
                    protocol: p,
                    ..udp6()
                },
                &mut s,
            );
            s.split(';').next().unwrap().to_string()
        };
        assert_eq!(name(6), "Protocol(1001)=TCP");
        assert_eq!(name(17), "Protocol(1001)=UDP");
        assert_eq!(name(58), "Protocol(1001)=ICMPv6");
        assert_eq!(name(136), "Protocol(1001)=UDP-Lite");
        assert_eq!(name(132), "Protocol(1001)=SCTP");
        assert_eq!(name(33), "Protocol(1001)=DCCP");
        assert_eq!(name(1), "Protocol(1001)=ICMP");
        assert_eq!(name(47), "Protocol(1001)=47");
    }
}
