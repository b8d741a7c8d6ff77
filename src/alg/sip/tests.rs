//! The SIP ALG through the test kit: what each message announces and withdraws.

use super::parse::tests::{PHONE_REGISTER, SIPP_INVITE};
use super::*;
use crate::alg::kit::AlgKit;
use crate::alg::{ALL_CLASSES, Change, tag_of};

const CALLER: &str = "198.18.1.1";
const CALLEE: &str = "198.18.1.2";

fn udp() -> AlgKit<Sip> {
    AlgKit::<Sip>::new("198.18.1.1:5061", "198.18.1.2:5060").over_udp()
}

fn answer(call_id: &str, addr: &str, port: u16) -> Vec<u8> {
    let body = format!(
        "v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n"
    );
    format!(
        "SIP/2.0 200 OK\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn media(k: &AlgKit<Sip>, class: u8, from: Option<&str>, to: &str, port: u16) -> Expect {
    let mut e = k.expect_class(class, ipproto::UDP, from.unwrap_or(to), None, to, port);
    if from.is_none() {
        e.src = None;
    }
    e
}

#[test]
fn offer_and_answer_open_media_both_ways_and_bye_withdraws_the_call() {
    let mut k = udp();
    let offer = k.client(SIPP_INVITE);
    assert_eq!(
        offer,
        vec![
            media(&k, AUDIO, Some(CALLEE), CALLER, 6000),
            media(&k, AUDIO, Some(CALLEE), CALLER, 6001)
        ]
    );
    let ans = k.server(&answer("1-4321@198.18.1.1", CALLEE, 7078));
    assert_eq!(
        ans,
        vec![
            media(&k, AUDIO, Some(CALLER), CALLEE, 7078),
            media(&k, AUDIO, Some(CALLER), CALLEE, 7079)
        ]
    );
    // Every announcement carries the call's tag.
    let tag = tag_of(b"1-4321@198.18.1.1");
    assert!(
        k.announced()
            .iter()
            .all(|(_, t)| t.tag == tag && !t.permanent)
    );
    k.client(b"BYE sip:service@198.18.1.2:5060 SIP/2.0\r\nCall-ID: 1-4321@198.18.1.1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n");
    let w = Withdraw {
        classes: MEDIA,
        tag: Some(tag),
    };
    // The INVITE withdrew the call's old entries first, the BYE withdrew them at the end.
    assert_eq!(k.changes(), &[Change::Withdraw(w), Change::Withdraw(w)]);
    assert_eq!(k.refusals(), 0);
}

#[test]
fn a_final_error_or_cancel_ends_the_call() {
    let mut k = udp();
    k.client(SIPP_INVITE);
    k.server(b"SIP/2.0 486 Busy Here\r\nCall-ID: 1-4321@198.18.1.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(k.changes().len(), 2);
    // An error to an unknown call changes nothing.
    k.server(b"SIP/2.0 486 Busy Here\r\nCall-ID: other\r\nCSeq: 1 INVITE\r\n\r\n");
    assert_eq!(k.changes().len(), 2);
    k.client(b"CANCEL sip:x SIP/2.0\r\nCall-ID: 1-4321@198.18.1.1\r\nCSeq: 1 CANCEL\r\n\r\n");
    assert_eq!(k.changes().len(), 3);
}

#[test]
fn direct_media_refuses_a_third_party_address_and_proxies_need_it_off() {
    let mut k = udp();
    // The callee's 200 names a media server: not the sender.
    assert!(k.server(&answer("c1", "198.18.1.3", 7078)).is_empty());
    assert_eq!(k.refused("media-not-signalling-peer"), 1);
    set_options(SipOptions {
        direct_media: false,
        direct_signalling: true,
    });
    let mut k = udp();
    set_options(SipOptions::default());
    let e = k.server(&answer("c1", "198.18.1.3", 7078));
    assert_eq!(
        e,
        vec![
            media(&k, AUDIO, None, "198.18.1.3", 7078),
            media(&k, AUDIO, None, "198.18.1.3", 7079)
        ]
    );
    assert_eq!(k.refusals(), 0);
}

#[test]
fn register_expects_incoming_signalling_to_the_contact_until_refused_or_refreshed() {
    let mut k: AlgKit<Sip> =
        AlgKit::<Sip>::new("192.168.1.2:5060", "212.242.33.35:5060").over_udp();
    let e = k.client(PHONE_REGISTER);
    let want = k.expect_class(
        SIGNALLING,
        ipproto::UDP,
        "212.242.33.35",
        None,
        "192.168.1.2",
        5060,
    );
    assert_eq!(e, vec![want]);
    assert!(k.announced()[0].1.permanent);
    let signalling = Withdraw {
        classes: 1 << SIGNALLING,
        tag: None,
    };
    k.server(b"SIP/2.0 401 Unauthorized\r\nCall-ID: 578222729-4665d775@578222732-4665d772\r\nCSeq: 75 REGISTER\r\n\r\n");
    assert_eq!(k.changes(), &[Change::Withdraw(signalling)]);
    k.client(PHONE_REGISTER);
    k.server(b"SIP/2.0 200 OK\r\nCall-ID: 578222729-4665d775@578222732-4665d772\r\nCSeq: 75 REGISTER\r\nContact: <sip:voi18062@192.168.1.2:5060;line=aca6b97ca3f5e51a>;q=0.500;expires=1200\r\n\r\n");
    assert_eq!(k.changes()[1], Change::Refresh(signalling, 1_200_000));
    // A contact naming a third party: the kernel's rule, no entry, counted.
    let third = String::from_utf8_lossy(PHONE_REGISTER)
        .replace("192.168.1.2:5060;line", "192.168.1.77:5060;line");
    assert!(k.client(third.as_bytes()).is_empty());
    assert_eq!(k.refused("contact-not-sender"), 1);
    let _ = ALL_CLASSES;
}

#[test]
fn tcp_messages_split_over_segments() {
    let mut k: AlgKit<Sip> = AlgKit::new("198.18.1.1:40000", "198.18.1.2:5060");
    let (a, b) = SIPP_INVITE.split_at(300);
    assert!(k.client(a).is_empty());
    let e = k.client(b);
    assert_eq!(e.len(), 2);
    assert!(e.iter().all(|x| x.proto == ipproto::UDP && x.dport >= 6000));
}

#[test]
fn ipv6_offer() {
    let mut k: AlgKit<Sip> =
        AlgKit::<Sip>::new("[2001:2:1::1]:5060", "[2001:2:1::2]:5060").over_udp();
    let body =
        "v=0\r\nc=IN IP6 2001:2:1::1\r\nm=audio 9000 RTP/AVP 0\r\nm=image 9002 udptl t38\r\n";
    let msg = format!(
        "INVITE sip:b@[2001:2:1::2] SIP/2.0\r\nCall-ID: v6\r\nCSeq: 1 INVITE\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let e = k.client(msg.as_bytes());
    assert_eq!(e.len(), 4);
    assert_eq!(e[2].class, IMAGE);
    // An IPv4 address in an IPv6 call is refused.
    let msg = msg.replace("IN IP6 2001:2:1::1", "IN IP4 198.18.1.1");
    assert!(k.client(msg.as_bytes()).is_empty());
    assert_eq!(k.refused("wrong-family"), 1);
}
