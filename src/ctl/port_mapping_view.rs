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
use crate::table::apps::{APPS, On, PortMapping};
use std::fmt::Write as _;

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

/// The user-defined mappings, in the order configured.
pub fn render_user_defined(map: &[PortMapping]) -> String {
    let mut out = String::from(
        " Application       Port  Protocol    Match Type  Match Condition\n\
         ---------------------------------------------------------------\n",
    );
    for m in map {
        let app = crate::table::apps::name(m.app);
        let proto = m
            .proto
            .and_then(mapping_protocol_word)
            .map_or("---".to_string(), str::to_uppercase);
        let _ = writeln!(out, " {app:<19}{:<7}{proto:<13}{:<13}---", m.port, "---");
    }
    out
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
        let out = render_user_defined(&[PortMapping {
            app: ftp,
            port: 21,
            proto: Some(ipproto::TCP),
        }]);
        assert_eq!(
            out.lines().nth(2),
            Some(" FTP                21     TCP          ---          ---")
        );
    }
}
