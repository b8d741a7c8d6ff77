//! Every session event is delivered or counted (issue #10): `sessmgr run` with
//! `log_events = true` plays 60,000 new flows as fast as it can while its stderr is read
//! slowly, so the log's writer queue overflows. The exit report must then say how many
//! events were produced, delivered and dropped, produced = delivered + dropped, and the
//! delivered ones must be exactly the event lines that reached stderr.
//!
//! Before the fix the report said all were delivered and none dropped while most were lost
//! in the logging library's queue.

mod common;

use common::engine::report_number;
use common::frames::{udp4, write_pcap};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FLOWS: u32 = 60_000;

#[test]
fn produced_equals_delivered_plus_dropped_and_delivered_is_what_was_written() {
    let dir = std::env::temp_dir().join(format!("sessmgr-events-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let capture = dir.join("flows.pcap");
    let frames: Vec<Vec<u8>> = (0..FLOWS)
        .map(|i| {
            udp4(
                [198, 18, (i >> 8) as u8, i as u8],
                40_000 + (i % 20_000) as u16,
                [198, 19, 0, 1],
                9,
                b"x",
            )
        })
        .collect();
    write_pcap(&capture, &frames);
    let socket = dir.join("ctl.sock");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[runtime]\nbackend = \"pcap\"\ncapture = \"{}\"\ncapture_loop = false\ncapture_pace = \"max\"\nlog_events = true\ncontrol_socket = \"{}\"\n",
            capture.display(),
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
    // A slow reader: small reads with pauses, so the writer falls behind the engine.
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 2048];
        loop {
            match stderr.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        String::from_utf8_lossy(&all).into_owned()
    });

    // Wait until every frame was processed.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the capture was not played in 60 s"
        );
        let out = Command::new(env!("CARGO_BIN_EXE_sessmgr"))
            .args(["dump", "stats", "--socket"])
            .arg(&socket)
            .output()
            .expect("dump stats");
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout)
            && v["frames"].as_u64() == Some(u64::from(FLOWS))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "exit status {exit:?}");
    let err = reader.join().expect("reader");
    let last = err
        .lines()
        .rev()
        .find(|l| l.starts_with("sessmgr stopped:"))
        .unwrap_or_else(|| panic!("no final report in the last lines:\n{}", tail(&err)));
    let produced = report_number(last, "events produced ");
    let delivered = report_number(last, "delivered ");
    let dropped = report_number(last, "dropped ");
    let written = err
        .lines()
        .filter(|l| {
            l.contains("session created")
                || l.contains("session state changed")
                || l.contains("session deleted")
        })
        .count() as u64;
    eprintln!("{last}; event lines written {written}");
    assert!(produced >= u64::from(FLOWS), "{last}");
    assert_eq!(produced, delivered + dropped, "{last}");
    assert_eq!(
        written, delivered,
        "event lines on stderr vs delivered: {last}"
    );
    assert!(
        dropped > 0,
        "the slow reader was meant to make the log drop events: {last}"
    );
    assert!(!last.contains("incomplete"), "{last}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
