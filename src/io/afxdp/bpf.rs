#![allow(unsafe_code)]
//! The XDP side of the back-end: the six-instruction redirect program, hand-assembled here, and
//! the `bpf(2)` calls that create its XSKMAP, load it and attach it to an interface. No libbpf
//! and no C toolchain: the program is a constant array checked against the BPF instruction
//! set's encoding by the unit tests.
//!
//! The program (kernel Documentation/bpf/standardization/instruction-set.rst):
//! ```text
//! r2 = *(u32 *)(r1 + 16)      ; ctx->rx_queue_index
//! r1 = map_fd ll              ; the XSKMAP (BPF_PSEUDO_MAP_FD, two slots)
//! r3 = XDP_PASS               ; bpf_redirect_map's flags: the action when no socket is there
//! call bpf_redirect_map       ; helper 51
//! exit
//! ```
//! A frame on a queue with a socket in the map goes to that socket; any other frame goes to
//! the kernel stack as if no program were attached.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

// Opcode fields (instruction-set.rst), shared with the fast-path program (`fast_prog`).
pub(super) const BPF_LD: u8 = 0x00;
pub(super) const BPF_LDX: u8 = 0x01;
pub(super) const BPF_STX: u8 = 0x03;
pub(super) const BPF_ALU: u8 = 0x04;
pub(super) const BPF_JMP: u8 = 0x05;
pub(super) const BPF_ALU64: u8 = 0x07;
pub(super) const BPF_W: u8 = 0x00;
pub(super) const BPF_H: u8 = 0x08;
pub(super) const BPF_B: u8 = 0x10;
pub(super) const BPF_DW: u8 = 0x18;
pub(super) const BPF_IMM: u8 = 0x00;
pub(super) const BPF_MEM: u8 = 0x60;
pub(super) const BPF_ATOMIC: u8 = 0xc0;
pub(super) const BPF_K: u8 = 0x00;
pub(super) const BPF_X: u8 = 0x08;
pub(super) const BPF_ADD: u8 = 0x00;
pub(super) const BPF_AND: u8 = 0x50;
pub(super) const BPF_MOV: u8 = 0xb0;
pub(super) const BPF_END: u8 = 0xd0;
pub(super) const BPF_TO_BE: u8 = 0x08;
pub(super) const BPF_JA: u8 = 0x00;
pub(super) const BPF_JEQ: u8 = 0x10;
pub(super) const BPF_JGT: u8 = 0x20;
pub(super) const BPF_JNE: u8 = 0x50;
pub(super) const BPF_CALL: u8 = 0x80;
pub(super) const BPF_EXIT: u8 = 0x90;
/// `src_reg` of a 64-bit immediate load whose immediate is a map file descriptor.
pub(super) const BPF_PSEUDO_MAP_FD: u8 = 1;
const HELPER_REDIRECT_MAP: i32 = 51;
/// `offsetof(struct xdp_md, rx_queue_index)`.
const XDP_MD_RX_QUEUE_INDEX: i16 = 16;
pub(super) const XDP_PASS: i32 = 2;

// bpf(2) commands, map and program types, attach type (include/uapi/linux/bpf.h).
const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_MAP_TYPE_HASH: u32 = 1;
const BPF_MAP_TYPE_XSKMAP: u32 = 17;
const BPF_PROG_TYPE_XDP: u32 = 6;
const BPF_XDP: u32 = 37;
// include/uapi/linux/if_link.h
pub(super) const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
pub(super) const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

/// One BPF instruction as the kernel reads it (`struct bpf_insn`, 8 bytes, little endian on
/// the machines this runs on).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Insn {
    pub code: u8,
    /// `dst_reg` in the low nibble, `src_reg` in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

pub(super) const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

/// The redirect program for the XSKMAP whose descriptor is `map_fd`.
pub(super) fn redirect_program(map_fd: i32) -> [Insn; 6] {
    redirect_to_socket(1, map_fd)
}

/// Sends the frame to the AF_XDP socket of its receive queue in the XSKMAP `map_fd`, or to
/// the kernel's stack when the queue has none; `ctx` is the register holding the context.
/// The whole redirect program, and the fast-path program's slow path.
pub(super) fn redirect_to_socket(ctx: u8, map_fd: i32) -> [Insn; 6] {
    [
        insn(BPF_LDX | BPF_MEM | BPF_W, 2, ctx, XDP_MD_RX_QUEUE_INDEX, 0),
        insn(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd),
        // The upper 32 bits of the 64-bit immediate (a descriptor has none).
        insn(0, 0, 0, 0, 0),
        insn(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, XDP_PASS),
        insn(BPF_JMP | BPF_CALL, 0, 0, 0, HELPER_REDIRECT_MAP),
        insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
    ]
}

/// The program's bytes as the kernel receives them (for the encoding tests).
#[cfg(test)]
pub(super) fn program_bytes(prog: &[Insn]) -> Vec<u8> {
    prog.iter()
        .flat_map(|i| {
            let mut b = [0u8; 8];
            b[0] = i.code;
            b[1] = i.regs;
            b[2..4].copy_from_slice(&i.off.to_le_bytes());
            b[4..8].copy_from_slice(&i.imm.to_le_bytes());
            b
        })
        .collect()
}

/// Calls `bpf(cmd, attr, size_of::<A>())` and returns the result (a descriptor or 0).
///
/// `A` must be the leading part of `union bpf_attr` for `cmd`, zero-padded; the kernel reads
/// no more than the size given and treats the rest as zero.
fn bpf<A>(cmd: libc::c_long, attr: &mut A) -> io::Result<i32> {
    // SAFETY: `attr` is a live, exclusively borrowed `A` of the size passed; every pointer it
    // carries points to memory the caller keeps alive across this call (see the callers).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            (attr as *mut A).cast::<libc::c_void>(),
            size_of::<A>() as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as i32)
    }
}

fn owned(fd: i32) -> OwnedFd {
    // SAFETY: `fd` was just returned by bpf(2) and is owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

/// An XSKMAP with `entries` slots: key = receive queue, value = AF_XDP socket.
pub(super) fn create_xskmap(entries: u32) -> io::Result<OwnedFd> {
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"sessmgr_xsk");
    let mut attr = MapCreateAttr {
        map_type: BPF_MAP_TYPE_XSKMAP,
        key_size: 4,
        value_size: 4,
        max_entries: entries,
        map_name: name,
        ..Default::default()
    };
    bpf(BPF_MAP_CREATE, &mut attr).map(owned)
}

#[repr(C)]
struct MapElemAttr {
    map_fd: u32,
    pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// A hash map of `entries` keys of `key_size` bytes to values of `value_size` bytes (the fast
/// path's flow map, `fast_prog`), preallocated so that the program's look-ups and the
/// engine's updates never allocate.
pub(super) fn create_hash_map(entries: u32, key_size: u32, value_size: u32) -> io::Result<OwnedFd> {
    let mut name = [0u8; 16];
    name[..13].copy_from_slice(b"sessmgr_flows");
    let mut attr = MapCreateAttr {
        map_type: BPF_MAP_TYPE_HASH,
        key_size,
        value_size,
        max_entries: entries,
        map_name: name,
        ..Default::default()
    };
    bpf(BPF_MAP_CREATE, &mut attr).map(owned)
}

/// One element call on `map`: `key` and `value` are the addresses of the caller's key and
/// value buffers (0 = none), which must have the map's sizes and stay alive for the call.
/// Updates use BPF_ANY (flags 0): created or replaced.
fn map_elem(cmd: libc::c_long, map: &OwnedFd, key: u64, value: u64) -> io::Result<()> {
    let mut attr = MapElemAttr {
        map_fd: map.as_raw_fd() as u32,
        pad: 0,
        key,
        value,
        flags: 0,
    };
    bpf(cmd, &mut attr).map(|_| ())
}

/// An element call's result with "no such key" (ENOENT) as `Ok(false)`.
fn found(r: io::Result<()>) -> io::Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `map[key] = value`, created or replaced. Full map: E2BIG. (The callers pass `fast_prog`'s
/// fixed-size arrays, which have the map's sizes.)
pub(super) fn map_update(map: &OwnedFd, key: &[u8], value: &[u8]) -> io::Result<()> {
    map_elem(
        BPF_MAP_UPDATE_ELEM,
        map,
        key.as_ptr() as u64,
        value.as_ptr() as u64,
    )
}

/// Removes `key`; `Ok(false)` when it was not there.
pub(super) fn map_delete(map: &OwnedFd, key: &[u8]) -> io::Result<bool> {
    found(map_elem(BPF_MAP_DELETE_ELEM, map, key.as_ptr() as u64, 0))
}

/// Reads `key`'s value into `value` (exclusively borrowed); `Ok(false)` when the key is not
/// there.
pub(super) fn map_lookup(map: &OwnedFd, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
    found(map_elem(
        BPF_MAP_LOOKUP_ELEM,
        map,
        key.as_ptr() as u64,
        value.as_mut_ptr() as u64,
    ))
}

/// `map[queue] = socket`.
pub(super) fn xskmap_set(map: &OwnedFd, queue: u32, socket: &OwnedFd) -> io::Result<()> {
    let value = socket.as_raw_fd() as u32;
    // `queue` and `value` outlive the call.
    map_elem(
        BPF_MAP_UPDATE_ELEM,
        map,
        (&raw const queue) as u64,
        (&raw const value) as u64,
    )
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// Loads the redirect program for `map`. A refusal carries the verifier's log.
pub(super) fn load_program(map: &OwnedFd) -> io::Result<OwnedFd> {
    load(&redirect_program(map.as_raw_fd()))
}

/// Loads `prog` as an XDP program. A refusal carries the verifier's log.
pub(super) fn load(prog: &[Insn]) -> io::Result<OwnedFd> {
    let license = c"GPL"; // bpf_redirect_map is available to any license; GPL is customary.
    // Room for the verifier's account of a refused program of this size.
    let mut log = vec![0u8; 64 << 10];
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"sessmgr_xdp");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_XDP,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        prog_name: name,
        expected_attach_type: BPF_XDP,
        ..Default::default()
    };
    // `prog`, `license` and `log` outlive the call.
    match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => Ok(owned(fd)),
        Err(e) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            let text = text.trim();
            // The verifier's reason is at the end of its account.
            let tail = text
                .char_indices()
                .rev()
                .nth(1500)
                .map_or(text, |(i, _)| &text[i..]);
            if tail.is_empty() {
                Err(e)
            } else {
                Err(io::Error::new(e.kind(), format!("{e}; verifier: {tail}")))
            }
        }
    }
}

#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_ifindex: u32,
    attach_type: u32,
    flags: u32,
}

/// Attaches `prog` to interface `ifindex` in the mode `flags` names (driver or generic) as a
/// BPF link: the program stays attached exactly as long as the returned descriptor is open,
/// so a crashed engine leaves no program behind.
pub(super) fn attach(prog: &OwnedFd, ifindex: u32, flags: u32) -> io::Result<OwnedFd> {
    let mut attr = LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        target_ifindex: ifindex,
        attach_type: BPF_XDP,
        flags,
    };
    bpf(BPF_LINK_CREATE, &mut attr).map(owned)
}
