//! Real messages from several implementations, and malformed variants (one per error).

use super::*;
use crate::alg::sip::sdp::{self, Media, MediaKind, SdpError};

/// SIPp 3.6's built-in `uac` scenario (`sipp -sn uac`), as it sends it.
pub(crate) const SIPP_INVITE: &[u8] = b"INVITE sip:service@198.18.1.2:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 198.18.1.1:5061;branch=z9hG4bK-4321-1-0\r\n\
From: sipp <sip:sipp@198.18.1.1:5061>;tag=4321SIPpTag001\r\n\
To: service <sip:service@198.18.1.2:5060>\r\n\
Call-ID: 1-4321@198.18.1.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: sip:sipp@198.18.1.1:5061\r\n\
Max-Forwards: 70\r\n\
Subject: Performance Test\r\n\
Content-Type: application/sdp\r\n\
Content-Length:   131\r\n\
\r\n\
v=0\r\n\
o=user1 53655765 2353687637 IN IP4 198.18.1.1\r\n\
s=-\r\n\
c=IN IP4 198.18.1.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

/// Kamailio 5.6 relaying an INVITE (record-routing, two Vias, its own Max-Forwards).
const KAMAILIO_INVITE: &[u8] = b"INVITE sip:bob@198.18.1.3:5060 SIP/2.0\r\n\
Record-Route: <sip:198.18.1.2;lr>\r\n\
Via: SIP/2.0/UDP 198.18.1.2;branch=z9hG4bK3a1b.0f5e7c1d0000000000000000000;i=1\r\n\
Via: SIP/2.0/UDP 198.18.1.1:5061;rport=5061;branch=z9hG4bK-77-1-0\r\n\
From: sipp <sip:sipp@198.18.1.1:5061>;tag=77SIPpTag001\r\n\
To: bob <sip:bob@198.18.1.2>\r\n\
Call-ID: 1-77@198.18.1.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: sip:sipp@198.18.1.1:5061\r\n\
Max-Forwards: 69\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 133\r\n\
\r\n\
v=0\r\n\
o=user1 53655765 2353687637 IN IP4 198.18.1.1\r\n\
s=-\r\n\
c=IN IP4 198.18.1.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0 8\r\n\
a=rtpmap:0 PCMU/8000\r\n";

/// baresip 1.0 answering with audio and video, an `a=rtcp:` port and IPv6.
const BARESIP_200: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP [2001:2:1::1]:5060;branch=z9hG4bK8c0b;rport=5060\r\n\
From: <sip:alice@[2001:2:1::1]>;tag=a1\r\n\
To: <sip:bob@[2001:2:1::2]>;tag=f3a9c\r\n\
Call-ID: 5e0c1f7a9d2b\r\n\
CSeq: 7311 INVITE\r\n\
Contact: <sip:bob-0x55d4@[2001:2:1::2]:5060;transport=udp>\r\n\
User-Agent: baresip v1.0.0 (x86_64/linux)\r\n\
Allow: INVITE,ACK,BYE,CANCEL,OPTIONS,NOTIFY,SUBSCRIBE,INFO,MESSAGE,UPDATE,REFER\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 218\r\n\
\r\n\
v=0\r\n\
o=- 1553 2244 IN IP6 2001:2:1::2\r\n\
s=-\r\n\
c=IN IP6 2001:2:1::2\r\n\
t=0 0\r\n\
m=audio 10004 RTP/AVP 96 0\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=rtcp:10005\r\n\
a=sendrecv\r\n\
m=video 10006 RTP/AVP 100\r\n\
a=rtpmap:100 VP8/90000\r\n\
a=rtcp:10010\r\n";

/// Asterisk 18 (chan_pjsip) ringing with early media: SDP in a 183.
const ASTERISK_183: &[u8] = b"SIP/2.0 183 Session Progress\r\n\
Via: SIP/2.0/UDP 198.18.1.1:5060;rport=5060;received=198.18.1.1;branch=z9hG4bKPj1\r\n\
Call-ID: 2b4e6c3a-9f11-4c38-8a3e-0c9f3e2d1b7a\r\n\
From: <sip:100@198.18.1.2>;tag=9d1\r\n\
To: <sip:200@198.18.1.2>;tag=2f0e\r\n\
CSeq: 20938 INVITE\r\n\
Server: Asterisk PBX 18.14.0~dfsg+~cs6.12.40431414-1\r\n\
Contact: <sip:198.18.1.2:5060>\r\n\
Content-Type: application/sdp\r\n\
Content-Length:   204\r\n\
\r\n\
v=0\r\n\
o=- 1714 1716 IN IP4 198.18.1.2\r\n\
s=Asterisk\r\n\
c=IN IP4 198.18.1.2\r\n\
t=0 0\r\n\
m=audio 17774 RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=ptime:20\r\n\
a=maxptime:150\r\n\
a=sendrecv\r\n";

/// A hardware phone's REGISTER (the Nero SIPPS phone of ../shared/pcaps/ndpi-sip.pcap).
pub(crate) const PHONE_REGISTER: &[u8] = b"REGISTER sip:sip.cybercity.dk SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.168.1.2;branch=z9hG4bKnp112903503-43a64480192.168.1.2;rport\r\n\
From: <sip:voi18062@sip.cybercity.dk>;tag=6bac55c\r\n\
To: <sip:voi18062@sip.cybercity.dk>\r\n\
Call-ID: 578222729-4665d775@578222732-4665d772\r\n\
Contact: <sip:voi18062@192.168.1.2:5060;line=aca6b97ca3f5e51a>;expires=1200;q=0.500\r\n\
Expires: 1200\r\n\
CSeq: 75 REGISTER\r\n\
Content-Length: 0\r\n\
Max-Forwards: 70\r\n\
User-Agent: Nero SIPPS IP Phone Version 2.0.51.16\r\n\
\r\n";

/// RFC 3261 §7.3.3 compact forms.
const COMPACT: &[u8] = b"BYE sip:bob@198.18.1.2 SIP/2.0\r\n\
v: SIP/2.0/TCP 198.18.1.1;branch=z9hG4bK776asdhds\r\n\
i: a84b4c76e66710@pc33.atlanta.com\r\n\
m: <sip:alice@198.18.1.1;transport=tcp>\r\n\
CSeq: 231 BYE\r\n\
l: 0\r\n\
\r\n";

#[test]
fn sipp_invite() {
    let m = parse_message(SIPP_INVITE).expect("parses");
    assert_eq!(m.start, StartLine::Request(Method::Invite));
    assert_eq!(m.call_id, b"1-4321@198.18.1.1");
    assert_eq!((m.cseq, m.cseq_method), (1, Method::Invite));
    let c: Vec<_> = m.contacts().collect();
    assert_eq!(c.len(), 1);
    let c = c[0].expect("contact");
    assert_eq!(c.addr, Some("198.18.1.1".parse().unwrap()));
    assert_eq!(c.port, Some(5061));
    let mut media = Vec::new();
    assert!(sdp::is_sdp(m.body));
    sdp::for_each_media(m.body, |x| media.push(x)).expect("sdp");
    assert_eq!(
        media,
        vec![Ok(Media {
            kind: MediaKind::Audio,
            addr: "198.18.1.1".parse().unwrap(),
            port: 6000,
            rtcp: None
        })]
    );
}

#[test]
fn kamailio_asterisk_baresip_phone_and_compact_forms() {
    let m = parse_message(KAMAILIO_INVITE).expect("kamailio");
    assert_eq!(m.call_id, b"1-77@198.18.1.1");
    let m = parse_message(ASTERISK_183).expect("asterisk");
    assert_eq!(
        (m.start, m.cseq, m.cseq_method),
        (StartLine::Response(183), 20938, Method::Invite)
    );
    let mut media = Vec::new();
    sdp::for_each_media(m.body, |x| media.push(x)).expect("sdp");
    assert_eq!(media.len(), 1);
    let m = parse_message(BARESIP_200).expect("baresip");
    let c = m.contacts().next().expect("one").expect("contact");
    assert_eq!(c.addr, Some("2001:2:1::2".parse().unwrap()));
    assert_eq!(c.transport, Some(Transport::Udp));
    let mut media = Vec::new();
    sdp::for_each_media(m.body, |x| media.push(x)).expect("sdp");
    let v6: IpAddr = "2001:2:1::2".parse().unwrap();
    assert_eq!(
        media,
        vec![
            Ok(Media {
                kind: MediaKind::Audio,
                addr: v6,
                port: 10004,
                rtcp: Some(10005)
            }),
            Ok(Media {
                kind: MediaKind::Video,
                addr: v6,
                port: 10006,
                rtcp: Some(10010)
            }),
        ]
    );
    let m = parse_message(PHONE_REGISTER).expect("phone");
    assert_eq!(m.expires, Some(1200));
    let c = m.contacts().next().expect("one").expect("contact");
    assert_eq!(
        (c.addr, c.port, c.expires),
        (Some("192.168.1.2".parse().unwrap()), Some(5060), Some(1200))
    );
    let m = parse_message(COMPACT).expect("compact");
    assert_eq!(m.start, StartLine::Request(Method::Bye));
    assert_eq!(m.call_id, b"a84b4c76e66710@pc33.atlanta.com");
    let c = m.contacts().next().expect("one").expect("contact");
    assert_eq!((c.port, c.transport), (None, Some(Transport::Tcp)));
}

#[test]
fn contact_forms() {
    let one = |v: &[u8]| parse_contact(v).expect("parses");
    assert_eq!(one(b"sip:a@198.18.0.1:5070;expires=60").expires, Some(60));
    assert_eq!(
        one(b"\"A, B\" <sip:a@198.18.0.1>").addr,
        Some("198.18.0.1".parse().unwrap())
    );
    assert_eq!(one(b"<sips:[2001:2::1]:5061>").port, Some(5061));
    assert_eq!(one(b"<sip:a@pbx.example.com>").addr, None);
    assert_eq!(one(b"*").addr, None);
    let v: Vec<_> = split_values(b"<sip:a@1.1.1.1>, \"x,y\" <sip:b@2.2.2.2>").collect();
    assert_eq!(v.len(), 2);
}

/// One malformed variant per error.
#[test]
fn every_error_has_a_message() {
    let with = |head: &str| format!("{head}\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n").into_bytes();
    let cases: Vec<(Vec<u8>, SipError)> = vec![
        (b"HELLO\r\n\r\n".to_vec(), SipError::BadStartLine),
        (with("SIP/2.0 99 Odd"), SipError::BadStartLine),
        (
            {
                let mut m = b"INVITE sip:x SIP/2.0\r\n".to_vec();
                for _ in 0..10_000 {
                    m.extend_from_slice(b"Via: SIP/2.0/UDP 198.18.0.1\r\n");
                }
                m.extend_from_slice(b"\r\n");
                m
            },
            SipError::TooManyHeaders,
        ),
        (
            with(&format!(
                "INVITE sip:x SIP/2.0\r\nContact: {}",
                ["<sip:a@1.1.1.1>"; 9].join(",")
            )),
            SipError::TooManyContacts,
        ),
        (
            b"INVITE sip:x SIP/2.0\r\nCall-ID: x\r\nCSeq: one INVITE\r\n\r\n".to_vec(),
            SipError::BadCseq,
        ),
        (
            b"INVITE sip:x SIP/2.0\r\nCall-ID: x\r\n\r\n".to_vec(),
            SipError::MissingCseq,
        ),
        (
            b"INVITE sip:x SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n".to_vec(),
            SipError::MissingCallId,
        ),
        (
            with("REGISTER sip:x SIP/2.0\r\nExpires: soon"),
            SipError::BadExpires,
        ),
        (
            with("INVITE sip:x SIP/2.0\r\nno colon here"),
            SipError::BadHeader,
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(
            parse_message(&msg).err(),
            Some(want),
            "{}",
            String::from_utf8_lossy(&msg[..msg.len().min(60)])
        );
    }
    for e in SipError::ALL {
        assert!(!e.name().is_empty());
    }
}

#[test]
fn every_sdp_error_and_the_media_bound() {
    let first_err = |body: &str| {
        let mut got = None;
        let r = sdp::for_each_media(body.as_bytes(), |m| {
            if let Err(e) = m {
                got.get_or_insert(e);
            }
        });
        r.err().or(got)
    };
    assert_eq!(
        first_err("v=0\r\nc=IN IP4 nowhere\r\nm=audio 6000 RTP/AVP 0\r\n"),
        Some(SdpError::BadConnection)
    );
    assert_eq!(
        first_err("v=0\r\nc=IN IP6 198.18.0.1\r\nm=audio 6000 RTP/AVP 0\r\n"),
        Some(SdpError::BadConnection)
    );
    assert_eq!(
        first_err("v=0\r\nc=IN IP4 198.18.0.1\r\nm=audio x RTP/AVP 0\r\n"),
        Some(SdpError::BadMediaPort)
    );
    assert_eq!(
        first_err("v=0\r\nc=IN IP4 198.18.0.1\r\nm=audio 80 RTP/AVP 0\r\n"),
        Some(SdpError::MediaPortOutOfRange)
    );
    assert_eq!(
        first_err("v=0\r\nm=audio 6000 RTP/AVP 0\r\n"),
        Some(SdpError::NoConnection)
    );
    assert_eq!(
        first_err("v=0\r\nc=IN IP4 198.18.0.1\r\nm=audio 6000 RTP/AVP 0\r\na=rtcp:x\r\n"),
        Some(SdpError::BadRtcp)
    );
    let mut many = String::from("v=0\r\nc=IN IP4 198.18.0.1\r\n");
    for i in 0..1000 {
        many.push_str(&format!("m=audio {} RTP/AVP 0\r\n", 2000 + 2 * i));
    }
    let mut n = 0;
    assert_eq!(
        sdp::for_each_media(many.as_bytes(), |_| n += 1),
        Err(SdpError::TooManyMedia)
    );
    assert_eq!(n, sdp::MAX_MEDIA);
    // Port 0 (a refused stream) and unknown media kinds announce nothing, without error.
    assert_eq!(
        first_err(
            "v=0\r\nc=IN IP4 198.18.0.1\r\nm=audio 0 RTP/AVP 0\r\nm=application 9 TCP/BFCP *\r\n"
        ),
        None
    );
    for e in SdpError::ALL {
        assert!(e.name().starts_with("sdp-"));
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
        if let Ok(m) = parse_message(&bytes) {
            for c in m.contacts() {
                let _ = c;
            }
            let _ = sdp::for_each_media(m.body, |_| {});
        }
        let _ = sdp::for_each_media(&bytes, |_| {});
    }

    #[test]
    fn mutated_real_messages_never_panic(i in 0usize..6, at in 0usize..2000, b in proptest::num::u8::ANY) {
        let src = [SIPP_INVITE, KAMAILIO_INVITE, BARESIP_200, ASTERISK_183, PHONE_REGISTER, COMPACT][i];
        let mut m = src.to_vec();
        let at = at % m.len();
        m[at] = b;
        if let Ok(p) = parse_message(&m) {
            let _ = sdp::for_each_media(p.body, |_| {});
            for c in p.contacts() {
                let _ = c;
            }
        }
    }
}

/// Every real message's `Content-Length` is its body's length (as its sender computes it).
#[test]
fn real_messages_have_true_lengths() {
    for m in [
        SIPP_INVITE,
        KAMAILIO_INVITE,
        BARESIP_200,
        ASTERISK_183,
        PHONE_REGISTER,
        COMPACT,
    ] {
        let p = parse_message(m).expect("parses");
        let (head, _) = split_head(m);
        assert_eq!(
            crate::alg::message::content_length(head),
            Ok(p.body.len() as u64)
        );
    }
}
