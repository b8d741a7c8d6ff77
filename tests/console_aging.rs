//! Issue #4: `session aging-time state tcp-est 10` changes the remaining TTL of live sessions
//! (Comware derives it from the state's aging time, so a change applies at once), and `undo`
//! brings back the 3600 s default. The engine plays a capture of one TCP handshake to a port
//! no application claims (so the state's aging time is the one that applies, A4).

mod common;

use common::engine::{console, start_engine_on, ttls};
use common::frames::handshake_pcap;

#[test]
fn tcp_est_aging_changes_live_ttls_and_undo_restores_3600() {
    let dir = std::env::temp_dir().join(format!("sessmgr-console-aging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let capture = dir.join("handshake.pcap");
    handshake_pcap(&capture, 40001);
    let engine = start_engine_on(&dir, &capture, false, "");
    // The capture plays once, at once.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let show = "display session table ipv4 verbose\n";
    let before = console(&engine.socket, show);
    assert!(
        before.contains("TCP_ESTABLISHED") || before.contains("ESTABLISHED"),
        "{before}"
    );
    let t = ttls(&before);
    assert_eq!(t.len(), 1, "{before}");
    assert!((3590..=3600).contains(&t[0]), "{before}");

    let changed = console(
        &engine.socket,
        &format!("system-view\nsession aging-time state tcp-est 10\n{show}"),
    );
    let t = ttls(&changed);
    assert_eq!(t.len(), 1, "{changed}");
    assert!(t[0] <= 10, "the live session keeps its old TTL:\n{changed}");
    let aging = console(&engine.socket, "display session aging-time state\n");
    assert!(
        aging
            .lines()
            .any(|l| l.starts_with("TCP-EST") && l.trim_end().ends_with(" 10")),
        "{aging}"
    );

    let undone = console(
        &engine.socket,
        &format!("system-view\nundo session aging-time state tcp-est\n{show}"),
    );
    let t = ttls(&undone);
    assert_eq!(t.len(), 1, "{undone}");
    assert!(
        (3590..=3600).contains(&t[0]),
        "undo did not restore 3600:\n{undone}"
    );
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}
