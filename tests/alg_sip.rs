//! The SIP ALG through `sessmgr replay` on captures built to a precise shape (issue #14):
//!
//! - an INVITE too large for one frame, IP-fragmented: without `session alg fragment sip` (the
//!   default, as Comware) the fragments pass, the ALG does not see the message and counts it,
//!   and the callee's media is not related; with the command the message is reassembled and
//!   processed, and the callee's first RTP packet is `rel`;
//! - an INVITE split over TCP segments is framed by its `Content-Length`;
//! - floods: 10,000 calls on one signalling session, and an SDP of 1,000 `m=` lines, stay
//!   within the class limits and are counted.

mod common;

use common::frames::{ACK, PSH, SYN, tcp4, udp4, udp4_fragments, write_pcap};
use common::replay::{json_lines, replay};
use std::path::{Path, PathBuf};

const CALLER: [u8; 4] = [198, 18, 0, 1];
const CALLEE: [u8; 4] = [198, 19, 0, 2];

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sessmgr-alg-sip-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// An INVITE from the caller offering audio at `port`, its SDP padded with `pad` attribute
/// lines (a large offer, as with many codecs or ICE candidates).
fn invite(call: &str, port: u16, pad: usize) -> Vec<u8> {
    let mut body = format!(
        "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nc=IN IP4 198.18.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n"
    );
    for i in 0..pad {
        body.push_str(&format!(
            "a=candidate:{i} 1 UDP 2130706431 198.18.0.1 {port} typ host\r\n"
        ));
    }
    format!(
        "INVITE sip:bob@198.19.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bK{call}\r\n\
         From: <sip:alice@198.18.0.1>;tag=1\r\nTo: <sip:bob@198.19.0.2>\r\nCall-ID: {call}\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:alice@198.18.0.1>\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// `sessmgr replay --startup FILE --exec COMMAND`: what the console shows after the capture.
fn replay_exec(path: &Path, startup: &str, command: &str) -> String {
    let file = path.with_extension("cfg");
    std::fs::write(&file, startup).expect("startup file");
    let file = file.to_string_lossy().into_owned();
    replay(path, &["--startup", &file, "--exec", command])
}

/// `name N` of a replay summary's counters.
fn counter(summary: &str, name: &str) -> u64 {
    summary
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(name)).then(|| w.next()?.trim_end_matches(',').parse().ok())?
        })
        .unwrap_or(0)
}

#[test]
fn a_fragmented_invite_is_processed_only_with_session_alg_fragment_sip() {
    let d = dir("frag");
    let msg = invite("frag-1", 40000, 40);
    assert!(msg.len() > 2000, "the INVITE must exceed an Ethernet MTU");
    let mut frames = udp4_fragments(CALLER, 5060, CALLEE, 5060, 7, &msg, 1400);
    assert!(frames.len() >= 2);
    // The callee's first RTP packet to the offered port: from the server side.
    frames.push(udp4(CALLEE, 30000, CALLER, 40000, &[0x80; 172]));
    let rtp = frames.len();
    let path = d.join("frag.pcap");
    write_pcap(&path, &frames);

    let off = json_lines(&replay(&path, &["--verdicts"]));
    assert_eq!(off[rtp - 1]["verdict"], "new", "{}", off[rtp - 1]);
    assert!(
        off.iter()
            .all(|l| l["expect"].as_array().is_none_or(Vec::is_empty))
    );
    let summary = replay(&path, &[]);
    assert_eq!(
        counter(&summary, "alg_sip_fragmented_not_inspected"),
        1,
        "{summary}"
    );

    // With the command: the callee's RTP session claimed the entry the INVITE announced, so
    // it carries the SIP application (without it, the RTP session is unrelated: OTHER).
    let app_of_rtp = |startup: &str| {
        let text = replay_exec(&path, startup, "display session table ipv4 verbose");
        let block = text
            .split("Initiator:")
            .find(|b| {
                b.contains("198.19.0.2/30000") && b.find("198.19.0.2/30000") < b.find("Responder:")
            })
            .unwrap_or_else(|| panic!("no RTP session in {text}"))
            .to_string();
        block
            .lines()
            .find_map(|l| l.trim().strip_prefix("Application: ").map(str::to_string))
            .unwrap_or_default()
    };
    assert_eq!(app_of_rtp("session alg fragment sip\n"), "SIP");
    assert_eq!(app_of_rtp("undo session alg fragment sip\n"), "OTHER");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_invite_over_tcp_split_over_segments_is_framed_by_its_length() {
    let d = dir("tcp");
    let msg = invite("tcp-1", 41000, 3);
    let (a, b) = msg.split_at(msg.len() / 2);
    let frames = vec![
        tcp4(CALLER, 45000, CALLEE, 5060, SYN, 99, 0, b""),
        tcp4(CALLEE, 5060, CALLER, 45000, SYN | ACK, 499, 100, b""),
        tcp4(CALLER, 45000, CALLEE, 5060, ACK, 100, 500, b""),
        tcp4(CALLER, 45000, CALLEE, 5060, PSH | ACK, 100, 500, a),
        tcp4(
            CALLER,
            45000,
            CALLEE,
            5060,
            PSH | ACK,
            100 + a.len() as u32,
            500,
            b,
        ),
        udp4(CALLEE, 30000, CALLER, 41000, &[0x80; 172]),
    ];
    let path = d.join("tcp.pcap");
    write_pcap(&path, &frames);
    let out = json_lines(&replay(&path, &["--verdicts"]));
    assert!(
        out[3]["expect"].as_array().is_none_or(Vec::is_empty),
        "nothing before the message is whole"
    );
    let e = out[4]["expect"].as_array().cloned().unwrap_or_default();
    assert_eq!(e.len(), 2, "{}", out[4]);
    assert_eq!(e[0]["proto"], 17);
    assert_eq!(out[5]["verdict"], "rel", "{}", out[5]);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn floods_stay_within_the_class_limits_and_are_counted() {
    let d = dir("flood");
    // 10,000 calls offered on one signalling session: audio keeps at most 4 entries.
    let mut frames = Vec::new();
    for i in 0..10_000u32 {
        frames.push(udp4(
            CALLER,
            5060,
            CALLEE,
            5060,
            &invite(&format!("c{i}"), 20000 + (i % 20000) as u16 * 2, 0),
        ));
    }
    // One SDP with 1,000 media lines.
    let mut body = String::from("v=0\r\nc=IN IP4 198.18.0.1\r\n");
    for i in 0..1000 {
        body.push_str(&format!("m=audio {} RTP/AVP 0\r\n", 2000 + 2 * i));
    }
    let big = format!(
        "INVITE sip:bob@198.19.0.2 SIP/2.0\r\nCall-ID: big\r\nCSeq: 1 INVITE\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    frames.push(udp4(CALLER, 5062, CALLEE, 5060, big.as_bytes()));
    let path = d.join("flood.pcap");
    write_pcap(&path, &frames);
    let out = json_lines(&replay(&path, &["--verdicts"]));
    let table = out.last().expect("final table");
    let live = table["relations"].as_array().map_or(0, Vec::len);
    assert!(
        live <= 8,
        "two signalling sessions, at most 4 audio entries each: {live}"
    );
    let summary = replay(&path, &[]);
    // 20,000 announced by the calls, 4 kept; 32 by the big SDP (16 media read), 4 kept.
    assert_eq!(
        counter(&summary, "alg_sip_audio_limit_hit"),
        20_000 - 4 + 32 - 4,
        "{summary}"
    );
    assert_eq!(
        counter(&summary, "alg_sip_sdp_too_many_media"),
        1,
        "{summary}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_registered_contact_takes_the_registrars_calls_and_the_alg_follows_them() {
    let d = dir("register");
    let phone = CALLER;
    let registrar = CALLEE;
    let register = "REGISTER sip:example.com SIP/2.0\r\nCall-ID: reg-1\r\nCSeq: 5 REGISTER\r\n\
                    Contact: <sip:alice@198.18.0.1:5062>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n";
    let ok = "SIP/2.0 200 OK\r\nCall-ID: reg-1\r\nCSeq: 5 REGISTER\r\n\
              Contact: <sip:alice@198.18.0.1:5062>;expires=600\r\nContent-Length: 0\r\n\r\n";
    let body = "v=0\r\nc=IN IP4 198.19.0.2\r\nm=audio 31000 RTP/AVP 0\r\n";
    let call = format!(
        "INVITE sip:alice@198.18.0.1:5062 SIP/2.0\r\nCall-ID: in-1\r\nCSeq: 1 INVITE\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let frames = vec![
        udp4(phone, 5060, registrar, 5060, register.as_bytes()),
        udp4(registrar, 5060, phone, 5060, ok.as_bytes()),
        // The registrar's call to the registered contact: a new session from the far side.
        udp4(registrar, 5060, phone, 5062, call.as_bytes()),
        // The phone's media to the port the call offered.
        udp4(phone, 32000, registrar, 31000, &[0x80; 172]),
    ];
    let path = d.join("register.pcap");
    write_pcap(&path, &frames);
    let out = json_lines(&replay(&path, &["--verdicts"]));
    let first = out[0]["expect"].as_array().cloned().unwrap_or_default();
    assert_eq!(first.len(), 1, "{}", out[0]);
    assert_eq!(
        (first[0]["dst"].as_str(), first[0]["dport"].as_u64()),
        (Some("198.18.0.1"), Some(5062))
    );
    assert_eq!(first[0]["src"], "198.19.0.2");
    assert_eq!(
        out[2]["verdict"], "rel",
        "the call claims the registration: {}",
        out[2]
    );
    let media = out[2]["expect"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        media.len(),
        2,
        "the SIP ALG follows the incoming call: {}",
        out[2]
    );
    assert_eq!(out[3]["verdict"], "rel", "{}", out[3]);
    // The registration stays (permanent) for the next call.
    let table = out.last().expect("final table");
    let left: Vec<u64> = table["relations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["dport"].as_u64())
        .collect();
    assert!(left.contains(&5062), "{left:?}");
    let _ = std::fs::remove_dir_all(&d);
}
