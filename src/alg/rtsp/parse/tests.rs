//! The RTSP parser on real messages, malformed variants and arbitrary bytes.

use super::*;
use proptest::prelude::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|_| panic!("{s}"))
}

fn ports(first: u16, last: u16) -> Option<Ports> {
    Some(Ports {
        first,
        last: Some(last),
    })
}

/// The message's only (or first) transport alternative.
fn first(m: &Message<'_>) -> Result<TransportSpec, RtspError> {
    m.transports()
        .next()
        .unwrap_or(Err(RtspError::EmptyTransport))
}

fn spec(value: &str) -> Result<TransportSpec, RtspError> {
    let msg = format!("RTSP/1.0 200 OK\r\nCSeq: 1\r\nTransport: {value}\r\n\r\n");
    let m = parse_message(msg.as_bytes())?;
    first(&m)
}

fn udp_play() -> TransportSpec {
    TransportSpec::new(true, Lower::Udp)
}

/// VLC 3.0.16 (its live555 RTSPClient) setting up the first track of a VLC 3.0.12 server,
/// and that server's reply: frames 57 and 65 of ../shared/pcaps/ndpi-rtsp.pcap (nDPI's
/// tests/cfgs/default/pcap/rtsp.pcap), byte for byte.
#[test]
fn vlc_client_and_vlc_server_setup() {
    let req = b"SETUP rtsp://10.2.2.2:8554/trackID=0 RTSP/1.0\r\nCSeq: 4\r\nUser-Agent: LibVLC/3.0.16 (LIVE555 Streaming Media v2016.11.28)\r\nTransport: RTP/AVP;unicast;client_port=55664-55665\r\n\r\n";
    let m = parse_message(req).expect("request");
    assert_eq!(
        m.start,
        StartLine::Request {
            method: Method::Setup,
            uri: b"rtsp://10.2.2.2:8554/trackID=0"
        }
    );
    assert_eq!((m.version, m.cseq, m.session), (1, Some(4), None));
    assert_eq!(
        first(&m),
        Ok(TransportSpec {
            client_port: ports(55664, 55665),
            ..udp_play()
        })
    );
    let reply = b"RTSP/1.0 200 OK\r\nServer: VLC/3.0.12\r\nDate: Thu, 29 Jul 2021 14:01:25 GMT\r\nTransport: RTP/AVP/UDP;unicast;client_port=55664-55665;server_port=58547-58548;ssrc=B1964B48;mode=play\r\nSession: 8c30e102191f49d1;timeout=60\r\nContent-Length: 0\r\nCache-Control: no-cache\r\nCseq: 4\r\n\r\n";
    let m = parse_message(reply).expect("reply");
    assert_eq!(m.status(), Some(200));
    assert_eq!(m.cseq, Some(4), "VLC writes `Cseq`");
    assert_eq!(m.session, Some(&b"8c30e102191f49d1"[..]));
    assert_eq!(
        first(&m),
        Ok(TransportSpec {
            client_port: ports(55664, 55665),
            server_port: ports(58547, 58548),
            ..udp_play()
        })
    );
    // Frame 81: PLAY with the session; frame 89's reply carries RTP-Info, no Transport.
    let play = b"PLAY rtsp://10.2.2.2:8554/ RTSP/1.0\r\nCSeq: 6\r\nUser-Agent: LibVLC/3.0.16 (LIVE555 Streaming Media v2016.11.28)\r\nSession: 8c30e102191f49d1\r\nRange: npt=0.000-\r\n\r\n";
    let m = parse_message(play).expect("play");
    assert_eq!(m.method(), Some(Method::Play));
    assert_eq!(m.session, Some(&b"8c30e102191f49d1"[..]));
    assert!(!m.has_transport());
}

/// live555's RTSPServer (handleCmd_SETUP in liveMedia/RTSPServer.cpp) names both ends
/// and writes its session id as `%08X` with `;timeout=`; interleaved over TCP likewise.
#[test]
fn live555_server_replies() {
    let udp = b"RTSP/1.0 200 OK\r\nCSeq: 3\r\nDate: Fri, Dec 04 2026 10:00:00 GMT\r\nTransport: RTP/AVP;unicast;destination=192.168.1.20;source=192.168.1.10;client_port=50000-50001;server_port=6970-6971\r\nSession: 5C3A1D2E;timeout=65\r\n\r\n";
    let m = parse_message(udp).expect("udp");
    assert_eq!(m.session, Some(&b"5C3A1D2E"[..]));
    assert_eq!(
        first(&m),
        Ok(TransportSpec {
            client_port: ports(50000, 50001),
            server_port: ports(6970, 6971),
            source: Some(ip("192.168.1.10")),
            destination: Some(ip("192.168.1.20")),
            ..udp_play()
        })
    );
    let tcp = b"RTSP/1.0 200 OK\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;destination=2001:db8::20;source=2001:db8::10;interleaved=0-1\r\nSession: 5C3A1D2F;timeout=65\r\n\r\n";
    let m = parse_message(tcp).expect("tcp");
    assert_eq!(
        first(&m),
        Ok(TransportSpec {
            lower: Lower::Tcp,
            source: Some(ip("2001:db8::10")),
            destination: Some(ip("2001:db8::20")),
            interleaved: Some((0, Some(1))),
            ..udp_play()
        })
    );
}

/// ffmpeg's RTSP client (ff_rtsp_make_setup_request in libavformat/rtsp.c) puts
/// Transport before CSeq, writes `RTP/AVP/UDP`, and `;mode=record` when publishing
/// (ANNOUNCE/RECORD); over TCP it asks for interleaved channels.
#[test]
fn ffmpeg_client_setups() {
    let play = b"SETUP rtsp://192.0.2.10:554/live/trackID=1 RTSP/1.0\r\nTransport: RTP/AVP/UDP;unicast;client_port=20000-20001\r\nCSeq: 3\r\nUser-Agent: Lavf58.76.100\r\nSession: 1F2E3D4C\r\n\r\n";
    let m = parse_message(play).expect("play");
    assert_eq!((m.cseq, m.session), (Some(3), Some(&b"1F2E3D4C"[..])));
    assert_eq!(
        first(&m),
        Ok(TransportSpec {
            client_port: ports(20000, 20001),
            ..udp_play()
        })
    );
    let record = b"SETUP rtsp://192.0.2.10:8554/publish/streamid=0 RTSP/1.0\r\nTransport: RTP/AVP/UDP;unicast;client_port=20002-20003;mode=record\r\nCSeq: 3\r\nUser-Agent: Lavf58.76.100\r\n\r\n";
    let t = first(&parse_message(record).expect("record")).expect("spec");
    assert!(t.record && !t.play);
    let tcp = b"SETUP rtsp://192.0.2.10:554/live/trackID=0 RTSP/1.0\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nCSeq: 2\r\nUser-Agent: Lavf58.76.100\r\n\r\n";
    let t = first(&parse_message(tcp).expect("tcp")).expect("spec");
    assert_eq!((t.lower, t.interleaved), (Lower::Tcp, Some((0, Some(1)))));
}

/// GStreamer's rtspsrc offers UDP unicast, UDP multicast and TCP in one header (the
/// example of its element documentation); gst-rtsp-server answers with a quoted mode
/// (gst_rtsp_transport_as_text) and a random 16-character session id.
#[test]
fn gstreamer_alternatives_and_quoted_mode() {
    let req = b"SETUP rtsp://thread:5454/south-rtsp.mp3/streamid=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/UDP;unicast;client_port=5000-5001,RTP/AVP/UDP;multicast,RTP/AVP/TCP\r\n\r\n";
    let m = parse_message(req).expect("request");
    let alts: Vec<_> = m.transports().collect();
    assert_eq!(
        alts,
        vec![
            Ok(TransportSpec {
                client_port: ports(5000, 5001),
                ..udp_play()
            }),
            Ok(TransportSpec {
                multicast: true,
                ..udp_play()
            }),
            Ok(TransportSpec {
                lower: Lower::Tcp,
                ..udp_play()
            }),
        ]
    );
    let reply = b"RTSP/1.0 200 OK\r\nCSeq: 3\r\nTransport: RTP/AVP;unicast;client_port=36420-36421;server_port=59378-59379;ssrc=6C0A4B3E;mode=\"PLAY\"\r\nServer: GStreamer RTSP server\r\nSession: NJ8Ol5Y5u9qPmLsG;timeout=60\r\nDate: Fri, 04 Dec 2026 10:00:00 GMT\r\n\r\n";
    let m = parse_message(reply).expect("reply");
    assert_eq!(m.session, Some(&b"NJ8Ol5Y5u9qPmLsG"[..]));
    let t = first(&m).expect("spec");
    assert!(t.play && !t.record);
    assert_eq!(t.server_port, ports(59378, 59379));
    assert_eq!(
        spec("RTP/AVP;unicast;client_port=5000-5001;mode=\"PLAY,RECORD\"")
            .map(|t| (t.play, t.record)),
        Ok((true, true))
    );
    assert_eq!(spec("RTP/AVP;mode=receive").map(|t| t.record), Ok(true));
}

/// RFC 7826 §18.54 (RTSP 2.0): addresses in quotes, `":port"` for the sender's own
/// address, bracketed IPv6.
#[test]
fn rtsp2_dest_addr_and_src_addr() {
    let req = b"SETUP rtsp://example.com/foo/bar/baz.rm RTSP/2.0\r\nCSeq: 302\r\nTransport: RTP/AVP;unicast;dest_addr=\":4588\"/\":4589\"\r\n\r\n";
    let m = parse_message(req).expect("request");
    assert_eq!(m.version, 2);
    let t = first(&m).expect("spec");
    assert_eq!(t.dest_addr.len(), 2);
    assert_eq!(
        t.dest_addr.get(0),
        Some(HostPort {
            addr: None,
            port: Some(4588)
        })
    );
    assert_eq!(
        t.dest_addr.get(1),
        Some(HostPort {
            addr: None,
            port: Some(4589)
        })
    );
    let t = spec("RTP/AVP;unicast;dest_addr=\"192.0.2.53:4588\"/\"192.0.2.53:4589\"; src_addr=\"198.51.100.241:6256\"/\"198.51.100.241:6257\"; ssrc=2A3F93ED").expect("reply");
    assert_eq!(
        t.dest_addr.get(0),
        Some(HostPort {
            addr: Some(ip("192.0.2.53")),
            port: Some(4588)
        })
    );
    assert_eq!(
        t.src_addr.get(1),
        Some(HostPort {
            addr: Some(ip("198.51.100.241")),
            port: Some(6257)
        })
    );
    let t = spec("RTP/AVP;unicast;dest_addr=\"[2001:db8::53]:4588\"/\"[2001:db8::53]:4589\"")
        .expect("v6");
    assert_eq!(
        t.dest_addr.get(1),
        Some(HostPort {
            addr: Some(ip("2001:db8::53")),
            port: Some(4589)
        })
    );
    assert_eq!(t.dest_addr.get(2), None);
}

#[test]
fn folded_lines_odd_blanks_and_case() {
    // A Transport header folded over three lines, blanks around every separator, names
    // in odd case, LF-only line ends, keep-alive CRLFs before the start line.
    let msg = b"\r\n\r\nrtsp/1.0   200   OK\nCSEQ :  7 \ntransport: rtp/avp/udp ; UNICAST ;\r\n client_port = 6000 - 6001 ,\r\n\tRTP/AVP/TCP;interleaved=2-3\nsession:   abc$-_.+;Timeout=30\n\nbody is not read: Transport: junk";
    let m = parse_message(msg).expect("message");
    assert_eq!((m.cseq, m.session), (Some(7), Some(&b"abc$-_.+"[..])));
    let alts: Vec<_> = m.transports().collect();
    assert_eq!(alts.len(), 2);
    assert_eq!(alts[0].map(|t| t.client_port), Ok(ports(6000, 6001)));
    assert_eq!(alts[1].map(|t| t.interleaved), Ok(Some((2, Some(3)))));
    // Two Transport headers are one list (RFC 2326 §4.2); the same CSeq twice is fine.
    let msg = b"SETUP rtsp://h/a RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP;unicast;client_port=7000\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;interleaved=0\r\n\r\n";
    let m = parse_message(msg).expect("two transports");
    let alts: Vec<_> = m.transports().collect();
    assert_eq!(
        alts[0].map(|t| t.client_port),
        Ok(Some(Ports {
            first: 7000,
            last: None
        }))
    );
    assert_eq!(alts[1].map(|t| t.interleaved), Ok(Some((0, None))));
    // Unknown methods are requests all the same.
    let m = parse_message(b"GET_PARAMETER rtsp://h/ RTSP/1.0\r\nCSeq: 9\r\n\r\n").expect("other");
    assert_eq!(m.method(), Some(Method::Other));
}

/// One assertion per error variant.
#[test]
fn malformed_messages_name_their_fault() {
    let req = |headers: &str| format!("SETUP rtsp://h/a RTSP/1.0\r\nCSeq: 1\r\n{headers}\r\n");
    let parse = |s: &str| parse_message(s.as_bytes()).map(|_| ());
    let t = |v: &str| spec(v).map(|_| ());
    assert_eq!(parse("\r\n\r\n"), Err(RtspError::Empty));
    assert_eq!(
        parse("SETUP rtsp://h/a\r\n\r\n"),
        Err(RtspError::BadStartLine)
    );
    assert_eq!(
        parse("SETUP rtsp://h/a HTTP/1.0\r\n\r\n"),
        Err(RtspError::BadVersion)
    );
    assert_eq!(parse("RTSP/1.0 2000 OK\r\n\r\n"), Err(RtspError::BadStatus));
    assert_eq!(parse(&req("no colon here\r\n")), Err(RtspError::BadHeader));
    assert_eq!(
        parse(&req(&format!("X-Long: {}\r\n", "a".repeat(MAX_HEADER_LEN)))),
        Err(RtspError::HeaderTooLong)
    );
    assert_eq!(
        parse(&req(&"X: y\r\n".repeat(MAX_HEADERS))),
        Err(RtspError::TooManyHeaders)
    );
    assert_eq!(
        parse("PLAY rtsp://h/a RTSP/1.0\r\nCSeq: 4294967296\r\n\r\n"),
        Err(RtspError::BadCSeq)
    );
    assert_eq!(parse(&req("CSeq: 2\r\n")), Err(RtspError::ConflictingCSeq));
    assert_eq!(
        parse(&req("Session: ;timeout=60\r\n")),
        Err(RtspError::BadSession)
    );
    assert_eq!(
        parse(&req("Session: a\r\nSession: b\r\n")),
        Err(RtspError::ConflictingSession)
    );
    assert_eq!(
        parse(&req(&format!(
            "Transport: {}\r\n",
            ["RTP/AVP"; MAX_TRANSPORTS + 1].join(",")
        ))),
        Err(RtspError::TooManyTransports)
    );
    assert_eq!(
        t("RTP/AVP;unicast,,RTP/AVP/TCP"),
        Ok(()),
        "the first alternative is fine"
    );
    assert_eq!(spec("").map(|_| ()), Err(RtspError::EmptyTransport));
    assert_eq!(t("RTP;unicast"), Err(RtspError::BadProfile));
    assert_eq!(t("RTP/AVP/SCTP;unicast"), Err(RtspError::BadLowerTransport));
    assert_eq!(
        parse(&req("Transport: RTP/AVP;mode=\"PLAY\r\n")),
        Err(RtspError::UnterminatedQuote)
    );
    assert_eq!(t("RTP/AVP;client_port=5001-5000"), Err(RtspError::BadPort));
    assert_eq!(
        t("RTP/AVP/TCP;interleaved=256-257"),
        Err(RtspError::BadInterleaved)
    );
    assert_eq!(t("RTP/AVP;mode=\"TEARDOWN\""), Err(RtspError::BadMode));
    assert_eq!(
        t("RTP/AVP;destination=10.0.0.300"),
        Err(RtspError::BadAddress)
    );
    assert_eq!(
        t("RTP/AVP;destination=media.example.com"),
        Err(RtspError::HostName)
    );
    assert_eq!(
        t("RTP/AVP;dest_addr=\":1\"/\":2\"/\":3\""),
        Err(RtspError::TooManyAddresses)
    );
    assert_eq!(
        t("RTP/AVP;unicast;client_port=5000;client_port=6000"),
        Err(RtspError::DuplicateParameter)
    );
}

#[test]
fn more_malformed_variants() {
    let t = |v: &str| spec(v).map(|_| ());
    assert_eq!(
        t("RTP/AVP;unicast;multicast"),
        Err(RtspError::DuplicateParameter)
    );
    assert_eq!(t("RTP/AVP;client_port=0-1"), Err(RtspError::BadPort));
    assert_eq!(t("RTP/AVP;client_port=65536"), Err(RtspError::BadPort));
    assert_eq!(t("RTP/AVP;client_port"), Err(RtspError::BadPort));
    assert_eq!(t("RTP/AVP;client_port=a-b"), Err(RtspError::BadPort));
    assert_eq!(t("RTP/AVP/UDP/X"), Err(RtspError::BadProfile));
    assert_eq!(t("RTP/;unicast"), Err(RtspError::BadProfile));
    assert_eq!(
        t("RTP/AVP;dest_addr=192.0.2.1:5000"),
        Err(RtspError::BadAddress)
    );
    assert_eq!(
        t("RTP/AVP;dest_addr=\"[2001:db8::1\""),
        Err(RtspError::BadAddress)
    );
    assert_eq!(
        t("RTP/AVP;dest_addr=\"192.0.2.1:0\""),
        Err(RtspError::BadPort)
    );
    assert_eq!(
        t("RTP/AVP;mode=\"PL\"AY\""),
        Err(RtspError::UnterminatedQuote)
    );
    assert_eq!(
        parse_message(b"SETUP rtsp://h/a RTSP/1.0\r\n folded start\r\n\r\n").map(|_| ()),
        Err(RtspError::BadHeader)
    );
    assert_eq!(
        parse_message(b"SET\"UP rtsp://h/a RTSP/1.0\r\n\r\n").map(|_| ()),
        Err(RtspError::BadStartLine)
    );
    assert_eq!(
        parse_message(b"SETUP rtsp://h/a RTSP/1.0 extra\r\n\r\n").map(|_| ()),
        Err(RtspError::BadStartLine)
    );
    assert_eq!(
        parse_message(b"RTSP/3.0 200 OK\r\n\r\n").map(|_| ()),
        Err(RtspError::BadVersion)
    );
    assert_eq!(
        parse_message(b"RTSP/1.0 099 Low\r\n\r\n").map(|_| ()),
        Err(RtspError::BadStatus)
    );
    assert_eq!(
        parse_message(b"RTSP/1.0 200 OK\r\nSession: a b\r\n\r\n").map(|_| ()),
        Err(RtspError::BadSession)
    );
    let long = format!(
        "RTSP/1.0 200 OK\r\nSession: {}\r\n\r\n",
        "a".repeat(MAX_SESSION_ID + 1)
    );
    assert_eq!(
        parse_message(long.as_bytes()).map(|_| ()),
        Err(RtspError::BadSession)
    );
    // A folded header grown past the bound by its continuation lines.
    let folded = format!(
        "RTSP/1.0 200 OK\r\nX: a\r\n{}\r\n",
        format!(" {}\r\n", "b".repeat(1000)).repeat(9)
    );
    assert_eq!(
        parse_message(folded.as_bytes()).map(|_| ()),
        Err(RtspError::HeaderTooLong)
    );
}

#[test]
fn error_names_are_distinct_kebab_case() {
    let mut names: Vec<&str> = RtspError::ALL.iter().map(|e| e.name()).collect();
    assert!(
        names
            .iter()
            .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
    );
    for (i, e) in RtspError::ALL.iter().enumerate() {
        assert_eq!(*e as usize, i, "ALL is in declaration order");
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), RtspError::ALL.len());
}

/// Hostile sizes from the issue: each is refused with its own reason, quickly, without
/// the work growing with the input beyond one pass.
#[test]
fn hostile_sizes_are_refused() {
    let huge = format!(
        "RTSP/1.0 200 OK\r\nCSeq: 1\r\nX-Junk: {}\r\n\r\n",
        "x".repeat(4 << 20)
    );
    assert_eq!(
        parse_message(huge.as_bytes()).map(|_| ()),
        Err(RtspError::HeaderTooLong)
    );
    let many = format!("RTSP/1.0 200 OK\r\n{}\r\n", "Via: x\r\n".repeat(10_000));
    assert_eq!(
        parse_message(many.as_bytes()).map(|_| ()),
        Err(RtspError::TooManyHeaders)
    );
    let alternatives = format!(
        "RTSP/1.0 200 OK\r\nTransport: {}\r\n\r\n",
        ["RTP/AVP"; 10_000].join(",")
    );
    assert_eq!(
        parse_message(alternatives.as_bytes()).map(|_| ()),
        Err(RtspError::HeaderTooLong)
    );
    let headers = format!(
        "RTSP/1.0 200 OK\r\n{}\r\n",
        "Transport: RTP/AVP\r\n".repeat(10_000)
    );
    assert_eq!(
        parse_message(headers.as_bytes()).map(|_| ()),
        Err(RtspError::TooManyTransports)
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(p in proptest::collection::vec(any::<u8>(), 0..2000)) {
        if let Ok(m) = parse_message(&p) {
            prop_assert!(m.transports().count() <= MAX_TRANSPORTS);
        }
    }

    #[test]
    fn arbitrary_transport_values_never_panic(v in "[ -~\t]{0,300}") {
        let msg = format!("SETUP rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\nTransport: {v}\r\n\r\n");
        if let Ok(m) = parse_message(msg.as_bytes()) {
            for t in m.transports() {
                let _ = t;
            }
        }
    }

    #[test]
    fn setups_round_trip(
        cseq in any::<u32>(),
        session in "[A-Za-z0-9$_.+-]{1,40}",
        a in 1u16..65000,
        gap in 1u16..100,
        tcp in any::<bool>(),
        record in any::<bool>(),
        quoted in any::<bool>(),
        extra in proptest::collection::vec(("[A-Z][a-z]{1,8}", "[ -~]{0,40}"), 0..6),
    ) {
        let lower = if tcp { "RTP/AVP/TCP" } else { "RTP/AVP/UDP" };
        let mode = match (record, quoted) {
            (true, true) => "\"RECORD\"",
            (true, false) => "record",
            (false, true) => "\"PLAY\"",
            (false, false) => "play",
        };
        let mut msg = format!(
            "SETUP rtsp://h/t RTSP/1.0\r\nCSeq: {cseq}\r\nSession: {session};timeout=60\r\n"
        );
        for (name, value) in &extra {
            // Other headers, never one the parser reads.
            if !["Cseq", "Session", "Transport"].iter().any(|h| h.eq_ignore_ascii_case(name)) {
                msg.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        let b = a.saturating_add(gap);
        msg.push_str(&format!("Transport: {lower};unicast;client_port={a}-{b};mode={mode}\r\n\r\n"));
        let m = parse_message(msg.as_bytes()).expect("message");
        prop_assert_eq!(m.cseq, Some(cseq));
        prop_assert_eq!(m.session, Some(session.as_bytes()));
        let t = first(&m).expect("spec");
        prop_assert_eq!(t.client_port, ports(a, b));
        prop_assert_eq!(t.lower, if tcp { Lower::Tcp } else { Lower::Udp });
        prop_assert_eq!((t.play, t.record), (!record, record));
    }
}
