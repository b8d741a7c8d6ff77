//! One redirect program and XSKMAP per interface, shared by every core's instance: the first
//! core to open an interface creates and attaches them, the others reuse them, and the program
//! is detached when the last instance holding it is dropped (the BPF link closes).

use super::bpf::{XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, attach, create_xskmap, load_program};
use super::config::{AfXdpError, XdpAttach};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, Weak};

/// The program attached to one interface.
pub(super) struct Attachment {
    pub map: OwnedFd,
    /// Whether the driver's own XDP hook took the program (else the generic one).
    pub driver_mode: bool,
    _prog: OwnedFd,
    /// Closing the link detaches the program.
    _link: OwnedFd,
}

/// Interfaces (by index) with a live attachment in this process. Touched only when instances
/// are opened.
static ATTACHED: Mutex<Vec<(u32, Weak<Attachment>)>> = Mutex::new(Vec::new());

/// The interface's attachment, created on first use with an XSKMAP of `queues` entries.
pub(super) fn attachment(
    name: &str,
    ifindex: u32,
    queues: u32,
    how: XdpAttach,
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
    let prog = load_program(&map).map_err(|e| refused("bpf(BPF_PROG_LOAD, XDP)", e))?;
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
        driver_mode,
        _prog: prog,
        _link: link,
    });
    attached.push((ifindex, Arc::downgrade(&a)));
    Ok(a)
}
