//! `TcpTrack` outside the state machine: the ten words the 64-byte session record keeps
//! (`L4Track::to_words`, table/record.rs), and the mark a connection gets when it is taken
//! over from another engine or restored from an earlier run (issue #16). A child of `tcp.rs`,
//! so it reads the private fields the machine owns.

use super::{SIDE_BE_LIBERAL, TcpTrack};

impl TcpTrack {
    /// The compact record's form (`L4Track::to_words`): the fields in declaration order, the
    /// four byte-sized ones in the last word.
    #[inline]
    pub fn to_words(&self) -> [u32; 10] {
        [
            self.end[0],
            self.end[1],
            self.maxend[0],
            self.maxend[1],
            self.maxwin[0],
            self.maxwin[1],
            self.maxack[0],
            self.maxack[1],
            self.last_end,
            u32::from_le_bytes([self.side[0], self.side[1], self.conn, self.last]),
        ]
    }

    #[inline]
    pub fn from_words(w: &[u32; 10]) -> TcpTrack {
        let [s0, s1, conn, last] = w[9].to_le_bytes();
        TcpTrack {
            end: [w[0], w[1]],
            maxend: [w[2], w[3]],
            maxwin: [w[4], w[5]],
            maxack: [w[6], w[7]],
            last_end: w[8],
            side: [s0, s1],
            conn,
            last,
        }
    }

    /// A connection taken over from another engine or an earlier run (failover, restart):
    /// its window positions are as old as the last synchronization, so both sides skip the
    /// window checks from now on, as conntrackd commits entries with window tracking off
    /// (its default `TCPWindowTracking Off` sets the kernel's BE_LIBERAL on both sides).
    pub fn pick_up(&mut self) {
        self.side[0] |= SIDE_BE_LIBERAL;
        self.side[1] |= SIDE_BE_LIBERAL;
    }
}
