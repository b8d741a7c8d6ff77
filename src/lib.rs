//! sessmgr: a stateful session engine for firewall appliances (H3C Comware "session
//! management"). See ARCHITECTURE.md for the structure and the invariants.
#![deny(unsafe_code)]

pub mod acl;
pub mod actors;
pub mod alarm;
pub mod alg;
pub mod arena;
pub mod config;
pub mod ctl;
pub mod drop;
pub mod export;
pub mod infocenter;
pub mod io;
pub mod mailbox;
pub mod pipeline;
pub mod proto;
pub mod replay;
pub mod sync;
pub mod table;
