//! The data of the display commands as JSON, for automation (`sessmgr exec --json`, SPEC B4).
//! Each builder here takes the very values its display's text is rendered from, so the two
//! never disagree.
//!
//! The shape, for every display:
//! - one JSON object per display (a session table's chunks are joined by `sessmgr exec` into
//!   one: `{"sessions": [...], "sessions_found": N}`);
//! - keys in snake_case, named after what the text labels (`sessions`, `rate_per_s`,
//!   `relation_entries`), with the unit in the name where there is one (`_s`, `_per_s`,
//!   `_bytes`);
//! - numbers as JSON numbers, never as text; addresses, names and the Comware state and
//!   protocol names as the strings the text shows; a field that does not apply (`-` in the
//!   text) is `null`;
//! - lists in the text's order, as arrays of objects; a group the text labels (a protocol, a
//!   state, a drop reason) as an object keyed by its console keyword in snake_case.

use super::port_mapping_view::{mapping_protocol_word, match_condition};
use super::render::{
    RECEIVED_BY_SELECTED, application_rows, comware_state, keyed_protocol_name,
    relation_protocol_name,
};
use super::userlog_view::counters_of;
use crate::acl::{Acl, AclKind, RULE_STEP};
use crate::export::config::{
    ExportConfig, FlowFormat, HostCounters, HostDrop, SyslogFormat, Transport,
};
use crate::export::flowlog::FlowLogVersion;
use crate::proto::Protocol;
use crate::proto::key::{FlowKey, addr_to_ip};
use crate::proto::wire::Family;
use crate::table::aging::{AgingConfig, AgingState};
use crate::table::apps::{self, APPS, OTHERS_AGING_S, On, UserApps};
use crate::table::port_map::PortMapping;
use crate::table::query::{SessionRow, StatisticsCounts};
use crate::table::relation::RelationEntry;
use serde_json::{Map, Value, json};

/// A console keyword as a JSON key: `udp-lite` -> `udp_lite`.
pub fn key(word: &str) -> String {
    word.replace('-', "_").to_lowercase()
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

// ------------------------------------------------------------------------------------------
// Sessions

fn half(key: &FlowKey, vpn: Option<&str>, interface: Option<&str>, zone: Option<&str>) -> Value {
    json!({
        "source_ip": addr_to_ip(key.family, &key.src).to_string(),
        "source_port": key.sport,
        "destination_ip": addr_to_ip(key.family, &key.dst).to_string(),
        "destination_port": key.dport,
        "vpn_instance": vpn,
        "protocol": keyed_protocol_name(key.proto, key.sport, key.dport),
        "protocol_number": key.proto,
        "inbound_interface": interface,
        "source_security_zone": zone,
    })
}

/// One row of `display session table`: the `Initiator` block; with `verbose` also the
/// `Responder` block, the state, application, start time, TTL and counters, as the text (a
/// brief row's data is what its text shows, the initiator alone).
pub fn session_row(row: &SessionRow, verbose: bool, utc_offset_s: i32) -> Value {
    let vpn = row.vpn.as_deref();
    let mut v = json!({
        "initiator": half(&row.orig, vpn, row.inbound_interface.as_deref(),
                          row.security_zones[0].as_deref()),
    });
    if !verbose {
        return v;
    }
    v["responder"] = half(
        &row.reply,
        vpn,
        row.outbound_interface.as_deref(),
        row.security_zones[1].as_deref(),
    );
    v["state"] = comware_state(row.proto, row.state).into();
    v["application"] = row.app.as_ref().into();
    let mut start = String::new();
    super::render::write_datetime(&mut start, row.created_unix_s, utc_offset_s);
    v["start_time"] = start.into();
    v["ttl_s"] = row.ttl_s.into();
    v["initiator_to_responder"] = json!({"packets": row.packets[0], "bytes": row.bytes[0]});
    v["responder_to_initiator"] = json!({"packets": row.packets[1], "bytes": row.bytes[1]});
    v
}

/// `display session statistics`: every figure of the §3.2 layout.
pub fn statistics(v: &StatisticsCounts) -> Value {
    let mut protocols = Map::new();
    for p in Protocol::ALL {
        let g = v.protocol(p);
        let d = p.descriptor();
        let mut states = Map::new();
        for (n, st) in d.listed_states() {
            let count = g.by_state.get(usize::from(n) - 1).copied().unwrap_or(0);
            states.insert(key(st.name), count.into());
        }
        protocols.insert(
            key(p.keyword()),
            json!({
                "label": d.label,
                "sessions": g.sessions,
                "states": states,
                "rate_per_s": g.rate_per_s,
                "received_packets": g.received_packets,
                "received_bytes": g.received_bytes,
            }),
        );
    }
    json!({
        "sessions": v.sessions,
        "relation_entries": v.relation_entries,
        "rate_per_s": v.rate_per_s,
        "protocols": protocols,
        // `true`: the received figures are the current sessions' a filter selected
        // (`RECEIVED_BY_SELECTED`), not the running totals.
        "received_by_selected_sessions": v.received_by_selected,
        "received_note": v.received_by_selected.then_some(RECEIVED_BY_SELECTED.trim_end()),
    })
}

/// `display session statistics summary`: the six figures of §3.4.
pub fn statistics_summary(v: &StatisticsCounts) -> Value {
    let tcp = v.protocol(Protocol::Tcp);
    let udp = v.protocol(Protocol::Udp);
    json!({
        "sessions": v.sessions,
        "rate_per_s": v.rate_per_s,
        "protocols": {
            "tcp": {"sessions": tcp.sessions, "rate_per_s": tcp.rate_per_s},
            "udp": {"sessions": udp.sessions, "rate_per_s": udp.rate_per_s},
        },
    })
}

// ------------------------------------------------------------------------------------------
// Aging times

/// `display session aging-time state`.
pub fn aging_state(cfg: &AgingConfig) -> Value {
    let states: Vec<Value> = AgingState::ALL
        .iter()
        .map(|s| json!({"state": s.display(), "keyword": s.keyword(), "aging_time_s": cfg.state(*s)}))
        .collect();
    json!({ "states": states })
}

/// `display session aging-time application`.
pub fn aging_application(cfg: &AgingConfig, user: &UserApps) -> Value {
    let rows: Vec<Value> = application_rows(cfg, user)
        .into_iter()
        .map(|(name, v)| json!({"application": name, "aging_time_s": v}))
        .collect();
    json!({ "applications": rows, "others_aging_time_s": OTHERS_AGING_S })
}

// ------------------------------------------------------------------------------------------
// ACLs, port mappings, the relation table

/// `display acl`: the ACLs shown, each with its rules as typed (ID made explicit).
pub fn acls<'a>(shown: impl IntoIterator<Item = &'a Acl>) -> Value {
    let acls: Vec<Value> = shown
        .into_iter()
        .map(|acl| {
            let rules: Vec<Value> = acl
                .rules
                .iter()
                .map(|r| {
                    // `rule 5 permit tcp ...`: the ID apart, the rest as typed.
                    let mut text = String::new();
                    super::render::write_rule(&mut text, r);
                    let prefix = format!("rule {} ", r.id);
                    let rest = text.strip_prefix(&prefix).unwrap_or(&text);
                    json!({"id": r.id, "rule": rest})
                })
                .collect();
            json!({
                "number": acl.number,
                "family": family_name(acl.family),
                "kind": match acl.kind { AclKind::Basic => "basic", AclKind::Advanced => "advanced" },
                "step": RULE_STEP,
                "rule_count": acl.rules.len(),
                "rules": rules,
            })
        })
        .collect();
    json!({ "acls": acls })
}

/// `display port-mapping pre-defined`.
pub fn port_mapping_pre_defined() -> Value {
    let rows: Vec<Value> = APPS
        .iter()
        .filter(|a| !a.ports.is_empty())
        .map(|a| {
            let protocols: &[&str] = match a.on {
                On::Tcp => &["TCP"],
                On::Udp => &["UDP"],
                On::Both => &["TCP", "UDP"],
            };
            json!({"application": a.keyword, "protocols": protocols, "ports": a.ports})
        })
        .collect();
    json!({ "mappings": rows })
}

/// `display port-mapping user-defined [...]`.
pub fn port_mapping_user_defined<'a>(
    map: impl IntoIterator<Item = &'a PortMapping>,
    user: &UserApps,
) -> Value {
    let rows: Vec<Value> = map
        .into_iter()
        .map(|m| {
            let (kind, condition) = match_condition(&m.scope);
            let dash = |s: String| (s != "---").then_some(s);
            json!({
                "application": user.display_name(m.app),
                "port": m.port,
                "protocol": m.proto.and_then(mapping_protocol_word).map(str::to_uppercase),
                "match_type": dash(kind),
                "match_condition": dash(condition),
            })
        })
        .collect();
    json!({ "mappings": rows })
}

/// `display session relation-table`.
pub fn relation_table(entries: &[RelationEntry], clock_ms: u64) -> Value {
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| {
            let sp = &e.spec;
            let ip = |a: &[u8; 16]| addr_to_ip(sp.family, a).to_string();
            json!({
                "family": family_name(sp.family),
                "source_ip": sp.src.as_ref().map(ip),
                "source_port": sp.sport,
                "destination_ip": ip(&sp.dst),
                "destination_port": sp.dport,
                "vpn_instance": (sp.vpn != 0).then_some(sp.vpn),
                "protocol": relation_protocol_name(sp.proto),
                "protocol_number": sp.proto,
                "ttl_s": e.ttl_s(clock_ms),
                "application": apps::name(sp.app),
            })
        })
        .collect();
    json!({ "entries": rows, "entries_found": entries.len() })
}

// ------------------------------------------------------------------------------------------
// Session logs

fn host_counts(c: Option<&HostCounters>) -> Value {
    let mut reasons = Map::new();
    if let Some(c) = c {
        for d in HostDrop::ALL {
            if c.drop_count(d) != 0 {
                reasons.insert(d.name().to_string(), c.drop_count(d).into());
            }
        }
    }
    json!({
        "logs_sent": c.map_or(0, |c| c.sent),
        "packets_sent": c.map_or(0, |c| c.datagrams),
        "logs_not_delivered": c.map_or(0, HostCounters::dropped),
        "not_delivered_by_reason": reasons,
    })
}

/// `display userlog export`: the flow-log hosts, the IPFIX hosts and the syslog hosts with
/// their counters, and the logs no host was configured for.
pub fn userlog_export(export: &ExportConfig, counters: &[HostCounters], unrouted: u64) -> Value {
    let flow = |format: FlowFormat| -> Vec<Value> {
        export
            .flow_hosts
            .iter()
            .filter(|h| h.format == format)
            .map(|h| {
                let mut v = host_counts(counters_of(counters, h.addr, h.port, true));
                v["address"] = h.addr.to_string().into();
                v["port"] = h.port.into();
                v
            })
            .collect()
    };
    let syslog: Vec<Value> = export
        .log_hosts
        .iter()
        .map(|h| {
            let c = counters_of(counters, h.addr, h.port, false);
            let mut v = host_counts(c);
            v["address"] = h.addr.to_string().into();
            v["port"] = h.port.into();
            v["format"] = match h.format {
                SyslogFormat::Comware => "comware",
                SyslogFormat::Rfc5424 => "rfc5424",
            }
            .into();
            v["transport"] = match h.transport {
                Transport::Udp => "udp",
                Transport::Tcp => "tcp",
            }
            .into();
            v["facility"] = h.facility.keyword().into();
            if h.transport == Transport::Tcp {
                v["connected"] = c.is_some_and(|c| c.connected).into();
                v["logs_queued"] = c.map_or(0, |c| c.queued).into();
            }
            v
        })
        .collect();
    json!({
        "flow_to_syslog": export.flow_to_syslog,
        "version": FlowLogVersion::default().display(),
        "source_address": export.source_ip.map(|a| a.to_string()),
        "load_balance": false,
        "flow_log_hosts": flow(FlowFormat::FlowLog3),
        "ipfix_hosts": flow(FlowFormat::Ipfix),
        "syslog_hosts": syslog,
        "logs_unrouted": unrouted,
    })
}
