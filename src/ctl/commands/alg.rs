//! ALGs and what they follow (SPEC R, reference/comware.md §6, §12): the ALG switches, the
//! port-to-application map that decides which sessions an ALG sees, and the relation table
//! the ALGs fill with the data connections they expect.

use super::area::{Area, ConfigText, Context, Output, Tree};
use super::kit::{
    APP, DPORT, FAMILY, H_RESET, H_SESSION_DISPLAY, KIND, PROTO, alt, app_keyword,
    application_keywords, arg, family_of, family_word, int, internal, kw, kws, opt, seq,
};
use crate::alg::{self, AlgId, AlgSet};
use crate::ctl::grammar::{Fault, Matched, Syn};
use crate::ctl::port_mapping_view::{
    MAPPING_PROTOCOLS, mapping_protocol_number, mapping_protocol_word, render_pre_defined,
    render_user_defined,
};
use crate::ctl::relation_view::render_relation_table;
use crate::ctl::running::Running;
use crate::ctl::view::bits::{ANY, SYSTEM, USER};
use crate::proto::wire::Family;
use crate::table::apps::{self, PortMapping};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlgCmd {
    /// `alg {ftp|tftp|all}` / `undo alg ...`; `alg: None` = all.
    Alg { alg: Option<AlgId>, on: bool },
    /// `[undo] port-mapping application NAME port N [protocol P]` (§12); `proto` is an IP
    /// protocol number, `None` for every transport.
    PortMapping {
        app: u8,
        port: u16,
        proto: Option<u8>,
        on: bool,
    },
    /// `display port-mapping {pre-defined|user-defined}`.
    DisplayPortMapping { user: bool },
    /// `display session relation-table [ipv4|ipv6]` (R3, §6.1); `None` = both families.
    DisplayRelationTable { family: Option<Family> },
    /// `reset session relation-table [ipv4|ipv6]` (R3, §6.2).
    ResetRelationTable { family: Option<Family> },
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
                    kws(KIND, "user-defined", "User-defined port mappings"),
                ]),
            ],
            |m, _| {
                Ok(AlgCmd::DisplayPortMapping {
                    user: m.text(KIND) == Some("user-defined"),
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
                application_keywords(|name| format!("{name} application")),
                kw("port", "Specify a port"),
                arg(DPORT, int(0, 65535), "Port number"),
                opt(seq(vec![
                    kw("protocol", "Specify the transport protocol"),
                    alt(MAPPING_PROTOCOLS
                        .iter()
                        .map(|(w, _)| kws(PROTO, w, format!("{} protocol", w.to_uppercase())))
                        .collect()),
                ])),
            ],
            |m, _| {
                Ok(AlgCmd::PortMapping {
                    app: m
                        .text(APP)
                        .and_then(apps::by_keyword)
                        .ok_or_else(|| internal(m))?,
                    port: m.u32(DPORT).ok_or_else(|| internal(m))? as u16,
                    proto: m.text(PROTO).and_then(mapping_protocol_number),
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
                on,
            } => {
                let mut s = format!(
                    "{}port-mapping application {} port {port}",
                    undo(*on),
                    app_keyword(*app)
                );
                if let Some(p) = proto.and_then(mapping_protocol_word) {
                    s.push_str(&format!(" protocol {p}"));
                }
                s
            }
            AlgCmd::DisplayPortMapping { user } => format!(
                "display port-mapping {}",
                if *user { "user-defined" } else { "pre-defined" }
            ),
            AlgCmd::DisplayRelationTable { family } => match family {
                Some(f) => format!("display session relation-table {}", family_word(*f)),
                None => "display session relation-table".into(),
            },
            AlgCmd::ResetRelationTable { family } => match family {
                Some(f) => format!("reset session relation-table {}", family_word(*f)),
                None => "reset session relation-table".into(),
            },
        }
    }

    /// ALGs are on by default, so `undo alg` is a setting too.
    fn is_config(&self) -> bool {
        matches!(
            self,
            AlgCmd::Alg { .. } | AlgCmd::PortMapping { on: true, .. }
        )
    }

    fn on_engine(&self, cx: &mut Context<'_>) -> Output {
        let table = &mut cx.running.table;
        match self {
            AlgCmd::Alg { alg, on } => match alg {
                Some(id) => table.algs.set(*id, *on),
                None => table.algs = if *on { AlgSet::ALL } else { AlgSet::NONE },
            },
            AlgCmd::PortMapping {
                app,
                port,
                proto,
                on,
            } => {
                let map = &mut table.port_map;
                // The same port and protocol mapped again: the new application overwrites.
                map.retain(|m| !(m.port == *port && m.proto == *proto && (*on || m.app == *app)));
                if *on {
                    map.push(PortMapping {
                        app: *app,
                        port: *port,
                        proto: *proto,
                    });
                }
            }
            AlgCmd::DisplayPortMapping { user } => {
                return Output::Text(if *user {
                    render_user_defined(&table.port_map)
                } else {
                    render_pre_defined()
                });
            }
            AlgCmd::DisplayRelationTable { family } => {
                let rel = &cx.engine.relations;
                return Output::Text(render_relation_table(&rel.entries(*family), rel.clock_ms()));
            }
            AlgCmd::ResetRelationTable { family } => {
                cx.engine.relations.reset(*family);
                return Output::Nothing;
            }
        }
        cx.changed();
        Output::Nothing
    }

    /// The user's port mappings, then the ALGs turned off (they are on by default).
    fn configuration(running: &Running, text: &mut ConfigText) {
        for m in &running.table.port_map {
            text.setting(&AlgCmd::PortMapping {
                app: m.app,
                port: m.port,
                proto: m.proto,
                on: true,
            });
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
