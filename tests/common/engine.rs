//! A `sessmgr run` engine for tests, and the console that drives one. The engine: the pcap
//! back-end on the project's own capture (no root needed), its control socket and startup
//! file in a directory of the test's.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Engine {
    child: Child,
    pub socket: PathBuf,
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Starts an engine playing captures/demo.pcap (once, or in a loop) with its files in `dir`,
/// and waits for its control socket.
pub fn start_engine(dir: &Path, capture_loop: bool) -> Engine {
    let capture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/demo.pcap");
    start_engine_on(dir, &capture, capture_loop, "")
}

/// Starts an engine playing `capture` with its files in `dir`; `session_toml` is added to the
/// `[session]` section of its config.toml (aging times, mode).
pub fn start_engine_on(
    dir: &Path,
    capture: &Path,
    capture_loop: bool,
    session_toml: &str,
) -> Engine {
    let socket = dir.join("ctl.sock");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[session]\nstatistics_enable = true\n{session_toml}\n[runtime]\ncapture = \"{}\"\ncapture_loop = {capture_loop}\ncontrol_socket = \"{}\"\nstartup_config = \"startup.cfg\"\nlog_events = false\n",
            capture.display(),
            socket.display()
        ),
    )
    .expect("write config");
    let child = Command::new(env!("CARGO_BIN_EXE_sessmgr"))
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start engine");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "engine did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Engine { child, socket }
}

/// Types `lines` into `sessmgr console` (stdin, not a terminal) against the engine at `socket`
/// and returns the transcript.
pub fn console(socket: &Path, lines: &str) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sessmgr"))
        .args(["console", "--socket"])
        .arg(socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("console");
    c.stdin
        .take()
        .expect("stdin")
        .write_all(lines.as_bytes())
        .expect("type");
    let out = c.wait_with_output().expect("console output");
    assert!(
        out.status.success(),
        "console failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The number after `key` in a line of the engine's exit report (`sessmgr stopped: frames N,
/// events produced N, delivered N, dropped N`).
pub fn report_number(line: &str, key: &str) -> u64 {
    line.split(key)
        .nth(1)
        .and_then(|r| {
            r.split(|c: char| !c.is_ascii_digit())
                .find(|s| !s.is_empty())
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no '{key}' in {line}"))
}

/// The TTLs (seconds) a `display session table ... verbose` transcript shows.
pub fn ttls(transcript: &str) -> Vec<u64> {
    transcript
        .lines()
        .filter_map(|l| l.split("TTL: ").nth(1))
        .filter_map(|t| t.trim_end_matches('s').trim().parse().ok())
        .collect()
}
