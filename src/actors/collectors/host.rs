//! One collector: its encoder (syslog, flow log 3.0 or IPFIX), its transport (a connected UDP
//! socket, or a TCP link) and its counters.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::LogRecord;
use super::tcp::{TcpLink, TcpTuning};
use crate::export::config::{
    ExportConfig, FlowFormat, FlowHost, HostCounters, HostDrop, HostKind, LogHost, SyslogFormat,
    Transport,
};
use crate::export::flowlog::{FlowLogExport, FlowLogSender};
use crate::export::ipfix::{IpfixConfig, IpfixExporter};
use crate::export::syslog::{self, Envelope, TimestampStyle};
use crate::export::{FlowRecord, flowlog};

/// IPFIX logs a host gathers before it encodes them even within a turn (a burst must not grow
/// the list without bound; 256 records fill a few 1400-byte messages).
const IPFIX_BATCH: usize = 256;

/// A TCP host's queue past this many bytes is written at once rather than at the end of the
/// turn, so a burst within one turn does not fill it while the socket could take it.
const EAGER_WRITE_BYTES: usize = 64 << 10;

/// How long a UDP socket that could not be opened (a `source-ip` the box does not have) waits
/// before the next attempt.
const UDP_REOPEN: Duration = Duration::from_secs(1);

/// What identifies a host: two configurations with the same identity keep the host, its
/// sockets, its sequence numbers and its counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostId {
    Log(LogHost),
    /// A flow-log host and the `source-ip` its socket is bound to.
    Flow(FlowHost, Option<IpAddr>),
}

/// The settings every syslog host's messages share, and the application names.
pub struct Shared<'a> {
    pub sysname: &'a str,
    pub timestamp: TimestampStyle,
    pub names: &'a super::AppNames,
}

impl<'a> Shared<'a> {
    /// What every host's encoder reads of the configuration.
    pub fn of(config: &'a ExportConfig, names: &'a super::AppNames) -> Shared<'a> {
        Shared {
            sysname: &config.sysname,
            timestamp: config.timestamp,
            names,
        }
    }
}

enum Encoder {
    Syslog(SyslogFormat),
    FlowLog(FlowLogExport),
    Ipfix {
        exporter: IpfixExporter,
        pending: Vec<LogRecord>,
    },
}

enum Link {
    Udp(UdpLink),
    Tcp(TcpLink),
}

/// One configured collector.
pub struct Host {
    pub id: HostId,
    encoder: Encoder,
    link: Link,
    counters: HostCounters,
    /// Scratch buffers, kept so a log costs no allocation.
    text: String,
    bytes: Vec<u8>,
    datagrams: Vec<Vec<u8>>,
}

impl Host {
    pub fn new(id: HostId, tuning: TcpTuning, now: Instant) -> Host {
        let (addr, port, kind, encoder, source) = match &id {
            HostId::Log(h) => (
                h.addr,
                h.port,
                HostKind::Syslog(h.format, h.transport),
                Encoder::Syslog(h.format),
                None,
            ),
            HostId::Flow(h, source) => (
                h.addr,
                h.port,
                HostKind::Flow(h.format),
                match h.format {
                    FlowFormat::FlowLog3 => {
                        Encoder::FlowLog(FlowLogExport::new(FlowLogSender::default()))
                    }
                    FlowFormat::Ipfix => Encoder::Ipfix {
                        exporter: IpfixExporter::new(IpfixConfig::default()),
                        pending: Vec::new(),
                    },
                },
                *source,
            ),
        };
        let dest = SocketAddr::new(addr, port);
        let link = match &id {
            HostId::Log(LogHost {
                transport: Transport::Tcp,
                ..
            }) => Link::Tcp(TcpLink::new(dest, tuning, now)),
            _ => Link::Udp(UdpLink::new(dest, source)),
        };
        Host {
            id,
            encoder,
            link,
            counters: HostCounters {
                addr,
                port,
                kind,
                logs: 0,
                sent: 0,
                datagrams: 0,
                drops: [0; HostDrop::ALL.len()],
                queued: 0,
                connected: false,
            },
            text: String::new(),
            bytes: Vec::new(),
            datagrams: Vec::new(),
        }
    }

    /// Whether session logs reach this host when `userlog flow syslog` is on (log hosts) or
    /// off (flow-log hosts).
    pub fn is_syslog(&self) -> bool {
        matches!(self.id, HostId::Log(_))
    }

    /// Takes one log stamped `log_ms` (Unix ms): sent at once (a syslog datagram), queued (TCP),
    /// or added to the datagram or message in progress.
    pub fn log(&mut self, rec: &LogRecord, log_ms: u64, shared: &Shared<'_>, now: Instant) {
        self.counters.logs += 1;
        let facility = self.facility();
        match &mut self.encoder {
            Encoder::Syslog(format) => {
                self.text.clear();
                let record = rec.with_name(shared.names);
                match format {
                    SyslogFormat::Comware => {
                        let env = Envelope {
                            sysname: shared.sysname,
                            facility,
                            timestamp: shared.timestamp,
                        };
                        syslog::write_infocenter(&env, &record, log_ms, &mut self.text);
                    }
                    SyslogFormat::Rfc5424 => syslog::write_rfc5424(
                        shared.sysname,
                        facility,
                        &record,
                        log_ms,
                        &mut self.text,
                    ),
                }
                self.send_text(now);
            }
            Encoder::FlowLog(export) => {
                let record = rec.with_name(shared.names);
                if export
                    .push(&record, log_ms / 1000, &mut self.datagrams)
                    .is_err()
                {
                    count_drop(&mut self.counters, HostDrop::Unencodable, 1);
                }
                self.send_datagrams(now);
            }
            Encoder::Ipfix { pending, .. } => {
                pending.push(*rec);
                if pending.len() >= IPFIX_BATCH {
                    self.encode_ipfix(log_ms, shared, now);
                }
            }
        }
    }

    /// One of the information centre's messages (an alarm, an event of the daemon), for a
    /// log host only: sent or queued like a session log, and counted with them (`logs` =
    /// `sent` + drops still holds). Stamped with the message's own time.
    pub fn message(&mut self, m: &crate::infocenter::Message, shared: &Shared<'_>, now: Instant) {
        let Encoder::Syslog(format) = self.encoder else {
            return;
        };
        self.counters.logs += 1;
        let facility = self.facility();
        self.text = match format {
            SyslogFormat::Comware => m.loghost(&Envelope {
                sysname: shared.sysname,
                facility,
                timestamp: shared.timestamp,
            }),
            SyslogFormat::Rfc5424 => m.rfc5424(shared.sysname, facility),
        };
        self.send_text(now);
    }

    /// Sends the syslog message in `text`: a datagram, or a frame queued on the TCP link.
    fn send_text(&mut self, now: Instant) {
        match &mut self.link {
            Link::Udp(udp) => {
                let sent = udp.send(self.text.as_bytes(), now);
                count_datagram(&mut self.counters, sent, 1);
            }
            Link::Tcp(tcp) => {
                self.bytes.clear();
                syslog::write_octet_counted(self.text.as_bytes(), &mut self.bytes);
                if !tcp.push(&self.bytes) {
                    // Full because the host is away, or because it reads too slowly.
                    let why = if tcp.connected() {
                        HostDrop::QueueFull
                    } else {
                        HostDrop::Down
                    };
                    count_drop(&mut self.counters, why, 1);
                } else if tcp.queued_bytes() >= EAGER_WRITE_BYTES {
                    let progress = tcp.pump(now);
                    count_progress(&mut self.counters, progress);
                }
            }
        }
    }

    /// The end of a turn at `now_ms` (Unix ms, the logs' own clock): the datagram or messages in
    /// progress go out, and a TCP host writes what its socket takes.
    pub fn flush(&mut self, now_ms: u64, shared: &Shared<'_>, now: Instant) {
        match &mut self.encoder {
            Encoder::Syslog(_) => {}
            Encoder::FlowLog(export) => {
                export.flush(now_ms / 1000, &mut self.datagrams);
                self.send_datagrams(now);
            }
            Encoder::Ipfix { .. } => self.encode_ipfix(now_ms, shared, now),
        }
        self.pump(now);
    }

    /// A TCP host connects and writes; a UDP host has nothing to do.
    pub fn pump(&mut self, now: Instant) {
        if let Link::Tcp(tcp) = &mut self.link {
            let progress = tcp.pump(now);
            count_progress(&mut self.counters, progress);
        }
    }

    /// Messages still waiting in a TCP host's queue (0 for UDP hosts after a flush).
    pub fn tcp_queued(&self) -> u64 {
        match &self.link {
            Link::Tcp(tcp) => tcp.queued(),
            Link::Udp(_) => 0,
        }
    }

    /// Shutdown: the next pump may connect at once, whatever the backoff says.
    pub fn retry_now(&mut self, now: Instant) {
        if let Link::Tcp(tcp) = &mut self.link {
            tcp.retry_now(now);
        }
    }

    /// A TCP host that is down and waits for its next attempt past `deadline`.
    pub fn idle_until_past(&self, deadline: Instant) -> bool {
        matches!(&self.link, Link::Tcp(tcp) if tcp.down_until().is_some_and(|t| t >= deadline))
    }

    /// Shutdown's deadline: what is still queued is counted as `Shutdown`.
    pub fn give_up(&mut self) {
        if let Link::Tcp(tcp) = &mut self.link {
            let n = tcp.discard_all();
            count_drop(&mut self.counters, HostDrop::Shutdown, n);
        }
    }

    /// `reset userlog flow export`: the counters start again from what is queued now, so
    /// logs = sent + dropped + queued still holds.
    pub fn reset_counters(&mut self) {
        let queued = self.queued();
        let c = &mut self.counters;
        c.logs = queued;
        c.sent = 0;
        c.datagrams = 0;
        c.drops = [0; HostDrop::ALL.len()];
    }

    pub fn counters(&self) -> HostCounters {
        HostCounters {
            queued: self.queued(),
            connected: matches!(&self.link, Link::Tcp(tcp) if tcp.connected()),
            ..self.counters.clone()
        }
    }

    #[cfg(test)]
    pub fn tcp_queued_bytes(&self) -> usize {
        match &self.link {
            Link::Tcp(tcp) => tcp.queued_bytes(),
            Link::Udp(_) => 0,
        }
    }

    /// Logs taken and neither sent nor dropped yet.
    fn queued(&self) -> u64 {
        let in_progress = match &self.encoder {
            Encoder::Syslog(_) => 0,
            Encoder::FlowLog(export) => u64::from(export.pending()),
            Encoder::Ipfix { pending, .. } => pending.len() as u64,
        };
        in_progress + self.tcp_queued()
    }

    fn facility(&self) -> syslog::Facility {
        match &self.id {
            HostId::Log(h) => h.facility,
            HostId::Flow(..) => syslog::Facility::default(),
        }
    }

    /// Sends the flow-log datagrams the encoder closed; each counts the records its header
    /// says it holds.
    fn send_datagrams(&mut self, now: Instant) {
        let Link::Udp(udp) = &mut self.link else {
            // Flow-log hosts are UDP only (`Host::new`); nothing else fills `datagrams`.
            self.datagrams.clear();
            return;
        };
        for datagram in self.datagrams.drain(..) {
            let records = datagram
                .get(2..4)
                .map_or(0, |b| u64::from(u16::from_be_bytes([b[0], b[1]])));
            debug_assert!(datagram.len() >= flowlog::HEADER_LEN);
            let sent = udp.send(&datagram, now);
            count_datagram(&mut self.counters, sent, records);
        }
    }

    /// Encodes the gathered IPFIX logs into messages stamped `now_ms` and sends them.
    fn encode_ipfix(&mut self, now_ms: u64, shared: &Shared<'_>, now: Instant) {
        let (Encoder::Ipfix { exporter, pending }, Link::Udp(udp)) =
            (&mut self.encoder, &mut self.link)
        else {
            return;
        };
        if pending.is_empty() {
            return;
        }
        let now_s = u32::try_from(now_ms / 1000).unwrap_or(u32::MAX);
        // One list per encode (a turn's logs), not per log: the names are borrowed from
        // `shared`, which a pending log cannot hold.
        let records: Vec<FlowRecord<'_>> =
            pending.iter().map(|r| r.with_name(shared.names)).collect();
        let mut rest = &records[..];
        while !rest.is_empty() {
            let taken = exporter.encode(now_s, rest, &mut self.bytes);
            if taken == 0 {
                break;
            }
            let sent = udp.send(&self.bytes, now);
            if sent.is_err() {
                // The collector may come back having lost the templates: the next message
                // carries them rather than waiting for the RFC 7011 §8.4 schedule.
                exporter.resend_templates();
            }
            count_datagram(&mut self.counters, sent, taken as u64);
            rest = &rest[taken..];
        }
        let unsent = rest.len() as u64;
        count_drop(&mut self.counters, HostDrop::Unencodable, unsent);
        pending.clear();
    }
}

fn count_datagram(c: &mut HostCounters, sent: Result<(), HostDrop>, logs: u64) {
    match sent {
        Ok(()) => {
            c.sent += logs;
            c.datagrams += 1;
        }
        Err(why) => count_drop(c, why, logs),
    }
}

fn count_progress(c: &mut HostCounters, p: super::tcp::Progress) {
    c.sent += p.sent;
    c.datagrams += p.sent;
    count_drop(c, HostDrop::Down, p.lost);
}

fn count_drop(c: &mut HostCounters, why: HostDrop, n: u64) {
    if n == 0 {
        return;
    }
    if let Some(i) = HostDrop::ALL.iter().position(|&d| d == why) {
        c.drops[i] += n;
    }
}

/// A UDP host: one non-blocking socket connected to the collector, so that an ICMP port
/// unreachable answering one datagram comes back as `ECONNREFUSED` on a later send (counted
/// `Refused`; the kernel clears it, and the next datagram goes out: delivery resumes by
/// itself when the collector returns).
struct UdpLink {
    dest: SocketAddr,
    /// `userlog flow export source-ip`, when of the collector's family.
    source: Option<IpAddr>,
    socket: Option<UdpSocket>,
    /// After a failed open: not before this.
    reopen_at: Option<Instant>,
}

impl UdpLink {
    fn new(dest: SocketAddr, source: Option<IpAddr>) -> UdpLink {
        let source = source.filter(|s| s.is_ipv4() == dest.is_ipv4());
        UdpLink {
            dest,
            source,
            socket: None,
            reopen_at: None,
        }
    }

    fn send(&mut self, bytes: &[u8], now: Instant) -> Result<(), HostDrop> {
        if self.socket.is_none() {
            if self.reopen_at.is_some_and(|t| now < t) {
                return Err(HostDrop::SendError);
            }
            match self.open() {
                Ok(s) => self.socket = Some(s),
                Err(_) => {
                    self.reopen_at = Some(now + UDP_REOPEN);
                    return Err(HostDrop::SendError);
                }
            }
        }
        let Some(socket) = &self.socket else {
            return Err(HostDrop::SendError);
        };
        match socket.send(bytes) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Err(HostDrop::Refused),
            // A full socket buffer (would block), no route, ...: UDP does not wait.
            Err(_) => Err(HostDrop::SendError),
        }
    }

    /// Bind (to `source`, or any address of the collector's family), connect, non-blocking:
    /// none of these waits for the network.
    fn open(&self) -> std::io::Result<UdpSocket> {
        let local = self.source.unwrap_or(if self.dest.is_ipv4() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        });
        let socket = UdpSocket::bind(SocketAddr::new(local, 0))?;
        socket.connect(self.dest)?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    }
}
