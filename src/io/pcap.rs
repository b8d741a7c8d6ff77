//! Reading pcap and pcapng capture files (pcap-parser: streaming, zero-copy per block).

use crate::proto::wire::LinkType;
use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError, create_reader};
use std::fs::File;
use std::path::Path;

/// One captured frame, borrowed from the reader's buffer for the duration of the callback.
#[derive(Debug, Clone, Copy)]
pub struct CapturedFrame<'a> {
    /// 1-based position in the capture, counting only packet records.
    pub number: u64,
    /// `None` when the capture's link type is not one we decode.
    pub link: Option<LinkType>,
    /// The raw pcap link type (for messages).
    pub linktype: u32,
    /// Capture timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    pub data: &'a [u8],
    /// The frame's length on the wire (the record's original length): more than
    /// `data.len()` when the capture cut the frame (`tcpdump -s`).
    pub wire_len: u32,
}

impl CapturedFrame<'_> {
    /// The capture holds fewer bytes of the frame than travelled.
    pub fn cut(&self) -> bool {
        self.wire_len as usize > self.data.len()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open {path}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a pcap or pcapng file ({detail})")]
    Format { path: String, detail: String },
    #[error("{path}: malformed record after frame {after}: {detail}")]
    Record {
        path: String,
        after: u64,
        detail: String,
    },
}

/// Per-interface facts a pcapng file declares in its Interface Description Blocks.
#[derive(Clone, Copy)]
struct Interface {
    linktype: u32,
    resolution: u64,
    offset_s: i64,
}

/// Calls `f` for every frame of the capture, in file order.
pub fn for_each_frame(
    path: &Path,
    mut f: impl FnMut(CapturedFrame<'_>),
) -> Result<u64, CaptureError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| CaptureError::Open {
        path: name.clone(),
        source,
    })?;
    let mut reader = create_reader(1 << 20, file).map_err(|e| CaptureError::Format {
        path: name.clone(),
        detail: e.to_string(),
    })?;
    let mut legacy = Interface {
        linktype: 1,
        resolution: 1_000_000,
        offset_s: 0,
    };
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut number = 0u64;
    let mut refilled_without_progress = false;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                refilled_without_progress = false;
                let mut emit = |iface: Interface, secs: u64, frac: u64, data: &[u8], wire: u32| {
                    number += 1;
                    let ns = frac.saturating_mul(1_000_000_000) / iface.resolution.max(1);
                    let secs = secs.saturating_add_signed(iface.offset_s);
                    f(CapturedFrame {
                        number,
                        link: LinkType::from_pcap(iface.linktype),
                        linktype: iface.linktype,
                        ts_ns: secs.saturating_mul(1_000_000_000).saturating_add(ns),
                        data,
                        wire_len: wire.max(data.len() as u32),
                    });
                };
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy.linktype = h.network.0 as u32;
                        legacy.resolution = if h.is_nanosecond_precision() {
                            1_000_000_000
                        } else {
                            1_000_000
                        };
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let len = (b.caplen as usize).min(b.data.len());
                        emit(
                            legacy,
                            u64::from(b.ts_sec),
                            u64::from(b.ts_usec),
                            &b.data[..len],
                            b.origlen,
                        );
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => interfaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        interfaces.push(Interface {
                            linktype: idb.linktype.0 as u32,
                            resolution: idb.ts_resolution().unwrap_or(1_000_000),
                            offset_s: idb.ts_offset(),
                        })
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let iface = interfaces
                            .get(epb.if_id as usize)
                            .copied()
                            .unwrap_or(legacy);
                        let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let res = iface.resolution.max(1);
                        let len = (epb.caplen as usize).min(epb.data.len());
                        emit(
                            iface,
                            ticks / res,
                            ticks % res,
                            &epb.data[..len],
                            epb.origlen,
                        );
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let iface = interfaces.first().copied().unwrap_or(legacy);
                        let len = (spb.origlen as usize).min(spb.data.len());
                        emit(iface, 0, 0, &spb.data[..len], spb.origlen);
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if refilled_without_progress {
                    // The file ends inside a record: report it rather than spin.
                    return Err(CaptureError::Record {
                        path: name,
                        after: number,
                        detail: "truncated record at end of file".into(),
                    });
                }
                refilled_without_progress = true;
                if let Err(e) = reader.refill() {
                    let detail = match e {
                        PcapError::UnexpectedEof => "truncated record at end of file".into(),
                        e => e.to_string(),
                    };
                    return Err(CaptureError::Record {
                        path: name,
                        after: number,
                        detail,
                    });
                }
            }
            Err(PcapError::UnexpectedEof) => {
                return Err(CaptureError::Record {
                    path: name,
                    after: number,
                    detail: "truncated record at end of file".into(),
                });
            }
            Err(e) => {
                return Err(CaptureError::Record {
                    path: name,
                    after: number,
                    detail: e.to_string(),
                });
            }
        }
    }
    Ok(number)
}

/// A capture played back in real time as a live port (the `pcap` back-end of `sessmgr run`):
/// frames arrive at their recorded spacing, the capture loops with time running on, and each
/// core receives only the frames of the flows it owns. Monitor mode only: there is nowhere
/// to forward to.
pub struct PcapLive {
    frames: Vec<(u64, Vec<u8>)>,
    link: LinkType,
    /// Capture time of the first frame and its length, for looping.
    first_ts: u64,
    span_ns: u64,
    looping: bool,
    /// Every frame is due at once: the capture plays as fast as the core takes it (load
    /// measurements), laps follow each other without the second of quiet.
    flat_out: bool,
    started: std::time::Instant,
    start_wall_ns: u64,
    next: usize,
    lap: u64,
    stats: super::IoStats,
    actions: Vec<super::Action>,
    ports: Vec<super::PortId>,
}

/// The most a capture may weigh to be played live (it is held in memory).
pub const LIVE_CAPTURE_MAX_BYTES: u64 = 256 << 20;

impl PcapLive {
    /// Loads the frames of `path` that a core owns (`owns(link, frame)`, the engine's flow
    /// steering).
    pub fn open(
        path: &Path,
        owns: impl Fn(LinkType, &[u8]) -> bool,
        looping: bool,
    ) -> Result<PcapLive, CaptureError> {
        let name = path.display().to_string();
        let size = std::fs::metadata(path)
            .map_err(|source| CaptureError::Open {
                path: name.clone(),
                source,
            })?
            .len();
        if size > LIVE_CAPTURE_MAX_BYTES {
            return Err(CaptureError::Format {
                path: name,
                detail: format!(
                    "{size} bytes: live playback holds at most {LIVE_CAPTURE_MAX_BYTES}"
                ),
            });
        }
        let mut frames = Vec::new();
        let mut link = None;
        let mut first = None;
        let mut last = 0;
        let mut other_link = false;
        for_each_frame(path, |f| {
            let Some(l) = f.link else { return };
            if *link.get_or_insert(l) != l {
                other_link = true;
                return;
            }
            first.get_or_insert(f.ts_ns);
            last = last.max(f.ts_ns);
            if owns(l, f.data) {
                frames.push((f.ts_ns, f.data.to_vec()));
            }
        })?;
        if other_link {
            return Err(CaptureError::Format {
                path: name,
                detail: "frames of several link types: live playback takes one".into(),
            });
        }
        let first_ts = first.unwrap_or(0);
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Ok(PcapLive {
            frames,
            link: link.unwrap_or(LinkType::Ethernet),
            first_ts,
            // One second of quiet between laps, so a loop is visible as such.
            span_ns: last.saturating_sub(first_ts) + 1_000_000_000,
            looping,
            flat_out: false,
            started: std::time::Instant::now(),
            start_wall_ns: wall,
            next: 0,
            lap: 0,
            stats: super::IoStats::default(),
            actions: Vec::new(),
            ports: Vec::new(),
        })
    }

    /// Plays as fast as the core takes the frames (`[runtime] capture_pace = "max"`).
    pub fn flat_out(mut self, on: bool) -> PcapLive {
        self.flat_out = on;
        self
    }

    /// When frame `i` of lap `lap` is due, relative to the start of playback.
    fn due_ns(&self, i: usize, lap: u64) -> u64 {
        if self.flat_out {
            return if i < self.frames.len() { 0 } else { u64::MAX };
        }
        self.frames
            .get(i)
            .map_or(u64::MAX, |f| f.0 - self.first_ts + lap * self.span_ns)
    }
}

impl super::PacketIo for PcapLive {
    fn link_type(&self) -> LinkType {
        self.link
    }

    fn rx_batch(
        &mut self,
        max: usize,
        timeout_ms: i32,
        handler: &mut super::BatchHandler<'_>,
    ) -> std::io::Result<usize> {
        if self.next >= self.frames.len() {
            if !self.looping || self.frames.is_empty() {
                std::thread::sleep(std::time::Duration::from_millis(timeout_ms.max(0) as u64));
                return Ok(0);
            }
            self.next = 0;
            self.lap += 1;
        }
        let elapsed = self.started.elapsed().as_nanos() as u64;
        let due = self.due_ns(self.next, self.lap);
        if due > elapsed {
            let wait = (due - elapsed).min(timeout_ms.max(0) as u64 * 1_000_000);
            std::thread::sleep(std::time::Duration::from_nanos(wait));
            return Ok(0);
        }
        let start = self.next;
        let mut end = start;
        while end < self.frames.len() && end - start < max && self.due_ns(end, self.lap) <= elapsed
        {
            end += 1;
        }
        self.next = end;
        let now = self.start_wall_ns + elapsed;
        let batch: Vec<&[u8]> = self.frames[start..end].iter().map(|f| &f.1[..]).collect();
        self.ports.clear();
        self.ports.resize(batch.len(), 0);
        self.actions.clear();
        self.actions.resize(batch.len(), super::Action::Drop);
        handler(&batch, &self.ports, now, &mut self.actions);
        self.stats.rx_frames += batch.len() as u64;
        self.stats.rx_bytes += batch.iter().map(|f| f.len() as u64).sum::<u64>();
        Ok(batch.len())
    }

    fn send(&mut self, _port: super::PortId, _frame: &[u8]) -> std::io::Result<()> {
        // Playback has no wire to send on.
        Ok(())
    }

    fn stats(&self) -> super::IoStats {
        self.stats
    }
}
