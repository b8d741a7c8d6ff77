//! The application-protocol filter of `display session statistics {ipv4|ipv6} protocol
//! {dns|ftp|gtp|...}` (SPEC T1; the seed's command list). Comware's list mixes transport
//! protocols (`tcp`, `udp`, `icmp`, ...) with application protocols (`dns`, `ftp`, ...). The
//! transports are the existing `protocol` filter (`Protocol`); each application keyword
//! selects the sessions whose application, as the engine decided it at creation (the
//! port-application mapping, or the ALG's class for an expected data connection), is one of
//! a fixed set of pre-defined applications (docs/statistics.md lists the mapping):
//!
//! | keyword | applications |
//! |---------|--------------|
//! | dns     | DNS |
//! | ftp     | FTP, FTP-DATA |
//! | gtp     | GTP-CONTROL, GTP-USER, GPRS-DATA, GPRS-SIG |
//! | h323    | H225, H245, RAS |
//! | http    | HTTP |
//! | ils     | ILS |
//! | mgcp    | MGCP-CALLAGENT, MGCP-GATEWAY |
//! | nbt     | NETBIOS-NS, NETBIOS-DGM, NETBIOS-SSN |
//! | pptp    | PPTP |
//! | rsh     | RSH |
//! | rtsp    | RTSP |
//! | sccp    | SCCP |
//! | sip     | SIP |
//! | smtp    | SMTP |
//! | sqlnet  | SQLNET |
//! | ssh     | SSH |
//! | telnet  | TELNET |
//! | tftp    | TFTP |
//! | xdmcp   | XDMCP |
//!
//! The sets are resolved against `apps::APPS` at compile time into one bit mask per keyword,
//! so the filter costs a shift and an AND per session looked at.

use super::apps::APPS;

/// An application keyword of the statistics filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppProtocol {
    Dns,
    Ftp,
    Gtp,
    H323,
    Http,
    Ils,
    Mgcp,
    Nbt,
    Pptp,
    Rsh,
    Rtsp,
    Sccp,
    Sip,
    Smtp,
    Sqlnet,
    Ssh,
    Telnet,
    Tftp,
    Xdmcp,
}

/// Each keyword, its help text and the pre-defined applications it selects (by keyword of
/// `apps::APPS`).
const TABLE: &[(AppProtocol, &str, &str, &[&str])] = &[
    (AppProtocol::Dns, "dns", "DNS", &["dns"]),
    (AppProtocol::Ftp, "ftp", "FTP", &["ftp", "ftp-data"]),
    (
        AppProtocol::Gtp,
        "gtp",
        "GPRS tunneling protocol",
        &["gtp-control", "gtp-user", "gprs-data", "gprs-sig"],
    ),
    (AppProtocol::H323, "h323", "H.323", &["h225", "h245", "ras"]),
    (AppProtocol::Http, "http", "HTTP", &["http"]),
    (
        AppProtocol::Ils,
        "ils",
        "Internet Locator Service",
        &["ils"],
    ),
    (
        AppProtocol::Mgcp,
        "mgcp",
        "Media Gateway Control Protocol",
        &["mgcp-callagent", "mgcp-gateway"],
    ),
    (
        AppProtocol::Nbt,
        "nbt",
        "NetBIOS over TCP/IP",
        &["netbios-ns", "netbios-dgm", "netbios-ssn"],
    ),
    (
        AppProtocol::Pptp,
        "pptp",
        "Point-to-Point Tunneling Protocol",
        &["pptp"],
    ),
    (AppProtocol::Rsh, "rsh", "Remote shell", &["rsh"]),
    (
        AppProtocol::Rtsp,
        "rtsp",
        "Real Time Streaming Protocol",
        &["rtsp"],
    ),
    (
        AppProtocol::Sccp,
        "sccp",
        "Skinny Client Control Protocol",
        &["sccp"],
    ),
    (
        AppProtocol::Sip,
        "sip",
        "Session Initiation Protocol",
        &["sip"],
    ),
    (AppProtocol::Smtp, "smtp", "SMTP", &["smtp"]),
    (AppProtocol::Sqlnet, "sqlnet", "Oracle SQL*Net", &["sqlnet"]),
    (AppProtocol::Ssh, "ssh", "SSH", &["ssh"]),
    (AppProtocol::Telnet, "telnet", "Telnet", &["telnet"]),
    (AppProtocol::Tftp, "tftp", "TFTP", &["tftp"]),
    (
        AppProtocol::Xdmcp,
        "xdmcp",
        "X Display Manager Control Protocol",
        &["xdmcp"],
    ),
];

const _: () = assert!(APPS.len() <= 128, "the masks are 128 bits");

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The mask of application ids a keyword's names select; a name `APPS` lacks stops the build.
const fn mask_of(names: &[&str]) -> u128 {
    let mut mask = 0u128;
    let mut n = 0;
    while n < names.len() {
        let mut id = 0;
        let mut found = false;
        while id < APPS.len() {
            if str_eq(APPS[id].keyword, names[n]) {
                mask |= 1 << id;
                found = true;
            }
            id += 1;
        }
        assert!(
            found,
            "an application of the app-protocol table is not pre-defined"
        );
        n += 1;
    }
    mask
}

const MASKS: [u128; TABLE.len()] = {
    let mut m = [0u128; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        assert!(TABLE[i].0 as usize == i, "TABLE is in the enum's order");
        m[i] = mask_of(TABLE[i].3);
        i += 1;
    }
    m
};

impl AppProtocol {
    /// Every keyword with its help text.
    pub fn all() -> impl Iterator<Item = (AppProtocol, &'static str, &'static str)> {
        TABLE.iter().map(|&(p, kw, help, _)| (p, kw, help))
    }

    pub fn keyword(self) -> &'static str {
        TABLE[self as usize].1
    }

    pub fn by_keyword(kw: &str) -> Option<AppProtocol> {
        TABLE.iter().find(|t| t.1 == kw).map(|t| t.0)
    }

    /// The pre-defined applications (keywords of `apps::APPS`) it selects.
    pub fn applications(self) -> &'static [&'static str] {
        TABLE[self as usize].3
    }

    /// Whether a session of application id `app` is selected.
    #[inline]
    pub fn covers(self, app: u8) -> bool {
        app < 128 && MASKS[self as usize] & (1u128 << app) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::wire::ipproto;
    use crate::table::apps::{by_keyword, identify};

    #[test]
    fn keywords_round_trip_and_select_their_applications_only() {
        for (p, kw, _) in AppProtocol::all() {
            assert_eq!(AppProtocol::by_keyword(kw), Some(p));
            assert_eq!(p.keyword(), kw);
            for id in 0..=255u8 {
                let name = APPS.get(usize::from(id)).map(|a| a.keyword);
                assert_eq!(
                    p.covers(id),
                    name.is_some_and(|n| p.applications().contains(&n)),
                    "{kw} and application {id}"
                );
            }
        }
        assert_eq!(AppProtocol::by_keyword("tcp"), None);
    }

    #[test]
    fn the_port_mapping_decides() {
        let dns = identify(ipproto::UDP, 53);
        assert!(AppProtocol::Dns.covers(dns));
        assert!(!AppProtocol::Http.covers(dns));
        assert!(AppProtocol::Http.covers(identify(ipproto::TCP, 80)));
        assert!(AppProtocol::Ftp.covers(by_keyword("ftp-data").unwrap()));
        assert!(AppProtocol::H323.covers(identify(ipproto::TCP, 1720)));
        assert!(AppProtocol::Nbt.covers(identify(ipproto::UDP, 137)));
        assert!(!AppProtocol::Http.covers(crate::table::apps::OTHER));
    }
}
