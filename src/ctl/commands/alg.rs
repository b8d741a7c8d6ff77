//! ALGs and what they follow (SPEC R, reference/comware.md §6, §12): the ALG switches, the
//! port-to-application map that decides which sessions an ALG sees, and the relation table
//! the ALGs fill with the data connections they expect.

use super::aging::AgingCmd;
use super::area::{Area, ConfigText, Context, Output, Tree};
use super::kit::{
    APP, AppName, DPORT, FAMILY, H_RESET, H_SESSION, H_SESSION_DISPLAY, IPV6, KIND, NUM, PROTO,
    alt, app_of, application_name, arg, family_of, family_word, int, internal, kw, kws, opt, seq,
};
use crate::alg::{self, AlgId, AlgSet};
use crate::ctl::display_json;
use crate::ctl::grammar::{ArgKind, ErrorKind, Fault, Matched, Syn, quote};
use crate::ctl::port_mapping_view::{
    MAPPING_PROTOCOLS, mapping_protocol_number, mapping_protocol_word, render_pre_defined,
    render_user_defined,
};
use crate::ctl::relation_view::render_relation_table;
use crate::ctl::running::Running;
use crate::ctl::view::bits::{ANY, SYSTEM, USER};
use crate::proto::wire::Family;
use crate::table::apps::{self, OTHERS_AGING_S, TooManyApps};
use crate::table::port_map::{MatchScope, PortMapping};
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlgCmd {
    /// `alg {ftp|tftp|all}` / `undo alg ...`; `alg: None` = all.
    Alg { alg: Option<AlgId>, on: bool },
    /// `[undo] port-mapping application NAME port N [protocol P] [acl ... | host ... |
    /// subnet ...]` (§12); `proto` is an IP protocol number, `None` for every transport. A
    /// name no pre-defined application has defines a user-defined application.
    PortMapping {
        app: AppName,
        port: u16,
        proto: Option<u8>,
        scope: MatchScope,
        /// `vpn-instance NAME` of the host and subnet forms: refused (no VPN instances).
        vpn: Option<String>,
        on: bool,
    },
    /// `display port-mapping pre-defined` / `display port-mapping user-defined [application
    /// NAME] [port N]`.
    DisplayPortMapping {
        user: bool,
        app: Option<AppName>,
        port: Option<u16>,
    },
    /// `display session relation-table [ipv4|ipv6]` (R3, §6.1); `None` = both families.
    DisplayRelationTable { family: Option<Family> },
    /// `reset session relation-table [ipv4|ipv6]` (R3, §6.2).
    ResetRelationTable { family: Option<Family> },
    /// `[undo] session alg fragment sip` (R4): the ALG sees messages that came in IP
    /// fragments (off by default, as Comware; only SIP can be chosen, as on Comware).
    Fragment { alg: AlgId, on: bool },
}

const H_ALG: &str = "Enable ALG for an application protocol";

/// `alg` keywords: `all` and every registered ALG.
fn alg_keywords() -> Syn {
    let mut items = vec![kws(APP, "all", "All protocols")];
    items.extend(
        alg::REGISTRY
            .iter()
            .map(|r| kws(APP, r.info.keyword, r.info.help)),
    );
    alt(items)
}

fn alg_of(m: &Matched<'_>) -> Result<Option<AlgId>, Fault> {
    match m.text(APP) {
        Some("all") => Ok(None),
        Some(kw) => alg::by_keyword(kw).map(Some).ok_or_else(|| internal(m)),
        None => Err(internal(m)),
    }
}

/// `[ipv4|ipv6]` of the relation-table commands.
fn relation_families() -> Syn {
    opt(alt(vec![
        kws(FAMILY, "ipv4", "IPv4 relation entries"),
        kws(FAMILY, "ipv6", "IPv6 relation entries"),
    ]))
}

// ------------------------------------------------------------------------------------------
// Port mappings (§12)

const SCOPE: &str = "scope";
const ADDR_FAMILY: &str = "addr-family";
const START: &str = "start";
const END: &str = "end";
const MASK_LEN: &str = "mask-length";
const MASK: &str = "mask";
const VPN: &str = "vpn";

/// `[vpn-instance NAME]` of the host and subnet forms.
fn vpn_instance() -> Syn {
    opt(seq(vec![
        kw("vpn-instance", "Specify a VPN instance"),
        arg(VPN, ArgKind::Str { min: 1, max: 31 }, "VPN instance name"),
    ]))
}

/// `acl [ipv6] N | host {ip|ipv6} START [END] [vpn-instance V] | subnet {ip ADDR {LEN|MASK} |
/// ipv6 ADDR LEN} [vpn-instance V]`.
fn match_scopes() -> Syn {
    let host = |word: &'static str, help: &'static str, kind: ArgKind| {
        seq(vec![
            kws(ADDR_FAMILY, word, help),
            arg(START, kind, "Start address"),
            opt(arg(END, kind, "End address")),
        ])
    };
    alt(vec![
        seq(vec![
            kws(SCOPE, "acl", "Specify an ACL"),
            opt(kws(IPV6, "ipv6", "Specify an IPv6 ACL")),
            arg(NUM, int(2000, 2999), "Basic ACL number"),
        ]),
        seq(vec![
            kws(SCOPE, "host", "Specify hosts"),
            alt(vec![
                host("ip", "Specify IPv4 hosts", ArgKind::Ipv4),
                host("ipv6", "Specify IPv6 hosts", ArgKind::Ipv6),
            ]),
            vpn_instance(),
        ]),
        seq(vec![
            kws(SCOPE, "subnet", "Specify a subnet"),
            alt(vec![
                seq(vec![
                    kws(ADDR_FAMILY, "ip", "Specify an IPv4 subnet"),
                    arg(START, ArgKind::Ipv4, "Network address"),
                    alt(vec![
                        arg(MASK_LEN, int(1, 32), "Mask length"),
                        arg(MASK, ArgKind::Ipv4, "Mask"),
                    ]),
                ]),
                seq(vec![
                    kws(ADDR_FAMILY, "ipv6", "Specify an IPv6 subnet"),
                    arg(START, ArgKind::Ipv6, "Network address"),
                    arg(MASK_LEN, int(1, 128), "Prefix length"),
                ]),
            ]),
            vpn_instance(),
        ]),
    ])
}

/// The application of `port-mapping application NAME`: §12's names are 1-63 letters, digits,
/// `-` and `_`, and `invalid` and `other` are reserved.
fn mapped_application(m: &Matched<'_>) -> Result<AppName, Fault> {
    let text = m.text(APP).ok_or_else(|| internal(m))?;
    let valid = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !["invalid", "other"]
            .iter()
            .any(|r| r.eq_ignore_ascii_case(text));
    if !valid {
        return Err(Fault {
            kind: ErrorKind::Wrong,
            token: m.token(APP).unwrap_or(0),
        });
    }
    Ok(AppName::parse(text))
}

fn scope_of(m: &Matched<'_>) -> Result<MatchScope, Fault> {
    let wrong = |slot| Fault {
        kind: ErrorKind::Wrong,
        token: m.token(slot).unwrap_or(0),
    };
    Ok(match m.text(SCOPE) {
        None => MatchScope::Any,
        Some("acl") => MatchScope::Acl {
            ipv6: m.has(IPV6),
            number: m.u32(NUM).ok_or_else(|| internal(m))?,
        },
        Some("host") => {
            let start = m.ip(START).ok_or_else(|| internal(m))?;
            let end = m.ip(END).unwrap_or(start);
            if end < start {
                return Err(wrong(END));
            }
            MatchScope::Host { start, end }
        }
        _ => {
            let addr = m.ip(START).ok_or_else(|| internal(m))?;
            let len = match (m.u32(MASK_LEN), m.ip(MASK)) {
                (Some(len), _) => len as u8,
                (None, Some(IpAddr::V4(mask))) => {
                    let bits = u32::from(mask);
                    // A contiguous mask of at least one bit (mask lengths are 1-32).
                    if bits == 0 || bits.leading_ones() + bits.trailing_zeros() != 32 {
                        return Err(wrong(MASK));
                    }
                    bits.leading_ones() as u8
                }
                _ => return Err(internal(m)),
            };
            MatchScope::Subnet { addr, len }
        }
    })
}

/// The canonical words of a match condition (subnets with their mask length).
fn push_scope(s: &mut String, scope: &MatchScope) {
    let family = |ip: &IpAddr| if ip.is_ipv4() { "ip" } else { "ipv6" };
    match scope {
        MatchScope::Any => {}
        MatchScope::Acl { ipv6, number } => {
            s.push_str(if *ipv6 { " acl ipv6 " } else { " acl " });
            s.push_str(&number.to_string());
        }
        MatchScope::Host { start, end } => {
            s.push_str(&format!(" host {} {start}", family(start)));
            if end != start {
                s.push_str(&format!(" {end}"));
            }
        }
        MatchScope::Subnet { addr, len } => {
            s.push_str(&format!(" subnet {} {addr} {len}", family(addr)));
        }
    }
}

/// Defines the user-defined application `name` (lower case) with the generic timer, or says
/// why not.
fn define(table: &mut crate::table::TableConfig, name: &str) -> Result<u8, String> {
    // A user-defined name is typed in full where pre-defined names may be abbreviated
    // (`session aging-time application`, the session filters): one that begins a pre-defined
    // name would be read as that application there (ours).
    if let Some(a) = apps::APPS
        .iter()
        .skip(1)
        .find(|a| a.keyword.starts_with(name))
    {
        return Err(format!(
            " % The name {name} is the beginning of the pre-defined application {}: choose another.\n",
            a.keyword
        ));
    }
    let id = table.user_apps.add(name).map_err(|TooManyApps| {
        format!(
            " % The number of user-defined applications has reached the limit ({}).\n",
            apps::MAX_USER_APPS
        )
    })?;
    if let Some(v) = table.aging.app_s.get_mut(usize::from(id)) {
        *v = Some(OTHERS_AGING_S);
    }
    Ok(id)
}

/// A user-defined application lives as long as a mapping names it: the last one removed (or
/// overwritten), it goes, and its timer with it.
fn forget_unmapped_applications(table: &mut crate::table::TableConfig) {
    let unmapped: Vec<u8> = table
        .user_apps
        .iter()
        .map(|(id, _)| id)
        .filter(|id| !table.port_map.iter().any(|m| m.app == *id))
        .collect();
    for id in unmapped {
        table.user_apps.remove(id);
        if let Some(v) = table.aging.app_s.get_mut(usize::from(id)) {
            *v = None;
        }
    }
}

impl Area for AlgCmd {
    fn commands(t: &mut Tree<Self>) {
        t.display(
            ANY,
            vec![
                kw("session", H_SESSION_DISPLAY),
                kw("relation-table", "Display relation table information"),
                relation_families(),
            ],
            |m, _| {
                Ok(AlgCmd::DisplayRelationTable {
                    family: family_of(m),
                })
            },
        );
        t.display(
            ANY,
            vec![
                kw("port-mapping", "Port mapping information"),
                alt(vec![
                    kws(KIND, "pre-defined", "Pre-defined port mappings"),
                    seq(vec![
                        kws(KIND, "user-defined", "User-defined port mappings"),
                        opt(seq(vec![
                            kw("application", "Specify an application"),
                            application_name("Application name"),
                        ])),
                        opt(seq(vec![
                            kw("port", "Specify a port"),
                            arg(DPORT, int(0, 65535), "Port number"),
                        ])),
                    ]),
                ]),
            ],
            |m, _| {
                Ok(AlgCmd::DisplayPortMapping {
                    user: m.text(KIND) == Some("user-defined"),
                    app: app_of(m),
                    port: m.u32(DPORT).map(|p| p as u16),
                })
            },
        );
        t.command(
            USER,
            vec![
                kw("reset", H_RESET),
                kw("session", H_SESSION_DISPLAY),
                kw("relation-table", "Clear relation entries"),
                relation_families(),
            ],
            |m, _| {
                Ok(AlgCmd::ResetRelationTable {
                    family: family_of(m),
                })
            },
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("session", H_SESSION),
                kw("alg", "Configure ALG processing"),
                kw("fragment", "Enable ALG processing of IP fragments"),
                kws(APP, "sip", "SIP protocol"),
            ],
            |m, _| {
                Ok(AlgCmd::Fragment {
                    alg: alg_of(m)?.ok_or_else(|| internal(m))?,
                    on: !m.is_undo(),
                })
            },
        );
        t.with_undo(SYSTEM, vec![kw("alg", H_ALG), alg_keywords()], |m, _| {
            Ok(AlgCmd::Alg {
                alg: alg_of(m)?,
                on: !m.is_undo(),
            })
        });
        t.with_undo(
            SYSTEM,
            vec![
                kw("port-mapping", "Configure port mapping"),
                kw("application", "Specify an application"),
                application_name("Application name"),
                kw("port", "Specify a port"),
                arg(DPORT, int(0, 65535), "Port number"),
                opt(seq(vec![
                    kw("protocol", "Specify the transport protocol"),
                    alt(MAPPING_PROTOCOLS
                        .iter()
                        .map(|(w, _)| kws(PROTO, w, format!("{} protocol", w.to_uppercase())))
                        .collect()),
                ])),
                opt(match_scopes()),
            ],
            |m, _| {
                Ok(AlgCmd::PortMapping {
                    app: mapped_application(m)?,
                    port: m.u32(DPORT).ok_or_else(|| internal(m))? as u16,
                    proto: m.text(PROTO).and_then(mapping_protocol_number),
                    scope: scope_of(m)?,
                    vpn: m.text(VPN).map(str::to_string),
                    on: !m.is_undo(),
                })
            },
        );
    }

    fn canonical(&self) -> String {
        let undo = |on: bool| if on { "" } else { "undo " };
        match self {
            AlgCmd::Alg { alg, on } => {
                let name = alg.and_then(alg::info).map_or("all", |i| i.keyword);
                format!("{}alg {name}", undo(*on))
            }
            AlgCmd::PortMapping {
                app,
                port,
                proto,
                scope,
                vpn,
                on,
            } => {
                let mut s = format!(
                    "{}port-mapping application {} port {port}",
                    undo(*on),
                    app.word()
                );
                if let Some(p) = proto.and_then(mapping_protocol_word) {
                    s.push_str(&format!(" protocol {p}"));
                }
                push_scope(&mut s, scope);
                if let Some(v) = vpn {
                    s.push_str(&format!(" vpn-instance {}", quote(v)));
                }
                s
            }
            AlgCmd::DisplayPortMapping { user, app, port } => {
                let mut s = format!(
                    "display port-mapping {}",
                    if *user { "user-defined" } else { "pre-defined" }
                );
                if let Some(a) = app {
                    s.push_str(&format!(" application {}", a.word()));
                }
                if let Some(p) = port {
                    s.push_str(&format!(" port {p}"));
                }
                s
            }
            AlgCmd::DisplayRelationTable { family } => match family {
                Some(f) => format!("display session relation-table {}", family_word(*f)),
                None => "display session relation-table".into(),
            },
            AlgCmd::ResetRelationTable { family } => match family {
                Some(f) => format!("reset session relation-table {}", family_word(*f)),
                None => "reset session relation-table".into(),
            },
            AlgCmd::Fragment { alg, on } => {
                let name = alg::info(*alg).map_or("sip", |i| i.keyword);
                format!("{}session alg fragment {name}", undo(*on))
            }
        }
    }

    /// ALGs are on by default, so `undo alg` is a setting too.
    fn is_config(&self) -> bool {
        matches!(
            self,
            AlgCmd::Alg { .. }
                | AlgCmd::PortMapping { on: true, .. }
                | AlgCmd::Fragment { on: true, .. }
        )
    }

    fn on_engine(&self, cx: &mut Context<'_>) -> Output {
        let table = &mut cx.running.table;
        match self {
            AlgCmd::Alg { alg, on } => match alg {
                Some(id) => table.algs.set(*id, *on),
                None => table.algs = if *on { AlgSet::ALL } else { AlgSet::NONE },
            },
            AlgCmd::Fragment { alg, on } => table.alg_fragments.set(*alg, *on),
            AlgCmd::PortMapping {
                app,
                port,
                proto,
                scope,
                vpn,
                on,
            } => {
                if vpn.is_some() {
                    return Output::Text(
                        " % VPN instances are not supported: port mappings apply to the public network.\n"
                            .into(),
                    );
                }
                let id = match (app.resolve(&table.user_apps), app) {
                    (Some(id), _) => id,
                    // Nothing to remove.
                    (None, _) if !*on => return Output::Nothing,
                    (None, AppName::User(name)) => match define(table, name) {
                        Ok(id) => id,
                        Err(refusal) => return Output::Text(refusal),
                    },
                    (None, AppName::Predefined(_)) => return Output::Nothing,
                };
                let mapping = PortMapping {
                    app: id,
                    port: *port,
                    proto: *proto,
                    scope: *scope,
                };
                let map = &mut table.port_map;
                // The same port, protocol and match condition mapped again: the new
                // application overwrites; `undo` removes the mapping only if it is this one.
                map.retain(|m| !(m.same_place(&mapping) && (*on || m.app == id)));
                if *on {
                    map.push(mapping);
                }
                forget_unmapped_applications(table);
            }
            AlgCmd::DisplayPortMapping { user, app, port } => {
                if !*user {
                    return Output::display(
                        render_pre_defined(),
                        display_json::port_mapping_pre_defined(),
                    );
                }
                let app = app.as_ref().map(|a| a.resolve(&table.user_apps));
                let rows: Vec<&PortMapping> = table
                    .port_map
                    .iter()
                    .filter(|m| {
                        app.is_none_or(|a| a == Some(m.app)) && port.is_none_or(|p| p == m.port)
                    })
                    .collect();
                return Output::display(
                    render_user_defined(rows.iter().copied(), &table.user_apps),
                    display_json::port_mapping_user_defined(rows, &table.user_apps),
                );
            }
            AlgCmd::DisplayRelationTable { family } => {
                let rel = &cx.engine.relations;
                let (entries, clock_ms) = (rel.entries(*family), rel.clock_ms());
                return Output::display(
                    render_relation_table(&entries, clock_ms),
                    display_json::relation_table(&entries, clock_ms),
                );
            }
            AlgCmd::ResetRelationTable { family } => {
                cx.engine.relations.reset(*family);
                return Output::Nothing;
            }
        }
        cx.changed();
        Output::Nothing
    }

    /// The user's port mappings and the timers of the user-defined applications they define
    /// (after them: a timer names an application its mapping defines), then the ALGs turned
    /// off (they are on by default).
    fn configuration(running: &Running, text: &mut ConfigText) {
        let user = &running.table.user_apps;
        for m in &running.table.port_map {
            let app = match user.name(m.app) {
                Some(name) => AppName::User(name.to_string()),
                None => AppName::Predefined(m.app),
            };
            text.setting(&AlgCmd::PortMapping {
                app,
                port: m.port,
                proto: m.proto,
                scope: m.scope,
                vpn: None,
                on: true,
            });
        }
        for (id, name) in user.iter() {
            let timer = running.table.aging.app_s.get(usize::from(id)).copied();
            if let Some(Some(seconds)) = timer
                && seconds != OTHERS_AGING_S
            {
                text.setting(&AgingCmd::SetApplication {
                    app: AppName::User(name.to_string()),
                    seconds,
                });
            }
        }
        for (id, _) in alg::REGISTRY.iter().enumerate() {
            if running.table.alg_fragments.has(id as u8) {
                text.setting(&AlgCmd::Fragment {
                    alg: id as u8,
                    on: true,
                });
            }
        }
        for (id, _) in alg::REGISTRY.iter().enumerate() {
            if !running.table.algs.has(id as u8) {
                text.setting(&AlgCmd::Alg {
                    alg: Some(id as u8),
                    on: false,
                });
            }
        }
    }
}
