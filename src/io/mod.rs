//! Packet sources and sinks. Offline capture files now; AF_PACKET and netmap back-ends join
//! them behind one trait with the runtime.

pub mod pcap;
