//! Feeds arbitrary bytes to the H.323 ALG's aligned-PER walker (alg::h323::per) as a RAS
//! message, an H323-UserInformation and an H.245 message, and to the whole ALG as RAS
//! datagrams and as an H.245 session (TPKT over TCP): any input ends in a result or a counted
//! refusal, within the walker's bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessmgr::alg::h323::per::{self, Found, MAX_ADDRS, Mark, Slot};
use sessmgr::alg::h323::{H245, H323, h225, h245};
use sessmgr::alg::kit::AlgKit;

fuzz_target!(|data: &[u8]| {
    for (ty, mark) in [
        (&h225::RAS, Mark::Kind(Slot::Message)),
        (&h225::USER_INFO, Mark::None),
        (&h245::MESSAGE, Mark::None),
    ] {
        let mut f = Found::default();
        let _ = per::walk(data, ty, mark, &mut f);
        assert!(f.n_addrs <= MAX_ADDRS);
    }
    let (a, b) = ("198.18.0.1".parse().ok(), "198.18.0.2".parse().ok());
    let mut ras: AlgKit<H323> = AlgKit::new("198.18.0.1:1719", "198.18.0.2:1719").over_udp();
    let mut control: AlgKit<H323> = AlgKit::new("198.18.0.1:40000", "198.18.0.2:1300").expected(H245);
    for piece in data.split(|&b| b == 0xff) {
        let Some((&dir, bytes)) = piece.split_first() else {
            continue;
        };
        let e = if dir & 1 == 0 { ras.client(bytes) } else { ras.server(bytes) };
        for e in e {
            // RAS entries always admit only the other end of the RAS session.
            assert!(e.dport != 0 && (e.src == a || e.src == b), "{e:?}");
        }
        let e = if dir & 2 == 0 { control.client(bytes) } else { control.server(bytes) };
        for e in e {
            // H.245 entries are to the announcing end, from the other (T.120: from anyone).
            assert!(e.dport != 0);
            assert!(
                (Some(e.dst) == a && (e.src == b || e.src.is_none()))
                    || (Some(e.dst) == b && (e.src == a || e.src.is_none())),
                "{e:?}"
            );
        }
    }
});
