//! Feeds arbitrary bytes to the PPTP ALG's control-message parser (alg::pptp::parse) as one
//! message, and to the whole ALG through the test kit as a TCP control stream: the input is
//! a list of pieces `[direction byte][16-bit length][bytes]` (a length beyond the input takes
//! the rest), each piece one segment (even direction byte: from the PNS). Checks that every
//! announcement is GRE between the control session's two ends, two per call.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessmgr::alg::kit::AlgKit;
use sessmgr::alg::pptp::Pptp;
use sessmgr::alg::pptp::parse::parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = parse(data) {
        assert!(data.len() >= m.kind.fixed_len());
    }
    let mut k: AlgKit<Pptp> = AlgKit::new("10.1.1.11:3025", "10.1.1.10:1723");
    let (pns, pac) = (k.control.client, k.control.server);
    let mut rest = data;
    while let [dir, a, b, tail @ ..] = rest {
        let n = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
        let (seg, after) = tail.split_at(n);
        rest = after;
        let e = if dir & 1 == 0 { k.client(seg) } else { k.server(seg) };
        // A segment may hold several messages; each call up announces its two directions.
        assert!(e.len() % 2 == 0, "{e:?}");
        for e in e {
            assert_eq!(e.proto, 47);
            assert!(
                (e.src == Some(pns) && e.dst == pac) || (e.src == Some(pac) && e.dst == pns),
                "{e:?}"
            );
            assert!(e.sport.is_some());
        }
    }
});
