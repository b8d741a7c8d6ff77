//! Application identification by port (SPEC S5, reference/comware.md §12) and the
//! application aging defaults (SPEC A2, comware.md §4.4).
//!
//! The session's application is decided once, at creation, from the initiator's destination
//! port and the transport protocol, as Comware's pre-defined port mapping does.

use crate::proto::wire::ipproto;

/// Transport a mapping applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    Tcp,
    Udp,
    Both,
}

/// One pre-defined application: display name (session table, upper case), the name used by
/// `session aging-time application` (lower case), ports, and the default aging in seconds.
#[derive(Debug, Clone, Copy)]
pub struct AppDef {
    pub name: &'static str,
    pub keyword: &'static str,
    pub on: On,
    pub ports: &'static [u16],
    /// `None` = no application timer of its own: the generic 1200 s applies (A2).
    pub aging_s: Option<u32>,
}

/// Application id 0 is always `OTHER` (not identified: keeps its state's aging time).
pub const OTHER: u8 = 0;

/// Aging for an identified application without a timer of its own (A2: "any other identified
/// application 1200"; comware.md §4.4 `others: 1200`).
pub const OTHERS_AGING_S: u32 = 1200;

macro_rules! apps {
    ($( $(#[$m:meta])* $name:literal, $kw:literal, $on:ident, [$($p:literal),*], $aging:expr; )*) => {
        pub const APPS: &[AppDef] = &[
            AppDef { name: "OTHER", keyword: "other", on: On::Both, ports: &[], aging_s: None },
            $( $(#[$m])* AppDef { name: $name, keyword: $kw, on: On::$on, ports: &[$($p),*], aging_s: $aging }, )*
        ];
    };
}

// Ports: comware.md §12 (pre-defined mappings; IANA where the manual names none). Aging:
// comware.md §4.4 (newer releases' table).
apps! {
    "FTP", "ftp", Tcp, [21], Some(3600);
    "FTP-DATA", "ftp-data", Tcp, [20], Some(240);
    "SSH", "ssh", Tcp, [22], None;
    "TELNET", "telnet", Tcp, [23], None;
    "SMTP", "smtp", Tcp, [25], None;
    "TACACS-DS", "tacacs-ds", Both, [65], Some(120);
    "DNS", "dns", Both, [53], Some(1);
    "BOOTPS", "bootps", Udp, [67], Some(120);
    "BOOTPC", "bootpc", Udp, [68], Some(120);
    "TFTP", "tftp", Udp, [69], Some(60);
    "HTTP", "http", Tcp, [80], None;
    "POP3", "pop3", Tcp, [110], None;
    "NTP", "ntp", Udp, [123], Some(120);
    "NETBIOS-NS", "netbios-ns", Both, [137], Some(3600);
    "NETBIOS-DGM", "netbios-dgm", Both, [138], Some(3600);
    "NETBIOS-SSN", "netbios-ssn", Both, [139], Some(3600);
    "IMAP", "imap", Tcp, [143], None;
    "SNMP", "snmp", Udp, [161], Some(120);
    "SNMPTRAP", "snmptrap", Udp, [162], Some(120);
    "XDMCP", "xdmcp", Udp, [177], Some(3600);
    "BGP", "bgp", Tcp, [179], None;
    "ILS", "ils", Tcp, [389], Some(3600);
    "HTTPS", "https", Tcp, [443], Some(600);
    "WHO", "who", Udp, [513], Some(120);
    "RSH", "rsh", Tcp, [514], Some(60);
    "SYSLOG", "syslog", Udp, [514], Some(120);
    "RIP", "rip", Udp, [520], Some(120);
    "RTSP", "rtsp", Both, [554], Some(3600);
    "SQLNET", "sqlnet", Tcp, [1521], Some(600);
    "L2TP", "l2tp", Udp, [1701], Some(120);
    "RAS", "ras", Udp, [1719], Some(300);
    "H225", "h225", Tcp, [1720], Some(3600);
    "PPTP", "pptp", Tcp, [1723], Some(3600);
    "SCCP", "sccp", Tcp, [2000], Some(3600);
    "GTP-CONTROL", "gtp-control", Udp, [2123], Some(60);
    "GTP-USER", "gtp-user", Udp, [2152], Some(60);
    "MGCP-GATEWAY", "mgcp-gateway", Udp, [2427], Some(60);
    "MGCP-CALLAGENT", "mgcp-callagent", Udp, [2727], Some(60);
    "STUN", "stun", Both, [3478], Some(600);
    "SIP", "sip", Both, [5060], Some(300);
    "QQ", "qq", Udp, [8000], Some(120);
    "H245", "h245", Tcp, [], Some(3600);
    "GPRS-DATA", "gprs-data", Udp, [], Some(60);
    "GPRS-SIG", "gprs-sig", Udp, [], Some(60);
    // The example ALG of docs/writing-an-alg.md (`alg::irc`), in the crate's own tests only.
    #[cfg(test)]
    "IRC", "irc", Tcp, [6667], None;
}

const _: () = assert!(APPS.len() < 256, "application ids are one byte");

/// The application a new session belongs to: by transport and the initiator's destination
/// port. `OTHER` when nothing matches or the protocol has no ports.
pub fn identify(proto: u8, dport: u16) -> u8 {
    let on_tcp = matches!(proto, ipproto::TCP | ipproto::SCTP | ipproto::DCCP);
    let on_udp = matches!(proto, ipproto::UDP | ipproto::UDPLITE);
    if !on_tcp && !on_udp {
        return OTHER;
    }
    APPS.iter()
        .position(|a| {
            let proto_ok = match a.on {
                On::Both => true,
                On::Tcp => on_tcp,
                On::Udp => on_udp,
            };
            proto_ok && a.ports.contains(&dport)
        })
        .map_or(OTHER, |i| i as u8)
}

/// Application id for a keyword of `session aging-time application` (case-insensitive).
pub fn by_keyword(keyword: &str) -> Option<u8> {
    APPS.iter()
        .position(|a| a.keyword.eq_ignore_ascii_case(keyword) && a.keyword != "other")
        .map(|i| i as u8)
}

pub fn name(app: u8) -> &'static str {
    APPS.get(usize::from(app)).map_or("OTHER", |a| a.name)
}

/// A user-defined mapping (`port-mapping application NAME port N [protocol P]`,
/// reference/comware.md §12): `proto: None` maps the port on every transport; a mapping with a
/// protocol beats one without; the same port and protocol mapped again is overwritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMapping {
    pub app: u8,
    pub port: u16,
    /// IP protocol number (TCP, UDP, SCTP, DCCP, UDP-Lite) or `None` for all.
    pub proto: Option<u8>,
}

/// A precomputed port -> application lookup for the packet path (two 64K-entry tables,
/// 128 KiB, built once per configuration): identification costs one array read per new
/// session. SCTP and DCCP share the TCP table, UDP-Lite the UDP table, as the pre-defined
/// mappings do; a user mapping for exactly SCTP, DCCP or UDP-Lite is kept apart and checked
/// first (rare, so the list is short).
#[derive(Clone)]
pub struct AppMap {
    tcp: Box<[u8; 65536]>,
    udp: Box<[u8; 65536]>,
    exact: Vec<(u8, u16, u8)>,
}

impl Default for AppMap {
    fn default() -> Self {
        Self::new()
    }
}

impl AppMap {
    pub fn new() -> Self {
        let mut tcp = Box::new([OTHER; 65536]);
        let mut udp = Box::new([OTHER; 65536]);
        // Walk backwards so the first definition of a port wins, as `identify` does.
        for (i, a) in APPS.iter().enumerate().rev() {
            for &p in a.ports {
                if matches!(a.on, On::Tcp | On::Both) {
                    tcp[usize::from(p)] = i as u8;
                }
                if matches!(a.on, On::Udp | On::Both) {
                    udp[usize::from(p)] = i as u8;
                }
            }
        }
        Self {
            tcp,
            udp,
            exact: Vec::new(),
        }
    }

    /// The pre-defined mappings with `user` mappings applied over them, in order.
    pub fn with_user(user: &[PortMapping]) -> Self {
        let mut m = Self::new();
        // Mappings without a protocol first, so that one with a protocol beats them.
        for u in user.iter().filter(|u| u.proto.is_none()) {
            m.tcp[usize::from(u.port)] = u.app;
            m.udp[usize::from(u.port)] = u.app;
        }
        for u in user {
            match u.proto {
                Some(ipproto::TCP) => m.tcp[usize::from(u.port)] = u.app,
                Some(ipproto::UDP) => m.udp[usize::from(u.port)] = u.app,
                Some(p) => {
                    m.exact.retain(|e| (e.0, e.1) != (p, u.port));
                    m.exact.push((p, u.port, u.app));
                }
                None => {}
            }
        }
        m
    }

    #[inline]
    pub fn identify(&self, proto: u8, dport: u16) -> u8 {
        if !self.exact.is_empty()
            && let Some(e) = self.exact.iter().find(|e| (e.0, e.1) == (proto, dport))
        {
            return e.2;
        }
        match proto {
            ipproto::TCP | ipproto::SCTP | ipproto::DCCP => self.tcp[usize::from(dport)],
            ipproto::UDP | ipproto::UDPLITE => self.udp[usize::from(dport)],
            _ => OTHER,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_ports_are_identified() {
        assert_eq!(name(identify(ipproto::TCP, 21)), "FTP");
        assert_eq!(name(identify(ipproto::UDP, 53)), "DNS");
        assert_eq!(name(identify(ipproto::TCP, 53)), "DNS");
        assert_eq!(name(identify(ipproto::UDP, 69)), "TFTP");
        assert_eq!(name(identify(ipproto::TCP, 443)), "HTTPS");
        assert_eq!(name(identify(ipproto::TCP, 514)), "RSH");
        assert_eq!(name(identify(ipproto::UDP, 514)), "SYSLOG");
        assert_eq!(name(identify(ipproto::TCP, 40000)), "OTHER");
        assert_eq!(name(identify(ipproto::ICMP, 0)), "OTHER");
        assert_eq!(name(identify(ipproto::UDP, 21)), "OTHER");
    }

    #[test]
    fn map_agrees_with_identify_on_every_port() {
        let m = AppMap::new();
        for proto in [
            ipproto::TCP,
            ipproto::UDP,
            ipproto::SCTP,
            ipproto::UDPLITE,
            ipproto::GRE,
        ] {
            for port in 0..=u16::MAX {
                assert_eq!(
                    m.identify(proto, port),
                    identify(proto, port),
                    "proto {proto} port {port}"
                );
            }
        }
    }

    #[test]
    fn user_mappings_override_and_protocol_beats_none() {
        let ftp = by_keyword("ftp").unwrap_or(OTHER);
        let http = by_keyword("http").unwrap_or(OTHER);
        let m = AppMap::with_user(&[
            PortMapping {
                app: ftp,
                port: 2121,
                proto: Some(ipproto::TCP),
            },
            PortMapping {
                app: http,
                port: 2121,
                proto: None,
            },
            PortMapping {
                app: http,
                port: 21,
                proto: Some(ipproto::SCTP),
            },
        ]);
        assert_eq!(m.identify(ipproto::TCP, 2121), ftp);
        assert_eq!(m.identify(ipproto::UDP, 2121), http);
        assert_eq!(m.identify(ipproto::SCTP, 21), http);
        assert_eq!(m.identify(ipproto::TCP, 21), ftp);
        assert_eq!(m.identify(ipproto::TCP, 80), http);
    }

    #[test]
    fn keywords_resolve() {
        assert_eq!(by_keyword("DNS"), by_keyword("dns"));
        assert_eq!(name(by_keyword("ftp-data").unwrap_or(OTHER)), "FTP-DATA");
        assert_eq!(by_keyword("other"), None);
        assert_eq!(by_keyword("nonsense"), None);
    }

    #[test]
    fn seed_defaults_hold() {
        let aging = |kw| APPS[usize::from(by_keyword(kw).unwrap_or(OTHER))].aging_s;
        assert_eq!(aging("dns"), Some(1));
        assert_eq!(aging("ftp"), Some(3600));
        assert_eq!(aging("sip"), Some(300));
        assert_eq!(aging("tftp"), Some(60));
        assert_eq!(aging("https"), Some(600));
        assert_eq!(aging("ftp-data"), Some(240));
        assert_eq!(aging("http"), None);
    }
}
