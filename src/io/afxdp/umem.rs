//! The UMEM's frame accounting: which frames are ours to hand out. Every frame is at all times
//! in exactly one place: this pool, a fill ring, an RX ring, a batch being processed, a TX ring
//! or a completion ring. A frame leaves the pool for a fill ring (or a frame to send) and comes
//! back when the engine drops it or the completion ring returns it after transmission.

/// The free frames of one core's UMEM, by their offset in it.
pub(super) struct FramePool {
    free: Vec<u64>,
    frame_size: u64,
    frames: u64,
}

impl FramePool {
    /// `frames` frames of `frame_size` bytes (a power of two), all free.
    pub(super) fn new(frames: u32, frame_size: u32) -> FramePool {
        let frame_size = u64::from(frame_size);
        FramePool {
            // Handed out from the end: the lowest frames first.
            free: (0..u64::from(frames))
                .rev()
                .map(|i| i * frame_size)
                .collect(),
            frame_size,
            frames: u64::from(frames),
        }
    }

    pub(super) fn take(&mut self) -> Option<u64> {
        self.free.pop()
    }

    /// Returns the frame holding `addr`: a descriptor's address points at the data, somewhere
    /// after the frame's start (the kernel's headroom), so it is rounded down. An address
    /// outside the UMEM (a kernel bug, or a double return caught by the length check) is
    /// refused.
    pub(super) fn give_back(&mut self, addr: u64) -> bool {
        let base = addr & !(self.frame_size - 1);
        if base / self.frame_size >= self.frames || self.free.len() as u64 >= self.frames {
            return false;
        }
        self.free.push(base);
        true
    }

    pub(super) fn len(&self) -> usize {
        self.free.len()
    }
}
