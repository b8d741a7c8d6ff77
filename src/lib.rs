//! sessmgr: a stateful session engine for firewall appliances (H3C Comware "session
//! management"). See ARCHITECTURE.md for the structure and the invariants.
#![deny(unsafe_code)]

pub mod drop;
pub mod proto;
