//! The fast-path program: the redirect program of `bpf.rs` with a look-up in front of it.
//! A frame of a flow the engine has offloaded (an established IPv4 TCP or UDP session, in one
//! direction, arriving on one interface) is counted in the flow's map entry and sent straight
//! out of the interface the entry names (`bpf_redirect`), in the kernel, without reaching the
//! engine; every other frame goes to the AF_XDP socket exactly as without the fast path.
//!
//! What stays with the engine, by construction: anything not Ethernet + IPv4 with a 20-byte
//! header, every fragment, every protocol but TCP and UDP, and every TCP segment with SYN, FIN
//! or RST set, so the engine sees a connection open and close and keeps its state machine
//! exact at both ends (as the kernel's flowtable hands FIN and RST back to conntrack).
//!
//! Hand-assembled like the redirect program (no libbpf, no C toolchain; instruction encodings
//! from Documentation/bpf/standardization/instruction-set.rst). The jumps are written with
//! labels and resolved here; the unit tests check the encodings and the verifier (root)
//! accepts the program.
//!
//! ```text
//!         r6 = r1                            ; ctx
//!         r2 = ctx->data ; r3 = ctx->data_end
//!         if data + 34 > data_end goto slow  ; Ethernet + IPv4 header
//!         if ethertype != 0x0800 goto slow
//!         if version/IHL != 0x45 goto slow   ; no options
//!         if MF or a fragment offset goto slow
//!         r5 = protocol
//!         if r5 == 17 goto udp
//!         if r5 != 6 goto slow
//!         if data + 54 > data_end goto slow  ; + the 20-byte TCP header
//!         if tcp flags & (FIN|SYN|RST) goto slow
//!         goto key
//! udp:    if data + 42 > data_end goto slow  ; + the UDP header
//! key:    stack[-20..0] = ingress ifindex, saddr, daddr, ports, protocol
//!         r7 = be16(IPv4 total length)
//!         r0 = bpf_map_lookup_elem(flows, key)
//!         if r0 == 0 goto slow
//!         lock value.packets += 1 ; lock value.bytes += r7
//!         return bpf_redirect(value.out_ifindex, 0)
//! slow:   return bpf_redirect_map(xskmap, ctx->rx_queue_index, XDP_PASS)  ; bpf::redirect_to_socket
//! ```

use super::bpf::{
    BPF_ADD, BPF_ALU, BPF_ALU64, BPF_AND, BPF_ATOMIC, BPF_B, BPF_CALL, BPF_DW, BPF_END, BPF_EXIT,
    BPF_H, BPF_IMM, BPF_JA, BPF_JEQ, BPF_JGT, BPF_JMP, BPF_JNE, BPF_K, BPF_LD, BPF_LDX, BPF_MEM,
    BPF_MOV, BPF_PSEUDO_MAP_FD, BPF_STX, BPF_TO_BE, BPF_W, BPF_X, Insn, insn, redirect_to_socket,
};

/// `imm` of an atomic instruction: fetch-less add.
const ATOMIC_ADD: i32 = 0x00;

// Helpers (include/uapi/linux/bpf.h, `___BPF_FUNC_MAPPER`).
const MAP_LOOKUP_ELEM: i32 = 1;
const REDIRECT: i32 = 23;

// `struct xdp_md` offsets.
const MD_DATA: i16 = 0;
const MD_DATA_END: i16 = 4;
const MD_INGRESS_IFINDEX: i16 = 12;

/// The flow map's key: ingress interface, then the frame's IPv4 addresses, ports and protocol
/// as they appear on the wire (network byte order), the protocol in a whole 32-bit word.
pub(super) const KEY_SIZE: usize = 20;
/// The flow map's value: out interface (u32), padding, then the packets and IPv4 bytes the
/// program forwarded (u64 each, updated atomically).
pub(super) const VALUE_SIZE: usize = 24;

/// Frame offsets: Ethernet header 14 bytes, then the IPv4 header.
const ETHERTYPE: i16 = 12;
const IP: i16 = 14;

/// A jump whose target is a label, resolved by `Asm::finish`.
enum Target {
    Slow,
    Udp,
    Key,
}

struct Asm {
    code: Vec<Insn>,
    jumps: Vec<(usize, Target)>,
    labels: [Option<usize>; 3],
}

impl Asm {
    fn op(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.code.push(insn(code, dst, src, off, imm));
    }
    fn jump(&mut self, code: u8, dst: u8, src: u8, imm: i32, to: Target) {
        self.jumps.push((self.code.len(), to));
        self.op(code, dst, src, 0, imm);
    }
    fn label(&mut self, t: Target) {
        self.labels[t as usize] = Some(self.code.len());
    }
    fn map_fd(&mut self, dst: u8, fd: i32) {
        self.op(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
        self.op(0, 0, 0, 0, 0);
    }
    /// `if data + len > data_end goto slow` (r2 = data, r3 = data_end, r4 scratch).
    fn need(&mut self, len: i32) {
        self.op(BPF_ALU64 | BPF_MOV | BPF_X, 4, 2, 0, 0);
        self.op(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, len);
        self.jump(BPF_JMP | BPF_JGT | BPF_X, 4, 3, 0, Target::Slow);
    }
    fn finish(mut self) -> Vec<Insn> {
        for (at, to) in std::mem::take(&mut self.jumps) {
            let target = self.labels[to as usize].expect("every label is placed");
            // A jump's offset counts from the instruction after it.
            self.code[at].off = (target as i64 - at as i64 - 1) as i16;
        }
        self.code
    }
}

/// The fast-path program for the flow map `flows_fd` and the XSKMAP `xsk_fd`.
pub(super) fn fast_path_program(flows_fd: i32, xsk_fd: i32) -> Vec<Insn> {
    let mut a = Asm {
        code: Vec::with_capacity(64),
        jumps: Vec::new(),
        labels: [None; 3],
    };
    a.op(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0);
    a.op(BPF_LDX | BPF_MEM | BPF_W, 2, 6, MD_DATA, 0);
    a.op(BPF_LDX | BPF_MEM | BPF_W, 3, 6, MD_DATA_END, 0);
    a.need(i32::from(IP) + 20);
    // The ethertype as a little-endian load of the wire's big-endian 0x0800.
    a.op(BPF_LDX | BPF_MEM | BPF_H, 4, 2, ETHERTYPE, 0);
    a.jump(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0x0008, Target::Slow);
    a.op(BPF_LDX | BPF_MEM | BPF_B, 4, 2, IP, 0);
    a.jump(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0x45, Target::Slow);
    // Flags and fragment offset: MF (0x2000) and the offset (0x1fff), read little-endian.
    a.op(BPF_LDX | BPF_MEM | BPF_H, 4, 2, IP + 6, 0);
    a.op(BPF_ALU64 | BPF_AND | BPF_K, 4, 0, 0, 0xff3f);
    a.jump(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, Target::Slow);
    a.op(BPF_LDX | BPF_MEM | BPF_B, 5, 2, IP + 9, 0);
    a.jump(BPF_JMP | BPF_JEQ | BPF_K, 5, 0, 17, Target::Udp);
    a.jump(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 6, Target::Slow);
    a.need(i32::from(IP) + 40);
    // TCP flags: FIN 0x01, SYN 0x02, RST 0x04 (RFC 9293 §3.1).
    a.op(BPF_LDX | BPF_MEM | BPF_B, 4, 2, IP + 33, 0);
    a.op(BPF_ALU64 | BPF_AND | BPF_K, 4, 0, 0, 0x07);
    a.jump(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, Target::Slow);
    a.jump(BPF_JMP | BPF_JA, 0, 0, 0, Target::Key);
    a.label(Target::Udp);
    a.need(i32::from(IP) + 28);
    a.label(Target::Key);
    a.op(BPF_LDX | BPF_MEM | BPF_W, 4, 6, MD_INGRESS_IFINDEX, 0);
    a.op(BPF_STX | BPF_MEM | BPF_W, 10, 4, -20, 0);
    for (i, from) in [IP + 12, IP + 16, IP + 20].into_iter().enumerate() {
        a.op(BPF_LDX | BPF_MEM | BPF_W, 4, 2, from, 0);
        a.op(BPF_STX | BPF_MEM | BPF_W, 10, 4, -16 + 4 * i as i16, 0);
    }
    a.op(BPF_STX | BPF_MEM | BPF_W, 10, 5, -4, 0);
    a.op(BPF_LDX | BPF_MEM | BPF_H, 7, 2, IP + 2, 0);
    a.op(BPF_ALU | BPF_END | BPF_TO_BE, 7, 0, 0, 16);
    a.map_fd(1, flows_fd);
    a.op(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0);
    a.op(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -20);
    a.op(BPF_JMP | BPF_CALL, 0, 0, 0, MAP_LOOKUP_ELEM);
    a.jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0, Target::Slow);
    a.op(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 1);
    a.op(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 1, 8, ATOMIC_ADD);
    a.op(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 7, 16, ATOMIC_ADD);
    a.op(BPF_LDX | BPF_MEM | BPF_W, 1, 0, 0, 0);
    a.op(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0);
    a.op(BPF_JMP | BPF_CALL, 0, 0, 0, REDIRECT);
    a.op(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    a.label(Target::Slow);
    a.code.extend(redirect_to_socket(6, xsk_fd));
    a.finish()
}

/// A one-way flow as the program looks it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct FlowKeyV4 {
    pub ifindex: u32,
    /// Addresses and ports as on the wire.
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
}

impl FlowKeyV4 {
    /// The key's bytes as the program writes them on its stack.
    pub(super) fn bytes(&self) -> [u8; KEY_SIZE] {
        let mut k = [0u8; KEY_SIZE];
        k[0..4].copy_from_slice(&self.ifindex.to_ne_bytes());
        k[4..8].copy_from_slice(&self.src);
        k[8..12].copy_from_slice(&self.dst);
        k[12..14].copy_from_slice(&self.sport.to_be_bytes());
        k[14..16].copy_from_slice(&self.dport.to_be_bytes());
        // The protocol byte stored as a 32-bit word: its low byte first in memory.
        k[16..20].copy_from_slice(&u32::from(self.proto).to_ne_bytes());
        k
    }
}

/// A new entry's value: the out interface, counters at zero.
pub(super) fn value(out_ifindex: u32) -> [u8; VALUE_SIZE] {
    let mut v = [0u8; VALUE_SIZE];
    v[0..4].copy_from_slice(&out_ifindex.to_ne_bytes());
    v
}

/// The packets and bytes in a value read back.
pub(super) fn counts(v: &[u8; VALUE_SIZE]) -> (u64, u64) {
    let word = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&v[i..i + 8]);
        u64::from_ne_bytes(b)
    };
    (word(8), word(16))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Every jump lands inside the program and on an instruction, not on the second half of
    /// a 64-bit load; the program ends with an exit and starts by saving the context.
    #[test]
    fn jumps_land_on_instructions_and_both_paths_exit() {
        let p = fast_path_program(5, 6);
        let halves: Vec<usize> = p
            .iter()
            .enumerate()
            .filter(|(_, i)| i.code == BPF_LD | BPF_DW | BPF_IMM)
            .map(|(n, _)| n + 1)
            .collect();
        for (n, i) in p.iter().enumerate() {
            let class = i.code & 0x07;
            let op = i.code & 0xf0;
            if class == BPF_JMP && op != BPF_CALL && op != BPF_EXIT && !halves.contains(&n) {
                let to = n as i64 + 1 + i64::from(i.off);
                assert!((0..p.len() as i64).contains(&to), "insn {n} jumps to {to}");
                assert!(!halves.contains(&(to as usize)), "insn {n} lands mid-load");
            }
        }
        assert_eq!(p.last().map(|i| i.code), Some(BPF_JMP | BPF_EXIT));
        assert_eq!(p[0], insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0));
        assert_eq!(p.iter().filter(|i| i.code == BPF_JMP | BPF_EXIT).count(), 2);
        // The two maps: the flows in the look-up, the sockets on the slow path.
        let fds: Vec<i32> = p
            .iter()
            .filter(|i| i.code == BPF_LD | BPF_DW | BPF_IMM)
            .map(|i| i.imm)
            .collect();
        assert_eq!(fds, [5, 6]);
    }

    #[test]
    fn instructions_encode_as_the_instruction_set_says() {
        let p = fast_path_program(5, 6);
        let bytes = super::super::bpf::program_bytes(&p);
        let find = |code: u8| p.iter().position(|i| i.code == code).expect("present");
        // lock *(u64 *)(r0 + 8) += r1: BPF_STX (3) | BPF_ATOMIC (0xc0) | BPF_DW (0x18) = 0xdb; dst 0, src 1.
        let at = find(0xdb) * 8;
        assert_eq!(&bytes[at..at + 8], &[0xdb, 0x10, 8, 0, 0, 0, 0, 0]);
        // be16 r7: BPF_ALU (4) | BPF_END (0xd0) | BPF_TO_BE (0x08) = 0xdc, imm 16.
        let at = find(0xdc) * 8;
        assert_eq!(&bytes[at..at + 8], &[0xdc, 0x07, 0, 0, 16, 0, 0, 0]);
        // if r4 > r3 (packet end) goto slow: BPF_JMP | BPF_JGT | BPF_X = 0x2d, dst 4, src 3.
        assert_eq!(p[find(0x2d)].regs, 0x34);
    }

    #[test]
    fn a_key_is_laid_out_as_the_program_stores_it() {
        let k = FlowKeyV4 {
            ifindex: 7,
            src: [198, 18, 0, 1],
            dst: [198, 18, 1, 2],
            sport: 40000,
            dport: 80,
            proto: 6,
        };
        let b = k.bytes();
        assert_eq!(&b[0..4], &7u32.to_ne_bytes());
        assert_eq!(&b[4..12], &[198, 18, 0, 1, 198, 18, 1, 2]);
        assert_eq!(&b[12..16], &[0x9c, 0x40, 0, 80]);
        assert_eq!(b[16], 6);
        assert_eq!(&b[17..], &[0, 0, 0]);
        let mut v = value(9);
        assert_eq!(counts(&v), (0, 0));
        v[8] = 3;
        v[16] = 200;
        assert_eq!(counts(&v), (3, 200));
        assert_eq!(&v[0..4], &9u32.to_ne_bytes());
    }
}
