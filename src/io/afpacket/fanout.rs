//! The classic BPF program a fanout group runs to pick the core of each frame: the same XOR of
//! the address words as `owner_core`, so the kernel spreads frames over the cores exactly as
//! the engine would. Plain data built in safe code; `socket` hands it to the kernel.

// Classic BPF opcodes (include/uapi/linux/bpf_common.h, filter.h).
pub(super) const BPF_LD: u16 = 0x00;
pub(super) const BPF_ALU: u16 = 0x04;
pub(super) const BPF_JMP: u16 = 0x05;
pub(super) const BPF_RET: u16 = 0x06;
pub(super) const BPF_MISC: u16 = 0x07;
pub(super) const BPF_W: u16 = 0x00;
pub(super) const BPF_H: u16 = 0x08;
pub(super) const BPF_ABS: u16 = 0x20;
pub(super) const BPF_JEQ: u16 = 0x10;
pub(super) const BPF_K: u16 = 0x00;
pub(super) const BPF_X: u16 = 0x08;
pub(super) const BPF_XOR: u16 = 0xa0;
pub(super) const BPF_A: u16 = 0x10;
pub(super) const BPF_TAX: u16 = 0x00;

/// Offsets relative to the link-layer header. The fanout program runs before the packet
/// socket pushes the MAC header back, so on receive offset 0 is the network header; the
/// SKF_LL_OFF base addresses the Ethernet header in both directions.
const fn ll(off: u32) -> u32 {
    (libc::SKF_LL_OFF as u32).wrapping_add(off)
}

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The fanout program: the XOR of the source and destination address words, exactly
/// `owner_core` before its `% cores`, which the kernel applies (`result % members`). A failed
/// load (short frame) makes a classic BPF program return 0. VLAN: the kernel has already
/// stripped the outer tag, so single-tagged frames are steered by their IP addresses too.
pub(super) fn fanout_program() -> Vec<libc::sock_filter> {
    let ld_w = |off| insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, ll(off));
    let tax = insn(BPF_MISC | BPF_TAX, 0, 0, 0);
    let xor_x = insn(BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0);
    let ret_a = insn(BPF_RET | BPF_A, 0, 0, 0);
    // IPv4: source at 14 + 12, destination at 14 + 16.
    let v4 = [ld_w(26), tax, ld_w(30), xor_x, ret_a];
    // IPv6: the 8 address words from 14 + 8 to 14 + 40.
    let mut v6 = vec![ld_w(22), tax];
    for off in (26..50).step_by(4) {
        v6.extend([ld_w(off), xor_x, tax]);
    }
    v6.extend([ld_w(50), xor_x, ret_a]);
    let mut p = vec![
        insn(BPF_LD | BPF_H | BPF_ABS, 0, 0, ll(12)),
        insn(BPF_JMP | BPF_JEQ | BPF_K, 0, v4.len() as u8, 0x0800),
    ];
    p.extend(v4);
    p.push(insn(BPF_JMP | BPF_JEQ | BPF_K, 0, v6.len() as u8, 0x86dd));
    p.extend(v6);
    p.push(insn(BPF_RET | BPF_K, 0, 0, 0));
    p
}
