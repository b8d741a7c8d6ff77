//! An in-memory back-end for tests: frames queued per port go in, forwarded frames come out.

use super::{Action, BatchHandler, IoMode, IoStats, PacketIo, PortId, peer};
use crate::proto::wire::LinkType;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Frames a `MemIo` sent, with their port; shared so a test can look while a core runs.
pub type SentFrames = Arc<Mutex<Vec<(PortId, Vec<u8>)>>>;

/// Frames waiting to be received and frames sent, per port.
pub struct MemIo {
    link: LinkType,
    mode: IoMode,
    rx: VecDeque<(PortId, Vec<u8>, u64)>,
    /// Every frame sent, with the port it left by (a test-only back-end may lock: nothing
    /// else ever contends for it).
    sent: SentFrames,
    stats: IoStats,
    // Reused per batch: no allocation once warm.
    actions: Vec<Action>,
    ports: Vec<PortId>,
    taken: Vec<(PortId, Vec<u8>, u64)>,
}

impl MemIo {
    pub fn new(link: LinkType, mode: IoMode) -> MemIo {
        MemIo {
            link,
            mode,
            rx: VecDeque::new(),
            sent: SentFrames::default(),
            stats: IoStats::default(),
            actions: Vec::new(),
            ports: Vec::new(),
            taken: Vec::new(),
        }
    }

    /// Queues a frame to be received on `port` at `ts_ns`.
    pub fn inject(&mut self, port: PortId, frame: &[u8], ts_ns: u64) {
        self.rx.push_back((port, frame.to_vec(), ts_ns));
    }

    pub fn pending(&self) -> usize {
        self.rx.len()
    }

    /// The frames sent so far, shared.
    pub fn sent(&self) -> SentFrames {
        self.sent.clone()
    }

    fn record(&mut self, port: PortId, frame: Vec<u8>) {
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += frame.len() as u64;
        if let Ok(mut sent) = self.sent.lock() {
            sent.push((port, frame));
        }
    }
}

impl PacketIo for MemIo {
    fn link_type(&self) -> LinkType {
        self.link
    }

    /// Time here is what the test stamps on its frames: idle turns do not move it.
    fn idle_now_ns(&self) -> Option<u64> {
        None
    }

    fn rx_batch(
        &mut self,
        max: usize,
        _timeout_ms: i32,
        handler: &mut BatchHandler<'_>,
    ) -> std::io::Result<usize> {
        // One batch shares one timestamp (that of its first frame), as on a live ring.
        let Some(&(_, _, now)) = self.rx.front() else {
            return Ok(0);
        };
        self.taken.clear();
        while self.taken.len() < max {
            match self.rx.pop_front() {
                Some(f) => self.taken.push(f),
                None => break,
            }
        }
        let n = self.taken.len();
        self.ports.clear();
        self.ports.extend(self.taken.iter().map(|f| f.0));
        self.actions.clear();
        self.actions.resize(n, Action::Drop);
        let frames: Vec<&[u8]> = self.taken.iter().map(|f| &f.1[..]).collect();
        handler(&frames, &self.ports, now, &mut self.actions);
        let taken = std::mem::take(&mut self.taken);
        for (i, (port, data, _)) in taken.iter().enumerate() {
            self.stats.rx_frames += 1;
            self.stats.rx_bytes += data.len() as u64;
            if self.mode == IoMode::Inline && self.actions[i] == Action::Forward {
                let (port, frame) = (peer(*port), data.clone());
                self.record(port, frame);
            }
        }
        self.taken = taken;
        Ok(n)
    }

    fn send(&mut self, port: PortId, frame: &[u8]) -> std::io::Result<()> {
        self.record(port, frame.to_vec());
        Ok(())
    }

    fn stats(&self) -> IoStats {
        self.stats
    }
}
