//! Feeds arbitrary bytes to the failover protocol's decoder (sync::wire): as a whole datagram
//! (header, HMAC), as a data body past the HMAC (what a peer holding the key could send), and
//! as a state file (sync::statefile). Every input ends in a message or a refusal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessmgr::sync::{statefile, wire};

fuzz_target!(|data: &[u8]| {
    let _ = wire::decode(b"fuzz key", data);
    if let Ok(items) = wire::read_items(data) {
        // What parsed writes back to the same bytes.
        let mut out = Vec::new();
        for i in &items {
            wire::write_item(i, &mut out);
        }
        assert!(out.len() <= data.len() + items.len() * 40);
    }
    if let Ok(saved) = statefile::check(data) {
        let _ = saved.for_each_block(|_| {});
    }
});
