#![allow(unsafe_code)]
//! Transmission on the plain (ring-less) transmit socket of a port: one `send(2)` for a frame
//! handed over from another core, one `sendmmsg(2)` per output port and batch for the frames
//! the engine forwards. Both are non-blocking: a full queue is a counted error, never a
//! stalled core.

use crate::io::IoStats;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

pub(super) fn send_frame(fd: &OwnedFd, frame: &[u8]) -> io::Result<()> {
    // SAFETY: `frame` is a live byte slice; the socket is bound to its interface, so no address
    // is needed. MSG_DONTWAIT: a full queue is a counted error, never a stalled core.
    let rc = unsafe {
        libc::send(
            fd.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            libc::MSG_DONTWAIT,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Reused sendmmsg(2) vectors. They point into the current batch's frames only during
/// `send` and are emptied before it returns.
#[derive(Default)]
pub(super) struct TxBatch {
    iovs: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
}

// SAFETY: between calls both vectors are empty, so no pointer they held crosses threads.
unsafe impl Send for TxBatch {}

impl TxBatch {
    /// Sends `frames` out of `fd` in order, counting successes and failures in `stats`. A frame
    /// the kernel refuses is counted and skipped; the rest are still sent.
    pub(super) fn send<'f>(
        &mut self,
        fd: &OwnedFd,
        frames: impl Iterator<Item = &'f [u8]>,
        stats: &mut IoStats,
    ) {
        self.iovs.clear();
        self.iovs.extend(frames.map(|f| libc::iovec {
            iov_base: f.as_ptr().cast_mut().cast(),
            iov_len: f.len(),
        }));
        if self.iovs.is_empty() {
            return;
        }
        self.msgs.clear();
        for iov in &mut self.iovs {
            // SAFETY: mmsghdr is plain data; all-zero is a valid value (no address, no control).
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
            self.msgs.push(m);
        }
        let mut done = 0;
        while done < self.msgs.len() {
            let rest = &mut self.msgs[done..];
            // SAFETY: `rest` holds `rest.len()` initialised mmsghdr whose iovecs point to frames
            // that stay alive (and their blocks ours) until rx_batch returns the blocks, after
            // this call. The kernel only reads the frames and writes `msg_len`. MSG_DONTWAIT: a
            // full queue is a counted error, never a stalled core.
            let rc = unsafe {
                libc::sendmmsg(
                    fd.as_raw_fd(),
                    rest.as_mut_ptr(),
                    rest.len().min(1024) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if rc <= 0 {
                // The first remaining frame was refused: count it, go on with the next.
                stats.tx_errors += 1;
                done += 1;
                continue;
            }
            let sent = rc as usize;
            stats.tx_frames += sent as u64;
            stats.tx_bytes += self.iovs[done..done + sent]
                .iter()
                .map(|v| v.iov_len as u64)
                .sum::<u64>();
            done += sent;
        }
        self.msgs.clear();
        self.iovs.clear();
    }
}
