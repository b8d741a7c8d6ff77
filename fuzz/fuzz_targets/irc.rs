//! Feeds arbitrary bytes to the IRC DCC parser (alg::irc::parse, the example ALG of
//! docs/writing-an-alg.md), as one line and as many (split at LF, CR stripped, the way the ALG
//! framework hands lines over).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessmgr::alg::irc::parse::parse_line;

fn line(bytes: &[u8]) {
    if let Ok(Some(offer)) = parse_line(bytes) {
        // An offer always names a port a peer can connect to.
        assert_ne!(offer.port, 0);
    }
}

fuzz_target!(|data: &[u8]| {
    line(data);
    for l in data.split(|&b| b == b'\n') {
        line(l.strip_suffix(b"\r").unwrap_or(l));
    }
});
