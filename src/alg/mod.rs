//! Application-level gateways (SPEC R1-R5) for multi-channel protocols: FTP, TFTP, SIP,
//! RTSP, H.323, PPTP. Each ALG follows its control session's payload and publishes relation
//! entries for the data channels it announces; the session table consults them on a miss.
//!
//! This module is filled in by the ALG issue; until then `replay` reports every frame's
//! `expect` list as empty and the first packet of a data channel as `new`.

pub mod ftp;
pub mod tftp;
