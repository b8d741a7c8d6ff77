//! End to end (issue #17, acceptance): the public H.323 and PPTP captures replayed through
//! `sessmgr run` inline, the media and GRE frames counted at the far side.
//!
//! The lab of tests/common/lab.rs, with h2's veth moved into h1's namespace (as `eth1`) so
//! that one tcpreplay sends both directions of a capture in the capture's order: frames from
//! the client side out of `eth0` (they enter the engine on the port facing h1), frames from the
//! server side out of `eth1` (the port facing h2); `tcpprep --cidr` with the capture's server
//! addresses splits them. The engine (hybrid mode, two cores) bridges whatever MAC addresses the
//! capture carries. tcpdump counts, on each veth, only what the engine delivered (`-Q in`).
//!
//! In both captures the related connection is opened by the control connection's client (the
//! H.323 caller opens H.245 to the address the Connect announced; the PPTP PNS sends the first
//! GRE frame), so the packet filter denies every new session from the server side (ACL 3900)
//! and, from the client side, every new session but the control connections' (ACL 3901:
//! TCP to 1720 and 1723). Only a session that claims the ALG's relation entry gets past it.
//!
//! What must hold (each item checked and reported on its own):
//! 1. with `undo alg h323` and `undo alg pptp`, the control connections pass but none of the
//!    H.245 connection's frames (ndpi-h323 frames 22 to 43) nor the GRE frame (tcpdump-pptp
//!    frame 16) reaches the far side; they are counted as packet-filter drops;
//! 2. with `alg h323` and `alg pptp`, every frame of the H.245 connection (13 from the caller,
//!    9 from the callee) and the GRE frame reach the far side.
//!
//! ndpi-pptp holds no GRE frame (its call is set up, no data follows), so it is not replayed
//! here; tests/e2e_pptp.rs runs GRE of live calls both ways. ndpi-h323 holds no RTP frame
//! either: its media entries (docs/conformance.md) are never claimed in the capture.
//!
//! Needs root (namespaces, veth, AF_PACKET), tcpreplay, tcpprep and tcpdump. Outside CI it
//! skips with a reason when they are missing; in CI it fails instead.

mod common;

use common::acceptance::{ACL, Capture, Checks, filter_drops, first_lines};
use common::lab::{FW_H1_PORT, FW_H2_PORT, Lab, must, ns_out, prerequisites};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn pcap(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../shared/pcaps/{name}"))
}

/// The ACL that lets only the control connections start from the client side.
const CONTROL_ACL: u32 = 3901;

fn filter_lines() -> String {
    format!(
        "system-view\n\
         acl advanced {ACL}\nrule 0 deny ip\nquit\n\
         acl advanced {CONTROL_ACL}\n\
         rule 0 permit tcp destination-port eq 1720\n\
         rule 5 permit tcp destination-port eq 1723\n\
         rule 10 deny ip\nquit\n\
         interface {FW_H1_PORT}\npacket-filter {CONTROL_ACL} inbound\nquit\n\
         interface {FW_H2_PORT}\npacket-filter {ACL} inbound\nquit\n\
         return\n"
    )
}

/// One capture: its file and the addresses of its server side (sent out of `eth1`).
struct Replayed {
    file: &'static str,
    servers: &'static str,
}

const CAPTURES: [Replayed; 2] = [
    Replayed {
        file: "ndpi-h323.pcap",
        // The callees, gatekeepers and registrars: whoever the first frame of a flow is sent to.
        servers: "10.1.6.18/32,192.168.0.1/32,17.2.0.161/32,17.2.0.122/32,10.47.208.50/32",
    },
    Replayed {
        file: "tcpdump-pptp.pcap",
        servers: "10.1.1.10/32",
    },
];

/// What the far sides count: (name, interface, filter, frames of the capture it matches).
const COUNTED: [(&str, &str, &str, u64); 4] = [
    (
        "Q.931 from the caller",
        "eth1",
        "src host 10.1.3.143 and tcp dst port 1720",
        11,
    ),
    (
        "H.245 from the caller",
        "eth1",
        "src host 10.1.3.143 and tcp port 1232",
        13,
    ),
    (
        "H.245 from the callee",
        "eth0",
        "src host 10.1.6.18 and tcp port 1232",
        9,
    ),
    (
        "GRE from the PNS",
        "eth1",
        "src host 10.1.1.11 and ip proto 47",
        1,
    ),
];

/// Splits every capture by direction (tcpprep cache files in the lab's directory).
fn prepare(lab: &Lab) -> Result<(), String> {
    for c in &CAPTURES {
        let cache = lab.dir.join(format!("{}.cache", c.file));
        let out = std::process::Command::new("tcpprep")
            .arg(format!("--cidr={}", c.servers))
            .arg("--pcap")
            .arg(pcap(c.file))
            .arg("--cachefile")
            .arg(&cache)
            .output()
            .map_err(|e| format!("tcpprep: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "tcpprep {}: {}",
                c.file,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(())
}

/// Replays every capture from h1's namespace, 20 frames a second so that each frame is through
/// the engine before the next (an announcement before the connection it announces), and
/// returns the far sides' counts in the order of `COUNTED`.
fn replay_and_count(lab: &Lab) -> Result<Vec<u64>, String> {
    let mut captures = Vec::new();
    for (_, iface, filter, _) in &COUNTED {
        captures.push(Capture::start_on(&lab.h1, iface, true, filter)?);
    }
    for c in &CAPTURES {
        let cache = lab.dir.join(format!("{}.cache", c.file));
        let file = pcap(c.file);
        let out = ns_out(
            &lab.h1,
            &[
                "tcpreplay",
                "-q",
                // tcpprep classifies the `--cidr` addresses' frames as primary.
                "-i",
                "eth1",
                "-I",
                "eth0",
                "--pps=20",
                "--cachefile",
                &cache.to_string_lossy(),
                &file.to_string_lossy(),
            ],
        );
        if !out.status.success() {
            return Err(format!(
                "tcpreplay {}: {}{}",
                c.file,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    captures.into_iter().map(Capture::stop).collect()
}

fn shown(counts: &Result<Vec<u64>, String>) -> String {
    match counts {
        Ok(v) => COUNTED
            .iter()
            .zip(v)
            .map(|((what, _, _, in_capture), n)| format!("{what}: {n} of {in_capture}"))
            .collect::<Vec<_>>()
            .join("; "),
        Err(e) => e.clone(),
    }
}

#[test]
fn captured_h245_and_gre_pass_only_with_the_alg() {
    if !prerequisites(&["ip", "ethtool", "tcpdump", "tcpreplay", "tcpprep"]) {
        return;
    }
    for c in &CAPTURES {
        if !pcap(c.file).exists() {
            common::skip_or_fail(&format!("{} is missing", pcap(c.file).display()));
            return;
        }
    }
    let started = Instant::now();
    let mut lab = Lab::new("ar");
    // h2's end of its veth goes to h1's namespace, so one tcpreplay drives both ports.
    must(&["ip", "-n", &lab.h2, "link", "set", "eth0", "name", "eth1"]);
    must(&["ip", "-n", &lab.h2, "link", "set", "eth1", "netns", &lab.h1]);
    must(&["ip", "-n", &lab.h1, "link", "set", "eth1", "up"]);
    let socket = lab.start_engine("hybrid");
    let mut checks = Checks::default();
    checks.result("tcpprep splits the captures by direction", prepare(&lab));
    let t = checks.console_ok(
        &socket,
        "the console takes the ACLs, the packet-filter lines and `undo alg`",
        &format!(
            "{}system-view\nundo alg h323\nundo alg pptp\nreturn\n",
            filter_lines()
        ),
    );
    eprintln!("{}", first_lines(&t, 30));

    // ---- 1. without the ALGs ----
    let (before, _) = filter_drops(&socket);
    let off = replay_and_count(&lab);
    eprintln!("undo alg: {}", shown(&off));
    checks.check(
        off.as_ref().is_ok_and(|v| v[0] > 0),
        "1. undo alg: the Q.931 control connection passes",
        || shown(&off),
    );
    checks.check(
        off.as_ref()
            .is_ok_and(|v| v[1] == 0 && v[2] == 0 && v[3] == 0),
        "1. undo alg: no H.245 frame and no GRE frame reaches the far side",
        || shown(&off),
    );
    let (after, all) = filter_drops(&socket);
    let media: u64 = COUNTED[1..].iter().map(|c| c.3).sum();
    checks.check(
        after >= before + media,
        "1. undo alg: the denied frames are counted as packet-filter drops",
        || format!("filter drops {before} -> {after} (want +{media}); drops: {all}"),
    );

    // ---- 2. with the ALGs ----
    checks.console_ok(
        &socket,
        "the console takes `alg h323`, `alg pptp` and `reset session table`",
        "system-view\nalg h323\nalg pptp\nreturn\nreset session table\n",
    );
    let on = replay_and_count(&lab);
    eprintln!("alg: {}", shown(&on));
    checks.check(
        on.as_ref().is_ok_and(|v| v[0] > 0),
        "2. alg: the Q.931 control connection passes",
        || shown(&on),
    );
    checks.check(
        on.as_ref()
            .is_ok_and(|v| v[1] == COUNTED[1].3 && v[2] == COUNTED[2].3),
        "2. alg: every frame of the H.245 connection reaches the far side",
        || shown(&on),
    );
    checks.check(
        on.as_ref().is_ok_and(|v| v[3] == COUNTED[3].3),
        "2. alg: the GRE frame reaches the far side",
        || shown(&on),
    );

    checks.finish(started, &lab.read_log("engine-hybrid.log"));
}
