//! Feeds arbitrary bytes to the RTSP ALG's parser (alg::rtsp::parse) as one message, and to
//! the whole ALG through the test kit as a TCP control stream cut at arbitrary points (the
//! first byte of each piece chooses the direction), checking what it announces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessmgr::alg::kit::AlgKit;
use sessmgr::alg::rtsp::Rtsp;
use sessmgr::alg::rtsp::parse::{MAX_TRANSPORTS, parse_message};

fn message(bytes: &[u8]) {
    let Ok(m) = parse_message(bytes) else {
        return;
    };
    let mut n = 0;
    for t in m.transports() {
        n += 1;
        let Ok(t) = t else { continue };
        for p in [t.client_port, t.server_port].into_iter().flatten() {
            assert_ne!(p.first, 0);
            assert!(p.last.is_none_or(|l| l >= p.first));
        }
        assert!(t.dest_addr.len() <= 2 && t.src_addr.len() <= 2);
    }
    assert!(n <= MAX_TRANSPORTS);
}

fuzz_target!(|data: &[u8]| {
    message(data);
    let mut k: AlgKit<Rtsp> = AlgKit::new("10.1.1.10:52472", "10.2.2.2:554");
    for piece in data.split(|&b| b == 0xff) {
        let Some((&dir, bytes)) = piece.split_first() else {
            continue;
        };
        let (client, server) = ("10.1.1.10".parse().ok(), "10.2.2.2".parse().ok());
        let e = if dir & 1 == 0 { k.client(bytes) } else { k.server(bytes) };
        for e in e {
            // Media only ever between the two ends of the control session, UDP, to a port.
            assert!(e.dport != 0 && e.sport.is_none());
            assert!(
                (e.src == server && Some(e.dst) == client) || (e.src == client && Some(e.dst) == server),
                "{e:?}"
            );
        }
    }
});
