//! ACLs (reference/comware.md §10): numbered basic and advanced ACLs for IPv4 and IPv6, their
//! views and rules. Other areas use them by number: persistent sessions (aging), the packet
//! filter (interface).

use super::area::{Area, ConfigText, Context, Output, Tree};
use super::kit::{
    ALL, IPV6, KIND, NUM, alt, any, arg, int, internal, ipv6_word, kw, kws, opt, seq,
};
use crate::acl::{self, Acl, AclKind};
use crate::ctl::display_json;
use crate::ctl::grammar::{ArgKind, ErrorKind, Fault, Matched, Syn, undo_keyword};
use crate::ctl::render::{render_acl, render_acl_configuration};
use crate::ctl::running::Running;
use crate::ctl::terminal::{Effect, Terminal};
use crate::ctl::view::View;
use crate::ctl::view::bits::{ACL, ACL4_ADV, ACL4_BASIC, ACL6_ADV, ACL6_BASIC, ANY, SYSTEM};
use crate::proto::wire::Family;

/// `all` or one ACL number (the kind follows from the number: 2000-2999 basic, 3000-3999
/// advanced, §10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclTarget {
    All,
    Number(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclCmd {
    /// `acl [ipv6] {advanced|basic|number} N`: creates the ACL if need be and enters its view.
    Enter {
        ipv6: bool,
        kind: AclKind,
        number: u32,
    },
    UndoAcl {
        ipv6: bool,
        target: AclTarget,
    },
    /// A rule of the current ACL view, canonical text (`rule 5 permit tcp ...`), already
    /// validated by `acl::parse_rule` for the view's family and kind.
    Rule(String),
    UndoRule(u32),
    Display {
        ipv6: bool,
        target: AclTarget,
    },
}

const H_ACL: &str = "Specify ACL configuration information";
const H_IPV6_ACL: &str = "Specify an IPv6 ACL";
const H_ADVANCED: &str = "Specify an advanced ACL";
const H_BASIC: &str = "Specify a basic ACL";
const H_NUMBER: &str = "Specify a numbered ACL";
const H_RULE: &str = "Specify an ACL rule";
const RULE: &str = "rule";

/// `{advanced 3000-3999 | basic 2000-2999 | number 2000-3999}`.
fn acl_numbers() -> Syn {
    alt(vec![
        seq(vec![
            kws(KIND, "advanced", H_ADVANCED),
            arg(NUM, int(3000, 3999), "Advanced ACL number"),
        ]),
        seq(vec![
            kws(KIND, "basic", H_BASIC),
            arg(NUM, int(2000, 2999), "Basic ACL number"),
        ]),
        // Legacy `acl number N` (Comware 5 / early V7 configurations, §10.1).
        seq(vec![
            kws(KIND, "number", H_NUMBER),
            arg(
                NUM,
                int(2000, 3999),
                "ACL number (2000-2999 basic, 3000-3999 advanced)",
            ),
        ]),
    ])
}

fn target_of(m: &Matched<'_>) -> AclTarget {
    match m.u32(NUM) {
        Some(n) => AclTarget::Number(n),
        None => AclTarget::All,
    }
}

fn acl_kind_word(number: u32) -> &'static str {
    match AclKind::of_number(number) {
        Some(AclKind::Basic) => "basic",
        _ => "advanced",
    }
}

fn family(ipv6: bool) -> Family {
    if ipv6 { Family::V6 } else { Family::V4 }
}

impl Area for AclCmd {
    fn commands(t: &mut Tree<Self>) {
        let v6 = || opt(kws(IPV6, "ipv6", H_IPV6_ACL));
        t.display(
            ANY,
            vec![
                kw("acl", "ACL configuration information"),
                v6(),
                alt(vec![
                    arg(NUM, int(2000, 3999), "ACL number"),
                    kws(ALL, "all", "All ACLs"),
                ]),
            ],
            |m, _| {
                Ok(AclCmd::Display {
                    ipv6: m.has(IPV6),
                    target: target_of(m),
                })
            },
        );
        t.command(
            SYSTEM,
            vec![kw("acl", H_ACL), v6(), acl_numbers()],
            |m, _| {
                let number = m.u32(NUM).ok_or_else(|| internal(m))?;
                Ok(AclCmd::Enter {
                    ipv6: m.has(IPV6),
                    kind: AclKind::of_number(number).ok_or_else(|| internal(m))?,
                    number,
                })
            },
        );
        // Not derived from `acl ...`: the undo form also takes `all`.
        t.command(
            SYSTEM,
            vec![
                undo_keyword(),
                kw("acl", H_ACL),
                v6(),
                alt(vec![acl_numbers(), kws(ALL, "all", "Delete all ACLs")]),
            ],
            |m, _| {
                Ok(AclCmd::UndoAcl {
                    ipv6: m.has(IPV6),
                    target: target_of(m),
                })
            },
        );
        t.command(
            ACL4_ADV,
            vec![rule_syntax(false, AclKind::Advanced)],
            rule_builder,
        );
        t.command(
            ACL4_BASIC,
            vec![rule_syntax(false, AclKind::Basic)],
            rule_builder,
        );
        t.command(
            ACL6_ADV,
            vec![rule_syntax(true, AclKind::Advanced)],
            rule_builder,
        );
        t.command(
            ACL6_BASIC,
            vec![rule_syntax(true, AclKind::Basic)],
            rule_builder,
        );
        // Not derived from `rule ...`: a rule is undone by its number alone.
        t.command(
            ACL,
            vec![
                undo_keyword(),
                kw("rule", H_RULE),
                arg(NUM, int(0, 65534), "ID of ACL rule"),
            ],
            |m, _| Ok(AclCmd::UndoRule(m.u32(NUM).ok_or_else(|| internal(m))?)),
        );
    }

    fn canonical(&self) -> String {
        match self {
            AclCmd::Enter { ipv6, kind, number } => format!(
                "acl{} {} {number}",
                ipv6_word(*ipv6),
                match kind {
                    AclKind::Basic => "basic",
                    AclKind::Advanced => "advanced",
                }
            ),
            AclCmd::UndoAcl { ipv6, target } => match target {
                AclTarget::All => format!("undo acl{} all", ipv6_word(*ipv6)),
                AclTarget::Number(n) => {
                    format!("undo acl{} {} {n}", ipv6_word(*ipv6), acl_kind_word(*n))
                }
            },
            AclCmd::Rule(text) => text.clone(),
            AclCmd::UndoRule(id) => format!("undo rule {id}"),
            AclCmd::Display { ipv6, target } => match target {
                AclTarget::All => format!("display acl{} all", ipv6_word(*ipv6)),
                AclTarget::Number(n) => format!("display acl{} {n}", ipv6_word(*ipv6)),
            },
        }
    }

    fn is_config(&self) -> bool {
        matches!(self, AclCmd::Enter { .. } | AclCmd::Rule(_))
    }

    fn opens_view(&self) -> bool {
        matches!(self, AclCmd::Enter { .. })
    }

    fn at_terminal(&self, terminal: &mut Terminal) -> Effect {
        if let AclCmd::Enter { ipv6, kind, number } = self {
            terminal.enter_view(View::Acl {
                ipv6: *ipv6,
                kind: *kind,
                number: *number,
            });
        }
        Effect::Forward
    }

    fn on_engine(&self, cx: &mut Context<'_>) -> Output {
        let running = &mut *cx.running;
        match self {
            // The cores are given the ACL with its first rule (a rule pushes the configuration).
            AclCmd::Enter { ipv6, number, .. } => {
                if running.acl(*ipv6, *number).is_none()
                    && let Some(acl) = Acl::new(*number, family(*ipv6))
                {
                    running.acls.push(acl);
                    running.acls.sort_by_key(|a| (a.family, a.number));
                }
                Output::Nothing
            }
            AclCmd::UndoAcl { ipv6, target } => {
                let fam = family(*ipv6);
                running.acls.retain(|a| {
                    a.family != fam || matches!(target, AclTarget::Number(n) if *n != a.number)
                });
                cx.changed();
                Output::Nothing
            }
            AclCmd::Rule(_) | AclCmd::UndoRule(_) => {
                let View::Acl { ipv6, number, .. } = cx.view else {
                    return Output::Text(" % Rules are configured in an ACL view.\n".into());
                };
                let fam = family(*ipv6);
                let msg = match running
                    .acls
                    .iter_mut()
                    .find(|a| a.family == fam && a.number == *number)
                {
                    Some(acl) => match self {
                        AclCmd::Rule(text) => acl
                            .add_rule(text)
                            .err()
                            .map(|e| format!(" % {}\n", e.reason)),
                        AclCmd::UndoRule(id) => {
                            let before = acl.rules.len();
                            acl.rules.retain(|r| r.id != *id);
                            (acl.rules.len() == before)
                                .then(|| format!(" % Rule {id} does not exist.\n"))
                        }
                        _ => None,
                    },
                    None => Some(" % The ACL does not exist.\n".into()),
                };
                cx.changed();
                Output::Text(msg.unwrap_or_default())
            }
            AclCmd::Display { ipv6, target } => {
                let fam = family(*ipv6);
                let shown: Vec<&Acl> = running
                    .acls
                    .iter()
                    .filter(|a| a.family == fam)
                    .filter(|acl| {
                        matches!(target, AclTarget::All)
                            || matches!(target, AclTarget::Number(n) if *n == acl.number)
                    })
                    .collect();
                let out: String = shown.iter().map(|acl| render_acl(acl)).collect();
                Output::display(out, display_json::acls(shown))
            }
        }
    }

    /// Each ACL is a section of its own: its header and its rules.
    fn configuration(running: &Running, text: &mut ConfigText) {
        for acl in &running.acls {
            text.section(acl_text(acl));
        }
    }

    fn view_configuration(running: &Running, view: &View) -> Option<String> {
        let View::Acl { ipv6, number, .. } = view else {
            return None;
        };
        Some(
            running
                .acl(*ipv6, *number)
                .map(acl_text)
                .unwrap_or_default()
                + "#\nreturn\n",
        )
    }
}

fn acl_text(acl: &Acl) -> String {
    let mut out = String::new();
    render_acl_configuration(acl, &mut out);
    out
}

// ------------------------------------------------------------------------------------------
// Rules (§10.2-§10.4), as far as `acl::parse_rule` implements them

pub(super) const PORT_NAMES: &[(&str, &str)] = &[
    ("bgp", "Border Gateway Protocol (179)"),
    ("bootpc", "Bootstrap Protocol Client (68)"),
    ("bootps", "Bootstrap Protocol Server (67)"),
    ("dns", "Domain Name Service (53)"),
    ("domain", "Domain Name Service (53)"),
    ("ftp", "File Transfer Protocol (21)"),
    ("ftp-data", "FTP data connections (20)"),
    ("http", "Hypertext Transfer Protocol (80)"),
    ("netbios-dgm", "NETBIOS datagram service (138)"),
    ("netbios-ns", "NETBIOS name service (137)"),
    ("netbios-ssn", "NETBIOS session service (139)"),
    ("ntp", "Network Time Protocol (123)"),
    ("pop3", "Post Office Protocol v3 (110)"),
    ("rip", "Routing Information Protocol (520)"),
    ("smtp", "Simple Mail Transport Protocol (25)"),
    ("snmp", "Simple Network Management Protocol (161)"),
    ("snmptrap", "SNMP Traps (162)"),
    ("syslog", "Syslog (514)"),
    ("telnet", "Telnet (23)"),
    ("tftp", "Trivial File Transfer Protocol (69)"),
    ("www", "World Wide Web (HTTP, 80)"),
    ("xdmcp", "X Display Manager Control Protocol (177)"),
];

fn port_value(slot: &'static str) -> Syn {
    let mut items = vec![arg(slot, int(0, 65535), "Port number")];
    items.extend(PORT_NAMES.iter().map(|(w, h)| kws(slot, w, *h)));
    alt(items)
}

fn port_match(word: &'static str, help: &'static str) -> Syn {
    seq(vec![
        kw(word, help),
        alt(vec![
            seq(vec![
                alt(vec![
                    kw("eq", "Equal to given port number"),
                    kw("gt", "Greater than given port number"),
                    kw("lt", "Less than given port number"),
                    kw("neq", "Not equal to given port number"),
                ]),
                port_value("port"),
            ]),
            seq(vec![
                kw("range", "Between two port numbers"),
                port_value("port-from"),
                port_value("port-to"),
            ]),
        ]),
    ])
}

fn rule_address(word: &'static str, help: &'static str, v6: bool) -> Syn {
    let any_help = if word == "source" {
        "Any source IP address"
    } else {
        "Any destination IP address"
    };
    let address = if v6 {
        alt(vec![
            seq(vec![
                arg("addr", ArgKind::Ipv6, "IPv6 address"),
                arg("prefix", int(1, 128), "Prefix length"),
            ]),
            arg(
                "addr",
                ArgKind::Ipv6Prefix,
                "IPv6 address and prefix length",
            ),
        ])
    } else {
        seq(vec![
            arg("addr", ArgKind::Ipv4, "IPv4 address"),
            arg(
                "wildcard",
                ArgKind::Wildcard,
                "Wildcard mask (0 for a host)",
            ),
        ])
    };
    seq(vec![
        kw(word, help),
        alt(vec![address, kw("any", any_help)]),
    ])
}

fn rule_syntax(v6: bool, kind: AclKind) -> Syn {
    let head = vec![
        kws(RULE, "rule", H_RULE),
        opt(arg("id", int(0, 65534), "ID of ACL rule")),
        alt(vec![
            kw("deny", "Specify matched packets to deny"),
            kw("permit", "Specify matched packets to permit"),
        ]),
    ];
    let source = || rule_address("source", "Specify source address", v6);
    let destination = || rule_address("destination", "Specify destination address", v6);
    let mut items = head;
    match kind {
        AclKind::Basic => items.push(opt(source())),
        AclKind::Advanced => {
            let (any_ip, icmp, others): (&str, &str, &[(&str, &str)]) = if v6 {
                (
                    "ipv6",
                    "icmpv6",
                    &[
                        ("gre", "GRE tunneling (47)"),
                        ("ipv6-ah", "IPv6 Authentication Header (51)"),
                        ("ipv6-esp", "IPv6 Encapsulating Security Payload (50)"),
                        ("ospf", "OSPF routing protocol (89)"),
                    ],
                )
            } else {
                (
                    "ip",
                    "icmp",
                    &[
                        ("gre", "GRE tunneling (47)"),
                        ("igmp", "Internet Group Management Protocol (2)"),
                        ("ipinip", "IP in IP tunneling (4)"),
                        ("ospf", "OSPF routing protocol (89)"),
                    ],
                )
            };
            let mut no_ports = vec![
                arg("protocol", int(0, 255), "Protocol number"),
                kw(any_ip, "Any IP protocol"),
                kw(
                    icmp,
                    if v6 {
                        "ICMPv6 (58)"
                    } else {
                        "Internet Control Message Protocol (1)"
                    },
                ),
            ];
            no_ports.extend(others.iter().map(|(w, h)| kw(w, h)));
            items.push(alt(vec![
                seq(vec![
                    alt(vec![
                        kw("tcp", "Transmission Control Protocol (6)"),
                        kw("udp", "User Datagram Protocol (17)"),
                    ]),
                    any(vec![
                        source(),
                        destination(),
                        port_match("source-port", "Specify source port"),
                        port_match("destination-port", "Specify destination port"),
                    ]),
                ]),
                seq(vec![alt(no_ports), any(vec![source(), destination()])]),
            ]));
        }
    }
    seq(items)
}

fn rule_builder(m: &Matched<'_>, view: &View) -> Result<AclCmd, Fault> {
    let View::Acl { ipv6, kind, .. } = view else {
        return Err(internal(m));
    };
    let from = m.index_of(RULE).unwrap_or(0);
    let text = m.canonical_from(from);
    let family = if *ipv6 { Family::V6 } else { Family::V4 };
    match acl::parse_rule(&text, family, *kind) {
        Ok(_) => Ok(AclCmd::Rule(text)),
        Err(e) => {
            let kind = if e.reason.starts_with("incomplete") {
                ErrorKind::Incomplete
            } else {
                ErrorKind::Wrong
            };
            let token = m
                .vals
                .get(from + e.word)
                .or(m.vals.last())
                .map_or(0, |v| v.token);
            Err(Fault { kind, token })
        }
    }
}
