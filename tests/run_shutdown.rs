//! `sessmgr run` end to end on the pcap back-end (no root needed): the control socket answers,
//! and SIGTERM during traffic ends the process with status 0 within 2 s, with every session
//! event accounted for (delivered to the log actor or counted as dropped). Issue #3.

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn capture() -> PathBuf {
    match common::pcaps_dir() {
        Some(d) => d.join("ndpi-http_ipv6.pcap"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/demo.pcap"),
    }
}

#[test]
fn sigterm_during_traffic_exits_0_quickly_and_accounts_for_every_event() {
    let dir = std::env::temp_dir().join(format!("sessmgr-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let socket = dir.join("ctl.sock");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[session]\nstatistics_enable = true\n[runtime]\ncores = 2\nbackend = \"pcap\"\ncapture = \"{}\"\ncapture_loop = true\ncontrol_socket = \"{}\"\n",
            capture().display(),
            socket.display()
        ),
    )
    .expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessmgr"))
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sessmgr run");

    // Wait until frames flow and sessions exist, through the engine's own control socket.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut sessions = 0;
    while Instant::now() < deadline {
        let out = Command::new(env!("CARGO_BIN_EXE_sessmgr"))
            .args(["dump", "sessions", "--socket"])
            .arg(&socket)
            .output()
            .expect("dump");
        if out.status.success()
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout)
        {
            sessions = v["sessions"].as_array().map_or(0, Vec::len);
            if sessions > 0 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(sessions > 0, "the running engine never showed a session");
    let stats = Command::new(env!("CARGO_BIN_EXE_sessmgr"))
        .args(["dump", "stats", "--socket"])
        .arg(&socket)
        .output()
        .expect("dump stats");
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).expect("stats JSON");
    assert!(stats["frames"].as_u64().unwrap_or(0) > 0, "{stats}");
    // Frames passed untracked because they are not IP have their own counters.
    assert!(stats["not_ip"]["arp"].as_u64().is_some(), "{stats}");
    assert!(
        stats["not_ip"]["other_ethertypes"].as_u64().is_some(),
        "{stats}"
    );
    // No collector configured: none listed, and no session log is marked for one.
    assert_eq!(stats["collectors"], serde_json::json!([]), "{stats}");
    assert_eq!(stats["collector_logs_unrouted"], 0, "{stats}");

    // Traffic is still flowing (the capture loops): stop it now.
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(2),
            "still running 2 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "exit status {exit:?}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    let last = err
        .lines()
        .rev()
        .find(|l| l.starts_with("sessmgr stopped:"))
        .unwrap_or_else(|| panic!("no final report in:\n{err}"));
    let num = |key: &str| common::engine::report_number(last, key);
    let (produced, delivered, dropped) =
        (num("events produced "), num("delivered "), num("dropped "));
    assert!(produced > 0, "{last}");
    assert_eq!(produced, delivered + dropped, "{last}");
    assert!(!last.contains("incomplete"), "{last}");
    assert!(!socket.exists(), "control socket left behind");
    let _ = std::fs::remove_dir_all(&dir);
}
