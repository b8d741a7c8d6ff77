//! `sessmgr replay CAPTURE --startup FILE --exec COMMAND` (SPEC B1, B3; issue #12 §4): a
//! capture replayed under a Comware configuration text, and console commands run on the state
//! it leaves.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pcap(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/pcaps")
        .join(name);
    p.exists().then_some(p)
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("sessmgr-{name}-{}.cfg", std::process::id()));
    std::fs::write(&p, text).expect("write startup");
    p
}

fn replay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sessmgr"))
        .arg("replay")
        .args(args)
        .output()
        .expect("run sessmgr")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn total(out: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix("Total sessions found: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no total in {out}"))
}

#[test]
fn exec_shows_the_table_the_capture_left_and_the_startup_configuration_applies() {
    let Some(cap) = pcap("ndpi-ftp.pcap") else {
        eprintln!("SKIPPED: ../shared/pcaps is not beside the repository");
        return;
    };
    let cap = cap.to_str().unwrap();
    // The summary's count and the console's agree.
    let summary = text(&replay(&[cap, "--cores", "1"]));
    let at_end: u64 = summary
        .lines()
        .find_map(|l| l.strip_prefix("Sessions at end of capture: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("summary");
    assert!(at_end > 0);
    let o = replay(&[cap, "--exec", "display session table ipv4"]);
    assert!(o.status.success(), "{o:?}");
    let shown = text(&o);
    assert_eq!(total(&shown), at_end, "{shown}");
    assert!(
        !shown.contains("Sessions at end of capture"),
        "--exec replaces the summary"
    );

    // A packet filter on the capture's interface denies the FTP control connection: the
    // replay under it has neither it nor the data connection its ALG would have announced.
    let startup = scratch(
        "replay-filter",
        "acl advanced 3001\n rule 0 deny tcp destination-port eq 21\n rule 5 permit ip\n#\ninterface capture\n packet-filter 3001 inbound\n#\n",
    );
    let o = replay(&[
        cap,
        "--startup",
        startup.to_str().unwrap(),
        "--exec",
        "display session table ipv4",
        "--exec",
        "display current-configuration",
    ]);
    assert!(o.status.success(), "{o:?}");
    let out = text(&o);
    assert!(!out.contains("/21\n"), "{out}");
    assert!(total(&out) < at_end, "{out}");
    assert!(out.contains(" packet-filter 3001 inbound"), "{out}");
    assert!(out.contains("<H3C>display session table ipv4\n"), "{out}");
    let _ = std::fs::remove_file(startup);
}

#[test]
fn a_refused_startup_line_stops_the_replay_and_is_named() {
    let Some(cap) = pcap("ndpi-ftp.pcap") else {
        eprintln!("SKIPPED: ../shared/pcaps is not beside the repository");
        return;
    };
    let startup = scratch(
        "replay-bad",
        "session statistics enable\nsession aging-time state bogus 10\n",
    );
    let o = replay(&[
        cap.to_str().unwrap(),
        "--startup",
        startup.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 2 was refused"), "{err}");
    assert!(err.contains('%'), "{err}");
    assert!(o.stdout.is_empty(), "nothing replayed");
    let _ = std::fs::remove_file(startup);
}

/// The session-log commands of a startup file apply to a replay, and `display userlog export`
/// shows where the logs go (issue #12 §4).
#[test]
fn session_log_settings_apply_to_a_replay() {
    let Some(cap) = pcap("ndpi-ftp.pcap") else {
        eprintln!("SKIPPED: ../shared/pcaps is not beside the repository");
        return;
    };
    let startup = scratch(
        "replay-log",
        "#\n session log flow-begin\n session log time-active 10\n userlog flow export host 127.0.0.1 port 9\n userlog flow export host 127.0.0.1 port 4739 ipfix\n#\ninterface capture\n session log enable ipv4 inbound\n#\n",
    );
    let o = replay(&[
        cap.to_str().unwrap(),
        "--startup",
        startup.to_str().unwrap(),
        "--exec",
        "display userlog export",
        "--exec",
        "display current-configuration",
    ]);
    let _ = std::fs::remove_file(startup);
    assert!(o.status.success(), "{o:?}");
    let out = text(&o);
    for line in [
        "  Export flow log as UDP Packet.\n",
        "  Log host numbers: 1\n",
        "    IP address/Port: 127.0.0.1/9\n",
        "  IPFIX host numbers: 1\n",
        "    IP address/Port: 127.0.0.1/4739\n",
        " session log time-active 10\n",
        " userlog flow export version 3\n",
        "interface capture\n session log enable ipv4 inbound\n",
    ] {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
}
