#![allow(unsafe_code)]
//! The back-end on real veth pairs and network namespaces (root only: skipped elsewhere, failed
//! under CI), the fanout program in a classic BPF interpreter, and the configuration checks.

use super::backend::AfPacket;
use super::config::{AfPacketConfig, AfPacketError};
use super::fanout::*;
use crate::io::recycle;
use crate::io::test_lab::{drop_all, forward_all, ip, root_or_skip, run, spawn_engine};
use crate::io::{Action, IoMode, PacketIo, PortId, owner_core};
use crate::proto::wire::LinkType;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Network namespaces and links made by one test, deleted even when the test fails.
struct Lab {
    prefix: String,
    links: Vec<String>,
    namespaces: Vec<String>,
}

impl Lab {
    fn new(tag: char) -> Lab {
        Lab {
            prefix: format!("sm{}{tag}", std::process::id()),
            links: Vec::new(),
            namespaces: Vec::new(),
        }
    }

    /// A veth pair in the current namespace, up, with IPv6 off so the kernel sends no
    /// noise on it.
    fn veth(&mut self, a: &str, b: &str) -> (String, String) {
        let (a, b) = (format!("{}{a}", self.prefix), format!("{}{b}", self.prefix));
        ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
        self.links.push(a.clone());
        for name in [&a, &b] {
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
            ip(&["link", "set", name, "up"]);
        }
        (a, b)
    }

    fn netns(&mut self, tag: &str) -> String {
        let ns = format!("sm-af-{}-{tag}", self.prefix);
        ip(&["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// Moves `link` into `ns` and gives it the two addresses.
    fn host(&self, link: &str, ns: &str, v4: &str, v6: &str) {
        ip(&["link", "set", link, "netns", ns]);
        ip(&["-n", ns, "addr", "add", v4, "dev", link]);
        ip(&["-n", ns, "addr", "add", v6, "dev", link, "nodad"]);
        ip(&["-n", ns, "link", "set", link, "up"]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            let _ = run("ip", &["netns", "del", ns]);
        }
        for link in &self.links {
            let _ = run("ip", &["link", "del", link]);
        }
    }
}

fn config(interfaces: &[&String]) -> AfPacketConfig {
    AfPacketConfig {
        interfaces: interfaces.iter().map(|s| s.to_string()).collect(),
        block_size: 64 * 1024,
        block_count: 8,
        ..AfPacketConfig::default()
    }
}

const MARK: &[u8] = b"SMAF";

/// An Ethernet frame of `len` bytes with a local experimental ethertype and a marker.
fn test_frame(id: u8, len: usize) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5];
    f.extend_from_slice(MARK);
    f.push(id);
    f.extend((0..len.saturating_sub(f.len())).map(|i| i as u8));
    f
}

fn tagged(mut f: Vec<u8>, tci: u16) -> Vec<u8> {
    let [hi, lo] = tci.to_be_bytes();
    f.splice(12..12, [0x81, 0x00, hi, lo]);
    f
}

fn is_test_frame(f: &[u8]) -> bool {
    f.windows(MARK.len()).take(64).any(|w| w == MARK)
}

/// Reads until `want` test frames arrived or 5 s passed.
fn collect(io: &mut AfPacket, want: usize) -> Vec<(PortId, Vec<u8>)> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.len() < want && Instant::now() < deadline {
        io.rx_batch(16, 50, &mut |frames, ports, _, _| {
            for (f, p) in frames.iter().zip(ports) {
                if is_test_frame(f) {
                    got.push((*p, f.to_vec()));
                }
            }
        })
        .unwrap();
    }
    got
}

#[test]
fn receives_frames_with_their_port_and_bytes() {
    if !root_or_skip("receives_frames_with_their_port_and_bytes") {
        return;
    }
    let mut lab = Lab::new('r');
    let (x0, x1) = lab.veth("x0", "x1");
    let (y0, y1) = lab.veth("y0", "y1");
    for l in [&x0, &x1] {
        ip(&["link", "set", l, "mtu", "9000"]);
    }
    let mut engine = AfPacket::open(&config(&[&x1, &y1])).unwrap();
    let mut inj = AfPacket::open(&config(&[&x0, &y0])).unwrap();
    assert_eq!(engine.link_type(), LinkType::Ethernet);
    let small = test_frame(1, 60);
    let full = test_frame(2, 1514);
    // Longer than frame_size (2048): TPACKET_V3 only truncates at the block size.
    let jumbo = test_frame(3, 4000);
    // The kernel strips the tag before packet sockets see the frame; we put it back.
    let vlan = tagged(test_frame(4, 64), 0x2064);
    inj.send(0, &small).unwrap();
    inj.send(1, &full).unwrap();
    inj.send(0, &jumbo).unwrap();
    inj.send(0, &vlan).unwrap();
    let got = collect(&mut engine, 4);
    let on = |port| {
        got.iter()
            .filter(|(p, _)| *p == port)
            .map(|(_, f)| f.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(on(0), vec![small, jumbo, vlan]);
    assert_eq!(on(1), vec![full]);
    let s = engine.stats();
    assert!(s.rx_frames >= 4, "{s:?}");
    assert_eq!(s.tx_frames, 0);
    let t = inj.stats();
    assert_eq!((t.tx_frames, t.tx_errors), (4, 0), "{t:?}");
    assert_eq!(t.tx_bytes, 60 + 1514 + 4000 + 68);
    assert!(inj.send(2, &[0; 60]).is_err());
}

#[test]
fn truncated_frames_are_shown_but_not_forwarded() {
    if !root_or_skip("truncated_frames_are_shown_but_not_forwarded") {
        return;
    }
    let mut lab = Lab::new('t');
    let (x0, x1) = lab.veth("x0", "x1");
    let (_y0, y1) = lab.veth("y0", "y1");
    for l in [&x0, &x1] {
        ip(&["link", "set", l, "mtu", "9000"]);
    }
    let mut cfg = config(&[&x1, &y1]);
    cfg.mode = IoMode::Inline;
    cfg.block_size = 4096;
    let mut engine = AfPacket::open(&cfg).unwrap();
    let mut inj = AfPacket::open(&config(&[&x0])).unwrap();
    inj.send(0, &test_frame(9, 6000)).unwrap();
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen == 0 && Instant::now() < deadline {
        engine
            .rx_batch(16, 50, &mut |frames, _, _, actions| {
                for (f, a) in frames.iter().zip(actions.iter_mut()) {
                    if is_test_frame(f) {
                        seen = f.len();
                    }
                    *a = Action::Forward;
                }
            })
            .unwrap();
    }
    assert!(seen > 0 && seen < 4096, "frame of {seen} bytes");
    assert_eq!(engine.truncated_frames(), 1);
    assert!(engine.stats().tx_errors >= 1);
}

/// Host A (netns) a0 | a1 engine b1 | b0 host B (netns).
struct Bridge {
    lab: Lab,
    ns_a: String,
    engine_ports: [String; 2],
}

fn bridge(tag: char) -> Bridge {
    let mut lab = Lab::new(tag);
    let ns_a = lab.netns("A");
    let ns_b = lab.netns("B");
    let (a0, a1) = lab.veth("a0", "a1");
    let (b0, b1) = lab.veth("b0", "b1");
    lab.host(&a0, &ns_a, "198.18.0.1/24", "2001:2::1/64");
    lab.host(&b0, &ns_b, "198.18.0.2/24", "2001:2::2/64");
    Bridge {
        lab,
        ns_a,
        engine_ports: [a1, b1],
    }
}

fn ping(ns: &str, args: &[&str]) -> bool {
    let mut all = vec!["netns", "exec", ns, "ping", "-n", "-q"];
    all.extend_from_slice(args);
    run("ip", &all).status.success()
}

#[test]
fn inline_forwards_ping_both_families() {
    if !root_or_skip("inline_forwards_ping_both_families") {
        return;
    }
    let b = bridge('i');
    let mut cfg = config(&[&b.engine_ports[0], &b.engine_ports[1]]);
    cfg.mode = IoMode::Inline;
    let (stop, t) = spawn_engine(AfPacket::open(&cfg).unwrap(), forward_all);
    let v4 = ping(&b.ns_a, &["-c", "3", "-i", "0.2", "-W", "2", "198.18.0.2"]);
    let v6 = ping(
        &b.ns_a,
        &["-6", "-c", "3", "-i", "0.2", "-W", "2", "2001:2::2"],
    );
    stop.store(true, Ordering::Relaxed);
    let io = t.join().unwrap();
    assert!(v4, "IPv4 ping through the bridge failed");
    assert!(v6, "IPv6 ping through the bridge failed");
    let s = io.stats();
    assert!(s.tx_frames >= 12 && s.tx_errors == 0, "{s:?}");
    // Our own transmissions are not received again: every received frame was sent once.
    assert_eq!(s.rx_frames, s.tx_frames, "{s:?}");
    drop(b.lab);
}

#[test]
fn inline_drops_what_the_handler_drops() {
    if !root_or_skip("inline_drops_what_the_handler_drops") {
        return;
    }
    let b = bridge('d');
    let mut cfg = config(&[&b.engine_ports[0], &b.engine_ports[1]]);
    cfg.mode = IoMode::Inline;
    let (stop, t) = spawn_engine(AfPacket::open(&cfg).unwrap(), drop_all);
    let ok = ping(&b.ns_a, &["-c", "2", "-i", "0.2", "-W", "1", "198.18.0.2"]);
    stop.store(true, Ordering::Relaxed);
    let io = t.join().unwrap();
    assert!(!ok, "ping passed although the handler dropped everything");
    let s = io.stats();
    assert!(s.rx_frames >= 1 && s.tx_frames == 0, "{s:?}");
}

#[test]
fn monitor_mode_never_forwards() {
    if !root_or_skip("monitor_mode_never_forwards") {
        return;
    }
    let b = bridge('m');
    let cfg = config(&[&b.engine_ports[0], &b.engine_ports[1]]);
    let (stop, t) = spawn_engine(AfPacket::open(&cfg).unwrap(), forward_all);
    let ok = ping(&b.ns_a, &["-c", "1", "-W", "1", "198.18.0.2"]);
    stop.store(true, Ordering::Relaxed);
    let io = t.join().unwrap();
    assert!(!ok);
    assert_eq!(io.stats().tx_frames, 0);
}

fn ipv4_frame(src: [u8; 4], dst: [u8; 4], id: u16) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 253, 0, 0]);
    f.extend(src);
    f.extend(dst);
    f.extend(MARK);
    f.extend(id.to_be_bytes());
    f.resize(60, 0);
    f
}

fn ipv6_frame(src: [u8; 16], dst: [u8; 16], id: u16) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd];
    f.extend([0x60, 0, 0, 0, 0, 6, 253, 64]);
    f.extend(src);
    f.extend(dst);
    f.extend(MARK);
    f.extend(id.to_be_bytes());
    f
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
fn bytes<const N: usize>(seed: &mut u64) -> [u8; N] {
    let mut out = [0u8; N];
    for b in &mut out {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *b = *seed as u8;
    }
    out
}

struct Sample {
    frame: Vec<u8>,
    family: usize,
    src: Vec<u8>,
    dst: Vec<u8>,
}

/// Address sets for the steering tests: IPv4 in 198.18.0.0/15, IPv6 in 2001:2::/48.
fn sample_frames() -> Vec<Sample> {
    let mut seed = 0x5e55_1011_u64;
    let mut out = Vec::new();
    for i in 0..48u16 {
        let (mut s, mut d) = (bytes::<4>(&mut seed), bytes::<4>(&mut seed));
        s[0] = 198;
        s[1] = 18 | (s[1] & 1);
        d[0] = 198;
        d[1] = 18 | (d[1] & 1);
        out.push(Sample {
            frame: ipv4_frame(s, d, i),
            family: 4,
            src: s.to_vec(),
            dst: d.to_vec(),
        });
    }
    for i in 48..96u16 {
        let (mut s, mut d) = (bytes::<16>(&mut seed), bytes::<16>(&mut seed));
        s[..6].copy_from_slice(&[0x20, 0x01, 0, 2, 0, 0]);
        d[..6].copy_from_slice(&[0x20, 0x01, 0, 2, 0, 0]);
        out.push(Sample {
            frame: ipv6_frame(s, d, i),
            family: 6,
            src: s.to_vec(),
            dst: d.to_vec(),
        });
    }
    out
}

/// A classic BPF interpreter for the instructions the fanout program uses, with the
/// kernel's rules: loads are relative to the link layer (SKF_LL_OFF), a load past the end
/// returns 0.
fn run_cbpf(prog: &[libc::sock_filter], frame: &[u8]) -> u32 {
    let load = |k: u32, size: usize| -> Option<u32> {
        let k = k as i32;
        assert!(
            (libc::SKF_LL_OFF..libc::SKF_NET_OFF).contains(&k),
            "absolute load {k} is not link-layer relative"
        );
        let off = (k - libc::SKF_LL_OFF) as usize;
        let b = frame.get(off..off + size)?;
        Some(b.iter().fold(0u32, |v, x| (v << 8) | u32::from(*x)))
    };
    let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
    loop {
        let i = prog[pc];
        match i.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => match load(i.k, 4) {
                Some(v) => a = v,
                None => return 0,
            },
            c if c == BPF_LD | BPF_H | BPF_ABS => match load(i.k, 2) {
                Some(v) => a = v,
                None => return 0,
            },
            c if c == BPF_MISC | BPF_TAX => x = a,
            c if c == BPF_ALU | BPF_XOR | BPF_X => a ^= x,
            c if c == BPF_JMP | BPF_JEQ | BPF_K => {
                pc += usize::from(if a == i.k { i.jt } else { i.jf });
            }
            c if c == BPF_RET | BPF_A => return a,
            c if c == BPF_RET | BPF_K => return i.k,
            c => panic!("opcode {c:#x} not interpreted"),
        }
        pc += 1;
    }
}

#[test]
fn fanout_program_computes_owner_core() {
    let prog = fanout_program();
    assert!(prog.len() <= 4096);
    for Sample {
        frame, src, dst, ..
    } in sample_frames()
    {
        let r = run_cbpf(&prog, &frame);
        for cores in 1..=8 {
            assert_eq!(r as usize % cores, owner_core(&src, &dst, cores));
        }
    }
    let v4 = ipv4_frame([198, 18, 0, 1], [198, 19, 7, 9], 0);
    // Not IP, VLAN tag still in the data (QinQ inner), truncated: member 0.
    let mut arp = v4.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(run_cbpf(&prog, &arp), 0);
    assert_eq!(run_cbpf(&prog, &tagged(v4.clone(), 5)), 0);
    assert_eq!(run_cbpf(&prog, &v4[..28]), 0);
    assert_eq!(run_cbpf(&prog, &v4[..10]), 0);
    let s6 = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let d6 = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0xab, 0, 0, 0, 0, 0, 2];
    let v6 = ipv6_frame(s6, d6, 0);
    assert_eq!(run_cbpf(&prog, &v6[..50]), 0);
    // The whole fold, before any modulo.
    assert_eq!(run_cbpf(&prog, &v6), 0x00ab_0003);
    assert_eq!(owner_core(&s6, &d6, usize::MAX), 0x00ab_0003);
}

#[test]
fn kernel_fanout_steers_like_owner_core() {
    if !root_or_skip("kernel_fanout_steers_like_owner_core") {
        return;
    }
    let mut lab = Lab::new('f');
    let (s0, s1) = lab.veth("s0", "s1");
    let mut cfg = config(&[&s1]);
    cfg.cores = 2;
    cfg.fanout_group = 0x6000 + (std::process::id() % 0x1000) as u16;
    let mut cores = AfPacket::open_all(&cfg).unwrap();
    let mut inj = AfPacket::open(&config(&[&s0])).unwrap();
    let frames = sample_frames();
    for s in &frames {
        inj.send(0, &s.frame).unwrap();
    }
    let mut seen: Vec<Option<usize>> = vec![None; frames.len()];
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.iter().any(Option::is_none) && Instant::now() < deadline {
        for (core, io) in cores.iter_mut().enumerate() {
            io.rx_batch(64, 10, &mut |fs, _, _, _| {
                for f in fs {
                    if let Some(p) = f.windows(4).position(|w| w == MARK) {
                        let id = u16::from_be_bytes([f[p + 4], f[p + 5]]);
                        seen[usize::from(id)] = Some(core);
                    }
                }
            })
            .unwrap();
        }
    }
    let mut per_core = [0; 2];
    for (
        Sample {
            family, src, dst, ..
        },
        got,
    ) in frames.iter().zip(&seen)
    {
        let want = owner_core(src, dst, 2);
        assert_eq!(*got, Some(want), "IPv{family} {src:?} -> {dst:?}");
        per_core[want] += 1;
    }
    assert!(per_core[0] > 0 && per_core[1] > 0, "{per_core:?}");
}

#[test]
fn missing_interface_is_named() {
    let cfg = AfPacketConfig {
        interfaces: vec!["sm-no-such-if".into()],
        ..AfPacketConfig::default()
    };
    match AfPacket::open(&cfg) {
        Err(e @ AfPacketError::NoSuchInterface { .. }) => {
            assert!(e.to_string().contains("sm-no-such-if"), "{e}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("opened a missing interface"),
    }
}

#[test]
fn bad_configurations_are_explained() {
    let base = AfPacketConfig {
        interfaces: vec!["lo".into(), "lo".into(), "lo".into()],
        ..AfPacketConfig::default()
    };
    let msg = |c: AfPacketConfig| match AfPacket::open(&c) {
        Err(AfPacketError::Config(m)) => m,
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("accepted"),
    };
    assert!(
        msg(AfPacketConfig {
            mode: IoMode::Inline,
            ..base.clone()
        })
        .contains("pairs")
    );
    assert!(
        msg(AfPacketConfig {
            block_size: 1000,
            ..base.clone()
        })
        .contains("block_size")
    );
    assert!(
        msg(AfPacketConfig {
            frame_size: 100,
            ..base.clone()
        })
        .contains("frame_size")
    );
    assert!(
        msg(AfPacketConfig {
            core: 2,
            cores: 2,
            ..base.clone()
        })
        .contains("core")
    );
    assert!(
        msg(AfPacketConfig {
            interfaces: vec![],
            ..base.clone()
        })
        .contains("no interfaces")
    );
    assert!(
        msg(AfPacketConfig {
            tx_slots: 0,
            ..base.clone()
        })
        .contains("tx_slots")
    );
    // Loopback has no Ethernet header.
    assert!(msg(base).contains("not an Ethernet interface"));
}

#[test]
fn batch_vector_keeps_its_allocation() {
    let data = [1u8, 2, 3];
    let mut v: Vec<&[u8]> = Vec::with_capacity(64);
    v.push(&data);
    let (ptr, cap) = (v.as_ptr() as usize, v.capacity());
    let w: Vec<&'static [u8]> = recycle(v);
    assert_eq!((w.as_ptr() as usize, w.capacity(), w.len()), (ptr, cap, 0));
}

#[test]
fn tx_ring_geometry_fits_a_tagged_mtu_frame_per_slot() {
    use super::tx::{TxGeometry, TxVersion};
    assert_eq!(TxVersion::V3.data_off(), 48);
    assert_eq!(TxVersion::V2.data_off(), 32);
    for version in [TxVersion::V3, TxVersion::V2] {
        for (mtu, wanted) in [(1500, 2048), (9000, 100), (68, 1), (1500, 1)] {
            let g = TxGeometry::new(version, mtu, wanted, 4096);
            assert!(g.slot_size >= version.data_off() + mtu + 18, "{g:?}");
            assert_eq!(g.slot_size % 64, 0);
            assert_eq!(g.block_size % 4096, 0);
            assert!(g.per_block >= 1 && g.per_block * g.slot_size <= g.block_size);
            assert_eq!(g.slots, g.per_block * g.blocks);
            assert!(g.slots >= wanted && g.slots < wanted + g.per_block, "{g:?}");
        }
    }
}

/// Ping through the bridge with each transmit ring layout, V3 (the default here) and the V2
/// fallback, which older kernels get, each filled both ways (veth gets `Linear` by default).
#[test]
fn inline_forwards_through_both_tx_ring_layouts() {
    use super::tx::{TxFill, TxVersion};
    if !root_or_skip("inline_forwards_through_both_tx_ring_layouts") {
        return;
    }
    for (tag, version, fill) in [
        ('3', TxVersion::V3, TxFill::Pages),
        ('4', TxVersion::V3, TxFill::Linear),
        ('2', TxVersion::V2, TxFill::Pages),
        ('5', TxVersion::V2, TxFill::Linear),
    ] {
        let b = bridge(tag);
        let mut cfg = config(&[&b.engine_ports[0], &b.engine_ports[1]]);
        cfg.mode = IoMode::Inline;
        let io = AfPacket::open_with(&cfg, version, Some(fill)).unwrap();
        assert!(io.tx_fills().all(|f| f == fill));
        let layouts: Vec<_> = io.tx_rings().map(|(v, slots, _)| (v, slots)).collect();
        assert_eq!(layouts.len(), 2);
        for (v, slots) in layouts {
            assert_eq!(v, version);
            assert!(slots >= 2048);
        }
        let (stop, t) = spawn_engine(io, forward_all);
        let v4 = ping(&b.ns_a, &["-c", "3", "-i", "0.2", "-W", "2", "198.18.0.2"]);
        let v6 = ping(
            &b.ns_a,
            &["-6", "-c", "3", "-i", "0.2", "-W", "2", "2001:2::2"],
        );
        stop.store(true, Ordering::Relaxed);
        let io = t.join().unwrap();
        assert!(
            v4 && v6,
            "ping through the {version:?} {fill:?} TX ring failed"
        );
        let s = io.stats();
        assert!(s.tx_frames >= 12 && s.tx_errors == 0, "{s:?}");
        assert_eq!(s.rx_frames, s.tx_frames, "{s:?}");
        drop(b.lab);
    }
}

/// Frames the kernel would refuse never enter the ring: too short, longer than MTU + header,
/// and the 4 extra bytes only for an 802.1Q-tagged frame.
#[test]
fn tx_ring_refuses_frames_the_mtu_does_not_allow() {
    if !root_or_skip("tx_ring_refuses_frames_the_mtu_does_not_allow") {
        return;
    }
    let mut lab = Lab::new('l');
    let (x0, x1) = lab.veth("x0", "x1");
    let mut rx = AfPacket::open(&config(&[&x1])).unwrap();
    let mut inj = AfPacket::open(&config(&[&x0])).unwrap();
    // veth has no device behind it: the kernel copies the slot (virtio header in front).
    assert!(inj.tx_fills().all(|f| f == super::tx::TxFill::Linear));
    let short = inj.send(0, &[2; 10]).unwrap_err();
    assert_eq!(short.kind(), std::io::ErrorKind::InvalidInput, "{short}");
    assert!(inj.send(0, &test_frame(1, 1515)).is_err());
    assert_eq!((inj.tx_bad_length(), inj.stats().tx_errors), (2, 2));
    // 1514 untagged and 1518 tagged are the largest frames a 1500 MTU carries.
    inj.send(0, &test_frame(2, 1514)).unwrap();
    inj.send(0, &tagged(test_frame(3, 1514), 7)).unwrap();
    assert!(inj.send(0, &tagged(test_frame(4, 1515), 7)).is_err());
    let got = collect(&mut rx, 2);
    let lens: Vec<usize> = got.iter().map(|(_, f)| f.len()).collect();
    assert_eq!(lens, vec![1514, 1518]);
    assert_eq!(got[1].1, tagged(test_frame(3, 1514), 7));
    let s = inj.stats();
    assert_eq!((s.tx_frames, s.tx_errors), (2, 3), "{s:?}");
    assert_eq!(inj.tx_ring_full(), 0);
}

/// With the link down the kernel takes no request, so the ring fills: the next frame is
/// refused and counted at once (no blocking). Once the link is up, the queued frames go with
/// the next kick, in order, and the kernel hands every slot back.
#[test]
fn full_tx_ring_is_counted_and_drains_when_the_link_returns() {
    if !root_or_skip("full_tx_ring_is_counted_and_drains_when_the_link_returns") {
        return;
    }
    let mut lab = Lab::new('q');
    let (x0, x1) = lab.veth("x0", "x1");
    let mut rx = AfPacket::open(&config(&[&x1])).unwrap();
    let mut cfg = config(&[&x0]);
    cfg.tx_slots = 1;
    let mut inj = AfPacket::open(&cfg).unwrap();
    let slots = inj.tx_rings().next().unwrap().1;
    assert!(slots < 100, "{slots} slots");
    ip(&["link", "set", &x0, "down"]);
    let t0 = Instant::now();
    for id in 0..slots {
        inj.send(0, &test_frame(id as u8, 100)).unwrap();
    }
    let full = inj.send(0, &test_frame(0xff, 100)).unwrap_err();
    assert_eq!(full.kind(), std::io::ErrorKind::WouldBlock, "{full}");
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "a full ring must not block"
    );
    assert_eq!(inj.tx_ring_full(), 1);
    assert_eq!(inj.stats().tx_errors, 1);
    assert_eq!(inj.tx_rings().next().unwrap().2, slots);
    ip(&["link", "set", &x0, "up"]);
    ip(&["link", "set", &x1, "up"]);
    // Wait until the link carries frames, then every queued frame leaves in ring order: a
    // new frame finds the head slot still busy only until the kick that flushes the ring.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut flushed = false;
    while !flushed && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        flushed = inj.send(0, &test_frame(0xfe, 100)).is_ok();
    }
    assert!(flushed, "the ring never drained");
    let got = collect(&mut rx, slots + 1);
    let ids: Vec<u8> = got.iter().map(|(_, f)| f[MARK.len() + 14]).collect();
    let mut want: Vec<u8> = (0..slots).map(|i| i as u8).collect();
    want.push(0xfe);
    assert_eq!(ids, want);
    let deadline = Instant::now() + Duration::from_secs(5);
    while inj.tx_rings().next().unwrap().2 > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        inj.tx_rings().next().unwrap().2,
        0,
        "slots never handed back"
    );
    let s = inj.stats();
    assert_eq!(s.tx_frames, slots as u64 + 1, "{s:?}");
}
