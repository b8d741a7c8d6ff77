#![allow(unsafe_code)]
//! The program's encoding against the BPF instruction set, the ring index logic against a
//! ring whose "kernel" side the test plays, the frame pool, the configuration checks and the
//! refusal message; and the back-end on real veth pairs in network namespaces (root only:
//! skipped elsewhere, failed under CI).

use super::bpf::{Insn, program_bytes, redirect_program};
use super::config::{AfXdpConfig, AfXdpError, XdpAttach, validate};
use super::ring::{Layout, Ring};
use super::umem::FramePool;
use super::{AfXdp, MONITOR_REFUSED};
use crate::io::test_lab::{drop_all, forward_all, ip, root_or_skip, run, spawn_engine};
use crate::io::{IoMode, PacketIo};
use std::sync::atomic::{AtomicU32, Ordering};

// ---- the program ----

#[test]
fn program_encodes_as_the_instruction_set_says() {
    assert_eq!(size_of::<Insn>(), 8);
    let prog = redirect_program(7);
    #[rustfmt::skip]
    let want: [u8; 48] = [
        // ldxw r2, [r1 + 16]: class LDX (1) | size W (0x00) | mode MEM (0x60); dst 2, src 1
        0x61, 0x12, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
        // lddw r1, map_fd 7: class LD (0) | size DW (0x18) | mode IMM (0); src 1 = PSEUDO_MAP_FD
        0x18, 0x11, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
        // the second half of the 64-bit immediate
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        // mov64 r3, 2 (XDP_PASS): class ALU64 (7) | op MOV (0xb0) | source K
        0xb7, 0x03, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        // call 51 (bpf_redirect_map): class JMP (5) | op CALL (0x80)
        0x85, 0x00, 0x00, 0x00, 0x33, 0x00, 0x00, 0x00,
        // exit: class JMP | op EXIT (0x90)
        0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    assert_eq!(program_bytes(&prog), want);
    // What the kernel reads is the array itself: its memory must hold the same bytes
    // (little-endian machines; the crate builds only for Linux targets we run on).
    // SAFETY: `prog` is a live array of 6 plain 8-byte instructions, read as 48 bytes.
    let raw = unsafe { std::slice::from_raw_parts(prog.as_ptr().cast::<u8>(), 48) };
    if cfg!(target_endian = "little") {
        assert_eq!(raw, want);
    }
    // Another descriptor lands in the immediate only.
    let other = program_bytes(&redirect_program(0x1234_5678));
    assert_eq!(&other[12..16], &0x1234_5678i32.to_le_bytes());
    assert_eq!(other[..12], want[..12]);
    assert_eq!(other[16..], want[16..]);
}

// ---- the rings ----

/// A ring of 8 entries in test-owned memory: producer at 0, consumer at 64, flags at 128,
/// descriptors at 192; the test plays the kernel through the atomics.
struct FakeRing {
    mem: Box<[u64; 40]>,
}

impl FakeRing {
    fn new(start: u32) -> FakeRing {
        let f = FakeRing {
            mem: Box::new([0; 40]),
        };
        f.prod().store(start, Ordering::Relaxed);
        f.cons().store(start, Ordering::Relaxed);
        f
    }
    fn word(&self, byte: usize) -> &AtomicU32 {
        // SAFETY: in bounds and 4-byte aligned inside the boxed array, which outlives `&self`.
        unsafe { &*(self.mem.as_ptr().cast::<u8>().add(byte).cast::<AtomicU32>()) }
    }
    fn prod(&self) -> &AtomicU32 {
        self.word(0)
    }
    fn cons(&self) -> &AtomicU32 {
        self.word(64)
    }
    fn flags(&self) -> &AtomicU32 {
        self.word(128)
    }
    fn desc(&self, index: u32) -> u64 {
        self.mem[24 + (index & 7) as usize]
    }
    fn set_desc(&mut self, index: u32, v: u64) {
        self.mem[24 + (index & 7) as usize] = v;
    }
    fn ring(&mut self) -> Ring<u64> {
        let layout = Layout {
            producer: 0,
            consumer: 64,
            flags: 128,
            desc: 192,
            entries: 8,
        };
        // SAFETY: the layout lies inside the boxed array (320 bytes), aligned, and the array
        // outlives the ring in every test below; only the test plays the other side.
        unsafe { Ring::from_raw(self.mem.as_mut_ptr().cast(), layout) }
    }
}

#[test]
fn producer_ring_counts_free_entries_and_publishes_in_order() {
    // Start just below the u32 wrap, so the indexes wrap during the test.
    for start in [0, u32::MAX - 3] {
        let mut f = FakeRing::new(start);
        let mut r = f.ring();
        assert_eq!(r.free(100), 8);
        for v in 0..8u64 {
            assert!(r.push(100 + v));
        }
        assert!(!r.push(999), "a full ring takes nothing more");
        assert_eq!(r.free(1), 0);
        // Nothing is visible before publish.
        assert_eq!(f.prod().load(Ordering::Relaxed), start);
        r.publish();
        assert_eq!(f.prod().load(Ordering::Relaxed), start.wrapping_add(8));
        for i in 0..8 {
            assert_eq!(f.desc(start.wrapping_add(i)), 100 + u64::from(i));
        }
        assert_eq!(r.outstanding(), 8);
        // The kernel takes three: three entries are free again.
        f.cons().store(start.wrapping_add(3), Ordering::Release);
        assert_eq!(r.free(8), 3);
        assert_eq!(r.outstanding(), 5);
        assert!(r.push(7) && r.push(8) && r.push(9) && !r.push(10));
        r.publish();
        assert_eq!(f.desc(start.wrapping_add(8)), 7);
        assert_eq!(f.desc(start.wrapping_add(10)), 9);
        assert!(!r.needs_wakeup());
        f.flags()
            .store(libc::XDP_RING_NEED_WAKEUP, Ordering::Relaxed);
        assert!(r.needs_wakeup());
    }
}

#[test]
fn consumer_ring_reads_what_the_kernel_published_and_releases_it() {
    for start in [0, u32::MAX - 1] {
        let mut f = FakeRing::new(start);
        let mut r = f.ring();
        assert_eq!(r.ready(8), 0);
        for i in 0..5 {
            f.set_desc(start.wrapping_add(i), 40 + u64::from(i));
        }
        f.prod().store(start.wrapping_add(5), Ordering::Release);
        assert_eq!(r.ready(3), 3, "at most what was asked");
        assert_eq!(r.ready(8), 5);
        assert_eq!((r.peek(0), r.peek(4)), (40, 44));
        r.release(2);
        assert_eq!(f.cons().load(Ordering::Relaxed), start.wrapping_add(2));
        assert_eq!(r.ready(8), 3);
        assert_eq!(r.peek(0), 42);
        r.release(3);
        assert_eq!(r.ready(8), 0);
        // The kernel wraps around the array: entry 5..12 land in slots 5,6,7,0,1,...
        for i in 5..13 {
            f.set_desc(start.wrapping_add(i), 100 + u64::from(i));
        }
        f.prod().store(start.wrapping_add(13), Ordering::Release);
        assert_eq!(r.ready(16), 8);
        let seen: Vec<u64> = (0..8).map(|i| r.peek(i)).collect();
        assert_eq!(seen, (105..113).collect::<Vec<u64>>());
        r.release(8);
        assert_eq!(f.cons().load(Ordering::Relaxed), start.wrapping_add(13));
    }
}

// ---- the frame pool ----

#[test]
fn frame_pool_rounds_addresses_to_their_frame_and_refuses_strangers() {
    let mut p = FramePool::new(4, 2048);
    assert_eq!(p.len(), 4);
    let a = p.take().unwrap();
    assert_eq!(a, 0, "lowest frame first");
    let b = p.take().unwrap();
    assert_eq!(b, 2048);
    // The kernel returns data addresses (frame start + headroom).
    assert!(p.give_back(b + 256));
    assert_eq!(p.take(), Some(2048));
    assert!(!p.give_back(4 * 2048), "outside the UMEM");
    assert!(p.give_back(a) && p.give_back(b));
    assert_eq!(p.len(), 4);
    assert!(!p.give_back(0), "more frames than exist: a double return");
    let mut all: Vec<u64> = std::iter::from_fn(|| p.take()).collect();
    all.sort_unstable();
    assert_eq!(all, [0, 2048, 4096, 6144]);
}

// ---- configuration and refusals ----

fn config(interfaces: &[&str]) -> AfXdpConfig {
    AfXdpConfig {
        interfaces: interfaces.iter().map(|s| s.to_string()).collect(),
        frames_per_socket: 1024,
        ring_size: 512,
        ..AfXdpConfig::default()
    }
}

#[test]
fn configuration_checks_name_what_is_wrong() {
    let msg = |c: &AfXdpConfig| match validate(c) {
        Err(AfXdpError::Config(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(validate(&config(&["a", "b"])).is_ok());
    assert!(msg(&config(&[])).contains("no interfaces"));
    assert!(msg(&config(&["a", "b", "c"])).contains("pairs"));
    let mut c = config(&["a", "b"]);
    c.mode = IoMode::Monitor;
    assert_eq!(msg(&c), MONITOR_REFUSED);
    assert!(MONITOR_REFUSED.contains("afpacket"));
    let mut c = config(&["a", "b"]);
    c.frame_size = 3000;
    assert!(msg(&c).contains("frame_size"));
    let mut c = config(&["a", "b"]);
    c.ring_size = 1000;
    assert!(msg(&c).contains("ring_size"));
    let mut c = config(&["a", "b"]);
    c.frames_per_socket = 256;
    assert!(msg(&c).contains("frames_per_socket"));
    let mut c = config(&["a", "b"]);
    c.core = 2;
    c.cores = 2;
    assert!(msg(&c).contains("core 2 of 2"));
}

#[test]
fn a_refusal_names_the_step_the_errno_and_af_packet() {
    let e = AfXdpError::refused(
        "fwa",
        "bind(AF_XDP, XDP_COPY)",
        std::io::Error::from_raw_os_error(libc::EPERM),
    );
    let text = e.to_string();
    for part in [
        "fwa",
        "bind(AF_XDP, XDP_COPY)",
        "errno 1, EPERM",
        "backend = \"afpacket\"",
    ] {
        assert!(text.contains(part), "{part} missing in: {text}");
    }
}

#[test]
fn a_missing_interface_is_named() {
    match AfXdp::open(&config(&["sm-no-such-if0", "sm-no-such-if1"])) {
        Err(AfXdpError::NoSuchInterface { name }) => assert_eq!(name, "sm-no-such-if0"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("opened a missing interface"),
    }
}

// ---- on veth, as root ----

/// Host A (netns) a0 | a1 engine b1 | b0 host B (netns); the engine's ports stay in the
/// test's namespace. Everything goes on drop, even when the test fails.
struct Bridge {
    ns: [String; 2],
    ports: [String; 2],
}

impl Bridge {
    fn new(tag: char) -> Bridge {
        let p = format!("smx{}{tag}", std::process::id() % 100_000);
        let b = Bridge {
            ns: [format!("{p}-A"), format!("{p}-B")],
            ports: [format!("{p}a1"), format!("{p}b1")],
        };
        for (i, (v4, v6)) in [
            ("198.18.0.1/24", "2001:2::1/64"),
            ("198.18.0.2/24", "2001:2::2/64"),
        ]
        .into_iter()
        .enumerate()
        {
            let (ns, port) = (&b.ns[i], &b.ports[i]);
            ip(&["netns", "add", ns]);
            ip(&[
                "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns,
            ]);
            ip(&["link", "set", port, "up"]);
            ip(&["-n", ns, "addr", "add", v4, "dev", "eth0"]);
            ip(&["-n", ns, "addr", "add", v6, "dev", "eth0", "nodad"]);
            ip(&["-n", ns, "link", "set", "eth0", "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        b
    }

    fn ping(&self, args: &[&str]) -> bool {
        let mut all = vec!["netns", "exec", &self.ns[0], "ping", "-n", "-q"];
        all.extend_from_slice(args);
        run("ip", &all).status.success()
    }

    fn config(&self) -> AfXdpConfig {
        config(&[&self.ports[0], &self.ports[1]])
    }

    /// A permanent neighbour entry on host A for B's address, so that nothing has to cross
    /// the bridge to resolve it.
    fn host_a_knows_b_as(&self, mac: &str) {
        ip(&[
            "-n",
            &self.ns[0],
            "neigh",
            "replace",
            "198.18.0.2",
            "lladdr",
            mac,
            "dev",
            "eth0",
            "nud",
            "permanent",
        ]);
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        for ns in &self.ns {
            let _ = run("ip", &["netns", "del", ns]);
        }
    }
}

fn forwards_ping(tag: char, attach: XdpAttach, want_driver: bool) {
    let b = Bridge::new(tag);
    let mut cfg = b.config();
    cfg.attach = attach;
    let io = AfXdp::open(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let (zero_copy, driver) = io.modes();
    assert!(!zero_copy, "veth has no AF_XDP zero-copy");
    assert_eq!(driver, want_driver);
    assert_eq!(io.sockets(), 2, "one socket per port on veth's one queue");
    let (stop, t) = spawn_engine(io, forward_all);
    let v4 = b.ping(&["-c", "3", "-i", "0.2", "-W", "2", "198.18.0.2"]);
    let v6 = b.ping(&["-6", "-c", "3", "-i", "0.2", "-W", "2", "2001:2::2"]);
    // Many more frames than the rings hold: every forwarded frame's address must come back
    // through the completion ring, or the pool runs dry and forwarding stops.
    let flood = b.ping(&["-f", "-c", "3000", "-W", "1", "198.18.0.2"]);
    stop.store(true, Ordering::Relaxed);
    let io = t.join().unwrap();
    assert!(v4, "IPv4 ping through the bridge failed");
    assert!(v6, "IPv6 ping through the bridge failed");
    assert!(flood, "flood ping through the bridge lost answers");
    let s = io.stats();
    assert!(s.tx_frames >= 6000 + 12, "{s:?}");
    assert_eq!(s.rx_frames, s.tx_frames, "{s:?} {:?}", io.counters());
    assert_eq!(s.tx_errors, 0, "{s:?}");
    assert_eq!(io.counters().tx_via_packet_socket, 0);
}

#[test]
fn forwards_ping_in_generic_mode() {
    if root_or_skip("forwards_ping_in_generic_mode") {
        forwards_ping('g', XdpAttach::Generic, false);
    }
}

#[test]
fn forwards_ping_in_driver_mode() {
    if root_or_skip("forwards_ping_in_driver_mode") {
        forwards_ping('n', XdpAttach::Driver, true);
    }
}

/// Sends `n` small UDP datagrams from host A to host B (port 9), pausing now and then so the
/// receiving veth's backlog does not overflow.
const UDP_BURST: &str = "import socket,sys,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(int(sys.argv[1])):\n s.sendto(b'x'*32,('198.18.0.2',9))\n if i%50==49: time.sleep(0.002)\n";

#[test]
fn drops_what_the_handler_drops_and_reuses_the_frames() {
    if !root_or_skip("drops_what_the_handler_drops_and_reuses_the_frames") {
        return;
    }
    let b = Bridge::new('d');
    // Host A knows B's address without asking (the handler drops ARP too).
    b.host_a_knows_b_as("02:00:00:00:00:02");
    // Far fewer UMEM frames than datagrams: dropped frames must go back to the fill ring.
    let mut cfg = b.config();
    cfg.frames_per_socket = 512;
    cfg.ring_size = 256;
    let (stop, t) = spawn_engine(AfXdp::open(&cfg).unwrap(), drop_all);
    let ok = b.ping(&["-c", "2", "-i", "0.2", "-W", "1", "198.18.0.2"]);
    let sent = run(
        "ip",
        &[
            "netns", "exec", &b.ns[0], "python3", "-c", UDP_BURST, "5000",
        ],
    );
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let io = t.join().unwrap();
    assert!(!ok, "ping passed although the handler dropped everything");
    let s = io.stats();
    // Twice the core's 1024 frames at least (the veth backlog may drop some of the 5000).
    assert!(s.rx_frames >= 2048 && s.tx_frames == 0, "{s:?}");
}

#[test]
fn a_core_without_a_queue_sends_through_af_packet() {
    if !root_or_skip("a_core_without_a_queue_sends_through_af_packet") {
        return;
    }
    let b = Bridge::new('c');
    let mut cfg = b.config();
    cfg.cores = 2;
    let mut all = AfXdp::open_all(&cfg).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all[0].sockets(), 2);
    assert_eq!(
        all[1].sockets(),
        0,
        "veth has one queue: core 1 serves none"
    );
    // A frame handed over to core 1 goes out of port 1 all the same: a broadcast ARP request
    // for host B, which answers it (the reply is redirected to core 0's socket).
    #[rustfmt::skip]
    let arp = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06,
        0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 0x01, 198, 18, 0, 1,
        0, 0, 0, 0, 0, 0, 198, 18, 0, 2,
    ];
    all[1].send(1, &arp).unwrap();
    all[0].send(1, &arp).unwrap();
    assert_eq!(all[1].counters().tx_via_packet_socket, 1);
    assert_eq!(all[1].stats().tx_frames, 1);
    let mut replies = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while replies < 2 && std::time::Instant::now() < deadline {
        all[0]
            .rx_batch(16, 50, &mut |frames, ports, _, _| {
                replies += frames
                    .iter()
                    .zip(ports)
                    .filter(|(f, p)| **p == 1 && f.len() >= 22 && f[12..14] == [8, 6] && f[21] == 2)
                    .count();
            })
            .unwrap();
    }
    assert_eq!(replies, 2, "host B did not answer both ARP requests");
    assert_eq!(all[0].stats().tx_frames, 1);
}

#[test]
fn a_kernel_refusal_names_the_step_and_af_packet() {
    if !root_or_skip("a_kernel_refusal_names_the_step_and_af_packet") {
        return;
    }
    let b = Bridge::new('r');
    // veth refuses an XDP program in its driver hook when the peer's MTU is too large for a
    // page (ERANGE).
    for ns_port in [0, 1] {
        ip(&["-n", &b.ns[ns_port], "link", "set", "eth0", "mtu", "9000"]);
        ip(&["link", "set", &b.ports[ns_port], "mtu", "9000"]);
    }
    let mut cfg = b.config();
    cfg.attach = XdpAttach::Driver;
    match AfXdp::open(&cfg) {
        Err(e @ AfXdpError::Refused { .. }) => {
            let text = e.to_string();
            assert!(text.contains("BPF_LINK_CREATE"), "{text}");
            assert!(text.contains("errno"), "{text}");
            assert!(text.contains("afpacket"), "{text}");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("veth took a driver-mode program at MTU 9000"),
    }
    // Auto falls back to the generic hook, which takes any MTU.
    cfg.attach = XdpAttach::Auto;
    let io = AfXdp::open(&cfg).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(io.modes(), (false, false));
}

// ---- the fast path ----

/// Receives UDP datagrams on host B's port 9 for up to `secs` seconds and prints how many.
const UDP_COUNT: &str = "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('198.18.0.2',9))\ns.settimeout(float(sys.argv[1]))\nn=0\ntry:\n while True:\n  s.recv(2048); n+=1\nexcept socket.timeout:\n pass\nprint(n)\n";

/// An offloaded flow crosses the bridge while the engine drops every frame it sees: only the
/// kernel's fast path can have carried it, and its entry counted every datagram. A flow
/// that is not offloaded (another source port) reaches the engine and is dropped.
fn fast_path_forwards(tag: char, attach: XdpAttach) {
    use crate::io::OneWay;
    let b = Bridge::new(tag);
    ip(&[
        "-n",
        &b.ns[1],
        "link",
        "set",
        "eth0",
        "address",
        "02:00:00:00:00:02",
    ]);
    b.host_a_knows_b_as("02:00:00:00:00:02");
    // A frame redirected into a veth in the driver hook needs NAPI on the receiving end,
    // which GRO turns on; and it arrives as a new buffer, without the sender's "checksum
    // left to the NIC" mark, so host A computes its checksums itself, as a NIC would
    // (docs/io-afxdp.md).
    for (ns, what) in [(&b.ns[1], "gro"), (&b.ns[0], "tx")] {
        let out = run(
            "ip",
            &[
                "netns",
                "exec",
                ns,
                "ethtool",
                "-K",
                "eth0",
                what,
                if what == "gro" { "on" } else { "off" },
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut cfg = b.config();
    cfg.attach = attach;
    cfg.fast_path = Some(1024);
    let mut io = AfXdp::open(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let flow = |sport| OneWay {
        src: [198, 18, 0, 1],
        dst: [198, 18, 0, 2],
        sport,
        dport: 9,
        proto: 17,
    };
    {
        let fast = io.fast_path().expect("fast path on");
        fast.offload(0, &flow(5555)).unwrap();
        assert_eq!(fast.forwarded(0, &flow(5555)).unwrap(), Some((0, 0)));
        assert_eq!(fast.forwarded(0, &flow(5556)).unwrap(), None);
        assert_eq!(
            fast.forwarded(1, &flow(5555)).unwrap(),
            None,
            "one way only"
        );
    }
    let (stop, t) = spawn_engine(io, drop_all);
    let recv = |secs: &str| {
        std::process::Command::new("ip")
            .args(["netns", "exec", &b.ns[1], "python3", "-c", UDP_COUNT, secs])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let send = |sport: &str, n: &str| {
        let script = format!(
            "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('198.18.0.1',{sport}))\nfor i in range({n}):\n s.sendto(b'x'*32,('198.18.0.2',9))\n if i%50==49: time.sleep(0.002)\n"
        );
        let out = run("ip", &["netns", "exec", &b.ns[0], "python3", "-c", &script]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let count = |c: std::process::Child| -> u64 {
        let out = c.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let r = recv("1.5");
    std::thread::sleep(std::time::Duration::from_millis(300));
    send("5555", "500");
    let fast_received = count(r);
    let r = recv("1.0");
    std::thread::sleep(std::time::Duration::from_millis(300));
    send("5556", "100");
    let slow_received = count(r);
    stop.store(true, Ordering::Relaxed);
    let mut io = t.join().unwrap();
    let seen_by_engine = io.stats().rx_frames;
    let fast = io.fast_path().expect("fast path on");
    let (packets, bytes) = fast.forwarded(0, &flow(5555)).unwrap().expect("offloaded");
    assert_eq!(fast_received, 500, "the offloaded flow lost datagrams");
    assert_eq!(packets, 500);
    assert_eq!(bytes, 500 * (20 + 8 + 32), "IPv4 total lengths");
    assert_eq!(
        slow_received, 0,
        "a flow not offloaded passed the engine's drop"
    );
    assert!(
        seen_by_engine >= 100,
        "the engine saw {seen_by_engine} frames"
    );
    assert!(fast.withdraw(0, &flow(5555)).unwrap());
    assert!(!fast.withdraw(0, &flow(5555)).unwrap());
    assert_eq!(fast.forwarded(0, &flow(5555)).unwrap(), None);
}

#[test]
fn fast_path_forwards_offloaded_flows_in_generic_mode() {
    if root_or_skip("fast_path_forwards_offloaded_flows_in_generic_mode") {
        fast_path_forwards('f', XdpAttach::Generic);
    }
}

#[test]
fn fast_path_forwards_offloaded_flows_in_driver_mode() {
    if root_or_skip("fast_path_forwards_offloaded_flows_in_driver_mode") {
        fast_path_forwards('F', XdpAttach::Driver);
    }
}
