//! IPv4/IPv6 basic and advanced ACLs (reference/comware.md §10), as session management
//! uses them: persistent sessions (A3) and the session-based packet filter (`packet-filter`
//! in interface view).
//!
//! Rules are kept in rule-ID order (Comware's default `match-order config`) and matched
//! first-match on the session's initiator tuple. Rule text uses the Comware syntax, so the
//! same parser serves config.toml and the console's `rule` lines.

use crate::proto::key::{FlowKey, ip_to_addr};
use crate::proto::wire::{Addr, Family, ipproto};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Permit,
    Deny,
}

/// `basic` (2000-2999: source only) or `advanced` (3000-3999).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclKind {
    Basic,
    Advanced,
}

impl AclKind {
    /// The kind implied by an ACL number, or `None` outside 2000-3999.
    pub fn of_number(n: u32) -> Option<AclKind> {
        match n {
            2000..=2999 => Some(AclKind::Basic),
            3000..=3999 => Some(AclKind::Advanced),
            _ => None,
        }
    }
}

/// Address and care mask: a bit set in `care` must equal the rule's address bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrMatch {
    pub addr: Addr,
    pub care: Addr,
}

impl AddrMatch {
    #[inline]
    fn matches(&self, a: &Addr) -> bool {
        (0..16).all(|i| (a[i] ^ self.addr[i]) & self.care[i] == 0)
    }
}

/// Port operators of an advanced rule (`lt gt eq neq range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortMatch {
    Eq(u16),
    Neq(u16),
    Lt(u16),
    Gt(u16),
    /// Inclusive.
    Range(u16, u16),
}

impl PortMatch {
    #[inline]
    fn matches(self, p: u16) -> bool {
        match self {
            PortMatch::Eq(x) => p == x,
            PortMatch::Neq(x) => p != x,
            PortMatch::Lt(x) => p < x,
            PortMatch::Gt(x) => p > x,
            PortMatch::Range(a, b) => a <= p && p <= b,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: u32,
    pub action: Action,
    /// `None` = any protocol (`ip` / `ipv6`).
    pub proto: Option<u8>,
    pub src: Option<AddrMatch>,
    pub dst: Option<AddrMatch>,
    pub sport: Option<PortMatch>,
    pub dport: Option<PortMatch>,
    /// The rule as the operator typed it (normalised whitespace), for display.
    pub text: String,
}

impl Rule {
    fn matches(&self, k: &FlowKey) -> bool {
        if let Some(p) = self.proto
            && p != k.proto
        {
            return false;
        }
        let ports = matches!(
            k.proto,
            ipproto::TCP | ipproto::UDP | ipproto::SCTP | ipproto::UDPLITE | ipproto::DCCP
        );
        self.src.is_none_or(|m| m.matches(&k.src))
            && self.dst.is_none_or(|m| m.matches(&k.dst))
            && self.sport.is_none_or(|m| ports && m.matches(k.sport))
            && self.dport.is_none_or(|m| ports && m.matches(k.dport))
    }
}

/// An ACL: number, family, kind, rules in ID order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    pub number: u32,
    pub family: Family,
    pub kind: AclKind,
    pub rules: Vec<Rule>,
}

/// Default rule-ID step (comware.md §10.2).
pub const RULE_STEP: u32 = 5;

/// A rule that could not be parsed: which word (0-based) and why, so the console can put
/// its `^` under it and config errors can quote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (at word {word} of rule \"{rule}\")")]
pub struct RuleError {
    pub word: usize,
    pub reason: String,
    pub rule: String,
}

impl Acl {
    pub fn new(number: u32, family: Family) -> Option<Acl> {
        Some(Acl {
            number,
            family,
            kind: AclKind::of_number(number)?,
            rules: Vec::new(),
        })
    }

    /// First matching rule's action for a session's initiator tuple; `None` when no rule
    /// matches (or the family differs).
    pub fn matches(&self, k: &FlowKey) -> Option<Action> {
        if k.family != self.family {
            return None;
        }
        self.rules.iter().find(|r| r.matches(k)).map(|r| r.action)
    }

    /// Adds a rule from its Comware text (`rule [ID] {permit|deny} ...`). Without an ID the
    /// rule gets the next multiple of the step above the highest ID.
    pub fn add_rule(&mut self, text: &str) -> Result<u32, RuleError> {
        let mut rule = parse_rule(text, self.family, self.kind)?;
        if rule.id == u32::MAX {
            let highest = self.rules.iter().map(|r| r.id).max();
            rule.id = highest.map_or(0, |h| (h / RULE_STEP + 1) * RULE_STEP);
        }
        if rule.id > 65534 {
            return Err(RuleError {
                word: 1,
                reason: "rule ID beyond 65534".into(),
                rule: text.into(),
            });
        }
        if self
            .rules
            .iter()
            .any(|r| r.id != rule.id && same_match(r, &rule))
        {
            return Err(RuleError {
                word: 0,
                // Comware's own words for a rule that matches as another does (§10.2).
                reason: "The rule already exists.".into(),
                rule: text.into(),
            });
        }
        let id = rule.id;
        // Keep the text as Comware shows it: with the rule's ID, assigned or given.
        let words: Vec<&str> = rule.text.split_whitespace().collect();
        let rest = if words.get(1).is_some_and(|w| w.parse::<u32>().is_ok()) {
            &words[2..]
        } else {
            &words[1..]
        };
        rule.text = format!("rule {id} {}", rest.join(" "));
        self.rules.retain(|r| r.id != id);
        let at = self.rules.partition_point(|r| r.id < id);
        self.rules.insert(at, rule);
        Ok(id)
    }
}

fn same_match(a: &Rule, b: &Rule) -> bool {
    (a.action, a.proto, a.src, a.dst, a.sport, a.dport)
        == (b.action, b.proto, b.src, b.dst, b.sport, b.dport)
}

fn protocol(word: &str, family: Family) -> Option<Option<u8>> {
    let named = match (family, word.to_ascii_lowercase().as_str()) {
        (Family::V4, "ip") | (Family::V6, "ipv6") => Some(None),
        (_, "tcp") => Some(Some(ipproto::TCP)),
        (_, "udp") => Some(Some(ipproto::UDP)),
        (_, "gre") => Some(Some(ipproto::GRE)),
        (_, "ospf") => Some(Some(89)),
        (Family::V4, "icmp") => Some(Some(ipproto::ICMP)),
        (Family::V4, "igmp") => Some(Some(2)),
        (Family::V4, "ipinip") => Some(Some(4)),
        (Family::V6, "icmpv6") => Some(Some(ipproto::ICMPV6)),
        (Family::V6, "ipv6-ah") => Some(Some(51)),
        (Family::V6, "ipv6-esp") => Some(Some(50)),
        _ => None,
    };
    named.or_else(|| word.parse::<u8>().ok().map(Some))
}

/// Port names of comware.md §10.2.
fn port(word: &str) -> Option<u16> {
    let named = match word.to_ascii_lowercase().as_str() {
        "ftp-data" => 20,
        "ftp" => 21,
        "telnet" => 23,
        "smtp" => 25,
        "domain" | "dns" => 53,
        "bootps" => 67,
        "bootpc" => 68,
        "tftp" => 69,
        "www" | "http" => 80,
        "pop3" => 110,
        "ntp" => 123,
        "netbios-ns" => 137,
        "netbios-dgm" => 138,
        "netbios-ssn" => 139,
        "snmp" => 161,
        "snmptrap" => 162,
        "xdmcp" => 177,
        "bgp" => 179,
        "syslog" => 514,
        "rip" => 520,
        _ => return word.parse().ok(),
    };
    Some(named)
}

struct Words<'a> {
    words: Vec<&'a str>,
    at: usize,
    text: &'a str,
}

impl<'a> Words<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let w = self.words.get(self.at).copied();
        if w.is_some() {
            self.at += 1;
        }
        w
    }
    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.at).copied()
    }
    fn err(&self, word: usize, reason: impl Into<String>) -> RuleError {
        RuleError {
            word,
            reason: reason.into(),
            rule: self.text.to_string(),
        }
    }
    fn need(&mut self, what: &str) -> Result<&'a str, RuleError> {
        let at = self.at;
        self.next()
            .ok_or_else(|| self.err(at, format!("incomplete rule: {what} expected")))
    }
}

/// Parses `rule [ID] {permit|deny} ...`. An omitted ID is returned as `u32::MAX`.
pub fn parse_rule(text: &str, family: Family, kind: AclKind) -> Result<Rule, RuleError> {
    let mut w = Words {
        words: text.split_whitespace().collect(),
        at: 0,
        text,
    };
    let first = w.need("rule")?;
    if !first.eq_ignore_ascii_case("rule") {
        return Err(w.err(0, "a rule starts with 'rule'"));
    }
    let mut id = u32::MAX;
    if let Some(n) = w.peek().and_then(|s| s.parse::<u32>().ok()) {
        id = n;
        w.next();
    }
    let at = w.at;
    let action = match w.need("permit or deny")?.to_ascii_lowercase().as_str() {
        "permit" => Action::Permit,
        "deny" => Action::Deny,
        _ => return Err(w.err(at, "permit or deny expected")),
    };
    let mut rule = Rule {
        id,
        action,
        proto: None,
        src: None,
        dst: None,
        sport: None,
        dport: None,
        text: String::new(),
    };
    if kind == AclKind::Advanced {
        let at = w.at;
        let p = w.need("protocol")?;
        rule.proto =
            protocol(p, family).ok_or_else(|| w.err(at, format!("unknown protocol '{p}'")))?;
    }
    while let Some(word) = w.next() {
        let at = w.at - 1;
        match word.to_ascii_lowercase().as_str() {
            "source" => rule.src = address(&mut w, family)?,
            "destination" if kind == AclKind::Advanced => rule.dst = address(&mut w, family)?,
            "source-port" | "destination-port" if kind == AclKind::Advanced => {
                if !matches!(rule.proto, Some(ipproto::TCP | ipproto::UDP)) {
                    return Err(w.err(at, "ports apply to tcp and udp rules only"));
                }
                let m = port_match(&mut w)?;
                if word.eq_ignore_ascii_case("source-port") {
                    rule.sport = Some(m);
                } else {
                    rule.dport = Some(m);
                }
            }
            _ => return Err(w.err(at, format!("unrecognized keyword '{word}'"))),
        }
    }
    rule.text = w.words.join(" ");
    Ok(rule)
}

fn address(w: &mut Words<'_>, family: Family) -> Result<Option<AddrMatch>, RuleError> {
    let at = w.at;
    let a = w.need("address or 'any'")?;
    if a.eq_ignore_ascii_case("any") {
        return Ok(None);
    }
    let (addr_text, inline_prefix) = match a.split_once('/') {
        Some((x, p)) => (x, Some(p)),
        None => (a, None),
    };
    let ip: IpAddr = addr_text
        .parse()
        .map_err(|_| w.err(at, format!("bad address '{a}'")))?;
    let (fam, addr) = ip_to_addr(ip);
    if fam != family {
        return Err(w.err(at, format!("address '{a}' is not of this ACL's family")));
    }
    let mut care = [0u8; 16];
    match family {
        Family::V4 => {
            if inline_prefix.is_some() {
                return Err(w.err(at, "IPv4 rules take an address and a wildcard mask"));
            }
            let at = w.at;
            let wild = w.need("wildcard mask")?;
            let m: std::net::Ipv4Addr = wild.parse().or_else(|_| {
                if wild == "0" {
                    Ok(std::net::Ipv4Addr::UNSPECIFIED)
                } else {
                    Err(w.err(at, format!("bad wildcard '{wild}'")))
                }
            })?;
            for (c, o) in care.iter_mut().zip(m.octets()) {
                *c = !o;
            }
        }
        Family::V6 => {
            let prefix_text = match inline_prefix {
                Some(p) => p,
                None => w.need("prefix length")?,
            };
            let len: u32 = prefix_text
                .parse()
                .ok()
                .filter(|l| (1..=128).contains(l))
                .ok_or_else(|| w.err(w.at - 1, format!("bad prefix length '{prefix_text}'")))?;
            for (i, c) in care.iter_mut().enumerate() {
                let bits = len.saturating_sub(i as u32 * 8).min(8);
                *c = if bits == 0 { 0 } else { 0xffu8 << (8 - bits) };
            }
        }
    }
    let mut masked = addr;
    for (m, c) in masked.iter_mut().zip(care) {
        *m &= c;
    }
    Ok(Some(AddrMatch { addr: masked, care }))
}

fn port_match(w: &mut Words<'_>) -> Result<PortMatch, RuleError> {
    let at = w.at;
    let op = w.need("lt, gt, eq, neq or range")?.to_ascii_lowercase();
    let mut one = || {
        let at = w.at;
        let p = w.need("port")?;
        port(p).ok_or_else(|| w.err(at, format!("bad port '{p}'")))
    };
    Ok(match op.as_str() {
        "eq" => PortMatch::Eq(one()?),
        "neq" => PortMatch::Neq(one()?),
        "lt" => PortMatch::Lt(one()?),
        "gt" => PortMatch::Gt(one()?),
        "range" => {
            let a = one()?;
            let b = one()?;
            if a > b {
                return Err(w.err(w.at - 1, "range end below its start"));
            }
            PortMatch::Range(a, b)
        }
        _ => return Err(w.err(at, format!("unknown port operator '{op}'"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key4(src: [u8; 4], dst: [u8; 4], proto: u8, sport: u16, dport: u16) -> FlowKey {
        let mut s = [0; 16];
        let mut d = [0; 16];
        s[..4].copy_from_slice(&src);
        d[..4].copy_from_slice(&dst);
        FlowKey {
            src: s,
            dst: d,
            sport,
            dport,
            proto,
            family: Family::V4,
            vpn: 0,
        }
    }

    #[test]
    fn manual_example_matches() {
        let mut acl = Acl::new(3000, Family::V4).unwrap();
        acl.add_rule("rule permit tcp source 129.9.0.0 0.0.255.255 destination 202.38.160.0 0.0.0.255 destination-port eq 80")
            .unwrap();
        assert_eq!(
            acl.matches(&key4([129, 9, 3, 4], [202, 38, 160, 9], 6, 5555, 80)),
            Some(Action::Permit)
        );
        assert_eq!(
            acl.matches(&key4([129, 10, 3, 4], [202, 38, 160, 9], 6, 5555, 80)),
            None
        );
        assert_eq!(
            acl.matches(&key4([129, 9, 3, 4], [202, 38, 161, 9], 6, 5555, 80)),
            None
        );
        assert_eq!(
            acl.matches(&key4([129, 9, 3, 4], [202, 38, 160, 9], 6, 5555, 81)),
            None
        );
        assert_eq!(
            acl.matches(&key4([129, 9, 3, 4], [202, 38, 160, 9], 17, 5555, 80)),
            None
        );
    }

    #[test]
    fn first_match_in_rule_id_order() {
        let mut acl = Acl::new(3001, Family::V4).unwrap();
        assert_eq!(acl.add_rule("rule 10 permit ip").unwrap(), 10);
        assert_eq!(
            acl.add_rule("rule 5 deny udp destination-port range 1000 2000")
                .unwrap(),
            5
        );
        assert_eq!(
            acl.add_rule("rule deny tcp destination-port gt 60000")
                .unwrap(),
            15
        );
        assert_eq!(
            acl.matches(&key4([1, 1, 1, 1], [2, 2, 2, 2], 17, 1, 1500)),
            Some(Action::Deny)
        );
        assert_eq!(
            acl.matches(&key4([1, 1, 1, 1], [2, 2, 2, 2], 17, 1, 2500)),
            Some(Action::Permit)
        );
        assert_eq!(
            acl.matches(&key4([1, 1, 1, 1], [2, 2, 2, 2], 6, 1, 61000)),
            Some(Action::Permit)
        );
    }

    #[test]
    fn ipv6_prefixes() {
        let mut acl = Acl::new(3000, Family::V6).unwrap();
        acl.add_rule("rule permit tcp source 2001:2::/48 destination-port lt 1024")
            .unwrap();
        let (_, a) = ip_to_addr("2001:2:0:1::5".parse().unwrap());
        let (_, b) = ip_to_addr("2001:3::5".parse().unwrap());
        let k = FlowKey {
            src: a,
            dst: b,
            sport: 1,
            dport: 22,
            proto: 6,
            family: Family::V6,
            vpn: 0,
        };
        assert_eq!(acl.matches(&k), Some(Action::Permit));
        assert_eq!(acl.matches(&FlowKey { src: b, ..k }), None);
        assert_eq!(acl.matches(&FlowKey { dport: 2000, ..k }), None);
    }

    #[test]
    fn basic_acl_matches_source_only() {
        let mut acl = Acl::new(2000, Family::V4).unwrap();
        acl.add_rule("rule permit source 198.18.0.1 0").unwrap();
        assert_eq!(
            acl.matches(&key4([198, 18, 0, 1], [9, 9, 9, 9], 6, 1, 2)),
            Some(Action::Permit)
        );
        assert_eq!(
            acl.matches(&key4([198, 18, 0, 2], [9, 9, 9, 9], 6, 1, 2)),
            None
        );
        assert!(acl.add_rule("rule permit tcp").is_err());
    }

    #[test]
    fn errors_name_the_word() {
        let e = parse_rule(
            "rule permit tcp source 1.2.3.400 0",
            Family::V4,
            AclKind::Advanced,
        )
        .unwrap_err();
        assert_eq!(e.word, 4);
        let e = parse_rule("rule allow tcp", Family::V4, AclKind::Advanced).unwrap_err();
        assert_eq!(e.word, 1);
        let e = parse_rule(
            "rule permit icmp destination-port eq 80",
            Family::V4,
            AclKind::Advanced,
        )
        .unwrap_err();
        assert_eq!(e.word, 3);
        let e = parse_rule(
            "rule permit tcp destination-port range 90 80",
            Family::V4,
            AclKind::Advanced,
        )
        .unwrap_err();
        assert_eq!(e.word, 6);
        assert!(parse_rule("rule permit tcp source", Family::V4, AclKind::Advanced).is_err());
        assert!(Acl::new(4000, Family::V4).is_none());
    }

    #[test]
    fn duplicate_rule_refused() {
        let mut acl = Acl::new(3000, Family::V4).unwrap();
        acl.add_rule("rule permit tcp").unwrap();
        let e = acl.add_rule("rule 10 permit tcp").unwrap_err();
        assert_eq!(e.reason, "The rule already exists.");
        // Same ID replaces.
        acl.add_rule("rule 0 deny tcp").unwrap();
        assert_eq!(acl.rules.len(), 1);
    }
}
