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
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open {path}: {source}")]
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
                let mut emit = |iface: Interface, secs: u64, frac: u64, data: &[u8]| {
                    number += 1;
                    let ns = frac.saturating_mul(1_000_000_000) / iface.resolution.max(1);
                    let secs = secs.saturating_add_signed(iface.offset_s);
                    f(CapturedFrame {
                        number,
                        link: LinkType::from_pcap(iface.linktype),
                        linktype: iface.linktype,
                        ts_ns: secs.saturating_mul(1_000_000_000).saturating_add(ns),
                        data,
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
                        emit(iface, ticks / res, ticks % res, &epb.data[..len]);
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let iface = interfaces.first().copied().unwrap_or(legacy);
                        let len = (spb.origlen as usize).min(spb.data.len());
                        emit(iface, 0, 0, &spb.data[..len]);
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
                    return Err(CaptureError::Record {
                        path: name,
                        after: number,
                        detail: e.to_string(),
                    });
                }
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
