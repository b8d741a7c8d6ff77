//! End to end: a half-closed connection keeps its session while the side that has not
//! closed still sends (RFC 9293 §3.6), even when the first side's FIN crosses the engine twice.
//!
//! Two hosts joined through `sessmgr run` inline on AF_PACKET in bidirectional mode
//! (tests/common/lab.rs). h2's server sends a line and closes its sending side; an nftables
//! rule in h1 drops the first FIN it receives, so h2's kernel sends the FIN again and the
//! engine sees it twice, as it does when a server probes a full receive window with its FIN
//! or retransmits it. h1 reads the line and the end of the stream, waits 4 s (twice Comware's
//! 2 s TIME_WAIT), then sends its last line and closes. h2 must receive that line and the
//! close, and the engine must drop nothing as `tcp_not_syn_first`.
//!
//! Before the fix (docs/conformance.md, "A FIN sent again") the second FIN moved the session
//! to LAST_ACK and h1's ACK to TIME_WAIT: 2 s later the session was gone and h1's last line
//! and FIN were dropped, retransmitted, dropped again. The same happened to rate-limited
//! downloads in tests/e2e_failover.rs and tests/e2e_restart.rs (their servers finish seconds
//! before the clients), but only now and then; here the second FIN is made on purpose.
//!
//! Needs root, nft, python3; outside CI it skips with a reason when they are missing, in CI
//! it fails instead. Addresses: 198.18.0.0/15 only.

mod common;

use common::acceptance::Checks;
use common::ha::{Background, drop_count, wait_until};
use common::lab::{H2_V4, Lab, must, ns_out, prerequisites};
use std::time::{Duration, Instant};

const PORT: u16 = 40100;
/// Longer than the 2 s TIME_WAIT, well inside the 30 s FIN aging.
const HALF_CLOSED_S: &str = "4";

/// h2: one connection; send a line, close the sending side, print what comes back and EOF.
const SERVER: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print("LISTEN", flush=True)
c, _ = s.accept()
c.sendall(b"hello from the server\n")
c.shutdown(socket.SHUT_WR)
c.settimeout(30)
got = c.makefile("rb").read()
print("GOT", got.decode().strip(), flush=True)
print("EOF", flush=True)
"#;

/// h1: read to the end of the stream, stay half closed for argv[3] s, send a last line, close.
const CLIENT: &str = r#"
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
got = s.makefile("rb").read()
print("READ", got.decode().strip(), flush=True)
time.sleep(float(sys.argv[3]))
s.sendall(b"last words\n")
s.shutdown(socket.SHUT_WR)
time.sleep(0.5)
s.close()
print("DONE", flush=True)
"#;

/// nftables in h1: drop the first FIN from the server's port, let every later one through
/// (`numgen inc` is evaluated only for packets that matched the expressions before it).
fn drop_first_fin(lab: &Lab) {
    let rules = format!(
        "table inet halfclose {{\n chain input {{\n  type filter hook input priority 0; policy accept;\n  tcp sport {PORT} tcp flags & fin == fin counter numgen inc mod 1000000 == 0 counter drop\n }}\n}}\n"
    );
    let file = lab.dir.join("halfclose.nft");
    std::fs::write(&file, rules).expect("write nft rules");
    must(&[
        "ip",
        "netns",
        "exec",
        &lab.h1,
        "nft",
        "-f",
        &file.display().to_string(),
    ]);
}

/// The counters of h1's rule: (FINs seen, FINs dropped).
fn fin_counters(lab: &Lab) -> (u64, u64, String) {
    let out = ns_out(&lab.h1, &["nft", "list", "table", "inet", "halfclose"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let packets: Vec<u64> = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "packets")
        .filter_map(|w| w[1].parse().ok())
        .collect();
    (
        packets.first().copied().unwrap_or(0),
        packets.get(1).copied().unwrap_or(0),
        text,
    )
}

#[test]
fn a_half_closed_connection_outlives_a_fin_sent_again() {
    if !prerequisites(&["ip", "ethtool", "python3", "nft"]) {
        return;
    }
    let started = Instant::now();
    let mut lab = Lab::new("hc");
    lab.static_neighbours();
    let mut checks = Checks::default();
    let socket = lab.start_engine_with("halfclose", "", 1);
    drop_first_fin(&lab);

    let port = PORT.to_string();
    let mut server = Background::start(
        &lab.h2,
        &["python3", "-c", SERVER, H2_V4, &port],
        lab.dir.join("server.out"),
    );
    let listening = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        server.output().contains("LISTEN")
    });
    assert!(listening, "the server did not start: {}", server.output());
    let mut client = Background::start(
        &lab.h1,
        &["python3", "-c", CLIENT, H2_V4, &port, HALF_CLOSED_S],
        lab.dir.join("client.out"),
    );

    let client_out = client.finish(Duration::from_secs(30));
    checks.check(
        matches!(&client_out, Ok(o) if o.contains("READ hello from the server") && o.contains("DONE")),
        "h1 reads the server's line and the end of its stream, and closes after 4 s half closed",
        || format!("{client_out:?}"),
    );
    let (seen, dropped, rules) = fin_counters(&lab);
    checks.check(
        dropped == 1 && seen >= 2,
        "h1 dropped the server's first FIN and took the one sent again (the engine saw two)",
        || format!("FINs seen {seen}, dropped {dropped}:\n{rules}"),
    );
    let server_out = server.finish(Duration::from_secs(20));
    checks.check(
        matches!(&server_out, Ok(o) if o.contains("GOT last words") && o.contains("EOF")),
        "h2 receives h1's last line and its FIN, sent 4 s after the server closed",
        || format!("{server_out:?}"),
    );
    let (drops, all) = drop_count(&socket, "tcp_not_syn_first");
    checks.check(
        drops == 0,
        "the engine dropped nothing as tcp_not_syn_first",
        || format!("drops: {all}"),
    );
    lab.stop_engine();
    checks.finish(started, &lab.read_log("engine-halfclose.log"));
}
