//! End to end (issue #14, acceptance): real SIP calls with RTP media through `sessmgr run`
//! inline, with SIPp as caller and callee and Kamailio as a proxy.
//!
//! The lab of tests/common/lab.rs: a caller host (h1) and a callee host (h2) joined through the
//! engine's namespace, the engine bridging them inline on AF_PACKET with two cores. As in the
//! FTP test (tests/e2e_alg.rs) the console sets ACL 3900 denying everything and applies it with
//! `packet-filter [ipv6] 3900 inbound` on the port facing the callee, so every new session that
//! starts on the callee's side is denied unless it claims a relation entry.
//!
//! The calls: SIPp on h1 (a scenario of ours, tests/sip/uac.xml: INVITE with SDP, ACK, a
//! hold, BYE; `-rtp_echo` sends back every RTP packet it receives) calls SIPp on h2
//! (tests/sip/uas.xml: 180, 200 with SDP, and once the caller's ACK is in it plays an RTP
//! stream the test writes as a pcap file, `play_pcap_audio`). The callee's media is the flow
//! that matters: it starts on the callee's side, so only the SIP ALG's entry from the caller's
//! SDP lets it through; the caller's echo is its reply. (Were the caller to send first, its
//! media would open the session from the caller's side and the callee's would pass as replies
//! with or without the ALG.) tcpdump in each host counts the media that arrives: the callee's
//! stream at the caller, the echo at the callee.
//!
//! What must hold (each item is checked and reported on its own; the test fails at the end
//! with the list of every item that did not hold):
//! 1. without the packet filter a call's media flows both ways (the lab works); with it and
//!    the ALG on (`alg sip`, the default) calls over UDP and TCP, IPv4 and IPv6, complete and
//!    their media passes both ways;
//! 2. while a call is up `display session relation-table` shows its entries (App: SIP) and
//!    `display session statistics` counts them; `display session table ipv4 verbose` shows the
//!    signalling session and the media session, both `Application: SIP`, and the media session
//!    has the signalling session as its master (`sessmgr dump sessions`); after the BYE the
//!    call's entries are gone;
//! 3. after `undo alg sip` the calls still complete but the callee's media is denied, and the
//!    denial is counted (a drop reason naming the packet filter); `alg sip` restores it;
//! 4. a large INVITE (SDP padded past the MTU), sent with h1's MTU lowered to 1280 so that it
//!    leaves in IP fragments (seen by tcpdump): by default (`undo session alg fragment sip`)
//!    the call completes but the ALG does not see the INVITE, so the callee's media is denied
//!    and `alg_sip_fragmented_not_inspected` counts it; with `session alg fragment sip` the
//!    engine reassembles the INVITE for the ALG and the media passes;
//! 5. through Kamailio (tests/sip/kamailio.cfg, a record-routing proxy on h2's first address,
//!    the callee on a second one, so the media comes from an address that is not the caller's
//!    signalling peer): with `[alg.sip] direct_media = true` (the default, as the kernel's
//!    `sip_direct_media`) the media is refused and `alg_sip_media_not_signalling_peer` counts
//!    it; with `direct_media = false` in config.toml calls over UDP and TCP, IPv4 and IPv6,
//!    complete and their media passes both ways.
//!
//! Needs root (namespaces, veth, AF_PACKET) and the programs scripts/test.sh installs (sipp
//! from sip-tester, kamailio, tcpdump). Outside CI it skips with a reason when they are
//! missing; in CI it fails instead. Addresses: 198.18.0.0/15 and 2001:2::/48 only.

mod common;

use common::acceptance::{
    Capture, Checks, alg_counter, at, deny_server_side, dumped_session, filter_drops, first_lines,
    last_lines, poll_relation_entries, relation_entries, relation_entries_counted, relation_total,
    verbose_sessions,
};
use common::engine::console;
use common::lab::{FW_H2_PORT, H1_V4, H1_V6, H2_V4, H2_V6, Lab, must, ns_out, prerequisites};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// SIP's port: where the callee (or the proxy) listens, and what the engine knows as SIP.
const SIP_PORT: u16 = 5060;
/// The second addresses of h2 where the callee answers behind the proxy.
const H2_MEDIA_V4: &str = "198.18.1.3";
const H2_MEDIA_V6: &str = "2001:2:1::3";
/// The callee's RTP stream: this many packets of 160 bytes of G.711 A-law, one every 10 ms.
const PACKETS: u64 = 100;
const GAP_US: u32 = 10_000;
/// Media "passes" when at least this many of the packets arrive (the lab's veths lose none;
/// the margin is for an engine starved of CPU by a parallel test run).
const PASSES: u64 = PACKETS * 9 / 10;
/// How long the caller holds the call after its ACK: the stream lasts 1 s.
const HOLD_MS: u32 = 1_500;
/// The lowered MTU on h1 for the fragmented INVITE (IPv6's minimum, so both families work).
const LOW_MTU: &str = "1280";

/// The callee's scenario (what it does: the file's comment) playing `media_pcap`.
fn uas_xml(media_pcap: &Path) -> String {
    include_str!("sip/uas.xml").replace("@MEDIA_PCAP@", &media_pcap.display().to_string())
}

/// The caller's scenario (what it does: the file's comment) with `padding` in its SDP (the
/// large INVITE).
fn uac_xml(padding: &str) -> String {
    include_str!("sip/uac.xml").replace("@PADDING@\n", padding)
}

/// SDP attribute lines that take the INVITE past 2,500 bytes, more than a 1280-byte MTU.
fn sdp_padding() -> String {
    (0..40)
        .map(|i| {
            format!(
                "      a=x-sessmgr-pad-{i:02}:{}\n",
                "0123456789abcdef".repeat(3)
            )
        })
        .collect()
}

/// The callee's RTP stream as a pcap file (Ethernet, IPv4, UDP, RTP), which SIPp replays
/// with the addresses and ports of the call: PACKETS packets of payload type 8, GAP_US apart.
fn media_pcap() -> Vec<u8> {
    let mut out = Vec::new();
    // Global header: magic, version 2.4, no zone, no accuracy, snaplen, LINKTYPE_ETHERNET.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    for v in [0u32, 0, 65_535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for i in 0..PACKETS as u32 {
        let mut rtp = vec![0x80, 8];
        rtp.extend_from_slice(&(i as u16).to_be_bytes());
        rtp.extend_from_slice(&(i * 160).to_be_bytes());
        rtp.extend_from_slice(&0x5e55_e0e2u32.to_be_bytes());
        rtp.extend_from_slice(&[0xd5; 160]);
        let udp_len = 8 + rtp.len() as u16;
        let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        frame.extend_from_slice(&[0x45, 0]);
        frame.extend_from_slice(&(20 + udp_len).to_be_bytes());
        frame.extend_from_slice(&(i as u16).to_be_bytes());
        frame.extend_from_slice(&[0, 0, 64, 17, 0, 0, 198, 18, 1, 2, 198, 18, 1, 1]);
        for port in [6000u16, 6000, udp_len, 0] {
            frame.extend_from_slice(&port.to_be_bytes());
        }
        frame.extend_from_slice(&rtp);
        let t = i * GAP_US;
        for v in [
            t / 1_000_000,
            t % 1_000_000,
            frame.len() as u32,
            frame.len() as u32,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&frame);
    }
    out
}

/// A minimal Kamailio: a record-routing proxy (transaction-stateful relay to the request
/// URI) on h2's first addresses, UDP and TCP.
fn kamailio_cfg() -> String {
    include_str!("sip/kamailio.cfg")
        .replace("@H2_V4@", H2_V4)
        .replace("@H2_V6@", H2_V6)
        .replace("@SIP_PORT@", &SIP_PORT.to_string())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Transport {
    Udp,
    Tcp,
}

#[derive(Clone, Copy, Debug)]
struct Call {
    transport: Transport,
    v6: bool,
    /// Through Kamailio on h2's first address, to the callee on its second.
    proxy: bool,
    /// The INVITE padded past the MTU.
    big: bool,
    hold_ms: u32,
}

const fn call(transport: Transport, v6: bool) -> Call {
    Call {
        transport,
        v6,
        proxy: false,
        big: false,
        hold_ms: HOLD_MS,
    }
}

const EVERY_KIND: [Call; 4] = [
    call(Transport::Udp, false),
    call(Transport::Tcp, false),
    call(Transport::Udp, true),
    call(Transport::Tcp, true),
];

impl Call {
    fn name(&self) -> String {
        format!(
            "{}{:?} over IPv{}",
            if self.big { "large INVITE, " } else { "" },
            self.transport,
            if self.v6 { 6 } else { 4 }
        )
    }

    fn caller(&self) -> &'static str {
        if self.v6 { H1_V6 } else { H1_V4 }
    }

    /// Where the caller sends its INVITE: the callee, or the proxy.
    fn first_hop(&self) -> &'static str {
        if self.v6 { H2_V6 } else { H2_V4 }
    }

    /// Where the callee answers and its media comes from.
    fn callee(&self) -> &'static str {
        match (self.proxy, self.v6) {
            (false, _) => self.first_hop(),
            (true, false) => H2_MEDIA_V4,
            (true, true) => H2_MEDIA_V6,
        }
    }
}

fn bracketed(addr: &str) -> String {
    if addr.contains(':') {
        format!("[{addr}]")
    } else {
        addr.to_string()
    }
}

/// The ports of one call, each call its own, so no session of an earlier call carries a
/// later one's media.
#[derive(Clone, Copy, Debug)]
struct Ports {
    /// The caller's signalling port.
    signalling: u16,
    /// The caller's RTP port (its SDP), where the callee's stream goes and the echo leaves.
    caller_media: u16,
    /// The callee's RTP port (its SDP), where its stream leaves and the echo goes.
    callee_media: u16,
}

impl Ports {
    fn of(n: u16) -> Ports {
        Ports {
            signalling: 5100 + n,
            caller_media: 20_000 + 10 * n,
            callee_media: 30_000 + 10 * n,
        }
    }
}

/// What a call came to.
struct Outcome {
    /// The caller's SIPp finished its scenario (exit status 0).
    completed: Result<(), String>,
    /// RTP packets of the callee's stream that reached the caller.
    to_caller: u64,
    /// RTP packets of the caller's echo that reached the callee.
    to_callee: u64,
}

impl Outcome {
    fn media(&self) -> String {
        format!(
            "{} of {PACKETS} callee packets reached the caller, {} echoed back reached the callee",
            self.to_caller, self.to_callee
        )
    }
}

/// The scenario files and the media, written once in the lab's directory.
struct Files {
    dir: PathBuf,
    uas: PathBuf,
    uac: PathBuf,
    uac_big: PathBuf,
}

impl Files {
    fn write(lab: &Lab) -> Files {
        let media = lab.dir.join("media.pcap");
        std::fs::write(&media, media_pcap()).expect("media pcap");
        let f = Files {
            dir: lab.dir.clone(),
            uas: lab.dir.join("uas.xml"),
            uac: lab.dir.join("uac.xml"),
            uac_big: lab.dir.join("uac-big.xml"),
        };
        std::fs::write(&f.uas, uas_xml(&media)).expect("uas.xml");
        std::fs::write(&f.uac, uac_xml("")).expect("uac.xml");
        std::fs::write(&f.uac_big, uac_xml(&sdp_padding())).expect("uac-big.xml");
        f
    }
}

/// The callee's SIPp, waited for (it ends after its one call) or killed.
struct Callee(Child);

impl Drop for Callee {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(3);
        while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `ns` listens on `addr`'s SIP port over `transport`.
fn wait_listening(ns: &str, addr: &str, transport: Transport) -> Result<(), String> {
    let flag = if transport == Transport::Tcp {
        "-Hltn"
    } else {
        "-Hlun"
    };
    let local = format!("{}:{SIP_PORT}", bracketed(addr));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let o = ns_out(ns, &["ss", flag, &format!("sport = :{SIP_PORT}")]);
        if String::from_utf8_lossy(&o.stdout).contains(&local) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "nothing listens on {local} ({transport:?}) in {ns}: {}",
                String::from_utf8_lossy(&o.stdout)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Places call number `n` as `c` says; `during` runs while the caller holds the call.
fn place(
    lab: &Lab,
    files: &Files,
    c: Call,
    n: u16,
    during: &mut dyn FnMut(Ports),
) -> Result<Outcome, String> {
    let p = Ports::of(n);
    let tag = format!("call{n}");
    let transport = match c.transport {
        Transport::Udp => "u1",
        Transport::Tcp => "t1",
    };
    let file = |what: &str| {
        files
            .dir
            .join(format!("{tag}-{what}"))
            .display()
            .to_string()
    };
    let at_caller = Capture::start(
        &lab.h1,
        &format!(
            "udp and src host {} and dst port {}",
            c.callee(),
            p.caller_media
        ),
    )?;
    let at_callee = Capture::start(
        &lab.h2,
        &format!(
            "udp and src host {} and dst port {}",
            c.caller(),
            p.callee_media
        ),
    )?;
    let uas = Command::new("ip")
        .args(["netns", "exec", &lab.h2, "sipp", "-sf"])
        .arg(&files.uas)
        .args([
            "-t",
            transport,
            "-i",
            c.callee(),
            "-p",
            &SIP_PORT.to_string(),
        ])
        .args(["-mp", &p.callee_media.to_string(), "-m", "1", "-nostdin"])
        .args(["-trace_err", "-error_file", &file("uas.err")])
        .args(["-trace_screen", "-screen_file", &file("uas.screen")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("sipp: {e}"))?;
    let uas = Callee(uas);
    wait_listening(&lab.h2, c.callee(), c.transport)?;

    let callee_uri = format!(
        "{}:{SIP_PORT}{}",
        bracketed(c.callee()),
        if c.transport == Transport::Tcp {
            ";transport=tcp"
        } else {
            ""
        }
    );
    let scenario = if c.big { &files.uac_big } else { &files.uac };
    let mut uac = Command::new("ip")
        .args(["netns", "exec", &lab.h1, "timeout", "30", "sipp", "-sf"])
        .arg(scenario)
        .args(["-key", "callee", &callee_uri])
        .args(["-t", transport, "-i", c.caller()])
        .args(["-p", &p.signalling.to_string()])
        .args(["-mp", &p.caller_media.to_string(), "-rtp_echo"])
        .args(["-d", &c.hold_ms.to_string(), "-m", "1", "-nostdin"])
        .args(["-trace_err", "-error_file", &file("uac.err")])
        .args(["-trace_screen", "-screen_file", &file("uac.screen")])
        .args(["-trace_msg", "-message_file", &file("uac.msg")])
        .arg(format!("{}:{SIP_PORT}", bracketed(c.first_hop())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("sipp: {e}"))?;
    during(p);
    let status = uac.wait().map_err(|e| format!("sipp: {e}"))?;
    drop(uas);
    let completed = if status.success() {
        Ok(())
    } else {
        Err(format!(
            "the caller's SIPp: {status}; its errors:\n{}\nthe callee's:\n{}\nthe caller's last messages:\n{}",
            last_lines(&read(&file("uac.err")), 12),
            last_lines(&read(&file("uas.err")), 12),
            last_lines(&read(&file("uac.msg")), 30),
        ))
    };
    Ok(Outcome {
        completed,
        to_caller: at_caller.stop()?,
        to_callee: at_callee.stop()?,
    })
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The test's calls, numbered so that each has ports of its own.
struct Caller<'a> {
    lab: &'a Lab,
    files: &'a Files,
    next: u16,
}

impl Caller<'_> {
    fn call(&mut self, c: Call) -> Outcome {
        self.call_during(c, &mut |_| {})
    }

    fn call_during(&mut self, c: Call, during: &mut dyn FnMut(Ports)) -> Outcome {
        self.next += 1;
        place(self.lab, self.files, c, self.next, during).unwrap_or_else(|e| Outcome {
            completed: Err(e),
            to_caller: 0,
            to_callee: 0,
        })
    }
}

/// Item: the call completed and its media passed both ways.
fn passes(checks: &mut Checks, what: &str, o: &Outcome) {
    checks.result(&format!("{what}: the call completes"), o.completed.clone());
    checks.check(
        o.to_caller >= PASSES && o.to_callee >= PASSES,
        &format!("{what}: the media passes both ways"),
        || o.media(),
    );
}

/// Item: the call completed and the callee's media was kept from the caller.
fn media_denied(checks: &mut Checks, what: &str, o: &Outcome) {
    checks.result(&format!("{what}: the call completes"), o.completed.clone());
    checks.check(
        o.to_caller == 0,
        &format!("{what}: the callee's media is denied"),
        || o.media(),
    );
}

/// The engine's configuration: bidirectional, statistics, and `extra` sections after
/// `[session]` (the lab writes `[session]`, these lines, then `[runtime]`).
fn engine_config(extra: &str) -> String {
    format!("mode = \"bidirectional\"\nstatistics_enable = true\n{extra}")
}

/// Item 2 while a call (UDP over IPv4) is held: its relation entries, then its sessions.
fn inspect_call(socket: &Path, checks: &mut Checks, p: Ports, hold: Duration) {
    let started = Instant::now();
    let caller_entries = [at(H1_V4, p.caller_media), at(H1_V4, p.caller_media + 1)];
    let callee_entries = [at(H2_V4, p.callee_media), at(H2_V4, p.callee_media + 1)];
    let ours = |d: &str| caller_entries.iter().chain(&callee_entries).any(|e| e == d);
    // The entries appear with the INVITE and the 200; the RTP one towards the caller goes as
    // soon as the callee's stream claims it, the others stay until the BYE.
    let (t, shown) = poll_relation_entries(
        socket,
        (hold / 2).saturating_sub(started.elapsed()),
        Duration::from_millis(100),
        ours,
    );
    checks.check(
        !shown.is_empty() && shown.iter().all(|r| r.app == "SIP" && r.protocol == "UDP(17)"),
        "2. display session relation-table ipv4 shows the call's media entries (UDP, App: SIP)",
        || format!("entries of the call {shown:?} (wanted destinations {caller_entries:?} or {callee_entries:?}) in:\n{t}"),
    );
    let counted = relation_entries_counted(&t);
    checks.check(
        counted.is_some_and(|n| n >= shown.len() as u64 && n > 0),
        "2. display session statistics counts the call's relation entries",
        || {
            format!(
                "Current relation-table entries: {counted:?}, the call's shown: {}",
                shown.len()
            )
        },
    );

    // The callee's stream starts with the ACK: its session is there by now.
    let mut t = String::new();
    let (mut control, mut media) = (None, None);
    while started.elapsed() < hold {
        t = console(socket, "display session table ipv4 verbose\n");
        let sessions = verbose_sessions(&t);
        control = sessions
            .iter()
            .find(|s| s.source == at(H1_V4, p.signalling) && s.destination == at(H2_V4, SIP_PORT))
            .cloned();
        media = sessions
            .iter()
            .find(|s| {
                s.source == at(H2_V4, p.callee_media) && s.destination == at(H1_V4, p.caller_media)
            })
            .cloned();
        if control.is_some() && media.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    checks.check(
        control.as_ref().is_some_and(|s| s.app == "SIP"),
        "2. display session table ipv4 verbose shows the signalling session as Application: SIP",
        || {
            format!(
                "session {H1_V4}/{} -> {H2_V4}/{SIP_PORT}: {control:?} in:\n{t}",
                p.signalling
            )
        },
    );
    checks.check(
        media.as_ref().is_some_and(|s| s.app == "SIP"),
        "2. display session table ipv4 verbose shows the media session (started by the callee) as Application: SIP",
        || format!("session {H2_V4}/{} -> {H1_V4}/{}: {media:?} in:\n{t}", p.callee_media, p.caller_media),
    );
    let m = dumped_session(socket, H2_V4, p.callee_media, H1_V4, p.caller_media);
    let c = dumped_session(socket, H1_V4, p.signalling, H2_V4, SIP_PORT);
    checks.check(
        !m["master"].is_null() && m["master"] == c["session"],
        "2. the media session is related: its master is the signalling session (sessmgr dump sessions)",
        || format!("media {m}\nsignalling {c}"),
    );
}

/// Item 2 after the BYE: none of the call's entries is left.
fn entries_gone(socket: &Path, checks: &mut Checks, p: Ports) {
    let mine = [
        at(H1_V4, p.caller_media),
        at(H1_V4, p.caller_media + 1),
        at(H2_V4, p.callee_media),
        at(H2_V4, p.callee_media + 1),
    ];
    let t = console(socket, "display session relation-table ipv4\n");
    let left: Vec<_> = relation_entries(&t)
        .into_iter()
        .filter(|r| mine.contains(&r.destination))
        .collect();
    checks.check(
        left.is_empty() && relation_total(&t).is_some(),
        "2. after the BYE the call's relation entries are gone",
        || format!("left: {left:?} in:\n{t}"),
    );
}

/// h2's second addresses, reachable from h1 without neighbour discovery (as the lab's own).
fn second_addresses(lab: &Lab) {
    let out = ns_out(&lab.h2, &["ip", "-j", "link", "show", "eth0"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mac = v[0]["address"]
        .as_str()
        .expect("h2's eth0 address")
        .to_string();
    for (addr, len) in [(H2_MEDIA_V4, "24"), (H2_MEDIA_V6, "64")] {
        let mut add = vec!["ip", "-n", &lab.h2, "addr", "add"];
        let prefix = format!("{addr}/{len}");
        add.extend([prefix.as_str(), "dev", "eth0"]);
        if addr.contains(':') {
            add.push("nodad");
        }
        must(&add);
        must(&[
            "ip",
            "-n",
            &lab.h1,
            "neigh",
            "replace",
            addr,
            "lladdr",
            &mac,
            "dev",
            "eth0",
            "nud",
            "permanent",
        ]);
    }
}

/// Starts Kamailio in h2 and waits for its four listeners.
fn start_kamailio(lab: &mut Lab) -> Result<(), String> {
    let dir = lab.dir.join("kamailio");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let cfg = lab.dir.join("kamailio.cfg");
    std::fs::write(&cfg, kamailio_cfg()).map_err(|e| e.to_string())?;
    let (cfg, dir) = (cfg.display().to_string(), dir.display().to_string());
    let pid = format!("{dir}/kamailio.pid");
    let h2 = lab.h2.clone();
    // -DD: no daemon (its children still fork); -E: log to stderr; small memory pools.
    lab.spawn_in(
        &h2,
        &[
            "kamailio", "-f", &cfg, "-DD", "-E", "-m", "32", "-M", "8", "-P", &pid, "-Y", &dir,
            "-w", &dir,
        ],
        Some("kamailio.log"),
    );
    for (addr, t) in [
        (H2_V4, Transport::Udp),
        (H2_V4, Transport::Tcp),
        (H2_V6, Transport::Udp),
        (H2_V6, Transport::Tcp),
    ] {
        wait_listening(&lab.h2, addr, t).map_err(|e| {
            format!(
                "{e}\nkamailio says:\n{}",
                last_lines(&lab.read_log("kamailio.log"), 15)
            )
        })?;
    }
    Ok(())
}

#[test]
fn sip_calls_with_media_through_the_engine() {
    if !prerequisites(&[
        "ip", "ethtool", "ss", "timeout", "tcpdump", "sipp", "kamailio",
    ]) {
        return;
    }
    let started = Instant::now();
    let mut lab = Lab::new("sp");
    // ARP and neighbour discovery are not what this test is about (see tests/e2e_alg.rs).
    lab.static_neighbours();
    let files = Files::write(&lab);
    let mut socket = lab.start_engine_with("sip", &engine_config(""), 2);
    let mut checks = Checks::default();
    let mut calls = Caller {
        lab: &lab,
        files: &files,
        next: 0,
    };

    // ---- 1. the lab itself: without a packet filter the media flows ----
    let o = calls.call(call(Transport::Udp, false));
    passes(&mut checks, "1. no packet filter: Udp over IPv4", &o);

    let t = checks.console_ok(
        &socket,
        "the console takes the ACLs and packet-filter lines",
        &deny_server_side(FW_H2_PORT),
    );
    eprintln!("{}", first_lines(&t, 30));

    // ---- 1. with the filter and the ALG on (the default) ----
    for c in EVERY_KIND {
        let o = calls.call(c);
        passes(&mut checks, &format!("1. alg sip: {}", c.name()), &o);
    }

    // ---- 2. the relation entries while a call is up, its sessions, and after its BYE ----
    let hold = Duration::from_millis(4_000);
    let mut held = None;
    let o = calls.call_during(
        Call {
            hold_ms: hold.as_millis() as u32,
            ..call(Transport::Udp, false)
        },
        &mut |p| {
            inspect_call(&socket, &mut checks, p, hold);
            held = Some(p);
        },
    );
    passes(&mut checks, "2. the inspected call", &o);
    if let Some(p) = held {
        entries_gone(&socket, &mut checks, p);
    }

    // ---- 3. without the ALG the callee's media is denied, and counted ----
    checks.console_ok(
        &socket,
        "the console takes `undo alg sip`",
        "system-view\nundo alg sip\nreturn\n",
    );
    let (before, _) = filter_drops(&socket);
    for c in EVERY_KIND {
        let o = calls.call(c);
        media_denied(&mut checks, &format!("3. undo alg sip: {}", c.name()), &o);
    }
    let (after, all) = filter_drops(&socket);
    checks.check(
        after >= before + 4 * PASSES,
        "3. undo alg sip: the denied media is counted as packet-filter drops",
        || format!("filter drops {before} -> {after}; drops: {all}"),
    );
    checks.console_ok(
        &socket,
        "the console takes `alg sip`",
        "system-view\nalg sip\nreturn\n",
    );
    let o = calls.call(call(Transport::Udp, true));
    passes(&mut checks, "3. alg sip again: Udp over IPv6", &o);

    // ---- 4. a fragmented INVITE: seen by the ALG only with `session alg fragment sip` ----
    must(&[
        "ip", "-n", &lab.h1, "link", "set", "dev", "eth0", "mtu", LOW_MTU,
    ]);
    let big = |v6| Call {
        big: true,
        ..call(Transport::Udp, v6)
    };
    let fragments = "(ip and ip[6:2] & 0x3fff != 0) or (ip6 and ip6[6] = 44)";
    for v6 in [false, true] {
        let c = big(v6);
        let (before, _) = alg_counter(&socket, "alg_sip_fragmented_not_inspected");
        let seen = Capture::start(&lab.h1, fragments);
        let o = calls.call(c);
        let seen = seen.and_then(Capture::stop);
        checks.check(
            matches!(seen, Ok(n) if n >= 2),
            &format!("4. {}: the INVITE leaves h1 in IP fragments", c.name()),
            || format!("fragments seen by tcpdump: {seen:?}"),
        );
        media_denied(
            &mut checks,
            &format!("4. default (undo session alg fragment sip): {}", c.name()),
            &o,
        );
        let (after, all) = alg_counter(&socket, "alg_sip_fragmented_not_inspected");
        checks.check(
            after > before,
            &format!(
                "4. default: {}: alg_sip_fragmented_not_inspected counts the INVITE",
                c.name()
            ),
            || format!("{before} -> {after}; alg counters: {all}"),
        );
    }
    checks.console_ok(
        &socket,
        "the console takes `session alg fragment sip`",
        "system-view\nsession alg fragment sip\nreturn\n",
    );
    for v6 in [false, true] {
        let c = big(v6);
        let o = calls.call(c);
        passes(
            &mut checks,
            &format!("4. session alg fragment sip: {}", c.name()),
            &o,
        );
    }
    checks.console_ok(
        &socket,
        "the console takes `undo session alg fragment sip`",
        "system-view\nundo session alg fragment sip\nreturn\n",
    );
    must(&[
        "ip", "-n", &lab.h1, "link", "set", "dev", "eth0", "mtu", "1500",
    ]);

    // ---- 5. through Kamailio: media from an address that is not the signalling peer ----
    second_addresses(&lab);
    let kamailio = start_kamailio(&mut lab);
    checks.result(
        "5. Kamailio listens on h2's first addresses",
        kamailio.clone(),
    );
    if kamailio.is_ok() {
        let mut calls = Caller {
            lab: &lab,
            files: &files,
            next: 100,
        };
        let proxied = |c: Call| Call { proxy: true, ..c };
        let c = proxied(call(Transport::Udp, false));
        let (before, _) = alg_counter(&socket, "alg_sip_media_not_signalling_peer");
        let o = calls.call(c);
        media_denied(
            &mut checks,
            &format!(
                "5. direct_media = true (default): via Kamailio, {}",
                c.name()
            ),
            &o,
        );
        let (after, all) = alg_counter(&socket, "alg_sip_media_not_signalling_peer");
        checks.check(
            after > before,
            "5. direct_media = true: alg_sip_media_not_signalling_peer counts the refusal",
            || format!("{before} -> {after}; alg counters: {all}"),
        );
        socket = lab.start_engine_with(
            "sip-proxy",
            &engine_config("[alg.sip]\ndirect_media = false\n"),
            2,
        );
        checks.console_ok(
            &socket,
            "the console takes the ACLs and packet-filter lines (engine with direct_media = false)",
            &deny_server_side(FW_H2_PORT),
        );
        let mut calls = Caller {
            lab: &lab,
            files: &files,
            next: 200,
        };
        for c in EVERY_KIND {
            let c = proxied(c);
            let o = calls.call(c);
            passes(
                &mut checks,
                &format!("5. direct_media = false: via Kamailio, {}", c.name()),
                &o,
            );
        }
    }

    let log = format!(
        "{}{}",
        lab.read_log("engine-sip.log"),
        lab.read_log("engine-sip-proxy.log")
    );
    lab.stop_engine();
    checks.finish(started, &log);
}

/// The readers of tests/common/acceptance.rs against the console's layouts; no root needed.
mod readers {
    use super::common::acceptance::{Shown, console_errors};
    use super::*;

    #[test]
    fn relation_entries_and_verbose_sessions_are_read() {
        let t = "Source IP/port:      198.18.1.2/-\nDestination IP/port: 198.18.1.1/20300\nDS-Lite tunnel peer: -\nVPN instance/VLAN ID/VLL ID: -/-/-\nProtocol: UDP(17)    TTL: 299s    App: SIP\n\nSource IP:             2001:2:1::2\nDestination IP/port: 2001:2:1::1/20301\nProtocol: UDP(17)    TTL: 299s    App: SIP\n\nTotal entries found:  2\n";
        let e = relation_entries(t);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].destination, "198.18.1.1/20300");
        assert_eq!(
            (e[0].protocol.as_str(), e[0].app.as_str()),
            ("UDP(17)", "SIP")
        );
        assert_eq!(e[1].source, "2001:2:1::2");
        assert_eq!(e[1].destination, "2001:2:1::1/20301");
        assert_eq!(relation_total(t), Some(2));
        let v = "Initiator:\n  Source      IP/port: 198.18.1.2/16000\n  Destination IP/port: 198.18.1.1/20000\n  Protocol: UDP(17)\nResponder:\n  Source      IP/port: 198.18.1.1/20000\n  Destination IP/port: 198.18.1.2/16000\n  Protocol: UDP(17)\nState: UDP_READY\nApplication: SIP\n\nTotal sessions found: 1\n";
        assert_eq!(
            verbose_sessions(v),
            vec![Shown {
                source: "198.18.1.2/16000".into(),
                destination: "198.18.1.1/20000".into(),
                protocol: "UDP(17)".into(),
                app: "SIP".into()
            }]
        );
        assert_eq!(
            console_errors(
                "<H3C>system-view\n[H3C]alg sip\n % Unrecognized command found at '^' position.\n"
            ),
            vec!["[H3C]alg sip  ->  % Unrecognized command found at '^' position."]
        );
    }

    #[test]
    fn the_media_capture_is_a_pcap_of_rtp() {
        let p = media_pcap();
        assert_eq!(&p[..4], &0xa1b2_c3d4u32.to_le_bytes());
        // Global header, then PACKETS records of 16 + 14 + 20 + 8 + 12 + 160 bytes.
        assert_eq!(
            p.len(),
            24 + PACKETS as usize * (16 + 14 + 20 + 8 + 12 + 160)
        );
        assert!(sdp_padding().len() > 2_500);
        assert!(uac_xml(&sdp_padding()).contains("a=x-sessmgr-pad-39:"));
    }
}
