//! Tests of the H.323 ALG with messages from the public capture ndpi-h323.pcap (a
//! NetMeeting-style call with H.245, an OpenH323 gatekeeper's RAS, a Cisco-style call admitted
//! by it), plus malformed variants and property tests.

use super::per::{self, Found, Mark, PerError, Role, Slot};
use super::*;
use crate::alg::kit::AlgKit;
use crate::alg::{Change, Terms};
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
        .collect()
}

const CAPTURED: &[(&str, &str, Mode)] = &[
    (
        "f6 setup",
        "030000a0080277f40504038090a528086d2e6a656d6563007e00850520a8060008914a0004014006006d002e006a0065006d0065006322c00900003d1443616c6c67656e33323320706f67616373616d00000a302e39616c706861340000000a01061206b800f8fdf93ecd9ed6119ab2000476222017005d0d8007000a01038f80231100c0fef93ecd9ed6119ab2000476222017010001000100010002800100",
        Mode::CallSignalling,
    ),
    (
        "f10 proceeding",
        "030000400802f7f4027e0034052180060008914a000322c0000000000333313069005200f0c01100c0fef93ecd9ed6119ab20004762220170100010008800100",
        Mode::CallSignalling,
    ),
    (
        "f14 alerting",
        "030000400802f7f4017e0034052380060008914a000322c000000000033331306900520150c01100c0fef93ecd9ed6119ab20004762220170100010008800100",
        Mode::CallSignalling,
    ),
    (
        "f18 connect",
        "030000610802f7f40728074d2e4a454d45437e004c0522c0060008914a0003000a01061204d022c0000000000333313069005200f8fdf93ecd9ed6119ab2000476222017170c001100c0fef93ecd9ed6119ab20004762220170100010008800100",
        Mode::CallSignalling,
    ),
    (
        "f25",
        "0300001c0230010600088175000500801bc520401d00800000001bc5",
        Mode::H245,
    ),
    (
        "f29",
        "03000031027001060008817500078013800032000100000100000100000cc001000180008000002040ef00800100000000",
        Mode::H245,
    ),
    (
        "f38 olc",
        "03000018030000640c201d800b0d0001000a01038f138980",
        Mode::H245,
    ),
    (
        "f39 olc",
        "030000170300003c0c201d800a040001000a01061207d7",
        Mode::H245,
    ),
    (
        "f41 olcack",
        "0300001e22c0003c0280135c00000a01038f1388000a01038f1389010100",
        Mode::H245,
    ),
    (
        "f42 olcack",
        "0300001f22c000640480145c00000a01061207d6000a01061207d703000180",
        Mode::H245,
    ),
    (
        "f47 setup",
        "0300007e0802000105040388c0a56c04018031377e00670520a8060008914a000301400e004100420049004c004900530020004300500058002000320030003000300080c0a8000106b8000000000000000000000000000000000000d10d8000110000000000000000000000000000000000010001000100010010800100",
        Mode::CallSignalling,
    ),
    (
        "f60 gcf",
        "04800000060008914a00043e004f00700065006e004800330032003300200047006100740065006b006500650070006500720020006f006e0020006d0066006f007400740065006b0069006e00110200a106b7",
        Mode::Ras,
    ),
    (
        "f61 rrq",
        "0ec00001060008914a00048001001102007c06b801001102007c07f22200ae01003d0001840e10034033333333333333333099903e004f00700065006e004800330032003300200047006100740065006b006500650070006500720020006f006e0020006d0066006f007400740065006b0069006e00ae01003d280b0000010001800180",
        Mode::Ras,
    ),
    (
        "f62 rcf",
        "12400001060008914a000401001102007c06b83e004f00700065006e004800330032003300200047006100740065006b006500650070006500720020006f006e0020006d0066006f007400740065006b0069006e1600340037003400610037003400630038003a0032003700340e8e03400e0f018005800802003b0100",
        Mode::Ras,
    ),
    (
        "f64 acf",
        "2b000002400a00001102007a06b8003b1400c001800b9801f80100010001000100",
        Mode::Ras,
    ),
    (
        "f65 setup",
        "03000099080200010504039090a26c08c1353239353637327008c1393234363532367e00730520a8060008914a000401030085c89a5220ae01003d001102007a06b800003dfd3000004833800005040302010000cd0d800207001102007c06b81100004091fb7289f911802a050403020100010001000100010019017820140011696e666f406173656c73616e2e636f6d6f6d2810800100a1",
        Mode::CallSignalling,
    ),
    (
        "f71 rrq",
        "0e804692060008914a00060001000a2fd0cc06b801000a2fd0cc06b722c0820101000754616e64626572670232353750820101000854616e6462657267c002400b0032003000320030003300400061006d002e0073006f006c018053cb60820101000754616e646265726702323537340f10300001804f4c00620064003000320030006200380030002d0036006400340031002d0031003100650031002d0061003700660062002d003000300031003000660033003000660036003500610030005f0031003701000100010016180200001210b876c291c55211da95f4000cf13eb3fd6d015020df8903596f45199f2773c0a59274af00005020df8903596f45199f2773c0a59274af00463c617373656e743e3c617373656e745f747970653e636c69656e743c2f617373656e745f747970653e3c76657273696f6e3e313c2f76657273696f6e3e3c2f617373656e743e",
        Mode::Ras,
    ),
];

fn captured(name: &str) -> Vec<u8> {
    CAPTURED
        .iter()
        .find(|c| c.0.starts_with(name))
        .map(|c| hex(c.1))
        .unwrap_or_default()
}

/// The NetMeeting call's Q.931 session, client 10.1.3.143.
fn call() -> AlgKit<H323> {
    AlgKit::new("10.1.3.143:32803", "10.1.6.18:1720")
}

/// Its H.245 session, announced by the Connect.
fn h245() -> AlgKit<H323> {
    AlgKit::new("10.1.3.143:32804", "10.1.6.18:1232").expected(H245)
}

/// The OpenH323 gatekeeper's RAS session, endpoint 17.2.0.124.
fn ras() -> AlgKit<H323> {
    AlgKit::<H323>::new("17.2.0.124:2034", "17.2.0.161:1719").over_udp()
}

fn walk(name: &str) -> (Result<(), PerError>, Found) {
    let (_, h, mode) = CAPTURED
        .iter()
        .find(|c| c.0.starts_with(name))
        .copied()
        .unwrap_or(("", "", Mode::Ras));
    let m = hex(h);
    let mut f = Found::default();
    let r = match mode {
        Mode::Ras => per::walk(&m, &h225::RAS, Mark::Kind(Slot::Message), &mut f),
        Mode::CallSignalling => match q931::parse(&m[4..]) {
            Ok(q) => per::walk(q.user_info, &h225::USER_INFO, Mark::None, &mut f),
            Err(_) => Err(PerError::BadValue),
        },
        Mode::H245 => per::walk(&m[4..], &h245::MESSAGE, Mark::None, &mut f),
    };
    (r, f)
}

#[test]
fn every_captured_message_walks_to_its_end() {
    for (name, _, _) in CAPTURED {
        let (r, f) = walk(name);
        assert_eq!(r, Ok(()), "{name}");
        assert!(!f.partial, "{name}");
    }
    // The message kinds the walk reports.
    assert_eq!(walk("f6 ").1.message, Some(h225::body::SETUP));
    assert_eq!(walk("f10").1.message, Some(h225::body::CALL_PROCEEDING));
    assert_eq!(walk("f14").1.message, Some(h225::body::ALERTING));
    assert_eq!(walk("f18").1.message, Some(h225::body::CONNECT));
    assert_eq!(walk("f60").1.message, Some(h225::ras::GCF));
    assert_eq!(walk("f61").1.message, Some(h225::ras::RRQ));
    assert_eq!(walk("f62").1.ttl, Some(3600));
    assert_eq!(walk("f64").1.message, Some(h225::ras::ACF));
}

#[test]
fn connect_announces_the_h245_connection_from_the_caller() {
    let mut k = call();
    assert!(k.client(&captured("f6 ")).is_empty());
    assert!(k.server(&captured("f10")).is_empty());
    assert!(k.server(&captured("f14")).is_empty());
    let e = k.server(&captured("f18"));
    assert_eq!(
        e,
        vec![k.expect_class(H245, ipproto::TCP, "10.1.3.143", None, "10.1.6.18", 1232)]
    );
    assert_eq!(k.refusals(), 0);
}

#[test]
fn a_tpkt_header_alone_then_its_q931_message() {
    // ndpi-h323 frames 48 and 50: a Cisco-style endpoint writes the TPKT header separately.
    let mut k = AlgKit::<H323>::new("192.168.0.208:56837", "192.168.0.1:1720");
    assert!(k.client(&captured("f47")).is_empty());
    assert!(k.server(&hex("0300002b")).is_empty());
    let body =
        hex("08028001017e001f050380060008914a0002020120110000000000000000000000000000000000");
    assert!(k.server(&body).is_empty());
    assert_eq!(k.refusals(), 0, "the split message was read whole");
}

#[test]
fn open_logical_channel_and_its_ack_expect_rtp_and_rtcp_at_the_sender() {
    let mut k = h245();
    let olc = k.client(&captured("f38"));
    assert_eq!(
        olc,
        vec![
            k.expect_class(MEDIA, ipproto::UDP, "10.1.6.18", None, "10.1.3.143", 5000),
            k.expect_class(MEDIA, ipproto::UDP, "10.1.6.18", None, "10.1.3.143", 5001),
        ]
    );
    let olc = k.server(&captured("f39"));
    assert_eq!(olc.len(), 2);
    assert_eq!((olc[0].dport, olc[1].dport), (2006, 2007));
    // The ack names both the media and the media-control channel: the pair twice, as the
    // kernel (each replaces the last).
    let ack = k.client(&captured("f41"));
    assert_eq!(
        ack.iter().map(|e| e.dport).collect::<Vec<_>>(),
        [5000, 5001, 5000, 5001]
    );
    assert_eq!(k.refusals(), 0);
}

#[test]
fn a_media_address_of_someone_else_is_refused() {
    // The OLC from the other side of the session: the address is not its sender's.
    let mut k = h245();
    assert!(k.server(&captured("f38")).is_empty());
    assert_eq!(k.refused("address-not-sender"), 1);
}

#[test]
fn ras_registration_and_admission_expect_call_signalling() {
    let mut k = ras();
    // The GCF names the gatekeeper's own RAS address: nothing to expect.
    assert!(k.server(&captured("f60")).is_empty());
    let rrq = k.client(&captured("f61"));
    assert_eq!(
        rrq,
        vec![k.expect_class(
            SIGNALLING,
            ipproto::TCP,
            "17.2.0.161",
            None,
            "17.2.0.124",
            1720
        )]
    );
    assert!(k.announced()[0].1.permanent);
    // The RCF's time to live refreshes the registration's entries.
    assert!(k.server(&captured("f62")).is_empty());
    assert_eq!(
        k.changes(),
        &[Change::Refresh(
            Withdraw {
                classes: 1 << SIGNALLING,
                tag: None
            },
            3_600_000
        )]
    );
    let acf = k.server(&captured("f64"));
    assert_eq!(
        acf,
        vec![k.expect_class(
            SIGNALLING,
            ipproto::TCP,
            "17.2.0.124",
            None,
            "17.2.0.122",
            1720
        )]
    );
    assert_eq!(k.refusals(), 0);
}

#[test]
fn a_gcf_naming_another_ras_address_expects_it_unless_itself_expected() {
    // The captured GCF, answered from another port than the one it names (1719).
    let mut k = AlgKit::<H323>::new("17.2.0.124:2034", "17.2.0.161:1718").over_udp();
    let e = k.server(&captured("f60"));
    assert_eq!(
        e,
        vec![k.expect_class(RAS, ipproto::UDP, "17.2.0.124", None, "17.2.0.161", 1719)]
    );
    let mut k = AlgKit::<H323>::new("17.2.0.124:2034", "17.2.0.161:1718")
        .over_udp()
        .expected(RAS);
    assert!(k.server(&captured("f60")).is_empty());
}

/// A small aligned-PER writer for building messages the captures do not hold.
#[derive(Default)]
struct W {
    bytes: Vec<u8>,
    bit: usize,
}

impl W {
    fn bits(&mut self, v: u32, n: u32) -> &mut W {
        for i in (0..n).rev() {
            if self.bit.is_multiple_of(8) {
                self.bytes.push(0);
            }
            let b = (v >> i) & 1;
            let last = self.bytes.len() - 1;
            self.bytes[last] |= (b as u8) << (7 - self.bit % 8);
            self.bit += 1;
        }
        self
    }
    fn align(&mut self) -> &mut W {
        self.bit = self.bit.div_ceil(8) * 8;
        self
    }
    fn octets(&mut self, o: &[u8]) -> &mut W {
        self.align();
        self.bytes.extend_from_slice(o);
        self.bit += o.len() * 8;
        self
    }
    /// A length determinant and the octets.
    fn open(&mut self, o: &[u8]) -> &mut W {
        assert!(o.len() < 128);
        self.octets(&[o.len() as u8]).octets(o)
    }
    fn ipv4(&mut self, ip: [u8; 4], port: u16) -> &mut W {
        // TransportAddress: not extended, ipAddress (3-bit index 0), ip, port.
        self.bits(0, 1)
            .bits(0, 3)
            .octets(&ip)
            .octets(&port.to_be_bytes())
    }
    fn done(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

const PROTOCOL: [u8; 6] = [0x00, 0x08, 0x91, 0x4a, 0x00, 0x04];

/// A Q.931 message in a TPKT around a user-user element.
fn tpkt_q931(message_type: u8, uu: &[u8]) -> Vec<u8> {
    let mut q = vec![0x08, 0x02, 0x12, 0x34, message_type, 0x7E];
    q.extend_from_slice(&((uu.len() + 1) as u16).to_be_bytes());
    q.push(0x05);
    q.extend_from_slice(uu);
    let mut t = vec![3, 0];
    t.extend_from_slice(&((q.len() + 4) as u16).to_be_bytes());
    t.extend(q);
    t
}

/// The OpenLogicalChannel of ndpi-h323 frame 38 on its own (it starts on an octet boundary
/// inside the request).
fn captured_olc() -> Vec<u8> {
    captured("f38")[5..].to_vec()
}

/// A Setup with `h245Address` and one fast-start channel (the captured OLC).
pub(super) fn setup_with_fast_start() -> Vec<u8> {
    let mut fast = W::default();
    let olc = captured_olc();
    fast.octets(&[1]).open(&olc);
    let fast = fast.done();
    let mut w = W::default();
    // H323-UserInformation and H323-UU-PDU not extended, nothing optional; body: setup.
    w.bits(0, 1)
        .bits(0, 1)
        .bits(0, 1)
        .bits(0, 1)
        .bits(0, 1)
        .bits(0, 3);
    // Setup: extended; of the 7 optional fields only h245Address.
    w.bits(1, 1).bits(0b100_0000, 7);
    w.open(&PROTOCOL);
    w.ipv4([10, 1, 3, 143], 1300);
    // sourceInfo: EndpointType, nothing optional, mc and undefinedNode false.
    w.bits(0, 1).bits(0, 6).bits(0, 2);
    // activeMC, conferenceID, conferenceGoal create, callType pointToPoint.
    w.bits(0, 1)
        .octets(&[0x11; 16])
        .bits(0, 1)
        .bits(0, 2)
        .bits(0, 1)
        .bits(0, 2);
    // Extension additions: 7 of them, only the 7th (fastStart) present.
    w.bits(0, 1).bits(6, 6).bits(0b000_0001, 7);
    w.open(&fast);
    tpkt_q931(q931::message_type::SETUP, &w.done())
}

#[test]
fn a_setup_with_fast_start_expects_the_h245_connection_and_the_media() {
    let mut k = call();
    let e = k.client(&setup_with_fast_start());
    assert_eq!(
        e,
        vec![
            k.expect_class(H245, ipproto::TCP, "10.1.6.18", None, "10.1.3.143", 1300),
            k.expect_class(MEDIA, ipproto::UDP, "10.1.6.18", None, "10.1.3.143", 5000),
            k.expect_class(MEDIA, ipproto::UDP, "10.1.6.18", None, "10.1.3.143", 5001),
        ]
    );
    assert_eq!(k.refusals(), 0);
}

#[test]
fn tunnelled_h245_is_read_inside_call_signalling() {
    let mut control = W::default();
    let msg = captured("f38")[4..].to_vec();
    control.octets(&[1]).open(&msg);
    let control = control.done();
    let mut w = W::default();
    // UU-PDU extended; body: information (index 4) with its protocol identifier only.
    w.bits(0, 1)
        .bits(0, 1)
        .bits(1, 1)
        .bits(0, 1)
        .bits(0, 1)
        .bits(4, 3);
    w.bits(0, 1).open(&PROTOCOL);
    // Three additions (h4501, h245Tunneling, h245Control), the third present.
    w.bits(0, 1).bits(2, 6).bits(0b001, 3);
    w.open(&control);
    let mut k = call();
    let e = k.client(&tpkt_q931(0x7B, &w.done()));
    assert_eq!(e.iter().map(|e| e.dport).collect::<Vec<_>>(), [5000, 5001]);
    assert_eq!(k.refusals(), 0);
}

fn facility(reason: u32) -> Vec<u8> {
    let mut w = W::default();
    w.bits(0, 1)
        .bits(0, 1)
        .bits(0, 1)
        .bits(0, 1)
        .bits(0, 1)
        .bits(6, 3);
    // Facility: not extended; alternativeAddress present only.
    w.bits(0, 1).bits(0b100, 3).open(&PROTOCOL);
    w.ipv4([198, 18, 0, 9], 1720);
    w.bits(0, 1).bits(reason, 2);
    tpkt_q931(q931::message_type::FACILITY, &w.done())
}

#[test]
fn a_forwarded_call_expects_call_signalling_to_the_new_party() {
    let mut k = call();
    let e = k.server(&facility(1));
    assert_eq!(
        e,
        vec![k.expect_class(
            SIGNALLING,
            ipproto::TCP,
            "10.1.3.143",
            None,
            "198.18.0.9",
            1720
        )]
    );
    // Any other reason: the alternative address is not a call to expect.
    assert!(k.server(&facility(3)).is_empty());
}

#[test]
fn truncations_of_every_captured_message_are_refused_not_panicked() {
    for (name, h, mode) in CAPTURED {
        let m = hex(h);
        let body = if *mode == Mode::Ras { &m[..] } else { &m[4..] };
        for cut in 0..body.len() {
            let mut f = Found::default();
            let part = &body[..cut];
            let r = match mode {
                Mode::Ras => per::walk(part, &h225::RAS, Mark::Kind(Slot::Message), &mut f),
                Mode::CallSignalling => match q931::parse(part) {
                    Ok(q) => per::walk(q.user_info, &h225::USER_INFO, Mark::None, &mut f),
                    Err(_) => continue,
                },
                Mode::H245 => per::walk(part, &h245::MESSAGE, Mark::None, &mut f),
            };
            // A prefix may end where nothing more is needed; otherwise it is refused.
            if r.is_ok() {
                continue;
            }
            assert!(
                matches!(r, Err(PerError::Truncated | PerError::BadValue)),
                "{name} cut at {cut}: {r:?}"
            );
        }
    }
}

#[test]
fn a_user_user_length_that_lies_is_refused() {
    let mut m = captured("f18");
    // The element says 0x4c octets; make it claim more than the message holds.
    let at = m
        .windows(3)
        .position(|w| w == [0x7e, 0x00, 0x4c])
        .unwrap_or(0);
    m[at + 2] = 0xff;
    let mut k = call();
    assert!(k.server(&m).is_empty());
    assert_eq!(k.refused("q931-truncated"), 1);
}

#[test]
fn a_fast_start_count_that_lies_is_refused() {
    // The fast-start list claims 100 channels but holds one.
    let mut m = setup_with_fast_start();
    let olc = captured_olc();
    let at = m.len() - olc.len() - 2;
    assert_eq!(m[at], 1, "the count");
    m[at] = 100;
    let mut k = call();
    // What came before the lie (the H.245 address, the one channel) is still announced, as
    // the kernel acts on each field as it decodes it; the message is counted.
    let e = k.client(&m);
    assert_eq!(e.len(), 3);
    assert_eq!(k.refused("per-truncated") + k.refused("per-bad-value"), 1);
}

#[test]
fn an_extension_bitmap_past_the_message_is_refused() {
    // A Setup whose extension preamble claims 64 additions in a message that ends there.
    let mut w = W::default();
    w.bits(0, 5)
        .bits(0, 3)
        .bits(1, 1)
        .bits(0, 7)
        .open(&PROTOCOL);
    // sourceInfo (9 bits) and activeMC, conferenceID, conferenceGoal and callType.
    w.bits(0, 10)
        .octets(&[0; 16])
        .bits(0, 6)
        .bits(0, 1)
        .bits(63, 6);
    let mut f = Found::default();
    assert_eq!(
        per::walk(&w.done(), &h225::USER_INFO, Mark::None, &mut f),
        Err(PerError::Truncated)
    );
}

#[test]
fn a_billion_item_list_is_refused_without_the_work() {
    // sourceAddress with 10^9 aliases needs a fragmented length; 16383 empty-ish items run out
    // of the budget first.
    let mut w = W::default();
    w.bits(0, 5)
        .bits(0, 3)
        .bits(0, 1)
        .bits(0b010_0000, 7)
        .open(&PROTOCOL);
    w.octets(&[0xC4, 0, 0]);
    let mut f = Found::default();
    assert_eq!(
        per::walk(&w.done(), &h225::USER_INFO, Mark::None, &mut f),
        Err(PerError::Fragmented)
    );
    let mut w = W::default();
    w.bits(0, 5)
        .bits(0, 3)
        .bits(0, 1)
        .bits(0b010_0000, 7)
        .open(&PROTOCOL);
    w.octets(&[0xBF, 0xFF]);
    // Each alias: dialedDigits of one digit (1+1+7 bits, then an aligned octet).
    for _ in 0..16383 {
        w.bits(0, 2).bits(0, 7).octets(&[0x10]);
    }
    let mut f = Found::default();
    assert_eq!(
        per::walk(&w.done(), &h225::USER_INFO, Mark::None, &mut f),
        Err(PerError::TooMuchWork)
    );
}

#[test]
fn wrong_family_and_zero_ports_are_not_announced() {
    let mut w = W::default();
    w.bits(0, 5).bits(2, 3);
    // Connect with an h245Address of port 0.
    w.bits(0, 1)
        .bits(1, 1)
        .open(&PROTOCOL)
        .ipv4([10, 1, 6, 18], 0);
    w.bits(0, 1).bits(0, 6).bits(0, 2).octets(&[0; 16]);
    let mut k = call();
    assert!(
        k.server(&tpkt_q931(q931::message_type::CONNECT, &w.done()))
            .is_empty()
    );
    assert_eq!(k.refused("zero-port"), 1);
    let mut k = AlgKit::<H323>::new("[2001:2::1]:40000", "[2001:2::2]:1720");
    assert!(k.server(&captured("f18")).is_empty());
    assert_eq!(k.refused("wrong-family"), 1);
}

#[test]
fn terms_of_rras_entries_are_permanent() {
    let mut k = AlgKit::<H323>::new("10.47.208.204:1719", "10.47.208.50:1719").over_udp();
    assert_eq!(k.client(&captured("f71")).len(), 1);
    assert_eq!(
        k.announced()[0].1,
        Terms {
            permanent: true,
            ..Terms::default()
        }
    );
}

fn walk_any(bytes: &[u8]) {
    for (ty, mark) in [
        (&h225::RAS, Mark::Kind(Slot::Message)),
        (&h225::USER_INFO, Mark::None),
        (&h245::MESSAGE, Mark::None),
    ] {
        let mut f = Found::default();
        let _ = per::walk(bytes, ty, mark, &mut f);
        assert!(f.n_addrs <= per::MAX_ADDRS);
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        walk_any(&bytes);
        let _ = q931::parse(&bytes);
    }

    #[test]
    fn mutated_captured_messages_never_panic(
        which in 0..CAPTURED.len(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let mut m = hex(CAPTURED[which].1);
        for (at, x) in flips {
            let n = m.len();
            m[at % n] ^= x;
        }
        walk_any(&m);
        walk_any(m.get(4..).unwrap_or(&[]));
        let mut k = call();
        k.client(&m);
        k.server(&m);
        let mut k = ras();
        k.client(&m);
    }

    #[test]
    fn any_segmentation_of_a_stream_reads_the_same(cuts in proptest::collection::vec(1usize..40, 1..20)) {
        // The Setup with fast start and the captured Connect, cut anywhere.
        let mut stream = setup_with_fast_start();
        stream.extend(captured("f18"));
        let mut whole = call();
        let a = whole.client(&stream);
        let mut k = call();
        let mut got = Vec::new();
        let mut rest = &stream[..];
        for c in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let n = (*c).min(rest.len());
            got.extend(k.client(&rest[..n]));
            rest = &rest[n..];
        }
        prop_assert_eq!(got, a);
    }
}

#[test]
fn the_roles_the_walk_reports() {
    let (_, f) = walk("f41");
    assert!(f.addrs().all(|a| a.0 == Role::Media));
    let (_, f) = walk("f18");
    assert_eq!(f.addrs().next().map(|a| a.0), Some(Role::H245));
}

#[test]
fn a_gcf_with_port_zero_is_refused() {
    // The fuzzer's find: a GCF whose rasAddress has port 0 once made an entry to port 0.
    let mut w = W::default();
    w.bits(0, 1).bits(1, 5); // RasMessage: gatekeeperConfirm
    w.bits(0, 1).bits(0, 2).octets(&[0, 1]).open(&PROTOCOL);
    w.ipv4([17, 2, 0, 161], 0);
    let mut k = ras();
    assert!(k.server(&w.done()).is_empty());
    assert_eq!(k.refused("zero-port"), 1);
}
