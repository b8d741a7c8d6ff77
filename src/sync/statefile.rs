//! The state file (issue #16 §3): the session table and relation entries saved at a clean
//! stop and restored at the next start, so a restart or an upgrade loses no connection.
//!
//! ```text
//! "SMSF" | version (u16) | saved at (u64, wall-clock ms)
//! blocks: length (u32) | items in the synchronization protocol's format (wire.rs)
//! "END!" | items (u64) | SHA-256 of everything before
//! ```
//!
//! Written to a temporary file beside it, synced and renamed over it: a crash mid-write
//! leaves the old file or none, never half of one. Read whole and checked before anything is
//! installed: a damaged file, a truncated one or one of another version is refused as a whole
//! (the engine then starts empty, and says why).

use super::wire;
use crate::table::image::SyncItem;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 4] = b"SMSF";
pub const VERSION: u16 = 1;
const TRAILER: &[u8; 4] = b"END!";
/// Items per block: a block is parsed at once, so this bounds a restore's scratch memory.
const BLOCK_ITEMS: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not a sessmgr state file (no SMSF header)")]
    NotAStateFile,
    #[error("format version {0}, this engine reads version {VERSION}")]
    Version(u16),
    #[error("damaged: its checksum does not match")]
    Checksum,
    #[error("damaged: {0}")]
    Damaged(&'static str),
}

/// Encodes items into blocks as they come (bounded: one block in progress).
pub struct Writer {
    out: Vec<u8>,
    block: Vec<u8>,
    in_block: usize,
    items: u64,
}

impl Writer {
    pub fn new(saved_at_ms: u64) -> Writer {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&saved_at_ms.to_be_bytes());
        Writer {
            out,
            block: Vec::new(),
            in_block: 0,
            items: 0,
        }
    }

    pub fn push(&mut self, item: &SyncItem) {
        wire::write_item(item, &mut self.block);
        self.in_block += 1;
        self.items += 1;
        if self.in_block == BLOCK_ITEMS {
            self.close_block();
        }
    }

    fn close_block(&mut self) {
        if self.in_block == 0 {
            return;
        }
        self.out
            .extend_from_slice(&(self.block.len() as u32).to_be_bytes());
        self.out.append(&mut self.block);
        self.in_block = 0;
    }

    pub fn items(&self) -> u64 {
        self.items
    }

    /// The whole file's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.close_block();
        self.out.extend_from_slice(TRAILER);
        self.out.extend_from_slice(&self.items.to_be_bytes());
        let sum = Sha256::digest(&self.out);
        self.out.extend_from_slice(&sum);
        self.out
    }
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateFileError> {
    let io = |source| StateFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

/// A checked state file: when it was saved and its blocks.
pub struct Saved<'a> {
    pub saved_at_ms: u64,
    pub items: u64,
    blocks: &'a [u8],
}

/// Checks `bytes` as a whole (header, version, checksum, trailer).
pub fn check(bytes: &[u8]) -> Result<Saved<'_>, StateFileError> {
    if bytes.len() < 14 || &bytes[..4] != MAGIC {
        return Err(StateFileError::NotAStateFile);
    }
    let version = u16::from_be_bytes([bytes[4], bytes[5]]);
    if version != VERSION {
        return Err(StateFileError::Version(version));
    }
    if bytes.len() < 14 + 12 + 32 {
        return Err(StateFileError::Damaged("too short"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != sum {
        return Err(StateFileError::Checksum);
    }
    let (blocks, trailer) = body[14..].split_at(body.len() - 14 - 12);
    if &trailer[..4] != TRAILER {
        return Err(StateFileError::Damaged("no trailer"));
    }
    let mut saved = [0u8; 8];
    saved.copy_from_slice(&bytes[6..14]);
    let mut items = [0u8; 8];
    items.copy_from_slice(&trailer[4..12]);
    Ok(Saved {
        saved_at_ms: u64::from_be_bytes(saved),
        items: u64::from_be_bytes(items),
        blocks,
    })
}

impl Saved<'_> {
    /// Calls `each` with every block's items, in order.
    pub fn for_each_block(
        &self,
        mut each: impl FnMut(Vec<SyncItem>),
    ) -> Result<(), StateFileError> {
        let mut b = self.blocks;
        let mut n = 0u64;
        while !b.is_empty() {
            if b.len() < 4 {
                return Err(StateFileError::Damaged("block length"));
            }
            let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            let Some(block) = b.get(4..4 + len) else {
                return Err(StateFileError::Damaged("block past the end"));
            };
            let items = wire::read_items(block).map_err(|_| StateFileError::Damaged("an item"))?;
            n += items.len() as u64;
            each(items);
            b = &b[4 + len..];
        }
        if n != self.items {
            return Err(StateFileError::Damaged("item count"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::key::FlowKey;
    use crate::proto::wire::Family;
    use crate::table::image::SessionImage;

    fn item(i: u32) -> SyncItem {
        let mut src = [0u8; 16];
        src[..4].copy_from_slice(&i.to_be_bytes());
        SyncItem::Session(SessionImage {
            key: FlowKey {
                src,
                dst: [9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                sport: 1,
                dport: 2,
                proto: 6,
                family: Family::V4,
                vpn: 0,
            },
            flags: 2,
            state: 3,
            app: 0,
            persist_hours: 0,
            l4: [i, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            counters: Default::default(),
            age_ms: i,
        })
    }

    fn file(n: u32) -> (Vec<SyncItem>, Vec<u8>) {
        let items: Vec<_> = (0..n).map(item).collect();
        let mut w = Writer::new(12345);
        for i in &items {
            w.push(i);
        }
        (items, w.finish())
    }

    #[test]
    fn round_trips_across_blocks() {
        let (items, bytes) = file(10_000);
        let saved = check(&bytes).unwrap();
        assert_eq!(saved.saved_at_ms, 12345);
        let mut back = Vec::new();
        saved.for_each_block(|b| back.extend(b)).unwrap();
        assert_eq!(back, items);
    }

    #[test]
    fn damage_anywhere_is_refused() {
        let (_, bytes) = file(50);
        for i in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            let r = check(&bad).and_then(|s| s.for_each_block(|_| {}));
            assert!(r.is_err(), "byte {i}");
        }
        for n in 0..bytes.len() {
            assert!(check(&bytes[..n]).is_err(), "{n} bytes");
        }
        let mut other = bytes.clone();
        other[5] = 2;
        assert!(matches!(check(&other), Err(StateFileError::Version(2))));
    }

    #[test]
    fn written_atomically() {
        let dir = std::env::temp_dir().join(format!("sessmgr-statefile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("startup.cfg.sessions");
        let (items, bytes) = file(3);
        write_atomic(&path, &bytes).unwrap();
        let read = std::fs::read(&path).unwrap();
        let mut back = Vec::new();
        check(&read)
            .unwrap()
            .for_each_block(|b| back.extend(b))
            .unwrap();
        assert_eq!(back, items);
        assert!(!path.with_extension("tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
