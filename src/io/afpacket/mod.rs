//! AF_PACKET back-end: one TPACKET_V3 receive ring per interface and core, spread over the cores
//! by a fanout group whose classic BPF program computes [`owner_core`](super::owner_core), and a
//! plain (ring-less) transmit socket per interface.
//!
//! Kernel references: Documentation/networking/packet_mmap.rst (TPACKET_V3 blocks, the
//! `block_status` hand-over, `PACKET_FANOUT`), packet(7) (`PACKET_IGNORE_OUTGOING`,
//! `PACKET_STATISTICS`, `PACKET_QDISC_BYPASS`).
//!
//! Things the operator (and the end-to-end tests) must know:
//! - Forwarded frames leave with one `sendmmsg(2)` per output port and batch (measured: 1.7x
//!   the rate of one `send(2)` per frame on veth). Each is an ordinary frame, so an offloaded
//!   super-frame (GSO/TSO/GRO, up to 64 KiB) cannot be forwarded: the kernel refuses frames
//!   above the MTU. Turn those
//!   offloads off on the bridged links (`ethtool -K IF gro off gso off tso off`), and on veth
//!   hosts also `tx off`: a frame sent with a partial checksum reaches us without its checksum.
//! - In TPACKET_V3 the kernel packs variable-length frames into blocks: `frame_size` only enters
//!   the ring geometry check (`tp_frame_nr`); a frame is truncated only when it does not fit in a
//!   block. A truncated frame (`tp_snaplen < tp_len`) is shown to the engine but never forwarded
//!   (counted in `tx_errors` and in [`AfPacket::truncated_frames`]).
//! - The kernel strips the (outer) VLAN tag before packet sockets see a frame and reports it in
//!   the frame header; we write it back in place, so the engine sees and forwards the frame as
//!   it was on the wire.
//! - Fanout members are numbered in joining order and the kernel sends a frame to member
//!   `program result % members`: [`AfPacket::open_all`] opens the cores in order so that member
//!   `i` is core `i`. After a link flap the kernel re-links members in a different order, and
//!   QinQ or non-IP frames all go to member 0: the engine hands misplaced frames over itself.
//!
//! Files, each importing only those listed before it (`unsafe` lives in all but `fanout`):
//! - `ring`: the mapped TPACKET_V3 ring and the walk over a block's frames;
//! - `config`: `AfPacketConfig`, `AfPacketError` and the checks of a configuration;
//! - `fanout`: the classic BPF program that steers frames to their core;
//! - `socket`: opening the receive and transmit sockets of a port;
//! - `tx`: `send(2)` and the batched `sendmmsg(2)`;
//! - `backend`: `AfPacket` and its `PacketIo` implementation.
//!
//! This file only names the public face; every path stays `io::afpacket::X`.

mod backend;
mod config;
mod fanout;
mod ring;
mod socket;
mod tx;

pub use backend::AfPacket;
pub use config::{AfPacketConfig, AfPacketError};

#[cfg(test)]
mod tests;
