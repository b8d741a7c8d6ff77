//! Feeds arbitrary bytes to the TFTP ALG's request parser (alg::tftp::parse) as one
//! datagram sent to the server port.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessmgr::alg::tftp::parse::parse_request;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(r)) = parse_request(data) {
        // Borrowed from the datagram, never empty, NUL-free.
        assert!(!r.filename.is_empty());
        assert!(!r.filename.contains(&0) && !r.mode.contains(&0));
        assert!(r.filename.len() + r.mode.len() + 4 <= data.len());
    }
});
