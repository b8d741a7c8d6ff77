//! IPFIX (RFC 7011) messages from session logs: an extension (Comware exports its session logs
//! as syslog and flow log 3.0; IPFIX is ours, for collectors such as nfdump and Wireshark).
//!
//! One message = the 16-byte message header (RFC 7011 §3.1), then optionally one template set
//! (set id 2, §3.3.2) holding both templates, then data sets (set id = template id, §3.3.1),
//! one per run of records of the same address family. The exporter never reads a clock: the
//! caller passes the export time in seconds, and the template re-send schedule (§8.4, UDP)
//! runs on that time and on a message count.
//!
//! Information elements (IANA "IPFIX Information Elements" registry, RFC 7012 §5 types;
//! <https://www.iana.org/assignments/ipfix>), all in the IANA space (enterprise bit clear):
//!
//! | id  | name                     | type                  | length |
//! |-----|--------------------------|-----------------------|--------|
//! | 152 | flowStartMilliseconds    | dateTimeMilliseconds  | 8      |
//! | 153 | flowEndMilliseconds      | dateTimeMilliseconds  | 8      |
//! | 8   | sourceIPv4Address        | ipv4Address           | 4      |
//! | 27  | sourceIPv6Address        | ipv6Address           | 16     |
//! | 12  | destinationIPv4Address   | ipv4Address           | 4      |
//! | 28  | destinationIPv6Address   | ipv6Address           | 16     |
//! | 7   | sourceTransportPort      | unsigned16            | 2      |
//! | 11  | destinationTransportPort | unsigned16            | 2      |
//! | 4   | protocolIdentifier       | unsigned8             | 1      |
//! | 231 | initiatorOctets          | unsigned64            | 8      |
//! | 232 | responderOctets          | unsigned64            | 8      |
//! | 298 | initiatorPackets         | unsigned64            | 8      |
//! | 299 | responderPackets         | unsigned64            | 8      |
//! | 85  | octetTotalCount          | unsigned64            | 8      |
//! | 85 (PEN 29305) | reverseOctetTotalCount (RFC 5103) | unsigned64 | 8 |
//! | 86  | packetTotalCount         | unsigned64            | 8      |
//! | 86 (PEN 29305) | reversePacketTotalCount (RFC 5103) | unsigned64 | 8 |
//! | 233 | firewallEvent            | unsigned8             | 1      |
//! | 136 | flowEndReason            | unsigned8             | 1      |
//! | 10  | ingressInterface         | unsigned32            | 4      |
//! | 14  | egressInterface          | unsigned32            | 4      |
//! | 96  | applicationName          | string                | var    |
//!
//! Biflow: one record per session, the addresses are the initiator's, the counters are
//! IANA's initiator/responder elements. The bytes go a second time as octetTotalCount and its
//! RFC 5103 reverse element because nfdump (phaag/nfdump `src/netflow/ipfix.c`) does not
//! decode initiatorOctets/responderOctets in IPFIX but maps those two to in/out bytes; the
//! packets likewise go again as packetTotalCount (86) and its reverse, because nfdump before
//! 1.7.2 (Debian 12 ships 1.7.1) ignores initiatorPackets/responderPackets (298/299).

use std::net::{IpAddr, Ipv6Addr};

use super::{FlowEvent, FlowRecord};

/// RFC 7011 §3.1: "Version of IPFIX to which this Message conforms": 0x000a.
const VERSION: u16 = 10;
/// RFC 7011 §3.1 message header: version, length, export time, sequence, domain.
const MESSAGE_HEADER_LEN: usize = 16;
/// RFC 7011 §3.3.2: set id 2 = template set.
const TEMPLATE_SET_ID: u16 = 2;
/// RFC 7011 §3.3.1 set header: set id, length.
const SET_HEADER_LEN: usize = 4;
/// RFC 7011 §7: a field length of 65535 in a template marks a variable-length element.
const VARIABLE_LENGTH: u16 = 65535;
/// RFC 5103 §6.1: reverse elements are the forward element's id under this enterprise number.
const REVERSE_PEN: u32 = 29305;
/// Number of field specifiers in each template.
const FIELD_COUNT: usize = 20;

/// Template ids (RFC 7011 §3.4.1: data set ids start at 256).
pub const TEMPLATE_ID_IPV4: u16 = 256;
pub const TEMPLATE_ID_IPV6: u16 = 257;

/// `(information element id, field length, enterprise number or 0)` in template order; the
/// address lengths are filled per family.
const fn template_fields(addr_len: u16) -> [(u16, u16, u32); FIELD_COUNT] {
    let (src, dst) = if addr_len == 4 { (8, 12) } else { (27, 28) };
    [
        (152, 8, 0), // flowStartMilliseconds
        (153, 8, 0), // flowEndMilliseconds
        (src, addr_len, 0),
        (dst, addr_len, 0),
        (7, 2, 0),                // sourceTransportPort
        (11, 2, 0),               // destinationTransportPort
        (4, 1, 0),                // protocolIdentifier
        (231, 8, 0),              // initiatorOctets
        (232, 8, 0),              // responderOctets
        (298, 8, 0),              // initiatorPackets
        (299, 8, 0),              // responderPackets
        (85, 8, 0),               // octetTotalCount (the initiator's bytes, for nfdump)
        (85, 8, REVERSE_PEN),     // reverseOctetTotalCount (the responder's, for nfdump)
        (86, 8, 0),               // packetTotalCount (the initiator's packets, for nfdump)
        (86, 8, REVERSE_PEN),     // reversePacketTotalCount (the responder's, for nfdump)
        (233, 1, 0),              // firewallEvent
        (136, 1, 0),              // flowEndReason
        (10, 4, 0),               // ingressInterface
        (14, 4, 0),               // egressInterface
        (96, VARIABLE_LENGTH, 0), // applicationName
    ]
}

const FIELDS_IPV4: [(u16, u16, u32); FIELD_COUNT] = template_fields(4);
const FIELDS_IPV6: [(u16, u16, u32); FIELD_COUNT] = template_fields(16);
/// Template record: id + field count, then 4 bytes per field specifier and 4 more for the one
/// for each of the two with an enterprise number (§3.4.1, §3.2).
const TEMPLATE_RECORD_LEN: usize = 4 + 4 * FIELD_COUNT + 4 * 2;
const TEMPLATE_SET_LEN: usize = SET_HEADER_LEN + 2 * TEMPLATE_RECORD_LEN;
/// A data record's fixed part (everything but applicationName's length prefix and text).
const FIXED_LEN_IPV4: usize = 8 + 8 + 4 + 4 + 2 + 2 + 1 + 8 * 8 + 1 + 1 + 4 + 4;
const FIXED_LEN_IPV6: usize = FIXED_LEN_IPV4 + 2 * 12;

/// IANA firewallEvent (233) values: 0 ignore, 1 flow created, 2 flow deleted, 3 flow denied,
/// 4 flow alert, 5 flow update. A creation log is "created", the periodic log of a live
/// session is "update", every removal (and Comware's catch-all "Other", which Comware lists
/// among the aging reasons) is "deleted" (ours).
pub const fn firewall_event(event: FlowEvent) -> u8 {
    match event {
        FlowEvent::Created => 1,
        FlowEvent::ActiveTimeout => 5,
        FlowEvent::NormalOver
        | FlowEvent::AgedOut
        | FlowEvent::ResetOrConfig
        | FlowEvent::NoResource
        | FlowEvent::TableFull
        | FlowEvent::Other => 2,
    }
}

/// IANA flowEndReason (136) values: 1 idle timeout, 2 active timeout, 3 end of flow detected,
/// 4 forced end, 5 lack of resources. Comware's aging (2) is the idle timeout, FIN/RST (1) is
/// the end of flow, `reset session table`/config change (3) and "Other" are forced ends,
/// no resource (4) and early drop on a full table (7) are lack of resources, the active log
/// (6) is the active timeout. A creation has not ended: 0 (no reason; IANA leaves 0
/// unassigned, collectors print it as unknown) (ours).
pub const fn flow_end_reason(event: FlowEvent) -> u8 {
    match event {
        FlowEvent::Created => 0,
        FlowEvent::AgedOut => 1,
        FlowEvent::ActiveTimeout => 2,
        FlowEvent::NormalOver => 3,
        FlowEvent::ResetOrConfig | FlowEvent::Other => 4,
        FlowEvent::NoResource | FlowEvent::TableFull => 5,
    }
}

/// How an exporter is set up (the `ipfix` export target's options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpfixConfig {
    /// RFC 7011 §3.1 Observation Domain ID.
    pub observation_domain: u32,
    /// The largest message, in bytes (the path MTU minus IP and UDP headers, §10.3.3);
    /// clamped to 512..=65535 (below 512 a message could not hold the templates and an IPv6
    /// record; 65535 is the largest length the header can say).
    pub max_message: usize,
    /// Re-send the templates every this many messages (RFC 7011 §8.4); 0 = not by count.
    pub template_every_messages: u32,
    /// Re-send the templates when this many seconds have passed since they were last sent
    /// (RFC 7011 §8.4's templateRefreshTimeout); 0 = not by time.
    pub template_every_secs: u32,
}

impl Default for IpfixConfig {
    /// 1400 bytes fits an Ethernet path with room for tunnels; templates every 20 messages or
    /// 600 seconds, whichever comes first (ours; RFC 7011 §8.4 names no values).
    fn default() -> Self {
        IpfixConfig {
            observation_domain: 0,
            max_message: 1400,
            template_every_messages: 20,
            template_every_secs: 600,
        }
    }
}

/// One observation domain's exporter state over UDP: the sequence number (data records sent
/// so far, RFC 7011 §3.1) and when templates were last sent. Its memory is fixed: messages
/// go into the caller's buffer.
#[derive(Debug, Clone)]
pub struct IpfixExporter {
    config: IpfixConfig,
    /// Data records sent before the next message (wraps at 2^32, as the field does).
    records_sent: u32,
    /// Messages sent since the last one with templates (`None`: templates never sent).
    since_templates: Option<u32>,
    /// Export time of the last message with templates.
    templates_at: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl IpfixExporter {
    pub fn new(config: IpfixConfig) -> Self {
        let config = IpfixConfig {
            max_message: config.max_message.clamp(512, 65535),
            ..config
        };
        IpfixExporter {
            config,
            records_sent: 0,
            since_templates: None,
            templates_at: 0,
        }
    }

    pub fn config(&self) -> &IpfixConfig {
        &self.config
    }

    /// The sequence number the next message will carry.
    pub fn sequence(&self) -> u32 {
        self.records_sent
    }

    /// Send the templates with the next message whatever the schedule says (e.g. after the
    /// collector's address changed).
    pub fn resend_templates(&mut self) {
        self.since_templates = None;
    }

    /// Whether a message sent at `now_secs` will carry the templates (§8.4 schedule).
    pub fn templates_due(&self, now_secs: u32) -> bool {
        let Some(since) = self.since_templates else {
            return true;
        };
        let c = &self.config;
        (c.template_every_messages != 0 && since >= c.template_every_messages)
            || (c.template_every_secs != 0
                && now_secs.saturating_sub(self.templates_at) >= c.template_every_secs)
    }

    /// Writes one message into `out` (cleared first) holding as many of `records`, from the
    /// first, as fit in `max_message` bytes, and returns how many it took; call again with
    /// the rest. Empty `records`: nothing is written and 0 returned. At least one record is
    /// always taken: an applicationName too long for an empty message is cut (at a character
    /// boundary) to fit.
    pub fn encode(
        &mut self,
        now_secs: u32,
        records: &[FlowRecord<'_>],
        out: &mut Vec<u8>,
    ) -> usize {
        out.clear();
        if records.is_empty() {
            return 0;
        }
        let max = self.config.max_message;
        let with_templates = self.templates_due(now_secs);
        out.extend_from_slice(&[0; MESSAGE_HEADER_LEN]);
        if with_templates {
            write_template_set(out);
        }
        let mut taken = 0;
        // Start offset and family of the data set being filled.
        let mut open: Option<(usize, Family)> = None;
        for record in records {
            let family = family_of(record);
            let fixed = match family {
                Family::V4 => FIXED_LEN_IPV4,
                Family::V6 => FIXED_LEN_IPV6,
            };
            let new_set = open.map(|(_, f)| f != family).unwrap_or(true);
            let overhead = fixed + if new_set { SET_HEADER_LEN } else { 0 };
            let mut app = cut_at_char(record.application, usize::from(u16::MAX));
            if out.len() + overhead + var_len(app.len()) > max {
                if taken > 0 {
                    break;
                }
                // The first record alone does not fit: cut its name to the room left.
                let room = max.saturating_sub(out.len() + overhead + 3);
                app = cut_at_char(app, room);
            }
            if new_set {
                close_set(out, open);
                open = Some((out.len(), family));
                let id = match family {
                    Family::V4 => TEMPLATE_ID_IPV4,
                    Family::V6 => TEMPLATE_ID_IPV6,
                };
                put_u16(out, id);
                put_u16(out, 0); // length, filled by close_set
            }
            write_record(out, record, family, app, now_secs);
            taken += 1;
        }
        close_set(out, open);
        let len = out.len() as u16; // <= max_message <= 65535
        out[0..2].copy_from_slice(&VERSION.to_be_bytes());
        out[2..4].copy_from_slice(&len.to_be_bytes());
        out[4..8].copy_from_slice(&now_secs.to_be_bytes());
        out[8..12].copy_from_slice(&self.records_sent.to_be_bytes());
        out[12..16].copy_from_slice(&self.config.observation_domain.to_be_bytes());
        self.records_sent = self.records_sent.wrapping_add(taken as u32);
        if with_templates {
            self.since_templates = Some(1);
            self.templates_at = now_secs;
        } else if let Some(n) = self.since_templates.as_mut() {
            *n = n.saturating_add(1);
        }
        taken
    }
}

/// IPv4 when both ends are IPv4; otherwise IPv6 (an IPv4 end is written IPv4-mapped).
fn family_of(record: &FlowRecord<'_>) -> Family {
    match (record.src_ip, record.dst_ip) {
        (IpAddr::V4(_), IpAddr::V4(_)) => Family::V4,
        _ => Family::V6,
    }
}

fn v6_of(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

/// RFC 7011 §7: a length below 255 takes one byte, otherwise 255 then a 2-byte length.
fn var_len(len: usize) -> usize {
    if len < 255 { 1 + len } else { 3 + len }
}

fn cut_at_char(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max).min(usize::from(u16::MAX));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn close_set(out: &mut [u8], open: Option<(usize, Family)>) {
    if let Some((start, _)) = open {
        let len = (out.len() - start) as u16;
        out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    }
}

fn write_template_set(out: &mut Vec<u8>) {
    put_u16(out, TEMPLATE_SET_ID);
    put_u16(out, TEMPLATE_SET_LEN as u16);
    for (id, fields) in [
        (TEMPLATE_ID_IPV4, &FIELDS_IPV4),
        (TEMPLATE_ID_IPV6, &FIELDS_IPV6),
    ] {
        put_u16(out, id);
        put_u16(out, fields.len() as u16);
        for &(ie, len, pen) in fields {
            if pen == 0 {
                put_u16(out, ie);
                put_u16(out, len);
            } else {
                // RFC 7011 §3.2: the enterprise bit, then the enterprise number.
                put_u16(out, ie | 0x8000);
                put_u16(out, len);
                out.extend_from_slice(&pen.to_be_bytes());
            }
        }
    }
}

fn write_record(out: &mut Vec<u8>, r: &FlowRecord<'_>, family: Family, app: &str, now_secs: u32) {
    // A creation has not ended: its end is its start. An active log's flow goes on: its end
    // so far is the export time (ours).
    let end_ms = r.end_ms.unwrap_or(match r.event {
        FlowEvent::Created => r.begin_ms,
        _ => (u64::from(now_secs) * 1000).max(r.begin_ms),
    });
    out.extend_from_slice(&r.begin_ms.to_be_bytes());
    out.extend_from_slice(&end_ms.to_be_bytes());
    match (family, r.src_ip, r.dst_ip) {
        (Family::V4, IpAddr::V4(s), IpAddr::V4(d)) => {
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
        }
        _ => {
            out.extend_from_slice(&v6_of(r.src_ip).octets());
            out.extend_from_slice(&v6_of(r.dst_ip).octets());
        }
    }
    put_u16(out, r.src_port);
    put_u16(out, r.dst_port);
    out.push(r.protocol);
    // 231, 232, 298, 299, then again for nfdump: 85 and its reverse, 86 and its reverse.
    out.extend_from_slice(&r.init_bytes.to_be_bytes());
    out.extend_from_slice(&r.reply_bytes.to_be_bytes());
    out.extend_from_slice(&r.init_packets.to_be_bytes());
    out.extend_from_slice(&r.reply_packets.to_be_bytes());
    out.extend_from_slice(&r.init_bytes.to_be_bytes());
    out.extend_from_slice(&r.reply_bytes.to_be_bytes());
    out.extend_from_slice(&r.init_packets.to_be_bytes());
    out.extend_from_slice(&r.reply_packets.to_be_bytes());
    out.push(firewall_event(r.event));
    out.push(flow_end_reason(r.event));
    out.extend_from_slice(&r.ingress_interface.to_be_bytes());
    out.extend_from_slice(&r.egress_interface.to_be_bytes());
    if app.len() < 255 {
        out.push(app.len() as u8);
    } else {
        out.push(255);
        put_u16(out, app.len() as u16); // cut_at_char keeps it <= 65535
    }
    out.extend_from_slice(app.as_bytes());
}

#[cfg(test)]
mod tests {
    //! The decoder here follows RFC 7011's layout on its own (numbers written out, not the
    //! encoder's constants), so the encoder is checked against the RFC, not against itself.
    use super::*;
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// A data record as decoded: (information element id, value bytes) in template order.
    /// Ids are IANA's, or `enterprise << 16 | id` for enterprise elements.
    type Fields = Vec<(u64, Vec<u8>)>;
    const REV: u64 = 29305 << 16;

    /// One decoded message: header fields, templates seen, data records (field id -> bytes).
    #[derive(Debug)]
    struct Decoded {
        export_time: u32,
        sequence: u32,
        domain: u32,
        templates: HashMap<u16, Vec<(u64, u16)>>,
        /// (template id, fields in order as (ie id, value bytes)).
        records: Vec<(u16, Fields)>,
    }

    fn be16(b: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([b[at], b[at + 1]])
    }
    fn be32(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
    }

    /// Parses one message; `known` holds templates from earlier messages (a collector keeps
    /// them per domain, RFC 7011 §8).
    fn decode(msg: &[u8], known: &mut HashMap<u16, Vec<(u64, u16)>>) -> Decoded {
        assert!(msg.len() >= 16, "shorter than a message header");
        assert_eq!(be16(msg, 0), 0x000a, "version");
        assert_eq!(
            usize::from(be16(msg, 2)),
            msg.len(),
            "header length == bytes"
        );
        let mut d = Decoded {
            export_time: be32(msg, 4),
            sequence: be32(msg, 8),
            domain: be32(msg, 12),
            templates: HashMap::new(),
            records: Vec::new(),
        };
        let mut at = 16;
        while at < msg.len() {
            assert!(at + 4 <= msg.len(), "set header past the end");
            let set_id = be16(msg, at);
            let set_len = usize::from(be16(msg, at + 2));
            assert!(
                set_len >= 4 && at + set_len <= msg.len(),
                "set length {set_len}"
            );
            let body = &msg[at + 4..at + set_len];
            match set_id {
                2 => {
                    let mut p = 0;
                    while p + 4 <= body.len() {
                        let tid = be16(body, p);
                        let count = usize::from(be16(body, p + 2));
                        assert!(tid >= 256);
                        p += 4;
                        let mut fields = Vec::new();
                        for _ in 0..count {
                            let ie = be16(body, p);
                            let len = be16(body, p + 2);
                            p += 4;
                            if ie & 0x8000 == 0 {
                                fields.push((u64::from(ie), len));
                            } else {
                                let pen = u64::from(be32(body, p));
                                p += 4;
                                fields.push((pen << 16 | u64::from(ie & 0x7fff), len));
                            }
                        }
                        d.templates.insert(tid, fields.clone());
                        known.insert(tid, fields);
                    }
                    assert_eq!(p, body.len(), "template set has no padding");
                }
                tid if tid >= 256 => {
                    let fields = known
                        .get(&tid)
                        .expect("data set before its template")
                        .clone();
                    let mut p = 0;
                    while p < body.len() {
                        let mut rec = Vec::new();
                        for &(ie, len) in &fields {
                            let n = if len == 0xffff {
                                let first = usize::from(body[p]);
                                p += 1;
                                if first == 255 {
                                    let long = usize::from(be16(body, p));
                                    p += 2;
                                    long
                                } else {
                                    first
                                }
                            } else {
                                usize::from(len)
                            };
                            assert!(p + n <= body.len(), "field {ie} past the set's end");
                            rec.push((ie, body[p..p + n].to_vec()));
                            p += n;
                        }
                        d.records.push((tid, rec));
                    }
                    assert_eq!(p, body.len(), "records fill the set exactly");
                }
                other => panic!("unexpected set id {other}"),
            }
            at += set_len;
        }
        d
    }

    fn field(rec: &[(u64, Vec<u8>)], ie: u64) -> &[u8] {
        &rec.iter()
            .find(|(id, _)| *id == ie)
            .expect("field present")
            .1
    }
    fn num(rec: &[(u64, Vec<u8>)], ie: u64) -> u64 {
        field(rec, ie)
            .iter()
            .fold(0u64, |a, &b| (a << 8) | u64::from(b))
    }

    fn v4_record(app: &str) -> FlowRecord<'_> {
        FlowRecord {
            protocol: 6,
            application: app,
            src_ip: Ipv4Addr::new(192, 168, 187, 12).into(),
            src_port: 40912,
            dst_ip: Ipv4Addr::new(47, 95, 12, 238).into(),
            dst_port: 80,
            init_packets: 7,
            init_bytes: 1234,
            reply_packets: 5,
            reply_bytes: 56789,
            begin_ms: 1_575_188_143_250,
            end_ms: Some(1_575_188_150_750),
            event: FlowEvent::NormalOver,
            tos: 0,
            ingress_interface: 1,
            egress_interface: 2,
        }
    }

    fn v6_record(app: &str) -> FlowRecord<'_> {
        FlowRecord {
            protocol: 17,
            src_ip: "2001:db8::1".parse::<Ipv6Addr>().unwrap().into(),
            src_port: 5353,
            dst_ip: "2001:db8::53".parse::<Ipv6Addr>().unwrap().into(),
            dst_port: 53,
            event: FlowEvent::Created,
            end_ms: None,
            ..v4_record(app)
        }
    }

    fn config() -> IpfixConfig {
        IpfixConfig {
            observation_domain: 42,
            max_message: 1400,
            template_every_messages: 3,
            template_every_secs: 0,
        }
    }

    fn hex(bytes: &[u8]) -> String {
        let mut s = String::new();
        for line in bytes.chunks(16) {
            let words: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
            s.push_str(&words.join(" "));
            s.push('\n');
        }
        s
    }

    /// `SESSMGR_BLESS=1` rewrites a golden file from the encoder (then review the diff).
    fn bless(name: &str, out: &[u8]) {
        if std::env::var_os("SESSMGR_BLESS").is_some() {
            let path = format!("{}/src/export/golden/{name}", env!("CARGO_MANIFEST_DIR"));
            std::fs::write(path, hex(out)).expect("write golden");
        }
    }

    fn golden(text: &str) -> Vec<u8> {
        let digits: String = text.split_whitespace().collect();
        (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn first_message_matches_golden_and_decodes() {
        let mut exp = IpfixExporter::new(config());
        let mut out = Vec::new();
        let rec = v4_record("http");
        assert_eq!(exp.encode(1_575_188_151, &[rec], &mut out), 1);
        bless("ipfix-first.hex", &out);
        assert_eq!(hex(&out), include_str!("golden/ipfix-first.hex"));
        assert_eq!(out, golden(include_str!("golden/ipfix-first.hex")));

        let mut known = HashMap::new();
        let d = decode(&out, &mut known);
        assert_eq!(
            (d.export_time, d.sequence, d.domain),
            (1_575_188_151, 0, 42)
        );
        let want_ids: Vec<u64> = vec![
            152,
            153,
            8,
            12,
            7,
            11,
            4,
            231,
            232,
            298,
            299,
            85,
            REV | 85,
            86,
            REV | 86,
            233,
            136,
            10,
            14,
            96,
        ];
        let t4 = &d.templates[&256];
        assert_eq!(t4.iter().map(|f| f.0).collect::<Vec<_>>(), want_ids);
        let t6 = &d.templates[&257];
        assert_eq!(t6.len(), 20);
        assert_eq!((t6[2], t6[3]), ((27, 16), (28, 16)));
        assert_eq!((t4[2], t4[3]), ((8, 4), (12, 4)));
        assert_eq!(t4[19], (96, 0xffff));

        assert_eq!(d.records.len(), 1);
        let (tid, r) = &d.records[0];
        assert_eq!(*tid, 256);
        assert_eq!(num(r, 152), 1_575_188_143_250);
        assert_eq!(num(r, 153), 1_575_188_150_750);
        assert_eq!(field(r, 8), &[192, 168, 187, 12]);
        assert_eq!(field(r, 12), &[47, 95, 12, 238]);
        assert_eq!(num(r, 7), 40912);
        assert_eq!(num(r, 11), 80);
        assert_eq!(num(r, 4), 6);
        assert_eq!(num(r, 231), 1234);
        assert_eq!(num(r, 232), 56789);
        assert_eq!(num(r, 298), 7);
        assert_eq!(num(r, 299), 5);
        assert_eq!(num(r, 85), 1234, "octetTotalCount = initiator's bytes");
        assert_eq!(
            num(r, REV | 85),
            56789,
            "reverseOctetTotalCount = responder's"
        );
        assert_eq!(num(r, 86), 7, "packetTotalCount = initiator's packets");
        assert_eq!(num(r, REV | 86), 5, "reversePacketTotalCount");
        assert_eq!(num(r, 233), 2, "normal over: flow deleted");
        assert_eq!(num(r, 136), 3, "normal over: end of flow detected");
        assert_eq!(num(r, 10), 1);
        assert_eq!(num(r, 14), 2);
        assert_eq!(field(r, 96), b"http");
    }

    #[test]
    fn later_message_without_templates_matches_golden() {
        let mut exp = IpfixExporter::new(config());
        let mut out = Vec::new();
        let first = v4_record("http");
        exp.encode(1_575_188_151, &[first, first], &mut out);
        let mut known = HashMap::new();
        decode(&out, &mut known);
        let aged = FlowRecord {
            event: FlowEvent::AgedOut,
            ..v4_record("dns")
        };
        let created = v6_record("");
        assert_eq!(exp.encode(1_575_188_152, &[aged, created], &mut out), 2);
        bless("ipfix-later.hex", &out);
        assert_eq!(hex(&out), include_str!("golden/ipfix-later.hex"));
        let d = decode(&out, &mut known);
        assert!(d.templates.is_empty());
        assert_eq!(d.sequence, 2, "two records sent before");
        assert_eq!(d.records.len(), 2);
        let (t, r) = &d.records[0];
        assert_eq!((*t, num(r, 233), num(r, 136)), (256, 2, 1));
        assert_eq!(field(r, 96), b"dns");
        let (t, r) = &d.records[1];
        assert_eq!(*t, 257);
        assert_eq!(
            field(r, 27),
            "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets()
        );
        assert_eq!(
            field(r, 28),
            "2001:db8::53".parse::<Ipv6Addr>().unwrap().octets()
        );
        assert_eq!((num(r, 7), num(r, 11), num(r, 4)), (5353, 53, 17));
        assert_eq!((num(r, 233), num(r, 136)), (1, 0), "created; not ended");
        assert_eq!(num(r, 153), num(r, 152), "a creation ends where it starts");
        assert_eq!(field(r, 96), b"", "empty name: one zero length byte");
    }

    #[test]
    fn families_alternate_in_separate_data_sets() {
        let mut exp = IpfixExporter::new(config());
        let mut out = Vec::new();
        let recs = [
            v4_record("a"),
            v4_record("b"),
            v6_record("c"),
            v4_record("d"),
        ];
        assert_eq!(exp.encode(10, &recs, &mut out), 4);
        let d = decode(&out, &mut HashMap::new());
        let tids: Vec<u16> = d.records.iter().map(|r| r.0).collect();
        assert_eq!(tids, [256, 256, 257, 256]);
        // Set headers: templates, v4 (2 records), v6, v4.
        let mut at = 16;
        let mut sets = Vec::new();
        while at < out.len() {
            sets.push(be16(&out, at));
            at += usize::from(be16(&out, at + 2));
        }
        assert_eq!(sets, [2, 256, 257, 256]);
    }

    #[test]
    fn templates_resend_on_message_count_and_time() {
        let mut exp = IpfixExporter::new(IpfixConfig {
            template_every_messages: 3,
            template_every_secs: 100,
            ..config()
        });
        let mut out = Vec::new();
        let rec = [v4_record("x")];
        let mut with = Vec::new();
        let mut known = HashMap::new();
        // Messages at t = 0,1,2,3,4,5 then 105 (time), 106.
        for t in [0, 1, 2, 3, 4, 5, 105, 106] {
            exp.encode(t, &rec, &mut out);
            with.push(!decode(&out, &mut known).templates.is_empty());
        }
        assert_eq!(with, [true, false, false, true, false, false, true, false]);
        exp.resend_templates();
        exp.encode(107, &rec, &mut out);
        assert_eq!(be16(&out, 16), 2, "forced resend");

        let mut by_time = IpfixExporter::new(IpfixConfig {
            template_every_messages: 0,
            template_every_secs: 60,
            ..config()
        });
        let mut with = Vec::new();
        for t in [1000, 1001, 1059, 1060, 1061, 900] {
            by_time.encode(t, &rec, &mut out);
            with.push(be16(&out, 16) == 2);
        }
        // A clock that goes back does not trigger a resend by itself.
        assert_eq!(with, [true, false, false, true, false, false]);
    }

    #[test]
    fn sequence_counts_data_records_across_messages() {
        let mut exp = IpfixExporter::new(IpfixConfig {
            max_message: 512,
            ..config()
        });
        let mut out = Vec::new();
        let recs: Vec<FlowRecord<'_>> = (0..20u16)
            .map(|i| FlowRecord {
                src_port: i,
                ..v4_record("app")
            })
            .collect();
        let mut rest = &recs[..];
        let mut known = HashMap::new();
        let mut seen = 0u32;
        let mut ports = Vec::new();
        while !rest.is_empty() {
            let n = exp.encode(7, rest, &mut out);
            assert!(n > 0 && out.len() <= 512);
            let d = decode(&out, &mut known);
            assert_eq!(d.sequence, seen);
            assert_eq!(d.records.len(), n);
            ports.extend(d.records.iter().map(|(_, r)| num(r, 7) as u16));
            seen += n as u32;
            rest = &rest[n..];
        }
        assert_eq!(ports, (0..20).collect::<Vec<_>>(), "all records, in order");
        assert_eq!(exp.sequence(), 20);
        assert_eq!(exp.encode(8, &[], &mut out), 0);
        assert!(out.is_empty());
    }

    #[test]
    fn long_application_name_uses_three_byte_length() {
        let mut exp = IpfixExporter::new(config());
        let mut out = Vec::new();
        let mut known = HashMap::new();
        for n in [254usize, 255, 300] {
            let name = "a".repeat(n);
            exp.encode(1, &[v4_record(&name)], &mut out);
            let d = decode(&out, &mut known);
            assert_eq!(field(&d.records[0].1, 96), name.as_bytes());
            // The length prefix sits right before the name at the end of the message.
            let prefix = &out[out.len() - n - if n < 255 { 1 } else { 3 }..out.len() - n];
            if n < 255 {
                assert_eq!(prefix, [n as u8]);
            } else {
                assert_eq!(prefix, [255, (n >> 8) as u8, n as u8]);
            }
        }
    }

    #[test]
    fn name_too_long_for_a_message_is_cut_at_a_character() {
        let mut exp = IpfixExporter::new(IpfixConfig {
            max_message: 512,
            ..config()
        });
        let mut out = Vec::new();
        let name = "é".repeat(40_000); // 80,000 bytes
        let recs = [v4_record(&name), v4_record("next")];
        assert_eq!(exp.encode(1, &recs, &mut out), 1);
        assert!(out.len() <= 512);
        let d = decode(&out, &mut HashMap::new());
        let got = field(&d.records[0].1, 96);
        assert!(!got.is_empty() && std::str::from_utf8(got).is_ok());
        assert!(name.as_bytes().starts_with(got));
        assert_eq!(exp.encode(1, &recs[1..], &mut out), 1);
    }

    #[test]
    fn event_mapping_to_iana_values() {
        let all = [
            (FlowEvent::NormalOver, 2, 3),
            (FlowEvent::AgedOut, 2, 1),
            (FlowEvent::ResetOrConfig, 2, 4),
            (FlowEvent::NoResource, 2, 5),
            (FlowEvent::ActiveTimeout, 5, 2),
            (FlowEvent::TableFull, 2, 5),
            (FlowEvent::Created, 1, 0),
            (FlowEvent::Other, 2, 4),
        ];
        for (ev, fw, reason) in all {
            assert_eq!(
                (firewall_event(ev), flow_end_reason(ev)),
                (fw, reason),
                "{ev:?}"
            );
        }
    }

    #[test]
    fn mixed_family_record_goes_out_as_ipv6_mapped() {
        let mut exp = IpfixExporter::new(config());
        let mut out = Vec::new();
        let rec = FlowRecord {
            dst_ip: "2001:db8::2".parse::<Ipv6Addr>().unwrap().into(),
            event: FlowEvent::ActiveTimeout,
            end_ms: None,
            ..v4_record("x")
        };
        exp.encode(1_575_188_200, &[rec], &mut out);
        let d = decode(&out, &mut HashMap::new());
        let (t, r) = &d.records[0];
        assert_eq!(*t, 257);
        assert_eq!(
            field(r, 27),
            Ipv4Addr::new(192, 168, 187, 12).to_ipv6_mapped().octets()
        );
        assert_eq!(
            num(r, 153),
            1_575_188_200_000,
            "an active log ends at the export time"
        );
    }
}
