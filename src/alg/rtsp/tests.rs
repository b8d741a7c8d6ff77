//! The RTSP ALG through the test kit: what each message announces, refreshes and withdraws.

use super::*;
use crate::alg::kit::AlgKit;
use crate::alg::{Change, tag_of};

const CLIENT: &str = "10.1.1.10";
const SERVER: &str = "10.2.2.2";

fn kit() -> AlgKit<Rtsp> {
    AlgKit::new("10.1.1.10:52472", "10.2.2.2:8554")
}

/// UDP media from `src` (any port) to `dst:dport`.
fn media(k: &AlgKit<Rtsp>, src: &str, dst: &str, dport: u16) -> Expect {
    k.expect_class(MEDIA, ipproto::UDP, src, None, dst, dport)
}

fn media_tag(k: &AlgKit<Rtsp>) -> Vec<u32> {
    k.announced().iter().map(|(_, t)| t.tag).collect()
}

fn setup(cseq: u32, transport: &str, session: Option<&str>) -> Vec<u8> {
    let session = session.map_or(String::new(), |s| format!("Session: {s}\r\n"));
    format!("SETUP rtsp://10.2.2.2:8554/trackID=0 RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: LibVLC/3.0.16 (LIVE555 Streaming Media v2016.11.28)\r\nTransport: {transport}\r\n{session}\r\n").into_bytes()
}

fn ok(cseq: u32, transport: &str, session: &str) -> Vec<u8> {
    format!("RTSP/1.0 200 OK\r\nServer: VLC/3.0.12\r\nTransport: {transport}\r\nSession: {session};timeout=60\r\nContent-Length: 0\r\nCseq: {cseq}\r\n\r\n").into_bytes()
}

/// The first stream of ../shared/pcaps/ndpi-rtsp.pcap (VLC 3.0.16 playing from a VLC 3.0.12
/// server): two SETUPs, PLAY, then the end of the session.
#[test]
fn vlc_session_expects_rtp_and_rtcp_per_track_then_tears_down() {
    let mut k = kit();
    let sid = "8c30e102191f49d1";
    assert!(
        k.client(&setup(4, "RTP/AVP;unicast;client_port=55664-55665", None))
            .is_empty()
    );
    let e = k.server(&ok(
        4,
        "RTP/AVP/UDP;unicast;client_port=55664-55665;server_port=58547-58548;ssrc=B1964B48;mode=play",
        sid,
    ));
    assert_eq!(
        e,
        vec![
            media(&k, SERVER, CLIENT, 55664),
            media(&k, SERVER, CLIENT, 55665)
        ]
    );
    k.client(&setup(
        5,
        "RTP/AVP;unicast;client_port=55666-55667",
        Some(sid),
    ));
    // The reply split over two segments.
    let reply = ok(
        5,
        "RTP/AVP/UDP;unicast;client_port=55666-55667;server_port=57431-57432;ssrc=935E47F4;mode=play",
        sid,
    );
    assert!(k.server(&reply[..40]).is_empty());
    let e = k.server(&reply[40..]);
    assert_eq!(
        e,
        vec![
            media(&k, SERVER, CLIENT, 55666),
            media(&k, SERVER, CLIENT, 55667)
        ]
    );
    assert_eq!(media_tag(&k), vec![tag_of(sid.as_bytes()); 4]);
    let tag = Some(tag_of(sid.as_bytes()));
    let w = Withdraw { classes: 1, tag };
    k.client(format!("PLAY rtsp://10.2.2.2:8554/ RTSP/1.0\r\nCSeq: 6\r\nSession: {sid}\r\nRange: npt=0.000-\r\n\r\n").as_bytes());
    assert_eq!(k.changes(), &[Change::Refresh(w, MEDIA_TIMEOUT_MS)]);
    // Interleaved binary data and a PLAY reply on the way: nothing.
    assert!(
        k.server(
            b"$\x00\x00\x04abcdRTSP/1.0 200 OK\r\nCSeq: 6\r\nSession: 8c30e102191f49d1\r\n\r\n"
        )
        .is_empty()
    );
    k.client(
        format!("TEARDOWN rtsp://10.2.2.2:8554/ RTSP/1.0\r\nCSeq: 7\r\nSession: {sid}\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(k.changes().last(), Some(&Change::Withdraw(w)));
    assert_eq!(k.refusals(), 0);
    // Without a Session header, TEARDOWN withdraws every media entry.
    k.client(b"TEARDOWN rtsp://10.2.2.2:8554/ RTSP/1.0\r\nCSeq: 8\r\n\r\n");
    assert_eq!(
        k.changes().last(),
        Some(&Change::Withdraw(Withdraw {
            classes: 1,
            tag: None
        }))
    );
}

/// live555's server names both ends; a third party as `destination` is refused.
#[test]
fn live555_destination_and_source() {
    let mut k = kit();
    k.client(&setup(3, "RTP/AVP;unicast;client_port=50000-50001", None));
    let e = k.server(&ok(3, "RTP/AVP;unicast;destination=10.1.1.10;source=10.2.2.2;client_port=50000-50001;server_port=6970-6971", "5C3A1D2E"));
    assert_eq!(e.len(), 2);
    assert_eq!(k.refusals(), 0);
    // `destination` naming another host (RFC 2326 §12.39 allows it; the firewall does not):
    // refused when asked, and again when granted.
    k.client(&setup(
        4,
        "RTP/AVP;unicast;destination=10.1.1.99;client_port=50002-50003",
        None,
    ));
    assert_eq!(k.refused("third-party-destination"), 1);
    let e = k.server(&ok(4, "RTP/AVP;unicast;destination=10.1.1.99;source=10.2.2.2;client_port=50002-50003;server_port=6972-6973", "5C3A1D2E"));
    assert!(e.is_empty());
    assert_eq!(k.refused("third-party-destination"), 2);
    // A reply's `destination` is the server's view of the client (a NAT's public address):
    // only its ports count, the entries name the client.
    k.client(&setup(7, "RTP/AVP;unicast;client_port=50008-50009", None));
    let e = k.server(&ok(7, "RTP/AVP;unicast;destination=203.0.113.7;source=10.2.2.2;client_port=50008-50009;server_port=6976-6977", "5C3A1D2E"));
    assert_eq!(
        e,
        vec![
            media(&k, SERVER, CLIENT, 50008),
            media(&k, SERVER, CLIENT, 50009)
        ]
    );
    // A source other than the server: the entries still expect the server; counted.
    k.client(&setup(5, "RTP/AVP;unicast;client_port=50004-50005", None));
    let e = k.server(&ok(
        5,
        "RTP/AVP;unicast;source=10.2.2.3;client_port=50004-50005;server_port=6974-6975",
        "5C3A1D2E",
    ));
    assert_eq!(
        e,
        vec![
            media(&k, SERVER, CLIENT, 50004),
            media(&k, SERVER, CLIENT, 50005)
        ]
    );
    assert_eq!(k.refused("foreign-source"), 1);
    // An IPv6 destination asked for on an IPv4 control session.
    k.client(&setup(
        6,
        "RTP/AVP;unicast;destination=2001:db8::1;client_port=50006-50007",
        None,
    ));
    assert_eq!(k.refused("wrong-family"), 1);
    assert!(
        k.server(&ok(
            6,
            "RTP/AVP;unicast;destination=2001:db8::1;client_port=50006-50007",
            "5C3A1D2E"
        ))
        .is_empty()
    );
    assert_eq!(k.refused("wrong-family"), 2);
    assert_eq!(k.refusals(), 5);
}

/// ffmpeg publishing (`-f rtsp` output: ANNOUNCE, SETUP with `mode=record`, RECORD): the
/// media goes from the client to the server's ports.
#[test]
fn ffmpeg_record_expects_the_client_at_the_server_ports() {
    let mut k = kit();
    k.client(b"SETUP rtsp://10.2.2.2:8554/publish/streamid=0 RTSP/1.0\r\nTransport: RTP/AVP/UDP;unicast;client_port=20002-20003;mode=record\r\nCSeq: 3\r\nUser-Agent: Lavf58.76.100\r\n\r\n");
    let e = k.server(&ok(
        3,
        "RTP/AVP/UDP;unicast;client_port=20002-20003;server_port=30000-30001;mode=record",
        "A1B2C3",
    ));
    assert_eq!(
        e,
        vec![
            media(&k, CLIENT, SERVER, 30000),
            media(&k, CLIENT, SERVER, 30001)
        ]
    );
    k.client(b"RECORD rtsp://10.2.2.2:8554/publish RTSP/1.0\r\nRange: npt=0.000-\r\nCSeq: 4\r\nUser-Agent: Lavf58.76.100\r\nSession: A1B2C3\r\n\r\n");
    assert!(matches!(k.changes(), [Change::Refresh(..)]));
    // RECORD without server ports: nothing to expect.
    k.client(&setup(
        5,
        "RTP/AVP;unicast;client_port=20004-20005;mode=record",
        None,
    ));
    assert!(
        k.server(&ok(
            5,
            "RTP/AVP;unicast;client_port=20004-20005;mode=record",
            "A1B2C3"
        ))
        .is_empty()
    );
    assert_eq!(k.refused("missing-port"), 1);
}

#[test]
fn interleaved_needs_nothing_and_multicast_is_counted() {
    let mut k = kit();
    k.client(&setup(2, "RTP/AVP/TCP;unicast;interleaved=0-1", None));
    assert!(
        k.server(&ok(2, "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=1", "S1"))
            .is_empty()
    );
    assert_eq!(k.refusals(), 0);
    k.client(&setup(3, "RTP/AVP;multicast", None));
    assert!(
        k.server(&ok(
            3,
            "RTP/AVP;multicast;destination=232.0.1.1;port=5000-5001;ttl=16",
            "S1"
        ))
        .is_empty()
    );
    assert_eq!(k.refused("multicast"), 1);
}

/// GStreamer offers three alternatives; the server picks UDP unicast.
#[test]
fn gstreamer_offers_alternatives_over_ipv6() {
    let mut k: AlgKit<Rtsp> = AlgKit::new("[2001:db8::10]:40000", "[2001:db8:1::2]:554");
    k.client(&setup(
        1,
        "RTP/AVP/UDP;unicast;client_port=5000-5001,RTP/AVP/UDP;multicast,RTP/AVP/TCP",
        None,
    ));
    let e = k.server(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port=5000-5001;server_port=59378-59379;ssrc=6C0A4B3E;mode=\"PLAY\"\r\nServer: GStreamer RTSP server\r\nSession: NJ8Ol5Y5u9qPmLsG;timeout=60\r\n\r\n");
    assert_eq!(
        e,
        vec![
            media(&k, "2001:db8:1::2", "2001:db8::10", 5000),
            media(&k, "2001:db8:1::2", "2001:db8::10", 5001)
        ]
    );
}

/// RTSP 2.0 (RFC 7826 §18.54): `dest_addr` with the client's own address or `":port"`.
#[test]
fn rtsp2_dest_addr() {
    let mut k = kit();
    k.client(b"SETUP rtsp://10.2.2.2/foo RTSP/2.0\r\nCSeq: 302\r\nTransport: RTP/AVP;unicast;dest_addr=\":4588\"/\":4589\"\r\n\r\n");
    let e = k.server(b"RTSP/2.0 200 OK\r\nCSeq: 302\r\nSession: QKyjN8nt2WqbWw4tIYof52;timeout=60\r\nTransport: RTP/AVP;unicast;dest_addr=\"10.1.1.10:4588\"/\"10.1.1.10:4589\";src_addr=\"10.2.2.2:6256\"/\"10.2.2.2:6257\"\r\n\r\n");
    assert_eq!(
        e,
        vec![
            media(&k, SERVER, CLIENT, 4588),
            media(&k, SERVER, CLIENT, 4589)
        ]
    );
    k.client(b"SETUP rtsp://10.2.2.2/foo RTSP/2.0\r\nCSeq: 303\r\nTransport: RTP/AVP;unicast;dest_addr=\"10.9.9.9:4590\"\r\n\r\n");
    assert_eq!(k.refused("third-party-destination"), 1);
    assert!(k.server(b"RTSP/2.0 200 OK\r\nCSeq: 303\r\nTransport: RTP/AVP;unicast;dest_addr=\"10.9.9.9:4590\"\r\n\r\n").is_empty());
    assert_eq!(k.refused("third-party-destination"), 2);
    // The server cannot move the client's ports.
    k.client(b"SETUP rtsp://10.2.2.2/foo RTSP/2.0\r\nCSeq: 305\r\nTransport: RTP/AVP;unicast;dest_addr=\":4610\"/\":4611\"\r\n\r\n");
    assert!(k.server(b"RTSP/2.0 200 OK\r\nCSeq: 305\r\nTransport: RTP/AVP;unicast;dest_addr=\"10.1.1.10:22\"/\"10.1.1.10:23\"\r\n\r\n").is_empty());
    assert_eq!(k.refused("client-port-not-offered"), 1);
    // One address: RTCP on the next port.
    k.client(b"SETUP rtsp://10.2.2.2/foo RTSP/2.0\r\nCSeq: 304\r\nTransport: RTP/AVP;unicast;dest_addr=\":4600\"\r\n\r\n");
    let e = k.server(
        b"RTSP/2.0 200 OK\r\nCSeq: 304\r\nTransport: RTP/AVP;unicast;dest_addr=\":4600\"\r\n\r\n",
    );
    assert_eq!(
        e,
        vec![
            media(&k, SERVER, CLIENT, 4600),
            media(&k, SERVER, CLIENT, 4601)
        ]
    );
}

#[test]
fn replies_are_paired_by_cseq() {
    let mut k = kit();
    // A reply without Transport: the request's stands; a single port means RTP and RTP+1.
    k.client(&setup(10, "RTP/AVP;unicast;client_port=7000", None));
    let e = k.server(b"RTSP/1.0 200 OK\r\nCSeq: 10\r\nSession: 77\r\n\r\n");
    assert_eq!(
        e,
        vec![
            media(&k, SERVER, CLIENT, 7000),
            media(&k, SERVER, CLIENT, 7001)
        ]
    );
    assert_eq!(k.announced()[0].1.tag, tag_of(b"77"));
    // An error reply forgets the SETUP: a later 200 with that CSeq answers nothing.
    k.client(&setup(11, "RTP/AVP;unicast;client_port=7002-7003", None));
    assert!(
        k.server(b"RTSP/1.0 461 Unsupported Transport\r\nCSeq: 11\r\n\r\n")
            .is_empty()
    );
    assert!(
        k.server(&ok(11, "RTP/AVP;unicast;client_port=7002-7003", "77"))
            .is_empty()
    );
    assert_eq!(k.refused("unmatched-reply"), 1);
    // Replies to the other requests (DESCRIBE with its SDP body) announce nothing.
    let sdp = "v=0\r\nm=video 0 RTP/AVP 96\r\n";
    let describe = format!(
        "RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    assert!(k.server(describe.as_bytes()).is_empty());
    // The server cannot pick client ports the client did not offer.
    k.client(&setup(12, "RTP/AVP;unicast;client_port=7004-7005", None));
    assert!(
        k.server(&ok(
            12,
            "RTP/AVP;unicast;client_port=22-23;server_port=6000-6001",
            "77"
        ))
        .is_empty()
    );
    assert_eq!(k.refused("client-port-not-offered"), 1);
    // A SETUP without CSeq cannot be paired.
    k.client(b"SETUP rtsp://10.2.2.2/a RTSP/1.0\r\nTransport: RTP/AVP;unicast;client_port=7006-7007\r\n\r\n");
    assert_eq!(k.refused("missing-cseq"), 1);
    // A malformed reply Transport is counted by its parser reason.
    k.client(&setup(13, "RTP/AVP;unicast;client_port=7008-7009", None));
    assert!(
        k.server(&ok(13, "RTP/AVP;unicast;client_port=7009-7008", "77"))
            .is_empty()
    );
    assert_eq!(k.refused("bad-port"), 1);
    // Requests from the server and replies from the client announce nothing.
    assert!(
        k.server(&setup(14, "RTP/AVP;unicast;client_port=7010-7011", None))
            .is_empty()
    );
    assert!(
        k.client(&ok(14, "RTP/AVP;unicast;client_port=7010-7011", "77"))
            .is_empty()
    );
    assert_eq!(k.refusals(), 4);
}

/// A flood of SETUPs never answered: the ALG remembers 16, forgets the oldest and counts it;
/// the latest still work.
#[test]
fn pending_setups_are_bounded() {
    let mut k = kit();
    for cseq in 0..10_000u32 {
        let port = 10_000 + (cseq % 20_000) as u16 * 2;
        k.client(&setup(
            cseq,
            &format!("RTP/AVP;unicast;client_port={port}-{}", port + 1),
            None,
        ));
    }
    assert_eq!(
        k.refused("pending-setups-full"),
        10_000 - MAX_PENDING as u64
    );
    assert!(
        k.server(&ok(0, "RTP/AVP;unicast;client_port=10000-10001", "F"))
            .is_empty()
    );
    assert_eq!(k.refused("unmatched-reply"), 1);
    let last = 9_999u32;
    let port = 10_000 + (last % 20_000) as u16 * 2;
    let e = k.server(&ok(
        last,
        &format!("RTP/AVP;unicast;client_port={port}-{}", port + 1),
        "F",
    ));
    assert_eq!(e.len(), 2);
}

#[test]
fn refusal_names_are_distinct() {
    let mut names: Vec<&str> = (0..RtspRefusal::COUNT).map(RtspRefusal::name_of).collect();
    assert!(!names.contains(&"unknown"));
    for e in RtspError::ALL {
        assert_eq!(
            RtspRefusal::name_of(RtspRefusal::Malformed(e).index()),
            e.name()
        );
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), RtspRefusal::COUNT);
}

/// Hostile messages through the ALG: each is refused with its reason and announces nothing;
/// the session goes on.
#[test]
fn hostile_messages_are_counted_and_the_session_goes_on() {
    let mut k = kit();
    // 10,000 lines would pass 64 KiB, which the framework skips before the ALG sees it.
    let via = "Via: x\r\n".repeat(1_000);
    assert!(
        k.client(format!("SETUP rtsp://10.2.2.2/a RTSP/1.0\r\nCSeq: 1\r\n{via}\r\n").as_bytes())
            .is_empty()
    );
    assert_eq!(k.refused("too-many-headers"), 1);
    let alternatives = ["RTP/AVP;unicast;client_port=9000-9001"; 17].join(",");
    k.client(&setup(2, &alternatives, None));
    assert_eq!(k.refused("too-many-transports"), 1);
    let long = format!(
        "RTSP/1.0 200 OK\r\nCSeq: 2\r\nX: {}\r\n\r\n",
        "y".repeat(20_000)
    );
    assert!(k.server(long.as_bytes()).is_empty());
    assert_eq!(k.refused("header-too-long"), 1);
    k.client(&setup(3, "RTP/AVP;unicast;client_port=9002-9003", None));
    assert_eq!(
        k.server(&ok(3, "RTP/AVP;unicast;client_port=9002-9003", "H"))
            .len(),
        2
    );
}

/// A SETUP offering a third-party alternative and a good one: the server may pick the good
/// one; the ports of the bad one are not offered.
#[test]
fn a_third_party_alternative_is_not_offered() {
    let mut k = kit();
    let offer = "RTP/AVP;unicast;destination=10.1.1.99;client_port=50010-50011,RTP/AVP;unicast;client_port=50012-50013";
    k.client(&setup(1, offer, None));
    assert_eq!(k.refused("third-party-destination"), 1);
    let e = k.server(&ok(1, "RTP/AVP;unicast;client_port=50012-50013", "T"));
    assert_eq!(e.len(), 2);
    k.client(&setup(2, offer, None));
    assert!(
        k.server(&ok(2, "RTP/AVP;unicast;client_port=50010-50011", "T"))
            .is_empty()
    );
    assert_eq!(k.refused("client-port-not-offered"), 1);
}
