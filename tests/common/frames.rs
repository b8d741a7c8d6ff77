//! Raw Ethernet/IPv4 frames and a pcap writer, for replay tests that need a capture with a
//! precise shape (a reply split over segments, a retransmission) no program produces on
//! demand. Checksums: the IPv4 header's is computed; the engine does not verify TCP/UDP ones
//! (nf_conntrack_checksum=0 in the oracles, the same here).

use std::path::Path;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    // DF, no fragment offset.
    ipv4_with(src, dst, proto, 0, 0x4000, l4)
}

/// An Ethernet/IPv4 frame with identification `id` and flags/fragment offset field `frag`.
fn ipv4_with(src: [u8; 4], dst: [u8; 4], proto: u8, id: u16, frag: u16, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14];
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let total = (20 + l4.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[6..8].copy_from_slice(&frag.to_be_bytes());
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let sum: u32 = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    let csum = !(((folded & 0xffff) + (folded >> 16)) as u16);
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f
}

/// An Ethernet/IPv4/TCP frame.
#[allow(clippy::too_many_arguments)]
pub fn tcp4(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&65535u16.to_be_bytes());
    t.extend_from_slice(payload);
    ipv4(src, dst, 6, &t)
}

/// An Ethernet/IPv4 ICMP echo request with identifier `id` (a session of its own per `id`),
/// its ICMP checksum computed.
pub fn echo4(src: [u8; 4], dst: [u8; 4], id: u16) -> Vec<u8> {
    let mut icmp = [8u8, 0, 0, 0, 0, 0, 0, 1];
    icmp[4..6].copy_from_slice(&id.to_be_bytes());
    let sum = (8u32 << 8) + u32::from(id) + 1;
    let folded = (sum & 0xffff) + (sum >> 16);
    icmp[2..4].copy_from_slice(&(!(folded as u16)).to_be_bytes());
    ipv4(src, dst, 1, &icmp)
}

/// An Ethernet/IPv4/UDP frame.
pub fn udp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = vec![0u8; 8];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(payload);
    ipv4(src, dst, 17, &u)
}

/// An Ethernet/IPv4 enhanced GRE frame (RFC 2637 §4.1: PPTP's data channel) to call ID
/// `call`, with a sequence number and `payload` (a PPP frame).
pub fn gre4(src: [u8; 4], dst: [u8; 4], call: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut g = vec![0x30, 0x01, 0x88, 0x0b];
    g.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    g.extend_from_slice(&call.to_be_bytes());
    g.extend_from_slice(&seq.to_be_bytes());
    g.extend_from_slice(payload);
    ipv4(src, dst, 47, &g)
}

/// An Ethernet/IPv4 fragment: `data` at byte `offset` (a multiple of 8) of datagram `id`'s
/// payload; `more`: more fragments follow.
pub fn ipv4_fragment(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    id: u16,
    offset: usize,
    more: bool,
    data: &[u8],
) -> Vec<u8> {
    let field = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
    ipv4_with(src, dst, proto, id, field, data)
}

/// An Ethernet/IPv6 fragment (a Fragment header after the fixed header): `data` at byte
/// `offset` of datagram `id`'s payload, whose upper layer is `next`.
pub fn ipv6_fragment(
    src: [u8; 16],
    dst: [u8; 16],
    next: u8,
    id: u32,
    offset: usize,
    more: bool,
    data: &[u8],
) -> Vec<u8> {
    let mut f = vec![0u8; 14];
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x86, 0xdd]);
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[44, 64]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    let field = (offset as u16) | u16::from(more);
    f.extend_from_slice(&[next, 0]);
    f.extend_from_slice(&field.to_be_bytes());
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// A UDP datagram (header, then `payload`) as fragments of at most `size` bytes of data each
/// (a multiple of 8), IPv4 with identification `id`.
pub fn udp4_fragments(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    id: u16,
    payload: &[u8],
    size: usize,
) -> Vec<Vec<u8>> {
    let datagram = udp_datagram(sport, dport, payload);
    pieces(&datagram, size)
        .map(|(at, more, d)| ipv4_fragment(src, dst, 17, id, at, more, d))
        .collect()
}

/// `udp4_fragments` over IPv6.
pub fn udp6_fragments(
    src: [u8; 16],
    sport: u16,
    dst: [u8; 16],
    dport: u16,
    id: u32,
    payload: &[u8],
    size: usize,
) -> Vec<Vec<u8>> {
    let datagram = udp_datagram(sport, dport, payload);
    pieces(&datagram, size)
        .map(|(at, more, d)| ipv6_fragment(src, dst, 17, id, at, more, d))
        .collect()
}

fn udp_datagram(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = vec![0u8; 8];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(payload);
    u
}

/// (offset, more, data) of each fragment of `datagram` cut every `size` bytes.
fn pieces(datagram: &[u8], size: usize) -> impl Iterator<Item = (usize, bool, &[u8])> {
    let n = datagram.len().div_ceil(size);
    datagram
        .chunks(size)
        .enumerate()
        .map(move |(i, d)| (i * size, i + 1 < n, d))
}

/// Writes `frames` as a pcap (Ethernet), each at its own time (microseconds since the epoch):
/// captures for tests whose point is time (aging, periodic logs).
pub fn write_pcap_timed(path: &Path, frames: impl IntoIterator<Item = (u64, Vec<u8>)>) {
    use std::io::Write as _;
    let f = std::fs::File::create(path).expect("create pcap");
    let mut out = std::io::BufWriter::new(f);
    let mut head = Vec::new();
    head.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    head.extend_from_slice(&2u16.to_le_bytes());
    head.extend_from_slice(&4u16.to_le_bytes());
    head.extend_from_slice(&[0u8; 8]);
    head.extend_from_slice(&65535u32.to_le_bytes());
    head.extend_from_slice(&1u32.to_le_bytes());
    out.write_all(&head).expect("write pcap");
    for (us, frame) in frames {
        let mut rec = Vec::with_capacity(16 + frame.len());
        rec.extend_from_slice(&((us / 1_000_000) as u32).to_le_bytes());
        rec.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        rec.extend_from_slice(&frame);
        out.write_all(&rec).expect("write pcap");
    }
    out.flush().expect("write pcap");
}

/// Writes `frames` as a pcap (Ethernet), one millisecond apart.
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0u8; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        let ms = 1_000 + i as u32;
        out.extend_from_slice(&(1_700_000_000 + ms / 1000).to_le_bytes());
        out.extend_from_slice(&((ms % 1000) * 1000).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).expect("write pcap");
}

/// A capture of one TCP handshake, 198.18.0.1:40000 -> 198.19.0.2:`port`, at `path`.
pub fn handshake_pcap(path: &Path, port: u16) {
    let (c, s) = ([198, 18, 0, 1], [198, 19, 0, 2]);
    write_pcap(
        path,
        &[
            tcp4(c, 40000, s, port, SYN, 999, 0, b""),
            tcp4(s, port, c, 40000, SYN | ACK, 4999, 1000, b""),
            tcp4(c, 40000, s, port, ACK, 1000, 5000, b""),
        ],
    );
}
