//! tshark as an IPFIX receiver: a real capture on `lo` of what is sent to a UDP port
//! (`tshark -i lo -f "udp port N" -w FILE`), then the capture dissected as IPFIX
//! (`tshark -r FILE -d udp.port==N,cflow -T json --no-duplicate-keys`): every data record's
//! fields, every expert info with its severity, and every malformed packet.
//!
//! Field names are those of tshark 4.0's `cflow` dissector (`tshark -G fields | grep cflow`).
//! In JSON each data record is an object named "Flow N" inside its set's object ("Set K
//! [id=256] (n flows)"); expert infos are `_ws.expert` objects wherever the dissector put them;
//! a malformed packet has a `_ws.malformed` item.

use super::{Daemon, TempDir};
use serde_json::Value;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Wireshark's expert severities (epan/proto.h PI_CHAT .. PI_ERROR).
pub const SEVERITY_CHAT: u64 = 0x0020_0000;
pub const SEVERITY_NOTE: u64 = 0x0040_0000;
pub const SEVERITY_WARN: u64 = 0x0060_0000;
pub const SEVERITY_ERROR: u64 = 0x0080_0000;

/// A capture of one UDP port on `lo`, running until stopped.
pub struct TsharkCapture {
    daemon: Daemon,
    pub port: u16,
    pub file: PathBuf,
    dir: TempDir,
}

impl TsharkCapture {
    /// Starts capturing UDP to `port` on `lo` (needs root), and waits until tshark says the
    /// capture started. Not "Capturing on", which tshark prints before dumpcap has opened
    /// anything: "Capture started" comes once dumpcap has opened the interface, set the filter
    /// and created the file (datagrams sent between the two were seen to be lost).
    pub fn start(port: u16) -> TsharkCapture {
        TsharkCapture::start_on("lo", port)
    }

    /// The same on another interface of this namespace (e.g. the test's end of
    /// `Lab::collector_link`).
    pub fn start_on(interface: &str, port: u16) -> TsharkCapture {
        let dir = TempDir::new("tshark");
        let file = dir.path().join("capture.pcapng");
        let log = dir.path().join("tshark.log");
        let mut daemon = Daemon::spawn(
            "tshark",
            Command::new("tshark")
                .args(["-i", interface, "-q", "-f", &format!("udp port {port}")])
                .arg("-w")
                .arg(&file),
            log.clone(),
        );
        daemon.wait_until("capturing", || {
            std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Capture started"))
        });
        TsharkCapture {
            daemon,
            port,
            file,
            dir,
        }
    }

    /// Packets in the capture file so far (dumpcap writes each one as it comes).
    pub fn packets_so_far(&self) -> usize {
        Command::new("tshark")
            .arg("-r")
            .arg(&self.file)
            .args(["-T", "fields", "-e", "frame.number"])
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
            .unwrap_or(0)
    }

    /// Waits until the capture holds `expected` packets (or `timeout`), stops it (SIGTERM:
    /// tshark closes the file) and dissects it. The caller checks the count it gets.
    pub fn finish(mut self, expected: usize, timeout: Duration) -> IpfixReport {
        let deadline = Instant::now() + timeout;
        while self.packets_so_far() < expected && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.daemon.stop();
        assert!(
            self.file.exists(),
            "tshark wrote no capture:\n{}",
            self.daemon.output()
        );
        dissect_ipfix(&self.file, self.port)
    }
}

/// One IPFIX data record as tshark decoded it. Absent elements are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpfixFlow {
    /// The data set's template id.
    pub template: u16,
    pub start: Option<String>,
    pub end: Option<String>,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub protocol: Option<u8>,
    pub initiator_octets: Option<u64>,
    pub responder_octets: Option<u64>,
    pub initiator_packets: Option<u64>,
    pub responder_packets: Option<u64>,
    /// octetTotalCount (85), then its RFC 5103 reverse (PEN 29305): tshark names both
    /// `cflow.permanent_octets`.
    pub total_octets: Vec<u64>,
    pub firewall_event: Option<u8>,
    pub flow_end_reason: Option<u8>,
    pub ingress_interface: Option<u32>,
    pub egress_interface: Option<u32>,
    pub application_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expert {
    /// One of the SEVERITY_* values.
    pub severity: u64,
    pub message: String,
}

/// What tshark made of a capture.
#[derive(Debug, Clone, Default)]
pub struct IpfixReport {
    /// Packets in the capture, and how many of them tshark dissected as IPFIX.
    pub packets: usize,
    pub ipfix_messages: usize,
    /// (frame number, sequence number, observation domain) per IPFIX message.
    pub headers: Vec<(u64, u32, u32)>,
    pub flows: Vec<IpfixFlow>,
    pub experts: Vec<Expert>,
    /// Frame numbers of malformed packets.
    pub malformed: Vec<u64>,
    /// Frame numbers of packets tshark did not take for IPFIX at all (wrong version, say).
    pub not_ipfix: Vec<u64>,
    /// Messages whose lengths do not add up: the header's length against the UDP payload, or
    /// the sets tshark dissected against the message. tshark 4.0's cflow dissector flags
    /// neither: a set cut short or with a length past the message's end is silently left out,
    /// with no expert info, so the harness checks the lengths itself.
    pub structure_errors: Vec<String>,
}

impl IpfixReport {
    /// Expert infos of warning severity or worse (errors include malformed fields).
    pub fn warnings_or_errors(&self) -> Vec<&Expert> {
        self.experts
            .iter()
            .filter(|e| e.severity >= SEVERITY_WARN)
            .collect()
    }

    /// Everything wrong with the capture as IPFIX: malformed packets, expert errors, packets
    /// that are not IPFIX, lengths that do not add up. Warnings are not in it (see
    /// `warnings_or_errors`).
    pub fn problems(&self) -> Vec<String> {
        let mut p: Vec<String> = self
            .malformed
            .iter()
            .map(|f| format!("frame {f}: malformed"))
            .collect();
        p.extend(
            self.not_ipfix
                .iter()
                .map(|f| format!("frame {f}: not IPFIX")),
        );
        p.extend(
            self.errors()
                .iter()
                .map(|e| format!("expert error: {}", e.message)),
        );
        p.extend(self.structure_errors.iter().cloned());
        p
    }

    pub fn errors(&self) -> Vec<&Expert> {
        self.experts
            .iter()
            .filter(|e| e.severity >= SEVERITY_ERROR)
            .collect()
    }
}

/// Dissects `capture` with UDP port `port` decoded as IPFIX (`cflow`).
pub fn dissect_ipfix(capture: &Path, port: u16) -> IpfixReport {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(capture)
        .args(["-d", &format!("udp.port=={port},cflow")])
        .args(["-T", "json", "--no-duplicate-keys"])
        .env("TZ", "UTC")
        .output()
        .expect("run tshark -r");
    assert!(
        out.status.success(),
        "tshark -r {}: {}",
        capture.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let packets: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "tshark JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    parse_report(&packets)
}

fn parse_report(packets: &Value) -> IpfixReport {
    let mut r = IpfixReport::default();
    for p in packets.as_array().map(Vec::as_slice).unwrap_or_default() {
        r.packets += 1;
        let layers = &p["_source"]["layers"];
        let frame: u64 = text(&layers["frame"]["frame.number"])
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let mut experts = Vec::new();
        let mut malformed = false;
        walk(layers, &mut experts, &mut malformed);
        r.experts.extend(experts);
        if malformed {
            r.malformed.push(frame);
        }
        // One UDP datagram holds one IPFIX message; tshark lists repeated layers as an array.
        let cflows: Vec<&Value> = match &layers["cflow"] {
            Value::Array(a) => a.iter().collect(),
            Value::Null => Vec::new(),
            v => vec![v],
        };
        if cflows.is_empty() {
            r.not_ipfix.push(frame);
        }
        let udp_payload = text(&layers["udp"]["udp.length"])
            .and_then(|t| t.parse::<usize>().ok())
            .map(|l| l.saturating_sub(8));
        for c in cflows {
            r.ipfix_messages += 1;
            let length = text(&c["cflow.len"]).and_then(|t| t.parse::<usize>().ok());
            if length.is_none() || length != udp_payload {
                r.structure_errors.push(format!(
                    "frame {frame}: message length {length:?}, UDP payload {udp_payload:?}"
                ));
            }
            let sets: usize = c
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| k.starts_with("Set "))
                        .filter_map(|(_, set)| text(&set["cflow.flowset_length"]))
                        .filter_map(|t| t.parse::<usize>().ok())
                        .sum()
                })
                .unwrap_or(0);
            if Some(16 + sets) != length {
                r.structure_errors.push(format!(
                    "frame {frame}: the sets tshark dissected cover {} of {length:?} bytes",
                    16 + sets
                ));
            }
            let num = |k: &str| text(&c[k]).and_then(|t| t.parse::<u32>().ok()).unwrap_or(0);
            r.headers
                .push((frame, num("cflow.sequence"), num("cflow.od_id")));
            let Some(obj) = c.as_object() else { continue };
            for (key, set) in obj {
                if !key.starts_with("Set ") {
                    continue;
                }
                let template = text(&set["cflow.flowset_id"])
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                let Some(items) = set.as_object() else {
                    continue;
                };
                for (name, flow) in items {
                    if name.starts_with("Flow ") {
                        r.flows.push(parse_flow(template, flow));
                    }
                }
            }
        }
    }
    r
}

/// Collects every `_ws.expert` object and `_ws.malformed` item under `v`.
fn walk(v: &Value, experts: &mut Vec<Expert>, malformed: &mut bool) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "_ws.malformed" || k.starts_with("_ws.malformed") {
                    *malformed = true;
                }
                if k == "_ws.expert" {
                    for e in as_list(x) {
                        experts.push(Expert {
                            severity: text(&e["_ws.expert.severity"])
                                .and_then(|t| t.parse().ok())
                                .unwrap_or(SEVERITY_ERROR),
                            message: text(&e["_ws.expert.message"])
                                .unwrap_or_default()
                                .to_string(),
                        });
                    }
                }
                walk(x, experts, malformed);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, experts, malformed)),
        _ => {}
    }
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    }
}

fn text(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        // A field repeated in one object (--no-duplicate-keys): the first.
        Value::Array(a) => a.first().and_then(Value::as_str),
        _ => None,
    }
}

fn parse_flow(template: u16, f: &Value) -> IpfixFlow {
    fn n<T: std::str::FromStr>(v: &Value) -> Option<T> {
        text(v).and_then(|t| t.parse().ok())
    }
    let times = &f["cflow.timedelta_tree"];
    IpfixFlow {
        template,
        start: text(&times["cflow.abstimestart"]).map(str::to_string),
        end: text(&times["cflow.abstimeend"]).map(str::to_string),
        src: n(&f["cflow.srcaddr"]).or_else(|| n(&f["cflow.srcaddrv6"])),
        dst: n(&f["cflow.dstaddr"]).or_else(|| n(&f["cflow.dstaddrv6"])),
        src_port: n(&f["cflow.srcport"]),
        dst_port: n(&f["cflow.dstport"]),
        protocol: n(&f["cflow.protocol"]),
        initiator_octets: n(&f["cflow.initiator_octets"]),
        responder_octets: n(&f["cflow.responder_octets"]),
        initiator_packets: n(&f["cflow.initiator_packets"]),
        responder_packets: n(&f["cflow.responder_packets"]),
        total_octets: as_list(&f["cflow.permanent_octets"])
            .into_iter()
            .filter_map(|v| v.as_str().and_then(|t| t.parse().ok()))
            .collect(),
        firewall_event: n(&f["cflow.firewall_event"]),
        flow_end_reason: n(&f["cflow.flow_end_reason"]),
        ingress_interface: n(&f["cflow.inputint"]),
        egress_interface: n(&f["cflow.outputint"]),
        application_name: text(&f["cflow.appl_name"]).map(str::to_string),
    }
}
