//! The operator's port mappings (SPEC S5, reference/comware.md §12) and the lookup the
//! packet path identifies a new session's application with.
//!
//! A mapping ties a port (and optionally one transport) to an application, for every server
//! (general) or only for servers at a host range, in a subnet, or that a basic ACL permits.
//! A session is identified once, at creation, from its initiator's tuple: the destination
//! port and the destination (server) address, which is what Comware's APR matches host and
//! subnet mappings on ("the packet is destined for the specified subnet") and what it
//! compares with a basic ACL's *source* ("the packet's destination IP address matches the
//! source IP address defined in the ACL").
//!
//! Precedence, most specific first (the manuals give the pieces; their order across kinds is
//! ours): host mappings, then subnet mappings, then ACL mappings, then general ones, then the
//! pre-defined table. Among host ranges and subnets the smaller range wins (the manual's rule
//! for overlapping subnets); then a mapping with a transport protocol beats one without; then
//! the one configured first. The same port, protocol and match condition mapped again to
//! another application replaces the old mapping (the console does that, `commands/alg.rs`).

use super::apps::{self, OTHER, On};
use crate::acl::{Acl, Action};
use crate::proto::key::FlowKey;
use crate::proto::wire::{Addr, Family, ipproto};
use std::net::IpAddr;

/// Which servers a mapping applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchScope {
    /// Every server (a general mapping; `---` in the display).
    Any,
    /// `host {ip|ipv6} START [END]`: servers in the inclusive range (`end` = `start` for one).
    Host { start: IpAddr, end: IpAddr },
    /// `subnet {ip ADDR {LEN|MASK} | ipv6 ADDR LEN}`: servers in the subnet; the address is
    /// kept as typed (the display shows it so).
    Subnet { addr: IpAddr, len: u8 },
    /// `acl [ipv6] N` (2000-2999): servers whose address a permit rule of the basic ACL
    /// matches as its source. An ACL that does not exist matches nothing.
    Acl { ipv6: bool, number: u32 },
}

/// A user-defined mapping (`port-mapping application NAME port N [protocol P] [scope]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMapping {
    /// Application id (`table::apps`: pre-defined or user-defined).
    pub app: u8,
    pub port: u16,
    /// IP protocol number (TCP, UDP, SCTP, DCCP, UDP-Lite) or `None` for all.
    pub proto: Option<u8>,
    pub scope: MatchScope,
}

impl PortMapping {
    /// What identifies a mapping: mapping the same port, protocol and scope again replaces it.
    pub fn same_place(&self, other: &PortMapping) -> bool {
        (self.port, self.proto, self.scope) == (other.port, other.proto, other.scope)
    }
}

/// The mark in the port tables: this port has host, subnet or ACL mappings, look at the list.
/// No application has this id (`apps::APP_IDS`).
pub const SCOPED: u8 = 255;

/// A mapping as the lookup checks it: addresses as numbers, the ACL resolved.
#[derive(Debug, Clone)]
struct Rule {
    port: u16,
    proto: Option<u8>,
    app: u8,
    matcher: Matcher,
    /// Precedence among a port's rules: kind (host 0, subnet 1, ACL 2, general 3), then the
    /// range's size (smaller first).
    rank: (u8, u128),
}

#[derive(Debug, Clone)]
enum Matcher {
    Any,
    /// Inclusive range of server addresses, as numbers (IPv4 in the low 32 bits).
    Range {
        family: Family,
        low: u128,
        high: u128,
    },
    Acl(Option<Acl>),
}

impl Matcher {
    fn matches(&self, k: &FlowKey) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Range { family, low, high } => {
                *family == k.family && (*low..=*high).contains(&addr_number(k.family, &k.dst))
            }
            // The basic ACL's source is compared with the server's address: the reversed
            // tuple carries it as its source.
            Matcher::Acl(acl) => acl
                .as_ref()
                .is_some_and(|a| a.matches(&k.reversed()) == Some(Action::Permit)),
        }
    }
}

fn addr_number(family: Family, a: &Addr) -> u128 {
    match family {
        Family::V4 => u128::from(u32::from_be_bytes([a[0], a[1], a[2], a[3]])),
        Family::V6 => u128::from_be_bytes(*a),
    }
}

fn ip_number(ip: IpAddr) -> (Family, u128) {
    match ip {
        IpAddr::V4(a) => (Family::V4, u128::from(u32::from(a))),
        IpAddr::V6(a) => (Family::V6, u128::from(a)),
    }
}

/// The inclusive number range of a subnet.
fn subnet_range(addr: IpAddr, len: u8) -> (Family, u128, u128) {
    let (family, n) = ip_number(addr);
    let bits = if family == Family::V4 { 32 } else { 128 };
    let host_bits = bits - u32::from(len.min(bits as u8));
    let span = if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    let low = n & !span;
    (family, low, low | span)
}

impl Rule {
    fn of(m: &PortMapping, acls: &[Acl]) -> Rule {
        let (matcher, rank) = match m.scope {
            MatchScope::Any => (Matcher::Any, (3, 0)),
            MatchScope::Host { start, end } => {
                let ((family, a), (_, b)) = (ip_number(start), ip_number(end));
                let (low, high) = (a.min(b), a.max(b));
                (Matcher::Range { family, low, high }, (0, high - low))
            }
            MatchScope::Subnet { addr, len } => {
                let (family, low, high) = subnet_range(addr, len);
                (Matcher::Range { family, low, high }, (1, high - low))
            }
            MatchScope::Acl { ipv6, number } => {
                let family = if ipv6 { Family::V6 } else { Family::V4 };
                let acl = acls
                    .iter()
                    .find(|a| a.family == family && a.number == number)
                    .cloned();
                (Matcher::Acl(acl), (2, 0))
            }
        };
        Rule {
            port: m.port,
            proto: m.proto,
            app: m.app,
            matcher,
            rank,
        }
    }

    fn applies(&self, proto: u8, key: Option<&FlowKey>) -> bool {
        self.proto.is_none_or(|p| p == proto)
            && match key {
                Some(k) => self.matcher.matches(k),
                None => matches!(self.matcher, Matcher::Any),
            }
    }
}

/// The packet path's application lookup, built once per configuration: two 64K-entry port
/// tables (TCP, UDP; 128 KiB) give a new TCP or UDP session its application in one array
/// read. Ports with a host, subnet or ACL mapping are marked `SCOPED` and decided by the
/// rules of that port (a short list, sorted by port and precedence); so are SCTP, DCCP and
/// UDP-Lite sessions (rare), which fall back to the pre-defined table as TCP and UDP do.
#[derive(Clone)]
pub struct AppMap {
    tcp: Box<[u8; 65536]>,
    udp: Box<[u8; 65536]>,
    rules: Vec<Rule>,
}

impl Default for AppMap {
    fn default() -> Self {
        Self::with_user(&[], &[])
    }
}

impl AppMap {
    /// The pre-defined mappings with the operator's `user` mappings over them; `acls` are the
    /// ACLs the ACL mappings name, as they are now.
    pub fn with_user(user: &[PortMapping], acls: &[Acl]) -> Self {
        let mut rules: Vec<Rule> = user.iter().map(|m| Rule::of(m, acls)).collect();
        // Stable: among equals, the mapping configured first wins.
        rules.sort_by_key(|r| (r.port, r.rank, r.proto.is_none()));
        let mut m = AppMap {
            tcp: Box::new([OTHER; 65536]),
            udp: Box::new([OTHER; 65536]),
            rules,
        };
        // The pre-defined mappings; backwards, so the first definition of a port wins, as
        // `apps::identify` has it.
        for (i, a) in apps::APPS.iter().enumerate().rev() {
            for &p in a.ports {
                if matches!(a.on, On::Tcp | On::Both) {
                    m.tcp[usize::from(p)] = i as u8;
                }
                if matches!(a.on, On::Udp | On::Both) {
                    m.udp[usize::from(p)] = i as u8;
                }
            }
        }
        let mut i = 0;
        while i < m.rules.len() {
            let port = m.rules[i].port;
            let end = i + m.rules[i..].partition_point(|r| r.port == port);
            let of_port = &m.rules[i..end];
            let scoped = of_port.iter().any(|r| !matches!(r.matcher, Matcher::Any));
            for (table, proto) in [(&mut m.tcp, ipproto::TCP), (&mut m.udp, ipproto::UDP)] {
                table[usize::from(port)] = if scoped {
                    SCOPED
                } else {
                    decide(of_port, proto, port, None)
                };
            }
            i = end;
        }
        m
    }

    /// The application of a new session whose initiator sent `key`.
    #[inline]
    pub fn identify(&self, key: &FlowKey) -> u8 {
        let v = match key.proto {
            ipproto::TCP => self.tcp[usize::from(key.dport)],
            ipproto::UDP => self.udp[usize::from(key.dport)],
            ipproto::SCTP | ipproto::DCCP | ipproto::UDPLITE => SCOPED,
            _ => return OTHER,
        };
        if v != SCOPED {
            return v;
        }
        decide(self.of_port(key.dport), key.proto, key.dport, Some(key))
    }

    /// Whether some mapping of `port` (general or not, for any server) gives an application
    /// `wanted` accepts: for spotting the frames of ALG control sessions by port alone.
    pub fn any_app(&self, proto: u8, port: u16, wanted: impl Fn(u8) -> bool) -> bool {
        wanted(apps::identify(proto, port))
            || self
                .of_port(port)
                .iter()
                .any(|r| r.proto.is_none_or(|p| p == proto) && wanted(r.app))
    }

    fn of_port(&self, port: u16) -> &[Rule] {
        let from = self.rules.partition_point(|r| r.port < port);
        let to = from + self.rules[from..].partition_point(|r| r.port == port);
        &self.rules[from..to]
    }
}

/// The first of a port's rules (in precedence order) that applies, else the pre-defined
/// mapping. Without a key only general rules can apply.
fn decide(of_port: &[Rule], proto: u8, port: u16, key: Option<&FlowKey>) -> u8 {
    of_port
        .iter()
        .find(|r| r.applies(proto, key))
        .map_or_else(|| apps::identify(proto, port), |r| r.app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::Acl;
    use crate::table::apps::{by_keyword, identify};

    fn app(kw: &str) -> u8 {
        by_keyword(kw).unwrap_or(OTHER)
    }

    fn key(proto: u8, dst: [u8; 4], dport: u16) -> FlowKey {
        let mut src = [0u8; 16];
        src[..4].copy_from_slice(&[192, 0, 2, 1]);
        let mut d = [0u8; 16];
        d[..4].copy_from_slice(&dst);
        FlowKey {
            src,
            dst: d,
            sport: 40000,
            dport,
            proto,
            family: Family::V4,
            vpn: 0,
        }
    }

    fn map(app: u8, port: u16, proto: Option<u8>, scope: MatchScope) -> PortMapping {
        PortMapping {
            app,
            port,
            proto,
            scope,
        }
    }

    fn host(a: [u8; 4]) -> MatchScope {
        MatchScope::Host {
            start: a.into(),
            end: a.into(),
        }
    }

    fn subnet(a: [u8; 4], len: u8) -> MatchScope {
        MatchScope::Subnet {
            addr: a.into(),
            len,
        }
    }

    #[test]
    fn the_pre_defined_map_agrees_with_identify_on_every_port() {
        let m = AppMap::default();
        for proto in [
            ipproto::TCP,
            ipproto::UDP,
            ipproto::SCTP,
            ipproto::UDPLITE,
            ipproto::GRE,
        ] {
            for port in 0..=u16::MAX {
                assert_eq!(
                    m.identify(&key(proto, [10, 0, 0, 1], port)),
                    identify(proto, port),
                    "proto {proto} port {port}"
                );
            }
        }
    }

    #[test]
    fn user_mappings_override_and_protocol_beats_none() {
        let (ftp, http) = (app("ftp"), app("http"));
        let m = AppMap::with_user(
            &[
                map(ftp, 2121, Some(ipproto::TCP), MatchScope::Any),
                map(http, 2121, None, MatchScope::Any),
                map(http, 21, Some(ipproto::SCTP), MatchScope::Any),
            ],
            &[],
        );
        let at = |proto, port| m.identify(&key(proto, [10, 0, 0, 1], port));
        assert_eq!(at(ipproto::TCP, 2121), ftp);
        assert_eq!(at(ipproto::UDP, 2121), http);
        assert_eq!(at(ipproto::SCTP, 2121), http);
        assert_eq!(at(ipproto::SCTP, 21), http);
        assert_eq!(at(ipproto::TCP, 21), ftp);
        assert_eq!(at(ipproto::DCCP, 21), ftp);
        assert_eq!(at(ipproto::TCP, 80), http);
        // General mappings keep the one-read path.
        assert_ne!(m.tcp[2121], SCOPED);
    }

    #[test]
    fn host_subnet_and_acl_mappings_beat_general_ones() {
        let (ftp, http, sip, rtsp) = (app("ftp"), app("http"), app("sip"), app("rtsp"));
        let mut acl = Acl::new(2000, Family::V4).expect("basic ACL");
        acl.add_rule("rule 5 permit source 10.9.0.0 0.0.255.255")
            .expect("rule");
        let m = AppMap::with_user(
            &[
                // General, with a protocol: the weakest of the user's here.
                map(ftp, 8000, Some(ipproto::TCP), MatchScope::Any),
                map(
                    http,
                    8000,
                    None,
                    MatchScope::Acl {
                        ipv6: false,
                        number: 2000,
                    },
                ),
                map(sip, 8000, None, subnet([10, 1, 0, 0], 16)),
                // A smaller subnet inside the first one wins for its addresses.
                map(rtsp, 8000, None, subnet([10, 1, 2, 0], 24)),
                map(ftp, 8000, None, host([10, 1, 2, 3])),
            ],
            &[acl],
        );
        let at = |dst, proto| m.identify(&key(proto, dst, 8000));
        assert_eq!(m.tcp[8000], SCOPED);
        assert_eq!(at([10, 1, 2, 3], ipproto::TCP), ftp, "host");
        assert_eq!(at([10, 1, 2, 4], ipproto::TCP), rtsp, "the smaller subnet");
        assert_eq!(at([10, 1, 3, 4], ipproto::TCP), sip, "the larger subnet");
        assert_eq!(
            at([10, 9, 3, 4], ipproto::UDP),
            http,
            "the ACL, by the server"
        );
        assert_eq!(at([10, 2, 0, 1], ipproto::TCP), ftp, "general with tcp");
        // Nothing user-defined for UDP there: the pre-defined mapping (QQ, udp/8000).
        assert_eq!(at([10, 2, 0, 1], ipproto::UDP), app("qq"));
        // The ACL compares its source with the server, not the client (192.0.2.1).
        let mut acl = Acl::new(2001, Family::V4).expect("basic ACL");
        acl.add_rule("rule permit source 192.0.2.1 0")
            .expect("rule");
        let m = AppMap::with_user(
            &[map(
                http,
                9000,
                None,
                MatchScope::Acl {
                    ipv6: false,
                    number: 2001,
                },
            )],
            &[acl],
        );
        assert_eq!(m.identify(&key(ipproto::TCP, [10, 0, 0, 1], 9000)), OTHER);
        // An ACL that does not exist matches nothing.
        let m = AppMap::with_user(
            &[map(
                http,
                9000,
                None,
                MatchScope::Acl {
                    ipv6: false,
                    number: 2999,
                },
            )],
            &[],
        );
        assert_eq!(m.identify(&key(ipproto::TCP, [10, 0, 0, 1], 9000)), OTHER);
    }

    #[test]
    fn within_a_kind_a_protocol_beats_none_and_ranges_hold() {
        let (ftp, http) = (app("ftp"), app("http"));
        let range = MatchScope::Host {
            start: IpAddr::from([10, 0, 0, 10]),
            end: IpAddr::from([10, 0, 0, 20]),
        };
        let m = AppMap::with_user(
            &[
                map(ftp, 7000, None, range),
                map(http, 7000, Some(ipproto::UDP), range),
            ],
            &[],
        );
        let at = |dst, proto| m.identify(&key(proto, dst, 7000));
        assert_eq!(at([10, 0, 0, 15], ipproto::UDP), http);
        assert_eq!(at([10, 0, 0, 15], ipproto::TCP), ftp);
        assert_eq!(at([10, 0, 0, 20], ipproto::TCP), ftp);
        assert_eq!(at([10, 0, 0, 21], ipproto::TCP), OTHER);
        assert_eq!(at([10, 0, 0, 9], ipproto::TCP), OTHER);
        // Other ports stay on the one-read path.
        assert_eq!(m.tcp[7001], OTHER);
        assert!(m.any_app(ipproto::UDP, 7000, |a| a == http));
        assert!(!m.any_app(ipproto::TCP, 7000, |a| a == http));
        // A host range beats a subnet, even a smaller one.
        let m = AppMap::with_user(
            &[
                map(http, 7000, None, subnet([10, 0, 0, 16], 30)),
                map(ftp, 7000, None, range),
            ],
            &[],
        );
        assert_eq!(m.identify(&key(ipproto::TCP, [10, 0, 0, 17], 7000)), ftp);
    }

    #[test]
    fn subnets_by_mask_length() {
        assert_eq!(
            subnet_range([10, 1, 2, 3].into(), 24),
            (Family::V4, 0x0a01_0200, 0x0a01_02ff)
        );
        assert_eq!(
            subnet_range([10, 1, 2, 3].into(), 32),
            (Family::V4, 0x0a01_0203, 0x0a01_0203)
        );
        let (f, low, high) = subnet_range("2001:db8::1".parse().expect("v6"), 64);
        assert_eq!(f, Family::V6);
        assert_eq!(high - low, u128::from(u64::MAX));
    }
}
