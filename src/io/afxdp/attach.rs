//! One redirect program and XSKMAP per interface, shared by every core's instance: the first
//! core to open an interface creates and attaches them, the others reuse them, and the program
//! is detached when the last instance holding it is dropped (the BPF link closes).
//!
//! With the fast path on, every interface's program is the fast-path one (`fast_prog`) and
//! they all look up one flow map, shared by the process: its key names the ingress interface.

use super::bpf::{
    XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, attach, create_hash_map, create_xskmap, load,
    load_program,
};
use super::config::{AfXdpError, XdpAttach};
use super::fast_prog::{KEY_SIZE, VALUE_SIZE, fast_path_program};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, Weak};

/// The program attached to one interface.
pub(super) struct Attachment {
    pub map: OwnedFd,
    /// The fast path's flow map, when the program is the fast-path one.
    pub flows: Option<Arc<OwnedFd>>,
    /// Whether the driver's own XDP hook took the program (else the generic one).
    pub driver_mode: bool,
    _prog: OwnedFd,
    /// Closing the link detaches the program.
    _link: OwnedFd,
}

/// Interfaces (by index) with a live attachment in this process. Touched only when instances
/// are opened.
static ATTACHED: Mutex<Vec<(u32, Weak<Attachment>)>> = Mutex::new(Vec::new());

/// The process's flow map while a fast-path program uses it.
static FLOWS: Mutex<Weak<OwnedFd>> = Mutex::new(Weak::new());

/// The flow map, created with `entries` slots on first use.
fn flow_map(entries: u32) -> std::io::Result<Arc<OwnedFd>> {
    let mut flows = FLOWS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = flows.upgrade() {
        return Ok(m);
    }
    let m = Arc::new(create_hash_map(
        entries,
        KEY_SIZE as u32,
        VALUE_SIZE as u32,
    )?);
    *flows = Arc::downgrade(&m);
    Ok(m)
}

/// The interface's attachment, created on first use with an XSKMAP of `queues` entries;
/// with `fast_path` (the flow map's size) the program is the fast-path one.
pub(super) fn attachment(
    name: &str,
    ifindex: u32,
    queues: u32,
    how: XdpAttach,
    fast_path: Option<u32>,
) -> Result<Arc<Attachment>, AfXdpError> {
    let mut attached = ATTACHED.lock().unwrap_or_else(|e| e.into_inner());
    attached.retain(|(_, w)| w.strong_count() > 0);
    if let Some(a) = attached
        .iter()
        .find(|(i, _)| *i == ifindex)
        .and_then(|(_, w)| w.upgrade())
    {
        return Ok(a);
    }
    let refused = |step, e| AfXdpError::refused(name, step, e);
    let map = create_xskmap(queues).map_err(|e| refused("bpf(BPF_MAP_CREATE, XSKMAP)", e))?;
    let flows = match fast_path {
        Some(entries) => {
            Some(flow_map(entries).map_err(|e| refused("bpf(BPF_MAP_CREATE, HASH of flows)", e))?)
        }
        None => None,
    };
    let prog = match &flows {
        Some(f) => load(&fast_path_program(f.as_raw_fd(), map.as_raw_fd()))
            .map_err(|e| refused("bpf(BPF_PROG_LOAD, XDP fast path)", e))?,
        None => load_program(&map).map_err(|e| refused("bpf(BPF_PROG_LOAD, XDP)", e))?,
    };
    let (link, driver_mode) = match how {
        XdpAttach::Driver => (
            attach(&prog, ifindex, XDP_FLAGS_DRV_MODE)
                .map_err(|e| refused("bpf(BPF_LINK_CREATE, XDP driver mode)", e))?,
            true,
        ),
        XdpAttach::Generic => (
            attach(&prog, ifindex, XDP_FLAGS_SKB_MODE)
                .map_err(|e| refused("bpf(BPF_LINK_CREATE, XDP generic mode)", e))?,
            false,
        ),
        XdpAttach::Auto => match attach(&prog, ifindex, XDP_FLAGS_DRV_MODE) {
            Ok(link) => (link, true),
            Err(_) => (
                attach(&prog, ifindex, XDP_FLAGS_SKB_MODE)
                    .map_err(|e| refused("bpf(BPF_LINK_CREATE, XDP generic mode)", e))?,
                false,
            ),
        },
    };
    let a = Arc::new(Attachment {
        map,
        flows,
        driver_mode,
        _prog: prog,
        _link: link,
    });
    attached.push((ifindex, Arc::downgrade(&a)));
    Ok(a)
}
