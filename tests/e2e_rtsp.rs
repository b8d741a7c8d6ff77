//! End to end (issue #14, acceptance): a real RTSP stream through `sessmgr run` inline, VLC
//! serving, ffmpeg receiving over UDP.
//!
//! The lab of tests/common/lab.rs: a client host (h1) and a server host (h2) joined through the
//! engine's namespace, the engine bridging them inline on AF_PACKET with two cores. As in the
//! FTP test (tests/e2e_alg.rs) the console sets ACL 3900 denying everything and applies it with
//! `packet-filter [ipv6] 3900 inbound` on the port facing the server, so every new session that
//! starts on the server's side is denied unless it claims a relation entry.
//!
//! Programs: VLC (`cvlc`, as the user nobody: VLC refuses to run as root; h2's namespace lets
//! unprivileged users bind port 554) streams a clip the test makes with ffmpeg (`testsrc`,
//! H.264) at `rtsp://h2:554/clip`; ffmpeg on h1 (`-rtsp_transport udp`, its RTP/RTCP ports
//! fixed with `-min_port`/`-max_port`) DESCRIBEs, SETUPs and PLAYs it and decodes 3 s of
//! frames (`-f framemd5`, one line a frame). h1 sends no UDP at all (an nftables rule in its
//! namespace drops it): ffmpeg's "punch" packets to the server's ports and its RTCP receiver
//! reports would open the media's sessions from the client's side, and the server's RTP would
//! then pass as their replies with or without the ALG.
//!
//! What must hold (each item is checked and reported on its own; the test fails at the end
//! with the list of every item that did not hold):
//! 1. without the packet filter ffmpeg decodes frames (the lab works); with it and the ALG on
//!    (`alg rtsp`, the default) it decodes frames over IPv4 and IPv6;
//! 2. while the stream plays `display session relation-table` shows the RTSP ALG's entries
//!    to the client's ports (App: RTSP) and `display session statistics` counts them;
//!    `display session table ipv4 verbose` shows the RTSP control session and the media
//!    session from the server to the client's RTP port, both `Application: RTSP`, and the
//!    media session has the control session as its master (`sessmgr dump sessions`); after
//!    ffmpeg's TEARDOWN no entry to its ports is left;
//! 3. after `undo alg rtsp` ffmpeg decodes nothing: the server's media is denied, and counted
//!    (a drop reason naming the packet filter); after `alg rtsp` it decodes frames again.
//!
//! Needs root (namespaces, veth, AF_PACKET) and the programs scripts/test.sh installs (vlc-bin
//! and vlc-plugin-base, ffmpeg, nftables). Outside CI it skips with a reason when they are
//! missing; in CI it fails instead. Addresses: 198.18.0.0/15 and 2001:2::/48 only.

mod common;

use common::acceptance::{
    Checks, at, deny_server_side, dumped_session, filter_drops, first_lines, last_lines,
    poll_relation_entries, relation_entries, relation_entries_counted, relation_total,
    verbose_sessions,
};
use common::engine::console;
use common::lab::{FW_H2_PORT, H1_V4, H1_V6, H2_V4, H2_V6, Lab, must, ns_out, prerequisites};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RTSP_PORT: u16 = 554;
/// ffmpeg stops after decoding this many frames (`-frames:v`: two seconds of the clip). A
/// count of frames, not a duration (`-t`): VLC loops the clip, and a client that joins just
/// before the loop point sees the timestamps jump, which `-t` takes for the time being up.
const FRAMES: u32 = 50;
/// Frames "pass" from this many on: a second's worth (the clip has 25 a second; the first
/// ones before a key frame may not decode).
const PASSES: usize = 25;

/// The client's RTP port for a run (RTCP on the next): fixed, each run its own.
fn client_port(n: u16) -> u16 {
    40_000 + 2 * n
}

/// Makes the clip VLC serves: 10 s of ffmpeg's test pattern, H.264 with a key frame every
/// second, readable by the user nobody.
fn make_clip(lab: &Lab) -> Result<String, String> {
    let clip = lab.dir.join("clip.mp4");
    let o = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
            "-t",
            "10",
        ])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"])
        .args(["-pix_fmt", "yuv420p"])
        .arg(&clip)
        .output()
        .map_err(|e| format!("ffmpeg: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "ffmpeg could not make the clip: {}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(clip.display().to_string())
}

/// VLC in h2, as nobody, streaming `clip` in a loop at rtsp://h2:554/clip on both families.
fn start_vlc(lab: &mut Lab, clip: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let home = lab.dir.join("vlc-home");
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    for (d, mode) in [(&lab.dir, 0o755), (&home, 0o777)] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode))
            .map_err(|e| e.to_string())?;
    }
    let h2 = lab.h2.clone();
    // The namespace's own setting: port 554 for an unprivileged VLC.
    must(&[
        "ip",
        "netns",
        "exec",
        &h2,
        "sysctl",
        "-qw",
        "net.ipv4.ip_unprivileged_port_start=0",
    ]);
    let home_env = format!("HOME={}", home.display());
    let sout = format!("#rtp{{sdp=rtsp://:{RTSP_PORT}/clip}}");
    lab.spawn_in(
        &h2,
        &[
            "runuser",
            "-u",
            "nobody",
            "--",
            "env",
            &home_env,
            "cvlc",
            "-q",
            "--no-audio",
            clip,
            "--loop",
            "--sout",
            &sout,
            "--sout-keep",
        ],
        Some("vlc.log"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let o = ns_out(&h2, &["ss", "-Hltn", &format!("sport = :{RTSP_PORT}")]);
        if String::from_utf8_lossy(&o.stdout).lines().count() >= 2 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "VLC does not listen on port {RTSP_PORT} for both families; it says:\n{}",
                last_lines(&lab.read_log("vlc.log"), 15)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// No UDP leaves h1 (see the module's comment): an nftables table of the namespace's own.
fn no_udp_from_client(lab: &Lab) -> Result<(), String> {
    let rules = "table inet sessmgr_e2e {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    meta l4proto udp counter drop\n  }\n}\n";
    let file = lab.dir.join("h1.nft");
    std::fs::write(&file, rules).map_err(|e| e.to_string())?;
    let o = ns_out(&lab.h1, &["nft", "-f", &file.display().to_string()]);
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

/// ffmpeg in h1 receiving FRAMES frames of the stream over UDP on `port`/`port + 1`: the frames it
/// decoded, or why it could not start.
fn receive(lab: &Lab, v6: bool, port: u16) -> (usize, String) {
    let url = if v6 {
        format!("rtsp://[{H2_V6}]:{RTSP_PORT}/clip")
    } else {
        format!("rtsp://{H2_V4}:{RTSP_PORT}/clip")
    };
    let (min, max) = (port.to_string(), (port + 1).to_string());
    let count = FRAMES.to_string();
    let o = ns_out(
        &lab.h1,
        &[
            "timeout",
            "20",
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-rtsp_transport",
            "udp",
            "-timeout",
            "5000000",
            "-min_port",
            &min,
            "-max_port",
            &max,
            "-i",
            &url,
            "-frames:v",
            &count,
            "-map",
            "0:v",
            "-f",
            "framemd5",
            "-",
        ],
    );
    let frames = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count();
    (
        frames,
        format!(
            "ffmpeg from {url} on port {port}: {}; {}",
            o.status,
            last_lines(String::from_utf8_lossy(&o.stderr).trim(), 6)
        ),
    )
}

/// The test's receptions, numbered so that each has client ports of its own.
struct Client<'a> {
    lab: &'a Lab,
    next: u16,
}

impl Client<'_> {
    fn receive(&mut self, v6: bool) -> (usize, String) {
        self.next += 1;
        receive(self.lab, v6, client_port(self.next))
    }
}

fn family(v6: bool) -> &'static str {
    if v6 { "IPv6" } else { "IPv4" }
}

/// Item 2: while ffmpeg plays the stream over IPv4 on `port`, the relation entries, the
/// sessions, and the media session's master.
fn inspect_stream(lab: &Lab, socket: &Path, checks: &mut Checks, port: u16) {
    let url = format!("rtsp://{H2_V4}:{RTSP_PORT}/clip");
    let (min, max) = (port.to_string(), (port + 1).to_string());
    let mut ffmpeg = Command::new("ip")
        .args(["netns", "exec", &lab.h1, "timeout", "20", "ffmpeg"])
        .args(["-hide_banner", "-nostdin", "-loglevel", "error"])
        .args([
            "-rtsp_transport",
            "udp",
            "-min_port",
            &min,
            "-max_port",
            &max,
        ])
        .args(["-i", &url, "-t", "8", "-map", "0:v", "-f", "null", "-"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg");
    let wanted = [at(H1_V4, port), at(H1_V4, port + 1)];
    // The SETUP's reply publishes the entries; the first RTP packet claims its own, the RTCP
    // one waits for the server's first sender report.
    let started = Instant::now();
    let (t, shown) = poll_relation_entries(
        socket,
        Duration::from_secs(4),
        Duration::from_millis(50),
        |d| wanted.iter().any(|w| w == d),
    );
    checks.check(
        !shown.is_empty() && shown.iter().all(|r| r.app == "RTSP" && r.protocol == "UDP(17)"),
        "2. display session relation-table ipv4 shows the entries to the client's ports (UDP, App: RTSP)",
        || format!("entries to {wanted:?}: {shown:?} in:\n{t}"),
    );
    let counted = relation_entries_counted(&t);
    checks.check(
        counted.is_some_and(|n| n > 0 && n >= shown.len() as u64),
        "2. display session statistics counts the relation entries",
        || {
            format!(
                "Current relation-table entries: {counted:?}, shown: {}",
                shown.len()
            )
        },
    );

    let (mut t, mut control, mut media) = (String::new(), None, None);
    while started.elapsed() < Duration::from_secs(7) {
        t = console(socket, "display session table ipv4 verbose\n");
        let sessions = verbose_sessions(&t);
        control = sessions
            .iter()
            .find(|s| {
                s.source.starts_with(&format!("{H1_V4}/")) && s.destination == at(H2_V4, RTSP_PORT)
            })
            .cloned();
        media = sessions
            .iter()
            .find(|s| {
                s.source.starts_with(&format!("{H2_V4}/")) && s.destination == at(H1_V4, port)
            })
            .cloned();
        if control.is_some() && media.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
    checks.check(
        control.as_ref().is_some_and(|s| s.app == "RTSP"),
        "2. display session table ipv4 verbose shows the control session as Application: RTSP",
        || format!("session {H1_V4} -> {H2_V4}/{RTSP_PORT}: {control:?} in:\n{t}"),
    );
    checks.check(
        media.as_ref().is_some_and(|s| s.app == "RTSP"),
        "2. display session table ipv4 verbose shows the media session (from the server) as Application: RTSP",
        || format!("session {H2_V4} -> {H1_V4}/{port}: {media:?} in:\n{t}"),
    );
    let port_of = |s: &str| {
        s.rsplit_once('/')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .unwrap_or(0)
    };
    let (m, c) = match (&media, &control) {
        (Some(m), Some(c)) => (
            dumped_session(socket, H2_V4, port_of(&m.source), H1_V4, port),
            dumped_session(socket, H1_V4, port_of(&c.source), H2_V4, RTSP_PORT),
        ),
        _ => Default::default(),
    };
    checks.check(
        !m["master"].is_null() && m["master"] == c["session"],
        "2. the media session is related: its master is the control session (sessmgr dump sessions)",
        || format!("media {m}\ncontrol {c}"),
    );
}

#[test]
fn rtsp_stream_through_the_engine() {
    if !prerequisites(&[
        "ip", "ethtool", "ss", "timeout", "runuser", "cvlc", "ffmpeg", "nft",
    ]) {
        return;
    }
    let started = Instant::now();
    let mut lab = Lab::new("rt");
    // ARP and neighbour discovery are not what this test is about (see tests/e2e_alg.rs).
    lab.static_neighbours();
    let clip = make_clip(&lab).expect("the clip");
    start_vlc(&mut lab, &clip).expect("VLC");
    no_udp_from_client(&lab).expect("h1's nftables rule");
    let socket = lab.start_engine("bidirectional");
    let mut checks = Checks::default();
    let mut client = Client { lab: &lab, next: 0 };

    // ---- 1. the lab itself: without a packet filter the stream plays ----
    let (frames, how) = client.receive(false);
    checks.check(
        frames >= PASSES,
        "1. no packet filter: ffmpeg decodes frames over IPv4",
        || format!("{frames} frames; {how}"),
    );

    let t = checks.console_ok(
        &socket,
        "the console takes the ACLs and packet-filter lines",
        &deny_server_side(FW_H2_PORT),
    );
    eprintln!("{}", first_lines(&t, 30));

    // ---- 1. with the filter and the ALG on (the default) ----
    for v6 in [false, true] {
        let (frames, how) = client.receive(v6);
        checks.check(
            frames >= PASSES,
            &format!("1. alg rtsp: ffmpeg decodes frames over {}", family(v6)),
            || format!("{frames} frames; {how}"),
        );
        // ffmpeg ends with a TEARDOWN: whatever entry its stream did not claim goes with it.
        let (client_addr, fam) = if v6 { (H1_V6, "ipv6") } else { (H1_V4, "ipv4") };
        let port = client_port(client.next);
        let mine = [at(client_addr, port), at(client_addr, port + 1)];
        let t = console(&socket, &format!("display session relation-table {fam}\n"));
        let left: Vec<_> = relation_entries(&t)
            .into_iter()
            .filter(|r| mine.contains(&r.destination))
            .collect();
        checks.check(
            left.is_empty() && relation_total(&t).is_some(),
            &format!(
                "2. after ffmpeg's TEARDOWN over {} no entry to its ports is left",
                family(v6)
            ),
            || format!("left: {left:?} in:\n{t}"),
        );
    }

    // ---- 2. the relation entries and the sessions while the stream plays ----
    client.next += 1;
    inspect_stream(&lab, &socket, &mut checks, client_port(client.next));

    // ---- 3. without the ALG the server's media is denied, and counted ----
    checks.console_ok(
        &socket,
        "the console takes `undo alg rtsp`",
        "system-view\nundo alg rtsp\nreturn\n",
    );
    let (before, _) = filter_drops(&socket);
    for v6 in [false, true] {
        let (frames, how) = client.receive(v6);
        checks.check(
            frames == 0,
            &format!(
                "3. undo alg rtsp: ffmpeg decodes nothing over {}",
                family(v6)
            ),
            || format!("{frames} frames; {how}"),
        );
    }
    let (after, all) = filter_drops(&socket);
    checks.check(
        after > before,
        "3. undo alg rtsp: the denied media is counted as packet-filter drops",
        || format!("filter drops {before} -> {after}; drops: {all}"),
    );
    checks.console_ok(
        &socket,
        "the console takes `alg rtsp`",
        "system-view\nalg rtsp\nreturn\n",
    );
    let (frames, how) = client.receive(true);
    checks.check(
        frames >= PASSES,
        "3. alg rtsp again: ffmpeg decodes frames over IPv6",
        || format!("{frames} frames; {how}"),
    );

    let log = lab.read_log("engine-bidirectional.log");
    lab.stop_engine();
    checks.finish(started, &log);
}
