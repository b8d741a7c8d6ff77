//! Feeds arbitrary bytes to the SIP ALG: its message parser and SDP reader
//! (alg::sip::parse, alg::sip::sdp), the stream framing that cuts TCP into messages
//! (alg::message), and the ALG itself over UDP (one datagram) and TCP (the bytes split into
//! segments at arbitrary points).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessmgr::alg::kit::AlgKit;
use sessmgr::alg::sip::{Sip, parse, sdp};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = parse::parse_message(data) {
        for c in m.contacts() {
            let _ = c;
        }
        let _ = sdp::for_each_media(m.body, |_| {});
    }
    let _ = sdp::for_each_media(data, |_| {});
    let mut udp = AlgKit::<Sip>::new("198.18.0.1:5060", "198.19.0.2:5060").over_udp();
    for e in udp.client(data).into_iter().chain(udp.server(data)) {
        // Media goes over UDP to a port the SDP named; signalling over UDP or TCP.
        assert!(e.dport != 0 || e.class == 0);
    }
    // TCP: the first byte says where to cut the stream into two segments per direction.
    let mut tcp = AlgKit::<Sip>::new("[2001:2::1]:40000", "[2001:2::2]:5060");
    let cut = usize::from(data.first().copied().unwrap_or(0)).min(data.len());
    let (a, b) = data.split_at(cut);
    let _ = tcp.client(a);
    let _ = tcp.client(b);
    let _ = tcp.server(data);
});
