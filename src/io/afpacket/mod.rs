//! AF_PACKET back-end: one TPACKET_V3 receive ring per interface and core, spread over the cores
//! by a fanout group whose classic BPF program computes [`owner_core`](super::owner_core), and a
//! transmit socket with a mmapped `PACKET_TX_RING` per interface and core.
//!
//! Kernel references: Documentation/networking/packet_mmap.rst (TPACKET_V3 blocks, the
//! `block_status` hand-over, `PACKET_FANOUT`), packet(7) (`PACKET_IGNORE_OUTGOING`,
//! `PACKET_STATISTICS`, `PACKET_QDISC_BYPASS`).
//!
//! Things the operator (and the end-to-end tests) must know:
//! - Forwarded frames are copied from the receive ring's block straight into a slot of the
//!   output port's TX ring (TPACKET_V3 layout, TPACKET_V2 where the kernel refuses a V3 TX
//!   ring), and one `sendto(fd, NULL, 0, MSG_DONTWAIT)` per output port and batch sends them.
//!   There is no intermediate buffer: the one user-space copy goes from the receive block
//!   straight into the slot (`sendmmsg(2)` had none: the kernel read the frame from the block
//!   through an iovec). Copies of a forwarded frame in all: on a NIC two (the kernel's into
//!   the receive ring, ours into the slot; the kernel hands the slot's page to the driver,
//!   `tx::TxFill::Pages`); on veth and other virtual interfaces three (the kernel copies the slot into the
//!   buffer head, `Linear`, because a frame entering the stack again must not keep pointing into
//!   the ring; attaching the page there made veth copy it into a new page per frame, which cost
//!   more). With `sendmmsg(2)` it was two everywhere (into the receive ring; the kernel's copy
//!   from the block into a new buffer). True zero copy between two AF_PACKET rings is not
//!   possible: they are separate memory. Measured costs: docs/performance.md.
//! - A full TX ring (every slot still in flight) never blocks the core: the frame is dropped
//!   and counted in `tx_errors` ([`AfPacket::tx_ring_full`]), as is a frame longer than the
//!   output interface's MTU allows ([`AfPacket::tx_bad_length`]; the MTU is read when the port
//!   is opened). Each is an ordinary frame, so an offloaded
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
//! - `ring`: the mapped TPACKET_V3 receive ring and the walk over a block's frames;
//! - `config`: `AfPacketConfig`, `AfPacketError` and the checks of a configuration;
//! - `fanout`: the classic BPF program that steers frames to their core;
//! - `tx`: the mapped transmit ring: slots, their status hand-over and the kick;
//! - `socket`: opening the receive and transmit sockets of a port;
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
pub(crate) use socket::set_option;

#[cfg(test)]
mod tests;
