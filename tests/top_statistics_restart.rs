//! Top statistics survive a restart of `sessmgr run` (SPEC T2): the engine writes the history
//! beside its startup configuration at shutdown and reads it back at start; an unusable file
//! is moved aside and the engine starts without it.

mod common;

use common::engine::{console, start_engine_on};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sessmgr-toprestart-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/demo.pcap")
}

const SHOW: &str = "display session top-statistics last-24-hours\n";

/// The top tables of a console transcript (from the first heading to the next prompt).
fn tables(transcript: &str) -> String {
    let from = transcript
        .find("Counting by source addresses:")
        .unwrap_or_else(|| panic!("no display in {transcript}"));
    let rest = &transcript[from..];
    let to = rest.find('<').unwrap_or(rest.len());
    rest[..to].to_string()
}

/// Rows of the source table.
fn source_rows(tables: &str) -> usize {
    tables
        .split("Counting by destination")
        .next()
        .unwrap_or("")
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// Waits until the engine at `socket` shows sessions in its top statistics.
fn wait_counted(socket: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = tables(&console(socket, SHOW));
        if source_rows(&t) > 0 {
            return t;
        }
        assert!(Instant::now() < deadline, "nothing counted: {t}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_restart_keeps_the_history() {
    let dir = scratch("keep");
    std::fs::write(dir.join("startup.cfg"), "session top-statistics enable\n").expect("startup");
    let before = {
        let engine = start_engine_on(&dir, &demo(), false, "");
        let t = wait_counted(&engine.socket);
        // The capture is played once; give it time to end so the display is final.
        std::thread::sleep(Duration::from_secs(3));
        let t2 = tables(&console(&engine.socket, SHOW));
        assert!(source_rows(&t2) >= source_rows(&t));
        t2
        // Dropped: SIGTERM, and the engine writes its history as it stops.
    };
    let file = dir.join("top-statistics.json");
    assert!(file.exists(), "no history written at shutdown");
    // Counting off this time: whatever shows comes from the file.
    std::fs::write(dir.join("startup.cfg"), "").expect("startup");
    let engine = start_engine_on(&dir, &demo(), false, "");
    let after = tables(&console(&engine.socket, SHOW));
    assert_eq!(after, before);
    drop(engine);
    // Saved again at the second shutdown, still the same.
    let engine = start_engine_on(&dir, &demo(), false, "");
    assert_eq!(tables(&console(&engine.socket, SHOW)), before);
}

#[test]
fn an_unusable_history_file_is_moved_aside_and_ignored() {
    let dir = scratch("corrupt");
    std::fs::write(
        dir.join("top-statistics.json"),
        b"{\"version\":1,\"history\":[",
    )
    .expect("file");
    let engine = start_engine_on(&dir, &demo(), false, "");
    let t = tables(&console(&engine.socket, SHOW));
    assert_eq!(source_rows(&t), 0, "{t}");
    assert!(dir.join("top-statistics.json.corrupt").exists());
    assert!(!dir.join("top-statistics.json").exists());
}
