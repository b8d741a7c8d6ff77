//! The PPTP ALG on the control messages of the public captures (ndpi-pptp.pcap: a Linux
//! pptp client and a Windows PAC; tcpdump-pptp.pcap: a Windows NT PNS and pptpd), then on
//! malformed and out-of-order variants.

use super::parse::tests::message;
use super::*;
use crate::alg::kit::AlgKit;
use crate::alg::{Change, Withdraw};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

/// A message of `len` bytes from its first bytes (the rest of the captures' messages is
/// zeros: host names and vendor strings the ALG does not read).
fn padded(head: &str, len: usize) -> Vec<u8> {
    let mut m = hex(head);
    m.resize(len, 0);
    m
}

// ndpi-pptp.pcap, frames 4, 6, 8, 10, 12, 16, 23.
fn ndpi_sccrq() -> Vec<u8> {
    padded(
        "009c00011a2b3c4d00010000010000000000000300000003ffff0001",
        156,
    )
}
fn ndpi_sccrp() -> Vec<u8> {
    padded("009c00011a2b3c4d000200000100010000000002000000030000", 156)
}
fn ndpi_ocrq() -> Vec<u8> {
    padded(
        "00a800011a2b3c4d00070000000000000000096000989680000000030000000300030000",
        168,
    )
}
const NDPI_OCRP: &str = "002000011a2b3c4d000800002deb00000100000000e40b544000000000000000";
const NDPI_SLI: &str = "001800011a2b3c4d000f00000000a19600000000ffffffff";
const NDPI_CCRQ: &str = "001000011a2b3c4d000c000000000000";
fn ndpi_cdn() -> Vec<u8> {
    padded("009400011a2b3c4d000d0000", 148)
}

// tcpdump-pptp.pcap, frames 5, 8, 10, 13.
fn nt_sccrq() -> Vec<u8> {
    padded(
        "009c00011a2b3c4d000100000100000000000001000000010000087",
        156,
    )
}
fn pptpd_sccrp() -> Vec<u8> {
    padded(
        "009c00011a2b3c4d00020000010001000000000000000000000100016c6f63616c",
        156,
    )
}
fn nt_ocrq() -> Vec<u8> {
    padded(
        "00a800011a2b3c4d00070000000078280000012c05f5e100000000030000000300400000",
        168,
    )
}
const PPTPD_OCRP: &str = "002000011a2b3c4d00080000000000000100000005f5e1000040000000000000";

const PNS: &str = "198.18.10.100";
const PAC: &str = "198.18.0.100";

fn kit() -> AlgKit<Pptp> {
    AlgKit::new("198.18.10.100:41366", "198.18.0.100:1723")
}

fn gre(k: &AlgKit<Pptp>, src: &str, sport: u16, dst: &str, dport: u16) -> Expect {
    k.expect_class(GRE, ipproto::GRE, src, Some(sport), dst, dport)
}

fn call_withdrawn(pns: u16, pac: u16) -> Change {
    Change::Withdraw(Withdraw {
        classes: GRE_CLASSES,
        tag: Some(call_tag(pns, pac)),
    })
}

#[test]
fn windows_pac_outgoing_call_expects_gre_both_ways_and_clear_withdraws_it() {
    let mut k = kit();
    assert!(k.client(&ndpi_sccrq()).is_empty());
    assert!(k.server(&ndpi_sccrp()).is_empty());
    assert!(k.client(&ndpi_ocrq()).is_empty());
    let e = k.server(&hex(NDPI_OCRP));
    // The kernel's two expectations of this capture: PNS -> PAC to call ID 0x2deb, and
    // PAC -> PNS to call ID 0.
    assert_eq!(
        e,
        vec![gre(&k, PNS, 0, PAC, 0x2deb), gre(&k, PAC, 0x2deb, PNS, 0)]
    );
    assert!(
        k.announced()
            .iter()
            .all(|(_, t)| t.tag == call_tag(0, 0x2deb))
    );
    // Set-Link-Info (its non-zero Reserved1 is Windows' habit, not an error).
    assert!(k.server(&hex(NDPI_SLI)).is_empty());
    assert_eq!(k.refusals(), 0);
    let before = k.changes().len();
    k.client(&hex(NDPI_CCRQ));
    assert_eq!(k.changes()[before..], [call_withdrawn(0, 0x2deb)]);
    // Windows names the call by the PNS's Call ID in its Call-Disconnect-Notify.
    k.server(&ndpi_cdn());
    assert_eq!(k.changes().last(), Some(&call_withdrawn(0, 0x2deb)));
    assert_eq!(k.refusals(), 0);
}

#[test]
fn pptpd_outgoing_call_over_split_and_retransmitted_segments() {
    let mut k: AlgKit<Pptp> = AlgKit::new("198.18.0.1:3025", "198.18.0.2:1723");
    k.client(&nt_sccrq());
    let reply = pptpd_sccrp();
    // The reply in two segments: nothing until it is whole.
    assert!(k.server(&reply[..100]).is_empty());
    assert!(k.server(&reply[100..]).is_empty());
    k.client(&nt_ocrq());
    let e = k.server(&hex(PPTPD_OCRP));
    assert_eq!(
        e,
        vec![
            gre(&k, "198.18.0.1", 0, "198.18.0.2", 0),
            gre(&k, "198.18.0.2", 0, "198.18.0.1", 0)
        ]
    );
    assert_eq!(k.refusals(), 0);
}

#[test]
fn incoming_call_expects_gre_when_connected() {
    let mut k = kit();
    k.client(&ndpi_sccrq());
    k.server(&ndpi_sccrp());
    // Incoming-Call-Request from the PAC (Call ID 0x4001), Incoming-Call-Reply from the PNS
    // (Call ID 7, Peer's 0x4001, connect), Incoming-Call-Connected (Peer's Call ID 7).
    assert!(k.server(&message(9, &[0x4001, 1])).is_empty());
    assert!(k.client(&message(10, &[7, 0x4001, 0x0100])).is_empty());
    let e = k.server(&message(11, &[7]));
    assert_eq!(
        e,
        vec![gre(&k, PNS, 7, PAC, 0x4001), gre(&k, PAC, 0x4001, PNS, 7)]
    );
    k.server(&message(13, &[0x4001, 0x0100]));
    assert_eq!(k.changes().last(), Some(&call_withdrawn(7, 0x4001)));
    assert_eq!(k.refusals(), 0);
}

#[test]
fn stop_control_connection_withdraws_every_call() {
    let mut k = kit();
    k.client(&ndpi_sccrq());
    k.server(&ndpi_sccrp());
    for (pns, pac) in [(1u16, 101u16), (2, 102)] {
        k.client(&message(7, &[pns]));
        assert_eq!(k.server(&message(8, &[pac, pns, 0x0100])).len(), 2);
    }
    k.client(&message(3, &[]));
    k.server(&message(4, &[0x0100]));
    let tail: Vec<Change> = k.changes()[k.changes().len() - 2..].to_vec();
    assert!(tail.contains(&call_withdrawn(1, 101)));
    assert!(tail.contains(&call_withdrawn(2, 102)));
}

#[test]
fn malformed_and_out_of_order_messages_are_refused_and_counted() {
    let mut k = kit();
    // A call before the control connection is up.
    assert!(k.client(&ndpi_ocrq()).is_empty());
    assert_eq!(k.refused("out-of-state"), 1);
    k.client(&ndpi_sccrq());
    k.server(&ndpi_sccrp());
    // An Outgoing-Call-Reply for a call nobody requested.
    assert!(k.server(&hex(NDPI_OCRP)).is_empty());
    assert_eq!(k.refused("unknown-call"), 1);
    // An Outgoing-Call-Reply from the PNS.
    k.client(&ndpi_ocrq());
    assert!(k.client(&hex(NDPI_OCRP)).is_empty());
    assert_eq!(k.refused("wrong-sender"), 1);
    // A reply cut to 20 bytes whose Length says so: too short for its type.
    let mut short = hex(NDPI_OCRP)[..20].to_vec();
    short[1] = 20;
    assert!(k.server(&short).is_empty());
    assert_eq!(k.refused("too-short"), 1);
    // A type RFC 2637 does not define.
    let mut unknown = hex(NDPI_SLI);
    unknown[9] = 99;
    k.server(&unknown);
    assert_eq!(k.refused("unknown-type"), 1);
    // A management message (PPTP Message Type 2).
    let mut mgmt = hex(NDPI_SLI);
    mgmt[3] = 2;
    k.server(&mgmt);
    assert_eq!(k.refused("not-control"), 1);
    // Garbage between messages is skipped to the next Magic Cookie; the call still goes up.
    let mut seg = vec![0xde, 0xad, 0xbe, 0xef, 0x00];
    seg.extend_from_slice(&hex(NDPI_OCRP));
    assert_eq!(k.server(&seg).len(), 2);
    assert_eq!(k.refused("not-a-message"), 1);
    assert!(k.announced().len() == 2);
}

#[test]
fn a_refused_call_expects_nothing() {
    let mut k = kit();
    k.client(&ndpi_sccrq());
    k.server(&ndpi_sccrp());
    k.client(&ndpi_ocrq());
    let mut busy = hex(NDPI_OCRP);
    busy[16] = 4; // Result Code 4: busy (§2.8)
    assert!(k.server(&busy).is_empty());
    // The call is forgotten: a later connecting reply names no call.
    assert!(k.server(&hex(NDPI_OCRP)).is_empty());
    assert_eq!(k.refused("unknown-call"), 1);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes on either side never panic, and every announcement is GRE between the
        /// control session's two ends, at most two per message.
        #[test]
        fn any_bytes_announce_only_gre_between_the_ends(
            segs in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..200)), 0..12)
        ) {
            let mut k = kit();
            k.client(&ndpi_sccrq());
            k.server(&ndpi_sccrp());
            for (from_client, bytes) in &segs {
                let e = if *from_client { k.client(bytes) } else { k.server(bytes) };
                prop_assert!(e.len() <= 2);
                for x in e {
                    prop_assert_eq!(x.proto, ipproto::GRE);
                    let ends = [k.control.client, k.control.server];
                    prop_assert!(ends.contains(&x.dst) && x.src.is_some_and(|s| ends.contains(&s) && s != x.dst));
                }
            }
        }

        /// Any outgoing call announces the Call IDs its request and reply named.
        #[test]
        fn outgoing_calls_expect_their_own_call_ids(pns in any::<u16>(), pac in any::<u16>()) {
            let mut k = kit();
            k.client(&ndpi_sccrq());
            k.server(&ndpi_sccrp());
            k.client(&message(7, &[pns]));
            let e = k.server(&message(8, &[pac, pns, 0x0100]));
            prop_assert_eq!(e, vec![gre(&k, PNS, pns, PAC, pac), gre(&k, PAC, pac, PNS, pns)]);
        }
    }
}
