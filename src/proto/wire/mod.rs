//! Zero-copy packet parsing: link layer, IPv4/IPv6, and the transport headers session
//! management needs. Every slice returned borrows the frame; nothing is allocated.
//!
//! Never panics: every malformed case is a named `DropReason`.
//!
//! A capture taken with a snap length (`tcpdump -s 96`) holds only the start of long frames:
//! `parse_ip_captured` then reads the headers that were kept and takes the lengths on the
//! wire from them, as tcpdump and zeek do, so the frame is tracked as it travelled.
//!
//! One file per layer, each importing only the files below it, so the parse runs down the
//! stack and no file reaches back up:
//! - `types`: the parsed forms (`Packet`, `L4`, `IpInfo`, ...) and the checked byte readers;
//! - `link`: link-layer headers and VLAN tags, down to the IP datagram (`parse_link`);
//! - `transport`: the TCP, UDP, UDP-Lite, ICMP, SCTP and DCCP headers;
//! - `ip`: IPv4, IPv6 and their extension headers and fragments (`parse_ip`,
//!   `parse_ip_captured`), handing a whole datagram to `transport`;
//! - `quote`: the packet inside an ICMP error (`parse_quoted`), read with `ip` and `transport`.
//!
//! This file only names the public face; every path stays `proto::wire::X`.

mod ip;
mod link;
mod quote;
mod transport;
mod types;

pub use ip::{parse_ip, parse_ip_captured};
pub use link::{ethertype, parse_link};
pub use quote::parse_quoted;
pub use transport::SctpChunks;
pub use types::{
    Addr, DCCP_TYPE_UNKNOWN, Datagram, DccpHeader, Family, Fragment, Frame, IcmpMessage, IpInfo,
    L4, LinkType, Packet, Ports, SctpChunk, SctpHeader, TcpSegment, ipproto, tcpflag,
};

#[cfg(test)]
mod tests;
