//! One configuration model (issue #11, SPEC C4): the startup configuration is the
//! configuration, config.toml only seeds a device without one, and the cores read no packet
//! before it is in place. An inline engine on AF_PACKET in network namespaces (its
//! interfaces give the interface views their packet filters). Needs root (scripts/test.sh
//! runs it in CI).
//!
//! 1. `a_saved_configuration_survives_a_restart`: from a non-default config.toml, every
//!    configuration command and its `undo` at the console; `save`; restart: `display
//!    current-configuration` is the same, and the engine refused no line of its file. Then the
//!    same text pasted into the console of a factory-new engine after `system-view` gives the
//!    same configuration back, with no error.
//! 2. `no_denied_packet_passes_while_the_engine_starts`: a saved `packet-filter` denies a UDP
//!    flow; the engine restarts while that flow (and a permitted one) are already arriving at
//!    10,000 packets/s. Not one denied packet reaches the other side; the permitted one does.

mod common;

use common::engine::console;
use common::lab::{FW_H1_PORT, FW_H2_PORT, H2_V4, Lab, ns_out, prerequisites};
use std::path::Path;
use std::time::Duration;

/// config.toml's `[session]` for the first start: nothing at its default.
const SEED: &str = r#"mode = "hybrid"
statistics_enable = true
early_drop = false
capacity_sessions = 20000
[session.aging_time_state_s]
sctp-est = 100
udplite-open = 45
[session.aging_time_application_s]
dns = 7
[session.persistent]
acl = 3000
aging_time_hours = 12
[session.persistent_ipv6]
acl = 3000
aging_time_hours = 0
[[acl]]
number = 3000
rules = ["rule 0 permit tcp destination-port eq 22", "rule 5 permit udp"]
[[acl]]
number = 3000
ipv6 = true
rules = ["rule 0 permit tcp"]
"#;

/// The running configuration as `display current-configuration` shows it (the prompt lines
/// of the transcript left out).
fn current_configuration(socket: &Path) -> String {
    let t = console(
        socket,
        "screen-length disable\ndisplay current-configuration\n",
    );
    let start = t
        .find("#\n")
        .unwrap_or_else(|| panic!("no configuration in:\n{t}"));
    let end = t.rfind("\nreturn\n").expect("return line") + "\nreturn\n".len();
    t[start..end].to_string()
}

/// The keywords `?` lists after `line` (the console's own list, so a new keyword is covered
/// without touching this test).
fn keywords(socket: &Path, line: &str) -> Vec<String> {
    let t = console(socket, &format!("system-view\n{line} ?\n"));
    t.lines()
        .filter(|l| l.starts_with("  ") && !l.trim_start().starts_with('<'))
        .filter_map(|l| l.split_whitespace().next())
        // Keywords only: an argument (`STRING<1-63>`, a user-defined name) is not one.
        .filter(|w| !w.contains('<'))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_saved_configuration_survives_a_restart() {
    if !prerequisites(&["ip", "ethtool"]) {
        return;
    }
    let mut lab = Lab::new("cfgrt");
    let socket = lab.start_engine_with("seed", SEED, 2);
    let seeded = current_configuration(&socket);
    // config.toml's seed is the configuration while no startup file exists: every setting
    // it has shows as the console's command (the SCTP keyword included).
    for line in [
        " session mode hybrid",
        " session statistics enable",
        " undo session early-drop enable",
        " session aging-time state sctp-est 100",
        " session aging-time application dns 7",
        " session persistent acl 3000 aging-time 12",
        " rule 5 permit udp",
    ] {
        assert!(
            seeded.lines().any(|l| l == line),
            "no '{line}' in:\n{seeded}"
        );
    }

    // Every configuration command, and the undo of what the seed set.
    let states = keywords(&socket, "session aging-time state");
    assert!(states.len() >= 21, "{states:?}");
    let apps = keywords(&socket, "session aging-time application");
    assert!(apps.len() >= 40, "{apps:?}");
    let mut script = String::from("system-view\nsysname EDGE\n");
    for (i, s) in states.iter().enumerate() {
        script += &format!("session aging-time state {s} {}\n", 100 + i);
    }
    script += "undo session aging-time state syn\n";
    for (i, a) in apps.iter().enumerate() {
        script += &format!("session aging-time application {a} {}\n", 200 + i);
    }
    script += "undo session aging-time application ftp\n";
    script += "undo session mode\nundo session statistics enable\nsession early-drop enable\n";
    script += "session persistent acl 3001 aging-time 72\nundo session persistent acl ipv6\n";
    script += "undo alg ftp\nundo alg tftp\n";
    script += "port-mapping application ftp port 2121 protocol tcp\nport-mapping application http port 8080\n";
    // User-defined applications, in every form of §12, with a timer; and one undone.
    script += "port-mapping application myapp port 9000 protocol udp\n";
    script += "port-mapping application myapp port 9001 acl 2000\n";
    script +=
        "port-mapping application web2 port 8443 protocol tcp host ip 198.18.1.2 198.18.1.9\n";
    script += "port-mapping application web2 port 8444 subnet ipv6 2001:2:1:: 64\n";
    script +=
        "port-mapping application gone port 7000\nundo port-mapping application gone port 7000\n";
    script += "session aging-time application myapp 500\n";
    script += "acl advanced 3000\nundo rule 5\nrule 10 deny udp destination-port eq 9999\nquit\n";
    script += "acl advanced 3001\nrule permit tcp destination-port eq 443\nquit\n";
    script += "acl basic 2000\nrule 5 permit source 198.18.1.0 0.0.0.255\nquit\n";
    script += "acl ipv6 advanced 3002\nrule 1 deny ipv6 source 2001:2::/48\nquit\n";
    script += "acl ipv6 advanced 3000\nundo rule 0\nquit\n";
    script += &format!(
        "interface {FW_H1_PORT}\npacket-filter 3000 inbound\npacket-filter ipv6 3002 inbound\nquit\ninterface {FW_H2_PORT}\npacket-filter 3001 outbound\nquit\n"
    );
    // Session logs (issue #12): thresholds (the last traffic one applies), the interface
    // lines, and where the logs go.
    script +=
        "session log time-active 30\nsession log bytes-active 5\nsession log packets-active 7\n";
    script += "session log flow-begin\nsession log flow-end\nundo session log flow-begin\n";
    script += "info-center loghost 198.18.0.9 port 1514 facility local3\n";
    script += "info-center loghost ipv6 2001:2::9 format rfc5424 transport tcp\n";
    script += "info-center timestamp loghost iso\nuserlog flow syslog\n";
    script += "userlog flow export version 3\nuserlog flow export host 198.18.0.10 port 4000\n";
    script += "userlog flow export host 198.18.0.11 port 4739 ipfix\nuserlog flow export source-ip 198.18.0.1\n";
    script += &format!(
        "interface {FW_H1_PORT}\nsession log enable ipv4 acl 2000 inbound\nquit\ninterface {FW_H2_PORT}\nsession log enable ipv6 outbound\nsession log enable ipv4 inbound\nundo session log enable ipv4 inbound\nquit\n"
    );
    script += "return\n";
    let t = console(&socket, &script);
    assert!(!t.contains('%'), "a command was refused:\n{t}");
    let before = current_configuration(&socket);
    for line in [
        " sysname EDGE",
        " session aging-time state sctp-est",
        " undo alg ftp",
        " packet-filter ipv6 3002 inbound",
        " session aging-time application myapp 500",
        " port-mapping application web2 port 8444 subnet ipv6 2001:2:1:: 64",
        " session log packets-active 7",
        " info-center loghost ipv6 2001:2::9 format rfc5424 transport tcp",
        " userlog flow export version 3",
        " session log enable ipv4 acl 2000 inbound",
        " session log enable ipv6 outbound",
    ] {
        assert!(before.contains(line), "no '{line}' in:\n{before}");
    }
    for gone in [
        " session mode hybrid",
        " session statistics enable",
        " session early-drop",
        " session aging-time state syn ",
        " session aging-time application ftp ",
        " session persistent acl ipv6",
        " rule 5 permit udp",
        "application gone",
        " session log bytes-active",
        " session log flow-begin",
        " session log enable ipv4 inbound",
    ] {
        assert!(
            !before.contains(gone),
            "'{gone}' survived its undo:\n{before}"
        );
    }
    let t = console(&socket, "save force\n");
    assert!(t.contains("Saved the current configuration to"), "{t}");

    // The same config.toml at the next start: its seed is ignored, the file is the
    // configuration, and no line of it is refused.
    lab.stop_engine();
    let socket = lab.start_engine_with("seed", SEED, 2);
    let after = current_configuration(&socket);
    assert_eq!(after, before, "a restart changed the configuration");
    let log = lab.read_log("engine-seed.log");
    assert!(log.contains("startup configuration applied"), "{log}");
    assert!(log.contains("failed_lines: 0"), "{log}");
    assert!(!log.contains("refused"), "{log}");
    assert!(log.contains("are ignored"), "{log}");

    // Pasted into a factory-new engine after `system-view`: the same configuration, no error
    // (sections follow each other without `quit`: a command the view lacks runs in the view
    // above it).
    lab.stop_engine();
    std::fs::remove_file(lab.dir.join("startup.cfg")).expect("startup file");
    let socket = lab.start_engine_with("factory", "capacity_sessions = 20000\n", 2);
    let factory = current_configuration(&socket);
    assert!(!factory.contains("EDGE"), "{factory}");
    let t = console(&socket, &format!("system-view\n{before}"));
    assert!(!t.contains('%'), "the paste was refused:\n{t}");
    assert_eq!(current_configuration(&socket), before);
}

#[test]
fn no_denied_packet_passes_while_the_engine_starts() {
    if !prerequisites(&["ip", "ethtool", "hping3", "tcpdump"]) {
        return;
    }
    let mut lab = Lab::new("cfgfp");
    lab.static_neighbours();
    let socket = lab.start_engine_with("first", "statistics_enable = true\n", 2);
    let t = console(
        &socket,
        &format!(
            "system-view\nacl advanced 3000\nrule 0 deny udp destination-port eq 9999\nquit\ninterface {FW_H1_PORT}\npacket-filter 3000 inbound\nreturn\nsave force\n"
        ),
    );
    assert!(!t.contains('%'), "{t}");
    lab.stop_engine();

    // What reaches h2, from before the engine starts.
    let capture = lab.dir.join("h2.pcap");
    let capture_arg = capture.display().to_string();
    lab.spawn_in(
        &lab.h2.clone(),
        &[
            "tcpdump",
            "-i",
            "eth0",
            "-n",
            "-U",
            "-w",
            &capture_arg,
            "udp",
        ],
        Some("tcpdump.log"),
    );
    std::thread::sleep(Duration::from_millis(1000));
    // The denied flow at 10,000 packets/s and a permitted one, already arriving.
    let h1 = lab.h1.clone();
    lab.spawn_in(
        &h1,
        &[
            "hping3", "--udp", "-p", "9999", "-k", "-s", "40000", "-i", "u100", H2_V4,
        ],
        None,
    );
    lab.spawn_in(
        &h1,
        &[
            "hping3", "--udp", "-p", "9998", "-k", "-s", "40001", "-i", "u1000", H2_V4,
        ],
        None,
    );
    std::thread::sleep(Duration::from_millis(500));
    let socket = lab.start_engine_with("first", "statistics_enable = true\n", 2);
    std::thread::sleep(Duration::from_millis(2000));
    let drops = console(&socket, "display packet-drop summary\n");
    lab.stop_engine();

    let read = ns_out(&lab.h2, &["tcpdump", "-n", "-r", &capture_arg]);
    let seen = String::from_utf8_lossy(&read.stdout);
    let to = |port: &str| {
        seen.lines()
            .filter(|l| l.contains(&format!("{H2_V4}.{port}:")))
            .count()
    };
    assert!(
        to("9998") > 100,
        "the permitted flow did not pass: the engine did not forward\n{seen}\n{drops}"
    );
    assert_eq!(
        to("9999"),
        0,
        "denied packets passed while the engine started:\n{drops}"
    );
    assert!(drops.contains("packet_filter_deny"), "{drops}");
}
