//! The few netmap definitions the runtime needs, as netmap_sys 0.1.4 declares them
//! (netmap.h / netmap_legacy.h, API 14 layouts). netmap_sys itself cannot be linked into the
//! release binary: its crate-type includes `dylib`, which rustc refuses to combine with
//! `panic = "abort"`. A test (`sys_matches_netmap_sys`) asserts these equal netmap_sys's.

pub const IFNAMSIZ: usize = 16;
pub const NETMAP_RING_MASK: i32 = 0x0fff;
pub const NR_REG_ONE_NIC: u32 = 4;
/// `_IOWR('i', 146, struct nmreq)`.
pub const NIOCREGIF: libc::c_ulong = 3_225_184_658;
/// `_IO('i', 148)`.
pub const NIOCTXSYNC: libc::c_uint = 27_028;
/// `_IO('i', 149)`.
pub const NIOCRXSYNC: libc::c_uint = 27_029;

/// The legacy registration request (netmap_legacy.h `struct nmreq`, 60 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nmreq {
    pub nr_name: [libc::c_char; IFNAMSIZ],
    pub nr_version: u32,
    pub nr_offset: u32,
    pub nr_memsize: u32,
    pub nr_tx_slots: u32,
    pub nr_rx_slots: u32,
    pub nr_tx_rings: u16,
    pub nr_rx_rings: u16,
    pub nr_ringid: u16,
    pub nr_cmd: u16,
    pub nr_arg1: u16,
    pub nr_arg2: u16,
    pub nr_arg3: u32,
    pub nr_flags: u32,
    pub spare2: [u32; 1],
}

const _: () = assert!(core::mem::size_of::<nmreq>() == 60);
