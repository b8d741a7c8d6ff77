//! `display port-mapping {pre-defined|user-defined}` (reference/comware.md §12).
//!
//! ```text
//!  Application                      Protocol Port
//!  ftp                              TCP      21
//!
//!  Application       Port  Protocol    Match Type  Match Condition
//! ---------------------------------------------------------------
//!  FTP                2121   TCP          ---          ---
//! ```

use crate::proto::wire::ipproto;
use crate::table::apps::{APPS, On, UserApps};
use crate::table::port_map::{MatchScope, PortMapping};
use std::fmt::Write as _;
use std::net::IpAddr;

/// Transports of `port-mapping ... protocol P` (§12): keyword and IP protocol number. The
/// command (commands/alg.rs) reads them, this layout shows them.
pub const MAPPING_PROTOCOLS: &[(&str, u8)] = &[
    ("dccp", ipproto::DCCP),
    ("sctp", ipproto::SCTP),
    ("tcp", ipproto::TCP),
    ("udp", ipproto::UDP),
    ("udp-lite", ipproto::UDPLITE),
];

pub fn mapping_protocol_word(proto: u8) -> Option<&'static str> {
    MAPPING_PROTOCOLS
        .iter()
        .find(|(_, p)| *p == proto)
        .map(|(w, _)| *w)
}

pub fn mapping_protocol_number(word: &str) -> Option<u8> {
    MAPPING_PROTOCOLS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, p)| *p)
}

/// Every pre-defined mapping: one line per transport (Protocol at column 34, Port at 43).
pub fn render_pre_defined() -> String {
    let mut out = String::from(" Application                      Protocol Port\n");
    for a in APPS.iter().filter(|a| !a.ports.is_empty()) {
        let ports = a
            .ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let transports: &[&str] = match a.on {
            On::Tcp => &["TCP"],
            On::Udp => &["UDP"],
            On::Both => &["TCP", "UDP"],
        };
        for (i, t) in transports.iter().enumerate() {
            let name = if i == 0 { a.keyword } else { "" };
            let _ = writeln!(out, " {name:<33}{t:<9}{ports}");
        }
    }
    out
}

/// The user-defined mappings given, in the order configured. Columns as the manual's example:
/// a match type of `---` takes 13 characters, a named one 12 (§12 prints them so).
pub fn render_user_defined<'a>(
    map: impl IntoIterator<Item = &'a PortMapping>,
    user: &UserApps,
) -> String {
    let mut out = String::from(
        " Application       Port  Protocol    Match Type  Match Condition\n\
         ---------------------------------------------------------------\n",
    );
    for m in map {
        let app = user.display_name(m.app);
        let proto = m
            .proto
            .and_then(mapping_protocol_word)
            .map_or("---".to_string(), str::to_uppercase);
        let (kind, condition) = match_condition(&m.scope);
        let kind = if kind == "---" {
            format!("{kind:<13}")
        } else {
            format!("{kind:<12}")
        };
        let _ = writeln!(out, " {app:<19}{:<7}{proto:<13}{kind}{condition}", m.port);
    }
    out
}

/// The Match Type and Match Condition columns: `IPv4 host 10.1.1.1` (a range as
/// `START-END`, ours), `IPv4 subnet 10.1.1.0/24`, `IPv4 ACL 2000`, or `---` twice.
pub fn match_condition(scope: &MatchScope) -> (String, String) {
    let v = |ip: &IpAddr| if ip.is_ipv4() { "IPv4" } else { "IPv6" };
    match scope {
        MatchScope::Any => ("---".into(), "---".into()),
        MatchScope::Host { start, end } => (
            format!("{} host", v(start)),
            if start == end {
                start.to_string()
            } else {
                format!("{start}-{end}")
            },
        ),
        MatchScope::Subnet { addr, len } => {
            (format!("{} subnet", v(addr)), format!("{addr}/{len}"))
        }
        MatchScope::Acl { ipv6, number } => (
            format!("{} ACL", if *ipv6 { "IPv6" } else { "IPv4" }),
            number.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::wire::ipproto;
    use crate::table::apps::by_keyword;

    #[test]
    fn pre_defined_columns_follow_the_manual() {
        let out = render_pre_defined();
        assert!(out.starts_with(" Application                      Protocol Port\n"));
        assert!(out.contains("\n ftp                              TCP      21\n"));
        assert!(out.contains(
            "\n tacacs-ds                        TCP      65\n                                  UDP      65\n"
        ));
    }

    #[test]
    fn user_defined_columns_follow_the_manual() {
        let ftp = by_keyword("ftp").unwrap_or(0);
        let mut user = UserApps::default();
        let http = user.add("http2").unwrap_or(0);
        let row = |app, port, proto, scope| PortMapping {
            app,
            port,
            proto,
            scope,
        };
        let out = render_user_defined(
            &[
                row(ftp, 21, Some(ipproto::TCP), MatchScope::Any),
                row(
                    ftp,
                    21,
                    Some(ipproto::UDP),
                    MatchScope::Host {
                        start: [10, 10, 10, 1].into(),
                        end: [10, 10, 10, 1].into(),
                    },
                ),
                row(
                    ftp,
                    21,
                    Some(ipproto::UDP),
                    MatchScope::Subnet {
                        addr: [10, 10, 10, 1].into(),
                        len: 24,
                    },
                ),
                row(
                    http,
                    899,
                    Some(ipproto::TCP),
                    MatchScope::Acl {
                        ipv6: false,
                        number: 2002,
                    },
                ),
                row(
                    http,
                    900,
                    None,
                    MatchScope::Host {
                        start: "2001:db8::1".parse().unwrap(),
                        end: "2001:db8::9".parse().unwrap(),
                    },
                ),
            ],
            &user,
        );
        // The manual's rows (its VPN instance and `IPV4` spelling aside), and ours.
        assert_eq!(
            out.lines().skip(2).collect::<Vec<_>>(),
            [
                " FTP                21     TCP          ---          ---",
                " FTP                21     UDP          IPv4 host   10.10.10.1",
                " FTP                21     UDP          IPv4 subnet 10.10.10.1/24",
                " HTTP2              899    TCP          IPv4 ACL    2002",
                " HTTP2              900    ---          IPv6 host   2001:db8::1-2001:db8::9",
            ]
        );
    }
}
