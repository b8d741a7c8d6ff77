//! Writes a large synthetic capture for replay throughput measurements:
//! `cargo run --release --example gen_capture -- OUT.pcap [FLOWS] [DATA_PACKETS_PER_FLOW]
//! [close|open] [FRAMES_PER_US]`.
//! Each flow is a complete TCP connection between its own client (10.x.y.z) and one of 256
//! servers (198.18.x.1:443): handshake, data segments both ways with correct sequence
//! numbers, FIN close (`open`: no close, so the sessions stay ESTABLISHED and a looped
//! playback keeps the table full). Flows are interleaved 64 at a time, as on a busy link.
//! Frames are 1 us apart, or FRAMES_PER_US share each microsecond (a live playback then
//! offers them faster than the engine takes them: full speed).

use std::io::{BufWriter, Write};

#[allow(clippy::too_many_arguments)]
fn frame(
    src: [u8; 4],
    dst: [u8; 4],
    sp: u16,
    dp: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    len: usize,
) -> Vec<u8> {
    let mut f = vec![0u8; 54 + len];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[12] = 0x08;
    let total = (40 + len) as u16;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let mut sum: u32 = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let c = !(sum as u16);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    let tcp = &mut f[34..54];
    tcp[0..2].copy_from_slice(&sp.to_be_bytes());
    tcp[2..4].copy_from_slice(&dp.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&64240u16.to_be_bytes());
    f
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = args.get(1).map_or("large.pcap", String::as_str);
    let flows: u32 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let data: u32 = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(6);
    let close = args.get(4).is_none_or(|v| v != "open");
    let per_us: u64 = args.get(5).and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    let mut w = BufWriter::new(std::fs::File::create(out)?);
    // pcap global header: microseconds, Ethernet.
    w.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    w.write_all(&2u16.to_le_bytes())?;
    w.write_all(&4u16.to_le_bytes())?;
    w.write_all(&[0; 8])?;
    w.write_all(&65535u32.to_le_bytes())?;
    w.write_all(&1u32.to_le_bytes())?;
    let mut t_us: u64 = 1_700_000_000_000_000;
    let mut frames = 0u64;
    const GROUP: u32 = 64;
    let (syn, synack, ack, psh, fin) = (0x02, 0x12, 0x10, 0x18, 0x11);
    for g in (0..flows).step_by(GROUP as usize) {
        let members: Vec<u32> = (g..(g + GROUP).min(flows)).collect();
        let steps = 3 + 2 * data + if close { 4 } else { 0 };
        for step in 0..steps {
            for &i in &members {
                let c = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
                let s = [198, 18, (i % 256) as u8, 1];
                let cp = 1024 + (i % 60000) as u16;
                let (ci, si) = (1000u32, 5000u32);
                let k = step.saturating_sub(3);
                let f = match step {
                    0 => frame(c, s, cp, 443, syn, ci, 0, 0),
                    1 => frame(s, c, 443, cp, synack, si, ci + 1, 0),
                    2 => frame(c, s, cp, 443, ack, ci + 1, si + 1, 0),
                    _ if step < 3 + 2 * data => {
                        let n = k / 2;
                        if k % 2 == 0 {
                            frame(c, s, cp, 443, psh, ci + 1 + n * 100, si + 1 + n * 1000, 100)
                        } else {
                            frame(
                                s,
                                c,
                                443,
                                cp,
                                psh,
                                si + 1 + n * 1000,
                                ci + 1 + (n + 1) * 100,
                                1000,
                            )
                        }
                    }
                    _ => {
                        let (cs, ss) = (ci + 1 + data * 100, si + 1 + data * 1000);
                        match step - (3 + 2 * data) {
                            0 => frame(c, s, cp, 443, fin, cs, ss, 0),
                            1 => frame(s, c, 443, cp, ack, ss, cs + 1, 0),
                            2 => frame(s, c, 443, cp, fin, ss, cs + 1, 0),
                            _ => frame(c, s, cp, 443, ack, cs + 1, ss + 1, 0),
                        }
                    }
                };
                if frames.is_multiple_of(per_us) {
                    t_us += 1;
                }
                w.write_all(&((t_us / 1_000_000) as u32).to_le_bytes())?;
                w.write_all(&((t_us % 1_000_000) as u32).to_le_bytes())?;
                w.write_all(&(f.len() as u32).to_le_bytes())?;
                w.write_all(&(f.len() as u32).to_le_bytes())?;
                w.write_all(&f)?;
                frames += 1;
            }
        }
    }
    w.flush()?;
    eprintln!("{out}: {frames} frames, {flows} flows");
    Ok(())
}
