//! Issue #11, SPEC S5: a user-defined application end to end. The operator names it at the
//! console (`port-mapping application myapp port 9000`); traffic to the port then creates
//! sessions showing it; `display session table ipv4 application myapp` lists them; `session
//! aging-time application myapp 77` changes their aging (in `display session aging-time
//! application` and in the session's TTL); `undo` removes it. The engine plays a capture of
//! one TCP handshake to port 9000 in a loop (one lap a second or so), so sessions come again
//! after the table is reset.

mod common;

use common::engine::{console, start_engine_on, ttls};
use common::frames::handshake_pcap;
use std::time::{Duration, Instant};

#[test]
fn a_user_defined_application_from_definition_to_undo() {
    let dir = std::env::temp_dir().join(format!("sessmgr-console-apps-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let capture = dir.join("handshake.pcap");
    handshake_pcap(&capture, 9000);
    let engine = start_engine_on(&dir, &capture, true, "");
    let mine = "display session table ipv4 application myapp verbose\n";

    // Not an application yet.
    let t = console(&engine.socket, mine);
    assert!(
        t.contains(" % The application myapp does not exist."),
        "{t}"
    );

    // Defined; the sessions made before keep their application: a reset clears them, the
    // next lap of the capture makes a new one.
    let t = console(
        &engine.socket,
        "system-view\nport-mapping application myapp port 9000\ndisplay port-mapping user-defined\nreturn\nreset session table\n",
    );
    assert!(
        t.contains("\n MYAPP              9000   ---          ---          ---\n"),
        "{t}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let t = console(&engine.socket, mine);
        if t.contains("TCP_ESTABLISHED") {
            break t;
        }
        assert!(Instant::now() < deadline, "no myapp session:\n{t}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(listed.contains("Application: MYAPP"), "{listed}");
    assert!(listed.contains("Total sessions found: 1"), "{listed}");
    assert!(
        listed.contains("Destination IP/port: 198.19.0.2/9000"),
        "{listed}"
    );
    // The generic 1200 s of an identified application without a timer of its own.
    let t = ttls(&listed);
    assert_eq!(t.len(), 1, "{listed}");
    assert!((1190..=1200).contains(&t[0]), "{listed}");
    let t = console(
        &engine.socket,
        "display session table ipv4 application ftp\n",
    );
    assert!(t.contains("Total sessions found: 0"), "{t}");

    // Its own aging time: in the aging display and in the live session's TTL.
    let t = console(
        &engine.socket,
        &format!(
            "system-view\nsession aging-time application myapp 77\ndisplay session aging-time application\n{mine}"
        ),
    );
    assert!(
        t.lines()
            .any(|l| l.starts_with("myapp ") && l.trim_end().ends_with(" 77")),
        "{t}"
    );
    let ttl = ttls(&t);
    assert_eq!(ttl.len(), 1, "{t}");
    assert!(ttl[0] <= 77, "the session kept its old TTL:\n{t}");
    let t = console(&engine.socket, "display current-configuration\n");
    assert!(
        t.contains(
            " port-mapping application myapp port 9000\n session aging-time application myapp 77\n"
        ),
        "{t}"
    );

    // Undone: no application of that name, no timer; its session keeps the id, shown as
    // OTHER, and ages by its state again.
    let t = console(
        &engine.socket,
        "system-view\nundo port-mapping application myapp port 9000\ndisplay port-mapping user-defined\ndisplay session aging-time application\nreturn\ndisplay session table ipv4 destination-port 9000 verbose\n",
    );
    // Only the typed `undo` line names it.
    assert_eq!(t.matches("myapp").count(), 1, "{t}");
    assert!(!t.contains("MYAPP"), "{t}");
    assert!(t.contains("Application: OTHER"), "{t}");
    let ttl = ttls(&t);
    assert_eq!(ttl.len(), 1, "{t}");
    assert!(ttl[0] > 3000, "not back to TCP-EST aging:\n{t}");
    let t = console(&engine.socket, mine);
    assert!(
        t.contains(" % The application myapp does not exist."),
        "{t}"
    );
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}
