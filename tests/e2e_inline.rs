//! End to end (issue #3): two hosts in their own network namespaces joined through
//! `sessmgr run` inline, over two veth pairs, once on each Linux back-end: AF_PACKET and
//! AF_XDP (issue #15). Real programs (curl against
//! python's http.server over IPv4 and IPv6, a UDP request/response, ping and ping6, a UDP
//! datagram to a closed port answered by ICMP port-unreachable) pass and are tracked; a TCP
//! segment without SYN that starts no known connection is dropped in bidirectional mode and
//! passes in hybrid mode. The engine is read through its own control socket.
//!
//! Needs root (namespaces, veth, AF_PACKET, AF_XDP and bpf(2)). Outside CI it skips with a reason when not
//! root; in CI it fails instead. Addresses: 198.18.0.0/15 and 2001:2::/48 only.

mod common;

use common::lab::{Lab, dump, ns_out, prerequisites};
use serde_json::Value;
use std::time::Duration;

fn find_session<'a>(sessions: &'a Value, proto: &str, dport: u64) -> Option<&'a Value> {
    sessions["sessions"]
        .as_array()?
        .iter()
        .find(|s| s["proto"] == proto && s["orig"]["dport"].as_u64() == Some(dport))
}

const UDP_ECHO: &str = "import socket,sys\ns=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM)\ns.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0)\ns.bind(('::',40053))\nwhile True:\n d,a=s.recvfrom(2048); s.sendto(d,a)\n";
const UDP_ASK: &str = "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.settimeout(3)\ns.sendto(b'ping over udp',(sys.argv[1],int(sys.argv[2])))\nprint(s.recvfrom(2048)[0].decode())\n";
const UDP_CLOSED: &str = "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.connect(('198.18.1.2',40999))\ns.send(b'anyone?')\ns.settimeout(2)\ntry:\n s.recv(100)\nexcept ConnectionRefusedError:\n print('refused')\nexcept Exception as e:\n print('no answer', e)\n";
/// One TCP ACK segment (no SYN, no connection) from 198.18.1.1:40777 to 198.18.1.2:8080,
/// sent with hping3.
fn send_stray_ack(ns: &str) {
    let out = ns_out(
        ns,
        &[
            "hping3",
            "-c",
            "1",
            "-A",
            "-s",
            "40777",
            "-k",
            "-p",
            "8080",
            "-M",
            "123456",
            "-L",
            "654321",
            "198.18.1.2",
        ],
    );
    // hping3 exits 1 when nothing answers (bidirectional mode drops the segment): not an error.
    assert!(
        out.status.code().is_some(),
        "hping3 did not run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(500));
}

#[test]
fn inline_afpacket_between_two_hosts() {
    inline_between_two_hosts("sm", "afpacket");
}

#[test]
fn inline_afxdp_between_two_hosts() {
    inline_between_two_hosts("smx", "afxdp");
}

/// Every scenario on `backend`, in namespaces named after `prefix`.
fn inline_between_two_hosts(prefix: &str, backend: &'static str) {
    if !prerequisites(&["ip", "curl", "ping", "python3", "ethtool", "hping3"]) {
        return;
    }
    let mut lab = Lab::with_backend(prefix, backend);
    let (h1, h2) = (lab.h1.clone(), lab.h2.clone());
    lab.http_server(&h2);
    lab.spawn_in(&h2, &["python3", "-c", UDP_ECHO], None);
    std::thread::sleep(Duration::from_millis(500));

    // ---- bidirectional (default) mode ----
    let socket = lab.start_engine("bidirectional");
    for url in ["http://198.18.1.2:8080/", "http://[2001:2:1::2]:8080/"] {
        let curl = ns_out(
            &h1,
            &[
                "curl",
                "-sS",
                "-m",
                "5",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                url,
            ],
        );
        assert_eq!(
            String::from_utf8_lossy(&curl.stdout),
            "200",
            "curl {url}: {}",
            String::from_utf8_lossy(&curl.stderr)
        );
    }
    // Right away: a closed connection lives 2 s in TIME_WAIT (TCP-TIME-WAIT aging).
    let sessions = dump(&socket, "sessions");
    let http = find_session(&sessions, "tcp", 8080)
        .unwrap_or_else(|| panic!("no HTTP session in {sessions}"));
    assert!(
        matches!(
            http["state"].as_str(),
            Some("TIME_WAIT" | "FIN_WAIT" | "CLOSE_WAIT" | "LAST_ACK" | "ESTABLISHED" | "CLOSE")
        ),
        "{http}"
    );
    let v6 = sessions["sessions"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .any(|s| s["proto"] == "tcp" && s["orig"]["dst"] == "2001:2:1::2");
    assert!(v6, "no IPv6 HTTP session in {sessions}");
    let udp = ns_out(&h1, &["python3", "-c", UDP_ASK, "198.18.1.2", "40053"]);
    assert_eq!(
        String::from_utf8_lossy(&udp.stdout).trim(),
        "ping over udp",
        "UDP: {}",
        String::from_utf8_lossy(&udp.stderr)
    );
    assert!(
        ns_out(&h1, &["ping", "-c", "2", "-W", "2", "198.18.1.2"])
            .status
            .success(),
        "ping"
    );
    assert!(
        ns_out(&h1, &["ping", "-6", "-c", "2", "-W", "2", "2001:2:1::2"])
            .status
            .success(),
        "ping6"
    );
    let refused = ns_out(&h1, &["python3", "-c", UDP_CLOSED]);
    assert_eq!(
        String::from_utf8_lossy(&refused.stdout).trim(),
        "refused",
        "ICMP port unreachable must pass back"
    );

    let sessions = dump(&socket, "sessions");
    let echo = find_session(&sessions, "udp", 40053)
        .unwrap_or_else(|| panic!("no UDP session in {sessions}"));
    assert_eq!(echo["state"], "READY", "{echo}");
    let icmp = sessions["sessions"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .filter(|s| s["proto"] == "icmp" || s["proto"] == "icmpv6")
        .count();
    assert!(icmp >= 2, "ping sessions missing in {sessions}");
    // S3: the port-unreachable is counted on the UDP session it quotes, in the reply direction.
    let closed = find_session(&sessions, "udp", 40999)
        .unwrap_or_else(|| panic!("no session for the closed port in {sessions}"));
    assert_eq!(
        closed["packets"][1].as_u64(),
        Some(1),
        "ICMP error not mapped to its session: {closed}"
    );

    // A TCP segment without SYN that starts no connection: dropped, counted.
    let before = dump(&socket, "stats")["drops"]["tcp_not_syn_first"]
        .as_u64()
        .unwrap_or(0);
    send_stray_ack(&h1);
    let after = dump(&socket, "stats")["drops"]["tcp_not_syn_first"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(
        after,
        before + 1,
        "bidirectional mode must drop a non-SYN first segment"
    );
    assert!(
        find_session(&dump(&socket, "sessions"), "tcp", 8080)
            .is_none_or(|s| s["orig"]["sport"] != 40777)
    );
    lab.stop_engine();

    // ---- hybrid mode: the same segment passes and opens a session; h2 answers with RST ----
    let socket = lab.start_engine("hybrid");
    send_stray_ack(&h1);
    let stats = dump(&socket, "stats");
    assert_eq!(
        stats["drops"]["tcp_not_syn_first"].as_u64().unwrap_or(0),
        0,
        "{stats}"
    );
    // It opened a session; h2's kernel answered the stray ACK with an RST, which (as in
    // nf_conntrack) closes a session whose only answer is a reset at once.
    assert_eq!(
        stats["created"].as_u64(),
        Some(1),
        "hybrid mode did not pick the segment up: {stats}"
    );
    assert_eq!(
        stats["closed"].as_u64(),
        Some(1),
        "no RST came back from h2: {stats}"
    );
    lab.stop_engine();
}
