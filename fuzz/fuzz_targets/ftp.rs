//! Feeds arbitrary bytes to the FTP ALG's line parsers (alg::ftp::parse), as one line and
//! as many (split at LF, CR stripped, the way the ALG framework hands lines over), in both
//! directions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessmgr::alg::ftp::parse::{
    Announcement, DataChannel, parse_client_line, parse_server_line,
};

/// What any announcement must satisfy, whatever the input.
fn check(channel: DataChannel) {
    assert_ne!(channel.port, 0);
    assert_eq!(channel.addr.is_none(), channel.kind == Announcement::Epsv);
}

fn line(bytes: &[u8]) {
    if let Ok(Some(c)) = parse_client_line(bytes) {
        assert!(matches!(c.kind, Announcement::Port | Announcement::Eprt));
        check(c);
    }
    if let Ok(Some(c)) = parse_server_line(bytes) {
        assert!(matches!(c.kind, Announcement::Pasv | Announcement::Epsv));
        check(c);
    }
}

fuzz_target!(|data: &[u8]| {
    line(data);
    for l in data.split(|&b| b == b'\n') {
        line(l.strip_suffix(b"\r").unwrap_or(l));
    }
});
