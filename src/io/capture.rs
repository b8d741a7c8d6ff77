//! Reading a capture a batch of frames at a time, without copying them: the frames of a batch
//! are slices of one read buffer, handed to the engine together (`replay` feeds them to the
//! batched pipeline).
//!
//! Classic pcap (the format tcpdump writes; every byte order and both timestamp resolutions)
//! is read here directly: a record is a 16-byte header and the frame, so a batch is a run of
//! whole records in the buffer. Any other format (pcapng) goes through `pcap::for_each_frame`
//! and its frames are copied into batches.
//!
//! `for_each_chunk` reads the same way into shared chunks for `replay --cores N`: each chunk
//! is read once and handed to every core by reference (`Arc`), so the dispatcher hands out
//! frame positions instead of copying frames; a chunk's buffers go back to the reader's
//! bounded pool when the last core is done with it.

use super::pcap::{CaptureError, CapturedFrame, for_each_frame};
use crate::proto::wire::LinkType;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// One frame of a batch: where its bytes are, and what the record says about it.
#[derive(Debug, Clone, Copy)]
struct Record {
    number: u64,
    ts_ns: u64,
    start: usize,
    len: usize,
    wire_len: u32,
}

/// Frames read together, all of one link type.
pub struct CaptureBatch<'a> {
    pub link: Option<LinkType>,
    pub linktype: u32,
    bytes: &'a [u8],
    records: &'a [Record],
}

impl<'a> CaptureBatch<'a> {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Frame `i` of the batch.
    pub fn frame(&self, i: usize) -> Option<CapturedFrame<'a>> {
        let r = self.records.get(i)?;
        Some(CapturedFrame {
            number: r.number,
            link: self.link,
            linktype: self.linktype,
            ts_ns: r.ts_ns,
            data: self.bytes.get(r.start..r.start + r.len)?,
            wire_len: r.wire_len,
        })
    }
}

/// Bytes read from the file at a time: small enough that what the kernel copies in is still
/// in the cache when the frames are parsed.
const READ_BUFFER: usize = 256 << 10;
/// The largest record libpcap writes (its MAXIMUM_SNAPLEN): a larger one is a damaged file.
const MAX_RECORD: usize = 262_144;

/// Calls `f` with every frame of the capture, in file order, in batches of at most `max`
/// frames of one link type. Returns the number of frames. A capture that ends inside a
/// record (or holds a malformed one) has had every frame before it delivered when the
/// error comes back.
pub fn for_each_batch(
    path: &Path,
    max: usize,
    mut f: impl FnMut(&CaptureBatch<'_>),
) -> Result<u64, CaptureError> {
    let (file, name, classic) = open_capture(path)?;
    match classic {
        Some(c) => c.run(file, &name, max.max(1), &mut f),
        None => copied(path, max.max(1), &mut f),
    }
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A classic pcap file's global header (the tcpdump/libpcap file format).
struct Classic {
    big_endian: bool,
    /// Nanoseconds per unit of a record's sub-second field.
    frac_ns: u64,
    linktype: u32,
}

impl Classic {
    fn of(h: &[u8; 24]) -> Option<Classic> {
        let (big_endian, frac_ns) = match [h[0], h[1], h[2], h[3]] {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, 1000),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, 1),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, 1000),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, 1),
            _ => return None,
        };
        let c = Classic {
            big_endian,
            frac_ns,
            linktype: 0,
        };
        // The link type is the low 16 bits; the high bits may carry the FCS length.
        let linktype = c.u32(&h[20..24]) & 0xffff;
        Some(Classic { linktype, ..c })
    }

    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    fn run(
        self,
        mut file: File,
        name: &str,
        max: usize,
        f: &mut impl FnMut(&CaptureBatch<'_>),
    ) -> Result<u64, CaptureError> {
        let link = LinkType::from_pcap(self.linktype);
        // Room for the largest record and its header, whatever READ_BUFFER says.
        let mut buf = vec![0u8; READ_BUFFER.max(MAX_RECORD + 16)];
        let (mut start, mut end) = (0usize, 0usize);
        let mut records: Vec<Record> = Vec::with_capacity(max);
        let mut number = 0u64;
        let fail = |after: u64, detail: String| CaptureError::Record {
            path: name.to_string(),
            after,
            detail,
        };
        loop {
            // Whole records in the buffer, up to `max` of them.
            records.clear();
            let mut at = start;
            while records.len() < max {
                let Some(h) = buf.get(at..at + 16).filter(|_| at + 16 <= end) else {
                    break;
                };
                let caplen = self.u32(&h[8..12]) as usize;
                if caplen > MAX_RECORD {
                    return Err(fail(number, format!("a record of {caplen} bytes")));
                }
                if at + 16 + caplen > end {
                    break;
                }
                number += 1;
                let secs = u64::from(self.u32(&h[0..4]));
                let frac = u64::from(self.u32(&h[4..8]));
                records.push(Record {
                    number,
                    ts_ns: secs
                        .saturating_mul(1_000_000_000)
                        .saturating_add(frac.saturating_mul(self.frac_ns)),
                    start: at + 16,
                    len: caplen,
                    wire_len: self.u32(&h[12..16]).max(caplen as u32),
                });
                at += 16 + caplen;
            }
            if !records.is_empty() {
                f(&CaptureBatch {
                    link,
                    linktype: self.linktype,
                    bytes: &buf,
                    records: &records,
                });
                start = at;
                continue;
            }
            // No whole record left: keep the partial one, read more.
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
            let n =
                read_full(&mut file, &mut buf[end..]).map_err(|e| fail(number, e.to_string()))?;
            if n == 0 {
                if end == 0 {
                    return Ok(number);
                }
                return Err(fail(number, "truncated record at end of file".into()));
            }
            end += n;
        }
    }
}

/// Bytes a shared chunk holds: several hundred KiB of frames per message to a core, and
/// room for the largest record (`MAX_RECORD`) however the records fall.
const CHUNK_BYTES: usize = 1 << 20;
/// Chunks in flight at once (read ahead of the slowest core): the reader waits for a chunk
/// to come back beyond this, so memory stays bounded whatever the capture's size.
const CHUNK_POOL: usize = 8;

/// The buffers of a chunk, recycled through the reader's pool.
struct ChunkBuffers {
    bytes: Vec<u8>,
    records: Vec<Record>,
}

/// Whole frames of a capture, read once and shared (`Arc`) by every core that replays some
/// of them: `replay --cores N` hands each core the positions of its frames in the chunk.
/// All of one link type.
pub struct Chunk {
    pub link: Option<LinkType>,
    pub linktype: u32,
    bytes: Vec<u8>,
    records: Vec<Record>,
    /// Where the buffers go when the last holder drops the chunk (`None`: freed).
    pool: Option<flume::Sender<ChunkBuffers>>,
}

impl Chunk {
    /// The chunk read as a batch (the one reader of records and bytes).
    pub fn batch(&self) -> CaptureBatch<'_> {
        CaptureBatch {
            link: self.link,
            linktype: self.linktype,
            bytes: &self.bytes,
            records: &self.records,
        }
    }

    /// Frames in the chunk.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Frame `i` of the chunk.
    pub fn frame(&self, i: usize) -> Option<CapturedFrame<'_>> {
        self.batch().frame(i)
    }

    /// The bytes of frame `i` (empty past the end).
    pub fn data(&self, i: usize) -> &[u8] {
        self.records
            .get(i)
            .and_then(|r| self.bytes.get(r.start..r.start + r.len))
            .unwrap_or(&[])
    }

    /// Frame `i`'s position in the capture (1-based; 0 past the end).
    pub fn number(&self, i: usize) -> u64 {
        self.records.get(i).map_or(0, |r| r.number)
    }

    /// Frame `i`'s capture time, nanoseconds since the Unix epoch (0 past the end).
    pub fn ts_ns(&self, i: usize) -> u64 {
        self.records.get(i).map_or(0, |r| r.ts_ns)
    }

    /// The capture holds fewer bytes of frame `i` than travelled.
    pub fn cut(&self, i: usize) -> bool {
        self.records
            .get(i)
            .is_some_and(|r| r.wire_len as usize > r.len)
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            // The reader gone (the capture ended), the buffers are simply freed.
            let _ = pool.try_send(ChunkBuffers {
                bytes: std::mem::take(&mut self.bytes),
                records: std::mem::take(&mut self.records),
            });
        }
    }
}

/// Opens a capture and reads its first 24 bytes: a classic pcap header (read from `file`
/// after it, in its byte order and time resolution) or anything else (pcapng, or a damaged
/// file, which the general reader opens again and names).
fn open_capture(path: &Path) -> Result<(File, String, Option<Classic>), CaptureError> {
    let name = path.display().to_string();
    let mut file = File::open(path).map_err(|source| CaptureError::Open {
        path: name.clone(),
        source,
    })?;
    let mut header = [0u8; 24];
    let classic = read_full(&mut file, &mut header)
        .ok()
        .filter(|n| *n == header.len())
        .and_then(|_| Classic::of(&header));
    Ok((file, name, classic))
}

/// Calls `f` with every frame of the capture, in file order, in shared chunks of whole
/// frames of one link type (`Chunk`). Returns the number of frames. As `for_each_batch`, a
/// capture that ends inside a record (or holds a malformed one) has had every frame before
/// it delivered when the error comes back. At most `CHUNK_POOL` chunks of a classic pcap are
/// alive at once: beyond that the reader waits for one to be dropped, so `f` must not keep
/// them all (the cores drop theirs as they finish them).
pub fn for_each_chunk(path: &Path, mut f: impl FnMut(Arc<Chunk>)) -> Result<u64, CaptureError> {
    let (file, name, classic) = open_capture(path)?;
    match classic {
        Some(c) => c.run_chunks(file, &name, &mut f),
        None => copied_chunks(path, &mut f),
    }
}

impl Classic {
    /// The whole records at the start of `buf[..end]` into `records` (numbered on from
    /// `number`); returns where the first record not wholly in it starts, or the error of a
    /// malformed record header there.
    fn records(
        &self,
        buf: &[u8],
        end: usize,
        number: &mut u64,
        records: &mut Vec<Record>,
    ) -> (usize, Option<String>) {
        let mut at = 0;
        while let Some(h) = buf.get(at..at + 16).filter(|_| at + 16 <= end) {
            let caplen = self.u32(&h[8..12]) as usize;
            if caplen > MAX_RECORD {
                return (at, Some(format!("a record of {caplen} bytes")));
            }
            if at + 16 + caplen > end {
                break;
            }
            *number += 1;
            let secs = u64::from(self.u32(&h[0..4]));
            let frac = u64::from(self.u32(&h[4..8]));
            records.push(Record {
                number: *number,
                ts_ns: secs
                    .saturating_mul(1_000_000_000)
                    .saturating_add(frac.saturating_mul(self.frac_ns)),
                start: at + 16,
                len: caplen,
                wire_len: self.u32(&h[12..16]).max(caplen as u32),
            });
            at += 16 + caplen;
        }
        (at, None)
    }

    fn run_chunks(
        self,
        mut file: File,
        name: &str,
        f: &mut impl FnMut(Arc<Chunk>),
    ) -> Result<u64, CaptureError> {
        let link = LinkType::from_pcap(self.linktype);
        let (home, pool) = flume::bounded::<ChunkBuffers>(CHUNK_POOL);
        let mut made = 0;
        // The part of a record the previous chunk ended in: it starts the next one.
        let mut carry: Vec<u8> = Vec::with_capacity(MAX_RECORD + 16);
        let mut number = 0u64;
        let fail = |after: u64, detail: String| CaptureError::Record {
            path: name.to_string(),
            after,
            detail,
        };
        loop {
            let mut b = match pool.try_recv() {
                Ok(b) => b,
                Err(_) if made < CHUNK_POOL => {
                    made += 1;
                    ChunkBuffers {
                        bytes: vec![0u8; CHUNK_BYTES],
                        records: Vec::new(),
                    }
                }
                // Every chunk is out: wait for a core to finish one (we hold `home`, so
                // the channel stays open).
                Err(_) => pool.recv().map_err(|e| fail(number, e.to_string()))?,
            };
            b.records.clear();
            b.bytes[..carry.len()].copy_from_slice(&carry);
            let n = read_full(&mut file, &mut b.bytes[carry.len()..])
                .map_err(|e| fail(number, e.to_string()))?;
            let end = carry.len() + n;
            let (at, malformed) = self.records(&b.bytes, end, &mut number, &mut b.records);
            carry.clear();
            carry.extend_from_slice(&b.bytes[at..end]);
            if !b.records.is_empty() {
                f(Arc::new(Chunk {
                    link,
                    linktype: self.linktype,
                    bytes: b.bytes,
                    records: b.records,
                    pool: Some(home.clone()),
                }));
            }
            if let Some(detail) = malformed {
                return Err(fail(number, detail));
            }
            // A chunk holds the largest record, so a read that did not fill it met the end.
            if end < CHUNK_BYTES {
                if carry.is_empty() {
                    return Ok(number);
                }
                return Err(fail(number, "truncated record at end of file".into()));
            }
        }
    }
}

/// Any other format: frames read by `pcap::for_each_frame`, copied into chunks.
fn copied_chunks(path: &Path, f: &mut impl FnMut(Arc<Chunk>)) -> Result<u64, CaptureError> {
    let mut chunk: Option<Chunk> = None;
    let read = for_each_frame(path, |fr| {
        if let Some(c) = chunk.take_if(|c| {
            (c.link, c.linktype) != (fr.link, fr.linktype) || c.bytes.len() >= CHUNK_BYTES
        }) {
            f(Arc::new(c));
        }
        let c = chunk.get_or_insert_with(|| Chunk {
            link: fr.link,
            linktype: fr.linktype,
            bytes: Vec::new(),
            records: Vec::new(),
            pool: None,
        });
        c.records.push(Record {
            number: fr.number,
            ts_ns: fr.ts_ns,
            start: c.bytes.len(),
            len: fr.data.len(),
            wire_len: fr.wire_len,
        });
        c.bytes.extend_from_slice(fr.data);
    });
    if let Some(c) = chunk {
        f(Arc::new(c));
    }
    read
}

/// Any other format: frames read by `pcap::for_each_frame`, copied into batches.
fn copied(
    path: &Path,
    max: usize,
    f: &mut impl FnMut(&CaptureBatch<'_>),
) -> Result<u64, CaptureError> {
    let mut bytes: Vec<u8> = Vec::new();
    let mut records: Vec<Record> = Vec::with_capacity(max);
    let mut link: Option<(Option<LinkType>, u32)> = None;
    let mut flush =
        |bytes: &mut Vec<u8>, records: &mut Vec<Record>, link: (Option<LinkType>, u32)| {
            if !records.is_empty() {
                f(&CaptureBatch {
                    link: link.0,
                    linktype: link.1,
                    bytes,
                    records,
                });
            }
            bytes.clear();
            records.clear();
        };
    let read = for_each_frame(path, |fr| {
        let this = (fr.link, fr.linktype);
        if let Some(l) = link
            && (l != this || records.len() == max)
        {
            flush(&mut bytes, &mut records, l);
        }
        link = Some(this);
        records.push(Record {
            number: fr.number,
            ts_ns: fr.ts_ns,
            start: bytes.len(),
            len: fr.data.len(),
            wire_len: fr.wire_len,
        });
        bytes.extend_from_slice(fr.data);
    });
    if let Some(l) = link {
        flush(&mut bytes, &mut records, l);
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classic(records: &[(&[u8], u32)], big_endian: bool) -> Vec<u8> {
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        out.extend_from_slice(&w32(0xa1b2_c3d4));
        out.extend_from_slice(&[0, 2, 0, 4]);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&w32(65535));
        out.extend_from_slice(&w32(1));
        for (i, (data, orig)) in records.iter().enumerate() {
            out.extend_from_slice(&w32(1_700_000_000 + i as u32));
            out.extend_from_slice(&w32(250));
            out.extend_from_slice(&w32(data.len() as u32));
            out.extend_from_slice(&w32(*orig));
            out.extend_from_slice(data);
        }
        out
    }

    /// `(number, time, bytes, length on the wire)` of a frame.
    type Got = (u64, u64, Vec<u8>, u32);

    fn read(path: &Path, max: usize) -> (Result<u64, CaptureError>, Vec<Got>) {
        let mut got = Vec::new();
        let r = for_each_batch(path, max, |b| {
            assert!(b.len() <= max && !b.is_empty());
            for i in 0..b.len() {
                let f = b.frame(i).expect("frame");
                assert_eq!(f.link, Some(LinkType::Ethernet));
                got.push((f.number, f.ts_ns, f.data.to_vec(), f.wire_len));
            }
        });
        (r, got)
    }

    #[test]
    fn classic_records_come_in_batches_as_they_are() {
        let dir = std::env::temp_dir().join(format!("sessmgr-capture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let frames: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 60 + usize::from(i)]).collect();
        for big_endian in [false, true] {
            let recs: Vec<(&[u8], u32)> = frames
                .iter()
                .map(|f| (&f[..], if f[0] == 3 { 1500 } else { f.len() as u32 }))
                .collect();
            let path = dir.join(format!("c-{big_endian}.pcap"));
            std::fs::write(&path, classic(&recs, big_endian)).expect("write");
            let (r, got) = read(&path, 4);
            assert_eq!(r.expect("read"), 10);
            assert_eq!(got.len(), 10);
            for (i, (n, ts, data, wire)) in got.iter().enumerate() {
                assert_eq!(*n, i as u64 + 1);
                assert_eq!(*ts, (1_700_000_000 + i as u64) * 1_000_000_000 + 250_000);
                assert_eq!(data, &frames[i]);
                assert_eq!(*wire, if i == 3 { 1500 } else { data.len() as u32 });
            }
            // Cut inside the last record: the others are delivered, then the error.
            let mut bytes = classic(&recs, big_endian);
            bytes.truncate(bytes.len() - 5);
            std::fs::write(&path, bytes).expect("write");
            let (r, got) = read(&path, 4);
            assert!(
                matches!(r, Err(CaptureError::Record { after: 9, .. })),
                "{r:?}"
            );
            assert_eq!(got.len(), 9);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Every frame of a chunked read, as `(number, time, bytes, length on the wire)`, with
    /// the chunks dropped slowly by another thread (as cores do), so that the reader runs
    /// out of buffers and waits for them to come back.
    fn read_chunks(path: &Path) -> (Result<u64, CaptureError>, Vec<Got>, usize) {
        let (tx, rx) = flume::unbounded::<Arc<Chunk>>();
        let consumer = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut chunks = 0;
            for c in rx {
                std::thread::sleep(std::time::Duration::from_millis(2));
                chunks += 1;
                assert!(!c.is_empty());
                assert_eq!(c.link, Some(LinkType::Ethernet));
                for i in 0..c.len() {
                    let f = c.frame(i).expect("frame");
                    assert_eq!(f.data, c.data(i));
                    assert_eq!((f.number, f.ts_ns), (c.number(i), c.ts_ns(i)));
                    assert_eq!(f.cut(), c.cut(i));
                    got.push((f.number, f.ts_ns, f.data.to_vec(), f.wire_len));
                }
            }
            (got, chunks)
        });
        let r = for_each_chunk(path, |c| {
            let _ = tx.send(c);
        });
        drop(tx);
        let (got, chunks) = consumer.join().expect("consumer");
        (r, got, chunks)
    }

    #[test]
    fn chunks_hold_what_batches_hold_across_chunk_boundaries() {
        let dir = std::env::temp_dir().join(format!("sessmgr-chunks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        // More bytes than the pool's chunks hold together, records of every size up to the
        // largest, so records straddle chunk boundaries and every buffer is reused.
        let sizes = (0..9000usize).map(|i| match i % 1000 {
            999 => MAX_RECORD,
            n => 60 + (n * 37) % 1500,
        });
        let frames: Vec<Vec<u8>> = sizes
            .enumerate()
            .map(|(i, n)| vec![(i % 251) as u8; n])
            .collect();
        assert!(
            frames.iter().map(Vec::len).sum::<usize>() > CHUNK_POOL * CHUNK_BYTES + CHUNK_BYTES
        );
        let recs: Vec<(&[u8], u32)> = frames
            .iter()
            .enumerate()
            .map(|(i, f)| (&f[..], f.len() as u32 + u32::from(i % 7 == 0)))
            .collect();
        let path = dir.join("large.pcap");
        let bytes = classic(&recs, true);
        std::fs::write(&path, &bytes).expect("write");
        let (r, batched) = read(&path, 64);
        assert_eq!(r.expect("batches"), 9000);
        let (r, chunked, chunks) = read_chunks(&path);
        assert_eq!(r.expect("chunks"), 9000);
        assert!(
            chunks > CHUNK_POOL,
            "{chunks} chunks: the pool was never reused"
        );
        assert_eq!(chunked, batched);
        assert!(chunked.iter().any(|g| g.3 as usize > g.2.len()));

        // Cut inside the last record: every frame before it, then the error.
        std::fs::write(&path, &bytes[..bytes.len() - 3]).expect("write");
        let (r, chunked, _) = read_chunks(&path);
        assert!(
            matches!(r, Err(CaptureError::Record { after: 8999, .. })),
            "{r:?}"
        );
        assert_eq!(chunked[..], batched[..8999]);

        // A damaged record header in the middle (a length past the largest record): the
        // frames before it, then the error naming how many.
        let mut damaged = bytes.clone();
        let at = 24 + frames[..5000].iter().map(|f| 16 + f.len()).sum::<usize>();
        damaged[at + 8..at + 12].copy_from_slice(&(MAX_RECORD as u32 + 1).to_be_bytes());
        std::fs::write(&path, &damaged).expect("write");
        let (r, chunked, _) = read_chunks(&path);
        assert!(
            matches!(r, Err(CaptureError::Record { after: 5000, .. })),
            "{r:?}"
        );
        assert_eq!(chunked[..], batched[..5000]);

        // An empty capture (the header alone): no chunk, no frame.
        std::fs::write(&path, &bytes[..24]).expect("write");
        let (r, chunked, chunks) = read_chunks(&path);
        assert_eq!((r.expect("empty"), chunked.len(), chunks), (0, 0, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
