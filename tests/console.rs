//! The console end to end (SPEC C1-C4), through `sessmgr console` against a running engine
//! (pcap playback of the project's own capture; no root needed): prompts and views, the
//! Comware errors with the caret, `?` help, display/reset commands on real sessions,
//! configuration changes reaching the cores, `save` and the startup configuration applied at
//! the next start, and two consoles at once.

mod common;

use common::engine::{console, start_engine};
use std::time::Duration;

#[test]
fn console_drives_the_running_engine() {
    let dir = std::env::temp_dir().join(format!("sessmgr-console-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let engine = start_engine(&dir, true);
    std::thread::sleep(Duration::from_millis(1500)); // the capture plays once

    // Views, prompts, errors with the caret, help.
    let t = console(
        &engine.socket,
        "display session foo\ndis sess ?\nsystem-view\nsession aging-time state udp-ready 90\ndisplay session aging-time state | include UDP-READY\nacl advanced 3001\nrule permit tcp destination-port eq 443\nquit\nsession persistent acl 3001 aging-time 72\nsysname FW1\nreturn\nquit\n",
    );
    assert!(t.contains("<H3C>display session foo\n                     ^\n % Unrecognized command found at '^' position.\n"), "{t}");
    assert!(
        t.contains("  table           Display session table information"),
        "{t}"
    );
    assert!(
        t.contains("[H3C-acl-ipv4-adv-3001]rule permit tcp destination-port eq 443"),
        "{t}"
    );
    assert!(t.contains("UDP-READY                 90\n"), "{t}");
    assert!(t.contains("[FW1]return\n<FW1>quit"), "{t}");

    // Real sessions: the table agrees with itself and with the statistics.
    let t = console(
        &engine.socket,
        "display session table ipv4 verbose\ndisplay session statistics summary\n",
    );
    let blocks = t.matches("\nInitiator:\n").count();
    let total: usize = t
        .split("Total sessions found: ")
        .nth(1)
        .and_then(|r| r.lines().next())
        .and_then(|n| n.trim().parse().ok())
        .expect("total line");
    assert!(total > 0, "no sessions shown:\n{t}");
    assert_eq!(blocks, total, "{t}");
    assert!(t.contains("State: "), "{t}");
    assert!(t.contains("Sessions  TCP       UDP"), "{t}");

    // Issue #5's commands: the relation table, ALG switches, port mapping; an interface
    // view exists only for the engine's interfaces (none when it plays a capture).
    let t = console(
        &engine.socket,
        "display session relation-table ipv4\ndisplay session statistics\nreset session relation-table\nsystem-view\nundo alg ftp\nport-mapping application ftp port 2121 protocol tcp\ndisplay port-mapping user-defined\ninterface eth9\nreturn\nquit\n",
    );
    assert!(t.contains("Total entries found:  0\n"), "{t}");
    assert!(t.contains("Current relation-table entries: 0"), "{t}");
    assert!(
        t.contains(" FTP                2121   TCP          ---          ---\n"),
        "{t}"
    );
    assert!(
        t.contains(
            "[FW1]interface eth9\n               ^\n % Wrong parameter found at '^' position.\n"
        ),
        "{t}"
    );

    // The configuration, saved; reset empties the table.
    let t = console(
        &engine.socket,
        "display current-configuration\nsave\nreset session table\ndisplay session table ipv4\n",
    );
    for line in [
        " sysname FW1",
        " session aging-time state udp-ready 90",
        " session persistent acl 3001 aging-time 72",
        " port-mapping application ftp port 2121 protocol tcp",
        " undo alg ftp",
        "acl advanced 3001",
        " rule 0 permit tcp destination-port eq 443",
        "return",
    ] {
        assert!(t.lines().any(|l| l == line), "missing '{line}' in:\n{t}");
    }
    assert!(t.contains("Saved the current configuration to"), "{t}");
    assert!(t.contains("Total sessions found: 0"), "{t}");
    drop(engine);

    // The next start applies the saved configuration.
    let engine = start_engine(&dir, true);
    let t = console(&engine.socket, "display current-configuration\n");
    assert!(t.starts_with("<FW1>"), "{t}");
    assert!(
        t.lines()
            .any(|l| l == " session aging-time state udp-ready 90"),
        "{t}"
    );
    assert!(
        t.lines()
            .any(|l| l == " rule 0 permit tcp destination-port eq 443"),
        "{t}"
    );
    for line in [
        " undo alg ftp",
        " port-mapping application ftp port 2121 protocol tcp",
    ] {
        assert!(t.lines().any(|l| l == line), "missing '{line}' in:\n{t}");
    }

    // Two consoles at once: each answers, one's change shows in the other's prompt.
    let a = std::thread::spawn({
        let s = engine.socket.clone();
        move || console(&s, "system-view\nsysname EDGE\nreturn\n")
    });
    let b = console(&engine.socket, "display version\n");
    assert!(b.contains("sessmgr"), "{b}");
    assert!(a.join().expect("console a").contains("[EDGE]return"));
    let t = console(&engine.socket, "display version\n");
    assert!(t.starts_with("<EDGE>"), "{t}");
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #11: a transcript never shows a control character raw, whether typed in the script
/// or sent back by the engine (a device name holding an escape): caret notation, and the `^`
/// of an error still under the offending word.
#[test]
fn control_characters_are_shown_escaped_in_a_transcript() {
    let dir = std::env::temp_dir().join(format!("sessmgr-console-ctl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let engine = start_engine(&dir, false);
    let t = console(
        &engine.socket,
        "display\u{b}version foo\n\u{1b}[2J\u{7}\nsystem-view\nsysname \"x\u{1b}[31my\"\ndisplay this | include sysname\nundo sysname\nreturn\nquit\n",
    );
    assert!(
        !t.chars().any(|c| c.is_control() && c != '\n'),
        "a raw control character: {t:?}"
    );
    // The vertical tab separates words (it is blank) and takes two columns shown: the caret
    // moves with it.
    assert!(
        t.contains("<H3C>display^Kversion foo\n                      ^\n % Too many parameters found at '^' position.\n"),
        "{t}"
    );
    assert!(t.contains("<H3C>^[[2J^G\n     ^\n"), "{t}");
    assert!(
        t.contains("[x^[[31my]display this | include sysname\n sysname x^[[31my\n"),
        "{t}"
    );
    assert!(t.contains("[x^[[31my]undo sysname\n[H3C]return"), "{t}");
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}
