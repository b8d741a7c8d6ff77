//! Feeds arbitrary bytes to the H.323 ALG's Q.931 parser (alg::h323::q931) as one message, and
//! to the whole ALG through the test kit as an H.225.0 call-signalling stream (TPKT over TCP)
//! cut at arbitrary points (the first byte of each piece chooses the direction).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessmgr::alg::h323::{H323, q931};
use sessmgr::alg::kit::AlgKit;

fuzz_target!(|data: &[u8]| {
    if let Ok(q) = q931::parse(data) {
        assert!(q.user_info.len() < data.len());
    }
    let (client, server) = ("198.18.0.1".parse().ok(), "198.18.0.2".parse().ok());
    let mut k: AlgKit<H323> = AlgKit::new("198.18.0.1:40000", "198.18.0.2:1720");
    for piece in data.split(|&b| b == 0xff) {
        let Some((&dir, bytes)) = piece.split_first() else {
            continue;
        };
        let e = if dir & 1 == 0 { k.client(bytes) } else { k.server(bytes) };
        for e in e {
            // Every entry admits only the other end of the call-signalling session; all but a
            // forwarded call's are to the announcing end.
            assert!(e.dport != 0);
            assert!(e.src == client || e.src == server, "{e:?}");
        }
    }
});
