//! The H.323 ALG through the console (issue #17 §3): `undo alg h323` in the startup
//! configuration stops it, and the relation table and statistics show what it announced.

mod common;

use std::process::Command;

fn replay(startup: Option<&str>) -> String {
    let Some(dir) = common::pcaps_dir() else {
        common::skip_or_fail("../shared/pcaps is not beside the repository");
        return String::new();
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessmgr"));
    cmd.args(["replay", "--pps", "2000"]);
    let cfg = std::env::temp_dir().join(format!("h323-startup-{}.cfg", std::process::id()));
    if let Some(text) = startup {
        std::fs::write(&cfg, text).expect("write startup");
        cmd.arg("--startup").arg(&cfg);
    }
    cmd.args([
        "--exec",
        "display session relation-table",
        "--exec",
        "display session statistics",
    ])
    .arg(dir.join("ndpi-h323.pcap"));
    let out = cmd.output().expect("run sessmgr replay");
    let _ = std::fs::remove_file(&cfg);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_relation_table_shows_h323_entries_and_undo_alg_stops_them() {
    let on = replay(None);
    if on.is_empty() {
        return;
    }
    // The H.245 media pairs of both sides and the RAS-announced call signalling.
    for want in [
        "Destination IP/port: 10.1.3.143/5000",
        "Destination IP/port: 10.1.6.18/2007",
        "Destination IP/port: 17.2.0.122/1720",
        "App: H245",
        "App: H225",
        "Total entries found:  7",
        "Current relation-table entries: 7",
    ] {
        assert!(on.contains(want), "missing {want:?} in:\n{on}");
    }
    let off = replay(Some("undo alg h323\n"));
    assert!(off.contains("Total entries found:  0"), "{off}");
    assert!(off.contains("Current relation-table entries: 0"), "{off}");
}
