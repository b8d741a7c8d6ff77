//! Pure packet and protocol logic: no threads, no I/O, time passed in.

pub mod dccp;
pub mod frag;
pub mod icmp;
pub mod key;
pub mod rawip;
pub mod sctp;
pub mod tcp;
pub mod udp;
pub mod udplite;
pub mod wire;
